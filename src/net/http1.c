/*
 * http1.c — HTTP/1.1 message framing and heads (RFC 9112), for passthrough.
 *
 * Parsed exactly as the RFC has it, or refused: a byte that two parsers
 * could read two ways (a NUL in a name, a bare CR, a size cut short, a
 * line ending in LF alone inside a chunked body) is how one request is
 * smuggled inside another, so none is let through.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <event2/buffer.h>

#include "http1.h"
#include "util.h"

/* ---- characters (RFC 9110 §5.6.2, §5.5) -------------------------------- */

static bool is_tchar(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       (c && strchr("!#$%&'*+-.^_`|~", c));
}

/* field-vchar / SP / HTAB: anything but a control character. */
static bool is_vchar(unsigned char c)
{
	return c == '\t' || (c >= 0x20 && c != 0x7f);
}

static bool is_digit(unsigned char c)
{
	return c >= '0' && c <= '9';
}

static bool all_of(const char *p, size_t n, bool (*ok)(unsigned char))
{
	while (n--)
		if (!ok((unsigned char)*p++))
			return false;
	return true;
}

/* ---- body framing ------------------------------------------------------ */

void framer_init(struct framer *f, bool chunked, int64_t length)
{
	f->st = chunked ? FR_SIZE : length > 0 ? FR_LENGTH : length < 0 ? FR_CLOSE : FR_DONE;
	f->left = length > 0 ? (uint64_t)length : 0;
}

/* The length of the line at the front of src with its CRLF; 0 when not
 * all here yet, -1 when it ends in a bare LF or is longer than any honest one. */
static ssize_t line_len(struct evbuffer *src)
{
	struct evbuffer_ptr p = evbuffer_search(src, "\n", 1, NULL);
	char cr;

	if (p.pos < 0)
		return evbuffer_get_length(src) > MAX_LINE ? -1 : 0;
	if (p.pos > MAX_LINE || p.pos == 0)
		return -1;
	evbuffer_ptr_set(src, &p, (size_t)p.pos - 1, EVBUFFER_PTR_SET);
	if (evbuffer_copyout_from(src, &p, &cr, 1) != 1 || cr != '\r')
		return -1;
	return (ssize_t)p.pos + 2;
}

/* chunk-size [ chunk-ext ] (the line without its CRLF); -1 when broken. */
static int chunk_size(const char *s, size_t n, uint64_t *size)
{
	size_t i = 0;
	int d;

	*size = 0;
	for (; i < n && (d = hex_digit((unsigned char)s[i])) >= 0; i++) {
		if (*size > (UINT64_MAX >> 4))
			return -1;
		*size = (*size << 4) | (uint64_t)d;
	}
	if (i == 0)
		return -1;
	while (i < n && (s[i] == ' ' || s[i] == '\t'))
		i++;                            /* BWS, before a ";" only */
	if (i == n)
		return s[n - 1] == ' ' || s[n - 1] == '\t' ? -1 : 0;
	return s[i] == ';' && all_of(s + i, n - i, is_vchar) ? 0 : -1;
}

/* field-name ":" OWS field-value OWS, as a trailer or a header line. */
static bool field_line_ok(const char *p, size_t n)
{
	const char *colon = memchr(p, ':', n);

	return colon && colon > p && all_of(p, (size_t)(colon - p), is_tchar) &&
	       all_of(colon + 1, n - (size_t)(colon + 1 - p), is_vchar);
}

static void take(struct evbuffer *src, struct evbuffer *dst, size_t n)
{
	if (dst)
		evbuffer_remove_buffer(src, dst, n);
	else
		evbuffer_drain(src, n);
}

/* One line of chunk framing (size, the CRLF after data, a trailer). */
static int frame_line(struct framer *f, struct evbuffer *src, size_t ln)
{
	char line[MAX_LINE + 2];
	size_t n = ln - 2;

	evbuffer_copyout(src, line, ln);
	switch (f->st) {
	case FR_SIZE:
		if (chunk_size(line, n, &f->left) < 0)
			return -1;
		f->st = f->left ? FR_DATA : FR_TRAILER;
		return 0;
	case FR_DATA_END:
		if (n != 0)
			return -1;
		f->st = FR_SIZE;
		return 0;
	default:                                /* FR_TRAILER */
		if (n == 0)
			f->st = FR_DONE;        /* the empty line after the trailers */
		else if (!field_line_ok(line, n))
			return -1;
		return 0;
	}
}

