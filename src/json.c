/*
 * json.c - see json.h. A recursive-descent reader over RFC 8259's grammar, bounded by
 * JSON_DEPTH_MAX (so is its recursion), writing tokens in document order; and a byte
 * reader that unescapes a string token, shared by name comparison and copying.
 */
#include "json.h"

#include <stdbool.h>
#include <string.h>

struct parser {
	const char *s;
	size_t len;
	size_t pos;
	struct json_token *tok;
	size_t cap;
	size_t used;
};

/* ---- strings, once checked: a byte at a time, unescaped ---------------------------------- */

/* Reads a JSON string's raw bytes (as checked by parse_string) or plain bytes. */
struct reader {
	const char *s;
	size_t n, i;
	bool json;      /* s is a JSON string's inside: undo escapes */
	uint8_t buf[4]; /* the UTF-8 of an escape, being handed out */
	size_t blen, bpos;
};

/* The value of a hex digit, or -1. */
static int hex_value(char c)
{
	static const char digits[] = "0123456789abcdefABCDEF";
	const char *d = memchr(digits, c, sizeof(digits) - 1);
	if (d == NULL)
		return -1;
	return d - digits < 16 ? (int)(d - digits) : (int)(d - digits) - 6;
}

/* The 4 hex digits at s (checked beforehand when they come from a token); -1 when not hex. */
static long hex4(const char *s)
{
	long v = 0;
	for (int i = 0; i < 4; i++) {
		int d = hex_value(s[i]);
		if (d < 0)
			return -1;
		v = v << 4 | d;
	}
	return v;
}

static size_t utf8_put(uint32_t cp, uint8_t out[4])
{
	if (cp < 0x80) {
		out[0] = (uint8_t)cp;
		return 1;
	}
	if (cp < 0x800) {
		out[0] = (uint8_t)(0xC0 | cp >> 6);
		out[1] = (uint8_t)(0x80 | (cp & 0x3F));
		return 2;
	}
	if (cp < 0x10000) {
		out[0] = (uint8_t)(0xE0 | cp >> 12);
		out[1] = (uint8_t)(0x80 | (cp >> 6 & 0x3F));
		out[2] = (uint8_t)(0x80 | (cp & 0x3F));
		return 3;
	}
	out[0] = (uint8_t)(0xF0 | cp >> 18);
	out[1] = (uint8_t)(0x80 | (cp >> 12 & 0x3F));
	out[2] = (uint8_t)(0x80 | (cp >> 6 & 0x3F));
	out[3] = (uint8_t)(0x80 | (cp & 0x3F));
	return 4;
}

/* Decodes the escape at r->s[r->i] (just after its backslash) into r->buf. */
static void reader_unescape(struct reader *r)
{
	static const char from[] = "\"\\/bfnrt";
	static const char to[] = "\"\\/\b\f\n\r\t";
	char c = r->s[r->i++];
	r->bpos = 0;
	r->blen = 1;
	if (c != 'u') {
		r->buf[0] = (uint8_t)to[strchr(from, c) - from];
		return;
	}
	uint32_t cp = (uint32_t)hex4(r->s + r->i);
	r->i += 4;
	if (cp >= 0xD800 && cp <= 0xDBFF) { /* a high surrogate: "\uDCxx" follows */
		cp = 0x10000 + ((cp - 0xD800) << 10) + ((uint32_t)hex4(r->s + r->i + 2) - 0xDC00);
		r->i += 6;
	}
	r->blen = utf8_put(cp, r->buf);
}

/* The next byte, or -1 at the end. */
static int reader_next(struct reader *r)
{
	if (r->bpos < r->blen)
		return r->buf[r->bpos++];
	if (r->i >= r->n)
		return -1;
	char c = r->s[r->i++];
	if (!r->json || c != '\\')
		return (uint8_t)c;
	reader_unescape(r);
	return r->buf[r->bpos++];
}

static struct reader reader_of_token(const struct json_doc *doc, const struct json_token *t)
{
	return (struct reader){ .s = doc->text + t->start, .n = t->len, .json = true };
}

