/*
 * test_room.c - a worker's local member arrays (room.c) over a real directory: the first local
 * member sets the worker's bit in the room's mask and takes a reference on the room, the last
 * one clears the bit and drops it; the array grows in order and a removal moves the last
 * member into the hole, keeping every local_index right.
 *
 * Each worker's map of local rooms is its own here, as in the server; everything runs on the
 * test's thread.
 */
#include "directory.h"
#include "room.h"

#include <criterion/criterion.h>
#include <string.h>

#define USERS   24
#define WORKERS 6

static struct directory dir;
static struct conn conns[USERS];
static struct map local[WORKERS];    /* worker w's local rooms */
static struct room *local_of[USERS]; /* the room whose local array holds conns[i], or NULL */
static unsigned worker_of[USERS];    /* the worker conns[i] belongs to */

static void setup(void)
{
	cr_assert_eq(dir_init(&dir, 100, 200), 0);
	memset(conns, 0, sizeof(conns));
	memset(local, 0, sizeof(local));
	memset(local_of, 0, sizeof(local_of));
	for (int i = 0; i < USERS; i++) {
		conns[i].id = (uint64_t)i + 1;
		conns[i].user.id = conns[i].id;
		cr_assert_eq(dir_add_user(&dir, &conns[i].user), 0);
	}
}

/* Takes conns[i] out of its local array (the room stays in the directory). */
static void local_remove(int i)
{
	unsigned w = worker_of[i];
	room_local_remove(&local[w], &dir, w, local_of[i], &conns[i]);
	local_of[i] = NULL;
}

/* As a worker does when a user leaves: the directory first, then the local array. */
static void teardown(void)
{
	for (int i = 0; i < USERS; i++) {
		bool notice;
		struct room *r;
		int64_t due;
		dir_remove_user(&dir, &conns[i].user, &notice, &r, &due);
		if (local_of[i] != NULL)
			local_remove(i);
	}
	for (int w = 0; w < WORKERS; w++)
		map_free(&local[w]);
	dir_destroy(&dir);
}

/* Moves conns[i], a user of worker w, into room `name` as enter_room does (session.c). */
static struct room *enter(int i, unsigned w, const char *name)
{
	struct join_result res;
	cr_assert_eq(dir_join(&dir, &conns[i].user, name, strlen(name), false, 0, &res), 0);
	if (local_of[i] != NULL)
		local_remove(i);
	worker_of[i] = w;
	cr_assert_eq(room_local_add(&local[w], &dir, w, res.to, &conns[i]), 0);
	local_of[i] = res.to;
	return res.to;
}

static uint64_t mask_of(struct room *r)
{
	return atomic_load(&r->worker_mask);
}

/* Every local member's local_index is its position in the array. */
static void expect_indexes_right(const struct local_room *lr)
{
	for (uint32_t k = 0; k < lr->n; k++)
		cr_assert_eq(conn_room_of(lr->members[k], lr->room)->local_index, k,
			     "member %u says %u", k,
			     conn_room_of(lr->members[k], lr->room)->local_index);
}

TestSuite(room, .init = setup, .fini = teardown);

Test(room, the_first_local_member_sets_the_worker_bit_and_takes_a_reference)
{
	struct room *r = enter(0, 3, "dev");
	cr_assert_eq(mask_of(r), 1ULL << 3);
	cr_assert_eq(r->refs, 2, "listed, and held by worker 3");
	struct local_room *lr = room_local_find(&local[3], r->id);
	cr_assert_not_null(lr);
	cr_assert_eq(lr->room, r);
	cr_assert_eq(lr->n, 1);
	cr_assert_eq(lr->members[0], &conns[0]);
	cr_assert_eq(conns[0].local_first.local_index, 0);
	enter(1, 3, "dev");
	cr_assert_eq(r->refs, 2, "one reference per worker, not per member");
	cr_assert_eq(mask_of(r), 1ULL << 3);
	cr_assert_eq(lr->n, 2);
	cr_assert_null(room_local_find(&local[2], r->id), "no other worker has an array");
}

Test(room, each_worker_holds_its_own_bit_and_reference)
{
	struct room *r = enter(0, 0, "dev");
	enter(1, 1, "dev");
	enter(2, 5, "dev");
	enter(3, 5, "dev");
	cr_assert_eq(mask_of(r), (1ULL << 0) | (1ULL << 1) | (1ULL << 5));
	cr_assert_eq(r->refs, 4, "listed, and held by workers 0, 1 and 5");
	cr_assert_eq(room_local_find(&local[5], r->id)->n, 2);
	cr_assert_eq(room_local_find(&local[0], r->id)->n, 1);
}

