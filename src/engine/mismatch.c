/*
 * mismatch.c — the mismatches shadow reads found (a ring of the latest,
 * counts per JSON path) and the noise baseline: the paths where two reads
 * of the authoritative store differ (see control.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "control_private.h"
#include "json.h"

void mismatch_free_one(struct mismatch *m)
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

void control_reset_here(const struct resource *r, const char *why)
{
	struct route_state *rt = ctl_route(r);

	if (!rt)
		return;
	rt->last_mismatch_us = 0;
	fprintf(stderr, "cutover: %s: the mismatches until now no longer hold readiness back (%s)\n",
	        rt->res->name, why);
}

int control_reset_evidence(const struct resource *r, const char *why, struct error *err)
{
	if (!ctl_route(r)) {
		error_set(err, 0, "no such route");
		return -1;
	}
	control_reset_here(r, why);
	if (ctl.store)
		ctl.store->evidence(r, why);
	return 0;
}

void control_mismatch(const struct resource *r, const char *method, const char *uri, int64_t principal,
                      int status_a, const char *body_a, size_t len_a,
                      int status_b, const char *body_b, size_t len_b,
                      const char *patch, size_t patch_len, const char *paths, size_t dropped)
{
	struct route_state *rt = ctl_route(r);
	struct mismatch *m;

	if (!rt)
		return;
	metrics_outcome(r, OUT_MISMATCHED);
	rt->last_mismatch_us = now_mono_us();
	pthread_mutex_lock(&ctl.mu);
	m = &ctl.ring[ctl.head];
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
	ctl.head = (ctl.head + 1) % ctl.cap;
	if (ctl.count < ctl.cap)
		ctl.count++;
	rt->paths_dropped += count_paths(rt->paths, &rt->npaths, paths, NULL) + dropped;
	pthread_mutex_unlock(&ctl.mu);
}

void control_noise(const struct resource *r, const struct read_mark *m, const char *uri, const char *paths)
{
	struct route_state *rt = ctl_route(r);
	uint32_t rec;
	bool raced;

	if (!rt)
		return;
	/* Stricter than a comparison's race: a write that began before the
	 * first read and ended before the second one changed what it shows. */
	raced = control_raced(r, m) || m->writing || rt->ended_seq != m->ended_seq;
	rec = (uint32_t)hash_bytes(uri, strlen(uri), 0);
	pthread_mutex_lock(&ctl.mu);
	if (raced) {
		rt->raced_baselines++;
	} else {
		rt->baselines++;
		if (paths && *paths) {
			rt->noisy_baselines++;
			count_paths(rt->noise, &rt->nnoise, paths, &rec);
		}
	}
	pthread_mutex_unlock(&ctl.mu);
}

static bool noise_confirmed(const struct path_count *pc)
{
	return pc->nrecords >= NOISE_RECORDS;
}

bool control_all_noise(const struct resource *r, const char *paths)
{
	struct route_state *rt = ctl_route(r);
	const char *p;
	bool all = paths && *paths;

	if (!rt || !all)
		return false;
	pthread_mutex_lock(&ctl.mu);
	for (p = paths; all && *p;) {
		size_t n = strcspn(p, "\n"), k = find_path(rt->noise, rt->nnoise, p, n);

		all = k < rt->nnoise && noise_confirmed(&rt->noise[k]);
		p += n + (p[n] == '\n');
	}
	pthread_mutex_unlock(&ctl.mu);
	return all;
}

/* {"path": count, …} (caller holds ctl.mu). */
void mismatch_paths_json(struct buf *b, const struct path_count *list, size_t n)
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
 * The noise baseline, under ctl.mu: the re-reads, the paths confirmed noisy
 * (re-reads of NOISE_RECORDS distinct records differed there) with the
 * evidence for every path, and the rule that would silence them — never
 * for an identity path, and withheld when the noisy paths are more than
 * NOISE_MAX_SHARE of the route's fields, which would blind the comparison.
 */
