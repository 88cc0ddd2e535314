/*
 * test_conformance.c — the adapter conformance suite.
 *
 * Written against the store interface only, it runs unchanged against every
 * adapter (CONFORMANCE_URL names the store).  Each list is checked against
 * an in-memory reference of the same filter, search, ordering and window;
 * every result is also written to CONFORMANCE_TRANSCRIPT so the runner can
 * prove all stores gave byte-identical answers.  Ids and timestamps are
 * deterministic for that reason.
 */
#include <ctype.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "config.h"
#include "drf.h"
#include "store.h"

#define OWNER 7
#define OTHER 8
#define NINV 30

static struct config *cfg;
/* Null sorts above every value in this store (PostgreSQL), else below. */
static bool nulls_high;
static struct store *st;
static const struct resource *inv, *pay;
static FILE *transcript;
static struct arena A;
static uint64_t seed = 20261121;
static struct record invoices[NINV];

static void det_uuid(unsigned char out[16])
{
	int i;

	for (i = 0; i < 16; i++) {
		seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
		out[i] = (unsigned char)(seed >> 56);
	}
	out[6] = (out[6] & 0x0f) | 0x40;
	out[8] = (out[8] & 0x3f) | 0x80;
}

static int F(const struct resource *r, const char *name)
{
	int f = resource_field(r, name);

	assert_true(f >= 0);
	return f;
}

static void set_str(struct record *rec, const struct resource *r, const char *name, const char *s)
{
	struct value *v = &rec->vals[F(r, name)];

	v->null = s == NULL;
	if (s) {
		v->u.s.p = arena_strdup(&A, s);
		v->u.s.n = strlen(s);
	}
}

static void set_int(struct record *rec, const struct resource *r, const char *name, int64_t x)
{
	rec->vals[F(r, name)].null = false;
	rec->vals[F(r, name)].u.i = x;
}

static void set_null(struct record *rec, const struct resource *r, const char *name)
{
	rec->vals[F(r, name)].null = true;
}

static void emit(const char *label, const struct resource *r, const struct record *rec)
{
	struct buf b = {0};

	drf_render_record(&b, r, rec);
	fprintf(transcript, "%s %s\n", label, buf_cstr(&b));
	buf_free(&b);
}

static void assert_same(const struct resource *r, const struct record *a, const struct record *b)
{
	size_t i, c, k;

	for (i = 0; i < r->nfields; i++) {
		if (value_cmp(&r->fields[i], &a->vals[i], &b->vals[i]) != 0)
			fail_msg("field %s.%s differs after the round trip", r->name, r->fields[i].name);
	}
	for (c = 0; c < r->nchildren; c++) {
		assert_int_equal(a->children[c].n, b->children[c].n);
		for (k = 0; k < a->children[c].n; k++)
			assert_same(r->children[c], &a->children[c].rows[k], &b->children[c].rows[k]);
	}
}

/* A varied invoice n: ASCII in the searchable fields, so every store's
 * case-insensitive match agrees. */
