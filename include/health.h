/*
 * health.h — the probes for orchestrators (design.md §14).
 *
 * Liveness is the process answering.  Readiness is the stores that the
 * current modes answer from (each route's authoritative store) answering:
 * the thread that watches the process looks once a second, with the short
 * time limit of secondary calls, and the probes read what it saw last, so
 * a probe never waits for a store.
 */
#ifndef CUTOVER_HEALTH_H
#define CUTOVER_HEALTH_H

#include <stdbool.h>

#include "config.h"
#include "store.h"
#include "util.h"

void health_start(const struct config *cfg);
void health_stop(void);
/* Look at the stores due a look; returns when to call again, in ms. */
int health_tick(void);
/* Ready?  When not, why goes to reason (one sentence per store; with
 * detail, what each store's driver said, addresses included). */
bool health_ready(struct buf *reason, bool detail);
/* What the last look at store s saw: 1 up, 0 down, -1 not looked at (no
 * mode needs it). */
int health_store_up(enum which_store s);

#endif
