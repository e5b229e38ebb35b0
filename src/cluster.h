/*
 * cluster.h - one chat over several chatd nodes, through Redis 7 (--cluster; docs/cluster.md).
 *
 * The node's link to Redis is two connections of worker 0's event loop (the link worker): a
 * subscriber (the channels of the rooms the node has members in) and a pipelined command
 * connection (one Lua script per room line: INCR the room's sequence number, PUBLISH the line).
 * A room line or notice is handed to the link worker through its inbox, published, and
 * delivered on every node, this one included, as it comes back from Redis, so every user of a
 * room sees one order. While the link is down, lines reach this node's users only, users are
 * told so once, and the link reconnects with back-off and subscribes again.
 *
 * Threads: struct cluster belongs to the link worker, except the statistics and `up`
 * (atomics: written by the link worker, read by every worker and the admin thread).
 */
#ifndef CHATD_CLUSTER_H
#define CHATD_CLUSTER_H

#include "hub.h"

#include <stdbool.h>
#include <stdint.h>

struct worker;
struct room;
struct msg;

#define CLUSTER_COUNTERS(X)                                                          \
	X(reconnects, "times the link to Redis was opened again after it went down") \
	X(published, "room lines and notices published to Redis")                    \
	X(received, "room lines and notices received from Redis and delivered")      \
	X(dropped, "lines not published: the queue to Redis was full")               \
	X(local_only, "lines delivered on this node only while the link was down")   \
	X(probe_failures, "subscriptions found dead by the self-probe and reopened") \
	X(errors, "error replies from Redis")

struct cluster_stats {
	bool configured; /* --cluster given */
	bool up;         /* the link is up: lines go through Redis */
	uint64_t subscriptions;
	uint64_t peers;          /* other nodes heard from within 10 s */
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

/* Publishes m, a room line or notice the session formatted (m->exclude honoured), to room r:
 * through Redis to every node when the link is up, to this node's users otherwise. Takes m
 * over, like route_publish_room. */
void cluster_publish_room(struct worker *w, struct room *r, struct msg *m);

/* The link's figures, for /metrics and /healthz (any thread). */
void cluster_get_stats(const struct hub *hub, struct cluster_stats *out);

#endif
