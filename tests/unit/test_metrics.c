/*
 * test_metrics.c — the counter shards: counts from many threads add up
 * exactly, a thread that ends hands its shard on (totals never drop, shards
 * do not pile up), statuses land in their slots, and metrics off stops the
 * per-request counters only.
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "metrics.h"

static struct resource res[2];
static struct resource *resp[2] = {&res[0], &res[1]};
static struct config cfg;

static int setup(void **state)
{
	(void)state;
	memset(&cfg, 0, sizeof(cfg));
	res[0].index = 0;
	res[1].index = 1;
	cfg.resources = resp;
	cfg.nresources = 2;
	cfg.metrics = true;
	return metrics_init(&cfg);
}

static int teardown(void **state)
{
	(void)state;
	metrics_fini();
	return 0;
}

#define PER_THREAD 100000

static void *counter(void *arg)
{
	int i;

	(void)arg;
	for (i = 0; i < PER_THREAD; i++) {
		metrics_request(0, MODE_SHADOW, WS_LEGACY, i % 2 ? 200 : 404);
		metrics_latency(&res[1], WS_MONGO, ROLE_SECONDARY, 3);
		metrics_outcome(&res[1], OUT_MATCHED);
	}
	return NULL;
}

static void run_threads(int n)
{
	pthread_t t[8];
	int i;

	for (i = 0; i < n; i++)
		assert_int_equal(pthread_create(&t[i], NULL, counter, NULL), 0);
	for (i = 0; i < n; i++)
		pthread_join(t[i], NULL);
}

static int status_slot_of(const char *label)
{
	int i;

	for (i = 0; i < METRIC_STATUSES; i++)
		if (strcmp(metrics_status_label(i), label) == 0)
			return i;
	return -1;
}

static void test_threads_add_up_and_shards_are_reused(void **state)
{
	struct metrics_route r;
	int ok = status_slot_of("200"), nf = status_slot_of("404");

	(void)state;
	run_threads(4);
	metrics_route(0, &r);
	assert_int_equal(r.requests[MODE_SHADOW][WS_LEGACY][ok], 2 * PER_THREAD);
	assert_int_equal(r.requests[MODE_SHADOW][WS_LEGACY][nf], 2 * PER_THREAD);
	metrics_route(1, &r);
	assert_int_equal(r.outcomes[OUT_MATCHED], 4 * PER_THREAD);
	/* 3 µs falls in the bucket up to 4 µs (b = 2). */
	assert_int_equal(r.latency[WS_MONGO][ROLE_SECONDARY][2], 4 * PER_THREAD);
	assert_int_equal(r.latency_sum_us[WS_MONGO][ROLE_SECONDARY], 12 * PER_THREAD);
	/* The next threads take the shards the first ones left: totals go on. */
	run_threads(4);
	run_threads(2);
	metrics_route(1, &r);
	assert_int_equal(r.outcomes[OUT_MATCHED], 10 * PER_THREAD);
	assert_true(metrics_shards() <= 4);
}

static void test_statuses_and_routes(void **state)
{
	struct metrics_route r;

	(void)state;
	metrics_request(METRIC_ROUTE_ADMIN(&cfg), MODE_LEGACY, STORE_NONE, 401);
	metrics_request(METRIC_ROUTE_NONE(&cfg), MODE_LEGACY, STORE_NONE, 418);
	metrics_request(METRIC_ROUTE_NONE(&cfg), MODE_LEGACY, STORE_NONE, 1000);
	metrics_request(99, MODE_LEGACY, STORE_NONE, 200);          /* no such route: ignored */
	metrics_route(METRIC_ROUTE_ADMIN(&cfg), &r);
	assert_int_equal(r.requests[MODE_LEGACY][STORE_NONE][status_slot_of("401")], 1);
	metrics_route(METRIC_ROUTE_NONE(&cfg), &r);
	assert_int_equal(r.requests[MODE_LEGACY][STORE_NONE][status_slot_of("4xx")], 1);
	assert_int_equal(r.requests[MODE_LEGACY][STORE_NONE][status_slot_of("5xx")], 1);
	assert_int_equal(metrics_bucket_us(0), 1);
	assert_int_equal(metrics_bucket_us(LAT_BUCKETS - 1), 1 << (LAT_BUCKETS - 1));
}

static void test_off_stops_request_counters_only(void **state)
{
	struct metrics_route r;
	uint64_t pt[METRIC_STATUSES];

	(void)state;
	cfg.metrics = false;
	metrics_request(0, MODE_LEGACY, WS_LEGACY, 200);
	metrics_latency(&res[0], WS_LEGACY, ROLE_AUTHORITATIVE, 10);
	metrics_passthrough(200);
	metrics_latency(&res[0], WS_MONGO, ROLE_SECONDARY, 10);   /* readiness needs these */
	metrics_outcome(&res[0], OUT_RACED);
	cfg.metrics = true;
	metrics_route(0, &r);
	assert_int_equal(r.requests[MODE_LEGACY][WS_LEGACY][status_slot_of("200")], 0);
	assert_int_equal(r.latency_sum_us[WS_LEGACY][ROLE_AUTHORITATIVE], 0);
	assert_int_equal(r.latency_sum_us[WS_MONGO][ROLE_SECONDARY], 10);
	assert_int_equal(r.outcomes[OUT_RACED], 1);
	metrics_passthrough_totals(pt);
	assert_int_equal(pt[status_slot_of("200")], 0);
	metrics_passthrough(502);
	metrics_passthrough_totals(pt);
	assert_int_equal(pt[status_slot_of("502")], 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_threads_add_up_and_shards_are_reused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_statuses_and_routes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_off_stops_request_counters_only, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
