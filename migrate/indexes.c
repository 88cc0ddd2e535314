/*
 * indexes.c — `cutover migrate --indexes-only`: the MongoDB indexes that
 * match the legacy ones (owner, unique constraints, filter and ordering
 * fields, references other resources delete by).
 */
#include <stdio.h>

#include "migrate.h"
#include "store.h"

int migrate_indexes(const struct config *cfg)
{
	struct store_error err;
	struct store *s;
	struct buf report = {0};
	size_t i;
	int rc = 0;

	if (!*cfg->mongodb_uri) {
		fprintf(stderr, "cutover: migrate needs the MongoDB store: set \"mongodb_uri\" or MONGODB_URI\n");
		return 1;
	}
	if (!(s = store_open_batch(cfg->mongodb_uri, cfg, &err))) {
		fprintf(stderr, "cutover: %s\n", err.msg);
		return 1;
	}
	if (!s->ops->setup) {
		fprintf(stderr, "cutover: the %s store has no indexes to set up\n", s->ops->name);
		store_close(s);
		return 1;
	}
	for (i = 0; i < cfg->nresources && rc == 0; i++) {
		if (store_setup(s, cfg->resources[i], &report, &err) < 0) {
			fprintf(stderr, "cutover: indexes of %s: %s\n", cfg->resources[i]->collection, err.msg);
			rc = 1;
		}
	}
	fputs(buf_cstr(&report), stdout);
	buf_free(&report);
	store_close(s);
	return rc;
}
