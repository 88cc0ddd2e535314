/*
 * proxy_conn.h — what the client filter (proxy.c), its guards (guard.c),
 * accepting (accept.c), the application's address (upstream.c) and
 * passthrough to it (passthrough.c) share: a listener's state, a client connection, an
 * exchange with the application, and the calls each makes of the others.
 * Private to those files.
 */
#ifndef CUTOVER_PROXY_CONN_H
#define CUTOVER_PROXY_CONN_H

#include <netinet/in.h>
#include <stdatomic.h>
#include <sys/socket.h>

#include <event2/bufferevent.h>
#include <event2/event.h>
#include <openssl/ssl.h>

#include "clients.h"
#include "http1.h"
#include "request.h"

#define HIGH_WATER (1 << 20)            /* bytes queued toward a side before its feeder pauses */
#define LOW_WATER (256 << 10)           /* … and resumes */
#define MAX_RESPONSE_HEAD (64 << 10)
#define SPLICE_MIN (64 << 10)           /* bodies left from which splicing pays */
#define SPLICE_PIPE (1 << 20)           /* the pipe's size asked for (the default is 64 KiB) */
#define SPLICE_TURN (4 << 20)           /* bytes one connection moves before the loop serves others */

/* What the filter and passthrough counted (proxy_stats). */
struct proxy_counts {
	_Atomic uint64_t requests, bad_gateway, timeouts, bytes_up, bytes_down, spliced, opened, reused;
	_Atomic uint64_t refused_heads, request_timeouts, over_budget, accept_pauses;
};
extern struct proxy_counts proxy_counts;

/* The application's address (proxy_init). */
struct proxy_upstream {
	struct sockaddr_storage addr;
	socklen_t addrlen;
	char hostport[300];
	SSL_CTX *tls;                   /* an https:// upstream's, or NULL */
	const char *host;               /* … the name its certificate must carry */
};
extern struct proxy_upstream proxy_up;

/* upstream.c: resolve the application's address and make its TLS context
 * (nothing without an upstream); -1 with err set. */
int upstream_init(const struct config *cfg, struct error *err);
void upstream_fini(void);

struct proxy {
	struct event_base *base;
	const struct config *cfg;
	bool upstream;                  /* an application to pass unowned paths to */
	bool admin;                     /* the admin listener's */
	_Atomic(struct evconnlistener *) listener;     /* read by other loops' error callbacks */
	struct event *resume;           /* accepting again after a pause */
	struct event *pause;            /* the cap, reached on another loop */
	int64_t warned_us;              /* the last "out of descriptors" line */
	uint64_t unwarned;              /* … and the pauses since */
	struct bufferevent **idle;      /* kept-alive upstream connections */
	int nidle;
	struct timeval client_tv;       /* a client's reads and writes during an exchange */
	struct timeval upstream_tv;     /* the application's answer, while it is spliced */
	struct timeval evhttp_tv;       /* evhttp's own idle timeout, restored after one */
	int active;                     /* exchanges in flight */
	void (*on_idle)(void *);        /* … run when that falls to 0 */
	void *idle_arg;
};

/* accept.c: the file limit raised and the connection cap set; returns
 * the descriptors a process may hold. */
size_t accept_init(const struct config *cfg);
/* px's resume and pause events. */
void accept_events(struct proxy *px);
/* A client connection opened (every loop pauses at the cap) or closed. */
void accept_opened(struct proxy *px);
void accept_closed(void);
int64_t accept_connections(void);
int64_t accept_cap(void);

enum in_state {
	IN_HEAD,                        /* the next request's head */
	IN_TO_EVHTTP,                   /* an evhttp request's body */
	IN_TO_UPSTREAM,                 /* a passthrough request's body */
	IN_CLOSING,                     /* the connection closes once the answer is out */
};

struct exchange;

