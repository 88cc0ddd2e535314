/*
 * control.h — the gateway's runtime state per route (design.md §3, §8, §12):
 * the mode and comparison sample (flipped at runtime, persisted in the
 * control store, polled by every instance), the shadow counters and
 * latency histograms, the capped store of mismatches, the readiness
 * verdict, and the write marks that tell a raced read from a mismatch.
 *
 * One instance per process (the gateway runs one configuration); every
 * function is safe from any thread.  A route is a resource.  Four modules
 * implement it, each owning its state per route: control.c (modes, flips,
 * write marks), mismatch.c, fallback.c and readiness.c (which judges what
 * the others hold); control_init starts them all.
 */
#ifndef CUTOVER_CONTROL_H
#define CUTOVER_CONTROL_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "config.h"
#include "metrics.h"
#include "store.h"
#include "util.h"

#define RACE_STRIPES 256

/* What a read saw of the writes when it arrived. */
struct read_mark {
	uint64_t resource_seq;
	uint64_t ended_seq;         /* writes ended … */
	bool writing;               /* … and whether one was running */
	uint64_t stripe_seq;
	uint64_t cascade_seq;       /* deletes of the rows this resource's rows reference */
	int stripe;                 /* -1: the whole resource (lists, views) */
	bool pending;               /* a write or its copy was under way (the stripe's, or any) */
};

int control_init(const struct config *cfg);
void control_fini(void);

/* The mode a request arriving now is served in. */
enum mode control_mode(const struct resource *r);
int control_sample(const struct resource *r);
/* Flip a route (r NULL: the global default).  mode: a mode, -1 for the
 * global one, -2 to keep it; sample -1 keeps it.  A flip that hands the
 * route to the other store while writes are pending for it waits until
 * they are in both stores (returns 1: control_tick completes it).  A
 * global flip is set at once, but each route following it with writes
 * pending keeps the old mode until they are in (returns 1 when one does).
 * Takes effect for requests arriving from now on; persisted by
 * control_tick.  -1 with err when the mode's store is not configured. */
int control_set(const struct resource *r, int mode, int sample, struct error *err);
/* fn is called when a flip starts waiting for the journal's entries: the
 * drain should take them up now (set once, before the loops start). */
void control_on_flip_wait(void (*fn)(void));
/* Apply a mode read from the control store (another instance's flip). */
void control_apply(const char *route, int mode, int sample);
/* The same asked of this gateway (the admin API): here at once, and the
 * others through the control store. */
int control_reset_evidence(const struct resource *r, const char *why, struct error *err);

/* For the control store (control_store.c), which registers itself when
 * it starts: persist queues a route's mode and sample (NULL: the global
 * mode) to be written; poll, at each tick, writes what is queued and
 * applies what others wrote (false: no store); evidence queues a reset. */
struct control_store_hooks {
	void (*persist)(const struct resource *r);
	bool (*poll)(void);
	void (*evidence)(const struct resource *r, const char *why);
};
void control_on_store(const struct control_store_hooks *h);
/* r's own mode (-1: it follows the global one) and sample; r NULL: the
 * global mode, and 100. */
void control_setting(const struct resource *r, int *mode, int *sample);
/* r's mismatches so far stop holding its readiness back, here (logged
 * with why). */
void control_reset_here(const struct resource *r, const char *why);
/* The background work of the control state, on the thread that watches
 * the process (never a loop): completes the flips whose writes are in,
 * writes the flips made here, applies those of other instances.  Returns
 * when to call it again, in ms (-1: only when control_wake_fd is
 * readable, which control_wake makes it, from any thread). */
int control_tick(void);
int control_wake_fd(void);
void control_wake(void);
/* Does some route's mode (or a flip under way) need MongoDB?  Nothing of
 * the secondary machinery runs while it does not. */
bool control_engaged(void);

/* Writes and reads, for raced detection. */
/* Is a flip of r waiting for the writes that came before the write of
 * epoch (which then waits for it)?  A write that came before the flip is
 * one of those it waits for, and never waits itself. */
bool control_fenced(const struct resource *r, uint64_t epoch);
/* Wait (a blocking worker's thread, never a loop) until r's flip is
 * complete, at most timeout_us; false when it still waits. */
bool control_await_flip(const struct resource *r, int64_t timeout_us);
/* A write arrives; returns its epoch and *stripe (its record's), for
 * control_write_end.  A delete also marks every resource its cascades
 * reach. */
