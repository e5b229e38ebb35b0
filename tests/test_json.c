/*
 * test_json.c - the strict JSON reader for JWTs: what it accepts (every value type, white
 * space, escapes, surrogate pairs, UTF-8, the token layout), what it refuses (each syntax
 * error, numbers and strings outside RFC 8259, bad UTF-8, lone surrogates, depth, tokens,
 * length, duplicate names, a top level that is not an object), and the lookups.
 */
#include "json.h"

#include <criterion/criterion.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#define CAP 64

static struct json_token tokens[CAP];
static struct json_doc doc;

static int parse(const char *s)
{
	return json_parse(&doc, s, strlen(s), tokens, CAP);
}

/* Each of the NULL-terminated texts must give want. */
static void expect_all(const char *const *texts, int want)
{
	for (size_t i = 0; texts[i] != NULL; i++)
		cr_expect_eq(parse(texts[i]), want, "%s", texts[i]);
}

/* The text {"v":VALUE} for a value. */
static int parse_value(const char *value)
{
	static char buf[512];
	snprintf(buf, sizeof(buf), "{\"v\":%s}", value);
	return parse(buf);
}

static void expect_values(const char *const *values, int valid)
{
	for (size_t i = 0; values[i] != NULL; i++) {
		int r = parse_value(values[i]);
		if (valid)
			cr_expect_gt(r, 0, "%s refused (%d)", values[i], r);
		else
			cr_expect_eq(r, JSON_ERR_SYNTAX, "%s", values[i]);
	}
}

/* ---- accepted ------------------------------------------------------------------------------ */

Test(json, empty_object_is_one_token)
{
	cr_assert_eq(parse("{}"), 1);
	cr_assert_eq(doc.count, 1);
	cr_assert_eq(tokens[0].type, JSON_OBJECT);
	cr_assert_eq(tokens[0].count, 0);
	cr_assert_eq(tokens[0].size, 1);
}

Test(json, every_value_type_has_its_token_type)
{
	cr_assert_gt(parse("{\"s\":\"x\",\"n\":-1.5e3,\"t\":true,\"f\":false,\"z\":null,"
			   "\"a\":[1,[2]],\"o\":{\"k\":\"v\"}}"),
		     0);
	const struct {
		const char *name;
		enum json_type type;
	} want[] = { { "s", JSON_STRING }, { "n", JSON_NUMBER }, { "t", JSON_TRUE },
		     { "f", JSON_FALSE },  { "z", JSON_NULL },   { "a", JSON_ARRAY },
		     { "o", JSON_OBJECT } };
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		int v = json_find(&doc, 0, want[i].name);
		cr_assert_geq(v, 0, "%s", want[i].name);
		cr_expect_eq(tokens[v].type, want[i].type, "%s", want[i].name);
	}
	cr_assert_eq(tokens[0].count, 7);
}

Test(json, tokens_come_in_document_order_with_sizes_and_counts)
{
	/* 0:{ 1:"a" 2:[ 3:1 4:{ 5:"b" 6:2 7:"c" 8:"d" */
	const char *s = "{\"a\":[1,{\"b\":2}],\"c\":\"d\"}";
	cr_assert_eq(parse(s), 9);
	cr_assert_eq(tokens[0].size, 9);
	cr_assert_eq(tokens[0].count, 2);
	cr_assert_eq(tokens[2].type, JSON_ARRAY);
	cr_assert_eq(tokens[2].count, 2);
	cr_assert_eq(tokens[2].size, 5);
	cr_assert_eq(tokens[4].type, JSON_OBJECT);
	cr_assert_eq(tokens[4].size, 3);
	/* a string's bytes are those between its quotes; a container's include its brackets */
	cr_assert_eq(tokens[8].len, 1);
	cr_assert_eq(s[tokens[8].start], 'd');
	cr_assert_eq(tokens[2].len, strlen("[1,{\"b\":2}]"));
	cr_assert_eq(tokens[0].len, strlen(s));
}

