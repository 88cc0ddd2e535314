/*
 * auth.c — pipeline step 4: who is asking.
 *
 * Reads "Authorization: Bearer <token>" the way simplejwt does and records
 * the outcome on the request.  It does not reject anything itself: routes
 * that need a principal answer 401 with the outcome's message, and routes
 * no resource owns (the application's own) are not its business.
 */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "jwt.h"
#include "middleware.h"
#include "request.h"

/* The verification settings, a generation per key load: SIGHUP reads the
 * key files again and the next requests use the new generation; the older
 * ones stay until exit (a request may still hold one, and the token cache
 * tells generations apart by address). */
struct generation {
	struct jwt_params params;
	struct jwt_keyset *keys;
	struct generation *older;
};

static _Atomic(struct generation *) current;

/* A generation from cfg's settings and key files; -1 with err when the
 * files are unusable. */
static int generation_start(const struct config *cfg, struct error *err)
{
	bool keyed = cfg->jwt.algorithms & JWT_KEY_ALGS;
	struct jwt_keyset *keys = keyed ? jwt_keyset_load(cfg->jwt.public_key, cfg->jwt.jwks, err) : NULL;
	struct generation *g;

	if (keyed && !keys)
		return -1;
	g = xcalloc(1, sizeof(*g));
	g->keys = keys;
	g->params = (struct jwt_params){
		.algs = cfg->jwt.algorithms, .secret = cfg->jwt.secret, .keys = keys,
		.user_id_claim = cfg->jwt.user_id_claim, .issuer = cfg->jwt.issuer,
		.audience = cfg->jwt.audience, .required = cfg->jwt.required_claims,
		.nrequired = cfg->jwt.nrequired_claims, .role_claim = cfg->jwt.role_claim,
		.roles = cfg->roles, .nroles = cfg->nroles, .leeway = cfg->jwt.leeway,
	};
	g->older = atomic_load(&current);
	atomic_store(&current, g);
	return 0;
}

int auth_reload_keys(const struct config *cfg)
{
	struct error err = {0};

	if (!(cfg->jwt.algorithms & JWT_KEY_ALGS))
		return 0;
	if (generation_start(cfg, &err) < 0) {
		fprintf(stderr, "cutover: reload: the token keys stay as they were: %s\n", err.msg);
		return -1;
	}
	fprintf(stderr, "cutover: reloaded the token keys (%zu)\n", jwt_keyset_size(atomic_load(&current)->keys));
	return 0;
}

static void auth_fini(void)
{
	struct generation *g = atomic_exchange(&current, NULL), *older;

	for (; g; g = older) {
		older = g->older;
		jwt_keyset_free(g->keys);
		free(g);
	}
}

static int auth_on_request(struct request *req)
{
	const char *h = req_header(req, "Authorization");
	const char *p, *type, *tok;
	size_t typelen, toklen;
	struct generation *g = atomic_load_explicit(&current, memory_order_acquire);
	struct jwt_principal who = {0};

	req->auth = AUTH_NONE;
	if (!h)
		return MW_CONTINUE;
	/* header.split(): the first word must be "Bearer", then exactly one more. */
	p = h + strspn(h, " \t");
	type = p;
	typelen = strcspn(p, " \t");
	if (typelen != 6 || strncmp(type, "Bearer", 6) != 0)
		return MW_CONTINUE;
	p += typelen;
	p += strspn(p, " \t");
	tok = p;
	toklen = strcspn(p, " \t");
	p += toklen;
	p += strspn(p, " \t");
	if (toklen == 0 || *p) {
		req->auth = AUTH_BAD_HEADER;
		return MW_CONTINUE;
	}
	switch (jwt_verify_cached(&g->params, tok, toklen, now_wall_us() / 1000000, &who)) {
	case JWT_OK:
		req->auth = AUTH_OK;
		req->principal = req->owner = who.user_id;
		req->roles = who.roles;
		break;
	case JWT_NO_EXP: req->auth = AUTH_NO_EXP; break;
	case JWT_NO_ID: req->auth = AUTH_NO_ID; break;
	case JWT_NO_TYPE: req->auth = AUTH_NO_TYPE; break;
	case JWT_WRONG_TYPE: req->auth = AUTH_WRONG_TYPE; break;
	case JWT_NO_USER: req->auth = AUTH_NO_USER; break;
	default: req->auth = AUTH_INVALID; break;
	}
	return MW_CONTINUE;
}

const struct middleware mw_auth = {
	.name = "auth",
	.init = generation_start,
	.on_request = auth_on_request,
	.fini = auth_fini,
};

/* Configuration ------------------------------------------------------ */

