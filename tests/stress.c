/*
 * stress.c - see stress.h. Plain C (no criterion) so the TSan driver can run it too.
 */
#include "stress.h"
#include "admin.h"
#include "cluster.h"
#include "inbox.h"
#include "log.h"
#include "memory.h"
#include "msg.h"
#include "reload.h"
#include "server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static char failure[512];

#define FAIL(...)                                                \
	do {                                                     \
		snprintf(failure, sizeof(failure), __VA_ARGS__); \
		return failure;                                  \
	} while (0)

/* ---- inbox ------------------------------------------------------------------------------- */

struct item {
	struct inbox_node node;
	unsigned producer;
	unsigned seq;
};

struct inbox_run {
	struct inbox q;
	struct item *items;
	unsigned per_producer;
	bool sleepy;
};

struct producer_arg {
	struct inbox_run *run;
	unsigned index;
};

static void *producer_main(void *arg)
{
	struct producer_arg *a = arg;
	struct inbox_run *r = a->run;
	for (unsigned i = 0; i < r->per_producer; i++) {
		struct item *it = &r->items[a->index * r->per_producer + i];
		it->producer = a->index;
		it->seq = i;
		inbox_push(&r->q, &it->node);
		if ((i & 1023) == 0 && r->sleepy)
			sched_yield(); /* let the consumer fall asleep now and then */
	}
	return NULL;
}

const char *stress_inbox(unsigned producers, unsigned per_producer, bool sleepy)
{
	struct inbox_run r = { .per_producer = per_producer, .sleepy = sleepy };
	const char *err = NULL;
	if (inbox_init(&r.q) < 0)
		FAIL("inbox_init: %s", strerror(errno));
	unsigned long total = (unsigned long)producers * per_producer, got = 0;
	r.items = calloc(total, sizeof(*r.items));
	pthread_t *th = calloc(producers, sizeof(*th));
	struct producer_arg *args = calloc(producers, sizeof(*args));
	unsigned *next = calloc(producers, sizeof(*next));
	for (unsigned p = 0; p < producers; p++) {
		args[p] = (struct producer_arg){ &r, p };
		pthread_create(&th[p], NULL, producer_main, &args[p]);
	}
	while (got < total && err == NULL) {
		struct inbox_node *n = inbox_pop(&r.q);
		if (n != NULL) {
			struct item *it = container_of(n, struct item, node);
			if (it->producer >= producers || it->seq != next[it->producer]) {
				snprintf(
				    failure, sizeof(failure),
				    "producer %u: got seq %u, expected %u (lost, duplicated or "
				    "reordered)",
				    it->producer, it->seq, next[it->producer]);
				err = failure;
				break;
			}
			next[it->producer]++;
			got++;
			continue;
		}
		if (!sleepy || !inbox_prepare_sleep(&r.q))
			continue;
		struct pollfd p = { .fd = r.q.efd, .events = POLLIN };
		if (poll(&p, 1, 5000) != 1) {
			snprintf(failure, sizeof(failure),
				 "consumer slept 5 s with %lu items still expected: lost wake-up",
				 total - got);
			err = failure;
		}
		inbox_awake(&r.q, true);
	}
	for (unsigned p = 0; p < producers; p++)
		pthread_join(th[p], NULL);
	if (err == NULL && inbox_pop(&r.q) != NULL) {
		snprintf(failure, sizeof(failure), "an extra item was popped");
		err = failure;
	}
	free(next);
	free(args);
	free(th);
	free(r.items);
	inbox_destroy(&r.q);
	return err;
}

/* ---- msg refcount --------------------------------------------------------------------------- */

#define HOLDS 50

struct holder_arg {
	struct msg **msgs;
	unsigned messages;
	unsigned worker;
	pthread_barrier_t *start;
	bool bad;
};

static void *holder_main(void *arg)
{
	struct holder_arg *a = arg;
	pthread_barrier_wait(a->start);
	for (unsigned i = 0; i < a->messages; i++) {
		struct msg *m = a->msgs[i];
		msg_local_begin(m, a->worker);
		for (int k = 0; k < HOLDS; k++)
			msg_local_get(m, a->worker);
		if (m->data[0] != 'x') /* a premature free shows here under ASan/TSan */
			a->bad = true;
		msg_local_put(m, a->worker);
		for (int k = 0; k < HOLDS; k++)
			msg_local_put(m, a->worker);
	}
	return NULL;
}

