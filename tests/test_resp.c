/*
 * test_resp.c - the Redis protocol module: the examples of the RESP2 specification (redis.io,
 * "Redis serialization protocol specification") and of the RESP3 specification (antirez/RESP3,
 * spec.md) as vectors, each read whole, a byte at a time and split in two at every position;
 * pipelined replies; attributes; every limit; malformed input; the node array running out;
 * the command writer's exact bytes; pub/sub messages recognised.
 */
#include "common.h"
#include "resp.h"

#include <criterion/criterion.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NODES 64

/* ---- helpers ----------------------------------------------------------------------------------- */

struct dump {
	char s[2048];
	size_t n;
};

static void put(struct dump *d, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put(struct dump *d, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int k = vsnprintf(d->s + d->n, sizeof(d->s) - d->n, fmt, ap);
	va_end(ap);
	cr_assert(k >= 0 && (size_t)k < sizeof(d->s) - d->n, "dump too long");
	d->n += (size_t)k;
}

static void put_quoted(struct dump *d, const char *p, size_t n)
{
	put(d, "\"");
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)p[i];
		if (c >= 0x20 && c < 0x7f && c != '"' && c != '\\')
			put(d, "%c", c);
		else
			put(d, "\\x%02x", c);
	}
	put(d, "\"");
}

/* Writes node n and its subtree; returns the node after the subtree. */
/* NOLINTNEXTLINE(misc-no-recursion): as deep as the reply, which the depth limit bounds */
static const struct resp_node *dump_node(struct dump *d, const struct resp_node *n)
{
	static const char open[] = {
		[RESP_ARRAY] = '[', [RESP_MAP] = '{', [RESP_SET] = '(', [RESP_PUSH] = '<'
	};
	static const char close[] = {
		[RESP_ARRAY] = ']', [RESP_MAP] = '}', [RESP_SET] = ')', [RESP_PUSH] = '>'
	};
	switch (n->type) {
	case RESP_SIMPLE:
		put(d, "+");
		put_quoted(d, n->str, n->len);
		break;
	case RESP_ERROR:
		put(d, "-");
		put_quoted(d, n->str, n->len);
		break;
	case RESP_BULK:
		put_quoted(d, n->str, n->len);
		break;
	case RESP_BULK_ERROR:
		put(d, "!");
		put_quoted(d, n->str, n->len);
		break;
	case RESP_VERBATIM:
		put(d, "=%s:", n->format);
		put_quoted(d, n->str, n->len);
		break;
	case RESP_INTEGER:
		put(d, "%lld", (long long)n->integer);
		break;
	case RESP_NULL:
		put(d, "null");
		break;
	case RESP_BOOL:
		put(d, n->integer ? "true" : "false");
		break;
	case RESP_DOUBLE:
		put(d, ",%.*s", (int)n->len, n->str);
		break;
	case RESP_BIG_NUMBER:
		put(d, "(%.*s", (int)n->len, n->str);
		break;
	default: {
		put(d, "%c", open[n->type]);
		const struct resp_node *c = n + 1;
		for (uint32_t i = 0; i < n->n; i++) {
			if (i > 0)
				put(d, " ");
			const struct resp_node *after = dump_node(d, c);
			cr_assert_eq(after, resp_next(c), "subtree size");
			c = after;
		}
		cr_assert_eq(c, n + n->size, "aggregate size");
		put(d, "%c", close[n->type]);
	}
	}
	return n + n->size;
}

static const char *dump_tree(struct dump *d, const struct resp_parser *p)
{
	d->n = 0;
	d->s[0] = '\0';
	const struct resp_node *end = dump_node(d, p->nodes);
	cr_assert_eq(end, p->nodes + p->reply_nodes, "the root's subtree is the whole reply");
	return d->s;
}

static struct resp_parser parser_with(struct resp_node *nodes, uint32_t cap,
				      const struct resp_limits *lim)
{
	struct resp_parser p;
	cr_assert_eq(resp_parser_init(&p, nodes, cap, lim), 0);
	return p;
}

/* The bytes of a vector in a buffer of exactly n bytes (ASan sees any read past it). */
static char *exact_copy(const char *s, size_t n)
{
	char *b = malloc(n ? n : 1);
	cr_assert_not_null(b);
	memcpy(b, s, n);
	return b;
}

/* Reads s[0..n) whole; asserts it is one complete reply; returns its dump. */
static const char *read_whole(struct dump *d, const char *s, size_t n)
{
	static struct resp_node nodes[NODES];
	struct resp_parser p = parser_with(nodes, NODES, NULL);
	char *b = exact_copy(s, n);
	ssize_t r = resp_parse(&p, b, n);
	cr_assert_eq(r, (ssize_t)n, "whole %.*s: %zd", (int)n, s, r);
	dump_tree(d, &p);
	free(b);
	return d->s;
}

/* Feeds s[0..n) one byte more at a time, each time from a new buffer (the bytes move):
 * PARSE_AGAIN until the last byte, then the reply, whose dump must be `want`. */
static void read_bytewise(const char *s, size_t n, const char *want)
{
	struct resp_node nodes[NODES];
	struct resp_parser p = parser_with(nodes, NODES, NULL);
	for (size_t k = 1; k <= n; k++) {
		char *b = exact_copy(s, k);
		ssize_t r = resp_parse(&p, b, k);
		if (k < n) {
			cr_assert_eq(r, PARSE_AGAIN, "%.*s: prefix of %zu bytes gave %zd", (int)n,
				     s, k, r);
		} else {
			struct dump d;
			cr_assert_eq(r, (ssize_t)n);
			cr_assert_str_eq(dump_tree(&d, &p), want);
		}
		free(b);
	}
}

