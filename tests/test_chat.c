/*
 * test_chat.c - names, rooms, private messages and commands across 4 workers, against a
 * server started in-process (docs/protocol.md, "Commands").
 */
#include "directory.h"
#include "proto.h"
#include "server.h"
#include "stress.h"
#include "testlib.h"

#include <criterion/criterion.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char grin[4] = { '\xf0', '\x9f', '\x98', '\x80' }; /* U+1F600 */

static char *fmt(const char *f, const char *a, const char *b)
{
	static char buf[8][256];
	static int i;
	char *out = buf[i++ % 8];
	/* cppcheck-suppress wrongPrintfScanfArgNum ; one-%s formats leave b unused, C allows it */
	snprintf(out, 256, f, a, b);
	return out;
}

static const char *num(uint64_t v)
{
	static char buf[8][24];
	static int i;
	char *out = buf[i++ % 8];
	snprintf(out, 24, "%llu", (unsigned long long)v);
	return out;
}

/* Renames c and waits for its own notice. */
static void rename_to(struct tclient *c, const char *name)
{
	char line[64];
	snprintf(line, sizeof(line), "/nick %s\n", name);
	tc_send(c, line);
	tc_expect_eventually(c, fmt("* %s is now known as %s.", num(c->name), name), 3000);
}

static unsigned worker_of(struct server *srv, const char *name)
{
	uint64_t id;
	unsigned worker;
	char spelled[NAME_MAX_LEN + 1];
	cr_assert(dir_lookup(&srv->hub.dir, name, strlen(name), &id, &worker, spelled), "%s", name);
	return worker;
}

Test(chat, rename_is_seen_by_the_room_and_names_are_unique, .timeout = 30)
{
	struct config cfg = ts_config(4);
	struct server *srv = ts_start(&cfg);
	struct tclient *a, *b;
	ts_join_pair(srv, &a, &b);
	rename_to(a, "alice");
	tc_expect(b, fmt("* %s is now known as %s.", num(a->name), "alice"));
	tc_send(b, "/nick ALICE\n");
	tc_expect(b, "* error: the name ALICE is taken.");
	tc_send(b, "/nick 5\n");
	tc_expect(b, "* error: a name is 1-32 letters, digits, _ or -, starting with a letter.");
	tc_send(a, "hello\n");
	tc_expect(b, "alice:hello");
	tc_expect(a, "alice:hello");
	/* the old name is free again; the new one routes */
	rename_to(b, "bob");
	tc_send(a, "/msg BOB hi\n");
	tc_expect_eventually(a, "* to bob: hi", 2000); /* after bob's rename notice */
	tc_expect_eventually(b, "(private) alice:hi", 2000);
	tc_close(a);
	tc_close(b);
	ts_stop(srv);
}

#define RACERS 8

Test(chat, two_clients_racing_for_one_name_exactly_one_wins, .timeout = 60)
{
	struct config cfg = ts_config(4);
	struct server *srv = ts_start(&cfg);
	struct tclient *c[RACERS];
	char cur[RACERS][NAME_MAX_LEN + 1];
	ts_join_users(srv, c, RACERS);
	for (int i = 0; i < RACERS; i++)
		snprintf(cur[i], sizeof(cur[i]), "%s", num(c[i]->name));
	char line[256], taken[128], mine[128];
	for (int round = 0; round < 20; round++) {
		char name[32], cmd[64];
		snprintf(name, sizeof(name), "racer%d", round);
		snprintf(cmd, sizeof(cmd), "/nick %s\n", name);
		snprintf(taken, sizeof(taken), "* error: the name %.32s is taken.", name);
		for (int i = 0; i < RACERS; i++)
			tc_send(c[i], cmd);
		int winners = 0, losers = 0;
		for (int i = 0; i < RACERS; i++) {
			snprintf(mine, sizeof(mine), "* %.32s is now known as %.32s.", cur[i],
				 name);
			for (;;) { /* each racer hears its own rename or the refusal */
				cr_assert_eq(tc_read_line(c[i], line, sizeof(line), 3000), 1,
					     "racer %d got no answer", i);
				if (strcmp(line, taken) == 0) {
					losers++;
					break;
				}
				if (strcmp(line, mine) == 0) {
					winners++;
					snprintf(cur[i], sizeof(cur[i]), "%s", name);
					break;
				}
			}
		}
		cr_assert_eq(winners, 1, "round %d: %d winners", round, winners);
		cr_assert_eq(losers, RACERS - 1);
	}
	tc_close_all(c, RACERS);
	ts_stop(srv);
}

