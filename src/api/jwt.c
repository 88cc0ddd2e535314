/*
 * jwt.c — token verification (HMAC, RSA, ECDSA), key files, and minting
 * (see jwt.h).
 */
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>

#include "json.h"
#include "jwt.h"

static const char b64url[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

size_t b64url_encode(const unsigned char *in, size_t n, char *out)
{
	size_t i, o = 0;

	for (i = 0; i + 2 < n; i += 3) {
		uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];

		out[o++] = b64url[v >> 18];
		out[o++] = b64url[(v >> 12) & 63];
		out[o++] = b64url[(v >> 6) & 63];
		out[o++] = b64url[v & 63];
	}
	if (n - i == 1) {
		uint32_t v = (uint32_t)in[i] << 16;

		out[o++] = b64url[v >> 18];
		out[o++] = b64url[(v >> 12) & 63];
	} else if (n - i == 2) {
		uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8;

		out[o++] = b64url[v >> 18];
		out[o++] = b64url[(v >> 12) & 63];
		out[o++] = b64url[(v >> 6) & 63];
	}
	out[o] = '\0';
	return o;
}

int b64url_decode(const char *in, size_t n, unsigned char *out, size_t *out_len)
{
	uint32_t acc = 0;
	size_t i, o = 0;
	int bits = 0;

	if (n % 4 == 1)
		return -1;
	for (i = 0; i < n; i++) {
		const char *p = in[i] ? strchr(b64url, in[i]) : NULL;

		if (!p)
			return -1;
		acc = acc << 6 | (uint32_t)(p - b64url);
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[o++] = (unsigned char)(acc >> bits);
			acc &= (1u << bits) - 1;
		}
	}
	if (acc != 0)               /* non-canonical trailing bits */
		return -1;
	*out_len = o;
	return 0;
}

static const char *const alg_names[JWT_ALG_COUNT] = {"HS256", "HS384", "HS512", "RS256", "ES256"};

/* The algorithm n bytes at p name, spelled exactly; -1 when none. */
static int alg_of(const char *p, size_t n)
{
	int i;

	for (i = 0; i < JWT_ALG_COUNT; i++)
		if (str_eq(p, n, alg_names[i]))
			return i;
	return -1;
}

int jwt_alg_parse(const char *name)
{
	return alg_of(name, strlen(name));
}

static const EVP_MD *alg_md(enum jwt_alg a)
{
	return a == JWT_HS384 ? EVP_sha384() : a == JWT_HS512 ? EVP_sha512() : EVP_sha256();
}

static void hs256(const char *secret, const char *data, size_t n, unsigned char mac[32])
{
	unsigned int len = 32;

	HMAC(EVP_sha256(), secret, (int)strlen(secret), (const unsigned char *)data, n, mac, &len);
}

/* Keys ------------------------------------------------------------------ */

#define MAX_KEYS 32
#define KID_MAX 256

struct jwt_key {
	char *kid;                  /* NULL: a PEM key, or a JWKS key without one */
	enum jwt_alg alg;           /* RS256 or ES256: what the key's type signs */
	EVP_PKEY *pkey;
};

struct jwt_keyset {
	struct jwt_key keys[MAX_KEYS];
	size_t n;
};

size_t jwt_keyset_size(const struct jwt_keyset *ks)
{
	return ks ? ks->n : 0;
}

void jwt_keyset_free(struct jwt_keyset *ks)
{
	size_t i;

	if (!ks)
		return;
	for (i = 0; i < ks->n; i++) {
		free(ks->keys[i].kid);
		EVP_PKEY_free(ks->keys[i].pkey);
	}
	free(ks);
}

/* An RSA key of 2048 bits or more, or a P-256 key: its algorithm, else -1. */
static int key_alg(EVP_PKEY *k, const char *where, struct error *err)
{
	char group[64] = "";

	if (EVP_PKEY_get_base_id(k) == EVP_PKEY_RSA) {
		if (EVP_PKEY_get_bits(k) >= 2048)
			return JWT_RS256;
		error_set(err, 0, "%s: an RSA key of %d bits; RS256 needs at least 2048", where, EVP_PKEY_get_bits(k));
		return -1;
	}
	if (EVP_PKEY_get_base_id(k) == EVP_PKEY_EC &&
	    EVP_PKEY_get_utf8_string_param(k, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof(group), NULL) == 1 &&
	    strcmp(group, "prime256v1") == 0)
		return JWT_ES256;
	error_set(err, 0, "%s: not an RSA or P-256 public key", where);
	return -1;
}

