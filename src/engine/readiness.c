/*
 * readiness.c — is a route ready to be served by the other store (see
 * control.h): the evidence of its comparisons and latencies judged against
 * the readiness settings, and the gate every flip passes.  It keeps no
 * state: it judges what the metrics, the mismatches and the write marks
 * hold.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "control.h"
#include "copies.h"
#include "json.h"

/* The figures readiness is judged on, taken once. */
struct readiness {
	uint64_t compared, mismatched;
	bool recent;                    /* an unexplained mismatch within the window */
	double since_s;                 /* its age */
	int64_t pending;                /* writes not yet in the secondary store */
	double p99;                     /* the secondary's, ms */
};

static const struct config *cfg;

void readiness_init(const struct config *c)
{
	cfg = c;
}

/* The upper bound of the bucket holding the q-th fraction of the calls
 * counted in hist, in ms. */
double readiness_quantile_ms(const uint64_t hist[LAT_BUCKETS], double q)
{
	uint64_t total = 0, seen = 0;
	int b;

	for (b = 0; b < LAT_BUCKETS; b++)
		total += hist[b];
	if (!total)
		return 0;
	for (b = 0; b < LAT_BUCKETS; b++) {
		seen += hist[b];
		if (seen >= (uint64_t)(q * (double)total + 0.999))
			break;
	}
	return (double)metrics_bucket_us(b < LAT_BUCKETS ? b : LAT_BUCKETS - 1) / 1000.0;
}

/* Every call to store s, whichever role it had. */
uint64_t readiness_store_calls(const struct metrics_route *mr, enum which_store s, uint64_t hist[LAT_BUCKETS])
{
	uint64_t n = 0;
	int b, role;

	for (b = 0; b < LAT_BUCKETS; b++) {
		hist[b] = 0;
		for (role = 0; role < ROLE_COUNT; role++)
			hist[b] += mr->latency[s][role][b];
		n += hist[b];
	}
	return n;
}

uint64_t readiness_compared(const struct metrics_route *mr)
{
	return mr->outcomes[OUT_MATCHED] + mr->outcomes[OUT_MISMATCHED] + mr->outcomes[OUT_RACED] +
	       mr->outcomes[OUT_NOISE] + mr->outcomes[OUT_ORDERING];
}

static void assess(const struct resource *r, const struct metrics_route *mr, struct readiness *a)
{
	enum which_store sec = mode_secondary(control_mode(r));
	uint64_t hist[LAT_BUCKETS];
	int64_t last = mismatch_last_us(r), now = now_mono_us();

	readiness_store_calls(mr, sec, hist);
	a->p99 = readiness_quantile_ms(hist, 0.99);
	a->compared = readiness_compared(mr);
	a->mismatched = mr->outcomes[OUT_MISMATCHED];
	a->recent = last && now - last < (int64_t)cfg->readiness.window_seconds * 1000000;
	a->since_s = last ? (double)(now - last) / 1e6 : 0;
	a->pending = control_pending(r);
}

/* NULL when the route may be handed to the other store, else why not;
 * detail (when given) gets the figures behind the verdict. */
static const char *verdict(const struct readiness *a, char *detail, size_t n)
{
	char ignored[8];

	if (!detail) {
		detail = ignored;
		n = sizeof(ignored);
	}
	if (a->recent) {
		snprintf(detail, n, "%llu unexplained mismatch%s, the last %.0f s ago; none may be in the last %d s",
		         (unsigned long long)a->mismatched, a->mismatched == 1 ? "" : "es", a->since_s,
		         cfg->readiness.window_seconds);
		return "not ready: unexplained mismatches";
	}
	if (a->compared < (uint64_t)cfg->readiness.min_comparisons) {
		snprintf(detail, n, "%llu comparisons of %d needed", (unsigned long long)a->compared,
		         cfg->readiness.min_comparisons);
		return "not ready: too few comparisons";
	}
	if (a->pending > 0) {
		snprintf(detail, n, "%lld writes not yet in the secondary store", (long long)a->pending);
		return "not ready: writes not yet copied";
	}
	if (a->p99 > cfg->readiness.max_latency_ms) {
		snprintf(detail, n, "secondary p99 %.1f ms, over %d ms", a->p99, cfg->readiness.max_latency_ms);
		return "not ready: secondary latency over the bound";
	}
	snprintf(detail, n, "%llu comparisons, no unexplained mismatch in %d s, nothing to copy, secondary p99 "
	         "%.1f ms", (unsigned long long)a->compared, cfg->readiness.window_seconds, a->p99);
	return NULL;
}

/* The verdict on r now. */
static const char *judge(const struct resource *r, char *detail, size_t n)
{
	struct metrics_route mr;
	struct readiness a;

	metrics_route(r->index, &mr);
	assess(r, &mr, &a);
	return verdict(&a, detail, n);
}

static void check_json(struct buf *b, bool first, const char *check, bool ok, const char *detail)
{
	buf_printf(b, "%s{\"check\":\"%s\",\"ok\":%s,\"detail\":", first ? "" : ",", check,
	           ok ? "true" : "false");
	json_put_cstr(b, detail);
	buf_putc(b, '}');
}

/* Every readiness check with its figures, passed or not, for the admin
 * API (and so `cutover plan`): [{"check", "ok", "detail"}…]. */
