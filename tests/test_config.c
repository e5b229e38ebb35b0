/*
 * test_config.c - flags: defaults, both spellings, suffixes, and every rejection.
 */
#include "config.h"
#include "log.h"

#include <criterion/criterion.h>
#include <criterion/redirect.h>

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
