/*
 * proxy.c — the client connection filter; the exchanges of passthrough
 * with the application are in passthrough.c.
 *
 * evhttp (libevent 2.1) reads a request's whole body before its callback
 * runs, so passthrough cannot be an evhttp handler, and it parses heads
 * more loosely than an upstream may.  Each client connection therefore runs
 * through a bufferevent filter that reads request heads before evhttp does
 * and refuses, with a 400 and the connection's close, any head that is not
 * HTTP/1.1 to the letter (http1.c), on every path:
 *
 *   - a request for a route the gateway serves (or the admin API) goes on
 *     to evhttp byte for byte;
 *   - with an upstream configured, any other request never reaches evhttp:
 *     its head is rebuilt from the parsed fields (hop-by-hop headers out,
 *     X-Forwarded-* and X-Request-Id in) and it streams to the
 *     application; the answer streams back as it came.
 *
 * The filter also guards the process: a request's head and (for evhttp)
 * body must arrive within request_timeout of its first byte, the bodies
 * held for evhttp are capped in total, and accepting pauses at the
 * connection cap or when descriptors run out.
 *
 * Both directions are bounded: a side that cannot keep up pauses the other
 * (HIGH_WATER/LOW_WATER), so a 100 MB body costs a few megabytes.  One
 * request per connection is in hand at a time, so pipelined requests are
 * answered in order.  Upstream connections are kept alive per event loop.
 * A large answer of known length between plain sockets goes kernel to
 * kernel once its head is out: splice(2) through a pipe, never copied into
 * the process (SPLICE_MIN and up).
 * evhttp's own answers leave through the filter too (on_output: the one
 * place that may let evhttp close the connection safely).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdatomic.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/listener.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include "metrics.h"
#include "http1.h"
#include "json.h"
#include "middleware.h"
#include "proxy.h"
#include "request.h"
#include "resource.h"
#include "clients.h"
#include "router.h"
#include "tls.h"

#include "proxy_conn.h"

struct proxy_counts proxy_counts;

/* Shared by the loops: open client connections, and body bytes handed to
 * evhttp and not answered yet.  Touched once per connection and per body
 * read, never per request. */

/* Connections by fd, so evhttp's answer can release a request waiting behind it.
 * A slot is used by the loop serving that fd's connection; a closed fd's next
 * connection may be on another loop, hence atomics (relaxed: close and accept
 * order them). */
static _Atomic(struct conn *) *by_fd;
static size_t nby_fd;

bool conn_alive(const struct conn *c)
{
	bufferevent_event_cb ecb = NULL;

	bufferevent_getcb(c->filter, NULL, NULL, &ecb, NULL);
	return ecb != NULL;             /* evhttp clears its callbacks when it lets go */
}

void set_timeout(struct bufferevent *bev, int read_ms, int write_ms)
{
	struct timeval r = {read_ms / 1000, (read_ms % 1000) * 1000};
	struct timeval w = {write_ms / 1000, (write_ms % 1000) * 1000};

	bufferevent_set_timeouts(bev, read_ms > 0 ? &r : NULL, write_ms > 0 ? &w : NULL);
}

void reply_detail(struct conn *c, int status, const char *reason, const char *detail,
                         const char *request_id, bool close)
{
	struct buf body = {0}, b = {0};

	buf_puts(&body, "{\"detail\":");
	json_put_cstr(&body, detail);
	buf_putc(&body, '}');
	buf_printf(&b, "HTTP/1.1 %d %s\r\nContent-Type: application/json\r\nContent-Length: %zu\r\n"
	           "X-Request-Id: %s\r\n%s", status, reason, body.len, request_id,
	           close ? "Connection: close\r\n" : "");
	if (status == 429)
		buf_printf(&b, "Retry-After: %d\r\n", c->refusal.retry_after);
	buf_puts(&b, "\r\n");
	buf_put(&b, body.p, body.len);
	bufferevent_write(c->client, b.p, b.len);
	buf_free(&body);
	buf_free(&b);
}

#define BODY_RUN (64 << 10)             /* body bytes handed to evhttp at once */
#define MSG_BUDGET "The gateway holds too many request bodies. Try again shortly."

/* ---- the filter ---------------------------------------------------------- */

