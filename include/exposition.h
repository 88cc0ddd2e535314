/*
 * exposition.h — the gateway's metrics in the Prometheus text format
 * (design.md §14), for /metrics.
 */
#ifndef CUTOVER_EXPOSITION_H
#define CUTOVER_EXPOSITION_H

#include "config.h"
#include "util.h"

#define EXPOSITION_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

/* Every metric family, summed now. */
void exposition_write(struct buf *b, const struct config *cfg);

#endif
