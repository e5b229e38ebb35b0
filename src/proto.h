/*
 * proto.h - the line protocol as pure functions: framing bytes into lines, validating a line,
 * and the wording of every line the server says. No I/O and no locks; the framer allocates
 * only to keep an incomplete line between two reads. Safe to call from any thread on objects
 * that thread owns.
 */
#ifndef CHATD_PROTO_H
#define CHATD_PROTO_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Every line the server itself says starts with this; chat lines start with a name. */
#define PROTO_SERVER_PREFIX "* "

enum line_event {
	LINE_OK,       /* a complete line, terminator removed */
	LINE_TOO_LONG, /* a line passed the limit; its bytes up to the newline are dropped */
};

/* Receives each framed line; returns false to stop framing (the rest is discarded). */
typedef bool (*line_fn)(void *ctx, enum line_event ev, const char *line, size_t len);

struct line_framer {
	char *buf;       /* partial line kept between feeds; NULL when none (lazy) */
	uint32_t len;    /* bytes in buf */
	bool discarding; /* inside an over-long line: drop up to the next newline */
};

/*
 * Feeds n bytes. Calls fn for every complete line (\n or \r\n removed) and once per over-long
 * line (as soon as it passes max_line, with line = NULL). A partial line is kept for the next
 * call. Returns 0, or -ENOMEM when a partial line could not be kept.
 */
int framer_feed(struct line_framer *f, size_t max_line, const char *data, size_t n, line_fn fn,
		void *ctx);

/* Frees the partial line, if any. */
void framer_reset(struct line_framer *f);

enum line_check {
	LINE_VALID = 0,
	LINE_BAD_CONTROL, /* C0 other than tab, DEL, or C1 (U+0080..U+009F) */
	LINE_BAD_UTF8,    /* malformed, overlong, surrogate or beyond U+10FFFF */
};

/* Checks a whole line: valid UTF-8 and no control characters. */
enum line_check proto_check_line(const char *s, size_t n);

/*
 * Incremental UTF-8 validation, for text split across buffers (WebSocket fragments).
 * state starts at 0; returns false on the first invalid byte. utf8_complete tells whether the
 * text fed so far ends on a character boundary.
 */
bool utf8_feed(uint32_t *state, const unsigned char *s, size_t n);
static inline bool utf8_complete(uint32_t state)
{
	return state == 0;
}

/* The wording of server lines. Each writes at most cap bytes, ending in \n; returns length. */
size_t proto_welcome(char *out, size_t cap, uint64_t name, long online);
size_t proto_entered(char *out, size_t cap, const char *name);
/* "* NAME has left." or, with a reason, "* NAME has left (REASON)." */
size_t proto_left(char *out, size_t cap, const char *name, const char *reason, size_t reason_len);
size_t proto_summary(char *out, size_t cap, long entered, long left);
size_t proto_shutdown(char *out, size_t cap);
size_t proto_error(char *out, size_t cap, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Either of the two above, from a va_list. */
size_t proto_vserver_line(char *out, size_t cap, bool error, const char *fmt, va_list ap);
/* Any other server line: "* " + the formatted text + "\n". */
size_t proto_notice(char *out, size_t cap, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Writes "<name>:" into out (cap > strlen(name) + 1); returns its length. */
size_t proto_chat_prefix(char *out, const char *name);

#endif
