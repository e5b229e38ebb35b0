/*
 * fuzz_proxy.c - libFuzzer target for what a proxy says about the client (src/proxy.c): the
 * PROXY protocol header parser, checked for its contract on every input (a length within the
 * input and PROXY_HEADER_MAX, never "need more" once PROXY_HEADER_MAX bytes are there, an
 * error that more bytes do not undo, the same answer with bytes added behind a header, every
 * proper prefix of a header asking for more, addresses of the two families only), and the
 * X-Forwarded-For walk over the input's lines (a named client is an address that formats and
 * parses back to itself).
 */
#include "cidr.h"
#include "fuzz_target.h"
#include "proxy.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define check(cond) ((cond) ? (void)0 : __builtin_trap())

static void check_header(const uint8_t *data, size_t size)
{
	struct proxy_header h;
	int n = proxy_parse(data, size, &h);
	check(n > 0 || n == PARSE_AGAIN || n == PARSE_ERROR);
	check(size < PROXY_HEADER_MAX || n != PARSE_AGAIN);
	if (n == PARSE_ERROR) {
		check(h.error != PROXY_OK && proxy_error_text(h.error) != NULL);
		return;
	}
	if (n == PARSE_AGAIN)
		return;
	check((size_t)n <= size && n <= PROXY_HEADER_MAX);
	check(h.version == 1 || h.version == 2);
	check(h.version == 2 || n <= PROXY_V1_MAX);
	if (h.kind == PROXY_SOURCE)
		check((h.src.ss_family == AF_INET || h.src.ss_family == AF_INET6) &&
		      h.dst.ss_family == h.src.ss_family);
	else
		check(h.kind == PROXY_LOCAL || h.kind == PROXY_UNKNOWN);
	/* a proper prefix asks for more; the header alone is the same header */
	size_t cut = size > 1 ? (size_t)data[size - 1] * 7 % (size_t)n : 0;
	struct proxy_header p;
	check(proxy_parse(data, cut, &p) == PARSE_AGAIN);
	check(proxy_parse(data, (size_t)n, &p) == n && p.kind == h.kind);
}

/* An error stays an error whatever follows (the connection can be closed at once). */
static void check_error_sticks(const uint8_t *data, size_t size)
{
	if (size < 2)
		return;
	size_t cut = (size_t)data[0] % size;
	struct proxy_header h;
	if (proxy_parse(data, cut, &h) == PARSE_ERROR)
		check(proxy_parse(data, size, &h) == PARSE_ERROR);
}

static void check_forwarded_for(const uint8_t *data, size_t size)
{
	static struct cidr_list trusted;
	if (trusted.n == 0) {
		size_t bad_len;
		check(cidr_list_parse("10.0.0.0/8, 192.168.0.0/16, ::1, fc00::/7", &trusted,
				      &bad_len) == NULL);
	}
	struct http_slice v[8];
	size_t n = 0;
	const char *p = (const char *)data, *end = p + size;
	while (n < 8 && p <= end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *stop = nl != NULL ? nl : end;
		v[n++] = (struct http_slice){ p, (size_t)(stop - p) };
		if (nl == NULL)
			break;
		p = nl + 1;
	}
	struct cidr_addr a;
	if (!proxy_forwarded_for(v, n, &trusted, &a))
		return;
	char text[CIDR_ADDR_STRLEN];
	cidr_addr_format(&a, text, sizeof(text));
	struct cidr_addr back;
	check(cidr_addr_parse(text, strlen(text), &back) && !memcmp(back.b, a.b, sizeof(a.b)));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* in a buffer of exactly its size, so reading past it is caught */
	uint8_t *copy = malloc(size ? size : 1);
	if (copy == NULL)
		return 0;
	memcpy(copy, data, size);
	check_header(copy, size);
	check_error_sticks(copy, size);
	check_forwarded_for(copy, size);
	free(copy);
	return 0;
}
