/*
 * json.c — yajl event parser building arena trees; DRF-style JSON output.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <yajl/yajl_parse.h>

#include "json.h"
#include "value.h"

/* A container being filled: its node, and the children gathered so far
 * (kept in a malloc'd vector until the container closes). */
struct frame {
	struct json *node;
	struct json **items;
	struct json_member *members;
	size_t n, cap;
	const char *pending_key;
	size_t pending_klen;
};

struct builder {
	const char *text;
	struct arena *arena;
	yajl_handle h;
	struct frame stack[JSON_MAX_DEPTH + 1];
	int depth;
	struct json *root;
	bool too_deep;
	bool bad_utf8;
};

static struct json *add_node(struct builder *b, enum json_type t)
{
	struct json *v = ARENA_NEW(b->arena, struct json);
	struct frame *f;

	v->type = t;
	v->end = yajl_get_bytes_consumed(b->h);
	if (b->depth == 0) {
		b->root = v;
		return v;
	}
	f = &b->stack[b->depth - 1];
	if (f->node->type == JSON_ARRAY) {
		if (f->n == f->cap) {
			f->cap = f->cap ? f->cap * 2 : 8;
			f->items = xrealloc(f->items, f->cap * sizeof(*f->items));
		}
		f->items[f->n++] = v;
	} else {
		if (f->n == f->cap) {
			f->cap = f->cap ? f->cap * 2 : 8;
			f->members = xrealloc(f->members, f->cap * sizeof(*f->members));
		}
		f->members[f->n].key = f->pending_key;
		f->members[f->n].klen = f->pending_klen;
		f->members[f->n].val = v;
		f->n++;
	}
	return v;
}

static int cb_null(void *ctx)
{
	add_node(ctx, JSON_NULL);
	return 1;
}

static int cb_bool(void *ctx, int val)
{
	add_node(ctx, JSON_BOOL)->u.b = val != 0;
	return 1;
}

static int cb_number(void *ctx, const char *s, size_t n)
{
	struct builder *b = ctx;
	struct json *v = add_node(b, JSON_NUMBER);

	v->u.s.p = arena_strndup(b->arena, s, n);
	v->u.s.n = n;
	return 1;
}

static unsigned hex4(const char *p)
{
	unsigned v = 0;
	int i;

	for (i = 0; i < 4; i++)
		v = v << 4 | (unsigned)hex_digit((unsigned char)p[i]);      /* yajl checked them */
	return v;
}

/* The raw string literal ending just before end (its closing quote at
 * end - 1, yajl having checked its escapes): its first lone surrogate. */
static unsigned lone_surrogate(const char *text, size_t end)
{
	size_t start = end - 1, i;

	for (;;) {                      /* back to the opening quote: one not escaped */
		size_t bs = 0;

		start--;
		while (text[start] != '"')
			start--;
		while (start - bs > 0 && text[start - bs - 1] == '\\')
			bs++;
		if (bs % 2 == 0)
			break;
	}
	for (i = start + 1; i + 1 < end - 1; i++) {
		unsigned cp;

		if (text[i] != '\\')
			continue;
		if (text[++i] != 'u')
			continue;
		cp = hex4(text + i + 1);
		i += 4;
		if (cp >= 0xdc00 && cp <= 0xdfff)
			return cp;
		if (cp >= 0xd800 && cp <= 0xdbff) {
			unsigned lo;

			if (i + 6 >= end || text[i + 1] != '\\' || text[i + 2] != 'u')
				return cp;
			lo = hex4(text + i + 3);
			if (lo < 0xdc00 || lo > 0xdfff)
				return cp;
			i += 6;
		}
	}
	return 0;
}

/* yajl's own UTF-8 check lets overlong forms and encoded surrogates
 * through: non-ASCII text is checked again, strictly. */
static bool text_ok(struct builder *b, const unsigned char *s, size_t n)
{
	if (utf8_valid((const char *)s, n))
		return true;
	b->bad_utf8 = true;
	return false;
}

static int cb_string(void *ctx, const unsigned char *s, size_t n)
{
	struct builder *b = ctx;
	struct json *v;
	size_t i;

	/* What yajl makes of a surrogate escape: ED xx xx, "?", or four bytes;
	 * anything else that is not UTF-8 came as it is, and is refused. */
	for (i = 0; i < n; i++)
		if (s[i] == 0xed || s[i] == '?' || s[i] >= 0xf0)
			break;
	v = add_node(b, JSON_STRING);
	v->u.s.p = arena_strndup(b->arena, (const char *)s, n);
	v->u.s.n = n;
	if (i < n)
		v->surrogate = lone_surrogate(b->text, v->end);
	return v->surrogate || text_ok(b, s, n);
}

