/*
 * admin.c - the admin listener (see admin.h). One thread: poll() on the listening socket and
 * an eventfd that admin_stop writes; each connection is served to the end with blocking I/O
 * bounded by 2-second socket timeouts, then closed (one request per connection).
 */
#include "admin.h"
#include "common.h"
#include "config.h"
#include "http.h"
#include "log.h"
#include "server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <malloc.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#define ADMIN_HEAD_MAX 8192
#define ADMIN_PAGE_MAX ((size_t)256 * 1024)

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

static uint64_t load(_Atomic uint64_t *v)
{
	return atomic_load_explicit(v, memory_order_relaxed);
}

size_t admin_render_metrics(struct server *srv, char *out, size_t cap)
{
	struct buf b = { out, 0, cap };
	unsigned n = srv->nworkers;
	put(&b, "# HELP chatd_users Users connected to the chat, by protocol and worker.\n"
		"# TYPE chatd_users gauge\n");
	for (unsigned i = 0; i < n; i++) {
		uint64_t all = load(&srv->workers[i].users_now);
		uint64_t ws = load(&srv->workers[i].ws_users_now);
		put(&b,
		    "chatd_users{protocol=\"line\",worker=\"%u\"} %lld\n"
		    "chatd_users{protocol=\"websocket\",worker=\"%u\"} %lld\n",
		    i, (long long)(all - ws), i, (long long)ws);
	}
	put(&b,
	    "# HELP chatd_connections Open client connections (users, and ones being closed).\n"
	    "# TYPE chatd_connections gauge\nchatd_connections %ld\n",
	    atomic_load_explicit(&srv->conns, memory_order_relaxed));
	put(&b, "# HELP chatd_rooms Rooms that exist.\n# TYPE chatd_rooms gauge\nchatd_rooms %ld\n",
	    dir_room_count(&srv->dir));
	/* Live heap bytes (all arenas): the soak's leak check. uordblks is what malloc'd chunks
	 * hold, hblkhd what mmap'd ones hold; memory freed but kept by the allocator is not in it. */
	struct mallinfo2 mi = mallinfo2();
	put(&b,
	    "# HELP chatd_heap_bytes Heap bytes allocated and not freed (mallinfo2).\n"
	    "# TYPE chatd_heap_bytes gauge\nchatd_heap_bytes %zu\n",
	    mi.uordblks + mi.hblkhd);
	put(&b,
	    "# HELP chatd_workers Worker threads.\n# TYPE chatd_workers gauge\n"
	    "chatd_workers %u\n",
	    n);
	/* inbox depth of worker j: what everyone pushed to it minus what it popped */
	put(&b, "# HELP chatd_inbox_depth Messages waiting in a worker's inbox.\n"
		"# TYPE chatd_inbox_depth gauge\n");
	for (unsigned j = 0; j < n; j++) {
		uint64_t pushed = 0, popped = 0;
		for (unsigned i = 0; i < n; i++) {
			pushed += load(&srv->workers[i].pushed_to[j]);
			popped += load(&srv->workers[j].popped_from[i]);
		}
		put(&b, "chatd_inbox_depth{worker=\"%u\"} %lld\n", j,
		    (long long)(pushed >= popped ? pushed - popped : 0));
	}
#define ADMIN_COUNTER(name, help)                                                                  \
	put(&b, "# HELP chatd_" #name "_total " help ".\n# TYPE chatd_" #name "_total counter\n"); \
	for (unsigned i = 0; i < n; i++)                                                           \
		put(&b, "chatd_" #name "_total{worker=\"%u\"} %llu\n", i,                          \
		    (unsigned long long)load(&srv->workers[i].stats.name));
	WORKER_COUNTERS(ADMIN_COUNTER)
#undef ADMIN_COUNTER
	put(&b,
	    "# HELP chatd_loop_iteration_max_seconds Longest event-loop iteration since start.\n"
	    "# TYPE chatd_loop_iteration_max_seconds gauge\n");
	for (unsigned i = 0; i < n; i++)
		put(&b, "chatd_loop_iteration_max_seconds{worker=\"%u\"} %.6f\n", i,
		    (double)load(&srv->workers[i].stats.max_iteration_us) / 1e6);
	put(&b, "# HELP chatd_loop_iteration_seconds Event-loop iteration time, per worker.\n"
		"# TYPE chatd_loop_iteration_seconds histogram\n");
	for (unsigned i = 0; i < n; i++) {
		uint64_t cum = 0;
		for (unsigned k = 0; k < WORKER_ITER_BUCKETS; k++) {
			cum += load(&srv->workers[i].iter_hist[k]);
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
	return b.len;
}

/* ---- the thread ------------------------------------------------------------------------- */

static void send_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return; /* the scraper went away or timed out */
		p += w;
		n -= (size_t)w;
	}
}

static void respond(int fd, int status, const char *type, const char *body, size_t len,
		    const char *extra)
{
	char head[512];
	size_t n = http_format_head(head, sizeof(head), status, type, len, false, extra);
	send_all(fd, head, n);
	send_all(fd, body, len);
}

static void serve(struct server *srv, int fd, char *page)
{
	struct timeval tv = { .tv_sec = 2 };
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	char head[ADMIN_HEAD_MAX];
	size_t len = 0;
	struct http_request req;
	int rc = PARSE_AGAIN;
	while (rc == PARSE_AGAIN) {
		ssize_t n = recv(fd, head + len, sizeof(head) - len, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
				respond(fd, 408, "text/plain", "request timeout\n", 16, NULL);
			return;
		}
		len += (size_t)n;
		rc = http_parse_request(head, len, sizeof(head), &req);
	}
	if (rc == PARSE_ERROR) {
		respond(fd, req.status, "text/plain", "bad request\n", 12, NULL);
		return;
	}
	bool is_metrics = http_slice_is(req.target, "/metrics");
	bool is_health = http_slice_is(req.target, "/healthz");
	if (!is_metrics && !is_health) {
		respond(fd, 404, "text/plain", "not found\n", 10, NULL);
		return;
	}
	if (!http_slice_is(req.method, "GET") && !http_slice_is(req.method, "HEAD")) {
		respond(fd, 405, "text/plain", "method not allowed\n", 19, "Allow: GET, HEAD\r\n");
		return;
	}
	bool head_only = http_slice_is(req.method, "HEAD");
	if (is_health) {
		respond(fd, 200, "text/plain", "ok\n", head_only ? 0 : 3, NULL);
		return;
	}
	size_t n = admin_render_metrics(srv, page, ADMIN_PAGE_MAX);
	respond(fd, 200, "text/plain; version=0.0.4", page, head_only ? 0 : n, NULL);
}

static void *admin_main(void *arg)
{
	struct server *srv = arg;
	char *page = malloc(ADMIN_PAGE_MAX);
	struct pollfd pfd[2] = { { .fd = srv->admin_fd, .events = POLLIN },
				 { .fd = srv->admin_stop_fd, .events = POLLIN } };
	while (page != NULL) {
		if (poll(pfd, 2, -1) < 0 && errno != EINTR)
			break;
		if (pfd[1].revents)
			break;
		if (!(pfd[0].revents & POLLIN))
			continue;
		int fd = accept4(srv->admin_fd, NULL, NULL, SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno == EMFILE || errno == ENFILE)
				poll(NULL, 0, 100); /* let descriptors free up, do not spin */
			continue;
		}
		serve(srv, fd, page);
		close(fd);
	}
	free(page);
	return NULL;
}

