/*
 * server.c — listeners, event loops, store workers, graceful shutdown.
 *
 * A request is read and answered by request.c and served by the engine
 * (engine.c: the router's decision, then the store inline or on a worker
 * and back through the loop's mailbox); here are the loops it runs on.
 * One libevent loop per core.  Each loop owns a listening socket bound to
 * the shared address with SO_REUSEPORT (the kernel spreads connections
 * across loops), an evhttp server, and its own legacy-store connection, so
 * nothing on the request path takes a lock shared between loops.  SQLite
 * calls run inline: they are local and answer in microseconds.
 *
 * SIGTERM/SIGINT: every loop stops accepting, finishes what it is serving,
 * and exits; idle keep-alive connections are closed.  admin.listen is
 * served by the first loop with an evhttp of its own.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <stddef.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <event2/thread.h>

#include "accept.h"
#include "admin.h"
#include "control.h"
#include "control_store.h"
#include "engine.h"
#include "health.h"
#include "journal.h"
#include "metrics.h"
#include "middleware.h"
#include "proxy.h"
#include "request.h"
#include "server.h"
#include "shadow.h"
#include "store.h"
#include "tls.h"

struct loop {
	pthread_t thread;
	struct event_base *base;
	struct evhttp *http;
	struct evhttp_bound_socket *sock;
	struct event *stop_ev;
	struct lanes lanes;         /* the stores' ways, the engine's (cfg, store, workers, mailbox) */
	struct event *drain_ev;
	struct proxy *proxy;        /* the connection filter, and passthrough */
	struct evhttp *admin_http;  /* admin.listen's server (the first loop's) */
	struct proxy *admin_proxy;  /* … and its connection filter */
	struct evhttp_bound_socket *admin_sock;
	const struct config *cfg;
	const char *listen_host;
	int fd;
	bool draining;
};

/* A draining loop exits once no request is out on a store worker or
 * passing through to the application; requests already being read get a
 * moment to complete. */
static void maybe_exit(struct loop *loop)
{
	struct timeval grace = {0, 200000};

	if (loop->draining && loop->lanes.inflight == 0 && proxy_active(loop->proxy) == 0)
		event_base_loopexit(loop->base, &grace);
}

static void on_proxy_idle(void *arg)
{
	maybe_exit(arg);
}

/* admin.listen: the admin API, /metrics, the probes and the dashboard. */
static void on_admin_request(struct evhttp_request *ev, void *arg)
{
	struct loop *loop = arg;
	struct request *req = request_new(ev, loop->cfg, &loop->lanes, loop->listen_host);

	if (request_run_pipeline(req))
		admin_handle(req);
	engine_finish(req);
}

static void on_request(struct evhttp_request *ev, void *arg)
{
	struct loop *loop = arg;

	engine_serve(request_new(ev, loop->cfg, &loop->lanes, loop->listen_host), &loop->lanes);
}

static void on_lane_settled(void *arg)
{
	maybe_exit(arg);
}

static void on_stop(evutil_socket_t fd, short what, void *arg)
{
	struct loop *loop = arg;
	struct timeval cap = {loop->cfg->drain_seconds, 0};

	(void)fd;
	(void)what;
	if (loop->sock) {
		proxy_listen(loop->proxy, NULL);
		evhttp_del_accept_socket(loop->http, loop->sock);
		loop->sock = NULL;
	}
	if (loop->admin_sock) {
		evhttp_del_accept_socket(loop->admin_http, loop->admin_sock);
		loop->admin_sock = NULL;
	}
	loop->draining = true;
	maybe_exit(loop);
	/* Wait for the store workers and the application, but not for ever. */
	if (loop->lanes.inflight || proxy_active(loop->proxy))
		event_add(loop->drain_ev, &cap);
}

static void on_drain_timeout(evutil_socket_t fd, short what, void *arg)
{
	struct loop *loop = arg;

	(void)fd;
	(void)what;
	fprintf(stderr, "cutover: %d requests still with the store and %d with the application after "
	        "%d s; closing\n", loop->lanes.inflight, proxy_active(loop->proxy), loop->cfg->drain_seconds);
	event_base_loopexit(loop->base, NULL);
}

static void *loop_main(void *arg)
{
	struct loop *loop = arg;

	request_loop_start(loop->base);
	event_base_dispatch(loop->base);
	request_loop_end();
	return NULL;
}

