/*
 * admin.c — the admin API (design.md §14), under config admin.prefix
 * (default /_cutover/), guarded by its own bearer token
 * (CUTOVER_ADMIN_TOKEN).  Without a token the API does not exist (404);
 * the probes and the dashboard's files are served all the same.
 *
 *   GET  health                    liveness, no token needed
 *   GET  ready                     readiness: 200, or 503 and why; no token needed
 *   GET  metrics                   Prometheus text (also /metrics on the admin listener)
 *   GET  (the prefix), dashboard   the dashboard page; its files need no token,
 *                                  the calls it makes do
 *   GET  routes                    every route: mode, counters, readiness
 *   GET  routes/NAME               one route
 *   PUT  routes/NAME               {"mode": …, "sample": …, "force": …, "reset_evidence": …, "by": …};
 *                                  "mode": null follows the global mode; "force" passes the
 *                                  readiness gate; "reset_evidence" stops the mismatches so far
 *                                  from holding readiness back
 *   PUT  mode                      {"mode": …}: the global mode
 *   GET  mismatches[?route=&limit=]  newest first, with both answers and the JSON Patch
 *   GET  journal[?limit=]          secondary writes not yet applied
 *   GET  passthrough               requests proxied to the application, errors, bytes
 *   GET  connections               open connections and their cap, held body bytes, refusals
 *
 * With admin.listen set, all of it is served on that address only; on the
 * client port its paths are ordinary ones.
 *
 * Flips take effect for requests arriving from then on and are persisted in
 * the control store (see control_store.c), which every instance polls.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/sha.h>

#include "admin.h"
#include "control.h"
#include "control_store.h"
#include "copies.h"
#include "dashboard.h"
#include "exposition.h"
#include "health.h"
#include "journal.h"
#include "json.h"
#include "proxy.h"
#include "query.h"

/* Constant time in the token's length. */
static bool token_ok(const struct request *req)
{
	const char *h = req_header(req, "Authorization"), *want = req->cfg->admin.token;
	unsigned char got_md[SHA256_DIGEST_LENGTH], want_md[SHA256_DIGEST_LENGTH];

	if (!h || strncmp(h, "Bearer ", 7) != 0)
		return false;
	/* Digests compared in constant time: neither the token's bytes nor
	 * its length show in how long a wrong guess takes. */
	SHA256((const unsigned char *)h + 7, strlen(h + 7), got_md);
	SHA256((const unsigned char *)want, strlen(want), want_md);
	return CRYPTO_memcmp(got_md, want_md, sizeof(got_md)) == 0;
}

static void reply(struct request *req, int status, struct buf *b)
{
	req_reply_json(req, status, b->p, b->len);
	buf_free(b);
}

/* Who asked for a flip, for the log: the "by" the client gave (printable
 * characters only, at most 64), and its address. */
static const char *who(struct request *req, const struct json *body)
{
	const struct json *by = json_get(body, "by");
	const char *s = by ? json_cstr(by) : NULL;
	char name[65];
	size_t n = 0;

	for (; s && *s && n < sizeof(name) - 1; s++)
		if (*s >= 0x20 && *s < 0x7f)
			name[n++] = *s;
	name[n] = '\0';
	return n ? arena_printf(&req->arena, "%s from %s", name, req->remote)
	         : arena_printf(&req->arena, "from %s", req->remote);
}

/* {"mode": …, "sample": …, "force": …, "by": …} → control_set; replies on
 * error.  1: the flip waits for pending writes (202).  A flip the
 * readiness gate refuses is 409 unless forced; a forced one is logged
 * with who forced it and what it overrode. */
/* A flip's body: *mode (MODE_GLOBAL, MODE_UNCHANGED), *sample (-1
 * unchanged), *force; evidence reset at once when asked.  -1 after an
 * answer, 1 when the reset was all there was to do. */
