/*
 * test_jwt.c — access-token verification: every way a token can be bad.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>

#include "jwt.h"

#define SECRET "unit-test-secret-not-real-0000"
#define NOW 1800000000

static const struct jwt_params params = {.algs = JWT_ALG_BIT(JWT_HS256), .secret = SECRET,
                                        .user_id_claim = "user_id"};

/* Sign header.payload (both JSON text) with secret. */
static char *make(const char *header, const char *payload, const char *secret)
{
	char *out = malloc(4096), mac_b64[64];
	unsigned char mac[32];
	unsigned int len = 32;
	size_t n;

	n = b64url_encode((const unsigned char *)header, strlen(header), out);
	out[n++] = '.';
	n += b64url_encode((const unsigned char *)payload, strlen(payload), out + n);
	HMAC(EVP_sha256(), secret, (int)strlen(secret), (unsigned char *)out, n, mac, &len);
	b64url_encode(mac, 32, mac_b64);
	snprintf(out + n, 4096 - n, ".%s", mac_b64);
	return out;
}

static enum jwt_status verify_with(const struct jwt_params *p, const char *tok, int64_t now, int64_t *uid)
{
	struct jwt_principal who = {0};
	enum jwt_status st = jwt_verify(p, tok, strlen(tok), now, &who);

	*uid = who.user_id;
	return st;
}

static enum jwt_status verify(const char *tok, int64_t *uid)
{
	return verify_with(&params, tok, NOW, uid);
}

#define HS "{\"alg\":\"HS256\",\"typ\":\"JWT\"}"

static void test_valid(void **state)
{
	int64_t uid = 0;
	char *t = make(HS, "{\"token_type\":\"access\",\"exp\":1800000100,\"iat\":1800000000,"
	               "\"jti\":\"x\",\"user_id\":42}", SECRET);

	(void)state;
	assert_int_equal(verify(t, &uid), JWT_OK);
	assert_int_equal(uid, 42);
	free(t);
}

static void test_minted_roundtrip(void **state)
{
	int64_t uid = 0;
	char *t = jwt_mint(SECRET, 7, NOW, 60);

	(void)state;
	assert_int_equal(verify(t, &uid), JWT_OK);
	assert_int_equal(uid, 7);
	assert_int_equal(verify_with(&params, t, NOW + 60, &uid), JWT_INVALID);
	free(t);
}

