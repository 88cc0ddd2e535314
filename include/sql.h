/*
 * sql.h — SQL text and parameters for the relational adapters.
 *
 * Both relational stores get the same queries from here; they differ only
 * in a dialect (placeholders, case-insensitive match, null ordering) and in
 * how each adapter binds the parameters.  Identifiers come only from the
 * configuration (checked to be plain names) and are quoted; every client
 * value is a parameter.
 */
#ifndef CUTOVER_SQL_H
#define CUTOVER_SQL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store.h"

struct sql_dialect {
	bool numbered;          /* $1, $2 … (PostgreSQL) rather than ? */
	const char *like;       /* "LIKE" (SQLite: ASCII case-insensitive) or "ILIKE" */
};

enum sql_param_kind { SQLP_VALUE, SQLP_INT, SQLP_TEXT };

struct sql_param {
	enum sql_param_kind kind;
	const struct field *field;  /* SQLP_VALUE */
	const struct value *val;    /* SQLP_VALUE */
	int64_t i;                  /* SQLP_INT */
	const char *text;           /* SQLP_TEXT */
	size_t len;
};

struct sql {
	const struct sql_dialect *d;
	struct buf text;
	struct sql_param *params;
	size_t n, cap;
	struct arena *arena;        /* pattern strings for search terms */
};

void sql_init(struct sql *q, const struct sql_dialect *d, struct arena *a);
void sql_free(struct sql *q);
const char *sql_text(struct sql *q);

/* Statements.  Each resets q first. */
void sql_count(struct sql *q, const struct query *qy);
void sql_list(struct sql *q, const struct query *qy);
/* One row by id, owned by owner (OWNER_ANY: by anyone): its columns, 1
 * (does it exist?), or its owner. */
enum sql_select { SQL_COLUMNS, SQL_ONE, SQL_OWNER };
void sql_by_id(struct sql *q, const struct resource *r, int64_t owner, const struct value *id,
               enum sql_select what);
/* The children of n parent rows in one statement: the child's columns and
 * then its parent key, ordered by parent key and then the child's order. */
void sql_children(struct sql *q, const struct resource *parent, const struct resource *child,
                  const struct record *parents, size_t n);
/* INSERT a row: owned (parent NULL) or a child of parent_id. */
void sql_insert(struct sql *q, const struct resource *r, int64_t owner,
                const struct resource *parent, const struct value *parent_id,
                const struct record *rec);
/* UPDATE every column but the key of an owned row. */
void sql_update(struct sql *q, const struct resource *r, int64_t owner, const struct record *rec);
/* DELETE FROM table WHERE column = value. */
void sql_delete_where(struct sql *q, const char *table, const char *column,
                      const struct field *f, const struct value *v);
/* DELETE the children of rows of o whose column col = value. */
void sql_delete_grandchildren(struct sql *q, const struct resource *o, const struct resource *child,
                              const char *col, const struct field *f, const struct value *v);
/* Run one statement built in q; 0 or -1 with err.  Adapters supply it. */
typedef int (*sql_exec_fn)(void *ctx, struct sql *q, struct store_error *err);

/* Insert rec's given children (after deleting the stored ones when
 * replace), one statement each through exec. */
int sql_write_children(struct sql *q, const struct resource *r, const struct record *rec,
                       bool replace, sql_exec_fn exec, void *ctx, struct store_error *err);
/* Delete a record with its children and the cascading rows of other
 * resources (with theirs), children first, one statement each through exec;
 * the record's own DELETE is the last statement. */
int sql_delete_tree(struct sql *q, const struct resource *r, const struct value *id,
                    sql_exec_fn exec, void *ctx, struct store_error *err);

/* The write sequence both SQL adapters share: one transaction per call,
 * a unique violation reported as such.  The adapter supplies its
 * connection's steps; ctx is its store. */
struct sql_writer {
	const struct sql_dialect *dialect;
	int (*begin)(void *ctx, struct store_error *err);           /* a write transaction */
	/* One statement; *changed (when given) gets the rows it changed. */
	int (*exec)(void *ctx, struct sql *q, long *changed, struct store_error *err);
	/* Commit when rc is 0, else roll back; 0 or -1. */
	int (*finish)(void *ctx, int rc, struct store_error *err);
	/* Inside the transaction: is there a row with this id owned by owner? */
	int (*exists)(void *ctx, const struct resource *r, int64_t owner, const unsigned char id[16],
	              bool *found, struct store_error *err);
};
/* store_ops' create, replace and remove on top of w. */
int sql_create(const struct sql_writer *w, void *ctx, const struct resource *r, int64_t owner,
               const struct record *rec, struct store_error *err);
int sql_replace(const struct sql_writer *w, void *ctx, const struct resource *r, int64_t owner,
                const struct record *rec, struct store_error *err);
int sql_remove(const struct sql_writer *w, void *ctx, const struct resource *r, int64_t owner,
               const unsigned char id[16], struct store_error *err);

/* Run q and read its rows as records of r; with fks, also the parent key
 * that follows r's columns, per row.  Adapters supply it. */
typedef int (*sql_read_fn)(void *ctx, struct sql *q, const struct resource *r, struct arena *a,
                           struct record **rows, size_t *n, unsigned char (**fks)[16],
                           struct store_error *err);

/* Load the children of recs[0..n): one statement per child resource,
 * read through read, handed to their parents. */
int sql_read_children(const struct sql_dialect *d, const struct resource *r, struct arena *a,
                      struct record *recs, size_t n, sql_read_fn read, void *ctx,
                      struct store_error *err);

/* Group, count and exact sum (in units of the decimal field). */
void sql_aggregate(struct sql *q, const struct query *qy, int group_field, int sum_field);

/* Rows of r of every owner after key `after` (NULL: all), in key order,
 * at most limit; the owner is the column after the fields. */
void sql_scan(struct sql *q, const struct resource *r, const struct value *after, size_t limit);
void sql_size(struct sql *q, const struct resource *r);

/* The control store's table, and its statements (text parameters). */
extern const char sql_routes_table[];
void sql_routes_upsert(struct sql *q, const struct route_row *row, const char *now);
void sql_routes_select(struct sql *q);

#endif