static int keyset_add(struct jwt_keyset *ks, EVP_PKEY *k, const char *kid, size_t kidlen, const char *where,
                      struct error *err)
{
	int alg = key_alg(k, where, err);

	if (alg < 0 || ks->n == MAX_KEYS) {
		if (alg >= 0)
			error_set(err, 0, "%s: more than %d keys", where, MAX_KEYS);
		EVP_PKEY_free(k);
		return -1;
	}
	ks->keys[ks->n].alg = (enum jwt_alg)alg;
	ks->keys[ks->n].pkey = k;
	if (kid) {
		ks->keys[ks->n].kid = xmalloc(kidlen + 1);
		memcpy(ks->keys[ks->n].kid, kid, kidlen);
		ks->keys[ks->n].kid[kidlen] = '\0';
	}
	ks->n++;
	return 0;
}

/* A key file: a regular file of at most 1 MiB (not a device or a pipe a
 * mistyped path could name), whole; caller frees. */
#define KEY_FILE_MAX (1 << 20)

static char *key_file(const char *path, const char *what, size_t *len, struct error *err)
{
	struct stat st;

	if (stat(path, &st) != 0) {
		error_set(err, 0, "%s %s: cannot read it: %s", what, path, strerror(errno));
		return NULL;
	}
	if (!S_ISREG(st.st_mode) || st.st_size > KEY_FILE_MAX) {
		error_set(err, 0, "%s %s: not a regular file of at most 1 MiB", what, path);
		return NULL;
	}
	return read_file(path, len, err);
}

/* The key in a PEM file: a public one (BEGIN PUBLIC KEY) or a private one;
 * NULL with err. */
static EVP_PKEY *pem_key(const char *path, bool private, struct error *err)
{
	size_t len;
	char *text = key_file(path, private ? "key" : "public_key", &len, err);
	BIO *bio;
	EVP_PKEY *k;

	if (!text)
		return NULL;
	bio = BIO_new_mem_buf(text, (int)len);
	k = !bio ? NULL : private ? PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL) :
	    PEM_read_bio_PUBKEY(bio, NULL, NULL, NULL);
	BIO_free(bio);
	free(text);
	if (!k)
		error_set(err, 0, "%s %s: no PEM %s key in it", private ? "key" : "public_key", path,
		          private ? "private" : "public (BEGIN PUBLIC KEY)");
	return k;
}

/* A JWK member holding base64url bytes, decoded into arena a. */
static unsigned char *jwk_bytes(struct arena *a, const struct json *jwk, const char *name, size_t *n)
{
	const struct json *v = json_get(jwk, name);
	unsigned char *out;

	if (!v || v->type != JSON_STRING || v->u.s.n == 0 || v->u.s.n > 2048)
		return NULL;
	out = arena_alloc(a, v->u.s.n);
	return b64url_decode(v->u.s.p, v->u.s.n, out, n) == 0 ? out : NULL;
}

