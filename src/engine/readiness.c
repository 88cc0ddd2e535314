/*
 * readiness.c — is a route ready to be served by the other store (see
 * control.h): the evidence of its comparisons and latencies judged against
 * the readiness settings, and the gate every flip passes.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "control_private.h"
#include "copies.h"
#include "json.h"

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

void readiness_assess(const struct route_state *rt, const struct metrics_route *mr, struct readiness *a)
{
	enum which_store sec = mode_mongo_first(control_mode(rt->res)) ? WS_LEGACY : WS_MONGO;
	uint64_t hist[LAT_BUCKETS];
	int64_t last = rt->last_mismatch_us, now = now_mono_us();

	readiness_store_calls(mr, sec, hist);
	a->p99 = readiness_quantile_ms(hist, 0.99);
	a->compared = readiness_compared(mr);
	a->mismatched = mr->outcomes[OUT_MISMATCHED];
	a->recent = last && now - last < (int64_t)ctl.cfg->readiness.window_seconds * 1000000;
	a->since_s = last ? (double)(now - last) / 1e6 : 0;
	a->pending = rt->pending;
}

/* NULL when the route may be handed to the other store, else why not;
 * detail (when given) gets the figures behind the verdict. */
const char *readiness_verdict(const struct readiness *a, char *detail, size_t n)
{
	char ignored[8];

	if (!detail) {
		detail = ignored;
		n = sizeof(ignored);
	}
	if (a->recent) {
		snprintf(detail, n, "%llu unexplained mismatch%s, the last %.0f s ago; none may be in the last %d s",
		         (unsigned long long)a->mismatched, a->mismatched == 1 ? "" : "es", a->since_s,
		         ctl.cfg->readiness.window_seconds);
		return "not ready: unexplained mismatches";
	}
	if (a->compared < (uint64_t)ctl.cfg->readiness.min_comparisons) {
		snprintf(detail, n, "%llu comparisons of %d needed", (unsigned long long)a->compared,
		         ctl.cfg->readiness.min_comparisons);
		return "not ready: too few comparisons";
	}
	if (a->pending > 0) {
		snprintf(detail, n, "%lld writes not yet in the secondary store", (long long)a->pending);
		return "not ready: writes not yet copied";
	}
	if (a->p99 > ctl.cfg->readiness.max_latency_ms) {
		snprintf(detail, n, "secondary p99 %.1f ms, over %d ms", a->p99, ctl.cfg->readiness.max_latency_ms);
		return "not ready: secondary latency over the bound";
	}
	snprintf(detail, n, "%llu comparisons, no unexplained mismatch in %d s, nothing to copy, secondary p99 "
	         "%.1f ms", (unsigned long long)a->compared, ctl.cfg->readiness.window_seconds, a->p99);
	return NULL;
}

