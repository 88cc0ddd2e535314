/*
 * mongo_bson.c — canonical records and queries as BSON (see mongo_bson.h).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "mongo_bson.h"

#define MS_PER_DAY 86400000LL

const char *mg_key(const struct resource *r, size_t i)
{
	return (int)i == r->pk && !r->parent ? "_id" : r->fields[i].column;
}

static int64_t pow10i(int places)
{
	int64_t p = 1;

	while (places-- > 0)
		p *= 10;
	return p;
}

static void append_int(bson_t *b, const char *key, int64_t i)
{
	if (i >= INT32_MIN && i <= INT32_MAX)
		bson_append_int32(b, key, -1, (int32_t)i);
	else
		bson_append_int64(b, key, -1, i);
}

/* A checked JSON tree as BSON: integers as int32 or int64, every other
 * number a double, strings with any NUL they hold, keys in their order. */
static void append_tree(bson_t *b, const char *key, const struct json *j)
{
	bson_t child;
	char idx[16];
	const char *k;
	size_t i;

	switch (j->type) {
	case JSON_NULL:
		bson_append_null(b, key, -1);
		break;
	case JSON_BOOL:
		bson_append_bool(b, key, -1, j->u.b);
		break;
	case JSON_NUMBER:
		if (json_number_is_int(j))
			append_int(b, key, strtoll(j->u.s.p, NULL, 10));
		else
			bson_append_double(b, key, -1, strtod(j->u.s.p, NULL));
		break;
	case JSON_STRING:
		bson_append_utf8(b, key, -1, j->u.s.p, (int)j->u.s.n);
		break;
	case JSON_ARRAY:
		bson_append_array_begin(b, key, -1, &child);
		for (i = 0; i < j->u.a.n; i++) {
			bson_uint32_to_string((uint32_t)i, &k, idx, sizeof(idx));
			append_tree(&child, k, j->u.a.v[i]);
		}
		bson_append_array_end(b, &child);
		break;
	case JSON_OBJECT:
		bson_append_document_begin(b, key, -1, &child);
		for (i = 0; i < j->u.o.n; i++)
			append_tree(&child, j->u.o.m[i].key, j->u.o.m[i].val);
		bson_append_document_end(b, &child);
		break;
	}
}

/* The JSON text as BSON.  Validation refuses what BSON cannot hold, but a
 * row copied from the legacy store was never validated: such a value is
 * -1 with the reason in err (when given) and null in its place, so the
 * write fails rather than store something else. */
static int append_json(bson_t *b, const char *key, const char *text, size_t n, struct store_error *err)
{
	struct arena a;
	struct json *j;
	const char *why = "not valid JSON";
	char msg[64];
	int rc = -1;

	arena_init(&a, 4096);
	if ((j = json_parse(&a, text, n, msg, sizeof(msg), NULL)) && !(why = json_store_check(&a, j))) {
		append_tree(b, key, j);
		rc = 0;
	} else {
		bson_append_null(b, key, -1);
		if (err)
			store_error_set(err, STORE_INVALID, "mongodb: %s cannot be stored unchanged: %s", key, why);
	}
	arena_reset(&a);
	return rc;
}

static int append_value(bson_t *b, const char *key, const struct field *f, const struct value *v,
                        struct store_error *err)
{
	char tmp[48];
	size_t n;

	if (v->null) {
		bson_append_null(b, key, -1);
		return 0;
	}
	switch (f->type) {
	case CT_UUID:
		uuid_format(v->u.uuid, tmp);
		bson_append_utf8(b, key, -1, tmp, UUID_STR_LEN);
		break;
	case CT_STRING:
	case CT_TEXT:
		bson_append_utf8(b, key, -1, v->u.s.p, (int)v->u.s.n);
		break;
	case CT_INTEGER:
		append_int(b, key, v->u.i);
		break;
	case CT_BOOLEAN:
		bson_append_bool(b, key, -1, v->u.i != 0);
		break;
	case CT_DECIMAL:
		if (f->mongo_decimal == MD_INT64) {
			bson_append_int64(b, key, -1, v->u.i);
			break;
		}
		n = decimal_format(v->u.i, f->places, tmp);
		if (f->mongo_decimal == MD_STRING) {
			bson_append_utf8(b, key, -1, tmp, (int)n);
		} else {
			bson_decimal128_t d;

			/* "118.00" keeps its scale: coefficient 11800, exponent -2. */
			bson_decimal128_from_string(tmp, &d);
			bson_append_decimal128(b, key, -1, &d);
		}
		break;
	case CT_DATE:
		bson_append_date_time(b, key, -1, v->u.i * MS_PER_DAY);
		break;
	case CT_DATETIME:
		/* Floor to the millisecond, also before the epoch. */
		bson_append_date_time(b, key, -1, (v->u.i - (((v->u.i % 1000) + 1000) % 1000)) / 1000);
		break;
	case CT_JSON:
		return append_json(b, key, v->u.s.p, v->u.s.n, err);
	}
	return 0;
}

