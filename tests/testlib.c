/*
 * testlib.c - see testlib.h.
 */
#include "testlib.h"
#include "log.h"
#include "msg.h"

#include <criterion/criterion.h>
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

struct config ts_config(int workers)
{
	struct config cfg;
	config_defaults(&cfg);
	cfg.workers = workers;
	cfg.port = 0;
	snprintf(cfg.bind_addr, sizeof(cfg.bind_addr), "127.0.0.1");
	cfg.log_level = LOG_ERROR;
	cfg.admin[0] = '\0'; /* off: parallel tests would fight over one admin port */
	cfg.irc_port = -1;   /* off, likewise (test_ircd turns it on, port 0) */
	return cfg;
}

struct server *ts_start(const struct config *cfg)
{
	log_set_level((enum log_level)cfg->log_level);
	struct server *srv = NULL;
	int rc = server_start(cfg, &srv);
	cr_assert_eq(rc, 0, "server_start: %s", strerror(-rc));
	return srv;
}

void ts_stop(struct server *srv)
{
	ts_stop_all(&srv, 1);
}

void ts_stop_all(struct server **srv, int n)
{
	for (int i = 0; i < n; i++)
		server_stop(srv[i]);
	for (int i = 0; i < n; i++)
		server_wait(srv[i]);
	long live = msg_live_count();
	cr_assert_eq(live, 0, "%ld message buffers leaked", live);
}

struct server_stats ts_stats(struct server *srv)
{
	struct server_stats st;
	server_get_stats(srv, &st);
	return st;
}

void ts_wait_users(struct server *srv, long users)
{
	struct server_stats st;
	for (int i = 0; i < 500; i++) {
		st = ts_stats(srv);
		if (st.users == users)
			return;
		usleep(10000);
	}
	cr_assert_fail("server has %ld users, expected %ld", st.users, users);
}

void ts_wait_conns(struct server *srv, long conns)
{
	struct server_stats st;
	for (int i = 0; i < 500; i++) {
		st = ts_stats(srv);
		if (st.conns == conns)
			return;
		usleep(10000);
	}
	cr_assert_fail("server has %ld connections, expected %ld", st.conns, conns);
}

uint64_t ts_wait_counter(struct server *srv, size_t offset, const char *name, uint64_t want,
			 int timeout_ms)
{
	int64_t deadline = now_ms() + timeout_ms;
	uint64_t v = 0;
	for (;;) {
		struct server_stats st = ts_stats(srv);
		memcpy(&v, (const char *)&st + offset, sizeof(v));
		if (v >= want || now_ms() >= deadline)
			break;
		usleep(10000);
	}
	cr_assert_geq(v, want, "counter %s is %llu after %d ms, expected %llu", name,
		      (unsigned long long)v, timeout_ms, (unsigned long long)want);
	return v;
}

void ts_join_users(struct server *srv, struct tclient **c, int n)
{
	for (int i = 0; i < n; i++)
		c[i] = tc_join(server_port(srv));
	ts_wait_users(srv, n);
}

void ts_join_pair(struct server *srv, struct tclient **a, struct tclient **b)
{
	*a = tc_join(server_port(srv));
	*b = tc_join(server_port(srv));
	char want[64];
	snprintf(want, sizeof(want), "* %llu has entered.", (unsigned long long)(*b)->name);
	tc_expect(*a, want);
}

int ts_dial(uint16_t port)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	cr_assert_geq(fd, 0, "socket: %s", strerror(errno));
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port) };
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	cr_assert_eq(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0, "connect: %s",
		     strerror(errno));
	return fd;
}

int ts_dial_from(const char *source, uint16_t port)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	cr_assert_geq(fd, 0, "socket: %s", strerror(errno));
	struct sockaddr_in from = { .sin_family = AF_INET };
	cr_assert_eq(inet_pton(AF_INET, source, &from.sin_addr), 1, "%s", source);
	cr_assert_eq(bind(fd, (struct sockaddr *)&from, sizeof(from)), 0, "bind %s: %s", source,
		     strerror(errno));
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port) };
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	cr_assert_eq(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0, "connect from %s: %s",
		     source, strerror(errno));
	return fd;
}

