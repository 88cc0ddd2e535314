/*
 * clients.c — per-address connection caps and request rates (see clients.h).
 *
 * A hash of addresses, a lock per chain.  An entry lives while its address
 * has a connection open or its bucket is still refilling: a client that
 * opens a connection per request is remembered between them, and the
 * table holds only addresses seen lately.  The hash is seeded at start so
 * that no client can choose addresses that share a chain.
 */
#include <math.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "clients.h"
#include "util.h"

#define CHAINS 4096

struct entry {
	struct entry *next;
	struct client_addr addr;
	int conns;
	double tokens;
	int64_t stamp_us;
};

static struct chain {
	pthread_mutex_t mu;
	struct entry *head;
} chains[CHAINS];

static struct {
	double rate, burst;         /* requests a second; 0: no rate */
	int cap;                    /* connections; 0: no cap */
	uint64_t seed;
	_Atomic uint64_t throttled, refused;
} L;

void clients_init(const struct config *cfg)
{
	size_t i;

	L.rate = (double)cfg->rate_per_address;
	L.burst = cfg->burst > 0 ? (double)cfg->burst : L.rate;
	L.cap = (int)cfg->max_connections_per_address;
	random_bytes(&L.seed, sizeof(L.seed));
	for (i = 0; i < CHAINS; i++)
		pthread_mutex_init(&chains[i].mu, NULL);
}

void clients_fini(void)
{
	size_t i;

	for (i = 0; i < CHAINS; i++) {
		struct entry *e, *next;

		for (e = chains[i].head; e; e = next) {
			next = e->next;
			free(e);
		}
		chains[i].head = NULL;
		pthread_mutex_destroy(&chains[i].mu);
	}
}

bool clients_limited(void)
{
	return L.rate > 0 || L.cap > 0;
}

void client_addr_of(const struct sockaddr *sa, struct client_addr *out)
{
	memset(out, 0, sizeof(*out));
	if (sa->sa_family == AF_INET) {
		out->b[10] = out->b[11] = 0xff;
		memcpy(out->b + 12, &((const struct sockaddr_in *)sa)->sin_addr, 4);
	} else if (sa->sa_family == AF_INET6) {
		memcpy(out->b, &((const struct sockaddr_in6 *)sa)->sin6_addr, 16);
	}
}

static struct chain *chain_of(const struct client_addr *a)
{
	uint64_t h = hash_bytes(a->b, sizeof(a->b), L.seed);

	return &chains[(h ^ (h >> 29)) % CHAINS];
}

/* The entry of a in c (locked), made when absent; entries with nothing
 * left to remember are dropped on the way. */
static struct entry *entry_of(struct chain *c, const struct client_addr *a, int64_t now, bool make)
{
	struct entry **pp = &c->head, *e, *found = NULL;

	while ((e = *pp)) {
		if (memcmp(&e->addr, a, sizeof(*a)) == 0) {
			found = e;
		} else if (e->conns == 0 &&
		           (L.rate <= 0 || e->tokens + (double)(now - e->stamp_us) / 1e6 * L.rate >= L.burst)) {
			*pp = e->next;
			free(e);
			continue;
		}
		pp = &e->next;
	}
	if (found || !make)
		return found;
	e = xcalloc(1, sizeof(*e));
	e->addr = *a;
	e->tokens = L.burst;
	e->stamp_us = now;
	e->next = c->head;
	c->head = e;
	return e;
}

bool clients_connect(const struct client_addr *a)
{
	struct chain *c;
	struct entry *e;
	bool ok = true;

	if (L.cap <= 0)
		return true;
	c = chain_of(a);
	pthread_mutex_lock(&c->mu);
	e = entry_of(c, a, now_mono_us(), true);
	if (e->conns >= L.cap)
		ok = false;
	else
		e->conns++;
	pthread_mutex_unlock(&c->mu);
	if (!ok)
		atomic_fetch_add(&L.refused, 1);
	return ok;
}

void clients_disconnect(const struct client_addr *a)
{
	struct chain *c;
	struct entry *e;

	if (L.cap <= 0)
		return;
	c = chain_of(a);
	pthread_mutex_lock(&c->mu);
	if ((e = entry_of(c, a, now_mono_us(), false)) && e->conns > 0)
		e->conns--;
	pthread_mutex_unlock(&c->mu);
}

int clients_request(const struct client_addr *a, int64_t now)
{
	struct chain *c;
	struct entry *e;
	int wait = 0;

	if (L.rate <= 0)
		return 0;
	c = chain_of(a);
	pthread_mutex_lock(&c->mu);
	e = entry_of(c, a, now, true);
	e->tokens += (double)(now - e->stamp_us) / 1e6 * L.rate;
	if (e->tokens > L.burst)
		e->tokens = L.burst;
	e->stamp_us = now;
	if (e->tokens >= 1)
		e->tokens -= 1;
	else
		wait = (int)ceil((1 - e->tokens) / L.rate);
	pthread_mutex_unlock(&c->mu);
	if (wait)
		atomic_fetch_add(&L.throttled, 1);
	return wait;
}

void clients_stats(struct clients_stats *st)
{
	st->throttled = atomic_load(&L.throttled);
	st->refused_connections = atomic_load(&L.refused);
}
