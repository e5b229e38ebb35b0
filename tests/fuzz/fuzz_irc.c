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
#include <stdio.h>
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
	check(m.tags == NULL || m.tags_len + 2 <= IRC_CLIENT_TAGS_MAX);
	struct irc_tag t;
	char value[IRC_CLIENT_TAGS_MAX];
	for (size_t pos = 0; irc_tag_next(m.tags, m.tags_len, &pos, &t);) {
		check(inside(t.key, t.key_len, line, size) &&
		      inside(t.value, t.value_len, line, size));
		check(irc_tag_unescape(value, sizeof(value), t.value, t.value_len) <= t.value_len);
	}
	static char relay[IRC_CLIENT_TAGS_MAX], out[IRC_OUT_MAX], data[IRC_CLIENT_TAGS_MAX + 8];
	size_t n = irc_client_tags(relay, sizeof(relay), m.tags, m.tags_len);
	check(n < sizeof(relay) && memchr(relay, ' ', n) == NULL);
	if (n == 0)
		return;
	int k = snprintf(data, sizeof(data), "ada %s\n", relay);
	struct irc_ctx x = { .server = "chatd", .me = "bob", .room = "dev", .time_ms = 1 };
	size_t len = irc_tagmsg(out, sizeof(out), data, (size_t)k, &x);
	check(len > 0 && len <= IRC_OUT_MAX && out[len - 1] == '\n' &&
	      memchr(out, '\n', len - 1) == NULL && memchr(out, '\r', len - 2) == NULL);
}

/* A tag value escaped reads back as it was. */
static void check_escape(const char *v, size_t size)
{
	static char esc[2 * IRC_LINE_MAX + 1], back[IRC_LINE_MAX + 1];
	if (size > IRC_LINE_MAX)
		return;
	size_t n = irc_tag_escape(esc, sizeof(esc), v, size);
	check(memchr(esc, ';', n) == NULL && memchr(esc, ' ', n) == NULL);
	irc_tag_unescape(back, sizeof(back), esc, n);
	check(memchr(v, '\0', size) != NULL ||
	      (strlen(back) == size && memcmp(back, v, size) == 0));
}

static void check_render(const char *line, size_t size)
{
	static char out[IRC_OUT_MAX];
	struct irc_ctx x = { .server = "chatd",
			     .me = "ada",
			     .room = size % 2 ? "dev" : NULL,
			     .echo = size % 3 == 0,
			     .time_ms = size % 5 == 0 ? 1796133600123 : 0,
			     .tags = size % 7 == 0,
			     .seq = size };
	size_t n = irc_render(out, size % 4 == 0 ? IRC_LINE_MAX : sizeof(out), line, size, &x);
	check(n <= IRC_SERVER_TAGS_MAX + IRC_LINE_MAX);
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
	check_escape(line, size);
	char out[IRC_LINE_MAX];
	check(irc_message(out, sizeof(out), "chatd", "NOTICE", "ada", line, size) <= IRC_LINE_MAX);
	return 0;
}
