/*
 * test_operator.c - the operators' API on the admin listener (operator.c, bans.c): the token,
 * /users and /rooms, a kick, bans of an address, a range and a name (present users removed,
 * newcomers refused with the reason), bans lifted, bans kept across a restart with
 * --state-dir (written atomically), and the refusals (bad token, bad target, --max-bans).
 */
#include "bans.h"
#include "json.h"
#include "server.h"
#include "testlib.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define TOKEN "s3cret-operator-token-0123456789"

struct op_server {
	struct server *srv;
	uint16_t port, admin;
	char dir[64]; /* --state-dir, and the token file */
};

static void op_start(struct op_server *o, const char *state_dir, int max_bans)
{
	struct config cfg = ts_config(2);
	snprintf(cfg.admin, sizeof(cfg.admin), "127.0.0.1:0");
	if (o->dir[0] == '\0') {
		snprintf(o->dir, sizeof(o->dir), "/tmp/chatd-op-XXXXXX");
		cr_assert_not_null(mkdtemp(o->dir));
		char path[128];
		snprintf(path, sizeof(path), "%s/token", o->dir);
		FILE *f = fopen(path, "w");
		cr_assert_not_null(f);
		cr_assert_gt(fprintf(f, TOKEN "\n"), 0);
		cr_assert_eq(fclose(f), 0);
	}
	snprintf(cfg.admin_token, sizeof(cfg.admin_token), "%s/token", o->dir);
	if (state_dir != NULL)
		snprintf(cfg.state_dir, sizeof(cfg.state_dir), "%s", state_dir);
	if (max_bans > 0)
		cfg.max_bans = max_bans;
	o->srv = ts_start(&cfg);
	cr_assert_not_null(o->srv);
	o->port = server_port(o->srv);
	o->admin = server_admin_port(o->srv);
}

static void op_stop(struct op_server *o)
{
	ts_stop(o->srv);
	o->srv = NULL;
}

static void op_clean(struct op_server *o)
{
	static const char *const files[] = { "token", "bans", "bans.tmp" };
	char path[128];
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", o->dir, files[i]);
		(void)unlink(path); /* some were never made */
	}
	cr_assert_eq(rmdir(o->dir), 0);
}

/* METHOD PATH with the token (or `token`), an optional body; the status, the body in out. */
static int call(const struct op_server *o, const char *method, const char *path, const char *token,
		const char *body, char *out, size_t cap)
{
	char req[2048];
	snprintf(
	    req, sizeof(req), "%s %s HTTP/1.1\r\nHost: x\r\n%s%s%sContent-Length: %zu\r\n%s\r\n%s",
	    method, path, token ? "Authorization: Bearer " : "", token ? token : "",
	    token ? "\r\n" : "", body ? strlen(body) : 0,
	    body && body[0] == '{' ? "Content-Type: application/json\r\n" : "", body ? body : "");
	int status = ts_http(o->admin, req, out, cap);
	char *b = strstr(out, "\r\n\r\n");
	if (b != NULL)
		memmove(out, b + 4, strlen(b + 4) + 1);
	return status;
}

static int op(const struct op_server *o, const char *method, const char *path, const char *body,
	      char *out, size_t cap)
{
	return call(o, method, path, TOKEN, body, out, cap);
}

/* A user named `name` in room `room`, its welcome and join lines read. */
static struct tclient *user_from(const struct op_server *o, const char *source, const char *name,
				 const char *room)
{
	struct tclient *c = source ? tc_join_from(source, o->port) : tc_join(o->port);
	char line[256];
	snprintf(line, sizeof(line), "/nick %s\n", name);
	tc_send(c, line);
	snprintf(line, sizeof(line), "/join %s\n", room);
	tc_send(c, line);
	snprintf(line, sizeof(line), "* You are now in %s.", room);
	for (int i = 0; i < 20; i++) {
		char got[512];
		cr_assert(tc_read_line(c, got, sizeof(got), 2000) > 0, "no join for %s", name);
		if (strncmp(got, line, strlen(line)) == 0)
			return c;
	}
	cr_assert_fail("%s never got into %s", name, room);
	return NULL;
}

