/*
 * test_conn.c - one connection's output queue: what conn_flush puts on the wire, whatever
 * the scratch buffer it copies through, and that every message is released once written.
 */
#include "conn.h"
#include "msg.h"

#include <criterion/criterion.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* Queues each text as its own message (one worker, index 0), as worker_enqueue does. */
static void queue_texts(struct conn *c, const char *const *texts, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		struct msg *m = msg_printf(1, "%s", texts[i]);
		cr_assert_not_null(m);
		msg_set_workers(m, 1);
		msg_local_begin(m, 0);
		cr_assert_eq(conn_enqueue(c, m), 0);
		msg_local_put(m, 0); /* the fan-out's hold; the queue entry remains */
	}
}

static void expect_wire(int fd, const char *want)
{
	char got[4096] = { 0 };
	size_t n = 0, len = strlen(want);
	while (n < len) {
		ssize_t k = read(fd, got + n, sizeof(got) - n);
		cr_assert_gt(k, 0, "the peer gets everything queued");
		n += (size_t)k;
	}
	cr_assert_eq(n, len);
	cr_assert_eq(memcmp(got, want, len), 0, "'%.*s'", (int)n, got);
}

static void flush_through(size_t scratch_cap)
{
	int sv[2];
	cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv), 0);
	struct conn *c = conn_new(sv[0], 1, 0);
	cr_assert_not_null(c);
	static const char *const texts[] = { "1:one\n", "22:two two\n", "333:three three three\n",
					     "4:four\n", "55:five five\n" };
	queue_texts(c, texts, 5);
	char scratch[64];
	size_t written = 0;
	cr_assert_eq(conn_flush(c, 100, scratch, scratch_cap, &written), 0, "queue emptied");
	const char *want = "1:one\n22:two two\n333:three three three\n4:four\n55:five five\n";
	cr_assert_eq(written, strlen(want));
	cr_assert_eq(c->out_count, 0);
	cr_assert_eq(c->out_bytes, 0);
	expect_wire(sv[1], want);
	cr_assert_eq(msg_live_count(), 0, "every written message released");
	conn_free(c);
	close(sv[1]);
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
