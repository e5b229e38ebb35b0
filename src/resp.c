/*
 * resp.c - the Redis protocol, RESP2 and RESP3, see resp.h.
 *
 * The reader is a loop over values (resp_parse): read_value reads the value at p->pos, a scalar
 * whole or an aggregate's header line, and only then moves p->pos past it and records its node,
 * so a call that runs out of bytes leaves no half-made node behind. Open aggregates are frames
 * on p->stack, each counting the children it still waits for; close_frames pops those a
 * completed value finishes, and the reply is complete when the stack empties on a value.
 *
 * Where a call resumes: at p->pos, the start of the first value not yet read. A line (simple
 * string, error, big number) that is still missing its CRLF is not searched again from its
 * start: p->scan remembers how far the search went. A bulk string's header line (at most 21
 * bytes) is read again until its payload has arrived, which costs nothing worth keeping state.
 *
 * Nodes are counted in p->count even past the array's end (only the first cap are stored), so
 * a reply too big for the array is still read to its end and its length known. While the reply
 * is read, nodes hold offsets (the buffer may move between calls); they become pointers when it
 * is complete (finish). An attribute's nodes are dropped when it ends: the count goes back to
 * where it began, and the value it annotates takes the slot in its parent.
 */
#include "resp.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* A length or an integer: a sign and at most 19 digits (every int64_t fits). */
#define INT_DIGITS_MAX 19
#define INT_LINE_MAX   (INT_DIGITS_MAX + 1)

/* read_value's answers besides PARSE_AGAIN and PARSE_ERROR. */
#define VALUE_DONE 0 /* a value is complete: a scalar or an empty aggregate */
#define VALUE_OPEN 1 /* an aggregate or attribute opened, or an empty attribute was read */

/* ---- writer ---------------------------------------------------------------------------------- */

static size_t decimal_len(uint64_t v)
{
	size_t n = 1;
	while (v >= 10) {
		v /= 10;
		n++;
	}
	return n;
}

