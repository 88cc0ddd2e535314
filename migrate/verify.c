/*
 * verify.c — `cutover verify` and `cutover repair` (design.md §13).
 *
 * verify walks both stores in primary-key order a batch at a time (constant
 * memory) and compares each legacy row with its document in canonical form:
 * the owner, every field as the API renders it, and the children.  repair
 * makes MongoDB hold what the legacy store holds for every record that
 * differs: from a saved `verify --json` report, from a fresh walk, or from
 * the journal.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "control_store.h"
#include "drf.h"
#include "journal.h"
#include "json.h"
#include "migrate.h"
#include "shadow.h"
#include "store.h"

#define BATCH 500
#define SAMPLES 5

enum diff_kind { D_MISSING, D_EXTRA, D_DIFFERENT, D_KINDS };
static const char *const kind_names[D_KINDS] = {"missing", "extra", "different"};

/* One side of the walk: a batch of records and the position in it. */
struct side {
	struct store *s;
	const struct resource *r;
	struct arena a;
	struct record *rows;
	int64_t *owners;
	size_t n, i;
	bool end;
	unsigned char last[16];
	bool has_last;
	int64_t count;
};

static int side_fill(struct side *sd, struct store_error *err)
{
	if (sd->i < sd->n || sd->end)
		return 0;
	arena_reset(&sd->a);
	arena_init(&sd->a, 65536);
	if (store_scan(sd->s, sd->r, sd->has_last ? sd->last : NULL, BATCH, &sd->a, &sd->rows,
	                     &sd->owners, &sd->n, err) < 0)
		return -1;
	sd->i = 0;
	sd->end = sd->n < BATCH;
	if (sd->n) {
		memcpy(sd->last, sd->rows[sd->n - 1].vals[sd->r->pk].u.uuid, 16);
		sd->has_last = true;
	}
	return 0;
}

static bool side_has(const struct side *sd)
{
	return sd->i < sd->n;
}

static const unsigned char *side_id(const struct side *sd)
{
	return sd->rows[sd->i].vals[sd->r->pk].u.uuid;
}

static bool sampled(const unsigned char *id, double pct)
{
	return pct >= 100 || (double)(((unsigned)id[14] << 8 | id[15]) % 10000) < pct * 100;
}

/* The fields (and child lists) that differ, comma-separated into out. */
static bool differ(const struct resource *r, const struct record *a, int64_t oa, const struct record *b,
                   int64_t ob, struct buf *out)
{
	struct buf x = {0}, y = {0};
	size_t i;

	out->len = 0;
	if (a->bad || b->bad) {
		buf_printf(out, "unreadable: %s", a->bad ? a->bad : b->bad);
		return true;
	}
	if (oa != ob)
		buf_printf(out, "%s%s", out->len ? "," : "", r->owner_column);
	for (i = 0; i < r->nfields; i++) {
		x.len = y.len = 0;
		drf_render_value(&x, &r->fields[i], &a->vals[i]);
		drf_render_value(&y, &r->fields[i], &b->vals[i]);
		if (x.len != y.len || memcmp(x.p, y.p, x.len) != 0)
			buf_printf(out, "%s%s", out->len ? "," : "", r->fields[i].name);
	}
	if (r->nchildren) {
		/* b's children with a's fields: any difference left is in the children. */
		struct record mixed = *b;
		size_t c;

		mixed.vals = a->vals;
		x.len = y.len = 0;
		drf_render_record(&x, r, a);
		drf_render_record(&y, r, &mixed);
		if (x.len != y.len || memcmp(x.p, y.p, x.len) != 0)
			for (c = 0; c < r->nchildren; c++)
				buf_printf(out, "%s%s", out->len ? "," : "", r->children[c]->name);
	}
	buf_free(&x);
	buf_free(&y);
	return out->len > 0;
}

struct report {
	const struct verify_opts *o;
	struct buf json;                /* this resource's part of --json */
	int64_t counts[D_KINDS];
	int nsamples[D_KINDS];
	struct buf ids[D_KINDS];        /* --json: every id, with its owner */
	struct store *fix[WS_COUNT];    /* repair: stores to fix with */
	int64_t fixed, fix_failed;
};

