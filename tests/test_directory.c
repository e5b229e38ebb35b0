/*
 * test_directory.c - the directory on its own (no server): names unique up to look-alikes,
 * renames and lookups, joins and leaves with the notices they call for, rooms created with
 * their first member and unlisted with their last, --max-rooms, the counts that rooms above
 * --notice-limit keep for their summaries, and listings that say what they leave out.
 */
#include "directory.h"
#include "proto.h"

#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define USERS 12

static struct directory dir;
static struct user users[USERS];

static void setup(void)
{
	cr_assert_eq(dir_init(&dir, 1000, 200), 0);
	memset(users, 0, sizeof(users));
	for (int i = 0; i < USERS; i++) {
		users[i].id = (uint64_t)i + 1;
		users[i].worker = (unsigned)i % 3;
		cr_assert_eq(dir_add_user(&dir, &users[i]), 0);
	}
}

static void teardown(void)
{
	for (int i = 0; i < USERS; i++) {
		bool notice;
		struct room *r;
		int64_t due;
		while (users[i].nrooms > 1) /* an IRC user's other rooms first */
			dir_leave(&dir, &users[i], user_room_at(&users[i], 1)->room, 0, &due);
		dir_remove_user(&dir, &users[i], &notice, &r, &due);
	}
	dir_destroy(&dir);
}

static int rename_to(struct user *u, const char *name)
{
	char old[NAME_MAX_LEN + 1] = { 0 };
	return dir_rename(&dir, u, name, strlen(name), old);
}

/* Moves u into room `name` at time now (ms); res receives what dir_join says. */
static int join_at(struct user *u, const char *name, int64_t now, struct join_result *res)
{
	return dir_join(&dir, u, name, strlen(name), false, now, res);
}

/* Moves u into room `name`, which must succeed; returns the room. */
static struct room *join(struct user *u, const char *name)
{
	struct join_result res;
	cr_assert_eq(join_at(u, name, 0, &res), 0, "join %s", name);
	return res.to;
}

/* Takes u out of the directory, as a disconnect does; returns whether to send a notice. */
static bool disconnect(struct user *u, int64_t *due)
{
	bool notice = false;
	struct room *r = NULL;
	dir_remove_user(&dir, u, &notice, &r, due);
	return notice;
}

static bool found(const char *name, uint64_t *id, unsigned *worker)
{
	char spelled[NAME_MAX_LEN + 1] = { 0 };
	return dir_lookup(&dir, name, strlen(name), id, worker, spelled);
}

/* Takes the summaries due at now (at most max); drops the references they come with. */
static int take_summaries(int64_t now, struct summary *out, int max, int64_t *next_due)
{
	int n = dir_take_summaries(&dir, now, out, max, next_due);
	for (int i = 0; i < n; i++) {
		cr_assert_eq(out[i].room->refs, 2, "listed, and held for the caller");
		dir_room_put(&dir, out[i].room);
	}
	return n;
}

TestSuite(directory, .init = setup, .fini = teardown);

Test(directory, a_look_alike_of_an_online_name_is_taken)
{
	cr_assert_eq(rename_to(&users[0], "alice"), 0);
	cr_assert_eq(rename_to(&users[1], "aIice"), -EEXIST, "capital i");
	cr_assert_eq(rename_to(&users[1], "a1ice"), -EEXIST);
	cr_assert_eq(rename_to(&users[1], "ALICE"), -EEXIST);
	cr_assert_eq(rename_to(&users[0], "Alice"), 0, "one's own name in another spelling");
	cr_assert_eq(rename_to(&users[2], "b0b"), 0);
	cr_assert_eq(rename_to(&users[1], "BOB"), -EEXIST);
	/* lookups fold too, and give the name as spelled */
	uint64_t id;
	unsigned worker;
	char spelled[NAME_MAX_LEN + 1];
	cr_assert(dir_lookup(&dir, "al1ce", 5, &id, &worker, spelled));
	cr_assert_eq(id, 1);
	cr_assert_str_eq(spelled, "Alice");
	/* the name is free again once its holder changed it */
	cr_assert_eq(rename_to(&users[0], "carol"), 0);
	cr_assert_eq(rename_to(&users[1], "aIice"), 0);
}

