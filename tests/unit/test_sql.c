/*
 * test_sql.c — the SQL text the relational adapters run: identifiers are
 * quoted with their quotes doubled, so a name cannot end its quoting.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "sql.h"

static void test_identifiers_quoted(void **state)
{
	static const struct sql_dialect d = {.numbered = true, .like = "ILIKE"};
	struct field f = {.name = "id", .column = "id", .type = CT_INTEGER};
	struct value v = {.u.i = 1};
	struct arena a;
	struct sql q;

	(void)state;
	arena_init(&a, 1024);
	sql_init(&q, &d, &a);
	sql_delete_where(&q, "t\"; DROP TABLE x; --", "c\"\"", &f, &v);
	assert_string_equal(sql_text(&q), "DELETE FROM \"t\"\"; DROP TABLE x; --\" WHERE \"c\"\"\"\"\"=$1");
	sql_delete_where(&q, "plain", "\"", &f, &v);
	assert_string_equal(sql_text(&q), "DELETE FROM \"plain\" WHERE \"\"\"\"=$1");
	sql_free(&q);
	arena_reset(&a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_identifiers_quoted),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
