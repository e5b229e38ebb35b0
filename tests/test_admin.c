/*
 * test_admin.c - the admin listener: /healthz, /metrics parsed and checked against known
 * traffic, and the error statuses.
 */
#include "log.h"
#include "server.h"
#include "testlib.h"

#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* Sends a request; returns the status, the body in out. */
static int get(uint16_t port, const char *request, char *out, size_t cap)
{
	int fd = ts_dial(port);
	send(fd, request, strlen(request), MSG_NOSIGNAL);
	int status = ts_http_answer(fd, out, cap, 15000);
	char *body = strstr(out, "\r\n\r\n");
	if (body != NULL)
		memmove(out, body + 4, strlen(body + 4) + 1);
	return status;
}

static double metric_sum(const char *page, const char *name)
{
	double sum = 0;
	size_t n = strlen(name);
	for (const char *l = page; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL) {
		if (strncmp(l, name, n) != 0 || (l[n] != '{' && l[n] != ' '))
			continue;
		const char *v = l[n] == '{' ? strchr(l, '}') + 1 : l + n;
		sum += atof(v);
	}
	return sum;
}

Test(admin, metrics_follow_known_traffic_and_health_answers, .timeout = 30)
{
	struct config cfg = ts_config(2);
	snprintf(cfg.admin, sizeof(cfg.admin), "127.0.0.1:0");
	struct server *srv = ts_start(&cfg);
	uint16_t admin = server_admin_port(srv);
	cr_assert_neq(admin, 0);
	struct tclient *a = tc_join(server_port(srv)), *b = tc_join(server_port(srv));
	ts_wait_users(srv, 2);
	tc_send(a, "one\ntwo\n");
	tc_send(b, "three\n\x1b[31m\n");
	tc_expect_eventually(a, "2:three", 2000);
	tc_expect_eventually(b, "2:three", 2000);
	tc_send(a, "/join side\n");
	tc_expect_eventually(a, "* You are now in side. 1 user here.", 2000);

	static char page[256 * 1024];
	cr_assert_eq(get(admin, "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n", page, sizeof(page)),
		     200);
	cr_assert_eq(metric_sum(page, "chatd_users"), 2, "%s", page);
	cr_assert_eq(metric_sum(page, "chatd_rooms"), 2);
	cr_assert_eq(metric_sum(page, "chatd_lines_in_total"), 3);
	cr_assert_eq(metric_sum(page, "chatd_lines_control_total"), 1);
	cr_assert_eq(metric_sum(page, "chatd_accepted_total"), 2);
	cr_assert_geq(metric_sum(page, "chatd_deliveries_total"), 6, "3 lines x 2 users");
	cr_assert_gt(metric_sum(page, "chatd_loop_iteration_seconds_count"), 0);
	cr_assert_eq(metric_sum(page, "chatd_inbox_depth"), 0);
	cr_assert(strstr(page, "# TYPE chatd_loop_iteration_seconds histogram") != NULL);
	cr_assert(strstr(page, "le=\"+Inf\"") != NULL);
	/* a maximum is a gauge, not a counter with a _total suffix */
	cr_assert(strstr(page, "# TYPE chatd_loop_iteration_max_seconds gauge") != NULL);
	cr_assert(strstr(page, "chatd_loop_iteration_max_seconds{worker=\"1\"} ") != NULL);
	cr_assert(strstr(page, "max_iteration_us") == NULL);
	cr_assert(strstr(page, "\nchatd_heap_bytes ") != NULL);

	char body[1024];
	cr_assert_eq(get(admin, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n", body, sizeof(body)),
		     200);
	cr_assert_str_eq(body, "ok\n");
	cr_assert_eq(get(admin, "GET /nope HTTP/1.1\r\nHost: x\r\n\r\n", body, sizeof(body)), 404);
	cr_assert_eq(get(admin, "POST /metrics HTTP/1.1\r\nHost: x\r\n\r\n", body, sizeof(body)),
		     405);
	cr_assert_eq(get(admin, "GET /metrics HTTP/1.1\r\n\r\n", body, sizeof(body)), 400,
		     "HTTP/1.1 without Host");
	tc_close(a);
	tc_close(b);
	ts_stop(srv);
}

Test(admin, off_means_no_listener_and_bad_values_are_refused, .timeout = 30)
{
	struct config cfg = ts_config(1);
	struct server *srv = ts_start(&cfg);
	cr_assert_eq(server_admin_port(srv), 0);
	ts_stop(srv);
	config_defaults(&cfg);
	char *bad[] = { "chatd", "--admin", "localhost:9020" };
	log_set_level(LOG_OFF);
	FILE *saved = stderr;
	stderr = fopen("/dev/null", "w");
	int rc = config_parse(&cfg, 3, bad);
	(void)fclose(stderr);
	stderr = saved;
	cr_assert_eq(rc, -1, "an address literal is required");
	char *v6[] = { "chatd", "--admin", "[::1]:0" };
	cr_assert_eq(config_parse(&cfg, 3, v6), 0);
	char *off[] = { "chatd", "--admin", "off" };
	cr_assert_eq(config_parse(&cfg, 3, off), 0);
	cr_assert_eq(cfg.admin[0], '\0');
}
