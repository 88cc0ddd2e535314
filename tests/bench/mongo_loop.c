/*
 * mongo_loop.c — the MongoDB baseline of `make bench`: the finds the
 * gateway runs for one request, issued straight through mongoc by N
 * threads in a loop for a fixed time, documents read but not turned into
 * JSON.  The gateway's rate over this one is the cost of everything else.
 *
 * usage: mongo-loop URI detail|page INVOICE_ID OWNER SECONDS THREADS
 *   detail: find {_id, user_id} limit 1
 *   page:   count {user_id}, then find {user_id} sort {created_at:-1,_id:1} limit 20
 *        mongo-loop SRC_URI copy DST_URI COLLECTION
 *   copy:   the raw bulk-insert rate of the server: every document of
 *           SRC's collection, read into memory first (not timed), then
 *           inserted into DST in unordered bulks of 100 (timed); prints
 *           documents per second
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <mongoc/mongoc.h>

static mongoc_client_pool_t *pool;
static const char *mode, *id;
static int owner;
static double seconds;
static const char *db;

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static long drain(mongoc_cursor_t *cur)
{
	const bson_t *doc;
	bson_error_t e;
	long n = 0;

	while (mongoc_cursor_next(cur, &doc))
		n += bson_count_keys(doc) > 0;
	if (mongoc_cursor_error(cur, &e)) {
		fprintf(stderr, "mongo-loop: %s\n", e.message);
		exit(1);
	}
	mongoc_cursor_destroy(cur);
	return n;
}

static void *run(void *arg)
{
	long *done = arg;
	mongoc_client_t *c = mongoc_client_pool_pop(pool);
	mongoc_collection_t *col = mongoc_client_get_collection(c, db, "invoices");
	bson_t *detail = BCON_NEW("_id", BCON_UTF8(id), "user_id", BCON_INT32(owner));
	bson_t *one = BCON_NEW("limit", BCON_INT64(1));
	bson_t *mine = BCON_NEW("user_id", BCON_INT32(owner));
	bson_t *page = BCON_NEW("sort", "{", "created_at", BCON_INT32(-1), "_id", BCON_INT32(1), "}",
	                        "limit", BCON_INT64(20));
	double end = now() + seconds;
	bson_error_t e;

	while (now() < end) {
		if (strcmp(mode, "detail") == 0) {
			if (drain(mongoc_collection_find_with_opts(col, detail, one, NULL)) != 1)
				exit(1);
		} else {
			if (mongoc_collection_count_documents(col, mine, NULL, NULL, NULL, &e) < 0) {
				fprintf(stderr, "mongo-loop: %s\n", e.message);
				exit(1);
			}
			if (drain(mongoc_collection_find_with_opts(col, mine, page, NULL)) != 20)
				exit(1);
		}
		(*done)++;
	}
	bson_destroy(detail);
	bson_destroy(one);
	bson_destroy(mine);
	bson_destroy(page);
	mongoc_collection_destroy(col);
	mongoc_client_pool_push(pool, c);
	return NULL;
}

static int copy(const char *src, const char *dst, const char *name)
{
	mongoc_client_t *a = mongoc_client_new(src), *b = mongoc_client_new(dst);
	mongoc_uri_t *ua = mongoc_uri_new(src), *ub = mongoc_uri_new(dst);
	mongoc_collection_t *from = mongoc_client_get_collection(a, mongoc_uri_get_database(ua), name);
	mongoc_collection_t *to = mongoc_client_get_collection(b, mongoc_uri_get_database(ub), name);
	bson_t filter = BSON_INITIALIZER, **docs = NULL, opts = BSON_INITIALIZER;
	mongoc_cursor_t *cur = mongoc_collection_find_with_opts(from, &filter, NULL, NULL);
	const bson_t *doc;
	size_t n = 0, cap = 0, i, k;
	bson_error_t e;
	double t0;

	while (mongoc_cursor_next(cur, &doc)) {
		if (n == cap) {
			cap = cap ? cap * 2 : 1024;
			docs = realloc(docs, cap * sizeof(*docs));
		}
		docs[n++] = bson_copy(doc);
	}
	mongoc_cursor_destroy(cur);
	BSON_APPEND_BOOL(&opts, "ordered", false);
	t0 = now();
	for (i = 0; i < n; i += 100) {
		mongoc_bulk_operation_t *bulk = mongoc_collection_create_bulk_operation_with_opts(to, &opts);

		for (k = i; k < n && k < i + 100; k++)
			mongoc_bulk_operation_insert(bulk, docs[k]);
		if (!mongoc_bulk_operation_execute(bulk, NULL, &e)) {
			fprintf(stderr, "mongo-loop: %s\n", e.message);
			return 1;
		}
		mongoc_bulk_operation_destroy(bulk);
	}
	printf("%.1f\n", n / (now() - t0));
	for (i = 0; i < n; i++)
		bson_destroy(docs[i]);
	free(docs);
	bson_destroy(&opts);
	mongoc_collection_destroy(from);
	mongoc_collection_destroy(to);
	mongoc_uri_destroy(ua);
	mongoc_uri_destroy(ub);
	mongoc_client_destroy(a);
	mongoc_client_destroy(b);
	return 0;
}

int main(int argc, char **argv)
{
	mongoc_uri_t *uri;
	pthread_t *th;
	long *done, total = 0;
	int n, i;

	if (argc == 5 && strcmp(argv[2], "copy") == 0) {
		int rc;

		mongoc_init();
		rc = copy(argv[1], argv[3], argv[4]);
		mongoc_cleanup();
		return rc;
	}
	if (argc != 7) {
		fprintf(stderr, "usage: mongo-loop URI detail|page INVOICE_ID OWNER SECONDS THREADS\n");
		return 2;
	}
	mode = argv[2];
	id = argv[3];
	owner = atoi(argv[4]);
	seconds = atof(argv[5]);
	n = atoi(argv[6]);
	mongoc_init();
	if (!(uri = mongoc_uri_new(argv[1])))
		return 2;
	db = mongoc_uri_get_database(uri);
	pool = mongoc_client_pool_new(uri);
	th = calloc((size_t)n, sizeof(*th));
	done = calloc((size_t)n, sizeof(*done));
	for (i = 0; i < n; i++)
		pthread_create(&th[i], NULL, run, &done[i]);
	for (i = 0; i < n; i++) {
		pthread_join(th[i], NULL);
		total += done[i];
	}
	printf("%.1f\n", total / seconds);
	mongoc_client_pool_destroy(pool);
	mongoc_uri_destroy(uri);
	mongoc_cleanup();
	free(th);
	free(done);
	return 0;
}
