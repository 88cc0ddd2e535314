/*
 * resource.c — the resource engine (design.md §5, §6).
 *
 * A request for a resource becomes one neutral store operation: parse and
 * validate first (no store involved), then the store work, then the
 * representation.  Every query is scoped to the authenticated principal, so
 * another user's record is simply not found.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "drf.h"
#include "http1.h"
#include "json.h"
#include "metadata.h"
#include "profile.h"
#include "query.h"
#include "resource.h"
#include "shadow.h"
#include "tls.h"
#include "store.h"

#define NOT_FOUND "Not found."

struct target {
	enum { T_COLLECTION, T_DETAIL, T_VIEW } kind;
	bool bad_id;                /* a detail path whose id is no UUID: 404 from the view */
	unsigned char id[16];
	const struct view *view;
};

const struct resource *resource_match(const struct config *cfg, const char *path)
{
	size_t i;

	for (i = 0; i < cfg->nresources; i++)
		if (strncmp(path, cfg->resources[i]->path, cfg->resources[i]->path_len) == 0)
			return cfg->resources[i];
	return NULL;
}

/* The part after the prefix: "" (collection), "NAME/" (view or id). */
static int parse_target(const struct resource *r, const char *path, struct target *t)
{
	const char *rest = path + r->path_len;
	size_t n = strcspn(rest, "/"), i;

	t->bad_id = false;
	if (*rest == '\0') {
		t->kind = T_COLLECTION;
		return 0;
	}
	if (n == 0 || rest[n] != '/' || rest[n + 1] != '\0')
		return -1;
	for (i = 0; i < r->nviews; i++) {
		if (strlen(r->views[i].name) == n && strncmp(rest, r->views[i].name, n) == 0) {
			t->kind = T_VIEW;
			t->view = &r->views[i];
			return 0;
		}
	}
	/* DRF's default lookup pattern is [^/.]+: other paths are no view's.
	 * A malformed id reaches the view, which answers 404 after the
	 * credentials and the method are checked. */
	if (memchr(rest, '.', n))
		return -1;
	t->kind = T_DETAIL;
	t->bad_id = uuid_parse(rest, n, t->id) < 0;
	return 0;
}

bool resource_owns(const struct resource *r, const char *path)
{
	struct target t;

	return parse_target(r, path, &t) == 0;
}

bool resource_detail_id(const struct resource *r, const char *path, unsigned char id[16])
{
	struct target t;

	if (parse_target(r, path, &t) < 0 || t.kind != T_DETAIL || t.bad_id)
		return false;
	memcpy(id, t.id, 16);
	return true;
}

static void reply_buf(struct request *req, int status, struct buf *b)
{
	req_reply_json(req, status, b->p, b->len);
	buf_free(b);
}

/* Answer with template t of the resource's profile, body in its slot s
 * (a template that is that slot alone answers with body itself, as DRF's
 * record and validation answers are). */
static void reply_template(struct request *req, int status, const struct json *t, enum slot s, struct buf *body)
{
	struct buf b = {0};

	if (profile_is_slot(t, s))
		return reply_buf(req, status, body);
	profile_render_one(&b, t, s, body->p, body->len, status);
	buf_free(body);
	reply_buf(req, status, &b);
}

/* One record, or a view's answer that is not a list. */
static void reply_item(struct request *req, const struct resource *r, int status, struct buf *data)
{
	reply_template(req, status, r->profile->item, SLOT_DATA, data);
}

/* Validation errors, {"field": ["message", …]}. */
static void reply_invalid(struct request *req, const struct resource *r, struct buf *errors)
{
	reply_template(req, 400, r->profile->invalid, SLOT_ERRORS, errors);
}

/* {"non_field_errors": [msg]}, as r's profile shows validation errors. */
static void reply_non_field(struct request *req, const struct resource *r, const char *msg)
{
	struct buf b = {0};

	buf_puts(&b, "{\"non_field_errors\":[");
	json_put_cstr(&b, msg);
	buf_puts(&b, "]}");
	reply_invalid(req, r, &b);
}

