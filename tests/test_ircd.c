/*
 * test_ircd.c - IRC clients on --irc-port (src/ircd.c), spoken to by a raw socket client
 * written from RFC 2812 and modern.ircdocs.horse: registration, the channels that are rooms,
 * chat with line users both ways, NICK, PART, QUIT, PING both ways, and every error numeric.
 */
#include "config.h"
#include "server.h"
#include "testlib.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static struct server *srv;

static void start(void)
{
	struct config cfg = ts_config(2);
	cfg.irc_port = 0;
	srv = ts_start(&cfg);
}

static void stop(void)
{
	ts_stop(srv);
	srv = NULL;
}

/* A line from an IRC connection, its CRLF removed; 1, 0 (EOF) or -1 (timeout). */
static int irc_read(struct tclient *c, char *out, size_t cap, int timeout_ms)
{
	int r = tc_read_line(c, out, cap, timeout_ms);
	size_t n = r == 1 ? strlen(out) : 0;
	if (n > 0 && out[n - 1] == '\r')
		out[n - 1] = '\0';
	return r;
}

static void irc_expect(struct tclient *c, const char *want)
{
	char line[1024];
	int r = irc_read(c, line, sizeof(line), 5000);
	cr_assert_eq(r, 1, "expected '%s', got %s", want, r == 0 ? "EOF" : "a timeout");
	cr_assert_str_eq(line, want);
}

/* Reads until a line equals want (others skipped). */
static void irc_expect_eventually(struct tclient *c, const char *want)
{
	char line[1024];
	for (;;) {
		int r = irc_read(c, line, sizeof(line), 5000);
		cr_assert_eq(r, 1, "expected '%s', got %s", want, r == 0 ? "EOF" : "a timeout");
		if (strcmp(line, want) == 0)
			return;
	}
}

static struct tclient *irc_connect(void)
{
	return tc_connect(server_irc_port(srv));
}

/* Registers nick and reads up to the end of the lobby's names. */
static struct tclient *irc_register(const char *nick)
{
	struct tclient *c = irc_connect();
	char msg[256], want[256];
	snprintf(msg, sizeof(msg), "NICK %s\r\nUSER %s 0 * :Real %s\r\n", nick, nick, nick);
	tc_send(c, msg);
	snprintf(want, sizeof(want), ":chatd 366 %s #lobby :End of /NAMES list", nick);
	irc_expect_eventually(c, want);
	return c;
}

/* Sends msg and expects the numeric line want next. */
static void irc_answer(struct tclient *c, const char *msg, const char *want)
{
	tc_send(c, msg);
	irc_expect(c, want);
}

/* Sends msg, then reads until a line equals want (others, such as joins, skipped). */
static void irc_ask(struct tclient *c, const char *msg, const char *want)
{
	tc_send(c, msg);
	irc_expect_eventually(c, want);
}

/* ---- registration ------------------------------------------------------------------------ */

Test(ircd, registration_gets_the_welcome_numerics_and_the_lobby, .init = start, .fini = stop)
{
	struct tclient *c = irc_connect();
	tc_send(c, "NICK ada\r\nUSER ada 0 * :Ada Lovelace\r\n");
	irc_expect(c, ":chatd 001 ada :Welcome to the chatd IRC network ada!ada@chatd");
	irc_expect(c, ":chatd 002 ada :Your host is chatd, running chatd");
	irc_expect(c, ":chatd 003 ada :This server was created when it started");
	irc_expect(c, ":chatd 004 ada chatd chatd o biklmnostv bklov");
	irc_expect(c, ":chatd 005 ada CASEMAPPING=ascii CHANTYPES=# NICKLEN=32 CHANNELLEN=33 "
		      "CHANLIMIT=#:20 PREFIX=(ov)@+ CHANMODES=b,k,l,imnst NETWORK=chatd :are "
		      "supported by this server");
	irc_expect(c, ":chatd 422 ada :MOTD File is missing");
	irc_expect(c, ":ada!ada@chatd JOIN #lobby");
	irc_expect(c, ":chatd 331 ada #lobby :No topic is set");
	irc_expect(c, ":chatd 353 ada = #lobby :ada");
	irc_expect(c, ":chatd 366 ada #lobby :End of /NAMES list");
	tc_close(c);
}

Test(ircd, cap_negotiation_holds_registration_until_cap_end, .init = start, .fini = stop)
{
	struct tclient *c = irc_connect();
	irc_answer(c, "CAP LS 302\r\n",
		   ":chatd CAP * LS :echo-message message-tags multi-prefix server-time");
	tc_send(c, "NICK ada\r\nUSER ada 0 * :Ada\r\n");
	irc_answer(c, "CAP REQ :multi-prefix\r\n", ":chatd CAP ada ACK :multi-prefix");
	irc_answer(c, "CAP REQ :sasl\r\n", ":chatd CAP ada NAK :sasl");
	tc_send(c, "CAP END\r\n");
	irc_expect(c, ":chatd 001 ada :Welcome to the chatd IRC network ada!ada@chatd");
	tc_close(c);
}

Test(ircd, a_wrong_password_is_refused_with_464, .fini = stop)
{
	char path[] = "/tmp/chatd-irc-pass-XXXXXX";
	int fd = mkstemp(path);
	cr_assert_geq(fd, 0);
	cr_assert_eq(write(fd, "sesame\n", 7), 7);
	close(fd);
	struct config cfg = ts_config(1);
	cfg.irc_port = 0;
	snprintf(cfg.irc_password, sizeof(cfg.irc_password), "%s", path);
	srv = ts_start(&cfg);
	unlink(path);
	struct tclient *c = irc_connect();
	tc_send(c, "PASS nope\r\nNICK ada\r\nUSER ada 0 * :Ada\r\n");
	irc_expect(c, ":chatd 464 ada :Password incorrect");
	tc_expect_closed(c, 5000);
	tc_close(c);
	c = irc_connect();
	tc_send(c, "PASS sesame\r\nNICK ada\r\nUSER ada 0 * :Ada\r\n");
	irc_expect(c, ":chatd 001 ada :Welcome to the chatd IRC network ada!ada@chatd");
	tc_close(c);
}

Test(ircd, cap_list_names_what_was_asked_for, .init = start, .fini = stop)
{
	struct tclient *c = irc_register("ada");
	irc_answer(c, "CAP LIST\r\n", ":chatd CAP ada LIST :");
	irc_answer(c, "CAP REQ :echo-message\r\n", ":chatd CAP ada ACK :echo-message");
	irc_answer(c, "CAP LIST\r\n", ":chatd CAP ada LIST :echo-message");
	irc_answer(c, "CAP REQ :server-time message-tags\r\n",
		   ":chatd CAP ada ACK :server-time message-tags");
	irc_answer(c, "CAP LIST\r\n", ":chatd CAP ada LIST :echo-message message-tags server-time");
	irc_answer(c, "CAP REQ :-message-tags\r\n", ":chatd CAP ada ACK :-message-tags");
	irc_answer(c, "CAP LIST\r\n", ":chatd CAP ada LIST :echo-message server-time");
	tc_close(c);
}

Test(ircd, the_server_stopping_says_error_and_closes)
{
	start();
	struct tclient *c = irc_register("ada");
	ts_stop(srv);
	srv = NULL;
	irc_expect(c, "ERROR :Server shutting down");
	tc_expect_closed(c, 5000);
	tc_close(c);
}

Test(ircd, flooding_past_the_rate_limit_is_refused_then_cut, .fini = stop)
{
	struct config cfg = ts_config(1);
	cfg.irc_port = 0;
	cfg.rate_limit = 5;
	cfg.rate_burst = 5;
	srv = ts_start(&cfg);
	struct tclient *c = irc_register("ada");
	char burst[40 * 12 + 1] = "";
	for (int i = 0; i < 40; i++)
		strcat(burst, "PING :x\r\n");
	tc_send(c, burst);
	irc_expect_eventually(c, ":chatd NOTICE ada :error: slow down: more than 5 lines a second; "
				 "line dropped.");
	tc_expect_closed(c, 5000);
	tc_close(c);
}

