/*
 * test_memory.c - what a client costs and the server-wide cap: a queued entry is charged its
 * whole allocation against --max-outbuf, a ping flood holds one pong, control frames count
 * against the rate limit, stalled readers hold at most --max-outbuf each, and over
 * --max-memory newcomers are refused and the largest consumer is cut first.
 *
 * The heap figures are the process's live heap (memory_heap_bytes: mallinfo2, or the
 * sanitizer's allocator); the server runs in the test's process, and the test's own clients
 * allocate before the baseline is taken. Not run under valgrind, whose allocator mallinfo2
 * does not see.
 */
#include "memory.h"
#include "stress.h"
#include "testlib.h"

#include <criterion/criterion.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/* ---- the heap's peak, sampled every millisecond by a thread --------------------------------- */

struct peak {
	pthread_t thread;
	atomic_bool stop;
	size_t base, max;
};

static void *peak_run(void *arg)
{
	struct peak *p = arg;
	while (!atomic_load(&p->stop)) {
		size_t h = memory_heap_bytes();
		if (h > p->max)
			p->max = h;
		usleep(1000);
	}
	return NULL;
}

static void peak_start(struct peak *p)
{
	memset(p, 0, sizeof(*p));
	p->base = p->max = memory_heap_bytes();
	cr_assert_eq(pthread_create(&p->thread, NULL, peak_run, p), 0);
}

/* Stops sampling; returns the peak rise over the baseline. */
static size_t peak_stop(struct peak *p)
{
	atomic_store(&p->stop, true);
	pthread_join(p->thread, NULL);
	return p->max > p->base ? p->max - p->base : 0;
}

/* A loopback socket with a small receive buffer: a reader that stalls stalls early. */
static int dial_small(uint16_t port)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	int small = 4096;
	setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof(small));
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port) };
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	cr_assert_eq(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	return fd;
}

/* Sends n empty masked pings without reading; stops early if the server closes. */
static void ping_flood(struct wsclient *ws, int n)
{
	static const unsigned char ping[6] = { 0x89, 0x80, 1, 2, 3, 4 };
	unsigned char burst[6 * 1000];
	for (size_t i = 0; i < sizeof(burst); i += 6)
		memcpy(burst + i, ping, 6);
	for (int sent = 0; sent < n; sent += 1000) {
		struct pollfd p = { .fd = ws->fd, .events = POLLOUT };
		if (poll(&p, 1, 5000) != 1 || (p.revents & (POLLERR | POLLHUP)))
			return;
		if (send(ws->fd, burst, sizeof(burst), MSG_NOSIGNAL) < 0)
			return;
	}
}

static long count_frames(struct wsclient *ws, int opcode, int quiet_ms)
{
	long n = 0;
	for (;;) {
		struct pollfd p = { .fd = ws->fd, .events = POLLIN };
		if (ws->len < 2 && poll(&p, 1, quiet_ms) != 1)
			return n;
		char out[256];
		size_t len;
		int op = wc_read(ws, out, sizeof(out), &len);
		if (op < 0)
			return n;
		n += op == opcode;
	}
}

Test(memory, a_ping_flood_without_reading_holds_one_pong_not_one_per_ping, .timeout = 60)
{
	struct config cfg = ts_config(1);
	cfg.rate_limit = 0; /* the coalescing alone; the rate limit is tested below */
	struct server *srv = ts_start(&cfg);
	struct wsclient *ws = wc_open(dial_small(server_port(srv)));
	wc_expect_welcome(ws);
	struct peak pk;
	peak_start(&pk);
	ping_flood(ws, 100000);
	usleep(200000);
	size_t rise = peak_stop(&pk);
	cr_log_info("heap rise %zu bytes under 100,000 pings", rise);
	/* before: one 256-byte message per unanswered ping, ~25 MB here */
	cr_assert_lt(rise, (size_t)256 * 1024, "heap rose %zu bytes under 100,000 pings", rise);
	long pongs = count_frames(ws, 0xA, 300);
	cr_assert_gt(pongs, 0, "the latest ping is answered");
	cr_assert_lt(pongs, 100000, "not every ping: only the latest while one is pending");
	wc_text(ws, "still here");
	wc_expect(ws, "1:still here");
	wc_free(ws);
	ts_stop(srv);
}

