/*
 * test_profile.c — response profiles: the built-in drf and express shapes
 * of lists, records, errors and deletes; pagination at its edges in each
 * scheme; names under camel casing and the id's name; profiles a
 * configuration declares, and the problems it is told about.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "config.h"
#include "profile.h"
#include "query.h"

#define HEAD "{\"database_url\": \"sqlite://x.db\", \"jwt\": {\"secret\": \"0123456789abcdef\"},\n"

#define RESOURCE(name, extra)                                                                      \
	"{\"name\": \"" name "\", \"path\": \"/api/" name "/\", \"table\": \"t_" name "\", "          \
	"\"owner_column\": \"user_id\"" extra ", \"fields\": ["                                       \
	"{\"name\": \"id\", \"type\": \"uuid\", \"primary_key\": true, \"auto\": \"uuid4\"},"          \
	"{\"name\": \"invoice_number\", \"type\": \"string\", \"max_length\": 9},"                    \
	"{\"name\": \"total_amount\", \"type\": \"decimal\", \"digits\": 9, \"places\": 2},"           \
	"{\"name\": \"status\", \"type\": \"string\", \"max_length\": 9}],"                           \
	"\"views\": [{\"name\": \"summary\", \"kind\": \"summary\", \"group_by\": \"status\", "      \
	"\"sum\": \"total_amount\"}]}"

static struct config *load(const char *text, struct config_problems *pr)
{
	unsetenv("DATABASE_URL");
	unsetenv("JWT_SECRET");
	return config_load_text("t.json", text, strlen(text), pr);
}

static const struct profile *profile_named(const struct config *cfg, const char *name)
{
	size_t i;

	for (i = 0; i < cfg->nprofiles; i++)
		if (strcmp(cfg->profiles[i].name, name) == 0)
			return &cfg->profiles[i];
	fail_msg("no profile %s", name);
	return NULL;
}

static void sv(struct slot_value *v, enum slot s, const char *text)
{
	v[s] = (struct slot_value){text, strlen(text)};
}

static void assert_rendered(const struct json *t, const struct slot_value *v, const char *want)
{
	struct buf b = {0};

	profile_render(&b, t, v);
	assert_string_equal(buf_cstr(&b), want);
	buf_free(&b);
}

static struct config *both(struct config_problems *pr)
{
	struct config *cfg = load(HEAD "\"profile\": \"express\", \"resources\": [" RESOURCE("invoices", "") ","
	                          RESOURCE("bills", ", \"profile\": \"drf\"") "]}", pr);

	assert_non_null(cfg);
	return cfg;
}

static void test_lists(void **state)
{
	struct config_problems pr = {0};
	struct config *cfg = both(&pr);
	struct slot_value v[SLOT_COUNT_ALL] = {{0}};

	(void)state;
	sv(v, SLOT_COUNT, "41");
	sv(v, SLOT_NEXT, "\"http://h/api/invoices/?page=3\"");
	sv(v, SLOT_PREVIOUS, "\"http://h/api/invoices/\"");
	sv(v, SLOT_RESULTS, "[{\"id\":1}]");
	sv(v, SLOT_PAGE, "2");
	sv(v, SLOT_LIMIT, "20");
	sv(v, SLOT_PAGES, "3");
	sv(v, SLOT_OFFSET, "20");
	assert_rendered(profile_named(cfg, "drf")->list, v,
	                "{\"count\":41,\"next\":\"http://h/api/invoices/?page=3\","
	                "\"previous\":\"http://h/api/invoices/\",\"results\":[{\"id\":1}]}");
	assert_rendered(profile_named(cfg, "express")->list, v,
	                "{\"success\":true,\"data\":[{\"id\":1}],"
	                "\"pagination\":{\"page\":2,\"limit\":20,\"total\":41,\"pages\":3}}");
	/* No next page: null. */
	v[SLOT_NEXT] = (struct slot_value){0};
	assert_rendered(profile_named(cfg, "drf")->list, v,
	                "{\"count\":41,\"next\":null,\"previous\":\"http://h/api/invoices/\",\"results\":[{\"id\":1}]}");
	config_free(cfg);
	config_problems_free(&pr);
}

