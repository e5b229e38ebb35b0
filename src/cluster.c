/*
 * cluster.c - see cluster.h and docs/cluster.md.
 *
 * Wire formats (every key and channel starts with the URL's PREFIX and ':'):
 *   room channel    PREFIX:room:NAME, carrying "SEQ NODE EXCLUDE LINE" (LINE ends in \n;
 *                   EXCLUDE is a connection id on NODE that must not get it, or 0)
 *   room sequence   PREFIX:seq:NAME, incremented by the publish script
 */
#include "cluster.h"
#include "common.h"
#include "directory.h"
#include "log.h"
#include "map.h"
#include "msg.h"
#include "proto.h"
#include "resp.h"
#include "route.h"
#include "sha1.h"
#include "timer.h"
#include "worker.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <ctype.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define LINK_WORKER    0     /* the worker that owns the link */
#define BACKOFF_MIN_MS 100   /* first retry after the link went down */
#define BACKOFF_MAX_MS 5000  /* retries never wait longer than this */
#define LINK_NODES     64    /* nodes of one parsed reply (pub/sub messages need 4) */
#define BEAT_MS        2000  /* heartbeat, peers and self-probe period */
#define ALIVE_MS       10000 /* a node not heard from for this long is gone */
#define PROBES_MISSED  2     /* self-probes not back: the subscription is dead */

/* INCR the room's sequence number, PUBLISH the line with it: one order for every node. */
static const char publish_script[] = "local seq = redis.call('INCR', KEYS[1])\n"
				     "redis.call('PUBLISH', KEYS[2], seq .. ' ' .. ARGV[1])\n"
				     "return seq\n";

/* Every BEAT_MS, with Redis's clock: this node is alive now; forget nodes silent for a
 * minute; return the nodes heard from within ALIVE_MS (ARGV[2]). */
static const char beat_script[] =
    "local t = redis.call('TIME')\n"
    "local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)\n"
    "redis.call('ZADD', KEYS[1], now, ARGV[1])\n"
    "redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - 60000)\n"
    "return redis.call('ZRANGEBYSCORE', KEYS[1], now - tonumber(ARGV[2]), '+inf')\n";

/* What a command connection's reply answers: replies come in the order of the commands. */
enum cmd_kind { CMD_HELLO, CMD_LOAD, CMD_PUBLISH, CMD_BEAT, CMD_PROBE };

struct pending {
	uint8_t kind;    /* enum cmd_kind */
	int64_t sent_us; /* CMD_PUBLISH: for the publish latency */
};

/* What an uplink message asks of the link worker (msg.target). */
enum uplink_op { UPLINK_PUBLISH = 1, UPLINK_SUBSCRIBE, UPLINK_UNSUBSCRIBE };

/* One of the two connections to Redis. */
struct link_conn {
	struct conn *c; /* NULL while closed */
	char *in;       /* bytes read and not yet parsed: the reply being read */
	size_t len;
	struct resp_parser parser;
	struct resp_node nodes[LINK_NODES];
	bool ready; /* its HELLO was answered */
};

/* A room this node has members in, on how many of its workers. */
struct subscription {
	char name[ROOM_MAX_LEN + 1]; /* folded to lower case: the channel's spelling */
	uint32_t workers;
	/* the room its lines are delivered to, with a reference: taken again at every subscribe
	 * event, so a room emptied and made anew under the same name is followed */
	struct room *room;
	struct subscription *hash_next; /* subscriptions whose names hash alike */
	/* Redis confirmed the SUBSCRIBE. Until then this node would miss the room's lines (the
	 * command connection may overtake the subscriber), so lines said meanwhile are held in
	 * `held` as records "EXCLUDE LEN\n" + the line, and published at the confirmation. */
	bool confirmed;
	char *held;
	size_t held_len;
};

struct cluster {
	struct worker *w; /* the link worker */
	struct redis_url url;
	char node_id[64];
	struct sockaddr_storage addr;
	socklen_t addr_len;
	char sha[2 * SHA1_DIGEST_LEN + 1];      /* the publish script's */
	char beat_sha[2 * SHA1_DIGEST_LEN + 1]; /* the heartbeat script's */
	char node_channel[160];                 /* PREFIX:node:ID: self-probes (and, later, /msg) */
	struct pending *pend;                   /* ring of the command connection's replies due */
	size_t pend_head, pend_count, pend_cap;
	struct timer beat;   /* TIMER_BEAT: the next heartbeat and self-probe */
	uint64_t probe_sent; /* self-probes published on this connection */
	uint64_t probe_seen; /* the last one back on the subscriber */
	struct link_conn sub, cmd;
	size_t in_max;        /* a reply longer than this closes the link */
	size_t queue_max;     /* bytes queued for the command connection */
	uint32_t sub_pending; /* subscriptions sent and not yet confirmed */
	struct map subs;      /* map_hash_name(name) -> chain of struct subscription */
	size_t nsubs;
	int backoff_ms;
	struct timer retry; /* TIMER_CLUSTER: the next connection attempt */
	bool was_up;        /* the link has been up: users are told when it goes */
	bool stopping;
	_Atomic bool up;
	_Atomic uint64_t subscriptions;
	_Atomic uint64_t peers; /* other nodes heard from within ALIVE_MS */
	_Atomic uint64_t publish_us_sum, publish_count, publish_us_max;
#define CLUSTER_COUNTER_FIELD(name, help) _Atomic uint64_t name;
	CLUSTER_COUNTERS(CLUSTER_COUNTER_FIELD)
#undef CLUSTER_COUNTER_FIELD
};

