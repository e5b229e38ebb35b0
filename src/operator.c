/*
 * operator.c - see operator.h.
 */
#include "operator.h"
#include "bans.h"
#include "cluster.h"
#include "command.h"
#include "directory.h"
#include "hub.h"
#include "json.h"
#include "jsonw.h"
#include "log.h"
#include "proto.h"
#include "session.h"

#include <errno.h>
#include <stdarg.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define OP_LIMIT_DEFAULT 1000   /* users listed when no limit is given */
#define OP_LIMIT_MAX     100000 /* the most one /users answer lists */
#define OP_ROOMS_MAX     100000
#define OP_USER_JSON_MAX 384                      /* one user's object, at most */
#define OP_DURATION_MAX  (10LL * 365 * 24 * 3600) /* ten years: past it, say 0 (for good) */

/* ---- parameters ---------------------------------------------------------------------------- */

static int hex_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Form decoding (application/x-www-form-urlencoded): %XX and '+' for a space. */
static bool form_decode(struct http_slice v, char *out, size_t cap)
{
	size_t k = 0;
	for (size_t i = 0; i < v.n; i++) {
		char ch = v.p[i];
		if (ch == '+') {
			ch = ' ';
		} else if (ch == '%') {
			int hi = i + 2 < v.n ? hex_value(v.p[i + 1]) : -1;
			int lo = i + 2 < v.n ? hex_value(v.p[i + 2]) : -1;
			if (hi < 0 || lo < 0)
				return false;
			ch = (char)(hi * 16 + lo);
			i += 2;
		}
		if (k + 1 >= cap || ch == '\0')
			return false;
		out[k++] = ch;
	}
	out[k] = '\0';
	return true;
}

/* name=value in a form-encoded text: "a=1&b=2". */
static bool form_find(struct http_slice s, const char *name, struct http_slice *v)
{
	size_t nl = strlen(name);
	const char *p = s.p, *end = s.p + s.n;
	while (p < end) {
		const char *amp = memchr(p, '&', (size_t)(end - p));
		const char *stop = amp != NULL ? amp : end;
		if ((size_t)(stop - p) > nl && memcmp(p, name, nl) == 0 && p[nl] == '=') {
			*v = (struct http_slice){ p + nl + 1,
						  (size_t)(stop - p - (ptrdiff_t)nl - 1) };
			return true;
		}
		p = stop + 1;
	}
	return false;
}

bool op_param(const struct op_call *q, const char *name, char *out, size_t cap)
{
	struct http_slice v;
	if (q->body.n > 0 && q->body.p[0] == '{') {
		struct json_token tok[64];
		struct json_doc doc;
		if (json_parse(&doc, q->body.p, q->body.n, tok, 64) > 0) {
			if (json_get_string(&doc, 0, name, out, cap) >= 0)
				return true;
			int64_t num;
			if (json_get_int(&doc, 0, name, &num) == 0)
				return (size_t)snprintf(out, cap, "%" PRId64, num) < cap;
		}
		return false;
	}
	if (q->body.n > 0 && form_find(q->body, name, &v))
		return form_decode(v, out, cap);
	return form_find(q->query, name, &v) && form_decode(v, out, cap);
}

/* ---- answers ------------------------------------------------------------------------------- */

static void answer(struct op_answer *a, int status, char *body, size_t len)
{
	a->status = status;
	a->body = body;
	a->len = len;
}

/* {"error":"..."} with that status. */
static void answer_error(struct op_answer *a, int status, const char *text)
{
	size_t cap = strlen(text) * 6 + 32;
	char *body = malloc(cap);
	if (body == NULL) {
		answer(a, 503, NULL, 0);
		return;
	}
	struct jw j = jw_start(body, cap);
	jw_obj_begin(&j);
	jw_cstr(&j, "error", text);
	jw_obj_end(&j);
	jw_raw(&j, "\n", 1);
	answer(a, status, body, j.len);
}

/* Renders with render(arg, out, cap) (snprintf-like), sizing first. */
static void answer_json(struct op_answer *a, int status, size_t (*render)(void *, char *, size_t),
			void *arg)
{
	size_t need = render(arg, NULL, 0) + 1;
	for (int tries = 0; tries < 3; tries++) { /* the list may grow between two passes */
		char *body = malloc(need + 1);
		if (body == NULL)
			break;
		size_t len = render(arg, body, need);
		if (len < need) {
			body[len++] = '\n';
			answer(a, status, body, len);
			return;
		}
		free(body);
		need = len + 4096;
	}
	answer(a, 503, NULL, 0);
}