static void make_invoice(struct record *rec, int n)
{
	static const char *const clients[] = {"Acme Co", "acme traders", "Beta_Works", "Gamma 100%",
	                                      "Delta", "ACME Holdings"};
	static const char *const statuses[] = {"draft", "sent", "paid", "overdue", "cancelled"};
	struct child_rows *items;
	int k;

	*rec = *record_new(&A, inv);
	det_uuid(rec->vals[inv->pk].u.uuid);
	rec->vals[inv->pk].null = false;
	set_str(rec, inv, "invoice_number", arena_printf(&A, "INV-%04d", (n * 7) % 31));
	set_str(rec, inv, "client_name", clients[n % 6]);
	set_str(rec, inv, "client_email", n % 4 ? arena_printf(&A, "ap%d@example.com", n) : "");
	set_int(rec, inv, "issue_date", 20000 + (n * 13) % 9);
	if (n % 3)
		set_int(rec, inv, "due_date", 20030 + n % 5);
	else
		set_null(rec, inv, "due_date");
	set_str(rec, inv, "status", statuses[n % 5]);
	set_int(rec, inv, "subtotal", n * 1000);
	set_int(rec, inv, "tax_amount", n * 180);
	set_int(rec, inv, "total_amount", (n % 7) * 11800 - 5);
	set_str(rec, inv, "currency", n % 4 == 0 ? "USD" : "INR");
	set_str(rec, inv, "notes", n % 2 ? "h\xc3\xa9llo \xe2\x82\xb9 'quoted' \"double\" \\ %_" : "");
	/* distinct created_at except for a few deliberate ties */
	set_int(rec, inv, "created_at", 1763000000000000LL + (int64_t)(n - n % 5 * (n % 2)) * 1000);
	set_int(rec, inv, "updated_at", 1763000000000000LL + (int64_t)n * 2000);
	items = &rec->children[0];
	items->given = true;
	items->n = (size_t)(n % 4);
	items->rows = ARENA_ARRAY(&A, struct record, 4);
	for (k = 0; k < (int)items->n; k++) {
		const struct resource *it = inv->children[0];
		struct record *row = &items->rows[k];

		*row = *record_new(&A, it);
		det_uuid(row->vals[it->pk].u.uuid);
		row->vals[it->pk].null = false;
		set_str(row, it, "description", arena_printf(&A, "Item %d", k));
		set_int(row, it, "quantity", 100 + k);
		set_int(row, it, "unit_price", 5000);
		set_int(row, it, "amount", 5000 * (k + 1));
		set_int(row, it, "position", (3 - k) % 3);
	}
	drf_sort_children(inv, rec);
}

static void create_ok(const struct resource *r, int64_t owner, struct record *rec)
{
	struct store_error err;

	if (store_create(st, r, owner, rec, &err) < 0)
		fail_msg("create failed: %s", err.msg);
}

static int setup(void **state)
{
	struct config_problems pr = {0};
	struct store_error err;
	const char *url = getenv("CONFORMANCE_URL"), *out = getenv("CONFORMANCE_TRANSCRIPT");
	int i;

	(void)state;
	if (!url || !out) {
		fprintf(stderr, "set CONFORMANCE_URL and CONFORMANCE_TRANSCRIPT\n");
		return -1;
	}
	setenv("DATABASE_URL", url, 1);
	setenv("JWT_SECRET", "conformance-secret-not-real", 1);
	cfg = config_load("etc/examples/hisabpro/cutover.json", &pr);
	if (!cfg) {
		fprintf(stderr, "%s", pr.text.p);
		return -1;
	}
	inv = cfg->resources[0];
	pay = cfg->resources[1];
	nulls_high = store_nulls_high(url);
	if (!(st = store_open(url, cfg, &err))) {
		fprintf(stderr, "cannot open %s: %s\n", url, err.msg);
		return -1;
	}
	transcript = fopen(out, "w");
	arena_init(&A, 65536);
	for (i = 0; i < NINV; i++) {
		make_invoice(&invoices[i], i);
		create_ok(inv, OWNER, &invoices[i]);
	}
	return transcript ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	store_close(st);
	config_free(cfg);
	if (transcript)
		fclose(transcript);
	arena_reset(&A);
	return 0;
}