static void conn_register(struct conn *c)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);

	c->fd = bufferevent_getfd(c->client);
	if (c->fd >= 0 && (size_t)c->fd < nby_fd)
		atomic_store_explicit(&by_fd[c->fd], c, memory_order_relaxed);
	strcpy(c->remote, "-");
	if (c->fd >= 0 && getpeername(c->fd, (struct sockaddr *)&ss, &len) == 0) {
		client_addr_of((struct sockaddr *)&ss, &c->addr);
		if (ss.ss_family == AF_INET)
			inet_ntop(AF_INET, &((struct sockaddr_in *)&ss)->sin_addr, c->remote, sizeof(c->remote));
		else if (ss.ss_family == AF_INET6)
			inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&ss)->sin6_addr, c->remote, sizeof(c->remote));
	}
}

/* The per-address cap, asked once the connection's socket is known: false
 * (and the connection shut, unread and unanswered) when its address has
 * its fill of connections already. */
static bool conn_admit(struct conn *c)
{
	if (c->admitted || !clients_limited() || c->px->admin)
		return true;
	c->admitted = true;
	if (c->fd < 0)
		conn_register(c);
	if (c->fd < 0 || (c->counted = clients_connect(&c->addr)))
		return true;
	c->in = IN_CLOSING;
	c->shut = true;
	shutdown(c->fd, SHUT_RDWR);
	return false;
}

/* A head the filter will not pass on, counted; true (the state changed). */
static bool refuse_head(struct conn *c, int status, const char *reason, const char *detail)
{
	atomic_fetch_add(&proxy_counts.refused_heads, 1);
	conn_refuse(c, status, reason, detail, false);
	return true;
}

/* The largest body evhttp reads on this listener (as server.c sets it). */
static int64_t body_cap(const struct proxy *px)
{
	return px->admin ? ADMIN_MAX_BODY : 2 * (int64_t)px->cfg->max_body_bytes;
}

/* The methods evhttp takes on this listener (as server.c sets them);
 * others are answered here, in JSON, rather than by evhttp's HTML page. */
static bool method_served(const struct proxy *px, const struct head *h)
{
	/* DELETE last: the admin listener takes all but it. */
	static const char *const methods[] = {"GET", "POST", "HEAD", "PUT", "OPTIONS", "PATCH", "DELETE"};
	size_t i;

	for (i = 0; i < ARRAY_LEN(methods) - px->admin; i++)
		if (strlen(methods[i]) == h->mlen && memcmp(methods[i], h->method, h->mlen) == 0)
			return true;
	return false;
}

/* A parsed head (n bytes at the front of src) to evhttp or to the
 * application, with its target in the form it was routed on (norm). */
static bool pass_head(struct conn *c, struct head *h, struct evbuffer *src, struct evbuffer *dst, size_t n,
                      char *norm, size_t nlen)
{
	const struct config *cfg = c->px->cfg;
	const char *raw = (const char *)evbuffer_pullup(src, (ev_ssize_t)n);
	size_t tpos = (size_t)(h->target - raw), tend = tpos + h->tlen;
	bool changed = nlen != h->tlen || memcmp(norm, h->target, nlen) != 0;
	size_t plen = strcspn(norm, "?");
	char saved = norm[plen];
	struct route rt;

	h->target = norm;
	h->tlen = nlen;
	norm[plen] = '\0';
	router_decide(cfg, norm, &rt);
	norm[plen] = saved;
	if (!c->px->upstream || rt.to != ROUTE_APPLICATION) {
		bool bodyless = (h->mlen == 4 && memcmp(h->method, "HEAD", 4) == 0) ||
		                (h->mlen == 5 && memcmp(h->method, "TRACE", 5) == 0);

		if (!method_served(c->px, h))
			return refuse_head(c, 501, "Not Implemented", "The request method is not served here.");
		framer_init(&c->body, h->chunked && !bodyless, bodyless || h->length < 0 ? 0 : h->length);
		c->chunked_in = 0;
		if (c->body.st == FR_LENGTH && (int64_t)c->body.left > body_cap(c->px))
			return refuse_head(c, 413, "Payload Too Large", "Request body is too large.");
		/* A length evhttp will take is held whole: counted now, so that a
		 * flood of bodies is refused up front rather than each half read. */
		if (c->body.st == FR_LENGTH && !held_take(c, (int64_t)c->body.left)) {
			conn_refuse(c, 503, "Service Unavailable", MSG_BUDGET, false);
			return true;
		}
		if (changed) {                  /* the request line with the target rewritten */
			evbuffer_add(dst, raw, tpos);
			evbuffer_add(dst, norm, nlen);
			evbuffer_add(dst, raw + tend, n - tend);
			evbuffer_drain(src, n);
		} else {
			evbuffer_remove_buffer(src, dst, n);
		}
		c->fed_evhttp = true;
		c->evhttp_pending++;
		c->in = c->body.st == FR_DONE ? IN_HEAD : IN_TO_EVHTTP;
		if (c->in == IN_HEAD)
			deadline_stop(c);       /* the next request has its own time */
		return true;
	}
	deadline_stop(c);                       /* the exchange times the rest */
	if (c->evhttp_pending > 0 || evbuffer_get_length(bufferevent_get_output(c->filter)) > 0)
		return false;                   /* evhttp answers the request before it first */
	exchange_start(c, h, rt.resource, src, n);
	return true;
}

