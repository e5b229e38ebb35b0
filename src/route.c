/*
 * route.c - see route.h.
 */
#include "route.h"
#include "proto.h"
#include "common.h"
#include "feed.h"
#include "inbox.h"
#include "irc.h"
#include "log.h"
#include "map.h"
#include "msg.h"
#include "room.h"
#include "worker.h"

#include <assert.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define INBOX_PER_TURN 4096  /* inbox messages per iteration */
#define INBOX_HIGH     65536 /* our messages queued in one other inbox: stop reading */

struct router {
	struct map users;          /* connection id -> struct conn, for users in the chat */
	struct map rooms;          /* room id -> struct local_room (room.h) */
	bool inbox_more;           /* the inbox budget ran out with messages left */
	uint64_t tags;             /* route_new_tag's count */
	route_uplink_fn uplink;    /* MSG_UPLINK's handler, or NULL */
	route_control_fn control;  /* MSG_CONTROL's handler, or NULL */
	route_room_watch_fn watch; /* first/last local member of a room, or NULL */
	route_history_fn history;  /* shows a member its room's history, or NULL */
	/*
	 * Inbox accounting, for backpressure: pushed_to[j] counts messages this worker pushed
	 * into worker j's inbox; popped_from[i] counts messages this worker popped that worker
	 * i created. Each array is written by its owner only (relaxed stores) and read by the
	 * others (relaxed loads), so pushed_to[j] - workers[j].popped_from[me] is how deep our
	 * share of j's inbox is, give or take messages in flight.
	 */
	_Alignas(CACHE_LINE) _Atomic uint64_t pushed_to[CONFIG_MAX_WORKERS];
	_Alignas(CACHE_LINE) _Atomic uint64_t popped_from[CONFIG_MAX_WORKERS];
};

/* The IRC forms of a room line: with or without server-time's and message-tags' tags. */
#define IRC_VARIANTS 4

/* The copies of one message made for the recipients that read another form of it: a JSON
 * feed event, an IRC message (of a room line: one per variant serves every member). */
struct copies {
	struct msg *json;
	struct msg *irc[IRC_VARIANTS];
};

/* ---- queues ------------------------------------------------------------------------------- */

/*
 * Queues m for c. --max-outbuf limits what the queue holds in memory (conn.h, out_charge).
 * For a reader whose socket is writable the check waits for the end-of-iteration flush, so
 * a reader that keeps up is never cut off for a burst that arrived within one iteration. A
 * reader whose socket is full (it stopped reading) cannot take anything before then, so it
 * is cut as soon as its queue would pass the limit: a queue never holds more than
 * --max-outbuf for a reader that does not read.
 */
static inline void route_queue(struct worker *w, struct conn *c, struct msg *m)
{
	if (c->close_reason == CLOSE_SLOW || c->close_reason == CLOSE_MEMORY)
		return; /* its output is being thrown away */
	if (!c->writable && c->out_charge + msg_charge(m) > conn_out_max(c, w->cfg->max_outbuf)) {
		worker_close_conn(w, c, CLOSE_SLOW);
		return;
	}
	if (conn_enqueue(c, m) < 0) {
		worker_close_conn(w, c, CLOSE_NOMEM);
		return;
	}
	worker_mark_dirty(w, c);
}

/* m as a JSON feed event for c (feed.h): a one-slot message this worker holds once (the
 * caller lets go of it with msg_local_put), or NULL when out of memory. What it says depends
 * on c only through the room (`room`: m's, for a room line), so one copy serves all of a
 * worker's JSON recipients of m. */
static struct msg *route_json_of(struct worker *w, const struct conn *c, const struct msg *m,
				 const char *room)
{
	struct feed_ctx x = {
		.room = m->kind == MSG_ROOM && m->room != 0 ? room : NULL,
		.me = c->user.name,
		.seq = m->seq,
		.time_ms = m->time_ms != 0 ? m->time_ms : clock_wall_ms(),
	};
	size_t n = feed_render(NULL, 0, m->data, m->len, &x);
	struct msg *j = msg_new(n, 1);
	if (j == NULL)
		return NULL;
	feed_render(j->data, n, m->data, m->len, &x);
	j->json = true;
	msg_set_workers(j, 1);
	msg_local_begin(j, w->index);
	return j;
}