/* Values at the edges of every canonical type come back exactly. */
static void test_roundtrip_edges(void **state)
{
	struct record rec, got;
	struct store_error err;
	struct buf longname = {0};
	int i;

	(void)state;
	make_invoice(&rec, 3);
	det_uuid(rec.vals[inv->pk].u.uuid);
	for (i = 0; i < 200; i++)
		buf_puts(&longname, "\xe2\x82\xb9");               /* 200 code points, 600 bytes */
	set_str(&rec, inv, "invoice_number", "EDGE-1");
	set_str(&rec, inv, "client_name", buf_cstr(&longname));
	set_str(&rec, inv, "notes", "");
	set_int(&rec, inv, "total_amount", 999999999999LL);      /* 9999999999.99 */
	set_int(&rec, inv, "subtotal", -1);                      /* -0.01 */
	set_int(&rec, inv, "tax_amount", 0);
	set_int(&rec, inv, "issue_date", days_from_civil(1, 1, 1));
	set_int(&rec, inv, "due_date", days_from_civil(9999, 12, 31));
	set_int(&rec, inv, "created_at", days_from_civil(1, 1, 1) * 86400000000LL + 1000);
	set_int(&rec, inv, "updated_at", (days_from_civil(9999, 12, 31) * 86400 + 86399) * 1000000LL + 999000);
	rec.children[0].rows[0].vals[resource_field(inv->children[0], "quantity")].u.i = 9999999999LL;
	create_ok(inv, OTHER, &rec);
	assert_int_equal(store_get(st, inv, OTHER, rec.vals[inv->pk].u.uuid, &A, &got, &err), 0);
	assert_same(inv, &rec, &got);
	emit("edges", inv, &got);
	buf_free(&longname);
	/* and it is not anyone else's */
	assert_int_equal(store_get(st, inv, OWNER, rec.vals[inv->pk].u.uuid, &A, &got, &err), -1);
	assert_int_equal(err.code, STORE_NOT_FOUND);
}

/* The reference: what a list must return, computed in memory. */
struct combo {
	const char *status, *currency;
	const char *terms[2];
	size_t nterms;
	struct order_term order[2];
	size_t norder;
	int64_t offset, limit;
};

static const struct combo *cur;

static bool ascii_icontains(const char *hay, size_t n, const char *needle)
{
	size_t m = strlen(needle), i, j;

	/* tolower() in the C locale folds ASCII letters only, as SQLite's LIKE */
	for (i = 0; i + m <= n; i++) {
		for (j = 0; j < m; j++)
			if (tolower((unsigned char)hay[i + j]) != tolower((unsigned char)needle[j]))
				break;
		if (j == m)
			return true;
	}
	return false;
}

static bool matches(const struct record *rec)
{
	size_t t, k;

	if (cur->status && !str_eq(rec->vals[F(inv, "status")].u.s.p, rec->vals[F(inv, "status")].u.s.n, cur->status))
		return false;
	if (cur->currency &&
	    !str_eq(rec->vals[F(inv, "currency")].u.s.p, rec->vals[F(inv, "currency")].u.s.n, cur->currency))
		return false;
	for (t = 0; t < cur->nterms; t++) {
		bool any = false;

		for (k = 0; k < inv->nsearch; k++) {
			const struct value *v = &rec->vals[inv->search[k]];

			any |= ascii_icontains(v->u.s.p, v->u.s.n, cur->terms[t]);
		}
		if (!any)
			return false;
	}
	return true;
}

static int cmp_ref(const void *x, const void *y)
{
	const struct record *a = *(const struct record *const *)x, *b = *(const struct record *const *)y;
	size_t i;
	int c;

	for (i = 0; i < cur->norder; i++) {
		int f = cur->order[i].field;

		if (nulls_high && a->vals[f].null != b->vals[f].null)
			c = a->vals[f].null ? 1 : -1;
		else
			c = value_cmp(&inv->fields[f], &a->vals[f], &b->vals[f]);
		if (c)
			return cur->order[i].desc ? -c : c;
	}
	return value_cmp(&inv->fields[inv->pk], &a->vals[inv->pk], &b->vals[inv->pk]);
}

