/*
 * shadow_read.c — comparison reads (see shadow_read.h): a sampled read
 * served again by the secondary store on the shadow workers, both answers
 * compared, and the outcome counted (matched, raced, ordering, noise) or
 * recorded as a mismatch; on a sample the authoritative store is read a
 * second time for the noise baseline.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "compare.h"
#include "resource.h"
#include "shadow.h"
#include "shadow_read.h"

static int delay_ms;
static pthread_once_t delay_once = PTHREAD_ONCE_INIT;

static void read_delay_init(void)
{
	const char *v = getenv("CUTOVER_TEST_SHADOW_DELAY_MS");

	delay_ms = v ? atoi(v) : 0;
}

/* Tests hold every secondary read this long (CUTOVER_TEST_SHADOW_DELAY_MS),
 * so that writes can be made to arrive while reads are queued. */
static int read_delay_ms(void)
{
	pthread_once(&delay_once, read_delay_init);
	return delay_ms;
}

struct read_job {
	struct pool_job job;
	const struct config *cfg;
	struct arena arena;
	const struct resource *res;
	enum mode mode;
	const char *method, *uri, *path, *query, *host;
	int64_t principal;
	uint32_t roles;
	struct read_mark mark;
	int status;
	const char *body;
	size_t len;
	int64_t queued_us;          /* when it was queued */
};

/* The job's request, served by store s into fake (fake.out: the answer;
 * free it with read_done). */
static void read_again(const struct read_job *j, struct store *s, struct request *fake)
{
	memset(fake, 0, sizeof(*fake));
	fake->cfg = j->cfg;
	arena_init(&fake->arena, 8192);
	fake->method = "GET";
	fake->uri = j->uri;
	fake->path = j->path;
	fake->query = j->query;
	fake->host = j->host;
	fake->auth = AUTH_OK;
	fake->principal = j->principal;
	fake->roles = j->roles;
	fake->resource = j->res;
	fake->mode = j->mode;
	fake->store = s;
	if (!s)
		fake->store_err = STORE_UNAVAILABLE;
	else
		resource_handle(fake, j->res);
}

static void read_done(struct request *fake)
{
	buf_free(&fake->out);
	arena_reset(&fake->arena);
}

static bool answered(const struct request *fake)
{
	return fake->done && fake->store_err != STORE_TIMEOUT && fake->store_err != STORE_UNAVAILABLE &&
	       fake->store_err != STORE_INVALID;
}

static void compare_with(const struct read_job *j, const struct request *fake, struct compare_result *cr)
{
	struct compare_rules rules;

	compare_rules_default(&rules);
	rules.ignore = j->res->compare_ignore;
	rules.nignore = j->res->ncompare_ignore;
	rules.sets = (const struct compare_set *)j->res->compare_sets;
	rules.nsets = j->res->ncompare_sets;
	rules.tolerance = j->res->compare_tolerance;
	compare_responses(&rules, j->status, j->body, j->len, fake->status, fake->out.p ? fake->out.p : "",
	                  fake->out.len, cr);
}

/* The noise baseline (design.md §8): on a sample, the authoritative store is
 * read a second time and its two answers compared as the stores' are:
 * what differs between two reads of one store (clocks, random order,
 * generated values) is the route's noise, not the secondary's fault. */
static void baseline(const struct read_job *j, struct store *const stores[POOL_SLOTS])
{
	enum which_store auth = mode_authority(j->mode);
	struct compare_result cr;
	struct request again;
	int pct = j->cfg->noise_sample;

	if (pct <= 0 || (pct < 100 && (int)((unsigned)rand() % 100) >= pct))
		return;
	read_again(j, stores[auth], &again);
	if (answered(&again)) {
		compare_with(j, &again, &cr);
		control_noise(j->res, &j->mark, j->uri, cr.equal ? NULL : buf_cstr(&cr.paths));
		compare_result_free(&cr);
	}
	read_done(&again);
}

