/*
 * sql.c — query building shared by the relational adapters (see sql.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sql.h"

void sql_init(struct sql *q, const struct sql_dialect *d, struct arena *a)
{
	memset(q, 0, sizeof(*q));
	q->d = d;
	q->arena = a;
}

static void sql_reset(struct sql *q)
{
	q->text.len = 0;
	q->n = 0;
}

void sql_free(struct sql *q)
{
	buf_free(&q->text);
	free(q->params);
	q->params = NULL;
	q->n = q->cap = 0;
}

const char *sql_text(struct sql *q)
{
	return buf_cstr(&q->text);
}

static struct sql_param *add_param(struct sql *q)
{
	if (q->n == q->cap) {
		q->cap = q->cap ? q->cap * 2 : 16;
		q->params = xrealloc(q->params, q->cap * sizeof(*q->params));
	}
	memset(&q->params[q->n], 0, sizeof(q->params[0]));
	q->n++;
	if (q->d->numbered)
		buf_printf(&q->text, "$%zu", q->n);
	else
		buf_putc(&q->text, '?');
	return &q->params[q->n - 1];
}

static void param_value(struct sql *q, const struct field *f, const struct value *v)
{
	struct sql_param *p = add_param(q);

	p->kind = SQLP_VALUE;
	p->field = f;
	p->val = v;
}

static void param_int(struct sql *q, int64_t i)
{
	struct sql_param *p = add_param(q);

	p->kind = SQLP_INT;
	p->i = i;
}

static void param_text(struct sql *q, const char *s, size_t n)
{
	struct sql_param *p = add_param(q);

	p->kind = SQLP_TEXT;
	p->text = s;
	p->len = n;
}

/* A quoted identifier, its quotes doubled as SQL escapes them: the
 * loader's refusal of unusual names is not what keeps the SQL whole. */
static void ident(struct sql *q, const char *name)
{
	const char *p;

	buf_putc(&q->text, '"');
	while ((p = strchr(name, '"'))) {
		buf_put(&q->text, name, (size_t)(p - name) + 1);
		buf_putc(&q->text, '"');
		name = p + 1;
	}
	buf_puts(&q->text, name);
	buf_putc(&q->text, '"');
}

static void columns(struct sql *q, const struct resource *r)
{
	size_t i;

	for (i = 0; i < r->nfields; i++) {
		if (i)
			buf_putc(&q->text, ',');
		ident(q, r->fields[i].column);
	}
}

static void where(struct sql *q, const struct query *qy)
{
	const struct resource *r = qy->res;
	size_t i, j;

	buf_puts(&q->text, " WHERE ");
	if (qy->owner == OWNER_ANY) {
		buf_puts(&q->text, "1=1");      /* a role reads every owner's rows */
	} else {
		ident(q, r->owner_column);
		buf_putc(&q->text, '=');
		param_int(q, qy->owner);
	}
	for (i = 0; i < qy->nconds; i++) {
		buf_puts(&q->text, " AND ");
		ident(q, r->fields[qy->conds[i].field].column);
		buf_putc(&q->text, '=');
		param_value(q, &r->fields[qy->conds[i].field], &qy->conds[i].val);
	}
	for (i = 0; i < qy->nterms; i++) {
		/* '%term%' with the pattern characters escaped: search is text. */
		const char *t = qy->terms[i];
		size_t n = strlen(t), k, o = 0;
		char *pat = arena_alloc(q->arena, 2 * n + 4);

		pat[o++] = '%';
		for (k = 0; k < n; k++) {
			if (t[k] == '%' || t[k] == '_' || t[k] == '\\')
				pat[o++] = '\\';
			pat[o++] = t[k];
		}
		pat[o++] = '%';
		pat[o] = '\0';
		buf_puts(&q->text, " AND (");
		for (j = 0; j < qy->nsearch; j++) {
			if (j)
				buf_puts(&q->text, " OR ");
			ident(q, r->fields[qy->search_fields[j]].column);
			buf_printf(&q->text, " %s ", q->d->like);
			param_text(q, pat, o);
			buf_puts(&q->text, " ESCAPE '\\'");
		}
		buf_putc(&q->text, ')');
	}
}

static void order(struct sql *q, const struct resource *r, const char *first,
                  const struct order_term *o, size_t n)
{
	size_t i;

	buf_puts(&q->text, " ORDER BY ");
	if (first) {
		ident(q, first);
		buf_puts(&q->text, " ASC,");
	}
	for (i = 0; i < n; i++) {
		const struct field *f = &r->fields[o[i].field];

		/* Text in the column's collation, as Django orders it. */
		ident(q, f->column);
		buf_puts(&q->text, o[i].desc ? " DESC" : " ASC");
		buf_putc(&q->text, ',');
	}
	/* The primary key breaks ties, so pages never overlap or skip. */
	ident(q, r->fields[r->pk].column);
	buf_puts(&q->text, " ASC");
}