Test(json, white_space_around_and_between_tokens)
{
	cr_assert_gt(parse(" \t\r\n{ \"a\" :\r\n [ 1 , 2 ] , \"b\"\t:\"c\" }\n "), 0);
	cr_assert_eq(tokens[0].count, 2);
}

Test(json, numbers_of_rfc8259_grammar)
{
	static const char *const ok[] = { "0",   "-0",     "7",       "-12",   "1.5",
					  "0.0", "1e5",    "1E+5",    "1e-05", "-12.5e-3",
					  "0e0", "123456", "1.25E10", NULL };
	expect_values(ok, 1);
}

Test(json, literals)
{
	static const char *const ok[] = { "true", "false", "null", NULL };
	expect_values(ok, 1);
}

Test(json, every_escape_is_unescaped)
{
	cr_assert_gt(parse("{\"e\":\"\\\"\\\\\\/\\b\\f\\n\\r\\t\\u0041\\u00e9\\u20ac\"}"), 0);
	char out[32];
	cr_assert_eq(json_get_string(&doc, 0, "e", out, sizeof(out)), 14);
	cr_assert_str_eq(out, "\"\\/\b\f\n\r\tA\xc3\xa9\xe2\x82\xac");
}

Test(json, surrogate_pair_becomes_one_four_byte_character)
{
	cr_assert_gt(parse("{\"e\":\"\\ud83d\\ude00!\"}"), 0);
	char out[8];
	cr_assert_eq(json_get_string(&doc, 0, "e", out, sizeof(out)), 5);
	cr_assert_str_eq(out, "\xf0\x9f\x98\x80!");
}

Test(json, utf8_of_every_length_is_kept)
{
	cr_assert_gt(parse("{\"e\":\"a\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\xf4\x8f\xbf\xbf\"}"), 0);
	char out[32];
	cr_assert_eq(json_get_string(&doc, 0, "e", out, sizeof(out)), 14);
	cr_assert_str_eq(out, "a\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\xf4\x8f\xbf\xbf");
}

Test(json, delete_character_need_not_be_escaped)
{
	cr_assert_gt(parse("{\"e\":\"\x7f\"}"), 0);
}

/* ---- refused ------------------------------------------------------------------------------- */

Test(json, top_level_that_is_not_an_object_is_refused)
{
	static const char *const texts[] = { "[]", "[{}]", "\"s\"", "1", "true", "null", NULL };
	expect_all(texts, JSON_ERR_NOT_OBJECT);
}

Test(json, empty_or_blank_text_is_refused)
{
	static const char *const texts[] = { "", " ", "\r\n", NULL };
	expect_all(texts, JSON_ERR_SYNTAX);
}

Test(json, bytes_after_the_object_are_refused)
{
	static const char *const texts[] = { "{}x", "{}{}", "{} ,", NULL };
	expect_all(texts, JSON_ERR_SYNTAX);
	cr_assert_eq(json_parse(&doc, "{}\0", 3, tokens, CAP), JSON_ERR_SYNTAX);
}

Test(json, byte_order_mark_is_refused)
{
	cr_assert_eq(parse("\xef\xbb\xbf{}"), JSON_ERR_SYNTAX);
}

Test(json, broken_objects_are_refused)
{
	static const char *const texts[] = {
		"{",          "}",          "{\"a\"}", "{\"a\":}", "{\"a\":1,}",
		"{,}",        "{\"a\" 1}",  "{a:1}",   "{'a':1}",  "{\"a\":1 \"b\":2}",
		"{\"a\":1}}", "{\"a\"::1}", "{1:1}",   "{\"a\":1", "{\"a\":",
		"{\"a",       NULL,
	};
	expect_all(texts, JSON_ERR_SYNTAX);
}

Test(json, broken_arrays_are_refused)
{
	static const char *const values[] = { "[1,]", "[,1]", "[1 2]", "[", "[1",
					      "[1,",  "[]]",  "[}",    NULL };
	expect_values(values, 0);
}

