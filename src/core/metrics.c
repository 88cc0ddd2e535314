/*
 * metrics.c — per-thread counter shards, summed when read (see metrics.h).
 *
 * A shard is written by one thread only, with relaxed loads and stores
 * (plain moves, no locked instruction); readers load them relaxed too, so
 * a sum may miss an increment made at that instant, never tear one.  The
 * mutex guards the list of shards: a thread takes it when it counts for
 * the first time and when it ends, a reader while it sums.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "metrics.h"
#include "util.h"

struct shard {
	struct shard *next;
	bool taken;
	uint64_t passthrough[METRIC_STATUSES];
	struct metrics_route routes[];
};

static struct {
	pthread_mutex_t mu;
	pthread_key_t key;
	bool key_made;
	const struct config *cfg;
	size_t nroutes;
	unsigned generation;        /* a thread's shard from an earlier init is not used */
	struct shard *shards;
} M = {.mu = PTHREAD_MUTEX_INITIALIZER};

static _Thread_local struct shard *mine;
static _Thread_local unsigned mine_generation;

/* The thread ends: its shard goes to the next thread that counts. */
static void let_go(void *p)
{
	struct shard *s = p;

	pthread_mutex_lock(&M.mu);
	s->taken = false;
	pthread_mutex_unlock(&M.mu);
}

int metrics_init(const struct config *cfg)
{
	pthread_mutex_lock(&M.mu);
	if (!M.key_made && pthread_key_create(&M.key, let_go) == 0)
		M.key_made = true;
	M.cfg = cfg;
	M.nroutes = cfg->nresources + 2;
	M.generation++;
	pthread_mutex_unlock(&M.mu);
	return M.key_made ? 0 : -1;
}

void metrics_fini(void)
{
	struct shard *s;

	pthread_mutex_lock(&M.mu);
	while ((s = M.shards)) {
		M.shards = s->next;
		free(s);
	}
	M.cfg = NULL;
	M.nroutes = 0;
	M.generation++;
	if (M.key_made)
		pthread_setspecific(M.key, NULL);   /* this thread's shard is gone */
	pthread_mutex_unlock(&M.mu);
}

static struct shard *shard(void)
{
	struct shard *s;

	if (mine && mine_generation == M.generation)
		return mine;
	pthread_mutex_lock(&M.mu);
	for (s = M.shards; s && s->taken; s = s->next)
		;
	if (!s && M.cfg) {
		s = xcalloc(1, sizeof(*s) + M.nroutes * sizeof(s->routes[0]));
		s->next = M.shards;
		M.shards = s;
	}
	if (s) {
		s->taken = true;
		pthread_setspecific(M.key, s);
	}
	mine = s;
	mine_generation = M.generation;
	pthread_mutex_unlock(&M.mu);
	return s;
}

static inline void bump(uint64_t *c, uint64_t n)
{
	__atomic_store_n(c, __atomic_load_n(c, __ATOMIC_RELAXED) + n, __ATOMIC_RELAXED);
}

static const int counted[] = {200, 201, 202, 204, 304, 400, 401, 403, 404, 405, 409, 413, 415, 429,
                              431, 500, 502, 503, 504};
static const char *const labels[METRIC_STATUSES] = {
	"200", "201", "202", "204", "304", "400", "401", "403", "404", "405", "409", "413", "415", "429",
	"431", "500", "502", "503", "504", "1xx", "2xx", "3xx", "4xx", "5xx",
};

static int status_slot(int status)
{
	int i;

	for (i = 0; i < (int)ARRAY_LEN(counted); i++)
		if (counted[i] == status)
			return i;
	if (status < 100 || status > 599)
		status = 500;
	return (int)ARRAY_LEN(counted) + status / 100 - 1;
}

const char *metrics_status_label(int i)
{
	return i >= 0 && i < METRIC_STATUSES ? labels[i] : "5xx";
}

static struct metrics_route *route_slot(int route)
{
	struct shard *s = shard();

	return s && route >= 0 && (size_t)route < M.nroutes ? &s->routes[route] : NULL;
}

void metrics_request(int route, enum mode m, int store, int status)
{
	struct metrics_route *r;

	if (!M.cfg || !M.cfg->metrics || !(r = route_slot(route)))
		return;
	if ((unsigned)m >= MODE_COUNT)
		m = MODE_LEGACY;
	if (store < 0 || store > STORE_NONE)
		store = STORE_NONE;
	bump(&r->requests[m][store][status_slot(status)], 1);
}

void metrics_latency(const struct resource *res, enum which_store s, enum lat_role role, int64_t us)
{
	struct metrics_route *r;
	int b = 0;

	if (!res || (role == ROLE_AUTHORITATIVE && !M.cfg->metrics) || !(r = route_slot(res->index)))
		return;
	if (us < 0)
		us = 0;
	while (b < LAT_BUCKETS - 1 && metrics_bucket_us(b) < us)
		b++;
	bump(&r->latency[s][role][b], 1);
	bump(&r->latency_sum_us[s][role], (uint64_t)us);
}

void metrics_outcome(const struct resource *res, enum outcome o)
{
	struct metrics_route *r;

	if (res && (r = route_slot(res->index)))
		bump(&r->outcomes[o], 1);
}

void metrics_passthrough(int status)
{
	struct shard *s;

	if (M.cfg && M.cfg->metrics && (s = shard()))
		bump(&s->passthrough[status_slot(status)], 1);
}

static void add(uint64_t *to, const uint64_t *from, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		to[i] += __atomic_load_n(&from[i], __ATOMIC_RELAXED);
}

void metrics_route(int route, struct metrics_route *out)
{
	struct shard *s;

	memset(out, 0, sizeof(*out));
	pthread_mutex_lock(&M.mu);
	if (route >= 0 && (size_t)route < M.nroutes)
		for (s = M.shards; s; s = s->next)
			add((uint64_t *)out, (const uint64_t *)&s->routes[route], sizeof(*out) / sizeof(uint64_t));
	pthread_mutex_unlock(&M.mu);
}

void metrics_passthrough_totals(uint64_t out[METRIC_STATUSES])
{
	struct shard *s;

	memset(out, 0, METRIC_STATUSES * sizeof(out[0]));
	pthread_mutex_lock(&M.mu);
	for (s = M.shards; s; s = s->next)
		add(out, s->passthrough, METRIC_STATUSES);
	pthread_mutex_unlock(&M.mu);
}

size_t metrics_shards(void)
{
	struct shard *s;
	size_t n = 0;

	pthread_mutex_lock(&M.mu);
	for (s = M.shards; s; s = s->next)
		n++;
	pthread_mutex_unlock(&M.mu);
	return n;
}

static const struct config_key keys[] = {
	{NULL, "metrics", CFG_BOOL, CFG_FIELD(metrics), 0, 0, "true", NULL, NULL,
	 "count requests and their latency for /metrics and the admin API"},
};

const struct config_module metrics_config = {"metrics", keys, ARRAY_LEN(keys), NULL};
