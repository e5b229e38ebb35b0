/*
 * web.c - see web.h.
 *
 * Three handler tables (struct conn_ops): web_sniff_ops while a new connection's first bytes are
 * awaited, http_ops while a request head is read, ws_ops for a WebSocket user. A connection
 * that turns out to speak the line protocol gets intake's table instead.
 */
#include "web.h"
#include "auth.h"
#include "conn.h"
#include "http.h"
#include "intake.h"
#include "log.h"
#include "route.h"
#include "session.h"
#include "via.h"
#include "worker.h"
#include "ws.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct conn_ops http_ops, ws_ops;

/* A new connection: what it speaks is decided from its first bytes, or from silence. */
static void sniff_on_open(struct worker *w, struct conn *c)
{
	worker_arm_conn_timer(w, c, TIMER_SNIFF, w->now_ms + WEB_SNIFF_MS);
}

/* Not HTTP after all: a line-protocol user, welcomed now; kept bytes are its first input. */
static void become_line(struct worker *w, struct conn *c)
{
	timer_stop(&c->timer);
	char *pre = c->pre;
	uint32_t n = c->pre_len;
	c->pre = NULL;
	c->pre_len = 0;
	intake_start_line_user(w, c, pre, n);
	free(pre);
}

/* Keeps bytes of a request head: 0, -E2BIG past --max-http-header, or -ENOMEM. */
static int pre_append(struct worker *w, struct conn *c, const char *buf, size_t n)
{
	size_t max = w->hub->cfg.max_http_header;
	if (c->pre_len + n > max)
		return -E2BIG;
	if (c->pre == NULL && (c->pre = malloc(max)) == NULL)
		return -ENOMEM;
	memcpy(c->pre + c->pre_len, buf, n);
	c->pre_len += (uint32_t)n;
	return 0;
}

/* Answers and closes once the answer is written. */
static void respond(struct worker *w, struct conn *c, int status, const char *type,
		    const void *body, size_t len, bool head_only, const char *extra)
{
	char head[HTTP_HEAD_MAX];
	size_t hn = http_format_head(head, sizeof(head), status, type, len, false, extra);
	/* Head and body are two messages (one gather write): no buffer to join them in, whose
	 * allocation could fail with nobody told. route_send_raw cuts c if it cannot queue one. */
	route_send_raw(w, c, head, hn);
	if (!head_only && len > 0)
		route_send_raw(w, c, body, len);
	stat_add(&w->stats.http_requests, 1);
	if (status < 400)
		log_debug((int)w->index, c->id, "HTTP %d", status);
	timer_stop(&c->timer);
	worker_close_conn(w, c, CLOSE_QUIT); /* flush, then close */
}

/* A refusal: counted, logged (rate-limited) with `detail` when not NULL, answered with a
 * one-line text body that says `why` when not NULL, then closed. */
static void refuse(struct worker *w, struct conn *c, int status, const char *extra, const char *why,
		   const char *detail)
{
	stat_add(&w->stats.http_errors, 1);
	worker_log_gated(w, GATE_HTTP, LOG_INFO, c->id, "HTTP request refused: %d %s%s%s", status,
			 http_reason(status), detail ? ": " : "", detail ? detail : "");
	char body[HTTP_ERROR_BODY_MAX];
	size_t n = http_format_error_body(body, sizeof(body), status, why);
	respond(w, c, status, "text/plain; charset=utf-8", body, n, false, extra);
}

static void respond_text(struct worker *w, struct conn *c, int status, const char *extra)
{
	refuse(w, c, status, extra, NULL, NULL);
}

/* Client bytes made fit for a log line: printable ASCII only (anything else becomes '?'),
 * at most cap - 4 of them, "..." when cut. */
static void printable(char *out, size_t cap, struct http_slice s)
{
	size_t k = 0;
	for (; k < s.n && k + 4 < cap; k++) {
		unsigned char ch = (unsigned char)s.p[k];
		if (ch >= ' ' && ch < 0x7F)
			out[k] = s.p[k];
		else
			out[k] = '?';
	}
	if (k < s.n)
		for (int i = 0; i < 3; i++)
			out[k++] = '.';
	out[k] = '\0';
}

