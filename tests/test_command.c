/*
 * test_command.c - the command parser and the name/room rules, every path.
 */
#include "command.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

static struct command parse(const char *s)
{
	struct command c;
	command_parse(s, strlen(s), &c);
	return c;
}

static void expect_arg(const struct command *c, const char *want)
{
	cr_assert_eq(c->arg_len, strlen(want));
	cr_assert_eq(memcmp(c->arg, want, c->arg_len), 0);
}

static void expect_text(const struct command *c, const char *want)
{
	cr_assert_eq(c->text_len, strlen(want), "text '%.*s'", (int)c->text_len, c->text);
	cr_assert_eq(memcmp(c->text, want, c->text_len), 0);
}

Test(command, plain_lines_are_chat)
{
	struct command c = parse("hello /nick x");
	cr_assert_eq(c.kind, CMD_NONE);
	expect_text(&c, "hello /nick x");
	c = parse("");
	cr_assert_eq(c.kind, CMD_NONE);
}

Test(command, double_slash_escapes_a_chat_line)
{
	struct command c = parse("//shrug");
	cr_assert_eq(c.kind, CMD_NONE);
	expect_text(&c, "/shrug");
}

Test(command, nick_and_join_take_one_valid_word)
{
	struct command c = parse("/nick alice");
	cr_assert_eq(c.kind, CMD_NICK);
	expect_arg(&c, "alice");
	c = parse("/join  dev-2 ");
	cr_assert_eq(c.kind, CMD_JOIN);
	expect_arg(&c, "dev-2");
	c = parse("/join 42");
	cr_assert_eq(c.kind, CMD_JOIN, "rooms may start with a digit");
}

Test(command, nick_and_join_errors)
{
	const char *bad[] = { "/nick",      "/nick a b",
			      "/nick 7up",  "/nick caf\xc3\xa9",
			      "/nick a.b",  "/nick abcdefghijabcdefghijabcdefghijabX",
			      "/join",      "/join a b c",
			      "/join #dev", "/join abcdefghijabcdefghijabcdefghijabX" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct command c = parse(bad[i]);
		cr_assert_eq(c.kind, CMD_INVALID, "'%s' accepted", bad[i]);
		cr_assert_not_null(c.error);
		cr_assert_eq(c.error[strlen(c.error) - 1], '.', "a sentence: '%s'", c.error);
	}
}

Test(command, msg_takes_a_name_and_text)
{
	struct command c = parse("/msg bob  hello there ");
	cr_assert_eq(c.kind, CMD_MSG);
	expect_arg(&c, "bob");
	expect_text(&c, "hello there ");
	cr_assert_eq(parse("/msg bob").kind, CMD_INVALID);
	cr_assert_eq(parse("/msg").kind, CMD_INVALID);
	cr_assert_eq(parse("/msg bob   ").kind, CMD_INVALID);
}

Test(command, me_quit_and_the_argumentless_ones)
{
	struct command c = parse("/me waves");
	cr_assert_eq(c.kind, CMD_ME);
	expect_arg(&c, "waves");
	cr_assert_eq(parse("/me").kind, CMD_INVALID);
	c = parse("/quit");
	cr_assert_eq(c.kind, CMD_QUIT);
	cr_assert_eq(c.arg_len, 0);
	c = parse("/quit gone fishing");
	expect_arg(&c, "gone fishing");
	cr_assert_eq(parse("/who").kind, CMD_WHO);
	cr_assert_eq(parse("/rooms").kind, CMD_ROOMS);
	cr_assert_eq(parse("/help").kind, CMD_HELP);
	cr_assert_eq(parse("/who me").kind, CMD_INVALID);
	cr_assert_eq(parse("/rooms x").kind, CMD_INVALID);
	cr_assert_eq(parse("/help x").kind, CMD_INVALID);
}

Test(command, unknown_commands_are_errors_not_chat)
{
	struct command c = parse("/frobnicate now");
	cr_assert_eq(c.kind, CMD_INVALID);
	cr_assert(strstr(c.error, "/help") != NULL);
	cr_assert_eq(parse("/").kind, CMD_INVALID);
	cr_assert_eq(parse("/NICK x").kind, CMD_INVALID, "commands are lower case");
}

Test(command, quit_reason_is_cut_on_a_character_boundary)
{
	char line[300] = "/quit ";
	for (int i = 0; i < 100; i++)
		strcat(line, "\xc3\xa9"); /* 200 bytes of 2-byte characters */
	strcat(line, "x\xc3\xa9");        /* pushes a character across the 200-byte cut */
	struct command c = parse(line);
	cr_assert_eq(c.kind, CMD_QUIT);
	cr_assert_leq(c.arg_len, QUIT_REASON_MAX);
	cr_assert_neq((unsigned char)c.arg[c.arg_len] & 0xC0, 0x80, "cut inside a character");
}