static struct subscription *sub_find(struct cluster *cl, const char *name, size_t n);
static void sub_release(struct cluster *cl, struct subscription *s, bool up);
static void sub_unconfirm(struct cluster *cl, struct subscription *s);
static void sub_resubscribe(struct cluster *cl, struct subscription *s);

/* Calls fn for every subscription (fn must not add or remove any). */
static void subs_each(struct cluster *cl, void (*fn)(struct cluster *, struct subscription *))
{
	size_t pos = 0;
	uint64_t key;
	void *v;
	while (map_next(&cl->subs, &pos, &key, &v))
		for (struct subscription *s = v; s != NULL; s = s->hash_next)
			fn(cl, s);
}

static void count(_Atomic uint64_t *counter)
{
	atomic_fetch_add_explicit(counter, 1, memory_order_relaxed);
}

/* ---- commands --------------------------------------------------------------------------------- */

/* Queues a command on lc. False when it could not be (no memory: the link is cut). */
static bool link_send(struct cluster *cl, struct link_conn *lc, size_t argc,
		      const struct resp_arg *argv)
{
	if (lc->c == NULL)
		return false;
	size_t n = resp_command_len(argc, argv);
	struct msg *m = msg_new(n, 1);
	if (m == NULL) {
		worker_close_conn(cl->w, lc->c, CLOSE_NOMEM);
		return false;
	}
	resp_write_command(m->data, argc, argv);
	m->raw = true;
	route_send_msg(cl->w, lc->c, m);
	return true;
}

static int pend_grow(struct cluster *cl)
{
	size_t cap = cl->pend_cap ? cl->pend_cap * 2 : 64;
	struct pending *p = malloc(cap * sizeof(*p));
	if (p == NULL)
		return -ENOMEM;
	for (size_t i = 0; i < cl->pend_count; i++)
		p[i] = cl->pend[(cl->pend_head + i) % cl->pend_cap];
	free(cl->pend);
	cl->pend = p;
	cl->pend_cap = cap;
	cl->pend_head = 0;
	return 0;
}

/* Queues a command on the command connection and notes what its reply will answer. */
static bool cmd_send(struct cluster *cl, enum cmd_kind kind, size_t argc,
		     const struct resp_arg *argv)
{
	if (cl->cmd.c == NULL)
		return false;
	if (cl->pend_count == cl->pend_cap && pend_grow(cl) < 0) {
		worker_close_conn(cl->w, cl->cmd.c, CLOSE_NOMEM);
		return false;
	}
	if (!link_send(cl, &cl->cmd, argc, argv))
		return false;
	cl->pend[(cl->pend_head + cl->pend_count++) % cl->pend_cap] =
	    (struct pending){ (uint8_t)kind, kind == CMD_PUBLISH ? clock_now_us() : 0 };
	return true;
}

/* HELLO 3 with the credentials and a client name, first on each connection. */
static void link_hello(struct cluster *cl, struct link_conn *lc, const char *role)
{
	char name[96];
	snprintf(name, sizeof(name), "chatd-%s-%s", role, cl->node_id);
	struct resp_arg argv[7] = { RESP_ARG_LIT("HELLO"), RESP_ARG_LIT("3") };
	size_t argc = 2;
	if (cl->url.password[0] != '\0') {
		argv[argc++] = RESP_ARG_LIT("AUTH");
		argv[argc++] = resp_arg_str(cl->url.user[0] != '\0' ? cl->url.user : "default");
		argv[argc++] = resp_arg_str(cl->url.password);
	}
	argv[argc++] = RESP_ARG_LIT("SETNAME");
	argv[argc++] = resp_arg_str(name);
	if (lc == &cl->cmd)
		cmd_send(cl, CMD_HELLO, argc, argv);
	else
		link_send(cl, lc, argc, argv);
}

/* PREFIX:KIND:ROOM, the room's name folded to lower case: room names are case-insensitive,
 * so every spelling of one room is one channel. */
static size_t channel_of(const struct cluster *cl, const char *kind, const char *room, char *out,
			 size_t cap)
{
	int n = snprintf(out, cap, "%s:%s:", cl->url.prefix, kind);
	size_t len = strlen(room);
	if (n < 0 || (size_t)n + len >= cap)
		return 0;
	for (size_t i = 0; i <= len; i++)
		out[(size_t)n + i] = (char)tolower((unsigned char)room[i]);
	return (size_t)n + len;
}

static void link_subscribe(struct cluster *cl, const char *room, bool on)
{
	char channel[sizeof(cl->url.prefix) + ROOM_MAX_LEN + 8];
	size_t n = channel_of(cl, "room", room, channel, sizeof(channel));
	struct resp_arg argv[2] = { on ? RESP_ARG_LIT("SUBSCRIBE") : RESP_ARG_LIT("UNSUBSCRIBE"),
				    { channel, n } };
	if (link_send(cl, &cl->sub, 2, argv) && on)
		cl->sub_pending++;
}

/* ---- the link's state --------------------------------------------------------------------- */

/* A line from proto.c to every user of the node. */
static void tell_everyone(struct cluster *cl, size_t (*word)(char *, size_t))
{
	char line[PROTO_LINE_MAX];
	size_t n = word(line, sizeof(line));
	struct msg *m = route_msg_new(cl->w, n, false);
	if (m == NULL)
		return;
	memcpy(m->data, line, n);
	route_publish_all(cl->w, m);
}

