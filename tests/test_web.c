/*
 * test_web.c - browsers on the chat port: the page and HTTP errors, the WebSocket upgrade,
 * WebSocket users chatting with line users, and the close code of each protocol violation.
 * The WebSocket client (testlib.c) is written against RFC 6455 (masked frames), independent
 * of src/ws.c.
 */
#include "testlib.h"

#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* Sends a request, reads until the server closes; returns the status, the answer in out. */
static int http(uint16_t port, const char *req, char *out, size_t cap)
{
	int fd = ts_dial(port);
	send(fd, req, strlen(req), MSG_NOSIGNAL);
	return ts_http_answer(fd, out, cap, 15000);
}

Test(web, the_page_and_http_errors, .timeout = 60)
{
	struct config cfg = ts_config(2);
	cfg.handshake_timeout_ms = 1000;
	struct server *srv = ts_start(&cfg);
	uint16_t port = server_port(srv);
	static char out[65536];
	cr_assert_eq(http(port, "GET / HTTP/1.1\r\nHost: x\r\n\r\n", out, sizeof(out)), 200);
	cr_assert(strstr(out, "Content-Type: text/html") != NULL);
	cr_assert(strstr(out, "<script src=\"/app.js\">") != NULL, "the built-in page");
	cr_assert_eq(http(port, "GET /app.js HTTP/1.1\r\nHost: x\r\n\r\n", out, sizeof(out)), 200);
	cr_assert(strstr(out, "textContent") != NULL);
	cr_assert_eq(http(port, "GET /style.css HTTP/1.0\r\n\r\n", out, sizeof(out)), 200);
	cr_assert_eq(http(port, "GET /nope HTTP/1.1\r\nHost: x\r\n\r\n", out, sizeof(out)), 404);
	cr_assert_eq(http(port, "POST / HTTP/1.1\r\nHost: x\r\n\r\n", out, sizeof(out)), 405);
	cr_assert_eq(http(port, "GET /ws HTTP/1.1\r\nHost: x\r\n\r\n", out, sizeof(out)), 426);
	cr_assert(strstr(out, "Sec-WebSocket-Version: 13") != NULL);
	cr_assert_eq(http(port, "GET / HTTP/1.1\r\n\r\n", out, sizeof(out)), 400, "no Host");
	cr_assert_eq(http(port, "GET / HTTP/3.0\r\nHost: x\r\n\r\n", out, sizeof(out)), 505);
	static char big[10000];
	memset(big, 'a', sizeof(big) - 1);
	/* NOLINTNEXTLINE(bugprone-not-null-terminated-result): big keeps its last byte NUL */
	memcpy(big, "GET /", 5);
	cr_assert_eq(http(port, big, out, sizeof(out)), 431);
	/* a request that never ends: 408 after --handshake-timeout */
	cr_assert_eq(http(port, "GET / HTTP/1.1\r\nHost: x\r\n", out, sizeof(out)), 408);
	struct server_stats st;
	server_get_stats(srv, &st);
	cr_assert_geq(st.http_errors, 7);
	cr_assert_eq(st.users, 0, "HTTP clients are not chat users");
	ts_stop(srv);
}

/* Sends req one byte per send (TCP_NODELAY, 1 ms apart); returns the answer's status. */
static int http_trickled(uint16_t port, const char *req, int wait_ms)
{
	int fd = ts_dial(port);
	int one = 1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	for (const char *p = req; *p; p++) {
		send(fd, p, 1, MSG_NOSIGNAL);
		usleep(1000);
	}
	char out[256];
	return ts_http_answer(fd, out, sizeof(out), wait_ms);
}

Test(web, a_head_trickled_byte_by_byte_is_answered_as_soon_as_it_can_be, .timeout = 30)
{
	struct config cfg = ts_config(1);
	cfg.handshake_timeout_ms = 10000;
	struct server *srv = ts_start(&cfg);
	uint16_t port = server_port(srv);
	/* whole: the blank line completes it */
	cr_assert_eq(http_trickled(port, "GET / HTTP/1.1\r\nHost: x\r\n\r\n", 2000), 200);
	/* a bad request line is refused when that line ends, not at the timeout */
	cr_assert_eq(http_trickled(port, "GET / HTTP/3.0\r\n", 2000), 505);
	/* a bad header too, with the head still open */
	cr_assert_eq(http_trickled(port, "GET / HTTP/1.1\r\nno colon here\r\n", 2000), 400);
	ts_stop(srv);
}

