/*
 * resp.h - the Redis protocol (RESP2 and RESP3) as pure functions: a writer of commands and an
 * incremental reader of replies. No I/O, no allocation, no locks: the cluster link owns the
 * socket and the buffers, this module only turns bytes into a tree and arguments into bytes.
 *
 * Writer: a command is an array of bulk strings (binary safe). resp_command_len gives its exact
 * size, so the caller sizes its buffer, then resp_write_command fills it.
 *
 * Reader: resp_parse is given a buffer that starts at a reply's first byte and may end anywhere
 * inside it. It returns PARSE_AGAIN until the reply is complete, then the reply's length, with
 * the reply as a tree in the caller's node array (see struct resp_node): no copy, every string
 * points into the buffer. Parsing resumes where the previous call stopped (the caller passes
 * the same bytes again, possibly moved, with more after them): what was read is not read again
 * (but for a bulk string's short header line while its payload is awaited), so a reply arriving
 * a byte at a time costs a constant more per call, not a re-read of the reply.
 *
 * Types (RESP2): + simple string, - error, : integer, $ bulk string ($-1: null), * array (*-1:
 * null). RESP3, as Redis 7 sends it after HELLO 3: _ null, # boolean, , double, ( big number,
 * ! bulk error, = verbatim string, % map, ~ set, > push, | attribute. Attributes are parsed
 * (every limit applies to them) and left out of the tree: the value they annotate takes their
 * place. Streamed strings and aggregates ($?, *?) are not accepted: Redis does not send them.
 *
 * Hostile input is harmless: every limit is checked before anything is waited for or stored.
 *   - max_depth: aggregates inside aggregates (at most RESP_DEPTH_MAX, the parser's stack);
 *   - max_elements: children of one aggregate (a map's or an attribute's pairs count twice);
 *   - max_bulk: bytes of one bulk string, bulk error or verbatim string, and of one line of
 *     text (simple string, error, big number);
 *   - numbers: an integer or a length has at most 19 digits and fits in 64 bits; a double's
 *     line is at most RESP_DOUBLE_LEN_MAX bytes;
 *   - every line ends with CRLF, and no CR or LF appears inside a line.
 * Anything else is PARSE_ERROR, after which the stream cannot be resynchronised (the link must
 * be closed). A well-formed reply that needs more nodes than the array holds is RESP_TOO_BIG,
 * a distinct code: it is read to its end (counted, not stored) so the caller may skip it.
 * The caller bounds its own buffer: the reader keeps no bytes, it only says how many it needs.
 *
 * One parser belongs to one connection, touched by the thread that reads it; nothing is shared.
 */
#ifndef CHATD_RESP_H
#define CHATD_RESP_H

#include "common.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* ---- writer ---------------------------------------------------------------------------------- */

/* One argument of a command: n bytes at p, any bytes (NUL and CRLF included). */
struct resp_arg {
	const char *p;
	size_t n;
};

/* An argument from a string literal, without its NUL: RESP_ARG_LIT("PUBLISH"). */
#define RESP_ARG_LIT(s) ((struct resp_arg){ .p = (s), .n = sizeof(s) - 1 })

/* An argument from a NUL-terminated string. */
struct resp_arg resp_arg_str(const char *s);

/* The exact size of the command argv[0..argc) as a RESP array of bulk strings. */
size_t resp_command_len(size_t argc, const struct resp_arg *argv);

/* Writes that command to out, which has room for resp_command_len(argc, argv) bytes; returns
 * that length. Nothing else is written (no NUL). */
size_t resp_write_command(char *out, size_t argc, const struct resp_arg *argv);

/* ---- reader ---------------------------------------------------------------------------------- */

#define RESP_TOO_BIG        (-3) /* resp_parse: well formed, more nodes than the array holds */

#define RESP_DEPTH_MAX      32  /* the bound of resp_limits.max_depth */
#define RESP_DOUBLE_LEN_MAX 128 /* bytes of a double's text (Redis writes at most 24) */

enum resp_type {
	RESP_SIMPLE,     /* +  str/len */
	RESP_ERROR,      /* -  str/len, the first word is the code */
	RESP_INTEGER,    /* :  integer (str/len: its digits) */
	RESP_BULK,       /* $  str/len, binary */
	RESP_NULL,       /* _, and RESP2's $-1 and *-1 */
	RESP_BOOL,       /* #  integer: 1 or 0 */
	RESP_DOUBLE,     /* ,  dbl (str/len: its text; inf, -inf, nan included) */
	RESP_BIG_NUMBER, /* (  str/len: its digits, with an optional sign */
	RESP_BULK_ERROR, /* !  str/len, binary */
	RESP_VERBATIM,   /* =  str/len: the text after its format; format: "txt", "mkd"... */
	RESP_ARRAY,      /* *  n children */
	RESP_MAP,        /* %  n children: key, value, key, value... (n is twice the pairs) */
	RESP_SET,        /* ~  n children */
	RESP_PUSH,       /* >  n children, out-of-band data (RESP3 pub/sub messages) */
};

/*
 * One value of a reply. A reply is a tree laid out in pre-order in the node array: the root is
 * nodes[0], an aggregate's first child follows it, and each node's next sibling is `size` nodes
 * further (resp_next). Strings point into the buffer given to resp_parse: they are valid while
 * its bytes are, and are not NUL-terminated.
 */
