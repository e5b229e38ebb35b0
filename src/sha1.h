/*
 * sha1.h - SHA-1 (FIPS 180-4), for the WebSocket handshake (RFC 6455 section 4.2.2) and
 * nothing else: SHA-1 is not used here for security. Pure code; a context belongs to the
 * caller.
 */
#ifndef CHATD_SHA1_H
#define CHATD_SHA1_H

#include <stddef.h>
#include <stdint.h>

#define SHA1_DIGEST_LEN 20

struct sha1_ctx {
	uint32_t h[5];
	uint64_t total; /* bytes fed so far */
	uint8_t block[64];
	size_t used; /* bytes waiting in block */
};

void sha1_init(struct sha1_ctx *c);
void sha1_update(struct sha1_ctx *c, const void *data, size_t n);
void sha1_final(struct sha1_ctx *c, uint8_t out[SHA1_DIGEST_LEN]);

/* One call: out = SHA-1(data). */
void sha1(const void *data, size_t n, uint8_t out[SHA1_DIGEST_LEN]);

#endif
