/*
 * metrics.h — the gateway's counters and latency histograms (design.md §14):
 * what /metrics exposes and the admin API reports.
 *
 * Every thread that counts (event loops, store and shadow workers) writes
 * a shard of its own, with plain stores and no lock; a reader sums the
 * shards.  A thread that ends hands its shard to the next one that starts,
 * so totals only grow and the number of shards stays that of the threads
 * alive at once.
 */
#ifndef CUTOVER_METRICS_H
#define CUTOVER_METRICS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "store.h"

/* noise: every differing path is one that differs between two reads of
 * the authoritative store too (control.h's noise baseline). */
enum outcome { OUT_MATCHED, OUT_MISMATCHED, OUT_RACED, OUT_ERROR, OUT_TIMEOUT, OUT_DROPPED, OUT_NOISE,
               OUT_ORDERING, OUT_COUNT };

#define LAT_BUCKETS 24          /* powers of two of microseconds, up to ~8 s */

/* The store a request was answered from; STORE_NONE: the gateway itself
 * (admin, refusals before a store was asked). */
#define STORE_NONE WS_COUNT
/* Response statuses counted one by one; others are counted by class. */
#define METRIC_STATUSES 24

enum lat_role { ROLE_AUTHORITATIVE, ROLE_SECONDARY, ROLE_COUNT };

/* The totals of one route, summed over the shards. */
struct metrics_route {
	uint64_t requests[MODE_COUNT][WS_COUNT + 1][METRIC_STATUSES];
	uint64_t latency[WS_COUNT][ROLE_COUNT][LAT_BUCKETS];
	uint64_t latency_sum_us[WS_COUNT][ROLE_COUNT];
	uint64_t outcomes[OUT_COUNT];
};

/* The routes are cfg's resources, and two more: requests no resource owns
 * (METRIC_ROUTE_NONE) and the admin API's (METRIC_ROUTE_ADMIN). */
#define METRIC_ROUTE_NONE(cfg) ((int)(cfg)->nresources)
#define METRIC_ROUTE_ADMIN(cfg) ((int)(cfg)->nresources + 1)

int metrics_init(const struct config *cfg);
void metrics_fini(void);

/* route: a resource's index, or one of the two above. */
void metrics_request(int route, enum mode m, int store, int status);
void metrics_latency(const struct resource *r, enum which_store s, enum lat_role role, int64_t us);
void metrics_outcome(const struct resource *r, enum outcome o);
void metrics_passthrough(int status);

/* Sums (out is overwritten). */
void metrics_route(int route, struct metrics_route *out);
void metrics_passthrough_totals(uint64_t out[METRIC_STATUSES]);
/* Shards made so far: at most the threads that counted at once. */
size_t metrics_shards(void);
/* The status counted in slot i (i < METRIC_STATUSES); a class ("5xx") for
 * the slots of the statuses not counted one by one. */
const char *metrics_status_label(int i);
/* The upper bound of latency bucket b, in microseconds. */
static inline int64_t metrics_bucket_us(int b) { return (int64_t)1 << b; }

#endif