/* The next request's head: to evhttp or to the application, or refused.
 * true when bytes were taken (or the state changed), false when waiting. */
static bool next_head(struct conn *c, struct evbuffer *src, struct evbuffer *dst)
{
	const struct config *cfg = c->px->cfg;
	unsigned char first;
	struct head head, *h = &head;
	char small[2048], *norm;
	const char *why;
	size_t n, nlen;
	bool took;

	/* Blank lines before a request are ignored (RFC 9112 §2.2). */
	if (evbuffer_copyout(src, &first, 1) == 1 && (first == '\r' || first == '\n')) {
		evbuffer_drain(src, 1);
		return true;
	}
	if ((n = head_end(src)) == 0 && evbuffer_get_length(src) <= cfg->max_header_bytes + MAX_LINE) {
		c->partial_head = true;
		return false;
	}
	if (n == 0 || n > cfg->max_header_bytes + MAX_LINE)
		return refuse_head(c, 431, "Request Header Fields Too Large", "The request head is too large.");
	if (!head_parse(h, (const char *)evbuffer_pullup(src, (ev_ssize_t)n), n, true))
		return refuse_head(c, 400, "Bad Request", h->why);
	c->partial_head = false;
	if (clients_limited() && !c->px->admin &&
	    (c->refusal.retry_after = clients_request(&c->addr, now_mono_us())) > 0) {
		/* DRF's throttled answer; the connection closes after it. */
		snprintf(c->throttle_text, sizeof(c->throttle_text), "Request was throttled. Expected available in %d "
		         "second%s.", c->refusal.retry_after, c->refusal.retry_after == 1 ? "" : "s");
		conn_refuse(c, 429, "Too Many Requests", c->throttle_text, false);
		return true;
	}
	/* Routed, and passed on, as the application will read the target, so
	 * that no spelling of an owned path gets around the gateway. */
	norm = h->tlen + 2 <= sizeof(small) ? small : xmalloc(h->tlen + 2);
	if ((nlen = target_normalize(h, norm, &why)) == 0)
		took = refuse_head(c, 400, "Bad Request", why);
	else
		took = pass_head(c, h, src, dst, n, norm, nlen);
	if (norm != small)
		free(norm);
	return took;
}

/* Body bytes for evhttp, which holds them until the request is whole:
 * a declared length was counted against the budget with the head, a
 * chunked body is counted as it comes. */
static bool to_evhttp(struct conn *c, struct evbuffer *src, struct evbuffer *dst)
{
	bool chunked = c->body.st == FR_SIZE || c->body.st == FR_DATA || c->body.st == FR_DATA_END ||
	               c->body.st == FR_TRAILER;
	size_t before = evbuffer_get_length(src);
	struct evbuffer *part = NULL;
	ssize_t n;

	/* Body bytes go on in runs of BODY_RUN, or the rest of the body (of
	 * the chunk): evhttp takes each run's buffers as they are, and 4 KiB
	 * reads passed on one by one would each hold a buffer twice their size. */
	if ((c->body.st == FR_LENGTH || c->body.st == FR_DATA) && before < c->body.left && before < BODY_RUN)
		return false;
	/* A chunked body is sized before evhttp sees it: past the cap, the
	 * answer is ours (JSON), not evhttp's page. */
	if (chunked && (!held_take(c, (int64_t)before) || !(part = evbuffer_new()))) {
		conn_refuse(c, 503, "Service Unavailable", MSG_BUDGET, true);
		return true;
	}
	n = frame_move(&c->body, src, part ? part : dst, true);
	if (chunked) {                          /* only what moved stays counted */
		held_give_back(c, (int64_t)before - (n < 0 ? 0 : n));
		c->chunked_in += n < 0 ? 0 : n;
		if (n >= 0 && c->chunked_in > body_cap(c->px)) {
			evbuffer_free(part);
			conn_refuse(c, 413, "Payload Too Large", "Request body is too large.", true);
			return true;
		}
		evbuffer_add_buffer(dst, part);
		evbuffer_free(part);
	}
	if (n < 0) {
		conn_refuse(c, 400, "Bad Request", "The request body's chunked framing is broken.", true);
		return true;
	}
	c->fed_evhttp |= n > 0;
	if (c->body.st != FR_DONE)
		return false;
	c->in = IN_HEAD;
	deadline_stop(c);
	return true;
}