Test(web, websocket_and_line_users_share_a_room, .timeout = 30)
{
	struct config cfg = ts_config(2);
	struct server *srv = ts_start(&cfg);
	uint16_t port = server_port(srv);
	struct tclient *nc = tc_join(port);
	struct wsclient *ws = wc_connect(port);
	char out[512];
	size_t len;
	cr_assert_eq(wc_read(ws, out, sizeof(out), &len), 1);
	cr_assert(strncmp(out, "* Welcome, 2. 2 users online.", 29) == 0, "'%s'", out);
	tc_expect(nc, "* 2 has entered.");
	wc_text(ws, "hello from a browser");
	tc_expect(nc, "2:hello from a browser");
	wc_expect(ws, "2:hello from a browser");
	tc_send(nc, "hi browser\n");
	wc_expect(ws, "1:hi browser");
	/* commands work the same; a fragmented message with a ping in the middle */
	wc_send(ws, 0x01, "/nick ", 6, true);
	wc_send(ws, 0x89, "are you there", 13, true);
	wc_send(ws, 0x80, "webby", 5, true);
	cr_assert_eq(wc_read(ws, out, sizeof(out), &len), 0xA, "pong first");
	cr_assert_str_eq(out, "are you there");
	wc_expect(ws, "* 2 is now known as webby.");
	tc_expect_eventually(nc, "* 2 is now known as webby.", 2000);
	/* a control character gets the error line, as for nc users */
	wc_text(ws, "\x1b[31m");
	wc_expect(ws, "* error: control characters are not allowed; line dropped.");
	/* close handshake: the server answers 1000 and the room hears the leave */
	wc_send(ws, 0x88, "\x03\xe8", 2, true);
	cr_assert_eq(wc_close_code(ws), 1000);
	tc_expect(nc, "* webby has left.");
	wc_free(ws);
	tc_close(nc);
	ts_stop(srv);
}

static int violation(uint16_t port, int fin_op, const void *p, size_t n, bool mask)
{
	struct wsclient *ws = wc_connect(port);
	wc_send(ws, fin_op, p, n, mask);
	int code = wc_close_code(ws);
	wc_free(ws);
	return code;
}

Test(web, each_websocket_violation_closes_with_its_code, .timeout = 60)
{
	struct config cfg = ts_config(2);
	cfg.max_line = 100;
	struct server *srv = ts_start(&cfg);
	uint16_t port = server_port(srv);
	cr_assert_eq(violation(port, 0x81, "unmasked", 8, false), 1002);
	cr_assert_eq(violation(port, 0xC1, "rsv1", 4, true), 1002);
	cr_assert_eq(violation(port, 0x83, "op3", 3, true), 1002);
	cr_assert_eq(violation(port, 0x82, "\x00\x01", 2, true), 1003);
	cr_assert_eq(violation(port, 0x81, "bad \xff utf8", 10, true), 1007);
	char big[200];
	memset(big, 'x', sizeof(big));
	cr_assert_eq(violation(port, 0x81, big, sizeof(big), true), 1009);
	cr_assert_eq(violation(port, 0x80, "cont", 4, true), 1002);
	struct server_stats st;
	server_get_stats(srv, &st);
	cr_assert_eq(st.ws_protocol_errors, 7);
	ts_stop(srv);
}

Test(web, a_chat_line_starting_with_GET_is_chat, .timeout = 30)
{
	struct config cfg = ts_config(2);
	struct server *srv = ts_start(&cfg);
	struct tclient *c = tc_connect(server_port(srv));
	tc_send(c, "GET away from me\n"); /* "GET " then not "/": the line protocol */
	char line[256];
	cr_assert_eq(tc_read_line(c, line, sizeof(line), 3000), 1);
	cr_assert(strncmp(line, "* Welcome, ", 11) == 0, "'%s'", line);
	tc_expect(c, "1:GET away from me");
	tc_close(c);
	ts_stop(srv);
}
