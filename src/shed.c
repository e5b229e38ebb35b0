/*
 * shed.c - see shed.h.
 */
#include "shed.h"
#include "memory.h"
#include "worker.h"

#include <errno.h>
#include <stdlib.h>

#define SHED_BATCH 64 /* connections one worker may cut per round */

/* One worker's part in --max-memory. */
struct shedder {
	uint32_t round;      /* the last round this worker took part in */
	struct timer sample; /* TIMER_MEMORY: the next sample while near the cap */
};

struct shed_pick {
	struct conn *c;
	size_t cost;
};

/* Keeps the SHED_BATCH most expensive connections in picks[0..*n), most expensive first. */
static void shed_consider(struct shed_pick *picks, int *n, struct conn *c, size_t cost)
{
	int i = *n < SHED_BATCH ? (*n)++ : SHED_BATCH;
	while (i > 0 && picks[i - 1].cost < cost) {
		if (i < SHED_BATCH)
			picks[i] = picks[i - 1];
		i--;
	}
	if (i < SHED_BATCH)
		picks[i] = (struct shed_pick){ c, cost };
}

/*
 * One round of --max-memory (memory.h): cuts this worker's connections that cost at least the
 * round's floor, the most expensive first, while the round's excess is not yet covered.
 * Runs once per round per worker; a round comes every MEMORY_SAMPLE_MS while over the cap.
 */
static void shed_round(struct worker *w, struct shedder *s)
{
	struct memory_guard *g = &w->hub->mem;
	uint32_t round = atomic_load_explicit(&g->round, memory_order_relaxed);
	if (round == s->round)
		return;
	s->round = round;
	size_t floor = (size_t)atomic_load_explicit(&g->floor, memory_order_relaxed);
	struct shed_pick picks[SHED_BATCH];
	int n = 0;
	for (struct list_node *l = w->conns.next; l != &w->conns; l = l->next) {
		struct conn *c = container_of(l, struct conn, conn_link);
		size_t cost = worker_conn_cost(w, c);
		if (!c->closing && cost >= floor)
			shed_consider(picks, &n, c, cost);
	}
	for (int i = 0; i < n && memory_guard_claim(g, picks[i].cost); i++) {
		stat_add(&w->stats.memory_evictions, 1);
		worker_close_conn(w, picks[i].c, CLOSE_MEMORY);
	}
}

/* Samples the heap when due; a sample over the cap starts a round in every worker (they are
 * woken to take part). While near the cap, the timer keeps the samples coming. */
static void shed_sample(struct worker *w, struct shedder *s)
{
	struct hub *hub = w->hub;
	if (memory_guard_sample(&hub->mem, w->now_ms))
		for (unsigned i = 0; i < hub->nworkers; i++)
			if (i != w->index)
				inbox_kick(&hub->workers[i].inbox);
	if (memory_guard_near(&hub->mem) && !timer_armed(&s->sample))
		timer_arm(&w->timers, &s->sample, TIMER_MEMORY, w->now_ms + MEMORY_SAMPLE_MS);
}

static void shed_sample_due(struct timer *t, void *ctx)
{
	shed_sample(ctx, container_of(t, struct shedder, sample));
}

static bool shed_on_wake(struct worker *w, void *arg)
{
	struct shedder *s = arg;
	shed_sample(w, s);
	if (memory_guard_over(&w->hub->mem))
		shed_round(w, s);
	return false;
}

int shed_attach(struct worker *w)
{
	struct shedder *s = calloc(1, sizeof(*s));
	if (s == NULL)
		return -ENOMEM;
	timer_init(&s->sample, shed_sample_due);
	int rc = worker_add_hook(w, WORKER_HOOK_WAKE, shed_on_wake, s);
	if (rc < 0)
		free(s);
	return rc;
}

void shed_detach(struct worker *w)
{
	free(worker_hook_arg(w, shed_on_wake));
}