static int open_container(struct builder *b, enum json_type t)
{
	struct json *v;

	if (b->depth >= JSON_MAX_DEPTH) {
		b->too_deep = true;
		return 0;
	}
	v = add_node(b, t);
	memset(&b->stack[b->depth], 0, sizeof(b->stack[0]));
	b->stack[b->depth++].node = v;
	return 1;
}

static int close_container(struct builder *b)
{
	struct frame *f = &b->stack[--b->depth];
	struct json *v = f->node;

	v->end = yajl_get_bytes_consumed(b->h);
	if (v->type == JSON_ARRAY) {
		v->u.a.n = f->n;
		v->u.a.v = ARENA_ARRAY(b->arena, struct json *, f->n);
		if (f->n)
			memcpy(v->u.a.v, f->items, f->n * sizeof(*f->items));
	} else {
		v->u.o.n = f->n;
		v->u.o.m = ARENA_ARRAY(b->arena, struct json_member, f->n);
		if (f->n)
			memcpy(v->u.o.m, f->members, f->n * sizeof(*f->members));
	}
	free(f->items);
	free(f->members);
	f->items = NULL;
	f->members = NULL;
	return 1;
}

static int cb_start_map(void *ctx)
{
	return open_container(ctx, JSON_OBJECT);
}

static int cb_map_key(void *ctx, const unsigned char *s, size_t n)
{
	struct builder *b = ctx;
	struct frame *f = &b->stack[b->depth - 1];

	if (!text_ok(b, s, n))
		return 0;
	f->pending_key = arena_strndup(b->arena, (const char *)s, n);
	f->pending_klen = n;
	return 1;
}

static int cb_end(void *ctx)
{
	return close_container(ctx);
}

static int cb_start_array(void *ctx)
{
	return open_container(ctx, JSON_ARRAY);
}

static const yajl_callbacks callbacks = {
	.yajl_null = cb_null,
	.yajl_boolean = cb_bool,
	.yajl_number = cb_number,
	.yajl_string = cb_string,
	.yajl_start_map = cb_start_map,
	.yajl_map_key = cb_map_key,
	.yajl_end_map = cb_end,
	.yajl_start_array = cb_start_array,
	.yajl_end_array = cb_end,
};

/* yajl's messages for the mistakes people make by hand, said as what was
 * expected (for configuration files; an API client gets yajl's). */
static const char *explained(const char *msg, size_t n)
{
	static const struct { const char *yajl, *says; } table[] = {
		{"invalid object key (must be a string)", "expected a key in double quotes (a comma before '}'?)"},
		{"after key and value, inside map, I expect ',' or '}'", "expected ',' or '}' after a value"},
		{"after array element, I expect ',' or ']'", "expected ',' or ']' after a value"},
		{"object key and value must be separated by a colon (':')", "expected ':' after a key"},
		{"unallowed token at this point in JSON text", "expected a value (a comma before ']'?)"},
		{"premature EOF", "the text ends before the JSON does (a '}' or ']' missing?)"},
		{"trailing garbage", "more text after the JSON value"},
		{"lexical error: invalid char in json text", "expected a value: a string in double quotes, a number, "
		 "true, false, null, an object or an array"},
	};
	size_t i;

	if (strncmp(msg, "parse error: ", 13) == 0 && n >= 13)
		msg += 13, n -= 13;
	for (i = 0; i < ARRAY_LEN(table); i++)
		if (strlen(table[i].yajl) <= n && strncmp(msg, table[i].yajl, strlen(table[i].yajl)) == 0)
			return table[i].says;
	return NULL;
}

static struct json *parse(struct arena *arena, const char *text, size_t len, bool comments,
                          char *errmsg, size_t errlen, size_t *erroff)
{
	struct builder b = {.text = text, .arena = arena};
	yajl_status st;

	b.h = yajl_alloc(&callbacks, NULL, &b);
	if (comments)
		yajl_config(b.h, yajl_allow_comments, 1);
	st = yajl_parse(b.h, (const unsigned char *)text, len);
	if (st == yajl_status_ok)
		st = yajl_complete_parse(b.h);
	if (st != yajl_status_ok || !b.root) {
		unsigned char *m = yajl_get_error(b.h, 0, (const unsigned char *)text, len);
		const char *msg = b.too_deep ? "nesting too deep" : b.bad_utf8 ? "invalid UTF-8 in a string" :
		                  (const char *)m;
		size_t n = strcspn(msg, "\n");

		while (n && (msg[n - 1] == ' ' || msg[n - 1] == '.'))
			n--;
		if (comments && explained(msg, n))
			snprintf(errmsg, errlen, "%s", explained(msg, n));
		else
			snprintf(errmsg, errlen, "%.*s", (int)n, msg);
		if (erroff) {       /* yajl counts the space it feeds itself at the end */
			*erroff = yajl_get_bytes_consumed(b.h);
			if (*erroff > len)
				*erroff = len;
		}
		yajl_free_error(b.h, m);
		while (b.depth > 0) {
			b.depth--;
			free(b.stack[b.depth].items);
			free(b.stack[b.depth].members);
		}
		yajl_free(b.h);
		return NULL;
	}
	yajl_free(b.h);
	return b.root;
}

