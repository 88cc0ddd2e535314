/*
 * init.c — `cutover init`: a configuration draft from a live schema.
 *
 * The schema (schema.h) says tables, types, keys, foreign keys, unique
 * constraints, indexes and enumeration checks; the rest is guessed, and
 * every guess is written beside what it produced, as a comment in the
 * draft and as a line on stderr, so a person reads why before trusting it:
 *
 *   - a table keyed by a uuid whose rows name their user through a foreign
 *     key to the users table is a resource, owned through that column;
 *   - a table with no owner of its own, whose one foreign key leads to a
 *     resource and which nothing else references, is embedded in that
 *     resource as its children;
 *   - other foreign keys are references; Django keeps on_delete in the
 *     application, so there CASCADE (its usual choice) is assumed;
 *   - indexed columns become filters (values to match) or ordering fields
 *     (dates and amounts); an enumeration is a filter too;
 *   - created_at / updated_at are set by the gateway, as Django's
 *     auto_now_add / auto_now set them.
 *
 * What no schema holds (defaults Django keeps in Python, choices without a
 * CHECK, search fields, the application's own views) is left for a person.
 */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "json.h"
#include "migrate.h"
#include "schema.h"

enum role { ROLE_SKIP, ROLE_RESOURCE, ROLE_CHILD };

/* What a column becomes. */
struct guess {
	const char *type;           /* canonical type; NULL: not a field of the draft */
	int max_length, digits, places;
	bool has_min, has_max;
	int64_t min, max;
	const char *autoset;        /* "now_on_create", "now" or NULL */
	struct plan *ref;           /* the resource a foreign key leads to */
};

struct plan {
	struct schema_table *t;
	enum role role;
	const char *why;            /* the role's reason */
	const char *pk;
	const char *owner;          /* owner column, resources only */
	struct plan *parent;        /* children: the resource they are embedded in */
	const char *fk;             /* children: the column naming the parent */
	const char *model;          /* singular name: "invoice", "item" */
	const char *name;           /* plural: the resource's or the child's name */
	struct buf notes;           /* comment lines for the draft, one guess each */
	struct guess *g;            /* one per column of t */
};

struct init {
	const struct init_opts *o;
	struct schema s;
	struct arena *a;
	struct plan *plans;
	size_t n;
	const char *users;          /* the users table, or NULL */
	bool django;                /* the schema has django_migrations */
	int warnings;
};

static void note(struct init *in, struct plan *p, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Text for a // comment (and a line on stderr).  Names and CHECK text
 * come from the schema: a newline in one would end the comment and leave
 * the rest to be read as JSON, and a star-slash would end a block comment;
 * so each control character is written as its JSON escape, star-slash as
 * *\/. */
static void put_comment_text(struct buf *b, const char *s)
{
	static const char esc[] = {['\n'] = 'n', ['\r'] = 'r', ['\t'] = 't'};

	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c < sizeof(esc) && esc[c])
			buf_printf(b, "\\%c", esc[c]);
		else if (c < 0x20 || c == 0x7f)
			buf_printf(b, "\\u%04x", c);
		else if (c == '*' && s[1] == '/')
			buf_puts(b, "*\\");     /* the / follows */
		else
			buf_putc(b, (char)c);
	}
}

/* fmt formatted, owned by the caller; NULL when memory ran out. */
static char *vformat(const char *fmt, va_list ap)
{
	char *s;

	return vasprintf(&s, fmt, ap) == -1 ? NULL : s;
}