void sql_count(struct sql *q, const struct query *qy)
{
	sql_reset(q);
	buf_puts(&q->text, "SELECT COUNT(*) FROM ");
	ident(q, qy->res->table);
	where(q, qy);
}

void sql_list(struct sql *q, const struct query *qy)
{
	sql_reset(q);
	buf_puts(&q->text, "SELECT ");
	columns(q, qy->res);
	buf_puts(&q->text, " FROM ");
	ident(q, qy->res->table);
	where(q, qy);
	order(q, qy->res, NULL, qy->order, qy->norder);
	if (qy->limit > 0) {
		buf_puts(&q->text, " LIMIT ");
		param_int(q, qy->limit);
	}
	if (qy->offset > 0) {
		buf_puts(&q->text, q->d->numbered || qy->limit > 0 ? " OFFSET " : " LIMIT -1 OFFSET ");
		param_int(q, qy->offset);
	}
}

void sql_by_id(struct sql *q, const struct resource *r, int64_t owner, const struct value *id,
               enum sql_select what)
{
	sql_reset(q);
	buf_puts(&q->text, "SELECT ");
	if (what == SQL_ONE)
		buf_putc(&q->text, '1');
	else if (what == SQL_OWNER)
		ident(q, r->owner_column);
	else
		columns(q, r);
	buf_puts(&q->text, " FROM ");
	ident(q, r->table);
	buf_puts(&q->text, " WHERE ");
	ident(q, r->fields[r->pk].column);
	buf_putc(&q->text, '=');
	param_value(q, &r->fields[r->pk], id);
	if (owner != OWNER_ANY) {
		buf_puts(&q->text, " AND ");
		ident(q, r->owner_column);
		buf_putc(&q->text, '=');
		param_int(q, owner);
	}
}

void sql_children(struct sql *q, const struct resource *parent, const struct resource *child,
                  const struct record *parents, size_t n)
{
	size_t i;

	sql_reset(q);
	buf_puts(&q->text, "SELECT ");
	columns(q, child);
	buf_putc(&q->text, ',');
	ident(q, child->fk_column);
	buf_puts(&q->text, " FROM ");
	ident(q, child->table);
	buf_puts(&q->text, " WHERE ");
	ident(q, child->fk_column);
	buf_puts(&q->text, " IN (");
	for (i = 0; i < n; i++) {
		if (i)
			buf_putc(&q->text, ',');
		param_value(q, &parent->fields[parent->pk], &parents[i].vals[parent->pk]);
	}
	buf_putc(&q->text, ')');
	order(q, child, child->fk_column, child->ordering, child->nordering);
}

void sql_insert(struct sql *q, const struct resource *r, int64_t owner,
                const struct resource *parent, const struct value *parent_id,
                const struct record *rec)
{
	size_t i;

	sql_reset(q);
	buf_puts(&q->text, "INSERT INTO ");
	ident(q, r->table);
	buf_puts(&q->text, " (");
	columns(q, r);
	buf_putc(&q->text, ',');
	ident(q, parent ? r->fk_column : r->owner_column);
	buf_puts(&q->text, ") VALUES (");
	for (i = 0; i < r->nfields; i++) {
		param_value(q, &r->fields[i], &rec->vals[i]);
		buf_putc(&q->text, ',');
	}
	if (parent)
		param_value(q, &parent->fields[parent->pk], parent_id);
	else
		param_int(q, owner);
	buf_putc(&q->text, ')');
}

void sql_update(struct sql *q, const struct resource *r, int64_t owner, const struct record *rec)
{
	size_t i;
	bool first = true;

	sql_reset(q);
	buf_puts(&q->text, "UPDATE ");
	ident(q, r->table);
	buf_puts(&q->text, " SET ");
	for (i = 0; i < r->nfields; i++) {
		if ((int)i == r->pk)
			continue;
		if (!first)
			buf_putc(&q->text, ',');
		first = false;
		ident(q, r->fields[i].column);
		buf_putc(&q->text, '=');
		param_value(q, &r->fields[i], &rec->vals[i]);
	}
	buf_puts(&q->text, " WHERE ");
	ident(q, r->fields[r->pk].column);
	buf_putc(&q->text, '=');
	param_value(q, &r->fields[r->pk], &rec->vals[r->pk]);
	buf_puts(&q->text, " AND ");
	ident(q, r->owner_column);
	buf_putc(&q->text, '=');
	param_int(q, owner);
}

