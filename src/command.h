/*
 * command.h - the chat commands as pure functions: recognising a command line, splitting its
 * arguments, and the rules for names and room names. No I/O, no allocation, no shared state.
 *
 * A line starting with '/' is a command, except "//", which escapes a chat line that starts
 * with '/' (the first slash is removed).
 */
#ifndef CHATD_COMMAND_H
#define CHATD_COMMAND_H

#include <stdbool.h>
#include <stddef.h>

#define NAME_MAX_LEN    32
#define ROOM_MAX_LEN    32
#define QUIT_REASON_MAX 200
#define HISTORY_ASK_MAX 10000 /* the most lines /history N asks for (--history's maximum) */

enum command_kind {
	CMD_NONE,    /* not a command: chat (text/len may have had an escaping '/' removed) */
	CMD_NICK,    /* /nick NAME */
	CMD_JOIN,    /* /join ROOM */
	CMD_ROOMS,   /* /rooms */
	CMD_WHO,     /* /who */
	CMD_MSG,     /* /msg NAME TEXT */
	CMD_ME,      /* /me TEXT */
	CMD_QUIT,    /* /quit [REASON] */
	CMD_HELP,    /* /help */
	CMD_HISTORY, /* /history [N]: count is N, or 0 when not given */
	CMD_AUTH,    /* /auth TOKEN: sign in (auth.h) */
	/* running a room (roomops.h): */
	CMD_TOPIC,   /* /topic [TEXT]: arg is TEXT (may be empty: show it) */
	CMD_OP,      /* /op NAME */
	CMD_DEOP,    /* /deop NAME */
	CMD_VOICE,   /* /voice NAME */
	CMD_DEVOICE, /* /devoice NAME */
	CMD_KICK,    /* /kick NAME [REASON]: text is REASON */
	CMD_BAN,     /* /ban MASK */
	CMD_UNBAN,   /* /unban MASK */
	CMD_BANS,    /* /bans */
	CMD_KEY,     /* /key KEY, /key - (clear) */
	CMD_LIMIT,   /* /limit N, /limit - (clear): count is N, or 0 */
	CMD_INVITE,  /* /invite NAME */
	CMD_MODE,    /* /mode [+X|-X [PARAM]]: arg is "+X"/"-X" (or empty), text the PARAM */
	CMD_INVALID, /* a command with a usage error; `error` says what */
};

struct command {
	enum command_kind kind;
	const char *arg; /* NAME or ROOM or the TEXT of /me, /quit, /topic */
	size_t arg_len;
	const char *text; /* /msg: the message; CMD_NONE: the chat text; /join: the KEY (0 bytes:
			   * none); /kick: the reason; /mode: its parameter */
	size_t text_len;
	const char *error; /* CMD_INVALID: a sentence for the error line */
	long count;        /* CMD_HISTORY: N, or 0 */
};

/* Parses one validated line. Never fails: errors are CMD_INVALID with `error` set. */
void command_parse(const char *line, size_t len, struct command *cmd);

/*
 * A user name: 1-32 characters, ASCII letters, digits, '_' and '-', starting with a letter.
 * (Generated names are all digits; see name_looks_generated for their look-alikes.)
 */
bool name_valid(const char *s, size_t n);

/*
 * Names are unique up to look-alikes: name_fold maps case, and l, I, 1 and | to one letter
 * ('l'), O and 0 to one ('o'); two names are the same name when they fold alike (so aIice is
 * alice). Pure: the directory hashes and compares folded names.
 */
char name_fold_char(char c);
/* Folds s[0..n) into out[0..n) (no NUL). */
void name_fold(const char *s, size_t n, char *out);
/* True when a[0..an) and b[0..bn) fold alike. */
bool name_same(const char *a, size_t an, const char *b, size_t bn);

/*
 * True when s[0..n) folds like a string of digits (lO, lol, Io): such a name could fold like
 * a generated name of a user yet to come, so it is refused. With it, no two users online ever
 * fold alike.
 */
bool name_looks_generated(const char *s, size_t n);

/* /limit's N (1 to 1000000), or 0 for "-"; -1 when neither. */
long command_limit_value(const char *s, size_t n);

/* A room name: 1-32 characters, ASCII letters, digits, '_' and '-'. */
bool room_name_valid(const char *s, size_t n);

#endif
