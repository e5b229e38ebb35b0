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
#include <time.h>

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
		f->limit = (uint32_t)max_line;
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
			return keep_partial(f, f->buf != NULL ? f->limit : max_line, p,
					    (size_t)(end - p), fn, ctx);
		}
		size_t len = (size_t)(nl - p);
		bool go_on = true;
		if (f->discarding) {
			f->discarding = false; /* the over-long line ends here */
		} else if (f->len > 0) {
			go_on = finish_partial(f, f->limit, p, len, fn, ctx);
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

/* The length of the character whose lead byte is b (1 for a stray byte: never over-reads). */
static size_t char_len(unsigned char b)
{
	return b < 0xC0 ? 1 : b < 0xE0 ? 2 : b < 0xF0 ? 3 : 4;
}

/*
 * Decodes the character starting at s[0] (s[0] >= 0x80, n >= 1 bytes available) into *cp;
 * returns its length, or 0 when it is malformed or cut off.
 */
static size_t utf8_decode(const unsigned char *s, size_t n, uint32_t *cp)
{
	uint32_t st = utf8_lead(s[0]);
	if (st == UINT32_MAX)
		return 0;
	size_t need = st & 3;
	if (n <= need || s[1] < ((st >> 8) & 0xFF) || s[1] > ((st >> 16) & 0xFF))
		return 0;
	uint32_t c = s[0] & (0x7Fu >> (need + 1));
	for (size_t k = 1; k <= need; k++) {
		if ((s[k] & 0xC0) != 0x80)
			return 0;
		c = c << 6 | (s[k] & 0x3Fu);
	}
	*cp = c;
	return need + 1;
}

/* Bidi embeddings, overrides and isolates, line and paragraph separators, and invisible
 * format characters: refused wherever they are (docs/protocol.md, "Text"). */
static bool is_refused_format(uint32_t cp)
{
	return cp == 0x180E || cp == 0x200B || (cp >= 0x2028 && cp <= 0x202E) ||
	       (cp >= 0x2060 && cp <= 0x2064) || (cp >= 0x2066 && cp <= 0x206F) || cp == 0xFEFF ||
	       (cp >= 0xFFF9 && cp <= 0xFFFB);
}

static bool is_joiner(uint32_t cp)
{
	return cp == 0x200C || cp == 0x200D;
}

/* Neither a blank (space, tab, the Unicode spaces), a control, a format character nor a
 * joiner: something a joiner may stand next to. */
static bool is_visible(uint32_t cp)
{
	if (cp <= 0x20 || (cp >= 0x7F && cp <= 0xA0))
		return false;
	if (cp == 0x1680 || (cp >= 0x2000 && cp <= 0x200A) || cp == 0x202F || cp == 0x205F ||
	    cp == 0x3000)
		return false;
	return !is_joiner(cp) && !is_refused_format(cp);
}

/* The code point at s[i] (ASCII or a complete character); false when malformed. */
static bool char_at(const unsigned char *s, size_t n, size_t i, uint32_t *cp)
{
	if (s[i] < 0x80) {
		*cp = s[i];
		return true;
	}
	return utf8_decode(s + i, n - i, cp) != 0;
}

/*
 * A joiner at s[i..i+k) is allowed between two visible characters only (so a family emoji,
 * man ZWJ woman ZWJ girl, passes). s[0..i) is already valid. When the next character is
 * malformed the joiner is let through: the line is then refused as invalid UTF-8.
 */
static bool joiner_misplaced(const unsigned char *s, size_t n, size_t i, size_t k)
{
	if (i == 0 || i + k >= n)
		return true;
	size_t j = i - 1;
	while (j > 0 && (s[j] & 0xC0) == 0x80)
		j--;
	uint32_t prev, next;
	if (!char_at(s, i, j, &prev) || !is_visible(prev))
		return true;
	if (!char_at(s, n, i + k, &next))
		return false;
	return !is_visible(next);
}

/* A refusal of the character starting at byte i; counts characters, on the error path only. */
static struct line_verdict refuse(enum line_check kind, uint32_t cp, const unsigned char *s,
				  size_t i)
{
	size_t chars = 1;
	for (size_t k = 0; k < i; k++)
		chars += (s[k] & 0xC0) != 0x80;
	return (struct line_verdict){ kind, cp, chars };
}

struct line_verdict proto_check_line(const char *s, size_t n)
{
	const unsigned char *u = (const unsigned char *)s;
	for (size_t i = 0; i < n; i++) {
		unsigned char b = u[i];
		if (b >= 0x20 && b < 0x7F)
			continue; /* printable ASCII: the common case */
		if (b < 0x80) {
			if (b == '\t')
				continue;
			return refuse(LINE_BAD_CONTROL, b, u, i);
		}
		uint32_t cp;
		size_t k = utf8_decode(u + i, n - i, &cp);
		if (k == 0)
			return (struct line_verdict){ LINE_BAD_UTF8, 0, i + 1 };
		if (cp <= 0x9F)
			return refuse(LINE_BAD_CONTROL, cp, u, i); /* C1: C2 80..C2 9F */
		/* Every refused format character and both joiners are 3 bytes long. */
		if (k == 3 && cp >= 0x180E && (cp <= 0x206F || cp >= 0xFEFF)) {
			if (is_refused_format(cp) ||
			    (is_joiner(cp) && joiner_misplaced(u, n, i, k)))
				return refuse(LINE_BAD_FORMAT, cp, u, i);
		}
		i += k - 1;
	}
	return (struct line_verdict){ LINE_VALID, 0, 0 };
}

struct char_name {
	uint32_t cp;
	const char *name;
};

static const struct char_name char_names[] = {
	{ 0x0000, "NULL" },
	{ 0x0007, "BELL" },
	{ 0x0008, "BACKSPACE" },
	{ 0x000A, "LINE FEED" },
	{ 0x000B, "LINE TABULATION" },
	{ 0x000C, "FORM FEED" },
	{ 0x000D, "CARRIAGE RETURN" },
	{ 0x001B, "ESCAPE" },
	{ 0x007F, "DELETE" },
	{ 0x0085, "NEXT LINE" },
	{ 0x009B, "CONTROL SEQUENCE INTRODUCER" },
	{ 0x180E, "MONGOLIAN VOWEL SEPARATOR" },
	{ 0x200B, "ZERO WIDTH SPACE" },
	{ 0x200C, "ZERO WIDTH NON-JOINER" },
	{ 0x200D, "ZERO WIDTH JOINER" },
	{ 0x2028, "LINE SEPARATOR" },
	{ 0x2029, "PARAGRAPH SEPARATOR" },
	{ 0x202A, "LEFT-TO-RIGHT EMBEDDING" },
	{ 0x202B, "RIGHT-TO-LEFT EMBEDDING" },
	{ 0x202C, "POP DIRECTIONAL FORMATTING" },
	{ 0x202D, "LEFT-TO-RIGHT OVERRIDE" },
	{ 0x202E, "RIGHT-TO-LEFT OVERRIDE" },
	{ 0x2060, "WORD JOINER" },
	{ 0x2061, "FUNCTION APPLICATION" },
	{ 0x2062, "INVISIBLE TIMES" },
	{ 0x2063, "INVISIBLE SEPARATOR" },
	{ 0x2064, "INVISIBLE PLUS" },
	{ 0x2066, "LEFT-TO-RIGHT ISOLATE" },
	{ 0x2067, "RIGHT-TO-LEFT ISOLATE" },
	{ 0x2068, "FIRST STRONG ISOLATE" },
	{ 0x2069, "POP DIRECTIONAL ISOLATE" },
	{ 0x206A, "INHIBIT SYMMETRIC SWAPPING" },
	{ 0x206B, "ACTIVATE SYMMETRIC SWAPPING" },
	{ 0x206C, "INHIBIT ARABIC FORM SHAPING" },
	{ 0x206D, "ACTIVATE ARABIC FORM SHAPING" },
	{ 0x206E, "NATIONAL DIGIT SHAPES" },
	{ 0x206F, "NOMINAL DIGIT SHAPES" },
	{ 0xFEFF, "ZERO WIDTH NO-BREAK SPACE" },
	{ 0xFFF9, "INTERLINEAR ANNOTATION ANCHOR" },
	{ 0xFFFA, "INTERLINEAR ANNOTATION SEPARATOR" },
	{ 0xFFFB, "INTERLINEAR ANNOTATION TERMINATOR" },
};

const char *proto_char_name(uint32_t cp)
{
	for (size_t i = 0; i < sizeof(char_names) / sizeof(char_names[0]); i++)
		if (char_names[i].cp == cp)
			return char_names[i].name;
	return "control character";
}

size_t utf8_cut(const char *s, size_t n)
{
	const unsigned char *u = (const unsigned char *)s;
	if (n == 0)
		return 0;
	size_t last = n - 1; /* back to where the last character starts: 3 bytes at most */
	while (last > 0 && n - last < 4 && (u[last] & 0xC0) == 0x80)
		last--;
	return last + char_len(u[last]) > n ? last : n;
}

/* ---- wording ---------------------------------------------------------------------------- */

/* A generated name (a connection id in decimal) is a name: PROTO_LINE_MAX counts names as
 * NAME_MAX_LEN bytes. */
_Static_assert(DECIMAL_LEN_MAX(uint64_t) - 1 <= NAME_MAX_LEN, "a generated name is too long");

/* Formats one line into out[0..cap) and ends it with \n; a line that does not fit is cut on a
 * character boundary, so the server never sends half a character. */
static size_t fmt_line(char *out, size_t cap, const char *fmt, va_list ap)
{
	int n = vsnprintf(out, cap, fmt, ap);
	if (n < 0 || cap < 2)
		return 0;
	size_t len = (size_t)n < cap - 1 ? (size_t)n : utf8_cut(out, cap - 2);
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

/* Whether the character of k bytes at s[i] is escaped with a backslash inside quotes. */
static bool quote_escapes(const char *s, size_t i, size_t k)
{
	return k == 1 && (s[i] == '"' || s[i] == '\\');
}

/* The bytes the character of k bytes at s[i] takes inside quotes. */
static size_t quoted_width(const char *s, size_t i, size_t k)
{
	return quote_escapes(s, i, k) ? k + 1 : k;
}

/*
 * Writes s[0..n) quoted (see proto.h) into q[0..qcap) (qcap >= 1) with its NUL: `"TEXT"` or,
 * cut, `"TE"...`. Returns the length; writes "" when qcap is too small for even that.
 */
static size_t quote(char *q, size_t qcap, const char *s, size_t n)
{
	if (qcap < sizeof("\"\"...")) {
		q[0] = '\0';
		return 0;
	}
	size_t lim = n > PROTO_QUOTE_MAX ? utf8_cut(s, PROTO_QUOTE_MAX) : n, need = 0;
	for (size_t i = 0; i < lim; i++)
		need += quoted_width(s, i, 1);
	bool cut = lim < n || need + sizeof("\"\"") > qcap;
	size_t room = qcap - (cut ? sizeof("\"\"...") : sizeof("\"\"")), len = 0, out = 1;
	q[0] = '"';
	while (len < lim) {
		size_t k = char_len((unsigned char)s[len]);
		if (k > lim - len)
			k = lim - len;
		size_t wd = quoted_width(s, len, k);
		if (out - 1 + wd > room)
			break;
		if (quote_escapes(s, len, k))
			q[out++] = '\\';
		memcpy(q + out, s + len, k);
		if (s[len] == '\t')
			q[out] = ' ';
		out += k;
		len += k;
	}
	q[out++] = '"';
	if (cut)
		for (int i = 0; i < 3; i++)
			q[out++] = '.';
	q[out] = '\0';
	return out;
}

/* A quote of s sized so that a line of `fixed` other bytes (\n included) fits in cap. */
static size_t quote_for(char *q, size_t qcap, size_t cap, size_t fixed, const char *s, size_t n)
{
	size_t fit = cap > fixed ? cap - fixed : 0;
	if (fit == 0) {
		q[0] = '\0';
		return 0;
	}
	return quote(q, fit < qcap ? fit : qcap, s, n);
}

/* Room for a quoted text and its NUL. */
#define QUOTE_BUF (PROTO_QUOTED_MAX + 1)

size_t proto_left(char *out, size_t cap, const char *name, const char *reason, size_t reason_len)
{
	if (reason_len == 0)
		return say(out, cap, PROTO_SERVER_PREFIX "%s has left.", name);
	char q[QUOTE_BUF];
	size_t fixed = strlen(PROTO_SERVER_PREFIX " has left ().\n") + strlen(name);
	quote_for(q, sizeof(q), cap, fixed, reason, reason_len);
	return say(out, cap, PROTO_SERVER_PREFIX "%s has left (%s).", name, q);
}

size_t proto_no_such_user(char *out, size_t cap, const char *name, size_t n)
{
	char q[QUOTE_BUF];
	quote_for(q, sizeof(q), cap, strlen(PROTO_SERVER_PREFIX "error: no such user: .\n"), name,
		  n);
	return say(out, cap, PROTO_SERVER_PREFIX "error: no such user: %s.", q);
}

size_t proto_line_refused(char *out, size_t cap, const struct line_verdict *v)
{
	switch (v->kind) {
	case LINE_BAD_UTF8:
		return say(out, cap,
			   PROTO_SERVER_PREFIX "error: invalid UTF-8 at byte %zu; line dropped.",
			   v->pos);
	case LINE_BAD_CONTROL:
	case LINE_BAD_FORMAT:
		return say(out, cap,
			   PROTO_SERVER_PREFIX
			   "error: U+%04X (%s) at character %zu is %s; line dropped.",
			   (unsigned)v->cp, proto_char_name(v->cp), v->pos,
			   is_joiner(v->cp) ? "allowed only between two visible characters"
					    : "not allowed");
	case LINE_VALID:
		break;
	}
	return 0;
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

size_t proto_cluster_down(char *out, size_t cap)
{
	return say(out, cap, PROTO_CLUSTER_DOWN);
}

size_t proto_cluster_back(char *out, size_t cap)
{
	return say(out, cap, PROTO_CLUSTER_BACK);
}

size_t proto_cluster_dropped(char *out, size_t cap)
{
	return say(out, cap, PROTO_CLUSTER_DROPPED);
}

size_t proto_name_lost(char *out, size_t cap, const char *old, const char *name)
{
	return say(out, cap,
		   PROTO_SERVER_PREFIX "The name %s is taken on another server: you are now %s.",
		   old, name);
}

/* ---- what the server says to one user ----------------------------------------------------- */

static const char *plural(long n)
{
	return n == 1 ? "" : "s";
}

size_t proto_joined(char *out, size_t cap, const char *room, long members)
{
	return say(out, cap, PROTO_SERVER_PREFIX "You are now in %s. %ld user%s here.", room,
		   members, plural(members));
}

size_t proto_renamed(char *out, size_t cap, const char *old, const char *name)
{
	return say(out, cap, PROTO_SERVER_PREFIX "%s is now known as %s.", old, name);
}

size_t proto_goodbye(char *out, size_t cap)
{
	return say(out, cap, PROTO_SERVER_PREFIX "Goodbye.");
}

size_t proto_name_taken(char *out, size_t cap, const char *name, size_t n)
{
	return say(out, cap, PROTO_SERVER_PREFIX "error: the name %.*s is taken.", (int)n, name);
}

size_t proto_already_in(char *out, size_t cap, const char *room, size_t n)
{
	return say(out, cap, PROTO_SERVER_PREFIX "error: you are already in %.*s.", (int)n, room);
}

size_t proto_too_many_rooms(char *out, size_t cap, int max_rooms)
{
	return say(out, cap,
		   PROTO_SERVER_PREFIX "error: too many rooms (max %d); join an existing one "
				       "(/rooms).",
		   max_rooms);
}

size_t proto_cannot_enter(char *out, size_t cap, const char *room, int err)
{
	return say(out, cap, PROTO_SERVER_PREFIX "error: cannot enter %s: %s.", room,
		   err == -ENOSPC ? "too many rooms" : "out of memory");
}

static const char *const nomem_consequences[] = {
	[PROTO_NOMEM_LINE_NOT_SENT] = "your line was not sent",
	[PROTO_NOMEM_NAME_UNCHANGED] = "name unchanged",
	[PROTO_NOMEM_ROOM_NOT_TOLD] = "your new name is set, but the room was not told",
	[PROTO_NOMEM_STAY] = "you stay where you are",
	[PROTO_NOMEM_NO_LIST] = "no list this time",
	[PROTO_NOMEM_MESSAGE_NOT_SENT] = "your message was not sent",
	[PROTO_NOMEM_ECHO_NOT_SENT] = "your message was sent, but not its echo",
	[PROTO_NOMEM_DISCONNECTING] = "disconnecting",
};
_Static_assert(ARRAY_LEN(nomem_consequences) == PROTO_NOMEM_DISCONNECTING + 1,
	       "a consequence without its text");

size_t proto_out_of_memory(char *out, size_t cap, enum proto_nomem consequence)
{
	const char *what = (size_t)consequence < ARRAY_LEN(nomem_consequences)
			       ? nomem_consequences[consequence]
			       : "disconnecting";
	return say(out, cap, PROTO_SERVER_PREFIX "error: server out of memory; %s.", what);
}

size_t proto_command_error(char *out, size_t cap, const char *error)
{
	return say(out, cap, PROTO_SERVER_PREFIX "error: %s", error);
}

size_t proto_rate_limited(char *out, size_t cap, int limit)
{
	return say(out, cap,
		   PROTO_SERVER_PREFIX "error: slow down: more than %d lines a second; line "
				       "dropped.",
		   limit);
}

size_t proto_flooding(char *out, size_t cap, int limit)
{
	return say(out, cap,
		   PROTO_SERVER_PREFIX "error: flooding: more than %d lines a second; "
				       "disconnecting.",
		   limit);
}

size_t proto_line_too_long(char *out, size_t cap, size_t max_line)
{
	return say(out, cap, PROTO_SERVER_PREFIX "error: line too long (max %zu bytes); dropped.",
		   max_line);
}

size_t proto_too_slow(char *out, size_t cap, size_t max_outbuf)
{
	return say(out, cap,
		   PROTO_SERVER_PREFIX "error: too slow: more than %zu bytes queued for you; "
				       "disconnecting.",
		   max_outbuf);
}

size_t proto_evicted(char *out, size_t cap, size_t cost)
{
	return say(out, cap,
		   PROTO_SERVER_PREFIX "error: server out of memory: your connection held %zu "
				       "bytes, among the most; disconnecting.",
		   cost);
}

size_t proto_server_full(char *out, size_t cap, int max_clients)
{
	return say(out, cap, PROTO_SERVER_PREFIX "error: server full (%d users); try again later.",
		   max_clients);
}

size_t proto_server_busy(char *out, size_t cap)
{
	return say(out, cap,
		   PROTO_SERVER_PREFIX "error: server busy (out of memory); try again later.");
}

size_t proto_too_many_from(char *out, size_t cap, const char *addr, int max)
{
	return say(out, cap,
		   PROTO_SERVER_PREFIX "error: too many connections from %s (max %d); try again "
				       "later.",
		   addr, max);
}

size_t proto_proxy_only(char *out, size_t cap)
{
	return say(out, cap,
		   PROTO_SERVER_PREFIX "error: this server takes connections through its proxies "
				       "only.");
}

const char proto_help[] =
    "* Commands:\n"
    "*   /nick NAME       change your name (letters, digits, _ and -; starts with a letter)\n"
    "*   /join ROOM [KEY] leave this room and enter ROOM (created if new; KEY if it has one)\n"
    "*   /rooms           list the rooms and how many are in each\n"
    "*   /who             list who is in this room\n"
    "*   /msg NAME TEXT   send TEXT to NAME only\n"
    "*   /me TEXT         an action: + NAME TEXT\n"
    "*   /history [N]     the room's last N lines again (all it keeps without N)\n"
    "*   /auth TOKEN      sign in with a token from the website (your name, vouched for)\n"
    "*   /quit [REASON]   leave the server\n"
    "*   /help            this list\n"
    "* Running a room (whoever creates a room is its operator):\n"
    "*   /topic [TEXT]    show the room's topic, or set it (/topic - clears it)\n"
    "*   /op NAME         make NAME an operator too (/deop NAME: no longer)\n"
    "*   /voice NAME      let NAME speak in a moderated room (/devoice NAME: no longer)\n"
    "*   /kick NAME [WHY] send NAME out of the room, to the lobby\n"
    "*   /ban MASK        ban a name, an address range or a glob like 10.0.0.* (/unban, /bans)\n"
    "*   /key KEY         enter only with /join ROOM KEY (/key -: no key)\n"
    "*   /limit N         at most N members (/limit -: no limit)\n"
    "*   /invite NAME     let NAME in once when the room is invite-only\n"
    "*   /mode [+X|-X]    show the modes, or set one: i invite-only, m moderated, s secret,\n"
    "*                    t topic by operators only (also +k KEY, +l N, +o/+v NAME, +b MASK)\n"
    "* Anything else is said to the room; start a line with // to say one that begins with /.\n";

/* ---- the /who and /rooms answers ------------------------------------------------------------ */

size_t proto_no_room(char *out, size_t cap)
{
	return say(out, cap, PROTO_SERVER_PREFIX "You are in no room.");
}

/* A line built in pieces: len counts what the pieces took, even past cap. */
struct line_parts {
	char *out;
	size_t cap, len;
};

static void parts_add(struct line_parts *p, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void parts_add(struct line_parts *p, const char *fmt, ...)
{
	if (p->len >= p->cap)
		return; /* already cut */
	va_list ap;
	va_start(ap, fmt);
	int k = vsnprintf(p->out + p->len, p->cap - p->len, fmt, ap);
	va_end(ap);
	if (k > 0)
		p->len += (size_t)k;
}

/* Ends the line with \n as fmt_line does: cut on a character boundary when it did not fit. */
static size_t parts_end(struct line_parts *p)
{
	if (p->cap < 2) {
		if (p->cap == 1)
			p->out[0] = '\0';
		return 0;
	}
	size_t len = p->len < p->cap - 1 ? p->len : utf8_cut(p->out, p->cap - 2);
	p->out[len++] = '\n';
	p->out[len] = '\0';
	return len;
}

size_t proto_who(char *out, size_t cap, const char *room, long members, const char *const *names,
		 size_t n)
{
	struct line_parts p = { out, cap, 0 };
	parts_add(&p, PROTO_SERVER_PREFIX "%ld user%s in %s:", members, plural(members), room);
	/* Each name leaves room for the longest " and N more", the \n and the NUL. */
	const size_t more_max = sizeof(" and  more\n") + DECIMAL_LEN_MAX(long);
	size_t shown = 0;
	for (; shown < n; shown++) {
		size_t width = strlen(names[shown]) + (shown == 0 ? 1 : 2);
		if (p.len + width + more_max > cap)
			break;
		parts_add(&p, "%s %s", shown == 0 ? "" : ",", names[shown]);
	}
	if ((long)shown < members)
		parts_add(&p, " and %ld more", members - (long)shown);
	return parts_end(&p);
}

size_t proto_rooms_head(char *out, size_t cap, long rooms)
{
	return say(out, cap, PROTO_SERVER_PREFIX "%ld room%s:", rooms, plural(rooms));
}

size_t proto_rooms_entry(char *out, size_t cap, const char *room, long members)
{
	return say(out, cap, PROTO_SERVER_PREFIX "  %s %ld", room, members);
}

size_t proto_rooms_more(char *out, size_t cap, long more)
{
	return say(out, cap, PROTO_SERVER_PREFIX "  and %ld more", more);
}

size_t proto_signed_in(char *out, size_t cap, const char *name)
{
	return say(out, cap, PROTO_SERVER_PREFIX "You are signed in as %s.", name);
}

size_t proto_auth_refused(char *out, size_t cap, const char *why)
{
	return say(out, cap, PROTO_SERVER_PREFIX "error: sign-in refused: %.*s.",
		   (int)PROTO_AUTH_WHY_MAX, why);
}

size_t proto_sign_in_first(char *out, size_t cap)
{
	return say(out, cap, PROTO_SIGN_IN_FIRST);
}

size_t proto_guest_refused(char *out, size_t cap)
{
	return say(out, cap, PROTO_GUEST_REFUSED);
}

size_t proto_name_reclaimed(char *out, size_t cap, const char *old, const char *name)
{
	return say(out, cap,
		   PROTO_SERVER_PREFIX "The name %s belongs to a signed-in user: you are now %s.",
		   old, name);
}

size_t proto_history_head(char *out, size_t cap, long lines, const char *room)
{
	if (lines == 1)
		return say(out, cap, PROTO_SERVER_PREFIX "Last line in %s:", room);
	return say(out, cap, PROTO_SERVER_PREFIX "Last %ld lines in %s:", lines, room);
}

size_t proto_history_end(char *out, size_t cap)
{
	return say(out, cap, PROTO_SERVER_PREFIX "(end of history)");
}

size_t proto_history_none(char *out, size_t cap, const char *room)
{
	return say(out, cap, PROTO_SERVER_PREFIX "No lines kept in %s yet.", room);
}

size_t proto_kicked(char *out, size_t cap, const char *reason)
{
	if (reason[0] == '\0')
		return say(out, cap, PROTO_SERVER_PREFIX "You were removed by an operator.");
	return say(out, cap, PROTO_SERVER_PREFIX "You were removed by an operator: %s.", reason);
}

size_t proto_banned(char *out, size_t cap, const char *reason, int64_t until_ms)
{
	char until[48] = "";
	if (until_ms > 0) {
		time_t t = (time_t)(until_ms / 1000);
		struct tm tm;
		if (gmtime_r(&t, &tm) == NULL ||
		    strftime(until, sizeof(until), " (until %Y-%m-%d %H:%M UTC)", &tm) == 0)
			until[0] = '\0';
	}
	return say(out, cap, PROTO_SERVER_PREFIX "error: you are banned from this server%s%s%s.",
		   reason[0] != '\0' ? ": " : "", reason, until);
}

size_t proto_name_banned(char *out, size_t cap, const char *name, size_t n, const char *reason)
{
	return say(out, cap, PROTO_SERVER_PREFIX "error: the name %.*s is banned%s%s.", (int)n,
		   name, reason[0] != '\0' ? ": " : "", reason);
}

size_t proto_gap(char *out, size_t cap, const char *room, int64_t missed)
{
	if (missed < 0)
		return say(out, cap,
			   PROTO_SERVER_PREFIX "Lines said in %s while you were away may be "
					       "missing: its history began again.",
			   room);
	return say(out, cap,
		   PROTO_SERVER_PREFIX "%lld line%s said in %s while you were away %s no longer "
				       "kept.",
		   (long long)missed, plural((long)missed), room, missed == 1 ? "is" : "are");
}

/* Two decimal digits of v (0-99). */
static void two_digits(char *out, int v)
{
	out[0] = (char)('0' + v / 10 % 10);
	out[1] = (char)('0' + v % 10);
}

void proto_history_stamp(char out[PROTO_STAMP_LEN + 1], int64_t time_ms)
{
	time_t t = (time_t)(time_ms / 1000);
	struct tm tm;
	if (gmtime_r(&t, &tm) == NULL)
		memset(&tm, 0, sizeof(tm));
	memcpy(out, "[00:00:00] ", PROTO_STAMP_LEN + 1);
	two_digits(out + 1, tm.tm_hour);
	two_digits(out + 4, tm.tm_min);
	two_digits(out + 7, tm.tm_sec);
}

/* ---- free-form server lines ---------------------------------------------------------------- */

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

struct user_line_form {
	const char *head, *tail; /* around the name; the text follows the tail */
};

static const struct user_line_form user_line_forms[] = {
	[USER_CHAT] = { "", ":" },
	[USER_ACTION] = { "+ ", " " },
	[USER_PRIVATE] = { "(private) ", ":" },
	[USER_ECHO] = { PROTO_SERVER_PREFIX "to ", ": " },
};

size_t proto_user_line_len(enum user_line kind, const char *name, size_t text_len)
{
	const struct user_line_form *f = &user_line_forms[kind];
	return strlen(f->head) + strlen(name) + strlen(f->tail) + text_len + 1;
}

static char *put(char *p, const char *s, size_t n)
{
	memcpy(p, s, n);
	return p + n;
}

size_t proto_user_line(char *out, enum user_line kind, const char *name, const char *text,
		       size_t text_len)
{
	const struct user_line_form *f = &user_line_forms[kind];
	char *p = put(out, f->head, strlen(f->head));
	p = put(p, name, strlen(name));
	p = put(p, f->tail, strlen(f->tail));
	char *t = p;
	p = put(p, text, text_len);
	/* A tab is relayed as one space: nothing can be pushed into another column. */
	for (char *tab = memchr(t, '\t', text_len); tab != NULL;
	     tab = memchr(tab + 1, '\t', (size_t)(p - tab - 1)))
		*tab = ' ';
	*p++ = '\n';
	return (size_t)(p - out);
}
