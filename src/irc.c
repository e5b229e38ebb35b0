/*
 * irc.c - the IRC protocol's messages, read and written (see irc.h).
 */
#include "irc.h"
#include "proto.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

/* ---- reading ------------------------------------------------------------------------------- */

static size_t skip_spaces(const char *s, size_t i, size_t n)
{
	while (i < n && s[i] == ' ')
		i++;
	return i;
}

/* The end of the word starting at i: the next space, or n. */
static size_t word_end(const char *s, size_t i, size_t n)
{
	const char *sp = memchr(s + i, ' ', n - i);
	return sp != NULL ? (size_t)(sp - s) : n;
}

static bool is_letter(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static bool command_valid(const char *s, size_t n)
{
	if (n == 3 && is_digit(s[0]) && is_digit(s[1]) && is_digit(s[2]))
		return true;
	for (size_t i = 0; i < n; i++)
		if (!is_letter(s[i]))
			return false;
	return n > 0;
}

/* The parameters from s[i..n) into m. */
static void read_params(const char *s, size_t i, size_t n, struct irc_msg *m)
{
	for (;;) {
		i = skip_spaces(s, i, n);
		if (i >= n)
			return;
		unsigned k = m->nparams;
		if (s[i] == ':' || k == IRC_PARAMS_MAX - 1) {
			/* RFC 2812 2.3.1: after 14 middle parameters the rest is the trailing
			 * one, with or without its colon */
			m->trailing = s[i] == ':';
			size_t from = m->trailing ? i + 1 : i;
			m->param[k] = s + from;
			m->param_len[k] = n - from;
			m->nparams = k + 1;
			return;
		}
		size_t end = word_end(s, i, n);
		m->param[k] = s + i;
		m->param_len[k] = end - i;
		m->nparams = k + 1;
		i = end;
	}
}

enum irc_parse_result irc_parse(const char *line, size_t len, struct irc_msg *m)
{
	memset(m, 0, sizeof(*m));
	if (memchr(line, '\0', len) != NULL || memchr(line, '\r', len) != NULL ||
	    memchr(line, '\n', len) != NULL)
		return IRC_BAD_CHARACTER;
	size_t i = skip_spaces(line, 0, len);
	if (i == len)
		return IRC_EMPTY;
	if (line[i] == '@') {
		size_t end = word_end(line, i, len);
		/* the section counts its '@' and the space after it */
		if (end - i + 1 > IRC_CLIENT_TAGS_MAX)
			return IRC_TAGS_TOO_LONG;
		m->tags = line + i + 1;
		m->tags_len = end - i - 1;
		i = skip_spaces(line, end, len);
	}
	if (len - i > IRC_LINE_MAX - 2)
		return IRC_TOO_LONG;
	if (i < len && line[i] == ':') {
		size_t end = word_end(line, i, len);
		m->prefix = line + i + 1;
		m->prefix_len = end - i - 1;
		i = skip_spaces(line, end, len);
	}
	if (i == len)
		return IRC_NO_COMMAND;
	size_t end = word_end(line, i, len);
	m->cmd = line + i;
	m->cmd_len = end - i;
	if (!command_valid(m->cmd, m->cmd_len))
		return IRC_BAD_COMMAND;
	read_params(line, end, len, m);
	return IRC_OK;
}

bool irc_is(const struct irc_msg *m, const char *cmd)
{
	size_t n = strlen(cmd);
	return m->cmd_len == n && strncasecmp(m->cmd, cmd, n) == 0;
}

/* ---- tags ---------------------------------------------------------------------------------- */

bool irc_tag_next(const char *tags, size_t n, size_t *pos, struct irc_tag *t)
{
	size_t i = *pos;
	while (i < n && tags[i] == ';')
		i++;
	if (i >= n) {
		*pos = n;
		return false;
	}
	const char *semi = memchr(tags + i, ';', n - i);
	size_t end = semi != NULL ? (size_t)(semi - tags) : n;
	const char *eq = memchr(tags + i, '=', end - i);
	size_t key_end = eq != NULL ? (size_t)(eq - tags) : end;
	t->key = tags + i;
	t->key_len = key_end - i;
	t->value = eq != NULL ? eq + 1 : tags + end;
	t->value_len = eq != NULL ? end - key_end - 1 : 0;
	*pos = end;
	return true;
}

/* The character "\c" stands for in a tag value. */
static char unescaped(char c)
{
	switch (c) {
	case ':':
		return ';';
	case 's':
		return ' ';
	case 'r':
		return '\r';
	case 'n':
		return '\n';
	default: /* "\\" and any other: the character itself */
		return c;
	}
}

size_t irc_tag_unescape(char *out, size_t cap, const char *v, size_t n)
{
	size_t len = 0, i = 0;
	if (cap == 0)
		return 0;
	while (i < n && len + 1 < cap) {
		if (v[i] != '\\')
			out[len++] = v[i];
		else if (i + 1 < n) /* a last lone '\\' is dropped */
			out[len++] = unescaped(v[++i]);
		i++;
	}
	out[len] = '\0';
	return len;
}

/* How c is written in a tag value, or NULL: as it is. */
static const char *escape_of(char c)
{
	switch (c) {
	case ';':
		return "\\:";
	case ' ':
		return "\\s";
	case '\\':
		return "\\\\";
	case '\r':
		return "\\r";
	case '\n':
		return "\\n";
	default:
		return NULL;
	}
}

size_t irc_tag_escape(char *out, size_t cap, const char *v, size_t n)
{
	size_t len = 0;
	if (cap == 0)
		return 0;
	for (size_t i = 0; i < n; i++) {
		const char *esc = escape_of(v[i]);
		size_t k = esc != NULL ? 2 : 1;
		if (len + k >= cap)
			break;
		memcpy(out + len, esc != NULL ? esc : v + i, k);
		len += k;
	}
	out[len] = '\0';
	return len;
}

size_t irc_time(char *out, size_t cap, int64_t ms)
{
	time_t secs = (time_t)(ms / 1000);
	struct tm tm;
	if (cap <= IRC_TIME_LEN || ms < 0 || gmtime_r(&secs, &tm) == NULL)
		return 0;
	int n =
	    snprintf(out, cap, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
		     tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (int)(ms % 1000));
	return n == IRC_TIME_LEN ? (size_t)n : 0;
}

/* Whether k[0..n) is a client-only tag's key: '+', then [vendor/]name. */
static bool client_key_valid(const char *k, size_t n)
{
	if (n < 2 || k[0] != '+')
		return false;
	for (size_t i = 1; i < n; i++)
		if (!is_letter(k[i]) && !is_digit(k[i]) && k[i] != '-' && k[i] != '.' &&
		    k[i] != '/')
			return false;
	return true;
}

size_t irc_client_tags(char *out, size_t cap, const char *tags, size_t n)
{
	size_t len = 0;
	struct irc_tag t;
	if (cap == 0)
		return 0;
	for (size_t pos = 0; irc_tag_next(tags, n, &pos, &t);) {
		size_t k = (len > 0 ? 1 : 0) + t.key_len + (t.value_len > 0 ? 1 + t.value_len : 0);
		if (!client_key_valid(t.key, t.key_len) || len + k >= cap)
			continue;
		len += (size_t)snprintf(out + len, cap - len, "%s%.*s%s%.*s", len > 0 ? ";" : "",
					(int)t.key_len, t.key, t.value_len > 0 ? "=" : "",
					(int)t.value_len, t.value);
	}
	out[len] = '\0';
	return len;
}

size_t irc_server_tags(char *out, size_t cap, const struct irc_ctx *x)
{
	char stamp[IRC_TIME_LEN + 1], msgid[IRC_SERVER_TAGS_MAX / 2];
	bool has_time = x->time_ms > 0 && irc_time(stamp, sizeof(stamp), x->time_ms) > 0;
	bool has_id = x->tags && x->seq != 0 && x->room != NULL;
	bool has_client = x->tags && x->client_tags_len > 0;
	if (has_id) {
		char id[IRC_SERVER_TAGS_MAX / 2];
		snprintf(id, sizeof(id), "%.64s/%" PRIu64, x->room, x->seq);
		irc_tag_escape(msgid, sizeof(msgid), id, strlen(id));
	}
	if ((!has_time && !has_id && !has_client) ||
	    cap < IRC_SERVER_TAGS_MAX + (has_client ? x->client_tags_len : 0))
		return 0;
	int n =
	    snprintf(out, cap, "@%s%s%s%s%s%s%.*s ", has_time ? "time=" : "", has_time ? stamp : "",
		     has_time && has_id ? ";" : "", has_id ? "msgid=" : "", has_id ? msgid : "",
		     (has_time || has_id) && has_client ? ";" : "",
		     has_client ? (int)x->client_tags_len : 0, has_client ? x->client_tags : "");
	return n > 0 && (size_t)n < cap ? (size_t)n : 0;
}

bool irc_is_channel(const char *s, size_t n)
{
	if (n < 2 || s[0] != '#')
		return false;
	for (size_t i = 1; i < n; i++)
		if (!is_letter(s[i]) && !is_digit(s[i]) && s[i] != '_' && s[i] != '-')
			return false;
	return true;
}

/* ---- writing ------------------------------------------------------------------------------- */

const char *irc_numeric_text(enum irc_numeric num)
{
	switch (num) {
	case RPL_ENDOFBANLIST:
		return "End of channel ban list";
	case ERR_USERNOTINCHANNEL:
		return "They aren't on that channel";
	case ERR_USERONCHANNEL:
		return "is already on channel";
	case ERR_CHANNELISFULL:
		return "Cannot join channel (+l)";
	case ERR_INVITEONLYCHAN:
		return "Cannot join channel (+i)";
	case ERR_BANNEDFROMCHAN:
		return "Cannot join channel (+b)";
	case ERR_BADCHANNELKEY:
		return "Cannot join channel (+k)";
	case ERR_BANLISTFULL:
		return "Channel list is full";
	case ERR_CHANOPRIVSNEEDED:
		return "You're not channel operator";
	case RPL_UNAWAY:
		return "You are no longer marked as being away";
	case RPL_NOWAWAY:
		return "You have been marked as being away";
	case RPL_ENDOFWHO:
		return "End of /WHO list";
	case RPL_ENDOFWHOIS:
		return "End of /WHOIS list";
	case RPL_LISTEND:
		return "End of /LIST";
	case RPL_NOTOPIC:
		return "No topic is set";
	case RPL_ENDOFNAMES:
		return "End of /NAMES list";
	case RPL_ENDOFMOTD:
		return "End of /MOTD command";
	case ERR_NOSUCHNICK:
		return "No such nick/channel";
	case ERR_NOSUCHCHANNEL:
		return "No such channel";
	case ERR_CANNOTSENDTOCHAN:
		return "Cannot send to channel";
	case ERR_TOOMANYCHANNELS:
		return "You have joined too many channels";
	case ERR_NORECIPIENT:
		return "No recipient given";
	case ERR_NOTEXTTOSEND:
		return "No text to send";
	case ERR_INPUTTOOLONG:
		return "Input line was too long";
	case ERR_UNKNOWNCOMMAND:
		return "Unknown command";
	case ERR_NOMOTD:
		return "MOTD File is missing";
	case ERR_NONICKNAMEGIVEN:
		return "No nickname given";
	case ERR_ERRONEUSNICKNAME:
		return "Erroneous nickname";
	case ERR_NICKNAMEINUSE:
		return "Nickname is already in use";
	case ERR_NOTONCHANNEL:
		return "You're not on that channel";
	case ERR_NOTREGISTERED:
		return "You have not registered";
	case ERR_NEEDMOREPARAMS:
		return "Not enough parameters";
	case ERR_ALREADYREGISTERED:
		return "You may not reregister";
	case ERR_PASSWDMISMATCH:
		return "Password incorrect";
	case ERR_UNKNOWNMODE:
		return "is unknown mode char to me";
	case ERR_UMODEUNKNOWNFLAG:
		return "Unknown MODE flag";
	case ERR_USERSDONTMATCH:
		return "Cant change mode for other users";
	case ERR_INVALIDKEY:
		return "Key is not well-formed";
	case ERR_INVALIDMODEPARAM:
		return "Invalid mode parameter";
	default:
		return NULL;
	}
}

/* The longest prefix of s[0..n) that ends on a UTF-8 character boundary. */
static size_t cut_utf8(const char *s, size_t n)
{
	size_t k = n;
	while (k > 0 && ((unsigned char)s[k] & 0xC0) == 0x80)
		k--;
	return k;
}

/* Appends s[0..n) to out at *len, as much as fits below limit. */
static void put(char *out, size_t *len, size_t limit, const char *s, size_t n)
{
	size_t room = *len < limit ? limit - *len : 0;
	if (n > room)
		n = room;
	memcpy(out + *len, s, n);
	*len += n;
}

static void put_str(char *out, size_t *len, size_t limit, const char *s)
{
	put(out, len, limit, s, strlen(s));
}

size_t irc_message(char *out, size_t cap, const char *prefix, const char *cmd, const char *middle,
		   const char *trailing, size_t trailing_len)
{
	const size_t limit = (cap < IRC_LINE_MAX ? cap : IRC_LINE_MAX) - 2;
	size_t len = 0;
	if (prefix != NULL) {
		put_str(out, &len, limit, ":");
		put_str(out, &len, limit, prefix);
		put_str(out, &len, limit, " ");
	}
	put_str(out, &len, limit, cmd);
	if (middle != NULL && middle[0] != '\0') {
		put_str(out, &len, limit, " ");
		put_str(out, &len, limit, middle);
	}
	if (trailing != NULL) {
		put_str(out, &len, limit, " :");
		size_t room = len < limit ? limit - len : 0;
		size_t n = trailing_len <= room ? trailing_len : cut_utf8(trailing, room);
		put(out, &len, limit, trailing, n);
	}
	out[len] = '\r';
	out[len + 1] = '\n';
	return len + 2;
}

size_t irc_numeric(char *out, size_t cap, const char *server, enum irc_numeric num,
		   const char *target, const char *args, const char *text)
{
	unsigned v = (unsigned)num % 1000;
	char cmd[4] = { (char)('0' + v / 100), (char)('0' + v / 10 % 10), (char)('0' + v % 10),
			'\0' };
	char middle[IRC_LINE_MAX];
	snprintf(middle, sizeof(middle), "%s%s%s", target, args != NULL ? " " : "",
		 args != NULL ? args : "");
	if (text == NULL)
		text = irc_numeric_text(num);
	return irc_message(out, cap, server, cmd, middle, text, text != NULL ? strlen(text) : 0);
}

/* ---- chatd's lines as IRC messages ------------------------------------------------------- */

struct span {
	const char *p;
	size_t n;
};

static bool name_char(char c)
{
	return is_letter(c) || is_digit(c) || c == '_' || c == '-';
}

static struct span name_at(struct span s)
{
	size_t k = 0;
	while (k < s.n && name_char(s.p[k]))
		k++;
	return (struct span){ s.p, k };
}

static struct span after(struct span s, size_t k)
{
	return k < s.n ? (struct span){ s.p + k, s.n - k } : (struct span){ s.p + s.n, 0 };
}

static bool starts(struct span s, const char *prefix)
{
	size_t k = strlen(prefix);
	return s.n >= k && memcmp(s.p, prefix, k) == 0;
}

static bool equals(struct span s, const char *text)
{
	return s.n == strlen(text) && memcmp(s.p, text, s.n) == 0;
}

static bool ends(struct span s, const char *suffix)
{
	size_t k = strlen(suffix);
	return s.n >= k && memcmp(s.p + s.n - k, suffix, k) == 0;
}

/* "NAME!NAME@SERVER" into buf. */
static const char *mask_of(char *buf, size_t cap, struct span name, const char *server)
{
	snprintf(buf, cap, "%.*s!%.*s@%s", (int)name.n, name.p, (int)name.n, name.p, server);
	return buf;
}

/* Where a message to the recipient goes: the room's channel, or the recipient. */
static const char *target_of(char *buf, size_t cap, const struct irc_ctx *x)
{
	if (x->room != NULL)
		snprintf(buf, cap, "#%s", x->room);
	else
		snprintf(buf, cap, "%s", x->me);
	return buf;
}

/* What someone said (kind: PRIVMSG) from `from` to target, the text maybe a CTCP ACTION. */
static size_t render_said(char *out, size_t cap, struct span from, const char *target,
			  struct span text, bool action, const struct irc_ctx *x)
{
	char mask[IRC_LINE_MAX], body[IRC_LINE_MAX];
	mask_of(mask, sizeof(mask), from, x->server);
	if (!action)
		return irc_message(out, cap, mask, "PRIVMSG", target, text.p, text.n);
	size_t k = text.n <= sizeof(body) - 10 ? text.n : cut_utf8(text.p, sizeof(body) - 10);
	int n = snprintf(body, sizeof(body), "\001ACTION %.*s\001", (int)k, text.p);
	return irc_message(out, cap, mask, "PRIVMSG", target, body, n > 0 ? (size_t)n : 0);
}

/* The notices about one user ("NAME has entered." ...) as JOIN, PART, NICK; 0 for others. */
static size_t render_member(char *out, size_t cap, struct span t, const struct irc_ctx *x)
{
	char mask[IRC_LINE_MAX], chan[IRC_LINE_MAX];
	struct span name = name_at(t), rest = after(t, name.n);
	if (name.n == 0)
		return 0;
	mask_of(mask, sizeof(mask), name, x->server);
	if (starts(rest, " is now known as ")) {
		struct span to = name_at(after(rest, strlen(" is now known as ")));
		if (to.n > 0 && equals(after(rest, strlen(" is now known as ") + to.n), "."))
			return irc_message(out, cap, mask, "NICK", NULL, to.p, to.n);
		return 0;
	}
	if (x->room == NULL)
		return 0;
	target_of(chan, sizeof(chan), x);
	if (equals(rest, " has entered."))
		return irc_message(out, cap, mask, "JOIN", chan, NULL, 0);
	if (equals(rest, " has left."))
		return irc_message(out, cap, mask, "PART", chan, NULL, 0);
	if (starts(rest, " has left (\"") && ends(rest, ").")) {
		struct span q = after(rest, strlen(" has left (\""));
		q.n -= 2;
		if (ends(q, "\""))
			q.n--;
		/* a reason is given only by those leaving the chat: /quit, a kick */
		return irc_message(out, cap, mask, "QUIT", NULL, q.p, q.n);
	}
	return 0;
}

/* The word at s (up to a space), and "#ROOM" from a room name at s into chan. */
static struct span word_at(struct span s)
{
	size_t k = 0;
	while (k < s.n && s.p[k] != ' ')
		k++;
	return (struct span){ s.p, k };
}

static const char *chan_of(char *chan, size_t cap, struct span room)
{
	snprintf(chan, cap, "#%.*s", (int)room.n, room.p);
	return chan;
}

/* "+X[ PARAM] in ROOM." (roomops' "NAME sets mode ..."): MODE #ROOM +X [PARAM]. */
static size_t render_mode(char *out, size_t cap, const char *mask, struct span rest)
{
	char chan[IRC_LINE_MAX], modes[IRC_LINE_MAX];
	struct span flag = word_at(rest), param = { "", 0 };
	rest = after(rest, flag.n);
	if (!starts(rest, " in ")) {
		param = word_at(after(rest, 1));
		rest = after(rest, 1 + param.n);
	}
	struct span room = name_at(after(rest, 4));
	if (flag.n != 2 || !starts(rest, " in ") || room.n == 0 ||
	    !equals(after(rest, 4 + room.n), "."))
		return 0;
	if (param.n == 0 && flag.p[1] == 'k') /* the key is not shown: "*" stands for it */
		param = (struct span){ "*", 1 };
	int k = snprintf(modes, sizeof(modes), "%s %.*s%s%.*s", chan_of(chan, sizeof(chan), room),
			 (int)flag.n, flag.p, param.n > 0 ? " " : "", (int)param.n, param.p);
	if (k < 0 || (size_t)k >= sizeof(modes))
		return 0;
	return irc_message(out, cap, mask, "MODE", modes, NULL, 0);
}

/* "ROOM: TEXT" or "ROOM." after "set/cleared the topic of ": TOPIC #ROOM :TEXT. */
static size_t render_topic(char *out, size_t cap, const char *mask, struct span rest, bool set)
{
	char chan[IRC_LINE_MAX];
	struct span room = name_at(rest), text = after(rest, room.n + 2);
	if (room.n == 0 ||
	    (set ? !starts(after(rest, room.n), ": ") : !equals(after(rest, room.n), ".")))
		return 0;
	return irc_message(out, cap, mask, "TOPIC", chan_of(chan, sizeof(chan), room),
			   set ? text.p : "", set ? text.n : 0);
}

/* "WHO from ROOM[ (REASON)]." after "kicked ": KICK #ROOM WHO :REASON. */
static size_t render_kick(char *out, size_t cap, const char *mask, struct span rest)
{
	char chan[IRC_LINE_MAX], middle[IRC_LINE_MAX];
	struct span who = name_at(rest), room = name_at(after(rest, who.n + 6)), why = { "", 0 };
	struct span tail = after(rest, who.n + 6 + room.n);
	if (who.n == 0 || room.n == 0 || !starts(after(rest, who.n), " from "))
		return 0;
	if (starts(tail, " (") && ends(tail, ").")) {
		why = after(tail, 2);
		why.n -= 2;
	} else if (!equals(tail, ".")) {
		return 0;
	}
	int k = snprintf(middle, sizeof(middle), "%s %.*s", chan_of(chan, sizeof(chan), room),
			 (int)who.n, who.p);
	if (k < 0 || (size_t)k >= sizeof(middle))
		return 0;
	return irc_message(out, cap, mask, "KICK", middle, why.p, why.n);
}

/* What an operator did to a room (roomops' notices) as MODE, TOPIC, KICK or INVITE; 0 for
 * other lines. */
static size_t render_order(char *out, size_t cap, struct span t, const struct irc_ctx *x)
{
	char mask[IRC_LINE_MAX];
	struct span name = name_at(t), rest = after(t, name.n);
	if (name.n == 0)
		return 0;
	mask_of(mask, sizeof(mask), name, x->server);
	if (starts(rest, " sets mode "))
		return render_mode(out, cap, mask, after(rest, strlen(" sets mode ")));
	if (starts(rest, " set the topic of "))
		return render_topic(out, cap, mask, after(rest, strlen(" set the topic of ")),
				    true);
	if (starts(rest, " cleared the topic of "))
		return render_topic(out, cap, mask, after(rest, strlen(" cleared the topic of ")),
				    false);
	if (starts(rest, " kicked "))
		return render_kick(out, cap, mask, after(rest, strlen(" kicked ")));
	if (starts(rest, " invites you to ") && x->room == NULL) {
		struct span room = name_at(after(rest, strlen(" invites you to ")));
		if (room.n == 0)
			return 0;
		char middle[IRC_LINE_MAX], chan[IRC_LINE_MAX];
		int k = snprintf(middle, sizeof(middle), "%s %s", x->me,
				 chan_of(chan, sizeof(chan), room));
		if (k < 0 || (size_t)k >= sizeof(middle))
			return 0;
		return irc_message(out, cap, mask, "INVITE", middle, NULL, 0);
	}
	return 0;
}

bool irc_said_by(const char *line, size_t n, const char *name)
{
	struct span l = { line, n }, who;
	size_t k = strlen(name);
	if (starts(l, "+ ")) {
		who = name_at(after(l, 2));
		return who.n == k && memcmp(who.p, name, k) == 0 &&
		       (l.n == 2 + k || l.p[2 + k] == ' ' || l.p[2 + k] == '\n');
	}
	who = name_at(l);
	return who.n == k && memcmp(who.p, name, k) == 0 && l.n > k && l.p[k] == ':';
}

static size_t render_body(char *out, size_t cap, const char *line, size_t n,
			  const struct irc_ctx *x)
{
	struct span l = { line, n > 0 && line[n - 1] == '\n' ? n - 1 : n }, name, rest;
	char target[IRC_LINE_MAX];
	if (!proto_said_by_user(l.p, l.n)) { /* "* ...": the server's */
		struct span t = after(l, strlen(PROTO_SERVER_PREFIX));
		if (starts(t, "to ")) {
			name = name_at(after(t, 3));
			struct span me = { x->me, strlen(x->me) };
			if (name.n > 0 && starts(after(t, 3 + name.n), ": ")) { /* a /msg's echo */
				if (!x->echo)
					return 0;
				snprintf(target, sizeof(target), "%.*s", (int)name.n, name.p);
				return render_said(out, cap, me, target, after(t, 5 + name.n),
						   false, x);
			}
		}
		size_t k = render_member(out, cap, t, x);
		if (k == 0)
			k = render_order(out, cap, t, x);
		if (k > 0)
			return k;
		return irc_message(out, cap, x->server, "NOTICE", target_of(target, 300, x), t.p,
				   t.n);
	}
	if (starts(l, "+ ")) {
		name = name_at(after(l, 2));
		rest = after(l, 2 + name.n);
		if (name.n > 0 && (rest.n == 0 || starts(rest, " ")))
			return render_said(out, cap, name, target_of(target, 300, x),
					   after(rest, 1), true, x);
	}
	if (starts(l, "(private) ")) {
		name = name_at(after(l, strlen("(private) ")));
		rest = after(l, strlen("(private) ") + name.n);
		if (name.n > 0 && starts(rest, ":"))
			return render_said(out, cap, name, x->me, after(rest, 1), false, x);
	}
	name = name_at(l);
	rest = after(l, name.n);
	if (name.n > 0 && starts(rest, ":"))
		return render_said(out, cap, name, target_of(target, 300, x), after(rest, 1), false,
				   x);
	return irc_message(out, cap, x->server, "NOTICE", target_of(target, 300, x), l.p, l.n);
}

size_t irc_render(char *out, size_t cap, const char *line, size_t n, const struct irc_ctx *x)
{
	size_t k = cap >= IRC_SERVER_TAGS_MAX + IRC_LINE_MAX ? irc_server_tags(out, cap, x) : 0;
	size_t body = render_body(out + k, cap - k, line, n, x);
	return body > 0 ? k + body : 0;
}

size_t irc_tagmsg(char *out, size_t cap, const char *data, size_t n, const struct irc_ctx *x)
{
	struct span d = { data, n > 0 && data[n - 1] == '\n' ? n - 1 : n };
	struct span name = name_at(d), tags = after(d, name.n + 1);
	if (name.n == 0 || !starts(after(d, name.n), " +") || cap < IRC_OUT_MAX)
		return 0;
	char mask[IRC_LINE_MAX], target[IRC_LINE_MAX];
	struct irc_ctx t = *x;
	t.tags = true;
	t.seq = 0;
	t.client_tags = tags.p;
	t.client_tags_len = tags.n;
	size_t k = irc_server_tags(out, cap, &t);
	if (k == 0)
		return 0;
	mask_of(mask, sizeof(mask), name, x->server);
	return k +
	       irc_message(out + k, cap - k, mask, "TAGMSG", target_of(target, 300, x), NULL, 0);
}