/* Feeds s[0..k), then s[0..n): the same tree as whole, for every k. */
static void read_split(const char *s, size_t n, const char *want)
{
	for (size_t k = 1; k < n; k++) {
		struct resp_node nodes[NODES];
		struct resp_parser p = parser_with(nodes, NODES, NULL);
		char *a = exact_copy(s, k);
		cr_assert_eq(resp_parse(&p, a, k), PARSE_AGAIN);
		free(a);
		char *b = exact_copy(s, n);
		struct dump d;
		cr_assert_eq(resp_parse(&p, b, n), (ssize_t)n);
		cr_assert_str_eq(dump_tree(&d, &p), want, "split at %zu", k);
		free(b);
	}
}

/* What a malformed input gives: PARSE_ERROR whole; a byte at a time, PARSE_AGAIN then
 * PARSE_ERROR, never a reply. */
static void expect_malformed(const char *s, size_t n, const struct resp_limits *lim)
{
	struct resp_node nodes[NODES];
	struct resp_parser p = parser_with(nodes, NODES, lim);
	char *b = exact_copy(s, n);
	cr_assert_eq(resp_parse(&p, b, n), PARSE_ERROR, "whole: %.*s", (int)n, s);
	free(b);
	p = parser_with(nodes, NODES, lim);
	ssize_t r = PARSE_AGAIN;
	for (size_t k = 1; k <= n && r == PARSE_AGAIN; k++) {
		b = exact_copy(s, k);
		r = resp_parse(&p, b, k);
		free(b);
	}
	cr_assert_eq(r, PARSE_ERROR, "bytewise: %.*s gave %zd", (int)n, s, r);
}

#define MALFORMED(lit)           expect_malformed(lit, sizeof(lit) - 1, NULL)
#define MALFORMED_WITH(lit, lim) expect_malformed(lit, sizeof(lit) - 1, lim)

struct vector {
	const char *wire;
	size_t len;
	const char *tree;
};

#define V(wire, tree)                        \
	{                                    \
		wire, sizeof(wire) - 1, tree \
	}

/* RESP2, redis.io: every example of the simple and aggregate types. */
static const struct vector resp2[] = {
	V("+OK\r\n", "+\"OK\""),
	V("-Error message\r\n", "-\"Error message\""),
	V("-ERR unknown command 'asdf'\r\n", "-\"ERR unknown command 'asdf'\""),
	V("-WRONGTYPE Operation against a key holding the wrong kind of value\r\n",
	  "-\"WRONGTYPE Operation against a key holding the wrong kind of value\""),
	V(":0\r\n", "0"),
	V(":1000\r\n", "1000"),
	V(":-1000\r\n", "-1000"),
	V(":+1000\r\n", "1000"),
	V("$5\r\nhello\r\n", "\"hello\""),
	V("$0\r\n\r\n", "\"\""),
	V("$-1\r\n", "null"),
	V("*0\r\n", "[]"),
	V("*2\r\n$5\r\nhello\r\n$5\r\nworld\r\n", "[\"hello\" \"world\"]"),
	V("*3\r\n:1\r\n:2\r\n:3\r\n", "[1 2 3]"),
	V("*5\r\n:1\r\n:2\r\n:3\r\n:4\r\n$5\r\nhello\r\n", "[1 2 3 4 \"hello\"]"),
	V("*2\r\n*3\r\n:1\r\n:2\r\n:3\r\n*2\r\n+Hello\r\n-World\r\n",
	  "[[1 2 3] [+\"Hello\" -\"World\"]]"),
	V("*-1\r\n", "null"),
	V("*3\r\n$5\r\nhello\r\n$-1\r\n$5\r\nworld\r\n", "[\"hello\" null \"world\"]"),
};

/* RESP3, antirez/RESP3 spec.md (its blob string example counts 11 bytes for "helloworld": the
 * space it lost is put back), with the RESP3 types of redis.io (nan, exponents). */
static const struct vector resp3[] = {
	V("$11\r\nhello world\r\n", "\"hello world\""),
	V("+hello world\r\n", "+\"hello world\""),
	V("-ERR this is the error description\r\n", "-\"ERR this is the error description\""),
	V(":1234\r\n", "1234"),
	V("_\r\n", "null"),
	V(",1.23\r\n", ",1.23"),
	V(":10\r\n", "10"),
	V(",10\r\n", ",10"),
	V(",inf\r\n", ",inf"),
	V(",-inf\r\n", ",-inf"),
	V(",nan\r\n", ",nan"),
	V(",1.5e-3\r\n", ",1.5e-3"),
	V(",-2E+10\r\n", ",-2E+10"),
	V("#t\r\n", "true"),
	V("#f\r\n", "false"),
	V("!21\r\nSYNTAX invalid syntax\r\n", "!\"SYNTAX invalid syntax\""),
	V("=15\r\ntxt:Some string\r\n", "=txt:\"Some string\""),
	V("(3492890328409238509324850943850943825024385\r\n",
	  "(3492890328409238509324850943850943825024385"),
	V("(-3492890328409238509324850943850943825024385\r\n",
	  "(-3492890328409238509324850943850943825024385"),
	V("*2\r\n*3\r\n:1\r\n$5\r\nhello\r\n:2\r\n#f\r\n", "[[1 \"hello\" 2] false]"),
	V("%2\r\n+first\r\n:1\r\n+second\r\n:2\r\n", "{+\"first\" 1 +\"second\" 2}"),
	V("~5\r\n+orange\r\n+apple\r\n#t\r\n:100\r\n:999\r\n",
	  "(+\"orange\" +\"apple\" true 100 999)"),
	V("|1\r\n+key-popularity\r\n%2\r\n$1\r\na\r\n,0.1923\r\n$1\r\nb\r\n,0.0012\r\n"
	  "*2\r\n:2039123\r\n:9543892\r\n",
	  "[2039123 9543892]"),
	V("*3\r\n:1\r\n:2\r\n|1\r\n+ttl\r\n:3600\r\n:3\r\n", "[1 2 3]"),
	V(">4\r\n+pubsub\r\n+message\r\n+somechannel\r\n+this is the message\r\n",
	  "<+\"pubsub\" +\"message\" +\"somechannel\" +\"this is the message\">"),
	V("$9\r\nGet-Reply\r\n", "\"Get-Reply\""),
	V("-NOPROTO sorry this protocol version is not supported\r\n",
	  "-\"NOPROTO sorry this protocol version is not supported\""),
	V("-ERR unknown command 'HELLO'\r\n", "-\"ERR unknown command 'HELLO'\""),
	V("-ERR invalid password\r\n", "-\"ERR invalid password\""),
};