Test(directory, a_name_that_folds_like_a_generated_one_is_taken)
{
	/* user 10 is online as "10"; "lO" would fold alike, so would "lo" for a user yet to come */
	cr_assert_eq(rename_to(&users[0], "lO"), -EEXIST);
	cr_assert_eq(rename_to(&users[0], "Ilo"), -EEXIST);
	uint64_t id;
	unsigned worker;
	char spelled[NAME_MAX_LEN + 1];
	cr_assert(dir_lookup(&dir, "lO", 2, &id, &worker, spelled), "finds the user named 10");
	cr_assert_eq(id, 10);
	cr_assert_not(
	    dir_lookup(&dir, "a-name-longer-than-32-characters!", 33, &id, &worker, spelled));
}

Test(directory, rooms_listing_says_how_many_rooms_it_left_out)
{
	for (int i = 0; i < USERS; i++) {
		char room[16];
		struct join_result res;
		snprintf(room, sizeof(room), "room%02d", i);
		cr_assert_eq(dir_join(&dir, &users[i], room, strlen(room), false, 0, &res), 0);
	}
	char out[4096];
	size_t n = dir_rooms(&dir, out, sizeof(out));
	cr_assert_eq(n, strlen(out));
	cr_assert(strncmp(out, "* 12 rooms:\n", 12) == 0, "%s", out);
	cr_assert_null(strstr(out, "more"), "everything fits: %s", out);
	/* a cap with room for a few lines: the rest are counted */
	n = dir_rooms(&dir, out, 200);
	cr_assert_lt(n, 200);
	int listed = 0;
	for (const char *p = strstr(out, "*   room"); p != NULL; p = strstr(p + 1, "*   room"))
		listed++;
	cr_assert_gt(listed, 0);
	cr_assert_lt(listed, USERS);
	char want[64];
	snprintf(want, sizeof(want), "*   and %d more\n", USERS - listed);
	cr_assert(n >= strlen(want) && strcmp(out + n - strlen(want), want) == 0, "%s", out);
}

/* ---- names ------------------------------------------------------------------------------ */

Test(directory, a_rename_gives_the_old_name_and_lookups_follow_the_new_one)
{
	char old[NAME_MAX_LEN + 1] = { 0 };
	cr_assert_eq(dir_rename(&dir, &users[4], "alice", 5, old), 0);
	cr_assert_str_eq(old, "5", "the generated name");
	cr_assert_str_eq(users[4].name, "alice");
	uint64_t id = 0;
	unsigned worker = 99;
	cr_assert(found("alice", &id, &worker));
	cr_assert_eq(id, 5);
	cr_assert_eq(worker, 1, "the worker the user belongs to");
	cr_assert_not(found("5", &id, &worker), "the generated name is gone");
	cr_assert_eq(dir.names.len, USERS, "one entry per user: the old one was taken out");
	cr_assert_eq(dir_rename(&dir, &users[4], "bob", 3, old), 0);
	cr_assert_str_eq(old, "alice");
	cr_assert_not(found("alice", &id, &worker));
	cr_assert(found("BOB", &id, &worker));
	cr_assert_eq(id, 5);
}

Test(directory, a_name_is_free_once_its_holder_disconnected)
{
	cr_assert_eq(rename_to(&users[0], "carol"), 0);
	uint64_t id;
	unsigned worker;
	int64_t due = 0;
	cr_assert(found("carol", &id, &worker));
	disconnect(&users[0], &due);
	cr_assert_not(found("carol", &id, &worker));
	cr_assert_not(found("1", &id, &worker));
	cr_assert_eq(rename_to(&users[1], "Carol"), 0);
	cr_assert(found("carol", &id, &worker));
	cr_assert_eq(id, 2);
}

/* ---- joins and leaves ----------------------------------------------------------------------- */

