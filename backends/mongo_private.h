/*
 * mongo_private.h — what the parts of the MongoDB adapter share: the
 * handle and the client pool behind it, errors, borrowing a client, and
 * the calls each part makes of the others.  Private to mongodb.c,
 * mongo_migrate.c and mongo_control.c.
 */
#ifndef CUTOVER_MONGO_PRIVATE_H
#define CUTOVER_MONGO_PRIVATE_H

#include <stdbool.h>
#include <stdint.h>

#include <mongoc/mongoc.h>

#include "store.h"

struct shared {
	struct shared *next;
	char *url;
	char *db;
	mongoc_client_pool_t *pool;
	int refs;
	/* What the server is, learned on the first call that reaches it. */
	bool probed;
	bool one_accumulator;       /* $group evaluates only its first accumulator */
	char problem[320];          /* a config this server cannot serve */
};

struct mg_store {
	struct store base;          /* must be first */
	const struct config *cfg;
	struct shared *sh;
	bool nulls_high;            /* lists sort null as the legacy store does */
	/* A scan in progress: the next call after its last id continues it. */
	struct {
		mongoc_client_t *client;
		mongoc_collection_t *col;
		mongoc_cursor_t *cur;
		const struct resource *res;
		unsigned char last[16];
	} scan;
};

/* mongodb.c's.  A broken connection (the call may be retried)? */
bool mg_network_error(const bson_error_t *e);
/* A failed call as err (unavailable, conflict, timeout or invalid); -1. */
int mg_fail(const bson_error_t *e, struct store_error *err, const char *what);
/* A client for one call, or NULL with err set; given back after it. */
mongoc_client_t *mg_borrow(struct mg_store *s, struct store_error *err);
void mg_give_back(struct mg_store *s, mongoc_client_t *c);
/* r's collection, to be destroyed by the caller. */
mongoc_collection_t *mg_coll(struct mg_store *s, mongoc_client_t *c, const struct resource *r);
/* One update or delete by filter, retried once on a broken connection (both
 * are idempotent); *matched gets how many documents it found. */
int mg_write_one(struct mg_store *s, mongoc_client_t *c, const char *collection,
                 const bson_t *filter, const bson_t *update, bool many, int64_t *matched,
                 struct store_error *err);

/* mongo_migrate.c's: the migration toolkit (store.h), and the end of a
 * scan in progress, if any (its cursor freed, its client given back). */
void mg_scan_end(struct mg_store *s);
int mg_scan(struct store *base, const struct resource *r, const unsigned char *after,
            size_t limit, struct arena *a, struct record **rows, int64_t **owners,
            size_t *n, struct store_error *err);
int mg_size(struct store *base, const struct resource *r, int64_t *n, struct store_error *err);
int mg_put_many(struct store *base, const struct resource *r, const struct record *rows,
                const int64_t *owners, size_t n, int version_field, enum put_result *out,
                char (*why)[128], struct store_error *err);
int mg_remove_ids(struct store *base, const struct resource *r, const unsigned char (*ids)[16],
                  size_t n, struct store_error *err);

/* mongo_control.c's: the control store (store.h, routes). */
int mg_routes(struct store *base, const struct route_row *set, struct arena *a, struct route_row **rows,
              size_t *n, struct store_error *err);

#endif
