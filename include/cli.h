/*
 * cli.h — subcommands that talk to a running gateway.
 */
#ifndef CUTOVER_CLI_H
#define CUTOVER_CLI_H

#include "config.h"

/* `cutover mode [ROUTE [MODE]]`: argv[0] is "mode". */
int cli_mode(const struct config *cfg, int argc, char **argv);

#endif
