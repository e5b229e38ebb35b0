/*
 * test_timer.c - the per-worker timers on their own: deadlines fire earliest first across
 * kinds and in arming order within one, stopping and re-arming, the earliest deadline the loop
 * sleeps until, the budget of one run, and the rule for combining two deadlines.
 */
#include "timer.h"
#include "common.h"

#include <criterion/criterion.h>

#define FIRED_MAX 16

struct owner {
	struct timer t;
	int id;
};

static int fired[FIRED_MAX];
static int nfired;

static void record(struct timer *t, void *ctx)
{
	(void)ctx;
	if (nfired < FIRED_MAX)
		fired[nfired++] = container_of(t, struct owner, t)->id;
}

static void setup(void)
{
	nfired = 0;
}

TestSuite(timer, .init = setup);

static void make(struct owner *o, int id)
{
	o->id = id;
	timer_init(&o->t, record);
}

Test(timer, nothing_armed_means_no_deadline)
{
	struct timers s;
	timers_init(&s);
	cr_assert_eq(timers_next(&s), 0);
	cr_assert_eq(timers_run(&s, 1000, 10, NULL), 0);
}

Test(timer, deadlines_fire_earliest_first_across_kinds_and_in_order_within_one)
{
	struct timers s;
	timers_init(&s);
	struct owner a, b, c, d;
	make(&a, 1);
	make(&b, 2);
	make(&c, 3);
	make(&d, 4);
	timer_arm(&s, &a.t, TIMER_DRAIN, 300);
	timer_arm(&s, &b.t, TIMER_SNIFF, 100);
	timer_arm(&s, &c.t, TIMER_SNIFF, 250); /* same kind, later: behind b */
	timer_arm(&s, &d.t, TIMER_ACCEPT, 200);
	cr_assert_eq(timers_next(&s), 100);
	cr_assert_eq(timers_run(&s, 260, 10, NULL), 3, "a (300) is not due yet");
	cr_assert_eq(fired[0], 2);
	cr_assert_eq(fired[1], 4);
	cr_assert_eq(fired[2], 3);
	cr_assert(!timer_armed(&b.t), "a fired timer is no longer armed");
	cr_assert(timer_armed(&a.t));
	cr_assert_eq(timers_next(&s), 300);
}

Test(timer, a_stopped_timer_never_fires_and_stopping_twice_is_harmless)
{
	struct timers s;
	timers_init(&s);
	struct owner a, b;
	make(&a, 1);
	make(&b, 2);
	timer_arm(&s, &a.t, TIMER_HANDSHAKE, 10);
	timer_arm(&s, &b.t, TIMER_HANDSHAKE, 20);
	timer_stop(&a.t);
	timer_stop(&a.t);
	cr_assert_eq(timers_next(&s), 20);
	cr_assert_eq(timers_run(&s, 100, 10, NULL), 1);
	cr_assert_eq(fired[0], 2);
}

Test(timer, rearming_moves_a_timer_to_its_new_deadline_and_kind)
{
	struct timers s;
	timers_init(&s);
	struct owner a;
	make(&a, 1);
	timer_arm(&s, &a.t, TIMER_SNIFF, 100);
	timer_arm(&s, &a.t, TIMER_DRAIN, 5000); /* a connection that closed while sniffing */
	cr_assert_eq(timers_next(&s), 5000);
	cr_assert_eq(timers_run(&s, 4999, 10, NULL), 0);
	cr_assert_eq(timers_run(&s, 5000, 10, NULL), 1, "due exactly at its deadline");
	cr_assert_eq(a.t.kind, TIMER_DRAIN);
}

Test(timer, one_run_fires_at_most_its_budget_and_the_rest_wait)
{
	struct timers s;
	timers_init(&s);
	struct owner o[5];
	for (int i = 0; i < 5; i++) {
		make(&o[i], i);
		timer_arm(&s, &o[i].t, TIMER_DRAIN, 10 + i);
	}
	cr_assert_eq(timers_run(&s, 100, 2, NULL), 2);
	cr_assert_eq(timers_next(&s), 12);
	cr_assert_eq(timers_run(&s, 100, 10, NULL), 3);
	for (int i = 0; i < 5; i++)
		cr_assert_eq(fired[i], i);
}

static struct timers *rearm_set;

/* Fires once more, 0 ms later: a timer armed by a fire function for now runs in the same
 * call. */
static void rearm_once(struct timer *t, void *ctx)
{
	int *count = ctx;
	if ((*count)++ == 0)
		timer_arm(rearm_set, t, TIMER_SUMMARY, t->due_ms);
}

Test(timer, a_timer_armed_by_a_fire_function_for_now_fires_in_the_same_run)
{
	struct timers s;
	timers_init(&s);
	rearm_set = &s;
	struct timer t;
	timer_init(&t, rearm_once);
	timer_arm(&s, &t, TIMER_SUMMARY, 50);
	int count = 0;
	cr_assert_eq(timers_run(&s, 50, 10, &count), 2);
	cr_assert_eq(count, 2);
	cr_assert_eq(timers_next(&s), 0);
}

Test(timer, the_earlier_of_two_deadlines_treats_zero_as_none)
{
	cr_assert_eq(timer_earliest(0, 0), 0);
	cr_assert_eq(timer_earliest(0, 7), 7);
	cr_assert_eq(timer_earliest(7, 0), 7);
	cr_assert_eq(timer_earliest(9, 7), 7);
	cr_assert_eq(timer_earliest(7, 9), 7);
}