static void test_rejections(void **state)
{
#define OK_CLAIMS "\"token_type\":\"access\",\"exp\":1800000100,\"jti\":\"j\""
	/* The answers simplejwt 5 and PyJWT 2 give, in their order of checks. */
	static const struct { const char *header, *payload, *secret; enum jwt_status want; } cases[] = {
		/* expired, and expired before any claim check */
		{HS, "{\"token_type\":\"access\",\"exp\":1799999999,\"jti\":\"j\",\"user_id\":1}", SECRET, JWT_INVALID},
		{HS, "{\"exp\":1799999999,\"user_id\":1}", SECRET, JWT_INVALID},
		/* not yet valid; issued in the future; an iat that is not a number */
		{HS, "{" OK_CLAIMS ",\"nbf\":1800000050,\"user_id\":1}", SECRET, JWT_INVALID},
		{HS, "{" OK_CLAIMS ",\"iat\":1800000050,\"user_id\":1}", SECRET, JWT_INVALID},
		{HS, "{" OK_CLAIMS ",\"iat\":\"x\",\"user_id\":1}", SECRET, JWT_INVALID},
		/* jti and sub must be strings when present */
		{HS, "{\"token_type\":\"access\",\"exp\":1800000100,\"jti\":null,\"user_id\":1}", SECRET, JWT_INVALID},
		{HS, "{" OK_CLAIMS ",\"sub\":1,\"user_id\":1}", SECRET, JWT_INVALID},
		/* simplejwt's own checks: exp, then jti, then token_type */
		{HS, "{\"token_type\":\"access\",\"jti\":\"j\",\"user_id\":1}", SECRET, JWT_NO_EXP},
		{HS, "{\"token_type\":\"refresh\",\"user_id\":1}", SECRET, JWT_NO_EXP},
		{HS, "{\"token_type\":\"access\",\"exp\":1800000100,\"user_id\":1}", SECRET, JWT_NO_ID},
		{HS, "{\"token_type\":\"refresh\",\"exp\":1800000100,\"user_id\":1}", SECRET, JWT_NO_ID},
		{HS, "{\"exp\":1800000100,\"jti\":\"j\",\"user_id\":1}", SECRET, JWT_NO_TYPE},
		{HS, "{\"token_type\":\"refresh\",\"exp\":1800000100,\"jti\":\"j\",\"user_id\":1}", SECRET,
		 JWT_WRONG_TYPE},
		{HS, "{\"token_type\":null,\"exp\":1800000100,\"jti\":\"j\",\"user_id\":1}", SECRET, JWT_WRONG_TYPE},
		{HS, "{\"token_type\":1,\"exp\":1800000100,\"jti\":\"j\",\"user_id\":1}", SECRET, JWT_WRONG_TYPE},
		/* signed with another key */
		{HS, "{" OK_CLAIMS ",\"user_id\":1}", "some-other-secret-0000000000", JWT_INVALID},
		/* another algorithm named in the header */
		{"{\"alg\":\"HS512\"}", "{" OK_CLAIMS ",\"user_id\":1}", SECRET, JWT_INVALID},
		{"{\"alg\":\"RS256\"}", "{" OK_CLAIMS ",\"user_id\":1}", SECRET, JWT_INVALID},
		/* no user id claim, or one that is not an id */
		{HS, "{" OK_CLAIMS "}", SECRET, JWT_NO_USER},
		{HS, "{" OK_CLAIMS ",\"user_id\":{\"$gt\":0}}", SECRET, JWT_NO_USER},
		/* a header that is not an object */
		{"[1]", "{" OK_CLAIMS ",\"user_id\":1}", SECRET, JWT_INVALID},
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int64_t uid;
		char *t = make(cases[i].header, cases[i].payload, cases[i].secret);

		if (verify(t, &uid) != cases[i].want)
			fail_msg("case %zu (%s): %d, want %d", i, cases[i].payload, verify(t, &uid), cases[i].want);
		free(t);
	}
}

static void test_alg_none_and_malformed(void **state)
{
	static const char *const bad[] = {
		"", "abc", "a.b", "a.b.c.d", "!!!.e30.", "e30.e30.",
		/* alg none, empty signature */
		"eyJhbGciOiJub25lIn0.eyJ0b2tlbl90eXBlIjoiYWNjZXNzIiwiZXhwIjoxODAwMDAwMTAwLCJ1c2VyX2lkIjoxfQ.",
	};
	char none[512], *sig;
	size_t i;
	int64_t uid;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(verify(bad[i], &uid), JWT_INVALID);
	/* alg none carrying a valid HS256 signature still fails: the header is
	 * covered by the signature and names the wrong algorithm. */
	sig = make("{\"alg\":\"none\"}", "{\"token_type\":\"access\",\"exp\":1800000100,\"user_id\":1}", SECRET);
	snprintf(none, sizeof(none), "%s", sig);
	assert_int_equal(verify(none, &uid), JWT_INVALID);
	free(sig);
	/* tampered payload */
	sig = make(HS, "{\"token_type\":\"access\",\"exp\":1800000100,\"user_id\":1}", SECRET);
	{
		char *dot = strchr(sig, '.');

		dot[3] = dot[3] == 'A' ? 'B' : 'A';
	}
	assert_int_equal(verify(sig, &uid), JWT_INVALID);
	free(sig);
}

static void test_issuer_audience(void **state)
{
	struct jwt_params p = params;
	int64_t uid;
	char *t = make(HS, "{" OK_CLAIMS ",\"user_id\":1,"
	               "\"iss\":\"hisab\",\"aud\":[\"api\",\"web\"]}", SECRET);

	(void)state;
	p.issuer = "hisab";
	p.audience = "web";
	assert_int_equal(verify_with(&p, t, NOW, &uid), JWT_OK);
	p.audience = "mobile";
	assert_int_equal(verify_with(&p, t, NOW, &uid), JWT_INVALID);
	p.audience = NULL;
	p.issuer = "other";
	assert_int_equal(verify_with(&p, t, NOW, &uid), JWT_INVALID);
	free(t);
}