static void found(struct report *rep, const struct resource *r, enum diff_kind k, const unsigned char *id,
                  int64_t owner, const char *fields)
{
	char s[UUID_STR_LEN + 1];

	uuid_format(id, s);
	rep->counts[k]++;
	if (rep->fix[WS_LEGACY]) {
		struct store_error err;

		if (shadow_sync(rep->fix, r, owner, id, WS_LEGACY, &err) == 0) {
			rep->fixed++;
		} else {
			rep->fix_failed++;
			fprintf(stderr, "repair: %s %s: %s\n", r->name, s, err.msg);
		}
		return;
	}
	if (rep->o->json)
		buf_printf(&rep->ids[k], "%s[\"%s\",%lld]", rep->ids[k].len ? "," : "", s, (long long)owner);
	else if (rep->nsamples[k]++ < SAMPLES)
		printf("  %-9s %s (owner %lld)%s%s\n", kind_names[k], s, (long long)owner, fields ? ": " : "",
		       fields ? fields : "");
}

static int walk(const struct config *cfg, struct store *legacy, struct store *mongo, const struct resource *r,
                struct report *rep, int64_t *nl, int64_t *nm)
{
	struct side L = {.s = legacy, .r = r}, M = {.s = mongo, .r = r};
	struct store_error err;
	struct buf fields = {0};
	struct progress pr;
	int64_t total = 0;
	int rc = 0;

	(void)cfg;
	arena_init(&L.a, 1024);
	arena_init(&M.a, 1024);
	if (store_size(legacy, r, &total, &err) < 0)
		total = 0;                      /* the walk reports the error */
	progress_begin(&pr, rep->fix[WS_MONGO] ? "repair" : "verify", r->name, "rows", total, 0);
	for (;;) {
		int c;

		if (side_fill(&L, &err) < 0 || side_fill(&M, &err) < 0) {
			fprintf(stderr, "cutover: verify %s: %s\n", r->name, err.msg);
			rc = -1;
			break;
		}
		if (L.i == 0 && L.n)            /* a batch of legacy rows begins */
			progress_note(&pr, L.count, false);
		if (!side_has(&L) && !side_has(&M))
			break;
		c = !side_has(&L) ? 1 : !side_has(&M) ? -1 : memcmp(side_id(&L), side_id(&M), 16);
		if (c < 0) {
			L.count++;
			if (sampled(side_id(&L), rep->o->sample))
				found(rep, r, D_MISSING, side_id(&L), L.owners[L.i], NULL);
			L.i++;
		} else if (c > 0) {
			M.count++;
			if (sampled(side_id(&M), rep->o->sample))
				found(rep, r, D_EXTRA, side_id(&M), M.owners[M.i], NULL);
			M.i++;
		} else {
			L.count++;
			M.count++;
			if (sampled(side_id(&L), rep->o->sample) &&
			    differ(r, &L.rows[L.i], L.owners[L.i], &M.rows[M.i], M.owners[M.i], &fields))
				found(rep, r, D_DIFFERENT, side_id(&L), L.owners[L.i], buf_cstr(&fields));
			L.i++;
			M.i++;
		}
	}
	if (rc == 0)
		progress_note(&pr, L.count, true);
	*nl = L.count;
	*nm = M.count;
	arena_reset(&L.a);
	arena_reset(&M.a);
	buf_free(&fields);
	return rc;
}

