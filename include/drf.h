/*
 * drf.h — the Django REST Framework profile (design.md §6): how request bodies
 * are validated and how records are shown, message for message and byte
 * for byte as DRF 3.14 does it.
 */
#ifndef CUTOVER_DRF_H
#define CUTOVER_DRF_H

#include <stdbool.h>

#include "config.h"
#include "json.h"
#include "store.h"

/* Validation errors of one record: per field and per child resource, a
 * rendered JSON value (a list of messages, or the children's errors). */
struct verrors {
	const char **field;
	const char **child;
	const char *non_field;      /* rendered list, or NULL */
	int count;
};

/* A reference that validation could not check without the store. */
struct pending_ref {
	int field;
	const char *given;          /* the client's value as DRF prints it */
};

void verrors_init(struct arena *a, const struct resource *r, struct verrors *ve);
/* Add one message to a field's list. */
void verrors_add(struct arena *a, struct verrors *ve, int field, const char *msg);
/* The error object, keys in representation order. */
void verrors_render(struct buf *b, const struct resource *r, const struct verrors *ve);

enum drf_write { DRF_CREATE, DRF_UPDATE, DRF_PARTIAL };

/*
 * Validate a request body (already parsed) into rec.  For updates rec holds
 * the stored record and only given fields change.  Read-only and unknown
 * fields are ignored.  References to other resources are listed in refs for
 * the caller to check against the store.  Returns the number of errors.
 */
int drf_validate(struct arena *a, const struct resource *r, const struct json *body,
                 enum drf_write mode, struct record *rec, struct verrors *ve,
                 struct pending_ref **refs, size_t *nrefs);

/* Set auto fields (ids, timestamps) and defaults before a write. */
void drf_fill_auto(const struct resource *r, struct record *rec, enum drf_write mode,
                   int64_t now_us);

/* The record as the API shows it. */
void drf_render_record(struct buf *b, const struct resource *r, const struct record *rec);
void drf_render_value(struct buf *b, const struct field *f, const struct value *v);

/* Order children as the store lists them (their ordering, then id). */
void drf_sort_children(const struct resource *r, struct record *rec);
int value_cmp(const struct field *f, const struct value *a, const struct value *b);

/* Parse a filter value from the query string; NULL on success, else the
 * django-filter message. */
const char *drf_parse_filter(struct arena *a, const struct field *f, const char *text,
                             struct value *out);

/* Django's EmailValidator. */
bool drf_email_valid(const char *s, size_t n);

#endif
