/*
 * control.c — runtime state per route (see control.h): modes, samples and
 * flips, the write marks that tell a raced read, the background work.
 * Mismatches and noise are mismatch.c's, the automatic fallback
 * fallback.c's, readiness and the flip gate readiness.c's, each with its
 * own state; the admin API composes their JSON views.
 *
 * Modes, samples and the write marks are atomics: the request path reads
 * them without a lock.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "control.h"
#include "journal.h"

struct route_state {
	const struct resource *res;
	_Atomic int mode;               /* MODE_GLOBAL: the global mode */
	_Atomic int target;             /* a flip waiting for the stores to agree, or MODE_UNCHANGED */
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
};

static struct {
	const struct config *cfg;
	void (*on_flip_wait)(void);
	_Atomic int global;
	_Atomic bool engaged;           /* some route's mode needs MongoDB */
	pthread_mutex_t modes_mu;       /* orders the updates of engaged; */
	pthread_cond_t flipped;         /* … and wakes the writes a flip held */
	struct route_state *routes;
	size_t n;
	int wake_fd;                    /* an eventfd: work for control_tick */
	const struct control_store_hooks *store;        /* where the modes live, once it started */
} ctl = {.wake_fd = -1};

void control_on_store(const struct control_store_hooks *h)
{
	ctl.store = h;
}

/* Queue a route's mode for the control store, if one started. */
static void ctl_persist(const struct resource *r)
{
	if (ctl.store)
		ctl.store->persist(r);
}

static struct route_state *ctl_route(const struct resource *r)
{
	return r && (size_t)r->index < ctl.n ? &ctl.routes[r->index] : NULL;
}

/* After any change of a mode: does some route (or a flip under way) need
 * MongoDB now?  Under a lock, so the last update sees every change. */
static void modes_changed(void)
{
	bool on = false;
	size_t i;

	pthread_mutex_lock(&ctl.modes_mu);
	for (i = 0; i < ctl.n && !on; i++) {
		int t = ctl.routes[i].target;

		on = mode_uses_mongo(control_mode(ctl.routes[i].res)) ||
		     (t != MODE_UNCHANGED && mode_uses_mongo(t >= 0 ? (enum mode)t : (enum mode)ctl.global));
	}
	ctl.engaged = on;
	pthread_cond_broadcast(&ctl.flipped);
	pthread_mutex_unlock(&ctl.modes_mu);
}

void control_on_flip_wait(void (*fn)(void))
{
	ctl.on_flip_wait = fn;
}

bool control_engaged(void)
{
	return atomic_load_explicit(&ctl.engaged, memory_order_relaxed);
}

int control_init(const struct config *cfg)
{
	size_t i;

	memset(&ctl, 0, sizeof(ctl));
	ctl.wake_fd = -1;
	ctl.cfg = cfg;
	ctl.global = cfg->mode_id;
	ctl.n = cfg->nresources;
	ctl.routes = xcalloc(ctl.n ? ctl.n : 1, sizeof(*ctl.routes));
	for (i = 0; i < ctl.n; i++) {
		ctl.routes[i].res = cfg->resources[i];
		ctl.routes[i].mode = cfg->resources[i]->mode;
		ctl.routes[i].target = MODE_UNCHANGED;
		ctl.routes[i].sample = cfg->resources[i]->sample;
	}
	mismatch_init(cfg);
	fallback_init(cfg);
	readiness_init(cfg);
	pthread_mutex_init(&ctl.modes_mu, NULL);
	pthread_cond_init(&ctl.flipped, NULL);
	modes_changed();
	ctl.wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	return ctl.wake_fd >= 0 ? 0 : -1;
}

void control_fini(void)
{
	mismatch_fini();
	fallback_fini();
	free(ctl.routes);
	pthread_mutex_destroy(&ctl.modes_mu);
	pthread_cond_destroy(&ctl.flipped);
	if (ctl.wake_fd >= 0)
		close(ctl.wake_fd);
	memset(&ctl, 0, sizeof(ctl));
	ctl.wake_fd = -1;
}

enum mode control_mode(const struct resource *r)
{
	struct route_state *rt = ctl_route(r);
	int m = rt ? atomic_load_explicit(&rt->mode, memory_order_relaxed) : -1;

	return m >= 0 ? (enum mode)m : (enum mode)atomic_load_explicit(&ctl.global, memory_order_relaxed);
}

