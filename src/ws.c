/*
 * ws.c - WebSocket frames from clients (RFC 6455 section 5), see ws.h.
 *
 * One frame at a time: header bytes are collected in p->head until the header is complete
 * (start_frame checks it), then the payload is taken (take_payload) and the frame ends
 * (end_frame), which may complete an event. Every call stops at the first event.
 *
 * Where a text message's bytes live:
 *   - a message sent as one frame whose payload is wholly inside the caller's buffer (the
 *     common case) is unmasked in place and handed out from that buffer: no copy, no
 *     allocation;
 *   - a message in several fragments, or whose frame is split across two reads, is unmasked
 *     into p->msg, allocated for it (at most max_message bytes) and freed at the next call
 *     after its event, so an idle connection keeps no message buffer;
 *   - control payloads (125 bytes at most) go to p->ctl.
 * Invariants: p->msg_len <= p->max_message; p->msg is NULL whenever no message is open and its
 * event has been consumed; after an error (p->failed) nothing more is parsed.
 */
#include "ws.h"
#include "proto.h"

#include <stdlib.h>
#include <string.h>

void ws_parser_init(struct ws_parser *p, size_t max_message)
{
	memset(p, 0, sizeof(*p));
	p->max_message = max_message;
}

void ws_parser_reset(struct ws_parser *p)
{
	free(p->msg);
	size_t max = p->max_message;
	ws_parser_init(p, max);
}

static void fail(struct ws_parser *p, struct ws_event *ev, uint16_t code, const char *why)
{
	p->failed = true;
	ev->kind = WS_EV_ERROR;
	ev->code = code;
	ev->why = why;
}

/* Bytes of header needed once the first two are known. */
static size_t head_size(const uint8_t *h)
{
	uint8_t len7 = h[1] & 0x7F;
	return 2 + (len7 == 126 ? 2 : len7 == 127 ? 8 : 0) + ((h[1] & 0x80) ? 4 : 0);
}

/* RFC 6455 section 7.4: the codes a peer may send (1004-1006, 1015 and the rest of 0-2999
 * are reserved or never sent on the wire; 3000-4999 belong to libraries and applications). */
static bool valid_close_code(uint16_t code)
{
	return (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1011) ||
	       (code >= 3000 && code <= 4999);
}

static bool is_control(uint8_t opcode)
{
	return opcode >= WS_CLOSE;
}

/* Reads the payload length (and the masking key) out of a complete header. */
static void read_length(struct ws_parser *p)
{
	const uint8_t *h = p->head;
	uint8_t len7 = h[1] & 0x7F;
	size_t at = 2;
	p->payload_len = len7;
	if (len7 == 126) {
		p->payload_len = (uint64_t)h[2] << 8 | h[3];
		at = 4;
	} else if (len7 == 127) {
		p->payload_len = 0;
		for (int i = 0; i < 8; i++)
			p->payload_len = p->payload_len << 8 | h[2 + i];
		at = 10;
	}
	memcpy(p->mask, h + at, 4);
}

