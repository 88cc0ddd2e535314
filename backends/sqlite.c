/*
 * sqlite.c — the SQLite store adapter.
 *
 * Values are stored exactly as Django stores them, so the legacy
 * application reads what the gateway writes and the other way round:
 * uuid as 32 lower-case hex characters, datetimes as naive UTC text
 * "YYYY-MM-DD HH:MM:SS[.ffffff]", dates as "YYYY-MM-DD", decimals bound as
 * text with NUMERIC affinity doing the rest, booleans as 0/1.
 *
 * One connection per thread (SQLite is local and answers in microseconds,
 * so calls run inline on the event loop); WAL mode lets readers on other
 * threads proceed while one writes.  Prepared statements are cached per
 * connection, keyed by their SQL text.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "store.h"

#define STMT_CACHE_MAX 256

struct stmt_entry {
	char *sql;
	sqlite3_stmt *stmt;
	const void *key;            /* fixed-shape statements: (key, kind) … */
	int kind;                   /* … find them without building SQL text */
};

enum stmt_kind { K_NONE, K_GET, K_EXISTS, K_CHILDREN };

struct sqlite_store {
	struct store base;          /* must be first */
	sqlite3 *db;
	struct stmt_entry cache[STMT_CACHE_MAX];
	size_t ncache;
};

static bool sqlite_accepts(const char *url)
{
	return strncmp(url, "sqlite://", 9) == 0;
}

static int fail_db(struct sqlite_store *s, struct store_error *err, const char *what)
{
	int code = sqlite3_extended_errcode(s->db);
	enum store_err kind = STORE_UNAVAILABLE;

	if ((code & 0xff) == SQLITE_CONSTRAINT)
		kind = (code == SQLITE_CONSTRAINT_UNIQUE || code == SQLITE_CONSTRAINT_PRIMARYKEY)
		       ? STORE_CONFLICT : STORE_INVALID;
	else if ((code & 0xff) == SQLITE_BUSY || (code & 0xff) == SQLITE_LOCKED)
		kind = STORE_TIMEOUT;
	store_error_set(err, kind, "sqlite: %s: %s", what, sqlite3_errmsg(s->db));
	return -1;
}

/* A prepared statement for sql, reset and ready to bind.  Statements that do
 * not fit the cache are marked so release() finalizes them. */
static sqlite3_stmt *prepare(struct sqlite_store *s, const char *sql, struct store_error *err)
{
	sqlite3_stmt *st;
	size_t i;

	for (i = 0; i < s->ncache; i++) {
		if (strcmp(s->cache[i].sql, sql) == 0) {
			sqlite3_reset(s->cache[i].stmt);
			sqlite3_clear_bindings(s->cache[i].stmt);
			return s->cache[i].stmt;
		}
	}
	if (sqlite3_prepare_v3(s->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &st, NULL) != SQLITE_OK) {
		fail_db(s, err, "prepare");
		return NULL;
	}
	if (s->ncache < STMT_CACHE_MAX) {
		s->cache[s->ncache].sql = xstrdup(sql);
		s->cache[s->ncache].stmt = st;
		s->ncache++;
	}
	return st;
}

/* A cached fixed-shape statement, or NULL: the caller builds the SQL and
 * calls prepare_keyed(). */
static sqlite3_stmt *cached(struct sqlite_store *s, const void *key, int kind)
{
	size_t i;

	for (i = 0; i < s->ncache; i++) {
		if (s->cache[i].key == key && s->cache[i].kind == kind) {
			sqlite3_reset(s->cache[i].stmt);
			sqlite3_clear_bindings(s->cache[i].stmt);
			return s->cache[i].stmt;
		}
	}
	return NULL;
}

static sqlite3_stmt *prepare_keyed(struct sqlite_store *s, const char *sql, const void *key,
                                   int kind, struct store_error *err)
{
	sqlite3_stmt *st = prepare(s, sql, err);
	size_t i;

	for (i = 0; st && i < s->ncache; i++) {
		if (s->cache[i].stmt == st) {
			s->cache[i].key = key;
			s->cache[i].kind = kind;
		}
	}
	return st;
}