static void test_base64url(void **state)
{
	unsigned char out[16];
	size_t n;
	char enc[16];

	(void)state;
	assert_int_equal(b64url_encode((const unsigned char *)"hi?", 3, enc), 4);
	assert_string_equal(enc, "aGk_");
	assert_int_equal(b64url_decode("aGk_", 4, out, &n), 0);
	assert_int_equal(n, 3);
	assert_memory_equal(out, "hi?", 3);
	assert_int_equal(b64url_decode("aGk=", 4, out, &n), -1);
	assert_int_equal(b64url_decode("a", 1, out, &n), -1);
}

/* Public keys ----------------------------------------------------------- */

#define CLAIMS "{" OK_CLAIMS ",\"user_id\":5}"

/* header.payload signed by k: RS256 (PKCS#1 v1.5) or ES256 (r || s). */
static char *sign_with(EVP_PKEY *k, const char *header, const char *payload)
{
	char *out = malloc(8192);
	unsigned char sig[1024], raw[64];
	size_t n, siglen = sizeof(sig);
	EVP_MD_CTX *md = EVP_MD_CTX_new();

	n = b64url_encode((const unsigned char *)header, strlen(header), out);
	out[n++] = '.';
	n += b64url_encode((const unsigned char *)payload, strlen(payload), out + n);
	assert_int_equal(EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, k), 1);
	assert_int_equal(EVP_DigestSign(md, sig, &siglen, (unsigned char *)out, n), 1);
	EVP_MD_CTX_free(md);
	out[n++] = '.';
	if (EVP_PKEY_get_base_id(k) == EVP_PKEY_EC) {
		const unsigned char *p = sig;
		ECDSA_SIG *es = d2i_ECDSA_SIG(NULL, &p, (long)siglen);

		assert_non_null(es);
		BN_bn2binpad(ECDSA_SIG_get0_r(es), raw, 32);
		BN_bn2binpad(ECDSA_SIG_get0_s(es), raw + 32, 32);
		ECDSA_SIG_free(es);
		b64url_encode(raw, 64, out + n);
	} else {
		b64url_encode(sig, siglen, out + n);
	}
	return out;
}

/* k's public half written as a PEM file; returns the path (static). */
static const char *pem_file(EVP_PKEY *k, const char *name)
{
	static char path[4][256];
	static int next;
	char *p = path[next++ % 4];
	FILE *f;

	snprintf(p, 256, "%s/cutover-test-%d-%s.pem", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp", (int)getpid(),
	         name);
	f = fopen(p, "w");
	assert_non_null(f);
	assert_int_equal(PEM_write_PUBKEY(f, k), 1);
	fclose(f);
	return p;
}

static void b64_bn(EVP_PKEY *k, const char *param, char *out)
{
	BIGNUM *bn = NULL;
	unsigned char bytes[1024];
	int n;

	assert_int_equal(EVP_PKEY_get_bn_param(k, param, &bn), 1);
	n = BN_bn2bin(bn, bytes);
	b64url_encode(bytes, (size_t)n, out);
	BN_free(bn);
}

/* A JWKS file holding rsa (kid "r1") and ec (kid "e1"), plus an
 * encryption key that must be passed over. */
static const char *jwks_file(EVP_PKEY *rsa, EVP_PKEY *ec)
{
	static char path[256];
	char n[1400], e[16], x[64], y[64];
	unsigned char pub[65];
	size_t len;
	FILE *f;

	b64_bn(rsa, OSSL_PKEY_PARAM_RSA_N, n);
	b64_bn(rsa, OSSL_PKEY_PARAM_RSA_E, e);
	assert_int_equal(EVP_PKEY_get_octet_string_param(ec, OSSL_PKEY_PARAM_PUB_KEY, pub, sizeof(pub), &len), 1);
	assert_int_equal(len, 65);
	b64url_encode(pub + 1, 32, x);
	b64url_encode(pub + 33, 32, y);
	snprintf(path, sizeof(path), "%s/cutover-test-%d.jwks", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp",
	         (int)getpid());
	f = fopen(path, "w");
	assert_non_null(f);
	fprintf(f, "{\"keys\":[{\"kty\":\"RSA\",\"use\":\"enc\",\"kid\":\"r1\",\"n\":\"%s\",\"e\":\"%s\"},"
	        "{\"kty\":\"RSA\",\"kid\":\"r1\",\"alg\":\"RS256\",\"n\":\"%s\",\"e\":\"%s\"},"
	        "{\"kty\":\"EC\",\"kid\":\"e1\",\"crv\":\"P-256\",\"x\":\"%s\",\"y\":\"%s\"},"
	        "{\"kty\":\"oct\",\"k\":\"c2VjcmV0\"}]}", n, e, n, e, x, y);
	fclose(f);
	return path;
}