/* The public key a JWK describes (RSA n/e, or EC P-256 x/y), or NULL. */
static EVP_PKEY *jwk_key(struct arena *a, const struct json *jwk, bool rsa)
{
	OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
	OSSL_PARAM *params = NULL;
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, rsa ? "RSA" : "EC", NULL), *check = NULL;
	EVP_PKEY *k = NULL;
	BIGNUM *n = NULL, *e = NULL;
	unsigned char *x, *y, pub[65];
	size_t nx, ny;
	bool ok = bld && ctx;

	if (ok && rsa) {
		x = jwk_bytes(a, jwk, "n", &nx);
		y = jwk_bytes(a, jwk, "e", &ny);
		ok = x && y && (n = BN_bin2bn(x, (int)nx, NULL)) && (e = BN_bin2bn(y, (int)ny, NULL)) &&
		     OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, n) &&
		     OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, e);
	} else if (ok) {
		const struct json *crv = json_get(jwk, "crv");

		x = jwk_bytes(a, jwk, "x", &nx);
		y = jwk_bytes(a, jwk, "y", &ny);
		ok = crv && crv->type == JSON_STRING && str_eq(crv->u.s.p, crv->u.s.n, "P-256") &&
		     x && y && nx == 32 && ny == 32;
		if (ok) {
			pub[0] = 4;
			memcpy(pub + 1, x, 32);
			memcpy(pub + 33, y, 32);
			ok = OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, "prime256v1", 0) &&
			     OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, pub, sizeof(pub));
		}
	}
	ok = ok && (params = OSSL_PARAM_BLD_to_param(bld)) && EVP_PKEY_fromdata_init(ctx) == 1 &&
	     EVP_PKEY_fromdata(ctx, &k, EVP_PKEY_PUBLIC_KEY, params) == 1;
	/* A point off the curve is no key. */
	ok = ok && (check = EVP_PKEY_CTX_new_from_pkey(NULL, k, NULL)) && EVP_PKEY_public_check(check) == 1;
	if (!ok) {
		EVP_PKEY_free(k);
		k = NULL;
	}
	EVP_PKEY_CTX_free(check);
	EVP_PKEY_CTX_free(ctx);
	OSSL_PARAM_free(params);
	OSSL_PARAM_BLD_free(bld);
	BN_free(n);
	BN_free(e);
	return k;
}

static int load_jwks(struct jwt_keyset *ks, const char *path, struct error *err)
{
	struct arena a;
	size_t len, i;
	char *text = key_file(path, "jwks", &len, err), msg[200];
	const struct json *doc, *keys;
	int rc = -1;

	if (!text)
		return -1;
	arena_init(&a, 4096);
	doc = json_parse(&a, text, len, msg, sizeof(msg), NULL);
	keys = doc && doc->type == JSON_OBJECT ? json_get(doc, "keys") : NULL;
	if (!keys || keys->type != JSON_ARRAY) {
		error_set(err, 0, "jwks %s: not a JWK set (an object with a \"keys\" array)%s%s", path,
		          doc ? "" : ": ", doc ? "" : msg);
		goto done;
	}
	for (i = 0; i < keys->u.a.n; i++) {
		const struct json *jwk = keys->u.a.v[i], *kty, *use, *alg, *kid;
		char where[64];
		EVP_PKEY *k;
		bool rsa;

		snprintf(where, sizeof(where), "jwks %s: key %zu", path, i);
		if (jwk->type != JSON_OBJECT || !(kty = json_get(jwk, "kty")) || kty->type != JSON_STRING) {
			error_set(err, 0, "%s: no \"kty\"", where);
			goto done;
		}
		/* Keys for encryption, and of other types, are not ours to use. */
		if (((use = json_get(jwk, "use")) && !(use->type == JSON_STRING && str_eq(use->u.s.p, use->u.s.n, "sig"))) ||
		    !(str_eq(kty->u.s.p, kty->u.s.n, "RSA") || str_eq(kty->u.s.p, kty->u.s.n, "EC")))
			continue;
		rsa = str_eq(kty->u.s.p, kty->u.s.n, "RSA");
		if ((alg = json_get(jwk, "alg")) &&
		    !(alg->type == JSON_STRING && str_eq(alg->u.s.p, alg->u.s.n, rsa ? "RS256" : "ES256")))
			continue;
		kid = json_get(jwk, "kid");
		if (kid && (kid->type != JSON_STRING || kid->u.s.n > KID_MAX)) {
			error_set(err, 0, "%s: \"kid\" must be a string of at most %d bytes", where, KID_MAX);
			goto done;
		}
		if (!(k = jwk_key(&a, jwk, rsa))) {
			error_set(err, 0, "%s: not a valid %s public key", where, rsa ? "RSA" : "P-256");
			goto done;
		}
		if (keyset_add(ks, k, kid ? kid->u.s.p : NULL, kid ? kid->u.s.n : 0, where, err) < 0)
			goto done;
	}
	rc = 0;
done:
	arena_reset(&a);
	free(text);
	return rc;
}

struct jwt_keyset *jwt_keyset_load(const char *pem_path, const char *jwks_path, struct error *err)
{
	struct jwt_keyset *ks = xcalloc(1, sizeof(*ks));

