/*
 * route.h - routing: where a message goes and how it gets there. A line is formatted once into
 * a message (msg.h) and published to a room or to one user; the publisher hands a reference to
 * every worker that has a recipient (through that worker's lock-free inbox, inbox.h) and fans
 * it out to its own recipients directly. Each worker appends the reference to its recipients'
 * output queues (conn.h), where --max-outbuf applies; the loop writes them at its next flush.
 *
 * Also routing's: the users and room members each worker delivers to, and backpressure (a
 * worker whose messages pile up in another's inbox stops reading its clients until it drains).
 *
 * Per-worker state (struct router) is owned by its worker's thread, except the inbox
 * accounting counters, which the other workers and the admin thread read (relaxed).
 * Functions taking a worker run on that worker's thread.
 */
#ifndef CHATD_ROUTE_H
#define CHATD_ROUTE_H

#include "conn.h"
#include "directory.h"
#include "hub.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct worker;
struct msg;

/* Sets up w's routing state and registers its hook (before w's thread starts). Returns 0 or
 * -errno. route_detach frees it after the thread is joined (every user gone). */
int route_attach(struct worker *w);
void route_detach(struct worker *w);

/*
 * A message from route_msg_new is filled in by the caller, then handed to exactly one publish
 * function, which takes it over. One for route_publish_direct is made with one_worker (one
 * slot); one for route_publish_room without (a slot per worker). NULL when out of memory
 * (logged).
 */
struct msg *route_msg_new(struct worker *w, size_t len, bool one_worker);
void route_publish_room(struct worker *w, struct room *r, struct msg *m);
void route_publish_direct(struct worker *w, struct msg *m, uint64_t target, unsigned target_worker);

/* Every user of every worker gets m (a server notice). */
void route_publish_all(struct worker *w, struct msg *m);

/* Hands m, of any kind, to worker `to` (one slot will do), which delivers it by its kind. */
void route_hand_to(struct worker *w, struct msg *m, unsigned to);

/* What a worker does with MSG_UPLINK messages (the cluster link's worker: publish through
 * Redis); m is held by the caller for the call only. Set before the thread starts. */
typedef void (*route_uplink_fn)(struct worker *w, struct msg *m);
void route_set_uplink(struct worker *w, route_uplink_fn fn);

/* What a worker does with MSG_CONTROL messages (an operator's orders); m is held by the
 * caller for the call only. Set before the thread starts. */
typedef void (*route_control_fn)(struct worker *w, struct msg *m);
void route_set_control(struct worker *w, route_control_fn fn);

/* Hands m (one slot, made by msg_new) to worker `to` from a thread that is no worker (the
 * admin thread): the inbox takes any producer. Takes m over. */
void route_push_outside(struct hub *hub, struct msg *m, unsigned to);

/* A tag for the copies of one notice sent to several rooms (msg.h target: an IRC user in
 * several of them gets one): never 0, unique server-wide. */
uint64_t route_new_tag(struct worker *w);

/* Called with a room's name when this worker's first member enters it (first) or its last
 * leaves (!first; the room may be gone already): the cluster link subscribes the node to the
 * rooms it has members in. Set before the thread starts. */
typedef void (*route_room_watch_fn)(struct worker *w, const char *room, bool first);
void route_set_room_watch(struct worker *w, route_room_watch_fn fn);

/* How a worker shows user c room r's history again (session.c: the block a newcomer gets),
 * for route_show_history. Set before the thread starts. */
typedef void (*route_history_fn)(struct worker *w, struct conn *c, struct room *r);
void route_set_history(struct worker *w, route_history_fn fn);

/* c, a member of r, took r's history up to position pos: r's lines at or before it are not
 * sent to c again (conn_room.seen_hpos). */
void route_set_seen(struct worker *w, struct conn *c, struct room *r, uint64_t pos);

/* Each of this worker's members of room `room_id` who took the room's history before
 * position pos (conn_room.seen_hpos: they entered before the cluster's link put older lines in
 * front of it, history_seed) is shown it now. */
void route_show_history(struct worker *w, uint64_t room_id, uint64_t pos);

/* Sends bytes to one local connection: a line (framed for its protocol, and turned into an
 * event for a JSON feed user: feed.h), or raw bytes sent as they are (HTTP answers, WebSocket
 * frames). Cuts c when it cannot be queued. */
void route_send_line(struct worker *w, struct conn *c, const char *line, size_t len);
void route_send_raw(struct worker *w, struct conn *c, const void *bytes, size_t len);
/* Sends a JSON feed event (feed.h) to c, a JSON feed user, as it is. */
void route_send_event(struct worker *w, struct conn *c, const char *event, size_t len);
/* Queues m, a one-slot message made for c alone (a command to Redis), for c; takes it over. */
void route_send_msg(struct worker *w, struct conn *c, struct msg *m);

/* One kept line of room `room` (its history, `said`) for c, an IRC user with server-time:
 * what was said, as it was said then (a PRIVMSG to #room), at its time (and its msgid with
 * message-tags). Cuts c when it cannot be queued. */
void route_send_kept_irc(struct worker *w, struct conn *c, const char *room, const struct msg *said,
			 uint64_t seq, int64_t time_ms);

/* c is a user of this worker from now on (direct messages reach it) / no longer. */
int route_add_user(struct worker *w, struct conn *c);
/* The user with connection id `id` on w, or NULL (gone, or never here). */
struct conn *route_find_user(struct worker *w, uint64_t id);
void route_remove_user(struct worker *w, struct conn *c);

/* c (whose user the directory has in r) receives r's lines from now on / no longer.
 * route_enter returns 0 or -ENOMEM. */
int route_enter(struct worker *w, struct conn *c, struct room *r);
void route_leave(struct worker *w, struct conn *c, struct room *r);

/* Messages waiting in worker j's inbox (all senders), for /metrics. Any thread. */
uint64_t route_inbox_depth(const struct hub *hub, unsigned j);

#endif
