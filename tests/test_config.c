/*
 * test_config.c - flags: defaults, both spellings, suffixes, and every rejection; the --config
 * file (its syntax, its errors with file and line, flags winning over it); comparing two
 * configurations (what SIGHUP logs); and chatd --check-config, run as a program.
 */
#include "common.h"
#include "config.h"
#include "log.h"
#include "memory.h"

#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <criterion/redirect.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

static int parse(struct config *cfg, int argc, char **argv)
{
	config_defaults(cfg);
	return config_parse(cfg, argc, argv);
}

Test(config, defaults)
{
	struct config cfg;
	config_defaults(&cfg);
	cr_assert_eq(cfg.port, 2020);
	cr_assert_eq(cfg.max_line, 4096);
	cr_assert_eq(cfg.max_outbuf, 1 << 20);
	cr_assert_eq(cfg.notice_limit, 200);
	cr_assert_eq(cfg.drain_timeout_ms, 5000);
	cr_assert_eq(cfg.workers, 0);
	cr_assert_str_eq(cfg.bind_addr, "0.0.0.0");
	cr_assert_eq(cfg.max_conns_per_ip, 0, "off");
	cr_assert_eq(cfg.max_memory, memory_default_cap(), "a quarter of physical memory");
	cr_assert_gt(cfg.max_memory, 0);
	cr_assert_eq(cfg.admin_max_conns, 64);
	cr_assert_eq(cfg.admin_timeout_ms, 2000);
}

Test(config, the_round_two_limits_take_flags)
{
	struct config cfg;
	config_defaults(&cfg);
	char *argv[] = { "chatd", "--max-memory",      "512M", "--max-conns-per-ip",
			 "20",    "--admin-max-conns", "8",    "--admin-timeout",
			 "5" };
	cr_assert_eq(config_parse(&cfg, (int)ARRAY_LEN(argv), argv), 0);
	cr_assert_eq(cfg.max_memory, (size_t)512 << 20);
	cr_assert_eq(cfg.max_conns_per_ip, 20);
	cr_assert_eq(cfg.admin_max_conns, 8);
	cr_assert_eq(cfg.admin_timeout_ms, 5000);
	char *off[] = { "chatd", "--max-memory", "0" };
	cr_assert_eq(config_parse(&cfg, 3, off), 0);
	cr_assert_eq(cfg.max_memory, 0, "0 turns the cap off");
}

Test(config, flags_with_space_or_equals_and_size_suffixes)
{
	struct config cfg;
	char *argv[] = { "chatd",
			 "--workers",
			 "4",
			 "--port=2021",
			 "--max-outbuf",
			 "64K",
			 "--bind",
			 "::1",
			 "--drain-timeout",
			 "2",
			 "--log-level=warn",
			 "--max-clients",
			 "10",
			 "--notice-limit",
			 "0",
			 "--max-line",
			 "1M" };
	cr_assert_eq(parse(&cfg, 17, argv), 0);
	cr_assert_eq(cfg.workers, 4);
	cr_assert_eq(cfg.port, 2021);
	cr_assert_eq(cfg.max_outbuf, 65536);
	cr_assert_str_eq(cfg.bind_addr, "::1");
	cr_assert_eq(cfg.drain_timeout_ms, 2000);
	cr_assert_eq(cfg.log_level, LOG_WARN);
	cr_assert_eq(cfg.max_clients, 10);
	cr_assert_eq(cfg.notice_limit, 0);
	cr_assert_eq(cfg.max_line, 1 << 20);
}