Test(operator, the_api_wants_the_token_but_metrics_do_not)
{
	struct op_server o = { 0 };
	op_start(&o, NULL, 0);
	static char out[256 * 1024]; /* /metrics */
	cr_assert_eq(call(&o, "GET", "/users", NULL, NULL, out, sizeof(out)), 401);
	cr_assert_eq(
	    call(&o, "GET", "/users", "wrong-token-wrong-token-wrong!!!", NULL, out, sizeof(out)),
	    401);
	cr_assert_eq(call(&o, "GET", "/bans", TOKEN "x", NULL, out, sizeof(out)), 401);
	cr_assert_eq(op(&o, "GET", "/users", NULL, out, sizeof(out)), 200, "%s", out);
	cr_assert_eq(call(&o, "GET", "/metrics", NULL, NULL, out, sizeof(out)), 200);
	cr_assert(strstr(out, "chatd_admin_rejected_total{reason=\"token\"} 3") != NULL);
	op_stop(&o);
	op_clean(&o);
}

Test(operator, users_lists_name_room_protocol_address_and_filters)
{
	struct op_server o = { 0 };
	op_start(&o, NULL, 0);
	struct tclient *a = user_from(&o, "127.0.0.2", "alice", "dev");
	struct tclient *b = user_from(&o, NULL, "bob", "ops");
	char out[8192];
	cr_assert_eq(op(&o, "GET", "/users", NULL, out, sizeof(out)), 200);
	struct json_token tok[256];
	struct json_doc doc;
	cr_assert(json_parse(&doc, out, strlen(out) - 1, tok, 256) > 0, "%s", out);
	int64_t count = 0;
	cr_assert_eq(json_get_int(&doc, 0, "count", &count), 0);
	cr_assert_eq(count, 2, "%s", out);
	cr_assert(strstr(out, "\"name\":\"alice\",") != NULL, "%s", out);
	cr_assert(strstr(out, "\"room\":\"dev\",\"protocol\":\"line\",\"address\":\"127.0.0.2\"") !=
		      NULL,
		  "%s", out);
	cr_assert(strstr(out, "\"rooms\":[\"dev\"]}") != NULL, "%s", out);
	cr_assert_eq(op(&o, "GET", "/users?room=ops", NULL, out, sizeof(out)), 200);
	cr_assert(strstr(out, "\"count\":1,") != NULL && strstr(out, "bob") != NULL, "%s", out);
	cr_assert(strstr(out, "alice") == NULL, "%s", out);
	cr_assert_eq(op(&o, "GET", "/users?name=ALICE", NULL, out, sizeof(out)), 200);
	cr_assert(strstr(out, "\"count\":1,") != NULL && strstr(out, "alice") != NULL, "%s", out);
	cr_assert_eq(op(&o, "GET", "/rooms", NULL, out, sizeof(out)), 200);
	cr_assert(strstr(out, "{\"name\":\"dev\",\"members\":1,") != NULL, "%s", out);
	cr_assert_eq(op(&o, "GET", "/users?limit=0", NULL, out, sizeof(out)), 400);
	tc_close(a);
	tc_close(b);
	op_stop(&o);
	op_clean(&o);
}

Test(operator, a_kick_tells_the_user_and_the_room)
{
	struct op_server o = { 0 };
	op_start(&o, NULL, 0);
	struct tclient *a = user_from(&o, NULL, "alice", "dev");
	struct tclient *b = user_from(&o, NULL, "bob", "dev");
	tc_expect_eventually(a, "* bob has entered.", 2000);
	char out[1024];
	cr_assert_eq(op(&o, "POST", "/kick", "{\"name\":\"Bob\",\"reason\":\"spam \\\"links\\\"\"}",
			out, sizeof(out)),
		     200, "%s", out);
	cr_assert(strstr(out, "kicked bob") != NULL, "%s", out);
	tc_expect_eventually(b, "* You were removed by an operator: spam \"links\".", 2000);
	tc_expect_closed(b, 2000);
	tc_expect_eventually(a, "* bob has left (\"kicked: spam \\\"links\\\"\").", 2000);
	/* form-encoded, in the query: the same */
	cr_assert_eq(op(&o, "POST", "/kick?name=alice&reason=bye+now%21", NULL, out, sizeof(out)),
		     200);
	tc_expect_eventually(a, "* You were removed by an operator: bye now!.", 2000);
	cr_assert_eq(op(&o, "POST", "/kick?name=nobody", NULL, out, sizeof(out)), 404);
	cr_assert_eq(op(&o, "POST", "/kick?name=a%0Ab", NULL, out, sizeof(out)), 400);
	cr_assert_eq(op(&o, "GET", "/kick?name=x", NULL, out, sizeof(out)), 405);
	tc_close(a);
	tc_close(b);
	op_stop(&o);
	op_clean(&o);
}

