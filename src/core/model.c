/*
 * model.c — the resource model of the configuration: resources, their
 * fields, children, lists, views, unique sets, roles and cascades, read
 * strictly like every other module's keys (see config.h), every name
 * resolved and every problem reported at its value.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "json.h"
#include "model_private.h"

/* Field names listed in an array, resolved against a resource. */
static int *want_field_list(struct config_loader *l, const struct resource *r, const struct json *v,
                            const char *key, size_t *n)
{
	int *out;
	size_t i;

	*n = 0;
	if (!config_want_type(l, v, JSON_ARRAY, key))
		return NULL;
	out = ARENA_ARRAY(config_arena(l), int, v->u.a.n);
	for (i = 0; i < v->u.a.n; i++) {
		const char *name = config_want_str(l, v->u.a.v[i], key);
		int f;

		if (!name)
			continue;
		f = resource_field(r, name);
		if (f < 0) {
			config_problem(l, v->u.a.v[i], "\"%s\": resource %s has no field %s", key, r->name,
			               config_quote(l, name));
			continue;
		}
		out[(*n)++] = f;
	}
	return out;
}

static bool parse_order_term(struct config_loader *l, const struct resource *r, const struct json *v,
                             const char *key, struct order_term *t)
{
	const char *s = config_want_str(l, v, key);

	if (!s)
		return false;
	t->desc = *s == '-';
	t->field = resource_field(r, s + t->desc);
	if (t->field < 0) {
		config_problem(l, v, "\"%s\": resource %s has no field %s", key, r->name,
		               config_quote(l, s + t->desc));
		return false;
	}
	return true;
}

int resource_field(const struct resource *r, const char *name)
{
	size_t i;

	for (i = 0; i < r->nfields; i++)
		if (strcmp(r->fields[i].name, name) == 0)
			return (int)i;
	return -1;
}

/* Identifiers reach SQL text (quoted), so only plain names are allowed. */
bool model_ident_ok(const char *s)
{
	if (!*s || strlen(s) > 63)
		return false;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		      (*s >= '0' && *s <= '9') || *s == '_'))
			return false;
	return true;
}

int mongo_decimal_parse(const char *s)
{
	static const char *const names[] = {"decimal128", "string", "int64"};
	size_t i;

	for (i = 0; i < ARRAY_LEN(names); i++)
		if (strcmp(s, names[i]) == 0)
			return MD_DECIMAL128 + (int)i;
	return -1;
}

void model_want_decimal(struct config_loader *l, const struct json *v, enum mongo_decimal *out)
{
	const char *s = config_want_str(l, v, "mongodb_decimal");
	int md;

	if (!s)
		return;
	if ((md = mongo_decimal_parse(s)) < 0)
		config_problem(l, v, "\"mongodb_decimal\" must be decimal128, string or int64");
	else
		*out = (enum mongo_decimal)md;
}

const char *model_want_ident(struct config_loader *l, const struct json *v, const char *key)
{
	const char *s = config_want_str(l, v, key);

	if (s && !model_ident_ok(s)) {
		config_problem(l, v, "\"%s\": %s is not a plain identifier (letters, digits, _)", key,
		               config_quote(l, s));
		return NULL;
	}
	return s;
}

/* Resources ----------------------------------------------------------- */

static const struct { const char *name; unsigned bit; } op_names[] = {
	{"list", OP_LIST}, {"create", OP_CREATE}, {"retrieve", OP_RETRIEVE},
	{"update", OP_UPDATE}, {"partial_update", OP_PARTIAL}, {"destroy", OP_DESTROY},
};