Test(directory, joining_says_whom_to_notify_and_how_many_are_there)
{
	struct join_result res;
	cr_assert_eq(join_at(&users[0], "dev", 0, &res), 0);
	cr_assert_null(res.from, "from no room");
	cr_assert_not_null(res.to);
	cr_assert_str_eq(res.to->name, "dev");
	cr_assert_eq(res.members, 1);
	cr_assert(res.notice_to);
	cr_assert_eq(res.summary_due, 0, "nothing summarised below --notice-limit");
	cr_assert_eq(users[0].room, res.to);
	struct room *dev = res.to;
	cr_assert_eq(join_at(&users[1], "dev", 0, &res), 0);
	cr_assert_eq(res.to, dev);
	cr_assert_eq(res.members, 2);
	cr_assert_eq(join_at(&users[0], "ops", 0, &res), 0);
	cr_assert_eq(res.from, dev);
	cr_assert(res.notice_from);
	cr_assert(res.notice_to);
	cr_assert_eq(res.members, 1);
	cr_assert_eq(dev->nusers, 1);
	cr_assert_eq(dev->users[users[1].first.index], &users[1]);
}

Test(directory, joining_the_room_one_is_in_is_refused_in_any_case)
{
	struct room *dev = join(&users[0], "dev");
	struct join_result res;
	cr_assert_eq(join_at(&users[0], "DEV", 0, &res), -EALREADY, "room names ignore case");
	cr_assert_eq(users[0].room, dev);
	cr_assert_eq(dev->nusers, 1);
}

Test(directory, a_leave_moves_the_last_member_into_its_place)
{
	struct room *dev = NULL;
	for (int i = 0; i < 5; i++)
		dev = join(&users[i], "dev");
	int64_t due = 0;
	cr_assert(disconnect(&users[1], &due), "a leave below --notice-limit is announced");
	cr_assert_eq(due, 0);
	join(&users[3], "ops");
	cr_assert_eq(dev->nusers, 3);
	for (uint32_t k = 0; k < dev->nusers; k++)
		cr_assert_eq(dev->users[k]->first.index, k, "user %u says %u", k,
			     dev->users[k]->first.index);
	cr_assert_null(users[1].room);
}

Test(directory, a_room_is_created_with_its_first_member_and_unlisted_with_its_last)
{
	cr_assert_eq(dir_room_count(&dir), 0);
	struct room *dev = join(&users[0], "dev");
	join(&users[1], "dev");
	cr_assert_eq(dir_room_count(&dir), 1);
	cr_assert(dev->listed);
	cr_assert_eq(dev->refs, 1, "the listing's reference");
	dir_room_get(&dir, dev); /* held, as a worker with local members holds it */
	int64_t due = 0;
	disconnect(&users[0], &due);
	cr_assert_eq(dir_room_count(&dir), 1);
	join(&users[1], "ops");
	cr_assert_eq(dir_room_count(&dir), 1, "ops only");
	cr_assert_not(dev->listed, "empty: unlisted");
	cr_assert_eq(dev->refs, 1, "only the holder's reference is left");
	uint64_t old_id = dev->id;
	dir_room_put(&dir, dev); /* frees it: a leak or a use after free shows under ASan */
	struct room *again = join(&users[2], "dev");
	cr_assert_neq(again->id, old_id, "a room id is never reused");
	cr_assert_eq(dir_room_count(&dir), 2);
}

Test(directory, max_rooms_refuses_a_new_room_but_not_an_existing_or_exempt_one)
{
	dir.max_rooms = 2;
	join(&users[0], "one");
	join(&users[1], "two");
	struct join_result res;
	cr_assert_eq(join_at(&users[2], "three", 0, &res), -ENOSPC);
	cr_assert_null(users[2].room, "a refused join leaves the user where it was");
	cr_assert_eq(dir_room_count(&dir), 2);
	cr_assert_eq(join_at(&users[2], "one", 0, &res), 0, "an existing room is no new room");
	cr_assert_eq(dir_join(&dir, &users[3], "lobby", 5, true, 0, &res), 0, "exempt");
	cr_assert_eq(dir_room_count(&dir), 3);
}

Test(directory, who_names_the_members_and_says_when_it_is_in_no_room)
{
	char out[1024] = { 0 };
	size_t n = dir_who(&dir, &users[5], out, sizeof(out));
	cr_assert_str_eq(out, "* You are in no room.\n");
	cr_assert_eq(n, strlen(out));
	for (int i = 0; i < 3; i++)
		join(&users[i], "dev");
	cr_assert_eq(rename_to(&users[1], "bob"), 0);
	n = dir_who(&dir, &users[2], out, sizeof(out));
	cr_assert_str_eq(out, "* 3 users in dev: 1, bob, 3\n");
	cr_assert_eq(n, strlen(out));
	join(&users[5], "solo");
	dir_who(&dir, &users[5], out, sizeof(out));
	cr_assert_str_eq(out, "* 1 user in solo: 6\n");
}