static void reply_store_error(struct request *req, const struct store_error *err)
{
	req->store_err = err->code;
	switch (err->code) {
	case STORE_NOT_FOUND:
		req_reply_detail(req, 404, NOT_FOUND);
		return;
	case STORE_UNAVAILABLE:
	case STORE_TIMEOUT:
		fprintf(stderr, "cutover: store unavailable: %s\n", err->msg);
		req_reply_detail(req, 503, "The data store is unavailable. Try again shortly.");
		return;
	default:
		fprintf(stderr, "cutover: store error: %s\n", err->msg);
		req_reply_detail(req, 500, "A server error occurred.");
		return;
	}
}

static void reply_method_not_allowed(struct request *req)
{
	req_reply_detail(req, 405, arena_printf(&req->arena, "Method \"%s\" not allowed.", req->method));
}

/* Body parsing ------------------------------------------------------- */

/* The request body as a JSON object, or NULL after replying with DRF's error. */
static const struct json *parse_body(struct request *req, const struct resource *r)
{
	const char *ctype = req->content_type;
	struct json *body;
	char msg[256];
	size_t clen;

	/* DRF reads an empty body as an empty object. */
	if (req->body_len == 0) {
		body = ARENA_NEW(&req->arena, struct json);
		body->type = JSON_OBJECT;
		return body;
	}
	clen = ctype ? strcspn(ctype, ";") : 0;
	while (clen && ctype[clen - 1] == ' ')
		clen--;
	if (!ctype || !(clen == 16 && strncasecmp(ctype, "application/json", 16) == 0)) {
		req_reply_detail(req, 415, arena_printf(&req->arena, "Unsupported media type \"%.*s\" in request.",
		                                        (int)clen, ctype ? ctype : ""));
		return NULL;
	}
	if (!utf8_valid(req->body, req->body_len)) {
		req_reply_detail(req, 400, "JSON parse error - 'utf-8' codec can't decode the request body");
		return NULL;
	}
	body = json_parse(&req->arena, req->body, req->body_len, msg, sizeof(msg), NULL);
	if (!body) {
		req_reply_detail(req, 400, arena_printf(&req->arena, "JSON parse error - %s", msg));
		return NULL;
	}
	if (body->type == JSON_NULL) {
		reply_non_field(req, r, "No data provided");
		return NULL;
	}
	if (body->type != JSON_OBJECT) {
		reply_non_field(req, r, arena_printf(&req->arena, "Invalid data. Expected a dictionary, but got %s.",
		                                     json_pytype(body)));
		return NULL;
	}
	return body;
}

/* Reads ---------------------------------------------------------------- */

/* The non-empty pieces of text between any of delims, in the arena. */
static char **split_terms(struct arena *a, const char *text, const char *delims, size_t *n)
{
	char *s = arena_strdup(a, text), *tok, *save = NULL;
	char **terms = ARENA_ARRAY(a, char *, strlen(s) / 2 + 1);

	*n = 0;
	for (tok = strtok_r(s, delims, &save); tok; tok = strtok_r(NULL, delims, &save))
		terms[(*n)++] = tok;
	return terms;
}

/* Filters, search and ordering of a list request.  Returns -1 after
 * replying with the filter errors. */
static int build_query(struct request *req, const struct resource *r, const struct qparams *qp,
                       struct query *q)
{
	struct cond *conds = ARENA_ARRAY(&req->arena, struct cond, r->nfilters ? r->nfilters : 1);
	struct verrors ve;
	const char *search, *ordering;
	size_t i;

