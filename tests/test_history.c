/*
 * test_history.c - a room's last lines (history.c) and what users see of them: the history on
 * joining and /history, its limits, and no line missing or twice between the history and the
 * live lines that follow it while others keep talking.
 */
#include "history.h"
#include "msg.h"
#include "server.h"
#include "testlib.h"

#include <criterion/criterion.h>
#include <pthread.h>
#include <stdatomic.h>
#include <unistd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define STAMP "[00:00:00] "

static struct msg *line_msg(const char *text)
{
	struct msg *m = msg_new(strlen(text), 1);
	cr_assert_not_null(m);
	memcpy(m->data, text, strlen(text));
	msg_set_workers(m, 1); /* the history's reference */
	return m;
}

/* ---- history.c ------------------------------------------------------------------------------ */

Test(history, keeps_the_last_lines_in_order_and_numbers_them)
{
	struct history h;
	history_init(&h, 3, 1 << 20);
	char text[32];
	for (int i = 1; i <= 5; i++) {
		snprintf(text, sizeof(text), "a:%d\n", i);
		cr_assert(history_add(&h, line_msg(text), 0, 1000 * (int64_t)i));
	}
	struct history_entry e[8];
	uint64_t pos;
	size_t n = history_take(&h, 8, e, &pos);
	cr_assert_eq(n, 3);
	cr_assert_eq(pos, 5);
	for (size_t i = 0; i < n; i++) {
		snprintf(text, sizeof(text), "a:%zu\n", i + 3);
		cr_assert_eq(e[i].m->len, strlen(text));
		cr_assert(memcmp(e[i].m->data, text, strlen(text)) == 0);
		cr_assert_eq(e[i].seq, i + 3);
		cr_assert_eq(e[i].time_ms, 1000 * (int64_t)(i + 3));
		msg_release(e[i].m);
	}
	n = history_take(&h, 2, e, &pos); /* the newest two */
	cr_assert_eq(n, 2);
	cr_assert_eq(e[0].seq, 4);
	msg_release(e[0].m);
	msg_release(e[1].m);
	history_destroy(&h);
}

Test(history, takes_the_sequence_numbers_it_is_given)
{
	struct history h;
	history_init(&h, 4, 1 << 20);
	struct msg *m = line_msg("a:x\n");
	cr_assert(history_add(&h, m, 41, 0));
	cr_assert_eq(m->seq, 41);
	cr_assert_eq(m->hpos, 1);
	struct msg *next = line_msg("a:y\n");
	cr_assert(history_add(&h, next, 0, 0));
	cr_assert_eq(next->seq, 42);
	history_destroy(&h);
}

Test(history, stays_within_its_bytes)
{
	struct history h;
	struct msg *probe = line_msg("a:0123456789\n");
	size_t each = msg_charge(probe);
	msg_release(probe);
	history_init(&h, 100, 3 * each);
	for (int i = 0; i < 10; i++)
		cr_assert(history_add(&h, line_msg("a:0123456789\n"), 0, 0));
	cr_assert_eq(h.count, 3);
	cr_assert_leq(h.bytes, 3 * each);
	struct msg *big = msg_new(4 * each, 1);
	msg_set_workers(big, 1);
	cr_assert_not(history_add(&h, big, 0, 0), "a line larger than the whole bound is not kept");
	msg_release(big);
	history_destroy(&h);
}

Test(history, off_keeps_nothing)
{
	struct history h;
	history_init(&h, 0, 1 << 20);
	struct msg *m = line_msg("a:x\n");
	cr_assert_not(history_add(&h, m, 0, 0));
	msg_release(m);
	uint64_t pos;
	struct history_entry e[1];
	cr_assert_eq(history_take(&h, 1, e, &pos), 0);
	history_destroy(&h);
}

