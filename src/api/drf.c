/*
 * drf.c — Django REST Framework's field validation and representation.
 *
 * Each rule here is DRF 3.14's (fields.py, relations.py, serializers.py),
 * so clients that were written against the legacy application see the same
 * messages in the same order.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "drf.h"

#define MSG_REQUIRED "This field is required."
#define MSG_NULL "This field may not be null."
#define MSG_BLANK "This field may not be blank."

void verrors_init(struct arena *a, const struct resource *r, struct verrors *ve)
{
	ve->field = ARENA_ARRAY(a, const char *, r->nfields);
	ve->child = ARENA_ARRAY(a, const char *, r->nchildren ? r->nchildren : 1);
	ve->non_field = NULL;
	ve->count = 0;
}

static const char *msg_list(struct arena *a, const char *msg)
{
	struct buf b = {0};
	const char *res;

	buf_putc(&b, '[');
	json_put_cstr(&b, msg);
	buf_putc(&b, ']');
	res = arena_strndup(a, b.p, b.len);
	buf_free(&b);
	return res;
}

void verrors_add(struct arena *a, struct verrors *ve, int field, const char *msg)
{
	ve->field[field] = msg_list(a, msg);
	ve->count++;
}

void verrors_render(struct buf *b, const struct resource *r, const struct verrors *ve)
{
	size_t i, c;
	bool first = true;

	buf_putc(b, '{');
	for (i = 0; i <= r->nfields; i++) {
		if (i < r->nfields && ve->field[i]) {
			buf_puts(b, first ? "" : ",");
			json_put_cstr(b, r->fields[i].name);
			buf_putc(b, ':');
			buf_puts(b, ve->field[i]);
			first = false;
		}
		for (c = 0; c < r->nchildren; c++) {
			int after = r->children[c]->after;

			if (!ve->child[c] || !(after == (int)i || (after < 0 && i == r->nfields)))
				continue;
			buf_puts(b, first ? "" : ",");
			json_put_cstr(b, r->children[c]->name);
			buf_putc(b, ':');
			buf_puts(b, ve->child[c]);
			first = false;
		}
	}
	if (ve->non_field) {
		buf_puts(b, first ? "" : ",");
		buf_puts(b, "\"non_field_errors\":");
		buf_puts(b, ve->non_field);
	}
	buf_putc(b, '}');
}

/* Django's EmailValidator ------------------------------------------- */

static bool atom_char(unsigned char c)
{
	return isalnum(c) || (c && strchr("-!#$%&'*+/=?^_`{}|~", c));
}

static bool user_part_ok(const char *s, size_t n)
{
	size_t i;

	if (n >= 2 && s[0] == '"' && s[n - 1] == '"') {
		for (i = 1; i + 1 < n; i++) {
			unsigned char c = (unsigned char)s[i];

			if (c == '\\') {
				if (++i + 1 >= n || s[i] == '\n' || s[i] == '\r' || !s[i])
					return false;
				continue;
			}
			if (c == 0 || c == '\n' || c == '\r' || c == '"' || c == '\\' || c > 0x7f ||
			    c == '\t')
				return false;
		}
		return true;
	}
	if (n == 0 || s[0] == '.' || s[n - 1] == '.')
		return false;
	for (i = 0; i < n; i++) {
		if (s[i] == '.') {
			if (s[i + 1] == '.')
				return false;
		} else if (!atom_char((unsigned char)s[i])) {
			return false;
		}
	}
	return true;
}

/* ((label.)+ tld) with labels [A-Z0-9]([A-Z0-9-]{0,61}[A-Z0-9])? and a
 * 2–63 character tld of [A-Z0-9-] not ending in '-'.  Non-ASCII labels are
 * taken as internationalised names, which Django accepts via punycode. */
static bool domain_ok(const char *s, size_t n)
{
	size_t i = 0, labels = 0;

	if (n == 9 && strncasecmp(s, "localhost", 9) == 0)
		return true;
	while (i < n) {
		size_t start = i, len;
		bool last, idn = false;

		while (i < n && s[i] != '.') {
			unsigned char c = (unsigned char)s[i];

			if (c >= 0x80)
				idn = true;
			else if (!isalnum(c) && c != '-')
				return false;
			i++;
		}
		len = i - start;
		last = i == n;
		if (len == 0)
			return false;
		if (!idn) {
			if (last) {
				if (len < 2 || len > 63 || s[i - 1] == '-')
					return false;
			} else if (len > 63 || s[start] == '-' || s[i - 1] == '-') {
				return false;
			}
		}
		labels++;
		if (!last)
			i++;
		else
			break;
	}
	return labels >= 2 && s[n - 1] != '.';
}

