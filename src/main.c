/*
 * main.c — the cutover command: one binary, subcommands like git's.
 */
#include <errno.h>
#include <getopt.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "config.h"
#include "control_store.h"
#include "jwt.h"
#include "migrate.h"
#include "server.h"
#include "shadow.h"
#include "store.h"

/* make install's binary is built with the installed path. */
#ifndef DEFAULT_CONFIG
#define DEFAULT_CONFIG "etc/cutover.json"
#endif

static const char usage[] =
	"usage: cutover <command> [options]\n"
	"\n"
	"commands:\n"
	"  serve [-c FILE]                      run the gateway\n"
	"  check [-c FILE] [--connect] | --keys[=markdown|man]\n"
	"                                       validate a configuration, list every problem\n"
	"  token --user-id N [--ttl S] [--key PEM [--kid K]] [-c FILE]\n"
	"                                         mint a development access token\n"
	"  migrate [-c FILE] [--resource R] [--batch N] [--rate ROWS/S] [--resume|--restart]\n"
	"          [--state FILE] [--indexes-only]\n"
	"                                       copy the legacy rows into MongoDB (indexes first)\n"
	"  verify [-c FILE] [--resource R] [--sample PERCENT] [--json]\n"
	"                                       compare every row with its document; exit 0 when identical\n"
	"  repair [-c FILE] [--resource R] [--from-verify FILE | --journal]\n"
	"                                       rewrite what differs from the legacy store, or drain the journal\n"
	"  mode [-c FILE] [ROUTE [MODE [--force]]]\n"
	"                                       show routes, or flip ROUTE (or \"global\") to MODE\n"
	"  plan [-c FILE]                       each route's next safe step and its command\n"
	"  init --from URL [-o FILE] [--tables T,…] [--owner TABLE=COLUMN]… [--owner-column C]\n"
	"       [--users-table T] [--prefix /api/] [--profile NAME] [--force]\n"
	"                                       draft a configuration from a live schema\n"
	"\n"
	"  cutover --help | --version | COMMAND --help\n"
	"\n"
	"FILE defaults to " DEFAULT_CONFIG ".  Environment: DATABASE_URL, DATABASE_MODE,\n"
	"MONGODB_URI, MONGODB_DECIMAL, JWT_SECRET, CUTOVER_LISTEN, CUTOVER_ADMIN_TOKEN override\n"
	"the file; `mode` reaches the gateway at the listen address (or CUTOVER_ADMIN_URL).\n";

