/*
 * migrate.c — `cutover migrate`: copy every legacy row, with its children,
 * into MongoDB (design.md §13).
 *
 * Rows are read in primary-key order a batch at a time (never the whole
 * table) and written as one unordered bulk of upserts per batch.  After
 * every batch the position is saved in a state file (written to a temporary
 * file and renamed), so a killed run resumes after the last whole batch.
 *
 * Safe beside dual writes: an upsert only replaces a document whose version
 * field (the resource's "auto": "now" field, updated_at in the example) is
 * not newer than the row's, so a record the gateway wrote after the copy
 * read it is never put back to an older state; and after each batch the
 * rows are looked up again, so one deleted meanwhile is deleted from
 * MongoDB too.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "control_store.h"
#include "json.h"
#include "migrate.h"
#include "store.h"

#define MAX_REPORTED 20

struct tally {
	int64_t read, written, skipped, failed, total;
	double seconds;
	bool done;
	unsigned char after[16];
	bool has_after;
};

static int version_field(const struct resource *r)
{
	size_t i;

	for (i = 0; i < r->nfields; i++)
		if (r->fields[i].autoset == AUTO_NOW)
			return (int)i;
	return -1;
}

/* The state file --------------------------------------------------------- */

static void state_key(const struct config *cfg, struct buf *b)
{
	buf_printf(b, "%s|%s", cfg->database_url, cfg->mongodb_uri);
}

static void state_load(const struct config *cfg, const char *path, struct tally *t)
{
	struct error err;
	struct arena a;
	struct json *doc, *res;
	struct buf key = {0};
	size_t len, i;
	char msg[64], *text = read_file(path, &len, &err);

	if (!text)
		return;
	arena_init(&a, 4096);
	state_key(cfg, &key);
	if ((doc = json_parse(&a, text, len, msg, sizeof(msg), NULL)) && json_get(doc, "stores") &&
	    strcmp(json_get(doc, "stores")->u.s.p, buf_cstr(&key)) == 0 && (res = json_get(doc, "resources"))) {
		for (i = 0; i < cfg->nresources; i++) {
			const struct json *o = json_get(res, cfg->resources[i]->name), *v;

			if (!o)
				continue;
			if ((v = json_get(o, "after")) && v->type == JSON_STRING &&
			    uuid_parse(v->u.s.p, v->u.s.n, t[i].after) == 0)
				t[i].has_after = true;
			t[i].read = (v = json_get(o, "read")) ? atoll(v->u.s.p) : 0;
			t[i].written = (v = json_get(o, "written")) ? atoll(v->u.s.p) : 0;
			t[i].skipped = (v = json_get(o, "skipped")) ? atoll(v->u.s.p) : 0;
			t[i].failed = (v = json_get(o, "failed")) ? atoll(v->u.s.p) : 0;
			t[i].seconds = (v = json_get(o, "seconds")) ? atof(v->u.s.p) : 0;
			t[i].done = (v = json_get(o, "done")) && v->type == JSON_BOOL && v->u.b;
		}
	}
	buf_free(&key);
	arena_reset(&a);
	free(text);
}

static int state_save(const struct config *cfg, const char *path, const struct tally *t)
{
	struct buf b = {0}, key = {0}, tmp = {0};
	size_t i;
	FILE *f;
	int rc = -1;

	state_key(cfg, &key);
	buf_puts(&b, "{\"stores\":");
	json_put_cstr(&b, buf_cstr(&key));
	buf_puts(&b, ",\"resources\":{");
	for (i = 0; i < cfg->nresources; i++) {
		char id[UUID_STR_LEN + 1] = "";

		if (t[i].has_after)
			uuid_format(t[i].after, id);
		buf_printf(&b, "%s\"%s\":{\"after\":\"%s\",\"read\":%lld,\"written\":%lld,\"skipped\":%lld,"
		           "\"failed\":%lld,\"seconds\":%.3f,\"done\":%s}", i ? "," : "", cfg->resources[i]->name,
		           id, (long long)t[i].read, (long long)t[i].written, (long long)t[i].skipped,
		           (long long)t[i].failed, t[i].seconds, t[i].done ? "true" : "false");
	}
	buf_puts(&b, "}}\n");
	buf_printf(&tmp, "%s.tmp", path);
	if ((f = fopen(buf_cstr(&tmp), "w"))) {
		if (fwrite(b.p, 1, b.len, f) == b.len && fflush(f) == 0 && fsync(fileno(f)) == 0)
			rc = 0;
		if (fclose(f) != 0)
			rc = -1;
		if (rc == 0 && rename(buf_cstr(&tmp), path) != 0)
			rc = -1;
	}
	if (rc < 0)
		fprintf(stderr, "cutover: cannot save the migration state in %s: %s\n", path, strerror(errno));
	buf_free(&b);
	buf_free(&key);
	buf_free(&tmp);
	return rc;
}

