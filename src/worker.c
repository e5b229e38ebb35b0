/*
 * worker.c - the event loop. One thread per worker; everything it touches is its own except
 * the other workers' inboxes (it pushes) and the server's join/leave counters.
 *
 * One iteration (worker_main):
 *
 *   epoll_wait ── events ──> ready list (input), dirty list (EPOLLOUT), listener flag
 *      │
 *      ├─ inbox      pop messages other workers routed to us; fan out (append to queues)
 *      ├─ accept     accept4 until EAGAIN or budget; welcome + entry notice
 *      ├─ read       each ready connection: read (budget), frame lines, validate, route
 *      │               route = format once into a msg, push a reference into every other
 *      │               worker's inbox, fan out to our own users the same way
 *      ├─ timers     summary of large-room notices, draining deadlines, accept resume
 *      ├─ reap       connections that ended: leave notice, then drain or close
 *      ├─ flush      one write per connection that got output, once the adaptive holdoff
 *      │               (the last flush's time x (workers - 1), at most --flush-interval) is over
 *      └─ free       connections closed this iteration
 *
 * Edge-triggered epoll: every socket is registered once (EPOLLIN | EPOLLOUT | EPOLLRDHUP |
 * EPOLLET). A socket is read until EAGAIN (or a short read) and written until EAGAIN (or a
 * short write); when a budget stops us first, the socket stays on the ready list and the next
 * epoll_wait does not block. Closing only marks a connection; it is freed after the flush, so
 * no handler ever sees a freed connection.
 */
#include "worker.h"
#include "iplimit.h"
#include "log.h"
#include "memory.h"
#include "proto.h"
#include "server.h"
#include "session.h"
#include "web.h"
#include "ws.h"

#include <assert.h>
#include <errno.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define RBUF_SIZE        ((size_t)64 * 1024)
#define MAX_EVENTS       256
#define ACCEPTS_PER_TURN 256   /* new connections per iteration */
#define READS_PER_TURN   4     /* reads per connection per iteration */
#define INBOX_PER_TURN   4096  /* inbox messages per iteration */
#define INBOX_HIGH       65536 /* our messages queued in one other inbox: stop reading */
#define PAUSE_POLL_MS    1     /* while input is paused, look again this often */
#define TRIM_PERIOD_MS   1000  /* idle output rings are given back this often */
/* Lines fanned out since the last flush that force a flush (and pause reading until then):
 * bounds the burst any one user's queue takes between two writes. */
#define FLUSH_BATCH_LINES 1024
#define WRITES_PER_FLUSH  4   /* gather writes per connection per iteration */
#define ACCEPT_PAUSE_MS   100 /* after EMFILE/ENFILE */

/* epoll_event.data.ptr tags for the two non-connection fds; connections use their pointer. */
#define TAG_LISTENER(w) ((void *)&(w)->listen_fd)
#define TAG_INBOX(w)    ((void *)&(w)->inbox)

const uint64_t worker_iter_bucket_us[WORKER_ITER_BUCKETS - 1] = { 10,   50,    100,   500,   1000,
								  5000, 10000, 50000, 100000 };

static void stat_max(_Atomic uint64_t *counter, uint64_t v)
{
	if (v > atomic_load_explicit(counter, memory_order_relaxed))
		atomic_store_explicit(counter, v, memory_order_relaxed);
}

/*
 * The adaptive flush policy (see worker.h): after a flush that took took_us (wall time), the
 * next one waits took_us * (workers - 1), at most cap_us (--flush-interval). Each worker
 * writes only its own users, so it waits while the others would take their turn: every user
 * is written about as often as one thread writing to all users would, whatever the worker
 * count, and the server's write rate (its cost: one sendmsg per user per flush) does not grow
 * with --workers. A lightly loaded worker's flush takes microseconds, so a line goes out in
 * the iteration that routed it; under load each write carries more lines. Wall time, not CPU
 * time: a flush preempted because more threads are busy than there are cores took longer, and
 * the worker then batches more, which is what a machine short of cores needs.
 */
int64_t worker_flush_holdoff_us(int64_t took_us, unsigned workers, int64_t cap_us)
{
	if (took_us < 0 || workers < 2)
		return 0;
	int64_t h = took_us * (int64_t)(workers - 1);
	return h < cap_us ? h : cap_us;
}

/* Logs a client-triggered event at most LOG_GATE_PER_SEC times a second per kind. */
void worker_log_gated(struct worker *w, enum gate g, enum log_level lvl, uint64_t conn,
		      const char *fmt, ...)
{
	if (!log_enabled(lvl) || !log_gate_pass(&w->gates[g], lvl, (int)w->index))
		return;
	char text[256];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	log_write(lvl, (int)w->index, conn, "%s", text);
}

/* ---- connection state changes ------------------------------------------------------------- */

void worker_mark_dirty(struct worker *w, struct conn *c)
{
	if (c->on_dirty)
		return;
	c->on_dirty = true;
	c->next_dirty = w->dirty;
	w->dirty = c;
}

static void worker_mark_ready(struct worker *w, struct conn *c)
{
	if (c->on_ready)
		return;
	c->on_ready = true;
	list_push_back(&w->ready, &c->ready_link);
}

/* Ends the user's session: it is reaped at the end of the iteration. */
void worker_close_conn(struct worker *w, struct conn *c, enum conn_close_reason reason)
{
	if (c->closing)
		return;
	c->closing = true;
	c->close_reason = (uint8_t)reason;
	c->next_close = w->closing;
	w->closing = c;
}

