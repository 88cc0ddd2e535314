/*
 * copies.h — how many records of each resource each store holds, counted
 * while its route is in dual-write (the health looks' thread ticks it):
 * a flip forward while MongoDB holds fewer is gated (control.c), naming
 * cutover migrate.  In legacy nothing here touches MongoDB.
 */
#ifndef CUTOVER_COPIES_H
#define CUTOVER_COPIES_H

#include <stdbool.h>
#include <stdint.h>

#include "config.h"
#include "store.h"

#define COPIES_EVERY_MS 5000

/* urls: the stores with the secondary time limit (kept by the caller). */
void copies_start(const struct config *cfg, const char *const urls[WS_COUNT]);
void copies_stop(void);
/* Count the resources whose dual[index] is set. */
void copies_tick(const bool *dual);
/* Asked to count at the next tick (copies_recount)? */
bool copies_due(void);
/* Count again at the next tick (a migrate just filled MongoDB). */
void copies_recount(void);
/* r's records in each store as last counted, age_s ago; false when not
 * counted. */
bool copies_count(const struct resource *r, int64_t *legacy, int64_t *mongo, double *age_s);
/* Count r's records in both stores now, on the caller's thread (each call
 * within the secondary time limit), and keep them: the last word before a
 * flip is refused for them.  false when a store does not answer. */
bool copies_count_now(const struct resource *r, int64_t *legacy, int64_t *mongo);

#endif