static void parse_views(struct config_loader *l, struct resource *r, const struct json *v)
{
	size_t i;

	if (!config_want_type(l, v, JSON_ARRAY, "views"))
		return;
	r->views = ARENA_ARRAY(config_arena(l), struct view, v->u.a.n);
	for (i = 0; i < v->u.a.n; i++) {
		const struct json *o = v->u.a.v[i], *x;
		struct view *w = &r->views[r->nviews];
		const char *kind;
		size_t k;
		long n;

		if (!config_want_type(l, o, JSON_OBJECT, "views"))
			continue;
		for (k = 0; k < o->u.o.n; k++) {
			static const char *known[] = {"name", "kind", "group_by", "sum", "param",
			                              "ordering", "limit"};
			size_t j;

			for (j = 0; j < ARRAY_LEN(known); j++)
				if (strcmp(o->u.o.m[k].key, known[j]) == 0)
					break;
			if (j == ARRAY_LEN(known))
				config_problem(l, o->u.o.m[k].val, "view: unknown key %s%s",
				               config_quote(l, o->u.o.m[k].key),
				               model_word_hint(l, o->u.o.m[k].key, known, ARRAY_LEN(known)));
		}
		if (!(x = json_get(o, "name")) || !(w->name = config_want_str(l, x, "name")) ||
		    !(x = json_get(o, "kind")) || !(kind = config_want_str(l, x, "kind"))) {
			config_problem(l, o, "view in %s: \"name\" and \"kind\" are required", r->name);
			continue;
		}
		w->group_field = w->sum_field = -1;
		w->order.field = -1;
		if ((x = json_get(o, "ordering")))
			parse_order_term(l, r, x, "ordering", &w->order);
		if (strcmp(kind, "summary") == 0) {
			const struct json *g = json_get(o, "group_by"), *s = json_get(o, "sum");
			const char *gs = g ? config_want_str(l, g, "group_by") : NULL;
			const char *ss = s ? config_want_str(l, s, "sum") : NULL;

			w->kind = VIEW_SUMMARY;
			if (!gs || !ss || (w->group_field = resource_field(r, gs)) < 0 ||
			    (w->sum_field = resource_field(r, ss)) < 0 ||
			    r->fields[w->sum_field].type != CT_DECIMAL) {
				config_problem(l, o, "summary view %s: \"group_by\" must name a field and \"sum\" a "
				        "decimal field of %s", w->name, r->name);
				continue;
			}
		} else if (strcmp(kind, "recent") == 0) {
			w->kind = VIEW_RECENT;
			w->limit = 5;
			if ((x = json_get(o, "limit")) && config_want_int(l, x, "limit", 1, 1000, &n))
				w->limit = (int)n;
			if (w->order.field < 0) {
				config_problem(l, o, "recent view %s: \"ordering\" is required", w->name);
				continue;
			}
		} else if (strcmp(kind, "search") == 0) {
			w->kind = VIEW_SEARCH;
			w->param = "q";
			if ((x = json_get(o, "param")) && !(w->param = config_want_str(l, x, "param")))
				continue;
		} else {
			config_problem(l, o, "view %s: kind must be summary, recent or search", w->name);
			continue;
		}
		r->nviews++;
	}
}

static void parse_uniques(struct config_loader *l, struct resource *r, const struct json *v)
{
	size_t i;

	if (!config_want_type(l, v, JSON_ARRAY, "unique"))
		return;
	r->uniques = ARENA_ARRAY(config_arena(l), struct unique, v->u.a.n);
	for (i = 0; i < v->u.a.n; i++) {
		const struct json *o = v->u.a.v[i], *f, *m;
		struct unique *u = &r->uniques[r->nuniques];

		if (!config_want_type(l, o, JSON_OBJECT, "unique"))
			continue;
		if (!(f = json_get(o, "fields")) || !(m = json_get(o, "message"))) {
			config_problem(l, o, "unique constraint in %s: \"fields\" and \"message\" are required",
			        r->name);
			continue;
		}
		u->fields = want_field_list(l, r, f, "fields", &u->nfields);
		config_set_str(l, m, "message", &u->message);
		if (u->nfields && u->message)
			r->nuniques++;
	}
}

/* DRF's Allow: the view's methods in Django's order, HEAD with GET, and
 * OPTIONS always.  Each argument is the operation behind GET, POST, PUT,
 * PATCH and DELETE (0: none). */
static const char *allow_methods(struct arena *a, unsigned ops, unsigned get, unsigned post,
                                 unsigned put, unsigned patch, unsigned del)
{
	static const char *const names[] = {"GET, ", "POST, ", "PUT, ", "PATCH, ", "DELETE, "};
	const unsigned bits[] = {get, post, put, patch, del};
	char out[64] = "";
	size_t i;

	for (i = 0; i < ARRAY_LEN(bits); i++)
		if (bits[i] && (ops & bits[i]))
			strcat(out, names[i]);
	if (get && (ops & get))
		strcat(out, "HEAD, ");
	strcat(out, "OPTIONS");
	return arena_strdup(a, out);
}

static struct resource *parse_resource(struct config_loader *l, const struct json *obj,
                                       struct resource *parent);

