/*
 * command.c - see command.h.
 */
#include "command.h"

#include <string.h>

static bool is_word_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '_' || c == '-';
}

static bool is_letter(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool word_valid(const char *s, size_t n, size_t max)
{
	if (n == 0 || n > max)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!is_word_char(s[i]))
			return false;
	return true;
}

bool name_valid(const char *s, size_t n)
{
	return word_valid(s, n, NAME_MAX_LEN) && is_letter(s[0]);
}

char name_fold_char(char c)
{
	if (c >= 'A' && c <= 'Z')
		c = (char)(c - 'A' + 'a');
	if (c == 'i' || c == '1' || c == '|')
		return 'l';
	if (c == '0')
		return 'o';
	return c;
}

void name_fold(const char *s, size_t n, char *out)
{
	for (size_t i = 0; i < n; i++)
		out[i] = name_fold_char(s[i]);
}

bool name_same(const char *a, size_t an, const char *b, size_t bn)
{
	if (an != bn)
		return false;
	for (size_t i = 0; i < an; i++)
		if (name_fold_char(a[i]) != name_fold_char(b[i]))
			return false;
	return true;
}

bool name_looks_generated(const char *s, size_t n)
{
	if (n == 0)
		return false;
	for (size_t i = 0; i < n; i++) {
		char f = name_fold_char(s[i]);
		if (f != 'l' && f != 'o' && (f < '2' || f > '9'))
			return false;
	}
	return true;
}

bool room_name_valid(const char *s, size_t n)
{
	return word_valid(s, n, ROOM_MAX_LEN);
}

/* Splits off the next space-separated word; skips the spaces after it. */
static size_t next_word(const char **p, const char *end, const char **word)
{
	while (*p < end && (**p == ' ' || **p == '\t'))
		(*p)++;
	*word = *p;
	while (*p < end && **p != ' ' && **p != '\t')
		(*p)++;
	size_t n = (size_t)(*p - *word);
	while (*p < end && (**p == ' ' || **p == '\t'))
		(*p)++;
	return n;
}

struct command_row {
	const char *name;
	enum command_kind kind;
};

static const struct command_row commands[] = {
	{ "nick", CMD_NICK },     { "join", CMD_JOIN },   { "rooms", CMD_ROOMS },
	{ "who", CMD_WHO },       { "msg", CMD_MSG },     { "me", CMD_ME },
	{ "quit", CMD_QUIT },     { "help", CMD_HELP },   { "history", CMD_HISTORY },
	{ "auth", CMD_AUTH },     { "topic", CMD_TOPIC }, { "op", CMD_OP },
	{ "deop", CMD_DEOP },     { "voice", CMD_VOICE }, { "devoice", CMD_DEVOICE },
	{ "kick", CMD_KICK },     { "ban", CMD_BAN },     { "unban", CMD_UNBAN },
	{ "bans", CMD_BANS },     { "key", CMD_KEY },     { "limit", CMD_LIMIT },
	{ "invite", CMD_INVITE }, { "mode", CMD_MODE },
};

static enum command_kind lookup(const char *s, size_t n)
{
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (strlen(commands[i].name) == n && strncmp(commands[i].name, s, n) == 0)
			return commands[i].kind;
	return CMD_INVALID;
}

static void invalid(struct command *cmd, const char *why)
{
	cmd->kind = CMD_INVALID;
	cmd->error = why;
}

/* The one-word commands that run a room: /op NAME, /ban MASK, /key KEY... */
static const char *one_word_usage(enum command_kind kind)
{
	switch (kind) {
	case CMD_OP:
		return "usage: /op NAME.";
	case CMD_DEOP:
		return "usage: /deop NAME.";
	case CMD_VOICE:
		return "usage: /voice NAME.";
	case CMD_DEVOICE:
		return "usage: /devoice NAME.";
	case CMD_BAN:
		return "usage: /ban MASK (a name, an address range or a glob like 10.0.0.*).";
	case CMD_UNBAN:
		return "usage: /unban MASK.";
	case CMD_KEY:
		return "usage: /key KEY, or /key - to clear it.";
	case CMD_LIMIT:
		return "usage: /limit N (1 to 1000000), or /limit - to clear it.";
	case CMD_INVITE:
		return "usage: /invite NAME.";
	default:
		return "usage: see /help.";
	}
}

long command_limit_value(const char *s, size_t n)
{
	if (n == 1 && s[0] == '-')
		return 0;
	long v = 0;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9' || v > 1000000)
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	return n > 0 && v >= 1 && v <= 1000000 ? v : -1;
}

