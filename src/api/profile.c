/*
 * profile.c — response profiles (profile.h): the built-in ones, those a
 * configuration declares, their templates rendered.
 *
 * The built-in profiles are written in the same JSON a configuration uses
 * and read by the same code, so a profile of a configuration's own has
 * every power the built-in ones have.
 */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "jwt.h"
#include "profile.h"
#include "query.h"

static const char *const slot_names[SLOT_COUNT_ALL] = {
	[SLOT_COUNT] = "count", [SLOT_NEXT] = "next", [SLOT_PREVIOUS] = "previous",
	[SLOT_RESULTS] = "results", [SLOT_PAGE] = "page", [SLOT_LIMIT] = "limit", [SLOT_PAGES] = "pages",
	[SLOT_OFFSET] = "offset", [SLOT_DATA] = "data", [SLOT_MESSAGE] = "message",
	[SLOT_ERRORS] = "errors", [SLOT_STATUS] = "status",
};

/* The slot a template string names, -1 for a literal ("$$x" is "$x"). */
static int slot_of(const struct json *v)
{
	int i;

	if (v->type != JSON_STRING || v->u.s.n < 2 || v->u.s.p[0] != '$' || v->u.s.p[1] == '$')
		return -1;
	for (i = 0; i < SLOT_COUNT_ALL; i++)
		if (str_eq(v->u.s.p + 1, v->u.s.n - 1, slot_names[i]))
			return i;
	return SLOT_COUNT_ALL;
}

bool profile_is_slot(const struct json *t, enum slot s)
{
	return slot_of(t) == (int)s;
}

void profile_render(struct buf *b, const struct json *t, const struct slot_value *v)
{
	size_t i;
	int s;

	switch (t->type) {
	case JSON_OBJECT:
		buf_putc(b, '{');
		for (i = 0; i < t->u.o.n; i++) {
			buf_puts(b, i ? "," : "");
			json_put_str(b, t->u.o.m[i].key, t->u.o.m[i].klen);
			buf_putc(b, ':');
			profile_render(b, t->u.o.m[i].val, v);
		}
		buf_putc(b, '}');
		return;
	case JSON_ARRAY:
		buf_putc(b, '[');
		for (i = 0; i < t->u.a.n; i++) {
			buf_puts(b, i ? "," : "");
			profile_render(b, t->u.a.v[i], v);
		}
		buf_putc(b, ']');
		return;
	case JSON_STRING:
		if ((s = slot_of(t)) >= 0 && s < SLOT_COUNT_ALL) {
			if (v[s].p)
				buf_put(b, v[s].p, v[s].n);
			else
				buf_puts(b, "null");
			return;
		}
		if (t->u.s.n >= 2 && t->u.s.p[0] == '$')
			return json_put_str(b, t->u.s.p + 1, t->u.s.n - 1);
		/* fall through */
	default:
		json_write(b, t);
	}
}

void profile_render_one(struct buf *b, const struct json *t, enum slot s, const char *p, size_t n, int status)
{
	struct slot_value v[SLOT_COUNT_ALL] = {{0}};
	char code[8];

	snprintf(code, sizeof(code), "%d", status);
	v[s] = (struct slot_value){p, n};
	v[SLOT_STATUS] = (struct slot_value){code, strlen(code)};
	profile_render(b, t, v);
}

const char *profile_camel(struct arena *a, const char *name)
{
	char *out = arena_strdup(a, name), *w = out;
	const char *r = name;

	while (*r == '_')           /* leading underscores stay: _id */
		*w++ = *r++;
	while (*r) {
		const char *e = r;

		if (*r != '_') {
			*w++ = *r++;
			continue;
		}
		while (*e == '_')
			e++;
		if (!*e) {              /* trailing ones too */
			while (*r)
				*w++ = *r++;
			break;
		}
		*w++ = (char)toupper((unsigned char)*e);
		r = e + 1;
	}
	*w = '\0';
	return out;
}

/* Pagination ---------------------------------------------------------- */

/* Django's Paginator.validate_number on the `page` parameter. */
static int parse_page(const char *s, int64_t last, int64_t *page)
{
	char *end;
	long long x;

	if (!s)
		return *page = 1, 0;
	if (strcmp(s, "last") == 0)
		return *page = last, 0;
	while (*s == ' ' || (*s >= '\t' && *s <= '\r'))
		s++;
	if (!*s || (*s != '+' && *s != '-' && (*s < '0' || *s > '9')))
		return -1;
	x = strtoll(s, &end, 10);
	while (*end == ' ' || (*end >= '\t' && *end <= '\r'))
		end++;
	if (*end || x < 1 || (x > last && x != 1))
		return -1;
	*page = x;
	return 0;
}

