/*
 * flood.c - bench/flood, chatd's load generator and its strictest correctness check.
 *
 * It connects -c clients (spread over -t threads, each with its own edge-triggered epoll set),
 * waits until every one is welcomed and the room is quiet, then lets -S of them send numbered,
 * time-stamped lines for -d seconds (after --warmup) and checks every delivery: each line must
 * reach every member of the sender's room exactly once, in the sender's order. It reports the
 * connect phase (time, errors, welcome latency, time until quiet), the message phase (sent,
 * expected, delivered, lost, duplicated, out of order, deliveries/s, latency percentiles from
 * the INTENDED send time, so a stalled server cannot hide its stalls) and, with --server-pid,
 * the server's CPU time and memory (with several targets: each server's, and their sum).
 *
 * Line sent by sender s:   F <s> <seq> <intended send time, ns CLOCK_MONOTONIC> <padding>
 * Line received:           <name>:F <s> <seq> <t> <padding>
 *
 * --redis measures Redis pub/sub with the same checks: each of the -c clients is a subscriber
 * connection (SUBSCRIBE to one channel; the confirmation is its "welcome"), and each sender
 * also opens a publishing connection that sends PUBLISH <channel> <line without its newline>
 * in RESP, reading and counting the integer replies (an error reply is a publish error). A
 * sender's own subscriber receives its lines, as a chatd sender receives its own line back,
 * so "expected" is computed the same way. RESP is encoded and parsed here, incrementally
 * (a pushed message may be split across reads).
 *
 * Several targets (--targets HOST:PORT,... or --ports P1,P2,...: the nodes of one chat, or one
 * server named twice) share the clients round-robin: client i connects to target i % n, and
 * the senders, the first -S clients, are spread the same way. With --rooms K client i (in room
 * i % K) connects to target (i % K + i / K) % n instead: i % n would put a whole room on one
 * target whenever n divides K, and no line would cross targets. Every check stays the same: each
 * line must reach every member of the sender's room on every target exactly once, in order.
 * The report adds each target's clients, expected, delivered and lost deliveries, and how many
 * of the lost ones were lines sent through another target (what a missing cluster link loses).
 * With --redis the targets are Redis servers (a sender publishes to its own subscriber's).
 *
 * Threads: the main thread runs the phases and prints; worker threads own their clients and
 * counters. Counters are written by their thread only (relaxed) and summed by main. The
 * per-(receiver, sender) sequence table is touched by the receiver's thread only; each
 * sender's "sent" count is published with release and read with acquire.
 *
 * Exit status: 0 when lost <= --max-loss, no client was disconnected unexpectedly and (--redis)
 * no PUBLISH was answered with an error; 2 for a bad command line.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <math.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "proc.h"

#define NS         1000000000LL
#define MAX_EVENTS 512
#define RBUF       ((size_t)256 * 1024)
#define WINDOW     64 /* -r 0: lines a sender may have in flight */

/* ---- options ------------------------------------------------------------------------------ */

static struct {
	int clients, senders, threads, rooms;
	double rate, duration, warmup;
	int payload;
	char host[64];
	int port;
	bool host_given, port_given;
	const char *targets; /* --targets HOST:PORT,... (argv) */
	const char *ports;   /* --ports P1,P2,... (argv) */
	double connect_rate;
	bool json;
	bool ws;    /* WebSocket clients instead of line-protocol ones */
	bool redis; /* Redis pub/sub: SUBSCRIBE clients, PUBLISH connections per sender */
	char channel[64];
	const char *server_pids; /* --server-pid PID[,PID...] (argv) */
	long max_loss;
	double drain;
	char ready_file[256]; /* created when the send phase starts (for scripts/soak.sh) */
} opt = { .clients = 100,
	  .senders = 10,
	  .rate = 10,
	  .duration = 5,
	  .warmup = 1,
	  .payload = 64,
	  .host = "127.0.0.1",
	  .port = 2020,
	  .rooms = 1,
	  .channel = "flood",
	  .drain = 10 };

static void usage(FILE *out)
{
	fprintf(
	    out,
	    "usage: flood [options]\n"
	    "  -c N               clients (default 100)\n"
	    "  -S N               how many of them send (default 10)\n"
	    "  -r N               lines per second per sender, evenly paced (default 10;\n"
	    "                     0 = as fast as the server takes them, %d in flight per sender)\n"
	    "  -d SECONDS         measured sending time (default 5)\n"
	    "  --warmup SECONDS   sending before measuring (default 1)\n"
	    "  -s BYTES           line payload size (default 64)\n"
	    "  -t N               threads (default: online CPUs)\n"
	    "  --rooms K          spread clients over K rooms (default 1: everyone in lobby)\n"
	    "  --host ADDR        loopback address of chatd: 127.0.0.0/8, ::1 or localhost\n"
	    "                     (default 127.0.0.1)\n"
	    "  --port P           (default 2020)\n"
	    "  --ports P1,P2,...  n servers (the nodes of one chat) at --host: client i\n"
	    "                     connects to port i mod n (counting from 0), senders spread\n"
	    "                     the same way (with --rooms K: (i mod K + i div K) mod n, so\n"
	    "                     every room spans the ports); each line must reach every\n"
	    "                     receiver on every node exactly once, in order\n"
	    "  --targets LIST     the same with addresses: HOST:PORT,... (HOST loopback as for\n"
	    "                     --host; [::1]:PORT for IPv6); one server may be named twice\n"
	    "  --connect-rate N   connects per second (default 0 = as fast as possible)\n"
	    "  --json             print one JSON object instead of the report\n"
	    "  --server-pid PID   also report the server's CPU time and memory; with several\n"
	    "                     targets PID,PID,... one per target in their order (the same\n"
	    "                     PID again for a server named twice): each and the sum\n"
	    "  --max-loss N       deliveries that may be lost before exiting 1 (default 0)\n"
	    "  --drain SECONDS    after sending, how long to wait for missing deliveries\n"
	    "                     (default 10)\n"
	    "  --ready-file PATH  create PATH when the sending starts\n"
	    "  --ws               WebSocket clients (GET /ws) instead of line-protocol ones\n"
	    "  --redis            measure Redis pub/sub at --host/--port instead of chatd: every\n"
	    "                     client SUBSCRIBEs to one channel, every sender also opens a\n"
	    "                     connection that PUBLISHes its lines there (one room only);\n"
	    "                     with several targets a sender publishes to its subscriber's\n"
	    "  --channel NAME     --redis: the channel (default flood)\n",
	    WINDOW);
}

static bool parse_num(const char *s, double lo, double hi, double *out)
{
	char *end;
	errno = 0;
	double v = strtod(s, &end);
	if (errno || end == s || *end || v < lo || v > hi)
		return false;
	*out = v;
	return true;
}

static int parse_args(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
			usage(stdout);
			exit(0);
		}
		if (!strcmp(a, "--json")) {
			opt.json = true;
			continue;
		}
		if (!strcmp(a, "--ws")) {
			opt.ws = true;
			continue;
		}
		if (!strcmp(a, "--redis")) {
			opt.redis = true;
			continue;
		}
		if (i + 1 >= argc) {
			fprintf(stderr, "flood: %s needs a value (or is unknown)\n", a);
			return -1;
		}
		const char *v = argv[++i];
		double d = 0;
		bool ok = true;
#define NUM(flag, lo, hi, dst)                 \
	else if (!strcmp(a, flag))             \
	{                                      \
		ok = parse_num(v, lo, hi, &d); \
		(dst) = d;                     \
	}
		if (0) {
		}
		NUM("-c", 1, 1e6, opt.clients)
		NUM("-S", 0, 1e6, opt.senders)
		NUM("-r", 0, 1e7, opt.rate)
		NUM("-d", 0.1, 3600, opt.duration)
		NUM("--warmup", 0, 600, opt.warmup)
		NUM("-s", 24, 3000, opt.payload)
		NUM("-t", 1, 256, opt.threads)
		NUM("--rooms", 1, 1000, opt.rooms)
		NUM("--port", 1, 65535, opt.port)
		NUM("--connect-rate", 0, 1e7, opt.connect_rate)
		NUM("--max-loss", 0, 1e15, opt.max_loss)
		NUM("--drain", 0, 600, opt.drain)
		else if (!strcmp(a, "--host"))
		{
			ok = strlen(v) > 0 && strlen(v) < sizeof(opt.host);
			snprintf(opt.host, sizeof(opt.host), "%s", v);
		}
		else if (!strcmp(a, "--targets")) opt.targets = v;
		else if (!strcmp(a, "--ports")) opt.ports = v;
		else if (!strcmp(a, "--server-pid")) opt.server_pids = v;
		else if (!strcmp(a, "--ready-file"))
		    snprintf(opt.ready_file, sizeof(opt.ready_file), "%s", v);
		else if (!strcmp(a, "--channel"))
		{
			ok = strlen(v) > 0 && strlen(v) < sizeof(opt.channel);
			snprintf(opt.channel, sizeof(opt.channel), "%s", v);
		}
		else
		{
			fprintf(stderr, "flood: unknown option %s\n", a);
			return -1;
		}
