/*
 * mongo_bson.c — canonical records as BSON (see mongo_bson.h): values and
 * documents both ways, and what the configuration asks of the server.
 * Queries, pipelines and indexes are built in mongo_query.c.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "mongo_bson.h"
#include "mongo_bson_private.h"

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

void mg_append_int(bson_t *b, const char *key, int64_t i)
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
			mg_append_int(b, key, strtoll(j->u.s.p, NULL, 10));
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
		mg_append_int(b, key, v->u.i);
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

int mg_read_decimal(const bson_iter_t *it, const struct field *f, int64_t *units)
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

/* A uuid as its text or as binary of the uuid subtype. */
static int read_uuid(const bson_iter_t *it, bson_type_t t, struct value *out)
{
	const char *s;
	uint32_t len;

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
}

/* An integer, or a double that holds one exactly. */
static int read_integer(const bson_iter_t *it, bson_type_t t, struct value *out)
{
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
}

/* A bool, or the integer 0 or 1. */
static int read_boolean(const bson_iter_t *it, bson_type_t t, struct value *out)
{
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
		return read_uuid(it, t, out);
	case CT_STRING:
	case CT_TEXT:
		if (t != BSON_TYPE_UTF8)
			return -1;
		s = bson_iter_utf8(it, &len);
		out->u.s.p = arena_strndup(a, s, len);
		out->u.s.n = len;
		return 0;
	case CT_INTEGER:
		return read_integer(it, t, out);
	case CT_BOOLEAN:
		return read_boolean(it, t, out);
	case CT_DECIMAL:
		return mg_read_decimal(it, f, &out->u.i);
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
	mg_append_int(doc, r->owner_column, owner);
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

/* The configuration ------------------------------------------------- */

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