ssize_t frame_move(struct framer *f, struct evbuffer *src, struct evbuffer *dst, bool raw)
{
	size_t taken = 0;

	for (;;) {
		size_t avail = evbuffer_get_length(src), n;
		bool trailer;
		ssize_t ln;

		switch (f->st) {
		case FR_DONE:
			return (ssize_t)taken;
		case FR_CLOSE:
		case FR_LENGTH:
		case FR_DATA:
			n = f->st == FR_CLOSE || avail < f->left ? avail : (size_t)f->left;
			if (n == 0)
				return (ssize_t)taken;
			take(src, dst, n);
			taken += n;
			if (f->st != FR_CLOSE && (f->left -= n) == 0)
				f->st = f->st == FR_LENGTH ? FR_DONE : FR_DATA_END;
			continue;
		case FR_SIZE:
		case FR_DATA_END:
		case FR_TRAILER:
			if ((ln = line_len(src)) <= 0)
				return ln < 0 ? -1 : (ssize_t)taken;
			/* Trailer fields are checked and dropped: one the next
			 * hop merged into the head (a Content-Length, say) would
			 * be a header nobody here looked at. */
			trailer = f->st == FR_TRAILER && ln > 2;
			if (frame_line(f, src, (size_t)ln) < 0)
				return -1;
			take(src, raw && !trailer ? dst : NULL, (size_t)ln);
			taken += (size_t)ln;
			continue;
		}
	}
}

/* ---- message heads ----------------------------------------------------- */

/* The first empty line ends the head, found the way head_parse reads
 * lines (LF, or CRLF), so the two never disagree on where a head ends. */
size_t head_end(struct evbuffer *b)
{
	struct evbuffer_ptr p;
	size_t start = 0;
	char c;

	for (;;) {
		if (evbuffer_ptr_set(b, &p, start, EVBUFFER_PTR_SET) < 0)
			return 0;
		p = evbuffer_search(b, "\n", 1, &p);
		if (p.pos < 0)
			return 0;
		if ((size_t)p.pos == start)
			return start + 1;
		if ((size_t)p.pos == start + 1) {
			evbuffer_ptr_set(b, &p, start, EVBUFFER_PTR_SET);
			if (evbuffer_copyout_from(b, &p, &c, 1) == 1 && c == '\r')
				return start + 2;
			p.pos = (ev_ssize_t)start + 1;
		}
		start = (size_t)p.pos + 1;
	}
}

bool name_is(const struct hline *l, const char *name)
{
	return l->nlen == strlen(name) && strncasecmp(l->name, name, l->nlen) == 0;
}

/* Is tok one of the comma-separated tokens of v? */
static bool has_token(const char *v, size_t vlen, const char *tok, size_t tlen)
{
	const char *end = v + vlen;

	while (v < end) {
		const char *comma = memchr(v, ',', (size_t)(end - v)), *e = comma ? comma : end;

		while (v < e && (*v == ' ' || *v == '\t'))
			v++;
		while (e > v && (e[-1] == ' ' || e[-1] == '\t'))
			e--;
		if ((size_t)(e - v) == tlen && strncasecmp(v, tok, tlen) == 0)
			return true;
		v = comma ? comma + 1 : end;
	}
	return false;
}

/* The last token of a list ("gzip, chunked" → chunked). */
static bool last_token_is(const char *v, size_t vlen, const char *tok)
{
	const char *comma = v + vlen;
	size_t tlen = strlen(tok);

	while (comma > v && comma[-1] != ',')
		comma--;
	return has_token(comma, (size_t)(v + vlen - comma), tok, tlen);
}

static bool fail(struct head *h, const char *why)
{
	h->why = why;
	return false;
}

/* request-target: visible characters, no space. */
static bool is_target_char(unsigned char c)
{
	return c > 0x20 && c != 0x7f;
}

/* host [":" port]: a name, IPv4 or bracketed IPv6 literal (RFC 3986 §3.2.2),
 * nothing a page or a link could be made of. */
bool host_valid(const char *v, size_t n)
{
	size_t i = 0;

	if (n && v[0] == '[') {
		for (i = 1; i < n && (hex_digit((unsigned char)v[i]) >= 0 || v[i] == ':' || v[i] == '.'); i++)
			;
		if (i == 1 || i == n || v[i] != ']')
			return false;
		i++;
	} else {
		for (; i < n && ((v[i] >= 'a' && v[i] <= 'z') || (v[i] >= 'A' && v[i] <= 'Z') ||
		                 is_digit((unsigned char)v[i]) || v[i] == '-' || v[i] == '.' || v[i] == '_'); i++)
			;
		if (i == 0)
			return false;
	}
	if (i < n && v[i] == ':') {
		size_t digits = ++i;

		while (i < n && is_digit((unsigned char)v[i]))
			i++;
		if (i - digits > 5)
			return false;
	}
	return i == n;
}

