/*
 * test_ws.c - WebSocket framing: RFC 6455 section 5.7 examples, fragmentation with an
 * interleaved control frame, every error with its close code, UTF-8 split across fragments
 * and reads, byte-at-a-time feeding, where message bytes live (in place or copied), and the
 * server frame header.
 */
#include "common.h"
#include "ws.h"

#include <criterion/criterion.h>
#include <string.h>

#define MAXMSG 64

/* Builds a masked client frame; returns its length. */
static size_t frame(uint8_t *out, bool fin, uint8_t opcode, const void *payload, size_t n)
{
	static const uint8_t mask[4] = { 0x37, 0xfa, 0x21, 0x3d };
	size_t at = 0;
	out[at++] = (uint8_t)((fin ? 0x80 : 0) | opcode);
	if (n < 126) {
		out[at++] = (uint8_t)(0x80 | n);
	} else if (n <= 0xFFFF) {
		out[at++] = 0x80 | 126;
		out[at++] = (uint8_t)(n >> 8);
		out[at++] = (uint8_t)n;
	} else {
		out[at++] = 0x80 | 127;
		for (int i = 0; i < 8; i++)
			out[at++] = (uint8_t)((uint64_t)n >> (56 - 8 * i));
	}
	memcpy(out + at, mask, 4);
	at += 4;
	for (size_t i = 0; i < n; i++)
		out[at + i] = ((const uint8_t *)payload)[i] ^ mask[i & 3];
	return at + n;
}

struct seen {
	int n;
	struct ws_event ev[16];
	char text[16][MAXMSG + 1];
};

/* Feeds a copy of buf (the parser unmasks in place), `chunk` bytes at a time, collecting events
 * until an error. */
static void feed(struct ws_parser *p, const uint8_t *buf, size_t len, size_t chunk, struct seen *s)
{
	static uint8_t copy[1 << 17];
	cr_assert_leq(len, sizeof(copy));
	memcpy(copy, buf, len);
	memset(s, 0, sizeof(*s));
	for (size_t off = 0; off < len;) {
		size_t k = len - off < chunk ? len - off : chunk, used;
		struct ws_event ev;
		ws_feed(p, copy + off, k, &used, &ev);
		off += used;
		if (ev.kind == WS_EV_NONE) {
			cr_assert_eq(used, k, "no event, yet bytes were left");
			continue;
		}
		cr_assert_lt(s->n, 16);
		memcpy(s->text[s->n], ev.data ? (const char *)ev.data : "",
		       ev.len < MAXMSG ? ev.len : MAXMSG);
		s->ev[s->n++] = ev;
		if (ev.kind == WS_EV_ERROR)
			return;
	}
}

Test(ws, rfc_single_frame_masked_text)
{
	const uint8_t hello[] = {
		0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58
	};
	for (size_t chunk = 1; chunk <= sizeof(hello); chunk++) {
		struct ws_parser p;
		ws_parser_init(&p, MAXMSG);
		struct seen s;
		feed(&p, hello, sizeof(hello), chunk, &s);
		cr_assert_eq(s.n, 1, "chunk %zu", chunk);
		cr_assert_eq(s.ev[0].kind, WS_EV_TEXT);
		cr_assert_str_eq(s.text[0], "Hello");
		ws_parser_reset(&p);
	}
}

Test(ws, rfc_masked_pong)
{
	const uint8_t pong[] = { 0x8a, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58 };
	struct ws_parser p;
	ws_parser_init(&p, MAXMSG);
	struct seen s;
	feed(&p, pong, sizeof(pong), 100, &s);
	cr_assert_eq(s.n, 1);
	cr_assert_eq(s.ev[0].kind, WS_EV_PONG);
	cr_assert_str_eq(s.text[0], "Hello");
}

