/*
 * feed.c - the JSON feed's events, read back from the text lines (see feed.h).
 */
#include "feed.h"
#include "jsonw.h"
#include "proto.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

/* ---- writing events ------------------------------------------------------------------------ */

static const char *const type_names[] = {
	[FEED_CHAT] = "chat",     [FEED_ACTION] = "action", [FEED_PRIVATE] = "private",
	[FEED_JOIN] = "join",     [FEED_LEAVE] = "leave",   [FEED_RENAME] = "rename",
	[FEED_NOTICE] = "notice", [FEED_ERROR] = "error",   [FEED_HISTORY] = "history",
	[FEED_GAP] = "gap",
};

static void jw_begin(struct jw *j, enum feed_type t)
{
	jw_obj_begin(j);
	jw_cstr(j, "type", type_names[t]);
}

static size_t jw_end(struct jw *j)
{
	jw_obj_end(j);
	jw_raw(j, "\n", 1);
	return j->len;
}

static void jw_true(struct jw *j, const char *key)
{
	jw_bool(j, key, true);
}

/* ---- reading lines ------------------------------------------------------------------------ */

/* A piece of a line. */
struct span {
	const char *p;
	size_t n;
};

static bool word_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '_' || c == '-';
}

/* The name (or room name: the same characters) at the start of s[0..n); n 0 when none. */
static struct span word_at(const char *s, size_t n)
{
	size_t k = 0;
	while (k < n && word_char(s[k]))
		k++;
	return (struct span){ s, k };
}

static bool starts(struct span s, const char *prefix)
{
	size_t k = strlen(prefix);
	return s.n >= k && memcmp(s.p, prefix, k) == 0;
}

static bool equals(struct span s, const char *text)
{
	return s.n == strlen(text) && memcmp(s.p, text, s.n) == 0;
}

/* s without its first k bytes (empty when it has no more). */
static struct span after(struct span s, size_t k)
{
	return k < s.n ? (struct span){ s.p + k, s.n - k } : (struct span){ s.p + s.n, 0 };
}

static bool ends(struct span s, const char *suffix)
{
	size_t k = strlen(suffix);
	return s.n >= k && memcmp(s.p + s.n - k, suffix, k) == 0;
}

/* The number at the start of s (after spaces), read within s; 0 when none. */
static uint64_t number_at(struct span s)
{
	size_t i = 0;
	uint64_t v = 0;
	while (i < s.n && s.p[i] == ' ')
		i++;
	for (; i < s.n && s.p[i] >= '0' && s.p[i] <= '9' && v < UINT64_MAX / 10 - 9; i++)
		v = v * 10 + (uint64_t)(s.p[i] - '0');
	return v;
}

/* The line without its final "\n". */
static struct span line_of(const char *line, size_t n)
{
	return (struct span){ line, n > 0 && line[n - 1] == '\n' ? n - 1 : n };
}

/* Whether the line is the server's: "* " and its text (proto_said_by_user's other side). */
static bool is_server(struct span l)
{
	return l.n >= 2 && !proto_said_by_user(l.p, l.n);
}

/* A server line's text: after "* ". */
static struct span server_text(struct span l)
{
	return after(l, strlen(PROTO_SERVER_PREFIX));
}

/* "NAME" + rest: the name and the rest, or false when the line does not start with one. */
static bool split_name(struct span s, struct span *name, struct span *rest)
{
	*name = word_at(s.p, s.n);
	*rest = after(s, name->n);
	return name->n > 0;
}

/* "* to NAME: TEXT" (the sender's echo of a /msg). */
static bool read_echo(struct span t, struct span *to, struct span *text)
{
	struct span rest;
	if (!starts(t, "to ") || !split_name(after(t, 3), to, &rest) || !starts(rest, ": "))
		return false;
	*text = after(rest, 2);
	return true;
}

/* "NAME has left ("REASON")." -> the quoted part. */
static bool read_left(struct span rest, struct span *quoted)
{
	if (equals(rest, " has left.")) {
		*quoted = (struct span){ NULL, 0 };
		return true;
	}
	if (!starts(rest, " has left (\"") || !ends(rest, ").") ||
	    rest.n < strlen(" has left (\"\")."))
		return false;
	*quoted =
	    (struct span){ rest.p + strlen(" has left ("), rest.n - strlen(" has left (") - 2 };
	/* proto.c's quote: "TEXT" or, cut, "TE"... (a quote's closing mark is never missing) */
	return ends(*quoted, "\"") || (quoted->n >= 5 && ends(*quoted, "\"..."));
}

/* "OLD is now known as NEW." */
static bool read_rename(struct span rest, struct span *to)
{
	struct span tail;
	if (!starts(rest, " is now known as ") ||
	    !split_name(after(rest, strlen(" is now known as ")), to, &tail))
		return false;
	return equals(tail, ".");
}

