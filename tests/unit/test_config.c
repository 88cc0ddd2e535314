/*
 * test_config.c — configuration loading: the shipped example, interpolation,
 * environment overrides, and problems reported with line and column.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "config.h"

static void clear_env(void)
{
	unsetenv("DATABASE_URL");
	unsetenv("DATABASE_MODE");
	unsetenv("JWT_SECRET");
	unsetenv("CUTOVER_LISTEN");
	unsetenv("MONGODB_URI");
	unsetenv("CUTOVER_UPSTREAM");
}

static bool ascii(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s >= 0x80)
			return false;
	return true;
}

static void test_example_config(void **state)
{
	struct config_problems pr = {0};
	struct config *cfg;
	const struct resource *inv, *pay;

	(void)state;
	clear_env();
	cfg = config_load("etc/examples/hisabpro/cutover.json", &pr);
	assert_non_null(cfg);
	assert_int_equal(pr.count, 0);
	assert_int_equal(cfg->nresources, 2);
	inv = cfg->resources[0];
	pay = cfg->resources[1];
	assert_string_equal(inv->name, "invoices");
	assert_string_equal(inv->path, "/api/invoices/");
	assert_int_equal(inv->nchildren, 1);
	assert_string_equal(inv->children[0]->name, "items");
	assert_int_equal(inv->children[0]->after, resource_field(inv, "notes"));
	assert_int_equal(inv->nviews, 3);
	assert_int_equal(inv->ncascades, 1);
	assert_ptr_equal(inv->cascades[0].res, pay);
	assert_ptr_equal(pay->fields[resource_field(pay, "invoice")].ref, inv);
	assert_string_equal(pay->fields[resource_field(pay, "invoice")].column, "invoice_id");
	assert_int_equal(pay->ops & OP_UPDATE, 0);
	assert_string_equal(cfg->mode, "legacy");
	assert_string_equal(cfg->listen, "127.0.0.1:8080");
	config_free(cfg);
	config_problems_free(&pr);
}

static void test_interpolation(void **state)
{
	struct arena a;
	struct error err;
	char *out;

	(void)state;
	arena_init(&a, 1024);
	setenv("CUTOVER_T1", "value", 1);
	unsetenv("CUTOVER_T2");
	setenv("CUTOVER_T3", "", 1);
	assert_int_equal(config_interpolate(&a, "a${CUTOVER_T1}b", 15, &out, &err), 0);
	assert_string_equal(out, "avalueb");
	assert_int_equal(config_interpolate(&a, "${CUTOVER_T2:-dflt}", 19, &out, &err), 0);
	assert_string_equal(out, "dflt");
	assert_int_equal(config_interpolate(&a, "${CUTOVER_T1:-dflt}", 19, &out, &err), 0);
	assert_string_equal(out, "value");
	/* set but empty uses the default, as the shell's :- does */
	assert_int_equal(config_interpolate(&a, "${CUTOVER_T3:-x}", 16, &out, &err), 0);
	assert_string_equal(out, "x");
	assert_int_equal(config_interpolate(&a, "${CUTOVER_T2:-}", 15, &out, &err), 0);
	assert_string_equal(out, "");
	assert_int_equal(config_interpolate(&a, "no vars $ here", 14, &out, &err), 0);
	assert_string_equal(out, "no vars $ here");
	assert_int_equal(config_interpolate(&a, "${CUTOVER_T2}", 13, &out, &err), -1);
	assert_non_null(strstr(err.msg, "CUTOVER_T2 is not set"));
	assert_int_equal(config_interpolate(&a, "${OPEN", 6, &out, &err), -1);
	assert_non_null(strstr(err.msg, "a literal ${ is written $${"));
	/* $${ is a literal ${; a $ elsewhere stays as it is */
	assert_int_equal(config_interpolate(&a, "a$${CUTOVER_T1}b", 16, &out, &err), 0);
	assert_string_equal(out, "a${CUTOVER_T1}b");
	assert_int_equal(config_interpolate(&a, "$${CUTOVER_T2}", 14, &out, &err), 0);
	assert_string_equal(out, "${CUTOVER_T2}");
	assert_int_equal(config_interpolate(&a, "$$${", 4, &out, &err), 0);
	assert_string_equal(out, "$${");
	assert_int_equal(config_interpolate(&a, "$$ $$${CUTOVER_T1}", 18, &out, &err), 0);
	assert_string_equal(out, "$$ $${CUTOVER_T1}");
	assert_int_equal(config_interpolate(&a, "x$${", 4, &out, &err), 0);
	assert_string_equal(out, "x${");
	arena_reset(&a);
}

