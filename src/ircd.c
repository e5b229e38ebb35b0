/*
 * ircd.c - see ircd.h. One IRC message at a time: framed (IRC_INPUT_MAX), read (irc.h), then
 * one handler per command. Chat text and the commands that change what a user is (NICK, JOIN,
 * PART, PRIVMSG to a user, QUIT) become the line a line user would type and go through intake
 * and the session like theirs, so the limits and rules are the same; what the session says
 * back comes out rendered as IRC (route.c). Numerics are written here and sent raw.
 * Running a room (TOPIC, MODE, KICK, INVITE, JOIN with a key) goes the same way, through the
 * line commands and so roomops.h's rules; a refusal the session records in c->irc_refusal
 * comes out as its numeric (471, 473, 474, 475, 482, 441, 405) instead of chatd's error line.
 *
 * An IRC user may be in several channels (directory.h: its rooms; --irc-max-channels): a
 * command about a channel first makes that room the user's current one (dir_set_current),
 * the room the line commands act on; PART leaves one room (session_part).
 */
#include "ircd.h"
#include "command.h"
#include "directory.h"
#include "hmac.h"
#include "intake.h"
#include "irc.h"
#include "roomops.h"
#include "route.h"
#include "session.h"
#include "worker.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define NAMES_MAX    DIR_WHO_NAMES_MAX /* NAMES and WHO show at most this many members */
#define LIST_MAX     500               /* LIST shows at most this many rooms */
#define REALNAME_MAX 64
#define AWAY_MAX     200

/* What an IRC user has said about itself. */
struct ircd_user {
	bool pass_ok;    /* PASS matched --irc-password (or none is set) */
	bool cap_open;   /* CAP LS or REQ seen, CAP END not yet: registration waits */
	bool registered; /* welcomed: a user in the chat */
	bool ping_out;   /* chatd's PING awaits any line */
	bool away;
	bool multi_prefix;           /* CAP REQ multi-prefix (echo-message is c->irc_echo) */
	char nick[NAME_MAX_LEN + 1]; /* NICK before registration; "" until then */
	char user[REALNAME_MAX];     /* USER's realname; "" until USER */
	char away_text[AWAY_MAX];
};

static struct ircd_user *state_of(struct conn *c)
{
	return c->irc;
}

/* The nick numerics are addressed to: the user's name, or what it asked for, or "*". */
static const char *target_of(struct conn *c)
{
	struct ircd_user *u = state_of(c);
	if (u->registered)
		return c->user.name;
	return u->nick[0] != '\0' ? u->nick : "*";
}

static void send_raw(struct worker *w, struct conn *c, const char *msg, size_t n)
{
	route_send_raw(w, c, msg, n);
}

/* Sends numeric num to c; args between the target and the text; text NULL: the standard one. */
static void send_num(struct worker *w, struct conn *c, enum irc_numeric num, const char *args,
		     const char *text)
{
	char out[IRC_LINE_MAX];
	if (num >= 400 && num < 600)
		stat_add(&w->stats.irc_errors, 1);
	send_raw(w, c, out,
		 irc_numeric(out, sizeof(out), IRC_SERVER, num, target_of(c), args, text));
}

/* A parameter as a C string (cut to cap - 1 bytes). */
static const char *param(const struct irc_msg *m, unsigned i, char *buf, size_t cap)
{
	size_t n = i < m->nparams ? m->param_len[i] : 0;
	if (n >= cap)
		n = cap - 1;
	memcpy(buf, i < m->nparams ? m->param[i] : "", n);
	buf[n] = '\0';
	return buf;
}

/* ---- registration ---------------------------------------------------------------------- */

static void send_welcome(struct worker *w, struct conn *c)
{
	char text[IRC_LINE_MAX], args[IRC_LINE_MAX];
	snprintf(text, sizeof(text), "Welcome to the chatd IRC network %s!%s@%s", c->user.name,
		 c->user.name, IRC_SERVER);
	send_num(w, c, RPL_WELCOME, NULL, text);
	send_num(w, c, RPL_YOURHOST, NULL, "Your host is " IRC_SERVER ", running chatd");
	send_num(w, c, RPL_CREATED, NULL, "This server was created when it started");
	send_num(w, c, RPL_MYINFO, IRC_SERVER " chatd o biklmnostv bklov", NULL);
	snprintf(args, sizeof(args),
		 "CASEMAPPING=ascii CHANTYPES=# NICKLEN=%d CHANNELLEN=%d CHANLIMIT=#:%d "
		 "PREFIX=(ov)@+ CHANMODES=b,k,l,imnst NETWORK=chatd",
		 NAME_MAX_LEN, ROOM_MAX_LEN + 1, w->cfg->irc_max_channels);
	send_num(w, c, RPL_ISUPPORT, args, "are supported by this server");
	send_num(w, c, ERR_NOMOTD, NULL, NULL);
}

/* ":NICK!NICK@chatd CMD #ROOM[ :TEXT]" about c itself. */
static void send_self(struct worker *w, struct conn *c, const char *cmd, const char *room,
		      const char *text)
{
	char out[IRC_SERVER_TAGS_MAX + IRC_LINE_MAX], mask[IRC_LINE_MAX], chan[ROOM_MAX_LEN + 2];
	snprintf(mask, sizeof(mask), "%s!%s@%s", c->user.name, c->user.name, IRC_SERVER);
	snprintf(chan, sizeof(chan), "#%s", room);
	struct irc_ctx x = { .time_ms = c->irc_time ? clock_wall_ms() : 0 };
	size_t k = irc_server_tags(out, sizeof(out), &x);
	k += irc_message(out + k, sizeof(out) - k, mask, cmd, chan, text,
			 text != NULL ? strlen(text) : 0);
	send_raw(w, c, out, k);
}

/* Whether name is in list (", "-separated, as roomops_names writes it). */
static bool listed(const char *list, const char *name)
{
	size_t k = strlen(name);
	for (const char *p = list; *p != '\0';) {
		size_t n = strcspn(p, ",");
		if (n == k && memcmp(p, name, k) == 0)
			return true;
		p += n;
		while (*p == ',' || *p == ' ')
			p++;
	}
	return false;
}

/* The room called room[0..n) when c is in it (its state is at hand), else NULL. */
static struct room *joined(struct conn *c, const char *room, size_t n)
{
	struct user_room *s = user_room_named(&c->user, room, n);
	return s != NULL ? s->room : NULL;
}

static struct room *own_room(struct conn *c, const char *room)
{
	return joined(c, room, strlen(room));
}

/* The operators and voiced members of r (one of c's rooms) for the prefixes "@" and "+". */
struct prefixes {
	char ops[IRC_LINE_MAX * 4], voiced[IRC_LINE_MAX * 4];
};

static void prefixes_of(struct worker *w, struct room *r, struct prefixes *p)
{
	p->ops[0] = p->voiced[0] = '\0';
	if (r == NULL)
		return;
	roomops_names(&w->hub->dir, r, 'o', p->ops, sizeof(p->ops));
	roomops_names(&w->hub->dir, r, 'v', p->voiced, sizeof(p->voiced));
}

