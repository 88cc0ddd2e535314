/*
 * shadow.c — secondary writes and the journal drain (see shadow.h); the
 * comparison reads are shadow_read.c's.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "journal.h"
#include "shadow.h"

#define SYNC_LOCKS 64
#define DRAIN_BATCH 64

static struct {
	const struct config *cfg;
	struct pool *pool;
	char *urls[WS_COUNT];
	pthread_t drainer;
	bool drainer_running;       /* started, and not decided to leave */
	bool drainer_joinable;      /* started, not joined yet */
	pthread_mutex_t mu;
	pthread_cond_t cv;
	bool stopping;
	bool kicked;
	pthread_mutex_t locks[SYNC_LOCKS];
} S = {.mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER};

char *shadow_url(const char *url, int timeout_ms)
{
	return store_timed_url(url, timeout_ms, false);
}

/* Copying a record ------------------------------------------------------ */

static int put(struct store *s, const struct resource *r, int64_t owner, const struct record *rec,
               struct store_error *err)
{
	if (store_replace(s, r, owner, rec, err) == 0)
		return 0;
	if (err->code != STORE_NOT_FOUND)
		return -1;
	if (store_create(s, r, owner, rec, err) == 0)
		return 0;
	/* created meanwhile by another copy of the same record */
	if (err->code == STORE_CONFLICT && err->unique < 0)
		return store_replace(s, r, owner, rec, err);
	return -1;
}

int shadow_sync(struct store *const stores[WS_COUNT], const struct resource *r, int64_t owner,
                const unsigned char id[16], enum which_store source, struct store_error *err)
{
	struct store *from = stores[source], *to = stores[source == WS_LEGACY ? WS_MONGO : WS_LEGACY];
	pthread_mutex_t *lock = &S.locks[(id[3] ^ id[11]) % SYNC_LOCKS];
	struct arena a;
	struct record rec;
	int rc;

	if (!from || !to) {
		store_error_set(err, STORE_UNAVAILABLE, "%s store unavailable", !from ? "source" : "secondary");
		return -1;
	}
	arena_init(&a, 8192);
	/* Read and write under one lock per record, so two copies of the same
	 * record cannot land in the wrong order. */
	pthread_mutex_lock(lock);
	rc = store_get(from, r, owner, id, &a, &rec, err);
	if (rc == 0) {
		rc = put(to, r, owner, &rec, err);
	} else if (err->code == STORE_NOT_FOUND) {
		rc = store_remove(to, r, owner, id, err);
		if (rc < 0 && err->code == STORE_NOT_FOUND)
			rc = 0;
	}
	pthread_mutex_unlock(lock);
	arena_reset(&a);
	if (rc < 0 && err->code == STORE_CONFLICT)
		snprintf(err->msg, sizeof(err->msg), "unique constraint conflict in the %s store: not overwritten",
		         source == WS_LEGACY ? "MongoDB" : "legacy");
	return rc;
}

static bool unanswered(enum store_err code)
{
	return code == STORE_TIMEOUT || code == STORE_UNAVAILABLE;
}

static void drainer_ensure(void);

/* A journal entry for the copy of record id from source: on disk, the
 * record pending (raced reads), the drain running.  Its seq, or <= 0. */
static int64_t entry_add(const struct resource *r, int64_t owner, const unsigned char id[16],
                         enum which_store source)
{
	int64_t seq = journal_append(r->name, owner, id, source);

	if (seq <= 0)
		return seq;
	drainer_ensure();
	control_sync_pending(r, id, +1);
	return seq;
}

/* The entry is applied (or was not needed): it leaves the journal. */
static void entry_done(const struct resource *r, const unsigned char id[16], int64_t seq)
{
	if (journal_done(seq))
		control_sync_pending(r, id, -1);
}

/* Apply one journal entry; true when it left the journal.  An entry one
 * of whose attempts went unanswered (late) stays for one more, later. */
static bool apply(struct store *const stores[WS_COUNT], const struct resource *r, int64_t owner,
                  const unsigned char id[16], enum which_store source, int64_t seq, int late)
{
	struct store_error err;

	if (shadow_sync(stores, r, owner, id, source, &err) == 0) {
		if (late == 1 && journal_settling(seq))
			return false;
		entry_done(r, id, seq);
		return true;
	}
	journal_failed(seq, err.msg, unanswered(err.code));
	return false;
}

/* Secondary writes ----------------------------------------------------- */

struct sync_job {
	struct pool_job job;
	const struct resource *res;
	int64_t owner, seq;
	unsigned char id[16];
	enum which_store source;
};

static void sync_run(struct pool_job *job, struct store *const stores[POOL_SLOTS])
{
	struct sync_job *j = (struct sync_job *)job;

	apply(stores, j->res, j->owner, j->id, j->source, j->seq, 0);
}

static void job_free(struct pool_job *job)
{
	free(job);
}

/* A secondary store that just failed is left alone for a while: writes go
 * straight to the journal instead of each waiting for the time limit. */
#define BREAKER_US (5 * 1000000LL)
static _Atomic int64_t breaker_until[WS_COUNT];