/* Cross-site WebSocket hijacking: only chatd's own page, pages --allow-origin lists, and
 * clients that are not browsers (no Origin) may become users. Returns false after a 403. */
static bool origin_ok(struct worker *w, struct conn *c, const struct http_request *req)
{
	enum http_origin verdict = http_origin_check(req, w->cfg->allow_origin);
	if (verdict == HTTP_ORIGIN_ALLOWED)
		return true;
	static const struct http_slice none = { "", 0 };
	const struct http_slice *origin = http_header(req, "Origin");
	const struct http_slice *host = http_header(req, "Host");
	char shown_origin[104], shown_host[72], detail[256];
	printable(shown_origin, sizeof(shown_origin), origin ? *origin : none);
	printable(shown_host, sizeof(shown_host), host ? *host : none);
	snprintf(detail, sizeof(detail), "WebSocket %s: Origin \"%s\", Host \"%s\"",
		 http_origin_why(verdict), shown_origin, shown_host);
	stat_add(&w->stats.ws_origin_refused, 1);
	refuse(w, c, 403, NULL, http_origin_why(verdict), detail);
	return false;
}

/* ---- WebSocket users ------------------------------------------------------------------------ */

static void ws_send_frame(struct worker *w, struct conn *c, enum ws_opcode op, const void *p,
			  size_t n)
{
	uint8_t frame[10 + 125];
	size_t h = ws_frame_header(frame, op, n);
	memcpy(frame + h, p, n);
	route_send_raw(w, c, frame, h + n);
}

/* A ping is answered by a pong; of several pings in a row only the latest is answered while
 * the earlier pong has not started going out (conn_queue_reply). */
static void ws_pong(struct worker *w, struct conn *c, const uint8_t *p, size_t n)
{
	uint8_t frame[CONN_REPLY_MAX];
	size_t h = ws_frame_header(frame, WS_PONG, n);
	memcpy(frame + h, p, n);
	if (conn_queue_reply(c, frame, h + n) < 0) {
		worker_close_conn(w, c, CLOSE_NOMEM);
		return;
	}
	worker_mark_dirty(w, c);
}

static void ws_close(struct worker *w, struct conn *c, uint16_t code, const char *why)
{
	uint8_t payload[125];
	size_t n = ws_close_payload(payload, code, why);
	ws_send_frame(w, c, WS_CLOSE, payload, n);
	worker_close_conn(w, c, CLOSE_QUIT);
}

/* Frames are unmasked in place in buf (the worker's read buffer, or the head buffer). */
static void ws_input(struct worker *w, struct conn *c, char *buf, size_t n)
{
	size_t off = 0;
	while (off < n && !c->closing) {
		size_t used;
		struct ws_event ev;
		ws_feed(c->ws, (uint8_t *)buf + off, n - off, &used, &ev);
		off += used;
		switch (ev.kind) {
		case WS_EV_NONE:
			if (used == 0)
				return;
			break;
		case WS_EV_TEXT:
			intake_take_line(w, c, LINE_OK, (const char *)ev.data, ev.len);
			break;
		case WS_EV_PING:
			if (intake_rate_take(w, c))
				ws_pong(w, c, ev.data, ev.len);
			break;
		case WS_EV_PONG:
			(void)intake_rate_take(w, c); /* counted like a line, nothing to do */
			break;
		case WS_EV_CLOSE:
			ws_close(w, c, ev.code == WS_CLOSE_NO_STATUS ? WS_CLOSE_NORMAL : ev.code,
				 "");
			break;
		case WS_EV_ERROR:
			/* 1011: the parser could not allocate a message buffer; not a violation */
			if (ev.code == WS_CLOSE_INTERNAL)
				stat_add(&w->stats.nomem_disconnects, 1);
			else
				stat_add(&w->stats.ws_protocol_errors, 1);
			worker_log_gated(w, GATE_WS, LOG_INFO, c->id, "WebSocket closed (%u): %s",
					 ev.code, ev.why);
			ws_close(w, c, ev.code, ev.why);
			break;
		}
	}
}

