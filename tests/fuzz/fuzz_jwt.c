/*
 * fuzz_jwt.c — libFuzzer target for token verification (src/api/jwt.c): the
 * Authorization header's token, which every API request may carry.
 *
 * The first byte picks how the rest is used:
 *   even — a token as the client sent it, against every algorithm (an HS
 *          secret, an RSA and a P-256 key): none can be forged, so an
 *          accepted one is a failure;
 *   odd  — "HEADER\nPAYLOAD", both JSON as the client wrote it, signed here
 *          with the secret: the claim checks on whatever the payload holds.
 * Either way the cached verification must agree with the uncached one,
 * and any base64url the decoder accepts must encode back to itself.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>

#include "jwt.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define SECRET "fuzz-secret-not-real-00000000"
#define NOW 1800000000

static const char *const roles[] = {"admin", "staff"};
static const char *const required[] = {"iat"};
static struct jwt_params params = {
	.algs = JWT_HMAC_ALGS | JWT_KEY_ALGS, .secret = SECRET, .user_id_claim = "user_id",
	.issuer = "iss", .audience = "aud", .role_claim = "role", .roles = roles, .nroles = 2,
	.leeway = 5,
};
static struct jwt_params strict;

/* A fresh key's public half in a file, loaded as a key set. */
static struct jwt_keyset *keyset(EVP_PKEY *k)
{
	char path[] = "/tmp/cutover-fuzz-jwt-XXXXXX";
	int fd = mkstemp(path);
	FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;
	struct error err;
	struct jwt_keyset *ks;

	if (!f || PEM_write_PUBKEY(f, k) != 1)
		abort();
	fclose(f);
	ks = jwt_keyset_load(path, NULL, &err);
	unlink(path);
	EVP_PKEY_free(k);
	if (!ks)
		abort();
	return ks;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	/* One key type per run is enough for the parser; RSA's is the larger. */
	params.keys = keyset(EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048));
	strict = params;
	strict.required = required;
	strict.nrequired = 1;
	return 0;
}

static void check(const struct jwt_params *p, const char *tok, size_t n, bool forged)
{
	struct jwt_principal a = {0}, b = {0};
	enum jwt_status s1 = jwt_verify(p, tok, n, NOW, &a), s2 = jwt_verify_cached(p, tok, n, NOW, &b);

	if (s1 != s2 || (s1 == JWT_OK && (a.user_id != b.user_id || a.roles != b.roles)))
		abort();                /* the cache changed the verdict */
	if (forged && s1 == JWT_OK)
		abort();                /* a token nobody signed was accepted */
	if (s1 == JWT_OK && (a.roles & ~3u))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	unsigned char raw[12288];
	char back[16400];
	size_t n;

	if (size == 0)
		return 0;
	if (size - 1 <= sizeof(back) * 3 / 4 && b64url_decode((const char *)data + 1, size - 1, raw, &n) == 0 &&
	    n <= sizeof(raw)) {
		b64url_encode(raw, n, back);
		if (strlen(back) != size - 1 || memcmp(back, data + 1, size - 1) != 0)
			abort();        /* base64url is canonical both ways */
	}
	if (!(data[0] & 1)) {
		check(&params, (const char *)data + 1, size - 1, true);
		check(&strict, (const char *)data + 1, size - 1, true);
		return 0;
	}
	{
		const char *nl = memchr(data + 1, '\n', size - 1);
		size_t hl, pl, o;
		char *tok;
		unsigned char mac[32];
		unsigned int maclen = 32;

		if (!nl || size > 6000)
			return 0;
		hl = (size_t)(nl - (const char *)data - 1);
		pl = size - 2 - hl;
		tok = malloc(2 * size + 64);
		o = b64url_encode(data + 1, hl, tok);
		tok[o++] = '.';
		o += b64url_encode((const unsigned char *)nl + 1, pl, tok + o);
		HMAC(EVP_sha256(), SECRET, (int)strlen(SECRET), (unsigned char *)tok, o, mac, &maclen);
		tok[o++] = '.';
		o += b64url_encode(mac, 32, tok + o);
		check(&params, tok, o, false);
		check(&strict, tok, o, false);
		free(tok);
	}
	return 0;
}
