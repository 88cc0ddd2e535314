/*
 * value.h — canonical types (design.md §5).
 *
 * Every value crossing the gateway is one of these types, whatever store it
 * came from, so every adapter produces the same JSON.  A value does not
 * carry its type: the field that holds it does.
 *
 *   uuid      16 raw bytes
 *   string    UTF-8 bytes (text, string)
 *   integer   int64
 *   boolean   int64 0/1
 *   decimal   int64 count of 10^-places units (exact; never a float)
 *   date      days since 1970-01-01
 *   datetime  microseconds since 1970-01-01T00:00:00Z
 *   json      raw JSON text
 */
#ifndef CUTOVER_VALUE_H
#define CUTOVER_VALUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util.h"

enum ctype {
	CT_UUID, CT_STRING, CT_TEXT, CT_INTEGER, CT_BOOLEAN,
	CT_DECIMAL, CT_DATE, CT_DATETIME, CT_JSON,
};

struct value {
	bool null;
	union {
		int64_t i;
		struct { const char *p; size_t n; } s;
		unsigned char uuid[16];
	} u;
};

const char *ctype_name(enum ctype t);
int ctype_parse(const char *name, enum ctype *t) MUST_CHECK;

/* uuid -------------------------------------------------------------- */

#define UUID_STR_LEN 36
/* Accept what Python's uuid.UUID(hex=…) accepts: dashes anywhere, braces
 * around, an optional urn:uuid: prefix, either case. */
int uuid_parse(const char *s, size_t n, unsigned char out[16]) MUST_CHECK;
void uuid_format(const unsigned char u[16], char out[UUID_STR_LEN + 1]);
void uuid_format_hex(const unsigned char u[16], char out[33]);
void uuid_v4(unsigned char out[16]);

/* decimal ----------------------------------------------------------- */

#define DECIMAL_MAX_DIGITS 18

enum decimal_err {
	DEC_OK = 0,
	DEC_INVALID,        /* not a number */
	DEC_MAX_DIGITS,     /* more than `digits` digits in total */
	DEC_MAX_PLACES,     /* more than `places` decimal places */
	DEC_MAX_WHOLE,      /* more than digits - places before the point */
	DEC_TOO_LONG,       /* input text over 1000 characters */
};

/*
 * Parse decimal text with the rules of DRF's DecimalField: surrounding white
 * space ignored, sign, digits, point, exponent; digits are counted as Python's
 * Decimal.as_tuple() counts them, so "1.000" has three places.
 */
enum decimal_err decimal_parse(const char *s, size_t n, int digits, int places,
                               int64_t *units);
/*
 * Parse a JSON number as DRF sees it: integers exactly, anything with a
 * fraction or exponent first through a binary double and back to its
 * shortest text (Python's float repr), as Python's json module does.
 */
enum decimal_err decimal_parse_json_number(const char *s, size_t n, int digits,
                                           int places, int64_t *units);
/* Read a stored decimal leniently (a float's text, say) rounding half-even
 * to `places`; -1 if it is not a number or does not fit. */
int decimal_from_text_round(const char *s, size_t n, int places, int64_t *units) MUST_CHECK;
/* "-118.00": exactly `places` decimals.  out holds at least 32 bytes. */
size_t decimal_format(int64_t units, int places, char *out);

/* date and datetime ---------------------------------------------------- */

/* Days since the epoch of a civil date and back (proleptic Gregorian). */
int64_t days_from_civil(int y, unsigned m, unsigned d);
void civil_from_days(int64_t z, int *y, unsigned *m, unsigned *d);

/* YYYY-MM-DD (Django's parse_date: 1–2 digit month and day). */
int date_parse(const char *s, size_t n, int64_t *days) MUST_CHECK;
size_t date_format(int64_t days, char out[16]);

/*
 * ISO 8601 datetime as Django's parse_datetime reads it: date, T or space,
 * hh:mm[:ss[.ffffff]], optional Z or ±hh[:mm].  No zone means UTC.
 */
int datetime_parse(const char *s, size_t n, int64_t *us) MUST_CHECK;
/* API form: 2026-11-21T17:30:39.794993Z, fraction only when non-zero. */
size_t datetime_format_api(int64_t us, char out[40]);
/* n as exactly width digits (leading zeros; higher digits dropped). */
void put_digits(char *out, unsigned n, int width);
/* Django's SQLite storage form: 2026-11-21 17:30:39.794993 (UTC, naive). */
size_t datetime_format_sql(int64_t us, char out[40]);
/* Truncate to milliseconds, the precision every store keeps. */
static inline int64_t datetime_trunc_ms(int64_t us)
{
	int64_t r = us % 1000;

	return us - (r < 0 ? r + 1000 : r);
}

/*
 * A stored value given as text (how SQL stores hand most values back):
 * uuid in any accepted form, integer, boolean (t/true/1), decimal rounded
 * to places, date, datetime; strings are copied into arena.  -1 when the
 * text is not a valid value of the type.
 */
struct arena;
int value_from_text(enum ctype type, int places, const char *text, size_t n, struct arena *a,
                    struct value *v) MUST_CHECK;

/* Count Unicode code points in valid UTF-8 (Python's len()). */
size_t utf8_len(const char *s, size_t n);
bool utf8_valid(const char *s, size_t n);

#endif