static void check_combo(const struct combo *cb, int index)
{
	struct cond conds[2];
	struct query q = {.res = inv, .owner = OWNER, .conds = conds, .terms = cb->terms,
	                  .nterms = cb->nterms, .search_fields = inv->search, .nsearch = inv->nsearch,
	                  .order = cb->order, .norder = cb->norder, .offset = cb->offset, .limit = cb->limit};
	const struct record *ref[NINV];
	struct record *rows;
	struct store_error err;
	size_t n = 0, got, i;
	int64_t count;
	bool nullable = false;

	cur = cb;
	if (cb->status) {
		conds[q.nconds].field = F(inv, "status");
		conds[q.nconds].val.null = false;
		conds[q.nconds].val.u.s.p = cb->status;
		conds[q.nconds++].val.u.s.n = strlen(cb->status);
	}
	if (cb->currency) {
		conds[q.nconds].field = F(inv, "currency");
		conds[q.nconds].val.null = false;
		conds[q.nconds].val.u.s.p = cb->currency;
		conds[q.nconds++].val.u.s.n = strlen(cb->currency);
	}
	for (i = 0; i < NINV; i++)
		if (matches(&invoices[i]))
			ref[n++] = &invoices[i];
	qsort(ref, n, sizeof(ref[0]), cmp_ref);
	assert_int_equal(store_count(st, &q, &count, &err), 0);
	assert_int_equal(count, (int64_t)n);
	assert_int_equal(store_list(st, &q, &A, &rows, &got, &err), 0);
	assert_int_equal(got, cb->offset >= (int64_t)n ? 0 :
	                 (n - (size_t)cb->offset < (size_t)cb->limit ? n - (size_t)cb->offset : (size_t)cb->limit));
	/* Where null's place decides the order, each store has its own: the
	 * transcript, compared across stores, has the count only. */
	for (i = 0; i < cb->norder; i++)
		if (inv->fields[cb->order[i].field].flags & F_NULL)
			nullable = true;
	fprintf(transcript, "list %d count=%lld%s", index, (long long)count, nullable ? " (nulls per store)" : "");
	for (i = 0; i < got; i++) {
		char id[37];

		assert_same(inv, ref[cb->offset + (int64_t)i], &rows[i]);
		uuid_format(rows[i].vals[inv->pk].u.uuid, id);
		if (!nullable)
			fprintf(transcript, " %.8s", id);
	}
	fputc('\n', transcript);
}

static void test_list_combinations(void **state)
{
	static const char *const statuses[] = {NULL, "paid", "draft"};
	static const char *const currencies[] = {NULL, "INR"};
	static const struct { const char *t[2]; size_t n; } searches[] = {
		{{NULL, NULL}, 0}, {{"acme", NULL}, 1}, {{"ACME", "co"}, 2}, {{"%", NULL}, 1},
		{{"_", NULL}, 1}, {{"example", "ap1"}, 2},
	};
	const char *orders[][2] = {{"-created_at", NULL}, {"total_amount", NULL}, {"-total_amount", NULL},
	                           {"invoice_number", NULL}, {"due_date", NULL}, {"-due_date", "issue_date"},
	                           {"issue_date", "-total_amount"}};
	static const int64_t windows[][2] = {{0, 7}, {7, 7}, {14, 20}, {28, 5}};
	size_t s, c, t, o, w;
	int index = 0;

	(void)state;
	for (s = 0; s < ARRAY_LEN(statuses); s++)
	for (c = 0; c < ARRAY_LEN(currencies); c++)
	for (t = 0; t < ARRAY_LEN(searches); t++)
	for (o = 0; o < ARRAY_LEN(orders); o++)
	for (w = 0; w < ARRAY_LEN(windows); w++) {
		struct combo cb = {.status = statuses[s], .currency = currencies[c],
		                   .nterms = searches[t].n, .offset = windows[w][0], .limit = windows[w][1]};
		size_t k;

		cb.terms[0] = searches[t].t[0];
		cb.terms[1] = searches[t].t[1];
		for (k = 0; k < 2 && orders[o][k]; k++) {
			cb.order[k].desc = orders[o][k][0] == '-';
			cb.order[k].field = F(inv, orders[o][k] + cb.order[k].desc);
			cb.norder++;
		}
		check_combo(&cb, index++);
	}
}

