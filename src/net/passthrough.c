/*
 * passthrough.c — requests no route of the gateway serves, passed to the
 * application (see proxy.c for the filter that hands them over): the
 * upstream connections kept alive per loop, one exchange per request with
 * its head rebuilt, the answer streamed back, and a large body spliced
 * kernel to kernel.
 */
#include <errno.h>
#include <fcntl.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent_ssl.h>
#include <openssl/err.h>

#include "json.h"
#include "middleware.h"
#include "proxy_conn.h"
#include "resource.h"

/* ---- upstream connections ---------------------------------------------- */

static void idle_gone(struct proxy *px, struct bufferevent *bev)
{
	int i;

	for (i = 0; i < px->nidle; i++) {
		if (px->idle[i] == bev) {
			px->idle[i] = px->idle[--px->nidle];
			break;
		}
	}
	bufferevent_free(bev);
}

/* An idle connection that speaks or closes is done with. */
static void idle_read(struct bufferevent *bev, void *arg)
{
	idle_gone(arg, bev);
}

static void idle_event(struct bufferevent *bev, short what, void *arg)
{
	(void)what;
	idle_gone(arg, bev);
}

static void upstream_keep(struct proxy *px, struct bufferevent *bev)
{
	if (px->nidle >= px->cfg->upstream.max_idle) {
		bufferevent_free(bev);
		return;
	}
	bufferevent_set_timeouts(bev, NULL, NULL);
	bufferevent_setcb(bev, idle_read, NULL, idle_event, px);
	bufferevent_setwatermark(bev, EV_WRITE, 0, 0);
	bufferevent_enable(bev, EV_READ);
	px->idle[px->nidle++] = bev;
}

/* A kept-alive connection, or a new one (connecting). */
static struct bufferevent *upstream_take(struct proxy *px, bool fresh, bool *reused)
{
	struct bufferevent *bev;

	*reused = !fresh && px->nidle > 0;
	if (*reused) {
		atomic_fetch_add(&proxy_counts.reused, 1);
		return px->idle[--px->nidle];
	}
	if (proxy_up.tls) {
		SSL *ssl = SSL_new(proxy_up.tls);

		if (!ssl)
			return NULL;
		/* The name is sent (SNI) and checked against the certificate. */
		SSL_set_tlsext_host_name(ssl, proxy_up.host);
		if (!X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), proxy_up.host))
			SSL_set1_host(ssl, proxy_up.host);
		if (!(bev = bufferevent_openssl_socket_new(px->base, -1, ssl, BUFFEREVENT_SSL_CONNECTING,
		                                           BEV_OPT_CLOSE_ON_FREE))) {
			SSL_free(ssl);
			return NULL;
		}
		bufferevent_openssl_set_allow_dirty_shutdown(bev, 1);
	} else {
		bev = bufferevent_socket_new(px->base, -1, BEV_OPT_CLOSE_ON_FREE);
	}
	if (!bev)
		return NULL;
	set_timeout(bev, 0, px->cfg->upstream.connect_timeout_ms);
	if (bufferevent_socket_connect(bev, (struct sockaddr *)&proxy_up.addr, (int)proxy_up.addrlen) < 0) {
		bufferevent_free(bev);
		return NULL;
	}
	atomic_fetch_add(&proxy_counts.opened, 1);
	return bev;
}

/* ---- exchanges ----------------------------------------------------------- */

static void up_read(struct bufferevent *bev, void *arg);
static void up_write(struct bufferevent *bev, void *arg);
static void up_event(struct bufferevent *bev, short what, void *arg);

/* The application's time limits: for its answer once the whole request is
 * with it, for taking our bytes always. */
static void time_upstream(struct exchange *ex)
{
	int t = ex->c->px->cfg->upstream.timeout_ms;

	set_timeout(ex->up, ex->request_sent ? t : 0, t);
}

void kick_later(struct conn *c)
{
	event_active(c->kick, EV_TIMEOUT, 0);
}

static int up_attach(struct exchange *ex, bool fresh)
{
	struct proxy *px = ex->c->px;

	if (!(ex->up = upstream_take(px, fresh, &ex->reused)))
		return -1;
	bufferevent_setcb(ex->up, up_read, up_write, up_event, ex);
	/* Bodies move in big steps: libevent's default is 16 KiB a call. */
	bufferevent_set_max_single_read(ex->up, LOW_WATER);
	bufferevent_set_max_single_write(ex->up, LOW_WATER);
	bufferevent_setwatermark(ex->up, EV_WRITE, LOW_WATER, 0);
	bufferevent_setwatermark(ex->up, EV_READ, 0, HIGH_WATER);
	if (ex->reused)
		time_upstream(ex);      /* a new one is timed once connected */
	bufferevent_enable(ex->up, EV_READ | EV_WRITE);
	bufferevent_write(ex->up, ex->head.p, ex->head.len);
	return 0;
}

