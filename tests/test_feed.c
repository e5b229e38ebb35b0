/*
 * test_feed.c - the JSON feed's events (feed.c): every kind of line, worded by the proto.c
 * function that words it, read back into an event that is strict JSON (json.c reads it) with
 * the right type and members; sizing and cutting like snprintf.
 */
#include "feed.h"
#include "json.h"
#include "proto.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* One event, parsed back. */
struct event {
	char text[4096];
	struct json_token tok[64];
	struct json_doc doc;
};

static void parse(struct event *e, size_t n)
{
	cr_assert(n > 1 && n < sizeof(e->text), "length %zu", n);
	cr_assert_eq(e->text[n - 1], '\n', "ends with a newline: %.*s", (int)n, e->text);
	int rc = json_parse(&e->doc, e->text, n - 1, e->tok, 64);
	cr_assert(rc > 0, "strict JSON (%d): %.*s", rc, (int)n, e->text);
}

static void render(struct event *e, const char *line, size_t len, const struct feed_ctx *x)
{
	size_t need = feed_render(NULL, 0, line, len, x);
	size_t n = feed_render(e->text, sizeof(e->text), line, len, x);
	cr_assert_eq(need, n, "sizing and writing agree");
	parse(e, n);
}

static void want_str(const struct event *e, const char *member, const char *value)
{
	char got[1024];
	int rc = json_get_string(&e->doc, 0, member, got, sizeof(got));
	cr_assert(rc >= 0, "\"%s\" in %s (%d)", member, e->text, rc);
	cr_assert_str_eq(got, value, "\"%s\" in %s", member, e->text);
}

static void want_int(const struct event *e, const char *member, int64_t value)
{
	int64_t got = -1;
	cr_assert_eq(json_get_int(&e->doc, 0, member, &got), 0, "\"%s\" in %s", member, e->text);
	cr_assert_eq(got, value, "\"%s\" in %s", member, e->text);
}

static void want_absent(const struct event *e, const char *member)
{
	cr_assert_eq(json_find(&e->doc, 0, member), JSON_ABSENT, "no \"%s\" in %s", member,
		     e->text);
}

static const struct feed_ctx in_dev = { .room = "dev", .me = "ada", .seq = 7, .time_ms = 1234 };

Test(feed, a_chat_line_gives_room_sender_text_number_id_and_time)
{
	struct event e;
	char line[256];
	size_t n = proto_user_line(line, USER_CHAT, "bob", "hi \"there\"\t\\", 12);
	render(&e, line, n, &in_dev);
	want_str(&e, "type", "chat");
	want_str(&e, "room", "dev");
	want_str(&e, "from", "bob");
	want_str(&e, "text", "hi \"there\" \\");
	want_int(&e, "seq", 7);
	want_str(&e, "id", "dev/7");
	want_int(&e, "time", 1234);
	want_absent(&e, "history");
}

Test(feed, an_action_and_a_kept_line)
{
	struct event e;
	char line[256];
	struct feed_ctx x = in_dev;
	x.history = true;
	size_t n = proto_user_line(line, USER_ACTION, "bob", "waves", 5);
	render(&e, line, n, &x);
	want_str(&e, "type", "action");
	want_str(&e, "from", "bob");
	want_str(&e, "text", "waves");
	cr_assert_eq(json_find(&e.doc, 0, "history") > 0, true);
}

Test(feed, a_private_message_and_its_echo)
{
	struct event e;
	char line[256];
	size_t n = proto_user_line(line, USER_PRIVATE, "bob", "psst: later", 11);
	render(&e, line, n, &in_dev);
	want_str(&e, "type", "private");
	want_str(&e, "from", "bob");
	want_str(&e, "to", "ada");
	want_str(&e, "text", "psst: later");
	want_absent(&e, "room");
	n = proto_user_line(line, USER_ECHO, "bob", "yo", 2);
	render(&e, line, n, &in_dev);
	want_str(&e, "type", "private");
	want_str(&e, "from", "ada");
	want_str(&e, "to", "bob");
	want_str(&e, "text", "yo");
	cr_assert(json_find(&e.doc, 0, "echo") > 0);
}

