/*
 * control.c — runtime state per route (see control.h).
 *
 * Modes, samples, counters and histograms are atomics: the request path
 * reads them without a lock.  The mismatch store and the per-path counters
 * take a mutex, on the shadow workers only.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "control.h"
#include "copies.h"
#include "journal.h"
#include "json.h"

#define MAX_PATHS 128
/* A path is noise once re-reads of this many distinct records differed
 * there with no write between: one record's change is no evidence. */
#define NOISE_RECORDS 3
/* … and a rule is suggested only while the noisy paths are at most this
 * share (percent) of the resource's fields: past it, the comparison
 * would be blinded, whatever the reads say. */
#define NOISE_MAX_SHARE 50
#define FALLBACK_SLOTS 64       /* seconds of history, at least fallback.window_seconds */

/* One second of what MongoDB did for a route it serves. */
struct second {
	_Atomic int64_t sec;
	_Atomic uint32_t requests, errors, timeouts, slow, compared, mismatched;
};

struct path_count {
	char *path;
	uint64_t n;
	/* noise: the distinct records (hashes of their URIs) it differed in */
	uint32_t records[NOISE_RECORDS];
	unsigned nrecords;
};

struct route {
	const struct resource *res;
	_Atomic int mode;               /* -1: the global mode */
	_Atomic int target;             /* a flip waiting for the stores to agree; -2: none */
	_Atomic int sample;
	/* A flip to the other store waits for the writes that arrived before
	 * it: those of the old epoch still running, and journal entries up to
	 * barrier_seq. */
	_Atomic uint64_t epoch;
	_Atomic int64_t writing[2];     /* running writes, by epoch parity */
	_Atomic int64_t barrier_seq;
	/* raced detection: writes begun, and syncs not yet applied */
	_Atomic uint64_t seq;
	_Atomic uint64_t ended_seq;     /* writes ended */
	_Atomic int64_t pending;
	_Atomic uint64_t stripe_seq[RACE_STRIPES];
	_Atomic int64_t stripe_pending[RACE_STRIPES];
	_Atomic int64_t stripe_writing[RACE_STRIPES];  /* writes begun and not ended, by record stripe */
	/* Writes to the resources whose deletes cascade here (any of its
	 * records may change): begun deletes, and copies not yet applied. */
	_Atomic uint64_t cascade_seq;
	_Atomic int64_t cascade_pending;
	_Atomic int64_t last_mismatch_us;       /* monotonic; 0: none */
	struct second window[FALLBACK_SLOTS];   /* automatic fallback */
	_Atomic uint64_t fallbacks;
	char fallback_why[256];                 /* the last, under C.mu; "" none */
	int64_t fallback_at;                    /* wall clock, us */
	struct path_count paths[MAX_PATHS];     /* under lock */
	size_t npaths;
	uint64_t paths_dropped;                 /* mismatches of paths past MAX_PATHS */
	struct path_count noise[MAX_PATHS];     /* under lock: paths two authoritative reads differ at */
	size_t nnoise;
	uint64_t baselines, noisy_baselines;    /* under lock: second reads, and those that differed */
	uint64_t raced_baselines;               /* … second reads a write overlapped (not counted) */
};

struct mismatch {
	int64_t time_us;
	const struct resource *res;
	char *method, *uri, *body_a, *body_b, *patch;
	int64_t principal;
	int status_a, status_b;
};

static struct {
	const struct config *cfg;
	void (*on_flip_wait)(void);
	_Atomic int global;
	_Atomic bool engaged;           /* some route's mode needs MongoDB */
	pthread_mutex_t modes_mu;       /* orders the updates of engaged; */
	pthread_cond_t flipped;         /* … and wakes the writes a flip held */
	struct route *routes;
	size_t n;
	pthread_mutex_t mu;
	struct mismatch *ring;          /* newest at ring[(head - 1) % cap] */
	size_t cap, head, count;
	int wake_fd;                    /* an eventfd: work for control_tick */
	const struct control_store_hooks *store;        /* where the modes live, once it started */
} C = {.wake_fd = -1};

void control_on_store(const struct control_store_hooks *h)
{
	C.store = h;
}

/* Queue a route's mode for the control store, if one started. */
static void persist(const struct resource *r)
{
	if (C.store)
		C.store->persist(r);
}

static struct route *route_of(const struct resource *r)
{
	return r && (size_t)r->index < C.n ? &C.routes[r->index] : NULL;
}

/* After any change of a mode: does some route (or a flip under way) need
 * MongoDB now?  Under a lock, so the last update sees every change. */
static void modes_changed(void)
{
	bool on = false;
	size_t i;

	pthread_mutex_lock(&C.modes_mu);
	for (i = 0; i < C.n && !on; i++) {
		int t = C.routes[i].target;

		on = mode_uses_mongo(control_mode(C.routes[i].res)) ||
		     (t != -2 && mode_uses_mongo(t >= 0 ? (enum mode)t : (enum mode)C.global));
	}
	C.engaged = on;
	pthread_cond_broadcast(&C.flipped);
	pthread_mutex_unlock(&C.modes_mu);
}

void control_on_flip_wait(void (*fn)(void))
{
	C.on_flip_wait = fn;
}

bool control_engaged(void)
{
	return atomic_load_explicit(&C.engaged, memory_order_relaxed);
}

int control_init(const struct config *cfg)
{
	size_t i;

	memset(&C, 0, sizeof(C));
	C.wake_fd = -1;
	C.cfg = cfg;
	C.global = cfg->mode_id;
	C.n = cfg->nresources;
	C.routes = xcalloc(C.n ? C.n : 1, sizeof(*C.routes));
	for (i = 0; i < C.n; i++) {
		C.routes[i].res = cfg->resources[i];
		C.routes[i].mode = cfg->resources[i]->mode;
		C.routes[i].target = -2;
		C.routes[i].sample = cfg->resources[i]->sample;
	}
	C.cap = (size_t)cfg->mismatch_capacity;
	C.ring = xcalloc(C.cap, sizeof(*C.ring));
	pthread_mutex_init(&C.mu, NULL);
	pthread_mutex_init(&C.modes_mu, NULL);
	pthread_cond_init(&C.flipped, NULL);
	modes_changed();
	C.wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	return C.wake_fd >= 0 ? 0 : -1;
}

static void mismatch_free(struct mismatch *m)
{
	free(m->method);
	free(m->uri);
	free(m->body_a);
	free(m->body_b);
	free(m->patch);
	memset(m, 0, sizeof(*m));
}

