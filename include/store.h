/*
 * store.h — the store adapter interface (design.md §7).
 *
 * An adapter is a `const struct store_ops` table; each implementation lives
 * in backends/ and puts `struct store` first in its own connection struct.
 * Operations are neutral: canonical records in, canonical records out, and a
 * typed error.  Adapters bind every client value as a parameter or typed
 * value; SQL and BSON are built only from configuration identifiers.
 *
 * A store handle is used by one thread at a time.  Callers go through the
 * store_* wrappers below, never through the table by hand.  Every function
 * returns 0 on success, -1 with *err filled in on failure.
 */
#ifndef CUTOVER_STORE_H
#define CUTOVER_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "arena.h"
#include "config.h"
#include "util.h"
#include "value.h"

/* One row: a value per field of its resource, and for each child resource
 * the embedded rows (given is false on input when the client left them out,
 * so an update keeps the stored ones). */
struct record;

struct child_rows {
	struct record *rows;
	size_t n;
	bool given;
};

struct record {
	struct value *vals;
	struct child_rows *children;
	const char *bad;        /* scans only: why this row could not be read */
};

/* How a bulk copy treated one record. */
enum put_result { PUT_WRITTEN, PUT_SKIPPED_NEWER, PUT_FAILED };

/* Exact-match condition on a field. */
struct cond {
	int field;
	struct value val;
};

/* The owner scope of a read that a role lifts: every owner's records. */
#define OWNER_ANY INT64_MIN

/* A MongoDB server that is down fails a call within this many ms (finding
 * and connecting to it), unless its URL or a shorter time limit says
 * otherwise. */
#define STORE_CONNECT_MS 2000

/* A read: owner scope (OWNER_ANY: none), exact filters, search terms (every term must match
 * one of the search fields, case-insensitive contains), ordering, window. */
struct query {
	const struct resource *res;
	int64_t owner;
	const struct cond *conds;
	size_t nconds;
	const char *const *terms;
	size_t nterms;
	const int *search_fields;
	size_t nsearch;
	const struct order_term *order;
	size_t norder;
	int64_t offset;
	int64_t limit;          /* 0: no limit */
};

struct agg_row {
	struct value group;
	int64_t count;
	int64_t sum;            /* units of the summed decimal field */
};

enum store_err {
	STORE_NOT_FOUND = 1,
	STORE_CONFLICT,         /* unique constraint; err->unique says which */
	STORE_INVALID,          /* stored data the gateway cannot read, or a bad reference */
	STORE_UNAVAILABLE,
	STORE_TIMEOUT,
};

struct store_error {
	enum store_err code;
	int unique;             /* index into resource->uniques, or -1 */
	char msg[256];
};

struct store;

/* A row of the control store: a route's mode ("" follows the global one;
 * route "*" holds the global mode). */
struct route_row {
	const char *route;
	const char *mode;
	int sample;
	int64_t version;        /* raised by every write */
};

/* The two stores a gateway may hold. */
enum which_store { WS_LEGACY, WS_MONGO, WS_COUNT };

/* The store that answers in mode m, and the other one. */
static inline enum which_store mode_authority(enum mode m) { return mode_mongo_first(m) ? WS_MONGO : WS_LEGACY; }
static inline enum which_store mode_secondary(enum mode m) { return mode_mongo_first(m) ? WS_LEGACY : WS_MONGO; }

