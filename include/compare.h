/*
 * compare.h — the comparison engine of shadow reads (design.md §8).
 *
 * Pure: two final responses in (status and JSON body, as a client would
 * see them), a verdict and an RFC 6902 JSON Patch out.  The patch turns the
 * authoritative body into the secondary one, except at ignored paths.
 */
#ifndef CUTOVER_COMPARE_H
#define CUTOVER_COMPARE_H

#include <stdbool.h>
#include <stddef.h>

#include "util.h"

/* Arrays at path (wildcards allowed) compared as sets keyed by a member. */
struct compare_set {
	const char *path;           /* "/results" */
	const char *key;            /* "id" */
};

struct compare_rules {
	/* JSON Pointer paths whose differences do not count; a segment "*"
	 * matches any key or index: "/results/ * /updated_at" without spaces. */
	const char *const *ignore;
	size_t nignore;
	const struct compare_set *sets;
	size_t nsets;
	/* Numbers (and decimal strings on both sides) equal within this. */
	double tolerance;
	/* Datetime strings equal when the same to the millisecond (default on
	 * in compare_rules_default; MongoDB keeps milliseconds). */
	bool datetime_ms;
};

struct compare_result {
	bool equal;
	bool status_differs;
	bool body_invalid;          /* a body was not JSON: compared as bytes */
	struct buf patch;           /* JSON array of operations */
	size_t ndiffs;
	/* Differing paths with indices as "*" (control characters as "~x" and
	 * two hex digits), one per line, for per-path counters: at most
	 * COMPARE_PATHS distinct ones; the differences at others are counted. */
	struct buf paths;
	size_t npaths, paths_dropped;
};

#define COMPARE_PATHS 16

void compare_rules_default(struct compare_rules *rules);

/* Compare; fills out (free with compare_result_free).  0, or -1 only when
 * memory runs out (never: allocation aborts). */
int compare_responses(const struct compare_rules *rules,
                      int status_a, const char *body_a, size_t len_a,
                      int status_b, const char *body_b, size_t len_b,
                      struct compare_result *out);
void compare_result_free(struct compare_result *r);

#endif