Test(room, the_last_local_member_clears_the_bit_and_drops_the_reference)
{
	struct room *r = enter(0, 4, "dev");
	enter(1, 4, "dev");
	enter(2, 1, "dev"); /* keeps the room listed throughout */
	cr_assert_eq(r->refs, 3);
	enter(0, 4, "other");
	cr_assert_eq(mask_of(r), (1ULL << 4) | (1ULL << 1), "worker 4 still has a member");
	cr_assert_eq(r->refs, 3);
	enter(1, 4, "other");
	cr_assert_eq(mask_of(r), 1ULL << 1, "worker 4's bit cleared with its last member");
	cr_assert_eq(r->refs, 2, "worker 4's reference dropped");
	cr_assert_null(room_local_find(&local[4], r->id), "worker 4's array is gone");
	cr_assert_not_null(room_local_find(&local[1], r->id));
}

Test(room, the_member_array_grows_and_keeps_every_member_in_order)
{
	struct room *r = NULL;
	for (int i = 0; i < 20; i++) /* past the first array of 8 and the second of 16 */
		r = enter(i, 2, "big");
	struct local_room *lr = room_local_find(&local[2], r->id);
	cr_assert_eq(lr->n, 20);
	cr_assert_geq(lr->cap, 20);
	for (int i = 0; i < 20; i++)
		cr_assert_eq(lr->members[i], &conns[i], "member %d moved", i);
	expect_indexes_right(lr);
	cr_assert_eq(r->refs, 2);
}

Test(room, removing_a_member_moves_the_last_one_into_its_place)
{
	struct room *r = NULL;
	for (int i = 0; i < 5; i++)
		r = enter(i, 0, "dev");
	struct local_room *lr = room_local_find(&local[0], r->id);
	local_remove(1); /* from the middle: the last one fills the hole */
	cr_assert_eq(lr->n, 4);
	cr_assert_eq(lr->members[1], &conns[4]);
	expect_indexes_right(lr);
	local_remove(4); /* now at index 1 again */
	cr_assert_eq(lr->n, 3);
	cr_assert_eq(lr->members[1], &conns[3]);
	expect_indexes_right(lr);
	local_remove(3); /* the last one itself */
	cr_assert_eq(lr->n, 2);
	cr_assert_eq(lr->members[0], &conns[0]);
	cr_assert_eq(lr->members[1], &conns[2]);
	expect_indexes_right(lr);
	local_remove(0);
	cr_assert_eq(lr->n, 1);
	cr_assert_eq(lr->members[0], &conns[2]);
	expect_indexes_right(lr);
	cr_assert_eq(mask_of(r), 1ULL, "a member is left: the bit stays");
}

Test(room, the_room_outlives_its_last_user_while_a_worker_still_holds_it)
{
	struct room *r = enter(0, 1, "dev");
	enter(1, 1, "dev");
	uint64_t id = r->id;
	long before = dir_room_count(&dir);
	bool notice;
	struct room *left;
	int64_t due;
	dir_remove_user(&dir, &conns[0].user, &notice, &left, &due);
	dir_remove_user(&dir, &conns[1].user, &notice, &left, &due);
	cr_assert_eq(left, r);
	cr_assert_eq(dir_room_count(&dir), before - 1, "empty: no longer listed");
	cr_assert_not(r->listed);
	cr_assert_eq(r->refs, 1, "only worker 1's reference keeps it");
	cr_assert_eq(mask_of(r), 1ULL << 1);
	local_remove(0);
	cr_assert_eq(r->refs, 1);
	local_remove(1); /* frees the room: a leak or a use after free shows under ASan */
	cr_assert_null(room_local_find(&local[1], id));
}

Test(room, removing_from_a_room_this_worker_has_no_members_in_changes_nothing)
{
	struct room *r = enter(0, 2, "dev");
	room_local_remove(&local[3], &dir, 3, r, &conns[0]);
	cr_assert_eq(mask_of(r), 1ULL << 2);
	cr_assert_eq(r->refs, 2);
	cr_assert_eq(room_local_find(&local[2], r->id)->n, 1);
}
