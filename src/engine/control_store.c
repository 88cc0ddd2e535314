/*
 * control_store.c — where the runtime modes live (see control_store.h).
 *
 * Each route's mode and sample are rows of a cutover_routes table (the
 * legacy store's) or collection (MongoDB's, once handed over): a flip made
 * here is written at the next tick, and every row another instance wrote
 * is applied.  Rows "@control" (the hand-over) and "@evidence:NAME" (an
 * evidence reset, from a gateway or a tool) travel the same way.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "control.h"
#include "control_store.h"
#include "copies.h"
#include "store.h"

static struct {
	const struct config *cfg;
	size_t n;                       /* routes */
	pthread_mutex_t mu;
	bool *pending;                  /* per route, and [n] for the global mode */
	int64_t *seen;                  /* the version last applied, likewise */
	/* Evidence resets: to write, per route (and why), and the version of
	 * each route's reset row last seen. */
	bool *reset_pending;
	char (*reset_why)[128];
	int64_t *reset_seen;
	bool polled;                    /* the first look is done: what it found is history */
	struct store *store;
	bool in_mongo;                  /* the modes are in MongoDB's cutover_routes */
	bool handed_over;               /* the legacy store says so: switch at the end of this poll */
} CS = {.mu = PTHREAD_MUTEX_INITIALIZER};

/* The row of the legacy control store that says the modes moved to MongoDB. */
#define HANDED_OVER "@control"
/* "@evidence:NAME": a row whose every new version resets route NAME's
 * evidence (its mode column says why). */
#define EVIDENCE "@evidence:"

void control_persist(const struct resource *r)
{
	bool queued = false;

	pthread_mutex_lock(&CS.mu);
	if (CS.pending)
		queued = CS.pending[r ? (size_t)r->index : CS.n] = true;
	pthread_mutex_unlock(&CS.mu);
	if (queued)
		control_wake();
}

static size_t slot_of(const char *route)
{
	const struct resource *r = config_resource(CS.cfg, route, strlen(route));

	return r ? (size_t)r->index : strcmp(route, "*") == 0 ? CS.n : (size_t)-1;
}

/* Another instance's evidence reset, or a tool's (migrate, verify,
 * repair); one found at the first look is history. */
static void evidence_row(const struct route_row *row, int reset)
{
	const char *name = row->route + strlen(EVIDENCE);
	const struct resource *r = config_resource(CS.cfg, name, strlen(name));

	if (!r || row->version <= CS.reset_seen[r->index])
		return;
	CS.reset_seen[r->index] = row->version;
	if (CS.polled && r->index != reset) {
		control_reset_here(r, row->mode);
		copies_recount();       /* a migrate may have filled MongoDB */
	}
}

/* One row read: a mode or sample another instance set, applied here. */
static void apply_row(const struct route_row *row, int slot, int reset)
{
	int mode = *row->mode ? mode_parse(row->mode) : -1, now_mode, now_sample;
	size_t k;

	if (!CS.in_mongo && strcmp(row->route, HANDED_OVER) == 0 && strcmp(row->mode, "mongodb") == 0)
		CS.handed_over = true;
	if (strncmp(row->route, EVIDENCE, strlen(EVIDENCE)) == 0)
		return evidence_row(row, reset);
	k = slot_of(row->route);
	if (k == (size_t)-1 || row->version <= CS.seen[k])
		return;
	CS.seen[k] = row->version;
	if ((int)k == slot)
		return;         /* our own write */
	if (mode >= 0 && mode_unavailable(CS.cfg, mode)) {
		fprintf(stderr, "cutover: control store: %s wants mode %s, which %s here; ignored\n",
		        row->route, row->mode, mode_unavailable(CS.cfg, mode));
		return;
	}
	control_setting(k < CS.n ? CS.cfg->resources[k] : NULL, &now_mode, &now_sample);
	if (now_mode != mode || (k < CS.n && now_sample != row->sample))
		fprintf(stderr, "cutover: control store: %s mode %s sample %d\n", row->route,
		        *row->mode ? row->mode : "(global)", row->sample);
	control_apply(row->route, mode, row->sample);
}

/* The one row to write this time (an evidence reset first, then a mode),
 * in *set: *reset or *slot says which; both -1: none. */
