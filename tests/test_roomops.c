/*
 * test_roomops.c - rooms that can be run (roomops.h, docs/protocol.md "Running a room"): the
 * creator is the operator; topic, kick, bans by name and address, key, limit, invite-only,
 * moderated with voice and secret rooms, from line users and a WebSocket user, against a
 * server started in-process with 4 workers (the rules hold across workers).
 */
#include "roomstate.h"
#include "server.h"
#include "testlib.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Reads lines until one starts with prefix; fails after 3 s. */
static void expect_prefix(struct tclient *c, const char *prefix)
{
	char line[1024];
	for (;;) {
		int rc = tc_read_line(c, line, sizeof(line), 3000);
		cr_assert_eq(rc, 1, "waiting for '%s': %s", prefix, rc == 0 ? "closed" : "timeout");
		if (strncmp(line, prefix, strlen(prefix)) == 0)
			return;
	}
}

/* A line user from `from` named name (its own rename notice read). */
static struct tclient *user_from(struct server *srv, const char *from, const char *name)
{
	struct tclient *c = tc_join_from(from, server_port(srv));
	char line[64];
	snprintf(line, sizeof(line), "/nick %s\n", name);
	tc_send(c, line);
	snprintf(line, sizeof(line), "* %llu is now known as %s.", (unsigned long long)c->name,
		 name);
	tc_expect_eventually(c, line, 3000);
	return c;
}

static struct tclient *user(struct server *srv, const char *name)
{
	return user_from(srv, "127.0.0.1", name);
}

/* c asks to enter room (with "/join ROOM [KEY]" as `join`) and gets in. */
static void enter(struct tclient *c, const char *join, const char *room)
{
	char line[128];
	snprintf(line, sizeof(line), "%s\n", join);
	tc_send(c, line);
	snprintf(line, sizeof(line), "* You are now in %s.", room);
	expect_prefix(c, line);
}

static void say(struct tclient *c, const char *text)
{
	char line[512];
	snprintf(line, sizeof(line), "%s\n", text);
	tc_send(c, line);
}

/* A server and its first user, alice, who created room dev. */
static struct server *start_with_dev(struct tclient **alice)
{
	struct config cfg = ts_config(4);
	struct server *srv = ts_start(&cfg);
	*alice = user(srv, "alice");
	enter(*alice, "/join dev", "dev");
	return srv;
}

Test(roomops, the_creator_is_operator_and_the_lobby_has_none, .timeout = 30)
{
	struct tclient *alice;
	struct server *srv = start_with_dev(&alice);
	say(alice, "/mode");
	tc_expect(alice, "* Modes of dev: +tn. Operators: alice. Voiced: none.");
	struct tclient *bob = user(srv, "bob");
	say(bob, "/topic lobby things");
	tc_expect(bob, "* error: you are not an operator of lobby.");
	enter(bob, "/join dev", "dev");
	say(bob, "/op bob");
	tc_expect(bob, "* error: you are not an operator of dev.");
	TS_WAIT_COUNTER(srv, room_not_operator, 2, 2000);
	say(alice, "/op BOB");
	tc_expect_eventually(bob, "* alice sets mode +o bob in dev.", 3000);
	say(bob, "/mode");
	tc_expect(bob, "* Modes of dev: +tn. Operators: alice, bob. Voiced: none.");
	tc_close_all((struct tclient *[]){ alice, bob }, 2);
	ts_stop(srv);
}

Test(roomops, the_topic_is_set_by_operators_shown_on_join_and_told, .timeout = 30)
{
	struct tclient *alice;
	struct server *srv = start_with_dev(&alice);
	say(alice, "/topic");
	tc_expect(alice, "* No topic in dev.");
	say(alice, "/topic release on friday");
	tc_expect(alice, "* alice set the topic of dev: release on friday");
	struct tclient *bob = user(srv, "bob");
	enter(bob, "/join dev", "dev");
	tc_expect(bob, "* Topic of dev: release on friday (set by alice)");
	say(bob, "/topic mine now");
	tc_expect(bob, "* error: you are not an operator of dev.");
	say(alice, "/mode -t");
	tc_expect_eventually(bob, "* alice sets mode -t in dev.", 3000);
	say(bob, "/topic mine now");
	tc_expect_eventually(alice, "* bob set the topic of dev: mine now", 3000);
	say(alice, "/topic");
	tc_expect(alice, "* Topic of dev: mine now (set by bob)");
	tc_close_all((struct tclient *[]){ alice, bob }, 2);
	ts_stop(srv);
}

