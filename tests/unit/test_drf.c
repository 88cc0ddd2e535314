/*
 * test_drf.c — DRF-profile pieces that need no server: e-mail validation,
 * JSON output escaping, Python reprs used in messages, and which values of
 * a json field every store keeps unchanged.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
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

/* Doubles as Python's repr() (json.dumps) spells them. */
static void test_put_double(void **state)
{
	static const struct { double d; const char *text; } cases[] = {
		{0.1, "0.1"}, {1.0, "1.0"}, {0.0, "0.0"}, {-0.0, "-0.0"}, {100.0, "100.0"},
		{1e15, "1000000000000000.0"}, {1e16, "1e+16"}, {9999999999999998.0, "9999999999999998.0"},
		{1e-4, "0.0001"}, {1.5e-5, "1.5e-05"}, {1e300, "1e+300"}, {-2.5e-300, "-2.5e-300"},
		{5e-324, "5e-324"}, {1.7976931348623157e308, "1.7976931348623157e+308"},
		{0.30000000000000004, "0.30000000000000004"}, {123456789.125, "123456789.125"},
		{9223372036854775808.0, "9.223372036854776e+18"}, {1e100, "1e+100"},
	};
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_LEN(cases); i++) {
		struct buf b = {0};

		assert_true(json_put_double(&b, cases[i].d));
		assert_string_equal(buf_cstr(&b), cases[i].text);
		buf_free(&b);
	}
	{
		struct buf b = {0};

		assert_false(json_put_double(&b, strtod("inf", NULL)));
		assert_false(json_put_double(&b, strtod("nan", NULL)));
		assert_int_equal(b.len, 0);
	}
}

/* A json field's value: kept by every store as it is, or refused with the
 * reason.  NULL: storable. */
static void test_store_check(void **state)
{
	static const struct { const char *text, *msg; } cases[] = {
		{"9223372036854775807", NULL},
		{"-9223372036854775808", NULL},
		{"9223372036854775808", "9223372036854775808 is outside the range of integers that can be stored "
		 "(-9223372036854775808 to 9223372036854775807)."},
		{"-9223372036854775809", "-9223372036854775809 is outside the range"},
		{"{\"k\":12345678901234567891}", "12345678901234567891 is outside the range"},
		{"[0,{\"k\":18446744073709551616}]", "18446744073709551616 is outside the range"},
		{"123456789012345678901234567890123456789012345", "12345678901234567890123456789012\xe2\x80\xa6 is outside"},
		{"0", NULL}, {"0.0", NULL},
		{"-0", NULL},                           /* the integer 0, stored as 0 */
		{"-0.0", "Negative zero cannot be stored: send 0 or 0.0."},
		{"-0e7", "Negative zero cannot be stored: send 0 or 0.0."},
		{"0.1", NULL}, {"1.0", NULL}, {"1e+300", NULL}, {"1.5e-05", NULL}, {"5e-324", NULL},
		/* other spellings of a double: kept as the double */
		{"1e300", NULL}, {"0.10", NULL}, {"1E5", NULL}, {"1e-400", NULL}, {"0.30000000000000001", NULL},
		{"1e400", "1e400 is outside the range of a double-precision number."},
		{"-1e400", "-1e400 is outside the range of a double-precision number."},
		{"{\"a\\u0000b\":1}", "The key \"a\\u0000b\" cannot be stored: keys must not be empty, begin "
		 "with \"$\", or contain \".\" or \\u0000."},
		{"{\"\":1}", "The key \"\" cannot be stored"},
		{"{\"$gt\":1}", "The key \"$gt\" cannot be stored"},
		{"[{\"x\":{\"a.b\":1}}]", "The key \"a.b\" cannot be stored"},
		{"{\"a\":1,\"b\":2,\"a\":3}", "The key \"a\" appears more than once."},
		{"{\"a\":1,\"b\":{\"a\":2}}", NULL},
		{"{\"x$\":\"a\\u0000b\",\"\\u00e9\":[[\"\\ud83d\\ude00\"]]}", NULL},
	};
	struct arena a;
	size_t i;
	char msg[128];

	(void)state;
	arena_init(&a, 4096);
	for (i = 0; i < ARRAY_LEN(cases); i++) {
		struct json *j = json_parse(&a, cases[i].text, strlen(cases[i].text), msg, sizeof(msg), NULL);
		const char *got;

		assert_non_null(j);
		got = json_store_check(&a, j);
		if (!cases[i].msg && got)
			fail_msg("%s refused: %s", cases[i].text, got);
		if (cases[i].msg && (!got || strncmp(got, cases[i].msg, strlen(cases[i].msg)) != 0))
			fail_msg("%s: %s", cases[i].text, got ? got : "accepted");
	}
	arena_reset(&a);
}

/* The refusal is a field error of the DRF shape, in validation, which
 * every mode and store shares. */
static void test_validate_json_field(void **state)
{
	static const char text[] =
		"{\"database_url\": \"sqlite://x.db\", \"jwt\": {\"secret\": \"0123456789abcdef\"},\n"
		" \"resources\": [{\"name\": \"docs\", \"path\": \"/api/docs/\", \"table\": \"docs\",\n"
		"  \"collection\": \"docs\", \"owner_column\": \"user_id\", \"fields\": [\n"
		"   {\"name\": \"id\", \"type\": \"uuid\", \"primary_key\": true, \"auto\": \"uuid4\"},\n"
		"   {\"name\": \"body\", \"type\": \"json\", \"null\": true, \"default\": null}]}]}";
	static const char body_bad[] = "{\"body\": {\"k\": 12345678901234567891}}";
	static const char body_ok[] = "{\"body\": {\"k\": [9223372036854775807, 0.1, \"a\\u0000\"]}}";
	struct config_problems pr = {0};
	struct config *c = config_load_text("docs.json", text, strlen(text), &pr);
	struct arena a;
	struct record *rec;
	struct verrors ve;
	struct buf b = {0};
	char msg[128];

	(void)state;
	if (!c)
		fail_msg("%s", pr.text.p);
	arena_init(&a, 4096);
	rec = record_new(&a, c->resources[0]);
	verrors_init(&a, c->resources[0], &ve);
	assert_int_equal(drf_validate(&a, c->resources[0], json_parse(&a, body_bad, strlen(body_bad), msg,
	                                                               sizeof(msg), NULL),
	                              DRF_CREATE, rec, &ve, NULL, NULL), 1);
	verrors_render(&b, c->resources[0], &ve);
	assert_string_equal(buf_cstr(&b), "{\"body\":[\"12345678901234567891 is outside the range of integers "
	                    "that can be stored (-9223372036854775808 to 9223372036854775807).\"]}");
	verrors_init(&a, c->resources[0], &ve);
	assert_int_equal(drf_validate(&a, c->resources[0], json_parse(&a, body_ok, strlen(body_ok), msg,
	                                                              sizeof(msg), NULL),
	                              DRF_CREATE, rec, &ve, NULL, NULL), 0);
	assert_string_equal(rec->vals[1].u.s.p, "{\"k\":[9223372036854775807,0.1,\"a\\u0000\"]}");
	buf_free(&b);
	arena_reset(&a);
	config_free(c);
	config_problems_free(&pr);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_email),
		cmocka_unit_test(test_json_output),
		cmocka_unit_test(test_parse_and_repr),
		cmocka_unit_test(test_put_double),
		cmocka_unit_test(test_store_check),
		cmocka_unit_test(test_validate_json_field),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
