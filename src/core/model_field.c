/*
 * model_field.c — a resource's fields in the configuration (see
 * model_private.h): type, flags, bounds, choices, defaults and the values
 * set automatically, each checked where it is written.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "json.h"
#include "model_private.h"

static void field_default(struct config_loader *l, struct field *f, const struct json *v)
{
	const char *s = NULL;

	f->flags |= F_DEFAULT;
	if (v->type == JSON_NULL) {
		f->def.null = true;
		return;
	}
	switch (f->type) {
	case CT_BOOLEAN:
		if (v->type != JSON_BOOL)
			goto bad;
		f->def.u.i = v->u.b;
		return;
	case CT_INTEGER: {
		long x;

		if (!config_want_int(l, v, "default", -(1L << 53), 1L << 53, &x))
			return;
		f->def.u.i = x;
		return;
	}
	case CT_JSON: {
		struct buf b = {0};

		json_write(&b, v);
		f->def.u.s.p = arena_strndup(config_arena(l), b.p, b.len);
		f->def.u.s.n = b.len;
		buf_free(&b);
		return;
	}
	default:
		break;
	}
	if (!(s = config_want_str(l, v, "default")))
		return;
	switch (f->type) {
	case CT_DECIMAL:
		if (decimal_parse(s, strlen(s), f->digits, f->places, &f->def.u.i) != DEC_OK)
			goto bad;
		return;
	case CT_DATE:
		if (date_parse(s, strlen(s), &f->def.u.i) < 0)
			goto bad;
		return;
	case CT_DATETIME:
		if (datetime_parse(s, strlen(s), &f->def.u.i) < 0)
			goto bad;
		return;
	case CT_UUID:
		if (uuid_parse(s, strlen(s), f->def.u.uuid) < 0)
			goto bad;
		return;
	default:
		f->def.u.s.p = s;
		f->def.u.s.n = strlen(s);
		return;
	}
bad:
	config_problem(l, v, "field %s: default is not a valid %s", f->name, ctype_name(f->type));
}


/* A choice: "value", or ["value", "Display name"] as Django's choices give
 * it (the name OPTIONS shows; NULL: made from the value). */
static bool choice(struct config_loader *l, const struct json *v, const char **value, const char **label)
{
	*label = NULL;
	if (v->type == JSON_ARRAY && v->u.a.n == 2)
		return (*value = config_want_str(l, v->u.a.v[0], "choices")) &&
		       (*label = config_want_str(l, v->u.a.v[1], "choices"));
	return (*value = config_want_str(l, v, "choices")) != NULL;
}
/* The word of known[0..count) nearest to name. */
const char *model_word_hint(struct config_loader *l, const char *name, const char *const *known, size_t count)
{
	struct nearest n;
	size_t i;

	nearest_init(&n, name);
	for (i = 0; i < count; i++)
		nearest_try(&n, known[i]);
	return config_did_you_mean(l, &n);
}

/* A field's keys (for "did you mean"; parse_field reads them). */
static const char *const field_keys[] = {
	"name", "type", "column", "primary_key", "max_length", "digits", "places", "min", "max", "choices",
	"default", "auto", "references", "mongodb_decimal", "null", "blank", "required", "read_only", "email",
};

static void field_type(struct config_loader *l, const struct resource *r, struct field *f,
                       const struct json *obj)
{
	const struct json *type = json_get(obj, "type");
	const char *t;

	f->type = CT_STRING;
	if (!type) {
		config_problem(l, obj, "field in %s: \"type\" is required", r->name);
		return;
	}
	if ((t = config_want_str(l, type, "type")) && ctype_parse(t, &f->type) < 0)
		config_problem(l, type, "unknown type %s (one of uuid, string, text, integer, "
		        "boolean, decimal, date, datetime, json)", config_quote(l, t));
}

/* The bounds: max_length, digits, places, min, max.  false: not one. */
static bool field_bound(struct config_loader *l, struct field *f, const char *key, const struct json *v)
{
	long x;

	if (strcmp(key, "max_length") == 0) {
		if (config_want_int(l, v, key, 1, 1 << 30, &x))
			f->max_length = (int)x;
	} else if (strcmp(key, "digits") == 0) {
		if (config_want_int(l, v, key, 1, DECIMAL_MAX_DIGITS, &x))
			f->digits = (int)x;
	} else if (strcmp(key, "places") == 0) {
		if (config_want_int(l, v, key, 0, DECIMAL_MAX_DIGITS, &x))
			f->places = (int)x;
	} else if (strcmp(key, "min") == 0) {
		if ((f->has_min = config_want_int(l, v, key, -(1L << 53), 1L << 53, &x)))
			f->min_value = x;
	} else if (strcmp(key, "max") == 0) {
		if ((f->has_max = config_want_int(l, v, key, -(1L << 53), INT64_MAX, &x)))
			f->max_value = x;
	} else {
		return false;
	}
	return true;
}

static void field_choices(struct config_loader *l, struct field *f, const struct json *v)
{
	size_t k;

	if (!config_want_type(l, v, JSON_ARRAY, "choices"))
		return;
	f->choices = ARENA_ARRAY(config_arena(l), const char *, v->u.a.n);
	f->choice_labels = ARENA_ARRAY(config_arena(l), const char *, v->u.a.n);
	for (k = 0; k < v->u.a.n; k++)
		if (choice(l, v->u.a.v[k], &f->choices[f->nchoices], &f->choice_labels[f->nchoices]))
			f->nchoices++;
}

