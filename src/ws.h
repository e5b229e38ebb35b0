/*
 * ws.h - WebSocket framing (RFC 6455 section 5) for the server side, as pure functions: an
 * incremental parser of client frames that assembles text messages and reports control
 * frames and protocol errors as events, and the header of server frames.
 *
 * The parser may be fed any byte boundaries, one byte at a time included. It allocates only
 * to keep a text message that is not complete yet (released when the next message starts or
 * by ws_parser_reset); control payloads (125 bytes at most) live in the parser itself.
 * Owned by one connection's worker; no shared state.
 */
#ifndef CHATD_WS_H
#define CHATD_WS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum ws_opcode {
	WS_CONT = 0x0,
	WS_TEXT = 0x1,
	WS_BINARY = 0x2,
	WS_CLOSE = 0x8,
	WS_PING = 0x9,
	WS_PONG = 0xA,
};

/* Close codes chatd sends (RFC 6455 section 7.4.1). */
enum ws_close_code {
	WS_CLOSE_NORMAL = 1000,
	WS_CLOSE_GOING_AWAY = 1001,
	WS_CLOSE_PROTOCOL = 1002,
	WS_CLOSE_UNSUPPORTED = 1003, /* binary data: chatd speaks text */
	WS_CLOSE_NO_STATUS = 1005,   /* received only: a close frame without a code */
	WS_CLOSE_BAD_DATA = 1007,    /* invalid UTF-8 */
	WS_CLOSE_POLICY = 1008,
	WS_CLOSE_TOO_BIG = 1009, /* message over --max-line */
};

enum ws_event_kind {
	WS_EV_NONE, /* everything fed was consumed; feed more */
	WS_EV_TEXT, /* a complete text message: data/len (valid UTF-8) */
	WS_EV_PING, /* data/len: the payload to echo in a pong */
	WS_EV_PONG,
	WS_EV_CLOSE, /* code (WS_CLOSE_NO_STATUS when none) and reason data/len */
	WS_EV_ERROR, /* the connection must be closed with `code`; `why` says what */
};

struct ws_event {
	enum ws_event_kind kind;
	const uint8_t *data;
	size_t len;
	uint16_t code;
	const char *why;
};

struct ws_parser {
	size_t max_message; /* bytes; a longer text message is error 1009 */
	/* the frame being read */
	uint8_t head[14];
	uint8_t head_len;
	bool in_payload;
	bool fin;
	uint8_t opcode;
	uint8_t mask[4];
	uint64_t payload_len, payload_done;
	/* the message being assembled */
	bool in_message;
	uint32_t utf8; /* utf8_feed state across fragments */
	uint8_t *msg;  /* lazily allocated, grows to at most max_message */
	size_t msg_len, msg_cap;
	bool failed; /* after WS_EV_ERROR nothing more is parsed */
	/* the control frame being read */
	uint8_t ctl[125];
};

void ws_parser_init(struct ws_parser *p, size_t max_message);
void ws_parser_reset(struct ws_parser *p); /* frees the message buffer */

/*
 * Consumes bytes from buf[0..len) until one event is complete or the bytes run out. Sets
 * *consumed and *ev (WS_EV_NONE when all bytes went into an unfinished frame). Event data
 * stays valid until the next call. The payload is unmasked in the parser's own buffers.
 */
void ws_feed(struct ws_parser *p, const uint8_t *buf, size_t len, size_t *consumed,
	     struct ws_event *ev);

/* Writes the header of an unmasked server frame (FIN set) to out; returns its length (2-10). */
size_t ws_frame_header(uint8_t out[10], enum ws_opcode opcode, size_t payload_len);

/* Writes a close payload: the code, big-endian, then the reason (at most 123 bytes). */
size_t ws_close_payload(uint8_t out[125], uint16_t code, const char *reason);

#endif
