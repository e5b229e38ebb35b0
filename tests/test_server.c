/*
 * test_server.c - integration: servers started in-process on ephemeral loopback ports, real
 * sockets, the behaviour promised in docs/protocol.md.
 */
#include "log.h"
#include "msg.h"
#include "stress.h"
#include "worker.h"
#include "testlib.h"

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
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static char *fmt(const char *f, unsigned long long v)
{
	static char buf[8][128];
	static int i;
	char *b = buf[i++ % 8];
	snprintf(b, 128, f, v);
	return b;
}

Test(server, welcome_enter_chat_leave, .timeout = 30)
{
	struct config cfg = ts_config(4);
	struct server *srv = ts_start(&cfg);
	uint16_t port = server_port(srv);

	struct tclient *a = tc_join(port);
	struct tclient *b = tc_connect(port);
	char line[256];
	cr_assert_eq(tc_read_line(b, line, sizeof(line), 5000), 1);
	unsigned long long bname;
	cr_assert_eq(sscanf(line, "* Welcome, %llu. 2 users online.", &bname), 1, "'%s'", line);
	b->name = bname;
	cr_assert_neq(a->name, b->name, "names are unique across workers");
	tc_expect(a, fmt("* %llu has entered.", b->name));

	tc_send(b, "hello there\n");
	tc_expect(a, fmt("%llu:hello there", b->name));
	tc_expect(b, fmt("%llu:hello there", b->name)); /* the sender gets its own line */

	tc_send(a, "crlf works\r\n");
	tc_expect(a, fmt("%llu:crlf works", a->name));
	tc_expect(b, fmt("%llu:crlf works", a->name));

	tc_close(b);
	tc_expect(a, fmt("* %llu has left.", bname));
	tc_expect_silence(a, 200); /* no duplicate notices, nothing else */
	tc_close(a);
	ts_stop(srv);
}

Test(server, newcomer_does_not_see_its_own_entry, .timeout = 30)
{
	struct config cfg = ts_config(2);
	struct server *srv = ts_start(&cfg);
	struct tclient *a = tc_join(server_port(srv));
	tc_expect_silence(a, 200);
	tc_close(a);
	ts_stop(srv);
}

Test(server, per_sender_fifo_with_4_workers_and_200_clients, .timeout = 60)
{
	/* 20 of the 200 clients send 50 numbered lines each (scenario in stress.c) */
	const char *err = stress_server_chat(4, 200, 20, 50, false);
	cr_assert_null(err, "%s", err);
}

Test(server, slow_consumer_among_50_users_on_4_workers, .timeout = 60)
{
	const char *err = stress_server_chat(4, 50, 5, 20, true);
	cr_assert_null(err, "%s", err);
}

Test(server, slow_consumer_is_disconnected_and_others_get_everything, .timeout = 60)
{
	/* one client never reads; the others must keep receiving every line */
	const char *err = stress_server_chat(2, 3, 1, 10, true);
	cr_assert_null(err, "%s", err);
}

Test(server, overlong_line_gets_an_error_and_the_connection_stays, .timeout = 30)
{
	struct config cfg = ts_config(2);
	cfg.max_line = 100;
	struct server *srv = ts_start(&cfg);
	struct tclient *a = tc_join(server_port(srv));
	char big[1000];
	memset(big, 'y', sizeof(big));
	tc_send_bytes(a, big, 500); /* split across writes */
	usleep(20000);
	tc_send_bytes(a, big, 500);
	tc_send(a, "\nstill here\n");
	tc_expect(a, "* error: line too long (max 100 bytes); dropped.");
	tc_expect(a, fmt("%llu:still here", a->name));
	/* exactly max_line is fine */
	memset(big, 'z', 100);
	big[100] = '\n';
	tc_send_bytes(a, big, 101);
	char want[128];
	snprintf(want, sizeof(want), "%llu:%.100s", (unsigned long long)a->name, big);
	tc_expect(a, want);
	cr_assert_eq(ts_stats(srv).lines_too_long, 1);
	tc_close(a);
	ts_stop(srv);
}

