/*
 * guard.c — what the connection filter holds a client to (see
 * proxy_conn.h): a request's deadlines, the body bytes all connections may
 * hold together, and the refusal that ends a connection with an answer of
 * the gateway's own.
 */
#include <malloc.h>
#include <stdatomic.h>
#include <sys/socket.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#include "middleware.h"

#include "proxy_conn.h"

/* Body bytes handed to evhttp and not answered yet, by every loop's
 * connections (touched once per body read, never per request). */
static _Atomic int64_t held_bytes;

int64_t guard_held_bytes(void)
{
	return atomic_load(&held_bytes);
}

#define CLOSE_GRACE_S 2                 /* a refused client's time to read our answer */
#define TRIM_BYTES (4 << 20)            /* let go since the last trim: memory back to the system */


void deadline_set_us(struct conn *c, int64_t us)
{
	struct timeval tv = {us > 0 ? us / 1000000 : 0, us > 0 ? us % 1000000 : 0};

	event_add(c->deadline, &tv);
	c->deadline_armed = true;
	c->head_timed = false;
}

void deadline_set(struct conn *c, int seconds)
{
	deadline_set_us(c, seconds * 1000000LL);
}

void deadline_stop(struct conn *c)
{
	if (c->deadline_armed)
		event_del(c->deadline);
	c->deadline_armed = c->head_timed = false;
}

/* Body bytes evhttp held for this connection are let go.  glibc keeps
 * freed heap for reuse, and after a flood of large bodies would keep it for
 * good: once a few MiB have been let go and none is held, it goes back. */
void held_release(struct conn *c)
{
	static _Atomic int64_t released;

	if (c->held == 0)
		return;
	atomic_fetch_add(&released, c->held);
	if (atomic_fetch_sub(&held_bytes, c->held) == c->held && atomic_load(&released) >= TRIM_BYTES) {
		atomic_store(&released, 0);
		malloc_trim(0);
	}
	c->held = 0;
}

/* Room for n more body bytes in the budget all connections share. */
bool held_take(struct conn *c, int64_t n)
{
	if (atomic_fetch_add(&held_bytes, n) + n > (int64_t)c->px->cfg->max_buffered_bytes) {
		atomic_fetch_sub(&held_bytes, n);
		atomic_fetch_add(&proxy_counts.over_budget, 1);
		return false;
	}
	c->held += n;
	return true;
}

void held_give_back(struct conn *c, int64_t n)
{
	atomic_fetch_sub(&held_bytes, n);
	c->held -= n;
}

/* Our own answer that ends the connection can go once evhttp has answered
 * the requests before it (all but the one being read, when its body broke). */
void refusal_send(struct conn *c)
{
	char id[72];

	if (!c->refusing || c->ex || c->evhttp_pending > (c->fed_broken ? 1 : 0) ||
	    evbuffer_get_length(bufferevent_get_output(c->filter)) > 0)
		return;
	c->refusing = false;
	request_id_choose(NULL, 0, id);
	reply_detail(c, c->refusal.status, c->refusal.reason, c->refusal.detail, id, true);
	kick_later(c);                  /* on to the close */
}

/*
 * The connection ends with an answer of ours: a head that is not HTTP/1.1
 * to the letter, a broken body, a request out of time, no room.  Nothing
 * more of the client's is read; after a short grace the socket is shut
 * whether or not the client has read the answer.  broken: the body of a
 * request evhttp has the head of broke off.
 */
void conn_refuse(struct conn *c, int status, const char *reason, const char *detail, bool broken)
{
	c->refusing = true;
	c->fed_broken = broken;
	c->refusal.status = status;
	c->refusal.reason = reason;
	c->refusal.detail = detail;
	c->in = IN_CLOSING;
	c->partial_head = false;
	deadline_set(c, CLOSE_GRACE_S);
	refusal_send(c);
}

/* Out of time, or past the grace of a refusal. */
void on_deadline(evutil_socket_t fd, short what, void *arg)
{
	struct conn *c = arg;

	(void)fd;
	(void)what;
	c->deadline_armed = false;
	if (!conn_alive(c) || c->ex)
		return;
	if (c->in != IN_CLOSING) {
		atomic_fetch_add(&proxy_counts.request_timeouts, 1);
		conn_refuse(c, 408, "Request Timeout", "The request did not arrive in time.",
		            c->in == IN_TO_EVHTTP);
		return;
	}
	/* Reads then end (EOF), so evhttp lets the connection go even when the
	 * client never closes its side. */
	shutdown(c->fd, SHUT_RDWR);
	c->shut = true;
}