void control_fini(void)
{
	size_t i, k;

	for (i = 0; i < C.cap; i++)
		mismatch_free(&C.ring[i]);
	for (i = 0; i < C.n; i++) {
		for (k = 0; k < C.routes[i].npaths; k++)
			free(C.routes[i].paths[k].path);
		for (k = 0; k < C.routes[i].nnoise; k++)
			free(C.routes[i].noise[k].path);
	}
	free(C.ring);
	free(C.routes);
	pthread_mutex_destroy(&C.mu);
	pthread_mutex_destroy(&C.modes_mu);
	pthread_cond_destroy(&C.flipped);
	if (C.wake_fd >= 0)
		close(C.wake_fd);
	memset(&C, 0, sizeof(C));
	C.wake_fd = -1;
}

enum mode control_mode(const struct resource *r)
{
	struct route *rt = route_of(r);
	int m = rt ? atomic_load_explicit(&rt->mode, memory_order_relaxed) : -1;

	return m >= 0 ? (enum mode)m : (enum mode)atomic_load_explicit(&C.global, memory_order_relaxed);
}

int control_sample(const struct resource *r)
{
	struct route *rt = route_of(r);

	return rt ? rt->sample : 0;
}

/* A route flipped (by a person, by the fallback, here or on another
 * instance) is judged on what MongoDB does from now on, not on what made
 * it fall back before. */
static void afresh(struct route *rt)
{
	size_t i;

	for (i = 0; i < FALLBACK_SLOTS; i++)
		rt->window[i].sec = 0;
}

/* The global mode changed: so did every route that follows it. */
static void followers_afresh(void)
{
	size_t i;

	for (i = 0; i < C.n; i++)
		if (C.routes[i].mode == -1)
			afresh(&C.routes[i]);
}

/* Does r's store hold writes the other store has not all got yet? */
static bool writes_pending(const struct route *rt)
{
	return rt->writing[0] > 0 || rt->writing[1] > 0 || journal_pending_upto(rt->res->name, INT64_MAX) > 0;
}

/* The store taking over must hold every write that came before: the flip
 * to target waits (in control_tick) for the writes running now and the
 * journal entries made so far; later writes do not hold it up. */
static void fence(struct route *rt, int target)
{
	rt->barrier_seq = journal_last_seq();
	rt->target = target;
	atomic_fetch_add(&rt->epoch, 1);
}

static int flip_waits(void)
{
	modes_changed();
	control_wake();
	if (C.on_flip_wait)
		C.on_flip_wait();
	return 1;
}

int control_set(const struct resource *r, int mode, int sample, struct error *err)
{
	struct route *rt = route_of(r);
	const char *why = mode >= 0 ? mode_unavailable(C.cfg, mode) : NULL;
	bool handover, waits = false;
	size_t i;

	if (why) {
		error_set(err, 0, "mode %s %s", mode_name(mode), why);
		return -1;
	}
	if (!r) {
		/* The routes that follow the global mode change with it; one
		 * with writes pending keeps the old mode until they are in both
		 * stores, and then follows the global mode again. */
		handover = mode >= 0 && *C.cfg->mongodb_uri && mode_mongo_first((enum mode)C.global) !=
		           mode_mongo_first((enum mode)mode);
		for (i = 0; handover && i < C.n; i++) {
			rt = &C.routes[i];
			if (rt->mode == -1 && rt->target == -2 && writes_pending(rt)) {
				rt->mode = C.global;
				fence(rt, -1);
				waits = true;
			}
		}
		if (mode >= 0 && mode != C.global)
			followers_afresh();
		if (mode >= 0)
			C.global = mode;
		return waits ? flip_waits() : (modes_changed(), 0);
	}
	if (!rt) {
		error_set(err, 0, "no such route");
		return -1;
	}
	if (sample >= 0)
		rt->sample = sample;
	if (mode < -1)
		return 0;
	if (mode != rt->mode)
		afresh(rt);
	handover = mode_mongo_first(control_mode(r)) !=
	           mode_mongo_first(mode >= 0 ? (enum mode)mode : (enum mode)C.global);
	if (handover && *C.cfg->mongodb_uri && writes_pending(rt)) {
		fence(rt, mode);
		return flip_waits();
	}
	rt->mode = mode;
	rt->target = -2;
	modes_changed();
	return 0;
}

/* Complete the flips whose route has nothing pending; true if any waits. */
static bool complete_flips(void)
{
	size_t i;
	bool waiting = false;

	for (i = 0; i < C.n; i++) {
		struct route *rt = &C.routes[i];
		int t = rt->target;

		if (t == -2)
			continue;
		if (rt->writing[(rt->epoch - 1) & 1] > 0 ||
		    journal_pending_upto(rt->res->name, rt->barrier_seq) > 0) {
			waiting = true;
			continue;
		}
		if (rt->mode != t)
			afresh(rt);
		rt->mode = t;
		rt->target = -2;
		modes_changed();
		fprintf(stderr, "cutover: %s mode %s (every write is in both stores)\n", rt->res->name,
		        mode_name(control_mode(rt->res)));
		persist(rt->res);
	}
	return waiting;
}

void control_apply(const char *route, int mode, int sample)
{
	struct route *rt;

	if (strcmp(route, "*") == 0) {
		if (mode >= 0 && mode != C.global)
			followers_afresh();
		if (mode >= 0)
			C.global = mode;
	} else if ((rt = route_of(config_resource(C.cfg, route, strlen(route))))) {
		if (rt->mode != mode)
			afresh(rt);
		rt->mode = mode;
		if (sample >= 0)
			rt->sample = sample;
	}
	modes_changed();
}

/* Raced reads ---------------------------------------------------------- */

static int stripe_of(const unsigned char *id)
{
	return id ? (id[0] ^ id[5] ^ id[15]) % RACE_STRIPES : -1;
}

uint64_t control_write_begin(const struct resource *r, const unsigned char *id, bool deletes, int *stripe)
{
	struct route *rt = route_of(r);
	uint64_t e;
	size_t i;

	*stripe = -1;
	if (!rt)
		return 0;
	for (i = 0; deletes && i < r->ncascades; i++) {
		struct route *dep = route_of(r->cascades[i].res);

		if (dep)
			atomic_fetch_add(&dep->cascade_seq, 1);
	}
	e = rt->epoch;
	atomic_fetch_add(&rt->writing[e & 1], 1);
	atomic_fetch_add(&rt->seq, 1);
	if ((*stripe = stripe_of(id)) >= 0) {
		atomic_fetch_add(&rt->stripe_writing[*stripe], 1);
		atomic_fetch_add(&rt->stripe_seq[*stripe], 1);
	}
	return e;
}