/* Progress ---------------------------------------------------------------- */

static double now_s(void)
{
	return (double)now_mono_us() / 1e6;
}

/* Copying ------------------------------------------------------------------ */

/* Rows of the batch that are gone from the legacy store now: deleted while
 * the batch was being copied.  They are deleted from MongoDB too.  The
 * range is read again up to the batch's last key (rows added meanwhile
 * make it longer than the batch). */
static int recheck(struct store *src, struct store *dst, const struct resource *r, const unsigned char *from,
                   const struct record *rows, size_t n, struct store_error *err)
{
	const unsigned char *last = rows[n - 1].vals[r->pk].u.uuid;
	unsigned char (*gone)[16] = xcalloc(n, 16), at[16];
	size_t i = 0, ngone = 0;
	bool has_at = from != NULL, more = true;
	int rc = 0;

	if (from)
		memcpy(at, from, 16);
	while (rc == 0 && more && i < n) {
		struct arena a;
		struct record *now;
		int64_t *owners;
		size_t m, k = 0;

		arena_init(&a, 16384);
		rc = store_scan(src, r, has_at ? at : NULL, n, &a, &now, &owners, &m, err);
		more = rc == 0 && m == n;
		/* every row of the batch before the end of this read is checked */
		for (; rc == 0 && i < n; i++) {
			const unsigned char *id = rows[i].vals[r->pk].u.uuid;

			while (k < m && memcmp(now[k].vals[r->pk].u.uuid, id, 16) < 0)
				k++;
			if (k == m && more)
				break;
			if (k == m || memcmp(now[k].vals[r->pk].u.uuid, id, 16) != 0)
				memcpy(gone[ngone++], id, 16);
		}
		if (m) {
			memcpy(at, now[m - 1].vals[r->pk].u.uuid, 16);
			has_at = true;
			more = more && memcmp(at, last, 16) < 0;
		}
		arena_reset(&a);
	}
	if (rc == 0 && ngone)
		rc = store_remove_ids(dst, r, (const unsigned char (*)[16])gone, ngone, err);
	free(gone);
	return rc;
}

static int copy_resource(const struct config *cfg, const struct migrate_opts *o, struct store *src,
                         struct store *dst, size_t idx, struct tally *all)
{
	const struct resource *r = cfg->resources[idx];
	struct tally *t = &all[idx];
	int vf = version_field(r), reported = 0, rc = 0;
	enum put_result *out = xcalloc(o->batch, sizeof(*out));
	char (*why)[128] = xcalloc(o->batch, sizeof(*why));
	double start = now_s(), base = t->seconds;
	int64_t read0 = t->read;
	bool tty = isatty(2);
	struct store_error err;
	struct progress pr;

