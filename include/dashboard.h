/*
 * dashboard.h — the dashboard's files (src/ops/dashboard/), compiled into the
 * binary: served under the admin prefix with no build step and no network.
 */
#ifndef CUTOVER_DASHBOARD_H
#define CUTOVER_DASHBOARD_H

#include <stdbool.h>
#include <stddef.h>

/* The file served as name ("", "dashboard", "dashboard.js", …): its
 * Content-Type and bytes; false when there is none. */
bool dashboard_file(const char *name, const char **type, const char **body, size_t *len);

#endif