/* ---- with line users ---------------------------------------------------------------------- */

Test(ircd, a_channel_line_reaches_a_line_user_as_name_text, .init = start, .fini = stop)
{
	struct tclient *nc = tc_join(server_port(srv));
	struct tclient *c = irc_register("ada");
	tc_expect(nc, "* ada has entered.");
	tc_send(c, "PRIVMSG #lobby :hello from irc\r\n");
	tc_expect(nc, "ada:hello from irc");
	tc_send(c, "PRIVMSG #lobby :\001ACTION waves\001\r\n");
	tc_expect(nc, "+ ada waves");
	tc_send(c, "PRIVMSG #lobby :/nick x\r\n"); /* said, not run */
	tc_expect(nc, "ada:/nick x");
	tc_close(c);
	tc_close(nc);
}

Test(ircd, a_line_users_line_reaches_irc_as_privmsg, .init = start, .fini = stop)
{
	struct tclient *nc = tc_join(server_port(srv));
	struct tclient *c = irc_register("ada");
	tc_send(nc, "hi ada\n");
	char want[128];
	snprintf(want, sizeof(want), ":%llu!%llu@chatd PRIVMSG #lobby :hi ada",
		 (unsigned long long)nc->name, (unsigned long long)nc->name);
	irc_expect(c, want);
	tc_close(c);
	tc_close(nc);
}

Test(ircd, own_lines_come_back_only_with_echo_message, .init = start, .fini = stop)
{
	struct tclient *c = irc_register("ada");
	tc_send(c, "PRIVMSG #lobby :one\r\nPING :mark\r\n");
	irc_expect(c, ":chatd PONG chatd :mark");
	irc_answer(c, "CAP REQ :echo-message\r\n", ":chatd CAP ada ACK :echo-message");
	tc_send(c, "PRIVMSG #lobby :two\r\n");
	irc_expect(c, ":ada!ada@chatd PRIVMSG #lobby :two");
	tc_send(c, "PRIVMSG ada :to me\r\n"); /* a private line to itself: the line and its echo */
	irc_expect(c, ":ada!ada@chatd PRIVMSG ada :to me");
	irc_expect(c, ":ada!ada@chatd PRIVMSG ada :to me");
	tc_close(c);
}

Test(ircd, private_lines_go_both_ways, .init = start, .fini = stop)
{
	struct tclient *nc = tc_join(server_port(srv));
	struct tclient *c = irc_register("ada");
	char msg[128], want[128];
	snprintf(msg, sizeof(msg), "PRIVMSG %llu :psst\r\n", (unsigned long long)nc->name);
	tc_send(c, msg);
	tc_expect_eventually(nc, "(private) ada:psst", 5000);
	tc_send(nc, "/msg ada back\n");
	snprintf(want, sizeof(want), ":%llu!%llu@chatd PRIVMSG ada :back",
		 (unsigned long long)nc->name, (unsigned long long)nc->name);
	irc_expect(c, want);
	tc_close(c);
	tc_close(nc);
}

Test(ircd, nick_renames_the_user_for_everyone, .init = start, .fini = stop)
{
	struct tclient *nc = tc_join(server_port(srv));
	struct tclient *c = irc_register("ada");
	tc_expect(nc, "* ada has entered.");
	tc_send(c, "NICK lovelace\r\n");
	irc_expect(c, ":ada!ada@chatd NICK :lovelace");
	tc_expect(nc, "* ada is now known as lovelace.");
	tc_close(c);
	tc_close(nc);
}

Test(ircd, join_enters_the_room_and_keeps_the_lobby, .init = start, .fini = stop)
{
	struct tclient *nc = tc_join(server_port(srv));
	struct tclient *c = irc_register("ada");
	tc_expect(nc, "* ada has entered.");
	tc_send(c, "JOIN #dev\r\n");
	irc_expect_eventually(c, ":ada!ada@chatd JOIN #dev");
	irc_expect(c, ":chatd 331 ada #dev :No topic is set");
	irc_expect(c, ":chatd 353 ada = #dev :@ada");
	irc_expect(c, ":chatd 366 ada #dev :End of /NAMES list");
	tc_send(nc, "still here\n");
	char said[128];
	snprintf(said, sizeof(said), ":%llu!%llu@chatd PRIVMSG #lobby :still here",
		 (unsigned long long)nc->name, (unsigned long long)nc->name);
	irc_expect(c, said);
	tc_send(nc, "/join dev\n");
	char want[128];
	snprintf(want, sizeof(want), ":%llu!%llu@chatd PART #lobby", (unsigned long long)nc->name,
		 (unsigned long long)nc->name);
	irc_expect(c, want);
	snprintf(want, sizeof(want), ":%llu!%llu@chatd JOIN #dev", (unsigned long long)nc->name,
		 (unsigned long long)nc->name);
	irc_expect(c, want);
	tc_close(c);
	tc_close(nc);
}

Test(ircd, part_leaves_the_channel_and_no_other, .init = start, .fini = stop)
{
	struct tclient *c = irc_register("ada");
	tc_send(c, "JOIN #dev\r\n");
	irc_expect_eventually(c, ":chatd 366 ada #dev :End of /NAMES list");
	tc_send(c, "PART #dev :later\r\n");
	irc_expect_eventually(c, ":ada!ada@chatd PART #dev :later");
	irc_answer(c, "TOPIC #lobby\r\n", ":chatd 331 ada #lobby :No topic is set");
	tc_close(c);
}

Test(ircd, quit_tells_the_room_with_the_reason, .init = start, .fini = stop)
{
	struct tclient *nc = tc_join(server_port(srv));
	struct tclient *c = irc_register("ada");
	tc_expect(nc, "* ada has entered.");
	tc_send(c, "QUIT :gone fishing\r\n");
	irc_expect(c, "ERROR :Closing link (quit)");
	tc_expect_closed(c, 5000);
	tc_expect(nc, "* ada has left (\"gone fishing\").");
	tc_close(c);
	tc_close(nc);
}

Test(ircd, names_who_whois_and_list_answer_from_the_directory, .init = start, .fini = stop)
{
	struct tclient *c = irc_register("ada");
	irc_answer(c, "NAMES #lobby\r\n", ":chatd 353 ada = #lobby :ada");
	irc_expect(c, ":chatd 366 ada #lobby :End of /NAMES list");
	irc_answer(c, "WHO #lobby\r\n", ":chatd 352 ada #lobby ada chatd chatd ada H :0 ada");
	irc_expect(c, ":chatd 315 ada #lobby :End of /WHO list");
	irc_answer(c, "WHOIS ada\r\n", ":chatd 311 ada ada ada chatd * :ada");
	irc_expect(c, ":chatd 319 ada ada :#lobby");
	irc_expect(c, ":chatd 312 ada ada chatd :chatd");
	irc_expect(c, ":chatd 318 ada ada :End of /WHOIS list");
	irc_answer(c, "LIST\r\n", ":chatd 322 ada #lobby 1 :");
	irc_expect(c, ":chatd 323 ada :End of /LIST");
	irc_answer(c, "TOPIC #lobby\r\n", ":chatd 331 ada #lobby :No topic is set");
	irc_answer(c, "AWAY :lunch\r\n", ":chatd 306 ada :You have been marked as being away");
	irc_answer(c, "AWAY\r\n", ":chatd 305 ada :You are no longer marked as being away");
	tc_close(c);
}

/* ---- PING both ways ---------------------------------------------------------------------- */