/* Keys that need the fields parsed first are handled in a second pass. */
static void parse_resource_lists(struct config_loader *l, struct resource *r, const struct json *obj)
{
	const struct json *v;
	size_t i;

	if ((v = json_get(obj, "filters")))
		r->filters = want_field_list(l, r, v, "filters", &r->nfilters);
	if ((v = json_get(obj, "search")))
		r->search = want_field_list(l, r, v, "search", &r->nsearch);
	if ((v = json_get(obj, "ordering_fields")))
		r->orderable = want_field_list(l, r, v, "ordering_fields", &r->norderable);
	if ((v = json_get(obj, "ordering")) && config_want_type(l, v, JSON_ARRAY, "ordering")) {
		r->ordering = ARENA_ARRAY(config_arena(l), struct order_term, v->u.a.n);
		for (i = 0; i < v->u.a.n; i++)
			if (parse_order_term(l, r, v->u.a.v[i], "ordering", &r->ordering[r->nordering]))
				r->nordering++;
	}
	if ((v = json_get(obj, "unique")))
		parse_uniques(l, r, v);
	if ((v = json_get(obj, "views")))
		parse_views(l, r, v);
	if ((v = json_get(obj, "children")) && config_want_type(l, v, JSON_ARRAY, "children")) {
		r->children = ARENA_ARRAY(config_arena(l), struct resource *, v->u.a.n);
		for (i = 0; i < v->u.a.n; i++) {
			struct resource *c = parse_resource(l, v->u.a.v[i], r);

			if (c)
				r->children[r->nchildren++] = c;
		}
	}
}

/* A route's mode, comparison sample and comparison rules. */
static void parse_route_settings(struct config_loader *l, struct resource *r, const struct json *obj)
{
	const struct json *v, *c;
	size_t i;
	long n;

	r->mode = MODE_GLOBAL;
	r->sample = 100;
	if ((v = json_get(obj, "mode"))) {
		const char *m = config_want_str(l, v, "mode");

		if (m && (r->mode = mode_parse(m)) < 0)
			config_problem(l, v, "resource %s: mode %s is not one of legacy, dual-write, shadow (dual), "
			        "live, rampdown, mongodb, passthrough", r->name, config_quote(l, m));
	}
	if ((v = json_get(obj, "sample")) && config_want_int(l, v, "sample", 0, 100, &n))
		r->sample = (int)n;
	if (!(c = json_get(obj, "compare")) || !config_want_type(l, c, JSON_OBJECT, "compare"))
		return;
	for (i = 0; i < c->u.o.n; i++) {
		const char *key = c->u.o.m[i].key;

		v = c->u.o.m[i].val;
		if (strcmp(key, "ignore") == 0 && config_want_type(l, v, JSON_ARRAY, key)) {
			size_t k;

			r->compare_ignore = ARENA_ARRAY(config_arena(l), const char *, v->u.a.n + 1);
			for (k = 0; k < v->u.a.n; k++)
				if ((r->compare_ignore[r->ncompare_ignore] = config_want_str(l, v->u.a.v[k], key)))
					r->ncompare_ignore++;
		} else if (strcmp(key, "sets") == 0 && config_want_type(l, v, JSON_OBJECT, key)) {
			size_t k;

			r->compare_sets = arena_zalloc(config_arena(l), sizeof(*r->compare_sets) * (v->u.o.n + 1));
			for (k = 0; k < v->u.o.n; k++) {
				r->compare_sets[k].path = v->u.o.m[k].key;
				if ((r->compare_sets[k].key = config_want_str(l, v->u.o.m[k].val, "sets")))
					r->ncompare_sets++;
			}
		} else if (strcmp(key, "tolerance") == 0 && v->type == JSON_NUMBER) {
			r->compare_tolerance = strtod(v->u.s.p, NULL);
		} else {
			config_problem(l, v, "resource %s: compare: unknown or mistyped key %s (ignore, sets, tolerance)",
			        r->name, config_quote(l, key));
		}
	}
}

/* "roles": {"admin": ["read", "update", "delete"]}: what each role may do
 * to every owner's records.  Role names are numbered across resources. */
