/*
 * mongo_query.c — queries as BSON (see mongo_bson.h): the filter, sort and
 * paging of a list as find options or as a pipeline, the filters the
 * adapter writes by, $group pipelines and their results as rows, and the
 * createIndexes command.  Values are appended by mongo_bson.c.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mongo_bson.h"
#include "mongo_bson_private.h"

/* Queries ------------------------------------------------------------- */

void mg_regex_escape(const char *term, size_t n, struct buf *out)
{
	size_t i;

	for (i = 0; i < n; i++) {
		char c = term[i];

		if (c == '\0') {
			buf_puts(out, "\\x00");
			continue;
		}
		if (strchr("\\.+*?()|[]{}^$", c))
			buf_putc(out, '\\');
		buf_putc(out, c);
	}
}

static void append_owner_and_conds(bson_t *f, const struct query *q)
{
	size_t i;

	if (q->owner != OWNER_ANY)      /* a role reads every owner's documents */
		mg_append_int(f, q->res->owner_column, q->owner);
	for (i = 0; i < q->nconds; i++) {
		int k = q->conds[i].field;

		mg_append_value(f, mg_key(q->res, (size_t)k), &q->res->fields[k], &q->conds[i].val);
	}
}

void mg_query_filter(const struct query *q, bson_t *filter)
{
	bson_t and, term, or, alt, rx;
	struct buf pat = {0};
	char ti[16], ai[16];
	const char *tk, *ak;
	size_t i, j;

	bson_init(filter);
	append_owner_and_conds(filter, q);
	if (q->nterms == 0)
		return;
	/* Every term in one of the search fields, as escaped text. */
	bson_append_array_begin(filter, "$and", 4, &and);
	for (i = 0; i < q->nterms; i++) {
		pat.len = 0;
		mg_regex_escape(q->terms[i], strlen(q->terms[i]), &pat);
		bson_uint32_to_string((uint32_t)i, &tk, ti, sizeof(ti));
		bson_append_document_begin(&and, tk, -1, &term);
		bson_append_array_begin(&term, "$or", 3, &or);
		for (j = 0; j < q->nsearch; j++) {
			bson_uint32_to_string((uint32_t)j, &ak, ai, sizeof(ai));
			bson_append_document_begin(&or, ak, -1, &alt);
			bson_append_document_begin(&alt, mg_key(q->res, (size_t)q->search_fields[j]), -1, &rx);
			bson_append_utf8(&rx, "$regex", 6, pat.p ? pat.p : "", (int)pat.len);
			bson_append_utf8(&rx, "$options", 8, "i", 1);
			bson_append_document_end(&alt, &rx);
			bson_append_document_end(&or, &alt);
		}
		bson_append_array_end(&term, &or);
		bson_append_document_end(&and, &term);
	}
	bson_append_array_end(filter, &and);
	buf_free(&pat);
}

/* Stored as a BSON string: its $type name sorts above "missing" and "null". */
static bool stored_as_string(const struct field *f)
{
	return f->type == CT_UUID || f->type == CT_STRING || f->type == CT_TEXT ||
	       (f->type == CT_DECIMAL && f->mongo_decimal == MD_STRING);
}

static bool null_key_needed(const struct query *q, size_t i, bool nulls_high)
{
	return nulls_high && (q->res->fields[q->order[i].field].flags & F_NULL);
}

/* MongoDB sorts null below every value, as SQLite does.  Where the legacy
 * store sorts it above (PostgreSQL), each nullable field is preceded by
 * the $type of its value ("null" or "missing" against the value's type),
 * in the direction that puts the nulls last ascending, first descending. */
static void append_sort(bson_t *b, const char *key, const struct query *q, bool nulls_high)
{
	const struct resource *r = q->res;
	bson_t sort;
	char nk[32];
	size_t i;
	bool has_pk = false;

	bson_append_document_begin(b, key, -1, &sort);
	for (i = 0; i < q->norder; i++) {
		const struct order_term *o = &q->order[i];

		if (null_key_needed(q, i, nulls_high)) {
			snprintf(nk, sizeof(nk), "__null%zu", i);
			bson_append_int32(&sort, nk, -1, o->desc != stored_as_string(&r->fields[o->field]) ? -1 : 1);
		}
		bson_append_int32(&sort, mg_key(r, (size_t)o->field), -1, o->desc ? -1 : 1);
		has_pk |= o->field == r->pk;
	}
	/* The id breaks ties, so pages never overlap or skip. */
	if (!has_pk)
		bson_append_int32(&sort, "_id", 3, 1);
	bson_append_document_end(b, &sort);
}

