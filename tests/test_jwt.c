/*
 * test_jwt.c - JWT verification (HS256): the RFC 7515 appendix A.1 / RFC 7519 section 3.1
 * example, tokens made by node's crypto module (an independent signer), tokens signed here
 * with hmac.h, and the accept/refuse table of jwt.h's rules. Then (suite token_script)
 * scripts/token.sh's tokens verify.
 */
#include "base64url.h"
#include "hmac.h"
#include "json.h"
#include "jwt.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define NOW  1700000000
#define SKEW 60

static const char secret[] = "chatd-test-secret-0123456789abcdef";
#define KEY     ((const uint8_t *)secret)
#define KEY_LEN (sizeof(secret) - 1)

static char tok[2 * JWT_TOKEN_MAX];
static struct jwt_claims claims;

/* tok = header.payload.signature of the two JSON texts, signed under key. */
static const char *sign_with(const char *header, const char *payload, const uint8_t *key,
			     size_t key_len)
{
	size_t n = base64url_encode((const uint8_t *)header, strlen(header), tok);
	tok[n++] = '.';
	n += base64url_encode((const uint8_t *)payload, strlen(payload), tok + n);
	uint8_t mac[HMAC_SHA256_LEN];
	hmac_sha256(key, key_len, tok, n, mac);
	tok[n++] = '.';
	base64url_encode(mac, sizeof(mac), tok + n);
	return tok;
}

static const char *sign(const char *header, const char *payload)
{
	return sign_with(header, payload, KEY, KEY_LEN);
}

/* A token of the usual header and these claims. */
static const char *with_claims(const char *payload)
{
	return sign("{\"alg\":\"HS256\",\"typ\":\"JWT\"}", payload);
}

static int verify_at(const char *t, int64_t now, int skew)
{
	return jwt_verify(t, strlen(t), KEY, KEY_LEN, now, skew, &claims);
}

static int verify(const char *t)
{
	return verify_at(t, NOW, SKEW);
}

/* ---- RFC 7515 appendix A.1, which is also RFC 7519 section 3.1's example --------------------- */

static const char rfc_token[] =
    "eyJ0eXAiOiJKV1QiLA0KICJhbGciOiJIUzI1NiJ9"
    "."
    "eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0"
    "cnVlfQ"
    "."
    "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";

/* The JWK "k" of appendix A.1, decoded: the 64-byte key. */
static size_t rfc_key(uint8_t out[64])
{
	const char *k = "AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ-EstJQLr_T-1qS0gZH75aKtMN3Yj0iPS4hcgUuTw"
			"jAzZr1Z9CAow";
	uint8_t buf[BASE64URL_DECODED_MAX(86)];
	long n = base64url_decode(k, strlen(k), buf);
	cr_assert_eq(n, 64);
	memcpy(out, buf, 64);
	return 64;
}

Test(jwt, rfc7515_a1_signature_checks_and_payload_is_the_rfc_claims)
{
	uint8_t key[64], payload[JWT_PAYLOAD_MAX];
	size_t key_len = rfc_key(key), n = 0;
	cr_assert_eq(jwt_check_signature(rfc_token, strlen(rfc_token), key, key_len, payload, &n),
		     JWT_OK);
	const char want[] = "{\"iss\":\"joe\",\r\n \"exp\":1300819380,\r\n "
			    "\"http://example.com/is_root\":true}";
	cr_assert_eq(n, strlen(want));
	cr_assert_eq(memcmp(payload, want, n), 0);
	struct json_token t[16];
	struct json_doc doc;
	cr_assert_gt(json_parse(&doc, (const char *)payload, n, t, 16), 0);
	int64_t exp = 0;
	cr_assert_eq(json_get_int(&doc, 0, "exp", &exp), 0);
	cr_assert_eq(exp, 1300819380);
	char iss[8];
	cr_assert_eq(json_get_string(&doc, 0, "iss", iss, sizeof(iss)), 3);
	cr_assert_str_eq(iss, "joe");
}

Test(jwt, rfc7515_a1_under_another_key_is_a_bad_signature)
{
	uint8_t key[64], payload[JWT_PAYLOAD_MAX];
	size_t key_len = rfc_key(key), n;
	key[0] ^= 1;
	cr_assert_eq(jwt_check_signature(rfc_token, strlen(rfc_token), key, key_len, payload, &n),
		     JWT_BAD_SIGNATURE);
}

