/*
 * oom_scenario.c - what every run of `make test-oom` does (see oom.h), and how it is judged.
 *
 * An in-process server (2 workers, no rate limit, the admin listener and --max-conns-per-ip
 * on, so their allocations are reached too) and its users:
 *
 *   phase A (one allocation may fail here): line users A, B, C and a WebSocket user W take
 *   names, chat, /join a new room and come back, /who, /rooms, /msg, /me, send a line in three
 *   writes, a line over --max-line in two, a burst of 100 lines; W sends a fragmented message
 *   with a ping inside it, a frame split over two writes and a ping; HTTP: the page, a 404, a
 *   request trickled in pieces, /metrics on the admin port; with the lobby past --notice-limit
 *   (summaries instead of notices), a user R starts a line and resets, a WebSocket user V
 *   closes with a close frame; C leaves with /quit and a reason.
 *
 *   phase B (nothing fails): fresh users P and Q chat both ways; every phase-A user still
 *   connected goes back to the lobby, says a line that P must receive, and must receive P's.
 *
 *   stop: server_stop, server_wait (an allocation may fail here too); no message may be left.
 *
 * Judging phase A: when every expectation held, the failure was absorbed. When one failed,
 * someone must have been told: a user got a line (or WebSocket close reason) saying "out of
 * memory", or was disconnected, and the counters nomem_disconnects or nomem_errors say so. A
 * missing notice (entered, left, renamed) is the one thing that may go without telling anyone,
 * as long as nomem_dropped counted it. Phase B must hold in full: the failure's damage, if any,
 * must be gone. Leaks, crashes and hangs are found by the driver (oom_main.c).
 */
#include "oom.h"

#include "admin.h"
#include "config.h"
#include "directory.h"
#include "log.h"
#include "msg.h"
#include "server.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define WAIT_MS      3000 /* an expected line */
#define HURRY_MS     200  /* the same, once phase A already missed one (not a notice) */
#define GAP_MS       30   /* between the pieces of a split write */
#define BURST        100
#define TRIM_WAIT_MS 1100 /* worker.c gives idle output rings back once a second */
#define MAX_PEERS    8
#define LOBBY_SIZE   4    /* A, B, C and W; also --notice-limit */
#define SUMMARY_MS   1000 /* large-room summaries: at most one a second */

struct run {
	struct server *srv;
	uint16_t port;
	struct peer *a, *b, *c, *w;
	struct peer *peers[MAX_PEERS]; /* every user, for the verdict and the clean-up */
	size_t npeers;
	bool checking;        /* phase B: every expectation must hold */
	int missed;           /* phase A expectations that failed, notices excluded */
	int missed_notices;   /* phase A notices that did not arrive */
	bool unanswered;      /* an HTTP request was closed without an answer */
	bool http_told;       /* an HTTP answer said "out of memory" */
	uint64_t admin_nomem; /* chatd_admin_rejected_total{reason="nomem"}, read in phase B */
	char first_miss[200]; /* the first phase A miss, for the report */
	char fail[256];       /* the first phase B miss: an invariant broke */
	int64_t t0;           /* when the scenario started */
};

/* ---- expectations ------------------------------------------------------------------------ */

static void miss(struct run *r, const struct peer *p, bool notice, const char *want,
		 const char *how)
{
	const char *who = p != NULL ? p->label : "?";
	/* in the run's log, which is shown when the run fails */
	fprintf(stderr, "%lld ms: %s missed %s'%s' (%s)\n", (long long)(oom_now_ms() - r->t0), who,
		notice ? "notice " : "", want, how);
	if (r->checking) {
		if (r->fail[0] == '\0')
			snprintf(r->fail, sizeof(r->fail), "phase B: %s did not get '%s' (%s)", who,
				 want, how);
		return;
	}
	if (notice)
		r->missed_notices++;
	else
		r->missed++;
	if (r->first_miss[0] == '\0')
		snprintf(r->first_miss, sizeof(r->first_miss), "%s missed %s'%s' (%s)", who,
			 notice ? "notice " : "", want, how);
}

static bool matches(const char *line, const char *want, char how)
{
	size_t n = strlen(line), k = strlen(want);
	switch (how) {
	case '^': /* prefix */
		return n >= k && memcmp(line, want, k) == 0;
	case '$': /* suffix */
		return n >= k && memcmp(line + n - k, want, k) == 0;
	default:
		return strcmp(line, want) == 0;
	}
}

