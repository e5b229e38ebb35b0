/*
 * timer.c - see timer.h.
 */
#include "timer.h"
#include "common.h"

#include <assert.h>
#include <stddef.h>

void timers_init(struct timers *s)
{
	for (int k = 0; k < TIMER_KINDS; k++)
		list_init(&s->kinds[k]);
}

void timer_init(struct timer *t, timer_fn fire)
{
	list_init(&t->link);
	t->due_ms = 0;
	t->fire = fire;
	t->kind = 0;
	t->armed = false;
}

static struct timer *first_of(const struct list_node *list)
{
	return list_empty(list) ? NULL : container_of(list->next, struct timer, link);
}

void timer_arm(struct timers *s, struct timer *t, enum timer_kind kind, int64_t due_ms)
{
	timer_stop(t);
	struct list_node *list = &s->kinds[kind];
	/* FIFO order is deadline order: the newest timer of a kind is never due before the
	 * others (one fixed timeout per kind, or one timer of the kind). */
	assert(list_empty(list) || container_of(list->prev, struct timer, link)->due_ms <= due_ms);
	t->due_ms = due_ms;
	t->kind = (uint8_t)kind;
	t->armed = true;
	list_push_back(list, &t->link);
}

void timer_stop(struct timer *t)
{
	if (!t->armed)
		return;
	list_unlink(&t->link);
	t->armed = false;
}

/* The armed timer that expires first, or NULL. */
static struct timer *earliest(const struct timers *s)
{
	struct timer *best = NULL;
	for (int k = 0; k < TIMER_KINDS; k++) {
		struct timer *t = first_of(&s->kinds[k]);
		if (t != NULL && (best == NULL || t->due_ms < best->due_ms))
			best = t;
	}
	return best;
}

int64_t timers_next(const struct timers *s)
{
	struct timer *t = earliest(s);
	return t != NULL ? t->due_ms : 0;
}

int timers_run(struct timers *s, int64_t now_ms, int budget, void *ctx)
{
	int fired = 0;
	struct timer *t;
	while (fired < budget && (t = earliest(s)) != NULL && t->due_ms <= now_ms) {
		timer_stop(t);
		t->fire(t, ctx);
		fired++;
	}
	return fired;
}