static void check_vectors(const struct vector *v, size_t count,
			  void (*check)(const char *, size_t, const char *))
{
	for (size_t i = 0; i < count; i++)
		check(v[i].wire, v[i].len, v[i].tree);
}

static void check_whole(const char *wire, size_t n, const char *tree)
{
	struct dump d;
	cr_assert_str_eq(read_whole(&d, wire, n), tree, "%s", wire);
}

/* ---- the specifications' examples ------------------------------------------------------------ */

Test(resp, resp2_spec_examples_read_whole)
{
	check_vectors(resp2, ARRAY_LEN(resp2), check_whole);
}

Test(resp, resp3_spec_examples_read_whole)
{
	check_vectors(resp3, ARRAY_LEN(resp3), check_whole);
}

Test(resp, every_proper_prefix_of_every_example_needs_more)
{
	check_vectors(resp2, ARRAY_LEN(resp2), read_bytewise);
	check_vectors(resp3, ARRAY_LEN(resp3), read_bytewise);
}

Test(resp, split_in_two_anywhere_gives_the_same_tree)
{
	check_vectors(resp2, ARRAY_LEN(resp2), read_split);
	check_vectors(resp3, ARRAY_LEN(resp3), read_split);
}

/* A parser that read the reply again from its start at every call would take minutes here
 * (100,000 elements times 400,000 calls; a 1 MiB line searched 1,048,576 times). */
Test(resp, resuming_does_not_read_again_what_was_read, .timeout = 20)
{
	size_t count = 100000, n = 0;
	char *wire = malloc(16 + 4 * count);
	cr_assert_not_null(wire);
	n += (size_t)snprintf(wire, 16, "*%zu\r\n", count);
	static const char element[4] = { ':', '1', '\r', '\n' };
	for (size_t i = 0; i < count; i++, n += sizeof(element))
		memcpy(wire + n, element, sizeof(element));
	struct resp_node nodes[4];
	struct resp_parser p = parser_with(nodes, 4, NULL);
	for (size_t k = 1; k < n; k++)
		cr_assert_eq(resp_parse(&p, wire, k), PARSE_AGAIN);
	cr_assert_eq(resp_parse(&p, wire, n), RESP_TOO_BIG); /* counted, not stored */
	cr_assert_eq(p.reply_nodes, count + 1);
	cr_assert_eq(p.reply_len, n);
	free(wire);

	n = (1u << 20) + 3;
	wire = malloc(n);
	cr_assert_not_null(wire);
	memset(wire, 'x', n);
	wire[0] = '+';
	wire[n - 2] = '\r';
	wire[n - 1] = '\n';
	for (size_t k = 1; k < n; k++)
		cr_assert_eq(resp_parse(&p, wire, k), PARSE_AGAIN);
	cr_assert_eq(resp_parse(&p, wire, n), (ssize_t)n);
	cr_assert_eq(nodes[0].len, 1u << 20);
	free(wire);
}

Test(resp, binary_bulk_string_keeps_nul_and_crlf)
{
	static const char wire[] = "$6\r\na\0b\r\nc\r\n";
	struct dump d;
	cr_assert_str_eq(read_whole(&d, wire, sizeof(wire) - 1), "\"a\\x00b\\x0d\\x0ac\"");
}

Test(resp, strings_point_into_the_buffer)
{
	static const char wire[] = "*2\r\n$5\r\nhello\r\n+OK\r\n";
	struct resp_node nodes[4];
	struct resp_parser p = parser_with(nodes, 4, NULL);
	cr_assert_eq(resp_parse(&p, wire, sizeof(wire) - 1), (ssize_t)sizeof(wire) - 1);
	cr_assert_eq(nodes[1].str, wire + 8);
	cr_assert_eq(nodes[2].str, wire + 16);
	cr_assert_eq(p.reply_nodes, 3);
}

