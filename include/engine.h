/*
 * engine.h — one request served by the gateway, from the pipeline's steps
 * to the comparison (engine.c), on the loop that read it and the store
 * workers.  The loops (server.c) give each request their lanes: the ways
 * to the stores.
 */
#ifndef CUTOVER_ENGINE_H
#define CUTOVER_ENGINE_H

#include "config.h"
#include "pool.h"
#include "request.h"
#include "store.h"

/* A loop's ways to its stores. */
struct lanes {
	const struct config *cfg;
	struct store *store;        /* the legacy store inline, or NULL when requests go to the pool */
	struct pool *pool;          /* the legacy store's workers, if it blocks */
	struct pool *engine;        /* both stores' workers, for the modes that need MongoDB */
	struct mailbox *mailbox;    /* the loop's: workers' answers come back through it */
	int inflight;               /* requests out on store workers */
	void (*settled)(void *arg); /* one came back (a draining loop may exit) */
	void *arg;
};

/* The test hooks the environment asks for (CUTOVER_TEST_KILL_AFTER_COMMIT). */
void engine_start(void);
/* Serve req (request_new'd on ln's loop): answered here, or handed to a
 * store worker and answered when it comes back. */
void engine_serve(struct request *req, struct lanes *ln);
/* The end of every request, on its loop: marks released, answered, logged. */
void engine_finish(struct request *req);

#endif
