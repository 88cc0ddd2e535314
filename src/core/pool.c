/*
 * pool.c — worker threads for blocking store calls (see pool.h).
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "pool.h"

struct mailbox {
	pthread_mutex_t mu;
	struct pool_job *head, *tail;
	struct event *ev;
};

struct worker {
	pthread_t thread;
	struct pool *pool;
	bool done;                  /* it has let go of everything: join it */
	struct worker *next;
};

struct pool {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct pool_job *head, *tail;
	_Atomic size_t depth;       /* changed under mu; read without it by pool_full */
	size_t max;
	bool stopping;
	struct worker *workers;     /* running, leaving and done */
	int n, idle, limit;         /* working or waiting; waiting; at most */
	bool (*wanted)(void);
	const char *urls[POOL_SLOTS];
	const struct config *cfg;
	int nice;
	bool drop_on_stop;          /* pool_stop lets queued jobs go */
	const char *name;
	uint64_t rejected;
	struct pool *next_pool;     /* every pool, for pool_stats_all */
};

/* A job's way (pool_job.state): queued, taken by a worker, its outcome
 * claimed by its run, or given by expired when its time ran out first. */
enum { JOB_QUEUED, JOB_TAKEN, JOB_CLAIMED, JOB_EXPIRED };

static pthread_mutex_t pools_mu = PTHREAD_MUTEX_INITIALIZER;
static struct pool *pools;

/* Append job to the list head..tail (caller holds its lock). */
static void append(struct pool_job **head, struct pool_job **tail, struct pool_job *job)
{
	job->next = NULL;
	if (*tail)
		(*tail)->next = job;
	else
		*head = job;
	*tail = job;
}

static void mailbox_post(struct mailbox *m, struct pool_job *job)
{
	pthread_mutex_lock(&m->mu);
	append(&m->head, &m->tail, job);
	pthread_mutex_unlock(&m->mu);
	event_active(m->ev, EV_READ, 0);
}

/* Wait for a job (caller holds the lock); NULL: leave.  An on-demand
 * worker leaves when it has nothing to do and nothing wants it; it looks
 * again every second while it waits. */
static struct pool_job *next_job(struct pool *p)
{
	struct pool_job *job;

	while (!p->head && !p->stopping) {
		if (p->wanted && !p->wanted())
			return NULL;
		p->idle++;
		if (p->wanted) {
			struct timespec ts;

			deadline_after(&ts, 1000000);
			pthread_cond_timedwait(&p->cv, &p->mu, &ts);
		} else {
			pthread_cond_wait(&p->cv, &p->mu);
		}
		p->idle--;
	}
	if (!(job = p->head))
		return NULL;
	p->head = job->next;
	if (!p->head)
		p->tail = NULL;
	p->depth--;
	return job;
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	struct pool *p = w->pool;
	struct store *stores[POOL_SLOTS] = {NULL};
	struct store_error err;
	struct pool_job *job;
	char name[16];
	int i;

	/* "cutover-shadow" and the like, as top -H and /proc show threads. */
	snprintf(name, sizeof(name), "cutover-%s", p->name);
	pthread_setname_np(pthread_self(), name);
	if (p->nice > 0)
		setpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid), p->nice);
	pthread_mutex_lock(&p->mu);
	while ((job = next_job(p))) {
		pthread_mutex_unlock(&p->mu);
		for (i = 0; i < POOL_SLOTS; i++)
			if (!stores[i] && p->urls[i] && !(stores[i] = store_open(p->urls[i], p->cfg, &err)))
				fprintf(stderr, "cutover: store worker: %s\n", err.msg);
		/* A job whose time ran out in the queue is not run. */
		int queued = JOB_QUEUED;

		if ((job->ran = atomic_compare_exchange_strong(&job->state, &queued, JOB_TAKEN)))
			job->run(job, stores);
		if (job->reply_to)
			mailbox_post(job->reply_to, job);
		else
			job->done(job);
		pthread_mutex_lock(&p->mu);
	}
	/* From here a job submitted finds this worker gone and starts another. */
	p->n--;
	pthread_mutex_unlock(&p->mu);
	for (i = 0; i < POOL_SLOTS; i++)
		store_close(stores[i]);
	pthread_mutex_lock(&p->mu);
	w->done = true;
	pthread_cond_broadcast(&p->cv);
	pthread_mutex_unlock(&p->mu);
	return NULL;
}

/* Join the workers that have left (caller holds the lock). */
static void reap(struct pool *p)
{
	struct worker **link = &p->workers, *w;

	while ((w = *link)) {
		if (w->done) {
			*link = w->next;
			pthread_join(w->thread, NULL);
			free(w);
		} else {
			link = &w->next;
		}
	}
}

/* One more worker (caller holds the lock); -1 when none can start. */
static int spawn(struct pool *p)
{
	struct worker *w = xcalloc(1, sizeof(*w));

	reap(p);
	w->pool = p;
	if (pthread_create(&w->thread, NULL, worker_main, w) != 0) {
		free(w);
		return -1;
	}
	w->next = p->workers;
	p->workers = w;
	p->n++;
	return 0;
}

struct pool *pool_start(const char *name, int n, size_t max_queue, const char *const urls[POOL_SLOTS],
                        const struct config *cfg, int nice, bool (*wanted)(void))
{
	struct pool *p = xcalloc(1, sizeof(*p));
	int i;

	p->name = name;
	pthread_mutex_lock(&pools_mu);
	p->next_pool = pools;
	pools = p;
	pthread_mutex_unlock(&pools_mu);
	pthread_mutex_init(&p->mu, NULL);
	pthread_cond_init(&p->cv, NULL);
	p->max = max_queue;
	for (i = 0; i < POOL_SLOTS; i++)
		p->urls[i] = urls[i] && *urls[i] ? urls[i] : NULL;
	p->cfg = cfg;
	p->nice = nice;
	p->limit = n;
	p->wanted = wanted;
	pthread_mutex_lock(&p->mu);
	for (i = 0; !wanted && i < n; i++)
		if (spawn(p) < 0)
			break;
	pthread_mutex_unlock(&p->mu);
	if (!wanted && p->n == 0) {
		pool_stop(p);
		return NULL;
	}
	return p;
}

