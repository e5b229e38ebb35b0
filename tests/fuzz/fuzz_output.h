/*
 * fuzz_output.h - what the fuzz targets of user text assert about the server's own bytes:
 * every line the server would build from an input line (the error line for a refused one;
 * otherwise the lines session.c builds from the parsed command, through the same proto.c
 * functions and buffer sizes) is valid UTF-8 with no control character but its final \n, no
 * refused format character, one line only, starting with the server's or the sender's prefix.
 */
#ifndef CHATD_FUZZ_OUTPUT_H
#define CHATD_FUZZ_OUTPUT_H

#include "command.h"
#include "proto.h"

#include <stdlib.h>
#include <string.h>

#define FUZZ_SENDER "alice" /* a valid name: the prefix of the user lines */

/* One line of n bytes written into a buffer of cap: clean, or empty when cap was too small. */
static void fuzz_expect_line(const char *out, size_t n, size_t cap)
{
	if (n == 0 && cap < 24)
		return;
	if (n == 0 || n >= cap || out[n - 1] != '\n')
		__builtin_trap();
	if (proto_check_line(out, n - 1).kind != LINE_VALID)
		__builtin_trap(); /* invalid UTF-8, a control (\n, \r...), a refused character */
	if (memchr(out, '\t', n - 1) != NULL)
		__builtin_trap();
}

static void fuzz_expect_prefix(const char *out, size_t n, const char *prefix)
{
	size_t k = strlen(prefix);
	if (n < k || memcmp(out, prefix, k) != 0)
		__builtin_trap();
}

/* A user line (chat, action, private, echo): exactly its length, clean, with its prefix. */
static void fuzz_user_line(enum user_line kind, const char *name, const char *text, size_t len,
			   const char *prefix)
{
	size_t n = proto_user_line_len(kind, name, len);
	char *out = malloc(n + 1);
	if (out == NULL)
		return;
	if (proto_user_line(out, kind, name, text, len) != n)
		__builtin_trap();
	out[n] = '\0';
	fuzz_expect_line(out, n, n + 1);
	fuzz_expect_prefix(out, n, prefix);
	free(out);
}

/* Server lines that quote user text, at the server's buffer size and at smaller ones. */
static void fuzz_quoted_lines(const struct command *cmd)
{
	static const size_t caps[] = { 8, 24, 40, 64, 160, 320, 600 };
	char out[600];
	for (size_t i = 0; i < sizeof(caps) / sizeof(caps[0]); i++) {
		size_t cap = caps[i], n;
		if (cmd->kind == CMD_QUIT) {
			n = proto_left(out, cap, FUZZ_SENDER, cmd->arg, cmd->arg_len);
			fuzz_expect_line(out, n, cap);
			/* the quote is always closed: the server's words come last */
			if (cap >= 64 && cmd->arg_len > 0 &&
			    (n < 4 || memcmp(out + n - 4, "\").\n", 4) != 0) &&
			    (n < 7 || memcmp(out + n - 7, "\"...).\n", 7) != 0))
				__builtin_trap();
		}
		if (cmd->kind == CMD_MSG) {
			n = proto_no_such_user(out, cap, cmd->arg, cmd->arg_len);
			fuzz_expect_line(out, n, cap);
		}
		if (cmd->kind == CMD_INVALID) {
			n = proto_error(out, cap, "%s", cmd->error);
			fuzz_expect_line(out, n, cap);
		}
	}
}

/* Everything the server would say about the line s[0..n), as worker_take_line handles it. */
static void fuzz_server_output(const char *s, size_t n)
{
	struct line_verdict v = proto_check_line(s, n);
	if (v.kind != LINE_VALID) {
		char out[160]; /* worker_refuse_text's buffer */
		size_t len = proto_line_refused(out, sizeof(out), &v);
		fuzz_expect_line(out, len, sizeof(out));
		fuzz_expect_prefix(out, len, "* error: ");
		return;
	}
	/* a valid line may be cut anywhere utf8_cut says and stay valid */
	size_t cut = utf8_cut(s, n / 2);
	if (cut > n / 2 || cut + 3 < n / 2 || proto_check_line(s, cut).kind == LINE_BAD_UTF8)
		__builtin_trap();
	struct command cmd;
	command_parse(s, n, &cmd);
	switch (cmd.kind) {
	case CMD_NONE:
		fuzz_user_line(USER_CHAT, FUZZ_SENDER, cmd.text, cmd.text_len, FUZZ_SENDER ":");
		break;
	case CMD_ME:
		fuzz_user_line(USER_ACTION, FUZZ_SENDER, cmd.arg, cmd.arg_len,
			       "+ " FUZZ_SENDER " ");
		break;
	case CMD_MSG:
		fuzz_user_line(USER_PRIVATE, FUZZ_SENDER, cmd.text, cmd.text_len,
			       "(private) " FUZZ_SENDER ":");
		fuzz_user_line(USER_ECHO, "bob", cmd.text, cmd.text_len, "* to bob: ");
		break;
	case CMD_NICK: {
		/* an accepted name is valid and never folds like a generated one */
		char folded[NAME_MAX_LEN];
		if (!name_valid(cmd.arg, cmd.arg_len) || name_looks_generated(cmd.arg, cmd.arg_len))
			__builtin_trap();
		name_fold(cmd.arg, cmd.arg_len, folded);
		if (!name_same(cmd.arg, cmd.arg_len, folded, cmd.arg_len))
			__builtin_trap();
		break;
	}
	default:
		break;
	}
	fuzz_quoted_lines(&cmd);
}

#endif