Test(chat, joining_isolates_traffic, .timeout = 30)
{
	struct config cfg = ts_config(4);
	struct server *srv = ts_start(&cfg);
	uint16_t port = server_port(srv);
	struct tclient *a = tc_join(port), *b = tc_join(port), *c = tc_join(port);
	ts_wait_users(srv, 3);
	tc_send(c, "/join dev\n");
	tc_expect_eventually(c, "* You are now in dev. 1 user here.", 2000);
	tc_expect_eventually(a, fmt("* %s has left.", num(c->name), NULL), 2000);
	tc_expect_eventually(b, fmt("* %s has left.", num(c->name), NULL), 2000);
	tc_send(a, "lobby only\n");
	tc_expect(b, fmt("%s:lobby only", num(a->name), NULL));
	tc_expect(a, fmt("%s:lobby only", num(a->name), NULL));
	tc_send(c, "dev only\n");
	tc_expect(c, fmt("%s:dev only", num(c->name), NULL));
	tc_expect_silence(a, 300);
	tc_expect_silence(b, 10);
	tc_expect_silence(c, 10); /* and c never saw the lobby line */
	/* b follows c: entry notice in dev, leave notice in lobby */
	tc_send(b, "/join DEV\n");
	tc_expect(b, "* You are now in dev. 2 users here.");
	/* and the room's history: what c said */
	tc_expect(b, "* Last line in dev:");
	char said[256];
	cr_assert_geq(tc_read_line(b, said, sizeof(said), 2000), 0);
	cr_assert_str_eq(said + strlen("[00:00:00] "), fmt("%s:dev only", num(c->name), NULL));
	tc_expect(b, "* (end of history)");
	tc_expect(c, fmt("* %s has entered.", num(b->name), NULL));
	tc_expect(a, fmt("* %s has left.", num(b->name), NULL));
	tc_send(b, "/join dev\n");
	tc_expect(b, "* error: you are already in dev.");
	tc_close(a);
	tc_close(b);
	tc_close(c);
	ts_stop(srv);
}

Test(chat, private_message_across_workers, .timeout = 30)
{
	struct config cfg = ts_config(4);
	struct server *srv = ts_start(&cfg);
	struct tclient *c[12];
	int n = 12;
	ts_join_users(srv, c, n);
	/* pick two users on different workers */
	int from = 0, to = -1;
	unsigned wf = worker_of(srv, num(c[0]->name));
	for (int i = 1; i < n && to < 0; i++)
		if (worker_of(srv, num(c[i]->name)) != wf)
			to = i;
	cr_assert_geq(to, 0, "SO_REUSEPORT put 12 connections on one worker");
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "/msg %s secret one\n", num(c[to]->name));
	tc_send(c[from], cmd);
	tc_send(c[from], "/msg nobody x\n");
	tc_expect_eventually(c[from], fmt("* to %s: secret one", num(c[to]->name), NULL), 2000);
	tc_expect_eventually(c[from], "* error: no such user: \"nobody\".", 2000);
	tc_expect_eventually(c[to], fmt("(private) %s:secret one", num(c[from]->name), NULL), 2000);
	/* nobody else got it */
	char line[256];
	for (int i = 0; i < n; i++) {
		if (i == to)
			continue;
		while (tc_read_line(c[i], line, sizeof(line), i == 1 ? 200 : 0) == 1)
			cr_assert_null(strstr(line, "secret"), "client %d saw '%s'", i, line);
	}
	tc_close_all(c, n);
	ts_stop(srv);
}

Test(chat, per_sender_fifo_holds_across_room_and_private_lines, .timeout = 30)
{
	struct config cfg = ts_config(4);
	struct server *srv = ts_start(&cfg);
	struct tclient *c[8];
	ts_join_users(srv, c, 8);
	int to = 1;
	unsigned wf = worker_of(srv, num(c[0]->name));
	for (int i = 1; i < 8; i++)
		if (worker_of(srv, num(c[i]->name)) != wf)
			to = i;
	char cmd[128];
	for (int k = 0; k < 200; k++) {
		if (k % 2)
			snprintf(cmd, sizeof(cmd), "/msg %s n%d\n", num(c[to]->name), k);
		else
			snprintf(cmd, sizeof(cmd), "n%d\n", k);
		tc_send(c[0], cmd);
	}
	char line[256];
	for (int k = 0; k < 200;) {
		cr_assert_eq(tc_read_line(c[to], line, sizeof(line), 3000), 1, "line %d missing",
			     k);
		char want[64];
		snprintf(want, sizeof(want), "%s%s:n%d", k % 2 ? "(private) " : "", num(c[0]->name),
			 k);
		if (line[0] == '*')
			continue;
		cr_assert_str_eq(line, want);
		k++;
	}
	tc_close_all(c, 8);
	ts_stop(srv);
}