/* A whole number in [lo, hi] from a query parameter, else def (DRF's
 * _positive_int with its fallback). */
static int64_t param_int(const char *s, int64_t lo, int64_t hi, int64_t def)
{
	char *end;
	long long x;

	if (!s || !*s)
		return def;
	x = strtoll(s, &end, 10);
	if (*end || x < lo)
		return def;
	return x > hi ? hi : x;
}

/* A cursor is "o=OFFSET" in base64url, as DRF's cursors are its position
 * in base64: opaque to clients, read back exactly. */
static int cursor_offset(const char *token, int64_t *offset)
{
	unsigned char raw[32];
	size_t n;
	char *end;

	*offset = 0;
	if (!token)
		return 0;
	if (strlen(token) > 40 || b64url_decode(token, strlen(token), raw, &n) < 0 || n < 3 || n >= sizeof(raw) ||
	    raw[0] != 'o' || raw[1] != '=' || !isdigit(raw[2]))
		return -1;
	raw[n] = '\0';
	errno = 0;
	*offset = strtoll((const char *)raw + 2, &end, 10);
	/* Every decoded byte is the number's: "o=5\0junk" is no cursor. */
	return end != (char *)raw + n || errno || *offset > INT64_MAX / 4 ? -1 : 0;
}

size_t profile_position(const struct profile *p, struct arena *a, int64_t offset, int64_t limit,
                        struct qparam set[2])
{
	const char *at = offset > 0 ? arena_printf(a, "%lld", (long long)offset) : NULL;

	switch (p->scheme) {
	case PAGE_NUMBER:
		set[0] = (struct qparam){p->page_param, offset > 0 ? arena_printf(a, "%lld", (long long)
		                                                                  (offset / limit + 1)) : NULL};
		return 1;
	case PAGE_OFFSET:
		set[0] = (struct qparam){p->limit_param, arena_printf(a, "%lld", (long long)limit)};
		set[1] = (struct qparam){p->offset_param, at};
		return 2;
	case PAGE_CURSOR:
		if (at) {
			char *token = arena_alloc(a, 48);
			char text[32];
			int n = snprintf(text, sizeof(text), "o=%s", at);

			token[b64url_encode((const unsigned char *)text, (size_t)n, token)] = '\0';
			at = token;
		}
		set[0] = (struct qparam){p->cursor_param, at};
		return 1;
	}
	return 0;
}

int profile_page(const struct profile *p, const struct qparams *qp, int64_t count, int64_t *limit,
                 int64_t *offset)
{
	int64_t pages, page;

	if (p->limit_param)
		*limit = param_int(query_get(qp, p->limit_param), 1, p->max_limit, *limit);
	pages = count ? (count + *limit - 1) / *limit : 1;
	if (p->scheme == PAGE_OFFSET) {
		*offset = param_int(query_get(qp, p->offset_param), 0, INT64_MAX / 2, 0);
		return 0;
	}
	if (p->scheme == PAGE_CURSOR)
		return cursor_offset(query_get(qp, p->cursor_param), offset);
	if (p->lenient)
		page = param_int(query_get(qp, p->page_param), 1, INT64_MAX / 2 / *limit, 1);
	else if (parse_page(query_get(qp, p->page_param), pages, &page) < 0)
		return -1;
	*offset = (page - 1) * *limit;
	return 0;
}

/* The built-in profiles ------------------------------------------------ */

static const char drf_text[] =
	"{\"list\": {\"count\": \"$count\", \"next\": \"$next\", \"previous\": \"$previous\","
	"            \"results\": \"$results\"},"
	" \"item\": \"$data\","
	" \"error\": {\"detail\": \"$message\"},"
	" \"invalid\": \"$errors\","
	" \"deleted\": null,"
	" \"pagination\": {\"scheme\": \"page\", \"page\": \"page\", \"limit\": null, \"lenient\": false},"
	" \"search\": \"search\", \"ordering\": \"ordering\", \"casing\": \"snake\", \"id\": \"id\","
	" \"token_errors\": \"simplejwt\"}";