Test(ws, fragments_with_an_interleaved_ping_byte_by_byte)
{
	uint8_t buf[256];
	size_t n = frame(buf, false, WS_TEXT, "Hel", 3);
	n += frame(buf + n, true, WS_PING, "p", 1);
	n += frame(buf + n, false, WS_CONT, "l", 1);
	n += frame(buf + n, true, WS_CONT, "o", 1);
	n += frame(buf + n, true, WS_TEXT, "", 0);
	for (size_t chunk = 1; chunk <= 7; chunk += 6) {
		struct ws_parser p;
		ws_parser_init(&p, MAXMSG);
		struct seen s;
		feed(&p, buf, n, chunk, &s);
		cr_assert_eq(s.n, 3, "chunk %zu: %d events", chunk, s.n);
		cr_assert_eq(s.ev[0].kind, WS_EV_PING);
		cr_assert_str_eq(s.text[0], "p");
		cr_assert_eq(s.ev[1].kind, WS_EV_TEXT);
		cr_assert_str_eq(s.text[1], "Hello");
		cr_assert_eq(s.ev[2].kind, WS_EV_TEXT);
		cr_assert_eq(s.ev[2].len, 0, "an empty message");
		ws_parser_reset(&p);
	}
}

Test(ws, utf8_split_across_fragments_is_valid)
{
	uint8_t buf[64];
	const char *smile = "\xf0\x9f\x98\x80"; /* U+1F600 */
	size_t n = frame(buf, false, WS_TEXT, smile, 1);
	n += frame(buf + n, true, WS_CONT, smile + 1, 3);
	struct ws_parser p;
	ws_parser_init(&p, MAXMSG);
	struct seen s;
	feed(&p, buf, n, 1, &s);
	cr_assert_eq(s.n, 1);
	cr_assert_eq(s.ev[0].kind, WS_EV_TEXT);
	cr_assert_eq(s.ev[0].len, 4);
	ws_parser_reset(&p);
}

static void expect_error(const uint8_t *buf, size_t n, uint16_t code)
{
	for (size_t chunk = 1; chunk <= n; chunk += n - 1 ? n - 1 : 1) {
		struct ws_parser p;
		ws_parser_init(&p, MAXMSG);
		struct seen s;
		feed(&p, buf, n, chunk, &s);
		cr_assert_gt(s.n, 0, "no event");
		cr_assert_eq(s.ev[s.n - 1].kind, WS_EV_ERROR, "no error");
		cr_assert_eq(s.ev[s.n - 1].code, code, "code %u, want %u (%s)", s.ev[s.n - 1].code,
			     code, s.ev[s.n - 1].why);
		ws_parser_reset(&p);
		if (n == 1)
			break;
	}
}