	memset(q, 0, sizeof(*q));
	q->res = r;
	q->owner = req->owner;
	verrors_init(&req->arena, r, &ve);
	for (i = 0; i < r->nfilters; i++) {
		const struct field *f = &r->fields[r->filters[i]];
		const char *v = query_get(qp, f->name), *msg;

		if (!v || !*v)
			continue;
		msg = drf_parse_filter(&req->arena, f, v, &conds[q->nconds].val);
		if (msg) {
			verrors_add(&req->arena, &ve, r->filters[i], msg);
			continue;
		}
		conds[q->nconds++].field = r->filters[i];
	}
	if (ve.count) {
		struct buf b = {0};

		verrors_render(&b, r, &ve);
		reply_invalid(req, r, &b);
		return -1;
	}
	q->conds = conds;
	if (r->nsearch && (search = query_get(qp, r->profile->search_param))) {
		/* DRF's SearchFilter: terms split on white space and commas. */
		q->terms = (const char *const *)split_terms(&req->arena, search, " \t\n\r\f\v,",
		                                            &q->nterms);
		q->search_fields = r->search;
		q->nsearch = r->nsearch;
	}
	q->order = r->ordering;
	q->norder = r->nordering;
	if ((ordering = query_get(qp, r->profile->ordering_param))) {
		/* OrderingFilter: unknown fields are dropped; none left, default. */
		size_t nfields, n = 0, j, k;
		char **fields = split_terms(&req->arena, ordering, ",", &nfields);
		struct order_term *terms = ARENA_ARRAY(&req->arena, struct order_term, nfields + 1);

		for (j = 0; j < nfields; j++) {
			char *t = fields[j], *end;
			bool desc;
			int f;

			while (*t == ' ')
				t++;
			end = t + strlen(t);
			while (end > t && end[-1] == ' ')
				*--end = '\0';
			desc = *t == '-';
			f = resource_field(r, t + desc);
			for (k = 0; f >= 0 && k < r->norderable; k++) {
				if (r->orderable[k] == f) {
					terms[n].field = f;
					terms[n++].desc = desc;
					break;
				}
			}
		}
		if (n) {
			q->order = terms;
			q->norder = n;
		}
	}
	return 0;
}

static void render_list(struct buf *b, const struct resource *r, const struct record *rows, size_t n)
{
	size_t i;

	buf_putc(b, '[');
	for (i = 0; i < n; i++) {
		buf_puts(b, i ? "," : "");
		drf_render_record(b, r, &rows[i]);
	}
	buf_putc(b, ']');
}

/* A slot holding a number or a link (NULL: null), in the request's arena. */
static struct slot_value slot_int(struct request *req, int64_t x)
{
	const char *t = arena_printf(&req->arena, "%lld", (long long)x);

	return (struct slot_value){t, strlen(t)};
}

static struct slot_value slot_link(struct request *req, const char *origin, const struct qparams *qp,
                                   const struct qparam *set, size_t nset)
{
	struct buf b = {0};
	const char *t;

	json_put_cstr(&b, query_link(&req->arena, origin, req->path, qp, set, nset));
	t = arena_strndup(&req->arena, b.p, b.len);
	buf_free(&b);
	return (struct slot_value){t, strlen(t)};
}

/* One page of q, as the resource's profile shows a list (DRF's
 * PageNumberPagination by default). */
static void serve_page(struct request *req, struct query *q, const struct qparams *qp)
{
	const struct profile *p = q->res->profile;
	struct store *s = req_store(req);
	struct slot_value v[SLOT_COUNT_ALL] = {{0}};
	struct store_error err;
	struct record *rows;
	size_t n, t;
	int64_t count, limit = q->res->page_size, offset;
	struct buf b = {0}, results = {0};
	struct qparam set[2];
	const char *origin;

	for (t = 0; t < q->norder; t++)
		req->text_ordered |= q->res->fields[q->order[t].field].type == CT_STRING ||
		                     q->res->fields[q->order[t].field].type == CT_TEXT;
	if (store_count(s, q, &count, &err) < 0)
		return reply_store_error(req, &err);
	if (profile_page(p, qp, count, &limit, &offset) < 0)
		return req_reply_detail(req, 404, p->scheme == PAGE_CURSOR ? "Invalid cursor" : "Invalid page.");
	q->offset = offset;
	q->limit = limit;
	if (store_list(s, q, &req->arena, &rows, &n, &err) < 0)
		return reply_store_error(req, &err);
	/* Links name the configured public address, or the Host the client
	 * used (checked as a host name before the request got here). */
	origin = *req->cfg->public_url ? req->cfg->public_url :
	         arena_join(&req->arena, tls_on() ? "https" : "http", "://", req->host);
	if (offset + limit < count)
		v[SLOT_NEXT] = slot_link(req, origin, qp, set,
		                         profile_position(p, &req->arena, offset + limit, limit, set));
	if (offset > 0)
		v[SLOT_PREVIOUS] = slot_link(req, origin, qp, set, profile_position(p, &req->arena, offset > limit ?
		                                                                    offset - limit : 0, limit, set));
	render_list(&results, q->res, rows, n);
	v[SLOT_RESULTS] = (struct slot_value){results.p, results.len};
	v[SLOT_COUNT] = slot_int(req, count);
	v[SLOT_PAGE] = slot_int(req, offset / limit + 1);
	v[SLOT_LIMIT] = slot_int(req, limit);
	v[SLOT_PAGES] = slot_int(req, count ? (count + limit - 1) / limit : 1);
	v[SLOT_OFFSET] = slot_int(req, offset);
	profile_render(&b, p->list, v);
	buf_free(&results);
	reply_buf(req, 200, &b);
}

