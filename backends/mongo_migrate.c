/*
 * mongo_migrate.c — the migration toolkit's calls on MongoDB (see
 * mongo_private.h): a scan of a collection in id order, its size, batches
 * written as chunked unordered bulks compared by version, and removal by
 * id.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mongo_bson.h"
#include "mongo_private.h"

void mg_scan_end(struct mg_store *s)
{
	if (s->scan.cur)
		mongoc_cursor_destroy(s->scan.cur);
	if (s->scan.col)
		mongoc_collection_destroy(s->scan.col);
	if (s->scan.client)
		mg_give_back(s, s->scan.client);
	memset(&s->scan, 0, sizeof(s->scan));
}

/* One cursor over the whole collection in id order, read a batch per call:
 * a server that cannot use the _id index for $gt with a sort (FerretDB)
 * then sorts once instead of once per batch. */
int mg_scan(struct store *base, const struct resource *r, const unsigned char *after,
            size_t limit, struct arena *a, struct record **rows, int64_t **owners,
            size_t *n, struct store_error *err)
{
	struct mg_store *s = (struct mg_store *)base;
	const bson_t *doc;
	bson_error_t e;
	int rc = 0;

	if (!s->scan.cur || s->scan.res != r || !after || memcmp(after, s->scan.last, 16) != 0) {
		bson_t filter = BSON_INITIALIZER, opts = BSON_INITIALIZER, gt, sort;

		mg_scan_end(s);
		if (!(s->scan.client = mg_borrow(s, err)))
			return -1;
		if (after) {
			char tmp[UUID_STR_LEN + 1];

			uuid_format(after, tmp);
			bson_append_document_begin(&filter, "_id", 3, &gt);
			bson_append_utf8(&gt, "$gt", 3, tmp, UUID_STR_LEN);
			bson_append_document_end(&filter, &gt);
		}
		bson_append_document_begin(&opts, "sort", 4, &sort);
		bson_append_int32(&sort, "_id", 3, 1);
		bson_append_document_end(&opts, &sort);
		bson_append_int32(&opts, "batchSize", 9, (int32_t)(limit < 100000 ? limit : 100000));
		s->scan.col = mg_coll(s, s->scan.client, r);
		s->scan.cur = mongoc_collection_find_with_opts(s->scan.col, &filter, &opts, NULL);
		s->scan.res = r;
		bson_destroy(&filter);
		bson_destroy(&opts);
	}
	*n = 0;
	*rows = ARENA_ARRAY(a, struct record, limit ? limit : 1);
	*owners = ARENA_ARRAY(a, int64_t, limit ? limit : 1);
	while (*n < limit && mongoc_cursor_next(s->scan.cur, &doc)) {
		struct record *rec = &(*rows)[*n];
		struct store_error bad;
		bson_iter_t it;

		if (mg_doc_to_record(r, doc, a, rec, &bad) < 0) {
			/* Keep the id, so the document is reported, not skipped. */
			*rec = *record_new(a, r);
			rec->bad = arena_strdup(a, bad.msg);
			if (!bson_iter_init_find(&it, doc, "_id") ||
			    mg_read_value(&it, &r->fields[r->pk], a, &rec->vals[r->pk]) < 0)
				continue;
		}
		(*owners)[*n] = bson_iter_init_find(&it, doc, r->owner_column) ? bson_iter_as_int64(&it) : 0;
		memcpy(s->scan.last, rec->vals[r->pk].u.uuid, 16);
		(*n)++;
	}
	if (mongoc_cursor_error(s->scan.cur, &e))
		rc = mg_fail(&e, err, "find");
	if (rc < 0 || *n < limit)
		mg_scan_end(s);
	return rc;
}

