/*
 * session.c - see session.h. Every line a user sends ends up here after framing and
 * validation (intake.c): chat goes to the user's room, commands are answered or routed.
 */
#include "session.h"
#include "auth.h"
#include "bans.h"
#include "cluster.h"
#include "command.h"
#include "directory.h"
#include "feed.h"
#include "history.h"
#include "log.h"
#include "msg.h"
#include "proto.h"
#include "roomops.h"
#include "route.h"
#include "timer.h"
#include "worker.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define DEFAULT_ROOM "lobby"
/* The longest /rooms answer (past it the listing ends with "and N more"); a whole /who
 * answer always fits. */
#define LIST_MAX 16384
_Static_assert(LIST_MAX >= PROTO_WHO_MAX(DIR_WHO_NAMES_MAX), "a /who answer is never cut");
#define SUMMARIES_PER_TURN 64

/* A worker's session state. */
struct sessions {
	struct timer summary_timer; /* the next summary of a large room (TIMER_SUMMARY) */
};

static struct directory *dir_of(struct worker *w)
{
	return &w->hub->dir;
}

/* A request of c's failed for lack of memory: c is told (it can be told: the line is small
 * and, if even that fails, c is disconnected by route_send_line). */
static void tell_nomem(struct worker *w, struct conn *c, enum proto_nomem consequence)
{
	char line[PROTO_LINE_MAX];
	stat_add(&w->stats.nomem_errors, 1);
	route_send_line(w, c, line, proto_out_of_memory(line, sizeof(line), consequence));
}

/* Publishes a ready-made line to a room, tagged (msg.h target: 0, or one notice sent to
 * several rooms). False when it was dropped for lack of memory. */
static bool tell_room_tagged(struct worker *w, struct room *r, const char *line, size_t n,
			     uint64_t exclude, uint64_t tag)
{
	struct msg *m = route_msg_new(w, n, false);
	if (m == NULL) {
		stat_add(&w->stats.nomem_dropped, 1);
		return false;
	}
	memcpy(m->data, line, n);
	m->exclude = exclude;
	m->target = tag;
	cluster_publish_room(w, r, m, 0);
	return true;
}

static bool tell_room(struct worker *w, struct room *r, const char *line, size_t n,
		      uint64_t exclude)
{
	return tell_room_tagged(w, r, line, n, exclude, 0);
}

/* A room's notices are counted for a summary due at `due` (0: none): the worker's summary
 * timer goes off then, or earlier if it already had an earlier one. */
static void note_summary_due(struct worker *w, int64_t due)
{
	struct timer *t = &w->sessions->summary_timer;
	int64_t first = timer_earliest(timer_armed(t) ? t->due_ms : 0, due);
	if (first != 0 && (!timer_armed(t) || first != t->due_ms))
		timer_arm(&w->timers, t, TIMER_SUMMARY, first);
}

/* The room's last lines (history.h), at most max; the count taken, and the position of the
 * room's history at that moment in *pos. */
struct history_view {
	struct history_entry *e;
	size_t n;
	uint64_t pos;
	int64_t since; /* resuming: the lines are those after it; -1 otherwise */
};

static void history_view_take(struct room *r, size_t max, struct history_view *v)
{
	v->n = 0;
	v->pos = 0;
	v->since = -1;
	v->e = max > 0 && r->hist.max_lines > 0 ? malloc(max * sizeof(*v->e)) : NULL;
	if (v->e != NULL)
		v->n = history_take(&r->hist, max, v->e, &v->pos);
}

/* One kept line to c: as it was said after its time ("[HH:MM:SS] "), or, for a JSON feed
 * user, as a chat or action event marked "history". */
static void send_kept_line(struct worker *w, struct conn *c, const struct room *r,
			   const struct history_entry *e)
{
	const struct msg *said = e->m;
	if (c->irc != NULL && c->irc_time) {
		route_send_kept_irc(w, c, r->name, said, e->seq, e->time_ms);
		return;
	}
	struct feed_ctx x = {
		.room = r->name, .seq = e->seq, .time_ms = e->time_ms, .history = true
	};
	size_t n = c->feed_json ? feed_render(NULL, 0, said->data, said->len, &x)
				: PROTO_STAMP_LEN + said->len;
	struct msg *m = msg_new(n, 1);
	if (m == NULL) {
		worker_close_conn(w, c, CLOSE_NOMEM);
		return;
	}
	if (c->closing) {
		msg_set_workers(m, 1);
		msg_release(m);
		return;
	}
	if (c->feed_json) {
		feed_render(m->data, n, said->data, said->len, &x);
		m->json = true;
	} else {
		char stamp[PROTO_STAMP_LEN + 1];
		proto_history_stamp(stamp, e->time_ms);
		memcpy(m->data, stamp, PROTO_STAMP_LEN);
		memcpy(m->data + PROTO_STAMP_LEN, said->data, said->len);
	}
	route_send_msg(w, c, m);
}

/* The head of a history block: "* Last N lines in ROOM:" (or, when empty and asked for,
 * "* No lines kept in ROOM yet."), or for a JSON feed user the history event. */
static void send_history_head(struct worker *w, struct conn *c, const struct room *r,
			      const struct history_view *v, bool asked)
{
	char line[PROTO_LINE_MAX];
	if (c->feed_json) {
		uint64_t first = v->n > 0 ? v->e[0].seq : 0,
			 last = v->n > 0 ? v->e[v->n - 1].seq : 0;
		if (v->n > 0 || asked || v->since >= 0)
			route_send_event(
			    w, c, line,
			    feed_history(line, sizeof(line), r->name, v->n, first, last, v->since));
	} else if (v->n > 0) {
		route_send_line(w, c, line,
				proto_history_head(line, sizeof(line), (long)v->n, r->name));
	} else if (asked) {
		route_send_line(w, c, line, proto_history_none(line, sizeof(line), r->name));
	}
}

/* Sends what v holds to c (the head, the lines with their time, "* (end of history)"; a JSON
 * feed user gets the history event and the lines), or, when empty and asked for (/history),
 * says so; lets go of v. */
static void history_view_send(struct worker *w, struct conn *c, const struct room *r,
			      struct history_view *v, bool asked)
{
	send_history_head(w, c, r, v, asked);
	for (size_t i = 0; i < v->n; i++) {
		send_kept_line(w, c, r, &v->e[i]);
		msg_release(v->e[i].m);
	}
	if (v->n > 0 && !c->feed_json) {
		char line[PROTO_LINE_MAX];
		route_send_line(w, c, line, proto_history_end(line, sizeof(line)));
	}
	free(v->e);
	v->e = NULL;
	v->n = 0;
}

/*
 * Resuming after `since` (/ws?room=&since=): keeps in v only the lines after it and tells c
 * how many it missed that are no longer kept (a gap). `before` is the room's last kept
 * number read before v was taken: lines up to it that v lacks went out of the history.
 * When the room's numbers do not reach `since` (the room began again), every kept line is
 * new to c and how many it missed is not known.
 */
