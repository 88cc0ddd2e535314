/*
 * mongodb.c — the MongoDB store adapter (mongo-c-driver).
 *
 * A resource is a collection; a record is one document whose keys are the
 * legacy column names, with the primary key as `_id` and each child
 * resource embedded as an array under its name (design.md §5):
 *
 *   uuid       string, canonical 36-char form
 *   integer    int32 when it fits, else int64
 *   boolean    bool
 *   decimal    Decimal128 "118.00" (or, per field, the string "118.00" or
 *              the int64 11800 of minor units)
 *   date       Date at 00:00 UTC
 *   datetime   Date (milliseconds)
 *   json       embedded document or array
 *
 * Every filter and document is built here from typed values; a client's
 * text is only ever a BSON string value or an escaped regular expression,
 * never a key or an operator.
 *
 * Calls block, so the adapter runs on the store workers.  All handles for
 * one URI share a mongoc_client_pool_t; each call borrows a client.  The
 * driver reconnects by itself; a call that fails on a broken connection is
 * retried once where that is safe, and otherwise fails as "unavailable" (a
 * 503) until the server is back.
 *
 * The migration toolkit's calls are in mongo_migrate.c and the control
 * store in mongo_control.c; what they share with this file is in
 * mongo_private.h.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mongoc/mongoc.h>

#include "drf.h"
#include "json.h"
#include "mongo_bson.h"
#include "mongo_private.h"
#include "store.h"

static pthread_mutex_t shared_lock = PTHREAD_MUTEX_INITIALIZER;
static struct shared *shared_list;
static pthread_once_t init_once = PTHREAD_ONCE_INIT;

/* The driver's own warnings (a server without endSessions, say) are noise
 * to an operator; errors still reach the log. */
static void driver_log(mongoc_log_level_t level, const char *domain, const char *message, void *data)
{
	(void)data;
	if (level <= MONGOC_LOG_LEVEL_ERROR)
		fprintf(stderr, "cutover: mongodb driver: %s: %s\n", domain, message);
}

static void mongoc_init_once(void)
{
	mongoc_log_set_handler(driver_log, NULL);
	mongoc_init();
}

static bool mg_accepts(const char *url)
{
	return strncmp(url, "mongodb://", 10) == 0 || strncmp(url, "mongodb+srv://", 14) == 0;
}

/* Errors ------------------------------------------------------------- */

bool mg_network_error(const bson_error_t *e)
{
	return e->domain == MONGOC_ERROR_SERVER_SELECTION || e->domain == MONGOC_ERROR_STREAM ||
	       e->domain == MONGOC_ERROR_CLIENT || e->domain == MONGOC_ERROR_PROTOCOL;
}

int mg_fail(const bson_error_t *e, struct store_error *err, const char *what)
{
	enum store_err kind = STORE_INVALID;

	if (mg_network_error(e))
		kind = STORE_UNAVAILABLE;
	else if (e->code == 11000 || e->code == 11001)
		kind = STORE_CONFLICT;
	else if (e->code == 50)
		kind = STORE_TIMEOUT;
	store_error_set(err, kind, "mongodb: %s: %s", what, e->message);
	return -1;
}

/* The server ---------------------------------------------------------- */

static void probe(struct mg_store *s, mongoc_client_t *c)
{
	struct shared *sh = s->sh;
	bson_t cmd = BSON_INITIALIZER, reply;
	bson_error_t e;
	bool ferret, ok;

	if (sh->probed)
		return;
	BSON_APPEND_INT32(&cmd, "buildInfo", 1);
	ok = mongoc_client_command_simple(c, "admin", &cmd, NULL, &reply, &e);
	bson_destroy(&cmd);
	if (!ok) {
		bson_destroy(&reply);
		return;
	}
	ferret = bson_has_field(&reply, "ferretdbVersion");
	bson_destroy(&reply);
	pthread_mutex_lock(&shared_lock);
	if (!sh->probed) {
		char name[160];
		bool bad = ferret && mg_config_needs_decimal128(s->cfg, name, sizeof(name));

		/* FerretDB 1.x hands every $group accumulator after the first an
		 * empty group, and cannot store Decimal128. */
		sh->one_accumulator = ferret;
		if (bad)
			snprintf(sh->problem, sizeof(sh->problem),
			         "this server (FerretDB) does not store Decimal128, which %s uses; "
			         "set \"mongodb_decimal\" (or MONGODB_DECIMAL) to int64 or string", name);
		sh->probed = true;
		if (bad)
			fprintf(stderr, "cutover: mongodb: %s\n", sh->problem);
	}
	pthread_mutex_unlock(&shared_lock);
}

