/*
 * util.c — allocation, buffers, errors, clocks, randomness, files.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "util.h"

static void oom(void)
{
	static const char msg[] = "cutover: out of memory\n";

	if (write(2, msg, sizeof(msg) - 1) < 0) {
		/* nothing more to say */
	}
	abort();
}

void *xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);

	if (!p)
		oom();
	return p;
}

void *xcalloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size ? size : 1);

	if (!p)
		oom();
	return p;
}

void *xrealloc(void *p, size_t n)
{
	p = realloc(p, n ? n : 1);
	if (!p)
		oom();
	return p;
}

char *xstrdup(const char *s)
{
	size_t n = strlen(s) + 1;

	return memcpy(xmalloc(n), s, n);
}

void buf_reserve(struct buf *b, size_t extra)
{
	size_t want = b->len + extra + 1;

	if (want <= b->cap)
		return;
	b->cap = b->cap ? b->cap : 256;
	while (b->cap < want)
		b->cap *= 2;
	b->p = xrealloc(b->p, b->cap);
}

void buf_put(struct buf *b, const void *p, size_t n)
{
	buf_reserve(b, n);
	if (n)                          /* p may be NULL then (an empty buf's) */
		memcpy(b->p + b->len, p, n);
	b->len += n;
}

void buf_puts(struct buf *b, const char *s)
{
	buf_put(b, s, strlen(s));
}

void deadline_after(struct timespec *ts, int64_t us)
{
	clock_gettime(CLOCK_REALTIME, ts);
	ts->tv_sec += (time_t)(us / 1000000);
	ts->tv_nsec += (long)(us % 1000000) * 1000;
	if (ts->tv_nsec >= 1000000000L) {
		ts->tv_sec++;
		ts->tv_nsec -= 1000000000L;
	}
}

void buf_put_int(struct buf *b, int64_t v)
{
	char tmp[24], *p = tmp + sizeof(tmp);
	uint64_t u = v < 0 ? 0 - (uint64_t)v : (uint64_t)v;

	do
		*--p = (char)('0' + u % 10);
	while (u /= 10);
	if (v < 0)
		*--p = '-';
	buf_put(b, p, (size_t)(tmp + sizeof(tmp) - p));
}

void buf_printf(struct buf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	buf_reserve(b, (size_t)n);
	va_start(ap, fmt);
	vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
}

const char *buf_cstr(struct buf *b)
{
	buf_reserve(b, 0);
	b->p[b->len] = '\0';
	return b->p;
}

void buf_free(struct buf *b)
{
	free(b->p);
	b->p = NULL;
	b->len = b->cap = 0;
}

void error_set(struct error *err, int code, const char *fmt, ...)
{
	va_list ap;

	if (!err)
		return;
	err->code = code;
	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
}

int64_t now_mono_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

int64_t now_wall_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

void random_bytes(void *p, size_t n)
{
	unsigned char *q = p;

	while (n) {
		ssize_t got = getrandom(q, n, 0);

		if (got == -1) {
			if (errno == EINTR)
				continue;
			abort();
		}
		q += got;
		n -= (size_t)got;
	}
}

void fast_random_bytes(void *p, size_t n)
{
	static __thread uint64_t state;
	unsigned char *q = p;

	if (!state)
		random_bytes(&state, sizeof(state));
	while (n) {
		/* splitmix64 */
		uint64_t z = (state += 0x9e3779b97f4a7c15ULL);
		size_t k = n < 8 ? n : 8;

		z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
		z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
		z ^= z >> 31;
		memcpy(q, &z, k);
		q += k;
		n -= k;
	}
}

#define H16(x) -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1
const signed char hex_values[256] = {
	H16(0), H16(1), H16(2),
	0, 1, 2, 3, 4, 5, 6, 7, 8, 9, -1, -1, -1, -1, -1, -1,
	-1, 10, 11, 12, 13, 14, 15, -1, -1, -1, -1, -1, -1, -1, -1, -1,
	H16(5),
	-1, 10, 11, 12, 13, 14, 15, -1, -1, -1, -1, -1, -1, -1, -1, -1,
	H16(7), H16(8), H16(9), H16(10), H16(11), H16(12), H16(13), H16(14), H16(15),
};
#undef H16

void hex_encode(const unsigned char *in, size_t n, char *out)
{
	static const char digits[] = "0123456789abcdef";
	size_t i;

	for (i = 0; i < n; i++) {
		out[2 * i] = digits[in[i] >> 4];
		out[2 * i + 1] = digits[in[i] & 15];
	}
	out[2 * n] = '\0';
}

char *read_file(const char *path, size_t *len, struct error *err)
{
	FILE *f = fopen(path, "rb");
	struct buf b = {0};
	char tmp[8192];
	size_t n;

	if (!f) {
		error_set(err, errno, "%s: %s", path, strerror(errno));
		return NULL;
	}
	while ((n = fread(tmp, 1, sizeof(tmp), f)) > 0)
		buf_put(&b, tmp, n);
	if (ferror(f)) {
		error_set(err, errno, "%s: read error: %s", path, strerror(errno));
		fclose(f);
		buf_free(&b);
		return NULL;
	}
	fclose(f);
	buf_cstr(&b);
	if (len)
		*len = b.len;
	return b.p;
}

size_t utf8_cut(const char *s, size_t max)
{
	while (max > 0 && ((unsigned char)s[max] & 0xc0) == 0x80)
		max--;
	return max;
}

/* Edits between a and b (insertions, deletions, substitutions and swaps
 * of two neighbours), or a number past limit once it is past it (words of
 * configuration keys: short). */
static size_t edits(const char *a, const char *b, size_t limit)
{
	size_t na = strlen(a), nb = strlen(b), rows[3][65], i, j;

	if (na > 64 || nb > 64 || (na > nb ? na - nb : nb - na) > limit)
		return limit + 1;
	for (j = 0; j <= nb; j++)
		rows[0][j] = j;
	for (i = 1; i <= na; i++) {
		size_t *up2 = rows[(i + 1) % 3], *up = rows[(i - 1) % 3], *row = rows[i % 3], low;

		row[0] = low = i;
		for (j = 1; j <= nb; j++) {
			size_t best = up[j - 1] + (a[i - 1] != b[j - 1]);

			if (up[j] + 1 < best)
				best = up[j] + 1;
			if (row[j - 1] + 1 < best)
				best = row[j - 1] + 1;
			if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] && up2[j - 2] + 1 < best)
				best = up2[j - 2] + 1;
			row[j] = best;
			if (best < low)
				low = best;
		}
		if (low > limit)
			return limit + 1;
	}
	return rows[na % 3][nb];
}

void nearest_init(struct nearest *n, const char *word)
{
	size_t len = strlen(word);

	n->word = word;
	n->best = NULL;
	n->dist = len < 3 ? 1 : len / 3 > 2 ? 2 : len / 3;     /* the most it allows, then the best found */
	n->dist++;
}

void nearest_try(struct nearest *n, const char *candidate)
{
	size_t d = edits(n->word, candidate, n->dist - 1);

	if (d < n->dist) {
		n->best = candidate;
		n->dist = d;
	}
}

const char *nearest_found(const struct nearest *n)
{
	return n->best;
}
