/*
 * test_proto.c - line framing, line validation and the server's wording.
 */
#include "command.h"
#include "proto.h"

#include <criterion/criterion.h>
#include <errno.h>
#include <stdarg.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

static const char grin[4] = { '\xf0', '\x9f', '\x98', '\x80' }; /* U+1F600 */

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

/* A reload may change max_line while a line is half read: the kept bytes' buffer was sized for
 * the limit the line started under, so that limit judges the line (a larger one would write
 * past the buffer). */
Test(framer, a_partial_line_is_judged_by_the_limit_it_started_under)
{
	struct line_framer f = { 0 };
	struct collected c = { 0 };
	cr_assert_eq(framer_feed(&f, MAXL, "0123456789", 10, collect, &c), 0);
	cr_assert_eq(framer_feed(&f, (size_t)4 * MAXL, "abcdefghij", 10, collect, &c), 0);
	cr_assert_eq(framer_feed(&f, (size_t)4 * MAXL, "ABC\n", 4, collect, &c), 0);
	cr_assert_eq(c.lines, 1);
	cr_assert_str_eq(c.text[0], "<too long>", "20 bytes in, over the 16 it started with");
	/* the next line goes by the new limit */
	cr_assert_eq(framer_feed(&f, (size_t)4 * MAXL, "0123456789", 10, collect, &c), 0);
	cr_assert_eq(framer_feed(&f, (size_t)4 * MAXL, "abcdefghij\n", 11, collect, &c), 0);
	cr_assert_eq(c.lines, 2);
	cr_assert_str_eq(c.text[1], "0123456789abcdefghij");
	/* the same the other way: a line started under a higher limit keeps it */
	cr_assert_eq(framer_feed(&f, (size_t)4 * MAXL, "0123456789", 10, collect, &c), 0);
	cr_assert_eq(framer_feed(&f, MAXL, "abcdefghij\n", 11, collect, &c), 0);
	cr_assert_eq(c.lines, 3);
	cr_assert_str_eq(c.text[2], "0123456789abcdefghij", "started under 64");
	framer_reset(&f);
}

/* ---- validation ---------------------------------------------------------------------------- */

static enum line_check check(const char *s)
{
	return proto_check_line(s, strlen(s)).kind;
}

/*
 * before + the character cp (U+0800..U+FFFF) + after, in a static buffer: the bidi controls
 * are put together at run time, so no literal in this file holds one (clang-tidy's
 * misc-misleading-bidirectional rightly refuses those).
 */
static const char *with_char(const char *before, uint32_t cp, const char *after)
{
	static char s[128];
	snprintf(s, sizeof(s), "%s%c%c%c%s", before, (int)(0xE0 | (cp >> 12)),
		 (int)(0x80 | ((cp >> 6) & 0x3F)), (int)(0x80 | (cp & 0x3F)), after);
	return s;
}

/* Asserts that s is refused as `kind` for code point cp at character pos. */
static void expect_refused(const char *s, enum line_check kind, uint32_t cp, size_t pos)
{
	struct line_verdict v = proto_check_line(s, strlen(s));
	cr_assert_eq(v.kind, kind, "'%s': kind %d", s, v.kind);
	cr_assert_eq(v.cp, cp, "'%s': U+%04X", s, (unsigned)v.cp);
	cr_assert_eq(v.pos, pos, "'%s': at %zu", s, v.pos);
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
	cr_assert_eq(proto_check_line("nul\0x", 5).kind, LINE_BAD_CONTROL);
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

Test(validate, a_refused_control_is_named_by_code_point_and_character)
{
	expect_refused("\x1b[31mred", LINE_BAD_CONTROL, 0x1B, 1);
	expect_refused("caf\xc3\xa9\a", LINE_BAD_CONTROL, 0x07, 5);
	expect_refused("\xf0\x9f\x98\x80\xc2\x9b", LINE_BAD_CONTROL, 0x9B, 2);
}

Test(validate, invalid_utf8_is_placed_by_byte)
{
	struct line_verdict v = proto_check_line("ab\xc3x", 4);
	cr_assert_eq(v.kind, LINE_BAD_UTF8);
	cr_assert_eq(v.pos, 3, "the byte where the broken character starts");
}

Test(validate, bidi_controls_and_separators_are_refused_with_their_position)
{
	static const uint32_t refused[] = { 0x202A, 0x202B, 0x202C, 0x202D, 0x202E, 0x2066,
					    0x2067, 0x2068, 0x2069, 0x2028, 0x2029 };
	for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
		/* "héllo " then the character: the 7th character */
		expect_refused(with_char("h\xc3\xa9llo ", refused[i], "."), LINE_BAD_FORMAT,
			       refused[i], 7);
		expect_refused(with_char("", refused[i], ""), LINE_BAD_FORMAT, refused[i], 1);
	}
}

