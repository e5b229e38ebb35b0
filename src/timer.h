/*
 * timer.h - a worker's deadlines: one mechanism for every kind of timeout (a new connection's
 * first bytes, an HTTP head, a drain before close, the pause after EMFILE, the summaries of
 * large rooms, trimming output rings, sampling the heap near --max-memory, reconnecting to
 * Redis, pinging silent WebSocket users).
 *
 * Each kind has its own FIFO list. A kind is armed with one fixed timeout (or has at most one
 * timer, like the worker's own), so appending keeps each list sorted by deadline: arming,
 * stopping and expiring are O(1), and the earliest deadline is the earliest of the lists'
 * heads. timer_arm asserts the order.
 *
 * A timer is embedded in its owner (a connection, a worker) and calls the owner's function
 * when it expires. Owned by one worker; only its thread touches its timers.
 */
#ifndef CHATD_TIMER_H
#define CHATD_TIMER_H

#include "list.h"

#include <stdbool.h>
#include <stdint.h>

enum timer_kind {
	TIMER_SNIFF,     /* a new connection: the line protocol's welcome waits for HTTP */
	TIMER_HANDSHAKE, /* an HTTP request head being read: --handshake-timeout */
	TIMER_DRAIN,     /* a closing connection flushing what it is owed: --drain-timeout */
	TIMER_ACCEPT,    /* accepting paused after EMFILE */
	TIMER_SUMMARY,   /* the next summary of a large room's notices */
	TIMER_TRIM,      /* giving idle output rings back */
	TIMER_MEMORY,    /* sampling the heap while near --max-memory */
	TIMER_CLUSTER,   /* the next attempt to open the link to Redis */
	TIMER_BEAT,      /* the cluster link's heartbeat and self-probe */
	TIMER_WS_PING,   /* a WebSocket user's silence: a ping, then a close: --ws-ping-interval */
	TIMER_IRC_PING,  /* an IRC user's silence: a PING, then a close: --irc-ping-interval */
	TIMER_KINDS
};

struct timer;

/* Called when t expires (t is no longer armed); ctx is what timers_run was given. */
typedef void (*timer_fn)(struct timer *t, void *ctx);

struct timer {
	struct list_node link; /* in its kind's list while armed */
	int64_t due_ms;        /* CLOCK_MONOTONIC milliseconds */
	timer_fn fire;
	uint8_t kind; /* enum timer_kind, while armed */
	bool armed;
};

struct timers {
	struct list_node kinds[TIMER_KINDS];
};

void timers_init(struct timers *s);

/* Sets the function t calls when it expires; t is not armed. */
void timer_init(struct timer *t, timer_fn fire);

/* Arms t (re-arms it when armed) to expire at due_ms. Within one kind, deadlines must not go
 * backwards: arm a kind with one fixed timeout, or keep a single timer of that kind. */
void timer_arm(struct timers *s, struct timer *t, enum timer_kind kind, int64_t due_ms);

void timer_stop(struct timer *t);

static inline bool timer_armed(const struct timer *t)
{
	return t->armed;
}

/* The earlier of two deadlines, where 0 means "none": the one rule for combining them. */
static inline int64_t timer_earliest(int64_t a, int64_t b)
{
	if (a == 0)
		return b;
	if (b == 0)
		return a;
	return a < b ? a : b;
}

/* The earliest deadline of any armed timer, or 0 when none is armed. */
int64_t timers_next(const struct timers *s);

/* Fires, earliest first, every timer due at now_ms, at most `budget` of them; returns how many
 * fired. A timer armed by a fire function for now_ms or earlier fires in the same call. */
int timers_run(struct timers *s, int64_t now_ms, int budget, void *ctx);

#endif
