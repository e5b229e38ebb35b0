/*
 * test_reload.c - SIGHUP: bin/chatd run as a process with a --config file that the test
 * rewrites (a new limit applies to users already connected, a change that needs a restart is
 * logged and kept, an invalid file changes nothing, the flags still win, the counters); then
 * in-process servers changed by reload_apply, one live setting a test; the hooks; and the
 * configuration snapshots (live.c) swapped under a busy chat.
 */
#include "common.h"
#include "live.h"
#include "log.h"
#include "reload.h"
#include "stress.h"
#include "testlib.h"

#include <criterion/criterion.h>
#include <criterion/redirect.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static struct tproc proc;
static char conf_dir[64];   /* a temporary directory for this test's file */
static char conf_path[128]; /* conf_dir/chatd.conf */

static void conf_setup(void)
{
	snprintf(conf_dir, sizeof(conf_dir), "/tmp/chatd-reload-XXXXXX");
	cr_assert_not_null(mkdtemp(conf_dir));
	snprintf(conf_path, sizeof(conf_path), "%s/chatd.conf", conf_dir);
}

/* The same, with chatd's log lines (the refused reload's error) kept off the suite's output. */
static void conf_setup_quiet(void)
{
	conf_setup();
	cr_redirect_stderr();
}

/* Whatever happened in the test, no chatd is left running (stopped by its PID) and the
 * file is gone. */
static void conf_teardown(void)
{
	tp_stop(&proc);
	(void)unlink(conf_path);
	(void)rmdir(conf_dir);
}

static void conf_write(const char *text)
{
	FILE *f = fopen(conf_path, "w");
	cr_assert_not_null(f);
	cr_assert_geq(fputs(text, f), 0);
	cr_assert_eq(fclose(f), 0);
}

/* Sends SIGHUP and waits for the reload's last log line (`outcome`). */
static void hangup(const char *outcome)
{
	size_t before = proc.log_len;
	cr_assert_eq(kill(proc.pid, SIGHUP), 0);
	/* the outcome of this reload, not of an earlier one */
	int64_t deadline = clock_now_ms() + 5000;
	while (strstr(proc.log + before, outcome) == NULL) {
		cr_assert_lt(clock_now_ms(), deadline, "no '%s' after SIGHUP:\n%s", outcome,
			     proc.log);
		tp_wait_log(&proc, outcome, 100);
	}
}

/* A chat line of n letters, and what its echo says. */
static void long_line(char *line, size_t n, char *echo, size_t cap, uint64_t name)
{
	memset(line, 'x', n);
	line[n] = '\0';
	snprintf(echo, cap, "%llu:%s", (unsigned long long)name, line);
	line[n] = '\n';
	line[n + 1] = '\0';
}

static double metric(uint16_t admin_port, const char *series)
{
	static char page[256 * 1024];
	cr_assert_eq(
	    ts_http(admin_port, "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n", page, sizeof(page)),
	    200);
	char key[128];
	snprintf(key, sizeof(key), "\n%s ", series);
	const char *at = strstr(page, key);
	cr_assert_not_null(at, "no %s in /metrics", series);
	return atof(at + strlen(key));
}

/* ---- SIGHUP to bin/chatd ------------------------------------------------------------------ */

Test(reload, sighup_applies_a_larger_max_line_to_a_connected_user, .init = conf_setup,
     .fini = conf_teardown, .timeout = 30)
{
	conf_write("workers 1\nmax-line 100\n");
	const char *args[] = { "--config", conf_path, NULL };
	tp_start(&proc, args);
	struct tclient *a = tc_join(proc.port);
	char line[256], echo[300];
	long_line(line, 200, echo, sizeof(echo), a->name);
	tc_send(a, line);
	tc_expect(a, "* error: line too long (max 100 bytes); dropped.");
	conf_write("workers 1\nmax-line 300\n");
	hangup("reload: done");
	cr_assert(strstr(proc.log, "reload: max-line 100 -> 300\n") != NULL, "%s", proc.log);
	tc_send(a, line); /* the same user, the same connection */
	tc_expect(a, echo);
	tc_close(a);
	cr_assert_eq(tp_signal_wait(&proc, SIGTERM, 5000), 0, "SIGTERM: clean exit");
}