Test(ws, every_protocol_error_has_its_close_code)
{
	uint8_t buf[256];
	size_t n;
	const uint8_t unmasked[] = { 0x81, 0x02, 'h', 'i' };
	expect_error(unmasked, sizeof(unmasked), WS_CLOSE_PROTOCOL);
	n = frame(buf, true, WS_TEXT, "hi", 2);
	buf[0] |= 0x40; /* RSV1 */
	expect_error(buf, n, WS_CLOSE_PROTOCOL);
	n = frame(buf, true, 0x3, "x", 1); /* reserved opcode */
	expect_error(buf, n, WS_CLOSE_PROTOCOL);
	n = frame(buf, true, 0xB, "x", 1); /* reserved control opcode */
	expect_error(buf, n, WS_CLOSE_PROTOCOL);
	n = frame(buf, true, WS_BINARY, "\x00\x01", 2);
	expect_error(buf, n, WS_CLOSE_UNSUPPORTED);
	n = frame(buf, true, WS_CONT, "x", 1); /* continuation out of the blue */
	expect_error(buf, n, WS_CLOSE_PROTOCOL);
	n = frame(buf, false, WS_TEXT, "a", 1);
	n += frame(buf + n, true, WS_TEXT, "b", 1); /* new message before the end */
	expect_error(buf, n, WS_CLOSE_PROTOCOL);
	n = frame(buf, false, WS_PING, "x", 1); /* fragmented control */
	expect_error(buf, n, WS_CLOSE_PROTOCOL);
	char big[126];
	memset(big, 'p', sizeof(big));
	n = frame(buf, true, WS_PING, big, 126); /* control over 125 */
	expect_error(buf, n, WS_CLOSE_PROTOCOL);
	n = frame(buf, true, WS_CLOSE, "\x03", 1); /* one-byte close payload */
	expect_error(buf, n, WS_CLOSE_PROTOCOL);
	n = frame(buf, true, WS_CLOSE, "\x03\xed", 2); /* close code 1005 may not be sent */
	expect_error(buf, n, WS_CLOSE_PROTOCOL);
	n = frame(buf, true, WS_CLOSE, "\x03\xe8\xff", 3); /* bad UTF-8 in the reason */
	expect_error(buf, n, WS_CLOSE_BAD_DATA);
	n = frame(buf, true, WS_TEXT, "ok \xc3\x28", 5);
	expect_error(buf, n, WS_CLOSE_BAD_DATA);
	n = frame(buf, true, WS_TEXT, "\xe2\x82", 2); /* ends inside a character */
	expect_error(buf, n, WS_CLOSE_BAD_DATA);
	n = frame(buf, false, WS_TEXT, "\xed", 1);
	n += frame(buf + n, true, WS_CONT, "\xa0\x80", 2); /* surrogate across fragments */
	expect_error(buf, n, WS_CLOSE_BAD_DATA);
	char longmsg[MAXMSG + 1];
	memset(longmsg, 'm', sizeof(longmsg));
	n = frame(buf, true, WS_TEXT, longmsg, sizeof(longmsg));
	expect_error(buf, n, WS_CLOSE_TOO_BIG);
	n = frame(buf, false, WS_TEXT, longmsg, 40);
	n += frame(buf + n, true, WS_CONT, longmsg, 40); /* too big only once assembled */
	expect_error(buf, n, WS_CLOSE_TOO_BIG);
	const uint8_t huge[] = { 0x81, 0xFF, 0x80, 0, 0, 0, 0, 0, 0, 1, 1, 2, 3, 4 };
	expect_error(huge, sizeof(huge), WS_CLOSE_PROTOCOL);
}

Test(ws, close_frames_report_code_and_reason)
{
	uint8_t buf[64];
	struct ws_parser p;
	ws_parser_init(&p, MAXMSG);
	struct seen s;
	size_t n = frame(buf, true, WS_CLOSE,
			 "\x03\xe8"
			 "bye",
			 5);
	feed(&p, buf, n, 3, &s);
	cr_assert_eq(s.ev[0].kind, WS_EV_CLOSE);
	cr_assert_eq(s.ev[0].code, 1000);
	cr_assert_str_eq(s.text[0], "bye");
	ws_parser_reset(&p);
	n = frame(buf, true, WS_CLOSE, "", 0);
	feed(&p, buf, n, 100, &s);
	cr_assert_eq(s.ev[0].kind, WS_EV_CLOSE);
	cr_assert_eq(s.ev[0].code, WS_CLOSE_NO_STATUS);
	ws_parser_reset(&p);
}

Test(ws, server_frame_header_lengths)
{
	uint8_t h[10];
	cr_assert_eq(ws_frame_header(h, WS_TEXT, 0), 2);
	cr_assert_eq(h[0], 0x81);
	cr_assert_eq(h[1], 0);
	cr_assert_eq(ws_frame_header(h, WS_TEXT, 125), 2);
	cr_assert_eq(h[1], 125);
	cr_assert_eq(ws_frame_header(h, WS_TEXT, 126), 4);
	cr_assert_eq(h[1], 126);
	cr_assert_eq(h[2] << 8 | h[3], 126);
	cr_assert_eq(ws_frame_header(h, WS_TEXT, 65535), 4);
	cr_assert_eq(h[2] << 8 | h[3], 65535);
	cr_assert_eq(ws_frame_header(h, WS_CLOSE, 65536), 10);
	cr_assert_eq(h[0], 0x88);
	cr_assert_eq(h[1], 127);
	cr_assert_eq(h[7], 1);
	cr_assert_eq(h[8] | h[9], 0);
	uint8_t c[125];
	cr_assert_eq(ws_close_payload(c, 1009, "too big"), 9);
	cr_assert_eq(c[0] << 8 | c[1], 1009);
}

