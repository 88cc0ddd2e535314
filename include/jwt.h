/*
 * jwt.h — JSON Web Tokens as the legacy application issues them
 * (djangorestframework-simplejwt access tokens): HS256/384/512 with a
 * shared secret, RS256 and ES256 with public keys from a PEM file or a
 * JWKS document.  Which algorithms are accepted is configuration; the
 * token's own "alg" only picks among them.
 */
#ifndef CUTOVER_JWT_H
#define CUTOVER_JWT_H

#include <stddef.h>
#include <stdint.h>

#include "util.h"

enum jwt_alg { JWT_HS256, JWT_HS384, JWT_HS512, JWT_RS256, JWT_ES256, JWT_ALG_COUNT };

#define JWT_ALG_BIT(a) (1u << (a))
#define JWT_HMAC_ALGS (JWT_ALG_BIT(JWT_HS256) | JWT_ALG_BIT(JWT_HS384) | JWT_ALG_BIT(JWT_HS512))
#define JWT_KEY_ALGS (JWT_ALG_BIT(JWT_RS256) | JWT_ALG_BIT(JWT_ES256))
#define JWT_MAX_ROLES 32
#define JWT_TOKEN_MAX 8192       /* a longer token is refused unread */

/* "HS256" … "ES256" (exact case) → enum jwt_alg; -1 when unknown. */
int jwt_alg_parse(const char *name);

/* Public keys for RS256 and ES256, each with its JWKS "kid" when it has one. */
struct jwt_keyset;

/* From a PEM file (one public key) and/or a JWKS file (its RSA and P-256
 * keys meant for signatures); NULL with err when neither yields a key or a
 * key is unusable (RSA under 2048 bits, a curve other than P-256). */
struct jwt_keyset *jwt_keyset_load(const char *pem_path, const char *jwks_path, struct error *err);
size_t jwt_keyset_size(const struct jwt_keyset *ks);
void jwt_keyset_free(struct jwt_keyset *ks);

struct jwt_params {
	unsigned algs;              /* JWT_ALG_BIT()s accepted */
	const char *secret;         /* HS* */
	const struct jwt_keyset *keys;      /* RS256, ES256 */
	const char *user_id_claim;  /* "user_id" */
	const char *issuer;         /* checked when set */
	const char *audience;       /* checked when set */
	const char *const *required;        /* claims that must be present, beyond exp */
	size_t nrequired;
	const char *role_claim;     /* a string or array of strings naming roles; NULL: none */
	const char *const *roles;   /* the role names the configuration knows, at most JWT_MAX_ROLES */
	size_t nroles;
	int leeway;                 /* seconds of clock skew allowed */
};

/* Who a valid token speaks for. */
struct jwt_principal {
	int64_t user_id;
	uint32_t roles;             /* bit i: roles[i] is granted */
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
 * Verify an access token at time now (seconds).  Its "alg" must be one of
 * p->algs, spelled exactly; "none" and every other algorithm are rejected
 * before any key is used, and an HMAC token is only ever checked against
 * the secret, never a public key.  HMACs are compared in constant time.
 */
enum jwt_status jwt_verify(const struct jwt_params *p, const char *token, size_t len,
                           int64_t now, struct jwt_principal *who);

/*
 * jwt_verify() with a small per-thread cache of tokens already verified:
 * clients send the same token on every request, and checking the signature
 * and parsing the claims again each time costs more than serving a read.
 * Time-based claims are checked on every call; only the signature and claim
 * parsing are remembered, keyed by the exact token text.
 */
enum jwt_status jwt_verify_cached(const struct jwt_params *p, const char *token, size_t len,
                                  int64_t now, struct jwt_principal *who);

/* Mint an access token like simplejwt's; caller frees. */
char *jwt_mint(const char *secret, int64_t user_id, int64_t now, int64_t ttl);
/* The same signed with a private key's PEM file (RSA: RS256, P-256:
 * ES256), naming kid when given; NULL with err. */
char *jwt_mint_key(const char *pem_path, const char *kid, int64_t user_id, int64_t now, int64_t ttl,
                   struct error *err);

/* base64url without padding; out_len returned.  Decode returns -1 on bad input. */
size_t b64url_encode(const unsigned char *in, size_t n, char *out);
int b64url_decode(const char *in, size_t n, unsigned char *out, size_t *out_len) MUST_CHECK;

#endif
