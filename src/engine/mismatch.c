/*
 * mismatch.c — the mismatches shadow reads found (a ring of the latest,
 * counts per JSON path) and the noise baseline: the paths where two reads
 * of the authoritative store differ (see control.h).  Its state, one
 * entry per route, is its own, under its own lock (taken on the shadow
 * workers and by the admin API, never on a request's path).
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "control.h"
#include "json.h"

#define MAX_PATHS 128
/* A path is noise once re-reads of this many distinct records differed
 * there with no write between: one record's change is no evidence. */
#define NOISE_RECORDS 3
/* … and a rule is suggested only while the noisy paths are at most this
 * share (percent) of the resource's fields: past it, the comparison
 * would be blinded, whatever the reads say. */
#define NOISE_MAX_SHARE 50

struct path_count {
	char *path;
	uint64_t n;
	/* noise: the distinct records (hashes of their URIs) it differed in */
	uint32_t records[NOISE_RECORDS];
	unsigned nrecords;
};

struct mismatch {
	int64_t time_us;
	const struct resource *res;
	char *method, *uri, *body_a, *body_b, *patch;
	int64_t principal;
	int status_a, status_b;
};

/* A route's evidence; all but last_us under mm.mu. */
struct evidence {
	_Atomic int64_t last_us;                /* the last mismatch, monotonic; 0: none */
	struct path_count paths[MAX_PATHS];
	size_t npaths;
	uint64_t paths_dropped;                 /* mismatches of paths past MAX_PATHS */
	struct path_count noise[MAX_PATHS];     /* paths two authoritative reads differ at */
	size_t nnoise;
	uint64_t baselines, noisy_baselines;    /* second reads, and those that differed */
	uint64_t raced_baselines;               /* … second reads a write overlapped (not counted) */
};

static struct {
	pthread_mutex_t mu;
	struct mismatch *ring;          /* newest at ring[(head - 1) % cap] */
	size_t cap, head, count;
	struct evidence *routes;        /* by resource index */
	size_t n;
} mm = {.mu = PTHREAD_MUTEX_INITIALIZER};

static struct evidence *evidence_of(const struct resource *r)
{
	return r && (size_t)r->index < mm.n ? &mm.routes[r->index] : NULL;
}

static void mismatch_free_one(struct mismatch *m)
{
	free(m->method);
	free(m->uri);
	free(m->body_a);
	free(m->body_b);
	free(m->patch);
	memset(m, 0, sizeof(*m));
}