/*
 * m as an IRC message for c (irc.h): a one-slot message this worker holds once, like
 * route_json_of's; for a room line it says nothing that depends on c but the room and the
 * tags c asked for, so one copy per variant (irc_variant) serves all of a worker's IRC members
 * of the room (*keep). Lines with no IRC form (a
 * /msg's echo), and every line while c registers, are not sent: NULL with *none set.
 */
static struct msg *route_irc_of(struct worker *w, const struct conn *c, const struct msg *m,
				const char *room, bool *none)
{
	char out[IRC_OUT_MAX];
	struct irc_ctx x = {
		.server = IRC_SERVER,
		.me = c->user.name,
		.room = m->kind == MSG_ROOM && m->room != 0 ? room : NULL,
		.echo = c->irc_echo,
		.time_ms = !c->irc_time      ? 0
			   : m->time_ms != 0 ? m->time_ms
					     : clock_wall_ms(),
		.tags = c->irc_tags,
		.seq = m->kind == MSG_ROOM ? m->seq : 0,
	};
	size_t n = c->irc_quiet ? 0
		   : m->tagmsg  ? irc_tagmsg(out, sizeof(out), m->data, m->len, &x)
				: irc_render(out, sizeof(out), m->data, m->len, &x);
	*none = n == 0;
	if (n == 0)
		return NULL;
	struct msg *r = msg_new(n, 1);
	if (r == NULL)
		return NULL;
	memcpy(r->data, out, n);
	r->raw = true;
	msg_set_workers(r, 1);
	msg_local_begin(r, w->index);
	return r;
}

/* Which of a room line's IRC copies c takes (struct copies). */
static unsigned irc_variant(const struct conn *c)
{
	return (c->irc_time ? 1U : 0U) | (c->irc_tags ? 2U : 0U);
}

/* Queues m for c, an IRC user; keep[] holds the copies of a room line for the next members. A
 * notice sent to each of its sender's rooms (m->target: its tag, msg.h) reaches an IRC user
 * in several of them once. */
static void route_enqueue_irc(struct worker *w, struct conn *c, struct msg *m, const char *name,
			      struct msg *keep[IRC_VARIANTS])
{
	bool room = m->kind == MSG_ROOM && m->room != 0;
	unsigned v = irc_variant(c);
	if (room && !c->irc_echo && irc_said_by(m->data, m->len, c->user.name))
		return; /* its own line: an IRC client shows it already */
	if (room && m->target != 0) {
		if (c->irc_once == m->target)
			return;
		c->irc_once = m->target;
	}
	struct msg *r = room ? keep[v] : NULL;
	bool none = false;
	if (r == NULL && (r = route_irc_of(w, c, m, name, &none)) == NULL) {
		if (!none)
			worker_close_conn(w, c, CLOSE_NOMEM);
		return;
	}
	route_queue(w, c, r);
	if (room)
		keep[v] = r;
	else
		msg_local_put(r, w->index);
}

void route_send_kept_irc(struct worker *w, struct conn *c, const char *room, const struct msg *said,
			 uint64_t seq, int64_t time_ms)
{
	char out[IRC_SERVER_TAGS_MAX + IRC_LINE_MAX];
	struct irc_ctx x = { .server = IRC_SERVER,
			     .me = c->user.name,
			     .room = room,
			     .time_ms = time_ms > 0 ? time_ms : clock_wall_ms(),
			     .tags = c->irc_tags,
			     .seq = seq };
	size_t n = irc_render(out, sizeof(out), said->data, said->len, &x);
	if (n > 0)
		route_send_raw(w, c, out, n);
}

/* route_enqueue for IRC and JSON feed users: their own form of m (made once per worker and
 * message: k keeps it for the next recipient; the caller puts it when done). room: the name of
 * m's room, for a room line. */
static void route_enqueue_form(struct worker *w, struct conn *c, struct msg *m, const char *room,
			       struct copies *k)
{
	if (c->irc != NULL && !m->raw && !m->json) {
		route_enqueue_irc(w, c, m, room, k->irc);
		return;
	}
	struct msg **json = &k->json;
	if (!c->feed_json || m->raw || m->json) {
		route_queue(w, c, m);
		return;
	}
	if (*json == NULL && (*json = route_json_of(w, c, m, room)) == NULL) {
		worker_close_conn(w, c, CLOSE_NOMEM);
		return;
	}
	route_queue(w, c, *json);
}