static bool start_line(struct head *h, const char *p, const char *le, bool request)
{
	const char *v = p, *sp;

	if (request) {
		if (!(sp = memchr(p, ' ', (size_t)(le - p))) || sp == p || !all_of(p, (size_t)(sp - p), is_tchar))
			return fail(h, "The request method is not a token.");
		h->method = p;
		h->mlen = (size_t)(sp - p);
		h->target = sp + 1;
		if (!(sp = memchr(h->target, ' ', (size_t)(le - h->target))) || sp == h->target ||
		    !all_of(h->target, (size_t)(sp - h->target), is_target_char))
			return fail(h, "The request line is malformed.");
		h->tlen = (size_t)(sp - h->target);
		v = sp + 1;
		if (le - v != 8)
			return fail(h, "The request line is malformed.");
	} else {
		if (le - p < 12 || p[8] != ' ' || !all_of(p + 9, 3, is_digit) ||
		    (le - p > 12 && p[12] != ' ') || !all_of(p, (size_t)(le - p), is_vchar))
			return fail(h, "The status line is malformed.");
		h->status_line = p + 9;
		h->slen = (size_t)(le - h->status_line);
		h->status = atoi(h->status_line);
	}
	if (strncmp(v, "HTTP/1.", 7) != 0 || (v[7] != '0' && v[7] != '1'))
		return fail(h, "Only HTTP/1.0 and HTTP/1.1 are spoken here.");
	h->minor = v[7] - '0';
	return true;
}

/* One header line, recorded and, for the framing headers, understood. */
static bool field_line(struct head *h, const char *p, const char *le)
{
	const char *colon = memchr(p, ':', (size_t)(le - p)), *v;
	struct hline *l;

	if (h->n == MAX_HEADERS)
		return fail(h, "Too many header fields.");
	if (!colon || colon == p || !all_of(p, (size_t)(colon - p), is_tchar))
		return fail(h, "A header field name is not a token.");
	for (v = colon + 1; v < le && (*v == ' ' || *v == '\t'); v++)
		;
	while (le > v && (le[-1] == ' ' || le[-1] == '\t'))
		le--;
	if (!all_of(v, (size_t)(le - v), is_vchar))
		return fail(h, "A header field value holds a control character.");
	l = &h->h[h->n++];
	l->name = p;
	l->nlen = (size_t)(colon - p);
	l->value = v;
	l->vlen = (size_t)(le - v);
	if (name_is(l, "Content-Length")) {
		int64_t len = 0;
		size_t i;

		if (l->vlen == 0 || l->vlen > 18 || !all_of(v, l->vlen, is_digit))
			return fail(h, "Content-Length is not a number.");
		for (i = 0; i < l->vlen; i++)
			len = len * 10 + (v[i] - '0');
		if (h->length >= 0 && h->length != len)
			return fail(h, "Two different Content-Lengths.");
		h->length = len;
	} else if (name_is(l, "Transfer-Encoding")) {
		if (h->te)
			return fail(h, "Transfer-Encoding is given twice.");
		h->te = l;
		h->chunked = last_token_is(v, l->vlen, "chunked");
	} else if (name_is(l, "Connection")) {
		h->connection = l;
		h->close |= has_token(v, l->vlen, "close", 5);
		h->keep_alive |= has_token(v, l->vlen, "keep-alive", 10);
	} else if (name_is(l, "Host")) {
		if (h->host)
			return fail(h, "Host is given twice.");
		h->host = l;
	} else if (name_is(l, "X-Forwarded-For")) {
		h->xff = l;
	} else if (name_is(l, "X-Request-Id")) {
		h->request_id = l;
	}
	return true;
}

/* What a request must hold besides well-formed lines (RFC 9112 §3.2, §6). */
static bool request_rules(struct head *h)
{
	if (h->minor == 1 && !h->host)
		return fail(h, "An HTTP/1.1 request needs a Host header.");
	if (h->host && h->host->vlen && !host_valid(h->host->value, h->host->vlen))
		return fail(h, "The Host header is not a host name.");
	if (h->te && h->length >= 0)
		return fail(h, "Content-Length and Transfer-Encoding together.");
	if (h->te && !(h->te->vlen == 7 && strncasecmp(h->te->value, "chunked", 7) == 0))
		return fail(h, "Transfer-Encoding must be chunked.");
	return true;
}

bool head_parse(struct head *h, const char *p, size_t n, bool request)
{
	const char *end = p + n, *eol;
	bool first = true;

	memset(h, 0, sizeof(*h));
	h->length = -1;
	for (; p < end; p = eol + 1) {
		const char *le;

		if (!(eol = memchr(p, '\n', (size_t)(end - p))))
			return fail(h, "The head does not end.");
		le = eol > p && eol[-1] == '\r' ? eol - 1 : eol;
		if (memchr(p, '\r', (size_t)(le - p)))
			return fail(h, "A bare CR in the head.");
		if (le == p)
			break;                  /* the blank line */
		if (first) {
			first = false;
			if (!start_line(h, p, le, request))
				return false;
			continue;
		}
		if (*p == ' ' || *p == '\t')
			return fail(h, "Folded header lines are not accepted.");
		if (!field_line(h, p, le))
			return false;
	}
	if (first)
		return fail(h, "The head is empty.");
	return !request || request_rules(h);
}