	if (pem_path && *pem_path) {
		EVP_PKEY *k = pem_key(pem_path, false, err);
		char where[300];

		snprintf(where, sizeof(where), "public_key %s", pem_path);
		if (!k || keyset_add(ks, k, NULL, 0, where, err) < 0)
			goto fail;
	}
	if (jwks_path && *jwks_path && load_jwks(ks, jwks_path, err) < 0)
		goto fail;
	if (ks->n == 0) {
		error_set(err, 0, "jwks %s: no RSA or P-256 signing key in it", jwks_path ? jwks_path : "");
		goto fail;
	}
	return ks;
fail:
	jwt_keyset_free(ks);
	return NULL;
}

/* Signatures -------------------------------------------------------------- */

/* An ES256 signature (r and s, 32 bytes each) in the DER form OpenSSL checks. */
static int es256_der(const unsigned char *sig, unsigned char *der, size_t cap, size_t *n)
{
	ECDSA_SIG *es = ECDSA_SIG_new();
	BIGNUM *r = BN_bin2bn(sig, 32, NULL), *s = BN_bin2bn(sig + 32, 32, NULL);
	unsigned char *p = der;
	int len = -1;

	if (es && r && s && ECDSA_SIG_set0(es, r, s) == 1) {
		r = s = NULL;           /* es owns them */
		if (i2d_ECDSA_SIG(es, NULL) <= (int)cap)
			len = i2d_ECDSA_SIG(es, &p);
	}
	BN_free(r);
	BN_free(s);
	ECDSA_SIG_free(es);
	if (len <= 0)
		return -1;
	*n = (size_t)len;
	return 0;
}

static bool key_verifies(EVP_PKEY *k, enum jwt_alg alg, const char *data, size_t n,
                         const unsigned char *sig, size_t siglen)
{
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	unsigned char der[80];
	size_t derlen;
	bool ok = false;

	if (alg == JWT_RS256 && siglen != (size_t)EVP_PKEY_get_size(k))
		goto done;
	if (alg == JWT_ES256) {
		if (siglen != 64 || es256_der(sig, der, sizeof(der), &derlen) < 0)
			goto done;
		sig = der;
		siglen = derlen;
	}
	ok = md && EVP_DigestVerifyInit(md, NULL, EVP_sha256(), NULL, k) == 1 &&
	     EVP_DigestVerify(md, sig, siglen, (const unsigned char *)data, n) == 1;
done:
	EVP_MD_CTX_free(md);
	return ok;
}

/* Does sig sign data under alg with the configured secret or a key the
 * header's kid allows (a key without a kid serves any)? */
static bool signature_ok(const struct jwt_params *p, enum jwt_alg alg, const struct json *kid,
                         const char *data, size_t n, const unsigned char *sig, size_t siglen)
{
	size_t i;

	if (JWT_ALG_BIT(alg) & JWT_HMAC_ALGS) {
		unsigned char mac[EVP_MAX_MD_SIZE];
		unsigned int len = 0;

		if (!p->secret || !HMAC(alg_md(alg), p->secret, (int)strlen(p->secret), (const unsigned char *)data, n,
		                        mac, &len) || len != siglen)
			return false;
		return CRYPTO_memcmp(mac, sig, len) == 0;
	}
	for (i = 0; p->keys && i < p->keys->n; i++) {
		const struct jwt_key *k = &p->keys->keys[i];

		if (k->alg != alg || (k->kid && kid && !str_eq(kid->u.s.p, kid->u.s.n, k->kid)))
			continue;
		if (key_verifies(k->pkey, alg, data, n, sig, siglen))
			return true;
	}
	return false;
}

/* Decode one base64url segment as a JSON object into arena a. */
static struct json *segment_json(struct arena *a, const char *s, size_t n)
{
	unsigned char *raw;
	size_t len;
	char msg[128];

	if (n == 0 || n > 8192)
		return NULL;
	raw = arena_alloc(a, n);
	if (b64url_decode(s, n, raw, &len) < 0)
		return NULL;
	{
		struct json *j = json_parse(a, (const char *)raw, len, msg, sizeof(msg), NULL);

		return j && j->type == JSON_OBJECT ? j : NULL;
	}
}

/* A NumericDate claim, as an integer number of seconds (fractions
 * truncated).  Within ±2^53 s (285 million years), so that neither the
 * conversion nor the leeway added to it can overflow; 1e400 is no date. */
#define CLAIM_MAX 9007199254740992.0