/*
 * Queues m for c in c's form: a line for text users as it is, another form for IRC and JSON
 * feed users (route_enqueue_form; room: the name of m's room, for a room line). Inline: the text user's path is the fan-out's inner loop,
 * and a call with its register saves there cost a tenth of a delivery (callgrind).
 */
static inline void route_enqueue(struct worker *w, struct conn *c, struct msg *m, const char *room,
				 struct copies *k)
{
	if (c->irc == NULL && !c->feed_json)
		route_queue(w, c, m);
	else
		route_enqueue_form(w, c, m, room, k);
}

/* Lets go of the copies route_enqueue made, if it made any. */
static void route_copies_done(struct worker *w, const struct copies *k)
{
	if (k->json != NULL)
		msg_local_put(k->json, w->index);
	for (unsigned v = 0; v < IRC_VARIANTS; v++)
		if (k->irc[v] != NULL)
			msg_local_put(k->irc[v], w->index);
}

void route_send_msg(struct worker *w, struct conn *c, struct msg *m)
{
	struct copies k = { NULL, { NULL } };
	msg_set_workers(m, 1);
	msg_local_begin(m, w->index);
	route_enqueue(w, c, m, NULL, &k);
	route_copies_done(w, &k);
	msg_local_put(m, w->index);
}

static void route_send(struct worker *w, struct conn *c, const void *bytes, size_t len, bool raw,
		       bool json)
{
	struct msg *m = msg_new(len, 1);
	if (m == NULL) {
		worker_close_conn(w, c, CLOSE_NOMEM);
		return;
	}
	memcpy(m->data, bytes, len);
	m->raw = raw;
	m->json = json;
	route_send_msg(w, c, m);
}

void route_send_line(struct worker *w, struct conn *c, const char *line, size_t len)
{
	route_send(w, c, line, len, false, false);
}

void route_send_raw(struct worker *w, struct conn *c, const void *bytes, size_t len)
{
	route_send(w, c, bytes, len, true, false);
}

void route_send_event(struct worker *w, struct conn *c, const char *event, size_t len)
{
	route_send(w, c, event, len, false, true);
}

/* ---- fan-out ------------------------------------------------------------------------------ */

/* The end of a fan-out of m on this worker: its copies let go, its deliveries counted, the
 * worker's hold on m given back. */
static void route_deliver_done(struct worker *w, struct msg *m, const struct copies *k,
			       uint32_t queued)
{
	route_copies_done(w, k);
	stat_add(&w->stats.deliveries, queued);
	if (queued > 0)
		w->lines_pending++;
	msg_local_put(m, w->index);
}

/* Whether c takes an IRC TAGMSG (msg.tagmsg): an IRC user with message-tags. */
static bool route_takes_tagmsg(const struct conn *c)
{
	return c != NULL && !c->closing && c->irc != NULL && c->irc_tags;
}

/* An IRC TAGMSG (msg.tagmsg) to this worker's recipients of it (a room's members but
 * m->exclude, or m->target) that take it; nobody else sees it. Apart from route_deliver so
 * that the fan-out's inner loop stays as it is. */
static void route_deliver_tagmsg(struct worker *w, struct msg *m)
{
	struct router *rt = w->router;
	struct copies k = { NULL, { NULL } };
	uint32_t queued = 0;
	msg_local_begin(m, w->index);
	struct local_room *lr = m->kind == MSG_ROOM ? room_local_find(&rt->rooms, m->room) : NULL;
	for (uint32_t i = 0; lr != NULL && i < lr->n; i++) {
		struct conn *c = lr->members[i];
		if (c->id != m->exclude && route_takes_tagmsg(c)) {
			route_enqueue_irc(w, c, m, lr->room->name, k.irc);
			queued++;
		}
	}
	struct conn *one = m->kind == MSG_DIRECT ? map_get(&rt->users, m->target) : NULL;
	if (route_takes_tagmsg(one)) {
		route_enqueue_irc(w, one, m, NULL, k.irc);
		queued++;
	}
	route_deliver_done(w, m, &k, queued);
}