/* Phase A missed a line that was not a notice: the run is judged on whether users were told
 * and counted, which waiting longer cannot change, so expectations wait less from now on. */
static bool hurried(const struct run *r)
{
	return !r->checking && r->missed > 0;
}

/* Reads p's lines until one matches want ('=' whole line, '^' prefix, '$' suffix). */
static bool expect_how(struct run *r, struct peer *p, bool notice, char how, const char *want)
{
	if (p == NULL) {
		miss(r, p, notice, want, "not connected");
		return false;
	}
	if (notice && (hurried(r) || r->missed_notices > 0))
		return false; /* one more missing notice cannot change the verdict: do not wait */
	int wait = hurried(r) ? HURRY_MS : WAIT_MS;
	int64_t deadline = oom_now_ms() + wait;
	char line[4096];
	for (;;) {
		int64_t left = deadline - oom_now_ms();
		int got = left > 0 ? peer_read_line(p, line, sizeof(line), (int)left) : -1;
		if (got == 1 && matches(line, want, how))
			return true;
		if (got != 1) {
			miss(r, p, notice, want, got == 0 ? "connection gone" : "timeout");
			return false;
		}
	}
}

static bool expect(struct run *r, struct peer *p, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static bool expect(struct run *r, struct peer *p, const char *fmt, ...)
{
	char want[4096];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(want, sizeof(want), fmt, ap);
	va_end(ap);
	return expect_how(r, p, false, '=', want);
}

/* Everyone in the lobby but `except` expects the line. */
static void all_expect(struct run *r, const struct peer *except, bool notice, const char *want)
{
	struct peer *lobby[LOBBY_SIZE] = { r->a, r->b, r->c, r->w };
	for (int i = 0; i < LOBBY_SIZE; i++)
		if (lobby[i] != except && lobby[i] != NULL && !lobby[i]->may_close)
			expect_how(r, lobby[i], notice, '=', want);
}

/* p's connection ended (as far as the client can tell). */
static bool gone(const struct peer *p)
{
	return p == NULL || p->closed || p->unwritable;
}

/* Sends a line; false when p is gone (what it would have caused is not expected then). */
static bool say(struct peer *p, const char *text)
{
	return !gone(p) && peer_say(p, text);
}

/* ---- users ------------------------------------------------------------------------------- */

static struct peer *add_peer(struct run *r, struct peer *p)
{
	if (p != NULL && r->npeers < MAX_PEERS)
		r->peers[r->npeers++] = p;
	return p;
}

/* Reads p's welcome line and keeps its id (0 when it did not come). */
static void read_welcome(struct run *r, struct peer *p)
{
	char line[512];
	unsigned long long id;
	int64_t deadline = oom_now_ms() + WAIT_MS;
	while (p != NULL &&
	       peer_read_line(p, line, sizeof(line), (int)(deadline - oom_now_ms())) == 1) {
		if (sscanf(line, "* Welcome, %llu.", &id) == 1) {
			p->id = id;
			snprintf(p->name, sizeof(p->name), "%llu", id);
			return;
		}
	}
	miss(r, p, false, "* Welcome, ...", p != NULL && p->closed ? "connection gone" : "timeout");
}

/* The name the directory has for p once its /nick is done: a rename whose notice was lost (or
 * not waited for) still happened. p keeps its number when the rename does not show up. */
static void learn_name(struct run *r, struct peer *p, const char *wanted)
{
	int64_t deadline = oom_now_ms() + (hurried(r) ? HURRY_MS : WAIT_MS);
	do {
		uint64_t id;
		unsigned worker;
		char spelled[NAME_MAX_LEN + 1];
		if (dir_lookup(&r->srv->hub.dir, wanted, strlen(wanted), &id, &worker, spelled) &&
		    id == p->id) {
			snprintf(p->name, sizeof(p->name), "%s", spelled);
			return;
		}
		oom_sleep_ms(5);
	} while (oom_now_ms() < deadline);
}

/* A user who arrives and takes a name; the others see it enter and rename. A line user that
 * is `silent` sends nothing until the server, after 100 ms, takes it for a line user; the
 * others send /nick as their first bytes. */
static struct peer *arrive(struct run *r, const char *label, bool ws, bool silent, const char *nick)
{
	struct peer *p = add_peer(r, ws ? peer_ws(label, r->port) : peer_line(label, r->port));
	char cmd[64];
	snprintf(cmd, sizeof(cmd), "/nick %s", nick);
	if (!silent)
		(void)say(p, cmd);
	read_welcome(r, p);
	if (silent)
		(void)say(p, cmd);
	if (p == NULL || p->id == 0)
		return p;
	char line[128];
	snprintf(line, sizeof(line), "* %llu has entered.", (unsigned long long)p->id);
	all_expect(r, p, true, line);
	snprintf(line, sizeof(line), "* %llu is now known as %s.", (unsigned long long)p->id, nick);
	expect_how(r, p, false, '=', line); /* the renamer's answer: not just a notice */
	all_expect(r, p, true, line);
	learn_name(r, p, nick);
	return p;
}

/* ---- phase A ------------------------------------------------------------------------------- */

static void chat_line(struct run *r, struct peer *from, const char *text)
{
	if (!say(from, text))
		return;
	char want[256];
	snprintf(want, sizeof(want), "%s:%s", from->name, text);
	all_expect(r, NULL, false, want);
}

static void step_rooms(struct run *r)
{
	struct peer *b = r->b;
	char want[128];
	if (say(b, "/join dev")) {
		expect(r, b, "* You are now in dev. 1 user here.");
		snprintf(want, sizeof(want), "* %s has left.", b->name);
		all_expect(r, b, true, want);
	}
	if (say(b, "/join lobby")) {
		expect(r, b, "* You are now in lobby. %d users here.", LOBBY_SIZE);
		snprintf(want, sizeof(want), "* %s has entered.", b->name);
		all_expect(r, b, true, want);
	}
	if (say(r->c, "/who")) {
		char who[64];
		snprintf(who, sizeof(who), "* %d users in lobby:", LOBBY_SIZE);
		expect_how(r, r->c, false, '^', who);
	}
	if (say(r->c, "/rooms")) {
		expect(r, r->c, "* 1 room:");
		expect(r, r->c, "*   lobby %d", LOBBY_SIZE);
	}
}

static void step_private(struct run *r)
{
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "/msg %s psst", r->b->name);
	if (say(r->a, cmd)) {
		expect(r, r->a, "* to %s: psst", r->b->name);
		expect(r, r->b, "(private) %s:psst", r->a->name);
	}
	snprintf(cmd, sizeof(cmd), "/msg %s hi there", r->c->name);
	if (say(r->w, cmd)) {
		expect(r, r->w, "* to %s: hi there", r->c->name);
		expect(r, r->c, "(private) %s:hi there", r->w->name);
	}
	if (say(r->b, "/me waves")) {
		char want[128];
		snprintf(want, sizeof(want), "+ %s waves", r->b->name);
		all_expect(r, NULL, false, want);
	}
}

