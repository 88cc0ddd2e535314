/*
 * init_private.h — what `cutover init`'s two halves share: the guessing
 * from the schema (init.c) and the writing of the draft (init_draft.c).
 * A plan per table says what the table becomes; its notes are the guesses
 * that made it.  Private to those two.
 */
#ifndef CUTOVER_INIT_PRIVATE_H
#define CUTOVER_INIT_PRIVATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "migrate.h"
#include "schema.h"

enum role { ROLE_SKIP, ROLE_RESOURCE, ROLE_CHILD };

/* What a column becomes. */
struct guess {
	const char *type;           /* canonical type; NULL: not a field of the draft */
	int max_length, digits, places;
	bool has_min, has_max;
	int64_t min, max;
	const char *autoset;        /* "now_on_create", "now" or NULL */
	struct plan *ref;           /* the resource a foreign key leads to */
};

/* What a table becomes, and the guesses that made it. */
struct plan {
	struct schema_table *t;
	enum role role;
	const char *why;            /* the role's reason */
	const char *pk;
	const char *owner;          /* owner column, resources only */
	struct plan *parent;        /* children: the resource they are embedded in */
	const char *fk;             /* children: the column naming the parent */
	const char *model;          /* singular name: "invoice", "item" */
	const char *name;           /* plural: the resource's or the child's name */
	struct buf notes;           /* comment lines for the draft, one guess each */
	struct guess *g;            /* one per column of t */
};

/* One run of `cutover init`: the schema read, a plan per table considered. */
struct init {
	const struct init_opts *o;
	struct schema s;
	struct arena *a;
	struct plan *plans;
	size_t n;
	const char *users;          /* the users table, or NULL */
	bool django;                /* the schema has django_migrations */
	int warnings;
};

/* A guess: a comment line in the draft (p's notes), and the same on stderr;
 * one that starts with WARNING counts as a warning. */
void init_note(struct init *in, struct plan *p, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* A // line of the draft's head, written to b. */
void init_comment_line(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* The foreign key of t's column, or NULL. */
const struct schema_fk *init_fk_of(const struct schema_table *t, const char *column);

/* A foreign key's field name: the column without its _id (in a, or the
 * column itself). */
const char *init_fk_field(struct arena *a, const char *column);

/* Whether name is one of names (NULL-terminated). */
bool init_name_in(const char *name, const char *const *names);

/* The draft: its head of comments and settings, then every resource of
 * in's plans with its children, appended to b. */
void init_write_draft(struct init *in, struct buf *b);

#endif