/* A client for one call, or NULL with err set. */
mongoc_client_t *mg_borrow(struct mg_store *s, struct store_error *err)
{
	mongoc_client_t *c = mongoc_client_pool_pop(s->sh->pool);

	probe(s, c);
	if (s->sh->problem[0]) {
		mongoc_client_pool_push(s->sh->pool, c);
		store_error_set(err, STORE_INVALID, "mongodb: %s", s->sh->problem);
		return NULL;
	}
	return c;
}

void mg_give_back(struct mg_store *s, mongoc_client_t *c)
{
	mongoc_client_pool_push(s->sh->pool, c);
}

mongoc_collection_t *mg_coll(struct mg_store *s, mongoc_client_t *c, const struct resource *r)
{
	return mongoc_client_get_collection(c, s->sh->db, r->collection);
}

/* After a failed write, find which unique constraint the record breaks:
 * the index the server names, or else the constraint under which another
 * document already has the record's values (not every server names the
 * index, and some report the violation as an internal error). */
static void conflict_unique(struct mg_store *s, mongoc_client_t *c, const struct resource *r,
                            int64_t owner, const struct record *rec, struct store_error *err)
{
	char name[MG_INDEX_NAME_MAX];
	size_t i;

	if (err->code != STORE_CONFLICT && err->code != STORE_INVALID)
		return;
	for (i = 0; i < r->nuniques && err->code == STORE_CONFLICT; i++) {
		mg_unique_index_name(r, &r->uniques[i], name);
		if (strstr(err->msg, name)) {
			err->unique = (int)i;
			return;
		}
	}
	for (i = 0; i < r->nuniques; i++) {
		mongoc_collection_t *col = mg_coll(s, c, r);
		bson_t filter;
		bson_error_t e;
		int64_t n;

		mg_unique_filter(r, &r->uniques[i], owner, rec, &filter);
		n = mongoc_collection_count_documents(col, &filter, NULL, NULL, NULL, &e);
		bson_destroy(&filter);
		mongoc_collection_destroy(col);
		if (n > 0) {
			err->code = STORE_CONFLICT;
			err->unique = (int)i;
			return;
		}
	}
}

/* Reads --------------------------------------------------------------- */

/* Every document a find (filter, opts) or an aggregation (pipeline, when
 * not NULL) returns, as records; retried once when the connection broke
 * before the first document arrived. */
static int read_docs(struct mg_store *s, const struct resource *r, const bson_t *filter,
                     const bson_t *opts, const bson_t *pipeline, struct arena *a,
                     struct record **rows, size_t *n, struct store_error *err)
{
	mongoc_client_t *c;
	int attempt;

	if (!(c = mg_borrow(s, err)))
		return -1;
	for (attempt = 0; attempt < 2; attempt++) {
		mongoc_collection_t *col = mg_coll(s, c, r);
		mongoc_cursor_t *cur = pipeline ?
			mongoc_collection_aggregate(col, MONGOC_QUERY_NONE, pipeline, NULL, NULL) :
			mongoc_collection_find_with_opts(col, filter, opts, NULL);
		size_t cap = 16;
		const bson_t *doc;
		bson_error_t e;
		int rc = 0;

		*n = 0;
		*rows = ARENA_ARRAY(a, struct record, cap);
		while (rc == 0 && mongoc_cursor_next(cur, &doc)) {
			if (*n == cap) {
				struct record *more = ARENA_ARRAY(a, struct record, cap * 2);

				memcpy(more, *rows, cap * sizeof(*more));
				*rows = more;
				cap *= 2;
			}
			if (mg_doc_to_record(r, doc, a, &(*rows)[*n], err) < 0)
				rc = -1;
			else
				drf_sort_children(r, &(*rows)[(*n)++]);
		}
		if (rc == 0 && mongoc_cursor_error(cur, &e)) {
			rc = mg_fail(&e, err, pipeline ? "aggregate" : "find");
			if (mg_network_error(&e) && *n == 0 && attempt == 0) {
				mongoc_cursor_destroy(cur);
				mongoc_collection_destroy(col);
				continue;
			}
		}
		mongoc_cursor_destroy(cur);
		mongoc_collection_destroy(col);
		mg_give_back(s, c);
		return rc;
	}
	mg_give_back(s, c);
	return -1;
}