static enum bufferevent_filter_result on_input(struct evbuffer *src, struct evbuffer *dst,
                                               ev_ssize_t limit, enum bufferevent_flush_mode mode,
                                               void *arg)
{
	struct conn *c = arg;
	size_t before = evbuffer_get_length(src);
	struct evbuffer *to;
	ssize_t n;

	(void)limit;
	(void)mode;
	if (c->fd < 0)
		conn_register(c);
	if (!conn_admit(c)) {
		evbuffer_drain(src, evbuffer_get_length(src));
		return BEV_OK;
	}
	while (evbuffer_get_length(src) > 0) {
		switch (c->in) {
		case IN_CLOSING:
			evbuffer_drain(src, evbuffer_get_length(src));
			break;
		case IN_TO_EVHTTP:
			if (!to_evhttp(c, src, dst))
				goto out;
			break;
		case IN_TO_UPSTREAM:
			to = c->ex && c->ex->up ? bufferevent_get_output(c->ex->up) : NULL;
			if (to && evbuffer_get_length(to) > HIGH_WATER)
				goto out;               /* up_write resumes */
			if ((n = frame_move(&c->body, src, to, true)) < 0) {
				if (c->ex)      /* the application has half a request: it is cut off */
					exchange_fail(c->ex, 400);
				c->in = IN_CLOSING;
				break;
			}
			atomic_fetch_add(&proxy_counts.bytes_up, (uint64_t)n);
			if (c->body.st != FR_DONE)
				goto out;
			c->in = IN_HEAD;
			if (c->ex)
				request_sent(c->ex);
			break;
		case IN_HEAD:
			if (c->ex || !next_head(c, src, dst))
				goto out;
			break;
		}
	}
	c->partial_head = false;
out:
	/* A request's head has header_timeout from its first byte, and the
	 * whole request (the body too, when evhttp is to hold it)
	 * request_timeout. */
	if (!c->deadline_armed && c->in == IN_HEAD && c->partial_head && !c->ex) {
		const struct config *cfg = c->px->cfg;

		deadline_set(c, cfg->header_timeout > 0 && cfg->header_timeout < cfg->request_timeout ?
		                cfg->header_timeout : cfg->request_timeout);
		c->head_timed = true;
		c->started_us = now_mono_us();
	} else if (c->in == IN_TO_EVHTTP && (!c->deadline_armed || c->head_timed)) {
		/* The body has what is left of request_timeout. */
		deadline_set_us(c, c->px->cfg->request_timeout * 1000000LL -
		                   (c->deadline_armed ? now_mono_us() - c->started_us : 0));
	}
	return evbuffer_get_length(src) < before ? BEV_OK : BEV_NEED_MORE;
}

/* evhttp's output on its way: with a reference held, so that evhttp may
 * free the connection in the middle of it. */
static void flush_output(struct conn *c)
{
	c->flushing = true;
	bufferevent_flush(c->filter, EV_WRITE, BEV_NORMAL);
	c->flushing = false;
}