/* "@", "+", "@+" (multi-prefix) or "" for name. */
static const char *prefix_for(struct conn *c, const struct prefixes *p, const char *name)
{
	bool op = listed(p->ops, name), voice = listed(p->voiced, name);
	if (op && voice && state_of(c)->multi_prefix)
		return "@+";
	return op ? "@" : voice ? "+" : "";
}

/* NAMES for room: 353 lines of names, then 366. */
static void send_names(struct worker *w, struct conn *c, const char *room)
{
	struct prefixes *pre = malloc(sizeof(*pre));
	if (pre != NULL)
		prefixes_of(w, own_room(c, room), pre);
	char(*names)[NAME_MAX_LEN + 1] = malloc(NAMES_MAX * sizeof(*names));
	char chan[ROOM_MAX_LEN + 2], args[ROOM_MAX_LEN + 8], list[400];
	snprintf(chan, sizeof(chan), "#%s", room);
	snprintf(args, sizeof(args), "= %s", chan);
	size_t n =
	    names != NULL ? dir_room_names(&w->hub->dir, room, strlen(room), names, NAMES_MAX) : 0;
	size_t len = 0;
	for (size_t i = 0; i < n; i++) {
		const char *mark = pre != NULL ? prefix_for(c, pre, names[i]) : "";
		size_t k = strlen(names[i]) + strlen(mark);
		if (len + k + 1 >= sizeof(list)) {
			send_num(w, c, RPL_NAMREPLY, args, list);
			len = 0;
		}
		len += (size_t)snprintf(list + len, sizeof(list) - len, "%s%s%s",
					len > 0 ? " " : "", mark, names[i]);
	}
	if (len > 0)
		send_num(w, c, RPL_NAMREPLY, args, list);
	send_num(w, c, RPL_ENDOFNAMES, chan, NULL);
	free(names);
	free(pre);
}

/* TOPIC's answer for r, one of c's rooms: 332 and 333 (who set it), or 331. */
static void send_topic(struct worker *w, struct conn *c, struct room *r)
{
	char topic[ROOMOPS_TOPIC_MAX + 1], by[NAME_MAX_LEN + 1], chan[ROOM_MAX_LEN + 2];
	char args[ROOM_MAX_LEN + NAME_MAX_LEN + 32];
	snprintf(chan, sizeof(chan), "#%s", r->name);
	if (!roomops_topic(&w->hub->dir, r, topic, by)) {
		send_num(w, c, RPL_NOTOPIC, chan, NULL);
		return;
	}
	send_num(w, c, RPL_TOPIC, chan, topic);
	int64_t at = roomops_topic_time(&w->hub->dir, r);
	if (by[0] == '\0' || at <= 0)
		return;
	snprintf(args, sizeof(args), "%s %s %lld", chan, by, (long long)at);
	send_num(w, c, RPL_TOPICWHOTIME, args, NULL);
}

/* c is now in room r: JOIN, the topic (or none), the names. */
static void show_joined(struct worker *w, struct conn *c, struct room *r)
{
	if (r == NULL || c->closing)
		return;
	send_self(w, c, "JOIN", r->name, NULL);
	send_topic(w, c, r);
	send_names(w, c, r->name);
	if (c->irc_time) /* the room's history, now that the client has the channel */
		session_show_history(w, c, r);
}

/* NICK and USER are in (and CAP END, and PASS when asked for): c becomes a user. */
static void try_register(struct worker *w, struct conn *c)
{
	struct ircd_user *u = state_of(c);
	if (u->registered || u->cap_open || u->nick[0] == '\0' || u->user[0] == '\0')
		return;
	if (!u->pass_ok) {
		stat_add(&w->stats.irc_password_refused, 1);
		worker_log_gated(w, GATE_IRC, LOG_INFO, c->id,
				 "IRC client refused: --irc-password");
		send_num(w, c, ERR_PASSWDMISMATCH, NULL, NULL);
		static const char bye[] = "ERROR :Closing link (password incorrect)\r\n";
		send_raw(w, c, bye, sizeof(bye) - 1);
		worker_close_conn(w, c, CLOSE_QUIT);
		return;
	}
	struct session_entry at = { .name = u->nick, .name_len = strlen(u->nick) };
	c->irc_quiet = true; /* the line protocol's welcome and room lines: not for IRC */
	int rc = session_start(w, c, &at);
	c->irc_quiet = false;
	if (rc < 0) {
		worker_close_conn(w, c, CLOSE_NOMEM);
		return;
	}
	if (c->closing) /* banned, or no room to enter */
		return;
	u->registered = true;
	stat_add(&w->stats.irc_users, 1);
	send_welcome(w, c);
	show_joined(w, c, c->user.room);
}

/* A name an IRC user asks for: 431, 432 or 433 when it cannot have it. */
static bool nick_acceptable(struct worker *w, struct conn *c, const struct irc_msg *m)
{
	if (m->nparams < 1 || m->param_len[0] == 0) {
		send_num(w, c, ERR_NONICKNAMEGIVEN, NULL, NULL);
		return false;
	}
	char nick[IRC_LINE_MAX];
	param(m, 0, nick, sizeof(nick));
	if (!name_valid(m->param[0], m->param_len[0])) {
		send_num(w, c, ERR_ERRONEUSNICKNAME, nick, NULL);
		return false;
	}
	uint64_t id;
	unsigned worker;
	char spelled[NAME_MAX_LEN + 1];
	if (dir_lookup(&w->hub->dir, m->param[0], m->param_len[0], &id, &worker, spelled) &&
	    id != c->id) {
		stat_add(&w->stats.nick_rejected, 1);
		send_num(w, c, ERR_NICKNAMEINUSE, nick, NULL);
		return false;
	}
	return true;
}

/* Runs a line as the line user's command it stands for, through intake (its flood control,
 * its validation) and the session. */
static void run_line(struct worker *w, struct conn *c, const char *fmt, const char *a, size_t a_len,
		     const char *b, size_t b_len)
{
	char line[2 * IRC_LINE_MAX];
	int n = snprintf(line, sizeof(line), fmt, (int)a_len, a, (int)b_len, b);
	if (n > 0)
		intake_take_line(w, c, LINE_OK, line, (size_t)n < sizeof(line) ? (size_t)n : 0);
}

static void cmd_nick(struct worker *w, struct conn *c, const struct irc_msg *m)
{
	struct ircd_user *u = state_of(c);
	if (!nick_acceptable(w, c, m))
		return;
	if (!u->registered) {
		snprintf(u->nick, sizeof(u->nick), "%.*s", (int)m->param_len[0], m->param[0]);
		try_register(w, c);
		return;
	}
	bool same = m->param_len[0] == strlen(c->user.name) &&
		    memcmp(m->param[0], c->user.name, m->param_len[0]) == 0;
	char old[NAME_MAX_LEN + 1];
	snprintf(old, sizeof(old), "%s", c->user.name);
	if (!same)
		run_line(w, c, "/nick %.*s%.*s", m->param[0], m->param_len[0], "", 0);
	snprintf(u->nick, sizeof(u->nick), "%s", c->user.name);
	if (c->user.nrooms > 0 || strcmp(old, c->user.name) == 0 || c->closing)
		return; /* its rooms' notice is its NICK */
	char out[IRC_LINE_MAX], mask[IRC_LINE_MAX];
	snprintf(mask, sizeof(mask), "%s!%s@%s", old, old, IRC_SERVER);
	send_raw(
	    w, c, out,
	    irc_message(out, sizeof(out), mask, "NICK", NULL, c->user.name, strlen(c->user.name)));
}

