/*
 * test_irc.c - the IRC messages (src/irc.c): parsing with RFC 1459 / RFC 2812 and
 * modern.ircdocs.horse vectors, the 512-byte line and the tags' budget, numerics and
 * messages written within the line, chatd's lines rendered as IRC.
 */
#include "irc.h"

#include <criterion/criterion.h>
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

Test(irc, gives_tags_their_own_budget)
{
	static char line[IRC_TAGS_MAX + IRC_LINE_MAX];
	memset(line, 'a', sizeof(line));
	line[0] = '@';
	size_t tags = IRC_TAGS_MAX - 1; /* '@' and the tags; the space makes IRC_TAGS_MAX */
	line[tags] = ' ';
	put_text(line + tags + 1, "PRIVMSG #a :");
	struct irc_msg m;
	cr_assert_eq(irc_parse(line, tags + 1 + IRC_LINE_MAX - 2, &m), IRC_OK);
	line[tags] = 'a';
	line[tags + 1] = ' ';
	cr_assert_eq(irc_parse(line, tags + 2 + 20, &m), IRC_TAGS_TOO_LONG);
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