Test(memory, websocket_control_frames_count_against_the_rate_limit, .timeout = 30)
{
	struct config cfg = ts_config(1);
	cfg.rate_limit = 100; /* burst 200 */
	struct server *srv = ts_start(&cfg);
	struct wsclient *ws = wc_connect(server_port(srv));
	wc_expect_welcome(ws);
	ping_flood(ws, 1000);
	wc_expect(ws, "* error: flooding: more than 100 lines a second; disconnecting.");
	count_frames(ws, 0, 2000); /* read to the end: the server closes */
	struct server_stats st = ts_stats(srv);
	cr_assert_eq(st.flood_disconnects, 1);
	cr_assert_geq(st.lines_rate_limited, 200);
	wc_free(ws);
	ts_stop(srv);
}

/* Asks /who until c's room has `users` users (fails after 5 s). */
static void wait_room_users(struct tclient *c, int users)
{
	char want[64], got[4096];
	int n = snprintf(want, sizeof(want), "* %d users in ", users);
	for (int i = 0; i < 100; i++) {
		tc_send(c, "/who\n");
		while (tc_read_line(c, got, sizeof(got), 50) == 1)
			if (strncmp(got, want, (size_t)n) == 0)
				return;
	}
	cr_assert_fail("the room never had %d users", users);
}

/* Room lines of 200 bytes from `sender`, reading its own echoes so that it keeps up. */
static void chat_flood(struct tclient *sender, int lines)
{
	char line[256], got[4096];
	memset(line, 'x', 200);
	line[200] = '\n';
	line[201] = '\0';
	for (int i = 0; i < lines; i++) {
		tc_send(sender, line);
		while (tc_read_line(sender, got, sizeof(got), 0) == 1)
			;
	}
}

Test(memory, stalled_readers_hold_at_most_max_outbuf_each, .timeout = 120)
{
	struct config cfg = ts_config(2);
	cfg.rate_limit = 0;
	cfg.max_outbuf = (size_t)64 * 1024;
	struct server *srv = ts_start(&cfg);
	uint16_t port = server_port(srv);
	struct wsclient *pinger[10];
	int stalled[10];
	struct tclient *sender = tc_join(port);
	tc_send(sender, "/join flood\n");
	tc_expect_eventually(sender, "* You are now in flood. 1 user here.", 2000);
	for (int i = 0; i < 10; i++) {
		pinger[i] = wc_open(dial_small(port)); /* stays in the lobby: only pongs */
		stalled[i] = dial_small(port);
		send(stalled[i], "/join flood\n", 12, MSG_NOSIGNAL); /* then never reads */
	}
	ts_wait_users(srv, 21);
	wait_room_users(sender, 11);
	struct peak pk;
	peak_start(&pk);
	for (int round = 0; round < 20; round++) {
		for (int i = 0; i < 10; i++)
			ping_flood(pinger[i], 5000);
		chat_flood(sender, 500);
	}
	size_t rise = peak_stop(&pk);
	cr_log_info("heap rise %zu bytes (20 stalled connections, --max-outbuf %zu)", rise,
		    cfg.max_outbuf);
	/* 20 connections x --max-outbuf, plus what is in flight, the same whatever the number of
	 * stalled connections: the lines fanned out between two flushes (at most 1,024, ~450 KB
	 * of 200-byte lines) and those waiting in the other worker's inbox when it runs behind
	 * (measured: 0-2.2 MB). Before the fix the pongs alone held 16 MB. */
	size_t bound = 20 * cfg.max_outbuf + ((size_t)4 << 20);
	cr_assert_leq(rise, bound, "heap rose %zu bytes, bound %zu", rise, bound);
	/* the sender kept chatting throughout */
	char want[64];
	snprintf(want, sizeof(want), "%llu:done", (unsigned long long)sender->name);
	tc_send(sender, "done\n");
	tc_expect_eventually(sender, want, 5000);
	for (int i = 0; i < 10; i++) {
		wc_free(pinger[i]);
		close(stalled[i]);
	}
	tc_close(sender);
	ts_stop(srv);
}

