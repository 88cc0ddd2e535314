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

#include <cmocka.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "jwt.h"

#define SECRET "unit-test-secret-not-real-0000"
#define NOW 1800000000

static const struct jwt_params params = {.secret = SECRET, .user_id_claim = "user_id"};

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

static enum jwt_status verify(const char *tok, int64_t *uid)
{
	return jwt_verify(&params, tok, strlen(tok), NOW, uid);
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
	assert_int_equal(jwt_verify(&params, t, strlen(t), NOW + 60, &uid), JWT_INVALID);
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
	assert_int_equal(jwt_verify(&p, t, strlen(t), NOW, &uid), JWT_OK);
	p.audience = "mobile";
	assert_int_equal(jwt_verify(&p, t, strlen(t), NOW, &uid), JWT_INVALID);
	p.audience = NULL;
	p.issuer = "other";
	assert_int_equal(jwt_verify(&p, t, strlen(t), NOW, &uid), JWT_INVALID);
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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_valid),
		cmocka_unit_test(test_minted_roundtrip),
		cmocka_unit_test(test_rejections),
		cmocka_unit_test(test_alg_none_and_malformed),
		cmocka_unit_test(test_issuer_audience),
		cmocka_unit_test(test_base64url),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