int control_sample(const struct resource *r)
{
	struct route_state *rt = ctl_route(r);

	return rt ? rt->sample : 0;
}

/* The global mode changed: so did every route that follows it. */
static void followers_afresh(void)
{
	size_t i;

	for (i = 0; i < ctl.n; i++)
		if (ctl.routes[i].mode == MODE_GLOBAL)
			fallback_afresh(ctl.routes[i].res);
}

/* Does r's store hold writes the other store has not all got yet? */
static bool writes_pending(const struct route_state *rt)
{
	return rt->writing[0] > 0 || rt->writing[1] > 0 || journal_pending_upto(rt->res->name, INT64_MAX) > 0;
}

/* The store taking over must hold every write that came before: the flip
 * to target waits (in control_tick) for the writes running now and the
 * journal entries made so far; later writes do not hold it up. */
static void fence(struct route_state *rt, int target)
{
	rt->barrier_seq = journal_last_seq();
	rt->target = target;
	atomic_fetch_add(&rt->epoch, 1);
}

static int flip_waits(void)
{
	modes_changed();
	control_wake();
	if (ctl.on_flip_wait)
		ctl.on_flip_wait();
	return 1;
}

int control_set(const struct resource *r, int mode, int sample, struct error *err)
{
	struct route_state *rt = ctl_route(r);
	const char *why = mode >= 0 ? mode_unavailable(ctl.cfg, mode) : NULL;
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
		handover = mode >= 0 && *ctl.cfg->mongodb_uri && mode_mongo_first((enum mode)ctl.global) !=
		           mode_mongo_first((enum mode)mode);
		for (i = 0; handover && i < ctl.n; i++) {
			rt = &ctl.routes[i];
			if (rt->mode == MODE_GLOBAL && rt->target == MODE_UNCHANGED && writes_pending(rt)) {
				rt->mode = ctl.global;
				fence(rt, -1);
				waits = true;
			}
		}
		if (mode >= 0 && mode != ctl.global)
			followers_afresh();
		if (mode >= 0)
			ctl.global = mode;
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
		fallback_afresh(rt->res);
	handover = mode_mongo_first(control_mode(r)) !=
	           mode_mongo_first(mode >= 0 ? (enum mode)mode : (enum mode)ctl.global);
	if (handover && *ctl.cfg->mongodb_uri && writes_pending(rt)) {
		fence(rt, mode);
		return flip_waits();
	}
	rt->mode = mode;
	rt->target = MODE_UNCHANGED;
	modes_changed();
	return 0;
}

/* Complete the flips whose route has nothing pending; true if any waits. */
static bool complete_flips(void)
{
	size_t i;
	bool waiting = false;

	for (i = 0; i < ctl.n; i++) {
		struct route_state *rt = &ctl.routes[i];
		int t = rt->target;

		if (t == MODE_UNCHANGED)
			continue;
		if (rt->writing[(rt->epoch - 1) & 1] > 0 ||
		    journal_pending_upto(rt->res->name, rt->barrier_seq) > 0) {
			waiting = true;
			continue;
		}
		if (rt->mode != t)
			fallback_afresh(rt->res);
		rt->mode = t;
		rt->target = MODE_UNCHANGED;
		modes_changed();
		fprintf(stderr, "cutover: %s mode %s (every write is in both stores)\n", rt->res->name,
		        mode_name(control_mode(rt->res)));
		ctl_persist(rt->res);
	}
	return waiting;
}

