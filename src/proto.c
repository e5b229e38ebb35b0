/*
 * proto.c - line framing, line validation and the server's wording (see proto.h).
 */
#include "proto.h"
#include "common.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- framing ---------------------------------------------------------------------------- */

static size_t strip_cr(const char *line, size_t len)
{
	return len > 0 && line[len - 1] == '\r' ? len - 1 : len;
}

void framer_reset(struct line_framer *f)
{
	free(f->buf);
	f->buf = NULL;
	f->len = 0;
	f->discarding = false;
}

/* Completes the kept partial line with data[0..nl) and delivers it. */
static bool finish_partial(struct line_framer *f, size_t max_line, const char *data, size_t nl,
			   line_fn fn, void *ctx)
{
	bool go_on;
	/* buf holds max_line + 1 bytes: a full-length line plus the \r of its \r\n. */
	if (f->len + nl > max_line + 1) {
		go_on = fn(ctx, LINE_TOO_LONG, NULL, 0);
	} else {
		memcpy(f->buf + f->len, data, nl);
		size_t text = strip_cr(f->buf, f->len + nl);
		go_on = text > max_line ? fn(ctx, LINE_TOO_LONG, NULL, 0)
					: fn(ctx, LINE_OK, f->buf, text);
	}
	free(f->buf);
	f->buf = NULL;
	f->len = 0;
	return go_on;
}

/* Keeps data[0..n) (no newline in it) as the start of a line, or starts discarding. */
static int keep_partial(struct line_framer *f, size_t max_line, const char *data, size_t n,
			line_fn fn, void *ctx)
{
	/* A line of max_line bytes may still be followed by \r before its \n. */
	if (f->len + n > max_line + 1) {
		free(f->buf);
		f->buf = NULL;
		f->len = 0;
		f->discarding = true;
		fn(ctx, LINE_TOO_LONG, NULL, 0);
		return 0;
	}
	if (f->buf == NULL) {
		f->buf = malloc(max_line + 1);
		if (f->buf == NULL)
			return -ENOMEM;
	}
	memcpy(f->buf + f->len, data, n);
	f->len += (uint32_t)n;
	return 0;
}

int framer_feed(struct line_framer *f, size_t max_line, const char *data, size_t n, line_fn fn,
		void *ctx)
{
	const char *p = data, *end = data + n;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		if (nl == NULL) {
			if (f->discarding)
				return 0;
			return keep_partial(f, max_line, p, (size_t)(end - p), fn, ctx);
		}
		size_t len = (size_t)(nl - p);
		bool go_on = true;
		if (f->discarding) {
			f->discarding = false; /* the over-long line ends here */
		} else if (f->len > 0) {
			go_on = finish_partial(f, max_line, p, len, fn, ctx);
		} else {
			size_t text = strip_cr(p, len);
			go_on = text > max_line ? fn(ctx, LINE_TOO_LONG, NULL, 0)
						: fn(ctx, LINE_OK, p, text);
		}
		if (!go_on)
			return 0;
		p = nl + 1;
	}
	return 0;
}

/* ---- validation ------------------------------------------------------------------------- */

/*
 * UTF-8 state: 0 = between characters; otherwise bits 0-1 hold the continuation bytes still
 * needed, bits 8-15 the lowest and bits 16-23 the highest allowed value of the next byte.
 * The bounds reject overlong forms (E0, F0), surrogates (ED) and values past U+10FFFF (F4).
 */
#define U8_STATE(need, lo, hi) ((uint32_t)(need) | (uint32_t)(lo) << 8 | (uint32_t)(hi) << 16)

static uint32_t utf8_lead(unsigned char b)
{
	if (b >= 0xC2 && b <= 0xDF)
		return U8_STATE(1, 0x80, 0xBF);
	if (b == 0xE0)
		return U8_STATE(2, 0xA0, 0xBF);
	if (b == 0xED)
		return U8_STATE(2, 0x80, 0x9F);
	if (b >= 0xE1 && b <= 0xEF)
		return U8_STATE(2, 0x80, 0xBF);
	if (b == 0xF0)
		return U8_STATE(3, 0x90, 0xBF);
	if (b >= 0xF1 && b <= 0xF3)
		return U8_STATE(3, 0x80, 0xBF);
	if (b == 0xF4)
		return U8_STATE(3, 0x80, 0x8F);
	return UINT32_MAX; /* 80..C1 (continuation or overlong lead), F5..FF */
}