/* A line in three writes (the partial-line buffer), then one over --max-line in two. */
static void step_split_lines(struct run *r)
{
	static const char *const pieces[] = { "par", "tial li", "ne\n" };
	bool sent = !gone(r->c);
	for (int i = 0; i < 3 && sent; i++) {
		if (i > 0)
			oom_sleep_ms(GAP_MS);
		sent = peer_send_raw(r->c, pieces[i], strlen(pieces[i]));
	}
	char want[128];
	snprintf(want, sizeof(want), "%s:partial line", r->c->name);
	if (sent)
		all_expect(r, NULL, false, want);

	if (gone(r->a))
		return;
	static char x[3000];
	memset(x, 'x', sizeof(x));
	(void)peer_send_raw(r->a, x, sizeof(x));
	oom_sleep_ms(GAP_MS);
	(void)peer_send_raw(r->a, x, 2000);
	(void)peer_send_raw(r->a, "\n", 1);
	expect(r, r->a, "* error: line too long (max 4096 bytes); dropped.");
	chat_line(r, r->a, "after the long one");
}

/* 100 lines in one write: the output rings grow. A peer that misses one is not waited for
 * again (it would cost a timeout per line). */
static void step_burst(struct run *r)
{
	if (gone(r->a))
		return;
	char all[BURST * 16];
	size_t n = 0;
	for (int i = 0; i < BURST; i++)
		n += (size_t)snprintf(all + n, sizeof(all) - n, "burst %02d\n", i);
	(void)peer_send_raw(r->a, all, n);
	struct peer *lobby[LOBBY_SIZE] = { r->a, r->b, r->c, r->w };
	for (int k = 0; k < LOBBY_SIZE; k++) {
		char want[64];
		for (int i = 0; i < BURST; i++) {
			snprintf(want, sizeof(want), "%s:burst %02d", r->a->name, i);
			if (!expect_how(r, lobby[k], false, '=', want))
				break;
		}
	}
	/* Idle for a trim pass: the rings the burst grew are given back (conn_trim). */
	oom_sleep_ms(TRIM_WAIT_MS);
}

