/*
 * init_draft.c — the draft `cutover init` writes (see init.c): the plans
 * made from the schema rendered as the configuration's JSON, each resource
 * with its fields, children, filters, ordering, unique constraints and
 * cascades, and beside each the comments on the guesses that made it.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "init_private.h"
#include "json.h"
#include "migrate.h"
#include "schema.h"

/* The names of a child's position column: its ordering. */
static const char *const position_names[] = {"position", "sort_order", "order", "ordering", "rank",
                                             "seq", "sequence", NULL};

/* Writing ------------------------------------------------------------- */

/* A 'string' literal of n bytes, in place, without its quotes and with
 * each '' one '; false when a lone ' shows it is an expression ('a' || 'b'). */
static bool sql_unquote(char *text, size_t n)
{
	size_t i, k = 0;

	for (i = 1; i + 1 < n; i++) {
		if (text[i] == '\'' && (i + 2 >= n || text[++i] != '\''))
			return false;
		text[k++] = text[i];
	}
	text[k] = '\0';
	return true;
}

/* A json column's default, re-written from its parsed value: text that is
 * no JSON would be written into the draft as it is.  The loader keeps a
 * json default as it is given, with no ${…} taken from the environment, so
 * it is not escaped as strings are. */
static bool put_json(struct buf *b, const char *text)
{
	struct arena a;
	const struct json *v;
	char msg[128];
	size_t off;

	arena_init(&a, 1024);
	if ((v = json_parse(&a, text, strlen(text), msg, sizeof(msg), &off)))
		json_write(b, v);
	arena_reset(&a);
	return v != NULL;
}

/* A column default as the field's JSON default; false when it is not a
 * constant (now(), a sequence) or does not fit the type. */
static bool put_default(struct buf *b, const struct guess *g, const char *def)
{
	char text[256];
	const char *cast;
	size_t n;

	if (!def)
		return false;
	n = (cast = strstr(def, "::")) ? (size_t)(cast - def) : strlen(def);
	while (n >= 2 && def[0] == '(' && def[n - 1] == ')')
		def++, n -= 2;
	if (n >= sizeof(text) || n == 0)
		return false;
	memcpy(text, def, n);
	text[n] = '\0';
	if (strcasecmp(text, "null") == 0) {
		buf_puts(b, "null");
		return true;
	}
	if (strcmp(g->type, "boolean") == 0) {
		bool t = strcasecmp(text, "true") == 0 || strcmp(text, "1") == 0;

		if (!t && strcasecmp(text, "false") != 0 && strcmp(text, "0") != 0)
			return false;
		buf_puts(b, t ? "true" : "false");
		return true;
	}
	if (text[0] == '\'' && n >= 2 && text[n - 1] == '\'') {
		if (!sql_unquote(text, n))
			return false;
	} else if (!(isdigit((unsigned char)text[0]) || text[0] == '-')) {
		return false;
	}
	if (strcmp(g->type, "integer") == 0) {
		char *end;

		(void)strtoll(text, &end, 10);
		if (*end || !*text)
			return false;
		buf_puts(b, text);
	} else if (strcmp(g->type, "decimal") == 0) {
		int64_t units;
		char out[64];

		if (decimal_from_text_round(text, strlen(text), g->places, &units) < 0)
			return false;
		decimal_format(units, g->places, out);
		config_put_str(b, out);
	} else if (strcmp(g->type, "json") == 0) {
		return put_json(b, text);
	} else {
		config_put_str(b, text);
	}
	return true;
}

static const char *field_name(struct init *in, const struct plan *p, const char *column)
{
	return init_fk_of(p->t, column) ? init_fk_field(in->a, column) : column;
}

