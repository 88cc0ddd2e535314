/*
 * store.c — adapter registry and helpers shared by every adapter.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "json.h"
#include "util.h"
#include "store.h"

bool store_streaming;
_Atomic bool store_text_collated;

static const struct store_ops *const adapters[] = {
	&store_sqlite_ops,
	&store_postgres_ops,
	&store_mongodb_ops,
};

/* The URL forms each store accepts, for the messages that refuse one. */
#define LEGACY_FORMS "sqlite:///path/to/db.sqlite3 (sqlite://relative/path.sqlite3), " \
	"postgres://user:password@host:5432/db or postgresql://…"
#define MONGODB_FORMS "mongodb://user:password@host:27017/db or mongodb+srv://host/db"

/* "…" and at most 64 bytes of url, control characters as '?', into out. */
static void quoted_url(char out[80], const char *url)
{
	size_t n = strlen(url) > 64 ? utf8_cut(url, 64) : strlen(url), i;

	for (i = 0; i < n; i++)
		out[i] = (unsigned char)url[i] < 0x20 ? '?' : url[i];
	strcpy(out + n, strlen(url) > n ? "…" : "");
}

const struct store_ops *store_ops_for(const char *url, struct store_error *err)
{
	char q[80];
	size_t i;

	for (i = 0; i < ARRAY_LEN(adapters); i++)
		if (adapters[i]->accepts(url))
			return adapters[i];
	quoted_url(q, url);
	store_error_set(err, STORE_UNAVAILABLE, "no store serves \"%s\"; the forms: " LEGACY_FORMS ", "
	                MONGODB_FORMS, q);
	return NULL;
}

const struct store_ops *store_ops_as(const char *url, bool legacy, struct store_error *err)
{
	const struct store_ops *ops = store_ops_for(url, NULL);
	char q[80];

	/* The store the API is served from may be any of them (MongoDB
	 * alone, too); mongodb_uri is MongoDB's. */
	if (ops && (legacy || ops == &store_mongodb_ops))
		return ops;
	quoted_url(q, url);
	if (legacy)
		store_error_set(err, STORE_UNAVAILABLE, "\"%s\" is no store URL; the forms: " LEGACY_FORMS ", "
		                MONGODB_FORMS, q);
	else
		store_error_set(err, STORE_UNAVAILABLE, "\"%s\" is no MongoDB server; the forms: " MONGODB_FORMS, q);
	return NULL;
}

bool store_nulls_high(const char *url)
{
	const struct store_ops *ops = url ? store_ops_for(url, NULL) : NULL;

	return ops && ops->nulls_high;
}

struct store *store_open(const char *url, const struct config *cfg, struct store_error *err)
{
	const struct store_ops *ops = store_ops_for(url, err);

	return ops ? ops->open(url, cfg, err) : NULL;
}

/* url with "name=value" added after sep unless it names the key already;
 * sep becomes "&". */
static void url_param(struct buf *b, const char *url, const char **sep, const char *name, const char *value)
{
	if (strstr(url, name))
		return;
	buf_printf(b, "%s%s%s", *sep, name, value);
	*sep = "&";
}

char *store_timed_url(const char *url, int timeout_ms, bool retries)
{
	struct buf b = {0};
	const char *sep = strchr(url, '?') ? "&" : "?";
	char ms[16], connect_ms[16];
	char *out;

	snprintf(ms, sizeof(ms), "%d", timeout_ms);
	snprintf(connect_ms, sizeof(connect_ms), "%d", timeout_ms < STORE_CONNECT_MS ? timeout_ms : STORE_CONNECT_MS);
	buf_puts(&b, url);
	if (strncmp(url, "mongodb", 7) == 0) {
		/* connectTimeoutMS too: after a timeout the driver opens a new
		 * connection, whose handshake a stalled server never answers. */
		url_param(&b, url, &sep, "socketTimeoutMS=", ms);
		url_param(&b, url, &sep, "serverSelectionTimeoutMS=", connect_ms);
		url_param(&b, url, &sep, "connectTimeoutMS=", connect_ms);
		/* The driver's one retry of a read or a write would double the
		 * wait, and hide a server that stalls. */
		if (!retries) {
			url_param(&b, url, &sep, "retryReads=", "false");
			url_param(&b, url, &sep, "retryWrites=", "false");
		}
	} else if (strncmp(url, "postgres", 8) == 0 && !strstr(url, "options=")) {
		buf_printf(&b, "%soptions=-c%%20statement_timeout%%3D%d", sep, timeout_ms);
	}
	out = xstrdup(buf_cstr(&b));
	buf_free(&b);
	return out;
}

#define BATCH_SOCKET_TIMEOUT "600000"

struct store *store_open_batch(const char *url, const struct config *cfg, struct store_error *err)
{
	struct buf b = {0};
	const char *sep = strchr(url, '?') ? "&" : "?";
	struct store *s;

	if (strncmp(url, "mongodb", 7) != 0)
		return store_open(url, cfg, err);
	buf_puts(&b, url);
	url_param(&b, url, &sep, "socketTimeoutMS=", BATCH_SOCKET_TIMEOUT);
	s = store_open(buf_cstr(&b), cfg, err);
	buf_free(&b);
	return s;
}

void store_error_set(struct store_error *err, enum store_err code, const char *fmt, ...)
{
	va_list ap;

	if (!err)
		return;
	err->code = code;
	err->unique = -1;
	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
}

static bool ident_char(char c)
{
	return c == '_' || (c >= '0' && c <= '9') || ((c | 0x20) >= 'a' && (c | 0x20) <= 'z');
}

