/*
 * compare.c — structural JSON comparison producing an RFC 6902 patch.
 *
 * Objects are compared key by key (order does not matter, as for any JSON
 * client); arrays position by position, or as sets keyed by a member where
 * a rule says so.  The patch uses "replace" for a changed value, "add" for
 * a member or element only the secondary has, and "remove" for one only
 * the authoritative body has (array removals last index first, so each
 * index is valid when applied in order).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "compare.h"
#include "json.h"
#include "value.h"

struct walk {
	const struct compare_rules *rules;
	struct compare_result *out;
	struct buf path;            /* JSON Pointer of the current node */
};

void compare_rules_default(struct compare_rules *rules)
{
	memset(rules, 0, sizeof(*rules));
	rules->datetime_ms = true;
}

/* Does pointer path match pattern, "*" matching one whole segment? */
static bool path_matches(const char *pattern, const char *path)
{
	while (*pattern && *path) {
		size_t pl = strcspn(pattern + 1, "/") + 1, sl = strcspn(path + 1, "/") + 1;

		if (!(pl == 2 && pattern[1] == '*') && (pl != sl || memcmp(pattern, path, pl) != 0))
			return false;
		pattern += pl;
		path += sl;
	}
	return !*pattern && !*path;
}

static bool ignored(struct walk *w)
{
	size_t i;

	for (i = 0; i < w->rules->nignore; i++)
		if (path_matches(w->rules->ignore[i], buf_cstr(&w->path)))
			return true;
	return false;
}

static const char *set_key(struct walk *w)
{
	size_t i;

	for (i = 0; i < w->rules->nsets; i++)
		if (path_matches(w->rules->sets[i].path, buf_cstr(&w->path)))
			return w->rules->sets[i].key;
	return NULL;
}

/* Append a pointer segment (RFC 6901 escaping: ~ as ~0, / as ~1). */
static void push(struct buf *path, const char *seg, size_t n)
{
	size_t i;

	buf_putc(path, '/');
	for (i = 0; i < n; i++) {
		if (seg[i] == '~')
			buf_puts(path, "~0");
		else if (seg[i] == '/')
			buf_puts(path, "~1");
		else
			buf_putc(path, seg[i]);
	}
}

static void push_index(struct buf *path, size_t i)
{
	buf_printf(path, "/%zu", i);
}

/* Is the line key (n bytes) among those of paths? */
static bool has_line(const struct buf *paths, const char *key, size_t n)
{
	const char *p = paths->p, *end = paths->p + paths->len;

	while (p && p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));

		if ((size_t)(nl - p) == n && memcmp(p, key, n) == 0)
			return true;
		p = nl + 1;
	}
	return false;
}

/*
 * The path with every numeric segment as "*" and every control character
 * as "~x" and two hex digits (a pointer has "~" only before 0 or 1, so no
 * key can spell another path, nor a line break that would split one): the
 * key of a counter.  A comparison adds at most COMPARE_PATHS distinct keys,
 * so that one record with many fields cannot fill a route's table.
 */
static void note_path(struct walk *w)
{
	const char *p = buf_cstr(&w->path);
	struct compare_result *out = w->out;
	struct buf key = {0};
	bool seen;

	if (!*p)
		buf_putc(&key, '/');
	while (*p) {
		size_t n = strcspn(p + 1, "/"), i;

		buf_putc(&key, '/');
		if (n && strspn(p + 1, "0123456789") >= n)
			buf_putc(&key, '*');
		else
			for (i = 1; i <= n; i++)
				if ((unsigned char)p[i] < 0x20 || p[i] == 0x7f)
					buf_printf(&key, "~x%02x", (unsigned char)p[i]);
				else
					buf_putc(&key, p[i]);
		p += n + 1;
	}
	seen = has_line(&out->paths, key.p, key.len);
	if (!seen && out->npaths == COMPARE_PATHS) {
		out->paths_dropped++;
	} else {
		out->npaths += !seen;
		buf_put(&out->paths, key.p, key.len);
		buf_putc(&out->paths, '\n');
	}
	buf_free(&key);
}