/* What config_put_str writes loads back as it was: no ${ in it is taken
 * for a variable, however many $ come before it. */
static void test_literal_round_trip(void **state)
{
	static const char *const cases[] = {
		"${JWT_SECRET}", "$${JWT_SECRET}", "$$${", "${", "$", "a$", "$$", "${CUTOVER_T1:-x}",
		"plain", "quote \" and \\ and\nnewline */", "${A}${B}$${C}", "",
	};
	struct arena a;
	size_t i;

	(void)state;
	arena_init(&a, 1024);
	setenv("JWT_SECRET", "the-secret-must-not-appear", 1);
	setenv("CUTOVER_T1", "value", 1);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct buf b = {0};
		struct json *v;
		struct error err;
		char msg[128], *out;
		size_t off;

		config_put_str(&b, cases[i]);
		v = json_parse(&a, b.p, b.len, msg, sizeof(msg), &off);
		assert_non_null(v);
		assert_int_equal(v->type, JSON_STRING);
		assert_int_equal(config_interpolate(&a, v->u.s.p, v->u.s.n, &out, &err), 0);
		assert_string_equal(out, cases[i]);
		buf_free(&b);
	}
	clear_env();
	arena_reset(&a);
}

#define BASE_HEAD "{\n  \"database_url\": \"sqlite://x.db\",\n  \"jwt\": {\"secret\": \"0123456789abcdef\"},\n"

static struct config *load_text(const char *text, struct config_problems *pr)
{
	return config_load_text("t.json", text, strlen(text), pr);
}

static void test_problems_with_positions(void **state)
{
	struct config_problems pr = {0};
	const char *text = BASE_HEAD
		"  \"threads\": \"many\",\n"
		"  \"bogus\": 1,\n"
		"  \"resources\": [{\"name\": \"r\", \"path\": \"/r/\", \"table\": \"t\", \"owner_column\": \"u\",\n"
		"    \"fields\": [{\"name\": \"id\", \"type\": \"uuid\", \"primary_key\": true, \"auto\": \"uuid4\"},\n"
		"               {\"name\": \"x\", \"type\": \"float\"}],\n"
		"    \"filters\": [\"nope\"]}]\n"
		"}\n";

	(void)state;
	clear_env();
	assert_null(load_text(text, &pr));
	/* every problem, not just the first */
	assert_int_equal(pr.count, 4);
	assert_non_null(strstr(pr.text.p, "t.json:4:20: \"threads\" must be an integer"));
	assert_non_null(strstr(pr.text.p, "t.json:5:13: unknown key \"bogus\""));
	assert_non_null(strstr(pr.text.p, "t.json:8:45: unknown type \"float\""));
	assert_non_null(strstr(pr.text.p, "t.json:9:23: \"filters\": resource r has no field \"nope\""));
	config_problems_free(&pr);
}

static void test_invalid_json_position(void **state)
{
	struct config_problems pr = {0};

	(void)state;
	assert_null(load_text("{\n  \"listen\": \"x\",\n  oops\n}", &pr));
	assert_int_equal(pr.count, 1);
	assert_non_null(strstr(pr.text.p, "t.json:3:"));
	assert_non_null(strstr(pr.text.p, "invalid JSON"));
	config_problems_free(&pr);
}

/* A misspelt key names the nearest known one; a syntax error says what was
 * expected. */
