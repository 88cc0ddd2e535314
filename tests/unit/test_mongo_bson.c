/*
 * test_mongo_bson.c — the canonical types as BSON (design.md §5), without a
 * server: every decimal representation (Decimal128 included, which the
 * test server cannot store), dates, datetimes, ids, JSON, and the queries
 * built from client text, which must carry it only as values.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "json.h"
#include "mongo_bson.h"

static struct config *cfg;
static const struct resource *inv;
static struct arena A;

static int setup(void **state)
{
	struct config_problems pr = {0};

	(void)state;
	unsetenv("MONGODB_DECIMAL");
	cfg = config_load("etc/examples/hisabpro/cutover.json", &pr);
	if (!cfg) {
		fprintf(stderr, "%s", pr.text.p);
		return -1;
	}
	inv = cfg->resources[0];
	arena_init(&A, 4096);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	arena_reset(&A);
	config_free(cfg);
	return 0;
}

static struct field *field(const char *name)
{
	int i = resource_field(inv, name);

	assert_true(i >= 0);
	return &inv->fields[i];
}

/* Encode v as field f, check the element's type, read it back. */
static bson_type_t roundtrip(const struct field *f, const struct value *v, struct value *back)
{
	bson_t b = BSON_INITIALIZER;
	bson_iter_t it;
	bson_type_t t;

	mg_append_value(&b, "k", f, v);
	assert_true(bson_iter_init_find(&it, &b, "k"));
	t = bson_iter_type(&it);
	assert_int_equal(mg_read_value(&it, f, &A, back), 0);
	bson_destroy(&b);
	return t;
}

static struct value num(int64_t i)
{
	struct value v = {.null = false};

	v.u.i = i;
	return v;
}

/* The element under "k" of a document built from JSON (relaxed ext. JSON). */
static int read_json_elem(const struct field *f, const char *json, struct value *out)
{
	bson_t b;
	bson_iter_t it;
	int rc;

	assert_true(bson_init_from_json(&b, json, -1, NULL));
	assert_true(bson_iter_init_find(&it, &b, "k"));
	rc = mg_read_value(&it, f, &A, out);
	bson_destroy(&b);
	return rc;
}

static void test_decimal128(void **state)
{
	struct field *f = field("subtotal");
	const int64_t cases[] = {11850, -50, 0, 999999999999, -999999999999, 1};
	const char *const text[] = {"118.50", "-0.50", "0.00", "9999999999.99", "-9999999999.99", "0.01"};
	size_t i;

	(void)state;
	assert_int_equal(f->mongo_decimal, MD_DECIMAL128);       /* the default */
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct value v = num(cases[i]), back;
		bson_t b = BSON_INITIALIZER;
		bson_iter_t it;
		bson_decimal128_t d;
		char s[BSON_DECIMAL128_STRING];

		mg_append_value(&b, "k", f, &v);
		assert_true(bson_iter_init_find(&it, &b, "k"));
		assert_int_equal(bson_iter_type(&it), BSON_TYPE_DECIMAL128);
		assert_true(bson_iter_decimal128(&it, &d));
		bson_decimal128_to_string(&d, s);
		assert_string_equal(s, text[i]);                /* the scale is kept */
		bson_destroy(&b);
		assert_int_equal(roundtrip(f, &v, &back), BSON_TYPE_DECIMAL128);
		assert_false(back.null);
		assert_int_equal(back.u.i, cases[i]);
	}
}