const char *stress_msg_refcount(unsigned threads, unsigned messages)
{
	long before = msg_live_count();
	/* NOLINTNEXTLINE(bugprone-sizeof-expression): an array of pointers */
	struct msg **msgs = calloc(messages, sizeof(*msgs));
	for (unsigned i = 0; i < messages; i++) {
		msgs[i] = msg_new(16, threads);
		memset(msgs[i]->data, 'x', 16);
		msg_set_workers(msgs[i], threads);
	}
	pthread_barrier_t start;
	pthread_barrier_init(&start, NULL, threads);
	pthread_t *th = calloc(threads, sizeof(*th));
	struct holder_arg *args = calloc(threads, sizeof(*args));
	for (unsigned t = 0; t < threads; t++) {
		args[t] = (struct holder_arg){ msgs, messages, t, &start, false };
		pthread_create(&th[t], NULL, holder_main, &args[t]);
	}
	bool bad = false;
	for (unsigned t = 0; t < threads; t++) {
		pthread_join(th[t], NULL);
		bad |= args[t].bad;
	}
	pthread_barrier_destroy(&start);
	free(args);
	free(th);
	free(msgs);
	if (bad)
		FAIL("a holder saw a corrupted message");
	if (msg_live_count() != before)
		FAIL("%ld messages not freed", msg_live_count() - before);
	return NULL;
}

/* A server on an ephemeral loopback port with quiet logs. */
static void stress_config(struct config *cfg, unsigned workers)
{
	config_defaults(cfg);
	cfg->workers = (int)workers;
	cfg->port = 0;
	cfg->log_level = LOG_ERROR;
	snprintf(cfg->bind_addr, sizeof(cfg->bind_addr), "127.0.0.1");
	cfg->admin[0] = '\0';
	cfg->irc_port = -1; /* off: parallel tests would fight over port 6667 */
	log_set_level(LOG_ERROR);
}

/* ---- a whole server ---------------------------------------------------------------------- */

struct peer {
	int fd;
	unsigned long long name;
	size_t len;
	char buf[16384];
	unsigned got; /* numbered lines received */
	bool closed;
};

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int peer_connect(struct peer *p, uint16_t port, int rcvbuf)
{
	p->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (p->fd < 0)
		return -1;
	if (rcvbuf > 0)
		setsockopt(p->fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port) };
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	return connect(p->fd, (struct sockaddr *)&a, sizeof(a));
}

static int send_all(int fd, const char *s, size_t n)
{
	while (n > 0) {
		ssize_t w = send(fd, s, n, MSG_NOSIGNAL);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		s += w;
		n -= (size_t)w;
	}
	return 0;
}

/* Reads what is there and checks numbered lines: "<name>:seq <sender> <k>". */
static const char *peer_pump(struct peer *p, unsigned index, unsigned **next,
			     const unsigned long long *sender_names)
{
	ssize_t n = recv(p->fd, p->buf + p->len, sizeof(p->buf) - p->len, MSG_DONTWAIT);
	if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
		p->closed = true;
		return NULL;
	}
	if (n < 0)
		return NULL;
	p->len += (size_t)n;
	char *start = p->buf, *nl;
	while ((nl = memchr(start, '\n', p->len - (size_t)(start - p->buf))) != NULL) {
		*nl = '\0';
		unsigned long long name;
		unsigned s, k;
		if (p->name == 0 && sscanf(start, "* Welcome, %llu.", &name) == 1)
			p->name = name;
		else if (sscanf(start, "%llu:seq %u %u", &name, &s, &k) == 3) {
			if (name != sender_names[s])
				FAIL("client %u: line from %llu claims sender %u", index, name, s);
			if (k != next[index][s])
				FAIL("client %u: sender %u line %u arrived, expected %u", index, s,
				     k, next[index][s]);
			next[index][s]++;
			p->got++;
		}
		start = nl + 1;
	}
	p->len -= (size_t)(start - p->buf);
	memmove(p->buf, start, p->len);
	return NULL;
}

