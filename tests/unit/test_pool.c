/*
 * test_pool.c — the worker pool: fixed pools start their workers at once;
 * on-demand pools start workers as jobs arrive and let them go when nothing
 * wants them, and lose no job however the two race.
 */
#include <dirent.h>
#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "pool.h"

static _Atomic bool wanted_flag;
static _Atomic long ran, stores_seen;

static bool wanted(void)
{
	return wanted_flag;
}

static void job_run(struct pool_job *job, struct store *const stores[POOL_SLOTS])
{
	int i;

	(void)job;
	for (i = 0; i < POOL_SLOTS; i++)
		stores_seen += stores[i] != NULL;   /* none configured: none opened */
	ran++;
}

static void job_done(struct pool_job *job)
{
	free(job);
}

static struct pool_job *new_job(void)
{
	struct pool_job *j = calloc(1, sizeof(*j));

	j->run = job_run;
	j->done = job_done;
	return j;
}

static int threads(void)
{
	DIR *d = opendir("/proc/self/task");
	struct dirent *e;
	int n = 0;

	assert_non_null(d);
	while ((e = readdir(d)))
		n += e->d_name[0] != '.';
	closedir(d);
	return n;
}

static void sleep_ms(int ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};

	nanosleep(&ts, NULL);
}

/* Wait (up to 10 s) for the process to run n threads: a thread joined
 * may still be listed for a moment. */
static int settle_at(int n)
{
	int i;

	for (i = 0; i < 1000 && threads() != n; i++)
		sleep_ms(10);
	return threads();
}

static const char *const no_urls[POOL_SLOTS];
static int base;                /* the test's own thread */

static void test_fixed_pool_starts_at_once(void **state)
{
	struct pool *p = pool_start("test", 3, 16, no_urls, NULL, 0, NULL);

	(void)state;
	assert_non_null(p);
	assert_int_equal(settle_at(base + 3), base + 3);
	ran = 0;
	for (int i = 0; i < 10; i++)
		while (pool_submit(p, new_job()) < 0)
			sleep_ms(1);
	pool_stop(p);               /* runs what is queued first */
	assert_int_equal(ran, 10);
	assert_int_equal(settle_at(base), base);
}

static void test_on_demand_pool(void **state)
{
	struct pool *p;

	(void)state;
	wanted_flag = true;
	p = pool_start("test", 4, 1000, no_urls, NULL, 0, wanted);
	assert_non_null(p);
	sleep_ms(100);
	assert_int_equal(settle_at(base), base);    /* nothing runs before a job */
	ran = 0;
	for (int i = 0; i < 200; i++)
		assert_int_equal(pool_submit(p, new_job()), 0);
	for (int i = 0; i < 1000 && ran < 200; i++)
		sleep_ms(10);
	assert_int_equal(ran, 200);
	assert_true(threads() > base);
	assert_true(threads() <= base + 4);
	/* wanted: idle workers stay */
	sleep_ms(1200);
	assert_true(threads() > base);
	/* not wanted: they leave within about a second */
	wanted_flag = false;
	assert_int_equal(settle_at(base), base);
	/* a job arriving then still runs, and its worker leaves after it */
	assert_int_equal(pool_submit(p, new_job()), 0);
	for (int i = 0; i < 1000 && ran < 201; i++)
		sleep_ms(10);
	assert_int_equal(ran, 201);
	assert_int_equal(settle_at(base), base);
	pool_stop(p);
}

static _Atomic bool started, released;
static _Atomic long dropped;

static void slow_run(struct pool_job *job, struct store *const stores[POOL_SLOTS])
{
	(void)job;
	(void)stores;
	started = true;
	while (!released)
		sleep_ms(1);
	ran++;
}

static void count_done(struct pool_job *job)
{
	dropped++;
	free(job);
}

static void *release_later(void *arg)
{
	(void)arg;
	sleep_ms(100);
	released = true;
	return NULL;
}

/* A pool told to drop on stop waits for the job under way, not for the
 * queued ones, and lets each of them go exactly once; a full queue says
 * so before a job is built. */
static void test_stop_drops_queued_jobs(void **state)
{
	struct pool *p = pool_start("test", 1, 49, no_urls, NULL, 0, NULL);
	pthread_t t;
	int i;

	(void)state;
	ran = dropped = 0;
	started = released = false;
	pool_drop_on_stop(p);
	for (i = 0; i < 50; i++) {
		struct pool_job *j = calloc(1, sizeof(*j));

		j->run = slow_run;
		j->done = count_done;
		assert_false(pool_full(p));
		assert_int_equal(pool_submit(p, j), 0);
		while (!started)                /* the worker has taken the first job */
			sleep_ms(1);
	}
	assert_true(pool_full(p));              /* 49 waiting behind the one under way */
	pthread_create(&t, NULL, release_later, NULL);
	pool_stop(p);
	pthread_join(t, NULL);
	assert_int_equal(ran, 1);
	assert_int_equal(dropped, 50);          /* 49 let go, and the one that ran */
}

static void test_full_queue_refuses(void **state)
{
	struct pool *p = pool_start("test", 1, 2, no_urls, NULL, 0, NULL);
	int refused = 0;

	(void)state;
	ran = 0;
	/* the one worker cannot keep up with a tight loop of 10,000 */
	for (int i = 0; i < 10000; i++) {
		struct pool_job *j = new_job();

		if (pool_submit(p, j) < 0) {
			free(j);
			refused++;
		}
	}
	{
		struct pool_stats st[8];
		size_t n = pool_stats_all(st, 8), k;

		for (k = 0; k < n && st[k].max_queue != 2; k++)
			;
		assert_true(k < n);                     /* this pool, listed while it runs */
		assert_string_equal(st[k].name, "test");
		assert_int_equal(st[k].rejected, refused);
		assert_int_equal(st[k].limit, 1);
	}
	pool_stop(p);
	assert_int_equal(pool_stats_all(NULL, 0), 0);   /* stopped: no longer listed */
	assert_true(refused > 0);
	assert_int_equal(ran + refused, 10000);
}

static _Atomic bool toggling;

static void *toggle(void *arg)
{
	(void)arg;
	while (toggling) {
		wanted_flag = !wanted_flag;
		sched_yield();
	}
	return NULL;
}

/* Workers leaving while jobs arrive: every job runs. */
static void test_no_job_lost_while_workers_leave(void **state)
{
	struct pool *p = pool_start("test", 2, 100000, no_urls, NULL, 0, wanted);
	pthread_t t;
	const long n = 20000;

	(void)state;
	ran = 0;
	toggling = true;
	assert_int_equal(pthread_create(&t, NULL, toggle, NULL), 0);
	for (long i = 0; i < n; i++) {
		assert_int_equal(pool_submit(p, new_job()), 0);
		if (i % 64 == 0)
			sched_yield();
	}
	for (int i = 0; i < 1000 && ran < n; i++)
		sleep_ms(10);
	toggling = false;
	pthread_join(t, NULL);
	assert_int_equal(ran, n);
	wanted_flag = false;
	assert_int_equal(settle_at(base), base);
	pool_stop(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fixed_pool_starts_at_once),
		cmocka_unit_test(test_stop_drops_queued_jobs),
		cmocka_unit_test(test_on_demand_pool),
		cmocka_unit_test(test_full_queue_refuses),
		cmocka_unit_test(test_no_job_lost_while_workers_leave),
	};
	int failed;

	base = threads();
	failed = cmocka_run_group_tests(tests, NULL, NULL);

	return failed || stores_seen != 0;
}