/* Checks a complete frame header against the message state. Returns false on error. */
static bool start_frame(struct ws_parser *p, struct ws_event *ev)
{
	p->fin = p->head[0] & 0x80;
	p->opcode = p->head[0] & 0x0F;
	read_length(p);
	if (p->head[0] & 0x70)
		return fail(p, ev, WS_CLOSE_PROTOCOL, "reserved bits set"), false;
	if (!(p->head[1] & 0x80))
		return fail(p, ev, WS_CLOSE_PROTOCOL, "client frame not masked"), false;
	if (p->payload_len >> 63)
		return fail(p, ev, WS_CLOSE_PROTOCOL, "length with the top bit set"), false;
	switch (p->opcode) {
	case WS_CLOSE:
	case WS_PING:
	case WS_PONG:
		if (!p->fin || p->payload_len > 125)
			return fail(p, ev, WS_CLOSE_PROTOCOL, "fragmented or long control frame"),
			       false;
		return true;
	case WS_TEXT:
	case WS_BINARY:
		if (p->in_message)
			return fail(p, ev, WS_CLOSE_PROTOCOL,
				    "new message inside a fragmented one"),
			       false;
		if (p->opcode == WS_BINARY)
			return fail(p, ev, WS_CLOSE_UNSUPPORTED,
				    "binary messages are not supported"),
			       false;
		p->in_message = true;
		p->utf8 = 0;
		break;
	case WS_CONT:
		if (!p->in_message)
			return fail(p, ev, WS_CLOSE_PROTOCOL, "continuation without a message"),
			       false;
		break;
	default:
		return fail(p, ev, WS_CLOSE_PROTOCOL, "unknown opcode"), false;
	}
	if (p->payload_len > p->max_message - p->msg_len)
		return fail(p, ev, WS_CLOSE_TOO_BIG, "message too long"), false;
	return true;
}

/* A message was handed out at the previous call: its buffer goes now. */
static void release_message(struct ws_parser *p)
{
	if (p->in_message || p->msg == NULL)
		return;
	free(p->msg);
	p->msg = NULL;
	p->msg_len = 0;
	p->msg_cap = 0;
}

/* Makes room in p->msg for n more bytes. */
static bool reserve(struct ws_parser *p, size_t n)
{
	if (p->msg_len + n <= p->msg_cap)
		return true;
	size_t cap = p->msg_len + n;
	uint8_t *m = realloc(p->msg, cap);
	if (m == NULL)
		return false;
	p->msg = m;
	p->msg_cap = cap;
	return true;
}

/* dst[i] = src[i] ^ mask, continuing at payload offset p->payload_done; dst may be src. */
static void unmask(const struct ws_parser *p, uint8_t *dst, const uint8_t *src, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		/* The analyzer pairs release_message() dropping p->msg (only outside a message)
		 * with a data frame's payload (only inside one), so takes dst = p->msg for NULL. */
		/* NOLINTNEXTLINE(clang-analyzer-core.NullDereference) */
		dst[i] = src[i] ^ p->mask[(p->payload_done + i) & 3];
	}
}

static void text_event(struct ws_parser *p, struct ws_event *ev, const uint8_t *data, size_t n)
{
	if (!utf8_complete(p->utf8))
		return fail(p, ev, WS_CLOSE_BAD_DATA, "text ends inside a UTF-8 character");
	p->in_message = false;
	ev->kind = WS_EV_TEXT;
	ev->data = n > 0 ? data : (const uint8_t *)"";
	ev->len = n;
}

/* The payload of a control frame is complete. */
static void finish_control(struct ws_parser *p, struct ws_event *ev)
{
	size_t n = (size_t)p->payload_len;
	ev->data = p->ctl;
	ev->len = n;
	if (p->opcode == WS_PING) {
		ev->kind = WS_EV_PING;
		return;
	}
	if (p->opcode == WS_PONG) {
		ev->kind = WS_EV_PONG;
		return;
	}
	if (n == 1)
		return fail(p, ev, WS_CLOSE_PROTOCOL, "close payload of one byte");
	ev->kind = WS_EV_CLOSE;
	ev->code = WS_CLOSE_NO_STATUS;
	if (n == 0)
		return;
	ev->code = (uint16_t)(p->ctl[0] << 8 | p->ctl[1]);
	ev->data = p->ctl + 2;
	ev->len = n - 2;
	uint32_t st = 0;
	if (!valid_close_code(ev->code))
		return fail(p, ev, WS_CLOSE_PROTOCOL, "invalid close code");
	if (!utf8_feed(&st, ev->data, ev->len) || !utf8_complete(st))
		return fail(p, ev, WS_CLOSE_BAD_DATA, "invalid UTF-8 in close reason");
}

