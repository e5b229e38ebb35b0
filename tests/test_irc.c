/*
 * test_irc.c - the IRC messages (src/irc.c): parsing with RFC 1459 / RFC 2812 and
 * modern.ircdocs.horse vectors, the 512-byte line and the tags' budget, numerics and
 * messages written within the line, chatd's lines rendered as IRC.
 */
#include "irc.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

static struct irc_msg parse_ok(const char *line)
{
	struct irc_msg m;
	cr_assert_eq(irc_parse(line, strlen(line), &m), IRC_OK, "%s", line);
	return m;
}

static void assert_span(const char *p, size_t n, const char *want)
{
	cr_assert_not_null(p);
	cr_assert_eq(n, strlen(want), "'%.*s' is not '%s'", (int)n, p, want);
	cr_assert(memcmp(p, want, n) == 0, "'%.*s' is not '%s'", (int)n, p, want);
}

static void assert_param(const struct irc_msg *m, unsigned i, const char *want)
{
	cr_assert_lt(i, m->nparams);
	assert_span(m->param[i], m->param_len[i], want);
}

Test(irc, parses_a_bare_command)
{
	struct irc_msg m = parse_ok("QUIT");
	assert_span(m.cmd, m.cmd_len, "QUIT");
	cr_assert_eq(m.nparams, 0);
	cr_assert_null(m.prefix);
	cr_assert_null(m.tags);
}

Test(irc, parses_middle_and_trailing_parameters)
{
	struct irc_msg m = parse_ok("USER guest 0 * :Ronnie Reagan");
	cr_assert_eq(m.nparams, 4);
	assert_param(&m, 0, "guest");
	assert_param(&m, 3, "Ronnie Reagan");
	cr_assert(m.trailing);
}

Test(irc, parses_a_prefix)
{
	struct irc_msg m = parse_ok(":WiZ!jto@tolsun.oulu.fi NICK Kilroy");
	assert_span(m.prefix, m.prefix_len, "WiZ!jto@tolsun.oulu.fi");
	assert_span(m.cmd, m.cmd_len, "NICK");
	assert_param(&m, 0, "Kilroy");
}

Test(irc, parses_ircv3_tags)
{
	struct irc_msg m =
	    parse_ok("@id=234AB;+example.com/key=v :dan!d@localhost PRIVMSG #chan :Hey!");
	assert_span(m.tags, m.tags_len, "id=234AB;+example.com/key=v");
	assert_span(m.prefix, m.prefix_len, "dan!d@localhost");
	assert_param(&m, 0, "#chan");
	assert_param(&m, 1, "Hey!");
}

Test(irc, parses_an_empty_trailing_parameter)
{
	struct irc_msg m = parse_ok("TOPIC #test :");
	cr_assert_eq(m.nparams, 2);
	cr_assert_eq(m.param_len[1], 0);
	cr_assert(m.trailing);
}

Test(irc, keeps_colons_and_spaces_inside_the_trailing_parameter)
{
	struct irc_msg m = parse_ok("PRIVMSG #dev ::-) a  b");
	assert_param(&m, 1, ":-) a  b");
}

Test(irc, parses_a_three_digit_numeric)
{
	struct irc_msg m = parse_ok(":irc.example.com 001 ada :Welcome");
	assert_span(m.cmd, m.cmd_len, "001");
}

Test(irc, tolerates_runs_of_spaces_between_parameters)
{
	struct irc_msg m = parse_ok("JOIN   #a,#b    key");
	cr_assert_eq(m.nparams, 2);
	assert_param(&m, 0, "#a,#b");
	assert_param(&m, 1, "key");
}

Test(irc, takes_the_fifteenth_parameter_as_the_rest_of_the_line)
{
	struct irc_msg m = parse_ok("CMD 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16");
	cr_assert_eq(m.nparams, IRC_PARAMS_MAX);
	assert_param(&m, 14, "15 16");
	cr_assert_not(m.trailing);
}

Test(irc, matches_commands_without_regard_to_case)
{
	struct irc_msg m = parse_ok("privmsg #a :b");
	cr_assert(irc_is(&m, "PRIVMSG"));
	cr_assert_not(irc_is(&m, "PRIV"));
}