void control_write_end(const struct resource *r, uint64_t epoch, int stripe, int64_t seq)
{
	struct route *rt = route_of(r);
	int64_t b;

	if (!rt)
		return;
	/* a write of the old epoch whose copy is still pending joins the barrier */
	if (seq > 0 && epoch != rt->epoch)
		while ((b = rt->barrier_seq) < seq && !atomic_compare_exchange_weak(&rt->barrier_seq, &b, seq))
			;
	atomic_fetch_sub(&rt->writing[epoch & 1], 1);
	if (stripe >= 0)
		atomic_fetch_sub(&rt->stripe_writing[stripe], 1);
	atomic_fetch_add(&rt->ended_seq, 1);
}

/* Is a flip of r under way (waiting for earlier writes)? */
static bool flipping(const struct resource *r)
{
	struct route *rt = route_of(r);

	return rt && rt->target != -2;
}

bool control_fenced(const struct resource *r, uint64_t epoch)
{
	return flipping(r) && epoch == route_of(r)->epoch;
}

bool control_await_flip(const struct resource *r, int64_t timeout_us)
{
	struct timespec ts;
	bool fenced;

	deadline_after(&ts, timeout_us);
	pthread_mutex_lock(&C.modes_mu);
	while ((fenced = flipping(r)) && pthread_cond_timedwait(&C.flipped, &C.modes_mu, &ts) == 0)
		;
	pthread_mutex_unlock(&C.modes_mu);
	return !fenced;
}

void control_sync_pending(const struct resource *r, const unsigned char *id, int delta)
{
	struct route *rt = route_of(r);
	size_t i;

	if (!rt)
		return;
	/* The entry does not say whether it is a delete: while any copy is
	 * pending, the resources its cascades reach count as changing. */
	for (i = 0; i < r->ncascades; i++) {
		struct route *dep = route_of(r->cascades[i].res);

		if (dep)
			atomic_fetch_add(&dep->cascade_pending, delta);
	}
	atomic_fetch_add(&rt->pending, delta);
	if (id)
		atomic_fetch_add(&rt->stripe_pending[stripe_of(id)], delta);
}

void control_read_mark(const struct resource *r, const unsigned char *id, struct read_mark *m)
{
	struct route *rt = route_of(r);

	memset(m, 0, sizeof(*m));
	m->stripe = stripe_of(id);
	if (!rt)
		return;
	m->resource_seq = rt->seq;
	m->ended_seq = rt->ended_seq;
	m->writing = rt->writing[0] + rt->writing[1] > 0;
	m->cascade_seq = rt->cascade_seq;
	/* A write already begun (queued for a worker, say) may reach the
	 * stores between this request's two reads, and a copy under way may
	 * end there: either leaves them different with nothing to see later. */
	m->pending = rt->cascade_pending > 0 ||
	             (m->stripe < 0 ? rt->pending > 0 || m->writing
	                            : rt->stripe_pending[m->stripe] > 0 || rt->stripe_writing[m->stripe] > 0);
	if (m->stripe >= 0)
		m->stripe_seq = rt->stripe_seq[m->stripe];
}

/* Raced: a write to the record (to the resource, for lists) began since
 * the read arrived, or one was applied to one store and not yet the other
 * when it arrived or is now (a copy that ends between the two reads of a
 * comparison leaves them different with nothing pending). */
bool control_raced(const struct resource *r, const struct read_mark *m)
{
	struct route *rt = route_of(r);

	if (!rt)
		return false;
	if (m->pending)
		return true;
	if (rt->cascade_seq != m->cascade_seq || rt->cascade_pending > 0)
		return true;
	if (m->stripe < 0)
		return rt->seq != m->resource_seq || rt->pending > 0;
	return rt->stripe_seq[m->stripe] != m->stripe_seq || rt->stripe_pending[m->stripe] > 0;
}