static void next_write(struct arena *a, struct route_row *set, int *slot, int *reset)
{
	size_t i;

	pthread_mutex_lock(&CS.mu);
	for (i = 0; i <= CS.n && *slot < 0; i++)
		if (CS.pending[i])
			*slot = (int)i;
	for (i = 0; i < CS.n && *slot < 0 && *reset < 0; i++)
		if (CS.reset_pending[i]) {
			*reset = (int)i;
			*set = (struct route_row){arena_printf(a, EVIDENCE "%s", CS.cfg->resources[i]->name),
			                          arena_strdup(a, CS.reset_why[i]), 0, 0};
		}
	pthread_mutex_unlock(&CS.mu);
	if (*reset < 0 && *slot >= 0) {
		const struct resource *r = (size_t)*slot < CS.n ? CS.cfg->resources[*slot] : NULL;
		int mode;

		control_setting(r, &mode, &set->sample);
		set->route = r ? r->name : "*";
		set->mode = mode >= 0 ? mode_name((enum mode)mode) : "";
	}
}

/* Write what is pending, read everything, apply what others changed. */
static int poll_store(void)
{
	struct arena a;
	struct store_error err;
	struct route_row *rows = NULL, set;
	size_t n = 0, i;
	int rc, slot = -1, reset = -1;

	arena_init(&a, 1024);
	next_write(&a, &set, &slot, &reset);
	rc = store_routes(CS.store, slot >= 0 || reset >= 0 ? &set : NULL, &a, &rows, &n, &err);
	if (rc == 0 && (slot >= 0 || reset >= 0)) {
		pthread_mutex_lock(&CS.mu);
		if (reset >= 0)
			CS.reset_pending[reset] = false;
		else
			CS.pending[slot] = false;
		pthread_mutex_unlock(&CS.mu);
	}
	if (rc < 0) {
		static int64_t last;

		if (now_mono_us() - last > 30 * 1000000LL) {
			fprintf(stderr, "cutover: control store: %s\n", err.msg);
			last = now_mono_us();
		}
	}
	for (i = 0; rc == 0 && i < n; i++)
		apply_row(&rows[i], slot, reset);
	if (rc == 0)
		CS.polled = true;
	arena_reset(&a);
	return slot >= 0 || reset >= 0 ? 1 : 0;
}

/* From now on the modes are read from and written to MongoDB: every
 * version there is new to this instance. */
static void use_mongo(void)
{
	struct store_error err;
	struct store *m = store_open(CS.cfg->mongodb_uri, CS.cfg, &err);

	CS.handed_over = false;
	if (!m) {
		fprintf(stderr, "cutover: control store: cannot move to MongoDB: %s\n", err.msg);
		return;
	}
	store_close(CS.store);
	CS.store = m;
	CS.in_mongo = true;
	memset(CS.seen, 0, (CS.n + 1) * sizeof(*CS.seen));
	memset(CS.reset_seen, 0, (CS.n + 1) * sizeof(*CS.reset_seen));
	CS.polled = false;
	fprintf(stderr, "cutover: control store: the modes are in MongoDB (cutover_routes) from now on\n");
	poll_store();
}

static bool poll_all(void)
{
	if (CS.store)
		while (poll_store() > 0)
			;
	if (CS.handed_over)
		use_mongo();
	return CS.store != NULL;
}

static void evidence(const struct resource *r, const char *why)
{
	pthread_mutex_lock(&CS.mu);
	if (CS.reset_pending) {
		CS.reset_pending[r->index] = true;
		snprintf(CS.reset_why[r->index], sizeof(CS.reset_why[0]), "%s", why);
	}
	pthread_mutex_unlock(&CS.mu);
	control_wake();
}

int control_store_reset(const struct config *cfg, const struct resource *r, const char *why)
{
	struct store_error err = {0};
	bool mongo = strcmp(cfg->control_store, "mongodb") == 0;
	struct store *s = NULL;
	struct route_row set, *rows;
	struct arena a;
	size_t n, i;
	int rc = -1;

	arena_init(&a, 1024);
	set = (struct route_row){arena_printf(&a, EVIDENCE "%s", r->name), why, 0, 0};
	/* The legacy table, unless the modes moved to MongoDB. */
	if (!mongo && (s = store_open(cfg->database_url, cfg, &err)) &&
	    store_routes(s, NULL, &a, &rows, &n, &err) == 0)
		for (i = 0; i < n; i++)
			if (strcmp(rows[i].route, HANDED_OVER) == 0 && strcmp(rows[i].mode, "mongodb") == 0)
				mongo = true;
	if (mongo) {
		store_close(s);
		s = store_open(cfg->mongodb_uri, cfg, &err);
	}
	if (s)
		rc = store_routes(s, &set, &a, &rows, &n, &err);
	if (rc < 0)
		fprintf(stderr, "cutover: %s: the gateways could not be told to start its evidence afresh: %s\n", r->name,
		        err.msg);
	else
		fprintf(stderr, "%s: mismatches recorded until now no longer hold its readiness back\n", r->name);
	store_close(s);
	arena_reset(&a);
	return rc;
}

