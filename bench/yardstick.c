/*
 * yardstick.c - bench/yardstick, the project's bare fan-out loop: the practical ceiling of this
 * machine for chatd's wire format, measured by the same bench/flood in the same run as chatd
 * (scripts/bench.sh reports every chatd figure as a ratio of it).
 *
 * It speaks just enough of chatd's line protocol for bench/flood: each connection gets chatd's
 * welcome line (`* Welcome, <id>. <n> users online. Type /help for commands.`) and nothing else
 * from the server; every line any connection sends (a trailing \r dropped, as chatd does) goes
 * out as `<id>:<line>\n` to every connection, the sender included, in the order it was read.
 * There is one room, no names, no commands, no validation, no notices, no rate limit: only the
 * work that no chat server can avoid (read the senders, one copy of each line into a batch,
 * push the bytes to every socket).
 *
 * Why it is the ceiling: one thread and one epoll set (edge-triggered; a socket is read until
 * EAGAIN, a short read or READ_BUDGET bytes per iteration, and one that still has more stays on
 * a ready list so it cannot starve the others). Each loop iteration reads everything that is
 * available, seals what it read into ONE shared batch, then writes ONCE to every connection
 * that has something queued: a single sendmsg gathering every batch it has not been sent yet
 * (up to IOV_MAX). There is no flush timer: the batching is exactly what arrived during one
 * iteration, so a lightly loaded loop sends a line at once and a busy one carries many lines
 * per call. The cost left is the kernel's: one sendmsg per receiver per iteration, which is
 * also what bounds chatd (docs/benchmarks.md, "Where the time goes").
 *
 * Lossless and bounded: a connection whose socket is full keeps its backlog and gets it when
 * EPOLLOUT says there is room again; past --max-queue bytes queued it is dropped with a line on
 * stderr. Batches are shared, not copied per receiver: the batches form one log (a ring indexed
 * by a batch sequence number), each connection holds a cursor into it (batch, offset), and each
 * batch counts the cursors that point into it. The oldest batch is freed once no cursor points
 * into it, so 10,000 receivers cost one copy of every line plus one cursor each, and memory is
 * bounded by the longest backlog (at most --max-queue plus one iteration's batch).
 *
 * Closing is deferred (the Redis beforeSleep way): a failing connection is only marked during
 * the iteration and freed in the write pass at its end, so no handler touches a freed one.
 *
 * Loopback only (--bind 127.0.0.0/8 or ::1). SIGINT/SIGTERM end the loop; it prints a summary
 * line and exits 0. Single-threaded: everything here belongs to the one thread.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#define MAX_EVENTS    1024
#define RBUF          ((size_t)256 * 1024)
#define READ_BUDGET   ((size_t)1024 * 1024) /* bytes read from one socket per iteration */
#define ACCEPT_BUDGET 1024                  /* connections accepted per iteration */
#define IOV_BATCHES   1024                  /* IOV_MAX on Linux */
#define RETRY_MS      100                   /* accept paused this long after EMFILE */

/* ---- options ------------------------------------------------------------------------------ */

static struct {
	char bind[64];
	int port;
	size_t max_queue; /* bytes queued for one connection before it is dropped */
	size_t max_line;  /* longest partial line kept between reads */
} opt = { .bind = "127.0.0.1", .max_queue = (size_t)16 << 20, .max_line = (size_t)64 << 10 };

static void usage(FILE *out)
{
	fprintf(out,
		"usage: yardstick [options]\n"
		"  --bind ADDR        loopback address to listen on (default 127.0.0.1; or ::1)\n"
		"  --port P           port (default 0: a free one, printed on stderr)\n"
		"  --max-queue BYTES  bytes queued for one connection before it is dropped\n"
		"                     (default 16 MiB)\n"
		"  --max-line BYTES   longest line kept while waiting for its newline; a\n"
		"                     connection that sends a longer one is dropped (default 64 "
		"KiB)\n");
}

static int parse_size(const char *s, double lo, double hi, double *out)
{
	char *end;
	errno = 0;
	double v = strtod(s, &end);
	if (errno || end == s || *end || v < lo || v > hi)
		return -1;
	*out = v;
	return 0;
}