static int read_flip(struct request *req, const struct resource *r, const struct json *body, int *mode,
                     int *sample, bool *force)
{
	const struct json *m, *smp, *f, *reset;
	int64_t pct;
	const char *name;
	struct error err;

	if ((m = json_get(body, "mode"))) {
		if (m->type == JSON_NULL && r) {
			*mode = MODE_GLOBAL;
		} else if (!(name = json_cstr(m)) || (*mode = mode_parse(name)) < 0) {
			req_reply_detail(req, 400, "\"mode\" must be one of legacy, dual-write, shadow, live, "
			                 "rampdown, mongodb, passthrough.");
			return -1;
		}
	}
	if ((smp = json_get(body, "sample"))) {
		if (!r || !json_int(smp, 0, 100, &pct)) {
			req_reply_detail(req, 400, "\"sample\" must be a whole percentage, 0 to 100, of a route.");
			return -1;
		}
		*sample = (int)pct;
	}
	if ((reset = json_get(body, "reset_evidence")) && (reset->type != JSON_BOOL || !r)) {
		req_reply_detail(req, 400, "\"reset_evidence\" must be true or false, for a route.");
		return -1;
	}
	if (reset && reset->u.b) {
		/* The mismatches so far stop holding readiness back, on every
		 * instance: after a repair made outside the tools, say. */
		if (control_reset_evidence(r, arena_printf(&req->arena, "reset by %s", who(req, body)), &err) < 0) {
			req_reply_detail(req, 409, err.msg);
			return -1;
		}
		if (*mode == MODE_UNCHANGED && *sample < 0)
			return 1;
	}
	if (*mode == MODE_UNCHANGED && *sample < 0) {
		req_reply_detail(req, 400, "Nothing to change: give \"mode\", \"sample\" or \"reset_evidence\".");
		return -1;
	}
	if ((f = json_get(body, "force"))) {
		if (f->type != JSON_BOOL) {
			req_reply_detail(req, 400, "\"force\" must be true or false.");
			return -1;
		}
		*force = f->u.b;
	}
	return 0;
}

static int apply_flip(struct request *req, const struct resource *r)
{
	char msg[128];
	struct json *body = json_parse(&req->arena, req->body, req->body_len, msg, sizeof(msg), NULL);
	int mode = MODE_UNCHANGED, sample = -1, rc;
	struct error err;
	bool force = false;

	if (!body || body->type != JSON_OBJECT) {
		req_reply_detail(req, 400, "Send a JSON object: {\"mode\": \"shadow\", \"sample\": 100}.");
		return -1;
	}
	if ((rc = read_flip(req, r, body, &mode, &sample, &force)) != 0)
		return rc < 0 ? -1 : 0;
	if (control_gate(r, mode, &err) < 0) {
		if (!force) {
			req_reply_detail(req, 409, arena_printf(&req->arena, "%s. Flip with \"force\": true to override.",
			                                        err.msg));
			return -1;
		}
		fprintf(stderr, "cutover: admin: readiness overridden (forced by %s): %s\n", who(req, body), err.msg);
	}
	if ((rc = control_set(r, mode, sample, &err)) < 0) {
		req_reply_detail(req, 409, err.msg);
		return -1;
	}
	if (rc == 1 && !r) {
		/* The global mode is set; the routes with writes pending follow it
		 * once those are in both stores. */
		fprintf(stderr, "cutover: admin: global mode %s; routes with writes pending follow once they are in "
		        "both stores (%s)\n", mode_name(mode), who(req, body));
		control_persist(NULL);
		return 1;
	}
	if (rc == 1) {
		fprintf(stderr, "cutover: admin: %s to %s once pending writes are in both stores (%s)\n",
		        r->name, mode >= 0 ? mode_name(mode) : "global", who(req, body));
		return 1;
	}
	fprintf(stderr, "cutover: admin: %s mode %s%s (%s)\n", r ? r->name : "global",
	        r ? mode_name(control_mode(r)) : mode_name(mode), r && mode == MODE_GLOBAL ? " (global)" : "",
	        who(req, body));
	control_persist(r);
	return 0;
}

static void metrics(struct request *req)
{
	struct buf b = {0};

	exposition_write(&b, req->cfg);
	req_reply(req, 200, EXPOSITION_CONTENT_TYPE, b.p, b.len);
	buf_free(&b);
}

/* What the admin paths serve without the token: the probes, the
 * dashboard's files.  false when rest is none of them. */
static bool serve_public(struct request *req, const char *rest, bool get)
{
	const struct config *cfg = req->cfg;
	const char *type, *file;
	size_t flen;

	if (!get)
		return false;
	if (strcmp(rest, "health") == 0) {
		req_reply_json(req, 200, "{\"status\":\"ok\"}", 15);
		return true;
	}
	if (strcmp(rest, "ready") == 0) {
		struct buf b = {0}, why = {0};
		/* The stores' own words (their addresses among them) only for
		 * the admin token's holder: the probe itself needs none. */
		bool ready = health_ready(&why, *cfg->admin.token && token_ok(req));

		buf_printf(&b, "{\"status\":\"%s\"", ready ? "ready" : "unavailable");
		if (!ready) {
			buf_puts(&b, ",\"reason\":");
			json_put_cstr(&b, buf_cstr(&why));
		}
		buf_putc(&b, '}');
		buf_free(&why);
		reply(req, ready ? 200 : 503, &b);
		return true;
	}
	if (!dashboard_file(rest, &type, &file, &flen))
		return false;
	/* The page asks for the token itself and sends it with each call;
	 * nothing else may load or frame it. */
	req_add_header(req, "Content-Security-Policy", "default-src 'self'; frame-ancestors 'none'");
	req_add_header(req, "X-Content-Type-Options", "nosniff");
	req_add_header(req, "Cache-Control", "no-cache");
	req_reply(req, 200, type, file, flen);
	return true;
}

