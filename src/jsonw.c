/*
 * jsonw.c - see jsonw.h.
 */
#include "jsonw.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

void jw_raw(struct jw *j, const char *s, size_t n)
{
	if (j->len < j->cap) {
		size_t room = j->cap - j->len;
		memcpy(j->out + j->len, s, n < room ? n : room);
	}
	j->len += n;
}

void jw_lit(struct jw *j, const char *s)
{
	jw_raw(j, s, strlen(s));
}

void jw_escaped(struct jw *j, const char *s, size_t n)
{
	size_t run = 0; /* s[run..i) is copied as it is */
	for (size_t i = 0; i < n; i++) {
		unsigned char b = (unsigned char)s[i];
		if (b >= 0x20 && b != '"' && b != '\\')
			continue;
		jw_raw(j, s + run, i - run);
		run = i + 1;
		char esc[7];
		if (b == '"' || b == '\\')
			snprintf(esc, sizeof(esc), "\\%c", (char)b);
		else if (b == '\t')
			snprintf(esc, sizeof(esc), "\\t");
		else
			snprintf(esc, sizeof(esc), "\\u%04x", b);
		jw_lit(j, esc);
	}
	jw_raw(j, s + run, n - run);
}

void jw_sep(struct jw *j)
{
	if (!j->first)
		jw_raw(j, ",", 1);
	j->first = false;
}

void jw_obj_begin(struct jw *j)
{
	jw_raw(j, "{", 1);
	j->first = true;
}

void jw_obj_end(struct jw *j)
{
	jw_raw(j, "}", 1);
	j->first = false;
}

void jw_key(struct jw *j, const char *key)
{
	jw_sep(j);
	jw_raw(j, "\"", 1);
	jw_lit(j, key);
	jw_raw(j, "\":", 2);
}

void jw_arr_begin(struct jw *j, const char *key)
{
	jw_key(j, key);
	jw_raw(j, "[", 1);
	j->first = true;
}

void jw_arr_end(struct jw *j)
{
	jw_raw(j, "]", 1);
	j->first = false;
}

void jw_str(struct jw *j, const char *key, const char *s, size_t n)
{
	jw_key(j, key);
	jw_raw(j, "\"", 1);
	jw_escaped(j, s, n);
	jw_raw(j, "\"", 1);
}

void jw_cstr(struct jw *j, const char *key, const char *s)
{
	if (s != NULL)
		jw_str(j, key, s, strlen(s));
}

void jw_u64(struct jw *j, const char *key, uint64_t v)
{
	char num[24];
	jw_key(j, key);
	jw_raw(j, num, (size_t)snprintf(num, sizeof(num), "%" PRIu64, v));
}

void jw_i64(struct jw *j, const char *key, int64_t v)
{
	char num[24];
	jw_key(j, key);
	jw_raw(j, num, (size_t)snprintf(num, sizeof(num), "%" PRId64, v));
}

void jw_bool(struct jw *j, const char *key, bool v)
{
	jw_key(j, key);
	jw_lit(j, v ? "true" : "false");
}

void jw_null(struct jw *j, const char *key)
{
	jw_key(j, key);
	jw_lit(j, "null");
}
