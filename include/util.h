/*
 * util.h — small helpers shared by every module: checked allocation,
 * growable byte buffers, and an error record that carries a message a user
 * can act on.
 */
#ifndef CUTOVER_UTIL_H
#define CUTOVER_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))
#define MUST_CHECK __attribute__((warn_unused_result))

void *xmalloc(size_t n);
void *xcalloc(size_t n, size_t size);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);

/* A growable byte buffer.  buf_free(NULL-initialised buf) is a no-op. */
struct buf {
	char *p;
	size_t len, cap;
};

void buf_reserve(struct buf *b, size_t extra);
void buf_put(struct buf *b, const void *p, size_t n);
void buf_puts(struct buf *b, const char *s);
/* One byte: inline, as JSON is written a byte at a time between runs. */
static inline void buf_putc(struct buf *b, char c)
{
	if (b->len + 2 > b->cap)
		buf_reserve(b, 1);
	b->p[b->len++] = c;
}
/* v in decimal, as printf's %lld writes it. */
void buf_put_int(struct buf *b, int64_t v);
void buf_printf(struct buf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* NUL-terminate without counting the terminator in len. */
const char *buf_cstr(struct buf *b);
void buf_free(struct buf *b);

/* An error a function hands back to its caller: what went wrong, in words
 * an operator or client can act on.  code is module-specific. */
struct error {
	int code;
	char msg[512];
};

void error_set(struct error *err, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Monotonic and wall clock, in microseconds. */
int64_t now_mono_us(void);
int64_t now_wall_us(void);
/* The wall clock us from now, as pthread_cond_timedwait takes it. */
struct timespec;
void deadline_after(struct timespec *ts, int64_t us);

/* Fill with cryptographically random bytes; aborts if the kernel cannot. */
void random_bytes(void *p, size_t n);
/* Fast non-cryptographic random bytes (per-thread generator seeded from the
 * kernel): for request ids and the like, never for anything secret. */
void fast_random_bytes(void *p, size_t n);
/* How many of s's bytes to keep to cut it at max (s holds more): max, less
 * the bytes of a UTF-8 character that would be split. */
size_t utf8_cut(const char *s, size_t max);

/* The candidate nearest to a misspelt word, for "did you mean": offer each
 * with nearest_try, and nearest_found gives the closest one if it is near
 * enough to be a slip (an edit for every three letters, at most two), or
 * NULL. */
struct nearest {
	const char *word, *best;
	size_t dist;
};
void nearest_init(struct nearest *n, const char *word);
void nearest_try(struct nearest *n, const char *candidate);
const char *nearest_found(const struct nearest *n);
/* The value of a hex digit (either case), or -1. */
extern const signed char hex_values[256];

/* The value of a hexadecimal digit (either case), or -1. */
static inline int hex_digit(int c)
{
	return hex_values[(unsigned char)c];
}
/* Lower-case hex of n bytes into out (2n + 1 bytes). */
void hex_encode(const unsigned char *in, size_t n, char *out);

/* Read a whole file; NULL with err set on failure.  Caller frees. */
char *read_file(const char *path, size_t *len, struct error *err);

/* FNV-1a of n bytes, its start moved by seed (0: plain FNV-1a). */
static inline uint64_t hash_bytes(const void *p, size_t n, uint64_t seed)
{
	const unsigned char *b = p;
	uint64_t h = 1469598103934665603ULL ^ seed;
	size_t i;

	for (i = 0; i < n; i++)
		h = (h ^ b[i]) * 1099511628211ULL;
	return h;
}

/* Compare a counted string with a C string. */
static inline bool str_eq(const char *p, size_t n, const char *s)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (s[i] != p[i] || !s[i])
			return false;
	return s[n] == '\0';
}

#endif