static void cmd_user(struct worker *w, struct conn *c, const struct irc_msg *m)
{
	struct ircd_user *u = state_of(c);
	if (u->registered) {
		send_num(w, c, ERR_ALREADYREGISTERED, NULL, NULL);
		return;
	}
	param(m, 3, u->user, sizeof(u->user));
	if (u->user[0] == '\0')
		param(m, 0, u->user, sizeof(u->user));
	try_register(w, c);
}

static void cmd_pass(struct worker *w, struct conn *c, const struct irc_msg *m)
{
	struct ircd_user *u = state_of(c);
	if (u->registered) {
		send_num(w, c, ERR_ALREADYREGISTERED, NULL, NULL);
		return;
	}
	const struct hub *hub = w->hub;
	if (hub->irc_pass_len == 0)
		return;
	u->pass_ok = m->param_len[0] == hub->irc_pass_len &&
		     hmac_equal((const uint8_t *)m->param[0], hub->irc_pass, hub->irc_pass_len);
}

/* The capabilities chatd offers (CAP LS), each a flag of the connection: echo-message
 * (c->irc_echo: its own channel lines come back), message-tags (c->irc_tags: msgid on room
 * lines, TAGMSG taken), multi-prefix (NAMES and WHO show "@+" for an operator who is also
 * voiced), server-time (c->irc_time: "@time=" on what it is told, the room's history
 * replayed as PRIVMSGs at their times). */
#define CAPS "echo-message message-tags multi-prefix server-time"

/* The flag of capability name[0..k) for c, or NULL: not one chatd offers. */
static bool *cap_flag(struct conn *c, const char *name, size_t k)
{
	static const char *const names[] = { "echo-message", "message-tags", "multi-prefix",
					     "server-time" };
	size_t i = 0;
	while (i < sizeof(names) / sizeof(names[0]) &&
	       !(k == strlen(names[i]) && memcmp(name, names[i], k) == 0))
		i++;
	switch (i) {
	case 0:
		return &c->irc_echo;
	case 1:
		return &c->irc_tags;
	case 2:
		return &state_of(c)->multi_prefix;
	case 3:
		return &c->irc_time;
	default:
		return NULL;
	}
}

/* Whether every capability in want (space-separated, '-' to disable) is offered; sets them
 * when set. */
static bool caps_apply(struct conn *c, const char *want, bool set)
{
	const char *p = want;
	while (*p != '\0') {
		while (*p == ' ')
			p++;
		size_t n = strcspn(p, " ");
		if (n == 0)
			break;
		bool off = p[0] == '-';
		bool *flag = cap_flag(c, off ? p + 1 : p, off ? n - 1 : n);
		if (flag == NULL)
			return false;
		if (set)
			*flag = !off;
		p += n;
	}
	return true;
}

/* CAP LIST's answer: the capabilities c has, in CAPS's order. */
static const char *caps_of(struct conn *c, char *out, size_t cap)
{
	char all[] = CAPS;
	size_t len = 0;
	out[0] = '\0';
	for (char *save = NULL, *name = strtok_r(all, " ", &save); name != NULL;
	     name = strtok_r(NULL, " ", &save))
		if (*cap_flag(c, name, strlen(name)))
			len += (size_t)snprintf(out + len, cap - len, "%s%s", len > 0 ? " " : "",
						name);
	return out;
}

/* CAP LS / REQ / LIST / END (IRCv3 capability negotiation). */
static void cmd_cap(struct worker *w, struct conn *c, const struct irc_msg *m)
{
	struct ircd_user *u = state_of(c);
	char sub[16], want[IRC_LINE_MAX], out[IRC_LINE_MAX], middle[64], have[sizeof(CAPS)];
	param(m, 0, sub, sizeof(sub));
	if (strcasecmp(sub, "END") == 0) {
		u->cap_open = false;
		try_register(w, c);
		return;
	}
	const char *reply = NULL, *text = "";
	if (strcasecmp(sub, "LS") == 0) {
		reply = "LS";
		text = CAPS;
	} else if (strcasecmp(sub, "LIST") == 0) {
		reply = "LIST";
		text = caps_of(c, have, sizeof(have));
	} else if (strcasecmp(sub, "REQ") == 0) {
		param(m, 1, want, sizeof(want));
		bool ok = caps_apply(c, want, false);
		if (ok)
			caps_apply(c, want, true);
		reply = ok ? "ACK" : "NAK";
		text = want;
	} else {
		send_num(w, c, 410, sub, "Invalid CAP command");
		return;
	}
	if (!u->registered)
		u->cap_open = true;
	snprintf(middle, sizeof(middle), "%s %s", target_of(c), reply);
	send_raw(w, c, out,
		 irc_message(out, sizeof(out), IRC_SERVER, "CAP", middle, text, strlen(text)));
}

/* ---- in the chat --------------------------------------------------------------------- */

/* The room a channel name stands for (without '#'), or NULL (403 sent). */
static bool channel_room(struct worker *w, struct conn *c, const char *chan, size_t n)
{
	if (irc_is_channel(chan, n) && room_name_valid(chan + 1, n - 1))
		return true;
	char name[IRC_LINE_MAX];
	snprintf(name, sizeof(name), "%.*s", (int)(n < 300 ? n : 300), chan);
	send_num(w, c, ERR_NOSUCHCHANNEL, name, NULL);
	return false;
}

/* The numeric for a room's refusal (session.c sets c->irc_refusal), or 0. */
static enum irc_numeric refusal_numeric(int rc)
{
	switch (rc) {
	case ROOMOPS_E_BANNED:
		return ERR_BANNEDFROMCHAN;
	case ROOMOPS_E_KEY:
		return ERR_BADCHANNELKEY;
	case ROOMOPS_E_FULL:
		return ERR_CHANNELISFULL;
	case ROOMOPS_E_INVITE:
		return ERR_INVITEONLYCHAN;
	case ROOMOPS_E_NOTOP:
		return ERR_CHANOPRIVSNEEDED;
	case ROOMOPS_E_NOUSER:
		return ERR_USERNOTINCHANNEL;
	case -ETOOMANYREFS:
		return ERR_TOOMANYCHANNELS;
	default:
		return 0;
	}
}

/* Runs a room order (or a join) as the line command it stands for: the rules are roomops',
 * checked by the session. A refusal comes back as its numeric (args: what it is about; for
 * 441, nick_args). Returns 0 when it was carried out, or the refusal: a bad parameter
 * (ROOMOPS_E_INVALID) or a full list (ROOMOPS_E_LISTFULL) is the caller's to answer. */
static int run_order(struct worker *w, struct conn *c, const char *fmt, const char *a, size_t a_len,
		     const char *b, size_t b_len, const char *args, const char *nick_args)
{
	c->irc_refusal = 0;
	run_line(w, c, fmt, a, a_len, b, b_len);
	int rc = c->irc_refusal;
	c->irc_refusal = 0;
	enum irc_numeric num = refusal_numeric(rc);
	if (num == ERR_USERNOTINCHANNEL && nick_args != NULL)
		args = nick_args;
	if (num != 0)
		send_num(w, c, num, args, NULL);
	return rc;
}