Test(reload, a_change_that_needs_a_restart_is_logged_and_kept, .init = conf_setup,
     .fini = conf_teardown, .timeout = 30)
{
	conf_write("workers 1\nmax-outbuf 256K\n");
	const char *args[] = { "--config", conf_path, NULL };
	tp_start(&proc, args);
	conf_write("workers 2\nmax-outbuf 512K\n");
	hangup("reload: done");
	cr_assert(strstr(proc.log, "reload: workers 1 -> 2 needs a restart; kept 1\n") != NULL,
		  "%s", proc.log);
	cr_assert(strstr(proc.log, "reload: max-outbuf 262144 -> 524288\n") != NULL, "%s",
		  proc.log);
	cr_assert(strstr(proc.log, "reload: done: 1 setting changed, 1 needs a restart") != NULL,
		  "%s", proc.log);
	cr_assert_eq(metric(proc.admin, "chatd_workers"), 1);
	/* still not applied, so the next reload says so again */
	hangup("reload: done: 0 settings changed, 1 needs a restart");
	cr_assert_eq(tp_signal_wait(&proc, SIGTERM, 5000), 0);
}

Test(reload, an_invalid_file_keeps_the_running_configuration, .init = conf_setup,
     .fini = conf_teardown, .timeout = 30)
{
	conf_write("workers 1\nmax-line 300\n");
	const char *args[] = { "--config", conf_path, NULL };
	tp_start(&proc, args);
	struct tclient *a = tc_join(proc.port);
	conf_write("workers 1\nmax-line 100\nwokers 2\n");
	hangup("keeping the running configuration");
	char want[256];
	snprintf(want, sizeof(want),
		 "ERROR main reload: %s:3: unknown option 'wokers'; keeping the running "
		 "configuration\n",
		 conf_path);
	cr_assert(strstr(proc.log, want) != NULL, "%s", proc.log);
	cr_assert(strstr(proc.log, "reload: max-line") == NULL, "nothing applied: %s", proc.log);
	char line[256], echo[300];
	long_line(line, 200, echo, sizeof(echo), a->name);
	tc_send(a, line);
	tc_expect(a, echo); /* the limit is still 300, not the 100 of the broken file */
	tc_close(a);
	cr_assert_eq(tp_signal_wait(&proc, SIGTERM, 5000), 0);
}

Test(reload, reloads_and_refused_reloads_are_counted, .init = conf_setup, .fini = conf_teardown,
     .timeout = 30)
{
	conf_write("workers 1\n");
	const char *args[] = { "--config", conf_path, NULL };
	tp_start(&proc, args);
	cr_assert_eq(metric(proc.admin, "chatd_config_reloads_total"), 0);
	conf_write("workers 1\nrate-limit 50\n");
	hangup("reload: done");
	conf_write("workers 1\nrate-limit 0.5\n");
	hangup("keeping the running configuration");
	cr_assert_eq(metric(proc.admin, "chatd_config_reloads_total"), 1);
	cr_assert_eq(metric(proc.admin, "chatd_config_reload_errors_total"), 1);
	cr_assert_eq(tp_signal_wait(&proc, SIGTERM, 5000), 0);
}

Test(reload, flags_on_the_command_line_still_win_after_a_reload, .init = conf_setup,
     .fini = conf_teardown, .timeout = 30)
{
	conf_write("workers 1\nmax-line 300\n");
	const char *args[] = { "--config", conf_path, "--max-line", "100", NULL };
	tp_start(&proc, args);
	struct tclient *a = tc_join(proc.port);
	conf_write("workers 1\nmax-line 400\n");
	hangup("reload: no setting changed");
	char line[256], echo[300];
	long_line(line, 200, echo, sizeof(echo), a->name);
	tc_send(a, line);
	tc_expect(a, "* error: line too long (max 100 bytes); dropped.");
	tc_close(a);
	cr_assert_eq(tp_signal_wait(&proc, SIGTERM, 5000), 0);
}

/* ---- reload_apply on an in-process server, one live setting a test ------------------------- */

static struct server *srv;
static struct reload rl;
static struct config running;

/* A server started with cfg, and the reload state main would make for it (argv: what
 * reload_run re-reads, or NULL). */
static void start_with_args(const struct config *cfg, int argc, char **argv)
{
	running = *cfg;
	srv = ts_start(cfg);
	reload_init(&rl, srv, cfg, argc, argv);
}

static void start_with(const struct config *cfg)
{
	start_with_args(cfg, 0, NULL);
}

/* Applies running changed by the caller. */
static void apply(void)
{
	cr_assert_eq(reload_apply(&rl, &running), 0);
}