/* cutover COMMAND --help: the command's options and exit codes. */
static const struct { const char *name, *text; } helps[] = {
	{"serve",
	 "usage: cutover serve [-c FILE]\n\n"
	 "Run the gateway: the API from the stores in each route's mode, the admin API,\n"
	 "passthrough to the upstream.  SIGHUP reloads modes, samples and token keys; SIGTERM drains.\n\n"
	 "  -c, --config FILE   the configuration (default " DEFAULT_CONFIG ")\n\n"
	 "exit: 0 stopped by a signal; 1 the configuration, the listen address or the\n"
	 "legacy store stopped the start; 2 usage\n"},
	{"check",
	 "usage: cutover check [-c FILE] [--connect] | --keys[=markdown|man]\n\n"
	 "Validate a configuration and print every problem as FILE:LINE:COLUMN.\n\n"
	 "  -c, --config FILE   the configuration (default " DEFAULT_CONFIG ")\n"
	 "  --connect           also reach every store it names (a lookup each) and the\n"
	 "                      upstream (a TCP connection)\n"
	 "  --keys              list every key a configuration may hold: type, bounds,\n"
	 "                      default, the environment variable that overrides it, the\n"
	 "                      module that reads it and what it does; =markdown and =man\n"
	 "                      give the same as a Markdown table or man page entries\n\n"
	 "exit: 0 valid (and, with --connect, everything reached); 1 problems found or\n"
	 "something not reached; 2 usage\n"},
	{"token",
	 "usage: cutover token --user-id N [--ttl SECONDS] [--key PEM [--kid K]] [-c FILE]\n\n"
	 "Mint an access token like the application's (development and tests): HS256\n"
	 "signed with the JWT secret, or RS256/ES256 signed with a private key.\n\n"
	 "  --user-id N         the user the token names (required)\n"
	 "  --ttl SECONDS       lifetime (default 3600)\n"
	 "  --key PEM           a private key file (RSA: RS256; P-256: ES256)\n"
	 "  --kid K             the key id the token names in its header\n"
	 "  -c, --config FILE   the configuration (default " DEFAULT_CONFIG ")\n\n"
	 "exit: 0 printed; 1 the configuration; 2 usage\n"},
	{"migrate",
	 "usage: cutover migrate [-c FILE] [--resource R] [--batch N] [--rate ROWS/S]\n"
	 "                       [--resume | --restart] [--state FILE] [--indexes-only]\n\n"
	 "Copy every legacy row (with its children) into MongoDB in key order, indexes\n"
	 "first, with a checkpoint after each batch.\n\n"
	 "  --resource R        only this resource\n"
	 "  --batch N           rows per bulk write, 1 to 100000 (default 1000)\n"
	 "  --rate ROWS/S       at most this many rows a second (default: no limit)\n"
	 "  --resume            go on from the checkpoint (the default)\n"
	 "  --restart           ignore the checkpoint\n"
	 "  --state FILE        the checkpoint file (default: cutover-migrate.state.json in\n"
	 "                      the journal's directory)\n"
	 "  --indexes-only      create the MongoDB indexes and stop\n"
	 "  -c, --config FILE   the configuration (default " DEFAULT_CONFIG ")\n\n"
	 "exit: 0 done; 1 stopped by an error; 2 usage; 3 done, but some rows could not\n"
	 "be copied (listed)\n"},
	{"verify",
	 "usage: cutover verify [-c FILE] [--resource R] [--sample PERCENT] [--json]\n\n"
	 "Compare every legacy row with its document, field by field, in constant memory.\n\n"
	 "  --resource R        only this resource\n"
	 "  --sample PERCENT    compare this share of the rows, 0 to 100 (default 100)\n"
	 "  --json              the report as JSON (input for repair --from-verify)\n"
	 "  -c, --config FILE   the configuration (default " DEFAULT_CONFIG ")\n\n"
	 "exit: 0 identical; 1 differences found; 2 a store or the options stopped it\n"},
	{"repair",
	 "usage: cutover repair [-c FILE] [--resource R] [--from-verify FILE | --journal]\n\n"
	 "Make MongoDB hold what the legacy store holds: a fresh walk, the records a\n"
	 "verify report names, or the journal's entries.\n\n"
	 "  --resource R        only this resource\n"
	 "  --from-verify FILE  the records of a `verify --json` report\n"
	 "  --journal           apply the journal now\n"
	 "  -c, --config FILE   the configuration (default " DEFAULT_CONFIG ")\n\n"
	 "exit: 0 repaired; 1 something could not be repaired (listed); 2 a store, the\n"
	 "report or the options stopped it\n"},
	{"plan",
	 "usage: cutover plan [-c FILE]\n\n"
	 "For every route of the running gateway: the next safe step of the migration\n"
	 "(legacy, dual-write, shadow, live, rampdown, mongodb), what stands in its way\n"
	 "(the readiness verdict with its figures), and the command that takes it.\n\n"
	 "  -c, --config FILE   the configuration (default " DEFAULT_CONFIG ")\n\n"
	 "exit: 0 shown; 1 the gateway could not be reached; 2 usage\n"},
	{"init",
	 "usage: cutover init --from URL [-o FILE] [--force] [--tables T,...]\n"
	 "                    [--owner TABLE=COLUMN]... [--owner-column C] [--users-table T]\n"
	 "                    [--prefix /api/] [--profile NAME]\n\n"
	 "Read a live SQLite or PostgreSQL schema and write a commented configuration\n"
	 "draft: a resource per table keyed by a uuid and owned by a user, tables with no\n"
	 "life of their own embedded in their parent, references, filters and ordering\n"
	 "from the indexes, unique constraints with DRF's messages, cascades.  Every\n"
	 "guess is printed on stderr and written beside what it made.\n\n"
	 "  --from URL          sqlite:///path/to/db.sqlite3 or postgres://...\n"
	 "  -o, --out FILE      write the draft there (default: stdout); an existing file\n"
	 "                      is kept unless --force\n"
	 "  --tables T,...      only these tables\n"
	 "  --owner TABLE=COLUMN\n"
	 "                      the column that ties TABLE's rows to their user (repeat it)\n"
	 "  --owner-column C    the owner column of every table that has one named C\n"
	 "  --users-table T     the table of users (default: auth_user, users, user,\n"
	 "                      accounts_user or accounts, the first that exists)\n"
	 "  --prefix P          URL prefix of the resources (default /api/)\n"
	 "  --profile NAME      the response profile the draft names (drf, the default, or\n"
	 "                      express)\n\n"
	 "exit: 0 written; 1 the store could not be read, nothing could be served, or the\n"
	 "file could not be written; 2 usage\n"},
	{"mode",
	 "usage: cutover mode [-c FILE] [ROUTE [MODE [--force]] [--reset-evidence]]\n"
	 "       cutover mode [-c FILE] --control-store mongodb\n\n"
	 "Without arguments, every route with its mode, comparisons and readiness; with\n"
	 "ROUTE (a resource, or \"global\") and MODE, flip it.  Talks to the running\n"
	 "gateway's admin API at admin.listen, else the listen address (or\n"
	 "CUTOVER_ADMIN_URL), with CUTOVER_ADMIN_TOKEN.  A flip that moves reads to\n"
	 "MongoDB, or stops the copies to the legacy store, is refused while the route\n"
	 "is not ready, with the reason.\n\n"
	 "  MODE                legacy, dual-write, shadow (dual), live, rampdown, mongodb,\n"
	 "                      passthrough\n"
	 "  --force             flip even when the route is not ready (logged, with $USER)\n"
	 "  --reset-evidence    the route's mismatches so far stop holding its readiness back,\n"
	 "                      on every gateway (logged, with $USER; they stay in the record);\n"
	 "                      migrate, a verify that finds no difference and repair do it too\n"
	 "  --control-store mongodb\n"
	 "                      move the modes from the legacy store's cutover_routes table\n"
	 "                      to MongoDB's collection (the last phase then needs no SQL\n"
	 "                      database for them); running gateways follow within a second\n"
	 "  -c, --config FILE   the configuration (default " DEFAULT_CONFIG ")\n\n"
	 "exit: 0 done; 1 the gateway refused or could not be reached; 2 usage\n"},
};

