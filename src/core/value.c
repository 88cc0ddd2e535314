/*
 * value.c — canonical type conversions (see value.h).
 *
 * The parsing rules mirror what the legacy application (Django REST
 * Framework) accepts, so a client sees the same validation either way.
 */
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arena.h"
#include "value.h"

static const char *const type_names[] = {
	[CT_UUID] = "uuid", [CT_STRING] = "string", [CT_TEXT] = "text",
	[CT_INTEGER] = "integer", [CT_BOOLEAN] = "boolean", [CT_DECIMAL] = "decimal",
	[CT_DATE] = "date", [CT_DATETIME] = "datetime", [CT_JSON] = "json",
};

const char *ctype_name(enum ctype t)
{
	return type_names[t];
}

int ctype_parse(const char *name, enum ctype *t)
{
	size_t i;

	for (i = 0; i < ARRAY_LEN(type_names); i++) {
		if (strcmp(name, type_names[i]) == 0) {
			*t = (enum ctype)i;
			return 0;
		}
	}
	return -1;
}

/* uuid ---------------------------------------------------------------- */

int uuid_parse(const char *s, size_t n, unsigned char out[16])
{
	int nibbles = 0;
	size_t i;

	/* The two forms stores hold: 8-4-4-4-12, and 32 digits. */
	if (n == 32 || (n == 36 && s[8] == '-' && s[13] == '-' && s[18] == '-' && s[23] == '-')) {
		int bad = 0, k = 0;

		for (i = 0; i < n; i += 2) {
			int hi, lo;

			if (n == 36 && (i == 8 || i == 13 || i == 18 || i == 23))
				i++;
			hi = hex_digit(s[i]);
			lo = hex_digit(s[i + 1]);
			bad |= hi | lo;
			out[k++] = (unsigned char)((unsigned)hi << 4 | (unsigned)lo);
		}
		if (bad >= 0)
			return 0;
	}
	if (n >= 9 && strncasecmp(s, "urn:uuid:", 9) == 0) {
		s += 9;
		n -= 9;
	}
	while (n && *s == '{') {
		s++;
		n--;
	}
	while (n && s[n - 1] == '}')
		n--;
	for (i = 0; i < n; i++) {
		int v;

		if (s[i] == '-')
			continue;
		v = hex_digit((unsigned char)s[i]);
		if (v < 0 || nibbles == 32)
			return -1;
		if (nibbles % 2 == 0)
			out[nibbles / 2] = (unsigned char)(v << 4);
		else
			out[nibbles / 2] |= (unsigned char)v;
		nibbles++;
	}
	return nibbles == 32 ? 0 : -1;
}

void uuid_format_hex(const unsigned char u[16], char out[33])
{
	hex_encode(u, 16, out);
}

void uuid_format(const unsigned char u[16], char out[UUID_STR_LEN + 1])
{
	static const char digits[] = "0123456789abcdef";
	size_t i, o = 0;

	for (i = 0; i < 16; i++) {
		if (i == 4 || i == 6 || i == 8 || i == 10)
			out[o++] = '-';
		out[o++] = digits[u[i] >> 4];
		out[o++] = digits[u[i] & 15];
	}
	out[o] = '\0';
}

void uuid_v4(unsigned char out[16])
{
	random_bytes(out, 16);
	out[6] = (out[6] & 0x0f) | 0x40;
	out[8] = (out[8] & 0x3f) | 0x80;
}

/* decimal ------------------------------------------------------------- */

/* The parts of a decimal literal: significant digits and exponent, as
 * Python's Decimal(text).as_tuple() reports them. */
struct dec_parts {
	bool neg;
	char digits[1100];
	size_t ndigits;
	long exp;
};

static bool is_space(int c)
{
	return c == ' ' || (c >= '\t' && c <= '\r');
}

static int dec_split(const char *s, size_t n, struct dec_parts *d)
{
	size_t i = 0, intdigits = 0, fracdigits = 0;
	long e = 0;
	bool eneg = false;

	d->neg = false;
	d->ndigits = 0;
	if (i < n && (s[i] == '+' || s[i] == '-'))
		d->neg = s[i++] == '-';
	for (; i < n && isdigit((unsigned char)s[i]); i++, intdigits++)
		if (d->ndigits < sizeof(d->digits))
			d->digits[d->ndigits++] = s[i];
	if (i < n && s[i] == '.') {
		for (i++; i < n && isdigit((unsigned char)s[i]); i++, fracdigits++)
			if (d->ndigits < sizeof(d->digits))
				d->digits[d->ndigits++] = s[i];
	}
	if (intdigits + fracdigits == 0)
		return -1;
	if (i < n && (s[i] == 'e' || s[i] == 'E')) {
		size_t start;

		i++;
		if (i < n && (s[i] == '+' || s[i] == '-'))
			eneg = s[i++] == '-';
		start = i;
		for (; i < n && isdigit((unsigned char)s[i]); i++)
			if (e < 100000000)
				e = e * 10 + (s[i] - '0');
		if (i == start)
			return -1;
	}
	if (i != n || d->ndigits < intdigits + fracdigits)
		return -1;
	d->exp = (eneg ? -e : e) - (long)fracdigits;
	/* Leading zeros are not significant, but one digit always remains. */
	{
		size_t lead = 0;

		while (lead + 1 < d->ndigits && d->digits[lead] == '0')
			lead++;
		memmove(d->digits, d->digits + lead, d->ndigits - lead);
		d->ndigits -= lead;
	}
	return 0;
}