Test(reload_apply, a_lower_rate_limit_applies_to_a_connected_user, .timeout = 30)
{
	struct config cfg = ts_config(1);
	start_with(&cfg);
	struct tclient *a = tc_join(server_port(srv));
	tc_send(a, "one\ntwo\nthree\n");
	tc_expect(a, "1:one");
	tc_expect(a, "1:two");
	tc_expect(a, "1:three");
	running.rate_limit = 1;
	running.rate_burst = 1;
	apply();
	tc_send(a, "four\nfive\n");
	tc_expect(a, "1:four");
	tc_expect(a, "* error: slow down: more than 1 lines a second; line dropped.");
	tc_close(a);
	ts_stop(srv);
}

Test(reload_apply, allow_origin_applies_to_the_next_upgrade, .timeout = 30)
{
	struct config cfg = ts_config(2);
	start_with(&cfg);
	uint16_t port = server_port(srv);
	char req[512], out[1024];
	snprintf(req, sizeof(req),
		 "GET /ws HTTP/1.1\r\nHost: 127.0.0.1:%u\r\nUpgrade: websocket\r\n"
		 "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
		 "Sec-WebSocket-Version: 13\r\nOrigin: https://chat.example\r\n\r\n",
		 port);
	cr_assert_eq(ts_http(port, req, out, sizeof(out)), 403);
	snprintf(running.allow_origin, sizeof(running.allow_origin), "https://chat.example");
	apply();
	struct wsclient *ws = wc_open_req(ts_dial(port), req);
	wc_expect_welcome(ws);
	wc_free(ws);
	ts_stop(srv);
}

Test(reload_apply, max_conns_per_ip_changes_between_two_limits, .timeout = 30)
{
	struct config cfg = ts_config(1);
	cfg.max_conns_per_ip = 1;
	start_with(&cfg);
	uint16_t port = server_port(srv);
	struct tclient *a = tc_join(port);
	struct tclient *b = tc_connect(port);
	tc_expect(b, "* error: too many connections from 127.0.0.1 (max 1); try again later.");
	tc_close(b);
	running.max_conns_per_ip = 2;
	apply();
	b = tc_join(port);
	struct tclient *c = tc_connect(port);
	tc_expect(c, "* error: too many connections from 127.0.0.1 (max 2); try again later.");
	tc_close_all((struct tclient *[]){ a, b, c }, 3);
	ts_stop(srv);
}

Test(reload_apply, turning_max_conns_per_ip_on_needs_a_restart, .timeout = 30)
{
	struct config cfg = ts_config(1);
	start_with(&cfg);
	running.max_conns_per_ip = 1;
	apply();
	cr_assert_eq(rl.running.max_conns_per_ip, 0, "kept off");
	uint16_t port = server_port(srv);
	struct tclient *a = tc_join(port);
	struct tclient *b = tc_join(port); /* not refused: nothing is counted */
	tc_close_all((struct tclient *[]){ a, b }, 2);
	ts_stop(srv);
}

Test(reload_apply, max_rooms_applies_to_the_next_join, .timeout = 30)
{
	struct config cfg = ts_config(1);
	cfg.max_rooms = 2;
	start_with(&cfg);
	struct tclient *stays = tc_join(server_port(srv)); /* keeps the lobby */
	struct tclient *a = tc_join(server_port(srv));
	tc_send(a, "/join one\n");
	tc_expect_eventually(a, "* You are now in one. 1 user here.", 5000);
	tc_send(a, "/join two\n");
	tc_expect_eventually(a, "* error: too many rooms (max 2); join an existing one (/rooms).",
			     5000);
	running.max_rooms = 3;
	apply();
	tc_send(a, "/join two\n");
	tc_expect_eventually(a, "* You are now in two. 1 user here.", 5000);
	tc_close_all((struct tclient *[]){ stays, a }, 2);
	ts_stop(srv);
}

Test(reload_apply, log_level_and_max_memory_change, .timeout = 30)
{
	struct config cfg = ts_config(1);
	start_with(&cfg);
	cr_assert_eq(log_enabled(LOG_INFO), 0);
	running.log_level = LOG_WARN; /* not lower: the suite's output stays quiet */
	running.max_memory = (size_t)3 << 30;
	apply();
	cr_assert_eq(log_enabled(LOG_WARN), 1);
	cr_assert_eq(memory_guard_cap(&srv->hub.mem), (size_t)3 << 30);
	running.max_memory = 0;
	apply();
	cr_assert_eq(memory_guard_cap(&srv->hub.mem), 0);
	cr_assert_eq(memory_guard_over(&srv->hub.mem), false);
	log_set_level(LOG_ERROR);
	ts_stop(srv);
}

