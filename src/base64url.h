/*
 * base64url.h - RFC 4648 section 5 base64url without padding, as JWS compact serialization
 * uses it (RFC 7515 section 2 and appendix C): strict decoding of the three parts of a JWT,
 * and encoding (for tests and tools that sign tokens). Standard base64 is base64.h.
 *
 * Owns: nothing. Pure code: no I/O, no allocation, no state; any thread.
 */
#ifndef CHATD_BASE64URL_H
#define CHATD_BASE64URL_H

#include <stddef.h>
#include <stdint.h>

/* Bytes needed to encode n bytes, terminating NUL included. */
#define BASE64URL_ENCODED_SIZE(n) (((n)*4 + 2) / 3 + 1)
/* Bytes a decoding of n characters takes at most. */
#define BASE64URL_DECODED_MAX(n) ((n) / 4 * 3 + 2)

/* Writes the unpadded encoding of in[0..n) and a NUL to out; returns its length. */
size_t base64url_encode(const uint8_t *in, size_t n, char *out);

/*
 * Decodes in[0..n) into out (room for BASE64URL_DECODED_MAX(n) bytes). Strict: only the
 * characters A-Z a-z 0-9 - _ (no '=', no '+' or '/', no white space), n % 4 != 1, and the
 * bits below the last whole byte zero (one encoding per byte string). Returns the decoded
 * length, or -1 when malformed.
 */
long base64url_decode(const char *in, size_t n, uint8_t *out);

#endif
