/*
 * irc.h - the IRC client protocol as pure functions (RFC 1459, RFC 2812, modern.ircdocs.horse
 * and the IRCv3 message-tags specification): reading one message into its parts, writing
 * messages and numeric replies within the 512-byte line, and rendering the lines chatd's
 * server words (proto.c) as the IRC messages an IRC client expects.
 *
 * Owns: nothing. Pure code: no I/O, no allocation, no locks; any thread.
 *
 * Sizes: a message is at most IRC_LINE_MAX bytes with its CRLF; IRCv3 tags ("@a=b;c " in
 * front) have their own budget of IRC_TAGS_MAX bytes, the '@' and the space included, of which a
 * client may send IRC_CLIENT_TAGS_MAX (message-tags: 4094 bytes of tag data). So the longest
 * input line is IRC_INPUT_MAX bytes (without the line end).
 */
#ifndef CHATD_IRC_H
#define CHATD_IRC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define IRC_SERVER          "chatd" /* the server's name: its messages' prefix, users' host */
#define IRC_LINE_MAX        512     /* a message, CRLF included (RFC 1459 2.3) */
#define IRC_TAGS_MAX        8191    /* the tags section, '@' and the space after it included */
#define IRC_CLIENT_TAGS_MAX 4096    /* what a client may send: 4094 bytes of tag data, '@', ' ' */
#define IRC_PARAMS_MAX      15
#define IRC_INPUT_MAX       (IRC_CLIENT_TAGS_MAX + IRC_LINE_MAX - 2)
#define IRC_TIME_LEN        24 /* "2026-12-01T14:00:00.000Z" (server-time) */
/* A message chatd writes with its tags: its own (time, msgid: at most IRC_SERVER_TAGS_MAX)
 * and a client's it relays (at most IRC_CLIENT_TAGS_MAX), then the message. */
#define IRC_SERVER_TAGS_MAX 256
#define IRC_OUT_MAX         (IRC_SERVER_TAGS_MAX + IRC_CLIENT_TAGS_MAX + IRC_LINE_MAX)

/* One message, as spans of the line it was read from. */
struct irc_msg {
	const char *tags; /* after '@', up to the space; NULL when none */
	size_t tags_len;
	const char *prefix; /* after ':', up to the space; NULL when none */
	size_t prefix_len;
	const char *cmd; /* letters, or three digits */
	size_t cmd_len;
	unsigned nparams;
	const char *param[IRC_PARAMS_MAX];
	size_t param_len[IRC_PARAMS_MAX];
	bool trailing; /* the last parameter was given after " :" (it may hold spaces) */
};

enum irc_parse_result {
	IRC_OK = 0,
	IRC_EMPTY,         /* nothing but spaces: ignored, as RFC 2812 2.3.1 allows */
	IRC_NO_COMMAND,    /* tags or a prefix and nothing after them */
	IRC_BAD_COMMAND,   /* not letters, not three digits */
	IRC_TOO_LONG,      /* past IRC_LINE_MAX - 2 bytes after the tags */
	IRC_TAGS_TOO_LONG, /* the tags section past IRC_CLIENT_TAGS_MAX */
	IRC_BAD_CHARACTER  /* NUL, CR or LF inside the message */
};

/* Reads line[0..len) (its CRLF or LF removed) into m. Returns IRC_OK or why not. */
enum irc_parse_result irc_parse(const char *line, size_t len, struct irc_msg *m);

/* Whether m's command is cmd (case-insensitive, as IRC commands are). */
bool irc_is(const struct irc_msg *m, const char *cmd);

/* One tag of a tags section: its key (a '+' in front for a client-only tag) and its value as
 * sent, escaped (empty when none: "key" and "key=" are the same). */
struct irc_tag {
	const char *key;
	size_t key_len;
	const char *value;
	size_t value_len;
};

/* The next tag of tags[0..n) from *pos (start at 0) into t; false when there is none left.
 * Empty items (";;") are skipped. */
bool irc_tag_next(const char *tags, size_t n, size_t *pos, struct irc_tag *t);