static const char express_text[] =
	"{\"list\": {\"success\": true, \"data\": \"$results\","
	"            \"pagination\": {\"page\": \"$page\", \"limit\": \"$limit\", \"total\": \"$count\","
	"                           \"pages\": \"$pages\"}},"
	" \"item\": {\"success\": true, \"data\": \"$data\"},"
	" \"error\": {\"success\": false, \"message\": \"$message\"},"
	" \"invalid\": {\"success\": false, \"message\": \"Validation failed\", \"errors\": \"$errors\"},"
	" \"deleted\": {\"success\": true, \"message\": \"Deleted\"},"
	" \"pagination\": {\"scheme\": \"page\", \"page\": \"page\", \"limit\": \"limit\", \"max_limit\": 100,"
	"                \"lenient\": true},"
	" \"search\": \"search\", \"ordering\": \"sort\", \"casing\": \"camel\", \"id\": \"_id\","
	" \"token_errors\": \"plain\"}";

/* Reading profiles ----------------------------------------------------- */

/* A template, its slots checked against those it may use (a bit each). */
static bool template_ok(struct config_loader *l, const struct json *t, unsigned allowed, const char *key)
{
	size_t i;
	int s;

	if (t->type == JSON_OBJECT) {
		for (i = 0; i < t->u.o.n; i++)
			if (!template_ok(l, t->u.o.m[i].val, allowed, key))
				return false;
	} else if (t->type == JSON_ARRAY) {
		for (i = 0; i < t->u.a.n; i++)
			if (!template_ok(l, t->u.a.v[i], allowed, key))
				return false;
	} else if ((s = slot_of(t)) >= 0 && (s == SLOT_COUNT_ALL || !(allowed & (1u << s)))) {
		config_problem(l, t, "profile: \"%.*s\" is no slot of \"%s\" (write $$ for a literal $)",
		               (int)t->u.s.n, t->u.s.p, key);
		return false;
	}
	return true;
}

#define BIT(s) (1u << (s))

static const struct { const char *key; size_t offset; unsigned slots; } templates[] = {
	{"list", offsetof(struct profile, list), BIT(SLOT_COUNT) | BIT(SLOT_NEXT) | BIT(SLOT_PREVIOUS) |
	 BIT(SLOT_RESULTS) | BIT(SLOT_PAGE) | BIT(SLOT_LIMIT) | BIT(SLOT_PAGES) | BIT(SLOT_OFFSET)},
	{"item", offsetof(struct profile, item), BIT(SLOT_DATA)},
	{"error", offsetof(struct profile, error), BIT(SLOT_MESSAGE) | BIT(SLOT_STATUS)},
	{"invalid", offsetof(struct profile, invalid), BIT(SLOT_ERRORS) | BIT(SLOT_STATUS)},
	{"deleted", offsetof(struct profile, deleted), BIT(SLOT_STATUS)},
};

/* The position of v among words[0..n), or -1 after a problem. */
static int want_word(struct config_loader *l, const struct json *v, const char *key, const char *const *words,
                     size_t n)
{
	const char *s = config_want_str(l, v, key);
	size_t i;

	struct buf list = {0};

	for (i = 0; s && i < n; i++)
		if (strcmp(s, words[i]) == 0)
			return (int)i;
	if (!s)
		return -1;
	for (i = 0; i < n; i++)
		buf_printf(&list, "%s%s", i == 0 ? "" : i + 1 < n ? ", " : " or ", words[i]);
	config_problem(l, v, "profile: \"%s\" is %s, not \"%s\"", key, buf_cstr(&list), s);
	buf_free(&list);
	return -1;
}

/* Is key one of the NULL-terminated names? (A key read but refused by its
 * reader has had its problem reported; it is no unknown key.) */
static bool one_of(const char *key, ...)
{
	va_list ap;
	const char *w;
	bool found = false;

	va_start(ap, key);
	while (!found && (w = va_arg(ap, const char *)))
		found = strcmp(key, w) == 0;
	va_end(ap);
	return found;
}

/* A name the profile gives (a parameter, the id), kept when v is no string. */
static void set_name(struct config_loader *l, const struct json *v, const char *key, const char **out)
{
	const char *s = config_want_str(l, v, key);

	if (s)
		*out = s;
}

/* A parameter's name, or NULL for none (null). */
static void want_param(struct config_loader *l, const struct json *v, const char *key, const char **out)
{
	if (v->type == JSON_NULL)
		*out = NULL;
	else
		set_name(l, v, key, out);
}

