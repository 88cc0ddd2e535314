/*
 * router.h — who serves a request (design.md §3, §10, §14): decided from its
 * path alone, the same way by the connection filter when the head arrives
 * (is it the application's?) and by the server when evhttp hands the
 * request over; and the engine's bookkeeping around a request the gateway
 * serves in a mode that needs MongoDB (write marks, flip fences, the
 * secondary's copies and comparisons).
 */
#ifndef CUTOVER_ROUTER_H
#define CUTOVER_ROUTER_H

#include <stdbool.h>

#include "config.h"
#include "pool.h"
#include "request.h"

enum route_target {
	ROUTE_NONE,             /* nobody: 404 */
	ROUTE_ADMIN,            /* the admin API, metrics, probes, dashboard */
	ROUTE_ENGINE,           /* a resource, served from the stores in mode */
	ROUTE_APPLICATION,      /* passed through to the application */
};

struct route {
	enum route_target to;
	const struct resource *resource;        /* ROUTE_ENGINE, and a passthrough route */
	enum mode mode;                         /* ROUTE_ENGINE: fixed for the request from now */
};

/* path: without the query.  On the client port (the admin listener serves
 * only the admin API). */
void router_decide(const struct config *cfg, const char *path, struct route *out);

/* The engine, for req in req->mode (the loop's thread): write marks and
 * the read mark that tells a raced comparison from a mismatch.  true when
 * the request needs the workers that hold both stores. */
bool router_begin(struct request *req);
/* On the worker, before the authoritative store is asked: a write that
 * arrives during a flip waits for it and is served in the new mode. */
void router_before_store(struct request *req);
/* On the worker, after the answer: the secondary's copy of a write. */
void router_after_store(struct request *req, struct store *const stores[POOL_SLOTS]);
/* Back on the loop, the answer known: the comparison read, the background
 * copy of mongodb mode. */
void router_after_answer(struct request *req);
/* The request is over: its write marks go. */
void router_end(struct request *req);

#endif