/* ---- /users and /rooms --------------------------------------------------------------------- */

static const char *const front_names[] = {
	[USER_FRONT_LINE] = "line",
	[USER_FRONT_WS] = "websocket",
	[USER_FRONT_WS_JSON] = "websocket-json",
	[USER_FRONT_IRC] = "irc",
};

struct users_view {
	struct dir_entry *e;
	size_t n, total;
	char room[ROOM_MAX_LEN + 1], name[NAME_MAX_LEN + 1];
};

/* Whether room is one of e's rooms. */
static bool entry_in(const struct dir_entry *e, const char *room)
{
	if (strcasecmp(room, e->room) == 0)
		return true;
	size_t k = strlen(room);
	for (const char *p = e->others; *p != '\0';) {
		size_t n = strcspn(p, " ");
		if (n == k && strncasecmp(p, room, k) == 0)
			return true;
		p += n + (p[n] == ' ');
	}
	return false;
}

/* Each space-separated name in list as a string item of the array being written. */
static void names_items(struct jw *j, const char *list)
{
	for (const char *p = list; *p != '\0';) {
		size_t n = strcspn(p, " ");
		jw_sep(j);
		jw_raw(j, "\"", 1);
		jw_escaped(j, p, n);
		jw_raw(j, "\"", 1);
		p += n + (p[n] == ' ');
	}
}

/* Its rooms as a JSON array: the current one first. */
static void entry_rooms(struct jw *j, const struct dir_entry *e)
{
	jw_arr_begin(j, "rooms");
	names_items(j, e->room);
	names_items(j, e->others);
	jw_arr_end(j);
}

static bool users_view_keeps(const struct users_view *v, const struct dir_entry *e)
{
	if (v->room[0] != '\0' && !entry_in(e, v->room))
		return false;
	return v->name[0] == '\0' || name_same(v->name, strlen(v->name), e->name, strlen(e->name));
}

static size_t render_users(void *arg, char *out, size_t cap)
{
	const struct users_view *v = arg;
	struct jw j = jw_start(out, cap);
	jw_obj_begin(&j);
	jw_u64(&j, "count", v->total);
	jw_u64(&j, "shown", v->n);
	jw_arr_begin(&j, "users");
	for (size_t i = 0; i < v->n; i++) {
		const struct dir_entry *e = &v->e[i];
		char addr[CIDR_ADDR_STRLEN];
		jw_sep(&j);
		jw_obj_begin(&j);
		jw_cstr(&j, "name", e->name);
		jw_u64(&j, "id", e->id);
		jw_cstr(&j, "room", e->room);
		jw_cstr(&j, "protocol", front_names[e->front]);
		jw_cstr(&j, "address", cidr_addr_format(&e->addr, addr, sizeof(addr)));
		jw_i64(&j, "since", e->since_ms);
		jw_u64(&j, "queued", e->queued);
		jw_bool(&j, "verified", e->verified);
		jw_u64(&j, "worker", e->worker);
		entry_rooms(&j, e);
		jw_obj_end(&j);
	}
	jw_arr_end(&j);
	jw_obj_end(&j);
	return j.len;
}

/* A number parameter in [min, max], or def when absent; false when present and not one. */
static bool op_number(const struct op_call *q, const char *name, long long min, long long max,
		      long long def, long long *out)
{
	char s[24];
	*out = def;
	if (!op_param(q, name, s, sizeof(s)))
		return true;
	char *end;
	errno = 0;
	long long v = strtoll(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || v < min || v > max)
		return false;
	*out = v;
	return true;
}