Test(validate, invisible_format_characters_are_refused)
{
	expect_refused("a\xe2\x80\x8b"
		       "b",
		       LINE_BAD_FORMAT, 0x200B, 2);                   /* ZERO WIDTH SPACE */
	expect_refused("\xef\xbb\xbfhi", LINE_BAD_FORMAT, 0xFEFF, 1); /* BOM */
	expect_refused("a\xe2\x81\xa0"
		       "b",
		       LINE_BAD_FORMAT, 0x2060, 2); /* WORD JOINER */
	expect_refused("x\xe1\xa0\x8e", LINE_BAD_FORMAT, 0x180E, 2);
	expect_refused("x\xe2\x81\xa4", LINE_BAD_FORMAT, 0x2064, 2);
	expect_refused("x\xe2\x81\xaf", LINE_BAD_FORMAT, 0x206F, 2);
	expect_refused("x\xef\xbf\xb9", LINE_BAD_FORMAT, 0xFFF9, 2);
	expect_refused("x\xef\xbf\xbb", LINE_BAD_FORMAT, 0xFFFB, 2);
}

Test(validate, joiners_pass_between_two_visible_characters_only)
{
	/* man ZWJ woman ZWJ girl: one family emoji */
	cr_assert_eq(check("\xf0\x9f\x91\xa8\xe2\x80\x8d\xf0\x9f\x91\xa9\xe2\x80\x8d"
			   "\xf0\x9f\x91\xa7"),
		     LINE_VALID);
	/* white flag, VS16, ZWJ, rainbow: the joiner follows a variation selector */
	cr_assert_eq(check("\xf0\x9f\x8f\xb3\xef\xb8\x8f\xe2\x80\x8d\xf0\x9f\x8c\x88"), LINE_VALID);
	/* Persian mi-khaham with a ZWNJ between two letters */
	cr_assert_eq(check("\xd9\x85\xdb\x8c\xe2\x80\x8c\xd8\xae\xd9\x88\xd8\xa7\xd9\x87\xd9\x85"),
		     LINE_VALID);
	expect_refused("\xe2\x80\x8dx", LINE_BAD_FORMAT, 0x200D, 1);              /* leading */
	expect_refused("x\xe2\x80\x8d", LINE_BAD_FORMAT, 0x200D, 2);              /* trailing */
	expect_refused("x\xe2\x80\x8d\xe2\x80\x8dy", LINE_BAD_FORMAT, 0x200D, 2); /* doubled */
	expect_refused("x \xe2\x80\x8cy", LINE_BAD_FORMAT, 0x200C, 3);        /* after a space */
	expect_refused("x\xe2\x80\x8c\ty", LINE_BAD_FORMAT, 0x200C, 2);       /* before a tab */
	expect_refused("x\xe2\x80\x8c\xc2\xa0y", LINE_BAD_FORMAT, 0x200C, 2); /* before NBSP */
	/* a joiner before a broken character: the line is refused as invalid UTF-8 */
	cr_assert_eq(check("x\xe2\x80\x8d\xc3"), LINE_BAD_UTF8);
}

Test(validate, marks_and_neighbours_of_the_refused_ranges_pass)
{
	cr_assert_eq(check("\xd7\xa9\xd7\x9c\xd7\x95\xd7\x9d\xe2\x80\x8f!"), LINE_VALID, "RLM");
	cr_assert_eq(check("abc\xe2\x80\x8e"), LINE_VALID, "LRM");
	cr_assert_eq(check("\xd8\xb9\xd8\xb1\xd8\xa8\xd9\x8a\xd8\x9c 12"), LINE_VALID,
		     "ALM U+061C");
	cr_assert_eq(check("10\xe2\x80\xaf"
			   "000"),
		     LINE_VALID, "U+202F narrow no-break space");
	cr_assert_eq(check("\xe2\x80\xa7\xe2\x80\xb0"), LINE_VALID, "U+2027, U+2030");
	cr_assert_eq(check("Vi\xe1\xbb\x87t"), LINE_VALID, "U+1EC7, in the fast filter's range");
	cr_assert_eq(check("x\xe2\x81\xb0"), LINE_VALID, "U+2070 superscript zero");
	cr_assert_eq(check("\xef\xbb\xbe\xef\xbf\xbc"), LINE_VALID, "U+FEFE, U+FFFC");
}