static void test_items_errors_deletes(void **state)
{
	struct config_problems pr = {0};
	struct config *cfg = both(&pr);
	const struct profile *drf = profile_named(cfg, "drf"), *ex = profile_named(cfg, "express");
	struct slot_value v[SLOT_COUNT_ALL] = {{0}};

	(void)state;
	sv(v, SLOT_DATA, "{\"_id\":\"x\"}");
	assert_true(profile_is_slot(drf->item, SLOT_DATA));
	assert_rendered(ex->item, v, "{\"success\":true,\"data\":{\"_id\":\"x\"}}");
	sv(v, SLOT_MESSAGE, "\"Not found.\"");
	sv(v, SLOT_STATUS, "404");
	assert_rendered(drf->error, v, "{\"detail\":\"Not found.\"}");
	assert_rendered(ex->error, v, "{\"success\":false,\"message\":\"Not found.\"}");
	sv(v, SLOT_ERRORS, "{\"status\":[\"bad\"]}");
	assert_true(profile_is_slot(drf->invalid, SLOT_ERRORS));
	assert_rendered(ex->invalid, v,
	                "{\"success\":false,\"message\":\"Validation failed\",\"errors\":{\"status\":[\"bad\"]}}");
	assert_null(drf->deleted);      /* 204, no body */
	assert_rendered(ex->deleted, v, "{\"success\":true,\"message\":\"Deleted\"}");
	assert_true(drf->simplejwt);
	assert_false(ex->simplejwt);
	config_free(cfg);
	config_problems_free(&pr);
}

/* (offset, limit) for a query against count records; -1 when refused. */
static int window(const struct profile *p, const char *qs, int64_t count, int64_t *offset, int64_t *limit)
{
	struct arena a;
	struct qparams q;
	int rc;

	arena_init(&a, 1024);
	query_parse(&a, qs, &q);
	*limit = 20;
	rc = profile_page(p, &q, count, limit, offset);
	arena_reset(&a);
	return rc;
}