static void checks_json(struct buf *b, const struct readiness *a)
{
	char d[160];

	buf_puts(b, ",\"readiness_checks\":[");
	snprintf(d, sizeof(d), "%llu of %d needed", (unsigned long long)a->compared, cfg->readiness.min_comparisons);
	check_json(b, true, "comparisons", a->compared >= (uint64_t)cfg->readiness.min_comparisons, d);
	if (a->recent)
		snprintf(d, sizeof(d), "%llu unexplained, the last %.0f s ago (the window is %d s)",
		         (unsigned long long)a->mismatched, a->since_s, cfg->readiness.window_seconds);
	else
		snprintf(d, sizeof(d), "none unexplained in the last %d s", cfg->readiness.window_seconds);
	check_json(b, false, "mismatches", !a->recent, d);
	snprintf(d, sizeof(d), "%lld writes waiting to be copied", (long long)a->pending);
	check_json(b, false, "copies", a->pending <= 0, d);
	snprintf(d, sizeof(d), "%.1f ms, the bound %d ms", a->p99, cfg->readiness.max_latency_ms);
	check_json(b, false, "secondary_p99", a->p99 <= cfg->readiness.max_latency_ms, d);
	buf_putc(b, ']');
}

void readiness_route_json(struct buf *b, const struct resource *r, const struct metrics_route *mr)
{
	struct readiness a;
	const char *why;
	char detail[200];

	assess(r, mr, &a);
	why = verdict(&a, detail, sizeof(detail));
	buf_printf(b, ",\"ready\":%s,\"readiness\":", why ? "false" : "true");
	json_put_cstr(b, why ? why : "ready");
	buf_puts(b, ",\"readiness_detail\":");
	json_put_cstr(b, detail);
	checks_json(b, &a);
}

bool control_ready(const struct resource *r)
{
	return cfg && r && judge(r, NULL, 0) == NULL;
}

/* Does a flip from → to need the route to be ready?  Those that move its
 * reads to MongoDB, and those that stop the copies to the legacy store. */
static bool needs_readiness(enum mode from, enum mode to)
{
	return (!mode_mongo_first(from) && mode_mongo_first(to)) ||
	       (to == MODE_MONGODB && from != MODE_MONGODB && !cfg->rollback_copy);
}

/* Before shadow, MongoDB must hold what the legacy store holds: the
 * comparisons of a route not copied would all be mismatches.  From legacy
 * nothing reaches MongoDB (and legacy mode does not look at it), so the
 * way is dual-write, then the copy; from dual-write the last count says. */
static const char *not_copied(const struct resource *r, enum mode to, char *detail, size_t n)
{
	enum mode from = control_mode(r);
	int64_t legacy, mongo;
	double age;

	if ((from != MODE_LEGACY && from != MODE_DUAL_WRITE) || to == MODE_LEGACY || to == MODE_DUAL_WRITE ||
	    to == MODE_PASSTHROUGH)
		return NULL;
	if (from == MODE_LEGACY)
		snprintf(detail, n, "in legacy its writes do not reach MongoDB: first cutover mode %s dual-write, then "
		         "cutover migrate --resource %s", r->name, r->name);
	/* Refused only on a count made now: the last one may be from before
	 * a migrate that has just filled MongoDB. */
	else if (copies_count(r, &legacy, &mongo, &age) && mongo < legacy &&
	         copies_count_now(r, &legacy, &mongo) && mongo < legacy)
		snprintf(detail, n, "MongoDB holds %lld of the legacy store's %lld records: copy them first, cutover "
		         "migrate --resource %s", (long long)mongo, (long long)legacy, r->name);
	else
		return NULL;
	return "not ready: not copied to MongoDB";
}

static int gate_route(const struct resource *r, enum mode to, struct error *err, size_t *said)
{
	const char *why;
	char detail[200];

	if (!(why = not_copied(r, to, detail, sizeof(detail))) &&
	    (!needs_readiness(control_mode(r), to) || !(why = judge(r, detail, sizeof(detail)))))
		return 0;
	*said += (size_t)snprintf(err->msg + *said, sizeof(err->msg) - *said, "%s%s is not ready for %s: %s (%s)",
	                          *said ? "; " : "", r->name, mode_name(to), why + strlen("not ready: "),
	                          detail);
	if (*said >= sizeof(err->msg))
		*said = sizeof(err->msg) - 1;
	return -1;
}

int control_gate(const struct resource *r, int mode, struct error *err)
{
	size_t i, said = 0;
	int rc = 0;

	err->code = 0;
	err->msg[0] = '\0';
	if (!cfg || mode < MODE_GLOBAL || (r && (size_t)r->index >= cfg->nresources))
		return 0;
	if (r)
		return gate_route(r, mode >= 0 ? (enum mode)mode : control_mode(NULL), err, &said);
	for (i = 0; i < cfg->nresources; i++)
		if (control_follows_global(cfg->resources[i]) &&
		    gate_route(cfg->resources[i], (enum mode)mode, err, &said) < 0)
			rc = -1;
	return rc;
}

static const struct config_key keys[] = {
	{"readiness", "min_comparisons", CFG_INT, CFG_FIELD(readiness.min_comparisons), 0, 1L << 30, "100", NULL,
	 NULL,
	 "comparisons a route needs before it is ready"},
	{"readiness", "max_latency_ms", CFG_INT, CFG_FIELD(readiness.max_latency_ms), 1, 600000, "250", NULL, NULL,
	 "the secondary p99 a ready route must stay under"},
	{"readiness", "window_seconds", CFG_INT, CFG_FIELD(readiness.window_seconds), 1, 1L << 30, "3600", NULL, NULL,
	 "seconds with no unexplained mismatch for a route to be ready"},
};

const struct config_module readiness_config = {"readiness", keys, ARRAY_LEN(keys), NULL};
