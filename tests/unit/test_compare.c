/*
 * test_compare.c — the comparison engine: verdicts, each rule, and patches
 * that really turn the authoritative body into the secondary one (each is
 * applied here by an independent RFC 6902 implementation).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "compare.h"
#include "json.h"

static struct arena A;

static struct json *parse(const char *text)
{
	char msg[128];
	struct json *j = json_parse(&A, text, strlen(text), msg, sizeof(msg), NULL);

	if (!j)
		fail_msg("bad test JSON: %s: %s", msg, text);
	return j;
}

/* Equality ignoring member order. */
static bool json_equal(const struct json *a, const struct json *b)
{
	size_t i;

	if (a->type != b->type)
		return false;
	switch (a->type) {
	case JSON_NULL: return true;
	case JSON_BOOL: return a->u.b == b->u.b;
	case JSON_NUMBER:
	case JSON_STRING: return a->u.s.n == b->u.s.n && memcmp(a->u.s.p, b->u.s.p, a->u.s.n) == 0;
	case JSON_ARRAY:
		if (a->u.a.n != b->u.a.n)
			return false;
		for (i = 0; i < a->u.a.n; i++)
			if (!json_equal(a->u.a.v[i], b->u.a.v[i]))
				return false;
		return true;
	case JSON_OBJECT:
		if (a->u.o.n != b->u.o.n)
			return false;
		for (i = 0; i < a->u.o.n; i++) {
			const struct json *o = json_get(b, a->u.o.m[i].key);

			if (!o || !json_equal(a->u.o.m[i].val, o))
				return false;
		}
		return true;
	}
	return false;
}

/* One RFC 6901 segment, unescaped, from *p; advances *p. */
static char *segment(const char **p)
{
	size_t n = strcspn(*p + 1, "/"), i, o = 0;
	char *s = arena_alloc(&A, n + 1);

	for (i = 0; i < n; i++) {
		const char *c = *p + 1 + i;

		if (c[0] == '~' && i + 1 < n) {
			s[o++] = c[1] == '1' ? '/' : '~';
			i++;
		} else {
			s[o++] = c[0];
		}
	}
	s[o] = '\0';
	*p += n + 1;
	return s;
}

/* Apply one operation to doc (which may be replaced at the root). */
static void apply_op(struct json **doc, const char *opname, const char *path, struct json *value)
{
	struct json *parent = NULL, *cur = *doc;
	const char *p = path;
	char *seg = NULL;
	size_t i;

	if (!*path) {
		assert_string_equal(opname, "replace");
		*doc = value;
		return;
	}
	while (*p) {
		seg = segment(&p);
		if (!*p)
			break;
		cur = cur->type == JSON_OBJECT ? json_get(cur, seg) : cur->u.a.v[atoi(seg)];
		assert_non_null(cur);
	}
	parent = cur;
	if (parent->type == JSON_OBJECT) {
		size_t n = parent->u.o.n, k = n;

		for (i = 0; i < n; i++)
			if (strcmp(parent->u.o.m[i].key, seg) == 0)
				k = i;
		if (strcmp(opname, "remove") == 0) {
			assert_true(k < n);
			memmove(&parent->u.o.m[k], &parent->u.o.m[k + 1], (n - k - 1) * sizeof(parent->u.o.m[0]));
			parent->u.o.n--;
		} else if (k < n) {
			parent->u.o.m[k].val = value;
		} else {
			struct json_member *m = ARENA_ARRAY(&A, struct json_member, n + 1);

			memcpy(m, parent->u.o.m, n * sizeof(*m));
			m[n].key = seg;
			m[n].klen = strlen(seg);
			m[n].val = value;
			parent->u.o.m = m;
			parent->u.o.n = n + 1;
		}
	} else {
		size_t n = parent->u.a.n, k = strcmp(seg, "-") == 0 ? n : (size_t)atoi(seg);

		if (strcmp(opname, "replace") == 0) {
			assert_true(k < n);
			parent->u.a.v[k] = value;
		} else if (strcmp(opname, "remove") == 0) {
			assert_true(k < n);
			memmove(&parent->u.a.v[k], &parent->u.a.v[k + 1], (n - k - 1) * sizeof(parent->u.a.v[0]));
			parent->u.a.n--;
		} else {
			struct json **v = ARENA_ARRAY(&A, struct json *, n + 1);

			assert_true(k <= n);
			memcpy(v, parent->u.a.v, k * sizeof(*v));
			v[k] = value;
			memcpy(v + k + 1, parent->u.a.v + k, (n - k) * sizeof(*v));
			parent->u.a.v = v;
			parent->u.a.n = n + 1;
		}
	}
}

