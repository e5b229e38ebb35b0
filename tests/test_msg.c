/*
 * test_msg.c - shared message buffers: the two-level reference count frees a message exactly
 * once, after the last worker and the last local hold are gone, whichever thread that is.
 */
#include "msg.h"
#include "stress.h"

#include <criterion/criterion.h>
#include <string.h>

static const char grin[4] = { '\xf0', '\x9f', '\x98', '\x80' }; /* U+1F600 */

Test(msg, printf_formats_the_text)
{
	struct msg *m = msg_printf(2, "%d:%s\n", 7, "hello");
	cr_assert_not_null(m);
	cr_assert_eq(m->len, 8);
	cr_assert_eq(memcmp(m->data, "7:hello\n", 8), 0);
	cr_assert_eq(m->nslots, 2);
	cr_assert_eq((uintptr_t)m % CACHE_LINE, 0, "cache-line aligned");
	msg_set_workers(m, 1);
	msg_release(m);
	cr_assert_eq(msg_live_count(), 0);
}

Test(msg, printf_cuts_an_over_long_text_on_a_character_boundary)
{
	char text[601];
	for (size_t i = 0; i < 150; i++)
		memcpy(text + 4 * i, grin, 4); /* 600 bytes of emoji */
	text[600] = '\0';
	struct msg *m = msg_printf(1, "%s", text);
	cr_assert_not_null(m);
	cr_assert_eq(m->len, 508, "127 whole emoji of the 511 bytes that fit");
	cr_assert_eq(memcmp(m->data, text, m->len), 0);
	msg_set_workers(m, 1);
	msg_release(m);
}

Test(msg, node_and_message_convert_both_ways)
{
	struct msg *m = msg_new(10, 8);
	for (unsigned w = 0; w < 8; w++)
		cr_assert_eq(msg_from_node(msg_node(m, w)), m);
	msg_set_workers(m, 1);
	msg_release(m);
}

Test(msg, local_holds_release_the_worker_reference_at_zero)
{
	struct msg *m = msg_new(4, 2);
	msg_set_workers(m, 2);
	msg_local_begin(m, 0);
	msg_local_get(m, 0);
	msg_local_get(m, 0);
	msg_local_put(m, 0); /* fan-out done; two queue entries remain */
	msg_local_put(m, 0);
	cr_assert_eq(atomic_load(&m->refs), 2, "worker 0 still holds it");
	msg_local_put(m, 0);
	cr_assert_eq(atomic_load(&m->refs), 1, "worker 0 released its reference");
	cr_assert_eq(msg_live_count(), 1);
	msg_local_begin(m, 1);
	msg_local_put(m, 1);
	cr_assert_eq(msg_live_count(), 0, "freed by the last worker");
}

Test(msg, refcount_across_threads_frees_each_message_once, .timeout = 120)
{
	const char *err = stress_msg_refcount(4, 20000);
	cr_assert_null(err, "%s", err);
}

Test(msg, a_one_worker_message_has_one_slot_whatever_the_worker)
{
	struct msg *m = msg_new(4, 1);
	cr_assert_eq(m->nslots, 1);
	for (unsigned w = 0; w < 8; w++) {
		cr_assert_eq(msg_node(m, w), &m->slot[0].node, "worker %u uses the only slot", w);
		cr_assert_eq(msg_from_node(msg_node(m, w)), m);
	}
	msg_set_workers(m, 1);
	msg_local_begin(m, 5);
	msg_local_put(m, 5);
	cr_assert_eq(msg_live_count(), 0);
}

Test(msg, the_charge_covers_the_whole_allocation)
{
	struct msg *one = msg_new(2, 1), *four = msg_new(2, 4);
	cr_assert_geq(one->size, sizeof(struct msg) + sizeof(struct msg_slot) + 2);
	cr_assert_geq(four->size, sizeof(struct msg) + 4 * sizeof(struct msg_slot) + 2);
	cr_assert_lt(one->size, four->size, "a one-worker message carries no per-worker slots");
	cr_assert_gt(msg_charge(one), one->len, "a 2-byte message costs more than 2 bytes");
	msg_set_workers(one, 1);
	msg_release(one);
	msg_set_workers(four, 1);
	msg_release(four);
}
