/*
 * ws.h - WebSocket framing (RFC 6455 section 5) for the server side, as pure functions: an
 * incremental parser of client frames that assembles text messages and reports control
 * frames and protocol errors as events, and the header of server frames.
 *
 * The parser may be fed any byte boundaries, one byte at a time included, and stops at each
 * event. It unmasks a text message that came as one frame inside the buffer it was given in
 * place, in that buffer (no copy, no allocation); it allocates only for a message that is
 * fragmented or split across reads, and frees that buffer at the next call after the
 * message's event (or in ws_parser_reset). Control payloads (125 bytes at most) live in the
 * parser itself.
 *
 * Errors and their close codes: 1002 for a frame that breaks RFC 6455 section 5 (unmasked,
 * RSV bits, unknown opcode, fragmented or long control frame, a continuation with no message,
 * a new data frame inside a fragmented message, a 64-bit length with the top bit set, a close
 * payload of one byte or with a code section 7.4 does not allow); 1003 for binary messages
 * (chatd is text only); 1007 for invalid UTF-8 in a text message, checked as bytes arrive
 * across fragments and reads, and in a close reason; 1009 for a message over max_message;
 * 1011 when the message buffer cannot be allocated.
 *
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
	WS_CLOSE_INTERNAL = 1011,
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
	uint8_t *msg;  /* fragmented or split messages only; at most max_message */
	size_t msg_len, msg_cap;
	bool failed; /* after WS_EV_ERROR nothing more is parsed */
	/* the control frame being read */
	uint8_t ctl[125];
};

void ws_parser_init(struct ws_parser *p, size_t max_message);
void ws_parser_reset(struct ws_parser *p); /* frees the message buffer */

/*
 * Consumes bytes from buf[0..len) until one event is complete or the bytes run out. Sets
 * *consumed and *ev (WS_EV_NONE when all bytes went into an unfinished frame; after an error,
 * nothing is consumed). Payload bytes of buf[0..*consumed) may be unmasked in place. Event
 * data points into buf or into the parser and stays valid until the next call.
 */
void ws_feed(struct ws_parser *p, uint8_t *buf, size_t len, size_t *consumed, struct ws_event *ev);

/* Writes the header of an unmasked server frame (FIN set) to out; returns its length (2-10). */
size_t ws_frame_header(uint8_t out[10], enum ws_opcode opcode, size_t payload_len);

/* Writes a close payload: the code, big-endian, then the reason (at most 123 bytes). */
size_t ws_close_payload(uint8_t out[125], uint16_t code, const char *reason);

#endif