static int mg_count(struct store *base, const struct query *qy, int64_t *n, struct store_error *err)
{
	struct mg_store *s = (struct mg_store *)base;
	mongoc_client_t *c;
	bson_t filter;
	bson_error_t e;
	int attempt, rc = -1;

	if (!(c = mg_borrow(s, err)))
		return -1;
	mg_query_filter(qy, &filter);
	for (attempt = 0; attempt < 2; attempt++) {
		mongoc_collection_t *col = mg_coll(s, c, qy->res);

		*n = mongoc_collection_count_documents(col, &filter, NULL, NULL, NULL, &e);
		mongoc_collection_destroy(col);
		if (*n >= 0) {
			rc = 0;
			break;
		}
		rc = mg_fail(&e, err, "count");
		if (!mg_network_error(&e))
			break;
	}
	bson_destroy(&filter);
	mg_give_back(s, c);
	return rc;
}

static int mg_list(struct store *base, const struct query *qy, struct arena *a,
                   struct record **rows, size_t *n, struct store_error *err)
{
	struct mg_store *s = (struct mg_store *)base;
	bson_t filter, opts, pipeline;
	int rc;

	if (mg_query_pipeline(qy, s->nulls_high, &pipeline)) {
		rc = read_docs(s, qy->res, NULL, NULL, &pipeline, a, rows, n, err);
		bson_destroy(&pipeline);
		return rc;
	}
	mg_query_filter(qy, &filter);
	mg_query_opts(qy, &opts);
	rc = read_docs(s, qy->res, &filter, &opts, NULL, a, rows, n, err);
	bson_destroy(&filter);
	bson_destroy(&opts);
	return rc;
}

static int mg_get(struct store *base, const struct resource *r, int64_t owner,
                  const unsigned char id[16], struct arena *a, struct record *out,
                  struct store_error *err)
{
	struct record *rows;
	bson_t filter, opts = BSON_INITIALIZER;
	size_t n;
	int rc;

	mg_id_filter(r, owner, id, &filter);
	BSON_APPEND_INT64(&opts, "limit", 1);
	rc = read_docs((struct mg_store *)base, r, &filter, &opts, NULL, a, &rows, &n, err);
	bson_destroy(&filter);
	bson_destroy(&opts);
	if (rc == 0 && n == 0) {
		store_error_set(err, STORE_NOT_FOUND, "not found");
		rc = -1;
	}
	if (rc == 0)
		*out = rows[0];
	return rc;
}

/* Is there a document with this id (owned by owner, unless OWNER_ANY)?
 * Its owner goes to *whose when given. */
static int exists(struct mg_store *s, mongoc_client_t *c, const struct resource *r, int64_t owner,
                  const unsigned char id[16], bool *found, int64_t *whose, struct store_error *err)
{
	bson_t filter, opts = BSON_INITIALIZER, proj;
	int attempt, rc = -1;

	mg_id_filter(r, owner, id, &filter);
	BSON_APPEND_INT64(&opts, "limit", 1);
	BSON_APPEND_DOCUMENT_BEGIN(&opts, "projection", &proj);
	BSON_APPEND_INT32(&proj, "_id", 1);
	if (whose)
		BSON_APPEND_INT32(&proj, r->owner_column, 1);
	bson_append_document_end(&opts, &proj);
	for (attempt = 0; attempt < 2 && rc < 0; attempt++) {
		mongoc_collection_t *col = mg_coll(s, c, r);
		mongoc_cursor_t *cur = mongoc_collection_find_with_opts(col, &filter, &opts, NULL);
		const bson_t *doc;
		bson_error_t e;

		*found = mongoc_cursor_next(cur, &doc);
		if (*found && whose) {
			bson_iter_t it;

			*whose = bson_iter_init_find(&it, doc, r->owner_column) ? bson_iter_as_int64(&it) : 0;
		}
		if (mongoc_cursor_error(cur, &e))
			mg_fail(&e, err, "find");
		else
			rc = 0;
		mongoc_cursor_destroy(cur);
		mongoc_collection_destroy(col);
		if (rc < 0 && !mg_network_error(&e))
			break;
	}
	bson_destroy(&filter);
	bson_destroy(&opts);
	return rc;
}