static void history_view_resume(struct worker *w, struct conn *c, const struct room *r,
				struct history_view *v, uint64_t since, uint64_t before)
{
	uint64_t newest = v->n > 0 ? v->e[v->n - 1].seq : before;
	int64_t missed = -1;
	v->since = (int64_t)since;
	if (since <= newest) {
		uint64_t oldest = v->n > 0 ? v->e[0].seq : newest + 1;
		missed = oldest > since + 1 ? (int64_t)(oldest - since - 1) : 0;
		size_t k = 0;
		while (k < v->n && v->e[k].seq <= since)
			msg_release(v->e[k++].m);
		if (k > 0) /* nothing to move otherwise (and v->e may be NULL) */
			memmove(v->e, v->e + k, (v->n - k) * sizeof(*v->e));
		v->n -= k;
	}
	if (missed == 0)
		return;
	stat_add(&w->stats.resume_gaps, 1);
	char line[PROTO_LINE_MAX];
	if (c->feed_json)
		route_send_event(w, c, line, feed_gap(line, sizeof(line), r->name, since, missed));
	else
		route_send_line(w, c, line, proto_gap(line, sizeof(line), r->name, missed));
}

/* Lets go of v unsent. */
static void history_view_drop(struct history_view *v)
{
	for (size_t i = 0; i < v->n; i++)
		msg_release(v->e[i].m);
	free(v->e);
	v->e = NULL;
	v->n = 0;
}

/* Room r's history to c again, as on entering it: the cluster's link read older lines from
 * Redis after c entered (route_show_history). The link held the room's lines meanwhile, so c
 * gets the block before any of them; seen_hpos then skips those already in the block. A
 * resume is for line and WebSocket users, in their one room. */
static void show_history_late(struct worker *w, struct conn *c, struct room *r)
{
	struct history_view hv;
	if (conn_room_of(c, r) == NULL)
		return;
	bool resuming = c->resume_pending && r == c->user.room;
	uint64_t before = resuming ? history_last_seq(&r->hist) : 0;
	history_view_take(r, (size_t)w->hub->cfg.history, &hv);
	route_set_seen(w, c, r, hv.pos);
	if (resuming) { /* resuming: the lines after its number, or the gap */
		history_view_resume(w, c, r, &hv, c->resume_since, before);
		c->resume_pending = false;
	}
	history_view_send(w, c, r, &hv, false);
}

void session_show_history(struct worker *w, struct conn *c, struct room *r)
{
	show_history_late(w, c, r);
}

/* "* Topic of ROOM: TEXT (set by NAME)" to c. */
static void send_topic(struct worker *w, struct conn *c, const char *room, const char *topic,
		       const char *by)
{
	char line[PROTO_LINE_MAX + ROOMOPS_TOPIC_MAX];
	route_send_line(
	    w, c, line,
	    proto_notice(line, sizeof(line), "Topic of %s: %s (set by %s)", room, topic, by));
}

/* Moves c into room `name` (from its current room, if any; an IRC user keeps its other rooms,
 * up to --irc-max-channels: -ETOOMANYREFS past it). It gets the room's last lines, or, resuming
 * (since != NULL), the lines after *since. */
static int enter_room_key(struct worker *w, struct conn *c, const char *name, size_t n, bool reply,
			  const uint64_t *since, const char *key, size_t key_len)
{
	struct join_result res;
	bool lobby = n == strlen(DEFAULT_ROOM) && strncasecmp(name, DEFAULT_ROOM, n) == 0;
	int64_t now = clock_now_ms();
	int rc = c->irc != NULL
		     ? dir_join_also(dir_of(w), &c->user, name, n, lobby, now, key, key_len,
				     (uint32_t)w->cfg->irc_max_channels, &res)
		     : dir_join_key(dir_of(w), &c->user, name, n, lobby, now, key, key_len, &res);
	if (rc < 0)
		return rc;
	char line[PROTO_LINE_MAX];
	size_t len;
	if (res.from != NULL) {
		if (res.notice_from) {
			len = proto_left(line, sizeof(line), c->user.name, NULL, 0);
			tell_room(w, res.from, line, len, c->id);
		}
		route_leave(w, c, res.from);
	}
	if (route_enter(w, c, res.to) < 0) {
		/* The directory has c in the room but we cannot deliver to it: end it. It is in
		 * no local array of res.to, so leaving it touches the directory only. */
		worker_close_conn(w, c, CLOSE_NOMEM);
		return 0;
	}
	/* the room's history now, right after this worker's bit is in the room's mask: every
	 * later line of the room reaches c, every earlier one is in the history or was said
	 * before c came (route_publish_room) */
	struct history_view hv;
	uint64_t before = since != NULL ? history_last_seq(&res.to->hist) : 0;
	history_view_take(res.to, (size_t)w->hub->cfg.history, &hv);
	route_set_seen(w, c, res.to, hv.pos);
	note_summary_due(w, res.summary_due);
	if (res.notice_to) {
		len = proto_entered(line, sizeof(line), c->user.name);
		tell_room(w, res.to, line, len, c->id);
	}
	if (reply)
		route_send_line(w, c, line,
				proto_joined(line, sizeof(line), res.to->name, res.members));
	if (res.topic[0] != '\0')
		send_topic(w, c, res.to->name, res.topic, res.topic_by);
	if (res.op && res.members == 1) /* it founded the room: the cluster learns it */
		cluster_room_change(w, c, res.to, 'f', "f", 1, "", 0, false, "", 0);
	if (res.invite_used) { /* used up on every node */
		char field[NAME_MAX_LEN + 3] = "i:";
		size_t name_len = strlen(c->user.name);
		name_fold(c->user.name, name_len, field + 2); /* the field is the folded name */
		cluster_room_change(w, c, res.to, 'd', field, name_len + 2, "", 0, false, "", 0);
	}
	/* With --cluster, a room with nothing kept here may be new to the node: its lines are on
	 * their way from Redis (show_history_late), and the resume waits for them. If none come,
	 * nothing was kept anywhere: there is nothing to show, and no gap to tell. */
	c->resume_pending = since != NULL && cluster_linked(w) && hv.n == 0 && before == 0;
	c->resume_since = since != NULL ? *since : 0;
	if (since != NULL && !c->resume_pending)
		history_view_resume(w, c, res.to, &hv, *since, before);
	if (c->irc != NULL && c->irc_time) /* after its JOIN: session_show_history */
		history_view_drop(&hv);
	else
		history_view_send(w, c, res.to, &hv, false);
	return 0;
}

static int enter_room(struct worker *w, struct conn *c, const char *name, size_t n, bool reply,
		      const uint64_t *since)
{
	return enter_room_key(w, c, name, n, reply, since, NULL, 0);
}

/* Where a newcomer starts: the lobby, or the room it resumes in when it may enter it (a guest
 * under --require-auth may not, nor a signed-in user whose token does not list the room:
 * told, it starts in the lobby). */
static bool may_start_in(struct worker *w, struct conn *c, const struct session_entry *at)
{
	if (at->token_len > 0)
		return auth_token_lets_in(w, c, at->token, at->token_len, at->room, at->room_len);
	if (!w->hub->cfg.require_auth)
		return true;
	auth_refuse_guest(w, c);
	return false;
}

/* A newcomer from a banned address is told why and closed before it enters. */
static bool refuse_banned(struct worker *w, struct conn *c)
{
	struct ban b;
	if (!bans_match_addr(&w->hub->bans, &c->addr, clock_wall_ms(), &b))
		return false;
	char line[PROTO_LINE_MAX];
	stat_add(&w->stats.banned_refused, 1);
	char addr[CIDR_ADDR_STRLEN];
	worker_log_gated(w, GATE_BANNED, LOG_INFO, c->id, "%s refused: ban %" PRIu64 " (%s)",
			 cidr_addr_format(&c->addr, addr, sizeof(addr)), b.id, b.value);
	route_send_line(w, c, line, proto_banned(line, sizeof(line), b.reason, b.until_ms));
	worker_close_conn(w, c, CLOSE_KICKED);
	return true;
}