struct store_ops {
	const char *name;
	int version;
	/* Calls may block on the network: run them on store workers only. */
	bool blocking;
	/* Its ORDER BY places null above every value (PostgreSQL), not below
	 * (SQLite, MongoDB): lists follow the legacy store's placement. */
	bool nulls_high;
	/* Does this adapter serve the URL (by scheme)? */
	bool (*accepts)(const char *url);
	/* Connect; the handle belongs to the caller, freed by close. */
	struct store *(*open)(const char *url, const struct config *cfg, struct store_error *err);
	void (*close)(struct store *s);
	int (*count)(struct store *s, const struct query *q, int64_t *n, struct store_error *err);
	/* Rows with their children, allocated from arena. */
	int (*list)(struct store *s, const struct query *q, struct arena *arena,
	            struct record **rows, size_t *n, struct store_error *err);
	int (*get)(struct store *s, const struct resource *r, int64_t owner,
	           const unsigned char id[16], struct arena *arena, struct record *out,
	           struct store_error *err);
	/* Is there a row with this id owned by owner (OWNER_ANY: by anyone)?
	 * Its owner goes to *whose when given and found. */
	int (*exists)(struct store *s, const struct resource *r, int64_t owner,
	              const unsigned char id[16], bool *found, int64_t *whose, struct store_error *err);
	/* Insert a record and its children in one transaction. */
	int (*create)(struct store *s, const struct resource *r, int64_t owner,
	              const struct record *rec, struct store_error *err);
	/* Overwrite the record with rec's id (owner-scoped); children whose
	 * `given` is set replace the stored ones.  One transaction. */
	int (*replace)(struct store *s, const struct resource *r, int64_t owner,
	               const struct record *rec, struct store_error *err);
	/* Delete a record, its children and the cascading rows of other resources. */
	int (*remove)(struct store *s, const struct resource *r, int64_t owner,
	              const unsigned char id[16], struct store_error *err);
	/* Count and sum per distinct value of group_field, ordered by it. */
	int (*aggregate)(struct store *s, const struct query *q, int group_field, int sum_field,
	                 struct arena *arena, struct agg_row **rows, size_t *n,
	                 struct store_error *err);
	/* Optional: make the store ready to serve r (indexes); idempotent.
	 * A line per resource goes to report when given. */
	int (*setup)(struct store *s, const struct resource *r, struct buf *report,
	             struct store_error *err);
	/* Optional, for the migration toolkit.  scan: records of r of every
	 * owner in primary-key order after `after` (NULL: from the first), at
	 * most limit, each with its owner; a row that cannot be read comes
	 * back with bad set instead of failing the call. */
	int (*scan)(struct store *s, const struct resource *r, const unsigned char *after, size_t limit,
	            struct arena *arena, struct record **rows, int64_t **owners, size_t *n,
	            struct store_error *err);
	int (*size)(struct store *s, const struct resource *r, int64_t *n, struct store_error *err);
	/* Upsert whole records by id in one batch; a stored record whose
	 * version field (-1: none) is newer than the row's is left alone. */
	int (*put_many)(struct store *s, const struct resource *r, const struct record *rows,
	                const int64_t *owners, size_t n, int version_field, enum put_result *out,
	                char (*why)[128], struct store_error *err);
	int (*remove_ids)(struct store *s, const struct resource *r, const unsigned char (*ids)[16], size_t n,
	                  struct store_error *err);
	/* Optional: the control store (design.md §12).  With set, write that row
	 * first (version raised); then every row, from arena. */
	int (*routes)(struct store *s, const struct route_row *set, struct arena *arena,
	              struct route_row **rows, size_t *n, struct store_error *err);
};

struct store {
	const struct store_ops *ops;
	uint64_t calls;             /* request calls made (by the one thread using it): was it asked? */
};

extern const struct store_ops store_sqlite_ops;
extern const struct store_ops store_postgres_ops;
extern const struct store_ops store_mongodb_ops;

/* Set by tools that walk whole tables (migrate, verify): stores then keep
 * their memory small (SQLite maps no file pages, for one). */
extern bool store_streaming;
/* The legacy store orders text otherwise than by code point (a PostgreSQL
 * database with a linguistic collation, as Django then orders), which
 * MongoDB cannot match: set when a connection sees it. */
extern _Atomic bool store_text_collated;

/* The adapter for a URL, or NULL with err set when no adapter serves it. */
const struct store_ops *store_ops_for(const char *url, struct store_error *err);
/* The same for a store in its role: the legacy store (any adapter) or
 * mongodb_uri (MongoDB only); err lists the forms the role accepts. */
const struct store_ops *store_ops_as(const char *url, bool legacy, struct store_error *err);
/* Does the store at url sort null above every value? */
bool store_nulls_high(const char *url);
struct store *store_open(const char *url, const struct config *cfg, struct store_error *err);
/* The same for the migration toolkit's long scans: a MongoDB server may
 * take minutes over the first batch of a whole collection in key order,
 * so its socket time limit is ten minutes unless the URL gives one. */
struct store *store_open_batch(const char *url, const struct config *cfg, struct store_error *err);

/* url with a time limit of timeout_ms on every call where its URL can
 * carry one (MongoDB's timeouts, PostgreSQL's statement_timeout; what the
 * URL sets itself stays), and without the MongoDB driver's retries unless
 * retries.  Allocated. */
