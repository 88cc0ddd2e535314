/*
 * config.h — the gateway's configuration and the resource model it
 * describes (design.md §5).
 *
 * One JSON file, strictly parsed, with ${VAR} and ${VAR:-default}
 * interpolation ($${ is a literal ${); environment variables override the
 * file.  Everything hangs off config->arena and is freed by config_free().
 */
#ifndef CUTOVER_CONFIG_H
#define CUTOVER_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "arena.h"
#include "json.h"
#include "mode.h"
#include "util.h"
#include "value.h"


enum field_flag {
	F_NULL      = 1 << 0,   /* null accepted and stored */
	F_BLANK     = 1 << 1,   /* empty string accepted */
	F_REQUIRED  = 1 << 2,   /* must be given on create and full update */
	F_READ_ONLY = 1 << 3,   /* ignored on input */
	F_EMAIL     = 1 << 4,   /* must look like an e-mail address */
	F_DEFAULT   = 1 << 5,   /* def holds the value used on create */
};

enum field_auto {
	AUTO_NONE,
	AUTO_UUID4,             /* generated id */
	AUTO_NOW_CREATE,        /* set once, on create */
	AUTO_NOW,               /* set on create and every update */
};

struct resource;
struct profile;

/* How a decimal is kept in MongoDB (design.md §5): Decimal128 by default, or
 * its text ("118.00"), or an int64 count of minor units (11800). */
enum mongo_decimal {
	MD_DEFAULT,             /* the config's "mongodb_decimal" */
	MD_DECIMAL128,
	MD_STRING,
	MD_INT64,
};

struct field {
	const char *name;       /* name in the API */
	const char *key;        /* … as a JSON key with its colon, written as it is */
	const char *column;     /* column in the legacy table */
	enum ctype type;
	unsigned flags;
	enum field_auto autoset;
	int max_length;         /* code points; 0 = unlimited */
	int digits, places;     /* decimal */
	bool has_min, has_max;
	int64_t min_value;      /* integer lower bound */
	int64_t max_value;      /* … and upper bound (the store's integer range when not given) */
	const char **choices;
	const char **choice_labels;     /* … their names for OPTIONS, or NULL each */
	size_t nchoices;
	struct value def;
	enum mongo_decimal mongo_decimal;
	const char *ref_name;   /* references this resource's primary key … */
	struct resource *ref;   /* … resolved after parsing; owner-scoped */
};

struct order_term {
	int field;              /* index into resource->fields */
	bool desc;
};

enum view_kind { VIEW_SUMMARY, VIEW_RECENT, VIEW_SEARCH };

struct view {
	const char *name;       /* path segment after the prefix: "summary" */
	enum view_kind kind;
	int group_field;        /* summary: group by … */
	int sum_field;          /* … summing this decimal field */
	const char *param;      /* search: query parameter with the terms */
	struct order_term order;
	int limit;              /* recent: how many */
	const char *by_key;     /* summary: the groups' key, "by_status" (as the profile names it) */
};

struct unique {
	int *fields;            /* field indexes; the owner is always included */
	size_t nfields;
	const char *message;
};

enum op_bit {
	OP_LIST = 1 << 0, OP_CREATE = 1 << 1, OP_RETRIEVE = 1 << 2,
	OP_UPDATE = 1 << 3, OP_PARTIAL = 1 << 4, OP_DESTROY = 1 << 5,
};

/* A resource, or the embedded children of one (then parent is set, owner
 * and path are not, and fk_column links a child row to its parent). */
struct resource {
	const char *name;
	const char *key;            /* a child's name as a JSON key, with its colon */
	const char *path;           /* URL prefix, e.g. "/api/invoices/" */
	size_t path_len;
	const char *table;
	const char *collection;
	struct field *fields;
	size_t nfields;
	int pk;                     /* index of the primary-key field */
	const char *owner_column;   /* rows belong to the principal through this */
	struct resource *parent;
	const char *fk_column;
	int after;                  /* child: shown after this parent field (-1: last) */
	struct resource **children;
	size_t nchildren;
	int *filters, *search, *orderable;
	size_t nfilters, nsearch, norderable;
	struct order_term *ordering;    /* default ordering */
	size_t nordering;
	int page_size;
	unsigned ops;
	/* The Allow header of its views, as DRF sends it on every answer. */
	const char *allow_collection, *allow_detail;
	struct unique *uniques;
	size_t nuniques;
	struct view *views;
	size_t nviews;
	/* Other resources whose rows referencing this one are deleted with it. */
	struct { struct resource *res; int field; } *cascades;
	size_t ncascades;
	/* Roles that lift owner scoping (bits of config->roles): reading every
	 * owner's records, updating and deleting them. */
	uint32_t role_read, role_update, role_delete;
	const char *profile_name;   /* its own "profile", or NULL: the configuration's */
	const struct profile *profile;      /* the shape of its answers (profile.h) */
	int index;                  /* position in config->resources */
	int mode;                   /* the route's own mode, or -1: the global one */
	int sample;                 /* % of reads compared in shadow and live */
	/* Comparison rules for shadow reads (compare.h), JSON Pointer paths. */
	const char **compare_ignore;
	size_t ncompare_ignore;
	struct { const char *path, *key; } *compare_sets;
	size_t ncompare_sets;
	double compare_tolerance;
};