bool drf_email_valid(const char *s, size_t n)
{
	const char *at = NULL;
	size_t i;

	if (n == 0 || n > 320)
		return false;
	for (i = 0; i < n; i++)
		if (s[i] == '@')
			at = s + i;
	if (!at)
		return false;
	return user_part_ok(s, (size_t)(at - s)) &&
	       domain_ok(at + 1, n - (size_t)(at - s) - 1);
}

/* Field validation -------------------------------------------------- */

static bool py_space(unsigned char c)
{
	return c == ' ' || (c >= '\t' && c <= '\r') || (c >= 0x1c && c <= 0x1f);
}

/* str(data) for a JSON scalar, as Python would print the loaded value. */
static const char *py_str(struct arena *a, const struct json *v)
{
	struct buf b = {0};
	const char *res;

	if (v->type == JSON_STRING)
		return v->u.s.p;
	json_pyrepr(&b, v);
	res = arena_strndup(a, b.p, b.len);
	buf_free(&b);
	return res;
}

static const char *check_string(struct arena *a, const struct field *f, const struct json *v,
                                struct value *out)
{
	const char *s;
	size_t n;

	if (v->type != JSON_STRING && v->type != JSON_NUMBER)
		return "Not a valid string.";
	s = v->u.s.p;
	n = v->u.s.n;
	/* ProhibitSurrogateCharactersValidator; before anything quotes the text. */
	if (v->surrogate)
		return arena_printf(a, "Surrogate characters are not allowed: U+%X.", v->surrogate);
	if (f->nchoices) {
		size_t i;

		for (i = 0; i < f->nchoices; i++) {
			if (str_eq(s, n, f->choices[i])) {
				out->u.s.p = s;
				out->u.s.n = n;
				return NULL;
			}
		}
		if (n == 0 && (f->flags & F_BLANK)) {
			out->u.s.p = "";
			out->u.s.n = 0;
			return NULL;
		}
		return arena_printf(a, "\"%s\" is not a valid choice.", s);
	}
	while (n && py_space((unsigned char)*s)) {
		s++;
		n--;
	}
	while (n && py_space((unsigned char)s[n - 1]))
		n--;
	if (n == 0) {
		if (!(f->flags & F_BLANK))
			return MSG_BLANK;
		out->u.s.p = "";
		out->u.s.n = 0;
		return NULL;
	}
	if (memchr(s, '\0', n))
		return "Null characters are not allowed.";
	if (f->max_length && utf8_len(s, n) > (size_t)f->max_length)
		return arena_printf(a, "Ensure this field has no more than %d characters.", f->max_length);
	if ((f->flags & F_EMAIL) && !drf_email_valid(s, n))
		return "Enter a valid email address.";
	out->u.s.p = arena_strndup(a, s, n);
	out->u.s.n = n;
	return NULL;
}

static const char *check_decimal(struct arena *a, const struct field *f, const struct json *v,
                                 struct value *out)
{
	enum decimal_err e;

	if (v->type == JSON_NUMBER)
		e = decimal_parse_json_number(v->u.s.p, v->u.s.n, f->digits, f->places, &out->u.i);
	else if (v->type == JSON_STRING)
		e = decimal_parse(v->u.s.p, v->u.s.n, f->digits, f->places, &out->u.i);
	else
		e = DEC_INVALID;
	switch (e) {
	case DEC_OK: return NULL;
	case DEC_INVALID: return "A valid number is required.";
	case DEC_TOO_LONG: return "String value too large.";
	case DEC_MAX_DIGITS:
		return arena_printf(a, "Ensure that there are no more than %d digits in total.", f->digits);
	case DEC_MAX_PLACES:
		return arena_printf(a, "Ensure that there are no more than %d decimal places.", f->places);
	case DEC_MAX_WHOLE:
		return arena_printf(a, "Ensure that there are no more than %d digits before the decimal point.",
		                    f->digits - f->places);
	}
	return "A valid number is required.";
}