Test(resp, pipelined_replies_come_one_at_a_time)
{
#define PUSH ">4\r\n+pubsub\r\n+message\r\n+somechannel\r\n+this is the message\r\n"
#define GET  "$9\r\nGet-Reply\r\n"
	static const char wire[] = PUSH GET ":7";
	size_t n = sizeof(wire) - 1, at = 0;
	struct resp_node nodes[8];
	struct resp_parser p = parser_with(nodes, 8, NULL);
	struct dump d;
	ssize_t r = resp_parse(&p, wire, n);
	cr_assert_eq(r, (ssize_t)sizeof(PUSH) - 1);
	cr_assert_eq(nodes[0].type, RESP_PUSH);
	at += (size_t)r;
	r = resp_parse(&p, wire + at, n - at);
	cr_assert_eq(r, (ssize_t)sizeof(GET) - 1);
	cr_assert_str_eq(dump_tree(&d, &p), "\"Get-Reply\"");
	at += (size_t)r;
	cr_assert_eq(resp_parse(&p, wire + at, n - at), PARSE_AGAIN);
#undef PUSH
#undef GET
}

Test(resp, integers_span_int64)
{
	struct dump d;
	cr_assert_str_eq(read_whole(&d, ":9223372036854775807\r\n", 22), "9223372036854775807");
	cr_assert_str_eq(read_whole(&d, ":-9223372036854775808\r\n", 23), "-9223372036854775808");
	cr_assert_str_eq(read_whole(&d, ":0000000000000000007\r\n", 22), "7");
}

Test(resp, doubles_have_their_value)
{
	static const struct {
		const char *wire;
		double want;
	} cases[] = {
		{ ",1.23\r\n", 1.23 },    { ",10\r\n", 10.0 },      { ",-0.5\r\n", -0.5 },
		{ ",1e+300\r\n", 1e300 }, { ",inf\r\n", INFINITY }, { ",-inf\r\n", -INFINITY }
	};
	struct resp_node nodes[1];
	for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
		struct resp_parser p = parser_with(nodes, 1, NULL);
		size_t n = strlen(cases[i].wire);
		cr_assert_eq(resp_parse(&p, cases[i].wire, n), (ssize_t)n);
		cr_assert_eq(nodes[0].type, RESP_DOUBLE);
		cr_assert(nodes[0].dbl == cases[i].want, "%s", cases[i].wire);
	}
	struct resp_parser p = parser_with(nodes, 1, NULL);
	cr_assert_eq(resp_parse(&p, ",nan\r\n", 6), 6);
	cr_assert(isnan(nodes[0].dbl));
}

Test(resp, attribute_at_the_top_annotates_the_reply_and_is_left_out)
{
	/* an empty attribute, then two in a row, before a scalar */
	static const char wire[] = "|0\r\n|1\r\n+a\r\n:1\r\n|1\r\n+b\r\n*1\r\n:2\r\n#t\r\n";
	struct dump d;
	cr_assert_str_eq(read_whole(&d, wire, sizeof(wire) - 1), "true");
	read_bytewise(wire, sizeof(wire) - 1, "true");
}

Test(resp, attribute_needing_more_nodes_than_the_array_is_not_too_big)
{
	static const char wire[] = "|1\r\n+key\r\n*4\r\n:1\r\n:2\r\n:3\r\n:4\r\n:5\r\n";
	struct resp_node nodes[2];
	struct resp_parser p = parser_with(nodes, 2, NULL);
	cr_assert_eq(resp_parse(&p, wire, sizeof(wire) - 1), (ssize_t)sizeof(wire) - 1);
	cr_assert_eq(p.reply_nodes, 1);
	cr_assert_eq(nodes[0].integer, 5);
}

Test(resp, tree_is_walked_with_child_and_next)
{
	static const char wire[] = "%2\r\n+a\r\n*2\r\n:1\r\n:2\r\n+b\r\n:3\r\n";
	struct resp_node nodes[8];
	struct resp_parser p = parser_with(nodes, 8, NULL);
	cr_assert_eq(resp_parse(&p, wire, sizeof(wire) - 1), (ssize_t)sizeof(wire) - 1);
	cr_assert_eq(nodes[0].n, 4);
	cr_assert(resp_is(resp_child(&nodes[0], 0), "a"));
	cr_assert_eq(resp_child(&nodes[0], 1)->type, RESP_ARRAY);
	cr_assert(resp_is(resp_child(&nodes[0], 2), "b"));
	cr_assert_eq(resp_child(&nodes[0], 3)->integer, 3);
	cr_assert_eq(resp_next(resp_child(&nodes[0], 1)), resp_child(&nodes[0], 2));
	cr_assert_not(resp_is(resp_child(&nodes[0], 0), "ab"));
}

Test(resp, map_get_finds_a_key_and_only_in_a_map)
{
	static const char wire[] = "%3\r\n+a\r\n*2\r\n:1\r\n:2\r\n$1\r\nb\r\n:3\r\n:4\r\n+b\r\n";
	struct resp_node nodes[10];
	struct resp_parser p = parser_with(nodes, 10, NULL);
	cr_assert_eq(resp_parse(&p, wire, sizeof(wire) - 1), (ssize_t)sizeof(wire) - 1);
	cr_assert_eq(resp_map_get(&nodes[0], "a"), &nodes[2]);
	cr_assert_eq(resp_map_get(&nodes[0], "b")->integer, 3);
	cr_assert_null(resp_map_get(&nodes[0], "c"));
	cr_assert_null(resp_map_get(&nodes[0], "4")); /* a value is not a key */
	cr_assert_null(resp_map_get(&nodes[2], "a"));
}

/* ---- malformed input ------------------------------------------------------------------------- */

