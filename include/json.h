/*
 * json.h — JSON documents as arena-owned trees, and JSON text output.
 *
 * Parsing is yajl's (strict: no comments, no trailing garbage, UTF-8
 * validated; configuration files alone may hold // and block comments).
 * Every node remembers the byte offset where it ends, so a
 * configuration error can name its line and column.  Numbers keep their
 * source text: decimals are never routed through a binary float.
 */
#ifndef CUTOVER_JSON_H
#define CUTOVER_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "arena.h"
#include "util.h"

enum json_type { JSON_NULL, JSON_BOOL, JSON_NUMBER, JSON_STRING, JSON_ARRAY, JSON_OBJECT };

struct json_member;

struct json {
	enum json_type type;
	size_t end;                 /* byte offset just past this value */
	/* A string whose text escapes a lone UTF-16 surrogate (\udc00, or
	 * \ud800 not followed by a low one): the first such code point, else
	 * 0.  yajl decodes those to bytes that are not UTF-8, "?" or a wrong
	 * character; a value like this is refused, as DRF refuses it. */
	unsigned surrogate;
	union {
		bool b;
		struct { const char *p; size_t n; } s;      /* string (decoded) or number text */
		struct { struct json **v; size_t n; } a;
		struct { struct json_member *m; size_t n; } o;
	} u;
};

struct json_member {
	const char *key;            /* NUL-terminated; may contain NUL (see klen) */
	size_t klen;
	struct json *val;
};

#define JSON_MAX_DEPTH 64

/*
 * Parse text[0..len) into a tree owned by arena.  On failure returns NULL and
 * writes yajl's one-line message and the byte offset of the problem.
 */
struct json *json_parse(struct arena *arena, const char *text, size_t len,
                        char *errmsg, size_t errlen, size_t *erroff);
/* The same, with // and block comments allowed (configuration files), and
 * the common mistakes said as what was expected. */
struct json *json_parse_commented(struct arena *arena, const char *text, size_t len,
                                  char *errmsg, size_t errlen, size_t *erroff);

/* Object member lookup; the last one wins on duplicate keys. NULL if absent. */
struct json *json_get(const struct json *obj, const char *key);
/* Python's name for the JSON value's type, as DRF prints it: dict, list … */
const char *json_pytype(const struct json *v);
/* Python repr() of the value as Python's json module would load it. */
void json_pyrepr(struct buf *b, const struct json *v);
/* Is the number text an integer literal (no fraction, no exponent)? */
bool json_number_is_int(const struct json *v);
/* An integer literal within [min, max] into *out; false for anything else. */
bool json_int(const struct json *v, int64_t min, int64_t max, int64_t *out);
/* The string as a C string, or NULL when v is no string or holds a NUL. */
const char *json_cstr(const struct json *v);

/* Output: a JSON string literal, escaped the way DRF's renderer does. */
void json_put_str(struct buf *b, const char *s, size_t n);
static inline void json_put_cstr(struct buf *b, const char *s)
{
	json_put_str(b, s, strlen(s));
}
/* Re-serialise a parsed value compactly. */
void json_write(struct buf *b, const struct json *v);
/* … as a JSONField stores it (Python's json.dumps): every double spelled
 * as json_put_double spells it ("0.10" as 0.1, "1e300" as 1e+300), so the
 * SQL stores and MongoDB give back the same text. */
void json_write_stored(struct buf *b, const struct json *v);

/* A double as Python's repr() spells it, which is how json.dumps writes a
 * float: the shortest digits that read back as d, positional from 1e-4 up
 * to 1e16 ("0.1", "1.0", "0.0001"), else with an exponent of at least two
 * digits ("1e+16", "1e-05", "1.5e+300").  false, and nothing written, for
 * infinities and NaN, which JSON cannot hold. */
bool json_put_double(struct buf *b, double d);

/*
 * Why v cannot be kept unchanged by every store, as a message for the
 * client (allocated in a), or NULL when it can.  The SQL stores keep JSON
 * as text; MongoDB as BSON, whose numbers are int64 and doubles and whose
 * keys are C strings that its servers further restrict.  So v is storable
 * when every integer fits int64, every other number is a finite double
 * (kept as the double: json_write_stored spells it as MongoDB gives it
 * back), no number is a negative zero (some servers keep it as 0), and no object
 * has an empty key, a key beginning with "$", holding "." or NUL, or the
 * same key twice.  Every store refuses the same values this way, before
 * any is written.
 */
const char *json_store_check(struct arena *a, const struct json *v);

/* Line and column (1-based) of a byte offset in text. */
void json_line_col(const char *text, size_t len, size_t off, int *line, int *col);

#endif
