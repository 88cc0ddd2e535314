/*
 * test_http1.c — HTTP/1.1 framing and heads for passthrough: bodies with a
 * length and chunked (as they came and de-chunked, whole and a byte at a
 * time), broken framing, request and status lines, smuggling attempts, and
 * which headers are hop-by-hop.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <event2/buffer.h>

#include "http1.h"

/* Runs the framer over text, fed step bytes at a time; returns what it
 * moved (NUL-terminated) and leaves in *rest what it did not take. */
static char *frame(const char *text, bool chunked, int64_t length, bool raw, size_t step,
                   ssize_t *status, char rest[64])
{
	struct evbuffer *src = evbuffer_new(), *dst = evbuffer_new();
	struct framer f;
	size_t off = 0, len = strlen(text), n;
	char *out;

	framer_init(&f, chunked, length);
	*status = 0;
	while (f.st != FR_DONE && *status >= 0 && off < len) {
		n = len - off < step ? len - off : step;
		evbuffer_add(src, text + off, n);
		off += n;
		if (frame_move(&f, src, dst, raw) < 0)
			*status = -1;
	}
	if (*status == 0 && f.st != FR_DONE)
		*status = 1;                    /* wants more */
	n = evbuffer_get_length(src);
	evbuffer_remove(src, rest, n < 63 ? n : 63);
	rest[n < 63 ? n : 63] = '\0';
	strncat(rest, text + off, 63 - strlen(rest));
	out = calloc(1, evbuffer_get_length(dst) + 1);
	evbuffer_remove(dst, out, evbuffer_get_length(dst));
	evbuffer_free(src);
	evbuffer_free(dst);
	return out;
}

static void test_length(void **state)
{
	ssize_t st;
	char rest[64], *out;
	size_t step;

	(void)state;
	for (step = 1; step <= 64; step *= 4) {
		out = frame("hello worldGET / HTTP/1.1", false, 11, true, step, &st, rest);
		assert_int_equal(st, 0);
		assert_string_equal(out, "hello world");
		assert_string_equal(rest, "GET / HTTP/1.1");
		free(out);
	}
	out = frame("abc", false, 10, true, 2, &st, rest);
	assert_int_equal(st, 1);
	assert_string_equal(out, "abc");
	free(out);
	out = frame("GET", false, 0, true, 2, &st, rest);
	assert_string_equal(out, "");
	assert_string_equal(rest, "GET");
	free(out);
}

static void test_chunked(void **state)
{
	const char *body = "5;ext=\"x\"\r\nhello\r\n1A\r\nabcdefghijklmnopqrstuvwxyz\r\n"
	                   "0\r\nX-Trailer: 1\r\n\r\n";
	char text[256], rest[64], *out;
	ssize_t st;
	size_t step;

	(void)state;
	snprintf(text, sizeof(text), "%sNEXT", body);
	for (step = 1; step <= 256; step *= 2) {
		out = frame(text, true, -1, true, step, &st, rest);
		assert_int_equal(st, 0);
		/* as it came, but for the trailer fields */
		assert_string_equal(out, "5;ext=\"x\"\r\nhello\r\n1A\r\nabcdefghijklmnopqrstuvwxyz\r\n0\r\n\r\n");
		assert_string_equal(rest, "NEXT");
		free(out);
		out = frame(text, true, -1, false, step, &st, rest);
		assert_int_equal(st, 0);
		assert_string_equal(out, "helloabcdefghijklmnopqrstuvwxyz");
		assert_string_equal(rest, "NEXT");
		free(out);
	}
	/* Leading zeros are one number however many there are. */
	out = frame("000000000000000000000000000000000000000003\r\nabc\r\n0\r\n\r\n", true, -1, false, 5,
	            &st, rest);
	assert_int_equal(st, 0);
	assert_string_equal(out, "abc");
	free(out);
}