static void test_hints(void **state)
{
	static const struct { const char *text, *want; } cases[] = {
		{BASE_HEAD "  \"lisen\": \"x\"\n}", "unknown key \"lisen\" (did you mean \"listen\"?)"},
		{BASE_HEAD "  \"shadow\": {\"timout_ms\": 3}\n}", "shadow: unknown key \"timout_ms\" (did you mean \"timeout_ms\"?)"},
		{BASE_HEAD "  \"shdaow\": {}\n}", "unknown key \"shdaow\" (did you mean \"shadow\"?)"},
		{BASE_HEAD "  \"resources\": [{\"name\": \"r\", \"tabel\": \"t\"}]\n}", "(did you mean \"table\"?)"},
		{BASE_HEAD "  \"resources\": [{\"name\": \"r\", \"fields\": [{\"name\": \"x\", \"requird\": true}]}]\n}",
		 "field x: unknown key \"requird\" (did you mean \"required\"?)"},
		{BASE_HEAD "  \"zebra\": 1\n}", "unknown key \"zebra\"\n"},
		{BASE_HEAD "  \"listen\": \"x\",\n}", "invalid JSON: expected a key in double quotes (a comma before '}'?)"},
		{"[1,]", "expected a value (a comma before ']'?)"},
		{"{\"a\" 1}", "expected ':' after a key"},
		{"{\"a\": 1 \"b\": 2}", "expected ',' or '}' after a value"},
	};
	size_t i;

	(void)state;
	clear_env();
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct config_problems pr = {0};

		assert_null(load_text(cases[i].text, &pr));
		if (!strstr(pr.text.p, cases[i].want))
			fail_msg("case %zu: %s\nwanted: %s", i, pr.text.p, cases[i].want);
		config_problems_free(&pr);
	}
}

/* Configuration files may carry comments (cutover init writes its guesses
 * as comments); a problem's line and column still count them. */
static void test_comments(void **state)
{
	struct config_problems pr = {0};
	struct config *cfg;

	(void)state;
	clear_env();
	cfg = load_text("// a draft\n" BASE_HEAD "  /* none yet */ \"resources\": [] // later\n}", &pr);
	assert_non_null(cfg);
	assert_int_equal(pr.count, 0);
	config_free(cfg);
	assert_null(load_text("// one\n// two\n{\"listen\": 5}", &pr));
	assert_non_null(strstr(pr.text.p, "t.json:3:"));
	config_problems_free(&pr);
}

static void test_env_overrides(void **state)
{
	struct config_problems pr = {0};
	struct config *cfg;

	(void)state;
	clear_env();
	setenv("DATABASE_URL", "sqlite:///tmp/other.db", 1);
	setenv("CUTOVER_LISTEN", "0.0.0.0:9999", 1);
	setenv("JWT_SECRET", "env-secret-0123456789", 1);
	setenv("DATABASE_MODE", "shadow", 1);
	setenv("MONGODB_URI", "mongodb://127.0.0.1:1/x", 1);
	cfg = load_text(BASE_HEAD "  \"resources\": []\n}", &pr);
	assert_non_null(cfg);
	assert_string_equal(cfg->database_url, "sqlite:///tmp/other.db");
	assert_string_equal(cfg->listen, "0.0.0.0:9999");
	assert_string_equal(cfg->jwt.secret, "env-secret-0123456789");
	assert_string_equal(cfg->mode, "shadow");
	config_free(cfg);
	setenv("DATABASE_MODE", "sideways", 1);
	assert_null(load_text(BASE_HEAD "  \"resources\": []\n}", &pr));
	assert_non_null(strstr(pr.text.p, "mode \"sideways\""));
	config_problems_free(&pr);
	clear_env();
}

/* Values checked once the environment is in (mode, listen, the store
 * URLs) are reported at the value in the file, or with the variable that
 * gave them; a long value is quoted cut short. */