enum decimal_err decimal_parse(const char *s, size_t n, int digits, int places,
                               int64_t *units)
{
	struct dec_parts d;
	long total, whole, dp, shift;
	int64_t v = 0;
	size_t i;

	while (n && is_space((unsigned char)*s)) {
		s++;
		n--;
	}
	while (n && is_space((unsigned char)s[n - 1]))
		n--;
	if (n > 1000)
		return DEC_TOO_LONG;
	if (dec_split(s, n, &d) < 0)
		return DEC_INVALID;
	if (d.exp >= 0) {
		total = (long)d.ndigits + d.exp;
		whole = total;
		dp = 0;
	} else if ((long)d.ndigits > -d.exp) {
		total = (long)d.ndigits;
		whole = total + d.exp;
		dp = -d.exp;
	} else {
		total = -d.exp;
		whole = 0;
		dp = total;
	}
	if (total > digits)
		return DEC_MAX_DIGITS;
	if (dp > places)
		return DEC_MAX_PLACES;
	if (whole > digits - places)
		return DEC_MAX_WHOLE;
	for (i = 0; i < d.ndigits; i++)
		v = v * 10 + (d.digits[i] - '0');
	for (shift = d.exp + places; shift > 0; shift--)
		v *= 10;
	*units = d.neg ? -v : v;
	return DEC_OK;
}

enum decimal_err decimal_parse_json_number(const char *s, size_t n, int digits,
                                           int places, int64_t *units)
{
	char tmp[64], text[64];
	double x;
	int prec, exp10, decpt, len;
	char mant[32];
	size_t nm = 0;
	const char *p;

	if (!memchr(s, '.', n) && !memchr(s, 'e', n) && !memchr(s, 'E', n))
		return decimal_parse(s, n, digits, places, units);
	if (n >= sizeof(tmp))
		return DEC_MAX_DIGITS;
	memcpy(tmp, s, n);
	tmp[n] = '\0';
	x = strtod(tmp, NULL);
	if (!isfinite(x))
		return DEC_INVALID;
	/* The shortest digits that read back as x: Python's repr(float). */
	for (prec = 1; prec <= 17; prec++) {
		snprintf(text, sizeof(text), "%.*e", prec - 1, x);
		if (strtod(text, NULL) == x)
			break;
	}
	p = text;
	if (*p == '-')
		p++;
	for (; *p && *p != 'e'; p++)
		if (*p != '.')
			mant[nm++] = *p;
	exp10 = atoi(p + 1);
	while (nm > 1 && mant[nm - 1] == '0')
		nm--;
	decpt = exp10 + 1;
	if (decpt > -4 && decpt <= 16 && decpt >= (int)nm) {
		/* Fixed notation with ".0" added: trailing zeros count as digits. */
		len = snprintf(text, sizeof(text), "%s%.*s%0*de-1", x < 0 || signbit(x) ? "-" : "",
		               (int)nm, mant, decpt - (int)nm + 1, 0);
	} else {
		len = snprintf(text, sizeof(text), "%s%.*se%d", x < 0 || signbit(x) ? "-" : "",
		               (int)nm, mant, decpt - (int)nm);
	}
	return decimal_parse(text, (size_t)len, digits, places, units);
}

int decimal_from_text_round(const char *s, size_t n, int places, int64_t *units)
{
	struct dec_parts d;
	long shift;
	int64_t v = 0;
	size_t i, keep;
	bool up = false;

	if (dec_split(s, n, &d) < 0)
		return -1;
	shift = d.exp + places;
	keep = d.ndigits;
	if (shift < 0) {
		size_t drop = (size_t)-shift;

		if (drop > d.ndigits) {
			keep = 0;
		} else {
			int first;
			bool rest = false;

			keep = d.ndigits - drop;
			first = d.digits[keep] - '0';
			for (i = keep + 1; i < d.ndigits; i++)
				rest |= d.digits[i] != '0';
			up = first > 5 || (first == 5 && (rest ||
			     (keep > 0 && (d.digits[keep - 1] - '0') % 2)));
		}
		shift = 0;
	}
	if ((long)keep + shift > DECIMAL_MAX_DIGITS)
		return -1;
	for (i = 0; i < keep; i++)
		v = v * 10 + (d.digits[i] - '0');
	for (; shift > 0; shift--)
		v *= 10;
	v += up;
	*units = d.neg ? -v : v;
	return 0;
}