static bool has_word(const char *text, const char *word)
{
	size_t n = strlen(word);
	const char *p;

	for (p = strstr(text, word); p; p = strstr(p + 1, word))
		if ((p == text || !ident_char(p[-1])) && !ident_char(p[n]))
			return true;
	return false;
}

void store_conflict_unique(const struct resource *r, struct store_error *err)
{
	size_t u, i;

	if (err->code != STORE_CONFLICT)
		return;
	for (u = 0; u < r->nuniques; u++) {
		for (i = 0; i < r->uniques[u].nfields; i++)
			if (!has_word(err->msg, r->fields[r->uniques[u].fields[i]].column))
				break;
		if (i == r->uniques[u].nfields) {
			err->unique = (int)u;
			return;
		}
	}
}

struct record *record_new(struct arena *a, const struct resource *r)
{
	struct record *rec = ARENA_NEW(a, struct record);
	size_t i;

	rec->vals = ARENA_ARRAY(a, struct value, r->nfields);
	for (i = 0; i < r->nfields; i++)
		rec->vals[i].null = true;
	rec->children = ARENA_ARRAY(a, struct child_rows, r->nchildren ? r->nchildren : 1);
	return rec;
}

void store_distribute_children(struct arena *a, const struct resource *r, size_t c,
                               struct record *parents, size_t n, struct record *kids,
                               const unsigned char (*fks)[16], size_t nkids)
{
	size_t i, k;

	for (i = 0; i < n; i++) {
		struct child_rows *out = &parents[i].children[c];
		const unsigned char *id = parents[i].vals[r->pk].u.uuid;
		size_t first = nkids, count = 0;

		/* kids are grouped by parent key: find this parent's run */
		for (k = 0; k < nkids; k++) {
			if (memcmp(fks[k], id, 16) == 0) {
				if (first == nkids)
					first = k;
				count++;
			} else if (first != nkids) {
				break;
			}
		}
		out->given = true;
		out->n = count;
		out->rows = ARENA_ARRAY(a, struct record, count ? count : 1);
		if (count)
			memcpy(out->rows, kids + first, count * sizeof(*kids));
	}
}

void store_mark_bad_children(const struct resource *r, struct record *recs, size_t n)
{
	size_t i, c, k;

	for (i = 0; i < n; i++)
		for (c = 0; c < r->nchildren && !recs[i].bad; c++)
			for (k = 0; k < recs[i].children[c].n && !recs[i].bad; k++)
				recs[i].bad = recs[i].children[c].rows[k].bad;
}

bool store_answers(struct store *s, const struct config *cfg, struct store_error *err)
{
	static const unsigned char nobody[16];
	struct arena a;
	struct record rec;
	bool answers = true;

	err->code = 0;
	err->msg[0] = '\0';
	if (cfg->nresources == 0)
		return true;
	arena_init(&a, 1024);
	if (store_get(s, cfg->resources[0], 0, nobody, &a, &rec, err) < 0 && err->code != STORE_NOT_FOUND)
		answers = err->code != STORE_UNAVAILABLE && err->code != STORE_TIMEOUT;
	arena_reset(&a);
	return answers;
}

static int unsupported(struct store *s, const char *what, struct store_error *err)
{
	store_error_set(err, STORE_INVALID, "the %s store cannot %s", s->ops->name, what);
	return -1;
}

int store_scan(struct store *s, const struct resource *r, const unsigned char *after, size_t limit,
               struct arena *a, struct record **rows, int64_t **owners, size_t *n, struct store_error *err)
{
	return s->ops->scan ? s->ops->scan(s, r, after, limit, a, rows, owners, n, err)
	                    : unsupported(s, "walk its tables", err);
}

int store_size(struct store *s, const struct resource *r, int64_t *n, struct store_error *err)
{
	return s->ops->size ? s->ops->size(s, r, n, err) : unsupported(s, "count its tables", err);
}

int store_put_many(struct store *s, const struct resource *r, const struct record *rows, const int64_t *owners,
                   size_t n, int version_field, enum put_result *out, char (*why)[128], struct store_error *err)
{
	return s->ops->put_many ? s->ops->put_many(s, r, rows, owners, n, version_field, out, why, err)
	                        : unsupported(s, "take records in bulk", err);
}

int store_remove_ids(struct store *s, const struct resource *r, const unsigned char (*ids)[16], size_t n,
                     struct store_error *err)
{
	return s->ops->remove_ids ? s->ops->remove_ids(s, r, ids, n, err) : unsupported(s, "delete in bulk", err);
}

int store_routes(struct store *s, const struct route_row *set, struct arena *a, struct route_row **rows,
                 size_t *n, struct store_error *err)
{
	return s->ops->routes ? s->ops->routes(s, set, a, rows, n, err) : unsupported(s, "hold the modes", err);
}

int store_setup(struct store *s, const struct resource *r, struct buf *report, struct store_error *err)
{
	return s->ops->setup ? s->ops->setup(s, r, report, err) : unsupported(s, "set up indexes", err);
}

int store_value_from_text(const struct field *f, const char *text, size_t n, struct arena *a, struct value *v)
{
	struct json *j;
	struct buf b = {0};
	char msg[64];

	if (f->type != CT_JSON)
		return value_from_text(f->type, f->places, text, n, a, v);
	if (!(j = json_parse(a, text, n, msg, sizeof(msg), NULL)))
		return -1;
	json_write(&b, j);
	v->null = false;
	v->u.s.p = arena_strndup(a, b.p ? b.p : "", b.len);
	v->u.s.n = b.len;
	buf_free(&b);
	return 0;
}