void op_users(struct hub *hub, const struct op_call *q, struct op_answer *a)
{
	struct users_view v = { 0 };
	long long limit;
	if (!op_number(q, "limit", 1, OP_LIMIT_MAX, OP_LIMIT_DEFAULT, &limit)) {
		answer_error(a, 400, "limit must be a number from 1 to 100000");
		return;
	}
	op_param(q, "room", v.room, sizeof(v.room));
	op_param(q, "name", v.name, sizeof(v.name));
	/* everyone, then the filter: the directory's lock is held for the copy only */
	size_t room = (size_t)atomic_load_explicit(&hub->users, memory_order_relaxed) + 64;
	struct dir_entry *all = malloc(room * sizeof(*all));
	if (all == NULL) {
		answer(a, 503, NULL, 0);
		return;
	}
	size_t n = dir_list_users(&hub->dir, all, room);
	v.e = all;
	for (size_t i = 0; i < n; i++)
		if (users_view_keeps(&v, &all[i])) {
			if (v.n < (size_t)limit)
				all[v.n++] = all[i];
			v.total++;
		}
	answer_json(a, 200, render_users, &v);
	free(all);
}

struct rooms_view {
	struct dir_room *r;
	size_t n;
};

static size_t render_rooms(void *arg, char *out, size_t cap)
{
	const struct rooms_view *v = arg;
	struct jw j = jw_start(out, cap);
	jw_obj_begin(&j);
	jw_u64(&j, "count", v->n);
	jw_arr_begin(&j, "rooms");
	for (size_t i = 0; i < v->n; i++) {
		jw_sep(&j);
		jw_obj_begin(&j);
		jw_cstr(&j, "name", v->r[i].name);
		jw_u64(&j, "members", v->r[i].members);
		jw_u64(&j, "history", v->r[i].history_lines);
		jw_obj_end(&j);
	}
	jw_arr_end(&j);
	jw_obj_end(&j);
	return j.len;
}

void op_rooms(struct hub *hub, const struct op_call *q, struct op_answer *a)
{
	(void)q;
	size_t room = (size_t)dir_room_count(&hub->dir) + 64;
	if (room > OP_ROOMS_MAX)
		room = OP_ROOMS_MAX;
	struct rooms_view v = { malloc(room * sizeof(struct dir_room)), 0 };
	if (v.r == NULL) {
		answer(a, 503, NULL, 0);
		return;
	}
	v.n = dir_list_rooms(&hub->dir, v.r, room);
	answer_json(a, 200, render_rooms, &v);
	free(v.r);
}

/* ---- orders for every node (--cluster) ----------------------------------------------------- */

static size_t kick_covered(struct hub *hub, const struct ban *b);

