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
 * threads proceed while one writes.  Queries come from sql.c; prepared
 * statements are cached per connection, keyed by their SQL text.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "sql.h"
#include "store.h"

#define STMT_CACHE_MAX 256

static const struct sql_dialect dialect = {.numbered = false, .like = "LIKE"};

struct stmt_entry {
	char *sql;
	sqlite3_stmt *stmt;
};

struct sqlite_store {
	struct store base;          /* must be first */
	sqlite3 *db;
	struct stmt_entry cache[STMT_CACHE_MAX];
	size_t ncache;
	bool keep_bad;              /* scanning: rows that cannot be read are kept, marked */
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
 * not fit the cache are finalized by release(). */
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
	return store_value_from_text(f, text, n, a, v);
}

/* Prepare q's text and bind its parameters. */
static sqlite3_stmt *statement(struct sqlite_store *s, struct sql *q, struct store_error *err)
{
	sqlite3_stmt *st = prepare(s, sql_text(q), err);
	size_t i;

	for (i = 0; st && i < q->n; i++) {
		const struct sql_param *p = &q->params[i];
		int idx = (int)i + 1;

		if (p->kind == SQLP_VALUE)
			bind_value(st, idx, p->field, p->val);
		else if (p->kind == SQLP_INT)
			sqlite3_bind_int64(st, idx, p->i);
		else
			sqlite3_bind_text(st, idx, p->text, (int)p->len, SQLITE_STATIC);
	}
	return st;
}

/* Run a statement that returns no rows. */
static int run(struct sqlite_store *s, struct sql *q, const char *what, struct store_error *err)
{
	sqlite3_stmt *st = statement(s, q, err);
	int rc;

	if (!st)
		return -1;
	rc = sqlite3_step(st);
	release(s, st);
	return rc == SQLITE_DONE || rc == SQLITE_ROW ? 0 : fail_db(s, err, what);
}

static int exec(struct sqlite_store *s, const char *text, struct store_error *err)
{
	struct sql q;
	int rc;

	sql_init(&q, &dialect, NULL);
	buf_puts(&q.text, text);
	rc = run(s, &q, text, err);
	sql_free(&q);
	return rc;
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

/* Reading rows ------------------------------------------------------- */

static int read_row(sqlite3_stmt *st, const struct resource *r, struct arena *a,
                    struct record *rec, bool keep_bad, struct store_error *err)
{
	size_t i;

	*rec = *record_new(a, r);
	for (i = 0; i < r->nfields; i++) {
		if (read_value(st, (int)i, &r->fields[i], a, &rec->vals[i]) < 0) {
			store_error_set(err, STORE_INVALID, "%s.%s holds a value that is not a valid %s",
			                r->table, r->fields[i].column, ctype_name(r->fields[i].type));
			if (!keep_bad || i == (size_t)r->pk)
				return -1;
			rec->vals[i].null = true;
			rec->bad = arena_strdup(a, err->msg);
		}
	}
	return 0;
}

/* Every row q returns, as records of r; with fks, the column after r's
 * fields is a parent key, returned per row. */
static int read_rows(struct sqlite_store *s, struct sql *q, const struct resource *r,
                     struct arena *a, struct record **rows, size_t *n,
                     unsigned char (**fks)[16], struct store_error *err)
{
	sqlite3_stmt *st = statement(s, q, err);
	size_t cap = 8;
	int rc;

	if (!st)
		return -1;
	*n = 0;
	*rows = ARENA_ARRAY(a, struct record, cap);
	if (fks)
		*fks = arena_alloc(a, cap * 16);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (*n == cap) {
			struct record *bigger = ARENA_ARRAY(a, struct record, cap * 2);

			memcpy(bigger, *rows, cap * sizeof(*bigger));
			*rows = bigger;
			if (fks) {
				unsigned char (*more)[16] = arena_alloc(a, cap * 2 * 16);

				memcpy(more, *fks, cap * 16);
				*fks = more;
			}
			cap *= 2;
		}
		if (read_row(st, r, a, &(*rows)[*n], s->keep_bad, err) < 0 ||
		    (fks && uuid_parse((const char *)sqlite3_column_text(st, (int)r->nfields),
		                       (size_t)sqlite3_column_bytes(st, (int)r->nfields), (*fks)[*n]) < 0)) {
			release(s, st);
			return -1;
		}
		(*n)++;
	}
	release(s, st);
	return rc == SQLITE_DONE ? 0 : fail_db(s, err, "read");
}

static int read_rows_cb(void *ctx, struct sql *q, const struct resource *r, struct arena *a,
                        struct record **rows, size_t *n, unsigned char (**fks)[16],
                        struct store_error *err)
{
	return read_rows(ctx, q, r, a, rows, n, fks, err);
}

/* The children of n rows: one statement per child resource. */
static int read_children(struct sqlite_store *s, const struct resource *r, struct arena *a,
                         struct record *recs, size_t n, struct store_error *err)
{
	return sql_read_children(&dialect, r, a, recs, n, read_rows_cb, s, err);
}

/* Operations --------------------------------------------------------- */