/* Writes "<type><v>\r\n"; returns the byte after it. */
static char *put_header(char *out, char type, uint64_t v)
{
	char digits[DECIMAL_LEN_MAX(uint64_t)];
	size_t n = 0;
	do {
		digits[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v > 0);
	*out++ = type;
	while (n > 0)
		*out++ = digits[--n];
	*out++ = '\r';
	*out++ = '\n';
	return out;
}

struct resp_arg resp_arg_str(const char *s)
{
	return (struct resp_arg){ .p = s, .n = strlen(s) };
}

size_t resp_command_len(size_t argc, const struct resp_arg *argv)
{
	size_t len = 1 + decimal_len(argc) + 2;
	for (size_t i = 0; i < argc; i++)
		len += 1 + decimal_len(argv[i].n) + 2 + argv[i].n + 2;
	return len;
}

size_t resp_write_command(char *out, size_t argc, const struct resp_arg *argv)
{
	char *at = put_header(out, '*', argc);
	for (size_t i = 0; i < argc; i++) {
		at = put_header(at, '$', argv[i].n);
		if (argv[i].n > 0)
			memcpy(at, argv[i].p, argv[i].n);
		at += argv[i].n;
		*at++ = '\r';
		*at++ = '\n';
	}
	return (size_t)(at - out);
}

/* ---- reader: the parser's state -------------------------------------------------------------- */

int resp_parser_init(struct resp_parser *p, struct resp_node *nodes, uint32_t cap,
		     const struct resp_limits *lim)
{
	struct resp_limits l = lim != NULL ? *lim : RESP_LIMITS_DEFAULT;
	if (nodes == NULL || cap == 0 || l.max_depth < 1 || l.max_depth > RESP_DEPTH_MAX ||
	    l.max_elements > UINT32_MAX / 2)
		return -EINVAL;
	memset(p, 0, sizeof(*p));
	p->nodes = nodes;
	p->cap = cap;
	p->lim = l;
	return 0;
}

void resp_parser_reset(struct resp_parser *p)
{
	p->pos = 0;
	p->scan = 0;
	p->count = 0;
	p->depth = 0;
	p->failed = false;
}

/* A new node, counted; NULL (still counted) past the end of the array. */
static struct resp_node *new_node(struct resp_parser *p, enum resp_type type)
{
	size_t i = p->count++;
	if (i >= p->cap)
		return NULL;
	struct resp_node *n = &p->nodes[i];
	memset(n, 0, sizeof(*n));
	n->type = (uint8_t)type;
	n->size = 1;
	return n;
}

/* A scalar whose text is buf[off..off+len). */
static struct resp_node *new_text(struct resp_parser *p, enum resp_type type, size_t off,
				  size_t len)
{
	struct resp_node *n = new_node(p, type);
	if (n != NULL) {
		n->off = off;
		n->len = len;
	}
	return n;
}

static bool has_text(const struct resp_node *n)
{
	return n->type != RESP_NULL && n->type < RESP_ARRAY;
}

/* ---- reader: lines and numbers --------------------------------------------------------------- */

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* Counts the digits at s[*i..n) and moves *i past them. */
static size_t skip_digits(const char *s, size_t n, size_t *i)
{
	size_t start = *i;
	while (*i < n && is_digit(s[*i]))
		(*i)++;
	return *i - start;
}

/* [sign] 1-19 digits, within int64_t; '+' only when plus. */
static bool parse_int(const char *s, size_t n, bool plus, int64_t *out)
{
	size_t i = 0;
	bool neg = n > 0 && s[0] == '-';
	if (neg || (plus && n > 0 && s[0] == '+'))
		i = 1;
	if (n - i < 1 || n - i > INT_DIGITS_MAX)
		return false;
	uint64_t v = 0; /* 19 digits stay below 10^19 < 2^64 */
	for (; i < n; i++) {
		if (!is_digit(s[i]))
			return false;
		v = v * 10 + (uint64_t)(s[i] - '0');
	}
	if (v > (uint64_t)INT64_MAX + (neg ? 1 : 0))
		return false;
	*out = neg ? -(int64_t)(v - 1) - 1 : (int64_t)v;
	return true;
}

/* [sign] digits, for a big number. */
static bool big_number_valid(const char *s, size_t n)
{
	size_t i = n > 0 && (s[0] == '-' || s[0] == '+') ? 1 : 0;
	return skip_digits(s, n, &i) > 0 && i == n;
}

/* [sign] digits [. digits] [e [sign] digits], or [sign] inf, or nan (the RESP3 grammar of
 * redis.io, which allows the exponent Redis writes with %.17g). */
static bool double_valid(const char *s, size_t n)
{
	size_t i = n > 0 && (s[0] == '-' || s[0] == '+') ? 1 : 0;
	if (n - i == 3 && (memcmp(s + i, "inf", 3) == 0 || memcmp(s + i, "nan", 3) == 0))
		return true;
	if (skip_digits(s, n, &i) == 0)
		return false;
	if (i < n && s[i] == '.') {
		i++;
		if (skip_digits(s, n, &i) == 0)
			return false;
	}
	if (i < n && (s[i] == 'e' || s[i] == 'E')) {
		i++;
		if (i < n && (s[i] == '-' || s[i] == '+'))
			i++;
		if (skip_digits(s, n, &i) == 0)
			return false;
	}
	return i == n;
}

/*
 * Finds the CRLF of the line whose text starts at `from` (after its type byte) and is at most
 * max bytes long: sets *eol to its CR's offset and returns 0, or PARSE_AGAIN (p->scan records
 * how far the search went), or PARSE_ERROR for a CR not followed by LF, an LF alone, or a line
 * longer than max.
 */
static int find_line(struct resp_parser *p, const char *buf, size_t len, size_t from, uint64_t max,
		     size_t *eol)
{
	size_t i = p->scan > from ? p->scan : from;
	size_t end = len - from > max ? from + (size_t)max + 1 : len;
	for (; i < end; i++) {
		if (buf[i] == '\n')
			return PARSE_ERROR;
		if (buf[i] != '\r')
			continue;
		if (i + 1 >= len) {
			p->scan = i;
			return PARSE_AGAIN;
		}
		if (buf[i + 1] != '\n')
			return PARSE_ERROR;
		*eol = i;
		return 0;
	}
	if (i - from > max)
		return PARSE_ERROR;
	p->scan = i;
	return PARSE_AGAIN;
}

/* The value ends at `end` (its CRLF included): the next one starts there. */
static int value_done(struct resp_parser *p, size_t end)
{
	p->pos = end;
	p->scan = 0;
	return VALUE_DONE;
}

/* ---- reader: values -------------------------------------------------------------------------- */

/* + - ( , : # _ : a type byte, one line of text. */
static int read_line(struct resp_parser *p, const char *buf, size_t len, char type)
{
	size_t at = p->pos, eol;
	uint64_t max = type == ',' ? RESP_DOUBLE_LEN_MAX : p->lim.max_bulk;
	if (type == ':' || type == '#' || type == '_')
		max = INT_LINE_MAX;
	int r = find_line(p, buf, len, at + 1, max, &eol);
	if (r != 0)
		return r;
	const char *s = buf + at + 1;
	size_t n = eol - at - 1;
	struct resp_node *node = NULL;
	int64_t v = 0;
	switch (type) {
	case '+':
		new_text(p, RESP_SIMPLE, at + 1, n);
		break;
	case '-':
		new_text(p, RESP_ERROR, at + 1, n);
		break;
	case '(':
		if (!big_number_valid(s, n))
			return PARSE_ERROR;
		new_text(p, RESP_BIG_NUMBER, at + 1, n);
		break;
	case ',':
		if (!double_valid(s, n))
			return PARSE_ERROR;
		node = new_text(p, RESP_DOUBLE, at + 1, n);
		if (node != NULL)
			node->dbl = strtod(s, NULL); /* valid text, ended by its CR */
		break;
	case ':':
		if (!parse_int(s, n, true, &v))
			return PARSE_ERROR;
		node = new_text(p, RESP_INTEGER, at + 1, n);
		if (node != NULL)
			node->integer = v;
		break;
	case '#':
		if (n != 1 || (s[0] != 't' && s[0] != 'f'))
			return PARSE_ERROR;
		node = new_text(p, RESP_BOOL, at + 1, n);
		if (node != NULL)
			node->integer = s[0] == 't';
		break;
	default: /* '_' */
		if (n != 0)
			return PARSE_ERROR;
		new_node(p, RESP_NULL);
		break;
	}
	return value_done(p, eol + 2);
}

/* $ ! = : a length line, that many bytes, CRLF. */
/*
 * The length or count line that starts $ ! = * % ~ > |: 0 with the number in *v and the line's
 * end in *eol, or PARSE_AGAIN / PARSE_ERROR. RESP2's null ($-1, *-1: null_ok) is stored as a
 * null node and finished: 1 then.
 */
static int read_count(struct resp_parser *p, const char *buf, size_t len, bool null_ok, int64_t *v,
		      size_t *eol)
{
	size_t at = p->pos;
	int r = find_line(p, buf, len, at + 1, INT_LINE_MAX, eol);
	if (r != 0)
		return r;
	if (!parse_int(buf + at + 1, *eol - at - 1, false, v))
		return PARSE_ERROR;
	if (*v != -1 || !null_ok)
		return 0;
	new_node(p, RESP_NULL);
	r = value_done(p, *eol + 2);
	return r != 0 ? r : 1;
}

static int read_blob(struct resp_parser *p, const char *buf, size_t len, char type)
{
	size_t eol;
	int64_t v;
	int r = read_count(p, buf, len, type == '$', &v, &eol);
	if (r != 0)
		return r == 1 ? VALUE_DONE : r;
	if (v < 0 || (uint64_t)v > p->lim.max_bulk || (uint64_t)v > SIZE_MAX - 2 ||
	    (type == '=' && v < 4))
		return PARSE_ERROR;
	size_t start = eol + 2, n = (size_t)v;
	if (len - start < n + 2) /* find_line saw the LF: len >= start */
		return PARSE_AGAIN;
	if (buf[start + n] != '\r' || buf[start + n + 1] != '\n')
		return PARSE_ERROR;
	if (type == '$') {
		new_text(p, RESP_BULK, start, n);
	} else if (type == '!') {
		new_text(p, RESP_BULK_ERROR, start, n);
	} else {
		if (buf[start + 3] != ':')
			return PARSE_ERROR;
		struct resp_node *node = new_text(p, RESP_VERBATIM, start + 4, n - 4);
		if (node != NULL)
			memcpy(node->format, buf + start, 3);
	}
	return value_done(p, start + n + 2);
}

static enum resp_type aggregate_type(char type)
{
	switch (type) {
	case '%':
		return RESP_MAP;
	case '~':
		return RESP_SET;
	case '>':
		return RESP_PUSH;
	default:
		return RESP_ARRAY;
	}
}

/* * % ~ > | : a count line; the children follow as values of their own. */
static int read_aggregate(struct resp_parser *p, const char *buf, size_t len, char type)
{
	size_t eol;
	int64_t v;
	int r = read_count(p, buf, len, type == '*', &v, &eol);
	if (r != 0)
		return r == 1 ? VALUE_DONE : r;
	bool pairs = type == '%' || type == '|';
	if (v < 0 || (uint64_t)v > p->lim.max_elements)
		return PARSE_ERROR;
	uint64_t children = (uint64_t)v * (pairs ? 2 : 1);
	if (children > p->lim.max_elements || p->depth + 1 > p->lim.max_depth)
		return PARSE_ERROR;
	bool attribute = type == '|';
	struct resp_frame f = { .node = p->count, .left = children, .attribute = attribute };
	if (!attribute) {
		struct resp_node *node = new_node(p, aggregate_type(type));
		if (node != NULL)
			node->n = (uint32_t)children;
	}
	value_done(p, eol + 2);
	if (children == 0)
		return attribute ? VALUE_OPEN : VALUE_DONE;
	p->stack[p->depth++] = f;
	return VALUE_OPEN;
}

static int read_value(struct resp_parser *p, const char *buf, size_t len)
{
	if (p->pos >= len)
		return PARSE_AGAIN;
	char type = buf[p->pos];
	switch (type) {
	case '+':
	case '-':
	case '(':
	case ',':
	case ':':
	case '#':
	case '_':
		return read_line(p, buf, len, type);
	case '$':
	case '!':
	case '=':
		return read_blob(p, buf, len, type);
	case '*':
	case '%':
	case '~':
	case '>':
	case '|':
		return read_aggregate(p, buf, len, type);
	default:
		return PARSE_ERROR;
	}
}

/* A value just completed: closes the aggregates it completes. True when the reply is whole. */
static bool close_frames(struct resp_parser *p)
{
	while (p->depth > 0) {
		struct resp_frame *f = &p->stack[p->depth - 1];
		if (--f->left > 0)
			return false;
		p->depth--;
		if (f->attribute) {
			p->count = f->node; /* dropped; the value it annotates comes next */
			return false;
		}
		if (f->node < p->cap)
			p->nodes[f->node].size = (uint32_t)(p->count - f->node);
	}
	return true;
}

/* The reply is whole: offsets become pointers, the parser is ready for the next reply. */
static ssize_t finish(struct resp_parser *p, const char *buf)
{
	p->reply_len = p->pos;
	p->reply_nodes = p->count;
	p->pos = 0;
	p->scan = 0;
	p->count = 0;
	if (p->reply_nodes > p->cap)
		return RESP_TOO_BIG;
	for (size_t i = 0; i < p->reply_nodes; i++) {
		struct resp_node *n = &p->nodes[i];
		if (has_text(n))
			n->str = buf + n->off;
		else
			n->str = NULL;
	}
	return (ssize_t)p->reply_len;
}

ssize_t resp_parse(struct resp_parser *p, const char *buf, size_t len)
{
	if (p->failed || len < p->pos) {
		p->failed = true;
		return PARSE_ERROR;
	}
	for (;;) {
		int r = read_value(p, buf, len);
		if (r == PARSE_AGAIN)
			return PARSE_AGAIN;
		if (r == PARSE_ERROR) {
			p->failed = true;
			return PARSE_ERROR;
		}
		if (r == VALUE_DONE && close_frames(p))
			return finish(p, buf);
	}
}

/* ---- reading the tree ------------------------------------------------------------------------ */

const struct resp_node *resp_next(const struct resp_node *n)
{
	return n + n->size;
}

const struct resp_node *resp_child(const struct resp_node *a, uint32_t i)
{
	const struct resp_node *c = a + 1;
	while (i-- > 0)
		c = resp_next(c);
	return c;
}

static bool is_string(const struct resp_node *n)
{
	return n->type == RESP_SIMPLE || n->type == RESP_BULK || n->type == RESP_VERBATIM;
}

bool resp_is(const struct resp_node *n, const char *text)
{
	size_t k = strlen(text);
	return is_string(n) && n->len == k && (k == 0 || memcmp(n->str, text, k) == 0);
}

const struct resp_node *resp_map_get(const struct resp_node *m, const char *key)
{
	if (m->type != RESP_MAP)
		return NULL;
	const struct resp_node *k = m + 1;
	for (uint32_t i = 0; i < m->n; i += 2) {
		const struct resp_node *v = resp_next(k);
		if (resp_is(k, key))
			return v;
		k = resp_next(v);
	}
	return NULL;
}

/* ---- pub/sub --------------------------------------------------------------------------------- */

/* Each kind: its first element and what follows it (c channel, p pattern, m payload, n count). */
static const struct pubsub_shape {
	const char *word;
	enum resp_pubsub_kind kind;
	const char *fields;
} pubsub_shapes[] = {
	{ "message", RESP_PUBSUB_MESSAGE, "cm" },
	{ "pmessage", RESP_PUBSUB_PMESSAGE, "pcm" },
	{ "smessage", RESP_PUBSUB_SMESSAGE, "cm" },
	{ "subscribe", RESP_PUBSUB_SUBSCRIBE, "cn" },
	{ "unsubscribe", RESP_PUBSUB_UNSUBSCRIBE, "cn" },
	{ "psubscribe", RESP_PUBSUB_PSUBSCRIBE, "cn" },
	{ "punsubscribe", RESP_PUBSUB_PUNSUBSCRIBE, "cn" },
	{ "ssubscribe", RESP_PUBSUB_SSUBSCRIBE, "cn" },
	{ "sunsubscribe", RESP_PUBSUB_SUNSUBSCRIBE, "cn" },
	{ "pong", RESP_PUBSUB_PONG, "m" },
};

static struct resp_slice slice_of(const struct resp_node *n)
{
	return (struct resp_slice){ .p = n->str, .n = n->len };
}

/* Fills one field from element e; false when e has the wrong type. */
static bool pubsub_field(struct resp_pubsub *out, char field, const struct resp_node *e)
{
	switch (field) {
	case 'n':
		if (e->type != RESP_INTEGER)
			return false;
		out->count = e->integer;
		return true;
	case 'c': /* an unsubscribe from nothing names no channel: a null */
		out->channel = slice_of(e);
		return is_string(e) ||
		       (e->type == RESP_NULL && out->kind != RESP_PUBSUB_MESSAGE &&
			out->kind != RESP_PUBSUB_PMESSAGE && out->kind != RESP_PUBSUB_SMESSAGE);
	case 'p':
		out->pattern = slice_of(e);
		return is_string(e);
	default: /* 'm' */
		out->payload = slice_of(e);
		return is_string(e);
	}
}

enum resp_pubsub_kind resp_pubsub(const struct resp_node *root, struct resp_pubsub *out)
{
	memset(out, 0, sizeof(*out));
	if ((root->type != RESP_ARRAY && root->type != RESP_PUSH) || root->n == 0)
		return RESP_PUBSUB_NONE;
	const struct resp_node *e = root + 1;
	uint32_t left = root->n - 1;
	if (root->type == RESP_PUSH && resp_is(e, "pubsub") && left > 0) {
		e = resp_next(e);
		left--;
	}
	const struct pubsub_shape *shape = NULL;
	for (size_t i = 0; i < ARRAY_LEN(pubsub_shapes) && shape == NULL; i++)
		if (resp_is(e, pubsub_shapes[i].word))
			shape = &pubsub_shapes[i];
	if (shape == NULL || strlen(shape->fields) != left)
		return RESP_PUBSUB_NONE;
	out->kind = shape->kind;
	for (const char *f = shape->fields; *f != '\0'; f++) {
		e = resp_next(e);
		if (!pubsub_field(out, *f, e)) {
			memset(out, 0, sizeof(*out));
			return RESP_PUBSUB_NONE;
		}
	}
	return out->kind;
}
