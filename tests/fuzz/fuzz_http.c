/*
 * fuzz_http.c - libFuzzer target for the HTTP side of a fresh connection: sniffing, the
 * request-head parser (with a fuzzer-chosen size limit), the WebSocket handshake check and its
 * Origin check.
 */
#include "common.h"
#include "fuzz_target.h"
#include "http.h"

#include <stddef.h>
#include <stdint.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *buf = (const char *)data;
	http_sniff(buf, size);
	struct http_request req;
	int n = http_parse_request(buf, size, 8192, &req);
	if (n == PARSE_ERROR && req.status != 400 && req.status != 431 && req.status != 505)
		__builtin_trap();
	if (n > 0) {
		if ((size_t)n > size)
			__builtin_trap();
		char accept[29];
		int rc = http_ws_accept(&req, accept);
		if (rc == 0 && strlen(accept) != 28)
			__builtin_trap();
		http_header_has_token(&req, "Connection", "upgrade");
		enum http_origin o = http_origin_check(&req, "http://a.example:8080,https://[::1]");
		if (o != HTTP_ORIGIN_ALLOWED && o != HTTP_ORIGIN_FOREIGN &&
		    o != HTTP_ORIGIN_MALFORMED && o != HTTP_ORIGIN_REPEATED)
			__builtin_trap();
	}
	/* every proper prefix of a complete head must ask for more */
	if (n > 0 && size > 1) {
		size_t cut = data[0] % (size_t)n;
		if (http_parse_request(buf, cut, 8192, &req) == n)
			__builtin_trap();
	}
	return 0;
}
