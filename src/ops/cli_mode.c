/*
 * cli_mode.c — `cutover mode [ROUTE [MODE]]`: the admin API from the shell.
 *
 * Talks HTTP/1.0 to the gateway named by the config's admin.listen, else
 * its listen address (or CUTOVER_ADMIN_URL, host:port), with
 * CUTOVER_ADMIN_TOKEN.
 */
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "cli.h"
#include "json.h"

/* One request; the status, and the body in out.  -1 when unreachable. */
static int http(const char *hostport, const char *method, const char *path, const char *token,
                const char *body, struct buf *out)
{
	char host[256], port[16], head[1024];
	const char *colon = strrchr(hostport, ':');
	struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *ai = NULL;
	struct buf resp = {0};
	char chunk[4096];
	ssize_t n;
	int fd = -1, status = -1;
	const char *sep;

	if (!colon)
		return -1;
	snprintf(host, sizeof(host), "%.*s", (int)(colon - hostport), hostport);
	snprintf(port, sizeof(port), "%s", colon + 1);
	if (strcmp(host, "0.0.0.0") == 0 || !*host)
		snprintf(host, sizeof(host), "127.0.0.1");
	if (getaddrinfo(host, port, &hints, &ai) != 0)
		return -1;
	fd = socket(ai->ai_family, ai->ai_socktype, ai->ai_protocol);
	if (fd < 0 || connect(fd, ai->ai_addr, ai->ai_addrlen) < 0)
		goto out;
	snprintf(head, sizeof(head), "%s %s HTTP/1.0\r\nHost: %s\r\nAuthorization: Bearer %s\r\n"
	         "Content-Type: application/json\r\nContent-Length: %zu\r\n\r\n",
	         method, path, hostport, token, body ? strlen(body) : 0);
	if (write(fd, head, strlen(head)) < 0 || (body && write(fd, body, strlen(body)) < 0))
		goto out;
	while ((n = read(fd, chunk, sizeof(chunk))) > 0)
		buf_put(&resp, chunk, (size_t)n);
	if (resp.len > 12 && strncmp(resp.p, "HTTP/1.", 7) == 0 &&
	    (sep = strstr(buf_cstr(&resp), "\r\n\r\n"))) {
		status = atoi(resp.p + 9);
		buf_puts(out, sep + 4);
	}
out:
	if (fd >= 0)
		close(fd);
	freeaddrinfo(ai);
	buf_free(&resp);
	return status;
}

static const char *str_of(const struct json *o, const char *key)
{
	const struct json *v = json_get(o, key);

	return v && (v->type == JSON_STRING || v->type == JSON_NUMBER) ? v->u.s.p : v && v->type == JSON_BOOL ?
	       (v->u.b ? "yes" : "no") : "-";
}

static void print_route(const struct json *r)
{
	printf("%-16s %-11s %-7s %6s %9s %10s %6s  %s\n", str_of(r, "route"), str_of(r, "mode"),
	       str_of(r, "mode_source"), str_of(r, "sample"), str_of(r, "compared"), str_of(r, "mismatched"),
	       str_of(r, "raced"), str_of(r, "readiness"));
}

/* The admin API's address and token; NULL (said why) without a token. */
static const char *admin_address(const struct config *cfg, const char *what, const char **token)
{
	const char *addr = getenv("CUTOVER_ADMIN_URL");

	*token = getenv("CUTOVER_ADMIN_TOKEN");
	if (!*token || !**token)
		*token = cfg->admin.token;
	if (!**token) {
		fprintf(stderr, "cutover: %s needs the admin token: set CUTOVER_ADMIN_TOKEN\n", what);
		return NULL;
	}
	return addr && *addr ? addr : *cfg->admin.listen ? cfg->admin.listen : cfg->listen;
}

/* The paths two reads of the authoritative store differ at, and the rule
 * that would stop comparing them. */
static void print_noise(const struct json *r)
{
	const struct json *nb = json_get(r, "noise_baseline"), *paths = nb ? json_get(nb, "paths") : NULL;
	const struct json *rule = nb ? json_get(nb, "ignore_rule") : NULL, *ev = nb ? json_get(nb, "evidence") : NULL;
	const char *withheld = nb ? json_cstr(json_get(nb, "withheld")) : NULL;
	struct buf b = {0};
	size_t i;

	if (!paths || paths->type != JSON_OBJECT || !paths->u.o.n)
		return;
	printf("%s: noise (two reads of its authoritative store differ, %s of %s):", str_of(r, "route"),
	       str_of(nb, "differed"), str_of(nb, "reads"));
	for (i = 0; i < paths->u.o.n; i++)
		printf(" %s (%s reads of %s records)", paths->u.o.m[i].key, str_of(paths, paths->u.o.m[i].key),
		       str_of(json_get(ev, paths->u.o.m[i].key), "records"));
	if (withheld)
		printf("\n  no rule suggested: %s", withheld);
	if (rule && rule->type == JSON_OBJECT) {
		const struct json *ign = json_get(json_get(rule, "compare"), "ignore");

		buf_puts(&b, "{\"compare\": {\"ignore\": [");
		for (i = 0; ign && ign->type == JSON_ARRAY && i < ign->u.a.n; i++) {
			if (i)
				buf_puts(&b, ", ");
			json_put_cstr(&b, json_cstr(ign->u.a.v[i]));
		}
		buf_puts(&b, "]}}");
		printf("\n  to stop comparing them, in the route: %s", buf_cstr(&b));
	}
	printf("\n");
	buf_free(&b);
}