Test(jwt, rfc7519_3_1_example_has_no_sub_so_its_claims_are_refused)
{
	uint8_t key[64];
	size_t key_len = rfc_key(key);
	cr_assert_eq(
	    jwt_verify(rfc_token, strlen(rfc_token), key, key_len, 1300819000, SKEW, &claims),
	    JWT_BAD_CLAIMS);
}

/* ---- tokens signed by node's crypto module ---------------------------------------------------
 * Made once, when this test was written, by this script (node 20) and pasted below:
 *
 *   const c = require('crypto');
 *   const key = 'chatd-test-secret-0123456789abcdef';
 *   const b = (o) => Buffer.from(JSON.stringify(o)).toString('base64url');
 *   const sign = (h, p, alg = 'sha256') => {
 *     const s = b(h) + '.' + b(p);
 *     return s + '.' + c.createHmac(alg, key).update(s).digest('base64url');
 *   };
 *   const H = { alg: 'HS256', typ: 'JWT' };
 *   console.log(sign(H, { sub: 'alice', exp: 1700003600 }));
 *   console.log(sign(H, { sub: 'bob', exp: 1700003600, nbf: 1699999000, rooms: ['lobby', 'dev'] }));
 *   console.log(sign({ alg: 'HS256' }, { sub: 'zo\u00eb', exp: 1700003600.75, iat: 1699990000 }));
 *   console.log(sign({ alg: 'HS512', typ: 'JWT' }, { sub: 'alice', exp: 1700003600 }, 'sha512'));
 */
static const char node_alice[] =
    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJhbGljZSIsImV4cCI6MTcwMDAwMzYwMH0."
    "4Gm_oROr27YTD94_CFNNm7SYiBLR7hwxVqFDGPE35zY";
static const char node_bob_rooms[] =
    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJib2IiLCJleHAiOjE3MDAwMDM2MDAsIm5iZiI6MT"
    "Y5OTk5OTAwMCwicm9vbXMiOlsibG9iYnkiLCJkZXYiXX0.BWB8ur3bbTepdBkoFfFdjUWl2TB4m1CdQ8t6KAdtrzU";
static const char node_zoe_fraction[] =
    "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ6b8OrIiwiZXhwIjoxNzAwMDAzNjAwLjc1LCJpYXQiOjE2OTk5OTAwMD"
    "B9._9q06ClEFzWJ3SCw6eF1BAGLcGVyd_az_CQ3IEt2o6g";
static const char node_hs512[] =
    "eyJhbGciOiJIUzUxMiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJhbGljZSIsImV4cCI6MTcwMDAwMzYwMH0.Qna4Agm"
    "iw1V4IPX7wUnaybA-AfEm_d1dMroV7NZUqEjlOl2UiJieK8XOqKsj50jECbFJ-jjUwsAyrYPRUvGTow";

Test(jwt, node_token_is_accepted_with_its_sub_and_exp)
{
	cr_assert_eq(verify(node_alice), JWT_OK);
	cr_assert_str_eq(claims.sub, "alice");
	cr_assert_eq(claims.exp, 1700003600);
	cr_assert_not(claims.has_nbf);
	cr_assert_not(claims.has_rooms);
	cr_assert_eq(claims.room_count, 0);
}

Test(jwt, node_token_with_nbf_and_rooms_returns_them)
{
	cr_assert_eq(verify(node_bob_rooms), JWT_OK);
	cr_assert_str_eq(claims.sub, "bob");
	cr_assert(claims.has_nbf);
	cr_assert_eq(claims.nbf, 1699999000);
	cr_assert(claims.has_rooms);
	cr_assert_eq(claims.room_count, 2);
	cr_assert_str_eq(claims.rooms[0], "lobby");
	cr_assert_str_eq(claims.rooms[1], "dev");
}

Test(jwt, node_token_with_utf8_sub_and_fractional_exp_without_typ)
{
	cr_assert_eq(verify(node_zoe_fraction), JWT_OK);
	cr_assert_str_eq(claims.sub, "zo\xc3\xab");
	cr_assert_eq(claims.exp, 1700003600);
}

Test(jwt, node_hs512_token_is_a_bad_alg)
{
	cr_assert_eq(verify(node_hs512), JWT_BAD_ALG);
}

