/*
 * proto.h - the line protocol as pure functions: framing bytes into lines, validating a line,
 * and the wording of every line the server says. No I/O and no locks; the framer allocates
 * only to keep an incomplete line between two reads. Safe to call from any thread on objects
 * that thread owns.
 */
#ifndef CHATD_PROTO_H
#define CHATD_PROTO_H

#include "command.h"
#include "common.h"

#include <netinet/in.h>
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
	uint32_t limit;  /* the max_line buf was made for (it holds limit + 1 bytes) */
	bool discarding; /* inside an over-long line: drop up to the next newline */
};

/*
 * Feeds n bytes. Calls fn for every complete line (\n or \r\n removed) and once per over-long
 * line (as soon as it passes max_line, with line = NULL). A partial line is kept for the next
 * call, and judged by the max_line it started under (max_line may change between calls: a
 * reload; the kept bytes' buffer was sized for the old one). Returns 0, or -ENOMEM when a
 * partial line could not be kept.
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
/* The longest quoted text: every byte escaped, the two quotes and the "..." marker. */
#define PROTO_QUOTED_MAX (2 * (size_t)PROTO_QUOTE_MAX + sizeof("\"\"...") - 1)

size_t proto_welcome(char *out, size_t cap, uint64_t name, long online);
size_t proto_entered(char *out, size_t cap, const char *name);
/* "* NAME has left." or, with a reason, "* NAME has left ("REASON")." */
size_t proto_left(char *out, size_t cap, const char *name, const char *reason, size_t reason_len);
size_t proto_summary(char *out, size_t cap, long entered, long left);
size_t proto_shutdown(char *out, size_t cap);
/* --cluster: the link to the other servers went down / came back (told to every user). */
#define PROTO_CLUSTER_DOWN                                                                       \
	PROTO_SERVER_PREFIX "The link to the other servers is down: messages reach this server " \
			    "only for now."
#define PROTO_CLUSTER_BACK                                                                    \
	PROTO_SERVER_PREFIX "The link to the other servers is back: messages reach everyone " \
			    "again."
/* Signing in (auth.h). PROTO_AUTH_WHY_MAX: the longest reason (jwt_error_text, auth.c). */
#define PROTO_AUTH_WHY_MAX 64
size_t proto_signed_in(char *out, size_t cap, const char *name);
/* "* error: sign-in refused: WHY." */
size_t proto_auth_refused(char *out, size_t cap, const char *why);
/* --require-auth: told once at connect, and the answer to what a guest may not do. */
#define PROTO_SIGN_IN_FIRST                                                                      \
	PROTO_SERVER_PREFIX "This server asks you to sign in before you speak, join or rename: " \
			    "/auth TOKEN."
#define PROTO_GUEST_REFUSED PROTO_SERVER_PREFIX "error: sign in first: /auth TOKEN."
size_t proto_sign_in_first(char *out, size_t cap);
size_t proto_guest_refused(char *out, size_t cap);
/* A guest whose name a signed-in user takes. */
size_t proto_name_reclaimed(char *out, size_t cap, const char *old, const char *name);

size_t proto_cluster_down(char *out, size_t cap);
size_t proto_cluster_back(char *out, size_t cap);
/* --cluster: a change of a room's state refused while the link to Redis is down (the text
 * after "* error: "). */
#define PROTO_CLUSTER_CUT_OFF                                                                   \
	"this server is cut off from the other servers: the room's settings cannot be changed " \
	"now; try again later."
/* --cluster: the reason in the leave notices of the users of a node that died. */
#define PROTO_SERVER_GONE "server gone"
/* --cluster: a line not sent to the other servers, their link's queue being full. */
#define PROTO_CLUSTER_DROPPED                                                                \
	PROTO_SERVER_PREFIX "error: your line did not reach the other servers (the link is " \
			    "congested); say it again later."
size_t proto_cluster_dropped(char *out, size_t cap);
/* --cluster: "* The name OLD is taken on another server: you are now NEW." (a name claimed
 * again after the link came back, found held by a user of another node). */
