/*
 * postgres.c — the PostgreSQL store adapter (libpq).
 *
 * Django's PostgreSQL column types are read and written without loss:
 * uuid, numeric(p,s), timestamptz (the session runs in UTC), date, boolean.
 * Every value travels as a text parameter of a prepared statement; queries
 * come from sql.c with the PostgreSQL dialect (numbered parameters, ILIKE,
 * explicit null ordering and code-point collation so every store orders
 * alike).
 *
 * libpq calls block, so this adapter is marked blocking and the server runs
 * it on its store workers, one connection each.  A connection that breaks
 * is reset on the next call: while the server is down calls fail at once
 * with "unavailable" (a 503 to the client), and the first call after it is
 * back succeeds.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "sql.h"
#include "store.h"

#define STMT_CACHE_MAX 256
#define PARAM_TEXT_MAX 48

static const struct sql_dialect dialect = {
	.numbered = true, .like = "ILIKE",
	.text_collation = " COLLATE \"C\"",
};

struct pg_store {
	struct store base;          /* must be first */
	PGconn *conn;
	char *conninfo;
	char *names[STMT_CACHE_MAX];    /* SQL text of prepared statement i ("c<i>") */
	size_t nnames;
	bool keep_bad;              /* scanning: rows that cannot be read are kept, marked */
};

static bool pg_accepts(const char *url)
{
	return strncmp(url, "postgres://", 11) == 0 || strncmp(url, "postgresql://", 13) == 0;
}

static void forget_statements(struct pg_store *s)
{
	size_t i;

	for (i = 0; i < s->nnames; i++)
		free(s->names[i]);
	s->nnames = 0;
}

static int session_setup(struct pg_store *s)
{
	PGresult *res = PQexec(s->conn, "SET TIME ZONE 'UTC'");
	int ok = PQresultStatus(res) == PGRES_COMMAND_OK;

	PQclear(res);
	return ok ? 0 : -1;
}

/* A usable connection, reconnecting when it broke.  -1: unavailable. */
static int ensure_connected(struct pg_store *s, struct store_error *err)
{
	if (PQstatus(s->conn) == CONNECTION_OK)
		return 0;
	forget_statements(s);
	PQreset(s->conn);
	if (PQstatus(s->conn) != CONNECTION_OK || session_setup(s) < 0) {
		store_error_set(err, STORE_UNAVAILABLE, "postgres: %s", PQerrorMessage(s->conn));
		return -1;
	}
	return 0;
}

static int fail_res(struct pg_store *s, PGresult *res, struct store_error *err, const char *what)
{
	const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
	const char *detail = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_DETAIL) : NULL;
	enum store_err kind = STORE_INVALID;

	if (PQstatus(s->conn) != CONNECTION_OK || !state || strncmp(state, "08", 2) == 0 ||
	    strncmp(state, "57P", 3) == 0 || strncmp(state, "53", 2) == 0)
		kind = STORE_UNAVAILABLE;
	else if (strcmp(state, "23505") == 0)
		kind = STORE_CONFLICT;
	else if (strcmp(state, "57014") == 0 || strcmp(state, "40001") == 0 || strcmp(state, "40P01") == 0)
		kind = STORE_TIMEOUT;
	store_error_set(err, kind, "postgres: %s: %s%s%s", what,
	                res ? PQresultErrorMessage(res) : PQerrorMessage(s->conn),
	                detail ? " " : "", detail ? detail : "");
	PQclear(res);
	return -1;
}

/* Values in and out -------------------------------------------------- */

static const char *param_text(const struct sql_param *p, char *tmp)
{
	const struct value *v = p->val;

	if (p->kind == SQLP_INT) {
		snprintf(tmp, PARAM_TEXT_MAX, "%lld", (long long)p->i);
		return tmp;
	}
	if (p->kind == SQLP_TEXT)
		return p->text;
	if (v->null)
		return NULL;
	switch (p->field->type) {
	case CT_UUID:
		uuid_format(v->u.uuid, tmp);
		return tmp;
	case CT_INTEGER:
		snprintf(tmp, PARAM_TEXT_MAX, "%lld", (long long)v->u.i);
		return tmp;
	case CT_BOOLEAN:
		return v->u.i ? "true" : "false";
	case CT_DECIMAL:
		decimal_format(v->u.i, p->field->places, tmp);
		return tmp;
	case CT_DATE:
		date_format(v->u.i, tmp);
		return tmp;
	case CT_DATETIME:
		datetime_format_sql(v->u.i, tmp);
		strcat(tmp, "+00");
		return tmp;
	default:
		return v->u.s.p;    /* arena strings are NUL-terminated */
	}
}