static void test_decimal_other_forms(void **state)
{
	struct field *f = field("total_amount");
	struct value v = num(-11850), back;

	(void)state;
	f->mongo_decimal = MD_STRING;
	assert_int_equal(roundtrip(f, &v, &back), BSON_TYPE_UTF8);
	assert_int_equal(back.u.i, -11850);
	f->mongo_decimal = MD_INT64;
	assert_int_equal(roundtrip(f, &v, &back), BSON_TYPE_INT64);
	assert_int_equal(back.u.i, -11850);
	/* int64 minor units: an int32 is units too */
	assert_int_equal(read_json_elem(f, "{\"k\": 250}", &back), 0);
	assert_int_equal(back.u.i, 250);
	/* other forms: what another writer may have left, read exactly or
	 * rounded half-even to the field's places */
	f->mongo_decimal = MD_DECIMAL128;
	assert_int_equal(read_json_elem(f, "{\"k\": 118}", &back), 0);
	assert_int_equal(back.u.i, 11800);
	assert_int_equal(read_json_elem(f, "{\"k\": 118.5}", &back), 0);
	assert_int_equal(back.u.i, 11850);
	assert_int_equal(read_json_elem(f, "{\"k\": \"118.505\"}", &back), 0);
	assert_int_equal(back.u.i, 11850);
	assert_int_equal(read_json_elem(f, "{\"k\": {\"$numberDecimal\": \"1.185E+2\"}}", &back), 0);
	assert_int_equal(back.u.i, 11850);
	assert_int_equal(read_json_elem(f, "{\"k\": \"lots\"}", &back), -1);
	assert_int_equal(read_json_elem(f, "{\"k\": true}", &back), -1);
	assert_int_equal(read_json_elem(f, "{\"k\": null}", &back), 0);
	assert_true(back.null);
}

static void test_dates_and_times(void **state)
{
	struct field *d = field("issue_date"), *t = field("created_at");
	struct value v, back;
	bson_t b = BSON_INITIALIZER;
	bson_iter_t it;

	(void)state;
	v = num(20393);                                 /* 2025-11-01 */
	assert_int_equal(roundtrip(d, &v, &back), BSON_TYPE_DATE_TIME);
	assert_int_equal(back.u.i, 20393);
	mg_append_value(&b, "k", d, &v);
	assert_true(bson_iter_init_find(&it, &b, "k"));
	assert_int_equal(bson_iter_date_time(&it), 20393LL * 86400000);       /* 00:00 UTC */
	bson_destroy(&b);
	v = num(-3653);                                 /* 1960-01-01 */
	roundtrip(d, &v, &back);
	assert_int_equal(back.u.i, -3653);
	/* datetimes keep milliseconds, floored, also before the epoch */
	v = num(1700000000123456);
	assert_int_equal(roundtrip(t, &v, &back), BSON_TYPE_DATE_TIME);
	assert_int_equal(back.u.i, 1700000000123000);
	v = num(-1);
	roundtrip(t, &v, &back);
	assert_int_equal(back.u.i, -1000);
	/* text another writer left is read if it is a valid date */
	assert_int_equal(read_json_elem(d, "{\"k\": \"2025-11-01\"}", &back), 0);
	assert_int_equal(back.u.i, 20393);
	assert_int_equal(read_json_elem(d, "{\"k\": 5}", &back), -1);
}

static void test_ids_integers_booleans(void **state)
{
	struct field *id = &inv->fields[inv->pk];
	const struct resource *it = inv->children[0];
	struct value v = {.null = false}, back;
	unsigned char u[16];
	bson_t b = BSON_INITIALIZER;
	bson_iter_t i;
	char s[UUID_STR_LEN + 1];
	uint32_t len;

	(void)state;
	assert_int_equal(uuid_parse("f9703cfe-1689-443c-8a5b-6f1e0a9b2c3d", 36, u), 0);
	memcpy(v.u.uuid, u, 16);
	mg_append_value(&b, "k", id, &v);
	assert_true(bson_iter_init_find(&i, &b, "k"));
	assert_int_equal(bson_iter_type(&i), BSON_TYPE_UTF8);
	uuid_format(u, s);
	assert_string_equal(bson_iter_utf8(&i, &len), s);
	assert_int_equal(len, 36);
	bson_destroy(&b);
	assert_int_equal(read_json_elem(id, "{\"k\": {\"$binary\": {\"base64\": \"+XA8/haJRDyKW28eCpssPQ==\", "
	                                    "\"subType\": \"04\"}}}", &back), 0);
	assert_memory_equal(back.u.uuid, u, 16);
	assert_int_equal(read_json_elem(id, "{\"k\": \"not-a-uuid\"}", &back), -1);

	{
		const struct field *p = &it->fields[resource_field(it, "position")];
		struct value small = num(7), big = num(1LL << 40);

		assert_int_equal(roundtrip(p, &small, &back), BSON_TYPE_INT32);
		assert_int_equal(back.u.i, 7);
		assert_int_equal(roundtrip(p, &big, &back), BSON_TYPE_INT64);
		assert_int_equal(back.u.i, 1LL << 40);
		assert_int_equal(read_json_elem(p, "{\"k\": 3.0}", &back), 0);
		assert_int_equal(back.u.i, 3);
		assert_int_equal(read_json_elem(p, "{\"k\": 3.5}", &back), -1);
	}
	{
		struct field fb = {.name = "b", .column = "b", .type = CT_BOOLEAN};
		struct value t = num(1);

		assert_int_equal(roundtrip(&fb, &t, &back), BSON_TYPE_BOOL);
		assert_int_equal(back.u.i, 1);
	}
}

