/*
 * cluster.h - one chat over several chatd nodes, through Redis 7 (--cluster; docs/cluster.md).
 *
 * The node's link to Redis is two connections of worker 0's event loop (the link worker): a
 * subscriber (the channels of the rooms the node has members in) and a pipelined command
 * connection (one Lua script per room line: INCR the room's sequence number, PUBLISH the line).
 * A room line or notice is handed to the link worker through its inbox, published, and
 * delivered on every node, this one included, as it comes back from Redis, so every user of a
 * room sees one order. While the link is down, lines reach this node's users only, users are
 * told so once, and the link reconnects with back-off and subscribes again. Rooms' state
 * (topic, modes, key, limit, bans, invitations, founder) is the cluster's: a copy of every
 * room's on every node (under the directory lock), changes through Redis (cluster_room_change).
 *
 * Threads: struct cluster belongs to the link worker, except the statistics and `up`
 * (atomics: written by the link worker, read by every worker and the admin thread) and the
 * copy of every room's state (`replica`): changed by the link worker alone, with the directory
 * lock held; read by every worker under that lock (a room new to the node is seeded from it
 * in dir_join_key), and by the link worker without it.
 */
#ifndef CHATD_CLUSTER_H
#define CHATD_CLUSTER_H

#include "hub.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct worker;
struct conn;
struct room;
struct msg;

#define CLUSTER_COUNTERS(X)                                                                  \
	X(reconnects, "times the link to Redis was opened again after it went down")         \
	X(published, "room lines and notices published to Redis")                            \
	X(received, "room lines and notices received from Redis and delivered")              \
	X(dropped, "lines not published: the queue to Redis was full")                       \
	X(local_only, "lines delivered on this node only while the link was down")           \
	X(probe_failures, "subscriptions found dead by the self-probe and reopened")         \
	X(names_lost, "users renamed to a guest: their name was taken on another node")      \
	X(remote_private, "private messages sent to users on other nodes")                   \
	X(seeds, "rooms new to this node whose history was read from Redis")                 \
	X(seeds_failed, "rooms new to this node whose history could not be read from Redis") \
	X(state_changes, "changes of rooms' state received from Redis and applied")          \
	X(errors, "error replies from Redis")

struct cluster_stats {
	bool configured; /* --cluster given */
	bool up;         /* the link is up: lines go through Redis */
	uint64_t subscriptions;
	uint64_t peers;          /* other nodes heard from within 6 s (ALIVE_MS) */
	uint64_t publish_us_sum; /* publish latency: command sent to Redis's answer */
	uint64_t publish_count;
	uint64_t publish_us_max;
#define CLUSTER_STAT_FIELD(name, help) uint64_t name;
	CLUSTER_COUNTERS(CLUSTER_STAT_FIELD)
#undef CLUSTER_STAT_FIELD
};

/* Sets up w's part (before its thread starts): every worker learns where room lines go, the
 * link worker (index 0) also gets the link, which connects in its first iteration. Returns 0
 * or -errno after logging one line (a host that does not resolve, an unreadable password
 * file). cluster_detach frees it after the thread is joined. No-op without --cluster. */
int cluster_attach(struct worker *w);
void cluster_detach(struct worker *w);

/* --check-config: whether what cluster_attach would read is readable (the password file).
 * Returns 0, or -errno after logging one line. */
int cluster_check_config(const struct config *cfg);

/* Publishes m, a room line or notice the session formatted (m->exclude honoured), to room r:
 * through Redis to every node when the link is up, to this node's users otherwise. Takes m
 * over, like route_publish_room. from: the connection id of the user who said it (told when
 * the line is dropped because the queue to Redis is full), or 0. */
void cluster_publish_room(struct worker *w, struct room *r, struct msg *m, uint64_t from);

/*
 * Users across nodes (each on c's worker, w; a no-op or false without a link that is up).
 * Redis keeps every user's name (claimed, unique across nodes), room and node, for /nick,
 * /msg, /who and /rooms on any node.
 */
bool cluster_linked(const struct worker *w); /* the link is up, as w sees it */
/* c is new (newcomer) or entered another room. */
void cluster_user_moved(struct worker *w, struct conn *c, bool newcomer);
void cluster_user_gone(struct worker *w, struct conn *c);
/* /nick NAME: true when the claim went to Redis; the answer (the rename, or "taken") comes
 * later. False: the caller renames on this node alone. */
bool cluster_nick(struct worker *w, struct conn *c, const char *name, size_t n);
/* c was renamed from old: counted, logged and told to each of its rooms. False when one could
 * not be told (out of memory). */
bool cluster_renamed(struct worker *w, struct conn *c, const char *old);
/* /msg TO TEXT for a user not on this node: true when it went to Redis (the echo or "no such
 * user" comes later). */
bool cluster_direct(struct worker *w, struct conn *c, const char *to, size_t to_n, const char *text,
		    size_t text_n);
/* c signs in as name[0..n) (auth.h: the token is valid and the name obeys the rules): a guest
 * holding the name, on any worker or node, is renamed first; refused (and told) when a
 * signed-in user has it. The answer may come later. */
void cluster_sign_in(struct worker *w, struct conn *c, const char *name, size_t n);

/* An operator's order (operator.h: "kick NAME\tREASON", "ban ...", "unban TARGET") for every
 * other node, through Redis; this node carried it out already. Any thread (the admin thread).
 * False without --cluster or without memory. */
bool cluster_control(struct hub *hub, const char *order, size_t n);
enum cluster_ask { CLUSTER_WHO, CLUSTER_ROOMS };
/* /who or /rooms over every node: true when asked (the answer comes later). */
bool cluster_ask(struct worker *w, struct conn *c, enum cluster_ask what);

/*
 * Rooms' state across nodes (docs/cluster.md, "Room state"): a change an operator made on this
 * node (roomops.h; applied here already) for every node, through Redis. op and field/value as
 * roomops_apply_locked reads them ('f': c founded r). remote: field is a member of another
 * node (a mode or a kick): Redis checks it is in the room, then the notice (a room line, may
 * be empty) is published; c is told when no such member is found. No-op without --cluster.
 */
void cluster_room_change(struct worker *w, const struct conn *c, const struct room *r, char op,
			 const char *field, size_t fn, const char *value, size_t vn, bool remote,
			 const char *notice, size_t nn);
/* --cluster and the link is down: rooms' state cannot be changed (w's view). */
bool cluster_cut_off(const struct worker *w);

/* The link's figures, for /metrics and /healthz (any thread). */
void cluster_get_stats(const struct hub *hub, struct cluster_stats *out);

#endif