/* Fans m out to this worker's recipients. The worker holds one reference to m on entry. */
static void route_deliver(struct worker *w, struct msg *m)
{
	if (m->tagmsg) {
		route_deliver_tagmsg(w, m);
		return;
	}
	struct router *rt = w->router;
	struct copies k = { NULL, { NULL } }; /* m for JSON feed and IRC users (route_enqueue) */
	msg_local_begin(m, w->index);
	uint32_t queued = 0;
	switch ((enum msg_kind)m->kind) {
	case MSG_ROOM: {
		struct local_room *lr = room_local_find(&rt->rooms, m->room);
		/* whether some member may have had m in its history block (history.h) */
		bool seen = lr != NULL && m->hpos != 0 && m->hpos <= lr->seen_max;
		for (uint32_t i = 0; lr != NULL && i < lr->n; i++) {
			struct conn *c = lr->members[i];
			/* a line the user already got with the room's history */
			if (c->id == m->exclude || c->closing ||
			    (seen && m->hpos <= conn_room_of(c, lr->room)->seen_hpos))
				continue;
			route_enqueue(w, c, m, lr->room->name, &k);
			queued++;
		}
		break;
	}
	case MSG_DIRECT: {
		struct conn *c = map_get(&rt->users, m->target);
		if (c != NULL && !c->closing) {
			route_enqueue(w, c, m, NULL, &k);
			queued++;
		}
		break;
	}
	case MSG_ALL: {
		size_t pos = 0;
		uint64_t id;
		void *v;
		while (map_next(&rt->users, &pos, &id, &v))
			if (!((struct conn *)v)->closing) {
				route_enqueue(w, v, m, NULL, &k);
				queued++;
			}
		break;
	}
	case MSG_UPLINK:
		if (rt->uplink != NULL)
			rt->uplink(w, m);
		break;
	case MSG_CONTROL:
		if (rt->control != NULL)
			rt->control(w, m);
		break;
	}
	route_deliver_done(w, m, &k, queued);
}

struct msg *route_msg_new(struct worker *w, size_t len, bool one_worker)
{
	struct msg *m = msg_new(len, one_worker ? 1 : w->hub->nworkers);
	if (m == NULL)
		log_error((int)w->index, 0, "out of memory for a message of %zu bytes", len);
	return m;
}

/* Hands m to the workers in `mask` (this one included if its bit is set). */
/* Hands m to the workers of mask; m's holders are already counted. */
static void route_push(struct worker *w, struct msg *m, uint64_t mask)
{
	struct hub *hub = w->hub;
	m->origin = w->index;
	for (uint64_t rest = mask & ~(1ULL << w->index); rest != 0; rest &= rest - 1) {
		unsigned i = (unsigned)__builtin_ctzll(rest);
		stat_add(&w->router->pushed_to[i], 1);
		if (inbox_push(&hub->workers[i].inbox, msg_node(m, i)))
			stat_add(&w->stats.wakeups_sent, 1);
	}
	if (mask & (1ULL << w->index))
		route_deliver(w, m);
}

static void route_publish_mask(struct worker *w, struct msg *m, uint64_t mask)
{
	unsigned targets = (unsigned)__builtin_popcountll(mask);
	msg_set_workers(m, targets > 0 ? targets : 1);
	if (targets == 0) {
		msg_release(m);
		return;
	}
	route_push(w, m, mask);
}

/* Whether m, a room line, goes into the room's history: what users said (proto.h), with a
 * sequence number of the cluster's, or any when the node numbers its rooms' lines itself
 * (with --cluster, a line delivered while the link is down has none: it is not kept, so that
 * the room's numbers stay the cluster's). */
static bool route_keeps(const struct worker *w, const struct msg *m)
{
	return !m->tagmsg && proto_said_by_user(m->data, m->len) &&
	       (m->seq != 0 || w->hub->cfg.cluster[0] == '\0');
}

/*
 * A room line goes only to the workers that have members in the room. acquire: pairs with
 * the release in room_local_add, so a worker whose bit we see has its member array set up.
 * A line kept in the room's history is added and the mask read under the history's lock: a
 * user joining either finds the line in the history, or its worker's bit in the mask.
 */