void mg_query_opts(const struct query *q, bson_t *opts)
{
	bson_init(opts);
	append_sort(opts, "sort", q, false);
	if (q->offset > 0)
		bson_append_int64(opts, "skip", 4, q->offset);
	if (q->limit > 0)
		bson_append_int64(opts, "limit", 5, q->limit);
}

/* Stage n of pipeline, begun in stage; the first is the query's $match. */
static void stage_begin(bson_t *pipeline, uint32_t n, bson_t *stage)
{
	char ki[16];
	const char *k;

	bson_uint32_to_string(n, &k, ki, sizeof(ki));
	bson_append_document_begin(pipeline, k, -1, stage);
}

static void match_stage(bson_t *pipeline, const struct query *q)
{
	bson_t stage, filter;

	bson_init(pipeline);
	mg_query_filter(q, &filter);
	stage_begin(pipeline, 0, &stage);
	bson_append_document(&stage, "$match", 6, &filter);
	bson_append_document_end(pipeline, &stage);
	bson_destroy(&filter);
}

bool mg_query_pipeline(const struct query *q, bool nulls_high, bson_t *pipeline)
{
	bson_t stage, inner, type;
	char nk[32], ref[128];
	uint32_t n = 1;
	size_t i;
	bool any = false;

	for (i = 0; i < q->norder; i++)
		any |= null_key_needed(q, i, nulls_high);
	if (!any)
		return false;
	match_stage(pipeline, q);
	stage_begin(pipeline, n++, &stage);
	bson_append_document_begin(&stage, "$addFields", 10, &inner);
	for (i = 0; i < q->norder; i++) {
		if (!null_key_needed(q, i, nulls_high))
			continue;
		snprintf(nk, sizeof(nk), "__null%zu", i);
		snprintf(ref, sizeof(ref), "$%s", mg_key(q->res, (size_t)q->order[i].field));
		bson_append_document_begin(&inner, nk, -1, &type);
		bson_append_utf8(&type, "$type", 5, ref, -1);
		bson_append_document_end(&inner, &type);
	}
	bson_append_document_end(&stage, &inner);
	bson_append_document_end(pipeline, &stage);
	stage_begin(pipeline, n++, &stage);
	append_sort(&stage, "$sort", q, true);
	bson_append_document_end(pipeline, &stage);
	if (q->offset > 0) {
		stage_begin(pipeline, n++, &stage);
		bson_append_int64(&stage, "$skip", 5, q->offset);
		bson_append_document_end(pipeline, &stage);
	}
	if (q->limit > 0) {
		stage_begin(pipeline, n++, &stage);
		bson_append_int64(&stage, "$limit", 6, q->limit);
		bson_append_document_end(pipeline, &stage);
	}
	return true;
}

void mg_id_filter(const struct resource *r, int64_t owner, const unsigned char id[16], bson_t *filter)
{
	char tmp[UUID_STR_LEN + 1];

	bson_init(filter);
	uuid_format(id, tmp);
	bson_append_utf8(filter, "_id", 3, tmp, UUID_STR_LEN);
	if (owner != OWNER_ANY)
		mg_append_int(filter, r->owner_column, owner);
}

void mg_unique_filter(const struct resource *r, const struct unique *u, int64_t owner,
                      const struct record *rec, bson_t *filter)
{
	bson_t ne;
	size_t i;

	bson_init(filter);
	mg_append_int(filter, r->owner_column, owner);
	for (i = 0; i < u->nfields; i++)
		mg_append_value(filter, mg_key(r, (size_t)u->fields[i]), &r->fields[u->fields[i]],
		                &rec->vals[u->fields[i]]);
	bson_append_document_begin(filter, "_id", 3, &ne);
	mg_append_value(&ne, "$ne", &r->fields[r->pk], &rec->vals[r->pk]);
	bson_append_document_end(filter, &ne);
}

void mg_version_filter(const struct resource *r, const struct record *rec, int version_field, bson_t *filter)
{
	bson_t lte;

	bson_init(filter);
	mg_append_value(filter, "_id", &r->fields[r->pk], &rec->vals[r->pk]);
	if (version_field < 0 || rec->vals[version_field].null)
		return;
	bson_append_document_begin(filter, mg_key(r, (size_t)version_field), -1, &lte);
	mg_append_value(&lte, "$lte", &r->fields[version_field], &rec->vals[version_field]);
	bson_append_document_end(filter, &lte);
}

void mg_ref_filter(const struct field *f, const unsigned char id[16], bson_t *filter)
{
	char tmp[UUID_STR_LEN + 1];

	bson_init(filter);
	uuid_format(id, tmp);
	bson_append_utf8(filter, f->column, -1, tmp, UUID_STR_LEN);
}