/* A newcomer's name of its own choosing (session_entry.name), when it is free: not banned, not
 * held, and no cluster to claim it in; otherwise it keeps the generated one. */
static void take_asked_name(struct worker *w, struct conn *c, const char *name, size_t n)
{
	char old[NAME_MAX_LEN + 1];
	struct ban b;
	if (cluster_linked(w) || bans_match_name(&w->hub->bans, name, n, clock_wall_ms(), &b))
		return;
	(void)dir_rename(dir_of(w), &c->user, name, n, old); /* taken: the generated name */
}

/* A room's rules refused c (dir_join_key): says why, counts it. False for any other rc. */
static bool join_refused(struct worker *w, struct conn *c, const char *room, size_t n, int rc)
{
	char line[PROTO_LINE_MAX];
	int k = (int)n;
	size_t len;
	if (rc == ROOMOPS_E_BANNED) {
		stat_add(&w->stats.room_banned, 1);
		len = proto_error(line, sizeof(line), "you are banned from %.*s.", k, room);
	} else if (rc == ROOMOPS_E_INVITE) {
		stat_add(&w->stats.room_invite_only, 1);
		len =
		    proto_error(line, sizeof(line),
				"%.*s is invite only (+i): an operator must /invite you.", k, room);
	} else if (rc == ROOMOPS_E_KEY) {
		stat_add(&w->stats.room_bad_key, 1);
		len = proto_error(line, sizeof(line),
				  "%.*s has a key (+k): /join %.*s KEY, with the right key.", k,
				  room, k, room);
	} else if (rc == ROOMOPS_E_FULL) {
		stat_add(&w->stats.room_full, 1);
		len = proto_error(line, sizeof(line), "%.*s is full (+l).", k, room);
	} else {
		return false;
	}
	worker_log_gated(w, GATE_ROOMOPS, LOG_INFO, c->id, "join of %.*s refused: %s", k, room,
			 strerror(-rc));
	c->irc_refusal = rc;
	if (c->irc == NULL) /* an IRC user is told with a numeric (ircd.c) */
		route_send_line(w, c, line, len);
	return true;
}

int session_start(struct worker *w, struct conn *c, const struct session_entry *at)
{
	if (refuse_banned(w, c))
		return 0;
	c->user.id = c->id;
	c->user.worker = w->index;
	c->user.addr = c->addr;
	c->user.front = c->irc != NULL  ? USER_FRONT_IRC
			: !c->ws_framed ? USER_FRONT_LINE
			: c->feed_json  ? USER_FRONT_WS_JSON
					: USER_FRONT_WS;
	c->user.since_ms = clock_wall_ms();
	if (dir_add_user(dir_of(w), &c->user) < 0)
		return -ENOMEM;
	if (route_add_user(w, c) < 0) {
		bool notice;
		struct room *r;
		int64_t due;
		dir_remove_user(dir_of(w), &c->user, &notice, &r, &due);
		return -ENOMEM;
	}
	if (at != NULL && at->name_len > 0)
		take_asked_name(w, c, at->name, at->name_len);
	long users = atomic_fetch_add_explicit(&w->hub->users, 1, memory_order_relaxed) + 1;
	stat_add(&w->users_now, 1);
	if (c->ws_framed)
		stat_add(&w->ws_users_now, 1);
	char line[PROTO_LINE_MAX];
	route_send_line(w, c, line, proto_welcome(line, sizeof(line), c->id, users));
	const char *room = DEFAULT_ROOM;
	size_t n = strlen(DEFAULT_ROOM);
	const uint64_t *since = NULL;
	if (at != NULL && at->room_len > 0 && may_start_in(w, c, at)) {
		room = at->room;
		n = at->room_len;
		since = at->resume ? &at->since : NULL;
		stat_add(&w->stats.resumes, 1);
	}
	int rc = enter_room(w, c, room, n, at != NULL && at->room_len > 0, since);
	if (join_refused(w, c, room, n, rc)) /* the room's rules: the lobby instead */
		rc = enter_room(w, c, DEFAULT_ROOM, strlen(DEFAULT_ROOM), true, NULL);
	if (rc < 0) { /* --max-rooms reached and no lobby, or no memory */
		size_t k = proto_cannot_enter(line, sizeof(line), room, rc);
		route_send_line(w, c, line, k);
		worker_close_conn(w, c, CLOSE_NOMEM);
		return 0;
	}
	cluster_user_moved(w, c, true);
	auth_greet(w, c);
	return 0;
}

/* The end of c's leaving r, which this worker holds: the room's leave notice (with the reason;
 * tag: one QUIT for all of an IRC user's rooms, msg.h) when notice, then out of r's local
 * members. */
static void leave_local(struct worker *w, struct conn *c, struct room *r, const char *reason,
			size_t reason_len, bool notice, uint64_t tag)
{
	if (notice) {
		char line[PROTO_LINE_MAX];
		size_t n = proto_left(line, sizeof(line), c->user.name, reason, reason_len);
		tell_room_tagged(w, r, line, n, c->id, tag);
	}
	route_leave(w, c, r);
}

/* c leaves r, one of its rooms: a leave notice when announce (with the reason: a QUIT to IRC
 * users, which tag makes one for all of its rooms, msg.h), out of r's local members. */
static void leave_room(struct worker *w, struct conn *c, struct room *r, const char *reason,
		       size_t reason_len, bool announce, uint64_t tag)
{
	int64_t due;
	bool local = conn_room_of(c, r) != NULL;
	bool notice = dir_leave(dir_of(w), &c->user, r, clock_now_ms(), &due);
	if (!w->shutting_down) /* counted for the room's summary, told or not */
		note_summary_due(w, due);
	/* Not a local member (enter_room could not add it): this worker holds no reference to
	 * r, which dir_leave may just have freed, and the room was never told that c entered. */
	if (!local)
		return;
	leave_local(w, c, r, reason, reason_len, announce && notice, tag);
}

/* The user is gone (or going): leave notice when announce, out of its rooms and directory. */
static void session_end(struct worker *w, struct conn *c, const char *reason, size_t reason_len,
			bool announce)
{
	uint64_t tag = c->user.nrooms > 1 && reason_len > 0 ? route_new_tag(w) : 0;
	while (c->user.nrooms > 1) /* an IRC user's other channels */
		leave_room(w, c, user_room_at(&c->user, 1)->room, reason, reason_len, announce,
			   tag);
	bool notice;
	struct room *r;
	int64_t due;
	dir_remove_user(dir_of(w), &c->user, &notice, &r, &due);
	route_remove_user(w, c);
	cluster_user_gone(w, c);
	atomic_fetch_sub_explicit(&w->hub->users, 1, memory_order_relaxed);
	stat_add(&w->users_now, (uint64_t)-1);
	if (c->ws_framed)
		stat_add(&w->ws_users_now, (uint64_t)-1);
	if (r == NULL)
		return;
	if (announce)
		note_summary_due(w, due);
	/* Not in r's local member array (enter_room could not add it): this worker holds no
	 * reference to r, which dir_remove_user may just have freed, and the room was never
	 * told that c entered. */
	if (conn_room_of(c, r) == NULL)
		return;
	leave_local(w, c, r, reason, reason_len, announce && notice, tag);
}

