/*
 * hmac.c - HMAC-SHA256 as RFC 2104 section 2 defines it (see hmac.h):
 *   H(K ^ opad, H(K ^ ipad, text)), K the key zero-padded to a block, or H(key) when longer.
 */
#include "hmac.h"

#include <string.h>

#define IPAD 0x36
#define OPAD 0x5c

/* Starts s with one block of the key, xor pad. */
static void start_padded(struct sha256_ctx *s, const uint8_t k[SHA256_BLOCK_LEN], uint8_t pad)
{
	uint8_t block[SHA256_BLOCK_LEN];
	for (size_t i = 0; i < SHA256_BLOCK_LEN; i++)
		block[i] = k[i] ^ pad;
	sha256_init(s);
	sha256_update(s, block, sizeof(block));
	explicit_bzero(block, sizeof(block));
}

void hmac_sha256_init(struct hmac_sha256_ctx *c, const uint8_t *key, size_t key_len)
{
	uint8_t k[SHA256_BLOCK_LEN] = { 0 };
	if (key_len > SHA256_BLOCK_LEN)
		sha256(key, key_len, k);
	else if (key_len > 0)
		memcpy(k, key, key_len);
	start_padded(&c->inner, k, IPAD);
	start_padded(&c->outer, k, OPAD);
	explicit_bzero(k, sizeof(k));
}

void hmac_sha256_update(struct hmac_sha256_ctx *c, const void *data, size_t n)
{
	sha256_update(&c->inner, data, n);
}

void hmac_sha256_final(struct hmac_sha256_ctx *c, uint8_t out[HMAC_SHA256_LEN])
{
	uint8_t inner[SHA256_DIGEST_LEN];
	sha256_final(&c->inner, inner);
	sha256_update(&c->outer, inner, sizeof(inner));
	sha256_final(&c->outer, out);
	explicit_bzero(inner, sizeof(inner));
}

void hmac_sha256(const uint8_t *key, size_t key_len, const void *data, size_t n,
		 uint8_t out[HMAC_SHA256_LEN])
{
	struct hmac_sha256_ctx c;
	hmac_sha256_init(&c, key, key_len);
	hmac_sha256_update(&c, data, n);
	hmac_sha256_final(&c, out);
}

bool hmac_equal(const uint8_t *a, const uint8_t *b, size_t n)
{
	/* volatile: the compiler may not turn the loop into an early-exit memcmp */
	volatile uint8_t diff = 0;
	for (size_t i = 0; i < n; i++)
		diff |= a[i] ^ b[i];
	return diff == 0;
}