static int read_value(const PGresult *res, int row, int col, const struct field *f,
                      struct arena *a, struct value *v)
{
	v->null = PQgetisnull(res, row, col);
	if (v->null)
		return 0;
	return store_value_from_text(f, PQgetvalue(res, row, col), (size_t)PQgetlength(res, row, col), a, v);
}

/* Run q as a prepared statement (prepared once per connection). */
static PGresult *run(struct pg_store *s, struct sql *q, struct store_error *err)
{
	const char *text = sql_text(q);
	const char **values = xcalloc(q->n + 1, sizeof(*values));
	char (*tmp)[PARAM_TEXT_MAX] = xcalloc(q->n + 1, sizeof(*tmp));
	char name[24];
	PGresult *res;
	size_t i;
	ExecStatusType st;

	for (i = 0; i < q->n; i++)
		values[i] = param_text(&q->params[i], tmp[i]);
	for (i = 0; i < s->nnames && strcmp(s->names[i], text) != 0; i++)
		;
	if (i == s->nnames && s->nnames < STMT_CACHE_MAX) {
		snprintf(name, sizeof(name), "c%zu", i);
		res = PQprepare(s->conn, name, text, (int)q->n, NULL);
		if (PQresultStatus(res) != PGRES_COMMAND_OK) {
			fail_res(s, res, err, "prepare");
			res = NULL;
			goto done;
		}
		PQclear(res);
		s->names[s->nnames++] = xstrdup(text);
	}
	if (i < s->nnames) {
		snprintf(name, sizeof(name), "c%zu", i);
		res = PQexecPrepared(s->conn, name, (int)q->n, values, NULL, NULL, 0);
	} else {
		res = PQexecParams(s->conn, text, (int)q->n, NULL, values, NULL, NULL, 0);
	}
	st = PQresultStatus(res);
	if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
		fail_res(s, res, err, "query");
		res = NULL;
	}
done:
	free(values);
	free(tmp);
	return res;
}

static int exec(struct pg_store *s, const char *text, struct store_error *err)
{
	PGresult *res = PQexec(s->conn, text);

	if (PQresultStatus(res) != PGRES_COMMAND_OK)
		return fail_res(s, res, err, text);
	PQclear(res);
	return 0;
}

/* Commit, or roll back when rc says the work failed; returns rc. */
static int finish(struct pg_store *s, int rc, struct store_error *err)
{
	struct store_error ignored;

	if (rc == 0 && exec(s, "COMMIT", err) == 0)
		return 0;
	if (PQstatus(s->conn) == CONNECTION_OK)
		exec(s, "ROLLBACK", &ignored);
	return -1;
}

/*
 * A connection that broke while idle (the server restarted) only says so
 * when it is next used.  The first statement of a call is therefore tried
 * again once on a fresh connection: nothing has happened yet, so it is safe.
 */
static bool retry_on_fresh_connection(struct pg_store *s, struct store_error *err)
{
	return PQstatus(s->conn) != CONNECTION_OK && ensure_connected(s, err) == 0;
}

static int begin(struct pg_store *s, bool read_only, struct store_error *err)
{
	const char *sql = read_only ? "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY" : "BEGIN";

	if (ensure_connected(s, err) < 0)
		return -1;
	if (exec(s, sql, err) == 0)
		return 0;
	return retry_on_fresh_connection(s, err) ? exec(s, sql, err) : -1;
}

/* Every row q returns, as records of r; with fks, the column after r's
 * fields is a parent key, returned per row. */