Test(feed, join_leave_with_a_reason_and_rename)
{
	struct event e;
	char line[256];
	size_t n = proto_entered(line, sizeof(line), "carol");
	render(&e, line, n, &in_dev);
	want_str(&e, "type", "join");
	want_str(&e, "from", "carol");
	want_str(&e, "room", "dev");
	want_str(&e, "text", "carol has entered.");
	n = proto_left(line, sizeof(line), "carol", NULL, 0);
	render(&e, line, n, &in_dev);
	want_str(&e, "type", "leave");
	want_absent(&e, "reason");
	n = proto_left(line, sizeof(line), "carol", "off \"home\" \\o/", 14);
	render(&e, line, n, &in_dev);
	want_str(&e, "type", "leave");
	want_str(&e, "from", "carol");
	want_str(&e, "reason", "off \"home\" \\o/");
	n = proto_renamed(line, sizeof(line), "41", "dave");
	render(&e, line, n, &in_dev);
	want_str(&e, "type", "rename");
	want_str(&e, "from", "41");
	want_str(&e, "to", "dave");
}

Test(feed, errors_and_notices_keep_their_words)
{
	struct event e;
	char line[256];
	size_t n = proto_name_taken(line, sizeof(line), "bob", 3);
	render(&e, line, n, &in_dev);
	want_str(&e, "type", "error");
	want_str(&e, "text", "the name bob is taken.");
	n = proto_shutdown(line, sizeof(line));
	struct feed_ctx none = { .time_ms = 5 };
	render(&e, line, n, &none);
	want_str(&e, "type", "notice");
	want_str(&e, "text", "Server shutting down.");
	want_absent(&e, "room");
}

Test(feed, notices_that_name_you_or_your_room_say_so)
{
	struct event e;
	char line[256];
	struct feed_ctx none = { .time_ms = 5 };
	size_t n = proto_welcome(line, sizeof(line), 42, 3);
	render(&e, line, n, &none);
	want_str(&e, "name", "42");
	n = proto_signed_in(line, sizeof(line), "alice");
	render(&e, line, n, &none);
	want_str(&e, "name", "alice");
	n = proto_name_lost(line, sizeof(line), "bob", "guest123456");
	render(&e, line, n, &none);
	want_str(&e, "name", "guest123456");
	n = proto_joined(line, sizeof(line), "dev", 4);
	render(&e, line, n, &none);
	want_str(&e, "room", "dev");
	want_int(&e, "members", 4);
}

Test(feed, a_who_answer_lists_the_users_and_who_is_signed_in)
{
	struct event e;
	char line[512];
	const char *names[] = { "alice" PROTO_VERIFIED_MARK, "7", "bob" };
	size_t n = proto_who(line, sizeof(line), "dev", 5, names, 3);
	render(&e, line, n, &(struct feed_ctx){ .time_ms = 1 });
	want_str(&e, "type", "notice");
	want_str(&e, "room", "dev");
	want_int(&e, "members", 5);
	int users = json_find(&e.doc, 0, "users");
	cr_assert(users > 0);
	cr_assert_eq(e.tok[users].count, 3, "%s", e.text);
	cr_assert(strstr(e.text, "{\"name\":\"alice\",\"verified\":true}") != NULL, "%s", e.text);
	cr_assert(strstr(e.text, "{\"name\":\"7\"},{\"name\":\"bob\"}]") != NULL, "%s", e.text);
}

Test(feed, a_user_cannot_make_a_line_that_reads_as_a_notice)
{
	/* "+ " is an action and "* " is the server's: a user's text is always after its name */
	struct event e;
	char line[256];
	size_t n = proto_user_line(line, USER_CHAT, "bob", "* alice has entered.", 20);
	render(&e, line, n, &in_dev);
	want_str(&e, "type", "chat");
	want_str(&e, "text", "* alice has entered.");
	n = proto_user_line(line, USER_ACTION, "bob", "has entered.", 12);
	render(&e, line, n, &in_dev);
	want_str(&e, "type", "action");
}