static int parse_args(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
			usage(stdout);
			exit(0);
		}
		if (i + 1 >= argc) {
			fprintf(stderr, "yardstick: %s needs a value (or is unknown)\n", a);
			return -1;
		}
		const char *v = argv[++i];
		double d = 0;
		int rc = 0;
		if (!strcmp(a, "--bind")) {
			snprintf(opt.bind, sizeof(opt.bind), "%s", v);
		} else if (!strcmp(a, "--port")) {
			rc = parse_size(v, 0, 65535, &d);
			opt.port = (int)d;
		} else if (!strcmp(a, "--max-queue")) {
			rc = parse_size(v, 4096, 1e12, &d);
			opt.max_queue = (size_t)d;
		} else if (!strcmp(a, "--max-line")) {
			rc = parse_size(v, 64, 1e9, &d);
			opt.max_line = (size_t)d;
		} else {
			fprintf(stderr, "yardstick: unknown option %s\n", a);
			return -1;
		}
		if (rc < 0) {
			fprintf(stderr, "yardstick: bad value for %s: %s\n", a, v);
			return -1;
		}
	}
	return 0;
}

/* ---- the log of shared batches ------------------------------------------------------------ */

struct batch {
	uint32_t cursors; /* connections whose next unsent byte is in this batch */
	size_t len;
	char data[];
};

static struct {
	struct batch **ring; /* batch number s is ring[s & mask] */
	size_t mask;
	uint64_t first, next; /* batches first..next-1 are alive */
	uint64_t bytes;       /* bytes ever appended */
	uint32_t caught_up;   /* connections with nothing queued (cursor == next) */
	char *build;          /* this iteration's lines, sealed into a batch at its end */
	size_t build_len, build_cap;
} lg;

static struct batch *log_at(uint64_t s)
{
	return lg.ring[s & lg.mask];
}

/* Appends bytes to this iteration's batch. */
static int log_put(const char *s, size_t n)
{
	if (lg.build_len + n > lg.build_cap) {
		size_t cap = lg.build_cap ? lg.build_cap : 65536;
		while (cap < lg.build_len + n)
			cap *= 2;
		char *b = realloc(lg.build, cap);
		if (b == NULL)
			return -ENOMEM;
		lg.build = b;
		lg.build_cap = cap;
	}
	memcpy(lg.build + lg.build_len, s, n);
	lg.build_len += n;
	return 0;
}

static int log_grow_ring(void)
{
	size_t cap = lg.ring ? (lg.mask + 1) * 2 : 1024;
	/* NOLINTNEXTLINE(bugprone-sizeof-expression): an array of pointers */
	struct batch **r = calloc(cap, sizeof(*r));
	if (r == NULL)
		return -ENOMEM;
	if (lg.ring != NULL) {
		for (uint64_t s = lg.first; s < lg.next; s++)
			r[s & (cap - 1)] = log_at(s);
		free((void *)lg.ring);
	}
	lg.ring = r;
	lg.mask = cap - 1;
	return 0;
}

/* Seals this iteration's lines into one shared batch: every caught-up connection's cursor (the
 * batch number `next`) now points into it. The exact-size copy keeps long backlogs compact. */
static int log_seal(void)
{
	if (lg.build_len == 0)
		return 0;
	if (lg.ring == NULL || lg.next - lg.first > lg.mask) {
		int rc = log_grow_ring();
		if (rc < 0)
			return rc;
	}
	struct batch *b = malloc(sizeof(*b) + lg.build_len);
	if (b == NULL)
		return -ENOMEM;
	b->cursors = lg.caught_up;
	b->len = lg.build_len;
	memcpy(b->data, lg.build, lg.build_len);
	lg.ring[lg.next & lg.mask] = b;
	lg.next++;
	lg.bytes += lg.build_len;
	lg.caught_up = 0;
	lg.build_len = 0;
	return 0;
}

/* Frees the oldest batches that no cursor points into (every cursor is past them). */
static void log_trim(void)
{
	while (lg.first < lg.next && log_at(lg.first)->cursors == 0) {
		free(log_at(lg.first));
		lg.ring[lg.first & lg.mask] = NULL;
		lg.first++;
	}
}

/* ---- connections -------------------------------------------------------------------------- */

struct conn {
	int fd;
	uint64_t id;
	size_t slot;     /* index in conns[] */
	uint64_t seq;    /* batch holding the next unsent byte (lg.next: nothing queued) */
	size_t off;      /* offset of that byte in the batch */
	uint64_t pos;    /* bytes of the log sent to (or not meant for) this connection */
	bool blocked;    /* the last sendmsg filled the socket: wait for EPOLLOUT */
	bool ready;      /* on the ready list: may have more to read */
	bool dead;       /* freed at the end of the iteration */
	char prefix[24]; /* "<id>:" */
	size_t prefix_len;
	char *part; /* a line still waiting for its newline */
	size_t part_len, part_cap;
};

