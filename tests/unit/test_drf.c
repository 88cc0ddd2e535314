/*
 * test_drf.c — DRF-profile pieces that need no server: e-mail validation,
 * JSON output escaping, Python reprs used in messages.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "drf.h"
#include "json.h"

static void test_email(void **state)
{
	static const char *const ok[] = {"ap@acme.in", "a.b+c@sub.example.com", "x@localhost",
	                                 "\"quoted name\"@example.org", "user@b\xc3\xbc" "cher.de"};
	static const char *const bad[] = {"", "plain", "@example.com", "a@", "a@b", "a..b@example.com",
	                                  ".a@example.com", "a@-example.com", "a@example.c",
	                                  "a b@example.com", "a@exa mple.com", "a@example.com."};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
		assert_true(drf_email_valid(ok[i], strlen(ok[i])));
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_false(drf_email_valid(bad[i], strlen(bad[i])));
}

static void test_json_output(void **state)
{
	struct buf b = {0};

	(void)state;
	json_put_str(&b, "a\"b\\c\n\x01 \xe2\x82\xb9 \xe2\x80\xa8", 15);
	assert_string_equal(buf_cstr(&b), "\"a\\\"b\\\\c\\n\\u0001 \xe2\x82\xb9 \\u2028\"");
	buf_free(&b);
	json_put_str(&b, "\xe2\x80\xa9\t\xe2\x80", 6);     /* U+2029, a tab, a cut-off 0xe2 */
	assert_string_equal(buf_cstr(&b), "\"\\u2029\\t\xe2\x80\"");
	buf_free(&b);
}

static void test_parse_and_repr(void **state)
{
	struct arena a;
	struct json *j;
	struct buf b = {0};
	char msg[128];
	size_t off;

	(void)state;
	arena_init(&a, 1024);
	j = json_parse(&a, "{\"$gt\":\"\",\"n\":[1,2.5,true,null,\"it's\"]}", 39, msg, sizeof(msg), &off);
	assert_non_null(j);
	json_pyrepr(&b, j);
	assert_string_equal(buf_cstr(&b), "{'$gt': '', 'n': [1, 2.5, True, None, \"it's\"]}");
	assert_string_equal(json_pytype(j), "dict");
	assert_string_equal(json_pytype(json_get(j, "n")), "list");
	assert_null(json_parse(&a, "{bad json", 9, msg, sizeof(msg), &off));
	assert_null(json_parse(&a, "[1] 2", 5, msg, sizeof(msg), &off));
	assert_null(json_parse(&a, "\"\xff\"", 3, msg, sizeof(msg), &off));
	buf_free(&b);
	arena_reset(&a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_email),
		cmocka_unit_test(test_json_output),
		cmocka_unit_test(test_parse_and_repr),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