#define CROWD 205

Test(directory, who_names_at_most_200_and_counts_the_rest)
{
	static struct user crowd[CROWD];
	memset(crowd, 0, sizeof(crowd));
	for (int i = 0; i < CROWD; i++) {
		crowd[i].id = (uint64_t)i + 101;
		cr_assert_eq(dir_add_user(&dir, &crowd[i]), 0);
		join(&crowd[i], "hall");
	}
	static char out[16384];
	size_t n = dir_who(&dir, &crowd[0], out, sizeof(out));
	cr_assert(strncmp(out, "* 205 users in hall: 101, 102, ", 31) == 0, "%.40s", out);
	static const char tail[] = ", 300 and 5 more\n"; /* the 200th is 300 */
	cr_assert(n > sizeof(tail) && strcmp(out + n - (sizeof(tail) - 1), tail) == 0, "%s",
		  out + n - 40);
	/* a buffer too small for every name is cut between names, still one line */
	n = dir_who(&dir, &crowd[0], out, 200);
	cr_assert_lt(n, 200);
	cr_assert_eq(out[n - 1], '\n');
	for (int i = 0; i < CROWD; i++) {
		int64_t due;
		disconnect(&crowd[i], &due);
	}
}

/* ---- rooms above --notice-limit: counts for a summary ---------------------------------------- */

Test(directory, above_the_notice_limit_entries_are_counted_for_a_summary)
{
	dir.notice_limit = 2;
	struct join_result res;
	for (int i = 0; i < 5; i++) {
		cr_assert_eq(join_at(&users[i], "big", 10000, &res), 0);
		cr_assert_eq(res.notice_to, i < 2, "user %d", i);
		cr_assert_eq(res.summary_due, i < 2 ? 0 : 10000,
			     "the first summary is due at once");
	}
	struct summary out[4];
	int64_t next = -1;
	cr_assert_eq(take_summaries(10000, out, 4, &next), 1);
	cr_assert_eq(out[0].room, res.to);
	cr_assert_eq(out[0].entered, 3);
	cr_assert_eq(out[0].left, 0);
	cr_assert_eq(next, 0, "nothing else waits");
	cr_assert_eq(take_summaries(10000, out, 4, &next), 0, "the counts went with the summary");
}

Test(directory, the_next_summary_of_a_room_waits_a_second)
{
	dir.notice_limit = 2;
	struct join_result res;
	for (int i = 0; i < 5; i++)
		cr_assert_eq(join_at(&users[i], "big", 10000, &res), 0);
	struct summary out[4];
	int64_t next = -1;
	cr_assert_eq(take_summaries(10000, out, 4, &next), 1);
	/* a leave to a small room: counted in big, announced in small */
	cr_assert_eq(join_at(&users[0], "small", 10200, &res), 0);
	cr_assert_not(res.notice_from, "big is above --notice-limit");
	cr_assert(res.notice_to);
	cr_assert_eq(res.summary_due, 11000, "a second after big's last summary");
	cr_assert_eq(take_summaries(10500, out, 4, &next), 0, "not yet");
	cr_assert_eq(next, 11000);
	cr_assert_eq(take_summaries(11000, out, 4, &next), 1);
	cr_assert_str_eq(out[0].room->name, "big");
	cr_assert_eq(out[0].entered, 0);
	cr_assert_eq(out[0].left, 1);
}

