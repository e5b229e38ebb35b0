/*
 * jsonw.h - writing JSON (RFC 8259) into a caller's buffer, snprintf-like: everything is
 * counted, what fits is written, so one pass with cap 0 sizes a buffer and a second fills it.
 * Used by the JSON feed (feed.c), the operators' API (operator.c) and the bans (bans.c).
 *
 * Commas: `first` is true right after a container opens; every member or element is preceded
 * by jw_sep, which writes a comma unless it is the first. Closing a container leaves `first`
 * false, since the container was itself an item of its parent. Strings are escaped: ", \ and
 * control characters (\t, \uXXXX); UTF-8 passes as it is.
 *
 * Owns: nothing. Pure code; any thread, each with its own struct jw.
 */
#ifndef CHATD_JSONW_H
#define CHATD_JSONW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct jw {
	char *out;
	size_t cap, len; /* len counts everything, written or not */
	bool first;
};

static inline struct jw jw_start(char *out, size_t cap)
{
	return (struct jw){ .out = out, .cap = cap, .len = 0, .first = true };
}

void jw_raw(struct jw *j, const char *s, size_t n);
void jw_lit(struct jw *j, const char *s);
/* s[0..n) escaped, without quotes. */
void jw_escaped(struct jw *j, const char *s, size_t n);
/* A comma unless this is the container's first item. */
void jw_sep(struct jw *j);

void jw_obj_begin(struct jw *j); /* "{" (an item of its parent: jw_sep first if nested) */
void jw_obj_end(struct jw *j);
/* "key":[ ... ] as a member. */
void jw_arr_begin(struct jw *j, const char *key);
void jw_arr_end(struct jw *j);

/* Members: "key":value. */
void jw_key(struct jw *j, const char *key);
void jw_str(struct jw *j, const char *key, const char *s, size_t n);
void jw_cstr(struct jw *j, const char *key, const char *s); /* nothing when s is NULL */
void jw_u64(struct jw *j, const char *key, uint64_t v);
void jw_i64(struct jw *j, const char *key, int64_t v);
void jw_bool(struct jw *j, const char *key, bool v);
void jw_null(struct jw *j, const char *key);

#endif
