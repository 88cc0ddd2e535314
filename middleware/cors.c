/*
 * cors.c — pipeline step 3: cross-origin requests from browsers.
 *
 * Origins listed in cors.origins ("*" for any) get the CORS headers; a
 * preflight (OPTIONS with Access-Control-Request-Method) is answered here.
 */
#include <stdio.h>
#include <string.h>

#include "middleware.h"
#include "request.h"

static bool origin_allowed(const struct config *cfg, const char *origin)
{
	size_t i;

	for (i = 0; i < cfg->cors.norigins; i++)
		if (strcmp(cfg->cors.origins[i], "*") == 0 || strcmp(cfg->cors.origins[i], origin) == 0)
			return true;
	return false;
}

static int cors_on_request(struct request *req)
{
	const char *origin = req_header(req, "Origin");

	if (!origin || !origin_allowed(req->cfg, origin) || strcmp(req->method, "OPTIONS") != 0 ||
	    !req_header(req, "Access-Control-Request-Method"))
		return MW_CONTINUE;
	req_add_header(req, "Access-Control-Allow-Methods", "GET, POST, PUT, PATCH, DELETE, OPTIONS");
	req_add_header(req, "Access-Control-Allow-Headers",
	               "authorization, content-type, x-request-id");
	req_add_header(req, "Access-Control-Max-Age",
	               arena_printf(&req->arena, "%d", req->cfg->cors.max_age));
	req->route = "cors.preflight";
	req->status = 204;
	req->done = true;
	return MW_DONE;
}

static void cors_on_response(struct request *req)
{
	const char *origin = req_header(req, "Origin");

	if (!origin || !origin_allowed(req->cfg, origin))
		return;
	req_add_header(req, "Access-Control-Allow-Origin", arena_strdup(&req->arena, origin));
	req_add_header(req, "Access-Control-Expose-Headers", "X-Request-Id");
}

const struct middleware mw_cors = {
	.name = "cors",
	.on_request = cors_on_request,
	.on_response = cors_on_response,
};

/* Configuration ------------------------------------------------------ */

static void parse_origins(struct config_loader *l, const struct json *v)
{
	struct config *cfg = config_of(l);
	size_t j;

	if (!config_want_type(l, v, JSON_ARRAY, "origins"))
		return;
	cfg->cors.origins = ARENA_ARRAY(&cfg->arena, const char *, v->u.a.n);
	for (j = 0; j < v->u.a.n; j++)
		if ((cfg->cors.origins[cfg->cors.norigins] = config_want_str(l, v->u.a.v[j], "origins")))
			cfg->cors.norigins++;
}

static const struct config_key keys[] = {
	{"cors", "origins", CFG_CUSTOM, CFG_FIELD(cors.origins), 0, 0, NULL, NULL, parse_origins,
	 "origins allowed to call the API from a browser (\"*\" for any)"},
	{"cors", "max_age", CFG_INT, CFG_FIELD(cors.max_age), 0, 86400, "600", NULL, NULL,
	 "seconds a browser may keep a CORS preflight's answer"},
};

const struct config_module cors_config = {"cors", keys, ARRAY_LEN(keys), NULL};
