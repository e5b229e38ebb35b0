/*
 * hmac.h - HMAC-SHA256 (RFC 2104 with SHA-256, as RFC 4231 tests it), and a comparison of MACs
 * in constant time. Used by jwt.c to check HS256 signatures.
 *
 * Owns: nothing but the caller's context. Pure code: no I/O, no allocation, no global state,
 * so any thread may use its own context; a context is not shared.
 * Secrets: the key is never copied beyond the two SHA-256 states it is folded into (and the
 * pad on the stack while doing so, wiped); hmac_sha256_final wipes the context. Nothing here
 * logs.
 */
#ifndef CHATD_HMAC_H
#define CHATD_HMAC_H

#include "sha256.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define HMAC_SHA256_LEN SHA256_DIGEST_LEN

struct hmac_sha256_ctx {
	struct sha256_ctx inner; /* has taken K ^ ipad, then the message */
	struct sha256_ctx outer; /* has taken K ^ opad */
};

/* Starts a MAC under key[0..key_len) (a key longer than a block is hashed first, RFC 2104). */
void hmac_sha256_init(struct hmac_sha256_ctx *c, const uint8_t *key, size_t key_len);
void hmac_sha256_update(struct hmac_sha256_ctx *c, const void *data, size_t n);
/* Writes the MAC and wipes the context. */
void hmac_sha256_final(struct hmac_sha256_ctx *c, uint8_t out[HMAC_SHA256_LEN]);

/* One call: out = HMAC-SHA256(key, data). */
void hmac_sha256(const uint8_t *key, size_t key_len, const void *data, size_t n,
		 uint8_t out[HMAC_SHA256_LEN]);

/* True when a[0..n) equals b[0..n). Takes the same time whatever the bytes are (it reads all
 * n of each and branches on none), so a MAC check does not say how much of a guess was right. */
bool hmac_equal(const uint8_t *a, const uint8_t *b, size_t n);

#endif