static int read_rows(struct pg_store *s, struct sql *q, const struct resource *r,
                     struct arena *a, struct record **rows, size_t *n,
                     unsigned char (**fks)[16], int64_t **owners, struct store_error *err)
{
	PGresult *res = run(s, q, err);
	int i, k;

	if (!res)
		return -1;
	*n = (size_t)PQntuples(res);
	*rows = ARENA_ARRAY(a, struct record, *n ? *n : 1);
	if (fks)
		*fks = arena_alloc(a, (*n ? *n : 1) * 16);
	if (owners)
		*owners = ARENA_ARRAY(a, int64_t, *n ? *n : 1);
	for (i = 0; i < (int)*n; i++) {
		(*rows)[i] = *record_new(a, r);
		for (k = 0; k < (int)r->nfields; k++) {
			if (read_value(res, i, k, &r->fields[k], a, &(*rows)[i].vals[k]) < 0) {
				store_error_set(err, STORE_INVALID, "%s.%s holds a value that is not a valid %s",
				                r->table, r->fields[k].column, ctype_name(r->fields[k].type));
				if (!s->keep_bad || k == r->pk) {
					PQclear(res);
					return -1;
				}
				(*rows)[i].vals[k].null = true;
				(*rows)[i].bad = arena_strdup(a, err->msg);
			}
		}
		if (owners)
			(*owners)[i] = strtoll(PQgetvalue(res, i, k), NULL, 10);
		if (fks && uuid_parse(PQgetvalue(res, i, k), (size_t)PQgetlength(res, i, k), (*fks)[i]) < 0) {
			store_error_set(err, STORE_INVALID, "%s.%s holds an invalid key", r->table, r->fk_column);
			PQclear(res);
			return -1;
		}
	}
	PQclear(res);
	return 0;
}

static int read_rows_cb(void *ctx, struct sql *q, const struct resource *r, struct arena *a,
                        struct record **rows, size_t *n, unsigned char (**fks)[16],
                        struct store_error *err)
{
	return read_rows(ctx, q, r, a, rows, n, fks, NULL, err);
}

/* The children of n rows: one statement per child resource. */
static int read_children(struct pg_store *s, const struct resource *r, struct arena *a,
                         struct record *recs, size_t n, struct store_error *err)
{
	return sql_read_children(&dialect, r, a, recs, n, read_rows_cb, s, err);
}

/* One-statement read: reconnect if needed, run, give the result. */
static PGresult *query_once(struct pg_store *s, struct sql *q, struct store_error *err)
{
	PGresult *res;

	if (ensure_connected(s, err) < 0)
		return NULL;
	if ((res = run(s, q, err)))
		return res;
	return retry_on_fresh_connection(s, err) ? run(s, q, err) : NULL;
}

/* Operations --------------------------------------------------------- */

static int pg_count(struct store *base, const struct query *qy, int64_t *n, struct store_error *err)
{
	struct pg_store *s = (struct pg_store *)base;
	struct arena a;
	struct sql q;
	PGresult *res;

	arena_init(&a, 1024);
	sql_init(&q, &dialect, &a);
	sql_count(&q, qy);
	res = query_once(s, &q, err);
	sql_free(&q);
	arena_reset(&a);
	if (!res)
		return -1;
	*n = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
	PQclear(res);
	return 0;
}

static int pg_list(struct store *base, const struct query *qy, struct arena *a,
                   struct record **rows, size_t *n, struct store_error *err)
{
	struct pg_store *s = (struct pg_store *)base;
	struct sql q;
	int rc;

	if (begin(s, true, err) < 0)
		return -1;
	sql_init(&q, &dialect, a);
	sql_list(&q, qy);
	rc = read_rows(s, &q, qy->res, a, rows, n, NULL, NULL, err);
	sql_free(&q);
	if (rc == 0)
		rc = read_children(s, qy->res, a, *rows, *n, err);
	return finish(s, rc, err);
}

static int pg_get(struct store *base, const struct resource *r, int64_t owner,
                  const unsigned char id[16], struct arena *a, struct record *out,
                  struct store_error *err)
{
	struct pg_store *s = (struct pg_store *)base;
	struct value v = {.null = false};
	struct record *rows;
	struct sql q;
	size_t n;
	int rc;

	memcpy(v.u.uuid, id, 16);
	if (begin(s, true, err) < 0)
		return -1;
	sql_init(&q, &dialect, a);
	sql_by_id(&q, r, owner, &v, SQL_COLUMNS);
	rc = read_rows(s, &q, r, a, &rows, &n, NULL, NULL, err);
	sql_free(&q);
	if (rc == 0 && n == 0) {
		store_error_set(err, STORE_NOT_FOUND, "not found");
		rc = -1;
	}
	if (rc == 0) {
		*out = rows[0];
		rc = read_children(s, r, a, out, 1, err);
	}
	return finish(s, rc, err);
}

/* Is there a row with this id (owned by owner, unless OWNER_ANY)?  Its
 * owner goes to *whose when given.  standalone: the call's only statement,
 * so a broken idle connection may be retried on a fresh one; inside a
 * transaction it must not be. */