size_t proto_name_lost(char *out, size_t cap, const char *old, const char *name);
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

/* ---- what the server says to one user ------------------------------------------------- */

/* "* You are now in ROOM. N user(s) here." ROOM is a valid room name (room_name_valid). */
size_t proto_joined(char *out, size_t cap, const char *room, long members);
/* "* OLD is now known as NAME." (OLD may be a generated name: digits) */
size_t proto_renamed(char *out, size_t cap, const char *old, const char *name);
/* "* Goodbye." */
size_t proto_goodbye(char *out, size_t cap);
/* "* error: the name NAME is taken." NAME is name[0..n), a valid name. */
size_t proto_name_taken(char *out, size_t cap, const char *name, size_t n);
/* "* error: you are already in ROOM." ROOM is room[0..n), a valid room name. */
size_t proto_already_in(char *out, size_t cap, const char *room, size_t n);
/* "* error: too many rooms (max N); join an existing one (/rooms)." */
size_t proto_too_many_rooms(char *out, size_t cap, int max_rooms);
/* "* error: cannot enter ROOM: WHY." for dir_join's error: "too many rooms" for -ENOSPC,
 * "out of memory" for anything else. */
size_t proto_cannot_enter(char *out, size_t cap, const char *room, int err);

/* What a request that ran out of memory did not do, said after "server out of memory; ". */
enum proto_nomem {
	PROTO_NOMEM_LINE_NOT_SENT,    /* "your line was not sent" (chat, /me) */
	PROTO_NOMEM_NAME_UNCHANGED,   /* "name unchanged" (/nick) */
	PROTO_NOMEM_ROOM_NOT_TOLD,    /* "your new name is set, but the room was not told" */
	PROTO_NOMEM_STAY,             /* "you stay where you are" (/join) */
	PROTO_NOMEM_NO_LIST,          /* "no list this time" (/who, /rooms) */
	PROTO_NOMEM_MESSAGE_NOT_SENT, /* "your message was not sent" (/msg) */
	PROTO_NOMEM_ECHO_NOT_SENT,    /* "your message was sent, but not its echo" (/msg) */
	PROTO_NOMEM_DISCONNECTING,    /* "disconnecting" */
};
/* The longest of them: "your new name is set, but the room was not told" (a test checks). */
#define PROTO_NOMEM_MAX 47

/* "* error: server out of memory; CONSEQUENCE." */
size_t proto_out_of_memory(char *out, size_t cap, enum proto_nomem consequence);

/* The longest error text command_parse gives, "that name looks like a number (...); numbers
 * are kept for generated names." (tests/test_proto.c checks every one against it). */
#define PROTO_COMMAND_ERROR_MAX 98

/* "* error: ERROR" for a command_parse error text (struct command's `error`). */
size_t proto_command_error(char *out, size_t cap, const char *error);

/* Limits a user ran into. */
/* "* error: slow down: more than N lines a second; line dropped." */
size_t proto_rate_limited(char *out, size_t cap, int limit);
/* "* error: flooding: more than N lines a second; disconnecting." */
size_t proto_flooding(char *out, size_t cap, int limit);
/* "* error: line too long (max N bytes); dropped." */
size_t proto_line_too_long(char *out, size_t cap, size_t max_line);
/* "* error: too slow: more than N bytes queued for you; disconnecting." */
size_t proto_too_slow(char *out, size_t cap, size_t max_outbuf);
/* "* error: server out of memory: your connection held N bytes, among the most;
 * disconnecting." */
size_t proto_evicted(char *out, size_t cap, size_t cost);

