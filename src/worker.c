/*
 * worker.c - the event loop. One thread per worker; everything it touches is its own except
 * the shared state in the hub (counters, limits). It knows no protocol and no layer above it:
 * a connection's bytes, deadline, close and shutdown go to its handlers (struct conn_ops), and
 * the layers' per-iteration work runs as hooks they registered (docs/ARCHITECTURE.md, "Layers").
 *
 * One iteration (worker_main):
 *
 *   epoll_wait ── events ──> ready list (input), dirty list (EPOLLOUT), listener flag
 *      │
 *      ├─ wake hooks  the heap sample and --max-memory cuts (shed.c); the inbox (route.c)
 *      ├─ input hooks accepting (listener.c): admitted sockets are adopted (worker_adopt)
 *      ├─ read        each ready connection: read (budget), hand the bytes to on_bytes
 *      ├─ timers      every due deadline (timer.h): on_deadline, drains, the layers' own
 *      ├─ reap        connections that ended: on_close (leave the chat), then drain or close
 *      ├─ flush       one write per connection that got output, once the adaptive holdoff
 *      │                (the last flush's time x (workers - 1), at most --flush-interval) is over
 *      └─ free        connections closed this iteration
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

#include <errno.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define RBUF_SIZE        ((size_t)64 * 1024)
#define MAX_EVENTS       256
#define READS_PER_TURN   4    /* reads per connection per iteration */
#define TIMERS_PER_TURN  1024 /* deadlines handled per iteration */
#define PAUSE_POLL_MS    1    /* while input is paused, look again this often */
#define TRIM_PERIOD_MS   1000 /* idle output rings are given back this often */
#define WRITES_PER_FLUSH 4    /* gather writes per connection per iteration */

/* epoll_event.data.ptr tags for the two non-connection fds; connections use their pointer. */
#define TAG_LISTENER(w)  ((void *)&(w)->listen_fd)
#define TAG_INBOX(w)     ((void *)&(w)->inbox)
#define TAG_LISTENER2(w) ((void *)&(w)->listen2_fd)

const uint64_t worker_iter_bucket_us[WORKER_ITER_BUCKETS - 1] = { 10,   50,    100,   500,   1000,
								  5000, 10000, 50000, 100000 };

static void stat_max(_Atomic uint64_t *counter, uint64_t v)
{
	if (v > atomic_load_explicit(counter, memory_order_relaxed))
		atomic_store_explicit(counter, v, memory_order_relaxed);
}

