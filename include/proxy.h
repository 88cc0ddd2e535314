/*
 * proxy.h — passthrough to the application (SPEC §10).
 *
 * Requests for paths no resource owns, and for routes in passthrough
 * mode, are streamed to the configured upstream and its answers streamed
 * back, without buffering either body whole.
 */
#ifndef CUTOVER_PROXY_H
#define CUTOVER_PROXY_H

#include "config.h"
#include "util.h"

struct event_base;
struct evhttp;
struct evhttp_request;
struct proxy;

/* Once at start-up: resolves the upstream.  0 when none is configured. */
int proxy_init(const struct config *cfg, struct error *err);
void proxy_fini(void);

/* Per event loop: takes over the connections of http.  NULL without an
 * upstream.  idle(arg) runs whenever the last exchange in flight ends. */
struct proxy *proxy_new(struct event_base *base, struct evhttp *http, const struct config *cfg,
                        void (*idle)(void *), void *arg);
/* Exchanges with the application in flight on this loop (0 for NULL). */
int proxy_active(const struct proxy *px);
/* After evhttp_free: closes the idle upstream connections. */
void proxy_free(struct proxy *px);

/* evhttp is about to answer ev: a passthrough request pipelined behind it may go. */
void proxy_replied(struct evhttp_request *ev);

/* {"requests":…,"bad_gateway":…,…} */
void proxy_stats_json(struct buf *b);

#endif
