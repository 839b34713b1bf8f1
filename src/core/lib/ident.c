/* Dates, 身份证号 (GB 11643-1999) and telephone numbers, as people type them. */
#include "core/lib/ident_int.h"
#include "core/lib/parse.h"

#include <assert.h>
#include <string.h>
#include <time.h>

/* ---- dates ------------------------------------------------------------- */

int64_t ident_days(int year, int month, int day)
{
	return wg_days_from_civil(year, month, day);
}

int64_t ident_today(void)
{
	time_t now = time(NULL) + 8 * 3600;
	int64_t t = (int64_t)now;
	return t >= 0 ? t / 86400 : (t - 86399) / 86400;
}

static bool real_date(uint32_t y, uint32_t m, uint32_t d)
{
	return y >= 1850 && y <= 9999 && m >= 1 && m <= 12 && d >= 1 &&
	       (int)d <= wg_days_in_month((int)y, (int)m);
}

/* Reads a run of 1..max digits at s[*i]. */
static bool take_number(const char *s, size_t n, size_t *i, size_t max, uint32_t *out)
{
	size_t b = *i;
	while (*i < n && ident_is_digit(s[*i]) && *i - b < max)
		(*i)++;
	if (*i == b || (*i < n && ident_is_digit(s[*i])))
		return false;
	return wg_parse_u32(s + b, *i - b, out);
}

/* Folds a typed date to digits and one-letter separators: 年 → 'y',
 * 月 → 'm', 日/号 → 'd'; '-', '/', '.' stay. */
static bool date_fold(const char *s, size_t n, char *out, size_t size, size_t *len)
{
	size_t b, e, o = 0;
	ident_trim_range(s, n, &b, &e);
	for (size_t i = b; i < e;) {
		int32_t h = ident_halfwidth(ident_utf8_next(s, e, &i));
		char c;
		if ((h >= '0' && h <= '9') || h == '-' || h == '/' || h == '.')
			c = (char)h;
		else if (h == 0x5E74)
			c = 'y';
		else if (h == 0x6708)
			c = 'm';
		else if (h == 0x65E5 || h == 0x53F7)
			c = 'd';
		else
			return false;
		if (o + 1 >= size)
			return false;
		out[o++] = c;
	}
	out[o] = '\0';
	*len = o;
	return true;
}

enum ident_status ident_date_parse(const char *s, size_t n, int64_t today,
                                   int *year, int *month, int *day)
{
	char a[64];
	size_t len, i = 0;
	uint32_t y, m, d;
	if (n > IDENT_MAX_INPUT)
		return IDENT_TOO_LONG;
	if (!date_fold(s, n, a, sizeof a, &len))
		return IDENT_DATE_INVALID;
	if (len == 0)
		return IDENT_EMPTY;
	if (len == 8 && ident_all_digits(a, 8)) {
		if (!wg_parse_u32(a, 4, &y) || !wg_parse_u32(a + 4, 2, &m) || !wg_parse_u32(a + 6, 2, &d))
			return IDENT_DATE_INVALID;
	} else {
		if (!take_number(a, len, &i, 4, &y) || i != 4 || i >= len)
			return IDENT_DATE_INVALID;
		char sep = a[i++];
		char sep2 = sep == 'y' ? 'm' : sep;
		if (sep != '-' && sep != '/' && sep != '.' && sep != 'y')
			return IDENT_DATE_INVALID;
		if (!take_number(a, len, &i, 2, &m) || i >= len || a[i] != sep2)
			return IDENT_DATE_INVALID;
		i++;
		if (!take_number(a, len, &i, 2, &d))
			return IDENT_DATE_INVALID;
		if (sep == 'y' && i < len && a[i] == 'd')
			i++;
		if (i != len)
			return IDENT_DATE_INVALID;
	}
	/* Written as a date, but one the calendar does not have (6月31日, 2月29日 of a common year). */
	if (m >= 1 && m <= 12 && d >= 1 && d <= 31 && !real_date(y, m, d))
		return IDENT_DATE_NO_SUCH_DAY;
	if (!real_date(y, m, d))
		return IDENT_DATE_INVALID;
	if (today >= 0 && wg_days_from_civil((int)y, (int)m, (int)d) > today)
		return IDENT_DATE_FUTURE;
	*year = (int)y;
	*month = (int)m;
	*day = (int)d;
	return IDENT_OK;
}