void session_part(struct worker *w, struct conn *c, struct room *r)
{
	leave_room(w, c, r, NULL, 0, true, 0);
	if (!c->closing)
		cluster_user_moved(w, c, false);
}

void session_on_close(struct worker *w, struct conn *c)
{
	if (c->user.listed)
		session_end(w, c, NULL, 0, !w->shutting_down);
}

void session_on_shutdown(struct worker *w, struct conn *c)
{
	char line[PROTO_LINE_MAX];
	route_send_line(w, c, line, proto_shutdown(line, sizeof(line)));
	worker_close_conn(w, c, CLOSE_SHUTDOWN);
}

/* ---- commands ------------------------------------------------------------------------------ */

/* The room c's chat line goes to: the channel an IRC user's PRIVMSG names (ircd.c sets
 * c->irc_to around it), else its current room; NULL: none. */
static struct room *said_in(const struct conn *c)
{
	return c->irc_to != NULL ? c->irc_to : c->user.room;
}

/* Publishes a line that carries c's text (chat or action) to c's room. */
static void publish_user_line(struct worker *w, struct conn *c, enum user_line kind,
			      const char *text, size_t len)
{
	if (said_in(c) == NULL) /* an IRC user in no channel */
		return;
	struct msg *m = route_msg_new(w, proto_user_line_len(kind, c->user.name, len), false);
	if (m == NULL) {
		tell_nomem(w, c, PROTO_NOMEM_LINE_NOT_SENT);
		return;
	}
	proto_user_line(m->data, kind, c->user.name, text, len);
	stat_add(&w->stats.lines_in, 1);
	cluster_publish_room(w, said_in(c), m, c->id);
}

/* +m: c may not speak in its room now (told, counted; an IRC user by ircd.c: 404). */
static bool moderated_refuses(struct worker *w, struct conn *c)
{
	struct room *r = said_in(c);
	if (r == NULL || roomops_may_speak(dir_of(w), r, &c->user))
		return false;
	char line[PROTO_LINE_MAX];
	stat_add(&w->stats.room_moderated, 1);
	c->irc_refusal = SESSION_E_MODERATED;
	if (c->irc != NULL)
		return true;
	route_send_line(w, c, line,
			proto_error(line, sizeof(line),
				    "%s is moderated (+m): only operators and voiced users speak; "
				    "line dropped.",
				    r->name));
	return true;
}

static void cmd_chat(struct worker *w, struct conn *c, const char *text, size_t len)
{
	if (!moderated_refuses(w, c))
		publish_user_line(w, c, USER_CHAT, text, len);
}

static void cmd_me(struct worker *w, struct conn *c, const char *text, size_t len)
{
	if (!moderated_refuses(w, c))
		publish_user_line(w, c, USER_ACTION, text, len);
}

static void cmd_nick(struct worker *w, struct conn *c, const char *name, size_t n)
{
	char old[NAME_MAX_LEN + 1];
	char line[PROTO_LINE_MAX];
	if (c->user.verified) { /* the name is the token's */
		stat_add(&w->stats.nick_rejected, 1);
		route_send_line(w, c, line,
				proto_error(line, sizeof(line),
					    "you are signed in as %s: your name comes with it.",
					    c->user.name));
		return;
	}
	struct ban b;
	if (bans_match_name(&w->hub->bans, name, n, clock_wall_ms(), &b)) {
		stat_add(&w->stats.nick_rejected, 1);
		route_send_line(w, c, line,
				proto_name_banned(line, sizeof(line), name, n, b.reason));
		return;
	}
	if (cluster_linked(w)) {
		/* a name held on this node is refused here; any other is claimed in Redis, and
		 * the answer comes from there */
		uint64_t id;
		unsigned worker;
		if (dir_lookup(dir_of(w), name, n, &id, &worker, old) && id != c->id) {
			stat_add(&w->stats.nick_rejected, 1);
			route_send_line(w, c, line, proto_name_taken(line, sizeof(line), name, n));
			return;
		}
		if (cluster_nick(w, c, name, n))
			return;
	}
	int rc = dir_rename(dir_of(w), &c->user, name, n, old);
	if (rc == -EEXIST) {
		stat_add(&w->stats.nick_rejected, 1);
		route_send_line(w, c, line, proto_name_taken(line, sizeof(line), name, n));
		return;
	}
	if (rc < 0) {
		tell_nomem(w, c, PROTO_NOMEM_NAME_UNCHANGED);
		return;
	}
	/* the notice is also the renamer's only answer */
	if (!cluster_renamed(w, c, old))
		tell_nomem(w, c, PROTO_NOMEM_ROOM_NOT_TOLD);
}

static void cmd_join(struct worker *w, struct conn *c, const char *name, size_t n, const char *key,
		     size_t key_len)
{
	if (!auth_may_enter(w, c, name, n))
		return;
	/* an IRC user is told by its JOIN (ircd.c) */
	int rc = enter_room_key(w, c, name, n, c->irc == NULL, NULL, key, key_len);
	char line[PROTO_LINE_MAX];
	if (rc == 0 && !c->closing)
		cluster_user_moved(w, c, false);
	if (join_refused(w, c, name, n, rc)) {
		return;
	} else if (rc == -ETOOMANYREFS) { /* IRC users: ircd.c answers 405 */
		stat_add(&w->stats.irc_channels_refused, 1);
		worker_log_gated(w, GATE_IRC, LOG_INFO, c->id,
				 "join of %.*s refused: in %d channels (--irc-max-channels)",
				 (int)n, name, w->cfg->irc_max_channels);
		c->irc_refusal = rc;
	} else if (rc == -EALREADY) {
		route_send_line(w, c, line, proto_already_in(line, sizeof(line), name, n));
	} else if (rc == -ENOSPC) {
		stat_add(&w->stats.join_rejected, 1);
		route_send_line(w, c, line,
				proto_too_many_rooms(line, sizeof(line), w->cfg->max_rooms));
	} else if (rc < 0) {
		tell_nomem(w, c, PROTO_NOMEM_STAY);
	}
}

/* Sends a multi-line answer one line per message (a WebSocket user gets one line per frame). */
static void send_lines(struct worker *w, struct conn *c, const char *text, size_t len)
{
	const char *p = text, *end = text + len, *nl;
	while (p < end && (nl = memchr(p, '\n', (size_t)(end - p))) != NULL) {
		route_send_line(w, c, p, (size_t)(nl + 1 - p));
		p = nl + 1;
	}
}

static void send_listing(struct worker *w, struct conn *c,
			 size_t (*fill)(struct directory *, const struct user *, char *, size_t))
{
	char *buf = malloc(LIST_MAX);
	if (buf == NULL) {
		tell_nomem(w, c, PROTO_NOMEM_NO_LIST);
		return;
	}
	size_t n = fill(dir_of(w), &c->user, buf, LIST_MAX);
	send_lines(w, c, buf, n);
	free(buf);
}

static size_t fill_rooms(struct directory *d, const struct user *u, char *out, size_t cap)
{
	return dir_rooms_for(d, u, out, cap); /* secret rooms only to their members */
}

