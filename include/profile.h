/*
 * profile.h — response profiles: the JSON shape of an API's lists, records,
 * errors and pagination, declared in the configuration rather than coded.
 *
 * A profile is a set of templates (any JSON value, in which a string
 * "$name" stands for a slot the gateway fills) and a few settings: the
 * pagination scheme and its parameters, the names of the search and
 * ordering parameters, the casing of field names and the name of the id.
 * Two ship built in, declared in the same JSON a configuration uses:
 * "drf" (Django REST Framework, the default) and "express" (an
 * Express-style envelope); "profiles" in the configuration adds more, each
 * starting from a "base" profile.  Resources take the configuration's
 * "profile", or their own.
 */
#ifndef CUTOVER_PROFILE_H
#define CUTOVER_PROFILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "json.h"
#include "query.h"
#include "util.h"

/* The slots templates may name ("$count" …). */
enum slot {
	SLOT_COUNT,         /* records matching the list's query */
	SLOT_NEXT,          /* absolute link to the next page, or null */
	SLOT_PREVIOUS,      /* … the previous one, or null */
	SLOT_RESULTS,       /* the page's records, an array */
	SLOT_PAGE,          /* page number (offset scheme: the page the offset falls in) */
	SLOT_LIMIT,         /* records a page holds */
	SLOT_PAGES,         /* pages in all (at least 1) */
	SLOT_OFFSET,        /* records before this page */
	SLOT_DATA,          /* one record, or what a view answers */
	SLOT_MESSAGE,       /* an error's message, a string */
	SLOT_ERRORS,        /* validation errors: {"field": ["message", …], …} */
	SLOT_STATUS,        /* the HTTP status, a number */
	SLOT_COUNT_ALL,
};

enum page_scheme {
	PAGE_NUMBER,        /* ?page=N (and ?LIMIT=N when the profile names it) */
	PAGE_OFFSET,        /* ?offset=N&limit=N */
	PAGE_CURSOR,        /* ?cursor=TOKEN: an opaque position, as DRF's CursorPagination gives */
};

enum casing { CASE_SNAKE, CASE_CAMEL };

struct profile {
	const char *name;
	const struct json *list;        /* a list's answer */
	const struct json *item;        /* one record's, or a view's that is not a list */
	const struct json *error;       /* {"detail": "$message"} */
	const struct json *invalid;     /* validation errors */
	const struct json *deleted;     /* NULL: 204 with no body */
	enum page_scheme scheme;
	const char *page_param;         /* PAGE_NUMBER */
	const char *offset_param;       /* PAGE_OFFSET */
	const char *cursor_param;       /* PAGE_CURSOR */
	const char *limit_param;        /* NULL: a page is the resource's page_size */
	int max_limit;                  /* the largest limit a client may ask for */
	bool lenient;                   /* bad or past-the-end positions: first page, empty page
	                                 * (else 404 "Invalid page.", as Django's paginator) */
	const char *search_param, *ordering_param;
	enum casing casing;
	const char *id_name;            /* the primary key's name in the API */
	bool simplejwt;                 /* token refusals in simplejwt's words and shape */
};

/* One slot's value, as JSON text. */
struct slot_value {
	const char *p;
	size_t n;
};

/* Write template t with its slots filled from v (indexed by enum slot;
 * a slot with no text writes null). */
void profile_render(struct buf *b, const struct json *t, const struct slot_value *v);

/* Where a list's page starts (*offset) and how long it is (*limit, given
 * as the resource's page size), from the query, as p's pagination reads
 * it; count is the records the query matches.  -1 for a position p
 * refuses (DRF: 404 "Invalid page.", or "Invalid cursor"). */
int profile_page(const struct profile *p, const struct qparams *qp, int64_t count, int64_t *limit,
                 int64_t *offset);

/* The parameters that ask for the page starting at offset (limit long),
 * into set[0..1]: how many.  A NULL value removes the parameter (the
 * first page has no position).  Values in a. */
size_t profile_position(const struct profile *p, struct arena *a, int64_t offset, int64_t limit,
                        struct qparam set[2]);

/* Template t with slot s holding the JSON text p[0..n) (nothing when p is
 * NULL) and $status the HTTP status. */
void profile_render_one(struct buf *b, const struct json *t, enum slot s, const char *p, size_t n, int status);

/* Is template t exactly the slot s (DRF's "$data", "$errors")? */
bool profile_is_slot(const struct json *t, enum slot s);

/* snake_case → camelCase, in a; other names unchanged. */
const char *profile_camel(struct arena *a, const char *name);

#endif
