/*
 * fuzz_ws.c - libFuzzer target for the WebSocket frame parser: the first byte picks the read
 * size, the rest is what a client sent after the handshake. Checks that text events are valid
 * UTF-8 and within the size limit, that nothing is parsed after an error, and that what the
 * server says about each text message (it takes the line path) is clean (fuzz_output.h).
 */
#include "fuzz_output.h"
#include "fuzz_target.h"
#include "proto.h"
#include "ws.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define MAX_MESSAGE 256

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	size_t chunk = (data[0] & 31) + 1;
	data++;
	size--;
	uint8_t *buf = malloc(size ? size : 1); /* the parser unmasks in place */
	if (buf == NULL)
		return 0;
	memcpy(buf, data, size);
	struct ws_parser p;
	ws_parser_init(&p, MAX_MESSAGE);
	for (size_t off = 0; off < size;) {
		size_t n = size - off < chunk ? size - off : chunk, used;
		struct ws_event ev;
		ws_feed(&p, buf + off, n, &used, &ev);
		if (used > n)
			__builtin_trap();
		off += used;
		if (ev.kind == WS_EV_TEXT) {
			uint32_t st = 0;
			if (ev.len > MAX_MESSAGE || !utf8_feed(&st, ev.data, ev.len) ||
			    !utf8_complete(st))
				__builtin_trap();
			fuzz_server_output((const char *)ev.data, ev.len);
		}
		if (ev.kind == WS_EV_ERROR || ev.kind == WS_EV_CLOSE)
			break;
		if (ev.kind == WS_EV_NONE && used == 0)
			break;
	}
	ws_parser_reset(&p);
	free(buf);
	return 0;
}