static void release(struct sqlite_store *s, sqlite3_stmt *st)
{
	size_t i;

	for (i = 0; i < s->ncache; i++) {
		if (s->cache[i].stmt == st) {
			sqlite3_reset(st);
			return;
		}
	}
	sqlite3_finalize(st);
}

static int exec(struct sqlite_store *s, const char *sql, struct store_error *err)
{
	sqlite3_stmt *st = prepare(s, sql, err);
	int rc;

	if (!st)
		return -1;
	rc = sqlite3_step(st);
	release(s, st);
	return rc == SQLITE_DONE || rc == SQLITE_ROW ? 0 : fail_db(s, err, sql);
}

static int begin_read(struct sqlite_store *s, struct store_error *err)
{
	return exec(s, "BEGIN", err);
}

/* End a read transaction; returns rc, the outcome of the reads. */
static int end_read(struct sqlite_store *s, int rc)
{
	struct store_error ignored;

	exec(s, "COMMIT", &ignored);
	return rc;
}

/* Values in and out -------------------------------------------------- */

static void bind_value(sqlite3_stmt *st, int idx, const struct field *f, const struct value *v)
{
	char tmp[48];
	size_t n;

	if (v->null) {
		sqlite3_bind_null(st, idx);
		return;
	}
	switch (f->type) {
	case CT_UUID:
		uuid_format_hex(v->u.uuid, tmp);
		sqlite3_bind_text(st, idx, tmp, 32, SQLITE_TRANSIENT);
		break;
	case CT_INTEGER:
	case CT_BOOLEAN:
		sqlite3_bind_int64(st, idx, v->u.i);
		break;
	case CT_DECIMAL:
		n = decimal_format(v->u.i, f->places, tmp);
		sqlite3_bind_text(st, idx, tmp, (int)n, SQLITE_TRANSIENT);
		break;
	case CT_DATE:
		n = date_format(v->u.i, tmp);
		sqlite3_bind_text(st, idx, tmp, (int)n, SQLITE_TRANSIENT);
		break;
	case CT_DATETIME:
		n = datetime_format_sql(v->u.i, tmp);
		sqlite3_bind_text(st, idx, tmp, (int)n, SQLITE_TRANSIENT);
		break;
	case CT_STRING:
	case CT_TEXT:
	case CT_JSON:
		sqlite3_bind_text(st, idx, v->u.s.p, (int)v->u.s.n, SQLITE_STATIC);
		break;
	}
}

static int read_value(sqlite3_stmt *st, int col, const struct field *f, struct arena *a,
                      struct value *v)
{
	int type = sqlite3_column_type(st, col);
	const char *text;
	size_t n;

	v->null = type == SQLITE_NULL;
	if (v->null)
		return 0;
	switch (f->type) {
	case CT_INTEGER:
	case CT_BOOLEAN:
		if (type != SQLITE_INTEGER)
			return -1;
		v->u.i = sqlite3_column_int64(st, col);
		return 0;
	case CT_DECIMAL:
		if (type == SQLITE_INTEGER) {
			int64_t x = sqlite3_column_int64(st, col);
			int k;

			for (k = 0; k < f->places; k++)
				x *= 10;
			v->u.i = x;
			return 0;
		}
		break;
	default:
		break;
	}
	text = (const char *)sqlite3_column_text(st, col);
	n = (size_t)sqlite3_column_bytes(st, col);
	switch (f->type) {
	case CT_UUID:
		return uuid_parse(text, n, v->u.uuid);
	case CT_DECIMAL:
		return decimal_from_text_round(text, n, f->places, &v->u.i);
	case CT_DATE:
		return date_parse(text, n, &v->u.i);
	case CT_DATETIME:
		return datetime_parse(text, n, &v->u.i);
	default:
		v->u.s.p = arena_strndup(a, text, n);
		v->u.s.n = n;
		return 0;
	}
}

/* SQL text ----------------------------------------------------------- */

static void put_columns(struct buf *b, const struct resource *r)
{
	size_t i;

	for (i = 0; i < r->nfields; i++) {
		buf_puts(b, i ? ",\"" : "\"");
		buf_puts(b, r->fields[i].column);
		buf_putc(b, '"');
	}
}