/* A spliced body's pipe and events, let go. */
static void splice_stop(struct exchange *ex)
{
	if (!ex->splicing)
		return;
	ex->splicing = false;
	close(ex->pipe[0]);
	close(ex->pipe[1]);
	if (ex->up_ready)
		event_free(ex->up_ready);
	if (ex->client_ready)
		event_free(ex->client_ready);
	ex->up_ready = ex->client_ready = NULL;
}

/* The exchange is over, one way or another: the upstream connection is
 * kept or closed, the request logged, and the client connection moves on. */
void exchange_end(struct exchange *ex)
{
	struct conn *c = ex->c;
	struct proxy *px = c->px;

	splice_stop(ex);
	if (ex->up) {
		bool keep = !ex->up_close && ex->request_sent && ex->resp.st == FR_DONE &&
		            evbuffer_get_length(bufferevent_get_output(ex->up)) == 0 &&
		            evbuffer_get_length(bufferevent_get_input(ex->up)) == 0;

		if (keep)
			upstream_keep(px, ex->up);
		else
			bufferevent_free(ex->up);
		ex->up = NULL;
	}
	if (!ex->log.status)
		ex->log.status = 499;           /* the client left first */
	mw_access_log.on_log(&ex->log);
	metrics_passthrough(ex->log.status);
	if (ex->log.status == 502)
		atomic_fetch_add(&proxy_counts.bad_gateway, 1);
	else if (ex->log.status == 504)
		atomic_fetch_add(&proxy_counts.timeouts, 1);
	atomic_fetch_add(&proxy_counts.bytes_down, ex->log.sent);
	if (ex->spliced)
		atomic_fetch_add(&proxy_counts.spliced, ex->spliced);
	c->ex = NULL;
	if (ex->client_close || c->in == IN_TO_UPSTREAM)
		c->in = IN_CLOSING;             /* the rest of a body nobody wants is not read */
	if (conn_alive(c)) {
		bufferevent_set_timeouts(c->client, NULL, NULL);
		bufferevent_set_timeouts(c->filter, &px->evhttp_tv, &px->evhttp_tv);
		kick_later(c);
	}
	buf_free(&ex->head);
	arena_reset(&ex->log.arena);
	free(ex);
	if (--px->active == 0 && px->on_idle)
		px->on_idle(px->idle_arg);
}

/* The application cannot answer: 502 (down, refused, broken) or 504 (slow);
 * or the client's own body is broken: 400. */
void exchange_fail(struct exchange *ex, int status)
{
	struct conn *c = ex->c;

	if (ex->up) {
		bufferevent_free(ex->up);
		ex->up = NULL;
	}
	if (!ex->started && conn_alive(c)) {
		bool close = ex->client_close || c->in == IN_TO_UPSTREAM;

		if (status == 400)
			reply_detail(c, 400, "Bad Request", "The request body's chunked framing is broken.",
			             ex->log.request_id, close);
		else if (status == 504)
			reply_detail(c, 504, "Gateway Timeout", "The application did not answer in time.",
			             ex->log.request_id, close);
		else
			reply_detail(c, 502, "Bad Gateway", "The application is unavailable.",
			             ex->log.request_id, close);
		ex->log.status = status;
		ex->client_close = close;
	} else {
		/* Mid-answer: the client can only be told by the connection
		 * closing, at once (what the kernel still holds of a cut answer
		 * is no use to it). */
		ex->client_close = true;
		c->cut = true;
	}
	exchange_end(ex);
}

/* The whole request is with the application: now its answer is timed. */
void request_sent(struct exchange *ex)
{
	ex->request_sent = true;
	bufferevent_set_timeouts(ex->c->client, NULL, &ex->c->px->client_tv);
	if (ex->up)
		time_upstream(ex);
}

/* Heads are written a piece at a time, without printf: a line's text and
 * its CRLF; a header field. */
#define LIT(s) s, sizeof(s) - 1

static void put_line(struct buf *b, const char *text, size_t n)
{
	buf_put(b, text, n);
	buf_put(b, "\r\n", 2);
}