/* The command being run ("mode" …), or NULL before one is known. */
static const char *command;

/* A usage error: one line, and where the whole usage is. */
static int bad_usage(const char *fmt, const char *arg)
{
	fprintf(stderr, "cutover: ");
	fprintf(stderr, fmt, arg);
	fprintf(stderr, "\nsee 'cutover %s%s--help'\n", command ? command : "", command ? " " : "");
	return 2;
}

static struct config *load(const char *path)
{
	struct config_problems pr = {0};
	struct config *cfg = config_load(path, &pr);

	if (!cfg) {
		fprintf(stderr, "%s", buf_cstr(&pr.text));
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
	struct migrate_opts m;
	struct verify_opts v;
	const char *from;
	bool journal;
	bool connect;
	bool keys;
	enum keys_format keys_format;
	const char *key, *kid;      /* token: a private key and its id */
};

/* Which subcommands take an option (by its short code). */
static const struct { int code; const char *cmds; } option_owners[] = {
	{'u', " token "}, {'t', " token "}, {'k', " token "}, {'d', " token "}, {'i', " migrate "}, {'r', " migrate verify repair "},
	{'b', " migrate "}, {'R', " migrate "}, {'S', " migrate "}, {'X', " migrate "}, {'s', " migrate "},
	{'p', " verify "}, {'j', " verify "}, {'f', " repair "}, {'J', " repair "}, {'C', " check "},
	{'K', " check "},
};

static bool option_for(int code, const char *cmd)
{
	char word[32];
	size_t i;

	snprintf(word, sizeof(word), " %s ", cmd);
	for (i = 0; i < sizeof(option_owners) / sizeof(option_owners[0]); i++)
		if (option_owners[i].code == code)
			return strstr(option_owners[i].cmds, word) != NULL;
	return true;
}

static bool number(const char *s, double lo, double hi, double *out)
{
	char *end;

	*out = strtod(s, &end);
	return *s && !*end && *out >= lo && *out <= hi;
}

static bool keys_format(const char *s, enum keys_format *f)
{
	if (!s)
		*f = KEYS_TEXT;
	else if (strcmp(s, "markdown") == 0)
		*f = KEYS_MARKDOWN;
	else if (strcmp(s, "man") == 0)
		*f = KEYS_MAN;
	else
		return false;
	return true;
}

/* The options of migrate, verify, repair and check (-1 after the usage). */
static int toolkit_option(int c, const char *cmd, const char *given, struct opts *o)
{
	double x = 0;

	if (!option_for(c, cmd))
		return bad_usage("option %s is not for this command", given), -1;
	if (c == 'b' && !number(optarg, 1, 100000, &x))
		return bad_usage("--batch takes a number of rows from 1 to 100000, not '%s'", optarg), -1;
	if (c == 'R' && !number(optarg, 0, 1e9, &x))
		return bad_usage("--rate takes rows a second from 0 (no limit) to 1e9, not '%s'", optarg), -1;
	if (c == 'p' && !number(optarg, 0, 100, &x))
		return bad_usage("--sample takes a percentage from 0 to 100, not '%s'", optarg), -1;
	switch (c) {
	case 'i': o->indexes_only = true; break;
	case 'r': o->m.resource = o->v.resource = optarg; break;
	case 'b': o->m.batch = (size_t)x; break;
	case 'R': o->m.rate = x; break;
	case 'X': o->m.restart = true; break;
	case 's': o->m.state = optarg; break;
	case 'p': o->v.sample = x; break;
	case 'j': o->v.json = true; break;
	case 'f': o->from = optarg; break;
	case 'J': o->journal = true; break;
	case 'C': o->connect = true; break;
	case 'K':
		if (!keys_format(optarg, &o->keys_format))
			return bad_usage("--keys takes =markdown or =man, or nothing, not '=%s'", optarg), -1;
		o->keys = true;
		break;
	}
	return 0;
}

/* The options of token (-1 after the usage). */
static int token_option(int c, const char *cmd, const char *given, struct opts *o)
{
	char *end = NULL;

	if (!option_for(c, cmd))
		return bad_usage("option %s is only for 'token'", given), -1;
	if (c == 'k' || c == 'd') {
		*(c == 'k' ? &o->key : &o->kid) = optarg;
		return 0;
	}
	if (c == 'u') {
		o->user_id = strtoll(optarg, &end, 10);
		o->have_user = true;
	} else {
		o->ttl = strtoll(optarg, &end, 10);
	}
	if (!*optarg || *end || (c == 't' && o->ttl <= 0))
		return bad_usage("bad number '%s'", optarg), -1;
	return 0;
}

static int parse_opts(int argc, char **argv, struct opts *o)
{
	static const struct option longs[] = {
		{"config", required_argument, NULL, 'c'},
		{"user-id", required_argument, NULL, 'u'},
		{"ttl", required_argument, NULL, 't'},
		{"indexes-only", no_argument, NULL, 'i'},
		{"resource", required_argument, NULL, 'r'},
		{"batch", required_argument, NULL, 'b'},
		{"rate", required_argument, NULL, 'R'},
		{"resume", no_argument, NULL, 'S'},
		{"restart", no_argument, NULL, 'X'},
		{"state", required_argument, NULL, 's'},
		{"sample", required_argument, NULL, 'p'},
		{"json", no_argument, NULL, 'j'},
		{"from-verify", required_argument, NULL, 'f'},
		{"journal", no_argument, NULL, 'J'},
		{"connect", no_argument, NULL, 'C'},
		{"keys", optional_argument, NULL, 'K'},
		{"key", required_argument, NULL, 'k'},
		{"kid", required_argument, NULL, 'd'},
		{NULL, 0, NULL, 0},
	};
	int c, rc = 0;

	o->config = DEFAULT_CONFIG;
	o->ttl = 3600;
	o->m.batch = 1000;
	o->m.state = NULL;              /* beside the journal, once the configuration says where */
	o->v.sample = 100;
	opterr = 0;
	optind = 1;
	while (rc == 0 && (c = getopt_long(argc, argv, "+c:", longs, NULL)) != -1) {
		if (c == 'c')
			o->config = optarg;
		else if (c && strchr("irbRSXspjfJCK", c))
			rc = toolkit_option(c, argv[0], argv[optind - 1], o);
		else if (c && strchr("kdut", c))
			rc = token_option(c, argv[0], argv[optind - 1], o);
		else
			rc = (bad_usage("unknown or incomplete option '%s'", argv[optind - 1]), -1);
	}
	if (rc == 0 && optind < argc)
		rc = (bad_usage("unexpected argument '%s'", argv[optind]), -1);
	return rc;
}

/* Options, then the configuration; NULL with *rc set (2: usage, else
 * fail_rc) when either is wrong. */
static struct config *setup(int argc, char **argv, struct opts *o, int fail_rc, int *rc)
{
	struct config *cfg;