Test(operator, an_address_ban_removes_present_users_and_refuses_newcomers)
{
	struct op_server o = { 0 };
	op_start(&o, NULL, 0);
	struct tclient *bad = user_from(&o, "127.0.0.3", "mallory", "dev");
	struct tclient *good = user_from(&o, "127.0.0.4", "alice", "dev");
	char out[2048];
	cr_assert_eq(op(&o, "POST", "/ban", "target=127.0.0.3&duration=600&reason=flooding", out,
			sizeof(out)),
		     201, "%s", out);
	cr_assert(strstr(out, "\"kicked\":1,") != NULL, "%s", out);
	tc_expect_eventually(bad, "* error: you are banned from this server: flooding.", 2000);
	tc_expect_closed(bad, 2000);
	tc_expect_eventually(good, "* mallory has left (\"banned: flooding\").", 2000);
	/* a newcomer from there is told why, with the end of the ban, and closed */
	struct tclient *again = tc_adopt(ts_dial_from("127.0.0.3", o.port));
	char line[256];
	cr_assert(tc_read_line(again, line, sizeof(line), 2000) > 0);
	cr_assert(strncmp(line, "* error: you are banned from this server: flooding (until ", 58) ==
		      0,
		  "%s", line);
	tc_expect_closed(again, 2000);
	/* a range covers its addresses; another address is not affected */
	cr_assert_eq(op(&o, "POST", "/ban", "target=127.0.1.0/24", out, sizeof(out)), 201);
	struct tclient *ranged = tc_adopt(ts_dial_from("127.0.1.9", o.port));
	tc_expect(ranged, "* error: you are banned from this server.");
	tc_expect_closed(ranged, 2000);
	tc_send(good, "still here\n");
	tc_expect_eventually(good, "alice:still here", 2000);
	tc_close_all((struct tclient *[]){ bad, good, again, ranged }, 4);
	op_stop(&o);
	op_clean(&o);
}

Test(operator, a_name_ban_kicks_its_holder_and_the_name_cannot_be_taken)
{
	struct op_server o = { 0 };
	op_start(&o, NULL, 0);
	struct tclient *a = user_from(&o, NULL, "troll", "dev");
	struct tclient *b = user_from(&o, NULL, "alice", "dev");
	char out[2048];
	cr_assert_eq(
	    op(&o, "POST", "/ban", "{\"target\":\"troll\",\"reason\":\"abuse\"}", out, sizeof(out)),
	    201, "%s", out);
	tc_expect_eventually(a, "* error: you are banned from this server: abuse.", 2000);
	tc_send(b, "/nick TROLL\n");
	tc_expect_eventually(b, "* error: the name TROLL is banned: abuse.", 2000);
	/* GET /bans lists it; DELETE lifts it; the name is free again */
	cr_assert_eq(op(&o, "GET", "/bans", NULL, out, sizeof(out)), 200);
	cr_assert(strstr(out, "\"id\":1,\"kind\":\"name\",\"target\":\"troll\"") != NULL, "%s",
		  out);
	cr_assert_eq(op(&o, "DELETE", "/bans/1", NULL, out, sizeof(out)), 200, "%s", out);
	cr_assert_eq(op(&o, "DELETE", "/bans/1", NULL, out, sizeof(out)), 404);
	cr_assert_eq(op(&o, "DELETE", "/bans/x", NULL, out, sizeof(out)), 400);
	tc_send(b, "/nick troll\n");
	tc_expect_eventually(b, "* alice is now known as troll.", 2000);
	cr_assert_eq(op(&o, "POST", "/ban", "target=not%20a%20target", out, sizeof(out)), 400);
	tc_close(a);
	tc_close(b);
	op_stop(&o);
	op_clean(&o);
}