void control_apply(const char *route, int mode, int sample)
{
	struct route_state *rt;

	if (strcmp(route, "*") == 0) {
		if (mode >= 0 && mode != ctl.global)
			followers_afresh();
		if (mode >= 0)
			ctl.global = mode;
	} else if ((rt = ctl_route(config_resource(ctl.cfg, route, strlen(route))))) {
		if (rt->mode != mode)
			fallback_afresh(rt->res);
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
	struct route_state *rt = ctl_route(r);
	uint64_t e;
	size_t i;

	*stripe = -1;
	if (!rt)
		return 0;
	for (i = 0; deletes && i < r->ncascades; i++) {
		struct route_state *dep = ctl_route(r->cascades[i].res);

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
	struct route_state *rt = ctl_route(r);
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

bool control_flipping(const struct resource *r)
{
	struct route_state *rt = ctl_route(r);

	return rt && rt->target != MODE_UNCHANGED;
}

bool control_fenced(const struct resource *r, uint64_t epoch)
{
	return control_flipping(r) && epoch == ctl_route(r)->epoch;
}

bool control_await_flip(const struct resource *r, int64_t timeout_us)
{
	struct timespec ts;
	bool fenced;

	deadline_after(&ts, timeout_us);
	pthread_mutex_lock(&ctl.modes_mu);
	while ((fenced = control_flipping(r)) && pthread_cond_timedwait(&ctl.flipped, &ctl.modes_mu, &ts) == 0)
		;
	pthread_mutex_unlock(&ctl.modes_mu);
	return !fenced;
}

void control_sync_pending(const struct resource *r, const unsigned char *id, int delta)
{
	struct route_state *rt = ctl_route(r);
	size_t i;

	if (!rt)
		return;
	/* The entry does not say whether it is a delete: while any copy is
	 * pending, the resources its cascades reach count as changing. */
	for (i = 0; i < r->ncascades; i++) {
		struct route_state *dep = ctl_route(r->cascades[i].res);

		if (dep)
			atomic_fetch_add(&dep->cascade_pending, delta);
	}
	atomic_fetch_add(&rt->pending, delta);
	if (id)
		atomic_fetch_add(&rt->stripe_pending[stripe_of(id)], delta);
}

void control_read_mark(const struct resource *r, const unsigned char *id, struct read_mark *m)
{
	struct route_state *rt = ctl_route(r);

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
	struct route_state *rt = ctl_route(r);

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

/* Stricter than a comparison's race, for the noise baseline: a write that
 * began before the first read and ended before the second one changed
 * what it shows. */
bool control_changed(const struct resource *r, const struct read_mark *m)
{
	struct route_state *rt = ctl_route(r);

	return control_raced(r, m) || m->writing || (rt && rt->ended_seq != m->ended_seq);
}

int64_t control_pending(const struct resource *r)
{
	struct route_state *rt = ctl_route(r);

	return rt ? rt->pending : 0;
}

bool control_follows_global(const struct resource *r)
{
	struct route_state *rt = ctl_route(r);

	return rt && rt->mode == MODE_GLOBAL && rt->target == MODE_UNCHANGED;
}

int control_reset_evidence(const struct resource *r, const char *why, struct error *err)
{
	if (!ctl_route(r)) {
		error_set(err, 0, "no such route");
		return -1;
	}
	control_reset_here(r, why);
	if (ctl.store)
		ctl.store->evidence(r, why);
	return 0;
}

void control_setting(const struct resource *r, int *mode, int *sample)
{
	struct route_state *rt = ctl_route(r);

	*mode = rt ? rt->mode : ctl.global;
	*sample = rt ? rt->sample : 100;
}

/* The JSON view's part of the modes: from "mode" to "sample". */
void control_route_json(struct buf *b, const struct resource *r)
{
	struct route_state *rt = ctl_route(r);

	if (!rt)
		return;
	buf_printf(b, ",\"mode\":\"%s\",\"mode_source\":\"%s\",\"pending_mode\":", mode_name(control_mode(r)),
	           rt->mode >= 0 ? "route" : "global");
	if (rt->target == MODE_UNCHANGED)
		buf_puts(b, "null");
	else
		buf_printf(b, "\"%s\"", rt->target >= 0 ? mode_name((enum mode)rt->target) : "global");
	buf_printf(b, ",\"writes_pending\":%lld,\"sample\":%d", (long long)rt->pending, (int)rt->sample);
}

/* The background work ------------------------------------------------- */

void control_wake(void)
{
	uint64_t one = 1;

	/* It cannot fail but full, and full is awake already. */
	if (ctl.wake_fd >= 0 && write(ctl.wake_fd, &one, sizeof(one)) < 0)
		return;
}

int control_wake_fd(void)
{
	return ctl.wake_fd;
}

int control_tick(void)
{
	uint64_t n;
	bool waiting, polling;

	/* Empty (EAGAIN): nothing was asked, the regular look. */
	if (ctl.wake_fd >= 0 && read(ctl.wake_fd, &n, sizeof(n)) < 0)
		n = 0;
	waiting = complete_flips();
	polling = ctl.store && ctl.store->poll();
	return waiting ? 20 : polling ? 1000 : -1;
}

/* Configuration ------------------------------------------------------ */

static const struct config_key keys[] = {
	{NULL, "control_store", CFG_STRING, CFG_FIELD(control_store), 0, 0, "legacy", NULL, NULL,
	 "where the runtime modes live: legacy or mongodb"},
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