#undef NUM
		opt.host_given |= !strcmp(a, "--host");
		opt.port_given |= !strcmp(a, "--port");
		if (!ok) {
			fprintf(stderr, "flood: bad value for %s: %s\n", a, v);
			return -1;
		}
	}
	if (opt.senders > opt.clients)
		opt.senders = opt.clients;
	if (opt.threads == 0) {
		long n = sysconf(_SC_NPROCESSORS_ONLN);
		opt.threads = n > 0 ? (int)n : 1;
	}
	if (opt.threads > opt.clients)
		opt.threads = opt.clients;
	if (opt.redis && opt.ws) {
		fprintf(stderr, "flood: --redis and --ws do not go together\n");
		return -1;
	}
	if (opt.redis && opt.rooms > 1) {
		fprintf(stderr, "flood: --redis measures one channel: --rooms must be 1\n");
		return -1;
	}
	return 0;
}

/* ---- time and histogram --------------------------------------------------------------------- */

static int64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * NS + ts.tv_nsec;
}

/* Log-linear: 64 linear sub-buckets per power of two (about 1.6% precision), in ns. */
#define HIST_SUB     64
#define HIST_BUCKETS (45 * HIST_SUB)

struct hist {
	uint64_t count[HIST_BUCKETS];
	uint64_t n, max;
};

static int hist_index(uint64_t v)
{
	if (v < HIST_SUB)
		return (int)v;
	int e = 63 - __builtin_clzll(v); /* >= 6 */
	int idx = (e - 5) * HIST_SUB + (int)((v >> (e - 6)) & (HIST_SUB - 1));
	return idx < HIST_BUCKETS ? idx : HIST_BUCKETS - 1;
}

static uint64_t hist_value(int idx)
{
	if (idx < HIST_SUB)
		return (uint64_t)idx;
	int e = idx / HIST_SUB + 5;
	uint64_t sub = (uint64_t)(idx % HIST_SUB);
	return ((uint64_t)HIST_SUB + sub) << (e - 6);
}

static void hist_add(struct hist *h, int64_t v)
{
	if (v < 0)
		v = 0;
	h->count[hist_index((uint64_t)v)]++;
	h->n++;
	if ((uint64_t)v > h->max)
		h->max = (uint64_t)v;
}

static void hist_merge(struct hist *into, const struct hist *h)
{
	for (int i = 0; i < HIST_BUCKETS; i++)
		into->count[i] += h->count[i];
	into->n += h->n;
	if (h->max > into->max)
		into->max = h->max;
}

static double hist_pct(const struct hist *h, double p)
{
	if (h->n == 0)
		return 0;
	uint64_t want = (uint64_t)ceil(p / 100.0 * (double)h->n), seen = 0;
	for (int i = 0; i < HIST_BUCKETS; i++) {
		seen += h->count[i];
		if (seen >= want && h->count[i])
			return (double)hist_value(i);
	}
	return (double)h->max;
}

/* ---- targets: the servers the clients are spread over ------------------------------------------ */

struct target {
	struct sockaddr_storage addr;
	socklen_t addr_len;
	char name[80];        /* "127.0.0.1:2020", "[::1]:2020" */
	int clients, senders; /* assigned round-robin (senders: of the clients) */
	int proc;             /* --server-pid: its index in procs, or -1 */
};

/* What --server-pid measures of one server process (a pid named twice is measured once). */
struct proc_figures {
	int pid;
	long rss_before, rss_idle, rss_peak; /* KiB, -1 when unknown (the process is gone) */
	double cpu0, cpu1;                   /* CPU seconds when sending starts and ends */
};

static struct target *targets;
static int ntargets;
static bool multi; /* --targets or --ports: the report names each target */
static struct proc_figures *procs;
static int nprocs;

/* Local ports one source address has for connecting (most of ip_local_port_range). */
static int ports_per_address(void)
{
	int lo = 32768, hi = 60999;
	FILE *f = fopen("/proc/sys/net/ipv4/ip_local_port_range", "r");
	if (f) {
		if (fscanf(f, "%d %d", &lo, &hi) != 2)
			lo = 32768, hi = 60999;
		(void)fclose(f);
	}
	return (hi - lo + 1) * 9 / 10;
}

/* A port number, digits only, 1..65535; -1 otherwise. */
static int parse_port(const char *s, size_t n)
{
	long v = 0;
	if (n == 0 || n > 5)
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	return v >= 1 && v <= 65535 ? (int)v : -1;
}

/* Sets t to HOST (its first host_len bytes) and the port in port[0..port_len); flag names the
 * option for the error line. Only loopback addresses: flood drives servers on this machine.
 * Returns 0, or -1 after telling why. */
static int target_set(struct target *t, const char *host, size_t host_len, const char *port,
		      size_t port_len, const char *flag)
{
	char h[64];
	if (host_len == 0 || host_len >= sizeof(h)) {
		fprintf(stderr, "flood: %s: \"%.*s\": not a host\n", flag, (int)host_len, host);
		return -1;
	}
	memcpy(h, host, host_len);
	h[host_len] = 0;
	int p = parse_port(port, port_len);
	if (p < 0) {
		fprintf(stderr, "flood: %s: \"%.*s\": not a port (1..65535)\n", flag, (int)port_len,
			port);
		return -1;
	}
	if (!strcmp(h, "localhost"))
		snprintf(h, sizeof(h), "127.0.0.1");
	struct sockaddr_in *a4 = (struct sockaddr_in *)&t->addr;
	struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)&t->addr;
	memset(&t->addr, 0, sizeof(t->addr));
	if (inet_pton(AF_INET, h, &a4->sin_addr) == 1 &&
	    (ntohl(a4->sin_addr.s_addr) >> 24) == 127) {
		a4->sin_family = AF_INET;
		a4->sin_port = htons((uint16_t)p);
		t->addr_len = sizeof(*a4);
		snprintf(t->name, sizeof(t->name), "%s:%d", h, p);
	} else if (inet_pton(AF_INET6, h, &a6->sin6_addr) == 1 &&
		   IN6_IS_ADDR_LOOPBACK(&a6->sin6_addr)) {
		a6->sin6_family = AF_INET6;
		a6->sin6_port = htons((uint16_t)p);
		t->addr_len = sizeof(*a6);
		snprintf(t->name, sizeof(t->name), "[::1]:%d", p);
	} else {
		fprintf(stderr,
			"flood: %s: %s is not a loopback address (127.0.0.0/8, ::1 or localhost): "
			"flood only drives servers on this machine\n",
			flag, h);
		return -1;
	}
	t->proc = -1;
	return 0;
}

/* The items of a comma-separated list: how many, or -1 (after telling) when one is empty. */
static int list_count(const char *list, const char *flag)
{
	int n = 1;
	for (const char *p = list; *p; p++)
		n += *p == ',';
	const char *empty = strstr(list, ",,");
	if (!*list || list[0] == ',' || list[strlen(list) - 1] == ',' || empty) {
		fprintf(stderr, "flood: %s: an empty item in \"%s\"\n", flag, list);
		return -1;
	}
	return n;
}

/* One --targets item, [p, q): HOST:PORT, or [IPV6]:PORT. */
static int target_parse(struct target *t, const char *p, const char *q)
{
	if (*p == '[') {
		const char *close = memchr(p, ']', (size_t)(q - p));
		if (close == NULL || close + 1 >= q || close[1] != ':') {
			fprintf(stderr, "flood: --targets: \"%.*s\": [IPV6]:PORT expected\n",
				(int)(q - p), p);
			return -1;
		}
		return target_set(t, p + 1, (size_t)(close - p - 1), close + 2,
				  (size_t)(q - close - 2), "--targets");
	}
	const char *colon = NULL;
	int colons = 0;
	for (const char *c = p; c < q; c++)
		if (*c == ':') {
			colon = c;
			colons++;
		}
	if (colons != 1) {
		fprintf(stderr, "flood: --targets: \"%.*s\": HOST:PORT expected%s\n", (int)(q - p),
			p, colons > 1 ? " (an IPv6 address in brackets: [::1]:PORT)" : "");
		return -1;
	}
	return target_set(t, p, (size_t)(colon - p), colon + 1, (size_t)(q - colon - 1),
			  "--targets");
}

/* The target of client i (a --redis publisher: its subscriber's). Round-robin, i % n; with
 * rooms (room i % K) shifted by one per round of rooms, so each room's members spread over
 * every target even when n divides K (then i % n would keep a room on one target). */
static int target_of(int i)
{
	return (i % opt.rooms + i / opt.rooms) % ntargets;
}