static void cmd_msg(struct worker *w, struct conn *c, const struct command *cmd)
{
	uint64_t id;
	unsigned worker;
	char to[NAME_MAX_LEN + 1];
	if (!dir_lookup(dir_of(w), cmd->arg, cmd->arg_len, &id, &worker, to)) {
		if (cluster_direct(w, c, cmd->arg, cmd->arg_len, cmd->text, cmd->text_len)) {
			stat_add(&w->stats.private_sent, 1);
			return;
		}
		stat_add(&w->stats.private_unknown, 1);
		char line[PROTO_LINE_MAX];
		size_t n = proto_no_such_user(line, sizeof(line), cmd->arg, cmd->arg_len);
		route_send_line(w, c, line, n);
		return;
	}
	struct msg *m =
	    route_msg_new(w, proto_user_line_len(USER_PRIVATE, c->user.name, cmd->text_len), true);
	if (m == NULL) {
		tell_nomem(w, c, PROTO_NOMEM_MESSAGE_NOT_SENT);
		return;
	}
	proto_user_line(m->data, USER_PRIVATE, c->user.name, cmd->text, cmd->text_len);
	stat_add(&w->stats.private_sent, 1);
	route_publish_direct(w, m, id, worker);
	/* The echo is sized from the text (up to --max-line bytes): never cut. It goes to the
	 * sender as a direct message of its own, after the message itself. */
	struct msg *echo =
	    route_msg_new(w, proto_user_line_len(USER_ECHO, to, cmd->text_len), true);
	if (echo == NULL) {
		tell_nomem(w, c, PROTO_NOMEM_ECHO_NOT_SENT);
		return;
	}
	proto_user_line(echo->data, USER_ECHO, to, cmd->text, cmd->text_len);
	route_publish_direct(w, echo, c->id, w->index);
}

static void cmd_history(struct worker *w, struct conn *c, long count)
{
	long most = w->hub->cfg.history;
	struct history_view hv;
	if (c->user.room == NULL)
		return;
	history_view_take(c->user.room, (size_t)(count > 0 && count < most ? count : most), &hv);
	history_view_send(w, c, c->user.room, &hv, true);
}

static void cmd_quit(struct worker *w, struct conn *c, const char *reason, size_t n)
{
	session_end(w, c, reason, n, true);
	char line[PROTO_LINE_MAX];
	route_send_line(w, c, line, proto_goodbye(line, sizeof(line)));
	worker_close_conn(w, c, CLOSE_QUIT);
}

/* Whether cmd changes the room's state (not /bans, /topic alone, /mode alone or /mode +b). */
static bool room_cmd_changes(const struct command *cmd)
{
	switch (cmd->kind) {
	case CMD_BANS:
		return false;
	case CMD_TOPIC:
		return cmd->arg_len > 0;
	case CMD_OP:
	case CMD_DEOP:
	case CMD_VOICE:
	case CMD_DEVOICE:
	case CMD_KICK:
	case CMD_BAN:
	case CMD_UNBAN:
	case CMD_KEY:
	case CMD_LIMIT:
	case CMD_INVITE:
		return true;
	default:
		return cmd->arg_len >= 2 && !(cmd->arg[1] == 'b' && cmd->text_len == 0);
	}
}

/* --cluster with the link down: a change of a room's state is refused (it would hold on this
 * node alone), told, logged and counted. */
static bool room_cut_off(struct worker *w, struct conn *c, const struct room *r,
			 const struct command *cmd)
{
	if (r->st.lobby || !room_cmd_changes(cmd) || !cluster_cut_off(w))
		return false;
	char line[PROTO_LINE_MAX];
	stat_add(&w->stats.room_cut_off, 1);
	worker_log_gated(w, GATE_ROOMOPS, LOG_INFO, c->id,
			 "%s: a change of the room refused: the link to Redis is down", r->name);
	route_send_line(w, c, line, proto_error(line, sizeof(line), "%s", PROTO_CLUSTER_CUT_OFF));
	return true;
}

static void cmd_room(struct worker *w, struct conn *c, const struct command *cmd);

/* Under --require-auth, what a guest may not do: speak, join, rename. */
static bool guest_may_not(enum command_kind kind)
{
	return kind == CMD_NONE || kind == CMD_ME || kind == CMD_MSG || kind == CMD_JOIN ||
	       kind == CMD_NICK;
}

void session_on_line(struct worker *w, struct conn *c, const char *line, size_t len)
{
	struct command cmd;
	command_parse(line, len, &cmd);
	if (cmd.kind != CMD_NONE)
		stat_add(&w->stats.commands, 1);
	if (guest_may_not(cmd.kind) && auth_refuse_guest(w, c))
		return;
	switch (cmd.kind) {
	case CMD_NONE:
		cmd_chat(w, c, cmd.text, cmd.text_len);
		break;
	case CMD_NICK:
		cmd_nick(w, c, cmd.arg, cmd.arg_len);
		break;
	case CMD_JOIN:
		cmd_join(w, c, cmd.arg, cmd.arg_len, cmd.text, cmd.text_len);
		break;
	case CMD_ROOMS:
		if (!cluster_ask(w, c, CLUSTER_ROOMS))
			send_listing(w, c, fill_rooms);
		break;
	case CMD_WHO:
		if (!cluster_ask(w, c, CLUSTER_WHO))
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
		send_lines(w, c, proto_help, strlen(proto_help));
		break;
	case CMD_HISTORY:
		cmd_history(w, c, cmd.count);
		break;
	case CMD_AUTH:
		auth_sign_in(w, c, cmd.arg, cmd.arg_len);
		break;
	case CMD_TOPIC:
	case CMD_OP:
	case CMD_DEOP:
	case CMD_VOICE:
	case CMD_DEVOICE:
	case CMD_KICK:
	case CMD_BAN:
	case CMD_UNBAN:
	case CMD_BANS:
	case CMD_KEY:
	case CMD_LIMIT:
	case CMD_INVITE:
	case CMD_MODE:
		cmd_room(w, c, &cmd);
		break;
	case CMD_INVALID: {
		char err[PROTO_LINE_MAX];
		stat_add(&w->stats.commands_invalid, 1);
		route_send_line(w, c, err, proto_command_error(err, sizeof(err), cmd.error));
		break;
	}
	}
}

/* The summary timer: every summary now due goes out; the timer is set for the next one. */
static void session_run_summaries(struct timer *t, void *ctx)
{
	(void)t;
	struct worker *w = ctx;
	struct summary due[SUMMARIES_PER_TURN];
	int64_t next;
	int n = dir_take_summaries(dir_of(w), w->now_ms, due, SUMMARIES_PER_TURN, &next);
	note_summary_due(w, next);
	for (int i = 0; i < n; i++) {
		char line[PROTO_LINE_MAX];
		size_t len = proto_summary(line, sizeof(line), due[i].entered, due[i].left);
		tell_room(w, due[i].room, line, len, 0);
		dir_room_put(dir_of(w), due[i].room);
	}
}

/* ---- operators' orders ---------------------------------------------------------------------- */

/* What travels in a MSG_CONTROL message's data. */
struct control {
	uint32_t op; /* enum session_control */
	char reason[BAN_REASON_MAX + 1];
	/* SESSION_ROOM_KICK: the room it is put out of (nothing happens if it left), by whom */
	uint64_t room_id;
	char room[ROOM_MAX_LEN + 1];
	char by[NAME_MAX_LEN + 1];
};