int mg_size(struct store *base, const struct resource *r, int64_t *n, struct store_error *err)
{
	struct mg_store *s = (struct mg_store *)base;
	mongoc_client_t *c;
	mongoc_collection_t *col;
	bson_t filter = BSON_INITIALIZER;
	bson_error_t e;
	int rc = 0;

	if (!(c = mg_borrow(s, err)))
		return -1;
	col = mg_coll(s, c, r);
	if ((*n = mongoc_collection_count_documents(col, &filter, NULL, NULL, NULL, &e)) < 0)
		rc = mg_fail(&e, err, "count");
	mongoc_collection_destroy(col);
	mg_give_back(s, c);
	return rc;
}

/* The writeErrors of a bulk's reply, errs recursed into: each names its
 * operation by index, which slot[] maps to the row; the row fails with the
 * server's message, and dup[] says whether it was a duplicate key. */
static void bulk_write_errors(bson_iter_t *errs, const size_t *slot, size_t nops, enum put_result *out,
                              bool *dup, char (*why)[128])
{
	bson_iter_t one;

	while (bson_iter_next(errs)) {
		int64_t idx = -1, code = 0;
		const char *msg = "";

		if (!bson_iter_recurse(errs, &one))
			continue;
		while (bson_iter_next(&one)) {
			if (strcmp(bson_iter_key(&one), "index") == 0)
				idx = bson_iter_as_int64(&one);
			else if (strcmp(bson_iter_key(&one), "code") == 0)
				code = bson_iter_as_int64(&one);
			else if (strcmp(bson_iter_key(&one), "errmsg") == 0 && BSON_ITER_HOLDS_UTF8(&one))
				msg = bson_iter_utf8(&one, NULL);
		}
		if (idx < 0 || (size_t)idx >= nops)
			continue;
		out[slot[idx]] = PUT_FAILED;
		dup[slot[idx]] = code == 11000 || code == 11001;
		snprintf(why[slot[idx]], sizeof(why[slot[idx]]), "%.120s", msg);
	}
}

/* One unordered bulk of inserts (replace false) or guarded upserts over
 * the rows whose out[] is PUT_WRITTEN on entry.  Rows that fail keep the
 * reason; a duplicate key is reported as code 11000 in dup[]. */
static int bulk(struct mg_store *s, mongoc_client_t *c, const struct resource *r, const struct record *rows,
                const int64_t *owners, size_t n, int version_field, bool replace, enum put_result *out,
                bool *dup, char (*why)[128], struct store_error *err)
{
	mongoc_collection_t *col = mg_coll(s, c, r);
	mongoc_bulk_operation_t *b;
	bson_t opts = BSON_INITIALIZER, bopts = BSON_INITIALIZER, reply;
	bson_iter_t it, errs;
	bson_error_t e;
	size_t i, *slot = xcalloc(n ? n : 1, sizeof(*slot)), nops = 0;
	bool ok = true;
	int rc = 0;

	BSON_APPEND_BOOL(&bopts, "ordered", false);
	BSON_APPEND_BOOL(&opts, "upsert", true);
	b = mongoc_collection_create_bulk_operation_with_opts(col, &bopts);
	for (i = 0; i < n; i++) {
		struct store_error verr;
		bson_t doc, sel;
		bool added;

		if (out[i] != PUT_WRITTEN)
			continue;
		if (mg_record_to_doc(r, owners[i], &rows[i], &doc, &verr) < 0) {
			bson_destroy(&doc);
			out[i] = PUT_FAILED;
			snprintf(why[i], sizeof(why[i]), "%.120s", verr.msg);
			continue;
		}
		if (replace) {
			mg_version_filter(r, &rows[i], version_field, &sel);
			added = mongoc_bulk_operation_replace_one_with_opts(b, &sel, &doc, &opts, &e);
			bson_destroy(&sel);
		} else {
			added = mongoc_bulk_operation_insert_with_opts(b, &doc, NULL, &e);
		}
		bson_destroy(&doc);
		if (added) {
			slot[nops++] = i;
		} else {
			out[i] = PUT_FAILED;
			snprintf(why[i], sizeof(why[i]), "%.120s", e.message);
		}
	}
	bson_init(&reply);
	if (nops) {
		bson_destroy(&reply);
		ok = mongoc_bulk_operation_execute(b, &reply, &e);
	}
	if (!ok && mg_network_error(&e)) {
		rc = mg_fail(&e, err, "bulk write");
	} else if (bson_iter_init_find(&it, &reply, "writeErrors") && bson_iter_recurse(&it, &errs)) {
		bulk_write_errors(&errs, slot, nops, out, dup, why);
	} else if (!ok) {
		for (i = 0; i < nops; i++) {
			out[slot[i]] = PUT_FAILED;
			snprintf(why[slot[i]], sizeof(why[slot[i]]), "%.120s", e.message);
		}
	}
	bson_destroy(&reply);
	bson_destroy(&opts);
	bson_destroy(&bopts);
	mongoc_bulk_operation_destroy(b);
	mongoc_collection_destroy(col);
	free(slot);
	return rc;
}