/* Closes the socket now and queues the memory for freeing after this iteration's flush. */
static void worker_finalize(struct worker *w, struct conn *c)
{
	if (c->on_ready) {
		list_unlink(&c->ready_link);
		c->on_ready = false;
	}
	if (c->draining) {
		list_unlink(&c->drain_link);
		c->draining = false;
	}
	if (c->on_timer) {
		list_unlink(&c->timer_link);
		c->on_timer = false;
	}
	conn_discard_output(c);
	framer_reset(&c->in);
	conn_drop_handshake(c);
	close(c->fd);
	c->fd = -1;
	w->nconns--;
	/* the address's place first: whoever sees the count drop may connect again at once */
	iplimit_release(&w->srv->iplimit, c->ip_key);
	atomic_fetch_sub_explicit(&w->srv->conns, 1, memory_order_relaxed);
	c->next_close = w->dead;
	w->dead = c;
}

/*
 * Queues m for c. --max-outbuf limits what the queue holds in memory (conn.h, out_charge).
 * For a reader whose socket is writable the check waits for the end-of-iteration flush, so
 * a reader that keeps up is never cut off for a burst that arrived within one iteration. A
 * reader whose socket is full (it stopped reading) cannot take anything before then, so it
 * is cut as soon as its queue would pass the limit: a queue never holds more than
 * --max-outbuf for a reader that does not read.
 */
void worker_enqueue(struct worker *w, struct conn *c, struct msg *m)
{
	if (c->close_reason == CLOSE_SLOW || c->close_reason == CLOSE_MEMORY)
		return; /* its output is being thrown away */
	if (!c->writable && c->out_charge + msg_charge(m) > w->srv->cfg.max_outbuf) {
		worker_close_conn(w, c, CLOSE_SLOW);
		return;
	}
	if (conn_enqueue(c, m) < 0) {
		worker_close_conn(w, c, CLOSE_NOMEM);
		return;
	}
	worker_mark_dirty(w, c);
}

/* Sends a line to one local connection (welcome, error lines). */
void worker_send_line(struct worker *w, struct conn *c, const char *text, size_t len)
{
	worker_send(w, c, text, len, false);
}

void worker_send(struct worker *w, struct conn *c, const char *text, size_t len, bool raw)
{
	struct msg *m = msg_new(len, 1);
	if (m == NULL) {
		worker_close_conn(w, c, CLOSE_NOMEM);
		return;
	}
	memcpy(m->data, text, len);
	m->raw = raw;
	msg_set_workers(m, 1);
	msg_local_begin(m, w->index);
	worker_enqueue(w, c, m);
	msg_local_put(m, w->index);
}

/* ---- routing ------------------------------------------------------------------------------ */

/* Fans m out to this worker's recipients. The worker holds one reference to m on entry. */
static void worker_deliver(struct worker *w, struct msg *m)
{
	msg_local_begin(m, w->index);
	uint32_t queued = 0;
	switch ((enum msg_kind)m->kind) {
	case MSG_ROOM: {
		struct local_room *lr = room_local_find(&w->local_rooms, m->room);
		for (uint32_t i = 0; lr != NULL && i < lr->n; i++) {
			struct conn *c = lr->members[i];
			if (c->id == m->exclude || c->closing)
				continue;
			worker_enqueue(w, c, m);
			queued++;
		}
		break;
	}
	case MSG_DIRECT: {
		struct conn *c = map_get(&w->by_id, m->target);
		if (c != NULL && !c->closing) {
			worker_enqueue(w, c, m);
			queued++;
		}
		break;
	}
	}
	stat_add(&w->stats.deliveries, queued);
	if (queued > 0)
		w->lines_pending++;
	msg_local_put(m, w->index);
}

struct msg *worker_msg_new(struct worker *w, size_t len, bool one_worker)
{
	struct msg *m = msg_new(len, one_worker ? 1 : w->srv->nworkers);
	if (m == NULL)
		log_error((int)w->index, 0, "out of memory for a message of %zu bytes", len);
	return m;
}

/* Hands m to the workers in `mask` (this one included if its bit is set). */
static void worker_publish_mask(struct worker *w, struct msg *m, uint64_t mask)
{
	struct server *srv = w->srv;
	unsigned targets = (unsigned)__builtin_popcountll(mask);
	if (targets == 0) {
		msg_set_workers(m, 1);
		msg_release(m);
		return;
	}
	msg_set_workers(m, targets);
	m->origin = w->index;
	for (uint64_t rest = mask & ~(1ULL << w->index); rest != 0; rest &= rest - 1) {
		unsigned i = (unsigned)__builtin_ctzll(rest);
		stat_add(&w->pushed_to[i], 1);
		if (inbox_push(&srv->workers[i].inbox, msg_node(m, i)))
			stat_add(&w->stats.wakeups_sent, 1);
	}
	if (mask & (1ULL << w->index))
		worker_deliver(w, m);
}

/*
 * A room line goes only to the workers that have members in the room. acquire: pairs with
 * the release in room_local_add, so a worker whose bit we see has its member array set up.
 */
void worker_publish_room(struct worker *w, struct room *r, struct msg *m)
{
	assert(m->nslots == w->srv->nworkers); /* any worker may have to hold it */
	m->kind = MSG_ROOM;
	m->room = r->id;
	worker_publish_mask(w, m, atomic_load_explicit(&r->worker_mask, memory_order_acquire));
}

void worker_publish_direct(struct worker *w, struct msg *m, uint64_t target, unsigned target_worker)
{
	m->kind = MSG_DIRECT;
	m->target = target;
	worker_publish_mask(w, m, 1ULL << target_worker);
}

/* ---- input ---------------------------------------------------------------------------------- */

/* Counts, logs (gated) and answers a line that is dropped; `line` is the error line. */
static void worker_reject_line(struct worker *w, struct conn *c, _Atomic uint64_t *counter,
			       const char *why, const char *line, size_t n)
{
	stat_add(counter, 1);
	worker_log_gated(w, GATE_BAD_LINE, LOG_INFO, c->id, "line dropped: %s", why);
	worker_send_line(w, c, line, n);
}