/* A json value as validation leaves it (json_write of the request, which
 * is also what the SQL stores give back): its element type, and whether it
 * reads back as that text. */
static bson_type_t json_roundtrip(const char *text, struct value *back, const char **sql)
{
	struct field f = {.name = "j", .column = "j", .type = CT_JSON};
	struct value v = {.null = false};
	struct buf b = {0};
	struct json *j;
	char msg[64];

	assert_non_null(j = json_parse(&A, text, strlen(text), msg, sizeof(msg), NULL));
	assert_null(json_store_check(&A, j));
	json_write(&b, j);
	v.u.s.p = *sql = arena_strndup(&A, b.p, b.len);
	v.u.s.n = b.len;
	buf_free(&b);
	return roundtrip(&f, &v, back);
}

/* Every value validation lets through comes back as the same text the SQL
 * stores give back (json_write of the request), byte for byte. */
static void test_json_values(void **state)
{
	static const struct { const char *text; bson_type_t type; } cases[] = {
		{"{\"a\":[1,2.5,\"x\"],\"b\":{\"c\":null}}", BSON_TYPE_DOCUMENT},
		{"[1,true,\"$gt\"]", BSON_TYPE_ARRAY},
		{"\"s\"", BSON_TYPE_UTF8},
		{"\"a\\u0000b\"", BSON_TYPE_UTF8},                  /* a NUL inside a string */
		{"{\"k\":\"\\u0000\",\"\\u00e9\\u20ac\":\"\\ud83d\\ude00\"}", BSON_TYPE_DOCUMENT},
		{"9223372036854775807", BSON_TYPE_INT64},
		{"-9223372036854775808", BSON_TYPE_INT64},
		{"2147483647", BSON_TYPE_INT32},
		{"-2147483649", BSON_TYPE_INT64},
		{"0", BSON_TYPE_INT32},
		{"0.1", BSON_TYPE_DOUBLE},                          /* libbson would say 0.10000000000000000555 */
		{"1.0", BSON_TYPE_DOUBLE},
		{"0.0", BSON_TYPE_DOUBLE},
		{"1e+300", BSON_TYPE_DOUBLE},
		{"-1.5e-05", BSON_TYPE_DOUBLE},
		{"5e-324", BSON_TYPE_DOUBLE},
		{"1.7976931348623157e+308", BSON_TYPE_DOUBLE},
		{"1e+16", BSON_TYPE_DOUBLE},
		{"1000000000000000.0", BSON_TYPE_DOUBLE},
		{"0.0001", BSON_TYPE_DOUBLE},
		{"[[1,[2,[]]],{}]", BSON_TYPE_ARRAY},
		{"{\"b\":1,\"a\":{\"z\":[{\"y\":false}]},\"x$\":\"a\\\"\\\\\\n\\u2028\"}", BSON_TYPE_DOCUMENT},
		{"null", BSON_TYPE_NULL},
	};
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_LEN(cases); i++) {
		struct value back;
		const char *sql;
		bson_type_t t = json_roundtrip(cases[i].text, &back, &sql);

		if (t != cases[i].type)
			fail_msg("%s stored as BSON type %d", cases[i].text, (int)t);
		if (cases[i].type == BSON_TYPE_NULL)
			continue;
		if (back.u.s.n != strlen(sql) || memcmp(back.u.s.p, sql, back.u.s.n) != 0)
			fail_msg("%s read back as %.*s", sql, (int)back.u.s.n, back.u.s.p);
	}
}