static int mg_exists(struct store *base, const struct resource *r, int64_t owner,
                     const unsigned char id[16], bool *found, int64_t *whose, struct store_error *err)
{
	struct mg_store *s = (struct mg_store *)base;
	mongoc_client_t *c;
	int rc;

	if (!(c = mg_borrow(s, err)))
		return -1;
	rc = exists(s, c, r, owner, id, found, whose, err);
	mg_give_back(s, c);
	return rc;
}

/* Sums and counts per group: one $group, or on a server that evaluates only
 * the first accumulator, one $group per accumulator merged by key. */
static int group_run(struct mg_store *s, mongoc_client_t *c, const struct query *qy,
                     const bson_t *pipeline, bson_t **docs, size_t *n, struct store_error *err)
{
	int attempt;

	for (attempt = 0; attempt < 2; attempt++) {
		mongoc_collection_t *col = mg_coll(s, c, qy->res);
		mongoc_cursor_t *cur = mongoc_collection_aggregate(col, MONGOC_QUERY_NONE, pipeline, NULL, NULL);
		const bson_t *doc;
		bson_error_t e;
		size_t cap = 0;

		*n = 0;
		*docs = NULL;
		while (mongoc_cursor_next(cur, &doc)) {
			if (*n == cap) {
				cap = cap ? cap * 2 : 8;
				*docs = xrealloc(*docs, cap * sizeof(**docs));
			}
			bson_copy_to(doc, &(*docs)[(*n)++]);
		}
		if (!mongoc_cursor_error(cur, &e)) {
			mongoc_cursor_destroy(cur);
			mongoc_collection_destroy(col);
			return 0;
		}
		mongoc_cursor_destroy(cur);
		mongoc_collection_destroy(col);
		mg_docs_free(*docs, *n);
		*docs = NULL;
		*n = 0;
		mg_fail(&e, err, "aggregate");
		if (!mg_network_error(&e))
			break;
	}
	return -1;
}

static int mg_aggregate(struct store *base, const struct query *qy, int group_field,
                        int sum_field, struct arena *a, struct agg_row **rows, size_t *n,
                        struct store_error *err)
{
	struct mg_store *s = (struct mg_store *)base;
	mongoc_client_t *c;
	bson_t pipeline;
	bson_t *counts = NULL, *sums = NULL;
	size_t ncounts = 0, nsums = 0;
	int rc;

	if (!(c = mg_borrow(s, err)))
		return -1;
	if (!s->sh->one_accumulator) {
		mg_group_pipeline(qy, group_field, sum_field, MG_GROUP_BOTH, &pipeline);
		rc = group_run(s, c, qy, &pipeline, &counts, &ncounts, err);
		bson_destroy(&pipeline);
	} else {
		mg_group_pipeline(qy, group_field, sum_field, MG_GROUP_COUNT, &pipeline);
		rc = group_run(s, c, qy, &pipeline, &counts, &ncounts, err);
		bson_destroy(&pipeline);
		if (rc == 0) {
			mg_group_pipeline(qy, group_field, sum_field, MG_GROUP_SUM, &pipeline);
			rc = group_run(s, c, qy, &pipeline, &sums, &nsums, err);
			bson_destroy(&pipeline);
		}
	}
	mg_give_back(s, c);
	if (rc == 0)
		rc = mg_group_rows(qy->res, group_field, sum_field, counts, ncounts,
		                   s->sh->one_accumulator ? sums : NULL, nsums, a, rows, n, err);
	mg_docs_free(counts, ncounts);
	mg_docs_free(sums, nsums);
	return rc;
}

/* Writes -------------------------------------------------------------- */