	if (parse_opts(argc, argv, o) < 0) {
		*rc = 2;
		return NULL;
	}
	if (!(cfg = load(o->config)))
		*rc = fail_rc;
	return cfg;
}

/* A command that takes only -c: fn on the configuration; 1 when it fails. */
static int with_config(int argc, char **argv, int (*fn)(const struct config *cfg))
{
	struct opts o = {0};
	struct config *cfg;
	int rc;

	if (!(cfg = setup(argc, argv, &o, 1, &rc)))
		return rc;
	rc = fn(cfg);
	config_free(cfg);
	return rc == 0 ? 0 : 1;
}

static int cmd_serve(int argc, char **argv)
{
	return with_config(argc, argv, server_run);
}

/* A TCP connection to host:port within timeout_ms; NULL, or why not. */
static const char *tcp_reach(const char *host, int port, int timeout_ms, char *why, size_t size)
{
	struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICSERV};
	struct addrinfo *res = NULL, *ai;
	char portstr[16];
	int rc, err = ETIMEDOUT;

	snprintf(portstr, sizeof(portstr), "%d", port);
	if ((rc = getaddrinfo(host, portstr, &hints, &res)) != 0) {
		snprintf(why, size, "cannot resolve %s: %s", host, gai_strerror(rc));
		return why;
	}
	for (ai = res; ai; ai = ai->ai_next) {
		int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		struct pollfd pf = {.fd = fd, .events = POLLOUT};
		socklen_t len = sizeof(err);

		if (fd == -1)
			continue;
		if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0 ||
		    (errno == EINPROGRESS && poll(&pf, 1, timeout_ms) == 1 &&
		     getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) == 0 && err == 0)) {
			close(fd);
			freeaddrinfo(res);
			return NULL;
		}
		if (errno != EINPROGRESS)
			err = errno;
		close(fd);
	}
	freeaddrinfo(res);
	snprintf(why, size, "cannot connect to %s:%d: %s", host, port, strerror(err));
	return why;
}

