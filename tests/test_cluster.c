/*
 * test_cluster.c - several chatd nodes as one chat through a real redis-server (--cluster):
 * one room across nodes in one order on every node with each sender's lines in order, and the
 * link surviving Redis being killed and restarted on its port (local chat never stops, users
 * are told, cross-node chat comes back, /healthz says 503 meanwhile); names unique across
 * nodes (a race has one winner, a quit frees the name, claimed again after Redis restarts with
 * a guest name for the loser), /msg, /who and /rooms across nodes, a node killed with SIGKILL
 * leaving the others, and the bounded queue to a frozen Redis; history across nodes (the same
 * block on every node, a node started later included, kept in a capped stream in Redis and
 * read when a room is new to a node, with no line lost or repeated meanwhile).
 *
 * Each test starts its own redis-server on a free loopback port and in-process chatd nodes
 * (one test also a bin/chatd process); the .fini kills the process, wakes Redis if a test
 * froze it and stops it, whatever happened.
 */
#include "base64url.h"
#include "cluster.h"
#include "hmac.h"
#include "command.h"
#include "server.h"
#include "stress.h"
#include "testlib.h"

#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <sys/socket.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define NODES_MAX 3

static int redis_pid = -1;
static uint16_t redis_port;
static struct tproc node_proc; /* a node run as its own process (bin/chatd), to kill -9 */

static void stop_redis(void)
{
	ts_redis_stop(redis_pid);
	redis_pid = -1;
}

/* Whatever the test's outcome: the node process killed and reaped, Redis woken if a test
 * froze it (SIGSTOP) and stopped. */
static void stop_children(void)
{
	tp_stop(&node_proc);
	if (redis_pid > 0)
		kill(redis_pid, SIGCONT);
	stop_redis();
}

TestSuite(cluster, .fini = stop_children);

/* A node with --history lines of history per room. */
static struct server *start_node_history(const char *id, int history)
{
	struct config cfg = ts_config(2);
	snprintf(cfg.cluster, sizeof(cfg.cluster), "redis://127.0.0.1:%u/test", redis_port);
	snprintf(cfg.node_id, sizeof(cfg.node_id), "%s", id);
	snprintf(cfg.admin, sizeof(cfg.admin), "127.0.0.1:0");
	cfg.history = history;
	return ts_start(&cfg);
}

static struct server *start_node(const char *id)
{
	return start_node_history(id, 100);
}

static bool link_up(struct server *srv)
{
	struct cluster_stats st;
	cluster_get_stats(&srv->hub, &st);
	return st.up;
}

/* Waits until every node's link is up (or, when up is false, down). */
static void wait_links(struct server **nodes, int n, bool up, int timeout_ms)
{
	for (int waited = 0;; waited += 10) {
		int ok = 0;
		for (int i = 0; i < n; i++)
			ok += link_up(nodes[i]) == up;
		if (ok == n)
			return;
		cr_assert_lt(waited, timeout_ms, "%d of %d links %s after %d ms", ok, n,
			     up ? "up" : "down", timeout_ms);
		usleep(10000);
	}
}

/* Waits until Redis confirmed `want` subscriptions of the node: its own channel, the
 * operators' control channel, the rooms' state channel, and its users' rooms. */
static void wait_subscribed(struct server *srv, uint64_t want)
{
	for (int i = 0; i < 500; i++) {
		struct cluster_stats st;
		cluster_get_stats(&srv->hub, &st);
		if (st.subscriptions >= want)
			return;
		usleep(10000);
	}
	cr_assert_fail("the node never subscribed to %llu channels", (unsigned long long)want);
}

/* Waits until Redis counts `nodes` subscribers of the room's channel: a line published from
 * then on reaches all of them. (A node's own subscription count says less: a user who just
 * left the lobby for the room may leave it counting the lobby's channel while the room's is
 * still on its way, and a line said then never reaches that node.) */
static void wait_room_subscribers(const char *room, long long nodes)
{
	char channel[96];
	snprintf(channel, sizeof(channel), "test:room:%s", room);
	struct tredis *r = tr_connect(redis_port);
	for (int i = 0;; i++) {
		const struct resp_node *n = TR_COMMAND(r, "PUBSUB", "NUMSUB", channel);
		cr_assert(n->type == RESP_ARRAY && n->n == 2, "PUBSUB NUMSUB's answer");
		long long have = resp_child(n, 1)->integer;
		if (have >= nodes)
			break;
		cr_assert_lt(i, 500, "%lld of %lld nodes subscribed to %s", have, nodes, channel);
		usleep(10000);
	}
	tr_close(r);
}

/* Reads chat lines (skipping server notices) until `want` arrived; fails after 5 s. */
static void read_chat(struct tclient *c, char lines[][64], int want)
{
	char line[256];
	for (int got = 0; got < want;) {
		cr_assert_geq(tc_read_line(c, line, sizeof(line), 5000), 0, "%d of %d lines", got,
			      want);
		if (line[0] == '*')
			continue;
		const char *text = strchr(line, ':');
		cr_assert_not_null(text, "%s", line);
		snprintf(lines[got++], 64, "%s", text + 1);
	}
}

static struct tclient *join_room(uint16_t port, const char *room)
{
	struct tclient *c = tc_join(port);
	char cmd[64], answer[96];
	snprintf(cmd, sizeof(cmd), "/join %s\n", room);
	tc_send(c, cmd);
	snprintf(answer, sizeof(answer), "* You are now in %s.", room);
	char line[256];
	for (int i = 0; i < 20; i++) {
		cr_assert_geq(tc_read_line(c, line, sizeof(line), 5000), 0);
		if (strncmp(line, answer, strlen(answer)) == 0)
			return c;
	}
	cr_assert_fail("no answer to %s", cmd);
	return NULL;
}

#define LINES 30

Test(cluster, a_room_across_nodes_gets_every_line_in_one_order_everywhere, .timeout = 60)
{
	redis_pid = ts_redis_start(&redis_port, NULL);
	struct server *nodes[NODES_MAX] = { start_node("a"), start_node("b"), start_node("c") };
	wait_links(nodes, NODES_MAX, true, 5000);
	struct tclient *users[NODES_MAX][2];
	for (int i = 0; i < NODES_MAX; i++)
		for (int j = 0; j < 2; j++)
			users[i][j] = join_room(server_port(nodes[i]), "dev");
	for (int i = 0; i < NODES_MAX; i++)
		wait_subscribed(nodes[i], 4);
	wait_room_subscribers("dev", NODES_MAX);
	/* one sender per node, lines interleaved as they are sent */
	for (int k = 0; k < LINES; k++)
		for (int i = 0; i < NODES_MAX; i++) {
			char text[64];
			snprintf(text, sizeof(text), "node %c line %02d\n", 'a' + i, k);
			tc_send(users[i][0], text);
		}
	static char seen[NODES_MAX * 2][NODES_MAX * LINES][64];
	for (int i = 0; i < NODES_MAX; i++)
		for (int j = 0; j < 2; j++)
			read_chat(users[i][j], seen[i * 2 + j], NODES_MAX * LINES);
	for (int r = 1; r < NODES_MAX * 2; r++)
		for (int k = 0; k < NODES_MAX * LINES; k++)
			cr_assert_str_eq(seen[r][k], seen[0][k],
					 "receiver %d, line %d: another order", r, k);
	int next[NODES_MAX] = { 0 };
	for (int k = 0; k < NODES_MAX * LINES; k++) {
		char node;
		int n;
		cr_assert_eq(sscanf(seen[0][k], "node %c line %d", &node, &n), 2, "%s", seen[0][k]);
		cr_assert_eq(n, next[node - 'a']++, "%s out of its sender's order", seen[0][k]);
	}
	for (int i = 0; i < NODES_MAX; i++) {
		struct cluster_stats st;
		for (int tries = 0; tries < 60; tries++) { /* a heartbeat every 2 s */
			cluster_get_stats(&nodes[i]->hub, &st);
			if (st.peers == NODES_MAX - 1)
				break;
			usleep(100000);
		}
		cr_assert_eq(st.peers, NODES_MAX - 1, "node %d knows %llu peers", i,
			     (unsigned long long)st.peers);
		cr_assert_gt(st.publish_count, 0, "publish latency measured");
		cr_assert_geq(st.published, LINES, "node %d published its sender's lines", i);
	}
	for (int i = 0; i < NODES_MAX; i++)
		tc_close_all(users[i], 2);
	ts_stop_all(nodes, NODES_MAX);
}

/* GET /healthz's status on the node's admin port. */
static int healthz(struct server *srv)
{
	char answer[512];
	int status = ts_http(server_admin_port(srv), "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n",
			     answer, sizeof(answer));
	return status;
}

Test(cluster, redis_killed_and_restarted_local_chat_goes_on_and_the_nodes_find_each_other,
     .timeout = 60)
{
	redis_pid = ts_redis_start(&redis_port, NULL);
	struct server *nodes[2] = { start_node("a"), start_node("b") };
	wait_links(nodes, 2, true, 5000);
	struct tclient *a1 = join_room(server_port(nodes[0]), "ops");
	struct tclient *a2 = join_room(server_port(nodes[0]), "ops");
	struct tclient *b1 = join_room(server_port(nodes[1]), "ops");
	wait_subscribed(nodes[0], 4);
	wait_subscribed(nodes[1], 4);
	wait_room_subscribers("ops", 2);
	cr_assert_eq(healthz(nodes[0]), 200);
	tc_send(a1, "before\n");
	char seen[1][64];
	read_chat(b1, seen, 1);
	cr_assert_str_eq(seen[0], "before");

	stop_redis();
	wait_links(nodes, 2, false, 5000);
	tc_expect_eventually(a2, PROTO_CLUSTER_DOWN, 5000);
	tc_expect_eventually(b1, PROTO_CLUSTER_DOWN, 5000);
	cr_assert_eq(healthz(nodes[0]), 503, "a node without its link is not healthy");
	tc_send(a1, "during\n");
	read_chat(a2, seen, 1);
	cr_assert_str_eq(seen[0], "during", "local chat goes on while Redis is away");
	tc_expect_silence(b1, 300);

	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	redis_pid = ts_redis_start_on(redis_port, NULL);
	wait_links(nodes, 2, true, 5000);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	double back = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	cr_assert_lt(back, 5.0, "the links took %.1f s to come back", back);
	tc_expect_eventually(b1, PROTO_CLUSTER_BACK, 5000);
	wait_room_subscribers("ops", 2); /* subscribed again */
	tc_send(a1, "after\n");
	read_chat(b1, seen, 1);
	cr_assert_str_eq(seen[0], "after", "cross-node chat resumes");
	cr_assert_eq(healthz(nodes[0]), 200);

	struct cluster_stats st;
	cluster_get_stats(&nodes[0]->hub, &st);
	cr_assert_geq(st.reconnects, 1);
	cr_assert_geq(st.local_only, 1);
	tc_close(a1);
	tc_close(a2);
	tc_close(b1);
	ts_stop_all(nodes, 2);
}