static const char *run_chat(struct server *srv, struct peer *peers, unsigned clients,
			    unsigned senders, unsigned lines)
{
	uint16_t port = server_port(srv);
	for (unsigned i = 0; i < clients; i++)
		if (peer_connect(&peers[i], port, 0) < 0)
			FAIL("connect %u: %s", i, strerror(errno));
	unsigned **next = calloc(clients, sizeof(*next));
	for (unsigned i = 0; i < clients; i++)
		next[i] = calloc(senders, sizeof(unsigned));
	unsigned long long *names = calloc(senders, sizeof(*names));
	unsigned stride = clients / senders;
	const char *err = NULL;
	struct pollfd *pfd = calloc(clients, sizeof(*pfd));
	/* Wait for every welcome (so every client is in the room before anyone sends). */
	int64_t deadline = now_ms() + 20000;
	unsigned welcomed = 0;
	while (welcomed < clients && err == NULL) {
		if (now_ms() > deadline) {
			snprintf(failure, sizeof(failure), "%u of %u welcomed", welcomed, clients);
			err = failure;
			break;
		}
		for (unsigned i = 0; i < clients; i++)
			pfd[i] = (struct pollfd){ .fd = peers[i].fd, .events = POLLIN };
		poll(pfd, clients, 100);
		welcomed = 0;
		for (unsigned i = 0; i < clients && err == NULL; i++) {
			if (pfd[i].revents)
				err = peer_pump(&peers[i], i, next, names);
			welcomed += peers[i].name != 0;
		}
	}
	for (unsigned s = 0; s < senders && err == NULL; s++)
		names[s] = peers[(size_t)s * stride].name;
	char line[64];
	for (unsigned k = 0; k < lines && err == NULL; k++)
		for (unsigned s = 0; s < senders && err == NULL; s++) {
			int n = snprintf(line, sizeof(line), "seq %u %u\n", s, k);
			if (send_all(peers[(size_t)s * stride].fd, line, (size_t)n) < 0) {
				snprintf(failure, sizeof(failure), "send: %s", strerror(errno));
				err = failure;
			}
			/* keep everyone drained so nobody becomes a slow consumer */
			if ((k * senders + s) % 64 == 0)
				for (unsigned i = 0; i < clients && err == NULL; i++)
					err = peer_pump(&peers[i], i, next, names);
		}
	unsigned done = 0;
	deadline = now_ms() + 30000;
	while (done < clients && err == NULL) {
		if (now_ms() > deadline) {
			snprintf(failure, sizeof(failure), "only %u of %u clients got every line",
				 done, clients);
			err = failure;
			break;
		}
		for (unsigned i = 0; i < clients; i++)
			pfd[i] = (struct pollfd){ .fd = peers[i].fd, .events = POLLIN };
		poll(pfd, clients, 100);
		done = 0;
		for (unsigned i = 0; i < clients && err == NULL; i++) {
			if (pfd[i].revents)
				err = peer_pump(&peers[i], i, next, names);
			if (peers[i].closed && peers[i].got < senders * lines) {
				snprintf(failure, sizeof(failure), "client %u disconnected", i);
				err = failure;
			}
			done += peers[i].got == senders * lines;
		}
	}
	for (unsigned i = 0; i < clients; i++)
		free(next[i]);
	free(next);
	free(names);
	free(pfd);
	return err;
}

/* Which counter tells that the client that never reads was cut off. */
static uint64_t cut_count(struct server *srv, bool by_memory)
{
	struct server_stats st;
	server_get_stats(srv, &st);
	return by_memory ? st.memory_evictions : st.slow_disconnects;
}

/*
 * Pushes bulk lines through the room until the server cuts off the one client that never
 * reads: as a slow consumer (--max-outbuf), or by_memory, as the largest consumer when the
 * heap passes --max-memory. Lock-step: each line is read by every good client before the next
 * is sent, so no good client ever has more than one line queued and only the slow one can
 * pass a limit (after the kernel's socket buffers, a few MB, are full).
 */
static const char *push_until_cut(struct server *srv, struct peer *peers, unsigned clients,
				  bool by_memory)
{
	char bulk[3001];
	memset(bulk, 'b', sizeof(bulk) - 1);
	bulk[sizeof(bulk) - 1] = '\n';
	char prefix[32];
	size_t per_line =
	    (size_t)snprintf(prefix, sizeof(prefix), "%llu:", peers[0].name) + sizeof(bulk);
	size_t *got = calloc(clients, sizeof(*got));
	uint64_t cut = 0;
	const char *err = NULL;
	for (size_t i = 1; i <= 20000 && cut == 0 && err == NULL; i++) {
		if (send_all(peers[0].fd, bulk, sizeof(bulk)) < 0) {
			snprintf(failure, sizeof(failure), "bulk send: %s", strerror(errno));
			err = failure;
		}
		for (unsigned c = 0; c < clients && err == NULL; c++) {
			while (got[c] < i * per_line) {
				struct pollfd p = { .fd = peers[c].fd, .events = POLLIN };
				ssize_t n = poll(&p, 1, 5000) == 1 ? recv(peers[c].fd, peers[c].buf,
									  sizeof(peers[c].buf), 0)
								   : -1;
				if (n <= 0) {
					snprintf(failure, sizeof(failure),
						 "good client %u lost its connection or stalled",
						 c);
					err = failure;
					break;
				}
				got[c] += (size_t)n;
			}
		}
		if (i % 32 == 0)
			cut = cut_count(srv, by_memory);
	}
	free(got);
	struct server_stats st;
	server_get_stats(srv, &st);
	if (err == NULL &&
	    (st.slow_disconnects + st.memory_evictions != 1 || cut_count(srv, by_memory) != 1)) {
		snprintf(failure, sizeof(failure),
			 "%llu cut as slow, %llu cut for memory; expected one, %s",
			 (unsigned long long)st.slow_disconnects,
			 (unsigned long long)st.memory_evictions,
			 by_memory ? "for memory" : "as slow");
		err = failure;
	}
	return err;
}

/* The scenario of stress_server_chat; by_memory: the slow reader is to be cut as the
 * largest consumer over --max-memory rather than at --max-outbuf. */