/* WHERE for a query; binds are numbered in the order they appear. */
static void put_where(struct buf *b, const struct query *q)
{
	const struct resource *r = q->res;
	size_t i, j;

	buf_printf(b, " WHERE \"%s\"=?", r->owner_column);
	for (i = 0; i < q->nconds; i++)
		buf_printf(b, " AND \"%s\"=?", r->fields[q->conds[i].field].column);
	for (i = 0; i < q->nterms; i++) {
		buf_puts(b, " AND (");
		for (j = 0; j < q->nsearch; j++)
			buf_printf(b, "%s\"%s\" LIKE ? ESCAPE '\\'", j ? " OR " : "",
			           r->fields[q->search_fields[j]].column);
		buf_putc(b, ')');
	}
}

static int bind_where(sqlite3_stmt *st, const struct query *q, struct arena *a)
{
	const struct resource *r = q->res;
	int idx = 1;
	size_t i, j;

	sqlite3_bind_int64(st, idx++, q->owner);
	for (i = 0; i < q->nconds; i++)
		bind_value(st, idx++, &r->fields[q->conds[i].field], &q->conds[i].val);
	for (i = 0; i < q->nterms; i++) {
		const char *t = q->terms[i];
		size_t n = strlen(t), k, o = 0;
		char *pat = arena_alloc(a, 2 * n + 3);

		pat[o++] = '%';
		for (k = 0; k < n; k++) {
			if (t[k] == '%' || t[k] == '_' || t[k] == '\\')
				pat[o++] = '\\';
			pat[o++] = t[k];
		}
		pat[o++] = '%';
		for (j = 0; j < q->nsearch; j++)
			sqlite3_bind_text(st, idx++, pat, (int)o, SQLITE_STATIC);
	}
	return idx;
}

static void put_order(struct buf *b, const struct resource *r, const struct order_term *o,
                      size_t n)
{
	size_t i;

	buf_puts(b, " ORDER BY ");
	for (i = 0; i < n; i++)
		buf_printf(b, "\"%s\" %s,", r->fields[o[i].field].column, o[i].desc ? "DESC" : "ASC");
	/* The primary key breaks ties, so pages never overlap or skip. */
	buf_printf(b, "\"%s\" ASC", r->fields[r->pk].column);
}

/* Reading rows ------------------------------------------------------- */

static int read_row(struct sqlite_store *s, sqlite3_stmt *st, const struct resource *r,
                    struct arena *a, struct record *rec, struct store_error *err);

static int read_children(struct sqlite_store *s, const struct resource *r, struct arena *a,
                         struct record *rec, struct store_error *err)
{
	size_t c;

	for (c = 0; c < r->nchildren; c++) {
		const struct resource *ch = r->children[c];
		struct child_rows *out = &rec->children[c];
		sqlite3_stmt *st = cached(s, ch, K_CHILDREN);
		size_t cap = 8;
		int rc;

		if (!st) {
			struct buf sql = {0};

			buf_puts(&sql, "SELECT ");
			put_columns(&sql, ch);
			buf_printf(&sql, " FROM \"%s\" WHERE \"%s\"=?", ch->table, ch->fk_column);
			put_order(&sql, ch, ch->ordering, ch->nordering);
			st = prepare_keyed(s, buf_cstr(&sql), ch, K_CHILDREN, err);
			buf_free(&sql);
			if (!st)
				return -1;
		}
		bind_value(st, 1, &r->fields[r->pk], &rec->vals[r->pk]);
		out->given = true;
		out->n = 0;
		out->rows = ARENA_ARRAY(a, struct record, cap);
		while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
			if (out->n == cap) {
				struct record *bigger = ARENA_ARRAY(a, struct record, cap * 2);

				memcpy(bigger, out->rows, cap * sizeof(*bigger));
				out->rows = bigger;
				cap *= 2;
			}
			if (read_row(s, st, ch, a, &out->rows[out->n++], err) < 0) {
				release(s, st);
				return -1;
			}
		}
		release(s, st);
		if (rc != SQLITE_DONE)
			return fail_db(s, err, "read children");
	}
	return 0;
}

