/*
 * test_value.c — canonical types: decimals, dates, datetimes, uuids, UTF-8;
 * and the request arena's strings.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "arena.h"
#include "util.h"
#include "value.h"

static void test_decimal_parse(void **state)
{
	static const struct { const char *in; enum decimal_err err; int64_t units; } cases[] = {
		{"118.00", DEC_OK, 11800}, {"118", DEC_OK, 11800}, {" 59.5 ", DEC_OK, 5950},
		{"-0.01", DEC_OK, -1}, {"0", DEC_OK, 0}, {"+7.1", DEC_OK, 710}, {"1e2", DEC_OK, 10000},
		{"9999999999.99", DEC_OK, 999999999999}, {".5", DEC_OK, 50}, {"5.", DEC_OK, 500},
		{"12345678901234", DEC_MAX_DIGITS, 0}, {"1.234", DEC_MAX_PLACES, 0},
		{"1.000", DEC_MAX_PLACES, 0}, {"12345678901.0", DEC_MAX_WHOLE, 0},
		{"abc", DEC_INVALID, 0}, {"", DEC_INVALID, 0}, {"1.2.3", DEC_INVALID, 0},
		{"NaN", DEC_INVALID, 0}, {"Infinity", DEC_INVALID, 0}, {"1e", DEC_INVALID, 0},
		{"0.001", DEC_MAX_PLACES, 0}, {"1e20", DEC_MAX_DIGITS, 0},
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int64_t u = -12345;
		enum decimal_err e = decimal_parse(cases[i].in, strlen(cases[i].in), 12, 2, &u);

		assert_int_equal(e, cases[i].err);
		if (e == DEC_OK)
			assert_int_equal(u, cases[i].units);
	}
}

static void test_decimal_json_number(void **state)
{
	int64_t u;

	(void)state;
	assert_int_equal(decimal_parse_json_number("100.5", 5, 12, 2, &u), DEC_OK);
	assert_int_equal(u, 10050);
	assert_int_equal(decimal_parse_json_number("118", 3, 12, 2, &u), DEC_OK);
	assert_int_equal(u, 11800);
	/* 0.1 + binary float noise is still 0.1 to Python's repr */
	assert_int_equal(decimal_parse_json_number("0.1", 3, 12, 2, &u), DEC_OK);
	assert_int_equal(u, 10);
	/* 1e16 reads back as 1e+16: 17 digits in total */
	assert_int_equal(decimal_parse_json_number("1e16", 4, 12, 2, &u), DEC_MAX_DIGITS);
	assert_int_equal(decimal_parse_json_number("1.005", 5, 12, 2, &u), DEC_MAX_PLACES);
	assert_int_equal(decimal_parse_json_number("1e400", 5, 12, 2, &u), DEC_INVALID);
}

static void test_decimal_format_and_round(void **state)
{
	char out[32];
	int64_t u;

	(void)state;
	decimal_format(11800, 2, out);
	assert_string_equal(out, "118.00");
	decimal_format(-1, 2, out);
	assert_string_equal(out, "-0.01");
	decimal_format(0, 2, out);
	assert_string_equal(out, "0.00");
	decimal_format(42, 0, out);
	assert_string_equal(out, "42");
	assert_int_equal(decimal_from_text_round("59.5", 4, 2, &u), 0);
	assert_int_equal(u, 5950);
	assert_int_equal(decimal_from_text_round("0.125", 5, 2, &u), 0);
	assert_int_equal(u, 12);            /* half to even */
	assert_int_equal(decimal_from_text_round("0.135", 5, 2, &u), 0);
	assert_int_equal(u, 14);
	assert_int_equal(decimal_from_text_round("1.0e+15", 7, 2, &u), 0);
	assert_int_equal(u, 100000000000000000LL);
	assert_int_equal(decimal_from_text_round("text", 4, 2, &u), -1);
}

static void test_dates(void **state)
{
	int64_t d;
	char out[16];

	(void)state;
	assert_int_equal(date_parse("2025-11-01", 10, &d), 0);
	date_format(d, out);
	assert_string_equal(out, "2025-11-01");
	assert_int_equal(date_parse("2025-1-5", 8, &d), 0);
	date_format(d, out);
	assert_string_equal(out, "2025-01-05");
	assert_int_equal(date_parse("1970-01-01", 10, &d), 0);
	assert_int_equal(d, 0);
	assert_int_equal(date_parse("0001-01-01", 10, &d), 0);
	date_format(d, out);
	assert_string_equal(out, "0001-01-01");
	assert_int_equal(date_parse("9999-12-31", 10, &d), 0);
	assert_int_equal(date_parse("2024-02-29", 10, &d), 0);
	assert_int_equal(date_parse("2025-02-29", 10, &d), -1);
	assert_int_equal(date_parse("2025-13-01", 10, &d), -1);
	assert_int_equal(date_parse("0000-01-01", 10, &d), -1);
	assert_int_equal(date_parse("2025-11-01T00:00", 16, &d), -1);
	assert_int_equal(date_parse("25-11-01", 8, &d), -1);
}