/* The adaptive flush policy: see worker.h. */
int64_t worker_flush_holdoff_us(int64_t took_us, unsigned workers, int64_t cap_us)
{
	if (took_us < 0 || workers < 2)
		return 0;
	int64_t h = took_us * (int64_t)(workers - 1);
	return h < cap_us ? h : cap_us;
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

/* Ends the connection's session: it is reaped at the end of the iteration. */
void worker_close_conn(struct worker *w, struct conn *c, enum conn_close_reason reason)
{
	if (c->closing)
		return;
	c->closing = true;
	c->close_reason = (uint8_t)reason;
	c->next_close = w->closing;
	w->closing = c;
}

void worker_close_listener(struct worker *w)
{
	if (w->listen2_fd >= 0) {
		epoll_ctl(w->epfd, EPOLL_CTL_DEL, w->listen2_fd, NULL);
		close(w->listen2_fd);
		w->listen2_fd = -1;
	}
	if (w->listen_fd < 0)
		return;
	epoll_ctl(w->epfd, EPOLL_CTL_DEL, w->listen_fd, NULL);
	close(w->listen_fd);
	w->listen_fd = -1;
}

void worker_set_ops(struct worker *w, struct conn *c, const struct conn_ops *ops)
{
	log_debug((int)w->index, c->id, "speaks %s", ops->name);
	c->ops = ops;
}

void worker_arm_conn_timer(struct worker *w, struct conn *c, enum timer_kind kind, int64_t due_ms)
{
	timer_arm(&w->timers, &c->timer, kind, due_ms);
}

/* Closes the socket now and queues the memory for freeing after this iteration's flush. */
static void worker_finalize(struct worker *w, struct conn *c)
{
	if (c->on_ready) {
		list_unlink(&c->ready_link);
		c->on_ready = false;
	}
	list_unlink(&c->conn_link);
	timer_stop(&c->timer);
	c->draining = false;
	conn_discard_output(c);
	framer_reset(&c->in);
	conn_drop_handshake(c);
	close(c->fd);
	c->fd = -1;
	w->nconns--;
	if (!c->outbound) {
		/* the address's place first: whoever sees the count drop may connect again */
		iplimit_release(&w->hub->iplimit, c->ip_key);
		atomic_fetch_sub_explicit(&w->hub->conns, 1, memory_order_relaxed);
	}
	c->next_close = w->dead;
	w->dead = c;
}

/* A connection's timer expired: a drain that ran out of time ends here; any other deadline
 * belongs to the connection's handlers. */
static void worker_conn_deadline(struct timer *t, void *ctx)
{
	struct worker *w = ctx;
	struct conn *c = container_of(t, struct conn, timer);
	if (c->draining) {
		log_debug((int)w->index, c->id, "drain timeout with %zu bytes unsent",
			  c->out_bytes);
		worker_finalize(w, c);
		return;
	}
	if (c->ops->on_deadline != NULL)
		c->ops->on_deadline(w, c);
}

/* ---- input ---------------------------------------------------------------------------------- */

/* Reads c until EAGAIN, EOF, error or the per-turn budget. */
static void worker_read_conn(struct worker *w, struct conn *c)
{
	for (int reads = 0; c->readable && !c->closing; reads++) {
		if (reads == READS_PER_TURN || w->lines_pending >= WORKER_FLUSH_BATCH_LINES) {
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
			c->ops->on_bytes(w, c, w->rbuf, (size_t)n);
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
	list_move_all(&pass, &w->ready);
	struct list_node *n;
	while ((n = list_pop_front(&pass)) != NULL) {
		if (w->lines_pending >= WORKER_FLUSH_BATCH_LINES) { /* flush first; the rest wait */
			list_push_back(&w->ready, n);
			continue;
		}
		struct conn *c = container_of(n, struct conn, ready_link);
		c->on_ready = false;
		worker_read_conn(w, c);
	}
}

/* ---- new connections --------------------------------------------------------------------- */

/* A connection for fd with handlers ops, registered with epoll and listed; NULL (errno set)
 * when it cannot be. */
static struct conn *worker_register(struct worker *w, int fd, uint64_t id,
				    const struct conn_ops *ops)
{
	struct conn *c = conn_new(fd, id, w->index);
	if (c == NULL) {
		errno = ENOMEM;
		return NULL;
	}
	struct epoll_event ev = { .events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET };
	ev.data.ptr = c;
	if (epoll_ctl(w->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
		int saved = errno;
		free(c);
		errno = saved;
		return NULL;
	}
	c->ops = ops;
	timer_init(&c->timer, worker_conn_deadline);
	list_push_back(&w->conns, &c->conn_link);
	w->nconns++;
	return c;
}

int worker_adopt(struct worker *w, int fd, const struct cidr_addr *addr, uint64_t ip_key,
		 const struct conn_ops *ops)
{
	uint64_t id = atomic_fetch_add_explicit(&w->hub->next_id, 1, memory_order_relaxed);
	struct conn *c = worker_register(w, fd, id, ops);
	if (c == NULL)
		return -errno;
	c->ip_key = ip_key;
	c->addr = *addr;
	stat_add(&w->stats.accepted, 1);
	if (log_enabled(LOG_DEBUG)) {
		char from[CIDR_ADDR_PORT_STRLEN];
		log_write(LOG_DEBUG, (int)w->index, id, "connected from %s",
			  cidr_addr_format_port(addr, from, sizeof(from)));
	}
	if (c->ops->on_open != NULL)
		c->ops->on_open(w, c);
	/* Data may have arrived before EPOLL_CTL_ADD: try a read this iteration. */
	c->readable = true;
	worker_mark_ready(w, c);
	return 0;
}

struct conn *worker_connect(struct worker *w, int fd, const struct conn_ops *ops)
{
	struct conn *c = worker_register(w, fd, 0, ops);
	if (c == NULL)
		return NULL;
	c->outbound = true;
	c->writable = false; /* until the connect completes: EPOLLOUT */
	if (c->ops->on_open != NULL)
		c->ops->on_open(w, c);
	return c;
}

/* ---- end of iteration: reap, flush, free -------------------------------------------------- */

static void worker_start_drain(struct worker *w, struct conn *c)
{
	if (c->out_count == 0) {
		worker_finalize(w, c);
		return;
	}
	c->draining = true;
	timer_arm(&w->timers, &c->timer, TIMER_DRAIN, w->now_ms + w->cfg->drain_timeout_ms);
	worker_mark_dirty(w, c);
}

size_t worker_conn_cost(const struct worker *w, const struct conn *c)
{
	return conn_cost(c, w->cfg->max_line + 1, w->hub->cfg.max_http_header);
}

/* Cuts c for its close reason (too slow, over --max-memory, out of memory): a counter, a log
 * line, then its queue is thrown away and it gets its last words, written by its handlers in
 * its protocol (best effort), and it is closed. */
static void worker_cut(struct worker *w, struct conn *c)
{
	const struct config *cfg = w->cfg;
	char line[PROTO_LINE_MAX];
	size_t n;
	if (c->close_reason == CLOSE_SLOW) {
		stat_add(&w->stats.slow_disconnects, 1);
		worker_log_gated(w, GATE_SLOW, LOG_WARN, c->id,
				 "slow consumer: %zu bytes queued (max %zu); disconnecting",
				 c->out_charge, conn_out_max(c, cfg->max_outbuf));
		n = proto_too_slow(line, sizeof(line), cfg->max_outbuf);
	} else if (c->close_reason == CLOSE_MEMORY) {
		size_t cost = worker_conn_cost(w, c);
		worker_log_gated(w, GATE_MEMORY, LOG_WARN, c->id,
				 "heap %llu bytes over --max-memory %zu: cutting this connection, "
				 "which holds %zu bytes (among the most)",
				 (unsigned long long)atomic_load_explicit(&w->hub->mem.heap,
									  memory_order_relaxed),
				 memory_guard_cap(&w->hub->mem), cost);
		n = proto_evicted(line, sizeof(line), cost);
	} else {
		stat_add(&w->stats.nomem_disconnects, 1);
		log_error((int)w->index, c->id, "out of memory; connection closed");
		n = proto_out_of_memory(line, sizeof(line), PROTO_NOMEM_DISCONNECTING);
	}
	bool mid = c->out_off > 0;
	conn_discard_output(c);
	if (c->ops->say_last != NULL)
		c->ops->say_last(w, c, line, n, mid);
	worker_finalize(w, c);
}

static void worker_reap(struct worker *w)
{
	struct conn *c;
	while ((c = w->closing) != NULL) {
		w->closing = c->next_close;
		if (c->ops->on_close != NULL)
			c->ops->on_close(w, c);
		log_debug((int)w->index, c->id, "disconnected (reason %d)", c->close_reason);
		switch ((enum conn_close_reason)c->close_reason) {
		case CLOSE_EOF:
		case CLOSE_QUIT:
		case CLOSE_KICKED:
		case CLOSE_FLOOD:
		case CLOSE_SHUTDOWN:
			worker_start_drain(w, c);
			break;
		case CLOSE_SLOW:
		case CLOSE_MEMORY:
		case CLOSE_NOMEM:
			worker_cut(w, c);
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
	atomic_store_explicit(&c->user.queued, c->out_bytes, memory_order_relaxed); /* GET /users */
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
		if (c->fd >= 0 && !c->closing &&
		    c->out_charge > conn_out_max(c, w->cfg->max_outbuf))
			worker_close_conn(w, c, CLOSE_SLOW);
		c = next;
	}
	w->dirty = again;
}

/* Whether this iteration ends with a flush: the holdoff is over (worker_flush_adaptive), or
 * WORKER_FLUSH_BATCH_LINES lines are waiting, or the worker is shutting down. */
static bool worker_flush_due(const struct worker *w, int64_t now_us)
{
	return w->dirty != NULL && (now_us >= w->next_flush_us || w->shutting_down ||
				    w->lines_pending >= WORKER_FLUSH_BATCH_LINES);
}

/* Flushes, then sets the holdoff before the next flush from how long this one took. */
static void worker_flush_adaptive(struct worker *w)
{
	int64_t start_us = clock_now_us();
	worker_flush(w);
	int64_t end_us = clock_now_us();
	int64_t cap_us = (int64_t)w->cfg->flush_interval_ms * 1000;
	w->next_flush_us =
	    end_us + worker_flush_holdoff_us(end_us - start_us, w->hub->nworkers, cap_us);
	w->lines_pending = 0;
	if (!timer_armed(&w->trim_timer)) /* output rings grew: give them back when idle */
		timer_arm(&w->timers, &w->trim_timer, TIMER_TRIM, w->now_ms + TRIM_PERIOD_MS);
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

/* A second after a flush: idle connections give back output rings a burst grew (conn_trim). */
static void worker_trim(struct timer *t, void *ctx)
{
	(void)t;
	struct worker *w = ctx;
	for (struct list_node *n = w->conns.next; n != &w->conns; n = n->next)
		conn_trim(container_of(n, struct conn, conn_link));
}

/* Runs the hooks of one kind; true when one of them left work for the next iteration. */
static bool worker_run_hooks(struct worker *w, enum worker_hook_kind kind)
{
	bool pending = false;
	for (unsigned i = 0; i < w->nhooks; i++)
		if (w->hooks[i].kind == kind)
			pending |= w->hooks[i].fn(w, w->hooks[i].arg);
	return pending;
}

/* ---- shutdown ------------------------------------------------------------------------------- */

/*
 * The shutdown hooks first (the listener greets what is queued on it and closes it), then
 * each connection's handlers say goodbye in its protocol and close it (those without: closed
 * at once).
 */
static void worker_begin_shutdown(struct worker *w)
{
	w->shutting_down = true;
	(void)worker_run_hooks(w, WORKER_HOOK_SHUTDOWN);
	/* only marks: the list is not changed */
	for (struct list_node *n = w->conns.next; n != &w->conns; n = n->next) {
		struct conn *c = container_of(n, struct conn, conn_link);
		if (c->closing)
			continue; /* already saying goodbye its own way */
		if (c->ops->on_shutdown != NULL)
			c->ops->on_shutdown(w, c);
		else
			worker_close_conn(w, c, CLOSE_RESET);
	}
}

/* ---- the loop ------------------------------------------------------------------------------- */

/*
 * How long epoll_wait may block: 0 when work is pending, -1 when nothing is scheduled.
 * *holdoff is set when the wait is the flush holdoff: the worker then sleeps without asking
 * other workers to wake it for inbox messages (they wait for the flush anyway), so a loaded
 * worker is not woken once per line routed to it.
 */
static int worker_timeout(struct worker *w, bool wake_pending, bool *holdoff)
{
	*holdoff = false;
	if (w->closing || wake_pending)
		return 0;
	if (w->dirty != NULL && w->lines_pending < WORKER_FLUSH_BATCH_LINES) {
		int64_t wait_us = w->next_flush_us - clock_now_us();
		*holdoff = wait_us > 0;
		return wait_us > 0 ? (int)((wait_us + 999) / 1000) : 0;
	}
	if (w->dirty != NULL)
		return 0;
	if (w->input_pending || !list_empty(&w->ready))
		return w->input_paused ? PAUSE_POLL_MS : 0; /* paused: poll, do not spin */
	int64_t due = timers_next(&w->timers), now = w->now_ms;
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
			w->listener_ready = w->input_pending = true;
		else if (tag == TAG_LISTENER2(w))
			w->listener2_ready = w->input_pending = true;
		else
			worker_on_conn_event(w, tag, events[i].events);
	}
	return inbox_fired;
}

static void worker_record_iteration(struct worker *w, int64_t start_us)
{
	stat_add(&w->stats.iterations, 1);
	uint64_t took = (uint64_t)(clock_now_us() - start_us);
	stat_max(&w->stats.max_iteration_us, took);
	size_t b = 0;
	while (b < WORKER_ITER_BUCKETS - 1 && took > worker_iter_bucket_us[b])
		b++;
	stat_add(&w->iter_hist[b], 1);
}

void *worker_main(void *arg)
{
	struct worker *w = arg;
	struct hub *hub = w->hub;
	struct epoll_event events[MAX_EVENTS];
	bool wake_pending = false;
	w->now_ms = clock_now_ms();
	w->cfg = live_enter(&hub->live, w->index);
	for (;;) {
		/* acquire: pairs with the release store in server_stop. */
		if (!w->shutting_down && atomic_load_explicit(&hub->stopping, memory_order_acquire))
			worker_begin_shutdown(w);
		if (w->shutting_down && w->nconns == 0 && !w->closing)
			break;
		bool holdoff;
		int timeout = worker_timeout(w, wake_pending, &holdoff);
		bool may_sleep = timeout != 0 && !holdoff && inbox_prepare_sleep(&w->inbox);
		if (!may_sleep && !holdoff)
			timeout = 0;
		int n = epoll_wait(w->epfd, events, MAX_EVENTS, timeout);
		if (n < 0 && errno != EINTR)
			log_error((int)w->index, 0, "epoll_wait: %s", strerror(errno));
		int64_t start_us = clock_now_us();
		w->now_ms = start_us / 1000;
		/* the quiescent state: no snapshot of an earlier iteration is held past here */
		w->cfg = live_enter(&hub->live, w->index);
		bool inbox_fired = n > 0 && worker_dispatch(w, events, n);
		if (may_sleep || inbox_fired)
			inbox_awake(&w->inbox, inbox_fired);

		/* The wake-up hooks go before accept: what other workers routed before a
		 * newcomer arrived is not shown to the newcomer. */
		wake_pending = worker_run_hooks(w, WORKER_HOOK_WAKE);
		if (!w->input_paused) {
			w->input_pending = worker_run_hooks(w, WORKER_HOOK_INPUT);
			worker_read_ready(w);
		}
		timers_run(&w->timers, w->now_ms, TIMERS_PER_TURN, w);
		worker_reap(w);
		if (worker_flush_due(w, clock_now_us()))
			worker_flush_adaptive(w);
		worker_free_dead(w);
		worker_record_iteration(w, start_us);
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

int worker_init(struct worker *w, struct hub *hub, unsigned index, int listen_fd,
		const struct conn_ops *accept_ops)
{
	memset(w, 0, sizeof(*w));
	w->hub = hub;
	w->cfg = live_current(&hub->live); /* until the thread's first live_enter */
	w->index = index;
	w->listen_fd = listen_fd;
	w->listen2_fd = -1;
	w->listener_ready = true; /* connections may be queued already */
	w->input_pending = true;
	w->accept_ops = accept_ops;
	w->inbox.efd = -1;
	list_init(&w->conns);
	list_init(&w->ready);
	timers_init(&w->timers);
	timer_init(&w->trim_timer, worker_trim);
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

int worker_add_listener(struct worker *w, int fd, const struct conn_ops *ops)
{
	int rc = epoll_add(w->epfd, fd, TAG_LISTENER2(w));
	if (rc < 0) {
		close(fd);
		return rc;
	}
	w->listen2_fd = fd;
	w->listener2_ready = true; /* connections may be queued already */
	w->accept2_ops = ops;
	return 0;
}

int worker_add_hook(struct worker *w, enum worker_hook_kind kind, worker_hook_fn fn, void *arg)
{
	if (w->nhooks == WORKER_HOOKS_MAX)
		return -ENOSPC;
	w->hooks[w->nhooks++] = (struct worker_hook){ fn, arg, kind };
	return 0;
}

void *worker_hook_arg(const struct worker *w, worker_hook_fn fn)
{
	for (unsigned i = 0; i < w->nhooks; i++)
		if (w->hooks[i].fn == fn)
			return w->hooks[i].arg;
	return NULL;
}

void worker_destroy(struct worker *w)
{
	free(w->rbuf);
	if (w->listen_fd >= 0)
		close(w->listen_fd);
	if (w->listen2_fd >= 0)
		close(w->listen2_fd);
	close(w->epfd);
	inbox_destroy(&w->inbox);
}