static void test_checked_values(void **state)
{
	struct config_problems pr = {0};
	struct config *cfg;
	struct buf big = {0};
	size_t i;

	(void)state;
	clear_env();
	assert_null(load_text("{\"database_url\": \"nonsense\",\n \"mode\": \"bogus\",\n"
	                      " \"listen\": \"1.2.3.4:99999\", \"jwt\": {\"secret\": \"0123456789abcdef\"}}", &pr));
	assert_int_equal(pr.count, 3);
	assert_non_null(strstr(pr.text.p, "t.json:1:28: \"database_url\": \"nonsense\" is no store URL; the "
	                       "forms: sqlite://"));
	assert_non_null(strstr(pr.text.p, "t.json:2:17: mode \"bogus\" is not one of"));
	assert_non_null(strstr(pr.text.p, "t.json:3:27: listen address \"1.2.3.4:99999\" needs a port"));
	config_problems_free(&pr);
	/* Hosts serve could not bind; port 0 is any free one. */
	assert_null(load_text(BASE_HEAD "\"listen\": \"bad host:80\", \"admin\": {\"listen\": \"[x]:1\"}}", &pr));
	assert_int_equal(pr.count, 2);
	assert_non_null(strstr(pr.text.p, "t.json:4:24: listen address \"bad host:80\" has a host that is no"));
	assert_non_null(strstr(pr.text.p, "admin.listen \"[x]:1\" has no IPv6 address"));
	config_problems_free(&pr);
	assert_null(load_text(BASE_HEAD "\"listen\": \"127.0.0.1:8x\"}", &pr));
	assert_null(load_text(BASE_HEAD "\"listen\": \"1.2.3.999:80\"}", &pr));
	assert_int_equal(pr.count, 1);
	config_problems_free(&pr);
	for (i = 0; i < 4; i++) {
		static const char *const good[] = {"127.0.0.1:0", "[::1]:8080", "localhost:65535", ":8080"};
		char text[256];

		snprintf(text, sizeof(text), BASE_HEAD "\"listen\": \"%s\"}", good[i]);
		assert_non_null(cfg = load_text(text, &pr));
		config_free(cfg);
	}
	/* From the environment: no position, the variable named. */
	setenv("DATABASE_URL", "nonsense", 1);
	setenv("CUTOVER_LISTEN", "x:70000", 1);
	assert_null(load_text(BASE_HEAD "\"resources\": []}", &pr));
	assert_non_null(strstr(pr.text.p, "t.json: DATABASE_URL (from the environment): \"database_url\": \"nonsense\" is no store URL"));
	assert_non_null(strstr(pr.text.p, "t.json: CUTOVER_LISTEN (from the environment): listen address"));
	config_problems_free(&pr);
	clear_env();
	/* A megabyte value: its first 80 bytes, then "…". */
	buf_puts(&big, BASE_HEAD "\"mode\": \"");
	for (i = 0; i < 1 << 20; i++)
		buf_putc(&big, 'm');
	buf_puts(&big, "\"}");
	assert_null(config_load_text("t.json", big.p, big.len, &pr));
	assert_int_equal(pr.count, 1);
	assert_true(pr.text.len < 300);
	assert_non_null(strstr(pr.text.p, "mmm\xe2\x80\xa6\" is not one of"));
	config_problems_free(&pr);
	buf_free(&big);
}

static void test_upstream(void **state)
{
	struct config_problems pr = {0};
	struct config *cfg;

	(void)state;
	clear_env();
	cfg = load_text(BASE_HEAD "  \"upstream\": \"http://app.internal:8000/\", \"mode\": \"passthrough\"\n}", &pr);
	assert_non_null(cfg);
	assert_string_equal(cfg->upstream.host, "app.internal");
	assert_int_equal(cfg->upstream.port, 8000);
	assert_int_equal(cfg->upstream.timeout_ms, 60000);
	assert_int_equal(cfg->mode_id, MODE_PASSTHROUGH);
	assert_null(mode_unavailable(cfg, MODE_PASSTHROUGH));
	assert_non_null(mode_unavailable(cfg, MODE_SHADOW));
	config_free(cfg);
	cfg = load_text(BASE_HEAD "  \"upstream\": {\"url\": \"http://[::1]\", \"timeout_ms\": 1500, \"max_idle\": 0}\n}", &pr);
	assert_non_null(cfg);
	assert_string_equal(cfg->upstream.host, "::1");
	assert_int_equal(cfg->upstream.port, 80);
	assert_int_equal(cfg->upstream.timeout_ms, 1500);
	assert_int_equal(cfg->upstream.max_idle, 0);
	config_free(cfg);
	/* Every problem: scheme, path, port, and passthrough without an upstream. */
	cfg = load_text(BASE_HEAD "  \"upstream\": \"https://app\"\n}", &pr);
	assert_non_null(cfg);
	assert_string_equal(cfg->upstream.host, "app");
	assert_int_equal(cfg->upstream.port, 443);
	config_free(cfg);
	assert_null(load_text(BASE_HEAD "  \"upstream\": \"ftp://app\"\n}", &pr));
	assert_non_null(strstr(pr.text.p, "must be an http:// or https:// URL"));
	assert_null(load_text(BASE_HEAD "  \"upstream\": \"http://app/prefix/\"\n}", &pr));
	assert_non_null(strstr(pr.text.p, "a path is not supported"));
	assert_null(load_text(BASE_HEAD "  \"upstream\": \"http://app:0\"\n}", &pr));
	assert_non_null(strstr(pr.text.p, "is not http(s)://host:port"));
	assert_null(load_text(BASE_HEAD "  \"mode\": \"passthrough\"\n}", &pr));
	assert_non_null(strstr(pr.text.p, "needs the application"));
	config_problems_free(&pr);
}