static bool readers_equal(struct reader a, struct reader b)
{
	for (;;) {
		int x = reader_next(&a), y = reader_next(&b);
		if (x != y)
			return false;
		if (x < 0)
			return true;
	}
}

/* Copies a string token into out[0..cap) with a NUL: its length, or a json_error. */
static int string_copy(const struct json_doc *doc, const struct json_token *t, char *out,
		       size_t cap)
{
	struct reader r = reader_of_token(doc, t);
	size_t n = 0;
	for (int c; (c = reader_next(&r)) >= 0; n++) {
		if (c == 0)
			return JSON_ERR_TYPE;
		if (n + 1 >= cap)
			return JSON_ERR_RANGE;
		out[n] = (char)c;
	}
	if (cap == 0)
		return JSON_ERR_RANGE;
	out[n] = '\0';
	return (int)n;
}

/* ---- the parser ----------------------------------------------------------------------------- */

static void skip_space(struct parser *p)
{
	while (p->pos < p->len && (p->s[p->pos] == ' ' || p->s[p->pos] == '\t' ||
				   p->s[p->pos] == '\n' || p->s[p->pos] == '\r'))
		p->pos++;
}

/* The byte at pos, or -1 past the end. */
static int peek(const struct parser *p)
{
	return p->pos < p->len ? (uint8_t)p->s[p->pos] : -1;
}

/* A new token of type at pos; its index, or JSON_ERR_TOKENS. */
static int token_new(struct parser *p, enum json_type type)
{
	if (p->used >= p->cap)
		return JSON_ERR_TOKENS;
	p->tok[p->used] =
	    (struct json_token){ .type = (uint8_t)type, .start = (uint32_t)p->pos, .size = 1 };
	return (int)p->used++;
}

/* Ends token i at pos: its length and how many tokens it spans. */
static void token_end(struct parser *p, int i)
{
	p->tok[i].len = (uint32_t)(p->pos - p->tok[i].start);
	p->tok[i].size = (uint32_t)(p->used - (size_t)i);
}

/*
 * Checks one UTF-8 sequence starting at pos (its lead byte >= 0x80), RFC 3629 section 4:
 * the continuation bytes, and the lead's second-byte ranges that rule out overlong forms,
 * surrogates and code points past U+10FFFF. Moves past it; false when malformed.
 */
static bool check_utf8(struct parser *p)
{
	uint8_t b = (uint8_t)p->s[p->pos];
	int more;
	uint8_t lo = 0x80, hi = 0xBF; /* the second byte's range */
	if (b >= 0xC2 && b <= 0xDF) {
		more = 1;
	} else if (b >= 0xE0 && b <= 0xEF) {
		more = 2;
		lo = b == 0xE0 ? 0xA0 : 0x80;
		hi = b == 0xED ? 0x9F : 0xBF;
	} else if (b >= 0xF0 && b <= 0xF4) {
		more = 3;
		lo = b == 0xF0 ? 0x90 : 0x80;
		hi = b == 0xF4 ? 0x8F : 0xBF;
	} else {
		return false;
	}
	if (p->len - p->pos <= (size_t)more)
		return false;
	for (int k = 1; k <= more; k++) {
		uint8_t c = (uint8_t)p->s[p->pos + (size_t)k];
		if (c < (k == 1 ? lo : 0x80) || c > (k == 1 ? hi : 0xBF))
			return false;
	}
	p->pos += (size_t)more + 1;
	return true;
}

/* Checks "\uXXXX" at pos (pos on the backslash); its value, or -1. Moves past it. */
static long take_u_escape(struct parser *p)
{
	if (p->len - p->pos < 6 || p->s[p->pos] != '\\' || p->s[p->pos + 1] != 'u')
		return -1;
	long v = hex4(p->s + p->pos + 2);
	if (v >= 0)
		p->pos += 6;
	return v;
}