static void step_websocket(struct run *r)
{
	struct peer *w = r->w;
	if (gone(w))
		return;
	w->pong[0] = '\0';
	(void)peer_ws_frame(w, 0x01, "frag", 4); /* text, not final */
	(void)peer_ws_frame(w, 0x89, "p1", 2);   /* a ping between fragments */
	(void)peer_ws_frame(w, 0x00, "men", 3);  /* continuation */
	oom_sleep_ms(GAP_MS);
	(void)peer_ws_frame(w, 0x80, "ted", 3); /* final continuation */
	char want[128];
	snprintf(want, sizeof(want), "%s:fragmented", w->name);
	all_expect(r, NULL, false, want);
	if (!w->closed && strcmp(w->pong, "p1") != 0)
		miss(r, w, false, "pong p1", "no pong");

	/* one frame whose payload comes in two writes: the parser copies it */
	static const char text[] = "split frame";
	unsigned char f[6 + sizeof(text)];
	static const unsigned char key[4] = { 9, 8, 7, 6 };
	size_t len = sizeof(text) - 1;
	f[0] = 0x81;
	f[1] = (unsigned char)(0x80 | len);
	memcpy(f + 2, key, 4);
	for (size_t i = 0; i < len; i++)
		f[6 + i] = (unsigned char)text[i] ^ key[i & 3];
	(void)peer_send_raw(w, f, 6 + 4);
	oom_sleep_ms(GAP_MS);
	(void)peer_send_raw(w, f + 10, len - 4);
	snprintf(want, sizeof(want), "%s:split frame", w->name);
	all_expect(r, NULL, false, want);

	(void)peer_ws_frame(w, 0x89, "p2", 2);
	if (!peer_wait_pong(w, WAIT_MS) || strcmp(w->pong, "p2") != 0)
		miss(r, w, false, "pong p2", w->closed ? "connection gone" : "no pong");
}

static void http_expect(struct run *r, uint16_t port, const char *const *pieces, size_t n, int want)
{
	static char answer[ADMIN_PAGE_MAX + 4096];
	int status = http_request(port, pieces, n, GAP_MS, WAIT_MS, answer, sizeof(answer));
	if (status == 503 && strstr(answer, "out of memory") != NULL)
		r->http_told = true; /* a refusal that says why */
	if (status == want)
		return;
	char what[64], how[32];
	snprintf(what, sizeof(what), "HTTP %d for %.14s", want, pieces[0]);
	snprintf(how, sizeof(how), "got %d", status);
	if (status == 0)
		r->unanswered = true; /* closed without an answer: the client knows it failed */
	miss(r, NULL, false, what, status == 0 ? "closed unanswered" : how);
}

static void step_http(struct run *r)
{
	static const char *const page[] = { "GET / HTTP/1.1\r\nHost: x\r\n\r\n" };
	static const char *const missing[] = { "GET /nope HTTP/1.1\r\nHost: x\r\n\r\n" };
	static const char *const trickled[] = { "GE", "T / HT", "TP/1.1\r\nHost: x\r\n", "\r\n" };
	static const char *const metrics[] = { "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n" };
	http_expect(r, r->port, page, 1, 200);
	http_expect(r, r->port, missing, 1, 404);
	http_expect(r, r->port, trickled, 4, 200);
	http_expect(r, server_admin_port(r->srv), metrics, 1, 200);
}

/* "* 2 users entered, 1 left." (or one side alone): false when line is not a summary. */
static bool parse_summary(const char *line, long *entered, long *left)
{
	if (strncmp(line, "* ", 2) != 0)
		return false;
	char *end;
	long n = strtol(line + 2, &end, 10);
	if (end == line + 2)
		return false;
	const char *s = end;
	if (strncmp(s, " users ", 7) == 0)
		s += 7;
	else if (strncmp(s, " user ", 6) == 0)
		s += 6;
	else
		return false;
	*entered = 0;
	*left = 0;
	if (strcmp(s, "entered.") == 0) {
		*entered = n;
		return true;
	}
	if (strcmp(s, "left.") == 0) {
		*left = n;
		return true;
	}
	*entered = n;
	return sscanf(s, "entered, %ld left.", left) == 1;
}

