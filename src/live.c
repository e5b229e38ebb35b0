/*
 * live.c - publishing the configuration in effect to the workers, and freeing the old one
 * once no worker can hold it (see live.h for the scheme and every memory order).
 */
#include "live.h"

#include <errno.h>
#include <stdlib.h>

struct live_snapshot {
	struct config cfg;
	uint64_t retired_at; /* the epoch of its replacement */
	struct live_snapshot *next_retired;
};

static struct live_snapshot *snapshot_new(const struct config *cfg)
{
	struct live_snapshot *s = malloc(sizeof(*s));
	if (s == NULL)
		return NULL;
	s->cfg = *cfg;
	s->retired_at = 0;
	s->next_retired = NULL;
	return s;
}

int live_init(struct live *l, const struct config *cfg, unsigned nreaders)
{
	struct live_snapshot *s = snapshot_new(cfg);
	if (s == NULL)
		return -ENOMEM;
	atomic_init(&l->current, s);
	atomic_init(&l->epoch, 0);
	atomic_init(&l->reloads, 0);
	atomic_init(&l->reload_errors, 0);
	l->nreaders = nreaders < CONFIG_MAX_WORKERS ? nreaders : CONFIG_MAX_WORKERS;
	l->retired = NULL;
	for (unsigned i = 0; i < CONFIG_MAX_WORKERS; i++)
		atomic_init(&l->readers[i].seen, 0);
	return 0;
}

/* The lowest epoch any worker has announced: every snapshot retired at or below it is free. */
static uint64_t oldest_seen(struct live *l)
{
	uint64_t low = UINT64_MAX;
	for (unsigned i = 0; i < l->nreaders; i++) {
		/* acquire: pairs with the release store in live_enter */
		uint64_t e = atomic_load_explicit(&l->readers[i].seen, memory_order_acquire);
		if (e < low)
			low = e;
	}
	return low;
}

/* Frees the retired snapshots no worker can still be reading. */
static void collect(struct live *l)
{
	uint64_t low = oldest_seen(l);
	struct live_snapshot **p = &l->retired;
	while (*p != NULL) {
		struct live_snapshot *s = *p;
		if (s->retired_at <= low) {
			*p = s->next_retired;
			free(s);
		} else {
			p = &s->next_retired;
		}
	}
}

int live_publish(struct live *l, const struct config *cfg)
{
	struct live_snapshot *s = snapshot_new(cfg);
	if (s == NULL)
		return -ENOMEM;
	/* relaxed: only this thread stores `current` */
	struct live_snapshot *old = atomic_load_explicit(&l->current, memory_order_relaxed);
	/* release: pairs with the acquire load in live_enter (the contents before the pointer) */
	atomic_store_explicit(&l->current, s, memory_order_release);
	/* release: pairs with the acquire load in live_enter (the pointer before the epoch) */
	uint64_t epoch = atomic_fetch_add_explicit(&l->epoch, 1, memory_order_release) + 1;
	old->retired_at = epoch;
	old->next_retired = l->retired;
	l->retired = old;
	collect(l);
	return 0;
}

const struct config *live_enter(struct live *l, unsigned reader)
{
	/* acquire: pairs with the fetch_add in live_publish; loaded before `current`, so the
	 * snapshot taken below is the one of this epoch or a newer one */
	uint64_t epoch = atomic_load_explicit(&l->epoch, memory_order_acquire);
	/* acquire: pairs with the store in live_publish */
	struct live_snapshot *s = atomic_load_explicit(&l->current, memory_order_acquire);
	/* release: pairs with the acquire load in oldest_seen; this worker's reads of older
	 * snapshots, all in earlier iterations, come before it */
	atomic_store_explicit(&l->readers[reader].seen, epoch, memory_order_release);
	return &s->cfg;
}

const struct config *live_current(struct live *l)
{
	/* relaxed: called by the publishing thread itself, or before any worker runs */
	return &atomic_load_explicit(&l->current, memory_order_relaxed)->cfg;
}

void live_destroy(struct live *l)
{
	while (l->retired != NULL) {
		struct live_snapshot *s = l->retired;
		l->retired = s->next_retired;
		free(s);
	}
	free(atomic_load_explicit(&l->current, memory_order_relaxed));
	atomic_store_explicit(&l->current, NULL, memory_order_relaxed);
}