struct json *json_parse(struct arena *arena, const char *text, size_t len,
                        char *errmsg, size_t errlen, size_t *erroff)
{
	return parse(arena, text, len, false, errmsg, errlen, erroff);
}

struct json *json_parse_commented(struct arena *arena, const char *text, size_t len,
                                  char *errmsg, size_t errlen, size_t *erroff)
{
	return parse(arena, text, len, true, errmsg, errlen, erroff);
}

struct json *json_get(const struct json *obj, const char *key)
{
	size_t i;

	if (!obj || obj->type != JSON_OBJECT)
		return NULL;
	for (i = obj->u.o.n; i-- > 0;)
		if (str_eq(obj->u.o.m[i].key, obj->u.o.m[i].klen, key))
			return obj->u.o.m[i].val;
	return NULL;
}

bool json_int(const struct json *v, int64_t min, int64_t max, int64_t *out)
{
	char *end;
	long long x;

	if (!v || v->type != JSON_NUMBER || !json_number_is_int(v))
		return false;
	errno = 0;
	x = strtoll(v->u.s.p, &end, 10);
	if (errno || end != v->u.s.p + v->u.s.n || x < min || x > max)
		return false;
	*out = x;
	return true;
}

const char *json_cstr(const struct json *v)
{
	return v && v->type == JSON_STRING && strlen(v->u.s.p) == v->u.s.n ? v->u.s.p : NULL;
}

bool json_number_is_int(const struct json *v)
{
	return v->type == JSON_NUMBER && !strpbrk(v->u.s.p, ".eE");
}

const char *json_pytype(const struct json *v)
{
	switch (v->type) {
	case JSON_NULL: return "NoneType";
	case JSON_BOOL: return "bool";
	case JSON_NUMBER: return json_number_is_int(v) ? "int" : "float";
	case JSON_STRING: return "str";
	case JSON_ARRAY: return "list";
	case JSON_OBJECT: return "dict";
	}
	return "object";
}

/* Python's repr of a str: single quotes unless the text holds ' and no ". */
static void pyrepr_str(struct buf *b, const char *s, size_t n)
{
	char q = (memchr(s, '\'', n) && !memchr(s, '"', n)) ? '"' : '\'';
	size_t i;

	buf_putc(b, q);
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == (unsigned char)q || c == '\\') {
			buf_putc(b, '\\');
			buf_putc(b, (char)c);
		} else if (c == '\n') {
			buf_puts(b, "\\n");
		} else if (c == '\r') {
			buf_puts(b, "\\r");
		} else if (c == '\t') {
			buf_puts(b, "\\t");
		} else if (c < 0x20 || c == 0x7f) {
			buf_printf(b, "\\x%02x", c);
		} else {
			buf_putc(b, (char)c);
		}
	}
	buf_putc(b, q);
}

/* One walker for both spellings of a value: JSON's compact form, or the
 * repr() Python gives the value its json module loads. */
static void put_number(struct buf *b, const struct json *v, bool stored)
{
	if (stored && !json_number_is_int(v) && json_put_double(b, strtod(v->u.s.p, NULL)))
		return;
	if (stored && v->u.s.n == 2 && memcmp(v->u.s.p, "-0", 2) == 0)
		buf_putc(b, '0');
	else
		buf_put(b, v->u.s.p, v->u.s.n);
}

