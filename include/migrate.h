/*
 * migrate.h — the migration toolkit (design.md §13).
 */
#ifndef CUTOVER_MIGRATE_H
#define CUTOVER_MIGRATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"

/* Create the MongoDB indexes matching the legacy ones, for every resource;
 * idempotent.  Reports on stdout, problems on stderr; 0 on success. */
int migrate_indexes(const struct config *cfg);

struct migrate_opts {
	const char *resource;       /* NULL: every resource */
	size_t batch;               /* rows per read and bulk write */
	double rate;                /* rows per second at most; 0: no limit */
	bool restart;               /* ignore the saved position */
	const char *state;          /* the file holding the position */
};

/* Copy the legacy rows into MongoDB.  0: done; 1: stopped by an error;
 * 3: done, but some rows could not be copied (reported). */
int migrate_run(const struct config *cfg, const struct migrate_opts *o);

struct verify_opts {
	const char *resource;
	double sample;              /* percent of records compared */
	bool json;
};

/* 0: identical; 1: differences (reported); 2: could not compare. */
int verify_run(const struct config *cfg, const struct verify_opts *o);
/* Make MongoDB hold what the legacy store holds: for the records of a
 * `verify --json` report (from), for every difference found now, or for
 * the journal's entries.  0 when nothing is left to repair. */
int repair_run(const struct config *cfg, const struct verify_opts *o, const char *from, bool journal);

struct init_opts {
	const char *from;           /* the legacy store's URL */
	const char *out;            /* the draft's file; NULL: stdout */
	bool force;                 /* overwrite out */
	const char *tables;         /* "a,b": only these tables; NULL: every one */
	const char **owners;        /* "TABLE=COLUMN": a table's owner column */
	size_t nowners;
	const char *owner_column;   /* the owner column of every table that has it */
	const char *users_table;    /* the table of users; NULL: found by its name */
	const char *prefix;         /* URL prefix of the resources, "/api/" */
	const char *profile;        /* the response profile to name; NULL: none (drf) */
};

/* `cutover init`: a configuration draft from the live schema, every guess
 * said on stderr and in the draft.  0 when written. */
int init_run(const struct init_opts *o);

/* Progress on stderr (migrate/progress.c): "VERB: NAME done/total UNIT
 * (pct), rate UNIT/s, ETA"; on a terminal a bar.  done0: what an earlier
 * run did already (not counted in the rate). */
struct progress {
	const char *verb, *name, *unit;
	int64_t total, done0;
	double start, printed;
	bool tty;
};
void progress_begin(struct progress *p, const char *verb, const char *name, const char *unit, int64_t total,
                    int64_t done0);
/* At most five times a second on a terminal, every five seconds otherwise;
 * last: always, and the line is finished. */
void progress_note(struct progress *p, int64_t done, bool last);

#endif