/* Calls fn for each comma-separated item of parameter i. */
static void each_item(struct worker *w, struct conn *c, const struct irc_msg *m, unsigned i,
		      void (*fn)(struct worker *, struct conn *, const char *, size_t,
				 const struct irc_msg *))
{
	const char *p = m->param[i], *end = p + m->param_len[i];
	while (p < end && !c->closing) {
		const char *comma = memchr(p, ',', (size_t)(end - p));
		const char *stop = comma != NULL ? comma : end;
		if (stop > p)
			fn(w, c, p, (size_t)(stop - p), m);
		p = stop + 1;
	}
}

/* c joins chan[0..n) (with key[0..key_len) for a room that has one), keeping its other
 * channels: the JOIN, topic and names; or the refusal's numeric (405 past
 * --irc-max-channels). */
static void join_one(struct worker *w, struct conn *c, const char *chan, size_t n, const char *key,
		     size_t key_len)
{
	if (!channel_room(w, c, chan, n) || joined(c, chan + 1, n - 1) != NULL)
		return;
	char name[ROOM_MAX_LEN + 2];
	snprintf(name, sizeof(name), "%.*s", (int)n, chan);
	if (key_len > 0)
		run_order(w, c, "/join %.*s %.*s", chan + 1, n - 1, key, key_len, name, NULL);
	else
		run_order(w, c, "/join %.*s%.*s", chan + 1, n - 1, "", 0, name, NULL);
	if (!c->closing)
		show_joined(w, c, joined(c, chan + 1, n - 1));
}

/* c leaves r, one of its channels: the room is told, c gets its PART. */
static void part_room(struct worker *w, struct conn *c, struct room *r, const char *reason)
{
	char was[ROOM_MAX_LEN + 1];
	memcpy(was, r->name, sizeof(was)); /* r may go as c leaves it */
	session_part(w, c, r);
	if (!c->closing)
		send_self(w, c, "PART", was, reason);
}

/* The end of the comma-separated item at p (before end). */
static const char *item_end(const char *p, const char *end)
{
	const char *comma = memchr(p, ',', (size_t)(end - p));
	return comma != NULL ? comma : end;
}

/* JOIN #a,#b [keya,keyb]: the keys in the channels' order. */
static void cmd_join(struct worker *w, struct conn *c, const struct irc_msg *m)
{
	if (m->param_len[0] == 1 && m->param[0][0] == '0') { /* JOIN 0: leave them all */
		while (c->user.nrooms > 0 && !c->closing)
			part_room(w, c, c->user.room, NULL);
		return;
	}
	const char *p = m->param[0], *end = p + m->param_len[0];
	const char *k = m->nparams > 1 ? m->param[1] : "";
	const char *kend = k + (m->nparams > 1 ? m->param_len[1] : 0);
	while (p < end && !c->closing) {
		const char *stop = item_end(p, end), *kstop = k < kend ? item_end(k, kend) : kend;
		if (stop > p)
			join_one(w, c, p, (size_t)(stop - p), k, (size_t)(kstop - k));
		p = stop + 1;
		k = kstop < kend ? kstop + 1 : kend;
	}
}

static void part_one(struct worker *w, struct conn *c, const char *chan, size_t n,
		     const struct irc_msg *m)
{
	if (!channel_room(w, c, chan, n))
		return;
	char name[ROOM_MAX_LEN + 2], reason[IRC_LINE_MAX];
	snprintf(name, sizeof(name), "%.*s", (int)n, chan);
	struct room *r = joined(c, chan + 1, n - 1);
	if (r == NULL) {
		send_num(w, c, ERR_NOTONCHANNEL, name, NULL);
		return;
	}
	part_room(w, c, r, m->nparams > 1 ? param(m, 1, reason, 300) : NULL);
}

static void cmd_part(struct worker *w, struct conn *c, const struct irc_msg *m)
{
	each_item(w, c, m, 0, part_one);
}

/* PRIVMSG / NOTICE text to one target: the room's channel, or a user. */
static void say_one(struct worker *w, struct conn *c, const char *to, size_t n,
		    const struct irc_msg *m)
{
	bool notice = irc_is(m, "NOTICE");
	const char *text = m->param[1];
	size_t len = m->param_len[1];
	bool action = len >= 8 && memcmp(text, "\001ACTION ", 8) == 0;
	if (action) {
		text += 8;
		len -= 8;
		if (len > 0 && text[len - 1] == '\001')
			len--;
	} else if (len > 0 && text[0] == '\001') {
		return; /* another CTCP request (VERSION, PING...): not answered */
	}
	char name[IRC_LINE_MAX];
	snprintf(name, sizeof(name), "%.*s", (int)(n < 300 ? n : 300), to);
	if (n > 0 && to[0] == '#') {
		if (!irc_is_channel(to, n) || !room_name_valid(to + 1, n - 1)) {
			if (!notice)
				send_num(w, c, ERR_NOSUCHCHANNEL, name, NULL);
			return;
		}
		struct room *r = joined(c, to + 1, n - 1);
		if (r == NULL) {
			if (!notice)
				send_num(w, c, ERR_CANNOTSENDTOCHAN, name, NULL);
			return;
		}
		c->irc_to = r; /* where the line goes (no lock: the current room stays) */
		c->irc_refusal = 0;
		if (action)
			run_line(w, c, "/me %.*s%.*s", text, len, "", 0);
		else /* a text that starts with '/' is said, not run: "//" */
			run_line(w, c, "%.*s%.*s", len > 0 && text[0] == '/' ? "/" : "",
				 len > 0 && text[0] == '/' ? 1 : 0, text, len);
		c->irc_to = NULL;
		if (c->irc_refusal == SESSION_E_MODERATED && !notice && !c->closing)
			send_num(w, c, ERR_CANNOTSENDTOCHAN, name, "Cannot send to channel (+m)");
		c->irc_refusal = 0;
		return;
	}
	uint64_t id;
	unsigned worker;
	char spelled[NAME_MAX_LEN + 1];
	if (!dir_lookup(&w->hub->dir, to, n, &id, &worker, spelled)) {
		if (!notice)
			send_num(w, c, ERR_NOSUCHNICK, name, NULL);
		return;
	}
	if (action) /* no private /me in chatd: said as text */
		run_line(w, c, "/msg %.*s * %.*s", to, n, text, len);
	else
		run_line(w, c, "/msg %.*s %.*s", to, n, text, len);
}

/* Whether m carries client-only tags ("+draft/reply=..."): a PRIVMSG's are dropped. */
static bool has_client_tags(const struct irc_msg *m)
{
	struct irc_tag t;
	for (size_t pos = 0; irc_tag_next(m->tags, m->tags_len, &pos, &t);)
		if (t.key_len > 0 && t.key[0] == '+')
			return true;
	return false;
}

/* A TAGMSG of c's with tags ("NAME +TAGS") for room r, or user id on worker `worker` (r NULL):
 * to the IRC users there with message-tags (route.c), c too with echo-message. */
