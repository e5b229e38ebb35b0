/*
 * base64url.c - see base64url.h.
 */
#include "base64url.h"

#include <string.h>

static const char digits[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

size_t base64url_encode(const uint8_t *in, size_t n, char *out)
{
	size_t o = 0;
	uint32_t acc = 0;
	int bits = 0; /* bits waiting in acc */
	for (size_t i = 0; i < n; i++) {
		acc = acc << 8 | in[i];
		bits += 8;
		while (bits >= 6) {
			bits -= 6;
			out[o++] = digits[acc >> bits & 63];
		}
	}
	if (bits > 0)
		out[o++] = digits[acc << (6 - bits) & 63];
	out[o] = '\0';
	return o;
}

/* The value of an alphabet character, or -1. */
static int digit_value(char c)
{
	const char *d = c != '\0' ? strchr(digits, c) : NULL;
	return d != NULL ? (int)(d - digits) : -1;
}

long base64url_decode(const char *in, size_t n, uint8_t *out)
{
	if (n % 4 == 1)
		return -1; /* six bits cannot end a byte */
	long o = 0;
	uint32_t acc = 0;
	int bits = 0;
	for (size_t i = 0; i < n; i++) {
		int d = digit_value(in[i]);
		if (d < 0)
			return -1;
		acc = (acc << 6 | (uint32_t)d) & 0xFFF; /* at most 8 + 6 - 2 bits matter */
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[o++] = (uint8_t)(acc >> bits);
		}
	}
	/* the 2 or 4 bits left over must be zero, or two encodings would give one string */
	if ((acc & ((1u << bits) - 1)) != 0)
		return -1;
	return o;
}