/* ---- accepted ------------------------------------------------------------------------------ */

Test(jwt, good_token_signed_here_is_accepted)
{
	cr_assert_eq(verify(with_claims("{\"sub\":\"carol\",\"exp\":1700000100}")), JWT_OK);
	cr_assert_str_eq(claims.sub, "carol");
	cr_assert_eq(claims.exp, 1700000100);
}

Test(jwt, token_need_not_be_nul_terminated)
{
	const char *t = with_claims("{\"sub\":\"carol\",\"exp\":1700000100}");
	size_t n = strlen(t);
	tok[n] = 'x'; /* a byte after the token, not part of it */
	cr_assert_eq(jwt_verify(t, n, KEY, KEY_LEN, NOW, SKEW, &claims), JWT_OK);
}

Test(jwt, other_claims_and_header_members_are_ignored)
{
	const char *t = sign("{\"kid\":\"k1\",\"alg\":\"HS256\",\"cty\":\"x\"}",
			     "{\"iss\":\"site\",\"aud\":[\"a\"],\"sub\":\"d\",\"exp\":1700000100,"
			     "\"extra\":{\"deep\":[1,2,{\"x\":null}]}}");
	cr_assert_eq(verify(t), JWT_OK);
}

Test(jwt, key_longer_than_a_block_works)
{
	uint8_t key[100];
	memset(key, 0x5a, sizeof(key));
	const char *t = sign_with("{\"alg\":\"HS256\"}", "{\"sub\":\"e\",\"exp\":1700000100}", key,
				  sizeof(key));
	cr_assert_eq(jwt_verify(t, strlen(t), key, sizeof(key), NOW, SKEW, &claims), JWT_OK);
}

/* ---- signature ---------------------------------------------------------------------------- */

Test(jwt, flipped_signature_is_refused)
{
	char *t = (char *)with_claims("{\"sub\":\"a\",\"exp\":1700000100}");
	char *sig = strrchr(t, '.') + 1;
	sig[0] = sig[0] == 'A' ? 'B' : 'A';
	cr_assert_eq(verify(t), JWT_BAD_SIGNATURE);
}

Test(jwt, token_signed_with_another_key_is_refused)
{
	const uint8_t other[] = "another-secret-another-secret-0123";
	const char *t =
	    sign_with("{\"alg\":\"HS256\"}", "{\"sub\":\"a\",\"exp\":1700000100}", other, 34);
	cr_assert_eq(verify(t), JWT_BAD_SIGNATURE);
}

Test(jwt, payload_changed_after_signing_is_refused)
{
	char good[JWT_TOKEN_MAX];
	snprintf(good, sizeof(good), "%s", with_claims("{\"sub\":\"alice\",\"exp\":1700000100}"));
	const char *sig = strrchr(good, '.');
	char forged[sizeof(tok) + sizeof(good)];
	with_claims("{\"sub\":\"admin\",\"exp\":1700000100}");
	*strrchr(tok, '.') = '\0';
	snprintf(forged, sizeof(forged), "%s%s", tok, sig);
	cr_assert_eq(verify(good), JWT_OK);
	cr_assert_eq(verify(forged), JWT_BAD_SIGNATURE);
}

Test(jwt, short_long_or_empty_signature_is_refused)
{
	char *t = (char *)with_claims("{\"sub\":\"a\",\"exp\":1700000100}");
	char *sig = strrchr(t, '.') + 1;
	size_t n = strlen(t);
	strcat(t, "AAAA"); /* 35 bytes */
	cr_assert_eq(verify(t), JWT_BAD_SIGNATURE);
	t[n - 3] = '\0'; /* 40 characters: 30 bytes */
	cr_assert_eq(verify(t), JWT_BAD_SIGNATURE);
	*sig = '\0';
	cr_assert_eq(verify(t), JWT_BAD_SIGNATURE);
}

Test(jwt, empty_key_verifies_nothing)
{
	const char *t = sign_with("{\"alg\":\"HS256\"}", "{\"sub\":\"a\",\"exp\":1700000100}",
				  (const uint8_t *)"", 0);
	cr_assert_eq(jwt_verify(t, strlen(t), (const uint8_t *)"", 0, NOW, SKEW, &claims),
		     JWT_BAD_SIGNATURE);
}