/* Checks the escape at pos (just after its backslash); moves past it. */
static bool check_escape(struct parser *p)
{
	if (p->pos >= p->len)
		return false;
	char c = p->s[p->pos];
	if (c != 'u') {
		p->pos++;
		return c != '\0' && strchr("\"\\/bfnrt", c) != NULL;
	}
	p->pos--; /* back onto the backslash */
	long v = take_u_escape(p);
	if (v < 0 || (v >= 0xDC00 && v <= 0xDFFF))
		return false; /* not hex, or a low surrogate with no high one before it */
	if (v < 0xD800 || v > 0xDBFF)
		return true;
	long low = take_u_escape(p);
	return low >= 0xDC00 && low <= 0xDFFF;
}

/* A string at pos (on its quote): its token index, or a json_error. */
static int parse_string(struct parser *p)
{
	p->pos++;
	int t = token_new(p, JSON_STRING);
	if (t < 0)
		return t;
	for (;;) {
		int c = peek(p);
		if (c < 0x20) /* the end of the text (-1), or a control character */
			return JSON_ERR_SYNTAX;
		if (c == '"')
			break;
		if (c == '\\') {
			p->pos++;
			if (!check_escape(p))
				return JSON_ERR_SYNTAX;
		} else if (c >= 0x80) {
			if (!check_utf8(p))
				return JSON_ERR_SYNTAX;
		} else {
			p->pos++;
		}
	}
	token_end(p, t);
	p->pos++; /* the closing quote */
	return t;
}

/* Moves past a run of digits; how many there were. */
static size_t skip_digits(struct parser *p)
{
	size_t from = p->pos;
	while (p->pos < p->len && p->s[p->pos] >= '0' && p->s[p->pos] <= '9')
		p->pos++;
	return p->pos - from;
}

/* A number at pos (RFC 8259 section 6): its token index, or a json_error. */
static int parse_number(struct parser *p)
{
	int t = token_new(p, JSON_NUMBER);
	if (t < 0)
		return t;
	if (peek(p) == '-')
		p->pos++;
	if (peek(p) == '0')
		p->pos++; /* a leading zero stands alone */
	else if (skip_digits(p) == 0)
		return JSON_ERR_SYNTAX;
	if (peek(p) == '.') {
		p->pos++;
		if (skip_digits(p) == 0)
			return JSON_ERR_SYNTAX;
	}
	if (peek(p) == 'e' || peek(p) == 'E') {
		p->pos++;
		if (peek(p) == '+' || peek(p) == '-')
			p->pos++;
		if (skip_digits(p) == 0)
			return JSON_ERR_SYNTAX;
	}
	token_end(p, t);
	return t;
}

static int parse_literal(struct parser *p, const char *word, enum json_type type)
{
	size_t n = strlen(word);
	if (p->len - p->pos < n || memcmp(p->s + p->pos, word, n) != 0)
		return JSON_ERR_SYNTAX;
	int t = token_new(p, type);
	if (t < 0)
		return t;
	p->pos += n;
	token_end(p, t);
	return t;
}

static int parse_value(struct parser *p, int depth);

/* True when the name token at key repeats a name of the object at obj before it. */
static bool name_taken(const struct parser *p, int obj, int key)
{
	struct json_doc doc = { .text = p->s, .tokens = p->tok, .count = p->used };
	struct reader want = reader_of_token(&doc, &p->tok[key]);
	/* the earlier members are complete: name, then a value of known size */
	for (int i = obj + 1; i < key; i += 1 + (int)p->tok[i + 1].size)
		if (readers_equal(reader_of_token(&doc, &p->tok[i]), want))
			return true;
	return false;
}

/* A member's name and its colon, at pos, in the object at obj; 0 or a json_error. */
static int parse_name(struct parser *p, int obj)
{
	skip_space(p);
	if (peek(p) != '"')
		return JSON_ERR_SYNTAX;
	int key = parse_string(p);
	if (key < 0)
		return key;
	if (name_taken(p, obj, key))
		return JSON_ERR_DUPLICATE;
	skip_space(p);
	if (peek(p) != ':')
		return JSON_ERR_SYNTAX;
	p->pos++;
	return 0;
}

/*
 * The contents of the container at t, pos after its opening bracket, up to the closing one
 * (close: '}' or ']'); an object's items are a name, a colon and a value. 0 or a json_error.
 */