	if (store_size(src, r, &t->total, &err) < 0) {
		fprintf(stderr, "cutover: migrate %s: %s\n", r->name, err.msg);
		rc = -1;
	}
	progress_begin(&pr, "migrate", r->name, "rows", t->total, read0);
	while (rc == 0) {
		struct arena a;
		struct record *rows;
		int64_t *owners;
		size_t n, i;
		unsigned char before[16];
		bool had = t->has_after;

		arena_init(&a, 65536);
		memcpy(before, t->after, 16);
		if (store_scan(src, r, t->has_after ? t->after : NULL, o->batch, &a, &rows, &owners, &n, &err) < 0 ||
		    (n && store_put_many(dst, r, rows, owners, n, vf, out, why, &err) < 0) ||
		    (n && recheck(src, dst, r, had ? before : NULL, rows, n, &err) < 0)) {
			fprintf(stderr, "%scutover: migrate %s: %s\n", tty ? "\n" : "", r->name, err.msg);
			arena_reset(&a);
			rc = -1;
			break;
		}
		for (i = 0; i < n; i++) {
			t->written += out[i] == PUT_WRITTEN;
			t->skipped += out[i] == PUT_SKIPPED_NEWER;
			if (out[i] == PUT_FAILED) {
				char id[UUID_STR_LEN + 1];

				t->failed++;
				if (reported++ < MAX_REPORTED) {
					uuid_format(rows[i].vals[r->pk].u.uuid, id);
					fprintf(stderr, "%s%s %s: %s\n", tty ? "\n" : "", r->name, id, why[i]);
				}
			}
		}
		t->read += (int64_t)n;
		if (n) {
			memcpy(t->after, rows[n - 1].vals[r->pk].u.uuid, 16);
			t->has_after = true;
		}
		arena_reset(&a);
		t->done = n < o->batch;
		t->seconds = base + (now_s() - start);
		if (state_save(cfg, o->state, all) < 0) {
			rc = -1;
			break;
		}
		progress_note(&pr, t->read, t->done);
		if (t->done)
			break;
		/* Hold the average under the limit. */
		if (o->rate > 0) {
			double ahead = (double)(t->read - read0) / o->rate - (now_s() - start);

			if (ahead > 0)
				usleep((useconds_t)(ahead * 1e6));
		}
	}
	if (reported > MAX_REPORTED)
		fprintf(stderr, "%s: %d more rows failed (not shown)\n", r->name, reported - MAX_REPORTED);
	free(out);
	free(why);
	return rc;
}

int migrate_run(const struct config *cfg, const struct migrate_opts *o)
{
	struct tally *t = xcalloc(cfg->nresources ? cfg->nresources : 1, sizeof(*t));
	struct store_error err;
	struct store *src = NULL, *dst = NULL;
	size_t i;
	int rc = 0;
	bool any = false;

	store_streaming = true;
	if (migrate_indexes(cfg) != 0) {
		free(t);
		return 1;
	}
	if (!(src = store_open(cfg->database_url, cfg, &err)) || !(dst = store_open_batch(cfg->mongodb_uri, cfg, &err))) {
		fprintf(stderr, "cutover: %s\n", err.msg);
		rc = 1;
		goto out;
	}
	if (!src->ops->scan || !src->ops->size || !dst->ops->put_many || !dst->ops->remove_ids) {
		fprintf(stderr, "cutover: migrate copies from a SQL store into MongoDB\n");
		rc = 1;
		goto out;
	}
	if (!o->restart)
		state_load(cfg, o->state, t);
	for (i = 0; i < cfg->nresources && rc == 0; i++) {
		if (o->resource && strcmp(o->resource, cfg->resources[i]->name) != 0)
			continue;
		any = true;
		if (t[i].done) {
			fprintf(stderr, "migrate: %s was copied by an earlier run (--restart copies it again)\n",
			        cfg->resources[i]->name);
			continue;
		}
		if (t[i].has_after)
			fprintf(stderr, "migrate: %s resumes after row %lld\n", cfg->resources[i]->name,
			        (long long)t[i].read);
		if (copy_resource(cfg, o, src, dst, i, t) < 0)
			rc = 1;
		else if (t[i].failed == 0)
			control_store_reset(cfg, cfg->resources[i], "cutover migrate copied it");
	}
	if (!any) {
		fprintf(stderr, "cutover: no resource named \"%s\"\n", o->resource);
		rc = 1;
	}
	printf("%-12s %10s %10s %10s %8s %9s %10s\n", "RESOURCE", "READ", "WRITTEN", "SKIPPED", "FAILED",
	       "TIME", "ROWS/S");
	for (i = 0; i < cfg->nresources; i++) {
		if (o->resource && strcmp(o->resource, cfg->resources[i]->name) != 0)
			continue;
		printf("%-12s %10lld %10lld %10lld %8lld %8.1fs %10.0f\n", cfg->resources[i]->name,
		       (long long)t[i].read, (long long)t[i].written, (long long)t[i].skipped,
		       (long long)t[i].failed, t[i].seconds,
		       t[i].seconds > 0 ? (double)t[i].read / t[i].seconds : 0.0);
		if (t[i].failed)
			rc = rc ? rc : 3;
	}
out:
	store_close(src);
	store_close(dst);
	free(t);
	return rc;
}
