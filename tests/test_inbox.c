/*
 * test_inbox.c - the MPSC inbox: FIFO, no loss or duplication under concurrent producers,
 * and the eventfd wake-up protocol never leaves a node unnoticed while the consumer sleeps.
 */
#include "inbox.h"
#include "stress.h"

#include <criterion/criterion.h>
#include <poll.h>

struct item {
	struct inbox_node node;
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
			/* cppcheck-suppress unreadVariable ; read back through item_of() below */
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

/* ---- concurrency (scenarios in stress.c, shared with the TSan driver) ---------------------- */

Test(inbox, four_producers_nothing_lost_duplicated_or_reordered, .timeout = 120)
{
	const char *err = stress_inbox(4, 100000, false);
	cr_assert_null(err, "%s", err);
}

Test(inbox, wakeup_protocol_never_sleeps_with_work_queued, .timeout = 120)
{
	const char *err = stress_inbox(4, 100000, true);
	cr_assert_null(err, "%s", err);
}