static void op(struct walk *w, const char *name, const struct json *value)
{
	struct buf *p = &w->out->patch;

	if (ignored(w))
		return;
	if (w->out->ndiffs++)
		buf_putc(p, ',');
	buf_printf(p, "{\"op\":\"%s\",\"path\":", name);
	json_put_str(p, w->path.p ? w->path.p : "", w->path.len);
	if (value) {
		buf_puts(p, ",\"value\":");
		json_write(p, value);
	}
	buf_putc(p, '}');
	note_path(w);
}

static bool numeric_text(const struct json *v, double *x)
{
	char *end;

	if (v->type == JSON_NUMBER || v->type == JSON_STRING) {
		if (v->u.s.n == 0 || v->u.s.n > 64)
			return false;
		*x = strtod(v->u.s.p, &end);
		return end == v->u.s.p + v->u.s.n && isfinite(*x);
	}
	return false;
}

/* Equal under the rules, for two scalars. */
static bool scalars_equal(const struct walk *w, const struct json *a, const struct json *b)
{
	double x, y;
	int64_t ta, tb;

	if (a->type == JSON_NULL || a->type == JSON_BOOL)
		return a->type == b->type && (a->type == JSON_NULL || a->u.b == b->u.b);
	if (a->type == b->type && a->u.s.n == b->u.s.n && memcmp(a->u.s.p, b->u.s.p, a->u.s.n) == 0)
		return true;
	if (w->rules->tolerance > 0 && (a->type == JSON_NUMBER) == (b->type == JSON_NUMBER) &&
	    numeric_text(a, &x) && numeric_text(b, &y))
		return fabs(x - y) <= w->rules->tolerance;
	if (a->type == JSON_NUMBER && b->type == JSON_NUMBER && numeric_text(a, &x) && numeric_text(b, &y))
		return x == y;
	if (w->rules->datetime_ms && a->type == JSON_STRING && b->type == JSON_STRING &&
	    datetime_parse(a->u.s.p, a->u.s.n, &ta) == 0 && datetime_parse(b->u.s.p, b->u.s.n, &tb) == 0)
		return datetime_trunc_ms(ta) == datetime_trunc_ms(tb);
	return false;
}

static void diff(struct walk *w, const struct json *a, const struct json *b);

static void diff_object(struct walk *w, const struct json *a, const struct json *b)
{
	size_t mark = w->path.len, i;

	for (i = 0; i < a->u.o.n; i++) {
		const struct json_member *m = &a->u.o.m[i];
		const struct json *other = json_get(b, m->key);

		if (json_get(a, m->key) != m->val)
			continue;           /* a duplicate key: the last one counts */
		push(&w->path, m->key, m->klen);
		if (other)
			diff(w, m->val, other);
		else
			op(w, "remove", NULL);
		w->path.len = mark;
	}
	for (i = 0; i < b->u.o.n; i++) {
		const struct json_member *m = &b->u.o.m[i];

		if (json_get(a, m->key) || json_get(b, m->key) != m->val)
			continue;
		push(&w->path, m->key, m->klen);
		op(w, "add", m->val);
		w->path.len = mark;
	}
}

static const struct json *find_keyed(const struct json *arr, const char *key, const struct json *want,
                                     const struct walk *w)
{
	size_t i;

	for (i = 0; i < arr->u.a.n; i++) {
		const struct json *k = json_get(arr->u.a.v[i], key);

		if (k && want && k->type == want->type && k->type != JSON_ARRAY && k->type != JSON_OBJECT &&
		    scalars_equal(w, k, want))
			return arr->u.a.v[i];
	}
	return NULL;
}

