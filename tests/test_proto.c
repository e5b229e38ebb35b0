/*
 * test_proto.c - line framing, line validation and the server's wording.
 */
#include "proto.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#define MAXL 16

struct collected {
	int lines, too_long;
	char text[16][64];
	bool stop_after_first;
};

static bool collect(void *arg, enum line_event ev, const char *line, size_t len)
{
	struct collected *c = arg;
	if (ev == LINE_TOO_LONG) {
		c->too_long++;
		snprintf(c->text[c->lines++ % 16], 64, "<too long>");
	} else {
		snprintf(c->text[c->lines++ % 16], 64, "%.*s", (int)len, line);
	}
	return !c->stop_after_first;
}

static void feed_all(struct line_framer *f, struct collected *c, const char *s, size_t chunk)
{
	size_t n = strlen(s);
	for (size_t i = 0; i < n; i += chunk) {
		size_t k = n - i < chunk ? n - i : chunk;
		cr_assert_eq(framer_feed(f, MAXL, s + i, k, collect, c), 0);
	}
}

static void check_split(const char *input, const char *const *want, int nwant)
{
	/* Same result whatever the read boundaries: whole, and 1..7 bytes at a time. */
	for (size_t chunk = 1; chunk <= 8; chunk++) {
		struct line_framer f = { 0 };
		struct collected c = { 0 };
		feed_all(&f, &c, input, chunk == 8 ? strlen(input) : chunk);
		cr_assert_eq(c.lines, nwant, "chunk %zu: %d lines, want %d", chunk, c.lines, nwant);
		for (int i = 0; i < nwant; i++)
			cr_assert_str_eq(c.text[i], want[i], "chunk %zu line %d", chunk, i);
		framer_reset(&f);
	}
}

Test(framer, lines_split_across_reads)
{
	const char *want[] = { "hello", "world", "" };
	check_split("hello\nworld\n\n", want, 3);
}

Test(framer, crlf_and_lf_both_end_a_line)
{
	const char *want[] = { "a", "b", "c\rd" };
	check_split("a\r\nb\nc\rd\r\n", want, 3);
}

Test(framer, partial_line_is_kept_until_its_newline)
{
	struct line_framer f = { 0 };
	struct collected c = { 0 };
	framer_feed(&f, MAXL, "abc", 3, collect, &c);
	cr_assert_eq(c.lines, 0);
	cr_assert_not_null(f.buf, "partial line kept");
	framer_feed(&f, MAXL, "def\n", 4, collect, &c);
	cr_assert_eq(c.lines, 1);
	cr_assert_str_eq(c.text[0], "abcdef");
	cr_assert_null(f.buf, "buffer released once the line is complete");
}

Test(framer, line_of_exactly_max_bytes_is_accepted_with_crlf)
{
	const char *want[] = { "0123456789abcdef", "0123456789abcdef" };
	check_split("0123456789abcdef\n0123456789abcdef\r\n", want, 2);
}

Test(framer, overlong_line_is_dropped_up_to_its_newline_and_reported_once)
{
	const char *want[] = { "<too long>", "ok" };
	check_split("0123456789abcdefX and much more text here\nok\n", want, 2);
}

Test(framer, overlong_line_with_cr_is_still_overlong)
{
	const char *want[] = { "<too long>", "x" };
	check_split("0123456789abcdefX\r\nx\n", want, 2);
}

Test(framer, callback_can_stop_framing)
{
	struct line_framer f = { 0 };
	struct collected c = { .stop_after_first = true };
	framer_feed(&f, MAXL, "a\nb\nc\n", 6, collect, &c);
	cr_assert_eq(c.lines, 1);
}

/* ---- validation ---------------------------------------------------------------------------- */

static enum line_check check(const char *s)
{
	return proto_check_line(s, strlen(s));
}

Test(validate, printable_ascii_tab_and_utf8_are_valid)
{
	cr_assert_eq(check("hello, world!"), LINE_VALID);
	cr_assert_eq(check("tab\there"), LINE_VALID);
	cr_assert_eq(check("caf\xc3\xa9 \xe4\xb8\xad\xe6\x96\x87 \xf0\x9f\x98\x80"), LINE_VALID);
	cr_assert_eq(check(""), LINE_VALID);
	cr_assert_eq(check("\xc2\xa0 nbsp"), LINE_VALID, "U+00A0 is not a control");
	cr_assert_eq(check("\xf4\x8f\xbf\xbf"), LINE_VALID, "U+10FFFF is the last code point");
}