static void assert_patch_applies(const char *a, const char *b, const char *patch)
{
	struct json *doc = parse(a), *ops = parse(patch);
	size_t i;

	assert_int_equal(ops->type, JSON_ARRAY);
	for (i = 0; i < ops->u.a.n; i++) {
		const struct json *o = ops->u.a.v[i];
		const struct json *name = json_get(o, "op"), *path = json_get(o, "path");

		assert_non_null(name);
		assert_non_null(path);
		apply_op(&doc, name->u.s.p, path->u.s.p, json_get(o, "value"));
	}
	if (!json_equal(doc, parse(b))) {
		struct buf got = {0};

		json_write(&got, doc);
		fail_msg("patch %s applied to %s gives %s, not %s", patch, a, buf_cstr(&got), b);
	}
}

/* Compare with default rules; check the verdict, the exact patch when
 * given, and that the patch applies.  (Bodies equal only under the rules —
 * 1.0 and 1, microseconds beyond the millisecond — keep their differences:
 * an empty patch is the right answer for them.) */
static struct compare_result check(const struct compare_rules *rules, const char *a, const char *b,
                                   bool equal, const char *patch)
{
	struct compare_rules dflt;
	struct compare_result r;

	compare_rules_default(&dflt);
	assert_int_equal(compare_responses(rules ? rules : &dflt, 200, a, strlen(a), 200, b, strlen(b), &r), 0);
	assert_int_equal(r.equal, equal);
	if (patch)
		assert_string_equal(r.patch.p, patch);
	if (!rules && !equal)
		assert_patch_applies(a, b, r.patch.p);
	return r;
}

static void test_identical(void **state)
{
	struct compare_result r;

	(void)state;
	r = check(NULL, "{\"a\":1,\"b\":[1,2,{\"c\":null}]}", "{\"b\":[1,2,{\"c\":null}],\"a\":1}", true, "[]");
	assert_int_equal(r.ndiffs, 0);
	compare_result_free(&r);
	r = check(NULL, "[]", "[]", true, "[]");
	compare_result_free(&r);
}

static void test_each_kind_of_difference(void **state)
{
	static const struct { const char *a, *b, *patch; } cases[] = {
		{"{\"status\":\"sent\"}", "{\"status\":\"paid\"}",
		 "[{\"op\":\"replace\",\"path\":\"/status\",\"value\":\"paid\"}]"},
		{"{\"a\":1}", "{\"a\":1,\"b\":true}", "[{\"op\":\"add\",\"path\":\"/b\",\"value\":true}]"},
		{"{\"a\":1,\"b\":true}", "{\"a\":1}", "[{\"op\":\"remove\",\"path\":\"/b\"}]"},
		{"{\"x\":[1,2]}", "{\"x\":[1,2,3,4]}",
		 "[{\"op\":\"add\",\"path\":\"/x/2\",\"value\":3},{\"op\":\"add\",\"path\":\"/x/3\",\"value\":4}]"},
		{"{\"x\":[1,2,3,4]}", "{\"x\":[1,9]}",
		 "[{\"op\":\"replace\",\"path\":\"/x/1\",\"value\":9},{\"op\":\"remove\",\"path\":\"/x/3\"},"
		 "{\"op\":\"remove\",\"path\":\"/x/2\"}]"},
		{"{\"v\":{\"k\":1}}", "{\"v\":\"flat\"}", "[{\"op\":\"replace\",\"path\":\"/v\",\"value\":\"flat\"}]"},
		{"{\"v\":null}", "{\"v\":0}", "[{\"op\":\"replace\",\"path\":\"/v\",\"value\":0}]"},
		{"{\"a/b\":1,\"c~d\":2}", "{\"a/b\":2,\"c~d\":3}",
		 "[{\"op\":\"replace\",\"path\":\"/a~1b\",\"value\":2},{\"op\":\"replace\",\"path\":\"/c~0d\",\"value\":3}]"},
		{"{\"n\":\"118.00\"}", "{\"n\":\"118.0\"}", "[{\"op\":\"replace\",\"path\":\"/n\",\"value\":\"118.0\"}]"},
		{"[1,{\"a\":[true]}]", "[1,{\"a\":[false]}]", "[{\"op\":\"replace\",\"path\":\"/1/a/0\",\"value\":false}]"},
		{"{\"a\":1}", "[1]", "[{\"op\":\"replace\",\"path\":\"\",\"value\":[1]}]"},
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct compare_result r = check(NULL, cases[i].a, cases[i].b, false, cases[i].patch);

		compare_result_free(&r);
	}
}