/* A // line of the draft's head. */
static void comment_line(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void comment_line(struct buf *b, const char *fmt, ...)
{
	va_list ap;
	char *line;

	va_start(ap, fmt);
	line = vformat(fmt, ap);
	va_end(ap);
	buf_puts(b, "// ");
	put_comment_text(b, line ? line : "?");
	buf_putc(b, '\n');
	free(line);
}

/* A guess: a comment line in the draft, and the same on stderr. */
static void note(struct init *in, struct plan *p, const char *fmt, ...)
{
	struct buf clean = {0}, table = {0};
	va_list ap;
	char *line;

	va_start(ap, fmt);
	line = vformat(fmt, ap);
	va_end(ap);
	if (!line)
		return;
	if (strncmp(line, "WARNING", 7) == 0)
		in->warnings++;
	put_comment_text(&clean, line);
	put_comment_text(&table, p->t->name);
	fprintf(stderr, "init: %s: %s\n", buf_cstr(&table), buf_cstr(&clean));
	buf_printf(&p->notes, "%s\n", buf_cstr(&clean));
	buf_free(&clean);
	buf_free(&table);
	free(line);
}

static struct plan *plan_of(struct init *in, const char *table)
{
	size_t i;

	for (i = 0; i < in->n; i++)
		if (strcmp(in->plans[i].t->name, table) == 0)
			return &in->plans[i];
	return NULL;
}

static bool listed(const char *list, const char *name)
{
	size_t n = strlen(name);
	const char *p = list;

	while (p && *p) {
		size_t k = strcspn(p, ",");

		if (k == n && strncmp(p, name, n) == 0)
			return true;
		p += k + (p[k] == ',');
	}
	return false;
}

/* Names ------------------------------------------------------------------ */

static const char *plural(struct arena *a, const char *s)
{
	size_t n = strlen(s);

	if (n > 2 && strcmp(s + n - 2, "ia") == 0)
		return s;               /* media, criteria */
	if (n > 1 && s[n - 1] == 'y' && !strchr("aeiou", s[n - 2]))
		return arena_printf(a, "%.*sies", (int)n - 1, s);
	if ((n && (s[n - 1] == 's' || s[n - 1] == 'x' || s[n - 1] == 'z')) ||
	    (n > 1 && (strcmp(s + n - 2, "ch") == 0 || strcmp(s + n - 2, "sh") == 0)))
		return n && s[n - 1] == 's' && (n < 2 || s[n - 2] != 's') ? s : arena_printf(a, "%ses", s);
	return arena_printf(a, "%ss", s);
}

/* The model a table holds: Django names tables app_model, so the app's
 * label goes; other schemas keep the table's name, made singular. */
static const char *model_name(struct init *in, const char *table)
{
	const char *u = strchr(table, '_');
	size_t n;

	if (in->django && u && u[1])
		return u + 1;
	n = strlen(table);
	if (n > 3 && strcmp(table + n - 3, "ies") == 0)
		return arena_printf(in->a, "%.*sy", (int)n - 3, table);
	if (n > 4 && (strcmp(table + n - 4, "sses") == 0 || strcmp(table + n - 4, "ches") == 0 ||
	              strcmp(table + n - 4, "shes") == 0 || strcmp(table + n - 3, "xes") == 0))
		return arena_strndup(in->a, table, n - 2);
	if (n > 1 && table[n - 1] == 's' && !strchr("su", table[n - 2]))
		return arena_strndup(in->a, table, n - 1);
	return table;
}

/* A foreign key's field name: the column without its _id, as Django names
 * the field behind it. */
static const char *fk_field(struct arena *a, const char *column)
{
	size_t n = strlen(column);

	return n > 3 && strcmp(column + n - 3, "_id") == 0 ? arena_strndup(a, column, n - 3) : column;
}

static const struct schema_fk *fk_of(const struct schema_table *t, const char *column)
{
	size_t i;

	for (i = 0; i < t->nfks; i++)
		if (strcmp(t->fks[i].column, column) == 0)
			return &t->fks[i];
	return NULL;
}

/* Roles -------------------------------------------------------------- */

static bool framework_table(const char *name)
{
	static const char *const prefixes[] = {"django_", "auth_", "sqlite_", "cutover_", "pg_"};
	size_t i;

	for (i = 0; i < ARRAY_LEN(prefixes); i++)
		if (strncmp(name, prefixes[i], strlen(prefixes[i])) == 0)
			return true;
	return false;
}

static const char *find_users_table(struct init *in)
{
	static const char *const names[] = {"auth_user", "users", "user", "accounts_user", "accounts"};
	size_t i;

	if (in->o->users_table)
		return schema_table(&in->s, in->o->users_table) ? in->o->users_table : NULL;
	for (i = 0; i < ARRAY_LEN(names); i++)
		if (schema_table(&in->s, names[i]))
			return names[i];
	return NULL;
}

static bool uuid_column(const struct init *in, const struct schema_column *c)
{
	return strcmp(c->type, "uuid") == 0 ||
	       (strcmp(in->s.kind, "sqlite") == 0 && (strcmp(c->type, "char(32)") == 0));
}

/* The owner column of a table, from --owner, --owner-column or the foreign
 * keys to the users table; NULL when it has none. */
static const char *find_owner(struct init *in, struct plan *p)
{
	const struct schema_table *t = p->t;
	const char *o = NULL;
	char list[256] = "";
	size_t i, k, nref = 0;

	for (k = 0; k < in->o->nowners; k++) {
		const char *eq = strchr(in->o->owners[k], '=');

		if (eq && strlen(t->name) == (size_t)(eq - in->o->owners[k]) &&
		    strncmp(in->o->owners[k], t->name, strlen(t->name)) == 0) {
			if (!schema_column(t, eq + 1)) {
				note(in, p, "WARNING: --owner names %s, which is not a column of this table", eq + 1);
				return NULL;
			}
			note(in, p, "owner %s: given with --owner", eq + 1);
			return eq + 1;
		}
	}
	if (in->o->owner_column && schema_column(t, in->o->owner_column)) {
		note(in, p, "owner %s: given with --owner-column", in->o->owner_column);
		return in->o->owner_column;
	}
	for (i = 0; in->users && i < t->nfks; i++) {
		if (strcmp(t->fks[i].ref_table, in->users) != 0)
			continue;
		if (!o || strcmp(t->fks[i].column, "user_id") == 0 || strcmp(t->fks[i].column, "owner_id") == 0)
			o = t->fks[i].column;
		snprintf(list + strlen(list), sizeof(list) - strlen(list), "%s%s", nref++ ? ", " : "",
		         t->fks[i].column);
	}
	if (nref == 1)
		note(in, p, "owner %s: its only foreign key to %s", o, in->users);
	else if (nref > 1)
		note(in, p, "WARNING: owner ambiguous: %s all lead to %s; %s chosen, choose with "
		     "--owner %s=COLUMN", list, in->users, o, t->name);
	return o;
}

/* The resource (or nothing) a table without owner could be embedded in:
 * its one foreign key to a resource, with no other table pointing at it. */
static struct plan *find_parent(struct init *in, struct plan *p, const char **fk)
{
	struct plan *parent = NULL;
	size_t i, j;

	for (i = 0; i < p->t->nfks; i++) {
		struct plan *q = plan_of(in, p->t->fks[i].ref_table);

		if (q && q->role == ROLE_RESOURCE) {
			if (parent)
				return NULL;
			parent = q;
			*fk = p->t->fks[i].column;
		}
	}
	for (i = 0; parent && i < in->n; i++)
		for (j = 0; j < in->plans[i].t->nfks; j++)
			if (strcmp(in->plans[i].t->fks[j].ref_table, p->t->name) == 0 && &in->plans[i] != p)
				return NULL;
	return parent;
}

/* A child's model without its parent's name in front: the whole name, or
 * the parent's last word. */
static const char *strip_parent(const char *child, const char *parent)
{
	const char *last = strrchr(parent, '_');
	size_t m = strlen(parent);

	if (strncmp(child, parent, m) == 0 && child[m])
		return child + m + (child[m] == '_');
	if (last && (m = strlen(last + 1)) && strncmp(child, last + 1, m) == 0 && child[m] == '_' && child[m + 1])
		return child + m + 1;
	return child;
}

static void assign_roles(struct init *in)
{
	size_t i, k;

	for (i = 0; i < in->n; i++) {
		struct plan *p = &in->plans[i];
		const struct schema_table *t = p->t;
		size_t npk = 0;

		for (k = 0; k < t->ncols; k++)
			if (t->cols[k].pk && npk++ == 0)
				p->pk = t->cols[k].name;
		if (npk != 1 || !uuid_column(in, schema_column(t, p->pk))) {
			p->role = ROLE_SKIP;
			p->why = npk != 1 ? "no single-column primary key" :
			         arena_printf(in->a, "its key %s is %s; the gateway serves records keyed by a uuid",
			                      p->pk, schema_column(t, p->pk)->type);
			continue;
		}
		p->model = model_name(in, t->name);
		if ((p->owner = find_owner(in, p))) {
			p->role = ROLE_RESOURCE;
			p->name = plural(in->a, p->model);
		}
	}
	for (i = 0; i < in->n; i++) {
		struct plan *p = &in->plans[i];

		if (p->role != ROLE_SKIP || p->why)
			continue;
		if (!(p->parent = find_parent(in, p, &p->fk))) {
			p->why = "no column ties its rows to a user (give one with --owner TABLE=COLUMN)";
			continue;
		}
		p->role = ROLE_CHILD;
		/* invoiceitem in invoice: item; order_line in order: line;
		 * ticket_message in support_ticket: message. */
		p->model = strip_parent(p->model, p->parent->model);
		p->name = plural(in->a, p->model);
		note(in, p, "embedded in %s as \"%s\": no owner of its own, its one foreign key %s leads there "
		     "and no other table refers to it", p->parent->name, p->name, p->fk);
	}
}

/* Types ---------------------------------------------------------------- */

static bool type_is(const char *t, const char *base)
{
	size_t n = strlen(base);

	return strncmp(t, base, n) == 0 && (t[n] == '\0' || t[n] == '(' || t[n] == ' ');
}

static void int_range(struct guess *g, const char *t)
{
	g->type = "integer";
	if (type_is(t, "smallint") || type_is(t, "int2")) {
		g->has_min = g->has_max = true;
		g->min = -32768;
		g->max = 32767;
	} else if (!type_is(t, "bigint") && !type_is(t, "int8") && !type_is(t, "bigserial")) {
		/* Django's IntegerField: the range every backend it supports holds. */
		g->has_min = g->has_max = true;
		g->min = -2147483648LL;
		g->max = 2147483647;
	}
}

static bool name_in(const char *name, const char *const *names)
{
	for (; *names; names++)
		if (strcmp(name, *names) == 0)
			return true;
	return false;
}

static const char *const created_names[] = {"created_at", "created", "created_on", "date_created",
                                            "inserted_at", "creation_date", NULL};
static const char *const updated_names[] = {"updated_at", "modified_at", "updated", "modified",
                                            "updated_on", "last_modified", NULL};
static const char *const position_names[] = {"position", "sort_order", "order", "ordering", "rank",
                                             "seq", "sequence", NULL};

/* The canonical type of a column from its declared type. */
static void map_type(struct init *in, struct plan *p, const struct schema_column *c, struct guess *g)
{
	const char *t = c->type, *paren = strchr(t, '(');
	int x = 0, y = 0;

	if (paren)
		sscanf(paren, "(%d,%d", &x, &y);
	if (uuid_column(in, c)) {
		g->type = "uuid";
	} else if (c->json_check || type_is(t, "json") || type_is(t, "jsonb")) {
		g->type = "json";
	} else if (type_is(t, "varchar") || type_is(t, "character varying") || type_is(t, "char") ||
	           type_is(t, "character") || type_is(t, "nvarchar")) {
		g->type = "string";
		g->max_length = x;
	} else if (type_is(t, "text") || type_is(t, "citext") || type_is(t, "clob")) {
		g->type = "text";
	} else if (type_is(t, "bool") || type_is(t, "boolean")) {
		g->type = "boolean";
	} else if (strstr(t, "int") && !strstr(t, "interval") && !strstr(t, "point")) {
		int_range(g, t);
	} else if (type_is(t, "decimal") || type_is(t, "numeric")) {
		g->type = "decimal";
		g->digits = x ? x : 12;
		g->places = x ? y : 2;
		if (!x)
			note(in, p, "WARNING: %s: the schema gives the decimal no precision (SQLite keeps none); "
			     "12 digits with 2 places assumed: set \"digits\" and \"places\" as the model says",
			     c->name);
	} else if (type_is(t, "date")) {
		g->type = "date";
	} else if (type_is(t, "datetime") || type_is(t, "timestamp")) {
		g->type = "datetime";
	} else if (c->nchoices) {
		g->type = "string";     /* a PostgreSQL enum */
	} else {
		note(in, p, "WARNING: %s is %s, which has no canonical type: left out (map it by hand, or "
		     "leave it to the application)", c->name, t);
		return;
	}
	if (c->has_min) {
		g->has_min = true;
		g->min = c->min;
	}
	if (c->has_max) {
		g->has_max = true;
		g->max = c->max;
	}
}

/* Every column's guess, with its notes, once. */
static void analyze(struct init *in, struct plan *p)
{
	size_t i;

	for (i = 0; i < p->t->nother_checks; i++)
		note(in, p, "WARNING: CHECK %s is not of a kind init reads (a list of values, a bound): the "
		     "legacy store still enforces it; MongoDB will not", p->t->other_checks[i]);
	p->g = ARENA_ARRAY(in->a, struct guess, p->t->ncols);
	for (i = 0; i < p->t->ncols; i++) {
		const struct schema_column *c = &p->t->cols[i];
		const struct schema_fk *fk = fk_of(p->t, c->name);
		struct guess *g = &p->g[i];

		if ((p->owner && strcmp(c->name, p->owner) == 0) || (p->fk && strcmp(c->name, p->fk) == 0))
			continue;
		map_type(in, p, c, g);
		if (!g->type)
			continue;
		if (fk && !c->pk) {
			g->ref = plan_of(in, fk->ref_table);
			if (g->ref && g->ref->role == ROLE_RESOURCE)
				g->type = "uuid";
			else
				g->ref = NULL, note(in, p, "%s refers to %s, which is not served here: a plain value",
				                    c->name, fk->ref_table);
		}
		if (strcmp(g->type, "datetime") == 0 && name_in(c->name, updated_names))
			g->autoset = "now";
		else if (strcmp(g->type, "datetime") == 0 &&
		         (name_in(c->name, created_names) ||
		          (c->def && (strcasestr(c->def, "now()") || strcasestr(c->def, "current_timestamp")))))
			g->autoset = "now_on_create";
		if (g->autoset)
			note(in, p, "%s: the gateway sets it %s", c->name,
			     strcmp(g->autoset, "now") == 0 ? "on every write (an updated time)" :
			     "on create (a creation time)");
	}
}

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
	return fk_of(p->t, column) ? fk_field(in->a, column) : column;
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
			note(in, p, "ordering by %s allowed: index %s", col, x->name);
		} else if (strcmp(p->g[k].type, "json") != 0 && strcmp(p->g[k].type, "text") != 0) {
			add_name(filters, &nf, field_name(in, p, col));
			note(in, p, "filter %s: index %s", field_name(in, p, col), x->name);
		}
	}
	for (i = 0; i < t->ncols; i++) {
		if (t->cols[i].nchoices && p->g[i].type) {
			add_name(filters, &nf, t->cols[i].name);
			note(in, p, "filter %s: its values are an enumeration", t->cols[i].name);
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
		note(in, p, "newest first (-%s), as lists of records usually are", created);
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
				names[k] = fk_field(in->a, p->owner);
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
			note(in, p, "WARNING: %s is unique across every user in the legacy store; the gateway "
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
		note(in, p, "unique %s: %s", x->name, buf_cstr(&msg));
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
			note(in, p, "deleting one deletes the %s that refer to it (%s)", q->name,
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
		note(in, c, "shown after %s, the last field a client writes", after);
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
		    name_in(c->t->cols[i].name, position_names)) {
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

static void write_draft(struct init *in, struct buf *b)
{
	size_t i, nres = 0;

	buf_printf(b, "// A cutover configuration drafted by `cutover init` from a %s schema.\n"
	              "// Every guess is a comment beside what it made; read them, set what no schema\n"
	              "// holds (defaults kept in the application, choices, search fields, views), then\n"
	              "// run `cutover check -c THIS_FILE`.\n", in->s.kind);
	if (in->users) {
		comment_line(b, "Users: %s, the application's own (its paths pass through to it); records",
		             in->users);
		buf_puts(b, "// belong to them through the owner columns below.\n");
	}
	for (i = 0; i < in->n; i++)
		if (in->plans[i].role == ROLE_SKIP)
			comment_line(b, "Not served: %s: %s.", in->plans[i].t->name, in->plans[i].why);
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

int init_run(const struct init_opts *o)
{
	struct init in = {.o = o};
	struct error err = {0};
	struct buf out = {0};
	size_t i, counts[3] = {0};
	FILE *f = stdout;
	int rc = 1;

	if (schema_read(o->from, &in.s, &err) < 0) {
		fprintf(stderr, "cutover: init: %s\n", err.msg);
		schema_free(&in.s);
		return 1;
	}
	in.a = &in.s.arena;
	in.django = schema_table(&in.s, "django_migrations") != NULL;
	in.users = find_users_table(&in);
	if (o->users_table && !in.users) {
		fprintf(stderr, "cutover: init: no table %s (--users-table)\n", o->users_table);
		goto done;
	}
	fprintf(stderr, "init: %zu tables in the %s schema%s; users table: %s\n", in.s.ntables, in.s.kind,
	        in.django ? " (made by Django)" : "", in.users ? in.users : "none found (give --users-table)");
	in.plans = ARENA_ARRAY(in.a, struct plan, in.s.ntables + 1);
	for (i = 0; i < in.s.ntables; i++) {
		const char *name = in.s.tables[i].name;

		if ((o->tables && !listed(o->tables, name)) || framework_table(name) ||
		    (in.users && strcmp(name, in.users) == 0))
			continue;
		in.plans[in.n++].t = &in.s.tables[i];
	}
	assign_roles(&in);
	for (i = 0; i < in.n; i++)
		if (in.plans[i].role != ROLE_SKIP)
			analyze(&in, &in.plans[i]);
	for (i = 0; i < in.n; i++) {
		counts[in.plans[i].role]++;
		if (in.plans[i].role == ROLE_SKIP)
			fprintf(stderr, "init: %s: not served: %s\n", in.plans[i].t->name, in.plans[i].why);
	}
	if (!counts[ROLE_RESOURCE]) {
		fprintf(stderr, "cutover: init: no table can be served as a resource (see above)\n");
		goto done;
	}
	write_draft(&in, &out);
	if (o->out && !(f = fopen(o->out, o->force ? "w" : "wx"))) {
		fprintf(stderr, "cutover: init: %s: %s%s\n", o->out, strerror(errno),
		        errno == EEXIST ? " (--force overwrites it)" : "");
		goto done;
	}
	if (fwrite(out.p, 1, out.len, f) != out.len || (f != stdout && fclose(f) != 0)) {
		fprintf(stderr, "cutover: init: writing %s: %s\n", o->out ? o->out : "the draft", strerror(errno));
		goto done;
	}
	fprintf(stderr, "init: %zu resources, %zu embedded, %zu tables not served, %d warnings%s%s\n",
	        counts[ROLE_RESOURCE], counts[ROLE_CHILD], counts[ROLE_SKIP], in.warnings,
	        o->out ? "; wrote " : "", o->out ? o->out : "");
	rc = 0;
done:
	for (i = 0; i < in.n; i++)
		buf_free(&in.plans[i].notes);
	buf_free(&out);
	schema_free(&in.s);
	return rc;
}