static void write_field(struct init *in, const struct plan *p, size_t i, struct buf *b)
{
	const struct schema_column *c = &p->t->cols[i];
	const struct guess *g = &p->g[i];
	const char *name = field_name(in, p, c->name);
	size_t k, mark;

	buf_puts(b, "{\"name\": ");
	config_put_str(b, name);
	buf_printf(b, ", \"type\": \"%s\"", g->type);
	if (strcmp(name, c->name) != 0) {
		buf_puts(b, ", \"column\": ");
		config_put_str(b, c->name);
	}
	if (c->pk) {
		buf_puts(b, ", \"primary_key\": true, \"auto\": \"uuid4\"}");
		return;
	}
	if (g->ref) {
		buf_puts(b, ", \"references\": ");
		config_put_str(b, g->ref->name);
	}
	if (g->max_length)
		buf_printf(b, ", \"max_length\": %d", g->max_length);
	if (g->digits)
		buf_printf(b, ", \"digits\": %d, \"places\": %d", g->digits, g->places);
	if (g->has_min)
		buf_printf(b, ", \"min\": %lld", (long long)g->min);
	if (g->has_max)
		buf_printf(b, ", \"max\": %lld", (long long)g->max);
	if (strcmp(g->type, "string") == 0 && (strcmp(c->name, "email") == 0 || strstr(c->name, "_email")))
		buf_puts(b, ", \"email\": true");
	if (c->nchoices) {
		buf_puts(b, ", \"choices\": [");
		for (k = 0; k < c->nchoices; k++) {
			buf_puts(b, k ? ", " : "");
			config_put_str(b, c->choices[k]);
		}
		buf_putc(b, ']');
	}
	if (g->autoset) {
		buf_printf(b, ", \"auto\": \"%s\"}", g->autoset);
		return;
	}
	mark = b->len;
	buf_puts(b, ", \"default\": ");
	if (put_default(b, g, c->def)) {
		if (!c->not_null)
			buf_puts(b, ", \"null\": true");
	} else {
		b->len = mark;
		buf_puts(b, c->not_null ? ", \"required\": true" : ", \"null\": true, \"default\": null");
	}
	buf_putc(b, '}');
}

/* A member of an object being written: the separator, then the indent. */
static void member(struct buf *b, bool *first, int indent)
{
	buf_printf(b, "%s\n%*s", *first ? "" : ",", indent, "");
	*first = false;
}

static void comments(struct buf *b, const struct buf *notes, int indent)
{
	const char *p = notes->p, *end = notes->p + notes->len;

	while (p && p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));

		buf_printf(b, "\n%*s// %.*s", indent, "", (int)(nl - p), p);
		p = nl + 1;
	}
}

/* A list of names as a JSON array. */
static void name_list(struct buf *b, const char *const *names, size_t n)
{
	size_t i;

	buf_putc(b, '[');
	for (i = 0; i < n; i++) {
		buf_puts(b, i ? ", " : "");
		config_put_str(b, names[i]);
	}
	buf_putc(b, ']');
}

/* The position of a column in its table, or -1. */
static int column_index(const struct schema_table *t, const char *name)
{
	const struct schema_column *c = schema_column(t, name);

	return c ? (int)(c - t->cols) : -1;
}

static void add_name(const char **list, size_t *n, const char *name)
{
	size_t i;

	for (i = 0; i < *n; i++)
		if (strcmp(list[i], name) == 0)
			return;
	list[(*n)++] = name;
}

/* Values a list is ordered by rather than filtered on. */
static bool orderable_type(const char *type)
{
	return strcmp(type, "datetime") == 0 || strcmp(type, "date") == 0 || strcmp(type, "decimal") == 0;
}

/* Filters and ordering fields from the indexes and enumerations; the
 * default ordering from a creation time. */