static void relay_tagmsg(struct worker *w, struct conn *c, const char *tags, size_t n,
			 struct room *r, uint64_t id, unsigned worker)
{
	size_t name_len = strlen(c->user.name);
	struct msg *m = route_msg_new(w, name_len + 1 + n + 1, r == NULL);
	if (m == NULL)
		return;
	memcpy(m->data, c->user.name, name_len);
	m->data[name_len] = ' ';
	memcpy(m->data + name_len + 1, tags, n);
	m->data[name_len + 1 + n] = '\n';
	m->tagmsg = true;
	stat_add(&w->stats.irc_tagmsgs, 1);
	if (r != NULL) {
		m->exclude = c->irc_echo ? 0 : c->id;
		route_publish_room(w, r, m);
	} else {
		route_publish_direct(w, m, id, worker);
	}
}

/* TAGMSG target (message-tags): its client-only tags ("+typing=active") go to the IRC users of
 * the channel, or to the user, that asked for message-tags; line and browser users never see
 * them. The target is checked as PRIVMSG's is; under +m only who may speak sends them. */
static void cmd_tagmsg(struct worker *w, struct conn *c, const struct irc_msg *m)
{
	char name[IRC_LINE_MAX], *tags = malloc(IRC_CLIENT_TAGS_MAX);
	param(m, 0, name, 300);
	size_t n =
	    tags != NULL ? irc_client_tags(tags, IRC_CLIENT_TAGS_MAX, m->tags, m->tags_len) : 0;
	uint64_t id = 0;
	unsigned worker = 0;
	char spelled[NAME_MAX_LEN + 1];
	if (name[0] == '#') {
		struct room *r = NULL;
		if (!irc_is_channel(name, strlen(name)) ||
		    !room_name_valid(name + 1, strlen(name) - 1))
			send_num(w, c, ERR_NOSUCHCHANNEL, name, NULL);
		else if ((r = joined(c, name + 1, strlen(name) - 1)) == NULL ||
			 !roomops_may_speak(&w->hub->dir, r, &c->user))
			send_num(w, c, ERR_CANNOTSENDTOCHAN, name, NULL);
		else if (n > 0)
			relay_tagmsg(w, c, tags, n, r, 0, 0);
	} else if (!dir_lookup(&w->hub->dir, m->param[0], m->param_len[0], &id, &worker, spelled)) {
		send_num(w, c, ERR_NOSUCHNICK, name, NULL);
	} else if (n > 0) {
		relay_tagmsg(w, c, tags, n, NULL, id, worker);
	}
	free(tags);
}

static void cmd_privmsg(struct worker *w, struct conn *c, const struct irc_msg *m)
{
	bool notice = irc_is(m, "NOTICE");
	if (m->nparams < 1 || m->param_len[0] == 0) {
		if (!notice)
			send_num(w, c, ERR_NORECIPIENT, NULL, "No recipient given (PRIVMSG)");
		return;
	}
	if (m->nparams < 2 || m->param_len[1] == 0) {
		if (!notice)
			send_num(w, c, ERR_NOTEXTTOSEND, NULL, NULL);
		return;
	}
	if (has_client_tags(m)) /* "+draft/reply" and the like: not relayed (docs/irc.md) */
		stat_add(&w->stats.irc_client_tags_dropped, 1);
	each_item(w, c, m, 0, say_one);
}

static void cmd_names(struct worker *w, struct conn *c, const struct irc_msg *m)
{
	char chan[IRC_LINE_MAX];
	if (m->nparams == 0) { /* each of its channels */
		for (uint32_t i = 0; i < c->user.nrooms && !c->closing; i++)
			send_names(w, c, user_room_at(&c->user, i)->room->name);
		return;
	}
	param(m, 0, chan, 300);
	if (irc_is_channel(chan, strlen(chan)))
		send_names(w, c, chan + 1);
	else
		send_num(w, c, RPL_ENDOFNAMES, chan, NULL);
}

/* One 352 line: "CHANNEL USER HOST SERVER NICK H[@|+] :0 REALNAME". */
static void send_who_line(struct worker *w, struct conn *c, const char *chan, const char *nick,
			  const char *mark)
{
	char args[IRC_LINE_MAX], text[NAME_MAX_LEN + 4];
	snprintf(args, sizeof(args), "%s %s %s %s %s H%s", chan, nick, IRC_SERVER, IRC_SERVER, nick,
		 mark);
	snprintf(text, sizeof(text), "0 %s", nick);
	send_num(w, c, RPL_WHOREPLY, args, text);
}

static void cmd_who(struct worker *w, struct conn *c, const struct irc_msg *m)
{
	char mask[IRC_LINE_MAX];
	param(m, 0, mask, 300);
	if (irc_is_channel(mask, strlen(mask))) {
		char(*names)[NAME_MAX_LEN + 1] = malloc(NAMES_MAX * sizeof(*names));
		size_t n = names != NULL ? dir_room_names(&w->hub->dir, mask + 1, strlen(mask + 1),
							  names, NAMES_MAX)
					 : 0;
		struct prefixes *pre = malloc(sizeof(*pre));
		if (pre != NULL)
			prefixes_of(w, own_room(c, mask + 1), pre);
		for (size_t i = 0; i < n; i++)
			send_who_line(w, c, mask, names[i],
				      pre != NULL ? prefix_for(c, pre, names[i]) : "");
		free(pre);
		free(names);
	} else if (mask[0] != '\0') {
		uint64_t id;
		unsigned worker;
		char spelled[NAME_MAX_LEN + 1];
		if (dir_lookup(&w->hub->dir, mask, strlen(mask), &id, &worker, spelled))
			send_who_line(w, c, "*", spelled, "");
	}
	send_num(w, c, RPL_ENDOFWHO, mask[0] != '\0' ? mask : "*", NULL);
}

static void cmd_whois(struct worker *w, struct conn *c, const struct irc_msg *m)
{
	char nick[IRC_LINE_MAX], args[IRC_LINE_MAX];
	/* WHOIS [server] nick: the last parameter is the nick */
	param(m, m->nparams - 1, nick, 300);
	uint64_t id;
	unsigned worker;
	char spelled[NAME_MAX_LEN + 1];
	if (!dir_lookup(&w->hub->dir, nick, strlen(nick), &id, &worker, spelled)) {
		send_num(w, c, ERR_NOSUCHNICK, nick, NULL);
		send_num(w, c, RPL_ENDOFWHOIS, nick, NULL);
		return;
	}
	snprintf(args, sizeof(args), "%s %s %s *", spelled, spelled, IRC_SERVER);
	send_num(w, c, RPL_WHOISUSER, args, spelled);
	char *rooms = malloc(IRC_LINE_MAX);
	if (rooms != NULL &&
	    dir_user_rooms(&w->hub->dir, spelled, strlen(spelled), "#", rooms, 400) &&
	    rooms[0] != '\0')
		send_num(w, c, RPL_WHOISCHANNELS, spelled, rooms);
	free(rooms);
	snprintf(args, sizeof(args), "%s %s", spelled, IRC_SERVER);
	send_num(w, c, RPL_WHOISSERVER, args, "chatd");
	send_num(w, c, RPL_ENDOFWHOIS, spelled, NULL);
}