static void parse_roles(struct config_loader *l, struct resource *r, const struct json *v)
{
	struct config *cfg = config_of(l);
	size_t i, k, b;

	if (!config_want_type(l, v, JSON_OBJECT, "roles"))
		return;
	for (i = 0; i < v->u.o.n; i++) {
		const char *name = v->u.o.m[i].key;
		const struct json *ops = v->u.o.m[i].val;

		for (b = 0; b < cfg->nroles && strcmp(cfg->roles[b], name) != 0; b++)
			;
		if (b == ARRAY_LEN(cfg->roles)) {
			config_problem(l, ops, "resource %s: roles: more than %zu role names in the configuration",
			               r->name, ARRAY_LEN(cfg->roles));
			return;
		}
		if (b == cfg->nroles)
			cfg->roles[cfg->nroles++] = name;
		if (!*name)
			config_problem(l, ops, "resource %s: roles: a role needs a name", r->name);
		if (!config_want_type(l, ops, JSON_ARRAY, "roles"))
			continue;
		for (k = 0; k < ops->u.a.n; k++) {
			const char *op = config_want_str(l, ops->u.a.v[k], "roles");

			if (op && strcmp(op, "read") == 0)
				r->role_read |= 1u << b;
			else if (op && strcmp(op, "update") == 0)
				r->role_update |= 1u << b;
			else if (op && strcmp(op, "delete") == 0)
				r->role_delete |= 1u << b;
			else if (op)
				config_problem(l, ops->u.a.v[k], "resource %s: roles: %s is not one of read, update, "
				               "delete", r->name, config_quote(l, op));
		}
	}
}

static const char *const resource_keys[] = {
	"name", "path", "table", "collection", "owner_column", "fk_column", "fields",
	"page_size", "operations", "filters", "search", "ordering_fields", "ordering",
	"unique", "views", "children", "cascade", "after", "mode", "sample", "compare", "roles",
	"profile",
};

static void unknown_resource_keys(struct config_loader *l, const struct json *obj)
{
	size_t i, k;

	for (i = 0; i < obj->u.o.n; i++) {
		for (k = 0; k < ARRAY_LEN(resource_keys); k++)
			if (strcmp(obj->u.o.m[i].key, resource_keys[k]) == 0)
				break;
		if (k == ARRAY_LEN(resource_keys))
			config_problem(l, obj->u.o.m[i].val, "resource: unknown key %s%s",
			               config_quote(l, obj->u.o.m[i].key),
			               model_word_hint(l, obj->u.o.m[i].key, resource_keys, ARRAY_LEN(resource_keys)));
	}
}

/* A child's own keys: its foreign key, the field it is ordered after. */
static void parse_child_keys(struct config_loader *l, struct resource *r, const struct json *obj)
{
	const struct json *v;

	if ((v = json_get(obj, "fk_column")))
		r->fk_column = model_want_ident(l, v, "fk_column");
	if (!r->fk_column)
		config_problem(l, obj, "child %s: \"fk_column\" is required", r->name);
	r->after = -1;
	if ((v = json_get(obj, "after"))) {
		const char *a = config_want_str(l, v, "after");

		if (a && (r->after = resource_field(r->parent, a)) < 0)
			config_problem(l, v, "child %s: \"after\" names no field of %s", r->name, r->parent->name);
	}
}

/* A top-level resource's own keys: its path, its owner. */
static void parse_top_keys(struct config_loader *l, struct resource *r, const struct json *obj)
{
	const struct json *v;

	if ((v = json_get(obj, "path")))
		config_set_str(l, v, "path", &r->path);
	if (!r->path || r->path[0] != '/' || r->path[strlen(r->path) - 1] != '/')
		config_problem(l, v ? v : obj, "resource %s: \"path\" must start and end with /", r->name);
	else
		r->path_len = strlen(r->path);
	if ((v = json_get(obj, "owner_column")))
		r->owner_column = model_want_ident(l, v, "owner_column");
	if (!r->owner_column)
		config_problem(l, obj, "resource %s: \"owner_column\" is required", r->name);
}

static void parse_operations(struct config_loader *l, struct resource *r, const struct json *v)
{
	size_t i, k;

	if (!config_want_type(l, v, JSON_ARRAY, "operations"))
		return;
	r->ops = 0;
	for (i = 0; i < v->u.a.n; i++) {
		const char *s = config_want_str(l, v->u.a.v[i], "operations");

		for (k = 0; s && k < ARRAY_LEN(op_names); k++)
			if (strcmp(s, op_names[k].name) == 0)
				break;
		if (s && k == ARRAY_LEN(op_names))
			config_problem(l, v->u.a.v[i], "unknown operation %s", config_quote(l, s));
		else if (s)
			r->ops |= op_names[k].bit;
	}
}