/* A line proto_check_line refused: the counter for its kind, the log, the error line. */
static void worker_refuse_text(struct worker *w, struct conn *c, const struct line_verdict *v)
{
	char line[160], why[96];
	size_t n = proto_line_refused(line, sizeof(line), v);
	_Atomic uint64_t *counter = &w->stats.lines_format;
	if (v->kind == LINE_BAD_UTF8) {
		counter = &w->stats.lines_bad_utf8;
		snprintf(why, sizeof(why), "invalid UTF-8 at byte %zu", v->pos);
	} else {
		if (v->kind == LINE_BAD_CONTROL)
			counter = &w->stats.lines_control;
		snprintf(why, sizeof(why), "U+%04X (%s) at character %zu", (unsigned)v->cp,
			 proto_char_name(v->cp), v->pos);
	}
	worker_reject_line(w, c, counter, why, line, n);
}

struct line_ctx {
	struct worker *w;
	struct conn *c;
};

/*
 * Flood control: a token bucket of --rate-burst lines refilled at --rate-limit lines a
 * second. A line (or a WebSocket control frame) over the rate is refused with an error line;
 * a user who has more than --rate-burst refused within one second is disconnected.
 */
bool worker_rate_take(struct worker *w, struct conn *c)
{
	const struct config *cfg = &w->srv->cfg;
	if (cfg->rate_limit == 0)
		return true;
	uint64_t burst = (uint64_t)(cfg->rate_burst ? cfg->rate_burst : 2 * cfg->rate_limit) * 1000;
	int64_t now = w->now_ms;
	if (c->rate_ms == 0) {
		c->rate_ms = now;
		c->rate_tokens = (uint32_t)burst;
	}
	uint64_t tokens = c->rate_tokens + (uint64_t)(now - c->rate_ms) * (uint64_t)cfg->rate_limit;
	c->rate_tokens = (uint32_t)(tokens < burst ? tokens : burst);
	c->rate_ms = now;
	if (c->rate_tokens >= 1000) {
		c->rate_tokens -= 1000;
		return true;
	}
	if (now - c->rate_window_ms >= 1000) {
		c->rate_window_ms = now;
		c->rate_refused = 0;
	}
	stat_add(&w->stats.lines_rate_limited, 1);
	if (++c->rate_refused > burst / 1000) {
		stat_add(&w->stats.flood_disconnects, 1);
		worker_log_gated(w, GATE_RATE, LOG_WARN, c->id,
				 "flooding past --rate-limit %d; disconnecting", cfg->rate_limit);
		char line[128];
		size_t n = proto_error(line, sizeof(line),
				       "flooding: more than %d lines a second; disconnecting.",
				       cfg->rate_limit);
		worker_send_line(w, c, line, n);
		worker_close_conn(w, c, CLOSE_FLOOD);
		return false;
	}
	worker_log_gated(w, GATE_RATE, LOG_INFO, c->id, "line refused: over --rate-limit");
	char line[128];
	size_t n =
	    proto_error(line, sizeof(line), "slow down: more than %d lines a second; line dropped.",
			cfg->rate_limit);
	worker_send_line(w, c, line, n);
	return false;
}

static bool worker_on_line(void *arg, enum line_event ev, const char *text, size_t len)
{
	struct line_ctx *ctx = arg;
	return worker_take_line(ctx->w, ctx->c, ev, text, len);
}

bool worker_take_line(struct worker *w, struct conn *c, enum line_event ev, const char *text,
		      size_t len)
{
	if (c->closing)
		return false;
	if (!worker_rate_take(w, c))
		return !c->closing;
	if (ev == LINE_TOO_LONG) {
		char line[96];
		size_t n =
		    proto_error(line, sizeof(line), "line too long (max %zu bytes); dropped.",
				w->srv->cfg.max_line);
		worker_reject_line(w, c, &w->stats.lines_too_long, "over --max-line", line, n);
		return !c->closing;
	}
	struct line_verdict v = proto_check_line(text, len);
	if (v.kind == LINE_VALID)
		session_on_line(w, c, text, len);
	else
		worker_refuse_text(w, c, &v);
	return !c->closing;
}

void worker_feed_lines(struct worker *w, struct conn *c, const char *buf, size_t n)
{
	struct line_ctx ctx = { w, c };
	if (framer_feed(&c->in, w->srv->cfg.max_line, buf, n, worker_on_line, &ctx) < 0)
		worker_close_conn(w, c, CLOSE_NOMEM);
}

/* Reads c until EAGAIN, EOF, error or the per-turn budget. */
static void worker_read_conn(struct worker *w, struct conn *c)
{
	for (int reads = 0; c->readable && !c->closing; reads++) {
		if (reads == READS_PER_TURN || w->lines_pending >= FLUSH_BATCH_LINES) {
			worker_mark_ready(w, c); /* back of the queue: others go first */
			return;
		}
		ssize_t n = read(c->fd, w->rbuf, RBUF_SIZE);
		if (n > 0) {
			stat_add(&w->stats.bytes_in, (uint64_t)n);
			/* A short read drained the socket: data arriving later raises a new
			 * edge, so the EAGAIN read can be skipped. Not so for a FIN that came
			 * with the data (EPOLLRDHUP): no edge will follow it, read on to EOF. */
			if ((size_t)n < RBUF_SIZE && !c->peer_closed)
				c->readable = false;
			if (c->proto == CONN_LINE)
				worker_feed_lines(w, c, w->rbuf, (size_t)n);
			else
				web_on_bytes(w, c, w->rbuf, (size_t)n);
			continue;
		}
		if (n == 0) {
			c->readable = false;
			stat_add(&w->stats.eofs, 1);
			worker_close_conn(w, c, CLOSE_EOF);
			return;
		}
		if (errno == EINTR)
			continue;
		c->readable = false;
		if (errno == EAGAIN || errno == EWOULDBLOCK)
			return;
		log_debug((int)w->index, c->id, "read: %s", strerror(errno));
		stat_add(&w->stats.resets, 1);
		worker_close_conn(w, c, CLOSE_RESET);
	}
}