int mg_append_value(bson_t *b, const char *key, const struct field *f, const struct value *v)
{
	return append_value(b, key, f, v, NULL);
}

static int64_t floor_div(int64_t a, int64_t b)
{
	int64_t q = a / b;

	return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

static int read_decimal(const bson_iter_t *it, const struct field *f, int64_t *units)
{
	char text[BSON_DECIMAL128_STRING];
	const char *s;
	uint32_t len;
	int64_t i;
	double d;

	switch (bson_iter_type(it)) {
	case BSON_TYPE_DECIMAL128: {
		bson_decimal128_t dec;

		bson_iter_decimal128(it, &dec);
		bson_decimal128_to_string(&dec, text);
		return decimal_from_text_round(text, strlen(text), f->places, units);
	}
	case BSON_TYPE_UTF8:
		s = bson_iter_utf8(it, &len);
		return decimal_from_text_round(s, len, f->places, units);
	case BSON_TYPE_INT32:
	case BSON_TYPE_INT64:
		i = bson_iter_as_int64(it);
		/* Minor units where the field keeps them so; otherwise whole
		 * numbers written by someone else. */
		if (f->mongo_decimal == MD_INT64) {
			*units = i;
			return 0;
		}
		snprintf(text, sizeof(text), "%lld", (long long)i);
		return decimal_from_text_round(text, strlen(text), f->places, units);
	case BSON_TYPE_DOUBLE:
		d = bson_iter_double(it);
		if (!isfinite(d))
			return -1;
		snprintf(text, sizeof(text), "%.17g", f->mongo_decimal == MD_INT64 ? d / pow10i(f->places) : d);
		return decimal_from_text_round(text, strlen(text), f->places, units);
	default:
		return -1;
	}
}

/* An element no JSON writer of ours stores (an ObjectId, a date, a
 * Decimal128, an infinite double …), as relaxed extended JSON compacted. */
static int put_foreign(struct buf *b, const bson_iter_t *it)
{
	bson_t wrapped = BSON_INITIALIZER;
	struct arena a;
	struct json *j;
	char msg[64];
	size_t n;
	char *text;
	int rc = -1;

	bson_append_iter(&wrapped, "v", 1, it);
	text = bson_as_relaxed_extended_json(&wrapped, &n);
	bson_destroy(&wrapped);
	arena_init(&a, 1024);
	if (text && (j = json_parse(&a, text, n, msg, sizeof(msg), NULL)) && (j = json_get(j, "v"))) {
		json_write(b, j);
		rc = 0;
	}
	arena_reset(&a);
	bson_free(text);
	return rc;
}

/* An element as JSON text, spelled as the SQL stores give back what was
 * validated: integers in decimal, doubles as json_put_double writes them
 * (never libbson's "%.20g", which turns 0.1 into 0.10000000000000000555),
 * strings and keys escaped by json_put_str, keys in stored order. */
static int put_json(struct buf *b, const bson_iter_t *it)
{
	bson_iter_t kid;
	const char *s;
	uint32_t len;
	bool first = true, doc;

	switch (bson_iter_type(it)) {
	case BSON_TYPE_NULL:
		buf_puts(b, "null");
		return 0;
	case BSON_TYPE_BOOL:
		buf_puts(b, bson_iter_bool(it) ? "true" : "false");
		return 0;
	case BSON_TYPE_INT32:
	case BSON_TYPE_INT64:
		buf_put_int(b, bson_iter_as_int64(it));
		return 0;
	case BSON_TYPE_DOUBLE:
		return json_put_double(b, bson_iter_double(it)) ? 0 : put_foreign(b, it);
	case BSON_TYPE_UTF8:
		s = bson_iter_utf8(it, &len);
		json_put_str(b, s, len);
		return 0;
	case BSON_TYPE_DOCUMENT:
	case BSON_TYPE_ARRAY:
		doc = BSON_ITER_HOLDS_DOCUMENT(it);
		if (!bson_iter_recurse(it, &kid))
			return -1;
		buf_putc(b, doc ? '{' : '[');
		while (bson_iter_next(&kid)) {
			if (!first)
				buf_putc(b, ',');
			first = false;
			if (doc) {
				json_put_str(b, bson_iter_key(&kid), bson_iter_key_len(&kid));
				buf_putc(b, ':');
			}
			if (put_json(b, &kid) < 0)
				return -1;
		}
		buf_putc(b, doc ? '}' : ']');
		return 0;
	default:
		return put_foreign(b, it);
	}
}

static int read_json(const bson_iter_t *it, struct arena *a, struct value *out)
{
	struct buf b = {0};
	int rc = put_json(&b, it);

	if (rc == 0) {
		out->u.s.p = arena_strndup(a, b.p ? b.p : "", b.len);
		out->u.s.n = b.len;
	}
	buf_free(&b);
	return rc;
}

int mg_read_value(const bson_iter_t *it, const struct field *f, struct arena *a, struct value *out)
{
	bson_type_t t = bson_iter_type(it);
	const char *s;
	uint32_t len;

	memset(out, 0, sizeof(*out));
	if (t == BSON_TYPE_NULL || t == BSON_TYPE_UNDEFINED) {
		out->null = true;
		return 0;
	}
	switch (f->type) {
	case CT_UUID:
		if (t == BSON_TYPE_UTF8) {
			s = bson_iter_utf8(it, &len);
			return uuid_parse(s, len, out->u.uuid);
		}
		if (t == BSON_TYPE_BINARY) {
			bson_subtype_t sub;
			const uint8_t *bin;

			bson_iter_binary(it, &sub, &len, &bin);
			if ((sub != BSON_SUBTYPE_UUID && sub != BSON_SUBTYPE_UUID_DEPRECATED) || len != 16)
				return -1;
			memcpy(out->u.uuid, bin, 16);
			return 0;
		}
		return -1;
	case CT_STRING:
	case CT_TEXT:
		if (t != BSON_TYPE_UTF8)
			return -1;
		s = bson_iter_utf8(it, &len);
		out->u.s.p = arena_strndup(a, s, len);
		out->u.s.n = len;
		return 0;
	case CT_INTEGER:
		if (t == BSON_TYPE_INT32 || t == BSON_TYPE_INT64) {
			out->u.i = bson_iter_as_int64(it);
			return 0;
		}
		if (t == BSON_TYPE_DOUBLE) {
			double d = bson_iter_double(it);

			if (d != floor(d) || fabs(d) > 9007199254740992.0)
				return -1;
			out->u.i = (int64_t)d;
			return 0;
		}
		return -1;
	case CT_BOOLEAN:
		if (t == BSON_TYPE_BOOL) {
			out->u.i = bson_iter_bool(it);
			return 0;
		}
		if (t == BSON_TYPE_INT32 || t == BSON_TYPE_INT64) {
			int64_t i = bson_iter_as_int64(it);

			out->u.i = i != 0;
			return i == 0 || i == 1 ? 0 : -1;
		}
		return -1;
	case CT_DECIMAL:
		return read_decimal(it, f, &out->u.i);
	case CT_DATE:
		if (t == BSON_TYPE_DATE_TIME) {
			out->u.i = floor_div(bson_iter_date_time(it), MS_PER_DAY);
			return 0;
		}
		if (t == BSON_TYPE_UTF8) {
			s = bson_iter_utf8(it, &len);
			return date_parse(s, len, &out->u.i);
		}
		return -1;
	case CT_DATETIME:
		if (t == BSON_TYPE_DATE_TIME) {
			out->u.i = bson_iter_date_time(it) * 1000;
			return 0;
		}
		if (t == BSON_TYPE_UTF8) {
			s = bson_iter_utf8(it, &len);
			return datetime_parse(s, len, &out->u.i);
		}
		return -1;
	case CT_JSON:
		return read_json(it, a, out);
	}
	return -1;
}

/* Documents ------------------------------------------------------------ */

static int append_child(bson_t *b, const struct resource *ch, const struct child_rows *rows,
                        struct store_error *err);

/* Fields in order, each child array after the field the API shows it after
 * (or last), so a document reads like the API's JSON.  -1 when a value
 * cannot be held (see append_json); the document is complete all the same. */
static int append_fields(bson_t *b, const struct resource *r, const struct record *rec, bool skip_pk,
                         struct store_error *err)
{
	size_t i, c;
	int rc = 0;

	for (i = 0; i <= r->nfields; i++) {
		if (i < r->nfields && !(skip_pk && (int)i == r->pk) &&
		    append_value(b, mg_key(r, i), &r->fields[i], &rec->vals[i], err) < 0)
			rc = -1;
		for (c = 0; c < r->nchildren; c++) {
			int after = r->children[c]->after;

			if (rec->children[c].given &&
			    ((i < r->nfields && after == (int)i) || (i == r->nfields && after < 0)) &&
			    append_child(b, r->children[c], &rec->children[c], err) < 0)
				rc = -1;
		}
	}
	return rc;
}

static int append_child(bson_t *b, const struct resource *ch, const struct child_rows *rows,
                        struct store_error *err)
{
	bson_t arr, kid;
	char idx[16];
	const char *key;
	size_t i;
	int rc = 0;

	bson_append_array_begin(b, ch->name, -1, &arr);
	for (i = 0; i < rows->n; i++) {
		bson_uint32_to_string((uint32_t)i, &key, idx, sizeof(idx));
		bson_append_document_begin(&arr, key, -1, &kid);
		if (append_fields(&kid, ch, &rows->rows[i], false, err) < 0)
			rc = -1;
		bson_append_document_end(&arr, &kid);
	}
	bson_append_array_end(b, &arr);
	return rc;
}

int mg_record_to_doc(const struct resource *r, int64_t owner, const struct record *rec, bson_t *doc,
                     struct store_error *err)
{
	int rc;

	bson_init(doc);
	append_value(doc, "_id", &r->fields[r->pk], &rec->vals[r->pk], NULL);
	rc = append_fields(doc, r, rec, true, err);
	append_int(doc, r->owner_column, owner);
	return rc;
}

int mg_record_to_update(const struct resource *r, const struct record *rec, bson_t *update,
                        struct store_error *err)
{
	bson_t set;
	int rc;

	bson_init(update);
	bson_append_document_begin(update, "$set", 4, &set);
	rc = append_fields(&set, r, rec, true, err);
	bson_append_document_end(update, &set);
	return rc;
}

/* libbson has no public name for types; enough for messages. */
static const char *type_name(bson_type_t t)
{
	switch (t) {
	case BSON_TYPE_DOUBLE: return "double";
	case BSON_TYPE_UTF8: return "string";
	case BSON_TYPE_DOCUMENT: return "document";
	case BSON_TYPE_ARRAY: return "array";
	case BSON_TYPE_BINARY: return "binary";
	case BSON_TYPE_OID: return "objectId";
	case BSON_TYPE_BOOL: return "bool";
	case BSON_TYPE_DATE_TIME: return "date";
	case BSON_TYPE_INT32: return "int";
	case BSON_TYPE_INT64: return "long";
	case BSON_TYPE_DECIMAL128: return "decimal";
	default: return "value of another type";
	}
}

static int read_fields(const struct resource *r, const bson_t *doc, struct arena *a,
                       struct record *out, struct store_error *err)
{
	bson_iter_t it;
	size_t i;

	for (i = 0; i < r->nfields; i++) {
		if (!bson_iter_init_find(&it, doc, mg_key(r, i))) {
			out->vals[i].null = true;
			continue;
		}
		if (mg_read_value(&it, &r->fields[i], a, &out->vals[i]) < 0) {
			store_error_set(err, STORE_INVALID, "mongodb: %s.%s holds a %s that is not a valid %s",
			                r->parent ? r->parent->collection : r->collection, mg_key(r, i),
			                type_name(bson_iter_type(&it)), ctype_name(r->fields[i].type));
			return -1;
		}
	}
	return 0;
}

int mg_doc_to_record(const struct resource *r, const bson_t *doc, struct arena *a,
                     struct record *out, struct store_error *err)
{
	size_t c;

	out->vals = ARENA_ARRAY(a, struct value, r->nfields);
	out->children = ARENA_ARRAY(a, struct child_rows, r->nchildren ? r->nchildren : 1);
	if (read_fields(r, doc, a, out, err) < 0)
		return -1;
	for (c = 0; c < r->nchildren; c++) {
		const struct resource *ch = r->children[c];
		struct child_rows *kids = &out->children[c];
		bson_iter_t it, arr;
		size_t cap = 0;

		kids->given = true;
		if (!bson_iter_init_find(&it, doc, ch->name) || !BSON_ITER_HOLDS_ARRAY(&it)) {
			kids->rows = ARENA_ARRAY(a, struct record, 1);
			continue;
		}
		bson_iter_recurse(&it, &arr);
		while (bson_iter_next(&arr))
			cap++;
		kids->rows = ARENA_ARRAY(a, struct record, cap ? cap : 1);
		bson_iter_recurse(&it, &arr);
		while (bson_iter_next(&arr)) {
			const uint8_t *data;
			uint32_t len;
			bson_t kid;
			struct record *k = &kids->rows[kids->n];

			if (!BSON_ITER_HOLDS_DOCUMENT(&arr)) {
				store_error_set(err, STORE_INVALID, "mongodb: %s.%s holds a non-document",
				                r->collection, ch->name);
				return -1;
			}
			bson_iter_document(&arr, &len, &data);
			if (!bson_init_static(&kid, data, len))
				return -1;
			k->vals = ARENA_ARRAY(a, struct value, ch->nfields);
			k->children = ARENA_ARRAY(a, struct child_rows, 1);
			if (read_fields(ch, &kid, a, k, err) < 0)
				return -1;
			kids->n++;
		}
	}
	return 0;
}

/* Queries ------------------------------------------------------------- */

void mg_regex_escape(const char *term, size_t n, struct buf *out)
{
	size_t i;

	for (i = 0; i < n; i++) {
		char c = term[i];

		if (c == '\0') {
			buf_puts(out, "\\x00");
			continue;
		}
		if (strchr("\\.+*?()|[]{}^$", c))
			buf_putc(out, '\\');
		buf_putc(out, c);
	}
}

static void append_owner_and_conds(bson_t *f, const struct query *q)
{
	size_t i;

	if (q->owner != OWNER_ANY)      /* a role reads every owner's documents */
		append_int(f, q->res->owner_column, q->owner);
	for (i = 0; i < q->nconds; i++) {
		int k = q->conds[i].field;

		mg_append_value(f, mg_key(q->res, (size_t)k), &q->res->fields[k], &q->conds[i].val);
	}
}

void mg_query_filter(const struct query *q, bson_t *filter)
{
	bson_t and, term, or, alt, rx;
	struct buf pat = {0};
	char ti[16], ai[16];
	const char *tk, *ak;
	size_t i, j;

	bson_init(filter);
	append_owner_and_conds(filter, q);
	if (q->nterms == 0)
		return;
	/* Every term in one of the search fields, as escaped text. */
	bson_append_array_begin(filter, "$and", 4, &and);
	for (i = 0; i < q->nterms; i++) {
		pat.len = 0;
		mg_regex_escape(q->terms[i], strlen(q->terms[i]), &pat);
		bson_uint32_to_string((uint32_t)i, &tk, ti, sizeof(ti));
		bson_append_document_begin(&and, tk, -1, &term);
		bson_append_array_begin(&term, "$or", 3, &or);
		for (j = 0; j < q->nsearch; j++) {
			bson_uint32_to_string((uint32_t)j, &ak, ai, sizeof(ai));
			bson_append_document_begin(&or, ak, -1, &alt);
			bson_append_document_begin(&alt, mg_key(q->res, (size_t)q->search_fields[j]), -1, &rx);
			bson_append_utf8(&rx, "$regex", 6, pat.p ? pat.p : "", (int)pat.len);
			bson_append_utf8(&rx, "$options", 8, "i", 1);
			bson_append_document_end(&alt, &rx);
			bson_append_document_end(&or, &alt);
		}
		bson_append_array_end(&term, &or);
		bson_append_document_end(&and, &term);
	}
	bson_append_array_end(filter, &and);
	buf_free(&pat);
}

/* Stored as a BSON string: its $type name sorts above "missing" and "null". */
static bool stored_as_string(const struct field *f)
{
	return f->type == CT_UUID || f->type == CT_STRING || f->type == CT_TEXT ||
	       (f->type == CT_DECIMAL && f->mongo_decimal == MD_STRING);
}

static bool null_key_needed(const struct query *q, size_t i, bool nulls_high)
{
	return nulls_high && (q->res->fields[q->order[i].field].flags & F_NULL);
}

/* MongoDB sorts null below every value, as SQLite does.  Where the legacy
 * store sorts it above (PostgreSQL), each nullable field is preceded by
 * the $type of its value ("null" or "missing" against the value's type),
 * in the direction that puts the nulls last ascending, first descending. */
static void append_sort(bson_t *b, const char *key, const struct query *q, bool nulls_high)
{
	const struct resource *r = q->res;
	bson_t sort;
	char nk[32];
	size_t i;
	bool has_pk = false;

	bson_append_document_begin(b, key, -1, &sort);
	for (i = 0; i < q->norder; i++) {
		const struct order_term *o = &q->order[i];

		if (null_key_needed(q, i, nulls_high)) {
			snprintf(nk, sizeof(nk), "__null%zu", i);
			bson_append_int32(&sort, nk, -1, o->desc != stored_as_string(&r->fields[o->field]) ? -1 : 1);
		}
		bson_append_int32(&sort, mg_key(r, (size_t)o->field), -1, o->desc ? -1 : 1);
		has_pk |= o->field == r->pk;
	}
	/* The id breaks ties, so pages never overlap or skip. */
	if (!has_pk)
		bson_append_int32(&sort, "_id", 3, 1);
	bson_append_document_end(b, &sort);
}

void mg_query_opts(const struct query *q, bson_t *opts)
{
	bson_init(opts);
	append_sort(opts, "sort", q, false);
	if (q->offset > 0)
		bson_append_int64(opts, "skip", 4, q->offset);
	if (q->limit > 0)
		bson_append_int64(opts, "limit", 5, q->limit);
}

/* Stage n of pipeline, begun in stage; the first is the query's $match. */
static void stage_begin(bson_t *pipeline, uint32_t n, bson_t *stage)
{
	char ki[16];
	const char *k;

	bson_uint32_to_string(n, &k, ki, sizeof(ki));
	bson_append_document_begin(pipeline, k, -1, stage);
}

static void match_stage(bson_t *pipeline, const struct query *q)
{
	bson_t stage, filter;

	bson_init(pipeline);
	mg_query_filter(q, &filter);
	stage_begin(pipeline, 0, &stage);
	bson_append_document(&stage, "$match", 6, &filter);
	bson_append_document_end(pipeline, &stage);
	bson_destroy(&filter);
}

bool mg_query_pipeline(const struct query *q, bool nulls_high, bson_t *pipeline)
{
	bson_t stage, inner, type;
	char nk[32], ref[128];
	uint32_t n = 1;
	size_t i;
	bool any = false;

	for (i = 0; i < q->norder; i++)
		any |= null_key_needed(q, i, nulls_high);
	if (!any)
		return false;
	match_stage(pipeline, q);
	stage_begin(pipeline, n++, &stage);
	bson_append_document_begin(&stage, "$addFields", 10, &inner);
	for (i = 0; i < q->norder; i++) {
		if (!null_key_needed(q, i, nulls_high))
			continue;
		snprintf(nk, sizeof(nk), "__null%zu", i);
		snprintf(ref, sizeof(ref), "$%s", mg_key(q->res, (size_t)q->order[i].field));
		bson_append_document_begin(&inner, nk, -1, &type);
		bson_append_utf8(&type, "$type", 5, ref, -1);
		bson_append_document_end(&inner, &type);
	}
	bson_append_document_end(&stage, &inner);
	bson_append_document_end(pipeline, &stage);
	stage_begin(pipeline, n++, &stage);
	append_sort(&stage, "$sort", q, true);
	bson_append_document_end(pipeline, &stage);
	if (q->offset > 0) {
		stage_begin(pipeline, n++, &stage);
		bson_append_int64(&stage, "$skip", 5, q->offset);
		bson_append_document_end(pipeline, &stage);
	}
	if (q->limit > 0) {
		stage_begin(pipeline, n++, &stage);
		bson_append_int64(&stage, "$limit", 6, q->limit);
		bson_append_document_end(pipeline, &stage);
	}
	return true;
}

void mg_id_filter(const struct resource *r, int64_t owner, const unsigned char id[16], bson_t *filter)
{
	char tmp[UUID_STR_LEN + 1];

	bson_init(filter);
	uuid_format(id, tmp);
	bson_append_utf8(filter, "_id", 3, tmp, UUID_STR_LEN);
	if (owner != OWNER_ANY)
		append_int(filter, r->owner_column, owner);
}

void mg_unique_filter(const struct resource *r, const struct unique *u, int64_t owner,
                      const struct record *rec, bson_t *filter)
{
	bson_t ne;
	size_t i;

	bson_init(filter);
	append_int(filter, r->owner_column, owner);
	for (i = 0; i < u->nfields; i++)
		mg_append_value(filter, mg_key(r, (size_t)u->fields[i]), &r->fields[u->fields[i]],
		                &rec->vals[u->fields[i]]);
	bson_append_document_begin(filter, "_id", 3, &ne);
	mg_append_value(&ne, "$ne", &r->fields[r->pk], &rec->vals[r->pk]);
	bson_append_document_end(filter, &ne);
}

void mg_version_filter(const struct resource *r, const struct record *rec, int version_field, bson_t *filter)
{
	bson_t lte;

	bson_init(filter);
	mg_append_value(filter, "_id", &r->fields[r->pk], &rec->vals[r->pk]);
	if (version_field < 0 || rec->vals[version_field].null)
		return;
	bson_append_document_begin(filter, mg_key(r, (size_t)version_field), -1, &lte);
	mg_append_value(&lte, "$lte", &r->fields[version_field], &rec->vals[version_field]);
	bson_append_document_end(filter, &lte);
}

void mg_ref_filter(const struct field *f, const unsigned char id[16], bson_t *filter)
{
	char tmp[UUID_STR_LEN + 1];

	bson_init(filter);
	uuid_format(id, tmp);
	bson_append_utf8(filter, f->column, -1, tmp, UUID_STR_LEN);
}

void mg_group_pipeline(const struct query *q, int group_field, int sum_field, enum mg_group what,
                       bson_t *pipeline)
{
	const struct resource *r = q->res;
	bson_t stage, inner, acc;
	struct buf path = {0};

	match_stage(pipeline, q);
	stage_begin(pipeline, 1, &stage);
	bson_append_document_begin(&stage, "$group", 6, &inner);
	buf_printf(&path, "$%s", mg_key(r, (size_t)group_field));
	bson_append_utf8(&inner, "_id", 3, path.p, (int)path.len);
	if (what != MG_GROUP_SUM) {
		bson_append_document_begin(&inner, "n", 1, &acc);
		bson_append_int32(&acc, "$sum", 4, 1);
		bson_append_document_end(&inner, &acc);
	}
	if (what != MG_GROUP_COUNT) {
		path.len = 0;
		buf_printf(&path, "$%s", mg_key(r, (size_t)sum_field));
		bson_append_document_begin(&inner, "s", 1, &acc);
		bson_append_utf8(&acc, "$sum", 4, path.p, (int)path.len);
		bson_append_document_end(&inner, &acc);
	}
	bson_append_document_end(&stage, &inner);
	bson_append_document_end(pipeline, &stage);

	stage_begin(pipeline, 2, &stage);
	bson_append_document_begin(&stage, "$sort", 5, &inner);
	bson_append_int32(&inner, "_id", 3, 1);
	bson_append_document_end(&stage, &inner);
	bson_append_document_end(pipeline, &stage);
	buf_free(&path);
}

/* A $sum result in the field's units: minor units summed as integers, or
 * a Decimal128 (or plain number) sum of the values. */
static int sum_units(const bson_iter_t *it, const struct field *f, int64_t *units)
{
	bson_type_t t = bson_iter_type(it);

	if (f->mongo_decimal == MD_INT64 && t == BSON_TYPE_DOUBLE)
		return -1;      /* the int64 sum overflowed */
	return read_decimal(it, f, units);
}

static bool same_group(const bson_t *a, const bson_t *b)
{
	bson_iter_t x, y;
	const bson_value_t *vx, *vy;

	if (!bson_iter_init_find(&x, a, "_id") || !bson_iter_init_find(&y, b, "_id"))
		return false;
	vx = bson_iter_value(&x);
	vy = bson_iter_value(&y);
	if (vx->value_type != vy->value_type)
		return false;
	switch (vx->value_type) {
	case BSON_TYPE_UTF8:
		return vx->value.v_utf8.len == vy->value.v_utf8.len &&
		       memcmp(vx->value.v_utf8.str, vy->value.v_utf8.str, vx->value.v_utf8.len) == 0;
	case BSON_TYPE_NULL:
		return true;
	default: {
		bson_t ca = BSON_INITIALIZER, cb = BSON_INITIALIZER;
		bool eq;

		bson_append_value(&ca, "v", 1, vx);
		bson_append_value(&cb, "v", 1, vy);
		eq = bson_equal(&ca, &cb);
		bson_destroy(&ca);
		bson_destroy(&cb);
		return eq;
	}
	}
}

int mg_group_rows(const struct resource *r, int group_field, int sum_field, const bson_t *counts,
                  size_t ncounts, const bson_t *sums, size_t nsums, struct arena *a,
                  struct agg_row **rows, size_t *n, struct store_error *err)
{
	const struct field *sf = &r->fields[sum_field];
	size_t i, k;

	*rows = ARENA_ARRAY(a, struct agg_row, ncounts ? ncounts : 1);
	*n = ncounts;
	for (i = 0; i < ncounts; i++) {
		struct agg_row *row = &(*rows)[i];
		const bson_t *sdoc = &counts[i];
		bson_iter_t it;

		if (!bson_iter_init_find(&it, &counts[i], "_id") ||
		    mg_read_value(&it, &r->fields[group_field], a, &row->group) < 0)
			goto bad;
		if (!bson_iter_init_find(&it, &counts[i], "n"))
			goto bad;
		row->count = bson_iter_as_int64(&it);
		if (sums) {
			/* Both runs are sorted by group: usually the same index. */
			sdoc = NULL;
			for (k = 0; k < nsums && !sdoc; k++)
				if (same_group(&counts[i], &sums[(i + k) % nsums]))
					sdoc = &sums[(i + k) % nsums];
		}
		row->sum = 0;
		if (sdoc && bson_iter_init_find(&it, sdoc, "s") && sum_units(&it, sf, &row->sum) < 0)
			goto bad;
	}
	return 0;
bad:
	store_error_set(err, STORE_INVALID, "mongodb: %s: a group of %s or its sum of %s is not readable",
	                r->collection, r->fields[group_field].column, sf->column);
	return -1;
}

void mg_docs_free(bson_t *docs, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		bson_destroy(&docs[i]);
	bson_free(docs);
}

/* Indexes -------------------------------------------------------------- */

void mg_unique_index_name(const struct resource *r, const struct unique *u, char out[MG_INDEX_NAME_MAX])
{
	size_t i;
	int o = snprintf(out, MG_INDEX_NAME_MAX, "unique_%s", r->owner_column);

	for (i = 0; i < u->nfields && o < MG_INDEX_NAME_MAX; i++)
		o += snprintf(out + o, MG_INDEX_NAME_MAX - (size_t)o, "_%s", mg_key(r, (size_t)u->fields[i]));
}

struct index_list {
	bson_t arr;
	const char *const *skip;        /* names that exist already */
	size_t nskip, added;
	const char *keys[64][8];        /* key columns already indexed */
	size_t nkeys[64];
	size_t n;
};

static void add_index(struct index_list *l, const char *const *cols, size_t ncols, const char *name,
                      bool unique)
{
	bson_t idx, key;
	char pos[16], gen[MG_INDEX_NAME_MAX];
	const char *pk;
	size_t i, k;
	int o = 0;

	for (i = 0; i < l->n; i++) {
		if (l->nkeys[i] != ncols)
			continue;
		for (k = 0; k < ncols && strcmp(l->keys[i][k], cols[k]) == 0; k++)
			;
		if (k == ncols)
			return;
	}
	if (l->n == 64 || ncols > 8)
		return;
	for (k = 0; k < ncols; k++)
		l->keys[l->n][k] = cols[k];
	l->nkeys[l->n++] = ncols;
	if (!name) {
		for (k = 0; k < ncols && o < MG_INDEX_NAME_MAX; k++)
			o += snprintf(gen + o, MG_INDEX_NAME_MAX - (size_t)o, "%s%s", k ? "_" : "", cols[k]);
		name = gen;
	}
	for (i = 0; i < l->nskip; i++)
		if (strcmp(l->skip[i], name) == 0)
			return;
	bson_uint32_to_string((uint32_t)l->added++, &pk, pos, sizeof(pos));
	bson_append_document_begin(&l->arr, pk, -1, &idx);
	bson_append_document_begin(&idx, "key", 3, &key);
	for (k = 0; k < ncols; k++)
		bson_append_int32(&key, cols[k], -1, 1);
	bson_append_document_end(&idx, &key);
	bson_append_utf8(&idx, "name", 4, name, -1);
	if (unique)
		bson_append_bool(&idx, "unique", 6, true);
	bson_append_document_end(&l->arr, &idx);
}

size_t mg_index_command(const struct config *cfg, const struct resource *r,
                        const char *const *existing, size_t nexisting, bson_t *cmd)
{
	struct index_list *l = xcalloc(1, sizeof(*l));
	size_t added;
	const char *cols[8];
	char name[MG_INDEX_NAME_MAX];
	size_t i, k, c;

	bson_init(cmd);
	bson_append_utf8(cmd, "createIndexes", -1, r->collection, -1);
	bson_append_array_begin(cmd, "indexes", -1, &l->arr);
	l->skip = existing;
	l->nskip = nexisting;
	cols[0] = r->owner_column;
	/* Unique constraints first: their key also serves owner + field. */
	for (i = 0; i < r->nuniques; i++) {
		const struct unique *u = &r->uniques[i];

		for (k = 0; k < u->nfields && k < 7; k++)
			cols[k + 1] = mg_key(r, (size_t)u->fields[k]);
		mg_unique_index_name(r, u, name);
		add_index(l, cols, k + 1, name, true);
	}
	add_index(l, cols, 1, NULL, false);
	for (i = 0; i < r->nfilters; i++) {
		cols[1] = mg_key(r, (size_t)r->filters[i]);
		add_index(l, cols, 2, NULL, false);
	}
	for (i = 0; i < r->nordering; i++) {
		cols[1] = mg_key(r, (size_t)r->ordering[i].field);
		add_index(l, cols, 2, NULL, false);
	}
	for (i = 0; i < r->norderable; i++) {
		cols[1] = mg_key(r, (size_t)r->orderable[i]);
		add_index(l, cols, 2, NULL, false);
	}
	/* Deleting a resource deletes the documents here that reference it. */
	for (i = 0; i < cfg->nresources; i++)
		for (c = 0; c < cfg->resources[i]->ncascades; c++)
			if (cfg->resources[i]->cascades[c].res == r) {
				cols[0] = mg_key(r, (size_t)cfg->resources[i]->cascades[c].field);
				add_index(l, cols, 1, NULL, false);
			}
	bson_append_array_end(cmd, &l->arr);
	added = l->added;
	free(l);
	return added;
}

static bool needs_decimal128(const struct resource *r, char *name, size_t size)
{
	size_t i;

	for (i = 0; i < r->nfields; i++) {
		if (r->fields[i].type == CT_DECIMAL && r->fields[i].mongo_decimal == MD_DECIMAL128) {
			snprintf(name, size, "%s.%s", r->name, r->fields[i].name);
			return true;
		}
	}
	for (i = 0; i < r->nchildren; i++)
		if (needs_decimal128(r->children[i], name, size))
			return true;
	return false;
}

bool mg_config_needs_decimal128(const struct config *cfg, char *name, size_t size)
{
	size_t i;

	for (i = 0; i < cfg->nresources; i++)
		if (needs_decimal128(cfg->resources[i], name, size))
			return true;
	return false;
}