static void link_check_up(struct cluster *cl)
{
	if (atomic_load_explicit(&cl->up, memory_order_relaxed) || !cl->sub.ready ||
	    !cl->cmd.ready || cl->sub_pending > 0)
		return;
	/* release: pairs with the acquire in cluster_publish_room (nothing else is published
	 * through it, but a worker that sees the link up should see it with its subscriptions) */
	atomic_store_explicit(&cl->up, true, memory_order_release);
	cl->backoff_ms = BACKOFF_MIN_MS;
	timer_arm(&cl->w->timers, &cl->beat, TIMER_BEAT, cl->w->now_ms); /* beat at once */
	log_info((int)cl->w->index, 0, "cluster: link to Redis %s:%d is up (node %s, %zu rooms)",
		 cl->url.host, cl->url.port, cl->node_id, cl->nsubs);
	if (cl->was_up)
		tell_everyone(cl, proto_cluster_back);
	cl->was_up = true;
}

static void link_retry_later(struct cluster *cl)
{
	if (cl->stopping || timer_armed(&cl->retry))
		return;
	timer_arm(&cl->w->timers, &cl->retry, TIMER_CLUSTER, cl->w->now_ms + cl->backoff_ms);
	cl->backoff_ms = cl->backoff_ms * 2 < BACKOFF_MAX_MS ? cl->backoff_ms * 2 : BACKOFF_MAX_MS;
}

/* One of the connections closed: the other goes too, users are told once, and the link is
 * opened again later. */
static void link_down(struct cluster *cl)
{
	timer_stop(&cl->beat);
	atomic_store_explicit(&cl->peers, 0, memory_order_relaxed);
	subs_each(cl, sub_unconfirm);
	if (cl->sub.c != NULL)
		worker_close_conn(cl->w, cl->sub.c, CLOSE_RESET);
	if (cl->cmd.c != NULL)
		worker_close_conn(cl->w, cl->cmd.c, CLOSE_RESET);
	bool stopping = cl->stopping || cl->w->shutting_down;
	if (atomic_load_explicit(&cl->up, memory_order_relaxed)) {
		atomic_store_explicit(&cl->up, false, memory_order_relaxed);
		if (stopping) {
			log_info((int)cl->w->index, 0, "cluster: link to Redis closed");
		} else {
			log_warn((int)cl->w->index, 0,
				 "cluster: link to Redis %s:%d is down; lines reach this node only "
				 "until it is back",
				 cl->url.host, cl->url.port);
			tell_everyone(cl, proto_cluster_down);
		}
	}
	link_retry_later(cl);
}

