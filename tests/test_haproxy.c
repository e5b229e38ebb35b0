/*
 * test_haproxy.c - the real HAProxy (Debian's haproxy) in front of the real bin/chatd, in TCP
 * mode, with the configuration docs/deploy.md explains: one frontend whose server line sends
 * the PROXY protocol's version 2 (send-proxy-v2, with health checks: LOCAL headers), one that
 * sends version 1 (send-proxy). Line users connect to HAProxy from several loopback source
 * addresses (127.0.0.2, 127.0.0.3, ...: all of 127.0.0.0/8 is this host's), and chatd must
 * see each one's own address: in its log, and in --max-conns-per-ip, which then counts every
 * user behind the proxy apart. Without the proxy: a peer not in --trusted-proxies is refused,
 * and the proxy's own address without a header is closed.
 *
 * HAProxy and chatd are child processes on free loopback ports, stopped by PID in the tests'
 * .fini (and killed with this process if it dies first). Without haproxy installed the tests
 * fail, or are skipped when not root (make test installs it when run as root).
 */
#include "testlib.h"

#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

struct haproxy {
	pid_t pid;
	uint16_t v2, v1; /* its frontends: PROXY protocol version 2 and version 1 to chatd */
	char cfg[64];    /* its configuration file */
	int out;         /* its stdout and stderr (an unlinked file) */
};

static struct tproc chatd;
static struct haproxy hp = { .out = -1 };

static const char *const chatd_args[] = {
	"--proxy-protocol",
	"--trusted-proxies",
	"127.0.0.1",
	"--max-conns-per-ip",
	"1",
	"--log-level",
	"debug",
	"--workers",
	"2",
	NULL,
};

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void need_haproxy(void)
{
	if (ts_on_path("haproxy"))
		return;
	if (geteuid() != 0)
		cr_skip_test("haproxy is not installed: sudo apt-get install -y haproxy");
	cr_assert_fail("haproxy is not installed (make test installs it when run as root)");
}

/* The configuration docs/deploy.md shows, on this test's ports. */
static void write_config(const struct haproxy *h, uint16_t chatd_port)
{
	FILE *f = fopen(h->cfg, "w");
	cr_assert_not_null(f, "%s: %s", h->cfg, strerror(errno));
	fprintf(f,
		"global\n"
		"    maxconn 1024\n"
		"defaults\n"
		"    mode tcp\n"
		"    timeout connect 5s\n"
		"    timeout client 1h\n"
		"    timeout server 1h\n"
		"frontend chat_v2\n"
		"    bind 127.0.0.1:%u\n"
		"    default_backend chatd_v2\n"
		"backend chatd_v2\n"
		"    server chatd 127.0.0.1:%u send-proxy-v2 check inter 300ms\n"
		"frontend chat_v1\n"
		"    bind 127.0.0.1:%u\n"
		"    default_backend chatd_v1\n"
		"backend chatd_v1\n"
		"    server chatd 127.0.0.1:%u send-proxy\n",
		(unsigned)h->v2, (unsigned)chatd_port, (unsigned)h->v1, (unsigned)chatd_port);
	cr_assert_eq(fclose(f), 0);
}

static bool accepts(uint16_t port)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port) };
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	bool ok = fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0;
	if (fd >= 0)
		close(fd);
	return ok;
}

/* What it printed so far (for a failure message). */
static const char *haproxy_output(const struct haproxy *h)
{
	static char text[4096];
	ssize_t n = pread(h->out, text, sizeof(text) - 1, 0);
	text[n > 0 ? n : 0] = '\0';
	return text;
}

static void haproxy_stop(struct haproxy *h)
{
	if (h->pid > 0) {
		kill(h->pid, SIGTERM);
		int64_t deadline = now_ms() + 2000;
		while (waitpid(h->pid, NULL, WNOHANG) == 0) {
			if (now_ms() >= deadline) {
				kill(h->pid, SIGKILL);
				waitpid(h->pid, NULL, 0);
				break;
			}
			usleep(10000);
		}
		h->pid = 0;
	}
	if (h->cfg[0] != '\0')
		unlink(h->cfg);
	h->cfg[0] = '\0';
	if (h->out >= 0)
		close(h->out);
	h->out = -1;
}