int ts_http(uint16_t port, const char *request, char *out, size_t cap)
{
	int fd = ts_dial(port);
	send(fd, request, strlen(request), MSG_NOSIGNAL);
	return ts_http_answer(fd, out, cap, 15000);
}

int ts_http_answer(int fd, char *out, size_t cap, int timeout_ms)
{
	size_t len = 0;
	ssize_t n;
	struct pollfd p = { .fd = fd, .events = POLLIN };
	while (len < cap - 1 && poll(&p, 1, timeout_ms) == 1 &&
	       (n = recv(fd, out + len, cap - 1 - len, 0)) > 0)
		len += (size_t)n;
	out[len] = '\0';
	close(fd);
	int status;
	if (sscanf(out, "HTTP/1.1 %d", &status) != 1)
		status = 0; /* no status line */
	return status;
}

struct tclient *tc_adopt(int fd)
{
	struct tclient *c = calloc(1, sizeof(*c));
	cr_assert_not_null(c);
	c->fd = fd;
	return c;
}

struct tclient *tc_connect(uint16_t port)
{
	return tc_adopt(ts_dial(port));
}

/* Reads c's welcome line and records its name. */
static struct tclient *tc_welcomed(struct tclient *c)
{
	char line[256];
	cr_assert_eq(tc_read_line(c, line, sizeof(line), 5000), 1, "no welcome line");
	unsigned long long name;
	cr_assert_eq(sscanf(line, "* Welcome, %llu.", &name), 1, "bad welcome: '%s'", line);
	c->name = name;
	return c;
}

struct tclient *tc_join(uint16_t port)
{
	return tc_welcomed(tc_connect(port));
}

struct tclient *tc_join_from(const char *source, uint16_t port)
{
	return tc_welcomed(tc_adopt(ts_dial_from(source, port)));
}

void tc_close(struct tclient *c)
{
	if (c == NULL)
		return;
	close(c->fd);
	free(c);
}

void tc_close_all(struct tclient **c, int n)
{
	for (int i = 0; i < n; i++)
		tc_close(c[i]);
}

void tc_send_bytes(struct tclient *c, const void *data, size_t n)
{
	const char *p = data;
	while (n > 0) {
		ssize_t w = send(c->fd, p, n, MSG_NOSIGNAL);
		if (w < 0 && errno == EINTR)
			continue;
		cr_assert_gt(w, 0, "send: %s", strerror(errno));
		p += w;
		n -= (size_t)w;
	}
}

void tc_send(struct tclient *c, const char *text)
{
	tc_send_bytes(c, text, strlen(text));
}

