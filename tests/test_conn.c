/*
 * test_conn.c - one connection's output queue: what conn_flush puts on the wire, whatever the
 * scratch buffer it copies through; writes the kernel takes only part of, resumed mid-message;
 * the ring wrapping around and growing while wrapped; control replies replaced only while
 * unsent; conn_trim; the out_bytes/out_charge bookkeeping; and that every message is released
 * once written.
 *
 * The connection is one end of a socketpair(AF_UNIX, SOCK_STREAM); the test reads the other.
 * Only the line protocol's defaults are used (no protocol field is touched), and one worker,
 * index 0.
 */
#include "conn.h"
#include "msg.h"

#include <criterion/criterion.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static struct conn *c;
static int peer = -1;

/* A connection on one end of a socketpair, its send buffer sndbuf bytes (0: the default). */
static void open_conn(int sndbuf)
{
	int sv[2];
	cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv), 0);
	if (sndbuf > 0)
		cr_assert_eq(setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof(sndbuf)), 0);
	c = conn_new(sv[0], 1, 0);
	cr_assert_not_null(c);
	peer = sv[1];
}

static void close_conn(void)
{
	if (c != NULL)
		conn_free(c);
	c = NULL;
	if (peer >= 0)
		close(peer);
	peer = -1;
}

/* Queues text as one message, as route_enqueue does; returns what the entry is charged. */
static size_t queue_text(const char *text)
{
	size_t len = strlen(text);
	struct msg *m = msg_new(len, 1);
	cr_assert_not_null(m);
	memcpy(m->data, text, len);
	msg_set_workers(m, 1);
	msg_local_begin(m, 0);
	size_t charge = msg_charge(m);
	cr_assert_eq(conn_enqueue(c, m), 0);
	msg_local_put(m, 0); /* the fan-out's hold; the queue entry remains */
	return charge;
}

static void queue_texts(const char *const *texts, size_t n)
{
	for (size_t i = 0; i < n; i++)
		queue_text(texts[i]);
}

/* Line k of a numbered stream: len bytes, "k:" then letters, then '\n'. */
static void numbered(int k, size_t len, char *out)
{
	int head = snprintf(out, len, "%d:", k);
	memset(out + head, 'a' + k % 26, len - 1 - (size_t)head);
	out[len - 1] = '\n';
	out[len] = '\0';
}

/* Queues lines first..first+count-1 of len bytes; appends them to want (at *want_len). */
static void queue_numbered(int first, int count, size_t len, char *want, size_t *want_len)
{
	char line[4096] = { 0 };
	cr_assert_lt(len, sizeof(line));
	for (int k = first; k < first + count; k++) {
		numbered(k, len, line);
		queue_text(line);
		memcpy(want + *want_len, line, len);
		*want_len += len;
	}
}

/* Reads whatever the peer has now, at most cap bytes, appending at got + *n. */
static void read_available(char *got, size_t *n, size_t cap)
{
	for (;;) {
		ssize_t k = read(peer, got + *n, cap - *n);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			return;
		*n += (size_t)k;
		if (*n == cap)
			return;
	}
}

/* Reads until the peer has received exactly the len bytes of want (fails after 2 s). */
static void expect_wire_n(const char *want, size_t len)
{
	static char got[1 << 20];
	cr_assert_leq(len, sizeof(got));
	size_t n = 0;
	while (n < len) {
		struct pollfd p = { .fd = peer, .events = POLLIN };
		cr_assert_eq(poll(&p, 1, 2000), 1, "%zu of %zu bytes arrived", n, len);
		read_available(got, &n, len);
	}
	struct pollfd p = { .fd = peer, .events = POLLIN };
	cr_assert_eq(poll(&p, 1, 0), 0, "more than the %zu bytes queued", len);
	for (size_t i = 0; i < len; i++)
		cr_assert_eq(got[i], want[i], "byte %zu of %zu", i, len);
}

static void expect_wire(const char *want)
{
	expect_wire_n(want, strlen(want));
}