/* The store workers (pool, engine) are given it when they start. */
static int loop_init(struct loop *loop, const struct config *cfg, int fd, const char *listen_host,
                     bool on_workers)
{
	struct store_error err;

	loop->cfg = loop->lanes.cfg = cfg;
	loop->lanes.settled = on_lane_settled;
	loop->lanes.arg = loop;
	loop->fd = fd;
	loop->listen_host = listen_host;
	loop->base = event_base_new();
	if (loop->base && event_base_priority_init(loop->base, LOOP_PRIORITIES) < 0)
		return -1;
	loop->http = loop->base ? evhttp_new(loop->base) : NULL;
	if (!loop->http)
		return -1;
	loop->lanes.mailbox = mailbox_new(loop->base);
	loop->drain_ev = evtimer_new(loop->base, on_drain_timeout, loop);
	if (!loop->lanes.mailbox || !loop->drain_ev)
		return -1;
	if (!on_workers) {
		loop->lanes.store = store_open(cfg->database_url, cfg, &err);
		if (!loop->lanes.store) {
			fprintf(stderr, "cutover: store: %s\n", err.msg);
			return -1;
		}
	}
	evhttp_set_allowed_methods(loop->http, EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_HEAD |
	                           EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE | EVHTTP_REQ_OPTIONS |
	                           EVHTTP_REQ_PATCH);
	/* Bodies up to twice the limit are read and answered with a JSON 413 by
	 * the limits step; larger ones are refused by libevent unread. */
	evhttp_set_max_body_size(loop->http, (ev_ssize_t)cfg->max_body_bytes * 2);
	evhttp_set_max_headers_size(loop->http, (ev_ssize_t)cfg->max_header_bytes);
	evhttp_set_timeout(loop->http, proxy_idle_timeout(cfg));
	evhttp_set_gencb(loop->http, on_request, loop);
	loop->proxy = proxy_new(loop->base, loop->http, cfg, on_proxy_idle, loop, false);
	loop->sock = evhttp_accept_socket_with_handle(loop->http, fd);
	proxy_listen(loop->proxy, loop->sock);
	loop->stop_ev = event_new(loop->base, -1, 0, on_stop, loop);
	return loop->sock && loop->stop_ev ? 0 : -1;
}

/* admin.listen, served by the first loop with an evhttp of its own. */
static int admin_listen(struct loop *loop, const struct config *cfg)
{
	char host[256];
	int port, fd;

	split_address(cfg->admin.listen, host, sizeof(host), &port);
	if ((fd = listen_socket(host, &port, true, false)) == -1)
		return -1;
	if (!(loop->admin_http = evhttp_new(loop->base))) {
		close(fd);
		return -1;
	}
	evhttp_set_allowed_methods(loop->admin_http, EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_HEAD |
	                           EVHTTP_REQ_PUT | EVHTTP_REQ_PATCH | EVHTTP_REQ_OPTIONS);
	evhttp_set_max_body_size(loop->admin_http, ADMIN_MAX_BODY);
	evhttp_set_max_headers_size(loop->admin_http, (ev_ssize_t)cfg->max_header_bytes);
	evhttp_set_timeout(loop->admin_http, proxy_idle_timeout(cfg));
	evhttp_set_gencb(loop->admin_http, on_admin_request, loop);
	/* Its connections run through the filter too: heads checked, time
	 * limits, TLS (with client certificates when asked). */
	loop->admin_proxy = proxy_new(loop->base, loop->admin_http, cfg, on_proxy_idle, loop, true);
	if (!(loop->admin_sock = evhttp_accept_socket_with_handle(loop->admin_http, fd))) {
		close(fd);
		return -1;
	}
	fprintf(stderr, "cutover: admin API, metrics, probes and dashboard on %s://%s:%d%s%s\n",
	        tls_on() ? "https" : "http", host, port, cfg->admin.prefix,
	        *cfg->tls.admin_client_ca ? " (client certificates required)" : "");
	return 0;
}