/* Large-room summaries until they add up to `entered` and `left` (how they are grouped into
 * lines depends on timing: at most one a second). */
static void expect_summaries(struct run *r, struct peer *p, long entered, long left)
{
	if (p == NULL || p->may_close || hurried(r) || r->missed_notices > 0)
		return;
	int wait = WAIT_MS;
	int64_t deadline = oom_now_ms() + wait + SUMMARY_MS;
	long e = 0, l = 0;
	char line[4096];
	while (e < entered || l < left) {
		int64_t rest = deadline - oom_now_ms();
		int got = rest > 0 ? peer_read_line(p, line, sizeof(line), (int)rest) : -1;
		if (got != 1) {
			miss(r, p, true, "summaries", got == 0 ? "connection gone" : "timeout");
			return;
		}
		long de, dl;
		if (parse_summary(line, &de, &dl)) {
			e += de;
			l += dl;
		}
	}
}

/*
 * The lobby is at --notice-limit (4): two more users make its entries and leaves summaries.
 * R starts a line and resets the connection; V, a WebSocket user, closes with a close frame.
 */
static void step_summaries(struct run *r)
{
	struct peer *x = add_peer(r, peer_line("R", r->port));
	(void)say(x, ""); /* an empty line: a line user at once, and a chat line "R:" */
	read_welcome(r, x);
	struct peer *v = add_peer(r, peer_ws("V", r->port));
	read_welcome(r, v);
	if (x == NULL || v == NULL) {
		snprintf(r->fail, sizeof(r->fail), "cannot connect");
		return;
	}
	if (x->id != 0)
		expect(r, x, "%llu:", (unsigned long long)x->id);
	(void)peer_send_raw(x, "half a li", 9);
	oom_sleep_ms(GAP_MS);
	x->may_close = !x->closed;
	peer_reset(x);
	static const unsigned char bye[2] = { 0x03, 0xe8 }; /* 1000, normal closure */
	v->may_close = !v->closed;
	(void)peer_ws_frame(v, 0x88, bye, sizeof(bye));
	char line[256];
	int got;
	while ((got = peer_read_line(v, line, sizeof(line), WAIT_MS)) == 1)
		; /* lines before the close frame that answers ours */
	if (got < 0)
		miss(r, v, false, "a close frame", "timeout");
	/* a user whose welcome was lost may still have been counted: more is fine */
	long n = (x->id != 0) + (v->id != 0);
	struct peer *lobby[LOBBY_SIZE] = { r->a, r->b, r->c, r->w };
	for (int i = 0; i < LOBBY_SIZE && n > 0; i++)
		expect_summaries(r, lobby[i], n, n);
}

/* C leaves with /quit and a reason. */
static void step_quit(struct run *r)
{
	struct peer *c = r->c;
	char want[128];
	snprintf(want, sizeof(want), "* %s has left (\"gotta go\").", c->name);
	if (!say(c, "/quit gotta go"))
		return; /* gone before: it counts as disconnected */
	expect(r, c, "* Goodbye.");
	c->may_close = true;
	all_expect(r, c, true, want);
}

static void phase_chat(struct run *r)
{
	r->a = arrive(r, "A", false, false, "alice");
	r->b = arrive(r, "B", false, true, "bob");
	r->c = arrive(r, "C", false, false, "carol");
	r->w = arrive(r, "W", true, false, "wendy");
	if (r->a == NULL || r->b == NULL || r->c == NULL || r->w == NULL) {
		snprintf(r->fail, sizeof(r->fail), "cannot connect");
		return;
	}
	chat_line(r, r->a, "hello all");
	step_rooms(r);
	step_private(r);
	step_split_lines(r);
	step_burst(r);
	step_websocket(r);
	step_http(r);
	step_summaries(r);
	step_quit(r);
}

/* ---- phase B ------------------------------------------------------------------------------ */