/* Flushes everything (the socket has room for it); fails otherwise. */
static void flush_all(void)
{
	char scratch[4096] = { 0 };
	size_t written = 0;
	cr_assert_eq(conn_flush(c, 100, scratch, sizeof(scratch), &written), 0, "queue emptied");
	cr_assert_eq(c->out_count, 0);
	cr_assert_eq(c->out_bytes, 0);
	cr_assert_eq(c->out_charge, 0);
}

/* One write of at most cap bytes (the scratch buffer bounds it when several are queued). */
static size_t flush_one_write(size_t cap)
{
	char scratch[4096] = { 0 };
	size_t written = 0;
	cr_assert_leq(cap, sizeof(scratch));
	int rc = conn_flush(c, 1, scratch, cap, &written);
	cr_assert(rc == 0 || rc == -EAGAIN, "conn_flush: %d", rc);
	return written;
}

TestSuite(conn, .fini = close_conn, .timeout = 10);

/* ---- what goes on the wire ------------------------------------------------------------------ */

static void flush_through(size_t scratch_cap)
{
	open_conn(0);
	static const char *const texts[] = { "1:one\n", "22:two two\n", "333:three three three\n",
					     "4:four\n", "55:five five\n" };
	queue_texts(texts, 5);
	char scratch[64] = { 0 };
	size_t written = 0;
	cr_assert_eq(conn_flush(c, 100, scratch, scratch_cap, &written), 0, "queue emptied");
	const char *want = "1:one\n22:two two\n333:three three three\n4:four\n55:five five\n";
	cr_assert_eq(written, strlen(want));
	cr_assert_eq(c->out_count, 0);
	cr_assert_eq(c->out_bytes, 0);
	expect_wire(want);
	cr_assert_eq(msg_live_count(), 0, "every written message released");
}

Test(conn, queued_lines_go_out_in_order_as_one_contiguous_write)
{
	flush_through(64);
}

Test(conn, a_scratch_smaller_than_the_queue_cuts_mid_message_and_resumes)
{
	flush_through(7); /* each write copies 7 bytes, across message boundaries */
}

Test(conn, without_a_scratch_buffer_the_write_gathers_the_messages)
{
	flush_through(0);
}

Test(conn, a_write_cut_mid_message_resumes_at_out_off)
{
	open_conn(0);
	char want[64] = { 0 };
	size_t len = 0;
	queue_numbered(0, 3, 10, want, &len);
	cr_assert_eq(flush_one_write(13), 13);
	cr_assert_eq(c->out_count, 2, "the first line is out");
	cr_assert_eq(c->out_off, 3, "3 bytes of the second");
	cr_assert_eq(c->out_bytes, 17);
	cr_assert_eq(msg_live_count(), 2);
	cr_assert_eq(flush_one_write(13), 13);
	cr_assert_eq(c->out_count, 1);
	cr_assert_eq(c->out_off, 6);
	cr_assert_eq(c->out_bytes, 4);
	flush_all();
	expect_wire_n(want, len);
	cr_assert_eq(c->out_off, 0);
	cr_assert_eq(msg_live_count(), 0);
}

/* ---- the kernel taking part of a write ----------------------------------------------------------- */

#define PARTIAL_LINES 64
#define PARTIAL_LEN   1001 /* not a divisor of any buffer size: cuts fall inside lines */

/*
 * Queues 64 KB against a 4 KB send buffer and flushes, reading a little from the peer after
 * each -EAGAIN, until everything is out. After every flush the bookkeeping must describe the
 * unwritten rest exactly: out_bytes, out_count, out_off, out_charge and the live messages.
 */