static void cmd_list(struct worker *w, struct conn *c, const struct irc_msg *m)
{
	(void)m;
	struct dir_room *rooms = malloc(LIST_MAX * sizeof(*rooms));
	size_t n = rooms != NULL ? dir_list_rooms(&w->hub->dir, rooms, LIST_MAX) : 0;
	for (size_t i = 0; i < n; i++) {
		char args[ROOM_MAX_LEN + 32];
		snprintf(args, sizeof(args), "#%s %u", rooms[i].name, (unsigned)rooms[i].members);
		send_num(w, c, RPL_LIST, args, "");
	}
	free(rooms);
	send_num(w, c, RPL_LISTEND, NULL, NULL);
}

/* The room channel parameter i names when c is in it (else NULL: 403 or 442 sent), made c's
 * current room (the one the line commands act on); its name in chan. */
static struct room *on_channel(struct worker *w, struct conn *c, const struct irc_msg *m,
			       unsigned i, char chan[ROOM_MAX_LEN + 2])
{
	if (!channel_room(w, c, m->param[i], m->param_len[i]))
		return NULL;
	snprintf(chan, ROOM_MAX_LEN + 2, "%.*s", (int)m->param_len[i], m->param[i]);
	struct room *r = joined(c, chan + 1, strlen(chan + 1));
	if (r != NULL && dir_set_current(&w->hub->dir, &c->user, r))
		return r;
	send_num(w, c, ERR_NOTONCHANNEL, chan, NULL);
	return NULL;
}

/*
 * TOPIC #room or MODE #room, a query, of a channel c is not in: answered as to a member (the
 * key left out), unless the room is secret (+s: 442, as if it did not exist to outsiders) or
 * there is no such room (403). False when this is no such query (c is in the channel, or it
 * sets something): the caller goes on.
 */
static bool query_outside(struct worker *w, struct conn *c, const struct irc_msg *m, bool topic)
{
	if (m->nparams != 1)
		return false;
	if (!channel_room(w, c, m->param[0], m->param_len[0]))
		return true;
	char chan[ROOM_MAX_LEN + 2], modes[80], args[ROOM_MAX_LEN + 96];
	snprintf(chan, sizeof(chan), "%.*s", (int)m->param_len[0], m->param[0]);
	if (joined(c, chan + 1, strlen(chan + 1)) != NULL)
		return false;
	struct room *r = dir_room_find(&w->hub->dir, chan + 1, strlen(chan + 1));
	if (r == NULL) {
		send_num(w, c, ERR_NOSUCHCHANNEL, chan, NULL);
		return true;
	}
	roomops_modes(&w->hub->dir, r, false, modes, sizeof(modes));
	if (memchr(modes, 's', strcspn(modes, " ")) != NULL) {
		send_num(w, c, ERR_NOTONCHANNEL, chan, NULL);
	} else if (topic) {
		send_topic(w, c, r);
	} else {
		snprintf(args, sizeof(args), "%s %s", chan, modes);
		send_num(w, c, RPL_CHANNELMODEIS, args, NULL);
	}
	dir_room_put(&w->hub->dir, r);
	return true;
}

/* TOPIC #room: 332/333 or 331; TOPIC #room :text sets it (empty: clears it). */
static void cmd_topic(struct worker *w, struct conn *c, const struct irc_msg *m)
{
	char chan[ROOM_MAX_LEN + 2];
	if (query_outside(w, c, m, true))
		return;
	struct room *r = on_channel(w, c, m, 0, chan);
	if (r == NULL)
		return;
	if (m->nparams == 1) {
		send_topic(w, c, r);
		return;
	}
	int rc = 0;
	if (m->param_len[1] == 0)
		run_order(w, c, "/topic -%.*s%.*s", "", 0, "", 0, chan, NULL);
	else
		rc = run_order(w, c, "/topic %.*s%.*s", m->param[1], m->param_len[1], "", 0, chan,
			       NULL);
	if (rc == ROOMOPS_E_INVALID) { /* too long: no numeric of its own */
		char text[64];
		snprintf(text, sizeof(text), "Topic too long (at most %d bytes)",
			 ROOMOPS_TOPIC_MAX);
		send_num(w, c, ERR_INVALIDMODEPARAM, chan, text);
	}
}

/* MODE #room +b alone: 367 per ban of r's, 368. */
static void send_ban_list(struct worker *w, struct conn *c, struct room *r, const char *chan)
{
	size_t max = w->hub->cfg.room_lists > 0 ? (size_t)w->hub->cfg.room_lists : 1;
	char(*bans)[ROOMOPS_MASK_MAX + 1] = malloc(max * sizeof(*bans));
	size_t n = bans != NULL ? roomops_ban_list(&w->hub->dir, r, bans, max) : 0;
	for (size_t i = 0; i < n; i++) {
		char args[ROOM_MAX_LEN + ROOMOPS_MASK_MAX + 4];
		snprintf(args, sizeof(args), "%s %s", chan, bans[i]);
		send_num(w, c, RPL_BANLIST, args, NULL);
	}
	free(bans);
	send_num(w, c, RPL_ENDOFBANLIST, chan, NULL);
}

/* Whether mode letter ch takes a parameter when set (on) or unset. */
static bool mode_takes_param(char ch, bool on)
{
	return ch == 'o' || ch == 'v' || ch == 'b' || ch == 'k' || (ch == 'l' && on);
}

/* One change of MODE #room: +X/-X [PARAM] as /mode, the rules roomops'. */
static void mode_one(struct worker *w, struct conn *c, const char *chan, bool on, char ch,
		     const char *p, size_t n)
{
	char flag[4] = { on ? '+' : '-', ch, ' ', '\0' }, nick_args[IRC_LINE_MAX];
	snprintf(nick_args, sizeof(nick_args), "%.*s %s", (int)(n < 64 ? n : 64), p, chan);
	if (ch == 'o' || ch == 'v') {
		uint64_t id;
		unsigned worker;
		char spelled[NAME_MAX_LEN + 1];
		if (!dir_lookup(&w->hub->dir, p, n, &id, &worker, spelled)) {
			snprintf(nick_args, sizeof(nick_args), "%.*s", (int)(n < 64 ? n : 64), p);
			send_num(w, c, ERR_NOSUCHNICK, nick_args, NULL);
			return;
		}
	}
	if (ch == 'k' && !on)
		n = 0; /* -k KEY: the key need not be given right */
	int rc = run_order(w, c, "/mode %.*s%.*s", flag, n > 0 ? 3 : 2, p, n, chan, nick_args);
	char args[IRC_LINE_MAX];
	snprintf(args, sizeof(args), "%s %c %.*s", chan, ch, (int)(n < 300 ? n : 300), p);
	if (rc == ROOMOPS_E_LISTFULL) {
		snprintf(args, sizeof(args), "%s %c", chan, ch);
		send_num(w, c, ERR_BANLISTFULL, args, NULL);
	} else if (rc == ROOMOPS_E_INVALID && ch == 'k') {
		send_num(w, c, ERR_INVALIDKEY, chan, NULL);
	} else if (rc == ROOMOPS_E_INVALID) {
		send_num(w, c, ERR_INVALIDMODEPARAM, args, ch == 'b' ? "Invalid ban mask" : NULL);
	}
}