Test(json, broken_literals_are_refused)
{
	static const char *const values[] = { "tru", "True", "nul", "NULL",     "falsey",
					      "t",   "nan",  "NaN", "Infinity", NULL };
	expect_values(values, 0);
}

Test(json, numbers_outside_the_grammar_are_refused)
{
	static const char *const values[] = { "01",   "-01",  "+1",    ".5",  "1.",
					      "1.e5", "1e",   "1e+",   "-",   "--1",
					      "0x10", "1ee5", "1e5.0", "- 1", NULL };
	expect_values(values, 0);
}

Test(json, bad_escapes_are_refused)
{
	static const char *const values[] = { "\"\\x\"",     "\"\\'\"", "\"\\u12\"", "\"\\u12G4\"",
					      "\"\\U0041\"", "\"\\\"",  "\"\\ \"",   NULL };
	expect_values(values, 0);
}

Test(json, raw_control_characters_in_strings_are_refused)
{
	static const char *const values[] = { "\"a\tb\"", "\"a\nb\"", "\"\x01\"", "\"\x1f\"",
					      NULL };
	expect_values(values, 0);
	char nul[] = "{\"v\":\"a\0\"}";
	cr_assert_eq(json_parse(&doc, nul, sizeof(nul) - 1, tokens, CAP), JSON_ERR_SYNTAX);
}

Test(json, unterminated_string_is_refused)
{
	static const char *const texts[] = { "{\"a\":\"b}", "{\"a\":\"b\\\"}", "{\"a", NULL };
	expect_all(texts, JSON_ERR_SYNTAX);
}

Test(json, lone_or_misordered_surrogates_are_refused)
{
	static const char *const values[] = {
		"\"\\ud83d\"",        /* high alone */
		"\"\\ud83dx\"",       /* high, then a character */
		"\"\\ud83d\\u0041\"", /* high, then not a low */
		"\"\\ud83d\\ud83d\"", /* high, high */
		"\"\\ude00\"",        /* low alone */
		"\"\\ude00\\ud83d\"", /* low before high */
		"\"\\ud83d\\n\"",     /* high, then another escape */
		NULL,
	};
	expect_values(values, 0);
}

Test(json, malformed_utf8_is_refused)
{
	static const char *const values[] = {
		"\"\x80\"",             /* a continuation byte alone */
		"\"\xc3\"",             /* a lead byte cut short by the quote */
		"\"\xc3x\"",            /* a lead byte, then not a continuation */
		"\"\xc0\x80\"",         /* overlong NUL */
		"\"\xc1\xbf\"",         /* overlong */
		"\"\xe0\x80\x80\"",     /* overlong, three bytes */
		"\"\xe0\x9f\xbf\"",     /* overlong, three bytes, the largest */
		"\"\xed\xa0\x80\"",     /* U+D800, a surrogate */
		"\"\xed\xbf\xbf\"",     /* U+DFFF */
		"\"\xf0\x8f\xbf\xbf\"", /* overlong, four bytes */
		"\"\xf4\x90\x80\x80\"", /* U+110000 */
		"\"\xf5\x80\x80\x80\"", /* lead byte past U+10FFFF */
		"\"\xfe\"",             /* never in UTF-8 */
		"\"\xff\"",
		"\"\xe2\x82\"", /* three-byte character cut short */
		NULL,
	};
	expect_values(values, 0);
	/* and cut short by the end of the text */
	const char cut[] = "{\"v\":\"\xf0\x9f\x98";
	cr_assert_eq(json_parse(&doc, cut, sizeof(cut) - 1, tokens, CAP), JSON_ERR_SYNTAX);
}

/* {"a": then depth - 1 arrays nested, then closed. */
static int parse_nested(int depth)
{
	char s[128];
	size_t n = 0;
	n += (size_t)snprintf(s, sizeof(s), "{\"a\":");
	for (int i = 1; i < depth; i++)
		s[n++] = '[';
	for (int i = 1; i < depth; i++)
		s[n++] = ']';
	s[n++] = '}';
	s[n] = '\0';
	return parse(s);
}