static void test_field_paths_for_counters(void **state)
{
	struct compare_result r;

	(void)state;
	r = check(NULL, "{\"results\":[{\"t\":\"1.00\"},{\"t\":\"2.00\"}]}",
	          "{\"results\":[{\"t\":\"1.50\"},{\"t\":\"2.50\"}]}", false, NULL);
	assert_int_equal(r.ndiffs, 2);
	assert_string_equal(r.paths.p, "/results/*/t\n/results/*/t\n");
	compare_result_free(&r);
	/* A key cannot spell a second path, nor a line break that splits one. */
	r = check(NULL, "{\"a\\nfake_metric{a=\\\"b\\\"} 1\":1,\"x/y\":1,\"~1\":1}",
	          "{\"a\\nfake_metric{a=\\\"b\\\"} 1\":2,\"x/y\":2,\"~1\":2}", false, NULL);
	assert_int_equal(r.ndiffs, 3);
	assert_string_equal(r.paths.p, "/a~x0afake_metric{a=\"b\"} 1\n/x~1y\n/~01\n");
	compare_result_free(&r);
}

/* One record with many differing fields adds COMPARE_PATHS keys at most;
 * the differences at the others are counted, and repeats of a kept key
 * still count. */
static void test_paths_bounded_per_comparison(void **state)
{
	struct buf a = {0}, b = {0};
	struct compare_result r;
	const char *p;
	size_t i, lines = 0;

	(void)state;
	buf_puts(&a, "{\"results\":[{\"k0\":0},{\"k0\":0}]");
	buf_puts(&b, "{\"results\":[{\"k0\":1},{\"k0\":1}]");
	for (i = 0; i < 40; i++) {
		buf_printf(&a, ",\"f%zu\":0", i);
		buf_printf(&b, ",\"f%zu\":1", i);
	}
	buf_putc(&a, '}');
	buf_putc(&b, '}');
	r = check(NULL, buf_cstr(&a), buf_cstr(&b), false, NULL);
	assert_int_equal(r.ndiffs, 42);
	assert_int_equal(r.npaths, COMPARE_PATHS);
	for (p = r.paths.p; *p; p++)
		lines += *p == '\n';
	assert_int_equal(lines + r.paths_dropped, 42);
	assert_int_equal(r.paths_dropped, 42 - COMPARE_PATHS - 1);
	compare_result_free(&r);
	buf_free(&a);
	buf_free(&b);
}

static void test_ignore_rule(void **state)
{
	static const char *const ignore[] = {"/results/*/updated_at", "/count"};
	struct compare_rules rules;
	struct compare_result r;

	(void)state;
	compare_rules_default(&rules);
	rules.ignore = ignore;
	rules.nignore = 2;
	r = check(&rules, "{\"count\":1,\"results\":[{\"id\":1,\"updated_at\":\"x\"}]}",
	          "{\"count\":2,\"results\":[{\"id\":1,\"updated_at\":\"y\"}]}", true, "[]");
	compare_result_free(&r);
	/* other paths still count */
	r = check(&rules, "{\"results\":[{\"id\":1,\"updated_at\":\"x\"}]}",
	          "{\"results\":[{\"id\":2,\"updated_at\":\"y\"}]}", false,
	          "[{\"op\":\"replace\",\"path\":\"/results/0/id\",\"value\":2}]");
	compare_result_free(&r);
}

static void test_set_rule(void **state)
{
	static const struct compare_set sets[] = {{"/items", "id"}};
	struct compare_rules rules;
	struct compare_result r;
	const char *a = "{\"items\":[{\"id\":\"a\",\"q\":1},{\"id\":\"b\",\"q\":2}]}";

	(void)state;
	compare_rules_default(&rules);
	rules.sets = sets;
	rules.nsets = 1;
	r = check(&rules, a, "{\"items\":[{\"id\":\"b\",\"q\":2},{\"id\":\"a\",\"q\":1}]}", true, "[]");
	compare_result_free(&r);
	r = check(&rules, a, "{\"items\":[{\"id\":\"b\",\"q\":3},{\"id\":\"a\",\"q\":1}]}", false,
	          "[{\"op\":\"replace\",\"path\":\"/items\",\"value\":[{\"id\":\"b\",\"q\":3},{\"id\":\"a\",\"q\":1}]}]");
	assert_patch_applies(a, "{\"items\":[{\"id\":\"b\",\"q\":3},{\"id\":\"a\",\"q\":1}]}", r.patch.p);
	compare_result_free(&r);
	/* without the rule, order matters */
	r = check(NULL, a, "{\"items\":[{\"id\":\"b\",\"q\":2},{\"id\":\"a\",\"q\":1}]}", false, NULL);
	compare_result_free(&r);
}