/* check --connect: every store the configuration names, and the upstream. */
static int reach_everything(const struct config *cfg)
{
	const char *urls[WS_COUNT] = {cfg->database_url, cfg->mongodb_uri};
	static const char *const names[WS_COUNT] = {"legacy store", "mongodb"};
	int s, failed = 0;

	for (s = 0; s < WS_COUNT; s++) {
		struct store_error err = {0};
		struct store *st;
		char *url;

		if (!*urls[s])
			continue;
		url = shadow_url(urls[s], cfg->shadow.timeout_ms);
		if ((st = store_open(url, cfg, &err)) && store_answers(st, cfg, &err)) {
			printf("%s (%s): answers\n", names[s], st->ops->name);
		} else {
			printf("%s: does not answer: %s\n", names[s], err.msg);
			failed++;
		}
		store_close(st);
		free(url);
	}
	if (*cfg->upstream.url) {
		char why[300];

		if (tcp_reach(cfg->upstream.host, cfg->upstream.port, cfg->upstream.connect_timeout_ms, why,
		              sizeof(why))) {
			printf("upstream %s: %s\n", cfg->upstream.url, why);
			failed++;
		} else {
			printf("upstream %s: connected\n", cfg->upstream.url);
		}
	}
	return failed ? 1 : 0;
}