Test(ircd, ping_is_answered_with_pong, .init = start, .fini = stop)
{
	struct tclient *c = irc_register("ada");
	irc_answer(c, "PING :12345\r\n", ":chatd PONG chatd :12345");
	tc_close(c);
}

Test(ircd, a_silent_client_is_pinged_then_closed, .fini = stop)
{
	struct config cfg = ts_config(1);
	cfg.irc_port = 0;
	cfg.irc_ping_interval_ms = 300;
	srv = ts_start(&cfg);
	struct tclient *c = irc_register("ada");
	irc_expect(c, "PING :chatd");
	tc_send(c, "PONG :chatd\r\n");
	irc_expect(c, "PING :chatd");
	irc_expect(c, "ERROR :Closing link (ping timeout)");
	tc_expect_closed(c, 5000);
	tc_close(c);
}

Test(ircd, a_client_that_does_not_register_in_time_is_closed, .fini = stop)
{
	struct config cfg = ts_config(1);
	cfg.irc_port = 0;
	cfg.irc_ping_interval_ms = 300;
	srv = ts_start(&cfg);
	struct tclient *c = irc_connect();
	tc_send(c, "NICK ada\r\n");
	irc_expect(c, "ERROR :Closing link (registration timeout)");
	tc_expect_closed(c, 5000);
	tc_close(c);
}

/* ---- error numerics ------------------------------------------------------------------------ */

Test(ircd, err_401_no_such_nick, .init = start, .fini = stop)
{
	struct tclient *c = irc_register("ada");
	irc_answer(c, "PRIVMSG nobody :hi\r\n", ":chatd 401 ada nobody :No such nick/channel");
	tc_close(c);
}

Test(ircd, err_403_no_such_channel, .init = start, .fini = stop)
{
	struct tclient *c = irc_register("ada");
	irc_answer(c, "JOIN &local\r\n", ":chatd 403 ada &local :No such channel");
	irc_answer(c, "JOIN #bad!name\r\n", ":chatd 403 ada #bad!name :No such channel");
	tc_close(c);
}

Test(ircd, err_404_cannot_send_to_a_channel_not_joined, .init = start, .fini = stop)
{
	struct tclient *c = irc_register("ada");
	irc_answer(c, "PRIVMSG #dev :hi\r\n", ":chatd 404 ada #dev :Cannot send to channel");
	tc_close(c);
}

Test(ircd, err_411_no_recipient, .init = start, .fini = stop)
{
	struct tclient *c = irc_register("ada");
	irc_answer(c, "PRIVMSG\r\n", ":chatd 411 ada :No recipient given (PRIVMSG)");
	tc_close(c);
}

Test(ircd, err_412_no_text_to_send, .init = start, .fini = stop)
{
	struct tclient *c = irc_register("ada");
	irc_answer(c, "PRIVMSG #lobby\r\n", ":chatd 412 ada :No text to send");
	tc_close(c);
}

Test(ircd, err_417_input_too_long, .init = start, .fini = stop)
{
	struct tclient *c = irc_register("ada");
	char line[600];
	memset(line, 'x', sizeof(line));
	const char *head = "PRIVMSG #lobby :";
	for (size_t i = 0; head[i] != '\0'; i++)
		line[i] = head[i];
	line[sizeof(line) - 2] = '\r';
	line[sizeof(line) - 1] = '\n';
	tc_send_bytes(c, line, sizeof(line));
	irc_expect(c, ":chatd 417 ada :Input line was too long");
	tc_close(c);
}

Test(ircd, err_421_unknown_command, .init = start, .fini = stop)
{
	struct tclient *c = irc_register("ada");
	irc_answer(c, "FROBNICATE x\r\n", ":chatd 421 ada FROBNICATE :Unknown command");
	tc_close(c);
}

Test(ircd, err_431_no_nickname_given, .init = start, .fini = stop)
{
	struct tclient *c = irc_connect();
	irc_answer(c, "NICK\r\n", ":chatd 431 * :No nickname given");
	tc_close(c);
}

Test(ircd, err_432_erroneous_nickname, .init = start, .fini = stop)
{
	struct tclient *c = irc_connect();
	irc_answer(c, "NICK 9lives\r\n", ":chatd 432 * 9lives :Erroneous nickname");
	irc_answer(c, "NICK a.b\r\n", ":chatd 432 * a.b :Erroneous nickname");
	tc_close(c);
}

Test(ircd, err_433_nickname_in_use_by_a_line_user, .init = start, .fini = stop)
{
	struct tclient *nc = tc_join(server_port(srv));
	char want[128];
	tc_send(nc, "/nick ada\n");
	snprintf(want, sizeof(want), "* %llu is now known as ada.", (unsigned long long)nc->name);
	tc_expect(nc, want);
	struct tclient *c = irc_connect();
	irc_answer(c, "NICK ADA\r\n", ":chatd 433 * ADA :Nickname is already in use");
	tc_close(c);
	tc_close(nc);
}

Test(ircd, err_442_not_on_channel, .init = start, .fini = stop)
{
	struct tclient *c = irc_register("ada");
	irc_answer(c, "PART #dev\r\n", ":chatd 442 ada #dev :You're not on that channel");
	tc_close(c);
}

Test(ircd, err_451_not_registered, .init = start, .fini = stop)
{
	struct tclient *c = irc_connect();
	irc_answer(c, "JOIN #lobby\r\n", ":chatd 451 * :You have not registered");
	irc_answer(c, "PRIVMSG #lobby :hi\r\n", ":chatd 451 * :You have not registered");
	tc_close(c);
}

Test(ircd, err_461_need_more_params, .init = start, .fini = stop)
{
	struct tclient *c = irc_connect();
	irc_answer(c, "USER ada\r\n", ":chatd 461 * USER :Not enough parameters");
	tc_close(c);
}

Test(ircd, err_462_already_registered, .init = start, .fini = stop)
{
	struct tclient *c = irc_register("ada");
	irc_answer(c, "USER ada 0 * :again\r\n", ":chatd 462 ada :You may not reregister");
	tc_close(c);
}

/* ---- running a room (roomops through TOPIC, MODE, KICK, INVITE) ----------------------------- */

/* Registers nick and joins #room (reads to the end of its names). */
static struct tclient *irc_in_room(const char *nick, const char *room)
{
	struct tclient *c = irc_register(nick);
	char msg[128], want[128];
	snprintf(msg, sizeof(msg), "JOIN #%s\r\n", room);
	tc_send(c, msg);
	snprintf(want, sizeof(want), ":chatd 366 %s #%s :End of /NAMES list", nick, room);
	irc_expect_eventually(c, want);
	return c;
}

/* Reads until a line starts with want. */
static void irc_expect_prefix(struct tclient *c, const char *want)
{
	char line[1024];
	for (;;) {
		int r = irc_read(c, line, sizeof(line), 5000);
		cr_assert_eq(r, 1, "expected '%s...', got %s", want, r == 0 ? "EOF" : "a timeout");
		if (strncmp(line, want, strlen(want)) == 0)
			return;
	}
}

Test(ircd, topic_is_set_told_as_topic_and_shown_with_332_333, .init = start, .fini = stop)
{
	struct tclient *ada = irc_in_room("ada", "dev");
	tc_send(ada, "TOPIC #dev :release on friday\r\n");
	irc_expect_eventually(ada, ":ada!ada@chatd TOPIC #dev :release on friday");
	irc_answer(ada, "TOPIC #dev\r\n", ":chatd 332 ada #dev :release on friday");
	irc_expect_prefix(ada, ":chatd 333 ada #dev ada ");
	tc_close(ada);
}