static int exists(struct pg_store *s, const struct resource *r, int64_t owner, const unsigned char id[16],
                  bool standalone, bool *found, int64_t *whose, struct store_error *err)
{
	struct value v = {.null = false};
	struct sql q;
	PGresult *res;

	memcpy(v.u.uuid, id, 16);
	sql_init(&q, &dialect, NULL);
	sql_by_id(&q, r, owner, &v, whose ? SQL_OWNER : SQL_ONE);
	res = standalone ? query_once(s, &q, err) : run(s, &q, err);
	sql_free(&q);
	if (!res)
		return -1;
	*found = PQntuples(res) > 0;
	if (*found && whose)
		*whose = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
	PQclear(res);
	return 0;
}

static int pg_exists(struct store *base, const struct resource *r, int64_t owner,
                     const unsigned char id[16], bool *found, int64_t *whose, struct store_error *err)
{
	return exists((struct pg_store *)base, r, owner, id, true, found, whose, err);
}

/* A statement that changes rows; *changed gets how many. */
static int change(struct pg_store *s, struct sql *q, long *changed, struct store_error *err)
{
	PGresult *res = run(s, q, err);

	if (!res)
		return -1;
	if (changed)
		*changed = atol(PQcmdTuples(res));
	PQclear(res);
	return 0;
}

/* The shared write sequence (sql.c) on this connection. */
static int w_begin(void *ctx, struct store_error *err)
{
	return begin(ctx, false, err);
}

static int w_exec(void *ctx, struct sql *q, long *changed, struct store_error *err)
{
	return change(ctx, q, changed, err);
}

static int w_finish(void *ctx, int rc, struct store_error *err)
{
	return finish(ctx, rc, err);
}

static int w_exists(void *ctx, const struct resource *r, int64_t owner, const unsigned char id[16], bool *found,
                    struct store_error *err)
{
	return exists(ctx, r, owner, id, false, found, NULL, err);
}

static const struct sql_writer writer = {&dialect, w_begin, w_exec, w_finish, w_exists};

static int pg_create(struct store *base, const struct resource *r, int64_t owner,
                     const struct record *rec, struct store_error *err)
{
	return sql_create(&writer, base, r, owner, rec, err);
}

static int pg_replace(struct store *base, const struct resource *r, int64_t owner,
                      const struct record *rec, struct store_error *err)
{
	return sql_replace(&writer, base, r, owner, rec, err);
}

static int pg_remove(struct store *base, const struct resource *r, int64_t owner,
                     const unsigned char id[16], struct store_error *err)
{
	return sql_remove(&writer, base, r, owner, id, err);
}




static int pg_aggregate(struct store *base, const struct query *qy, int group_field,
                        int sum_field, struct arena *a, struct agg_row **rows, size_t *n,
                        struct store_error *err)
{
	struct pg_store *s = (struct pg_store *)base;
	const struct resource *r = qy->res;
	struct sql q;
	PGresult *res;
	int i;

	sql_init(&q, &dialect, a);
	sql_aggregate(&q, qy, group_field, sum_field);
	res = query_once(s, &q, err);
	sql_free(&q);
	if (!res)
		return -1;
	*n = (size_t)PQntuples(res);
	*rows = ARENA_ARRAY(a, struct agg_row, *n ? *n : 1);
	for (i = 0; i < (int)*n; i++) {
		if (read_value(res, i, 0, &r->fields[group_field], a, &(*rows)[i].group) < 0) {
			PQclear(res);
			store_error_set(err, STORE_INVALID, "%s.%s holds an invalid value", r->table,
			                r->fields[group_field].column);
			return -1;
		}
		(*rows)[i].count = strtoll(PQgetvalue(res, i, 1), NULL, 10);
		(*rows)[i].sum = strtoll(PQgetvalue(res, i, 2), NULL, 10);
	}
	PQclear(res);
	return 0;
}

static int pg_routes(struct store *base, const struct route_row *set, struct arena *a,
                     struct route_row **rows, size_t *n, struct store_error *err)
{
	struct pg_store *s = (struct pg_store *)base;
	char now[40];
	struct sql q;
	PGresult *res = NULL;
	int rc, i;