static void put_field(struct buf *b, const char *name, size_t nlen, const char *value, size_t vlen)
{
	buf_put(b, name, nlen);
	buf_put(b, ": ", 2);
	put_line(b, value, vlen);
}

/* The answer's head: relayed without hop-by-hop headers; the framing
 * decides how its end is found.  1 done, 0 incomplete, -1 unreadable. */
static int answer_head(struct exchange *ex, struct evbuffer *in)
{
	struct conn *c = ex->c;

	for (;;) {
		size_t n = head_end(in), i;
		struct head h;
		struct buf out = {0};

		if (n == 0)
			return evbuffer_get_length(in) > MAX_RESPONSE_HEAD ? -1 : 0;
		if (!head_parse(&h, (const char *)evbuffer_pullup(in, (ev_ssize_t)n), n, false) ||
		    h.status < 100 || h.status == 101)
			return -1;
		if (h.status < 200) {
			/* Interim (100 Continue, 103): HTTP/1.1 clients get it as it is. */
			if (!ex->client_10)
				evbuffer_remove_buffer(in, bufferevent_get_output(c->client), n);
			else
				evbuffer_drain(in, n);
			continue;
		}
		ex->log.status = h.status;
		/* Both framings in one answer: the coding wins, and the connection
		 * cannot be trusted with another request (RFC 9112 §6.1). */
		ex->up_close = h.close || (h.minor == 0 && !h.keep_alive) || (h.te && h.length >= 0);
		if (ex->head_only || h.status == 204 || h.status == 304)
			framer_init(&ex->resp, false, 0);
		else if (h.te)
			framer_init(&ex->resp, h.chunked, -1);
		else
			framer_init(&ex->resp, false, h.length);
		if (ex->resp.st == FR_CLOSE)
			ex->up_close = ex->client_close = true;
		/* HTTP/1.0 clients: no chunks, and no keep-alive. */
		ex->dechunk = ex->client_10 && h.chunked && ex->resp.st != FR_DONE;
		if (ex->client_10)
			ex->client_close = true;
		buf_puts(&out, "HTTP/1.1 ");
		put_line(&out, h.status_line, h.slen);
		for (i = 0; i < h.n; i++) {
			const struct hline *l = &h.h[i];

			if ((hop_by_hop(&h, l) && !(l == h.te && h.chunked && !ex->dechunk)) ||
			    (h.te && name_is(l, "Content-Length")))
				continue;
			put_field(&out, l->name, l->nlen, l->value, l->vlen);
		}
		if (!h.request_id)
			put_field(&out, LIT("X-Request-Id"), ex->log.request_id, strlen(ex->log.request_id));
		buf_puts(&out, ex->client_close ? "Connection: close\r\n\r\n" : "\r\n");
		evbuffer_drain(in, n);
		bufferevent_write(c->client, out.p, out.len);
		buf_free(&out);
		ex->started = true;
		return 1;
	}
}

/* ---- splicing: a large body kernel to kernel ------------------------------ */

/* The rest of the body may be spliced: its length is known, it is large,
 * neither side speaks TLS, and nothing of it is waiting in the process. */
static bool splice_wanted(struct exchange *ex)
{
	return !ex->splicing && ex->resp.st == FR_LENGTH && ex->resp.left >= SPLICE_MIN && ex->request_sent &&
	       !ex->c->tls && !proxy_up.tls && evbuffer_get_length(bufferevent_get_input(ex->up)) == 0;
}


static void on_splice_ready(evutil_socket_t fd, short what, void *arg)
{
	struct exchange *ex = arg;

	(void)fd;
	if (!(what & EV_TIMEOUT))
		return splice_step(ex);
	/* One side stalled for its whole time limit: the client can only be
	 * told by the connection closing. */
	ex->up_close = true;
	exchange_fail(ex, 504);
}

/* false: the body is copied as usual. */
static bool splice_start(struct exchange *ex)
{
	struct conn *c = ex->c;

	if (pipe2(ex->pipe, O_NONBLOCK | O_CLOEXEC) < 0)
		return false;
	fcntl(ex->pipe[1], F_SETPIPE_SZ, SPLICE_PIPE);  /* a smaller pipe only takes more steps */
	ex->up_ready = event_new(c->px->base, bufferevent_getfd(ex->up), EV_READ, on_splice_ready, ex);
	ex->client_ready = event_new(c->px->base, c->fd, EV_WRITE, on_splice_ready, ex);
	ex->splicing = true;
	if (!ex->up_ready || !ex->client_ready) {
		splice_stop(ex);
		return false;
	}
	ex->in_pipe = 0;
	bufferevent_disable(ex->up, EV_READ);
	splice_step(ex);
	return true;
}