/* A phase-A user back in the lobby (from wherever a failure left it). False when it is gone. */
static bool back_to_lobby(struct run *r, struct peer *s)
{
	char line[4096];
	if (!say(s, "/join lobby"))
		return false;
	int64_t deadline = oom_now_ms() + WAIT_MS;
	for (;;) {
		int64_t left = deadline - oom_now_ms();
		int got = left > 0 ? peer_read_line(s, line, sizeof(line), (int)left) : -1;
		if (got == 0)
			return false;
		if (got < 0) {
			miss(r, s, false, "/join lobby answered", "timeout");
			return false;
		}
		if (matches(line, "* You are now in lobby.", '^') ||
		    strcmp(line, "* error: you are already in lobby.") == 0)
			return true;
	}
}

/* The admin listener's out-of-memory refusals, as /metrics shows them (it must answer now;
 * a chatd without the counter has refused nothing that way). */
static void read_admin_nomem(struct run *r)
{
	static char page[ADMIN_PAGE_MAX + 4096];
	static const char *const get[] = { "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n" };
	static const char name[] = "chatd_admin_rejected_total{reason=\"nomem\"} ";
	int status =
	    http_request(server_admin_port(r->srv), get, 1, 0, WAIT_MS, page, sizeof(page));
	if (status != 200) {
		snprintf(r->fail, sizeof(r->fail), "phase B: /metrics answered %d", status);
		return;
	}
	const char *at = strstr(page, name);
	unsigned long long n;
	if (at != NULL && sscanf(at + strlen(name), "%llu", &n) == 1)
		r->admin_nomem = n;
}

static void phase_check(struct run *r)
{
	struct peer *p = add_peer(r, peer_line("P", r->port));
	read_welcome(r, p); /* after the 100 ms in which the server waits for HTTP */
	struct peer *q = add_peer(r, peer_line("Q", r->port));
	read_welcome(r, q);
	if (r->fail[0] != '\0')
		return;
	(void)say(p, "hello from P");
	expect(r, q, "%s:hello from P", p->name);
	(void)say(q, "hello from Q");
	expect(r, p, "%s:hello from Q", q->name);

	struct peer *phase_a[LOBBY_SIZE] = { r->a, r->b, r->c, r->w };
	bool here[LOBBY_SIZE] = { false };
	for (int i = 0; i < LOBBY_SIZE; i++) {
		struct peer *s = phase_a[i];
		if (gone(s) || !back_to_lobby(r, s))
			continue;
		here[i] = true;
		char text[64], want[80];
		snprintf(text, sizeof(text), "still here from %s", s->label);
		(void)say(s, text);
		snprintf(want, sizeof(want), ":%s", text);
		expect_how(r, p, false, '$', want);
	}
	(void)say(p, "last call");
	read_admin_nomem(r);
	for (int i = 0; i < LOBBY_SIZE; i++)
		if (here[i])
			expect(r, phase_a[i], "%s:last call", p->name);
}

/* ---- the verdict ------------------------------------------------------------------------------ */

/* Reads what is left for the phase-A users (a last "out of memory" line, the end of a
 * connection whose sends failed), without waiting for the others. */
static void drain(struct run *r)
{
	char line[4096];
	for (size_t i = 0; i < r->npeers; i++) {
		struct peer *p = r->peers[i];
		int wait = p->unwritable ? HURRY_MS : 0;
		if (p->label[0] != 'P' && p->label[0] != 'Q')
			while (!p->closed && peer_read_line(p, line, sizeof(line), wait) == 1)
				;
	}
}

/* Who was told: a user who read "out of memory", or lost its connection unexpectedly. */
static size_t told_whom(const struct run *r, char *out, size_t cap, bool *lost)
{
	size_t n = 0;
	*lost = false;
	out[0] = '\0';
	for (size_t i = 0; i < r->npeers && n < cap; i++) {
		const struct peer *p = r->peers[i];
		bool cut = gone(p) && !p->may_close && p->label[0] != 'P' && p->label[0] != 'Q';
		if (!p->told && !cut)
			continue;
		*lost = *lost || cut;
		n += (size_t)snprintf(out + n, cap - n, "%s%s %s", n ? ", " : "", p->label,
				      p->told ? "told" : "disconnected");
	}
	*lost = *lost || r->unanswered;
	if (r->unanswered && n < cap)
		n += (size_t)snprintf(out + n, cap - n, "%san HTTP client disconnected",
				      n ? ", " : "");
	if (r->http_told && n < cap)
		n += (size_t)snprintf(out + n, cap - n, "%san HTTP client told", n ? ", " : "");
	return n;
}