Test(resp, missing_or_broken_crlf_is_malformed)
{
	MALFORMED("+OK\n");
	MALFORMED("+OK\rX\n");
	MALFORMED("+O\nK\r\n");
	MALFORMED("+O\rK\r\n");
	MALFORMED(":1\n");
	MALFORMED("$5\r\nhello\n\r");
	MALFORMED("$5\r\nhelloXY");
	MALFORMED("*1\r:1\r\n");
	MALFORMED("\r\n");
}

Test(resp, bulk_length_not_matching_its_bytes_is_malformed)
{
	MALFORMED("$3\r\nhello\r\n");
	MALFORMED("$6\r\nhello\r\n:1\r\n");
	MALFORMED("!4\r\nERR x\r\n");
	MALFORMED("=15\r\ntxt:Some strin\r\n\r\n");
}

Test(resp, negative_sizes_other_than_null_are_malformed)
{
	MALFORMED("$-2\r\n");
	MALFORMED("*-2\r\n");
	MALFORMED("%-1\r\n");
	MALFORMED("~-1\r\n");
	MALFORMED(">-1\r\n");
	MALFORMED("|-1\r\n");
	MALFORMED("!-1\r\n");
	MALFORMED("=-1\r\n");
}

Test(resp, bad_numbers_are_malformed)
{
	MALFORMED(":\r\n");
	MALFORMED(":-\r\n");
	MALFORMED(":12a\r\n");
	MALFORMED(": 1\r\n");
	MALFORMED(":1.5\r\n");
	MALFORMED(":9223372036854775808\r\n");
	MALFORMED(":-9223372036854775809\r\n");
	MALFORMED(":99999999999999999999\r\n");
	MALFORMED(":00000000000000000001\r\n");
	MALFORMED("$+5\r\nhello\r\n");
	MALFORMED("$ 5\r\nhello\r\n");
	MALFORMED("$5 \r\nhello\r\n");
	MALFORMED("$\r\n\r\n");
	MALFORMED("*1x\r\n:1\r\n");
	MALFORMED("*99999999999999999999\r\n");
	MALFORMED("(\r\n");
	MALFORMED("(12a\r\n");
	MALFORMED("(1.5\r\n");
}

Test(resp, bad_doubles_are_malformed)
{
	MALFORMED(",\r\n");
	MALFORMED(",1.\r\n");
	MALFORMED(",.5\r\n");
	MALFORMED(",1e\r\n");
	MALFORMED(",1e+\r\n");
	MALFORMED(",abc\r\n");
	MALFORMED(",infinity\r\n");
	MALFORMED(",0x10\r\n");
	MALFORMED(",1 \r\n");
}

Test(resp, bad_booleans_nulls_and_verbatims_are_malformed)
{
	MALFORMED("#\r\n");
	MALFORMED("#x\r\n");
	MALFORMED("#tt\r\n");
	MALFORMED("#T\r\n");
	MALFORMED("_x\r\n");
	MALFORMED("_ \r\n");
	MALFORMED("=3\r\ntxt\r\n");
	MALFORMED("=5\r\ntxt-x\r\n");
}

Test(resp, unknown_types_and_streamed_values_are_malformed)
{
	MALFORMED("x\r\n");
	MALFORMED("OK\r\n");
	MALFORMED("$?\r\n;4\r\nHell\r\n;0\r\n");
	MALFORMED("*?\r\n:1\r\n.\r\n");
	MALFORMED("*2\r\n:1\r\n?\r\n");
	MALFORMED("/1\r\n:1\r\n");
}

Test(resp, overlong_length_line_is_malformed_before_its_end)
{
	struct resp_node nodes[2];
	struct resp_parser p = parser_with(nodes, 2, NULL);
	/* 21 digits and no CR yet: no length has that many */
	cr_assert_eq(resp_parse(&p, "$000000000000000000000", 22), PARSE_ERROR);
}

Test(resp, error_is_final_until_reset)
{
	struct resp_node nodes[2];
	struct resp_parser p = parser_with(nodes, 2, NULL);
	cr_assert_eq(resp_parse(&p, "x\r\n", 3), PARSE_ERROR);
	cr_assert_eq(resp_parse(&p, "+OK\r\n", 5), PARSE_ERROR);
	resp_parser_reset(&p);
	cr_assert_eq(resp_parse(&p, "+OK\r\n", 5), 5);
}

Test(resp, reset_forgets_a_reply_in_progress)
{
	struct resp_node nodes[4];
	struct resp_parser p = parser_with(nodes, 4, NULL);
	cr_assert_eq(resp_parse(&p, "*2\r\n:1\r\n", 8), PARSE_AGAIN);
	resp_parser_reset(&p);
	cr_assert_eq(resp_parse(&p, ":5\r\n", 4), 4);
	cr_assert_eq(nodes[0].integer, 5);
}

/* ---- limits ---------------------------------------------------------------------------------- */

Test(resp, depth_limit_allows_its_depth_and_refuses_one_more)
{
	struct resp_limits lim = RESP_LIMITS_DEFAULT;
	lim.max_depth = 3;
	struct resp_node nodes[8];
	struct resp_parser p = parser_with(nodes, 8, &lim);
	cr_assert_eq(resp_parse(&p, "*1\r\n%1\r\n:1\r\n~0\r\n", 16), 16);
	MALFORMED_WITH("*1\r\n*1\r\n*1\r\n*1\r\n:1\r\n", &lim);
	MALFORMED_WITH("*1\r\n*1\r\n*1\r\n*0\r\n", &lim);
	MALFORMED_WITH("*1\r\n*1\r\n*1\r\n|1\r\n:1\r\n:1\r\n:1\r\n", &lim);
	MALFORMED_WITH("*1\r\n*1\r\n|1\r\n*1\r\n:1\r\n:1\r\n:1\r\n", &lim);
}

