/*
 * test_web.c - browsers on the chat port: the page and HTTP errors, the WebSocket upgrade,
 * WebSocket users chatting with line users, and the close code of each protocol violation.
 * The WebSocket client (testlib.c) is written against RFC 6455 (masked frames), independent
 * of src/ws.c.
 */
#include "common.h"
#include "proto.h"
#include "testlib.h"
#include "http.h"
#include "web.h"

#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static const char grin[4] = { '\xf0', '\x9f', '\x98', '\x80' }; /* U+1F600 */

Test(web, the_page_and_http_errors, .timeout = 60)
{
	struct config cfg = ts_config(2);
	cfg.handshake_timeout_ms = 1000;
	struct server *srv = ts_start(&cfg);
	uint16_t port = server_port(srv);
	static char out[65536];
	cr_assert_eq(ts_http(port, "GET / HTTP/1.1\r\nHost: x\r\n\r\n", out, sizeof(out)), 200);
	cr_assert(strstr(out, "Content-Type: text/html") != NULL);
	cr_assert(strstr(out, "<script src=\"/app.js\">") != NULL, "the built-in page");
	cr_assert_eq(ts_http(port, "GET /app.js HTTP/1.1\r\nHost: x\r\n\r\n", out, sizeof(out)),
		     200);
	cr_assert(strstr(out, "textContent") != NULL);
	cr_assert_eq(ts_http(port, "GET /style.css HTTP/1.0\r\n\r\n", out, sizeof(out)), 200);
	cr_assert_eq(ts_http(port, "GET /nope HTTP/1.1\r\nHost: x\r\n\r\n", out, sizeof(out)), 404);
	cr_assert_eq(ts_http(port, "POST / HTTP/1.1\r\nHost: x\r\n\r\n", out, sizeof(out)), 405);
	cr_assert_eq(ts_http(port, "GET /ws HTTP/1.1\r\nHost: x\r\n\r\n", out, sizeof(out)), 426);
	cr_assert(strstr(out, "Sec-WebSocket-Version: 13") != NULL);
	cr_assert_eq(ts_http(port, "GET / HTTP/1.1\r\n\r\n", out, sizeof(out)), 400, "no Host");
	cr_assert_eq(ts_http(port, "GET / HTTP/3.0\r\nHost: x\r\n\r\n", out, sizeof(out)), 505);
	static char big[10000];
	memset(big, 'a', sizeof(big) - 1);
	/* NOLINTNEXTLINE(bugprone-not-null-terminated-result): big keeps its last byte NUL */
	memcpy(big, "GET /", 5);
	cr_assert_eq(ts_http(port, big, out, sizeof(out)), 431);
	/* a request that never ends: 408 after --handshake-timeout */
	cr_assert_eq(ts_http(port, "GET / HTTP/1.1\r\nHost: x\r\n", out, sizeof(out)), 408);
	struct server_stats st = ts_stats(srv);
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

/* A valid upgrade request with the given Host and Origin lines. */
static const char *ws_request(char *out, size_t cap, const char *host, const char *origin_lines)
{
	snprintf(
	    out, cap,
	    "GET /ws HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
	    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n%s\r\n",
	    host, origin_lines);
	return out;
}

/* Connects with the given request and reads its 101 answer (fails the test otherwise). */
static struct wsclient *ws_connect_with(uint16_t port, const char *req)
{
	return wc_open_req(ts_dial(port), req);
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
	wc_expect(ws, "* error: U+001B (ESCAPE) at character 1 is not allowed; line dropped.");
	/* and so does a bidi override: WebSocket text takes the same path as a line */
	static const char rlo[] = { 'a', '\xe2', '\x80', '\xae', 'b', '\0' }; /* U+202E */
	wc_text(ws, rlo);
	wc_expect(ws, "* error: U+202E (RIGHT-TO-LEFT OVERRIDE) at character 2 is not allowed; "
		      "line dropped.");
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
	cr_assert_eq(ts_stats(srv).ws_protocol_errors, 7);
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

/* ---- cross-site WebSocket hijacking: the Origin check ------------------------------------- */

Test(web, a_websocket_from_a_foreign_origin_gets_403_and_no_user, .timeout = 30)
{
	struct config cfg = ts_config(2);
	struct server *srv = ts_start(&cfg);
	uint16_t port = server_port(srv);
	struct tclient *nc = tc_join(port);
	char host[32], req[512], out[1024];
	snprintf(host, sizeof(host), "127.0.0.1:%u", port);
	const char *origins[] = {
		"Origin: http://evil.example\r\n",
		"Origin: null\r\n",
		"Origin: http://127.0.0.1:1\r\n",                   /* another port */
		"Origin: http://evil.example/\r\n",                 /* malformed */
		"Origin: http://x\r\nOrigin: http://127.0.0.1\r\n", /* two */
	};
	for (size_t i = 0; i < ARRAY_LEN(origins); i++) {
		ws_request(req, sizeof(req), host, origins[i]);
		cr_assert_eq(ts_http(port, req, out, sizeof(out)), 403, "%s", origins[i]);
		cr_assert(strstr(out, "\r\n\r\n403 Forbidden: ") != NULL, "%s", out);
	}
	cr_assert(strstr(out, "403 Forbidden: more than one Origin header") != NULL, "%s", out);
	tc_expect_silence(nc, 300); /* nobody entered */
	struct server_stats st = ts_stats(srv);
	cr_assert_eq(st.ws_origin_refused, ARRAY_LEN(origins));
	cr_assert_eq(st.ws_upgrades, 0);
	cr_assert_eq(st.users, 1, "only the line user");
	tc_close(nc);
	ts_stop(srv);
}

Test(web, a_websocket_from_the_servers_own_page_is_upgraded, .timeout = 30)
{
	struct config cfg = ts_config(2);
	struct server *srv = ts_start(&cfg);
	uint16_t port = server_port(srv);
	struct tclient *nc = tc_join(port);
	char host[32], origin[64], req[512];
	/* the page as loaded from http://127.0.0.1:PORT/ */
	snprintf(host, sizeof(host), "127.0.0.1:%u", port);
	snprintf(origin, sizeof(origin), "Origin: http://127.0.0.1:%u\r\n", port);
	struct wsclient *ws = ws_connect_with(port, ws_request(req, sizeof(req), host, origin));
	wc_expect_welcome(ws);
	tc_expect(nc, "* 2 has entered.");
	wc_free(ws);
	/* behind a proxy that keeps Host: https://chat.example/ */
	ws = ws_connect_with(
	    port, ws_request(req, sizeof(req), "chat.example", "Origin: https://Chat.Example\r\n"));
	wc_expect_welcome(ws);
	wc_free(ws);
	struct server_stats st = ts_stats(srv);
	cr_assert_eq(st.ws_origin_refused, 0);
	cr_assert_eq(st.ws_upgrades, 2);
	tc_close(nc);
	ts_stop(srv);
}

Test(web, allow_origin_lets_a_listed_page_in_and_no_other, .timeout = 30)
{
	struct config cfg = ts_config(1);
	snprintf(cfg.allow_origin, sizeof(cfg.allow_origin), "http://app.example:8080");
	struct server *srv = ts_start(&cfg);
	uint16_t port = server_port(srv);
	char req[512], out[512];
	struct wsclient *ws =
	    ws_connect_with(port, ws_request(req, sizeof(req), "chat.example:2020",
					     "Origin: http://app.example:8080\r\n"));
	wc_expect_welcome(ws);
	wc_free(ws);
	ws_request(req, sizeof(req), "chat.example:2020", "Origin: http://app.example:8081\r\n");
	cr_assert_eq(ts_http(port, req, out, sizeof(out)), 403);
	ts_stop(srv);
}

Test(web, allow_origin_star_lets_any_page_in, .timeout = 30)
{
	struct config cfg = ts_config(1);
	snprintf(cfg.allow_origin, sizeof(cfg.allow_origin), "*");
	struct server *srv = ts_start(&cfg);
	char req[512];
	struct wsclient *ws = ws_connect_with(
	    server_port(srv), ws_request(req, sizeof(req), "x", "Origin: http://evil.example\r\n"));
	wc_expect_welcome(ws);
	wc_free(ws);
	ts_stop(srv);
}

Test(web, a_long_private_message_of_emoji_comes_back_as_one_valid_text_frame, .timeout = 30)
{
	struct config cfg = ts_config(2);
	struct server *srv = ts_start(&cfg);
	uint16_t port = server_port(srv);
	struct tclient *nc = tc_join(port);
	struct wsclient *ws = wc_connect(port);
	static char text[4001], cmd[4100], want[4100], out[8192];
	for (size_t i = 0; i < 1000; i++)
		memcpy(text + 4 * i, grin, 4); /* 4,000 bytes: a browser's 1007 once */
	snprintf(cmd, sizeof(cmd), "/msg %llu %s", (unsigned long long)nc->name, text);
	wc_text(ws, cmd);
	snprintf(want, sizeof(want), "* to %llu: %s", (unsigned long long)nc->name, text);
	size_t len;
	for (;;) {
		cr_assert_eq(wc_read(ws, out, sizeof(out), &len), 1);
		uint32_t st = 0;
		cr_assert(utf8_feed(&st, (const unsigned char *)out, len) && utf8_complete(st),
			  "a text frame of %zu bytes is not valid UTF-8", len);
		if (strncmp(out, "* to ", 5) == 0)
			break;
	}
	cr_assert_str_eq(out, want);
	wc_free(ws);
	tc_close(nc);
	ts_stop(srv);
}

Test(web, every_file_of_the_page_has_a_type_that_fits_the_http_head)
{
	cr_assert_gt(web_asset_count, 0);
	for (size_t i = 0; i < web_asset_count; i++)
		cr_assert_leq(strlen(web_assets[i].type), HTTP_TYPE_MAX, "%s: %s",
			      web_assets[i].path, web_assets[i].type);
}

/* ---- pings to silent WebSocket users (--ws-ping-interval) ----------------------------------- */

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Whether a byte arrives on fd within ms. */
static bool ws_anything_within(const struct wsclient *ws, int ms)
{
	struct pollfd p = { .fd = ws->fd, .events = POLLIN };
	return ws->len > 0 || poll(&p, 1, ms) == 1;
}

Test(web, a_silent_websocket_user_is_pinged_and_stays_while_it_answers, .timeout = 30)
{
	struct config cfg = ts_config(1);
	cfg.ws_ping_interval_ms = 300;
	struct server *srv = ts_start(&cfg);
	struct wsclient *ws = wc_connect(server_port(srv));
	wc_expect_welcome(ws);
	int64_t start = now_ms();
	char out[256];
	size_t len;
	for (int i = 0; i < 4; i++) { /* 4 intervals of silence, each answered */
		cr_assert_eq(wc_read(ws, out, sizeof(out), &len), 0x9, "a ping");
		cr_assert_gt(len, 0, "its payload counts the pings");
		wc_send(ws, 0x8A, out, len, true); /* the pong echoes it */
	}
	cr_assert_geq(now_ms() - start, 4 * 300 - 100, "one ping per interval of silence");
	wc_text(ws, "still here");
	wc_expect(ws, "1:still here");
	struct server_stats st = ts_stats(srv);
	cr_assert_geq(st.ws_pings_sent, 4);
	cr_assert_eq(st.ws_ping_timeouts, 0);
	cr_assert_eq(st.users, 1);
	wc_free(ws);
	ts_stop(srv);
}

Test(web, a_websocket_user_that_never_answers_a_ping_is_closed_with_1001, .timeout = 30)
{
	struct config cfg = ts_config(1);
	cfg.ws_ping_interval_ms = 300;
	struct server *srv = ts_start(&cfg);
	uint16_t port = server_port(srv);
	struct tclient *nc = tc_join(port);
	struct wsclient *ws = wc_connect(port);
	wc_expect_welcome(ws);
	int64_t start = now_ms();
	tc_expect(nc, "* 2 has entered.");
	char out[256];
	size_t len;
	cr_assert_eq(wc_read(ws, out, sizeof(out), &len), 0x9, "a ping first");
	cr_assert_eq(wc_read(ws, out, sizeof(out), &len), 0x8, "then, unanswered, the close");
	int64_t took = now_ms() - start;
	cr_assert_eq((unsigned char)out[0] << 8 | (unsigned char)out[1], 1001);
	cr_assert_str_eq(out + 2, "ping timeout");
	cr_assert(took >= 2 * 300 - 100 && took < 3000, "closed after two intervals: %lld ms",
		  (long long)took);
	tc_expect(nc, "* 2 has left.");
	cr_assert_eq(TS_WAIT_COUNTER(srv, ws_ping_timeouts, 1, 5000), 1);
	cr_assert_eq(ts_stats(srv).ws_pings_sent, 1);
	wc_free(ws);
	tc_close(nc);
	ts_stop(srv);
}

Test(web, a_websocket_user_that_keeps_talking_is_never_pinged, .timeout = 30)
{
	struct config cfg = ts_config(1);
	cfg.ws_ping_interval_ms = 300;
	struct server *srv = ts_start(&cfg);
	struct wsclient *ws = wc_connect(server_port(srv));
	wc_expect_welcome(ws);
	char out[256], want[32];
	size_t len;
	for (int i = 0; i < 12; i++) { /* 1.2 s, never 300 ms of silence */
		usleep(100 * 1000);
		snprintf(want, sizeof(want), "line %d", i);
		wc_text(ws, want);
		snprintf(want, sizeof(want), "1:line %d", i);
		cr_assert_eq(wc_read(ws, out, sizeof(out), &len), 0x1, "no ping, only the echo");
		cr_assert_str_eq(out, want);
	}
	cr_assert_eq(ts_stats(srv).ws_pings_sent, 0);
	wc_free(ws);
	ts_stop(srv);
}

Test(web, ws_ping_interval_0_sends_no_pings, .timeout = 30)
{
	struct config cfg = ts_config(1);
	cfg.ws_ping_interval_ms = 0;
	struct server *srv = ts_start(&cfg);
	struct wsclient *ws = wc_connect(server_port(srv));
	wc_expect_welcome(ws);
	cr_assert_not(ws_anything_within(ws, 800), "nothing arrives");
	cr_assert_eq(ts_stats(srv).ws_pings_sent, 0);
	cr_assert_eq(ts_stats(srv).users, 1);
	wc_free(ws);
	ts_stop(srv);
}
