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

void copies_tick(const bool *dual)
{
	struct store_error err;
	bool any = false;

	K.due = false;
	size_t i;
	int s;

	for (i = 0; K.urls[WS_MONGO] && i < K.cfg->nresources; i++) {
		const struct resource *r = K.cfg->resources[i];
		int64_t n[WS_COUNT];

		if (!dual[i])
			continue;
		any = true;
		for (s = 0; s < WS_COUNT; s++)
			if ((!K.counter[s] && !(K.counter[s] = store_open(K.urls[s], K.cfg, &err))) ||
			    store_size(K.counter[s], r, &n[s], &err) < 0)
				break;
		if (s < WS_COUNT) {
			store_close(K.counter[s]);          /* afresh next time */
			K.counter[s] = NULL;
			continue;
		}
		K.counts[i].legacy = n[WS_LEGACY];
		K.counts[i].mongo = n[WS_MONGO];
		K.counts[i].at_us = now_mono_us();
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

bool copies_count_now(const struct resource *r)
{
	struct store_error err;
	struct store *st[WS_COUNT] = {NULL};
	int64_t n[WS_COUNT];
	int s;

	if (!K.cfg || !K.urls[WS_MONGO] || (size_t)r->index >= K.cfg->nresources)
		return false;
	for (s = 0; s < WS_COUNT; s++)
		if (!(st[s] = store_open(K.urls[s], K.cfg, &err)) || store_size(st[s], r, &n[s], &err) < 0)
			break;
	for (int i = 0; i < WS_COUNT; i++)
		store_close(st[i]);
	if (s < WS_COUNT)
		return false;
	K.counts[r->index].legacy = n[WS_LEGACY];
	K.counts[r->index].mongo = n[WS_MONGO];
	K.counts[r->index].at_us = now_mono_us();
	return true;
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