void mg_group_pipeline(const struct query *q, int group_field, int sum_field, enum mg_group what,
                       bson_t *pipeline)
{
	const struct resource *r = q->res;
	bson_t stage, inner, acc;
	struct buf path = {0};

	match_stage(pipeline, q);
	stage_begin(pipeline, 1, &stage);
	bson_append_document_begin(&stage, "$group", 6, &inner);
	buf_printf(&path, "$%s", mg_key(r, (size_t)group_field));
	bson_append_utf8(&inner, "_id", 3, path.p, (int)path.len);
	if (what != MG_GROUP_SUM) {
		bson_append_document_begin(&inner, "n", 1, &acc);
		bson_append_int32(&acc, "$sum", 4, 1);
		bson_append_document_end(&inner, &acc);
	}
	if (what != MG_GROUP_COUNT) {
		path.len = 0;
		buf_printf(&path, "$%s", mg_key(r, (size_t)sum_field));
		bson_append_document_begin(&inner, "s", 1, &acc);
		bson_append_utf8(&acc, "$sum", 4, path.p, (int)path.len);
		bson_append_document_end(&inner, &acc);
	}
	bson_append_document_end(&stage, &inner);
	bson_append_document_end(pipeline, &stage);

	stage_begin(pipeline, 2, &stage);
	bson_append_document_begin(&stage, "$sort", 5, &inner);
	bson_append_int32(&inner, "_id", 3, 1);
	bson_append_document_end(&stage, &inner);
	bson_append_document_end(pipeline, &stage);
	buf_free(&path);
}

/* A $sum result in the field's units: minor units summed as integers, or
 * a Decimal128 (or plain number) sum of the values. */
static int sum_units(const bson_iter_t *it, const struct field *f, int64_t *units)
{
	bson_type_t t = bson_iter_type(it);

	if (f->mongo_decimal == MD_INT64 && t == BSON_TYPE_DOUBLE)
		return -1;      /* the int64 sum overflowed */
	return mg_read_decimal(it, f, units);
}

static bool same_group(const bson_t *a, const bson_t *b)
{
	bson_iter_t x, y;
	const bson_value_t *vx, *vy;

	if (!bson_iter_init_find(&x, a, "_id") || !bson_iter_init_find(&y, b, "_id"))
		return false;
	vx = bson_iter_value(&x);
	vy = bson_iter_value(&y);
	if (vx->value_type != vy->value_type)
		return false;
	switch (vx->value_type) {
	case BSON_TYPE_UTF8:
		return vx->value.v_utf8.len == vy->value.v_utf8.len &&
		       memcmp(vx->value.v_utf8.str, vy->value.v_utf8.str, vx->value.v_utf8.len) == 0;
	case BSON_TYPE_NULL:
		return true;
	default: {
		bson_t ca = BSON_INITIALIZER, cb = BSON_INITIALIZER;
		bool eq;

		bson_append_value(&ca, "v", 1, vx);
		bson_append_value(&cb, "v", 1, vy);
		eq = bson_equal(&ca, &cb);
		bson_destroy(&ca);
		bson_destroy(&cb);
		return eq;
	}
	}
}

int mg_group_rows(const struct resource *r, int group_field, int sum_field, const bson_t *counts,
                  size_t ncounts, const bson_t *sums, size_t nsums, struct arena *a,
                  struct agg_row **rows, size_t *n, struct store_error *err)
{
	const struct field *sf = &r->fields[sum_field];
	size_t i, k;

	*rows = ARENA_ARRAY(a, struct agg_row, ncounts ? ncounts : 1);
	*n = ncounts;
	for (i = 0; i < ncounts; i++) {
		struct agg_row *row = &(*rows)[i];
		const bson_t *sdoc = &counts[i];
		bson_iter_t it;

		if (!bson_iter_init_find(&it, &counts[i], "_id") ||
		    mg_read_value(&it, &r->fields[group_field], a, &row->group) < 0)
			goto bad;
		if (!bson_iter_init_find(&it, &counts[i], "n"))
			goto bad;
		row->count = bson_iter_as_int64(&it);
		if (sums) {
			/* Both runs are sorted by group: usually the same index. */
			sdoc = NULL;
			for (k = 0; k < nsums && !sdoc; k++)
				if (same_group(&counts[i], &sums[(i + k) % nsums]))
					sdoc = &sums[(i + k) % nsums];
		}
		row->sum = 0;
		if (sdoc && bson_iter_init_find(&it, sdoc, "s") && sum_units(&it, sf, &row->sum) < 0)
			goto bad;
	}
	return 0;
bad:
	store_error_set(err, STORE_INVALID, "mongodb: %s: a group of %s or its sum of %s is not readable",
	                r->collection, r->fields[group_field].column, sf->column);
	return -1;
}