static int run(const struct config *cfg, const struct verify_opts *o, bool repair, int64_t *total_diffs)
{
	struct store_error err;
	struct store *legacy = NULL, *mongo = NULL;
	struct buf out = {0};
	size_t i, k;
	int rc = 0;
	bool any = false;

	*total_diffs = 0;
	store_streaming = true;
	if (!*cfg->mongodb_uri) {
		fprintf(stderr, "cutover: set \"mongodb_uri\" or MONGODB_URI\n");
		return -1;
	}
	if (!(legacy = store_open(cfg->database_url, cfg, &err)) || !(mongo = store_open_batch(cfg->mongodb_uri, cfg, &err))) {
		fprintf(stderr, "cutover: %s\n", err.msg);
		store_close(legacy);
		return -1;
	}
	buf_puts(&out, "{\"resources\":{");
	for (i = 0; i < cfg->nresources && rc == 0; i++) {
		const struct resource *r = cfg->resources[i];
		struct report rep = {.o = o};
		int64_t nl = 0, nm = 0, diffs;

		if (o->resource && strcmp(o->resource, r->name) != 0)
			continue;
		any = true;
		if (repair) {
			rep.fix[WS_LEGACY] = legacy;
			rep.fix[WS_MONGO] = mongo;
		}
		if (!o->json && !repair)
			printf("%s:\n", r->name);
		rc = walk(cfg, legacy, mongo, r, &rep, &nl, &nm);
		diffs = rep.counts[D_MISSING] + rep.counts[D_EXTRA] + rep.counts[D_DIFFERENT];
		*total_diffs += repair ? rep.fix_failed : diffs;
		/* Whole: a sample that matched does not show the rest does. */
		if (rc == 0 && (repair ? rep.fix_failed == 0 : diffs == 0 && o->sample >= 100))
			control_store_reset(cfg, r, repair ? "cutover repair made MongoDB hold what the legacy store holds"
			                    : "cutover verify found MongoDB identical to the legacy store");
		if (repair)
			printf("%-12s %lld rewritten or deleted in MongoDB, %lld failed\n", r->name,
			       (long long)rep.fixed, (long long)rep.fix_failed);
		else if (!o->json)
			printf("  legacy %lld, mongodb %lld: %lld missing, %lld extra, %lld different%s\n",
			       (long long)nl, (long long)nm, (long long)rep.counts[D_MISSING],
			       (long long)rep.counts[D_EXTRA], (long long)rep.counts[D_DIFFERENT],
			       diffs ? "" : " — identical");
		buf_printf(&out, "%s\"%s\":{\"legacy\":%lld,\"mongodb\":%lld", any && out.p[out.len - 1] != '{' ? "," : "",
		           r->name, (long long)nl, (long long)nm);
		for (k = 0; k < D_KINDS; k++)
			buf_printf(&out, ",\"%s\":%lld", kind_names[k], (long long)rep.counts[k]);
		buf_puts(&out, ",\"ids\":{");
		for (k = 0; k < D_KINDS; k++) {
			buf_printf(&out, "%s\"%s\":[", k ? "," : "", kind_names[k]);
			buf_put(&out, rep.ids[k].p ? rep.ids[k].p : "", rep.ids[k].len);
			buf_putc(&out, ']');
			buf_free(&rep.ids[k]);
		}
		buf_puts(&out, "}}");
	}
	buf_printf(&out, "},\"identical\":%s}\n", *total_diffs == 0 && rc == 0 ? "true" : "false");
	if (o->json && !repair)
		fputs(buf_cstr(&out), stdout);
	if (!any) {
		fprintf(stderr, "cutover: no resource named \"%s\"\n", o->resource);
		rc = -1;
	}
	buf_free(&out);
	store_close(legacy);
	store_close(mongo);
	return rc;
}

int verify_run(const struct config *cfg, const struct verify_opts *o)
{
	int64_t diffs;

	if (run(cfg, o, false, &diffs) < 0)
		return 2;
	return diffs ? 1 : 0;
}