/* MODE #room [modes [params]]: 324, the ban list, or each change in turn. */
static void channel_mode(struct worker *w, struct conn *c, const struct irc_msg *m)
{
	char chan[ROOM_MAX_LEN + 2];
	if (query_outside(w, c, m, false))
		return;
	struct room *r = on_channel(w, c, m, 0, chan);
	if (r == NULL)
		return;
	if (m->nparams == 1) {
		char args[ROOM_MAX_LEN + 96], modes[80];
		roomops_modes(&w->hub->dir, r, true, modes, sizeof(modes));
		snprintf(args, sizeof(args), "%s %s", chan, modes);
		send_num(w, c, RPL_CHANNELMODEIS, args, NULL);
		return;
	}
	unsigned next = 2;
	bool on = true;
	for (size_t i = 0; i < m->param_len[1] && !c->closing; i++) {
		char ch = m->param[1][i];
		if (ch == '+' || ch == '-') {
			on = ch == '+';
			continue;
		}
		if (strchr("ovbklimnst", ch) == NULL) {
			char letter[2] = { ch, '\0' };
			send_num(w, c, ERR_UNKNOWNMODE, letter, "is unknown mode char to me");
			continue;
		}
		const char *p = "";
		size_t n = 0;
		if (mode_takes_param(ch, on) && next < m->nparams) {
			p = m->param[next];
			n = m->param_len[next++];
		}
		if (ch == 'b' && n == 0) {
			send_ban_list(w, c, r, chan);
			continue;
		}
		if (mode_takes_param(ch, on) && n == 0 && !(ch == 'k' && !on)) {
			send_num(w, c, ERR_NEEDMOREPARAMS, "MODE", NULL);
			continue;
		}
		mode_one(w, c, chan, on, ch, p, n);
	}
}

static void cmd_mode(struct worker *w, struct conn *c, const struct irc_msg *m)
{
	char target[IRC_LINE_MAX];
	param(m, 0, target, 300);
	if (target[0] == '#') {
		channel_mode(w, c, m);
		return;
	}
	if (strcasecmp(target, c->user.name) != 0) {
		send_num(w, c, ERR_USERSDONTMATCH, NULL, NULL);
		return;
	}
	if (m->nparams == 1) {
		send_num(w, c, RPL_UMODEIS, "+", NULL);
		return;
	}
	/* chatd has no user modes (+i, +w...: docs/irc.md): a change is refused, once per MODE */
	if (strspn(m->param[1], "+-") < m->param_len[1])
		send_num(w, c, ERR_UMODEUNKNOWNFLAG, NULL, NULL);
}

/* KICK #room nick[,nick] [:reason] as /kick nick reason. */
static void cmd_kick(struct worker *w, struct conn *c, const struct irc_msg *m)
{
	char chan[ROOM_MAX_LEN + 2], reason[IRC_LINE_MAX], nick_args[IRC_LINE_MAX];
	if (on_channel(w, c, m, 0, chan) == NULL)
		return;
	int k =
	    snprintf(reason, sizeof(reason), "%s%.*s", m->nparams > 2 ? " " : "",
		     m->nparams > 2 ? (int)m->param_len[2] : 0, m->nparams > 2 ? m->param[2] : "");
	const char *p = m->param[1], *end = p + m->param_len[1];
	while (p < end && !c->closing) {
		const char *stop = item_end(p, end);
		size_t n = (size_t)(stop - p);
		snprintf(nick_args, sizeof(nick_args), "%.*s %s", (int)(n < 64 ? n : 64), p, chan);
		if (n > 0)
			run_order(w, c, "/kick %.*s%.*s", p, n, reason, k > 0 ? (size_t)k : 0, chan,
				  nick_args);
		p = stop + 1;
	}
}

/* Whether the user called nick is in the room called room. */
static bool in_room(struct worker *w, const char *room, const char *nick)
{
	char(*names)[NAME_MAX_LEN + 1] = malloc(NAMES_MAX * sizeof(*names));
	size_t n =
	    names != NULL ? dir_room_names(&w->hub->dir, room, strlen(room), names, NAMES_MAX) : 0;
	bool found = false;
	for (size_t i = 0; i < n && !found; i++)
		found = strcasecmp(names[i], nick) == 0;
	free(names);
	return found;
}

/* INVITE nick #room as /invite nick: 341, or 401, 442, 443, 482. */
static void cmd_invite(struct worker *w, struct conn *c, const struct irc_msg *m)
{
	char nick[IRC_LINE_MAX], chan[ROOM_MAX_LEN + 2], args[IRC_LINE_MAX];
	param(m, 0, nick, 64);
	uint64_t id;
	unsigned worker;
	char spelled[NAME_MAX_LEN + 1];
	if (!dir_lookup(&w->hub->dir, m->param[0], m->param_len[0], &id, &worker, spelled)) {
		send_num(w, c, ERR_NOSUCHNICK, nick, NULL);
		return;
	}
	if (on_channel(w, c, m, 1, chan) == NULL)
		return;
	snprintf(args, sizeof(args), "%s %s", spelled, chan);
	if (in_room(w, chan + 1, spelled)) {
		send_num(w, c, ERR_USERONCHANNEL, args, NULL);
		return;
	}
	int rc = run_order(w, c, "/invite %.*s%.*s", spelled, strlen(spelled), "", 0, chan, args);
	char list[ROOM_MAX_LEN + 8];
	snprintf(list, sizeof(list), "%s I", chan);
	if (rc == 0)
		send_num(w, c, RPL_INVITING, args, NULL);
	else if (rc == ROOMOPS_E_LISTFULL)
		send_num(w, c, ERR_BANLISTFULL, list, NULL);
}

static void cmd_away(struct worker *w, struct conn *c, const struct irc_msg *m)
{
	struct ircd_user *u = state_of(c);
	u->away = m->nparams > 0 && m->param_len[0] > 0;
	if (u->away)
		param(m, 0, u->away_text, sizeof(u->away_text));
	send_num(w, c, u->away ? RPL_NOWAWAY : RPL_UNAWAY, NULL, NULL);
}

static void cmd_motd(struct worker *w, struct conn *c, const struct irc_msg *m)
{
	(void)m;
	send_num(w, c, ERR_NOMOTD, NULL, NULL);
}

static void cmd_ping(struct worker *w, struct conn *c, const struct irc_msg *m)
{
	char out[IRC_LINE_MAX];
	send_raw(w, c, out,
		 irc_message(out, sizeof(out), IRC_SERVER, "PONG", IRC_SERVER, m->param[0],
			     m->param_len[0]));
}

static void cmd_pong(struct worker *w, struct conn *c, const struct irc_msg *m)
{
	(void)w;
	(void)m;
	state_of(c)->ping_out = false;
}

static void cmd_quit(struct worker *w, struct conn *c, const struct irc_msg *m)
{
	static const char bye[] = "ERROR :Closing link (quit)\r\n";
	send_raw(w, c, bye, sizeof(bye) - 1);
	if (!state_of(c)->registered) {
		worker_close_conn(w, c, CLOSE_QUIT);
		return;
	}
	const char *reason = m->nparams > 0 ? m->param[0] : "";
	size_t n = m->nparams > 0 ? m->param_len[0] : 0;
	if (proto_check_line(reason, n).kind != LINE_VALID)
		n = 0;
	c->irc_quiet = true; /* the line protocol's goodbye */
	run_line(w, c, "/quit %.*s%.*s", reason, n, "", 0);
	if (!c->closing)
		worker_close_conn(w, c, CLOSE_QUIT);
}

