/*
 * query.c — query-string parsing and page links (see query.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "query.h"
#include "value.h"

/* Percent-decode with '+' as space; invalid escapes stay as they are, and
 * bytes that are not UTF-8 become U+FFFD, as Python's unquote does. */
static const char *decode(struct arena *a, const char *s, size_t n)
{
	struct buf raw = {0}, out = {0};
	const char *res;
	size_t i;

	for (i = 0; i < n; i++) {
		int h, l;

		if (s[i] == '+') {
			buf_putc(&raw, ' ');
		} else if (s[i] == '%' && i + 2 < n && (h = hex_digit((unsigned char)s[i + 1])) >= 0 &&
		           (l = hex_digit((unsigned char)s[i + 2])) >= 0) {
			buf_putc(&raw, (char)(h << 4 | l));
			i += 2;
		} else {
			buf_putc(&raw, s[i]);
		}
	}
	if (utf8_valid(raw.p ? raw.p : "", raw.len)) {
		res = arena_strndup(a, raw.p ? raw.p : "", raw.len);
		buf_free(&raw);
		return res;
	}
	for (i = 0; i < raw.len;) {
		unsigned char c = (unsigned char)raw.p[i];
		size_t k = c < 0x80 ? 1 : c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : 2;

		if (i + k <= raw.len && utf8_valid(raw.p + i, k)) {
			buf_put(&out, raw.p + i, k);
			i += k;
		} else {
			buf_puts(&out, "\xef\xbf\xbd");
			i++;
		}
	}
	res = arena_strndup(a, out.p, out.len);
	buf_free(&raw);
	buf_free(&out);
	return res;
}

void query_parse(struct arena *a, const char *qs, struct qparams *out)
{
	size_t cap = 0;
	const char *p = qs;

	out->v = NULL;
	out->n = 0;
	if (!qs)
		return;
	while (*p) {
		size_t len = strcspn(p, "&");
		const char *eq = memchr(p, '=', len);

		if (len) {
			if (out->n == cap) {
				struct qparam *bigger;

				cap = cap ? cap * 2 : 8;
				bigger = ARENA_ARRAY(a, struct qparam, cap);
				if (out->n)
					memcpy(bigger, out->v, out->n * sizeof(*bigger));
				out->v = bigger;
			}
			out->v[out->n].key = decode(a, p, eq ? (size_t)(eq - p) : len);
			out->v[out->n].val = eq ? decode(a, eq + 1, len - (size_t)(eq - p) - 1) : "";
			out->n++;
		}
		p += len;
		if (*p == '&')
			p++;
	}
}

const char *query_get(const struct qparams *q, const char *key)
{
	size_t i;

	for (i = q->n; i-- > 0;)
		if (strcmp(q->v[i].key, key) == 0)
			return q->v[i].val;
	return NULL;
}

/* Form-encode s onto b, as Python's quote_plus. */
static void query_quote_plus(struct buf *b, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";

	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		    c == '_' || c == '.' || c == '-' || c == '~') {
			buf_putc(b, (char)c);
		} else if (c == ' ') {
			buf_putc(b, '+');
		} else {
			buf_putc(b, '%');
			buf_putc(b, hex[c >> 4]);
			buf_putc(b, hex[c & 15]);
		}
	}
}

/* Sort keys by name, keeping each key's values in their original order. */
static int cmp_param(const void *x, const void *y)
{
	const struct qparam *a = *(const struct qparam *const *)x;
	const struct qparam *b = *(const struct qparam *const *)y;
	int c = strcmp(a->key, b->key);

	return c ? c : (a < b ? -1 : a > b);
}

const char *query_link(struct arena *a, const char *origin, const char *path, const struct qparams *q,
                       const struct qparam *set, size_t nset)
{
	const struct qparam **sorted = ARENA_ARRAY(a, const struct qparam *, q->n + nset + 1);
	struct buf b = {0};
	const char *res;
	size_t i, k, n = 0;

	for (i = 0; i < q->n; i++) {
		for (k = 0; k < nset && strcmp(q->v[i].key, set[k].key) != 0; k++)
			;
		if (k == nset)
			sorted[n++] = &q->v[i];
	}
	for (k = 0; k < nset; k++)
		if (set[k].val)
			sorted[n++] = &set[k];
	qsort(sorted, n, sizeof(*sorted), cmp_param);
	buf_printf(&b, "%s%s", origin, path);
	for (i = 0; i < n; i++) {
		buf_putc(&b, i ? '&' : '?');
		query_quote_plus(&b, sorted[i]->key);
		buf_putc(&b, '=');
		query_quote_plus(&b, sorted[i]->val);
	}
	res = arena_strndup(a, b.p, b.len);
	buf_free(&b);
	return res;
}
