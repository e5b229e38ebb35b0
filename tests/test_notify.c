/*
 * test_notify.c - systemd's readiness protocol (notify.c): the test plays the service
 * manager. It binds its own AF_UNIX datagram socket in a temporary directory (or in the
 * abstract namespace), names it in NOTIFY_SOCKET, starts bin/chatd (which inherits the
 * environment) and reads what chatd says: READY=1 once the port accepts, STOPPING=1 when a
 * signal starts the shutdown. The unit tests call notify.h in this process.
 */
#include "common.h"
#include "log.h"
#include "notify.h"
#include "testlib.h"

#include <criterion/criterion.h>
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

/* The test's manager socket, its directory, and the chatd it started: removed by the .fini
 * whatever the test's outcome. */
static char manager_dir[64];
static char manager_path[128];
static int manager_fd = -1;
static struct tproc chatd;

static void manager_cleanup(void)
{
	tp_stop(&chatd);
	if (manager_fd >= 0)
		close(manager_fd);
	manager_fd = -1;
	if (manager_path[0] != '\0')
		unlink(manager_path);
	if (manager_dir[0] != '\0')
		rmdir(manager_dir);
	manager_path[0] = manager_dir[0] = '\0';
}

TestSuite(notify, .fini = manager_cleanup, .timeout = 30);

/* Binds a datagram socket at name (a path, or '@' and an abstract name) and sets
 * NOTIFY_SOCKET to it. */
static void manager_bind(const char *name)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	size_t n = strlen(name);
	cr_assert_lt(n, sizeof(addr.sun_path));
	memcpy(addr.sun_path, name, n);
	socklen_t len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n);
	if (name[0] == '@')
		addr.sun_path[0] = '\0';
	else
		len += 1;
	manager_fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	cr_assert_geq(manager_fd, 0, "socket: %s", strerror(errno));
	cr_assert_eq(bind(manager_fd, (struct sockaddr *)&addr, len), 0, "bind %s: %s", name,
		     strerror(errno));
	cr_assert_eq(setenv("NOTIFY_SOCKET", name, 1), 0);
}

/* A manager socket in a fresh temporary directory. */
static void manager_bind_path(void)
{
	snprintf(manager_dir, sizeof(manager_dir), "/tmp/chatd-notify-XXXXXX");
	cr_assert_not_null(mkdtemp(manager_dir), "mkdtemp: %s", strerror(errno));
	snprintf(manager_path, sizeof(manager_path), "%s/notify", manager_dir);
	manager_bind(manager_path);
}

/* The next datagram into out (NUL-terminated); false when none came within timeout_ms. */
static bool manager_read(char *out, size_t cap, int timeout_ms)
{
	struct pollfd pf = { .fd = manager_fd, .events = POLLIN };
	if (poll(&pf, 1, timeout_ms) != 1)
		return false;
	ssize_t n = recv(manager_fd, out, cap - 1, 0);
	cr_assert_geq(n, 0, "recv: %s", strerror(errno));
	out[n] = '\0';
	return true;
}

/* Whether the message has the line `line` (exactly, between newlines or the ends). */
static bool has_line(const char *msg, const char *line)
{
	size_t n = strlen(line);
	for (const char *p = msg; p != NULL; p = strchr(p, '\n')) {
		if (*p == '\n')
			p++;
		if (strncmp(p, line, n) == 0 && (p[n] == '\n' || p[n] == '\0'))
			return true;
	}
	return false;
}

static void start_chatd(void)
{
	const char *args[] = { "--workers", "2", NULL };
	tp_start(&chatd, args);
}

Test(notify, ready_arrives_once_the_port_accepts)
{
	manager_bind_path();
	start_chatd();
	char msg[1024];
	cr_assert(manager_read(msg, sizeof(msg), 5000), "no READY=1 from chatd; its log:\n%s",
		  chatd.log);
	cr_assert(has_line(msg, "READY=1"), "%s", msg);
	char pid[32];
	snprintf(pid, sizeof(pid), "MAINPID=%d", chatd.pid);
	cr_assert(has_line(msg, pid), "%s (want %s)", msg, pid);
	char status[96];
	snprintf(status, sizeof(status), "STATUS=listening on 127.0.0.1 port %u, 2 workers",
		 chatd.port);
	cr_assert(has_line(msg, status), "%s (want %s)", msg, status);
	/* ready means ready: a user is let in at once */
	struct tclient *c = tc_join(chatd.port);
	cr_assert_gt(c->name, 0);
	tc_close(c);
	cr_assert_not(manager_read(msg, sizeof(msg), 200), "one READY only, then: %s", msg);
}