static void judge(const struct run *r, const struct server_stats *st, struct verdict *v)
{
	char who[200];
	bool lost;
	bool told = told_whom(r, who, sizeof(who), &lost) > 0;
	/* the admin thread is not a worker: its refusals have their own counter */
	uint64_t cut = st->nomem_disconnects, refused = st->nomem_errors + r->admin_nomem;
	char counts[160];
	snprintf(counts, sizeof(counts),
		 "nomem_disconnects %llu, nomem_errors %llu, nomem_dropped %llu, admin nomem %llu",
		 (unsigned long long)cut, (unsigned long long)st->nomem_errors,
		 (unsigned long long)st->nomem_dropped, (unsigned long long)r->admin_nomem);
	if (r->fail[0] != '\0') {
		v->outcome = OUT_FAIL;
		snprintf(v->text, sizeof(v->text), "%s; phase A: %s; %s", r->fail,
			 r->first_miss[0] ? r->first_miss : "all held", counts);
		return;
	}
	if (r->missed > 0 && (!told || cut + refused == 0)) {
		v->outcome = OUT_FAIL;
		snprintf(v->text, sizeof(v->text), "%s, and %s; %s", r->first_miss,
			 told ? who : "nobody was told", counts);
		return;
	}
	if (r->missed == 0 && r->missed_notices > 0 && st->nomem_dropped == 0 &&
	    (!told || cut + refused == 0)) {
		v->outcome = OUT_FAIL;
		snprintf(v->text, sizeof(v->text), "%s, not counted; %s", r->first_miss, counts);
		return;
	}
	if (lost && cut == 0) {
		v->outcome = OUT_FAIL;
		snprintf(v->text, sizeof(v->text), "%s, not counted; %s", who, counts);
		return;
	}
	if (r->missed + r->missed_notices == 0 && !told) {
		v->outcome = OUT_CLEAN;
		snprintf(v->text, sizeof(v->text), "absorbed; %s", counts);
		return;
	}
	v->outcome = OUT_TOLD;
	snprintf(v->text, sizeof(v->text), "%s%s%s; %s", told ? who : "notice dropped",
		 r->first_miss[0] ? "; " : "", r->first_miss, counts);
}

static struct config scenario_config(void)
{
	struct config cfg;
	config_defaults(&cfg);
	cfg.workers = 2;
	cfg.port = 0;
	snprintf(cfg.bind_addr, sizeof(cfg.bind_addr), "127.0.0.1");
	snprintf(cfg.admin, sizeof(cfg.admin), "127.0.0.1:0");
	cfg.irc_port = -1; /* off: parallel runs would fight over port 6667 */
	cfg.rate_limit = 0;
	cfg.max_conns_per_ip = 100;
	cfg.notice_limit = LOBBY_SIZE;
	cfg.log_level = LOG_ERROR;
	return cfg;
}

void scenario_run(struct verdict *v)
{
	struct config cfg = scenario_config();
	log_set_level((enum log_level)cfg.log_level);
	struct run r = { 0 };
	r.t0 = oom_now_ms();
	oom_driver_frame(__builtin_frame_address(0));
	oom_set_phase(OOM_START);
	int rc = server_start(&cfg, &r.srv);
	if (rc < 0) {
		v->outcome = rc == -ENOMEM ? OUT_START : OUT_FAIL;
		snprintf(v->text, sizeof(v->text), "server_start: %s", strerror(-rc));
		return;
	}
	r.port = server_port(r.srv);
	oom_set_phase(OOM_CHAT);
	phase_chat(&r);
	oom_set_phase(OOM_CHECK);
	r.checking = true;
	if (r.fail[0] == '\0')
		phase_check(&r);
	drain(&r);
	struct server_stats st;
	server_get_stats(r.srv, &st);
	oom_set_phase(OOM_STOP);
	server_stop(r.srv);
	server_wait(r.srv);
	judge(&r, &st, v);
	for (size_t i = 0; i < r.npeers; i++)
		peer_free(r.peers[i]);
	long live = msg_live_count();
	if (live != 0 && v->outcome != OUT_FAIL) {
		v->outcome = OUT_FAIL;
		snprintf(v->text, sizeof(v->text), "%ld messages alive after server_wait", live);
	}
}