int session_control_send(struct hub *hub, unsigned worker, uint64_t id, enum session_control op,
			 const char *reason)
{
	struct msg *m = msg_new(sizeof(struct control), 1);
	if (m == NULL)
		return -ENOMEM;
	struct control *ctl = (struct control *)(void *)m->data;
	ctl->op = op;
	snprintf(ctl->reason, sizeof(ctl->reason), "%s", reason);
	m->kind = MSG_CONTROL;
	m->target = id;
	route_push_outside(hub, m, worker);
	return 0;
}

int session_room_kick_send(struct hub *hub, unsigned worker, uint64_t id, uint64_t room_id,
			   const char *room, const char *by, const char *reason)
{
	struct msg *m = msg_new(sizeof(struct control), 1);
	if (m == NULL)
		return -ENOMEM;
	struct control *ctl = (struct control *)(void *)m->data;
	memset(ctl, 0, sizeof(*ctl));
	ctl->op = SESSION_ROOM_KICK;
	ctl->room_id = room_id;
	snprintf(ctl->room, sizeof(ctl->room), "%s", room);
	snprintf(ctl->by, sizeof(ctl->by), "%s", by);
	snprintf(ctl->reason, sizeof(ctl->reason), "%s", reason);
	m->kind = MSG_CONTROL;
	m->target = id;
	route_push_outside(hub, m, worker);
	return 0;
}

/* A room's operator put c out of one of its rooms (SESSION_ROOM_KICK): a line user is told
 * why and goes to the lobby; an IRC user leaves that channel alone (the room's KICK told it
 * and the others). */
static void room_kicked(struct worker *w, struct conn *c, const struct control *ctl)
{
	struct room *r = NULL;
	for (uint32_t i = 0; i < c->user.nrooms && r == NULL; i++)
		if (user_room_at(&c->user, i)->room->id == ctl->room_id)
			r = user_room_at(&c->user, i)->room;
	if (r == NULL)
		return; /* it left meanwhile */
	stat_add(&w->stats.room_kicks, 1);
	if (c->irc != NULL) {
		leave_room(w, c, r, NULL, 0, false, 0);
		if (c->user.room != NULL)
			cluster_user_moved(w, c, false);
		return;
	}
	char line[PROTO_LINE_MAX + BAN_REASON_MAX];
	route_send_line(w, c, line,
			proto_notice(line, sizeof(line), "You were kicked from %s by %s%s%s%s.",
				     ctl->room, ctl->by, ctl->reason[0] != '\0' ? " (" : "",
				     ctl->reason, ctl->reason[0] != '\0' ? ")" : ""));
	if (enter_room(w, c, DEFAULT_ROOM, strlen(DEFAULT_ROOM), true, NULL) == 0 && !c->closing)
		cluster_user_moved(w, c, false);
}

/* The user leaves with the room told why ("kicked: REASON"), is told, and is closed. */
static void session_on_control(struct worker *w, struct msg *m)
{
	const struct control *ctl = (const struct control *)(const void *)m->data;
	struct conn *c = route_find_user(w, m->target);
	if (c == NULL || c->closing)
		return;
	if (ctl->op == SESSION_ROOM_KICK) {
		room_kicked(w, c, ctl);
		return;
	}
	char why[BAN_REASON_MAX + 16], line[PROTO_LINE_MAX];
	const char *what = ctl->op == SESSION_BANNED ? "banned" : "kicked";
	int n = snprintf(why, sizeof(why), "%s%s%s", what, ctl->reason[0] != '\0' ? ": " : "",
			 ctl->reason);
	stat_add(&w->stats.kicked, 1);
	session_end(w, c, why, n > 0 ? (size_t)n : 0, true);
	route_send_line(w, c, line,
			ctl->op == SESSION_BANNED ? proto_banned(line, sizeof(line), ctl->reason, 0)
						  : proto_kicked(line, sizeof(line), ctl->reason));
	worker_close_conn(w, c, CLOSE_KICKED);
}

/* ---- running a room (roomops.h) ------------------------------------------------------------- */

/* The longest line about a room: a topic or a kick's reason in it. */
#define ROOM_LINE_MAX (PROTO_LINE_MAX + ROOMOPS_TOPIC_MAX + BAN_REASON_MAX)

/* Asks t's worker to put t out of room r (to the lobby), told that `by` did it and why. */
static void room_kick_send(struct worker *w, const struct roomops_target *t, const struct room *r,
			   const char *by, const char *reason, size_t reason_len)
{
	struct msg *m = msg_new(sizeof(struct control), 1);
	if (m == NULL) {
		stat_add(&w->stats.nomem_dropped, 1);
		return;
	}
	struct control *ctl = (struct control *)(void *)m->data;
	memset(ctl, 0, sizeof(*ctl));
	ctl->op = SESSION_ROOM_KICK;
	ctl->room_id = r->id;
	memcpy(ctl->room, r->name, sizeof(ctl->room));
	snprintf(ctl->by, sizeof(ctl->by), "%s", by);
	memcpy(ctl->reason, reason, reason_len);
	m->kind = MSG_CONTROL;
	m->target = t->id;
	route_hand_to(w, m, t->worker);
}

/* An order refused: told why (and counted when c is no operator). */
static void room_refused(struct worker *w, struct conn *c, const struct room *r, int rc,
			 const char *noun, const char *arg, size_t n)
{
	char line[ROOM_LINE_MAX];
	size_t len;
	int k = (int)n;
	c->irc_refusal = rc;
	if (rc == ROOMOPS_E_NOTOP) {
		stat_add(&w->stats.room_not_operator, 1);
		if (c->irc != NULL) /* an IRC user is told with 482 (ircd.c) */
			return;
		len = proto_error(line, sizeof(line), "you are not an operator of %s.", r->name);
	} else if (rc == ROOMOPS_E_NOUSER) {
		if (c->irc != NULL) /* 441 (ircd.c) */
			return;
		len = proto_error(line, sizeof(line), "no such %s in %s: %.*s.", noun, r->name, k,
				  arg);
	} else if (rc == ROOMOPS_E_INVALID) {
		if (c->irc != NULL) /* 525, 696 (ircd.c) */
			return;
		len = proto_error(line, sizeof(line), "not a valid %s: %.*s.", noun, k, arg);
	} else if (rc == ROOMOPS_E_LISTFULL) {
		stat_add(&w->stats.room_list_full, 1);
		worker_log_gated(w, GATE_ROOMOPS, LOG_INFO, c->id,
				 "%s: %s list full (--room-lists %d)", r->name, noun,
				 w->hub->cfg.room_lists);
		if (c->irc != NULL) /* 478 (ircd.c) */
			return;
		len = proto_error(line, sizeof(line), "too many %ss in %s (at most %d).", noun,
				  r->name, w->hub->cfg.room_lists);
	} else if (rc == -EEXIST) {
		len = proto_error(line, sizeof(line), "%.*s is already banned from %s.", k, arg,
				  r->name);
	} else {
		tell_nomem(w, c, PROTO_NOMEM_STAY);
		return;
	}
	route_send_line(w, c, line, len);
}

/* "* NAME sets mode +X [PARAM] in ROOM." to the room. */
static void room_tell_mode(struct worker *w, struct conn *c, struct room *r, bool on, char mode,
			   const char *param, size_t n)
{
	char line[ROOM_LINE_MAX];
	size_t len =
	    proto_notice(line, sizeof(line), "%s sets mode %c%c%s%.*s in %s.", c->user.name,
			 on ? '+' : '-', mode, n > 0 ? " " : "", (int)n, param, r->name);
	if (!tell_room(w, r, line, len, 0))
		tell_nomem(w, c, PROTO_NOMEM_ROOM_NOT_TOLD);
}

