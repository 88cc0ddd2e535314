/*
 * auth.c — pipeline step 4: who is asking.
 *
 * Reads "Authorization: Bearer <token>" the way simplejwt does and records
 * the outcome on the request.  It does not reject anything itself: routes
 * that need a principal answer 401 with the outcome's message, and routes
 * no resource owns (the application's own) are not its business.
 */
#include <string.h>
#include <time.h>

#include "jwt.h"
#include "middleware.h"
#include "request.h"

static int auth_on_request(struct request *req)
{
	const char *h = req_header(req, "Authorization");
	const char *p, *type, *tok;
	size_t typelen, toklen;
	struct jwt_params params = {
		.secret = req->cfg->jwt.secret, .user_id_claim = req->cfg->jwt.user_id_claim,
		.issuer = req->cfg->jwt.issuer, .audience = req->cfg->jwt.audience,
		.leeway = req->cfg->jwt.leeway,
	};

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
	switch (jwt_verify_cached(&params, tok, toklen, now_wall_us() / 1000000, &req->principal)) {
	case JWT_OK: req->auth = AUTH_OK; break;
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
	.on_request = auth_on_request,
};

/* Configuration ------------------------------------------------------ */

static void check_secret(struct config_loader *l)
{
	const struct config *cfg = config_of(l);

	if (!cfg->jwt.secret || strlen(cfg->jwt.secret) < 16)
		config_problem(l, NULL, "the JWT secret must be at least 16 characters: set \"jwt.secret\" or "
		               "JWT_SECRET");
}

static const struct config_key keys[] = {
	{"jwt", "secret", CFG_STRING, CFG_FIELD(jwt.secret), 0, 0, NULL, "JWT_SECRET", NULL},
	{"jwt", "user_id_claim", CFG_STRING, CFG_FIELD(jwt.user_id_claim), 0, 0, "user_id", NULL, NULL},
	{"jwt", "issuer", CFG_STRING, CFG_FIELD(jwt.issuer), 0, 0, NULL, NULL, NULL},
	{"jwt", "audience", CFG_STRING, CFG_FIELD(jwt.audience), 0, 0, NULL, NULL, NULL},
	{"jwt", "leeway", CFG_INT, CFG_FIELD(jwt.leeway), 0, 3600, NULL, NULL, NULL},
};

const struct config_module auth_config = {"auth", keys, ARRAY_LEN(keys), check_secret};
