/*
 * control_store.h — where the runtime modes live: the cutover_routes
 * table of the legacy store, or MongoDB's collection once handed over.
 * Every instance reads it every second, so a flip made on one reaches all
 * and survives restarts.
 */
#ifndef CUTOVER_CONTROL_STORE_H
#define CUTOVER_CONTROL_STORE_H

#include "config.h"

/* Read it once now (modes persisted earlier win over the file), then at
 * every control_tick, which also writes the flips made here.  0, or -1
 * (said why) when the store cannot be opened. */
int control_store_start(const struct config *cfg);
void control_store_stop(void);
/* Queue r's current mode and sample (r NULL: the global mode) to be
 * written at the next tick; nothing before the store started. */
void control_persist(const struct resource *r);
/* `cutover mode --control-store mongodb`: copy every route's mode from the
 * legacy store's cutover_routes to MongoDB's, then mark the legacy table
 * handed over; running gateways move to MongoDB at their next look, and
 * start there.  0, or 1 with a message. */
int control_store_hand_over(const struct config *cfg);
/* From a tool (migrate, verify, repair) that made MongoDB hold what the
 * legacy store holds for r: every gateway stops counting r's earlier
 * mismatches against readiness, within a second (through the control
 * store; they stay in the record).  -1 (said why) when it cannot write. */
int control_store_reset(const struct config *cfg, const struct resource *r, const char *why);

#endif
