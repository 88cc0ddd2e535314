/*
 * config.c — strict loading of the JSON configuration (see config.h).
 *
 * The loader walks the parsed tree once, reporting every problem it finds
 * (unknown keys, wrong types, dangling field names) with the file, line and
 * column, instead of stopping at the first, so `cutover check` can show an
 * operator the whole list at once.
 */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "json.h"

struct config_loader {
	struct config *cfg;
	struct arena *a;
	const char *name;
	const char *text;           /* the interpolated text that was parsed */
	size_t len;
	struct config_problems *pr;
	/* Where each declared key was given: its problems found after the
	 * environment are still reported at the value. */
	struct { const struct config_key *k; const struct json *v; } *given;
	size_t ngiven, maxgiven;
};

/* One problem: "file:line:column: " at a value (the file as a whole when
 * at is NULL), then an optional prefix and the message. */
static void problem_v(struct config_loader *l, const struct json *at, const char *prefix, const char *fmt,
                      va_list ap)
{
	int line = 0, col = 0;
	char msg[600];

	if (at) {
		json_line_col(l->text, l->len, at->end, &line, &col);
		buf_printf(&l->pr->text, "%s:%d:%d: ", l->name, line, col);
	} else {
		buf_printf(&l->pr->text, "%s: ", l->name);     /* the file as a whole */
	}
	if (prefix)
		buf_puts(&l->pr->text, prefix);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	buf_puts(&l->pr->text, msg);
	buf_putc(&l->pr->text, '\n');
	l->pr->count++;
}

void config_problem(struct config_loader *l, const struct json *at, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	problem_v(l, at, NULL, fmt, ap);
	va_end(ap);
}

/* Longer values are cut: a message names the value, it does not echo a
 * 10 MB one whole. */
#define QUOTE_MAX 80

const char *config_quote(struct config_loader *l, const char *s)
{
	struct buf b = {0};
	size_t n = strlen(s);
	const char *out;

	if (n > QUOTE_MAX)
		n = utf8_cut(s, QUOTE_MAX);
	json_put_str(&b, s, n);
	if (n < strlen(s)) {
		b.len--;            /* inside the closing quote */
		buf_puts(&b, "\xe2\x80\xa6\"");      /* … */
	}
	out = arena_strndup(l->a, b.p, b.len);
	buf_free(&b);
	return out;
}

/* Interpolation ------------------------------------------------------- */

int config_interpolate(struct arena *a, const char *in, size_t n, char **out,
                       struct error *err)
{
	struct buf b = {0};
	size_t i = 0;

	while (i < n) {
		const char *close;
		char name[256];
		const char *def = NULL;
		size_t namelen, deflen = 0;
		const char *val;

		if (in[i] == '$' && i + 2 < n && in[i + 1] == '$' && in[i + 2] == '{') {
			buf_puts(&b, "${");     /* $${ is a literal ${, as compose's $$ is a $ */
			i += 3;
			continue;
		}
		if (in[i] != '$' || i + 1 >= n || in[i + 1] != '{') {
			buf_putc(&b, in[i++]);
			continue;
		}
		close = memchr(in + i + 2, '}', n - i - 2);
		if (!close) {
			error_set(err, 0, "unterminated ${ at offset %zu (a literal ${ is written $${)", i);
			buf_free(&b);
			return -1;
		}
		namelen = (size_t)(close - (in + i + 2));
		{
			const char *sep = NULL;
			size_t k;

			for (k = 0; k + 1 < namelen; k++) {
				if (in[i + 2 + k] == ':' && in[i + 3 + k] == '-') {
					sep = in + i + 2 + k;
					break;
				}
			}
			if (sep) {
				def = sep + 2;
				deflen = (size_t)(close - def);
				namelen = (size_t)(sep - (in + i + 2));
			}
		}
		if (namelen == 0 || namelen >= sizeof(name)) {
			error_set(err, 0, "bad variable reference at offset %zu (a literal ${ is written $${)", i);
			buf_free(&b);
			return -1;
		}
		memcpy(name, in + i + 2, namelen);
		name[namelen] = '\0';
		val = getenv(name);
		if (val && (*val || !def)) {
			buf_puts(&b, val);
		} else if (def) {
			buf_put(&b, def, deflen);
		} else {
			error_set(err, 0, "environment variable %s is not set (write ${%s:-default} to give a default)",
			          name, name);
			buf_free(&b);
			return -1;
		}
		i = (size_t)(close - in) + 1;
	}
	*out = arena_strndup(a, b.p ? b.p : "", b.len);
	buf_free(&b);
	return 0;
}