void sql_delete_where(struct sql *q, const char *table, const char *column,
                      const struct field *f, const struct value *v)
{
	sql_reset(q);
	buf_puts(&q->text, "DELETE FROM ");
	ident(q, table);
	buf_puts(&q->text, " WHERE ");
	ident(q, column);
	buf_putc(&q->text, '=');
	param_value(q, f, v);
}

void sql_delete_grandchildren(struct sql *q, const struct resource *o, const struct resource *child,
                              const char *col, const struct field *f, const struct value *v)
{
	sql_reset(q);
	buf_puts(&q->text, "DELETE FROM ");
	ident(q, child->table);
	buf_puts(&q->text, " WHERE ");
	ident(q, child->fk_column);
	buf_puts(&q->text, " IN (SELECT ");
	ident(q, o->fields[o->pk].column);
	buf_puts(&q->text, " FROM ");
	ident(q, o->table);
	buf_puts(&q->text, " WHERE ");
	ident(q, col);
	buf_putc(&q->text, '=');
	param_value(q, f, v);
	buf_putc(&q->text, ')');
}

void sql_aggregate(struct sql *q, const struct query *qy, int group_field, int sum_field)
{
	const struct resource *r = qy->res;
	const struct field *sf = &r->fields[sum_field];
	long long scale = 1;
	int k;

	for (k = 0; k < sf->places; k++)
		scale *= 10;
	sql_reset(q);
	buf_puts(&q->text, "SELECT ");
	ident(q, r->fields[group_field].column);
	/* Each value is scaled to whole units before summing, so the sum is an
	 * exact integer even where SQLite stored the decimal as a REAL. */
	buf_puts(&q->text, ", COUNT(*), SUM(CAST(ROUND(");
	ident(q, sf->column);
	buf_printf(&q->text, " * %lld) AS BIGINT)) FROM ", scale);
	ident(q, r->table);
	where(q, qy);
	buf_puts(&q->text, " GROUP BY 1 ORDER BY ");
	ident(q, r->fields[group_field].column);
}

int sql_write_children(struct sql *q, const struct resource *r, const struct record *rec,
                       bool replace, sql_exec_fn exec, void *ctx, struct store_error *err)
{
	size_t c, i;

	for (c = 0; c < r->nchildren; c++) {
		const struct resource *ch = r->children[c];

		if (!rec->children[c].given)
			continue;
		if (replace) {
			sql_delete_where(q, ch->table, ch->fk_column, &r->fields[r->pk], &rec->vals[r->pk]);
			if (exec(ctx, q, err) < 0)
				return -1;
		}
		for (i = 0; i < rec->children[c].n; i++) {
			sql_insert(q, ch, 0, r, &rec->vals[r->pk], &rec->children[c].rows[i]);
			if (exec(ctx, q, err) < 0)
				return -1;
		}
	}
	return 0;
}

int sql_delete_tree(struct sql *q, const struct resource *r, const struct value *id,
                    sql_exec_fn exec, void *ctx, struct store_error *err)
{
	const struct field *idf = &r->fields[r->pk];
	size_t i, c;

	for (i = 0; i < r->ncascades; i++) {
		const struct resource *o = r->cascades[i].res;
		const char *col = o->fields[r->cascades[i].field].column;

		for (c = 0; c < o->nchildren; c++) {
			sql_delete_grandchildren(q, o, o->children[c], col, idf, id);
			if (exec(ctx, q, err) < 0)
				return -1;
		}
		sql_delete_where(q, o->table, col, idf, id);
		if (exec(ctx, q, err) < 0)
			return -1;
	}
	for (c = 0; c < r->nchildren; c++) {
		sql_delete_where(q, r->children[c]->table, r->children[c]->fk_column, idf, id);
		if (exec(ctx, q, err) < 0)
			return -1;
	}
	sql_delete_where(q, r->table, idf->column, idf, id);
	return exec(ctx, q, err);
}

/* The shared write sequence ------------------------------------------ */

struct writing {
	const struct sql_writer *w;
	void *ctx;
};

static int exec_one(void *arg, struct sql *q, struct store_error *err)
{
	struct writing *x = arg;

	return x->w->exec(x->ctx, q, NULL, err);
}

/* An INSERT (or an UPDATE of an owned row, which must exist), then the
 * children, in one transaction. */
static int write_record(const struct sql_writer *w, void *ctx, const struct resource *r, int64_t owner,
                        const struct record *rec, bool replace, struct store_error *err)
{
	struct writing x = {w, ctx};
	struct sql q;
	long changed = 0;
	int rc;

	if (w->begin(ctx, err) < 0)
		return -1;
	sql_init(&q, w->dialect, NULL);
	if (replace)
		sql_update(&q, r, owner, rec);
	else
		sql_insert(&q, r, owner, NULL, NULL, rec);
	rc = w->exec(ctx, &q, &changed, err);
	if (rc == 0 && replace && changed == 0) {
		store_error_set(err, STORE_NOT_FOUND, "not found");
		rc = -1;
	}
	if (rc == 0)
		rc = sql_write_children(&q, r, rec, replace, exec_one, &x, err);
	sql_free(&q);
	rc = w->finish(ctx, rc, err);
	if (rc < 0)
		store_conflict_unique(r, err);
	return rc;
}

