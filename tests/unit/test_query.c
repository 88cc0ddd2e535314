/*
 * test_query.c — query strings and the page links of list responses.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "query.h"

static void test_parse(void **state)
{
	struct arena a;
	struct qparams q;

	(void)state;
	arena_init(&a, 1024);
	query_parse(&a, "search=acme+traders&page=2&flag&&x=%41%zz&page=3&u=%E2%82%B9&bad=%FF", &q);
	assert_int_equal(q.n, 7);
	assert_string_equal(query_get(&q, "search"), "acme traders");
	/* the last value wins, as in Django's QueryDict */
	assert_string_equal(query_get(&q, "page"), "3");
	assert_string_equal(query_get(&q, "flag"), "");
	assert_string_equal(query_get(&q, "x"), "A%zz");
	assert_string_equal(query_get(&q, "u"), "\xe2\x82\xb9");
	assert_string_equal(query_get(&q, "bad"), "\xef\xbf\xbd");
	assert_null(query_get(&q, "missing"));
	query_parse(&a, NULL, &q);
	assert_int_equal(q.n, 0);
	arena_reset(&a);
}

/* DRF's page link: page set to page, or removed for 0. */
static const char *page_url(struct arena *a, const char *origin, const char *path, const struct qparams *q,
                            int page)
{
	struct qparam set = {"page", page ? arena_printf(a, "%d", page) : NULL};

	return query_link(a, origin, path, q, &set, 1);
}

static void test_page_urls(void **state)
{
	struct arena a;
	struct qparams q;

	(void)state;
	arena_init(&a, 1024);
	/* the example of API.md */
	query_parse(&a, "search=client&page=2&ordering=-total_amount", &q);
	assert_string_equal(page_url(&a, "http://api.example.com:8080", "/api/invoices/", &q, 3),
	                    "http://api.example.com:8080/api/invoices/?ordering=-total_amount&page=3&search=client");
	assert_string_equal(page_url(&a, "http://api.example.com:8080", "/api/invoices/", &q, 0),
	                    "http://api.example.com:8080/api/invoices/?ordering=-total_amount&search=client");
	query_parse(&a, NULL, &q);
	assert_string_equal(page_url(&a, "http://h", "/p/", &q, 2), "http://h/p/?page=2");
	assert_string_equal(page_url(&a, "http://h", "/p/", &q, 0), "http://h/p/");
	/* spaces become '+', others are percent-encoded; repeated keys keep order */
	query_parse(&a, "q=a%20b&z=2&a=%2F&z=1&e=%E2%82%B9", &q);
	assert_string_equal(page_url(&a, "http://h", "/p/", &q, 2),
	                    "http://h/p/?a=%2F&e=%E2%82%B9&page=2&q=a+b&z=2&z=1");
	/* LimitOffsetPagination's links set two parameters; a NULL value removes one. */
	query_parse(&a, "offset=40&limit=5&x=1", &q);
	{
		struct qparam set[2] = {{"limit", "20"}, {"offset", "60"}};

		assert_string_equal(query_link(&a, "http://h", "/p/", &q, set, 2), "http://h/p/?limit=20&offset=60&x=1");
		set[1].val = NULL;
		assert_string_equal(query_link(&a, "http://h", "/p/", &q, set, 2), "http://h/p/?limit=20&x=1");
	}
	arena_reset(&a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse),
		cmocka_unit_test(test_page_urls),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