static void test_pagination_edges(void **state)
{
	static const struct {
		const char *profile, *query;
		int64_t count;
		int rc;
		int64_t offset, limit;
	} cases[] = {
		/* DRF: Django's paginator, strict. */
		{"drf", "", 0, 0, 0, 20},
		{"drf", "page=1", 0, 0, 0, 20},         /* page 1 of nothing is allowed */
		{"drf", "page=2", 20, -1, 0, 0},
		{"drf", "page=2", 21, 0, 20, 20},
		{"drf", "page=last", 41, 0, 40, 20},
		{"drf", "page=0", 41, -1, 0, 0},
		{"drf", "page=abc", 41, -1, 0, 0},
		{"drf", "page= 2 ", 41, 0, 20, 20},
		{"drf", "limit=5", 41, 0, 0, 20},       /* no limit parameter in DRF's default */
		/* express: page and limit, lenient. */
		{"express", "", 41, 0, 0, 20},
		{"express", "page=abc", 41, 0, 0, 20},
		{"express", "page=0", 41, 0, 0, 20},
		{"express", "page=-3", 41, 0, 0, 20},
		{"express", "page=9", 41, 0, 160, 20},  /* past the end: an empty page */
		{"express", "page=2&limit=5", 41, 0, 5, 5},
		{"express", "limit=0", 41, 0, 0, 20},
		{"express", "limit=abc", 41, 0, 0, 20},
		{"express", "limit=100000", 41, 0, 0, 100},
		{"express", "page=99999999999999999999&limit=100", 41, 0, (INT64_MAX / 2 / 100 - 1) * 100, 100},
		/* offset: limit and offset. */
		{"offsets", "", 41, 0, 0, 20},
		{"offsets", "offset=7&limit=3", 41, 0, 7, 3},
		{"offsets", "offset=-1", 41, 0, 0, 20},
		{"offsets", "offset=x&limit=500", 41, 0, 0, 50},
		/* cursor: an opaque position, refused when it is not one. */
		{"cursors", "", 41, 0, 0, 20},
		{"cursors", "cursor=bz0yMA&limit=5", 41, 0, 20, 5},      /* o=20 */
		{"cursors", "cursor=bz0tMQ", 41, -1, 0, 0},              /* o=-1 */
		{"cursors", "cursor=bz14", 41, -1, 0, 0},                /* o=x */
		{"cursors", "cursor=bz01anVuaw", 41, -1, 0, 0},          /* o=5junk */
		{"cursors", "cursor=bz01AGp1bms", 41, -1, 0, 0},         /* o=5\0junk */
		{"cursors", "cursor=bz05OTk5OTk5OTk5OTk5OTk5OTk5OQ", 41, -1, 0, 0}, /* o=99999999999999999999 */
		{"cursors", "cursor=not*base64", 41, -1, 0, 0},
	};
	struct config_problems pr = {0};
	struct config *cfg = load(HEAD "\"profiles\": {\"offsets\": {\"base\": \"express\", \"pagination\": "
	                          "{\"scheme\": \"offset\", \"offset\": \"offset\", \"limit\": \"limit\", "
	                          "\"max_limit\": 50}}, \"cursors\": {\"base\": \"express\", \"pagination\": "
	                          "{\"scheme\": \"cursor\", \"cursor\": \"cursor\"}}}, "
	                          "\"resources\": [" RESOURCE("invoices", "") "]}", &pr);
	size_t i;

	(void)state;
	assert_non_null(cfg);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int64_t offset = -1, limit = -1;
		int rc = window(profile_named(cfg, cases[i].profile), cases[i].query, cases[i].count, &offset, &limit);

		if (rc != cases[i].rc)
			fail_msg("%s ?%s: rc %d, want %d", cases[i].profile, cases[i].query, rc, cases[i].rc);
		if (rc == 0 && (offset != cases[i].offset || limit != cases[i].limit))
			fail_msg("%s ?%s: offset %lld limit %lld, want %lld %lld", cases[i].profile, cases[i].query,
			         (long long)offset, (long long)limit, (long long)cases[i].offset,
			         (long long)cases[i].limit);
	}
	/* The links' parameters for a position, in each scheme. */
	{
		struct arena a;
		struct qparam set[2];

		arena_init(&a, 1024);
		assert_int_equal(profile_position(profile_named(cfg, "cursors"), &a, 20, 5, set), 1);
		assert_string_equal(set[0].key, "cursor");
		assert_string_equal(set[0].val, "bz0yMA");
		assert_int_equal(profile_position(profile_named(cfg, "cursors"), &a, 0, 5, set), 1);
		assert_null(set[0].val);
		assert_int_equal(profile_position(profile_named(cfg, "drf"), &a, 40, 20, set), 1);
		assert_string_equal(set[0].val, "3");
		assert_int_equal(profile_position(profile_named(cfg, "offsets"), &a, 6, 3, set), 2);
		assert_string_equal(set[0].val, "3");
		assert_string_equal(set[1].val, "6");
		arena_reset(&a);
	}
	config_free(cfg);
	config_problems_free(&pr);
}

static void test_casing(void **state)
{
	struct config_problems pr = {0};
	struct config *cfg = both(&pr);
	const struct resource *inv = cfg->resources[0], *bills = cfg->resources[1];

	(void)state;
	assert_string_equal(inv->profile->name, "express");
	assert_string_equal(inv->fields[0].name, "_id");
	assert_string_equal(inv->fields[1].name, "invoiceNumber");
	assert_string_equal(inv->fields[1].column, "invoice_number");
	assert_string_equal(inv->fields[2].name, "totalAmount");
	assert_int_equal(resource_field(inv, "totalAmount"), 2);
	assert_int_equal(resource_field(inv, "total_amount"), -1);
	assert_string_equal(inv->views[0].by_key, "byStatus");
	assert_string_equal(inv->profile->ordering_param, "sort");
	/* A resource of its own profile keeps DRF's names. */
	assert_string_equal(bills->profile->name, "drf");
	assert_string_equal(bills->fields[0].name, "id");
	assert_string_equal(bills->fields[1].name, "invoice_number");
	assert_string_equal(bills->views[0].by_key, "by_status");
	assert_string_equal(profile_camel(&cfg->arena, "a_b_c"), "aBC");
	assert_string_equal(profile_camel(&cfg->arena, "_id"), "_id");
	assert_string_equal(profile_camel(&cfg->arena, "x__y"), "xY");
	assert_string_equal(profile_camel(&cfg->arena, "tail_"), "tail_");
	config_free(cfg);
	config_problems_free(&pr);
}