static char *dupn(const char *s, size_t n)
{
	char *p = xmalloc(n + 1);

	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

/* Where path (n bytes) is in list, or n_list when it is not. */
static size_t find_path(const struct path_count *list, size_t n_list, const char *path, size_t n)
{
	size_t k;

	for (k = 0; k < n_list; k++)
		if (strlen(list[k].path) == n && memcmp(list[k].path, path, n) == 0)
			break;
	return k;
}

/* Count each of paths (one per line) in list, and with rec (noise) the
 * record it differed in; how many did not fit. */
static uint64_t count_paths(struct path_count *list, size_t *n_list, const char *paths, const uint32_t *rec)
{
	const char *p;
	uint64_t dropped = 0;

	for (p = paths; p && *p;) {
		size_t n = strcspn(p, "\n"), k = find_path(list, *n_list, p, n), i;

		if (k == *n_list && k < MAX_PATHS)
			list[(*n_list)++].path = dupn(p, n);
		p += n + (p[n] == '\n');
		if (k == *n_list) {
			dropped++;
			continue;
		}
		list[k].n++;
		for (i = 0; rec && i < list[k].nrecords && list[k].records[i] != *rec; i++)
			;
		if (rec && i == list[k].nrecords && i < NOISE_RECORDS)
			list[k].records[list[k].nrecords++] = *rec;
	}
	return dropped;
}

void mismatch_init(const struct config *cfg)
{
	mm.n = cfg->nresources;
	mm.routes = xcalloc(mm.n ? mm.n : 1, sizeof(*mm.routes));
	mm.cap = (size_t)cfg->mismatch_capacity;
	mm.ring = xcalloc(mm.cap, sizeof(*mm.ring));
	mm.head = mm.count = 0;
}

void mismatch_fini(void)
{
	size_t i, k;

	for (i = 0; i < mm.cap; i++)
		mismatch_free_one(&mm.ring[i]);
	for (i = 0; i < mm.n; i++) {
		for (k = 0; k < mm.routes[i].npaths; k++)
			free(mm.routes[i].paths[k].path);
		for (k = 0; k < mm.routes[i].nnoise; k++)
			free(mm.routes[i].noise[k].path);
	}
	free(mm.ring);
	free(mm.routes);
	mm.ring = NULL;
	mm.routes = NULL;
	mm.cap = mm.n = mm.head = mm.count = 0;
}

int64_t mismatch_last_us(const struct resource *r)
{
	struct evidence *ev = evidence_of(r);

	return ev ? ev->last_us : 0;
}

void control_reset_here(const struct resource *r, const char *why)
{
	struct evidence *ev = evidence_of(r);

	if (!ev)
		return;
	ev->last_us = 0;
	fprintf(stderr, "cutover: %s: the mismatches until now no longer hold readiness back (%s)\n", r->name, why);
}

void control_mismatch(const struct resource *r, const char *method, const char *uri, int64_t principal,
                      int status_a, const char *body_a, size_t len_a,
                      int status_b, const char *body_b, size_t len_b,
                      const char *patch, size_t patch_len, const char *paths, size_t dropped)
{
	struct evidence *ev = evidence_of(r);
	struct mismatch *m;

	if (!ev)
		return;
	metrics_outcome(r, OUT_MISMATCHED);
	ev->last_us = now_mono_us();
	pthread_mutex_lock(&mm.mu);
	m = &mm.ring[mm.head];
	mismatch_free_one(m);
	m->time_us = now_wall_us();
	m->res = r;
	m->method = dupn(method, strlen(method));
	m->uri = dupn(uri, strlen(uri));
	m->principal = principal;
	m->status_a = status_a;
	m->status_b = status_b;
	m->body_a = dupn(body_a, len_a);
	m->body_b = dupn(body_b, len_b);
	m->patch = dupn(patch, patch_len);
	mm.head = (mm.head + 1) % mm.cap;
	if (mm.count < mm.cap)
		mm.count++;
	ev->paths_dropped += count_paths(ev->paths, &ev->npaths, paths, NULL) + dropped;
	pthread_mutex_unlock(&mm.mu);
}

void control_noise(const struct resource *r, const struct read_mark *m, const char *uri, const char *paths)
{
	struct evidence *ev = evidence_of(r);
	uint32_t rec;
	bool raced;

	if (!ev)
		return;
	raced = control_changed(r, m);
	rec = (uint32_t)hash_bytes(uri, strlen(uri), 0);
	pthread_mutex_lock(&mm.mu);
	if (raced) {
		ev->raced_baselines++;
	} else {
		ev->baselines++;
		if (paths && *paths) {
			ev->noisy_baselines++;
			count_paths(ev->noise, &ev->nnoise, paths, &rec);
		}
	}
	pthread_mutex_unlock(&mm.mu);
}

static bool noise_confirmed(const struct path_count *pc)
{
	return pc->nrecords >= NOISE_RECORDS;
}

bool control_all_noise(const struct resource *r, const char *paths)
{
	struct evidence *ev = evidence_of(r);
	const char *p;
	bool all = paths && *paths;

	if (!ev || !all)
		return false;
	pthread_mutex_lock(&mm.mu);
	for (p = paths; all && *p;) {
		size_t n = strcspn(p, "\n"), k = find_path(ev->noise, ev->nnoise, p, n);

		all = k < ev->nnoise && noise_confirmed(&ev->noise[k]);
		p += n + (p[n] == '\n');
	}
	pthread_mutex_unlock(&mm.mu);
	return all;
}

/* {"path": count, …} (caller holds mm.mu). */
static void paths_json(struct buf *b, const struct path_count *list, size_t n)
{
	size_t i;

	buf_putc(b, '{');
	for (i = 0; i < n; i++) {
		if (i)
			buf_putc(b, ',');
		json_put_cstr(b, list[i].path);
		buf_printf(b, ":%llu", (unsigned long long)list[i].n);
	}
	buf_putc(b, '}');
}

/* Does a field called name identify r's records (or its children's): the
 * key, a unique field, a reference?  A rule never ignores one. */
static bool identifies(const struct resource *r, const char *name)
{
	size_t i, k;

	for (i = 0; i < r->nfields; i++) {
		if (strcmp(r->fields[i].name, name) != 0)
			continue;
		if ((int)i == r->pk || r->fields[i].ref_name)
			return true;
		for (k = 0; k < r->nuniques; k++)
			if (r->uniques[k].nfields == 1 && r->uniques[k].fields[0] == (int)i)
				return true;
	}
	for (i = 0; i < r->nchildren; i++)
		if (identifies(r->children[i], name))
			return true;
	return false;
}

static size_t fields_of(const struct resource *r)
{
	size_t i, n = r->nfields;

	for (i = 0; i < r->nchildren; i++)
		n += fields_of(r->children[i]);
	return n;
}

/* Identity paths: a list's count, or a path ending at an identifying field. */
static bool identity_path(const struct resource *r, const char *path)
{
	const char *last = strrchr(path, '/');

	return strcmp(path, "/count") == 0 || !last || identifies(r, last + 1);
}

/*
 * The noise baseline, under mm.mu: the re-reads, the paths confirmed noisy
 * (re-reads of NOISE_RECORDS distinct records differed there) with the
 * evidence for every path, and the rule that would silence them — never
 * for an identity path, and withheld when the noisy paths are more than
 * NOISE_MAX_SHARE of the route's fields, which would blind the comparison.
 */
static void noise_json(struct buf *b, const struct resource *r, const struct evidence *ev)
{
	size_t i, confirmed = 0, ignorable = 0, nf = fields_of(r);

	buf_printf(b, ",\"noise_baseline\":{\"reads\":%llu,\"differed\":%llu,\"raced\":%llu,\"paths\":{",
	           (unsigned long long)ev->baselines, (unsigned long long)ev->noisy_baselines,
	           (unsigned long long)ev->raced_baselines);
	for (i = 0; i < ev->nnoise; i++) {
		if (!noise_confirmed(&ev->noise[i]))
			continue;
		buf_puts(b, confirmed++ ? "," : "");
		json_put_cstr(b, ev->noise[i].path);
		buf_printf(b, ":%llu", (unsigned long long)ev->noise[i].n);
		ignorable += !identity_path(r, ev->noise[i].path);
	}
	buf_puts(b, "},\"evidence\":{");
	for (i = 0; i < ev->nnoise; i++) {
		buf_puts(b, i ? "," : "");
		json_put_cstr(b, ev->noise[i].path);
		buf_printf(b, ":{\"reads\":%llu,\"records\":%u,\"noisy\":%s,\"identity\":%s}",
		           (unsigned long long)ev->noise[i].n, ev->noise[i].nrecords,
		           noise_confirmed(&ev->noise[i]) ? "true" : "false",
		           identity_path(r, ev->noise[i].path) ? "true" : "false");
	}
	buf_puts(b, "},\"ignore_rule\":");
	if (confirmed * 100 > (size_t)NOISE_MAX_SHARE * nf) {
		buf_puts(b, "null,\"withheld\":");
		buf_printf(b, "\"%zu paths are noisy, more than %d%% of the route's %zu fields: ignoring them would "
		           "blind the comparison; look for what changes between two reads\"", confirmed,
		           NOISE_MAX_SHARE, nf);
	} else if (ignorable) {
		buf_puts(b, "{\"compare\":{\"ignore\":[");
		for (i = 0, ignorable = 0; i < ev->nnoise; i++) {
			if (!noise_confirmed(&ev->noise[i]) || identity_path(r, ev->noise[i].path))
				continue;
			buf_puts(b, ignorable++ ? "," : "");
			json_put_cstr(b, ev->noise[i].path);
		}
		buf_puts(b, "]}},\"withheld\":null");
	} else {
		buf_puts(b, "null,\"withheld\":null");
	}
	buf_putc(b, '}');
}

void mismatch_route_json(struct buf *b, const struct resource *r)
{
	struct evidence *ev = evidence_of(r);

	if (!ev)
		return;
	pthread_mutex_lock(&mm.mu);
	buf_puts(b, ",\"mismatched_paths\":");
	paths_json(b, ev->paths, ev->npaths);
	buf_printf(b, ",\"mismatched_paths_dropped\":%llu", (unsigned long long)ev->paths_dropped);
	noise_json(b, r, ev);
	pthread_mutex_unlock(&mm.mu);
}

void control_paths(const struct resource *r, enum path_kind kind,
                   void (*each)(void *arg, const char *path, uint64_t n), void *arg, uint64_t *dropped)
{
	struct evidence *ev = evidence_of(r);
	const struct path_count *list;
	size_t i, n;

	if (dropped)
		*dropped = 0;
	if (!ev)
		return;
	pthread_mutex_lock(&mm.mu);
	list = kind == PATHS_NOISY ? ev->noise : ev->paths;
	n = kind == PATHS_NOISY ? ev->nnoise : ev->npaths;
	for (i = 0; i < n; i++)
		if (kind != PATHS_NOISY || noise_confirmed(&list[i]))
			each(arg, list[i].path, list[i].n);
	if (dropped && kind == PATHS_MISMATCHED)
		*dropped = ev->paths_dropped;
	pthread_mutex_unlock(&mm.mu);
}

void control_mismatches_json(struct buf *b, const struct resource *only, int limit)
{
	size_t i;
	int n = 0;
	char when[40];

	buf_putc(b, '[');
	pthread_mutex_lock(&mm.mu);
	for (i = 0; i < mm.count && n < limit; i++) {
		struct mismatch *m = &mm.ring[(mm.head + mm.cap - 1 - i) % mm.cap];

		if (only && m->res != only)
			continue;
		if (n++)
			buf_putc(b, ',');
		datetime_format_api(m->time_us, when);
		buf_printf(b, "{\"time\":\"%s\",\"route\":", when);
		json_put_cstr(b, m->res->name);
		buf_puts(b, ",\"method\":");
		json_put_cstr(b, m->method);
		buf_puts(b, ",\"url\":");
		json_put_cstr(b, m->uri);
		buf_printf(b, ",\"principal\":%lld,\"authoritative\":{\"status\":%d,\"body\":",
		           (long long)m->principal, m->status_a);
		json_put_cstr(b, m->body_a);
		buf_printf(b, "},\"secondary\":{\"status\":%d,\"body\":", m->status_b);
		json_put_cstr(b, m->body_b);
		buf_puts(b, "},\"patch\":");
		buf_puts(b, m->patch && *m->patch ? m->patch : "[]");
		buf_putc(b, '}');
	}
	pthread_mutex_unlock(&mm.mu);
	buf_putc(b, ']');
}

static const struct config_key keys[] = {
	{NULL, "mismatch_capacity", CFG_INT, CFG_FIELD(mismatch_capacity), 1, 100000, "200", NULL, NULL,
	 "mismatches kept for the admin API, newest first"},
};

const struct config_module mismatch_config = {"mismatch", keys, ARRAY_LEN(keys), NULL};