/* ---- keeping quiet WebSocket users alive -----------------------------------------------------
 * A proxy in front of chatd (nginx's proxy_read_timeout, 60 s by default) cuts a WebSocket that
 * carries nothing for a while, and a user whose network vanished sends nothing ever again. So
 * a user that has sent nothing for --ws-ping-interval is pinged (RFC 6455 5.5.2); whatever it
 * sends next, the pong its browser sends by itself included, shows it is there. One that has
 * still sent nothing after another interval is closed with 1001 (going away: chatd leaves a
 * peer it takes for gone; not 1002, no frame broke the protocol). The deadline is the
 * connection's own timer, kind TIMER_WS_PING, always armed --ws-ping-interval ahead: re-armed
 * (O(1)) on every read, so a talking user is never pinged.
 */

/* The user was heard from (or has just arrived): its silence starts again. */
static void ws_keepalive_heard(struct worker *w, struct conn *c)
{
	int interval = w->hub->cfg.ws_ping_interval_ms;
	c->ws_ping_out = false;
	if (interval > 0 && !c->closing)
		worker_arm_conn_timer(w, c, TIMER_WS_PING, w->now_ms + interval);
}

/* A silent interval went by: a ping, or, after an unanswered one, the close. */
static void ws_on_deadline(struct worker *w, struct conn *c)
{
	if (c->closing) /* closed earlier in this iteration: its drain takes the timer over */
		return;
	if (c->ws_ping_out) {
		stat_add(&w->stats.ws_ping_timeouts, 1);
		worker_log_gated(w, GATE_WS, LOG_INFO, c->id,
				 "WebSocket closed (1001): no answer to a ping within %d ms",
				 w->hub->cfg.ws_ping_interval_ms);
		ws_close(w, c, WS_CLOSE_GOING_AWAY, "ping timeout");
		return;
	}
	/* the payload is the worker's ping count: a peer's pong echoes it (nothing checks it) */
	uint64_t count = atomic_load_explicit(&w->stats.ws_pings_sent, memory_order_relaxed) + 1;
	char payload[24];
	int n = snprintf(payload, sizeof(payload), "%llu", (unsigned long long)count);
	stat_add(&w->stats.ws_pings_sent, 1);
	ws_send_frame(w, c, WS_PING, payload, (size_t)n);
	if (c->closing) /* cut: no memory for the ping, or too slow */
		return;
	c->ws_ping_out = true;
	worker_arm_conn_timer(w, c, TIMER_WS_PING, w->now_ms + w->hub->cfg.ws_ping_interval_ms);
}

static void ws_on_bytes(struct worker *w, struct conn *c, char *buf, size_t n)
{
	ws_keepalive_heard(w, c);
	ws_input(w, c, buf, n);
}

/* Last words in a text frame, unless a frame was cut mid-way (the stream cannot be mended). */
static void ws_say_last(struct worker *w, struct conn *c, const char *line, size_t n, bool mid)
{
	(void)w;
	uint8_t frame[10 + PROTO_LINE_MAX];
	if (mid || n == 0 || n > PROTO_LINE_MAX)
		return;
	size_t h = ws_frame_header(frame, WS_TEXT, n - 1); /* without its newline */
	memcpy(frame + h, line, n - 1);
	conn_send_now(c, frame, h + n - 1);
}

static const struct conn_ops ws_ops = {
	.name = "websocket",
	.on_bytes = ws_on_bytes,
	.on_deadline = ws_on_deadline,
	.on_close = session_on_close,
	.on_shutdown = session_on_shutdown,
	.say_last = ws_say_last,
};

/* What /ws's query asks for: the feed's format and where to start (docs/protocol.md). */
struct ws_wish {
	bool json;
	struct session_entry at;
};

/* Reads ?format=json|text, ?room=NAME, ?since=SEQ (with room) and ?token=; the reason why
 * not, or NULL. The entry points into target, which must outlive its use. */
