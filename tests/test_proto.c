/*
 * test_proto.c - line framing, line validation and the server's wording.
 */
#include "proto.h"

#include <criterion/criterion.h>
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