static const char *server_chat(unsigned workers, unsigned clients, unsigned senders, unsigned lines,
			       bool slow_reader, bool by_memory)
{
	struct config cfg;
	stress_config(&cfg, workers);
	cfg.rate_limit = 0; /* bulk traffic from one sender: flood control is not under test */
	if (by_memory) {
		cfg.flush_interval_ms = 0; /* lock-step: no 5 ms wait per bulk line */
		cfg.max_outbuf = (size_t)64 << 20;
		/* a few MB above what the server and its clients will need to chat */
		cfg.max_memory = memory_heap_bytes() + ((size_t)3 << 20);
	}
	struct server *srv;
	if (server_start(&cfg, &srv) < 0)
		FAIL("server_start failed");
	struct peer *peers = calloc(clients, sizeof(*peers));
	struct peer slow = { .fd = -1 };
	const char *err = NULL;
	if (slow_reader && peer_connect(&slow, server_port(srv), 4096) < 0) {
		snprintf(failure, sizeof(failure), "connect slow: %s", strerror(errno));
		err = failure;
	}
	if (err == NULL)
		err = run_chat(srv, peers, clients, senders, lines);
	if (err == NULL && slow_reader)
		err = push_until_cut(srv, peers, clients, by_memory);
	server_stop(srv);
	server_wait(srv);
	for (unsigned i = 0; i < clients; i++)
		if (peers[i].fd >= 0)
			close(peers[i].fd);
	if (slow.fd >= 0)
		close(slow.fd);
	free(peers);
	if (err == NULL && msg_live_count() != 0) {
		snprintf(failure, sizeof(failure), "%ld message buffers leaked", msg_live_count());
		err = failure;
	}
	return err;
}

const char *stress_server_chat(unsigned workers, unsigned clients, unsigned senders, unsigned lines,
			       bool slow_reader)
{
	return server_chat(workers, clients, senders, lines, slow_reader, false);
}

const char *stress_memory_cap(unsigned workers, unsigned clients, unsigned senders, unsigned lines)
{
	return server_chat(workers, clients, senders, lines, true, true);
}

/* ---- reloads under a busy chat ------------------------------------------------------------------ */

struct reloader {
	struct server *srv;
	struct config base;
	_Atomic bool stop;
	unsigned applied;
	bool failed;
};

/* Swaps between the base configuration and one with every live setting changed (each still
 * loose enough for the chat under test), as fast as it can with a short pause. */
static void *reloader_main(void *arg)
{
	struct reloader *r = arg;
	struct reload rl;
	reload_init(&rl, r->srv, &r->base, 0, NULL);
	struct config alt[2] = { r->base, r->base };
	alt[1].max_line *= 2;
	alt[1].max_outbuf *= 2;
	alt[1].max_clients = 5000;
	alt[1].max_memory = 0;
	alt[1].notice_limit = 100;
	alt[1].max_rooms = 500;
	alt[1].flush_interval_ms = 5;
	alt[1].handshake_timeout_ms = 5000;
	alt[1].drain_timeout_ms = 3000;
	snprintf(alt[1].allow_origin, sizeof(alt[1].allow_origin), "*");
	while (!atomic_load_explicit(&r->stop, memory_order_relaxed)) {
		if (reload_apply(&rl, &alt[(r->applied + 1) % 2]) < 0) {
			r->failed = true;
			break;
		}
		r->applied++;
		usleep(500);
	}
	return NULL;
}

const char *stress_reload_chat(unsigned workers, unsigned clients, unsigned senders, unsigned lines)
{
	struct config cfg;
	stress_config(&cfg, workers);
	cfg.rate_limit = 0; /* bulk traffic from one sender: flood control is not under test */
	struct server *srv;
	if (server_start(&cfg, &srv) < 0)
		FAIL("server_start failed");
	struct peer *peers = calloc(clients, sizeof(*peers));
	struct reloader r = { .srv = srv, .base = cfg };
	pthread_t th;
	const char *err = NULL;
	bool started = pthread_create(&th, NULL, reloader_main, &r) == 0;
	if (!started) {
		snprintf(failure, sizeof(failure), "pthread_create failed");
		err = failure;
	}
	if (err == NULL)
		err = run_chat(srv, peers, clients, senders, lines);
	atomic_store_explicit(&r.stop, true, memory_order_relaxed);
	if (started)
		pthread_join(th, NULL);
	if (err == NULL && (r.failed || r.applied < 2)) {
		snprintf(failure, sizeof(failure), "%u reloads applied%s", r.applied,
			 r.failed ? ", then one failed" : "");
		err = failure;
	}
	server_stop(srv);
	server_wait(srv);
	for (unsigned i = 0; i < clients; i++)
		if (peers[i].fd >= 0)
			close(peers[i].fd);
	free(peers);
	if (err == NULL && msg_live_count() != 0) {
		snprintf(failure, sizeof(failure), "%ld message buffers leaked", msg_live_count());
		err = failure;
	}
	return err;
}