/* The version field of the stored document with id: 1 found (v set, or
 * null), 0 not found, -1 error. */
static int stored_version(struct mg_store *s, mongoc_client_t *c, const struct resource *r,
                          const unsigned char id[16], int vf, struct value *v, struct arena *a)
{
	mongoc_collection_t *col = mg_coll(s, c, r);
	bson_t filter = BSON_INITIALIZER, opts = BSON_INITIALIZER, proj;
	mongoc_cursor_t *cur;
	const bson_t *doc;
	char tmp[UUID_STR_LEN + 1];
	bson_iter_t it;
	int rc = 0;

	uuid_format(id, tmp);
	bson_append_utf8(&filter, "_id", 3, tmp, UUID_STR_LEN);
	BSON_APPEND_INT64(&opts, "limit", 1);
	BSON_APPEND_DOCUMENT_BEGIN(&opts, "projection", &proj);
	bson_append_int32(&proj, mg_key(r, (size_t)vf), -1, 1);
	bson_append_document_end(&opts, &proj);
	cur = mongoc_collection_find_with_opts(col, &filter, &opts, NULL);
	v->null = true;
	if (mongoc_cursor_next(cur, &doc)) {
		rc = 1;
		if (bson_iter_init_find(&it, doc, mg_key(r, (size_t)vf)) && mg_read_value(&it, &r->fields[vf], a, v) < 0)
			v->null = true;
	} else if (mongoc_cursor_error(cur, NULL)) {
		rc = -1;
	}
	mongoc_cursor_destroy(cur);
	mongoc_collection_destroy(col);
	bson_destroy(&filter);
	bson_destroy(&opts);
	return rc;
}

/* Write commands of at most this many operations: FerretDB 1.x can stall
 * for good on larger ones that hit duplicates or update in place. */
#define BULK_OPS 100

static int bulk_chunked(struct mg_store *s, mongoc_client_t *c, const struct resource *r,
                        const struct record *rows, const int64_t *owners, size_t n, int version_field,
                        bool replace, enum put_result *out, bool *dup, char (*why)[128],
                        struct store_error *err)
{
	size_t at;
	int rc = 0;

	for (at = 0; at < n && rc == 0; at += BULK_OPS)
		rc = bulk(s, c, r, rows + at, owners + at, n - at < BULK_OPS ? n - at : BULK_OPS, version_field,
		          replace, out + at, dup + at, why + at, err);
	return rc;
}

/* A batch: inserted first, as bulks (the common case: nothing there yet).
 * A row whose id is taken is compared by version with the stored document:
 * not older, the document is left alone (a killed run's own copy, or a
 * record the gateway wrote since); older, it is replaced through an upsert
 * guarded by the version, so a write landing meanwhile still wins. */