Test(feed, control_characters_are_escaped_and_utf8_kept)
{
	struct event e;
	const char line[] = "* note \x01 \xc3\xa9\xf0\x9f\x98\x80\n";
	render(&e, line, sizeof(line) - 1, &(struct feed_ctx){ 0 });
	cr_assert(strstr(e.text, "\\u0001") != NULL, "%s", e.text);
	want_str(&e, "text", "note \x01 \xc3\xa9\xf0\x9f\x98\x80");
}

Test(feed, history_and_gap_events)
{
	struct event e;
	size_t n = feed_history(e.text, sizeof(e.text), "dev", 3, 5, 7, -1);
	parse(&e, n);
	want_str(&e, "type", "history");
	want_int(&e, "count", 3);
	want_int(&e, "first", 5);
	want_int(&e, "last", 7);
	want_absent(&e, "since");
	n = feed_history(e.text, sizeof(e.text), "dev", 0, 0, 0, 9);
	parse(&e, n);
	want_int(&e, "since", 9);
	want_absent(&e, "first");
	n = feed_gap(e.text, sizeof(e.text), "dev", 4, 12);
	parse(&e, n);
	want_str(&e, "type", "gap");
	want_int(&e, "since", 4);
	want_int(&e, "missed", 12);
	n = feed_gap(e.text, sizeof(e.text), "dev", 4, -1);
	parse(&e, n);
	cr_assert(strstr(e.text, "\"missed\":null") != NULL, "%s", e.text);
}

Test(feed, a_small_buffer_gets_a_cut_event_and_the_full_length)
{
	char small[10];
	const char line[] = "bob:hello\n";
	size_t need = feed_render(NULL, 0, line, sizeof(line) - 1, &in_dev);
	memset(small, '#', sizeof(small));
	cr_assert_eq(feed_render(small, sizeof(small), line, sizeof(line) - 1, &in_dev), need);
	cr_assert_eq(memcmp(small, "{\"type\":\"c", 10), 0);
}

Test(feed, classify_every_kind)
{
	cr_assert_eq(feed_classify("bob:x", 5), FEED_CHAT);
	cr_assert_eq(feed_classify("+ bob x", 7), FEED_ACTION);
	cr_assert_eq(feed_classify("(private) bob:x", 15), FEED_PRIVATE);
	cr_assert_eq(feed_classify("* to bob: x", 11), FEED_PRIVATE);
	cr_assert_eq(feed_classify("* bob has entered.\n", 19), FEED_JOIN);
	cr_assert_eq(feed_classify("* bob has left.", 15), FEED_LEAVE);
	cr_assert_eq(feed_classify("* a is now known as b.", 22), FEED_RENAME);
	cr_assert_eq(feed_classify("* a is now known as b. ", 23), FEED_NOTICE);
	cr_assert_eq(feed_classify("* error: no", 11), FEED_ERROR);
	cr_assert_eq(feed_classify("* 3 users entered.", 18), FEED_NOTICE);
}

Test(feed, lines_no_function_words_are_notices_and_never_read_past_their_end)
{
	/* found by fuzz_feed: each read past its line's end before */
	static const char *const odd[] = {
		"",
		"*",
		"(private) bobQpsst",
		"* You are now in dev.",
		"+ ",
		"* 5 users in dev:",
		"* bob has left (\"\xe2\x9c\x93)." /* a quote without its closing mark */
	};
	for (size_t i = 0; i < sizeof(odd) / sizeof(odd[0]); i++) {
		size_t n = strlen(odd[i]);
		char *copy =
		    malloc(n + 1); /* exactly its bytes (and a NUL the reader must not need) */
		cr_assert_not_null(copy);
		memcpy(copy, odd[i], n + 1);
		struct event e;
		render(&e, copy, n, &(struct feed_ctx){ 0 });
		char type[16];
		cr_assert(json_get_string(&e.doc, 0, "type", type, sizeof(type)) > 0);
		free(copy);
	}
}