void route_publish_room(struct worker *w, struct room *r, struct msg *m)
{
	assert(m->nslots == w->hub->nworkers); /* any worker may have to hold it */
	m->kind = MSG_ROOM;
	m->room = r->id;
	m->time_ms = clock_wall_ms();
	if (r->hist.max_lines == 0 || !route_keeps(w, m)) {
		route_publish_mask(w, m,
				   atomic_load_explicit(&r->worker_mask, memory_order_acquire));
		return;
	}
	pthread_mutex_lock(&r->hist.lock);
	bool kept = history_add(&r->hist, m, m->seq, m->time_ms);
	uint64_t mask = atomic_load_explicit(&r->worker_mask, memory_order_acquire);
	unsigned holders = (unsigned)__builtin_popcountll(mask) + (kept ? 1 : 0);
	msg_set_workers(m, holders > 0 ? holders : 1);
	pthread_mutex_unlock(&r->hist.lock);
	if (holders == 0)
		msg_release(m);
	else
		route_push(w, m, mask);
}

void route_publish_all(struct worker *w, struct msg *m)
{
	assert(m->nslots == w->hub->nworkers);
	m->kind = MSG_ALL;
	uint64_t all = w->hub->nworkers == 64 ? ~0ULL : (1ULL << w->hub->nworkers) - 1;
	route_publish_mask(w, m, all);
}

void route_hand_to(struct worker *w, struct msg *m, unsigned to)
{
	route_publish_mask(w, m, 1ULL << to);
}

uint64_t route_new_tag(struct worker *w)
{
	return (++w->router->tags << 6) | w->index; /* CONFIG_MAX_WORKERS: 64 */
}

void route_set_uplink(struct worker *w, route_uplink_fn fn)
{
	w->router->uplink = fn;
}

void route_set_control(struct worker *w, route_control_fn fn)
{
	w->router->control = fn;
}

void route_push_outside(struct hub *hub, struct msg *m, unsigned to)
{
	m->origin = MSG_ORIGIN_OUTSIDE; /* counted in nobody's pushed_to: see route_drain_inbox */
	msg_set_workers(m, 1);
	inbox_push(&hub->workers[to].inbox, msg_node(m, to));
}

void route_set_room_watch(struct worker *w, route_room_watch_fn fn)
{
	w->router->watch = fn;
}

void route_set_history(struct worker *w, route_history_fn fn)
{
	w->router->history = fn;
}

void route_set_seen(struct worker *w, struct conn *c, struct room *r, uint64_t pos)
{
	struct conn_room *cr = conn_room_of(c, r);
	struct local_room *lr = room_local_find(&w->router->rooms, r->id);
	if (cr == NULL || lr == NULL)
		return;
	cr->seen_hpos = pos;
	if (pos > lr->seen_max)
		lr->seen_max = pos;
}

void route_show_history(struct worker *w, uint64_t room_id, uint64_t pos)
{
	struct router *rt = w->router;
	struct local_room *lr = room_local_find(&rt->rooms, room_id);
	for (uint32_t i = 0; lr != NULL && rt->history != NULL && i < lr->n; i++) {
		struct conn *c = lr->members[i];
		if (!c->closing && conn_room_of(c, lr->room)->seen_hpos < pos)
			rt->history(w, c, lr->room);
	}
}

void route_publish_direct(struct worker *w, struct msg *m, uint64_t target, unsigned target_worker)
{
	m->kind = MSG_DIRECT;
	m->target = target;
	m->time_ms = clock_wall_ms();
	route_publish_mask(w, m, 1ULL << target_worker);
}

/* ---- the inbox hook ----------------------------------------------------------------------- */

static void route_drain_inbox(struct worker *w)
{
	struct router *rt = w->router;
	for (int i = 0; i < INBOX_PER_TURN && w->lines_pending < WORKER_FLUSH_BATCH_LINES; i++) {
		struct inbox_node *n = inbox_pop(&w->inbox);
		if (n == NULL) {
			rt->inbox_more = false;
			return;
		}
		struct msg *m = msg_from_node(n);
		stat_add(&w->stats.inbox_msgs, 1);
		if (m->origin != MSG_ORIGIN_OUTSIDE) /* no worker counted it pushed */
			stat_add(&rt->popped_from[m->origin], 1);
		route_deliver(w, m);
	}
	rt->inbox_more = true;
}