/* What BSON cannot hold unchanged is not stored as something else: the
 * append says so and leaves a null, never 0 or a truncated key. */
static void test_json_refused(void **state)
{
	static const char *const texts[] = {
		"{\"k\":12345678901234567891}", "{\"k\":18446744073709551616}", "9223372036854775808",
		"-9223372036854775809", "{\"a\\u0000b\":1}", "{\"\":1}", "{\"$numberLong\":\"5\"}",
		"{\"a.b\":1}", "{\"a\":1,\"a\":2}", "1e400", "-0.0", "[1,{\"x\":[2,{\"y\":-1e400}]}]",
	};
	struct field f = {.name = "j", .column = "j", .type = CT_JSON};
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_LEN(texts); i++) {
		struct value v = {.null = false};
		bson_t b = BSON_INITIALIZER;
		bson_iter_t it;

		v.u.s.p = texts[i];
		v.u.s.n = strlen(texts[i]);
		if (mg_append_value(&b, "k", &f, &v) != -1)
			fail_msg("%s was appended", texts[i]);
		assert_true(bson_iter_init_find(&it, &b, "k"));
		assert_int_equal(bson_iter_type(&it), BSON_TYPE_NULL);
		assert_false(bson_iter_next(&it));
		bson_destroy(&b);
	}
}

/* Elements another writer left: doubles spelled as ours are, the rest as
 * relaxed extended JSON. */
static void test_json_foreign(void **state)
{
	struct field f = {.name = "j", .column = "j", .type = CT_JSON};
	bson_t b = BSON_INITIALIZER, doc;
	bson_iter_t it;
	struct value back;

	(void)state;
	assert_int_equal(read_json_elem(&f, "{\"k\": {\"x\": 0.1, \"y\": 3.0, \"z\": 1e300}}", &back), 0);
	assert_string_equal(back.u.s.p, "{\"x\":0.1,\"y\":3.0,\"z\":1e+300}");
	assert_int_equal(read_json_elem(&f, "{\"k\": {\"$numberDecimal\": \"1.50\"}}", &back), 0);
	assert_string_equal(back.u.s.p, "{\"$numberDecimal\":\"1.50\"}");
	bson_append_document_begin(&b, "k", 1, &doc);
	bson_append_double(&doc, "inf", 3, 1.0 / 0.0);
	bson_append_document_end(&b, &doc);
	assert_true(bson_iter_init_find(&it, &b, "k"));
	assert_int_equal(mg_read_value(&it, &f, &A, &back), 0);
	assert_string_equal(back.u.s.p, "{\"inf\":{\"$numberDouble\":\"Infinity\"}}");
	bson_destroy(&b);
}

/* A document with a value it cannot hold is refused whole, with a reason. */
static void test_json_record_refused(void **state)
{
	static const char text[] =
		"{\"database_url\": \"sqlite://x.db\", \"jwt\": {\"secret\": \"0123456789abcdef\"},\n"
		" \"resources\": [{\"name\": \"docs\", \"path\": \"/api/docs/\", \"table\": \"docs\",\n"
		"  \"collection\": \"docs\", \"owner_column\": \"user_id\", \"fields\": [\n"
		"   {\"name\": \"id\", \"type\": \"uuid\", \"primary_key\": true, \"auto\": \"uuid4\"},\n"
		"   {\"name\": \"body\", \"type\": \"json\", \"null\": true, \"default\": null}]}]}";
	struct config_problems pr = {0};
	struct config *c = config_load_text("docs.json", text, strlen(text), &pr);
	const struct resource *r;
	struct record *rec;
	struct store_error err;
	bson_t doc;

	(void)state;
	if (!c)
		fail_msg("%s", pr.text.p);
	r = c->resources[0];
	rec = record_new(&A, r);
	rec->vals[r->pk].null = false;
	rec->vals[1].null = false;
	rec->vals[1].u.s.p = "{\"n\":18446744073709551616}";
	rec->vals[1].u.s.n = strlen(rec->vals[1].u.s.p);
	assert_int_equal(mg_record_to_doc(r, 7, rec, &doc, &err), -1);
	bson_destroy(&doc);
	assert_int_equal(err.code, STORE_INVALID);
	assert_non_null(strstr(err.msg, "body"));
	assert_non_null(strstr(err.msg, "18446744073709551616 is outside the range"));
	assert_int_equal(mg_record_to_update(r, rec, &doc, &err), -1);
	bson_destroy(&doc);
	rec->vals[1].u.s.p = "{\"n\":[1.5,\"\\u0000\"]}";
	rec->vals[1].u.s.n = strlen(rec->vals[1].u.s.p);
	assert_int_equal(mg_record_to_doc(r, 7, rec, &doc, &err), 0);
	bson_destroy(&doc);
	config_free(c);
	config_problems_free(&pr);
}

