/*
 * cli.h — subcommands that talk to a running gateway.
 */
#ifndef CUTOVER_CLI_H
#define CUTOVER_CLI_H

#include <stdbool.h>

#include "config.h"

/* The configuration a command reads without -c: the source tree's
 * example, or (the binary make install lays out) /etc/cutover's. */
extern const char *cli_default_config;

/* `cutover mode [ROUTE [MODE]]`: argv[0] is "mode"; force passes the
 * readiness gate; reset stops the route's mismatches so far from holding
 * its readiness back. */
int cli_mode(const struct config *cfg, int argc, char **argv, bool force, bool reset);
/* `cutover plan`: each route's next safe step, what stands in its way, and
 * the command to take it. */
int cli_plan(const struct config *cfg);

#endif