Test(ircd, joining_a_room_with_a_topic_sends_332, .init = start, .fini = stop)
{
	struct tclient *ada = irc_in_room("ada", "dev");
	irc_answer(ada, "TOPIC #dev :hello\r\n", ":ada!ada@chatd TOPIC #dev :hello");
	struct tclient *bob = irc_register("bob");
	tc_send(bob, "JOIN #dev\r\n");
	irc_expect_eventually(bob, ":bob!bob@chatd JOIN #dev");
	irc_expect(bob, ":chatd 332 bob #dev :hello");
	irc_expect_prefix(bob, ":chatd 333 bob #dev ada ");
	tc_close(ada);
	tc_close(bob);
}

Test(ircd, err_482_topic_by_a_non_operator_under_t, .init = start, .fini = stop)
{
	struct tclient *ada = irc_in_room("ada", "dev");
	struct tclient *bob = irc_in_room("bob", "dev");
	irc_answer(bob, "TOPIC #dev :mine\r\n", ":chatd 482 bob #dev :You're not channel operator");
	irc_answer(bob, "TOPIC #dev\r\n", ":chatd 331 bob #dev :No topic is set");
	tc_close(ada);
	tc_close(bob);
}

Test(ircd, mode_query_gives_324_with_the_rooms_modes, .init = start, .fini = stop)
{
	struct tclient *ada = irc_in_room("ada", "dev");
	irc_answer(ada, "MODE #dev\r\n", ":chatd 324 ada #dev +tn");
	tc_close(ada);
}

Test(ircd, mode_o_makes_an_operator_told_to_the_channel, .init = start, .fini = stop)
{
	struct tclient *ada = irc_in_room("ada", "dev");
	struct tclient *bob = irc_in_room("bob", "dev");
	tc_send(ada, "MODE #dev +o bob\r\n");
	irc_expect_eventually(ada, ":ada!ada@chatd MODE #dev +o bob");
	irc_expect_eventually(bob, ":ada!ada@chatd MODE #dev +o bob");
	irc_answer(bob, "TOPIC #dev :now I can\r\n", ":bob!bob@chatd TOPIC #dev :now I can");
	tc_send(ada, "MODE #dev -o bob\r\n");
	irc_expect_eventually(bob, ":ada!ada@chatd MODE #dev -o bob");
	irc_answer(bob, "TOPIC #dev :no more\r\n",
		   ":chatd 482 bob #dev :You're not channel operator");
	tc_close(ada);
	tc_close(bob);
}

Test(ircd, names_and_who_show_operators_and_voiced_members, .init = start, .fini = stop)
{
	struct tclient *ada = irc_in_room("ada", "dev");
	struct tclient *bob = irc_in_room("bob", "dev");
	tc_send(ada, "MODE #dev +v bob\r\n");
	irc_expect_eventually(ada, ":ada!ada@chatd MODE #dev +v bob");
	tc_send(ada, "NAMES #dev\r\n");
	char line[1024];
	cr_assert_eq(irc_read(ada, line, sizeof(line), 5000), 1);
	cr_assert(strstr(line, "@ada") != NULL && strstr(line, "+bob") != NULL, "%s", line);
	irc_expect(ada, ":chatd 366 ada #dev :End of /NAMES list");
	tc_send(ada, "WHO #dev\r\n");
	irc_expect_eventually(ada, ":chatd 352 ada #dev bob chatd chatd bob H+ :0 bob");
	tc_close(ada);
	tc_close(bob);
}

Test(ircd, err_482_mode_by_a_non_operator, .init = start, .fini = stop)
{
	struct tclient *ada = irc_in_room("ada", "dev");
	struct tclient *bob = irc_in_room("bob", "dev");
	irc_answer(bob, "MODE #dev +m\r\n", ":chatd 482 bob #dev :You're not channel operator");
	tc_close(ada);
	tc_close(bob);
}

Test(ircd, err_401_and_441_mode_o_of_an_unknown_nick_or_a_non_member, .init = start, .fini = stop)
{
	struct tclient *ada = irc_in_room("ada", "dev");
	struct tclient *bob = irc_register("bob");
	irc_expect_eventually(ada, ":bob!bob@chatd JOIN #lobby");
	irc_answer(ada, "MODE #dev +o nobody\r\n", ":chatd 401 ada nobody :No such nick/channel");
	irc_answer(ada, "MODE #dev +o bob\r\n",
		   ":chatd 441 ada bob #dev :They aren't on that channel");
	tc_close(ada);
	tc_close(bob);
}

Test(ircd, err_472_unknown_mode_char, .init = start, .fini = stop)
{
	struct tclient *ada = irc_in_room("ada", "dev");
	irc_answer(ada, "MODE #dev +z\r\n", ":chatd 472 ada z :is unknown mode char to me");
	tc_close(ada);
}

Test(ircd, mode_flags_imst_are_set_told_and_shown, .init = start, .fini = stop)
{
	struct tclient *ada = irc_in_room("ada", "dev");
	tc_send(ada, "MODE #dev +ims-t\r\n");
	irc_expect(ada, ":ada!ada@chatd MODE #dev +i");
	irc_expect(ada, ":ada!ada@chatd MODE #dev +m");
	irc_expect(ada, ":ada!ada@chatd MODE #dev +s");
	irc_expect(ada, ":ada!ada@chatd MODE #dev -t");
	irc_answer(ada, "MODE #dev\r\n", ":chatd 324 ada #dev +imsn");
	tc_close(ada);
}

Test(ircd, mode_k_and_l_are_set_and_shown_in_324, .init = start, .fini = stop)
{
	struct tclient *ada = irc_in_room("ada", "dev");
	tc_send(ada, "MODE #dev +kl sekrit 5\r\n");
	irc_expect(ada, ":ada!ada@chatd MODE #dev +k *");
	irc_expect(ada, ":ada!ada@chatd MODE #dev +l 5");
	irc_answer(ada, "MODE #dev\r\n", ":chatd 324 ada #dev +tnkl sekrit 5");
	tc_send(ada, "MODE #dev -kl *\r\n");
	irc_expect(ada, ":ada!ada@chatd MODE #dev -k *");
	irc_expect(ada, ":ada!ada@chatd MODE #dev -l");
	irc_answer(ada, "MODE #dev\r\n", ":chatd 324 ada #dev +tn");
	tc_close(ada);
}

Test(ircd, mode_b_bans_and_lists_with_367_368, .init = start, .fini = stop)
{
	struct tclient *ada = irc_in_room("ada", "dev");
	irc_answer(ada, "MODE #dev +b carol\r\n", ":ada!ada@chatd MODE #dev +b carol");
	tc_send(ada, "MODE #dev +b\r\n");
	irc_expect(ada, ":chatd 367 ada #dev carol");
	irc_expect(ada, ":chatd 368 ada #dev :End of channel ban list");
	irc_answer(ada, "MODE #dev -b carol\r\n", ":ada!ada@chatd MODE #dev -b carol");
	irc_answer(ada, "MODE #dev b\r\n", ":chatd 368 ada #dev :End of channel ban list");
	tc_close(ada);
}

Test(ircd, err_474_join_when_banned, .init = start, .fini = stop)
{
	struct tclient *ada = irc_in_room("ada", "dev");
	irc_answer(ada, "MODE #dev +b bob\r\n", ":ada!ada@chatd MODE #dev +b bob");
	struct tclient *bob = irc_register("bob");
	irc_answer(bob, "JOIN #dev\r\n", ":chatd 474 bob #dev :Cannot join channel (+b)");
	tc_close(ada);
	tc_close(bob);
}