static EVP_PKEY *rsa_key, *ec_key, *other_rsa;

static int keys_setup(void **state)
{
	(void)state;
	rsa_key = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
	other_rsa = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
	ec_key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	return rsa_key && ec_key && other_rsa ? 0 : -1;
}

static int keys_teardown(void **state)
{
	(void)state;
	EVP_PKEY_free(rsa_key);
	EVP_PKEY_free(other_rsa);
	EVP_PKEY_free(ec_key);
	return 0;
}

static void test_rs256_es256_pem(void **state)
{
	struct error err = {0};
	struct jwt_keyset *rk = jwt_keyset_load(pem_file(rsa_key, "rsa"), NULL, &err);
	struct jwt_keyset *ek = jwt_keyset_load(pem_file(ec_key, "ec"), NULL, &err);
	struct jwt_params p = params;
	char *rs = sign_with(rsa_key, "{\"alg\":\"RS256\",\"typ\":\"JWT\"}", CLAIMS);
	char *es = sign_with(ec_key, "{\"alg\":\"ES256\"}", CLAIMS);
	char *forged = sign_with(other_rsa, "{\"alg\":\"RS256\"}", CLAIMS);
	int64_t uid = 0;

	(void)state;
	assert_non_null(rk);
	assert_non_null(ek);
	p.algs = JWT_ALG_BIT(JWT_RS256) | JWT_ALG_BIT(JWT_ES256);
	p.keys = rk;
	assert_int_equal(verify_with(&p, rs, NOW, &uid), JWT_OK);
	assert_int_equal(uid, 5);
	assert_int_equal(verify_with(&p, forged, NOW, &uid), JWT_INVALID);
	assert_int_equal(verify_with(&p, es, NOW, &uid), JWT_INVALID);        /* no EC key */
	p.keys = ek;
	assert_int_equal(verify_with(&p, es, NOW, &uid), JWT_OK);
	assert_int_equal(verify_with(&p, rs, NOW, &uid), JWT_INVALID);
	p.algs = JWT_ALG_BIT(JWT_RS256);
	assert_int_equal(verify_with(&p, es, NOW, &uid), JWT_INVALID);        /* ES256 not allowed */
	/* A signature one bit off. */
	p.algs = JWT_ALG_BIT(JWT_ES256);
	es[strlen(es) - 3] ^= 1;
	assert_int_equal(verify_with(&p, es, NOW, &uid), JWT_INVALID);
	jwt_keyset_free(rk);
	jwt_keyset_free(ek);
	free(rs);
	free(es);
	free(forged);
}

/* An HS256 token whose "secret" is the public key's PEM text: accepted by
 * a verifier that lets the token choose how to use the key. */
static void test_algorithm_confusion(void **state)
{
	struct error err = {0};
	const char *path = pem_file(rsa_key, "confusion");
	struct jwt_keyset *rk = jwt_keyset_load(path, NULL, &err);
	size_t len;
	char *pem = read_file(path, &len, &err), *t;
	struct jwt_params p = params;
	int64_t uid;

	(void)state;
	assert_non_null(pem);
	t = make(HS, CLAIMS, pem);
	p.keys = rk;
	p.algs = JWT_ALG_BIT(JWT_RS256);
	assert_int_equal(verify_with(&p, t, NOW, &uid), JWT_INVALID);
	p.algs |= JWT_ALG_BIT(JWT_HS256);       /* HMAC allowed, but only with the secret */
	assert_int_equal(verify_with(&p, t, NOW, &uid), JWT_INVALID);
	p.secret = NULL;
	assert_int_equal(verify_with(&p, t, NOW, &uid), JWT_INVALID);
	free(t);
	free(pem);
	jwt_keyset_free(rk);
}