/* One try: haproxy -f CFG -db (in the foreground) on two free ports. Returns true once both
 * frontends accept; false when it exited first (a port taken meanwhile: try again). */
static bool haproxy_try(struct haproxy *h, uint16_t chatd_port)
{
	h->v2 = ts_free_port();
	do
		h->v1 = ts_free_port();
	while (h->v1 == h->v2);
	snprintf(h->cfg, sizeof(h->cfg), "/tmp/chatd-haproxy-XXXXXX");
	int fd = mkstemp(h->cfg);
	cr_assert_geq(fd, 0, "mkstemp: %s", strerror(errno));
	close(fd);
	write_config(h, chatd_port);
	char out[] = "/tmp/chatd-haproxy-out-XXXXXX";
	h->out = mkstemp(out);
	cr_assert_geq(h->out, 0, "mkstemp: %s", strerror(errno));
	unlink(out);
	pid_t parent = getpid();
	h->pid = fork();
	cr_assert_geq(h->pid, 0, "fork: %s", strerror(errno));
	if (h->pid == 0) {
		if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || getppid() != parent)
			_exit(126);
		if (dup2(h->out, 1) < 0 || dup2(h->out, 2) < 0)
			_exit(126);
		execlp("haproxy", "haproxy", "-f", h->cfg, "-db", (char *)NULL);
		_exit(127);
	}
	for (int64_t deadline = now_ms() + 5000; now_ms() < deadline; usleep(20000)) {
		if (waitpid(h->pid, NULL, WNOHANG) == h->pid) {
			h->pid = 0;
			return false;
		}
		if (accepts(h->v2) && accepts(h->v1))
			return true;
	}
	cr_assert_fail("haproxy did not listen within 5 s: %s", haproxy_output(h));
	return false;
}

static void haproxy_start(struct haproxy *h, uint16_t chatd_port)
{
	for (int i = 0; i < 3; i++) {
		if (haproxy_try(h, chatd_port))
			return;
		if (i == 2 || strstr(haproxy_output(h), "cannot bind") == NULL)
			cr_assert_fail("haproxy exited: %s", haproxy_output(h));
		haproxy_stop(h);
	}
}

static void start_chatd_only(void)
{
	need_haproxy();
	tp_start(&chatd, chatd_args);
}

static void start_both(void)
{
	start_chatd_only();
	haproxy_start(&hp, chatd.port);
}

static void stop_both(void)
{
	haproxy_stop(&hp);
	tp_stop(&chatd);
}

/* A line user through HAProxy's frontend port, from loopback address source. */
static struct tclient *join_through(const char *source, uint16_t port)
{
	return tc_join_from(source, port);
}

/* chatd's log says it took source (any port) as a user's address from a header of version v. */
static void assert_seen(int v, const char *source)
{
	char text[64];
	snprintf(text, sizeof(text), "PROXY v%d: client %s:", v, source);
	cr_assert(tp_wait_log(&chatd, text, 3000), "no '%s' in chatd's log:\n%s", text, chatd.log);
}

Test(haproxy, send_proxy_v2_users_are_seen_from_their_own_addresses, .init = start_both,
     .fini = stop_both, .timeout = 60)
{
	struct tclient *a = join_through("127.0.0.2", hp.v2);
	struct tclient *b = join_through("127.0.0.3", hp.v2);
	tc_send(a, "hello through haproxy\n");
	char want[80];
	snprintf(want, sizeof(want), "%llu:hello through haproxy", (unsigned long long)a->name);
	tc_expect_eventually(b, want, 3000);
	assert_seen(2, "127.0.0.2");
	assert_seen(2, "127.0.0.3");
	tc_close(a);
	tc_close(b);
}

