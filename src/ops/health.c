/*
 * health.c — store checks for the readiness probe (see health.h).
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "control.h"
#include "copies.h"
#include "health.h"
#include "shadow.h"

#define LOOK_EVERY_MS 1000

static struct {
	const struct config *cfg;
	char *urls[WS_COUNT];               /* with the secondary time limit */
	struct store *store[WS_COUNT];      /* kept open between looks */
	_Atomic int up[WS_COUNT];
	_Atomic int64_t looking[WS_COUNT];  /* when the look under way began (monotonic); 0: none */
	char why[WS_COUNT][256];            /* under mu */
	pthread_mutex_t mu;
	int64_t next_us;
	int64_t next_count_us;
} H = {.mu = PTHREAD_MUTEX_INITIALIZER};

static const char *const store_names[WS_COUNT] = {"legacy store", "MongoDB server"};

/* Which stores do the current modes answer from? */
static void needed(bool need[WS_COUNT])
{
	size_t i;

	need[WS_LEGACY] = need[WS_MONGO] = false;
	for (i = 0; i < H.cfg->nresources; i++) {
		enum mode m = control_mode(H.cfg->resources[i]);

		if (m != MODE_PASSTHROUGH)
			need[mode_authority(m)] = true;
	}
}

void health_start(const struct config *cfg)
{
	const char *urls[WS_COUNT] = {cfg->database_url, cfg->mongodb_uri};
	int s;

	H.cfg = cfg;
	H.next_us = H.next_count_us = 0;
	for (s = 0; s < WS_COUNT; s++) {
		H.urls[s] = urls[s] && *urls[s] ? shadow_url(urls[s], cfg->shadow.timeout_ms) : NULL;
		H.up[s] = -1;
	}
	copies_start(cfg, (const char *const *)H.urls);
	health_tick();
}

void health_stop(void)
{
	int s;

	for (s = 0; s < WS_COUNT; s++) {
		store_close(H.store[s]);
		free(H.urls[s]);
		H.store[s] = NULL;
		H.urls[s] = NULL;
	}
	copies_stop();
	H.cfg = NULL;
}

static void look(enum which_store s)
{
	struct store_error err = {0};
	bool answers;

	if (!H.urls[s]) {
		answers = false;
		snprintf(err.msg, sizeof(err.msg), "not configured");
	} else {
		H.looking[s] = now_mono_us();
		if (!H.store[s])
			H.store[s] = store_open(H.urls[s], H.cfg, &err);
		answers = H.store[s] && store_answers(H.store[s], H.cfg, &err);
		H.looking[s] = 0;
		if (!answers) {
			store_close(H.store[s]);            /* connect afresh next time */
			H.store[s] = NULL;
		}
	}
	pthread_mutex_lock(&H.mu);
	snprintf(H.why[s], sizeof(H.why[s]), "%s", answers ? "" : err.msg);
	pthread_mutex_unlock(&H.mu);
	if (!answers && H.up[s] != 0)
		fprintf(stderr, "cutover: health: the %s does not answer: %s\n", store_names[s], err.msg);
	else if (answers && H.up[s] == 0)
		fprintf(stderr, "cutover: health: the %s answers again\n", store_names[s]);
	H.up[s] = answers;
}

int health_tick(void)
{
	int64_t now = now_mono_us();
	bool need[WS_COUNT];
	int s;

	if (!H.cfg)
		return -1;
	if (now >= H.next_us) {
		needed(need);
		for (s = 0; s < WS_COUNT; s++) {
			if (need[s]) {
				look((enum which_store)s);
			} else if (H.store[s]) {
				store_close(H.store[s]);        /* no mode needs it: let it go */
				H.store[s] = NULL;
				H.up[s] = -1;
			}
		}
		now = now_mono_us();
		H.next_us = now + LOOK_EVERY_MS * 1000LL;
	}
	if ((now = now_mono_us()) >= H.next_count_us || copies_due()) {
		bool *dual = xcalloc(H.cfg->nresources + 1, sizeof(*dual));
		size_t i;

		for (i = 0; i < H.cfg->nresources; i++)
			dual[i] = control_mode(H.cfg->resources[i]) == MODE_DUAL_WRITE;
		copies_tick(dual);
		free(dual);
		now = now_mono_us();
		H.next_count_us = now + COPIES_EVERY_MS * 1000LL;
	}
	return (int)(((H.next_us < H.next_count_us ? H.next_us : H.next_count_us) - now + 999) / 1000);
}

/* A look that has waited a second past the time limit (a store that does
 * not answer fails the look within the limit): the store stalls, and the
 * driver may wait for it longer than the limit says. */
static int64_t stalled_ms(enum which_store s)
{
	int64_t began = H.looking[s], waited = began ? (now_mono_us() - began) / 1000 : 0;

	return waited > H.cfg->shadow.timeout_ms + 1000 ? waited : 0;
}

bool health_ready(struct buf *reason, bool detail)
{
	bool need[WS_COUNT], ready = true;
	int s;

	if (!H.cfg)
		return false;
	needed(need);
	for (s = 0; s < WS_COUNT; s++) {
		int64_t stalled = stalled_ms((enum which_store)s);

		/* A store no look has seen yet (a flip just now) is given the
		 * benefit of the doubt until the next look, a second at most. */
		if (!need[s] || (H.up[s] != 0 && !stalled))
			continue;
		pthread_mutex_lock(&H.mu);
		if (stalled)
			buf_printf(reason, "%sthe %s has not answered a look for %lld ms, and routes are served from it",
			           ready ? "" : "; ", store_names[s], (long long)stalled);
		else if (detail)
			buf_printf(reason, "%sthe %s does not answer (%s), and routes are served from it", ready ? "" : "; ",
			           store_names[s], H.why[s]);
		else
			buf_printf(reason, "%sthe %s does not answer, and routes are served from it", ready ? "" : "; ",
			           store_names[s]);
		pthread_mutex_unlock(&H.mu);
		ready = false;
	}
	return ready;
}

int health_store_up(enum which_store s)
{
	return H.cfg && stalled_ms(s) ? 0 : H.up[s];
}