/* Every key of a document that starts with '$' must be one the adapter
 * writes itself. */
static void check_operators(const bson_t *b, const char *const *allowed)
{
	bson_iter_t it;

	assert_true(bson_iter_init(&it, b));
	while (bson_iter_next(&it)) {
		const char *k = bson_iter_key(&it);
		size_t i;

		if (k[0] == '$') {
			for (i = 0; allowed[i] && strcmp(allowed[i], k) != 0; i++)
				;
			if (!allowed[i])
				fail_msg("operator %s built from client text", k);
		}
		if (BSON_ITER_HOLDS_DOCUMENT(&it) || BSON_ITER_HOLDS_ARRAY(&it)) {
			const uint8_t *data;
			uint32_t len;
			bson_t child;

			if (BSON_ITER_HOLDS_DOCUMENT(&it))
				bson_iter_document(&it, &len, &data);
			else
				bson_iter_array(&it, &len, &data);
			assert_true(bson_init_static(&child, data, len));
			check_operators(&child, allowed);
		}
	}
}

static void test_regex_escape(void **state)
{
	static const struct { const char *in, *out; } cases[] = {
		{"abc", "abc"},
		{"a.b*", "a\\.b\\*"},
		{"^(x|y)+?$", "\\^\\(x\\|y\\)\\+\\?\\$"},
		{"[a]{2}\\d", "\\[a\\]\\{2\\}\\\\d"},
		{"100%_", "100%_"},
	};
	struct buf b = {0};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		b.len = 0;
		mg_regex_escape(cases[i].in, strlen(cases[i].in), &b);
		assert_string_equal(buf_cstr(&b), cases[i].out);
	}
	b.len = 0;
	mg_regex_escape("a\0b", 3, &b);
	assert_string_equal(buf_cstr(&b), "a\\x00b");
	buf_free(&b);
}

static void test_filters_carry_text_as_values(void **state)
{
	static const char *const allowed[] = {"$and", "$or", "$regex", "$options", NULL};
	const char *terms[] = {"$where", "{\"$gt\": \"\"}", "a.b"};
	int status = resource_field(inv, "status");
	struct cond c = {.field = status, .val = {.null = false}};
	int search[] = {resource_field(inv, "invoice_number"), resource_field(inv, "client_name")};
	struct order_term order[] = {{resource_field(inv, "total_amount"), true}};
	struct query q = {.res = inv, .owner = 7, .conds = &c, .nconds = 1, .terms = terms, .nterms = 3,
	                  .search_fields = search, .nsearch = 2, .order = order, .norder = 1,
	                  .offset = 40, .limit = 20};
	bson_t filter, opts;
	bson_iter_t it;
	char *json;

	(void)state;
	c.val.u.s.p = "$ne";
	c.val.u.s.n = 3;
	mg_query_filter(&q, &filter);
	check_operators(&filter, allowed);
	assert_true(bson_iter_init_find(&it, &filter, "status"));
	assert_int_equal(bson_iter_type(&it), BSON_TYPE_UTF8);              /* a value, not an operator */
	json = bson_as_relaxed_extended_json(&filter, NULL);
	assert_non_null(strstr(json, "\"$regex\" : \"\\\\$where\""));
	assert_non_null(strstr(json, "\"$regex\" : \"a\\\\.b\""));
	assert_non_null(strstr(json, "\"user_id\" : 7"));
	bson_free(json);
	bson_destroy(&filter);
	mg_query_opts(&q, &opts);
	json = bson_as_relaxed_extended_json(&opts, NULL);
	assert_string_equal(json, "{ \"sort\" : { \"total_amount\" : -1, \"_id\" : 1 }, \"skip\" : 40, \"limit\" : 20 }");
	bson_free(json);
	bson_destroy(&opts);
}

