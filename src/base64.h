/*
 * base64.h - RFC 4648 base64 (standard alphabet, with padding): encoding for the
 * Sec-WebSocket-Accept header and strict decoding to check a Sec-WebSocket-Key. Pure code.
 */
#ifndef CHATD_BASE64_H
#define CHATD_BASE64_H

#include <stddef.h>
#include <stdint.h>

/* Bytes needed to encode n bytes, terminating NUL included. */
#define BASE64_ENCODED_SIZE(n) ((((n) + 2) / 3) * 4 + 1)

/* Writes the encoding of in[0..n) and a NUL to out; returns its length. */
size_t base64_encode(const uint8_t *in, size_t n, char *out);

/*
 * Decodes in[0..n) (length a multiple of 4, '=' only as final padding, no other characters)
 * into out (room for n / 4 * 3 bytes). Returns the decoded length, or -1 when malformed.
 */
long base64_decode(const char *in, size_t n, uint8_t *out);

#endif
