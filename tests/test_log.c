/*
 * test_log.c - the log line formats: text (the default, unchanged) and --log-format json,
 * whose lines are read back with json.c's strict reader (RFC 8259, UTF-8 checked). Unit tests
 * capture this process's stderr in a temporary file (the logger thread is not started here,
 * so log_write writes directly); one test reads what bin/chatd logs from start to stop.
 */
#include "common.h"
#include "json.h"
#include "log.h"
#include "testlib.h"

#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int saved_stderr = -1;
static FILE *capture_file;
static char captured[16384];
static struct tproc chatd;

static void log_cleanup(void)
{
	if (saved_stderr >= 0) {
		dup2(saved_stderr, STDERR_FILENO);
		close(saved_stderr);
		saved_stderr = -1;
	}
	if (capture_file != NULL)
		(void)fclose(capture_file); /* a temporary file, read or not: nothing to keep */
	capture_file = NULL;
	tp_stop(&chatd);
}

TestSuite(log, .fini = log_cleanup, .timeout = 30);

/* From here to capture_end, what is written to stderr goes to a temporary file. */
static void capture_begin(enum log_format format)
{
	log_set_level(LOG_DEBUG);
	log_set_format(format);
	capture_file = tmpfile();
	cr_assert_not_null(capture_file);
	saved_stderr = dup(STDERR_FILENO);
	cr_assert_geq(saved_stderr, 0);
	cr_assert_geq(dup2(fileno(capture_file), STDERR_FILENO), 0);
}

/* Restores stderr; returns what was written to it (NUL-terminated). */
static const char *capture_end(void)
{
	cr_assert_geq(dup2(saved_stderr, STDERR_FILENO), 0);
	close(saved_stderr);
	saved_stderr = -1;
	rewind(capture_file);
	size_t n = fread(captured, 1, sizeof(captured) - 1, capture_file);
	captured[n] = '\0';
	(void)fclose(capture_file); /* read-only from here: nothing to flush */
	capture_file = NULL;
	return captured;
}

/* One log line, as its writer would log it, in the given format. */
static const char *logged_line(enum log_format format, enum log_level level, int worker,
			       uint64_t conn, const char *msg)
{
	capture_begin(format);
	log_write(level, worker, conn, "%s", msg);
	return capture_end();
}

struct parsed {
	struct json_doc doc;
	struct json_token tokens[32];
};

/* Parses one JSON line (it must end with its only newline) or fails the test. */
static void parse_line(struct parsed *p, const char *line)
{
	size_t n = strlen(line);
	cr_assert_gt(n, 0);
	cr_assert_eq(line[n - 1], '\n', "a line ends with a newline: %s", line);
	cr_assert_eq(strchr(line, '\n'), line + n - 1, "one line only: %s", line);
	int rc = json_parse(&p->doc, line, n - 1, p->tokens, ARRAY_LEN(p->tokens));
	cr_assert_gt(rc, 0, "not strict JSON (%d): %s", rc, line);
}

static void expect_msg(const struct parsed *p, const char *want)
{
	char msg[4096];
	cr_assert_geq(json_get_string(&p->doc, 0, "msg", msg, sizeof(msg)), 0);
	cr_assert_str_eq(msg, want);
}

Test(log, json_line_has_time_level_worker_conn_and_msg)
{
	struct parsed p;
	parse_line(&p, logged_line(LOG_FORMAT_JSON, LOG_WARN, 2, 17, "hello world"));
	cr_assert_eq(p.tokens[0].count, 5, "time, level, worker, conn, msg: %s", captured);
	char time[40], level[16];
	cr_assert_eq(json_get_string(&p.doc, 0, "time", time, sizeof(time)), 24, "%s", time);
	cr_assert(time[4] == '-' && time[10] == 'T' && time[19] == '.' && time[23] == 'Z',
		  "ISO 8601, UTC, milliseconds: %s", time);
	cr_assert_geq(json_get_string(&p.doc, 0, "level", level, sizeof(level)), 0);
	cr_assert_str_eq(level, "warn");
	int64_t worker = -1, conn = -1;
	cr_assert_eq(json_get_int(&p.doc, 0, "worker", &worker), 0);
	cr_assert_eq(json_get_int(&p.doc, 0, "conn", &conn), 0);
	cr_assert_eq(worker, 2);
	cr_assert_eq(conn, 17);
	expect_msg(&p, "hello world");
}

Test(log, json_line_of_the_main_thread_has_no_worker_and_no_conn)
{
	struct parsed p;
	parse_line(&p, logged_line(LOG_FORMAT_JSON, LOG_INFO, -1, 0, "listening"));
	cr_assert_eq(json_find(&p.doc, 0, "worker"), JSON_ABSENT, "%s", captured);
	cr_assert_eq(json_find(&p.doc, 0, "conn"), JSON_ABSENT, "%s", captured);
	char level[16];
	cr_assert_geq(json_get_string(&p.doc, 0, "level", level, sizeof(level)), 0);
	cr_assert_str_eq(level, "info");
	expect_msg(&p, "listening");
}