static const char *check_integer(struct arena *a, const struct field *f, const struct json *v,
                                 struct value *out)
{
	const char *s;
	size_t n;
	char *end, tmp[64];
	long long x;

	if (v->type != JSON_STRING && v->type != JSON_NUMBER)
		return "A valid integer is required.";
	s = v->u.s.p;
	n = v->u.s.n;
	if (v->type == JSON_STRING && n > 1000)
		return "String value too large.";
	/* int(re.sub(r'\.0*\s*$', '', str(data))) */
	while (n && py_space((unsigned char)s[n - 1]))
		n--;
	{
		size_t k = n;

		while (k && s[k - 1] == '0')
			k--;
		if (k && s[k - 1] == '.')
			n = k - 1;
	}
	while (n && py_space((unsigned char)*s)) {
		s++;
		n--;
	}
	if (n == 0 || n >= sizeof(tmp) || (v->type == JSON_NUMBER && strpbrk(v->u.s.p, "eE")))
		return "A valid integer is required.";
	memcpy(tmp, s, n);
	tmp[n] = '\0';
	if (!isdigit((unsigned char)tmp[tmp[0] == '-' || tmp[0] == '+']))
		return "A valid integer is required.";
	errno = 0;
	x = strtoll(tmp, &end, 10);
	if (*end)
		return "A valid integer is required.";
	/* Python's int has no range: a value past int64 fails the bound the
	 * model field gives, never wraps or saturates into the store. */
	if ((f->has_min && x < f->min_value) || (errno == ERANGE && x < 0))
		return arena_printf(a, "Ensure this value is greater than or equal to %lld.",
		                    (long long)(f->has_min ? f->min_value : INT64_MIN));
	if ((f->has_max && x > f->max_value) || (errno == ERANGE && x > 0))
		return arena_printf(a, "Ensure this value is less than or equal to %lld.",
		                    (long long)(f->has_max ? f->max_value : INT64_MAX));
	out->u.i = x;
	return NULL;
}

static const char *check_boolean(const struct json *v, struct value *out)
{
	static const char *const truthy[] = {"t", "T", "y", "Y", "yes", "Yes", "YES", "true",
	                                     "True", "TRUE", "on", "On", "ON", "1"};
	static const char *const falsy[] = {"f", "F", "n", "N", "no", "No", "NO", "false",
	                                    "False", "FALSE", "off", "Off", "OFF", "0"};
	size_t i;

	if (v->type == JSON_BOOL) {
		out->u.i = v->u.b;
		return NULL;
	}
	if (v->type == JSON_NUMBER && (str_eq(v->u.s.p, v->u.s.n, "1") || str_eq(v->u.s.p, v->u.s.n, "0"))) {
		out->u.i = v->u.s.p[0] == '1';
		return NULL;
	}
	for (i = 0; v->type == JSON_STRING && i < ARRAY_LEN(truthy); i++) {
		if (str_eq(v->u.s.p, v->u.s.n, truthy[i]) || str_eq(v->u.s.p, v->u.s.n, falsy[i])) {
			out->u.i = str_eq(v->u.s.p, v->u.s.n, truthy[i]);
			return NULL;
		}
	}
	return "Must be a valid boolean.";
}

/* A primary key of another resource, as PrimaryKeyRelatedField reads it;
 * *given is what the does-not-exist message quotes. */
static const char *check_reference(struct arena *a, const struct json *v, struct value *out,
                                   const char **given)
{
	if (v->type == JSON_BOOL)
		return "Incorrect type. Expected pk value, received bool.";
	if (v->type == JSON_NUMBER && json_number_is_int(v) && v->u.s.p[0] != '-') {
		/* uuid.UUID(int=n) */
		unsigned long long x = strtoull(v->u.s.p, NULL, 10);
		int k;

		memset(out->u.uuid, 0, 16);
		for (k = 15; k >= 8; k--, x >>= 8)
			out->u.uuid[k] = (unsigned char)x;
		*given = v->u.s.p;
		return NULL;
	}
	if (v->type != JSON_STRING || uuid_parse(v->u.s.p, v->u.s.n, out->u.uuid) < 0)
		return arena_printf(a, "\xe2\x80\x9c%s\xe2\x80\x9d is not a valid UUID.", py_str(a, v));
	*given = v->u.s.p;
	return NULL;
}