static void read_run(struct pool_job *job, struct store *const stores[POOL_SLOTS])
{
	struct read_job *j = (struct read_job *)job;
	enum which_store sec = mode_secondary(j->mode);
	struct request fake;
	struct compare_result cr;
	int64_t t0 = now_mono_us(), us;
	bool raced, noise, ordering;

	/* A slow secondary, as the tests make it: the delay counts as its time. */
	if (read_delay_ms() > 0)
		usleep((useconds_t)read_delay_ms() * 1000);
	read_again(j, stores[sec], &fake);
	/* Past its time limit the loop has counted it a timeout already. */
	if (!pool_job_claim(job)) {
		read_done(&fake);
		return;
	}
	metrics_latency(j->res, sec, ROLE_SECONDARY, (us = now_mono_us() - t0));
	/* The driver says only "socket error or timeout": a call that failed
	 * after its whole time limit timed out. */
	if (fake.store_err == STORE_TIMEOUT || (!answered(&fake) && us >= j->cfg->shadow.timeout_ms * 900LL)) {
		metrics_outcome(j->res, OUT_TIMEOUT);
	} else if (!answered(&fake)) {
		metrics_outcome(j->res, OUT_ERROR);
	} else {
		baseline(j, stores);
		compare_with(j, &fake, &cr);
		raced = !cr.equal && control_raced(j->res, &j->mark);
		/* A page ordered by text on a store with a linguistic collation:
		 * MongoDB orders by code point, so the pages may differ in their
		 * order and their records alike. */
		ordering = !cr.equal && !raced && fake.text_ordered && store_text_collated;
		noise = !cr.equal && !raced && !ordering && !cr.paths_dropped &&
		        control_all_noise(j->res, buf_cstr(&cr.paths));
		if (!raced)
			control_observe_comparison(j->res, j->mode, !cr.equal && !noise && !ordering);
		if (cr.equal)
			metrics_outcome(j->res, OUT_MATCHED);
		else if (raced)
			metrics_outcome(j->res, OUT_RACED);
		else if (ordering)
			metrics_outcome(j->res, OUT_ORDERING);
		else if (noise)
			metrics_outcome(j->res, OUT_NOISE);
		else
			control_mismatch(j->res, j->method, j->uri, j->principal, j->status, j->body, j->len,
			                 fake.status, fake.out.p ? fake.out.p : "", fake.out.len,
			                 cr.patch.p ? cr.patch.p : "[]", cr.patch.p ? cr.patch.len : 2,
			                 buf_cstr(&cr.paths), cr.paths_dropped);
		compare_result_free(&cr);
	}
	read_done(&fake);
}

/* On the loop: its time ran out, queued or reading. */
static void read_expired(struct pool_job *job)
{
	struct read_job *j = (struct read_job *)job;
	enum which_store sec = mode_secondary(j->mode);

	metrics_latency(j->res, sec, ROLE_SECONDARY, now_mono_us() - j->queued_us);
	metrics_outcome(j->res, OUT_TIMEOUT);
}

static void read_free(struct pool_job *job)
{
	struct read_job *j = (struct read_job *)job;

	arena_reset(&j->arena);
	free(j);
}

static bool sampled(const struct resource *r)
{
	int pct = control_sample(r);

	if (pct >= 100)
		return true;
	if (pct <= 0)
		return false;
	return (int)((unsigned)rand() % 100) < pct;
}

void shadow_compare(struct request *req)
{
	const struct resource *r = req->resource;
	struct pool *pool = shadow_pool();
	struct read_job *j;

	if (!pool || !r || req->journal_seq > 0 || !mode_compares(req->mode) || req->auth != AUTH_OK ||
	    req->wrote || (strcmp(req->method, "GET") != 0 && strcmp(req->method, "HEAD") != 0) || !sampled(r))
		return;
	if (pool_full(pool)) {
		metrics_outcome(r, OUT_DROPPED);    /* the copy would be refused */
		return;
	}
	j = xcalloc(1, sizeof(*j));
	arena_init(&j->arena, 1024 + req->out.len);
	j->job.run = read_run;
	j->job.done = read_free;
	j->job.expired = read_expired;
	j->job.reply_to = req->mailbox;
	j->cfg = req->cfg;
	j->res = r;
	j->mode = req->mode;
	j->method = req->method;
	j->uri = arena_strdup(&j->arena, req->uri);
	j->path = arena_strdup(&j->arena, req->path);
	j->query = req->query ? arena_strdup(&j->arena, req->query) : NULL;
	j->host = arena_strdup(&j->arena, req->host);
	j->principal = req->principal;
	j->roles = req->roles;
	j->mark = req->mark;
	j->status = req->status;
	j->len = req->out.len;
	j->body = arena_strndup(&j->arena, req->out.p ? req->out.p : "", req->out.len);
	j->queued_us = now_mono_us();
	if ((req->mailbox ? pool_submit_within(pool, &j->job, req->cfg->shadow.timeout_ms * 1000LL)
	                  : pool_submit(pool, &j->job)) < 0) {
		metrics_outcome(r, OUT_DROPPED);
		read_free(&j->job);
	}
}