size_t decimal_format(int64_t units, int places, char *out)
{
	uint64_t mag = units < 0 ? (uint64_t)0 - (uint64_t)units : (uint64_t)units;
	char digits[32];
	int n = 0, i;
	size_t len = 0;

	/* digits of mag, at least places + 1 of them, most significant first */
	do {
		digits[n++] = (char)('0' + mag % 10);
		mag /= 10;
	} while (mag || n <= places);
	for (i = 0; i < n / 2; i++) {
		char t = digits[i];

		digits[i] = digits[n - 1 - i];
		digits[n - 1 - i] = t;
	}

	if (units < 0)
		out[len++] = '-';
	memcpy(out + len, digits, (size_t)(n - places));
	len += (size_t)(n - places);
	if (places > 0) {
		out[len++] = '.';
		memcpy(out + len, digits + n - places, (size_t)places);
		len += (size_t)places;
	}
	out[len] = '\0';
	return len;
}

/* dates --------------------------------------------------------------- */

/* Howard Hinnant's days_from_civil / civil_from_days. */
int64_t days_from_civil(int y, unsigned m, unsigned d)
{
	int64_t era, yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

void civil_from_days(int64_t z, int *y, unsigned *m, unsigned *d)
{
	int64_t era, doe, yoe, doy, mp;

	z += 719468;
	era = (z >= 0 ? z : z - 146096) / 146097;
	doe = z - era * 146097;
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	*d = (unsigned)(doy - (153 * mp + 2) / 5 + 1);
	*m = (unsigned)(mp < 10 ? mp + 3 : mp - 9);
	*y = (int)(yoe + era * 400 + (*m <= 2));
}

static bool valid_ymd(int y, int m, int d)
{
	static const int mdays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	int max;

	if (y < 1 || y > 9999 || m < 1 || m > 12 || d < 1)
		return false;
	max = mdays[m - 1] + (m == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0));
	return d <= max;
}

/* Read between min and max ASCII digits at *i. */
static int digits_at(const char *s, size_t n, size_t *i, int min, int max, int *out)
{
	int k = 0, v = 0;

	while (*i < n && k < max && isdigit((unsigned char)s[*i])) {
		v = v * 10 + (s[(*i)++] - '0');
		k++;
	}
	*out = v;
	return k >= min ? 0 : -1;
}

static int ymd_at(const char *s, size_t n, size_t *i, int *y, int *m, int *d)
{
	if (digits_at(s, n, i, 4, 4, y) < 0 || *i >= n || s[(*i)++] != '-' ||
	    digits_at(s, n, i, 1, 2, m) < 0 || *i >= n || s[(*i)++] != '-' ||
	    digits_at(s, n, i, 1, 2, d) < 0)
		return -1;
	return 0;
}

int date_parse(const char *s, size_t n, int64_t *days)
{
	size_t i = 0;
	int y, m, d;

	if (ymd_at(s, n, &i, &y, &m, &d) < 0 || i != n || !valid_ymd(y, m, d))
		return -1;
	*days = days_from_civil(y, (unsigned)m, (unsigned)d);
	return 0;
}

void put_digits(char *out, unsigned n, int width)
{
	while (width-- > 0) {
		out[width] = (char)('0' + n % 10);
		n /= 10;
	}
}

size_t date_format(int64_t days, char out[16])
{
	int y;
	unsigned m, d;

	civil_from_days(days, &y, &m, &d);
	if (y < 0 || y > 9999)
		return (size_t)snprintf(out, 16, "%04d-%02u-%02u", y, m, d);
	put_digits(out, (unsigned)y, 4);
	out[4] = '-';
	put_digits(out + 5, m, 2);
	out[7] = '-';
	put_digits(out + 8, d, 2);
	out[10] = '\0';
	return 10;
}