static const char *read_wish(struct http_slice target, struct ws_wish *wish)
{
	struct http_slice v;
	memset(wish, 0, sizeof(*wish));
	if (http_query_param(target, "format", &v)) {
		if (!http_slice_is(v, "json") && !http_slice_is(v, "text"))
			return "format must be json or text";
		wish->json = http_slice_is(v, "json");
	}
	if (http_query_param(target, "room", &v)) {
		if (!room_name_valid(v.p, v.n))
			return "room must be a room name (letters, digits, _ and -)";
		wish->at.room = v.p;
		wish->at.room_len = v.n;
	}
	if (http_query_param(target, "since", &v)) {
		char digits[21];
		if (wish->at.room_len == 0)
			return "since needs room";
		if (v.n == 0 || v.n >= sizeof(digits) || strspn(v.p, "0123456789") < v.n)
			return "since must be a sequence number";
		memcpy(digits, v.p, v.n);
		digits[v.n] = '\0';
		wish->at.resume = true;
		wish->at.since = strtoull(digits, NULL, 10);
	}
	if (http_query_param(target, "token", &v)) {
		wish->at.token = v.p;
		wish->at.token_len = v.n;
	}
	return NULL;
}

static void upgrade(struct worker *w, struct conn *c, const char *accept, size_t head_len,
		    const struct ws_wish *wish)
{
	char resp[HTTP_UPGRADE_MAX];
	route_send_raw(w, c, resp, http_format_upgrade(resp, sizeof(resp), accept));
	timer_stop(&c->timer);
	c->ws = malloc(sizeof(*c->ws));
	if (c->ws == NULL) {
		worker_close_conn(w, c, CLOSE_NOMEM);
		return;
	}
	ws_parser_init(c->ws, w->cfg->max_line);
	worker_set_ops(w, c, &ws_ops);
	c->ws_framed = true; /* from here on, lines go out as text frames */
	c->feed_json = wish->json;
	stat_add(&w->stats.ws_upgrades, 1);
	stat_add(&w->stats.http_requests, 1);
	if (wish->json)
		stat_add(&w->stats.feed_json_users, 1);
	char *pre = c->pre; /* the wish points into it: freed below */
	size_t rest = c->pre_len - head_len;
	c->pre = NULL;
	c->pre_len = 0;
	if (session_start(w, c, &wish->at) < 0) {
		worker_close_conn(w, c, CLOSE_NOMEM);
	} else {
		ws_keepalive_heard(w, c); /* its silence counts from now */
		if (wish->at.token_len > 0 && !c->closing)
			auth_sign_in(w, c, wish->at.token, wish->at.token_len);
		if (rest > 0 && !c->closing) /* frames sent right behind the request */
			ws_input(w, c, pre + head_len, rest);
	}
	free(pre);
}

/* ---- HTTP requests -------------------------------------------------------------------------- */

static const struct web_asset *find_asset(struct http_slice target)
{
	size_t n = target.n;
	const char *q = memchr(target.p, '?', n);
	if (q != NULL)
		n = (size_t)(q - target.p);
	for (size_t i = 0; i < web_asset_count; i++)
		if (strlen(web_assets[i].path) == n && !memcmp(web_assets[i].path, target.p, n))
			return &web_assets[i];
	return NULL;
}

/* GET /ws: a valid handshake (RFC 6455 section 4.2.1) from an allowed origin is upgraded. */
static void ws_try(struct worker *w, struct conn *c, const struct http_request *req,
		   size_t head_len)
{
	char accept[29];
	int status = http_ws_accept(req, accept);
	if (status != 0) {
		respond_text(w, c, status,
			     status == 426   ? "Sec-WebSocket-Version: 13\r\n"
			     : status == 405 ? "Allow: GET\r\n"
					     : NULL);
		return;
	}
	struct ws_wish wish;
	const char *why = read_wish(req->target, &wish);
	if (why != NULL) {
		refuse(w, c, 400, NULL, why, why);
		return;
	}
	if (!origin_ok(w, c, req))
		return;
	why = via_forwarded_for(w, c, req); /* X-Forwarded-For, from trusted proxies */
	if (why != NULL)
		refuse(w, c, 503, NULL, why, NULL);
	else
		upgrade(w, c, accept, head_len, &wish);
}