Test(json, nesting_to_the_depth_limit_is_accepted_one_more_refused)
{
	cr_assert_gt(parse_nested(JSON_DEPTH_MAX), 0);
	cr_assert_eq(parse_nested(JSON_DEPTH_MAX + 1), JSON_ERR_DEPTH);
	cr_assert_gt(parse("{\"a\":{\"b\":{\"c\":{}}}}"), 0);
}

Test(json, more_values_than_tokens_is_refused)
{
	const char *s = "{\"a\":[1,2,3]}"; /* 6 tokens */
	cr_assert_eq(json_parse(&doc, s, strlen(s), tokens, 6), 6);
	cr_assert_eq(json_parse(&doc, s, strlen(s), tokens, 5), JSON_ERR_TOKENS);
	cr_assert_eq(json_parse(&doc, s, strlen(s), tokens, 0), JSON_ERR_TOKENS);
}

Test(json, text_longer_than_the_limit_is_refused)
{
	static char big[JSON_TEXT_MAX + 1];
	memset(big, ' ', sizeof(big));
	big[0] = '{';
	big[1] = '}';
	cr_assert_eq(json_parse(&doc, big, JSON_TEXT_MAX, tokens, CAP), 1);
	cr_assert_eq(json_parse(&doc, big, JSON_TEXT_MAX + 1, tokens, CAP), JSON_ERR_TOO_LONG);
}

Test(json, duplicate_names_are_refused)
{
	cr_assert_eq(parse("{\"a\":1,\"a\":2}"), JSON_ERR_DUPLICATE);
	cr_assert_eq(parse("{\"a\":1,\"b\":{\"x\":[1,2]},\"a\":{}}"), JSON_ERR_DUPLICATE);
	cr_assert_eq(parse("{\"o\":{\"x\":1,\"x\":2}}"), JSON_ERR_DUPLICATE);
}

Test(json, duplicate_names_are_compared_unescaped)
{
	cr_assert_eq(parse("{\"a\":1,\"\\u0061\":2}"), JSON_ERR_DUPLICATE);
	cr_assert_eq(parse("{\"\xc3\xa9\":1,\"\\u00e9\":2}"), JSON_ERR_DUPLICATE);
	cr_assert_eq(parse("{\"\\/\":1,\"/\":2}"), JSON_ERR_DUPLICATE);
}

Test(json, same_name_in_different_objects_is_not_a_duplicate)
{
	cr_assert_gt(parse("{\"a\":{\"a\":1},\"b\":[{\"a\":2},{\"a\":3}]}"), 0);
	cr_assert_gt(parse("{\"a\":1,\"ab\":2,\"\":3}"), 0);
}

/* ---- lookups ------------------------------------------------------------------------------ */

Test(json, find_gives_the_value_token)
{
	cr_assert_gt(parse("{\"a\":1,\"b\":\"x\"}"), 0);
	cr_assert_eq(json_find(&doc, 0, "a"), 2);
	cr_assert_eq(json_find(&doc, 0, "b"), 4);
	cr_assert_eq(json_find(&doc, 0, "c"), JSON_ABSENT);
	cr_assert_eq(json_find(&doc, 0, ""), JSON_ABSENT);
}

Test(json, find_matches_escaped_names)
{
	cr_assert_gt(parse("{\"\\u0061lg\":\"HS256\",\"\\u00e9\":1}"), 0);
	cr_assert_eq(json_find(&doc, 0, "alg"), 2);
	cr_assert_eq(json_find(&doc, 0, "\xc3\xa9"), 4);
	cr_assert_eq(json_find(&doc, 0, "al"), JSON_ABSENT);
	cr_assert_eq(json_find(&doc, 0, "algo"), JSON_ABSENT);
}