static void test_replace_children(void **state)
{
	struct record rec, got;
	struct store_error err;
	const struct resource *it = inv->children[0];

	(void)state;
	assert_int_equal(store_get(st, inv, OWNER, invoices[5].vals[inv->pk].u.uuid, &A, &rec, &err), 0);
	set_str(&rec, inv, "notes", "changed");
	set_null(&rec, inv, "due_date");
	rec.children[0].given = false;              /* children kept */
	assert_int_equal(store_replace(st, inv, OWNER, &rec, &err), 0);
	assert_int_equal(store_get(st, inv, OWNER, rec.vals[inv->pk].u.uuid, &A, &got, &err), 0);
	assert_same(inv, &rec, &got);
	rec.children[0].given = true;               /* children replaced */
	rec.children[0].n = 1;
	rec.children[0].rows = ARENA_ARRAY(&A, struct record, 1);
	rec.children[0].rows[0] = *record_new(&A, it);
	det_uuid(rec.children[0].rows[0].vals[it->pk].u.uuid);
	rec.children[0].rows[0].vals[it->pk].null = false;
	set_str(&rec.children[0].rows[0], it, "description", "Only");
	set_int(&rec.children[0].rows[0], it, "quantity", 0);
	set_int(&rec.children[0].rows[0], it, "unit_price", -100);
	set_int(&rec.children[0].rows[0], it, "amount", 0);
	set_int(&rec.children[0].rows[0], it, "position", 0);
	assert_int_equal(store_replace(st, inv, OWNER, &rec, &err), 0);
	assert_int_equal(store_get(st, inv, OWNER, rec.vals[inv->pk].u.uuid, &A, &got, &err), 0);
	assert_same(inv, &rec, &got);
	emit("replaced", inv, &got);
	/* another owner cannot replace it */
	assert_int_equal(store_replace(st, inv, OTHER, &rec, &err), -1);
	assert_int_equal(err.code, STORE_NOT_FOUND);
}

static void test_unique_conflicts(void **state)
{
	struct record dup, got;
	struct store_error err;

	(void)state;
	make_invoice(&dup, 40);
	set_str(&dup, inv, "invoice_number", "INV-0000");       /* invoice 0 has it */
	assert_int_equal(store_create(st, inv, OWNER, &dup, &err), -1);
	assert_int_equal(err.code, STORE_CONFLICT);
	assert_int_equal(err.unique, 0);
	/* nothing of it was written, children included */
	assert_int_equal(store_get(st, inv, OWNER, dup.vals[inv->pk].u.uuid, &A, &got, &err), -1);
	assert_int_equal(err.code, STORE_NOT_FOUND);
	/* unique per owner */
	create_ok(inv, OTHER, &dup);
	/* an update into a taken number conflicts too */
	assert_int_equal(store_get(st, inv, OWNER, invoices[1].vals[inv->pk].u.uuid, &A, &got, &err), 0);
	set_str(&got, inv, "invoice_number", "INV-0000");
	got.children[0].given = false;
	assert_int_equal(store_replace(st, inv, OWNER, &got, &err), -1);
	assert_int_equal(err.code, STORE_CONFLICT);
	assert_int_equal(err.unique, 0);
}

