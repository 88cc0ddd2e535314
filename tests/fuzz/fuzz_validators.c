/*
 * fuzz_validators.c — libFuzzer target for the DRF value validators
 * (src/api/drf.c, src/core/value.c) behind every write and every list filter, on
 * the example's resources.
 *
 * Input: a byte choosing the resource and the write (create, full or
 * partial update), then a request body.  A body that parses is validated;
 * a record that passes is shown as the API shows it, and that JSON, sent
 * back as a full update, must pass again and show the same.  Errors must
 * render as JSON.  The body's text is also every filter's value.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arena.h"
#include "config.h"
#include "drf.h"
#include "json.h"
#include "store.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct config *cfg;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	struct config_problems pr = {0};
	const char *path = getenv("FUZZ_CONFIG") ? getenv("FUZZ_CONFIG") : "etc/examples/hisabpro/cutover.json";

	(void)argc;
	(void)argv;
	setenv("JWT_SECRET", "fuzz-secret-not-real-00000000", 1);
	if (!(cfg = config_load(path, &pr))) {
		fprintf(stderr, "fuzz_validators: %s: %s\n", path, pr.text.p ? pr.text.p : "cannot load");
		abort();
	}
	config_problems_free(&pr);
	return 0;
}

/* The generated values (ids, times) of src's record and children into dst. */
static void copy_auto(const struct resource *r, struct record *dst, const struct record *src)
{
	size_t i, c, k;

	for (i = 0; i < r->nfields; i++)
		if (r->fields[i].autoset != AUTO_NONE)
			dst->vals[i] = src->vals[i];
	for (c = 0; c < r->nchildren; c++) {
		if (dst->children[c].n != src->children[c].n)
			abort();        /* children lost or gained on the way back */
		for (k = 0; k < src->children[c].n; k++)
			copy_auto(r->children[c], &dst->children[c].rows[k], &src->children[c].rows[k]);
	}
}

static void parses(struct arena *a, const struct buf *b)
{
	char msg[128];

	if (!json_parse(a, b->p, b->len, msg, sizeof(msg), NULL))
		abort();                /* what the API writes is JSON */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const enum drf_write modes[] = {DRF_CREATE, DRF_UPDATE, DRF_PARTIAL};
	const struct resource *r;
	struct arena a;
	struct verrors ve;
	struct pending_ref *refs;
	struct record *rec;
	struct json *body;
	struct buf out = {0}, again = {0};
	enum drf_write mode;
	char msg[128], *text;
	size_t nrefs, i;

	if (size < 1 || !cfg->nresources)
		return 0;
	r = cfg->resources[data[0] % cfg->nresources];
	mode = modes[(data[0] >> 4) % 3];
	arena_init(&a, 8192);
	text = arena_strndup(&a, (const char *)data + 1, size - 1);
	for (i = 0; i < r->nfilters; i++) {
		struct value v;
		const char *m = drf_parse_filter(&a, &r->fields[r->filters[i]], text, &v);

		if (m && !*m)
			abort();
	}
	body = json_parse(&a, (const char *)data + 1, size - 1, msg, sizeof(msg), NULL);
	if (!body)
		goto done;
	rec = record_new(&a, r);
	verrors_init(&a, r, &ve);
	if (drf_validate(&a, r, body, mode, rec, &ve, &refs, &nrefs) != ve.count)
		abort();
	if (ve.count) {
		verrors_render(&out, r, &ve);
		parses(&a, &out);
		goto done;
	}
	drf_fill_auto(r, rec, mode, 1800000000000000LL);
	drf_sort_children(r, rec);
	drf_render_record(&out, r, rec);
	parses(&a, &out);
	/* Shown, then sent back whole: accepted as it is, and shown the same. */
	if (mode == DRF_CREATE) {
		struct record *back = record_new(&a, r);
		struct json *shown = json_parse(&a, out.p, out.len, msg, sizeof(msg), NULL);

		verrors_init(&a, r, &ve);
		if (drf_validate(&a, r, shown, DRF_CREATE, back, &ve, &refs, &nrefs) != 0) {
			verrors_render(&again, r, &ve);
			fprintf(stderr, "shown: %.*s\nrefused: %.*s\n", (int)out.len, out.p, (int)again.len, again.p);
			abort();
		}
		drf_fill_auto(r, back, DRF_CREATE, 1800000000000000LL);
		copy_auto(r, back, rec);        /* children come back in the order shown */
		drf_sort_children(r, back);
		drf_render_record(&again, r, back);
		if (again.len != out.len || memcmp(again.p, out.p, out.len) != 0) {
			fprintf(stderr, "shown: %.*s\nagain: %.*s\n", (int)out.len, out.p, (int)again.len, again.p);
			abort();
		}
	}
done:
	buf_free(&out);
	buf_free(&again);
	arena_reset(&a);
	return 0;
}