/* Lines "a:SEQ\n" numbered first..last-1, oldest first, said at SEQ seconds: a seed. */
static size_t seed_lines(struct history_entry *e, uint64_t first, uint64_t last)
{
	size_t n = 0;
	for (uint64_t seq = first; seq < last; seq++, n++) {
		char text[32];
		snprintf(text, sizeof(text), "a:%llu\n", (unsigned long long)seq);
		e[n] = (struct history_entry){ .m = line_msg(text),
					       .seq = seq,
					       .time_ms = 1000 * (int64_t)seq };
	}
	return n;
}

/* The sequence numbers kept, oldest first, checking each line's text and time. */
static size_t kept_seqs(struct history *h, uint64_t *seqs, size_t max, uint64_t *pos)
{
	struct history_entry e[16];
	size_t n = history_take(h, max < 16 ? max : 16, e, pos);
	for (size_t i = 0; i < n; i++) {
		char text[32];
		snprintf(text, sizeof(text), "a:%llu\n", (unsigned long long)e[i].seq);
		cr_assert_eq(e[i].m->len, strlen(text));
		cr_assert(memcmp(e[i].m->data, text, strlen(text)) == 0);
		cr_assert_eq(e[i].time_ms, 1000 * (int64_t)e[i].seq);
		seqs[i] = e[i].seq;
		msg_release(e[i].m);
	}
	return n;
}

Test(history, a_seed_goes_in_front_of_the_lines_kept_and_repeats_none)
{
	long before = msg_live_count();
	struct history h;
	history_init(&h, 8, 1 << 20);
	char text[32];
	for (uint64_t seq = 5; seq <= 6; seq++) { /* two lines kept live: 5 and 6 */
		snprintf(text, sizeof(text), "a:%llu\n", (unsigned long long)seq);
		cr_assert(history_add(&h, line_msg(text), seq, 1000 * (int64_t)seq));
	}
	struct history_entry e[8];
	uint64_t pos, seqs[16];
	size_t n = seed_lines(e, 2, 7); /* 2..6: 5 and 6 are kept already */
	cr_assert_eq(history_seed(&h, e, n, &pos), 3);
	cr_assert_eq(pos, 3, "the seed takes one position after the two lines");
	cr_assert_eq(kept_seqs(&h, seqs, 16, &pos), 5);
	for (size_t i = 0; i < 5; i++)
		cr_assert_eq(seqs[i], 2 + i);
	cr_assert_eq(pos, 3);
	/* a second seed with lines newer than the oldest kept: nothing */
	n = seed_lines(e, 1, 4);
	cr_assert_eq(history_seed(&h, e, n, &pos), 1, "only line 1 is older than line 2");
	cr_assert_eq(kept_seqs(&h, seqs, 16, &pos), 6);
	cr_assert_eq(seqs[0], 1);
	/* the next line appended comes after them all */
	struct msg *next = line_msg("a:7\n");
	cr_assert(history_add(&h, next, 7, 7000));
	cr_assert_eq(next->hpos, 5);
	history_destroy(&h);
	cr_assert_eq(msg_live_count(), before, "every line not kept was released");
}

Test(history, a_seed_keeps_the_newest_lines_that_fit_the_limits)
{
	long before = msg_live_count();
	struct history h;
	history_init(&h, 4, 1 << 20);
	struct history_entry e[8];
	uint64_t pos, seqs[16];
	cr_assert(history_add(&h, line_msg("a:10\n"), 10, 10000));
	size_t n = seed_lines(e, 3, 10); /* 3..9: room for three in front of 10 */
	cr_assert_eq(history_seed(&h, e, n, &pos), 3);
	cr_assert_eq(kept_seqs(&h, seqs, 16, &pos), 4);
	cr_assert_eq(seqs[0], 7);
	cr_assert_eq(seqs[3], 10);
	history_destroy(&h);

	struct msg *probe = line_msg("a:1\n");
	size_t each = msg_charge(probe);
	msg_release(probe);
	history_init(&h, 100, 2 * each); /* bytes for two lines */
	n = seed_lines(e, 1, 6);
	cr_assert_eq(history_seed(&h, e, n, &pos), 2);
	cr_assert_eq(kept_seqs(&h, seqs, 16, &pos), 2);
	cr_assert_eq(seqs[0], 4);
	cr_assert_eq(seqs[1], 5);
	cr_assert_leq(h.bytes, 2 * each);
	history_destroy(&h);

	history_init(&h, 0, 1 << 20); /* off */
	n = seed_lines(e, 1, 3);
	cr_assert_eq(history_seed(&h, e, n, &pos), 0);
	cr_assert_eq(pos, 0);
	history_destroy(&h);
	cr_assert_eq(msg_live_count(), before, "every line not kept was released");
}