Test(notify, stopping_arrives_when_shutdown_starts)
{
	manager_bind_path();
	start_chatd();
	char msg[1024];
	cr_assert(manager_read(msg, sizeof(msg), 5000), "no READY=1; log:\n%s", chatd.log);
	struct tclient *c = tc_join(chatd.port);
	cr_assert_eq(kill(chatd.pid, SIGTERM), 0);
	cr_assert(manager_read(msg, sizeof(msg), 5000), "no STOPPING=1; log:\n%s", chatd.log);
	cr_assert(has_line(msg, "STOPPING=1"), "%s", msg);
	cr_assert(has_line(msg, "STATUS=shutting down (Terminated)"), "%s", msg);
	tc_expect_eventually(c, "* Server shutting down.", 5000);
	tc_close(c);
	cr_assert_eq(tp_signal_wait(&chatd, SIGTERM, 10000), 0, "log:\n%s", chatd.log);
}

Test(notify, abstract_namespace_address)
{
	char name[64];
	snprintf(name, sizeof(name), "@chatd-notify-test-%d-%lld", (int)getpid(),
		 (long long)time(NULL));
	manager_bind(name);
	start_chatd();
	char msg[1024];
	cr_assert(manager_read(msg, sizeof(msg), 5000), "no READY=1; log:\n%s", chatd.log);
	cr_assert(has_line(msg, "READY=1"), "%s", msg);
}

Test(notify, an_unreachable_socket_is_logged_and_chatd_serves_on)
{
	snprintf(manager_dir, sizeof(manager_dir), "/tmp/chatd-notify-XXXXXX");
	cr_assert_not_null(mkdtemp(manager_dir));
	char absent[128];
	snprintf(absent, sizeof(absent), "%s/nobody-listens", manager_dir);
	cr_assert_eq(setenv("NOTIFY_SOCKET", absent, 1), 0);
	start_chatd();
	cr_assert(tp_wait_log(&chatd, "cannot send READY=1", 5000), "log:\n%s", chatd.log);
	cr_assert(strstr(chatd.log, absent) != NULL, "the log names the socket:\n%s", chatd.log);
	struct tclient *c = tc_join(chatd.port);
	tc_send(c, "still here\n");
	char echo[64];
	snprintf(echo, sizeof(echo), "%llu:still here", (unsigned long long)c->name);
	tc_expect(c, echo);
	tc_close(c);
}

/* ---- notify.h in this process ------------------------------------------------------------- */

Test(notify, nothing_is_sent_without_notify_socket)
{
	cr_assert_eq(unsetenv("NOTIFY_SOCKET"), 0);
	cr_assert_eq(notify_send("READY=1"), 0);
	cr_assert_eq(notify_ready("up"), 0);
	cr_assert_eq(notify_stopping("down"), 0);
}

Test(notify, reloading_then_ready_carry_the_time_and_the_pid)
{
	log_set_level(LOG_OFF);
	manager_bind_path();
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	cr_assert_eq(notify_reloading(), 0);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	char msg[1024];
	cr_assert(manager_read(msg, sizeof(msg), 1000));
	cr_assert(has_line(msg, "RELOADING=1"), "%s", msg);
	cr_assert(has_line(msg, "STATUS=reloading configuration"), "%s", msg);
	const char *usec = strstr(msg, "MONOTONIC_USEC=");
	cr_assert_not_null(usec, "%s", msg);
	unsigned long long at = strtoull(usec + strlen("MONOTONIC_USEC="), NULL, 10);
	unsigned long long lo =
	    (unsigned long long)t0.tv_sec * 1000000ULL + (unsigned long long)t0.tv_nsec / 1000ULL;
	unsigned long long hi =
	    (unsigned long long)t1.tv_sec * 1000000ULL + (unsigned long long)t1.tv_nsec / 1000ULL;
	cr_assert(at >= lo && at <= hi, "%llu not in [%llu, %llu]", at, lo, hi);

	cr_assert_eq(notify_ready("reloaded"), 0);
	cr_assert(manager_read(msg, sizeof(msg), 1000));
	char want[128];
	snprintf(want, sizeof(want), "READY=1\nSTATUS=reloaded\nMAINPID=%d", (int)getpid());
	cr_assert_str_eq(msg, want);
}

Test(notify, addresses_that_are_neither_a_path_nor_abstract_are_refused)
{
	log_set_level(LOG_OFF);
	cr_assert_eq(setenv("NOTIFY_SOCKET", "relative/path", 1), 0);
	cr_assert_eq(notify_send("READY=1"), -EAFNOSUPPORT);
	cr_assert_eq(setenv("NOTIFY_SOCKET", "vsock:2:1234", 1), 0);
	cr_assert_eq(notify_send("READY=1"), -EAFNOSUPPORT);
	char longname[200];
	memset(longname, 'x', sizeof(longname) - 1);
	longname[0] = '/';
	longname[sizeof(longname) - 1] = '\0';
	cr_assert_eq(setenv("NOTIFY_SOCKET", longname, 1), 0);
	cr_assert_eq(notify_send("READY=1"), -ENAMETOOLONG);
	cr_assert_eq(notify_ready("x"), -ENAMETOOLONG, "a failure is returned, and only logged");
}