/* The verdict on r now. */
static const char *judge(const struct route_state *rt, char *detail, size_t n)
{
	struct metrics_route mr;
	struct readiness a;

	metrics_route(rt->res->index, &mr);
	readiness_assess(rt, &mr, &a);
	return readiness_verdict(&a, detail, n);
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
void readiness_checks_json(struct buf *b, const struct readiness *a)
{
	char d[160];

	buf_puts(b, ",\"readiness_checks\":[");
	snprintf(d, sizeof(d), "%llu of %d needed", (unsigned long long)a->compared, ctl.cfg->readiness.min_comparisons);
	check_json(b, true, "comparisons", a->compared >= (uint64_t)ctl.cfg->readiness.min_comparisons, d);
	if (a->recent)
		snprintf(d, sizeof(d), "%llu unexplained, the last %.0f s ago (the window is %d s)",
		         (unsigned long long)a->mismatched, a->since_s, ctl.cfg->readiness.window_seconds);
	else
		snprintf(d, sizeof(d), "none unexplained in the last %d s", ctl.cfg->readiness.window_seconds);
	check_json(b, false, "mismatches", !a->recent, d);
	snprintf(d, sizeof(d), "%lld writes waiting to be copied", (long long)a->pending);
	check_json(b, false, "copies", a->pending <= 0, d);
	snprintf(d, sizeof(d), "%.1f ms, the bound %d ms", a->p99, ctl.cfg->readiness.max_latency_ms);
	check_json(b, false, "secondary_p99", a->p99 <= ctl.cfg->readiness.max_latency_ms, d);
	buf_putc(b, ']');
}

bool control_ready(const struct resource *r)
{
	return judge(ctl_route(r), NULL, 0) == NULL;
}

/* Does a flip from → to need the route to be ready?  Those that move its
 * reads to MongoDB, and those that stop the copies to the legacy store. */
static bool needs_readiness(enum mode from, enum mode to)
{
	return (!mode_mongo_first(from) && mode_mongo_first(to)) ||
	       (to == MODE_MONGODB && from != MODE_MONGODB && !ctl.cfg->rollback_copy);
}

/* Before shadow, MongoDB must hold what the legacy store holds: the
 * comparisons of a route not copied would all be mismatches.  From legacy
 * nothing reaches MongoDB (and legacy mode does not look at it), so the
 * way is dual-write, then the copy; from dual-write the last count says. */
static const char *not_copied(const struct route_state *rt, enum mode to, char *detail, size_t n)
{
	enum mode from = control_mode(rt->res);
	int64_t legacy, mongo;
	double age;

	if ((from != MODE_LEGACY && from != MODE_DUAL_WRITE) || to == MODE_LEGACY || to == MODE_DUAL_WRITE ||
	    to == MODE_PASSTHROUGH)
		return NULL;
	if (from == MODE_LEGACY)
		snprintf(detail, n, "in legacy its writes do not reach MongoDB: first cutover mode %s dual-write, then "
		         "cutover migrate --resource %s", rt->res->name, rt->res->name);
	/* Refused only on a count made now: the last one may be from before
	 * a migrate that has just filled MongoDB. */
	else if (copies_count(rt->res, &legacy, &mongo, &age) && mongo < legacy &&
	         copies_count_now(rt->res, &legacy, &mongo) && mongo < legacy)
		snprintf(detail, n, "MongoDB holds %lld of the legacy store's %lld records: copy them first, cutover "
		         "migrate --resource %s", (long long)mongo, (long long)legacy, rt->res->name);
	else
		return NULL;
	return "not ready: not copied to MongoDB";
}

static int gate_route(struct route_state *rt, enum mode to, struct error *err, size_t *said)
{
	const char *why;
	char detail[200];

	if (!(why = not_copied(rt, to, detail, sizeof(detail))) &&
	    (!needs_readiness(control_mode(rt->res), to) || !(why = judge(rt, detail, sizeof(detail)))))
		return 0;
	*said += (size_t)snprintf(err->msg + *said, sizeof(err->msg) - *said, "%s%s is not ready for %s: %s (%s)",
	                          *said ? "; " : "", rt->res->name, mode_name(to), why + strlen("not ready: "),
	                          detail);
	if (*said >= sizeof(err->msg))
		*said = sizeof(err->msg) - 1;
	return -1;
}

int control_gate(const struct resource *r, int mode, struct error *err)
{
	struct route_state *rt = ctl_route(r);
	size_t i, said = 0;
	int rc = 0;

	err->code = 0;
	err->msg[0] = '\0';
	if (mode < -1 || (r && !rt))
		return 0;
	if (r)
		return gate_route(rt, mode >= 0 ? (enum mode)mode : (enum mode)ctl.global, err, &said);
	for (i = 0; i < ctl.n; i++)
		if (ctl.routes[i].mode == MODE_GLOBAL && ctl.routes[i].target == MODE_UNCHANGED && gate_route(&ctl.routes[i], (enum mode)mode,
		                                                                     err, &said) < 0)
			rc = -1;
	return rc;
}