static int numeric_claim(const struct json *v, int64_t *out)
{
	double d;

	if (!v || v->type != JSON_NUMBER)
		return -1;
	d = strtod(v->u.s.p, NULL);
	if (!(d >= -CLAIM_MAX && d <= CLAIM_MAX))
		return -1;                      /* NaN and the infinities too */
	*out = (int64_t)d;
	return 0;
}

static bool str_claim_is(const struct json *v, const char *want)
{
	return v && v->type == JSON_STRING && str_eq(v->u.s.p, v->u.s.n, want);
}

/* Checks in the application's order: the token library's first (all
 * "invalid or expired"), then simplejwt's, each with its own message.
 * The window [*nbf, *exp) is when the token is valid. */
static enum jwt_status check_claims(const struct jwt_params *p, const struct json *c,
                                    int64_t now, struct jwt_principal *who, int64_t *nbf, int64_t *exp)
{
	const struct json *v, *e;
	int64_t t;
	size_t i;

	if ((v = json_get(c, "iat")) && (numeric_claim(v, &t) < 0 || t > now + p->leeway))
		return JWT_INVALID;
	*nbf = INT64_MIN;
	if ((v = json_get(c, "nbf")) && (numeric_claim(v, &t) < 0 || now < t - p->leeway))
		return JWT_INVALID;
	if (v)
		*nbf = t - p->leeway;
	*exp = INT64_MAX;
	if ((e = json_get(c, "exp")) && (numeric_claim(e, &t) < 0 || now >= t + p->leeway))
		return JWT_INVALID;
	if (e)
		*exp = t + p->leeway;
	for (i = 0; i < p->nrequired; i++)
		if (!json_get(c, p->required[i]))
			return JWT_INVALID;
	if (p->issuer && *p->issuer && !str_claim_is(json_get(c, "iss"), p->issuer))
		return JWT_INVALID;
	if (p->audience && *p->audience) {
		const struct json *aud = json_get(c, "aud");
		bool ok = str_claim_is(aud, p->audience);

		for (i = 0; aud && aud->type == JSON_ARRAY && i < aud->u.a.n; i++)
			ok |= str_claim_is(aud->u.a.v[i], p->audience);
		if (!ok)
			return JWT_INVALID;
	}
	if (((v = json_get(c, "sub")) && v->type != JSON_STRING) ||
	    ((v = json_get(c, "jti")) && v->type != JSON_STRING))
		return JWT_INVALID;
	if (!e)
		return JWT_NO_EXP;
	if (!json_get(c, "jti"))
		return JWT_NO_ID;
	if (!(v = json_get(c, "token_type")))
		return JWT_NO_TYPE;
	if (!str_claim_is(v, "access"))
		return JWT_WRONG_TYPE;
	v = json_get(c, p->user_id_claim);
	if (!v)
		return JWT_NO_USER;
	errno = 0;
	if (v->type == JSON_NUMBER && json_number_is_int(v)) {
		who->user_id = strtoll(v->u.s.p, NULL, 10);
		if (errno == ERANGE)
			return JWT_NO_USER;     /* no user has an id past int64 */
	} else if (v->type == JSON_STRING && v->u.s.n > 0 && v->u.s.n < 19 &&
	           strspn(v->u.s.p, "0123456789") == v->u.s.n) {
		who->user_id = strtoll(v->u.s.p, NULL, 10);
	} else {
		return JWT_NO_USER;
	}
	/* Roles: a string, or an array of strings; anything else grants none. */
	who->roles = 0;
	if (p->role_claim && *p->role_claim && (v = json_get(c, p->role_claim))) {
		size_t n = v->type == JSON_ARRAY ? v->u.a.n : 1, k;

		for (i = 0; i < n; i++) {
			const struct json *r = v->type == JSON_ARRAY ? v->u.a.v[i] : v;

			for (k = 0; r->type == JSON_STRING && k < p->nroles && k < JWT_MAX_ROLES; k++)
				if (str_eq(r->u.s.p, r->u.s.n, p->roles[k]))
					who->roles |= 1u << k;
		}
	}
	return JWT_OK;
}

/* The largest signature: RSA 8192 bits. */
#define SIG_MAX 1024