Test(cluster, a_subscriber_cut_for_its_output_buffer_comes_back_by_itself, .timeout = 60)
{
	/* a pub/sub client holding more than 2 KiB of output is cut at once */
	static const char *const limit[] = {
		"--client-output-buffer-limit", "pubsub", "2kb", "0", "0", NULL
	};
	redis_pid = ts_redis_start(&redis_port, limit);
	struct server *nodes[2] = { start_node("a"), start_node("b") };
	wait_links(nodes, 2, true, 5000);
	struct tclient *a1 = join_room(server_port(nodes[0]), "big");
	struct tclient *b1 = join_room(server_port(nodes[1]), "big");
	wait_subscribed(nodes[0], 4);
	wait_subscribed(nodes[1], 4);
	wait_room_subscribers("big", 2);

	/* one message bigger than the limit, published straight to the room's channel */
	static char payload[8192];
	memset(payload, 'x', sizeof(payload) - 2);
	static const char head[] = "1 elsewhere 0 ";
	memcpy(payload, head, sizeof(head) - 1);
	payload[sizeof(payload) - 2] = '\n';
	struct tredis *r = tr_connect(redis_port);
	const struct resp_node *n = TR_COMMAND(r, "PUBLISH", "test:room:big", payload);
	cr_assert_eq(n->type, RESP_INTEGER);
	tr_close(r);

	tc_expect_eventually(a1, PROTO_CLUSTER_DOWN, 5000);
	tc_expect_eventually(a1, PROTO_CLUSTER_BACK, 5000);
	wait_links(nodes, 2, true, 5000);
	wait_subscribed(nodes[0], 4);
	wait_room_subscribers("big", 2); /* Redis closed the cut one: the count is exact */
	tc_send(b1, "still one chat\n");
	char seen[1][64];
	read_chat(a1, seen, 1);
	cr_assert_str_eq(seen[0], "still one chat");
	struct cluster_stats st;
	cluster_get_stats(&nodes[0]->hub, &st);
	cr_assert_geq(st.reconnects, 1, "the cut is counted as a reconnect");
	tc_close(a1);
	tc_close(b1);
	ts_stop_all(nodes, 2);
}

Test(cluster, a_line_said_on_entering_a_room_new_to_the_node_reaches_the_node_too, .timeout = 60)
{
	redis_pid = ts_redis_start(&redis_port, NULL);
	struct server *nodes[2] = { start_node("a"), start_node("b") };
	wait_links(nodes, 2, true, 5000);
	struct tclient *b1 = join_room(server_port(nodes[1]), "fresh");
	wait_subscribed(nodes[1], 4);
	wait_room_subscribers("fresh", 1);
	/* the join and the first lines in one write: node a subscribes to "fresh" while the
	 * lines are already on their way; they wait for the subscription, so a hears them too */
	struct tclient *a1 = tc_join(server_port(nodes[0]));
	tc_send(a1, "/join Fresh\nfirst words\nsecond words\n"); /* any spelling: one room */
	char seen[2][64];
	read_chat(a1, seen, 2);
	cr_assert_str_eq(seen[0], "first words");
	cr_assert_str_eq(seen[1], "second words");
	read_chat(b1, seen, 2);
	cr_assert_str_eq(seen[0], "first words");
	cr_assert_str_eq(seen[1], "second words");
	tc_close(a1);
	tc_close(b1);
	ts_stop_all(nodes, 2);
}

/* ---- a TCP proxy that can go silent: a subscription that dies without a word ---------------- */

#define PROXY_PAIRS 16

struct proxy {
	int listen_fd;
	uint16_t port, upstream;
	int fds[PROXY_PAIRS][2]; /* client side, Redis side; -1 when unused */
	bool frozen[PROXY_PAIRS];
	atomic_bool freeze; /* the connections open now stop forwarding, both ways */
	atomic_bool stop;
	pthread_t thread;
};

static void proxy_accept(struct proxy *p)
{
	int c = accept(p->listen_fd, NULL, NULL);
	if (c < 0)
		return;
	int r = ts_dial(p->upstream);
	for (int i = 0; i < PROXY_PAIRS; i++)
		if (p->fds[i][0] < 0) {
			p->fds[i][0] = c;
			p->fds[i][1] = r;
			p->frozen[i] = false;
			return;
		}
	close(c);
	close(r);
}

static void proxy_close(struct proxy *p, int i)
{
	close(p->fds[i][0]);
	close(p->fds[i][1]);
	p->fds[i][0] = p->fds[i][1] = -1;
}

static void *proxy_main(void *arg)
{
	struct proxy *p = arg;
	char buf[65536];
	while (!atomic_load(&p->stop)) {
		if (atomic_exchange(&p->freeze, false))
			for (int i = 0; i < PROXY_PAIRS; i++)
				p->frozen[i] = p->fds[i][0] >= 0;
		struct pollfd pf[1 + 2 * PROXY_PAIRS];
		int n = 0, who[1 + 2 * PROXY_PAIRS];
		pf[n] = (struct pollfd){ .fd = p->listen_fd, .events = POLLIN };
		who[n++] = -1;
		for (int i = 0; i < PROXY_PAIRS; i++)
			for (int k = 0; k < 2 && p->fds[i][0] >= 0 && !p->frozen[i]; k++) {
				pf[n] = (struct pollfd){ .fd = p->fds[i][k], .events = POLLIN };
				who[n++] = i * 2 + k;
			}
		if (poll(pf, (nfds_t)n, 50) <= 0)
			continue;
		for (int j = 0; j < n; j++) {
			if (!(pf[j].revents & (POLLIN | POLLHUP | POLLERR)))
				continue;
			if (who[j] < 0) {
				proxy_accept(p);
				continue;
			}
			int i = who[j] / 2, k = who[j] % 2;
			if (p->fds[i][0] < 0 || p->frozen[i])
				continue;
			ssize_t got = read(p->fds[i][k], buf, sizeof(buf));
			if (got <= 0 || write(p->fds[i][1 - k], buf, (size_t)got) != got)
				proxy_close(p, i);
		}
	}
	for (int i = 0; i < PROXY_PAIRS; i++)
		if (p->fds[i][0] >= 0)
			proxy_close(p, i);
	return NULL;
}

static void proxy_start(struct proxy *p, uint16_t upstream)
{
	memset(p, 0, sizeof(*p));
	p->upstream = upstream;
	for (int i = 0; i < PROXY_PAIRS; i++)
		p->fds[i][0] = p->fds[i][1] = -1;
	p->listen_fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_in a = { .sin_family = AF_INET };
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	socklen_t len = sizeof(a);
	cr_assert_eq(bind(p->listen_fd, (struct sockaddr *)&a, sizeof(a)), 0);
	cr_assert_eq(listen(p->listen_fd, 16), 0);
	cr_assert_eq(getsockname(p->listen_fd, (struct sockaddr *)&a, &len), 0);
	p->port = ntohs(a.sin_port);
	cr_assert_eq(pthread_create(&p->thread, NULL, proxy_main, p), 0);
}

static void proxy_stop(struct proxy *p)
{
	atomic_store(&p->stop, true);
	pthread_join(p->thread, NULL);
	close(p->listen_fd);
}

Test(cluster, a_subscription_that_goes_silent_is_found_by_the_self_probe_and_reopened,
     .timeout = 60)
{
	redis_pid = ts_redis_start(&redis_port, NULL);
	static struct proxy px;
	proxy_start(&px, redis_port);
	struct config cfg = ts_config(2);
	snprintf(cfg.cluster, sizeof(cfg.cluster), "redis://127.0.0.1:%u/test", px.port);
	snprintf(cfg.node_id, sizeof(cfg.node_id), "behind-proxy");
	struct server *nodes[2] = { ts_start(&cfg), start_node("b") };
	wait_links(nodes, 2, true, 5000);
	struct tclient *a1 = join_room(server_port(nodes[0]), "quiet");
	struct tclient *b1 = join_room(server_port(nodes[1]), "quiet");
	wait_subscribed(nodes[0], 4); /* the room, the node's own, control and state channels */
	wait_subscribed(nodes[1], 4);
	wait_room_subscribers("quiet", 2);

	/* the proxied connections stop passing anything: no FIN, no RST, just silence */
	atomic_store(&px.freeze, true);
	struct cluster_stats st;
	for (int i = 0; i < 150; i++) {
		cluster_get_stats(&nodes[0]->hub, &st);
		if (st.probe_failures > 0)
			break;
		usleep(100000);
	}
	cr_assert_gt(st.probe_failures, 0, "the silent subscription was never noticed");
	wait_links(nodes, 2, true, 10000); /* reopened through the proxy */
	wait_subscribed(nodes[0], 4);
	tc_send(b1, "heard again\n");
	char seen[1][64];
	read_chat(a1, seen, 1);
	cr_assert_str_eq(seen[0], "heard again");
	tc_close(a1);
	tc_close(b1);
	ts_stop_all(nodes, 2);
	proxy_stop(&px);
}

/* ---- names, /msg, /who and /rooms across nodes ------------------------------------------------ */

static int64_t clock_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Reads lines until one starts with prefix; fails after 5 s. */
static void expect_prefix(struct tclient *c, const char *prefix)
{
	char line[4096];
	do
		cr_assert_eq(tc_read_line(c, line, sizeof(line), 5000), 1, "no line '%s...'",
			     prefix);
	while (strncmp(line, prefix, strlen(prefix)) != 0);
}

/* A user's generated name (its id, from the welcome line). */
static const char *id_name(const struct tclient *c, char *out, size_t cap)
{
	snprintf(out, cap, "%llu", (unsigned long long)c->name);
	return out;
}

/* Reads the answer to a /nick NAME sent by the user now called `old`: true for
 * "* OLD is now known as NAME." (the room's notice, which the renamer sees too), false for
 * "* error: the name NAME is taken."; other lines are skipped. Fails after 5 s. */
