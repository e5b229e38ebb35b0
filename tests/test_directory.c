/*
 * test_directory.c - the directory on its own (no server): names unique up to look-alikes,
 * and listings that say what they leave out.
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
		cr_assert_eq(dir_add_user(&dir, &users[i]), 0);
	}
}

static void teardown(void)
{
	for (int i = 0; i < USERS; i++) {
		bool notice;
		struct room *r;
		int64_t due;
		dir_remove_user(&dir, &users[i], &notice, &r, &due);
	}
	dir_destroy(&dir);
}

static int rename_to(struct user *u, const char *name)
{
	char old[NAME_MAX_LEN + 1];
	return dir_rename(&dir, u, name, strlen(name), old);
}

Test(directory, a_look_alike_of_an_online_name_is_taken, .init = setup, .fini = teardown)
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

Test(directory, a_name_that_folds_like_a_generated_one_is_taken, .init = setup, .fini = teardown)
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

Test(directory, rooms_listing_says_how_many_rooms_it_left_out, .init = setup, .fini = teardown)
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

static void join(struct user *u, const char *room)
{
	struct join_result res;
	cr_assert_eq(dir_join(&dir, u, room, strlen(room), false, 0, &res), 0);
}

Test(directory, rooms_listing_has_a_head_and_a_line_per_room, .init = setup, .fini = teardown)
{
	join(&users[0], "lobby");
	join(&users[1], "lobby");
	char out[4096];
	size_t n = dir_rooms(&dir, out, sizeof(out));
	cr_assert_str_eq(out, "* 1 room:\n*   lobby 2\n");
	cr_assert_eq(n, strlen(out));
}

Test(directory, who_names_everyone_in_the_room, .init = setup, .fini = teardown)
{
	char out[4096];
	size_t n = dir_who(&dir, &users[0], out, sizeof(out));
	cr_assert_str_eq(out, "* You are in no room.\n");
	cr_assert_eq(n, strlen(out));
	for (int i = 0; i < USERS; i++)
		join(&users[i], "lobby");
	n = dir_who(&dir, &users[0], out, sizeof(out));
	cr_assert_str_eq(out, "* 12 users in lobby: 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12\n");
	cr_assert_eq(n, strlen(out));
}

Test(directory, who_counts_the_names_it_had_no_room_for, .init = setup, .fini = teardown)
{
	for (int i = 0; i < USERS; i++)
		join(&users[i], "lobby");
	char out[48];
	size_t n = dir_who(&dir, &users[0], out, sizeof(out));
	cr_assert_str_eq(out, "* 12 users in lobby: and 12 more\n");
	cr_assert_eq(n, strlen(out));
}

Test(directory, who_names_at_most_DIR_WHO_NAMES_MAX_then_counts_the_rest)
{
	enum { CROWD = DIR_WHO_NAMES_MAX + 5 };
	struct directory d;
	struct user *crowd = calloc(CROWD, sizeof(*crowd));
	cr_assert_not_null(crowd);
	cr_assert_eq(dir_init(&d, 10, 1000), 0);
	for (int i = 0; i < CROWD; i++) {
		struct join_result res;
		crowd[i].id = (uint64_t)i + 1;
		cr_assert_eq(dir_add_user(&d, &crowd[i]), 0);
		cr_assert_eq(dir_join(&d, &crowd[i], "big", 3, false, 0, &res), 0);
	}
	static char out[PROTO_WHO_MAX(DIR_WHO_NAMES_MAX)];
	size_t n = dir_who(&d, &crowd[0], out, sizeof(out));
	cr_assert_eq(n, strlen(out));
	cr_assert(strncmp(out, "* 205 users in big: 1, 2, 3,", 28) == 0, "%s", out);
	cr_assert(strstr(out, ", 199, 200 and 5 more\n") != NULL, "%s", out);
	for (int i = 0; i < CROWD; i++) {
		bool notice;
		struct room *r;
		int64_t due;
		dir_remove_user(&d, &crowd[i], &notice, &r, &due);
	}
	dir_destroy(&d);
	free(crowd);
}
