/*
 * admin.c - the admin listener (see admin.h): one thread running its own small epoll loop over
 * the listening socket, a stop eventfd and at most --admin-max-conns connections.
 *
 * Ownership: struct admin (the epoll set, the listener, the eventfd, the connection table and
 * every connection's buffers) is made by admin_start and freed by admin_stop, on the server's
 * thread, before the admin thread starts and after it is joined; in between only the admin
 * thread touches it. The exception is `stats`: written by the admin thread alone (relaxed
 * load and store, no read-modify-write), read by anyone (relaxed loads). The workers' figures
 * are read with relaxed loads, as everywhere.
 *
 * A connection's life, one request per connection (every answer says Connection: close):
 *
 *   accept -> READ_HEAD --head complete or malformed--> handle --> WRITE --all sent--> close
 *                |                                                   |
 *                +-- --admin-timeout after accept: 408, close -------+-- close
 *
 * READ_HEAD reads into the connection's own ADMIN_HEAD_MAX buffer (431 past it) and parses
 * only when a line has ended. Handling goes through a route table (method, path, function):
 * the function puts the whole answer into the connection's own output buffer (a /metrics page
 * is rendered for each request, not into a page shared by all), and WRITE sends it as far as
 * the socket takes, then waits for EPOLLOUT for as many rounds as it needs. The one deadline
 * covers the whole exchange, so a client that trickles its head, or reads the answer a byte
 * at a time, gains nothing by it: it is cut --admin-timeout after accept whatever it does.
 * (Request bodies, when a route wants one, would be a READ_BODY state between the two.)
 *
 * Level-triggered epoll, not edge-triggered as in the workers: 64 connections and a few
 * requests a second cost nothing in extra wake-ups, and level mode needs none of the
 * edge-triggered invariants (read to EAGAIN, a "still ready" list, a read right after
 * EPOLL_CTL_ADD), so there is less to get wrong in a loop that is rarely exercised. What keeps
 * it from spinning is that the interest set follows the state: EPOLLIN while a connection
 * reads its head, EPOLLOUT only while an answer waits for room, and the listener out of the
 * set while accepting is paused.
 *
 * A full table: the newcomer takes the slot of the oldest connection still reading its head;
 * that one gets a best-effort 503 and is closed. Only when every slot is writing an answer is
 * the newcomer itself answered 503 and closed. Both count as rejected, reason "full".
 * Refusing newcomers instead would let 64 idle connections, renewed every 2 s, deny /healthz
 * to everyone; evicting the oldest means a flood has to outpace a health checker's request,
 * which arrives microseconds after its connect.
 *
 * Accept errors: EMFILE, ENFILE and the like leave the connection queued and the listener
 * readable, which a level-triggered loop would spin on, so accepting pauses for
 * ADMIN_ACCEPT_PAUSE_MS: the listener leaves the interest set and the pause is a deadline.
 *
 * Closing: input still queued is read and dropped first (closing a socket with unread input
 * sends a reset, which can destroy the answer before the client has read it). A connection is
 * closed and its slot freed on the spot. That is safe because the listener is served after
 * the whole batch of events: within one batch no slot is reused, so every event still names
 * the connection it was raised for (or a free slot, which is skipped).
 *
 * Shutdown: admin_stop writes the eventfd and the loop returns as soon as epoll_wait does,
 * closing every connection wherever it is. Nothing in the loop blocks but epoll_wait.
 */
#include "admin.h"
#include "bans.h"
#include "cluster.h"
#include "common.h"
#include "config.h"
#include "http.h"
#include "hmac.h"
#include "log.h"
#include "memory.h"
#include "operator.h"
#include "secret.h"
#include "sha256.h"
#include "hub.h"
#include "route.h"
#include "worker.h"

#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#define ADMIN_BACKLOG         256   /* a flood waits in the accept queue, not in SYN retries */
#define ADMIN_ACCEPT_BUDGET   64    /* accepts per loop turn */
#define ADMIN_ACCEPT_PAUSE_MS 100   /* accepting paused after EMFILE, ENFILE, ENOBUFS... */
#define ADMIN_HEAD_ROOM       512   /* room for an answer's head in front of its body */
#define ADMIN_DISCARD_MAX     65536 /* unread input dropped before a close, at most */
#define ADMIN_NOMEM_TEXT      "server out of memory\n" /* a 503's body when nothing fits */
/* epoll data: these two tags, or a connection's index in the table */
#define ADMIN_TAG_LISTEN UINT64_MAX
#define ADMIN_TAG_STOP   (UINT64_MAX - 1)
#define ADMIN_EVENTS     64   /* events taken per epoll_wait (level-triggered: the rest wait) */
#define ADMIN_BODY_MAX   4096 /* a longer request body is answered 413 */
#define ADMIN_IN_MAX     (ADMIN_HEAD_MAX + ADMIN_BODY_MAX)
#define ADMIN_TOKEN_MIN  16  /* bytes of --admin-token, at least */
#define ADMIN_TOKEN_MAX  512 /* and at most */

/* The admin thread's own counters: it is not a worker. One writer, relaxed. */
struct admin_stats {
	_Atomic uint64_t connections; /* open now (a gauge) */
	_Atomic uint64_t accepted;
	_Atomic uint64_t requests; /* request heads answered, malformed ones included */
	_Atomic uint64_t rejected_full;
	_Atomic uint64_t rejected_timeout;
	_Atomic uint64_t rejected_bad_request;
	_Atomic uint64_t rejected_nomem;
	_Atomic uint64_t accept_pauses;
	_Atomic uint64_t rejected_token;    /* operators' requests without a valid token */
	_Atomic uint64_t operator_requests; /* operators' requests answered (any status) */
};

enum admin_state { ADMIN_FREE, ADMIN_READ_HEAD, ADMIN_READ_BODY, ADMIN_WRITE };

struct admin_conn {
	int fd;
	enum admin_state state;
	bool head_only;      /* a HEAD request: the answer's head goes out, its body does not */
	uint32_t events;     /* what epoll watches this fd for now */
	int64_t deadline_ms; /* accept + --admin-timeout: for the whole exchange */
	uint64_t seq;        /* accept order: the lowest is the oldest */
	char *in; /* the request head and body (ADMIN_IN_MAX bytes) while they are read */
	size_t in_len;
	size_t want; /* READ_BODY: the head's and the body's bytes, all to be read */
	char *out;   /* the answer: out[out_pos..out_end) is still to be sent */
	size_t out_pos, out_end;
	char peer[INET6_ADDRSTRLEN + 8]; /* for log lines */
};

