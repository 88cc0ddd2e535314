/*
 * http1.c — HTTP/1.1 message framing and heads (RFC 9112), for passthrough.
 */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <event2/buffer.h>

#include "http1.h"
#include "util.h"

/* ---- body framing ------------------------------------------------------ */

void framer_init(struct framer *f, bool chunked, int64_t length)
{
	f->st = chunked ? FR_SIZE : length > 0 ? FR_LENGTH : length < 0 ? FR_CLOSE : FR_DONE;
	f->left = length > 0 ? (uint64_t)length : 0;
}

/* The length of the line at the front of src with its end; 0 when not all
 * here yet, -1 when longer than any honest one. */
static ssize_t line_len(struct evbuffer *src)
{
	size_t eol = 0;
	struct evbuffer_ptr p = evbuffer_search_eol(src, NULL, &eol, EVBUFFER_EOL_CRLF);

	if (p.pos < 0)
		return evbuffer_get_length(src) > MAX_LINE ? -1 : 0;
	return p.pos > MAX_LINE ? -1 : (ssize_t)((size_t)p.pos + eol);
}

static void take(struct evbuffer *src, struct evbuffer *dst, size_t n)
{
	if (dst)
		evbuffer_remove_buffer(src, dst, n);
	else
		evbuffer_drain(src, n);
}

ssize_t frame_move(struct framer *f, struct evbuffer *src, struct evbuffer *dst, bool raw)
{
	size_t taken = 0;

	for (;;) {
		size_t avail = evbuffer_get_length(src), n;
		ssize_t ln;
		char line[40], *end;

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
			if (f->st == FR_SIZE) {
				n = (size_t)ln < sizeof(line) - 1 ? (size_t)ln : sizeof(line) - 1;
				evbuffer_copyout(src, line, n);
				line[n] = '\0';
				errno = 0;
				f->left = strtoull(line, &end, 16);
				while (*end == ' ' || *end == '\t')
					end++;
				if (!isxdigit((unsigned char)line[0]) || errno || !strchr(";\r\n", *end))
					return -1;      /* strchr also takes the NUL of a cut line */
				f->st = f->left ? FR_DATA : FR_TRAILER;
			} else if (f->st == FR_DATA_END) {
				if (ln > 2)
					return -1;
				f->st = FR_SIZE;
			} else if (ln <= 2) {
				f->st = FR_DONE;        /* the empty line after the trailers */
			}
			take(src, raw ? dst : NULL, (size_t)ln);
			taken += (size_t)ln;
			continue;
		}
	}
}

/* ---- message heads ----------------------------------------------------- */



size_t head_end(struct evbuffer *b)
{
	struct evbuffer_ptr crlf = evbuffer_search(b, "\r\n\r\n", 4, NULL);
	struct evbuffer_ptr lf = evbuffer_search(b, "\n\n", 2, NULL);

	if (lf.pos >= 0 && (crlf.pos < 0 || lf.pos + 2 < crlf.pos + 4))
		return (size_t)lf.pos + 2;
	return crlf.pos >= 0 ? (size_t)crlf.pos + 4 : 0;
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

bool head_parse(struct head *h, const char *p, size_t n, bool request)
{
	const char *end = p + n, *eol, *sp;
	bool first = true;

	memset(h, 0, sizeof(*h));
	h->length = -1;
	for (; p < end; p = eol + 1) {
		const char *le, *colon, *v;

		if (!(eol = memchr(p, '\n', (size_t)(end - p))))
			return false;
		le = eol > p && eol[-1] == '\r' ? eol - 1 : eol;
		if (le == p)
			break;                  /* the blank line */
		if (first) {
			first = false;
			if (request) {
				if (!(sp = memchr(p, ' ', (size_t)(le - p))))
					return false;
				h->method = p;
				h->mlen = (size_t)(sp - p);
				h->target = sp + 1;
				if (!(sp = memchr(h->target, ' ', (size_t)(le - h->target))))
					return false;
				h->tlen = (size_t)(sp - h->target);
				v = sp + 1;
			} else {
				v = p;
				h->status_line = p + 9 <= le ? p + 9 : le;
				h->slen = (size_t)(le - h->status_line);
			}
			if (le - v < 8 || strncmp(v, "HTTP/1.", 7) != 0 || !isdigit((unsigned char)v[7]) ||
			    (request && (h->mlen == 0 || h->tlen == 0)))
				return false;
			h->minor = v[7] - '0';
			if (!request) {
				if (h->slen < 3 || !isdigit((unsigned char)h->status_line[0]))
					return false;
				h->status = atoi(h->status_line);
			}
			continue;
		}
		if (*p == ' ' || *p == '\t' || h->n == MAX_HEADERS ||
		    !(colon = memchr(p, ':', (size_t)(le - p))) || colon == p)
			return false;           /* folded lines are refused, as the RFC allows */
		struct hline *l = &h->h[h->n++];

		l->name = p;
		l->nlen = (size_t)(colon - p);
		for (v = colon + 1; v < le && (*v == ' ' || *v == '\t'); v++)
			;
		while (le > v && (le[-1] == ' ' || le[-1] == '\t'))
			le--;
		l->value = v;
		l->vlen = (size_t)(le - v);
		if (name_is(l, "Content-Length")) {
			int64_t len = 0;
			size_t i;

			if (l->vlen == 0 || l->vlen > 18)
				return false;
			for (i = 0; i < l->vlen; i++) {
				if (!isdigit((unsigned char)v[i]))
					return false;
				len = len * 10 + (v[i] - '0');
			}
			if (h->length >= 0 && h->length != len)
				return false;   /* two different lengths: a smuggling attempt */
			h->length = len;
		} else if (name_is(l, "Transfer-Encoding")) {
			h->te = l;
			h->chunked = last_token_is(v, l->vlen, "chunked");
		} else if (name_is(l, "Connection")) {
			h->connection = l;
			h->close |= has_token(v, l->vlen, "close", 5);
			h->keep_alive |= has_token(v, l->vlen, "keep-alive", 10);
		} else if (name_is(l, "Host")) {
			h->host = l;
		} else if (name_is(l, "X-Forwarded-For")) {
			h->xff = l;
		} else if (name_is(l, "X-Request-Id")) {
			h->request_id = l;
		}
	}
	return !first;
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

