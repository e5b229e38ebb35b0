/*
 * test_config.c - flags: defaults, both spellings, suffixes, and every rejection.
 */
#include "common.h"
#include "config.h"
#include "log.h"
#include "memory.h"

#include <criterion/criterion.h>
#include <criterion/redirect.h>
#include <stdio.h>
#include <string.h>

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
