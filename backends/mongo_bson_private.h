/*
 * mongo_bson_private.h — what the two halves of the BSON mapping share:
 * records (mongo_bson.c) and queries (mongo_query.c).  Private to those
 * two; everyone else uses mongo_bson.h.
 */
#ifndef CUTOVER_MONGO_BSON_PRIVATE_H
#define CUTOVER_MONGO_BSON_PRIVATE_H

#include <stdint.h>

#include <bson/bson.h>

#include "config.h"

/* An integer as int32 when it fits, else int64. */
void mg_append_int(bson_t *b, const char *key, int64_t i);
/* A decimal element (Decimal128, string, integer or double) in f's minor
 * units; -1 when it cannot be read as one. */
int mg_read_decimal(const bson_iter_t *it, const struct field *f, int64_t *units);

#endif