/* Kinds of client-triggered log lines, each limited to LOG_GATE_PER_SEC a second. */
enum admin_gate { ADMIN_GATE_REFUSED, ADMIN_GATE_ACCEPT, ADMIN_GATE_COUNT };

struct admin {
	struct hub *hub;
	pthread_t thread;
	int listen_fd, stop_fd, epfd;
	bool accepting;           /* the listener is in the epoll set */
	int64_t accept_resume_ms; /* while not accepting: when to take the listener back */
	uint64_t accepted;        /* connections accepted so far (the next seq) */
	struct log_gate gates[ADMIN_GATE_COUNT];
	struct admin_stats stats;       /* see the ownership note above */
	size_t max_conns;               /* --admin-max-conns */
	uint8_t token[ADMIN_TOKEN_MAX]; /* --admin-token (never logged); token_len 0: none */
	size_t token_len;
	char token_id[9]; /* the token's name in the log: its SHA-256's first 8 hex digits */
	int deadline_ms;  /* --admin-timeout */
	struct admin_conn conns[]; /* max_conns */
};

union admin_addr {
	struct sockaddr sa;
	struct sockaddr_in in4;
	struct sockaddr_in6 in6;
};

/* ---- /metrics ----------------------------------------------------------------------------- */

struct buf {
	char *p;
	size_t len, cap;
};

