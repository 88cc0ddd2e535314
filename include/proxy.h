/*
 * proxy.h — the client connection filter, and passthrough to the
 * application (design.md §10).
 *
 * Every client connection runs through it: heads that are not HTTP/1.1 to
 * the letter are refused, every request has request_timeout from its first
 * byte to its last, bodies held for the gateway's routes are capped in
 * total, and accepting pauses at the connection cap or when descriptors run
 * out.  With an upstream, requests for paths no resource owns, and for
 * routes in passthrough mode, are streamed to it and its answers streamed
 * back, without buffering either body whole.
 */
#ifndef CUTOVER_PROXY_H
#define CUTOVER_PROXY_H

#include "config.h"
#include "util.h"

struct event_base;
struct evhttp;
struct evhttp_request;
struct evhttp_bound_socket;
struct proxy;

/* The largest body the admin listener reads. */
#define ADMIN_MAX_BODY (64 * 1024)

/* Once at start-up: descriptors, and the upstream resolved when there is one. */
int proxy_init(const struct config *cfg, struct error *err);
void proxy_fini(void);

/* Per event loop: takes over the connections of http.  idle(arg) runs
 * whenever the last exchange in flight ends.  admin: http is the admin
 * listener's (nothing passes through, its own TLS context, no per-address
 * limits: a flood on the API does not lock its operators out). */
struct proxy *proxy_new(struct event_base *base, struct evhttp *http, const struct config *cfg,
                        void (*idle)(void *), void *arg, bool admin);
/* The loop's listening socket, whose accepting the filter pauses; NULL
 * before the socket is closed. */
void proxy_listen(struct proxy *px, struct evhttp_bound_socket *sock);
/* evhttp's idle timeout: past request_timeout, so that a request that
 * began in time is answered 408 by the filter rather than cut silently. */
int proxy_idle_timeout(const struct config *cfg);
/* Exchanges with the application in flight on this loop (0 for NULL). */
int proxy_active(const struct proxy *px);
/* After evhttp_free: closes the idle upstream connections. */
void proxy_free(struct proxy *px);

/* evhttp is about to answer ev: a passthrough request pipelined behind it may go. */
void proxy_replied(struct evhttp_request *ev);

/* {"requests":…,"bad_gateway":…,…} */
void proxy_stats_json(struct buf *b);
struct proxy_stats {
	uint64_t requests, bad_gateway, timeouts, bytes_up, bytes_down, opened, reused;   /* passthrough */
	uint64_t spliced;               /* … of bytes_down, those moved kernel to kernel */
	int64_t connections, max_connections, held_bytes;               /* client connections, bodies held */
	uint64_t refused_heads, request_timeouts, over_budget, accept_pauses;
	uint64_t throttled, refused_connections;    /* the per-address limits (429, connections shut) */
};
void proxy_stats(struct proxy_stats *st);
/* {"connections":…,"max_connections":…,"held_body_bytes":…,"refused_heads":…,…,"throttled":…} */
void proxy_guard_json(struct buf *b);

#endif
