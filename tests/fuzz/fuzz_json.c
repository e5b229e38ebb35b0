/*
 * fuzz_json.c - libFuzzer target for the strict JSON reader (src/json.c). The first byte picks
 * the token array's size; the rest is the text, in a buffer of exactly its size. An accepted
 * text's tokens must form a well-shaped tree (sizes add up, objects hold name-value pairs,
 * every token lies inside the text, the outer object spans it); each member of the outer
 * object is found again by its name; the lookups answer within their contracts, and what they
 * copy is NUL-terminated UTF-8.
 */
#include "fuzz_target.h"
#include "json.h"
#include "proto.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define CAP_MAX     64

#define check(cond) ((cond) ? (void)0 : __builtin_trap())

/* Checks the subtree at tokens[i] (depth containers around it); returns the index after it. */
/* NOLINTNEXTLINE(misc-no-recursion): as deep as the text, which JSON_DEPTH_MAX bounds */
static size_t check_token(const struct json_doc *doc, size_t i, size_t len, int depth)
{
	check(i < doc->count && depth <= JSON_DEPTH_MAX);
	const struct json_token *t = &doc->tokens[i];
	check(t->type >= JSON_OBJECT && t->type <= JSON_NULL);
	check(t->start <= len && t->len <= len - t->start);
	check(t->size >= 1 && t->size <= doc->count - i);
	if (t->type != JSON_OBJECT && t->type != JSON_ARRAY) {
		check(t->size == 1 && t->count == 0);
		return i + 1;
	}
	check(depth < JSON_DEPTH_MAX); /* the container itself is one more */
	size_t c = i + 1;
	for (uint32_t k = 0; k < t->count; k++) {
		if (t->type == JSON_OBJECT) {
			check(doc->tokens[c].type == JSON_STRING);
			c = check_token(doc, c, len, depth + 1);
		}
		c = check_token(doc, c, len, depth + 1);
	}
	check(c == i + t->size);
	return c;
}

static void check_copy(int r, const char *out, size_t cap)
{
	check(r == JSON_ERR_TYPE || r == JSON_ERR_RANGE || (r >= 0 && (size_t)r < cap));
	if (r < 0)
		return;
	check(strlen(out) == (size_t)r);
	uint32_t state = 0;
	check(utf8_feed(&state, (const unsigned char *)out, (size_t)r) && utf8_complete(state));
}

/* Member k of the outer object, its name at token n: found by its name, and read every way. */
static void check_member(const struct json_doc *doc, size_t n, uint8_t seed)
{
	const struct json_token *name = &doc->tokens[n];
	const char *raw = doc->text + name->start;
	char key[64];
	/* a name with no escape is its own C string */
	if (name->len < sizeof(key) && memchr(raw, '\\', name->len) == NULL &&
	    memchr(raw, '\0', name->len) == NULL) {
		memcpy(key, raw, name->len);
		key[name->len] = '\0';
		check(json_find(doc, 0, key) == (int)n + 1);
	} else {
		key[0] = 'x';
		key[1] = '\0';
	}
	char out[4][16];
	size_t cap = seed % sizeof(out[0]) + 1;
	int r = json_get_string(doc, 0, key, out[0], cap);
	check(r == JSON_ABSENT || r == JSON_ERR_TYPE || r == JSON_ERR_RANGE || r >= 0);
	if (r != JSON_ABSENT)
		check_copy(r, out[0], cap);
	int64_t v;
	r = json_get_int(doc, 0, key, &v);
	check(r == 0 || r == JSON_ABSENT || r == JSON_ERR_TYPE || r == JSON_ERR_RANGE);
	r = json_get_string_array(doc, 0, key, &out[0][0], sizeof(out[0]), seed % 5);
	check(r == JSON_ABSENT || r == JSON_ERR_TYPE || r == JSON_ERR_RANGE ||
	      (r >= 0 && r <= seed % 5));
	for (int i = 0; i < r; i++)
		check_copy((int)strlen(out[i]), out[i], sizeof(out[i]));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	uint8_t seed = data[0];
	data++;
	size--;
	char *text = malloc(size ? size : 1);
	if (text == NULL)
		return 0;
	memcpy(text, data, size);
	struct json_token tokens[CAP_MAX];
	struct json_doc doc;
	size_t cap = (size_t)(seed & 63) + 1;
	int r = json_parse(&doc, text, size, tokens, cap);
	check(r >= JSON_ERR_NOT_OBJECT && r <= (int)cap && r != 0);
	if (r > 0) {
		check(doc.count == (size_t)r && doc.text == text);
		check(tokens[0].type == JSON_OBJECT && tokens[0].size == doc.count);
		check(check_token(&doc, 0, size, 0) == doc.count);
		size_t n = 1;
		for (uint32_t k = 0; k < tokens[0].count; k++) {
			check_member(&doc, n, seed);
			n += 1 + tokens[n + 1].size;
		}
	}
	free(text);
	return 0;
}