static void op_list(struct request *req, const struct resource *r)
{
	struct qparams qp;
	struct query q;

	query_parse(&req->arena, req->query, &qp);
	if (build_query(req, r, &qp, &q) == 0)
		serve_page(req, &q, &qp);
}

static void op_retrieve(struct request *req, const struct resource *r, const unsigned char id[16])
{
	struct record rec;
	struct store_error err;
	struct buf b = {0};

	if (store_get(req_store(req), r, req->owner, id, &req->arena, &rec, &err) < 0)
		return reply_store_error(req, &err);
	drf_render_record(&b, r, &rec);
	reply_item(req, r, 200, &b);
}

static void view_summary(struct request *req, const struct resource *r, const struct view *v)
{
	const struct field *gf = &r->fields[v->group_field], *sf = &r->fields[v->sum_field];
	struct query q = {.res = r, .owner = req->owner};
	struct store_error err;
	struct agg_row *rows;
	size_t n, i;
	int64_t count = 0, total = 0;
	struct buf b = {0};
	char num[32];

	if (store_aggregate(req_store(req), &q, v->group_field, v->sum_field, &req->arena, &rows,
	                    &n, &err) < 0)
		return reply_store_error(req, &err);
	for (i = 0; i < n; i++) {
		count += rows[i].count;
		total += rows[i].sum;
	}
	decimal_format(total, sf->places, num);
	buf_printf(&b, "{\"count\":%lld,\"%s\":\"%s\",\"%s\":[", (long long)count, sf->name, num, v->by_key);
	for (i = 0; i < n; i++) {
		buf_printf(&b, "%s{\"%s\":", i ? "," : "", gf->name);
		drf_render_value(&b, gf, &rows[i].group);
		decimal_format(rows[i].sum, sf->places, num);
		buf_printf(&b, ",\"count\":%lld,\"%s\":\"%s\"}", (long long)rows[i].count, sf->name, num);
	}
	buf_puts(&b, "]}");
	reply_item(req, r, 200, &b);
}

static void view_recent(struct request *req, const struct resource *r, const struct view *v)
{
	struct query q = {.res = r, .owner = req->owner, .order = &v->order, .norder = 1,
	                  .limit = v->limit};
	struct store_error err;
	struct record *rows;
	size_t n;
	struct buf b = {0};

	if (store_list(req_store(req), &q, &req->arena, &rows, &n, &err) < 0)
		return reply_store_error(req, &err);
	render_list(&b, r, rows, n);
	reply_item(req, r, 200, &b);
}

static void view_search(struct request *req, const struct resource *r, const struct view *v)
{
	struct qparams qp;
	struct query q = {.res = r, .owner = req->owner, .search_fields = r->search,
	                  .nsearch = r->nsearch};
	const char *text;

	query_parse(&req->arena, req->query, &qp);
	if (v->order.field >= 0) {
		q.order = &v->order;
		q.norder = 1;
	} else {
		q.order = r->ordering;
		q.norder = r->nordering;
	}
	if ((text = query_get(&qp, v->param)))
		q.terms = (const char *const *)split_terms(&req->arena, text, " \t\n\r\f\v", &q.nterms);
	serve_page(req, &q, &qp);
}

