/*
 * test_auth.c - signing in with a token the website signed (auth.c, --auth-secret): the
 * token's name, marked in /who; a guest holding the name renamed; every refusal with its error
 * line and counter; --require-auth; the rooms claim; /ws?token=. Tokens are minted here with
 * hmac.h and base64url.h (test_jwt.c checks those against node's crypto and the RFCs).
 */
#include "base64url.h"
#include "hmac.h"
#include "server.h"
#include "testlib.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static const char key[] = "0123456789abcdef0123456789abcdef-test-key";
static char secret_path[64];

static void write_secret(void)
{
	snprintf(secret_path, sizeof(secret_path), "/tmp/chatd-secret-XXXXXX");
	int fd = mkstemp(secret_path);
	cr_assert_geq(fd, 0);
	cr_assert_eq(write(fd, key, strlen(key)), (ssize_t)strlen(key));
	cr_assert_eq(write(fd, "\n", 1), 1); /* a final line end is not part of the key */
	close(fd);
}

static void remove_secret(void)
{
	unlink(secret_path);
}

TestSuite(auth, .init = write_secret, .fini = remove_secret);

/* base64url(header) "." base64url(payload) "." base64url(HMAC-SHA256 under k). */
static char *mint_with(const char *header, const char *payload, const char *k)
{
	static char token[2048];
	size_t n = base64url_encode((const uint8_t *)header, strlen(header), token);
	token[n++] = '.';
	n += base64url_encode((const uint8_t *)payload, strlen(payload), token + n);
	uint8_t mac[32];
	hmac_sha256((const uint8_t *)k, strlen(k), token, n, mac);
	token[n++] = '.';
	n += base64url_encode(mac, sizeof(mac), token + n);
	token[n] = '\0';
	return token;
}

static const char hs256[] = "{\"alg\":\"HS256\",\"typ\":\"JWT\"}";

/* A token for name that expires exp_in seconds from now, with extra claims (",..." or ""). */
static char *mint(const char *name, long exp_in, const char *extra)
{
	char payload[512];
	snprintf(payload, sizeof(payload), "{\"sub\":\"%s\",\"exp\":%lld%s}", name,
		 (long long)time(NULL) + exp_in, extra);
	return mint_with(hs256, payload, key);
}

static struct server *start(int workers, bool require)
{
	struct config cfg = ts_config(workers);
	snprintf(cfg.auth_secret, sizeof(cfg.auth_secret), "%s", secret_path);
	cfg.require_auth = require;
	return ts_start(&cfg);
}

static void sign_in(struct tclient *c, const char *token)
{
	char line[2200];
	snprintf(line, sizeof(line), "/auth %s\n", token);
	tc_send(c, line);
}

Test(auth, a_valid_token_gives_its_name_marked_in_who, .timeout = 30)
{
	struct server *srv = start(2, false);
	uint16_t port = server_port(srv);
	struct tclient *a = tc_join(port), *b = tc_join(port);
	ts_wait_users(srv, 2);
	sign_in(a, mint("alice", 600, ""));
	tc_expect_eventually(a, "* You are signed in as alice.", 3000);
	char renamed[96];
	snprintf(renamed, sizeof(renamed), "* %llu is now known as alice.",
		 (unsigned long long)a->name);
	tc_expect_eventually(b, renamed, 3000);
	tc_send(b, "/who\n");
	char who[128];
	snprintf(who, sizeof(who), "* 2 users in lobby: alice\xe2\x9c\x93, %llu",
		 (unsigned long long)b->name);
	char other[128];
	snprintf(other, sizeof(other), "* 2 users in lobby: %llu, alice\xe2\x9c\x93",
		 (unsigned long long)b->name);
	char line[256];
	cr_assert_geq(tc_read_line(b, line, sizeof(line), 3000), 0);
	cr_assert(strcmp(line, who) == 0 || strcmp(line, other) == 0, "%s", line);
	tc_send(a, "/nick other\n");
	tc_expect_eventually(a, "* error: you are signed in as alice: your name comes with it.",
			     3000);
	TS_WAIT_COUNTER(srv, auth_ok, 1, 2000);
	tc_close(a);
	tc_close(b);
	ts_stop(srv);
}