static void worker_read_ready(struct worker *w)
{
	/* One pass: connections put back by their budget wait for the next iteration. */
	struct list_node pass;
	list_init(&pass);
	if (list_empty(&w->ready))
		return;
	pass.next = w->ready.next;
	pass.prev = w->ready.prev;
	pass.next->prev = &pass;
	pass.prev->next = &pass;
	list_init(&w->ready);
	struct list_node *n;
	while ((n = list_pop_front(&pass)) != NULL) {
		if (w->lines_pending >= FLUSH_BATCH_LINES) { /* flush first; the rest wait */
			list_push_back(&w->ready, n);
			continue;
		}
		struct conn *c = container_of(n, struct conn, ready_link);
		c->on_ready = false;
		worker_read_conn(w, c);
	}
}

/* ---- accept --------------------------------------------------------------------------------- */

static void send_now(int fd, const char *text, size_t len)
{
	/* Best effort on a socket we are about to close: a full buffer loses the line. */
	(void)!send(fd, text, len, MSG_DONTWAIT | MSG_NOSIGNAL);
}

/* Refuses a connection: one error line (best effort), a log line and a counter; closes fd. */
static void worker_refuse(struct worker *w, int fd, _Atomic uint64_t *counter, enum gate gate,
			  const char *why)
{
	stat_add(counter, 1);
	worker_log_gated(w, gate, LOG_WARN, 0, "connection refused: %s", why);
	char line[160];
	size_t n = proto_error(line, sizeof(line), "%s; try again later.", why);
	send_now(fd, line, n);
	close(fd);
}

/* The admission checks: server full, heap over --max-memory, --max-conns-per-ip. Counts the
 * connection (srv->conns, the address's count) and returns true when it may stay. */
static bool worker_admit(struct worker *w, int fd, const struct sockaddr *peer, uint64_t ip_key)
{
	struct server *srv = w->srv;
	char why[96];
	long conns = atomic_fetch_add_explicit(&srv->conns, 1, memory_order_relaxed) + 1;
	if (conns > srv->cfg.max_clients) {
		atomic_fetch_sub_explicit(&srv->conns, 1, memory_order_relaxed);
		snprintf(why, sizeof(why), "server full (%d users)", srv->cfg.max_clients);
		worker_refuse(w, fd, &w->stats.rejected_full, GATE_FULL, why);
		return false;
	}
	if (memory_guard_over(&srv->mem)) {
		atomic_fetch_sub_explicit(&srv->conns, 1, memory_order_relaxed);
		worker_refuse(w, fd, &w->stats.rejected_busy, GATE_FULL,
			      "server busy (out of memory)");
		return false;
	}
	int rc = iplimit_acquire(&srv->iplimit, ip_key);
	if (rc < 0) {
		atomic_fetch_sub_explicit(&srv->conns, 1, memory_order_relaxed);
		char addr[INET6_ADDRSTRLEN] = "?";
		const void *a = peer->sa_family == AF_INET
				    ? (const void *)&((const struct sockaddr_in *)peer)->sin_addr
				    : (const void *)&((const struct sockaddr_in6 *)peer)->sin6_addr;
		if (inet_ntop(peer->sa_family, a, addr, sizeof(addr)) == NULL)
			snprintf(addr, sizeof(addr), "?");
		if (rc == -EDQUOT) {
			snprintf(why, sizeof(why), "too many connections from %s (max %d)", addr,
				 srv->cfg.max_conns_per_ip);
			worker_refuse(w, fd, &w->stats.rejected_per_ip, GATE_FULL, why);
		} else { /* the address's count could not be stored: not the address's doing */
			worker_refuse(w, fd, &w->stats.nomem_disconnects, GATE_MEMORY,
				      "server busy (out of memory)");
		}
		return false;
	}
	return true;
}

/*
 * Nagle off: every flush is already one gather write holding everything queued for the
 * user, so a short last segment must go out now, not wait for the ACK of the previous one
 * (which the client may delay by ~40 ms). Line and WebSocket users alike.
 */
static void worker_set_nodelay(struct worker *w, int fd)
{
	int one = 1;
	if (setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) < 0)
		worker_log_gated(w, GATE_ACCEPT, LOG_WARN, 0, "setsockopt TCP_NODELAY: %s",
				 strerror(errno));
}