/* Connections refused at accept. */
/* "* error: server full (N users); try again later." */
size_t proto_server_full(char *out, size_t cap, int max_clients);
/* "* error: server busy (out of memory); try again later." */
size_t proto_server_busy(char *out, size_t cap);
/* The longest address inet_ntop writes (an IPv6 one), without its NUL. */
#define PROTO_ADDR_MAX (INET6_ADDRSTRLEN - 1)
/* "* error: too many connections from ADDR (max N); try again later." ADDR: inet_ntop's. */
size_t proto_too_many_from(char *out, size_t cap, const char *addr, int max);
/* "* error: this server takes connections through its proxies only." (--proxy-protocol) */
size_t proto_proxy_only(char *out, size_t cap);

/* The /help answer: lines ending in \n, each starting with "* "; send it a line at a time. */
extern const char proto_help[];

/* ---- the /who and /rooms answers ------------------------------------------------------ */

/* /who outside any room: "* You are in no room." */
size_t proto_no_room(char *out, size_t cap);

/*
 * /who: one line, "* 3 users in lobby: alice, bob, 9" and, when not every member is named,
 * " and N more". names[0..n) are valid names; as many as fit in cap are shown, and N counts
 * the members not shown. PROTO_WHO_MAX(n) bytes always show all n.
 */
size_t proto_who(char *out, size_t cap, const char *room, long members, const char *const *names,
		 size_t n);
/* After a signed-in user's name in /who (U+2713 CHECK MARK): names cannot contain it. */
#define PROTO_VERIFIED_MARK "\xe2\x9c\x93"
#define PROTO_WHO_MAX(n)                                                                     \
	(sizeof(PROTO_SERVER_PREFIX " users in : and  more\n") + 2 * DECIMAL_LEN_MAX(long) + \
	 ROOM_MAX_LEN +                                                                      \
	 (size_t)(n) * (sizeof(", ") - 1 + NAME_MAX_LEN + sizeof(PROTO_VERIFIED_MARK) - 1))

/* /rooms: "* N room(s):", then one "*   ROOM N" per room, then, when some were left out,
 * "*   and N more". */
size_t proto_rooms_head(char *out, size_t cap, long rooms);
size_t proto_rooms_entry(char *out, size_t cap, const char *room, long members);
size_t proto_rooms_more(char *out, size_t cap, long more);

/* ---- sizes ------------------------------------------------------------------------------ */

/* The longest name proto_char_name gives: "INTERLINEAR ANNOTATION TERMINATOR" (a test checks). */
#define PROTO_CHAR_NAME_MAX 33

/*
 * The buffer (NUL included) each single-line wording function needs for its longest line:
 * the fixed text counted by sizeof of the line without its variable parts, plus the longest
 * of each part (a name, a room, a quoted text, a number of its type, a phrase). Only sizes
 * are used: PROTO_LINE_MAX is the largest member, PROTO_LINE_SIZE(member) one of them.
 * (proto_error, proto_notice and proto_vserver_line format what the caller gives: no bound.)
 */
