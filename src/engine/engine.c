/*
 * engine.c — one request served, top to bottom (see engine.h): the
 * pipeline's steps, the router's decision (admin API, the application, or
 * the engine in the route's mode), the marks of a write and of a read,
 * the authoritative store (inline, or on a store worker and back through
 * the loop's mailbox) with the journal before a write, the answer, then
 * the secondary's copy and the comparison.
 */
#include <signal.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "admin.h"
#include "control.h"
#include "engine.h"
#include "metrics.h"
#include "proxy.h"
#include "resource.h"
#include "router.h"

void engine_finish(struct request *req)
{
	router_end(req);
	proxy_replied(req->ev);
	request_send(req);
}

static void handle(struct request *req, struct store *store)
{
	int64_t t0 = now_mono_us();
	uint64_t calls = store ? store->calls : 0;

	req->store = store;
	if (!store)
		req_reply_detail(req, 503, "The data store is unavailable. Try again shortly.");
	else
		resource_handle(req, req->resource);
	/* Refused before the store was asked (401, 405, 415, a 400 of the
	 * body): the gateway's own answer, counted with store "none". */
	if (store && store->calls == calls)
		req->store = NULL;
	if (req->store) {
		int64_t us = now_mono_us() - t0;

		metrics_latency(req->resource, mode_authority(req->mode),
		                ROLE_AUTHORITATIVE, us);
		/* An answer past the time limit was counted when it ran out. */
		if (!pool_job_expired(&req->job))
			control_observe(req->resource, req->mode, req->status, req->store_err, us);
	}
}

/* CUTOVER_TEST_KILL_AFTER_COMMIT=1: the process dies as a kill would, right
 * after the authoritative store committed a write and before anything else
 * happens, so the tests can show nothing committed is ever lost. */
static bool kill_after_commit;

void engine_start(void)
{
	kill_after_commit = getenv("CUTOVER_TEST_KILL_AFTER_COMMIT") != NULL;
}

/* On a store worker: the authoritative store answers (and a write is
 * journaled for the secondary before the client hears of it). */
static void job_run(struct pool_job *job, struct store *const stores[POOL_SLOTS])
{
	struct request *req = (struct request *)((char *)job - offsetof(struct request, job));

	router_before_store(req);
	/* Its time ran out while a flip held it: the client was told 503. */
	if (pool_job_expired(job))
		return;
	handle(req, stores[mode_authority(req->mode)]);
	if (kill_after_commit && req->wrote)
		raise(SIGKILL);         /* the crash window the journal must cover (tests) */
	router_after_store(req, stores);
	pool_job_claim(job);
}

/* Back on the loop. */
static void job_done(struct pool_job *job)
{
	struct request *req = (struct request *)((char *)job - offsetof(struct request, job));
	struct lanes *ln = req->lanes;

	ln->inflight--;
	if (pool_job_expired(job)) {
		/* Answered when its time ran out; what the worker did still
		 * has its copies and comparisons. */
		if (req->done)
			router_after_answer(req);
		router_end(req);
		request_free(req);
	} else {
		router_after_answer(req);
		engine_finish(req);
	}
	ln->settled(ln->arg);
}

/* On the loop: the store has not answered in store_timeout_ms.  The client
 * hears 503 now, from a stand-in holding what the log and the metrics
 * need; the request stays the worker's until job_done, and a write not
 * begun is never made. */
static void job_expired(struct pool_job *job)
{
	struct request *req = (struct request *)((char *)job - offsetof(struct request, job));
	struct lanes *ln = req->lanes;
	struct request *ans = request_stand_in(req);

	ans->timed_out = true;
	req->ev = NULL;
	req_reply_detail(ans, 503, "The data store did not answer in time. Try again shortly.");
	control_observe(ans->resource, ans->mode, 503, STORE_TIMEOUT, ln->cfg->store_timeout_ms * 1000LL);
	engine_finish(ans);
}

void engine_serve(struct request *req, struct lanes *ln)
{
	struct pool *pool = ln->pool;
	struct route rt;

	req->mailbox = ln->mailbox;
	if (!request_run_pipeline(req))
		return engine_finish(req);
	router_decide(ln->cfg, req->path, &rt);
	switch (rt.to) {
	case ROUTE_ADMIN:
		admin_handle(req);
		return engine_finish(req);
	case ROUTE_NONE:
		req_reply_detail(req, 404, "Not found.");
		return engine_finish(req);
	case ROUTE_APPLICATION:
		/* The filter gave evhttp this request before its route was
		 * flipped to passthrough: the gateway answers it once more. */
		if (!rt.resource) {
			req_reply_detail(req, 404, "Not found.");
			return engine_finish(req);
		}
		rt.mode = MODE_LEGACY;
		break;
	case ROUTE_ENGINE:
		break;
	}
	/* The mode is fixed for the request now; a flip affects later ones. */
	req->resource = rt.resource;
	req->mode = req->arrived_in = rt.mode;
	if (router_begin(req)) {
		/* A read the legacy store answers, when that store runs on the
		 * loop, needs no worker: any comparison runs on the shadow
		 * workers once the client has its answer. */
		if (!req->write_marked && !mode_mongo_first(req->mode) && ln->store && !ln->pool) {
			handle(req, ln->store);
			router_after_answer(req);
			return engine_finish(req);
		}
		pool = ln->engine;
	}
	if (!pool) {
		handle(req, ln->store);
		return engine_finish(req);
	}
	/* From here until job_done the request belongs to a store worker;
	 * nothing on the worker touches libevent's request, which the loop
	 * answers itself when the store's time runs out. */
	req->job.run = job_run;
	req->job.done = job_done;
	req->job.expired = job_expired;
	req->job.reply_to = ln->mailbox;
	request_own(req);
	if (pool_submit_within(pool, &req->job, ln->cfg->store_timeout_ms * 1000LL) < 0) {
		req_reply_detail(req, 503, "The gateway is overloaded. Try again shortly.");
		return engine_finish(req);
	}
	ln->inflight++;
}