static void test_document_shape(void **state)
{
	struct record *rec = record_new(&A, inv);
	const struct resource *it = inv->children[0];
	bson_t doc, update;
	bson_iter_t i;
	char *json;
	size_t k, n = 0;
	const char *keys[32];

	(void)state;
	for (k = 0; k < inv->nfields; k++)
		rec->vals[k].null = inv->fields[k].type != CT_STRING && inv->fields[k].type != CT_TEXT;
	for (k = 0; k < inv->nfields; k++)
		if (!rec->vals[k].null) {
			rec->vals[k].u.s.p = "";
			rec->vals[k].u.s.n = 0;
		}
	rec->vals[inv->pk].null = false;
	rec->children[0].given = true;
	rec->children[0].n = 1;
	rec->children[0].rows = record_new(&A, it);
	assert_int_equal(mg_record_to_doc(inv, 42, rec, &doc, NULL), 0);
	assert_true(bson_iter_init(&i, &doc));
	while (bson_iter_next(&i) && n < 32)
		keys[n++] = bson_iter_key(&i);
	assert_string_equal(keys[0], "_id");
	assert_string_equal(keys[n - 1], "user_id");
	for (k = 0; k < n && strcmp(keys[k], "notes") != 0; k++)
		;
	assert_string_equal(keys[k + 1], "items");                     /* as the API shows it */
	assert_true(bson_iter_init_find(&i, &doc, "items"));
	assert_true(BSON_ITER_HOLDS_ARRAY(&i));
	bson_destroy(&doc);
	/* an update without items leaves them alone; the id is never set */
	rec->children[0].given = false;
	assert_int_equal(mg_record_to_update(inv, rec, &update, NULL), 0);
	json = bson_as_relaxed_extended_json(&update, NULL);
	assert_null(strstr(json, "items"));
	assert_null(strstr(json, "_id"));
	assert_null(strstr(json, "user_id"));
	assert_non_null(strstr(json, "{ \"$set\" : { \"invoice_number\""));
	bson_free(json);
	bson_destroy(&update);
}

static void test_group_rows(void **state)
{
	int status = resource_field(inv, "status"), total = resource_field(inv, "total_amount");
	struct query q = {.res = inv, .owner = 1};
	bson_t counts[2], sums[2], pipeline;
	struct agg_row *rows;
	struct store_error err;
	size_t n;
	char *json;

	(void)state;
	inv->fields[total].mongo_decimal = MD_INT64;
	assert_true(bson_init_from_json(&counts[0], "{\"_id\": \"draft\", \"n\": 2}", -1, NULL));
	assert_true(bson_init_from_json(&counts[1], "{\"_id\": \"paid\", \"n\": 1}", -1, NULL));
	/* sums from a separate run, in another order */
	assert_true(bson_init_from_json(&sums[0], "{\"_id\": \"paid\", \"s\": {\"$numberLong\": \"500\"}}", -1, NULL));
	assert_true(bson_init_from_json(&sums[1], "{\"_id\": \"draft\", \"s\": 11850}", -1, NULL));
	assert_int_equal(mg_group_rows(inv, status, total, counts, 2, sums, 2, &A, &rows, &n, &err), 0);
	assert_int_equal(n, 2);
	assert_memory_equal(rows[0].group.u.s.p, "draft", 5);
	assert_int_equal(rows[0].count, 2);
	assert_int_equal(rows[0].sum, 11850);
	assert_int_equal(rows[1].count, 1);
	assert_int_equal(rows[1].sum, 500);
	/* an int64 sum that overflowed into a double is an error, not a guess */
	bson_destroy(&sums[1]);
	assert_true(bson_init_from_json(&sums[1], "{\"_id\": \"draft\", \"s\": 1.5e19}", -1, NULL));
	assert_int_equal(mg_group_rows(inv, status, total, counts, 2, sums, 2, &A, &rows, &n, &err), -1);
	assert_int_equal(err.code, STORE_INVALID);
	for (n = 0; n < 2; n++) {
		bson_destroy(&counts[n]);
		bson_destroy(&sums[n]);
	}
	mg_group_pipeline(&q, status, total, MG_GROUP_BOTH, &pipeline);
	json = bson_as_relaxed_extended_json(&pipeline, NULL);
	assert_string_equal(json, "{ \"0\" : { \"$match\" : { \"user_id\" : 1 } }, \"1\" : { \"$group\" : "
	                          "{ \"_id\" : \"$status\", \"n\" : { \"$sum\" : 1 }, \"s\" : { \"$sum\" : "
	                          "\"$total_amount\" } } }, \"2\" : { \"$sort\" : { \"_id\" : 1 } } }");
	bson_free(json);
	bson_destroy(&pipeline);
	inv->fields[total].mongo_decimal = MD_DECIMAL128;
}