Test(server, control_characters_and_bad_utf8_are_rejected_not_relayed, .timeout = 30)
{
	struct config cfg = ts_config(2);
	struct server *srv = ts_start(&cfg);
	struct tclient *a, *b;
	ts_join_pair(srv, &a, &b);
	tc_send(a, "\x1b[2J\x1b[31mgotcha\n");
	tc_expect(a, "* error: U+001B (ESCAPE) at character 1 is not allowed; line dropped.");
	tc_send(a, "bad \xff\xfe\n");
	tc_expect(a, "* error: invalid UTF-8 at byte 5; line dropped.");
	tc_send(a, "tab\tand caf\xc3\xa9 are fine\n"); /* a tab is relayed as a space */
	tc_expect(a, fmt("%llu:tab and caf\xc3\xa9 are fine", a->name));
	/* b never saw the rejected lines: the first thing it gets is the good one */
	tc_expect(b, fmt("%llu:tab and caf\xc3\xa9 are fine", a->name));
	struct server_stats st = ts_stats(srv);
	cr_assert_eq(st.lines_control, 1);
	cr_assert_eq(st.lines_bad_utf8, 1);
	tc_close(a);
	tc_close(b);
	ts_stop(srv);
}

Test(server, max_clients_refuses_with_a_line, .timeout = 30)
{
	struct config cfg = ts_config(2);
	cfg.max_clients = 2;
	struct server *srv = ts_start(&cfg);
	uint16_t port = server_port(srv);
	struct tclient *a = tc_join(port);
	struct tclient *b = tc_join(port);
	struct tclient *c = tc_connect(port);
	tc_expect(c, "* error: server full (2 users); try again later.");
	tc_expect_closed(c, 2000);
	tc_close(c);
	unsigned long long bname = b->name;
	tc_close(b);
	tc_expect_eventually(a, fmt("* %llu has left.", bname), 2000);
	ts_wait_users(srv, 1);
	ts_wait_conns(srv, 1); /* the slot is freed when the socket is, after the notice */
	/* a slot is free again: admitted */
	struct tclient *d = tc_join(port);
	cr_assert_eq(ts_stats(srv).rejected_full, 1);
	tc_close(a);
	tc_close(d);
	ts_stop(srv);
}

Test(server, half_close_still_gets_its_echo, .timeout = 30)
{
	struct config cfg = ts_config(2);
	struct server *srv = ts_start(&cfg);
	struct tclient *a = tc_join(server_port(srv));
	tc_send(a, "last words\n");
	shutdown(a->fd, SHUT_WR);
	tc_expect(a, fmt("%llu:last words", a->name));
	tc_expect_closed(a, 2000);
	tc_close(a);
	ts_stop(srv);
}