/* Validate one present value; NULL when valid, else the message. */
static const char *check_value(struct arena *a, const struct field *f, const struct json *v,
                               struct value *out, const char **ref_given)
{
	out->null = false;
	if (v->type == JSON_NULL) {
		if (!(f->flags & F_NULL))
			return MSG_NULL;
		out->null = true;
		return NULL;
	}
	if (f->ref)
		return check_reference(a, v, out, ref_given);
	switch (f->type) {
	case CT_STRING:
	case CT_TEXT:
		if (f->nchoices && v->type != JSON_STRING && v->type != JSON_NUMBER)
			return arena_printf(a, "\"%s\" is not a valid choice.", py_str(a, v));
		return check_string(a, f, v, out);
	case CT_DECIMAL:
		return check_decimal(a, f, v, out);
	case CT_INTEGER:
		return check_integer(a, f, v, out);
	case CT_BOOLEAN:
		return check_boolean(v, out);
	case CT_DATE:
		if (v->type != JSON_STRING || date_parse(v->u.s.p, v->u.s.n, &out->u.i) < 0)
			return "Date has wrong format. Use one of these formats instead: YYYY-MM-DD.";
		return NULL;
	case CT_DATETIME:
		if (v->type != JSON_STRING || datetime_parse(v->u.s.p, v->u.s.n, &out->u.i) < 0)
			return "Datetime has wrong format. Use one of these formats instead: "
			       "YYYY-MM-DDThh:mm[:ss[.uuuuuu]][+HH:MM|-HH:MM|Z].";
		out->u.i = datetime_trunc_ms(out->u.i);
		return NULL;
	case CT_UUID:
		if (v->type != JSON_STRING || uuid_parse(v->u.s.p, v->u.s.n, out->u.uuid) < 0)
			return "Must be a valid UUID.";
		return NULL;
	case CT_JSON: {
		struct buf b = {0};
		const char *why = json_store_check(a, v);

		/* Refused alike in every mode, before any store sees it. */
		if (why)
			return why;
		json_write_stored(&b, v);
		out->u.s.p = arena_strndup(a, b.p, b.len);
		out->u.s.n = b.len;
		buf_free(&b);
		return NULL;
	}
	}
	return "Invalid value.";
}

static const char *validate_children(struct arena *a, const struct resource *ch,
                                     const struct json *v, struct child_rows *out);

int drf_validate(struct arena *a, const struct resource *r, const struct json *body,
                 enum drf_write mode, struct record *rec, struct verrors *ve,
                 struct pending_ref **refs, size_t *nrefs)
{
	size_t i;

	if (refs) {
		*refs = ARENA_ARRAY(a, struct pending_ref, r->nfields);
		*nrefs = 0;
	}
	for (i = 0; i < r->nfields; i++) {
		const struct field *f = &r->fields[i];
		const struct json *v = json_get(body, f->name);
		const char *msg, *given = NULL;
		struct value val;

		if (f->flags & F_READ_ONLY)
			continue;
		if (!v) {
			if ((f->flags & F_REQUIRED) && mode != DRF_PARTIAL)
				verrors_add(a, ve, (int)i, MSG_REQUIRED);
			continue;
		}
		msg = check_value(a, f, v, &val, &given);
		if (msg) {
			verrors_add(a, ve, (int)i, msg);
			continue;
		}
		rec->vals[i] = val;
		if (given && !val.null && refs) {
			(*refs)[*nrefs].field = (int)i;
			(*refs)[*nrefs].given = given;
			(*nrefs)++;
		}
	}
	for (i = 0; i < r->nchildren; i++) {
		const struct json *v = json_get(body, r->children[i]->name);

		if (!v)
			continue;
		ve->child[i] = validate_children(a, r->children[i], v, &rec->children[i]);
		if (ve->child[i])
			ve->count++;
	}
	return ve->count;
}