uint64_t control_write_begin(const struct resource *r, const unsigned char *id, bool deletes, int *stripe);
/* That write is done; seq: its journal entry if still pending, else 0. */
void control_write_end(const struct resource *r, uint64_t epoch, int stripe, int64_t seq);
void control_sync_pending(const struct resource *r, const unsigned char *id, int delta);
void control_read_mark(const struct resource *r, const unsigned char *id, struct read_mark *m);
bool control_raced(const struct resource *r, const struct read_mark *m);
/* Raced, or a write ran or ended since m: the noise baseline's test. */
bool control_changed(const struct resource *r, const struct read_mark *m);
/* Is a flip of r under way (waiting for earlier writes)? */
bool control_flipping(const struct resource *r);
/* Does r follow the global mode, with no flip of its own under way? */
bool control_follows_global(const struct resource *r);
/* r's writes not yet in the secondary store. */
int64_t control_pending(const struct resource *r);

/* A mismatch: counted, kept (capped, oldest dropped) and counted per
 * field path (paths one per line; the first 128 of a route; dropped: the
 * differences at paths the comparison already left out). */
void control_mismatch(const struct resource *r, const char *method, const char *uri, int64_t principal,
                      int status_a, const char *body_a, size_t len_a,
                      int status_b, const char *body_b, size_t len_b,
                      const char *patch, size_t patch_len, const char *paths, size_t dropped);

/* The mismatched paths of r, or its noisy ones, and how often each
 * differed, under a lock (each must not call back here); dropped (may be
 * NULL): mismatches at paths past the first 128 kept. */
enum path_kind { PATHS_MISMATCHED, PATHS_NOISY };
void control_paths(const struct resource *r, enum path_kind kind,
                   void (*each)(void *arg, const char *path, uint64_t n), void *arg, uint64_t *dropped);
/* The noise baseline: paths (one per line; NULL or "" when the two were
 * equal) at which two reads of r's authoritative store differed, the
 * second made for the read marked m of uri.  A re-read that any write
 * overlapped teaches nothing; a path is noise once re-reads of three
 * distinct records differed there.  Is every one of paths noise?  A
 * mismatch that is all noise is not one. */
void control_noise(const struct resource *r, const struct read_mark *m, const char *uri, const char *paths);
bool control_all_noise(const struct resource *r, const char *paths);
/* mismatch.c's state: started by control_init; the monotonic time of r's
 * last mismatch (0: none, or reset). */
void mismatch_init(const struct config *cfg);
void mismatch_fini(void);
int64_t mismatch_last_us(const struct resource *r);
/* May r be handed to the other store (design.md §8's readiness)? */
bool control_ready(const struct resource *r);
/* The readiness gate: may r (NULL: every route following the global mode)
 * flip to mode now?  Flips that move reads to MongoDB, or stop the copies
 * to the legacy store, need the route ready; others always may.  -1 with
 * err saying which route is not ready for what, and the figures. */
int control_gate(const struct resource *r, int mode, struct error *err);
void readiness_init(const struct config *cfg);
/* The figures behind a verdict, from a route's metrics: its comparisons,
 * the calls to store s (all roles, hist their histogram), and the upper
 * bound of the bucket holding the q-th fraction of hist, in ms. */
uint64_t readiness_compared(const struct metrics_route *mr);
uint64_t readiness_store_calls(const struct metrics_route *mr, enum which_store s, uint64_t hist[LAT_BUCKETS]);
double readiness_quantile_ms(const uint64_t hist[LAT_BUCKETS], double q);

/* Automatic fallback (design.md §8).  What MongoDB did for a route served
 * from it: an answer (status, the store error or 0, its time), and a
 * comparison (mismatched or not). */
void control_observe(const struct resource *r, enum mode m, int status, enum store_err e, int64_t us);
void control_observe_comparison(const struct resource *r, enum mode m, bool mismatched);
/* On the thread that watches the process, once a second: a route in live
 * (and rampdown, if configured) whose MongoDB error, timeout, p99 or
 * mismatch rate over the window crossed its bound, or whose MongoDB does
 * not answer (down: why, from the health checks; NULL when it answers),
 * flips itself to shadow, in the control store, and says why.  It stays
 * there until a person flips it. */
void control_fallback(const char *down);
uint64_t control_fallbacks(const struct resource *r);
void fallback_init(const struct config *cfg);
void fallback_fini(void);
/* A flip starts r's window afresh. */
void fallback_afresh(const struct resource *r);

/* Each module's part of a route's JSON view (admin.c composes them), each
 * a run of ,"key":value members: control.c's from "mode" to "sample",
 * mismatch.c's "mismatched_paths" … "noise_baseline", readiness.c's
 * "ready" … "readiness_checks", fallback.c's "fallbacks" and "fallback". */
void control_route_json(struct buf *b, const struct resource *r);
void mismatch_route_json(struct buf *b, const struct resource *r);
void readiness_route_json(struct buf *b, const struct resource *r, const struct metrics_route *mr);
void fallback_route_json(struct buf *b, const struct resource *r);
/* The latest mismatches, newest first (only: one route's; NULL all). */
void control_mismatches_json(struct buf *b, const struct resource *only, int limit);

#endif
