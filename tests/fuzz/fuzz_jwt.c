/*
 * fuzz_jwt.c - libFuzzer target for JWT verification (src/jwt.c, and through it json.c,
 * base64url.c, hmac.c, sha256.c), with a fixed key and time. The first byte picks a mode:
 *   - even: the rest is a token, verified as it is (the structure, base64url, header and
 *     signature layers: a random MAC practically never matches);
 *   - odd: the rest is a header and a payload separated by the first newline, signed here
 *     under the key, so the claims layer behind the MAC is reached with fuzzer-chosen JSON.
 * Checked: the verdict is one of jwt.h's codes; jwt_check_signature agrees with jwt_verify up
 * to the claims; an accepted token's claims are within their bounds, non-empty, NUL-terminated
 * UTF-8, and the times hold; a token signed here never fails its signature.
 */
#include "base64url.h"
#include "fuzz_target.h"
#include "hmac.h"
#include "jwt.h"
#include "proto.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define NOW         1700000000
#define SKEW        60

#define check(cond) ((cond) ? (void)0 : __builtin_trap())

static const uint8_t key[] = "fuzz-key-fuzz-key-fuzz-key-0123456789";

static void check_text(const char *s, size_t cap)
{
	size_t n = strnlen(s, cap);
	check(n > 0 && n < cap);
	uint32_t state = 0;
	check(utf8_feed(&state, (const unsigned char *)s, n) && utf8_complete(state));
}

static void check_claims(const struct jwt_claims *c)
{
	check_text(c->sub, sizeof(c->sub));
	check(c->exp > NOW - SKEW);
	check(!c->has_nbf || c->nbf <= NOW + SKEW);
	check(c->room_count <= JWT_ROOMS_MAX && (c->has_rooms || c->room_count == 0));
	for (size_t i = 0; i < c->room_count; i++)
		check_text(c->rooms[i], sizeof(c->rooms[i]));
}

static void run(const char *token, size_t len, bool signed_here)
{
	struct jwt_claims c;
	int r = jwt_verify(token, len, key, sizeof(key) - 1, NOW, SKEW, &c);
	check(r <= JWT_OK && r >= JWT_NOT_YET_VALID);
	check(strcmp(jwt_error_text(r), "token refused") != 0);
	uint8_t payload[JWT_PAYLOAD_MAX];
	size_t n = 0;
	int s = jwt_check_signature(token, len, key, sizeof(key) - 1, payload, &n);
	if (r == JWT_OK || r == JWT_BAD_CLAIMS || r == JWT_EXPIRED || r == JWT_NOT_YET_VALID)
		check(s == JWT_OK && n <= JWT_PAYLOAD_MAX);
	else
		check(s == r);
	if (r == JWT_OK)
		check_claims(&c);
	if (signed_here)
		check(r != JWT_BAD_SIGNATURE);
}

/* header "." payload "." MAC, of header[0..hn) and payload[0..pn); then run. */
static void sign_and_run(const uint8_t *header, size_t hn, const uint8_t *payload, size_t pn)
{
	if (hn > JWT_TOKEN_MAX || pn > JWT_TOKEN_MAX)
		return;
	char *t = malloc(BASE64URL_ENCODED_SIZE(hn) + BASE64URL_ENCODED_SIZE(pn) +
			 BASE64URL_ENCODED_SIZE(HMAC_SHA256_LEN));
	if (t == NULL)
		return;
	size_t n = base64url_encode(header, hn, t);
	t[n++] = '.';
	n += base64url_encode(payload, pn, t + n);
	uint8_t mac[HMAC_SHA256_LEN];
	hmac_sha256(key, sizeof(key) - 1, t, n, mac);
	t[n++] = '.';
	n += base64url_encode(mac, sizeof(mac), t + n);
	/* too long for a token is refused before anything else: nothing to learn past it */
	if (n <= JWT_TOKEN_MAX)
		run(t, n, true);
	free(t);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	uint8_t mode = data[0];
	data++;
	size--;
	if (mode % 2 == 0) {
		/* an exact-size copy: ASan catches a read past the token */
		char *t = malloc(size ? size : 1);
		if (t == NULL)
			return 0;
		memcpy(t, data, size);
		run(t, size, false);
		free(t);
		return 0;
	}
	const uint8_t *nl = memchr(data, '\n', size);
	if (nl == NULL)
		return 0;
	sign_and_run(data, (size_t)(nl - data), nl + 1, size - (size_t)(nl - data) - 1);
	return 0;
}