Test(ws, rfc_fragmented_text_message)
{
	/* section 5.7's "Hel" + "lo", masked as a client must */
	uint8_t buf[64];
	size_t n = frame(buf, false, WS_TEXT, "Hel", 3);
	n += frame(buf + n, true, WS_CONT, "lo", 2);
	struct ws_parser p;
	ws_parser_init(&p, MAXMSG);
	struct seen s;
	feed(&p, buf, n, n, &s);
	cr_assert_eq(s.n, 1);
	cr_assert_eq(s.ev[0].kind, WS_EV_TEXT);
	cr_assert_str_eq(s.text[0], "Hello");
	ws_parser_reset(&p);
}

Test(ws, rfc_masked_ping_is_reported_with_its_payload)
{
	uint8_t buf[64];
	size_t n = frame(buf, true, WS_PING, "Hello", 5);
	struct ws_parser p;
	ws_parser_init(&p, MAXMSG);
	struct seen s;
	feed(&p, buf, n, n, &s);
	cr_assert_eq(s.n, 1);
	cr_assert_eq(s.ev[0].kind, WS_EV_PING);
	cr_assert_str_eq(s.text[0], "Hello");
}

Test(ws, several_frames_in_one_read_give_one_event_per_call)
{
	uint8_t buf[64];
	size_t n = frame(buf, true, WS_TEXT, "hi", 2);
	n += frame(buf + n, true, WS_TEXT, "yo", 2);
	n += frame(buf + n, true, WS_PONG, "", 0);
	struct ws_parser p;
	ws_parser_init(&p, MAXMSG);
	struct seen s;
	feed(&p, buf, n, n, &s);
	cr_assert_eq(s.n, 3);
	cr_assert_str_eq(s.text[0], "hi");
	cr_assert_str_eq(s.text[1], "yo");
	cr_assert_eq(s.ev[2].kind, WS_EV_PONG);
	ws_parser_reset(&p);
}

/* Every chunk size gives the same events as one call with everything. */
Test(ws, any_read_boundaries_give_the_same_events)
{
	uint8_t buf[512];
	char mid[200];
	memset(mid, 'z', sizeof(mid));
	size_t n = frame(buf, true, WS_TEXT, "caf\xc3\xa9", 5);
	n += frame(buf + n, false, WS_TEXT, "\xe2\x82", 2);
	n += frame(buf + n, true, WS_PING, "?", 1);
	n += frame(buf + n, true, WS_CONT, "\xac!", 2);
	n += frame(buf + n, true, WS_TEXT, mid, 60);
	n += frame(buf + n, true, WS_CLOSE, "\x03\xe8ok", 4);
	struct ws_parser p;
	struct seen whole, s;
	ws_parser_init(&p, MAXMSG);
	feed(&p, buf, n, n, &whole);
	ws_parser_reset(&p);
	cr_assert_eq(whole.n, 5);
	cr_assert_str_eq(whole.text[2], "\xe2\x82\xac!");
	for (size_t chunk = 1; chunk < n; chunk++) {
		ws_parser_init(&p, MAXMSG);
		feed(&p, buf, n, chunk, &s);
		cr_assert_eq(s.n, whole.n, "chunk %zu", chunk);
		for (int i = 0; i < s.n; i++) {
			cr_assert_eq(s.ev[i].kind, whole.ev[i].kind, "chunk %zu, event %d", chunk,
				     i);
			cr_assert_eq(s.ev[i].len, whole.ev[i].len, "chunk %zu, event %d", chunk, i);
			cr_assert_eq(s.ev[i].code, whole.ev[i].code, "chunk %zu, event %d", chunk,
				     i);
			cr_assert_eq(memcmp(s.text[i], whole.text[i], s.ev[i].len), 0);
		}
		ws_parser_reset(&p);
	}
}

