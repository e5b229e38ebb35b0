/*
 * json.h - a small strict JSON reader (RFC 8259) for the header and claims of a JWT (jwt.h):
 * one object, read into a token array the caller supplies, then looked up by member name.
 *
 * Owns: nothing. Pure code: no I/O, no allocation, no global state; any thread, each with its
 * own tokens. A document points into the caller's text, which must outlive it.
 *
 * What it accepts, and the choices RFC 8259 leaves open:
 *   - The text is exactly one object, surrounded by optional white space (space, tab, CR,
 *     LF); no byte-order mark; at most JSON_TEXT_MAX bytes; containers nested at most
 *     JSON_DEPTH_MAX deep (the outer object counts one).
 *   - Strings are UTF-8, checked strictly (no overlong forms, no surrogates, nothing past
 *     U+10FFFF); control characters must be escaped; escapes are the eight of section 7 and
 *     \uXXXX, where a surrogate must be a high one followed by an escaped low one (a lone
 *     surrogate is refused: it cannot become UTF-8).
 *   - Numbers follow the grammar of section 6 exactly (no leading zeros, no '+', no '.5').
 *   - Duplicate member names in one object are refused (compared after unescaping, so "a" and
 *     "\u0061" are the same name): RFC 7519 section 4 lets a JWT reader refuse them, and a
 *     reader that kept the first or the last could be made to disagree with the signer.
 *
 * Tokens, in document order: a container is followed by its contents; an object's members are
 * a JSON_STRING token (the name) and then the value's tokens. Token 0 is the outer object.
 */
#ifndef CHATD_JSON_H
#define CHATD_JSON_H

#include <stddef.h>
#include <stdint.h>

#define JSON_TEXT_MAX  65536
#define JSON_DEPTH_MAX 16

enum json_type {
	JSON_OBJECT = 1,
	JSON_ARRAY,
	JSON_STRING,
	JSON_NUMBER,
	JSON_TRUE,
	JSON_FALSE,
	JSON_NULL,
};

/* What json_parse and the lookups return when they fail (all negative). */
enum json_error {
	JSON_ERR_SYNTAX = -1,     /* not JSON, or not strict JSON */
	JSON_ERR_DEPTH = -2,      /* nested deeper than JSON_DEPTH_MAX */
	JSON_ERR_TOKENS = -3,     /* more values than the token array holds */
	JSON_ERR_TOO_LONG = -4,   /* text longer than JSON_TEXT_MAX */
	JSON_ERR_DUPLICATE = -5,  /* a member name twice in one object */
	JSON_ERR_NOT_OBJECT = -6, /* valid JSON, but not an object */
	JSON_ABSENT = -7,         /* lookup: no member of that name */
	JSON_ERR_TYPE = -8,       /* lookup: the member has another type (or a string has a NUL) */
	JSON_ERR_RANGE = -9,      /* lookup: does not fit the caller's buffer or an int64_t */
};

struct json_token {
	uint8_t type;   /* enum json_type */
	uint32_t start; /* the value's first byte in the text; a string's, after its quote */
	uint32_t len;   /* the value's bytes; a string's between its quotes, escapes as written */
	uint32_t count; /* object: members; array: elements; else 0 */
	uint32_t size;  /* tokens in this value, itself and its contents included */
};

struct json_doc {
	const char *text;
	const struct json_token *tokens;
	size_t count; /* tokens used */
};

/*
 * Reads text[0..len) into tokens[0..cap) and fills doc. Returns the number of tokens used
 * (> 0), or a json_error. Nothing else is written on failure but the tokens.
 */
int json_parse(struct json_doc *doc, const char *text, size_t len, struct json_token *tokens,
	       size_t cap);

/*
 * The lookups below take the index of an object token (0 for the outer object) and a member
 * name (UTF-8, NUL-terminated); they return JSON_ABSENT when there is no such member and
 * JSON_ERR_TYPE when obj is not an object or the member's value has the wrong type.
 */

/* The index of the member's value token, or a json_error. */
int json_find(const struct json_doc *doc, size_t obj, const char *name);

/*
 * Copies a string member, unescaped, as a NUL-terminated UTF-8 string into out[0..cap).
 * Returns its length in bytes, or JSON_ERR_RANGE when it needs more than cap - 1 bytes, or
 * JSON_ERR_TYPE when it contains U+0000 (it could not be a C string).
 */
int json_get_string(const struct json_doc *doc, size_t obj, const char *name, char *out,
		    size_t cap);

/*
 * Reads a number member as an integer, rounded down (RFC 7519 NumericDate may carry a
 * fraction: 1.9 reads as 1, -1.5 as -2; an exponent is applied: 1e3 reads as 1000).
 * Returns 0, or JSON_ERR_RANGE when the value lies outside int64_t.
 */
int json_get_int(const struct json_doc *doc, size_t obj, const char *name, int64_t *out);

/*
 * Copies an array of strings: element i, as json_get_string would, into
 * out + i * item_cap (item_cap bytes each, NUL included), at most max_items of them.
 * Returns the number of elements, or JSON_ERR_TYPE when the member is not an array or an
 * element not a string (or one holds U+0000), or JSON_ERR_RANGE when there are more than
 * max_items elements or one is too long.
 */
int json_get_string_array(const struct json_doc *doc, size_t obj, const char *name, char *out,
			  size_t item_cap, size_t max_items);

#endif