static struct resource *parse_resource(struct config_loader *l, const struct json *obj,
                                       struct resource *parent)
{
	struct resource *r;
	const struct json *v;
	long n;

	if (!config_want_type(l, obj, JSON_OBJECT, parent ? "children" : "resources"))
		return NULL;
	r = ARENA_NEW(config_arena(l), struct resource);
	r->parent = parent;
	r->page_size = 20;
	r->ops = OP_LIST | OP_CREATE | OP_RETRIEVE | OP_UPDATE | OP_PARTIAL | OP_DESTROY;
	unknown_resource_keys(l, obj);
	if ((v = json_get(obj, "name")))
		config_set_str(l, v, "name", &r->name);
	if (!r->name) {
		config_problem(l, obj, "resource: \"name\" is required");
		r->name = "?";
	}
	if ((v = json_get(obj, "table")))
		r->table = model_want_ident(l, v, "table");
	if (!r->table)
		config_problem(l, obj, "resource %s: \"table\" is required", r->name);
	r->collection = r->name;
	if ((v = json_get(obj, "collection")))
		config_set_str(l, v, "collection", &r->collection);
	parse_route_settings(l, r, obj);
	if ((v = json_get(obj, "profile"))) {
		if (parent)
			config_problem(l, v, "child %s: its profile is the resource's it is embedded in", r->name);
		else
			config_set_str(l, v, "profile", &r->profile_name);
	}
	if ((v = json_get(obj, "roles"))) {
		if (parent)
			config_problem(l, v, "child %s: roles belong to the resource it is embedded in", r->name);
		else
			parse_roles(l, r, v);
	}
	if (parent)
		parse_child_keys(l, r, obj);
	else
		parse_top_keys(l, r, obj);
	if ((v = json_get(obj, "page_size")) && config_want_int(l, v, "page_size", 1, 1000, &n))
		r->page_size = (int)n;
	if ((v = json_get(obj, "operations")))
		parse_operations(l, r, v);
	r->allow_collection = allow_methods(config_arena(l), r->ops, OP_LIST, OP_CREATE, 0, 0, 0);
	r->allow_detail = allow_methods(config_arena(l), r->ops, OP_RETRIEVE, 0, OP_UPDATE, OP_PARTIAL, OP_DESTROY);
	if ((v = json_get(obj, "fields")))
		model_parse_fields(l, r, v);
	else
		config_problem(l, obj, "resource %s: \"fields\" is required", r->name);
	parse_resource_lists(l, r, obj);
	return r;
}

struct resource *config_resource(const struct config *cfg, const char *name, size_t n)
{
	size_t i;

	for (i = 0; i < cfg->nresources; i++)
		if (strlen(cfg->resources[i]->name) == n && memcmp(cfg->resources[i]->name, name, n) == 0)
			return cfg->resources[i];
	return NULL;
}

static struct resource *find_resource(struct config *cfg, const char *name)
{
	return config_resource(cfg, name, strlen(name));
}

/* References and cascades name other resources: resolve them once all are read. */
static void link_resources(struct config_loader *l, const struct json *arr)
{
	struct config *cfg = config_of(l);
	size_t i, j;

	for (i = 0; i < cfg->nresources; i++) {
		struct resource *r = cfg->resources[i];

		for (j = 0; j < r->nfields; j++) {
			struct field *f = &r->fields[j];

			if (!f->ref_name)
				continue;
			f->ref = find_resource(cfg, f->ref_name);
			if (!f->ref || f->type != CT_UUID)
				config_problem(l, arr->u.a.v[i], "field %s.%s: \"references\" must name a resource "
				        "and the field must be a uuid", r->name, f->name);
		}
	}
	for (i = 0; i < cfg->nresources; i++) {
		struct resource *r = cfg->resources[i];
		const struct json *casc = json_get(arr->u.a.v[i], "cascade");

		if (!casc || !config_want_type(l, casc, JSON_ARRAY, "cascade"))
			continue;
		r->cascades = arena_zalloc(&cfg->arena, sizeof(*r->cascades) * casc->u.a.n);
		for (j = 0; j < casc->u.a.n; j++) {
			const struct json *o = casc->u.a.v[j], *rv, *fv;
			const char *rn, *fn;
			struct resource *other;
			int f;

			if (!config_want_type(l, o, JSON_OBJECT, "cascade") ||
			    !(rv = json_get(o, "resource")) || !(fv = json_get(o, "field")) ||
			    !(rn = config_want_str(l, rv, "resource")) || !(fn = config_want_str(l, fv, "field")) ||
			    !(other = find_resource(cfg, rn)) || (f = resource_field(other, fn)) < 0 ||
			    other->fields[f].ref != r) {
				config_problem(l, o, "cascade in %s: needs \"resource\" and \"field\", a field of that "
				        "resource which references %s", r->name, r->name);
				continue;
			}
			r->cascades[r->ncascades].res = other;
			r->cascades[r->ncascades].field = f;
			r->ncascades++;
		}
	}
}