static void write_lists(struct init *in, struct plan *p, struct buf *b, bool *first, int indent)
{
	const struct schema_table *t = p->t;
	const char **filters = ARENA_ARRAY(in->a, const char *, t->ncols + 1);
	const char **orderable = ARENA_ARRAY(in->a, const char *, t->ncols + 1);
	const char *created = NULL;
	size_t nf = 0, no = 0, i;

	for (i = 0; i < t->nidx; i++) {
		const struct schema_index *x = &t->idx[i];
		const char *col = x->ncolumns ? x->columns[0] : NULL;
		int k;

		if (x->unique)
			continue;
		if (col && p->owner && strcmp(col, p->owner) == 0)
			col = x->ncolumns > 1 ? x->columns[1] : NULL;
		if (!col || (k = column_index(t, col)) < 0 || !p->g[k].type || t->cols[k].pk)
			continue;
		if (orderable_type(p->g[k].type)) {
			add_name(orderable, &no, field_name(in, p, col));
			init_note(in, p, "ordering by %s allowed: index %s", col, x->name);
		} else if (strcmp(p->g[k].type, "json") != 0 && strcmp(p->g[k].type, "text") != 0) {
			add_name(filters, &nf, field_name(in, p, col));
			init_note(in, p, "filter %s: index %s", field_name(in, p, col), x->name);
		}
	}
	for (i = 0; i < t->ncols; i++) {
		if (t->cols[i].nchoices && p->g[i].type) {
			add_name(filters, &nf, t->cols[i].name);
			init_note(in, p, "filter %s: its values are an enumeration", t->cols[i].name);
		}
		if (p->g[i].autoset && strcmp(p->g[i].autoset, "now_on_create") == 0 && !created)
			created = t->cols[i].name;
	}
	if (nf) {
		member(b, first, indent);
		buf_puts(b, "\"filters\": ");
		name_list(b, filters, nf);
	}
	if (created) {
		add_name(orderable, &no, created);
		init_note(in, p, "newest first (-%s), as lists of records usually are", created);
	}
	if (no) {
		member(b, first, indent);
		buf_puts(b, "\"ordering_fields\": ");
		name_list(b, orderable, no);
	}
	if (created) {
		member(b, first, indent);
		buf_puts(b, "\"ordering\": [");
		config_put_str(b, arena_printf(in->a, "-%s", created));
		buf_putc(b, ']');
	}
}

/* Unique constraints, with DRF's messages: the owner is always part of the
 * gateway's check. */
static void write_uniques(struct init *in, struct plan *p, struct buf *b, bool *first, int indent)
{
	const struct schema_table *t = p->t;
	size_t i, k, n = 0;

	for (i = 0; i < t->nidx; i++) {
		const struct schema_index *x = &t->idx[i];
		const char **fields = ARENA_ARRAY(in->a, const char *, x->ncolumns + 1);
		const char **names = ARENA_ARRAY(in->a, const char *, x->ncolumns + 1);
		size_t nf = 0;
		bool owned = false, ok = x->unique && x->ncolumns;
		struct buf msg = {0};

		for (k = 0; ok && k < x->ncolumns; k++) {
			int c = column_index(t, x->columns[k]);

			if (p->owner && strcmp(x->columns[k], p->owner) == 0) {
				owned = true;
				names[k] = init_fk_field(in->a, p->owner);
			} else if (c >= 0 && p->g[c].type && !t->cols[c].pk) {
				names[k] = fields[nf++] = field_name(in, p, x->columns[k]);
			} else {
				ok = false;
			}
		}
		if (!ok || !nf)
			continue;
		if (owned || x->ncolumns > 1) {
			buf_puts(&msg, "The fields ");
			for (k = 0; k < x->ncolumns; k++)
				buf_printf(&msg, "%s%s", k ? ", " : "", names[k]);
			buf_puts(&msg, " must make a unique set.");
		} else {
			buf_printf(&msg, "%s with this %s already exists.", p->model, fields[0]);
			for (k = 0; k < msg.len; k++)
				msg.p[k] = msg.p[k] == '_' ? ' ' : msg.p[k];
			init_note(in, p, "WARNING: %s is unique across every user in the legacy store; the gateway "
			          "checks it among one owner's records", fields[0]);
		}
		if (!n++) {
			member(b, first, indent);
			buf_puts(b, "\"unique\": [");
		}
		buf_printf(b, "%s\n%*s{\"fields\": ", n > 1 ? "," : "", indent + 2, "");
		name_list(b, fields, nf);
		buf_puts(b, ", \"message\": ");
		config_put_str(b, buf_cstr(&msg));
		buf_putc(b, '}');
		init_note(in, p, "unique %s: %s", x->name, buf_cstr(&msg));
		buf_free(&msg);
	}
	if (n)
		buf_printf(b, "\n%*s]", indent, "");
}

