/*
 * admin.h — the admin API (see src/ops/admin.c for its routes).
 */
#ifndef CUTOVER_ADMIN_H
#define CUTOVER_ADMIN_H

#include <stdbool.h>

#include "config.h"
#include "request.h"

/* Serve an admin request on the loop; always sets a response. */
void admin_handle(struct request *req);

#endif