static enum jwt_status verify_full(const struct jwt_params *p, const char *token, size_t len,
                                   int64_t now, struct jwt_principal *who, int64_t *nbf, int64_t *exp)
{
	const char *dot1, *dot2;
	const struct json *alg, *kid;
	unsigned char sig[SIG_MAX];
	size_t siglen, sigtext = 0;
	struct arena a;
	struct json *hdr, *claims;
	enum jwt_status st = JWT_INVALID;
	int id;

	if (len > JWT_TOKEN_MAX || !(dot1 = memchr(token, '.', len)) ||
	    !(dot2 = memchr(dot1 + 1, '.', len - (size_t)(dot1 + 1 - token))) ||
	    memchr(dot2 + 1, '.', len - (size_t)(dot2 + 1 - token)))
		return JWT_INVALID;
	sigtext = (size_t)(token + len - dot2 - 1);
	arena_init(&a, 4096);
	hdr = segment_json(&a, token, (size_t)(dot1 - token));
	if (!hdr || !(alg = json_get(hdr, "alg")) || alg->type != JSON_STRING)
		goto done;
	/* The configuration fixes the algorithms; the token only picks one of
	 * them, spelled exactly ("none", "hs256" and the rest are no algorithm). */
	if ((id = alg_of(alg->u.s.p, alg->u.s.n)) < 0 || !(p->algs & JWT_ALG_BIT(id)))
		goto done;
	/* Extensions the token says must be understood: none are. */
	if (json_get(hdr, "crit"))
		goto done;
	kid = json_get(hdr, "kid");
	if (kid && (kid->type != JSON_STRING || kid->u.s.n > KID_MAX))
		goto done;
	if (sigtext > (SIG_MAX * 4 + 2) / 3 ||
	    b64url_decode(dot2 + 1, sigtext, sig, &siglen) < 0 ||
	    !signature_ok(p, (enum jwt_alg)id, kid, token, (size_t)(dot2 - token), sig, siglen))
		goto done;
	claims = segment_json(&a, dot1 + 1, (size_t)(dot2 - dot1 - 1));
	if (!claims)
		goto done;
	st = check_claims(p, claims, now, who, nbf, exp);
done:
	arena_reset(&a);
	return st;
}

enum jwt_status jwt_verify(const struct jwt_params *p, const char *token, size_t len,
                           int64_t now, struct jwt_principal *who)
{
	int64_t nbf, exp;

	return verify_full(p, token, len, now, who, &nbf, &exp);
}

#define JWT_CACHE_SLOTS 256
#define JWT_CACHE_TOKEN_MAX 1024

struct jwt_cache_slot {
	const struct jwt_params *params;    /* the configuration it was verified under … */
	const struct jwt_keyset *keys;      /* … and its keys then */
	size_t len;
	struct jwt_principal who;
	int64_t nbf, exp;
	char token[JWT_CACHE_TOKEN_MAX];
};

static pthread_key_t cache_key;
static pthread_once_t cache_once = PTHREAD_ONCE_INIT;

static void cache_key_create(void)
{
	pthread_key_create(&cache_key, free);
}

static struct jwt_cache_slot *thread_cache(void)
{
	struct jwt_cache_slot *c;

	pthread_once(&cache_once, cache_key_create);
	c = pthread_getspecific(cache_key);
	if (!c) {
		c = xcalloc(JWT_CACHE_SLOTS, sizeof(*c));
		pthread_setspecific(cache_key, c);
	}
	return c;
}

enum jwt_status jwt_verify_cached(const struct jwt_params *p, const char *token, size_t len,
                                  int64_t now, struct jwt_principal *who)
{
	struct jwt_cache_slot *slot;
	enum jwt_status st;
	int64_t nbf, exp;

	if (len > JWT_CACHE_TOKEN_MAX)
		return jwt_verify(p, token, len, now, who);
	slot = &thread_cache()[hash_bytes(token, len, 0) % JWT_CACHE_SLOTS];
	if (slot->params == p && slot->keys == p->keys && slot->len == len &&
	    CRYPTO_memcmp(slot->token, token, len) == 0) {
		if (now < slot->nbf || now >= slot->exp)
			return JWT_INVALID;
		*who = slot->who;
		return JWT_OK;
	}
	st = verify_full(p, token, len, now, who, &nbf, &exp);
	if (st == JWT_OK) {
		slot->params = p;
		slot->keys = p->keys;
		slot->len = len;
		slot->who = *who;
		slot->nbf = nbf;
		slot->exp = exp;
		memcpy(slot->token, token, len);
	}
	return st;
}