Test(directory, a_disconnect_from_a_room_above_the_notice_limit_is_counted_not_announced)
{
	dir.notice_limit = 2;
	for (int i = 0; i < 4; i++)
		join(&users[i], "big");
	int64_t due = 0, due2 = 0, due3 = -1;
	cr_assert_not(disconnect(&users[0], &due), "4 members: no individual notice");
	cr_assert_gt(due, 0, "a summary is due (now: the room had none yet)");
	cr_assert_not(disconnect(&users[1], &due2), "3 members: still above the limit");
	cr_assert(disconnect(&users[2], &due3), "2 members: announced again");
	cr_assert_eq(due3, 0, "and not counted");
	struct summary out[4];
	int64_t next;
	cr_assert_eq(take_summaries(due2, out, 4, &next), 1);
	cr_assert_eq(out[0].left, 2);
	cr_assert_eq(out[0].entered, 2, "users 3 and 4 entered above the limit");
}

Test(directory, summaries_come_at_most_max_at_a_time_and_each_room_once)
{
	dir.notice_limit = 0; /* every entry is counted */
	static const char *const rooms[] = { "r0", "r1", "r2", "r3" };
	struct join_result res;
	for (int i = 0; i < 4; i++)
		cr_assert_eq(join_at(&users[i], rooms[i], 5000, &res), 0);
	bool taken[4] = { false };
	struct summary out[1];
	int64_t next = -1;
	for (int call = 0; call < 4; call++) {
		cr_assert_eq(take_summaries(5000, out, 1, &next), 1, "call %d", call);
		cr_assert_eq(next, call < 3 ? 5000 : 0, "call %d: the rest are due now", call);
		int k = out[0].room->name[1] - '0';
		cr_assert_not(taken[k], "%s twice", out[0].room->name);
		taken[k] = true;
		cr_assert_eq(out[0].entered, 1);
	}
	cr_assert_eq(take_summaries(5000, out, 1, &next), 0);
	cr_assert_eq(next, 0);
}

Test(directory, a_room_not_yet_due_is_skipped_and_one_behind_it_is_taken)
{
	dir.notice_limit = 0;
	struct join_result res;
	cr_assert_eq(join_at(&users[0], "a", 5000, &res), 0);
	struct summary out[4];
	int64_t next;
	cr_assert_eq(take_summaries(5000, out, 4, &next), 1); /* a: next one at 6000 */
	cr_assert_eq(join_at(&users[1], "b", 5200, &res), 0); /* b: due at once */
	cr_assert_eq(join_at(&users[2], "a", 5300, &res), 0); /* a: counted, due at 6000 */
	cr_assert_eq(res.summary_due, 6000);
	cr_assert_eq(take_summaries(5300, out, 4, &next), 1);
	cr_assert_str_eq(out[0].room->name, "b");
	cr_assert_eq(next, 6000, "a waits");
	cr_assert_eq(take_summaries(6000, out, 4, &next), 1);
	cr_assert_str_eq(out[0].room->name, "a");
	cr_assert_eq(out[0].entered, 1);
}

Test(directory, a_room_emptied_while_its_summary_waits_leaves_the_queue)
{
	dir.notice_limit = 0;
	join(&users[0], "gone"); /* counted: gone waits for a summary */
	join(&users[1], "stay");
	join(&users[0], "stay"); /* gone is empty: unlisted and freed */
	struct summary out[4];
	int64_t next;
	cr_assert_eq(take_summaries(0, out, 4, &next), 1, "only stay: gone is no more");
	cr_assert_str_eq(out[0].room->name, "stay");
	cr_assert_eq(out[0].entered, 2);
}

Test(directory, rooms_listing_has_a_head_and_a_line_per_room)
{
	join(&users[0], "lobby");
	join(&users[1], "lobby");
	char out[4096];
	size_t n = dir_rooms(&dir, out, sizeof(out));
	cr_assert_str_eq(out, "* 1 room:\n*   lobby 2\n");
	cr_assert_eq(n, strlen(out));
}

Test(directory, who_counts_the_names_it_had_no_room_for)
{
	for (int i = 0; i < USERS; i++)
		join(&users[i], "lobby");
	char out[48];
	size_t n = dir_who(&dir, &users[0], out, sizeof(out));
	cr_assert_str_eq(out, "* 12 users in lobby: and 12 more\n");
	cr_assert_eq(n, strlen(out));
}

/* ---- several rooms (IRC users) --------------------------------------------------------------- */

/* u also enters room `name` (keeping its rooms, at most max), which must succeed. */
static struct room *join_also(struct user *u, const char *name, uint32_t max)
{
	struct join_result res;
	cr_assert_eq(dir_join_also(&dir, u, name, strlen(name), false, 0, NULL, 0, max, &res), 0,
		     "join %s", name);
	cr_assert_null(res.from, "no room is left");
	return res.to;
}

