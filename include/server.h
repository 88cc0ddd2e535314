/*
 * server.h — the HTTP server: one libevent loop per core, each with its own
 * listening socket on the shared address (SO_REUSEPORT, so the kernel
 * spreads connections evenly) and its own store connection.
 */
#ifndef CUTOVER_SERVER_H
#define CUTOVER_SERVER_H

#include "config.h"

/* Serve until SIGTERM or SIGINT; then stop accepting, drain and return.
 * Returns 0 on a clean stop, -1 when start-up failed (message on stderr). */
int server_run(const struct config *cfg);

#endif