/* --targets, --ports or --host/--port: the targets, each with its share of the clients. */
static int targets_build(void)
{
	if (opt.targets && opt.ports) {
		fprintf(stderr, "flood: --targets and --ports: give one of them\n");
		return -1;
	}
	if ((opt.targets || opt.ports) && opt.port_given) {
		fprintf(stderr, "flood: --port names one server: with %s leave it out\n",
			opt.targets ? "--targets" : "--ports");
		return -1;
	}
	if (opt.targets && opt.host_given) {
		fprintf(stderr, "flood: --host and --targets: the hosts are in the targets "
				"(HOST:PORT,...)\n");
		return -1;
	}
	const char *list = opt.targets ? opt.targets : opt.ports;
	multi = list != NULL;
	ntargets = list ? list_count(list, opt.targets ? "--targets" : "--ports") : 1;
	if (ntargets < 0)
		return -1;
	targets = calloc((size_t)ntargets, sizeof(*targets));
	if (targets == NULL) {
		fprintf(stderr, "flood: out of memory\n");
		return -1;
	}
	if (!list) {
		char port[8];
		int k = snprintf(port, sizeof(port), "%d", opt.port);
		if (target_set(&targets[0], opt.host, strlen(opt.host), port, (size_t)k, "--host"))
			return -1;
	}
	for (int i = 0; list && i < ntargets; i++) {
		const char *q = strchr(list, ',');
		q = q ? q : list + strlen(list);
		int rc = opt.targets ? target_parse(&targets[i], list, q)
				     : target_set(&targets[i], opt.host, strlen(opt.host), list,
						  (size_t)(q - list), "--ports");
		if (rc)
			return -1;
		list = q + 1;
	}
	if (ntargets > opt.clients) {
		fprintf(stderr, "flood: %d targets but -c %d: every target needs a client\n",
			ntargets, opt.clients);
		return -1;
	}
	for (int i = 0; i < opt.clients; i++)
		targets[target_of(i)].clients++;
	for (int s = 0; s < opt.senders; s++)
		targets[target_of(s)].senders++;
	/* IPv4 clients past one source address's ports use 127.0.0.2, .3, ...; IPv6 has ::1 only */
	for (int i = 0; i < ntargets; i++) {
		int conns = targets[i].clients + (opt.redis ? targets[i].senders : 0);
		if (targets[i].addr.ss_family == AF_INET6 && conns > ports_per_address()) {
			fprintf(
			    stderr,
			    "flood: %s: %d connections to one IPv6 address need more local ports "
			    "than ::1 has (%d, from ip_local_port_range): use an IPv4 target\n",
			    targets[i].name, conns, ports_per_address());
			return -1;
		}
	}
	return 0;
}

/* --server-pid PID[,PID...]: one per target, in order; a pid named twice is one process. */
static int procs_build(void)
{
	if (!opt.server_pids)
		return 0;
	int n = list_count(opt.server_pids, "--server-pid");
	if (n < 0)
		return -1;
	if (n != ntargets) {
		fprintf(
		    stderr,
		    "flood: --server-pid: %d pid%s for %d target%s: give one per target, in the "
		    "targets' order (the same pid again for a server named twice)\n",
		    n, n > 1 ? "s" : "", ntargets, ntargets > 1 ? "s" : "");
		return -1;
	}
	procs = calloc((size_t)n, sizeof(*procs));
	if (procs == NULL) {
		fprintf(stderr, "flood: out of memory\n");
		return -1;
	}
	const char *p = opt.server_pids;
	for (int i = 0; i < n; i++) {
		const char *q = strchr(p, ',');
		q = q ? q : p + strlen(p);
		char buf[16];
		double v = 0;
		snprintf(buf, sizeof(buf), "%.*s", (int)(q - p), p);
		if (q - p >= (long)sizeof(buf) || !parse_num(buf, 1, 1e9, &v) || v != (int)v) {
			fprintf(stderr, "flood: --server-pid: \"%.*s\": not a pid\n", (int)(q - p),
				p);
			return -1;
		}
		int k = 0;
		while (k < nprocs && procs[k].pid != (int)v)
			k++;
		if (k == nprocs)
			procs[nprocs++].pid = (int)v;
		targets[i].proc = k;
		p = q + 1;
	}
	return 0;
}

enum proc_sample { PROC_BEFORE, PROC_IDLE, PROC_SENT, PROC_PEAK };

/* Reads what the moment needs of every measured server. */
static void procs_sample(enum proc_sample when)
{
	for (int i = 0; i < nprocs; i++) {
		struct proc_figures *f = &procs[i];
		switch (when) {
		case PROC_BEFORE:
			f->rss_before = proc_kib(f->pid, "VmRSS");
			break;
		case PROC_IDLE:
			f->rss_idle = proc_kib(f->pid, "VmRSS");
			f->cpu0 = proc_cpu_seconds(f->pid);
			break;
		case PROC_SENT:
			f->cpu1 = proc_cpu_seconds(f->pid);
			break;
		case PROC_PEAK:
			f->rss_peak = proc_kib(f->pid, "VmHWM");
			break;
		}
	}
}

static long sum_known(long a, long b)
{
	return a < 0 || b < 0 ? -1 : a + b;
}

static double sum_known_d(double a, double b)
{
	return a < 0 || b < 0 ? -1 : a + b;
}

/* Every measured server's figures added up (-1 where one is unknown); all -1 without any. */
static struct proc_figures procs_sum(void)
{
	struct proc_figures s = {
		.rss_before = -1, .rss_idle = -1, .rss_peak = -1, .cpu0 = -1, .cpu1 = -1
	};
	for (int i = 0; i < nprocs; i++) {
		const struct proc_figures *f = &procs[i];
		s.rss_before = i ? sum_known(s.rss_before, f->rss_before) : f->rss_before;
		s.rss_idle = i ? sum_known(s.rss_idle, f->rss_idle) : f->rss_idle;
		s.rss_peak = i ? sum_known(s.rss_peak, f->rss_peak) : f->rss_peak;
		s.cpu0 = i ? sum_known_d(s.cpu0, f->cpu0) : f->cpu0;
		s.cpu1 = i ? sum_known_d(s.cpu1, f->cpu1) : f->cpu1;
	}
	return s;
}

/* ---- clients and threads -------------------------------------------------------------------- */

enum phase { PH_CONNECT, PH_SEND, PH_DRAIN, PH_DONE };

struct client {
	int fd;
	int index;
	int room;
	int target; /* index in targets: index % ntargets (a --redis publisher: its peer's) */
	int sender; /* sender number, or -1 */
	bool connected, welcomed, joined, dead;
	bool cut_slow;       /* the server said we were too slow (then closes us) */
	bool upgraded;       /* --ws: the 101 answer was read */
	bool publisher;      /* --redis: a sender's PUBLISH connection (not a receiver) */
	struct client *peer; /* --redis: a sender's subscriber <-> its publisher (same thread) */
	int64_t started_ns;  /* connect() issued */
	/* partial line between reads */
	char *part;
	size_t part_len;
	/* sending */
	char *out;
	size_t out_len, out_off;
	bool blocked;
	uint64_t seq; /* next sequence number to send */
	int64_t next_send_ns;
	uint64_t echoed;  /* own lines received back (for -r 0) */
	uint32_t *expect; /* per sender: next sequence number expected from it */
	/* per receiver, for the per-target report (written by its thread, read after the join) */
	uint64_t delivered, gap_lost, gap_lost_across; /* across: lines sent to another target */
};

struct counters { /* written by the owning thread, read by main (relaxed) */
	_Atomic uint64_t connected, welcomed, joined, connect_failed, dead, cut_slow;
	_Atomic uint64_t sent, delivered, measured, lost_gap, out_of_order, duplicates, notices;
	_Atomic uint64_t bytes_in, notice_entries;
	_Atomic uint64_t pubs_up, pubs_failed, publish_errors; /* --redis publishers */
	_Atomic int64_t last_notice_ns;
};

struct thread {
	pthread_t tid;
	int index;
	int epfd;
	struct client **clients;
	int nclients;
	struct counters k;
	struct hist latency;            /* message phase, after warmup */
	struct hist welcome;            /* connect -> welcome line */
	_Atomic uint64_t p99_window_ns; /* for the progress line */
	_Atomic int seen_phase;         /* the phase this thread last acted on */
	char *rbuf;
	int errs[160]; /* connect failures by errno */
};

static struct thread *threads;
static struct client *clients;
static _Atomic int phase = PH_CONNECT;
static int64_t t_start, t_measure_from, t_send_end;
static _Atomic uint64_t *sent_by; /* per sender: lines sent (release by sender's thread) */
static int *sender_client;        /* sender number -> client index */
static int nsenders;

static void kadd(_Atomic uint64_t *c, uint64_t n)
{
	atomic_store_explicit(c, atomic_load_explicit(c, memory_order_relaxed) + n,
			      memory_order_relaxed);
}

static uint64_t ksum(size_t offset)
{
	uint64_t s = 0;
	for (int i = 0; i < opt.threads; i++)
		s += atomic_load_explicit((_Atomic uint64_t *)((char *)&threads[i].k + offset),
					  memory_order_relaxed);
	return s;
}
#define KSUM(field) ksum(offsetof(struct counters, field))

/* ---- connecting ------------------------------------------------------------------------------- */

static int addr_count(void)
{
	int per_addr = ports_per_address();
	return (opt.clients + per_addr - 1) / per_addr;
}

static int per_address;

/* A connection that could not be made: a receiver's counts as a failed connect; a --redis
 * publisher's also as an unexpected disconnect (its sender cannot send). */
static void client_connect_failed(struct thread *t, struct client *c, int err)
{
	t->errs[err > 0 && err < 160 ? err : 0]++;
	if (c->publisher) {
		kadd(&t->k.pubs_failed, 1);
		kadd(&t->k.dead, 1);
	} else {
		kadd(&t->k.connect_failed, 1);
	}
	c->dead = true;
}