int tc_read_line(struct tclient *c, char *out, size_t cap, int timeout_ms)
{
	int64_t deadline = now_ms() + timeout_ms;
	for (;;) {
		char *nl = memchr(c->buf, '\n', c->len);
		if (nl != NULL) {
			size_t n = (size_t)(nl - c->buf);
			size_t k = n < cap - 1 ? n : cap - 1;
			memcpy(out, c->buf, k);
			out[k] = '\0';
			memmove(c->buf, nl + 1, c->len - n - 1);
			c->len -= n + 1;
			return 1;
		}
		int64_t left = deadline - now_ms();
		struct pollfd p = { .fd = c->fd, .events = POLLIN };
		int r = poll(&p, 1, left > 0 ? (int)left : 0); /* timeout 0: one look */
		if (r == 0)
			return -1;
		if (r < 0 && errno == EINTR)
			continue;
		if (c->len == sizeof(c->buf))
			return 0; /* a line longer than the buffer: treat as broken */
		ssize_t n = recv(c->fd, c->buf + c->len, sizeof(c->buf) - c->len, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return 0;
		c->len += (size_t)n;
	}
}

void tc_expect(struct tclient *c, const char *want)
{
	char line[4096];
	int r = tc_read_line(c, line, sizeof(line), 5000);
	cr_assert_eq(r, 1, "expected '%s', got %s", want, r == 0 ? "EOF" : "a timeout");
	cr_assert_str_eq(line, want);
}

void tc_expect_eventually(struct tclient *c, const char *want, int timeout_ms)
{
	char line[4096];
	int64_t deadline = now_ms() + timeout_ms;
	for (;;) {
		int left = (int)(deadline - now_ms());
		cr_assert_gt(left, 0, "timed out waiting for '%s'", want);
		int r = tc_read_line(c, line, sizeof(line), left);
		cr_assert_neq(r, 0, "EOF while waiting for '%s'", want);
		cr_assert_neq(r, -1, "timed out waiting for '%s'", want);
		if (strcmp(line, want) == 0)
			return;
	}
}

void tc_expect_closed(struct tclient *c, int timeout_ms)
{
	char line[4096];
	int64_t deadline = now_ms() + timeout_ms;
	for (;;) {
		int left = (int)(deadline - now_ms());
		cr_assert_gt(left, 0, "connection still open after %d ms", timeout_ms);
		int r = tc_read_line(c, line, sizeof(line), left);
		if (r == 0)
			return;
		cr_assert_neq(r, -1, "connection still open after %d ms", timeout_ms);
	}
}

void tc_expect_silence(struct tclient *c, int ms)
{
	char line[4096];
	int r = tc_read_line(c, line, sizeof(line), ms);
	cr_assert_eq(r, -1, "expected silence, got %s", r == 1 ? line : "EOF");
}

/* ---- bin/chatd as a child process ------------------------------------------------------------ */

/* Reads what the child logged, for at most timeout_ms; false on timeout or EOF. */
static bool tp_read_log(struct tproc *p, int timeout_ms)
{
	if (p->log_len + 1 >= sizeof(p->log))
		return false;
	struct pollfd pf = { .fd = p->err, .events = POLLIN };
	if (poll(&pf, 1, timeout_ms) != 1)
		return false;
	ssize_t n = read(p->err, p->log + p->log_len, sizeof(p->log) - 1 - p->log_len);
	if (n <= 0)
		return false;
	p->log_len += (size_t)n;
	p->log[p->log_len] = '\0';
	return true;
}

bool tp_wait_log(struct tproc *p, const char *text, int timeout_ms)
{
	int64_t deadline = now_ms() + timeout_ms;
	while (strstr(p->log, text) == NULL) {
		int64_t left = deadline - now_ms();
		if (left <= 0 || !tp_read_log(p, (int)left))
			return strstr(p->log, text) != NULL;
	}
	return true;
}

static uint16_t port_after(const char *log, const char *text)
{
	const char *at = strstr(log, text);
	unsigned port = 0;
	if (at != NULL && sscanf(at + strlen(text), "%u", &port) != 1)
		port = 0;
	return (uint16_t)port;
}

void tp_start(struct tproc *p, const char *const *args)
{
	memset(p, 0, sizeof(*p));
	const char *argv[32] = { "./bin/chatd", "--bind",      "127.0.0.1",  "--port", "0",
				 "--admin",     "127.0.0.1:0", "--irc-port", "off" };
	size_t n = 9;
	for (; args != NULL && *args != NULL && n < 31; args++)
		argv[n++] = *args;
	argv[n] = NULL;
	int fds[2];
	cr_assert_eq(pipe2(fds, O_CLOEXEC), 0);
	pid_t parent = getpid();
	pid_t pid = fork();
	cr_assert_geq(pid, 0, "fork: %s", strerror(errno));
	if (pid == 0) {
		/* killed with the test's process if that dies first (a crash, criterion's timeout)
		 * before its .fini could stop it */
		if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid() != parent)
			_exit(126);
		dup2(fds[1], 2);
		execv(argv[0], (char *const *)argv);
		_exit(127);
	}
	close(fds[1]);
	p->pid = pid;
	p->err = fds[0];
	if (!tp_wait_log(p, "listening on", 5000)) {
		tp_stop(p);
		cr_assert_fail("bin/chatd did not start: %s", p->log);
	}
	p->port = port_after(strstr(p->log, "listening on"), " port ");
	p->admin = port_after(p->log, "admin listener on 127.0.0.1 port ");
}

