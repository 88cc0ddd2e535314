/*
 * jwt.h — JSON Web Tokens as the legacy application issues them
 * (djangorestframework-simplejwt access tokens, HS256).
 */
#ifndef CUTOVER_JWT_H
#define CUTOVER_JWT_H

#include <stddef.h>
#include <stdint.h>

#include "util.h"

struct jwt_params {
	const char *secret;
	const char *user_id_claim;  /* "user_id" */
	const char *issuer;         /* checked when set */
	const char *audience;       /* checked when set */
	int leeway;                 /* seconds of clock skew allowed */
};

enum jwt_status {
	JWT_OK = 0,
	JWT_INVALID,                /* bad form, signature, algorithm, expired, not yet valid … */
	JWT_NO_EXP,                 /* no "exp" claim */
	JWT_NO_ID,                  /* no "jti" claim */
	JWT_NO_TYPE,                /* no "token_type" claim */
	JWT_WRONG_TYPE,             /* a token_type other than "access" (a refresh token) */
	JWT_NO_USER,                /* valid token without a usable user id claim */
};

/*
 * Verify an access token at time now (seconds).  Only HS256 is accepted;
 * "none" and every other algorithm are rejected before any key is used.
 * The signature is compared in constant time.
 */
enum jwt_status jwt_verify(const struct jwt_params *p, const char *token, size_t len,
                           int64_t now, int64_t *user_id);

/*
 * jwt_verify() with a small per-thread cache of tokens already verified:
 * clients send the same token on every request, and checking the signature
 * and parsing the claims again each time costs more than serving a read.
 * Time-based claims are checked on every call; only the signature and claim
 * parsing are remembered, keyed by the exact token text.
 */
enum jwt_status jwt_verify_cached(const struct jwt_params *p, const char *token, size_t len,
                                  int64_t now, int64_t *user_id);

/* Mint an access token like simplejwt's; caller frees. */
char *jwt_mint(const char *secret, int64_t user_id, int64_t now, int64_t ttl);

/* base64url without padding; out_len returned.  Decode returns -1 on bad input. */
size_t b64url_encode(const unsigned char *in, size_t n, char *out);
int b64url_decode(const char *in, size_t n, unsigned char *out, size_t *out_len) MUST_CHECK;

#endif