/* A list of embedded rows; NULL when valid, else the rendered errors. */
static const char *validate_children(struct arena *a, const struct resource *ch,
                                     const struct json *v, struct child_rows *out)
{
	struct buf b = {0};
	const char *res = NULL;
	size_t i;
	bool bad = false;

	if (v->type == JSON_NULL)
		return msg_list(a, MSG_NULL);
	if (v->type != JSON_ARRAY) {
		buf_puts(&b, "{\"non_field_errors\":[");
		json_put_cstr(&b, arena_printf(a, "Expected a list of items but got type \"%s\".",
		                               json_pytype(v)));
		buf_puts(&b, "]}");
		goto out;
	}
	out->given = true;
	out->n = v->u.a.n;
	out->rows = ARENA_ARRAY(a, struct record, v->u.a.n ? v->u.a.n : 1);
	buf_putc(&b, '[');
	for (i = 0; i < v->u.a.n; i++) {
		const struct json *item = v->u.a.v[i];
		struct verrors ve;

		out->rows[i] = *record_new(a, ch);
		buf_puts(&b, i ? "," : "");
		if (item->type != JSON_OBJECT) {
			buf_puts(&b, "{\"non_field_errors\":[");
			json_put_cstr(&b, arena_printf(a, "Invalid data. Expected a dictionary, but got %s.",
			                               json_pytype(item)));
			buf_puts(&b, "]}");
			bad = true;
			continue;
		}
		verrors_init(a, ch, &ve);
		if (drf_validate(a, ch, item, DRF_CREATE, &out->rows[i], &ve, NULL, NULL)) {
			verrors_render(&b, ch, &ve);
			bad = true;
		} else {
			buf_puts(&b, "{}");
		}
	}
	buf_putc(&b, ']');
	if (!bad)
		goto done;
out:
	res = arena_strndup(a, b.p, b.len);
done:
	buf_free(&b);
	return res;
}

void drf_fill_auto(const struct resource *r, struct record *rec, enum drf_write mode,
                   int64_t now_us)
{
	size_t i, c, k;

	for (i = 0; i < r->nfields; i++) {
		const struct field *f = &r->fields[i];
		struct value *v = &rec->vals[i];

		switch (f->autoset) {
		case AUTO_UUID4:
			if (mode == DRF_CREATE) {
				v->null = false;
				uuid_v4(v->u.uuid);
			}
			break;
		case AUTO_NOW_CREATE:
			if (mode == DRF_CREATE) {
				v->null = false;
				v->u.i = datetime_trunc_ms(now_us);
			}
			break;
		case AUTO_NOW:
			v->null = false;
			v->u.i = datetime_trunc_ms(now_us);
			break;
		case AUTO_NONE:
			if (mode == DRF_CREATE && v->null && (f->flags & F_DEFAULT))
				*v = f->def;
			break;
		}
	}
	/* Embedded rows the client sent are written anew; the others are kept. */
	for (c = 0; c < r->nchildren; c++)
		for (k = 0; rec->children[c].given && k < rec->children[c].n; k++)
			drf_fill_auto(r->children[c], &rec->children[c].rows[k], DRF_CREATE, now_us);
}

/* Representation ----------------------------------------------------- */

void drf_render_value(struct buf *b, const struct field *f, const struct value *v)
{
	char tmp[48];
	size_t n;

	if (v->null) {
		buf_puts(b, "null");
		return;
	}
	switch (f->type) {
	case CT_UUID:
		uuid_format(v->u.uuid, tmp);
		buf_putc(b, '"');
		buf_put(b, tmp, UUID_STR_LEN);
		buf_putc(b, '"');
		return;
	case CT_STRING:
	case CT_TEXT:
		json_put_str(b, v->u.s.p, v->u.s.n);
		return;
	case CT_INTEGER:
		buf_put_int(b, v->u.i);
		return;
	case CT_BOOLEAN:
		buf_puts(b, v->u.i ? "true" : "false");
		return;
	case CT_DECIMAL:
		n = decimal_format(v->u.i, f->places, tmp);
		break;
	case CT_DATE:
		n = date_format(v->u.i, tmp);
		break;
	case CT_DATETIME:
		n = datetime_format_api(v->u.i, tmp);
		break;
	case CT_JSON:
		buf_put(b, v->u.s.p, v->u.s.n);
		return;
	default:
		return;
	}
	buf_putc(b, '"');
	buf_put(b, tmp, n);
	buf_putc(b, '"');
}

/* "name": — made once when the configuration was read, or now for a
 * resource built without one. */
