/*
 * resource.h — the resource engine: serves a configured resource's routes
 * (list, detail, named views) from a store, in the DRF profile.
 */
#ifndef CUTOVER_RESOURCE_H
#define CUTOVER_RESOURCE_H

#include <stdbool.h>

#include "request.h"

/* Does a configured resource own this path? */
const struct resource *resource_match(const struct config *cfg, const char *path);
/* The id a detail path of r names; false for other paths. */
bool resource_detail_id(const struct resource *r, const char *path, unsigned char id[16]);
/* Does path (under r's prefix) name one of r's views: the collection, a
 * record or a view?  Others are the application's, when there is one. */
bool resource_owns(const struct resource *r, const char *path);
/* Serve req for resource r; always sets a response. */
void resource_handle(struct request *req, const struct resource *r);

#endif