static struct conn **conns;
static size_t nconns, conns_cap;
static struct conn **ready; /* connections that may have more to read */
static size_t nready, ready_cap;
static uint64_t next_id = 1;
static struct {
	uint64_t accepted, lines_in, bytes_out, dropped;
} stats;

static uint64_t conn_queued(const struct conn *c)
{
	return lg.bytes - c->pos;
}

/* Marks a connection for closing at the end of the iteration; `why` NULL: it just left. */
static void conn_kill(struct conn *c, const char *why)
{
	if (c->dead)
		return;
	c->dead = true;
	if (why != NULL) {
		stats.dropped++;
		fprintf(stderr, "yardstick: connection %llu dropped: %s\n",
			(unsigned long long)c->id, why);
	}
}

/* Moves the cursor to batch `to`, keeping the batches' cursor counts true. */
static void conn_move_cursor(struct conn *c, uint64_t to)
{
	log_at(c->seq)->cursors--;
	c->seq = to;
	c->off = 0;
	if (to == lg.next)
		lg.caught_up++;
	else
		log_at(to)->cursors++;
}

static void conn_advance(struct conn *c, size_t n)
{
	c->pos += n;
	while (n > 0) {
		size_t left = log_at(c->seq)->len - c->off;
		if (n < left) {
			c->off += n;
			return;
		}
		n -= left;
		conn_move_cursor(c, c->seq + 1);
	}
}

/* One sendmsg with everything queued for the connection (up to IOV_BATCHES batches). */
static void conn_flush(struct conn *c)
{
	struct iovec iov[IOV_BATCHES];
	int n = 0;
	size_t total = 0, off = c->off;
	for (uint64_t s = c->seq; s < lg.next && n < IOV_BATCHES; s++, n++, off = 0) {
		struct batch *b = log_at(s);
		iov[n].iov_base = b->data + off;
		iov[n].iov_len = b->len - off;
		total += b->len - off;
	}
	struct msghdr m = { .msg_iov = iov, .msg_iovlen = (size_t)n };
	ssize_t w = sendmsg(c->fd, &m, MSG_NOSIGNAL | MSG_DONTWAIT);
	if (w < 0) {
		if (errno == EAGAIN)
			c->blocked = true;
		else if (errno != EINTR)
			conn_kill(c, NULL); /* reset or gone: it left */
		return;
	}
	if ((size_t)w < total)
		c->blocked = true; /* the socket is full: EPOLLOUT will say when there is room */
	stats.bytes_out += (uint64_t)w;
	conn_advance(c, (size_t)w);
}

static void ready_remove(const struct conn *c)
{
	for (size_t i = 0; i < nready; i++)
		if (ready[i] == c) {
			ready[i] = ready[--nready];
			return;
		}
}

static void ready_add(struct conn *c)
{
	if (c->ready || c->dead)
		return;
	if (nready == ready_cap) {
		size_t cap = ready_cap ? ready_cap * 2 : 256;
		/* NOLINTNEXTLINE(bugprone-sizeof-expression): an array of pointers */
		struct conn **r = realloc((void *)ready, cap * sizeof(*r));
		if (r == NULL) {
			conn_kill(c, "out of memory (ready list)");
			return;
		}
		ready = r;
		ready_cap = cap;
	}
	c->ready = true;
	ready[nready++] = c;
}

static void conn_free(struct conn *c)
{
	if (c->ready)
		ready_remove(c);
	if (c->seq == lg.next)
		lg.caught_up--;
	else
		log_at(c->seq)->cursors--;
	conns[c->slot] = conns[--nconns];
	conns[c->slot]->slot = c->slot;
	close(c->fd); /* also takes it out of the epoll set */
	free(c->part);
	free(c);
}

/* One line of input (without its newline) goes out as "<id>:<line>\n". */
static int conn_emit_line(struct conn *c, const char *s, size_t n)
{
	if (n > 0 && s[n - 1] == '\r')
		n--;
	stats.lines_in++;
	if (log_put(c->prefix, c->prefix_len) < 0 || log_put(s, n) < 0 || log_put("\n", 1) < 0)
		return -ENOMEM;
	return 0;
}

