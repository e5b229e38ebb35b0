/*
 * test_inbox.c - the MPSC inbox: FIFO, no loss or duplication under concurrent producers,
 * and the eventfd wake-up protocol never leaves a node unnoticed while the consumer sleeps.
 */
#include "inbox.h"

#include <criterion/criterion.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>

struct item {
	struct inbox_node node;
	unsigned producer;
	unsigned seq;
};

static struct item *item_of(struct inbox_node *n)
{
	return container_of(n, struct item, node);
}

Test(inbox, single_thread_fifo)
{
	struct inbox q;
	cr_assert_eq(inbox_init(&q), 0);
	cr_assert_null(inbox_pop(&q), "a new inbox is empty");
	struct item items[100];
	for (unsigned round = 0; round < 3; round++) {
		for (unsigned i = 0; i < 100; i++) {
			items[i].seq = i;
			inbox_push(&q, &items[i].node);
		}
		for (unsigned i = 0; i < 100; i++) {
			struct inbox_node *n = inbox_pop(&q);
			cr_assert_not_null(n, "item %u missing", i);
			cr_assert_eq(item_of(n)->seq, i);
		}
		cr_assert_null(inbox_pop(&q));
	}
	inbox_destroy(&q);
}

Test(inbox, single_item_round_trips_through_the_stub)
{
	struct inbox q;
	cr_assert_eq(inbox_init(&q), 0);
	struct item it = { .seq = 7 };
	for (int i = 0; i < 1000; i++) {
		inbox_push(&q, &it.node);
		struct inbox_node *n = inbox_pop(&q);
		cr_assert_eq(n, &it.node);
		cr_assert_null(inbox_pop(&q));
	}
	inbox_destroy(&q);
}

Test(inbox, prepare_sleep_refuses_when_items_are_waiting)
{
	struct inbox q;
	cr_assert_eq(inbox_init(&q), 0);
	cr_assert(inbox_prepare_sleep(&q), "empty inbox: may sleep");
	inbox_awake(&q, false);
	struct item it;
	inbox_push(&q, &it.node);
	cr_assert_not(inbox_prepare_sleep(&q), "an item is waiting: must not sleep");
	cr_assert_eq(inbox_pop(&q), &it.node);
	cr_assert(inbox_prepare_sleep(&q));
	inbox_destroy(&q);
}

Test(inbox, push_to_sleeping_consumer_writes_eventfd_once)
{
	struct inbox q;
	cr_assert_eq(inbox_init(&q), 0);
	struct item a, b;
	cr_assert(inbox_prepare_sleep(&q));
	cr_assert(inbox_push(&q, &a.node), "first push after sleep must wake");
	cr_assert_not(inbox_push(&q, &b.node), "second push is coalesced");
	struct pollfd p = { .fd = q.efd, .events = POLLIN };
	cr_assert_eq(poll(&p, 1, 0), 1, "eventfd readable");
	inbox_awake(&q, true);
	cr_assert_eq(poll(&p, 1, 0), 0, "eventfd reset after awake");
	cr_assert_eq(inbox_pop(&q), &a.node);
	cr_assert_eq(inbox_pop(&q), &b.node);
	inbox_destroy(&q);
}

/* ---- concurrency -------------------------------------------------------------------------- */

#define PRODUCERS 4
#define PER_PRODUCER 100000

struct stress {
	struct inbox q;
	struct item *items; /* PRODUCERS * PER_PRODUCER */
	bool sleepy;        /* consumer blocks on the eventfd whenever prepare_sleep allows */
};

static void *producer_main(void *arg)
{
	void **a = arg;
	struct stress *s = a[0];
	unsigned p = (unsigned)(uintptr_t)a[1];
	for (unsigned i = 0; i < PER_PRODUCER; i++) {
		struct item *it = &s->items[p * PER_PRODUCER + i];
		it->producer = p;
		it->seq = i;
		inbox_push(&s->q, &it->node);
		if ((i & 1023) == 0 && s->sleepy)
			sched_yield(); /* let the consumer fall asleep now and then */
	}
	return NULL;
}

static void run_stress(bool sleepy)
{
	struct stress s = { .sleepy = sleepy };
	cr_assert_eq(inbox_init(&s.q), 0);
	s.items = calloc(PRODUCERS * PER_PRODUCER, sizeof(*s.items));
	cr_assert_not_null(s.items);
	pthread_t th[PRODUCERS];
	void *args[PRODUCERS][2];
	for (unsigned p = 0; p < PRODUCERS; p++) {
		args[p][0] = &s;
		args[p][1] = (void *)(uintptr_t)p;
		pthread_create(&th[p], NULL, producer_main, args[p]);
	}
	unsigned next[PRODUCERS] = { 0 };
	unsigned long got = 0, sleeps = 0;
	while (got < (unsigned long)PRODUCERS * PER_PRODUCER) {
		struct inbox_node *n = inbox_pop(&s.q);
		if (n != NULL) {
			struct item *it = item_of(n);
			cr_assert_lt(it->producer, PRODUCERS);
			cr_assert_eq(it->seq, next[it->producer],
				     "producer %u: got seq %u, expected %u (lost, duplicated or "
				     "reordered)", it->producer, it->seq, next[it->producer]);
			next[it->producer]++;
			got++;
			continue;
		}
		if (!sleepy || !inbox_prepare_sleep(&s.q))
			continue;
		/* Sleeping is only allowed when a pending push is guaranteed to signal. A lost
		 * wake-up would show as this poll timing out with items still to come. */
		sleeps++;
		struct pollfd p = { .fd = s.q.efd, .events = POLLIN };
		int r = poll(&p, 1, 5000);
		cr_assert_eq(r, 1, "consumer slept 5 s with %lu items still expected: lost wake-up",
			     (unsigned long)PRODUCERS * PER_PRODUCER - got);
		inbox_awake(&s.q, true);
	}
	for (unsigned p = 0; p < PRODUCERS; p++) {
		pthread_join(th[p], NULL);
		cr_assert_eq(next[p], PER_PRODUCER);
	}
	cr_assert_null(inbox_pop(&s.q), "nothing extra");
	cr_log_info("consumer slept %lu times", sleeps);
	free(s.items);
	inbox_destroy(&s.q);
}

Test(inbox, four_producers_nothing_lost_duplicated_or_reordered, .timeout = 120)
{
	run_stress(false);
}

Test(inbox, wakeup_protocol_never_sleeps_with_work_queued, .timeout = 120)
{
	run_stress(true);
}
