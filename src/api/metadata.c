/*
 * metadata.c — the answer to OPTIONS, as DRF's SimpleMetadata gives it.
 *
 * The view's name ("Invoice List", "Invoice Instance", "Summary"), what it
 * renders and parses, and for a view that creates or updates records the
 * fields a client may send: each one's type, whether it is required or
 * read-only, its label, length and choices, children as nested objects.
 */
#include <ctype.h>
#include <string.h>

#include "json.h"
#include "metadata.h"

/* Django's capfirst of a name with "_" as " ": "client_email" → "Client email". */
static void put_label(struct buf *b, const char *name, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		buf_putc(b, name[i] == '_' ? ' ' : i == 0 ? (char)toupper((unsigned char)name[i]) : name[i]);
}

/* The singular, as the view's class names it: "invoice_items" → "Invoice Item". */
static void put_singular(struct buf *b, const char *name)
{
	size_t n = strlen(name), i;

	if (n > 3 && strcmp(name + n - 3, "ies") == 0) {
		n -= 3;
	} else if (n > 1 && name[n - 1] == 's') {
		n--;
	}
	for (i = 0; i < n; i++)
		buf_putc(b, name[i] == '_' ? ' ' : i == 0 || name[i - 1] == '_' ?
		         (char)toupper((unsigned char)name[i]) : name[i]);
	if (n < strlen(name) && strcmp(name + n, "ies") == 0)
		buf_putc(b, 'y');
}

/* SimpleMetadata's label_lookup for the serializer field of each type. */
static const char *type_name(const struct field *f)
{
	if (f->ref_name)
		return "field";         /* PrimaryKeyRelatedField */
	if (f->nchoices)
		return "choice";
	switch (f->type) {
	case CT_UUID:
	case CT_STRING:
	case CT_TEXT: return f->flags & F_EMAIL ? "email" : "string";
	case CT_INTEGER: return "integer";
	case CT_BOOLEAN: return "boolean";
	case CT_DECIMAL: return "decimal";
	case CT_DATE: return "date";
	case CT_DATETIME: return "datetime";
	case CT_JSON: return "field";
	}
	return "field";
}

static bool read_only(const struct resource *r, size_t i)
{
	const struct field *f = &r->fields[i];

	return (f->flags & F_READ_ONLY) || f->autoset != AUTO_NONE;
}

static void put_field(struct buf *b, const struct resource *r, size_t i)
{
	const struct field *f = &r->fields[i];
	bool ro = read_only(r, i);
	size_t k;

	buf_printf(b, "{\"type\":\"%s\",\"required\":%s,\"read_only\":%s,\"label\":\"", type_name(f),
	           (f->flags & F_REQUIRED) && !ro ? "true" : "false", ro ? "true" : "false");
	put_label(b, f->name, strlen(f->name));
	buf_putc(b, '"');
	if (f->max_length > 0 && !f->nchoices && (f->type == CT_STRING || f->type == CT_TEXT))
		buf_printf(b, ",\"max_length\":%d", f->max_length);
	if (f->nchoices && !ro) {
		buf_puts(b, ",\"choices\":[");
		for (k = 0; k < f->nchoices; k++) {
			buf_puts(b, k ? ",{\"value\":" : "{\"value\":");
			json_put_cstr(b, f->choices[k]);
			buf_puts(b, ",\"display_name\":");
			if (f->choice_labels && f->choice_labels[k]) {
				json_put_cstr(b, f->choice_labels[k]);
			} else {
				struct buf l = {0};

				put_label(&l, f->choices[k], strlen(f->choices[k]));
				json_put_str(b, l.p ? l.p : "", l.len);
				buf_free(&l);
			}
			buf_putc(b, '}');
		}
		buf_putc(b, ']');
	}
	buf_putc(b, '}');
}

/* The serializer's fields, children where the answers show them. */
static void put_fields(struct buf *b, const struct resource *r)
{
	size_t i, c;
	bool first = true;

	buf_putc(b, '{');
	for (i = 0; i <= r->nfields; i++) {
		if (i < r->nfields) {
			buf_puts(b, first ? "" : ",");
			json_put_cstr(b, r->fields[i].name);
			buf_putc(b, ':');
			put_field(b, r, i);
			first = false;
		}
		for (c = 0; c < r->nchildren; c++) {
			const struct resource *ch = r->children[c];

			if (!(ch->after == (int)i || (ch->after < 0 && i == r->nfields)))
				continue;
			buf_puts(b, first ? "" : ",");
			json_put_cstr(b, ch->name);
			buf_puts(b, ":{\"type\":\"field\",\"required\":false,\"read_only\":false,\"label\":\"");
			put_label(b, ch->name, strlen(ch->name));
			buf_puts(b, "\",\"child\":{\"type\":\"nested object\",\"required\":false,\"read_only\":false,"
			         "\"children\":");
			put_fields(b, ch);
			buf_puts(b, "}}");
			first = false;
		}
	}
	buf_putc(b, '}');
}

void metadata_render(struct buf *b, const struct resource *r, enum metadata_view kind, const struct view *v,
                     bool writable)
{
	buf_puts(b, "{\"name\":\"");
	if (kind == META_VIEW) {
		put_label(b, v->name, strlen(v->name));
	} else {
		put_singular(b, r->name);
		buf_puts(b, kind == META_LIST ? " List" : " Instance");
	}
	buf_puts(b, "\",\"description\":\"\",\"renders\":[\"application/json\"],\"parses\":[\"application/json\","
	         "\"application/x-www-form-urlencoded\",\"multipart/form-data\"]");
	if (writable) {
		buf_puts(b, kind == META_LIST ? ",\"actions\":{\"POST\":" : ",\"actions\":{\"PUT\":");
		put_fields(b, r);
		buf_putc(b, '}');
	}
	buf_putc(b, '}');
}