Test(operator, bans_survive_a_restart_with_a_state_dir)
{
	struct op_server o = { 0 };
	op_start(&o, NULL, 0); /* makes the directory */
	op_stop(&o);
	op_start(&o, o.dir, 0);
	char out[2048];
	cr_assert_eq(
	    op(&o, "POST", "/ban", "target=127.0.0.5&reason=gone%20for%20good", out, sizeof(out)),
	    201);
	cr_assert_eq(op(&o, "POST", "/ban", "target=eve&duration=3600", out, sizeof(out)), 201);
	op_stop(&o);
	char path[128];
	snprintf(path, sizeof(path), "%s/bans", o.dir);
	struct stat st;
	cr_assert_eq(stat(path, &st), 0);
	cr_assert_eq(st.st_mode & 0777, 0600);
	snprintf(path, sizeof(path), "%s/bans.tmp", o.dir);
	cr_assert_neq(stat(path, &st), 0, "no temporary file left behind");
	op_start(&o, o.dir, 0);
	cr_assert_eq(op(&o, "GET", "/bans", NULL, out, sizeof(out)), 200);
	cr_assert(strstr(out, "\"target\":\"127.0.0.5\"") != NULL, "%s", out);
	cr_assert(strstr(out, "\"target\":\"eve\"") != NULL, "%s", out);
	struct tclient *c = tc_adopt(ts_dial_from("127.0.0.5", o.port));
	tc_expect(c, "* error: you are banned from this server: gone for good.");
	tc_close(c);
	/* the next ban gets a new number, after the ones loaded */
	cr_assert_eq(op(&o, "POST", "/ban", "target=10.0.0.0/8", out, sizeof(out)), 201);
	cr_assert(strstr(out, "\"id\":3,") != NULL, "%s", out);
	op_stop(&o);
	op_clean(&o);
}

Test(operator, max_bans_is_a_limit_and_a_bad_file_stops_the_start)
{
	struct op_server o = { 0 };
	op_start(&o, NULL, 2);
	char out[1024];
	cr_assert_eq(op(&o, "POST", "/ban", "target=10.0.0.1", out, sizeof(out)), 201);
	cr_assert_eq(op(&o, "POST", "/ban", "target=10.0.0.2", out, sizeof(out)), 201);
	cr_assert_eq(op(&o, "POST", "/ban", "target=10.0.0.3", out, sizeof(out)), 507, "%s", out);
	op_stop(&o);
	/* a damaged bans file: chatd says where and does not start */
	char path[128];
	snprintf(path, sizeof(path), "%s/bans", o.dir);
	FILE *f = fopen(path, "w");
	cr_assert_not_null(f);
	cr_assert_gt(fprintf(f, "# comment\n1\taddr\tnot-an-address\t0\t0\tx\ty\n"), 0);
	cr_assert_eq(fclose(f), 0);
	struct ban_list l;
	char why[256];
	cr_assert_lt(bans_init(&l, 10, o.dir, why, sizeof(why)), 0);
	cr_assert(strstr(why, "/bans:2: bad kind or value") != NULL, "%s", why);
	op_clean(&o);
}

Test(operator, sighup_rereads_the_bans_file_and_a_bad_one_changes_nothing)
{
	char dir[] = "/tmp/chatd-bans-XXXXXX", path[64], why[256];
	cr_assert_not_null(mkdtemp(dir));
	struct ban_list l;
	cr_assert_eq(bans_init(&l, 10, dir, why, sizeof(why)), 0, "%s", why);
	struct ban b = { 0 };
	cr_assert(bans_parse_target("10.1.2.3", 8, &b));
	cr_assert_eq(bans_add(&l, &b, 1000), 0);
	/* an operator edits the file by hand: the address goes, a name comes */
	snprintf(path, sizeof(path), "%s/bans", dir);
	FILE *f = fopen(path, "w");
	cr_assert_not_null(f);
	cr_assert_gt(fprintf(f, "7\tname\tmallory\t1000\t0\thand\tedited\n"), 0);
	cr_assert_eq(fclose(f), 0);
	cr_assert_eq(bans_reload(&l, why, sizeof(why)), 1, "%s", why);
	struct cidr_addr a;
	cr_assert(cidr_addr_parse("10.1.2.3", 8, &a));
	cr_assert_not(bans_match_addr(&l, &a, 2000, NULL));
	cr_assert(bans_match_name(&l, "Mallory", 7, 2000, NULL));
	/* a damaged file: the list stays */
	f = fopen(path, "w");
	cr_assert_not_null(f);
	cr_assert_gt(fprintf(f, "garbage\n"), 0);
	cr_assert_eq(fclose(f), 0);
	cr_assert_lt(bans_reload(&l, why, sizeof(why)), 0);
	cr_assert(bans_match_name(&l, "mallory", 7, 2000, NULL));
	/* and the next ban's number follows the file's */
	struct ban c = { 0 };
	cr_assert(bans_parse_target("eve", 3, &c));
	f = fopen(path, "w"); /* valid again, so the add can save */
	cr_assert_not_null(f);
	cr_assert_eq(fclose(f), 0);
	cr_assert_eq(bans_add(&l, &c, 3000), 0);
	cr_assert_eq(c.id, 8);
	bans_destroy(&l);
	cr_assert_eq(unlink(path), 0);
	cr_assert_eq(rmdir(dir), 0);
}