static void test_datetimes(void **state)
{
	static const struct { const char *in; const char *api; } ok[] = {
		{"2025-11-02T10:00:00Z", "2025-11-02T10:00:00Z"},
		{"2025-11-02 10:00:00", "2025-11-02T10:00:00Z"},
		{"2025-11-02T10:00", "2025-11-02T10:00:00Z"},
		{"2026-11-21T17:30:39.794993Z", "2026-11-21T17:30:39.794993Z"},
		{"2026-11-21 17:30:39.5", "2026-11-21T17:30:39.500000Z"},
		{"2025-11-02T15:30:00+05:30", "2025-11-02T10:00:00Z"},
		{"2025-11-02T05:00:00-0500", "2025-11-02T10:00:00Z"},
		{"2025-01-01T00:30:00+01", "2024-12-31T23:30:00Z"},
		{"1969-12-31T23:59:59.999999Z", "1969-12-31T23:59:59.999999Z"},
	};
	static const char *const bad[] = {
		"2025-11-02", "2025-11-02T25:00", "2025-11-02T10:00:00X", "2025-11-02T10",
		"2025-11-02T10:00:00.Z", "yesterday", "",
	};
	char out[40];
	int64_t us;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		assert_int_equal(datetime_parse(ok[i].in, strlen(ok[i].in), &us), 0);
		datetime_format_api(us, out);
		assert_string_equal(out, ok[i].api);
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(datetime_parse(bad[i], strlen(bad[i]), &us), -1);
	assert_int_equal(datetime_parse("2026-11-21T17:30:39.794993Z", 27, &us), 0);
	datetime_format_sql(datetime_trunc_ms(us), out);
	assert_string_equal(out, "2026-11-21 17:30:39.794000");
	datetime_format_sql(us - us % 1000000, out);
	assert_string_equal(out, "2026-11-21 17:30:39");
	/* truncation goes toward the past before 1970 too */
	assert_int_equal(datetime_trunc_ms(-1), -1000);
}

static void test_uuid(void **state)
{
	unsigned char u[16], v[16];
	char out[37], hex[33];

	(void)state;
	assert_int_equal(uuid_parse("f9703cfe-1689-443c-ba2f-e94d1ad1237b", 36, u), 0);
	uuid_format(u, out);
	assert_string_equal(out, "f9703cfe-1689-443c-ba2f-e94d1ad1237b");
	uuid_format_hex(u, hex);
	assert_string_equal(hex, "f9703cfe1689443cba2fe94d1ad1237b");
	assert_int_equal(uuid_parse("F9703CFE1689443CBA2FE94D1AD1237B", 32, v), 0);
	assert_memory_equal(u, v, 16);
	assert_int_equal(uuid_parse("{f9703cfe-1689-443c-ba2f-e94d1ad1237b}", 38, v), 0);
	assert_int_equal(uuid_parse("urn:uuid:f9703cfe-1689-443c-ba2f-e94d1ad1237b", 45, v), 0);
	assert_int_equal(uuid_parse("f9703cfe-1689-443c-ba2f-e94d1ad1237", 35, v), -1);
	assert_int_equal(uuid_parse("g9703cfe-1689-443c-ba2f-e94d1ad1237b", 36, v), -1);
	assert_int_equal(uuid_parse("f9703cfe-1689-443c-ba2f-e94d1ad1237b0", 37, v), -1);
	/* The canonical forms' fast path and the rest agree. */
	assert_int_equal(uuid_parse("F9703CFE-1689-443C-BA2F-E94D1AD1237B", 36, v), 0);
	assert_memory_equal(u, v, 16);
	assert_int_equal(uuid_parse("f9703cfe-1689-443c-ba2f-e94d1ad1237-", 36, v), -1);
	assert_int_equal(uuid_parse("f9703cfe-1689443cba2fe94d1ad1237b", 33, v), 0);
	assert_memory_equal(u, v, 16);
	assert_int_equal(uuid_parse("f9703cfe-689443cba2fe94d1ad1237b", 32, v), -1);
	assert_int_equal(uuid_parse("------------------------------------", 36, v), -1);
	assert_int_equal(uuid_parse("f9703cfe1689443cba2fe94d1ad1237 ", 32, v), -1);
	uuid_v4(u);
	assert_int_equal(u[6] >> 4, 4);
	assert_int_equal(u[8] >> 6, 2);
}

static void test_utf8(void **state)
{
	(void)state;
	assert_true(utf8_valid("plain", 5));
	assert_true(utf8_valid("h\xc3\xa9llo \xe2\x82\xb9", 10));
	assert_false(utf8_valid("\xff", 1));
	assert_false(utf8_valid("\xc3", 1));
	assert_false(utf8_valid("\xed\xa0\x80", 3));     /* surrogate */
	assert_false(utf8_valid("\xc0\xaf", 2));         /* overlong */
	assert_int_equal(utf8_len("h\xc3\xa9llo \xe2\x82\xb9", 10), 7);
}

static void test_arena_strings(void **state)
{
	struct arena a;
	struct buf b = {0};
	char *big;

	(void)state;
	arena_init(&a, 64);
	assert_string_equal(arena_join(&a, "invoices", ".", "detail"), "invoices.detail");
	assert_string_equal(arena_join(&a, "", "://", ""), "://");
	big = arena_join(&a, "x", "", arena_printf(&a, "%0100d", 7));  /* beyond one chunk */
	assert_int_equal(strlen(big), 101);
	assert_true(big[0] == 'x' && big[100] == '7');
	buf_put_int(&b, -9223372036854775807LL - 1);
	buf_putc(&b, ' ');
	buf_put_int(&b, 0);
	assert_string_equal(buf_cstr(&b), "-9223372036854775808 0");
	buf_free(&b);
	arena_reset(&a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_decimal_parse),
		cmocka_unit_test(test_decimal_json_number),
		cmocka_unit_test(test_decimal_format_and_round),
		cmocka_unit_test(test_dates),
		cmocka_unit_test(test_datetimes),
		cmocka_unit_test(test_uuid),
		cmocka_unit_test(test_utf8),
		cmocka_unit_test(test_arena_strings),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
