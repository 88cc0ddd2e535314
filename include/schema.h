/*
 * schema.h — a legacy database's schema as `cutover init` reads it: tables,
 * their columns and types, keys, foreign keys, unique constraints, indexes
 * and the checks that bound a column (an enumeration, a lower bound).
 *
 * schema_read() asks a live SQLite file or PostgreSQL server; everything it
 * returns hangs off one arena.
 */
#ifndef CUTOVER_SCHEMA_H
#define CUTOVER_SCHEMA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "arena.h"
#include "util.h"

struct schema_column {
	const char *name;
	const char *type;           /* as declared, lower case: "varchar(50)", "numeric(12,2)" */
	bool not_null;
	bool pk;
	const char *def;            /* the column default as SQL text, or NULL */
	const char **choices;       /* from CHECK (col IN (…)) or an enum type */
	size_t nchoices;
	bool has_min, has_max;      /* from CHECK (col >= n), (col <= n) */
	int64_t min, max;
	bool json_check;            /* CHECK (JSON_VALID(col)): Django's JSONField on SQLite */
};

struct schema_fk {
	const char *column;
	const char *ref_table;
	bool cascade;               /* ON DELETE CASCADE */
	bool deferred;              /* DEFERRABLE INITIALLY DEFERRED, Django's signature */
};

struct schema_index {
	const char *name;
	const char **columns;
	size_t ncolumns;
	bool unique;
};

struct schema_table {
	const char *name;
	struct schema_column *cols;
	size_t ncols;
	struct schema_fk *fks;
	size_t nfks;
	struct schema_index *idx;   /* indexes and unique constraints, the primary key's left out */
	size_t nidx;
	const char **other_checks;  /* CHECK expressions of kinds not understood */
	size_t nother_checks;
};

struct schema {
	struct arena arena;
	const char *kind;           /* "sqlite" or "postgres" */
	struct schema_table *tables;
	size_t ntables;
};

/* Read the schema behind a sqlite:// or postgres:// URL into s (free with
 * schema_free).  -1 with err when the store cannot be read. */
int schema_read(const char *url, struct schema *s, struct error *err) MUST_CHECK;
void schema_free(struct schema *s);

struct schema_table *schema_table(const struct schema *s, const char *name);
struct schema_column *schema_column(const struct schema_table *t, const char *name);

/* The column that a CHECK constraint's expression bounds, with what it
 * says (choices, min, max, JSON_VALID) set on that column of t; 0 when the
 * check was understood, -1 when it is of another kind. */
int schema_apply_check(struct arena *a, struct schema_table *t, const char *expr);

#endif