Test(ircd, err_475_join_with_a_bad_key_then_the_right_key_lets_in, .init = start, .fini = stop)
{
	struct tclient *ada = irc_in_room("ada", "dev");
	irc_answer(ada, "MODE #dev +k sekrit\r\n", ":ada!ada@chatd MODE #dev +k *");
	struct tclient *bob = irc_register("bob");
	irc_answer(bob, "JOIN #dev\r\n", ":chatd 475 bob #dev :Cannot join channel (+k)");
	irc_answer(bob, "JOIN #dev wrong\r\n", ":chatd 475 bob #dev :Cannot join channel (+k)");
	tc_send(bob, "JOIN #other,#dev ,sekrit\r\n");
	irc_expect_eventually(bob, ":bob!bob@chatd JOIN #other");
	irc_expect_eventually(bob, ":bob!bob@chatd JOIN #dev");
	tc_close(ada);
	tc_close(bob);
}

Test(ircd, err_473_invite_only_then_invite_with_341_lets_in, .init = start, .fini = stop)
{
	struct tclient *ada = irc_in_room("ada", "dev");
	irc_answer(ada, "MODE #dev +i\r\n", ":ada!ada@chatd MODE #dev +i");
	struct tclient *bob = irc_register("bob");
	irc_answer(bob, "JOIN #dev\r\n", ":chatd 473 bob #dev :Cannot join channel (+i)");
	tc_send(ada, "INVITE bob #dev\r\n");
	irc_expect_eventually(ada, ":chatd 341 ada bob #dev");
	irc_expect_eventually(bob, ":ada!ada@chatd INVITE bob #dev");
	tc_send(bob, "JOIN #dev\r\n");
	irc_expect_eventually(bob, ":bob!bob@chatd JOIN #dev");
	tc_close(ada);
	tc_close(bob);
}

Test(ircd, err_443_invite_of_a_member, .init = start, .fini = stop)
{
	struct tclient *ada = irc_in_room("ada", "dev");
	struct tclient *bob = irc_in_room("bob", "dev");
	tc_send(ada, "INVITE bob #dev\r\n");
	irc_expect_eventually(ada, ":chatd 443 ada bob #dev :is already on channel");
	tc_close(ada);
	tc_close(bob);
}

Test(ircd, err_471_join_of_a_full_channel, .init = start, .fini = stop)
{
	struct tclient *ada = irc_in_room("ada", "dev");
	irc_answer(ada, "MODE #dev +l 1\r\n", ":ada!ada@chatd MODE #dev +l 1");
	struct tclient *bob = irc_register("bob");
	irc_answer(bob, "JOIN #dev\r\n", ":chatd 471 bob #dev :Cannot join channel (+l)");
	tc_close(ada);
	tc_close(bob);
}

Test(ircd, kick_puts_a_member_out_told_as_kick, .init = start, .fini = stop)
{
	struct tclient *ada = irc_in_room("ada", "dev");
	struct tclient *bob = irc_in_room("bob", "dev");
	tc_send(ada, "KICK #dev bob :too loud\r\n");
	irc_expect_eventually(ada, ":ada!ada@chatd KICK #dev bob :too loud");
	irc_expect_eventually(bob, ":ada!ada@chatd KICK #dev bob :too loud");
	tc_send(ada, "NAMES #dev\r\n");
	irc_expect_eventually(ada, ":chatd 353 ada = #dev :@ada");
	tc_close(ada);
	tc_close(bob);
}

Test(ircd, err_482_441_442_kick_refusals, .init = start, .fini = stop)
{
	struct tclient *ada = irc_in_room("ada", "dev");
	struct tclient *bob = irc_in_room("bob", "dev");
	irc_answer(bob, "KICK #dev ada\r\n", ":chatd 482 bob #dev :You're not channel operator");
	tc_send(ada, "KICK #dev carol\r\n");
	irc_expect_eventually(ada, ":chatd 441 ada carol #dev :They aren't on that channel");
	irc_answer(ada, "KICK #ops bob\r\n", ":chatd 442 ada #ops :You're not on that channel");
	tc_close(ada);
	tc_close(bob);
}

Test(ircd, err_478_ban_list_full_and_525_bad_key, .fini = stop)
{
	struct config cfg = ts_config(2);
	cfg.irc_port = 0;
	cfg.room_lists = 1;
	srv = ts_start(&cfg);
	struct tclient *ada = irc_in_room("ada", "dev");
	irc_answer(ada, "MODE #dev +b carol\r\n", ":ada!ada@chatd MODE #dev +b carol");
	irc_answer(ada, "MODE #dev +b dave\r\n", ":chatd 478 ada #dev b :Channel list is full");
	irc_answer(ada, "MODE #dev +k bad*key\r\n", ":chatd 525 ada #dev :Key is not well-formed");
	tc_close(ada);
}

Test(ircd, a_line_users_room_rules_hold_for_an_irc_user_and_back, .init = start, .fini = stop)
{
	struct tclient *nc = tc_join(server_port(srv));
	char me[32], line[256];
	snprintf(me, sizeof(me), "%llu", (unsigned long long)nc->name);
	tc_send(nc, "/join ops\n/key sekrit\n");
	tc_expect_eventually(nc, "* You are now in ops. 1 user here.", 5000);
	snprintf(line, sizeof(line), "* %s sets mode +k in ops.", me);
	tc_expect_eventually(nc, line, 5000);
	struct tclient *ada = irc_register("ada");
	irc_answer(ada, "JOIN #ops\r\n", ":chatd 475 ada #ops :Cannot join channel (+k)");
	tc_send(ada, "JOIN #ops sekrit\r\n");
	irc_expect_eventually(ada, ":chatd 366 ada #ops :End of /NAMES list");
	tc_send(nc, "/op ada\n");
	snprintf(line, sizeof(line), ":%s!%s@chatd MODE #ops +o ada", me, me);
	irc_expect_eventually(ada, line);
	snprintf(line, sizeof(line), "MODE #ops -o %s\r\n", me);
	tc_send(ada, line);
	snprintf(line, sizeof(line), "* ada sets mode -o %s in ops.", me);
	tc_expect_eventually(nc, line, 5000);
	tc_send(nc, "/topic mine\n");
	tc_expect_eventually(nc, "* error: you are not an operator of ops.", 5000);
	tc_close(ada);
	tc_close(nc);
}

/* ---- IRCv3 tags: server-time, message-tags ------------------------------------------------ */

/* Registers nick after CAP REQ caps (ACKed), and reads up to the end of the lobby's names. */
static struct tclient *irc_register_caps(const char *nick, const char *caps)
{
	struct tclient *c = irc_connect();
	char msg[256], want[256];
	snprintf(msg, sizeof(msg), "CAP LS 302\r\nCAP REQ :%s\r\n", caps);
	tc_send(c, msg);
	irc_expect_eventually(c, ":chatd CAP * LS :echo-message message-tags multi-prefix "
				 "server-time");
	snprintf(want, sizeof(want), ":chatd CAP * ACK :%s", caps);
	irc_expect(c, want);
	snprintf(msg, sizeof(msg), "NICK %s\r\nUSER %s 0 * :Real %s\r\nCAP END\r\n", nick, nick,
		 nick);
	tc_send(c, msg);
	snprintf(want, sizeof(want), ":chatd 366 %s #lobby :End of /NAMES list", nick);
	irc_expect_eventually(c, want);
	return c;
}

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The time of a line's "@time=YYYY-MM-DDTHH:MM:SS.mmmZ" tag (ms since the epoch); the rest of
 * the line after the tags section in *rest. Fails the test when there is no time tag. */
static int64_t time_tag(const char *line, const char **rest)
{
	struct tm tm = { 0 };
	int ms = -1, used = 0;
	int k = sscanf(line, "@time=%4d-%2d-%2dT%2d:%2d:%2d.%3dZ%n", &tm.tm_year, &tm.tm_mon,
		       &tm.tm_mday, &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &ms, &used);
	cr_assert_eq(k, 7, "no time tag in '%s'", line);
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	const char *sp = strchr(line + used, ' ');
	cr_assert_not_null(sp, "no space after the tags in '%s'", line);
	*rest = sp + 1;
	return (int64_t)timegm(&tm) * 1000 + ms;
}

