/*
 * listener.c - see listener.h.
 */
#include "listener.h"
#include "cidr.h"
#include "iplimit.h"
#include "log.h"
#include "memory.h"
#include "proto.h"
#include "via.h"
#include "worker.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define ACCEPTS_PER_TURN 256 /* new connections per iteration */
#define ACCEPT_PAUSE_MS  100 /* after EMFILE/ENFILE */

/* One worker's accepting state. */
struct acceptor {
	struct worker *w;
	bool paused;         /* after EMFILE, until resume expires */
	struct timer resume; /* TIMER_ACCEPT */
};

static void send_now(int fd, const char *text, size_t len)
{
	/* Best effort on a socket we are about to close: a full buffer loses the line. */
	(void)!send(fd, text, len, MSG_DONTWAIT | MSG_NOSIGNAL);
}

/* Refuses a connection: its error line (best effort), a log line saying why and a counter;
 * closes fd. */
static void refuse(struct worker *w, int fd, _Atomic uint64_t *counter, enum gate gate,
		   const char *line, size_t n, const char *why)
{
	stat_add(counter, 1);
	worker_log_gated(w, gate, LOG_WARN, 0, "connection refused: %s", why);
	send_now(fd, line, n);
	close(fd);
}

static void refuse_busy(struct worker *w, int fd, _Atomic uint64_t *counter, enum gate gate)
{
	char line[PROTO_LINE_MAX];
	size_t n = proto_server_busy(line, sizeof(line));
	refuse(w, fd, counter, gate, line, n, "server busy (out of memory)");
}

static void refuse_full(struct worker *w, int fd)
{
	int max = w->cfg->max_clients;
	char line[PROTO_LINE_MAX], why[64];
	size_t n = proto_server_full(line, sizeof(line), max);
	snprintf(why, sizeof(why), "server full (%d users)", max);
	refuse(w, fd, &w->stats.rejected_full, GATE_FULL, line, n, why);
}

static void refuse_per_ip(struct worker *w, int fd, const struct sockaddr *peer)
{
	char addr[INET6_ADDRSTRLEN] = "?";
	const void *a = peer->sa_family == AF_INET
			    ? (const void *)&((const struct sockaddr_in *)peer)->sin_addr
			    : (const void *)&((const struct sockaddr_in6 *)peer)->sin6_addr;
	if (inet_ntop(peer->sa_family, a, addr, sizeof(addr)) == NULL)
		snprintf(addr, sizeof(addr), "?");
	int max = w->cfg->max_conns_per_ip;
	char line[PROTO_LINE_MAX], why[INET6_ADDRSTRLEN + 64];
	size_t n = proto_too_many_from(line, sizeof(line), addr, max);
	snprintf(why, sizeof(why), "too many connections from %s (max %d)", addr, max);
	refuse(w, fd, &w->stats.rejected_per_ip, GATE_FULL, line, n, why);
}

/* --proxy-protocol, and peer is not a trusted proxy: only they may speak the header. */
static void refuse_untrusted(struct worker *w, int fd, const struct cidr_addr *peer)
{
	char line[PROTO_LINE_MAX], addr[CIDR_ADDR_STRLEN], why[CIDR_ADDR_STRLEN + 64];
	size_t n = proto_proxy_only(line, sizeof(line));
	snprintf(why, sizeof(why), "%s is not in --trusted-proxies (--proxy-protocol)",
		 cidr_addr_format(peer, addr, sizeof(addr)));
	refuse(w, fd, &w->stats.proxy_untrusted, GATE_PROXY, line, n, why);
}

/* The admission checks: server full, heap over --max-memory, --max-conns-per-ip. Counts the
 * connection (hub->conns, the address's count) and returns true when it may stay; refuses
 * (and closes) it otherwise. */
static bool admit(struct worker *w, int fd, const struct sockaddr *peer, uint64_t ip_key)
{
	struct hub *hub = w->hub;
	long conns = atomic_fetch_add_explicit(&hub->conns, 1, memory_order_relaxed) + 1;
	if (conns > w->cfg->max_clients) {
		atomic_fetch_sub_explicit(&hub->conns, 1, memory_order_relaxed);
		refuse_full(w, fd);
		return false;
	}
	if (memory_guard_over(&hub->mem)) {
		atomic_fetch_sub_explicit(&hub->conns, 1, memory_order_relaxed);
		refuse_busy(w, fd, &w->stats.rejected_busy, GATE_FULL);
		return false;
	}
	int rc = iplimit_acquire(&hub->iplimit, ip_key);
	if (rc < 0) {
		atomic_fetch_sub_explicit(&hub->conns, 1, memory_order_relaxed);
		if (rc == -EDQUOT)
			refuse_per_ip(w, fd, peer);
		else /* the address's count could not be stored: not the address's doing */
			refuse_busy(w, fd, &w->stats.nomem_disconnects, GATE_MEMORY);
		return false;
	}
	return true;
}

/*
 * Nagle off: every flush is already one gather write holding everything queued for the
 * user, so a short last segment must go out now, not wait for the ACK of the previous one
 * (which the client may delay by ~40 ms). Line and WebSocket users alike.
 */
static void set_nodelay(struct worker *w, int fd)
{
	int one = 1;
	if (setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) < 0)
		worker_log_gated(w, GATE_ACCEPT, LOG_WARN, 0, "setsockopt TCP_NODELAY: %s",
				 strerror(errno));
}

/* Takes a new connection: ops are its handlers (the second listener's), or NULL: the chat
 * port's, which may start with a PROXY header (via.h). */