struct conn {
	struct proxy *px;
	struct bufferevent *filter;     /* evhttp's */
	struct bufferevent *client;     /* the socket beneath; one reference is ours */
	SSL *tls;                       /* a TLS client's, owned by client; NULL for plain HTTP */
	size_t tls_retry;               /* bytes an SSL_write must be retried with, or 0 */
	bool tls_wants_read;            /* … once the socket is readable (not writable) */
	struct event *tls_readable;     /* … for which it waits then */
	int fd;                         /* -1 until the first bytes */
	char remote[INET6_ADDRSTRLEN];
	struct client_addr addr;        /* for the per-address limits */
	bool counted;                   /* … in its address's connections */
	char throttle_text[96];         /* a 429's detail */
	enum in_state in;
	struct framer body;             /* the current request's body */
	int evhttp_pending;             /* requests given to evhttp and not answered yet */
	bool fed_evhttp;
	bool flush_out;                 /* evhttp wrote: move it to the socket */
	bool flushing;                  /* inside our own flush of the filter */
	bool shut;
	bool cut;                       /* an answer was cut off: the socket is reset when it closes */
	bool partial_head;              /* some of a head is here, not all */
	bool refusing;                  /* a refusal waits for evhttp's earlier answers */
	bool fed_broken;                /* … and evhttp has the head of a body that broke */
	struct head_refusal { int status, retry_after; const char *reason, *detail; } refusal;
	bool admitted;                  /* the per-address cap was asked */
	int64_t held;                   /* body bytes handed to evhttp, counted in held_bytes */
	int64_t chunked_in;             /* … of the current chunked body */
	struct exchange *ex;
	struct event *kick;
	struct event *deadline;         /* the request's whole time, or the close's grace */
	bool deadline_armed;
	bool head_timed;                /* … and it is the head's (limits.header_timeout) */
	int64_t started_us;             /* the current request's first byte */
	struct event *writable;         /* the socket has room for evhttp's last byte */
	struct evbuffer_cb_entry *client_out_cb;
};

struct exchange {
	struct conn *c;
	struct bufferevent *up;         /* NULL once given up */
	struct request log;             /* for the access log */
	struct buf head;                /* the request head as sent, for one retry */
	struct framer resp;
	bool reused;                    /* up was kept alive from an earlier request */
	bool has_body;
	bool request_sent;              /* every byte of the request is with the application */
	bool got_bytes;                 /* the application said something */
	bool started;                   /* the answer's head went to the client */
	bool head_only;                 /* HEAD: no body in the answer */
	bool client_10;                 /* an HTTP/1.0 client */
	bool dechunk;                   /* HTTP/1.0 client, chunked answer */
	bool client_close, up_close;    /* close that side after this exchange */
	bool paused;                    /* reading the application waits for the client */
	bool splicing;                  /* the body goes kernel to kernel: */
	int pipe[2];                    /* … through this pipe, */
	size_t in_pipe;                 /* … holding this many of its bytes, */
	uint64_t spliced;               /* … having passed this many on */
	struct event *up_ready, *client_ready;  /* … waiting on either socket */
};

/* The filter's, for passthrough. */
bool conn_alive(const struct conn *c);
void set_timeout(struct bufferevent *bev, int read_ms, int write_ms);
/* A whole answer of the gateway's own: {"detail": …}. */
void reply_detail(struct conn *c, int status, const char *reason, const char *detail, const char *request_id,
                  bool close);

/* guard.c's, for the filter: a request's deadline (whole seconds, or
 * us), the shared body budget, and refusals. */
void deadline_set_us(struct conn *c, int64_t us);
void deadline_set(struct conn *c, int seconds);
void deadline_stop(struct conn *c);
void on_deadline(evutil_socket_t fd, short what, void *arg);
/* Room for n more body bytes in the budget all connections share; false
 * (counted) when there is none. */
bool held_take(struct conn *c, int64_t n);
/* The body bytes evhttp held for c are let go; … or n of them, taken
 * and not handed over. */
void held_release(struct conn *c);
void held_give_back(struct conn *c, int64_t n);
int64_t guard_held_bytes(void);
/* End c with an answer of ours (broken: the body of a request evhttp has
 * the head of broke off); sent once evhttp's earlier answers are out. */
void conn_refuse(struct conn *c, int status, const char *reason, const char *detail, bool broken);
void refusal_send(struct conn *c);

/* Passthrough's, for the filter (passthrough.c). */
void kick_later(struct conn *c);
void exchange_start(struct conn *c, const struct head *h, const struct resource *r, struct evbuffer *src,
                    size_t n);
void exchange_end(struct exchange *ex);
void exchange_fail(struct exchange *ex, int status);
void request_sent(struct exchange *ex);
void answer_body(struct exchange *ex);
void splice_step(struct exchange *ex);

#endif