/* Every member of r knows its place in r->users. */
static void expect_places_right(struct room *r)
{
	for (uint32_t k = 0; k < r->nusers; k++)
		cr_assert_eq(user_room_of(r->users[k], r)->index, k, "member %u of %s", k, r->name);
}

Test(directory, a_user_may_be_in_several_rooms_up_to_its_limit)
{
	struct room *dev = join_also(&users[0], "dev", 3);
	struct room *ops = join_also(&users[0], "ops", 3);
	struct room *qa = join_also(&users[0], "qa", 3);
	cr_assert_eq(users[0].nrooms, 3);
	cr_assert_eq(users[0].room, qa, "the last room entered is the current one");
	struct join_result res;
	cr_assert_eq(dir_join_also(&dir, &users[0], "more", 4, false, 0, NULL, 0, 3, &res),
		     -ETOOMANYREFS);
	cr_assert_eq(dir_join_also(&dir, &users[0], "DEV", 3, false, 0, NULL, 0, 3, &res),
		     -EALREADY);
	cr_assert(dir_set_current(&dir, &users[0], dev));
	cr_assert_eq(users[0].room, dev);
	cr_assert_eq(dev->nusers + ops->nusers + qa->nusers, 3);
	int64_t due;
	dir_leave(&dir, &users[0], ops, 0, &due);
	cr_assert_eq(users[0].nrooms, 2);
	cr_assert_null(user_room_of(&users[0], ops));
	cr_assert_eq(users[0].room, dev, "leaving another room keeps the current one");
	cr_assert_eq(dir_room_count(&dir), 2, "ops emptied: unlisted");
}

Test(directory, a_leave_keeps_the_places_of_members_in_several_rooms)
{
	struct room *dev = join_also(&users[0], "dev", 20);
	struct room *ops = join_also(&users[0], "ops", 20);
	for (int i = 1; i < 6; i++) {
		join_also(&users[i], "dev", 20);
		if (i % 2 == 0)
			join_also(&users[i], "ops", 20);
	}
	int64_t due;
	dir_leave(&dir, &users[0], dev, 0, &due); /* users[5] takes its place in dev */
	dir_leave(&dir, &users[2], ops, 0, &due); /* users[4] takes its place in ops */
	expect_places_right(dev);
	expect_places_right(ops);
	cr_assert_eq(dev->nusers, 5);
	cr_assert_eq(ops->nusers, 2);
	bool notice;
	struct room *r;
	dir_leave(&dir, &users[4], dev, 0, &due);
	dir_remove_user(&dir, &users[4], &notice, &r, &due); /* its last room: ops */
	cr_assert_eq(r, ops);
	expect_places_right(dev);
	expect_places_right(ops);
}

Test(directory, a_user_moving_between_rooms_needs_no_more_slots)
{
	join(&users[0], "dev");
	join(&users[0], "ops");
	cr_assert_eq(users[0].nrooms, 1);
	cr_assert_null(users[0].more, "one room at a time: its first slot only");
}

Test(directory, the_users_list_names_every_room_of_a_user)
{
	join_also(&users[0], "dev", 20);
	join_also(&users[0], "ops", 20);
	struct dir_entry e[USERS];
	size_t n = dir_list_users(&dir, e, USERS);
	for (size_t i = 0; i < n; i++)
		if (e[i].id == users[0].id) {
			cr_assert_str_eq(e[i].room, "ops");
			cr_assert_str_eq(e[i].others, "dev");
			return;
		}
	cr_assert_fail("users[0] is not listed");
}

Test(directory, whose_rooms_names_them_for_whois)
{
	join_also(&users[0], "dev", 20);
	join_also(&users[0], "ops", 20);
	char out[128];
	cr_assert(
	    dir_user_rooms(&dir, users[0].name, strlen(users[0].name), "#", out, sizeof(out)));
	cr_assert_str_eq(out, "#ops #dev");
	cr_assert_not(dir_user_rooms(&dir, "nobody", 6, "#", out, sizeof(out)));
}