/* Deferred work on a connection: resume a paused side, read on, or close. */
static void on_kick(evutil_socket_t fd, short what, void *arg)
{
	struct conn *c = arg;
	struct exchange *ex = c->ex;
	struct evbuffer *out = bufferevent_get_output(c->client);

	(void)fd;
	(void)what;
	if (!conn_alive(c) || !conn_admit(c))
		return;
	if (c->flush_out) {
		c->flush_out = false;
		flush_output(c);
		if (!conn_alive(c))
			return;                 /* evhttp closed it once its answer was out */
	}
	if (ex && ex->splicing && evbuffer_get_length(out) == 0) {
		splice_step(ex);
		if (c->ex != ex || !conn_alive(c))
			return;                 /* it ended, and kicked again */
		if (ex->splicing)
			return;
	}
	if (ex && ex->paused && evbuffer_get_length(out) <= LOW_WATER) {
		ex->paused = false;
		bufferevent_enable(ex->up, EV_READ);
		answer_body(ex);
		if (c->ex != ex)
			return;                 /* answer_body ended it and kicked again */
	}
	if (c->in == IN_CLOSING) {
		refusal_send(c);
		if (!c->ex && !c->refusing && !c->shut && evbuffer_get_length(out) == 0) {
			if (c->tls)
				SSL_shutdown(c->tls);   /* close_notify first */
			shutdown(c->fd, SHUT_WR);   /* the client closes; evhttp then lets go */
			c->shut = true;
		}
		return;
	}
	c->fed_evhttp = false;
	bufferevent_flush(c->filter, EV_READ, BEV_NORMAL);
	if (c->fed_evhttp)
		bufferevent_trigger(c->filter, EV_READ, 0);
}

/* The client's socket drained: a paused answer or a pending close can go on. */
static void on_client_out(struct evbuffer *b, const struct evbuffer_cb_info *info, void *arg)
{
	struct conn *c = arg;
	size_t len = evbuffer_get_length(b);

	if (info->n_deleted && ((c->ex && c->ex->paused && len <= LOW_WATER) ||
	                        (c->ex && c->ex->splicing && len == 0) ||
	                        (c->in == IN_CLOSING && !c->shut && len == 0)))
		kick_later(c);
}

/* evhttp wrote to the filter: the filter passes it on only when kicked,
 * as evhttp writes before it enables writing.  Once all of it is out, a
 * passthrough request waiting behind it may go. */
static void on_filter_out(struct evbuffer *b, const struct evbuffer_cb_info *info, void *arg)
{
	struct conn *c = arg;

	if (info->n_added && !c->flush_out) {
		c->flush_out = true;
		kick_later(c);
	}
	if (info->n_deleted && evbuffer_get_length(b) == 0 && ((c->in == IN_HEAD && !c->ex) || c->refusing))
		kick_later(c);
}

static void on_writable(evutil_socket_t fd, short what, void *arg)
{
	struct conn *c = arg;

	(void)fd;
	(void)what;
	if (conn_alive(c))
		flush_output(c);
}

/* As much of src as the socket takes now; -1 when the client is gone. */
static ssize_t send_now(int fd, struct evbuffer *src)
{
	struct evbuffer_iovec v[16];
	struct msghdr msg = {0};
	int n = evbuffer_peek(src, -1, NULL, v, 16);
	ssize_t w;

	msg.msg_iov = (struct iovec *)v;
	msg.msg_iovlen = (size_t)(n < 16 ? n : 16);
	w = sendmsg(fd, &msg, MSG_DONTWAIT | MSG_NOSIGNAL);
	if (w < 0)
		return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR ? 0 : -1;
	evbuffer_drain(src, (size_t)w);
	return w;
}

/* The same through TLS: records written now, as many as the socket takes.
 * A write the socket refused must be retried with the same bytes. */
static ssize_t tls_send_now(struct conn *c, struct evbuffer *src)
{
	ssize_t sent = 0;

	while (evbuffer_get_length(src) > 0) {
		size_t n = c->tls_retry ? c->tls_retry : evbuffer_get_length(src) < 16384 ? evbuffer_get_length(src) :
		           16384;
		int w;

		ERR_clear_error();
		w = SSL_write(c->tls, evbuffer_pullup(src, (ev_ssize_t)n), (int)n);
		if (w <= 0) {
			int e = SSL_get_error(c->tls, w);

			if (e != SSL_ERROR_WANT_WRITE && e != SSL_ERROR_WANT_READ)
				return -1;
			c->tls_retry = n;
			c->tls_wants_read = e == SSL_ERROR_WANT_READ;
			return sent;
		}
		c->tls_retry = 0;
		evbuffer_drain(src, (size_t)w);
		sent += w;
	}
	return sent;
}

/*
 * evhttp's bytes on their way to the socket.  evhttp takes an answer as
 * sent once the filter has passed it on, and may then shut the socket
 * down (Connection: close, errors): bytes still queued beneath would be
 * lost.  So they go to the kernel directly when nothing is queued, and
 * otherwise the last byte waits until everything before it is there.
 */