/* ---- header ------------------------------------------------------------------------------- */

static const char body[] = "{\"sub\":\"a\",\"exp\":1700000100}";

Test(jwt, alg_none_without_signature_is_refused)
{
	char t[256];
	char h[64], p[64];
	base64url_encode((const uint8_t *)"{\"alg\":\"none\"}", 14, h);
	base64url_encode((const uint8_t *)body, strlen(body), p);
	snprintf(t, sizeof(t), "%s.%s.", h, p);
	cr_assert_eq(verify(t), JWT_BAD_ALG);
}

Test(jwt, alg_none_with_a_valid_mac_is_refused)
{
	cr_assert_eq(verify(sign("{\"alg\":\"none\",\"typ\":\"JWT\"}", body)), JWT_BAD_ALG);
}

Test(jwt, alg_other_than_exactly_hs256_is_refused)
{
	static const char *const headers[] = {
		"{\"alg\":\"HS512\"}",
		"{\"alg\":\"HS384\"}",
		"{\"alg\":\"hs256\"}",
		"{\"alg\":\"RS256\"}",
		"{\"alg\":\"HS256 \"}",
		"{\"alg\":\"HS2560\"}",
		"{\"alg\":\"HS25\"}",
		"{\"alg\":\"\"}",
		"{\"alg\":256}",
		"{\"alg\":null}",
		"{\"alg\":[\"HS256\"]}",
		"{\"typ\":\"JWT\"}",
		"{}",
		"{\"ALG\":\"HS256\"}",
		"{\"alg\":\"HS256\\u0000\"}",
		NULL,
	};
	for (size_t i = 0; headers[i] != NULL; i++)
		cr_expect_eq(verify(sign(headers[i], body)), JWT_BAD_ALG, "%s", headers[i]);
}

Test(jwt, escaped_hs256_is_hs256)
{
	cr_assert_eq(verify(sign("{\"alg\":\"HS\\u0032\\u00356\"}", body)), JWT_OK);
}

Test(jwt, typ_other_than_jwt_is_refused)
{
	static const char *const headers[] = {
		"{\"alg\":\"HS256\",\"typ\":\"JWS\"}",  "{\"alg\":\"HS256\",\"typ\":\"jwt\"}",
		"{\"alg\":\"HS256\",\"typ\":\"\"}",     "{\"alg\":\"HS256\",\"typ\":1}",
		"{\"alg\":\"HS256\",\"typ\":\"JWTX\"}", NULL
	};
	for (size_t i = 0; headers[i] != NULL; i++)
		cr_expect_eq(verify(sign(headers[i], body)), JWT_BAD_HEADER, "%s", headers[i]);
}

Test(jwt, crit_is_refused)
{
	cr_assert_eq(verify(sign("{\"alg\":\"HS256\",\"crit\":[\"exp\"],\"exp\":1}", body)),
		     JWT_BAD_HEADER);
	cr_assert_eq(verify(sign("{\"alg\":\"HS256\",\"crit\":[]}", body)), JWT_BAD_HEADER);
}

Test(jwt, header_that_is_not_a_json_object_is_malformed)
{
	static const char *const headers[] = { "[\"HS256\"]",
					       "{\"alg\":\"HS256\"",
					       "{\"alg\":\"HS256\",\"alg\":\"HS256\"}",
					       "",
					       "null",
					       NULL };
	for (size_t i = 0; headers[i] != NULL; i++)
		cr_expect_eq(verify(sign(headers[i], body)), JWT_MALFORMED, "%s", headers[i]);
}

/* ---- structure ---------------------------------------------------------------------------- */

Test(jwt, two_or_four_parts_are_malformed)
{
	char *t = (char *)with_claims(body);
	char *last = strrchr(t, '.');
	char four[JWT_TOKEN_MAX];
	snprintf(four, sizeof(four), "%s.AAAA", t);
	cr_assert_eq(verify(four), JWT_MALFORMED);
	snprintf(four, sizeof(four), "%s.", t);
	cr_assert_eq(verify(four), JWT_MALFORMED);
	*last = '\0';
	cr_assert_eq(verify(t), JWT_MALFORMED);
	cr_assert_eq(verify(""), JWT_MALFORMED);
	cr_assert_eq(verify(".."), JWT_MALFORMED);
	cr_assert_eq(verify("abc"), JWT_MALFORMED);
}