static int link_open(struct cluster *cl, struct link_conn *lc, const struct conn_ops *ops)
{
	int fd = socket(cl->addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	int one = 1;
	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (connect(fd, (struct sockaddr *)&cl->addr, cl->addr_len) < 0 && errno != EINPROGRESS) {
		int rc = -errno;
		close(fd);
		return rc;
	}
	struct conn *c = worker_connect(cl->w, fd, ops);
	if (c == NULL) {
		int rc = -errno;
		close(fd);
		return rc;
	}
	lc->c = c;
	lc->len = 0;
	lc->ready = false;
	resp_parser_reset(&lc->parser);
	return 0;
}

static const struct conn_ops sub_ops, cmd_ops;

/* The retry timer: both connections are opened, greeted, and the subscriptions sent. */
static void link_connect(struct timer *t, void *ctx)
{
	(void)ctx;
	struct cluster *cl = container_of(t, struct cluster, retry);
	if (cl->stopping || cl->sub.c != NULL || cl->cmd.c != NULL)
		return;
	if (cl->was_up)
		count(&cl->reconnects);
	int rc = link_open(cl, &cl->sub, &sub_ops);
	if (rc == 0 && (rc = link_open(cl, &cl->cmd, &cmd_ops)) < 0)
		worker_close_conn(cl->w, cl->sub.c, CLOSE_RESET);
	if (rc < 0) {
		log_warn((int)cl->w->index, 0, "cluster: cannot connect to Redis %s:%d: %s",
			 cl->url.host, cl->url.port, strerror(-rc));
		link_retry_later(cl);
		return;
	}
	cl->sub_pending = 0;
	cl->pend_head = cl->pend_count = 0;
	cl->probe_sent = cl->probe_seen = 0;
	subs_each(cl, sub_unconfirm);
	link_hello(cl, &cl->sub, "sub");
	link_hello(cl, &cl->cmd, "cmd");
	struct resp_arg load[3] = { RESP_ARG_LIT("SCRIPT"), RESP_ARG_LIT("LOAD"),
				    RESP_ARG_LIT(publish_script) };
	cmd_send(cl, CMD_LOAD, 3, load);
	load[2] = RESP_ARG_LIT(beat_script);
	cmd_send(cl, CMD_LOAD, 3, load);
	struct resp_arg node[2] = { RESP_ARG_LIT("SUBSCRIBE"), resp_arg_str(cl->node_channel) };
	if (link_send(cl, &cl->sub, 2, node))
		cl->sub_pending++;
	subs_each(cl, sub_resubscribe);
}

/* ---- replies ---------------------------------------------------------------------------------- */

/* A room line from Redis: "SEQ NODE EXCLUDE LINE" on PREFIX:room:NAME, delivered to this
 * node's members of the room through the inboxes. */
static void link_deliver(struct cluster *cl, const struct resp_pubsub *ps)
{
	size_t skip = strlen(cl->url.prefix) + strlen(":room:");
	if (ps->channel.n <= skip || ps->channel.n - skip > ROOM_MAX_LEN)
		return;
	const char *p = ps->payload.p, *end = p + ps->payload.n;
	const char *sp1 = memchr(p, ' ', (size_t)(end - p));
	const char *sp2 = sp1 ? memchr(sp1 + 1, ' ', (size_t)(end - sp1 - 1)) : NULL;
	const char *sp3 = sp2 ? memchr(sp2 + 1, ' ', (size_t)(end - sp2 - 1)) : NULL;
	if (sp3 == NULL || sp3 + 1 >= end || end[-1] != '\n') {
		count(&cl->errors);
		return;
	}
	const char *line = sp3 + 1;
	size_t line_len = (size_t)(end - line);
	struct subscription *s = sub_find(cl, ps->channel.p + skip, ps->channel.n - skip);
	struct room *r = s != NULL ? s->room : NULL;
	if (r == NULL)
		return; /* every member left meanwhile */
	struct msg *m = route_msg_new(cl->w, line_len, false);
	if (m != NULL) {
		memcpy(m->data, line, line_len);
		size_t node_len = (size_t)(sp2 - sp1 - 1);
		if (node_len == strlen(cl->node_id) && memcmp(sp1 + 1, cl->node_id, node_len) == 0)
			m->exclude = strtoull(sp2 + 1, NULL, 10);
		count(&cl->received);
		route_publish_room(cl->w, r, m);
	}
}

/* Redis confirmed a room's subscription: lines held for it go out now. */
static void sub_confirmed(struct cluster *cl, const struct resp_pubsub *ps)
{
	char head[sizeof(cl->url.prefix) + 8];
	size_t skip = (size_t)snprintf(head, sizeof(head), "%s:room:", cl->url.prefix);
	if (ps->channel.n <= skip || memcmp(ps->channel.p, head, skip) != 0)
		return; /* the node's own channel */
	struct subscription *s = sub_find(cl, ps->channel.p + skip, ps->channel.n - skip);
	if (s == NULL || s->confirmed)
		return;
	s->confirmed = true;
	if (atomic_load_explicit(&cl->up, memory_order_relaxed))
		sub_release(cl, s, true);
}

static void sub_reply(struct cluster *cl, const struct resp_node *root)
{
	if (!cl->sub.ready) {
		if (root->type == RESP_ERROR || root->type == RESP_BULK_ERROR) {
			log_error((int)cl->w->index, 0, "cluster: Redis refused HELLO: %.*s",
				  (int)root->len, root->str);
			worker_close_conn(cl->w, cl->sub.c, CLOSE_RESET);
			return;
		}
		cl->sub.ready = true;
		link_check_up(cl);
		return;
	}
	struct resp_pubsub ps;
	switch (resp_pubsub(root, &ps)) {
	case RESP_PUBSUB_MESSAGE:
		if (ps.channel.n == strlen(cl->node_channel) &&
		    memcmp(ps.channel.p, cl->node_channel, ps.channel.n) == 0) {
			if (ps.payload.n > 6 && memcmp(ps.payload.p, "probe ", 6) == 0)
				cl->probe_seen = strtoull(ps.payload.p + 6, NULL, 10);
			break;
		}
		link_deliver(cl, &ps);
		break;
	case RESP_PUBSUB_SUBSCRIBE:
		if (cl->sub_pending > 0)
			cl->sub_pending--;
		sub_confirmed(cl, &ps);
		atomic_store_explicit(&cl->subscriptions, (uint64_t)ps.count, memory_order_relaxed);
		link_check_up(cl);
		break;
	case RESP_PUBSUB_UNSUBSCRIBE:
		atomic_store_explicit(&cl->subscriptions, (uint64_t)ps.count, memory_order_relaxed);
		break;
	default:
		if (root->type == RESP_ERROR || root->type == RESP_BULK_ERROR) {
			count(&cl->errors);
			log_warn((int)cl->w->index, 0, "cluster: Redis: %.*s", (int)root->len,
				 root->str);
		}
		break;
	}
}

/* The heartbeat's answer: the nodes heard from lately, this one among them. */
static void beat_reply(struct cluster *cl, const struct resp_node *root)
{
	if (root->type != RESP_ARRAY && root->type != RESP_SET)
		return;
	uint64_t others = 0;
	for (uint32_t i = 0; i < root->n; i++) {
		const struct resp_node *n = resp_child(root, i);
		if (!resp_is(n, cl->node_id))
			others++;
	}
	atomic_store_explicit(&cl->peers, others, memory_order_relaxed);
}

static void publish_reply(struct cluster *cl, int64_t sent_us)
{
	uint64_t took = (uint64_t)(clock_now_us() - sent_us);
	/* one writer: the link worker */
	atomic_store_explicit(&cl->publish_us_sum,
			      atomic_load_explicit(&cl->publish_us_sum, memory_order_relaxed) +
				  took,
			      memory_order_relaxed);
	atomic_store_explicit(&cl->publish_count,
			      atomic_load_explicit(&cl->publish_count, memory_order_relaxed) + 1,
			      memory_order_relaxed);
	if (took > atomic_load_explicit(&cl->publish_us_max, memory_order_relaxed))
		atomic_store_explicit(&cl->publish_us_max, took, memory_order_relaxed);
}

static void cmd_reply(struct cluster *cl, const struct resp_node *root)
{
	bool error = root->type == RESP_ERROR || root->type == RESP_BULK_ERROR;
	if (cl->pend_count == 0) { /* a reply to nothing we sent */
		log_error((int)cl->w->index, 0,
			  "cluster: an unexpected reply from Redis; reconnecting");
		worker_close_conn(cl->w, cl->cmd.c, CLOSE_RESET);
		return;
	}
	struct pending p = cl->pend[cl->pend_head];
	cl->pend_head = (cl->pend_head + 1) % cl->pend_cap;
	cl->pend_count--;
	if (p.kind == CMD_HELLO) {
		if (error) {
			log_error((int)cl->w->index, 0, "cluster: Redis refused HELLO: %.*s",
				  (int)root->len, root->str);
			worker_close_conn(cl->w, cl->cmd.c, CLOSE_RESET);
			return;
		}
		cl->cmd.ready = true;
		link_check_up(cl);
		return;
	}
	if (error) {
		count(&cl->errors);
		worker_log_gated(cl->w, GATE_SLOW, LOG_WARN, 0, "cluster: Redis: %.*s",
				 (int)root->len, root->str);
		return;
	}
	if (p.kind == CMD_PUBLISH)
		publish_reply(cl, p.sent_us);
	else if (p.kind == CMD_BEAT)
		beat_reply(cl, root);
}

/* Every BEAT_MS while up: this node is alive, who else is, and is the subscription? A
 * subscription can die without a word (a half-open connection after a network fault): the
 * node publishes a probe to its own channel each beat and expects it back on the subscriber;
 * PROBES_MISSED probes not back and the subscriber is closed, so the link is opened again. */
static void link_beat(struct timer *t, void *ctx)
{
	(void)ctx;
	struct cluster *cl = container_of(t, struct cluster, beat);
	if (!atomic_load_explicit(&cl->up, memory_order_relaxed) || cl->cmd.c == NULL)
		return;
	if (cl->probe_sent >= cl->probe_seen + PROBES_MISSED) {
		count(&cl->probe_failures);
		log_warn((int)cl->w->index, 0,
			 "cluster: %llu self-probes did not come back; reopening the link",
			 (unsigned long long)(cl->probe_sent - cl->probe_seen));
		if (cl->sub.c != NULL)
			worker_close_conn(cl->w, cl->sub.c, CLOSE_RESET);
		return;
	}
	char key[sizeof(cl->url.prefix) + 8], alive[16], probe[32];
	snprintf(key, sizeof(key), "%s:nodes", cl->url.prefix);
	snprintf(alive, sizeof(alive), "%d", ALIVE_MS);
	struct resp_arg beat[6] = { RESP_ARG_LIT("EVALSHA"),   resp_arg_str(cl->beat_sha),
				    RESP_ARG_LIT("1"),         resp_arg_str(key),
				    resp_arg_str(cl->node_id), resp_arg_str(alive) };
	cmd_send(cl, CMD_BEAT, 6, beat);
	snprintf(probe, sizeof(probe), "probe %llu", (unsigned long long)++cl->probe_sent);
	struct resp_arg pub[3] = { RESP_ARG_LIT("PUBLISH"), resp_arg_str(cl->node_channel),
				   resp_arg_str(probe) };
	cmd_send(cl, CMD_PROBE, 3, pub);
	timer_arm(&cl->w->timers, &cl->beat, TIMER_BEAT, cl->w->now_ms + BEAT_MS);
}

/* Bytes from one of the connections: every complete reply is handled, a partial one kept. */
static void link_on_bytes(struct worker *w, struct conn *c, char *buf, size_t n)
{
	struct cluster *cl = w->hub->cluster;
	struct link_conn *lc = c == cl->sub.c ? &cl->sub : &cl->cmd;
	if (lc->len + n > cl->in_max) {
		log_error((int)w->index, 0,
			  "cluster: a reply from Redis over %zu bytes; reconnecting", cl->in_max);
		worker_close_conn(w, c, CLOSE_RESET);
		return;
	}
	memcpy(lc->in + lc->len, buf, n);
	lc->len += n;
	size_t off = 0;
	while (off < lc->len && !c->closing) {
		ssize_t r = resp_parse(&lc->parser, lc->in + off, lc->len - off);
		if (r == PARSE_AGAIN)
			break;
		if (r == PARSE_ERROR) {
			log_error((int)w->index, 0,
				  "cluster: malformed reply from Redis; reconnecting");
			worker_close_conn(w, c, CLOSE_RESET);
			return;
		}
		if (r == RESP_TOO_BIG) {
			count(&cl->errors);
			off += lc->parser.reply_len;
			continue;
		}
		if (lc == &cl->sub)
			sub_reply(cl, lc->nodes);
		else
			cmd_reply(cl, lc->nodes);
		off += (size_t)r;
	}
	memmove(lc->in, lc->in + off, lc->len - off);
	lc->len -= off;
}

/* cppcheck-suppress constParameter ; the signature of conn_ops.on_close */
static void link_on_close(struct worker *w, struct conn *c)
{
	struct cluster *cl = w->hub->cluster;
	if (c == cl->sub.c)
		cl->sub.c = NULL;
	else if (c == cl->cmd.c)
		cl->cmd.c = NULL;
	cl->sub.ready = cl->cmd.ready = false;
	link_down(cl);
}

static const struct conn_ops sub_ops = {
	.name = "redis subscriber",
	.on_bytes = link_on_bytes,
	.on_close = link_on_close,
};

static const struct conn_ops cmd_ops = {
	.name = "redis commands",
	.on_bytes = link_on_bytes,
	.on_close = link_on_close,
};

/* ---- the link worker's inbox ------------------------------------------------------------------ */

/* A line of this node's users to this node's members of room `name` only (the link is down). */
static void deliver_local(struct cluster *cl, const char *name, size_t name_len, const char *line,
			  size_t line_len, uint64_t exclude)
{
	struct worker *w = cl->w;
	struct room *r = dir_room_find(&w->hub->dir, name, name_len);
	struct msg *m = r != NULL ? route_msg_new(w, line_len, false) : NULL;
	if (m != NULL) {
		memcpy(m->data, line, line_len);
		m->exclude = exclude;
		count(&cl->local_only);
		route_publish_room(w, r, m);
	}
	if (r != NULL)
		dir_room_put(&w->hub->dir, r);
}

/* The publish script for one line: every node gets it in the room's order. */
static void publish_now(struct cluster *cl, const char *room, const char *line, size_t line_len,
			uint64_t exclude)
{
	if (cl->cmd.c->out_bytes + line_len > cl->queue_max) {
		count(&cl->dropped);
		worker_log_gated(cl->w, GATE_SLOW, LOG_WARN, 0,
				 "cluster: %zu bytes queued for Redis; a line is dropped",
				 cl->cmd.c->out_bytes);
		return;
	}
	char seq_key[sizeof(cl->url.prefix) + ROOM_MAX_LEN + 8];
	char channel[sizeof(seq_key)];
	size_t kn = channel_of(cl, "seq", room, seq_key, sizeof(seq_key));
	size_t cn = channel_of(cl, "room", room, channel, sizeof(channel));
	/* the payload is copied once more into the command: an ordinary line is put together on
	 * the stack, only a long one needs an allocation */
	char small[2048];
	size_t need = sizeof(cl->node_id) + 24 + line_len;
	char *payload = need <= sizeof(small) ? small : malloc(need);
	if (payload == NULL) {
		count(&cl->dropped);
		return;
	}
	int pn = snprintf(payload, sizeof(cl->node_id) + 24, "%s %llu ", cl->node_id,
			  (unsigned long long)exclude);
	memcpy(payload + pn, line, line_len);
	struct resp_arg argv[6] = { RESP_ARG_LIT("EVALSHA"), resp_arg_str(cl->sha),
				    RESP_ARG_LIT("2"),       { seq_key, kn },
				    { channel, cn },         { payload, (size_t)pn + line_len } };
	if (cmd_send(cl, CMD_PUBLISH, 6, argv))
		count(&cl->published);
	if (payload != small)
		free(payload);
}

static struct subscription *sub_find(struct cluster *cl, const char *name, size_t n)
{
	struct subscription *s = map_get(&cl->subs, map_hash_name(name, n));
	while (s != NULL && !(strlen(s->name) == n && strncasecmp(s->name, name, n) == 0))
		s = s->hash_next;
	return s;
}

static void sub_unconfirm(struct cluster *cl, struct subscription *s)
{
	sub_release(cl, s, false); /* the link is going down: held lines go to this node */
	s->confirmed = false;
}

static void sub_resubscribe(struct cluster *cl, struct subscription *s)
{
	link_subscribe(cl, s->name, true);
}

/* A new subscription for room name[0..n), or NULL (no memory). */
static struct subscription *sub_add(struct cluster *cl, const char *name, size_t n)
{
	struct subscription *s = calloc(1, sizeof(*s));
	uint64_t h = map_hash_name(name, n);
	if (s == NULL)
		return NULL;
	for (size_t i = 0; i < n; i++)
		s->name[i] = (char)tolower((unsigned char)name[i]);
	s->hash_next = map_get(&cl->subs, h);
	if (map_put(&cl->subs, h, s) < 0) {
		free(s);
		return NULL;
	}
	cl->nsubs++;
	return s;
}

/* Drops s: its held lines go out (or to this node), its room reference is let go. */
static void sub_remove(struct cluster *cl, struct subscription *s)
{
	uint64_t h = map_hash_name(s->name, strlen(s->name));
	struct subscription *head = map_get(&cl->subs, h);
	if (head == s) {
		if (s->hash_next != NULL)
			map_put(&cl->subs, h, s->hash_next); /* replaces: cannot fail */
		else
			map_del(&cl->subs, h);
	} else {
		while (head->hash_next != s)
			head = head->hash_next;
		head->hash_next = s->hash_next;
	}
	sub_release(cl, s, atomic_load_explicit(&cl->up, memory_order_relaxed));
	if (s->room != NULL)
		dir_room_put(&cl->w->hub->dir, s->room);
	free(s);
	cl->nsubs--;
}

/* Keeps a line until s's subscription is confirmed (bounded like the command queue). */
static void sub_hold(struct cluster *cl, struct subscription *s, const char *line, size_t n,
		     uint64_t exclude)
{
	char head[48];
	int hn = snprintf(head, sizeof(head), "%llu %zu\n", (unsigned long long)exclude, n);
	char *grown = s->held_len + (size_t)hn + n > cl->queue_max
			  ? NULL
			  : realloc(s->held, s->held_len + (size_t)hn + n);
	if (grown == NULL) {
		count(&cl->dropped);
		return;
	}
	memcpy(grown + s->held_len, head, (size_t)hn);
	memcpy(grown + s->held_len + hn, line, n);
	s->held = grown;
	s->held_len += (size_t)hn + n;
}

/* Sends s's held lines through Redis (up) or to this node's members (down), in order. */
static void sub_release(struct cluster *cl, struct subscription *s, bool up)
{
	size_t off = 0;
	while (off < s->held_len) {
		char *end;
		uint64_t exclude = strtoull(s->held + off, &end, 10);
		size_t n = strtoull(end + 1, &end, 10);
		const char *line = end + 1;
		if (up)
			publish_now(cl, s->name, line, n, exclude);
		else
			deliver_local(cl, s->name, strlen(s->name), line, n, exclude);
		off = (size_t)(line + n - s->held);
	}
	free(s->held);
	s->held = NULL;
	s->held_len = 0;
}

/* A line this node's users said, for room `name`: through Redis when the link is up. */
static void uplink_publish(struct cluster *cl, const char *name, size_t name_len, const char *line,
			   size_t line_len, uint64_t exclude)
{
	if (!atomic_load_explicit(&cl->up, memory_order_relaxed)) {
		/* the link went down while the line was on its way: this node only */
		deliver_local(cl, name, name_len, line, line_len, exclude);
		return;
	}
	struct subscription *s = sub_find(cl, name, name_len);
	if (s != NULL && !s->confirmed) {
		sub_hold(cl, s, line, line_len, exclude);
		return;
	}
	char room[ROOM_MAX_LEN + 1];
	snprintf(room, sizeof(room), "%.*s", (int)name_len, name);
	publish_now(cl, room, line, line_len, exclude);
}

/* A worker of this node got its first member in a room, or lost its last. */
static void uplink_watch(struct cluster *cl, const char *name, size_t n, bool first)
{
	struct subscription *s = sub_find(cl, name, n);
	if (!first) {
		if (s != NULL && s->workers > 0 && --s->workers == 0) {
			if (cl->sub.c != NULL)
				link_subscribe(cl, s->name, false);
			sub_remove(cl, s);
		}
		return;
	}
	if (s == NULL && (s = sub_add(cl, name, n)) == NULL) {
		log_error((int)cl->w->index, 0,
			  "cluster: out of memory for a subscription; reconnecting");
		link_down(cl);
		return;
	}
	/* the room now listed under this name: the one this worker's member entered, or a
	 * newer one; deliveries go there */
	struct room *r = dir_room_find(&cl->w->hub->dir, name, n);
	if (s->room != NULL)
		dir_room_put(&cl->w->hub->dir, s->room);
	s->room = r;
	if (s->workers++ == 0 && cl->sub.c != NULL)
		link_subscribe(cl, s->name, true);
}

static void cluster_uplink(struct worker *w, struct msg *m)
{
	struct cluster *cl = w->hub->cluster;
	const char *nl = memchr(m->data, '\n', m->len);
	switch ((enum uplink_op)m->target) {
	case UPLINK_PUBLISH:
		if (nl != NULL)
			uplink_publish(cl, m->data, (size_t)(nl - m->data), nl + 1,
				       m->len - (size_t)(nl - m->data) - 1, m->exclude);
		break;
	case UPLINK_SUBSCRIBE:
	case UPLINK_UNSUBSCRIBE:
		uplink_watch(cl, m->data, m->len, m->target == UPLINK_SUBSCRIBE);
		break;
	}
}

/* Hands the link worker a request: data is a[0..an) then b[0..bn). */
static void uplink(struct worker *w, enum uplink_op op, const char *a, size_t an, const char *b,
		   size_t bn, uint64_t exclude)
{
	struct msg *m = msg_new(an + bn, 1);
	if (m == NULL) {
		log_error((int)w->index, 0, "cluster: out of memory for a request to the link");
		return;
	}
	memcpy(m->data, a, an);
	memcpy(m->data + an, b, bn);
	m->kind = MSG_UPLINK;
	m->target = op;
	m->exclude = exclude;
	route_hand_to(w, m, LINK_WORKER);
}

static void cluster_watch(struct worker *w, const char *room, bool first)
{
	uplink(w, first ? UPLINK_SUBSCRIBE : UPLINK_UNSUBSCRIBE, room, strlen(room), "", 0, 0);
}

void cluster_publish_room(struct worker *w, struct room *r, struct msg *m)
{
	struct cluster *cl = w->hub->cluster;
	if (cl == NULL || !atomic_load_explicit(&cl->up, memory_order_acquire)) {
		if (cl != NULL)
			count(&cl->local_only);
		route_publish_room(w, r, m);
		return;
	}
	char head[ROOM_MAX_LEN + 2];
	int hn = snprintf(head, sizeof(head), "%s\n", r->name);
	uplink(w, UPLINK_PUBLISH, head, (size_t)hn, m->data, m->len, m->exclude);
	msg_set_workers(m, 1); /* never published: this worker drops it */
	msg_release(m);
}

/* ---- set-up ----------------------------------------------------------------------------------- */

static bool cluster_on_shutdown(struct worker *w, void *arg)
{
	(void)w;
	struct cluster *cl = arg;
	cl->stopping = true;
	timer_stop(&cl->retry);
	timer_stop(&cl->beat);
	return false;
}

/* --cluster-password-file: its first line, without the line end. */
static int read_password(const char *path, char *out, size_t cap)
{
	FILE *f = fopen(path, "r");
	if (f == NULL)
		return -errno;
	bool ok = fgets(out, (int)cap, f) != NULL;
	(void)fclose(f); /* read-only: nothing to flush */
	if (!ok)
		return -EINVAL;
	out[strcspn(out, "\r\n")] = '\0';
	return 0;
}

static int resolve(struct cluster *cl)
{
	char port[8];
	snprintf(port, sizeof(port), "%d", cl->url.port);
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *res = NULL;
	int rc = getaddrinfo(cl->url.host, port, &hints, &res);
	if (rc != 0) {
		log_error(-1, 0, "--cluster: cannot resolve %s: %s", cl->url.host,
			  gai_strerror(rc));
		return -EINVAL;
	}
	memcpy(&cl->addr, res->ai_addr, res->ai_addrlen);
	cl->addr_len = res->ai_addrlen;
	freeaddrinfo(res);
	return 0;
}

/* A script's SHA-1 in hex, as Redis names it for EVALSHA. */
static void sha1_hex(const char *script, char out[2 * SHA1_DIGEST_LEN + 1])
{
	uint8_t digest[SHA1_DIGEST_LEN];
	sha1(script, strlen(script), digest);
	for (size_t i = 0; i < SHA1_DIGEST_LEN; i++)
		snprintf(out + 2 * i, 3, "%02x", digest[i]);
}

static int cluster_setup(struct cluster *cl, struct worker *w)
{
	const struct config *cfg = &w->hub->cfg;
	const char *why = NULL;
	if (config_parse_redis_url(cfg->cluster, &cl->url, &why) < 0) {
		log_error(-1, 0, "--cluster %s: %s", cfg->cluster, why);
		return -EINVAL;
	}
	if (cfg->cluster_password_file[0] != '\0') {
		int rc = read_password(cfg->cluster_password_file, cl->url.password,
				       sizeof(cl->url.password));
		if (rc < 0) {
			log_error(-1, 0, "--cluster-password-file %s: %s",
				  cfg->cluster_password_file, strerror(-rc));
			return rc;
		}
	}
	int rc = resolve(cl);
	if (rc < 0)
		return rc;
	sha1_hex(publish_script, cl->sha);
	sha1_hex(beat_script, cl->beat_sha);
	snprintf(cl->node_channel, sizeof(cl->node_channel), "%s:node:%s", cl->url.prefix,
		 cl->node_id);
	cl->in_max = cfg->max_line + (size_t)64 * 1024;
	cl->queue_max = cfg->max_outbuf / 2;
	struct resp_limits lim = { .max_depth = 4, .max_elements = 1024, .max_bulk = cl->in_max };
	cl->sub.in = malloc(cl->in_max);
	cl->cmd.in = malloc(cl->in_max);
	if (cl->sub.in == NULL || cl->cmd.in == NULL ||
	    resp_parser_init(&cl->sub.parser, cl->sub.nodes, LINK_NODES, &lim) < 0 ||
	    resp_parser_init(&cl->cmd.parser, cl->cmd.nodes, LINK_NODES, &lim) < 0)
		return -ENOMEM;
	return 0;
}

static void cluster_free(struct cluster *cl)
{
	size_t pos = 0;
	uint64_t key;
	void *v;
	while (map_next(&cl->subs, &pos, &key, &v))
		for (struct subscription *s = v, *next; s != NULL; s = next) {
			next = s->hash_next;
			free(s->held);
			if (s->room != NULL)
				dir_room_put(&cl->w->hub->dir, s->room);
			free(s);
		}
	map_free(&cl->subs);
	free(cl->pend);
	free(cl->sub.in);
	free(cl->cmd.in);
	free(cl);
}

/* The node's name: --node-id, or host name, port and start time. */
static void cluster_name_node(struct cluster *cl, const struct config *cfg)
{
	if (cfg->node_id[0] != '\0') {
		snprintf(cl->node_id, sizeof(cl->node_id), "%s", cfg->node_id);
		return;
	}
	char host[40] = "node";
	(void)gethostname(host, sizeof(host) - 1);
	host[strcspn(host, " ")] = '\0';
	snprintf(cl->node_id, sizeof(cl->node_id), "%.39s:%d:%llx", host, cfg->port,
		 (unsigned long long)time(NULL));
}

int cluster_attach(struct worker *w)
{
	struct hub *hub = w->hub;
	if (hub->cfg.cluster[0] == '\0')
		return 0;
	if (w->index != LINK_WORKER) {
		route_set_room_watch(w, cluster_watch);
		return 0;
	}
	struct cluster *cl = calloc(1, sizeof(*cl));
	if (cl == NULL)
		return -ENOMEM;
	cl->w = w;
	cl->backoff_ms = BACKOFF_MIN_MS;
	cluster_name_node(cl, &hub->cfg);
	timer_init(&cl->retry, link_connect);
	timer_init(&cl->beat, link_beat);
	int rc = cluster_setup(cl, w);
	if (rc == 0)
		rc = worker_add_hook(w, WORKER_HOOK_SHUTDOWN, cluster_on_shutdown, cl);
	if (rc < 0) {
		cluster_free(cl);
		return rc;
	}
	hub->cluster = cl;
	route_set_uplink(w, cluster_uplink);
	route_set_room_watch(w, cluster_watch);
	/* connect in the first iteration (a deadline of 0 would mean "none") */
	timer_arm(&w->timers, &cl->retry, TIMER_CLUSTER, clock_now_ms());
	log_info(-1, 0, "cluster: node %s, Redis %s:%d, prefix %s", cl->node_id, cl->url.host,
		 cl->url.port, cl->url.prefix);
	return 0;
}

void cluster_detach(struct worker *w)
{
	if (w->index != LINK_WORKER || w->hub->cluster == NULL)
		return;
	cluster_free(w->hub->cluster);
	w->hub->cluster = NULL;
}

void cluster_get_stats(const struct hub *hub, struct cluster_stats *out)
{
	memset(out, 0, sizeof(*out));
	const struct cluster *cl = hub->cluster;
	if (cl == NULL)
		return;
	out->configured = true;
	out->up = atomic_load_explicit(&cl->up, memory_order_relaxed);
	out->subscriptions = atomic_load_explicit(&cl->subscriptions, memory_order_relaxed);
	out->peers = atomic_load_explicit(&cl->peers, memory_order_relaxed);
	out->publish_us_sum = atomic_load_explicit(&cl->publish_us_sum, memory_order_relaxed);
	out->publish_count = atomic_load_explicit(&cl->publish_count, memory_order_relaxed);
	out->publish_us_max = atomic_load_explicit(&cl->publish_us_max, memory_order_relaxed);
#define CLUSTER_STAT_LOAD(name, help) \
	out->name = atomic_load_explicit(&cl->name, memory_order_relaxed);
	CLUSTER_COUNTERS(CLUSTER_STAT_LOAD)
#undef CLUSTER_STAT_LOAD
}