static void test_remove_cascades(void **state)
{
	struct record p, got;
	struct store_error err;
	const unsigned char *id = invoices[9].vals[inv->pk].u.uuid;
	bool found;

	(void)state;
	p = *record_new(&A, pay);
	det_uuid(p.vals[pay->pk].u.uuid);
	p.vals[pay->pk].null = false;
	p.vals[F(pay, "invoice")].null = false;
	memcpy(p.vals[F(pay, "invoice")].u.uuid, id, 16);
	set_int(&p, pay, "amount", 5950);
	set_str(&p, pay, "method", "upi");
	set_str(&p, pay, "transaction_id", "");
	set_str(&p, pay, "status", "captured");
	set_int(&p, pay, "paid_at", 1762077600000000LL);
	set_int(&p, pay, "created_at", 1763000000123000LL);
	create_ok(pay, OWNER, &p);
	assert_int_equal(store_get(st, pay, OWNER, p.vals[pay->pk].u.uuid, &A, &got, &err), 0);
	assert_same(pay, &p, &got);
	emit("payment", pay, &got);
	assert_int_equal(store_exists(st, inv, OWNER, id, &found, NULL, &err), 0);
	assert_true(found);
	assert_int_equal(store_exists(st, inv, OTHER, id, &found, NULL, &err), 0);
	assert_false(found);
	{
		/* By anyone, with the owner it has (a role's lookup). */
		int64_t whose = 0;

		assert_int_equal(store_exists(st, inv, OWNER_ANY, id, &found, &whose, &err), 0);
		assert_true(found);
		assert_int_equal(whose, OWNER);
	}
	assert_int_equal(store_remove(st, inv, OTHER, id, &err), -1);
	assert_int_equal(err.code, STORE_NOT_FOUND);
	assert_int_equal(store_remove(st, inv, OWNER, id, &err), 0);
	assert_int_equal(store_get(st, pay, OWNER, p.vals[pay->pk].u.uuid, &A, &got, &err), -1);
	assert_int_equal(err.code, STORE_NOT_FOUND);
	assert_int_equal(store_remove(st, inv, OWNER, id, &err), -1);
	assert_int_equal(err.code, STORE_NOT_FOUND);
	memset(&invoices[9], 0, sizeof(invoices[9]));
}

static void test_aggregate(void **state)
{
	struct query q = {.res = inv, .owner = OWNER};
	struct agg_row *rows;
	struct store_error err;
	struct record *all;
	size_t n, nall, i, j;

	(void)state;
	assert_int_equal(store_aggregate(st, &q, F(inv, "status"), F(inv, "total_amount"), &A, &rows, &n,
	                                 &err), 0);
	assert_int_equal(store_list(st, &q, &A, &all, &nall, &err), 0);
	for (i = 0; i < n; i++) {
		int64_t count = 0, sum = 0;

		if (i)
			assert_true(value_cmp(&inv->fields[F(inv, "status")], &rows[i - 1].group, &rows[i].group) < 0);
		for (j = 0; j < nall; j++) {
			if (value_cmp(&inv->fields[F(inv, "status")], &all[j].vals[F(inv, "status")], &rows[i].group) == 0) {
				count++;
				sum += all[j].vals[F(inv, "total_amount")].u.i;
			}
		}
		assert_int_equal(rows[i].count, count);
		assert_int_equal(rows[i].sum, sum);
		fprintf(transcript, "aggregate %.*s %lld %lld\n", (int)rows[i].group.u.s.n, rows[i].group.u.s.p,
		        (long long)rows[i].count, (long long)rows[i].sum);
	}
	q.owner = 999;
	assert_int_equal(store_aggregate(st, &q, F(inv, "status"), F(inv, "total_amount"), &A, &rows, &n,
	                                 &err), 0);
	assert_int_equal(n, 0);
}

/* A resource with a json field, on a table of its own (run.py creates it). */
static const char docs_config[] =
	"{\"database_url\": \"${DATABASE_URL}\", \"mongodb_uri\": \"${MONGODB_URI:-}\",\n"
	" \"jwt\": {\"secret\": \"${JWT_SECRET}\"},\n"
	" \"resources\": [{\"name\": \"docs\", \"path\": \"/api/docs/\", \"table\": \"conformance_docs\",\n"
	"  \"collection\": \"conformance_docs\", \"owner_column\": \"user_id\", \"fields\": [\n"
	"   {\"name\": \"id\", \"type\": \"uuid\", \"primary_key\": true, \"auto\": \"uuid4\"},\n"
	"   {\"name\": \"body\", \"type\": \"json\", \"null\": true, \"default\": null}]}]}";