/* The gateway's refusal: its detail, with the advice for API clients
 * ("force": true) said as this command takes it. */
static void refused(int status, struct arena *a, const struct buf *out)
{
	static const char api[] = "Flip with \"force\": true to override.";
	char msg[128];
	const struct json *doc = json_parse(a, out->p, out->len, msg, sizeof(msg), NULL);
	const char *detail = doc ? json_cstr(json_get(doc, "detail")) : NULL, *at;

	if (!detail) {
		fprintf(stderr, "cutover: %d %s\n", status, out->p ? out->p : "");
		return;
	}
	if ((at = strstr(detail, api)))
		fprintf(stderr, "cutover: %.*sRun it again with --force to override.\n", (int)(at - detail), detail);
	else
		fprintf(stderr, "cutover: %s\n", detail);
}

int cli_mode(const struct config *cfg, int argc, char **argv, bool force, bool reset)
{
	const char *token, *addr;
	struct buf path = {0}, body = {0}, out = {0};
	struct arena a;
	struct json *doc;
	char msg[128];
	int status, rc = 1;

	if (!(addr = admin_address(cfg, "mode", &token)))
		return 1;
	buf_puts(&path, cfg->admin.prefix);
	if (argc >= 2) {
		bool global = strcmp(argv[1], "*") == 0 || strcmp(argv[1], "global") == 0;

		buf_puts(&path, global ? "mode" : "routes/");
		if (!global)
			buf_puts(&path, argv[1]);
		if (argc >= 3 || reset) {
			const char *user = getenv("USER");

			buf_putc(&body, '{');
			if (argc >= 3) {
				buf_puts(&body, "\"mode\":");
				if (strcmp(argv[2], "global") == 0)
					buf_puts(&body, "null");
				else
					json_put_cstr(&body, argv[2]);
				buf_putc(&body, ',');
			}
			if (force)
				buf_puts(&body, "\"force\":true,");
			if (reset)
				buf_puts(&body, "\"reset_evidence\":true,");
			buf_puts(&body, "\"by\":");
			json_put_cstr(&body, user && *user ? user : "cutover mode");
			buf_putc(&body, '}');
		}
	} else {
		buf_puts(&path, "routes");
	}
	status = http(addr, body.len ? "PUT" : "GET", buf_cstr(&path), token, body.len ? buf_cstr(&body) : NULL,
	              &out);
	arena_init(&a, 4096);
	if (status < 0) {
		fprintf(stderr, "cutover: cannot reach the gateway at %s\n", addr);
	} else if (status != 200 && status != 202) {
		refused(status, &a, &out);
	} else if (!(doc = json_parse(&a, out.p, out.len, msg, sizeof(msg), NULL))) {
		fprintf(stderr, "cutover: unexpected answer: %s\n", buf_cstr(&out));
	} else {
		const struct json *routes = json_get(doc, "routes");
		size_t i;

		rc = 0;
		if (json_get(doc, "mode") && !json_get(doc, "route"))
			printf("global mode: %s\n", str_of(doc, "mode"));
		if (routes || json_get(doc, "route"))
			printf("%-16s %-11s %-7s %6s %9s %10s %6s  %s\n", "ROUTE", "MODE", "FROM", "SAMPLE",
			       "COMPARED", "MISMATCHED", "RACED", "READINESS");
		for (i = 0; routes && routes->type == JSON_ARRAY && i < routes->u.a.n; i++)
			print_route(routes->u.a.v[i]);
		if (json_get(doc, "route"))
			print_route(doc);
		for (i = 0; routes && routes->type == JSON_ARRAY && i < routes->u.a.n; i++)
			print_noise(routes->u.a.v[i]);
		if (json_get(doc, "route"))
			print_noise(doc);
	}
	arena_reset(&a);
	buf_free(&path);
	buf_free(&body);
	buf_free(&out);
	return rc;
}

/* The stages a route goes through, each with what the next one needs. */
static const char *const stages[] = {"legacy", "dual-write", "shadow", "live", "rampdown", "mongodb"};

/* "comparisons: ok (312 of 100 needed); mismatches: NO (…); …" */
static void print_checks(const struct json *r)
{
	const struct json *checks = json_get(r, "readiness_checks"), *ok;
	size_t i;

	if (!checks || checks->type != JSON_ARRAY)
		return;
	printf("%-16s checks:", "");
	for (i = 0; i < checks->u.a.n; i++) {
		ok = json_get(checks->u.a.v[i], "ok");
		printf("%s %s %s (%s)", i ? ";" : "", str_of(checks->u.a.v[i], "check"),
		       ok && ok->type == JSON_BOOL && ok->u.b ? "ok" : "NOT", str_of(checks->u.a.v[i], "detail"));
	}
	printf("\n");
}