static int mg_create(struct store *base, const struct resource *r, int64_t owner,
                     const struct record *rec, struct store_error *err)
{
	struct mg_store *s = (struct mg_store *)base;
	mongoc_client_t *c;
	bson_t doc;
	int attempt, rc = -1;

	if (mg_record_to_doc(r, owner, rec, &doc, err) < 0) {
		bson_destroy(&doc);
		return -1;
	}
	if (!(c = mg_borrow(s, err))) {
		bson_destroy(&doc);
		return -1;
	}
	for (attempt = 0; attempt < 2 && rc < 0; attempt++) {
		mongoc_collection_t *col = mg_coll(s, c, r);
		bson_error_t e;

		if (mongoc_collection_insert_one(col, &doc, NULL, NULL, &e)) {
			rc = 0;
		} else if (attempt == 1 && (e.code == 11000 || e.code == 11001) && strstr(e.message, "_id_")) {
			/* The first attempt did insert: the id is fresh and ours. */
			rc = 0;
		} else {
			mg_fail(&e, err, "insert");
			if (!mg_network_error(&e))
				attempt = 2;
		}
		mongoc_collection_destroy(col);
	}
	bson_destroy(&doc);
	if (rc < 0)
		conflict_unique(s, c, r, owner, rec, err);
	mg_give_back(s, c);
	return rc;
}

/* One update or delete by filter, retried once on a broken connection (both
 * are idempotent); *matched gets how many documents it found. */
int mg_write_one(struct mg_store *s, mongoc_client_t *c, const char *collection,
                 const bson_t *filter, const bson_t *update, bool many, int64_t *matched,
                 struct store_error *err)
{
	int attempt;

	for (attempt = 0; attempt < 2; attempt++) {
		mongoc_collection_t *col = mongoc_client_get_collection(c, s->sh->db, collection);
		bson_t reply;
		bson_error_t e;
		bool ok;

		if (update)
			ok = mongoc_collection_update_one(col, filter, update, NULL, &reply, &e);
		else if (many)
			ok = mongoc_collection_delete_many(col, filter, NULL, &reply, &e);
		else
			ok = mongoc_collection_delete_one(col, filter, NULL, &reply, &e);
		mongoc_collection_destroy(col);
		if (ok) {
			bson_iter_t it;

			*matched = 0;
			if (bson_iter_init_find(&it, &reply, update ? "matchedCount" : "deletedCount"))
				*matched = bson_iter_as_int64(&it);
			bson_destroy(&reply);
			return 0;
		}
		bson_destroy(&reply);
		mg_fail(&e, err, update ? "update" : "delete");
		if (!mg_network_error(&e))
			break;
	}
	return -1;
}

static int mg_replace(struct store *base, const struct resource *r, int64_t owner,
                      const struct record *rec, struct store_error *err)
{
	struct mg_store *s = (struct mg_store *)base;
	mongoc_client_t *c;
	bson_t filter, update;
	int64_t matched = 0;
	int rc;

	if (mg_record_to_update(r, rec, &update, err) < 0) {
		bson_destroy(&update);
		return -1;
	}
	if (!(c = mg_borrow(s, err))) {
		bson_destroy(&update);
		return -1;
	}
	mg_id_filter(r, owner, rec->vals[r->pk].u.uuid, &filter);
	rc = mg_write_one(s, c, r->collection, &filter, &update, false, &matched, err);
	bson_destroy(&filter);
	bson_destroy(&update);
	if (rc == 0 && matched == 0) {
		store_error_set(err, STORE_NOT_FOUND, "not found");
		rc = -1;
	}
	if (rc < 0)
		conflict_unique(s, c, r, owner, rec, err);
	mg_give_back(s, c);
	return rc;
}