static void read_line_of(struct tclient *c, char *line, size_t cap)
{
	cr_assert_eq(irc_read(c, line, cap, 5000), 1, "no line");
}

/* Reads until a line ends with tail (others skipped), into line. */
static void irc_read_until_ending(struct tclient *c, const char *tail, char *line, size_t cap)
{
	size_t k = strlen(tail);
	for (;;) {
		int r = irc_read(c, line, cap, 5000);
		cr_assert_eq(r, 1, "expected a line ending '%s'", tail);
		size_t n = strlen(line);
		if (n >= k && strcmp(line + n - k, tail) == 0)
			return;
	}
}

Test(ircd, server_time_puts_a_channel_lines_time_in_a_time_tag, .init = start, .fini = stop)
{
	struct tclient *nc = tc_join(server_port(srv));
	struct tclient *c = irc_register_caps("ada", "server-time");
	tc_send(nc, "hi ada\n");
	char line[1024], want[128];
	const char *rest;
	read_line_of(c, line, sizeof(line));
	int64_t at = time_tag(line, &rest), now = now_ms();
	cr_assert(at > now - 10000 && at <= now + 1000, "time %lld, now %lld", (long long)at,
		  (long long)now);
	snprintf(want, sizeof(want), ":%llu!%llu@chatd PRIVMSG #lobby :hi ada",
		 (unsigned long long)nc->name, (unsigned long long)nc->name);
	cr_assert_str_eq(rest, want);
	tc_send(c, "JOIN #dev\r\n"); /* what it does itself is told with the time too */
	irc_read_until_ending(c, " :ada!ada@chatd JOIN #dev", line, sizeof(line));
	time_tag(line, &rest);
	cr_assert_str_eq(rest, ":ada!ada@chatd JOIN #dev");
	tc_close(c);
	tc_close(nc);
}

Test(ircd, message_tags_put_a_chat_lines_msgid, .init = start, .fini = stop)
{
	struct tclient *nc = tc_join(server_port(srv));
	struct tclient *c = irc_register_caps("ada", "message-tags");
	tc_send(nc, "one\n");
	char want[128];
	snprintf(want, sizeof(want), "@msgid=lobby/1 :%llu!%llu@chatd PRIVMSG #lobby :one",
		 (unsigned long long)nc->name, (unsigned long long)nc->name);
	irc_expect(c, want);
	tc_send(nc, "/me two\n");
	snprintf(want, sizeof(want),
		 "@msgid=lobby/2 :%llu!%llu@chatd PRIVMSG #lobby :\001ACTION two\001",
		 (unsigned long long)nc->name, (unsigned long long)nc->name);
	irc_expect(c, want);
	tc_close(c);
	tc_close(nc);
}

/* One room line, three IRC members on one worker with three different sets of tags: each
 * gets its form (the worker renders one copy per form, route.c). */
Test(ircd, each_client_gets_the_tags_it_asked_for_and_none_without, .fini = stop)
{
	struct config cfg = ts_config(1);
	cfg.irc_port = 0;
	srv = ts_start(&cfg);
	struct tclient *plain = irc_register("ada");
	struct tclient *timed = irc_register_caps("bob", "server-time");
	struct tclient *all = irc_register_caps("cy", "server-time message-tags");
	struct tclient *nc = tc_join(server_port(srv));
	tc_send(nc, "hey\n");
	char line[1024], body[128], tail[160];
	const char *rest;
	snprintf(body, sizeof(body), ":%llu!%llu@chatd PRIVMSG #lobby :hey",
		 (unsigned long long)nc->name, (unsigned long long)nc->name);
	snprintf(tail, sizeof(tail), " %s", body);
	irc_read_until_ending(plain, "PRIVMSG #lobby :hey", line, sizeof(line));
	cr_assert_str_eq(line, body);
	irc_read_until_ending(timed, tail, line, sizeof(line));
	time_tag(line, &rest);
	cr_assert_str_eq(rest, body);
	cr_assert_null(strstr(line, "msgid="));
	irc_read_until_ending(all, tail, line, sizeof(line));
	time_tag(line, &rest);
	cr_assert(strstr(line, ";msgid=lobby/1 ") != NULL, "%s", line);
	tc_close(nc);
	tc_close(all);
	tc_close(timed);
	tc_close(plain);
}

Test(ircd, history_on_join_is_replayed_as_privmsg_at_its_time_with_server_time, .init = start,
     .fini = stop)
{
	struct tclient *nc = tc_join(server_port(srv));
	char said[128], acted[128], line[1024];
	tc_send(nc, "/join dev\n");
	tc_expect_eventually(nc, "* You are now in dev. 1 user here.", 5000);
	int64_t before = now_ms();
	tc_send(nc, "said before\n/me waved before\n");
	snprintf(said, sizeof(said), "%llu:said before", (unsigned long long)nc->name);
	tc_expect_eventually(nc, said, 5000);
	usleep(1200 * 1000); /* the lines' time is then well before the JOIN's */
	struct tclient *c = irc_register_caps("ada", "server-time message-tags");
	tc_send(c, "JOIN #dev\r\n");
	const char *rest;
	irc_read_until_ending(c, " :ada!ada@chatd JOIN #dev", line, sizeof(line));
	int64_t joined = time_tag(line, &rest);
	irc_read_until_ending(c, "NOTICE ada :Last 2 lines in dev:", line, sizeof(line));
	snprintf(said, sizeof(said), ":%llu!%llu@chatd PRIVMSG #dev :said before",
		 (unsigned long long)nc->name, (unsigned long long)nc->name);
	snprintf(acted, sizeof(acted), ":%llu!%llu@chatd PRIVMSG #dev :\001ACTION waved before\001",
		 (unsigned long long)nc->name, (unsigned long long)nc->name);
	const char *want[] = { said, acted };
	for (int i = 0; i < 2; i++) {
		read_line_of(c, line, sizeof(line));
		int64_t at = time_tag(line, &rest);
		cr_assert(at >= before - 1000 && at <= joined - 1000, "%s: %lld, joined %lld", line,
			  (long long)at, (long long)joined);
		cr_assert_str_eq(rest, want[i]);
		char id[32];
		snprintf(id, sizeof(id), ";msgid=dev/%d ", i + 1);
		cr_assert(strstr(line, id) != NULL, "%s", line);
	}
	irc_read_until_ending(c, "NOTICE ada :(end of history)", line, sizeof(line));
	tc_close(c);
	tc_close(nc);
}

Test(ircd, history_without_server_time_stays_notices, .init = start, .fini = stop)
{
	struct tclient *nc = tc_join(server_port(srv));
	char said[128], line[1024];
	tc_send(nc, "/join dev\nsaid before\n");
	snprintf(said, sizeof(said), "%llu:said before", (unsigned long long)nc->name);
	tc_expect_eventually(nc, said, 5000);
	struct tclient *c = irc_register("ada");
	tc_send(c, "JOIN #dev\r\n");
	irc_read_until_ending(c, "NOTICE ada :Last line in dev:", line, sizeof(line));
	read_line_of(c, line, sizeof(line));
	snprintf(said, sizeof(said), " %llu:said before", (unsigned long long)nc->name);
	cr_assert(strncmp(line, ":chatd NOTICE ada :[", 20) == 0, "%s", line);
	cr_assert(strstr(line, said) != NULL, "%s", line);
	tc_close(c);
	tc_close(nc);
}