static bool nick_answer(struct tclient *c, const char *old, const char *name)
{
	char renamed[160], taken[160], line[4096];
	snprintf(renamed, sizeof(renamed), "* %s is now known as %s.", old, name);
	snprintf(taken, sizeof(taken), "* error: the name %s is taken.", name);
	for (int64_t deadline = clock_ms() + 5000;;) {
		int left = (int)(deadline - clock_ms());
		cr_assert_eq(tc_read_line(c, line, sizeof(line), left > 0 ? left : 0), 1,
			     "no answer to %s's /nick %s", old, name);
		if (strcmp(line, renamed) == 0)
			return true;
		if (strcmp(line, taken) == 0)
			return false;
	}
}

static void nick_send(struct tclient *c, const char *name)
{
	char cmd[96];
	snprintf(cmd, sizeof(cmd), "/nick %s\n", name);
	tc_send(c, cmd);
}

/* /nick NAME as the user now called `old`: true when renamed, false when taken. */
static bool nick(struct tclient *c, const char *old, const char *name)
{
	nick_send(c, name);
	return nick_answer(c, old, name);
}

/* /nick NAME until it succeeds (a name another node frees a moment later); fails after 5 s. */
static void nick_eventually(struct tclient *c, const char *old, const char *name)
{
	for (int64_t deadline = clock_ms() + 5000; !nick(c, old, name);) {
		cr_assert_lt(clock_ms(), deadline, "the name %s was never free for %s", name, old);
		usleep(50000);
	}
}

/* Whether line is a /who answer for room listing exactly the n names of want, in any order:
 * "* 2 users in dev: alice, bob". */
static bool who_lists(const char *line, const char *room, const char *const *want, int n)
{
	long members;
	int end = 0;
	char head[96];
	snprintf(head, sizeof(head), " in %s: ", room);
	const char *names = strstr(line, head);
	if (sscanf(line, "* %ld user%n", &members, &end) != 1 || end == 0 || names == NULL ||
	    members != n)
		return false;
	char copy[4096];
	snprintf(copy, sizeof(copy), "%s", names + strlen(head));
	unsigned seen = 0;
	char *save = NULL;
	for (char *tok = strtok_r(copy, ", ", &save); tok != NULL;
	     tok = strtok_r(NULL, ", ", &save)) {
		int i = 0;
		while (i < n && (strcmp(tok, want[i]) != 0 || (seen & (1u << i))))
			i++;
		if (i == n)
			return false;
		seen |= 1u << i;
	}
	return seen == (1u << n) - 1;
}

/* Sends /who until the answer lists exactly want[0..n) in room (membership travels through
 * Redis asynchronously); fails after 5 s with the last answer. */
static void wait_who(struct tclient *c, const char *room, const char *const *want, int n)
{
	char line[4096] = "(none)";
	for (int64_t deadline = clock_ms() + 5000;;) {
		tc_send(c, "/who\n");
		for (;;) { /* its answer, skipping notices and chat */
			int end = 0;
			long members;
			cr_assert_eq(tc_read_line(c, line, sizeof(line), 5000), 1,
				     "no /who answer");
			if (sscanf(line, "* %ld user%n", &members, &end) == 1 && end > 0)
				break;
		}
		if (who_lists(line, room, want, n))
			return;
		cr_assert_lt(clock_ms(), deadline, "/who in %s still answers: %s", room, line);
		usleep(100000);
	}
}

/* Reads one /rooms answer; true when it lists room[i] with count[i] members for each i
 * (other rooms may be listed too). The answer is kept in `answer` for the failure message. */
static bool rooms_answer(struct tclient *c, const char *const *room, const long *count, int n,
			 char *answer, size_t cap)
{
	char line[512];
	long rooms = -1;
	int end = 0;
	while (end == 0) { /* the head, "* 2 rooms:" */
		cr_assert_eq(tc_read_line(c, line, sizeof(line), 5000), 1, "no /rooms answer");
		if (sscanf(line, "* %ld room%n", &rooms, &end) != 1)
			end = 0;
	}
	snprintf(answer, cap, "%s", line);
	unsigned found = 0;
	for (long k = 0; k < rooms;) {
		cr_assert_eq(tc_read_line(c, line, sizeof(line), 5000), 1, "a short /rooms answer");
		char name[128];
		long members;
		if (strncmp(line, "*   ", 4) != 0 ||
		    sscanf(line + 4, "%127s %ld", name, &members) != 2)
			continue; /* a notice said in between */
		k++;
		size_t used = strlen(answer);
		snprintf(answer + used, cap - used, " | %s", line + 4);
		for (int i = 0; i < n; i++)
			if (strcmp(name, room[i]) == 0 && members == count[i])
				found |= 1u << i;
	}
	return found == (1u << n) - 1;
}

/* Sends /rooms until its answer lists room[i] with count[i] members for each i; fails after
 * 5 s. */
static void wait_rooms(struct tclient *c, const char *const *room, const long *count, int n)
{
	char answer[2048];
	for (int64_t deadline = clock_ms() + 5000;;) {
		tc_send(c, "/rooms\n");
		if (rooms_answer(c, room, count, n, answer, sizeof(answer)))
			return;
		cr_assert_lt(clock_ms(), deadline, "/rooms still answers: %s", answer);
		usleep(100000);
	}
}

#define RACES 3

Test(cluster, a_name_is_held_by_one_user_across_nodes_one_racer_wins_and_a_quit_frees_it,
     .timeout = 60)
{
	redis_pid = ts_redis_start(&redis_port, NULL);
	struct server *nodes[2] = { start_node("a"), start_node("b") };
	wait_links(nodes, 2, true, 5000);
	/* generated names: no node gives one the other gave */
	struct tclient *users[2][3];
	char names[2][3][32];
	for (int i = 0; i < 2; i++)
		for (int j = 0; j < 3; j++) {
			users[i][j] = tc_join(server_port(nodes[i]));
			id_name(users[i][j], names[i][j], sizeof(names[i][j]));
		}
	for (int j = 0; j < 3; j++)
		for (int k = 0; k < 3; k++)
			cr_assert_neq(users[0][j]->name, users[1][k]->name,
				      "both nodes gave out the name %llu",
				      (unsigned long long)users[0][j]->name);
	/* a generated name already held on another node (claimed here straight in Redis, as a
	 * node does: PREFIX:name:FOLDED, name_fold's): its user is renamed to a guest name */
	struct tredis *rd = tr_connect(redis_port);
	unsigned long long next = users[0][2]->name + 1;
	for (unsigned long long k = next; k < next + 8; k++) {
		char key[64], value[96], id[32], folded[32];
		int n = snprintf(id, sizeof(id), "%llu", k);
		name_fold(id, (size_t)n, folded); /* look-alikes fold: 1 like l, 0 like o */
		snprintf(key, sizeof(key), "test:name:%.*s", n, folded);
		snprintf(value, sizeof(value), "elsewhere 1 0 %llu", k);
		tr_expect_str(TR_COMMAND(rd, "SET", key, value, "EX", "60"), "OK");
	}
	tr_close(rd);
	struct tclient *dup = tc_join(server_port(nodes[0]));
	cr_assert(dup->name >= next && dup->name < next + 8, "ids %llu then %llu on one node",
		  next - 1, (unsigned long long)dup->name);
	char lost[128];
	snprintf(lost, sizeof(lost),
		 "* The name %llu is taken on another server: you are now guest",
		 (unsigned long long)dup->name);
	expect_prefix(dup, lost);
	tc_close(dup);

	/* taken on the other node, in any case */
	struct tclient *a1 = users[0][0], *b1 = users[1][0];
	cr_assert(nick(a1, names[0][0], "bob"), "bob is free");
	snprintf(names[0][0], sizeof(names[0][0]), "bob");
	cr_assert_not(nick(b1, names[1][0], "bob"), "bob is a user of node a");
	cr_assert_not(nick(b1, names[1][0], "BOB"), "names fold case across nodes");

	/* two users on two nodes ask for one name at the same moment: exactly one gets it */
	int winner = -1, loser = -1;
	char race[32] = "";
	for (int r = 0; r < RACES; r++) {
		struct tclient *racer[2] = { users[0][1], users[1][1] };
		snprintf(race, sizeof(race), "sameName%d", r);
		nick_send(racer[0], race);
		nick_send(racer[1], race);
		bool won[2] = { nick_answer(racer[0], names[0][1], race),
				nick_answer(racer[1], names[1][1], race) };
		cr_assert_neq(won[0], won[1], "race %d: %s", r,
			      won[0] ? "both users got the name" : "neither user got the name");
		winner = won[0] ? 0 : 1;
		loser = 1 - winner;
		snprintf(names[winner][1], sizeof(names[winner][1]), "%s", race);
	}

	/* the last winner quits: the name is free for the loser on the other node */
	tc_send(users[winner][1], "/quit\n");
	tc_expect_closed(users[winner][1], 5000);
	nick_eventually(users[loser][1], names[loser][1], race);

	for (int i = 0; i < 2; i++)
		tc_close_all(users[i], 3);
	ts_stop_all(nodes, 2);
}

/* Reads from users[0] and users[1] in turn until one gets a line starting with prefix;
 * returns which (its line in out); fails after timeout_ms. */
static int first_to_hear(struct tclient **users, const char *prefix, char *out, size_t cap,
			 int timeout_ms)
{
	for (int64_t deadline = clock_ms() + timeout_ms; clock_ms() < deadline;)
		for (int i = 0; i < 2; i++)
			while (tc_read_line(users[i], out, cap, 20) == 1)
				if (strncmp(out, prefix, strlen(prefix)) == 0)
					return i;
	cr_assert_fail("nobody was told '%s...' within %d ms", prefix, timeout_ms);
	return -1;
}

