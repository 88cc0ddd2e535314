/*
 * control_private.h — the runtime state per route that the engine's
 * control modules share (control.c: modes and flips, raced reads, the
 * JSON views; mismatch.c: mismatches and noise; fallback.c: the automatic
 * fallback; readiness.c: readiness and the flip gate).  Not an interface:
 * only those files include it.
 */
#ifndef CUTOVER_CONTROL_PRIVATE_H
#define CUTOVER_CONTROL_PRIVATE_H

#include <pthread.h>

#include "control.h"
#include "metrics.h"


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
	_Atomic int64_t last_mismatch_us;       /* monotonic; 0: none */
	struct second window[FALLBACK_SLOTS];   /* automatic fallback */
	_Atomic uint64_t fallbacks;
	char fallback_why[256];                 /* the last, under ctl.mu; "" none */
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

struct control_state {
	const struct config *cfg;
	void (*on_flip_wait)(void);
	_Atomic int global;
	_Atomic bool engaged;           /* some route's mode needs MongoDB */
	pthread_mutex_t modes_mu;       /* orders the updates of engaged; */
	pthread_cond_t flipped;         /* … and wakes the writes a flip held */
	struct route_state *routes;
	size_t n;
	pthread_mutex_t mu;
	struct mismatch *ring;          /* newest at ring[(head - 1) % cap] */
	size_t cap, head, count;
	int wake_fd;                    /* an eventfd: work for control_tick */
	const struct control_store_hooks *store;        /* where the modes live, once it started */
};

extern struct control_state ctl;

/* The figures readiness is judged on, taken once. */
struct readiness {
	uint64_t compared, mismatched;
	bool recent;                    /* an unexplained mismatch within the window */
	double since_s;                 /* its age */
	int64_t pending;                /* writes not yet in the secondary store */
	double p99;                     /* the secondary's, ms */
};

/* Shared between the files above. */
struct route_state *ctl_route(const struct resource *r);
void ctl_persist(const struct resource *r);
void mismatch_free_one(struct mismatch *m);
void mismatch_noise_json(struct buf *b, const struct route_state *rt);
void mismatch_paths_json(struct buf *b, const struct path_count *list, size_t n);
void fallback_afresh(struct route_state *rt);
void readiness_assess(const struct route_state *rt, const struct metrics_route *mr, struct readiness *a);
void readiness_checks_json(struct buf *b, const struct readiness *a);
const char *readiness_verdict(const struct readiness *a, char *detail, size_t n);
uint64_t readiness_compared(const struct metrics_route *mr);
double readiness_quantile_ms(const uint64_t hist[LAT_BUCKETS], double q);
uint64_t readiness_store_calls(const struct metrics_route *mr, enum which_store s, uint64_t hist[LAT_BUCKETS]);

#endif