Test(irc, refuses_what_is_not_a_message)
{
	struct irc_msg m;
	cr_assert_eq(irc_parse("", 0, &m), IRC_EMPTY);
	cr_assert_eq(irc_parse("   ", 3, &m), IRC_EMPTY);
	cr_assert_eq(irc_parse(":prefix", 7, &m), IRC_NO_COMMAND);
	cr_assert_eq(irc_parse("@a=b", 4, &m), IRC_NO_COMMAND);
	cr_assert_eq(irc_parse("12 x", 4, &m), IRC_BAD_COMMAND);
	cr_assert_eq(irc_parse("PRIV-MSG x", 10, &m), IRC_BAD_COMMAND);
	cr_assert_eq(irc_parse("NICK a\rb", 8, &m), IRC_BAD_CHARACTER);
	cr_assert_eq(irc_parse("NICK a\0b", 8, &m), IRC_BAD_CHARACTER);
}

/* Writes s at dst without its NUL (a message's start inside a longer buffer). */
static void put_text(char *dst, const char *s)
{
	while (*s != '\0')
		*dst++ = *s++;
}

Test(irc, counts_the_crlf_in_the_512_bytes)
{
	char line[IRC_LINE_MAX + 1];
	memset(line, 'a', sizeof(line));
	put_text(line, "PRIVMSG #a :");
	struct irc_msg m;
	cr_assert_eq(irc_parse(line, IRC_LINE_MAX - 2, &m), IRC_OK);
	cr_assert_eq(irc_parse(line, IRC_LINE_MAX - 1, &m), IRC_TOO_LONG);
}

Test(irc, gives_a_clients_tags_their_own_4094_byte_budget)
{
	static char line[IRC_TAGS_MAX + IRC_LINE_MAX];
	memset(line, 'a', sizeof(line));
	line[0] = '@';
	/* '@' and 4094 bytes of tag data; the space makes IRC_CLIENT_TAGS_MAX */
	size_t tags = IRC_CLIENT_TAGS_MAX - 1;
	cr_assert_eq(tags, 4095);
	line[tags] = ' ';
	put_text(line + tags + 1, "PRIVMSG #a :");
	struct irc_msg m;
	cr_assert_eq(irc_parse(line, tags + 1 + IRC_LINE_MAX - 2, &m), IRC_OK);
	line[tags] = 'a';
	line[tags + 1] = ' ';
	cr_assert_eq(irc_parse(line, tags + 2 + 20, &m), IRC_TAGS_TOO_LONG);
}

/* ---- tags (IRCv3 message-tags) ---------------------------------------------------------- */

/* The tags of line, one "key=value" (unescaped) per tag, joined with '|'. */
static const char *tags_of(const char *line)
{
	static char out[1024];
	struct irc_msg m = parse_ok(line);
	struct irc_tag t;
	size_t len = 0;
	out[0] = '\0';
	for (size_t pos = 0; irc_tag_next(m.tags, m.tags_len, &pos, &t);) {
		char v[256];
		irc_tag_unescape(v, sizeof(v), t.value, t.value_len);
		len += (size_t)snprintf(out + len, sizeof(out) - len, "%s%.*s=%s",
					len > 0 ? "|" : "", (int)t.key_len, t.key, v);
	}
	return out;
}

/* modern.ircdocs.horse / ircdocs parser-tests msg-split.yaml */
Test(irc, reads_tags_with_escaped_values)
{
	cr_assert_str_eq(tags_of("@a=b\\\\and\\nk;c=72\\s45;d=gh\\:764 foo"),
			 "a=b\\and\nk|c=72 45|d=gh;764");
}

Test(irc, reads_tags_without_values_as_empty)
{
	cr_assert_str_eq(tags_of("@c;h=;a=b :quux ab cd"), "c=|h=|a=b");
}

Test(irc, reads_client_only_and_vendor_tags)
{
	cr_assert_str_eq(tags_of("@+typing=active;+example.com/foo=bar TAGMSG #dev"),
			 "+typing=active|+example.com/foo=bar");
	cr_assert_str_eq(tags_of("@;;a=1;; PING x"), "a=1");
}