Test(cluster,
     a_name_taken_on_two_nodes_while_redis_was_away_is_kept_by_one_the_other_becomes_a_guest,
     .timeout = 60)
{
	redis_pid = ts_redis_start(&redis_port, NULL);
	struct server *nodes[2] = { start_node("a"), start_node("b") };
	wait_links(nodes, 2, true, 5000);
	struct tclient *users[2] = { join_room(server_port(nodes[0]), "dev"),
				     join_room(server_port(nodes[1]), "dev") };
	struct tclient *watchers[2] = { join_room(server_port(nodes[0]), "dev"),
					join_room(server_port(nodes[1]), "dev") };
	wait_subscribed(nodes[0], 4);
	wait_subscribed(nodes[1], 4);

	stop_redis(); /* and with it every name claimed (no persistence) */
	wait_links(nodes, 2, false, 5000);
	for (int i = 0; i < 2; i++) {
		char old[32];
		cr_assert(nick(users[i], id_name(users[i], old, sizeof(old)), "bob"),
			  "node %d: /nick works locally while the link is down", i);
	}

	redis_pid = ts_redis_start_on(redis_port, NULL);
	wait_links(nodes, 2, true, 5000);
	/* each node claims its users' names again: one of the two bobs loses */
	static const char told[] = "* The name bob is taken on another server: you are now ";
	char line[4096];
	int loser = first_to_hear(users, told, line, sizeof(line), 10000);
	int winner = 1 - loser;
	char guest[64];
	size_t len = strlen(line + strlen(told));
	cr_assert(len > 1 && len < sizeof(guest) && line[strlen(line) - 1] == '.', "%s", line);
	snprintf(guest, sizeof(guest), "%.*s", (int)(len - 1), line + strlen(told));
	cr_assert(strncmp(guest, "guest", 5) == 0 && guest[5] != '\0' &&
		      strspn(guest + 5, "0123456789") == strlen(guest + 5),
		  "not a guest name: %s", line);
	char notice[160];
	snprintf(notice, sizeof(notice), "* bob is now known as %s.", guest);
	tc_expect_eventually(watchers[loser], notice, 5000);

	/* the other one is still bob, everywhere, and was told nothing of the kind */
	cr_assert_not(nick(users[loser], guest, "bob"), "bob is still held on node %d", winner);
	tc_send(users[winner], "still bob here\n");
	for (;;) {
		cr_assert_eq(tc_read_line(users[winner], line, sizeof(line), 5000), 1,
			     "the winner's line never came back");
		cr_assert(strncmp(line, told, strlen(told)) != 0, "both were renamed: %s", line);
		if (strcmp(line, "bob:still bob here") == 0)
			break;
	}
	tc_expect_eventually(watchers[loser], "bob:still bob here", 5000);
	tc_close_all(users, 2);
	tc_close_all(watchers, 2);
	ts_stop_all(nodes, 2);
}

Test(cluster, a_private_message_reaches_a_user_on_another_node_by_any_spelling_of_the_name,
     .timeout = 60)
{
	redis_pid = ts_redis_start(&redis_port, NULL);
	struct server *nodes[2] = { start_node("a"), start_node("b") };
	wait_links(nodes, 2, true, 5000);
	struct tclient *alice = tc_join(server_port(nodes[0]));
	struct tclient *bob = tc_join(server_port(nodes[1]));
	struct tclient *carol = tc_join(server_port(nodes[1]));
	char old[32];
	cr_assert(nick(alice, id_name(alice, old, sizeof(old)), "alice"));
	cr_assert(nick(bob, id_name(bob, old, sizeof(old)), "bob"));

	tc_send(alice, "/msg bob hi there\n");
	tc_expect_eventually(bob, "(private) alice:hi there", 5000);
	tc_expect_eventually(alice, "* to bob: hi there", 5000);
	/* the name folds; the echo shows it as its holder spelled it */
	tc_send(alice, "/msg BOB case folded\n");
	tc_expect_eventually(bob, "(private) alice:case folded", 5000);
	tc_expect_eventually(alice, "* to bob: case folded", 5000);
	tc_send(bob, "/msg alice and back\n");
	tc_expect_eventually(alice, "(private) bob:and back", 5000);
	tc_expect_eventually(bob, "* to alice: and back", 5000);
	/* a generated name is a name like any other */
	char cmd[96], echo[96];
	snprintf(cmd, sizeof(cmd), "/msg %s by number\n", id_name(carol, old, sizeof(old)));
	snprintf(echo, sizeof(echo), "* to %s: by number", old);
	tc_send(alice, cmd);
	tc_expect_eventually(carol, "(private) alice:by number", 5000);
	tc_expect_eventually(alice, echo, 5000);

	tc_send(alice, "/msg nobody x\n");
	tc_expect_eventually(alice, "* error: no such user: \"nobody\".", 5000);
	tc_close(alice);
	tc_close(bob);
	tc_close(carol);
	ts_stop_all(nodes, 2);
}

Test(cluster, who_and_rooms_show_the_members_of_every_node, .timeout = 60)
{
	redis_pid = ts_redis_start(&redis_port, NULL);
	struct server *nodes[2] = { start_node("a"), start_node("b") };
	wait_links(nodes, 2, true, 5000);
	/* dev: one user on each node; ops: one on a, two on b */
	struct tclient *users[5] = {
		join_room(server_port(nodes[0]), "dev"), join_room(server_port(nodes[1]), "dev"),
		join_room(server_port(nodes[0]), "ops"), join_room(server_port(nodes[1]), "ops"),
		join_room(server_port(nodes[1]), "ops"),
	};
	char names[5][32];
	const char *name[5];
	for (int i = 0; i < 5; i++)
		name[i] = id_name(users[i], names[i], sizeof(names[i]));

	wait_who(users[0], "dev", (const char *const[]){ name[0], name[1] }, 2);
	wait_who(users[1], "dev", (const char *const[]){ name[0], name[1] }, 2);
	wait_who(users[2], "ops", (const char *const[]){ name[2], name[3], name[4] }, 3);
	static const char *const rooms[] = { "dev", "ops" };
	wait_rooms(users[0], rooms, (const long[]){ 2, 3 }, 2);
	wait_rooms(users[3], rooms, (const long[]){ 2, 3 }, 2);

	/* a user of b moves from ops to dev: both listings follow, on both nodes */
	tc_send(users[4], "/join dev\n");
	expect_prefix(users[4], "* You are now in dev.");
	wait_who(users[0], "dev", (const char *const[]){ name[0], name[1], name[4] }, 3);
	wait_who(users[2], "ops", (const char *const[]){ name[2], name[3] }, 2);
	wait_rooms(users[2], rooms, (const long[]){ 3, 2 }, 2);
	tc_close_all(users, 5);
	ts_stop_all(nodes, 2);
}

/* ---- a node killed -------------------------------------------------------------------------- */