int admin_start(struct server *srv)
{
	srv->admin_fd = srv->admin_stop_fd = -1;
	if (srv->cfg.admin[0] == '\0')
		return 0;
	char host[64];
	int port = 0;
	if (config_split_hostport(srv->cfg.admin, host, sizeof(host), &port) < 0) {
		log_error(-1, 0, "--admin %s: not ADDR:PORT", srv->cfg.admin);
		return -EINVAL;
	}
	union {
		struct sockaddr sa;
		struct sockaddr_in in4;
		struct sockaddr_in6 in6;
	} a;
	memset(&a, 0, sizeof(a));
	socklen_t alen;
	if (inet_pton(AF_INET, host, &a.in4.sin_addr) == 1) {
		a.in4.sin_family = AF_INET;
		a.in4.sin_port = htons((uint16_t)port);
		alen = sizeof(a.in4);
	} else {
		inet_pton(AF_INET6, host, &a.in6.sin6_addr);
		a.in6.sin6_family = AF_INET6;
		a.in6.sin6_port = htons((uint16_t)port);
		alen = sizeof(a.in6);
	}
	int fd = socket(a.sa.sa_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	int one = 1, rc = 0;
	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    bind(fd, &a.sa, alen) < 0 || listen(fd, 64) < 0) {
		rc = -errno;
		log_error(-1, 0, "cannot listen for admin on %s: %s", srv->cfg.admin,
			  strerror(-rc));
		if (fd >= 0)
			close(fd);
		return rc;
	}
	socklen_t blen = sizeof(a);
	memset(&a, 0, sizeof(a));
	if (getsockname(fd, &a.sa, &blen) == 0)
		srv->admin_port =
		    ntohs(a.sa.sa_family == AF_INET ? a.in4.sin_port : a.in6.sin6_port);
	srv->admin_fd = fd;
	srv->admin_stop_fd = eventfd(0, EFD_CLOEXEC);
	if (srv->admin_stop_fd < 0 ||
	    (rc = -pthread_create(&srv->admin_thread, NULL, admin_main, srv)) < 0) {
		rc = rc ? rc : -errno;
		log_error(-1, 0, "cannot start the admin thread: %s", strerror(-rc));
		close(fd);
		if (srv->admin_stop_fd >= 0)
			close(srv->admin_stop_fd);
		srv->admin_fd = srv->admin_stop_fd = -1;
		return rc;
	}
	log_info(-1, 0, "admin listener on %s port %u: GET /metrics, GET /healthz", host,
		 srv->admin_port);
	return 0;
}

void admin_stop(struct server *srv)
{
	if (srv->admin_fd < 0)
		return;
	uint64_t one = 1;
	(void)!write(srv->admin_stop_fd, &one, sizeof(one));
	pthread_join(srv->admin_thread, NULL);
	close(srv->admin_fd);
	close(srv->admin_stop_fd);
	srv->admin_fd = srv->admin_stop_fd = -1;
}