/* Writes --------------------------------------------------------------- */

/* Check references against the store (owner-scoped), adding DRF's
 * does-not-exist message for each one missing.  -1 after a store failure. */
static int check_refs(struct request *req, const struct resource *r, const struct record *rec,
                      const struct pending_ref *refs, size_t nrefs, struct verrors *ve)
{
	size_t i;

	for (i = 0; i < nrefs; i++) {
		const struct field *f = &r->fields[refs[i].field];
		struct store_error err;
		bool found;

		if (store_exists(req_store(req), f->ref, req->owner, rec->vals[refs[i].field].u.uuid,
		                 &found, NULL, &err) < 0) {
			reply_store_error(req, &err);
			return -1;
		}
		if (!found)
			verrors_add(&req->arena, ve, refs[i].field,
			            arena_printf(&req->arena, "Invalid pk \"%s\" - object does not exist.",
			                         refs[i].given));
	}
	return 0;
}

/* Validate body into rec; -1 after replying with the errors. */
static int validate(struct request *req, const struct resource *r, const struct json *body,
                    enum drf_write mode, struct record *rec)
{
	struct verrors ve;
	struct pending_ref *refs;
	size_t nrefs;
	struct buf b = {0};

	verrors_init(&req->arena, r, &ve);
	drf_validate(&req->arena, r, body, mode, rec, &ve, &refs, &nrefs);
	if (check_refs(req, r, rec, refs, nrefs, &ve) < 0)
		return -1;
	if (!ve.count)
		return 0;
	verrors_render(&b, r, &ve);
	reply_invalid(req, r, &b);
	return -1;
}

static void reply_write_error(struct request *req, const struct resource *r,
                              const struct store_error *err)
{
	if (err->code == STORE_CONFLICT && err->unique >= 0)
		return reply_non_field(req, r, r->uniques[err->unique].message);
	reply_store_error(req, err);
}

static void op_create(struct request *req, const struct resource *r)
{
	const struct json *body = parse_body(req, r);
	struct record *rec;
	struct store_error err;
	struct buf b = {0};

	if (!body)
		return;
	rec = record_new(&req->arena, r);
	if (validate(req, r, body, DRF_CREATE, rec) < 0)
		return;
	drf_fill_auto(r, rec, DRF_CREATE, now_wall_us());
	shadow_before_write(req, rec->vals[r->pk].u.uuid);
	if (store_create(req_store(req), r, req->owner, rec, &err) < 0)
		return reply_write_error(req, r, &err);
	req->wrote = req->has_id = true;
	memcpy(req->id, rec->vals[r->pk].u.uuid, 16);
	drf_sort_children(r, rec);
	drf_render_record(&b, r, rec);
	reply_item(req, r, 201, &b);
}

static void op_update(struct request *req, const struct resource *r, const unsigned char id[16],
                      enum drf_write mode)
{
	struct record rec;
	struct store_error err;
	const struct json *body;
	struct buf b = {0};
	size_t c;

	/* The record is looked up before the body is read: a 404 wins over a 400. */
	if (store_get(req_store(req), r, req->owner, id, &req->arena, &rec, &err) < 0)
		return reply_store_error(req, &err);
	for (c = 0; c < r->nchildren; c++)
		rec.children[c].given = false;
	if (!(body = parse_body(req, r)))
		return;
	{
		struct child_rows *kept = ARENA_ARRAY(&req->arena, struct child_rows,
		                                      r->nchildren ? r->nchildren : 1);

		memcpy(kept, rec.children, r->nchildren * sizeof(*kept));
		if (validate(req, r, body, mode, &rec) < 0)
			return;
		drf_fill_auto(r, &rec, mode, now_wall_us());
		shadow_before_write(req, id);
		if (store_replace(req_store(req), r, req->owner, &rec, &err) < 0)
			return reply_write_error(req, r, &err);
		req->wrote = true;
		for (c = 0; c < r->nchildren; c++)
			if (!rec.children[c].given)
				rec.children[c] = kept[c];
	}
	drf_sort_children(r, &rec);
	drf_render_record(&b, r, &rec);
	reply_item(req, r, 200, &b);
}