static int mg_remove(struct store *base, const struct resource *r, int64_t owner,
                     const unsigned char id[16], struct store_error *err)
{
	struct mg_store *s = (struct mg_store *)base;
	mongoc_client_t *c;
	bson_t filter;
	int64_t matched;
	bool found = false;
	size_t i;
	int rc;

	if (!(c = mg_borrow(s, err)))
		return -1;
	rc = exists(s, c, r, owner, id, &found, NULL, err);
	if (rc == 0 && !found) {
		store_error_set(err, STORE_NOT_FOUND, "not found");
		rc = -1;
	}
	/* Rows of other resources that reference this one go first, so a
	 * failure part-way never leaves them pointing at nothing. */
	for (i = 0; rc == 0 && i < r->ncascades; i++) {
		const struct resource *o = r->cascades[i].res;

		mg_ref_filter(&o->fields[r->cascades[i].field], id, &filter);
		rc = mg_write_one(s, c, o->collection, &filter, NULL, true, &matched, err);
		bson_destroy(&filter);
	}
	if (rc == 0) {
		mg_id_filter(r, owner, id, &filter);
		rc = mg_write_one(s, c, r->collection, &filter, NULL, false, &matched, err);
		bson_destroy(&filter);
	}
	mg_give_back(s, c);
	return rc;
}

/* Indexes ------------------------------------------------------------- */

/* Names of r's indexes; the collection may not exist yet (none then). */
static int index_names(struct mg_store *s, mongoc_client_t *c, const struct resource *r,
                       char ***names, size_t *n, struct store_error *err)
{
	mongoc_collection_t *col = mg_coll(s, c, r);
	mongoc_cursor_t *cur = mongoc_collection_find_indexes_with_opts(col, NULL);
	const bson_t *doc;
	bson_error_t e;
	int rc = 0;

	*names = NULL;
	*n = 0;
	while (mongoc_cursor_next(cur, &doc)) {
		bson_iter_t it;

		if (bson_iter_init_find(&it, doc, "name") && BSON_ITER_HOLDS_UTF8(&it)) {
			*names = xrealloc(*names, (*n + 1) * sizeof(**names));
			(*names)[(*n)++] = xstrdup(bson_iter_utf8(&it, NULL));
		}
	}
	if (mongoc_cursor_error(cur, &e) && e.code != 26)      /* 26: no such collection */
		rc = mg_fail(&e, err, "listIndexes");
	mongoc_cursor_destroy(cur);
	mongoc_collection_destroy(col);
	return rc;
}

static int mg_setup(struct store *base, const struct resource *r, struct buf *report,
                    struct store_error *err)
{
	struct mg_store *s = (struct mg_store *)base;
	mongoc_client_t *c;
	char **names;
	size_t nnames, i, added = 0;
	bson_t cmd;
	int rc;

	if (!(c = mg_borrow(s, err)))
		return -1;
	/* Only the missing ones are sent: creating indexes that exist is a
	 * no-op on MongoDB but not on every compatible server. */
	rc = index_names(s, c, r, &names, &nnames, err);
	if (rc == 0) {
		added = mg_index_command(s->cfg, r, (const char *const *)names, nnames, &cmd);
		if (added) {
			mongoc_database_t *db = mongoc_client_get_database(c, s->sh->db);
			bson_t reply;
			bson_error_t e;

			if (!mongoc_database_write_command_with_opts(db, &cmd, NULL, &reply, &e))
				rc = mg_fail(&e, err, "createIndexes");
			bson_destroy(&reply);
			mongoc_database_destroy(db);
		}
		bson_destroy(&cmd);
	}
	if (rc == 0 && report)
		buf_printf(report, "%s: %zu indexes created, %zu already there\n", r->collection,
		           added, nnames);
	for (i = 0; i < nnames; i++)
		free(names[i]);
	free(names);
	mg_give_back(s, c);
	return rc;
}

/* Open and close ------------------------------------------------------ */

static struct shared *shared_get(const char *url, struct store_error *err)
{
	struct shared *sh;
	mongoc_uri_t *uri;
	bson_error_t e;

