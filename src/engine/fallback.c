/*
 * fallback.c — the automatic fallback (see control.h): a window of what
 * MongoDB did each second for the routes it serves, judged against the
 * fallback settings, and the flip back to the legacy store.
 */
#include <stdio.h>
#include <string.h>

#include "control_private.h"

/* A route flipped (by a person, by the fallback, here or on another
 * instance) is judged on what MongoDB does from now on, not on what made
 * it fall back before. */
void fallback_afresh(struct route_state *rt)
{
	size_t i;

	for (i = 0; i < FALLBACK_SLOTS; i++)
		rt->window[i].sec = 0;
}

static bool falls_back(enum mode m)
{
	return ctl.cfg->fallback.enabled && (m == MODE_LIVE || (m == MODE_RAMPDOWN && ctl.cfg->fallback.rampdown));
}

/* This second's counters for r (reset when the slot held an older second;
 * two threads resetting at once may lose a count: a rate, not a ledger). */
static struct second *this_second(struct route_state *rt)
{
	int64_t now = now_mono_us() / 1000000;
	struct second *sl = &rt->window[now % FALLBACK_SLOTS];
	int64_t was = sl->sec;

	if (was != now && atomic_compare_exchange_strong(&sl->sec, &was, now)) {
		sl->requests = sl->errors = sl->timeouts = sl->slow = 0;
		sl->compared = sl->mismatched = 0;
	}
	return sl;
}

void control_observe(const struct resource *r, enum mode m, int status, enum store_err e, int64_t us)
{
	struct route_state *rt = ctl_route(r);
	struct second *sl;

	if (!rt || !falls_back(m))
		return;
	sl = this_second(rt);
	sl->requests++;
	if (e == STORE_TIMEOUT)
		sl->timeouts++;
	else if (status >= 500)
		sl->errors++;
	if (us > (int64_t)ctl.cfg->fallback.max_p99_ms * 1000)
		sl->slow++;
}

void control_observe_comparison(const struct resource *r, enum mode m, bool mismatched)
{
	struct route_state *rt = ctl_route(r);
	struct second *sl;

	if (!rt || !falls_back(m))
		return;
	sl = this_second(rt);
	sl->compared++;
	if (mismatched)
		sl->mismatched++;
}

/* Why rt should fall back now, in why; false when it should not. */
static bool failing(struct route_state *rt, const char *down, char *why, size_t n)
{
	int64_t now = now_mono_us() / 1000000;
	uint64_t req = 0, err = 0, tmo = 0, slow = 0, cmp = 0, mis = 0;
	const int w = ctl.cfg->fallback.window_seconds;
	size_t i;

	if (down) {
		snprintf(why, n, "%s", down);
		return true;
	}
	for (i = 0; i < FALLBACK_SLOTS; i++) {
		struct second *sl = &rt->window[i];

		if (sl->sec > now - w && sl->sec <= now) {
			req += sl->requests;
			err += sl->errors;
			tmo += sl->timeouts;
			slow += sl->slow;
			cmp += sl->compared;
			mis += sl->mismatched;
		}
	}
	if (req >= (uint64_t)ctl.cfg->fallback.min_requests) {
		if (err * 100 > req * (uint64_t)ctl.cfg->fallback.max_error_percent) {
			snprintf(why, n, "MongoDB errors on %llu of %llu requests in %d s (over %d %%)",
			         (unsigned long long)err, (unsigned long long)req, w, ctl.cfg->fallback.max_error_percent);
			return true;
		}
		if (tmo * 100 > req * (uint64_t)ctl.cfg->fallback.max_timeout_percent) {
			snprintf(why, n, "MongoDB timed out on %llu of %llu requests in %d s (over %d %%)",
			         (unsigned long long)tmo, (unsigned long long)req, w, ctl.cfg->fallback.max_timeout_percent);
			return true;
		}
		if (slow * 100 > req) {
			snprintf(why, n, "MongoDB p99 over %d ms: %llu of %llu requests slower in %d s",
			         ctl.cfg->fallback.max_p99_ms, (unsigned long long)slow, (unsigned long long)req, w);
			return true;
		}
	}
	if (cmp >= (uint64_t)ctl.cfg->fallback.min_requests &&
	    mis * 100 > cmp * (uint64_t)ctl.cfg->fallback.max_mismatch_percent) {
		snprintf(why, n, "%llu mismatches of %llu comparisons in %d s (over %d %%)", (unsigned long long)mis,
		         (unsigned long long)cmp, w, ctl.cfg->fallback.max_mismatch_percent);
		return true;
	}
	return false;
}

void control_fallback(const char *down)
{
	struct error err;
	char why[256];
	size_t i;

	if (!ctl.cfg || !ctl.cfg->fallback.enabled)
		return;
	for (i = 0; i < ctl.n; i++) {
		struct route_state *rt = &ctl.routes[i];
		enum mode m = control_mode(rt->res);

		if (!falls_back(m) || rt->target != MODE_UNCHANGED || !failing(rt, down, why, sizeof(why)))
			continue;
		if (control_set(rt->res, MODE_SHADOW, -1, &err) < 0) {
			fprintf(stderr, "cutover: fallback of %s to shadow failed: %s\n", rt->res->name, err.msg);
			continue;
		}
		ctl_persist(rt->res);
		rt->fallbacks++;
		pthread_mutex_lock(&ctl.mu);
		snprintf(rt->fallback_why, sizeof(rt->fallback_why), "%s", why);
		rt->fallback_at = now_wall_us();
		pthread_mutex_unlock(&ctl.mu);
		fprintf(stderr, "cutover: fallback: %s from %s to shadow, by itself: %s; it stays in shadow until it is "
		        "flipped again\n", rt->res->name, mode_name(m), why);
	}
}

uint64_t control_fallbacks(const struct resource *r)
{
	struct route_state *rt = ctl_route(r);

	return rt ? rt->fallbacks : 0;
}