static void flush_against_a_small_buffer(size_t scratch_cap)
{
	open_conn(4096);
	static char want[PARTIAL_LINES * PARTIAL_LEN], got[sizeof(want)];
	size_t total = 0, charge[PARTIAL_LINES] = { 0 }, sent = 0, n = 0;
	char line[PARTIAL_LEN + 1] = { 0 };
	for (int k = 0; k < PARTIAL_LINES; k++) {
		numbered(k, PARTIAL_LEN, line);
		charge[k] = queue_text(line);
		memcpy(want + total, line, PARTIAL_LEN);
		total += PARTIAL_LEN;
	}
	static char scratch[16384];
	int partial = 0, mid_message = 0;
	for (;;) {
		size_t written = 0;
		int rc = conn_flush(c, 16, scratch, scratch_cap, &written);
		sent += written;
		size_t done = sent / PARTIAL_LEN, rest = 0;
		for (size_t k = done; k < PARTIAL_LINES; k++)
			rest += charge[k];
		cr_assert_eq(c->out_bytes, total - sent);
		cr_assert_eq(c->out_count, PARTIAL_LINES - done);
		cr_assert_eq(c->out_off, sent % PARTIAL_LEN);
		cr_assert_eq(c->out_charge, rest);
		cr_assert_eq(msg_live_count(), (long)(PARTIAL_LINES - done));
		if (rc == 0)
			break;
		cr_assert_eq(rc, -EAGAIN);
		cr_assert_not(c->writable, "a full socket clears writable");
		partial++;
		mid_message += c->out_off > 0;
		struct pollfd p = { .fd = peer, .events = POLLIN };
		cr_assert_eq(poll(&p, 1, 2000), 1);
		read_available(got, &n, n + 3000 < total ? n + 3000 : total); /* a little room */
		c->writable = true;                                           /* as on EPOLLOUT */
	}
	cr_assert_eq(sent, total);
	cr_assert_gt(partial, 2, "the 4 KB buffer took the 64 KB in one go");
	cr_assert_gt(mid_message, 0, "no write ended inside a line");
	while (n < total) {
		struct pollfd p = { .fd = peer, .events = POLLIN };
		cr_assert_eq(poll(&p, 1, 2000), 1, "%zu of %zu bytes arrived", n, total);
		read_available(got, &n, total);
	}
	cr_assert_eq(memcmp(got, want, total), 0, "the bytes arrive intact and in order");
}

Test(conn, the_kernel_taking_part_of_a_write_resumes_mid_message_through_the_scratch_buffer)
{
	flush_against_a_small_buffer(16384);
}

Test(conn, the_kernel_taking_part_of_a_gathered_write_resumes_mid_message)
{
	flush_against_a_small_buffer(0);
}

/* ---- the ring ---------------------------------------------------------------------------------- */

Test(conn, the_ring_wraps_around_and_grows_while_wrapped_keeping_the_order)
{
	open_conn(0);
	char want[256] = { 0 };
	size_t len = 0;
	queue_numbered(0, 6, 10, want, &len);
	cr_assert_eq(c->out_cap, 8);
	cr_assert_eq(flush_one_write(40), 40); /* lines 0-3 */
	cr_assert_eq(c->out_head, 4);
	queue_numbered(6, 5, 10, want, &len); /* 4..7 then 0..2 */
	cr_assert_eq(c->out_count, 7);
	cr_assert_gt(c->out_head + c->out_count, c->out_cap, "the ring has wrapped");
	cr_assert_eq(c->out_cap, 8);
	cr_assert_eq(flush_one_write(30), 30); /* lines 4-6 */
	cr_assert_eq(c->out_head, 7);
	queue_numbered(11, 4, 10, want, &len);
	cr_assert_eq(c->out_count, c->out_cap, "full, and wrapped");
	queue_numbered(15, 1, 10, want, &len); /* grows while wrapped */
	cr_assert_eq(c->out_cap, 16);
	cr_assert_eq(c->out_count, 9);
	flush_all();
	expect_wire_n(want, len); /* lines 0-15 in order */
	cr_assert_eq(msg_live_count(), 0);
}