/* A profile of the configuration's own: templates with literals, a "$$"
 * escape, a base; its mistakes reported. */
static void test_declared_profiles(void **state)
{
	struct config_problems pr = {0};
	struct config *cfg = load(HEAD "\"profile\": \"plain\", \"profiles\": {\"plain\": {\"base\": \"drf\", "
	                          "\"list\": [\"$results\", {\"$$ref\": \"$$count\", \"n\": \"$count\"}], "
	                          "\"error\": {\"error\": {\"code\": \"$status\", \"text\": \"$message\"}}, "
	                          "\"id\": \"uid\"}}, \"resources\": [" RESOURCE("invoices", "") "]}", &pr);
	const struct profile *p;
	struct slot_value v[SLOT_COUNT_ALL] = {{0}};

	(void)state;
	assert_non_null(cfg);
	p = profile_named(cfg, "plain");
	sv(v, SLOT_RESULTS, "[]");
	sv(v, SLOT_COUNT, "0");
	assert_rendered(p->list, v, "[[],{\"$$ref\":\"$count\",\"n\":0}]");
	sv(v, SLOT_MESSAGE, "\"No.\"");
	sv(v, SLOT_STATUS, "405");
	assert_rendered(p->error, v, "{\"error\":{\"code\":405,\"text\":\"No.\"}}");
	assert_true(profile_is_slot(p->item, SLOT_DATA));      /* from drf */
	assert_string_equal(cfg->resources[0]->fields[0].name, "uid");
	assert_string_equal(cfg->resources[0]->fields[1].name, "invoice_number");
	config_free(cfg);

	assert_null(load(HEAD "\"profile\": \"nope\", \"profiles\": {\"a\": {\"base\": \"b\", \"item\": \"$count\", "
	                 "\"list\": \"$bogus\", \"casing\": \"kebab\", \"pagination\": {\"scheme\": \"offset\", "
	                 "\"page\": null, \"x\": 1}, \"colour\": 1}, \"drf\": {}}, \"resources\": ["
	                 RESOURCE("invoices", ", \"profile\": \"missing\"") "]}", &pr));
	assert_non_null(strstr(pr.text.p, "profile a: no profile \"b\" is declared before it"));
	assert_non_null(strstr(pr.text.p, "\"$count\" is no slot of \"item\""));
	assert_non_null(strstr(pr.text.p, "\"$bogus\" is no slot of \"list\""));
	assert_non_null(strstr(pr.text.p, "\"casing\" is snake or camel, not \"kebab\""));
	assert_non_null(strstr(pr.text.p, "pagination has no key \"x\""));
	assert_non_null(strstr(pr.text.p, "the offset scheme \"offset\" and \"limit\""));
	assert_non_null(strstr(pr.text.p, "profile a: unknown key \"colour\""));
	assert_non_null(strstr(pr.text.p, "profile \"drf\" is declared already"));
	assert_non_null(strstr(pr.text.p, "profile \"nope\" is not declared"));
	assert_non_null(strstr(pr.text.p, "resource invoices: profile \"missing\" is not declared"));
	config_problems_free(&pr);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_lists),
		cmocka_unit_test(test_items_errors_deletes),
		cmocka_unit_test(test_pagination_edges),
		cmocka_unit_test(test_casing),
		cmocka_unit_test(test_declared_profiles),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