static int cmd_check(int argc, char **argv)
{
	struct opts o = {0};
	struct config *cfg;
	int rc;

	if (parse_opts(argc, argv, &o) < 0)
		return 2;
	if (o.keys) {
		config_keys_print(stdout, o.keys_format);
		return 0;
	}
	if (!(cfg = load(o.config)))
		return 1;
	printf("%s: ok (%zu resource%s, legacy store %s, mode %s)\n", o.config, cfg->nresources,
	       cfg->nresources == 1 ? "" : "s", store_ops_for(cfg->database_url, NULL)->name, cfg->mode);
	rc = o.connect ? reach_everything(cfg) : 0;
	config_free(cfg);
	return rc;
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
	if (o.kid && !o.key)
		return bad_usage("%s", "--kid needs --key");
	if (o.key) {
		struct error err = {0};

		if (!(tok = jwt_mint_key(o.key, o.kid, o.user_id, (int64_t)time(NULL), o.ttl, &err))) {
			fprintf(stderr, "cutover: token: %s\n", err.msg);
			return 1;
		}
		printf("%s\n", tok);
		free(tok);
		return 0;
	}
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

	if (!(cfg = setup(argc, argv, &o, 1, &rc)))
		return rc;
	if (!*cfg->mongodb_uri) {
		fprintf(stderr, "cutover: migrate needs the MongoDB store: set \"mongodb_uri\" or MONGODB_URI\n");
		config_free(cfg);
		return 1;
	}
	if (!o.m.state) {
		const char *slash = strrchr(cfg->journal, '/');

		o.m.state = arena_printf(&cfg->arena, "%.*scutover-migrate.state.json",
		                         slash ? (int)(slash - cfg->journal + 1) : 0, cfg->journal);
	}
	rc = o.indexes_only ? migrate_indexes(cfg) : migrate_run(cfg, &o.m);
	config_free(cfg);
	return rc;
}

static int cmd_verify(int argc, char **argv)
{
	struct opts o = {0};
	struct config *cfg;
	int rc;

	if (!(cfg = setup(argc, argv, &o, 2, &rc)))
		return rc;
	rc = strcmp(argv[0], "verify") == 0 ? verify_run(cfg, &o.v) : repair_run(cfg, &o.v, o.from, o.journal);
	config_free(cfg);
	return rc;
}

static int cmd_plan(int argc, char **argv)
{
	return with_config(argc, argv, cli_plan);
}

static int cmd_init(int argc, char **argv)
{
	static const struct option longs[] = {
		{"from", required_argument, NULL, 'f'}, {"out", required_argument, NULL, 'o'},
		{"force", no_argument, NULL, 'F'}, {"tables", required_argument, NULL, 't'},
		{"owner", required_argument, NULL, 'w'}, {"owner-column", required_argument, NULL, 'W'},
		{"users-table", required_argument, NULL, 'u'}, {"prefix", required_argument, NULL, 'p'},
		{"profile", required_argument, NULL, 'P'}, {NULL, 0, NULL, 0},
	};
	struct init_opts o = {.prefix = "/api/"};
	int c;

	o.owners = calloc((size_t)argc, sizeof(*o.owners));
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "o:", longs, NULL)) != -1) {
		switch (c) {
		case 'f': o.from = optarg; break;
		case 'o': o.out = optarg; break;
		case 'F': o.force = true; break;
		case 't': o.tables = optarg; break;
		case 'W': o.owner_column = optarg; break;
		case 'u': o.users_table = optarg; break;
		case 'p': o.prefix = optarg; break;
		case 'P': o.profile = optarg; break;
		case 'w':
			if (!strchr(optarg, '=') || optarg[0] == '=' || !strchr(optarg, '=')[1]) {
				free(o.owners);
				return bad_usage("--owner takes TABLE=COLUMN, not '%s'", optarg);
			}
			o.owners[o.nowners++] = optarg;
			break;
		default:
			free(o.owners);
			return bad_usage("unknown or incomplete option %s for init", argv[optind - 1]);
		}
	}
	if (!o.from || optind != argc || o.prefix[0] != '/' || o.prefix[strlen(o.prefix) - 1] != '/') {
		free(o.owners);
		return bad_usage("%s", o.from ? "init takes no arguments but options, and --prefix starts and "
		                                "ends with /" : "init needs --from URL");
	}
	c = init_run(&o);
	free(o.owners);
	return c;
}