Test(resp, default_depth_limit_refuses_deep_nesting)
{
	char wire[4 * (RESP_DEPTH_MAX + 2) + 8];
	size_t n = 0;
	for (int i = 0; i < RESP_DEPTH_MAX + 1; i++)
		n += (size_t)snprintf(wire + n, sizeof(wire) - n, "*1\r\n");
	n += (size_t)snprintf(wire + n, sizeof(wire) - n, ":1\r\n");
	expect_malformed(wire, n, NULL);
}

Test(resp, element_limit_allows_its_count_and_refuses_one_more)
{
	struct resp_limits lim = RESP_LIMITS_DEFAULT;
	lim.max_elements = 4;
	struct resp_node nodes[8];
	struct resp_parser p = parser_with(nodes, 8, &lim);
	cr_assert_eq(resp_parse(&p, "%2\r\n:1\r\n:2\r\n:3\r\n:4\r\n", 20), 20);
	MALFORMED_WITH("*5\r\n", &lim);
	MALFORMED_WITH("~5\r\n", &lim);
	MALFORMED_WITH(">5\r\n", &lim);
	MALFORMED_WITH("%3\r\n", &lim);
	MALFORMED_WITH("|3\r\n", &lim);
	MALFORMED_WITH("*9223372036854775807\r\n", &lim);
}

Test(resp, bulk_limit_is_checked_before_the_payload_arrives)
{
	struct resp_limits lim = RESP_LIMITS_DEFAULT;
	lim.max_bulk = 5;
	struct resp_node nodes[2];
	struct resp_parser p = parser_with(nodes, 2, &lim);
	cr_assert_eq(resp_parse(&p, "$5\r\nhello\r\n", 11), 11);
	MALFORMED_WITH("$6\r\n", &lim);
	MALFORMED_WITH("!6\r\n", &lim);
	MALFORMED_WITH("=10\r\n", &lim);
	lim = RESP_LIMITS_DEFAULT;
	MALFORMED_WITH("$536870913\r\n", &lim); /* 512 MiB + 1 */
}

Test(resp, line_limit_is_checked_before_the_crlf_arrives)
{
	struct resp_limits lim = RESP_LIMITS_DEFAULT;
	lim.max_bulk = 5;
	struct resp_node nodes[2];
	struct resp_parser p = parser_with(nodes, 2, &lim);
	cr_assert_eq(resp_parse(&p, "+hello\r\n", 8), 8);
	p = parser_with(nodes, 2, &lim);
	cr_assert_eq(resp_parse(&p, "+hello", 6), PARSE_AGAIN);
	cr_assert_eq(resp_parse(&p, "+hello!", 7), PARSE_ERROR);
	MALFORMED_WITH("-hello!\r\n", &lim);
	MALFORMED_WITH("(123456\r\n", &lim);
}

Test(resp, double_line_is_bounded)
{
	char wire[RESP_DOUBLE_LEN_MAX + 8] = ",";
	memset(wire + 1, '1', RESP_DOUBLE_LEN_MAX);
	struct resp_node nodes[1];
	struct resp_parser p = parser_with(nodes, 1, NULL);
	wire[1 + RESP_DOUBLE_LEN_MAX] = '\r';
	wire[2 + RESP_DOUBLE_LEN_MAX] = '\n';
	cr_assert_eq(resp_parse(&p, wire, RESP_DOUBLE_LEN_MAX + 3), RESP_DOUBLE_LEN_MAX + 3);
	wire[RESP_DOUBLE_LEN_MAX + 1] = '1';
	p = parser_with(nodes, 1, NULL);
	cr_assert_eq(resp_parse(&p, wire, RESP_DOUBLE_LEN_MAX + 2), PARSE_ERROR);
}

Test(resp, init_refuses_limits_out_of_range)
{
	struct resp_node nodes[1];
	struct resp_parser p;
	struct resp_limits lim = RESP_LIMITS_DEFAULT;
	cr_assert_eq(resp_parser_init(&p, nodes, 0, NULL), -EINVAL);
	cr_assert_eq(resp_parser_init(&p, NULL, 1, NULL), -EINVAL);
	lim.max_depth = 0;
	cr_assert_eq(resp_parser_init(&p, nodes, 1, &lim), -EINVAL);
	lim.max_depth = RESP_DEPTH_MAX + 1;
	cr_assert_eq(resp_parser_init(&p, nodes, 1, &lim), -EINVAL);
	lim.max_depth = RESP_DEPTH_MAX;
	lim.max_elements = UINT32_MAX / 2 + 1;
	cr_assert_eq(resp_parser_init(&p, nodes, 1, &lim), -EINVAL);
	lim.max_elements = UINT32_MAX / 2;
	cr_assert_eq(resp_parser_init(&p, nodes, 1, &lim), 0);
}

/* ---- the node array running out ---------------------------------------------------------------- */

Test(resp, reply_needing_more_nodes_is_too_big_and_can_be_skipped)
{
	static const char wire[] = "*4\r\n:1\r\n:2\r\n:3\r\n$1\r\nx\r\n+next\r\n";
	struct resp_node nodes[3];
	struct resp_parser p = parser_with(nodes, 3, NULL);
	cr_assert_eq(resp_parse(&p, wire, 10), PARSE_AGAIN);
	cr_assert_eq(resp_parse(&p, wire, sizeof(wire) - 1), RESP_TOO_BIG);
	cr_assert_eq(p.reply_len, 23);
	cr_assert_eq(p.reply_nodes, 5);
	cr_assert_eq(resp_parse(&p, wire + p.reply_len, sizeof(wire) - 1 - 23), 7);
	cr_assert(resp_is(&nodes[0], "next"));
}