/* NOLINTNEXTLINE(misc-no-recursion): as deep as the text, which JSON_DEPTH_MAX bounds */
static int parse_items(struct parser *p, int t, int depth, char close)
{
	skip_space(p);
	if (peek(p) == close)
		return 0;
	for (;;) {
		int r = close == '}' ? parse_name(p, t) : 0;
		if (r < 0)
			return r;
		r = parse_value(p, depth);
		if (r < 0)
			return r;
		p->tok[t].count++;
		skip_space(p);
		if (peek(p) == close)
			return 0;
		if (peek(p) != ',')
			return JSON_ERR_SYNTAX;
		p->pos++;
	}
}

/* An object or array at pos, inside depth containers: its token index, or a json_error. */
/* NOLINTNEXTLINE(misc-no-recursion): as deep as the text, which JSON_DEPTH_MAX bounds */
static int parse_container(struct parser *p, enum json_type type, int depth)
{
	if (depth >= JSON_DEPTH_MAX)
		return JSON_ERR_DEPTH;
	int t = token_new(p, type);
	if (t < 0)
		return t;
	p->pos++;
	int r = parse_items(p, t, depth + 1, type == JSON_OBJECT ? '}' : ']');
	if (r < 0)
		return r;
	p->pos++; /* the closing bracket */
	token_end(p, t);
	return t;
}

/* Any value, after optional white space, inside depth containers. */
/* NOLINTNEXTLINE(misc-no-recursion): as deep as the text, which JSON_DEPTH_MAX bounds */
static int parse_value(struct parser *p, int depth)
{
	skip_space(p);
	int c = peek(p);
	switch (c) {
	case '{':
		return parse_container(p, JSON_OBJECT, depth);
	case '[':
		return parse_container(p, JSON_ARRAY, depth);
	case '"':
		return parse_string(p);
	case 't':
		return parse_literal(p, "true", JSON_TRUE);
	case 'f':
		return parse_literal(p, "false", JSON_FALSE);
	case 'n':
		return parse_literal(p, "null", JSON_NULL);
	default:
		if (c == '-' || (c >= '0' && c <= '9'))
			return parse_number(p);
		return JSON_ERR_SYNTAX;
	}
}

int json_parse(struct json_doc *doc, const char *text, size_t len, struct json_token *tokens,
	       size_t cap)
{
	if (len > JSON_TEXT_MAX)
		return JSON_ERR_TOO_LONG;
	struct parser p = { .s = text, .len = len, .tok = tokens, .cap = cap };
	int t = parse_value(&p, 0);
	if (t < 0)
		return t;
	skip_space(&p);
	if (p.pos != len)
		return JSON_ERR_SYNTAX;
	if (tokens[0].type != JSON_OBJECT)
		return JSON_ERR_NOT_OBJECT;
	*doc = (struct json_doc){ .text = text, .tokens = tokens, .count = p.used };
	return (int)p.used;
}

/* ---- lookups ------------------------------------------------------------------------------ */

int json_find(const struct json_doc *doc, size_t obj, const char *name)
{
	if (obj >= doc->count || doc->tokens[obj].type != JSON_OBJECT)
		return JSON_ERR_TYPE;
	struct reader want = { .s = name, .n = strlen(name) };
	size_t i = obj + 1;
	for (uint32_t m = 0; m < doc->tokens[obj].count; m++) {
		if (readers_equal(reader_of_token(doc, &doc->tokens[i]), want))
			return (int)(i + 1);
		i += 1 + doc->tokens[i + 1].size;
	}
	return JSON_ABSENT;
}

/* The value token of member name, when it has the type; or a json_error. */
static int find_typed(const struct json_doc *doc, size_t obj, const char *name, enum json_type type)
{
	int v = json_find(doc, obj, name);
	if (v >= 0 && doc->tokens[v].type != type)
		return JSON_ERR_TYPE;
	return v;
}

int json_get_string(const struct json_doc *doc, size_t obj, const char *name, char *out, size_t cap)
{
	int v = find_typed(doc, obj, name, JSON_STRING);
	if (v < 0)
		return v;
	return string_copy(doc, &doc->tokens[v], out, cap);
}

