/*
 * schema.c — read a legacy schema for `cutover init` (schema.h).
 *
 * SQLite answers through its catalogue pragmas (as table-valued functions,
 * so table names are bound, never spliced), PostgreSQL through pg_catalog.
 * Both report CHECK constraints only as expression text; the few kinds init
 * understands (an enumeration, numeric bounds, Django's JSON_VALID) are read
 * by one small tokenizer shared by the two.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <libpq-fe.h>
#include <sqlite3.h>

#include "json.h"
#include "schema.h"

struct schema_table *schema_table(const struct schema *s, const char *name)
{
	size_t i;

	for (i = 0; i < s->ntables; i++)
		if (strcmp(s->tables[i].name, name) == 0)
			return &s->tables[i];
	return NULL;
}

struct schema_column *schema_column(const struct schema_table *t, const char *name)
{
	size_t i;

	for (i = 0; i < t->ncols; i++)
		if (strcasecmp(t->cols[i].name, name) == 0)
			return &t->cols[i];
	return NULL;
}

void schema_free(struct schema *s)
{
	arena_reset(&s->arena);
	s->tables = NULL;
	s->ntables = 0;
}

/* Growth by doubling for the arrays built while reading: the arena keeps
 * the old copies, which is fine at a schema's size. */
#define GROW(a, arr, n)                                                                        \
	do {                                                                                   \
		if (((n) & ((n) - 1)) == 0) {                                                  \
			void *p_ = arena_alloc((a), sizeof(*(arr)) * ((n) ? 2 * (n) : 4));     \
			if (n)                                                                 \
				memcpy(p_, (arr), sizeof(*(arr)) * (n));                       \
			(arr) = p_;                                                            \
		}                                                                              \
	} while (0)

static char *lower_dup(struct arena *a, const char *s)
{
	char *d = arena_strdup(a, s), *p;

	for (p = d; *p; p++)
		*p = (char)tolower((unsigned char)*p);
	return d;
}

/* CHECK expressions ------------------------------------------------- */

enum tok_kind { TK_END, TK_IDENT, TK_STRING, TK_NUMBER, TK_OP };

struct tok {
	enum tok_kind kind;
	char text[128];
};

/* The next token of *p: identifiers (bare or "quoted"), 'strings',
 * numbers, and operators of one or two characters. */
static void next_tok(const char **p, struct tok *t)
{
	const char *s = *p;
	size_t n = 0;

	while (isspace((unsigned char)*s))
		s++;
	t->kind = TK_END;
	t->text[0] = '\0';
	if (!*s) {
		*p = s;
		return;
	}
	if (*s == '"' || *s == '\'' || *s == '`') {
		char q = *s++;

		t->kind = q == '\'' ? TK_STRING : TK_IDENT;
		for (; *s; s++) {
			if (*s == q && s[1] == q)
				s++;
			else if (*s == q)
				break;
			if (n + 1 < sizeof(t->text))
				t->text[n++] = *s;
		}
		if (*s)
			s++;
	} else if (isalpha((unsigned char)*s) || *s == '_') {
		t->kind = TK_IDENT;
		while (isalnum((unsigned char)*s) || *s == '_' || *s == '$') {
			if (n + 1 < sizeof(t->text))
				t->text[n++] = *s;
			s++;
		}
	} else if (isdigit((unsigned char)*s)) {
		t->kind = TK_NUMBER;
		while (isalnum((unsigned char)*s) || *s == '.') {
			if (n + 1 < sizeof(t->text))
				t->text[n++] = *s;
			s++;
		}
	} else {
		t->kind = TK_OP;
		t->text[n++] = *s++;
		if (strchr("<>!=:|", t->text[0]) && strchr("=>:|", *s))
			t->text[n++] = *s++;
	}
	t->text[n] = '\0';
	*p = s;
}

static bool is_word(const struct tok *t, const char *w)
{
	return t->kind == TK_IDENT && strcasecmp(t->text, w) == 0;
}

/* Words a check of a kind init understands may hold besides its column. */
static bool known_word(const struct tok *t)
{
	static const char *const words[] = {"in", "any", "array", "and", "or", "is", "null", "between",
	                                    "json_valid"};
	size_t i;

	for (i = 0; i < ARRAY_LEN(words); i++)
		if (is_word(t, words[i]))
			return true;
	return false;
}