/* ---- commands from many users at once ------------------------------------------------------- */

static void drain_all(struct peer *peers, unsigned clients)
{
	for (unsigned i = 0; i < clients; i++)
		while (recv(peers[i].fd, peers[i].buf, sizeof(peers[i].buf), MSG_DONTWAIT) > 0)
			;
}

/* Reads /rooms from one peer (blocking, 5 s) and sums the member counts. */
static long rooms_total(struct peer *p)
{
	send_all(p->fd, "/rooms\n", 7);
	char buf[16384];
	size_t len = 0;
	int64_t deadline = now_ms() + 5000;
	long rooms = -1, total = 0, seen = 0;
	while (now_ms() < deadline) {
		struct pollfd pf = { .fd = p->fd, .events = POLLIN };
		if (poll(&pf, 1, 100) != 1)
			continue;
		ssize_t n = recv(p->fd, buf + len, sizeof(buf) - 1 - len, 0);
		if (n <= 0)
			return -1;
		len += (size_t)n;
		buf[len] = '\0';
		char *hdr = strstr(buf, " rooms:\n");
		if (hdr == NULL)
			hdr = strstr(buf, " room:\n");
		if (hdr == NULL)
			continue;
		char *start = hdr;
		while (start > buf && start[-1] != '\n')
			start--;
		if (sscanf(start, "* %ld room", &rooms) != 1)
			return -1;
		total = seen = 0;
		for (char *l = strchr(hdr, '\n') + 1; seen < rooms; seen++) {
			char *nl = strchr(l, '\n');
			if (nl == NULL)
				break;
			char name[64];
			long count;
			if (sscanf(l, "*   %63s %ld", name, &count) != 2)
				return -1;
			total += count;
			l = nl + 1;
		}
		if (seen == rooms)
			return total;
	}
	return -1;
}

const char *stress_chat_commands(unsigned workers, unsigned clients, unsigned rounds)
{
	struct config cfg;
	stress_config(&cfg, workers);
	struct server *srv;
	if (server_start(&cfg, &srv) < 0)
		FAIL("server_start failed");
	struct peer *peers = calloc(clients, sizeof(*peers));
	const char *err = NULL;
	for (unsigned i = 0; i < clients && err == NULL; i++)
		if (peer_connect(&peers[i], server_port(srv), 0) < 0) {
			snprintf(failure, sizeof(failure), "connect: %s", strerror(errno));
			err = failure;
		}
	static const char *const room_names[] = { "lobby", "red", "green", "blue" };
	char line[128];
	for (unsigned r = 0; r < rounds && err == NULL; r++) {
		for (unsigned i = 0; i < clients; i++) {
			int n;
			switch ((i + r) % 6) {
			case 0:
				n = snprintf(line, sizeof(line), "/nick u%u_%u\n", i, r % 3);
				break;
			case 1:
				n = snprintf(line, sizeof(line), "/join %s\n",
					     room_names[(i * 7 + r) % 4]);
				break;
			case 2:
				n = snprintf(line, sizeof(line), "/msg u%u_%u hello %u\n",
					     (i + 1) % clients, r % 3, r);
				break;
			case 3:
				n = snprintf(line, sizeof(line), "line %u from %u\n", r, i);
				break;
			case 4:
				n = snprintf(line, sizeof(line), "/who\n");
				break;
			default:
				n = snprintf(line, sizeof(line), "/rooms\n");
				break;
			}
			send_all(peers[i].fd, line, (size_t)n);
		}
		drain_all(peers, clients);
		/* scrape the counters while the workers run, as the admin thread does */
		static char page[256 * 1024];
		if (r % 10 == 0 &&
		    admin_render_metrics(&srv->hub, srv->admin, page, sizeof(page)) == 0) {
			snprintf(failure, sizeof(failure), "empty /metrics page");
			err = failure;
		}
	}
	if (err == NULL) {
		usleep(200000);
		drain_all(peers, clients);
		long total = rooms_total(&peers[0]);
		if (total != (long)clients) {
			snprintf(failure, sizeof(failure), "/rooms counts add up to %ld, not %u",
				 total, clients);
			err = failure;
		}
	}
	server_stop(srv);
	server_wait(srv);
	for (unsigned i = 0; i < clients; i++)
		close(peers[i].fd);
	free(peers);
	if (err == NULL && msg_live_count() != 0) {
		snprintf(failure, sizeof(failure), "%ld message buffers leaked", msg_live_count());
		err = failure;
	}
	return err;
}

/* ---- IRC users in several channels ----------------------------------------------------------- */