static enum feed_type classify_server(struct span t)
{
	struct span name, rest, a, b;
	if (starts(t, "error: "))
		return FEED_ERROR;
	if (read_echo(t, &a, &b))
		return FEED_PRIVATE;
	if (!split_name(t, &name, &rest))
		return FEED_NOTICE;
	if (equals(rest, " has entered."))
		return FEED_JOIN;
	if (read_left(rest, &a))
		return FEED_LEAVE;
	if (read_rename(rest, &a))
		return FEED_RENAME;
	return FEED_NOTICE;
}

enum feed_type feed_classify(const char *line, size_t n)
{
	struct span l = line_of(line, n), name, rest;
	if (is_server(l))
		return classify_server(server_text(l));
	if (starts(l, "+ ") && split_name(after(l, 2), &name, &rest) &&
	    (rest.n == 0 || starts(rest, " ")))
		return FEED_ACTION;
	if (starts(l, "(private) ") && split_name(after(l, strlen("(private) ")), &name, &rest) &&
	    starts(rest, ":"))
		return FEED_PRIVATE;
	if (split_name(l, &name, &rest) && starts(rest, ":"))
		return FEED_CHAT;
	return FEED_NOTICE;
}

/* ---- events ------------------------------------------------------------------------------- */

static void put_room_seq(struct jw *j, const struct feed_ctx *x)
{
	jw_cstr(j, "room", x->room);
	if (x->seq == 0)
		return;
	jw_u64(j, "seq", x->seq);
	if (x->room != NULL) { /* unique across the chat: the room's name and its number */
		char id[24];
		jw_key(j, "id");
		jw_raw(j, "\"", 1);
		jw_escaped(j, x->room, strlen(x->room));
		jw_raw(j, id, (size_t)snprintf(id, sizeof(id), "/%" PRIu64 "\"", x->seq));
	}
}

static void put_time(struct jw *j, const struct feed_ctx *x)
{
	if (x->time_ms > 0)
		jw_u64(j, "time", (uint64_t)x->time_ms);
	if (x->history)
		jw_true(j, "history");
}

/* "NAME:TEXT", "+ NAME TEXT", "(private) NAME:TEXT": who and what. */
static void put_said(struct jw *j, struct span from, struct span text)
{
	jw_str(j, "from", from.p, from.n);
	jw_str(j, "text", text.p, text.n);
}

static void render_user(struct jw *j, enum feed_type t, struct span l, const struct feed_ctx *x)
{
	struct span name, rest;
	jw_begin(j, t);
	if (t == FEED_ACTION) {
		split_name(after(l, 2), &name, &rest);
		put_said(j, name, rest.n > 0 ? after(rest, 1) : rest);
	} else {
		split_name(t == FEED_PRIVATE ? after(l, strlen("(private) ")) : l, &name, &rest);
		put_said(j, name, after(rest, 1));
	}
	if (t == FEED_PRIVATE)
		jw_cstr(j, "to", x->me);
	else
		put_room_seq(j, x);
	put_time(j, x);
}

/* A quoted text (proto.c's quote: \" and \\ escaped, maybe "..." after the closing quote)
 * as the JSON string it stands for. */
static void jw_unquoted(struct jw *j, const char *key, struct span q)
{
	if (q.n >= 3 && memcmp(q.p + q.n - 3, "...", 3) == 0)
		q.n -= 3;
	if (q.n < 2)
		return;
	q = (struct span){ q.p + 1, q.n - 2 };
	jw_key(j, key);
	jw_raw(j, "\"", 1);
	size_t run = 0;
	for (size_t i = 0; i < q.n; i++) {
		if (q.p[i] != '\\' || i + 1 == q.n)
			continue;
		jw_escaped(j, q.p + run, i - run);
		jw_escaped(j, q.p + i + 1, 1);
		run = i + 2;
		i++;
	}
	jw_escaped(j, q.p + run, q.n - run);
	jw_raw(j, "\"", 1);
}

/* "N user(s) in ROOM: a, b✓ and K more": the room, the count and the names shown. */
static void put_who(struct jw *j, struct span t)
{
	const char *colon = memchr(t.p, ':', t.n);
	const char *in = memmem(t.p, t.n, " in ", 4);
	if (colon == NULL || in == NULL || in > colon)
		return;
	jw_str(j, "room", in + 4, (size_t)(colon - in - 4));
	jw_u64(j, "members", number_at(t));
	jw_arr_begin(j, "users");
	struct span rest = after(t, (size_t)(colon + 1 - t.p));
	const size_t mark = strlen(PROTO_VERIFIED_MARK);
	while (starts(rest, " ")) {
		struct span name, tail;
		if (!split_name(after(rest, 1), &name, &tail))
			break;
		bool verified = starts(tail, PROTO_VERIFIED_MARK);
		if (verified)
			tail = after(tail, mark);
		jw_sep(j);
		jw_obj_begin(j);
		jw_str(j, "name", name.p, name.n);
		if (verified)
			jw_bool(j, "verified", true);
		jw_obj_end(j);
		rest = starts(tail, ",") ? after(tail, 1) : (struct span){ tail.p, 0 };
	}
	jw_arr_end(j);
}