Test(names, rules)
{
	cr_assert(name_valid("a", 1));
	cr_assert(name_valid("Alice_B-2", 9));
	cr_assert_not(name_valid("", 0));
	cr_assert_not(name_valid("2pac", 4), "must start with a letter");
	cr_assert_not(name_valid("_x", 2));
	cr_assert_not(name_valid("a b", 3));
	cr_assert(name_valid("abcdefghijabcdefghijabcdefghijab", 32));
	cr_assert_not(name_valid("abcdefghijabcdefghijabcdefghijabc", 33));
	cr_assert(room_name_valid("2024", 4));
	cr_assert(room_name_valid("lobby", 5));
	cr_assert_not(room_name_valid("", 0));
	cr_assert_not(room_name_valid("a:b", 3));
}

Test(names, fold_maps_case_and_look_alikes_to_one_letter)
{
	static const char *const ell[] = { "l", "L", "I", "i", "1", "|" };
	for (size_t i = 0; i < sizeof(ell) / sizeof(ell[0]); i++)
		cr_assert_eq(name_fold_char(ell[i][0]), 'l', "%s", ell[i]);
	cr_assert_eq(name_fold_char('O'), 'o');
	cr_assert_eq(name_fold_char('0'), 'o');
	cr_assert_eq(name_fold_char('A'), 'a');
	cr_assert_eq(name_fold_char('7'), '7');
	cr_assert_eq(name_fold_char('_'), '_');
	char out[8];
	name_fold("AlIcE_0", 7, out);
	cr_assert_eq(memcmp(out, "allce_o", 7), 0);
}

Test(names, same_name_folds_alike)
{
	static const char *const alike[] = { "alice", "aIice", "ALICE", "a1ice", "AL1CE", "a|ice" };
	for (size_t i = 0; i < sizeof(alike) / sizeof(alike[0]); i++)
		cr_assert(name_same("alice", 5, alike[i], strlen(alike[i])), "%s", alike[i]);
	cr_assert(name_same("b0b", 3, "BOB", 3));
	cr_assert_not(name_same("alice", 5, "alicf", 5));
	cr_assert_not(name_same("alice", 5, "alice_", 6));
	cr_assert_not(name_same("bob", 3, "bab", 3));
}

Test(names, a_name_that_folds_like_a_number_is_reserved)
{
	cr_assert(name_looks_generated("lO", 2), "folds like 10");
	cr_assert(name_looks_generated("lol", 3), "folds like 101");
	cr_assert(name_looks_generated("I", 1));
	cr_assert(name_looks_generated("Io42", 4));
	cr_assert(name_looks_generated("10", 2), "a generated name itself");
	cr_assert_not(name_looks_generated("alice", 5));
	cr_assert_not(name_looks_generated("lo_l", 4));
	cr_assert_not(name_looks_generated("", 0));
	struct command c = parse("/nick lO");
	cr_assert_eq(c.kind, CMD_INVALID);
	cr_assert(strstr(c.error, "looks like a number") != NULL, "%s", c.error);
	c = parse("/nick lola");
	cr_assert_eq(c.kind, CMD_NICK);
}

Test(command, history_takes_an_optional_count_from_1_to_10000)
{
	struct command c = parse("/history");
	cr_assert_eq(c.kind, CMD_HISTORY);
	cr_assert_eq(c.count, 0);
	c = parse("/history 25");
	cr_assert_eq(c.kind, CMD_HISTORY);
	cr_assert_eq(c.count, 25);
	c = parse("/history 10000");
	cr_assert_eq(c.count, 10000);
	const char *bad[] = { "/history 0",  "/history 10001", "/history -1",
			      "/history 5x", "/history 1 2",   "/history 99999999999999999999" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		c = parse(bad[i]);
		cr_assert_eq(c.kind, CMD_INVALID, "%s", bad[i]);
		cr_assert_str_eq(c.error, "usage: /history [N], N from 1 to 10000.");
	}
}

Test(command, auth_takes_one_token)
{
	struct command c = parse("/auth abc.def.ghi");
	cr_assert_eq(c.kind, CMD_AUTH);
	expect_arg(&c, "abc.def.ghi");
	cr_assert_eq(parse("/auth").kind, CMD_INVALID);
	cr_assert_eq(parse("/auth a b").kind, CMD_INVALID);
	cr_assert_str_eq(parse("/auth").error, "usage: /auth TOKEN.");
}
