/*
 * test_base64url.c - base64url without padding: the RFC 4648 section 10 vectors, the two
 * characters that differ from base64, round trips, and every kind of input it must refuse.
 */
#include "base64url.h"

#include <criterion/criterion.h>
#include <string.h>

static void expect_pair(const char *plain, const char *encoded)
{
	char out[BASE64URL_ENCODED_SIZE(16)];
	cr_assert_eq(base64url_encode((const uint8_t *)plain, strlen(plain), out), strlen(encoded));
	cr_assert_str_eq(out, encoded);
	uint8_t back[BASE64URL_DECODED_MAX(24)];
	long n = base64url_decode(encoded, strlen(encoded), back);
	cr_assert_eq(n, (long)strlen(plain), "%s", encoded);
	cr_assert_eq(memcmp(back, plain, (size_t)n), 0);
}

static long decode(const char *s)
{
	uint8_t out[64];
	return base64url_decode(s, strlen(s), out);
}

Test(base64url, rfc4648_vectors_without_padding)
{
	expect_pair("", "");
	expect_pair("f", "Zg");
	expect_pair("fo", "Zm8");
	expect_pair("foo", "Zm9v");
	expect_pair("foob", "Zm9vYg");
	expect_pair("fooba", "Zm9vYmE");
	expect_pair("foobar", "Zm9vYmFy");
}

Test(base64url, dash_and_underscore_stand_for_62_and_63)
{
	const uint8_t in[] = { 0xfb, 0xff };
	char out[BASE64URL_ENCODED_SIZE(2)];
	base64url_encode(in, sizeof(in), out);
	cr_assert_str_eq(out, "-_8");
	uint8_t back[4];
	cr_assert_eq(base64url_decode("-_8", 3, back), 2);
	cr_assert_eq(memcmp(back, in, 2), 0);
}

Test(base64url, every_byte_value_and_length_round_trips)
{
	uint8_t in[256], back[BASE64URL_DECODED_MAX(344)];
	char out[BASE64URL_ENCODED_SIZE(256)];
	for (size_t i = 0; i < sizeof(in); i++)
		in[i] = (uint8_t)(255 - i);
	for (size_t n = 0; n <= sizeof(in); n++) {
		size_t len = base64url_encode(in, n, out);
		cr_assert_eq(len, (n * 8 + 5) / 6, "length %zu", n);
		cr_assert_eq(base64url_decode(out, len, back), (long)n);
		cr_assert_eq(memcmp(back, in, n), 0);
	}
}

Test(base64url, padding_is_refused)
{
	cr_assert_eq(decode("Zg=="), -1);
	cr_assert_eq(decode("Zm8="), -1);
}

Test(base64url, standard_alphabet_and_other_characters_are_refused)
{
	cr_assert_eq(decode("+_8A"), -1);
	cr_assert_eq(decode("-/8A"), -1);
	cr_assert_eq(decode("Zm 9v"), -1);
	cr_assert_eq(decode("Zm9v\n"), -1);
	cr_assert_eq(decode("Zm.v"), -1);
	uint8_t out[4];
	cr_assert_eq(base64url_decode("Zm\0v", 4, out), -1);
	cr_assert_eq(base64url_decode("Zm\xc3\xa9", 4, out), -1);
}

Test(base64url, a_length_of_4k_plus_1_is_refused)
{
	cr_assert_eq(decode("Z"), -1);
	cr_assert_eq(decode("Zm9vY"), -1);
}

Test(base64url, nonzero_leftover_bits_are_refused)
{
	/* "Zg" is "f"; "Zh" would be "f" too with a 1 in the bits that do not make a byte */
	cr_assert_eq(decode("Zg"), 1);
	cr_assert_eq(decode("Zh"), -1);
	cr_assert_eq(decode("Zm8"), 2);
	cr_assert_eq(decode("Zm9"), -1);
}