static int read_row(struct sqlite_store *s, sqlite3_stmt *st, const struct resource *r,
                    struct arena *a, struct record *rec, struct store_error *err)
{
	size_t i;

	*rec = *record_new(a, r);
	for (i = 0; i < r->nfields; i++) {
		if (read_value(st, (int)i, &r->fields[i], a, &rec->vals[i]) < 0) {
			store_error_set(err, STORE_INVALID, "%s.%s holds a value that is not a valid %s",
			                r->table, r->fields[i].column, ctype_name(r->fields[i].type));
			return -1;
		}
	}
	(void)s;
	return 0;
}

/* Operations --------------------------------------------------------- */

static int sqlite_count(struct store *base, const struct query *q, int64_t *n,
                        struct store_error *err)
{
	struct sqlite_store *s = (struct sqlite_store *)base;
	struct buf sql = {0};
	struct arena a;
	sqlite3_stmt *st;
	int rc;

	buf_printf(&sql, "SELECT COUNT(*) FROM \"%s\"", q->res->table);
	put_where(&sql, q);
	st = prepare(s, buf_cstr(&sql), err);
	buf_free(&sql);
	if (!st)
		return -1;
	arena_init(&a, 1024);
	bind_where(st, q, &a);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		*n = sqlite3_column_int64(st, 0);
	release(s, st);
	arena_reset(&a);
	return rc == SQLITE_ROW ? 0 : fail_db(s, err, "count");
}

static int list_in_txn(struct store *base, const struct query *q, struct arena *a,
                       struct record **rows, size_t *n, struct store_error *err)
{
	struct sqlite_store *s = (struct sqlite_store *)base;
	struct buf sql = {0};
	sqlite3_stmt *st;
	size_t cap = q->limit > 0 && q->limit < 1000 ? (size_t)q->limit : 64, i;
	int rc, idx;

	buf_puts(&sql, "SELECT ");
	put_columns(&sql, q->res);
	buf_printf(&sql, " FROM \"%s\"", q->res->table);
	put_where(&sql, q);
	put_order(&sql, q->res, q->order, q->norder);
	buf_puts(&sql, " LIMIT ? OFFSET ?");
	st = prepare(s, buf_cstr(&sql), err);
	buf_free(&sql);
	if (!st)
		return -1;
	idx = bind_where(st, q, a);
	sqlite3_bind_int64(st, idx++, q->limit > 0 ? q->limit : -1);
	sqlite3_bind_int64(st, idx, q->offset);
	*n = 0;
	*rows = ARENA_ARRAY(a, struct record, cap);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (*n == cap) {
			struct record *bigger = ARENA_ARRAY(a, struct record, cap * 2);

			memcpy(bigger, *rows, cap * sizeof(*bigger));
			*rows = bigger;
			cap *= 2;
		}
		if (read_row(s, st, q->res, a, &(*rows)[(*n)++], err) < 0) {
			release(s, st);
			return -1;
		}
	}
	release(s, st);
	if (rc != SQLITE_DONE)
		return fail_db(s, err, "list");
	for (i = 0; i < *n; i++)
		if (read_children(s, q->res, a, &(*rows)[i], err) < 0)
			return -1;
	return 0;
}

static int sqlite_list(struct store *base, const struct query *q, struct arena *a,
                       struct record **rows, size_t *n, struct store_error *err)
{
	struct sqlite_store *s = (struct sqlite_store *)base;

	if (begin_read(s, err) < 0)
		return -1;
	return end_read(s, list_in_txn(base, q, a, rows, n, err));
}