static void set_bound(struct schema_column *c, const char *op, int64_t n, bool col_left)
{
	/* n OP col reads as col OP' n with the comparison turned round. */
	bool ge = col_left ? op[0] == '>' : op[0] == '<';
	bool strict = op[1] != '=';

	if (ge) {
		c->has_min = true;
		c->min = strict ? n + 1 : n;
	} else {
		c->has_max = true;
		c->max = strict ? n - 1 : n;
	}
}

/* Bounds: col OP n, n OP col, col BETWEEN n AND m, joined by AND, from the
 * n tokens of a check; -1 when a number stands anywhere else or none is set. */
static int apply_bounds(struct schema_column *col, const struct tok *tk, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		const struct tok *prev = NULL, *next = NULL;
		bool neg = false;
		int64_t v;
		size_t j;

		if (tk[i].kind != TK_NUMBER)
			continue;
		for (j = i; j-- > 0 && tk[j].kind == TK_OP && strchr("(-", tk[j].text[0]) && !tk[j].text[1];)
			neg ^= tk[j].text[0] == '-';
		prev = j < i ? &tk[j] : NULL;
		for (j = i + 1; j < n && tk[j].kind == TK_OP && tk[j].text[0] == ')';)
			j++;
		next = j < n ? &tk[j] : NULL;
		v = strtoll(tk[i].text, NULL, 10) * (neg ? -1 : 1);
		if (next && next->kind == TK_OP && strchr("<>", next->text[0])) {
			set_bound(col, next->text, v, false);
		} else if (prev && prev->kind == TK_OP && strchr("<>", prev->text[0])) {
			set_bound(col, prev->text, v, true);
		} else if (prev && is_word(prev, "between")) {
			col->has_min = true;
			col->min = v;
		} else if (prev && is_word(prev, "and") && col->has_min && !col->has_max) {
			col->has_max = true;
			col->max = v;
		} else {
			return -1;
		}
	}
	return col->has_min || col->has_max ? 0 : -1;
}

int schema_apply_check(struct arena *a, struct schema_table *t, const char *expr)
{
	struct tok tk[64];
	size_t n = 0, i, nstr = 0;
	struct schema_column *col = NULL;
	bool in = false, json = false, cast = false, other_cmp = false;
	const char *p = expr;

	do {
		if (n == ARRAY_LEN(tk))
			return -1;
		next_tok(&p, &tk[n]);
	} while (tk[n++].kind != TK_END);
	for (i = 0; i < n; i++) {
		struct tok *k = &tk[i];

		if (k->kind == TK_OP && strcmp(k->text, "::") == 0) {
			cast = true;        /* a type name follows: character varying, text[] … */
			continue;
		}
		if (k->kind != TK_IDENT) {
			cast = cast && k->kind == TK_OP && strchr("[]", k->text[0]);
			if (k->kind == TK_STRING)
				nstr++;
			if (k->kind == TK_OP && strchr("<>!", k->text[0]))
				other_cmp = true;
			continue;
		}
		if (cast)
			continue;
		if (is_word(k, "not"))
			return -1;          /* NOT IN and the like: not a list of what is allowed */
		if (known_word(k)) {
			in |= is_word(k, "in") || is_word(k, "any");
			json |= is_word(k, "json_valid");
			continue;
		}
		{
			struct schema_column *c = schema_column(t, k->text);

			if (!c || (col && c != col))
				return -1;
			col = c;
		}
	}
	if (!col)
		return -1;
	if (json) {
		col->json_check = true;
		return 0;
	}
	if (in && nstr && !other_cmp) {
		col->choices = arena_alloc(a, sizeof(char *) * nstr);
		col->nchoices = 0;
		for (i = 0; i < n; i++)
			if (tk[i].kind == TK_STRING)
				col->choices[col->nchoices++] = arena_strdup(a, tk[i].text);
		return 0;
	}
	if (nstr || in)
		return -1;
	return apply_bounds(col, tk, n);
}

/* A CHECK expression of t: applied to its column, or kept (copied: expr
 * may be the driver's) to be reported. */
static void add_check(struct arena *a, struct schema_table *t, const char *expr)
{
	if (schema_apply_check(a, t, expr) == 0)
		return;
	GROW(a, t->other_checks, t->nother_checks);
	t->other_checks[t->nother_checks++] = arena_strdup(a, expr);
}

/* Every CHECK (…) in a CREATE TABLE statement, applied to t: the text
 * between its parentheses, found by tokens so that quoted ones do not count. */
