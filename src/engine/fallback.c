/*
 * fallback.c — the automatic fallback (see control.h): a window of what
 * MongoDB did each second for the routes it serves, judged against the
 * fallback settings, and the flip back to the legacy store.  Its state,
 * one window per route, is its own.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "control.h"
#include "control_store.h"
#include "json.h"

#define FALLBACK_SLOTS 64       /* seconds of history, at least fallback.window_seconds */

/* One second of what MongoDB did for a route it serves. */
struct second {
	_Atomic int64_t sec;
	_Atomic uint32_t requests, errors, timeouts, slow, compared, mismatched;
};

struct window {
	struct second sec[FALLBACK_SLOTS];
	_Atomic uint64_t fallbacks;
	char why[256];                  /* the last, under fb.mu; "" none */
	int64_t at;                     /* wall clock, us */
};

static struct {
	const struct config *cfg;
	pthread_mutex_t mu;
	struct window *routes;          /* by resource index */
	size_t n;
} fb = {.mu = PTHREAD_MUTEX_INITIALIZER};

static struct window *window_of(const struct resource *r)
{
	return r && (size_t)r->index < fb.n ? &fb.routes[r->index] : NULL;
}

void fallback_init(const struct config *cfg)
{
	fb.cfg = cfg;
	fb.n = cfg->nresources;
	fb.routes = xcalloc(fb.n ? fb.n : 1, sizeof(*fb.routes));
}

void fallback_fini(void)
{
	free(fb.routes);
	fb.routes = NULL;
	fb.n = 0;
	fb.cfg = NULL;
}

/* A route flipped (by a person, by the fallback, here or on another
 * instance) is judged on what MongoDB does from now on, not on what made
 * it fall back before. */
void fallback_afresh(const struct resource *r)
{
	struct window *w = window_of(r);
	size_t i;

	for (i = 0; w && i < FALLBACK_SLOTS; i++)
		w->sec[i].sec = 0;
}

static bool falls_back(enum mode m)
{
	return fb.cfg->fallback.enabled && (m == MODE_LIVE || (m == MODE_RAMPDOWN && fb.cfg->fallback.rampdown));
}

/* This second's counters for r (reset when the slot held an older second;
 * two threads resetting at once may lose a count: a rate, not a ledger). */
static struct second *this_second(struct window *w)
{
	int64_t now = now_mono_us() / 1000000;
	struct second *sl = &w->sec[now % FALLBACK_SLOTS];
	int64_t was = sl->sec;

	if (was != now && atomic_compare_exchange_strong(&sl->sec, &was, now)) {
		sl->requests = sl->errors = sl->timeouts = sl->slow = 0;
		sl->compared = sl->mismatched = 0;
	}
	return sl;
}

void control_observe(const struct resource *r, enum mode m, int status, enum store_err e, int64_t us)
{
	struct window *w = window_of(r);
	struct second *sl;

	if (!w || !falls_back(m))
		return;
	sl = this_second(w);
	sl->requests++;
	if (e == STORE_TIMEOUT)
		sl->timeouts++;
	else if (status >= 500)
		sl->errors++;
	if (us > (int64_t)fb.cfg->fallback.max_p99_ms * 1000)
		sl->slow++;
}

void control_observe_comparison(const struct resource *r, enum mode m, bool mismatched)
{
	struct window *w = window_of(r);
	struct second *sl;

	if (!w || !falls_back(m))
		return;
	sl = this_second(w);
	sl->compared++;
	if (mismatched)
		sl->mismatched++;
}

/* Why the route whose window is wi should fall back now, in why; false when it should not. */
static bool failing(const struct window *wi, const char *down, char *why, size_t n)
{
	int64_t now = now_mono_us() / 1000000;
	uint64_t req = 0, err = 0, tmo = 0, slow = 0, cmp = 0, mis = 0;
	const int w = fb.cfg->fallback.window_seconds;
	size_t i;

	if (down) {
		snprintf(why, n, "%s", down);
		return true;
	}
	for (i = 0; i < FALLBACK_SLOTS; i++) {
		const struct second *sl = &wi->sec[i];

		if (sl->sec > now - w && sl->sec <= now) {
			req += sl->requests;
			err += sl->errors;
			tmo += sl->timeouts;
			slow += sl->slow;
			cmp += sl->compared;
			mis += sl->mismatched;
		}
	}
	if (req >= (uint64_t)fb.cfg->fallback.min_requests) {
		if (err * 100 > req * (uint64_t)fb.cfg->fallback.max_error_percent) {
			snprintf(why, n, "MongoDB errors on %llu of %llu requests in %d s (over %d %%)",
			         (unsigned long long)err, (unsigned long long)req, w, fb.cfg->fallback.max_error_percent);
			return true;
		}
		if (tmo * 100 > req * (uint64_t)fb.cfg->fallback.max_timeout_percent) {
			snprintf(why, n, "MongoDB timed out on %llu of %llu requests in %d s (over %d %%)",
			         (unsigned long long)tmo, (unsigned long long)req, w, fb.cfg->fallback.max_timeout_percent);
			return true;
		}
		if (slow * 100 > req) {
			snprintf(why, n, "MongoDB p99 over %d ms: %llu of %llu requests slower in %d s",
			         fb.cfg->fallback.max_p99_ms, (unsigned long long)slow, (unsigned long long)req, w);
			return true;
		}
	}
	if (cmp >= (uint64_t)fb.cfg->fallback.min_requests &&
	    mis * 100 > cmp * (uint64_t)fb.cfg->fallback.max_mismatch_percent) {
		snprintf(why, n, "%llu mismatches of %llu comparisons in %d s (over %d %%)", (unsigned long long)mis,
		         (unsigned long long)cmp, w, fb.cfg->fallback.max_mismatch_percent);
		return true;
	}
	return false;
}