Test(roomops, kick_sends_the_member_to_the_lobby_told_why, .timeout = 30)
{
	struct tclient *alice;
	struct server *srv = start_with_dev(&alice);
	struct tclient *bob = user(srv, "bob");
	enter(bob, "/join dev", "dev");
	say(bob, "/kick alice");
	tc_expect(bob, "* error: you are not an operator of dev.");
	say(alice, "/kick bob too loud");
	tc_expect_eventually(alice, "* alice kicked bob from dev (too loud).", 3000);
	tc_expect_eventually(bob, "* You were kicked from dev by alice (too loud).", 3000);
	expect_prefix(bob, "* You are now in lobby.");
	TS_WAIT_COUNTER(srv, room_kicks, 1, 2000);
	say(alice, "/kick nobody");
	tc_expect_eventually(alice, "* error: no such member in dev: nobody.", 3000);
	tc_close_all((struct tclient *[]){ alice, bob }, 2);
	ts_stop(srv);
}

Test(roomops, a_name_ban_folds_like_names_kicks_and_refuses, .timeout = 30)
{
	struct tclient *alice;
	struct server *srv = start_with_dev(&alice);
	struct tclient *bob = user(srv, "bob");
	enter(bob, "/join dev", "dev");
	say(alice, "/ban B0B");
	tc_expect_eventually(alice, "* alice sets mode +b B0B in dev.", 3000);
	tc_expect_eventually(bob, "* You were kicked from dev by alice (banned).", 3000);
	expect_prefix(bob, "* You are now in lobby.");
	say(bob, "/join dev");
	tc_expect_eventually(bob, "* error: you are banned from dev.", 3000);
	TS_WAIT_COUNTER(srv, room_banned, 1, 2000);
	say(alice, "/bans");
	tc_expect_eventually(alice, "* Bans in dev: B0B", 3000);
	say(alice, "/unban b0b");
	tc_expect_eventually(alice, "* alice sets mode -b b0b in dev.", 3000);
	enter(bob, "/join dev", "dev");
	tc_close_all((struct tclient *[]){ alice, bob }, 2);
	ts_stop(srv);
}

Test(roomops, address_bans_by_range_and_glob_kick_and_refuse, .timeout = 30)
{
	struct config cfg = ts_config(4);
	struct server *srv = ts_start(&cfg);
	struct tclient *alice = user_from(srv, "127.0.0.2", "alice");
	enter(alice, "/join dev", "dev");
	struct tclient *bob = user_from(srv, "127.0.0.3", "bob");
	struct tclient *carol = user_from(srv, "127.0.0.44", "carol");
	enter(bob, "/join dev", "dev");
	enter(carol, "/join dev", "dev");
	say(alice, "/ban 127.0.0.3/32");
	tc_expect_eventually(bob, "* You were kicked from dev by alice (banned).", 3000);
	say(alice, "/ban 127.0.0.4?");
	tc_expect_eventually(carol, "* You were kicked from dev by alice (banned).", 3000);
	say(bob, "/join dev");
	tc_expect_eventually(bob, "* error: you are banned from dev.", 3000);
	say(carol, "/join dev");
	tc_expect_eventually(carol, "* error: you are banned from dev.", 3000);
	say(alice, "/ban 127.0.0.300");
	tc_expect_eventually(alice, "* error: not a valid ban: 127.0.0.300.", 3000);
	tc_close_all((struct tclient *[]){ alice, bob, carol }, 3);
	ts_stop(srv);
}

Test(roomops, room_lists_caps_the_bans_of_a_room, .timeout = 30)
{
	struct config cfg = ts_config(2);
	cfg.room_lists = 1;
	struct server *srv = ts_start(&cfg);
	struct tclient *alice = user(srv, "alice");
	enter(alice, "/join dev", "dev");
	say(alice, "/ban bob");
	tc_expect(alice, "* alice sets mode +b bob in dev.");
	say(alice, "/ban carol");
	tc_expect(alice, "* error: too many bans in dev (at most 1).");
	TS_WAIT_COUNTER(srv, room_list_full, 1, 2000);
	tc_close(alice);
	ts_stop(srv);
}

Test(roomops, a_key_is_needed_to_join, .timeout = 30)
{
	struct tclient *alice;
	struct server *srv = start_with_dev(&alice);
	struct tclient *bob = user(srv, "bob");
	say(alice, "/key sesame");
	tc_expect(alice, "* alice sets mode +k in dev.");
	say(bob, "/join dev");
	tc_expect(bob, "* error: dev has a key (+k): /join dev KEY, with the right key.");
	say(bob, "/join dev wrong");
	tc_expect(bob, "* error: dev has a key (+k): /join dev KEY, with the right key.");
	TS_WAIT_COUNTER(srv, room_bad_key, 2, 2000);
	enter(bob, "/join dev sesame", "dev");
	say(alice, "/key -");
	tc_expect_eventually(alice, "* alice sets mode -k in dev.", 3000);
	enter(bob, "/join lobby", "lobby");
	enter(bob, "/join dev", "dev");
	tc_close_all((struct tclient *[]){ alice, bob }, 2);
	ts_stop(srv);
}