union proto_line_sizes {
	char welcome[sizeof(PROTO_SERVER_PREFIX "Welcome, . users online. Type /help for "
						"commands.\n") +
		     DECIMAL_LEN_MAX(uint64_t) + DECIMAL_LEN_MAX(long)];
	char entered[sizeof(PROTO_SERVER_PREFIX " has entered.\n") + NAME_MAX_LEN];
	char left[sizeof(PROTO_SERVER_PREFIX " has left ().\n") + NAME_MAX_LEN + PROTO_QUOTED_MAX];
	char summary[sizeof(PROTO_SERVER_PREFIX " users entered,  left.\n") +
		     2 * DECIMAL_LEN_MAX(long)];
	char shutdown[sizeof(PROTO_SERVER_PREFIX "Server shutting down.\n")];
	char cluster_down[sizeof(PROTO_CLUSTER_DOWN "\n")];
	char cluster_back[sizeof(PROTO_CLUSTER_BACK "\n")];
	char cluster_dropped[sizeof(PROTO_CLUSTER_DROPPED "\n")];
	char name_lost[sizeof(PROTO_SERVER_PREFIX "The name  is taken on another server: you are "
						  "now .\n") +
		       2 * NAME_MAX_LEN];
	char
	    no_such_user[sizeof(PROTO_SERVER_PREFIX "error: no such user: .\n") + PROTO_QUOTED_MAX];
	char bad_utf8[sizeof(PROTO_SERVER_PREFIX "error: invalid UTF-8 at byte ; line dropped.\n") +
		      DECIMAL_LEN_MAX(size_t)];
	/* the longer of "is not allowed" and this; U+%04X of a uint32_t: 8 hex digits at most */
	char
	    bad_char[sizeof(PROTO_SERVER_PREFIX "error: U+ () at character  is allowed only "
						"between two visible characters; line dropped.\n") +
		     2 * sizeof(uint32_t) + PROTO_CHAR_NAME_MAX + DECIMAL_LEN_MAX(size_t)];
	char joined[sizeof(PROTO_SERVER_PREFIX "You are now in .  users here.\n") + ROOM_MAX_LEN +
		    DECIMAL_LEN_MAX(long)];
	char renamed[sizeof(PROTO_SERVER_PREFIX " is now known as .\n") + 2 * NAME_MAX_LEN];
	char goodbye[sizeof(PROTO_SERVER_PREFIX "Goodbye.\n")];
	char name_taken[sizeof(PROTO_SERVER_PREFIX "error: the name  is taken.\n") + NAME_MAX_LEN];
	char already_in[sizeof(PROTO_SERVER_PREFIX "error: you are already in .\n") + ROOM_MAX_LEN];
	char too_many_rooms[sizeof(PROTO_SERVER_PREFIX "error: too many rooms (max ); join an "
						       "existing one (/rooms).\n") +
			    DECIMAL_LEN_MAX(int)];
	/* WHY: "too many rooms" is the longer */
	char cannot_enter[sizeof(PROTO_SERVER_PREFIX "error: cannot enter : too many rooms.\n") +
			  ROOM_MAX_LEN];
	char out_of_memory[sizeof(PROTO_SERVER_PREFIX "error: server out of memory; .\n") +
			   PROTO_NOMEM_MAX];
	char command_error[sizeof(PROTO_SERVER_PREFIX "error: \n") + PROTO_COMMAND_ERROR_MAX];
	char rate_limited[sizeof(PROTO_SERVER_PREFIX "error: slow down: more than  lines a "
						     "second; line dropped.\n") +
			  DECIMAL_LEN_MAX(int)];
	char flooding[sizeof(PROTO_SERVER_PREFIX "error: flooding: more than  lines a second; "
						 "disconnecting.\n") +
		      DECIMAL_LEN_MAX(int)];
	char line_too_long[sizeof(PROTO_SERVER_PREFIX "error: line too long (max  bytes); "
						      "dropped.\n") +
			   DECIMAL_LEN_MAX(size_t)];
	char too_slow[sizeof(PROTO_SERVER_PREFIX "error: too slow: more than  bytes queued for "
						 "you; disconnecting.\n") +
		      DECIMAL_LEN_MAX(size_t)];
	char evicted[sizeof(PROTO_SERVER_PREFIX "error: server out of memory: your connection "
						"held  bytes, among the most; disconnecting.\n") +
		     DECIMAL_LEN_MAX(size_t)];
	char server_full[sizeof(PROTO_SERVER_PREFIX "error: server full ( users); try again "
						    "later.\n") +
			 DECIMAL_LEN_MAX(int)];
	char server_busy[sizeof(PROTO_SERVER_PREFIX "error: server busy (out of memory); try "
						    "again later.\n")];
	char too_many_from[sizeof(PROTO_SERVER_PREFIX "error: too many connections from  (max ); "
						      "try again later.\n") +
			   PROTO_ADDR_MAX + DECIMAL_LEN_MAX(int)];
	char proxy_only[sizeof(PROTO_SERVER_PREFIX "error: this server takes connections through "
						   "its proxies only.\n")];
	char no_room[sizeof(PROTO_SERVER_PREFIX "You are in no room.\n")];
	char rooms_head[sizeof(PROTO_SERVER_PREFIX " rooms:\n") + DECIMAL_LEN_MAX(long)];
	/* "*   ROOM N" */
	char
	    rooms_entry[sizeof(PROTO_SERVER_PREFIX "   \n") + ROOM_MAX_LEN + DECIMAL_LEN_MAX(long)];
	char rooms_more[sizeof(PROTO_SERVER_PREFIX "  and  more\n") + DECIMAL_LEN_MAX(long)];
	char history_head[sizeof(PROTO_SERVER_PREFIX "Last  lines in :\n") + DECIMAL_LEN_MAX(long) +
			  ROOM_MAX_LEN];
	char signed_in[sizeof(PROTO_SERVER_PREFIX "You are signed in as .\n") + NAME_MAX_LEN];
	char auth_refused[sizeof(PROTO_SERVER_PREFIX "error: sign-in refused: .\n") +
			  PROTO_AUTH_WHY_MAX];
	char sign_in_first[sizeof(PROTO_SIGN_IN_FIRST "\n")];
	char guest_refused[sizeof(PROTO_GUEST_REFUSED "\n")];
	char name_reclaimed[sizeof(PROTO_SERVER_PREFIX "The name  belongs to a signed-in user: you "
						       "are now .\n") +
			    2 * NAME_MAX_LEN];
	char history_end[sizeof(PROTO_SERVER_PREFIX "(end of history)\n")];
	char history_none[sizeof(PROTO_SERVER_PREFIX "No lines kept in  yet.\n") + ROOM_MAX_LEN];
};

