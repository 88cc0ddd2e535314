/*
 * resource.h — the resource engine: serves a configured resource's routes
 * (list, detail, named views) from a store, in the DRF profile.
 */
#ifndef CUTOVER_RESOURCE_H
#define CUTOVER_RESOURCE_H

#include "request.h"

/* Does a configured resource own this path? */
const struct resource *resource_match(const struct config *cfg, const char *path);
/* Serve req for resource r; always sets a response. */
void resource_handle(struct request *req, const struct resource *r);

#endif