static sqlite3_stmt *by_id(struct sqlite_store *s, const char *what, const struct resource *r,
                           int64_t owner, const unsigned char id[16], struct store_error *err)
{
	bool select = strcmp(what, "SELECT") == 0;
	sqlite3_stmt *st = cached(s, r, select ? K_GET : K_EXISTS);
	struct value v = {.null = false};

	if (!st) {
		struct buf sql = {0};

		if (select) {
			buf_puts(&sql, "SELECT ");
			put_columns(&sql, r);
		} else {
			buf_puts(&sql, what);
		}
		buf_printf(&sql, " FROM \"%s\" WHERE \"%s\"=? AND \"%s\"=?", r->table,
		           r->fields[r->pk].column, r->owner_column);
		st = prepare_keyed(s, buf_cstr(&sql), r, select ? K_GET : K_EXISTS, err);
		buf_free(&sql);
		if (!st)
			return NULL;
	}
	memcpy(v.u.uuid, id, 16);
	bind_value(st, 1, &r->fields[r->pk], &v);
	sqlite3_bind_int64(st, 2, owner);
	return st;
}

static int get_in_txn(struct store *base, const struct resource *r, int64_t owner,
                      const unsigned char id[16], struct arena *a, struct record *out,
                      struct store_error *err)
{
	struct sqlite_store *s = (struct sqlite_store *)base;
	sqlite3_stmt *st = by_id(s, "SELECT", r, owner, id, err);
	int rc;

	if (!st)
		return -1;
	rc = sqlite3_step(st);
	if (rc == SQLITE_DONE) {
		release(s, st);
		store_error_set(err, STORE_NOT_FOUND, "not found");
		return -1;
	}
	if (rc != SQLITE_ROW) {
		release(s, st);
		return fail_db(s, err, "get");
	}
	rc = read_row(s, st, r, a, out, err);
	release(s, st);
	return rc < 0 ? -1 : read_children(s, r, a, out, err);
}

/* The row and its children are read in one transaction: one consistent
 * snapshot, and one WAL read lock instead of one per statement. */
static int sqlite_get(struct store *base, const struct resource *r, int64_t owner,
                      const unsigned char id[16], struct arena *a, struct record *out,
                      struct store_error *err)
{
	struct sqlite_store *s = (struct sqlite_store *)base;

	if (begin_read(s, err) < 0)
		return -1;
	return end_read(s, get_in_txn(base, r, owner, id, a, out, err));
}