Test(resp, reply_filling_the_array_exactly_fits)
{
	struct resp_node nodes[4];
	struct resp_parser p = parser_with(nodes, 4, NULL);
	cr_assert_eq(resp_parse(&p, "*3\r\n:1\r\n:2\r\n:3\r\n", 16), 16);
	cr_assert_eq(p.reply_nodes, 4);
}

/* ---- writer ---------------------------------------------------------------------------------- */

static void expect_command(size_t argc, const struct resp_arg *argv, const char *want, size_t n)
{
	char out[256];
	cr_assert_eq(resp_command_len(argc, argv), n);
	memset(out, 0x55, sizeof(out));
	cr_assert_eq(resp_write_command(out, argc, argv), n);
	cr_assert_eq(memcmp(out, want, n), 0, "got %.*s", (int)n, out);
	cr_assert_eq(out[n], 0x55, "wrote past its length");
}

Test(resp, command_is_an_array_of_bulk_strings)
{
	struct resp_arg argv[] = { RESP_ARG_LIT("SET"), resp_arg_str("mykey"),
				   resp_arg_str("myvalue") };
	static const char want[] = "*3\r\n$3\r\nSET\r\n$5\r\nmykey\r\n$7\r\nmyvalue\r\n";
	expect_command(3, argv, want, sizeof(want) - 1);
}

Test(resp, command_arguments_are_binary_safe)
{
	struct resp_arg argv[] = { RESP_ARG_LIT("SET"),
				   RESP_ARG_LIT("k\r\n"),
				   { .p = "a\0\r\nb", .n = 5 },
				   { .p = NULL, .n = 0 } };
	static const char want[] = "*4\r\n$3\r\nSET\r\n$3\r\nk\r\n\r\n$5\r\na\0\r\nb\r\n$0\r\n\r\n";
	expect_command(4, argv, want, sizeof(want) - 1);
}

Test(resp, command_lengths_of_several_digits)
{
	char big[1000];
	memset(big, 'x', sizeof(big));
	struct resp_arg argv[12];
	for (size_t i = 0; i < 12; i++)
		argv[i] = (struct resp_arg){ .p = big, .n = i == 11 ? 1000 : 10 };
	size_t n = resp_command_len(12, argv);
	cr_assert_eq(n, 5 + 11 * (5 + 10 + 2) + (7 + 1000 + 2));
	char *out = malloc(n);
	cr_assert_not_null(out);
	cr_assert_eq(resp_write_command(out, 12, argv), n);
	cr_assert_eq(memcmp(out, "*12\r\n$10\r\nxxxxxxxxxx\r\n", 22), 0);
	cr_assert_eq(memcmp(out + n - 1009, "$1000\r\nxxx", 10), 0);
	free(out);
}

Test(resp, command_of_no_arguments_is_an_empty_array)
{
	expect_command(0, NULL, "*0\r\n", 4);
}

Test(resp, written_command_reads_back_as_its_arguments)
{
	struct resp_arg argv[] = { RESP_ARG_LIT("PUBLISH"),
				   RESP_ARG_LIT("chatd:room:lobby"),
				   { .p = "\0\r\n\xff", .n = 4 } };
	char out[128];
	size_t n = resp_write_command(out, 3, argv);
	struct resp_node nodes[4];
	struct resp_parser p = parser_with(nodes, 4, NULL);
	cr_assert_eq(resp_parse(&p, out, n), (ssize_t)n);
	cr_assert_eq(nodes[0].type, RESP_ARRAY);
	for (uint32_t i = 0; i < 3; i++) {
		const struct resp_node *c = resp_child(&nodes[0], i);
		cr_assert_eq(c->type, RESP_BULK);
		cr_assert_eq(c->len, argv[i].n);
		cr_assert_eq(memcmp(c->str, argv[i].p, c->len), 0);
	}
}

/* ---- pub/sub --------------------------------------------------------------------------------- */

static enum resp_pubsub_kind pubsub_of(const char *wire, struct resp_node *nodes,
				       struct resp_pubsub *ps)
{
	struct resp_parser p = parser_with(nodes, 8, NULL);
	size_t n = strlen(wire);
	cr_assert_eq(resp_parse(&p, wire, n), (ssize_t)n, "%s", wire);
	return resp_pubsub(nodes, ps);
}

static bool slice_is(struct resp_slice s, const char *text)
{
	return s.n == strlen(text) && memcmp(s.p, text, s.n) == 0;
}

Test(resp, pubsub_message_in_resp2_is_an_array)
{
	struct resp_node nodes[8];
	struct resp_pubsub ps;
	cr_assert_eq(pubsub_of("*3\r\n$7\r\nmessage\r\n$2\r\nch\r\n$5\r\nhello\r\n", nodes, &ps),
		     RESP_PUBSUB_MESSAGE);
	cr_assert(slice_is(ps.channel, "ch"));
	cr_assert(slice_is(ps.payload, "hello"));
}