/* Reads p until what it got has `needle` in it (5 s). */
static bool peer_wait_for(struct peer *p, const char *needle)
{
	int64_t deadline = now_ms() + 5000;
	while (now_ms() < deadline) {
		struct pollfd pf = { .fd = p->fd, .events = POLLIN };
		if (poll(&pf, 1, 100) != 1)
			continue;
		if (p->len + 1 >= sizeof(p->buf)) { /* keep the tail: a needle may straddle */
			memmove(p->buf, p->buf + p->len - 256, 256);
			p->len = 256;
		}
		ssize_t n = recv(p->fd, p->buf + p->len, sizeof(p->buf) - 1 - p->len, 0);
		if (n <= 0)
			return false;
		p->len += (size_t)n;
		p->buf[p->len] = '\0';
		if (strstr(p->buf, needle) != NULL) {
			p->len = 0;
			return true;
		}
	}
	return false;
}

#define IRC_ROOMS 4

/* The memberships the IRC users should have, plus the one line user. */
static long irc_expected(bool (*in)[IRC_ROOMS], const bool *gone, unsigned clients)
{
	long total = 1;
	for (unsigned i = 0; i < clients; i++)
		for (unsigned k = 0; k < IRC_ROOMS && !gone[i]; k++)
			total += in[i][k];
	return total;
}

/* One IRC user's command of round r; in[] follows its channels. */
static int irc_command(char *line, size_t cap, unsigned i, unsigned r, unsigned clients,
		       bool in[IRC_ROOMS])
{
	static const char *const names[IRC_ROOMS] = { "lobby", "red", "green", "blue" };
	unsigned k = (i * 7 + r) % IRC_ROOMS;
	switch ((i + r) % 6) {
	case 0:
		in[k] = in[(k + 1) % IRC_ROOMS] = true;
		return snprintf(line, cap, "JOIN #%s,#%s\r\n", names[k],
				names[(k + 1) % IRC_ROOMS]);
	case 1:
		return snprintf(line, cap, "PRIVMSG #%s :line %u from %u\r\n", names[k], r, i);
	case 2:
		in[k] = false;
		return snprintf(line, cap, "PART #%s\r\n", names[k]);
	case 3:
		return snprintf(line, cap, "NICK n%u_%u\r\n", i, r % 3);
	case 4:
		return snprintf(line, cap, "TOPIC #%s :round %u\r\nMODE #%s\r\n", names[k], r,
				names[k]);
	default:
		return snprintf(line, cap, "WHOIS n%u_%u\r\nNAMES #%s\r\n", (i + 1) % clients,
				r % 3, names[k]);
	}
}

/* Sums /rooms from the line user and compares with what the IRC users should be in. */
static const char *irc_check_total(struct peer *line_user, long want)
{
	long total = -1;
	for (int tries = 0; tries < 20 && total != want; tries++) {
		usleep(100000);
		total = rooms_total(line_user);
	}
	if (total != want)
		FAIL("/rooms counts add up to %ld, not %ld", total, want);
	return NULL;
}

const char *stress_irc_channels(unsigned workers, unsigned clients, unsigned rounds)
{
	struct config cfg;
	stress_config(&cfg, workers);
	cfg.irc_port = 0;
	struct server *srv;
	if (server_start(&cfg, &srv) < 0)
		FAIL("server_start failed");
	struct peer *peers = calloc(clients + 1, sizeof(*peers));
	bool(*in)[IRC_ROOMS] = calloc(clients, sizeof(*in));
	bool *gone = calloc(clients, sizeof(*gone));
	const char *err = NULL;
	char line[256], want[64];
	if (peer_connect(&peers[clients], server_port(srv), 0) < 0)
		err = "connect of the line user failed";
	for (unsigned i = 0; i < clients && err == NULL; i++) {
		if (peer_connect(&peers[i], server_irc_port(srv), 0) < 0) {
			err = "connect failed";
			break;
		}
		int n = snprintf(line, sizeof(line), "NICK n%u_0\r\nUSER u 0 * :u\r\n", i);
		send_all(peers[i].fd, line, (size_t)n);
		snprintf(want, sizeof(want), " #lobby :End of /NAMES list");
		if (!peer_wait_for(&peers[i], want))
			err = "an IRC client did not register";
		in[i][0] = true;
	}
	for (unsigned r = 0; r < rounds && err == NULL; r++) {
		for (unsigned i = 0; i < clients; i++) {
			int n = irc_command(line, sizeof(line), i, r, clients, in[i]);
			send_all(peers[i].fd, line, (size_t)n);
		}
		drain_all(peers, clients + 1);
	}
	if (err == NULL)
		err = irc_check_total(&peers[clients], irc_expected(in, gone, clients));
	for (unsigned i = 0; i < clients && err == NULL; i += 2) { /* half of them go at once */
		close(peers[i].fd);
		peers[i].fd = -1;
		gone[i] = true;
	}
	if (err == NULL)
		err = irc_check_total(&peers[clients], irc_expected(in, gone, clients));
	server_stop(srv);
	server_wait(srv);
	for (unsigned i = 0; i <= clients; i++)
		if (peers[i].fd >= 0)
			close(peers[i].fd);
	free(peers);
	free(in);
	free(gone);
	if (err == NULL && msg_live_count() != 0) {
		snprintf(failure, sizeof(failure), "%ld message buffers leaked", msg_live_count());
		err = failure;
	}
	return err;
}