static int conn_keep_part(struct conn *c, const char *s, size_t n)
{
	if (c->part_len + n > opt.max_line)
		return -E2BIG;
	if (c->part_len + n > c->part_cap) {
		size_t cap = c->part_cap ? c->part_cap : 256;
		while (cap < c->part_len + n)
			cap *= 2;
		char *p = realloc(c->part, cap);
		if (p == NULL)
			return -ENOMEM;
		c->part = p;
		c->part_cap = cap;
	}
	memcpy(c->part + c->part_len, s, n);
	c->part_len += n;
	return 0;
}

/* Cuts what was read into lines; the tail without a newline waits in c->part. */
static int conn_take(struct conn *c, const char *s, size_t n)
{
	const char *end = s + n, *nl;
	int rc;
	if (c->part_len > 0) {
		nl = memchr(s, '\n', n);
		if (nl == NULL)
			return conn_keep_part(c, s, n);
		rc = conn_keep_part(c, s, (size_t)(nl - s));
		if (rc < 0)
			return rc;
		rc = conn_emit_line(c, c->part, c->part_len);
		c->part_len = 0;
		if (rc < 0)
			return rc;
		s = nl + 1;
	}
	while ((nl = memchr(s, '\n', (size_t)(end - s))) != NULL) {
		rc = conn_emit_line(c, s, (size_t)(nl - s));
		if (rc < 0)
			return rc;
		s = nl + 1;
	}
	return s < end ? conn_keep_part(c, s, (size_t)(end - s)) : 0;
}

/* Reads until EAGAIN, a short read or READ_BUDGET; returns true when there may be more. */
static bool conn_read(struct conn *c, char *buf)
{
	size_t got = 0;
	while (got < READ_BUDGET) {
		ssize_t n = recv(c->fd, buf, RBUF, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return false;
		if (n <= 0) {
			conn_kill(c, NULL); /* EOF or reset: it left */
			return false;
		}
		int rc = conn_take(c, buf, (size_t)n);
		if (rc == -E2BIG) {
			conn_kill(c, "a line longer than --max-line");
			return false;
		}
		if (rc < 0) {
			conn_kill(c, "out of memory (input)");
			return false;
		}
		if ((size_t)n < RBUF)
			return false; /* short read: drained (a stream socket signals new data again) */
		got += (size_t)n;
	}
	return true;
}

/* ---- the loop ------------------------------------------------------------------------------ */

static int epfd, lfd, sfd;
static int64_t accept_paused_until; /* ms, CLOCK_MONOTONIC; 0: accepting */

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int conns_reserve(void)
{
	if (nconns < conns_cap)
		return 0;
	size_t cap = conns_cap ? conns_cap * 2 : 1024;
	/* NOLINTNEXTLINE(bugprone-sizeof-expression): an array of pointers */
	struct conn **a = realloc((void *)conns, cap * sizeof(*a));
	if (a == NULL)
		return -ENOMEM;
	conns = a;
	conns_cap = cap;
	return 0;
}

/* A new connection: TCP_NODELAY, chatd's welcome line, a cursor at the end of the log. */
static void conn_open(int fd)
{
	struct conn *c = calloc(1, sizeof(*c));
	if (c == NULL || conns_reserve() < 0) {
		fprintf(stderr, "yardstick: out of memory: connection refused\n");
		free(c);
		close(fd);
		return;
	}
	int one = 1;
	if (setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) < 0)
		perror("yardstick: setsockopt TCP_NODELAY");
	c->fd = fd;
	c->id = next_id++;
	c->prefix_len =
	    (size_t)snprintf(c->prefix, sizeof(c->prefix), "%llu:", (unsigned long long)c->id);
	c->seq = lg.next;
	c->pos = lg.bytes;
	lg.caught_up++;
	c->slot = nconns;
	conns[nconns++] = c;
	stats.accepted++;
	char w[128];
	int n =
	    snprintf(w, sizeof(w), "* Welcome, %llu. %zu user%s online. Type /help for commands.\n",
		     (unsigned long long)c->id, nconns, nconns == 1 ? "" : "s");
	if (send(fd, w, (size_t)n, MSG_NOSIGNAL | MSG_DONTWAIT) != n) {
		conn_kill(c, NULL); /* a fresh socket that cannot take 80 bytes: gone already */
		return;
	}
	struct epoll_event ev = { .events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET,
				  .data.ptr = c };
	if (epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
		perror("yardstick: epoll_ctl");
		conn_kill(c, "epoll_ctl failed");
		return;
	}
	ready_add(c); /* bytes may have arrived before it joined the epoll set */
}