/* Resources whose rows refer to p's and go with them. */
static void write_cascades(struct init *in, struct plan *p, struct buf *b, bool *first, int indent)
{
	size_t i, k, n = 0;

	for (i = 0; i < in->n; i++) {
		struct plan *q = &in->plans[i];

		for (k = 0; q->role == ROLE_RESOURCE && k < q->t->nfks; k++) {
			const struct schema_fk *f = &q->t->fks[k];
			int c = column_index(q->t, f->column);

			if (strcmp(f->ref_table, p->t->name) != 0 || c < 0 || q->g[c].ref != p ||
			    !(f->cascade || (in->django && f->deferred)))
				continue;
			if (!n++) {
				member(b, first, indent);
				buf_puts(b, "\"cascade\": [");
			}
			buf_printf(b, "%s{\"resource\": ", n > 1 ? ", " : "");
			config_put_str(b, q->name);
			buf_puts(b, ", \"field\": ");
			config_put_str(b, field_name(in, q, f->column));
			buf_putc(b, '}');
			init_note(in, p, "deleting one deletes the %s that refer to it (%s)", q->name,
			          f->cascade ? "ON DELETE CASCADE" :
			          "Django keeps on_delete in the model; CASCADE, its usual choice, assumed");
		}
	}
	if (n)
		buf_putc(b, ']');
}

static void write_fields(struct init *in, struct plan *p, struct buf *b, bool *first, int indent)
{
	size_t i;
	bool any = false;

	member(b, first, indent);
	buf_puts(b, "\"fields\": [");
	for (i = 0; i < p->t->ncols; i++) {
		if (!p->g[i].type)
			continue;
		buf_printf(b, "%s\n%*s", any ? "," : "", indent + 2, "");
		write_field(in, p, i, b);
		any = true;
	}
	buf_printf(b, "\n%*s]", indent, "");
}

static void write_child(struct init *in, struct plan *c, struct buf *b, int indent)
{
	const struct plan *p = c->parent;
	const char *after = NULL;
	bool first = true;
	size_t i;

	/* Shown after the parent's last field a client writes, before the
	 * times the gateway sets. */
	for (i = 0; i < p->t->ncols; i++)
		if (p->g[i].type && !p->g[i].autoset && !p->t->cols[i].pk)
			after = field_name(in, p, p->t->cols[i].name);
	if (after)
		init_note(in, c, "shown after %s, the last field a client writes", after);
	comments(b, &c->notes, indent);
	buf_printf(b, "\n%*s{", indent, "");
	member(b, &first, indent + 2);
	buf_puts(b, "\"name\": ");
	config_put_str(b, c->name);
	member(b, &first, indent + 2);
	buf_puts(b, "\"table\": ");
	config_put_str(b, c->t->name);
	member(b, &first, indent + 2);
	buf_puts(b, "\"fk_column\": ");
	config_put_str(b, c->fk);
	if (after) {
		member(b, &first, indent + 2);
		buf_puts(b, "\"after\": ");
		config_put_str(b, after);
	}
	write_fields(in, c, b, &first, indent + 2);
	for (i = 0; i < c->t->ncols; i++) {
		if (c->g[i].type && strcmp(c->g[i].type, "integer") == 0 &&
		    init_name_in(c->t->cols[i].name, position_names)) {
			member(b, &first, indent + 2);
			buf_puts(b, "\"ordering\": ");
			name_list(b, &c->t->cols[i].name, 1);
			break;
		}
	}
	buf_printf(b, "\n%*s}", indent, "");
}