Test(config, bad_flags_are_rejected_with_usage, .init = cr_redirect_stderr)
{
	struct config cfg;
	char *cases[][2] = {
		{ "--workers", "-1" },     { "--workers", "65" },       { "--port", "70000" },
		{ "--port", "abc" },       { "--bind", "example.com" }, { "--max-line", "1" },
		{ "--log-level", "loud" }, { "--nope", "1" },           { "--max-outbuf", "12Q" },
		{ "stray", "x" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *argv[] = { "chatd", cases[i][0], cases[i][1] };
		cr_assert_eq(parse(&cfg, 3, argv), -1, "%s %s accepted", cases[i][0], cases[i][1]);
	}
	char *missing[] = { "chatd", "--port" };
	cr_assert_eq(parse(&cfg, 2, missing), -1, "missing value accepted");
}

Test(config, help_and_version_stop_before_running, .init = cr_redirect_stdout)
{
	struct config cfg;
	char *help[] = { "chatd", "--help" };
	cr_assert_eq(parse(&cfg, 2, help), 1);
	char *version[] = { "chatd", "--version" };
	cr_assert_eq(parse(&cfg, 2, version), 1);
}

Test(config, allow_origin_takes_a_list_or_star)
{
	struct config cfg;
	config_defaults(&cfg);
	cr_assert_str_eq(cfg.allow_origin, "", "default: only chatd's own page");
	char *list[] = { "chatd", "--allow-origin", "http://a.example:8080,https://b.example" };
	cr_assert_eq(parse(&cfg, 3, list), 0);
	cr_assert_str_eq(cfg.allow_origin, "http://a.example:8080,https://b.example");
	char *star[] = { "chatd", "--allow-origin=*" };
	cr_assert_eq(parse(&cfg, 2, star), 0);
	cr_assert_str_eq(cfg.allow_origin, "*");
}

Test(config, allow_origin_rejects_what_is_not_an_origin, .init = cr_redirect_stderr)
{
	struct config cfg;
	const char *bad[] = { "",
			      "ftp://a.example",
			      "http://a.example/",
			      "http://a.example,",
			      "a.example",
			      "*,http://a.example",
			      "null",
			      "http://a.example:99999" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char *argv[] = { "chatd", "--allow-origin", (char *)bad[i] };
		cr_assert_eq(parse(&cfg, 3, argv), -1, "'%s' accepted", bad[i]);
	}
	static char huge[CONFIG_ALLOW_ORIGIN_MAX + 32];
	size_t n = 0;
	while (n + 20 < sizeof(huge))
		n += (size_t)snprintf(huge + n, sizeof(huge) - n, "http://a.example:%d,", 1000);
	snprintf(huge + n, sizeof(huge) - n, "http://b");
	char *argv[] = { "chatd", "--allow-origin", huge };
	cr_assert_eq(parse(&cfg, 3, argv), -1, "a list over %d bytes accepted",
		     CONFIG_ALLOW_ORIGIN_MAX);
}

Test(config, allow_origin_error_names_the_bad_entry, .init = cr_redirect_stderr)
{
	struct config cfg;
	char *argv[] = { "chatd", "--allow-origin", "http://ok.example, http://bad.example/" };
	cr_assert_eq(parse(&cfg, 3, argv), -1);
	cr_assert_eq(fflush(stderr), 0);
	char first[512] = "";
	cr_assert_not_null(fgets(first, sizeof(first), cr_get_redirected_stderr()));
	cr_assert(strstr(first, "'http://bad.example/' is not an origin") != NULL, "%s", first);
}

Test(config, cluster_url_parts)
{
	struct redis_url u;
	const char *why = NULL;
	cr_assert_eq(config_parse_redis_url("redis://127.0.0.1:6379", &u, &why), 0, "%s", why);
	cr_assert_str_eq(u.host, "127.0.0.1");
	cr_assert_eq(u.port, 6379);
	cr_assert_str_eq(u.prefix, "chatd", "the default prefix");
	cr_assert_str_eq(u.user, "");
	cr_assert_str_eq(u.password, "");
	cr_assert_eq(
	    config_parse_redis_url("redis://app:s3cret@localhost:7000/chat.eu-1", &u, &why), 0,
	    "%s", why);
	cr_assert_str_eq(u.user, "app");
	cr_assert_str_eq(u.password, "s3cret");
	cr_assert_str_eq(u.host, "localhost");
	cr_assert_eq(u.port, 7000);
	cr_assert_str_eq(u.prefix, "chat.eu-1");
	cr_assert_eq(config_parse_redis_url("redis://:pw@[::1]:6380", &u, &why), 0, "%s", why);
	cr_assert_str_eq(u.user, "", "no user: Redis's default one");
	cr_assert_str_eq(u.password, "pw");
	cr_assert_str_eq(u.host, "::1");
}

Test(config, cluster_url_mistakes_say_what_is_wrong)
{
	static const char *const bad[] = {
		"http://127.0.0.1:6379",   "redis://127.0.0.1",     "redis://127.0.0.1:0",
		"redis://127.0.0.1:70000", "redis://host_name:1",   "redis://h:1/bad prefix",
		"redis://user@h:1",        "redis://[localhost]:1", "redis://h:1/",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct redis_url u;
		const char *why = NULL;
		cr_assert_eq(config_parse_redis_url(bad[i], &u, &why), -1, "%s", bad[i]);
		cr_assert_not_null(why, "%s", bad[i]);
	}
}

Test(config, cluster_flags, .init = cr_redirect_stderr)
{
	struct config cfg;
	char *ok[] = { "chatd",
		       "--cluster",
		       "redis://127.0.0.1:6379/t",
		       "--node-id",
		       "eu-1:a",
		       "--cluster-password-file",
		       "/run/secrets/redis" };
	cr_assert_eq(parse(&cfg, 7, ok), 0);
	cr_assert_str_eq(cfg.cluster, "redis://127.0.0.1:6379/t");
	cr_assert_str_eq(cfg.node_id, "eu-1:a");
	cr_assert_str_eq(cfg.cluster_password_file, "/run/secrets/redis");
	char *bad_url[] = { "chatd", "--cluster", "redis://nowhere" };
	cr_assert_eq(parse(&cfg, 3, bad_url), -1);
	char *bad_id[] = { "chatd", "--node-id", "a b" };
	cr_assert_eq(parse(&cfg, 3, bad_id), -1);
}

Test(config, log_format_is_text_or_json)
{
	struct config cfg;
	config_defaults(&cfg);
	cr_assert_eq(cfg.log_format, LOG_FORMAT_TEXT, "text by default");
	char *json[] = { "chatd", "--log-format", "json" };
	cr_assert_eq(config_parse(&cfg, 3, json), 0);
	cr_assert_eq(cfg.log_format, LOG_FORMAT_JSON);
	char *text[] = { "chatd", "--log-format=text" };
	cr_assert_eq(config_parse(&cfg, 2, text), 0);
	cr_assert_eq(cfg.log_format, LOG_FORMAT_TEXT);
}

Test(config, log_format_other_than_text_or_json_is_refused, .init = cr_redirect_stderr)
{
	struct config cfg;
	char *argv[] = { "chatd", "--log-format", "logfmt" };
	cr_assert_eq(parse(&cfg, 3, argv), -1);
	cr_assert_eq(fflush(stderr), 0);
	char first[256] = "";
	cr_assert_not_null(fgets(first, sizeof(first), cr_get_redirected_stderr()));
	cr_assert_str_eq(first, "chatd: --log-format: unknown format 'logfmt' (text or json)\n");
}

Test(config, ws_ping_interval_is_in_seconds_30_by_default_and_0_turns_it_off,
     .init = cr_redirect_stderr)
{
	struct config cfg;
	config_defaults(&cfg);
	cr_assert_eq(cfg.ws_ping_interval_ms, 30000);
	char *one[] = { "chatd", "--ws-ping-interval", "1" };
	cr_assert_eq(parse(&cfg, 3, one), 0);
	cr_assert_eq(cfg.ws_ping_interval_ms, 1000);
	char *off[] = { "chatd", "--ws-ping-interval=0" };
	cr_assert_eq(parse(&cfg, 2, off), 0);
	cr_assert_eq(cfg.ws_ping_interval_ms, 0, "0 turns the pings off");
	char *bad[] = { "chatd", "--ws-ping-interval", "-1" };
	cr_assert_eq(parse(&cfg, 3, bad), -1);
}

/* ---- the --config file ------------------------------------------------------------------------ */

static char conf_dir[64];   /* a temporary directory for this test's files */
static char conf_path[128]; /* conf_dir/chatd.conf */

static void conf_setup(void)
{
	snprintf(conf_dir, sizeof(conf_dir), "/tmp/chatd-config-XXXXXX");
	cr_assert_not_null(mkdtemp(conf_dir));
	snprintf(conf_path, sizeof(conf_path), "%s/chatd.conf", conf_dir);
}

static void conf_teardown(void)
{
	(void)unlink(conf_path);
	(void)rmdir(conf_dir);
}

/* Writes text as the whole of conf_path. */
static void conf_write(const char *text)
{
	FILE *f = fopen(conf_path, "w");
	cr_assert_not_null(f);
	cr_assert_eq(fputs(text, f) >= 0, true);
	cr_assert_eq(fclose(f), 0);
}

/* config_load with "--config conf_path" and the extra flags (NULL-ended). */
static int load_with(struct config *cfg, char *err, size_t cap, const char *const *flags)
{
	char *argv[16] = { "chatd", "--config", conf_path };
	int argc = 3;
	for (; flags != NULL && *flags != NULL && argc < 15; flags++)
		argv[argc++] = (char *)*flags;
	config_defaults(cfg);
	err[0] = '\0';
	return config_load(cfg, argc, argv, err, cap);
}

Test(config_file, names_values_comments_and_blank_lines, .init = conf_setup, .fini = conf_teardown)
{
	conf_write("# chatd.conf\n"
		   "\n"
		   "workers 3\n"
		   "   # an indented comment\n"
		   "max-outbuf   256K  \n"
		   "\tmax-line\t8192\r\n"
		   "allow-origin https://a.example,https://b.example\n"
		   "log-level warn\n"
		   "drain-timeout 7\n"
		   "admin off");
	struct config cfg;
	char err[CONFIG_ERR_MAX];
	cr_assert_eq(load_with(&cfg, err, sizeof(err), NULL), 0, "%s", err);
	cr_assert_eq(cfg.workers, 3);
	cr_assert_eq(cfg.max_outbuf, (size_t)256 * 1024);
	cr_assert_eq(cfg.max_line, 8192, "tabs and a CRLF line end");
	cr_assert_str_eq(cfg.allow_origin, "https://a.example,https://b.example");
	cr_assert_eq(cfg.log_level, LOG_WARN);
	cr_assert_eq(cfg.drain_timeout_ms, 7000);
	cr_assert_str_eq(cfg.admin, "", "the last line needs no line end");
	cr_assert_str_eq(cfg.config_file, conf_path);
	cr_assert_eq(cfg.port, 2020, "what the file does not say keeps its default");
}

Test(config_file, a_flag_is_its_name_alone_or_yes_or_no, .init = conf_setup, .fini = conf_teardown)
{
	struct config cfg;
	char err[CONFIG_ERR_MAX];
	conf_write("require-auth\n");
	cr_assert_eq(load_with(&cfg, err, sizeof(err), NULL), 0, "%s", err);
	cr_assert_eq(cfg.require_auth, 1);
	conf_write("require-auth yes\n");
	cr_assert_eq(load_with(&cfg, err, sizeof(err), NULL), 0, "%s", err);
	cr_assert_eq(cfg.require_auth, 1);
	conf_write("require-auth no\n");
	cr_assert_eq(load_with(&cfg, err, sizeof(err), NULL), 0, "%s", err);
	cr_assert_eq(cfg.require_auth, 0);
	conf_write("\n\nrequire-auth maybe\n");
	cr_assert_eq(load_with(&cfg, err, sizeof(err), NULL), -1);
	char want[256];
	snprintf(want, sizeof(want),
		 "%s:3: require-auth: 'maybe': write the name alone, or yes or no", conf_path);
	cr_assert_str_eq(err, want);
}

Test(config_file, an_unknown_option_is_an_error_naming_file_and_line, .init = conf_setup,
     .fini = conf_teardown)
{
	conf_write("# tuned for the big room\nworkers 2\n\nwokers 4\nmax-line 8K\n");
	struct config cfg;
	char err[CONFIG_ERR_MAX], want[256];
	cr_assert_eq(load_with(&cfg, err, sizeof(err), NULL), -1);
	snprintf(want, sizeof(want), "%s:4: unknown option 'wokers'", conf_path);
	cr_assert_str_eq(err, want);
}

Test(config_file, a_bad_value_is_an_error_naming_file_line_and_option, .init = conf_setup,
     .fini = conf_teardown)
{
	conf_write("workers 2\nmax-line 5\n");
	struct config cfg;
	char err[CONFIG_ERR_MAX], want[256];
	cr_assert_eq(load_with(&cfg, err, sizeof(err), NULL), -1);
	snprintf(want, sizeof(want), "%s:2: max-line: '5' is not a number in 16..1048576",
		 conf_path);
	cr_assert_str_eq(err, want);
	conf_write("allow-origin https://ok.example,http://bad.example/\n");
	cr_assert_eq(load_with(&cfg, err, sizeof(err), NULL), -1);
	snprintf(want, sizeof(want), "%s:1: allow-origin: 'http://bad.example/' is not an origin",
		 conf_path);
	cr_assert(strncmp(err, want, strlen(want)) == 0, "%s", err);
	conf_write("max-rooms\n");
	cr_assert_eq(load_with(&cfg, err, sizeof(err), NULL), -1);
	snprintf(want, sizeof(want), "%s:1: max-rooms: needs a value", conf_path);
	cr_assert_str_eq(err, want);
}

Test(config_file, the_parse_error_is_printed_with_chatd_and_no_usage, .init = conf_setup,
     .fini = conf_teardown)
{
	cr_redirect_stderr();
	conf_write("wokers 4\n");
	struct config cfg;
	config_defaults(&cfg);
	char *argv[] = { "chatd", "--config", conf_path };
	cr_assert_eq(config_parse(&cfg, 3, argv), -1);
	cr_assert_eq(fflush(stderr), 0);
	char want[256];
	snprintf(want, sizeof(want), "chatd: %s:1: unknown option 'wokers'\n", conf_path);
	cr_assert_stderr_eq_str(want);
}

Test(config_file, an_option_set_twice_is_an_error, .init = conf_setup, .fini = conf_teardown)
{
	conf_write("max-line 8K\nworkers 2\nmax-line 16K\n");
	struct config cfg;
	char err[CONFIG_ERR_MAX], want[256];
	cr_assert_eq(load_with(&cfg, err, sizeof(err), NULL), -1);
	snprintf(want, sizeof(want), "%s:3: max-line: set twice (first on line 1)", conf_path);
	cr_assert_str_eq(err, want);
}

Test(config_file, command_line_only_names_are_refused_in_the_file, .init = conf_setup,
     .fini = conf_teardown)
{
	conf_write("config /etc/other.conf\n");
	struct config cfg;
	char err[CONFIG_ERR_MAX], want[256];
	cr_assert_eq(load_with(&cfg, err, sizeof(err), NULL), -1);
	snprintf(want, sizeof(want), "%s:1: 'config' may only be given on the command line",
		 conf_path);
	cr_assert_str_eq(err, want);
	conf_write("--workers 2\n");
	cr_assert_eq(load_with(&cfg, err, sizeof(err), NULL), -1);
	snprintf(want, sizeof(want), "%s:1: unknown option '--workers'", conf_path);
	cr_assert_str_eq(err, want);
}

Test(config_file, a_missing_file_is_an_error_naming_it, .init = conf_setup, .fini = conf_teardown)
{
	struct config cfg;
	char err[CONFIG_ERR_MAX], want[256];
	cr_assert_eq(load_with(&cfg, err, sizeof(err), NULL), -1);
	snprintf(want, sizeof(want), "%s: No such file or directory", conf_path);
	cr_assert_str_eq(err, want);
}

Test(config_file, a_line_over_the_limit_is_an_error, .init = conf_setup, .fini = conf_teardown)
{
	static char text[CONFIG_LINE_MAX + 64];
	size_t k = (size_t)snprintf(text, sizeof(text), "allow-origin ");
	memset(text + k, 'a', CONFIG_LINE_MAX + 10 - k);
	text[CONFIG_LINE_MAX + 10] = '\n';
	conf_write(text);
	struct config cfg;
	char err[CONFIG_ERR_MAX], want[256];
	cr_assert_eq(load_with(&cfg, err, sizeof(err), NULL), -1);
	snprintf(want, sizeof(want), "%s:1: line longer than %d bytes", conf_path, CONFIG_LINE_MAX);
	cr_assert_str_eq(err, want);
}

Test(config_file, flags_on_the_command_line_win_over_the_file, .init = conf_setup,
     .fini = conf_teardown)
{
	conf_write("max-line 8K\nworkers 2\nrate-limit 10\n");
	struct config cfg;
	char err[CONFIG_ERR_MAX];
	/* before and after --config: both win */
	const char *flags[] = { "--max-line", "1000", "--rate-limit=20", NULL };
	cr_assert_eq(load_with(&cfg, err, sizeof(err), flags), 0, "%s", err);
	cr_assert_eq(cfg.max_line, 1000);
	cr_assert_eq(cfg.rate_limit, 20);
	cr_assert_eq(cfg.workers, 2, "what only the file says still counts");
	char *argv[] = { "chatd", "--workers", "5", "--config", conf_path };
	config_defaults(&cfg);
	cr_assert_eq(config_load(&cfg, 5, argv, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(cfg.workers, 5, "a flag before --config wins too");
	cr_assert_eq(cfg.max_line, 8192);
}

Test(config_file, a_bad_flag_is_reported_before_the_file_is_read, .init = conf_setup,
     .fini = conf_teardown)
{
	conf_write("wokers 4\n");
	struct config cfg;
	char err[CONFIG_ERR_MAX];
	const char *flags[] = { "--max-line", "1", NULL };
	cr_assert_eq(load_with(&cfg, err, sizeof(err), flags), -1);
	cr_assert_str_eq(err, "--max-line: '1' is not a number in 16..1048576");
}

/* ---- comparing configurations (what SIGHUP logs) -------------------------------------------- */

struct seen_changes {
	int n;
	char lines[8][256];
};

static void note_change(void *arg, const char *name, const char *was, const char *now)
{
	struct seen_changes *s = arg;
	cr_assert_lt(s->n, 8);
	snprintf(s->lines[s->n++], sizeof(s->lines[0]), "%s %s -> %s", name, was, now);
}

Test(config, diff_names_each_changed_option_with_both_values)
{
	struct config a, b;
	config_defaults(&a);
	config_defaults(&b);
	struct seen_changes s = { 0 };
	cr_assert_eq(config_diff(&a, &b, note_change, &s), 0);
	b.max_outbuf = (size_t)512 * 1024;
	b.workers = 4;
	b.drain_timeout_ms = 2000;
	b.log_level = LOG_DEBUG;
	b.require_auth = 1;
	snprintf(b.admin, sizeof(b.admin), "%s", "");
	cr_assert_eq(config_diff(&a, &b, note_change, &s), 6);
	cr_assert_str_eq(s.lines[0], "workers 0 -> 4", "in the table's order");
	cr_assert_str_eq(s.lines[1], "max-outbuf 1048576 -> 524288");
	cr_assert_str_eq(s.lines[2], "drain-timeout 5 -> 2");
	cr_assert_str_eq(s.lines[3], "admin 127.0.0.1:9020 -> off");
	cr_assert_str_eq(s.lines[4], "log-level info -> debug");
	cr_assert_str_eq(s.lines[5], "require-auth no -> yes");
}

Test(config, diff_masks_cluster_credentials_but_sees_them_change)
{
	struct config a, b;
	config_defaults(&a);
	config_defaults(&b);
	snprintf(a.cluster, sizeof(a.cluster), "redis://app:old@127.0.0.1:6379");
	snprintf(b.cluster, sizeof(b.cluster), "redis://app:new@127.0.0.1:6379");
	struct seen_changes s = { 0 };
	cr_assert_eq(config_diff(&a, &b, note_change, &s), 1);
	cr_assert_str_eq(s.lines[0],
			 "cluster redis://***@127.0.0.1:6379 -> redis://***@127.0.0.1:6379");
}

Test(config, keep_copies_one_option_back)
{
	struct config run, next;
	config_defaults(&run);
	config_defaults(&next);
	run.workers = 2;
	next.workers = 4;
	next.max_line = 100;
	snprintf(run.bind_addr, sizeof(run.bind_addr), "::1");
	cr_assert_eq(config_keep(&next, &run, "workers"), 0);
	cr_assert_eq(config_keep(&next, &run, "bind"), 0);
	cr_assert_eq(next.workers, 2);
	cr_assert_str_eq(next.bind_addr, "::1");
	cr_assert_eq(next.max_line, 100, "the others are left alone");
	cr_assert_eq(config_keep(&next, &run, "wokers"), -1);
}

/* ---- chatd --check-config (the program) -------------------------------------------------------- */

/* Runs bin/chatd ARGS... (NULL-ended) to its end (10 s at most); its stdout and stderr into
 * out; returns its exit status (-1: killed at the deadline). */
static int run_chatd(char *out, size_t cap, const char *const *args)
{
	const char *argv[24] = { "./bin/chatd" };
	size_t n = 1;
	for (; *args != NULL && n < 23; args++)
		argv[n++] = *args;
	argv[n] = NULL;
	int fds[2];
	cr_assert_eq(pipe2(fds, O_CLOEXEC), 0);
	pid_t pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		dup2(fds[1], 1);
		dup2(fds[1], 2);
		execv(argv[0], (char *const *)argv);
		_exit(127);
	}
	close(fds[1]);
	size_t len = 0;
	struct pollfd pf = { .fd = fds[0], .events = POLLIN };
	while (len + 1 < cap && poll(&pf, 1, 10000) == 1) {
		ssize_t r = read(fds[0], out + len, cap - 1 - len);
		if (r <= 0)
			break;
		len += (size_t)r;
	}
	out[len] = '\0';
	close(fds[0]);
	int status = 0;
	int64_t deadline = clock_now_ms() + 10000;
	while (waitpid(pid, &status, WNOHANG) == 0) {
		if (clock_now_ms() > deadline) {
			kill(pid, SIGKILL);
			waitpid(pid, &status, 0);
			return -1;
		}
		usleep(10 * 1000);
	}
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

Test(check_config, a_valid_file_and_flags_exit_0, .init = conf_setup, .fini = conf_teardown,
     .timeout = 30)
{
	conf_write("workers 2\nmax-line 8K\n");
	char out[4096];
	const char *args[] = { "--check-config", "--config", conf_path, "--port", "2021", NULL };
	cr_assert_eq(run_chatd(out, sizeof(out), args), 0, "%s", out);
	cr_assert(strstr(out, "configuration OK") != NULL, "%s", out);
}

Test(check_config, an_unknown_option_in_the_file_exits_1_naming_it, .init = conf_setup,
     .fini = conf_teardown, .timeout = 30)
{
	conf_write("workers 2\n\nwokers 4\n");
	char out[4096], want[256];
	const char *args[] = { "--check-config", "--config", conf_path, NULL };
	cr_assert_eq(run_chatd(out, sizeof(out), args), 1, "%s", out);
	snprintf(want, sizeof(want), "chatd: %s:3: unknown option 'wokers'\n", conf_path);
	cr_assert_str_eq(out, want);
}

Test(check_config, a_bad_flag_exits_1, .timeout = 30)
{
	char out[16384];
	const char *args[] = { "--max-line", "1", "--check-config", NULL };
	cr_assert_eq(run_chatd(out, sizeof(out), args), 1, "%s", out);
	cr_assert(strstr(out, "chatd: --max-line: '1' is not a number") == out, "%s", out);
}

Test(check_config, what_the_server_would_refuse_exits_1, .init = conf_setup, .fini = conf_teardown,
     .timeout = 30)
{
	char missing[160], out[4096];
	snprintf(missing, sizeof(missing), "%s/no-such-secret", conf_dir);
	conf_write("require-auth\n");
	const char *no_secret[] = { "--check-config", "--config", conf_path, NULL };
	cr_assert_eq(run_chatd(out, sizeof(out), no_secret), 1, "%s", out);
	cr_assert(strstr(out, "--require-auth needs --auth-secret") != NULL, "%s", out);
	const char *unreadable[] = { "--check-config", "--auth-secret", missing, NULL };
	cr_assert_eq(run_chatd(out, sizeof(out), unreadable), 1, "%s", out);
	cr_assert(strstr(out, "No such file or directory") != NULL, "%s", out);
	const char *nobody[] = { "--check-config", "--user", "no-such-user-chatd", NULL };
	cr_assert_eq(run_chatd(out, sizeof(out), nobody), 1, "%s", out);
	cr_assert(strstr(out, "--user no-such-user-chatd: no such user") != NULL, "%s", out);
}

Test(check_config, binds_nothing_so_a_busy_port_is_no_error, .timeout = 30)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	cr_assert_geq(fd, 0);
	struct sockaddr_in a = { .sin_family = AF_INET };
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	cr_assert_eq(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	cr_assert_eq(listen(fd, 1), 0);
	socklen_t len = sizeof(a);
	cr_assert_eq(getsockname(fd, (struct sockaddr *)&a, &len), 0);
	char port[16], out[4096];
	snprintf(port, sizeof(port), "%u", ntohs(a.sin_port));
	const char *args[] = { "--check-config", "--bind", "127.0.0.1", "--port", port,
			       "--admin",        "off",    NULL };
	int rc = run_chatd(out, sizeof(out), args);
	close(fd);
	cr_assert_eq(rc, 0, "%s", out);
}