static int sqlite_exists(struct store *base, const struct resource *r, int64_t owner,
                         const unsigned char id[16], bool *found, struct store_error *err)
{
	struct sqlite_store *s = (struct sqlite_store *)base;
	sqlite3_stmt *st = by_id(s, "SELECT 1", r, owner, id, err);
	int rc;

	if (!st)
		return -1;
	rc = sqlite3_step(st);
	release(s, st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return fail_db(s, err, "exists");
	*found = rc == SQLITE_ROW;
	return 0;
}

/* INSERT one row; parent_id links a child row to its parent. */
static int insert_row(struct sqlite_store *s, const struct resource *r, int64_t owner,
                      const struct value *parent_id, const struct resource *parent,
                      const struct record *rec, struct store_error *err)
{
	struct buf sql = {0};
	sqlite3_stmt *st;
	size_t i;
	int rc, idx = 1;

	buf_printf(&sql, "INSERT INTO \"%s\" (", r->table);
	put_columns(&sql, r);
	buf_printf(&sql, ",\"%s\") VALUES (", parent ? r->fk_column : r->owner_column);
	for (i = 0; i <= r->nfields; i++)
		buf_puts(&sql, i ? ",?" : "?");
	buf_putc(&sql, ')');
	st = prepare(s, buf_cstr(&sql), err);
	buf_free(&sql);
	if (!st)
		return -1;
	for (i = 0; i < r->nfields; i++)
		bind_value(st, idx++, &r->fields[i], &rec->vals[i]);
	if (parent)
		bind_value(st, idx, &parent->fields[parent->pk], parent_id);
	else
		sqlite3_bind_int64(st, idx, owner);
	rc = sqlite3_step(st);
	release(s, st);
	if (rc != SQLITE_DONE)
		return fail_db(s, err, "insert");
	return 0;
}

static int write_children(struct sqlite_store *s, const struct resource *r,
                          const struct record *rec, bool replace, struct store_error *err)
{
	size_t c, i;

	for (c = 0; c < r->nchildren; c++) {
		const struct resource *ch = r->children[c];

		if (!rec->children[c].given)
			continue;
		if (replace) {
			struct buf sql = {0};
			sqlite3_stmt *st;
			int rc;

			buf_printf(&sql, "DELETE FROM \"%s\" WHERE \"%s\"=?", ch->table, ch->fk_column);
			st = prepare(s, buf_cstr(&sql), err);
			buf_free(&sql);
			if (!st)
				return -1;
			bind_value(st, 1, &r->fields[r->pk], &rec->vals[r->pk]);
			rc = sqlite3_step(st);
			release(s, st);
			if (rc != SQLITE_DONE)
				return fail_db(s, err, "delete children");
		}
		for (i = 0; i < rec->children[c].n; i++)
			if (insert_row(s, ch, 0, &rec->vals[r->pk], r, &rec->children[c].rows[i], err) < 0)
				return -1;
	}
	return 0;
}

static int begin(struct sqlite_store *s, struct store_error *err)
{
	return exec(s, "BEGIN IMMEDIATE", err);
}

/* Commit, or roll back when rc says the work failed; returns rc. */
static int finish(struct sqlite_store *s, int rc, struct store_error *err)
{
	struct store_error ignored;

	if (rc == 0 && exec(s, "COMMIT", err) == 0)
		return 0;
	exec(s, "ROLLBACK", &ignored);
	return -1;
}

/* Name the unique constraint a conflict hit, from SQLite's message listing
 * the columns ("UNIQUE constraint failed: t.user_id, t.invoice_number"). */
static void which_unique(const struct resource *r, struct store_error *err)
{
	size_t u, i;

	if (err->code != STORE_CONFLICT)
		return;
	for (u = 0; u < r->nuniques; u++) {
		for (i = 0; i < r->uniques[u].nfields; i++) {
			char col[80];

			snprintf(col, sizeof(col), ".%s", r->fields[r->uniques[u].fields[i]].column);
			if (!strstr(err->msg, col))
				break;
		}
		if (i == r->uniques[u].nfields) {
			err->unique = (int)u;
			return;
		}
	}
}

static int sqlite_create(struct store *base, const struct resource *r, int64_t owner,
                         const struct record *rec, struct store_error *err)
{
	struct sqlite_store *s = (struct sqlite_store *)base;
	int rc;

	if (begin(s, err) < 0)
		return -1;
	rc = insert_row(s, r, owner, NULL, NULL, rec, err);
	if (rc == 0)
		rc = write_children(s, r, rec, false, err);
	rc = finish(s, rc, err);
	if (rc < 0)
		which_unique(r, err);
	return rc;
}

static int sqlite_replace(struct store *base, const struct resource *r, int64_t owner,
                          const struct record *rec, struct store_error *err)
{
	struct sqlite_store *s = (struct sqlite_store *)base;
	struct buf sql = {0};
	sqlite3_stmt *st;
	size_t i;
	int rc, idx = 1, first = 1;

	if (begin(s, err) < 0)
		return -1;
	buf_printf(&sql, "UPDATE \"%s\" SET ", r->table);
	for (i = 0; i < r->nfields; i++) {
		if ((int)i == r->pk)
			continue;
		buf_printf(&sql, "%s\"%s\"=?", first ? "" : ",", r->fields[i].column);
		first = 0;
	}
	buf_printf(&sql, " WHERE \"%s\"=? AND \"%s\"=?", r->fields[r->pk].column, r->owner_column);
	st = prepare(s, buf_cstr(&sql), err);
	buf_free(&sql);
	if (!st)
		return finish(s, -1, err);
	for (i = 0; i < r->nfields; i++)
		if ((int)i != r->pk)
			bind_value(st, idx++, &r->fields[i], &rec->vals[i]);
	bind_value(st, idx++, &r->fields[r->pk], &rec->vals[r->pk]);
	sqlite3_bind_int64(st, idx, owner);
	rc = sqlite3_step(st);
	release(s, st);
	if (rc != SQLITE_DONE) {
		rc = fail_db(s, err, "update");
	} else if (sqlite3_changes(s->db) == 0) {
		store_error_set(err, STORE_NOT_FOUND, "not found");
		rc = -1;
	} else {
		rc = write_children(s, r, rec, true, err);
	}
	rc = finish(s, rc, err);
	if (rc < 0)
		which_unique(r, err);
	return rc;
}

/* DELETE FROM table WHERE column = id (a child table, or a cascading one). */
static int delete_where(struct sqlite_store *s, const char *table, const char *column,
                        const struct field *idf, const struct value *id, struct store_error *err)
{
	struct buf sql = {0};
	sqlite3_stmt *st;
	int rc;

	buf_printf(&sql, "DELETE FROM \"%s\" WHERE \"%s\"=?", table, column);
	st = prepare(s, buf_cstr(&sql), err);
	buf_free(&sql);
	if (!st)
		return -1;
	bind_value(st, 1, idf, id);
	rc = sqlite3_step(st);
	release(s, st);
	return rc == SQLITE_DONE ? 0 : fail_db(s, err, "delete");
}

static int delete_tree(struct sqlite_store *s, const struct resource *r,
                       const struct value *id, struct store_error *err)
{
	const struct field *idf = &r->fields[r->pk];
	size_t i, c;

	for (i = 0; i < r->ncascades; i++) {
		const struct resource *o = r->cascades[i].res;
		const char *col = o->fields[r->cascades[i].field].column;

		/* Children of the cascading rows first, then the rows themselves. */
		for (c = 0; c < o->nchildren; c++) {
			struct buf sql = {0};
			sqlite3_stmt *st;
			int rc;

			buf_printf(&sql, "DELETE FROM \"%s\" WHERE \"%s\" IN (SELECT \"%s\" FROM \"%s\" "
			           "WHERE \"%s\"=?)", o->children[c]->table, o->children[c]->fk_column,
			           o->fields[o->pk].column, o->table, col);
			st = prepare(s, buf_cstr(&sql), err);
			buf_free(&sql);
			if (!st)
				return -1;
			bind_value(st, 1, idf, id);
			rc = sqlite3_step(st);
			release(s, st);
			if (rc != SQLITE_DONE)
				return fail_db(s, err, "delete");
		}
		if (delete_where(s, o->table, col, idf, id, err) < 0)
			return -1;
	}
	for (c = 0; c < r->nchildren; c++)
		if (delete_where(s, r->children[c]->table, r->children[c]->fk_column, idf, id, err) < 0)
			return -1;
	return delete_where(s, r->table, idf->column, idf, id, err);
}

static int sqlite_remove(struct store *base, const struct resource *r, int64_t owner,
                         const unsigned char id[16], struct store_error *err)
{
	struct sqlite_store *s = (struct sqlite_store *)base;
	struct value v = {.null = false};
	bool found;
	int rc;

	memcpy(v.u.uuid, id, 16);
	if (begin(s, err) < 0)
		return -1;
	rc = sqlite_exists(base, r, owner, id, &found, err);
	if (rc == 0 && !found) {
		store_error_set(err, STORE_NOT_FOUND, "not found");
		rc = -1;
	}
	if (rc == 0)
		rc = delete_tree(s, r, &v, err);
	return finish(s, rc, err);
}

static int sqlite_aggregate(struct store *base, const struct query *q, int group_field,
                            int sum_field, struct arena *a, struct agg_row **rows, size_t *n,
                            struct store_error *err)
{
	struct sqlite_store *s = (struct sqlite_store *)base;
	const struct resource *r = q->res;
	const struct field *sf = &r->fields[sum_field];
	struct buf sql = {0};
	sqlite3_stmt *st;
	size_t cap = 16;
	int64_t scale = 1;
	int rc, k;

	for (k = 0; k < sf->places; k++)
		scale *= 10;
	/* Each value is scaled to whole units before summing, so the sum is an
	 * exact integer even where SQLite stored the decimal as a REAL. */
	buf_printf(&sql, "SELECT \"%s\", COUNT(*), SUM(CAST(ROUND(\"%s\" * %lld) AS INTEGER)) FROM \"%s\"",
	           r->fields[group_field].column, sf->column, (long long)scale, r->table);
	put_where(&sql, q);
	buf_printf(&sql, " GROUP BY 1 ORDER BY 1");
	st = prepare(s, buf_cstr(&sql), err);
	buf_free(&sql);
	if (!st)
		return -1;
	bind_where(st, q, a);
	*n = 0;
	*rows = ARENA_ARRAY(a, struct agg_row, cap);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct agg_row *row;

		if (*n == cap) {
			struct agg_row *bigger = ARENA_ARRAY(a, struct agg_row, cap * 2);

			memcpy(bigger, *rows, cap * sizeof(*bigger));
			*rows = bigger;
			cap *= 2;
		}
		row = &(*rows)[(*n)++];
		if (read_value(st, 0, &r->fields[group_field], a, &row->group) < 0) {
			release(s, st);
			store_error_set(err, STORE_INVALID, "%s.%s holds an invalid value", r->table,
			                r->fields[group_field].column);
			return -1;
		}
		row->count = sqlite3_column_int64(st, 1);
		row->sum = sqlite3_column_int64(st, 2);
	}
	release(s, st);
	return rc == SQLITE_DONE ? 0 : fail_db(s, err, "aggregate");
}