static void take(struct worker *w, int fd, const struct sockaddr *peer,
		 const struct conn_ops *fixed)
{
	struct hub *hub = w->hub;
	struct cidr_addr addr;
	(void)cidr_addr_from_sockaddr(&addr, peer); /* a TCP listener: AF_INET or AF_INET6 */
	bool count = true;
	const struct conn_ops *ops = fixed != NULL ? fixed : via_accept_ops(w, &addr, &count);
	if (ops == NULL) {
		refuse_untrusted(w, fd, &addr);
		return;
	}
	/* a trusted proxy's connections are counted under the client's address, once known */
	uint64_t ip_key = count ? iplimit_key(peer) : 0;
	if (!admit(w, fd, peer, ip_key))
		return;
	set_nodelay(w, fd);
	int rc = worker_adopt(w, fd, &addr, ip_key, ops);
	if (rc == 0)
		return;
	atomic_fetch_sub_explicit(&hub->conns, 1, memory_order_relaxed);
	iplimit_release(&hub->iplimit, ip_key);
	if (rc == -ENOMEM) { /* refused like the checks above: told, logged and counted */
		refuse_busy(w, fd, &w->stats.nomem_disconnects, GATE_MEMORY);
		return;
	}
	log_error((int)w->index, 0, "cannot register connection: %s", strerror(-rc));
	close(fd);
}

static void pause_accepts(struct acceptor *a)
{
	a->paused = true;
	timer_arm(&a->w->timers, &a->resume, TIMER_ACCEPT, a->w->now_ms + ACCEPT_PAUSE_MS);
}

static void resume_accepts(struct timer *t, void *ctx)
{
	struct worker *w = ctx;
	container_of(t, struct acceptor, resume)->paused = false;
	w->input_pending = true; /* the connections still queued: accept them next */
}

/* Accepts from listen (the chat port's, or the second one's: ops, ready) until EAGAIN or the
 * budget; true when the budget ran out first (more may wait). */
static bool accept_some(struct worker *w, struct acceptor *a, int listen, bool *ready,
			const struct conn_ops *ops)
{
	for (int i = 0; i < ACCEPTS_PER_TURN; i++) {
		struct sockaddr_storage peer = { .ss_family = AF_UNSPEC };
		socklen_t plen = sizeof(peer);
		int fd =
		    accept4(listen, (struct sockaddr *)&peer, &plen, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd >= 0) {
			take(w, fd, (struct sockaddr *)&peer, ops);
			continue;
		}
		switch (errno) {
		case EAGAIN:
#if EAGAIN != EWOULDBLOCK
		case EWOULDBLOCK:
#endif
			*ready = false;
			return false;
		case EINTR:
		case ECONNABORTED:
		case EPROTO:
			continue;
		case EMFILE:
		case ENFILE:
		case ENOBUFS:
		case ENOMEM:
			/* The connection stays queued and the edge is spent: retry from a timer
			 * instead of spinning. */
			stat_add(&w->stats.accept_pauses, 1);
			worker_log_gated(w, GATE_ACCEPT, LOG_WARN, 0,
					 "accept4: %s; pausing accepts for %d ms", strerror(errno),
					 ACCEPT_PAUSE_MS);
			pause_accepts(a);
			return false;
		default:
			stat_add(&w->stats.accept_errors, 1);
			worker_log_gated(w, GATE_ACCEPT, LOG_ERROR, 0, "accept4: %s",
					 strerror(errno));
			pause_accepts(a);
			return false;
		}
	}
	return true; /* budget spent with the listener still ready: next iteration */
}

/* The input hook: runs when the loop reads, and has input pending while the listener may
 * still hold connections. */
static bool listener_on_input(struct worker *w, void *arg)
{
	struct acceptor *a = arg;
	bool more = false;
	if (w->listener_ready && w->listen_fd >= 0 && !a->paused)
		more = accept_some(w, a, w->listen_fd, &w->listener_ready, NULL);
	if (w->listener2_ready && w->listen2_fd >= 0 && !a->paused)
		more |= accept_some(w, a, w->listen2_fd, &w->listener2_ready, w->accept2_ops);
	return more;
}

/*
 * The shutdown hook. Closing a SO_REUSEPORT listener resets the connections queued on it, so
 * they are accepted first and told goodbye; then the listener is closed.
 */
static bool listener_on_shutdown(struct worker *w, void *arg)
{
	(void)arg;
	if (w->listen_fd < 0)
		return false;
	char line[PROTO_LINE_MAX];
	size_t n = proto_shutdown(line, sizeof(line));
	int fd;
	while ((fd = accept4(w->listen_fd, NULL, NULL, SOCK_CLOEXEC)) >= 0) {
		send_now(fd, line, n);
		close(fd);
	}
	static const char irc_bye[] = "ERROR :Server shutting down\r\n";
	while (w->listen2_fd >= 0 && (fd = accept4(w->listen2_fd, NULL, NULL, SOCK_CLOEXEC)) >= 0) {
		send_now(fd, irc_bye, sizeof(irc_bye) - 1);
		close(fd);
	}
	worker_close_listener(w);
	return false;
}

int listener_attach(struct worker *w)
{
	struct acceptor *a = calloc(1, sizeof(*a));
	if (a == NULL)
		return -ENOMEM;
	a->w = w;
	timer_init(&a->resume, resume_accepts);
	int rc = worker_add_hook(w, WORKER_HOOK_INPUT, listener_on_input, a);
	if (rc < 0) {
		free(a);
		return rc;
	}
	/* from here on listener_detach frees a */
	return worker_add_hook(w, WORKER_HOOK_SHUTDOWN, listener_on_shutdown, NULL);
}

void listener_detach(struct worker *w)
{
	free(worker_hook_arg(w, listener_on_input));
}
