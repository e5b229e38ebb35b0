/*
 * test_cluster.c - several chatd nodes as one chat through a real redis-server (--cluster):
 * one room across nodes in one order on every node with each sender's lines in order, and the
 * link surviving Redis being killed and restarted on its port (local chat never stops, users
 * are told, cross-node chat comes back, /healthz says 503 meanwhile).
 *
 * Each test starts its own redis-server on a free loopback port and in-process chatd nodes;
 * the .fini stops Redis whatever happened.
 */
#include "cluster.h"
#include "server.h"
#include "testlib.h"

#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/socket.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define NODES_MAX 3

static int redis_pid = -1;
static uint16_t redis_port;

static void stop_redis(void)
{
	ts_redis_stop(redis_pid);
	redis_pid = -1;
}

TestSuite(cluster, .fini = stop_redis);

static struct server *start_node(const char *id)
{
	struct config cfg = ts_config(2);
	snprintf(cfg.cluster, sizeof(cfg.cluster), "redis://127.0.0.1:%u/test", redis_port);
	snprintf(cfg.node_id, sizeof(cfg.node_id), "%s", id);
	snprintf(cfg.admin, sizeof(cfg.admin), "127.0.0.1:0");
	return ts_start(&cfg);
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

/* Waits until Redis confirmed `want` subscriptions of the node: its own channel, and its
 * users' rooms. */
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
		wait_subscribed(nodes[i], 2);
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
	wait_subscribed(nodes[0], 2);
	wait_subscribed(nodes[1], 2);
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
	wait_subscribed(nodes[0], 2);
	wait_subscribed(nodes[1], 2);

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
	wait_subscribed(nodes[0], 2);
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
	wait_subscribed(nodes[1], 2);
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
	wait_subscribed(nodes[0], 2); /* the room and the node's own channel */
	wait_subscribed(nodes[1], 2);

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
	wait_subscribed(nodes[0], 2);
	tc_send(b1, "heard again\n");
	char seen[1][64];
	read_chat(a1, seen, 1);
	cr_assert_str_eq(seen[0], "heard again");
	tc_close(a1);
	tc_close(b1);
	ts_stop_all(nodes, 2);
	proxy_stop(&px);
}