/* "algorithms": ["HS256", "RS256"]; HS256 alone when not given. */
static void parse_algorithms(struct config_loader *l, const struct json *v)
{
	struct config *cfg = config_of(l);
	size_t i;

	if (!config_want_type(l, v, JSON_ARRAY, "algorithms"))
		return;
	for (i = 0; i < v->u.a.n; i++) {
		const char *name = config_want_str(l, v->u.a.v[i], "algorithms");
		int a = name ? jwt_alg_parse(name) : -1;

		if (a >= 0)
			cfg->jwt.algorithms |= JWT_ALG_BIT(a);
		else if (name)
			config_problem(l, v->u.a.v[i], "jwt.algorithms: \"%s\" is not one of HS256, HS384, HS512, "
			               "RS256, ES256", name);
	}
	if (v->u.a.n == 0)
		config_problem(l, v, "jwt.algorithms: name at least one");
}

static void parse_required(struct config_loader *l, const struct json *v)
{
	struct config *cfg = config_of(l);
	size_t i;

	if (!config_want_type(l, v, JSON_ARRAY, "required_claims"))
		return;
	cfg->jwt.required_claims = ARENA_ARRAY(&cfg->arena, const char *, v->u.a.n + 1);
	for (i = 0; i < v->u.a.n; i++)
		if ((cfg->jwt.required_claims[cfg->jwt.nrequired_claims] =
		     config_want_str(l, v->u.a.v[i], "required_claims")))
			cfg->jwt.nrequired_claims++;
}

static void check_auth(struct config_loader *l)
{
	struct config *cfg = config_of(l);
	struct jwt_keyset *ks;
	struct error err = {0};
	size_t i;

	if (!cfg->jwt.algorithms)
		cfg->jwt.algorithms = JWT_ALG_BIT(JWT_HS256);
	if ((cfg->jwt.algorithms & JWT_HMAC_ALGS) && (!cfg->jwt.secret || strlen(cfg->jwt.secret) < 16))
		config_problem(l, NULL, "the JWT secret must be at least 16 characters: set \"jwt.secret\" or "
		               "JWT_SECRET");
	if (cfg->jwt.algorithms & JWT_KEY_ALGS) {
		if (!*cfg->jwt.public_key && !*cfg->jwt.jwks)
			config_problem(l, NULL, "jwt.algorithms has RS256 or ES256: set \"jwt.public_key\" (a PEM file) "
			               "or \"jwt.jwks\" (a JWKS file)");
		else if (!(ks = jwt_keyset_load(cfg->jwt.public_key, cfg->jwt.jwks, &err)))
			config_problem(l, NULL, "jwt: %s", err.msg);
		else
			jwt_keyset_free(ks);
	}
	for (i = 0; i < cfg->nresources; i++) {
		const struct resource *r = cfg->resources[i];

		if ((r->role_read | r->role_update | r->role_delete) && !*cfg->jwt.role_claim)
			config_problem(l, NULL, "resource %s grants roles: set \"jwt.role_claim\", the claim that "
			               "names them", r->name);
	}
}

static const struct config_key keys[] = {
	{"jwt", "secret", CFG_STRING, CFG_FIELD(jwt.secret), 0, 0, NULL, "JWT_SECRET", NULL,
	 "the HS256/384/512 key, at least 16 characters"},
	{"jwt", "user_id_claim", CFG_STRING, CFG_FIELD(jwt.user_id_claim), 0, 0, "user_id", NULL, NULL,
	 "the claim holding the user id"},
	{"jwt", "issuer", CFG_STRING, CFG_FIELD(jwt.issuer), 0, 0, NULL, NULL, NULL,
	 "the iss a token must carry"},
	{"jwt", "audience", CFG_STRING, CFG_FIELD(jwt.audience), 0, 0, NULL, NULL, NULL,
	 "the aud a token must carry"},
	{"jwt", "leeway", CFG_INT, CFG_FIELD(jwt.leeway), 0, 3600, NULL, NULL, NULL,
	 "seconds of clock skew allowed on exp and nbf"},
	{"jwt", "algorithms", CFG_CUSTOM, CFG_FIELD(jwt.algorithms), 0, 0, NULL, NULL, parse_algorithms,
	 "the algorithms accepted: HS256, HS384, HS512, RS256, ES256"},
	{"jwt", "public_key", CFG_STRING, CFG_FIELD(jwt.public_key), 0, 0, "", "JWT_PUBLIC_KEY", NULL,
	 "a PEM public key for RS256 or ES256 tokens"},
	{"jwt", "jwks", CFG_STRING, CFG_FIELD(jwt.jwks), 0, 0, "", "JWT_JWKS", NULL,
	 "a JWKS file of public keys, chosen by the token's kid"},
	{"jwt", "required_claims", CFG_CUSTOM, CFG_FIELD(jwt.required_claims), 0, 0, NULL, NULL, parse_required,
	 "claims a token must carry, with the value each must have"},
	{"jwt", "role_claim", CFG_STRING, CFG_FIELD(jwt.role_claim), 0, 0, "", NULL, NULL,
	 "the claim holding the user's roles (for role-gated writes)"},
};

const struct config_module auth_config = {"auth", keys, ARRAY_LEN(keys), check_auth};