Test(resp, pubsub_message_in_resp3_is_a_push)
{
	struct resp_node nodes[8];
	struct resp_pubsub ps;
	cr_assert_eq(pubsub_of(">3\r\n$7\r\nmessage\r\n$2\r\nch\r\n$5\r\nhello\r\n", nodes, &ps),
		     RESP_PUBSUB_MESSAGE);
	cr_assert(slice_is(ps.channel, "ch"));
	cr_assert(slice_is(ps.payload, "hello"));
	/* the RESP3 specification's example: a leading "pubsub", simple strings */
	cr_assert_eq(pubsub_of(">4\r\n+pubsub\r\n+message\r\n+somechannel\r\n"
			       "+this is the message\r\n",
			       nodes, &ps),
		     RESP_PUBSUB_MESSAGE);
	cr_assert(slice_is(ps.channel, "somechannel"));
	cr_assert(slice_is(ps.payload, "this is the message"));
}

Test(resp, pubsub_pattern_and_sharded_messages)
{
	struct resp_node nodes[8];
	struct resp_pubsub ps;
	cr_assert_eq(
	    pubsub_of("*4\r\n$8\r\npmessage\r\n$2\r\nc*\r\n$2\r\nch\r\n$1\r\nx\r\n", nodes, &ps),
	    RESP_PUBSUB_PMESSAGE);
	cr_assert(slice_is(ps.pattern, "c*"));
	cr_assert(slice_is(ps.channel, "ch"));
	cr_assert(slice_is(ps.payload, "x"));
	cr_assert_eq(pubsub_of(">3\r\n$8\r\nsmessage\r\n$2\r\nch\r\n$1\r\ny\r\n", nodes, &ps),
		     RESP_PUBSUB_SMESSAGE);
	cr_assert(slice_is(ps.payload, "y"));
}

Test(resp, pubsub_confirmations_carry_the_count)
{
	struct resp_node nodes[8];
	struct resp_pubsub ps;
	cr_assert_eq(pubsub_of("*3\r\n$9\r\nsubscribe\r\n$2\r\nch\r\n:1\r\n", nodes, &ps),
		     RESP_PUBSUB_SUBSCRIBE);
	cr_assert(slice_is(ps.channel, "ch"));
	cr_assert_eq(ps.count, 1);
	cr_assert_eq(pubsub_of(">3\r\n$11\r\nunsubscribe\r\n$2\r\nch\r\n:0\r\n", nodes, &ps),
		     RESP_PUBSUB_UNSUBSCRIBE);
	cr_assert_eq(ps.count, 0);
	/* UNSUBSCRIBE with nothing subscribed: no channel */
	cr_assert_eq(pubsub_of("*3\r\n$11\r\nunsubscribe\r\n$-1\r\n:0\r\n", nodes, &ps),
		     RESP_PUBSUB_UNSUBSCRIBE);
	cr_assert_eq(ps.channel.n, 0);
	cr_assert_eq(pubsub_of(">3\r\n$11\r\nunsubscribe\r\n_\r\n:0\r\n", nodes, &ps),
		     RESP_PUBSUB_UNSUBSCRIBE);
	cr_assert_eq(pubsub_of("*3\r\n$10\r\npsubscribe\r\n$2\r\nc*\r\n:2\r\n", nodes, &ps),
		     RESP_PUBSUB_PSUBSCRIBE);
	cr_assert_eq(pubsub_of("*3\r\n$10\r\nssubscribe\r\n$2\r\nch\r\n:1\r\n", nodes, &ps),
		     RESP_PUBSUB_SSUBSCRIBE);
}

Test(resp, pubsub_pong_in_resp2_subscribed_mode)
{
	struct resp_node nodes[8];
	struct resp_pubsub ps;
	cr_assert_eq(pubsub_of("*2\r\n$4\r\npong\r\n$0\r\n\r\n", nodes, &ps), RESP_PUBSUB_PONG);
	cr_assert_eq(ps.payload.n, 0);
	cr_assert_eq(pubsub_of("*2\r\n$4\r\npong\r\n$5\r\nprobe\r\n", nodes, &ps),
		     RESP_PUBSUB_PONG);
	cr_assert(slice_is(ps.payload, "probe"));
}

Test(resp, replies_that_are_not_pubsub_are_none)
{
	static const char *const not_pubsub[] = {
		"+OK\r\n",
		"*0\r\n",
		"*2\r\n$7\r\nmessage\r\n$2\r\nch\r\n",                  /* too short */
		"*4\r\n$7\r\nmessage\r\n$2\r\nch\r\n$1\r\nx\r\n:1\r\n", /* too long */
		"*3\r\n$7\r\nMESSAGE\r\n$2\r\nch\r\n$1\r\nx\r\n",       /* case matters */
		"*3\r\n$7\r\nmessage\r\n:1\r\n$1\r\nx\r\n",             /* channel not a string */
		"*3\r\n$7\r\nmessage\r\n$-1\r\n$1\r\nx\r\n",            /* no channel */
		"*3\r\n$7\r\nmessage\r\n$2\r\nch\r\n*0\r\n",            /* payload not a string */
		"*3\r\n$9\r\nsubscribe\r\n$2\r\nch\r\n$1\r\n1\r\n",     /* count not an integer */
		"%1\r\n$7\r\nmessage\r\n$2\r\nch\r\n",                  /* a map */
		">1\r\n+pubsub\r\n",
		"*3\r\n:1\r\n:2\r\n:3\r\n",
	};
	struct resp_node nodes[8];
	struct resp_pubsub ps;
	for (size_t i = 0; i < ARRAY_LEN(not_pubsub); i++) {
		cr_assert_eq(pubsub_of(not_pubsub[i], nodes, &ps), RESP_PUBSUB_NONE, "%s",
			     not_pubsub[i]);
		cr_assert_eq(ps.kind, RESP_PUBSUB_NONE);
	}
}