static void client_connect(struct thread *t, struct client *c)
{
	const struct target *to = &targets[c->target];
	c->fd = socket(to->addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (c->fd < 0) {
		client_connect_failed(t, c, errno);
		return;
	}
	if (per_address > 0 && c->index >= per_address && to->addr.ss_family == AF_INET) {
		/* more clients than one address has ports: 127.0.0.2, .3, ... */
		int one = 1;
		setsockopt(c->fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof(one));
		struct sockaddr_in src = { .sin_family = AF_INET };
		src.sin_addr.s_addr = htonl(0x7F000001 + (uint32_t)(c->index / per_address));
		/* on failure connect() picks the source itself; its errors are counted below */
		(void)bind(c->fd, (struct sockaddr *)&src, sizeof(src));
	}
	/* Lines are stamped with their send time: Nagle must not hold one back waiting for
	 * the server's (delayed) ACK of the previous one. */
	int nodelay = 1;
	setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &nodelay, sizeof(nodelay));
	c->started_ns = now_ns();
	if (connect(c->fd, (const struct sockaddr *)&to->addr, to->addr_len) < 0 &&
	    errno != EINPROGRESS) {
		client_connect_failed(t, c, errno);
		close(c->fd);
		c->fd = -1;
		return;
	}
	struct epoll_event ev = { .events = EPOLLIN | EPOLLOUT | EPOLLET, .data.ptr = c };
	epoll_ctl(t->epfd, EPOLL_CTL_ADD, c->fd, &ev);
}

/* ---- sending ---------------------------------------------------------------------------------- */

static void client_flush(struct thread *t, struct client *c)
{
	while (c->out_off < c->out_len) {
		ssize_t n = send(c->fd, c->out + c->out_off, c->out_len - c->out_off,
				 MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n < 0) {
			if (errno == EAGAIN)
				c->blocked = true;
			else if (!c->dead) {
				c->dead = true;
				kadd(&t->k.dead, 1);
			}
			return;
		}
		c->out_off += (size_t)n;
	}
	c->out_off = c->out_len = 0;
	c->blocked = false;
}

/* --ws: a line (without its newline) as a masked text frame. The masking key is zero: the
 * frame is masked as RFC 6455 requires of clients, and the payload bytes stay as they are. */
static size_t ws_frame(char *dst, const char *line, size_t n)
{
	size_t at = 0;
	dst[at++] = (char)0x81;
	if (n < 126) {
		dst[at++] = (char)(0x80 | n);
	} else {
		dst[at++] = (char)(0x80 | 126);
		dst[at++] = (char)(n >> 8);
		dst[at++] = (char)n;
	}
	memset(dst + at, 0, 4);
	at += 4;
	memmove(dst + at, line, n);
	return at + n;
}

/* --redis: PUBLISH <channel> <line without its newline>, as a RESP array of bulk strings. */
static size_t resp_publish(char *dst, const char *line, size_t n)
{
	size_t at = (size_t)sprintf(dst, "*3\r\n$7\r\nPUBLISH\r\n$%zu\r\n%s\r\n$%zu\r\n",
				    strlen(opt.channel), opt.channel, n);
	memmove(dst + at, line, n);
	dst[at + n] = '\r';
	dst[at + n + 1] = '\n';
	return at + n + 2;
}

/* Appends a line to the client's output, as a frame with --ws, as a PUBLISH with --redis. */
static void client_put(struct client *c, const char *line, size_t n)
{
	char *dst = c->out + c->out_len;
	if (opt.ws)
		c->out_len += ws_frame(dst, line, n - 1); /* n - 1: without the \n */
	else if (opt.redis)
		c->out_len += resp_publish(dst, line, n - 1);
	else {
		memcpy(dst, line, n);
		c->out_len += n;
	}
}

static size_t out_cap(void)
{
	return (size_t)opt.payload * 512 + 4096;
}

/* The most one line adds to the output besides its payload (a frame header, a PUBLISH). */
static size_t line_overhead(void)
{
	return 64 + (opt.redis ? sizeof(opt.channel) : 0);
}

/* Appends one numbered line stamped with its intended send time. */
static bool client_queue_line(struct thread *t, struct client *c, int64_t intended)
{
	if (c->out_len + (size_t)opt.payload + line_overhead() > out_cap())
		return false;
	char p[4096];
	int n = sprintf(p, "F %d %llu %lld ", c->sender, (unsigned long long)c->seq,
			(long long)intended);
	int pad = opt.payload - n - 1;
	if (pad > 0) {
		memset(p + n, 'x', (size_t)pad);
		n += pad;
	}
	p[n++] = '\n';
	client_put(c, p, (size_t)n);
	c->seq++;
	atomic_store_explicit(&sent_by[c->sender], c->seq, memory_order_release);
	kadd(&t->k.sent, 1);
	return true;
}

/* Sends what is due; returns the next time something is due (ns), or INT64_MAX. */
static int64_t client_send_due(struct thread *t, struct client *c, int64_t now)
{
	if (c->dead || c->blocked)
		return INT64_MAX;
	if (opt.rate == 0) {
		/* --redis: the sender's own lines come back to its subscriber, the peer */
		const struct client *rx = c->publisher ? c->peer : c;
		while (c->seq - rx->echoed < WINDOW && client_queue_line(t, c, now))
			;
		client_flush(t, c);
		return INT64_MAX;
	}
	int64_t period = (int64_t)((double)NS / opt.rate);
	int burst = 0;
	while (c->next_send_ns <= now && c->next_send_ns < t_send_end && burst++ < 256) {
		if (!client_queue_line(t, c, c->next_send_ns))
			break;
		c->next_send_ns += period;
	}
	client_flush(t, c);
	return c->next_send_ns < t_send_end ? c->next_send_ns : INT64_MAX;
}

/* ---- receiving -------------------------------------------------------------------------------- */

static void on_server_line(struct thread *t, struct client *c, const char *s, size_t n)
{
	int64_t now = now_ns();
	if (!c->welcomed && n > 10 && !memcmp(s, "* Welcome,", 10)) {
		c->welcomed = true;
		kadd(&t->k.welcomed, 1);
		hist_add(&t->welcome, now - c->started_ns);
		if (opt.rooms > 1 || c->room != 0) {
			char cmd[32];
			int k = snprintf(cmd, sizeof(cmd), "/join r%d\n", c->room);
			client_put(c, cmd, (size_t)k);
			client_flush(t, c);
		} else {
			c->joined = true;
			kadd(&t->k.joined, 1);
		}
		return;
	}
	if (!c->joined && n > 19 && !memcmp(s, "* You are now in r", 18)) {
		c->joined = true;
		kadd(&t->k.joined, 1);
		return;
	}
	if (n > 18 && !memcmp(s, "* error: too slow:", 18)) {
		c->cut_slow = true;
		kadd(&t->k.cut_slow, 1);
		return;
	}
	kadd(&t->k.notices, 1);
	atomic_store_explicit(&t->k.last_notice_ns, now, memory_order_relaxed);
	long k;
	if (n > 12 && memcmp(s + n - 12, "has entered.", 12) == 0)
		kadd(&t->k.notice_entries, 1);
	else if (sscanf(s, "* %ld user", &k) == 1 && memmem(s, n, "entered", 7))
		kadd(&t->k.notice_entries, (uint64_t)k);
}

/* Parses a space-terminated decimal number; fast, no locale (this runs per delivery). */
static const char *parse_u64(const char *p, const char *end, uint64_t *out)
{
	uint64_t v = 0;
	const char *start = p;
	while (p < end && *p >= '0' && *p <= '9')
		v = v * 10 + (uint64_t)(*p++ - '0');
	*out = v;
	if (p == start || p >= end || *p != ' ')
		return NULL;
	return p + 1;
}

/* One delivery of a numbered line: s..end is "F <s> <seq> <t> <padding>". */
static void on_delivery(struct thread *t, struct client *c, const char *s, const char *end,
			int64_t now)
{
	if (end - s < 3 || s[0] != 'F' || s[1] != ' ')
		return;
	uint64_t sender, seq, stamp64;
	const char *p = parse_u64(s + 2, end, &sender);
	p = p ? parse_u64(p, end, &seq) : NULL;
	p = p ? parse_u64(p, end, &stamp64) : NULL;
	if (p == NULL || sender >= (uint64_t)nsenders)
		return;
	int64_t stamp = (int64_t)stamp64;
	kadd(&t->k.delivered, 1);
	c->delivered++;
	if (c->sender >= 0 && (uint64_t)c->sender == sender)
		c->echoed++;
	uint32_t *exp = &c->expect[sender];
	if (seq == *exp) {
		(*exp)++;
	} else if (seq > *exp) {
		kadd(&t->k.out_of_order, 1); /* a gap: lines before it are late or lost */
		kadd(&t->k.lost_gap, seq - *exp);
		c->gap_lost += seq - *exp;
		if (clients[sender_client[sender]].target != c->target)
			c->gap_lost_across += seq - *exp;
		*exp = (uint32_t)seq + 1;
	} else {
		kadd(&t->k.duplicates, 1);
	}
	if (stamp >= t_measure_from && t_measure_from != 0) {
		hist_add(&t->latency, now - stamp);
		kadd(&t->k.measured, 1);
	}
}

static void on_chat_line(struct thread *t, struct client *c, const char *s, size_t n, int64_t now)
{
	const char *colon = memchr(s, ':', n);
	if (colon != NULL)
		on_delivery(t, c, colon + 1, s + n, now);
}

static void client_on_line(struct thread *t, struct client *c, const char *s, size_t n, int64_t now)
{
	if (n >= 2 && s[0] == '*' && s[1] == ' ')
		on_server_line(t, c, s, n);
	else
		on_chat_line(t, c, s, n, now);
}