struct config {
	struct arena arena;
	const char *path;
	const char *listen;             /* host:port */
	int threads;                    /* 0: one per core */
	const char *database_url;
	const char *mongodb_uri;
	enum mongo_decimal mongodb_decimal;     /* decimals without their own choice */
	const char *mode;
	enum mode mode_id;
	struct {
		unsigned algorithms;            /* JWT_ALG_BIT()s (jwt.h) */
		const char *secret;
		const char *public_key;         /* a PEM file, for RS256/ES256 */
		const char *jwks;               /* a JWKS file, for RS256/ES256 */
		const char *user_id_claim;
		const char *issuer, *audience;
		const char **required_claims;
		size_t nrequired_claims;
		const char *role_claim;         /* "": roles are off */
		int leeway;
	} jwt;
	/* Role names the resources grant operations to (resource.roles), in
	 * the order of their bits. */
	const char *roles[32];
	size_t nroles;
	size_t max_body_bytes;
	size_t max_header_bytes;
	int request_timeout;            /* seconds: a request's whole time, from its first byte */
	int header_timeout;             /* seconds for its head; 0 (or more than request_timeout): request_timeout */
	int64_t max_connections;        /* open client connections; 0: what descriptors allow */
	int64_t max_connections_per_address;    /* 0: no cap */
	int64_t rate_per_address;       /* requests a second from one address; 0: no limit */
	int64_t burst;                  /* … that may come at once; 0: one second's worth */
	size_t max_buffered_bytes;      /* request bodies held for the gateway's routes, in total */
	const char *public_url;         /* scheme://host[:port] for links; "" uses the Host header */
	struct {
		const char **origins;
		size_t norigins;
		int max_age;
	} cors;
	struct {
		const char *cert_file, *key_file;       /* PEM; "": plain HTTP */
		const char *admin_client_ca;            /* admin listener: client certificates it signed */
	} tls;
	const char *access_log;         /* "-" for stderr, "" for none, or a path */
	int drain_seconds;
	int store_threads;              /* store workers; 0: inline when the store allows */
	int store_queue;                /* requests waiting for a store worker, at most */
	int store_timeout_ms;           /* a request's wait for its store; past it 503 */
	struct resource **resources;
	size_t nresources;
	const char *profile;            /* the resources' response profile, "drf" by default */
	const struct json *profiles_json;       /* the configuration's own "profiles" */
	struct profile *profiles;       /* built-in first, then the configuration's (profile.h) */
	size_t nprofiles;
	struct {
		const char *prefix;         /* "/_cutover/" */
		const char *token;          /* bearer token; "" disables the admin API */
		const char *listen;         /* host:port of its own listener; "": the client port */
	} admin;
	bool metrics;                   /* count requests and their latency (on by default) */
	const char *journal;            /* the journal's SQLite file */
	struct {
		int threads;                /* workers for secondary reads and writes */
		int queue;                  /* jobs that may wait; beyond, dropped (reads) or left to the journal (writes) */
		int timeout_ms;             /* a secondary call's time limit */
	} shadow;
	struct {
		int min_comparisons;
		int max_latency_ms;         /* secondary p99 bound */
		int window_seconds;         /* no unexplained mismatch in this long */
	} readiness;
	struct {
		bool enabled;               /* live routes fall back to shadow when MongoDB fails them */
		bool rampdown;              /* rampdown routes too */
		int window_seconds;         /* the sliding window the rates are taken over */
		int min_requests;           /* fewer in the window: no verdict on rates */
		int max_error_percent, max_timeout_percent, max_mismatch_percent;
		int max_p99_ms;
	} fallback;
	int mismatch_capacity;          /* mismatches kept, newest first */
	int noise_sample;               /* % of compared reads whose authoritative answer is read again */
	const char *control_store;      /* "legacy" (its cutover_routes table) or "mongodb" (the collection) */
	bool rollback_copy;             /* mongodb mode: keep the legacy store up, in the background */
	bool listen_shared;             /* share the port with other processes (SO_REUSEPORT) */
	struct {
		const char *url;            /* "http://host:port", or "" for none */
		const char *host;           /* from the URL */
		int port;
		int connect_timeout_ms;
		int timeout_ms;             /* the longest wait for the application's next bytes */
		int max_idle;               /* kept-alive connections per event loop */
		const char *ca_file;        /* https: the authorities its certificate is checked against; "": the system's */
	} upstream;
};

/* Why mode m cannot run under cfg ("needs …"), or NULL when it can. */
const char *mode_unavailable(const struct config *cfg, int m);