static void put_key(struct buf *b, const char *key, const char *name)
{
	if (key) {
		buf_puts(b, key);
		return;
	}
	json_put_cstr(b, name);
	buf_putc(b, ':');
}

void drf_render_record(struct buf *b, const struct resource *r, const struct record *rec)
{
	size_t i, c, k;
	bool first = true;

	buf_putc(b, '{');
	for (i = 0; i <= r->nfields; i++) {
		if (i < r->nfields) {
			if (!first)
				buf_putc(b, ',');
			put_key(b, r->fields[i].key, r->fields[i].name);
			drf_render_value(b, &r->fields[i], &rec->vals[i]);
			first = false;
		}
		for (c = 0; c < r->nchildren; c++) {
			const struct resource *ch = r->children[c];

			if (!(ch->after == (int)i || (ch->after < 0 && i == r->nfields)))
				continue;
			if (!first)
				buf_putc(b, ',');
			put_key(b, ch->key, ch->name);
			buf_putc(b, '[');
			for (k = 0; k < rec->children[c].n; k++) {
				buf_puts(b, k ? "," : "");
				drf_render_record(b, ch, &rec->children[c].rows[k]);
			}
			buf_putc(b, ']');
			first = false;
		}
	}
	buf_putc(b, '}');
}

int value_cmp(const struct field *f, const struct value *a, const struct value *b)
{
	int c;

	/* Null sorts first, as in SQLite and MongoDB. */
	if (a->null || b->null)
		return a->null && b->null ? 0 : a->null ? -1 : 1;
	switch (f->type) {
	case CT_UUID:
		return memcmp(a->u.uuid, b->u.uuid, 16);
	case CT_STRING:
	case CT_TEXT:
	case CT_JSON:
		c = memcmp(a->u.s.p, b->u.s.p, a->u.s.n < b->u.s.n ? a->u.s.n : b->u.s.n);
		return c ? c : (a->u.s.n > b->u.s.n) - (a->u.s.n < b->u.s.n);
	default:
		return (a->u.i > b->u.i) - (a->u.i < b->u.i);
	}
}

/* qsort has no context argument; each loop thread sorts on its own. */
static __thread const struct resource *sort_res;

static int cmp_rows(const void *x, const void *y)
{
	const struct record *a = x, *b = y;
	size_t i;
	int c;

	for (i = 0; i < sort_res->nordering; i++) {
		const struct order_term *t = &sort_res->ordering[i];

		c = value_cmp(&sort_res->fields[t->field], &a->vals[t->field], &b->vals[t->field]);
		if (c)
			return t->desc ? -c : c;
	}
	return value_cmp(&sort_res->fields[sort_res->pk], &a->vals[sort_res->pk],
	                 &b->vals[sort_res->pk]);
}

void drf_sort_children(const struct resource *r, struct record *rec)
{
	size_t c;

	for (c = 0; c < r->nchildren; c++) {
		if (rec->children[c].n < 2)
			continue;
		sort_res = r->children[c];
		qsort(rec->children[c].rows, rec->children[c].n, sizeof(struct record), cmp_rows);
	}
}

const char *drf_parse_filter(struct arena *a, const struct field *f, const char *text,
                             struct value *out)
{
	struct json j = {.type = JSON_STRING};
	const char *given = NULL, *msg;

	j.u.s.p = text;
	j.u.s.n = strlen(text);
	if (f->nchoices) {
		size_t i;

		for (i = 0; i < f->nchoices; i++) {
			if (strcmp(text, f->choices[i]) == 0) {
				out->null = false;
				out->u.s.p = text;
				out->u.s.n = j.u.s.n;
				return NULL;
			}
		}
		return arena_printf(a, "Select a valid choice. %s is not one of the available choices.", text);
	}
	out->null = false;
	if (f->ref)
		return uuid_parse(text, j.u.s.n, out->u.uuid) < 0
		       ? "Select a valid choice. That choice is not one of the available choices." : NULL;
	if (!(msg = check_value(a, f, &j, out, &given)))
		return NULL;
	switch (f->type) {
	case CT_DECIMAL:
	case CT_INTEGER:
		return "Enter a number.";
	case CT_DATE:
		return "Enter a valid date.";
	case CT_DATETIME:
		return "Enter a valid date/time.";
	case CT_UUID:
		return "Enter a valid UUID.";
	default:
		return msg;
	}
}