Test(validate, utf8_cut_never_splits_a_character)
{
	const char *s = "a\xc3\xa9\xf0\x9f\x98\x80"; /* a é 😀: boundaries 0 1 3 7 */
	static const size_t want[] = { 0, 1, 1, 3, 3, 3, 3, 7 };
	for (size_t n = 0; n <= strlen(s); n++)
		cr_assert_eq(utf8_cut(s, n), want[n], "n %zu", n);
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
	cr_assert_str_eq(b, "* alice has left (\"gone fishing\").\n");
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

/* Asserts that out[0..n) is valid UTF-8 without control characters, ending in one \n. */
static void expect_clean_line(const char *out, size_t n)
{
	cr_assert_gt(n, 0);
	cr_assert_eq(out[n - 1], '\n');
	cr_assert_eq(proto_check_line(out, n - 1).kind, LINE_VALID, "'%.*s'", (int)n, out);
	cr_assert_null(memchr(out, '\t', n - 1));
}

Test(wording, user_lines_start_with_the_prefix_and_relay_a_tab_as_a_space)
{
	static const struct {
		enum user_line kind;
		const char *want;
	} forms[] = {
		{ USER_CHAT, "alice:a b\n" },
		{ USER_ACTION, "+ alice a b\n" },
		{ USER_PRIVATE, "(private) alice:a b\n" },
		{ USER_ECHO, "* to alice: a b\n" },
	};
	for (size_t i = 0; i < sizeof(forms) / sizeof(forms[0]); i++) {
		char b[64];
		size_t len = proto_user_line_len(forms[i].kind, "alice", 3);
		cr_assert_eq(proto_user_line(b, forms[i].kind, "alice", "a\tb", 3), len);
		cr_assert_eq(len, strlen(forms[i].want));
		cr_assert_eq(memcmp(b, forms[i].want, len), 0, "'%.*s'", (int)len, b);
	}
}

Test(wording, a_quit_reason_is_quoted_and_escaped)
{
	char b[320];
	const char *evil = "). * Server shutting down; reconnect at evil.example \"now\" \\o/";
	size_t n = proto_left(b, sizeof(b), "mallory", evil, strlen(evil));
	cr_assert_str_eq(b, "* mallory has left (\"). * Server shutting down; reconnect at "
			    "evil.example \\\"now\\\" \\\\o/\").\n");
	expect_clean_line(b, n);
	proto_left(b, sizeof(b), "bob", "tab\there", 8);
	cr_assert_str_eq(b, "* bob has left (\"tab here\").\n");
}

/* Found by the fuzzer in CI: a two-byte character took a backslash as if it were a quote. */
Test(wording, two_byte_characters_are_quoted_as_they_are)
{
	char b[320];
	size_t n = proto_left(b, sizeof(b), "bob", "caf\xc3\xa9 \xc3\xa9t\xc3\xa9", 11);
	cr_assert_str_eq(b, "* bob has left (\"caf\xc3\xa9 \xc3\xa9t\xc3\xa9\").\n");
	expect_clean_line(b, n);
	/* cut: the marker still closes the line, no byte past the cap */
	const char *r = "). )!]Sg [er shutting d!own \"no\xe2\x80\x8d\xc3\xa9utti!";
	n = proto_left(b, 64, "alice", r, strlen(r));
	expect_clean_line(b, n);
	cr_assert_leq(n, 63);
	cr_assert(strstr(b, "\"...).\n") != NULL, "'%s'", b);
	cr_assert(strstr(b, "\\\xc3") == NULL, "'%s'", b);
}

Test(wording, long_quoted_text_is_cut_on_a_character_boundary_with_a_marker)
{
	char reason[400], b[320];
	for (size_t i = 0; i < 100; i++)
		memcpy(reason + 4 * i, grin, 4); /* 100 emoji, 400 bytes */
	size_t n = proto_left(b, sizeof(b), "bob", reason, sizeof(reason));
	expect_clean_line(b, n);
	/* at most PROTO_QUOTE_MAX bytes of the reason: 50 emoji */
	char want[320];
	snprintf(want, sizeof(want), "* bob has left (\"%.200s\"...).\n", reason);
	cr_assert_str_eq(b, want);
	/* a cap smaller than the text: still whole characters, still closed */
	n = proto_left(b, 40, "bob", reason, sizeof(reason));
	expect_clean_line(b, n);
	cr_assert_leq(n, 39);
	cr_assert(strstr(b, "\"...).\n") != NULL, "'%s'", b);
	/* escapes count against the cap: 200 quotes never overflow */
	char quotes[200];
	memset(quotes, '"', sizeof(quotes));
	n = proto_left(b, sizeof(b), "bob", quotes, sizeof(quotes));
	expect_clean_line(b, n);
	cr_assert(strstr(b, "\\\"\"...).\n") != NULL, "'%s'", b);
}

Test(wording, an_unknown_name_is_quoted)
{
	char b[600];
	size_t n = proto_no_such_user(b, sizeof(b), "nobody", 6);
	cr_assert_str_eq(b, "* error: no such user: \"nobody\".\n");
	cr_assert_eq(n, strlen(b));
	static char emoji[4000];
	for (size_t i = 0; i < 1000; i++)
		memcpy(emoji + 4 * i, grin, 4);
	n = proto_no_such_user(b, sizeof(b), emoji, sizeof(emoji));
	expect_clean_line(b, n);
}

/* The error line a refused line of n bytes gets. */
static void expect_refusal_line(const char *line, size_t n, const char *want)
{
	char b[160];
	struct line_verdict v = proto_check_line(line, n);
	proto_line_refused(b, sizeof(b), &v);
	cr_assert_str_eq(b, want);
}

Test(wording, refused_lines_name_the_character_and_its_position)
{
	expect_refusal_line(with_char("hello ", 0x202E, " olleh"), 13,
			    "* error: U+202E (RIGHT-TO-LEFT OVERRIDE) at character 7 is not "
			    "allowed; line dropped.\n");
	expect_refusal_line("\xe2\x80\x8dx", 4,
			    "* error: U+200D (ZERO WIDTH JOINER) at character 1 is allowed only "
			    "between two visible characters; line dropped.\n");
	expect_refusal_line(
	    "esc \x1b[2J", 8,
	    "* error: U+001B (ESCAPE) at character 5 is not allowed; line dropped.\n");
	expect_refusal_line("x\xc2\x80", 3,
			    "* error: U+0080 (control character) at character 2 is not allowed; "
			    "line dropped.\n");
	expect_refusal_line("bad \xff", 5, "* error: invalid UTF-8 at byte 5; line dropped.\n");
}

Test(wording, a_server_line_over_its_buffer_is_cut_on_a_character_boundary)
{
	char b[16];
	/* 14 bytes fit before the \n: "* to me: " (9), one emoji (4), a byte of the next */
	size_t n = proto_notice(b, sizeof(b), "to me: %s", "\xf0\x9f\x98\x80\xf0\x9f\x98\x80");
	cr_assert_str_eq(b, "* to me: \xf0\x9f\x98\x80\n");
	cr_assert_eq(n, 14);
	expect_clean_line(b, n);
}

/* ---- the wording of each line, byte for byte ------------------------------------------------ */

/* Asserts the line in b (n bytes by its writer's count) is exactly want. */
static void expect_line(const char *b, size_t n, const char *want)
{
	cr_assert_str_eq(b, want);
	cr_assert_eq(n, strlen(want));
}

Test(wording, joined_names_the_room_and_counts_its_users)
{
	char b[PROTO_LINE_MAX];
	expect_line(b, proto_joined(b, sizeof(b), "lobby", 1),
		    "* You are now in lobby. 1 user here.\n");
	expect_line(b, proto_joined(b, sizeof(b), "den", 3),
		    "* You are now in den. 3 users here.\n");
}

Test(wording, renamed_says_the_old_and_new_name)
{
	char b[PROTO_LINE_MAX];
	expect_line(b, proto_renamed(b, sizeof(b), "3", "alice"), "* 3 is now known as alice.\n");
}

Test(wording, goodbye)
{
	char b[PROTO_LINE_MAX];
	expect_line(b, proto_goodbye(b, sizeof(b)), "* Goodbye.\n");
}

Test(wording, name_taken_shows_the_name_as_given)
{
	char b[PROTO_LINE_MAX];
	expect_line(b, proto_name_taken(b, sizeof(b), "aIice and more", 5),
		    "* error: the name aIice is taken.\n");
}

Test(wording, already_in_shows_the_room_as_given)
{
	char b[PROTO_LINE_MAX];
	expect_line(b, proto_already_in(b, sizeof(b), "Lobby and more", 5),
		    "* error: you are already in Lobby.\n");
}

Test(wording, too_many_rooms_says_the_limit_and_what_to_do)
{
	char b[PROTO_LINE_MAX];
	expect_line(b, proto_too_many_rooms(b, sizeof(b), 1000),
		    "* error: too many rooms (max 1000); join an existing one (/rooms).\n");
}

Test(wording, cannot_enter_says_why_from_the_error_code)
{
	char b[PROTO_LINE_MAX];
	expect_line(b, proto_cannot_enter(b, sizeof(b), "lobby", -ENOSPC),
		    "* error: cannot enter lobby: too many rooms.\n");
	expect_line(b, proto_cannot_enter(b, sizeof(b), "lobby", -ENOMEM),
		    "* error: cannot enter lobby: out of memory.\n");
}

Test(wording, out_of_memory_says_what_was_not_done)
{
	static const struct {
		enum proto_nomem what;
		const char *want;
	} lines[] = {
		{ PROTO_NOMEM_LINE_NOT_SENT,
		  "* error: server out of memory; your line was not sent.\n" },
		{ PROTO_NOMEM_NAME_UNCHANGED, "* error: server out of memory; name unchanged.\n" },
		{ PROTO_NOMEM_ROOM_NOT_TOLD, "* error: server out of memory; your new name is set, "
					     "but the room was not told.\n" },
		{ PROTO_NOMEM_STAY, "* error: server out of memory; you stay where you are.\n" },
		{ PROTO_NOMEM_NO_LIST, "* error: server out of memory; no list this time.\n" },
		{ PROTO_NOMEM_MESSAGE_NOT_SENT,
		  "* error: server out of memory; your message was not sent.\n" },
		{ PROTO_NOMEM_ECHO_NOT_SENT,
		  "* error: server out of memory; your message was sent, but not its echo.\n" },
		{ PROTO_NOMEM_DISCONNECTING, "* error: server out of memory; disconnecting.\n" },
	};
	size_t longest = 0;
	for (size_t i = 0; i < sizeof(lines) / sizeof(lines[0]); i++) {
		char b[PROTO_LINE_MAX];
		expect_line(b, proto_out_of_memory(b, sizeof(b), lines[i].what), lines[i].want);
		size_t n = strlen(lines[i].want) - strlen("* error: server out of memory; .\n");
		longest = n > longest ? n : longest;
	}
	cr_assert_eq(longest, PROTO_NOMEM_MAX);
}

Test(wording, command_error_is_the_parsers_sentence)
{
	char b[PROTO_LINE_MAX];
	struct command cmd;
	command_parse("/bogus", 6, &cmd);
	expect_line(b, proto_command_error(b, sizeof(b), cmd.error),
		    "* error: unknown command; /help lists them.\n");
}

/* Every usage error command_parse can give (one input per branch of command.c). */
static const char *const bad_commands[] = {
	"/nick",  "/join",    "/nick 9lives", "/nick lOl", "/join no!",
	"/who x", "/msg bob", "/me",          "/bogus",
};

Test(wording, every_command_error_fits_PROTO_COMMAND_ERROR_MAX)
{
	size_t longest = 0;
	for (size_t i = 0; i < sizeof(bad_commands) / sizeof(bad_commands[0]); i++) {
		struct command cmd;
		command_parse(bad_commands[i], strlen(bad_commands[i]), &cmd);
		cr_assert_eq(cmd.kind, CMD_INVALID, "%s", bad_commands[i]);
		size_t n = strlen(cmd.error);
		longest = n > longest ? n : longest;
	}
	cr_assert_eq(longest, PROTO_COMMAND_ERROR_MAX);
}

Test(wording, rate_limited_and_flooding_say_the_limit)
{
	char b[PROTO_LINE_MAX];
	expect_line(b, proto_rate_limited(b, sizeof(b), 20),
		    "* error: slow down: more than 20 lines a second; line dropped.\n");
	expect_line(b, proto_flooding(b, sizeof(b), 20),
		    "* error: flooding: more than 20 lines a second; disconnecting.\n");
}

Test(wording, line_too_long_says_the_limit)
{
	char b[PROTO_LINE_MAX];
	expect_line(b, proto_line_too_long(b, sizeof(b), 4096),
		    "* error: line too long (max 4096 bytes); dropped.\n");
}

Test(wording, too_slow_says_the_limit)
{
	char b[PROTO_LINE_MAX];
	expect_line(b, proto_too_slow(b, sizeof(b), 1048576),
		    "* error: too slow: more than 1048576 bytes queued for you; disconnecting.\n");
}

Test(wording, evicted_says_what_the_connection_held)
{
	char b[PROTO_LINE_MAX];
	expect_line(b, proto_evicted(b, sizeof(b), 70000),
		    "* error: server out of memory: your connection held 70000 bytes, among the "
		    "most; disconnecting.\n");
}

Test(wording, refusals_at_accept_say_why_and_to_try_later)
{
	char b[PROTO_LINE_MAX];
	expect_line(b, proto_server_full(b, sizeof(b), 10000),
		    "* error: server full (10000 users); try again later.\n");
	expect_line(b, proto_server_busy(b, sizeof(b)),
		    "* error: server busy (out of memory); try again later.\n");
	expect_line(b, proto_too_many_from(b, sizeof(b), "127.0.0.1", 4),
		    "* error: too many connections from 127.0.0.1 (max 4); try again later.\n");
}

Test(wording, help_is_lines_of_server_text)
{
	cr_assert(strncmp(proto_help, "* Commands:\n", 12) == 0);
	for (const char *p = proto_help; *p != '\0';) {
		const char *nl = strchr(p, '\n');
		cr_assert_not_null(nl, "every line ends in \\n");
		cr_assert(strncmp(p, "* ", 2) == 0, "%.*s", (int)(nl - p), p);
		p = nl + 1;
	}
}

Test(wording, no_room_line)
{
	char b[PROTO_LINE_MAX];
	expect_line(b, proto_no_room(b, sizeof(b)), "* You are in no room.\n");
}

Test(wording, who_names_the_members)
{
	const char *names[] = { "alice", "bob", "9" };
	char b[PROTO_WHO_MAX(3)];
	expect_line(b, proto_who(b, sizeof(b), "lobby", 3, names, 3),
		    "* 3 users in lobby: alice, bob, 9\n");
	expect_line(b, proto_who(b, sizeof(b), "den", 1, names, 1), "* 1 user in den: alice\n");
	expect_line(b, proto_who(b, sizeof(b), "lobby", 250, names, 3),
		    "* 250 users in lobby: alice, bob, 9 and 247 more\n");
}

Test(wording, who_counts_the_names_it_has_no_room_for)
{
	const char *names[] = { "alice", "bob", "carol" };
	char b[64];
	/* "* 3 users in lobby: alice, bob" is 30 bytes, ", carol" 7 more, and the longest
	 * " and N more\n" with its NUL needs 33: carol does not fit in 64 */
	size_t n = proto_who(b, sizeof(b), "lobby", 3, names, 3);
	expect_line(b, n, "* 3 users in lobby: alice, bob and 1 more\n");
	/* no room for any name: they are all counted */
	n = proto_who(b, 40, "lobby", 3, names, 3);
	expect_line(b, n, "* 3 users in lobby: and 3 more\n");
}

Test(wording, rooms_lines)
{
	char b[PROTO_LINE_MAX];
	expect_line(b, proto_rooms_head(b, sizeof(b), 1), "* 1 room:\n");
	expect_line(b, proto_rooms_head(b, sizeof(b), 2), "* 2 rooms:\n");
	expect_line(b, proto_rooms_entry(b, sizeof(b), "lobby", 12), "*   lobby 12\n");
	expect_line(b, proto_rooms_more(b, sizeof(b), 7), "*   and 7 more\n");
}

/* ---- sizes: no server line is ever cut in PROTO_LINE_MAX ---------------------------------- */

Test(wording, every_char_name_fits_PROTO_CHAR_NAME_MAX)
{
	size_t longest = 0;
	for (uint32_t cp = 0; cp <= 0x10FFFF; cp++) {
		size_t n = strlen(proto_char_name(cp));
		longest = n > longest ? n : longest;
	}
	cr_assert_eq(longest, PROTO_CHAR_NAME_MAX);
}

/*
 * Asserts a line written into a PROTO_LINE_MAX buffer was not cut: its writer's count, one
 * \n at the end, the expected tail, and within the size counted for that line alone.
 */
static void expect_whole(const char *b, size_t n, size_t line_size, const char *tail,
			 const char *what)
{
	cr_assert_eq(n, strlen(b), "%s", what);
	cr_assert_lt(n, line_size, "%s: %zu bytes, counted %zu with the NUL", what, n, line_size);
	cr_assert_leq(line_size, PROTO_LINE_MAX, "%s", what);
	size_t t = strlen(tail);
	cr_assert(n >= t && strcmp(b + n - t, tail) == 0, "%s: '%s' should end with '%s'", what, b,
		  tail);
	cr_assert_null(memchr(b, '\n', n - 1), "%s: one line", what);
}

/* Calls a wording function with b and sizeof(b) in its arguments, then expect_whole. */
#define EXPECT_WHOLE(line, tail, call)                                     \
	do {                                                               \
		char b[PROTO_LINE_MAX];                                    \
		size_t n_ = (call);                                        \
		expect_whole(b, n_, PROTO_LINE_SIZE(line), (tail), #call); \
	} while (0)

/* The longest name, room, address, and a text of 10 KB of many_quotes (each escaped). */
static char long_name[NAME_MAX_LEN + 1], long_room[ROOM_MAX_LEN + 1];
static char many_quotes[10240];
static const char long_addr[] = "ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255";

static void fill_longest(void)
{
	memset(long_name, 'n', NAME_MAX_LEN);
	long_name[0] = 'N';
	memset(long_room, 'r', ROOM_MAX_LEN);
	memset(many_quotes, '"', sizeof(many_quotes));
	cr_assert_eq(strlen(long_addr), PROTO_ADDR_MAX);
}

Test(wording, the_old_lines_are_never_cut_in_PROTO_LINE_MAX, .init = fill_longest)
{
	EXPECT_WHOLE(welcome, ". -9223372036854775808 users online. Type /help for commands.\n",
		     proto_welcome(b, sizeof(b), UINT64_MAX, LONG_MIN));
	EXPECT_WHOLE(welcome, "9223372036854775807 users online. Type /help for commands.\n",
		     proto_welcome(b, sizeof(b), UINT64_MAX, LONG_MAX));
	EXPECT_WHOLE(entered, "nnn has entered.\n", proto_entered(b, sizeof(b), long_name));
	/* 200 many_quotes, each escaped, then the closing quote and the marker */
	EXPECT_WHOLE(left, "\\\"\\\"\"...).\n",
		     proto_left(b, sizeof(b), long_name, many_quotes, sizeof(many_quotes)));
	EXPECT_WHOLE(no_such_user, "\\\"\\\"\"....\n",
		     proto_no_such_user(b, sizeof(b), many_quotes, sizeof(many_quotes)));
	EXPECT_WHOLE(summary, "-9223372036854775808 users entered, -9223372036854775808 left.\n",
		     proto_summary(b, sizeof(b), LONG_MIN, LONG_MIN));
	EXPECT_WHOLE(summary, "9223372036854775807 users entered, 9223372036854775807 left.\n",
		     proto_summary(b, sizeof(b), LONG_MAX, LONG_MAX));
	EXPECT_WHOLE(shutdown, "shutting down.\n", proto_shutdown(b, sizeof(b)));
	/* the longest name, the longer phrase, the widest code point; the widest position */
	static const struct {
		struct line_verdict v;
		const char *tail;
	} refusals[] = {
		{ { LINE_BAD_CONTROL, 0xFFFB, SIZE_MAX },
		  "(INTERLINEAR ANNOTATION TERMINATOR) at character 18446744073709551615 is not "
		  "allowed; line dropped.\n" },
		{ { LINE_BAD_FORMAT, 0x200C, SIZE_MAX },
		  "(ZERO WIDTH NON-JOINER) at character 18446744073709551615 is allowed only "
		  "between two visible characters; line dropped.\n" },
		{ { LINE_BAD_CONTROL, UINT32_MAX, SIZE_MAX },
		  "* error: U+FFFFFFFF (control character) at character 18446744073709551615 is "
		  "not allowed; line dropped.\n" },
	};
	for (size_t i = 0; i < sizeof(refusals) / sizeof(refusals[0]); i++)
		EXPECT_WHOLE(bad_char, refusals[i].tail,
			     proto_line_refused(b, sizeof(b), &refusals[i].v));
	const struct line_verdict utf8 = { LINE_BAD_UTF8, 0, SIZE_MAX };
	EXPECT_WHOLE(bad_utf8, "byte 18446744073709551615; line dropped.\n",
		     proto_line_refused(b, sizeof(b), &utf8));
}

/* A tail built from the longest parts (a static buffer: one at a time). */
static const char *tail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static const char *tail(const char *fmt, ...)
{
	static char t[PROTO_LINE_MAX];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(t, sizeof(t), fmt, ap);
	va_end(ap);
	return t;
}

Test(wording, the_new_lines_are_never_cut_in_PROTO_LINE_MAX, .init = fill_longest)
{
	EXPECT_WHOLE(joined, tail("%s. -9223372036854775808 users here.\n", long_room),
		     proto_joined(b, sizeof(b), long_room, LONG_MIN));
	EXPECT_WHOLE(renamed, tail("%s is now known as %s.\n", long_name, long_name),
		     proto_renamed(b, sizeof(b), long_name, long_name));
	EXPECT_WHOLE(goodbye, "* Goodbye.\n", proto_goodbye(b, sizeof(b)));
	EXPECT_WHOLE(name_lost, tail("server: you are now %s.\n", long_name),
		     proto_name_lost(b, sizeof(b), long_name, long_name));
	EXPECT_WHOLE(cluster_dropped, "congested); say it again later.\n",
		     proto_cluster_dropped(b, sizeof(b)));
	EXPECT_WHOLE(history_head, tail("lines in %s:\n", long_room),
		     proto_history_head(b, sizeof(b), LONG_MIN, long_room));
	EXPECT_WHOLE(history_end, "* (end of history)\n", proto_history_end(b, sizeof(b)));
	EXPECT_WHOLE(history_none, tail("kept in %s yet.\n", long_room),
		     proto_history_none(b, sizeof(b), long_room));
	EXPECT_WHOLE(signed_in, tail("signed in as %s.\n", long_name),
		     proto_signed_in(b, sizeof(b), long_name));
	char why[PROTO_AUTH_WHY_MAX + 1];
	memset(why, 'w', PROTO_AUTH_WHY_MAX);
	why[PROTO_AUTH_WHY_MAX] = '\0';
	EXPECT_WHOLE(auth_refused, tail("refused: %s.\n", why),
		     proto_auth_refused(b, sizeof(b), why));
	EXPECT_WHOLE(sign_in_first, "/auth TOKEN.\n", proto_sign_in_first(b, sizeof(b)));
	EXPECT_WHOLE(guest_refused, "/auth TOKEN.\n", proto_guest_refused(b, sizeof(b)));
	EXPECT_WHOLE(name_reclaimed, tail("you are now %s.\n", long_name),
		     proto_name_reclaimed(b, sizeof(b), long_name, long_name));
	EXPECT_WHOLE(name_taken, tail("the name %s is taken.\n", long_name),
		     proto_name_taken(b, sizeof(b), long_name, NAME_MAX_LEN));
	EXPECT_WHOLE(already_in, tail("already in %s.\n", long_room),
		     proto_already_in(b, sizeof(b), long_room, ROOM_MAX_LEN));
	EXPECT_WHOLE(too_many_rooms, "(max -2147483648); join an existing one (/rooms).\n",
		     proto_too_many_rooms(b, sizeof(b), INT_MIN));
	EXPECT_WHOLE(cannot_enter, tail("cannot enter %s: too many rooms.\n", long_room),
		     proto_cannot_enter(b, sizeof(b), long_room, -ENOSPC));
	EXPECT_WHOLE(cannot_enter, tail("cannot enter %s: out of memory.\n", long_room),
		     proto_cannot_enter(b, sizeof(b), long_room, -ENOMEM));
	for (int i = PROTO_NOMEM_LINE_NOT_SENT; i <= PROTO_NOMEM_DISCONNECTING; i++)
		EXPECT_WHOLE(out_of_memory, ".\n",
			     proto_out_of_memory(b, sizeof(b), (enum proto_nomem)i));
	for (size_t i = 0; i < sizeof(bad_commands) / sizeof(bad_commands[0]); i++) {
		struct command cmd;
		command_parse(bad_commands[i], strlen(bad_commands[i]), &cmd);
		EXPECT_WHOLE(command_error, tail("%s\n", cmd.error),
			     proto_command_error(b, sizeof(b), cmd.error));
	}
	EXPECT_WHOLE(rate_limited, "more than -2147483648 lines a second; line dropped.\n",
		     proto_rate_limited(b, sizeof(b), INT_MIN));
	EXPECT_WHOLE(flooding, "more than -2147483648 lines a second; disconnecting.\n",
		     proto_flooding(b, sizeof(b), INT_MIN));
	EXPECT_WHOLE(line_too_long, "(max 18446744073709551615 bytes); dropped.\n",
		     proto_line_too_long(b, sizeof(b), SIZE_MAX));
	EXPECT_WHOLE(too_slow, "18446744073709551615 bytes queued for you; disconnecting.\n",
		     proto_too_slow(b, sizeof(b), SIZE_MAX));
	EXPECT_WHOLE(evicted, "held 18446744073709551615 bytes, among the most; disconnecting.\n",
		     proto_evicted(b, sizeof(b), SIZE_MAX));
	EXPECT_WHOLE(server_full, "(-2147483648 users); try again later.\n",
		     proto_server_full(b, sizeof(b), INT_MIN));
	EXPECT_WHOLE(server_busy, "(out of memory); try again later.\n",
		     proto_server_busy(b, sizeof(b)));
	EXPECT_WHOLE(too_many_from,
		     tail("from %s (max -2147483648); try again later.\n", long_addr),
		     proto_too_many_from(b, sizeof(b), long_addr, INT_MIN));
	EXPECT_WHOLE(no_room, "* You are in no room.\n", proto_no_room(b, sizeof(b)));
	EXPECT_WHOLE(rooms_head, "* -9223372036854775808 rooms:\n",
		     proto_rooms_head(b, sizeof(b), LONG_MIN));
	EXPECT_WHOLE(rooms_entry, tail("*   %s -9223372036854775808\n", long_room),
		     proto_rooms_entry(b, sizeof(b), long_room, LONG_MIN));
	EXPECT_WHOLE(rooms_more, "*   and -9223372036854775808 more\n",
		     proto_rooms_more(b, sizeof(b), LONG_MIN));
}

Test(wording, who_names_everyone_in_PROTO_WHO_MAX, .init = fill_longest)
{
	const char *names[] = { long_name, long_name, long_name };
	char b[PROTO_WHO_MAX(3)];
	size_t n = proto_who(b, sizeof(b), long_room, LONG_MAX, names, 3);
	char want[PROTO_WHO_MAX(3)];
	snprintf(want, sizeof(want), "* %ld users in %s: %s, %s, %s and %ld more\n", LONG_MAX,
		 long_room, long_name, long_name, long_name, LONG_MAX - 3);
	expect_line(b, n, want);
}
