/*
 * fuzz_query.c — libFuzzer target for the query-string parser and DRF's
 * page links (src/api/query.c), which every list request's URL meets.
 *
 * Every decoded key and value must be valid UTF-8; query_get must find
 * each key; and the page link built from the parameters, parsed again,
 * must hold every parameter but `page`, ordered by key (each key's values
 * in their order), and `page` set.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "arena.h"
#include "query.h"
#include "value.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Elements of one array: by key, then by place in it. */
static int by_key_then_place(const void *a, const void *b)
{
	const struct qparam *x = *(const struct qparam *const *)a, *y = *(const struct qparam *const *)b;
	int c = strcmp(x->key, y->key);

	return c ? c : (x > y) - (x < y);
}

/* The parameters but `page`, ordered by key and then by position: what
 * DRF's link keeps (sorted(parse_qs(...).items()), values in order). */
static const struct qparam **ordered(const struct qparams *q, size_t *n)
{
	const struct qparam **v = malloc((q->n + 1) * sizeof(*v));
	size_t i, k;

	for (i = k = 0; i < q->n; i++)
		if (strcmp(q->v[i].key, "page") != 0)
			v[k++] = &q->v[i];
	*n = k;
	qsort(v, k, sizeof(*v), by_key_then_place);
	return v;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct arena a;
	struct qparams q, again;
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
	{
		struct qparam page = {"page", "2"};

		url = query_link(&a, "http://h:1", "/p/", &q, &page, 1);
	}
	if (strncmp(url, "http://h:1/p/?", 14) != 0 || !(mark = strchr(url, '?')))
		abort();
	query_parse(&a, mark + 1, &again);
	if (!query_get(&again, "page") || strcmp(query_get(&again, "page"), "2") != 0)
		abort();
	{
		size_t n1, n2;
		const struct qparam **a1 = ordered(&q, &n1), **a2 = ordered(&again, &n2);

		if (n1 != n2)
			abort();        /* a parameter the page link lost or made */
		for (i = 0; i < n1; i++)
			if (strcmp(a1[i]->key, a2[i]->key) != 0 || strcmp(a1[i]->val, a2[i]->val) != 0)
				abort();        /* … or changed */
		free(a1);
		free(a2);
	}
	arena_reset(&a);
	free(qs);
	return 0;
}