Test(ws, a_whole_single_frame_message_is_unmasked_in_place)
{
	uint8_t buf[64];
	size_t n = frame(buf, true, WS_TEXT, "Hello", 5);
	struct ws_parser p;
	ws_parser_init(&p, MAXMSG);
	size_t used;
	struct ws_event ev;
	ws_feed(&p, buf, n, &used, &ev);
	cr_assert_eq(ev.kind, WS_EV_TEXT);
	cr_assert_eq(used, n);
	cr_assert_eq(ev.data, buf + n - 5, "handed out from the caller's buffer");
	cr_assert_eq(memcmp(ev.data, "Hello", 5), 0);
	cr_assert_null(p.msg, "nothing allocated");
}

Test(ws, a_message_split_across_reads_is_copied_and_freed_at_the_next_call)
{
	uint8_t buf[64];
	size_t n = frame(buf, true, WS_TEXT, "Hello", 5);
	struct ws_parser p;
	ws_parser_init(&p, MAXMSG);
	size_t used;
	struct ws_event ev;
	ws_feed(&p, buf, n - 2, &used, &ev);
	cr_assert_eq(ev.kind, WS_EV_NONE);
	cr_assert_eq(used, n - 2);
	ws_feed(&p, buf + n - 2, 2, &used, &ev);
	cr_assert_eq(ev.kind, WS_EV_TEXT);
	cr_assert_eq(ev.len, 5);
	cr_assert_eq(memcmp(ev.data, "Hello", 5), 0);
	cr_assert_not_null(p.msg);
	ws_feed(&p, buf, 0, &used, &ev);
	cr_assert_eq(ev.kind, WS_EV_NONE);
	cr_assert_null(p.msg, "an idle connection keeps no message buffer");
}

Test(ws, a_message_of_exactly_the_maximum_is_accepted)
{
	uint8_t buf[256];
	char m[MAXMSG];
	memset(m, 'm', sizeof(m));
	size_t n = frame(buf, false, WS_TEXT, m, MAXMSG - 1);
	n += frame(buf + n, true, WS_CONT, m, 1);
	struct ws_parser p;
	ws_parser_init(&p, MAXMSG);
	struct seen s;
	feed(&p, buf, n, 5, &s);
	cr_assert_eq(s.n, 1);
	cr_assert_eq(s.ev[0].kind, WS_EV_TEXT);
	cr_assert_eq(s.ev[0].len, MAXMSG);
	ws_parser_reset(&p);
}

Test(ws, lengths_in_16_and_64_bits_are_read)
{
	static uint8_t buf[70000];
	static char m[66000];
	memset(m, 'q', sizeof(m));
	struct ws_parser p;
	struct seen s;
	size_t sizes[] = { 126, 65535, 65536, 66000 };
	for (size_t i = 0; i < ARRAY_LEN(sizes); i++) {
		size_t n = frame(buf, true, WS_TEXT, m, sizes[i]);
		ws_parser_init(&p, sizeof(m));
		feed(&p, buf, n, 1000, &s);
		cr_assert_eq(s.n, 1);
		cr_assert_eq(s.ev[0].kind, WS_EV_TEXT);
		cr_assert_eq(s.ev[0].len, sizes[i]);
		ws_parser_reset(&p);
	}
	/* a short payload in the longer forms (not minimal, still accepted) */
	const uint8_t len16[] = { 0x81, 0xFE, 0, 1, 0, 0, 0, 0, 'x' };
	const uint8_t len64[] = { 0x81, 0xFF, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 'x' };
	ws_parser_init(&p, MAXMSG);
	feed(&p, len16, sizeof(len16), 3, &s);
	cr_assert_eq(s.ev[0].kind, WS_EV_TEXT);
	feed(&p, len64, sizeof(len64), 3, &s);
	cr_assert_eq(s.ev[0].kind, WS_EV_TEXT);
	cr_assert_str_eq(s.text[0], "x");
	ws_parser_reset(&p);
}

Test(ws, control_payload_of_125_is_fine)
{
	uint8_t buf[256];
	char big[125];
	memset(big, 'p', sizeof(big));
	size_t n = frame(buf, true, WS_PING, big, sizeof(big));
	struct ws_parser p;
	ws_parser_init(&p, MAXMSG);
	struct seen s;
	feed(&p, buf, n, 7, &s);
	cr_assert_eq(s.ev[0].kind, WS_EV_PING);
	cr_assert_eq(s.ev[0].len, 125);
}