enum ident_status ident_gender_parse(const char *s, size_t n, enum ident_gender *out)
{
	static const struct { const char *text; enum ident_gender g; } words[] = {
		{ "男", IDENT_GENDER_MALE }, { "男性", IDENT_GENDER_MALE }, { "m", IDENT_GENDER_MALE },
		{ "male", IDENT_GENDER_MALE }, { "女", IDENT_GENDER_FEMALE },
		{ "女性", IDENT_GENDER_FEMALE }, { "f", IDENT_GENDER_FEMALE },
		{ "female", IDENT_GENDER_FEMALE },
	};
	size_t b, e;
	if (n > IDENT_MAX_INPUT)
		return IDENT_TOO_LONG;
	ident_trim_range(s, n, &b, &e);
	if (b == e)
		return IDENT_EMPTY;
	for (size_t k = 0; k < sizeof words / sizeof words[0]; k++) {
		size_t wl = strlen(words[k].text);
		if (wl != e - b)
			continue;
		size_t j = 0;
		for (; j < wl; j++) {
			char c = s[b + j];
			if (c >= 'A' && c <= 'Z')
				c = (char)(c - 'A' + 'a');
			if (c != words[k].text[j])
				break;
		}
		if (j == wl) {
			*out = words[k].g;
			return IDENT_OK;
		}
	}
	return IDENT_GENDER_INVALID;
}

/* ---- 身份证号 ------------------------------------------------------------ */

char ident_id_check_char(const char *d)
{
	static const int weights[17] = { 7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2 };
	static const char map[] = "10X98765432";
	int sum = 0;
	for (int i = 0; i < 17; i++) {
		if (!ident_is_digit(d[i]))
			return '\0';
		sum += (d[i] - '0') * weights[i];
	}
	return map[sum % 11];
}

/* Eighteen ASCII characters as they should be, the usual cell: nothing to fold or drop. */
static bool id_plain(const char *s, size_t n)
{
	if (n != 18)
		return false;
	for (size_t i = 0; i < 17; i++)
		if (!ident_is_digit(s[i]))
			return false;
	return ident_is_digit(s[17]) || s[17] == 'X';
}

/* Normalises into out[] (at most 18 chars are kept; *len counts all). */
static enum ident_status id_normalise(const char *s, size_t n, char *out, size_t *len, bool *changed)
{
	char a[IDENT_MAX_INPUT + 1];
	size_t alen;
	if (id_plain(s, n)) {
		memcpy(out, s, 18);
		*len = 18;
		return IDENT_OK;
	}
	if (!ident_fold_ascii(s, n, a, sizeof a, &alen, changed))
		return IDENT_TOO_LONG;
	if (alen == 0)
		return IDENT_EMPTY;
	if (ident_looks_scientific(a, alen))
		return IDENT_ID_EXCEL_NUMBER;
	size_t k = 0;
	for (size_t i = 0; i < alen; i++) {
		char c = a[i];
		/* Typed in groups ("320923 19900101 1234") or with dashes: the same number. */
		if (c == ' ' || c == '-') {
			*changed = true;
			continue;
		}
		if (c == 'x') {
			c = 'X';
			*changed = true;
		}
		if (!ident_is_digit(c) && c != 'X')
			return IDENT_ID_BAD_CHAR;
		if (k < 18)
			out[k] = c;
		k++;
	}
	*len = k;
	return IDENT_OK;
}

static enum ident_status id_rules(const char *id, const struct ident_id_opts *o, struct ident_id *out)
{
	uint32_t y, m, d, region;
	for (int i = 0; i < 17; i++)
		if (!ident_is_digit(id[i]))
			return IDENT_ID_BAD_CHAR;
	if (!wg_parse_u32(id + 6, 4, &y) || !wg_parse_u32(id + 10, 2, &m) || !wg_parse_u32(id + 12, 2, &d) ||
	    !real_date(y, m, d))
		return IDENT_ID_BIRTH_DATE;
	if (o->today >= 0 && wg_days_from_civil((int)y, (int)m, (int)d) > o->today)
		return IDENT_ID_BIRTH_FUTURE;
	if (ident_id_check_char(id) != id[17])
		return IDENT_ID_CHECK_DIGIT;
	if (!wg_parse_u32(id, 6, &region))
		return IDENT_ID_BAD_CHAR;
	if (o->region_known && !o->region_known(region, o->region_ctx))
		return IDENT_ID_REGION;
	out->gender = ((id[16] - '0') % 2) ? IDENT_GENDER_MALE : IDENT_GENDER_FEMALE;
	out->birth_year = (int)y;
	out->birth_month = (int)m;
	out->birth_day = (int)d;
	out->region = region;
	return IDENT_OK;
}