/* The routes' JSON view ------------------------------------------------ */

static const char *const outcome_names[OUT_COUNT] = {
	"matched", "mismatched", "raced", "secondary_errors", "secondary_timeouts", "dropped", "noise",
	"ordering",
};

/* ,"copy":{"legacy":N,"mongodb":M,"counted_seconds_ago":S} as last
 * counted, while the route is in dual-write; else null. */
static void copy_json(struct buf *b, const struct resource *r)
{
	int64_t legacy, mongo;
	double age;

	if (control_mode(r) != MODE_DUAL_WRITE || !copies_count(r, &legacy, &mongo, &age)) {
		buf_puts(b, ",\"copy\":null");
		return;
	}
	buf_printf(b, ",\"copy\":{\"legacy\":%lld,\"mongodb\":%lld,\"counted_seconds_ago\":%.1f}", (long long)legacy,
	           (long long)mongo, age);
}

static void latency_json(struct buf *b, const struct metrics_route *mr)
{
	uint64_t hist[LAT_BUCKETS];
	int s;

	buf_puts(b, ",\"latency_ms\":{");
	for (s = 0; s < WS_COUNT; s++) {
		uint64_t calls = readiness_store_calls(mr, (enum which_store)s, hist);

		buf_printf(b, "%s\"%s\":{\"calls\":%llu,\"p50\":%.3f,\"p99\":%.3f}", s ? "," : "",
		           s == WS_LEGACY ? "legacy" : "mongodb", (unsigned long long)calls,
		           readiness_quantile_ms(hist, 0.5), readiness_quantile_ms(hist, 0.99));
	}
	buf_putc(b, '}');
}

/* One route's state, each control module writing its own part. */
static void route_json(struct buf *b, const struct resource *r)
{
	struct metrics_route mr;
	size_t i;

	metrics_route(r->index, &mr);
	buf_puts(b, "{\"route\":");
	json_put_cstr(b, r->name);
	buf_puts(b, ",\"path\":");
	json_put_cstr(b, r->path);
	control_route_json(b, r);
	buf_printf(b, ",\"compared\":%llu", (unsigned long long)readiness_compared(&mr));
	for (i = 0; i < OUT_COUNT; i++)
		buf_printf(b, ",\"%s\":%llu", outcome_names[i], (unsigned long long)mr.outcomes[i]);
	latency_json(b, &mr);
	mismatch_route_json(b, r);
	readiness_route_json(b, r, &mr);
	copy_json(b, r);
	fallback_route_json(b, r);
	buf_putc(b, '}');
}

/* Every route (only: that one alone), with the global mode. */
static void routes_json(struct buf *b, const struct config *cfg, const struct resource *only)
{
	size_t i;

	if (only)
		return route_json(b, only);
	buf_printf(b, "{\"mode\":\"%s\",\"mongodb\":%s,\"routes\":[", mode_name(control_mode(NULL)),
	           *cfg->mongodb_uri ? "true" : "false");
	for (i = 0; i < cfg->nresources; i++) {
		if (i)
			buf_putc(b, ',');
		route_json(b, cfg->resources[i]);
	}
	buf_puts(b, "]}");
}

/* routes/NAME: a route's state, and its flips. */
static void serve_route(struct request *req, const char *name, bool get, bool put)
{
	size_t n = strcspn(name, "/");
	const struct resource *r = config_resource(req->cfg, name, n);
	struct buf b = {0};
	int rc = 0;

	if (!r || (name[n] == '/' && name[n + 1] != '\0'))
		return req_reply_detail(req, 404, "No such route.");
	if (put && (rc = apply_flip(req, r)) < 0)
		return;
	if (!get && !put)
		return req_reply_detail(req, 405, "Use GET or PUT.");
	routes_json(&b, req->cfg, r);
	reply(req, rc == 1 ? 202 : 200, &b);
}