/* --ws: the 101 answer, then server frames (unmasked); returns where unparsed bytes start. */
static char *client_frames(struct thread *t, struct client *c, char *p, char *end, int64_t now)
{
	if (!c->upgraded) {
		char *h = memmem(p, (size_t)(end - p), "\r\n\r\n", 4);
		if (h == NULL)
			return p;
		if (memcmp(p, "HTTP/1.1 101 ", 13) != 0) {
			if (!c->dead) {
				c->dead = true;
				kadd(&t->k.dead, 1);
			}
			return end;
		}
		c->upgraded = true;
		p = h + 4;
	}
	while (end - p >= 2) {
		size_t n = (unsigned char)p[1] & 127, off = 2;
		if (n == 126) {
			if (end - p < 4)
				break;
			n = (size_t)(unsigned char)p[2] << 8 | (unsigned char)p[3];
			off = 4;
		}
		if ((size_t)(end - p) < off + n)
			break;
		if ((p[0] & 15) == 1)
			client_on_line(t, c, p + off, n, now);
		p += off + n;
	}
	return p;
}

/* ---- --redis: RESP ----------------------------------------------------------------------------- */

#define RESP_MORE 0    /* the frame is not complete yet */
#define RESP_BAD  (-1) /* not what Redis sends */

struct resp_str {
	const char *s;
	size_t n;
};

static void client_mark_dead(struct thread *t, struct client *c)
{
	if (!c->dead) {
		c->dead = true;
		kadd(&t->k.dead, 1);
	}
}

/* The CRLF-terminated decimal after the type byte at p; returns the bytes it takes (type byte
 * and CRLF included), RESP_MORE or RESP_BAD. */
static long resp_number(const char *p, const char *end, long long *v)
{
	const char *q = p + 1;
	bool neg = q < end && *q == '-';
	q += neg;
	const char *digits = q;
	long long x = 0;
	for (; q < end && *q >= '0' && *q <= '9'; q++) {
		if (q - digits >= 18)
			return RESP_BAD;
		x = x * 10 + (*q - '0');
	}
	if (q == end || q + 1 == end)
		return RESP_MORE; /* the CRLF has not arrived yet */
	if (q == digits || q[0] != '\r' || q[1] != '\n')
		return RESP_BAD;
	*v = neg ? -x : x;
	return (long)(q + 2 - p);
}

/* One bulk string ($) or integer (:) element; its text in *out. */
static long resp_element(const char *p, const char *end, struct resp_str *out)
{
	long long v = 0;
	if (p >= end)
		return RESP_MORE;
	if (*p != '$' && *p != ':')
		return RESP_BAD;
	long k = resp_number(p, end, &v);
	if (k <= 0)
		return k;
	if (*p == ':') {
		out->s = p + 1;
		out->n = (size_t)k - 3;
		return k;
	}
	if (v < 0 || v > 1 << 20)
		return RESP_BAD;
	if (end - p < k + v + 2)
		return RESP_MORE;
	if (p[k + v] != '\r' || p[k + v + 1] != '\n')
		return RESP_BAD;
	out->s = p + k;
	out->n = (size_t)v;
	return k + (long)v + 2;
}

/* An array of 1..max elements (what Redis pushes to a subscriber). */
static long resp_array(const char *p, const char *end, struct resp_str *el, int max, int *count)
{
	long long n = 0;
	if (p >= end)
		return RESP_MORE;
	if (*p != '*')
		return RESP_BAD;
	long at = resp_number(p, end, &n);
	if (at <= 0)
		return at;
	if (n < 1 || n > max)
		return RESP_BAD;
	for (int i = 0; i < n; i++) {
		long k = resp_element(p + at, end, &el[i]);
		if (k <= 0)
			return k;
		at += k;
	}
	*count = (int)n;
	return at;
}

static bool resp_is(const struct resp_str *e, const char *word)
{
	return e->n == strlen(word) && !memcmp(e->s, word, e->n);
}

static _Atomic bool redis_error_told; /* the first error reply is printed, not every one */

static void redis_tell_error(const char *p, const char *crlf)
{
	if (!atomic_exchange(&redis_error_told, true))
		fprintf(stderr, "flood: redis: %.*s\n", (int)(crlf - p), p);
}

/* A subscriber's input: the subscribe confirmation (its welcome), then pushed messages.
 * Returns where the unparsed bytes (an incomplete frame) start. */
static char *client_pushes(struct thread *t, struct client *c, char *p, char *end, int64_t now)
{
	while (p < end) {
		if (*p == '-') { /* an error instead of the confirmation: maxclients, ... */
			char *crlf = memmem(p, (size_t)(end - p), "\r\n", 2);
			if (crlf == NULL)
				return p;
			redis_tell_error(p, crlf);
			client_mark_dead(t, c);
			return end;
		}
		struct resp_str el[3];
		int n = 0;
		long k = resp_array(p, end, el, 3, &n);
		if (k == RESP_MORE)
			return p;
		if (k == RESP_BAD || n != 3) {
			client_mark_dead(t, c);
			return end;
		}
		if (resp_is(&el[0], "message")) {
			on_delivery(t, c, el[2].s, el[2].s + el[2].n, now);
		} else if (resp_is(&el[0], "subscribe") && !c->welcomed) {
			c->welcomed = c->joined = true;
			kadd(&t->k.welcomed, 1);
			kadd(&t->k.joined, 1);
			hist_add(&t->welcome, now - c->started_ns);
		}
		p += k;
	}
	return p;
}

/* A publisher's input: one integer reply per PUBLISH (the subscribers it reached), or an error. */
static char *client_replies(struct thread *t, struct client *c, char *p, char *end)
{
	char *crlf;
	while ((crlf = memmem(p, (size_t)(end - p), "\r\n", 2)) != NULL) {
		if (*p == '-') {
			redis_tell_error(p, crlf);
			kadd(&t->k.publish_errors, 1);
		} else if (*p != ':') {
			client_mark_dead(t, c);
			return end;
		}
		p = crlf + 2;
	}
	return p;
}

/* ---- reading -------------------------------------------------------------------------------- */

static void client_read(struct thread *t, struct client *c)
{
	for (;;) {
		char *buf = t->rbuf;
		size_t have = c->part_len;
		memcpy(buf, c->part, have);
		ssize_t n = recv(c->fd, buf + have, RBUF - have, 0);
		if (n <= 0) {
			if (n < 0 && errno == EAGAIN)
				return;
			if (n < 0 && errno == EINTR)
				continue;
			if (!c->dead) {
				c->dead = true;
				kadd(&t->k.dead, 1);
			}
			epoll_ctl(t->epfd, EPOLL_CTL_DEL, c->fd, NULL);
			return;
		}
		kadd(&t->k.bytes_in, (uint64_t)n);
		int64_t now = now_ns(); /* one clock read per read(), not per line */
		size_t len = have + (size_t)n;
		char *p = buf, *end = buf + len, *nl;
		if (opt.ws)
			p = client_frames(t, c, buf, end, now);
		else if (opt.redis && c->publisher)
			p = client_replies(t, c, buf, end);
		else if (opt.redis)
			p = client_pushes(t, c, buf, end, now);
		else
			while ((nl = memchr(p, '\n', (size_t)(end - p))) != NULL) {
				client_on_line(t, c, p, (size_t)(nl - p), now);
				p = nl + 1;
			}
		if (c->dead) { /* --redis: an error reply, or bytes that are not RESP */
			epoll_ctl(t->epfd, EPOLL_CTL_DEL, c->fd, NULL);
			return;
		}
		c->part_len = (size_t)(end - p);
		if (c->part_len > (size_t)opt.payload + 4096)
			c->part_len = 0; /* a line longer than anything we send: not ours */
		memcpy(c->part, p, c->part_len);
		if ((size_t)n < RBUF - have)
			return; /* short read: drained */
	}
}

/* ---- the thread loop ---------------------------------------------------------------------------- */

/* Whether this connection sends lines: a sender, its publishing connection with --redis. */
static bool client_sends(const struct client *c)
{
	return c->sender >= 0 && (!opt.redis || c->publisher);
}

/* The connection is made: a --ws client asks for the upgrade, a --redis client subscribes. */
static void client_on_connected(struct thread *t, struct client *c)
{
	c->connected = true;
	if (c->publisher) {
		kadd(&t->k.pubs_up, 1);
		return;
	}
	kadd(&t->k.connected, 1);
	if (opt.ws) {
		static const char req[] = "GET /ws HTTP/1.1\r\nHost: flood\r\nUpgrade: "
					  "websocket\r\n"
					  "Connection: Upgrade\r\n"
					  "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
					  "Sec-WebSocket-Version: 13\r\n\r\n";
		memcpy(c->out, req, sizeof(req) - 1);
		c->out_len = sizeof(req) - 1;
		client_flush(t, c);
	} else if (opt.redis) {
		c->out_len = (size_t)sprintf(c->out, "*2\r\n$9\r\nSUBSCRIBE\r\n$%zu\r\n%s\r\n",
					     strlen(opt.channel), opt.channel);
		client_flush(t, c);
	}
}