/* The good token with character c put at offset 1 of part k (0, 1 or 2). */
static const char *with_char_in_part(int k, char c)
{
	char *t = (char *)with_claims(body);
	char *p = t;
	for (int i = 0; i < k; i++)
		p = strchr(p, '.') + 1;
	p[1] = c;
	return t;
}

Test(jwt, characters_outside_base64url_are_malformed)
{
	const char bad[] = { '+', '/', '*', ' ', '=', '\n', '"' };
	for (int k = 0; k < 3; k++)
		for (size_t i = 0; i < sizeof(bad); i++)
			cr_expect_eq(verify(with_char_in_part(k, bad[i])), JWT_MALFORMED,
				     "part %d, '%c'", k, bad[i]);
}

Test(jwt, padding_is_malformed)
{
	char t[JWT_TOKEN_MAX];
	/* a payload of 29 bytes encodes to 39 characters, which base64 would pad with one '=' */
	const char *p29 = "{\"sub\":\"ab\",\"exp\":1700000100}";
	cr_assert_eq(strlen(p29), 29);
	const char *good = with_claims(p29);
	cr_assert_eq(verify(good), JWT_OK);
	const char *dot2 = strrchr(good, '.');
	snprintf(t, sizeof(t), "%.*s=%s", (int)(dot2 - good), good, dot2);
	cr_assert_eq(verify(t), JWT_MALFORMED);
	snprintf(t, sizeof(t), "%s=", good);
	cr_assert_eq(verify(t), JWT_MALFORMED);
}

Test(jwt, white_space_around_the_token_is_malformed)
{
	char t[JWT_TOKEN_MAX];
	snprintf(t, sizeof(t), "%s\n", with_claims(body));
	cr_assert_eq(verify(t), JWT_MALFORMED);
	snprintf(t, sizeof(t), " %s", with_claims(body));
	cr_assert_eq(verify(t), JWT_MALFORMED);
}

Test(jwt, payload_that_is_not_a_json_object_is_malformed)
{
	static const char *const payloads[] = { "not json",
						"[1]",
						"\"sub\"",
						"{\"sub\":\"a\"",
						"{\"sub\":\"a\",\"sub\":\"b\",\"exp\":1700000100}",
						"",
						NULL };
	for (size_t i = 0; payloads[i] != NULL; i++)
		cr_expect_eq(verify(with_claims(payloads[i])), JWT_MALFORMED, "%s", payloads[i]);
}

/* A good token exactly n bytes long (a filler claim pads it). */
static const char *token_of_length(size_t n)
{
	const char *header = "{\"alg\":\"HS256\",\"typ\":\"JWT\"}";
	char payload[JWT_TOKEN_MAX];
	for (size_t fill = 0; fill + 64 < JWT_TOKEN_MAX; fill++) {
		int len =
		    snprintf(payload, sizeof(payload),
			     "{\"sub\":\"a\",\"exp\":1700000100,\"f\":\"%*s\"}", (int)fill, "");
		/* header . payload . 43 characters of MAC, each part unpadded base64url */
		size_t total = BASE64URL_ENCODED_SIZE(strlen(header)) +
			       BASE64URL_ENCODED_SIZE((size_t)len) + 43;
		if (total == n)
			return sign(header, payload);
	}
	cr_assert_fail("no token of %zu bytes", n);
	return NULL;
}

Test(jwt, token_of_the_length_limit_is_accepted_one_more_byte_refused)
{
	const char *t = token_of_length(JWT_TOKEN_MAX);
	cr_assert_eq(strlen(t), JWT_TOKEN_MAX);
	cr_assert_eq(verify(t), JWT_OK);
	t = token_of_length(JWT_TOKEN_MAX + 1);
	cr_assert_eq(strlen(t), JWT_TOKEN_MAX + 1);
	cr_assert_eq(verify(t), JWT_MALFORMED);
}

/* ---- claims ------------------------------------------------------------------------------- */

static void expect_claims_refused(const char *const *payloads)
{
	for (size_t i = 0; payloads[i] != NULL; i++)
		cr_expect_eq(verify(with_claims(payloads[i])), JWT_BAD_CLAIMS, "%s", payloads[i]);
}