int tp_signal_wait(struct tproc *p, int sig, int timeout_ms)
{
	if (p->pid <= 0)
		return -1;
	kill(p->pid, sig);
	int64_t deadline = now_ms() + timeout_ms;
	int status;
	while (waitpid(p->pid, &status, WNOHANG) == 0) {
		if (now_ms() >= deadline) {
			tp_stop(p);
			return -1;
		}
		tp_read_log(p, 10); /* keeps the pipe drained, and waits a little */
	}
	p->pid = 0;
	while (tp_read_log(p, 0)) /* what it wrote last, still in the pipe */
		;
	close(p->err);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

void tp_stop(struct tproc *p)
{
	if (p->pid <= 0)
		return;
	kill(p->pid, SIGKILL);
	waitpid(p->pid, NULL, 0);
	close(p->err);
	p->pid = 0;
}

/* ---- a small RFC 6455 client ----------------------------------------------------------------- */

struct wsclient *wc_connect(uint16_t port)
{
	return wc_open(ts_dial(port));
}

struct wsclient *wc_open(int fd)
{
	return wc_open_req(fd,
			   "GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n"
			   "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
			   "Sec-WebSocket-Version: 13\r\n\r\n");
}

struct wsclient *wc_open_req(int fd, const char *req)
{
	struct wsclient *c = calloc(1, sizeof(*c));
	cr_assert_not_null(c);
	c->fd = fd;
	send(c->fd, req, strlen(req), MSG_NOSIGNAL);
	/* read the 101 head */
	while (1) {
		ssize_t n = recv(c->fd, c->buf + c->len, sizeof(c->buf) - c->len, 0);
		cr_assert_gt(n, 0, "no handshake answer");
		c->len += (size_t)n;
		unsigned char *end = memmem(c->buf, c->len, "\r\n\r\n", 4);
		if (end == NULL)
			continue;
		cr_assert(strncmp((char *)c->buf, "HTTP/1.1 101 ", 13) == 0, "%.*s", (int)c->len,
			  c->buf);
		cr_assert(memmem(c->buf, c->len,
				 "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=", 50) != NULL);
		size_t head = (size_t)(end + 4 - c->buf);
		memmove(c->buf, c->buf + head, c->len - head);
		c->len -= head;
		return c;
	}
}

void wc_send(struct wsclient *c, int fin_op, const void *p, size_t n, bool mask)
{
	unsigned char f[70000];
	size_t at = 0;
	f[at++] = (unsigned char)fin_op;
	unsigned char m = mask ? 0x80 : 0;
	if (n < 126) {
		f[at++] = (unsigned char)(m | n);
	} else {
		f[at++] = m | 126;
		f[at++] = (unsigned char)(n >> 8);
		f[at++] = (unsigned char)n;
	}
	const unsigned char key[4] = { 1, 2, 3, 4 };
	if (mask) {
		memcpy(f + at, key, 4);
		at += 4;
	}
	for (size_t i = 0; i < n; i++)
		f[at + i] = ((const unsigned char *)p)[i] ^ (mask ? key[i & 3] : 0);
	send(c->fd, f, at + n, MSG_NOSIGNAL);
}

void wc_text(struct wsclient *c, const char *s)
{
	wc_send(c, 0x81, s, strlen(s), true);
}

/* Reads one frame (5 s); returns its opcode (-1 on EOF), payload in out. */
int wc_read(struct wsclient *c, char *out, size_t cap, size_t *len)
{
	for (;;) {
		if (c->len >= 2) {
			size_t n = c->buf[1] & 127, off = 2;
			if (n == 126 && c->len >= 4) {
				n = (size_t)c->buf[2] << 8 | c->buf[3];
				off = 4;
			}
			if (n != 126 && c->len >= off + n) {
				int op = c->buf[0] & 15;
				size_t k = n < cap - 1 ? n : cap - 1;
				memcpy(out, c->buf + off, k);
				out[k] = '\0';
				*len = n;
				memmove(c->buf, c->buf + off + n, c->len - off - n);
				c->len -= off + n;
				return op;
			}
		}
		struct pollfd p = { .fd = c->fd, .events = POLLIN };
		cr_assert_eq(poll(&p, 1, 5000), 1, "no frame within 5 s");
		ssize_t r = recv(c->fd, c->buf + c->len, sizeof(c->buf) - c->len, 0);
		if (r <= 0)
			return -1;
		c->len += (size_t)r;
	}
}

/* Reads text frames until one equals want (skipping pings and pongs). */
void wc_expect(struct wsclient *c, const char *want)
{
	char out[8192];
	size_t len;
	for (;;) {
		int op = wc_read(c, out, sizeof(out), &len);
		if (op == 0x9 || op == 0xA)
			continue; /* pings and pongs may come between text frames */
		cr_assert_eq(op, 1, "waiting for '%s': opcode %d", want, op);
		if (strcmp(out, want) == 0)
			return;
	}
}

void wc_expect_welcome(struct wsclient *c)
{
	char out[512];
	size_t len;
	cr_assert_eq(wc_read(c, out, sizeof(out), &len), 1, "the welcome is a text frame");
	cr_assert(strncmp(out, "* Welcome, ", 11) == 0, "'%s'", out);
}

/* Reads until a close frame; returns its code. */
int wc_close_code(struct wsclient *c)
{
	char out[256];
	size_t len;
	for (;;) {
		int op = wc_read(c, out, sizeof(out), &len);
		cr_assert_neq(op, -1, "closed without a close frame");
		if (op == 8)
			return len >= 2 ? ((unsigned char)out[0] << 8 | (unsigned char)out[1])
					: 1005;
	}
}

void wc_free(struct wsclient *c)
{
	close(c->fd);
	free(c);
}

/* ---- redis-server as a child process ------------------------------------------------------- */

/* Whether an executable file named name is in a directory of $PATH. */
static bool on_path(const char *name)
{
	const char *path = getenv("PATH");
	char file[4096];
	for (path = path != NULL ? path : "/usr/bin:/bin"; *path != '\0';) {
		size_t n = strcspn(path, ":");
		int k = snprintf(file, sizeof(file), "%.*s/%s", (int)n, path, name);
		if (n > 0 && k > 0 && (size_t)k < sizeof(file) && access(file, X_OK) == 0)
			return true;
		path += n;
		path += *path == ':';
	}
	return false;
}

/* A loopback port nobody listens on right now (bound, read, closed: no TIME_WAIT). */
static uint16_t free_port(void)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	cr_assert_geq(fd, 0, "socket: %s", strerror(errno));
	struct sockaddr_in a = { .sin_family = AF_INET };
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	socklen_t len = sizeof(a);
	cr_assert_eq(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0, "bind: %s", strerror(errno));
	cr_assert_eq(getsockname(fd, (struct sockaddr *)&a, &len), 0, "getsockname: %s",
		     strerror(errno));
	close(fd);
	return ntohs(a.sin_port);
}

