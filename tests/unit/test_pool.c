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
#include <event2/event.h>
#include <event2/thread.h>

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

/* Time limits: a job running past its limit has its outcome given by
 * expired (and cannot claim it), a job queued past it never runs, a job
 * that claims in time is never expired; done follows for every one, on
 * the loop. */
struct timed {
	struct pool_job job;
	int hold_ms;                /* run takes this long */
	bool claimed, expired, done;
};

static struct event_base *timed_base;
static int timed_left;          /* jobs not done yet (on the loop's thread only) */

static void timed_run(struct pool_job *job, struct store *const stores[POOL_SLOTS])
{
	struct timed *t = (struct timed *)job;

	(void)stores;
	sleep_ms(t->hold_ms);
	t->claimed = pool_job_claim(job);
}

static void timed_expired(struct pool_job *job)
{
	struct timed *t = (struct timed *)job;

	assert_false(t->done);
	t->expired = true;
}

static void timed_done(struct pool_job *job)
{
	struct timed *t = (struct timed *)job;

	assert_int_equal(pool_job_expired(job), t->expired);
	t->done = true;
	timed_left--;
}

/* Run the loop until every job submitted is done (at most 5 s). */
static void timed_wait(void)
{
	for (int i = 0; i < 1000 && timed_left > 0; i++) {
		event_base_loop(timed_base, EVLOOP_NONBLOCK);
		sleep_ms(5);
	}
}

static void test_time_limits(void **state)
{
	struct pool *p = pool_start("test", 1, 16, no_urls, NULL, 0, NULL);
	struct mailbox *m;
	/* slow: runs 300 ms with 50; queued: waits behind it with 100;
	 * quick: alone, 0 ms with 5 s */
	struct timed slow = {.hold_ms = 300}, queued = {.hold_ms = 0}, quick = {.hold_ms = 0};
	struct timed *all[] = {&slow, &queued, &quick};
	const int64_t limit_us[] = {50000, 100000, 5000000};
	size_t i;

	(void)state;
	evthread_use_pthreads();
	timed_base = event_base_new();
	m = mailbox_new(timed_base);
	for (i = 0; i < 3; i++) {
		all[i]->job.run = timed_run;
		all[i]->job.done = timed_done;
		all[i]->job.expired = timed_expired;
		all[i]->job.reply_to = m;
	}
	timed_left = 2;
	assert_int_equal(pool_submit_within(p, &slow.job, limit_us[0]), 0);
	assert_int_equal(pool_submit_within(p, &queued.job, limit_us[1]), 0);
	timed_wait();
	assert_true(slow.done && slow.expired && slow.job.ran && !slow.claimed);
	assert_true(queued.done && queued.expired && !queued.job.ran);
	timed_left = 1;
	assert_int_equal(pool_submit_within(p, &quick.job, limit_us[2]), 0);
	timed_wait();
	assert_true(quick.done && !quick.expired && quick.job.ran && quick.claimed);
	pool_stop(p);
	mailbox_free(m);
	event_base_free(timed_base);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fixed_pool_starts_at_once),
		cmocka_unit_test(test_stop_drops_queued_jobs),
		cmocka_unit_test(test_on_demand_pool),
		cmocka_unit_test(test_full_queue_refuses),
		cmocka_unit_test(test_no_job_lost_while_workers_leave),
		cmocka_unit_test(test_time_limits),
	};
	int failed;

	base = threads();
	failed = cmocka_run_group_tests(tests, NULL, NULL);

	return failed || stores_seen != 0;
}