static const char *unescape(const char *v)
{
	static char out[256];
	irc_tag_unescape(out, sizeof(out), v, strlen(v));
	return out;
}

/* message-tags "Escaping values" and the parser-tests' unescaping vectors */
Test(irc, unescapes_tag_values_as_the_spec_says)
{
	cr_assert_str_eq(unescape(""), "");
	cr_assert_str_eq(unescape("a"), "a");
	cr_assert_str_eq(unescape("\\:"), ";");
	cr_assert_str_eq(unescape("\\s"), " ");
	cr_assert_str_eq(unescape("\\\\"), "\\");
	cr_assert_str_eq(unescape("\\r"), "\r");
	cr_assert_str_eq(unescape("\\n"), "\n");
	cr_assert_str_eq(unescape("\\b"), "b");       /* an unknown escape: the character */
	cr_assert_str_eq(unescape("ab\\"), "ab");     /* a last lone '\\' is dropped */
	cr_assert_str_eq(unescape("\\\\\\s"), "\\ "); /* "\\\\" then "\\s" */
	cr_assert_str_eq(unescape("te\\:st\\s\\\\x"), "te;st \\x");
}

Test(irc, escapes_tag_values_and_back)
{
	char out[64];
	const char *v = "a; b\\c\r\nd";
	irc_tag_escape(out, sizeof(out), v, strlen(v));
	cr_assert_str_eq(out, "a\\:\\sb\\\\c\\r\\nd");
	cr_assert_str_eq(unescape(out), v);
	cr_assert_eq(irc_tag_escape(out, 4, ";;;", 3), 2); /* cut before an escape would not fit */
	cr_assert_str_eq(out, "\\:");
}

Test(irc, keeps_only_valid_client_only_tags_to_relay)
{
	char out[64];
	const char *t = "+typing=active;msgid=x;+example.com/x=a\\sb;+bad key=1;+;+ok";
	irc_client_tags(out, sizeof(out), t, strlen(t));
	cr_assert_str_eq(out, "+typing=active;+example.com/x=a\\sb;+ok");
	cr_assert_eq(irc_client_tags(out, 10, t, strlen(t)), 3); /* what fits: "+ok" */
}

Test(irc, renders_a_relayed_tagmsg_with_its_client_tags)
{
	static char out[IRC_OUT_MAX + 1];
	struct irc_ctx x = { .server = "chatd", .me = "bob", .room = "dev" };
	const char *d = "ada +typing=active\n";
	out[irc_tagmsg(out, IRC_OUT_MAX, d, strlen(d), &x)] = '\0';
	cr_assert_str_eq(out, "@+typing=active :ada!ada@chatd TAGMSG #dev\r\n");
	x.room = NULL;
	x.time_ms = 1796133600123;
	out[irc_tagmsg(out, IRC_OUT_MAX, d, strlen(d), &x)] = '\0';
	cr_assert_str_eq(
	    out, "@time=2026-12-01T14:00:00.123Z;+typing=active :ada!ada@chatd TAGMSG bob\r\n");
	cr_assert_eq(irc_tagmsg(out, IRC_OUT_MAX, "ada:hi\n", 7, &x), 0);
}

Test(irc, writes_server_time_in_utc_with_milliseconds)
{
	char out[IRC_TIME_LEN + 1];
	cr_assert_eq(irc_time(out, sizeof(out), 1796133600123), IRC_TIME_LEN);
	cr_assert_str_eq(out, "2026-12-01T14:00:00.123Z");
	irc_time(out, sizeof(out), 5);
	cr_assert_str_eq(out, "1970-01-01T00:00:00.005Z");
	cr_assert_eq(irc_time(out, IRC_TIME_LEN, 5), 0); /* no room for the NUL */
}

Test(irc, writes_a_numeric_with_its_standard_text)
{
	char out[IRC_LINE_MAX];
	size_t n = irc_numeric(out, sizeof(out), "chatd", ERR_NOSUCHNICK, "ada", "bob", NULL);
	cr_assert_str_eq((out[n] = '\0', out), ":chatd 401 ada bob :No such nick/channel\r\n");
	n = irc_numeric(out, sizeof(out), "chatd", RPL_WELCOME, "ada", NULL, "Welcome");
	cr_assert_str_eq((out[n] = '\0', out), ":chatd 001 ada :Welcome\r\n");
}