static void test_short_secret_and_missing_store(void **state)
{
	struct config_problems pr = {0};

	(void)state;
	clear_env();
	assert_null(load_text("{\"jwt\": {\"secret\": \"short\"}}", &pr));
	assert_int_equal(pr.count, 2);
	assert_non_null(strstr(pr.text.p, "no legacy store"));
	assert_non_null(strstr(pr.text.p, "at least 16 characters"));
	config_problems_free(&pr);
}

/* Every module's keys: each declared once, with a default in its bounds;
 * the defaults are what a configuration that gives nothing gets. */
static void test_declared_keys(void **state)
{
	const struct config_module *const *m, *const *m2;
	struct config_problems pr = {0};
	struct config *cfg;
	size_t i, k, n = 0;
	const char *text = "{\"database_url\": \"sqlite://x.db\", \"jwt\": {\"secret\": \"0123456789abcdef\"}}";

	(void)state;
	for (m = config_modules; *m; m++) {
		for (i = 0; i < (*m)->nkeys; i++, n++) {
			const struct config_key *a = &(*m)->keys[i];

			assert_true(a->type != CFG_CUSTOM || a->parse);
			/* one line for check --keys, the man page and docs/ */
			if (!a->doc || !*a->doc || strlen(a->doc) > 100 || strpbrk(a->doc, "\n|") || !ascii(a->doc))
				fail_msg("%s.%s: its description must be one line of ASCII, without '|'",
				         a->section ? a->section : "",
				         a->name);
			assert_true(a->offset + a->size <= sizeof(struct config));
			if (a->type == CFG_INT && a->def) {
				assert_true(strtol(a->def, NULL, 10) >= a->lo);
				assert_true(strtol(a->def, NULL, 10) <= a->hi);
			}
			for (m2 = m; *m2; m2++)
				for (k = m2 == m ? i + 1 : 0; k < (*m2)->nkeys; k++) {
					const struct config_key *b = &(*m2)->keys[k];
					bool same_section = (!a->section && !b->section) ||
					                    (a->section && b->section && strcmp(a->section, b->section) == 0);

					if (same_section && strcmp(a->name, b->name) == 0)
						fail_msg("%s.%s is declared twice", a->section ? a->section : "", a->name);
				}
		}
	}
	assert_true(n > 40);
	clear_env();
	unsetenv("CUTOVER_ADMIN_TOKEN");
	unsetenv("CUTOVER_ADMIN_LISTEN");
	cfg = config_load_text("min.json", text, strlen(text), &pr);
	assert_non_null(cfg);
	assert_string_equal(cfg->listen, "127.0.0.1:8080");
	assert_string_equal(cfg->admin.prefix, "/_cutover/");
	assert_string_equal(cfg->jwt.user_id_claim, "user_id");
	assert_int_equal(cfg->max_body_bytes, 1 << 20);
	assert_int_equal(cfg->max_buffered_bytes, 64 << 20);
	assert_int_equal(cfg->shadow.timeout_ms, 2000);
	assert_int_equal(cfg->upstream.max_idle, 32);
	assert_int_equal(cfg->cors.max_age, 600);
	assert_true(cfg->metrics && cfg->rollback_copy && !cfg->listen_shared);
	assert_int_equal(cfg->mode_id, MODE_LEGACY);
	config_free(cfg);
	config_problems_free(&pr);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_example_config),
		cmocka_unit_test(test_interpolation),
		cmocka_unit_test(test_literal_round_trip),
		cmocka_unit_test(test_checked_values),
		cmocka_unit_test(test_problems_with_positions),
		cmocka_unit_test(test_invalid_json_position),
		cmocka_unit_test(test_hints),
		cmocka_unit_test(test_comments),
		cmocka_unit_test(test_env_overrides),
		cmocka_unit_test(test_short_secret_and_missing_store),
		cmocka_unit_test(test_upstream),
		cmocka_unit_test(test_declared_keys),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
