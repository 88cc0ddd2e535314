/*
 * fuzz_http1.c — libFuzzer target for the HTTP/1.1 head parser and the body
 * framer (src/net/http1.c), the first thing every client byte meets.
 *
 * The input is split at its first NUL-free "\x00\xff" marker (or used whole):
 * the part before is parsed as a request head and as an answer's head, the
 * part after is framed as a chunked body and as one with a length, in
 * steps chosen by the first byte.  Beyond crashes and sanitizer reports it
 * checks what the parser promises: an accepted head holds no byte a second
 * parser could read differently, and the framer never takes more bytes
 * than it was given nor moves more than it took.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>

#include "http1.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_head(const struct head *h)
{
	size_t i, k;

	for (i = 0; i < h->n; i++) {
		const struct hline *l = &h->h[i];

		if (l->nlen == 0)
			abort();
		for (k = 0; k < l->nlen; k++)
			if (l->name[k] <= ' ' || l->name[k] == ':' || (unsigned char)l->name[k] >= 0x7f)
				abort();
		for (k = 0; k < l->vlen; k++)
			if (((unsigned char)l->value[k] < 0x20 && l->value[k] != '\t') || l->value[k] == 0x7f)
				abort();
	}
	if (h->te && h->length >= 0 && h->method)
		abort();                        /* a request with both framings */
}

static void parse_heads(const uint8_t *p, size_t n)
{
	struct evbuffer *b = evbuffer_new();
	struct head h;
	size_t end;

	evbuffer_add(b, p, n);
	end = head_end(b);
	if (end > n)
		abort();
	if (end && head_parse(&h, (const char *)evbuffer_pullup(b, (ev_ssize_t)end), end, true))
		check_head(&h);
	if (head_parse(&h, (const char *)p, n, false))
		check_head(&h);
	if (head_parse(&h, (const char *)p, n, true))
		check_head(&h);
	evbuffer_free(b);
}

static void frame(const uint8_t *p, size_t n, bool chunked, bool raw, size_t step)
{
	struct evbuffer *src = evbuffer_new(), *dst = evbuffer_new();
	struct framer f;
	size_t off = 0, moved_in = 0;

	framer_init(&f, chunked, chunked ? -1 : (int64_t)(n / 2));
	while (off < n && f.st != FR_DONE) {
		size_t k = n - off < step ? n - off : step;
		size_t before;
		ssize_t took;

		evbuffer_add(src, p + off, k);
		off += k;
		before = evbuffer_get_length(src);
		took = frame_move(&f, src, dst, raw);
		if (took < 0) {
			moved_in = SIZE_MAX;    /* broken: what moved before it was found is not counted */
			break;
		}
		if ((size_t)took > before || before - evbuffer_get_length(src) != (size_t)took)
			abort();
		moved_in += (size_t)took;
	}
	/* Never more out than in (raw, only trailer fields are left out). */
	if (moved_in != SIZE_MAX && evbuffer_get_length(dst) > moved_in)
		abort();
	evbuffer_free(src);
	evbuffer_free(dst);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *body = data;
	size_t head = size, i, step;

	for (i = 0; i + 1 < size; i++) {
		if (data[i] == 0x00 && data[i + 1] == 0xff) {
			head = i;
			body = data + i + 2;
			break;
		}
	}
	parse_heads(data, head);
	if (body == data)
		return 0;
	step = size ? (size_t)(data[0] % 16) + 1 : 1;
	frame(body, size - (size_t)(body - data), true, true, step);
	frame(body, size - (size_t)(body - data), true, false, step * 3);
	frame(body, size - (size_t)(body - data), false, true, step);
	return 0;
}