/* ---- a cluster: a room's history read from Redis ------------------------------------------- */

/* A free loopback port (another process may take it before it is used), or 0. */
static uint16_t stress_free_port(void)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_in a = { .sin_family = AF_INET };
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	socklen_t len = sizeof(a);
	uint16_t port = 0;
	if (fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0 &&
	    getsockname(fd, (struct sockaddr *)&a, &len) == 0)
		port = ntohs(a.sin_port);
	if (fd >= 0)
		close(fd);
	return port;
}

/* Whether a Redis answers PING on port. */
static bool stress_redis_ready(uint16_t port)
{
	struct peer p = { .fd = -1 };
	bool ok = peer_connect(&p, port, 0) == 0 && send_all(p.fd, "PING\r\n", 6) == 0;
	char buf[16] = "";
	struct pollfd pf = { .fd = p.fd, .events = POLLIN };
	ok = ok && poll(&pf, 1, 1000) == 1 && recv(p.fd, buf, sizeof(buf) - 1, 0) > 0 &&
	     strncmp(buf, "+PONG", 5) == 0;
	if (p.fd >= 0)
		close(p.fd);
	return ok;
}

/* redis-server on a free loopback port, killed if this process dies: its pid (stopped by
 * stress_redis_stop), or -1. */
static pid_t stress_redis_start(uint16_t *port)
{
	for (int attempt = 0; attempt < 5; attempt++) {
		uint16_t p = stress_free_port();
		char ps[8];
		snprintf(ps, sizeof(ps), "%u", (unsigned)p);
		pid_t parent = getpid(), pid = fork();
		if (pid < 0)
			return -1;
		if (pid == 0) {
			int null = open("/dev/null", O_WRONLY | O_CLOEXEC);
			if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || getppid() != parent ||
			    null < 0 || dup2(null, 1) < 0 || dup2(null, 2) < 0)
				_exit(126);
			execlp("redis-server", "redis-server", "--bind", "127.0.0.1", "--port", ps,
			       "--save", "", "--appendonly", "no", (char *)NULL);
			_exit(127);
		}
		for (int64_t deadline = now_ms() + 5000; now_ms() < deadline; usleep(10000)) {
			if (waitpid(pid, NULL, WNOHANG) == pid)
				break; /* exited: the port was taken, or no redis-server */
			if (stress_redis_ready(p)) {
				*port = p;
				return pid;
			}
		}
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
	}
	return -1;
}

static void stress_redis_stop(pid_t pid)
{
	if (pid <= 0)
		return;
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
}

/* Reads what p has (waiting up to 100 ms) and calls each complete line (NUL-terminated). False
 * when the connection ended. */
static bool peer_lines(struct peer *p, void (*each)(const char *line, void *arg), void *arg)
{
	struct pollfd pf = { .fd = p->fd, .events = POLLIN };
	if (poll(&pf, 1, 100) != 1)
		return true;
	ssize_t n = recv(p->fd, p->buf + p->len, sizeof(p->buf) - 1 - p->len, 0);
	if (n <= 0)
		return false;
	p->len += (size_t)n;
	char *start = p->buf, *nl;
	while ((nl = memchr(start, '\n', p->len - (size_t)(start - p->buf))) != NULL) {
		*nl = '\0';
		each(start, arg);
		start = nl + 1;
	}
	p->len -= (size_t)(start - p->buf);
	memmove(p->buf, start, p->len);
	return true;
}

/* What a newcomer got of the numbered lines "NAME:line K", in the history block or live. */
struct numbered {
	unsigned next;   /* the number expected next */
	bool wrong;      /* one came out of order: missing, or twice */
	unsigned got_at; /* the number that came instead */
};

static void count_numbered(const char *line, void *arg)
{
	struct numbered *n = arg;
	const char *said = strstr(line, ":line ");
	if (line[0] == '*' || said == NULL || n->wrong)
		return;
	unsigned k = (unsigned)strtoul(said + strlen(":line "), NULL, 10);
	if (k != n->next) {
		n->wrong = true;
		n->got_at = k;
		return;
	}
	n->next++;
}

/* Sends "line FIRST" .. "line LAST-1" from p. */
static int say_numbered(struct peer *p, unsigned first, unsigned last)
{
	char text[32];
	for (unsigned k = first; k < last; k++) {
		int n = snprintf(text, sizeof(text), "line %u\n", k);
		if (send_all(p->fd, text, (size_t)n) < 0)
			return -1;
	}
	return 0;
}

