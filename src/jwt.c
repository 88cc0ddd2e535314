/*
 * jwt.c — HS256 token verification and minting (see jwt.h).
 */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

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

static void hs256(const char *secret, const char *data, size_t n, unsigned char mac[32])
{
	unsigned int len = 32;

	HMAC(EVP_sha256(), secret, (int)strlen(secret), (const unsigned char *)data, n, mac, &len);
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
                                    int64_t now, int64_t *user_id, int64_t *nbf, int64_t *exp)
{
	const struct json *v, *e;
	int64_t t;

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
	if (p->issuer && *p->issuer && !str_claim_is(json_get(c, "iss"), p->issuer))
		return JWT_INVALID;
	if (p->audience && *p->audience) {
		const struct json *aud = json_get(c, "aud");
		size_t i;
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
	if (v->type == JSON_NUMBER && json_number_is_int(v)) {
		*user_id = strtoll(v->u.s.p, NULL, 10);
	} else if (v->type == JSON_STRING && v->u.s.n > 0 && v->u.s.n < 19 &&
	           strspn(v->u.s.p, "0123456789") == v->u.s.n) {
		*user_id = strtoll(v->u.s.p, NULL, 10);
	} else {
		return JWT_NO_USER;
	}
	return JWT_OK;
}

static enum jwt_status verify_full(const struct jwt_params *p, const char *token, size_t len,
                                   int64_t now, int64_t *user_id, int64_t *nbf, int64_t *exp)
{
	const char *dot1, *dot2;
	unsigned char mac[32], sig[64];
	size_t siglen;
	struct arena a;
	struct json *hdr, *claims;
	enum jwt_status st = JWT_INVALID;

	if (len > 16384 || !(dot1 = memchr(token, '.', len)) ||
	    !(dot2 = memchr(dot1 + 1, '.', len - (size_t)(dot1 + 1 - token))) ||
	    memchr(dot2 + 1, '.', len - (size_t)(dot2 + 1 - token)))
		return JWT_INVALID;
	arena_init(&a, 4096);
	hdr = segment_json(&a, token, (size_t)(dot1 - token));
	/* The algorithm is fixed by configuration, never chosen by the token. */
	if (!hdr || !str_claim_is(json_get(hdr, "alg"), "HS256"))
		goto done;
	if ((size_t)(token + len - dot2 - 1) > 64 ||
	    b64url_decode(dot2 + 1, (size_t)(token + len - dot2 - 1), sig, &siglen) < 0 ||
	    siglen != 32)
		goto done;
	hs256(p->secret, token, (size_t)(dot2 - token), mac);
	if (CRYPTO_memcmp(mac, sig, 32) != 0)
		goto done;
	claims = segment_json(&a, dot1 + 1, (size_t)(dot2 - dot1 - 1));
	if (!claims)
		goto done;
	st = check_claims(p, claims, now, user_id, nbf, exp);
done:
	arena_reset(&a);
	return st;
}

enum jwt_status jwt_verify(const struct jwt_params *p, const char *token, size_t len,
                           int64_t now, int64_t *user_id)
{
	int64_t nbf, exp;

	return verify_full(p, token, len, now, user_id, &nbf, &exp);
}

#define JWT_CACHE_SLOTS 256
#define JWT_CACHE_TOKEN_MAX 1024

struct jwt_cache_slot {
	const char *secret;         /* the configuration it was verified under */
	size_t len;
	int64_t user_id, nbf, exp;
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
                                  int64_t now, int64_t *user_id)
{
	struct jwt_cache_slot *slot;
	uint64_t h = 1469598103934665603ULL;
	enum jwt_status st;
	int64_t nbf, exp;
	size_t i;

	if (len > JWT_CACHE_TOKEN_MAX)
		return jwt_verify(p, token, len, now, user_id);
	for (i = 0; i < len; i++)
		h = (h ^ (unsigned char)token[i]) * 1099511628211ULL;
	slot = &thread_cache()[h % JWT_CACHE_SLOTS];
	if (slot->secret == p->secret && slot->len == len &&
	    CRYPTO_memcmp(slot->token, token, len) == 0) {
		if (now < slot->nbf || now >= slot->exp)
			return JWT_INVALID;
		*user_id = slot->user_id;
		return JWT_OK;
	}
	st = verify_full(p, token, len, now, user_id, &nbf, &exp);
	if (st == JWT_OK) {
		slot->secret = p->secret;
		slot->len = len;
		slot->user_id = *user_id;
		slot->nbf = nbf;
		slot->exp = exp;
		memcpy(slot->token, token, len);
	}
	return st;
}

char *jwt_mint(const char *secret, int64_t user_id, int64_t now, int64_t ttl)
{
	static const char header[] = "{\"alg\":\"HS256\",\"typ\":\"JWT\"}";
	unsigned char jti[16], mac[32];
	char jtihex[33], payload[256], seg[512];
	struct buf b = {0};
	int n;

	random_bytes(jti, sizeof(jti));
	hex_encode(jti, sizeof(jti), jtihex);
	n = snprintf(payload, sizeof(payload),
	             "{\"token_type\":\"access\",\"exp\":%lld,\"iat\":%lld,\"jti\":\"%s\",\"user_id\":%lld}",
	             (long long)(now + ttl), (long long)now, jtihex, (long long)user_id);
	b64url_encode((const unsigned char *)header, sizeof(header) - 1, seg);
	buf_puts(&b, seg);
	buf_putc(&b, '.');
	b64url_encode((const unsigned char *)payload, (size_t)n, seg);
	buf_puts(&b, seg);
	hs256(secret, b.p, b.len, mac);
	b64url_encode(mac, sizeof(mac), seg);
	buf_putc(&b, '.');
	buf_puts(&b, seg);
	buf_cstr(&b);
	return b.p;
}