static void field_auto(struct config_loader *l, struct field *f, const struct json *v)
{
	const char *s = config_want_str(l, v, "auto");

	if (!s)
		return;
	if (strcmp(s, "uuid4") == 0)
		f->autoset = AUTO_UUID4;
	else if (strcmp(s, "now_on_create") == 0)
		f->autoset = AUTO_NOW_CREATE;
	else if (strcmp(s, "now") == 0)
		f->autoset = AUTO_NOW;
	else
		config_problem(l, v, "\"auto\" must be uuid4, now_on_create or now");
}

/* A flag key (null, blank, required, read_only, email)?  Set when true. */
static bool field_flag(struct config_loader *l, struct field *f, const char *key, const struct json *v)
{
	static const struct { const char *key; unsigned flag; } flags[] = {
		{"null", F_NULL}, {"blank", F_BLANK}, {"required", F_REQUIRED},
		{"read_only", F_READ_ONLY}, {"email", F_EMAIL},
	};
	size_t k;
	bool b;

	for (k = 0; k < ARRAY_LEN(flags); k++) {
		if (strcmp(key, flags[k].key) == 0) {
			if (config_want_bool(l, v, key, &b) && b)
				f->flags |= flags[k].flag;
			return true;
		}
	}
	return false;
}

/* What the keys leave unsaid, and what they say together. */
static void field_finish(struct config_loader *l, const struct resource *r, struct field *f,
                         const struct json *obj, const struct json *def)
{
	if (!f->name) {
		config_problem(l, obj, "field in %s: \"name\" is required", r->name);
		f->name = "?";
	}
	if (!f->column) {
		if (!model_ident_ok(f->name))
			config_problem(l, obj, "field %s: name is not a plain identifier; give \"column\"", f->name);
		f->column = f->name;
	}
	if (f->type == CT_DECIMAL && (f->digits == 0 || f->places > f->digits))
		config_problem(l, obj, "field %s: a decimal needs \"digits\" (1-%d) and \"places\" (at most digits)",
		        f->name, DECIMAL_MAX_DIGITS);
	if (f->autoset)
		f->flags |= F_READ_ONLY;
	if (def)
		field_default(l, f, def);
}

static void parse_field(struct config_loader *l, struct resource *r, struct field *f,
                        const struct json *obj, bool *is_pk)
{
	const struct json *def = NULL;
	size_t i;

	*is_pk = false;
	field_type(l, r, f, obj);
	for (i = 0; i < obj->u.o.n; i++) {
		const char *key = obj->u.o.m[i].key;
		const struct json *v = obj->u.o.m[i].val;

		if (field_flag(l, f, key, v) || strcmp(key, "type") == 0 || field_bound(l, f, key, v))
			continue;
		if (strcmp(key, "name") == 0)
			config_set_str(l, v, key, &f->name);
		else if (strcmp(key, "column") == 0)
			f->column = model_want_ident(l, v, key);
		else if (strcmp(key, "primary_key") == 0)
			config_want_bool(l, v, key, is_pk);
		else if (strcmp(key, "choices") == 0)
			field_choices(l, f, v);
		else if (strcmp(key, "default") == 0)
			def = v;
		else if (strcmp(key, "auto") == 0)
			field_auto(l, f, v);
		else if (strcmp(key, "references") == 0)
			config_set_str(l, v, key, &f->ref_name);
		else if (strcmp(key, "mongodb_decimal") == 0)
			model_want_decimal(l, v, &f->mongo_decimal);
		else
			config_problem(l, v, "field %s: unknown key %s%s", f->name ? f->name : "?",
			               config_quote(l, key), model_word_hint(l, key, field_keys, ARRAY_LEN(field_keys)));
	}
	field_finish(l, r, f, obj, def);
}

void model_parse_fields(struct config_loader *l, struct resource *r, const struct json *v)
{
	size_t i;

	r->pk = -1;
	if (!config_want_type(l, v, JSON_ARRAY, "fields"))
		return;
	r->fields = ARENA_ARRAY(config_arena(l), struct field, v->u.a.n);
	for (i = 0; i < v->u.a.n; i++) {
		bool is_pk;

		if (!config_want_type(l, v->u.a.v[i], JSON_OBJECT, "fields"))
			continue;
		parse_field(l, r, &r->fields[r->nfields], v->u.a.v[i], &is_pk);
		if (resource_field(r, r->fields[r->nfields].name) >= 0)
			config_problem(l, v->u.a.v[i], "resource %s: field %s appears twice", r->name,
			        config_quote(l, r->fields[r->nfields].name));
		if (is_pk) {
			if (r->pk >= 0)
				config_problem(l, v->u.a.v[i], "resource %s: only one primary key is supported", r->name);
			r->pk = (int)r->nfields;
		}
		r->nfields++;
	}
	if (r->pk < 0)
		config_problem(l, v, "resource %s: no field has \"primary_key\": true", r->name);
	else if (r->fields[r->pk].type != CT_UUID || r->fields[r->pk].autoset != AUTO_UUID4)
		config_problem(l, v, "resource %s: the primary key must be a uuid with \"auto\": \"uuid4\"",
		        r->name);
}