static void test_tolerance_and_datetimes(void **state)
{
	struct compare_rules rules;
	struct compare_result r;

	(void)state;
	compare_rules_default(&rules);
	rules.tolerance = 0.01;
	r = check(&rules, "{\"x\":1.0,\"s\":\"118.00\"}", "{\"x\":1.004,\"s\":\"118.004\"}", true, "[]");
	compare_result_free(&r);
	r = check(&rules, "{\"x\":1.0}", "{\"x\":1.02}", false, NULL);
	compare_result_free(&r);
	/* numbers equal as numbers without tolerance: 1.0 and 1 */
	r = check(NULL, "{\"x\":1.0}", "{\"x\":1}", true, "[]");
	compare_result_free(&r);
	r = check(NULL, "{\"t\":\"2026-11-21T17:30:39.794993Z\"}", "{\"t\":\"2026-11-21T17:30:39.794000Z\"}",
	          true, "[]");
	compare_result_free(&r);
	r = check(NULL, "{\"t\":\"2026-11-21T17:30:39.794993Z\"}", "{\"t\":\"2026-11-21T17:30:39.795000Z\"}",
	          false, NULL);
	compare_result_free(&r);
	compare_rules_default(&rules);
	rules.datetime_ms = false;
	r = check(&rules, "{\"t\":\"2026-11-21T17:30:39.794993Z\"}", "{\"t\":\"2026-11-21T17:30:39.794000Z\"}",
	          false, NULL);
	compare_result_free(&r);
}

static void test_status_and_invalid_bodies(void **state)
{
	struct compare_rules rules;
	struct compare_result r;

	(void)state;
	compare_rules_default(&rules);
	compare_responses(&rules, 200, "{}", 2, 404, "{}", 2, &r);
	assert_false(r.equal);
	assert_true(r.status_differs);
	assert_string_equal(r.patch.p, "[]");
	compare_result_free(&r);
	compare_responses(&rules, 500, "oops", 4, 200, "{\"a\":1}", 7, &r);
	assert_false(r.equal);
	assert_true(r.body_invalid);
	compare_result_free(&r);
	compare_responses(&rules, 204, "", 0, 204, "", 0, &r);
	assert_true(r.equal);
	compare_result_free(&r);
}

static void test_large_bodies(void **state)
{
	struct buf a = {0}, b = {0};
	struct compare_result r;
	int i;

	(void)state;
	buf_puts(&a, "{\"count\":5000,\"results\":[");
	buf_puts(&b, "{\"count\":5001,\"results\":[");
	for (i = 0; i < 5000; i++) {
		buf_printf(&a, "%s{\"id\":%d,\"name\":\"client %d\",\"total\":\"%d.00\",\"items\":[{\"p\":%d}]}",
		           i ? "," : "", i, i, i * 3, i);
		buf_printf(&b, "%s{\"id\":%d,\"name\":\"client %d\",\"total\":\"%d.00\",\"items\":[{\"p\":%d}]}",
		           i ? "," : "", i, i, i % 1000 == 7 ? i * 3 + 1 : i * 3, i);
	}
	buf_puts(&b, ",{\"id\":5000,\"name\":\"new\",\"total\":\"0.00\",\"items\":[]}");
	buf_puts(&a, "]}");
	buf_puts(&b, "]}");
	r = check(NULL, buf_cstr(&a), buf_cstr(&b), false, NULL);
	assert_int_equal(r.ndiffs, 1 + 5 + 1);      /* count, five totals, one added */
	compare_result_free(&r);
	buf_free(&a);
	buf_free(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_identical),
		cmocka_unit_test(test_each_kind_of_difference),
		cmocka_unit_test(test_field_paths_for_counters),
		cmocka_unit_test(test_paths_bounded_per_comparison),
		cmocka_unit_test(test_ignore_rule),
		cmocka_unit_test(test_set_rule),
		cmocka_unit_test(test_tolerance_and_datetimes),
		cmocka_unit_test(test_status_and_invalid_bodies),
		cmocka_unit_test(test_large_bodies),
	};
	int rc;

	arena_init(&A, 1 << 16);
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	arena_reset(&A);
	return rc;
}