Test(jwt, sub_missing_is_refused)
{
	static const char *const p[] = { "{\"exp\":1700000100}",
					 "{\"Sub\":\"a\",\"exp\":1700000100}", NULL };
	expect_claims_refused(p);
}

Test(jwt, sub_not_a_string_is_refused)
{
	static const char *const p[] = { "{\"sub\":1,\"exp\":1700000100}",
					 "{\"sub\":null,\"exp\":1700000100}",
					 "{\"sub\":[\"a\"],\"exp\":1700000100}",
					 "{\"sub\":{\"name\":\"a\"},\"exp\":1700000100}",
					 "{\"sub\":true,\"exp\":1700000100}",
					 NULL };
	expect_claims_refused(p);
}

Test(jwt, sub_empty_too_long_or_with_nul_is_refused)
{
	static const char *const p[] = {
		"{\"sub\":\"\",\"exp\":1700000100}",
		"{\"sub\":\"a\\u0000b\",\"exp\":1700000100}",
		"{\"sub\":\"" /* 65 bytes */
		"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\","
		"\"exp\":1700000100}",
		NULL,
	};
	expect_claims_refused(p);
	cr_assert_eq(
	    verify(with_claims("{\"sub\":\"" /* 64 bytes */
			       "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
			       "\",\"exp\":1700000100}")),
	    JWT_OK);
	cr_assert_eq(strlen(claims.sub), JWT_SUB_MAX);
}

Test(jwt, exp_missing_or_not_a_number_is_refused)
{
	static const char *const p[] = { "{\"sub\":\"a\"}",
					 "{\"sub\":\"a\",\"exp\":\"1700000100\"}",
					 "{\"sub\":\"a\",\"exp\":null}",
					 "{\"sub\":\"a\",\"exp\":1e30}", NULL };
	expect_claims_refused(p);
}

Test(jwt, nbf_not_a_number_is_refused)
{
	static const char *const p[] = { "{\"sub\":\"a\",\"exp\":1700000100,\"nbf\":\"0\"}",
					 "{\"sub\":\"a\",\"exp\":1700000100,\"nbf\":false}", NULL };
	expect_claims_refused(p);
}

Test(jwt, rooms_not_an_array_of_strings_is_refused)
{
	static const char *const p[] = {
		"{\"sub\":\"a\",\"exp\":1700000100,\"rooms\":\"lobby\"}",
		"{\"sub\":\"a\",\"exp\":1700000100,\"rooms\":[\"lobby\",1]}",
		"{\"sub\":\"a\",\"exp\":1700000100,\"rooms\":[[\"lobby\"]]}",
		"{\"sub\":\"a\",\"exp\":1700000100,\"rooms\":[null]}",
		"{\"sub\":\"a\",\"exp\":1700000100,\"rooms\":{\"lobby\":true}}",
		"{\"sub\":\"a\",\"exp\":1700000100,\"rooms\":[\"\"]}",
		NULL,
	};
	expect_claims_refused(p);
}

Test(jwt, rooms_beyond_their_bounds_are_refused)
{
	char p[1024];
	size_t n = (size_t)snprintf(p, sizeof(p), "{\"sub\":\"a\",\"exp\":1700000100,\"rooms\":[");
	for (int i = 0; i < JWT_ROOMS_MAX; i++)
		n += (size_t)snprintf(p + n, sizeof(p) - n, "%s\"r%d\"", i ? "," : "", i);
	snprintf(p + n, sizeof(p) - n, "]}");
	cr_assert_eq(verify(with_claims(p)), JWT_OK);
	cr_assert_eq(claims.room_count, JWT_ROOMS_MAX);
	snprintf(p + n, sizeof(p) - n, ",\"one-more\"]}");
	cr_assert_eq(verify(with_claims(p)), JWT_BAD_CLAIMS);
	snprintf(p, sizeof(p), "{\"sub\":\"a\",\"exp\":1700000100,\"rooms\":[\"%0*d\"]}",
		 JWT_ROOM_MAX + 1, 0);
	cr_assert_eq(verify(with_claims(p)), JWT_BAD_CLAIMS);
}

Test(jwt, empty_rooms_array_is_present_and_empty)
{
	cr_assert_eq(verify(with_claims("{\"sub\":\"a\",\"exp\":1700000100,\"rooms\":[]}")),
		     JWT_OK);
	cr_assert(claims.has_rooms);
	cr_assert_eq(claims.room_count, 0);
}