/* ---- what users see ------------------------------------------------------------------------- */

static struct server *start(int workers, int lines)
{
	struct config cfg = ts_config(workers);
	cfg.history = lines;
	cfg.rate_limit = 0;
	return ts_start(&cfg);
}

/* Reads a history line and checks it is "[HH:MM:SS] " + want. */
static void expect_stamped(struct tclient *c, const char *want)
{
	char line[512];
	cr_assert_geq(tc_read_line(c, line, sizeof(line), 3000), 0, "no line (wanted %s)", want);
	cr_assert_eq(strlen(line), strlen(STAMP) + strlen(want), "%s", line);
	cr_assert(line[0] == '[' && line[3] == ':' && line[6] == ':' && line[9] == ']', "%s", line);
	cr_assert_str_eq(line + strlen(STAMP), want);
}

static struct tclient *named(uint16_t port, const char *name)
{
	struct tclient *c = tc_join(port);
	char cmd[64], want[96];
	snprintf(cmd, sizeof(cmd), "/nick %s\n", name);
	tc_send(c, cmd);
	snprintf(want, sizeof(want), "* %llu is now known as %s.", (unsigned long long)c->name,
		 name);
	tc_expect_eventually(c, want, 3000);
	return c;
}

Test(history, a_newcomer_gets_the_last_lines_said_not_notices_nor_private_messages, .timeout = 30)
{
	struct server *srv = start(2, 3);
	uint16_t port = server_port(srv);
	struct tclient *alice = named(port, "alice");
	struct tclient *bob = named(port, "bob");
	char renamed[96];
	snprintf(renamed, sizeof(renamed), "* %llu is now known as bob.",
		 (unsigned long long)bob->name);
	tc_expect_eventually(alice, renamed, 3000);
	tc_send(alice, "one\n");
	tc_send(alice, "/me waves\n");
	tc_send(alice, "/msg bob secret\n");
	tc_expect_eventually(bob, "(private) alice:secret", 3000);
	tc_send(bob, "two\n"); /* after alice's lines, as two users see it */
	tc_expect_eventually(alice, "bob:two", 3000);
	tc_send(alice, "three\n");
	tc_expect_eventually(bob, "alice:three", 3000);
	struct tclient *carol = tc_join(port);
	tc_expect(carol, "* Last 3 lines in lobby:");
	expect_stamped(carol, "+ alice waves");
	expect_stamped(carol, "bob:two");
	expect_stamped(carol, "alice:three");
	tc_expect(carol, "* (end of history)");
	tc_send(alice, "four\n");
	tc_expect_eventually(carol, "alice:four", 3000); /* and then live lines */
	tc_send(carol, "/history 1\n");
	tc_expect(carol, "* Last line in lobby:");
	expect_stamped(carol, "alice:four");
	tc_expect(carol, "* (end of history)");
	tc_send(carol, "/join quiet\n");
	tc_expect(carol, "* You are now in quiet. 1 user here.");
	tc_send(carol, "/history\n");
	tc_expect(carol, "* No lines kept in quiet yet.");
	tc_send(carol, "/history 0\n");
	tc_expect(carol, "* error: usage: /history [N], N from 1 to 10000.");
	tc_send(carol, "/history x\n");
	tc_expect(carol, "* error: usage: /history [N], N from 1 to 10000.");
	tc_close(alice);
	tc_close(bob);
	tc_close(carol);
	ts_stop(srv);
}

