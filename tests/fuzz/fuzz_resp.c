/*
 * fuzz_resp.c - libFuzzer target for the RESP reader and writer (src/resp.c). The first byte
 * picks the node array's size and the nesting limit; the rest is what a Redis server sent,
 * read reply after reply. Each reply is read three ways, each by a parser of its own:
 *   - whole, from a buffer of exactly the bytes left;
 *   - a byte more at a time, the bytes not yet given poisoned (ASan traps any read of them);
 *   - in two parts split at every position (a sample of positions for long replies), the
 *     first part and the whole in two different buffers (the bytes move between the calls);
 * and all three must agree: the same verdict, the same length, the same tree. PARSE_AGAIN
 * must come before the reply's last byte and never after it. Every tree is checked (sizes add
 * up, strings lie inside the reply, the limits hold), resp_pubsub's and resp_map_get's answers
 * lie inside it, and a command written from its strings reads back as those strings.
 */
#include "common.h"
#include "fuzz_target.h"
#include "resp.h"

#include <sanitizer/asan_interface.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define CAP_MAX       32
#define SPLIT_ALL_MAX 512 /* replies up to this long are split at every position */
#define SPLIT_SAMPLES 64
#define REPLIES_MAX   64

#define check(cond)   ((cond) ? (void)0 : __builtin_trap())

/* A node as it can be compared across buffers: its string as an offset into the reply. */
struct snap {
	uint8_t type;
	uint32_t n, size;
	size_t off, len;
	int64_t bits; /* integer, or the double's bits, or the format */
};

struct outcome {
	ssize_t r;
	size_t len, nodes;
	struct snap tree[CAP_MAX];
};

static struct resp_limits fuzz_limits(uint8_t b)
{
	return (struct resp_limits){ .max_depth = (uint32_t)(b >> 5 & 3) + 2,
				     .max_elements = 16,
				     .max_bulk = 300 };
}

static bool in_reply(const char *s, size_t n, const char *base, size_t len)
{
	return s >= base && (size_t)(s - base) <= len && n <= len - (size_t)(s - base);
}

/* Checks the subtree at nodes[i] (depth: aggregates around it); returns the index after it. */
/* NOLINTNEXTLINE(misc-no-recursion): as deep as the reply, which the depth limit bounds */
static size_t check_node(const struct resp_node *nodes, size_t i, size_t end, uint32_t depth,
			 const struct resp_limits *lim, const char *base, size_t len)
{
	check(i < end);
	const struct resp_node *n = &nodes[i];
	check(n->size >= 1 && n->size <= end - i);
	if (n->type >= RESP_ARRAY) {
		check(depth + 1 <= lim->max_depth && n->n <= lim->max_elements);
		check(n->type != RESP_MAP || n->n % 2 == 0);
		check(n->str == NULL);
		size_t c = i + 1;
		for (uint32_t k = 0; k < n->n; k++)
			c = check_node(nodes, c, end, depth + 1, lim, base, len);
		check(c == i + n->size);
		return c;
	}
	check(n->size == 1);
	if (n->type == RESP_NULL) {
		check(n->str == NULL && n->len == 0);
	} else {
		check(n->str != NULL && in_reply(n->str, n->len, base, len));
		check(n->len <= lim->max_bulk);
		check(n->type != RESP_BOOL || n->integer == 0 || n->integer == 1);
	}
	return i + 1;
}

static void check_slice(struct resp_slice s, const char *base, size_t len)
{
	check(s.p == NULL ? s.n == 0 : in_reply(s.p, s.n, base, len));
}

/* Writes a command of the tree's strings and reads it back. */
static void check_writer(const struct resp_node *nodes, size_t count)
{
	struct resp_arg argv[8];
	size_t argc = 0;
	for (size_t i = 0; i < count && argc < ARRAY_LEN(argv); i++)
		if (nodes[i].type != RESP_NULL && nodes[i].type < RESP_ARRAY)
			argv[argc++] = (struct resp_arg){ .p = nodes[i].str, .n = nodes[i].len };
	size_t n = resp_command_len(argc, argv);
	char *out = malloc(n);
	if (out == NULL)
		return;
	check(resp_write_command(out, argc, argv) == n);
	struct resp_node back[ARRAY_LEN(argv) + 1];
	struct resp_limits lim = { .max_depth = 1, .max_elements = 8, .max_bulk = 300 };
	struct resp_parser p;
	check(resp_parser_init(&p, back, ARRAY_LEN(back), &lim) == 0);
	check(resp_parse(&p, out, n) == (ssize_t)n);
	check(back[0].type == RESP_ARRAY && back[0].n == argc);
	for (size_t i = 0; i < argc; i++) {
		check(back[i + 1].type == RESP_BULK && back[i + 1].len == argv[i].n);
		check(argv[i].n == 0 || memcmp(back[i + 1].str, argv[i].p, argv[i].n) == 0);
	}
	free(out);
}