Test(roomops, the_member_limit_refuses_one_more, .timeout = 30)
{
	struct tclient *alice;
	struct server *srv = start_with_dev(&alice);
	struct tclient *bob = user(srv, "bob"), *carol = user(srv, "carol");
	say(alice, "/limit 2");
	tc_expect(alice, "* alice sets mode +l 2 in dev.");
	enter(bob, "/join dev", "dev");
	say(carol, "/join dev");
	tc_expect_eventually(carol, "* error: dev is full (+l).", 3000);
	TS_WAIT_COUNTER(srv, room_full, 1, 2000);
	say(alice, "/limit -");
	tc_expect_eventually(alice, "* alice sets mode -l in dev.", 3000);
	enter(carol, "/join dev", "dev");
	tc_close_all((struct tclient *[]){ alice, bob, carol }, 3);
	ts_stop(srv);
}

Test(roomops, invite_only_lets_an_invited_user_in_once, .timeout = 30)
{
	struct tclient *alice;
	struct server *srv = start_with_dev(&alice);
	struct tclient *bob = user(srv, "bob");
	say(alice, "/mode +i");
	tc_expect(alice, "* alice sets mode +i in dev.");
	say(bob, "/join dev");
	tc_expect(bob, "* error: dev is invite only (+i): an operator must /invite you.");
	say(alice, "/invite bob");
	tc_expect(alice, "* bob is invited to dev.");
	tc_expect_eventually(bob, "* alice invites you to dev: /join dev", 3000);
	enter(bob, "/join dev", "dev");
	enter(bob, "/join lobby", "lobby");
	say(bob, "/join dev");
	tc_expect_eventually(bob, "* error: dev is invite only (+i): an operator must /invite you.",
			     3000);
	TS_WAIT_COUNTER(srv, room_invite_only, 2, 2000);
	tc_close_all((struct tclient *[]){ alice, bob }, 2);
	ts_stop(srv);
}

Test(roomops, a_moderated_room_hears_only_operators_and_voiced, .timeout = 30)
{
	struct tclient *alice;
	struct server *srv = start_with_dev(&alice);
	struct tclient *bob = user(srv, "bob");
	enter(bob, "/join dev", "dev");
	say(alice, "/mode +m");
	tc_expect_eventually(bob, "* alice sets mode +m in dev.", 3000);
	say(bob, "hello?");
	tc_expect(bob, "* error: dev is moderated (+m): only operators and voiced users speak; "
		       "line dropped.");
	TS_WAIT_COUNTER(srv, room_moderated, 1, 2000);
	say(alice, "/voice bob");
	tc_expect_eventually(bob, "* alice sets mode +v bob in dev.", 3000);
	say(bob, "hello!");
	tc_expect_eventually(alice, "bob:hello!", 3000);
	say(alice, "/devoice bob");
	tc_expect_eventually(bob, "* alice sets mode -v bob in dev.", 3000);
	say(bob, "/me waves");
	tc_expect(bob, "* error: dev is moderated (+m): only operators and voiced users speak; "
		       "line dropped.");
	tc_close_all((struct tclient *[]){ alice, bob }, 2);
	ts_stop(srv);
}

Test(roomops, a_secret_room_is_listed_to_its_members_only, .timeout = 30)
{
	struct tclient *alice;
	struct server *srv = start_with_dev(&alice);
	struct tclient *bob = user(srv, "bob");
	say(alice, "/mode +s");
	tc_expect(alice, "* alice sets mode +s in dev.");
	say(bob, "/rooms");
	tc_expect(bob, "* 1 room:");
	tc_expect(bob, "*   lobby 1");
	say(alice, "/rooms");
	tc_expect(alice, "* 2 rooms:");
	expect_prefix(alice, "*   dev 1");
	tc_close_all((struct tclient *[]){ alice, bob }, 2);
	ts_stop(srv);
}

