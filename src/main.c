/*
 * main.c — the cutover command: one binary, subcommands like git's.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "config.h"
#include "jwt.h"
#include "migrate.h"
#include "server.h"

#define DEFAULT_CONFIG "etc/cutover.json"

static const char usage[] =
	"usage: cutover <command> [options]\n"
	"\n"
	"commands:\n"
	"  serve [-c FILE]                      run the gateway\n"
	"  check [-c FILE]                      validate a configuration, list every problem\n"
	"  token --user-id N [--ttl S] [-c FILE]  mint a development access token\n"
	"  migrate --indexes-only [-c FILE]     create the MongoDB indexes matching the legacy ones\n"
	"  mode [-c FILE] [ROUTE [MODE]]        show routes, or flip ROUTE (or \"global\") to MODE\n"
	"\n"
	"  cutover --help | --version\n"
	"\n"
	"FILE defaults to " DEFAULT_CONFIG ".  Environment: DATABASE_URL, DATABASE_MODE,\n"
	"MONGODB_URI, MONGODB_DECIMAL, JWT_SECRET, CUTOVER_LISTEN, CUTOVER_ADMIN_TOKEN override\n"
	"the file; `mode` reaches the gateway at the listen address (or CUTOVER_ADMIN_URL).\n";

static int bad_usage(const char *fmt, const char *arg)
{
	fprintf(stderr, "cutover: ");
	fprintf(stderr, fmt, arg);
	fprintf(stderr, "\n\n%s", usage);
	return 2;
}

static struct config *load(const char *path)
{
	struct config_problems pr = {0};
	struct config *cfg = config_load(path, &pr);

	if (!cfg) {
		fprintf(stderr, "%s", pr.text.p ? pr.text.p : "");
		fprintf(stderr, "cutover: %d problem%s in %s\n", pr.count, pr.count == 1 ? "" : "s", path);
	}
	config_problems_free(&pr);
	return cfg;
}

/* Options shared by the subcommands; -1 after a usage error. */
struct opts {
	const char *config;
	long long user_id;
	long long ttl;
	bool have_user;
	bool indexes_only;
};

static int parse_opts(int argc, char **argv, struct opts *o)
{
	static const struct option longs[] = {
		{"config", required_argument, NULL, 'c'},
		{"user-id", required_argument, NULL, 'u'},
		{"ttl", required_argument, NULL, 't'},
		{"indexes-only", no_argument, NULL, 'i'},
		{NULL, 0, NULL, 0},
	};
	bool token = strcmp(argv[0], "token") == 0;
	int c;
	char *end;

	o->config = DEFAULT_CONFIG;
	o->ttl = 3600;
	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, "+c:", longs, NULL)) != -1) {
		switch (c) {
		case 'c':
			o->config = optarg;
			break;
		case 'i':
			if (strcmp(argv[0], "migrate") != 0)
				return bad_usage("option %s is only for 'migrate'", argv[optind - 1]), -1;
			o->indexes_only = true;
			break;
		case 'u':
		case 't':
			if (!token)
				return bad_usage("option %s is only for 'token'", argv[optind - 1]), -1;
			if (c == 'u') {
				o->user_id = strtoll(optarg, &end, 10);
				o->have_user = true;
			} else {
				o->ttl = strtoll(optarg, &end, 10);
			}
			if (!*optarg || *end || (c == 't' && o->ttl <= 0))
				return bad_usage("bad number '%s'", optarg), -1;
			break;
		default:
			return bad_usage("unknown or incomplete option '%s'", argv[optind - 1]), -1;
		}
	}
	if (optind < argc)
		return bad_usage("unexpected argument '%s'", argv[optind]), -1;
	return 0;
}

static int cmd_serve(int argc, char **argv)
{
	struct opts o = {0};
	struct config *cfg;
	int rc;

	if (parse_opts(argc, argv, &o) < 0)
		return 2;
	if (!(cfg = load(o.config)))
		return 1;
	rc = server_run(cfg);
	config_free(cfg);
	return rc == 0 ? 0 : 1;
}

static int cmd_check(int argc, char **argv)
{
	struct opts o = {0};
	struct config *cfg;

	if (parse_opts(argc, argv, &o) < 0)
		return 2;
	if (!(cfg = load(o.config)))
		return 1;
	printf("%s: ok (%zu resources, legacy store %s, mode %s)\n", o.config, cfg->nresources,
	       strncmp(cfg->database_url, "sqlite:", 7) == 0 ? "sqlite" : "other", cfg->mode);
	config_free(cfg);
	return 0;
}

static int cmd_token(int argc, char **argv)
{
	struct opts o = {0};
	const char *secret = getenv("JWT_SECRET");
	struct config *cfg = NULL;
	char *tok;

	if (parse_opts(argc, argv, &o) < 0)
		return 2;
	if (!o.have_user)
		return bad_usage("%s", "token needs --user-id N");
	if (!secret || !*secret) {
		if (!(cfg = load(o.config)))
			return 1;
		secret = cfg->jwt.secret;
	}
	tok = jwt_mint(secret, o.user_id, (int64_t)time(NULL), o.ttl);
	printf("%s\n", tok);
	free(tok);
	config_free(cfg);
	return 0;
}

static int cmd_migrate(int argc, char **argv)
{
	struct opts o = {0};
	struct config *cfg;
	int rc;

	if (parse_opts(argc, argv, &o) < 0)
		return 2;
	if (!o.indexes_only)
		return bad_usage("%s", "migrate copies indexes only in this version: give --indexes-only");
	if (!(cfg = load(o.config)))
		return 1;
	rc = migrate_indexes(cfg);
	config_free(cfg);
	return rc;
}

static int cmd_mode(int argc, char **argv)
{
	const char *config = DEFAULT_CONFIG;
	struct config *cfg;
	int rc, skip = 0;

	if (argc >= 3 && (strcmp(argv[1], "-c") == 0 || strcmp(argv[1], "--config") == 0)) {
		config = argv[2];
		skip = 2;
	}
	if (argc - skip > 3)
		return bad_usage("%s", "mode takes at most a route and a mode");
	if (argc - skip == 3 && mode_parse(argv[2 + skip]) < 0 && strcmp(argv[2 + skip], "global") != 0)
		return bad_usage("unknown mode '%s'", argv[2 + skip]);
	if (!(cfg = load(config)))
		return 1;
	argv[skip] = argv[0];
	rc = cli_mode(cfg, argc - skip, argv + skip);
	config_free(cfg);
	return rc;
}

int main(int argc, char **argv)
{
	static const struct { const char *name; int (*fn)(int, char **); } cmds[] = {
		{"serve", cmd_serve}, {"check", cmd_check}, {"token", cmd_token},
		{"migrate", cmd_migrate},
		{"mode", cmd_mode},
	};
	size_t i;

	if (argc < 2)
		return bad_usage("%s", "a command is required");
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
	    strcmp(argv[1], "help") == 0) {
		fputs(usage, stdout);
		return 0;
	}
	if (strcmp(argv[1], "--version") == 0) {
		printf("cutover %s\n", CUTOVER_VERSION);
		return 0;
	}
	for (i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		if (strcmp(argv[1], cmds[i].name) == 0)
			return cmds[i].fn(argc - 1, argv + 1);
	return bad_usage("unknown command '%s'", argv[1]);
}