/* Records what a parse returned; for a reply, checks its tree and snapshots it. */
static void record(struct outcome *o, ssize_t r, const struct resp_parser *p, const char *base,
		   uint8_t seed)
{
	memset(o, 0, sizeof(*o));
	o->r = r;
	if (r <= 0 && r != RESP_TOO_BIG)
		return;
	o->len = p->reply_len;
	o->nodes = p->reply_nodes;
	check(o->len > 0 && (r == RESP_TOO_BIG || (size_t)r == o->len));
	check(r == RESP_TOO_BIG ? o->nodes > p->cap : o->nodes >= 1 && o->nodes <= p->cap);
	if (r == RESP_TOO_BIG)
		return;
	struct resp_limits lim = fuzz_limits(seed);
	check(check_node(p->nodes, 0, o->nodes, 0, &lim, base, o->len) == o->nodes);
	for (size_t i = 0; i < o->nodes; i++) {
		const struct resp_node *n = &p->nodes[i];
		struct snap *s = &o->tree[i];
		s->type = n->type;
		s->n = n->n;
		s->size = n->size;
		s->off = n->str != NULL ? (size_t)(n->str - base) : SIZE_MAX;
		s->len = n->len;
		memcpy(&s->bits, &n->integer, sizeof(s->bits)); /* the union's 8 bytes */
	}
	struct resp_pubsub ps;
	if (resp_pubsub(p->nodes, &ps) != RESP_PUBSUB_NONE) {
		check_slice(ps.pattern, base, o->len);
		check_slice(ps.channel, base, o->len);
		check_slice(ps.payload, base, o->len);
	}
	const struct resp_node *v = resp_map_get(p->nodes, "a");
	check(v == NULL || (v > p->nodes && v < p->nodes + o->nodes));
	check_writer(p->nodes, o->nodes);
}

static void same(const struct outcome *a, const struct outcome *b)
{
	check(a->r == b->r && a->len == b->len && a->nodes == b->nodes);
	if (a->r > 0)
		check(memcmp(a->tree, b->tree, a->nodes * sizeof(a->tree[0])) == 0);
}

static void init(struct resp_parser *p, struct resp_node *nodes, uint8_t seed)
{
	struct resp_limits lim = fuzz_limits(seed);
	check(resp_parser_init(p, nodes, (seed & 31) + 1, &lim) == 0);
}

static char *copy(const uint8_t *data, size_t n)
{
	char *b = malloc(n ? n : 1);
	if (b != NULL)
		memcpy(b, data, n);
	return b;
}

/* Whole: the reference. */
static bool read_whole(const uint8_t *data, size_t n, uint8_t seed, struct outcome *o)
{
	struct resp_node nodes[CAP_MAX];
	struct resp_parser p;
	init(&p, nodes, seed);
	char *b = copy(data, n);
	if (b == NULL)
		return false;
	record(o, resp_parse(&p, b, n), &p, b, seed);
	free(b);
	return true;
}

/* A byte more at a time, the rest poisoned. */
static void read_bytewise(const uint8_t *data, size_t n, uint8_t seed, const struct outcome *want)
{
	struct resp_node nodes[CAP_MAX];
	struct resp_parser p;
	init(&p, nodes, seed);
	char *b = copy(data, n);
	if (b == NULL)
		return;
	ASAN_POISON_MEMORY_REGION(b, n);
	struct outcome got = { .r = PARSE_AGAIN };
	for (size_t k = 1; k <= n; k++) {
		ASAN_UNPOISON_MEMORY_REGION(b + k - 1, 1);
		ssize_t r = resp_parse(&p, b, k);
		if (r == PARSE_AGAIN)
			continue;
		/* a reply ends exactly at its last byte; an error needs no byte after the bad one */
		check(r == PARSE_ERROR || want->len == k);
		record(&got, r, &p, b, seed);
		break;
	}
	if (want->r == PARSE_ERROR)
		check(got.r == PARSE_ERROR);
	else
		same(&got, want);
	ASAN_UNPOISON_MEMORY_REGION(b, n);
	free(b);
}

/* The first k bytes, then all n from another buffer. */
static void read_split(const uint8_t *data, size_t n, size_t k, uint8_t seed,
		       const struct outcome *want)
{
	struct resp_node nodes[CAP_MAX];
	struct resp_parser p;
	init(&p, nodes, seed);
	char *a = copy(data, k);
	if (a == NULL)
		return;
	struct outcome got;
	ssize_t r = resp_parse(&p, a, k);
	if (r != PARSE_AGAIN) {
		record(&got, r, &p, a, seed);
		free(a);
		check(r == PARSE_ERROR ? want->r == PARSE_ERROR : want->len <= k);
		if (r != PARSE_ERROR)
			same(&got, want);
		return;
	}
	free(a);
	check(want->r == PARSE_AGAIN || want->r == PARSE_ERROR || want->len > k);
	char *b = copy(data, n);
	if (b == NULL)
		return;
	record(&got, resp_parse(&p, b, n), &p, b, seed);
	free(b);
	same(&got, want);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	uint8_t seed = data[0];
	data++;
	size--;
	for (int replies = 0; size > 0 && replies < REPLIES_MAX; replies++) {
		struct outcome want;
		if (!read_whole(data, size, seed, &want))
			return 0;
		/* a reply is read to its end: the bytes after it play no part */
		size_t span = want.len > 0 ? want.len : size;
		read_bytewise(data, span, seed, &want);
		size_t step = span <= SPLIT_ALL_MAX ? 1 : span / SPLIT_SAMPLES;
		for (size_t k = 1; k < span; k += step)
			read_split(data, span, k, seed, &want);
		if (want.len == 0)
			break; /* incomplete or malformed: nothing after it can be read */
		data += want.len;
		size -= want.len;
	}
	return 0;
}
