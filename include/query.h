/*
 * query.h — URL query strings: parsing as the legacy application's
 * framework does (Python's parse_qsl with blank values kept), and the
 * absolute page links of DRF's pagination.
 */
#ifndef CUTOVER_QUERY_H
#define CUTOVER_QUERY_H

#include <stddef.h>
#include <stdint.h>

#include "arena.h"
#include "util.h"

struct qparam {
	const char *key, *val;      /* decoded, NUL-terminated, valid UTF-8 */
};

struct qparams {
	struct qparam *v;
	size_t n;
};

/* Parse a raw query string (without '?'); NULL or "" gives no parameters. */
void query_parse(struct arena *a, const char *qs, struct qparams *out);
/* The last value given for key (as Django's QueryDict.get), or NULL. */
const char *query_get(const struct qparams *q, const char *key);

/*
 * ORIGIN/PATH?QUERY (origin: "http://host:port") with each parameter of set
 * given its value (or removed, for a NULL value), the parameters sorted by
 * name and form-encoded: DRF's replace_query_param and remove_query_param.
 * Allocated from a.
 */
const char *query_link(struct arena *a, const char *origin, const char *path, const struct qparams *q,
                       const struct qparam *set, size_t nset);

#endif