/* Accepts up to ACCEPT_BUDGET connections; returns true when there may be more. */
static bool accept_some(void)
{
	if (accept_paused_until != 0) {
		if (now_ms() < accept_paused_until)
			return false;
		accept_paused_until = 0;
	}
	for (int i = 0; i < ACCEPT_BUDGET; i++) {
		int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd >= 0) {
			conn_open(fd);
			continue;
		}
		if (errno == EAGAIN)
			return false;
		if (errno == EINTR || errno == ECONNABORTED)
			continue;
		if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
			fprintf(stderr, "yardstick: accept: %s: not accepting for %d ms\n",
				strerror(errno), RETRY_MS);
			accept_paused_until = now_ms() + RETRY_MS;
			return false;
		}
		perror("yardstick: accept");
		return false;
	}
	return true;
}

/* The end of an iteration: one sendmsg per connection with something queued and room in its
 * socket, the drop rule, deferred closes, then the batches nobody needs any more are freed.
 * Returns true when a connection still has something it could send now (more than one
 * sendmsg's worth of batches). */
static bool write_pass(void)
{
	bool more = false;
	char why[96];
	for (size_t i = 0; i < nconns;) {
		struct conn *c = conns[i];
		if (!c->dead && !c->blocked && c->seq != lg.next)
			conn_flush(c);
		if (!c->dead && conn_queued(c) > opt.max_queue) {
			snprintf(why, sizeof(why), "%llu bytes queued (--max-queue %zu)",
				 (unsigned long long)conn_queued(c), opt.max_queue);
			conn_kill(c, why);
		}
		if (c->dead) {
			conn_free(c); /* conns[i] is now another connection */
			continue;
		}
		more |= !c->blocked && c->seq != lg.next;
		i++;
	}
	log_trim();
	return more;
}

static void read_pass(char *buf)
{
	for (size_t i = 0; i < nready;) {
		struct conn *c = ready[i];
		if (!c->dead && conn_read(c, buf)) {
			i++;
			continue;
		}
		c->ready = false;
		ready[i] = ready[--nready];
	}
}

static void on_event(const struct epoll_event *e, bool *stop, bool *accepting)
{
	if (e->data.ptr == &lfd) {
		*accepting = true;
		return;
	}
	if (e->data.ptr == &sfd) {
		struct signalfd_siginfo si;
		if (read(sfd, &si, sizeof(si)) == (ssize_t)sizeof(si))
			fprintf(stderr, "yardstick: %s received: stopping\n",
				strsignal((int)si.ssi_signo));
		*stop = true;
		return;
	}
	struct conn *c = e->data.ptr;
	if (e->events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR))
		ready_add(c);
	if (e->events & EPOLLOUT)
		c->blocked = false;
}

static int run(void)
{
	char *buf = malloc(RBUF);
	if (buf == NULL)
		return -ENOMEM;
	struct epoll_event ev[MAX_EVENTS];
	bool stop = false, accepting = true, more_out = false;
	while (!stop) {
		int timeout = -1;
		if (accepting || nready > 0 || more_out)
			timeout = 0;
		else if (accept_paused_until != 0)
			timeout = RETRY_MS;
		int n = epoll_wait(epfd, ev, MAX_EVENTS, timeout);
		if (n < 0 && errno != EINTR) {
			perror("yardstick: epoll_wait");
			break;
		}
		for (int i = 0; i < n; i++)
			on_event(&ev[i], &stop, &accepting);
		if (accepting || accept_paused_until != 0)
			accepting = accept_some();
		read_pass(buf);
		if (log_seal() < 0) {
			fprintf(stderr, "yardstick: out of memory: %zu bytes of lines lost\n",
				lg.build_len);
			lg.build_len = 0;
		}
		more_out = write_pass();
	}
	free(buf);
	return 0;
}

/* ---- start and stop ------------------------------------------------------------------------ */