char *store_timed_url(const char *url, int timeout_ms, bool retries);

static inline void store_close(struct store *s)
{
	if (s)
		s->ops->close(s);
}

static inline int store_count(struct store *s, const struct query *q, int64_t *n,
                              struct store_error *err)
{
	s->calls++;
	return s->ops->count(s, q, n, err);
}

static inline int store_list(struct store *s, const struct query *q, struct arena *a,
                             struct record **rows, size_t *n, struct store_error *err)
{
	s->calls++;
	return s->ops->list(s, q, a, rows, n, err);
}

/* Does the store answer at all?  A lookup of an id no record has: "not
 * found" is an answer, and so is any error but unavailable or timed out
 * (a missing table, say: requests will show it); err says what it saw. */
bool store_answers(struct store *s, const struct config *cfg, struct store_error *err);

static inline int store_get(struct store *s, const struct resource *r, int64_t owner,
                            const unsigned char id[16], struct arena *a, struct record *out,
                            struct store_error *err)
{
	s->calls++;
	return s->ops->get(s, r, owner, id, a, out, err);
}

static inline int store_exists(struct store *s, const struct resource *r, int64_t owner,
                               const unsigned char id[16], bool *found, int64_t *whose, struct store_error *err)
{
	s->calls++;
	return s->ops->exists(s, r, owner, id, found, whose, err);
}

static inline int store_create(struct store *s, const struct resource *r, int64_t owner,
                               const struct record *rec, struct store_error *err)
{
	s->calls++;
	return s->ops->create(s, r, owner, rec, err);
}

static inline int store_replace(struct store *s, const struct resource *r, int64_t owner,
                                const struct record *rec, struct store_error *err)
{
	s->calls++;
	return s->ops->replace(s, r, owner, rec, err);
}

static inline int store_remove(struct store *s, const struct resource *r, int64_t owner,
                               const unsigned char id[16], struct store_error *err)
{
	s->calls++;
	return s->ops->remove(s, r, owner, id, err);
}

static inline int store_aggregate(struct store *s, const struct query *q, int group_field,
                                  int sum_field, struct arena *a, struct agg_row **rows,
                                  size_t *n, struct store_error *err)
{
	s->calls++;
	return s->ops->aggregate(s, q, group_field, sum_field, a, rows, n, err);
}

/* The optional operations (migration toolkit, control store, indexes):
 * -1 with a STORE_INVALID "the … store cannot …" when the adapter has none. */
int store_scan(struct store *s, const struct resource *r, const unsigned char *after, size_t limit,
               struct arena *a, struct record **rows, int64_t **owners, size_t *n, struct store_error *err);
int store_size(struct store *s, const struct resource *r, int64_t *n, struct store_error *err);
int store_put_many(struct store *s, const struct resource *r, const struct record *rows, const int64_t *owners,
                   size_t n, int version_field, enum put_result *out, char (*why)[128], struct store_error *err);
int store_remove_ids(struct store *s, const struct resource *r, const unsigned char (*ids)[16], size_t n,
                     struct store_error *err);
int store_routes(struct store *s, const struct route_row *set, struct arena *a, struct route_row **rows,
                 size_t *n, struct store_error *err);
int store_setup(struct store *s, const struct resource *r, struct buf *report, struct store_error *err);

/* A value of field f from a SQL store's text, in the arena: JSON made
 * compact, as the API shows it whatever spacing the store keeps (jsonb
 * prints "a": 1).  -1 when the text is no value of the field's type. */
int store_value_from_text(const struct field *f, const char *text, size_t n, struct arena *a, struct value *v);

void store_error_set(struct store_error *err, enum store_err code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* On a conflict, find which of r's unique constraints the store's message
 * names: the one all of whose columns appear in it as whole words. */
void store_conflict_unique(const struct resource *r, struct store_error *err);

/* Hand rows of child resource c (ordered by parent key, each with its
 * parent's key in fks) to their parents among parents[0..n). */
void store_distribute_children(struct arena *a, const struct resource *r, size_t c,
                               struct record *parents, size_t n, struct record *kids,
                               const unsigned char (*fks)[16], size_t nkids);

/* A record with a child row that could not be read is bad too. */
void store_mark_bad_children(const struct resource *r, struct record *recs, size_t n);

/* A fresh record for r with every value null and no children given. */
struct record *record_new(struct arena *a, const struct resource *r);

#endif