Test(reload_apply, a_restart_only_setting_stays_in_the_running_configuration, .timeout = 30)
{
	struct config cfg = ts_config(1);
	start_with(&cfg);
	running.history = 5;
	running.max_outbuf = (size_t)128 * 1024;
	apply();
	cr_assert_eq(rl.running.history, 100, "needs a restart: kept");
	cr_assert_eq(rl.running.max_outbuf, (size_t)128 * 1024);
	const struct config *now = live_current(&srv->hub.live);
	cr_assert_eq(now->history, 100);
	cr_assert_eq(now->max_outbuf, (size_t)128 * 1024);
	cr_assert_eq(now->max_clients, srv->hub.cfg.max_clients, "0 still means derived");
	ts_stop(srv);
}

/* ---- hooks ------------------------------------------------------------------------------------ */

struct heard {
	int n;
	enum reload_phase phase[4];
	size_t max_line[4];
};

static void hear(void *arg, enum reload_phase phase, const struct config *cfg)
{
	struct heard *h = arg;
	if (h->n < 4) {
		h->phase[h->n] = phase;
		h->max_line[h->n] = cfg->max_line;
	}
	h->n++;
}

Test(reload_hooks, hear_begin_then_done_or_failed, .init = conf_setup_quiet, .fini = conf_teardown,
     .timeout = 30)
{
	conf_write("max-line 100\n");
	/* what the file says comes under the flags: quiet logs, port 0, no admin listener */
	char *argv[] = { "chatd",     "--config", conf_path, "--log-level", "error",
			 "--workers", "1",        "--port",  "0",           "--bind",
			 "127.0.0.1", "--admin",  "off",     "--irc-port",  "off" };
	int argc = (int)ARRAY_LEN(argv);
	struct config cfg;
	config_defaults(&cfg);
	char err[CONFIG_ERR_MAX];
	cr_assert_eq(config_load(&cfg, argc, argv, err, sizeof(err)), 0, "%s", err);
	start_with_args(&cfg, argc, argv);
	struct heard h = { 0 };
	cr_assert_eq(reload_add_hook(&rl, hear, &h), 0);
	conf_write("max-line 200\n");
	cr_assert_eq(reload_run(&rl), 0);
	conf_write("max-line 2\n");
	cr_assert_eq(reload_run(&rl), -1);
	cr_assert_eq(h.n, 4);
	cr_assert_eq(h.phase[0], RELOAD_BEGIN);
	cr_assert_eq(h.phase[1], RELOAD_DONE);
	cr_assert_eq(h.max_line[1], 200, "DONE: the configuration now running");
	cr_assert_eq(h.phase[2], RELOAD_BEGIN);
	cr_assert_eq(h.phase[3], RELOAD_FAILED);
	cr_assert_eq(h.max_line[3], 200, "FAILED: the one kept");
	ts_stop(srv);
}

/* ---- snapshots -------------------------------------------------------------------------------- */

Test(live, a_snapshot_is_freed_only_after_every_reader_moved_on)
{
	struct config cfg;
	config_defaults(&cfg);
	static struct live l;
	cr_assert_eq(live_init(&l, &cfg, 2), 0);
	const struct config *held = live_enter(&l, 0);
	(void)live_enter(&l, 1);
	cfg.max_line = 200;
	cr_assert_eq(live_publish(&l, &cfg), 0);
	(void)live_enter(&l, 1); /* reader 0 still holds the first one */
	cfg.max_line = 300;
	cr_assert_eq(live_publish(&l, &cfg), 0);
	cr_assert_not_null(l.retired, "nothing freed while reader 0 may read it");
	cr_assert_eq(held->max_line, 4096, "still readable (ASan would say otherwise)");
	const struct config *now = live_enter(&l, 0);
	cr_assert_eq(now->max_line, 300);
	(void)live_enter(&l, 1);
	cfg.max_line = 400;
	cr_assert_eq(live_publish(&l, &cfg), 0);
	/* every reader announced the epoch of the last publish but one: only the snapshot
	 * just replaced is left */
	cr_assert_not_null(l.retired);
	cr_assert_eq(live_current(&l)->max_line, 400);
	live_destroy(&l);
}

Test(live, reloads_while_users_chat_lose_no_line, .timeout = 60)
{
	const char *err = stress_reload_chat(4, 40, 4, 50);
	cr_assert_null(err, "%s", err);
}