	if (ensure_connected(s, err) < 0)
		return -1;
	rc = exec(s, sql_routes_table, err);
	if (rc < 0 && retry_on_fresh_connection(s, err))
		rc = exec(s, sql_routes_table, err);
	sql_init(&q, &dialect, a);
	if (rc == 0 && set) {
		datetime_format_sql(now_wall_us(), now);
		sql_routes_upsert(&q, set, now);
		if (!(res = run(s, &q, err)))
			rc = -1;
		PQclear(res);
	}
	if (rc == 0) {
		sql_routes_select(&q);
		if (!(res = run(s, &q, err)))
			rc = -1;
	}
	sql_free(&q);
	*n = 0;
	*rows = ARENA_ARRAY(a, struct route_row, res && PQntuples(res) ? (size_t)PQntuples(res) : 1);
	for (i = 0; res && i < PQntuples(res); i++) {
		struct route_row *r = &(*rows)[(*n)++];

		r->route = arena_strdup(a, PQgetvalue(res, i, 0));
		r->mode = arena_strdup(a, PQgetvalue(res, i, 1));
		r->sample = atoi(PQgetvalue(res, i, 2));
		r->version = strtoll(PQgetvalue(res, i, 3), NULL, 10);
	}
	PQclear(res);
	return rc;
}

static int pg_scan(struct store *base, const struct resource *r, const unsigned char *after,
                   size_t limit, struct arena *a, struct record **rows, int64_t **owners,
                   size_t *n, struct store_error *err)
{
	struct pg_store *s = (struct pg_store *)base;
	struct value v = {.null = false};
	struct sql q;
	int rc;

	if (after)
		memcpy(v.u.uuid, after, 16);
	if (begin(s, true, err) < 0)
		return -1;
	sql_init(&q, &dialect, a);
	sql_scan(&q, r, after ? &v : NULL, limit);
	s->keep_bad = true;
	rc = read_rows(s, &q, r, a, rows, n, NULL, owners, err);
	sql_free(&q);
	if (rc == 0)
		rc = read_children(s, r, a, *rows, *n, err);
	s->keep_bad = false;
	if (rc == 0)
		store_mark_bad_children(r, *rows, *n);
	return finish(s, rc, err);
}

static int pg_size(struct store *base, const struct resource *r, int64_t *n, struct store_error *err)
{
	struct pg_store *s = (struct pg_store *)base;
	struct sql q;
	PGresult *res;

	sql_init(&q, &dialect, NULL);
	sql_size(&q, r);
	res = query_once(s, &q, err);
	sql_free(&q);
	if (!res)
		return -1;
	*n = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
	PQclear(res);
	return 0;
}

static void pg_close(struct store *base)
{
	struct pg_store *s = (struct pg_store *)base;

	if (!s)
		return;
	forget_statements(s);
	PQfinish(s->conn);
	free(s->conninfo);
	free(s);
}

static struct store *pg_open(const char *url, const struct config *cfg, struct store_error *err)
{
	struct pg_store *s = xcalloc(1, sizeof(*s));
	struct buf b = {0};

	(void)cfg;
	s->base.ops = &store_postgres_ops;
	/* A server that is down must fail a call quickly, not hang it. */
	buf_puts(&b, url);
	if (!strstr(url, "connect_timeout="))
		buf_puts(&b, strchr(url, '?') ? "&connect_timeout=5" : "?connect_timeout=5");
	s->conninfo = xstrdup(buf_cstr(&b));
	buf_free(&b);
	s->conn = PQconnectdb(s->conninfo);
	if (!s->conn) {
		store_error_set(err, STORE_UNAVAILABLE, "postgres: out of memory");
		pg_close(&s->base);
		return NULL;
	}
	/* A server that is down now may be up for the next call: keep the
	 * handle and reconnect then (ensure_connected). */
	if (PQstatus(s->conn) == CONNECTION_OK && session_setup(s) < 0) {
		store_error_set(err, STORE_UNAVAILABLE, "postgres: %s", PQerrorMessage(s->conn));
		pg_close(&s->base);
		return NULL;
	}
	return &s->base;
}

const struct store_ops store_postgres_ops = {
	.name = "postgres",         /* adapter name, shown in logs */
	.version = 1,               /* interface version this table implements */
	.blocking = true,           /* network calls: store workers only */
	.nulls_high = true,
	.accepts = pg_accepts,      /* postgres:// and postgresql:// URLs (libpq options honoured) */
	.open = pg_open,            /* one connection; reconnects on the next call when it breaks */
	.close = pg_close,
	.count = pg_count,
	.list = pg_list,            /* rows and children in one REPEATABLE READ snapshot */
	.get = pg_get,
	.exists = pg_exists,
	.create = pg_create,        /* row and children in one transaction */
	.replace = pg_replace,
	.remove = pg_remove,
	.aggregate = pg_aggregate,  /* exact sums in the decimal's units */
	.scan = pg_scan,
	.size = pg_size,
	.routes = pg_routes,        /* the cutover_routes table, created when missing */
};
