/*
 * mongo_bson.h — canonical records and queries as BSON (design.md §5, §7).
 *
 * The pure half of the MongoDB adapter: no connection, so every mapping
 * here is unit-tested on its own.  Documents use the legacy column names as
 * keys, `_id` for the primary key, and embed each child resource as an
 * array under its name.  Every output bson_t is initialised here and must
 * be destroyed by the caller.
 */
#ifndef CUTOVER_MONGO_BSON_H
#define CUTOVER_MONGO_BSON_H

#include <bson/bson.h>

#include "config.h"
#include "store.h"

/* The document key of field i of r. */
const char *mg_key(const struct resource *r, size_t i);

/* One canonical value as a BSON element, and back.  A json value becomes
 * BSON documents, arrays, int32/int64, doubles and strings, and reads back
 * as the same text; one that json_store_check refuses is written as null
 * and the append is -1 (in a filter, where that cannot happen for a
 * validated value, the null is left to match what it matches).  Reading is
 * lenient where no information is lost (an integral double for an
 * integer, a numeric string for a decimal); -1 when the element cannot be
 * the type. */
int mg_append_value(bson_t *b, const char *key, const struct field *f, const struct value *v);
int mg_read_value(const bson_iter_t *it, const struct field *f, struct arena *a, struct value *out);

/* -1 with the reason in err when a json value cannot be held unchanged (a
 * row copied from the legacy store without validation): the document is
 * built all the same, to be destroyed, and must not be written. */
MUST_CHECK int mg_record_to_doc(const struct resource *r, int64_t owner, const struct record *rec,
                                bson_t *doc, struct store_error *err);
/* {$set: every field but the id, and the children that were given}. */
MUST_CHECK int mg_record_to_update(const struct resource *r, const struct record *rec, bson_t *update,
                                   struct store_error *err);
/* A document as a record; children are read in stored order. */
int mg_doc_to_record(const struct resource *r, const bson_t *doc, struct arena *a,
                     struct record *out, struct store_error *err);

/* A search term as a regular expression matching it literally. */
void mg_regex_escape(const char *term, size_t n, struct buf *out);
void mg_query_filter(const struct query *q, bson_t *filter);
/* sort (with _id breaking ties), skip and limit. */
void mg_query_opts(const struct query *q, bson_t *opts);
/* The same list as an aggregation pipeline that sorts null above every
 * value, as PostgreSQL does, when nulls_high and the ordering has a
 * nullable field; false (and nothing to destroy) when the find sorts alike. */
bool mg_query_pipeline(const struct query *q, bool nulls_high, bson_t *pipeline);
void mg_id_filter(const struct resource *r, int64_t owner, const unsigned char id[16], bson_t *filter);
/* Another document of owner with rec's values for the fields of u. */
void mg_unique_filter(const struct resource *r, const struct unique *u, int64_t owner,
                      const struct record *rec, bson_t *filter);
/* {_id: id}, and with a version field, only where the stored version is
 * not newer: {_id, v: {$lte: row's}}.  (A stored document without a
 * version is then taken as newer and left alone, which verify reports.) */
void mg_version_filter(const struct resource *r, const struct record *rec, int version_field, bson_t *filter);
/* Documents whose reference field f holds id. */
void mg_ref_filter(const struct field *f, const unsigned char id[16], bson_t *filter);

enum mg_group { MG_GROUP_BOTH, MG_GROUP_COUNT, MG_GROUP_SUM };
/* [$match, $group by the field with n (count) and/or s (sum), $sort]. */
void mg_group_pipeline(const struct query *q, int group_field, int sum_field, enum mg_group what,
                       bson_t *pipeline);
/* Rows from $group results: counts (holding the sums too when sums is
 * NULL), or counts and sums from separate runs matched by group. */
int mg_group_rows(const struct resource *r, int group_field, int sum_field, const bson_t *counts,
                  size_t ncounts, const bson_t *sums, size_t nsums, struct arena *a,
                  struct agg_row **rows, size_t *n, struct store_error *err);
void mg_docs_free(bson_t *docs, size_t n);

#define MG_INDEX_NAME_MAX 128
void mg_unique_index_name(const struct resource *r, const struct unique *u,
                          char out[MG_INDEX_NAME_MAX]);
/* createIndexes for r: owner; owner + each unique constraint (unique);
 * owner + each filter and ordering field; each field other resources
 * cascade-delete by.  Index keys are deduplicated; indexes named in
 * existing are left out.  Returns how many the command creates. */
size_t mg_index_command(const struct config *cfg, const struct resource *r,
                        const char *const *existing, size_t nexisting, bson_t *cmd);

/* The first decimal field kept as Decimal128 ("invoices.subtotal"), or
 * false when none is. */
bool mg_config_needs_decimal128(const struct config *cfg, char *name, size_t size);

#endif