/* Fix the ids of a `verify --json` report. */
static int repair_from(const struct config *cfg, const char *path)
{
	struct error e;
	struct store_error err;
	struct arena a;
	struct json *doc, *res;
	struct store *stores[WS_COUNT] = {NULL};
	size_t len, i, k, j;
	char msg[128], *text = read_file(path, &len, &e);
	int64_t fixed = 0, failed = 0;
	int rc = 0;

	if (!text) {
		fprintf(stderr, "cutover: %s\n", e.msg);
		return 2;
	}
	arena_init(&a, 65536);
	if (!(doc = json_parse(&a, text, len, msg, sizeof(msg), NULL)) || !(res = json_get(doc, "resources"))) {
		fprintf(stderr, "cutover: %s is not a `cutover verify --json` report\n", path);
		rc = 2;
	} else if (!(stores[WS_LEGACY] = store_open(cfg->database_url, cfg, &err)) ||
	           !(stores[WS_MONGO] = store_open_batch(cfg->mongodb_uri, cfg, &err))) {
		fprintf(stderr, "cutover: %s\n", err.msg);
		rc = 2;
	}
	for (i = 0; rc == 0 && i < cfg->nresources; i++) {
		const struct resource *r = cfg->resources[i];
		const struct json *ids = json_get(res, r->name);

		ids = ids ? json_get(ids, "ids") : NULL;
		for (k = 0; ids && k < D_KINDS; k++) {
			const struct json *list = json_get(ids, kind_names[k]);

			for (j = 0; list && list->type == JSON_ARRAY && j < list->u.a.n; j++) {
				const struct json *pair = list->u.a.v[j];
				unsigned char id[16];

				if (pair->type != JSON_ARRAY || pair->u.a.n != 2 ||
				    uuid_parse(pair->u.a.v[0]->u.s.p, pair->u.a.v[0]->u.s.n, id) < 0)
					continue;
				if (shadow_sync(stores, r, atoll(pair->u.a.v[1]->u.s.p), id, WS_LEGACY, &err) == 0) {
					fixed++;
				} else {
					failed++;
					fprintf(stderr, "repair: %s %.36s: %s\n", r->name, pair->u.a.v[0]->u.s.p, err.msg);
				}
			}
		}
	}
	if (rc == 0)
		printf("repair: %lld records rewritten or deleted in MongoDB, %lld failed\n", (long long)fixed,
		       (long long)failed);
	store_close(stores[WS_LEGACY]);
	store_close(stores[WS_MONGO]);
	arena_reset(&a);
	free(text);
	return rc ? rc : failed ? 1 : 0;
}

/* Apply every journal entry now, whatever its retry time. */
static int repair_journal(const struct config *cfg)
{
	struct error e;
	struct store_error err;
	struct store *stores[WS_COUNT] = {NULL};
	int64_t applied = 0, failed = 0, before;
	struct progress pr;
	int rc = 0;

	if (journal_open(cfg->journal, &e) < 0) {
		fprintf(stderr, "cutover: %s\n", e.msg);
		return 2;
	}
	before = journal_depth();
	if (!(stores[WS_LEGACY] = store_open(cfg->database_url, cfg, &err)) ||
	    !(stores[WS_MONGO] = store_open_batch(cfg->mongodb_uri, cfg, &err))) {
		fprintf(stderr, "cutover: %s\n", err.msg);
		rc = 2;
	}
	progress_begin(&pr, "repair", "journal", "entries", before, 0);
	while (rc == 0) {
		size_t ok, n = shadow_drain(cfg, stores, DUE_EVERY, &ok);

		applied += (int64_t)ok;
		failed += (int64_t)(n - ok);
		progress_note(&pr, applied, n == 0 || ok == 0);
		if (n == 0 || ok == 0)
			break;
	}
	if (rc == 0)
		printf("repair: journal had %lld entries: %lld applied, %lld failed, %lld left\n", (long long)before,
		       (long long)applied, (long long)failed, (long long)journal_depth());
	store_close(stores[WS_LEGACY]);
	store_close(stores[WS_MONGO]);
	journal_close();
	return rc ? rc : journal_depth() ? 1 : 0;
}

int repair_run(const struct config *cfg, const struct verify_opts *o, const char *from, bool journal)
{
	int64_t failed;

	if (journal)
		return repair_journal(cfg);
	if (from)
		return repair_from(cfg, from);
	if (run(cfg, o, true, &failed) < 0)
		return 2;
	return failed ? 1 : 0;
}