int mg_put_many(struct store *base, const struct resource *r, const struct record *rows,
                const int64_t *owners, size_t n, int version_field, enum put_result *out,
                char (*why)[128], struct store_error *err)
{
	struct mg_store *s = (struct mg_store *)base;
	mongoc_client_t *c;
	size_t m = n ? n : 1, i;
	bool *dup = xcalloc(m, sizeof(bool)), *cand = xcalloc(m, sizeof(bool)), *gone = xcalloc(m, sizeof(bool));
	bool any = false;
	enum put_result *again = xcalloc(m, sizeof(*again));
	int rc;

	if (!(c = mg_borrow(s, err))) {
		rc = -1;
		goto out;
	}
	for (i = 0; i < n; i++) {
		again[i] = PUT_FAILED;
		out[i] = rows[i].bad ? PUT_FAILED : PUT_WRITTEN;
		if (rows[i].bad)
			snprintf(why[i], sizeof(why[i]), "%.120s", rows[i].bad);
	}
	rc = bulk_chunked(s, c, r, rows, owners, n, version_field, false, out, dup, why, err);
	/* Taken: by this id (compare versions), or a unique constraint. */
	for (i = 0; rc == 0 && i < n; i++) {
		struct arena a;
		struct value stored;
		int vf = version_field >= 0 ? version_field : r->pk, found;

		if (!dup[i])
			continue;
		dup[i] = false;
		arena_init(&a, 256);
		found = stored_version(s, c, r, rows[i].vals[r->pk].u.uuid, vf, &stored, &a);
		if (found == 1 && version_field >= 0 && !stored.null && !rows[i].vals[vf].null &&
		    stored.u.i >= rows[i].vals[vf].u.i) {
			out[i] = PUT_SKIPPED_NEWER;
		} else if (found >= 0) {
			/* found 0: taken by a unique constraint, or by this id and
			 * deleted since (by the gateway): the upsert tells which. */
			again[i] = PUT_WRITTEN;
			cand[i] = any = true;
			gone[i] = found == 0;
		} else {
			snprintf(why[i], sizeof(why[i]), "cannot read the stored document to compare versions");
		}
		arena_reset(&a);
	}
	if (rc == 0 && any)
		rc = bulk_chunked(s, c, r, rows, owners, n, version_field, true, again, dup, why, err);
	/* A guarded upsert that finds a newer document tries to insert one and
	 * collides with it: the stored document is newer.  Where none was
	 * stored, a collision is another document's unique values. */
	for (i = 0; rc == 0 && i < n; i++) {
		if (!cand[i])
			continue;
		out[i] = again[i] == PUT_WRITTEN ? PUT_WRITTEN : dup[i] && !gone[i] ? PUT_SKIPPED_NEWER : PUT_FAILED;
		if (out[i] == PUT_FAILED && dup[i])
			snprintf(why[i], sizeof(why[i]), "unique constraint: another document has these values");
	}
	mg_give_back(s, c);
out:
	free(dup);
	free(cand);
	free(gone);
	free(again);
	return rc;
}

int mg_remove_ids(struct store *base, const struct resource *r, const unsigned char (*ids)[16],
                  size_t n, struct store_error *err)
{
	struct mg_store *s = (struct mg_store *)base;
	mongoc_client_t *c;
	bson_t filter = BSON_INITIALIZER, in, arr;
	int64_t matched;
	size_t i;
	int rc;

	if (n == 0)
		return 0;
	if (!(c = mg_borrow(s, err)))
		return -1;
	bson_append_document_begin(&filter, "_id", 3, &in);
	bson_append_array_begin(&in, "$in", 3, &arr);
	for (i = 0; i < n; i++) {
		char key[16], tmp[UUID_STR_LEN + 1];
		const char *k;

		bson_uint32_to_string((uint32_t)i, &k, key, sizeof(key));
		uuid_format(ids[i], tmp);
		bson_append_utf8(&arr, k, -1, tmp, UUID_STR_LEN);
	}
	bson_append_array_end(&in, &arr);
	bson_append_document_end(&filter, &in);
	rc = mg_write_one(s, c, r->collection, &filter, NULL, true, &matched, err);
	bson_destroy(&filter);
	mg_give_back(s, c);
	return rc;
}