Test(log, json_escapes_quotes_backslashes_and_control_characters)
{
	static const char text[] = "say \"hi\" \\ C:\\dir\nnext\tline\r\x01\x1b[31mred\x7f end";
	struct parsed p;
	const char *line = logged_line(LOG_FORMAT_JSON, LOG_ERROR, 0, 3, text);
	for (const char *c = line; *c != '\n'; c++)
		cr_assert(*c >= 0x20 && *c != 0x7f, "a raw control byte in %s", line);
	parse_line(&p, line);
	expect_msg(&p, text);
	cr_assert(strstr(line, "\\u001b[31m") != NULL, "%s", line);
}

Test(log, json_replaces_bytes_that_are_not_utf8)
{
	/* a stray 0xff, a lone lead byte, an encoded surrogate, an overlong '/', then valid
	 * 2-, 3- and 4-byte characters, which are kept as they are */
	static const char text[] = "a\xff"
				   "b\xc3("
				   "\xed\xa0\x80"
				   "\xc0\xaf"
				   "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80";
	struct parsed p;
	parse_line(&p, logged_line(LOG_FORMAT_JSON, LOG_INFO, 1, 0, text));
	expect_msg(&p, "a\xef\xbf\xbd"
		       "b\xef\xbf\xbd("
		       "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"
		       "\xef\xbf\xbd\xef\xbf\xbd"
		       "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80");
}

Test(log, json_long_message_is_cut_on_a_character_boundary_and_stays_valid)
{
	char text[1200];
	/* every byte a control character: 6 bytes each once escaped, far past the line's cap */
	memset(text, 0x01, sizeof(text) - 1);
	text[sizeof(text) - 1] = '\0';
	struct parsed p;
	const char *line = logged_line(LOG_FORMAT_JSON, LOG_INFO, 0, 0, text);
	cr_assert_leq(strlen(line), 2048);
	parse_line(&p, line);
	char msg[2048];
	int n = json_get_string(&p.doc, 0, "msg", msg, sizeof(msg));
	cr_assert_gt(n, 250, "most of what fits is kept: %d", n);
	for (int i = 0; i < n; i++)
		cr_assert_eq(msg[i], 0x01);

	/* two-byte characters past the message's 1 KiB: the last one cut by the formatting */
	for (size_t i = 0; i + 2 < sizeof(text); i += 2)
		memcpy(text + i, "\xc3\xa9", 2);
	text[sizeof(text) - 2] = '\0';
	parse_line(&p, logged_line(LOG_FORMAT_JSON, LOG_INFO, 0, 0, text));
}

Test(log, text_is_the_default_and_unchanged)
{
	/* no log_set_format call: a fresh process logs text */
	log_set_level(LOG_DEBUG);
	capture_file = tmpfile();
	saved_stderr = dup(STDERR_FILENO);
	cr_assert_geq(dup2(fileno(capture_file), STDERR_FILENO), 0);
	log_write(LOG_INFO, 2, 17, "hello %s", "world");
	log_write(LOG_WARN, -1, 0, "plain");
	const char *out = capture_end();
	unsigned y, mo, d, h, mi, s, ms;
	char rest[64];
	cr_assert_eq(sscanf(out, "%4u-%2u-%2uT%2u:%2u:%2u.%3uZ %63[^\n]", &y, &mo, &d, &h, &mi, &s,
			    &ms, rest),
		     8, "%s", out);
	cr_assert_str_eq(rest, "INFO  w2 c17 hello world");
	const char *second = strchr(out, '\n') + 1;
	cr_assert_str_eq(strchr(second, ' ') + 1, "WARN  main plain\n");
}

Test(log, format_names)
{
	cr_assert_eq(log_parse_format("text"), LOG_FORMAT_TEXT);
	cr_assert_eq(log_parse_format("json"), LOG_FORMAT_JSON);
	cr_assert_eq(log_parse_format("JSON"), -1);
	cr_assert_eq(log_parse_format("logfmt"), -1);
	cr_assert_eq(log_parse_format(""), -1);
}

/* Every line chatd writes, from its first to its last, is one JSON object. */
Test(log, chatd_logs_json_lines_from_start_to_stop)
{
	const char *args[] = { "--workers", "2", "--log-format", "json", "--log-level",
			       "debug",     NULL };
	tp_start(&chatd, args);
	struct tclient *c = tc_join(chatd.port);
	tc_send(c, "a line\n");
	tc_send_bytes(c, "bad \x1b line\n", 11); /* a refusal: a client-triggered log line */
	tc_expect_eventually(c,
			     "* error: U+001B (ESCAPE) at character 5 is not allowed; line "
			     "dropped.",
			     5000);
	tc_close(c);
	cr_assert_eq(tp_signal_wait(&chatd, SIGTERM, 10000), 0, "%s", chatd.log);
	int lines = 0;
	bool stopped = false;
	for (char *line = chatd.log; *line != '\0'; lines++) {
		char *end = strchr(line, '\n');
		cr_assert_not_null(end, "an unfinished line: %s", line);
		char saved = end[1];
		end[1] = '\0';
		struct parsed p;
		parse_line(&p, line);
		char msg[1024];
		cr_assert_geq(json_get_string(&p.doc, 0, "msg", msg, sizeof(msg)), 0);
		stopped = strcmp(msg, "stopped") == 0;
		end[1] = saved;
		line = end + 1;
	}
	cr_assert_geq(lines, 4, "%s", chatd.log);
	cr_assert(stopped, "the last line is the last one chatd writes: %s", chatd.log);
}