static void *thread_main(void *arg)
{
	struct thread *t = arg;
	struct epoll_event ev[MAX_EVENTS];
	int next_connect = 0;
	int64_t connect_period =
	    opt.connect_rate > 0 ? (int64_t)((double)NS * opt.threads / opt.connect_rate) : 0;
	int64_t next_connect_ns = now_ns();
	int64_t last_p99 = now_ns();
	struct hist window = { 0 };
	while (atomic_load(&phase) != PH_DONE) {
		int64_t now = now_ns();
		int ph = atomic_load(&phase);
		/* connect, paced if asked */
		while (next_connect < t->nclients && now >= next_connect_ns) {
			client_connect(t, t->clients[next_connect++]);
			if (connect_period)
				next_connect_ns += connect_period;
			else if (next_connect % 256 == 0)
				break; /* let replies in between batches */
		}
		int64_t due = INT64_MAX;
		if (ph == PH_SEND)
			for (int i = 0; i < t->nclients; i++)
				if (client_sends(t->clients[i])) {
					int64_t d = client_send_due(t, t->clients[i], now);
					if (d < due)
						due = d;
				}
		int timeout = 100;
		if (next_connect < t->nclients)
			timeout = connect_period ? (int)((next_connect_ns - now) / 1000000) : 0;
		if (due != INT64_MAX) {
			int64_t ms = (due - now_ns()) / 1000000;
			if (ms < timeout)
				timeout = ms < 0 ? 0 : (int)ms;
		}
		if (opt.rate == 0 && atomic_load(&phase) == PH_SEND)
			timeout = timeout > 1 ? 1 : timeout;
		/* release: main reads sent_by after seeing that every thread stopped sending */
		atomic_store_explicit(&t->seen_phase, ph, memory_order_release);
		int n = epoll_wait(t->epfd, ev, MAX_EVENTS, timeout < 0 ? 0 : timeout);
		for (int i = 0; i < n; i++) {
			struct client *c = ev[i].data.ptr;
			if (!c->connected && (ev[i].events & (EPOLLOUT | EPOLLERR | EPOLLHUP))) {
				int err = 0;
				socklen_t len = sizeof(err);
				getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len);
				if (err) {
					client_connect_failed(t, c, err);
					epoll_ctl(t->epfd, EPOLL_CTL_DEL, c->fd, NULL);
					continue;
				}
				client_on_connected(t, c);
			}
			if (ev[i].events & EPOLLIN)
				client_read(t, c);
			if ((ev[i].events & EPOLLOUT) && c->blocked) {
				c->blocked = false;
				client_flush(t, c);
			}
		}
		/* p99 of the last second, for the progress line */
		if (now - last_p99 > NS) {
			struct hist cur = t->latency;
			for (int i = 0; i < HIST_BUCKETS; i++)
				window.count[i] = cur.count[i] - window.count[i];
			window.n = cur.n - window.n;
			atomic_store(&t->p99_window_ns, (uint64_t)hist_pct(&window, 99));
			window = cur;
			last_p99 = now;
		}
	}
	return NULL;
}

/* ---- the per-target and per-server report ------------------------------------------------------ */

/* One target's receivers (the clients connected to it), counted after the run. */
struct target_tally {
	uint64_t connected, joined, expected, delivered, lost, undelivered_cut;
	uint64_t lost_across; /* of lost: lines sent to another target that never came here */
};

/* Lost deliveries as main() counts them (lines sent and never seen, plus the gaps), per target
 * of the receiver, and which of them were sent through another target. */
static struct target_tally *targets_tally(void)
{
	struct target_tally *tt = calloc((size_t)ntargets, sizeof(*tt));
	if (tt == NULL)
		return NULL;
	for (int i = 0; i < opt.clients; i++) {
		const struct client *c = &clients[i];
		struct target_tally *t = &tt[c->target];
		t->connected += c->connected;
		t->delivered += c->delivered;
		t->lost += c->gap_lost;
		t->lost_across += c->gap_lost_across;
		if (!c->joined)
			continue;
		t->joined++;
		for (int s = 0; s < nsenders; s++) {
			const struct client *from = &clients[sender_client[s]];
			if (from->room != c->room)
				continue;
			uint64_t n = atomic_load_explicit(&sent_by[s], memory_order_acquire);
			uint64_t missing = c->expect[s] < n ? n - c->expect[s] : 0;
			t->expected += n;
			if (c->cut_slow || c->dead) {
				t->undelivered_cut += missing;
				continue;
			}
			t->lost += missing;
			if (from->target != c->target)
				t->lost_across += missing;
		}
	}
	return tt;
}

/* Clients connected to the targets a measured server serves. */
static uint64_t proc_clients(int proc, const struct target_tally *tt)
{
	uint64_t n = 0;
	for (int i = 0; i < ntargets; i++)
		if (targets[i].proc == proc)
			n += tt[i].connected;
	return n;
}

/* Bytes of server memory per connected client: RSS with clients idle minus before. */
static double rss_per_client(const struct proc_figures *f, uint64_t connected)
{
	return f->rss_before >= 0 && connected
		   ? (double)(f->rss_idle - f->rss_before) * 1024.0 / (double)connected
		   : -1;
}

static void server_json(const struct proc_figures *f, uint64_t connected, double send_s)
{
	printf("\"cpu_s\":%.3f,\"cpu_s_per_s\":%.3f,\"rss_before_kib\":%ld,\"rss_idle_kib\":%ld,"
	       "\"rss_peak_kib\":%ld,\"rss_per_client_b\":%.0f",
	       f->cpu1 - f->cpu0, (f->cpu1 - f->cpu0) / send_s, f->rss_before, f->rss_idle,
	       f->rss_peak, rss_per_client(f, connected));
}

static void server_text(const char *label, const struct proc_figures *f, uint64_t connected,
			double send_s)
{
	printf(
	    "server:   %s%.2f CPU s while sending (%.2f cores); RSS %ld KiB before, %ld KiB with "
	    "clients idle (%.0f B per client), peak %ld KiB\n",
	    label, f->cpu1 - f->cpu0, (f->cpu1 - f->cpu0) / send_s, f->rss_before, f->rss_idle,
	    rss_per_client(f, connected), f->rss_peak);
}

static uint64_t lost_across_all(const struct target_tally *tt)
{
	uint64_t n = 0;
	for (int i = 0; i < ntargets; i++)
		n += tt[i].lost_across;
	return n;
}

/* --targets/--ports, --json: "targets" (and with --server-pid "servers", each process once). */
static void targets_json(const struct target_tally *tt, double send_s)
{
	printf(",\"targets\":[");
	for (int i = 0; i < ntargets; i++) {
		const struct target *t = &targets[i];
		const struct target_tally *k = &tt[i];
		printf("%s{\"address\":\"%s\",\"clients\":%d,\"senders\":%d,\"connected\":%llu,"
		       "\"joined\":%llu,\"expected\":%llu,\"delivered\":%llu,\"lost\":%llu,"
		       "\"lost_from_other_targets\":%llu,\"undelivered_to_cut_off\":%llu",
		       i ? "," : "", t->name, t->clients, t->senders,
		       (unsigned long long)k->connected, (unsigned long long)k->joined,
		       (unsigned long long)k->expected, (unsigned long long)k->delivered,
		       (unsigned long long)k->lost, (unsigned long long)k->lost_across,
		       (unsigned long long)k->undelivered_cut);
		if (t->proc >= 0)
			printf(",\"pid\":%d", procs[t->proc].pid);
		printf("}");
	}
	printf("],\"lost_across_targets\":%llu", (unsigned long long)lost_across_all(tt));
	if (!nprocs)
		return;
	printf(",\"servers\":[");
	for (int p = 0; p < nprocs; p++) {
		printf("%s{\"pid\":%d,\"targets\":[", p ? "," : "", procs[p].pid);
		for (int i = 0, first = 1; i < ntargets; i++)
			if (targets[i].proc == p) {
				printf("%s\"%s\"", first ? "" : ",", targets[i].name);
				first = 0;
			}
		printf("],");
		server_json(&procs[p], proc_clients(p, tt), send_s);
		printf("}");
	}
	printf("]");
}

/* --targets/--ports, the report: each target's receivers. */
static void targets_text(const struct target_tally *tt)
{
	for (int i = 0; i < ntargets; i++) {
		const struct target_tally *k = &tt[i];
		printf("  %-20s %d clients (%d sending), %llu in their room: %llu deliveries "
		       "expected, %llu delivered, %llu lost (%llu of lines sent to another "
		       "target)",
		       targets[i].name, targets[i].clients, targets[i].senders,
		       (unsigned long long)k->joined, (unsigned long long)k->expected,
		       (unsigned long long)k->delivered, (unsigned long long)k->lost,
		       (unsigned long long)k->lost_across);
		if (k->undelivered_cut)
			printf(", %llu to clients cut off", (unsigned long long)k->undelivered_cut);
		printf("\n");
	}
}

/* --targets/--ports with --server-pid, the report: each process, then the sum. */
static void servers_text(const struct target_tally *tt, const struct proc_figures *all,
			 uint64_t connected, double send_s)
{
	char label[160];
	for (int p = 0; p < nprocs; p++) {
		int at = snprintf(label, sizeof(label), "pid %d (", procs[p].pid);
		for (int i = 0; i < ntargets && at < (int)sizeof(label); i++)
			if (targets[i].proc == p)
				at += snprintf(label + at, sizeof(label) - (size_t)at, "%s%s",
					       label[at - 1] == '(' ? "" : " ", targets[i].name);
		if (at < (int)sizeof(label))
			snprintf(label + at, sizeof(label) - (size_t)at, "): ");
		server_text(label, &procs[p], proc_clients(p, tt), send_s);
	}
	if (nprocs > 1) {
		snprintf(label, sizeof(label), "all %d: ", nprocs);
		server_text(label, all, connected, send_s);
	}
}