bool shadow_breaker_open(enum which_store target)
{
	return now_mono_us() < breaker_until[target];
}

/* The entry made before the write stays due after it: the drain may have
 * applied it to the record as it was while the write was under way. */
static void keep_due(struct request *req, int64_t seq, enum which_store source, const char *why, bool late)
{
	if (journal_failed(seq, why, late))
		return;
	if ((seq = entry_add(req->resource, req->owner, req->id, source)) <= 0)
		return;
	req->journal_pending = seq;
	journal_failed(seq, why, late);
}

void shadow_before_write(struct request *req, const unsigned char id[16])
{
	const struct resource *r = req->resource;
	enum which_store source = mode_authority(req->mode);
	int64_t seq;

	if (!req->write_marked || (!mode_copies_writes(req->mode) && !(req->mode == MODE_MONGODB && S.cfg->rollback_copy)))
		return;
	/* On disk before the commit: from here the write cannot be lost, even
	 * to a crash right after it.  The entry names the record, so applying
	 * it when the write did not happen copies what is there: harmless. */
	if ((seq = entry_add(r, req->owner, id, source)) <= 0)
		return;
	memcpy(req->id, id, 16);
	req->journal_pending = seq;
}

void shadow_after_write(struct request *req, struct store *const stores[POOL_SLOTS])
{
	const struct resource *r = req->resource;
	enum which_store source = mode_authority(req->mode);
	enum which_store target = source == WS_MONGO ? WS_LEGACY : WS_MONGO;
	struct store *pair[WS_COUNT];
	struct store_error err;
	int64_t seq = req->journal_pending;

	if (seq <= 0)
		return;
	if (unanswered(req->store_err))
		/* No answer is not a refusal: the store may make the write yet
		 * (a stalled server does, when it resumes).  The entry stays,
		 * and copies what is there then. */
		return keep_due(req, seq, source, "the store did not answer the write: copied as it is", true);
	if (!req->wrote || !req->has_id) {
		/* The store refused the write: nothing to copy. */
		entry_done(r, req->id, seq);
		req->journal_pending = 0;
		return;
	}
	if (req->mode == MODE_MONGODB) {
		/* the legacy store is kept up in the background, for a roll-back */
		req->journal_seq = seq;
		return;
	}
	if (shadow_breaker_open(target))
		return keep_due(req, seq, source, "the secondary store is failing: left to the journal drain", false);
	pair[source] = stores[source];
	pair[target] = stores[QUICK(target)];
	if (shadow_sync(pair, r, req->owner, req->id, source, &err) == 0) {
		entry_done(r, req->id, seq);
		req->journal_pending = 0;
	} else {
		keep_due(req, seq, source, err.msg, unanswered(err.code));
		if (unanswered(err.code))
			breaker_until[target] = now_mono_us() + BREAKER_US;
	}
}

void shadow_after_answer(struct request *req)
{
	const struct resource *r = req->resource;
	struct sync_job *j;

	/* mongodb mode: the legacy copy, after the answer */
	if (!S.pool || !r || req->journal_seq <= 0)
		return;
	j = xcalloc(1, sizeof(*j));
	j->job.run = sync_run;
	j->job.done = job_free;
	j->res = r;
	j->owner = req->owner;
	j->seq = req->journal_seq;
	memcpy(j->id, req->id, 16);
	j->source = mode_authority(req->mode);
	/* A full queue leaves the entry to the journal drain. */
	if (pool_submit(S.pool, &j->job) < 0)
		free(j);
}

struct pool *shadow_pool(void)
{
	return S.pool;
}

/* The journal drain ---------------------------------------------------- */

size_t shadow_drain(const struct config *cfg, struct store *const stores[WS_COUNT], enum journal_which which,
                    size_t *applied)
{
	struct journal_entry e[DRAIN_BATCH];
	size_t n = journal_due(e, DRAIN_BATCH, which), i;

	*applied = 0;
	for (i = 0; i < n; i++) {
		const struct resource *r = config_resource(cfg, e[i].resource, strlen(e[i].resource));

		if (!r)
			journal_failed(e[i].seq, "no such resource in the configuration", false);
		else if (apply(stores, r, e[i].owner, e[i].id, e[i].source, e[i].seq, which == DUE_EVERY ? 0 : e[i].late))
			(*applied)++;
	}
	return n;
}

/* The drain runs while some route's mode needs MongoDB or the journal
 * holds entries; it looks every half second, at once when kicked. */
