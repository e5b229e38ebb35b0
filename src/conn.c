/*
 * conn.c - output queue and gather writes of one connection (see conn.h).
 */
#include "conn.h"
#include "ws.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#define OUTQ_MIN  8
#define FLUSH_IOV 1024 /* iovecs per write: IOV_MAX */

struct conn *conn_new(int fd, uint64_t id, unsigned worker)
{
	struct conn *c = calloc(1, sizeof(*c));
	if (c == NULL)
		return NULL;
	c->fd = fd;
	c->id = id;
	c->worker = worker;
	c->writable = true;
	timer_init(&c->timer, NULL); /* the owner says what expiry does */
	list_init(&c->conn_link);
	list_init(&c->ready_link);
	return c;
}

void conn_discard_output(struct conn *c)
{
	for (uint32_t i = 0; i < c->out_count; i++)
		msg_local_put(c->outq[(c->out_head + i) & (c->out_cap - 1)], c->worker);
	free(c->outq);
	c->outq = NULL;
	c->out_head = c->out_count = c->out_cap = c->out_off = 0;
	c->out_bytes = 0;
	c->out_charge = 0;
	c->reply = NULL;
}

void conn_free(struct conn *c)
{
	free(c->auth_rooms); /* auth.c's, plain memory */
	free(c->irc);        /* ircd.c's, plain memory */
	free(c->local_more); /* room.c's: empty by now */
	conn_discard_output(c);
	framer_reset(&c->in);
	conn_drop_handshake(c);
	if (c->fd >= 0)
		close(c->fd);
	free(c);
}

void conn_send_now(const struct conn *c, const void *bytes, size_t n)
{
	/* Best effort on a socket about to be closed: a full buffer loses the bytes. */
	(void)!send(c->fd, bytes, n, MSG_DONTWAIT | MSG_NOSIGNAL);
}

void conn_drop_handshake(struct conn *c)
{
	free(c->pre);
	c->pre = NULL;
	c->pre_len = 0;
	if (c->ws != NULL) {
		ws_parser_reset(c->ws);
		free(c->ws);
		c->ws = NULL;
	}
}

static int outq_grow(struct conn *c)
{
	uint32_t cap = c->out_cap ? c->out_cap * 2 : OUTQ_MIN;
	/* NOLINTNEXTLINE(bugprone-sizeof-expression): an array of pointers */
	struct msg **q = malloc((size_t)cap * sizeof(*q));
	if (q == NULL)
		return -ENOMEM;
	for (uint32_t i = 0; i < c->out_count; i++)
		q[i] = c->outq[(c->out_head + i) & (c->out_cap - 1)];
	free(c->outq);
	c->outq = q;
	c->out_head = 0;
	c->out_cap = cap;
	return 0;
}

/* Bytes m takes on this connection's wire: a WebSocket user gets a line as a text frame. */
static size_t wire_len(const struct conn *c, const struct msg *m)
{
	if (!c->ws_framed || m->raw || m->len == 0)
		return m->len;
	return m->ws_head_len + m->len - 1u;
}

/* Points iov at the wire bytes of m from offset skip; returns how many iovecs it used. */
static int fill_iov(const struct conn *c, struct msg *m, size_t skip, struct iovec *iov)
{
	if (!c->ws_framed || m->raw || m->len == 0) {
		iov[0] = (struct iovec){ m->data + skip, m->len - skip };
		return 1;
	}
	int n = 0;
	if (skip < m->ws_head_len) {
		iov[n++] = (struct iovec){ m->ws_head + skip, m->ws_head_len - skip };
		skip = 0;
	} else {
		skip -= m->ws_head_len;
	}
	iov[n++] = (struct iovec){ m->data + skip, m->len - 1 - skip };
	return n;
}

int conn_enqueue(struct conn *c, struct msg *m)
{
	if (c->out_count == c->out_cap && outq_grow(c) < 0)
		return -ENOMEM;
	c->outq[(c->out_head + c->out_count) & (c->out_cap - 1)] = m;
	c->out_count++;
	c->out_bytes += wire_len(c, m);
	c->out_charge += msg_charge(m);
	msg_local_get(m, c->worker);
	return 0;
}

/* The pending reply, unless its first bytes are already on the wire. */
static struct msg *reply_unsent(const struct conn *c)
{
	if (c->reply == NULL || (c->out_off > 0 && c->outq[c->out_head] == c->reply))
		return NULL;
	return c->reply;
}