/* Waits until GET /healthz on the admin port answers 200: the node's link is up (5 s). */
static void wait_healthy(uint16_t admin)
{
	char answer[512];
	for (int64_t deadline = clock_ms() + 5000;
	     ts_http(admin, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n", answer, sizeof(answer)) !=
	     200;) {
		cr_assert_lt(clock_ms(), deadline, "the node's link never came up: %s", answer);
		usleep(20000);
	}
}

Test(cluster, a_node_killed_with_sigkill_is_gone_from_the_other_nodes_within_10_s, .timeout = 60)
{
	redis_pid = ts_redis_start(&redis_port, NULL);
	struct server *nodes[2] = { start_node("a"), start_node("b") };
	wait_links(nodes, 2, true, 5000);
	char url[96];
	snprintf(url, sizeof(url), "redis://127.0.0.1:%u/test", redis_port);
	const char *args[] = { "--cluster", url, "--node-id", "c", "--workers", "1", NULL };
	tp_start(&node_proc, args);
	wait_healthy(node_proc.admin);

	struct tclient *alice = join_room(server_port(nodes[0]), "dev");
	struct tclient *bob = join_room(server_port(nodes[1]), "dev");
	struct tclient *carol = join_room(node_proc.port, "dev");
	char a[32], b[32], c[32];
	id_name(alice, a, sizeof(a));
	id_name(bob, b, sizeof(b));
	cr_assert(nick(carol, id_name(carol, c, sizeof(c)), "carol"));
	wait_who(alice, "dev", (const char *const[]){ a, b, "carol" }, 3);
	wait_who(bob, "dev", (const char *const[]){ a, b, "carol" }, 3);

	int64_t t0 = clock_ms();
	cr_assert_eq(kill(node_proc.pid, SIGKILL), 0);
	tp_stop(&node_proc); /* reaped */
	static const char gone[] = "* carol has left (\"server gone\").";
	tc_expect_eventually(alice, gone, 20000);
	int64_t took = clock_ms() - t0;
	tc_expect_eventually(bob, gone, 5000);
	cr_log_info("the other nodes saw node c gone %lld ms after its SIGKILL", (long long)took);
	/* the issue says within 10 s; 2 s more for a busy machine */
	cr_assert_leq(took, 12000, "node c's users left %lld ms after its SIGKILL",
		      (long long)took);
	wait_who(alice, "dev", (const char *const[]){ a, b }, 2);
	wait_who(bob, "dev", (const char *const[]){ a, b }, 2);
	nick_eventually(bob, b, "carol"); /* the dead node's names are free */
	tc_close(alice);
	tc_close(bob);
	tc_close(carol);
	ts_stop_all(nodes, 2);
}

/* ---- the queue to Redis is bounded ---------------------------------------------------------- */

#define CONGESTED                                                                      \
	"* error: your line did not reach the other servers (the link is congested); " \
	"say it again later."

/* The value of a counter or gauge on the admin port's /metrics page. */
static unsigned long long metric(uint16_t admin, const char *name)
{
	static char page[65536];
	cr_assert_eq(ts_http(admin, "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n", page, sizeof(page)),
		     200);
	char key[96];
	snprintf(key, sizeof(key), "\n%s ", name);
	const char *at = strstr(page, key);
	cr_assert_not_null(at, "no %s in /metrics", name);
	return strtoull(at + strlen(key), NULL, 10);
}

Test(cluster,
     a_line_the_full_queue_to_a_frozen_redis_cannot_take_is_dropped_counted_and_its_sender_told,
     .timeout = 60)
{
	redis_pid = ts_redis_start(&redis_port, NULL);
	struct config cfg = ts_config(2);
	snprintf(cfg.cluster, sizeof(cfg.cluster), "redis://127.0.0.1:%u/test", redis_port);
	snprintf(cfg.node_id, sizeof(cfg.node_id), "a");
	snprintf(cfg.admin, sizeof(cfg.admin), "127.0.0.1:0");
	cfg.max_outbuf = 4096; /* the smallest: the queue to Redis holds 2 KiB */
	cfg.rate_limit = 0;    /* as fast as the user sends */
	struct server *node = ts_start(&cfg);
	wait_links(&node, 1, true, 5000);
	struct tclient *c = join_room(server_port(node), "flood");
	wait_subscribed(node, 3);

	/* Redis stops reading: once the sockets' buffers are full, the queue fills. Lines near
	 * --max-line, as fast as the node takes them, until the first refusal; within the
	 * self-probe's ~4 s, after which the link is reopened (and lines go local). */
	cr_assert_eq(kill(redis_pid, SIGSTOP), 0);
	static char text[4000];
	memset(text, 'x', sizeof(text) - 1);
	text[sizeof(text) - 1] = '\n';
	size_t off = 0, lines = 0;
	bool told = false;
	char line[4096], last[4096] = "(none)";
	for (int64_t deadline = clock_ms() + 3500; !told && clock_ms() < deadline;) {
		struct pollfd pf = { .fd = c->fd, .events = POLLIN | POLLOUT };
		cr_assert_geq(poll(&pf, 1, 10), 0);
		ssize_t n = 0;
		if (pf.revents & POLLOUT)
			n = send(c->fd, text + off, sizeof(text) - off,
				 MSG_DONTWAIT | MSG_NOSIGNAL);
		if (n > 0) {
			off += (size_t)n;
			lines += off == sizeof(text);
			off %= sizeof(text);
		}
		int r;
		while (!told && (r = tc_read_line(c, line, sizeof(line), 0)) == 1) {
			told = strcmp(line, CONGESTED) == 0;
			snprintf(last, sizeof(last), "%.200s", line);
		}
		cr_assert_neq(r, 0, "disconnected after %zu lines; last line: %s", lines, last);
	}
	kill(redis_pid, SIGCONT);
	cr_assert(told, "no refusal after %zu lines of %zu bytes; last line: %s", lines,
		  sizeof(text), last);
	cr_assert_gt(metric(server_admin_port(node), "chatd_cluster_dropped_total"), 0);
	tc_close(c);
	ts_stop(node);
}

/* ---- issue 14 across nodes: sign-in and history ------------------------------------------- */

static const char cluster_key[] = "cluster-test-key-0123456789abcdef0123456789";

/* An HS256 token for name, valid for ten minutes, signed with cluster_key. */
static const char *cluster_token(const char *name, char *out, size_t cap)
{
	char payload[128], head[64], body[256];
	static const char header[] = "{\"alg\":\"HS256\"}";
	snprintf(payload, sizeof(payload), "{\"sub\":\"%s\",\"exp\":%lld}", name,
		 (long long)time(NULL) + 600);
	size_t hn = base64url_encode((const uint8_t *)header, strlen(header), head);
	size_t bn = base64url_encode((const uint8_t *)payload, strlen(payload), body);
	int n = snprintf(out, cap, "%.*s.%.*s", (int)hn, head, (int)bn, body);
	uint8_t mac[32];
	hmac_sha256((const uint8_t *)cluster_key, strlen(cluster_key), out, (size_t)n, mac);
	out[n++] = '.';
	n += (int)base64url_encode(mac, sizeof(mac), out + n);
	out[n] = '\0';
	return out;
}

Test(cluster, signing_in_takes_the_name_from_a_guest_on_another_node, .timeout = 60)
{
	redis_pid = ts_redis_start(&redis_port, NULL);
	char path[] = "/tmp/chatd-ckey-XXXXXX";
	int fd = mkstemp(path);
	cr_assert_eq(write(fd, cluster_key, strlen(cluster_key)), (ssize_t)strlen(cluster_key));
	close(fd);
	struct server *nodes[2];
	for (int i = 0; i < 2; i++) {
		struct config cfg = ts_config(2);
		snprintf(cfg.cluster, sizeof(cfg.cluster), "redis://127.0.0.1:%u/test", redis_port);
		snprintf(cfg.node_id, sizeof(cfg.node_id), "%s", i == 0 ? "a" : "b");
		snprintf(cfg.admin, sizeof(cfg.admin), "127.0.0.1:0");
		snprintf(cfg.auth_secret, sizeof(cfg.auth_secret), "%s", path);
		nodes[i] = ts_start(&cfg);
	}
	unlink(path);
	wait_links(nodes, 2, true, 5000);
	struct tclient *guest = tc_join(server_port(nodes[0]));
	struct tclient *real = tc_join(server_port(nodes[1]));
	char old[32], token[512], cmd[600];
	cr_assert(nick(guest, id_name(guest, old, sizeof(old)), "alice"));
	snprintf(cmd, sizeof(cmd), "/auth %s\n", cluster_token("alice", token, sizeof(token)));
	tc_send(real, cmd);
	tc_expect_eventually(real, "* You are signed in as alice.", 5000);
	expect_prefix(guest, "* The name alice belongs to a signed-in user: you are now guest");
	/* and the name is the signed-in user's everywhere: a guest cannot take it back */
	struct tclient *other = tc_join(server_port(nodes[0]));
	cr_assert_not(nick(other, id_name(other, old, sizeof(old)), "alice"));
	tc_close(guest);
	tc_close(real);
	tc_close(other);
	ts_stop_all(nodes, 2);
}

Test(cluster, two_nodes_show_a_newcomer_the_same_history, .timeout = 60)
{
	redis_pid = ts_redis_start(&redis_port, NULL);
	struct server *nodes[2] = { start_node("a"), start_node("b") };
	wait_links(nodes, 2, true, 5000);
	struct tclient *a = tc_join(server_port(nodes[0]));
	struct tclient *b = tc_join(server_port(nodes[1]));
	wait_room_subscribers("lobby", 2);
	char said[64];
	for (int i = 0; i < 6; i++) {
		snprintf(said, sizeof(said), "line %d\n", i);
		tc_send(i % 2 ? b : a, said);
		snprintf(said, sizeof(said), ":line %d", i);
		/* both nodes have every line before the next is said */
		char line[256];
		for (int k = 0; k < 2; k++) {
			struct tclient *c = k ? b : a;
			do
				cr_assert_eq(tc_read_line(c, line, sizeof(line), 5000), 1);
			while (strstr(line, said) == NULL);
		}
	}
	char seen[2][6][128];
	for (int k = 0; k < 2; k++) {
		struct tclient *late = tc_join(server_port(nodes[k]));
		expect_prefix(late, "* Last 6 lines in lobby:");
		for (int i = 0; i < 6; i++) {
			cr_assert_eq(tc_read_line(late, seen[k][i], sizeof(seen[k][i]), 5000), 1);
			memmove(seen[k][i], seen[k][i] + strlen("[00:00:00] "),
				strlen(seen[k][i]) - strlen("[00:00:00] ") + 1);
		}
		tc_expect(late, "* (end of history)");
		tc_close(late);
	}
	for (int i = 0; i < 6; i++)
		cr_assert_str_eq(seen[0][i], seen[1][i], "line %d differs between the nodes", i);
	tc_close(a);
	tc_close(b);
	ts_stop_all(nodes, 2);
}

/* ---- history kept in Redis (issue 14) ------------------------------------------------------ */

#define STAMP_LEN (sizeof("[00:00:00] ") - 1)

/* Sends "line FIRST" .. "line LAST-1" from c, and reads each back on c (it went through
 * Redis). */
static void say_lines(struct tclient *c, int first, int last)
{
	for (int i = first; i < last; i++) {
		char said[64], line[256];
		snprintf(said, sizeof(said), "line %d\n", i);
		tc_send(c, said);
		snprintf(said, sizeof(said), ":line %d", i);
		do
			cr_assert_eq(tc_read_line(c, line, sizeof(line), 5000), 1, "no %s", said);
		while (strstr(line, said) == NULL);
	}
}

/* Reads a history block of `want` lines of room (lines before its head are skipped), each
 * line into lines[] without its time stamp; fails after 5 s. */
static void read_history(struct tclient *c, const char *room, char lines[][128], int want)
{
	char head[96];
	snprintf(head, sizeof(head), "* Last %d lines in %s:", want, room);
	expect_prefix(c, head);
	for (int i = 0; i < want; i++) {
		char line[128 + STAMP_LEN];
		cr_assert_eq(tc_read_line(c, line, sizeof(line), 5000), 1);
		cr_assert(line[0] == '[' && strlen(line) > STAMP_LEN, "not a history line: %s",
			  line);
		memcpy(lines[i], line + STAMP_LEN, strlen(line + STAMP_LEN) + 1);
	}
	tc_expect(c, "* (end of history)");
}

Test(cluster, a_node_started_later_shows_a_newcomer_the_history_said_before_it, .timeout = 60)
{
	redis_pid = ts_redis_start(&redis_port, NULL);
	struct server *nodes[2] = { start_node("a"), NULL };
	wait_links(nodes, 1, true, 5000);
	struct tclient *a = join_room(server_port(nodes[0]), "dev");
	say_lines(a, 0, 6);
	/* node b starts after the lines were said: it never saw them */
	nodes[1] = start_node("b");
	wait_links(nodes, 2, true, 5000);
	char seen[2][6][128];
	struct tclient *late[2];
	for (int k = 0; k < 2; k++) {
		late[k] = join_room(server_port(nodes[k]), "dev");
		read_history(late[k], "dev", seen[k], 6);
	}
	for (int i = 0; i < 6; i++) {
		char said[32];
		snprintf(said, sizeof(said), ":line %d", i);
		cr_assert_not_null(strstr(seen[0][i], said), "line %d on a: %s", i, seen[0][i]);
		cr_assert_str_eq(seen[1][i], seen[0][i], "line %d differs between the nodes", i);
	}
	/* then the live lines, none of the history's again */
	tc_send(a, "line 6\n");
	for (int k = 0; k < 2; k++) {
		char got[1][64];
		read_chat(late[k], got, 1);
		cr_assert_str_eq(got[0], "line 6", "newcomer on node %c", 'a' + k);
	}
	tc_close_all(late, 2);
	tc_close(a);
	ts_stop_all(nodes, 2);
}

#define BUSY_BEFORE  10 /* lines said before anyone of node b enters */
#define BUSY_LINES   90 /* in all (every one fits in the history: --history 100) */
#define BUSY_JOINERS 6

/* Reads what a newcomer of room "busy" gets until "line LAST": the history block's lines and
 * the live lines, as the numbers of "line N" in the order they came. Returns how many. */
static int read_busy(struct tclient *c, int *got, int last)
{
	int n = 0;
	for (char line[256]; n == 0 || got[n - 1] != last;) {
		cr_assert_eq(tc_read_line(c, line, sizeof(line), 5000), 1, "after %d lines", n);
		const char *said = strstr(line, ":line ");
		if (line[0] == '*' || said == NULL)
			continue;
		cr_assert_lt(n, BUSY_LINES * 2, "too many lines");
		got[n++] = atoi(said + strlen(":line "));
	}
	return n;
}

Test(cluster, lines_said_while_a_newcomers_history_is_on_its_way_are_neither_lost_nor_repeated,
     .timeout = 60)
{
	redis_pid = ts_redis_start(&redis_port, NULL);
	struct server *nodes[2] = { start_node("a"), start_node("b") };
	wait_links(nodes, 2, true, 5000);
	struct tclient *sender = join_room(server_port(nodes[0]), "busy");
	say_lines(sender, 0, BUSY_BEFORE);
	/* users enter "busy" on node b (new to it: its history comes from Redis) while the
	 * sender keeps talking on node a */
	struct tclient *late[BUSY_JOINERS];
	int next = BUSY_BEFORE;
	for (int j = 0; j < BUSY_JOINERS; j++) {
		late[j] = tc_join(server_port(nodes[1]));
		tc_send(late[j], "/join busy\n");
		/* a burst at once, then a line now and then */
		char burst[8 * 16];
		size_t len = 0;
		for (int k = 0; k < 6 && next < BUSY_LINES; k++, next++)
			len +=
			    (size_t)snprintf(burst + len, sizeof(burst) - len, "line %d\n", next);
		tc_send(sender, burst);
		for (int k = 0; k < 4 && next < BUSY_LINES; k++, next++) {
			usleep(300);
			char said[32];
			snprintf(said, sizeof(said), "line %d\n", next);
			tc_send(sender, said);
		}
	}
	for (; next < BUSY_LINES; next++) {
		char said[32];
		snprintf(said, sizeof(said), "line %d\n", next);
		tc_send(sender, said);
	}
	for (int j = 0; j < BUSY_JOINERS; j++) {
		int got[BUSY_LINES * 2];
		int n = read_busy(late[j], got, BUSY_LINES - 1);
		for (int i = 0; i < n; i++)
			cr_assert_eq(got[i], i, "newcomer %d: line %d of what it got is line %d", j,
				     i, got[i]);
		cr_assert_eq(n, BUSY_LINES, "newcomer %d", j);
	}
	tc_close_all(late, BUSY_JOINERS);
	tc_close(sender);
	ts_stop_all(nodes, 2);
}

/* A stream entry's field (XREVRANGE's [id, [field, value, ...]]), or fails. */
static const struct resp_node *entry_field(const struct resp_node *entry, const char *name)
{
	cr_assert(entry->type == RESP_ARRAY && entry->n == 2, "a stream entry");
	const struct resp_node *f = resp_child(entry, 1);
	for (uint32_t i = 0; i + 1 < f->n; i += 2)
		if (resp_is(resp_child(f, i), name))
			return resp_child(f, i + 1);
	cr_assert_fail("no field %s", name);
	return NULL;
}

static long long entry_number(const struct resp_node *entry, const char *name)
{
	const struct resp_node *v = entry_field(entry, name);
	char text[32];
	snprintf(text, sizeof(text), "%.*s", (int)v->len, v->str);
	return atoll(text);
}

#define CAPPED_HISTORY 5
#define CAPPED_LINES   150

Test(cluster, a_rooms_history_in_redis_is_a_capped_stream_of_what_users_said, .timeout = 60)
{
	redis_pid = ts_redis_start(&redis_port, NULL);
	struct server *node = start_node_history("a", CAPPED_HISTORY);
	wait_links(&node, 1, true, 5000);
	struct tclient *a = tc_join(server_port(node));
	wait_room_subscribers("lobby", 1);
	static char burst[CAPPED_LINES * 16];
	size_t len = 0;
	for (int i = 0; i < CAPPED_LINES; i++)
		len += (size_t)snprintf(burst + len, sizeof(burst) - len, "line %d\n", i);
	tc_send(a, burst);
	char said[64];
	snprintf(said, sizeof(said), "%llu:line %d", (unsigned long long)a->name, CAPPED_LINES - 1);
	tc_expect_eventually(a, said, 5000);
	/* a notice takes a number of the room's but no place in the stream; an action does */
	struct tclient *b = tc_join(server_port(node));
	char entered[64];
	snprintf(entered, sizeof(entered), "* %llu has entered.", (unsigned long long)b->name);
	tc_expect_eventually(a, entered, 5000);
	tc_send(a, "/me waves\nlast line\n");
	snprintf(said, sizeof(said), "%llu:last line", (unsigned long long)a->name);
	tc_expect_eventually(a, said, 5000);

	struct tredis *r = tr_connect(redis_port);
	const struct resp_node *n = TR_COMMAND(r, "XLEN", "test:hist:lobby");
	cr_assert_eq(n->type, RESP_INTEGER);
	/* MAXLEN ~: Redis trims whole nodes of the stream (stream-node-max-entries, 100) */
	cr_assert(n->integer >= CAPPED_HISTORY && n->integer <= CAPPED_HISTORY + 100,
		  "%lld entries for --history %d", (long long)n->integer, CAPPED_HISTORY);
	n = TR_COMMAND(r, "XREVRANGE", "test:hist:lobby", "+", "-", "COUNT", "3");
	cr_assert(n->type == RESP_ARRAY && n->n == 3, "the newest 3 entries");
	char want[3][64];
	snprintf(want[0], sizeof(want[0]), "%llu:last line\n", (unsigned long long)a->name);
	snprintf(want[1], sizeof(want[1]), "+ %llu waves\n", (unsigned long long)a->name);
	snprintf(want[2], sizeof(want[2]), "%llu:line %d\n", (unsigned long long)a->name,
		 CAPPED_LINES - 1);
	for (int i = 0; i < 3; i++)
		tr_expect_str(entry_field(resp_child(n, (uint32_t)i), "line"), want[i]);
	long long seq[3];
	for (int i = 0; i < 3; i++)
		seq[i] = entry_number(resp_child(n, (uint32_t)i), "seq");
	cr_assert_eq(seq[0], seq[1] + 1);
	cr_assert_eq(seq[1], seq[2] + 2, "the entered notice between them has its number");
	long long ms = entry_number(resp_child(n, 0), "time");
	struct timespec now;
	clock_gettime(CLOCK_REALTIME, &now);
	long long now_ms = (long long)now.tv_sec * 1000 + now.tv_nsec / 1000000;
	cr_assert(ms > now_ms - 60000 && ms <= now_ms + 1000, "said at %lld, now %lld", ms, now_ms);
	n = TR_COMMAND(r, "TTL", "test:hist:lobby");
	cr_assert(n->type == RESP_INTEGER && n->integer > 0 && n->integer <= 30,
		  "the stream expires like the room's members: TTL %lld", (long long)n->integer);
	tr_close(r);
	tc_close(b);
	tc_close(a);
	ts_stop(node);
}

Test(cluster, a_room_whose_history_cannot_be_read_from_redis_still_gets_every_line, .timeout = 60)
{
	redis_pid = ts_redis_start(&redis_port, NULL);
	/* a Redis user that may do everything but EVAL: the reads of rooms' histories fail */
	struct tredis *r = tr_connect(redis_port);
	tr_expect_str(
	    TR_COMMAND(r, "ACL", "SETUSER", "chatd", "on", ">secret", "~*", "&*", "+@all", "-eval"),
	    "OK");
	tr_close(r);
	struct config cfg = ts_config(2);
	snprintf(cfg.cluster, sizeof(cfg.cluster), "redis://chatd:secret@127.0.0.1:%u/test",
		 redis_port);
	snprintf(cfg.node_id, sizeof(cfg.node_id), "a");
	struct server *node = ts_start(&cfg);
	wait_links(&node, 1, true, 5000);
	struct tclient *a = join_room(server_port(node), "quiet");
	struct tclient *b = join_room(server_port(node), "quiet");
	say_lines(a, 0, 3);
	char got[3][64];
	read_chat(b, got, 3);
	for (int i = 0; i < 3; i++) {
		char want[24];
		snprintf(want, sizeof(want), "line %d", i);
		cr_assert_str_eq(got[i], want);
	}
	struct cluster_stats st;
	cluster_get_stats(&node->hub, &st);
	cr_assert_geq(st.seeds_failed, 1, "the failed read is counted");
	tc_close(b);
	tc_close(a);
	ts_stop(node);
}

Test(cluster, newcomers_on_4_workers_get_a_rooms_history_from_redis_and_every_line_once,
     .timeout = 60)
{
	/* the scenario of stress.c, which make tsan runs too */
	const char *err = stress_cluster_history(4, 12, 60);
	cr_assert_null(err, "%s", err);
}

/* The operators' API of node a (its admin listener, no token: loopback). */
static int admin_call(struct server *srv, const char *method, const char *path, char *out,
		      size_t cap)
{
	char req[512];
	snprintf(req, sizeof(req), "%s %s HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n", method,
		 path);
	return ts_http(server_admin_port(srv), req, out, cap);
}

Test(cluster, a_kick_and_a_ban_made_on_one_node_apply_on_every_node, .timeout = 60)
{
	redis_pid = ts_redis_start(&redis_port, NULL);
	struct server *nodes[2] = { start_node("a"), start_node("b") };
	wait_links(nodes, 2, true, 5000);
	wait_subscribed(nodes[0], 3); /* its own, the control and the state channels */
	wait_subscribed(nodes[1], 3);
	struct tclient *bob = tc_join(server_port(nodes[1]));
	struct tclient *eve = tc_join_from("127.0.0.7", server_port(nodes[1]));
	char old[32], out[2048];
	cr_assert(nick(bob, id_name(bob, old, sizeof(old)), "bob"));
	/* bob is on b; the kick is asked of a */
	cr_assert_eq(admin_call(nodes[0], "POST", "/kick?name=bob&reason=spam", out, sizeof(out)),
		     202, "%s", out);
	tc_expect_eventually(bob, "* You were removed by an operator: spam.", 5000);
	tc_expect_closed(bob, 5000);
	/* a ban made on a reaches b: its user from there is removed, newcomers refused */
	cr_assert_eq(
	    admin_call(nodes[0], "POST", "/ban?target=127.0.0.7&reason=abuse", out, sizeof(out)),
	    201, "%s", out);
	tc_expect_eventually(eve, "* error: you are banned from this server: abuse.", 5000);
	struct tclient *again = tc_adopt(ts_dial_from("127.0.0.7", server_port(nodes[1])));
	tc_expect(again, "* error: you are banned from this server: abuse.");
	cr_assert_eq(admin_call(nodes[1], "GET", "/bans", out, sizeof(out)), 200);
	cr_assert(strstr(out, "\"target\":\"127.0.0.7\"") != NULL, "%s", out);
	/* lifted on a, lifted on b */
	cr_assert_eq(admin_call(nodes[0], "DELETE", "/bans/1", out, sizeof(out)), 200, "%s", out);
	for (int i = 0; i < 100; i++) {
		cr_assert_eq(admin_call(nodes[1], "GET", "/bans", out, sizeof(out)), 200);
		if (strstr(out, "127.0.0.7") == NULL)
			break;
		usleep(20000);
	}
	cr_assert(strstr(out, "127.0.0.7") == NULL, "still banned on b: %s", out);
	tc_close_all((struct tclient *[]){ bob, eve, again }, 3);
	ts_stop_all(nodes, 2);
}

/* The next text message of c. */
static void wc_next_text(struct wsclient *c, char *out, size_t cap)
{
	size_t len;
	cr_assert_eq(wc_read(c, out, cap - 1, &len), 1, "no message");
	out[len] = '\0';
}

Test(cluster, resuming_in_a_room_new_to_the_node_gets_the_lines_after_its_number, .timeout = 60)
{
	redis_pid = ts_redis_start(&redis_port, NULL);
	struct server *nodes[2] = { start_node("a"), start_node("b") };
	wait_links(nodes, 2, true, 5000);
	/* a phone (the JSON feed) in dev on node a sees lines 1 and 2, with their numbers */
	struct wsclient *phone =
	    wc_open_req(ts_dial(server_port(nodes[0])),
			"GET /ws?format=json&room=dev HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n"
			"Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
			"Sec-WebSocket-Version: 13\r\n\r\n");
	struct tclient *a = join_room(server_port(nodes[0]), "dev");
	say_lines(a, 1, 6);
	char text[512];
	unsigned long long seq = 0;
	do
		wc_next_text(phone, text, sizeof(text));
	while (strstr(text, "\"text\":\"line 2\"") == NULL);
	const char *at = strstr(text, "\"seq\":");
	cr_assert_not_null(at, "%s", text);
	seq = strtoull(at + 6, NULL, 10);
	wc_free(phone);
	/* it comes back through node b, where dev is new, having seen line 2 */
	char req[512];
	snprintf(req, sizeof(req),
		 "GET /ws?room=dev&since=%llu HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n"
		 "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
		 "Sec-WebSocket-Version: 13\r\n\r\n",
		 seq);
	int fd = ts_dial(server_port(nodes[1]));
	struct wsclient *w = wc_open_req(fd, req);
	do
		wc_next_text(w, text, sizeof(text));
	while (strncmp(text, "* Last ", 7) != 0 && strstr(text, "away") == NULL);
	cr_assert_str_eq(text, "* Last 3 lines in dev:", "no gap, the 3 it missed: %s", text);
	for (int i = 3; i <= 5; i++) {
		char want[32];
		wc_next_text(w, text, sizeof(text));
		snprintf(want, sizeof(want), ":line %d", i);
		cr_assert(strstr(text, want) != NULL, "line %d: %s", i, text);
	}
	wc_next_text(w, text, sizeof(text));
	cr_assert_str_eq(text, "* (end of history)");
	wc_free(w);
	tc_close(a);
	ts_stop_all(nodes, 2);
}

/* ---- rooms' state across nodes (docs/cluster.md, "Room state") ------------------------------ */

/* Waits until srv applied `want` changes of rooms' state that came through Redis. */
static void wait_state(struct server *srv, uint64_t want)
{
	for (int i = 0; i < 500; i++) {
		struct cluster_stats st;
		cluster_get_stats(&srv->hub, &st);
		if (st.state_changes >= want)
			return;
		usleep(10000);
	}
	cr_assert_fail("the node never applied %llu changes of rooms' state",
		       (unsigned long long)want);
}

/* Two nodes a and b, linked; alice on a founds room `room` (b learns of it). */
static struct tclient *rooms_start(struct server **nodes, const char *room)
{
	redis_pid = ts_redis_start(&redis_port, NULL);
	nodes[0] = start_node("a");
	nodes[1] = start_node("b");
	wait_links(nodes, 2, true, 5000);
	struct tclient *alice = tc_join(server_port(nodes[0]));
	char old[32];
	cr_assert(nick(alice, id_name(alice, old, sizeof(old)), "alice"));
	char cmd[64], answer[96];
	snprintf(cmd, sizeof(cmd), "/join %s\n", room);
	tc_send(alice, cmd);
	snprintf(answer, sizeof(answer), "* You are now in %s.", room);
	expect_prefix(alice, answer);
	return alice;
}

/* A user of node srv called name, in the lobby. */
static struct tclient *user_on(struct server *srv, const char *name)
{
	struct tclient *c = tc_join(server_port(srv));
	char old[32];
	cr_assert(nick(c, id_name(c, old, sizeof(old)), name));
	return c;
}

/* c asks to join room (with key, or NULL) and gets want (a prefix), skipping other lines. */
static void join_expect(struct tclient *c, const char *room, const char *key, const char *want)
{
	char cmd[96];
	snprintf(cmd, sizeof(cmd), "/join %s%s%s\n", room, key ? " " : "", key ? key : "");
	tc_send(c, cmd);
	expect_prefix(c, want);
}

Test(cluster, a_key_set_on_one_node_keeps_out_a_user_of_another_without_it, .timeout = 60)
{
	struct server *nodes[2];
	struct tclient *alice = rooms_start(nodes, "vault");
	tc_send(alice, "/key sesame\n");
	tc_expect_eventually(alice, "* alice sets mode +k in vault.", 5000);
	wait_state(nodes[1], 2); /* founded, then the key */
	struct tclient *bob = user_on(nodes[1], "bob");
	join_expect(bob, "vault", NULL, "* error: vault has a key (+k)");
	join_expect(bob, "vault", "wrong", "* error: vault has a key (+k)");
	join_expect(bob, "vault", "sesame", "* You are now in vault.");
	tc_close_all((struct tclient *[]){ alice, bob }, 2);
	ts_stop_all(nodes, 2);
}

Test(cluster, a_ban_set_on_one_node_keeps_out_a_user_of_another, .timeout = 60)
{
	struct server *nodes[2];
	struct tclient *alice = rooms_start(nodes, "club");
	tc_send(alice, "/ban bob\n");
	tc_expect_eventually(alice, "* alice sets mode +b bob in club.", 5000);
	wait_state(nodes[1], 2);
	struct tclient *bob = user_on(nodes[1], "bob");
	join_expect(bob, "club", NULL, "* error: you are banned from club.");
	tc_close_all((struct tclient *[]){ alice, bob }, 2);
	ts_stop_all(nodes, 2);
}

Test(cluster, a_topic_set_on_one_node_is_shown_to_a_user_entering_on_another, .timeout = 60)
{
	struct server *nodes[2];
	struct tclient *alice = rooms_start(nodes, "news");
	tc_send(alice, "/topic release on friday\n");
	tc_expect_eventually(alice, "* alice set the topic of news: release on friday", 5000);
	wait_state(nodes[1], 2);
	struct tclient *bob = user_on(nodes[1], "bob");
	join_expect(bob, "news", NULL, "* You are now in news.");
	tc_expect_eventually(bob, "* Topic of news: release on friday (set by alice)", 5000);
	tc_close_all((struct tclient *[]){ alice, bob }, 2);
	ts_stop_all(nodes, 2);
}

Test(cluster, a_secret_room_is_listed_by_rooms_to_its_members_only, .timeout = 60)
{
	struct server *nodes[2];
	struct tclient *alice = rooms_start(nodes, "hid");
	tc_send(alice, "/mode +s\n");
	tc_expect_eventually(alice, "* alice sets mode +s in hid.", 5000);
	wait_state(nodes[1], 2);
	struct tclient *bob = user_on(nodes[1], "bob");
	const char *lobby[] = { "lobby" }, *hid[] = { "hid" };
	const long one[] = { 1 };
	wait_rooms(bob, lobby, one, 1); /* bob is counted: the answer is the cluster's */
	char answer[2048];
	tc_send(bob, "/rooms\n");
	cr_assert(rooms_answer(bob, lobby, one, 1, answer, sizeof(answer)), "%s", answer);
	cr_assert_null(strstr(answer, "hid"), "an outsider is shown the secret room: %s", answer);
	wait_rooms(alice, hid, one, 1);
	tc_close_all((struct tclient *[]){ alice, bob }, 2);
	ts_stop_all(nodes, 2);
}

Test(cluster, an_invitation_from_one_node_lets_a_user_of_another_into_an_invite_only_room,
     .timeout = 60)
{
	struct server *nodes[2];
	struct tclient *alice = rooms_start(nodes, "inner");
	tc_send(alice, "/mode +i\n");
	tc_expect_eventually(alice, "* alice sets mode +i in inner.", 5000);
	wait_state(nodes[1], 2);
	struct tclient *bob = user_on(nodes[1], "bob");
	join_expect(bob, "inner", NULL, "* error: inner is invite only (+i)");
	tc_send(alice, "/invite bob\n");
	tc_expect_eventually(alice, "* bob is invited to inner.", 5000);
	wait_state(nodes[1], 3);
	join_expect(bob, "inner", NULL, "* You are now in inner.");
	tc_close_all((struct tclient *[]){ alice, bob }, 2);
	ts_stop_all(nodes, 2);
}

/* bob of node b in alice's room (a), both told: alice hears bob come in. */
static struct tclient *bob_in(struct server **nodes, struct tclient *alice, const char *room)
{
	struct tclient *bob = user_on(nodes[1], "bob");
	char answer[96];
	snprintf(answer, sizeof(answer), "* You are now in %s.", room);
	join_expect(bob, room, NULL, answer);
	tc_expect_eventually(alice, "* bob has entered.", 5000);
	return bob;
}

Test(cluster, moderated_on_one_node_silences_a_user_of_another_until_voiced_from_it, .timeout = 60)
{
	struct server *nodes[2];
	struct tclient *alice = rooms_start(nodes, "stage");
	struct tclient *bob = bob_in(nodes, alice, "stage");
	tc_send(alice, "/mode +m\n");
	tc_expect_eventually(bob, "* alice sets mode +m in stage.", 5000);
	tc_send(bob, "may I?\n");
	expect_prefix(bob, "* error: stage is moderated (+m)");
	tc_send(alice, "/voice bob\n");
	tc_expect_eventually(bob, "* alice sets mode +v bob in stage.", 5000);
	tc_send(bob, "thank you\n");
	tc_expect_eventually(alice, "bob:thank you", 5000);
	tc_close_all((struct tclient *[]){ alice, bob }, 2);
	ts_stop_all(nodes, 2);
}

Test(cluster, an_operator_made_on_one_node_runs_the_room_from_another, .timeout = 60)
{
	struct server *nodes[2];
	struct tclient *alice = rooms_start(nodes, "desk");
	struct tclient *bob = bob_in(nodes, alice, "desk");
	tc_send(bob, "/topic mine now\n");
	tc_expect_eventually(bob, "* error: you are not an operator of desk.", 5000);
	tc_send(alice, "/op bob\n");
	tc_expect_eventually(bob, "* alice sets mode +o bob in desk.", 5000);
	tc_send(bob, "/topic mine now\n");
	tc_expect_eventually(alice, "* bob set the topic of desk: mine now", 5000);
	tc_close_all((struct tclient *[]){ alice, bob }, 2);
	ts_stop_all(nodes, 2);
}

Test(cluster, a_kick_from_one_node_puts_a_user_of_another_out_of_the_room, .timeout = 60)
{
	struct server *nodes[2];
	struct tclient *alice = rooms_start(nodes, "bar");
	struct tclient *bob = bob_in(nodes, alice, "bar");
	tc_send(alice, "/kick bob too loud\n");
	tc_expect_eventually(bob, "* You were kicked from bar by alice (too loud).", 5000);
	tc_expect_eventually(alice, "* alice kicked bob from bar (too loud).", 5000);
	tc_send(alice, "/kick nobody\n");
	tc_expect_eventually(alice, "* error: no such member in bar: nobody.", 5000);
	tc_close_all((struct tclient *[]){ alice, bob }, 2);
	ts_stop_all(nodes, 2);
}

Test(cluster, a_user_entering_on_another_node_a_room_that_exists_is_not_its_operator, .timeout = 60)
{
	struct server *nodes[2];
	struct tclient *alice = rooms_start(nodes, "hall");
	wait_state(nodes[1], 1); /* b knows hall was founded on a */
	struct tclient *bob = user_on(nodes[1], "bob");
	join_expect(bob, "hall", NULL, "* You are now in hall.");
	tc_send(bob, "/key mine\n");
	tc_expect_eventually(bob, "* error: you are not an operator of hall.", 5000);
	tc_close_all((struct tclient *[]){ alice, bob }, 2);
	ts_stop_all(nodes, 2);
}

Test(cluster, a_node_started_later_knows_the_state_of_the_rooms_before_it, .timeout = 60)
{
	redis_pid = ts_redis_start(&redis_port, NULL);
	struct server *nodes[2] = { start_node("a"), NULL };
	wait_links(nodes, 1, true, 5000);
	struct tclient *alice = user_on(nodes[0], "alice");
	join_expect(alice, "safe", NULL, "* You are now in safe.");
	tc_send(alice, "/key sesame\n");
	tc_expect_eventually(alice, "* alice sets mode +k in safe.", 5000);
	wait_state(nodes[0], 2);
	nodes[1] = start_node("b");
	wait_links(nodes, 2, true, 5000);
	struct tclient *bob = user_on(nodes[1], "bob");
	join_expect(bob, "safe", NULL, "* error: safe has a key (+k)");
	join_expect(bob, "safe", "sesame", "* You are now in safe.");
	tc_close_all((struct tclient *[]){ alice, bob }, 2);
	ts_stop_all(nodes, 2);
}

Test(cluster, a_limit_counts_the_members_of_every_node, .timeout = 60)
{
	struct server *nodes[2];
	struct tclient *alice = rooms_start(nodes, "booth");
	tc_send(alice, "/limit 2\n");
	tc_expect_eventually(alice, "* alice sets mode +l 2 in booth.", 5000);
	struct tclient *bob = bob_in(nodes, alice, "booth");
	wait_state(nodes[1], 4); /* founded, the limit, the count with it, the count with bob */
	struct tclient *carol = user_on(nodes[1], "carol");
	join_expect(carol, "booth", NULL, "* error: booth is full (+l).");
	tc_close_all((struct tclient *[]){ alice, bob, carol }, 3);
	ts_stop_all(nodes, 2);
}

Test(cluster, a_change_of_a_room_is_refused_while_the_link_is_down, .timeout = 60)
{
	redis_pid = ts_redis_start(&redis_port, NULL);
	struct server *node = start_node("a");
	wait_links(&node, 1, true, 5000);
	struct tclient *alice = user_on(node, "alice");
	join_expect(alice, "den", NULL, "* You are now in den.");
	stop_redis();
	wait_links(&node, 1, false, 5000);
	tc_send(alice, "/key sesame\n");
	expect_prefix(alice, "* error: this server is cut off from the other servers: the room's "
			     "settings cannot be changed now; try again later.");
	tc_send(alice, "/mode\n"); /* looking is fine */
	expect_prefix(alice, "* Modes of den: +tn.");
	tc_close(alice);
	ts_stop(node);
}

Test(cluster, an_invitation_used_on_one_node_is_used_up_on_every_node, .timeout = 60)
{
	struct server *nodes[2];
	struct tclient *alice = rooms_start(nodes, "vip");
	tc_send(alice, "/mode +i\n");
	tc_expect_eventually(alice, "* alice sets mode +i in vip.", 5000);
	tc_send(alice, "/invite Bob\n");
	tc_expect_eventually(alice, "* Bob is invited to vip.", 5000);
	struct tclient *bob = bob_in(nodes, alice, "vip");
	wait_state(nodes[1], 4); /* founded, +i, the invitation, the invitation used */
	join_expect(bob, "lobby", NULL, "* You are now in lobby.");
	tc_expect_eventually(alice, "* bob has left.", 5000);
	join_expect(bob, "vip", NULL, "* error: vip is invite only (+i)");
	tc_close_all((struct tclient *[]){ alice, bob }, 2);
	ts_stop_all(nodes, 2);
}

Test(cluster, a_ban_set_on_one_node_puts_out_a_matching_member_of_another, .timeout = 60)
{
	struct server *nodes[2];
	struct tclient *alice = rooms_start(nodes, "pub");
	struct tclient *bob = bob_in(nodes, alice, "pub");
	tc_send(alice, "/ban bob\n");
	tc_expect_eventually(bob, "* You were kicked from pub by alice (banned).", 5000);
	join_expect(bob, "pub", NULL, "* error: you are banned from pub.");
	tc_close_all((struct tclient *[]){ alice, bob }, 2);
	ts_stop_all(nodes, 2);
}

Test(cluster, a_room_whose_last_members_were_on_a_dead_node_ends_with_its_state, .timeout = 60)
{
	redis_pid = ts_redis_start(&redis_port, NULL);
	struct server *node = start_node("a");
	wait_links(&node, 1, true, 5000);
	char url[96];
	snprintf(url, sizeof(url), "redis://127.0.0.1:%u/test", redis_port);
	const char *args[] = { "--cluster", url, "--node-id", "c", "--workers", "1", NULL };
	tp_start(&node_proc, args);
	wait_healthy(node_proc.admin);
	struct tclient *carol = tc_join(node_proc.port);
	char old[32];
	cr_assert(nick(carol, id_name(carol, old, sizeof(old)), "carol"));
	join_expect(carol, "lair", NULL, "* You are now in lair.");
	tc_send(carol, "/key sesame\n");
	tc_expect_eventually(carol, "* carol sets mode +k in lair.", 5000);
	wait_state(node, 2);
	cr_assert_eq(kill(node_proc.pid, SIGKILL), 0);
	tp_stop(&node_proc);    /* reaped */
	for (int i = 0;; i++) { /* the room ends within 8 s (a dead node's users leave) */
		struct cluster_stats st;
		cluster_get_stats(&node->hub, &st);
		if (st.state_changes >= 3)
			break;
		cr_assert_lt(i, 2000, "lair never ended");
		usleep(10000);
	}
	struct tclient *bob = user_on(node, "bob");
	join_expect(bob, "lair", NULL, "* You are now in lair.");
	tc_send(bob, "/key mine\n");
	tc_expect_eventually(bob, "* bob sets mode +k in lair.", 5000);
	tc_close_all((struct tclient *[]){ carol, bob }, 2);
	ts_stop(node);
}

/* Reads an IRC connection until a line has `want` in it; fails after 5 s. */
static void irc_wait_for(struct tclient *c, const char *want)
{
	char line[512];
	for (;;) {
		cr_assert_eq(tc_read_line(c, line, sizeof(line), 5000), 1, "waiting for %s", want);
		if (strstr(line, want) != NULL)
			return;
	}
}

Test(cluster, an_irc_user_in_two_channels_speaks_in_each_across_nodes, .timeout = 60)
{
	redis_pid = ts_redis_start(&redis_port, NULL);
	struct config cfg = ts_config(2);
	snprintf(cfg.cluster, sizeof(cfg.cluster), "redis://127.0.0.1:%u/test", redis_port);
	snprintf(cfg.node_id, sizeof(cfg.node_id), "a");
	cfg.irc_port = 0;
	struct server *nodes[2] = { ts_start(&cfg), start_node("b") };
	wait_links(nodes, 2, true, 5000);
	struct tclient *lobby = tc_join(server_port(nodes[1]));
	struct tclient *dev = join_room(server_port(nodes[1]), "dev");
	struct tclient *irc = tc_connect(server_irc_port(nodes[0]));
	tc_send(irc, "NICK ada\r\nUSER ada 0 * :Ada\r\n");
	irc_wait_for(irc, " #lobby :End of /NAMES list");
	tc_send(irc, "JOIN #dev\r\n");
	irc_wait_for(irc, " #dev :End of /NAMES list");
	wait_room_subscribers("lobby", 2);
	wait_room_subscribers("dev", 2);
	tc_send(irc, "PRIVMSG #dev :in dev\r\nPRIVMSG #lobby :in lobby\r\n");
	char got[1][64];
	read_chat(lobby, got, 1);
	cr_assert_str_eq(got[0], "in lobby", "the lobby gets the lobby's line only");
	read_chat(dev, got, 1);
	cr_assert_str_eq(got[0], "in dev");
	tc_close(irc);
	tc_close(lobby);
	tc_close(dev);
	ts_stop_all(nodes, 2); /* together: messages between them count as live until both stop */
}
