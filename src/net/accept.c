/*
 * accept.c — listening and accepting client connections (see accept.h and
 * proxy_conn.h): the loops' listening sockets, the cap on open
 * connections, the file descriptors it leaves room for, and pausing every
 * loop's listener while the cap is reached or descriptors run out.
 */
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/http.h>
#include <event2/listener.h>

#include "accept.h"
#include "proxy.h"

#include "proxy_conn.h"

/* Open client connections, shared by the loops (touched once per connection). */
static _Atomic int64_t connections;
static int64_t conn_cap;                /* limits.max_connections, or what descriptors allow */

#define PAUSE_MS 100
#define WARN_EVERY_US (10 * 1000000LL)

/* No more connections for a moment: at the cap, or out of descriptors
 * (accept would fail at once, again and again). */
static void stop_accepting(struct proxy *px)
{
	struct timeval tv = {0, PAUSE_MS * 1000};

	evconnlistener_disable(px->listener);
	event_add(px->resume, &tv);
}

static void accept_pause(struct proxy *px, const char *why)
{
	int64_t now = now_mono_us();

	if (!px->listener)
		return;
	stop_accepting(px);
	atomic_fetch_add(&proxy_counts.accept_pauses, 1);
	if (now - px->warned_us < WARN_EVERY_US) {
		px->unwarned++;
		return;
	}
	fprintf(stderr, "cutover: %s: accepting paused for %d ms (%llu more pauses since the last "
	        "such line)\n", why, PAUSE_MS, (unsigned long long)px->unwarned);
	px->warned_us = now;
	px->unwarned = 0;
}

static void on_resume(evutil_socket_t fd, short what, void *arg)
{
	struct proxy *px = arg;

	(void)fd;
	(void)what;
	if (!px->listener)
		return;
	if (atomic_load(&connections) >= conn_cap)
		accept_pause(px, "the connection cap is reached");
	else
		evconnlistener_enable(px->listener);
}

/* The listeners' error callback gets evhttp's argument, not ours: each
 * loop's proxy is found by its listener. */
#define MAX_LISTENERS 256
static _Atomic(struct proxy *) listening[MAX_LISTENERS];

/* On a loop, when another reached the cap: this one stops accepting too,
 * or the kernel would go on handing it connections past the cap. */
static void on_pause(evutil_socket_t fd, short what, void *arg)
{
	struct proxy *px = arg;

	(void)fd;
	(void)what;
	if (px->listener && atomic_load(&connections) >= conn_cap)
		stop_accepting(px);
}

/* The cap is reached: every loop pauses accepting (a proxy stays in
 * listening, and its events exist, until its loop has stopped). */
static void cap_reached(struct proxy *px)
{
	int i;

	accept_pause(px, "the connection cap is reached");
	for (i = 0; i < MAX_LISTENERS; i++) {
		struct proxy *p = atomic_load(&listening[i]);

		if (p && p != px)
			event_active(p->pause, EV_READ, 0);
	}
}

static void on_accept_error(struct evconnlistener *lev, void *arg)
{
	struct proxy *px = NULL;
	int e = EVUTIL_SOCKET_ERROR(), i;

	(void)arg;
	for (i = 0; i < MAX_LISTENERS && !px; i++) {
		struct proxy *p = atomic_load(&listening[i]);

		if (p && p->listener == lev)
			px = p;
	}
	if (!px)
		fprintf(stderr, "cutover: accept: %s\n", strerror(e));
	else if (e == EMFILE || e == ENFILE || e == ENOBUFS || e == ENOMEM)
		accept_pause(px, strerror(e));
	else if (e != ECONNABORTED)
		fprintf(stderr, "cutover: accept: %s\n", strerror(e));
}

void proxy_listen(struct proxy *px, struct evhttp_bound_socket *sock)
{
	int i;

	px->listener = sock ? evhttp_bound_socket_get_listener(sock) : NULL;
	for (i = 0; i < MAX_LISTENERS; i++) {
		struct proxy *none = NULL, *mine = px;

		if (px->listener ? atomic_compare_exchange_strong(&listening[i], &none, px)
		                 : atomic_compare_exchange_strong(&listening[i], &mine, NULL))
			break;
	}
	if (px->listener)
		evconnlistener_set_error_cb(px->listener, on_accept_error);
	else
		event_del(px->resume);
}