/* ---- main ---------------------------------------------------------------------------------------- */

static double secs(int64_t ns)
{
	return (double)ns / (double)NS;
}

static void progress(const char *what, int64_t since)
{
	if (opt.json || !isatty(STDERR_FILENO))
		return;
	uint64_t p99 = 0;
	for (int i = 0; i < opt.threads; i++) {
		uint64_t v = atomic_load(&threads[i].p99_window_ns);
		if (v > p99)
			p99 = v;
	}
	fprintf(
	    stderr,
	    "\r%-8s %5.1fs connected %llu welcomed %llu sent %llu delivered %llu p99 %.2f ms   ",
	    what, secs(now_ns() - since), (unsigned long long)KSUM(connected),
	    (unsigned long long)KSUM(welcomed), (unsigned long long)KSUM(sent),
	    (unsigned long long)KSUM(delivered), (double)p99 / 1e6);
}

int main(int argc, char **argv)
{
	if (parse_args(argc, argv) < 0) {
		usage(stderr);
		return 2;
	}
	if (targets_build() < 0 || procs_build() < 0)
		return 2;
	(void)signal(SIGPIPE, SIG_IGN);
	struct rlimit rl;
	getrlimit(RLIMIT_NOFILE, &rl);
	rl.rlim_cur = rl.rlim_max;
	setrlimit(RLIMIT_NOFILE, &rl);
	nsenders = opt.senders;
	int npubs = opt.redis ? nsenders : 0; /* --redis: publishing connections */
	if ((rlim_t)opt.clients + (rlim_t)npubs + 64 > rl.rlim_cur) {
		fprintf(stderr,
			"flood: -c %d does not fit: the open-file limit is %llu (need clients%s + "
			"64)\n",
			opt.clients, (unsigned long long)rl.rlim_cur, npubs ? " + senders" : "");
		return 2;
	}
	int addrs = addr_count();
	per_address = addrs > 1 ? (opt.clients + addrs - 1) / addrs : 0;
	if ((double)opt.clients * nsenders > 2e8) {
		fprintf(stderr, "flood: -c x -S too large for exact checking (max 2e8)\n");
		return 2;
	}

	clients = calloc((size_t)opt.clients + (size_t)npubs, sizeof(*clients));
	threads = calloc((size_t)opt.threads, sizeof(*threads));
	sent_by = calloc((size_t)nsenders + 1, sizeof(*sent_by));
	sender_client = calloc((size_t)nsenders + 1, sizeof(int));
	if (clients == NULL || threads == NULL || sent_by == NULL || sender_client == NULL) {
		fprintf(stderr, "flood: out of memory\n");
		return 1;
	}
	for (int i = 0; i < opt.clients + npubs; i++) {
		struct client *c = &clients[i];
		c->index = i;
		c->fd = -1;
		c->room = i % opt.rooms;
		c->target = target_of(i); /* a publisher's is set below */
		c->sender = -1;
		c->part = malloc((size_t)opt.payload + 4096 + 64);
		c->expect = calloc((size_t)(nsenders ? nsenders : 1), sizeof(uint32_t));
		c->out = malloc(i < nsenders || i >= opt.clients ? out_cap() : 256);
	}
	/* senders are the first -S clients: with --rooms K they fall in rooms 0, 1, ... With
	 * --redis each also has a publishing connection (after the -c clients) that sends for it;
	 * there is one room then. */
	for (int s = 0; s < nsenders; s++) {
		clients[s].sender = s;
		sender_client[s] = s;
		if (npubs) {
			struct client *pub = &clients[opt.clients + s];
			pub->sender = s;
			pub->publisher = true;
			pub->target = clients[s].target;
			pub->peer = &clients[s];
			clients[s].peer = pub;
			sender_client[s] = opt.clients + s;
		}
	}
	for (int i = 0; i < opt.threads; i++) {
		struct thread *t = &threads[i];
		t->index = i;
		t->epfd = epoll_create1(EPOLL_CLOEXEC);
		t->rbuf = malloc(RBUF + 8192);
		/* thread i holds clients i, i + threads, ... and as many publishers */
		size_t per_thread = (size_t)(opt.clients + opt.threads - 1) / (size_t)opt.threads +
				    (size_t)(npubs + opt.threads - 1) / (size_t)opt.threads;
		/* NOLINTNEXTLINE(bugprone-sizeof-expression): an array of pointers */
		t->clients = calloc(per_thread, sizeof(*t->clients));
		if (t->clients == NULL || t->rbuf == NULL) {
			fprintf(stderr, "flood: out of memory\n");
			return 1;
		}
		for (int k = i; k < opt.clients;
		     k += opt.threads) /* client k: thread k % threads */
			t->clients[t->nclients++] = &clients[k];
		for (int k = i; k < npubs; k += opt.threads) /* a publisher: its subscriber's */
			t->clients[t->nclients++] = &clients[opt.clients + k];
	}

	procs_sample(PROC_BEFORE);
	t_start = now_ns();
	for (int i = 0; i < opt.threads; i++)
		pthread_create(&threads[i].tid, NULL, thread_main, &threads[i]);

	/* ---- connect phase: everyone connected (or failed), welcomed and in its room ---- */
	int64_t t_connected = 0, t_welcomed = 0, deadline = t_start + 60 * NS;
	while (now_ns() < deadline) {
		usleep(10000);
		uint64_t done = KSUM(connected) + KSUM(connect_failed);
		if (!t_connected && done >= (uint64_t)opt.clients)
			t_connected = now_ns();
		if (!t_welcomed && KSUM(welcomed) + KSUM(connect_failed) >= (uint64_t)opt.clients)
			t_welcomed = now_ns();
		if (t_welcomed && KSUM(joined) + KSUM(connect_failed) >= (uint64_t)opt.clients &&
		    KSUM(pubs_up) + KSUM(pubs_failed) >= (uint64_t)npubs)
			break;
		static int64_t last;
		if (now_ns() - last > NS / 2) {
			progress("connect", t_start);
			last = now_ns();
		}
	}
	/* quiet: no server notice for a full second (at most 30 s) */
	int64_t last_notice = 0;
	while (now_ns() < deadline + 30 * NS) {
		usleep(50000);
		last_notice = 0;
		for (int i = 0; i < opt.threads; i++) {
			int64_t v = atomic_load(&threads[i].k.last_notice_ns);
			if (v > last_notice)
				last_notice = v;
		}
		if (now_ns() - (last_notice ? last_notice : t_welcomed) > NS)
			break;
	}
	int64_t t_quiet = last_notice > t_welcomed ? last_notice : t_welcomed;
	uint64_t connect_bytes = KSUM(bytes_in);
	uint64_t entries_seen = KSUM(notice_entries);
	procs_sample(PROC_IDLE);
	uint64_t dead_before = KSUM(dead);

	/* ---- message phase ---- */
	int64_t t_send = now_ns() + NS / 20;
	t_measure_from = t_send + (int64_t)(opt.warmup * NS);
	t_send_end = t_measure_from + (int64_t)(opt.duration * NS);
	for (int s = 0; s < nsenders; s++)
		clients[sender_client[s]].next_send_ns =
		    t_send + (int64_t)((double)NS * s / (nsenders * (opt.rate ? opt.rate : 1)));
	atomic_store(&phase, PH_SEND);
	if (opt.ready_file[0]) {
		FILE *rf = fopen(opt.ready_file, "w");
		if (rf != NULL)
			(void)fclose(rf);
	}
	uint64_t delivered_at_measure = 0;
	bool measured_mark = false;
	while (now_ns() < t_send_end) {
		usleep(20000);
		if (!measured_mark && now_ns() >= t_measure_from) {
			delivered_at_measure = KSUM(delivered);
			measured_mark = true;
		}
		static int64_t last;
		if (now_ns() - last > NS) {
			progress("send", t_send);
			last = now_ns();
		}
	}
	uint64_t delivered_at_end = KSUM(delivered);
	int64_t t_end = now_ns();
	atomic_store(&phase, PH_DRAIN);
	for (int i = 0; i < opt.threads; i++) /* wait until no thread is still sending */
		while (atomic_load_explicit(&threads[i].seen_phase, memory_order_acquire) <
		       PH_DRAIN)
			usleep(1000);
	procs_sample(PROC_SENT);

	/* expected deliveries: each line to every connected member of the sender's room */
	long *room_members = calloc((size_t)opt.rooms, sizeof(long));
	if (room_members == NULL) {
		fprintf(stderr, "flood: out of memory\n");
		return 1;
	}
	for (int i = 0; i < opt.clients; i++)
		if (clients[i].joined)
			room_members[clients[i].room]++;
	uint64_t sent = 0, expected = 0;
	for (int s = 0; s < nsenders; s++) {
		uint64_t n = atomic_load_explicit(&sent_by[s], memory_order_acquire);
		sent += n;
		expected += n * (uint64_t)room_members[clients[sender_client[s]].room];
	}
	free(room_members);
	int64_t drain_deadline = now_ns() + (int64_t)(opt.drain * NS);
	while (KSUM(delivered) < expected && now_ns() < drain_deadline)
		usleep(10000);
	atomic_store(&phase, PH_DONE);
	for (int i = 0; i < opt.threads; i++)
		pthread_join(threads[i].tid, NULL);
	if (!opt.json && isatty(STDERR_FILENO))
		fputc('\n', stderr);

	/* ---- results ---- */
	uint64_t delivered = KSUM(delivered), dups = KSUM(duplicates), ooo = KSUM(out_of_order);
	/* lost: per receiver and sender in its room, lines sent that never arrived */
	uint64_t lost = 0, lost_slow = 0;
	for (int i = 0; i < opt.clients; i++) {
		struct client *c = &clients[i];
		if (!c->joined)
			continue;
		if (c->cut_slow || c->dead) { /* cut off (and told so): counted apart */
			for (int s = 0; s < nsenders; s++) {
				if (clients[sender_client[s]].room != c->room)
					continue;
				uint64_t n =
				    atomic_load_explicit(&sent_by[s], memory_order_acquire);
				if (c->expect[s] < n)
					lost_slow += n - c->expect[s];
			}
			continue;
		}
		for (int s = 0; s < nsenders; s++) {
			if (clients[sender_client[s]].room != c->room)
				continue;
			uint64_t n = atomic_load_explicit(&sent_by[s], memory_order_acquire);
			if (c->expect[s] < n)
				lost += n - c->expect[s];
		}
	}
	lost += KSUM(lost_gap);
	struct hist lat = { 0 }, wel = { 0 };
	for (int i = 0; i < opt.threads; i++) {
		hist_merge(&lat, &threads[i].latency);
		hist_merge(&wel, &threads[i].welcome);
	}
	double window = secs(t_end - t_measure_from);
	double dps = window > 0 ? (double)(delivered_at_end - delivered_at_measure) / window : 0;
	uint64_t connected = KSUM(connected), failed = KSUM(connect_failed) + KSUM(pubs_failed);
	uint64_t publish_errors = KSUM(publish_errors);
	uint64_t cut_slow = KSUM(cut_slow);
	uint64_t dead = KSUM(dead) > cut_slow ? KSUM(dead) - cut_slow : 0; /* unexpected ones */
	procs_sample(PROC_PEAK);
	struct proc_figures all = procs_sum();
	struct target_tally *tally = targets_tally();
	if (tally == NULL) {
		fprintf(stderr, "flood: out of memory\n");
		return 1;
	}
	double send_s = secs(t_end - t_send);
	bool ok = lost <= (uint64_t)opt.max_loss && dead == 0 && publish_errors == 0;

	if (opt.json) {
		printf("{\"target\":\"%s\",\"clients\":%d,\"senders\":%d,\"rate\":%g,\"duration\":%"
		       "g,\"warmup\":%g,"
		       "\"payload\":%d,\"threads\":%d,\"rooms\":%d,"
		       "\"connect\":{\"connected\":%llu,\"failed\":%llu,\"seconds\":%.3f,"
		       "\"per_second\":%.0f,\"welcome_p50_ms\":%.3f,\"welcome_p99_ms\":%.3f,"
		       "\"all_welcomed_s\":%.3f,\"quiet_s\":%.3f,\"notice_bytes\":%llu,"
		       "\"entries_seen\":%llu},"
		       "\"messages\":{\"sent\":%llu,\"expected\":%llu,\"delivered\":%llu,"
		       "\"lost\":%llu,\"duplicated\":%llu,\"out_of_order\":%llu,"
		       "\"undelivered_to_cut_off\":%llu,\"slow_consumers_cut\":%llu,"
		       "\"deliveries_per_s\":%.0f,\"latency_ms\":{\"p50\":%.3f,\"p90\":%.3f,"
		       "\"p99\":%.3f,\"p999\":%.3f,\"max\":%.3f},\"measured\":%llu},"
		       "\"unexpected_disconnects\":%llu",
		       opt.redis ? "redis" : "chatd", opt.clients, nsenders, opt.rate, opt.duration,
		       opt.warmup, opt.payload, opt.threads, opt.rooms,
		       (unsigned long long)connected, (unsigned long long)failed,
		       secs((t_connected ? t_connected : t_end) - t_start),
		       (double)connected / secs((t_connected ? t_connected : t_end) - t_start),
		       hist_pct(&wel, 50) / 1e6, hist_pct(&wel, 99) / 1e6,
		       secs((t_welcomed ? t_welcomed : t_end) - t_start), secs(t_quiet - t_start),
		       (unsigned long long)connect_bytes, (unsigned long long)entries_seen,
		       (unsigned long long)sent, (unsigned long long)expected,
		       (unsigned long long)delivered, (unsigned long long)lost,
		       (unsigned long long)dups, (unsigned long long)ooo,
		       (unsigned long long)lost_slow, (unsigned long long)cut_slow, dps,
		       hist_pct(&lat, 50) / 1e6, hist_pct(&lat, 90) / 1e6, hist_pct(&lat, 99) / 1e6,
		       hist_pct(&lat, 99.9) / 1e6, (double)lat.max / 1e6, (unsigned long long)lat.n,
		       (unsigned long long)dead);
		if (opt.redis)
			printf(",\"publish_errors\":%llu", (unsigned long long)publish_errors);
		if (nprocs) { /* with several: their sum */
			printf(",\"server\":{");
			server_json(&all, connected, send_s);
			printf("}");
		}
		if (multi)
			targets_json(tally, send_s);
		printf(",\"ok\":%s}\n", ok ? "true" : "false");
	} else {
		printf(
		    "flood: %d clients (%d sending %s%g lines/s each, %d-byte lines) in %d room%s, "
		    "%d threads\n",
		    opt.clients, nsenders, opt.rate ? "" : "closed-loop, window ",
		    opt.rate ? opt.rate : WINDOW, opt.payload, opt.rooms, opt.rooms > 1 ? "s" : "",
		    opt.threads);
		if (opt.redis && !multi)
			printf(
			    "target:   Redis pub/sub at %s port %d, channel %s: %d subscribers, %d "
			    "publishing connections\n",
			    opt.host, opt.port, opt.channel, opt.clients, npubs);
		if (opt.redis && multi)
			printf(
			    "target:   Redis pub/sub at %d targets, channel %s: %d subscribers, %d "
			    "publishing connections\n",
			    ntargets, opt.channel, opt.clients, npubs);
		if (multi)
			printf("targets:  %d, clients round-robin (client i to target %s mod %d)\n",
			       ntargets, opt.rooms > 1 ? "(i mod rooms + i div rooms)" : "i",
			       ntargets);
		printf("connect:  %llu connected, %llu failed in %.3f s (%.0f/s); all welcomed at "
		       "%.3f s; welcome p50 %.2f ms p99 %.2f ms\n",
		       (unsigned long long)connected, (unsigned long long)failed,
		       secs((t_connected ? t_connected : t_end) - t_start),
		       (double)connected / secs((t_connected ? t_connected : t_end) - t_start),
		       secs((t_welcomed ? t_welcomed : t_end) - t_start), hist_pct(&wel, 50) / 1e6,
		       hist_pct(&wel, 99) / 1e6);
		for (int e = 0; e < 160; e++) {
			int n = 0;
			for (int i = 0; i < opt.threads; i++)
				n += threads[i].errs[e];
			if (n)
				printf("          %d connects failed: %s\n", n, strerror(e));
		}
		printf("quiet:    room quiet at %.3f s (no server notice for 1 s); %llu bytes "
		       "received while connecting; %llu entries announced (summed over clients)\n",
		       secs(t_quiet - t_start), (unsigned long long)connect_bytes,
		       (unsigned long long)entries_seen);
		printf("messages: %llu sent, %llu deliveries expected, %llu delivered, %llu lost, "
		       "%llu duplicated, %llu out of order\n",
		       (unsigned long long)sent, (unsigned long long)expected,
		       (unsigned long long)delivered, (unsigned long long)lost,
		       (unsigned long long)dups, (unsigned long long)ooo);
		if (multi)
			targets_text(tally);
		printf("rate:     %.0f deliveries/s over %.1f s (after %.1f s warmup)\n", dps,
		       window, opt.warmup);
		printf(
		    "latency:  p50 %.3f ms  p90 %.3f ms  p99 %.3f ms  p99.9 %.3f ms  max %.3f ms "
		    "(%llu deliveries, from intended send time)\n",
		    hist_pct(&lat, 50) / 1e6, hist_pct(&lat, 90) / 1e6, hist_pct(&lat, 99) / 1e6,
		    hist_pct(&lat, 99.9) / 1e6, (double)lat.max / 1e6, (unsigned long long)lat.n);
		if (nprocs && !multi)
			server_text("", &all, connected, send_s);
		if (nprocs && multi)
			servers_text(tally, &all, connected, send_s);
		if (opt.redis)
			printf("publish:  %llu error replies\n",
			       (unsigned long long)publish_errors);
		uint64_t across = lost_across_all(tally);
		if (multi && across)
			printf(
			    "across:   %llu of the %llu lost deliveries are lines sent to another "
			    "target: the targets do not pass each other's lines on (not one "
			    "chat?)\n",
			    (unsigned long long)across, (unsigned long long)lost);
		else if (multi)
			printf("across:   no line sent to one target went missing on another\n");
		printf("result:   %s (lost %llu, max allowed %ld; unexpected disconnects %llu)\n",
		       ok ? "OK" : "FAIL", (unsigned long long)lost, opt.max_loss,
		       (unsigned long long)dead);
	}
	(void)dead_before;
	free(tally);
	return ok ? 0 : 1;
}