bool ts_on_path(const char *name)
{
	return on_path(name);
}

uint16_t ts_free_port(void)
{
	return free_port();
}

static void send_all(int fd, const void *data, size_t n)
{
	const char *p = data;
	while (n > 0) {
		ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
		if (w < 0 && errno == EINTR)
			continue;
		cr_assert_gt(w, 0, "send: %s", strerror(errno));
		p += w;
		n -= (size_t)w;
	}
}

/* Forks redis-server on port with its output into log; the child dies with this process. */
static pid_t redis_spawn(uint16_t port, const char *const *args, int log)
{
	char portstr[8];
	snprintf(portstr, sizeof(portstr), "%u", (unsigned)port);
	const char *argv[64] = { "redis-server", "--bind",      "127.0.0.1", "--port",
				 portstr,        "--save",      "",          "--appendonly",
				 "no",           "--daemonize", "no" };
	size_t n = 11;
	for (; args != NULL && *args != NULL && n < ARRAY_LEN(argv) - 1; args++)
		argv[n++] = *args;
	argv[n] = NULL;
	pid_t parent = getpid();
	pid_t pid = fork();
	cr_assert_geq(pid, 0, "fork: %s", strerror(errno));
	if (pid == 0) {
		if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || getppid() != parent)
			_exit(126);
		if (dup2(log, 1) < 0 || dup2(log, 2) < 0)
			_exit(126);
		execvp(argv[0], (char *const *)argv);
		_exit(127);
	}
	return pid;
}