static void test_broken_chunks(void **state)
{
	static const char *const bad[] = {
		"zz\r\nhello\r\n",                   /* not hex */
		"5\r\nhelloX\r\n0\r\n\r\n",          /* data longer than its size */
		"-5\r\nhello\r\n",                   /* negative */
		"ffffffffffffffffffffff\r\n",        /* overflows */
		"5 x\r\nhello\r\n",                  /* junk after the size */
		"3\nabc\n0\n\n",                     /* bare LF line ends: another parser reads them otherwise */
		"0x5\r\nhello\r\n0\r\n\r\n",          /* a C prefix */
		"5\rZZ\r\nhello\r\n0\r\n\r\n",        /* a bare CR after the size */
		"5 \r\nhello\r\n0\r\n\r\n",           /* white space with no extension after it */
		"5;a\x01b\r\nhello\r\n0\r\n\r\n",      /* a control character in an extension */
		"5\r\nhelloX\n0\r\n\r\n",             /* X LF in place of the CRLF after data */
		"5\r\nhello\r\n0\r\nX\n",             /* X LF as the end of the trailers */
		"5\r\nhello\r\n0\r\nBad Name: 1\r\n\r\n", /* a trailer that is no field */
		"5\r\nhello\r\n0\r\nX: a\rb\r\n\r\n",   /* a bare CR in a trailer */
	};
	char rest[64], line[MAX_LINE + 16], *out;
	ssize_t st;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		out = frame(bad[i], true, -1, true, 4, &st, rest);
		assert_int_equal(st, -1);
		free(out);
	}
	/* 39 zeros then 5 is five, never zero (a cut-off copy read 0). */
	out = frame("0000000000000000000000000000000000000005\r\nhello\r\n0\r\n\r\nNEXT", true, -1, false,
	            7, &st, rest);
	assert_int_equal(st, 0);
	assert_string_equal(out, "hello");
	assert_string_equal(rest, "NEXT");
	free(out);
	/* A size line longer than any honest one. */
	memset(line, '0', sizeof(line) - 1);
	line[sizeof(line) - 1] = '\0';
	out = frame(line, true, -1, true, 1024, &st, rest);
	assert_int_equal(st, -1);
	free(out);
}

static struct head *parse(const char *text, bool request, bool *ok)
{
	static struct head h;

	*ok = head_parse(&h, text, strlen(text), request);
	return &h;
}

static void test_request_head(void **state)
{
	bool ok;
	struct head *h = parse("POST /api/x?a=1 HTTP/1.1\r\nHost: app\r\nContent-Length: 12\r\n"
	                       "Connection: keep-alive, X-Secret\r\nX-Secret: s\r\nAuthorization: Bearer t\r\n"
	                       "X-Forwarded-For: 10.0.0.1\r\n\r\n", true, &ok);

	(void)state;
	assert_true(ok);
	assert_int_equal(h->mlen, 4);
	assert_memory_equal(h->method, "POST", 4);
	assert_int_equal(h->tlen, strlen("/api/x?a=1"));
	assert_memory_equal(h->target, "/api/x?a=1", h->tlen);
	assert_int_equal(h->minor, 1);
	assert_int_equal(h->n, 6);
	assert_int_equal(h->length, 12);
	assert_false(h->chunked);
	assert_true(h->keep_alive);
	assert_false(h->close);
	assert_non_null(h->host);
	assert_non_null(h->xff);
	assert_true(hop_by_hop(h, h->connection));
	assert_true(hop_by_hop(h, &h->h[3]));           /* named by Connection */
	assert_false(hop_by_hop(h, &h->h[4]));          /* Authorization */
	assert_false(hop_by_hop(h, h->host));
	assert_true(name_is(&h->h[4], "authorization"));

	h = parse("GET / HTTP/1.0\r\nTransfer-Encoding: chunked\r\nTE: trailers\r\n"
	          "Keep-Alive: 5\r\nConnection: close\r\n\r\n", true, &ok);
	assert_true(ok);
	assert_int_equal(h->minor, 0);
	assert_true(h->chunked);
	assert_true(h->close);
	assert_true(hop_by_hop(h, h->te));
	assert_true(hop_by_hop(h, &h->h[1]));
	assert_true(hop_by_hop(h, &h->h[2]));
	/* An answer's codings: the last one decides. */
	h = parse("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, gzip\r\n\r\n", false, &ok);
	assert_true(ok);
	assert_false(h->chunked);
	h = parse("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", false, &ok);
	assert_true(ok);
	assert_true(h->chunked);
	/* HTTP/1.0 needs no Host; an empty Host is what a client without one sends. */
	parse("GET / HTTP/1.0\r\n\r\n", true, &ok);
	assert_true(ok);
	parse("GET / HTTP/1.1\r\nHost:\r\n\r\n", true, &ok);
	assert_true(ok);
	h = parse("GET / HTTP/1.1\r\nHost: [::1]:8080\r\nX-Obs: caf\xc3\xa9\r\n\r\n", true, &ok);
	assert_true(ok);
	assert_int_equal(h->host->vlen, strlen("[::1]:8080"));
}

