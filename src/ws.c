/*
 * ws.c - see ws.h.
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

static bool valid_close_code(uint16_t code)
{
	return (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1011) ||
	       (code >= 3000 && code <= 4999);
}

/* Checks a complete frame header; on success prepares the payload. Returns false on error. */
static bool start_frame(struct ws_parser *p, struct ws_event *ev)
{
	const uint8_t *h = p->head;
	p->fin = h[0] & 0x80;
	p->opcode = h[0] & 0x0F;
	uint8_t len7 = h[1] & 0x7F;
	size_t at = 2;
	if (len7 == 126) {
		p->payload_len = (uint64_t)h[2] << 8 | h[3];
		at = 4;
	} else if (len7 == 127) {
		p->payload_len = 0;
		for (int i = 0; i < 8; i++)
			p->payload_len = p->payload_len << 8 | h[2 + i];
		at = 10;
	} else {
		p->payload_len = len7;
	}
	if (h[0] & 0x70)
		return fail(p, ev, WS_CLOSE_PROTOCOL, "reserved bits set"), false;
	if (!(h[1] & 0x80))
		return fail(p, ev, WS_CLOSE_PROTOCOL, "client frame not masked"), false;
	if (p->payload_len >> 63)
		return fail(p, ev, WS_CLOSE_PROTOCOL, "length with the top bit set"), false;
	memcpy(p->mask, h + at, 4);
	switch (p->opcode) {
	case WS_CLOSE:
	case WS_PING:
	case WS_PONG:
		if (!p->fin || p->payload_len > 125)
			return fail(p, ev, WS_CLOSE_PROTOCOL, "fragmented or long control frame"),
			       false;
		break;
	case WS_BINARY:
		return fail(p, ev, WS_CLOSE_UNSUPPORTED, "binary messages are not supported"),
		       false;
	case WS_TEXT:
		if (p->in_message)
			return fail(p, ev, WS_CLOSE_PROTOCOL,
				    "new message inside a fragmented one"),
			       false;
		free(p->msg);
		p->msg = NULL;
		p->msg_len = p->msg_cap = 0;
		p->utf8 = 0;
		p->in_message = true;
		break;
	case WS_CONT:
		if (!p->in_message)
			return fail(p, ev, WS_CLOSE_PROTOCOL, "continuation without a message"),
			       false;
		break;
	default:
		return fail(p, ev, WS_CLOSE_PROTOCOL, "unknown opcode"), false;
	}
	if (p->opcode < WS_CLOSE && p->payload_len > p->max_message - p->msg_len)
		return fail(p, ev, WS_CLOSE_TOO_BIG, "message too long"), false;
	if (p->opcode < WS_CLOSE && p->msg_len + p->payload_len > p->msg_cap) {
		size_t cap = p->msg_len + (size_t)p->payload_len;
		uint8_t *m = realloc(p->msg, cap ? cap : 1);
		if (m == NULL)
			return fail(p, ev, WS_CLOSE_TOO_BIG, "out of memory"), false;
		p->msg = m;
		p->msg_cap = cap;
	}
	p->in_payload = true;
	p->payload_done = 0;
	return true;
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
	if (n >= 2) {
		ev->code = (uint16_t)(p->ctl[0] << 8 | p->ctl[1]);
		ev->data = p->ctl + 2;
		ev->len = n - 2;
		uint32_t st = 0;
		if (!valid_close_code(ev->code))
			return fail(p, ev, WS_CLOSE_PROTOCOL, "invalid close code");
		if (!utf8_feed(&st, ev->data, ev->len) || !utf8_complete(st))
			return fail(p, ev, WS_CLOSE_BAD_DATA, "invalid UTF-8 in close reason");
	}
}

/* The payload of a data frame is complete. */
static void finish_data(struct ws_parser *p, struct ws_event *ev)
{
	if (!p->fin)
		return; /* more fragments to come */
	if (!utf8_complete(p->utf8))
		return fail(p, ev, WS_CLOSE_BAD_DATA, "text ends inside a UTF-8 character");
	p->in_message = false;
	ev->kind = WS_EV_TEXT;
	ev->data = p->msg ? p->msg : (const uint8_t *)"";
	ev->len = p->msg_len;
}

void ws_feed(struct ws_parser *p, const uint8_t *buf, size_t len, size_t *consumed,
	     struct ws_event *ev)
{
	memset(ev, 0, sizeof(*ev));
	size_t off = 0;
	while (off < len && !p->failed) {
		if (!p->in_payload) {
			p->head[p->head_len++] = buf[off++];
			if (p->head_len < 2 || p->head_len < head_size(p->head))
				continue;
			p->head_len = 0;
			if (!start_frame(p, ev))
				break;
		} else {
			size_t want = (size_t)(p->payload_len - p->payload_done);
			size_t k = len - off < want ? len - off : want;
			bool control = p->opcode >= WS_CLOSE;
			uint8_t *dst = control ? p->ctl + p->payload_done : p->msg + p->msg_len;
			for (size_t i = 0; i < k; i++)
				dst[i] = buf[off + i] ^ p->mask[(p->payload_done + i) & 3];
			off += k;
			p->payload_done += k;
			if (!control) {
				p->msg_len += k;
				if (!utf8_feed(&p->utf8, dst, k)) {
					fail(p, ev, WS_CLOSE_BAD_DATA, "invalid UTF-8");
					break;
				}
			}
		}
		if (p->payload_done < p->payload_len)
			continue;
		/* the frame is complete (an empty payload completes at once) */
		p->in_payload = false;
		if (p->opcode >= WS_CLOSE)
			finish_control(p, ev);
		else
			finish_data(p, ev);
		if (ev->kind != WS_EV_NONE)
			break;
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
		memcpy(out + 2, reason, n);
	return 2 + n;
}