/* ---- dispatch -------------------------------------------------------------------------- */

struct command_row {
	const char *name;
	void (*fn)(struct worker *w, struct conn *c, const struct irc_msg *m);
	unsigned min_params;
	bool before_welcome; /* allowed before registration */
	bool charged;        /* charges c's token bucket here (chat lines are charged by intake) */
};

static const struct command_row commands[] = {
	{ "PASS", cmd_pass, 1, true, true },        { "NICK", cmd_nick, 0, true, true },
	{ "USER", cmd_user, 4, true, true },        { "CAP", cmd_cap, 1, true, true },
	{ "PING", cmd_ping, 1, true, true },        { "PONG", cmd_pong, 0, true, false },
	{ "QUIT", cmd_quit, 0, true, false },       { "JOIN", cmd_join, 1, false, true },
	{ "PART", cmd_part, 1, false, true },       { "PRIVMSG", cmd_privmsg, 0, false, false },
	{ "NOTICE", cmd_privmsg, 0, false, false }, { "NAMES", cmd_names, 0, false, true },
	{ "WHO", cmd_who, 0, false, true },         { "WHOIS", cmd_whois, 1, false, true },
	{ "LIST", cmd_list, 0, false, true },       { "TOPIC", cmd_topic, 1, false, true },
	{ "MODE", cmd_mode, 1, false, true },       { "AWAY", cmd_away, 0, false, true },
	{ "MOTD", cmd_motd, 0, false, true },       { "KICK", cmd_kick, 2, false, true },
	{ "INVITE", cmd_invite, 2, false, true },   { "TAGMSG", cmd_tagmsg, 1, false, true },
};

static void dispatch(struct worker *w, struct conn *c, const struct irc_msg *m)
{
	const struct command_row *row = NULL;
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]) && row == NULL; i++)
		if (irc_is(m, commands[i].name))
			row = &commands[i];
	if (row == NULL || row->charged) {
		if (!intake_rate_take(w, c))
			return;
	}
	char cmd[IRC_LINE_MAX];
	snprintf(cmd, sizeof(cmd), "%.*s", (int)m->cmd_len, m->cmd);
	if (row == NULL) {
		if (state_of(c)->registered)
			send_num(w, c, ERR_UNKNOWNCOMMAND, cmd, NULL);
		else
			send_num(w, c, ERR_NOTREGISTERED, NULL, NULL);
		return;
	}
	if (!row->before_welcome && !state_of(c)->registered) {
		send_num(w, c, ERR_NOTREGISTERED, NULL, NULL);
		return;
	}
	if (m->nparams < row->min_params) {
		send_num(w, c, ERR_NEEDMOREPARAMS, cmd, NULL);
		return;
	}
	row->fn(w, c, m);
}

struct line_ctx {
	struct worker *w;
	struct conn *c;
};

static bool ircd_on_line(void *arg, enum line_event ev, const char *line, size_t len)
{
	struct line_ctx *x = arg;
	struct worker *w = x->w;
	struct conn *c = x->c;
	if (c->closing)
		return false;
	struct irc_msg m;
	enum irc_parse_result rc = ev == LINE_TOO_LONG ? IRC_TOO_LONG : irc_parse(line, len, &m);
	if (rc == IRC_TOO_LONG || rc == IRC_TAGS_TOO_LONG) {
		stat_add(&w->stats.lines_too_long, 1);
		if (intake_rate_take(w, c))
			send_num(w, c, ERR_INPUTTOOLONG, NULL, NULL);
	} else if (rc == IRC_OK) {
		dispatch(w, c, &m);
	} else if (rc != IRC_EMPTY && intake_rate_take(w, c)) {
		send_num(w, c, ERR_UNKNOWNCOMMAND, "*", NULL);
	}
	return !c->closing;
}

/* ---- handlers --------------------------------------------------------------------------- */

static void ircd_arm(struct worker *w, struct conn *c)
{
	worker_arm_conn_timer(w, c, TIMER_IRC_PING, w->now_ms + w->hub->cfg.irc_ping_interval_ms);
}

static void ircd_on_open(struct worker *w, struct conn *c)
{
	struct ircd_user *u = calloc(1, sizeof(*u));
	if (u == NULL) {
		worker_close_conn(w, c, CLOSE_NOMEM);
		return;
	}
	u->pass_ok = w->hub->irc_pass_len == 0;
	c->irc = u;
	c->irc_quiet = false;
	ircd_arm(w, c);
}

static void ircd_on_bytes(struct worker *w, struct conn *c, char *buf, size_t n)
{
	if (c->irc == NULL)
		return;
	state_of(c)->ping_out = false;
	ircd_arm(w, c);
	struct line_ctx x = { w, c };
	if (framer_feed(&c->in, IRC_INPUT_MAX, buf, n, ircd_on_line, &x) < 0)
		worker_close_conn(w, c, CLOSE_NOMEM);
}

/* --irc-ping-interval of silence: a PING; another one without any line: closed. A client not
 * registered by then is closed at once (it holds a place of --max-clients). */
static void ircd_on_deadline(struct worker *w, struct conn *c)
{
	struct ircd_user *u = state_of(c);
	if (u == NULL)
		return;
	if (!u->registered) {
		stat_add(&w->stats.irc_register_timeouts, 1);
		static const char late[] = "ERROR :Closing link (registration timeout)\r\n";
		send_raw(w, c, late, sizeof(late) - 1);
		worker_close_conn(w, c, CLOSE_QUIT);
		return;
	}
	if (u->ping_out) {
		stat_add(&w->stats.irc_ping_timeouts, 1);
		static const char bye[] = "ERROR :Closing link (ping timeout)\r\n";
		send_raw(w, c, bye, sizeof(bye) - 1);
		worker_close_conn(w, c, CLOSE_QUIT);
		return;
	}
	stat_add(&w->stats.irc_pings_sent, 1);
	static const char ping[] = "PING :" IRC_SERVER "\r\n";
	send_raw(w, c, ping, sizeof(ping) - 1);
	u->ping_out = true;
	ircd_arm(w, c);
}

static void ircd_on_shutdown(struct worker *w, struct conn *c)
{
	static const char bye[] = "ERROR :Server shutting down\r\n";
	send_raw(w, c, bye, sizeof(bye) - 1);
	worker_close_conn(w, c, CLOSE_SHUTDOWN);
}

/* Last words: the error line, as a NOTICE. */
static void ircd_say_last(struct worker *w, struct conn *c, const char *line, size_t n, bool mid)
{
	(void)w;
	char out[IRC_LINE_MAX];
	struct irc_ctx x = { .server = IRC_SERVER, .me = c->user.name, .room = NULL };
	if (mid)
		conn_send_now(c, "\r\n", 2);
	conn_send_now(c, out, irc_render(out, sizeof(out), line, n, &x));
}

const struct conn_ops ircd_ops = {
	.name = "irc",
	.on_open = ircd_on_open,
	.on_bytes = ircd_on_bytes,
	.on_deadline = ircd_on_deadline,
	.on_close = session_on_close,
	.on_shutdown = ircd_on_shutdown,
	.say_last = ircd_say_last,
};
