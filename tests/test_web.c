/*
 * test_web.c - browsers on the chat port: the page and HTTP errors, the WebSocket upgrade,
 * WebSocket users chatting with line users, and the close code of each protocol violation.
 * The WebSocket client here is written against RFC 6455 (masked frames), independent of
 * src/ws.c.
 */
#include "proto.h"
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

static const char grin[4] = { '\xf0', '\x9f', '\x98', '\x80' }; /* U+1F600 */

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

/* ---- a small RFC 6455 client ----------------------------------------------------------------- */

struct wsc {
	int fd;
	size_t len;
	unsigned char buf[65536];
};

static struct wsc *ws_connect(uint16_t port)
{
	struct wsc *c = calloc(1, sizeof(*c));
	c->fd = ts_dial(port);
	const char *req = "GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n"
			  "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
			  "Sec-WebSocket-Version: 13\r\n\r\n";
	send(c->fd, req, strlen(req), MSG_NOSIGNAL);
	/* read the 101 head */
	while (1) {
		ssize_t n = recv(c->fd, c->buf + c->len, sizeof(c->buf) - c->len, 0);
		cr_assert_gt(n, 0, "no handshake answer");
		c->len += (size_t)n;
		unsigned char *end = memmem(c->buf, c->len, "\r\n\r\n", 4);
		if (end == NULL)
			continue;
		cr_assert(strncmp((char *)c->buf, "HTTP/1.1 101 ", 13) == 0, "%.*s", (int)c->len,
			  c->buf);
		cr_assert(memmem(c->buf, c->len,
				 "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=", 50) != NULL);
		size_t head = (size_t)(end + 4 - c->buf);
		memmove(c->buf, c->buf + head, c->len - head);
		c->len -= head;
		return c;
	}
}

static void ws_send(struct wsc *c, int fin_op, const void *p, size_t n, bool mask)
{
	unsigned char f[70000];
	size_t at = 0;
	f[at++] = (unsigned char)fin_op;
	unsigned char m = mask ? 0x80 : 0;
	if (n < 126) {
		f[at++] = (unsigned char)(m | n);
	} else {
		f[at++] = m | 126;
		f[at++] = (unsigned char)(n >> 8);
		f[at++] = (unsigned char)n;
	}
	const unsigned char key[4] = { 1, 2, 3, 4 };
	if (mask) {
		memcpy(f + at, key, 4);
		at += 4;
	}
	for (size_t i = 0; i < n; i++)
		f[at + i] = ((const unsigned char *)p)[i] ^ (mask ? key[i & 3] : 0);
	send(c->fd, f, at + n, MSG_NOSIGNAL);
}

static void ws_text(struct wsc *c, const char *s)
{
	ws_send(c, 0x81, s, strlen(s), true);
}

/* Reads one frame (5 s); returns its opcode (-1 on EOF), payload in out. */
static int ws_read(struct wsc *c, char *out, size_t cap, size_t *len)
{
	for (;;) {
		if (c->len >= 2) {
			size_t n = c->buf[1] & 127, off = 2;
			if (n == 126 && c->len >= 4) {
				n = (size_t)c->buf[2] << 8 | c->buf[3];
				off = 4;
			}
			if (n != 126 && c->len >= off + n) {
				int op = c->buf[0] & 15;
				size_t k = n < cap - 1 ? n : cap - 1;
				memcpy(out, c->buf + off, k);
				out[k] = '\0';
				*len = n;
				memmove(c->buf, c->buf + off + n, c->len - off - n);
				c->len -= off + n;
				return op;
			}
		}
		struct pollfd p = { .fd = c->fd, .events = POLLIN };
		cr_assert_eq(poll(&p, 1, 5000), 1, "no frame within 5 s");
		ssize_t r = recv(c->fd, c->buf + c->len, sizeof(c->buf) - c->len, 0);
		if (r <= 0)
			return -1;
		c->len += (size_t)r;
	}
}

/* Reads text frames until one equals want. */
static void ws_expect(struct wsc *c, const char *want)
{
	char out[8192];
	size_t len;
	for (;;) {
		int op = ws_read(c, out, sizeof(out), &len);
		cr_assert_eq(op, 1, "waiting for '%s': opcode %d", want, op);
		if (strcmp(out, want) == 0)
			return;
	}
}

