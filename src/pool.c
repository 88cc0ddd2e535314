/*
 * pool.c — worker threads for blocking store calls (see pool.h).
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <event2/event.h>

#include "pool.h"

struct mailbox {
	pthread_mutex_t mu;
	struct pool_job *head, *tail;
	struct event *ev;
};

struct pool {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct pool_job *head, *tail;
	size_t depth, max;
	bool stopping;
	pthread_t *threads;
	int n;
	const char *urls[POOL_SLOTS];
	const struct config *cfg;
	int nice;
};

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

static void *worker_main(void *arg)
{
	struct pool *p = arg;
	struct store *stores[POOL_SLOTS] = {NULL};
	struct store_error err;
	int i;

	if (p->nice > 0)
		setpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid), p->nice);
	for (;;) {
		struct pool_job *job;

		pthread_mutex_lock(&p->mu);
		while (!p->head && !p->stopping)
			pthread_cond_wait(&p->cv, &p->mu);
		job = p->head;
		if (!job) {
			pthread_mutex_unlock(&p->mu);
			break;
		}
		p->head = job->next;
		if (!p->head)
			p->tail = NULL;
		p->depth--;
		pthread_mutex_unlock(&p->mu);
		for (i = 0; i < POOL_SLOTS; i++)
			if (!stores[i] && p->urls[i] && !(stores[i] = store_open(p->urls[i], p->cfg, &err)))
				fprintf(stderr, "cutover: store worker: %s\n", err.msg);
		job->run(job, stores);
		if (job->reply_to)
			mailbox_post(job->reply_to, job);
		else
			job->done(job);
	}
	for (i = 0; i < POOL_SLOTS; i++)
		store_close(stores[i]);
	return NULL;
}

struct pool *pool_start(int n, size_t max_queue, const char *const urls[POOL_SLOTS],
                        const struct config *cfg, int nice)
{
	struct pool *p = xcalloc(1, sizeof(*p));
	int i;

	pthread_mutex_init(&p->mu, NULL);
	pthread_cond_init(&p->cv, NULL);
	p->max = max_queue;
	for (i = 0; i < POOL_SLOTS; i++)
		p->urls[i] = urls[i] && *urls[i] ? urls[i] : NULL;
	p->cfg = cfg;
	p->nice = nice;
	p->threads = xcalloc((size_t)n, sizeof(*p->threads));
	for (i = 0; i < n; i++) {
		if (pthread_create(&p->threads[i], NULL, worker_main, p) != 0)
			break;
		p->n++;
	}
	if (p->n == 0) {
		pool_stop(p);
		return NULL;
	}
	return p;
}

int pool_submit(struct pool *p, struct pool_job *job)
{
	int rc = -1;

	pthread_mutex_lock(&p->mu);
	if (!p->stopping && p->depth < p->max) {
		append(&p->head, &p->tail, job);
		p->depth++;
		rc = 0;
		pthread_cond_signal(&p->cv);
	}
	pthread_mutex_unlock(&p->mu);
	return rc;
}

void pool_stop(struct pool *p)
{
	int i;

	if (!p)
		return;
	pthread_mutex_lock(&p->mu);
	p->stopping = true;
	pthread_cond_broadcast(&p->cv);
	pthread_mutex_unlock(&p->mu);
	for (i = 0; i < p->n; i++)
		pthread_join(p->threads[i], NULL);
	pthread_cond_destroy(&p->cv);
	pthread_mutex_destroy(&p->mu);
	free(p->threads);
	free(p);
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
		job->done(job);
	}
	return n;
}

void mailbox_free(struct mailbox *m)
{
	if (!m)
		return;
	if (m->ev)
		event_free(m->ev);
	pthread_mutex_destroy(&m->mu);
	free(m);
}