enum ident_status ident_id_check(const char *s, size_t n, const struct ident_id_opts *opts,
                                 struct ident_id *out)
{
	static const struct ident_id_opts none = { -1, NULL, NULL, false };
	char id[18];
	size_t len = 0;
	const struct ident_id_opts *o = opts ? opts : &none;
	assert(out);
	memset(out, 0, sizeof *out);
	if (n > IDENT_MAX_INPUT)
		return IDENT_TOO_LONG;
	enum ident_status st = id_normalise(s, n, id, &len, &out->changed);
	if (st != IDENT_OK)
		return st;
	/* A numeric cell cannot carry an ID faithfully: past 15 digits Excel rounds. */
	if (o->from_number && len >= 15 && len <= 18)
		return IDENT_ID_EXCEL_NUMBER;
	if (len != 18)
		return IDENT_ID_LENGTH;
	st = id_rules(id, o, out);
	if (st != IDENT_OK)
		return st;
	memcpy(out->id, id, 18);
	out->id[18] = '\0';
	return IDENT_OK;
}

/* ---- phone numbers ----------------------------------------------------- */

static bool mobile_ok(const char *d, size_t n)
{
	if (n != 11 || !ident_all_digits(d, n) || d[0] != '1')
		return false;
	char a = d[1], b = d[2];
	switch (a) {
	case '3': case '8':
		return true;
	case '4':
		return b >= '5' && b <= '9';
	case '5':
		return b != '4';
	case '6':
		return b == '2' || b == '5' || b == '6' || b == '7';
	case '7':
		return b <= '8';
	case '9':
		return b != '4';
	default:
		return false;
	}
}

static bool is_dash(int32_t cp)
{
	return cp == '-' || cp == 0x2010 || cp == 0x2011 || cp == 0x2012 || cp == 0x2013 ||
	       cp == 0x2014 || cp == 0x2015 || cp == 0x2212 || cp == 0xFE63 || cp == 0xFF0D;
}

/* Folds a phone number to ASCII digits and the separators ' ', '-', '(', ')',
 * '+'; the extension word 转 becomes '-'. Anything else is refused. */
static bool phone_fold(const char *s, size_t n, char *out, size_t size, size_t *len, bool *changed)
{
	size_t b, e, o = 0;
	ident_trim_range(s, n, &b, &e);
	if (b != 0 || e != n)
		*changed = true;
	for (size_t i = b; i < e;) {
		int32_t cp = ident_utf8_next(s, e, &i);
		int32_t h = ident_halfwidth(cp);
		char c;
		if (is_dash(cp))
			c = '-';
		else if (cp == 0x8F6C) /* 转 */
			c = '-';
		else if (ident_is_space_cp(h))
			c = ' ';
		else if ((h >= '0' && h <= '9') || h == '(' || h == ')' || h == '+')
			c = (char)h;
		else
			return false;
		if (h != cp || c != h)
			*changed = true;
		if (o + 1 >= size)
			return false;
		out[o++] = c;
	}
	out[o] = '\0';
	*len = o;
	return true;
}

static bool try_mobile(const char *a, size_t len, char *out, bool *changed)
{
	char d[40];
	size_t k = 0;
	for (size_t i = 0; i < len; i++) {
		if (ident_is_digit(a[i]) || a[i] == '+') {
			if (k + 1 >= sizeof d)
				return false;
			d[k++] = a[i];
		} else if (a[i] != '(' && a[i] != ')') {
			*changed = true; /* separators dropped */
		}
	}
	d[k] = '\0';
	const char *p = d;
	if (k == 14 && memcmp(d, "+86", 3) == 0)
		p += 3;
	else if (k == 15 && memcmp(d, "0086", 4) == 0)
		p += 4;
	else if (k == 13 && memcmp(d, "86", 2) == 0)
		p += 2;
	if (!mobile_ok(p, strlen(p)))
		return false;
	if (p != d || len != 11)
		*changed = true;
	memcpy(out, p, 11);
	out[11] = '\0';
	return true;
}