Test(ws, a_data_frame_inside_a_fragmented_message_is_1002_even_binary)
{
	uint8_t buf[64];
	size_t n = frame(buf, false, WS_TEXT, "a", 1);
	n += frame(buf + n, true, WS_BINARY, "b", 1);
	expect_error(buf, n, WS_CLOSE_PROTOCOL);
}

Test(ws, close_codes_of_section_7_4)
{
	static const uint16_t valid[] = { 1000, 1001, 1002, 1003, 1007, 1008, 1009,
					  1010, 1011, 3000, 3999, 4000, 4999 };
	static const uint16_t invalid[] = { 0,    999,  1004, 1005, 1006, 1012, 1013,
					    1014, 1015, 1016, 2000, 2999, 5000, 65535 };
	uint8_t buf[64];
	struct ws_parser p;
	struct seen s;
	for (size_t i = 0; i < ARRAY_LEN(valid); i++) {
		uint8_t pl[2] = { (uint8_t)(valid[i] >> 8), (uint8_t)valid[i] };
		size_t n = frame(buf, true, WS_CLOSE, pl, 2);
		ws_parser_init(&p, MAXMSG);
		feed(&p, buf, n, n, &s);
		cr_assert_eq(s.ev[0].kind, WS_EV_CLOSE, "code %u refused", valid[i]);
		cr_assert_eq(s.ev[0].code, valid[i]);
		cr_assert_eq(s.ev[0].len, 0);
	}
	for (size_t i = 0; i < ARRAY_LEN(invalid); i++) {
		uint8_t pl[2] = { (uint8_t)(invalid[i] >> 8), (uint8_t)invalid[i] };
		size_t n = frame(buf, true, WS_CLOSE, pl, 2);
		expect_error(buf, n, WS_CLOSE_PROTOCOL);
	}
}

Test(ws, invalid_utf8_fails_before_the_frame_ends)
{
	uint8_t buf[64];
	size_t n = frame(buf, true, WS_TEXT,
			 "ab\xff"
			 "cdefgh",
			 9);
	struct ws_parser p;
	ws_parser_init(&p, MAXMSG);
	struct seen s;
	feed(&p, buf, n - 6, 1, &s); /* the payload up to the bad byte only */
	cr_assert_eq(s.n, 1);
	cr_assert_eq(s.ev[0].kind, WS_EV_ERROR);
	cr_assert_eq(s.ev[0].code, WS_CLOSE_BAD_DATA);
	ws_parser_reset(&p);
}

Test(ws, utf8_split_across_reads_inside_one_frame)
{
	uint8_t buf[64];
	const char *text = "\xe2\x82\xac \xf0\x9f\x98\x80";
	size_t n = frame(buf, true, WS_TEXT, text, strlen(text));
	for (size_t chunk = 1; chunk < n; chunk++) {
		struct ws_parser p;
		ws_parser_init(&p, MAXMSG);
		struct seen s;
		feed(&p, buf, n, chunk, &s);
		cr_assert_eq(s.n, 1);
		cr_assert_eq(s.ev[0].kind, WS_EV_TEXT, "chunk %zu", chunk);
		cr_assert_str_eq(s.text[0], text);
		ws_parser_reset(&p);
	}
}

Test(ws, nothing_is_parsed_after_an_error)
{
	const uint8_t unmasked[] = { 0x81, 0x02, 'h', 'i' };
	uint8_t buf[64];
	memcpy(buf, unmasked, sizeof(unmasked));
	size_t n = sizeof(unmasked) + frame(buf + sizeof(unmasked), true, WS_TEXT, "ok", 2);
	struct ws_parser p;
	ws_parser_init(&p, MAXMSG);
	size_t used;
	struct ws_event ev;
	ws_feed(&p, buf, n, &used, &ev);
	cr_assert_eq(ev.kind, WS_EV_ERROR);
	size_t off = used;
	ws_feed(&p, buf + off, n - off, &used, &ev);
	cr_assert_eq(ev.kind, WS_EV_NONE);
	cr_assert_eq(used, 0);
}