int datetime_parse(const char *s, size_t n, int64_t *us)
{
	size_t i = 0;
	int y, mo, d, h, mi, sec = 0, frac = 0, tzh = 0, tzm = 0, sign = 0;

	if (ymd_at(s, n, &i, &y, &mo, &d) < 0 || i >= n || (s[i] != 'T' && s[i] != ' '))
		return -1;
	i++;
	if (digits_at(s, n, &i, 1, 2, &h) < 0 || i >= n || s[i++] != ':' ||
	    digits_at(s, n, &i, 1, 2, &mi) < 0)
		return -1;
	if (i < n && s[i] == ':') {
		i++;
		if (digits_at(s, n, &i, 1, 2, &sec) < 0)
			return -1;
		if (i < n && (s[i] == '.' || s[i] == ',')) {
			int k = 0;

			i++;
			while (i < n && k < 12 && isdigit((unsigned char)s[i])) {
				if (k < 6)
					frac = frac * 10 + (s[i] - '0');
				k++;
				i++;
			}
			if (k == 0)
				return -1;
			for (; k < 6; k++)
				frac *= 10;
		}
	}
	while (i < n && is_space((unsigned char)s[i]))
		i++;
	if (i < n && s[i] == 'Z') {
		i++;
	} else if (i < n && (s[i] == '+' || s[i] == '-')) {
		sign = s[i++] == '-' ? -1 : 1;
		if (digits_at(s, n, &i, 2, 2, &tzh) < 0)
			return -1;
		if (i < n && s[i] == ':')
			i++;
		if (i < n && isdigit((unsigned char)s[i]) && digits_at(s, n, &i, 2, 2, &tzm) < 0)
			return -1;
	}
	if (i != n || !valid_ymd(y, mo, d) || h > 23 || mi > 59 || sec > 59 ||
	    tzm > 59 || tzh > 23)
		return -1;
	*us = ((days_from_civil(y, (unsigned)mo, (unsigned)d) * 86400 +
	        h * 3600 + mi * 60 + sec - sign * (tzh * 3600 + tzm * 60)) * 1000000) + frac;
	return 0;
}

static size_t datetime_format_sep(int64_t us, char sep, const char *zone, char out[40])
{
	int64_t secs = us / 1000000, frac = us % 1000000, days, rem;
	char date[16];
	int n;

	if (frac < 0) {
		frac += 1000000;
		secs--;
	}
	days = secs / 86400;
	rem = secs % 86400;
	if (rem < 0) {
		rem += 86400;
		days--;
	}
	n = (int)date_format(days, date);
	memcpy(out, date, (size_t)n);
	out[n++] = sep;
	put_digits(out + n, (unsigned)(rem / 3600), 2);
	out[n + 2] = ':';
	put_digits(out + n + 3, (unsigned)(rem / 60 % 60), 2);
	out[n + 5] = ':';
	put_digits(out + n + 6, (unsigned)(rem % 60), 2);
	n += 8;
	if (frac) {
		out[n++] = '.';
		put_digits(out + n, (unsigned)frac, 6);
		n += 6;
	}
	n += (int)strlen(strcpy(out + n, zone));
	return (size_t)n;
}

size_t datetime_format_api(int64_t us, char out[40])
{
	return datetime_format_sep(us, 'T', "Z", out);
}

size_t datetime_format_sql(int64_t us, char out[40])
{
	return datetime_format_sep(us, ' ', "", out);
}

/* UTF-8 --------------------------------------------------------------- */

size_t utf8_len(const char *s, size_t n)
{
	size_t i, count = 0;

	for (i = 0; i < n; i++)
		count += ((unsigned char)s[i] & 0xc0) != 0x80;
	return count;
}

bool utf8_valid(const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s, *end = p + n;

	while (p < end) {
		unsigned c = *p++;
		int extra;
		unsigned cp, min;

		if (c < 0x80)
			continue;
		if (c >= 0xc2 && c <= 0xdf) {
			extra = 1; cp = c & 0x1f; min = 0x80;
		} else if (c >= 0xe0 && c <= 0xef) {
			extra = 2; cp = c & 0x0f; min = 0x800;
		} else if (c >= 0xf0 && c <= 0xf4) {
			extra = 3; cp = c & 0x07; min = 0x10000;
		} else {
			return false;
		}
		if (end - p < extra)
			return false;
		while (extra--) {
			if ((*p & 0xc0) != 0x80)
				return false;
			cp = (cp << 6) | (*p++ & 0x3f);
		}
		if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			return false;
	}
	return true;
}

int value_from_text(enum ctype type, int places, const char *text, size_t n, struct arena *a,
                    struct value *v)
{
	char *end;

	v->null = false;
	switch (type) {
	case CT_UUID:
		return uuid_parse(text, n, v->u.uuid);
	case CT_INTEGER:
		v->u.i = strtoll(text, &end, 10);
		return end == text || end != text + n ? -1 : 0;
	case CT_BOOLEAN:
		v->u.i = n > 0 && (text[0] == 't' || text[0] == '1');
		return 0;
	case CT_DECIMAL:
		return decimal_from_text_round(text, n, places, &v->u.i);
	case CT_DATE:
		return date_parse(text, n, &v->u.i);
	case CT_DATETIME:
		return datetime_parse(text, n, &v->u.i);
	default:
		v->u.s.p = arena_strndup(a, text, n);
		v->u.s.n = n;
		return 0;
	}
}