/* Reads until a close frame; returns its code. */
static int ws_close_code(struct wsc *c)
{
	char out[256];
	size_t len;
	for (;;) {
		int op = ws_read(c, out, sizeof(out), &len);
		cr_assert_neq(op, -1, "closed without a close frame");
		if (op == 8)
			return len >= 2 ? ((unsigned char)out[0] << 8 | (unsigned char)out[1])
					: 1005;
	}
}

static void ws_free(struct wsc *c)
{
	close(c->fd);
	free(c);
}

Test(web, websocket_and_line_users_share_a_room, .timeout = 30)
{
	struct config cfg = ts_config(2);
	struct server *srv = ts_start(&cfg);
	uint16_t port = server_port(srv);
	struct tclient *nc = tc_join(port);
	struct wsc *ws = ws_connect(port);
	char out[512];
	size_t len;
	cr_assert_eq(ws_read(ws, out, sizeof(out), &len), 1);
	cr_assert(strncmp(out, "* Welcome, 2. 2 users online.", 29) == 0, "'%s'", out);
	tc_expect(nc, "* 2 has entered.");
	ws_text(ws, "hello from a browser");
	tc_expect(nc, "2:hello from a browser");
	ws_expect(ws, "2:hello from a browser");
	tc_send(nc, "hi browser\n");
	ws_expect(ws, "1:hi browser");
	/* commands work the same; a fragmented message with a ping in the middle */
	ws_send(ws, 0x01, "/nick ", 6, true);
	ws_send(ws, 0x89, "are you there", 13, true);
	ws_send(ws, 0x80, "webby", 5, true);
	cr_assert_eq(ws_read(ws, out, sizeof(out), &len), 0xA, "pong first");
	cr_assert_str_eq(out, "are you there");
	ws_expect(ws, "* 2 is now known as webby.");
	tc_expect_eventually(nc, "* 2 is now known as webby.", 2000);
	/* a control character gets the error line, as for nc users */
	ws_text(ws, "\x1b[31m");
	ws_expect(ws, "* error: U+001B (ESCAPE) at character 1 is not allowed; line dropped.");
	/* and so does a bidi override: WebSocket text takes the same path as a line */
	static const char rlo[] = { 'a', '\xe2', '\x80', '\xae', 'b', '\0' }; /* U+202E */
	ws_text(ws, rlo);
	ws_expect(ws, "* error: U+202E (RIGHT-TO-LEFT OVERRIDE) at character 2 is not allowed; "
		      "line dropped.");
	/* close handshake: the server answers 1000 and the room hears the leave */
	ws_send(ws, 0x88, "\x03\xe8", 2, true);
	cr_assert_eq(ws_close_code(ws), 1000);
	tc_expect(nc, "* webby has left.");
	ws_free(ws);
	tc_close(nc);
	ts_stop(srv);
}

static int violation(uint16_t port, int fin_op, const void *p, size_t n, bool mask)
{
	struct wsc *ws = ws_connect(port);
	ws_send(ws, fin_op, p, n, mask);
	int code = ws_close_code(ws);
	ws_free(ws);
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

Test(web, a_long_private_message_of_emoji_comes_back_as_one_valid_text_frame, .timeout = 30)
{
	struct config cfg = ts_config(2);
	struct server *srv = ts_start(&cfg);
	uint16_t port = server_port(srv);
	struct tclient *nc = tc_join(port);
	struct wsc *ws = ws_connect(port);
	static char text[4001], cmd[4100], want[4100], out[8192];
	for (size_t i = 0; i < 1000; i++)
		memcpy(text + 4 * i, grin, 4); /* 4,000 bytes: a browser's 1007 once */
	snprintf(cmd, sizeof(cmd), "/msg %llu %s", (unsigned long long)nc->name, text);
	ws_text(ws, cmd);
	snprintf(want, sizeof(want), "* to %llu: %s", (unsigned long long)nc->name, text);
	size_t len;
	for (;;) {
		cr_assert_eq(ws_read(ws, out, sizeof(out), &len), 1);
		uint32_t st = 0;
		cr_assert(utf8_feed(&st, (const unsigned char *)out, len) && utf8_complete(st),
			  "a text frame of %zu bytes is not valid UTF-8", len);
		if (strncmp(out, "* to ", 5) == 0)
			break;
	}
	cr_assert_str_eq(out, want);
	ws_free(ws);
	tc_close(nc);
	ts_stop(srv);
}