static void op_destroy(struct request *req, const struct resource *r, const unsigned char id[16])
{
	struct store_error err;

	shadow_before_write(req, id);
	if (store_remove(req_store(req), r, req->owner, id, &err) < 0)
		return reply_store_error(req, &err);
	req->wrote = true;
	if (r->profile->deleted) {
		struct buf b = {0};

		profile_render_one(&b, r->profile->deleted, SLOT_STATUS, NULL, 0, 200);
		return reply_buf(req, 200, &b);
	}
	req->status = 204;
	req->done = true;
}

/* DRF's metadata: PUT is offered only on a record the client may update,
 * as DRF looks the record up for it and drops the action on a 404. */
static void op_options(struct request *req, const struct resource *r, const struct target *t)
{
	enum metadata_view kind = t->kind == T_COLLECTION ? META_LIST : t->kind == T_DETAIL ? META_DETAIL : META_VIEW;
	bool writable = kind == META_LIST ? (r->ops & OP_CREATE) != 0 : false;
	struct buf b = {0};

	req->route = arena_join(&req->arena, r->name, ".", "options");
	if (kind == META_DETAIL && (r->ops & OP_UPDATE) && !t->bad_id) {
		struct store_error err;
		int64_t owner;

		if (store_exists(req_store(req), r, (req->roles & r->role_update) ? OWNER_ANY : req->principal, t->id,
		                 &writable, &owner, &err) < 0)
			return reply_store_error(req, &err);
	}
	metadata_render(&b, r, kind, t->view, writable);
	reply_buf(req, 200, &b);
}

/* Dispatch ------------------------------------------------------------- */

/* simplejwt's answer for an access token it refuses, naming why. */
#define TOKEN_REFUSED(why) \
	"{\"detail\":\"Given token not valid for any token type\",\"code\":\"token_not_valid\"," \
	"\"messages\":[{\"token_class\":\"AccessToken\",\"token_type\":\"access\"," \
	"\"message\":\"" why "\"}]}"

static const char *const auth_bodies[] = {
	[AUTH_NONE] = "{\"detail\":\"Authentication credentials were not provided.\"}",
	[AUTH_BAD_HEADER] = "{\"detail\":\"Authorization header must contain two space-delimited values\","
	                    "\"code\":\"bad_authorization_header\"}",
	[AUTH_INVALID] = TOKEN_REFUSED("Token is invalid or expired"),
	[AUTH_NO_EXP] = TOKEN_REFUSED("Token has no 'exp' claim"),
	[AUTH_NO_ID] = TOKEN_REFUSED("Token has no id"),
	[AUTH_NO_TYPE] = TOKEN_REFUSED("Token has no type"),
	[AUTH_WRONG_TYPE] = TOKEN_REFUSED("Token has wrong type"),
	[AUTH_NO_USER] = "{\"detail\":\"Token contained no recognizable user identification\","
	                 "\"code\":\"token_not_valid\"}",
};

/* The same refusals in a word, for profiles that do not speak simplejwt. */
static const char *const auth_messages[] = {
	[AUTH_NONE] = "Authentication credentials were not provided.",
	[AUTH_BAD_HEADER] = "Authorization header must contain two space-delimited values",
	[AUTH_INVALID] = "Given token not valid for any token type",
	[AUTH_NO_EXP] = "Given token not valid for any token type",
	[AUTH_NO_ID] = "Given token not valid for any token type",
	[AUTH_NO_TYPE] = "Given token not valid for any token type",
	[AUTH_WRONG_TYPE] = "Given token not valid for any token type",
	[AUTH_NO_USER] = "Token contained no recognizable user identification",
};