/* Whether the server on port answers INFO with this process id (so not another server that
 * took the port first). */
static bool redis_is(uint16_t port, pid_t pid)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	cr_assert_geq(fd, 0, "socket: %s", strerror(errno));
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port) };
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	bool yes = false;
	if (connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0) {
		struct resp_arg argv[] = { RESP_ARG_LIT("INFO"), RESP_ARG_LIT("server") };
		char cmd[64], want[48], buf[16384];
		send_all(fd, cmd, resp_write_command(cmd, 2, argv));
		snprintf(want, sizeof(want), "process_id:%d\r\n", (int)pid);
		struct resp_node node;
		struct resp_parser p;
		cr_assert_eq(resp_parser_init(&p, &node, 1, NULL), 0);
		size_t len = 0;
		ssize_t r = PARSE_AGAIN, got;
		struct pollfd pf = { .fd = fd, .events = POLLIN };
		while (r == PARSE_AGAIN && len < sizeof(buf) && poll(&pf, 1, 1000) == 1 &&
		       (got = recv(fd, buf + len, sizeof(buf) - len, 0)) > 0) {
			len += (size_t)got;
			r = resp_parse(&p, buf, len);
		}
		yes = r > 0 && node.type == RESP_BULK &&
		      memmem(node.str, node.len, want, strlen(want)) != NULL;
	}
	close(fd);
	return yes;
}

/* Waits until the child answers: 1, or it exited (reaped): 0, or deadline passed: -1. */
static int redis_wait_ready(pid_t pid, uint16_t port, int64_t deadline)
{
	for (;;) {
		if (waitpid(pid, NULL, WNOHANG) == pid)
			return 0;
		if (redis_is(port, pid))
			return 1;
		if (now_ms() >= deadline)
			return -1;
		usleep(10000);
	}
}

static int redis_log_file(void)
{
	char path[] = "/tmp/chatd-redis-XXXXXX";
	int fd = mkostemp(path, O_CLOEXEC);
	cr_assert_geq(fd, 0, "mkostemp: %s", strerror(errno));
	unlink(path);
	return fd;
}

/* Closes log; fails the test with the end of what redis-server wrote there. */
static void redis_fail(int log, uint16_t port)
{
	char text[2048] = "";
	off_t size = lseek(log, 0, SEEK_END);
	off_t from = size > (off_t)sizeof(text) - 1 ? size - (off_t)sizeof(text) + 1 : 0;
	ssize_t n = pread(log, text, sizeof(text) - 1, from);
	text[n > 0 ? n : 0] = '\0';
	close(log);
	cr_assert_fail("redis-server did not start on 127.0.0.1 port %u; its log:\n%s",
		       (unsigned)port, text);
}

static void redis_require(void)
{
	if (!on_path("redis-server"))
		cr_assert_fail("redis-server is not installed (Debian package redis-server); "
			       "install it with: sh scripts/install-deps.sh redis");
}

int ts_redis_start(uint16_t *port, const char *const *args)
{
	redis_require();
	int log = redis_log_file();
	uint16_t p = 0;
	/* another process may take the free port before redis-server binds it: try another */
	for (int attempt = 0; attempt < 5; attempt++) {
		p = free_port();
		pid_t pid = redis_spawn(p, args, log);
		int ready = redis_wait_ready(pid, p, now_ms() + 5000);
		if (ready == 1) {
			close(log);
			*port = p;
			return pid;
		}
		if (ready < 0) {
			ts_redis_stop(pid);
			break;
		}
	}
	redis_fail(log, p);
	return -1;
}