Test(roomops, a_websocket_user_needs_the_key_and_can_be_kicked, .timeout = 30)
{
	struct tclient *alice;
	struct server *srv = start_with_dev(&alice);
	struct wsclient *ws = wc_connect(server_port(srv));
	wc_expect_welcome(ws);
	wc_text(ws, "/nick webby");
	say(alice, "/key sesame");
	tc_expect(alice, "* alice sets mode +k in dev.");
	wc_text(ws, "/join dev");
	wc_expect(ws, "* error: dev has a key (+k): /join dev KEY, with the right key.");
	wc_text(ws, "/join dev sesame");
	wc_expect(ws, "* You are now in dev. 2 users here.");
	say(alice, "/kick webby bye");
	wc_expect(ws, "* You were kicked from dev by alice (bye).");
	wc_expect(ws, "* You are now in lobby. 1 user here.");
	wc_free(ws);
	tc_close(alice);
	ts_stop(srv);
}

/* Reads text frames until one contains both a and b (5 s per frame, then fails). */
static void wc_expect_containing(struct wsclient *c, const char *a, const char *b)
{
	char out[8192];
	size_t len;
	for (;;) {
		int op = wc_read(c, out, sizeof(out), &len);
		if (op == 0x9 || op == 0xA)
			continue;
		cr_assert_eq(op, 1, "waiting for '%s' and '%s': opcode %d", a, b, op);
		if (strstr(out, a) != NULL && strstr(out, b) != NULL)
			return;
	}
}

Test(roomops, a_json_feed_user_refused_by_a_key_gets_an_error_event_and_the_lobby, .timeout = 30)
{
	struct tclient *alice;
	struct server *srv = start_with_dev(&alice);
	say(alice, "/key sesame");
	tc_expect(alice, "* alice sets mode +k in dev.");
	struct wsclient *phone =
	    wc_open_req(ts_dial(server_port(srv)),
			"GET /ws?format=json&room=dev HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n"
			"Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
			"Sec-WebSocket-Version: 13\r\n\r\n");
	wc_expect_containing(phone, "\"type\":\"error\"",
			     "dev has a key (+k): /join dev KEY, with the right key.");
	wc_expect_containing(phone, "\"type\":\"notice\"", "You are now in lobby.");
	wc_free(phone);
	tc_close(alice);
	ts_stop(srv);
}

Test(roomstate, masks_are_names_ranges_or_address_globs)
{
	cr_assert(roomstate_mask_valid("bob", 3));
	cr_assert(roomstate_mask_valid("10.0.0.0/8", 10));
	cr_assert(roomstate_mask_valid("2001:db8::/32", 13));
	cr_assert(roomstate_mask_valid("127.0.0.*", 9));
	cr_assert_not(roomstate_mask_valid("127.0.0.300", 11));
	cr_assert_not(roomstate_mask_valid("bob*", 4));
	cr_assert_not(roomstate_mask_valid("", 0));
	struct cidr_addr a;
	cr_assert(cidr_addr_parse("10.1.2.3", 8, &a));
	cr_assert(roomstate_mask_matches("B0B", "bob", &a));
	cr_assert(roomstate_mask_matches("10.0.0.0/8", "x", &a));
	cr_assert(roomstate_mask_matches("10.1.?.*", "x", &a));
	cr_assert_not(roomstate_mask_matches("10.1.?", "x", &a));
	cr_assert_not(roomstate_mask_matches("11.0.0.0/8", "x", &a));
}

Test(roomstate, a_join_is_checked_ban_invite_key_limit_and_an_invitation_is_used_once)
{
	struct room_state s;
	struct cidr_addr a;
	cr_assert(cidr_addr_parse("127.0.0.9", 9, &a));
	roomstate_init(&s, false);
	cr_assert_eq(roomstate_check_join(&s, "bob", &a, 1, NULL, 0), 0);
	s.modes |= ROOM_MODE_INVITE;
	cr_assert_eq(roomstate_check_join(&s, "bob", &a, 1, NULL, 0), ROOMOPS_E_INVITE);
	char(*inv)[NAME_MAX_LEN + 1] = calloc(1, sizeof(*inv));
	cr_assert_not_null(inv);
	snprintf(inv[0], sizeof(inv[0]), "%s", "BOB");
	s.invites = inv;
	s.ninvites = 1;
	snprintf(s.key, sizeof(s.key), "%s", "k");
	cr_assert_eq(roomstate_check_join(&s, "bob", &a, 1, "x", 1), ROOMOPS_E_KEY);
	s.limit = 1;
	cr_assert_eq(roomstate_check_join(&s, "bob", &a, 1, "k", 1), ROOMOPS_E_FULL);
	s.limit = 2;
	cr_assert_eq(roomstate_check_join(&s, "bob", &a, 1, "k", 1), 0);
	cr_assert_eq(s.ninvites, 0);
	cr_assert_eq(roomstate_check_join(&s, "bob", &a, 1, "k", 1), ROOMOPS_E_INVITE);
	roomstate_free(&s);
}