void resource_handle(struct request *req, const struct resource *r)
{
	struct target t;
	const char *m = req->method, *allow;
	bool get = strcmp(m, "GET") == 0 || strcmp(m, "HEAD") == 0;
	unsigned need = 0;

	if (parse_target(r, req->path, &t) < 0)
		return req_reply_detail(req, 404, NOT_FOUND);
	allow = t.kind == T_COLLECTION ? r->allow_collection : t.kind == T_DETAIL ? r->allow_detail :
	        "GET, HEAD, OPTIONS";
	req_add_header(req, "Allow", allow);
	if (req->auth != AUTH_OK) {
		req_add_header(req, "WWW-Authenticate", "Bearer realm=\"api\"");
		if (!r->profile->simplejwt)
			return req_reply_detail(req, 401, auth_messages[req->auth]);
		return req_reply_json(req, 401, auth_bodies[req->auth], strlen(auth_bodies[req->auth]));
	}
	if (strcmp(m, "OPTIONS") == 0)
		return op_options(req, r, &t);
	req->owner = req->principal;
	/* A role that lifts the scope: lists and views read every owner's
	 * records; one record is addressed as its owner would address it. */
	if (t.kind != T_DETAIL && get && (req->roles & r->role_read))
		req->owner = OWNER_ANY;
	switch (t.kind) {
	case T_COLLECTION:
		need = get ? OP_LIST : strcmp(m, "POST") == 0 ? OP_CREATE : 0;
		req->route = arena_join(&req->arena, r->name, ".", get ? "list" : "create");
		break;
	case T_DETAIL:
		need = get ? OP_RETRIEVE : strcmp(m, "PUT") == 0 ? OP_UPDATE :
		       strcmp(m, "PATCH") == 0 ? OP_PARTIAL : strcmp(m, "DELETE") == 0 ? OP_DESTROY : 0;
		req->route = arena_join(&req->arena, r->name, ".", "detail");
		break;
	case T_VIEW:
		req->route = arena_join(&req->arena, r->name, ".", t.view->name);
		if (!get)
			return reply_method_not_allowed(req);
		switch (t.view->kind) {
		case VIEW_SUMMARY: return view_summary(req, r, t.view);
		case VIEW_RECENT: return view_recent(req, r, t.view);
		case VIEW_SEARCH: return view_search(req, r, t.view);
		}
		return;
	}
	if (!(r->ops & need))
		return reply_method_not_allowed(req);
	if (t.bad_id)
		return req_reply_detail(req, 404, NOT_FOUND);
	if (t.kind == T_DETAIL && (req->roles & (need == OP_RETRIEVE ? r->role_read : need == OP_DESTROY ?
	                                         r->role_delete : r->role_update))) {
		struct store_error err;
		bool found;

		if (store_exists(req_store(req), r, OWNER_ANY, t.id, &found, &req->owner, &err) < 0)
			return reply_store_error(req, &err);
		if (!found)
			return req_reply_detail(req, 404, NOT_FOUND);
	}
	switch (need) {
	case OP_LIST: return op_list(req, r);
	case OP_CREATE: return op_create(req, r);
	case OP_RETRIEVE: return op_retrieve(req, r, t.id);
	case OP_UPDATE: return op_update(req, r, t.id, DRF_UPDATE);
	case OP_PARTIAL: return op_update(req, r, t.id, DRF_PARTIAL);
	case OP_DESTROY: return op_destroy(req, r, t.id);
	}
}

/* Configuration ------------------------------------------------------ */

static void check_public_url(struct config_loader *l)
{
	const struct config *cfg = config_of(l);
	const char *u = cfg->public_url, *h = u ? strstr(u, "://") : NULL;

	if (u && *u &&
	    (!h || !((h - u == 4 && strncmp(u, "http", 4) == 0) || (h - u == 5 && strncmp(u, "https", 5) == 0)) ||
	     !host_valid(h + 3, strlen(h + 3))))
		config_problem(l, NULL, "public_url \"%s\" must be http(s)://host[:port], with no path", u);
}

static const struct config_key keys[] = {
	{NULL, "public_url", CFG_STRING, CFG_FIELD(public_url), 0, 0, "", NULL, NULL,
	 "http(s)://host[:port] for the links the API gives; empty uses the Host header"},
};

const struct config_module resource_config = {"resource", keys, ARRAY_LEN(keys), check_public_url};
