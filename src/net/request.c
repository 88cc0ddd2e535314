/*
 * request.c — a request's life on its loop (see request.h): read from
 * evhttp, run through the pipeline's steps (design.md §4), answered, logged and
 * freed.  Who serves it is the router's business (router.c), the loops and
 * listeners the server's (server.c).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "control.h"
#include "json.h"
#include "metrics.h"
#include "middleware.h"
#include "profile.h"
#include "request.h"

/* The pipeline, in the order of design.md §4. */
static const struct middleware *const steps[] = {
	&mw_request_id, &mw_access_log, &mw_limits, &mw_cors, &mw_auth,
};

struct store *req_store(const struct request *req)
{
	return req->store;
}

const char *req_header(const struct request *req, const char *name)
{
	return evhttp_find_header(evhttp_request_get_input_headers(req->ev), name);
}

void req_add_header(struct request *req, const char *name, const char *value)
{
	if (req->nheaders < REQ_MAX_HEADERS) {
		req->headers[req->nheaders].name = name;
		req->headers[req->nheaders].value = value;
		req->nheaders++;
	}
}

void req_reply(struct request *req, int status, const char *type, const char *body, size_t len)
{
	req->status = status;
	req->out_type = type;
	req->out.len = 0;
	buf_put(&req->out, body, len);
	req->done = true;
}

void req_reply_json(struct request *req, int status, const char *json, size_t len)
{
	req_reply(req, status, NULL, json, len);
}

void req_reply_detail(struct request *req, int status, const char *detail)
{
	struct buf b = {0};

	if (req->resource) {
		/* A resource's path: its profile's error shape. */
		struct buf msg = {0};

		json_put_cstr(&msg, detail);
		profile_render_one(&b, req->resource->profile->error, SLOT_MESSAGE, msg.p, msg.len, status);
		buf_free(&msg);
	} else {
		buf_puts(&b, "{\"detail\":");
		json_put_cstr(&b, detail);
		buf_putc(&b, '}');
	}
	req_reply_json(req, status, b.p, b.len);
	buf_free(&b);
}

static const char *method_name(enum evhttp_cmd_type t)
{
	switch (t) {
	case EVHTTP_REQ_GET: return "GET";
	case EVHTTP_REQ_POST: return "POST";
	case EVHTTP_REQ_HEAD: return "HEAD";
	case EVHTTP_REQ_PUT: return "PUT";
	case EVHTTP_REQ_DELETE: return "DELETE";
	case EVHTTP_REQ_OPTIONS: return "OPTIONS";
	case EVHTTP_REQ_PATCH: return "PATCH";
	default: return "OTHER";
	}
}

static const char *reason(int status)
{
	switch (status) {
	case 200: return "OK";
	case 201: return "Created";
	case 202: return "Accepted";
	case 204: return "No Content";
	case 400: return "Bad Request";
	case 401: return "Unauthorized";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 413: return "Payload Too Large";
	case 409: return "Conflict";
	case 415: return "Unsupported Media Type";
	case 503: return "Service Unavailable";
	default: return status >= 500 ? "Internal Server Error" : "Error";
	}
}

/* The Date header, formatted once a second on each loop (libevent would
 * format it for every response). */