static void loop_free(struct loop *loop)
{
	loop->draining = false;         /* exchanges cut below do not ask to exit again */
	if (loop->admin_http)
		evhttp_free(loop->admin_http);
	loop->admin_http = NULL;
	if (loop->http)
		evhttp_free(loop->http);    /* closes the listener and connections */
	else if (loop->fd != -1)
		close(loop->fd);
	/* Connections finish closing (passthrough ones let go of the upstream). */
	if (loop->base)
		event_base_loop(loop->base, EVLOOP_NONBLOCK);
	proxy_free(loop->proxy);
	proxy_free(loop->admin_proxy);
	loop->proxy = loop->admin_proxy = NULL;
	if (loop->stop_ev)
		event_free(loop->stop_ev);
	if (loop->drain_ev)
		event_free(loop->drain_ev);
	mailbox_free(loop->lanes.mailbox);
	loop->drain_ev = NULL;
	loop->lanes.mailbox = NULL;
	if (loop->base)
		event_base_free(loop->base);
	store_close(loop->lanes.store);
	loop->http = NULL;
	loop->stop_ev = NULL;
	loop->base = NULL;
	loop->lanes.store = NULL;
}

/* SIGHUP: read the file again; its modes and samples apply as flips (the
 * file wins over earlier runtime flips).  Connections stay; other changes
 * (listen address, stores, resources, limits) need a restart. */
static void reload(const struct config *cfg)
{
	struct config_problems pr = {0};
	struct config *fresh = config_load(cfg->path, &pr);
	struct error err;
	size_t i, k;

	if (!fresh) {
		fprintf(stderr, "%scutover: reload of %s refused (%d problems); still running the old one\n",
		        buf_cstr(&pr.text), cfg->path, pr.count);
		config_problems_free(&pr);
		return;
	}
	/* A flip the readiness gate refuses is not made; the admin API can force it. */
	if (control_gate(NULL, fresh->mode_id, &err) < 0)
		fprintf(stderr, "cutover: reload: the global mode stays %s: %s\n", mode_name(control_mode(NULL)),
		        err.msg);
	else if (control_set(NULL, fresh->mode_id, -1, &err) >= 0)
		control_persist(NULL);
	for (i = 0; i < cfg->nresources; i++) {
		for (k = 0; k < fresh->nresources; k++) {
			const struct resource *n = fresh->resources[k];

			if (strcmp(n->name, cfg->resources[i]->name) != 0)
				continue;
			if (control_gate(cfg->resources[i], n->mode, &err) < 0 ||
			    control_set(cfg->resources[i], n->mode, n->sample, &err) < 0)
				fprintf(stderr, "cutover: reload: %s: %s\n", n->name, err.msg);
			else
				control_persist(cfg->resources[i]);
		}
	}
	fprintf(stderr, "cutover: reloaded %s: modes and samples applied (mode %s); other changes take "
	        "effect at the next start\n", cfg->path, mode_name(fresh->mode_id));
	config_free(fresh);
}

/* Can url's store answer at all?  A legacy store that cannot answer stops
 * the start (nothing could be served); MongoDB only warns (routes in legacy
 * mode need it not, and the journal keeps what it misses). */
static int store_reachable(const struct config *cfg, const char *url, const char *role, bool needed)
{
	struct store_error err = {0};
	struct store *s;
	int rc = 0;

	if (cfg->nresources == 0)
		return 0;
	if ((s = store_open(url, cfg, &err)))
		store_answers(s, cfg, &err);
	if (!s || (err.code && err.code != STORE_NOT_FOUND)) {
		bool answers = s && err.code != STORE_UNAVAILABLE && err.code != STORE_TIMEOUT;

		fprintf(stderr, "cutover: %s: %s\n", role, err.msg);
		if (!answers && needed) {
			fprintf(stderr, "cutover: the legacy store does not answer; not starting (start it, or fix "
			        "DATABASE_URL)\n");
			rc = -1;
		} else if (!answers) {
			fprintf(stderr, "cutover: MongoDB does not answer; starting anyway: routes in legacy mode are "
			        "served, writes to copy wait in the journal, and modes that read MongoDB answer 503 "
			        "until it is back\n");
		}
	}
	store_close(s);
	return rc;
}

/* The control state's work, the stores' health checks and the automatic
 * fallback they feed; when to come back, in ms (-1: when woken). */
static int background_work(void)
{
	int a = control_tick(), b = health_tick();

	control_fallback(health_store_up(WS_MONGO) == 0 ? "the MongoDB server does not answer the health checks"
	                                                : NULL);

	return a < 0 ? b : b < 0 ? a : a < b ? a : b;
}