static void apply_sql_checks(struct arena *a, struct schema_table *t, const char *sql)
{
	const char *p = sql;
	struct tok k;

	for (next_tok(&p, &k); k.kind != TK_END; next_tok(&p, &k)) {
		const char *start, *end;
		int depth = 1;

		if (!is_word(&k, "check"))
			continue;
		next_tok(&p, &k);
		if (k.kind != TK_OP || k.text[0] != '(')
			continue;
		start = end = p;
		while (depth > 0) {
			end = p;
			next_tok(&p, &k);
			if (k.kind == TK_END)
				return;
			depth += k.kind == TK_OP && k.text[0] == '(';
			depth -= k.kind == TK_OP && k.text[0] == ')';
		}
		add_check(a, t, arena_strndup(a, start, (size_t)(end - start)));
	}
}

/* SQLite ---------------------------------------------------------------- */

static sqlite3_stmt *prep(sqlite3 *db, const char *sql, const char *arg)
{
	sqlite3_stmt *st = NULL;

	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
		return NULL;
	if (arg)
		sqlite3_bind_text(st, 1, arg, -1, SQLITE_TRANSIENT);
	return st;
}

static const char *col_text(struct arena *a, sqlite3_stmt *st, int i)
{
	const unsigned char *s = sqlite3_column_text(st, i);

	return s ? arena_strdup(a, (const char *)s) : NULL;
}

static void sqlite_columns(struct arena *a, sqlite3 *db, struct schema_table *t)
{
	sqlite3_stmt *st = prep(db, "SELECT name, type, \"notnull\", dflt_value, pk FROM pragma_table_info(?)",
	                        t->name);

	while (st && sqlite3_step(st) == SQLITE_ROW) {
		struct schema_column *c;

		GROW(a, t->cols, t->ncols);
		c = memset(&t->cols[t->ncols++], 0, sizeof(*c));
		c->name = col_text(a, st, 0);
		c->type = lower_dup(a, col_text(a, st, 1) ? col_text(a, st, 1) : "");
		c->not_null = sqlite3_column_int(st, 2) != 0;
		c->def = col_text(a, st, 3);
		c->pk = sqlite3_column_int(st, 4) != 0;
	}
	sqlite3_finalize(st);
}

static void sqlite_keys(struct arena *a, sqlite3 *db, struct schema_table *t, const char *sql)
{
	sqlite3_stmt *st = prep(db, "SELECT \"table\", \"from\", on_delete, seq FROM pragma_foreign_key_list(?)",
	                        t->name);
	bool deferred = sql && strcasestr(sql, "DEFERRABLE INITIALLY DEFERRED");

	while (st && sqlite3_step(st) == SQLITE_ROW) {
		struct schema_fk *f;

		if (sqlite3_column_int(st, 3) != 0)
			continue;           /* one column of a composite key */
		GROW(a, t->fks, t->nfks);
		f = &t->fks[t->nfks++];
		f->ref_table = col_text(a, st, 0);
		f->column = col_text(a, st, 1);
		f->cascade = strcasecmp((const char *)sqlite3_column_text(st, 2), "CASCADE") == 0;
		f->deferred = deferred;
	}
	sqlite3_finalize(st);
	st = prep(db, "SELECT name, \"unique\" FROM pragma_index_list(?) WHERE origin <> 'pk' ORDER BY seq DESC",
	          t->name);
	while (st && sqlite3_step(st) == SQLITE_ROW) {
		struct schema_index *x;
		sqlite3_stmt *ci;

		GROW(a, t->idx, t->nidx);
		x = memset(&t->idx[t->nidx++], 0, sizeof(*x));
		x->name = col_text(a, st, 0);
		x->unique = sqlite3_column_int(st, 1) != 0;
		ci = prep(db, "SELECT name FROM pragma_index_info(?) ORDER BY seqno", x->name);
		while (ci && sqlite3_step(ci) == SQLITE_ROW) {
			GROW(a, x->columns, x->ncolumns);
			x->columns[x->ncolumns++] = col_text(a, ci, 0);
		}
		sqlite3_finalize(ci);
	}
	sqlite3_finalize(st);
}