void mismatch_noise_json(struct buf *b, const struct route_state *rt)
{
	const struct resource *r = rt->res;
	size_t i, confirmed = 0, ignorable = 0, nf = fields_of(r);

	buf_printf(b, ",\"noise_baseline\":{\"reads\":%llu,\"differed\":%llu,\"raced\":%llu,\"paths\":{",
	           (unsigned long long)rt->baselines, (unsigned long long)rt->noisy_baselines,
	           (unsigned long long)rt->raced_baselines);
	for (i = 0; i < rt->nnoise; i++) {
		if (!noise_confirmed(&rt->noise[i]))
			continue;
		buf_puts(b, confirmed++ ? "," : "");
		json_put_cstr(b, rt->noise[i].path);
		buf_printf(b, ":%llu", (unsigned long long)rt->noise[i].n);
		ignorable += !identity_path(r, rt->noise[i].path);
	}
	buf_puts(b, "},\"evidence\":{");
	for (i = 0; i < rt->nnoise; i++) {
		buf_puts(b, i ? "," : "");
		json_put_cstr(b, rt->noise[i].path);
		buf_printf(b, ":{\"reads\":%llu,\"records\":%u,\"noisy\":%s,\"identity\":%s}",
		           (unsigned long long)rt->noise[i].n, rt->noise[i].nrecords,
		           noise_confirmed(&rt->noise[i]) ? "true" : "false",
		           identity_path(r, rt->noise[i].path) ? "true" : "false");
	}
	buf_puts(b, "},\"ignore_rule\":");
	if (confirmed * 100 > (size_t)NOISE_MAX_SHARE * nf) {
		buf_puts(b, "null,\"withheld\":");
		buf_printf(b, "\"%zu paths are noisy, more than %d%% of the route's %zu fields: ignoring them would "
		           "blind the comparison; look for what changes between two reads\"", confirmed,
		           NOISE_MAX_SHARE, nf);
	} else if (ignorable) {
		buf_puts(b, "{\"compare\":{\"ignore\":[");
		for (i = 0, ignorable = 0; i < rt->nnoise; i++) {
			if (!noise_confirmed(&rt->noise[i]) || identity_path(r, rt->noise[i].path))
				continue;
			buf_puts(b, ignorable++ ? "," : "");
			json_put_cstr(b, rt->noise[i].path);
		}
		buf_puts(b, "]}},\"withheld\":null");
	} else {
		buf_puts(b, "null,\"withheld\":null");
	}
	buf_putc(b, '}');
}

void control_paths(const struct resource *r, enum path_kind kind,
                   void (*each)(void *arg, const char *path, uint64_t n), void *arg, uint64_t *dropped)
{
	struct route_state *rt = ctl_route(r);
	const struct path_count *list;
	size_t i, n;

	if (dropped)
		*dropped = 0;
	if (!rt)
		return;
	pthread_mutex_lock(&ctl.mu);
	list = kind == PATHS_NOISY ? rt->noise : rt->paths;
	n = kind == PATHS_NOISY ? rt->nnoise : rt->npaths;
	for (i = 0; i < n; i++)
		if (kind != PATHS_NOISY || noise_confirmed(&list[i]))
			each(arg, list[i].path, list[i].n);
	if (dropped && kind == PATHS_MISMATCHED)
		*dropped = rt->paths_dropped;
	pthread_mutex_unlock(&ctl.mu);
}

void control_mismatches_json(struct buf *b, const struct resource *only, int limit)
{
	size_t i;
	int n = 0;
	char when[40];

	buf_putc(b, '[');
	pthread_mutex_lock(&ctl.mu);
	for (i = 0; i < ctl.count && n < limit; i++) {
		struct mismatch *m = &ctl.ring[(ctl.head + ctl.cap - 1 - i) % ctl.cap];

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
	pthread_mutex_unlock(&ctl.mu);
	buf_putc(b, ']');
}