static void http_try(struct worker *w, struct conn *c)
{
	struct http_request req;
	int rc = http_parse_request(c->pre, c->pre_len, w->hub->cfg.max_http_header, &req);
	if (rc == PARSE_AGAIN)
		return;
	if (rc == PARSE_ERROR) {
		respond_text(w, c, req.status, NULL);
		return;
	}
	bool get = http_slice_is(req.method, "GET"), head = http_slice_is(req.method, "HEAD");
	if (http_slice_is(req.target, "/ws") || !strncmp(req.target.p, "/ws?", 4)) {
		ws_try(w, c, &req, (size_t)rc);
		return;
	}
	const struct web_asset *a = find_asset(req.target);
	if (a == NULL)
		respond_text(w, c, 404, NULL);
	else if (!get && !head)
		respond_text(w, c, 405, "Allow: GET, HEAD\r\n");
	else
		respond(w, c, 200, a->type, a->data, a->len, head, NULL);
}

/* An HTTP request head is being read: bytes are kept until it is complete. */
static void http_on_bytes(struct worker *w, struct conn *c, char *buf, size_t n)
{
	int rc = pre_append(w, c, buf, n);
	if (rc == -ENOMEM) { /* not a head too big: a 431 would blame the client */
		worker_close_conn(w, c, CLOSE_NOMEM);
		return;
	}
	if (rc < 0) {
		respond_text(w, c, 431, NULL);
		return;
	}
	/* The parse can only come out differently once another line is complete (or the head
	 * reaches its limit): without a newline in these bytes, skip it, so a head trickled in
	 * a byte at a time costs a memchr per read instead of a parse of everything so far. */
	if (memchr(buf, '\n', n) == NULL && c->pre_len < w->hub->cfg.max_http_header)
		return;
	http_try(w, c);
}

/* The request head did not arrive in time. */
static void http_on_deadline(struct worker *w, struct conn *c)
{
	log_debug((int)w->index, c->id, "HTTP request not finished in time");
	respond_text(w, c, 408, NULL);
}

static const struct conn_ops http_ops = {
	.name = "http",
	.on_bytes = http_on_bytes,
	.on_deadline = http_on_deadline,
};

/* A new connection's first bytes: HTTP, the line protocol, or too early to tell. */
static void sniff_on_bytes(struct worker *w, struct conn *c, char *buf, size_t n)
{
	char peek[16];
	size_t k = c->pre_len < sizeof(peek) ? c->pre_len : sizeof(peek);
	/* cppcheck-suppress knownConditionTrueFalse ; cppcheck 2.10 takes the ?: for 0 */
	if (k > 0)
		memcpy(peek, c->pre, k);
	size_t more = n < sizeof(peek) - k ? n : sizeof(peek) - k;
	memcpy(peek + k, buf, more);
	switch (http_sniff(peek, k + more)) {
	case HTTP_NO:
		become_line(w, c);
		if (!c->closing)
			c->ops->on_bytes(w, c, buf, n);
		return;
	case HTTP_MAYBE:
		if (pre_append(w, c, buf, n) < 0)
			worker_close_conn(w, c, CLOSE_NOMEM);
		return;
	case HTTP_YES:
		worker_set_ops(w, c, &http_ops);
		worker_arm_conn_timer(w, c, TIMER_HANDSHAKE,
				      w->now_ms + w->cfg->handshake_timeout_ms);
		http_on_bytes(w, c, buf, n);
		return;
	}
}

const struct conn_ops web_sniff_ops = {
	.name = "sniff",
	.on_open = sniff_on_open,
	.on_bytes = sniff_on_bytes,
	.on_deadline = become_line, /* silent so far, or a prefix of a method: a chat user */
};