static void parse_resources(struct config_loader *l, const struct json *v)
{
	struct config *cfg = config_of(l);
	size_t k;

	if (!config_want_type(l, v, JSON_ARRAY, "resources"))
		return;
	cfg->resources = ARENA_ARRAY(&cfg->arena, struct resource *, v->u.a.n);
	for (k = 0; k < v->u.a.n; k++) {
		struct resource *r = parse_resource(l, v->u.a.v[k], NULL);

		if (!r)
			continue;
		if (find_resource(cfg, r->name))
			config_problem(l, v->u.a.v[k], "resource %s appears twice", config_quote(l, r->name));
		r->index = (int)cfg->nresources;
		cfg->resources[cfg->nresources++] = r;
	}
	if (cfg->nresources == v->u.a.n)
		link_resources(l, v);
}

static void parse_decimal(struct config_loader *l, const struct json *v)
{
	model_want_decimal(l, v, &config_of(l)->mongodb_decimal);
}


static bool in_order(const struct order_term *o, size_t n, int field)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (o[i].field == field)
			return true;
	return false;
}

/* Give every decimal its MongoDB representation.  Text does not order or
 * add up as numbers do, so a decimal kept as text may not be ordered by or
 * summed. */
static void resolve_decimals(struct config_loader *l, struct resource *r)
{
	size_t i, k;

	for (i = 0; i < r->nfields; i++) {
		struct field *f = &r->fields[i];
		bool ordered;

		if (f->type != CT_DECIMAL)
			continue;
		if (f->mongo_decimal == MD_DEFAULT)
			f->mongo_decimal = config_of(l)->mongodb_decimal;
		if (f->mongo_decimal != MD_STRING)
			continue;
		ordered = in_order(r->ordering, r->nordering, (int)i);
		for (k = 0; k < r->norderable; k++)
			ordered |= r->orderable[k] == (int)i;
		for (k = 0; k < r->nviews; k++)
			ordered |= r->views[k].kind == VIEW_SUMMARY ? r->views[k].sum_field == (int)i
			                                             : r->views[k].order.field == (int)i;
		if (ordered)
			config_problem(l, NULL, "%s.%s: a decimal kept as a MongoDB string cannot be ordered by or "
			        "summed; use \"mongodb_decimal\": \"decimal128\" or \"int64\"", r->name, f->name);
	}
	for (k = 0; k < r->nchildren; k++)
		resolve_decimals(l, r->children[k]);
}

/* How decimals are kept in MongoDB, after the environment, and what that
 * rules out. */
static void model_check(struct config_loader *l)
{
	struct config *cfg = config_of(l);
	const char *v;
	size_t i;
	int md;

	if ((v = getenv("MONGODB_DECIMAL")) && *v) {
		if ((md = mongo_decimal_parse(v)) < 0)
			config_problem(l, NULL, "MONGODB_DECIMAL must be decimal128, string or int64");
		else
			cfg->mongodb_decimal = (enum mongo_decimal)md;
	}
	for (i = 0; i < cfg->nresources; i++)
		resolve_decimals(l, cfg->resources[i]);
}

static const struct config_key keys[] = {
	{NULL, "mongodb_decimal", CFG_CUSTOM, CFG_FIELD(mongodb_decimal), 0, 0, NULL, NULL, parse_decimal,
	 "how decimals are kept in MongoDB: decimal128, string or int64 minor units"},
	{NULL, "resources", CFG_CUSTOM, CFG_FIELD(resources), 0, 0, NULL, NULL, parse_resources,
	 "the resources served: table, collection, fields, children, routes"},
};

const struct config_module model_config = {"model", keys, ARRAY_LEN(keys), model_check};