static void read_pagination(struct config_loader *l, struct profile *p, const struct json *o)
{
	static const char *const schemes[] = {[PAGE_NUMBER] = "page", [PAGE_OFFSET] = "offset",
	                                      [PAGE_CURSOR] = "cursor"};
	size_t i;
	long n;
	int w;

	if (!config_want_type(l, o, JSON_OBJECT, "pagination"))
		return;
	for (i = 0; i < o->u.o.n; i++) {
		const char *key = o->u.o.m[i].key;
		const struct json *v = o->u.o.m[i].val;

		if (strcmp(key, "scheme") == 0 && (w = want_word(l, v, key, schemes, ARRAY_LEN(schemes))) >= 0)
			p->scheme = (enum page_scheme)w;
		else if (strcmp(key, "page") == 0)
			want_param(l, v, key, &p->page_param);
		else if (strcmp(key, "offset") == 0)
			want_param(l, v, key, &p->offset_param);
		else if (strcmp(key, "cursor") == 0)
			want_param(l, v, key, &p->cursor_param);
		else if (strcmp(key, "limit") == 0)
			want_param(l, v, key, &p->limit_param);
		else if (strcmp(key, "max_limit") == 0 && config_want_int(l, v, key, 1, 100000, &n))
			p->max_limit = (int)n;
		else if (strcmp(key, "lenient") == 0 && config_want_type(l, v, JSON_BOOL, key))
			p->lenient = v->u.b;
		else if (!one_of(key, "scheme", "page", "offset", "cursor", "limit", "max_limit", "lenient", NULL))
			config_problem(l, v, "profile: pagination has no key \"%s\"", key);
	}
}

static const struct profile *find(const struct config *cfg, const char *name)
{
	size_t i;

	for (i = 0; i < cfg->nprofiles; i++)
		if (strcmp(cfg->profiles[i].name, name) == 0)
			return &cfg->profiles[i];
	return NULL;
}

/* The profile named name, from o: its base's settings, then its own. */
static void read_profile(struct config_loader *l, const char *name, const struct json *o)
{
	static const char *const casings[] = {[CASE_SNAKE] = "snake", [CASE_CAMEL] = "camel"};
	static const char *const token_errors[] = {"plain", "simplejwt"};
	struct config *cfg = config_of(l);
	struct profile *p = &cfg->profiles[cfg->nprofiles];
	const struct json *base = json_get(o, "base");
	size_t i, k;
	int w;

	if (!config_want_type(l, o, JSON_OBJECT, "profiles"))
		return;
	if (base) {
		const char *b = config_want_str(l, base, "base");
		const struct profile *from = b ? find(cfg, b) : NULL;

		if (b && !from)
			config_problem(l, base, "profile %s: no profile \"%s\" is declared before it", name, b);
		if (from)
			*p = *from;
	} else if (cfg->nprofiles) {
		*p = cfg->profiles[0];          /* drf */
	}
	p->name = name;
	for (i = 0; i < o->u.o.n; i++) {
		const char *key = o->u.o.m[i].key;
		const struct json *v = o->u.o.m[i].val;

		for (k = 0; k < ARRAY_LEN(templates); k++) {
			if (strcmp(key, templates[k].key) == 0) {
				const struct json **slot = (const struct json **)((char *)p + templates[k].offset);

				*slot = v->type == JSON_NULL && strcmp(key, "deleted") == 0 ? NULL :
				        template_ok(l, v, templates[k].slots, key) ? v : *slot;
				break;
			}
		}
		if (k < ARRAY_LEN(templates) || strcmp(key, "base") == 0)
			continue;
		if (strcmp(key, "pagination") == 0)
			read_pagination(l, p, v);
		else if (strcmp(key, "search") == 0)
			set_name(l, v, key, &p->search_param);
		else if (strcmp(key, "ordering") == 0)
			set_name(l, v, key, &p->ordering_param);
		else if (strcmp(key, "id") == 0)
			set_name(l, v, key, &p->id_name);
		else if (strcmp(key, "casing") == 0 && (w = want_word(l, v, key, casings, 2)) >= 0)
			p->casing = (enum casing)w;
		else if (strcmp(key, "token_errors") == 0 && (w = want_word(l, v, key, token_errors, 2)) >= 0)
			p->simplejwt = w == 1;
		else if (!one_of(key, "casing", "token_errors", NULL))
			config_problem(l, v, "profile %s: unknown key \"%s\"", name, key);
	}
	if ((p->scheme == PAGE_NUMBER && !p->page_param) || (p->scheme == PAGE_CURSOR && !p->cursor_param) ||
	    (p->scheme == PAGE_OFFSET && (!p->offset_param || !p->limit_param)))
		config_problem(l, o, "profile %s: the page scheme needs \"page\"; the offset scheme \"offset\" "
		               "and \"limit\"; the cursor scheme \"cursor\"", name);
	if (p->limit_param && !p->max_limit)
		p->max_limit = 1000;
	cfg->nprofiles++;
}

