/*
 * test_schema.c — the CHECK constraints `cutover init` understands, as
 * SQLite keeps their text and as PostgreSQL prints them back, and those it
 * must leave alone.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "schema.h"

static struct schema_column cols[3];
static struct schema_table table = {.name = "t", .cols = cols, .ncols = 3};

static void reset(void)
{
	memset(cols, 0, sizeof(cols));
	cols[0].name = "status";
	cols[1].name = "position";
	cols[2].name = "data";
}

static void test_enumerations(void **state)
{
	static const char *const exprs[] = {
		"\"status\" IN ('draft', 'sent', 'it''s')",                      /* SQLite, as written */
		"(((status)::text = ANY ((ARRAY['draft'::character varying, 'sent'::character varying, "
		"'it''s'::character varying])::text[])))",                       /* PostgreSQL's rendering */
		"status in ('draft','sent','it''s')",
	};
	struct arena a;
	size_t i;

	(void)state;
	arena_init(&a, 4096);
	for (i = 0; i < sizeof(exprs) / sizeof(exprs[0]); i++) {
		reset();
		assert_int_equal(schema_apply_check(&a, &table, exprs[i]), 0);
		assert_int_equal(cols[0].nchoices, 3);
		assert_string_equal(cols[0].choices[0], "draft");
		assert_string_equal(cols[0].choices[1], "sent");
		assert_string_equal(cols[0].choices[2], "it's");
	}
	arena_reset(&a);
}

static void test_bounds(void **state)
{
	static const struct {
		const char *expr;
		bool has_min, has_max;
		int64_t min, max;
	} cases[] = {
		{"\"position\" >= 0", true, false, 0, 0},
		{"((\"position\" >= 0))", true, false, 0, 0},
		{"position > 0", true, false, 1, 0},
		{"position <= 100", false, true, 0, 100},
		{"0 <= position", true, false, 0, 0},
		{"position > -5", true, false, -4, 0},
		{"position BETWEEN 1 AND 7", true, true, 1, 7},
		{"((position >= 0) AND (position < 10))", true, true, 0, 9},
	};
	struct arena a;
	size_t i;

	(void)state;
	arena_init(&a, 4096);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		reset();
		assert_int_equal(schema_apply_check(&a, &table, cases[i].expr), 0);
		assert_int_equal(cols[1].has_min, cases[i].has_min);
		assert_int_equal(cols[1].has_max, cases[i].has_max);
		if (cases[i].has_min)
			assert_int_equal(cols[1].min, cases[i].min);
		if (cases[i].has_max)
			assert_int_equal(cols[1].max, cases[i].max);
	}
	arena_reset(&a);
}

static void test_json_valid(void **state)
{
	struct arena a;

	(void)state;
	arena_init(&a, 4096);
	reset();
	assert_int_equal(schema_apply_check(&a, &table, "(JSON_VALID(\"data\") OR \"data\" IS NULL)"), 0);
	assert_true(cols[2].json_check);
	arena_reset(&a);
}

/* Checks of other kinds change nothing. */
static void test_left_alone(void **state)
{
	static const char *const exprs[] = {
		"status NOT IN ('x')",                  /* what is refused, not what is allowed */
		"length(status) > 0",                   /* a function of the column */
		"position < other",                     /* another column */
		"status IN ('a') AND position > 0",     /* two columns */
		"nothing > 0",                          /* no column of the table */
		"status <> 'x'",
		"",
	};
	struct arena a;
	size_t i;

	(void)state;
	arena_init(&a, 4096);
	for (i = 0; i < sizeof(exprs) / sizeof(exprs[0]); i++) {
		reset();
		assert_int_equal(schema_apply_check(&a, &table, exprs[i]), -1);
		assert_int_equal(cols[0].nchoices, 0);
		assert_false(cols[1].has_min || cols[1].has_max);
	}
	arena_reset(&a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_enumerations),
		cmocka_unit_test(test_bounds),
		cmocka_unit_test(test_json_valid),
		cmocka_unit_test(test_left_alone),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