static void put(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put(struct buf *b, const char *fmt, ...)
{
	if (b->len >= b->cap)
		return;
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
	va_end(ap);
	if (n > 0)
		b->len = b->len + (size_t)n < b->cap ? b->len + (size_t)n : b->cap;
}

static uint64_t load(const _Atomic uint64_t *v)
{
	return atomic_load_explicit(v, memory_order_relaxed);
}

static void admin_render_self(struct buf *b, const struct admin_stats *s)
{
	put(b,
	    "# HELP chatd_admin_connections Admin connections open.\n"
	    "# TYPE chatd_admin_connections gauge\nchatd_admin_connections %llu\n"
	    "# HELP chatd_admin_accepted_total Admin connections accepted.\n"
	    "# TYPE chatd_admin_accepted_total counter\nchatd_admin_accepted_total %llu\n",
	    (unsigned long long)load(&s->connections), (unsigned long long)load(&s->accepted));
	put(b,
	    "# HELP chatd_admin_requests_total Admin requests answered, malformed ones included.\n"
	    "# TYPE chatd_admin_requests_total counter\nchatd_admin_requests_total %llu\n",
	    (unsigned long long)load(&s->requests));
	put(b,
	    "# HELP chatd_admin_rejected_total Admin connections refused: table full, deadline "
	    "passed, malformed request head, out of memory.\n"
	    "# TYPE chatd_admin_rejected_total counter\n"
	    "chatd_admin_rejected_total{reason=\"full\"} %llu\n"
	    "chatd_admin_rejected_total{reason=\"timeout\"} %llu\n"
	    "chatd_admin_rejected_total{reason=\"bad_request\"} %llu\n"
	    "chatd_admin_rejected_total{reason=\"nomem\"} %llu\n"
	    "chatd_admin_rejected_total{reason=\"token\"} %llu\n",
	    (unsigned long long)load(&s->rejected_full),
	    (unsigned long long)load(&s->rejected_timeout),
	    (unsigned long long)load(&s->rejected_bad_request),
	    (unsigned long long)load(&s->rejected_nomem),
	    (unsigned long long)load(&s->rejected_token));
	put(b,
	    "# HELP chatd_admin_operator_requests_total Operators' API requests answered (/users, "
	    "/rooms, /kick, /ban, /bans).\n"
	    "# TYPE chatd_admin_operator_requests_total counter\n"
	    "chatd_admin_operator_requests_total %llu\n",
	    (unsigned long long)load(&s->operator_requests));
	put(b,
	    "# HELP chatd_admin_accept_pauses_total Admin accepting paused for lack of file "
	    "descriptors or memory.\n"
	    "# TYPE chatd_admin_accept_pauses_total counter\nchatd_admin_accept_pauses_total "
	    "%llu\n",
	    (unsigned long long)load(&s->accept_pauses));
}

/* --cluster: the link's state and counters (nothing without --cluster). */
static void admin_render_cluster(struct buf *b, const struct hub *hub)
{
	struct cluster_stats cs;
	cluster_get_stats(hub, &cs);
	if (!cs.configured)
		return;
	put(b,
	    "# HELP chatd_cluster_link_up 1 while the link to Redis is up (--cluster).\n"
	    "# TYPE chatd_cluster_link_up gauge\nchatd_cluster_link_up %d\n"
	    "# HELP chatd_cluster_subscriptions Room channels this node is subscribed to.\n"
	    "# TYPE chatd_cluster_subscriptions gauge\nchatd_cluster_subscriptions %llu\n",
	    cs.up ? 1 : 0, (unsigned long long)cs.subscriptions);
	put(b,
	    "# HELP chatd_cluster_peers Other nodes heard from (heartbeats) within 6 s.\n"
	    "# TYPE chatd_cluster_peers gauge\nchatd_cluster_peers %llu\n"
	    "# HELP chatd_cluster_publish_seconds A line's publish, from the command sent to "
	    "Redis's answer.\n# TYPE chatd_cluster_publish_seconds summary\n"
	    "chatd_cluster_publish_seconds_sum %.6f\nchatd_cluster_publish_seconds_count %llu\n"
	    "# HELP chatd_cluster_publish_max_seconds The longest publish so far.\n"
	    "# TYPE chatd_cluster_publish_max_seconds gauge\n"
	    "chatd_cluster_publish_max_seconds %.6f\n",
	    (unsigned long long)cs.peers, (double)cs.publish_us_sum / 1e6,
	    (unsigned long long)cs.publish_count, (double)cs.publish_us_max / 1e6);
#define ADMIN_CLUSTER_COUNTER(name, help)                                                 \
	put(b,                                                                            \
	    "# HELP chatd_cluster_" #name "_total " help ".\n# TYPE chatd_cluster_" #name \
	    "_total counter\nchatd_cluster_" #name "_total %llu\n",                       \
	    (unsigned long long)cs.name);
	CLUSTER_COUNTERS(ADMIN_CLUSTER_COUNTER)
#undef ADMIN_CLUSTER_COUNTER
}

size_t admin_render_metrics(struct hub *hub, const struct admin *a, char *out, size_t cap)
{
	struct buf b = { out, 0, cap };
	unsigned n = hub->nworkers;
	put(&b, "# HELP chatd_users Users connected to the chat, by protocol and worker.\n"
		"# TYPE chatd_users gauge\n");
	for (unsigned i = 0; i < n; i++) {
		uint64_t all = load(&hub->workers[i].users_now);
		uint64_t ws = load(&hub->workers[i].ws_users_now);
		put(&b,
		    "chatd_users{protocol=\"line\",worker=\"%u\"} %lld\n"
		    "chatd_users{protocol=\"websocket\",worker=\"%u\"} %lld\n",
		    i, (long long)(all - ws), i, (long long)ws);
	}
	put(&b,
	    "# HELP chatd_connections Open client connections (users, and ones being closed).\n"
	    "# TYPE chatd_connections gauge\nchatd_connections %ld\n",
	    atomic_load_explicit(&hub->conns, memory_order_relaxed));
	put(&b, "# HELP chatd_rooms Rooms that exist.\n# TYPE chatd_rooms gauge\nchatd_rooms %ld\n",
	    dir_room_count(&hub->dir));
	/* Live heap bytes (all arenas): the soak's leak check, and what --max-memory caps. */
	put(&b,
	    "# HELP chatd_heap_bytes Heap bytes allocated and not freed (mallinfo2).\n"
	    "# TYPE chatd_heap_bytes gauge\nchatd_heap_bytes %zu\n"
	    "# HELP chatd_max_memory_bytes --max-memory: the heap cap (0 = off).\n"
	    "# TYPE chatd_max_memory_bytes gauge\nchatd_max_memory_bytes %zu\n"
	    "# HELP chatd_memory_over 1 while the last heap sample was over --max-memory.\n"
	    "# TYPE chatd_memory_over gauge\nchatd_memory_over %d\n",
	    memory_heap_bytes(), memory_guard_cap(&hub->mem), memory_guard_over(&hub->mem) ? 1 : 0);
	put(&b,
	    "# HELP chatd_workers Worker threads.\n# TYPE chatd_workers gauge\n"
	    "chatd_workers %u\n",
	    n);
	put(&b,
	    "# HELP chatd_config_reloads_total Configurations applied on SIGHUP.\n"
	    "# TYPE chatd_config_reloads_total counter\nchatd_config_reloads_total %llu\n"
	    "# HELP chatd_config_reload_errors_total SIGHUP reloads refused (the file did not "
	    "parse): the running configuration kept.\n"
	    "# TYPE chatd_config_reload_errors_total counter\n"
	    "chatd_config_reload_errors_total %llu\n",
	    (unsigned long long)load(&hub->live.reloads),
	    (unsigned long long)load(&hub->live.reload_errors));
	/* inbox depth of worker j: what everyone pushed to it minus what it popped */
	put(&b, "# HELP chatd_inbox_depth Messages waiting in a worker's inbox.\n"
		"# TYPE chatd_inbox_depth gauge\n");
	for (unsigned j = 0; j < n; j++)
		put(&b, "chatd_inbox_depth{worker=\"%u\"} %lld\n", j,
		    (long long)route_inbox_depth(hub, j));
#define ADMIN_COUNTER(name, help)                                                                  \
	put(&b, "# HELP chatd_" #name "_total " help ".\n# TYPE chatd_" #name "_total counter\n"); \
	for (unsigned i = 0; i < n; i++)                                                           \
		put(&b, "chatd_" #name "_total{worker=\"%u\"} %llu\n", i,                          \
		    (unsigned long long)load(&hub->workers[i].stats.name));
	WORKER_COUNTERS(ADMIN_COUNTER)
#undef ADMIN_COUNTER
	put(&b,
	    "# HELP chatd_loop_iteration_max_seconds Longest event-loop iteration since start.\n"
	    "# TYPE chatd_loop_iteration_max_seconds gauge\n");
	for (unsigned i = 0; i < n; i++)
		put(&b, "chatd_loop_iteration_max_seconds{worker=\"%u\"} %.6f\n", i,
		    (double)load(&hub->workers[i].stats.max_iteration_us) / 1e6);
	put(&b, "# HELP chatd_loop_iteration_seconds Event-loop iteration time, per worker.\n"
		"# TYPE chatd_loop_iteration_seconds histogram\n");
	for (unsigned i = 0; i < n; i++) {
		uint64_t cum = 0;
		for (unsigned k = 0; k < WORKER_ITER_BUCKETS; k++) {
			cum += load(&hub->workers[i].iter_hist[k]);
			if (k < WORKER_ITER_BUCKETS - 1)
				put(&b,
				    "chatd_loop_iteration_seconds_bucket{worker=\"%u\",le=\"%g\"} "
				    "%llu\n",
				    i, (double)worker_iter_bucket_us[k] / 1e6,
				    (unsigned long long)cum);
			else
				put(&b,
				    "chatd_loop_iteration_seconds_bucket{worker=\"%u\",le=\"+Inf\"}"
				    " "
				    "%llu\n"
				    "chatd_loop_iteration_seconds_count{worker=\"%u\"} %llu\n",
				    i, (unsigned long long)cum, i, (unsigned long long)cum);
		}
	}
	admin_render_cluster(&b, hub);
	if (a != NULL)
		admin_render_self(&b, &a->stats);
	return b.len;
}

/* ---- helpers ------------------------------------------------------------------------------ */

static void admin_count(_Atomic uint64_t *counter, int delta)
{
	atomic_store_explicit(counter, load(counter) + (uint64_t)(int64_t)delta,
			      memory_order_relaxed);
}

/* A client-triggered log line, at most LOG_GATE_PER_SEC a second per kind; the rest are
 * counted and reported as suppressed. */
static void admin_log_gated(struct admin *a, enum admin_gate g, enum log_level lvl, const char *fmt,
			    ...) __attribute__((format(printf, 4, 5)));
static void admin_log_gated(struct admin *a, enum admin_gate g, enum log_level lvl, const char *fmt,
			    ...)
{
	if (!log_enabled(lvl) || !log_gate_pass(&a->gates[g], lvl, -1))
		return;
	char text[256];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	log_write(lvl, -1, 0, "admin: %s", text);
}

static void admin_format_peer(const union admin_addr *a, char *out, size_t cap)
{
	char host[INET6_ADDRSTRLEN] = "?";
	unsigned port = 0;
	if (a->sa.sa_family == AF_INET) {
		inet_ntop(AF_INET, &a->in4.sin_addr, host, sizeof(host));
		port = ntohs(a->in4.sin_port);
	} else if (a->sa.sa_family == AF_INET6) {
		inet_ntop(AF_INET6, &a->in6.sin6_addr, host, sizeof(host));
		port = ntohs(a->in6.sin6_port);
	}
	snprintf(out, cap, "%s:%u", host, port);
}

/* Reads and drops what the client sent and nobody will read, so the close that follows sends
 * a FIN after the answer, not a reset that may destroy it. Bounded; never blocks. */
static void admin_fd_discard_input(int fd)
{
	char sink[4096];
	for (size_t total = 0; total < ADMIN_DISCARD_MAX;) {
		ssize_t n = recv(fd, sink, sizeof(sink), MSG_DONTWAIT);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return;
		total += (size_t)n;
	}
}

/* A short answer on the way out (408, 503): one non-blocking send, best effort. */
static void admin_fd_refuse(int fd, int status, const char *text, const char *extra)
{
	char msg[ADMIN_HEAD_ROOM + 64];
	size_t len = strlen(text);
	size_t n =
	    http_format_head(msg, sizeof(msg) - len - 1, status, "text/plain", len, false, extra);
	if (n == 0)
		return;
	memcpy(msg + n, text, len + 1);
	admin_fd_discard_input(fd);
	/* best effort: a client that cannot take 200 bytes at once is closed without them */
	(void)!send(fd, msg, n + len, MSG_NOSIGNAL | MSG_DONTWAIT);
}

/* ---- a connection ------------------------------------------------------------------------- */

static void admin_conn_close(struct admin *a, struct admin_conn *c)
{
	admin_fd_discard_input(c->fd);
	/* close alone would leave the registration behind while a forked child still holds the
	 * socket (until its exec closes it), and level-triggered, it could keep firing */
	if (epoll_ctl(a->epfd, EPOLL_CTL_DEL, c->fd, NULL) < 0)
		log_error(-1, 0, "admin: epoll_ctl DEL: %s", strerror(errno));
	close(c->fd);
	free(c->in);
	free(c->out);
	*c = (struct admin_conn){ .fd = -1, .state = ADMIN_FREE };
	admin_count(&a->stats.connections, -1);
}

/* Changes what epoll watches c for. Returns 0 or -errno. */
static int admin_conn_want(struct admin *a, struct admin_conn *c, uint32_t events)
{
	if (c->events == events)
		return 0;
	struct epoll_event ev = { .events = events, .data.u64 = (uint64_t)(c - a->conns) };
	if (epoll_ctl(a->epfd, EPOLL_CTL_MOD, c->fd, &ev) < 0)
		return -errno;
	c->events = events;
	return 0;
}

/* Space for the body of c's answer (cap bytes), with room in front for the head that
 * admin_conn_reply puts there. NULL without memory. The buffer is c's until it closes. */
static char *admin_conn_body(struct admin_conn *c, size_t cap)
{
	free(c->out);
	c->out = malloc(ADMIN_HEAD_ROOM + cap);
	return c->out != NULL ? c->out + ADMIN_HEAD_ROOM : NULL;
}

/* Completes c's answer around the len-byte body from admin_conn_body: the head goes right in
 * front of it, so the body is never copied. For a HEAD request the head keeps the body's
 * Content-Length (RFC 9110 section 9.3.2) and the body is not sent. Returns 0 or -errno. */
static int admin_conn_reply(struct admin_conn *c, int status, const char *type, size_t len,
			    const char *extra)
{
	char head[ADMIN_HEAD_ROOM];
	size_t n = http_format_head(head, sizeof(head), status, type, len, false, extra);
	if (c->out == NULL)
		return -ENOMEM;
	if (n == 0)
		return -ENOSPC;
	c->out_pos = ADMIN_HEAD_ROOM - n;
	memcpy(c->out + c->out_pos, head, n);
	c->out_end = ADMIN_HEAD_ROOM + (c->head_only ? 0 : len);
	return 0;
}

static int admin_conn_reply_text(struct admin_conn *c, int status, const char *text,
				 const char *extra)
{
	size_t len = strlen(text);
	char *body = admin_conn_body(c, len + 1);
	if (body == NULL)
		return -ENOMEM;
	memcpy(body, text, len + 1); /* the NUL is not sent */
	return admin_conn_reply(c, status, "text/plain", len, extra);
}

/* ---- routes ------------------------------------------------------------------------------- */

/* A route's handler puts the whole answer into c (admin_conn_body, admin_conn_reply) and
 * returns 0, or -errno when it could not (the connection is then closed). */
typedef int (*admin_handler)(struct admin *a, struct admin_conn *c, const struct http_request *req);

/* 200 "ok", or 503 while the cluster link (--cluster) is down: a load balancer then sends
 * new users to a node whose lines reach everyone. */
static int admin_get_healthz(struct admin *a, struct admin_conn *c, const struct http_request *req)
{
	(void)req;
	struct cluster_stats cs;
	cluster_get_stats(a->hub, &cs);
	if (cs.configured && !cs.up)
		return admin_conn_reply_text(c, 503, "cluster link down\n", "Retry-After: 1\r\n");
	return admin_conn_reply_text(c, 200, "ok\n", NULL);
}

static int admin_get_metrics(struct admin *a, struct admin_conn *c, const struct http_request *req)
{
	(void)req;
	char *page = admin_conn_body(c, ADMIN_PAGE_MAX);
	if (page == NULL)
		return -ENOMEM;
	size_t len = admin_render_metrics(a->hub, a, page, ADMIN_PAGE_MAX);
	/* give back what the page did not use while it waits to be sent */
	char *fit = realloc(c->out, ADMIN_HEAD_ROOM + len);
	if (fit != NULL)
		c->out = fit;
	return admin_conn_reply(c, 200, "text/plain; version=0.0.4", len, NULL);
}

/* ---- the operators' API (operator.h) ------------------------------------------------------- */

/* Whether the request carries the token: "Authorization: Bearer TOKEN", compared in constant
 * time. Without --admin-token (loopback only) everyone may. */
static bool admin_authorized(const struct admin *a, const struct http_request *req)
{
	if (a->token_len == 0)
		return true;
	const struct http_slice *h = http_header(req, "Authorization");
	const size_t k = strlen("Bearer ");
	if (h == NULL || h->n != k + a->token_len || strncasecmp(h->p, "Bearer ", k) != 0)
		return false;
	return hmac_equal((const uint8_t *)h->p + k, a->token, a->token_len);
}

typedef void (*op_fn)(struct hub *hub, const struct op_call *q, struct op_answer *ans);

/* Runs an operators' route: the token, then the operation; its JSON becomes the answer. */
static int admin_op(struct admin *a, struct admin_conn *c, const struct http_request *req,
		    struct http_slice rest, struct http_slice body, op_fn fn)
{
	if (!admin_authorized(a, req)) {
		admin_count(&a->stats.rejected_token, 1);
		admin_log_gated(
		    a, ADMIN_GATE_REFUSED, LOG_WARN, "%s: %.*s %.*s refused: no valid bearer token",
		    c->peer, (int)req->method.n, req->method.p, (int)req->target.n, req->target.p);
		return admin_conn_reply_text(c, 401, "a valid admin token is needed\n",
					     "WWW-Authenticate: Bearer realm=\"chatd\"\r\n");
	}
	char who[BAN_BY_MAX];
	snprintf(who, sizeof(who), "%s%s from %s", a->token_len > 0 ? "token " : "no token",
		 a->token_len > 0 ? a->token_id : "", c->peer);
	const char *query = memchr(req->target.p, '?', req->target.n);
	struct op_call q = { .body = body, .rest = rest, .who = who };
	if (query != NULL)
		q.query = (struct http_slice){ query + 1, req->target.n -
							      (size_t)(query + 1 - req->target.p) };
	struct op_answer ans = { 0 };
	fn(a->hub, &q, &ans);
	admin_count(&a->stats.operator_requests, 1);
	if (ans.body == NULL)
		return -ENOMEM;
	char *out = admin_conn_body(c, ans.len);
	if (out != NULL)
		memcpy(out, ans.body, ans.len);
	free(ans.body);
	if (out == NULL)
		return -ENOMEM;
	return admin_conn_reply(c, ans.status, "application/json", ans.len, NULL);
}

struct admin_route {
	const char *method; /* a GET route answers HEAD too, without the body */
	const char *path;   /* the target up to its query string; with prefix, its start */
	admin_handler handle;
	op_fn op;    /* an operators' route (the token is checked), or NULL */
	bool prefix; /* /bans/ID */
};

static const struct admin_route admin_routes[] = {
	{ "GET", "/metrics", admin_get_metrics, NULL, false },
	{ "GET", "/healthz", admin_get_healthz, NULL, false },
	{ "GET", "/users", NULL, op_users, false },
	{ "GET", "/rooms", NULL, op_rooms, false },
	{ "POST", "/kick", NULL, op_kick, false },
	{ "POST", "/ban", NULL, op_ban, false },
	{ "GET", "/bans", NULL, op_bans, false },
	{ "DELETE", "/bans/", NULL, op_unban, true },
};

static bool admin_route_takes(const struct admin_route *r, struct http_slice method)
{
	return http_slice_is(method, r->method) ||
	       (strcmp(r->method, "GET") == 0 && http_slice_is(method, "HEAD"));
}

static bool admin_route_matches(const struct admin_route *r, struct http_slice path,
				struct http_slice *rest)
{
	size_t n = strlen(r->path);
	if (!r->prefix)
		return http_slice_is(path, r->path);
	if (path.n < n || memcmp(path.p, r->path, n) != 0)
		return false;
	*rest = (struct http_slice){ path.p + n, path.n - n };
	return true;
}

/* Runs the handler for req: 404 for a path no route has, 405 and Allow for a method the path
 * does not take. */
static int admin_route(struct admin *a, struct admin_conn *c, const struct http_request *req,
		       struct http_slice body)
{
	struct http_slice path = req->target, rest = { "", 0 };
	const char *query = memchr(path.p, '?', path.n);
	if (query != NULL)
		path.n = (size_t)(query - path.p);
	char allow[128] = "Allow: ";
	size_t n = strlen(allow);
	bool known = false;
	for (size_t i = 0; i < ARRAY_LEN(admin_routes); i++) {
		const struct admin_route *r = &admin_routes[i];
		if (!admin_route_matches(r, path, &rest))
			continue;
		if (admin_route_takes(r, req->method))
			return r->op != NULL ? admin_op(a, c, req, rest, body, r->op)
					     : r->handle(a, c, req);
		int k = snprintf(allow + n, sizeof(allow) - n, "%s%s%s", known ? ", " : "",
				 r->method, strcmp(r->method, "GET") == 0 ? ", HEAD" : "");
		if (k > 0 && (size_t)k < sizeof(allow) - n)
			n += (size_t)k;
		known = true;
	}
	if (!known)
		return admin_conn_reply_text(c, 404, "not found\n", NULL);
	snprintf(allow + n, sizeof(allow) - n, "\r\n");
	return admin_conn_reply_text(c, 405, "method not allowed\n", allow);
}

/* ---- the state machine -------------------------------------------------------------------- */

/* Sends as much of the answer as the socket takes; closes c when it is all out or the client
 * is gone, else waits for EPOLLOUT. */
static void admin_conn_write(struct admin *a, struct admin_conn *c)
{
	while (c->out_pos < c->out_end) {
		ssize_t n = send(c->fd, c->out + c->out_pos, c->out_end - c->out_pos, MSG_NOSIGNAL);
		if (n > 0) {
			c->out_pos += (size_t)n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) &&
		    admin_conn_want(a, c, EPOLLOUT) == 0)
			return;
		break; /* the client went away (or epoll cannot watch it: give up) */
	}
	admin_conn_close(a, c);
}

/* A complete or malformed request (head and body): answer it, then write. */
static void admin_conn_handle(struct admin *a, struct admin_conn *c, int parsed,
			      const struct http_request *req, struct http_slice body)
{
	admin_count(&a->stats.requests, 1);
	int rc;
	if (parsed == PARSE_ERROR) {
		admin_count(&a->stats.rejected_bad_request, 1);
		admin_log_gated(a, ADMIN_GATE_REFUSED, LOG_INFO, "%s: bad request head (%d)",
				c->peer, req->status);
		rc = admin_conn_reply_text(c, req->status, "bad request\n", NULL);
	} else {
		c->head_only = http_slice_is(req->method, "HEAD");
		rc = admin_route(a, c, req, body);
	}
	free(c->in); /* req pointed into it: done with both */
	c->in = NULL;
	if (rc < 0) {
		admin_log_gated(a, ADMIN_GATE_REFUSED, LOG_WARN, "%s: no answer: %s", c->peer,
				strerror(-rc));
		if (rc == -ENOMEM) { /* told from the stack: nothing left to allocate */
			admin_count(&a->stats.rejected_nomem, 1);
			admin_fd_refuse(c->fd, 503, ADMIN_NOMEM_TEXT, "Retry-After: 1\r\n");
		}
		admin_conn_close(a, c);
		return;
	}
	c->state = ADMIN_WRITE;
	admin_conn_write(a, c);
}

/* The body's length from Content-Length (0 without one); -1 when it is not a number, or
 * more than ADMIN_BODY_MAX (then *too_big). */
static long admin_body_len(const struct http_request *req, bool *too_big)
{
	const struct http_slice *h = http_header(req, "Content-Length");
	*too_big = false;
	if (h == NULL)
		return 0;
	long v = 0;
	for (size_t i = 0; i < h->n; i++) {
		if (h->p[i] < '0' || h->p[i] > '9' || v > ADMIN_BODY_MAX)
			return -1;
		v = v * 10 + (h->p[i] - '0');
	}
	*too_big = v > ADMIN_BODY_MAX;
	return h->n == 0 || *too_big ? -1 : v;
}

/* The head is complete (parsed: its length, or PARSE_ERROR): answer now, or read its body
 * first. */
static void admin_conn_head_done(struct admin *a, struct admin_conn *c, int parsed,
				 const struct http_request *req)
{
	struct http_slice body = { "", 0 };
	if (parsed != PARSE_ERROR) {
		bool too_big;
		long len = admin_body_len(req, &too_big);
		if (len < 0) {
			admin_count(&a->stats.rejected_bad_request, 1);
			free(c->in);
			c->in = NULL;
			int rc = admin_conn_reply_text(
			    c, too_big ? 413 : 400,
			    too_big ? "body too large\n" : "bad Content-Length\n", NULL);
			c->state = ADMIN_WRITE;
			if (rc < 0)
				admin_conn_close(a, c);
			else
				admin_conn_write(a, c);
			return;
		}
		c->want = (size_t)parsed + (size_t)len;
		if (c->in_len < c->want) {
			c->state = ADMIN_READ_BODY;
			return;
		}
		body = (struct http_slice){ c->in + parsed, (size_t)len };
	}
	admin_conn_handle(a, c, parsed, req, body);
}

static void admin_conn_read(struct admin *a, struct admin_conn *c)
{
	ssize_t n = recv(c->fd, c->in + c->in_len, ADMIN_IN_MAX - c->in_len, 0);
	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
		return;
	if (n <= 0) {
		admin_conn_close(a, c); /* gone before its request was complete */
		return;
	}
	bool line_ended = memchr(c->in + c->in_len, '\n', (size_t)n) != NULL;
	c->in_len += (size_t)n;
	struct http_request req;
	if (c->state == ADMIN_READ_BODY) {
		if (c->in_len < c->want)
			return;
		int parsed = http_parse_request(c->in, c->in_len, ADMIN_HEAD_MAX, &req);
		admin_conn_handle(a, c, parsed, &req,
				  (struct http_slice){ c->in + parsed, c->want - (size_t)parsed });
		return;
	}
	/* a head trickled a byte at a time costs a memchr per read, not a parse */
	if (!line_ended && c->in_len < ADMIN_HEAD_MAX)
		return;
	int parsed = http_parse_request(c->in, c->in_len, ADMIN_HEAD_MAX, &req);
	if (parsed != PARSE_AGAIN)
		admin_conn_head_done(a, c, parsed, &req);
}

/* epoll said c's fd is ready for what c waits for (or has an error, which recv or send will
 * report). */
static void admin_conn_event(struct admin *a, struct admin_conn *c)
{
	if (c->state == ADMIN_READ_HEAD || c->state == ADMIN_READ_BODY)
		admin_conn_read(a, c);
	else if (c->state == ADMIN_WRITE)
		admin_conn_write(a, c);
}

/* Ends every exchange past its deadline (a 408 for those still reading their head); returns
 * the nearest deadline left, INT64_MAX when none. */
static int64_t admin_expire(struct admin *a, int64_t now)
{
	int64_t next = INT64_MAX;
	for (size_t i = 0; i < a->max_conns; i++) {
		struct admin_conn *c = &a->conns[i];
		if (c->state == ADMIN_FREE)
			continue;
		if (c->deadline_ms > now) {
			next = c->deadline_ms < next ? c->deadline_ms : next;
			continue;
		}
		admin_count(&a->stats.rejected_timeout, 1);
		admin_log_gated(
		    a, ADMIN_GATE_REFUSED, LOG_INFO, "%s: %s within %d ms; closed", c->peer,
		    c->state == ADMIN_READ_HEAD ? "no complete request head" : "answer not taken",
		    a->deadline_ms);
		if (c->state == ADMIN_READ_HEAD)
			admin_fd_refuse(c->fd, 408, "request timeout\n", NULL);
		admin_conn_close(a, c);
	}
	return next;
}

/* ---- accepting ---------------------------------------------------------------------------- */

/* A free slot; when there is none, the slot of the oldest connection still reading its head,
 * which is refused (503) to make room. NULL when every slot is writing an answer. */
static struct admin_conn *admin_conn_slot(struct admin *a)
{
	struct admin_conn *oldest = NULL;
	for (size_t i = 0; i < a->max_conns; i++) {
		struct admin_conn *c = &a->conns[i];
		if (c->state == ADMIN_FREE)
			return c;
		/* by accept order: deadlines tie within a batch of accepts */
		if (c->state == ADMIN_READ_HEAD && (oldest == NULL || c->seq < oldest->seq))
			oldest = c;
	}
	if (oldest == NULL)
		return NULL;
	admin_count(&a->stats.rejected_full, 1);
	admin_log_gated(a, ADMIN_GATE_REFUSED, LOG_INFO,
			"%d connections open: the oldest waiting one, %s, closed for a newcomer",
			(int)a->max_conns, oldest->peer);
	admin_fd_refuse(oldest->fd, 503, "too many admin connections\n", "Retry-After: 1\r\n");
	admin_conn_close(a, oldest);
	return oldest;
}

static void admin_conn_open(struct admin *a, int fd, const union admin_addr *peer, int64_t now)
{
	char name[sizeof(a->conns[0].peer)];
	admin_format_peer(peer, name, sizeof(name));
	admin_count(&a->stats.accepted, 1);
	struct admin_conn *c = admin_conn_slot(a);
	if (c == NULL) {
		admin_count(&a->stats.rejected_full, 1);
		admin_log_gated(a, ADMIN_GATE_REFUSED, LOG_INFO,
				"%d connections open, all answering: %s refused", (int)a->max_conns,
				name);
		admin_fd_refuse(fd, 503, "too many admin connections\n", "Retry-After: 1\r\n");
		close(fd);
		return;
	}
	char *in = malloc(ADMIN_IN_MAX);
	if (in == NULL) {
		admin_count(&a->stats.rejected_nomem, 1);
		admin_log_gated(a, ADMIN_GATE_REFUSED, LOG_WARN, "%s: refused: out of memory",
				name);
		admin_fd_refuse(fd, 503, ADMIN_NOMEM_TEXT, "Retry-After: 1\r\n");
		close(fd);
		return;
	}
	struct epoll_event ev = { .events = EPOLLIN, .data.u64 = (uint64_t)(c - a->conns) };
	if (epoll_ctl(a->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
		admin_log_gated(a, ADMIN_GATE_ACCEPT, LOG_WARN, "%s: cannot take it: %s", name,
				strerror(errno));
		free(in);
		close(fd);
		return;
	}
	*c = (struct admin_conn){ .fd = fd,
				  .state = ADMIN_READ_HEAD,
				  .events = EPOLLIN,
				  .deadline_ms = now + a->deadline_ms,
				  .seq = a->accepted++,
				  .in = in };
	memcpy(c->peer, name, sizeof(c->peer));
	admin_count(&a->stats.connections, 1);
}

/* Out of descriptors or memory: the connection stays queued and the listener readable. Stop
 * watching it for a while instead of spinning on it. */
static void admin_accept_pause(struct admin *a, int64_t now, int err)
{
	admin_count(&a->stats.accept_pauses, 1);
	admin_log_gated(a, ADMIN_GATE_ACCEPT, LOG_WARN, "accept4: %s; accepting paused %d ms",
			strerror(err), ADMIN_ACCEPT_PAUSE_MS);
	if (epoll_ctl(a->epfd, EPOLL_CTL_DEL, a->listen_fd, NULL) < 0)
		log_error(-1, 0, "admin: epoll_ctl DEL listener: %s", strerror(errno));
	a->accepting = false;
	a->accept_resume_ms = now + ADMIN_ACCEPT_PAUSE_MS;
}

/* Takes the listener back once a pause is over; returns when the pause ends (INT64_MAX when
 * accepting). */
static int64_t admin_accept_resume(struct admin *a, int64_t now)
{
	if (a->accepting)
		return INT64_MAX;
	if (now < a->accept_resume_ms)
		return a->accept_resume_ms;
	struct epoll_event ev = { .events = EPOLLIN, .data.u64 = ADMIN_TAG_LISTEN };
	if (epoll_ctl(a->epfd, EPOLL_CTL_ADD, a->listen_fd, &ev) == 0 || errno == EEXIST) {
		a->accepting = true;
		return INT64_MAX;
	}
	a->accept_resume_ms = now + ADMIN_ACCEPT_PAUSE_MS; /* try again then */
	return a->accept_resume_ms;
}

static void admin_accept(struct admin *a, int64_t now)
{
	/* level-triggered: a listener still readable after the budget wakes the next turn */
	for (int i = 0; i < ADMIN_ACCEPT_BUDGET; i++) {
		union admin_addr peer;
		socklen_t len = sizeof(peer);
		memset(&peer, 0, sizeof(peer));
		int fd = accept4(a->listen_fd, &peer.sa, &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd >= 0) {
			admin_conn_open(a, fd, &peer, now);
			continue;
		}
		if (errno == EAGAIN || errno == EWOULDBLOCK)
			return;
		if (errno == EINTR || errno == ECONNABORTED)
			continue;
		admin_accept_pause(a, now, errno); /* EMFILE, ENFILE, ENOBUFS, ENOMEM, ... */
		return;
	}
}

/* ---- the thread --------------------------------------------------------------------------- */

static void *admin_main(void *arg)
{
	struct admin *a = arg;
	struct epoll_event events[ADMIN_EVENTS];
	for (bool stop = false; !stop;) {
		int64_t now = clock_now_ms();
		int64_t next = admin_expire(a, now);
		int64_t resume = admin_accept_resume(a, now);
		next = resume < next ? resume : next;
		int timeout = -1;
		if (next != INT64_MAX)
			timeout =
			    next - now > INT_MAX ? INT_MAX : (int)(next > now ? next - now : 0);
		int n = epoll_wait(a->epfd, events, (int)ARRAY_LEN(events), timeout);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			log_error(-1, 0, "admin: epoll_wait: %s; admin listener stopped",
				  strerror(errno));
			break;
		}
		bool listener_ready = false;
		for (int i = 0; i < n && !stop; i++) {
			uint64_t tag = events[i].data.u64;
			if (tag == ADMIN_TAG_STOP)
				stop = true;
			else if (tag == ADMIN_TAG_LISTEN)
				listener_ready = true;
			else if (tag < a->max_conns)
				admin_conn_event(a, &a->conns[tag]);
		}
		/* only now may a freed slot be reused (see the header comment) */
		if (listener_ready && a->accepting && !stop)
			admin_accept(a, clock_now_ms());
	}
	for (size_t i = 0; i < a->max_conns; i++)
		if (a->conns[i].state != ADMIN_FREE)
			admin_conn_close(a, &a->conns[i]);
	return NULL;
}

/* ---- start and stop ----------------------------------------------------------------------- */

bool admin_host_is_loopback(const char *host)
{
	struct in_addr v4;
	struct in6_addr v6;
	if (inet_pton(AF_INET, host, &v4) == 1)
		return (ntohl(v4.s_addr) >> 24) == 127;
	if (inet_pton(AF_INET6, host, &v6) != 1)
		return false;
	return IN6_IS_ADDR_LOOPBACK(&v6) || (IN6_IS_ADDR_V4MAPPED(&v6) && v6.s6_addr[12] == 127);
}

static void admin_free(struct admin *a)
{
	if (a->epfd >= 0)
		close(a->epfd);
	if (a->stop_fd >= 0)
		close(a->stop_fd);
	if (a->listen_fd >= 0)
		close(a->listen_fd);
	free(a);
}

/* Binds and listens (non-blocking); sets *port to the bound port. Returns 0 or -errno. */
static int admin_listen(struct admin *a, const char *host, int port, uint16_t *bound)
{
	union admin_addr addr;
	memset(&addr, 0, sizeof(addr));
	socklen_t len;
	if (inet_pton(AF_INET, host, &addr.in4.sin_addr) == 1) {
		addr.in4.sin_family = AF_INET;
		addr.in4.sin_port = htons((uint16_t)port);
		len = sizeof(addr.in4);
	} else if (inet_pton(AF_INET6, host, &addr.in6.sin6_addr) == 1) {
		addr.in6.sin6_family = AF_INET6;
		addr.in6.sin6_port = htons((uint16_t)port);
		len = sizeof(addr.in6);
	} else {
		return -EINVAL;
	}
	a->listen_fd = socket(addr.sa.sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	int one = 1;
	if (a->listen_fd < 0 ||
	    setsockopt(a->listen_fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    bind(a->listen_fd, &addr.sa, len) < 0 || listen(a->listen_fd, ADMIN_BACKLOG) < 0)
		return -errno;
	len = sizeof(addr);
	if (getsockname(a->listen_fd, &addr.sa, &len) < 0)
		return -errno;
	*bound = ntohs(addr.sa.sa_family == AF_INET ? addr.in4.sin_port : addr.in6.sin6_port);
	return 0;
}

/* The stop eventfd and the epoll set with the listener and it. Returns 0 or -errno. */
static int admin_setup_loop(struct admin *a)
{
	a->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	a->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (a->stop_fd < 0 || a->epfd < 0)
		return -errno;
	struct epoll_event stop = { .events = EPOLLIN, .data.u64 = ADMIN_TAG_STOP };
	struct epoll_event listener = { .events = EPOLLIN, .data.u64 = ADMIN_TAG_LISTEN };
	if (epoll_ctl(a->epfd, EPOLL_CTL_ADD, a->stop_fd, &stop) < 0 ||
	    epoll_ctl(a->epfd, EPOLL_CTL_ADD, a->listen_fd, &listener) < 0)
		return -errno;
	a->accepting = true;
	return 0;
}

/* --admin-token: read once (never logged); required off loopback. Returns 0 or -errno after
 * logging why. */
static int admin_load_token(struct admin *a, const char *host)
{
	const char *path = a->hub->cfg.admin_token;
	if (path[0] == '\0') {
		if (admin_host_is_loopback(host))
			return 0;
		log_error(-1, 0,
			  "--admin %s is reachable from other hosts: give the operators' API a "
			  "token with --admin-token FILE",
			  a->hub->cfg.admin);
		return -EINVAL;
	}
	int rc = secret_read_file(path, a->token, sizeof(a->token), &a->token_len);
	if (rc == 0 && a->token_len < ADMIN_TOKEN_MIN)
		rc = -EINVAL;
	if (rc < 0) {
		log_error(-1, 0, "--admin-token %s: %s", path,
			  rc == -EINVAL || rc == -E2BIG ? "the token must be 16 to 510 bytes"
							: strerror(-rc));
		memset(a->token, 0, sizeof(a->token));
		a->token_len = 0;
		return rc;
	}
	uint8_t digest[SHA256_DIGEST_LEN];
	sha256(a->token, a->token_len, digest);
	for (size_t i = 0; i < 4; i++)
		snprintf(a->token_id + 2 * i, 3, "%02x", digest[i]);
	log_info(-1, 0, "operators' API on the admin listener: bearer token %s (--admin-token)",
		 a->token_id);
	return 0;
}

int admin_start(struct hub *hub, struct admin **out, uint16_t *port_out)
{
	*out = NULL;
	if (hub->cfg.admin[0] == '\0')
		return 0;
	char host[64];
	int port = 0;
	if (config_split_hostport(hub->cfg.admin, host, sizeof(host), &port) < 0) {
		log_error(-1, 0, "--admin %s: not ADDR:PORT", hub->cfg.admin);
		return -EINVAL;
	}
	size_t n = (size_t)hub->cfg.admin_max_conns;
	struct admin *a = calloc(1, sizeof(*a) + n * sizeof(a->conns[0]));
	if (a == NULL)
		return -ENOMEM;
	a->hub = hub;
	a->max_conns = n;
	a->deadline_ms = hub->cfg.admin_timeout_ms;
	a->listen_fd = a->stop_fd = a->epfd = -1;
	for (size_t i = 0; i < a->max_conns; i++)
		a->conns[i].fd = -1;
	int rc = admin_load_token(a, host);
	if (rc < 0)
		goto err_free;
	rc = admin_listen(a, host, port, port_out);
	if (rc < 0) {
		log_error(-1, 0, "cannot listen for admin on %s: %s", hub->cfg.admin,
			  strerror(-rc));
		goto err_free;
	}
	rc = admin_setup_loop(a);
	if (rc < 0) {
		log_error(-1, 0, "cannot set up the admin loop: %s", strerror(-rc));
		goto err_free;
	}
	rc = -pthread_create(&a->thread, NULL, admin_main, a);
	if (rc < 0) {
		log_error(-1, 0, "cannot start the admin thread: %s", strerror(-rc));
		goto err_free;
	}
	log_info(-1, 0,
		 "admin listener on %s port %u: GET and HEAD /metrics, /healthz (%d connections "
		 "at most, %d ms each)",
		 host, *port_out, (int)a->max_conns, a->deadline_ms);
	if (!admin_host_is_loopback(host))
		log_warn(
		    -1, 0,
		    "admin listener on %s is reachable from other hosts; /metrics and /healthz "
		    "have no authentication (the operators' API asks for --admin-token)",
		    hub->cfg.admin);
	*out = a;
	return 0;
err_free:
	admin_free(a);
	return rc;
}

void admin_stop(struct admin *a)
{
	if (a == NULL)
		return;
	uint64_t one = 1;
	/* cannot fail: the counter is far from overflowing, and EAGAIN would mean it is set */
	(void)!write(a->stop_fd, &one, sizeof(one));
	pthread_join(a->thread, NULL);
	admin_free(a);
}