Test(history, off_with_history_0, .timeout = 30)
{
	struct server *srv = start(1, 0);
	uint16_t port = server_port(srv);
	struct tclient *alice = tc_join(port);
	tc_send(alice, "hello\n");
	char said[64];
	snprintf(said, sizeof(said), "%llu:hello", (unsigned long long)alice->name);
	tc_expect_eventually(alice, said, 3000);
	struct tclient *bob = tc_join(port);
	tc_expect_silence(bob, 200);
	tc_send(bob, "/history\n");
	tc_expect(bob, "* No lines kept in lobby yet.");
	tc_close(alice);
	tc_close(bob);
	ts_stop(srv);
}

/* ---- the join boundary under traffic -------------------------------------------------------- */

#define SENDERS 3
#define LAST    999999 /* a sender's last line: "sI-999999" */

struct sender {
	struct tclient *c;
	int index;
	atomic_bool *stop;
};

/* Says numbered lines, "sI-1", "sI-2"..., until told to stop, then "sI-LAST". */
static void *talk(void *arg)
{
	struct sender *s = arg;
	char line[64];
	for (int k = 1; !atomic_load(s->stop) && k < LAST; k++) {
		snprintf(line, sizeof(line), "s%d-%d\n", s->index, k);
		tc_send(s->c, line);
		if (k % 5 == 0)
			usleep(1000);
	}
	snprintf(line, sizeof(line), "s%d-%d\n", s->index, LAST);
	tc_send(s->c, line);
	return NULL;
}

/* Parses "sI-K" at the end of a chat line; false for anything else. */
static bool parse_said(const char *line, int *i, int *k)
{
	const char *colon = strchr(line, ':');
	return colon != NULL && sscanf(colon + 1, "s%d-%d", i, k) == 2;
}

Test(history, a_user_joining_while_others_talk_misses_no_line_and_gets_none_twice, .timeout = 60)
{
	struct server *srv = start(4, 50);
	uint16_t port = server_port(srv);
	atomic_bool stop = false;
	struct sender s[SENDERS];
	pthread_t t[SENDERS];
	for (int i = 0; i < SENDERS; i++)
		s[i] = (struct sender){ .c = tc_join(port), .index = i, .stop = &stop };
	ts_wait_users(srv, SENDERS);
	for (int i = 0; i < SENDERS; i++)
		cr_assert_eq(pthread_create(&t[i], NULL, talk, &s[i]), 0);
	usleep(30000); /* mid-stream */
	struct tclient *late = tc_join(port);
	int last[SENDERS];
	for (int i = 0; i < SENDERS; i++)
		last[i] = -1;
	int done = 0, from_history = 0, live = 0;
	char line[256];
	while (done < SENDERS) {
		cr_assert_geq(tc_read_line(late, line, sizeof(line), 5000), 0, "%d of %d done",
			      done, SENDERS);
		if (line[0] == '*')
			continue;
		bool stamped = line[0] == '[';
		from_history += stamped;
		live += !stamped;
		if (live == 200)
			atomic_store(&stop, true);
		int i, k;
		cr_assert(parse_said(stamped ? line + strlen(STAMP) : line, &i, &k), "%s", line);
		cr_assert(i >= 0 && i < SENDERS);
		if (k == LAST) {
			done++;
			continue;
		}
		cr_assert(last[i] == -1 || k == last[i] + 1, "sender %d: %d after %d (%s)", i, k,
			  last[i], line);
		last[i] = k;
	}
	for (int i = 0; i < SENDERS; i++)
		pthread_join(t[i], NULL);
	cr_assert_gt(from_history, 0, "the late user joined after lines were said");
	cr_log_info("%d lines from the history, %d live", from_history, live);
	for (int i = 0; i < SENDERS; i++)
		tc_close(s[i].c);
	tc_close(late);
	ts_stop(srv);
}