/* Tag values (message-tags "Escaping values"): ';' ' ' '\' CR LF are written "\:" "\s" "\\"
 * "\r" "\n". irc_tag_unescape undoes it (a '\' before any other character is dropped, and so
 * is a last lone '\'); irc_tag_escape does it. Both write at most cap - 1 bytes and a NUL, and
 * return the length written. */
size_t irc_tag_unescape(char *out, size_t cap, const char *v, size_t n);
size_t irc_tag_escape(char *out, size_t cap, const char *v, size_t n);

/* The client-only tags of tags[0..n) ("+typing=active", "+example.com/x"), as they were sent
 * (escaped), ';'-separated, into out: the ones with a valid key ('+', then letters, digits,
 * '-', '.', '/'); others are left out. Writes at most cap - 1 bytes and a NUL (a tag that
 * does not fit is left out); returns the length written. */
size_t irc_client_tags(char *out, size_t cap, const char *tags, size_t n);

/* The server-time form of ms (milliseconds since the epoch), UTC: "2026-12-01T14:00:00.000Z"
 * (IRC_TIME_LEN bytes and a NUL; cap > IRC_TIME_LEN). Returns the length, 0 if it does not
 * fit. */
size_t irc_time(char *out, size_t cap, int64_t ms);

/* The numerics chatd sends, with their standard texts (irc_numeric_text). */
enum irc_numeric {
	RPL_WELCOME = 1,
	RPL_YOURHOST = 2,
	RPL_CREATED = 3,
	RPL_MYINFO = 4,
	RPL_ISUPPORT = 5,
	RPL_UMODEIS = 221,
	RPL_AWAY = 301,
	RPL_UNAWAY = 305,
	RPL_NOWAWAY = 306,
	RPL_WHOISUSER = 311,
	RPL_WHOISSERVER = 312,
	RPL_ENDOFWHO = 315,
	RPL_WHOISIDLE = 317,
	RPL_ENDOFWHOIS = 318,
	RPL_WHOISCHANNELS = 319,
	RPL_LISTSTART = 321,
	RPL_LIST = 322,
	RPL_LISTEND = 323,
	RPL_CHANNELMODEIS = 324,
	RPL_NOTOPIC = 331,
	RPL_TOPIC = 332,
	RPL_TOPICWHOTIME = 333,
	RPL_INVITING = 341,
	RPL_BANLIST = 367,
	RPL_ENDOFBANLIST = 368,
	RPL_WHOREPLY = 352,
	RPL_NAMREPLY = 353,
	RPL_ENDOFNAMES = 366,
	RPL_MOTD = 372,
	RPL_MOTDSTART = 375,
	RPL_ENDOFMOTD = 376,
	ERR_NOSUCHNICK = 401,
	ERR_NOSUCHCHANNEL = 403,
	ERR_CANNOTSENDTOCHAN = 404,
	ERR_TOOMANYCHANNELS = 405,
	ERR_NORECIPIENT = 411,
	ERR_NOTEXTTOSEND = 412,
	ERR_INPUTTOOLONG = 417,
	ERR_UNKNOWNCOMMAND = 421,
	ERR_NOMOTD = 422,
	ERR_NONICKNAMEGIVEN = 431,
	ERR_ERRONEUSNICKNAME = 432,
	ERR_NICKNAMEINUSE = 433,
	ERR_USERNOTINCHANNEL = 441,
	ERR_NOTONCHANNEL = 442,
	ERR_USERONCHANNEL = 443,
	ERR_NOTREGISTERED = 451,
	ERR_NEEDMOREPARAMS = 461,
	ERR_ALREADYREGISTERED = 462,
	ERR_PASSWDMISMATCH = 464,
	ERR_CHANNELISFULL = 471,
	ERR_UNKNOWNMODE = 472,
	ERR_INVITEONLYCHAN = 473,
	ERR_BANNEDFROMCHAN = 474,
	ERR_BADCHANNELKEY = 475,
	ERR_BANLISTFULL = 478,
	ERR_CHANOPRIVSNEEDED = 482,
	ERR_UMODEUNKNOWNFLAG = 501,
	ERR_USERSDONTMATCH = 502,
	ERR_INVALIDKEY = 525,
	ERR_INVALIDMODEPARAM = 696,
};

