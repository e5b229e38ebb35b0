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
	LINE_BAD_FORMAT,  /* a bidi control, a line/paragraph separator, an invisible format
			     character, or a joiner (U+200C/U+200D) not between two visible
			     characters (docs/protocol.md, "Text") */
};

/* Why a line was refused, for the error line and the log. */
struct line_verdict {
	enum line_check kind;
	uint32_t cp; /* LINE_BAD_CONTROL, LINE_BAD_FORMAT: the code point refused */
	size_t pos;  /* from 1: in characters (code points) for the two above; for LINE_BAD_UTF8
			the byte where the broken character starts */
};

/*
 * Checks a whole line: valid UTF-8, no control character (tab aside), none of the refused
 * format characters. Returns the first problem, or kind LINE_VALID. Printable ASCII takes
 * one compare a byte; characters are only counted on the way out of a refused line.
 */
struct line_verdict proto_check_line(const char *s, size_t n);

/* The refused code point's Unicode name ("RIGHT-TO-LEFT OVERRIDE"), or "control character". */
const char *proto_char_name(uint32_t cp);

/*
 * Where valid UTF-8 text may be cut at or below n bytes without leaving half a character:
 * n, or the start of a character s[0..n) holds only part of. Reads s[0..n) only, so it also
 * trims a buffer a formatter filled up.
 */
size_t utf8_cut(const char *s, size_t n);

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

/*
 * The wording of server lines. Each writes at most cap bytes, ending in \n, and returns the
 * length; a line that does not fit is cut on a character boundary.
 *
 * User text inside server wording is quoted: "..." with " and \ escaped as \" and \\, a tab
 * shown as one space, at most PROTO_QUOTE_MAX bytes of it (and no more than cap allows), cut on
 * a character boundary with ... after the closing quote when cut. Names and room names that
 * passed name_valid / room_name_valid are shown as they are.
 */
#define PROTO_QUOTE_MAX 200

size_t proto_welcome(char *out, size_t cap, uint64_t name, long online);
size_t proto_entered(char *out, size_t cap, const char *name);
/* "* NAME has left." or, with a reason, "* NAME has left ("REASON")." */
size_t proto_left(char *out, size_t cap, const char *name, const char *reason, size_t reason_len);
size_t proto_summary(char *out, size_t cap, long entered, long left);
size_t proto_shutdown(char *out, size_t cap);
/* "* error: no such user: "NAME"." for the NAME a /msg gave. */
size_t proto_no_such_user(char *out, size_t cap, const char *name, size_t n);
/* The error line for a refused line, e.g.
 * "* error: U+202E (RIGHT-TO-LEFT OVERRIDE) at character 7 is not allowed; line dropped." */
size_t proto_line_refused(char *out, size_t cap, const struct line_verdict *v);
size_t proto_error(char *out, size_t cap, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Either of the two above, from a va_list. */
size_t proto_vserver_line(char *out, size_t cap, bool error, const char *fmt, va_list ap);
/* Any other server line: "* " + the formatted text + "\n". */
size_t proto_notice(char *out, size_t cap, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/*
 * Lines that carry a user's text to the end of the line (so it needs no quotes): the text is
 * relayed as typed, a tab as one space. NAME is a valid name, so each line starts with the
 * server's prefix or the sender's name, whatever the text holds.
 */
enum user_line {
	USER_CHAT,    /* "NAME:TEXT" to the room */
	USER_ACTION,  /* "+ NAME TEXT" to the room (/me) */
	USER_PRIVATE, /* "(private) NAME:TEXT" to the recipient of a /msg */
	USER_ECHO,    /* "* to NAME: TEXT" to the sender of a /msg */
};

/* The exact length of such a line, \n included: the size to allocate for it. */
size_t proto_user_line_len(enum user_line kind, const char *name, size_t text_len);

/* Writes it into out (proto_user_line_len bytes; no NUL); returns that length. */
size_t proto_user_line(char *out, enum user_line kind, const char *name, const char *text,
		       size_t text_len);

#endif