int control_store_hand_over(const struct config *cfg)
{
	struct store_error err;
	struct store *legacy = NULL, *mongo = NULL;
	struct route_row *rows, marker = {HANDED_OVER, "mongodb", 0, 0};
	struct arena a;
	size_t n, i, copied = 0;
	int rc = 1;

	arena_init(&a, 1024);
	if (!*cfg->mongodb_uri)
		fprintf(stderr, "cutover: the control store can move to MongoDB only with mongodb_uri set\n");
	else if (!(legacy = store_open(cfg->database_url, cfg, &err)) || !(mongo = store_open(cfg->mongodb_uri, cfg, &err)))
		fprintf(stderr, "cutover: control store: %s\n", err.msg);
	else if (store_routes(legacy, NULL, &a, &rows, &n, &err) < 0)
		fprintf(stderr, "cutover: control store: the legacy store: %s\n", err.msg);
	else {
		rc = 0;
		for (i = 0; rc == 0 && i < n; i++) {
			struct route_row *got;
			size_t m;

			if (strcmp(rows[i].route, HANDED_OVER) == 0)
				continue;
			if (store_routes(mongo, &rows[i], &a, &got, &m, &err) < 0) {
				fprintf(stderr, "cutover: control store: MongoDB: %s\n", err.msg);
				rc = 1;
			}
			copied++;
		}
		/* Last: the instances switch when they read it. */
		if (rc == 0 && store_routes(legacy, &marker, &a, &rows, &n, &err) < 0) {
			fprintf(stderr, "cutover: control store: the legacy store: %s\n", err.msg);
			rc = 1;
		}
		if (rc == 0)
			printf("the modes of %zu routes are in MongoDB's cutover_routes now; every gateway moves there at its "
			       "next look (within a second), and reads them there when it starts\n", copied);
	}
	store_close(legacy);
	store_close(mongo);
	arena_reset(&a);
	return rc;
}

static const struct control_store_hooks hooks = {control_persist, poll_all, evidence};

int control_store_start(const struct config *cfg)
{
	struct store_error err;
	bool mongo = strcmp(cfg->control_store, "mongodb") == 0;

	CS.cfg = cfg;
	CS.n = cfg->nresources;
	CS.in_mongo = mongo;
	if (!(CS.store = store_open(mongo ? cfg->mongodb_uri : cfg->database_url, cfg, &err))) {
		fprintf(stderr, "cutover: control store: %s\n", err.msg);
		return -1;
	}
	if (!CS.store->ops->routes) {
		store_close(CS.store);
		CS.store = NULL;
		return 0;
	}
	CS.pending = xcalloc(CS.n + 1, sizeof(*CS.pending));
	CS.seen = xcalloc(CS.n + 1, sizeof(*CS.seen));
	CS.reset_pending = xcalloc(CS.n + 1, sizeof(*CS.reset_pending));
	CS.reset_why = xcalloc(CS.n + 1, sizeof(*CS.reset_why));
	CS.reset_seen = xcalloc(CS.n + 1, sizeof(*CS.reset_seen));
	CS.polled = false;
	control_on_store(&hooks);
	/* Modes persisted earlier win over the file, before the first request. */
	poll_store();
	if (CS.handed_over)
		use_mongo();
	return 0;
}

void control_store_stop(void)
{
	/* Flips not written yet are written now. */
	if (CS.store)
		while (poll_store() > 0)
			;
	store_close(CS.store);
	CS.store = NULL;
	free(CS.pending);
	free(CS.seen);
	free(CS.reset_pending);
	free(CS.reset_why);
	free(CS.reset_seen);
	CS.pending = NULL;
	CS.seen = NULL;
	CS.reset_pending = NULL;
	CS.reset_why = NULL;
	CS.reset_seen = NULL;
}
