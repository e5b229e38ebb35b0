/*
 * session.c - see session.h. Every line a user sends ends up here after framing and
 * validation: chat goes to the user's room, commands are answered or routed.
 */
#include "session.h"
#include "command.h"
#include "directory.h"
#include "log.h"
#include "proto.h"
#include "room.h"
#include "server.h"
#include "worker.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define DEFAULT_ROOM       "lobby"
#define LIST_MAX           16384 /* longest /who or /rooms answer */
#define SUMMARIES_PER_TURN 64
#define QUOTED_LINE_MAX    600 /* a server line with quoted user text (PROTO_QUOTE_MAX) */

static struct directory *dir_of(struct worker *w)
{
	return &w->srv->dir;
}

/* Sends a server line ("* ..." or "* error: ...") to c alone. */
static void tell_user(struct worker *w, struct conn *c, bool error, const char *fmt, va_list ap)
{
	char line[QUOTED_LINE_MAX];
	size_t n = proto_vserver_line(line, sizeof(line), error, fmt, ap);
	worker_send_line(w, c, line, n);
}

static void say_to(struct worker *w, struct conn *c, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void say_to(struct worker *w, struct conn *c, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	tell_user(w, c, false, fmt, ap);
	va_end(ap);
}

static void error_to(struct worker *w, struct conn *c, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void error_to(struct worker *w, struct conn *c, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	tell_user(w, c, true, fmt, ap);
	va_end(ap);
}

/* A request of c's failed for lack of memory: c is told (it can be told: the line is small
 * and, if even that fails, c is disconnected by worker_send). */
static void tell_nomem(struct worker *w, struct conn *c, const char *what)
{
	stat_add(&w->stats.nomem_errors, 1);
	error_to(w, c, "server out of memory; %s.", what);
}

/* Publishes a ready-made line to a room. False when it was dropped for lack of memory. */
static bool tell_room(struct worker *w, struct room *r, const char *line, size_t n,
		      uint64_t exclude)
{
	struct msg *m = worker_msg_new(w, n, false);
	if (m == NULL) {
		stat_add(&w->stats.nomem_dropped, 1);
		return false;
	}
	memcpy(m->data, line, n);
	m->exclude = exclude;
	worker_publish_room(w, r, m);
	return true;
}

static void note_summary_due(struct worker *w, int64_t due)
{
	if (due != 0 && (w->summary_due_ms == 0 || due < w->summary_due_ms))
		w->summary_due_ms = due;
}

/* Moves c into room `name` (from its current room, if any). */
static int enter_room(struct worker *w, struct conn *c, const char *name, size_t n, bool reply)
{
	struct join_result res;
	bool lobby = n == strlen(DEFAULT_ROOM) && strncasecmp(name, DEFAULT_ROOM, n) == 0;
	int rc = dir_join(dir_of(w), &c->user, name, n, lobby, clock_now_ms(), &res);
	if (rc < 0)
		return rc;
	char line[160];
	size_t len;
	if (res.from != NULL) {
		if (res.notice_from) {
			len = proto_left(line, sizeof(line), c->user.name, NULL, 0);
			tell_room(w, res.from, line, len, c->id);
		}
		room_local_remove(&w->local_rooms, dir_of(w), w->index, res.from, c);
		c->in_room = false; /* out of every local member array, until the add below */
	}
	if (room_local_add(&w->local_rooms, dir_of(w), w->index, res.to, c) < 0) {
		/* The directory has c in the room but we cannot deliver to it: end it. It is in
		 * no local array (in_room is false), so leaving touches the directory only. */
		worker_close_conn(w, c, CLOSE_NOMEM);
		return 0;
	}
	c->in_room = true;
	note_summary_due(w, res.summary_due);
	if (res.notice_to) {
		len = proto_entered(line, sizeof(line), c->user.name);
		tell_room(w, res.to, line, len, c->id);
	}
	if (reply)
		say_to(w, c, "You are now in %s. %ld user%s here.", res.to->name, res.members,
		       res.members == 1 ? "" : "s");
	return 0;
}

int session_start(struct worker *w, struct conn *c)
{
	c->user.id = c->id;
	c->user.worker = w->index;
	if (dir_add_user(dir_of(w), &c->user) < 0)
		return -ENOMEM;
	if (map_put(&w->by_id, c->id, c) < 0) {
		bool notice;
		struct room *r;
		int64_t due;
		dir_remove_user(dir_of(w), &c->user, &notice, &r, &due);
		return -ENOMEM;
	}
	long users = atomic_fetch_add_explicit(&w->srv->users, 1, memory_order_relaxed) + 1;
	stat_add(&w->users_now, 1);
	if (c->proto == CONN_WS)
		stat_add(&w->ws_users_now, 1);
	char line[160];
	size_t n = proto_welcome(line, sizeof(line), c->id, users);
	worker_send_line(w, c, line, n);
	int rc = enter_room(w, c, DEFAULT_ROOM, strlen(DEFAULT_ROOM), false);
	if (rc < 0) { /* --max-rooms reached and no lobby, or no memory */
		error_to(w, c, "cannot enter %s: %s.", DEFAULT_ROOM,
			 rc == -ENOSPC ? "too many rooms" : "out of memory");
		worker_close_conn(w, c, CLOSE_NOMEM);
	}
	return 0;
}

void session_end(struct worker *w, struct conn *c, const char *reason, size_t reason_len,
		 bool announce)
{
	bool notice;
	struct room *r;
	int64_t due;
	dir_remove_user(dir_of(w), &c->user, &notice, &r, &due);
	map_del(&w->by_id, c->id);
	atomic_fetch_sub_explicit(&w->srv->users, 1, memory_order_relaxed);
	stat_add(&w->users_now, (uint64_t)-1);
	if (c->proto == CONN_WS)
		stat_add(&w->ws_users_now, (uint64_t)-1);
	if (r == NULL)
		return;
	if (announce)
		note_summary_due(w, due);
	/* Not in a local member array (enter_room could not add it): this worker holds no
	 * reference to r, which dir_remove_user may just have freed, and the room was never
	 * told that c entered. */
	if (!c->in_room)
		return;
	if (announce && notice) {
		char line[320];
		size_t n = proto_left(line, sizeof(line), c->user.name, reason, reason_len);
		tell_room(w, r, line, n, c->id);
	}
	room_local_remove(&w->local_rooms, dir_of(w), w->index, r, c);
	c->in_room = false;
}

/* ---- commands ------------------------------------------------------------------------------ */

/* Publishes a line that carries c's text (chat or action) to c's room. */
static void publish_user_line(struct worker *w, struct conn *c, enum user_line kind,
			      const char *text, size_t len)
{
	struct msg *m = worker_msg_new(w, proto_user_line_len(kind, c->user.name, len), false);
	if (m == NULL) {
		tell_nomem(w, c, "your line was not sent");
		return;
	}
	proto_user_line(m->data, kind, c->user.name, text, len);
	stat_add(&w->stats.lines_in, 1);
	worker_publish_room(w, c->user.room, m);
}

static void cmd_chat(struct worker *w, struct conn *c, const char *text, size_t len)
{
	publish_user_line(w, c, USER_CHAT, text, len);
}

static void cmd_me(struct worker *w, struct conn *c, const char *text, size_t len)
{
	publish_user_line(w, c, USER_ACTION, text, len);
}

static void cmd_nick(struct worker *w, struct conn *c, const char *name, size_t n)
{
	char old[NAME_MAX_LEN + 1];
	int rc = dir_rename(dir_of(w), &c->user, name, n, old);
	if (rc == -EEXIST) {
		stat_add(&w->stats.nick_rejected, 1);
		error_to(w, c, "the name %.*s is taken.", (int)n, name);
		return;
	}
	if (rc < 0) {
		tell_nomem(w, c, "name unchanged");
		return;
	}
	stat_add(&w->stats.renames, 1);
	log_info((int)w->index, c->id, "%s is now %s", old, c->user.name);
	char line[160];
	size_t len = proto_notice(line, sizeof(line), "%s is now known as %s.", old, c->user.name);
	/* the notice is also the renamer's only answer */
	if (!tell_room(w, c->user.room, line, len, 0))
		tell_nomem(w, c, "your new name is set, but the room was not told");
}

static void cmd_join(struct worker *w, struct conn *c, const char *name, size_t n)
{
	int rc = enter_room(w, c, name, n, true);
	if (rc == -EALREADY) {
		error_to(w, c, "you are already in %.*s.", (int)n, name);
	} else if (rc == -ENOSPC) {
		stat_add(&w->stats.join_rejected, 1);
		error_to(w, c, "too many rooms (max %d); join an existing one (/rooms).",
			 w->srv->cfg.max_rooms);
	} else if (rc < 0) {
		tell_nomem(w, c, "you stay where you are");
	}
}

/* Sends a multi-line answer one line per message (a WebSocket user gets one line per frame). */
static void send_lines(struct worker *w, struct conn *c, const char *text, size_t len)
{
	const char *p = text, *end = text + len, *nl;
	while (p < end && (nl = memchr(p, '\n', (size_t)(end - p))) != NULL) {
		worker_send_line(w, c, p, (size_t)(nl + 1 - p));
		p = nl + 1;
	}
}

static void send_listing(struct worker *w, struct conn *c,
			 size_t (*fill)(struct directory *, const struct user *, char *, size_t))
{
	char *buf = malloc(LIST_MAX);
	if (buf == NULL) {
		tell_nomem(w, c, "no list this time");
		return;
	}
	size_t n = fill(dir_of(w), &c->user, buf, LIST_MAX);
	send_lines(w, c, buf, n);
	free(buf);
}

static size_t fill_rooms(struct directory *d, const struct user *u, char *out, size_t cap)
{
	(void)u;
	return dir_rooms(d, out, cap);
}

static void cmd_msg(struct worker *w, struct conn *c, const struct command *cmd)
{
	uint64_t id;
	unsigned worker;
	char to[NAME_MAX_LEN + 1];
	if (!dir_lookup(dir_of(w), cmd->arg, cmd->arg_len, &id, &worker, to)) {
		stat_add(&w->stats.private_unknown, 1);
		char line[QUOTED_LINE_MAX];
		size_t n = proto_no_such_user(line, sizeof(line), cmd->arg, cmd->arg_len);
		worker_send_line(w, c, line, n);
		return;
	}
	struct msg *m =
	    worker_msg_new(w, proto_user_line_len(USER_PRIVATE, c->user.name, cmd->text_len), true);
	if (m == NULL) {
		tell_nomem(w, c, "your message was not sent");
		return;
	}
	proto_user_line(m->data, USER_PRIVATE, c->user.name, cmd->text, cmd->text_len);
	stat_add(&w->stats.private_sent, 1);
	worker_publish_direct(w, m, id, worker);
	/* The echo is sized from the text (up to --max-line bytes): never cut. It goes to the
	 * sender as a direct message of its own, after the message itself. */
	struct msg *echo =
	    worker_msg_new(w, proto_user_line_len(USER_ECHO, to, cmd->text_len), true);
	if (echo == NULL) {
		tell_nomem(w, c, "your message was sent, but not its echo");
		return;
	}
	proto_user_line(echo->data, USER_ECHO, to, cmd->text, cmd->text_len);
	worker_publish_direct(w, echo, c->id, w->index);
}

static void cmd_quit(struct worker *w, struct conn *c, const char *reason, size_t n)
{
	session_end(w, c, reason, n, true);
	say_to(w, c, "Goodbye.");
	worker_close_conn(w, c, CLOSE_QUIT);
}

void session_on_line(struct worker *w, struct conn *c, const char *line, size_t len)
{
	struct command cmd;
	command_parse(line, len, &cmd);
	if (cmd.kind != CMD_NONE)
		stat_add(&w->stats.commands, 1);
	switch (cmd.kind) {
	case CMD_NONE:
		cmd_chat(w, c, cmd.text, cmd.text_len);
		break;
	case CMD_NICK:
		cmd_nick(w, c, cmd.arg, cmd.arg_len);
		break;
	case CMD_JOIN:
		cmd_join(w, c, cmd.arg, cmd.arg_len);
		break;
	case CMD_ROOMS:
		send_listing(w, c, fill_rooms);
		break;
	case CMD_WHO:
		send_listing(w, c, dir_who);
		break;
	case CMD_MSG:
		cmd_msg(w, c, &cmd);
		break;
	case CMD_ME:
		cmd_me(w, c, cmd.arg, cmd.arg_len);
		break;
	case CMD_QUIT:
		cmd_quit(w, c, cmd.arg, cmd.arg_len);
		break;
	case CMD_HELP:
		send_lines(w, c, command_help, strlen(command_help));
		break;
	case CMD_INVALID:
		stat_add(&w->stats.commands_invalid, 1);
		error_to(w, c, "%s", cmd.error);
		break;
	}
}

void session_run_summaries(struct worker *w, int64_t now)
{
	if (w->summary_due_ms == 0 || now < w->summary_due_ms)
		return;
	struct summary due[SUMMARIES_PER_TURN];
	int64_t next;
	int n = dir_take_summaries(dir_of(w), now, due, SUMMARIES_PER_TURN, &next);
	w->summary_due_ms = next;
	for (int i = 0; i < n; i++) {
		char line[128];
		size_t len = proto_summary(line, sizeof(line), due[i].entered, due[i].left);
		tell_room(w, due[i].room, line, len, 0);
		dir_room_put(dir_of(w), due[i].room);
	}
}