/* The standard text of a numeric ("No such nick/channel"), or NULL for replies whose last
 * parameter is data rather than words. */
const char *irc_numeric_text(enum irc_numeric num);

/*
 * Writes ":SERVER NUM TARGET ARGS :TEXT\r\n" (three digits; args may be NULL; text NULL: the
 * numeric's standard text). A message that would pass IRC_LINE_MAX is cut inside its last
 * parameter (on a UTF-8 character boundary), keeping the CRLF. Needs cap >= IRC_LINE_MAX;
 * returns the length written.
 */
size_t irc_numeric(char *out, size_t cap, const char *server, enum irc_numeric num,
		   const char *target, const char *args, const char *text);

/*
 * Writes "[:PREFIX ]CMD[ MIDDLE][ :TRAILING]\r\n" with the same cut as irc_numeric (prefix
 * and middle may be NULL; trailing NULL: none). Needs cap >= IRC_LINE_MAX; returns the length.
 */
size_t irc_message(char *out, size_t cap, const char *prefix, const char *cmd, const char *middle,
		   const char *trailing, size_t trailing_len);

/* Whether s[0..n) is a channel name chatd has: "#" and a room name's characters. */
bool irc_is_channel(const char *s, size_t n);

/* Whether line[0..n), a room line worded by proto.c, is what `name` said ("NAME:TEXT" or
 * "+ NAME TEXT"): chatd sends users their own lines back, IRC only with echo-message. */
bool irc_said_by(const char *line, size_t n, const char *name);

/* What a chatd line is rendered for. */
struct irc_ctx {
	const char *server; /* the server's name (prefix of its own messages) */
	const char *me;     /* the recipient's nick */
	const char *room;   /* the room a room line came through, or NULL (a line to one user) */
	bool echo;          /* echo-message: the sender's echo of a /msg is its PRIVMSG back */
	int64_t time_ms;    /* server-time: "time=" this time (ms since the epoch); 0: no tag */
	bool tags;          /* message-tags: "msgid=ROOM/SEQ" for a room line with a seq */
	uint64_t seq;       /* the room's sequence number of the line, or 0 */
	const char *client_tags; /* message-tags: client-only tags relayed (irc_client_tags) */
	size_t client_tags_len;
};

/* The tags section chatd puts in front of a message for x ("@time=...;msgid=ROOM/SEQ;+a=b "),
 * or nothing (0). Needs cap >= IRC_SERVER_TAGS_MAX + x->client_tags_len; returns the length
 * written (no NUL). */
size_t irc_server_tags(char *out, size_t cap, const struct irc_ctx *x);

/* A TAGMSG relayed (message-tags): data[0..n) is "NAME TAGS" (TAGS: irc_client_tags' form),
 * written "@[time=...;]TAGS :NAME!NAME@SERVER TAGMSG #ROOM" (or to the recipient when x->room
 * is NULL). Needs cap >= IRC_OUT_MAX; returns the length written, 0 for data not of that form.
 */
size_t irc_tagmsg(char *out, size_t cap, const char *data, size_t n, const struct irc_ctx *x);

/*
 * A line worded by proto.c (a final "\n" may be there or not) as an IRC message for one
 * recipient: "NAME:TEXT" as ":NAME!NAME@SERVER PRIVMSG #ROOM :TEXT", "+ NAME TEXT" as a CTCP
 * ACTION, "(private) NAME:TEXT" as a PRIVMSG to the recipient, entered / left / renamed
 * notices as JOIN / PART (QUIT when a reason is given: the user left the chat) / NICK, any other line as a NOTICE (to #ROOM, or to the recipient).
 * The sender's echo of a /msg ("* to NAME: TEXT") has no IRC form (0) unless x->echo:
 * then it is ":ME!ME@SERVER PRIVMSG NAME :TEXT". The tags x asks for come in front
 * (irc_server_tags) when cap >= IRC_SERVER_TAGS_MAX + IRC_LINE_MAX. Needs cap >= IRC_LINE_MAX;
 * returns the length written.
 */
size_t irc_render(char *out, size_t cap, const char *line, size_t n, const struct irc_ctx *x);

#endif