void accept_events(struct proxy *px)
{
	px->resume = evtimer_new(px->base, on_resume, px);
	px->pause = event_new(px->base, -1, 0, on_pause, px);
}

void accept_opened(struct proxy *px)
{
	if (atomic_fetch_add(&connections, 1) + 1 >= conn_cap)
		cap_reached(px);
}

void accept_closed(void)
{
	atomic_fetch_sub(&connections, 1);
}

int64_t accept_connections(void)
{
	return atomic_load(&connections);
}

int64_t accept_cap(void)
{
	return conn_cap;
}

/* Descriptors: as many as the hard limit allows (each connection takes one,
 * a passthrough one two); the cap leaves room for stores, logs and the
 * journal. */
size_t accept_init(const struct config *cfg)
{
	struct rlimit rl;
	size_t have = 1024;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
		if (rl.rlim_cur < rl.rlim_max) {
			rl.rlim_cur = rl.rlim_max < (1u << 20) ? rl.rlim_max : (1u << 20);
			setrlimit(RLIMIT_NOFILE, &rl);
			getrlimit(RLIMIT_NOFILE, &rl);
		}
		have = rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < (1u << 20) ? (size_t)rl.rlim_cur : (1u << 20);
	}
	conn_cap = cfg->max_connections > 0 ? cfg->max_connections :
	           (int64_t)have > 128 ? ((int64_t)have - 64) / (*cfg->upstream.url ? 2 : 1) : 32;
	return have;
}

/* Listening ----------------------------------------------------------- */

/* Is host:port served by another process already?  Our loops bind it with
 * SO_REUSEPORT, which would quietly split the traffic with that process:
 * a bind without it fails when anyone listens there. */
static bool port_taken(const struct addrinfo *ai)
{
	int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1;
	bool taken;

	if (fd == -1)
		return false;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	taken = bind(fd, ai->ai_addr, ai->ai_addrlen) == -1 && errno == EADDRINUSE;
	close(fd);
	return taken;
}

/* host:port → a socket bound with SO_REUSEPORT; port 0 picks a free one,
 * written back so the other loops bind the same.  first: the first loop's,
 * refused when another process serves the port (unless listen_shared). */
int listen_socket(const char *host, int *port, bool first, bool shared)
{
	struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
	                         .ai_flags = AI_PASSIVE | AI_NUMERICSERV};
	struct addrinfo *res = NULL;
	char portstr[16];
	int fd = -1, one = 1;

	snprintf(portstr, sizeof(portstr), "%d", *port);
	if (getaddrinfo(*host ? host : NULL, portstr, &hints, &res) != 0 || !res) {
		fprintf(stderr, "cutover: cannot resolve listen address %s\n", host);
		return -1;
	}
	if (first && *port != 0 && !shared && port_taken(res)) {
		fprintf(stderr, "cutover: %s:%d is served by another process already; stop it, choose another "
		        "port, or set \"listen_shared\": true to share it\n", host, *port);
		freeaddrinfo(res);
		return -1;
	}
	fd = socket(res->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd == -1 ||
	    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) == -1 ||
	    setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) == -1 ||
	    /* Responses go out whole: without this, a body past libevent's
	     * 16 KiB single write leaves a small tail that Nagle holds until
	     * the client's delayed ACK, some 40 ms.  Accepted sockets inherit it. */
	    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) == -1 ||
	    bind(fd, res->ai_addr, res->ai_addrlen) == -1 || listen(fd, 1024) == -1) {
		fprintf(stderr, "cutover: cannot listen on %s:%d: %s\n", host, *port, strerror(errno));
		if (fd != -1)
			close(fd);
		freeaddrinfo(res);
		return -1;
	}
	freeaddrinfo(res);
	if (*port == 0) {
		struct sockaddr_storage ss;
		socklen_t len = sizeof(ss);

		getsockname(fd, (struct sockaddr *)&ss, &len);
		*port = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
		                                       : ((struct sockaddr_in *)&ss)->sin_port);
	}
	return fd;
}

/* host:port → host and port (brackets of an IPv6 address dropped). */
void split_address(const char *addr, char *host, size_t size, int *port)
{
	const char *colon = strrchr(addr, ':');

	snprintf(host, size, "%.*s", (int)(colon - addr), addr);
	if (host[0] == '[')
		memmove(host, host + 1, strlen(host)), host[strlen(host) - 1] = '\0';
	*port = atoi(colon + 1);
}