/* ?limit=N, 20 unless a positive number is given. */
static int limit_of(const struct qparams *qp)
{
	const char *q = query_get(qp, "limit");
	int limit = q ? atoi(q) : 20;

	return limit > 0 ? limit : 20;
}

/* The paths behind the token. */
static void serve_api(struct request *req, const char *rest, bool get, bool put)
{
	struct qparams qp;
	struct buf b = {0};
	const char *q;
	int rc = 0;

	query_parse(&req->arena, req->query, &qp);
	if (strncmp(rest, "routes/", 7) == 0)
		return serve_route(req, rest + 7, get, put);
	if (strcmp(rest, "mode") == 0 && (get || put)) {
		if (put && (rc = apply_flip(req, NULL)) < 0)
			return;
		buf_printf(&b, "{\"mode\":\"%s\"}", mode_name(control_mode(NULL)));
		return reply(req, rc == 1 ? 202 : 200, &b);
	}
	if (!get)
		return req_reply_detail(req, 404, "Not found.");
	if (strcmp(rest, "metrics") == 0)
		return metrics(req);
	if (strcmp(rest, "routes") == 0) {
		routes_json(&b, req->cfg, NULL);
	} else if (strcmp(rest, "mismatches") == 0) {
		const struct resource *r = NULL;

		if ((q = query_get(&qp, "route")) && !(r = config_resource(req->cfg, q, strlen(q))))
			return req_reply_detail(req, 404, "No such route.");
		control_mismatches_json(&b, r, limit_of(&qp));
	} else if (strcmp(rest, "passthrough") == 0) {
		proxy_stats_json(&b);
	} else if (strcmp(rest, "connections") == 0) {
		proxy_guard_json(&b);
	} else if (strcmp(rest, "journal") == 0) {
		journal_json(&b, limit_of(&qp));
	} else {
		return req_reply_detail(req, 404, "Not found.");
	}
	reply(req, 200, &b);
}

void admin_handle(struct request *req)
{
	const struct config *cfg = req->cfg;
	size_t plen = strlen(cfg->admin.prefix);
	const char *rest = req->path + plen;
	bool get = strcmp(req->method, "GET") == 0 || strcmp(req->method, "HEAD") == 0;
	bool put = strcmp(req->method, "PUT") == 0 || strcmp(req->method, "POST") == 0 ||
	           strcmp(req->method, "PATCH") == 0;

	req->route = "admin";
	/* The admin listener serves nothing else, and /metrics where
	 * Prometheus looks by default. */
	if (strncmp(req->path, cfg->admin.prefix, plen) != 0) {
		if (strcmp(req->path, "/metrics") != 0)
			return req_reply_detail(req, 404, "Not found.");
		rest = "metrics";
	}
	if (serve_public(req, rest, get))
		return;
	if (!*cfg->admin.token)
		return req_reply_detail(req, 404, "Not found.");
	if (!token_ok(req)) {
		req_add_header(req, "WWW-Authenticate", "Bearer realm=\"cutover-admin\"");
		return req_reply_detail(req, 401, "Admin token missing or wrong.");
	}
	serve_api(req, rest, get, put);
}

/* Configuration ------------------------------------------------------ */

static void check_admin(struct config_loader *l)
{
	const struct config *cfg = config_of(l);

	if (*cfg->admin.listen && !strchr(cfg->admin.listen, ':'))
		config_problem(l, NULL, "admin.listen \"%s\" must be host:port", cfg->admin.listen);
	else if (*cfg->admin.listen && strcmp(cfg->admin.listen, cfg->listen) == 0 &&
	         atoi(strrchr(cfg->listen, ':') + 1) != 0)
		config_problem(l, NULL, "admin.listen \"%s\" is the client address too: give the admin API a port "
		               "of its own, or leave admin.listen out", cfg->admin.listen);
}

static const struct config_key keys[] = {
	{"admin", "prefix", CFG_STRING, CFG_FIELD(admin.prefix), 0, 0, "/_cutover/", NULL, NULL,
	 "the path the admin API, metrics, probes and dashboard are served under"},
	{"admin", "token", CFG_STRING, CFG_FIELD(admin.token), 0, 0, "", "CUTOVER_ADMIN_TOKEN", NULL,
	 "the bearer token of the admin API; empty turns the admin API off"},
	{"admin", "listen", CFG_STRING, CFG_FIELD(admin.listen), 0, 0, "", "CUTOVER_ADMIN_LISTEN", NULL,
	 "host:port of a listener of the admin API's own"},
};

const struct config_module admin_config = {"admin", keys, ARRAY_LEN(keys), check_admin};
