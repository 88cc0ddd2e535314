/*
 * upstream.c — the application behind the gateway (see proxy_conn.h): its
 * "upstream" configuration, its address resolved once at the start, and
 * the TLS context of an https:// application.
 */
#include <netdb.h>
#include <stdio.h>
#include <string.h>

#include <openssl/ssl.h>

#include "proxy_conn.h"

struct proxy_upstream proxy_up;

/* An https:// upstream: TLS 1.2 and later, its certificate checked against
 * upstream.ca_file, or the system's authorities. */
static SSL_CTX *upstream_tls(const struct config *cfg, struct error *err)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
	const char *ca = cfg->upstream.ca_file;

	if (ctx && SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) == 1 &&
	    (*ca ? SSL_CTX_load_verify_locations(ctx, ca, NULL) : SSL_CTX_set_default_verify_paths(ctx)) == 1) {
		SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
		return ctx;
	}
	error_set(err, 0, "upstream %s: cannot load the certificate authorities%s%s", cfg->upstream.url,
	          *ca ? " of " : "", ca);
	SSL_CTX_free(ctx);
	return NULL;
}

int upstream_init(const struct config *cfg, struct error *err)
{
	struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
	                         .ai_flags = AI_NUMERICSERV};
	struct addrinfo *res = NULL;
	char port[16];
	int rc;

	if (!*cfg->upstream.url)
		return 0;
	snprintf(port, sizeof(port), "%d", cfg->upstream.port);
	if ((rc = getaddrinfo(cfg->upstream.host, port, &hints, &res)) != 0 || !res) {
		error_set(err, 0, "upstream %s: cannot resolve %s: %s", cfg->upstream.url,
		          cfg->upstream.host, gai_strerror(rc));
		return -1;
	}
	memcpy(&proxy_up.addr, res->ai_addr, res->ai_addrlen);
	proxy_up.addrlen = res->ai_addrlen;
	freeaddrinfo(res);
	snprintf(proxy_up.hostport, sizeof(proxy_up.hostport), strchr(cfg->upstream.host, ':') ?
	         "[%s]:%d" : "%s:%d", cfg->upstream.host, cfg->upstream.port);
	if (strncmp(cfg->upstream.url, "https://", 8) == 0 && !(proxy_up.tls = upstream_tls(cfg, err)))
		return -1;
	proxy_up.host = cfg->upstream.host;
	return 0;
}

void upstream_fini(void)
{
	SSL_CTX_free(proxy_up.tls);
	proxy_up.tls = NULL;
}

/* Configuration ------------------------------------------------------ */

/* "upstream": "http://host:port", or an object with "url" and limits. */
static void parse_upstream(struct config_loader *l, const struct json *v)
{
	struct config *cfg = config_of(l);
	const char *url;

	if (v->type == JSON_STRING) {
		if ((url = config_want_str(l, v, "upstream")))
			cfg->upstream.url = url;
	} else if (config_want_type(l, v, JSON_OBJECT, "upstream")) {
		config_read_section(l, "upstream", v);
	}
}

/* http(s)://host[:port][/] → host and port; other schemes and paths are refused. */
static void check_upstream(struct config_loader *l)
{
	struct config *cfg = config_of(l);
	const char *u = cfg->upstream.url, *h, *end, *colon;
	long port = 80;
	bool https = u && strncmp(u, "https://", 8) == 0;

	if (!u || !*u) {
		cfg->upstream.url = "";
		return;
	}
	if (strncmp(u, "http://", 7) != 0 && !https) {
		config_problem(l, NULL, "upstream \"%s\" must be an http:// or https:// URL", u);
		return;
	}
	h = u + (https ? 8 : 7);
	if (https)
		port = 443;
	end = h + strcspn(h, "/");
	if (*end && strcmp(end, "/") != 0) {
		config_problem(l, NULL, "upstream \"%s\": a path is not supported; requests keep their own", u);
		return;
	}
	if (*h == '[') {
		const char *rb = memchr(h, ']', (size_t)(end - h));

		colon = rb && rb + 1 < end && rb[1] == ':' ? rb + 1 : NULL;
		cfg->upstream.host = rb ? arena_strndup(&cfg->arena, h + 1, (size_t)(rb - h - 1)) : NULL;
	} else {
		colon = memchr(h, ':', (size_t)(end - h));
		cfg->upstream.host = arena_strndup(&cfg->arena, h, (size_t)((colon ? colon : end) - h));
	}
	if (colon) {
		char *stop;

		port = strtol(colon + 1, &stop, 10);
		if (stop != end || port < 1 || port > 65535)
			port = -1;
	}
	if (!cfg->upstream.host || !*cfg->upstream.host || port < 0)
		config_problem(l, NULL, "upstream \"%s\" is not http(s)://host:port", u);
	cfg->upstream.port = (int)port;
}

static const struct config_key keys[] = {
	{NULL, "upstream", CFG_CUSTOM, CFG_FIELD(upstream), 0, 0, NULL, NULL, parse_upstream,
	 "the application behind the gateway: a URL, or an object of the keys below"},
	{"upstream", "url", CFG_STRING, CFG_FIELD(upstream.url), 0, 0, "", "CUTOVER_UPSTREAM", NULL,
	 "http://host:port or https://host:port of the application"},
	{"upstream", "connect_timeout_ms", CFG_INT, CFG_FIELD(upstream.connect_timeout_ms), 1, 600000, "5000", NULL,
	 NULL,
	 "time to connect to the application"},
	{"upstream", "timeout_ms", CFG_INT, CFG_FIELD(upstream.timeout_ms), 1, 3600000, "60000", NULL, NULL,
	 "the longest wait for the application's answer, or between two of its reads"},
	{"upstream", "max_idle", CFG_INT, CFG_FIELD(upstream.max_idle), 0, 4096, "32", NULL, NULL,
	 "idle connections to the application kept for reuse"},
	{"upstream", "ca_file", CFG_STRING, CFG_FIELD(upstream.ca_file), 0, 0, "", NULL, NULL,
	 "PEM certificates that an https:// application's certificate must chain to"},
};

const struct config_module upstream_config = {"upstream", keys, ARRAY_LEN(keys), check_upstream};