static void *drainer_main(void *arg)
{
	struct store *stores[WS_COUNT] = {NULL};
	struct store_error err;
	size_t applied;
	bool all;
	int i;

	(void)arg;
	pthread_mutex_lock(&S.mu);
	while (!S.stopping) {
		struct timespec ts;

		if (!control_engaged() && journal_depth() == 0) {
			S.drainer_running = false;
			break;
		}
		deadline_after(&ts, 500 * 1000);
		if (!S.kicked)
			pthread_cond_timedwait(&S.cv, &S.mu, &ts);
		if (S.stopping)
			break;
		all = S.kicked;
		S.kicked = false;
		pthread_mutex_unlock(&S.mu);
		if (journal_depth() > 0) {
			for (i = 0; i < WS_COUNT; i++)
				if (!stores[i] && !(stores[i] = store_open(S.urls[i], S.cfg, &err)))
					fprintf(stderr, "cutover: journal: %s\n", err.msg);
			if (stores[WS_LEGACY] && stores[WS_MONGO])
				shadow_drain(S.cfg, stores, all ? DUE_SOON : DUE_NOW, &applied);
		}
		pthread_mutex_lock(&S.mu);
	}
	pthread_mutex_unlock(&S.mu);
	for (i = 0; i < WS_COUNT; i++)
		store_close(stores[i]);
	return NULL;
}

/* After a journal entry is made, or a flip waits for the journal: the
 * drain runs (started again if it had left). */
static void drainer_ensure(void)
{
	pthread_mutex_lock(&S.mu);
	if (!S.drainer_running && !S.stopping && S.cfg) {
		if (S.drainer_joinable)
			pthread_join(S.drainer, NULL);      /* it has left: closing, at most */
		S.drainer_joinable = S.drainer_running =
			pthread_create(&S.drainer, NULL, drainer_main, NULL) == 0;
	}
	pthread_mutex_unlock(&S.mu);
}

void shadow_kick(void)
{
	drainer_ensure();
	pthread_mutex_lock(&S.mu);
	S.kicked = true;
	pthread_cond_signal(&S.cv);
	pthread_mutex_unlock(&S.mu);
}

int shadow_start(const struct config *cfg)
{
	struct journal_entry e[DRAIN_BATCH];
	size_t n, i;

	S.cfg = cfg;
	S.stopping = false;
	for (i = 0; i < SYNC_LOCKS; i++)
		pthread_mutex_init(&S.locks[i], NULL);
	S.urls[WS_LEGACY] = shadow_url(cfg->database_url, cfg->shadow.timeout_ms);
	S.urls[WS_MONGO] = shadow_url(cfg->mongodb_uri, cfg->shadow.timeout_ms);
	/* Entries left by an earlier run are pending too (raced reads). */
	n = journal_due(e, DRAIN_BATCH, DUE_EVERY);
	for (i = 0; i < n; i++) {
		const struct resource *r = config_resource(cfg, e[i].resource, strlen(e[i].resource));

		if (r)
			control_sync_pending(r, e[i].id, +1);
	}
	if (n)
		fprintf(stderr, "cutover: journal: %lld entries to apply from an earlier run\n",
		        (long long)journal_depth());
	{
		const char *urls[POOL_SLOTS] = {S.urls[WS_LEGACY], S.urls[WS_MONGO], NULL, NULL};

		S.pool = pool_start("shadow", cfg->shadow.threads, (size_t)cfg->shadow.queue, urls, cfg, 10,
		                    control_engaged);
	}
	if (!S.pool) {
		shadow_stop();
		return -1;
	}
	/* A stop does not wait on a slow secondary: comparisons are best
	 * effort, and the copies queued are in the journal, drained later. */
	pool_drop_on_stop(S.pool);
	if (n)
		drainer_ensure();
	return 0;
}

void shadow_stop(void)
{
	size_t i;

	pool_stop(S.pool);
	S.pool = NULL;
	pthread_mutex_lock(&S.mu);
	S.stopping = true;
	pthread_cond_signal(&S.cv);
	pthread_mutex_unlock(&S.mu);
	if (S.drainer_joinable)
		pthread_join(S.drainer, NULL);
	S.drainer_joinable = S.drainer_running = false;
	S.cfg = NULL;
	for (i = 0; i < WS_COUNT; i++) {
		free(S.urls[i]);
		S.urls[i] = NULL;
	}
	for (i = 0; i < SYNC_LOCKS; i++)
		pthread_mutex_destroy(&S.locks[i]);
}

/* Configuration ------------------------------------------------------ */

static const struct config_key keys[] = {
	{"shadow", "threads", CFG_INT, CFG_FIELD(shadow.threads), 1, 256, "4", NULL, NULL,
	 "the secondary store's workers"},
	{"shadow", "queue", CFG_INT, CFG_FIELD(shadow.queue), 1, 1 << 20, "4096", NULL, NULL,
	 "secondary reads and copies that may wait; past it a comparison is dropped"},
	{"shadow", "timeout_ms", CFG_INT, CFG_FIELD(shadow.timeout_ms), 1, 600000, "2000", NULL, NULL,
	 "the time limit of every call to the secondary store"},
	{"shadow", "noise_sample", CFG_INT, CFG_FIELD(noise_sample), 0, 100, "10", NULL, NULL,
	 "percent of compared reads read again from the authoritative store"},
	{NULL, "rollback_copy", CFG_BOOL, CFG_FIELD(rollback_copy), 0, 0, "true", NULL, NULL,
	 "in mongodb mode, keep the legacy store up to date for a roll-back"},
};

const struct config_module shadow_config = {"shadow", keys, ARRAY_LEN(keys), NULL};