static void test_bad_heads(void **state)
{
	static const char *const bad[] = {
		"GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 1 2\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: x\r\nContent-Length: +0\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: x\r\nContent-Length : 5\r\n\r\n",        /* space before the colon */
		"GET / HTTP/1.1\r\nHost: x\r\nX-A: 1\r\n folded\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: x\r\nno colon\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: x\r\n: empty name\r\n\r\n",
		"GET /\r\n\r\n",
		"GET / SPDY/3\r\n\r\n",
		"GET / HTTP/1.1x\r\nHost: x\r\n\r\n",
		"GET / HTTP/2.0\r\nHost: x\r\n\r\n",
		"GET  / HTTP/1.1\r\nHost: x\r\n\r\n",                              /* two spaces */
		"GET /  HTTP/1.1\r\nHost: x\r\n\r\n",
		"G(T / HTTP/1.1\r\nHost: x\r\n\r\n",                               /* not a token */
		"GET /a\x01b HTTP/1.1\r\nHost: x\r\n\r\n",
		"\x00\x01garbage\r\n\r\n",
		"GET / HTTP/1.1\r\n\r\n",                                            /* no Host */
		"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n",                     /* two */
		"GET / HTTP/1.0\r\nHost: a\r\nhost: a\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: evil.example/\"><script>\r\n\r\n",         /* not a host */
		"GET / HTTP/1.1\r\nHost: a b\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: a:99999999\r\n\r\n",
		"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n",
		"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\n\r\n",
		"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n",
		"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked, identity\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: x\r\nX-A: a\rb\r\n\r\n",                    /* a bare CR */
		"GET / HTTP/1.1\r\nHost: x\r\nX-A: a\x7f\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: x\r\nX-A\x01: a\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: x\r\nX\tA: a\r\n\r\n",
		"GET / HTTP/1.1\r\r\nHost: x\r\n\r\n",
	};
	char many[MAX_HEADERS * 12 + 64];
	size_t i, len;
	bool ok;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct head h;

		if (head_parse(&h, bad[i], strlen(bad[i]), true))
			fail_msg("accepted: case %zu", i);
		assert_non_null(h.why);
	}
	/* more header lines than are kept */
	len = (size_t)snprintf(many, sizeof(many), "GET / HTTP/1.1\r\nHost: x\r\n");
	for (i = 0; i < MAX_HEADERS; i++)
		len += (size_t)snprintf(many + len, sizeof(many) - len, "X-%03zu: v\r\n", i);
	snprintf(many + len, sizeof(many) - len, "\r\n");
	parse(many, true, &ok);
	assert_false(ok);
	/* The same length twice is allowed. */
	parse("GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\n", true, &ok);
	assert_true(ok);
}

/* D1: a NUL in a name or value (a %.*s copy would stop there and forward a
 * clean "Transfer-Encoding: chunked"); sizeof, since strlen stops at it. */
static void test_nul_in_heads(void **state)
{
	static const char te[] = "POST /harmless HTTP/1.1\r\nHost: up\r\nTransfer-Encoding\0: chunked\r\n"
	                         "Content-Length: 60\r\n\r\n";
	static const char val[] = "GET / HTTP/1.1\r\nHost: up\r\nX-A: a\0\r\n\r\n";
	static const char host[] = "GET / HTTP/1.1\r\nHost: up\0.evil\r\n\r\n";
	static const char xfh[] = "GET / HTTP/1.1\r\nHost: up\r\nX-Forwarded-Host\0: evil\r\n\r\n";
	struct head h;

	(void)state;
	assert_false(head_parse(&h, te, sizeof(te) - 1, true));
	assert_false(head_parse(&h, xfh, sizeof(xfh) - 1, true));
	assert_false(head_parse(&h, val, sizeof(val) - 1, true));
	assert_false(head_parse(&h, host, sizeof(host) - 1, true));
	assert_false(head_parse(&h, "HTTP/1.1 200 OK\r\nX\0: 1\r\n\r\n", 26, false));
}

static void test_status_line(void **state)
{
	bool ok;
	struct head *h = parse("HTTP/1.1 418 I'm a Teapot\r\nSet-Cookie: a=1\r\nSet-Cookie: b=2\r\n"
	                       "Content-Length: 0\r\n\r\n", false, &ok);

	(void)state;
	assert_true(ok);
	assert_int_equal(h->status, 418);
	assert_int_equal(h->slen, strlen("418 I'm a Teapot"));
	assert_memory_equal(h->status_line, "418 I'm a Teapot", h->slen);
	assert_int_equal(h->n, 3);
	assert_int_equal(h->length, 0);
	parse("HTTP/1.1 abc\r\n\r\n", false, &ok);
	assert_false(ok);
	h = parse("HTTP/1.0 200 OK\r\n\r\n", false, &ok);
	assert_true(ok);
	assert_int_equal(h->minor, 0);
	assert_int_equal(h->length, -1);
}