Test(validate, c0_controls_and_del_are_rejected)
{
	cr_assert_eq(check("\x1b[31mred"), LINE_BAD_CONTROL, "ESC (terminal escape)");
	cr_assert_eq(check("bell\a"), LINE_BAD_CONTROL);
	cr_assert_eq(check("del\x7f"), LINE_BAD_CONTROL);
	cr_assert_eq(check("cr\rinside"), LINE_BAD_CONTROL);
	cr_assert_eq(proto_check_line("nul\0x", 5), LINE_BAD_CONTROL);
}

Test(validate, c1_controls_are_rejected)
{
	cr_assert_eq(check("\xc2\x9b"
			   "31m"),
		     LINE_BAD_CONTROL, "U+009B is CSI");
	cr_assert_eq(check("\xc2\x80"), LINE_BAD_CONTROL);
}

Test(validate, invalid_utf8_is_rejected)
{
	cr_assert_eq(check("\xff"), LINE_BAD_UTF8);
	cr_assert_eq(check("\x80"), LINE_BAD_UTF8, "lone continuation byte");
	cr_assert_eq(check("\xc3"), LINE_BAD_UTF8, "truncated at end");
	cr_assert_eq(check("\xc3x"), LINE_BAD_UTF8, "missing continuation");
	cr_assert_eq(check("\xc0\xaf"), LINE_BAD_UTF8, "overlong 2-byte");
	cr_assert_eq(check("\xe0\x80\xaf"), LINE_BAD_UTF8, "overlong 3-byte");
	cr_assert_eq(check("\xf0\x80\x80\xaf"), LINE_BAD_UTF8, "overlong 4-byte");
	cr_assert_eq(check("\xed\xa0\x80"), LINE_BAD_UTF8, "surrogate U+D800");
	cr_assert_eq(check("\xf4\x90\x80\x80"), LINE_BAD_UTF8, "beyond U+10FFFF");
	cr_assert_eq(check("\xf5\x80\x80\x80"), LINE_BAD_UTF8);
}

Test(validate, utf8_state_carries_across_fragments)
{
	const unsigned char s[] = "\xf0\x9f\x98\x80";
	for (size_t cut = 0; cut <= 4; cut++) {
		uint32_t st = 0;
		cr_assert(utf8_feed(&st, s, cut));
		cr_assert_eq(utf8_complete(st), cut == 0 || cut == 4);
		cr_assert(utf8_feed(&st, s + cut, 4 - cut));
		cr_assert(utf8_complete(st));
	}
	uint32_t st = 0;
	cr_assert(utf8_feed(&st, (const unsigned char *)"\xed", 1));
	cr_assert_not(utf8_feed(&st, (const unsigned char *)"\xa0", 1), "surrogate across cut");
}

/* ---- wording -------------------------------------------------------------------------------- */

Test(wording, server_lines_have_the_prefix_and_proper_sentences)
{
	char b[128];
	proto_welcome(b, sizeof(b), 3, 1);
	cr_assert_str_eq(b, "* Welcome, 3. 1 user online. Type /help for commands.\n");
	proto_welcome(b, sizeof(b), 3, 5);
	cr_assert_str_eq(b, "* Welcome, 3. 5 users online. Type /help for commands.\n");
	proto_entered(b, sizeof(b), "3");
	cr_assert_str_eq(b, "* 3 has entered.\n");
	proto_left(b, sizeof(b), "3", NULL, 0);
	cr_assert_str_eq(b, "* 3 has left.\n");
	proto_left(b, sizeof(b), "alice", "gone fishing", 12);
	cr_assert_str_eq(b, "* alice has left (gone fishing).\n");
	proto_notice(b, sizeof(b), "%s is now known as %s.", "3", "alice");
	cr_assert_str_eq(b, "* 3 is now known as alice.\n");
	proto_summary(b, sizeof(b), 412, 3);
	cr_assert_str_eq(b, "* 412 users entered, 3 left.\n");
	proto_summary(b, sizeof(b), 1, 0);
	cr_assert_str_eq(b, "* 1 user entered.\n");
	proto_summary(b, sizeof(b), 0, 2);
	cr_assert_str_eq(b, "* 2 users left.\n");
	proto_shutdown(b, sizeof(b));
	cr_assert_str_eq(b, "* Server shutting down.\n");
	size_t n = proto_error(b, sizeof(b), "line too long (max %d bytes); dropped.", 4096);
	cr_assert_str_eq(b, "* error: line too long (max 4096 bytes); dropped.\n");
	cr_assert_eq(n, strlen(b));
}

Test(wording, chat_prefix_is_the_name_and_a_colon)
{
	char b[64];
	size_t n = proto_chat_prefix(b, "7");
	cr_assert_eq(n, 2);
	cr_assert_eq(memcmp(b, "7:", 2), 0);
	n = proto_chat_prefix(b, "alice");
	cr_assert_eq(n, 6);
	cr_assert_eq(memcmp(b, "alice:", 6), 0);
}