/* The name a notice gives the recipient: "Welcome, NAME.", "You are signed in as NAME.",
 * "...: you are now NAME." */
static bool read_your_name(struct span t, struct span *name)
{
	static const char *const before[] = { "Welcome, ", "You are signed in as " };
	struct span rest;
	for (size_t i = 0; i < sizeof(before) / sizeof(before[0]); i++)
		if (starts(t, before[i]))
			return split_name(after(t, strlen(before[i])), name, &rest) &&
			       starts(rest, ".");
	const char *you = memmem(t.p, t.n, ": you are now ", strlen(": you are now "));
	if (you == NULL)
		return false;
	struct span s = { you + strlen(": you are now "),
			  t.n - (size_t)(you + strlen(": you are now ") - t.p) };
	return split_name(s, name, &rest) && equals(rest, ".");
}

static bool is_who(struct span t)
{
	const char *colon = memchr(t.p, ':', t.n);
	return t.n > 0 && t.p[0] >= '0' && t.p[0] <= '9' && colon != NULL &&
	       (memmem(t.p, (size_t)(colon - t.p), " users in ", 10) != NULL ||
		memmem(t.p, (size_t)(colon - t.p), " user in ", 9) != NULL);
}

static void render_notice(struct jw *j, struct span t, const struct feed_ctx *x)
{
	struct span name, rest;
	jw_begin(j, FEED_NOTICE);
	jw_str(j, "text", t.p, t.n);
	if (starts(t, "You are now in ") &&
	    split_name(after(t, strlen("You are now in ")), &name, &rest)) {
		jw_str(j, "room", name.p, name.n);
		jw_u64(j, "members", number_at(after(rest, 1)));
	} else if (is_who(t)) {
		put_who(j, t);
	} else {
		jw_cstr(j, "room", x->room);
	}
	if (read_your_name(t, &name))
		jw_str(j, "name", name.p, name.n);
	put_time(j, x);
}

static void render_server(struct jw *j, enum feed_type t, struct span l, const struct feed_ctx *x)
{
	struct span text = server_text(l), name = { 0 }, rest = { 0 }, a = { 0 }, b = { 0 };
	if (t == FEED_NOTICE) {
		render_notice(j, text, x);
		return;
	}
	jw_begin(j, t);
	if (t == FEED_ERROR) {
		jw_str(j, "text", text.p + strlen("error: "), text.n - strlen("error: "));
	} else if (t == FEED_PRIVATE) { /* the echo */
		read_echo(text, &a, &b);
		jw_cstr(j, "from", x->me);
		jw_str(j, "to", a.p, a.n);
		jw_str(j, "text", b.p, b.n);
		jw_true(j, "echo");
	} else {
		split_name(text, &name, &rest);
		jw_str(j, "from", name.p, name.n);
		if (t == FEED_RENAME && read_rename(rest, &a))
			jw_str(j, "to", a.p, a.n);
		if (t == FEED_LEAVE && read_left(rest, &a) && a.n > 0)
			jw_unquoted(j, "reason", a);
		jw_str(j, "text", text.p, text.n);
		jw_cstr(j, "room", x->room);
	}
	put_time(j, x);
}

size_t feed_render(char *out, size_t cap, const char *line, size_t n, const struct feed_ctx *x)
{
	struct jw j = jw_start(out, cap);
	struct span l = line_of(line, n);
	enum feed_type t = feed_classify(l.p, l.n);
	if (is_server(l))
		render_server(&j, t, l, x);
	else if (t != FEED_NOTICE)
		render_user(&j, t, l, x);
	else
		render_notice(&j, l, x); /* not a line proto.c words: shown as it is */
	return jw_end(&j);
}

size_t feed_history(char *out, size_t cap, const char *room, size_t count, uint64_t first,
		    uint64_t last, int64_t since)
{
	struct jw j = jw_start(out, cap);
	jw_begin(&j, FEED_HISTORY);
	jw_cstr(&j, "room", room);
	jw_u64(&j, "count", count);
	if (since >= 0)
		jw_u64(&j, "since", (uint64_t)since);
	if (count > 0 && first != 0) {
		jw_u64(&j, "first", first);
		jw_u64(&j, "last", last);
	}
	return jw_end(&j);
}

size_t feed_gap(char *out, size_t cap, const char *room, uint64_t since, int64_t missed)
{
	struct jw j = jw_start(out, cap);
	jw_begin(&j, FEED_GAP);
	jw_cstr(&j, "room", room);
	jw_u64(&j, "since", since);
	if (missed < 0) {
		jw_null(&j, "missed");
	} else {
		jw_u64(&j, "missed", (uint64_t)missed);
	}
	return jw_end(&j);
}
