/*
 * test_sha256.c - SHA-256 against the FIPS 180 example vectors (whole and fed in pieces),
 * HMAC-SHA256 against every test case of RFC 4231 section 4, and the constant-time compare.
 */
#include "hmac.h"
#include "sha256.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

/* Lower-case hex of d[0..n) into out (2n + 1 bytes). */
static void hex(const uint8_t *d, size_t n, char *out)
{
	for (size_t i = 0; i < n; i++)
		sprintf(out + 2 * i, "%02x", d[i]);
}

/* Ends c and compares the digest with the hex want. */
static void expect_final(struct sha256_ctx *c, const char *want)
{
	uint8_t d[SHA256_DIGEST_LEN];
	char got[2 * SHA256_DIGEST_LEN + 1];
	sha256_final(c, d);
	hex(d, sizeof(d), got);
	cr_assert_str_eq(got, want);
}

static void expect_sha256(const void *data, size_t n, const char *want)
{
	struct sha256_ctx c;
	sha256_init(&c);
	sha256_update(&c, data, n);
	expect_final(&c, want);
}

Test(sha256, abc)
{
	expect_sha256("abc", 3, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

Test(sha256, empty_message)
{
	expect_sha256("", 0, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

Test(sha256, message_of_448_bits)
{
	const char *m = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
	expect_sha256(m, strlen(m),
		      "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
}

Test(sha256, message_of_896_bits)
{
	const char *m =
	    "abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklm"
	    "nopqklmnopqrlmnopqrsmnopqrstnopqrstu";
	expect_sha256(m, strlen(m),
		      "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1");
}

Test(sha256, one_million_a_fed_in_pieces_of_every_size)
{
	/* pieces of 1, 2, ... 1000 bytes and round again: every offset into a block is met */
	static char a[1000];
	memset(a, 'a', sizeof(a));
	struct sha256_ctx c;
	sha256_init(&c);
	size_t fed = 0;
	for (size_t k = 1; fed < 1000000; k = k % sizeof(a) + 1) {
		size_t n = k < 1000000 - fed ? k : 1000000 - fed;
		sha256_update(&c, a, n);
		fed += n;
	}
	expect_final(&c, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

Test(sha256, two_pieces_split_anywhere_agree_with_one_call)
{
	/* 55, 56 and 64 bytes take the one- and two-block padding paths; every split point
	 * meets the partial-block paths of update */
	char buf[140];
	for (size_t i = 0; i < sizeof(buf); i++)
		buf[i] = (char)('a' + i % 26);
	for (size_t n = 0; n <= sizeof(buf); n++) {
		uint8_t whole[SHA256_DIGEST_LEN];
		sha256(buf, n, whole);
		char want[2 * SHA256_DIGEST_LEN + 1];
		hex(whole, sizeof(whole), want);
		for (size_t k = 0; k <= n; k++) {
			struct sha256_ctx c;
			sha256_init(&c);
			sha256_update(&c, buf, k);
			sha256_update(&c, buf + k, n - k);
			expect_final(&c, want);
		}
	}
}

Test(sha256, final_wipes_the_context)
{
	struct sha256_ctx c, zero;
	memset(&zero, 0, sizeof(zero));
	sha256_init(&c);
	sha256_update(&c, "secret", 6);
	uint8_t d[SHA256_DIGEST_LEN];
	sha256_final(&c, d);
	cr_assert_eq(memcmp(&c, &zero, sizeof(c)), 0);
}

/* ---- HMAC-SHA256, RFC 4231 section 4 ------------------------------------------------------ */

/* MAC of data under key, its first n bytes compared with the hex want. */
static void expect_hmac(const uint8_t *key, size_t key_len, const void *data, size_t data_len,
			size_t n, const char *want)
{
	uint8_t mac[HMAC_SHA256_LEN];
	char got[2 * HMAC_SHA256_LEN + 1];
	hmac_sha256(key, key_len, data, data_len, mac);
	hex(mac, n, got);
	cr_assert_str_eq(got, want);
}

static void fill(uint8_t *p, size_t n, uint8_t b)
{
	memset(p, b, n);
}

Test(hmac, rfc4231_case_1)
{
	uint8_t key[20];
	fill(key, sizeof(key), 0x0b);
	expect_hmac(key, sizeof(key), "Hi There", 8, 32,
		    "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
}

Test(hmac, rfc4231_case_2_key_shorter_than_the_mac)
{
	const char *data = "what do ya want for nothing?";
	expect_hmac((const uint8_t *)"Jefe", 4, data, strlen(data), 32,
		    "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}

Test(hmac, rfc4231_case_3)
{
	uint8_t key[20], data[50];
	fill(key, sizeof(key), 0xaa);
	fill(data, sizeof(data), 0xdd);
	expect_hmac(key, sizeof(key), data, sizeof(data), 32,
		    "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe");
}

Test(hmac, rfc4231_case_4)
{
	uint8_t key[25], data[50];
	for (size_t i = 0; i < sizeof(key); i++)
		key[i] = (uint8_t)(i + 1);
	fill(data, sizeof(data), 0xcd);
	expect_hmac(key, sizeof(key), data, sizeof(data), 32,
		    "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b");
}

Test(hmac, rfc4231_case_5_truncated_to_128_bits)
{
	uint8_t key[20];
	fill(key, sizeof(key), 0x0c);
	expect_hmac(key, sizeof(key), "Test With Truncation", 20, 16,
		    "a3b6167473100ee06e0c796c2955552b");
}

Test(hmac, rfc4231_case_6_key_longer_than_a_block)
{
	uint8_t key[131];
	fill(key, sizeof(key), 0xaa);
	const char *data = "Test Using Larger Than Block-Size Key - Hash Key First";
	expect_hmac(key, sizeof(key), data, strlen(data), 32,
		    "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54");
}

Test(hmac, rfc4231_case_7_key_and_data_longer_than_a_block)
{
	uint8_t key[131];
	fill(key, sizeof(key), 0xaa);
	const char *data = "This is a test using a larger than block-size key and a larger than "
			   "block-size data. The key needs to be hashed before being used by the "
			   "HMAC algorithm.";
	expect_hmac(key, sizeof(key), data, strlen(data), 32,
		    "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2");
}

Test(hmac, fed_in_pieces_equals_one_call)
{
	const uint8_t key[] = "a key";
	const char *data = "a message longer than one SHA-256 block, fed to the MAC in pieces "
			   "of a few bytes each";
	uint8_t one[HMAC_SHA256_LEN], pieces[HMAC_SHA256_LEN];
	hmac_sha256(key, 5, data, strlen(data), one);
	struct hmac_sha256_ctx c;
	hmac_sha256_init(&c, key, 5);
	for (size_t i = 0; i < strlen(data); i += 7) {
		size_t n = strlen(data) - i < 7 ? strlen(data) - i : 7;
		hmac_sha256_update(&c, data + i, n);
	}
	hmac_sha256_final(&c, pieces);
	cr_assert_eq(memcmp(one, pieces, sizeof(one)), 0);
}

Test(hmac, key_of_exactly_one_block_is_not_hashed)
{
	/* a 64-byte key is used as it is; hashing it would give another MAC (RFC 2104 section 2) */
	uint8_t key[SHA256_BLOCK_LEN], hashed[SHA256_DIGEST_LEN];
	fill(key, sizeof(key), 0x42);
	sha256(key, sizeof(key), hashed);
	uint8_t a[HMAC_SHA256_LEN], b[HMAC_SHA256_LEN];
	hmac_sha256(key, sizeof(key), "x", 1, a);
	hmac_sha256(hashed, sizeof(hashed), "x", 1, b);
	cr_assert_neq(memcmp(a, b, sizeof(a)), 0);
	/* 65 bytes are: the MAC is that of the key's digest */
	uint8_t longer[SHA256_BLOCK_LEN + 1];
	fill(longer, sizeof(longer), 0x42);
	sha256(longer, sizeof(longer), hashed);
	hmac_sha256(longer, sizeof(longer), "x", 1, a);
	hmac_sha256(hashed, sizeof(hashed), "x", 1, b);
	cr_assert_eq(memcmp(a, b, sizeof(a)), 0);
}

Test(hmac, equal_compares_every_byte)
{
	uint8_t a[32], b[32];
	fill(a, sizeof(a), 7);
	fill(b, sizeof(b), 7);
	cr_assert(hmac_equal(a, b, sizeof(a)));
	cr_assert(hmac_equal(a, b, 0));
	for (size_t i = 0; i < sizeof(a); i++) {
		b[i] ^= 0x80;
		cr_assert_not(hmac_equal(a, b, sizeof(a)), "byte %zu differs", i);
		b[i] ^= 0x80;
	}
}