Test(irc, cuts_a_long_message_at_512_bytes_with_its_crlf)
{
	char text[600], out[IRC_LINE_MAX + 1];
	memset(text, 'x', sizeof(text));
	text[400] = '\xc3'; /* a two-byte character across the cut must not be split */
	size_t n =
	    irc_message(out, IRC_LINE_MAX, "a!a@chatd", "PRIVMSG", "#dev", text, sizeof(text));
	cr_assert_leq(n, IRC_LINE_MAX);
	cr_assert(out[n - 2] == '\r' && out[n - 1] == '\n');
}

Test(irc, knows_channel_names)
{
	cr_assert(irc_is_channel("#dev", 4));
	cr_assert_not(irc_is_channel("#", 1));
	cr_assert_not(irc_is_channel("dev", 3));
	cr_assert_not(irc_is_channel("#a,b", 4));
}

static const char *render(const char *line, const char *room)
{
	static char out[IRC_LINE_MAX + 1];
	struct irc_ctx x = { .server = "chatd", .me = "ada", .room = room };
	size_t n = irc_render(out, IRC_LINE_MAX, line, strlen(line), &x);
	out[n] = '\0';
	return out;
}

static const char *render_tagged(const char *line, const char *room, int64_t time_ms, bool tags,
				 uint64_t seq)
{
	static char out[IRC_OUT_MAX + 1];
	struct irc_ctx x = { .server = "chatd",
			     .me = "ada",
			     .room = room,
			     .time_ms = time_ms,
			     .tags = tags,
			     .seq = seq };
	out[irc_render(out, IRC_OUT_MAX, line, strlen(line), &x)] = '\0';
	return out;
}

Test(irc, renders_a_line_with_its_server_time)
{
	cr_assert_str_eq(render_tagged("bob:hi\n", "dev", 1796133600123, false, 7),
			 "@time=2026-12-01T14:00:00.123Z :bob!bob@chatd PRIVMSG #dev :hi\r\n");
	cr_assert_str_eq(render_tagged("* bob has entered.\n", "dev", 1796133600000, false, 0),
			 "@time=2026-12-01T14:00:00.000Z :bob!bob@chatd JOIN #dev\r\n");
}

Test(irc, renders_a_room_lines_msgid_with_message_tags)
{
	cr_assert_str_eq(render_tagged("bob:hi\n", "dev", 0, true, 7),
			 "@msgid=dev/7 :bob!bob@chatd PRIVMSG #dev :hi\r\n");
	cr_assert_str_eq(render_tagged("+ bob waves\n", "dev", 1796133600123, true, 8),
			 "@time=2026-12-01T14:00:00.123Z;msgid=dev/8 :bob!bob@chatd PRIVMSG #dev "
			 ":\001ACTION waves\001\r\n");
}

Test(irc, renders_no_msgid_without_a_seq_or_a_room)
{
	cr_assert_str_eq(render_tagged("bob:hi\n", "dev", 0, true, 0),
			 ":bob!bob@chatd PRIVMSG #dev :hi\r\n");
	cr_assert_str_eq(render_tagged("(private) bob:psst\n", NULL, 0, true, 3),
			 ":bob!bob@chatd PRIVMSG ada :psst\r\n");
	cr_assert_str_eq(render_tagged("bob:hi\n", "dev", 0, false, 7),
			 ":bob!bob@chatd PRIVMSG #dev :hi\r\n"); /* no message-tags: no msgid */
}

Test(irc, renders_no_tags_into_a_line_sized_buffer)
{
	char out[IRC_LINE_MAX + 1];
	struct irc_ctx x = { .server = "chatd", .me = "ada", .room = "dev", .time_ms = 5 };
	out[irc_render(out, IRC_LINE_MAX, "bob:hi\n", 7, &x)] = '\0';
	cr_assert_str_eq(out, ":bob!bob@chatd PRIVMSG #dev :hi\r\n");
}

Test(irc, renders_nothing_with_tags_for_a_line_without_an_irc_form)
{
	cr_assert_str_eq(render_tagged("* to bob: psst\n", NULL, 5, true, 0), "");
}

