/*
 * copies.c — how many records of each resource each store holds (see
 * copies.h).
 */
#include <stdatomic.h>
#include <stdlib.h>

#include "copies.h"

/* A resource's records in each store, counted while its route is in
 * dual-write: a flip forward while MongoDB holds fewer is gated, naming
 * cutover migrate.  (In legacy nothing touches MongoDB.) */
struct copy_count {
	_Atomic int64_t legacy, mongo;
	_Atomic int64_t at_us;              /* when counted (monotonic); 0: not counted */
};

static struct {
	const struct config *cfg;
	const char *const *urls;            /* the health looks' (secondary time limit) */
	struct copy_count *counts;          /* per resource */
	struct store *counter[WS_COUNT];    /* the counts' own handles */
	_Atomic bool due;                   /* count at the next tick */
} K;

void copies_start(const struct config *cfg, const char *const urls[WS_COUNT])
{
	K.cfg = cfg;
	K.urls = urls;
	K.due = false;
	K.counts = xcalloc(cfg->nresources ? cfg->nresources : 1, sizeof(*K.counts));
}

void copies_stop(void)
{
	int s;

	for (s = 0; s < WS_COUNT; s++) {
		store_close(K.counter[s]);
		K.counter[s] = NULL;
	}
	free(K.counts);
	K.counts = NULL;
	K.cfg = NULL;
}

bool copies_due(void)
{
	return K.due;
}

/* Count r in both stores through st (a NULL handle is opened) and keep
 * the counts; false when a store does not answer (its handle closed, to
 * connect afresh next time). */
static bool count_into(struct store *st[WS_COUNT], const struct resource *r)
{
	struct store_error err;
	int64_t n[WS_COUNT];
	int s;

	for (s = 0; s < WS_COUNT; s++) {
		if ((!st[s] && !(st[s] = store_open(K.urls[s], K.cfg, &err))) || store_size(st[s], r, &n[s], &err) < 0) {
			store_close(st[s]);
			st[s] = NULL;
			return false;
		}
	}
	K.counts[r->index].legacy = n[WS_LEGACY];
	K.counts[r->index].mongo = n[WS_MONGO];
	K.counts[r->index].at_us = now_mono_us();
	return true;
}

void copies_tick(const bool *dual)
{
	bool any = false;
	size_t i;
	int s;

	K.due = false;
	for (i = 0; K.urls[WS_MONGO] && i < K.cfg->nresources; i++) {
		if (dual[i]) {
			any = true;
			count_into(K.counter, K.cfg->resources[i]);
		}
	}
	for (s = 0; !any && s < WS_COUNT; s++) {
		store_close(K.counter[s]);
		K.counter[s] = NULL;
	}
}

void copies_recount(void)
{
	K.due = true;
}

bool copies_count_now(const struct resource *r, int64_t *legacy, int64_t *mongo)
{
	struct store *st[WS_COUNT] = {NULL};
	double age;
	bool counted;
	int s;

	if (!K.cfg || !K.urls[WS_MONGO] || (size_t)r->index >= K.cfg->nresources)
		return false;
	counted = count_into(st, r);
	for (s = 0; s < WS_COUNT; s++)
		store_close(st[s]);
	return counted && copies_count(r, legacy, mongo, &age);
}

bool copies_count(const struct resource *r, int64_t *legacy, int64_t *mongo, double *age_s)
{
	const struct copy_count *c = K.counts && (size_t)r->index < K.cfg->nresources ? &K.counts[r->index] : NULL;
	int64_t at = c ? c->at_us : 0;

	if (!at)
		return false;
	*legacy = c->legacy;
	*mongo = c->mongo;
	*age_s = (double)(now_mono_us() - at) / 1e6;
	return true;
}

