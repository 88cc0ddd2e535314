/*
 * router.c — one decision per request head, and the engine's bookkeeping
 * around the request (see router.h).
 */
#include <string.h>

#include <event2/http.h>

#include "control.h"
#include "dashboard.h"
#include "resource.h"
#include "router.h"
#include "shadow.h"
#include "shadow_read.h"

/* The admin paths served without the token: the probes and the
 * dashboard's files. */
static bool public_path(const char *rest)
{
	const char *type, *body;
	size_t len;

	return strcmp(rest, "health") == 0 || strcmp(rest, "ready") == 0 ||
	       dashboard_file(rest, &type, &body, &len);
}

void router_decide(const struct config *cfg, const char *path, struct route *out)
{
	size_t n = strlen(cfg->admin.prefix);
	bool upstream = *cfg->upstream.url != '\0';

	out->resource = NULL;
	out->mode = MODE_LEGACY;
	/* With admin.listen the admin paths are ordinary ones here. */
	if (!*cfg->admin.listen && strncmp(path, cfg->admin.prefix, n) == 0 &&
	    (*cfg->admin.token || public_path(path + n))) {
		out->to = ROUTE_ADMIN;
		return;
	}
	/* A path under a prefix that no view of the resource matches
	 * ("/api/invoices/a.b/") is the application's: it may serve it. */
	if (!(out->resource = resource_match(cfg, path)) || (upstream && !resource_owns(out->resource, path))) {
		out->resource = NULL;
		out->to = upstream ? ROUTE_APPLICATION : ROUTE_NONE;
		return;
	}
	out->mode = control_mode(out->resource);
	out->to = out->mode == MODE_PASSTHROUGH && upstream ? ROUTE_APPLICATION : ROUTE_ENGINE;
}

bool router_begin(struct request *req)
{
	/* Legacy mode touches none of this, whether MongoDB is configured or not. */
	if (!mode_uses_mongo(req->mode))
		return false;
	req->has_id = resource_detail_id(req->resource, req->path, req->id);
	if (req->method_bit & (EVHTTP_REQ_POST | EVHTTP_REQ_PUT | EVHTTP_REQ_PATCH | EVHTTP_REQ_DELETE)) {
		req->write_epoch = control_write_begin(req->resource, req->has_id ? req->id : NULL,
		                                       req->method_bit == EVHTTP_REQ_DELETE, &req->write_stripe);
		req->write_marked = true;
	}
	control_read_mark(req->resource, req->has_id ? req->id : NULL, &req->mark);
	return true;
}

void router_before_store(struct request *req)
{
	/* Waits a few ms, usually: the store taking over has every earlier write. */
	if (req->write_marked && control_fenced(req->resource, req->write_epoch)) {
		control_await_flip(req->resource, 30 * 1000000LL);
		req->mode = control_mode(req->resource);
	}
}

void router_after_store(struct request *req, struct store *const stores[POOL_SLOTS])
{
	shadow_after_write(req, stores);
	if (req->write_marked) {
		control_write_end(req->resource, req->write_epoch, req->write_stripe, req->journal_pending);
		req->write_marked = false;
	}
}

void router_after_answer(struct request *req)
{
	shadow_after_answer(req);
	shadow_compare(req);
}

void router_end(struct request *req)
{
	if (req->write_marked)
		control_write_end(req->resource, req->write_epoch, req->write_stripe, 0);
	req->write_marked = false;
}