static int read_sqlite(const char *path, struct schema *s, struct error *err)
{
	struct arena *a = &s->arena;
	sqlite3 *db = NULL;
	sqlite3_stmt *st;
	int rc = -1;

	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
		error_set(err, 1, "sqlite %s: %s", path, db ? sqlite3_errmsg(db) : "cannot open");
		goto done;
	}
	st = prep(db, "SELECT name, sql FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' "
	              "ORDER BY rowid", NULL);
	if (!st) {
		error_set(err, 1, "sqlite %s: %s", path, sqlite3_errmsg(db));
		goto done;
	}
	while (sqlite3_step(st) == SQLITE_ROW) {
		struct schema_table *t;
		const char *sql = col_text(a, st, 1);

		GROW(a, s->tables, s->ntables);
		t = memset(&s->tables[s->ntables++], 0, sizeof(*t));
		t->name = col_text(a, st, 0);
		sqlite_columns(a, db, t);
		sqlite_keys(a, db, t, sql);
		if (sql)
			apply_sql_checks(a, t, sql);
	}
	sqlite3_finalize(st);
	rc = 0;
done:
	sqlite3_close(db);
	return rc;
}

/* PostgreSQL ------------------------------------------------------------ */

/* The tables and columns of the current schema, in the order they were made. */
static const char pg_columns[] =
	"SELECT c.relname, a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull, "
	"       pg_get_expr(d.adbin, d.adrelid), "
	"       (SELECT json_agg(e.enumlabel ORDER BY e.enumsortorder) FROM pg_enum e "
	"         WHERE e.enumtypid = a.atttypid)::text "
	"FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
	"JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped "
	"LEFT JOIN pg_attrdef d ON d.adrelid = c.oid AND d.adnum = a.attnum "
	"WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p') "
	"ORDER BY c.oid, a.attnum";

/* Primary and foreign keys and checks, with their columns as a JSON array. */
static const char pg_constraints[] =
	"SELECT c.relname, k.contype, pg_get_constraintdef(k.oid), "
	"       (SELECT json_agg(a.attname ORDER BY u.o) FROM unnest(k.conkey) WITH ORDINALITY u(n, o) "
	"          JOIN pg_attribute a ON a.attrelid = k.conrelid AND a.attnum = u.n)::text, "
	"       f.relname, k.confdeltype = 'c', k.condeferrable AND k.condeferred "
	"FROM pg_constraint k JOIN pg_class c ON c.oid = k.conrelid "
	"JOIN pg_namespace n ON n.oid = c.relnamespace LEFT JOIN pg_class f ON f.oid = k.confrelid "
	"WHERE n.nspname = current_schema() AND k.contype IN ('p', 'f', 'c') "
	"ORDER BY c.relname, k.conkey[1], k.conname";

/* Indexes, unique constraints among them, but not the primary key's. */
static const char pg_indexes[] =
	"SELECT c.relname, i.relname, x.indisunique, "
	"       (SELECT json_agg(a.attname ORDER BY u.o) FROM unnest(x.indkey) WITH ORDINALITY u(n, o) "
	"          JOIN pg_attribute a ON a.attrelid = x.indrelid AND a.attnum = u.n)::text "
	"FROM pg_index x JOIN pg_class c ON c.oid = x.indrelid JOIN pg_class i ON i.oid = x.indexrelid "
	"JOIN pg_namespace n ON n.oid = c.relnamespace "
	"WHERE n.nspname = current_schema() AND NOT x.indisprimary ORDER BY c.relname, i.relname";

/* A JSON array of strings (from json_agg) as a C array. */
static const char **json_names(struct arena *a, const char *text, size_t *n)
{
	char msg[128];
	const struct json *j = text ? json_parse(a, text, strlen(text), msg, sizeof(msg), NULL) : NULL;
	const char **out;
	size_t i;

	*n = 0;
	if (!j || j->type != JSON_ARRAY)
		return NULL;
	out = arena_alloc(a, sizeof(char *) * (j->u.a.n + 1));
	for (i = 0; i < j->u.a.n; i++)
		if (json_cstr(j->u.a.v[i]))
			out[(*n)++] = json_cstr(j->u.a.v[i]);
	return out;
}

static const char *pg_val(PGresult *r, int row, int col)
{
	return PQgetisnull(r, row, col) ? NULL : PQgetvalue(r, row, col);
}

static PGresult *pg_query(PGconn *c, const char *sql, struct error *err)
{
	PGresult *r = PQexec(c, sql);

	if (PQresultStatus(r) != PGRES_TUPLES_OK) {
		error_set(err, 1, "postgres: reading the schema: %s", PQerrorMessage(c));
		PQclear(r);
		return NULL;
	}
	return r;
}

