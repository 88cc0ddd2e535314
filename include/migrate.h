/*
 * migrate.h — the migration toolkit (SPEC §13).
 */
#ifndef CUTOVER_MIGRATE_H
#define CUTOVER_MIGRATE_H

#include "config.h"

/* Create the MongoDB indexes matching the legacy ones, for every resource;
 * idempotent.  Reports on stdout, problems on stderr; 0 on success. */
int migrate_indexes(const struct config *cfg);

#endif