static void test_jwks_kid(void **state)
{
	struct error err = {0};
	struct jwt_keyset *ks = jwt_keyset_load(NULL, jwks_file(rsa_key, ec_key), &err);
	struct jwt_params p = params;
	struct { const char *header; EVP_PKEY *k; enum jwt_status want; } cases[] = {
		{"{\"alg\":\"RS256\",\"kid\":\"r1\"}", rsa_key, JWT_OK},
		{"{\"alg\":\"RS256\"}", rsa_key, JWT_OK},                      /* no kid: any key of its type */
		{"{\"alg\":\"ES256\",\"kid\":\"e1\"}", ec_key, JWT_OK},
		{"{\"alg\":\"ES256\",\"kid\":\"r1\"}", ec_key, JWT_INVALID},   /* r1 is an RSA key */
		{"{\"alg\":\"RS256\",\"kid\":\"e1\"}", rsa_key, JWT_INVALID},
		{"{\"alg\":\"RS256\",\"kid\":\"../../../../etc/passwd\"}", rsa_key, JWT_INVALID},
		{"{\"alg\":\"RS256\",\"kid\":\"r1' OR '1'='1\"}", rsa_key, JWT_INVALID},
		{"{\"alg\":\"RS256\",\"kid\":\"r1\\u0000\"}", rsa_key, JWT_INVALID},
		{"{\"alg\":\"RS256\",\"kid\":7}", rsa_key, JWT_INVALID},
		{"{\"alg\":\"RS256\",\"kid\":\"r1\"}", other_rsa, JWT_INVALID},
		{"{\"alg\":\"RS256\",\"kid\":\"r1\",\"crit\":[\"exp\"]}", rsa_key, JWT_INVALID},
		{"{\"alg\":\"rs256\",\"kid\":\"r1\"}", rsa_key, JWT_INVALID},
	};
	size_t i;

	(void)state;
	assert_non_null(ks);
	assert_int_equal(jwt_keyset_size(ks), 2);     /* the encryption and symmetric keys passed over */
	p.algs = JWT_KEY_ALGS;
	p.keys = ks;
	for (i = 0; i < ARRAY_LEN(cases); i++) {
		char *t = sign_with(cases[i].k, cases[i].header, CLAIMS);
		int64_t uid;

		if (verify_with(&p, t, NOW, &uid) != cases[i].want)
			fail_msg("case %zu (%s): want %d", i, cases[i].header, cases[i].want);
		free(t);
	}
	jwt_keyset_free(ks);
}

/* cutover token --key: minted with each private key, verified with its
 * public half; a kid is named in the header. */
static void test_mint_with_keys(void **state)
{
	EVP_PKEY *keys[] = {rsa_key, ec_key};
	size_t i;

	(void)state;
	for (i = 0; i < 2; i++) {
		char priv[256];
		FILE *f;
		struct error err = {0};
		struct jwt_keyset *ks = jwt_keyset_load(pem_file(keys[i], "mint"), NULL, &err);
		struct jwt_params p = params;
		char *t;
		int64_t uid = 0;

		snprintf(priv, sizeof(priv), "%s/cutover-test-%d-priv.pem", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp",
		         (int)getpid());
		f = fopen(priv, "w");
		assert_non_null(f);
		assert_int_equal(PEM_write_PrivateKey(f, keys[i], NULL, NULL, 0, NULL, NULL), 1);
		fclose(f);
		t = jwt_mint_key(priv, "k1", 9, NOW, 60, &err);
		assert_non_null(t);
		p.algs = JWT_KEY_ALGS;
		p.keys = ks;
		assert_int_equal(verify_with(&p, t, NOW, &uid), JWT_OK);
		assert_int_equal(uid, 9);
		assert_int_equal(verify_with(&p, t, NOW + 60, &uid), JWT_INVALID);
		assert_null(jwt_mint_key(priv, "a\"b", 9, NOW, 60, &err));
		free(t);
		jwt_keyset_free(ks);
		unlink(priv);
	}
}