int pool_submit(struct pool *p, struct pool_job *job)
{
	int rc = -1;

	atomic_store(&job->state, JOB_QUEUED);
	pthread_mutex_lock(&p->mu);
	if (!p->stopping && p->depth < p->max &&
	    (p->idle > 0 || p->n >= p->limit || spawn(p) == 0 || p->n > 0)) {
		append(&p->head, &p->tail, job);
		p->depth++;
		rc = 0;
		if (p->idle > 0)
			pthread_cond_signal(&p->cv);
	} else {
		p->rejected++;
	}
	pthread_mutex_unlock(&p->mu);
	return rc;
}

static void on_expiry(evutil_socket_t fd, short what, void *arg)
{
	struct pool_job *job = arg;
	int from = JOB_QUEUED;

	(void)fd;
	(void)what;
	if (atomic_compare_exchange_strong(&job->state, &from, JOB_EXPIRED) ||
	    (from == JOB_TAKEN && atomic_compare_exchange_strong(&job->state, &from, JOB_EXPIRED)))
		job->expired(job);
}

int pool_submit_within(struct pool *p, struct pool_job *job, int64_t timeout_us)
{
	struct timeval tv = {(time_t)(timeout_us / 1000000), (suseconds_t)(timeout_us % 1000000)};

	job->timer = evtimer_new(event_get_base(job->reply_to->ev), on_expiry, job);
	if (!job->timer || evtimer_add(job->timer, &tv) < 0 || pool_submit(p, job) < 0) {
		if (job->timer)
			event_free(job->timer);
		job->timer = NULL;
		return -1;
	}
	return 0;
}

bool pool_job_claim(struct pool_job *job)
{
	int taken = JOB_TAKEN;

	return atomic_compare_exchange_strong(&job->state, &taken, JOB_CLAIMED);
}

bool pool_job_expired(const struct pool_job *job)
{
	return atomic_load(&job->state) == JOB_EXPIRED;
}

/* The job is back: its timer goes, and done runs. */
static void job_back(struct pool_job *job)
{
	if (job->timer)
		event_free(job->timer);
	job->timer = NULL;
	job->done(job);
}

void pool_stop(struct pool *p)
{
	struct pool **link;

	if (!p)
		return;
	pthread_mutex_lock(&pools_mu);
	for (link = &pools; *link && *link != p; link = &(*link)->next_pool)
		;
	if (*link)
		*link = p->next_pool;
	pthread_mutex_unlock(&pools_mu);
	pthread_mutex_lock(&p->mu);
	p->stopping = true;
	pthread_cond_broadcast(&p->cv);
	if (p->drop_on_stop) {
		struct pool_job *job = p->head, *next;

		p->head = p->tail = NULL;
		p->depth = 0;
		pthread_mutex_unlock(&p->mu);
		for (; job; job = next) {
			next = job->next;
			job_back(job);
		}
		pthread_mutex_lock(&p->mu);
	}
	while (p->workers) {
		reap(p);
		if (p->workers)
			pthread_cond_wait(&p->cv, &p->mu);
	}
	pthread_mutex_unlock(&p->mu);
	pthread_cond_destroy(&p->cv);
	pthread_mutex_destroy(&p->mu);
	free(p);
}

bool pool_full(struct pool *p)
{
	return atomic_load_explicit(&p->depth, memory_order_relaxed) >= p->max;
}

void pool_drop_on_stop(struct pool *p)
{
	pthread_mutex_lock(&p->mu);
	p->drop_on_stop = true;
	pthread_mutex_unlock(&p->mu);
}

size_t pool_stats_all(struct pool_stats *out, size_t max)
{
	struct pool *p;
	size_t n = 0;

	pthread_mutex_lock(&pools_mu);
	for (p = pools; p; p = p->next_pool, n++) {
		if (n >= max)
			continue;
		pthread_mutex_lock(&p->mu);
		out[n] = (struct pool_stats){.name = p->name, .workers = p->n, .busy = p->n - p->idle,
		                             .limit = p->limit, .queued = p->depth, .max_queue = p->max,
		                             .rejected = p->rejected};
		pthread_mutex_unlock(&p->mu);
	}
	pthread_mutex_unlock(&pools_mu);
	return n;
}

static void on_mail(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	mailbox_deliver(arg);
}

struct mailbox *mailbox_new(struct event_base *base)
{
	struct mailbox *m = xcalloc(1, sizeof(*m));

	pthread_mutex_init(&m->mu, NULL);
	m->ev = event_new(base, -1, 0, on_mail, m);
	if (!m->ev) {
		mailbox_free(m);
		return NULL;
	}
	return m;
}

size_t mailbox_deliver(struct mailbox *m)
{
	struct pool_job *job, *next;
	size_t n = 0;

	pthread_mutex_lock(&m->mu);
	job = m->head;
	m->head = m->tail = NULL;
	pthread_mutex_unlock(&m->mu);
	for (; job; job = next, n++) {
		next = job->next;
		job_back(job);
	}
	return n;
}

void mailbox_free(struct mailbox *m)
{
	if (!m)
		return;
	mailbox_deliver(m);
	if (m->ev)
		event_free(m->ev);
	pthread_mutex_destroy(&m->mu);
	free(m);
}