Test(auth, a_guest_holding_the_name_is_renamed_and_told, .timeout = 30)
{
	struct server *srv = start(2, false);
	uint16_t port = server_port(srv);
	struct tclient *guest = tc_join(port);
	tc_send(guest, "/nick alice\n");
	char renamed[96];
	snprintf(renamed, sizeof(renamed), "* %llu is now known as alice.",
		 (unsigned long long)guest->name);
	tc_expect_eventually(guest, renamed, 3000);
	struct tclient *real = tc_join(port); /* on the other worker, or the same: both work */
	sign_in(real, mint("ALICE", 600, ""));
	char line[256];
	cr_assert_geq(tc_read_line(guest, line, sizeof(line), 3000), 0);
	while (strncmp(line, "* The name", 10) != 0)
		cr_assert_geq(tc_read_line(guest, line, sizeof(line), 3000), 0);
	cr_assert(strncmp(line, "* The name alice belongs to a signed-in user: you are now guest",
			  62) == 0,
		  "%s", line);
	tc_expect_eventually(real, "* You are signed in as ALICE.", 3000);
	tc_close(guest);
	tc_close(real);
	ts_stop(srv);
}

struct refusal {
	const char *token;
	const char *why;
	size_t counter; /* offsetof(struct server_stats, ...) */
	const char *counter_name;
};

#define AT(f) offsetof(struct server_stats, f), #f

Test(auth, each_bad_token_is_refused_with_its_reason_and_counter, .timeout = 60)
{
	struct server *srv = start(1, false);
	uint16_t port = server_port(srv);
	struct tclient *c = tc_join(port);
	char bad_sig[2048], none[2048], hs512[2048], expired[2048], early[2048], in_skew[2048];
	char bad_name[2048], no_sub[2048];
	snprintf(bad_sig, sizeof(bad_sig), "%s",
		 mint_with(hs256, "{\"sub\":\"eve\",\"exp\":9999999999}",
			   "another key, not the server's one"));
	char head[128], body[128];
	static const char none_head[] = "{\"alg\":\"none\"}";
	static const char none_body[] = "{\"sub\":\"eve\",\"exp\":9999999999}";
	size_t hn = base64url_encode((const uint8_t *)none_head, strlen(none_head), head);
	head[hn] = '\0';
	size_t bn = base64url_encode((const uint8_t *)none_body, strlen(none_body), body);
	body[bn] = '\0';
	snprintf(none, sizeof(none), "%s.%s.", head, body);
	snprintf(hs512, sizeof(hs512), "%s",
		 mint_with("{\"alg\":\"HS512\"}", "{\"sub\":\"eve\",\"exp\":9999999999}", key));
	snprintf(expired, sizeof(expired), "%s", mint("eve", -3600, ""));
	char nbf[64];
	snprintf(nbf, sizeof(nbf), ",\"nbf\":%lld", (long long)time(NULL) + 3600);
	snprintf(early, sizeof(early), "%s", mint("eve", 7200, nbf));
	snprintf(in_skew, sizeof(in_skew), "%s", mint("eve", -10, "")); /* within 60 s */
	snprintf(bad_name, sizeof(bad_name), "%s", mint("1eve", 600, ""));
	snprintf(no_sub, sizeof(no_sub), "%s",
		 mint_with(hs256, "{\"name\":\"eve\",\"exp\":9999999999}", key));
	const struct refusal table[] = {
		{ "abc.def", "malformed token", AT(auth_malformed) },
		{ bad_sig, "bad token signature", AT(auth_bad_signature) },
		{ none, "token algorithm must be HS256", AT(auth_bad_alg) },
		{ hs512, "token algorithm must be HS256", AT(auth_bad_alg) },
		{ expired, "token expired", AT(auth_expired) },
		{ early, "token not yet valid", AT(auth_not_yet_valid) },
		{ no_sub, "bad token claims (sub, exp, nbf or rooms)", AT(auth_bad_claims) },
		{ bad_name, "the token's name breaks the name rules", AT(auth_bad_name) },
	};
	for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++) {
		sign_in(c, table[i].token);
		char line[256];
		cr_assert_geq(tc_read_line(c, line, sizeof(line), 3000), 0);
		char want[160];
		snprintf(want, sizeof(want), "* error: sign-in refused: %s.", table[i].why);
		cr_assert_str_eq(line, want, "token %zu", i);
		ts_wait_counter(srv, table[i].counter, table[i].counter_name, 1, 2000);
	}
	sign_in(c, in_skew);
	tc_expect(c, "* You are signed in as eve.");
	tc_close(c);
	ts_stop(srv);
}