static void test_unusable_keys(void **state)
{
	struct error err = {0};
	EVP_PKEY *small = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)1024);
	EVP_PKEY *p384 = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-384");
	const char *bad = "/nonexistent/cutover.pem";

	(void)state;
	assert_null(jwt_keyset_load(pem_file(small, "small"), NULL, &err));
	assert_non_null(strstr(err.msg, "1024 bits"));
	assert_null(jwt_keyset_load(pem_file(p384, "p384"), NULL, &err));
	assert_non_null(strstr(err.msg, "P-256"));
	assert_null(jwt_keyset_load(bad, NULL, &err));
	assert_non_null(strstr(err.msg, "cannot read"));
	assert_null(jwt_keyset_load(NULL, pem_file(small, "notjson"), &err));
	assert_non_null(strstr(err.msg, "not a JWK set"));
	EVP_PKEY_free(small);
	EVP_PKEY_free(p384);
}

static void test_hs384_hs512_when_allowed(void **state)
{
	struct jwt_params p = params;
	unsigned char mac[64];
	unsigned int len = 0;
	char tok[1024], seg[128];
	size_t n;
	int64_t uid;

	(void)state;
	n = b64url_encode((const unsigned char *)"{\"alg\":\"HS512\"}", 15, tok);
	tok[n++] = '.';
	n += b64url_encode((const unsigned char *)CLAIMS, strlen(CLAIMS), tok + n);
	HMAC(EVP_sha512(), SECRET, (int)strlen(SECRET), (unsigned char *)tok, n, mac, &len);
	b64url_encode(mac, len, seg);
	snprintf(tok + n, sizeof(tok) - n, ".%s", seg);
	assert_int_equal(verify_with(&p, tok, NOW, &uid), JWT_INVALID);
	p.algs |= JWT_ALG_BIT(JWT_HS512);
	assert_int_equal(verify_with(&p, tok, NOW, &uid), JWT_OK);
}

static void test_roles_and_required_claims(void **state)
{
	static const char *const roles[] = {"staff", "admin"};
	static const char *const required[] = {"iat", "nbf"};
	struct jwt_params p = params;
	struct jwt_principal who;
	char *a = make(HS, "{" OK_CLAIMS ",\"user_id\":1,\"role\":\"admin\",\"nbf\":1700000000,\"iat\":1700000000}", SECRET);
	char *b = make(HS, "{" OK_CLAIMS ",\"user_id\":1,\"role\":[\"x\",\"staff\",\"admin\"]}", SECRET);
	char *c = make(HS, "{" OK_CLAIMS ",\"user_id\":1,\"role\":{\"admin\":true}}", SECRET);

	(void)state;
	p.roles = roles;
	p.nroles = 2;
	p.role_claim = "role";
	assert_int_equal(jwt_verify(&p, a, strlen(a), NOW, &who), JWT_OK);
	assert_int_equal(who.roles, 2);
	assert_int_equal(jwt_verify(&p, b, strlen(b), NOW, &who), JWT_OK);
	assert_int_equal(who.roles, 3);
	assert_int_equal(jwt_verify(&p, c, strlen(c), NOW, &who), JWT_OK);
	assert_int_equal(who.roles, 0);
	p.required = required;
	p.nrequired = 2;
	assert_int_equal(jwt_verify(&p, a, strlen(a), NOW, &who), JWT_OK);
	assert_int_equal(jwt_verify(&p, b, strlen(b), NOW, &who), JWT_INVALID);     /* no nbf */
	free(a);
	free(b);
	free(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_valid),
		cmocka_unit_test(test_minted_roundtrip),
		cmocka_unit_test(test_rejections),
		cmocka_unit_test(test_alg_none_and_malformed),
		cmocka_unit_test(test_issuer_audience),
		cmocka_unit_test(test_base64url),
		cmocka_unit_test(test_rs256_es256_pem),
		cmocka_unit_test(test_algorithm_confusion),
		cmocka_unit_test(test_jwks_kid),
		cmocka_unit_test(test_unusable_keys),
		cmocka_unit_test(test_mint_with_keys),
		cmocka_unit_test(test_hs384_hs512_when_allowed),
		cmocka_unit_test(test_roles_and_required_claims),
	};

	return cmocka_run_group_tests(tests, keys_setup, keys_teardown);
}