static const char *http_date(void)
{
	static const char days[7][4] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
	static const char months[12][4] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
	                                   "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
	static _Thread_local time_t sec = -1;
	static _Thread_local char text[32];
	time_t now = time(NULL);
	struct tm tm;

	if (now != sec && gmtime_r(&now, &tm)) {
		snprintf(text, sizeof(text), "%s, %02d %s %d %02d:%02d:%02d GMT", days[tm.tm_wday], tm.tm_mday,
		         months[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
		sec = now;
	}
	return text;
}

static void send_response(struct request *req)
{
	struct evkeyvalq *h = evhttp_request_get_output_headers(req->ev);
	struct evbuffer *body = evbuffer_new();
	size_t i;

	if (req->status != 204) {
		evhttp_add_header(h, "Content-Type", req->out_type ? req->out_type : "application/json");
		/* HEAD: the length of the body GET would send, and no body. */
		if (req->method_bit == EVHTTP_REQ_HEAD)
			evhttp_add_header(h, "Content-Length",
			                  arena_printf(&req->arena, "%zu", req->out.len));
		else
			evbuffer_add(body, req->out.p ? req->out.p : "", req->out.len);
	}
	for (i = 0; i < req->nheaders; i++)
		evhttp_add_header(h, req->headers[i].name, req->headers[i].value);
	evhttp_add_header(h, "Date", http_date());
	evhttp_send_reply(req->ev, req->status, reason(req->status), body);
	evbuffer_free(body);
}

struct request *request_new(struct evhttp_request *ev, const struct config *cfg, struct lanes *lanes,
                             const char *listen_host)
{
	struct request *req = xcalloc(1, sizeof(*req));
	struct evbuffer *in = evhttp_request_get_input_buffer(ev);
	const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(ev);
	char *host = NULL;
	ev_uint16_t port = 0;

	req->ev = ev;
	req->lanes = lanes;
	req->cfg = cfg;
	arena_init(&req->arena, 8192);
	req->start_us = now_mono_us();
	req->method_bit = evhttp_request_get_command(ev);
	req->method = method_name(evhttp_request_get_command(ev));
	req->uri = evhttp_request_get_uri(ev);
	req->path = uri && evhttp_uri_get_path(uri) ? evhttp_uri_get_path(uri) : "/";
	req->query = uri ? evhttp_uri_get_query(uri) : NULL;
	req->host = req_header(req, "Host");
	if (!req->host || !*req->host)
		req->host = listen_host;
	req->content_type = req_header(req, "Content-Type");
	evhttp_connection_get_peer(evhttp_request_get_connection(ev), &host, &port);
	/* Copied: the connection (and its address) goes away if the client
	 * leaves while the request is out on a store worker. */
	req->remote = arena_strdup(&req->arena, host ? host : "");
	req->body_len = evbuffer_get_length(in);
	req->body = req->body_len ? (const char *)evbuffer_pullup(in, -1) : "";
	req->route = "-";
	req->mode = control_mode(NULL);
	return req;
}

bool request_run_pipeline(struct request *req)
{
	size_t i;

	for (i = 0; i < ARRAY_LEN(steps); i++)
		if (steps[i]->on_request && steps[i]->on_request(req) == MW_DONE)
			return false;
	return true;
}

void request_own(struct request *req)
{
	struct arena *a = &req->arena;

	req->uri = arena_strdup(a, req->uri);
	req->path = arena_strdup(a, req->path);
	req->query = req->query ? arena_strdup(a, req->query) : NULL;
	req->host = arena_strdup(a, req->host);
	req->content_type = req->content_type ? arena_strdup(a, req->content_type) : NULL;
	req->body = req->body_len ? arena_strndup(a, req->body, req->body_len) : "";
}

struct request *request_stand_in(const struct request *req)
{
	struct request *in = xcalloc(1, sizeof(*in));

	in->ev = req->ev;
	in->lanes = req->lanes;
	in->cfg = req->cfg;
	arena_init(&in->arena, 1024);
	in->start_us = req->start_us;
	in->method = req->method;
	in->method_bit = req->method_bit;
	in->uri = arena_strdup(&in->arena, req->uri);
	in->path = arena_strdup(&in->arena, req->path);
	in->host = arena_strdup(&in->arena, req->host);
	in->remote = arena_strdup(&in->arena, req->remote);
	in->body = "";
	in->resource = req->resource;
	memcpy(in->request_id, req->request_id, sizeof(in->request_id));
	in->auth = req->auth;
	in->principal = req->principal;
	in->roles = req->roles;
	in->route = req->resource ? req->resource->name : "-";
	in->mode = req->arrived_in;
	return in;
}

void request_send(struct request *req)
{
	size_t i;

	if (!req->done)
		req_reply_detail(req, 500, "A server error occurred.");
	metrics_request(req->resource ? req->resource->index
	                : strcmp(req->route, "admin") == 0 ? METRIC_ROUTE_ADMIN(req->cfg) : METRIC_ROUTE_NONE(req->cfg),
	                req->mode, req->store || req->timed_out ? mode_authority(req->mode)
	                : STORE_NONE, req->status);
	for (i = 0; i < ARRAY_LEN(steps); i++)
		if (steps[i]->on_response)
			steps[i]->on_response(req);
	send_response(req);
	for (i = 0; i < ARRAY_LEN(steps); i++)
		if (steps[i]->on_log)
			steps[i]->on_log(req);
	request_free(req);
}

void request_free(struct request *req)
{
	buf_free(&req->out);
	arena_reset(&req->arena);
	free(req);
}

int request_pipeline_init(const struct config *cfg)
{
	struct error err;
	size_t i;

	for (i = 0; i < ARRAY_LEN(steps); i++) {
		if (steps[i]->init && steps[i]->init(cfg, &err) < 0) {
			fprintf(stderr, "cutover: %s: %s\n", steps[i]->name, err.msg);
			return -1;
		}
	}
	return 0;
}

void request_pipeline_fini(void)
{
	size_t i;

	for (i = 0; i < ARRAY_LEN(steps); i++)
		if (steps[i]->fini)
			steps[i]->fini();
}

void request_loop_start(struct event_base *base)
{
	size_t i;

	for (i = 0; i < ARRAY_LEN(steps); i++)
		if (steps[i]->loop_start)
			steps[i]->loop_start(base);
}

void request_loop_end(void)
{
	size_t i;

	for (i = 0; i < ARRAY_LEN(steps); i++)
		if (steps[i]->loop_end)
			steps[i]->loop_end();
}