/* Values of the json field as a request sends them.  Each is refused by
 * validation, whatever the store, or comes back from every store as the
 * text validation made of it.  No array directly inside an array: the
 * test server (FerretDB 1.x) cannot store one, MongoDB can. */
static const char *const json_bodies[] = {
	"9223372036854775807", "-9223372036854775808", "2147483648", "-2147483649", "0",
	"{\"max\": 9223372036854775807, \"min\": -9223372036854775808}",
	"\"a\\u0000b\"", "{\"nul\": \"\\u0000\", \"s\": \"q\\\"\\\\\\n\\t\\u2028\\u001f\"}",
	"{\"\\u00e9\\u20ac\": \"\\ud83d\\ude00\", \"\xd0\xba\xd0\xbb\xd1\x8e\xd1\x87\": \"\xe2\x82\xb9\", \"x$\": 1}",
	"0.1", "1.0", "0.0", "1e+300", "-1.5e-05", "5e-324", "1.7976931348623157e+308", "1e+16",
	"1000000000000000.0", "[0.1, 0.2, 0.30000000000000004]",
	"{\"b\": 1, \"a\": {\"z\": [true, false, null, {}], \"y\": []}}", "true", "null",
	"DEEP",
	/* other spellings of a double: stored as json.dumps writes it */
	"1e300", "0.10", "1E5", "1e-400", "0.30000000000000001", "{\"p\": 2.50, \"z\": -0}",
	/* refused */
	"9223372036854775808", "-9223372036854775809", "12345678901234567891", "18446744073709551616",
	"{\"k\": [1, {\"deep\": 12345678901234567891}]}", "{\"a\\u0000b\": 1}", "{\"\": 1}", "{\"$gt\": 1}",
	"{\"a.b\": 1}", "{\"a\": 1, \"a\": 2}", "-0.0", "1e400", "-1e400",
};

/* 62 levels, objects and arrays of objects by turns: the request body
 * around it makes 63, within the parser's 64. */
static const char *deep_json(void)
{
	struct buf b = {0};
	const char *out;
	int i;

	for (i = 0; i < 62; i++)
		buf_puts(&b, i % 2 ? "[" : "{\"d\\u00e9\":");
	buf_puts(&b, "\"leaf\"");
	for (i = 62; i-- > 0;)
		buf_puts(&b, i % 2 ? "]" : "}");
	out = arena_strdup(&A, buf_cstr(&b));
	buf_free(&b);
	return out;
}

/* A value validation refuses, copied without it (as a migration copies a
 * legacy row): MongoDB refuses the document rather than store another
 * value.  (The SQL stores keep JSON as text, so they hold it as it is.) */
static void mongo_refuses(struct store *ds, const struct resource *docs, const struct json *body)
{
	struct record *rec = record_new(&A, docs), got;
	struct store_error err;
	struct buf b = {0};

	det_uuid(rec->vals[docs->pk].u.uuid);
	rec->vals[docs->pk].null = false;
	json_write(&b, json_get(body, "body"));
	set_str(rec, docs, "body", buf_cstr(&b));
	buf_free(&b);
	assert_int_equal(store_create(ds, docs, OWNER, rec, &err), -1);
	assert_int_equal(err.code, STORE_INVALID);
	assert_int_equal(store_get(ds, docs, OWNER, rec->vals[docs->pk].u.uuid, &A, &got, &err), -1);
	assert_int_equal(err.code, STORE_NOT_FOUND);
}