static void sqlite_close(struct store *base)
{
	struct sqlite_store *s = (struct sqlite_store *)base;
	size_t i;

	if (!s)
		return;
	for (i = 0; i < s->ncache; i++) {
		sqlite3_finalize(s->cache[i].stmt);
		free(s->cache[i].sql);
	}
	sqlite3_close(s->db);
	free(s);
}

static struct store *sqlite_open(const char *url, const struct config *cfg,
                                 struct store_error *err)
{
	struct sqlite_store *s = xcalloc(1, sizeof(*s));
	const char *path = url + strlen("sqlite://");
	static const char *const setup[] = {
		"PRAGMA journal_mode=WAL",
		"PRAGMA foreign_keys=ON",
		"PRAGMA busy_timeout=5000",
		/* Reads map the file instead of copying pages with pread(2). */
		"PRAGMA mmap_size=268435456",
	};
	size_t i;

	(void)cfg;
	/* SQLite's memory statistics take a process-wide mutex on every
	 * allocation; the gateway does not read them, and the loops must not
	 * contend.  (Only effective before SQLite's first use; harmless after.) */
	sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
	s->base.ops = &store_sqlite_ops;
	if (sqlite3_open_v2(path, &s->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK) {
		store_error_set(err, STORE_UNAVAILABLE, "sqlite: cannot open %s: %s", path,
		                s->db ? sqlite3_errmsg(s->db) : "out of memory");
		sqlite_close(&s->base);
		return NULL;
	}
	for (i = 0; i < ARRAY_LEN(setup); i++) {
		char *msg = NULL;

		if (sqlite3_exec(s->db, setup[i], NULL, NULL, &msg) != SQLITE_OK) {
			store_error_set(err, STORE_UNAVAILABLE, "sqlite: %s: %s: %s", path, setup[i],
			                msg ? msg : "error");
			sqlite3_free(msg);
			sqlite_close(&s->base);
			return NULL;
		}
	}
	return &s->base;
}

const struct store_ops store_sqlite_ops = {
	.name = "sqlite",           /* adapter name, shown in logs */
	.version = 1,               /* interface version this table implements */
	.accepts = sqlite_accepts,  /* sqlite:///path */
	.open = sqlite_open,        /* one connection, WAL, foreign keys on */
	.close = sqlite_close,      /* finalizes cached statements */
	.count = sqlite_count,      /* SELECT COUNT(*) with the query's WHERE */
	.list = sqlite_list,        /* page of rows, children per row */
	.get = sqlite_get,          /* one row by id within the owner's scope */
	.exists = sqlite_exists,    /* reference checks */
	.create = sqlite_create,    /* row and children in one transaction */
	.replace = sqlite_replace,  /* UPDATE, children replaced when given */
	.remove = sqlite_remove,    /* row, children, cascading rows */
	.aggregate = sqlite_aggregate, /* GROUP BY with exact decimal sums */
};
