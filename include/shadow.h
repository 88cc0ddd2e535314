/*
 * shadow.h — the secondary store's work, off the client's path (design.md §8,
 * §9): copying written records to the secondary (through the journal)
 * and the background journal drain; the comparison reads, on the same
 * workers, are shadow_read.h's.
 *
 * All of it runs on its own bounded pool of workers, whose store handles
 * have their own (short) time limits, so a secondary that is slow, hung or
 * gone costs the client nothing.
 */
#ifndef CUTOVER_SHADOW_H
#define CUTOVER_SHADOW_H

#include "config.h"
#include "journal.h"
#include "pool.h"
#include "request.h"
#include "store.h"

/* Start the shadow workers and the journal drain (needs journal_open and
 * control_init first).  -1 when they cannot start. */
int shadow_start(const struct config *cfg);
/* Drain what is queued, try the journal once more (bounded), stop. */
void shadow_stop(void);

/* On a store worker, right before the authoritative store writes record
 * id (a write the router marked): the secondary copy is journaled (synced
 * to disk) in the modes that copy writes, so a crash between the commit
 * and the copy leaves the copy due rather than forgotten. */
void shadow_before_write(struct request *req, const unsigned char id[16]);
/* … and right after it answered: a failed write's entry leaves the journal;
 * a successful one's copy is made now through the short-limit handles
 * (stores[QUICK(…)]), except in mongodb mode (after the answer); what fails
 * stays in the journal for the drain. */
void shadow_after_write(struct request *req, struct store *const stores[POOL_SLOTS]);
/* On the loop, once the answer is final: in mongodb mode, hand the legacy
 * copy of a write to the shadow workers. */
void shadow_after_answer(struct request *req);
/* The shadow workers (NULL when not started). */
struct pool *shadow_pool(void);

/* Apply the journal entries due (see journal_which), up to one batch;
 * returns how many were tried, *applied how many left it.  Every entry
 * (DUE_EVERY, for cutover repair) is applied once and removed. */
size_t shadow_drain(const struct config *cfg, struct store *const stores[WS_COUNT], enum journal_which which,
                    size_t *applied);

/* Apply every journal entry now, whatever its retry time (a flip waits). */
void shadow_kick(void);

/* Make the secondary hold what the source store holds for one record: the
 * record as it is now, or its absence.  Idempotent. */
int shadow_sync(struct store *const stores[WS_COUNT], const struct resource *r, int64_t owner,
                const unsigned char id[16], enum which_store source, struct store_error *err);

/* The URL of a store for secondary work: timed by the shadow time limit,
 * without retries.  Allocated. */
char *shadow_url(const char *url, int timeout_ms);

/* Are secondary writes to target left to the journal for now (it failed
 * a moment ago)? */
bool shadow_breaker_open(enum which_store target);

#endif