/* Validated, created and read back: the value as the SQL path keeps it. */
static bool json_case(struct store *ds, const struct resource *docs, size_t i, struct record *out)
{
	const char *value = strcmp(json_bodies[i], "DEEP") == 0 ? deep_json() : json_bodies[i];
	const char *text = arena_printf(&A, "{\"body\": %s}", value);
	const char *url = getenv("CONFORMANCE_URL");
	struct json *body = json_parse(&A, text, strlen(text), NULL, 0, NULL);
	struct record *rec = record_new(&A, docs);
	struct store_error err;
	struct verrors ve;
	struct buf b = {0};
	int f = F(docs, "body");

	assert_non_null(body);
	verrors_init(&A, docs, &ve);
	if (drf_validate(&A, docs, body, DRF_CREATE, rec, &ve, NULL, NULL) > 0) {
		verrors_render(&b, docs, &ve);
		fprintf(transcript, "json %zu refused %s\n", i, buf_cstr(&b));
		buf_free(&b);
		if (strncmp(url, "mongodb", 7) == 0)
			mongo_refuses(ds, docs, body);
		return false;
	}
	det_uuid(rec->vals[docs->pk].u.uuid);
	rec->vals[docs->pk].null = false;
	if (store_create(ds, docs, OWNER, rec, &err) < 0)
		fail_msg("json %zu (%s): create failed: %s", i, json_bodies[i], err.msg);
	assert_int_equal(store_get(ds, docs, OWNER, rec->vals[docs->pk].u.uuid, &A, out, &err), 0);
	if (value_cmp(&docs->fields[f], &rec->vals[f], &out->vals[f]) != 0)
		fail_msg("json %zu: wrote %.*s, read %.*s", i, (int)rec->vals[f].u.s.n, rec->vals[f].u.s.p,
		         (int)out->vals[f].u.s.n, out->vals[f].u.s.p);
	emit(arena_printf(&A, "json %zu", i), docs, out);
	return true;
}

/* json values round-trip exactly, or are refused alike, on every store. */
static void test_json_field(void **state)
{
	struct config_problems pr = {0};
	struct config *dc = config_load_text("docs.json", docs_config, strlen(docs_config), &pr);
	const struct resource *docs;
	struct store *ds;
	struct store_error err;
	struct record got, last;
	struct order_term by_id;
	struct query q = {.owner = OWNER, .order = &by_id, .norder = 1, .limit = 100};
	struct record *rows;
	size_t i, n, created = 0;

	(void)state;
	if (!dc)
		fail_msg("%s", pr.text.p);
	docs = dc->resources[0];
	if (!(ds = store_open(getenv("CONFORMANCE_URL"), dc, &err)))
		fail_msg("cannot open the store: %s", err.msg);
	for (i = 0; i < ARRAY_LEN(json_bodies); i++)
		if (json_case(ds, docs, i, &got)) {
			last = got;
			created++;
		}
	/* a replace writes the new value as exactly */
	set_str(&last, docs, "body", "{\"n\":[9223372036854775807,0.1,\"\\u0000\"]}");
	assert_int_equal(store_replace(ds, docs, OWNER, &last, &err), 0);
	assert_int_equal(store_get(ds, docs, OWNER, last.vals[docs->pk].u.uuid, &A, &got, &err), 0);
	assert_same(docs, &last, &got);
	emit("json replaced", docs, &got);
	/* and a list reads them as a get does */
	q.res = docs;
	by_id.field = docs->pk;
	by_id.desc = false;
	assert_int_equal(store_list(ds, &q, &A, &rows, &n, &err), 0);
	assert_int_equal(n, created);
	for (i = 0; i < n; i++)
		emit("json listed", docs, &rows[i]);
	store_close(ds);
	config_free(dc);
	config_problems_free(&pr);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_roundtrip_edges),
		cmocka_unit_test(test_list_combinations),
		cmocka_unit_test(test_replace_children),
		cmocka_unit_test(test_unique_conflicts),
		cmocka_unit_test(test_remove_cascades),
		cmocka_unit_test(test_aggregate),
		cmocka_unit_test(test_json_field),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