int conn_queue_reply(struct conn *c, const void *bytes, size_t n)
{
	struct msg *m = reply_unsent(c);
	if (m != NULL) { /* only this connection holds it: rewriting it is safe */
		c->out_bytes = c->out_bytes - m->len + n;
		memcpy(m->data, bytes, n);
		m->len = (uint32_t)n;
		return 0;
	}
	m = msg_new(CONN_REPLY_MAX, 1);
	if (m == NULL)
		return -ENOMEM;
	memcpy(m->data, bytes, n);
	m->len = (uint32_t)n;
	m->raw = true;
	msg_set_workers(m, 1);
	msg_local_begin(m, c->worker);
	int rc = conn_enqueue(c, m);
	if (rc == 0)
		c->reply = m;
	msg_local_put(m, c->worker);
	return rc;
}

/* Releases the fully written messages at the front and records a partial one. */
static void outq_consume(struct conn *c, size_t n)
{
	c->out_bytes -= n;
	while (n > 0) {
		struct msg *m = c->outq[c->out_head];
		size_t rest = wire_len(c, m) - c->out_off;
		if (n < rest) {
			c->out_off += (uint32_t)n;
			return;
		}
		n -= rest;
		c->out_off = 0;
		c->out_head = (c->out_head + 1) & (c->out_cap - 1);
		c->out_count--;
		c->out_charge -= msg_charge(m);
		if (m == c->reply)
			c->reply = NULL;
		msg_local_put(m, c->worker);
	}
}

/* Copies iov[0..n) into buf[0..cap) as far as it fits; returns the bytes copied. */
static size_t gather_copy(const struct iovec *iov, int n, char *buf, size_t cap)
{
	size_t used = 0;
	for (int i = 0; i < n && used < cap; i++) {
		size_t k = iov[i].iov_len < cap - used ? iov[i].iov_len : cap - used;
		memcpy(buf + used, iov[i].iov_base, k);
		used += k;
	}
	return used;
}

int conn_flush(struct conn *c, int max_writes, char *scratch, size_t scratch_cap, size_t *written)
{
	struct iovec iov[FLUSH_IOV];
	*written = 0;
	for (int round = 0; c->out_count > 0; round++) {
		if (round == max_writes)
			return -EAGAIN;
		int n = 0;
		size_t want = 0;
		for (uint32_t i = 0; i < c->out_count && n + 2 <= FLUSH_IOV; i++) {
			struct msg *m = c->outq[(c->out_head + i) & (c->out_cap - 1)];
			int k = fill_iov(c, m, i == 0 ? c->out_off : 0, iov + n);
			for (int j = 0; j < k; j++)
				want += iov[n + j].iov_len;
			n += k;
		}
		if (n > 1 && scratch_cap > 0) { /* one contiguous piece: see conn.h */
			want = gather_copy(iov, n, scratch, scratch_cap);
			iov[0] = (struct iovec){ scratch, want };
			n = 1;
		}
		struct msghdr mh = { .msg_iov = iov, .msg_iovlen = (size_t)n };
		ssize_t w = sendmsg(c->fd, &mh, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK) {
				c->writable = false;
				return -EAGAIN;
			}
			return -errno;
		}
		*written += (size_t)w;
		outq_consume(c, (size_t)w);
		if ((size_t)w < want) {
			/* The kernel took less than offered: the socket buffer is full. With
			 * edge-triggered EPOLLOUT we will hear when it drains. */
			c->writable = false;
			return -EAGAIN;
		}
	}
	c->out_head = c->out_off = 0;
	return 0;
}

size_t conn_cost(const struct conn *c, size_t line_buf, size_t head_buf)
{
	/* out_charge has a ring slot per entry; add the free ones */
	size_t free_slots = (size_t)(c->out_cap - c->out_count);
	size_t cost = sizeof(*c) + c->out_charge + free_slots * sizeof(struct msg *);
	if (c->in.buf != NULL)
		cost += line_buf;
	if (c->pre != NULL)
		cost += head_buf;
	if (c->ws != NULL)
		cost += sizeof(*c->ws) + c->ws->msg_cap;
	return cost;
}

bool conn_trim(struct conn *c)
{
	if (c->out_count != 0 || c->out_cap <= OUTQ_MIN)
		return false;
	/* Keep the smallest ring (64 bytes); give back one a burst grew. Done from a
	 * periodic pass, not on every flush, so steady traffic does not malloc/free (and
	 * make glibc madvise) a ring per connection per iteration. */
	/* NOLINTNEXTLINE(bugprone-sizeof-expression): an array of pointers */
	struct msg **q = realloc(c->outq, OUTQ_MIN * sizeof(*q));
	if (q == NULL)
		return false;
	c->outq = q;
	c->out_cap = OUTQ_MIN;
	return true;
}