/* The frame's payload is all in: control frames and final fragments make an event. */
static void end_frame(struct ws_parser *p, struct ws_event *ev)
{
	p->in_payload = false;
	if (is_control(p->opcode))
		finish_control(p, ev);
	else if (p->fin)
		text_event(p, ev, p->msg, p->msg_len);
}

/* One header byte; when the header is complete, the frame starts. */
static void take_head_byte(struct ws_parser *p, uint8_t b, struct ws_event *ev)
{
	p->head[p->head_len++] = b;
	if (p->head_len < 2 || p->head_len < head_size(p->head))
		return;
	p->head_len = 0;
	if (!start_frame(p, ev))
		return;
	p->in_payload = true;
	p->payload_done = 0;
	if (p->payload_len == 0)
		end_frame(p, ev);
}

/*
 * Payload bytes from data[0..avail); returns how many were taken. A whole single-frame text
 * message is unmasked in place and handed out from data; anything else is copied.
 */
static size_t take_payload(struct ws_parser *p, uint8_t *data, size_t avail, struct ws_event *ev)
{
	size_t want = (size_t)(p->payload_len - p->payload_done);
	size_t k = avail < want ? avail : want;
	uint8_t *dst;
	if (is_control(p->opcode)) {
		dst = p->ctl + p->payload_done;
	} else if (p->opcode == WS_TEXT && p->fin && p->payload_done == 0 && k == want) {
		unmask(p, data, data, k);
		p->payload_done = k;
		p->in_payload = false;
		if (!utf8_feed(&p->utf8, data, k))
			fail(p, ev, WS_CLOSE_BAD_DATA, "invalid UTF-8");
		else
			text_event(p, ev, data, k);
		return k;
	} else {
		if (p->payload_done == 0 && !reserve(p, want)) {
			fail(p, ev, WS_CLOSE_INTERNAL, "out of memory");
			return 0;
		}
		dst = p->msg + p->msg_len;
	}
	unmask(p, dst, data, k);
	p->payload_done += k;
	if (!is_control(p->opcode)) {
		p->msg_len += k;
		if (!utf8_feed(&p->utf8, dst, k)) {
			fail(p, ev, WS_CLOSE_BAD_DATA, "invalid UTF-8");
			return k;
		}
	}
	if (p->payload_done == p->payload_len)
		end_frame(p, ev);
	return k;
}

void ws_feed(struct ws_parser *p, uint8_t *buf, size_t len, size_t *consumed, struct ws_event *ev)
{
	memset(ev, 0, sizeof(*ev));
	release_message(p);
	size_t off = 0;
	while (off < len && ev->kind == WS_EV_NONE && !p->failed) {
		if (p->in_payload)
			off += take_payload(p, buf + off, len - off, ev);
		else
			take_head_byte(p, buf[off++], ev);
	}
	*consumed = off;
}

size_t ws_frame_header(uint8_t out[10], enum ws_opcode opcode, size_t payload_len)
{
	out[0] = (uint8_t)(0x80 | opcode);
	if (payload_len < 126) {
		out[1] = (uint8_t)payload_len;
		return 2;
	}
	if (payload_len <= 0xFFFF) {
		out[1] = 126;
		out[2] = (uint8_t)(payload_len >> 8);
		out[3] = (uint8_t)payload_len;
		return 4;
	}
	out[1] = 127;
	for (int i = 0; i < 8; i++)
		out[2 + i] = (uint8_t)((uint64_t)payload_len >> (56 - 8 * i));
	return 10;
}

size_t ws_close_payload(uint8_t out[125], uint16_t code, const char *reason)
{
	out[0] = (uint8_t)(code >> 8);
	out[1] = (uint8_t)code;
	size_t n = reason ? strlen(reason) : 0;
	if (n > 123)
		n = 123;
	if (n > 0)
		/* NOLINTNEXTLINE(bugprone-not-null-terminated-result): frame payload, no NUL */
		memcpy(out + 2, reason, n);
	return 2 + n;
}