Test(memory, over_max_memory_newcomers_are_told_the_server_is_busy, .timeout = 30)
{
	struct config cfg = ts_config(1);
	cfg.max_memory = memory_heap_bytes() + ((size_t)4 << 20);
	struct server *srv = ts_start(&cfg);
	uint16_t port = server_port(srv);
	struct tclient *a = tc_join(port);
	/* The heap is the process's, and the server runs in this one: 8 MB allocated here put it
	 * over the cap, and nobody's connection is worth cutting (below the smallest bucket). */
	char *volatile big = malloc((size_t)8 << 20);
	cr_assert_not_null(big);
	big[0] = 1;
	usleep(100000); /* a few samples */
	struct tclient *b = tc_connect(port);
	tc_expect(b, "* error: server busy (out of memory); try again later.");
	tc_expect_closed(b, 2000);
	tc_send(a, "fine\n"); /* a user already in keeps chatting */
	tc_expect_eventually(a, "1:fine", 2000);
	free(big);
	usleep(100000);
	struct tclient *c = tc_join(port); /* back under: admitted again */
	struct server_stats st = ts_stats(srv);
	cr_assert_geq(st.rejected_busy, 1);
	cr_assert_eq(st.memory_evictions, 0);
	tc_close(a);
	tc_close(b);
	tc_close(c);
	ts_stop(srv);
}

/* /msg lines of ~4 KB to `to`, reading the sender's echoes as they come. */
static void msg_flood(struct tclient *sender, const char *to, int lines)
{
	static char line[4200];
	int k = snprintf(line, sizeof(line), "/msg %s ", to);
	memset(line + k, 'm', 4000);
	line[k + 4000] = '\n';
	line[k + 4001] = '\0';
	char got[8192];
	for (int i = 0; i < lines; i++) {
		tc_send(sender, line);
		cr_assert_eq(tc_read_line(sender, got, sizeof(got), 5000), 1, "echo %d", i);
	}
}

Test(memory, over_max_memory_the_largest_consumer_is_cut_first, .timeout = 120)
{
	struct config cfg = ts_config(1); /* one worker: the order of cuts is exact */
	cfg.rate_limit = 0;
	cfg.flush_interval_ms = 0; /* the sender waits for each echo */
	cfg.max_outbuf = 32 << 20; /* nobody is cut as a slow consumer */
	/* Room for mid's whole queue (~4 MB) and then some: only big needs to go, and it goes
	 * once it holds more than 6 MB, well above mid. */
	cfg.max_memory = memory_heap_bytes() + (11 << 20);
	struct server *srv = ts_start(&cfg);
	uint16_t port = server_port(srv);
	struct tclient *sender = tc_join(port), *talker = tc_join(port), *listener = tc_join(port);
	struct tclient *big = tc_adopt(dial_small(port)), *mid = tc_adopt(dial_small(port));
	ts_wait_users(srv, 5);
	tc_send(sender, "/nick sender\n");
	tc_expect_eventually(sender, "* 1 is now known as sender.", 2000);
	tc_send(big, "/nick big\n");
	tc_expect_eventually(sender, "* 4 is now known as big.", 2000);
	tc_send(mid, "/nick mid\n");
	tc_expect_eventually(sender, "* 5 is now known as mid.", 2000);
	/* mid stalls with ~4 MB sent to it (part of it in kernel buffers); then big gets more
	 * until the heap passes the cap */
	msg_flood(sender, "mid", 1000);
	for (int i = 0;
	     i < 20 && ts_stats(srv).memory_evictions == 0 && memory_heap_bytes() <= cfg.max_memory;
	     i++)
		msg_flood(sender, "big", 250);
	/* over the cap now: the rounds (one every 10 ms, the floor halving from 32 MiB) reach
	 * big's bucket within a few samples */
	uint64_t cut = TS_WAIT_COUNTER(srv, memory_evictions, 1, 2000);
	cr_assert_eq(cut, 1, "one connection cut, not %llu", (unsigned long long)cut);
	tc_expect_closed(big, 5000);
	/* mid was not cut: everything queued for it arrives once it reads */
	char got[8192];
	int n = 0;
	while (tc_read_line(mid, got, sizeof(got), 2000) == 1)
		n += strncmp(got, "(private) sender:mmm", 20) == 0;
	cr_assert_eq(n, 1000, "mid got %d of its 1000 messages", n);
	/* and the others chat on */
	tc_send(talker, "still chatting\n");
	tc_expect_eventually(listener, "2:still chatting", 5000);
	cr_assert_eq(ts_stats(srv).memory_evictions, 1);
	tc_close(sender);
	tc_close(talker);
	tc_close(listener);
	tc_close(big);
	tc_close(mid);
	ts_stop(srv);
}

Test(memory, a_stalled_reader_among_chatting_users_is_cut_and_they_get_everything, .timeout = 60)
{
	const char *err = stress_memory_cap(2, 10, 2, 20);
	cr_assert_null(err, "%s", err);
}