Test(conn, trim_shrinks_an_empty_ring_only)
{
	open_conn(0);
	cr_assert_not(conn_trim(c), "no ring yet");
	char want[512] = { 0 };
	size_t len = 0;
	queue_numbered(0, 20, 10, want, &len);
	cr_assert_eq(c->out_cap, 32);
	cr_assert_not(conn_trim(c), "not while entries are queued");
	cr_assert_eq(c->out_cap, 32);
	flush_all();
	cr_assert(conn_trim(c));
	cr_assert_eq(c->out_cap, 8);
	cr_assert_not(conn_trim(c), "already the smallest");
	queue_numbered(20, 3, 10, want, &len); /* still usable */
	flush_all();
	expect_wire_n(want, len);
}

/* ---- control replies ---------------------------------------------------------------------------- */

Test(conn, a_newer_reply_replaces_an_unsent_one)
{
	open_conn(0);
	queue_text("1:hi\n");
	cr_assert_eq(conn_queue_reply(c, "PONG-A", 6), 0);
	size_t charge = c->out_charge;
	cr_assert_eq(conn_queue_reply(c, "PONG-BB", 7), 0);
	cr_assert_eq(c->out_count, 2, "one reply queued, not two");
	cr_assert_eq(c->out_bytes, 5 + 7);
	cr_assert_eq(c->out_charge, charge);
	cr_assert_eq(msg_live_count(), 2);
	flush_all();
	expect_wire("1:hi\nPONG-BB");
	cr_assert_eq(msg_live_count(), 0);
	cr_assert_eq(conn_queue_reply(c, "PONG-C", 6), 0, "after a written one, a new one");
	flush_all();
	expect_wire("PONG-C");
}

Test(conn, a_reply_partly_written_is_kept_and_the_next_one_queued_after_it)
{
	open_conn(0);
	queue_text("1:hi\n");
	cr_assert_eq(conn_queue_reply(c, "PONG-A", 6), 0);
	cr_assert_eq(flush_one_write(8), 8); /* the line and "PON" */
	cr_assert_eq(c->out_count, 1);
	cr_assert_eq(c->out_off, 3);
	cr_assert_eq(conn_queue_reply(c, "PONG-BB", 7), 0);
	cr_assert_eq(c->out_count, 2, "a new entry: the written bytes must not change");
	cr_assert_eq(c->out_bytes, 3 + 7);
	cr_assert_eq(conn_queue_reply(c, "PONG-CCC", 8), 0);
	cr_assert_eq(c->out_count, 2, "the unsent one is replaced");
	cr_assert_eq(c->out_bytes, 3 + 8);
	flush_all();
	expect_wire("1:hi\nPONG-APONG-CCC");
	cr_assert_eq(msg_live_count(), 0);
}

/* ---- bookkeeping ------------------------------------------------------------------------------- */

Test(conn, queued_bytes_and_charge_follow_enqueue_writes_and_discard)
{
	open_conn(0);
	size_t cost0 = conn_cost(c, 0, 0);
	size_t a = queue_text("1:short\n");
	size_t b = queue_text("1:a longer line, with more bytes in it\n");
	cr_assert_eq(c->out_bytes, 8 + 39);
	cr_assert_eq(c->out_charge, a + b, "each entry is charged its message's allocation");
	cr_assert_gt(a, 8, "more than its bytes on the wire");
	cr_assert_eq(conn_cost(c, 0, 0), cost0 + a + b + (c->out_cap - 2) * sizeof(struct msg *));
	cr_assert_eq(flush_one_write(10), 10); /* the first line and 2 bytes of the second */
	cr_assert_eq(c->out_bytes, 37);
	cr_assert_eq(c->out_charge, b, "charged until wholly written");
	conn_discard_output(c);
	cr_assert_eq(c->out_count, 0);
	cr_assert_eq(c->out_bytes, 0);
	cr_assert_eq(c->out_charge, 0);
	cr_assert_eq(c->out_off, 0);
	cr_assert_null(c->outq);
	cr_assert_eq(msg_live_count(), 0, "discarding releases every message");
}