static bool bind_is_loopback(const char *h, struct sockaddr_storage *ss, socklen_t *len)
{
	struct sockaddr_in *a4 = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)ss;
	memset(ss, 0, sizeof(*ss));
	if (!strcmp(h, "localhost"))
		h = "127.0.0.1";
	if (inet_pton(AF_INET, h, &a4->sin_addr) == 1) {
		a4->sin_family = AF_INET;
		a4->sin_port = htons((uint16_t)opt.port);
		*len = sizeof(*a4);
		return (ntohl(a4->sin_addr.s_addr) >> 24) == 127;
	}
	if (inet_pton(AF_INET6, h, &a6->sin6_addr) == 1) {
		a6->sin6_family = AF_INET6;
		a6->sin6_port = htons((uint16_t)opt.port);
		*len = sizeof(*a6);
		return IN6_IS_ADDR_LOOPBACK(&a6->sin6_addr);
	}
	return false;
}

static int listen_on(const struct sockaddr_storage *ss, socklen_t len)
{
	int fd = socket(ss->ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	int one = 1;
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    bind(fd, (const struct sockaddr *)ss, len) < 0 || listen(fd, 65535) < 0) {
		int e = errno;
		close(fd);
		return -e;
	}
	return fd;
}

static int local_port(int fd)
{
	union {
		struct sockaddr sa;
		struct sockaddr_in in;
		struct sockaddr_in6 in6;
	} a;
	memset(&a, 0, sizeof(a));
	socklen_t len = sizeof(a);
	if (getsockname(fd, &a.sa, &len) < 0)
		return -errno;
	return ntohs(a.sa.sa_family == AF_INET6 ? a.in6.sin6_port : a.in.sin_port);
}

/* SIGINT and SIGTERM arrive through a signalfd in the epoll set. */
static int signals_open(void)
{
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	if (sigprocmask(SIG_BLOCK, &set, NULL) < 0)
		return -errno;
	int fd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
	return fd < 0 ? -errno : fd;
}

static int epoll_add(int fd, uint32_t events, void *ptr)
{
	struct epoll_event ev = { .events = events, .data.ptr = ptr };
	return epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev) < 0 ? -errno : 0;
}

static void shutdown_all(void)
{
	while (nconns > 0)
		conn_free(conns[nconns - 1]);
	log_trim();
	free((void *)conns);
	free((void *)ready);
	free((void *)lg.ring);
	free(lg.build);
	close(lfd);
	close(sfd);
	close(epfd);
}

int main(int argc, char **argv)
{
	if (parse_args(argc, argv) < 0) {
		usage(stderr);
		return 2;
	}
	struct sockaddr_storage ss;
	socklen_t len = 0;
	if (!bind_is_loopback(opt.bind, &ss, &len)) {
		fprintf(stderr,
			"yardstick: --bind must be a loopback address (127.0.0.0/8 or ::1), "
			"not %s\n",
			opt.bind);
		return 2;
	}
	/* As bench/flood: 10,000 connections need more than the usual soft limit of 1,024. */
	struct rlimit rl = { 0 };
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
		rl.rlim_cur = rl.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
			perror("yardstick: setrlimit RLIMIT_NOFILE");
	}
	if (signal(SIGPIPE, SIG_IGN) == SIG_ERR)
		perror("yardstick: signal SIGPIPE");
	lfd = listen_on(&ss, len);
	if (lfd < 0) {
		fprintf(stderr, "yardstick: listen on %s port %d: %s\n", opt.bind, opt.port,
			strerror(-lfd));
		return 1;
	}
	sfd = signals_open();
	epfd = epoll_create1(EPOLL_CLOEXEC);
	if (sfd < 0 || epfd < 0 || epoll_add(lfd, EPOLLIN | EPOLLET, &lfd) < 0 ||
	    epoll_add(sfd, EPOLLIN, &sfd) < 0) {
		perror("yardstick: setting up the loop");
		return 1;
	}
	fprintf(stderr,
		"yardstick: listening on %s port %d: one thread, edge-triggered epoll, one sendmsg "
		"per client per iteration, max queue %zu bytes per client, open-file limit %llu\n",
		opt.bind, local_port(lfd), opt.max_queue, (unsigned long long)rl.rlim_cur);
	int rc = run();
	fprintf(stderr,
		"yardstick: stopped: %llu connections accepted, %llu lines in, %llu bytes out, "
		"%llu dropped\n",
		(unsigned long long)stats.accepted, (unsigned long long)stats.lines_in,
		(unsigned long long)stats.bytes_out, (unsigned long long)stats.dropped);
	shutdown_all();
	return rc < 0 ? 1 : 0;
}