static void worker_add_conn(struct worker *w, int fd, const struct sockaddr *peer)
{
	struct server *srv = w->srv;
	uint64_t ip_key = iplimit_key(peer);
	if (!worker_admit(w, fd, peer, ip_key))
		return;
	worker_set_nodelay(w, fd);
	uint64_t id = atomic_fetch_add_explicit(&srv->next_id, 1, memory_order_relaxed);
	struct conn *c = conn_new(fd, id, w->index);
	if (c == NULL) { /* refused like the checks above: told, logged and counted */
		atomic_fetch_sub_explicit(&srv->conns, 1, memory_order_relaxed);
		iplimit_release(&srv->iplimit, ip_key);
		worker_refuse(w, fd, &w->stats.nomem_disconnects, GATE_MEMORY,
			      "server busy (out of memory)");
		return;
	}
	struct epoll_event ev = { .events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET };
	ev.data.ptr = c;
	if (epoll_ctl(w->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
		log_error((int)w->index, id, "cannot register connection: %s", strerror(errno));
		atomic_fetch_sub_explicit(&srv->conns, 1, memory_order_relaxed);
		iplimit_release(&srv->iplimit, ip_key);
		free(c);
		close(fd);
		return;
	}
	c->ip_key = ip_key;
	w->nconns++;
	stat_add(&w->stats.accepted, 1);
	log_debug((int)w->index, id, "connected");
	web_start(w, c); /* what it speaks is decided from its first bytes (web.c) */
	/* Data may have arrived before EPOLL_CTL_ADD: try a read this iteration. */
	c->readable = true;
	worker_mark_ready(w, c);
}

static void worker_accept(struct worker *w, int64_t now)
{
	if (!w->listener_ready || w->listen_fd < 0)
		return;
	if (w->accept_resume_ms != 0) {
		if (now < w->accept_resume_ms)
			return;
		w->accept_resume_ms = 0;
	}
	for (int i = 0; i < ACCEPTS_PER_TURN; i++) {
		struct sockaddr_storage peer = { .ss_family = AF_UNSPEC };
		socklen_t plen = sizeof(peer);
		int fd = accept4(w->listen_fd, (struct sockaddr *)&peer, &plen,
				 SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd >= 0) {
			worker_add_conn(w, fd, (struct sockaddr *)&peer);
			continue;
		}
		switch (errno) {
		case EAGAIN:
#if EAGAIN != EWOULDBLOCK
		case EWOULDBLOCK:
#endif
			w->listener_ready = false;
			return;
		case EINTR:
		case ECONNABORTED:
		case EPROTO:
			continue;
		case EMFILE:
		case ENFILE:
		case ENOBUFS:
		case ENOMEM:
			/* The connection stays queued and the edge is spent: retry from a timer
			 * instead of spinning (see docs/ARCHITECTURE.md, "EMFILE"). */
			stat_add(&w->stats.accept_pauses, 1);
			worker_log_gated(w, GATE_ACCEPT, LOG_WARN, 0,
					 "accept4: %s; pausing accepts for %d ms", strerror(errno),
					 ACCEPT_PAUSE_MS);
			w->accept_resume_ms = now + ACCEPT_PAUSE_MS;
			return;
		default:
			stat_add(&w->stats.accept_errors, 1);
			worker_log_gated(w, GATE_ACCEPT, LOG_ERROR, 0, "accept4: %s",
					 strerror(errno));
			w->accept_resume_ms = now + ACCEPT_PAUSE_MS;
			return;
		}
	}
	/* Budget spent with the listener still ready: continue next iteration. */
}

/* ---- inbox ------------------------------------------------------------------------------------ */

static void worker_drain_inbox(struct worker *w)
{
	for (int i = 0; i < INBOX_PER_TURN && w->lines_pending < FLUSH_BATCH_LINES; i++) {
		struct inbox_node *n = inbox_pop(&w->inbox);
		if (n == NULL) {
			w->inbox_more = false;
			return;
		}
		struct msg *m = msg_from_node(n);
		stat_add(&w->stats.inbox_msgs, 1);
		stat_add(&w->popped_from[m->origin], 1);
		worker_deliver(w, m);
	}
	w->inbox_more = true;
}

/*
 * Backpressure: when a consumer falls behind, our share of its inbox grows. Past INBOX_HIGH
 * messages we stop reading our clients (TCP flow control then slows the senders) until it
 * catches up, so no inbox grows without bound.
 */
static void worker_check_backpressure(struct worker *w)
{
	struct server *srv = w->srv;
	bool paused = false;
	for (unsigned j = 0; j < srv->nworkers && !paused; j++) {
		if (j == w->index)
			continue;
		uint64_t pushed = atomic_load_explicit(&w->pushed_to[j], memory_order_relaxed);
		uint64_t popped = atomic_load_explicit(&srv->workers[j].popped_from[w->index],
						       memory_order_relaxed);
		paused = pushed - popped > INBOX_HIGH;
	}
	if (paused)
		stat_add(&w->stats.input_pauses, 1);
	w->input_paused = paused;
}

/* ---- end of iteration: reap, flush, free -------------------------------------------------- */

static void worker_start_drain(struct worker *w, struct conn *c, int64_t now)
{
	if (c->out_count == 0) {
		worker_finalize(w, c);
		return;
	}
	c->draining = true;
	c->deadline_ms = now + w->srv->cfg.drain_timeout_ms;
	list_push_back(&w->draining, &c->drain_link);
	worker_mark_dirty(w, c);
}

/*
 * Last words to a connection being cut (its queue is thrown away): a line user whose last
 * line was cut mid-way gets a newline first, so the error is a line of its own; a WebSocket
 * user gets a text frame, unless a frame was cut mid-way (the stream cannot be mended).
 * Best effort: a reader that stopped reading usually has a full socket buffer.
 */
static void worker_say_last(struct worker *w, struct conn *c, const char *line, size_t n)
{
	(void)w;
	bool mid = c->out_off > 0;
	conn_discard_output(c);
	if (c->proto == CONN_WS) {
		uint8_t frame[10 + 256];
		if (mid || n == 0 || n > 256)
			return;
		size_t h = ws_frame_header(frame, WS_TEXT, n - 1); /* without its newline */
		memcpy(frame + h, line, n - 1);
		send_now(c->fd, (const char *)frame, h + n - 1);
		return;
	}
	if (c->proto != CONN_LINE)
		return;
	if (mid)
		send_now(c->fd, "\n", 1);
	send_now(c->fd, line, n);
}

static void worker_cut_slow(struct worker *w, struct conn *c)
{
	stat_add(&w->stats.slow_disconnects, 1);
	worker_log_gated(w, GATE_SLOW, LOG_WARN, c->id,
			 "slow consumer: %zu bytes queued (max %zu); disconnecting", c->out_charge,
			 w->srv->cfg.max_outbuf);
	char line[160];
	size_t n = proto_error(line, sizeof(line),
			       "too slow: more than %zu bytes queued for you; disconnecting.",
			       w->srv->cfg.max_outbuf);
	worker_say_last(w, c, line, n);
}

static void worker_cut_nomem(struct worker *w, struct conn *c)
{
	stat_add(&w->stats.nomem_disconnects, 1);
	log_error((int)w->index, c->id, "out of memory; connection closed");
	char line[80];
	size_t n = proto_error(line, sizeof(line), "server out of memory; disconnecting.");
	worker_say_last(w, c, line, n);
}

static void worker_cut_memory(struct worker *w, struct conn *c)
{
	const struct memory_guard *g = &w->srv->mem;
	size_t cost = conn_cost(c, w->srv->cfg.max_line + 1, w->srv->cfg.max_http_header);
	worker_log_gated(w, GATE_MEMORY, LOG_WARN, c->id,
			 "heap %llu bytes over --max-memory %zu: cutting this connection, which "
			 "holds %zu bytes (among the most)",
			 (unsigned long long)atomic_load_explicit(&g->heap, memory_order_relaxed),
			 g->cap, cost);
	char line[160];
	size_t n = proto_error(line, sizeof(line),
			       "server out of memory: your connection held %zu bytes, among the "
			       "most; disconnecting.",
			       cost);
	worker_say_last(w, c, line, n);
}

static void worker_reap(struct worker *w, int64_t now)
{
	struct conn *c;
	while ((c = w->closing) != NULL) {
		w->closing = c->next_close;
		if (c->user.listed)
			session_end(w, c, NULL, 0, !w->shutting_down);
		log_debug((int)w->index, c->id, "disconnected (reason %d)", c->close_reason);
		switch ((enum conn_close_reason)c->close_reason) {
		case CLOSE_EOF:
		case CLOSE_QUIT:
		case CLOSE_FLOOD:
		case CLOSE_SHUTDOWN:
			worker_start_drain(w, c, now);
			break;
		case CLOSE_SLOW:
			worker_cut_slow(w, c);
			worker_finalize(w, c);
			break;
		case CLOSE_MEMORY:
			worker_cut_memory(w, c);
			worker_finalize(w, c);
			break;
		case CLOSE_NOMEM:
			worker_cut_nomem(w, c);
			worker_finalize(w, c);
			break;
		case CLOSE_RESET:
		case CLOSE_NONE:
			worker_finalize(w, c);
			break;
		}
	}
}

static void worker_flush_conn(struct worker *w, struct conn *c, struct conn **again)
{
	size_t written = 0;
	/* the read buffer is free during the flush: it is conn_flush's scratch */
	int rc = conn_flush(c, WRITES_PER_FLUSH, w->rbuf, RBUF_SIZE, &written);
	if (written > 0) {
		stat_add(&w->stats.bytes_out, written);
		stat_add(&w->stats.writes, 1);
	}
	if (rc == 0) {
		if (c->draining)
			worker_finalize(w, c);
		return;
	}
	if (rc == -EAGAIN) {
		if (c->writable) { /* budget spent, socket still writable: next iteration */
			c->on_dirty = true;
			c->next_dirty = *again;
			*again = c;
		}
		return;
	}
	log_debug((int)w->index, c->id, "write: %s", strerror(-rc));
	if (c->draining) {
		worker_finalize(w, c);
		return;
	}
	stat_add(&w->stats.resets, 1);
	worker_close_conn(w, c, CLOSE_RESET);
}

static void worker_flush(struct worker *w)
{
	struct conn *c = w->dirty, *again = NULL;
	w->dirty = NULL;
	while (c != NULL) {
		struct conn *next = c->next_dirty;
		c->on_dirty = false;
		if (c->fd >= 0 && c->writable && c->out_count > 0)
			worker_flush_conn(w, c, &again);
		if (c->fd >= 0 && !c->closing && c->out_charge > w->srv->cfg.max_outbuf)
			worker_close_conn(w, c, CLOSE_SLOW);
		c = next;
	}
	w->dirty = again;
}

/* Frees closed connections, except those the dirty list still points at (they go at the
 * next flush, which unlinks them). */
static void worker_free_dead(struct worker *w)
{
	struct conn *c = w->dead, *keep = NULL;
	w->dead = NULL;
	while (c != NULL) {
		struct conn *next = c->next_close;
		if (c->on_dirty) {
			c->next_close = keep;
			keep = c;
		} else {
			conn_free(c);
		}
		c = next;
	}
	w->dead = keep;
}

static void worker_expire_drains(struct worker *w, int64_t now)
{
	while (!list_empty(&w->draining)) {
		struct conn *c = container_of(w->draining.next, struct conn, drain_link);
		if (c->deadline_ms > now)
			return;
		log_debug((int)w->index, c->id, "drain timeout with %zu bytes unsent",
			  c->out_bytes);
		worker_finalize(w, c);
	}
}

/* Once a second: idle connections give back output rings that a burst grew (conn_trim). */
static void worker_trim(struct worker *w, int64_t now)
{
	if (now < w->trim_ms)
		return;
	w->trim_ms = now + TRIM_PERIOD_MS;
	size_t pos = 0;
	uint64_t id;
	void *v;
	while (map_next(&w->by_id, &pos, &id, &v))
		conn_trim(v);
}

/* ---- --max-memory --------------------------------------------------------------------------- */

#define SHED_BATCH 64 /* connections one worker may cut per round */

struct shed_pick {
	struct conn *c;
	size_t cost;
};

/* Keeps the SHED_BATCH most expensive connections in picks[0..*n), most expensive first. */
static void shed_consider(struct shed_pick *picks, int *n, struct conn *c, size_t cost)
{
	int i = *n < SHED_BATCH ? (*n)++ : SHED_BATCH;
	while (i > 0 && picks[i - 1].cost < cost) {
		if (i < SHED_BATCH)
			picks[i] = picks[i - 1];
		i--;
	}
	if (i < SHED_BATCH)
		picks[i] = (struct shed_pick){ c, cost };
}

/*
 * One round of --max-memory (memory.h): cuts this worker's users that cost at least the
 * round's floor, the most expensive first, while the round's excess is not yet covered.
 * Runs once per round per worker; a round comes every MEMORY_SAMPLE_MS while over the cap.
 */
static void worker_shed_memory(struct worker *w)
{
	struct memory_guard *g = &w->srv->mem;
	uint32_t round = atomic_load_explicit(&g->round, memory_order_relaxed);
	if (round == w->shed_round)
		return;
	w->shed_round = round;
	size_t floor = (size_t)atomic_load_explicit(&g->floor, memory_order_relaxed);
	struct shed_pick picks[SHED_BATCH];
	int n = 0;
	size_t pos = 0;
	uint64_t id;
	void *v;
	while (map_next(&w->by_id, &pos, &id, &v)) {
		struct conn *c = v;
		size_t cost = conn_cost(c, w->srv->cfg.max_line + 1, w->srv->cfg.max_http_header);
		if (!c->closing && cost >= floor)
			shed_consider(picks, &n, c, cost);
	}
	for (int i = 0; i < n && memory_guard_claim(g, picks[i].cost); i++) {
		stat_add(&w->stats.memory_evictions, 1);
		worker_close_conn(w, picks[i].c, CLOSE_MEMORY);
	}
}

/* Samples the heap when due (before accepting, so a newcomer is judged by a fresh sample
 * even after the worker slept); a sample over the cap starts a round in every worker. */
static void worker_sample_memory(struct worker *w, int64_t now)
{
	struct server *srv = w->srv;
	if (memory_guard_sample(&srv->mem, now))
		for (unsigned i = 0; i < srv->nworkers; i++)
			if (i != w->index)
				inbox_kick(&srv->workers[i].inbox);
}

/* ---- shutdown ------------------------------------------------------------------------------- */

/*
 * Closing a SO_REUSEPORT listener resets the connections queued on it, so accept them first
 * and tell them goodbye. Then every user gets the shutdown line and is drained.
 */
static void worker_begin_shutdown(struct worker *w)
{
	w->shutting_down = true;
	char line[64];
	size_t n = proto_shutdown(line, sizeof(line));
	if (w->listen_fd >= 0) {
		int fd;
		while ((fd = accept4(w->listen_fd, NULL, NULL, SOCK_CLOEXEC)) >= 0) {
			send_now(fd, line, n);
			close(fd);
		}
		epoll_ctl(w->epfd, EPOLL_CTL_DEL, w->listen_fd, NULL);
		close(w->listen_fd);
		w->listen_fd = -1;
	}
	web_shutdown(w);
	size_t pos = 0;
	uint64_t id;
	void *v;
	while (map_next(&w->by_id, &pos, &id, &v)) { /* only marks: the map is not changed */
		struct conn *c = v;
		worker_send_line(w, c, line, n);
		worker_close_conn(w, c, CLOSE_SHUTDOWN);
	}
}

/* ---- the loop ------------------------------------------------------------------------------- */

static int64_t monotonic_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* Whether this iteration ends with a flush: the holdoff is over (worker_flush_adaptive), or
 * FLUSH_BATCH_LINES lines are waiting, or the worker is shutting down. */
static bool worker_flush_due(const struct worker *w, int64_t now_us)
{
	return w->dirty != NULL && (now_us >= w->next_flush_us || w->shutting_down ||
				    w->lines_pending >= FLUSH_BATCH_LINES);
}

/* Flushes, then sets the holdoff before the next flush from how long this one took. */
static void worker_flush_adaptive(struct worker *w)
{
	int64_t start_us = monotonic_us();
	worker_flush(w);
	int64_t end_us = monotonic_us();
	int64_t cap_us = (int64_t)w->srv->cfg.flush_interval_ms * 1000;
	w->next_flush_us =
	    end_us + worker_flush_holdoff_us(end_us - start_us, w->srv->nworkers, cap_us);
	w->lines_pending = 0;
}

static int64_t min_deadline(int64_t a, int64_t b)
{
	if (a == 0)
		return b;
	if (b == 0)
		return a;
	return a < b ? a : b;
}

/*
 * How long epoll_wait may block: 0 when work is pending, -1 when nothing is scheduled.
 * *holdoff is set when the wait is the flush holdoff: the worker then sleeps without asking
 * other workers to wake it for inbox messages (they wait for the flush anyway), so a loaded
 * worker is not woken once per line routed to it.
 */
static int worker_timeout(struct worker *w, int64_t now, bool *holdoff)
{
	*holdoff = false;
	if (w->closing || w->inbox_more)
		return 0;
	if (w->dirty != NULL && w->lines_pending < FLUSH_BATCH_LINES) {
		int64_t wait_us = w->next_flush_us - monotonic_us();
		*holdoff = wait_us > 0;
		return wait_us > 0 ? (int)((wait_us + 999) / 1000) : 0;
	}
	if (w->dirty != NULL)
		return 0;
	bool accept_now = w->listener_ready && w->listen_fd >= 0 && w->accept_resume_ms == 0;
	if (accept_now || !list_empty(&w->ready))
		return w->input_paused ? PAUSE_POLL_MS : 0; /* paused: poll, do not spin */
	int64_t due = w->summary_due_ms;
	if (w->listen_fd >= 0 && w->listener_ready)
		due = min_deadline(due, w->accept_resume_ms);
	if (!list_empty(&w->draining))
		due = min_deadline(
		    due, container_of(w->draining.next, struct conn, drain_link)->deadline_ms);
	due = min_deadline(due, web_next_deadline(w));
	if (memory_guard_near(&w->srv->mem)) /* keep sampling while near or over the cap */
		due = min_deadline(due, now + MEMORY_SAMPLE_MS);
	if (due == 0)
		return -1;
	if (due <= now)
		return 0;
	return due - now > 60000 ? 60000 : (int)(due - now) + 1;
}

static void worker_on_conn_event(struct worker *w, struct conn *c, uint32_t events)
{
	if (c->fd < 0)
		return;
	if (events & (EPOLLOUT | EPOLLERR | EPOLLHUP)) {
		c->writable = true;
		if (c->out_count > 0)
			worker_mark_dirty(w, c);
	}
	if (events & (EPOLLRDHUP | EPOLLHUP | EPOLLERR))
		c->peer_closed = true;
	if ((events & (EPOLLIN | EPOLLRDHUP | EPOLLERR | EPOLLHUP)) && !c->closing) {
		c->readable = true;
		worker_mark_ready(w, c);
	}
}

static bool worker_dispatch(struct worker *w, struct epoll_event *events, int n)
{
	bool inbox_fired = false;
	for (int i = 0; i < n; i++) {
		void *tag = events[i].data.ptr;
		if (tag == TAG_INBOX(w))
			inbox_fired = true;
		else if (tag == TAG_LISTENER(w))
			w->listener_ready = true;
		else
			worker_on_conn_event(w, tag, events[i].events);
	}
	return inbox_fired;
}

void *worker_main(void *arg)
{
	struct worker *w = arg;
	struct server *srv = w->srv;
	struct epoll_event events[MAX_EVENTS];
	int64_t now = clock_now_ms();
	for (;;) {
		/* acquire: pairs with the release store in server_stop. */
		if (!w->shutting_down && atomic_load_explicit(&srv->stopping, memory_order_acquire))
			worker_begin_shutdown(w);
		if (w->shutting_down && w->nconns == 0 && !w->closing)
			break;
		bool holdoff;
		int timeout = worker_timeout(w, now, &holdoff);
		bool may_sleep = timeout != 0 && !holdoff && inbox_prepare_sleep(&w->inbox);
		if (!may_sleep && !holdoff)
			timeout = 0;
		int n = epoll_wait(w->epfd, events, MAX_EVENTS, timeout);
		if (n < 0 && errno != EINTR)
			log_error((int)w->index, 0, "epoll_wait: %s", strerror(errno));
		int64_t start_us = monotonic_us();
		now = start_us / 1000;
		w->now_ms = now;
		bool inbox_fired = n > 0 && worker_dispatch(w, events, n);
		if (may_sleep || inbox_fired)
			inbox_awake(&w->inbox, inbox_fired);

		/* The inbox goes before accept: what other workers routed before a newcomer
		 * arrived is not shown to the newcomer. */
		worker_sample_memory(w, now);
		worker_drain_inbox(w);
		worker_check_backpressure(w);
		if (!w->input_paused) {
			worker_accept(w, now);
			worker_read_ready(w);
		}
		session_run_summaries(w, now);
		worker_expire_drains(w, now);
		web_expire(w, now);
		if (memory_guard_over(&srv->mem))
			worker_shed_memory(w);
		worker_reap(w, now);
		if (worker_flush_due(w, monotonic_us()))
			worker_flush_adaptive(w);
		worker_free_dead(w);
		worker_trim(w, now);

		stat_add(&w->stats.iterations, 1);
		uint64_t took = (uint64_t)(monotonic_us() - start_us);
		stat_max(&w->stats.max_iteration_us, took);
		size_t b = 0;
		while (b < WORKER_ITER_BUCKETS - 1 && took > worker_iter_bucket_us[b])
			b++;
		stat_add(&w->iter_hist[b], 1);
	}
	for (struct conn *c = w->dirty; c != NULL; c = c->next_dirty)
		c->on_dirty = false; /* only closed connections can be left here now */
	w->dirty = NULL;
	worker_free_dead(w);
	log_debug((int)w->index, 0, "worker stopped");
	return NULL;
}

/* ---- setup ---------------------------------------------------------------------------------- */

static int epoll_add(int epfd, int fd, void *tag)
{
	struct epoll_event ev = { .events = EPOLLIN | EPOLLET };
	ev.data.ptr = tag;
	return epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev) < 0 ? -errno : 0;
}