static enum bufferevent_filter_result on_output(struct evbuffer *src, struct evbuffer *dst,
                                                ev_ssize_t limit, enum bufferevent_flush_mode mode,
                                                void *arg)
{
	struct conn *c = arg;
	size_t n;

	(void)limit;
	(void)mode;
	if (!c->flushing) {
		/* Called from libevent's own write path, which holds no reference:
		 * were evhttp to finish (and free) the connection in here, libevent
		 * would re-arm a timer in freed memory.  So only in flush_output. */
		if (!c->flush_out) {
			c->flush_out = true;
			kick_later(c);
		}
		return BEV_NEED_MORE;
	}
	if (c->tls) {
		/* All of it goes through SSL_write here, once the records queued
		 * beneath are out: only then is it in the kernel. */
		if (evbuffer_get_length(dst) > 0)
			return BEV_NEED_MORE;           /* back here when dst has drained */
		if (tls_send_now(c, src) < 0) {
			evbuffer_drain(src, evbuffer_get_length(src));  /* the client is gone */
			return BEV_OK;
		}
		if (evbuffer_get_length(src) == 0)
			return BEV_OK;
		/* The retry waits for what the record layer asked for (a read
		 * only around a TLS 1.3 key update). */
		{
			struct event **ev = c->tls_wants_read ? &c->tls_readable : &c->writable;

			if (!*ev)
				*ev = event_new(c->px->base, c->fd, c->tls_wants_read ? EV_READ : EV_WRITE, on_writable, c);
			if (*ev)
				event_add(*ev, NULL);
		}
		return BEV_NEED_MORE;
	}
	if (evbuffer_get_length(dst) == 0 && evbuffer_get_length(src) > 0) {
		if (send_now(c->fd, src) < 0) {
			evbuffer_drain(src, evbuffer_get_length(src));  /* the client is gone */
			return BEV_OK;
		}
		if (evbuffer_get_length(src) == 0)
			return BEV_OK;
		if (evbuffer_get_length(src) == 1) {
			/* The socket is full: on_writable tries again. */
			if (!c->writable)
				c->writable = event_new(c->px->base, c->fd, EV_WRITE, on_writable, c);
			if (c->writable)
				event_add(c->writable, NULL);
			return BEV_NEED_MORE;
		}
	}
	if ((n = evbuffer_get_length(src)) <= 1)
		return BEV_NEED_MORE;                   /* back here when dst has drained */
	evbuffer_remove_buffer(src, dst, n - 1);
	return BEV_OK;
}

static void conn_free(void *arg)
{
	struct conn *c = arg;

	if (c->ex) {
		c->in = IN_CLOSING;
		c->cut = true;
		exchange_end(c->ex);
	}
	/* An answer cut off (its client stalled, or its application): the
	 * socket is reset, so the kernel does not go on feeding a client that
	 * cannot use the rest, holding its send queue for as long. */
	if (c->cut && c->fd >= 0)
		setsockopt(c->fd, SOL_SOCKET, SO_LINGER, &(struct linger){1, 0}, sizeof(struct linger));
	if (c->fd >= 0 && (size_t)c->fd < nby_fd) {
		struct conn *mine = c;  /* the slot may be another connection's by now */

		atomic_compare_exchange_strong(&by_fd[c->fd], &mine, NULL);
	}
	held_release(c);
	if (c->counted)
		clients_disconnect(&c->addr);
	accept_closed();
	evbuffer_remove_cb_entry(bufferevent_get_output(c->client), c->client_out_cb);
	event_free(c->kick);
	event_free(c->deadline);
	if (c->writable)
		event_free(c->writable);
	if (c->tls_readable)
		event_free(c->tls_readable);
	bufferevent_decref(c->client);
	free(c);
}


/* evhttp's hook for a new client connection: the filter goes between. */
static struct bufferevent *on_new_conn(struct event_base *base, void *arg)
{
	struct proxy *px = arg;
	struct conn *c = xcalloc(1, sizeof(*c));