Test(haproxy, send_proxy_v1_users_are_seen_from_their_own_addresses, .init = start_both,
     .fini = stop_both, .timeout = 60)
{
	struct tclient *a = join_through("127.0.0.4", hp.v1);
	struct tclient *b = join_through("127.0.0.5", hp.v1);
	tc_send(b, "v1 here\n");
	char want[80];
	snprintf(want, sizeof(want), "%llu:v1 here", (unsigned long long)b->name);
	tc_expect_eventually(a, want, 3000);
	assert_seen(1, "127.0.0.4");
	assert_seen(1, "127.0.0.5");
	tc_close(a);
	tc_close(b);
}

Test(haproxy, max_conns_per_ip_counts_each_user_behind_haproxy_apart, .init = start_both,
     .fini = stop_both, .timeout = 60)
{
	/* every connection reaches chatd from 127.0.0.1 (HAProxy), and the limit is 1 */
	struct tclient *a = join_through("127.0.0.2", hp.v2);
	struct tclient *b = join_through("127.0.0.3", hp.v2);
	struct tclient *c = join_through("127.0.0.4", hp.v1);
	const char *refused = "* error: too many connections from 127.0.0.2 (max 1); try again "
			      "later.";
	struct tclient *again = tc_adopt(ts_dial_from("127.0.0.2", hp.v2));
	tc_expect(again, refused);
	tc_expect_closed(again, 3000);
	tc_close(again);
	again = tc_adopt(ts_dial_from("127.0.0.2", hp.v1)); /* the other frontend: same user */
	tc_expect(again, refused);
	tc_close(again);
	tc_close(a);
	tc_close(b);
	tc_close(c);
}

Test(haproxy, health_checks_send_local_headers_that_make_no_user, .init = start_both,
     .fini = stop_both, .timeout = 60)
{
	cr_assert(tp_wait_log(&chatd, "PROXY v2 LOCAL from 127.0.0.1:", 5000),
		  "no health check seen:\n%s", chatd.log);
	char out[65536];
	char req[] = "GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
	cr_assert_eq(ts_http(chatd.admin, req, out, sizeof(out)), 200);
	uint64_t headers = 0, bad = 0;
	for (const char *p = out; (p = strstr(p, "\nchatd_proxy_")) != NULL; p++) {
		unsigned w;
		unsigned long long v;
		if (sscanf(p, "\nchatd_proxy_headers_total{worker=\"%u\"} %llu", &w, &v) == 2)
			headers += v;
		if (sscanf(p, "\nchatd_proxy_bad_header_total{worker=\"%u\"} %llu", &w, &v) == 2)
			bad += v;
	}
	cr_assert_gt(headers, 0, "chatd_proxy_headers_total:\n%s", out);
	cr_assert_eq(bad, 0, "a health check taken for a bad header:\n%s", out);
	cr_assert_null(strstr(chatd.log, "speaks line"), "a health check became a user:\n%s",
		       chatd.log);
}

Test(haproxy, a_direct_connection_from_an_untrusted_address_is_refused, .init = start_chatd_only,
     .fini = stop_both, .timeout = 60)
{
	struct tclient *c = tc_adopt(ts_dial_from("127.0.0.2", chatd.port));
	tc_expect(c, "* error: this server takes connections through its proxies only.");
	tc_expect_closed(c, 3000);
	tc_close(c);
	cr_assert(tp_wait_log(&chatd, "127.0.0.2 is not in --trusted-proxies", 3000), "%s",
		  chatd.log);
}

Test(haproxy, a_direct_connection_from_the_proxys_address_without_a_header_is_closed,
     .init = start_chatd_only, .fini = stop_both, .timeout = 60)
{
	struct tclient *c = tc_adopt(ts_dial_from("127.0.0.1", chatd.port));
	tc_send(c, "hello\n");
	tc_expect_closed(c, 3000);
	tc_close(c);
	cr_assert(tp_wait_log(&chatd, "not a PROXY protocol header; closed", 3000), "%s",
		  chatd.log);
}
