/*
 * mongo_control.c — the control store on MongoDB, the cutover_routes
 * collection (see mongo_private.h).
 */
#include <string.h>

#include "mongo_private.h"

/* The control store (design.md §12): one document per route in cutover_routes,
 * {_id: route, mode, sample, version}, version raised by every write. */
int mg_routes(struct store *base, const struct route_row *set, struct arena *a, struct route_row **rows,
              size_t *n, struct store_error *err)
{
	struct mg_store *s = (struct mg_store *)base;
	mongoc_client_t *c;
	mongoc_collection_t *col;
	mongoc_cursor_t *cur;
	const bson_t *doc;
	bson_error_t e;
	size_t cap = 8;
	int rc = 0;

	*n = 0;
	*rows = ARENA_ARRAY(a, struct route_row, cap);
	if (!(c = mongoc_client_pool_pop(s->sh->pool))) {
		store_error_set(err, STORE_UNAVAILABLE, "mongodb: no client");
		return -1;
	}
	col = mongoc_client_get_collection(c, s->sh->db, "cutover_routes");
	if (set) {
		bson_t filter = BSON_INITIALIZER, update = BSON_INITIALIZER, fields, inc, opts = BSON_INITIALIZER;

		BSON_APPEND_UTF8(&filter, "_id", set->route);
		BSON_APPEND_DOCUMENT_BEGIN(&update, "$set", &fields);
		BSON_APPEND_UTF8(&fields, "mode", set->mode);
		BSON_APPEND_INT32(&fields, "sample", set->sample);
		bson_append_document_end(&update, &fields);
		BSON_APPEND_DOCUMENT_BEGIN(&update, "$inc", &inc);
		BSON_APPEND_INT64(&inc, "version", 1);
		bson_append_document_end(&update, &inc);
		BSON_APPEND_BOOL(&opts, "upsert", true);
		if (!mongoc_collection_update_one(col, &filter, &update, &opts, NULL, &e))
			rc = mg_fail(&e, err, "control store");
		bson_destroy(&filter);
		bson_destroy(&update);
		bson_destroy(&opts);
	}
	if (rc == 0) {
		bson_t filter = BSON_INITIALIZER;

		cur = mongoc_collection_find_with_opts(col, &filter, NULL, NULL);
		while (mongoc_cursor_next(cur, &doc)) {
			bson_iter_t it;
			struct route_row *r;

			if (*n == cap) {
				struct route_row *more = ARENA_ARRAY(a, struct route_row, cap * 2);

				memcpy(more, *rows, cap * sizeof(*more));
				*rows = more;
				cap *= 2;
			}
			r = &(*rows)[*n];
			memset(r, 0, sizeof(*r));
			r->mode = "";
			if (!bson_iter_init_find(&it, doc, "_id") || !BSON_ITER_HOLDS_UTF8(&it))
				continue;
			r->route = arena_strdup(a, bson_iter_utf8(&it, NULL));
			if (bson_iter_init_find(&it, doc, "mode") && BSON_ITER_HOLDS_UTF8(&it))
				r->mode = arena_strdup(a, bson_iter_utf8(&it, NULL));
			if (bson_iter_init_find(&it, doc, "sample") && BSON_ITER_HOLDS_INT(&it))
				r->sample = (int)bson_iter_as_int64(&it);
			if (bson_iter_init_find(&it, doc, "version") && BSON_ITER_HOLDS_INT(&it))
				r->version = bson_iter_as_int64(&it);
			(*n)++;
		}
		if (mongoc_cursor_error(cur, &e))
			rc = mg_fail(&e, err, "control store");
		mongoc_cursor_destroy(cur);
		bson_destroy(&filter);
	}
	mongoc_collection_destroy(col);
	mongoc_client_pool_push(s->sh->pool, c);
	return rc;
}