static int sqlite_count(struct store *base, const struct query *qy, int64_t *n,
                        struct store_error *err)
{
	struct sqlite_store *s = (struct sqlite_store *)base;
	struct arena a;
	struct sql q;
	sqlite3_stmt *st;
	int rc = -1;

	arena_init(&a, 1024);
	sql_init(&q, &dialect, &a);
	sql_count(&q, qy);
	if ((st = statement(s, &q, err))) {
		rc = sqlite3_step(st);
		if (rc == SQLITE_ROW)
			*n = sqlite3_column_int64(st, 0);
		release(s, st);
		rc = rc == SQLITE_ROW ? 0 : fail_db(s, err, "count");
	}
	sql_free(&q);
	arena_reset(&a);
	return rc;
}

/* Reads of rows and their children share one read transaction: one
 * consistent snapshot, and one WAL read lock instead of one per statement. */
static int sqlite_list(struct store *base, const struct query *qy, struct arena *a,
                       struct record **rows, size_t *n, struct store_error *err)
{
	struct sqlite_store *s = (struct sqlite_store *)base;
	struct sql q;
	int rc;

	if (begin_read(s, err) < 0)
		return -1;
	sql_init(&q, &dialect, a);
	sql_list(&q, qy);
	rc = read_rows(s, &q, qy->res, a, rows, n, NULL, err);
	sql_free(&q);
	if (rc == 0)
		rc = read_children(s, qy->res, a, *rows, *n, err);
	return end_read(s, rc);
}

static int sqlite_get(struct store *base, const struct resource *r, int64_t owner,
                      const unsigned char id[16], struct arena *a, struct record *out,
                      struct store_error *err)
{
	struct sqlite_store *s = (struct sqlite_store *)base;
	struct value v = {.null = false};
	struct record *rows;
	struct sql q;
	size_t n;
	int rc;

	memcpy(v.u.uuid, id, 16);
	if (begin_read(s, err) < 0)
		return -1;
	sql_init(&q, &dialect, a);
	sql_by_id(&q, r, owner, &v, SQL_COLUMNS);
	rc = read_rows(s, &q, r, a, &rows, &n, NULL, err);
	sql_free(&q);
	if (rc == 0 && n == 0) {
		store_error_set(err, STORE_NOT_FOUND, "not found");
		rc = -1;
	}
	if (rc == 0) {
		*out = rows[0];
		rc = read_children(s, r, a, out, 1, err);
	}
	return end_read(s, rc);
}

static int sqlite_exists(struct store *base, const struct resource *r, int64_t owner,
                         const unsigned char id[16], bool *found, int64_t *whose, struct store_error *err)
{
	struct sqlite_store *s = (struct sqlite_store *)base;
	struct value v = {.null = false};
	sqlite3_stmt *st;
	struct sql q;
	int rc = -1;

	memcpy(v.u.uuid, id, 16);
	sql_init(&q, &dialect, NULL);
	sql_by_id(&q, r, owner, &v, whose ? SQL_OWNER : SQL_ONE);
	if ((st = statement(s, &q, err))) {
		rc = sqlite3_step(st);
		*found = rc == SQLITE_ROW;
		if (*found && whose)
			*whose = sqlite3_column_int64(st, 0);
		release(s, st);
		rc = rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : fail_db(s, err, "exists");
	}
	sql_free(&q);
	return rc;
}

/* The shared write sequence (sql.c) on this connection. */
static int w_begin(void *ctx, struct store_error *err)
{
	return begin(ctx, err);
}

static int w_exec(void *ctx, struct sql *q, long *changed, struct store_error *err)
{
	struct sqlite_store *s = ctx;
	int rc = run(s, q, "write", err);

	if (rc == 0 && changed)
		*changed = sqlite3_changes(s->db);
	return rc;
}

static int w_finish(void *ctx, int rc, struct store_error *err)
{
	return finish(ctx, rc, err);
}

static int w_exists(void *ctx, const struct resource *r, int64_t owner, const unsigned char id[16], bool *found,
                    struct store_error *err)
{
	return sqlite_exists(ctx, r, owner, id, found, NULL, err);
}

static const struct sql_writer writer = {&dialect, w_begin, w_exec, w_finish, w_exists};

static int sqlite_create(struct store *base, const struct resource *r, int64_t owner,
                         const struct record *rec, struct store_error *err)
{
	return sql_create(&writer, base, r, owner, rec, err);
}

static int sqlite_replace(struct store *base, const struct resource *r, int64_t owner,
                          const struct record *rec, struct store_error *err)
{
	return sql_replace(&writer, base, r, owner, rec, err);
}

static int sqlite_remove(struct store *base, const struct resource *r, int64_t owner,
                         const unsigned char id[16], struct store_error *err)
{
	return sql_remove(&writer, base, r, owner, id, err);
}




static int sqlite_aggregate(struct store *base, const struct query *qy, int group_field,
                            int sum_field, struct arena *a, struct agg_row **rows, size_t *n,
                            struct store_error *err)
{
	struct sqlite_store *s = (struct sqlite_store *)base;
	const struct resource *r = qy->res;
	struct sql q;
	sqlite3_stmt *st;
	size_t cap = 16;
	int rc;