/* Problems found while loading: every one, each with file:line:column. */
struct config_problems {
	struct buf text;
	int count;
};

/*
 * Load a configuration file.  On success returns the config (owned by the
 * caller; free with config_free) and problems->count is 0.  On any problem
 * returns NULL, and problems->text lists all of them, one per line.
 */
struct config *config_load(const char *path, struct config_problems *problems);
/* The same from text in memory; name labels the problems. */
struct config *config_load_text(const char *name, const char *text, size_t len,
                                struct config_problems *problems);
void config_free(struct config *cfg);
void config_problems_free(struct config_problems *p);

/* ${VAR} and ${VAR:-default} interpolation, $${ for a literal ${ (and
 * nothing else changed: a lone $ stays); -1 with err on an unset variable
 * without default or an unterminated reference. */
int config_interpolate(struct arena *a, const char *in, size_t n, char **out,
                       struct error *err) MUST_CHECK;
/* s as a JSON string that loads back as s: escaped, and every ${ written
 * $${ so that nothing in it is taken for a variable (cutover init writes
 * what it copies from a schema so). */
void config_put_str(struct buf *b, const char *s);

/* "decimal128", "string", "int64" → MD_*; -1 when unknown. */
int mongo_decimal_parse(const char *s);

/* Resource lookup by name (n bytes of it); NULL when absent. */
struct resource *config_resource(const struct config *cfg, const char *name, size_t n);

/* Field lookup by API name; -1 when absent. */
int resource_field(const struct resource *r, const char *name);

/* Configuration keys ---------------------------------------------------
 *
 * Each module declares the keys it reads, as nginx's modules declare their
 * directives: where a key sits (the top level, or an object such as
 * "limits"), what it holds, where it goes in struct config, its default,
 * and the environment variable that wins over the file.  config_modules.c
 * lists the modules; the loader reads every key as its declaration says,
 * refuses the undeclared ones, and then runs each module's check.
 */
struct config_loader;

enum config_type { CFG_STRING, CFG_INT, CFG_BOOL, CFG_CUSTOM };

struct config_key {
	const char *section;        /* NULL: the top level */
	const char *name;
	enum config_type type;
	size_t offset, size;        /* in struct config: CFG_FIELD(member) */
	long lo, hi;                /* CFG_INT: the bounds */
	const char *def;            /* the default, as text; NULL: zero, "" */
	const char *env;            /* CFG_STRING: the variable that overrides it, or NULL */
	void (*parse)(struct config_loader *l, const struct json *v);     /* CFG_CUSTOM */
	const char *doc;            /* what it does, one line */
};

#define CFG_FIELD(member) offsetof(struct config, member), sizeof(((struct config *)0)->member)

struct config_module {
	const char *name;
	const struct config_key *keys;
	size_t nkeys;
	/* After every key and the environment: what needs the whole of it. */
	void (*check)(struct config_loader *l);
};

/* Every module's keys (config_modules.c), NULL-terminated. */
extern const struct config_module *const config_modules[];

/* Every declared key: a line each (KEY TYPE BOUNDS DEFAULT ENV MODULE
 * DESCRIPTION, "-" for none), a Markdown table, or man page entries. */
enum keys_format { KEYS_TEXT, KEYS_MARKDOWN, KEYS_MAN };
void config_keys_print(FILE *out, enum keys_format f);

/* For a module's parse and check functions: the configuration being
 * loaded, a problem at a value (NULL: the file as a whole), and the typed
 * readers the declared keys use (each reports its own problem). */
struct config *config_of(struct config_loader *l);
/* The memory the configuration lives in (freed with it). */
struct arena *config_arena(struct config_loader *l);
void config_problem(struct config_loader *l, const struct json *at, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* After the environment, a problem with the value of a declared key (section
 * NULL: the top level): at that value in the file, or naming the variable
 * that replaced it. */
void config_key_problem(struct config_loader *l, const char *section, const char *name, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
/* A value from the file as a message quotes it: a JSON string, cut to 80
 * bytes with "…" (the copy is the configuration's). */
const char *config_quote(struct config_loader *l, const char *s);
const char *config_want_str(struct config_loader *l, const struct json *v, const char *key);
bool config_want_int(struct config_loader *l, const struct json *v, const char *key, long min, long max,
                     long *out);
bool config_want_type(struct config_loader *l, const struct json *v, enum json_type t, const char *key);
bool config_want_bool(struct config_loader *l, const struct json *v, const char *key, bool *out);
/* " (did you mean "x"?)" for the nearest name found, or "". */
const char *config_did_you_mean(struct config_loader *l, const struct nearest *n);
/* A string setting: on a problem *dst keeps its default. */
void config_set_str(struct config_loader *l, const struct json *v, const char *key, const char **dst);
/* The members of obj, as the keys declared in section. */
void config_read_section(struct config_loader *l, const char *section, const struct json *obj);

#endif