static long count_in(const char *listing, const char *room)
{
	char pat[64];
	snprintf(pat, sizeof(pat), "*   %s ", room);
	const char *p = strstr(listing, pat);
	return p ? atol(p + strlen(pat)) : -1;
}

/* Sends /rooms and returns the listing (header + lines) in out. */
static void rooms(struct tclient *c, char *out, size_t cap)
{
	tc_send(c, "/rooms\n");
	char line[256];
	cr_assert_eq(tc_read_line(c, line, sizeof(line), 3000), 1);
	int n;
	cr_assert_eq(sscanf(line, "* %d room", &n), 1, "'%s'", line);
	size_t len = (size_t)snprintf(out, cap, "%s\n", line);
	for (int i = 0; i < n; i++) {
		cr_assert_eq(tc_read_line(c, line, sizeof(line), 3000), 1);
		len += (size_t)snprintf(out + len, cap - len, "%s\n", line);
	}
}

static void expect_who(struct tclient *c, const char *prefix)
{
	tc_send(c, "/who\n");
	char line[1024];
	for (;;) {
		cr_assert_eq(tc_read_line(c, line, sizeof(line), 3000), 1, "no /who answer");
		if (strncmp(line, "* ", 2) == 0 && strstr(line, " in ") && strchr(line, ':'))
			break;
	}
	cr_assert(strncmp(line, prefix, strlen(prefix)) == 0, "'%s' is not '%s...'", line, prefix);
}

Test(chat, who_and_rooms_counts_follow_joins_and_disconnects, .timeout = 30)
{
	struct config cfg = ts_config(4);
	struct server *srv = ts_start(&cfg);
	uint16_t port = server_port(srv);
	struct tclient *watch = tc_join(port);
	rename_to(watch, "watcher");
	struct tclient *c[6];
	for (int i = 0; i < 6; i++) {
		c[i] = tc_join(port);
		tc_send(c[i], i < 4 ? "/join red\n" : "/join blue\n");
		char want[64];
		snprintf(want, sizeof(want), "* You are now in %s. %d user%s here.",
			 i < 4 ? "red" : "blue", i < 4 ? i + 1 : i - 3,
			 (i < 4 ? i + 1 : i - 3) == 1 ? "" : "s");
		tc_expect_eventually(c[i], want, 3000);
	}
	char listing[2048], line[512];
	while (tc_read_line(watch, line, sizeof(line), 300) == 1) /* the watcher's notices */
		;
	rooms(watch, listing, sizeof(listing));
	cr_assert_eq(count_in(listing, "red"), 4, "%s", listing);
	cr_assert_eq(count_in(listing, "blue"), 2, "%s", listing);
	cr_assert_eq(count_in(listing, "lobby"), 1, "%s", listing);
	expect_who(watch, "* 1 user in lobby: watcher");
	expect_who(c[0], "* 4 users in red: ");
	expect_who(c[4], "* 2 users in blue: ");

	/* disconnects: blue empties and disappears, red shrinks */
	tc_close(c[4]);
	tc_close(c[5]);
	tc_close(c[1]);
	ts_wait_users(srv, 4);
	rooms(watch, listing, sizeof(listing));
	cr_assert_eq(count_in(listing, "blue"), -1, "empty room still listed: %s", listing);
	cr_assert_eq(count_in(listing, "red"), 3, "%s", listing);
	cr_assert(strncmp(listing, "* 2 rooms:", 10) == 0, "%s", listing);
	expect_who(c[0], "* 3 users in red: ");
	/* joining away also empties a room */
	tc_send(watch, "/join red\n");
	tc_expect_eventually(watch, "* You are now in red. 4 users here.", 2000);
	rooms(watch, listing, sizeof(listing));
	cr_assert(strncmp(listing, "* 1 room:", 9) == 0, "%s", listing);
	cr_assert_eq(dir_room_count(&srv->hub.dir), 1);
	tc_close(watch);
	tc_close(c[0]);
	tc_close(c[2]);
	tc_close(c[3]);
	ts_stop(srv);
}