/*
 * Backpressure: when a consumer falls behind, our share of its inbox grows. Past INBOX_HIGH
 * messages we stop reading our clients (TCP flow control then slows the senders) until it
 * catches up, so no inbox grows without bound.
 */
static void route_check_backpressure(struct worker *w)
{
	struct hub *hub = w->hub;
	bool paused = false;
	for (unsigned j = 0; j < hub->nworkers && !paused; j++) {
		if (j == w->index)
			continue;
		uint64_t pushed =
		    atomic_load_explicit(&w->router->pushed_to[j], memory_order_relaxed);
		uint64_t popped = atomic_load_explicit(
		    &hub->workers[j].router->popped_from[w->index], memory_order_relaxed);
		paused = pushed - popped > INBOX_HIGH;
	}
	if (paused)
		stat_add(&w->stats.input_pauses, 1);
	w->input_paused = paused;
}

/* The worker's hook: what other workers routed to us goes out before anything is read. */
static bool route_on_wake(struct worker *w, void *arg)
{
	(void)arg;
	route_drain_inbox(w);
	route_check_backpressure(w);
	return w->router->inbox_more;
}

uint64_t route_inbox_depth(const struct hub *hub, unsigned j)
{
	uint64_t pushed = 0, popped = 0;
	for (unsigned i = 0; i < hub->nworkers; i++) {
		pushed += atomic_load_explicit(&hub->workers[i].router->pushed_to[j],
					       memory_order_relaxed);
		popped += atomic_load_explicit(&hub->workers[j].router->popped_from[i],
					       memory_order_relaxed);
	}
	return pushed >= popped ? pushed - popped : 0;
}

/* ---- users and rooms ---------------------------------------------------------------------- */

int route_add_user(struct worker *w, struct conn *c)
{
	return map_put(&w->router->users, c->id, c);
}

struct conn *route_find_user(struct worker *w, uint64_t id)
{
	return map_get(&w->router->users, id);
}

void route_remove_user(struct worker *w, struct conn *c)
{
	map_del(&w->router->users, c->id);
}

int route_enter(struct worker *w, struct conn *c, struct room *r)
{
	struct router *rt = w->router;
	bool first = room_local_find(&rt->rooms, r->id) == NULL;
	int rc = room_local_add(&rt->rooms, &w->hub->dir, w->index, r, c);
	if (rc == 0 && first && rt->watch != NULL)
		rt->watch(w, r->name, true);
	return rc;
}

void route_leave(struct worker *w, struct conn *c, struct room *r)
{
	struct router *rt = w->router;
	char name[ROOM_MAX_LEN + 1];
	memcpy(name, r->name, sizeof(name)); /* r may go with this worker's reference */
	uint64_t id = r->id;
	bool had = room_local_find(&rt->rooms, id) != NULL;
	room_local_remove(&rt->rooms, &w->hub->dir, w->index, r, c);
	if (had && rt->watch != NULL && room_local_find(&rt->rooms, id) == NULL)
		rt->watch(w, name, false);
}

/* ---- set-up ------------------------------------------------------------------------------- */

int route_attach(struct worker *w)
{
	struct router *rt = aligned_alloc(CACHE_LINE, sizeof(*rt));
	if (rt == NULL)
		return -ENOMEM;
	memset(rt, 0, sizeof(*rt));
	int rc = worker_add_hook(w, WORKER_HOOK_WAKE, route_on_wake, rt);
	if (rc < 0) {
		free(rt);
		return rc;
	}
	w->router = rt;
	return 0;
}

void route_detach(struct worker *w)
{
	struct router *rt = w->router;
	if (rt == NULL)
		return;
	struct inbox_node *n;
	while ((n = inbox_pop(&w->inbox)) != NULL) /* every thread is joined: nobody pushes */
		msg_release(msg_from_node(n));
	map_free(&rt->users); /* empty: every connection was closed before the loop ended */
	map_free(&rt->rooms);
	free(rt);
	w->router = NULL;
}