/* Splits "0515-87212345-801", "(0515)87212345", "0515 87212345" or
 * "051587212345" into area, local and extension digit groups. */
static bool try_landline(const char *a, size_t len, char *out, size_t size)
{
	char grp[3][16];
	size_t glen[3] = { 0, 0, 0 };
	int g = 0;
	bool paren = false, sep_before = false;
	for (size_t i = 0; i < len; i++) {
		char c = a[i];
		if (ident_is_digit(c)) {
			if (sep_before && glen[g] > 0) {
				if (++g > 2)
					return false;
			}
			sep_before = false;
			if (glen[g] + 1 >= sizeof grp[g])
				return false;
			grp[g][glen[g]++] = c;
		} else if (c == '(' && i == 0) {
			paren = true;
		} else if (c == ')' && paren && g == 0 && glen[0] > 0) {
			sep_before = true;
		} else if (c == '-' || c == ' ') {
			sep_before = true;
		} else {
			return false;
		}
	}
	for (int k = 0; k < 3; k++)
		grp[k][glen[k]] = '\0';
	const char *area, *local, *ext = NULL;
	char split_area[8], split_local[16];
	if (g == 0) {
		/* all digits: 010 and 02x are the three-digit area codes */
		size_t al = (grp[0][0] == '0' && (grp[0][1] == '1' || grp[0][1] == '2')) ? 3 : 4;
		if (glen[0] <= al || glen[0] - al > 8)
			return false;
		memcpy(split_area, grp[0], al);
		split_area[al] = '\0';
		memcpy(split_local, grp[0] + al, glen[0] - al + 1);
		area = split_area;
		local = split_local;
	} else {
		area = grp[0];
		local = grp[1];
		if (g == 2)
			ext = grp[2];
	}
	size_t al = strlen(area), ll = strlen(local);
	if (area[0] != '0' || al < 3 || al > 4 || area[1] == '0')
		return false;
	if (ll < 7 || ll > 8 || local[0] == '0' || local[0] == '1')
		return false;
	if (ext && (strlen(ext) < 1 || strlen(ext) > 6))
		return false;
	size_t need = al + 1 + ll + (ext ? 1 + strlen(ext) : 0) + 1;
	if (need > size)
		return false;
	size_t o = 0;
	memcpy(out + o, area, al), o += al;
	out[o++] = '-';
	memcpy(out + o, local, ll), o += ll;
	if (ext) {
		out[o++] = '-';
		memcpy(out + o, ext, strlen(ext)), o += strlen(ext);
	}
	out[o] = '\0';
	return true;
}

static enum ident_status phone_classify(const char *s, size_t n, struct ident_phone *out, bool landline_ok)
{
	char a[64];
	size_t len = 0;
	assert(out);
	memset(out, 0, sizeof *out);
	if (n > IDENT_MAX_INPUT)
		return IDENT_TOO_LONG;
	bool changed = false;
	if (!phone_fold(s, n, a, sizeof a, &len, &changed))
		return landline_ok ? IDENT_PHONE_INVALID : IDENT_MOBILE_INVALID;
	if (len == 0)
		return IDENT_EMPTY;
	bool mchanged = changed;
	if (try_mobile(a, len, out->number, &mchanged)) {
		out->kind = IDENT_PHONE_MOBILE;
		out->changed = mchanged;
		return IDENT_OK;
	}
	if (landline_ok && try_landline(a, len, out->number, sizeof out->number)) {
		out->kind = IDENT_PHONE_LANDLINE;
		out->changed = changed || strlen(out->number) != len || memcmp(out->number, a, len) != 0;
		return IDENT_OK;
	}
	out->number[0] = '\0';
	return landline_ok ? IDENT_PHONE_INVALID : IDENT_MOBILE_INVALID;
}

enum ident_status ident_phone_check(const char *s, size_t n, struct ident_phone *out)
{
	return phone_classify(s, n, out, true);
}

enum ident_status ident_mobile_check(const char *s, size_t n, struct ident_phone *out)
{
	return phone_classify(s, n, out, false);
}