const char *cli_default_config = "etc/cutover.json";

/* " -c FILE" unless the configuration is the default one, for the
 * commands the plan prints: they reach the same gateway. */
static void config_option(const struct config *cfg, struct buf *b)
{
	const char *p = cfg->path;

	if (!p || strcmp(p, cli_default_config) == 0)
		return;
	buf_puts(b, " -c ");
	if (p[strspn(p, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789/._-+=:,@")] == '\0') {
		buf_puts(b, p);
		return;
	}
	buf_putc(b, '\'');
	for (; *p; p++)
		if (*p == '\'')
			buf_puts(b, "'\\''");
		else
			buf_putc(b, *p);
	buf_putc(b, '\'');
}

/* The next step of route r; c: the commands' " -c FILE" or ""; mongo: the
 * gateway has a MongoDB store. */
static void plan_route(const struct config *cfg, const struct json *r, const char *c, bool mongo)
{
	const char *name = str_of(r, "route"), *mode = str_of(r, "mode"), *next = NULL;
	const struct json *ready = json_get(r, "ready");
	bool is_ready = ready && ready->type == JSON_BOOL && ready->u.b;
	size_t i;

	for (i = 0; i + 1 < ARRAY_LEN(stages); i++)
		if (strcmp(mode, stages[i]) == 0)
			next = stages[i + 1];
	if (strcmp(mode, "passthrough") == 0) {
		printf("%-16s passthrough: the application serves it\n%-16s to serve it here: cutover mode%s %s legacy\n",
		       name, "", c, name);
		return;
	}
	if (!next) {
		printf("%-16s mongodb: the last stage%s\n", name, cfg->rollback_copy ?
		       "; the legacy store still gets every write (rollback_copy), for a roll-back" : "");
		return;
	}
	printf("%-16s %s -> %s   ", name, mode, next);
	if (strcmp(mode, "legacy") == 0) {
		printf("%s\n", mongo ? "writes start reaching MongoDB"
		       : "needs MongoDB: the gateway has none (set mongodb_uri or MONGODB_URI, and restart it)");
		if (mongo)
			printf("%-16s cutover mode%s %s dual-write\n", "", c, name);
	} else if (strcmp(mode, "dual-write") == 0) {
		const struct json *copy = json_get(r, "copy");

		if (copy && copy->type == JSON_OBJECT)
			printf("MongoDB holds %s of the legacy store's %s records (counted %s s ago); ", str_of(copy, "mongodb"),
			       str_of(copy, "legacy"), str_of(copy, "counted_seconds_ago"));
		printf("copy the rows from before dual-write, and check them\n"
		       "%-16s cutover migrate%s --resource %s && cutover verify%s --resource %s && cutover mode%s %s shadow\n",
		       "", c, name, c, name, c, name);
	} else if (strcmp(mode, "shadow") == 0 && !is_ready) {
		printf("%s (%s)\n%-16s when it is ready: cutover mode%s %s live\n", str_of(r, "readiness"),
		       str_of(r, "readiness_detail"), "", c, name);
		print_checks(r);
	} else {
		printf("%s (%s)\n%-16s cutover mode%s %s %s\n", is_ready ? "ready" : str_of(r, "readiness"),
		       str_of(r, "readiness_detail"), "", c, name, next);
		print_checks(r);
	}
}

int cli_plan(const struct config *cfg)
{
	const char *token, *addr;
	struct buf out = {0};
	struct arena a;
	struct json *doc;
	const struct json *routes;
	char msg[128], path[300];
	int status, rc = 1;
	size_t i;

	if (!(addr = admin_address(cfg, "plan", &token)))
		return 1;
	snprintf(path, sizeof(path), "%sroutes", cfg->admin.prefix);
	status = http(addr, "GET", path, token, NULL, &out);
	arena_init(&a, 4096);
	if (status < 0)
		fprintf(stderr, "cutover: cannot reach the gateway at %s\n", addr);
	else if (status != 200)
		fprintf(stderr, "cutover: %d %s\n", status, buf_cstr(&out));
	else if (!(doc = json_parse(&a, out.p, out.len, msg, sizeof(msg), NULL)) ||
	         !(routes = json_get(doc, "routes")) || routes->type != JSON_ARRAY)
		fprintf(stderr, "cutover: unexpected answer: %s\n", buf_cstr(&out));
	else {
		const struct json *m = json_get(doc, "mongodb");
		struct buf c = {0};

		rc = 0;
		config_option(cfg, &c);
		printf("global mode %s; the next safe step of each route, what stands in its way, and the command:\n",
		       str_of(doc, "mode"));
		for (i = 0; i < routes->u.a.n; i++)
			plan_route(cfg, routes->u.a.v[i], buf_cstr(&c), m && m->type == JSON_BOOL && m->u.b);
		buf_free(&c);
	}
	arena_reset(&a);
	buf_free(&out);
	return rc;
}