/* Room for any line a single-line wording function writes: such a line is never cut. */
#define PROTO_LINE_MAX (sizeof(union proto_line_sizes))
/* Room for the longest line of one of them, e.g. PROTO_LINE_SIZE(rooms_more). */
#define PROTO_LINE_SIZE(line) (sizeof(((union proto_line_sizes *)NULL)->line))

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
/* Whether a room line is one a user said (chat or action), not a server notice. */
static inline bool proto_said_by_user(const char *line, size_t n)
{
	return n > 0 && !(n >= 2 && line[0] == PROTO_SERVER_PREFIX[0] && line[1] == ' ');
}

/* History (history.h), on joining a room and for /history: "* Last 3 lines in ROOM:", then
 * each line as it was said after its time, "[HH:MM:SS] " (UTC), then "* (end of history)". */
size_t proto_history_head(char *out, size_t cap, long lines, const char *room);
size_t proto_history_end(char *out, size_t cap);
size_t proto_history_none(char *out, size_t cap, const char *room);
/* Operators (operator.h): "* You were removed by an operator: REASON." (no reason: "* You were
 * removed by an operator."); "* error: you are banned from this server: REASON." (with
 * " (until 2026-12-01 14:00 UTC)" before the period when it ends); the room's reason in the
 * leave notice, "kicked: REASON" / "banned: REASON". */
size_t proto_kicked(char *out, size_t cap, const char *reason);
size_t proto_banned(char *out, size_t cap, const char *reason, int64_t until_ms);
size_t proto_name_banned(char *out, size_t cap, const char *name, size_t n, const char *reason);
/* Resuming (/ws?room=&since=): "* 12 lines said in ROOM while you were away are no longer
 * kept." (missed < 0: "* Lines said in ROOM while you were away may be missing: its history
 * began again.") */
size_t proto_gap(char *out, size_t cap, const char *room, int64_t missed);
#define PROTO_STAMP_LEN (sizeof("[00:00:00] ") - 1)
/* Writes the PROTO_STAMP_LEN bytes of the time stamp of a line said at time_ms (no NUL). */
void proto_history_stamp(char out[PROTO_STAMP_LEN + 1], int64_t time_ms);

size_t proto_user_line_len(enum user_line kind, const char *name, size_t text_len);

/* Writes it into out (proto_user_line_len bytes; no NUL); returns that length. */
size_t proto_user_line(char *out, enum user_line kind, const char *name, const char *text,
		       size_t text_len);

#endif