int sql_create(const struct sql_writer *w, void *ctx, const struct resource *r, int64_t owner,
               const struct record *rec, struct store_error *err)
{
	return write_record(w, ctx, r, owner, rec, false, err);
}

int sql_replace(const struct sql_writer *w, void *ctx, const struct resource *r, int64_t owner,
                const struct record *rec, struct store_error *err)
{
	return write_record(w, ctx, r, owner, rec, true, err);
}

int sql_remove(const struct sql_writer *w, void *ctx, const struct resource *r, int64_t owner,
               const unsigned char id[16], struct store_error *err)
{
	struct writing x = {w, ctx};
	struct value v = {.null = false};
	struct sql q;
	bool found;
	int rc;

	memcpy(v.u.uuid, id, 16);
	if (w->begin(ctx, err) < 0)
		return -1;
	rc = w->exists(ctx, r, owner, id, &found, err);
	if (rc == 0 && !found) {
		store_error_set(err, STORE_NOT_FOUND, "not found");
		rc = -1;
	}
	sql_init(&q, w->dialect, NULL);
	if (rc == 0)
		rc = sql_delete_tree(&q, r, &v, exec_one, &x, err);
	sql_free(&q);
	return w->finish(ctx, rc, err);
}

int sql_read_children(const struct sql_dialect *d, const struct resource *r, struct arena *a,
                      struct record *recs, size_t n, sql_read_fn read, void *ctx,
                      struct store_error *err)
{
	struct sql q;
	size_t c;
	int rc = 0;

	if (n == 0)
		return 0;
	sql_init(&q, d, a);
	for (c = 0; c < r->nchildren && rc == 0; c++) {
		struct record *kids;
		unsigned char (*fks)[16];
		size_t nkids;

		sql_children(&q, r, r->children[c], recs, n);
		rc = read(ctx, &q, r->children[c], a, &kids, &nkids, &fks, err);
		if (rc == 0)
			store_distribute_children(a, r, c, recs, n, kids, (const unsigned char (*)[16])fks, nkids);
	}
	sql_free(&q);
	return rc;
}

const char sql_routes_table[] =
	"CREATE TABLE IF NOT EXISTS cutover_routes (route TEXT PRIMARY KEY, mode TEXT NOT NULL, "
	"sample INTEGER NOT NULL, version BIGINT NOT NULL, updated_at TEXT NOT NULL)";

void sql_routes_upsert(struct sql *q, const struct route_row *row, const char *now)
{
	sql_reset(q);
	buf_puts(&q->text, "INSERT INTO cutover_routes (route, mode, sample, version, updated_at) VALUES (");
	param_text(q, row->route, strlen(row->route));
	buf_putc(&q->text, ',');
	param_text(q, row->mode, strlen(row->mode));
	buf_putc(&q->text, ',');
	param_int(q, row->sample);
	buf_puts(&q->text, ",1,");
	param_text(q, now, strlen(now));
	buf_puts(&q->text, ") ON CONFLICT (route) DO UPDATE SET mode=excluded.mode, sample=excluded.sample, "
	         "version=cutover_routes.version+1, updated_at=excluded.updated_at");
}

void sql_routes_select(struct sql *q)
{
	sql_reset(q);
	buf_puts(&q->text, "SELECT route, mode, sample, version FROM cutover_routes ORDER BY route");
}

void sql_scan(struct sql *q, const struct resource *r, const struct value *after, size_t limit)
{
	sql_reset(q);
	buf_puts(&q->text, "SELECT ");
	columns(q, r);
	buf_putc(&q->text, ',');
	ident(q, r->owner_column);
	buf_puts(&q->text, " FROM ");
	ident(q, r->table);
	if (after) {
		buf_puts(&q->text, " WHERE ");
		ident(q, r->fields[r->pk].column);
		buf_putc(&q->text, '>');
		param_value(q, &r->fields[r->pk], after);
	}
	buf_puts(&q->text, " ORDER BY ");
	ident(q, r->fields[r->pk].column);
	buf_puts(&q->text, " LIMIT ");
	param_int(q, (int64_t)limit);
}

void sql_size(struct sql *q, const struct resource *r)
{
	sql_reset(q);
	buf_puts(&q->text, "SELECT COUNT(*) FROM ");
	ident(q, r->table);
}