Test(json, find_skips_members_of_nested_values)
{
	cr_assert_gt(parse("{\"o\":{\"k\":1},\"a\":[{\"k\":2}],\"z\":3}"), 0);
	cr_assert_eq(json_find(&doc, 0, "k"), JSON_ABSENT);
	int z = json_find(&doc, 0, "z");
	cr_assert_geq(z, 0);
	cr_assert_eq(doc.text[tokens[z].start], '3');
	int o = json_find(&doc, 0, "o");
	cr_assert_geq(json_find(&doc, (size_t)o, "k"), 0);
}

Test(json, find_in_what_is_not_an_object_is_a_type_error)
{
	cr_assert_gt(parse("{\"a\":[1]}"), 0);
	cr_assert_eq(json_find(&doc, 2, "x"), JSON_ERR_TYPE);
	cr_assert_eq(json_find(&doc, 99, "x"), JSON_ERR_TYPE);
}

Test(json, get_string_fits_exactly_or_is_out_of_range)
{
	cr_assert_gt(parse("{\"s\":\"abcd\",\"e\":\"\"}"), 0);
	char out[5];
	cr_assert_eq(json_get_string(&doc, 0, "s", out, 5), 4);
	cr_assert_str_eq(out, "abcd");
	cr_assert_eq(json_get_string(&doc, 0, "s", out, 4), JSON_ERR_RANGE);
	cr_assert_eq(json_get_string(&doc, 0, "e", out, 1), 0);
	cr_assert_str_eq(out, "");
	cr_assert_eq(json_get_string(&doc, 0, "e", out, 0), JSON_ERR_RANGE);
}

Test(json, get_string_of_another_type_or_absent)
{
	cr_assert_gt(parse("{\"n\":1,\"t\":true,\"z\":null,\"a\":[\"x\"]}"), 0);
	char out[8];
	cr_assert_eq(json_get_string(&doc, 0, "n", out, sizeof(out)), JSON_ERR_TYPE);
	cr_assert_eq(json_get_string(&doc, 0, "t", out, sizeof(out)), JSON_ERR_TYPE);
	cr_assert_eq(json_get_string(&doc, 0, "z", out, sizeof(out)), JSON_ERR_TYPE);
	cr_assert_eq(json_get_string(&doc, 0, "a", out, sizeof(out)), JSON_ERR_TYPE);
	cr_assert_eq(json_get_string(&doc, 0, "x", out, sizeof(out)), JSON_ABSENT);
}

Test(json, get_string_with_an_escaped_nul_is_a_type_error)
{
	cr_assert_gt(parse("{\"s\":\"ab\\u0000cd\"}"), 0);
	char out[8];
	cr_assert_eq(json_get_string(&doc, 0, "s", out, sizeof(out)), JSON_ERR_TYPE);
}

/* json_get_int on {"v":value}. */
static int get_int(const char *value, int64_t *out)
{
	cr_assert_gt(parse_value(value), 0, "%s", value);
	return json_get_int(&doc, 0, "v", out);
}

static void expect_int(const char *value, int64_t want)
{
	int64_t got = 12345;
	cr_expect_eq(get_int(value, &got), 0, "%s", value);
	cr_expect_eq(got, want, "%s: %lld", value, (long long)got);
}

Test(json, get_int_reads_integers)
{
	expect_int("1300819380", 1300819380);
	expect_int("0", 0);
	expect_int("-0", 0);
	expect_int("-5", -5);
	expect_int("9223372036854775807", INT64_MAX);
	expect_int("-9223372036854775808", INT64_MIN);
}

Test(json, get_int_rounds_fractions_down)
{
	expect_int("1.9", 1);
	expect_int("1300819380.75", 1300819380);
	expect_int("2.0", 2);
	expect_int("0.5", 0);
	expect_int("-0.5", -1);
	expect_int("-1.5", -2);
	expect_int("-2.000", -2);
	expect_int("-0.0", 0);
}