/* py: as Python's repr(); stored: JSON with doubles as json.dumps writes them. */
static void emit_as(struct buf *b, const struct json *v, bool py, bool stored)
{
	size_t i;

	switch (v->type) {
	case JSON_NULL: buf_puts(b, py ? "None" : "null"); break;
	case JSON_BOOL: buf_puts(b, v->u.b ? (py ? "True" : "true") : (py ? "False" : "false")); break;
	case JSON_NUMBER: put_number(b, v, stored); break;
	case JSON_STRING:
		(py ? pyrepr_str : json_put_str)(b, v->u.s.p, v->u.s.n);
		break;
	case JSON_ARRAY:
		buf_putc(b, '[');
		for (i = 0; i < v->u.a.n; i++) {
			if (i)
				buf_puts(b, py ? ", " : ",");
			emit_as(b, v->u.a.v[i], py, stored);
		}
		buf_putc(b, ']');
		break;
	case JSON_OBJECT:
		buf_putc(b, '{');
		for (i = 0; i < v->u.o.n; i++) {
			if (i)
				buf_puts(b, py ? ", " : ",");
			(py ? pyrepr_str : json_put_str)(b, v->u.o.m[i].key, v->u.o.m[i].klen);
			buf_puts(b, py ? ": " : ":");
			emit_as(b, v->u.o.m[i].val, py, stored);
		}
		buf_putc(b, '}');
		break;
	}
}

void json_pyrepr(struct buf *b, const struct json *v)
{
	emit_as(b, v, true, false);
}

/* Bytes a JSON string cannot hold as they are: controls, the quote, the
 * backslash; and 0xe2, which may start U+2028 or U+2029 (they end lines in
 * JavaScript, so they are escaped too). */
static const unsigned char json_special[256] = {
	[0 ... 0x1f] = 1, ['"'] = 1, ['\\'] = 1, [0xe2] = 1,
};

void json_put_str(struct buf *b, const char *s, size_t n)
{
	size_t i = 0;

	buf_reserve(b, n + 2);
	buf_putc(b, '"');
	while (i < n) {
		size_t run = i;
		unsigned char c;
		const char *esc;
		char tmp[8];

		while (i < n && !json_special[(unsigned char)s[i]])
			i++;
		buf_put(b, s + run, i - run);
		if (i == n)
			break;
		c = (unsigned char)s[i++];
		switch (c) {
		case 0xe2:
			if (i + 1 < n && (unsigned char)s[i] == 0x80 &&
			    ((unsigned char)s[i + 1] == 0xa8 || (unsigned char)s[i + 1] == 0xa9)) {
				esc = (unsigned char)s[i + 1] == 0xa8 ? "\\u2028" : "\\u2029";
				i += 2;
			} else {
				buf_putc(b, (char)c);
				continue;
			}
			break;
		case '"': esc = "\\\""; break;
		case '\\': esc = "\\\\"; break;
		case '\n': esc = "\\n"; break;
		case '\r': esc = "\\r"; break;
		case '\t': esc = "\\t"; break;
		case '\b': esc = "\\b"; break;
		case '\f': esc = "\\f"; break;
		default:
			snprintf(tmp, sizeof(tmp), "\\u%04x", c);
			esc = tmp;
		}
		buf_puts(b, esc);
	}
	buf_putc(b, '"');
}

void json_write(struct buf *b, const struct json *v)
{
	emit_as(b, v, false, false);
}

void json_write_stored(struct buf *b, const struct json *v)
{
	emit_as(b, v, false, true);
}

/* Storable values ------------------------------------------------------ */

/* d's shortest round-tripping digits (no trailing zeros, "0" for zero)
 * and its decimal exponent: d = D.DDD x 10^exp. */
static size_t shortest_digits(double d, char digits[20], int *exp)
{
	char sci[40];
	const char *s;
	size_t n = 0;
	int p;

	/* printf rounds correctly, so the first precision that reads back
	 * gives Python's digits (17 always does). */
	for (p = 1;; p++) {
		snprintf(sci, sizeof(sci), "%.*e", p - 1, d);
		if (p == 17 || strtod(sci, NULL) == d)
			break;
	}
	for (s = sci + (sci[0] == '-'); *s != 'e'; s++)
		if (*s != '.')
			digits[n++] = *s;
	*exp = atoi(s + 1);
	while (n > 1 && digits[n - 1] == '0')
		n--;
	digits[n] = '\0';
	return n;
}

bool json_put_double(struct buf *b, double d)
{
	char digits[20];
	int x, i;
	size_t n;

	if (!isfinite(d))
		return false;
	n = shortest_digits(d, digits, &x);
	if (signbit(d))
		buf_putc(b, '-');
	if (x < -4 || x >= 16) {
		buf_putc(b, digits[0]);
		if (n > 1) {
			buf_putc(b, '.');
			buf_put(b, digits + 1, n - 1);
		}
		buf_printf(b, "e%c%02d", x < 0 ? '-' : '+', x < 0 ? -x : x);
	} else if (x >= 0) {
		for (i = 0; i <= x; i++)
			buf_putc(b, (size_t)i < n ? digits[i] : '0');
		buf_putc(b, '.');
		if (n > (size_t)x + 1)
			buf_put(b, digits + x + 1, n - (size_t)x - 1);
		else
			buf_putc(b, '0');
	} else {
		buf_puts(b, "0.");
		for (i = -1; i > x; i--)
			buf_putc(b, '0');
		buf_put(b, digits, n);
	}
	return true;
}

