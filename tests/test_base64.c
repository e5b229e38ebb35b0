/*
 * test_base64.c - base64 against RFC 4648 section 10, malformed input refused, and the
 * RFC 6455 handshake example that combines it with SHA-1.
 */
#include "base64.h"
#include "sha1.h"

#include <criterion/criterion.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

Test(base64, rfc4648_vectors)
{
	const char *in[] = { "", "f", "fo", "foo", "foob", "fooba", "foobar" };
	const char *out[] = { "", "Zg==", "Zm8=", "Zm9v", "Zm9vYg==", "Zm9vYmE=", "Zm9vYmFy" };
	for (size_t i = 0; i < 7; i++) {
		char enc[16];
		size_t n = base64_encode((const uint8_t *)in[i], strlen(in[i]), enc);
		cr_assert_str_eq(enc, out[i]);
		cr_assert_eq(n, strlen(out[i]));
		uint8_t dec[16];
		long k = base64_decode(out[i], strlen(out[i]), dec);
		cr_assert_eq(k, (long)strlen(in[i]));
		cr_assert_eq(memcmp(dec, in[i], (size_t)k), 0);
	}
}

Test(base64, decoding_rejects_malformed_input)
{
	uint8_t dec[16];
	const char *bad[] = { "Zg=", "Zg", "Z===", "Zm9v!A==", "=Zm9", "Zg==Zg==", "Zh==", "Zm9=" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		cr_assert_eq(base64_decode(bad[i], strlen(bad[i]), dec), -1, "'%s' accepted",
			     bad[i]);
}

Test(base64, websocket_accept_example_of_rfc6455)
{
	const char *key = "dGhlIHNhbXBsZSBub25jZQ==";
	char buf[128];
	snprintf(buf, sizeof(buf), "%s258EAFA5-E914-47DA-95CA-C5AB0DC85B11", key);
	uint8_t d[SHA1_DIGEST_LEN];
	sha1(buf, strlen(buf), d);
	char accept[BASE64_ENCODED_SIZE(SHA1_DIGEST_LEN)];
	base64_encode(d, sizeof(d), accept);
	cr_assert_str_eq(accept, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
	uint8_t nonce[32];
	cr_assert_eq(base64_decode(key, strlen(key), nonce), 16, "the key is a 16-byte nonce");
}