static void room_topic(struct worker *w, struct conn *c, struct room *r, const char *text, size_t n)
{
	char line[ROOM_LINE_MAX];
	if (n == 0) {
		char topic[ROOMOPS_TOPIC_MAX + 1], by[NAME_MAX_LEN + 1];
		if (roomops_topic(dir_of(w), r, topic, by))
			send_topic(w, c, r->name, topic, by);
		else
			route_send_line(
			    w, c, line,
			    proto_notice(line, sizeof(line), "No topic in %s.", r->name));
		return;
	}
	bool clear = n == 1 && text[0] == '-';
	int rc = roomops_set_topic(dir_of(w), r, &c->user, text, clear ? 0 : n);
	if (rc < 0) {
		room_refused(w, c, r, rc, "topic (at most 200 bytes)", "", 0);
		return;
	}
	char value[ROOM_LINE_MAX];
	int vn = snprintf(value, sizeof(value), "%lld\t%s\t%.*s", (long long)time(NULL),
			  c->user.name, (int)n, text);
	cluster_room_change(w, c, r, clear ? 'd' : 's', "t", 1, value, clear ? 0 : (size_t)vn,
			    false, "", 0);
	size_t len = clear ? proto_notice(line, sizeof(line), "%s cleared the topic of %s.",
					  c->user.name, r->name)
			   : proto_notice(line, sizeof(line), "%s set the topic of %s: %.*s",
					  c->user.name, r->name, (int)n, text);
	if (!tell_room(w, r, line, len, 0))
		tell_nomem(w, c, PROTO_NOMEM_ROOM_NOT_TOLD);
}

static void room_member(struct worker *w, struct conn *c, struct room *r, char mode, bool on,
			const char *name, size_t n)
{
	struct roomops_target t;
	int rc = roomops_set_member(dir_of(w), r, &c->user, mode, on, name, n, &t);
	/* the op of the change: o O v V (roomops_apply_locked) */
	char op = (char)(on ? mode : mode - 'a' + 'A');
	if (rc == ROOMOPS_E_NOUSER && cluster_linked(w)) { /* a member of another node? */
		char line[ROOM_LINE_MAX];
		size_t len =
		    proto_notice(line, sizeof(line), "%s sets mode %c%c %.*s in %s.", c->user.name,
				 on ? '+' : '-', mode, (int)n, name, r->name);
		cluster_room_change(w, c, r, op, name, n, "", 0, true, line, len);
		return;
	}
	if (rc < 0) {
		room_refused(w, c, r, rc, "member", name, n);
		return;
	}
	cluster_room_change(w, c, r, op, t.name, strlen(t.name), "", 0, false, "", 0);
	room_tell_mode(w, c, r, on, mode, t.name, strlen(t.name));
}

/* A kick's reason: at most BAN_REASON_MAX bytes, cut on a character boundary. */
static size_t reason_cut(const char *reason, size_t n)
{
	if (n <= BAN_REASON_MAX)
		return n;
	n = BAN_REASON_MAX;
	while (n > 0 && ((unsigned char)reason[n] & 0xC0) == 0x80)
		n--;
	return n;
}

/* The room is told, then t's worker puts t out of it. */
static void room_put_out(struct worker *w, struct conn *c, struct room *r,
			 const struct roomops_target *t, const char *reason, size_t n)
{
	char line[ROOM_LINE_MAX];
	size_t len =
	    proto_notice(line, sizeof(line), "%s kicked %s from %s%s%.*s%s.", c->user.name, t->name,
			 r->name, n > 0 ? " (" : "", (int)n, reason, n > 0 ? ")" : "");
	if (!tell_room(w, r, line, len, 0))
		tell_nomem(w, c, PROTO_NOMEM_ROOM_NOT_TOLD);
	worker_log_gated(w, GATE_ROOMOPS, LOG_INFO, c->id, "%s kicked %s from %s", c->user.name,
			 t->name, r->name);
	room_kick_send(w, t, r, c->user.name, reason, n);
}

static void room_kick(struct worker *w, struct conn *c, struct room *r, const struct command *cmd)
{
	struct roomops_target t;
	int rc = roomops_kick(dir_of(w), r, &c->user, cmd->arg, cmd->arg_len, &t);
	if (rc == ROOMOPS_E_NOUSER && cluster_linked(w)) { /* a member of another node? */
		char line[ROOM_LINE_MAX], value[NAME_MAX_LEN + BAN_REASON_MAX + 2];
		size_t rn = reason_cut(cmd->text, cmd->text_len);
		size_t len =
		    proto_notice(line, sizeof(line), "%s kicked %.*s from %s%s%.*s%s.",
				 c->user.name, (int)cmd->arg_len, cmd->arg, r->name,
				 rn > 0 ? " (" : "", (int)rn, cmd->text, rn > 0 ? ")" : "");
		int vn =
		    snprintf(value, sizeof(value), "%s\t%.*s", c->user.name, (int)rn, cmd->text);
		cluster_room_change(w, c, r, 'k', cmd->arg, cmd->arg_len, value, (size_t)vn, true,
				    line, len);
		return;
	}
	if (rc < 0)
		room_refused(w, c, r, rc, "member", cmd->arg, cmd->arg_len);
	else
		room_put_out(w, c, r, &t, cmd->text, reason_cut(cmd->text, cmd->text_len));
}

/* The most members one /ban kicks (the others stay until they leave: they cannot come back). */
#define BAN_KICKS_MAX 64

static void room_ban(struct worker *w, struct conn *c, struct room *r, const char *mask, size_t n)
{
	struct roomops_target t[BAN_KICKS_MAX];
	size_t nt = 0;
	int rc = roomops_ban(dir_of(w), r, &c->user, mask, n, t, BAN_KICKS_MAX, &nt);
	if (rc < 0) {
		room_refused(w, c, r, rc, "ban", mask, n);
		return;
	}
	char field[ROOMOPS_MASK_MAX + 3];
	int fn = snprintf(field, sizeof(field), "b:%.*s", (int)n, mask);
	/* the value: who banned (the other nodes put their matching members out) */
	cluster_room_change(w, c, r, 's', field, (size_t)fn, c->user.name, strlen(c->user.name),
			    false, "", 0);
	room_tell_mode(w, c, r, true, 'b', mask, n);
	for (size_t i = 0; i < nt; i++)
		room_put_out(w, c, r, &t[i], "banned", strlen("banned"));
}

static void room_unban(struct worker *w, struct conn *c, struct room *r, const char *mask, size_t n)
{
	int rc = roomops_unban(dir_of(w), r, &c->user, mask, n);
	if (rc < 0) {
		room_refused(w, c, r, rc, "ban", mask, n);
		return;
	}
	char field[ROOMOPS_MASK_MAX + 3];
	int fn = snprintf(field, sizeof(field), "b:%.*s", (int)n, mask);
	cluster_room_change(w, c, r, 'd', field, (size_t)fn, "", 0, false, "", 0);
	room_tell_mode(w, c, r, false, 'b', mask, n);
}

static void room_bans(struct worker *w, struct conn *c, struct room *r)
{
	char *buf = malloc(LIST_MAX);
	if (buf == NULL) {
		tell_nomem(w, c, PROTO_NOMEM_NO_LIST);
		return;
	}
	send_lines(w, c, buf, roomops_bans(dir_of(w), r, buf, LIST_MAX));
	free(buf);
}

