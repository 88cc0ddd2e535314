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
 * The draft itself is written by init_draft.c, from the plans made here.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "init_private.h"
#include "migrate.h"
#include "schema.h"

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
void init_comment_line(struct buf *b, const char *fmt, ...)
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
void init_note(struct init *in, struct plan *p, const char *fmt, ...)
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
const char *init_fk_field(struct arena *a, const char *column)
{
	size_t n = strlen(column);

	return n > 3 && strcmp(column + n - 3, "_id") == 0 ? arena_strndup(a, column, n - 3) : column;
}

/* The foreign key of t's column, or NULL. */
const struct schema_fk *init_fk_of(const struct schema_table *t, const char *column)
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
				init_note(in, p, "WARNING: --owner names %s, which is not a column of this table", eq + 1);
				return NULL;
			}
			init_note(in, p, "owner %s: given with --owner", eq + 1);
			return eq + 1;
		}
	}
	if (in->o->owner_column && schema_column(t, in->o->owner_column)) {
		init_note(in, p, "owner %s: given with --owner-column", in->o->owner_column);
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
		init_note(in, p, "owner %s: its only foreign key to %s", o, in->users);
	else if (nref > 1)
		init_note(in, p, "WARNING: owner ambiguous: %s all lead to %s; %s chosen, choose with "
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
		init_note(in, p, "embedded in %s as \"%s\": no owner of its own, its one foreign key %s leads there "
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

bool init_name_in(const char *name, const char *const *names)
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
			init_note(in, p, "WARNING: %s: the schema gives the decimal no precision (SQLite keeps none); "
			          "12 digits with 2 places assumed: set \"digits\" and \"places\" as the model says",
			          c->name);
	} else if (type_is(t, "date")) {
		g->type = "date";
	} else if (type_is(t, "datetime") || type_is(t, "timestamp")) {
		g->type = "datetime";
	} else if (c->nchoices) {
		g->type = "string";     /* a PostgreSQL enum */
	} else {
		init_note(in, p, "WARNING: %s is %s, which has no canonical type: left out (map it by hand, or "
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
		init_note(in, p, "WARNING: CHECK %s is not of a kind init reads (a list of values, a bound): the "
		          "legacy store still enforces it; MongoDB will not", p->t->other_checks[i]);
	p->g = ARENA_ARRAY(in->a, struct guess, p->t->ncols);
	for (i = 0; i < p->t->ncols; i++) {
		const struct schema_column *c = &p->t->cols[i];
		const struct schema_fk *fk = init_fk_of(p->t, c->name);
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
				g->ref = NULL, init_note(in, p, "%s refers to %s, which is not served here: a plain value",
				                         c->name, fk->ref_table);
		}
		if (strcmp(g->type, "datetime") == 0 && init_name_in(c->name, updated_names))
			g->autoset = "now";
		else if (strcmp(g->type, "datetime") == 0 &&
		         (init_name_in(c->name, created_names) ||
		          (c->def && (strcasestr(c->def, "now()") || strcasestr(c->def, "current_timestamp")))))
			g->autoset = "now_on_create";
		if (g->autoset)
			init_note(in, p, "%s: the gateway sets it %s", c->name,
			          strcmp(g->autoset, "now") == 0 ? "on every write (an updated time)" :
			          "on create (a creation time)");
	}
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
	init_write_draft(&in, &out);
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
