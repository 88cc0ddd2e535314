/*
 * fuzz_json.c — libFuzzer target for the JSON body parser (src/core/json.c) and
 * the DRF value checks behind it, which every request body meets.
 *
 * An accepted document is written back out and parsed again, and the two
 * trees must print the same; every string must be valid UTF-8 unless it
 * was flagged as escaping a lone surrogate (such a document is refused by
 * the validators, so it is not written back).  One that json_store_check
 * lets through, written as validation stores it, must come back from BSON
 * as the same text the SQL stores keep; one it refuses must not be stored.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "arena.h"
#include "json.h"
#include "mongo_bson.h"
#include "value.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* How many strings escape a lone surrogate. */
static size_t walk(const struct json *v)
{
	size_t i, n = 0;

	switch (v->type) {
	case JSON_STRING:
		if (!v->surrogate && !utf8_valid(v->u.s.p, v->u.s.n))
			abort();            /* a lone surrogate got through unflagged */
		return v->surrogate != 0;
	case JSON_ARRAY:
		for (i = 0; i < v->u.a.n; i++)
			n += walk(v->u.a.v[i]);
		return n;
	case JSON_OBJECT:
		for (i = 0; i < v->u.o.n; i++)
			n += walk(v->u.o.m[i].val);
		return n;
	default:
		return 0;
	}
}

/* The compact text as a json field in BSON and back: 0 when it reads back
 * unchanged, 1 when the append refused it; anything else aborts. */
static int through_bson(struct arena *a, const struct buf *text)
{
	struct field f = {.name = "j", .column = "j", .type = CT_JSON};
	struct value v = {.null = false}, back;
	bson_t b = BSON_INITIALIZER;
	bson_iter_t it;
	int rc;

	v.u.s.p = text->p;
	v.u.s.n = text->len;
	rc = mg_append_value(&b, "k", &f, &v) < 0;
	if (!bson_iter_init_find(&it, &b, "k") || mg_read_value(&it, &f, a, &back) < 0)
		abort();
	if (!rc && !back.null && (back.u.s.n != text->len || memcmp(back.u.s.p, text->p, text->len) != 0))
		abort();                /* stored as something else */
	bson_destroy(&b);
	return rc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct arena a;
	struct buf out = {0}, again = {0}, stored = {0};
	struct json *v, *w;
	char msg[256];
	size_t off = 0;

	arena_init(&a, 4096);
	v = json_parse(&a, (const char *)data, size, msg, sizeof(msg), &off);
	if (!v) {
		if (off > size)
			abort();
		arena_reset(&a);
		return 0;
	}
	if (walk(v)) {
		arena_reset(&a);
		return 0;
	}
	json_write(&out, v);
	w = json_parse(&a, out.p, out.len, msg, sizeof(msg), NULL);
	if (!w)
		abort();                /* what we write, we read */
	json_write(&again, w);
	if (again.len != out.len || memcmp(again.p, out.p, out.len) != 0)
		abort();
	/* As validation stores it (doubles as json.dumps spells them). */
	json_write_stored(&stored, v);
	if (through_bson(&a, &stored) != (json_store_check(&a, v) != NULL))
		abort();
	buf_free(&stored);
	buf_free(&out);
	buf_free(&again);
	arena_reset(&a);
	return 0;
}