	c->px = px;
	c->fd = -1;
	if ((c->tls = tls_accept_new(px->admin))) {
		c->client = bufferevent_openssl_socket_new(base, -1, c->tls, BUFFEREVENT_SSL_ACCEPTING,
		                                           BEV_OPT_CLOSE_ON_FREE);
		if (!c->client)
			SSL_free(c->tls);
		else            /* clients that close without close_notify are no error */
			bufferevent_openssl_set_allow_dirty_shutdown(c->client, 1);
	} else {
		c->client = bufferevent_socket_new(base, -1, BEV_OPT_CLOSE_ON_FREE);
	}
	c->kick = event_new(base, -1, 0, on_kick, c);
	c->deadline = evtimer_new(base, on_deadline, c);
	if (!c->client || !c->kick || !c->deadline)
		goto fail;
	/* Unread client bytes are bounded; the filter only takes what it can pass on. */
	bufferevent_setwatermark(c->client, EV_READ, 0, HIGH_WATER);
	bufferevent_set_max_single_read(c->client, LOW_WATER);
	bufferevent_set_max_single_write(c->client, LOW_WATER);
	c->filter = bufferevent_filter_new(c->client, on_input, on_output, BEV_OPT_CLOSE_ON_FREE, conn_free, c);
	if (!c->filter)
		goto fail;
	bufferevent_incref(c->client);  /* written to until conn_free, whatever evhttp does */
	c->client_out_cb = evbuffer_add_cb(bufferevent_get_output(c->client), on_client_out, c);
	evbuffer_add_cb(bufferevent_get_output(c->filter), on_filter_out, c);
	accept_opened(px);
	if (clients_limited() && !px->admin)
		kick_later(c);          /* once evhttp has given it the socket: the per-address cap */
	return c->filter;
fail:
	if (c->client)
		bufferevent_free(c->client);
	if (c->kick)
		event_free(c->kick);
	if (c->deadline)
		event_free(c->deadline);
	free(c);
	return NULL;
}

/* ---- the rest ------------------------------------------------------------ */

int proxy_idle_timeout(const struct config *cfg)
{
	return cfg->request_timeout + 1;
}

void proxy_replied(struct evhttp_request *ev)
{
	struct evhttp_connection *evcon = evhttp_request_get_connection(ev);
	struct bufferevent *bev = evcon ? evhttp_connection_get_bufferevent(evcon) : NULL;
	int fd = bev && by_fd ? bufferevent_getfd(bev) : -1;
	struct conn *c = fd >= 0 && (size_t)fd < nby_fd ?
	                 atomic_load_explicit(&by_fd[fd], memory_order_relaxed) : NULL;

	if (c && c->filter == bev && c->evhttp_pending > 0) {
		if (--c->evhttp_pending == 0)
			held_release(c);
		if (c->evhttp_pending == 0 || c->refusing)
			kick_later(c);
	}
}



int proxy_init(const struct config *cfg, struct error *err)
{
	/* Bodies are large and short-lived: with a fixed threshold they are
	 * mapped and unmapped, never left behind in the heap. */
	mallopt(M_MMAP_THRESHOLD, 256 << 10);
	nby_fd = accept_init(cfg);
	by_fd = xcalloc(nby_fd, sizeof(*by_fd));
	clients_init(cfg);
	if (upstream_init(cfg, err) == 0)
		return 0;
	proxy_fini();
	return -1;
}

void proxy_fini(void)
{
	clients_fini();
	upstream_fini();
	free((void *)by_fd);
	by_fd = NULL;
	nby_fd = 0;
}

struct proxy *proxy_new(struct event_base *base, struct evhttp *http, const struct config *cfg,
                        void (*idle)(void *), void *arg, bool admin)
{
	struct proxy *px = xcalloc(1, sizeof(*px));

	px->base = base;
	px->cfg = cfg;
	px->admin = admin;
	px->upstream = !admin && *cfg->upstream.url != '\0';
	accept_events(px);
	px->idle = xcalloc((size_t)cfg->upstream.max_idle + 1, sizeof(*px->idle));
	px->client_tv.tv_sec = cfg->request_timeout;
	px->upstream_tv.tv_sec = cfg->upstream.timeout_ms / 1000;
	px->upstream_tv.tv_usec = (cfg->upstream.timeout_ms % 1000) * 1000;
	px->evhttp_tv.tv_sec = proxy_idle_timeout(cfg);
	px->on_idle = idle;
	px->idle_arg = arg;
	evhttp_set_bevcb(http, on_new_conn, px);
	return px;
}

int proxy_active(const struct proxy *px)
{
	return px ? px->active : 0;
}

void proxy_free(struct proxy *px)
{
	if (!px)
		return;
	if (px->listener)
		proxy_listen(px, NULL);
	while (px->nidle > 0)
		bufferevent_free(px->idle[--px->nidle]);
	if (px->resume)
		event_free(px->resume);
	if (px->pause)
		event_free(px->pause);
	free(px->idle);
	free(px);
}