static void test_indexes(void **state)
{
	const struct resource *pay = cfg->resources[1];
	const char *existing[] = {"_id_", "user_id"};
	bson_t cmd;
	char *json;
	size_t n;

	(void)state;
	n = mg_index_command(cfg, inv, NULL, 0, &cmd);
	json = bson_as_relaxed_extended_json(&cmd, NULL);
	assert_non_null(strstr(json, "{ \"key\" : { \"user_id\" : 1, \"invoice_number\" : 1 }, "
	                             "\"name\" : \"unique_user_id_invoice_number\", \"unique\" : true }"));
	assert_non_null(strstr(json, "\"name\" : \"user_id_status\""));
	assert_non_null(strstr(json, "\"name\" : \"user_id_created_at\""));
	/* owner + invoice_number is already the unique index: not twice */
	assert_null(strstr(json, "\"name\" : \"user_id_invoice_number\""));
	assert_int_equal(n, 8);
	bson_free(json);
	bson_destroy(&cmd);
	/* existing indexes are left out */
	assert_int_equal(mg_index_command(cfg, inv, existing, 2, &cmd), 7);
	bson_destroy(&cmd);
	/* payments are deleted by invoice_id alone when an invoice goes */
	mg_index_command(cfg, pay, NULL, 0, &cmd);
	json = bson_as_relaxed_extended_json(&cmd, NULL);
	assert_non_null(strstr(json, "{ \"key\" : { \"invoice_id\" : 1 }, \"name\" : \"invoice_id\" }"));
	bson_free(json);
	bson_destroy(&cmd);
}

static void test_decimal128_needed(void **state)
{
	char name[64];
	size_t i;

	(void)state;
	assert_true(mg_config_needs_decimal128(cfg, name, sizeof(name)));
	assert_string_equal(name, "invoices.subtotal");
	for (i = 0; i < cfg->nresources; i++) {
		struct resource *r = cfg->resources[i];
		size_t k, c;

		for (k = 0; k < r->nfields; k++)
			r->fields[k].mongo_decimal = MD_INT64;
		for (c = 0; c < r->nchildren; c++)
			for (k = 0; k < r->children[c]->nfields; k++)
				r->children[c]->fields[k].mongo_decimal = MD_INT64;
	}
	assert_false(mg_config_needs_decimal128(cfg, name, sizeof(name)));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_decimal128),
		cmocka_unit_test(test_decimal_other_forms),
		cmocka_unit_test(test_dates_and_times),
		cmocka_unit_test(test_ids_integers_booleans),
		cmocka_unit_test(test_json_values),
		cmocka_unit_test(test_json_refused),
		cmocka_unit_test(test_json_foreign),
		cmocka_unit_test(test_json_record_refused),
		cmocka_unit_test(test_regex_escape),
		cmocka_unit_test(test_filters_carry_text_as_values),
		cmocka_unit_test(test_document_shape),
		cmocka_unit_test(test_group_rows),
		cmocka_unit_test(test_indexes),
		cmocka_unit_test(test_decimal128_needed),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
