/*
 * sha256.h - SHA-256 (FIPS 180-4 section 6.2), for HMAC-SHA256 (hmac.h) and so for the JWTs of
 * --auth-secret (jwt.h).
 *
 * Owns: nothing but the caller's context. Pure code: no I/O, no allocation, no global state,
 * so any thread may use its own context at any time; a context is not shared.
 * Invariants: ctx->used < SHA256_BLOCK_LEN between calls; sha256_final wipes the context
 * (it may have hashed a secret), so a context is used again only after sha256_init.
 */
#ifndef CHATD_SHA256_H
#define CHATD_SHA256_H

#include <stddef.h>
#include <stdint.h>

#define SHA256_DIGEST_LEN 32
#define SHA256_BLOCK_LEN  64

struct sha256_ctx {
	uint32_t h[8];
	uint64_t total;                  /* bytes fed so far */
	uint8_t block[SHA256_BLOCK_LEN]; /* a partial block */
	size_t used;                     /* bytes waiting in block */
};

void sha256_init(struct sha256_ctx *c);
void sha256_update(struct sha256_ctx *c, const void *data, size_t n);
/* Writes the digest and wipes the context. */
void sha256_final(struct sha256_ctx *c, uint8_t out[SHA256_DIGEST_LEN]);

/* One call: out = SHA-256(data). */
void sha256(const void *data, size_t n, uint8_t out[SHA256_DIGEST_LEN]);

#endif