Test(ircd, tagmsg_reaches_message_tags_clients_only, .init = start, .fini = stop)
{
	struct tclient *nc = tc_join(server_port(srv));
	struct tclient *plain = irc_register("cy");
	struct tclient *bob = irc_register_caps("bob", "message-tags");
	struct tclient *c = irc_register_caps("ada", "message-tags");
	tc_send(c, "@+typing=active;+example.com/x=a\\sb;notclient=1 TAGMSG #lobby\r\n"
		   "@+typing=done TAGMSG bob\r\nPING :mark\r\n");
	irc_expect(c, ":chatd PONG chatd :mark"); /* not its own back without echo-message */
	irc_expect_eventually(bob, "@+typing=active;+example.com/x=a\\sb :ada!ada@chatd TAGMSG "
				   "#lobby");
	irc_expect(bob, "@+typing=done :ada!ada@chatd TAGMSG bob");
	char line[1024];
	tc_send(plain, "PING :mark\r\n"); /* a client without message-tags: nothing */
	do {
		cr_assert_eq(irc_read(plain, line, sizeof(line), 5000), 1);
		cr_assert_null(strstr(line, "TAGMSG"), "%s", line);
	} while (strcmp(line, ":chatd PONG chatd :mark") != 0);
	tc_expect_eventually(nc, "* ada has entered.", 5000); /* a line user: nothing */
	tc_expect_silence(nc, 300);
	irc_answer(c, "TAGMSG #nope\r\n", ":chatd 404 ada #nope :Cannot send to channel");
	irc_answer(c, "TAGMSG nobody\r\n", ":chatd 401 ada nobody :No such nick/channel");
	tc_close(c);
	tc_close(bob);
	tc_close(plain);
	tc_close(nc);
}

/* "@+a=xxx... REST": '@' and `data` bytes of tag data, a space, rest. */
static size_t line_with_tags(char *out, size_t cap, size_t data, const char *rest)
{
	size_t n = (size_t)snprintf(out, cap, "@+a=");
	while (n < 1 + data && n + 1 < cap)
		out[n++] = 'x';
	n += (size_t)snprintf(out + n, cap - n, " %s", rest);
	return n;
}

Test(ircd, err_417_client_tags_past_4094_bytes, .init = start, .fini = stop)
{
	struct tclient *c = irc_register("ada");
	static char line[4200];
	tc_send_bytes(c, line, line_with_tags(line, sizeof(line), 4094, "PING :ok\r\n"));
	irc_expect(c, ":chatd PONG chatd :ok"); /* 4094 bytes of tag data are taken */
	tc_send_bytes(c, line, line_with_tags(line, sizeof(line), 4095, "PING :no\r\n"));
	irc_expect(c, ":chatd 417 ada :Input line was too long"); /* one more is refused */
	tc_close(c);
}

/* ---- several channels at once -------------------------------------------------------------- */

/* A line user in room (after its entry line), and the IRC mask of its name. */
static struct tclient *line_in(const char *room, char mask[64])
{
	struct tclient *nc = tc_join(server_port(srv));
	char cmd[64], want[128];
	snprintf(mask, 64, "%llu!%llu@chatd", (unsigned long long)nc->name,
		 (unsigned long long)nc->name);
	if (strcmp(room, "lobby") == 0)
		return nc;
	snprintf(cmd, sizeof(cmd), "/join %s\n", room);
	tc_send(nc, cmd);
	snprintf(want, sizeof(want), "* You are now in %s.", room);
	for (;;) { /* "* You are now in dev. 1 user here." */
		char line[256];
		cr_assert_eq(tc_read_line(nc, line, sizeof(line), 5000), 1);
		if (strncmp(line, want, strlen(want)) == 0)
			return nc;
	}
}

/* Joins #room (in addition) and reads to the end of its names. */
static void irc_join(struct tclient *c, const char *nick, const char *room)
{
	char msg[128], want[128];
	snprintf(msg, sizeof(msg), "JOIN #%s\r\n", room);
	tc_send(c, msg);
	snprintf(want, sizeof(want), ":chatd 366 %s #%s :End of /NAMES list", nick, room);
	irc_expect_eventually(c, want);
}

Test(ircd, a_user_in_two_channels_chats_in_each_with_their_line_users, .init = start, .fini = stop)
{
	char m1[64], m2[64], want[256];
	struct tclient *lobby = line_in("lobby", m1);
	struct tclient *dev = line_in("dev", m2);
	struct tclient *ada = irc_register("ada");
	irc_join(ada, "ada", "dev");
	tc_expect_eventually(lobby, "* ada has entered.", 5000);
	tc_expect(dev, "* ada has entered.");
	tc_send(ada, "PRIVMSG #dev :two\r\nPRIVMSG #lobby :one\r\nPRIVMSG #dev :three\r\n");
	tc_expect(lobby, "ada:one");
	tc_expect(dev, "ada:two");
	tc_expect(dev, "ada:three");
	tc_send(dev, "hello dev\n");
	snprintf(want, sizeof(want), ":%s PRIVMSG #dev :hello dev", m2);
	irc_expect(ada, want);
	tc_send(lobby, "hello lobby\n");
	snprintf(want, sizeof(want), ":%s PRIVMSG #lobby :hello lobby", m1);
	irc_expect(ada, want);
	tc_close(ada);
	tc_close(lobby);
	tc_close(dev);
}

Test(ircd, part_of_one_channel_keeps_the_other, .init = start, .fini = stop)
{
	char m1[64], m2[64], want[256];
	struct tclient *lobby = line_in("lobby", m1);
	struct tclient *dev = line_in("dev", m2);
	struct tclient *ada = irc_register("ada");
	irc_join(ada, "ada", "dev");
	tc_expect(dev, "* ada has entered.");
	irc_answer(ada, "PART #dev\r\n", ":ada!ada@chatd PART #dev");
	tc_expect(dev, "* ada has left.");
	tc_send(lobby, "still in lobby\n");
	snprintf(want, sizeof(want), ":%s PRIVMSG #lobby :still in lobby", m1);
	irc_expect(ada, want);
	irc_answer(ada, "PRIVMSG #dev :x\r\n", ":chatd 404 ada #dev :Cannot send to channel");
	tc_close(ada);
	tc_close(lobby);
	tc_close(dev);
}

Test(ircd, part_of_the_lobby_leaves_the_user_in_no_channel, .init = start, .fini = stop)
{
	char m1[64];
	struct tclient *lobby = line_in("lobby", m1);
	struct tclient *ada = irc_register("ada");
	tc_expect(lobby, "* ada has entered.");
	irc_answer(ada, "PART #lobby\r\n", ":ada!ada@chatd PART #lobby");
	tc_expect(lobby, "* ada has left.");
	char names[128];
	snprintf(names, sizeof(names), ":chatd 353 ada = #lobby :%llu",
		 (unsigned long long)lobby->name);
	irc_answer(ada, "NAMES #lobby\r\n", names);
	irc_expect(ada, ":chatd 366 ada #lobby :End of /NAMES list");
	tc_send(ada, "NICK lovelace\r\n");
	irc_expect(ada, ":ada!ada@chatd NICK :lovelace");
	irc_answer(ada, "JOIN #dev\r\n", ":lovelace!lovelace@chatd JOIN #dev");
	tc_close(ada);
	tc_close(lobby);
}

Test(ircd, quit_tells_every_channel, .init = start, .fini = stop)
{
	char m1[64], m2[64];
	struct tclient *lobby = line_in("lobby", m1);
	struct tclient *dev = line_in("dev", m2);
	struct tclient *ada = irc_register("ada");
	irc_join(ada, "ada", "dev");
	tc_expect_eventually(lobby, "* ada has entered.", 5000);
	tc_expect(dev, "* ada has entered.");
	tc_send(ada, "QUIT :bye\r\n");
	tc_expect(lobby, "* ada has left (\"bye\").");
	tc_expect(dev, "* ada has left (\"bye\").");
	tc_close(ada);
	tc_close(lobby);
	tc_close(dev);
}