Test(chat, me_quit_help_and_unknown_commands, .timeout = 30)
{
	struct config cfg = ts_config(2);
	struct server *srv = ts_start(&cfg);
	struct tclient *a, *b;
	ts_join_pair(srv, &a, &b);
	rename_to(a, "alice");
	tc_expect(b, "* 1 is now known as alice.");
	tc_send(a, "/me waves\n");
	tc_expect(b, "+ alice waves");
	tc_send(a, "/dance\n");
	tc_expect_eventually(a, "* error: unknown command; /help lists them.", 2000);
	tc_send(a, "//dance\n");
	tc_expect_eventually(b, "alice:/dance", 2000);
	tc_send(b, "/help\n");
	tc_expect_eventually(b, "* Commands:", 2000);
	tc_send(a, "/quit gone fishing\n");
	tc_expect_eventually(a, "* Goodbye.", 2000);
	tc_expect_closed(a, 2000);
	tc_expect_eventually(b, "* alice has left (\"gone fishing\").", 2000);
	tc_expect_silence(b, 200); /* exactly one leave notice */
	tc_close(a);
	tc_close(b);
	ts_stop(srv);
}

Test(chat, max_rooms_is_enforced_with_an_error, .timeout = 30)
{
	struct config cfg = ts_config(2);
	cfg.max_rooms = 2;
	struct server *srv = ts_start(&cfg);
	struct tclient *a = tc_join(server_port(srv));
	tc_send(a, "/join one\n");
	tc_expect(a, "* You are now in one. 1 user here.");
	struct tclient *b = tc_join(server_port(srv));
	tc_send(b, "/join two\n");
	tc_expect(b, "* error: too many rooms (max 2); join an existing one (/rooms).");
	tc_send(b, "/join one\n");
	tc_expect(b, "* You are now in one. 2 users here.");
	cr_assert_eq(ts_stats(srv).join_rejected, 1);
	tc_close(a);
	tc_close(b);
	ts_stop(srv);
}

Test(chat, commands_from_many_users_at_once_keep_the_directory_consistent, .timeout = 60)
{
	const char *err = stress_chat_commands(4, 40, 60);
	cr_assert_null(err, "%s", err);
}

Test(chat, irc_users_in_several_channels_at_once_keep_the_directory_consistent, .timeout = 60)
{
	const char *err = stress_irc_channels(4, 40, 60);
	cr_assert_null(err, "%s", err);
}

Test(chat, flood_control_refuses_then_disconnects, .timeout = 30)
{
	struct config cfg = ts_config(2);
	cfg.rate_limit = 5;
	cfg.rate_burst = 5;
	struct server *srv = ts_start(&cfg);
	struct tclient *a, *b;
	ts_join_pair(srv, &a, &b);
	/* a burst of 5 passes */
	for (int i = 0; i < 5; i++)
		tc_send(a, "ok\n");
	for (int i = 0; i < 5; i++)
		tc_expect(b, fmt("%s:ok", num(a->name), NULL));
	/* the 6th is refused with an error; b never sees it */
	tc_send(a, "too fast\n");
	tc_expect_eventually(a, "* error: slow down: more than 5 lines a second; line dropped.",
			     2000);
	/* keep flooding: more than a burst refused within a second -> disconnected */
	tc_send(a, "spam\nspam\nspam\nspam\nspam\nspam\nspam\nspam\nspam\nspam\n"); /* one write */
	tc_expect_eventually(a, "* error: flooding: more than 5 lines a second; disconnecting.",
			     2000);
	tc_expect_closed(a, 2000);
	tc_expect_eventually(b, fmt("* %s has left.", num(a->name), NULL), 2000);
	struct server_stats st = ts_stats(srv);
	cr_assert_eq(st.flood_disconnects, 1);
	cr_assert_geq(st.lines_rate_limited, 6);
	tc_close(a);
	tc_close(b);
	ts_stop(srv);
}

