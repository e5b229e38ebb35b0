/*
 * fuzz_feed.c - libFuzzer target for the JSON feed's events (src/feed.c). The input is a line
 * as it could reach a JSON user (from this server or, through Redis, another node). Any bytes:
 * sizing and writing agree, and a buffer of any size is never overrun. A valid line (UTF-8,
 * no control characters: what proto_check_line lets through): the event is one strict JSON
 * object (json.c reads it) whose "type" is one of the feed's types.
 */
#include "feed.h"
#include "fuzz_target.h"
#include "json.h"
#include "proto.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define check(cond) ((cond) ? (void)0 : __builtin_trap())

static const char *const types[] = { "chat",   "action", "private", "join",    "leave",
				     "rename", "notice", "error",   "history", "gap" };

static bool known_type(const char *t)
{
	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++)
		if (strcmp(t, types[i]) == 0)
			return true;
	return false;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *line = (const char *)data;
	struct feed_ctx x = { .room = "dev", .me = "ada", .seq = 3, .time_ms = 1000 };
	size_t need = feed_render(NULL, 0, line, size, &x);
	char *out = malloc(need);
	check(out != NULL || need == 0);
	check(feed_render(out, need, line, size, &x) == need);
	size_t cut = size % (need + 1); /* a shorter buffer: written up to it, never past */
	char *small = malloc(cut + 1);
	check(small != NULL);
	check(feed_render(small, cut, line, size, &x) == need);
	check(memcmp(small, out, cut) == 0);
	free(small);
	check(need >= 2 && out[need - 1] == '\n');
	struct line_verdict v = proto_check_line(line, size);
	if (v.kind == LINE_VALID && need - 1 <= JSON_TEXT_MAX) {
		static struct json_token tok[4096];
		struct json_doc doc;
		check(json_parse(&doc, out, need - 1, tok, 4096) > 0);
		char type[16];
		check(json_get_string(&doc, 0, "type", type, sizeof(type)) > 0);
		check(known_type(type));
	}
	free(out);
	return 0;
}