void config_put_str(struct buf *b, const char *s)
{
	struct buf lit = {0};
	const char *p;

	/* A $ before every ${: the loader's $${ gives each back as it was. */
	while ((p = strstr(s, "${"))) {
		buf_put(&lit, s, (size_t)(p - s));
		buf_puts(&lit, "$${");
		s = p + 2;
	}
	buf_puts(&lit, s);
	json_put_str(b, lit.p ? lit.p : "", lit.len);
	buf_free(&lit);
}

/* Typed accessors ----------------------------------------------------- */

/* String values are interpolated one by one, so a problem in a variable
 * points at the value that holds it. */
const char *config_want_str(struct config_loader *l, const struct json *v, const char *key)
{
	char *out;
	struct error err;

	if (v->type != JSON_STRING) {
		config_problem(l, v, "\"%s\" must be a string", key);
		return NULL;
	}
	if (config_interpolate(l->a, v->u.s.p, v->u.s.n, &out, &err) < 0) {
		config_problem(l, v, "\"%s\": %s", key, err.msg);
		return NULL;
	}
	return out;
}

/* A key given twice in one object: JSON keeps the last, silently; a
 * configuration should say which it meant.  Reported, and the earlier one
 * dropped, so the rest is read (and checked) as if it were not there. */
static void duplicate_keys(struct config_loader *l, struct json *v)
{
	size_t i, k, n;

	if (v->type == JSON_ARRAY) {
		for (i = 0; i < v->u.a.n; i++)
			duplicate_keys(l, v->u.a.v[i]);
		return;
	}
	if (v->type != JSON_OBJECT)
		return;
	for (i = n = 0; i < v->u.o.n; i++) {
		struct json_member *m = &v->u.o.m[i];
		bool later = false;

		for (k = i + 1; k < v->u.o.n && !later; k++)
			later = m->klen == v->u.o.m[k].klen && memcmp(m->key, v->u.o.m[k].key, m->klen) == 0;
		if (later) {
			config_problem(l, m->val, "%s is given again later in the same object",
			               config_quote(l, m->key));
			continue;
		}
		duplicate_keys(l, m->val);
		v->u.o.m[n++] = *m;
	}
	v->u.o.n = n;
}

/* A string setting: on a problem the default stays, so nothing later
 * meets a NULL where a value was given wrong. */
void config_set_str(struct config_loader *l, const struct json *v, const char *key, const char **dst)
{
	const char *s = config_want_str(l, v, key);

	if (s)
		*dst = s;
}

bool config_want_int(struct config_loader *l, const struct json *v, const char *key,
                     long min, long max, long *out)
{
	char *end;
	long x;

	if (v->type == JSON_STRING) {
		const char *s = config_want_str(l, v, key);

		if (!s)
			return false;
		errno = 0;
		x = strtol(s, &end, 10);
		if (!*s || *end || errno) {
			config_problem(l, v, "\"%s\" must be an integer", key);
			return false;
		}
	} else if (v->type == JSON_NUMBER && json_number_is_int(v)) {
		errno = 0;
		x = strtol(v->u.s.p, &end, 10);
	} else {
		config_problem(l, v, "\"%s\" must be an integer", key);
		return false;
	}
	if (errno || x < min || x > max) {
		config_problem(l, v, "\"%s\" must be between %ld and %ld", key, min, max);
		return false;
	}
	*out = x;
	return true;
}

bool config_want_bool(struct config_loader *l, const struct json *v, const char *key, bool *out)
{
	if (v->type != JSON_BOOL) {
		config_problem(l, v, "\"%s\" must be true or false", key);
		return false;
	}
	*out = v->u.b;
	return true;
}

bool config_want_type(struct config_loader *l, const struct json *v, enum json_type t, const char *key)
{
	static const char *names[] = {"null", "a boolean", "a number", "a string", "an array", "an object"};

	if (v->type == t)
		return true;
	config_problem(l, v, "\"%s\" must be %s", key, names[t]);
	return false;
}

/* Declared keys -------------------------------------------------------- */