void mg_docs_free(bson_t *docs, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		bson_destroy(&docs[i]);
	bson_free(docs);
}

/* Indexes -------------------------------------------------------------- */

void mg_unique_index_name(const struct resource *r, const struct unique *u, char out[MG_INDEX_NAME_MAX])
{
	size_t i;
	int o = snprintf(out, MG_INDEX_NAME_MAX, "unique_%s", r->owner_column);

	for (i = 0; i < u->nfields && o < MG_INDEX_NAME_MAX; i++)
		o += snprintf(out + o, MG_INDEX_NAME_MAX - (size_t)o, "_%s", mg_key(r, (size_t)u->fields[i]));
}

struct index_list {
	bson_t arr;
	const char *const *skip;        /* names that exist already */
	size_t nskip, added;
	const char *keys[64][8];        /* key columns already indexed */
	size_t nkeys[64];
	size_t n;
};

static void add_index(struct index_list *l, const char *const *cols, size_t ncols, const char *name,
                      bool unique)
{
	bson_t idx, key;
	char pos[16], gen[MG_INDEX_NAME_MAX];
	const char *pk;
	size_t i, k;
	int o = 0;

	for (i = 0; i < l->n; i++) {
		if (l->nkeys[i] != ncols)
			continue;
		for (k = 0; k < ncols && strcmp(l->keys[i][k], cols[k]) == 0; k++)
			;
		if (k == ncols)
			return;
	}
	if (l->n == 64 || ncols > 8)
		return;
	for (k = 0; k < ncols; k++)
		l->keys[l->n][k] = cols[k];
	l->nkeys[l->n++] = ncols;
	if (!name) {
		for (k = 0; k < ncols && o < MG_INDEX_NAME_MAX; k++)
			o += snprintf(gen + o, MG_INDEX_NAME_MAX - (size_t)o, "%s%s", k ? "_" : "", cols[k]);
		name = gen;
	}
	for (i = 0; i < l->nskip; i++)
		if (strcmp(l->skip[i], name) == 0)
			return;
	bson_uint32_to_string((uint32_t)l->added++, &pk, pos, sizeof(pos));
	bson_append_document_begin(&l->arr, pk, -1, &idx);
	bson_append_document_begin(&idx, "key", 3, &key);
	for (k = 0; k < ncols; k++)
		bson_append_int32(&key, cols[k], -1, 1);
	bson_append_document_end(&idx, &key);
	bson_append_utf8(&idx, "name", 4, name, -1);
	if (unique)
		bson_append_bool(&idx, "unique", 6, true);
	bson_append_document_end(&l->arr, &idx);
}

size_t mg_index_command(const struct config *cfg, const struct resource *r,
                        const char *const *existing, size_t nexisting, bson_t *cmd)
{
	struct index_list *l = xcalloc(1, sizeof(*l));
	size_t added;
	const char *cols[8];
	char name[MG_INDEX_NAME_MAX];
	size_t i, k, c;

	bson_init(cmd);
	bson_append_utf8(cmd, "createIndexes", -1, r->collection, -1);
	bson_append_array_begin(cmd, "indexes", -1, &l->arr);
	l->skip = existing;
	l->nskip = nexisting;
	cols[0] = r->owner_column;
	/* Unique constraints first: their key also serves owner + field. */
	for (i = 0; i < r->nuniques; i++) {
		const struct unique *u = &r->uniques[i];

		for (k = 0; k < u->nfields && k < 7; k++)
			cols[k + 1] = mg_key(r, (size_t)u->fields[k]);
		mg_unique_index_name(r, u, name);
		add_index(l, cols, k + 1, name, true);
	}
	add_index(l, cols, 1, NULL, false);
	for (i = 0; i < r->nfilters; i++) {
		cols[1] = mg_key(r, (size_t)r->filters[i]);
		add_index(l, cols, 2, NULL, false);
	}
	for (i = 0; i < r->nordering; i++) {
		cols[1] = mg_key(r, (size_t)r->ordering[i].field);
		add_index(l, cols, 2, NULL, false);
	}
	for (i = 0; i < r->norderable; i++) {
		cols[1] = mg_key(r, (size_t)r->orderable[i]);
		add_index(l, cols, 2, NULL, false);
	}
	/* Deleting a resource deletes the documents here that reference it. */
	for (i = 0; i < cfg->nresources; i++)
		for (c = 0; c < cfg->resources[i]->ncascades; c++)
			if (cfg->resources[i]->cascades[c].res == r) {
				cols[0] = mg_key(r, (size_t)cfg->resources[i]->cascades[c].field);
				add_index(l, cols, 1, NULL, false);
			}
	bson_append_array_end(cmd, &l->arr);
	added = l->added;
	free(l);
	return added;
}