static int cmd_mode(int argc, char **argv)
{
	const char *config = DEFAULT_CONFIG;
	struct config *cfg;
	int rc, skip = 0, i;
	bool force = false, reset = false;

	for (i = 1; i + 1 < argc; i++) {
		if (strcmp(argv[i], "--control-store") == 0) {
			if (strcmp(argv[i + 1], "mongodb") != 0)
				return bad_usage("--control-store takes mongodb, not '%s'", argv[i + 1]);
			if (argc != 3 && !(argc == 5 && i == 3 && (strcmp(argv[1], "-c") == 0 ||
			                                          strcmp(argv[1], "--config") == 0)))
				return bad_usage("%s", "usage: cutover mode [-c FILE] --control-store mongodb");
			if (!(cfg = load(i == 3 ? argv[2] : config)))
				return 1;
			rc = control_store_hand_over(cfg);
			config_free(cfg);
			return rc;
		}
	}
	for (i = 1; i < argc; i++) {
		bool *flag = strcmp(argv[i], "--force") == 0 ? &force : strcmp(argv[i], "--reset-evidence") == 0 ? &reset
		             : NULL;

		if (flag) {
			*flag = true;
			memmove(&argv[i], &argv[i + 1], (size_t)(argc - i) * sizeof(*argv));
			argc--;
			i--;
		}
	}
	if (force && argc < 3)
		return bad_usage("%s", "--force goes with a flip: cutover mode ROUTE MODE --force");
	if (argc >= 3 && (strcmp(argv[1], "-c") == 0 || strcmp(argv[1], "--config") == 0)) {
		config = argv[2];
		skip = 2;
	}
	if (argc - skip > 3)
		return bad_usage("%s", "mode takes at most a route and a mode");
	if (reset && (argc - skip < 2 || strcmp(argv[1 + skip], "global") == 0 || strcmp(argv[1 + skip], "*") == 0))
		return bad_usage("%s", "--reset-evidence goes with a route: cutover mode ROUTE --reset-evidence");
	if (argc - skip == 3 && mode_parse(argv[2 + skip]) < 0 && strcmp(argv[2 + skip], "global") != 0)
		return bad_usage("unknown mode '%s' (one of legacy, dual-write, shadow, dual, live, rampdown, "
		                 "mongodb, passthrough)", argv[2 + skip]);
	if (!(cfg = load(config)))
		return 1;
	argv[skip] = argv[0];
	rc = cli_mode(cfg, argc - skip, argv + skip, force, reset);
	config_free(cfg);
	return rc;
}

int main(int argc, char **argv)
{
	static const struct { const char *name; int (*fn)(int, char **); } cmds[] = {
		{"serve", cmd_serve}, {"check", cmd_check}, {"token", cmd_token},
		{"migrate", cmd_migrate},
		{"mode", cmd_mode}, {"plan", cmd_plan}, {"init", cmd_init},
		{"verify", cmd_verify},
		{"repair", cmd_verify},
	};
	size_t i;

	cli_default_config = DEFAULT_CONFIG;
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
	for (i = 0; argc > 2 && i < sizeof(helps) / sizeof(helps[0]); i++) {
		if (strcmp(argv[1], helps[i].name) == 0 &&
		    (strcmp(argv[2], "--help") == 0 || strcmp(argv[2], "-h") == 0)) {
			fputs(helps[i].text, stdout);
			return 0;
		}
	}
	for (i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		if (strcmp(argv[1], cmds[i].name) == 0)
			return command = cmds[i].name, cmds[i].fn(argc - 1, argv + 1);
	return bad_usage("unknown command '%s'", argv[1]);
}
