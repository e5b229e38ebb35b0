/*
 * jwt.c - see jwt.h. The steps of jwt.h's list, one function each.
 */
#include "jwt.h"

#include "base64url.h"
#include "hmac.h"
#include "json.h"

#include <string.h>

#define HEADER_TOKENS 32  /* JSON values a header may hold */
#define CLAIM_TOKENS  256 /* JSON values a payload may hold */

/* The three parts of a token, decoded, with the bytes the MAC covers. */
struct jws {
	const char *signed_part; /* "header.payload" as received */
	size_t signed_len;
	uint8_t header[JWT_PAYLOAD_MAX];
	size_t header_len;
	uint8_t *payload; /* the caller's JWT_PAYLOAD_MAX bytes */
	size_t payload_len;
	uint8_t sig[JWT_PAYLOAD_MAX];
	size_t sig_len;
};

/* Decodes in[0..n) into out; false when it is not base64url. */
static bool decode_part(const char *in, size_t n, uint8_t *out, size_t *out_len)
{
	long r = base64url_decode(in, n, out);
	if (r < 0)
		return false;
	*out_len = (size_t)r;
	return true;
}

/* Step 1: three base64url parts. */
static int jws_split(struct jws *j, const char *token, size_t len)
{
	if (len > JWT_TOKEN_MAX)
		return JWT_MALFORMED;
	const char *dot1 = memchr(token, '.', len);
	if (dot1 == NULL)
		return JWT_MALFORMED;
	const char *p = dot1 + 1, *end = token + len;
	const char *dot2 = memchr(p, '.', (size_t)(end - p));
	if (dot2 == NULL)
		return JWT_MALFORMED;
	const char *s = dot2 + 1;
	if (memchr(s, '.', (size_t)(end - s)) != NULL)
		return JWT_MALFORMED;
	j->signed_part = token;
	j->signed_len = (size_t)(dot2 - token);
	/* each part is shorter than the token, so each fits a JWT_PAYLOAD_MAX buffer */
	if (!decode_part(token, (size_t)(dot1 - token), j->header, &j->header_len) ||
	    !decode_part(p, (size_t)(dot2 - p), j->payload, &j->payload_len) ||
	    !decode_part(s, (size_t)(end - s), j->sig, &j->sig_len))
		return JWT_MALFORMED;
	return JWT_OK;
}

/* Step 2: the header names HS256 and nothing this reader does not understand. */
static int jws_check_header(const struct jws *j)
{
	struct json_token tokens[HEADER_TOKENS];
	struct json_doc doc;
	if (json_parse(&doc, (const char *)j->header, j->header_len, tokens, HEADER_TOKENS) < 0)
		return JWT_MALFORMED;
	char word[sizeof("HS256")];
	if (json_get_string(&doc, 0, "alg", word, sizeof(word)) < 0 || strcmp(word, "HS256") != 0)
		return JWT_BAD_ALG;
	if (json_find(&doc, 0, "crit") != JSON_ABSENT)
		return JWT_BAD_HEADER;
	int typ = json_get_string(&doc, 0, "typ", word, sizeof(word));
	if (typ != JSON_ABSENT && (typ < 0 || strcmp(word, "JWT") != 0))
		return JWT_BAD_HEADER;
	return JWT_OK;
}

/* Step 3: the MAC, compared in constant time. An empty key verifies nothing. */
static int jws_check_mac(const struct jws *j, const uint8_t *key, size_t key_len)
{
	if (j->sig_len != HMAC_SHA256_LEN || key_len == 0)
		return JWT_BAD_SIGNATURE;
	uint8_t mac[HMAC_SHA256_LEN];
	hmac_sha256(key, key_len, j->signed_part, j->signed_len, mac);
	bool ok = hmac_equal(mac, j->sig, sizeof(mac));
	explicit_bzero(mac, sizeof(mac));
	return ok ? JWT_OK : JWT_BAD_SIGNATURE;
}

/* Steps 1 to 4: the payload decoded into payload[0..*payload_len) and read into doc, with
 * tokens[0..CLAIM_TOKENS). */