/* The digits of a number as one sequence: the integer part's, then the fraction's. */
struct digits {
	const char *whole, *frac;
	size_t nwhole, nfrac;
};

static int digit_at(const struct digits *d, long j)
{
	if (j < 0)
		return 0;
	if ((size_t)j < d->nwhole)
		return d->whole[j] - '0';
	if ((size_t)j - d->nwhole < d->nfrac)
		return d->frac[(size_t)j - d->nwhole] - '0';
	return 0;
}

/* Moves *i past a run of digits; how many. */
static size_t count_digits(const char *s, size_t n, size_t *i)
{
	size_t from = *i;
	while (*i < n && s[*i] >= '0' && s[*i] <= '9')
		(*i)++;
	return *i - from;
}

/*
 * The exponent of a number text from i (at its 'e', or its end), clamped to +-EXP_CLAMP:
 * with at most JSON_TEXT_MAX digits, a larger exponent only says "too large" or "below 1".
 */
#define EXP_CLAMP (2L * JSON_TEXT_MAX)
static long exponent_of(const char *s, size_t n, size_t i)
{
	if (i >= n)
		return 0;
	i++; /* the 'e' */
	bool neg = s[i] == '-';
	if (s[i] == '-' || s[i] == '+')
		i++;
	long e = 0;
	for (; i < n; i++)
		if (e < EXP_CLAMP)
			e = e * 10 + (s[i] - '0');
	return neg ? -e : e;
}

/* A number token's value rounded down, or JSON_ERR_RANGE (see json_get_int). */
static int number_floor(const char *s, size_t n, int64_t *out)
{
	size_t i = 0;
	bool neg = s[0] == '-';
	if (neg)
		i++;
	struct digits d = { .whole = s + i };
	d.nwhole = count_digits(s, n, &i);
	if (i < n && s[i] == '.') {
		i++;
		d.frac = s + i;
		d.nfrac = count_digits(s, n, &i);
	}
	/* the value is 0.D * 10^point, D the digits: the integer part is D's first point */
	long point = (long)d.nwhole + exponent_of(s, n, i);
	long total = (long)(d.nwhole + d.nfrac);
	uint64_t limit = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
	uint64_t v = 0;
	for (long j = 0; j < point; j++) {
		int dig = digit_at(&d, j);
		if (v > (limit - (uint64_t)dig) / 10)
			return JSON_ERR_RANGE; /* also ends a long run of zeros after a digit */
		v = v * 10 + (uint64_t)dig;
		if (j >= total && v == 0)
			break; /* all digits zero: so is the value */
	}
	bool rest = false; /* a nonzero digit below the point */
	for (long j = point < 0 ? 0 : point; j < total && !rest; j++)
		rest = digit_at(&d, j) != 0;
	if (neg && rest) {
		if (v == limit)
			return JSON_ERR_RANGE;
		v++; /* rounding down a negative number moves away from zero */
	}
	*out = neg ? (int64_t)(0 - v) : (int64_t)v;
	return 0;
}

int json_get_int(const struct json_doc *doc, size_t obj, const char *name, int64_t *out)
{
	int v = find_typed(doc, obj, name, JSON_NUMBER);
	if (v < 0)
		return v;
	const struct json_token *t = &doc->tokens[v];
	return number_floor(doc->text + t->start, t->len, out);
}

int json_get_string_array(const struct json_doc *doc, size_t obj, const char *name, char *out,
			  size_t item_cap, size_t max_items)
{
	int v = find_typed(doc, obj, name, JSON_ARRAY);
	if (v < 0)
		return v;
	const struct json_token *arr = &doc->tokens[v];
	if (arr->count > max_items)
		return JSON_ERR_RANGE;
	size_t i = (size_t)v + 1;
	for (uint32_t k = 0; k < arr->count; k++) {
		const struct json_token *t = &doc->tokens[i];
		if (t->type != JSON_STRING)
			return JSON_ERR_TYPE;
		int r = string_copy(doc, t, out + (size_t)k * item_cap, item_cap);
		if (r < 0)
			return r;
		i += t->size;
	}
	return (int)arr->count;
}
