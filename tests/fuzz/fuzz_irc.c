/*
 * fuzz_irc.c - libFuzzer target for the IRC messages (src/irc.c). The input is a line as an
 * IRC client could send it (its line end removed), and also a line as the server could word
 * it. Any bytes: every span the parser gives lies inside the input, the command is letters or
 * three digits, there are at most IRC_PARAMS_MAX parameters; rendering never passes
 * IRC_LINE_MAX and ends with CRLF; a valid chatd line (what proto_check_line lets through)
 * renders with no CR or LF inside.
 */
#include "fuzz_target.h"
#include "irc.h"
#include "proto.h"

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#define check(cond) ((cond) ? (void)0 : __builtin_trap())

static bool inside(const char *p, size_t n, const char *base, size_t size)
{
	return n == 0 || (p >= base && p + n <= base + size);
}

static void check_parse(const char *line, size_t size)
{
	struct irc_msg m;
	if (irc_parse(line, size, &m) != IRC_OK)
		return;
	check(inside(m.tags, m.tags_len, line, size));
	check(inside(m.prefix, m.prefix_len, line, size));
	check(inside(m.cmd, m.cmd_len, line, size) && m.cmd_len > 0);
	check(m.nparams <= IRC_PARAMS_MAX);
	for (unsigned i = 0; i < m.nparams; i++)
		check(inside(m.param[i], m.param_len[i], line, size));
	check(m.tags == NULL || m.tags_len + 2 <= IRC_TAGS_MAX);
}

static void check_render(const char *line, size_t size)
{
	char out[IRC_LINE_MAX];
	struct irc_ctx x = { .server = "chatd",
			     .me = "ada",
			     .room = size % 2 ? "dev" : NULL,
			     .echo = size % 3 == 0 };
	size_t n = irc_render(out, sizeof(out), line, size, &x);
	check(n <= IRC_LINE_MAX);
	if (n == 0)
		return;
	check(n >= 2 && out[n - 2] == '\r' && out[n - 1] == '\n');
	if (proto_check_line(line, size).kind == LINE_VALID)
		check(memchr(out, '\n', n - 1) == NULL && memchr(out, '\r', n - 2) == NULL);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *line = (const char *)data;
	check_parse(line, size);
	check_render(line, size);
	char out[IRC_LINE_MAX];
	check(irc_message(out, sizeof(out), "chatd", "NOTICE", "ada", line, size) <= IRC_LINE_MAX);
	return 0;
}