/*
 * Moves what either socket allows: the application's bytes into the pipe,
 * the pipe's into the client, once everything queued for the client before
 * them is out (on_kick calls again when it is).  Waits on the socket that
 * blocks, timed like the bufferevents it stands in for.
 */
void splice_step(struct exchange *ex)
{
	struct conn *c = ex->c;
	size_t moved = 0;
	ssize_t n;

	if (!conn_alive(c))
		return exchange_end(ex);
	if (evbuffer_get_length(bufferevent_get_output(c->client)) > 0)
		return;
	while (moved < SPLICE_TURN) {
		if (ex->in_pipe > 0) {
			n = splice(ex->pipe[0], NULL, c->fd, NULL, ex->in_pipe, SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
			if (n < 0 && errno == EINTR)
				continue;
			if (n < 0 && errno == EAGAIN) {
				event_add(ex->client_ready, &c->px->client_tv);
				return;
			}
			if (n <= 0) {           /* the client is gone */
				ex->up_close = true;
				ex->client_close = true;
				return exchange_end(ex);
			}
			ex->in_pipe -= (size_t)n;
			ex->log.sent += (uint64_t)n;
			ex->spliced += (uint64_t)n;
			moved += (size_t)n;
			continue;
		}
		if (ex->resp.left == 0) {
			ex->resp.st = FR_DONE;
			return exchange_end(ex);
		}
		n = splice(bufferevent_getfd(ex->up), NULL, ex->pipe[1], NULL,
		           ex->resp.left < SPLICE_PIPE ? ex->resp.left : SPLICE_PIPE, SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN) {
			event_add(ex->up_ready, &c->px->upstream_tv);
			return;
		}
		if (n <= 0) {                   /* the application closed (or broke) mid-body */
			ex->up_close = true;
			return exchange_fail(ex, 502);
		}
		ex->resp.left -= (uint64_t)n;
		ex->in_pipe += (size_t)n;
	}
	kick_later(c);                          /* the others' turn; on_kick goes on */
}

/* The answer's body, as far as the client keeps up. */
void answer_body(struct exchange *ex)
{
	struct evbuffer *in = bufferevent_get_input(ex->up);
	struct evbuffer *out = bufferevent_get_output(ex->c->client);
	ssize_t n;

	if (ex->paused)
		return;
	if ((n = frame_move(&ex->resp, in, out, !ex->dechunk)) < 0) {
		ex->up_close = true;
		return exchange_fail(ex, 502);
	}
	ex->log.sent += (uint64_t)n;
	if (ex->resp.st == FR_DONE)
		return exchange_end(ex);
	if (splice_wanted(ex) && splice_start(ex))
		return;
	if (evbuffer_get_length(out) > HIGH_WATER) {
		ex->paused = true;
		bufferevent_disable(ex->up, EV_READ);
	}
}

static void up_read(struct bufferevent *bev, void *arg)
{
	struct exchange *ex = arg;
	int r;

	(void)bev;
	if (!conn_alive(ex->c))
		return exchange_end(ex);
	ex->got_bytes = true;
	if (!ex->started && (r = answer_head(ex, bufferevent_get_input(ex->up))) <= 0) {
		if (r < 0) {
			ex->up_close = true;
			exchange_fail(ex, 502);
		}
		return;
	}
	answer_body(ex);
}

/* The application took enough of the body: the client may send more. */
static void up_write(struct bufferevent *bev, void *arg)
{
	struct exchange *ex = arg;

	(void)bev;
	if (ex->c->in == IN_TO_UPSTREAM)
		kick_later(ex->c);
}

static void up_event(struct bufferevent *bev, short what, void *arg)
{
	struct exchange *ex = arg;
	struct conn *c = ex->c;
	int one = 1;

	if (what & BEV_EVENT_CONNECTED) {
		setsockopt(bufferevent_getfd(bev), IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		time_upstream(ex);
		return;
	}
	if (!conn_alive(c))
		return exchange_end(ex);
	if ((what & BEV_EVENT_EOF) && ex->started && ex->resp.st == FR_CLOSE) {
		answer_body(ex);                /* what is left, then the end */
		if (c->ex == ex) {
			ex->resp.st = FR_DONE;
			ex->up_close = true;
			exchange_end(ex);
		}
		return;
	}
	/* A kept-alive connection the application had closed: once more, fresh. */
	if (ex->reused && !ex->got_bytes && !ex->has_body && !(what & BEV_EVENT_TIMEOUT)) {
		bufferevent_free(ex->up);
		ex->up = NULL;
		if (up_attach(ex, true) == 0)
			return;
	}
	exchange_fail(ex, (what & BEV_EVENT_TIMEOUT) ? 504 : 502);
}

/* The request head for the application: as it came, minus hop-by-hop
 * headers, plus where it came from and its id. */
static void build_head(struct exchange *ex, const struct head *h)
{
	struct conn *c = ex->c;
	struct buf *b = &ex->head;
	size_t i;

	buf_put(b, h->method, h->mlen);
	buf_putc(b, ' ');
	buf_put(b, h->target, h->tlen);
	buf_puts(b, " HTTP/1.1\r\n");
	for (i = 0; i < h->n; i++) {
		const struct hline *l = &h->h[i];

		if (hop_by_hop(h, l) || l == h->xff || name_is(l, "X-Forwarded-Proto") ||
		    name_is(l, "X-Forwarded-Host") || name_is(l, "X-Request-Id") ||
		    (h->chunked && name_is(l, "Content-Length")))
			continue;
		put_field(b, l->name, l->nlen, l->value, l->vlen);
	}
	if (!h->host)
		put_field(b, LIT("Host"), proxy_up.hostport, strlen(proxy_up.hostport));
	buf_puts(b, "X-Forwarded-For: ");
	if (h->xff) {
		buf_put(b, h->xff->value, h->xff->vlen);
		buf_puts(b, ", ");
	}
	put_line(b, c->remote, strlen(c->remote));
	buf_puts(b, c->tls ? "X-Forwarded-Proto: https\r\n" : "X-Forwarded-Proto: http\r\n");
	if (h->host)
		put_field(b, LIT("X-Forwarded-Host"), h->host->value, h->host->vlen);
	put_field(b, LIT("X-Request-Id"), ex->log.request_id, strlen(ex->log.request_id));
	if (h->chunked)
		put_field(b, LIT("Transfer-Encoding"), h->te->value, h->te->vlen);
	buf_puts(b, "\r\n");
}

/* A passthrough request whose head (n bytes) is at the front of src. */
void exchange_start(struct conn *c, const struct head *h, const struct resource *r,
                           struct evbuffer *src, size_t n)
{
	struct exchange *ex = xcalloc(1, sizeof(*ex));
	struct request *log = &ex->log;

	ex->c = c;
	arena_init(&log->arena, 1024);
	log->cfg = c->px->cfg;
	log->start_us = now_mono_us();
	log->method = arena_strndup(&log->arena, h->method, h->mlen);
	log->uri = arena_strndup(&log->arena, h->target, h->tlen);
	log->remote = c->remote;
	log->route = r ? arena_printf(&log->arena, "%s.passthrough", r->name) : "passthrough";
	ex->client_10 = h->minor == 0;
	request_id_choose(h->request_id ? h->request_id->value : NULL,
	                  h->request_id ? h->request_id->vlen : 0, log->request_id);
	ex->head_only = h->mlen == 4 && memcmp(h->method, "HEAD", 4) == 0;
	ex->client_close = h->close || (h->minor == 0 && !h->keep_alive);
	ex->has_body = h->chunked || h->length > 0;
	framer_init(&c->body, h->chunked, h->length > 0 ? h->length : 0);
	build_head(ex, h);
	evbuffer_drain(src, n);
	atomic_fetch_add(&proxy_counts.requests, 1);
	c->px->active++;
	c->ex = ex;
	c->in = ex->has_body ? IN_TO_UPSTREAM : IN_HEAD;
	/* evhttp's idle timer would close the connection under a long exchange;
	 * the client gets the same time limit for each of its reads and writes
	 * instead (its timeout ends the connection through evhttp as usual). */
	bufferevent_set_timeouts(c->filter, NULL, NULL);
	bufferevent_set_timeouts(c->client, ex->has_body ? &c->px->client_tv : NULL, &c->px->client_tv);
	if (!ex->has_body)
		ex->request_sent = true;
	if (up_attach(ex, false) < 0)
		exchange_fail(ex, 502);
}