/* ---- time --------------------------------------------------------------------------------- */

/* A token for sub "t" with exp (and nbf unless has_nbf is 0). */
static const char *timed(int64_t exp, int has_nbf, int64_t nbf)
{
	char p[128];
	if (has_nbf)
		snprintf(p, sizeof(p), "{\"sub\":\"t\",\"exp\":%lld,\"nbf\":%lld}", (long long)exp,
			 (long long)nbf);
	else
		snprintf(p, sizeof(p), "{\"sub\":\"t\",\"exp\":%lld}", (long long)exp);
	return with_claims(p);
}

Test(jwt, expired_token_is_refused)
{
	cr_assert_eq(verify_at(timed(NOW - 3600, 0, 0), NOW, SKEW), JWT_EXPIRED);
}

Test(jwt, expired_within_the_skew_is_accepted)
{
	cr_assert_eq(verify_at(timed(NOW - 30, 0, 0), NOW, SKEW), JWT_OK);
	cr_assert_eq(verify_at(timed(NOW - SKEW + 1, 0, 0), NOW, SKEW), JWT_OK);
	cr_assert_eq(verify_at(timed(NOW - SKEW, 0, 0), NOW, SKEW), JWT_EXPIRED);
}

Test(jwt, exp_is_the_first_second_no_longer_valid)
{
	cr_assert_eq(verify_at(timed(NOW + 1, 0, 0), NOW, 0), JWT_OK);
	cr_assert_eq(verify_at(timed(NOW, 0, 0), NOW, 0), JWT_EXPIRED);
}

Test(jwt, nbf_in_the_future_is_refused)
{
	cr_assert_eq(verify_at(timed(NOW + 7200, 1, NOW + 3600), NOW, SKEW), JWT_NOT_YET_VALID);
}

Test(jwt, nbf_within_the_skew_is_accepted)
{
	cr_assert_eq(verify_at(timed(NOW + 7200, 1, NOW + 30), NOW, SKEW), JWT_OK);
	cr_assert_eq(verify_at(timed(NOW + 7200, 1, NOW + SKEW), NOW, SKEW), JWT_OK);
	cr_assert_eq(verify_at(timed(NOW + 7200, 1, NOW + SKEW + 1), NOW, SKEW), JWT_NOT_YET_VALID);
	cr_assert_eq(verify_at(timed(NOW + 7200, 1, NOW), NOW, 0), JWT_OK);
}

Test(jwt, negative_skew_counts_as_none)
{
	cr_assert_eq(verify_at(timed(NOW + 1, 0, 0), NOW, -100), JWT_OK);
	cr_assert_eq(verify_at(timed(NOW, 0, 0), NOW, -100), JWT_EXPIRED);
	cr_assert_eq(verify_at(timed(NOW + 10, 1, NOW + 1), NOW, -100), JWT_NOT_YET_VALID);
}

Test(jwt, times_at_the_ends_of_int64_do_not_overflow)
{
	cr_assert_eq(verify_at(timed(INT64_MAX, 1, INT64_MIN), NOW, SKEW), JWT_OK);
	cr_assert_eq(verify_at(timed(INT64_MIN, 0, 0), NOW, SKEW), JWT_EXPIRED);
	cr_assert_eq(verify_at(timed(INT64_MAX, 1, INT64_MAX), NOW, SKEW), JWT_NOT_YET_VALID);
}

Test(jwt, claims_are_checked_before_times)
{
	/* an expired token with a bad sub says what is wrong with its form first */
	cr_assert_eq(verify(with_claims("{\"sub\":1,\"exp\":1}")), JWT_BAD_CLAIMS);
}

/* ---- wording ------------------------------------------------------------------------------ */

Test(jwt, every_error_has_its_own_words)
{
	const int codes[] = { JWT_OK,         JWT_MALFORMED,     JWT_BAD_ALG,
			      JWT_BAD_HEADER, JWT_BAD_SIGNATURE, JWT_BAD_CLAIMS,
			      JWT_EXPIRED,    JWT_NOT_YET_VALID };
	for (size_t i = 0; i < sizeof(codes) / sizeof(codes[0]); i++) {
		const char *a = jwt_error_text(codes[i]);
		cr_assert(a != NULL && a[0] != '\0' && strlen(a) < 64);
		cr_assert_null(strchr(a, '\n'));
		for (size_t j = 0; j < i; j++)
			cr_assert_str_neq(a, jwt_error_text(codes[j]));
	}
	cr_assert_str_eq(jwt_error_text(-99), "token refused");
	cr_assert_str_eq(jwt_error_text(JWT_EXPIRED), "token expired");
}