Test(server, reset_connection_leaves_cleanly, .timeout = 30)
{
	struct config cfg = ts_config(2);
	struct server *srv = ts_start(&cfg);
	struct tclient *a, *b;
	ts_join_pair(srv, &a, &b);
	tc_send(b, "half a li"); /* a partial line, then RST */
	struct linger lg = { .l_onoff = 1, .l_linger = 0 };
	setsockopt(b->fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	unsigned long long bname = b->name;
	tc_close(b);
	tc_expect(a, fmt("* %llu has left.", bname));
	tc_close(a);
	ts_stop(srv);
}

Test(server, large_room_gets_summaries_instead_of_notices, .timeout = 30)
{
	struct config cfg = ts_config(2);
	cfg.notice_limit = 3;
	struct server *srv = ts_start(&cfg);
	struct tclient *c[8];
	ts_join_users(srv, c, 8);
	/* c[0] sees individual notices for users 2 and 3, then summaries for 4..8 */
	long individual = 0, summarised = 0;
	char line[256];
	while (individual + summarised < 7) {
		cr_assert_eq(tc_read_line(c[0], line, sizeof(line), 3000), 1,
			     "saw %ld entries of 7", individual + summarised);
		long n;
		if (strstr(line, " has entered.") != NULL)
			individual++;
		else if (sscanf(line, "* %ld user", &n) == 1 && strstr(line, " entered.") != NULL)
			summarised += n;
		else
			cr_assert_fail("unexpected line '%s'", line);
	}
	cr_assert_eq(individual, 2, "rooms up to --notice-limit keep individual notices");
	cr_assert_eq(summarised, 5);
	tc_close_all(c, 8);
	ts_stop(srv);
}

Test(server, shutdown_tells_everyone_and_frees_everything, .timeout = 30)
{
	struct config cfg = ts_config(4);
	struct server *srv = ts_start(&cfg);
	struct tclient *c[10];
	ts_join_users(srv, c, 10);
	tc_send(c[0], "one more line\n");
	tc_expect_eventually(c[9], fmt("%llu:one more line", c[0]->name), 2000);
	ts_stop(srv); /* asserts no message buffer leaked */
	for (int i = 0; i < 10; i++) {
		tc_expect_eventually(c[i], "* Server shutting down.", 2000);
		tc_expect_closed(c[i], 2000);
		tc_close(c[i]);
	}
}

Test(server, port_in_use_is_a_clear_error, .timeout = 30)
{
	struct config cfg = ts_config(2);
	struct server *srv = ts_start(&cfg);
	struct config again = ts_config(2);
	again.port = server_port(srv);
	log_set_level(LOG_OFF); /* the error line is expected */
	struct server *second = NULL;
	cr_assert_eq(server_start(&again, &second), -EADDRINUSE);
	ts_stop(srv);
}

/* ---- bin/chat --------------------------------------------------------------------------------- */

static int run_shell(const char *cmd, char *out, size_t cap)
{
	/* NOLINTNEXTLINE(cert-env33-c): runs bin/chat through the shell on purpose */
	FILE *p = popen(cmd, "r");
	cr_assert_not_null(p);
	size_t n = fread(out, 1, cap - 1, p);
	out[n] = '\0';
	int status = pclose(p);
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

Test(chat_client, piped_input_prints_its_echo_and_exits_0, .timeout = 30)
{
	struct config cfg = ts_config(2);
	struct server *srv = ts_start(&cfg);
	char cmd[256], out[4096];
	snprintf(cmd, sizeof(cmd), "printf 'hi\\n' | ./bin/chat 127.0.0.1 %u", server_port(srv));
	int rc = run_shell(cmd, out, sizeof(out));
	cr_assert_eq(rc, 0, "exit status %d, output '%s'", rc, out);
	unsigned long long name;
	char echo[64];
	cr_assert_eq(sscanf(out, "* Welcome, %llu. 1 user online. Type /help for commands.\n%63s",
			    &name, echo),
		     2, "output '%s'", out);
	cr_assert_str_eq(echo, fmt("%llu:hi", name));
	ts_stop(srv);
}

Test(chat_client, failed_connect_is_one_line_and_nonzero, .timeout = 30)
{
	char out[4096];
	/* port 1 on loopback: nothing listens there */
	int rc = run_shell("./bin/chat 127.0.0.1 1 </dev/null 2>&1", out, sizeof(out));
	cr_assert_neq(rc, 0);
	cr_assert(strstr(out, "cannot connect") != NULL, "output '%s'", out);
	cr_assert_eq(strchr(out, '\n'), out + strlen(out) - 1, "one line: '%s'", out);
}

/* ---- file-descriptor exhaustion ------------------------------------------------------------ */

static int count_open_fds(void)
{
	int n = 0;
	for (int fd = 0; fd < 4096; fd++)
		if (fcntl(fd, F_GETFD) != -1)
			n++;
	return n;
}

static double cpu_seconds(void)
{
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
	       (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

#define EMFILE_CLIENTS 30

Test(server, emfile_neither_spins_nor_strands_pending_connections, .timeout = 60)
{
	struct config cfg = ts_config(2);
	cfg.max_clients = 1000; /* above what the fd limit allows: accept4 will hit EMFILE */
	cfg.log_level = LOG_OFF;
	struct server *srv = ts_start(&cfg);
	int fds[EMFILE_CLIENTS];
	bool welcomed[EMFILE_CLIENTS] = { false }, closed[EMFILE_CLIENTS] = { false };
	for (int i = 0; i < EMFILE_CLIENTS; i++)
		fds[i] = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	/* From here on the process (server included) may open only 8 more descriptors. */
	struct rlimit rl;
	getrlimit(RLIMIT_NOFILE, &rl);
	rl.rlim_cur = (rlim_t)count_open_fds() + 8;
	cr_assert_eq(setrlimit(RLIMIT_NOFILE, &rl), 0);
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(server_port(srv)) };
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	for (int i = 0; i < EMFILE_CLIENTS; i++)
		cr_assert_eq(connect(fds[i], (struct sockaddr *)&a, sizeof(a)), 0);

	/* Stuck with connections pending: the workers must sleep, not spin. */
	usleep(200000);
	double cpu0 = cpu_seconds();
	struct server_stats s0 = ts_stats(srv);
	usleep(1000000);
	double cpu = cpu_seconds() - cpu0;
	struct server_stats s1 = ts_stats(srv);
	cr_assert_gt(s1.accept_pauses, 0, "accept4 never reported EMFILE");
	cr_assert_lt(cpu, 0.3, "%.2f s of CPU in 1 s while out of descriptors: busy loop", cpu);
	cr_assert_lt(s1.iterations - s0.iterations, 200, "%llu loop iterations in 1 s",
		     (unsigned long long)(s1.iterations - s0.iterations));

	/* Free descriptors by closing welcomed clients: every pending one gets in. */
	int done = 0;
	time_t deadline = time(NULL) + 20;
	char buf[512];
	while (done < EMFILE_CLIENTS) {
		cr_assert_lt(time(NULL), deadline, "%d of %d pending clients admitted", done,
			     EMFILE_CLIENTS);
		for (int i = 0; i < EMFILE_CLIENTS; i++) {
			if (closed[i])
				continue;
			ssize_t n = recv(fds[i], buf, sizeof(buf), MSG_DONTWAIT);
			if (n > 0 && !welcomed[i] && strncmp(buf, "* Welcome", 9) == 0)
				welcomed[i] = true;
			if (welcomed[i]) {
				close(fds[i]);
				closed[i] = true;
				done++;
			}
		}
		usleep(10000);
	}
	ts_stop(srv);
}

Test(server, ipv6_loopback_works, .timeout = 30)
{
	struct config cfg = ts_config(2);
	snprintf(cfg.bind_addr, sizeof(cfg.bind_addr), "::1");
	log_set_level(LOG_ERROR);
	struct server *srv = NULL;
	if (server_start(&cfg, &srv) == -EADDRNOTAVAIL)
		cr_skip_test("no IPv6 loopback here");
	cr_assert_not_null(srv);
	int fd = socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_in6 a = { .sin6_family = AF_INET6,
				  .sin6_port = htons(server_port(srv)),
				  .sin6_addr = IN6ADDR_LOOPBACK_INIT };
	cr_assert_eq(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0, "%s", strerror(errno));
	char buf[128];
	ssize_t n = recv(fd, buf, sizeof(buf) - 1, 0);
	cr_assert_gt(n, 0);
	buf[n] = '\0';
	cr_assert(strncmp(buf, "* Welcome, ", 11) == 0, "'%s'", buf);
	close(fd);
	ts_stop(srv);
}

Test(server, user_flag_drops_root_after_binding, .timeout = 30)
{
	struct config cfg = ts_config(2);
	snprintf(cfg.user, sizeof(cfg.user), "no-such-user-here");
	log_set_level(LOG_OFF);
	struct server *srv = NULL;
	cr_assert_eq(server_start(&cfg, &srv), -ENOENT, "unknown user accepted");
	if (geteuid() != 0)
		cr_skip_test("not root: cannot test switching users");
	snprintf(cfg.user, sizeof(cfg.user), "nobody");
	srv = ts_start(&cfg);
	cr_assert_neq(geteuid(), 0, "still root after --user nobody");
	cr_assert_neq(getuid(), 0);
	struct tclient *a = tc_join(server_port(srv));
	tc_send(a, "still serving\n");
	tc_expect(a, "1:still serving");
	tc_close(a);
	ts_stop(srv);
}

/* The server's end of the connection whose client end is client_fd (same process: the
 * in-process server's sockets are in our fd table), or -1. */
static int server_end_of(int client_fd)
{
	struct sockaddr_in mine = { 0 }, srv_side = { 0 };
	socklen_t len = sizeof(mine);
	if (getsockname(client_fd, (struct sockaddr *)&mine, &len) < 0)
		return -1;
	for (int fd = 0; fd < 4096; fd++) {
		len = sizeof(srv_side);
		if (fd == client_fd || getpeername(fd, (struct sockaddr *)&srv_side, &len) < 0 ||
		    srv_side.sin_family != AF_INET)
			continue;
		if (srv_side.sin_port == mine.sin_port &&
		    srv_side.sin_addr.s_addr == mine.sin_addr.s_addr)
			return fd;
	}
	return -1;
}

static int nodelay_of(int fd)
{
	int v = -1;
	socklen_t len = sizeof(v);
	cr_assert_eq(getsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &v, &len), 0, "%s", strerror(errno));
	return v;
}

Test(server, nagle_is_off_for_line_and_websocket_users, .timeout = 30)
{
	struct config cfg = ts_config(2);
	struct server *srv = ts_start(&cfg);
	uint16_t port = server_port(srv);
	struct tclient *line = tc_join(port);
	struct wsclient *ws = wc_connect(port);
	wc_expect_welcome(ws);
	int line_end = server_end_of(line->fd), ws_end = server_end_of(ws->fd);
	cr_assert_geq(line_end, 0, "the server's socket of the line user");
	cr_assert_geq(ws_end, 0, "the server's socket of the WebSocket user");
	cr_assert_eq(nodelay_of(line_end), 1, "TCP_NODELAY on a line user's socket");
	cr_assert_eq(nodelay_of(ws_end), 1, "TCP_NODELAY on a WebSocket user's socket");
	cr_assert_eq(nodelay_of(line->fd), 0, "the client's own end keeps the default");
	tc_close(line);
	wc_free(ws);
	ts_stop(srv);
}

Test(server, flush_holdoff_is_the_last_flush_times_the_other_workers_at_most_the_interval)
{
	cr_assert_eq(worker_flush_holdoff_us(0, 4, 50000), 0, "nothing flushed: no wait");
	cr_assert_eq(worker_flush_holdoff_us(30, 2, 50000), 30, "a light flush: microseconds");
	cr_assert_eq(worker_flush_holdoff_us(3000, 4, 50000), 9000, "the other 3 take their turn");
	cr_assert_eq(worker_flush_holdoff_us(3000, 1, 50000), 0, "one worker: every iteration");
	cr_assert_eq(worker_flush_holdoff_us(40000, 2, 50000), 40000);
	cr_assert_eq(worker_flush_holdoff_us(40000, 4, 50000), 50000, "--flush-interval caps it");
	cr_assert_eq(worker_flush_holdoff_us(40000, 4, 0), 0,
		     "--flush-interval 0: every iteration");
	cr_assert_eq(worker_flush_holdoff_us(-5, 4, 50000), 0, "a clock step back: no wait");
}

/* The flush adapts: on a quiet server a line is written at once, even right after another
 * one and with a long --flush-interval (which only bounds the holdoff of a loaded worker). */
Test(server, a_lightly_loaded_worker_writes_each_line_at_once, .timeout = 30)
{
	struct config cfg = ts_config(2);
	cfg.flush_interval_ms = 1000;
	struct server *srv = ts_start(&cfg);
	struct tclient *a = tc_join(server_port(srv));
	for (int i = 0; i < 5; i++) {
		char text[32], line[64];
		snprintf(text, sizeof(text), "line %d\n", i);
		int64_t t0 = clock_now_ms();
		tc_send(a, text);
		cr_assert_eq(tc_read_line(a, line, sizeof(line), 5000), 1);
		int64_t took = clock_now_ms() - t0;
		cr_assert_lt(took, 500, "echo %d took %lld ms (a fixed 1 s batching wait?)", i,
			     (long long)took);
	}
	tc_close(a);
	ts_stop(srv);
}
