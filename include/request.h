/*
 * request.h — one HTTP request as it moves through the pipeline (design.md §4).
 *
 * Everything request-scoped lives in req->arena and is released when the
 * response has been sent and logged.  The response is built here (status,
 * headers, body) and handed to libevent once, at the end.
 */
#ifndef CUTOVER_REQUEST_H
#define CUTOVER_REQUEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "arena.h"
#include "config.h"
#include "control.h"
#include "pool.h"
#include "util.h"

struct evhttp_request;
struct event_base;
struct lanes;

enum auth_state {
	AUTH_NONE,              /* no credentials given */
	AUTH_OK,                /* principal holds the user id */
	AUTH_BAD_HEADER,        /* Authorization header of the wrong shape */
	AUTH_INVALID,           /* token failed verification */
	AUTH_NO_EXP,            /* verified, but simplejwt's claim checks fail: */
	AUTH_NO_ID,
	AUTH_NO_TYPE,
	AUTH_WRONG_TYPE,
	AUTH_NO_USER,           /* token carried no usable user id */
};

#define REQ_MAX_HEADERS 16

struct request {
	struct evhttp_request *ev;
	struct lanes *lanes;          /* the loop's ways to the stores (engine.h) */
	const struct config *cfg;
	struct arena arena;
	int64_t start_us;

	const char *method;         /* "GET" … */
	int method_bit;             /* libevent's EVHTTP_REQ_* */
	const char *uri;            /* as received */
	const char *path;           /* without the query */
	const char *query;          /* raw, without '?', or NULL */
	const char *host;           /* Host header, or the listen address */
	const char *remote;         /* client address */
	const char *content_type;   /* Content-Type header, or NULL */
	const char *body;
	size_t body_len;
	struct store *store;        /* the store this request is served from */
	struct pool_job job;        /* when served on a store worker */
	struct mailbox *mailbox;    /* the loop's: jobs whose answers come back to it */
	const struct resource *resource;

	char request_id[72];
	enum auth_state auth;
	int64_t principal;
	uint32_t roles;             /* bits of cfg->roles the token grants */
	/* Whose records the request may touch: the principal's, unless a role
	 * lifts the scope (OWNER_ANY for a list, the record's owner for one). */
	int64_t owner;
	const char *route;          /* "invoices.list" … for logs and metrics */

	/* Modes (captured on arrival) and what the engine did. */
	enum mode mode;
	enum mode arrived_in;       /* mode as it came (a write that waits for a flip takes the new one) */
	bool wrote;                 /* a create, update or delete succeeded */
	bool text_ordered;          /* a page ordered by a text field */
	bool has_id;                /* id: the record addressed or created */
	unsigned char id[16];
	struct read_mark mark;
	bool write_marked;          /* control_write_begin called, end not yet */
	uint64_t write_epoch;
	int write_stripe;           /* the record's race stripe; -1: none (a create) */
	int64_t journal_seq;        /* mongodb mode: the legacy copy to make after the answer */
	int64_t journal_pending;    /* the journal entry (made before the write) not applied yet, or 0 */
	enum store_err store_err;   /* the store error answered, or 0 */
	bool timed_out;             /* answered 503: its store did not answer in time */

	int status;
	struct buf out;
	const char *out_type;       /* the response's Content-Type; NULL: JSON */
	uint64_t sent;              /* body bytes streamed instead (passthrough) */
	struct { const char *name, *value; } headers[REQ_MAX_HEADERS];
	size_t nheaders;
	bool done;                  /* a response has been set */
};

/* A request evhttp has read: what every step needs, copied or pointed to
 * (host: the listen address, for a request without Host). */
struct request *request_new(struct evhttp_request *ev, const struct config *cfg, struct lanes *lanes,
                            const char *listen_host);
/* The pipeline's steps, in order; false when one of them answered. */
bool request_run_pipeline(struct request *req);
/* Copy what the request points to in evhttp's memory (its target, Host,
 * Content-Type and body) into its arena: from here it outlives an answer
 * given by someone else (a store worker's request, whose time may run out). */
void request_own(struct request *req);
/* Answer (500 when nothing was set), count, log and free the request. */
void request_send(struct request *req);
/* A request to answer in place of req, which a store worker still holds:
 * what the pipeline's answer, log and metrics need, copied.  req was
 * request_own()ed. */
struct request *request_stand_in(const struct request *req);
/* Free a request answered already (by a stand-in). */
void request_free(struct request *req);
/* The steps' start and stop, once per process and on each loop's thread. */
int request_pipeline_init(const struct config *cfg);
void request_pipeline_fini(void);
void request_loop_start(struct event_base *base);
void request_loop_end(void);

/* The store this request is served from. */
struct store *req_store(const struct request *req);
/* An incoming header, or NULL. */
const char *req_header(const struct request *req, const char *name);
/* Add a response header; name and value must outlive the request (arena). */
void req_add_header(struct request *req, const char *name, const char *value);
/* Set the response: status and a JSON body (copied). */
void req_reply_json(struct request *req, int status, const char *json, size_t len);
/* Set the response: status, a body of the given Content-Type (copied). */
void req_reply(struct request *req, int status, const char *type, const char *body, size_t len);
/* Set an error response: {"detail": "..."}, or on a resource's path the
 * error shape of its profile. */
void req_reply_detail(struct request *req, int status, const char *detail);

#endif