/* Sends an order to the other nodes; false without --cluster. */
static bool send_order(struct hub *hub, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static bool send_order(struct hub *hub, const char *fmt, ...)
{
	char order[64 + BAN_VALUE_MAX + BAN_BY_MAX + BAN_REASON_MAX];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(order, sizeof(order), fmt, ap);
	va_end(ap);
	return n > 0 && (size_t)n < sizeof(order) && cluster_control(hub, order, (size_t)n);
}

/* Splits s at tabs into f[0..want); false unless there are exactly that many fields. */
static bool split_tabs(char *s, char **f, int want)
{
	int k = 0;
	for (char *p = s; k < want; k++) {
		f[k] = p;
		char *tab = strchr(p, '\t');
		if (tab == NULL)
			return k + 1 == want;
		*tab = '\0';
		p = tab + 1;
	}
	return false;
}

static void obey_kick(struct hub *hub, char *args)
{
	char *f[2];
	uint64_t id;
	unsigned worker;
	char spelled[NAME_MAX_LEN + 1];
	if (!split_tabs(args, f, 2) || strlen(f[1]) > BAN_REASON_MAX)
		return;
	if (dir_lookup(&hub->dir, f[0], strlen(f[0]), &id, &worker, spelled) &&
	    session_control_send(hub, worker, id, SESSION_KICK, f[1]) == 0)
		log_info(-1, id, "admin: kick %s (\"%s\"), ordered by another node", spelled, f[1]);
}

static void obey_ban(struct hub *hub, char *args)
{
	char *f[4];
	struct ban b = { 0 };
	int64_t now = clock_wall_ms();
	if (!split_tabs(args, f, 4) || !bans_parse_target(f[0], strlen(f[0]), &b) ||
	    strlen(f[3]) > BAN_REASON_MAX)
		return;
	b.until_ms = strtoll(f[1], NULL, 10);
	if (b.until_ms != 0 && b.until_ms <= now)
		return;
	snprintf(b.by, sizeof(b.by), "%s", f[2]);
	snprintf(b.reason, sizeof(b.reason), "%s", f[3]);
	int rc = bans_add(&hub->bans, &b, now);
	if (rc < 0) {
		log_error(-1, 0, "admin: ban %s from another node not made: %s", b.value,
			  strerror(-rc));
		return;
	}
	size_t kicked = kick_covered(hub, &b); /* not inside log_info: it may not run */
	log_info(-1, 0,
		 "admin: ban %" PRIu64 " %s (\"%s\") by %s, ordered by another node; %zu kicked",
		 b.id, b.value, b.reason, b.by, kicked);
}

void operator_obey(struct hub *hub, const char *order, size_t n)
{
	char copy[64 + BAN_VALUE_MAX + BAN_BY_MAX + BAN_REASON_MAX];
	if (n >= sizeof(copy))
		return;
	memcpy(copy, order, n);
	copy[n] = '\0';
	if (strncmp(copy, "kick ", 5) == 0) {
		obey_kick(hub, copy + 5);
	} else if (strncmp(copy, "ban ", 4) == 0) {
		obey_ban(hub, copy + 4);
	} else if (strncmp(copy, "unban ", 6) == 0) {
		int rc = bans_remove_target(&hub->bans, copy + 6);
		if (rc > 0)
			log_info(-1, 0, "admin: unban %s, ordered by another node", copy + 6);
	}
}

/* ---- kick ---------------------------------------------------------------------------------- */

/* The reason parameter: valid text (proto_check_line) of at most BAN_REASON_MAX bytes, or
 * "" when absent. False (a 400 answered) when it is not. */
static bool op_reason(const struct op_call *q, char reason[BAN_REASON_MAX + 1], struct op_answer *a)
{
	char raw[BAN_REASON_MAX * 4];
	reason[0] = '\0';
	if (!op_param(q, "reason", raw, sizeof(raw)))
		return true;
	size_t n = strlen(raw);
	if (n > BAN_REASON_MAX || proto_check_line(raw, n).kind != LINE_VALID) {
		answer_error(a, 400, "reason must be text of at most 200 bytes");
		return false;
	}
	memcpy(reason, raw, n + 1);
	return true;
}

static size_t render_done(void *arg, char *out, size_t cap)
{
	const char *what = arg;
	struct jw j = jw_start(out, cap);
	jw_obj_begin(&j);
	jw_cstr(&j, "done", what);
	jw_obj_end(&j);
	return j.len;
}

void op_kick(struct hub *hub, const struct op_call *q, struct op_answer *a)
{
	char name[NAME_MAX_LEN + 1], reason[BAN_REASON_MAX + 1], spelled[NAME_MAX_LEN + 1];
	if (!op_param(q, "name", name, sizeof(name)) || !name_valid(name, strlen(name))) {
		answer_error(a, 400, "name must be a user's name");
		return;
	}
	if (!op_reason(q, reason, a))
		return;
	uint64_t id;
	unsigned worker;
	char done[NAME_MAX_LEN + 48];
	if (!dir_lookup(&hub->dir, name, strlen(name), &id, &worker, spelled)) {
		/* on another node, if anywhere: every node is told */
		if (!send_order(hub, "kick %s\t%s", name, reason)) {
			answer_error(a, 404, "no such user on this server");
			return;
		}
		log_info(-1, 0, "admin: kick %s (\"%s\") by %s, sent to every node", name, reason,
			 q->who);
		snprintf(done, sizeof(done), "asked every node to kick %s", name);
		answer_json(a, 202, render_done, done);
		return;
	}
	if (session_control_send(hub, worker, id, SESSION_KICK, reason) < 0) {
		answer(a, 503, NULL, 0);
		return;
	}
	log_info(-1, id, "admin: kick %s (\"%s\") by %s", spelled, reason, q->who);
	snprintf(done, sizeof(done), "kicked %s", spelled);
	answer_json(a, 200, render_done, done);
}

/* ---- bans ---------------------------------------------------------------------------------- */

/* Removes the present users a new ban covers, through their workers; returns how many. */
static size_t kick_covered(struct hub *hub, const struct ban *b)
{
	size_t room = (size_t)atomic_load_explicit(&hub->users, memory_order_relaxed) + 64;
	struct dir_entry *all = malloc(room * sizeof(*all));
	if (all == NULL)
		return 0;
	size_t n = dir_list_users(&hub->dir, all, room), kicked = 0;
	for (size_t i = 0; i < n; i++)
		if (ban_covers(b, &all[i].addr, all[i].name) &&
		    session_control_send(hub, all[i].worker, all[i].id, SESSION_BANNED,
					 b->reason) == 0)
			kicked++;
	free(all);
	return kicked;
}

struct ban_view {
	const struct ban *b;
	size_t kicked;
};

static size_t render_ban(void *arg, char *out, size_t cap)
{
	const struct ban_view *v = arg;
	struct jw j = jw_start(out, cap);
	jw_obj_begin(&j);
	jw_u64(&j, "kicked", v->kicked);
	jw_key(&j, "ban");
	char one[1024];
	size_t n = ban_render_json(v->b, one, sizeof(one));
	jw_raw(&j, one, n < sizeof(one) ? n : 0);
	jw_obj_end(&j);
	return j.len;
}

void op_ban(struct hub *hub, const struct op_call *q, struct op_answer *a)
{
	struct ban b = { 0 };
	char target[BAN_VALUE_MAX];
	long long duration;
	if (!op_param(q, "target", target, sizeof(target)) ||
	    !bans_parse_target(target, strlen(target), &b)) {
		answer_error(a, 400, "target must be an address, an address/bits range or a name");
		return;
	}
	if (!op_number(q, "duration", 0, OP_DURATION_MAX, 0, &duration)) {
		answer_error(a, 400, "duration must be seconds (0: for good)");
		return;
	}
	if (!op_reason(q, b.reason, a))
		return;
	int64_t now = clock_wall_ms();
	b.until_ms = duration > 0 ? now + duration * 1000 : 0;
	snprintf(b.by, sizeof(b.by), "%s", q->who);
	int rc = bans_add(&hub->bans, &b, now);
	if (rc == -ENOSPC) {
		answer_error(a, 507, "too many bans (--max-bans)");
		return;
	}
	if (rc < 0) {
		log_error(-1, 0, "admin: ban %s not made: cannot save the bans: %s", target,
			  strerror(-rc));
		answer_error(a, 500, "the bans could not be saved (see the log)");
		return;
	}
	struct ban_view v = { &b, kick_covered(hub, &b) };
	send_order(hub, "ban %s\t%lld\t%s\t%s", b.value, (long long)b.until_ms, b.by, b.reason);
	log_info(-1, 0, "admin: ban %" PRIu64 " %s for %lld s (\"%s\") by %s; %zu kicked", b.id,
		 b.value, duration, b.reason, q->who, v.kicked);
	answer_json(a, 201, render_ban, &v);
}

static size_t render_bans(void *arg, char *out, size_t cap)
{
	struct hub *hub = arg;
	return bans_render_json(&hub->bans, clock_wall_ms(), out, cap);
}

void op_bans(struct hub *hub, const struct op_call *q, struct op_answer *a)
{
	(void)q;
	answer_json(a, 200, render_bans, hub);
}

void op_unban(struct hub *hub, const struct op_call *q, struct op_answer *a)
{
	char digits[24];
	if (q->rest.n == 0 || q->rest.n >= sizeof(digits) ||
	    strspn(q->rest.p, "0123456789") < q->rest.n) {
		answer_error(a, 400, "DELETE /bans/ID: ID is a ban's number (GET /bans)");
		return;
	}
	memcpy(digits, q->rest.p, q->rest.n);
	digits[q->rest.n] = '\0';
	struct ban gone;
	int rc = bans_remove(&hub->bans, strtoull(digits, NULL, 10), &gone);
	if (rc == -ENOENT) {
		answer_error(a, 404, "no such ban");
		return;
	}
	if (rc < 0) {
		log_error(-1, 0, "admin: unban %s not made: cannot save the bans: %s", digits,
			  strerror(-rc));
		answer_error(a, 500, "the bans could not be saved (see the log)");
		return;
	}
	log_info(-1, 0, "admin: unban %s (%s) by %s", digits, gone.value, q->who);
	send_order(hub, "unban %s", gone.value);
	char done[BAN_VALUE_MAX + 16];
	snprintf(done, sizeof(done), "unbanned %s", gone.value);
	answer_json(a, 200, render_done, done);
}