static void pg_add_columns(struct schema *s, PGresult *r)
{
	struct arena *a = &s->arena;
	int i;

	for (i = 0; i < PQntuples(r); i++) {
		struct schema_table *t = schema_table(s, pg_val(r, i, 0));
		struct schema_column *c;

		if (!t) {
			GROW(a, s->tables, s->ntables);
			t = memset(&s->tables[s->ntables++], 0, sizeof(*t));
			t->name = arena_strdup(a, pg_val(r, i, 0));
		}
		GROW(a, t->cols, t->ncols);
		c = memset(&t->cols[t->ncols++], 0, sizeof(*c));
		c->name = arena_strdup(a, pg_val(r, i, 1));
		c->type = lower_dup(a, pg_val(r, i, 2));
		c->not_null = pg_val(r, i, 3)[0] == 't';
		c->def = pg_val(r, i, 4) ? arena_strdup(a, pg_val(r, i, 4)) : NULL;
		c->choices = json_names(a, pg_val(r, i, 5), &c->nchoices);
	}
}

static void pg_add_constraints(struct schema *s, PGresult *r)
{
	struct arena *a = &s->arena;
	int i;

	for (i = 0; i < PQntuples(r); i++) {
		struct schema_table *t = schema_table(s, pg_val(r, i, 0));
		char kind = pg_val(r, i, 1)[0];
		size_t ncols, k;
		const char **cols = json_names(a, pg_val(r, i, 3), &ncols);
		const char *def = pg_val(r, i, 2);

		if (!t)
			continue;
		if (kind == 'p') {
			for (k = 0; k < ncols; k++)
				if (schema_column(t, cols[k]))
					schema_column(t, cols[k])->pk = true;
		} else if (kind == 'f' && ncols == 1 && pg_val(r, i, 4)) {
			struct schema_fk *f;

			GROW(a, t->fks, t->nfks);
			f = &t->fks[t->nfks++];
			f->column = cols[0];
			f->ref_table = arena_strdup(a, pg_val(r, i, 4));
			f->cascade = pg_val(r, i, 5)[0] == 't';
			f->deferred = pg_val(r, i, 6)[0] == 't';
		} else if (kind == 'c' && def && strncmp(def, "CHECK ", 6) == 0) {
			add_check(a, t, def + 6);
		}
	}
}

static void pg_add_indexes(struct schema *s, PGresult *r)
{
	struct arena *a = &s->arena;
	int i;

	for (i = 0; i < PQntuples(r); i++) {
		struct schema_table *t = schema_table(s, pg_val(r, i, 0));
		struct schema_index *x;

		if (!t)
			continue;
		GROW(a, t->idx, t->nidx);
		x = &t->idx[t->nidx++];
		x->name = arena_strdup(a, pg_val(r, i, 1));
		x->unique = pg_val(r, i, 2)[0] == 't';
		x->columns = json_names(a, pg_val(r, i, 3), &x->ncolumns);
	}
}

static int read_postgres(const char *url, struct schema *s, struct error *err)
{
	PGconn *c = PQconnectdb(url);
	PGresult *cols = NULL, *cons = NULL, *idx = NULL;
	int rc = -1;

	if (PQstatus(c) != CONNECTION_OK) {
		error_set(err, 1, "postgres: %s", PQerrorMessage(c));
		goto done;
	}
	if (!(cols = pg_query(c, pg_columns, err)) || !(cons = pg_query(c, pg_constraints, err)) ||
	    !(idx = pg_query(c, pg_indexes, err)))
		goto done;
	pg_add_columns(s, cols);
	pg_add_constraints(s, cons);
	pg_add_indexes(s, idx);
	rc = 0;
done:
	PQclear(cols);
	PQclear(cons);
	PQclear(idx);
	PQfinish(c);
	return rc;
}

int schema_read(const char *url, struct schema *s, struct error *err)
{
	memset(s, 0, sizeof(*s));
	arena_init(&s->arena, 65536);
	if (strncmp(url, "sqlite://", 9) == 0) {
		s->kind = "sqlite";
		return read_sqlite(url + 9, s, err);
	}
	if (strncmp(url, "postgres://", 11) == 0 || strncmp(url, "postgresql://", 13) == 0) {
		s->kind = "postgres";
		return read_postgres(url, s, err);
	}
	error_set(err, 1, "unknown store URL \"%s\": give sqlite:///path or postgres://…", url);
	return -1;
}
