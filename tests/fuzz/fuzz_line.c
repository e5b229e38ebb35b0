/*
 * fuzz_line.c - libFuzzer target for everything a line-protocol client's bytes go through:
 * framing (split at fuzzer-chosen read boundaries), validation, the command parser, and the
 * server lines built from each line (fuzz_output.h: all valid UTF-8, no control characters).
 * The first byte picks the read size and --max-line, the rest is the byte stream.
 */
#include "command.h"
#include "fuzz_output.h"
#include "fuzz_target.h"
#include "proto.h"

#include <stddef.h>
#include <stdint.h>
#include <string.h>

static bool on_line(void *ctx, enum line_event ev, const char *line, size_t len)
{
	size_t max = *(size_t *)ctx;
	if (ev == LINE_TOO_LONG)
		return true;
	if (len > max)
		__builtin_trap(); /* the framer must never hand out an over-long line */
	fuzz_server_output(line, len);
	if (proto_check_line(line, len).kind != LINE_VALID)
		return true;
	struct command cmd;
	command_parse(line, len, &cmd);
	if (cmd.kind == CMD_INVALID && cmd.error == NULL)
		__builtin_trap();
	if (cmd.arg_len > len || cmd.text_len > len)
		__builtin_trap();
	return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	size_t chunk = (data[0] & 15) + 1;
	size_t max = 16 + (data[0] >> 4) * 16;
	data++;
	size--;
	struct line_framer f = { 0 };
	for (size_t off = 0; off < size; off += chunk) {
		size_t n = size - off < chunk ? size - off : chunk;
		framer_feed(&f, max, (const char *)data + off, n, on_line, &max);
	}
	framer_reset(&f);
	return 0;
}
