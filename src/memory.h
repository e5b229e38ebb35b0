/*
 * memory.h - the server-wide memory cap, --max-memory, in the spirit of Redis 7's
 * maxmemory-clients: the live heap is sampled every MEMORY_SAMPLE_MS by whichever worker gets
 * there first; while it is over the cap, new connections are refused ("server busy") and the
 * workers cut the connections that cost the most, largest first, until it is back under.
 *
 * "Largest first" across workers without a global sort: like Redis's client-eviction
 * buckets, costs are compared in powers of two. The first sample over the cap starts a
 * round with a floor at the largest bucket; every further sample that is still over halves
 * the floor (down to MEMORY_FLOOR_MIN). In each round every worker cuts its own
 * connections that cost at least the floor, most expensive first, while the estimated excess
 * lasts (each cut subtracts what it frees). So no connection is cut while another costs
 * twice as much, and the next sample, from the real heap, decides whether to go on.
 *
 * Threads: every field is atomic. Any worker samples (the one that wins the
 * compare-exchange on next_sample_ms); every worker reads `over`, `round`, `floor` and
 * updates `excess`; SIGHUP (reload.c, the main thread) may change `cap` and `top`. Relaxed
 * order throughout: these are estimates that the next sample corrects, and no other memory
 * is published through them.
 */
#ifndef CHATD_MEMORY_H
#define CHATD_MEMORY_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MEMORY_SAMPLE_MS 10
#define MEMORY_FLOOR_MIN ((size_t)4096)

struct memory_guard {
	_Atomic size_t cap;             /* --max-memory bytes; 0 = off */
	_Atomic size_t top;             /* the first round's floor: the largest bucket */
	_Atomic int64_t next_sample_ms; /* when the next sample is due */
	_Atomic uint64_t heap;          /* the last sample, bytes */
	_Atomic bool over;              /* the last sample was over the cap */
	_Atomic bool near;              /* the last sample was over half the cap */
	_Atomic int64_t excess;         /* bytes still to free in this round (estimate) */
	_Atomic uint64_t floor;         /* this round cuts connections costing at least this */
	_Atomic uint32_t round;         /* incremented by each sample that is over the cap */
};

/* cap: --max-memory (0 = off); largest: the most one connection can cost (its limits). */
void memory_guard_init(struct memory_guard *g, size_t cap, size_t largest);

/* A reload's new cap and connection limits (any thread; the next sample goes by them). */
void memory_guard_set(struct memory_guard *g, size_t cap, size_t largest);

static inline size_t memory_guard_cap(struct memory_guard *g)
{
	return atomic_load_explicit(&g->cap, memory_order_relaxed);
}

/*
 * Samples the heap when MEMORY_SAMPLE_MS have passed since the last sample (at most one
 * thread does, whoever calls first). Returns true when this call started a new round of
 * cuts: the caller wakes every worker so idle ones take part.
 */
bool memory_guard_sample(struct memory_guard *g, int64_t now_ms);

/*
 * Takes up to `cost` bytes off the round's excess. Returns false, taking nothing, when the
 * excess is already covered: the connection need not be cut.
 */
bool memory_guard_claim(struct memory_guard *g, size_t cost);

static inline bool memory_guard_over(struct memory_guard *g)
{
	return atomic_load_explicit(&g->over, memory_order_relaxed);
}

/* Above half the cap, workers sample every MEMORY_SAMPLE_MS even when idle: the heap may
 * have crossed the cap in the last moments of activity, after the last sample. */
static inline bool memory_guard_near(struct memory_guard *g)
{
	return atomic_load_explicit(&g->near, memory_order_relaxed);
}

/* Bytes allocated and not freed, all threads (mallinfo2, or the sanitizer's allocator). */
size_t memory_heap_bytes(void);

/* The default cap: a quarter of physical memory, or of the cgroup's limit when lower. */
size_t memory_default_cap(void);

#endif