Test(chat, the_lobby_exists_for_newcomers_even_at_max_rooms, .timeout = 30)
{
	struct config cfg = ts_config(2);
	cfg.max_rooms = 2;
	struct server *srv = ts_start(&cfg);
	uint16_t port = server_port(srv);
	struct tclient *a = tc_join(port);
	tc_send(a, "/join one\n"); /* lobby empties and goes: {one} */
	tc_expect(a, "* You are now in one. 1 user here.");
	struct tclient *b = tc_join(port); /* {one, lobby} */
	tc_send(b, "/join one\n");         /* {one} */
	tc_expect_eventually(b, "* You are now in one. 2 users here.", 2000);
	tc_send(b, "/join two\n"); /* {one, two}: the limit */
	tc_expect_eventually(b, "* You are now in two. 1 user here.", 2000);
	struct tclient *c = tc_join(port); /* the lobby is created past the limit */
	tc_send(c, "/who\n");
	tc_expect(c, fmt("* 1 user in lobby: %s", num(c->name), NULL));
	tc_send(c, "/join three\n");
	tc_expect(c, "* error: too many rooms (max 2); join an existing one (/rooms).");
	tc_close(a);
	tc_close(b);
	tc_close(c);
	ts_stop(srv);
}

/* ---- text that cannot impersonate (docs/protocol.md, "Text") -------------------------------- */

Test(chat, bidi_controls_and_separators_are_refused_naming_the_character, .timeout = 30)
{
	struct config cfg = ts_config(2);
	struct server *srv = ts_start(&cfg);
	struct tclient *a, *b;
	ts_join_pair(srv, &a, &b);
	/* would show as "hi * Server shutting down" read right to left */
	tc_send(a, "hi \xe2\x80\xae"
		   "nwod gnittuhs revreS *\n");
	tc_expect(a, "* error: U+202E (RIGHT-TO-LEFT OVERRIDE) at character 4 is not allowed; "
		     "line dropped.");
	/* a line separator would start a line of its own on a page */
	tc_send(a, "/me waves\xe2\x80\xa8* Server shutting down.\n");
	tc_expect(a, "* error: U+2028 (LINE SEPARATOR) at character 10 is not allowed; line "
		     "dropped.");
	tc_send(a, "\xe2\x81\xa6isolated\xe2\x81\xa9\n");
	tc_expect(a, "* error: U+2066 (LEFT-TO-RIGHT ISOLATE) at character 1 is not allowed; "
		     "line dropped.");
	tc_send(a, "zero\xe2\x80\x8bwidth\n");
	tc_expect(a, "* error: U+200B (ZERO WIDTH SPACE) at character 5 is not allowed; line "
		     "dropped.");
	tc_send(a, "done\n");
	tc_expect(b, fmt("%s:done", num(a->name), NULL)); /* b saw none of the refused lines */
	cr_assert_eq(ts_stats(srv).lines_format, 4);
	tc_close(a);
	tc_close(b);
	ts_stop(srv);
}

Test(chat, a_family_emoji_passes_and_a_stray_joiner_is_refused, .timeout = 30)
{
	struct config cfg = ts_config(2);
	struct server *srv = ts_start(&cfg);
	struct tclient *a, *b;
	ts_join_pair(srv, &a, &b);
	const char *family = "\xf0\x9f\x91\xa8\xe2\x80\x8d\xf0\x9f\x91\xa9\xe2\x80\x8d"
			     "\xf0\x9f\x91\xa7";
	tc_send(a, fmt("%s%s\n", family, "x"));
	tc_expect(b, fmt("%s:%sx", num(a->name), family));
	tc_send(a, "\xe2\x80\x8dhidden\n");
	tc_expect_eventually(a,
			     "* error: U+200D (ZERO WIDTH JOINER) at character 1 is allowed only "
			     "between two visible characters; line dropped.",
			     2000);
	tc_expect_silence(b, 200);
	tc_close(a);
	tc_close(b);
	ts_stop(srv);
}

Test(chat, a_tab_is_relayed_as_one_space, .timeout = 30)
{
	struct config cfg = ts_config(2);
	struct server *srv = ts_start(&cfg);
	struct tclient *a, *b;
	ts_join_pair(srv, &a, &b);
	rename_to(a, "alice");
	tc_expect(b, fmt("* %s is now known as %s.", num(a->name), "alice"));
	tc_send(a, "col1\t\t\tcol2\n");
	tc_expect(b, "alice:col1   col2");
	tc_send(a, "/me \tdances\tslowly\n");
	tc_expect(b, "+ alice dances slowly");
	tc_send(a, fmt("/msg %s a\tb\n", num(b->name), NULL));
	tc_expect_eventually(b, "(private) alice:a b", 2000);
	tc_send(a, "/quit \tbye\tnow\n");
	tc_expect_eventually(b, "* alice has left (\"bye now\").", 2000);
	tc_close(a);
	tc_close(b);
	ts_stop(srv);
}

