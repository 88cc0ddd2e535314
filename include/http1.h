/*
 * http1.h — HTTP/1.1 message framing and heads (RFC 9112), for passthrough.
 *
 * A framer finds where a body ends (a length, chunked, or the connection's
 * close) and moves it, as it came or without its chunk framing; chunk
 * sizes, the CRLF after data and trailers are checked to the letter.  A head is
 * parsed in place: names and values point into the caller's bytes.
 */
#ifndef CUTOVER_HTTP1_H
#define CUTOVER_HTTP1_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct evbuffer;

#define MAX_LINE 8192                   /* chunk-size and trailer lines */
#define MAX_HEADERS 128

enum frame { FR_LENGTH, FR_SIZE, FR_DATA, FR_DATA_END, FR_TRAILER, FR_CLOSE, FR_DONE };

struct framer {
	enum frame st;
	uint64_t left;
};

/* length: bytes, 0 for no body, -1 for "until the connection closes". */
void framer_init(struct framer *f, bool chunked, int64_t length);
/*
 * Moves the body at the front of src to dst (NULL: dropped): as it came
 * when raw, only the data (chunk framing removed) when not.  Stops at the
 * body's end or when src runs dry.  The bytes taken, or -1 on broken framing.
 */
ssize_t frame_move(struct framer *f, struct evbuffer *src, struct evbuffer *dst, bool raw);

struct hline {
	const char *name, *value;
	size_t nlen, vlen;
};

struct head {
	const char *method, *target, *status_line;
	size_t mlen, tlen, slen;
	int minor;                      /* HTTP/1.minor */
	int status;                     /* answers */
	struct hline h[MAX_HEADERS];
	size_t n;
	const struct hline *connection, *te, *host, *xff, *request_id;
	int64_t length;                 /* Content-Length, or -1 */
	bool chunked;                   /* Transfer-Encoding ends in chunked */
	bool close, keep_alive;         /* Connection: close / keep-alive */
	const char *why;                /* what head_parse refused, for the client */
};

/* The length of the head at the front of b, blank line included; 0 when incomplete. */
size_t head_end(struct evbuffer *b);
/*
 * Parses a head of n bytes at p: a request line when request, else a status
 * line.  false (with h->why) when it is not HTTP/1.x exactly as RFC 9112
 * has it: names are tokens, values hold no control character, CR only ends
 * a line, one Host (required in 1.1), one Content-Length value, and for a
 * request no Transfer-Encoding but "chunked", never beside Content-Length.
 */
bool head_parse(struct head *h, const char *p, size_t n, bool request);
/* host [":" port] as RFC 3986 has it: a name, IPv4 or [IPv6]. */
bool host_valid(const char *v, size_t n);
/* Is l the header called name (any case)? */
bool name_is(const struct hline *l, const char *name);
/* Hop-by-hop (RFC 9110 §7.6.1): for this connection only, never forwarded. */
bool hop_by_hop(const struct head *h, const struct hline *l);
/*
 * A request's target as the gateway routes it and the application sees it,
 * in origin form, written to out (h->tlen + 2 bytes, NUL-terminated): an
 * absolute-form target loses its scheme and authority (refused unless the
 * authority is the Host header's), encoded unreserved characters are
 * decoded and dot segments removed (RFC 3986 §2.3, §5.2.4), so that a path
 * routes the same however it is spelled.  An encoded "/" or "\", a broken
 * escape and a fragment are refused: frameworks read them differently.
 * Its length, or 0 with *why (for a 400).
 */
size_t target_normalize(const struct head *h, char *out, const char **why);

#endif
