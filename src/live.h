/*
 * live.h - the configuration in effect while chatd runs: SIGHUP (reload.c) publishes a new one,
 * every worker reads it without a lock.
 *
 * A snapshot is an immutable struct config on the heap. The reloading thread publishes a new
 * one (live_publish); each worker takes the current one when it wakes up (live_enter, once per
 * loop iteration) and reads its fields as plain memory until its next wake-up. So one
 * iteration sees one consistent configuration (--rate-limit and --rate-burst from the same
 * reload), and the hot path reads a field through a pointer, as it read hub->cfg before.
 *
 * Reclamation is quiescent-state based (the "QSBR" flavour of RCU, as in liburcu): a worker
 * keeps no snapshot pointer from one iteration to the next, so its wake-up is a quiescent
 * state. A replaced snapshot is retired with the epoch its replacement was published at, and
 * freed once every worker has announced (live_enter) an epoch at least that high. A worker
 * asleep in epoll_wait delays only the freeing, never the publisher: retired snapshots wait
 * for the next publish, or live_destroy. reload.c kicks every worker after a publish, so in
 * practice one snapshot at most waits.
 *
 * Memory orders, all in live.c (each pair named on both sides):
 *   current   publisher: store release, after filling the snapshot; worker: load acquire, so
 *             the snapshot's contents are visible to whoever sees the pointer.
 *   epoch     publisher: fetch_add release, after storing `current`; worker: load acquire,
 *             before loading `current`, so a worker that sees epoch E sees the snapshot of E
 *             or a newer one.
 *   seen[i]   worker i: store release of the epoch it loaded, after taking its snapshot;
 *             publisher: load acquire, so everything worker i did with an older snapshot
 *             happens before the publisher frees it.
 *
 * Threads: live_init, live_publish, live_current and live_destroy run on one thread at a
 * time (the server's: start, SIGHUP, stop); live_enter(l, i) only on worker i's thread.
 * live_destroy only once no worker runs.
 */
#ifndef CHATD_LIVE_H
#define CHATD_LIVE_H

#include "common.h"
#include "config.h"

#include <stdatomic.h>
#include <stdint.h>

struct live_snapshot;

/* One worker's announcement, written every iteration: padded so that no two workers' `seen`
 * share a cache line (a stride of a line; no alignment needed for that). */
struct live_reader {
	_Atomic uint64_t seen; /* the epoch of its last wake-up */
	char pad[CACHE_LINE - sizeof(uint64_t)];
};

struct live {
	_Atomic(struct live_snapshot *) current;
	_Atomic uint64_t epoch; /* publications so far */
	unsigned nreaders;
	struct live_snapshot *retired; /* replaced, not yet freed; the publisher's only */
	/* SIGHUP outcomes (reload.c writes them, /metrics reads them; relaxed: counters) */
	_Atomic uint64_t reloads;       /* configurations applied */
	_Atomic uint64_t reload_errors; /* reloads refused: the running configuration kept */
	struct live_reader readers[CONFIG_MAX_WORKERS];
};

/* The first snapshot, a copy of cfg, for nreaders workers. Returns 0 or -ENOMEM. */
int live_init(struct live *l, const struct config *cfg, unsigned nreaders);

/* Publishes a copy of cfg; the workers take it at their next wake-up. Frees the retired
 * snapshots every worker is done with. Returns 0, or -ENOMEM (nothing changed). */
int live_publish(struct live *l, const struct config *cfg);

/* Worker `reader`'s wake-up: announces it holds no older snapshot and returns the current
 * one, valid until its next call. */
const struct config *live_enter(struct live *l, unsigned reader);

/* The current snapshot, for the publishing thread (and for set-up, before workers run). */
const struct config *live_current(struct live *l);

/* Frees every snapshot; no worker may run. */
void live_destroy(struct live *l);

#endif