struct resp_node {
	uint8_t type;  /* enum resp_type */
	uint32_t n;    /* aggregates: the number of children */
	uint32_t size; /* nodes in this subtree, this one included */
	union {
		const char *str; /* scalars: the value's bytes (NULL for a null) */
		size_t off;      /* internal: str's offset from the reply's start while parsing */
	};
	size_t len;
	union {
		int64_t integer; /* RESP_INTEGER, RESP_BOOL */
		double dbl;      /* RESP_DOUBLE */
		char format[4];  /* RESP_VERBATIM: three bytes and a NUL */
	};
};

struct resp_limits {
	uint32_t max_depth;    /* 1..RESP_DEPTH_MAX: 1 allows aggregates of scalars only */
	uint32_t max_elements; /* children of one aggregate, at most UINT32_MAX / 2 */
	uint64_t max_bulk;     /* bytes of one string or line */
};

/* Defaults: Redis's own bound on a bulk string (proto-max-bulk-len, 512 MiB), a million
 * elements, 16 levels. The link lowers them to what its replies can be. */
#define RESP_LIMITS_DEFAULT \
	((struct resp_limits){ .max_depth = 16, .max_elements = 1u << 20, .max_bulk = 512u << 20 })

struct resp_frame {
	size_t node;   /* the aggregate's node (or, for an attribute, where the attribute began) */
	uint64_t left; /* children still to come */
	bool attribute;
};

struct resp_parser {
	/* set by resp_parser_init */
	struct resp_node *nodes;
	uint32_t cap;
	struct resp_limits lim;
	/* the reply being read, offsets from its first byte */
	size_t pos;   /* where the next value starts */
	size_t scan;  /* how far the current line was searched for its CR */
	size_t count; /* nodes the reply needs so far (only the first cap are stored) */
	uint32_t depth;
	bool failed; /* after PARSE_ERROR, every call says PARSE_ERROR until resp_parser_reset */
	struct resp_frame stack[RESP_DEPTH_MAX];
	/* after a complete reply (a length or RESP_TOO_BIG): the reply's length and node count */
	size_t reply_len;
	size_t reply_nodes;
};

/* Prepares p to read replies into nodes[0..cap); lim NULL means RESP_LIMITS_DEFAULT.
 * Returns 0, or -EINVAL when cap is 0 or a limit is out of its range. */
int resp_parser_init(struct resp_parser *p, struct resp_node *nodes, uint32_t cap,
		     const struct resp_limits *lim);

/* Forgets the reply in progress and any error (a new connection). */
void resp_parser_reset(struct resp_parser *p);

/*
 * Reads one reply from buf[0..len), which starts at the reply's first byte. Returns:
 *   > 0           the reply's length; its tree is nodes[0..reply_nodes), valid until the next
 *                 call. The next call reads the next reply (its buffer starts after this one);
 *   PARSE_AGAIN   the reply is incomplete: call again with these bytes and more (len grows;
 *                 the bytes may have moved, but those already given must not change);
 *   PARSE_ERROR   malformed, or over a limit;
 *   RESP_TOO_BIG  complete and well formed but needing more nodes than cap: reply_len bytes
 *                 to skip, reply_nodes nodes it needs; the next call reads the next reply.
 */
ssize_t resp_parse(struct resp_parser *p, const char *buf, size_t len);

/* The sibling after n (past its subtree); within a parent of k children, valid k - 1 times. */
const struct resp_node *resp_next(const struct resp_node *n);

/* Child i of aggregate a (i < a->n), walking past the i children before it. */
const struct resp_node *resp_child(const struct resp_node *a, uint32_t i);

/* Whether n is a string (simple, bulk or verbatim) equal to text, case-sensitive. */
bool resp_is(const struct resp_node *n, const char *text);

/* The value of the first key equal to key (resp_is) in map m; NULL when there is none or m is
 * not a map. */
const struct resp_node *resp_map_get(const struct resp_node *m, const char *key);

/* ---- pub/sub ----------------------------------------------------------------------------------- */

enum resp_pubsub_kind {
	RESP_PUBSUB_NONE,        /* not a pub/sub message */
	RESP_PUBSUB_MESSAGE,     /* channel, payload */
	RESP_PUBSUB_PMESSAGE,    /* pattern, channel, payload */
	RESP_PUBSUB_SMESSAGE,    /* channel, payload (sharded) */
	RESP_PUBSUB_SUBSCRIBE,   /* channel, count: subscriptions now held */
	RESP_PUBSUB_UNSUBSCRIBE, /* channel (empty when none was held), count */
	RESP_PUBSUB_PSUBSCRIBE,  /* pattern in channel, count */
	RESP_PUBSUB_PUNSUBSCRIBE,
	RESP_PUBSUB_SSUBSCRIBE,
	RESP_PUBSUB_SUNSUBSCRIBE,
	RESP_PUBSUB_PONG, /* RESP2 only: a PING's answer in subscribed mode; payload: its text */
};

struct resp_slice {
	const char *p;
	size_t n;
};

struct resp_pubsub {
	enum resp_pubsub_kind kind;
	struct resp_slice pattern, channel, payload;
	int64_t count;
};

/*
 * Recognises what a subscribed connection receives: in RESP2 an array, in RESP3 a push, of
 * ["message", channel, payload], ["pmessage", pattern, channel, payload], ["smessage", ...],
 * ["subscribe", channel, count] and the other (un)subscribe confirmations, or ["pong", text]
 * (a leading "pubsub" element, as in the RESP3 specification's example, is skipped). Strings
 * may be bulk or simple. Fills *out and returns its kind; RESP_PUBSUB_NONE (out->kind too) for
 * anything else. Only the connection knows it is subscribed: a RESP2 command reply can look
 * the same.
 */
enum resp_pubsub_kind resp_pubsub(const struct resp_node *root, struct resp_pubsub *out);

#endif