/* Text quoted into a message, cut short: a number or a key may be a
 * megabyte long.  Keys are shown escaped, as JSON string literals. */
static const char *excerpt(struct arena *a, const char *s, size_t n, bool quote)
{
	struct buf b = {0};
	size_t cut = n;
	const char *out;

	if (n > 40)
		cut = utf8_cut(s, 32);
	if (quote)
		json_put_str(&b, s, cut);
	else
		buf_put(&b, s, cut);
	if (cut < n)
		buf_puts(&b, "\xe2\x80\xa6");
	out = arena_strndup(a, b.p, b.len);
	buf_free(&b);
	return out;
}

#define MSG_NEGATIVE_ZERO "Negative zero cannot be stored: send 0 or 0.0."

static const char *check_number(struct arena *a, const struct json *v)
{
	const char *s = v->u.s.p;
	double d;

	if (json_number_is_int(v)) {
		errno = 0;
		(void)strtoll(s, NULL, 10);
		if (errno == ERANGE)
			return arena_printf(a, "%s is outside the range of integers that can be stored "
			                    "(-9223372036854775808 to 9223372036854775807).",
			                    excerpt(a, s, v->u.s.n, false));
		return NULL;
	}
	/* Any other spelling of a double is kept as the double (json.dumps
	 * writes it one way, as the application would). */
	d = strtod(s, NULL);
	if (!isfinite(d))
		return arena_printf(a, "%s is outside the range of a double-precision number.",
		                    excerpt(a, s, v->u.s.n, false));
	return d == 0 && signbit(d) ? MSG_NEGATIVE_ZERO : NULL;
}

static int cmp_members(const void *x, const void *y)
{
	const struct json_member *a = *(const struct json_member *const *)x;
	const struct json_member *b = *(const struct json_member *const *)y;
	int c = memcmp(a->key, b->key, a->klen < b->klen ? a->klen : b->klen);

	return c ? c : (a->klen > b->klen) - (a->klen < b->klen);
}

static const char *check_keys(struct arena *a, const struct json *v)
{
	const struct json_member **sorted;
	size_t i;

	for (i = 0; i < v->u.o.n; i++) {
		const struct json_member *m = &v->u.o.m[i];

		if (m->klen == 0 || m->key[0] == '$' || memchr(m->key, '.', m->klen) ||
		    memchr(m->key, '\0', m->klen))
			return arena_printf(a, "The key %s cannot be stored: keys must not be empty, begin "
			                    "with \"$\", or contain \".\" or \\u0000.",
			                    excerpt(a, m->key, m->klen, true));
	}
	/* Sorted, so a body of many keys costs n log n. */
	sorted = ARENA_ARRAY(a, const struct json_member *, v->u.o.n ? v->u.o.n : 1);
	for (i = 0; i < v->u.o.n; i++)
		sorted[i] = &v->u.o.m[i];
	qsort(sorted, v->u.o.n, sizeof(*sorted), cmp_members);
	for (i = 1; i < v->u.o.n; i++)
		if (cmp_members(&sorted[i - 1], &sorted[i]) == 0)
			return arena_printf(a, "The key %s appears more than once.",
			                    excerpt(a, sorted[i]->key, sorted[i]->klen, true));
	return NULL;
}

const char *json_store_check(struct arena *a, const struct json *v)
{
	const char *msg = NULL;
	size_t i;

	switch (v->type) {
	case JSON_NUMBER:
		return check_number(a, v);
	case JSON_ARRAY:
		for (i = 0; i < v->u.a.n && !msg; i++)
			msg = json_store_check(a, v->u.a.v[i]);
		return msg;
	case JSON_OBJECT:
		msg = check_keys(a, v);
		for (i = 0; i < v->u.o.n && !msg; i++)
			msg = json_store_check(a, v->u.o.m[i].val);
		return msg;
	default:
		return NULL;
	}
}

void json_line_col(const char *text, size_t len, size_t off, int *line, int *col)
{
	size_t i;

	*line = 1;
	*col = 1;
	if (off > len)
		off = len;
	for (i = 0; i < off; i++) {
		if (text[i] == '\n') {
			(*line)++;
			*col = 1;
		} else {
			(*col)++;
		}
	}
}
