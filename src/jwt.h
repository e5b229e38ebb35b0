/*
 * jwt.h - verifying a JSON Web Token (RFC 7519) in JWS compact serialization (RFC 7515)
 * signed with HMAC-SHA256 ("HS256", RFC 7518 section 3.2): the names a website vouches for
 * (--auth-secret; /ws?token=... and /auth TOKEN).
 *
 * Owns: nothing. Pure code: no I/O, no allocation, no global state; any thread. The key is
 * only read, to compute the MAC (hmac.h); it is never copied elsewhere, stored or logged, and
 * neither is the token: jwt_error_text's words say what was wrong, never with what.
 *
 * What a token must be (checked in this order; the first failure is the answer):
 *   1. at most JWT_TOKEN_MAX bytes, three base64url parts (no padding, strict alphabet)
 *      joined by two dots: else JWT_MALFORMED;
 *   2. a header that is a JSON object (json.h: strict, no duplicate names) with "alg"
 *      exactly "HS256": else JWT_MALFORMED, or JWT_BAD_ALG ("none", "HS512", "hs256", no alg,
 *      an alg that is not a string); "typ", when present, exactly "JWT", and no "crit" (no
 *      extension is understood, RFC 7515 section 4.1.11): else JWT_BAD_HEADER;
 *   3. a signature of 32 bytes equal, in constant time, to HMAC-SHA256(key, the header and
 *      payload parts as received, with their dot): else JWT_BAD_SIGNATURE;
 *   4. a payload that is a JSON object: else JWT_MALFORMED;
 *   5. claims (jwt_verify only): "sub" a string of 1 to JWT_SUB_MAX bytes (no U+0000),
 *      "exp" a number (NumericDate, a fraction rounded down), "nbf" a number when present,
 *      "rooms" when present an array of at most JWT_ROOMS_MAX strings of 1 to JWT_ROOM_MAX
 *      bytes: else JWT_BAD_CLAIMS. Other claims (iss, aud, iat, jti...) are not looked at;
 *   6. times, skew seconds allowed each way: now < exp + skew, else JWT_EXPIRED;
 *      now >= nbf - skew, else JWT_NOT_YET_VALID.
 * Whether sub and rooms obey chatd's name rules is the caller's to check (command.h).
 */
#ifndef CHATD_JWT_H
#define CHATD_JWT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The longest token accepted, in bytes (a caller may refuse longer input before reading it). */
#define JWT_TOKEN_MAX 4096
/* The longest decoded payload: the payload part is at most the whole token. */
#define JWT_PAYLOAD_MAX (JWT_TOKEN_MAX / 4 * 3 + 2)
#define JWT_SUB_MAX     64 /* bytes of "sub" */
#define JWT_ROOMS_MAX   16 /* strings in "rooms" */
#define JWT_ROOM_MAX    64 /* bytes of one of them */

enum jwt_error {
	JWT_OK = 0,
	JWT_MALFORMED = -1,     /* not three base64url parts, or a part is not a JSON object */
	JWT_BAD_ALG = -2,       /* alg is not exactly HS256 */
	JWT_BAD_HEADER = -3,    /* typ other than JWT, or crit */
	JWT_BAD_SIGNATURE = -4, /* the MAC does not match */
	JWT_BAD_CLAIMS = -5,    /* sub, exp, nbf or rooms missing or of the wrong form */
	JWT_EXPIRED = -6,       /* past exp (+ skew) */
	JWT_NOT_YET_VALID = -7, /* before nbf (- skew) */
};

struct jwt_claims {
	char sub[JWT_SUB_MAX + 1]; /* NUL-terminated UTF-8 */
	int64_t exp;
	int64_t nbf; /* 0 when absent */
	bool has_nbf;
	size_t room_count; /* 0 when "rooms" is absent (or empty) */
	bool has_rooms;
	char rooms[JWT_ROOMS_MAX][JWT_ROOM_MAX + 1];
};

/*
 * Steps 1 to 4 above: checks token[0..len) (no NUL needed) is an HS256 JWS under
 * key[0..key_len) and decodes its payload into payload[0..JWT_PAYLOAD_MAX), setting
 * *payload_len. Returns JWT_OK or a jwt_error. The payload is a JSON object (json.h) but its
 * claims are not looked at: for checks of the signature alone, and the first half of
 * jwt_verify.
 */
int jwt_check_signature(const char *token, size_t len, const uint8_t *key, size_t key_len,
			uint8_t payload[JWT_PAYLOAD_MAX], size_t *payload_len);

/*
 * Steps 1 to 6: verifies token[0..len) under key[0..key_len) at time now (seconds since the
 * epoch) allowing skew seconds (negative counts as 0) of clock difference, and fills *out.
 * Returns JWT_OK or a jwt_error; *out is meaningful only on JWT_OK.
 */
int jwt_verify(const char *token, size_t len, const uint8_t *key, size_t key_len, int64_t now,
	       int skew, struct jwt_claims *out);

/* Short words for a jwt_error, fit for an error line to the client ("token expired"). */
const char *jwt_error_text(int err);

#endif