static bool cluster_up(struct server *srv)
{
	struct cluster_stats st;
	cluster_get_stats(&srv->hub, &st);
	return st.up;
}

/* The scenario of stress_cluster_history, with Redis on rport. */
static const char *cluster_history(uint16_t rport, struct server **nodes, struct peer *sender,
				   struct peer *late, unsigned newcomers, unsigned lines)
{
	for (int64_t deadline = now_ms() + 10000; !cluster_up(nodes[0]) || !cluster_up(nodes[1]);
	     usleep(10000))
		if (now_ms() > deadline)
			FAIL("the nodes' links to Redis on port %u never came up", (unsigned)rport);
	/* the room's state too (issue 16): a topic and a limit, applied on both nodes by their
	 * link workers while node b's workers seed the room from their copy */
	static const char run[] = "/join r\n/topic stress\n/limit 1000\n";
	if (peer_connect(sender, server_port(nodes[0]), 0) < 0 ||
	    send_all(sender->fd, run, sizeof(run) - 1) < 0 ||
	    say_numbered(sender, 0, lines / 3) < 0)
		FAIL("the sender: %s", strerror(errno));
	/* the first third is said (the sender hears it back) before anyone enters on node b */
	struct numbered heard = { 0 };
	for (int64_t deadline = now_ms() + 10000; heard.next < lines / 3 && !heard.wrong;)
		if (!peer_lines(sender, count_numbered, &heard) || now_ms() > deadline)
			FAIL("the sender heard %u of its %u lines", heard.next, lines / 3);
	/* users enter r on node b, where it is new, while the sender goes on */
	unsigned said = lines / 3, per = (lines - said) / newcomers + 1;
	for (unsigned i = 0; i < newcomers; i++) {
		if (peer_connect(&late[i], server_port(nodes[1]), 0) < 0 ||
		    send_all(late[i].fd, "/join r\n", 8) < 0)
			FAIL("newcomer %u: %s", i, strerror(errno));
		unsigned to = said + per < lines ? said + per : lines;
		if (say_numbered(sender, said, to) < 0)
			FAIL("the sender: %s", strerror(errno));
		said = to;
	}
	if (say_numbered(sender, said, lines) < 0)
		FAIL("the sender: %s", strerror(errno));
	for (unsigned i = 0; i < newcomers; i++) {
		struct numbered n = { 0 };
		for (int64_t deadline = now_ms() + 20000; n.next < lines && !n.wrong;)
			if (!peer_lines(&late[i], count_numbered, &n) || now_ms() > deadline)
				FAIL("newcomer %u got %u of %u lines", i, n.next, lines);
		if (n.wrong)
			FAIL("newcomer %u: line %u came where line %u was due", i, n.got_at,
			     n.next);
	}
	return NULL;
}

const char *stress_cluster_history(unsigned workers, unsigned newcomers, unsigned lines)
{
	uint16_t rport = 0;
	pid_t redis = stress_redis_start(&rport);
	if (redis < 0)
		FAIL("redis-server did not start (is it installed? apt-get install redis-server)");
	struct server *nodes[2] = { NULL, NULL };
	struct peer sender = { .fd = -1 }, *late = calloc(newcomers, sizeof(*late));
	const char *err = late == NULL ? "out of memory" : NULL;
	for (unsigned i = 0; late != NULL && i < newcomers; i++)
		late[i].fd = -1;
	for (int k = 0; k < 2 && err == NULL; k++) {
		struct config cfg;
		stress_config(&cfg, workers);
		cfg.rate_limit = 0;
		snprintf(cfg.cluster, sizeof(cfg.cluster), "redis://127.0.0.1:%u/stress",
			 (unsigned)rport);
		snprintf(cfg.node_id, sizeof(cfg.node_id), "%c", 'a' + k);
		if (server_start(&cfg, &nodes[k]) < 0) {
			snprintf(failure, sizeof(failure), "server_start failed");
			err = failure;
		}
	}
	if (err == NULL)
		err = cluster_history(rport, nodes, &sender, late, newcomers, lines);
	for (int k = 0; k < 2; k++)
		if (nodes[k] != NULL)
			server_stop(nodes[k]);
	for (int k = 0; k < 2; k++)
		if (nodes[k] != NULL)
			server_wait(nodes[k]);
	stress_redis_stop(redis);
	if (sender.fd >= 0)
		close(sender.fd);
	for (unsigned i = 0; late != NULL && i < newcomers; i++)
		if (late[i].fd >= 0)
			close(late[i].fd);
	free(late);
	if (err == NULL && msg_live_count() != 0) {
		snprintf(failure, sizeof(failure), "%ld message buffers leaked", msg_live_count());
		err = failure;
	}
	return err;
}
