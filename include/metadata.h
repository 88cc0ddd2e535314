/*
 * metadata.h — DRF's SimpleMetadata answer to OPTIONS on a resource's views.
 */
#ifndef CUTOVER_METADATA_H
#define CUTOVER_METADATA_H

#include <stdbool.h>

#include "config.h"
#include "util.h"

enum metadata_view { META_LIST, META_DETAIL, META_VIEW };

/* The metadata of r's list, one record, or view v, into b; writable: with
 * the action (POST on the list, PUT on a record the client may update). */
void metadata_render(struct buf *b, const struct resource *r, enum metadata_view kind, const struct view *v,
                     bool writable);

#endif