void control_fallback(const char *down)
{
	struct error err;
	char why[256];
	size_t i;

	if (!fb.cfg || !fb.cfg->fallback.enabled)
		return;
	for (i = 0; i < fb.n; i++) {
		const struct resource *r = fb.cfg->resources[i];
		struct window *w = &fb.routes[i];
		enum mode m = control_mode(r);

		if (!falls_back(m) || control_flipping(r) || !failing(w, down, why, sizeof(why)))
			continue;
		if (control_set(r, MODE_SHADOW, -1, &err) < 0) {
			fprintf(stderr, "cutover: fallback of %s to shadow failed: %s\n", r->name, err.msg);
			continue;
		}
		control_persist(r);
		w->fallbacks++;
		pthread_mutex_lock(&fb.mu);
		snprintf(w->why, sizeof(w->why), "%s", why);
		w->at = now_wall_us();
		pthread_mutex_unlock(&fb.mu);
		fprintf(stderr, "cutover: fallback: %s from %s to shadow, by itself: %s; it stays in shadow until it is "
		        "flipped again\n", r->name, mode_name(m), why);
	}
}

uint64_t control_fallbacks(const struct resource *r)
{
	struct window *w = window_of(r);

	return w ? w->fallbacks : 0;
}

void fallback_route_json(struct buf *b, const struct resource *r)
{
	struct window *w = window_of(r);
	char when[40];

	if (!w)
		return;
	buf_printf(b, ",\"fallbacks\":%llu,\"fallback\":", (unsigned long long)w->fallbacks);
	pthread_mutex_lock(&fb.mu);
	if (w->why[0]) {
		datetime_format_api(w->at, when);
		buf_printf(b, "{\"at\":\"%s\",\"reason\":", when);
		json_put_cstr(b, w->why);
		buf_putc(b, '}');
	} else {
		buf_puts(b, "null");
	}
	pthread_mutex_unlock(&fb.mu);
}

static const struct config_key keys[] = {
	{"fallback", "enabled", CFG_BOOL, CFG_FIELD(fallback.enabled), 0, 0, "true", NULL, NULL,
	 "flip a live route back to shadow by itself when MongoDB fails"},
	{"fallback", "rampdown", CFG_BOOL, CFG_FIELD(fallback.rampdown), 0, 0, NULL, NULL, NULL,
	 "rampdown routes fall back to shadow too when MongoDB fails"},
	{"fallback", "window_seconds", CFG_INT, CFG_FIELD(fallback.window_seconds), 1, FALLBACK_SLOTS - 2, "30", NULL,
	 NULL,
	 "the seconds of requests the fallback judges"},
	{"fallback", "min_requests", CFG_INT, CFG_FIELD(fallback.min_requests), 1, 1 << 30, "20", NULL, NULL,
	 "requests in the window before the fallback judges"},
	{"fallback", "max_error_percent", CFG_INT, CFG_FIELD(fallback.max_error_percent), 0, 100, "5", NULL, NULL,
	 "MongoDB errors above this share of the window flip back"},
	{"fallback", "max_timeout_percent", CFG_INT, CFG_FIELD(fallback.max_timeout_percent), 0, 100, "5", NULL, NULL,
	 "MongoDB timeouts above this share of the window flip back"},
	{"fallback", "max_mismatch_percent", CFG_INT, CFG_FIELD(fallback.max_mismatch_percent), 0, 100, "5", NULL,
	 NULL,
	 "mismatches above this share of the window's comparisons flip back"},
	{"fallback", "max_p99_ms", CFG_INT, CFG_FIELD(fallback.max_p99_ms), 1, 600000, "2000", NULL, NULL,
	 "a MongoDB p99 above this flips back"},
};

const struct config_module fallback_config = {"fallback", keys, ARRAY_LEN(keys), NULL};
