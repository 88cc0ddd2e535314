/*
 * pool.h — a bounded pool of worker threads for store calls that must not
 * run on an event loop (network stores), and the mailbox that carries each
 * finished job back to the loop that submitted it.
 *
 * Each worker owns a connection to each configured store (legacy, MongoDB),
 * opened on first use and kept; a worker whose store cannot be opened runs
 * the job with a NULL store there, so the job can answer "unavailable"
 * instead of waiting.
 */
#ifndef CUTOVER_POOL_H
#define CUTOVER_POOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "store.h"

struct event;
struct event_base;
struct mailbox;

/* A worker's store handles: [WS_LEGACY], [WS_MONGO], and the same stores
 * with the short time limit of secondary work at [QUICK(WS_…)]. */
#define POOL_SLOTS (2 * WS_COUNT)
#define QUICK(ws) (WS_COUNT + (ws))

struct pool_job {
	struct pool_job *next;
	/* On a worker: the store work (a store may be NULL: unavailable, or
	 * not configured). */
	void (*run)(struct pool_job *job, struct store *const stores[POOL_SLOTS]);
	/* After run: back on the submitting loop, or on the worker when
	 * reply_to is NULL. */
	void (*done)(struct pool_job *job);
	struct mailbox *reply_to;
	/* A job submitted with pool_submit_within: on reply_to's loop when its
	 * time runs out before its outcome is claimed (pool_job_claim); a job
	 * still queued then is never run.  done follows in every case, once
	 * the worker lets go of it. */
	void (*expired)(struct pool_job *job);
	_Atomic int state;          /* pool.c's JOB_* */
	bool ran;                   /* run was called: read it in done */
	struct event *timer;
};

struct pool;

/* A pool of up to n workers serving the stores at urls (NULL or "": none);
 * at most max_queue jobs wait at once.  nice > 0 lowers the workers' CPU
 * priority (the shadow pool's).  wanted NULL: the n workers start now and
 * stay.  Otherwise they start as jobs arrive (one while none is idle) and
 * leave, closing their store handles, when idle while wanted() is false:
 * work only some modes need costs no thread while no route is in them.
 * wanted is called under the pool's lock: it must take no lock itself. */
struct pool *pool_start(const char *name, int n, size_t max_queue, const char *const urls[POOL_SLOTS],
                        const struct config *cfg, int nice, bool (*wanted)(void));
/* Queue a job; -1 when the queue is full (the caller answers 503). */
int pool_submit(struct pool *p, struct pool_job *job) __attribute__((warn_unused_result));
/* The same with a time limit of timeout_us from now, kept by the loop of
 * job->reply_to (called on that loop; job->expired set). */
int pool_submit_within(struct pool *p, struct pool_job *job, int64_t timeout_us)
	__attribute__((warn_unused_result));
/* On the worker, in run: the job's outcome is its own to give (true), or
 * its time ran out and expired has given it (false: drop what it found).
 * A job without a time limit always claims it. */
bool pool_job_claim(struct pool_job *job);
/* Has the job's time run out (its outcome given by expired)? */
bool pool_job_expired(const struct pool_job *job);
/* Run every queued job, then stop and free the workers.  pool_stop(NULL)
 * is a no-op. */
void pool_stop(struct pool *p);
/* From now on pool_stop lets go of the jobs still queued (their done()
 * runs, not their run()) and waits only for those under way: for work
 * that is best effort or kept elsewhere, which a stop must not wait on. */
void pool_drop_on_stop(struct pool *p);
/* Is the queue full now?  A hint, read without the lock: work that would
 * be refused is not worth building. */
bool pool_full(struct pool *p);

/* What the pools running now do (for /metrics): fills up to max, returns
 * how many pools there are. */
struct pool_stats {
	const char *name;           /* as given to pool_start */
	int workers, busy, limit;
	size_t queued, max_queue;
	uint64_t rejected;          /* jobs refused: the queue was full */
};
size_t pool_stats_all(struct pool_stats *out, size_t max);

/* A loop's mailbox: finished jobs are posted by workers and their done
 * callbacks run on the loop. */
struct mailbox *mailbox_new(struct event_base *base);
/* Run done for every job waiting; returns how many ran. */
size_t mailbox_deliver(struct mailbox *m);
/* Deliver what waits, and free (call it after the workers that may post
 * to it have stopped). */
void mailbox_free(struct mailbox *m);

#endif