static char *dupn(const char *s, size_t n)
{
	char *p = xmalloc(n + 1);

	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

/* Where path (n bytes) is in list, or n_list when it is not. */
static size_t find_path(const struct path_count *list, size_t n_list, const char *path, size_t n)
{
	size_t k;

	for (k = 0; k < n_list; k++)
		if (strlen(list[k].path) == n && memcmp(list[k].path, path, n) == 0)
			break;
	return k;
}

/* Count each of paths (one per line) in list, and with rec (noise) the
 * record it differed in; how many did not fit. */
static uint64_t count_paths(struct path_count *list, size_t *n_list, const char *paths, const uint32_t *rec)
{
	const char *p;
	uint64_t dropped = 0;

	for (p = paths; p && *p;) {
		size_t n = strcspn(p, "\n"), k = find_path(list, *n_list, p, n), i;

		if (k == *n_list && k < MAX_PATHS)
			list[(*n_list)++].path = dupn(p, n);
		p += n + (p[n] == '\n');
		if (k == *n_list) {
			dropped++;
			continue;
		}
		list[k].n++;
		for (i = 0; rec && i < list[k].nrecords && list[k].records[i] != *rec; i++)
			;
		if (rec && i == list[k].nrecords && i < NOISE_RECORDS)
			list[k].records[list[k].nrecords++] = *rec;
	}
	return dropped;
}

void control_reset_here(const struct resource *r, const char *why)
{
	struct route *rt = route_of(r);

	if (!rt)
		return;
	rt->last_mismatch_us = 0;
	fprintf(stderr, "cutover: %s: the mismatches until now no longer hold readiness back (%s)\n",
	        rt->res->name, why);
}

int control_reset_evidence(const struct resource *r, const char *why, struct error *err)
{
	if (!route_of(r)) {
		error_set(err, 0, "no such route");
		return -1;
	}
	control_reset_here(r, why);
	if (C.store)
		C.store->evidence(r, why);
	return 0;
}

void control_setting(const struct resource *r, int *mode, int *sample)
{
	struct route *rt = route_of(r);

	*mode = rt ? rt->mode : C.global;
	*sample = rt ? rt->sample : 100;
}

void control_mismatch(const struct resource *r, const char *method, const char *uri, int64_t principal,
                      int status_a, const char *body_a, size_t len_a,
                      int status_b, const char *body_b, size_t len_b,
                      const char *patch, size_t patch_len, const char *paths, size_t dropped)
{
	struct route *rt = route_of(r);
	struct mismatch *m;

	if (!rt)
		return;
	metrics_outcome(r, OUT_MISMATCHED);
	rt->last_mismatch_us = now_mono_us();
	pthread_mutex_lock(&C.mu);
	m = &C.ring[C.head];
	mismatch_free(m);
	m->time_us = now_wall_us();
	m->res = r;
	m->method = dupn(method, strlen(method));
	m->uri = dupn(uri, strlen(uri));
	m->principal = principal;
	m->status_a = status_a;
	m->status_b = status_b;
	m->body_a = dupn(body_a, len_a);
	m->body_b = dupn(body_b, len_b);
	m->patch = dupn(patch, patch_len);
	C.head = (C.head + 1) % C.cap;
	if (C.count < C.cap)
		C.count++;
	rt->paths_dropped += count_paths(rt->paths, &rt->npaths, paths, NULL) + dropped;
	pthread_mutex_unlock(&C.mu);
}

void control_noise(const struct resource *r, const struct read_mark *m, const char *uri, const char *paths)
{
	struct route *rt = route_of(r);
	uint32_t rec;
	bool raced;

	if (!rt)
		return;
	/* Stricter than a comparison's race: a write that began before the
	 * first read and ended before the second one changed what it shows. */
	raced = control_raced(r, m) || m->writing || rt->ended_seq != m->ended_seq;
	rec = (uint32_t)hash_bytes(uri, strlen(uri), 0);
	pthread_mutex_lock(&C.mu);
	if (raced) {
		rt->raced_baselines++;
	} else {
		rt->baselines++;
		if (paths && *paths) {
			rt->noisy_baselines++;
			count_paths(rt->noise, &rt->nnoise, paths, &rec);
		}
	}
	pthread_mutex_unlock(&C.mu);
}

static bool noise_confirmed(const struct path_count *pc)
{
	return pc->nrecords >= NOISE_RECORDS;
}

bool control_all_noise(const struct resource *r, const char *paths)
{
	struct route *rt = route_of(r);
	const char *p;
	bool all = paths && *paths;

	if (!rt || !all)
		return false;
	pthread_mutex_lock(&C.mu);
	for (p = paths; all && *p;) {
		size_t n = strcspn(p, "\n"), k = find_path(rt->noise, rt->nnoise, p, n);

		all = k < rt->nnoise && noise_confirmed(&rt->noise[k]);
		p += n + (p[n] == '\n');
	}
	pthread_mutex_unlock(&C.mu);
	return all;
}

/* Automatic fallback --------------------------------------------------- */

static bool falls_back(enum mode m)
{
	return C.cfg->fallback.enabled && (m == MODE_LIVE || (m == MODE_RAMPDOWN && C.cfg->fallback.rampdown));
}

/* This second's counters for r (reset when the slot held an older second;
 * two threads resetting at once may lose a count: a rate, not a ledger). */
static struct second *this_second(struct route *rt)
{
	int64_t now = now_mono_us() / 1000000;
	struct second *sl = &rt->window[now % FALLBACK_SLOTS];
	int64_t was = sl->sec;

	if (was != now && atomic_compare_exchange_strong(&sl->sec, &was, now)) {
		sl->requests = sl->errors = sl->timeouts = sl->slow = 0;
		sl->compared = sl->mismatched = 0;
	}
	return sl;
}

void control_observe(const struct resource *r, enum mode m, int status, enum store_err e, int64_t us)
{
	struct route *rt = route_of(r);
	struct second *sl;

	if (!rt || !falls_back(m))
		return;
	sl = this_second(rt);
	sl->requests++;
	if (e == STORE_TIMEOUT)
		sl->timeouts++;
	else if (status >= 500)
		sl->errors++;
	if (us > (int64_t)C.cfg->fallback.max_p99_ms * 1000)
		sl->slow++;
}

void control_observe_comparison(const struct resource *r, enum mode m, bool mismatched)
{
	struct route *rt = route_of(r);
	struct second *sl;

	if (!rt || !falls_back(m))
		return;
	sl = this_second(rt);
	sl->compared++;
	if (mismatched)
		sl->mismatched++;
}

/* Why rt should fall back now, in why; false when it should not. */
static bool failing(struct route *rt, const char *down, char *why, size_t n)
{
	int64_t now = now_mono_us() / 1000000;
	uint64_t req = 0, err = 0, tmo = 0, slow = 0, cmp = 0, mis = 0;
	const int w = C.cfg->fallback.window_seconds;
	size_t i;

	if (down) {
		snprintf(why, n, "%s", down);
		return true;
	}
	for (i = 0; i < FALLBACK_SLOTS; i++) {
		struct second *sl = &rt->window[i];

		if (sl->sec > now - w && sl->sec <= now) {
			req += sl->requests;
			err += sl->errors;
			tmo += sl->timeouts;
			slow += sl->slow;
			cmp += sl->compared;
			mis += sl->mismatched;
		}
	}
	if (req >= (uint64_t)C.cfg->fallback.min_requests) {
		if (err * 100 > req * (uint64_t)C.cfg->fallback.max_error_percent) {
			snprintf(why, n, "MongoDB errors on %llu of %llu requests in %d s (over %d %%)",
			         (unsigned long long)err, (unsigned long long)req, w, C.cfg->fallback.max_error_percent);
			return true;
		}
		if (tmo * 100 > req * (uint64_t)C.cfg->fallback.max_timeout_percent) {
			snprintf(why, n, "MongoDB timed out on %llu of %llu requests in %d s (over %d %%)",
			         (unsigned long long)tmo, (unsigned long long)req, w, C.cfg->fallback.max_timeout_percent);
			return true;
		}
		if (slow * 100 > req) {
			snprintf(why, n, "MongoDB p99 over %d ms: %llu of %llu requests slower in %d s",
			         C.cfg->fallback.max_p99_ms, (unsigned long long)slow, (unsigned long long)req, w);
			return true;
		}
	}
	if (cmp >= (uint64_t)C.cfg->fallback.min_requests &&
	    mis * 100 > cmp * (uint64_t)C.cfg->fallback.max_mismatch_percent) {
		snprintf(why, n, "%llu mismatches of %llu comparisons in %d s (over %d %%)", (unsigned long long)mis,
		         (unsigned long long)cmp, w, C.cfg->fallback.max_mismatch_percent);
		return true;
	}
	return false;
}

void control_fallback(const char *down)
{
	struct error err;
	char why[256];
	size_t i;

	if (!C.cfg || !C.cfg->fallback.enabled)
		return;
	for (i = 0; i < C.n; i++) {
		struct route *rt = &C.routes[i];
		enum mode m = control_mode(rt->res);

		if (!falls_back(m) || rt->target != -2 || !failing(rt, down, why, sizeof(why)))
			continue;
		if (control_set(rt->res, MODE_SHADOW, -1, &err) < 0) {
			fprintf(stderr, "cutover: fallback of %s to shadow failed: %s\n", rt->res->name, err.msg);
			continue;
		}
		persist(rt->res);
		rt->fallbacks++;
		pthread_mutex_lock(&C.mu);
		snprintf(rt->fallback_why, sizeof(rt->fallback_why), "%s", why);
		rt->fallback_at = now_wall_us();
		pthread_mutex_unlock(&C.mu);
		fprintf(stderr, "cutover: fallback: %s from %s to shadow, by itself: %s; it stays in shadow until it is "
		        "flipped again\n", rt->res->name, mode_name(m), why);
	}
}

uint64_t control_fallbacks(const struct resource *r)
{
	struct route *rt = route_of(r);

	return rt ? rt->fallbacks : 0;
}


/* JSON ------------------------------------------------------------------ */

/* The upper bound of the bucket holding the q-th fraction of the calls
 * counted in hist, in ms. */
static double quantile_ms(const uint64_t hist[LAT_BUCKETS], double q)
{
	uint64_t total = 0, seen = 0;
	int b;

	for (b = 0; b < LAT_BUCKETS; b++)
		total += hist[b];
	if (!total)
		return 0;
	for (b = 0; b < LAT_BUCKETS; b++) {
		seen += hist[b];
		if (seen >= (uint64_t)(q * (double)total + 0.999))
			break;
	}
	return (double)metrics_bucket_us(b < LAT_BUCKETS ? b : LAT_BUCKETS - 1) / 1000.0;
}

/* Every call to store s, whichever role it had. */
static uint64_t store_calls(const struct metrics_route *mr, enum which_store s, uint64_t hist[LAT_BUCKETS])
{
	uint64_t n = 0;
	int b, role;

	for (b = 0; b < LAT_BUCKETS; b++) {
		hist[b] = 0;
		for (role = 0; role < ROLE_COUNT; role++)
			hist[b] += mr->latency[s][role][b];
		n += hist[b];
	}
	return n;
}

static uint64_t compared(const struct metrics_route *mr)
{
	return mr->outcomes[OUT_MATCHED] + mr->outcomes[OUT_MISMATCHED] + mr->outcomes[OUT_RACED] +
	       mr->outcomes[OUT_NOISE] + mr->outcomes[OUT_ORDERING];
}

/* The figures readiness is judged on, taken once. */
struct readiness {
	uint64_t compared, mismatched;
	bool recent;                    /* an unexplained mismatch within the window */
	double since_s;                 /* its age */
	int64_t pending;                /* writes not yet in the secondary store */
	double p99;                     /* the secondary's, ms */
};

static void assess(const struct route *rt, const struct metrics_route *mr, struct readiness *a)
{
	enum which_store sec = mode_mongo_first(control_mode(rt->res)) ? WS_LEGACY : WS_MONGO;
	uint64_t hist[LAT_BUCKETS];
	int64_t last = rt->last_mismatch_us, now = now_mono_us();

	store_calls(mr, sec, hist);
	a->p99 = quantile_ms(hist, 0.99);
	a->compared = compared(mr);
	a->mismatched = mr->outcomes[OUT_MISMATCHED];
	a->recent = last && now - last < (int64_t)C.cfg->readiness.window_seconds * 1000000;
	a->since_s = last ? (double)(now - last) / 1e6 : 0;
	a->pending = rt->pending;
}

/* NULL when the route may be handed to the other store, else why not;
 * detail (when given) gets the figures behind the verdict. */
static const char *verdict(const struct readiness *a, char *detail, size_t n)
{
	char ignored[8];

	if (!detail) {
		detail = ignored;
		n = sizeof(ignored);
	}
	if (a->recent) {
		snprintf(detail, n, "%llu unexplained mismatch%s, the last %.0f s ago; none may be in the last %d s",
		         (unsigned long long)a->mismatched, a->mismatched == 1 ? "" : "es", a->since_s,
		         C.cfg->readiness.window_seconds);
		return "not ready: unexplained mismatches";
	}
	if (a->compared < (uint64_t)C.cfg->readiness.min_comparisons) {
		snprintf(detail, n, "%llu comparisons of %d needed", (unsigned long long)a->compared,
		         C.cfg->readiness.min_comparisons);
		return "not ready: too few comparisons";
	}
	if (a->pending > 0) {
		snprintf(detail, n, "%lld writes not yet in the secondary store", (long long)a->pending);
		return "not ready: writes not yet copied";
	}
	if (a->p99 > C.cfg->readiness.max_latency_ms) {
		snprintf(detail, n, "secondary p99 %.1f ms, over %d ms", a->p99, C.cfg->readiness.max_latency_ms);
		return "not ready: secondary latency over the bound";
	}
	snprintf(detail, n, "%llu comparisons, no unexplained mismatch in %d s, nothing to copy, secondary p99 "
	         "%.1f ms", (unsigned long long)a->compared, C.cfg->readiness.window_seconds, a->p99);
	return NULL;
}

/* The verdict on r now. */
static const char *judge(const struct route *rt, char *detail, size_t n)
{
	struct metrics_route mr;
	struct readiness a;

	metrics_route(rt->res->index, &mr);
	assess(rt, &mr, &a);
	return verdict(&a, detail, n);
}

static void check_json(struct buf *b, bool first, const char *check, bool ok, const char *detail)
{
	buf_printf(b, "%s{\"check\":\"%s\",\"ok\":%s,\"detail\":", first ? "" : ",", check,
	           ok ? "true" : "false");
	json_put_cstr(b, detail);
	buf_putc(b, '}');
}

/* Every readiness check with its figures, passed or not, for the admin
 * API (and so `cutover plan`): [{"check", "ok", "detail"}…]. */
static void checks_json(struct buf *b, const struct readiness *a)
{
	char d[160];

	buf_puts(b, ",\"readiness_checks\":[");
	snprintf(d, sizeof(d), "%llu of %d needed", (unsigned long long)a->compared, C.cfg->readiness.min_comparisons);
	check_json(b, true, "comparisons", a->compared >= (uint64_t)C.cfg->readiness.min_comparisons, d);
	if (a->recent)
		snprintf(d, sizeof(d), "%llu unexplained, the last %.0f s ago (the window is %d s)",
		         (unsigned long long)a->mismatched, a->since_s, C.cfg->readiness.window_seconds);
	else
		snprintf(d, sizeof(d), "none unexplained in the last %d s", C.cfg->readiness.window_seconds);
	check_json(b, false, "mismatches", !a->recent, d);
	snprintf(d, sizeof(d), "%lld writes waiting to be copied", (long long)a->pending);
	check_json(b, false, "copies", a->pending <= 0, d);
	snprintf(d, sizeof(d), "%.1f ms, the bound %d ms", a->p99, C.cfg->readiness.max_latency_ms);
	check_json(b, false, "secondary_p99", a->p99 <= C.cfg->readiness.max_latency_ms, d);
	buf_putc(b, ']');
}

bool control_ready(const struct resource *r)
{
	return judge(route_of(r), NULL, 0) == NULL;
}

/* Does a flip from → to need the route to be ready?  Those that move its
 * reads to MongoDB, and those that stop the copies to the legacy store. */
static bool needs_readiness(enum mode from, enum mode to)
{
	return (!mode_mongo_first(from) && mode_mongo_first(to)) ||
	       (to == MODE_MONGODB && from != MODE_MONGODB && !C.cfg->rollback_copy);
}

/* Before shadow, MongoDB must hold what the legacy store holds: the
 * comparisons of a route not copied would all be mismatches.  From legacy
 * nothing reaches MongoDB (and legacy mode does not look at it), so the
 * way is dual-write, then the copy; from dual-write the last count says. */
static const char *not_copied(const struct route *rt, enum mode to, char *detail, size_t n)
{
	enum mode from = control_mode(rt->res);
	int64_t legacy, mongo;
	double age;

	if ((from != MODE_LEGACY && from != MODE_DUAL_WRITE) || to == MODE_LEGACY || to == MODE_DUAL_WRITE ||
	    to == MODE_PASSTHROUGH)
		return NULL;
	if (from == MODE_LEGACY)
		snprintf(detail, n, "in legacy its writes do not reach MongoDB: first cutover mode %s dual-write, then "
		         "cutover migrate --resource %s", rt->res->name, rt->res->name);
	/* Refused only on a count made now: the last one may be from before
	 * a migrate that has just filled MongoDB. */
	else if (copies_count(rt->res, &legacy, &mongo, &age) && mongo < legacy &&
	         copies_count_now(rt->res, &legacy, &mongo) && mongo < legacy)
		snprintf(detail, n, "MongoDB holds %lld of the legacy store's %lld records: copy them first, cutover "
		         "migrate --resource %s", (long long)mongo, (long long)legacy, rt->res->name);
	else
		return NULL;
	return "not ready: not copied to MongoDB";
}

static int gate_route(struct route *rt, enum mode to, struct error *err, size_t *said)
{
	const char *why;
	char detail[200];

	if (!(why = not_copied(rt, to, detail, sizeof(detail))) &&
	    (!needs_readiness(control_mode(rt->res), to) || !(why = judge(rt, detail, sizeof(detail)))))
		return 0;
	*said += (size_t)snprintf(err->msg + *said, sizeof(err->msg) - *said, "%s%s is not ready for %s: %s (%s)",
	                          *said ? "; " : "", rt->res->name, mode_name(to), why + strlen("not ready: "),
	                          detail);
	if (*said >= sizeof(err->msg))
		*said = sizeof(err->msg) - 1;
	return -1;
}

int control_gate(const struct resource *r, int mode, struct error *err)
{
	struct route *rt = route_of(r);
	size_t i, said = 0;
	int rc = 0;

	err->code = 0;
	err->msg[0] = '\0';
	if (mode < -1 || (r && !rt))
		return 0;
	if (r)
		return gate_route(rt, mode >= 0 ? (enum mode)mode : (enum mode)C.global, err, &said);
	for (i = 0; i < C.n; i++)
		if (C.routes[i].mode == -1 && C.routes[i].target == -2 && gate_route(&C.routes[i], (enum mode)mode,
		                                                                     err, &said) < 0)
			rc = -1;
	return rc;
}

static const char *const outcome_names[OUT_COUNT] = {
	"matched", "mismatched", "raced", "secondary_errors", "secondary_timeouts", "dropped", "noise",
	"ordering",
};

/* {"path": count, …} (caller holds C.mu). */
static void paths_json(struct buf *b, const struct path_count *list, size_t n)
{
	size_t i;

	buf_putc(b, '{');
	for (i = 0; i < n; i++) {
		if (i)
			buf_putc(b, ',');
		json_put_cstr(b, list[i].path);
		buf_printf(b, ":%llu", (unsigned long long)list[i].n);
	}
	buf_putc(b, '}');
}

/* Does a field called name identify r's records (or its children's): the
 * key, a unique field, a reference?  A rule never ignores one. */
static bool identifies(const struct resource *r, const char *name)
{
	size_t i, k;

	for (i = 0; i < r->nfields; i++) {
		if (strcmp(r->fields[i].name, name) != 0)
			continue;
		if ((int)i == r->pk || r->fields[i].ref_name)
			return true;
		for (k = 0; k < r->nuniques; k++)
			if (r->uniques[k].nfields == 1 && r->uniques[k].fields[0] == (int)i)
				return true;
	}
	for (i = 0; i < r->nchildren; i++)
		if (identifies(r->children[i], name))
			return true;
	return false;
}

static size_t fields_of(const struct resource *r)
{
	size_t i, n = r->nfields;

	for (i = 0; i < r->nchildren; i++)
		n += fields_of(r->children[i]);
	return n;
}

/* Identity paths: a list's count, or a path ending at an identifying field. */
static bool identity_path(const struct resource *r, const char *path)
{
	const char *last = strrchr(path, '/');

	return strcmp(path, "/count") == 0 || !last || identifies(r, last + 1);
}

/*
 * The noise baseline, under C.mu: the re-reads, the paths confirmed noisy
 * (re-reads of NOISE_RECORDS distinct records differed there) with the
 * evidence for every path, and the rule that would silence them — never
 * for an identity path, and withheld when the noisy paths are more than
 * NOISE_MAX_SHARE of the route's fields, which would blind the comparison.
 */
static void noise_json(struct buf *b, const struct route *rt)
{
	const struct resource *r = rt->res;
	size_t i, confirmed = 0, ignorable = 0, nf = fields_of(r);

	buf_printf(b, ",\"noise_baseline\":{\"reads\":%llu,\"differed\":%llu,\"raced\":%llu,\"paths\":{",
	           (unsigned long long)rt->baselines, (unsigned long long)rt->noisy_baselines,
	           (unsigned long long)rt->raced_baselines);
	for (i = 0; i < rt->nnoise; i++) {
		if (!noise_confirmed(&rt->noise[i]))
			continue;
		buf_puts(b, confirmed++ ? "," : "");
		json_put_cstr(b, rt->noise[i].path);
		buf_printf(b, ":%llu", (unsigned long long)rt->noise[i].n);
		ignorable += !identity_path(r, rt->noise[i].path);
	}
	buf_puts(b, "},\"evidence\":{");
	for (i = 0; i < rt->nnoise; i++) {
		buf_puts(b, i ? "," : "");
		json_put_cstr(b, rt->noise[i].path);
		buf_printf(b, ":{\"reads\":%llu,\"records\":%u,\"noisy\":%s,\"identity\":%s}",
		           (unsigned long long)rt->noise[i].n, rt->noise[i].nrecords,
		           noise_confirmed(&rt->noise[i]) ? "true" : "false",
		           identity_path(r, rt->noise[i].path) ? "true" : "false");
	}
	buf_puts(b, "},\"ignore_rule\":");
	if (confirmed * 100 > (size_t)NOISE_MAX_SHARE * nf) {
		buf_puts(b, "null,\"withheld\":");
		buf_printf(b, "\"%zu paths are noisy, more than %d%% of the route's %zu fields: ignoring them would "
		           "blind the comparison; look for what changes between two reads\"", confirmed,
		           NOISE_MAX_SHARE, nf);
	} else if (ignorable) {
		buf_puts(b, "{\"compare\":{\"ignore\":[");
		for (i = 0, ignorable = 0; i < rt->nnoise; i++) {
			if (!noise_confirmed(&rt->noise[i]) || identity_path(r, rt->noise[i].path))
				continue;
			buf_puts(b, ignorable++ ? "," : "");
			json_put_cstr(b, rt->noise[i].path);
		}
		buf_puts(b, "]}},\"withheld\":null");
	} else {
		buf_puts(b, "null,\"withheld\":null");
	}
	buf_putc(b, '}');
}

/* ,"copy":{"legacy":N,"mongodb":M,"counted_seconds_ago":S} as last
 * counted, while the route is in dual-write; else null. */
static void copy_json(struct buf *b, const struct resource *r)
{
	enum mode m = control_mode(r);
	int64_t legacy, mongo;
	double age;

	if (m != MODE_DUAL_WRITE || !copies_count(r, &legacy, &mongo, &age)) {
		buf_puts(b, ",\"copy\":null");
		return;
	}
	buf_printf(b, ",\"copy\":{\"legacy\":%lld,\"mongodb\":%lld,\"counted_seconds_ago\":%.1f}", (long long)legacy,
	           (long long)mongo, age);
}

static void route_json(struct buf *b, struct route *rt)
{
	enum mode m = control_mode(rt->res);
	struct metrics_route mr;
	struct readiness a;
	uint64_t hist[WS_COUNT][LAT_BUCKETS], calls[WS_COUNT];
	const char *why;
	char detail[200];
	size_t i;
	int s;

	metrics_route(rt->res->index, &mr);
	assess(rt, &mr, &a);
	why = verdict(&a, detail, sizeof(detail));
	buf_puts(b, "{\"route\":");
	json_put_cstr(b, rt->res->name);
	buf_puts(b, ",\"path\":");
	json_put_cstr(b, rt->res->path);
	buf_printf(b, ",\"mode\":\"%s\",\"mode_source\":\"%s\",\"pending_mode\":", mode_name(m),
	           rt->mode >= 0 ? "route" : "global");
	if (rt->target == -2)
		buf_puts(b, "null");
	else
		buf_printf(b, "\"%s\"", rt->target >= 0 ? mode_name((enum mode)rt->target) : "global");
	buf_printf(b, ",\"writes_pending\":%lld,\"sample\":%d,\"compared\":%llu", (long long)rt->pending,
	           (int)rt->sample, (unsigned long long)compared(&mr));
	for (i = 0; i < OUT_COUNT; i++)
		buf_printf(b, ",\"%s\":%llu", outcome_names[i], (unsigned long long)mr.outcomes[i]);
	for (s = 0; s < WS_COUNT; s++)
		calls[s] = store_calls(&mr, (enum which_store)s, hist[s]);
	buf_printf(b, ",\"latency_ms\":{\"legacy\":{\"calls\":%llu,\"p50\":%.3f,\"p99\":%.3f},"
	           "\"mongodb\":{\"calls\":%llu,\"p50\":%.3f,\"p99\":%.3f}}",
	           (unsigned long long)calls[WS_LEGACY], quantile_ms(hist[WS_LEGACY], 0.5),
	           quantile_ms(hist[WS_LEGACY], 0.99), (unsigned long long)calls[WS_MONGO],
	           quantile_ms(hist[WS_MONGO], 0.5), quantile_ms(hist[WS_MONGO], 0.99));
	pthread_mutex_lock(&C.mu);
	buf_puts(b, ",\"mismatched_paths\":");
	paths_json(b, rt->paths, rt->npaths);
	buf_printf(b, ",\"mismatched_paths_dropped\":%llu", (unsigned long long)rt->paths_dropped);
	noise_json(b, rt);
	pthread_mutex_unlock(&C.mu);
	buf_printf(b, ",\"ready\":%s,\"readiness\":", why ? "false" : "true");
	json_put_cstr(b, why ? why : "ready");
	buf_puts(b, ",\"readiness_detail\":");
	json_put_cstr(b, detail);
	checks_json(b, &a);
	copy_json(b, rt->res);
	buf_printf(b, ",\"fallbacks\":%llu,\"fallback\":", (unsigned long long)rt->fallbacks);
	pthread_mutex_lock(&C.mu);
	if (rt->fallback_why[0]) {
		char when[40];

		datetime_format_api(rt->fallback_at, when);
		buf_printf(b, "{\"at\":\"%s\",\"reason\":", when);
		json_put_cstr(b, rt->fallback_why);
		buf_putc(b, '}');
	} else {
		buf_puts(b, "null");
	}
	pthread_mutex_unlock(&C.mu);
	buf_putc(b, '}');
}

void control_paths(const struct resource *r, enum path_kind kind,
                   void (*each)(void *arg, const char *path, uint64_t n), void *arg, uint64_t *dropped)
{
	struct route *rt = route_of(r);
	const struct path_count *list;
	size_t i, n;

	if (dropped)
		*dropped = 0;
	if (!rt)
		return;
	pthread_mutex_lock(&C.mu);
	list = kind == PATHS_NOISY ? rt->noise : rt->paths;
	n = kind == PATHS_NOISY ? rt->nnoise : rt->npaths;
	for (i = 0; i < n; i++)
		if (kind != PATHS_NOISY || noise_confirmed(&list[i]))
			each(arg, list[i].path, list[i].n);
	if (dropped && kind == PATHS_MISMATCHED)
		*dropped = rt->paths_dropped;
	pthread_mutex_unlock(&C.mu);
}

void control_routes_json(struct buf *b, const struct resource *only)
{
	size_t i;
	bool first = true;

	if (only)
		return route_json(b, route_of(only));
	buf_printf(b, "{\"mode\":\"%s\",\"mongodb\":%s,\"routes\":[", mode_name((enum mode)C.global),
	           *C.cfg->mongodb_uri ? "true" : "false");
	for (i = 0; i < C.n; i++) {
		if (!first)
			buf_putc(b, ',');
		first = false;
		route_json(b, &C.routes[i]);
	}
	buf_puts(b, "]}");
}

void control_mismatches_json(struct buf *b, const struct resource *only, int limit)
{
	size_t i;
	int n = 0;
	char when[40];

	buf_putc(b, '[');
	pthread_mutex_lock(&C.mu);
	for (i = 0; i < C.count && n < limit; i++) {
		struct mismatch *m = &C.ring[(C.head + C.cap - 1 - i) % C.cap];

		if (only && m->res != only)
			continue;
		if (n++)
			buf_putc(b, ',');
		datetime_format_api(m->time_us, when);
		buf_printf(b, "{\"time\":\"%s\",\"route\":", when);
		json_put_cstr(b, m->res->name);
		buf_puts(b, ",\"method\":");
		json_put_cstr(b, m->method);
		buf_puts(b, ",\"url\":");
		json_put_cstr(b, m->uri);
		buf_printf(b, ",\"principal\":%lld,\"authoritative\":{\"status\":%d,\"body\":",
		           (long long)m->principal, m->status_a);
		json_put_cstr(b, m->body_a);
		buf_printf(b, "},\"secondary\":{\"status\":%d,\"body\":", m->status_b);
		json_put_cstr(b, m->body_b);
		buf_puts(b, "},\"patch\":");
		buf_puts(b, m->patch && *m->patch ? m->patch : "[]");
		buf_putc(b, '}');
	}
	pthread_mutex_unlock(&C.mu);
	buf_putc(b, ']');
}

/* The background work ------------------------------------------------- */

void control_wake(void)
{
	uint64_t one = 1;

	/* It cannot fail but full, and full is awake already. */
	if (C.wake_fd >= 0 && write(C.wake_fd, &one, sizeof(one)) < 0)
		return;
}

int control_wake_fd(void)
{
	return C.wake_fd;
}

int control_tick(void)
{
	uint64_t n;
	bool waiting, polling;

	/* Empty (EAGAIN): nothing was asked, the regular look. */
	if (C.wake_fd >= 0 && read(C.wake_fd, &n, sizeof(n)) < 0)
		n = 0;
	waiting = complete_flips();
	polling = C.store && C.store->poll();
	return waiting ? 20 : polling ? 1000 : -1;
}

/* Configuration ------------------------------------------------------ */

static const struct config_key keys[] = {
	{"readiness", "min_comparisons", CFG_INT, CFG_FIELD(readiness.min_comparisons), 0, 1L << 30, "100", NULL,
	 NULL,
	 "comparisons a route needs before it is ready"},
	{"readiness", "max_latency_ms", CFG_INT, CFG_FIELD(readiness.max_latency_ms), 1, 600000, "250", NULL, NULL,
	 "the secondary p99 a ready route must stay under"},
	{"readiness", "window_seconds", CFG_INT, CFG_FIELD(readiness.window_seconds), 1, 1L << 30, "3600", NULL, NULL,
	 "seconds with no unexplained mismatch for a route to be ready"},
	{NULL, "mismatch_capacity", CFG_INT, CFG_FIELD(mismatch_capacity), 1, 100000, "200", NULL, NULL,
	 "mismatches kept for the admin API, newest first"},
	{NULL, "control_store", CFG_STRING, CFG_FIELD(control_store), 0, 0, "legacy", NULL, NULL,
	 "where the runtime modes live: legacy or mongodb"},
	{"fallback", "enabled", CFG_BOOL, CFG_FIELD(fallback.enabled), 0, 0, "true", NULL, NULL,
	 "flip a live route back to shadow by itself when MongoDB fails"},
	{"fallback", "rampdown", CFG_BOOL, CFG_FIELD(fallback.rampdown), 0, 0, NULL, NULL, NULL,
	 "rampdown routes fall back to shadow too when MongoDB fails"},
	{"fallback", "window_seconds", CFG_INT, CFG_FIELD(fallback.window_seconds), 1, FALLBACK_SLOTS - 2, "30", NULL,
	 NULL,
	 "the seconds of requests the fallback judges"},
	{"fallback", "min_requests", CFG_INT, CFG_FIELD(fallback.min_requests), 1, 1 << 30, "20", NULL, NULL,
	 "requests in the window before the fallback judges"},
	{"fallback", "max_error_percent", CFG_INT, CFG_FIELD(fallback.max_error_percent), 0, 100, "5", NULL, NULL,
	 "MongoDB errors above this share of the window flip back"},
	{"fallback", "max_timeout_percent", CFG_INT, CFG_FIELD(fallback.max_timeout_percent), 0, 100, "5", NULL, NULL,
	 "MongoDB timeouts above this share of the window flip back"},
	{"fallback", "max_mismatch_percent", CFG_INT, CFG_FIELD(fallback.max_mismatch_percent), 0, 100, "5", NULL,
	 NULL,
	 "mismatches above this share of the window's comparisons flip back"},
	{"fallback", "max_p99_ms", CFG_INT, CFG_FIELD(fallback.max_p99_ms), 1, 600000, "2000", NULL, NULL,
	 "a MongoDB p99 above this flips back"},
};

static void check_control_store(struct config_loader *l)
{
	const struct config *cfg = config_of(l);

	if (strcmp(cfg->control_store, "legacy") != 0 && strcmp(cfg->control_store, "mongodb") != 0)
		config_problem(l, NULL, "control_store \"%s\" must be legacy or mongodb", cfg->control_store);
	else if (strcmp(cfg->control_store, "mongodb") == 0 && !*cfg->mongodb_uri)
		config_problem(l, NULL, "control_store \"mongodb\" needs MongoDB: set \"mongodb_uri\" or MONGODB_URI");
}

const struct config_module control_config = {"control", keys, ARRAY_LEN(keys), check_control_store};