static void test_head_end(void **state)
{
	struct evbuffer *b = evbuffer_new();

	(void)state;
	evbuffer_add_printf(b, "GET / HTTP/1.1\r\nHost: x\r\n");
	assert_int_equal(head_end(b), 0);
	evbuffer_add_printf(b, "\r\nbody");
	assert_int_equal(head_end(b), strlen("GET / HTTP/1.1\r\nHost: x\r\n\r\n"));
	evbuffer_drain(b, evbuffer_get_length(b));
	evbuffer_add_printf(b, "GET / HTTP/1.0\n\nGET / HTTP/1.1\r\n\r\n");
	assert_int_equal(head_end(b), strlen("GET / HTTP/1.0\n\n"));
	/* An empty line ends the head however it ends, as head_parse reads it. */
	evbuffer_drain(b, evbuffer_get_length(b));
	evbuffer_add_printf(b, "GET / HTTP/1.1\nHost: x\n\r\nGET /admin HTTP/1.1\r\n\r\n");
	assert_int_equal(head_end(b), strlen("GET / HTTP/1.1\nHost: x\n\r\n"));
	evbuffer_free(b);
}

/* Each target, and what it routes as (NULL: refused with a 400). */
static void test_targets(void **state)
{
	static const struct { const char *target, *host, *want; } cases[] = {
		{"/api/invoices/", "h", "/api/invoices/"},
		{"/api/%69nvoices/", "h", "/api/invoices/"},
		{"/api/%70ayments/?page=2&q=%2F", "h", "/api/payments/?page=2&q=%2F"},
		{"/api/invoices%2F", "h", NULL},
		{"/api/invoices%2f", "h", NULL},
		{"/api/invoices%5C", "h", NULL},
		{"/api/%zzinvoices/", "h", NULL},
		{"/api/invoices/%6", "h", NULL},
		{"/api/invoices/%", "h", NULL},
		{"/api/a%20b/%c3%a9", "h", "/api/a%20b/%C3%A9"},
		{"/api/x/../invoices/", "h", "/api/invoices/"},
		{"/api/./invoices/./", "h", "/api/invoices/"},
		{"/api/invoices/%2e%2e/payments/", "h", "/api/payments/"},
		{"/api/invoices/..", "h", "/api/"},
		{"/../../api/invoices/", "h", "/api/invoices/"},
		{"/..", "h", "/"},
		{"/.", "h", "/"},
		{"//api//invoices", "h", "//api//invoices"},
		{"/a/.b/..c/...", "h", "/a/.b/..c/..."},
		{"/?x=/../", "h", "/?x=/../"},
		{"http://h/api/invoices/?a=1", "h", "/api/invoices/?a=1"},
		{"HTTPS://H:8080/api/invoices/", "h:8080", "/api/invoices/"},
		{"http://h", "h", "/"},
		{"http://h?x", "h", "/?x"},
		{"https://x/api/invoices/", "h", NULL},
		{"http://evil/", "h", NULL},
		{"http://u@h/", "h", NULL},
		{"http://h/", NULL, NULL},
		{"ftp://h/", "h", NULL},
		{"api/invoices/", "h", NULL},
		{"/api/invoices/#x", "h", NULL},
		{"*", "h", "*"},
	};
	char out[128];
	size_t i, n;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct head h = { .target = cases[i].target, .tlen = strlen(cases[i].target) };
		struct hline host = { .name = "Host", .nlen = 4, .value = cases[i].host };
		const char *why = NULL;

		if (cases[i].host) {
			host.vlen = strlen(cases[i].host);
			h.host = &host;
		}
		memset(out, 'X', sizeof(out));
		n = target_normalize(&h, out, &why);
		if (!cases[i].want) {
			if (n != 0)
				fail_msg("%s: routed as %s", cases[i].target, out);
			assert_non_null(why);
			continue;
		}
		if (n == 0)
			fail_msg("%s: refused (%s)", cases[i].target, why);
		assert_string_equal(out, cases[i].want);
		assert_int_equal(n, strlen(cases[i].want));
		assert_true(n <= h.tlen + 1);        /* what the caller's buffer holds */
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_length),
		cmocka_unit_test(test_chunked),
		cmocka_unit_test(test_broken_chunks),
		cmocka_unit_test(test_request_head),
		cmocka_unit_test(test_bad_heads),
		cmocka_unit_test(test_nul_in_heads),
		cmocka_unit_test(test_status_line),
		cmocka_unit_test(test_head_end),
		cmocka_unit_test(test_targets),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