static bool same(const char *a, const char *b)
{
	return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

static const struct config_key *find_key(const char *section, const char *name)
{
	const struct config_module *const *m;
	size_t i;

	for (m = config_modules; *m; m++)
		for (i = 0; i < (*m)->nkeys; i++)
			if (same((*m)->keys[i].section, section) && strcmp((*m)->keys[i].name, name) == 0)
				return &(*m)->keys[i];
	return NULL;
}

/* The known key nearest to name in section (NULL: the top level, whose
 * sections count as keys too). */
const char *config_did_you_mean(struct config_loader *l, const struct nearest *n)
{
	return nearest_found(n) ? arena_printf(l->a, " (did you mean \"%s\"?)", nearest_found(n)) : "";
}

static const char *key_hint(struct config_loader *l, const char *section, const char *name)
{
	const struct config_module *const *m;
	struct nearest n;
	size_t i;

	nearest_init(&n, name);
	for (m = config_modules; *m; m++)
		for (i = 0; i < (*m)->nkeys; i++) {
			const struct config_key *k = &(*m)->keys[i];

			if (same(k->section, section))
				nearest_try(&n, k->name);
			else if (!section && k->section)
				nearest_try(&n, k->section);
		}
	return config_did_you_mean(l, &n);
}

static bool is_section(const char *name)
{
	const struct config_module *const *m;
	size_t i;

	for (m = config_modules; *m; m++)
		for (i = 0; i < (*m)->nkeys; i++)
			if (same((*m)->keys[i].section, name))
				return true;
	return false;
}

static void store_int(struct config *cfg, const struct config_key *k, long v)
{
	void *p = (char *)cfg + k->offset;

	if (k->size == sizeof(int))
		*(int *)p = (int)v;
	else
		*(int64_t *)p = v;
}

static void read_key(struct config_loader *l, const struct config_key *k, const struct json *v)
{
	void *p = (char *)l->cfg + k->offset;
	long n;

	if (l->ngiven < l->maxgiven) {
		l->given[l->ngiven].k = k;
		l->given[l->ngiven++].v = v;
	}
	switch (k->type) {
	case CFG_STRING:
		config_set_str(l, v, k->name, (const char **)p);
		break;
	case CFG_INT:
		if (config_want_int(l, v, k->name, k->lo, k->hi, &n))
			store_int(l->cfg, k, n);
		break;
	case CFG_BOOL:
		config_want_bool(l, v, k->name, (bool *)p);
		break;
	case CFG_CUSTOM:
		k->parse(l, v);
		break;
	}
}

void config_read_section(struct config_loader *l, const char *section, const struct json *obj)
{
	size_t i;

	for (i = 0; i < obj->u.o.n; i++) {
		const struct config_key *k = find_key(section, obj->u.o.m[i].key);

		if (k)
			read_key(l, k, obj->u.o.m[i].val);
		else
			config_problem(l, obj->u.o.m[i].val, "%s: unknown key %s%s", section,
			               config_quote(l, obj->u.o.m[i].key), key_hint(l, section, obj->u.o.m[i].key));
	}
}

/* The variable that replaced key k's value from the file, or NULL (the
 * same test as finish_load's). */
static const char *overridden_by(const struct config_key *k)
{
	const char *v;

	return k->type == CFG_STRING && k->env && (v = getenv(k->env)) && *v ? k->env : NULL;
}

void config_key_problem(struct config_loader *l, const char *section, const char *name, const char *fmt, ...)
{
	const struct config_key *k = find_key(section, name);
	const struct json *at = NULL;
	const char *env = k ? overridden_by(k) : NULL;
	char prefix[80] = "";
	va_list ap;
	size_t i;

	for (i = 0; k && !env && i < l->ngiven; i++)
		if (l->given[i].k == k)
			at = l->given[i].v;
	if (env)
		snprintf(prefix, sizeof(prefix), "%s (from the environment): ", env);
	va_start(ap, fmt);
	problem_v(l, at, prefix, fmt, ap);
	va_end(ap);
}

static void parse_root(struct config_loader *l, const struct json *root)
{
	size_t i;

	if (root->type != JSON_OBJECT) {
		config_problem(l, root, "the configuration must be a JSON object");
		return;
	}
	for (i = 0; i < root->u.o.n; i++) {
		const char *key = root->u.o.m[i].key;
		const struct json *v = root->u.o.m[i].val;
		const struct config_key *k = find_key(NULL, key);

		if (k)
			read_key(l, k, v);
		else if (!is_section(key))
			config_problem(l, v, "unknown key %s%s", config_quote(l, key), key_hint(l, NULL, key));
		else if (config_want_type(l, v, JSON_OBJECT, key))
			config_read_section(l, key, v);
	}
}

/* Every declared default; a string without one is NULL. */
static void set_defaults(struct config *cfg)
{
	const struct config_module *const *m;
	size_t i;

	for (m = config_modules; *m; m++)
		for (i = 0; i < (*m)->nkeys; i++) {
			const struct config_key *k = &(*m)->keys[i];
			void *p = (char *)cfg + k->offset;

			if (!k->def)
				continue;
			if (k->type == CFG_STRING)
				*(const char **)p = k->def;
			else if (k->type == CFG_INT)
				store_int(cfg, k, strtol(k->def, NULL, 10));
			else if (k->type == CFG_BOOL)
				*(bool *)p = strcmp(k->def, "true") == 0;
		}
}

/* The environment wins over the file; then each module checks the whole. */
static void finish_load(struct config_loader *l)
{
	const struct config_module *const *m;
	const char *v;
	size_t i;

	for (m = config_modules; *m; m++)
		for (i = 0; i < (*m)->nkeys; i++) {
			const struct config_key *k = &(*m)->keys[i];

			if (overridden_by(k) && (v = getenv(k->env)))
				*(const char **)((char *)l->cfg + k->offset) = arena_strdup(l->a, v);
		}
	for (m = config_modules; *m; m++)
		if ((*m)->check)
			(*m)->check(l);
}

/* Text for a man page: backslashes doubled, a leading dot or quote kept
 * from being read as a request. */
static void roff(FILE *out, const char *s)
{
	if (*s == '.' || *s == '\'')
		fputs("\\&", out);
	for (; *s; s++)
		if (*s == '\\')
			fputs("\\e", out);
		else if (*s == '-')
			fputs("\\-", out);
		else
			fputc(*s, out);
}

static void key_print(FILE *out, enum keys_format f, const char *key, const char *type, const char *bounds,
                      const char *def, const char *env, const char *module, const char *doc)
{
	if (f == KEYS_TEXT) {
		fprintf(out, "%-34s %-8s %-22s %-26s %-21s %-10s %s\n", key, type, bounds, def, env, module, doc);
	} else if (f == KEYS_MARKDOWN) {
		fprintf(out, "| `%s` | %s | %s | %s | %s | %s |\n", key, type, bounds, def, env, doc);
	} else {
		fputs(".TP\n.B ", out);
		roff(out, key);
		fprintf(out, "\n(%s", type);
		if (*bounds != '-')
			fprintf(out, ", %s", bounds);
		if (*def != '-') {
			fputs(", default ", out);
			roff(out, def);
		}
		if (*env != '-')
			fprintf(out, ", or \\fB%s\\fR", env);
		fputs(")\n.br\n", out);
		roff(out, doc);
		fputc('\n', out);
	}
}

void config_keys_print(FILE *out, enum keys_format f)
{
	static const char *const types[] = {"string", "integer", "boolean", "other"};
	const struct config_module *const *m;
	size_t i;

	if (f == KEYS_TEXT)
		key_print(out, f, "KEY", "TYPE", "BOUNDS", "DEFAULT", "ENV", "MODULE", "DESCRIPTION");
	else if (f == KEYS_MARKDOWN)
		fputs("| Key | Type | Bounds | Default | Environment | What it does |\n|---|---|---|---|---|---|\n", out);
	for (m = config_modules; *m; m++)
		for (i = 0; i < (*m)->nkeys; i++) {
			const struct config_key *k = &(*m)->keys[i];
			char key[80], bounds[48] = "-", def[64] = "-";

			snprintf(key, sizeof(key), "%s%s%s", k->section ? k->section : "", k->section ? "." : "", k->name);
			if (k->type == CFG_INT)
				snprintf(bounds, sizeof(bounds), "%ld..%ld", k->lo, k->hi);
			if (k->type == CFG_STRING && k->def)
				snprintf(def, sizeof(def), "\"%s\"", k->def);
			else if (k->type != CFG_STRING && k->type != CFG_CUSTOM)
				snprintf(def, sizeof(def), "%s", k->def ? k->def : k->type == CFG_INT ? "0" : "false");
			key_print(out, f, key, types[k->type], bounds, def, k->env ? k->env : "-", (*m)->name,
			          k->doc ? k->doc : "-");
		}
}

struct config *config_of(struct config_loader *l)
{
	return l->cfg;
}

struct arena *config_arena(struct config_loader *l)
{
	return l->a;
}

const char *mode_unavailable(const struct config *cfg, int m)
{
	if (m == MODE_PASSTHROUGH && !*cfg->upstream.url)
		return "needs the application: set \"upstream\" or CUTOVER_UPSTREAM";
	if (m >= 0 && mode_uses_mongo((enum mode)m) && !*cfg->mongodb_uri)
		return "needs the MongoDB store: set \"mongodb_uri\" or MONGODB_URI";
	return NULL;
}

/* The legacy store and the modes, after the environment. */
static void core_check(struct config_loader *l)
{
	struct config *cfg = l->cfg;
	const char *why;
	size_t i;
	int md;

	if ((md = mode_parse(cfg->mode)) < 0)
		config_key_problem(l, NULL, "mode", "mode %s is not one of legacy, dual-write, shadow (dual), live, "
		                   "rampdown, mongodb, passthrough", config_quote(l, cfg->mode));
	else
		cfg->mode_id = (enum mode)md;
	if (md >= 0 && (why = mode_unavailable(cfg, md)))
		config_key_problem(l, NULL, "mode", "mode \"%s\" %s", cfg->mode, why);
	for (i = 0; i < cfg->nresources; i++) {
		int m = cfg->resources[i]->mode;

		if (m >= 0 && (why = mode_unavailable(cfg, m)))
			config_problem(l, NULL, "mode \"%s\" of %s %s", mode_name((enum mode)m), cfg->resources[i]->name,
			               why);
	}
	/* Whether an adapter takes the URLs is server.c's check, beside serve. */
	if (!cfg->database_url || !*cfg->database_url)
		config_problem(l, NULL, "no legacy store: set \"database_url\" or DATABASE_URL");
}

static const struct config_key core_keys[] = {
	{NULL, "database_url", CFG_STRING, CFG_FIELD(database_url), 0, 0, NULL, "DATABASE_URL", NULL,
	 "the legacy store: sqlite://PATH, postgresql://HOST/DB (or MongoDB alone)"},
	{NULL, "mongodb_uri", CFG_STRING, CFG_FIELD(mongodb_uri), 0, 0, "", "MONGODB_URI", NULL,
	 "the MongoDB store: mongodb://HOST/DB or mongodb+srv://HOST/DB"},
	{NULL, "mode", CFG_STRING, CFG_FIELD(mode), 0, 0, "legacy", "DATABASE_MODE", NULL,
	 "the global mode; a route's own mode wins"},
};

const struct config_module config_core = {"core", core_keys, ARRAY_LEN(core_keys), core_check};

static size_t count_keys(void)
{
	const struct config_module *const *m;
	size_t n = 0;

	for (m = config_modules; *m; m++)
		n += (*m)->nkeys;
	return n;
}

struct config *config_load_text(const char *name, const char *text, size_t len,
                                struct config_problems *problems)
{
	struct config *cfg = xcalloc(1, sizeof(*cfg));
	struct config_loader l = {.cfg = cfg, .a = &cfg->arena, .name = name, .text = text,
	                   .len = len, .pr = problems};
	struct json *root;
	char msg[256];
	size_t off = 0;

	problems->count = 0;
	arena_init(&cfg->arena, 16384);
	l.maxgiven = count_keys();
	l.given = arena_zalloc(&cfg->arena, sizeof(*l.given) * l.maxgiven);
	cfg->path = arena_strdup(&cfg->arena, name);
	cfg->mongodb_decimal = MD_DECIMAL128;
	set_defaults(cfg);
	root = json_parse_commented(&cfg->arena, text, len, msg, sizeof(msg), &off);
	if (!root) {
		int line, col;

		json_line_col(text, len, off, &line, &col);
		buf_printf(&problems->text, "%s:%d:%d: invalid JSON: %s\n", name, line, col, msg);
		problems->count++;
	} else {
		duplicate_keys(&l, root);
		parse_root(&l, root);
		finish_load(&l);
	}
	if (problems->count) {
		config_free(cfg);
		return NULL;
	}
	return cfg;
}

struct config *config_load(const char *path, struct config_problems *problems)
{
	struct error err;
	size_t len;
	char *text = read_file(path, &len, &err);
	struct config *cfg;

	if (!text) {
		problems->count = 1;
		buf_printf(&problems->text, "%s\n", err.msg);
		return NULL;
	}
	cfg = config_load_text(path, text, len, problems);
	free(text);
	return cfg;
}

void config_free(struct config *cfg)
{
	if (!cfg)
		return;
	arena_reset(&cfg->arena);
	free(cfg);
}

void config_problems_free(struct config_problems *p)
{
	buf_free(&p->text);
	p->count = 0;
}