/* Arrays as sets keyed by a member: equal when the same keys map to equal
 * elements, in any order; otherwise the whole array is replaced. */
static void diff_set(struct walk *w, const struct json *a, const struct json *b, const char *key)
{
	struct compare_result probe = {0};
	struct walk inner = {.rules = w->rules, .out = &probe};
	size_t i;
	bool same = a->u.a.n == b->u.a.n;

	for (i = 0; same && i < a->u.a.n; i++) {
		const struct json *match = find_keyed(b, key, json_get(a->u.a.v[i], key), w);

		if (!match) {
			same = false;
			break;
		}
		buf_put(&inner.path, w->path.p, w->path.len);
		push_index(&inner.path, i);
		diff(&inner, a->u.a.v[i], match);
		inner.path.len = 0;
		same = probe.ndiffs == 0;
	}
	buf_free(&inner.path);
	compare_result_free(&probe);
	if (!same)
		op(w, "replace", b);
}

static void diff_array(struct walk *w, const struct json *a, const struct json *b)
{
	size_t mark = w->path.len, i, common = a->u.a.n < b->u.a.n ? a->u.a.n : b->u.a.n;
	const char *key = set_key(w);

	if (key) {
		diff_set(w, a, b, key);
		return;
	}
	for (i = 0; i < common; i++) {
		push_index(&w->path, i);
		diff(w, a->u.a.v[i], b->u.a.v[i]);
		w->path.len = mark;
	}
	for (i = common; i < b->u.a.n; i++) {
		push_index(&w->path, i);
		op(w, "add", b->u.a.v[i]);
		w->path.len = mark;
	}
	for (i = a->u.a.n; i-- > common;) {
		push_index(&w->path, i);
		op(w, "remove", NULL);
		w->path.len = mark;
	}
}

static void diff(struct walk *w, const struct json *a, const struct json *b)
{
	if (ignored(w))
		return;
	if (a->type == JSON_OBJECT && b->type == JSON_OBJECT)
		diff_object(w, a, b);
	else if (a->type == JSON_ARRAY && b->type == JSON_ARRAY)
		diff_array(w, a, b);
	else if (a->type == JSON_OBJECT || a->type == JSON_ARRAY || b->type == JSON_OBJECT ||
	         b->type == JSON_ARRAY || !scalars_equal(w, a, b))
		op(w, "replace", b);
}

int compare_responses(const struct compare_rules *rules,
                      int status_a, const char *body_a, size_t len_a,
                      int status_b, const char *body_b, size_t len_b,
                      struct compare_result *out)
{
	struct arena arena;
	struct walk w = {.rules = rules, .out = out};
	const struct json *a, *b;
	char msg[128];

	memset(out, 0, sizeof(*out));
	out->status_differs = status_a != status_b;
	buf_putc(&out->patch, '[');
	arena_init(&arena, 16384);
	a = len_a ? json_parse(&arena, body_a, len_a, msg, sizeof(msg), NULL) : NULL;
	b = len_b ? json_parse(&arena, body_b, len_b, msg, sizeof(msg), NULL) : NULL;
	if (a && b) {
		diff(&w, a, b);
	} else if (len_a != len_b || memcmp(body_a, body_b, len_a) != 0) {
		/* An empty or non-JSON body on either side: only bytes can be compared. */
		out->body_invalid = (len_a && !a) || (len_b && !b);
		if (b) {
			op(&w, "replace", b);
		} else {
			out->ndiffs++;
			out->npaths++;
			buf_puts(&out->paths, "/\n");
		}
	}
	buf_putc(&out->patch, ']');
	buf_cstr(&out->patch);
	buf_cstr(&out->paths);
	out->equal = !out->status_differs && out->ndiffs == 0;
	buf_free(&w.path);
	arena_reset(&arena);
	return 0;
}

void compare_result_free(struct compare_result *r)
{
	buf_free(&r->patch);
	buf_free(&r->paths);
}