int ts_redis_start_on(uint16_t port, const char *const *args)
{
	redis_require();
	int log = redis_log_file();
	int64_t deadline = now_ms() + 5000;
	/* the port may still be held for a moment by the server it had */
	while (now_ms() < deadline) {
		pid_t pid = redis_spawn(port, args, log);
		int ready = redis_wait_ready(pid, port, deadline);
		if (ready == 1) {
			close(log);
			return pid;
		}
		if (ready < 0)
			ts_redis_stop(pid);
		else
			usleep(50000);
	}
	redis_fail(log, port);
	return -1;
}

void ts_redis_stop(int pid)
{
	if (pid <= 0)
		return;
	kill(pid, SIGKILL);
	while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
		;
}

/* ---- a blocking Redis client ------------------------------------------------------------------- */

struct tredis *tr_connect(uint16_t port)
{
	struct tredis *c = calloc(1, sizeof(*c));
	cr_assert_not_null(c);
	c->buf = malloc(TR_BUF_MAX);
	cr_assert_not_null(c->buf);
	c->cap = TR_BUF_MAX;
	cr_assert_eq(resp_parser_init(&c->parser, c->nodes, ARRAY_LEN(c->nodes), NULL), 0);
	c->fd = ts_dial(port);
	return c;
}

void tr_close(struct tredis *c)
{
	if (c == NULL)
		return;
	close(c->fd);
	free(c->buf);
	free(c);
}

void tr_send(struct tredis *c, size_t argc, const struct resp_arg *argv)
{
	size_t n = resp_command_len(argc, argv);
	char *out = malloc(n);
	cr_assert_not_null(out);
	cr_assert_eq(resp_write_command(out, argc, argv), n);
	send_all(c->fd, out, n);
	free(out);
}

void tr_send_bytes(struct tredis *c, const void *data, size_t n)
{
	send_all(c->fd, data, n);
}

void tr_send_words(struct tredis *c, const char *const *words)
{
	struct resp_arg argv[32];
	size_t argc = 0;
	for (; *words != NULL; words++) {
		cr_assert_lt(argc, ARRAY_LEN(argv), "TR_SEND: too many words");
		argv[argc++] = resp_arg_str(*words);
	}
	tr_send(c, argc, argv);
}

const struct resp_node *tr_reply(struct tredis *c, int timeout_ms)
{
	memmove(c->buf, c->buf + c->done, c->len - c->done);
	c->len -= c->done;
	c->done = 0;
	int64_t deadline = now_ms() + timeout_ms;
	for (;;) {
		ssize_t r = resp_parse(&c->parser, c->buf, c->len);
		if (r > 0) {
			c->done = (size_t)r;
			return c->nodes;
		}
		cr_assert_eq(r, PARSE_AGAIN, "reply from redis: %s",
			     r == RESP_TOO_BIG ? "over 256 nodes" : "malformed");
		cr_assert_lt(c->len, c->cap, "reply from redis over %u bytes", TR_BUF_MAX);
		int64_t left = deadline - now_ms();
		struct pollfd pf = { .fd = c->fd, .events = POLLIN };
		cr_assert(left > 0 && poll(&pf, 1, (int)left) == 1, "no reply from redis in %d ms",
			  timeout_ms);
		ssize_t n = recv(c->fd, c->buf + c->len, c->cap - c->len, 0);
		cr_assert_gt(n, 0, "redis closed the connection (%s)",
			     n < 0 ? strerror(errno) : "EOF");
		c->len += (size_t)n;
	}
}

const struct resp_node *tr_command_words(struct tredis *c, const char *const *words)
{
	tr_send_words(c, words);
	return tr_reply(c, 5000);
}

void tr_expect_str(const struct resp_node *n, const char *text)
{
	cr_assert(resp_is(n, text), "expected \"%s\", got type %d \"%.*s\"", text, n->type,
		  (int)(n->str != NULL ? n->len : 0), n->str != NULL ? n->str : "");
}