/* header.payload of an access token for user_id, base64url, into b. */
static void unsigned_token(struct buf *b, const char *header, size_t hlen, int64_t user_id, int64_t now,
                           int64_t ttl)
{
	unsigned char jti[16];
	char jtihex[33], payload[256], seg[512];
	int n;

	random_bytes(jti, sizeof(jti));
	hex_encode(jti, sizeof(jti), jtihex);
	n = snprintf(payload, sizeof(payload),
	             "{\"token_type\":\"access\",\"exp\":%lld,\"iat\":%lld,\"jti\":\"%s\",\"user_id\":%lld}",
	             (long long)(now + ttl), (long long)now, jtihex, (long long)user_id);
	b64url_encode((const unsigned char *)header, hlen, seg);
	buf_puts(b, seg);
	buf_putc(b, '.');
	b64url_encode((const unsigned char *)payload, (size_t)n, seg);
	buf_puts(b, seg);
}

char *jwt_mint(const char *secret, int64_t user_id, int64_t now, int64_t ttl)
{
	static const char header[] = "{\"alg\":\"HS256\",\"typ\":\"JWT\"}";
	unsigned char mac[32];
	char seg[64];
	struct buf b = {0};

	unsigned_token(&b, header, sizeof(header) - 1, user_id, now, ttl);
	hs256(secret, b.p, b.len, mac);
	b64url_encode(mac, sizeof(mac), seg);
	buf_putc(&b, '.');
	buf_puts(&b, seg);
	buf_cstr(&b);
	return b.p;
}

char *jwt_mint_key(const char *pem_path, const char *kid, int64_t user_id, int64_t now, int64_t ttl,
                   struct error *err)
{
	size_t siglen = 0, i;
	unsigned char sig[SIG_MAX], raw[64];
	char header[400], seg[(sizeof(sig) * 4 + 2) / 3 + 1];
	EVP_PKEY *k = pem_key(pem_path, true, err);
	EVP_MD_CTX *md = NULL;
	struct buf b = {0};
	int alg = -1;

	if (!k || (alg = key_alg(k, pem_path, err)) < 0)
		goto fail;
	for (i = 0; kid && kid[i]; i++) {
		if (i == KID_MAX || kid[i] < 0x20 || kid[i] > 0x7e || kid[i] == '"' || kid[i] == '\\') {
			error_set(err, 0, "--kid: at most %d printable characters, neither \" nor \\", KID_MAX);
			goto fail;
		}
	}
	snprintf(header, sizeof(header), "{\"alg\":\"%s\",\"typ\":\"JWT\"%s%s%s}", alg_names[alg],
	         kid ? ",\"kid\":\"" : "", kid ? kid : "", kid ? "\"" : "");
	unsigned_token(&b, header, strlen(header), user_id, now, ttl);
	siglen = sizeof(sig);
	if (!(md = EVP_MD_CTX_new()) || EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, k) != 1 ||
	    EVP_DigestSign(md, sig, &siglen, (const unsigned char *)b.p, b.len) != 1) {
		error_set(err, 0, "%s: cannot sign with it", pem_path);
		goto fail;
	}
	if (alg == JWT_ES256) {         /* DER → r || s */
		const unsigned char *p = sig;
		ECDSA_SIG *es = d2i_ECDSA_SIG(NULL, &p, (long)siglen);

		if (!es) {
			error_set(err, 0, "%s: cannot sign with it", pem_path);
			goto fail;
		}
		BN_bn2binpad(ECDSA_SIG_get0_r(es), raw, 32);
		BN_bn2binpad(ECDSA_SIG_get0_s(es), raw + 32, 32);
		ECDSA_SIG_free(es);
		memcpy(sig, raw, 64);
		siglen = 64;
	}
	b64url_encode(sig, siglen, seg);
	buf_putc(&b, '.');
	buf_puts(&b, seg);
	EVP_MD_CTX_free(md);
	EVP_PKEY_free(k);
	buf_cstr(&b);
	return b.p;
fail:
	EVP_MD_CTX_free(md);
	EVP_PKEY_free(k);
	buf_free(&b);
	return NULL;
}