/* The commands that run a room (roomops.h). */
static void parse_room_command(struct command *cmd, const char *p, const char *end)
{
	switch (cmd->kind) {
	case CMD_TOPIC:
		cmd->arg = p;
		cmd->arg_len = (size_t)(end - p);
		break;
	case CMD_KICK:
		cmd->arg_len = next_word(&p, end, &cmd->arg);
		cmd->text = p;
		cmd->text_len = (size_t)(end - p);
		if (cmd->arg_len == 0)
			invalid(cmd, "usage: /kick NAME [REASON].");
		break;
	case CMD_MODE:
		cmd->arg_len = next_word(&p, end, &cmd->arg);
		cmd->text_len = next_word(&p, end, &cmd->text);
		if (p != end || (cmd->arg_len > 0 &&
				 (cmd->arg_len != 2 || (cmd->arg[0] != '+' && cmd->arg[0] != '-'))))
			invalid(cmd, "usage: /mode [+X|-X [PARAM]], X one of i m s t k l o v b.");
		break;
	case CMD_BANS:
		if (p != end)
			invalid(cmd, "this command takes no argument.");
		break;
	default:
		cmd->arg_len = next_word(&p, end, &cmd->arg);
		if (cmd->kind == CMD_LIMIT)
			cmd->count = command_limit_value(cmd->arg, cmd->arg_len);
		if (cmd->arg_len == 0 || p != end || cmd->count < 0)
			invalid(cmd, one_word_usage(cmd->kind));
		break;
	}
}

void command_parse(const char *line, size_t len, struct command *cmd)
{
	memset(cmd, 0, sizeof(*cmd));
	cmd->text = line;
	cmd->text_len = len;
	if (len == 0 || line[0] != '/')
		return; /* chat */
	if (len >= 2 && line[1] == '/') {
		cmd->text = line + 1; /* "//text" says "/text" */
		cmd->text_len = len - 1;
		return;
	}
	const char *p = line + 1, *end = line + len, *word;
	size_t n = next_word(&p, end, &word);
	cmd->kind = lookup(word, n);
	const char *rest = p;
	size_t rest_len = (size_t)(end - p);
	switch (cmd->kind) {
	case CMD_NICK:
	case CMD_JOIN:
		cmd->arg_len = next_word(&p, end, &cmd->arg);
		if (cmd->kind == CMD_JOIN) { /* /join ROOM [KEY] */
			cmd->text_len = next_word(&p, end, &cmd->text);
			if (cmd->text_len == 0)
				cmd->text = NULL;
		}
		if (cmd->arg_len == 0 || p != end)
			invalid(cmd, cmd->kind == CMD_NICK ? "usage: /nick NAME."
							   : "usage: /join ROOM [KEY].");
		else if (cmd->kind == CMD_NICK && !name_valid(cmd->arg, cmd->arg_len))
			invalid(cmd,
				"a name is 1-32 letters, digits, _ or -, starting with a letter.");
		else if (cmd->kind == CMD_NICK && name_looks_generated(cmd->arg, cmd->arg_len))
			invalid(cmd, "that name looks like a number (l, I, 1 and O, 0 look alike); "
				     "numbers are kept for generated names.");
		else if (cmd->kind == CMD_JOIN && !room_name_valid(cmd->arg, cmd->arg_len))
			invalid(cmd, "a room name is 1-32 letters, digits, _ or -.");
		break;
	case CMD_ROOMS:
	case CMD_WHO:
	case CMD_HELP:
		if (rest_len != 0)
			invalid(cmd, "this command takes no argument.");
		break;
	case CMD_AUTH:
		cmd->arg_len = next_word(&p, end, &cmd->arg);
		if (cmd->arg_len == 0 || p != end)
			invalid(cmd, "usage: /auth TOKEN.");
		break;
	case CMD_HISTORY:
		cmd->arg_len = next_word(&p, end, &cmd->arg);
		for (size_t i = 0; i < cmd->arg_len && cmd->count <= HISTORY_ASK_MAX; i++)
			cmd->count = cmd->arg[i] >= '0' && cmd->arg[i] <= '9'
					 ? cmd->count * 10 + (cmd->arg[i] - '0')
					 : HISTORY_ASK_MAX + 1;
		if (p != end ||
		    (cmd->arg_len > 0 && (cmd->count < 1 || cmd->count > HISTORY_ASK_MAX)))
			invalid(cmd, "usage: /history [N], N from 1 to 10000.");
		break;
	case CMD_MSG:
		cmd->arg_len = next_word(&p, end, &cmd->arg);
		cmd->text = p;
		cmd->text_len = (size_t)(end - p);
		if (cmd->arg_len == 0 || cmd->text_len == 0)
			invalid(cmd, "usage: /msg NAME TEXT.");
		break;
	case CMD_ME:
		cmd->arg = rest;
		cmd->arg_len = rest_len;
		if (rest_len == 0)
			invalid(cmd, "usage: /me TEXT.");
		break;
	case CMD_QUIT:
		cmd->arg = rest;
		cmd->arg_len = rest_len;
		if (rest_len > QUIT_REASON_MAX) {
			/* cut on a character boundary: never leave half a UTF-8 sequence */
			cmd->arg_len = QUIT_REASON_MAX;
			while (cmd->arg_len > 0 &&
			       ((unsigned char)rest[cmd->arg_len] & 0xC0) == 0x80)
				cmd->arg_len--;
		}
		break;
	case CMD_TOPIC:
	case CMD_OP:
	case CMD_DEOP:
	case CMD_VOICE:
	case CMD_DEVOICE:
	case CMD_KICK:
	case CMD_BAN:
	case CMD_UNBAN:
	case CMD_BANS:
	case CMD_KEY:
	case CMD_LIMIT:
	case CMD_INVITE:
	case CMD_MODE:
		parse_room_command(cmd, p, end);
		break;
	case CMD_INVALID:
		invalid(cmd, "unknown command; /help lists them.");
		break;
	case CMD_NONE:
		break;
	}
}