bool hop_by_hop(const struct head *h, const struct hline *l)
{
	static const char *const names[] = {
		"Connection", "Keep-Alive", "Proxy-Connection", "Proxy-Authenticate",
		"Proxy-Authorization", "TE", "Trailer", "Transfer-Encoding", "Upgrade",
	};
	size_t i;

	for (i = 0; i < ARRAY_LEN(names); i++)
		if (name_is(l, names[i]))
			return true;
	return h->connection && has_token(h->connection->value, h->connection->vlen, l->name, l->nlen);
}

/* ---- request targets (RFC 3986 §2.3, §5.2.4; RFC 9112 §3.2) ------------ */

static bool is_unreserved(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || is_digit(c) ||
	       c == '-' || c == '.' || c == '_' || c == '~';
}

/* The authority and path of an absolute-form target; false when it is
 * not http(s) or names a host other than the request's Host. */
static bool absolute_path(const struct head *h, const char **p, size_t *n)
{
	const char *t = h->target, *auth, *end = h->target + h->tlen, *a;

	if (h->tlen > 7 && strncasecmp(t, "http://", 7) == 0)
		auth = t + 7;
	else if (h->tlen > 8 && strncasecmp(t, "https://", 8) == 0)
		auth = t + 8;
	else
		return false;
	for (a = auth; a < end && *a != '/' && *a != '?'; a++)
		;
	if (!h->host || h->host->vlen != (size_t)(a - auth) || strncasecmp(auth, h->host->value, h->host->vlen) != 0)
		return false;
	*p = a;
	*n = (size_t)(end - a);
	return true;
}

/* Appends segment s (n bytes, after a "/") to the path in out[0..o),
 * resolving "." and ".."; last: no "/" follows it.  s may lie in out at
 * or after o (the path is resolved in place). */
static size_t put_segment(char *out, size_t o, const char *s, size_t n, bool last)
{
	if (n == 2 && s[0] == '.' && s[1] == '.')
		while (o > 0 && out[--o] != '/')
			;
	if ((n == 1 && s[0] == '.') || (n == 2 && s[0] == '.' && s[1] == '.')) {
		if (last)
			out[o++] = '/';
		return o;
	}
	out[o++] = '/';
	memmove(out + o, s, n);
	return o + n;
}

size_t target_normalize(const struct head *h, char *out, const char **why)
{
	const char *p = h->target, *q;
	size_t n = h->tlen, plen, s = 0, o = 0, i, j;
	int hi, lo, c;

	if (n == 1 && p[0] == '*') {
		memcpy(out, "*", 2);
		return 1;
	}
	if (memchr(p, '#', n))
		return *why = "The request target holds a fragment.", 0;
	if (p[0] != '/' && !absolute_path(h, &p, &n))
		return *why = "The request target is neither a path nor a URL of this host.", 0;
	plen = (q = memchr(p, '?', n)) ? (size_t)(q - p) : n;
	/* Decoded first, so that "%2e%2e" is a dot segment as ".." is. */
	for (i = 0; i < plen; i++) {
		if (p[i] != '%') {
			out[s++] = p[i];
			continue;
		}
		if (i + 2 >= plen || (hi = hex_digit((unsigned char)p[i + 1])) < 0 ||
		    (lo = hex_digit((unsigned char)p[i + 2])) < 0)
			return *why = "The request path holds a broken percent-encoding.", 0;
		if ((c = hi * 16 + lo) == '/' || c == '\\')
			return *why = "The request path holds an encoded slash.", 0;
		if (is_unreserved((unsigned char)c)) {
			out[s++] = (char)c;
		} else {
			out[s++] = '%';
			out[s++] = "0123456789ABCDEF"[hi];
			out[s++] = "0123456789ABCDEF"[lo];
		}
		i += 2;
	}
	if (s == 0 || out[0] != '/') {          /* "http://host" or "http://host?q" */
		memmove(out + 1, out, s++);
		out[0] = '/';
	}
	for (i = 0; i < s; i = j) {             /* out[i] is a "/" */
		for (j = i + 1; j < s && out[j] != '/'; j++)
			;
		o = put_segment(out, o, out + i + 1, j - i - 1, j == s);
	}
	if (o == 0)
		out[o++] = '/';
	memcpy(out + o, p + plen, n - plen);
	out[o + n - plen] = '\0';
	return o + n - plen;
}