void proxy_stats(struct proxy_stats *st)
{
	struct clients_stats cs;

	clients_stats(&cs);
	*st = (struct proxy_stats){
		.requests = proxy_counts.requests, .bad_gateway = proxy_counts.bad_gateway, .timeouts = proxy_counts.timeouts,
		.bytes_up = proxy_counts.bytes_up, .bytes_down = proxy_counts.bytes_down, .spliced = proxy_counts.spliced, .opened = proxy_counts.opened,
		.reused = proxy_counts.reused, .connections = accept_connections(), .max_connections = accept_cap(),
		.held_bytes = guard_held_bytes(), .refused_heads = proxy_counts.refused_heads,
		.request_timeouts = proxy_counts.request_timeouts, .over_budget = proxy_counts.over_budget,
		.accept_pauses = proxy_counts.accept_pauses, .throttled = cs.throttled,
		.refused_connections = cs.refused_connections,
	};
}

void proxy_stats_json(struct buf *b)
{
	struct proxy_stats st;

	proxy_stats(&st);
	buf_printf(b, "{\"requests\":%llu,\"bad_gateway\":%llu,\"gateway_timeout\":%llu,"
	           "\"bytes_up\":%llu,\"bytes_down\":%llu,\"bytes_spliced\":%llu,\"connections_opened\":%llu,"
	           "\"connections_reused\":%llu}",
	           (unsigned long long)st.requests, (unsigned long long)st.bad_gateway,
	           (unsigned long long)st.timeouts, (unsigned long long)st.bytes_up,
	           (unsigned long long)st.bytes_down, (unsigned long long)st.spliced, (unsigned long long)st.opened,
	           (unsigned long long)st.reused);
}

void proxy_guard_json(struct buf *b)
{
	struct proxy_stats st;

	proxy_stats(&st);
	buf_printf(b, "{\"connections\":%lld,\"max_connections\":%lld,\"held_body_bytes\":%lld,"
	           "\"refused_heads\":%llu,\"request_timeouts\":%llu,\"over_budget\":%llu,"
	           "\"accept_pauses\":%llu,\"throttled\":%llu,\"refused_connections\":%llu}",
	           (long long)st.connections, (long long)st.max_connections, (long long)st.held_bytes,
	           (unsigned long long)st.refused_heads, (unsigned long long)st.request_timeouts,
	           (unsigned long long)st.over_budget, (unsigned long long)st.accept_pauses,
	           (unsigned long long)st.throttled, (unsigned long long)st.refused_connections);
}

/* Configuration ------------------------------------------------------ */


static const struct config_key keys[] = {
	{"limits", "max_body_bytes", CFG_INT, CFG_FIELD(max_body_bytes), 1024, 1L << 30, "1048576", NULL, NULL,
	 "the largest request body accepted; 413 past it"},
	{"limits", "max_header_bytes", CFG_INT, CFG_FIELD(max_header_bytes), 1024, 1L << 20, "16384", NULL, NULL,
	 "the largest request head accepted; 431 past it"},
	{"limits", "request_timeout", CFG_INT, CFG_FIELD(request_timeout), 1, 3600, "30", NULL, NULL,
	 "seconds for a whole request, first byte to last, and for an idle connection"},
	{"limits", "header_timeout", CFG_INT, CFG_FIELD(header_timeout), 0, 3600, NULL, NULL, NULL,
	 "seconds for a request's head; 0 means request_timeout"},
	{"limits", "max_connections", CFG_INT, CFG_FIELD(max_connections), 0, 1 << 20, NULL, NULL, NULL,
	 "open client connections at most; 0 means what the file limit allows"},
	{"limits", "max_connections_per_address", CFG_INT, CFG_FIELD(max_connections_per_address), 0, 1 << 20, NULL,
	 NULL, NULL,
	 "open connections from one client address at most; 0 means no cap"},
	{"limits", "rate_per_address", CFG_INT, CFG_FIELD(rate_per_address), 0, 1000000, NULL, NULL, NULL,
	 "requests a second from one address (429 past it); 0 means no limit"},
	{"limits", "burst", CFG_INT, CFG_FIELD(burst), 0, 10000000, NULL, NULL, NULL,
	 "requests above the rate one address may make at once; 0 means the rate"},
	{"limits", "max_buffered_bytes", CFG_INT, CFG_FIELD(max_buffered_bytes), 1 << 20, 1L << 40, "67108864", NULL,
	 NULL,
	 "body bytes all connections may hold in memory together"},
};

const struct config_module proxy_config = {"proxy", keys, ARRAY_LEN(keys), NULL};
