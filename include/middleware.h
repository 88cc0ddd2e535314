/*
 * middleware.h — the steps of the request pipeline (design.md §4).
 *
 * A step is a small ops table; the pipeline is a flat array of them built
 * once at start-up, in the fixed order of design.md §4.  on_request returns
 * MW_CONTINUE to go on or MW_DONE when it has set the response itself
 * (the remaining steps and the handler are skipped).  on_response may add
 * headers to any response; on_log runs after the response has been sent,
 * on the loop's thread.
 */
#ifndef CUTOVER_MIDDLEWARE_H
#define CUTOVER_MIDDLEWARE_H

#include "config.h"

enum { MW_DONE = 0, MW_CONTINUE = 1 };

struct event_base;
struct request;

/* A loop runs its events at LOOP_PRIORITIES priorities: libevent's own at
 * the middle one, and what may wait until the loop has served everything
 * ready (the access log's writes) at MW_IDLE_PRIORITY. */
#define LOOP_PRIORITIES 3
#define MW_IDLE_PRIORITY 2

struct middleware {
	const char *name;
	/* Called once at start-up; -1 with err on a configuration it cannot use. */
	int (*init)(const struct config *cfg, struct error *err);
	int (*on_request)(struct request *req);
	void (*on_response)(struct request *req);
	void (*on_log)(const struct request *req);
	/* On each loop's thread, before it serves and after it has stopped. */
	void (*loop_start)(struct event_base *base);
	void (*loop_end)(void);
	void (*fini)(void);
};

extern const struct middleware mw_request_id;
extern const struct middleware mw_limits;
extern const struct middleware mw_cors;
extern const struct middleware mw_auth;
extern const struct middleware mw_access_log;

/* SIGHUP: the token keys (jwt.public_key, jwt.jwks) read again; the old
 * ones stay in use when the files are unusable.  -1 then. */
int auth_reload_keys(const struct config *cfg);

/* The request id: the client's n bytes when short and printable, else a random one. */
void request_id_choose(const char *given, size_t n, char out[72]);

#endif