static void write_resource(struct init *in, struct plan *p, struct buf *b)
{
	bool first = true;
	size_t i, nch = 0;
	struct buf body = {0};

	/* The lists first, after page_size: their notes belong in the
	 * comment above the resource. */
	first = false;
	write_lists(in, p, &body, &first, 6);
	write_uniques(in, p, &body, &first, 6);
	write_cascades(in, p, &body, &first, 6);
	comments(b, &p->notes, 4);
	buf_puts(b, "\n    {");
	first = true;
	member(b, &first, 6);
	buf_puts(b, "\"name\": ");
	config_put_str(b, p->name);
	member(b, &first, 6);
	buf_puts(b, "\"path\": ");
	config_put_str(b, arena_printf(in->a, "%s%s/", in->o->prefix, p->name));
	member(b, &first, 6);
	buf_puts(b, "\"table\": ");
	config_put_str(b, p->t->name);
	member(b, &first, 6);
	buf_puts(b, "\"collection\": ");
	config_put_str(b, p->name);
	member(b, &first, 6);
	buf_puts(b, "\"owner_column\": ");
	config_put_str(b, p->owner);
	write_fields(in, p, b, &first, 6);
	for (i = 0; i < in->n; i++) {
		if (in->plans[i].role != ROLE_CHILD || in->plans[i].parent != p)
			continue;
		if (!nch++) {
			member(b, &first, 6);
			buf_puts(b, "\"children\": [");
		} else {
			buf_putc(b, ',');
		}
		write_child(in, &in->plans[i], b, 8);
	}
	if (nch)
		buf_puts(b, "\n      ]");
	member(b, &first, 6);
	buf_puts(b, "\"page_size\": 20");
	buf_put(b, body.p, body.len);
	buf_free(&body);
	buf_puts(b, "\n    }");
}

/* The whole draft ------------------------------------------------------ */

/* The store URL as the draft names it: never with a password in it. */
static const char *url_setting(struct init *in)
{
	const char *u = in->o->from, *at = strchr(u, '@'), *colon = strchr(u + 11, ':');

	if ((at && colon && colon < at) || strpbrk(u, "${}\""))
		return "${DATABASE_URL}";
	return arena_printf(in->a, "${DATABASE_URL:-%s}", u);
}

/* The head of comments and settings, then every resource. */
void init_write_draft(struct init *in, struct buf *b)
{
	size_t i, nres = 0;

	buf_printf(b, "// A cutover configuration drafted by `cutover init` from a %s schema.\n"
	              "// Every guess is a comment beside what it made; read them, set what no schema\n"
	              "// holds (defaults kept in the application, choices, search fields, views), then\n"
	              "// run `cutover check -c THIS_FILE`.\n", in->s.kind);
	if (in->users) {
		init_comment_line(b, "Users: %s, the application's own (its paths pass through to it); records",
		                  in->users);
		buf_puts(b, "// belong to them through the owner columns below.\n");
	}
	for (i = 0; i < in->n; i++)
		if (in->plans[i].role == ROLE_SKIP)
			init_comment_line(b, "Not served: %s: %s.", in->plans[i].t->name, in->plans[i].why);
	buf_puts(b, "{\n");
	buf_puts(b, "  \"listen\": \"${CUTOVER_LISTEN:-127.0.0.1:8080}\",\n  \"database_url\": ");
	json_put_cstr(b, url_setting(in));   /* its ${…} are meant */
	buf_puts(b, ",\n  \"mongodb_uri\": \"${MONGODB_URI:-}\",\n"
	            "  \"mode\": \"${DATABASE_MODE:-legacy}\",\n"
	            "  // The application's token secret: the gateway checks the same tokens.\n"
	            "  \"jwt\": {\"secret\": \"${JWT_SECRET}\", \"user_id_claim\": \"user_id\"},\n"
	            "  \"journal\": \"${CUTOVER_JOURNAL:-cutover-journal.sqlite3}\",\n"
	            "  // Paths no resource owns go to the application.\n"
	            "  \"upstream\": {\"url\": \"${CUTOVER_UPSTREAM:-}\"},\n"
	            "  \"admin\": {\"token\": \"${CUTOVER_ADMIN_TOKEN:-}\"},\n");
	if (in->o->profile) {
		buf_puts(b, "  // The shape of the API's answers (drf, express, or one of \"profiles\").\n  \"profile\": ");
		config_put_str(b, in->o->profile);
		buf_puts(b, ",\n");
	}
	buf_puts(b, "  \"resources\": [");
	for (i = 0; i < in->n; i++) {
		if (in->plans[i].role != ROLE_RESOURCE)
			continue;
		buf_puts(b, nres++ ? "," : "");
		write_resource(in, &in->plans[i], b);
	}
	buf_puts(b, "\n  ]\n}\n");
}