	pthread_once(&init_once, mongoc_init_once);
	pthread_mutex_lock(&shared_lock);
	for (sh = shared_list; sh; sh = sh->next) {
		if (strcmp(sh->url, url) == 0) {
			sh->refs++;
			pthread_mutex_unlock(&shared_lock);
			return sh;
		}
	}
	if (!(uri = mongoc_uri_new_with_error(url, &e))) {
		pthread_mutex_unlock(&shared_lock);
		store_error_set(err, STORE_UNAVAILABLE, "mongodb: %s", e.message);
		return NULL;
	}
	/* A server that is down must fail a call within seconds, not hang it. */
	if (!mongoc_uri_has_option(uri, MONGOC_URI_SERVERSELECTIONTIMEOUTMS))
		mongoc_uri_set_option_as_int32(uri, MONGOC_URI_SERVERSELECTIONTIMEOUTMS, STORE_CONNECT_MS);
	if (!mongoc_uri_has_option(uri, MONGOC_URI_CONNECTTIMEOUTMS))
		mongoc_uri_set_option_as_int32(uri, MONGOC_URI_CONNECTTIMEOUTMS, STORE_CONNECT_MS);
	if (!mongoc_uri_has_option(uri, MONGOC_URI_SOCKETTIMEOUTMS))
		mongoc_uri_set_option_as_int32(uri, MONGOC_URI_SOCKETTIMEOUTMS, 30000);
	if (!mongoc_uri_has_option(uri, MONGOC_URI_MAXPOOLSIZE))
		mongoc_uri_set_option_as_int32(uri, MONGOC_URI_MAXPOOLSIZE, 1000);
	sh = xcalloc(1, sizeof(*sh));
	sh->url = xstrdup(url);
	sh->db = xstrdup(mongoc_uri_get_database(uri) ? mongoc_uri_get_database(uri) : "cutover");
	sh->pool = mongoc_client_pool_new(uri);
	mongoc_uri_destroy(uri);
	if (!sh->pool) {
		pthread_mutex_unlock(&shared_lock);
		store_error_set(err, STORE_UNAVAILABLE, "mongodb: cannot use \"%.64s\"", url);
		free(sh->db);
		free(sh->url);
		free(sh);
		return NULL;
	}
	mongoc_client_pool_set_error_api(sh->pool, MONGOC_ERROR_API_VERSION_2);
	mongoc_client_pool_set_appname(sh->pool, "cutover");
	sh->refs = 1;
	sh->next = shared_list;
	shared_list = sh;
	pthread_mutex_unlock(&shared_lock);
	return sh;
}

static void shared_put(struct shared *sh)
{
	struct shared **p;

	pthread_mutex_lock(&shared_lock);
	if (--sh->refs > 0) {
		pthread_mutex_unlock(&shared_lock);
		return;
	}
	for (p = &shared_list; *p != sh; p = &(*p)->next)
		;
	*p = sh->next;
	pthread_mutex_unlock(&shared_lock);
	mongoc_client_pool_destroy(sh->pool);
	free(sh->db);
	free(sh->url);
	free(sh);
}

static void mg_close(struct store *base)
{
	struct mg_store *s = (struct mg_store *)base;

	if (!s)
		return;
	mg_scan_end(s);
	shared_put(s->sh);
	free(s);
}

static struct store *mg_open(const char *url, const struct config *cfg, struct store_error *err)
{
	struct mg_store *s;
	struct shared *sh = shared_get(url, err);

	if (!sh)
		return NULL;
	s = xcalloc(1, sizeof(*s));
	s->base.ops = &store_mongodb_ops;
	s->cfg = cfg;
	s->sh = sh;
	s->nulls_high = store_nulls_high(cfg->database_url);
	return &s->base;
}

const struct store_ops store_mongodb_ops = {
	.name = "mongodb",
	.version = 1,
	.blocking = true,           /* network calls: store workers only */
	.accepts = mg_accepts,      /* mongodb:// and mongodb+srv:// URIs; the path names the database */
	.open = mg_open,            /* shares one client pool per URI; connects on first use */
	.close = mg_close,
	.count = mg_count,
	.list = mg_list,
	.get = mg_get,
	.exists = mg_exists,
	.create = mg_create,        /* one document, items embedded: atomic */
	.replace = mg_replace,      /* $set by id and owner: atomic */
	.remove = mg_remove,        /* referencing documents first, then the document */
	.aggregate = mg_aggregate,  /* $group with exact sums */
	.setup = mg_setup,          /* indexes matching the legacy ones, idempotent */
	.scan = mg_scan,
	.size = mg_size,
	.put_many = mg_put_many,    /* one unordered bulk of guarded upserts */
	.remove_ids = mg_remove_ids,
	.routes = mg_routes,        /* the cutover_routes collection */
};
