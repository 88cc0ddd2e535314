/*
 * fuzz_query.c — libFuzzer target for the query-string parser and DRF's
 * page links (src/query.c), which every list request's URL meets.
 *
 * Every decoded key and value must be valid UTF-8; query_get must find
 * each key; and the page link built from the parameters, parsed again,
 * must give each key (but `page`) the same values in the same order, with
 * `page` set.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "arena.h"
#include "query.h"
#include "value.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The values of key in q, in order, joined by a NUL byte each, into out. */
static size_t values_of(const struct qparams *q, const char *key, struct buf *out)
{
	size_t i, n = 0;

	out->len = 0;
	for (i = 0; i < q->n; i++) {
		if (strcmp(q->v[i].key, key) != 0)
			continue;
		buf_puts(out, q->v[i].val);
		buf_putc(out, '\0');
		n++;
	}
	return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct arena a;
	struct qparams q, again;
	struct buf x = {0}, y = {0};
	char *qs = malloc(size + 1);
	const char *url, *mark;
	size_t i;

	memcpy(qs, data, size);
	qs[size] = '\0';
	arena_init(&a, 4096);
	query_parse(&a, qs, &q);
	for (i = 0; i < q.n; i++) {
		if (!utf8_valid(q.v[i].key, strlen(q.v[i].key)) || !utf8_valid(q.v[i].val, strlen(q.v[i].val)))
			abort();
		if (!query_get(&q, q.v[i].key))
			abort();
	}
	url = query_page_url(&a, "http://h:1", "/p/", &q, 2);
	if (strncmp(url, "http://h:1/p/?", 14) != 0 || !(mark = strchr(url, '?')))
		abort();
	query_parse(&a, mark + 1, &again);
	if (!query_get(&again, "page") || strcmp(query_get(&again, "page"), "2") != 0)
		abort();
	for (i = 0; i < q.n; i++) {
		if (strcmp(q.v[i].key, "page") == 0)
			continue;
		if (values_of(&q, q.v[i].key, &x) != values_of(&again, q.v[i].key, &y) || x.len != y.len ||
		    memcmp(x.p, y.p, x.len) != 0)
			abort();        /* a parameter the page link changed */
	}
	buf_free(&x);
	buf_free(&y);
	arena_reset(&a);
	free(qs);
	return 0;
}