Test(irc, renders_chat_as_privmsg_to_the_channel)
{
	cr_assert_str_eq(render("bob:hi there\n", "dev"),
			 ":bob!bob@chatd PRIVMSG #dev :hi there\r\n");
}

Test(irc, renders_an_action_as_ctcp_action)
{
	cr_assert_str_eq(render("+ bob waves\n", "dev"),
			 ":bob!bob@chatd PRIVMSG #dev :\001ACTION waves\001\r\n");
}

Test(irc, renders_a_private_line_as_privmsg_to_the_recipient)
{
	cr_assert_str_eq(render("(private) bob:psst\n", NULL),
			 ":bob!bob@chatd PRIVMSG ada :psst\r\n");
}

Test(irc, renders_room_notices_as_join_part_and_nick)
{
	cr_assert_str_eq(render("* bob has entered.\n", "dev"), ":bob!bob@chatd JOIN #dev\r\n");
	cr_assert_str_eq(render("* bob has left.\n", "dev"), ":bob!bob@chatd PART #dev\r\n");
	cr_assert_str_eq(render("* bob has left (\"bye\").\n", "dev"),
			 ":bob!bob@chatd QUIT :bye\r\n");
	cr_assert_str_eq(render("* bob is now known as rob.\n", "dev"),
			 ":bob!bob@chatd NICK :rob\r\n");
}

Test(irc, renders_mode_changes_as_mode)
{
	cr_assert_str_eq(render("* bob sets mode +o carl in dev.\n", "dev"),
			 ":bob!bob@chatd MODE #dev +o carl\r\n");
	cr_assert_str_eq(render("* bob sets mode +b 10.0.0.0/8 in dev.\n", "dev"),
			 ":bob!bob@chatd MODE #dev +b 10.0.0.0/8\r\n");
	cr_assert_str_eq(render("* bob sets mode +m in dev.\n", "dev"),
			 ":bob!bob@chatd MODE #dev +m\r\n");
	cr_assert_str_eq(render("* bob sets mode +k in dev.\n", "dev"),
			 ":bob!bob@chatd MODE #dev +k *\r\n");
}

Test(irc, renders_topic_changes_as_topic)
{
	cr_assert_str_eq(render("* bob set the topic of dev: ship it\n", "dev"),
			 ":bob!bob@chatd TOPIC #dev :ship it\r\n");
	cr_assert_str_eq(render("* bob cleared the topic of dev.\n", "dev"),
			 ":bob!bob@chatd TOPIC #dev :\r\n");
}

Test(irc, renders_a_kick_as_kick)
{
	cr_assert_str_eq(render("* bob kicked carl from dev (spam).\n", "dev"),
			 ":bob!bob@chatd KICK #dev carl :spam\r\n");
	cr_assert_str_eq(render("* bob kicked carl from dev.\n", "dev"),
			 ":bob!bob@chatd KICK #dev carl :\r\n");
}

Test(irc, renders_an_invitation_as_invite)
{
	cr_assert_str_eq(render("* bob invites you to dev: /join dev\n", NULL),
			 ":bob!bob@chatd INVITE ada #dev\r\n");
}

Test(irc, renders_other_server_lines_as_notices)
{
	cr_assert_str_eq(render("* error: slow down.\n", NULL),
			 ":chatd NOTICE ada :error: slow down.\r\n");
	cr_assert_str_eq(render("* 3 users entered, 1 left.\n", "dev"),
			 ":chatd NOTICE #dev :3 users entered, 1 left.\r\n");
}

Test(irc, has_no_form_for_the_echo_of_a_private_line)
{
	cr_assert_str_eq(render("* to bob: psst\n", NULL), "");
}

Test(irc, renders_the_echo_of_a_private_line_with_echo_message)
{
	char out[IRC_LINE_MAX + 1];
	struct irc_ctx x = { .server = "chatd", .me = "ada", .echo = true };
	const char *line = "* to bob: psst\n";
	out[irc_render(out, IRC_LINE_MAX, line, strlen(line), &x)] = '\0';
	cr_assert_str_eq(out, ":ada!ada@chatd PRIVMSG bob :psst\r\n");
}