Test(json, get_int_applies_the_exponent)
{
	expect_int("1e3", 1000);
	expect_int("1.5e1", 15);
	expect_int("1.3008193800E9", 1300819380);
	expect_int("15e-1", 1);
	expect_int("-15e-1", -2);
	expect_int("0e999999999", 0);
	expect_int("1e-999999999", 0);
	expect_int("-1e-999999999", -1);
	expect_int("92233720368547758070e-1", INT64_MAX);
	expect_int("0.00000000000000000000000000000000000000000000000000000001e56", 1);
}

Test(json, get_int_out_of_int64_is_a_range_error)
{
	static const char *const values[] = { "9223372036854775808",
					      "-9223372036854775809",
					      "-9223372036854775808.5",
					      "1e19",
					      "1e999999999",
					      "99999999999999999999999999",
					      NULL };
	for (size_t i = 0; values[i] != NULL; i++) {
		int64_t v;
		cr_expect_eq(get_int(values[i], &v), JSON_ERR_RANGE, "%s", values[i]);
	}
}

Test(json, get_int_of_another_type_or_absent)
{
	cr_assert_gt(parse("{\"s\":\"1\",\"t\":true,\"a\":[1]}"), 0);
	int64_t v;
	cr_assert_eq(json_get_int(&doc, 0, "s", &v), JSON_ERR_TYPE);
	cr_assert_eq(json_get_int(&doc, 0, "t", &v), JSON_ERR_TYPE);
	cr_assert_eq(json_get_int(&doc, 0, "a", &v), JSON_ERR_TYPE);
	cr_assert_eq(json_get_int(&doc, 0, "x", &v), JSON_ABSENT);
}

Test(json, get_string_array_copies_each_string)
{
	cr_assert_gt(parse("{\"r\":[\"lobby\",\"d\\u00e9v\",\"\"]}"), 0);
	char out[4][8];
	memset(out, 'x', sizeof(out));
	cr_assert_eq(json_get_string_array(&doc, 0, "r", &out[0][0], 8, 4), 3);
	cr_assert_str_eq(out[0], "lobby");
	cr_assert_str_eq(out[1], "d\xc3\xa9v");
	cr_assert_str_eq(out[2], "");
}

Test(json, get_string_array_empty_array_is_zero_items)
{
	cr_assert_gt(parse("{\"r\":[]}"), 0);
	char out[1][8];
	cr_assert_eq(json_get_string_array(&doc, 0, "r", &out[0][0], 8, 1), 0);
}

Test(json, get_string_array_refuses_other_types_and_elements)
{
	char out[4][8];
	cr_assert_gt(parse("{\"s\":\"lobby\",\"n\":[\"a\",1],\"o\":[{}],\"a\":[[\"a\"]]}"), 0);
	cr_assert_eq(json_get_string_array(&doc, 0, "s", &out[0][0], 8, 4), JSON_ERR_TYPE);
	cr_assert_eq(json_get_string_array(&doc, 0, "n", &out[0][0], 8, 4), JSON_ERR_TYPE);
	cr_assert_eq(json_get_string_array(&doc, 0, "o", &out[0][0], 8, 4), JSON_ERR_TYPE);
	cr_assert_eq(json_get_string_array(&doc, 0, "a", &out[0][0], 8, 4), JSON_ERR_TYPE);
	cr_assert_eq(json_get_string_array(&doc, 0, "x", &out[0][0], 8, 4), JSON_ABSENT);
}

Test(json, get_string_array_bounds_count_and_length)
{
	char out[2][4];
	cr_assert_gt(parse("{\"three\":[\"a\",\"b\",\"c\"],\"long\":[\"abcd\"],\"fit\":[\"abc\"]}"),
		     0);
	cr_assert_eq(json_get_string_array(&doc, 0, "three", &out[0][0], 4, 2), JSON_ERR_RANGE);
	cr_assert_eq(json_get_string_array(&doc, 0, "long", &out[0][0], 4, 2), JSON_ERR_RANGE);
	cr_assert_eq(json_get_string_array(&doc, 0, "fit", &out[0][0], 4, 2), 1);
	cr_assert_str_eq(out[0], "abc");
}