static int jws_verify(const char *token, size_t len, const uint8_t *key, size_t key_len,
		      uint8_t *payload, size_t *payload_len, struct json_token *tokens,
		      struct json_doc *doc)
{
	struct jws j = { .payload = payload };
	int r = jws_split(&j, token, len);
	if (r == JWT_OK)
		r = jws_check_header(&j);
	if (r == JWT_OK)
		r = jws_check_mac(&j, key, key_len);
	if (r != JWT_OK)
		return r;
	if (json_parse(doc, (const char *)payload, j.payload_len, tokens, CLAIM_TOKENS) < 0)
		return JWT_MALFORMED;
	*payload_len = j.payload_len;
	return JWT_OK;
}

int jwt_check_signature(const char *token, size_t len, const uint8_t *key, size_t key_len,
			uint8_t payload[JWT_PAYLOAD_MAX], size_t *payload_len)
{
	struct json_token tokens[CLAIM_TOKENS];
	struct json_doc doc;
	return jws_verify(token, len, key, key_len, payload, payload_len, tokens, &doc);
}

/* Step 5: the claims chatd reads, into out. */
static int claims_read(const struct json_doc *doc, struct jwt_claims *out)
{
	memset(out, 0, sizeof(*out));
	if (json_get_string(doc, 0, "sub", out->sub, sizeof(out->sub)) <= 0)
		return JWT_BAD_CLAIMS;
	if (json_get_int(doc, 0, "exp", &out->exp) < 0)
		return JWT_BAD_CLAIMS;
	int r = json_get_int(doc, 0, "nbf", &out->nbf);
	if (r < 0 && r != JSON_ABSENT)
		return JWT_BAD_CLAIMS;
	out->has_nbf = r == 0;
	r = json_get_string_array(doc, 0, "rooms", &out->rooms[0][0], sizeof(out->rooms[0]),
				  JWT_ROOMS_MAX);
	if (r == JSON_ABSENT)
		return JWT_OK;
	if (r < 0)
		return JWT_BAD_CLAIMS;
	out->has_rooms = true;
	out->room_count = (size_t)r;
	for (size_t i = 0; i < out->room_count; i++)
		if (out->rooms[i][0] == '\0')
			return JWT_BAD_CLAIMS;
	return JWT_OK;
}

/* Step 6: exp and nbf against now, skew seconds allowed (no overflow at the int64 ends). */
static int claims_check_time(const struct jwt_claims *c, int64_t now, int skew)
{
	int64_t allow = skew > 0 ? skew : 0;
	int64_t until, from;
	if (!__builtin_add_overflow(c->exp, allow, &until) && now >= until)
		return JWT_EXPIRED;
	if (c->has_nbf && !__builtin_sub_overflow(c->nbf, allow, &from) && now < from)
		return JWT_NOT_YET_VALID;
	return JWT_OK;
}

int jwt_verify(const char *token, size_t len, const uint8_t *key, size_t key_len, int64_t now,
	       int skew, struct jwt_claims *out)
{
	uint8_t payload[JWT_PAYLOAD_MAX];
	struct json_token tokens[CLAIM_TOKENS];
	struct json_doc doc;
	size_t n;
	int r = jws_verify(token, len, key, key_len, payload, &n, tokens, &doc);
	if (r != JWT_OK)
		return r;
	r = claims_read(&doc, out);
	if (r != JWT_OK)
		return r;
	return claims_check_time(out, now, skew);
}

const char *jwt_error_text(int err)
{
	switch (err) {
	case JWT_OK:
		return "token accepted";
	case JWT_MALFORMED:
		return "malformed token";
	case JWT_BAD_ALG:
		return "token algorithm must be HS256";
	case JWT_BAD_HEADER:
		return "unsupported token header (typ or crit)";
	case JWT_BAD_SIGNATURE:
		return "bad token signature";
	case JWT_BAD_CLAIMS:
		return "bad token claims (sub, exp, nbf or rooms)";
	case JWT_EXPIRED:
		return "token expired";
	case JWT_NOT_YET_VALID:
		return "token not yet valid";
	default:
		return "token refused";
	}
}