int worker_init(struct worker *w, struct server *srv, unsigned index, int listen_fd)
{
	memset(w, 0, sizeof(*w));
	w->srv = srv;
	w->index = index;
	w->listen_fd = listen_fd;
	w->listener_ready = true; /* connections may be queued already */
	w->inbox.efd = -1;
	list_init(&w->ready);
	list_init(&w->draining);
	list_init(&w->sniffing);
	list_init(&w->handshaking);
	int rc = inbox_init(&w->inbox);
	if (rc < 0)
		return rc;
	w->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (w->epfd < 0) {
		rc = -errno;
		goto err_inbox;
	}
	w->rbuf = malloc(RBUF_SIZE);
	if (w->rbuf == NULL) {
		rc = -ENOMEM;
		goto err_epoll;
	}
	if ((rc = epoll_add(w->epfd, listen_fd, TAG_LISTENER(w))) < 0 ||
	    (rc = epoll_add(w->epfd, w->inbox.efd, TAG_INBOX(w))) < 0)
		goto err_rbuf;
	return 0;
err_rbuf:
	free(w->rbuf);
err_epoll:
	close(w->epfd);
err_inbox:
	inbox_destroy(&w->inbox);
	return rc;
}

void worker_destroy(struct worker *w)
{
	struct inbox_node *n;
	while ((n = inbox_pop(&w->inbox)) != NULL)
		msg_release(msg_from_node(n));
	map_free(&w->by_id); /* empty: every connection was closed before the loop ended */
	map_free(&w->local_rooms);
	free(w->rbuf);
	if (w->listen_fd >= 0)
		close(w->listen_fd);
	close(w->epfd);
	inbox_destroy(&w->inbox);
}