static void room_key(struct worker *w, struct conn *c, struct room *r, const char *key, size_t n)
{
	bool clear = n == 1 && key[0] == '-';
	int rc = roomops_set_key(dir_of(w), r, &c->user, clear ? NULL : key, n);
	if (rc < 0) {
		room_refused(w, c, r, rc, "key (1-32 letters, digits, _ or -)", key, n);
		return;
	}
	cluster_room_change(w, c, r, clear ? 'd' : 's', "k", 1, key, clear ? 0 : n, false, "", 0);
	room_tell_mode(w, c, r, !clear, 'k', "", 0);
}

static void room_limit(struct worker *w, struct conn *c, struct room *r, long limit)
{
	int rc = roomops_set_limit(dir_of(w), r, &c->user, (uint32_t)limit);
	char n[24];
	int k = snprintf(n, sizeof(n), "%ld", limit);
	if (rc < 0) {
		room_refused(w, c, r, rc, "limit", n, (size_t)k);
		return;
	}
	cluster_room_change(w, c, r, limit > 0 ? 's' : 'd', "l", 1, n, (size_t)k, false, "", 0);
	room_tell_mode(w, c, r, limit > 0, 'l', n, limit > 0 ? (size_t)k : 0);
}

static void room_invite(struct worker *w, struct conn *c, struct room *r, const char *name,
			size_t n)
{
	int rc = roomops_invite(dir_of(w), r, &c->user, name, n);
	if (rc < 0) {
		room_refused(w, c, r, rc, "invitation", name, n);
		return;
	}
	char field[NAME_MAX_LEN + 3] = "i:";
	name_fold(name, n, field + 2); /* valid (roomops_invite): at most NAME_MAX_LEN */
	cluster_room_change(w, c, r, 's', field, n + 2, "1", 1, false, "", 0);
	char line[ROOM_LINE_MAX], spelled[NAME_MAX_LEN + 1];
	route_send_line(
	    w, c, line,
	    proto_notice(line, sizeof(line), "%.*s is invited to %s.", (int)n, name, r->name));
	uint64_t id;
	unsigned worker;
	if (!dir_lookup(dir_of(w), name, n, &id, &worker, spelled))
		return;
	size_t len = proto_notice(line, sizeof(line), "%s invites you to %s: /join %s",
				  c->user.name, r->name, r->name);
	struct msg *m = route_msg_new(w, len, true);
	if (m == NULL) {
		stat_add(&w->stats.nomem_dropped, 1);
		return;
	}
	memcpy(m->data, line, len);
	route_publish_direct(w, m, id, worker);
}

/* /mode alone: "* Modes of ROOM: +nt. Operators: a, b. Voiced: c." */
static void room_show_modes(struct worker *w, struct conn *c, struct room *r)
{
	char modes[64], ops[LIST_MAX / 4], voiced[LIST_MAX / 4];
	roomops_modes(dir_of(w), r, true, modes, sizeof(modes));
	roomops_names(dir_of(w), r, 'o', ops, sizeof(ops));
	roomops_names(dir_of(w), r, 'v', voiced, sizeof(voiced));
	char *line = malloc(LIST_MAX);
	if (line == NULL) {
		tell_nomem(w, c, PROTO_NOMEM_NO_LIST);
		return;
	}
	route_send_line(w, c, line,
			proto_notice(line, LIST_MAX, "Modes of %s: %s. Operators: %s. Voiced: %s.",
				     r->name, modes, ops[0] ? ops : "none",
				     voiced[0] ? voiced : "none"));
	free(line);
}

/* /mode +X [PARAM] or -X [PARAM] (IRC's letters). */
static void room_mode(struct worker *w, struct conn *c, struct room *r, const struct command *cmd)
{
	if (cmd->arg_len == 0) {
		room_show_modes(w, c, r);
		return;
	}
	bool on = cmd->arg[0] == '+';
	char mode = cmd->arg[1];
	const char *p = cmd->text;
	size_t n = cmd->text_len;
	long limit;
	switch (mode) {
	case 'o':
	case 'v':
		if (n == 0)
			break;
		room_member(w, c, r, mode, on, p, n);
		return;
	case 'b':
		if (n == 0)
			room_bans(w, c, r);
		else if (on)
			room_ban(w, c, r, p, n);
		else
			room_unban(w, c, r, p, n);
		return;
	case 'k':
		if (on && n == 0)
			break;
		room_key(w, c, r, on ? p : "-", on ? n : 1);
		return;
	case 'l':
		if (!on) {
			room_limit(w, c, r, 0);
			return;
		}
		limit = command_limit_value(p, n);
		if (limit <= 0)
			break;
		room_limit(w, c, r, limit);
		return;
	default: {
		int rc =
		    n == 0 ? roomops_set_mode(dir_of(w), r, &c->user, mode, on) : ROOMOPS_E_INVALID;
		if (rc < 0) {
			room_refused(w, c, r, rc, "mode", cmd->arg, cmd->arg_len);
			return;
		}
		char field[4] = { 'm', ':', mode, '\0' };
		cluster_room_change(w, c, r, on ? 's' : 'd', field, 3, "1", 1, false, "", 0);
		room_tell_mode(w, c, r, on, mode, "", 0);
		return;
	}
	}
	char line[PROTO_LINE_MAX];
	stat_add(&w->stats.commands_invalid, 1);
	route_send_line(
	    w, c, line,
	    proto_error(line, sizeof(line), "usage: /mode %c%c PARAM.", on ? '+' : '-', mode));
}

static void cmd_room(struct worker *w, struct conn *c, const struct command *cmd)
{
	struct room *r = c->user.room;
	const char *a = cmd->arg;
	size_t n = cmd->arg_len;
	if (r == NULL || room_cut_off(w, c, r, cmd))
		return;
	switch (cmd->kind) {
	case CMD_TOPIC:
		room_topic(w, c, r, a, n);
		break;
	case CMD_OP:
	case CMD_DEOP:
		room_member(w, c, r, 'o', cmd->kind == CMD_OP, a, n);
		break;
	case CMD_VOICE:
	case CMD_DEVOICE:
		room_member(w, c, r, 'v', cmd->kind == CMD_VOICE, a, n);
		break;
	case CMD_KICK:
		room_kick(w, c, r, cmd);
		break;
	case CMD_BAN:
		room_ban(w, c, r, a, n);
		break;
	case CMD_UNBAN:
		room_unban(w, c, r, a, n);
		break;
	case CMD_BANS:
		room_bans(w, c, r);
		break;
	case CMD_KEY:
		room_key(w, c, r, a, n);
		break;
	case CMD_LIMIT:
		room_limit(w, c, r, cmd->count);
		break;
	case CMD_INVITE:
		room_invite(w, c, r, a, n);
		break;
	default:
		room_mode(w, c, r, cmd);
		break;
	}
}

int session_attach(struct worker *w)
{
	struct sessions *s = calloc(1, sizeof(*s));
	if (s == NULL)
		return -ENOMEM;
	timer_init(&s->summary_timer, session_run_summaries);
	w->sessions = s;
	route_set_control(w, session_on_control);
	route_set_history(w, show_history_late);
	return 0;
}

void session_detach(struct worker *w)
{
	free(w->sessions);
	w->sessions = NULL;
}