bool utf8_feed(uint32_t *state, const unsigned char *s, size_t n)
{
	uint32_t st = *state;
	for (size_t i = 0; i < n; i++) {
		unsigned char b = s[i];
		if (st == 0) {
			if (b < 0x80)
				continue;
			st = utf8_lead(b);
			if (st == UINT32_MAX)
				return false;
			continue;
		}
		if (b < ((st >> 8) & 0xFF) || b > ((st >> 16) & 0xFF))
			return false;
		st = (st & 3) == 1 ? 0 : U8_STATE((st & 3) - 1, 0x80, 0xBF);
	}
	*state = st;
	return true;
}

static bool is_c0_or_del(unsigned char b)
{
	return (b < 0x20 && b != '\t') || b == 0x7F;
}

enum line_check proto_check_line(const char *s, size_t n)
{
	const unsigned char *u = (const unsigned char *)s;
	for (size_t i = 0; i < n; i++) {
		unsigned char b = u[i];
		if (b >= 0x20 && b < 0x7F)
			continue; /* printable ASCII: the common case */
		if (b < 0x80) {
			if (is_c0_or_del(b))
				return LINE_BAD_CONTROL;
			continue;
		}
		/* A multi-byte character: C1 controls are C2 80..C2 9F. */
		if (b == 0xC2 && i + 1 < n && u[i + 1] >= 0x80 && u[i + 1] <= 0x9F)
			return LINE_BAD_CONTROL;
		uint32_t st = 0;
		size_t k = i;
		do {
			if (!utf8_feed(&st, u + k, 1))
				return LINE_BAD_UTF8;
			k++;
		} while (st != 0 && k < n);
		if (st != 0)
			return LINE_BAD_UTF8; /* truncated at the end of the line */
		i = k - 1;
	}
	return LINE_VALID;
}

/* ---- wording ---------------------------------------------------------------------------- */

static size_t fmt_line(char *out, size_t cap, const char *fmt, va_list ap)
{
	int n = vsnprintf(out, cap, fmt, ap);
	if (n < 0 || cap < 2)
		return 0;
	size_t len = (size_t)n < cap - 1 ? (size_t)n : cap - 2;
	out[len++] = '\n';
	out[len] = '\0';
	return len;
}

static size_t say(char *out, size_t cap, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static size_t say(char *out, size_t cap, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	size_t n = fmt_line(out, cap, fmt, ap);
	va_end(ap);
	return n;
}

size_t proto_welcome(char *out, size_t cap, uint64_t name, long online)
{
	return say(out, cap,
		   PROTO_SERVER_PREFIX "Welcome, %llu. %ld user%s online. Type /help for commands.",
		   (unsigned long long)name, online, online == 1 ? "" : "s");
}

size_t proto_entered(char *out, size_t cap, const char *name)
{
	return say(out, cap, PROTO_SERVER_PREFIX "%s has entered.", name);
}

size_t proto_left(char *out, size_t cap, const char *name, const char *reason, size_t reason_len)
{
	if (reason_len == 0)
		return say(out, cap, PROTO_SERVER_PREFIX "%s has left.", name);
	return say(out, cap, PROTO_SERVER_PREFIX "%s has left (%.*s).", name, (int)reason_len,
		   reason);
}

size_t proto_summary(char *out, size_t cap, long entered, long left)
{
	if (left == 0)
		return say(out, cap, PROTO_SERVER_PREFIX "%ld user%s entered.", entered,
			   entered == 1 ? "" : "s");
	if (entered == 0)
		return say(out, cap, PROTO_SERVER_PREFIX "%ld user%s left.", left,
			   left == 1 ? "" : "s");
	return say(out, cap, PROTO_SERVER_PREFIX "%ld user%s entered, %ld left.", entered,
		   entered == 1 ? "" : "s", left);
}

size_t proto_shutdown(char *out, size_t cap)
{
	return say(out, cap, PROTO_SERVER_PREFIX "Server shutting down.");
}

size_t proto_vserver_line(char *out, size_t cap, bool error, const char *fmt, va_list ap)
{
	int k = snprintf(out, cap, PROTO_SERVER_PREFIX "%s", error ? "error: " : "");
	if (k < 0 || (size_t)k >= cap)
		return 0;
	return (size_t)k + fmt_line(out + k, cap - (size_t)k, fmt, ap);
}

size_t proto_error(char *out, size_t cap, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	size_t n = proto_vserver_line(out, cap, true, fmt, ap);
	va_end(ap);
	return n;
}

size_t proto_notice(char *out, size_t cap, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	size_t n = proto_vserver_line(out, cap, false, fmt, ap);
	va_end(ap);
	return n;
}

size_t proto_chat_prefix(char *out, const char *name)
{
	size_t n = strlen(name);
	/* NOLINTNEXTLINE(bugprone-not-null-terminated-result): a length-counted prefix, no NUL */
	memcpy(out, name, n);
	out[n] = ':';
	return n + 1;
}
