/*
 * exposition.c — /metrics in the Prometheus text format (version 0.0.4).
 *
 * Every family is written at each scrape from the sums of the counter
 * shards (metrics.c) and the state of the control, journal, pools, shadow
 * breaker, health checks and connection guard.  Series of requests and
 * latency appear once they count something; those of comparisons, modes
 * and readiness are there for every route from the start.
 * docs/metrics.md lists each family.
 */
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "control.h"
#include "exposition.h"
#include "health.h"
#include "journal.h"
#include "metrics.h"
#include "pool.h"
#include "proxy.h"
#include "shadow.h"

static const char *const store_label[WS_COUNT + 1] = {"legacy", "mongodb", "none"};
static const char *const role_label[ROLE_COUNT] = {"authoritative", "secondary"};
static const char *const outcome_label[OUT_COUNT] = {"match", "mismatch", "raced", "error", "timeout",
                                                     "dropped", "noise", "ordering"};

static void family(struct buf *b, const char *name, const char *type, const char *help)
{
	buf_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* A label value: backslash, double quote and line feed escaped. */
static void label_value(struct buf *b, const char *v)
{
	for (; *v; v++) {
		if (*v == '\\' || *v == '"')
			buf_putc(b, '\\');
		if (*v == '\n')
			buf_puts(b, "\\n");
		else
			buf_putc(b, *v);
	}
}

static void route_label(struct buf *b, const char *name, const char *route)
{
	buf_printf(b, "%s{route=\"", name);
	label_value(b, route);
	buf_putc(b, '"');
}

static void sample_u(struct buf *b, uint64_t v)
{
	buf_printf(b, "} %llu\n", (unsigned long long)v);
}

static const char *route_name(const struct config *cfg, int i)
{
	if (i == METRIC_ROUTE_NONE(cfg))
		return "-";
	if (i == METRIC_ROUTE_ADMIN(cfg))
		return "admin";
	return cfg->resources[i]->name;
}

static void requests(struct buf *b, const struct config *cfg, const struct metrics_route *mr, int nroutes)
{
	int i, m, s, k;

	family(b, "cutover_requests_total", "counter",
	       "Requests the gateway answered, by route, the route's mode, the store that answered and status.");
	for (i = 0; i < nroutes; i++)
		for (m = 0; m < MODE_COUNT; m++)
			for (s = 0; s <= WS_COUNT; s++)
				for (k = 0; k < METRIC_STATUSES; k++) {
					if (!mr[i].requests[m][s][k])
						continue;
					route_label(b, "cutover_requests_total", route_name(cfg, i));
					buf_printf(b, ",mode=\"%s\",store=\"%s\",code=\"%s\"", mode_name((enum mode)m),
					           store_label[s], metrics_status_label(k));
					sample_u(b, mr[i].requests[m][s][k]);
				}
}

static void latency(struct buf *b, const struct config *cfg, const struct metrics_route *mr)
{
	const char *name = "cutover_store_latency_seconds";
	size_t i;
	int s, role, k;

	family(b, name, "histogram", "Time a store took to answer a request (authoritative) or its comparison "
	       "read or copy (secondary), by route and store.");
	for (i = 0; i < cfg->nresources; i++)
		for (s = 0; s < WS_COUNT; s++)
			for (role = 0; role < ROLE_COUNT; role++) {
				const uint64_t *h = mr[i].latency[s][role];
				uint64_t seen = 0;

				for (k = 0; k < LAT_BUCKETS; k++)
					seen += h[k];
				if (!seen)
					continue;
				seen = 0;
				for (k = 0; k < LAT_BUCKETS; k++) {
					seen += h[k];
					route_label(b, "cutover_store_latency_seconds_bucket", cfg->resources[i]->name);
					buf_printf(b, ",store=\"%s\",role=\"%s\",le=\"%.9g\"", store_label[s], role_label[role],
					           (double)metrics_bucket_us(k) / 1e6);
					sample_u(b, seen);
				}
				route_label(b, "cutover_store_latency_seconds_bucket", cfg->resources[i]->name);
				buf_printf(b, ",store=\"%s\",role=\"%s\",le=\"+Inf\"", store_label[s], role_label[role]);
				sample_u(b, seen);
				route_label(b, "cutover_store_latency_seconds_sum", cfg->resources[i]->name);
				buf_printf(b, ",store=\"%s\",role=\"%s\"} %.6f\n", store_label[s], role_label[role],
				           (double)mr[i].latency_sum_us[s][role] / 1e6);
				route_label(b, "cutover_store_latency_seconds_count", cfg->resources[i]->name);
				buf_printf(b, ",store=\"%s\",role=\"%s\"", store_label[s], role_label[role]);
				sample_u(b, seen);
			}
}

struct path_out {
	struct buf *b;
	const char *name, *route;
};

static void path_line(void *arg, const char *path, uint64_t n)
{
	struct path_out *o = arg;

	route_label(o->b, o->name, o->route);
	buf_puts(o->b, ",path=\"");
	label_value(o->b, path);
	buf_putc(o->b, '"');
	sample_u(o->b, n);
}

static void comparisons(struct buf *b, const struct config *cfg, const struct metrics_route *mr)
{
	uint64_t dropped[cfg->nresources ? cfg->nresources : 1];
	size_t i;
	int o;

	family(b, "cutover_comparisons_total", "counter",
	       "Shadow comparisons of the two stores' answers, by route and outcome.");
	for (i = 0; i < cfg->nresources; i++)
		for (o = 0; o < OUT_COUNT; o++) {
			route_label(b, "cutover_comparisons_total", cfg->resources[i]->name);
			buf_printf(b, ",outcome=\"%s\"", outcome_label[o]);
			sample_u(b, mr[i].outcomes[o]);
		}
	family(b, "cutover_mismatched_paths_total", "counter",
	       "Mismatches by the JSON path that differed (the first 128 paths of each route).");
	for (i = 0; i < cfg->nresources; i++) {
		struct path_out po = {b, "cutover_mismatched_paths_total", cfg->resources[i]->name};

		control_paths(cfg->resources[i], PATHS_MISMATCHED, path_line, &po, &dropped[i]);
	}
	family(b, "cutover_noisy_paths_total", "counter",
	       "Paths at which two reads of the authoritative store differed (the noise baseline), by route.");
	for (i = 0; i < cfg->nresources; i++) {
		struct path_out po = {b, "cutover_noisy_paths_total", cfg->resources[i]->name};

		control_paths(cfg->resources[i], PATHS_NOISY, path_line, &po, NULL);
	}
	family(b, "cutover_mismatched_paths_dropped_total", "counter",
	       "Differences at paths past the 128 kept per route, not counted by path.");
	for (i = 0; i < cfg->nresources; i++) {
		route_label(b, "cutover_mismatched_paths_dropped_total", cfg->resources[i]->name);
		sample_u(b, dropped[i]);
	}
}

static void modes(struct buf *b, const struct config *cfg)
{
	enum mode global = control_mode(NULL);
	size_t i;
	int m;

	family(b, "cutover_route_mode", "gauge", "1 for the mode each route is served in, 0 for the others.");
	for (i = 0; i < cfg->nresources; i++) {
		enum mode cur = control_mode(cfg->resources[i]);

		for (m = 0; m < MODE_COUNT; m++) {
			route_label(b, "cutover_route_mode", cfg->resources[i]->name);
			buf_printf(b, ",mode=\"%s\"", mode_name((enum mode)m));
			sample_u(b, m == (int)cur);
		}
	}
	family(b, "cutover_global_mode", "gauge", "1 for the global mode (routes without their own), 0 for the others.");
	for (m = 0; m < MODE_COUNT; m++)
		buf_printf(b, "cutover_global_mode{mode=\"%s\"} %d\n", mode_name((enum mode)m), m == (int)global);
	family(b, "cutover_fallbacks_total", "counter",
	       "Times the route flipped itself from live back to shadow because MongoDB failed it.");
	for (i = 0; i < cfg->nresources; i++) {
		route_label(b, "cutover_fallbacks_total", cfg->resources[i]->name);
		sample_u(b, control_fallbacks(cfg->resources[i]));
	}
	family(b, "cutover_route_ready", "gauge",
	       "1 when the route may be handed to the other store (readiness), else 0.");
	for (i = 0; i < cfg->nresources; i++) {
		route_label(b, "cutover_route_ready", cfg->resources[i]->name);
		sample_u(b, control_ready(cfg->resources[i]));
	}
}

static void journal(struct buf *b)
{
	struct journal_stats st;
	int64_t now = now_wall_us();

	journal_stats(&st);
	family(b, "cutover_journal_depth", "gauge", "Secondary writes waiting in the repair journal.");
	buf_printf(b, "cutover_journal_depth %lld\n", (long long)st.depth);
	family(b, "cutover_journal_oldest_age_seconds", "gauge", "Age of the oldest journal entry; 0 when empty.");
	buf_printf(b, "cutover_journal_oldest_age_seconds %.3f\n",
	           st.oldest_us && now > st.oldest_us ? (double)(now - st.oldest_us) / 1e6 : 0.0);
	family(b, "cutover_journal_drained_total", "counter", "Journal entries applied to the secondary store.");
	buf_printf(b, "cutover_journal_drained_total %llu\n", (unsigned long long)st.drained);
	family(b, "cutover_journal_failed_total", "counter", "Attempts to apply a journal entry that failed.");
	buf_printf(b, "cutover_journal_failed_total %llu\n", (unsigned long long)st.failures);
}

static void pools(struct buf *b)
{
	static const struct {
		const char *name, *type, *help;
	} fam[] = {
		{"cutover_pool_workers", "gauge", "Store worker threads running."},
		{"cutover_pool_busy", "gauge", "Store workers serving a job now."},
		{"cutover_pool_max_workers", "gauge", "Store workers the pool may run."},
		{"cutover_pool_queued", "gauge", "Jobs waiting for a store worker."},
		{"cutover_pool_max_queued", "gauge", "Jobs that may wait before new ones are refused."},
		{"cutover_pool_rejected_total", "counter",
		 "Jobs refused because the queue was full (a 503, a dropped comparison, a copy left to the journal)."},
	};
	struct pool_stats ps[8];
	size_t n = pool_stats_all(ps, ARRAY_LEN(ps)), i, f;

	if (n > ARRAY_LEN(ps))
		n = ARRAY_LEN(ps);
	for (f = 0; f < ARRAY_LEN(fam); f++) {
		family(b, fam[f].name, fam[f].type, fam[f].help);
		for (i = 0; i < n; i++) {
			uint64_t v[] = {(uint64_t)ps[i].workers, (uint64_t)ps[i].busy, (uint64_t)ps[i].limit,
			                ps[i].queued, ps[i].max_queue, ps[i].rejected};

			buf_printf(b, "%s{pool=\"%s\"} %llu\n", fam[f].name, ps[i].name, (unsigned long long)v[f]);
		}
	}
}

static void stores(struct buf *b)
{
	int s, up;

	family(b, "cutover_secondary_breaker_open", "gauge",
	       "1 while copies to the store are left to the journal because it failed a moment ago.");
	for (s = 0; s < WS_COUNT; s++)
		buf_printf(b, "cutover_secondary_breaker_open{store=\"%s\"} %d\n", store_label[s],
		           shadow_breaker_open((enum which_store)s));
	family(b, "cutover_store_up", "gauge",
	       "1 when the last readiness check reached the store, 0 when not (only stores a mode answers from).");
	for (s = 0; s < WS_COUNT; s++)
		if ((up = health_store_up((enum which_store)s)) >= 0)
			buf_printf(b, "cutover_store_up{store=\"%s\"} %d\n", store_label[s], up);
}

static void passthrough(struct buf *b)
{
	uint64_t by_code[METRIC_STATUSES];
	struct proxy_stats st;
	int k;

	metrics_passthrough_totals(by_code);
	proxy_stats(&st);
	family(b, "cutover_passthrough_requests_total", "counter",
	       "Exchanges passed through to the application, by the status the client got (499: it left first).");
	for (k = 0; k < METRIC_STATUSES; k++)
		if (by_code[k])
			buf_printf(b, "cutover_passthrough_requests_total{code=\"%s\"} %llu\n", metrics_status_label(k),
			           (unsigned long long)by_code[k]);
	family(b, "cutover_passthrough_bytes_total", "counter", "Body bytes passed through, by direction.");
	buf_printf(b, "cutover_passthrough_bytes_total{direction=\"up\"} %llu\n"
	           "cutover_passthrough_bytes_total{direction=\"down\"} %llu\n",
	           (unsigned long long)st.bytes_up, (unsigned long long)st.bytes_down);
	family(b, "cutover_passthrough_spliced_bytes_total", "counter",
	       "Of the bytes down, those moved from socket to socket by the kernel (splice), never copied.");
	buf_printf(b, "cutover_passthrough_spliced_bytes_total %llu\n", (unsigned long long)st.spliced);
	family(b, "cutover_passthrough_connections_total", "counter",
	       "Connections to the application, opened or reused from the idle ones.");
	buf_printf(b, "cutover_passthrough_connections_total{how=\"opened\"} %llu\n"
	           "cutover_passthrough_connections_total{how=\"reused\"} %llu\n",
	           (unsigned long long)st.opened, (unsigned long long)st.reused);
	family(b, "cutover_client_connections", "gauge", "Client connections open now.");
	buf_printf(b, "cutover_client_connections %lld\n", (long long)st.connections);
	family(b, "cutover_client_connections_max", "gauge", "Client connections accepted at most at once.");
	buf_printf(b, "cutover_client_connections_max %lld\n", (long long)st.max_connections);
	family(b, "cutover_client_refusals_total", "counter",
	       "Client requests refused by the connection guard, by reason.");
	buf_printf(b, "cutover_client_refusals_total{reason=\"bad_head\"} %llu\n"
	           "cutover_client_refusals_total{reason=\"request_timeout\"} %llu\n"
	           "cutover_client_refusals_total{reason=\"over_budget\"} %llu\n"
	           "cutover_client_refusals_total{reason=\"throttled\"} %llu\n"
	           "cutover_client_refusals_total{reason=\"address_connections\"} %llu\n",
	           (unsigned long long)st.refused_heads, (unsigned long long)st.request_timeouts,
	           (unsigned long long)st.over_budget, (unsigned long long)st.throttled,
	           (unsigned long long)st.refused_connections);
	family(b, "cutover_accept_pauses_total", "counter",
	       "Times the listeners stopped accepting because the connection cap was reached.");
	buf_printf(b, "cutover_accept_pauses_total %llu\n", (unsigned long long)st.accept_pauses);
	{
		/* What the process holds on its heap, and what it keeps free for reuse. */
		struct mallinfo2 mi = mallinfo2();

		family(b, "cutover_heap_bytes", "gauge", "Heap memory in use, and free but kept for reuse.");
		buf_printf(b, "cutover_heap_bytes{state=\"in_use\"} %zu\ncutover_heap_bytes{state=\"free\"} %zu\n",
		           mi.uordblks + mi.hblkhd, mi.fordblks);
	}
}

void exposition_write(struct buf *b, const struct config *cfg)
{
	int nroutes = (int)cfg->nresources + 2, i;
	struct metrics_route *mr = xcalloc((size_t)nroutes, sizeof(*mr));

	for (i = 0; i < nroutes; i++)
		metrics_route(i, &mr[i]);
	family(b, "cutover_build_info", "gauge", "The gateway's version; always 1.");
	buf_printf(b, "cutover_build_info{version=\"%s\"} 1\n", CUTOVER_VERSION);
	requests(b, cfg, mr, nroutes);
	latency(b, cfg, mr);
	comparisons(b, cfg, mr);
	modes(b, cfg);
	journal(b);
	pools(b);
	stores(b);
	passthrough(b);
	free(mr);
}