	sql_init(&q, &dialect, a);
	sql_aggregate(&q, qy, group_field, sum_field);
	st = statement(s, &q, err);
	sql_free(&q);
	if (!st)
		return -1;
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

static int sqlite_routes(struct store *base, const struct route_row *set, struct arena *a,
                         struct route_row **rows, size_t *n, struct store_error *err)
{
	struct sqlite_store *s = (struct sqlite_store *)base;
	char now[40];
	struct sql q;
	sqlite3_stmt *st;
	size_t cap = 8;
	int rc = exec(s, sql_routes_table, err);

	sql_init(&q, &dialect, a);
	if (rc == 0 && set) {
		datetime_format_sql(now_wall_us(), now);
		sql_routes_upsert(&q, set, now);
		rc = run(s, &q, "control store", err);
	}
	*n = 0;
	*rows = ARENA_ARRAY(a, struct route_row, cap);
	if (rc == 0) {
		sql_routes_select(&q);
		if (!(st = statement(s, &q, err)))
			rc = -1;
		while (rc == 0 && sqlite3_step(st) == SQLITE_ROW) {
			struct route_row *r;

			if (*n == cap) {
				struct route_row *more = ARENA_ARRAY(a, struct route_row, cap * 2);

				memcpy(more, *rows, cap * sizeof(*more));
				*rows = more;
				cap *= 2;
			}
			r = &(*rows)[(*n)++];
			r->route = arena_strdup(a, (const char *)sqlite3_column_text(st, 0));
			r->mode = arena_strdup(a, (const char *)sqlite3_column_text(st, 1));
			r->sample = sqlite3_column_int(st, 2);
			r->version = sqlite3_column_int64(st, 3);
		}
		if (st)
			release(s, st);
	}
	sql_free(&q);
	return rc;
}

static int sqlite_scan(struct store *base, const struct resource *r, const unsigned char *after,
                       size_t limit, struct arena *a, struct record **rows, int64_t **owners,
                       size_t *n, struct store_error *err)
{
	struct sqlite_store *s = (struct sqlite_store *)base;
	struct value v = {.null = false};
	struct sql q;
	sqlite3_stmt *st;
	int rc = 0, step;

	if (after)
		memcpy(v.u.uuid, after, 16);
	if (begin_read(s, err) < 0)
		return -1;
	sql_init(&q, &dialect, a);
	sql_scan(&q, r, after ? &v : NULL, limit);
	*n = 0;
	*rows = ARENA_ARRAY(a, struct record, limit ? limit : 1);
	*owners = ARENA_ARRAY(a, int64_t, limit ? limit : 1);
	if (!(st = statement(s, &q, err)))
		rc = -1;
	while (rc == 0 && *n < limit && (step = sqlite3_step(st)) == SQLITE_ROW) {
		if (read_row(st, r, a, &(*rows)[*n], true, err) < 0)
			rc = -1;
		(*owners)[(*n)++] = sqlite3_column_int64(st, (int)r->nfields);
	}
	if (st)
		release(s, st);
	sql_free(&q);
	s->keep_bad = true;
	if (rc == 0)
		rc = read_children(s, r, a, *rows, *n, err);
	s->keep_bad = false;
	if (rc == 0)
		store_mark_bad_children(r, *rows, *n);
	return end_read(s, rc);
}

static int sqlite_size(struct store *base, const struct resource *r, int64_t *n, struct store_error *err)
{
	struct sqlite_store *s = (struct sqlite_store *)base;
	struct sql q;
	sqlite3_stmt *st;
	int rc = -1;

	sql_init(&q, &dialect, NULL);
	sql_size(&q, r);
	if ((st = statement(s, &q, err))) {
		if (sqlite3_step(st) == SQLITE_ROW) {
			*n = sqlite3_column_int64(st, 0);
			rc = 0;
		} else {
			fail_db(s, err, "count");
		}
		release(s, st);
	}
	sql_free(&q);
	return rc;
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
	for (i = 0; i < ARRAY_LEN(setup) - (store_streaming ? 1 : 0); i++) {
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
	.blocking = false,          /* local file: safe to call from an event loop */
	.accepts = sqlite_accepts,  /* sqlite:///path */
	.open = sqlite_open,        /* one connection, WAL, foreign keys on */
	.close = sqlite_close,      /* finalizes cached statements */
	.count = sqlite_count,      /* SELECT COUNT(*) with the query's WHERE */
	.list = sqlite_list,        /* page of rows, children per row */
	.get = sqlite_get,          /* one row by id within the owner's scope */
	.exists = sqlite_exists,    /* reference checks, and the owner for roles */
	.create = sqlite_create,    /* row and children in one transaction */
	.replace = sqlite_replace,  /* UPDATE, children replaced when given */
	.remove = sqlite_remove,    /* row, children, cascading rows */
	.aggregate = sqlite_aggregate,
	.scan = sqlite_scan,
	.size = sqlite_size,
	.routes = sqlite_routes,    /* the cutover_routes table, created when missing */ /* GROUP BY with exact decimal sums */
};