/* The thread that started the loops watches the process: signals
 * (SIGTERM/SIGINT stop, SIGHUP reloads) and the control state's background
 * work, which may block on the control store, so never on a loop.
 * Returns the signal that stopped it. */
static int watch(const struct config *cfg, const sigset_t *signals)
{
	int sfd = signalfd(-1, signals, SFD_CLOEXEC), wait_ms = background_work();
	struct pollfd pf[2] = {{.fd = sfd, .events = POLLIN}, {.fd = control_wake_fd(), .events = POLLIN}};
	struct signalfd_siginfo si;

	if (sfd == -1) {
		fprintf(stderr, "cutover: cannot watch signals: %s\n", strerror(errno));
		return SIGTERM;
	}
	for (;;) {
		if (poll(pf, 2, wait_ms) > 0 && (pf[0].revents & POLLIN) &&
		    read(sfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
			if (si.ssi_signo != SIGHUP)
				break;
			reload(cfg);
			auth_reload_keys(cfg);
			tls_reload(cfg);
		}
		wait_ms = background_work();
	}
	close(sfd);
	return (int)si.ssi_signo;
}

/* The store workers' URLs: [WS_…] each store with the time limit of a
 * request's calls, [QUICK(WS_…)] with secondary work's.  worker_urls(NULL)
 * frees them (after the workers stopped). */
static char *const *worker_urls(const struct config *cfg, bool both)
{
	static char *urls[POOL_SLOTS];
	int i;

	for (i = 0; i < POOL_SLOTS; i++) {
		free(urls[i]);
		urls[i] = NULL;
	}
	if (!cfg)
		return urls;
	urls[WS_LEGACY] = store_timed_url(cfg->database_url, cfg->store_timeout_ms, true);
	if (both) {
		urls[WS_MONGO] = store_timed_url(cfg->mongodb_uri, cfg->store_timeout_ms, true);
		urls[QUICK(WS_LEGACY)] = shadow_url(cfg->database_url, cfg->shadow.timeout_ms);
		urls[QUICK(WS_MONGO)] = shadow_url(cfg->mongodb_uri, cfg->shadow.timeout_ms);
	}
	return urls;
}

/* The start of a run -------------------------------------------------- */

/* What a run holds, built up by the stages below. */
struct run {
	const struct config *cfg;
	bool both;                  /* MongoDB configured: any route may be flipped to need it */
	const struct store_ops *ops;
	char *const *urls;          /* the store workers' (worker_urls) */
	struct pool *pool;          /* the legacy store's workers, when it blocks */
	struct pool *engine;        /* both stores' workers, for the modes that need MongoDB */
	struct loop *loops;
	int nloops, started;
};

static char listen_host[300];

static int stores_start(struct run *r)
{
	const struct config *cfg = r->cfg;
	struct store_error err;

	if (!(r->ops = store_ops_as(cfg->database_url, true, &err)) ||
	    (r->both && !store_ops_as(cfg->mongodb_uri, false, &err))) {
		fprintf(stderr, "cutover: %s: %s\n", r->both ? "stores" : "legacy store", err.msg);
		return -1;
	}
	if (store_reachable(cfg, cfg->database_url, "legacy store", true) < 0 ||
	    (r->both && store_reachable(cfg, cfg->mongodb_uri, "mongodb", false) < 0))
		return -1;
	r->urls = worker_urls(cfg, r->both);
	return 0;
}

static void stores_stop(struct run *r)
{
	(void)r;
	worker_urls(NULL, false);
}

static int metrics_start(struct run *r)
{
	if (metrics_init(r->cfg) == 0)
		return 0;
	fprintf(stderr, "cutover: cannot start the metrics: %s\n", strerror(errno));
	return -1;
}

static void metrics_stop(struct run *r)
{
	(void)r;
	metrics_fini();
}

static int tls_start(struct run *r)
{
	struct error err;

	if (tls_init(r->cfg, &err) == 0)
		return 0;
	fprintf(stderr, "cutover: %s\n", err.msg);
	return -1;
}

static void tls_stop(struct run *r)
{
	(void)r;
	tls_fini();
}

static int pipeline_start(struct run *r)
{
	return request_pipeline_init(r->cfg);
}

static void pipeline_stop(struct run *r)
{
	(void)r;
	request_pipeline_fini();
}

static int proxy_start(struct run *r)
{
	struct error err;

	if (proxy_init(r->cfg, &err) == 0)
		return 0;
	fprintf(stderr, "cutover: %s\n", err.msg);
	return -1;
}

static void proxy_stop(struct run *r)
{
	(void)r;
	proxy_fini();
}

/* Stores that may block are called from workers, never from a loop. */
static bool legacy_on_workers(const struct run *r)
{
	return r->cfg->store_threads > 0 || r->ops->blocking;
}

static void loops_stop(struct run *r)
{
	int i;

	for (i = 0; i < r->nloops; i++)
		loop_free(&r->loops[i]);
	free(r->loops);
	r->loops = NULL;
}

/* The listeners, one per loop (bound, not yet served), and admin.listen's. */
static int loops_start(struct run *r)
{
	const struct config *cfg = r->cfg;
	char host[256];
	int port, i;

	split_address(cfg->listen, host, sizeof(host), &port);
	r->loops = xcalloc((size_t)r->nloops, sizeof(*r->loops));
	for (i = 0; i < r->nloops; i++)
		r->loops[i].fd = -1;
	for (i = 0; i < r->nloops; i++) {
		int fd = listen_socket(host, &port, i == 0, cfg->listen_shared);

		if (fd == -1)
			break;
		if (i == 0)
			snprintf(listen_host, sizeof(listen_host), "%s:%d", host, port);
		if (loop_init(&r->loops[i], cfg, fd, listen_host, legacy_on_workers(r)) < 0) {
			if (!r->loops[i].sock)
				fprintf(stderr, "cutover: cannot start event loop %d\n", i);
			break;
		}
	}
	if (i == r->nloops && (!*cfg->admin.listen || admin_listen(&r->loops[0], cfg) == 0))
		return 0;
	loops_stop(r);
	return -1;
}

static int control_start(struct run *r)
{
	if (control_init(r->cfg) == 0)
		return 0;
	fprintf(stderr, "cutover: cannot start the control state: %s\n", strerror(errno));
	control_fini();
	return -1;
}

static void control_stop(struct run *r)
{
	(void)r;
	control_fini();
}

static int health_on(struct run *r)
{
	health_start(r->cfg);
	return 0;
}

static void health_off(struct run *r)
{
	(void)r;
	health_stop();
}

static int control_store_on(struct run *r)
{
	return control_store_start(r->cfg);
}

static void control_store_off(struct run *r)
{
	(void)r;
	control_store_stop();
}

static int journal_start(struct run *r)
{
	struct error err;

	if (journal_open(r->cfg->journal, &err) == 0)
		return 0;
	fprintf(stderr, "cutover: %s\n", err.msg);
	journal_close();
	return -1;
}

static void journal_stop(struct run *r)
{
	(void)r;
	journal_close();
}

/* The answers the workers handed back, delivered and their requests freed. */
static void deliver(struct run *r)
{
	int i;

	for (i = 0; i < r->nloops; i++)
		if (r->loops[i].lanes.mailbox)
			mailbox_deliver(r->loops[i].lanes.mailbox);
}

static int shadow_on(struct run *r)
{
	control_on_flip_wait(shadow_kick);
	if (shadow_start(r->cfg) == 0)
		return 0;
	fprintf(stderr, "cutover: cannot start the shadow workers\n");
	return -1;
}

/* … and the shadow reads' (their timers go before the control state). */
static void shadow_off(struct run *r)
{
	shadow_stop();
	deliver(r);
}

static int pools_start(struct run *r)
{
	const struct config *cfg = r->cfg;
	const char *legacy_urls[POOL_SLOTS] = {r->urls[WS_LEGACY], NULL, NULL, NULL};
	int n = cfg->store_threads > 0 ? cfg->store_threads : 8, i;

	if ((legacy_on_workers(r) &&
	     !(r->pool = pool_start("legacy", n, (size_t)cfg->store_queue, legacy_urls, cfg, 0, NULL))) ||
	    (r->both && !(r->engine = pool_start("engine", n, (size_t)cfg->store_queue,
	                                         (const char *const *)r->urls, cfg, 0, control_engaged)))) {
		fprintf(stderr, "cutover: cannot start store workers\n");
		pool_stop(r->pool);
		r->pool = NULL;
		return -1;
	}
	for (i = 0; i < r->nloops; i++) {
		r->loops[i].lanes.pool = r->pool;
		r->loops[i].lanes.engine = r->engine;
	}
	return 0;
}

/* Workers finish what they hold; the answers are handed over and the
 * requests freed before the servers close their connections. */
static void pools_stop(struct run *r)
{
	pool_stop(r->pool);
	pool_stop(r->engine);
	r->pool = r->engine = NULL;
	deliver(r);
}

static void threads_stop(struct run *r)
{
	int i;

	for (i = 0; i < r->started; i++)
		event_active(r->loops[i].stop_ev, EV_READ, 0);
	for (i = 0; i < r->started; i++)
		pthread_join(r->loops[i].thread, NULL);
	r->started = 0;
}

static int threads_start(struct run *r)
{
	int e = 0;

	while (r->started < r->nloops &&
	       (e = pthread_create(&r->loops[r->started].thread, NULL, loop_main, &r->loops[r->started])) == 0)
		r->started++;
	if (r->started == r->nloops)
		return 0;
	/* pthread_create says why in its return, not in errno. */
	fprintf(stderr, "cutover: cannot start event loop %d: %s\n", r->started, strerror(e));
	threads_stop(r);
	return -1;
}

/* The run's parts, started in this order and stopped in the reverse one,
 * at shutdown or from the one whose start failed (which undid its own). */
static const struct stage {
	const char *name;
	bool mongo;                 /* only with MongoDB configured */
	int (*start)(struct run *r);
	void (*stop)(struct run *r);
} stages[] = {
	{"stores", false, stores_start, stores_stop},
	{"metrics", false, metrics_start, metrics_stop},
	{"tls", false, tls_start, tls_stop},
	{"pipeline", false, pipeline_start, pipeline_stop},
	{"proxy", false, proxy_start, proxy_stop},
	{"listeners", false, loops_start, loops_stop},
	{"control", false, control_start, control_stop},
	{"health", false, health_on, health_off},
	{"control store", true, control_store_on, control_store_off},
	{"journal", true, journal_start, journal_stop},
	{"shadow", true, shadow_on, shadow_off},
	{"store workers", false, pools_start, pools_stop},
	{"loops", false, threads_start, threads_stop},
};

static void stop_from(struct run *r, size_t n)
{
	while (n-- > 0)
		if (!stages[n].mongo || r->both)
			stages[n].stop(r);
}

int server_run(const struct config *cfg)
{
	struct run r = {.cfg = cfg, .both = *cfg->mongodb_uri != '\0', .nloops = cfg->threads};
	sigset_t signals, old;
	size_t n;

	if (r.nloops <= 0)
		r.nloops = (int)sysconf(_SC_NPROCESSORS_ONLN);
	if (r.nloops <= 0)
		r.nloops = 1;
	evthread_use_pthreads();
	signal(SIGPIPE, SIG_IGN);
	/* Signals are read by watch(); no thread takes them (every thread
	 * started from here on inherits the mask). */
	sigemptyset(&signals);
	sigaddset(&signals, SIGTERM);
	sigaddset(&signals, SIGINT);
	sigaddset(&signals, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &signals, &old);
	engine_start();
	for (n = 0; n < ARRAY_LEN(stages); n++) {
		if ((stages[n].mongo && !r.both) || stages[n].start(&r) == 0)
			continue;
		stop_from(&r, n);
		pthread_sigmask(SIG_SETMASK, &old, NULL);
		return -1;
	}
	fprintf(stderr, "cutover %s: listening on %s://%s (%d loops, mode %s, legacy store %s %s%s)\n",
	        CUTOVER_VERSION, tls_on() ? "https" : "http", listen_host, r.nloops, mode_name(cfg->mode_id),
	        r.ops->name, r.pool ? "on store workers" : "inline",
	        r.both ? ", mongodb on store workers while a mode needs it" : "");
	fprintf(stderr, "cutover: signal %d, draining\n", watch(cfg, &signals));
	stop_from(&r, n);
	/* Signals stay blocked: another SIGTERM while draining, or now, must
	 * not kill a process that is exiting cleanly. */
	fprintf(stderr, "cutover: stopped\n");
	return 0;
}

/* Configuration ------------------------------------------------------ */

/* Why addr is not a host:port listen_socket() can bind, or NULL.  The host
 * is empty (every interface), an IPv4 or IPv6 address ([::1] or ::1) or a
 * DNS name; port 0 asks for any free one, as the tests do. */
static const char *address_problem(const char *addr)
{
	const char *colon = strrchr(addr, ':'), *p;
	unsigned char ip[sizeof(struct in6_addr)];
	char host[256], *end;
	size_t n;
	long port;

	if (!colon)
		return "must be host:port";
	errno = 0;
	port = strtol(colon + 1, &end, 10);
	if (colon[1] < '0' || colon[1] > '9' || *end || errno || port > 65535)
		return "needs a port from 1 to 65535 (0: any free one)";
	if ((n = (size_t)(colon - addr)) >= sizeof(host))
		return "has a host longer than 255 bytes";
	memcpy(host, addr, n);
	host[n] = '\0';
	if (n >= 2 && host[0] == '[' && host[n - 1] == ']') {
		host[n - 1] = '\0';
		return inet_pton(AF_INET6, host + 1, ip) == 1 ? NULL : "has no IPv6 address between its brackets";
	}
	if (strchr(host, ':'))
		return inet_pton(AF_INET6, host, ip) == 1 ? NULL : "has a host that is no IPv6 address";
	if (n && host[strspn(host, "0123456789.")] == '\0')
		return inet_pton(AF_INET, host, ip) == 1 ? NULL : "has a host that is no IPv4 address";
	for (p = host; *p; p++)
		if (!isalnum((unsigned char)*p) && *p != '-' && *p != '.')
			return "has a host that is no address or DNS name (letters, digits, - and .)";
	return NULL;
}

/* A store URL its role does not take: refused with what server_run() says
 * of it (store_ops_as, which lists the forms the role accepts). */
static void check_store_url(struct config_loader *l, const char *key, const char *url)
{
	struct store_error serr;

	if (!store_ops_as(url, strcmp(key, "database_url") == 0, &serr))
		config_key_problem(l, NULL, key, "\"%s\": %s", key, serr.msg);
}

/* What serve binds and opens, checked as serve reads it (check and serve
 * both load the configuration through here). */
static void check_server(struct config_loader *l)
{
	const struct config *cfg = config_of(l);
	const char *why;

	if (cfg->database_url && *cfg->database_url)
		check_store_url(l, "database_url", cfg->database_url);
	if (*cfg->mongodb_uri)
		check_store_url(l, "mongodb_uri", cfg->mongodb_uri);
	if ((why = address_problem(cfg->listen)))
		config_key_problem(l, NULL, "listen", "listen address %s %s", config_quote(l, cfg->listen), why);
	/* Without a colon admin.c's check says so already. */
	if (strchr(cfg->admin.listen, ':') && (why = address_problem(cfg->admin.listen)))
		config_key_problem(l, "admin", "listen", "admin.listen %s %s", config_quote(l, cfg->admin.listen),
		                   why);
}

static const struct config_key keys[] = {
	{NULL, "listen", CFG_STRING, CFG_FIELD(listen), 0, 0, "127.0.0.1:8080", "CUTOVER_LISTEN", NULL,
	 "host:port to serve on"},
	{NULL, "listen_shared", CFG_BOOL, CFG_FIELD(listen_shared), 0, 0, NULL, NULL, NULL,
	 "share the port with other processes (SO_REUSEPORT), for a restart without a gap"},
	{NULL, "threads", CFG_INT, CFG_FIELD(threads), 0, 256, NULL, NULL, NULL,
	 "event loops; 0 means one per core"},
	{NULL, "store_threads", CFG_INT, CFG_FIELD(store_threads), 0, 256, NULL, NULL, NULL,
	 "store workers; 0 means inline for SQLite, 8 for PostgreSQL and MongoDB"},
	{NULL, "store_queue", CFG_INT, CFG_FIELD(store_queue), 1, 1 << 20, "1024", NULL, NULL,
	 "requests that may wait for a store worker; 503 beyond it"},
	{NULL, "store_timeout_ms", CFG_INT, CFG_FIELD(store_timeout_ms), 100, 600000, "10000", NULL, NULL,
	 "the longest a request waits for its store; 503 past it"},
	{NULL, "drain_seconds", CFG_INT, CFG_FIELD(drain_seconds), 0, 3600, "10", NULL, NULL,
	 "on SIGTERM, how long requests under way may take to finish"},
};

const struct config_module server_config = {"server", keys, ARRAY_LEN(keys), check_server};
