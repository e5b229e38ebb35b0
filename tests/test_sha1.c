/*
 * test_sha1.c - SHA-1 against the FIPS 180 / RFC 3174 vectors, whole and fed in pieces.
 */
#include "sha1.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void hex(const uint8_t *d, char *out)
{
	for (size_t i = 0; i < SHA1_DIGEST_LEN; i++)
		sprintf(out + 2 * i, "%02x", d[i]);
}

static void expect_sha1(const void *data, size_t n, const char *want)
{
	uint8_t d[SHA1_DIGEST_LEN];
	char got[41];
	sha1(data, n, d);
	hex(d, got);
	cr_assert_str_eq(got, want);
}

Test(sha1, fips_vectors)
{
	expect_sha1("abc", 3, "a9993e364706816aba3e25717850c26c9cd0d89d");
	expect_sha1("", 0, "da39a3ee5e6b4b0d3255bfef95601890afd80709");
	const char *m448 = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
	expect_sha1(m448, strlen(m448), "84983e441c3bd26ebaae4aa1f95129e5e54670f1");
}

Test(sha1, one_million_a_fed_in_odd_pieces)
{
	struct sha1_ctx c;
	sha1_init(&c);
	char chunk[997];
	memset(chunk, 'a', sizeof(chunk));
	size_t left = 1000000;
	while (left > 0) {
		size_t n = left < sizeof(chunk) ? left : sizeof(chunk);
		sha1_update(&c, chunk, n);
		left -= n;
	}
	uint8_t d[SHA1_DIGEST_LEN];
	char got[41];
	sha1_final(&c, d);
	hex(d, got);
	cr_assert_str_eq(got, "34aa973cd4c4daa4f61eeb2bdbad27316534016f");
}

Test(sha1, lengths_around_the_padding_boundary)
{
	/* 55, 56 and 64 bytes take the one- and two-block padding paths; byte-at-a-time
	 * feeding must agree with one call */
	char buf[130];
	memset(buf, 'x', sizeof(buf));
	for (size_t n = 50; n < 130; n++) {
		uint8_t a[SHA1_DIGEST_LEN], b[SHA1_DIGEST_LEN];
		sha1(buf, n, a);
		struct sha1_ctx c;
		sha1_init(&c);
		for (size_t i = 0; i < n; i++)
			sha1_update(&c, buf + i, 1);
		sha1_final(&c, b);
		cr_assert_eq(memcmp(a, b, sizeof(a)), 0, "length %zu", n);
	}
}