Test(chat, a_quit_reason_is_quoted_so_it_cannot_end_the_server_line, .timeout = 30)
{
	struct config cfg = ts_config(2);
	struct server *srv = ts_start(&cfg);
	struct tclient *a, *b;
	ts_join_pair(srv, &a, &b);
	rename_to(a, "mallory");
	tc_send(a, "/quit ). * Server shutting down; reconnect at evil.example \"now\"\n");
	tc_expect_eventually(b,
			     "* mallory has left (\"). * Server shutting down; reconnect at "
			     "evil.example \\\"now\\\"\").",
			     2000);
	tc_close(a);
	tc_close(b);
	ts_stop(srv);
}

Test(chat, a_look_alike_of_an_online_name_is_taken, .timeout = 30)
{
	struct config cfg = ts_config(2);
	struct server *srv = ts_start(&cfg);
	struct tclient *a, *b;
	ts_join_pair(srv, &a, &b);
	rename_to(a, "alice");
	tc_send(b, "/nick aIice\n"); /* capital i */
	tc_expect_eventually(b, "* error: the name aIice is taken.", 2000);
	tc_send(b, "/nick A1ICE\n");
	tc_expect(b, "* error: the name A1ICE is taken.");
	tc_send(b, "/nick lO\n"); /* folds like the generated name 10 */
	tc_expect(b, "* error: that name looks like a number (l, I, 1 and O, 0 look alike); "
		     "numbers are kept for generated names.");
	/* /msg finds alice under any spelling that folds alike */
	tc_send(b, "/msg AlIce psst\n");
	tc_expect(b, "* to alice: psst");
	tc_expect_eventually(a, fmt("(private) %s:psst", num(b->name), NULL), 2000);
	cr_assert_eq(ts_stats(srv).nick_rejected, 2);
	tc_close(a);
	tc_close(b);
	ts_stop(srv);
}

/* ---- everything the server sends is valid UTF-8 ---------------------------------------------- */

static bool utf8_clean(const char *s)
{
	size_t n = strlen(s);
	uint32_t st = 0;
	if (!utf8_feed(&st, (const unsigned char *)s, n) || !utf8_complete(st))
		return false;
	return proto_check_line(s, n).kind == LINE_VALID;
}

Test(chat, a_long_private_message_of_emoji_is_echoed_whole_and_valid, .timeout = 30)
{
	struct config cfg = ts_config(2);
	struct server *srv = ts_start(&cfg);
	struct tclient *a, *b;
	ts_join_pair(srv, &a, &b);
	rename_to(b, "bob");
	static char text[4001], cmd[4100], want[4100], line[8192];
	for (size_t i = 0; i < 1000; i++)
		memcpy(text + 4 * i, grin, 4); /* 1,000 emoji: 4,000 bytes */
	snprintf(cmd, sizeof(cmd), "/msg bob %s\n", text);
	tc_send(a, cmd);
	snprintf(want, sizeof(want), "* to bob: %s", text);
	for (;;) {
		cr_assert_eq(tc_read_line(a, line, sizeof(line), 3000), 1, "no echo");
		cr_assert(utf8_clean(line), "not valid UTF-8: %zu bytes", strlen(line));
		if (strncmp(line, "* to bob: ", 10) == 0)
			break;
	}
	cr_assert_eq(strlen(line), strlen(want));
	cr_assert_str_eq(line, want);
	snprintf(want, sizeof(want), "(private) %s:%s", num(a->name), text);
	for (;;) {
		cr_assert_eq(tc_read_line(b, line, sizeof(line), 3000), 1, "no private message");
		cr_assert(utf8_clean(line));
		if (strncmp(line, "(private) ", 10) == 0)
			break;
	}
	cr_assert_str_eq(line, want);
	/* an unknown name as long: quoted, cut on a character boundary */
	snprintf(cmd, sizeof(cmd), "/msg %s hi\n", text);
	tc_send(a, cmd);
	cr_assert_eq(tc_read_line(a, line, sizeof(line), 3000), 1);
	cr_assert(strncmp(line, "* error: no such user: \"", 24) == 0, "%.40s", line);
	cr_assert(utf8_clean(line));
	tc_close(a);
	tc_close(b);
	ts_stop(srv);
}