Test(auth, require_auth_lets_guests_read_only_until_they_sign_in, .timeout = 30)
{
	struct server *srv = start(2, true);
	uint16_t port = server_port(srv);
	struct tclient *reader = tc_join(port);
	tc_expect(reader, "* This server asks you to sign in before you speak, join or rename: "
			  "/auth TOKEN.");
	struct tclient *writer = tc_join(port);
	tc_expect(writer, "* This server asks you to sign in before you speak, join or rename: "
			  "/auth TOKEN.");
	const char *refused = "* error: sign in first: /auth TOKEN.";
	tc_send(reader, "hello\n");
	tc_expect_eventually(reader, refused, 3000);
	tc_send(reader, "/join dev\n");
	tc_expect(reader, refused);
	tc_send(reader, "/nick bob\n");
	tc_expect(reader, refused);
	tc_send(reader, "/me waves\n");
	tc_expect(reader, refused);
	sign_in(writer, mint("carol", 600, ""));
	tc_expect_eventually(writer, "* You are signed in as carol.", 3000);
	tc_send(writer, "now I may\n");
	tc_expect_eventually(reader, "carol:now I may", 3000);
	TS_WAIT_COUNTER(srv, guest_refused, 4, 2000);
	tc_close(reader);
	tc_close(writer);
	ts_stop(srv);
}

Test(auth, the_rooms_claim_limits_where_the_user_may_go, .timeout = 30)
{
	struct server *srv = start(1, false);
	uint16_t port = server_port(srv);
	struct tclient *c = tc_join(port);
	sign_in(c, mint("dave", 600, ",\"rooms\":[\"dev\",\"ops\"]"));
	tc_expect_eventually(c, "* You are signed in as dave.", 3000);
	tc_send(c, "/join secret\n");
	tc_expect_eventually(c, "* error: your sign-in does not let you into secret.", 3000);
	tc_send(c, "/join DEV\n");
	tc_expect(c, "* You are now in DEV. 1 user here.");
	tc_send(c, "/join lobby\n");
	tc_expect(c, "* You are now in lobby. 1 user here.");
	tc_close(c);
	ts_stop(srv);
}

Test(auth, a_browser_signs_in_with_ws_token, .timeout = 30)
{
	struct server *srv = start(2, false);
	uint16_t port = server_port(srv);
	char req[2600];
	snprintf(req, sizeof(req),
		 "GET /ws?room=x&token=%s HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\n"
		 "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
		 "Sec-WebSocket-Version: 13\r\n\r\n",
		 mint("erin", 600, ""));
	struct wsclient *ws = wc_open_req(ts_dial(port), req);
	wc_expect_welcome(ws);
	char out[512];
	size_t len;
	for (int i = 0; i < 5; i++) {
		cr_assert_eq(wc_read(ws, out, sizeof(out), &len), 1);
		if (strcmp(out, "* You are signed in as erin.") == 0)
			break;
		cr_assert_lt(i, 4, "no sign-in answer (last: %s)", out);
	}
	wc_free(ws);
	ts_stop(srv);
}

Test(auth, a_secret_too_short_or_missing_stops_the_server)
{
	struct config cfg = ts_config(1);
	cfg.require_auth = 1;
	struct server *srv = NULL;
	cr_assert_lt(server_start(&cfg, &srv), 0, "--require-auth without --auth-secret");
	char path[] = "/tmp/chatd-short-XXXXXX";
	int fd = mkstemp(path);
	cr_assert_eq(write(fd, "short\n", 6), 6);
	close(fd);
	cfg = ts_config(1);
	snprintf(cfg.auth_secret, sizeof(cfg.auth_secret), "%s", path);
	cr_assert_lt(server_start(&cfg, &srv), 0, "a 5-byte key");
	unlink(path);
}