/* A built-in profile, read like a configuration's own. */
static void read_builtin(struct config_loader *l, const char *name, const char *text)
{
	char msg[128];
	struct json *o = json_parse(&config_of(l)->arena, text, strlen(text), msg, sizeof(msg), NULL);

	read_profile(l, name, o);
}

/* name as a JSON key: quoted, escaped, and its colon. */
static const char *json_key(struct arena *a, const char *name)
{
	struct buf b = {0};
	const char *key;

	json_put_cstr(&b, name);
	buf_putc(&b, ':');
	key = arena_strndup(a, b.p, b.len);
	buf_free(&b);
	return key;
}

/* Resources and views under their profile's names. */
static void apply_names(struct config *cfg, struct resource *r)
{
	const struct profile *p = r->profile;
	size_t i;

	for (i = 0; i < r->nfields; i++) {
		if ((int)i == r->pk)
			r->fields[i].name = p->id_name;
		else if (p->casing == CASE_CAMEL)
			r->fields[i].name = profile_camel(&cfg->arena, r->fields[i].name);
		r->fields[i].key = json_key(&cfg->arena, r->fields[i].name);
	}
	r->key = json_key(&cfg->arena, r->name);
	for (i = 0; i < r->nviews; i++) {
		struct view *v = &r->views[i];

		if (v->kind == VIEW_SUMMARY)
			v->by_key = p->casing == CASE_CAMEL ?
			            profile_camel(&cfg->arena, arena_printf(&cfg->arena, "by_%s",
			                                                    r->fields[v->group_field].name)) :
			            arena_printf(&cfg->arena, "by_%s", r->fields[v->group_field].name);
	}
	for (i = 0; i < r->nchildren; i++) {
		r->children[i]->profile = p;
		apply_names(cfg, r->children[i]);
	}
}

static void check_profiles(struct config_loader *l)
{
	struct config *cfg = config_of(l);
	const struct json *own = cfg->profiles_json;
	size_t i;

	cfg->profiles = ARENA_ARRAY(&cfg->arena, struct profile, 2 + (own ? own->u.o.n : 0));
	read_builtin(l, "drf", drf_text);
	read_builtin(l, "express", express_text);
	for (i = 0; own && i < own->u.o.n; i++) {
		if (find(cfg, own->u.o.m[i].key))
			config_problem(l, own->u.o.m[i].val, "profile \"%s\" is declared already", own->u.o.m[i].key);
		else
			read_profile(l, own->u.o.m[i].key, own->u.o.m[i].val);
	}
	if (!find(cfg, cfg->profile))
		config_problem(l, NULL, "profile \"%s\" is not declared (drf, express, or one of \"profiles\")",
		               cfg->profile);
	for (i = 0; i < cfg->nresources; i++) {
		struct resource *r = cfg->resources[i];
		const char *name = r->profile_name ? r->profile_name : cfg->profile;

		if (!(r->profile = find(cfg, name))) {
			config_problem(l, NULL, "resource %s: profile \"%s\" is not declared", r->name, name);
			r->profile = &cfg->profiles[0];
		}
		apply_names(cfg, r);
	}
}

static void parse_profiles(struct config_loader *l, const struct json *v)
{
	if (config_want_type(l, v, JSON_OBJECT, "profiles"))
		config_of(l)->profiles_json = v;
}

static const struct config_key keys[] = {
	{NULL, "profile", CFG_STRING, CFG_FIELD(profile), 0, 0, "drf", NULL, NULL,
	 "the API framework whose answers are copied: drf, or one of profiles"},
	{NULL, "profiles", CFG_CUSTOM, CFG_FIELD(profiles_json), 0, 0, NULL, NULL, parse_profiles,
	 "API profiles of your own: DRF's, with the differences your application has"},
};

const struct config_module profile_config = {"profile", keys, ARRAY_LEN(keys), check_profiles};