Test(ircd, nick_is_seen_once_by_an_irc_user_sharing_two_channels, .init = start, .fini = stop)
{
	char m1[64], m2[64];
	struct tclient *lobby = line_in("lobby", m1);
	struct tclient *dev = line_in("dev", m2);
	struct tclient *ada = irc_register("ada");
	irc_join(ada, "ada", "dev");
	struct tclient *bob = irc_register("bob");
	irc_join(bob, "bob", "dev");
	tc_send(ada, "NICK lovelace\r\n");
	irc_expect_eventually(bob, ":ada!ada@chatd NICK :lovelace");
	tc_send(ada, "PRIVMSG #dev :after\r\n");
	irc_expect(bob, ":lovelace!lovelace@chatd PRIVMSG #dev :after");
	irc_expect_eventually(ada, ":ada!ada@chatd NICK :lovelace");
	tc_send(bob, "PRIVMSG #lobby :seen\r\n");
	irc_expect(ada, ":bob!bob@chatd PRIVMSG #lobby :seen");
	tc_expect_eventually(lobby, "* ada is now known as lovelace.", 5000);
	tc_expect_eventually(dev, "* ada is now known as lovelace.", 5000);
	tc_close(ada);
	tc_close(bob);
	tc_close(lobby);
	tc_close(dev);
}

Test(ircd, kick_from_one_channel_leaves_the_other, .init = start, .fini = stop)
{
	char m1[64], want[256];
	struct tclient *lobby = line_in("lobby", m1);
	struct tclient *ada = irc_in_room("ada", "dev");
	struct tclient *bob = irc_in_room("bob", "dev");
	tc_send(ada, "KICK #dev bob :out\r\n");
	irc_expect_eventually(bob, ":ada!ada@chatd KICK #dev bob :out");
	tc_send(lobby, "after the kick\n");
	snprintf(want, sizeof(want), ":%s PRIVMSG #lobby :after the kick", m1);
	irc_expect(bob, want);
	irc_answer(bob, "PRIVMSG #dev :x\r\n", ":chatd 404 bob #dev :Cannot send to channel");
	tc_close(ada);
	tc_close(bob);
	tc_close(lobby);
}

Test(ircd, topic_and_mode_work_on_every_joined_channel, .init = start, .fini = stop)
{
	struct tclient *ada = irc_in_room("ada", "dev");
	irc_join(ada, "ada", "ops");
	irc_answer(ada, "TOPIC #dev :first\r\n", ":ada!ada@chatd TOPIC #dev :first");
	irc_answer(ada, "MODE #dev\r\n", ":chatd 324 ada #dev +tn");
	irc_answer(ada, "MODE #dev +m\r\n", ":ada!ada@chatd MODE #dev +m");
	irc_answer(ada, "MODE #ops\r\n", ":chatd 324 ada #ops +tn");
	irc_answer(ada, "TOPIC #lobby\r\n", ":chatd 331 ada #lobby :No topic is set");
	irc_answer(ada, "TOPIC #other\r\n", ":chatd 403 ada #other :No such channel");
	irc_answer(ada, "MODE #other\r\n", ":chatd 403 ada #other :No such channel");
	irc_answer(ada, "TOPIC #other :x\r\n", ":chatd 442 ada #other :You're not on that channel");
	tc_close(ada);
}

Test(ircd, topic_and_mode_of_a_channel_one_is_not_in_are_told_unless_secret, .init = start,
     .fini = stop)
{
	struct tclient *ada = irc_in_room("ada", "dev");
	struct tclient *bob = irc_in_room("bob", "ops");
	irc_ask(ada, "TOPIC #dev :about dev\r\n", ":ada!ada@chatd TOPIC #dev :about dev");
	irc_ask(ada, "MODE #dev +k sesame\r\n", ":ada!ada@chatd MODE #dev +k *");
	irc_ask(bob, "TOPIC #dev\r\n", ":chatd 332 bob #dev :about dev");
	char line[1024];
	cr_assert_eq(irc_read(bob, line, sizeof(line), 5000), 1);
	cr_assert(strncmp(line, ":chatd 333 bob #dev ada ", 24) == 0, "got %s", line);
	irc_ask(bob, "MODE #dev\r\n", ":chatd 324 bob #dev +tnk *");
	irc_ask(bob, "MODE #dev +m\r\n", ":chatd 442 bob #dev :You're not on that channel");
	irc_ask(ada, "MODE #dev +s\r\n", ":ada!ada@chatd MODE #dev +s");
	irc_ask(bob, "TOPIC #dev\r\n", ":chatd 442 bob #dev :You're not on that channel");
	irc_ask(bob, "MODE #dev\r\n", ":chatd 442 bob #dev :You're not on that channel");
	tc_close(ada);
	tc_close(bob);
}

Test(ircd, user_mode_is_told_and_a_change_refused, .init = start, .fini = stop)
{
	struct tclient *ada = irc_register("ada");
	irc_answer(ada, "MODE ada\r\n", ":chatd 221 ada +");
	irc_answer(ada, "MODE ada +i\r\n", ":chatd 501 ada :Unknown MODE flag");
	irc_answer(ada, "MODE bob +i\r\n", ":chatd 502 ada :Cant change mode for other users");
	irc_answer(ada, "PING :after\r\n", ":chatd PONG chatd :after");
	tc_close(ada);
}

Test(ircd, err_405_past_irc_max_channels, .fini = stop)
{
	struct config cfg = ts_config(2);
	cfg.irc_port = 0;
	cfg.irc_max_channels = 2;
	srv = ts_start(&cfg);
	struct tclient *ada = irc_register("ada");
	irc_join(ada, "ada", "dev");
	irc_answer(ada, "JOIN #ops\r\n", ":chatd 405 ada #ops :You have joined too many channels");
	irc_answer(ada, "PART #dev\r\n", ":ada!ada@chatd PART #dev");
	irc_answer(ada, "JOIN #ops\r\n", ":ada!ada@chatd JOIN #ops");
	tc_close(ada);
}

Test(ircd, whois_lists_every_channel, .init = start, .fini = stop)
{
	struct tclient *ada = irc_register("ada");
	irc_join(ada, "ada", "dev");
	struct tclient *bob = irc_register("bob");
	irc_answer(bob, "WHOIS ada\r\n", ":chatd 311 bob ada ada chatd * :ada");
	irc_expect(bob, ":chatd 319 bob ada :#dev #lobby");
	tc_close(ada);
	tc_close(bob);
}

Test(ircd, err_404_a_line_in_a_moderated_channel, .init = start, .fini = stop)
{
	struct tclient *ada = irc_in_room("ada", "dev");
	struct tclient *bob = irc_in_room("bob", "dev");
	tc_send(ada, "MODE #dev +m\r\n");
	irc_expect_eventually(bob, ":ada!ada@chatd MODE #dev +m");
	irc_answer(bob, "PRIVMSG #dev :hi\r\n", ":chatd 404 bob #dev :Cannot send to channel (+m)");
	irc_answer(bob, "NOTICE #dev :hi\r\nPING :x\r\n", ":chatd PONG chatd :x");
	tc_close(ada);
	tc_close(bob);
}

Test(ircd, names_alone_lists_every_joined_channel, .init = start, .fini = stop)
{
	struct tclient *ada = irc_register("ada");
	irc_join(ada, "ada", "dev");
	irc_answer(ada, "NAMES\r\n", ":chatd 353 ada = #dev :@ada");
	irc_expect(ada, ":chatd 366 ada #dev :End of /NAMES list");
	irc_expect(ada, ":chatd 353 ada = #lobby :ada");
	irc_expect(ada, ":chatd 366 ada #lobby :End of /NAMES list");
	tc_close(ada);
}