/* ---- scripts/token.sh --------------------------------------------------------------------- */

/* Runs cmd through the shell: the exit status, and the first line of its output (without its
 * newline) in out. */
static int shell_line(const char *cmd, char *out, size_t cap)
{
	/* NOLINTNEXTLINE(cert-env33-c): runs scripts/token.sh through the shell on purpose */
	FILE *f = popen(cmd, "r");
	cr_assert_not_null(f);
	if (fgets(out, (int)cap, f) == NULL)
		out[0] = '\0';
	out[strcspn(out, "\n")] = '\0';
	while (fgetc(f) != EOF)
		; /* the rest, so the child is not cut off by a closed pipe */
	int status = pclose(f);
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* Runs scripts/token.sh with args; its token into out. False when it failed. */
static bool run_token_script(const char *args, char *out, size_t cap)
{
	char cmd[512];
	snprintf(cmd, sizeof(cmd), "./scripts/token.sh %s 2>/dev/null", args);
	return shell_line(cmd, out, cap) == 0 && out[0] != '\0';
}

static char secret_path[64];

static void secret_file(const char *content)
{
	snprintf(secret_path, sizeof(secret_path), "/tmp/chatd-token-test-XXXXXX");
	int fd = mkstemp(secret_path);
	cr_assert_geq(fd, 0);
	cr_assert_eq(write(fd, content, strlen(content)), (ssize_t)strlen(content));
	close(fd);
}

static void remove_secret(void)
{
	if (secret_path[0] != '\0')
		unlink(secret_path);
}

static void need_openssl(void)
{
	char path[256];
	if (shell_line("command -v openssl", path, sizeof(path)) != 0)
		cr_skip_test("no openssl here");
}

Test(token_script, minted_token_verifies_with_its_name_and_ttl, .timeout = 30,
     .fini = remove_secret)
{
	need_openssl();
	secret_file("chatd-test-secret-0123456789abcdef\n"); /* the final LF is not key */
	char args[128], t[JWT_TOKEN_MAX];
	snprintf(args, sizeof(args), "dora %s 600", secret_path);
	cr_assert(run_token_script(args, t, sizeof(t)));
	int64_t now = (int64_t)time(NULL);
	cr_assert_eq(jwt_verify(t, strlen(t), KEY, KEY_LEN, now, SKEW, &claims), JWT_OK, "%s", t);
	cr_assert_str_eq(claims.sub, "dora");
	cr_assert(claims.exp >= now + 600 - 5 && claims.exp <= now + 600 + 5);
	cr_assert_eq(jwt_verify(t, strlen(t), KEY, KEY_LEN, now + 700, SKEW, &claims), JWT_EXPIRED);
}

Test(token_script, long_key_in_a_crlf_file_is_hashed_first, .timeout = 30, .fini = remove_secret)
{
	need_openssl();
	char key[101];
	memset(key, 'k', 100);
	key[100] = '\0';
	char content[110];
	snprintf(content, sizeof(content), "%s\r\n", key);
	secret_file(content);
	char args[128], t[JWT_TOKEN_MAX];
	snprintf(args, sizeof(args), "'quote\"me' %s", secret_path);
	cr_assert(run_token_script(args, t, sizeof(t)));
	cr_assert_eq(
	    jwt_verify(t, strlen(t), (const uint8_t *)key, 100, (int64_t)time(NULL), SKEW, &claims),
	    JWT_OK, "%s", t);
	cr_assert_str_eq(claims.sub, "quote\"me");
}

Test(token_script, short_key_is_refused, .timeout = 30, .fini = remove_secret)
{
	need_openssl();
	secret_file("too short\n");
	char args[128], t[JWT_TOKEN_MAX];
	snprintf(args, sizeof(args), "dora %s", secret_path);
	cr_assert_not(run_token_script(args, t, sizeof(t)));
}
