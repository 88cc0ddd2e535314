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
 * Reads take as few round trips as their statements allow: libpq's
 * pipeline mode sends a record's read transaction (BEGIN, the record, its
 * children, COMMIT) at once, and a page's in two.
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
};

static const char read_only_begin[] = "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY";

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

/* Does the database order text by code point, as MongoDB does?  Its
 * collation (an ICU locale where that is the provider) says; the column
 * collations Django leaves at the default. */
static void note_collation(struct pg_store *s)
{
	PGresult *res = PQexec(s->conn, PQserverVersion(s->conn) >= 150000 ?
	                       "SELECT CASE WHEN datlocprovider = 'i' THEN daticulocale ELSE datcollate END "
	                       "FROM pg_database WHERE datname = current_database()" :
	                       "SELECT datcollate FROM pg_database WHERE datname = current_database()");
	const char *c;

	if (PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1) {
		c = PQgetvalue(res, 0, 0);
		if (!(strcmp(c, "C") == 0 || strcmp(c, "POSIX") == 0 || strncmp(c, "C.", 2) == 0))
			store_text_collated = true;
	}
	PQclear(res);
}

static int session_setup(struct pg_store *s)
{
	PGresult *res = PQexec(s->conn, "SET TIME ZONE 'UTC'");
	int ok = PQresultStatus(res) == PGRES_COMMAND_OK;

	PQclear(res);
	if (ok)
		note_collation(s);
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

/* q's statement prepared on this connection (once): its index, whose
 * name is "c<index>"; -1 when the cache is full (q then goes unprepared),
 * -2 on failure. */
static int prepared(struct pg_store *s, struct sql *q, struct store_error *err)
{
	const char *text = sql_text(q);
	char name[24];
	PGresult *res;
	size_t i;

	for (i = 0; i < s->nnames && strcmp(s->names[i], text) != 0; i++)
		;
	if (i < s->nnames)
		return (int)i;
	if (s->nnames == STMT_CACHE_MAX)
		return -1;
	snprintf(name, sizeof(name), "c%zu", i);
	res = PQprepare(s->conn, name, text, (int)q->n, NULL);
	if (PQresultStatus(res) != PGRES_COMMAND_OK) {
		fail_res(s, res, err, "prepare");
		return -2;
	}
	PQclear(res);
	s->names[s->nnames++] = xstrdup(text);
	return (int)i;
}

/* q's parameters as text, for one call: values[] points into tmp[]. */
struct params {
	const char **values;
	char (*tmp)[PARAM_TEXT_MAX];
};

static void params_make(struct params *p, const struct sql *q)
{
	size_t i;

	p->values = xcalloc(q->n + 1, sizeof(*p->values));
	p->tmp = xcalloc(q->n + 1, sizeof(*p->tmp));
	for (i = 0; i < q->n; i++)
		p->values[i] = param_text(&q->params[i], p->tmp[i]);
}

static void params_free(struct params *p)
{
	free(p->values);
	free(p->tmp);
}

/* Run q as a prepared statement (prepared once per connection). */
static PGresult *run(struct pg_store *s, struct sql *q, struct store_error *err)
{
	int k = prepared(s, q, err);
	char name[24];
	struct params p;
	PGresult *res;
	ExecStatusType st;

	if (k == -2)
		return NULL;
	params_make(&p, q);
	snprintf(name, sizeof(name), "c%d", k);
	res = k >= 0 ? PQexecPrepared(s->conn, name, (int)q->n, p.values, NULL, NULL, 0) :
	      PQexecParams(s->conn, sql_text(q), (int)q->n, NULL, p.values, NULL, NULL, 0);
	params_free(&p);
	st = PQresultStatus(res);
	if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
		fail_res(s, res, err, "query");
		res = NULL;
	}
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

/* A write transaction (reads open theirs in pipeline()). */
static int begin(struct pg_store *s, struct store_error *err)
{
	const char *sql = "BEGIN";

	if (ensure_connected(s, err) < 0)
		return -1;
	if (exec(s, sql, err) == 0)
		return 0;
	return retry_on_fresh_connection(s, err) ? exec(s, sql, err) : -1;
}

/* Every row of res (cleared here), as records of r; with fks, the column
 * after r's fields is a parent key, returned per row. */
static int take_rows(struct pg_store *s, PGresult *res, const struct resource *r,
                     struct arena *a, struct record **rows, size_t *n,
                     unsigned char (**fks)[16], int64_t **owners, struct store_error *err)
{
	int i, k;

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

/* Sends a pipeline's steps (see pipeline) and its sync: BEGIN when begin_sql
 * is given, qs[0..nq) with ps[i] made from qs[i], prepared as c<ks[i]> when
 * ks[i] >= 0, then COMMIT when commit.  False when a send failed. */
static bool pipeline_send(struct pg_store *s, const char *begin_sql, struct sql *qs, size_t nq, bool commit,
                          struct params *ps, const int *ks)
{
	bool sent;
	size_t i;

	sent = PQenterPipelineMode(s->conn) &&
	       (!begin_sql || PQsendQueryParams(s->conn, begin_sql, 0, NULL, NULL, NULL, NULL, 0));
	for (i = 0; i < nq && sent; i++) {
		char name[24];

		params_free(&ps[i]);
		params_make(&ps[i], &qs[i]);
		snprintf(name, sizeof(name), "c%d", ks[i]);
		sent = ks[i] >= 0 ?
		       PQsendQueryPrepared(s->conn, name, (int)qs[i].n, ps[i].values, NULL, NULL, 0) :
		       PQsendQueryParams(s->conn, sql_text(&qs[i]), (int)qs[i].n, NULL, ps[i].values, NULL,
		                         NULL, 0);
	}
	return sent && (!commit || PQsendQueryParams(s->conn, "COMMIT", 0, NULL, NULL, NULL, NULL, 0)) &&
	       PQpipelineSync(s->conn);
}

/* Every result of every step, up to the sync: qs[q]'s into res[q], the
 * rest cleared; the first failure is the error (in err, *failed set), the
 * rest were skipped because of it. */
static void pipeline_results(struct pg_store *s, const char *begin_sql, size_t nq, size_t steps,
                             PGresult **res, bool *failed, struct store_error *err)
{
	size_t i;

	for (i = 0;;) {
		PGresult *r = PQgetResult(s->conn);
		ExecStatusType st = r ? PQresultStatus(r) : PGRES_FATAL_ERROR;

		if (!r && i < steps) {
			i++;                    /* one step's results have ended */
			continue;
		}
		if (st == PGRES_PIPELINE_SYNC) {
			PQclear(r);
			break;
		}
		if (!r || (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK)) {
			if (!*failed && st != PGRES_PIPELINE_ABORTED)
				fail_res(s, r, err, "query");
			else
				PQclear(r);
			*failed = true;
			if (!r || PQstatus(s->conn) != CONNECTION_OK)
				break;
			continue;
		}
		{
			size_t q = i - (begin_sql != NULL);

			if (begin_sql && i == 0)
				PQclear(r);
			else if (q < nq && !res[q])
				res[q] = r;
			else
				PQclear(r);     /* COMMIT's */
		}
	}
}

/*
 * Several statements in one round trip (libpq's pipeline mode): BEGIN
 * first when begin_sql is given, then qs[0..nq), then COMMIT when commit.
 * res[i] gets qs[i]'s result.  On failure nothing is left in res and the
 * caller rolls back (finish).  A connection found broken before anything
 * ran is replaced and the whole pipeline sent again, once, when it opens
 * the transaction (nothing has happened yet, so it is safe).
 */
static int pipeline(struct pg_store *s, const char *begin_sql, struct sql *qs, size_t nq, bool commit,
                    PGresult **res, struct store_error *err)
{
	struct params *ps = xcalloc(nq + 1, sizeof(*ps));
	int *ks = xcalloc(nq + 1, sizeof(*ks));
	bool failed = false, sent;
	size_t i, steps = nq + (begin_sql != NULL) + commit;
	int attempt;

	for (attempt = 0; attempt < 2; attempt++) {
		failed = true;
		if (ensure_connected(s, err) < 0)
			break;
		failed = false;
		for (i = 0; i < nq && !failed; i++)
			failed = (ks[i] = prepared(s, &qs[i], err)) == -2;
		if (failed) {
			if (attempt == 0 && begin_sql && retry_on_fresh_connection(s, err))
				continue;
			break;
		}
		sent = pipeline_send(s, begin_sql, qs, nq, commit, ps, ks);
		if (sent)
			pipeline_results(s, begin_sql, nq, steps, res, &failed, err);
		if (!sent) {
			if (!failed)
				store_error_set(err, STORE_UNAVAILABLE, "postgres: %s", PQerrorMessage(s->conn));
			failed = true;
		}
		/* Results left unread (a send that failed half-way) keep the
		 * connection in pipeline mode: it is replaced instead. */
		if (PQstatus(s->conn) == CONNECTION_OK && !PQexitPipelineMode(s->conn)) {
			forget_statements(s);
			PQreset(s->conn);
			if (PQstatus(s->conn) == CONNECTION_OK)
				session_setup(s);
		}
		if (!failed)
			break;
		for (i = 0; i < nq; i++) {
			PQclear(res[i]);
			res[i] = NULL;
		}
		if (attempt > 0 || !begin_sql || !retry_on_fresh_connection(s, err))
			break;
	}
	for (i = 0; i < nq; i++)
		params_free(&ps[i]);
	free(ps);
	free(ks);
	return failed ? -1 : 0;
}

/* The statements reading the children of recs[0..n), one per child
 * resource of r, into qs[0..r->nchildren). */
static void children_sql(struct sql *qs, const struct resource *r, struct arena *a,
                         const struct record *recs, size_t n)
{
	size_t c;

	for (c = 0; c < r->nchildren; c++) {
		sql_init(&qs[c], &dialect, a);
		sql_children(&qs[c], r, r->children[c], recs, n);
	}
}

/* Their results (cleared here), given to the records they belong to. */
static int children_take(struct pg_store *s, PGresult **res, const struct resource *r, struct arena *a,
                         struct record *recs, size_t n, struct store_error *err)
{
	int rc = 0;
	size_t c;

	for (c = 0; c < r->nchildren; c++) {
		struct record *kids;
		unsigned char (*fks)[16];
		size_t nkids;

		if (rc == 0 && (rc = take_rows(s, res[c], r->children[c], a, &kids, &nkids, &fks, NULL, err)) == 0)
			store_distribute_children(a, r, c, recs, n, kids, (const unsigned char (*)[16])fks, nkids);
		else if (rc < 0)
			PQclear(res[c]);
		res[c] = NULL;
	}
	return rc;
}

static void results_clear(PGresult **res, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		PQclear(res[i]);
}

static void sql_free_all(struct sql *qs, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		sql_free(&qs[i]);
}

/* The rows of a read transaction opened by pipeline(), with their
 * children, which are read and the transaction committed in one round
 * trip.  rc says how the first part went; on failure it rolls back. */
static int read_children_and_commit(struct pg_store *s, int rc, const struct resource *r, struct arena *a,
                                    struct record *recs, size_t n, struct store_error *err)
{
	size_t nq = n ? r->nchildren : 0;
	struct sql *qs = ARENA_ARRAY(a, struct sql, nq + 1);
	PGresult **res = ARENA_ARRAY(a, PGresult *, nq + 1);

	if (rc < 0)
		return finish(s, rc, err);
	if (nq)
		children_sql(qs, r, a, recs, n);
	rc = pipeline(s, NULL, qs, nq, true, res, err);
	sql_free_all(qs, nq);
	if (rc == 0 && (rc = children_take(s, res, r, a, recs, nq ? n : 0, err)) == 0)
		return 0;
	return finish(s, -1, err);
}

/* q's rows in a new read transaction, left open for
 * read_children_and_commit. */
static int begin_read_rows(struct pg_store *s, struct sql *q, const struct resource *r, struct arena *a,
                           struct record **rows, size_t *n, int64_t **owners, struct store_error *err)
{
	PGresult *res = NULL;

	if (pipeline(s, read_only_begin, q, 1, false, &res, err) < 0)
		return -1;
	return take_rows(s, res, r, a, rows, n, NULL, owners, err);
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

	sql_init(&q, &dialect, a);
	sql_list(&q, qy);
	rc = begin_read_rows(s, &q, qy->res, a, rows, n, NULL, err);
	sql_free(&q);
	return read_children_and_commit(s, rc, qy->res, a, rc == 0 ? *rows : NULL, rc == 0 ? *n : 0, err);
}

/* One round trip: the record, its children (whose parent key is known),
 * in one read transaction. */
static int pg_get(struct store *base, const struct resource *r, int64_t owner,
                  const unsigned char id[16], struct arena *a, struct record *out,
                  struct store_error *err)
{
	struct pg_store *s = (struct pg_store *)base;
	struct record *key = record_new(a, r), *rows;
	size_t nq = 1 + r->nchildren, n;
	struct sql *qs = ARENA_ARRAY(a, struct sql, nq);
	PGresult **res = ARENA_ARRAY(a, PGresult *, nq);
	int rc;

	key->vals[r->pk].null = false;
	memcpy(key->vals[r->pk].u.uuid, id, 16);
	sql_init(&qs[0], &dialect, a);
	sql_by_id(&qs[0], r, owner, &key->vals[r->pk], SQL_COLUMNS);
	children_sql(qs + 1, r, a, key, 1);
	rc = pipeline(s, read_only_begin, qs, nq, true, res, err);
	sql_free_all(qs, nq);
	if (rc < 0)
		return finish(s, rc, err);
	rc = take_rows(s, res[0], r, a, &rows, &n, NULL, NULL, err);
	if (rc == 0 && n == 0) {
		store_error_set(err, STORE_NOT_FOUND, "not found");
		rc = -1;
	}
	if (rc < 0) {
		results_clear(res + 1, nq - 1);
		return rc;
	}
	*out = rows[0];
	return children_take(s, res + 1, r, a, out, 1, err);
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
	return begin(ctx, err);
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
	sql_init(&q, &dialect, a);
	sql_scan(&q, r, after ? &v : NULL, limit);
	s->keep_bad = true;
	rc = begin_read_rows(s, &q, r, a, rows, n, owners, err);
	sql_free(&q);
	rc = read_children_and_commit(s, rc, r, a, rc == 0 ? *rows : NULL, rc == 0 ? *n : 0, err);
	s->keep_bad = false;
	if (rc == 0)
		store_mark_bad_children(r, *rows, *n);
	return rc;
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
