#include "core/lib/ident.h"

#include "core/lib/parse.h"

#include <assert.h>
#include <string.h>
#include <time.h>

/* ---- status texts ------------------------------------------------------ */

struct status_text {
	const char *code;
	const char *zh;
	const char *en;
};

static const struct status_text status_texts[] = {
#define IDENT_STATUS_ROW(name, zh, en) { #name, zh, en },
	IDENT_STATUSES(IDENT_STATUS_ROW)
#undef IDENT_STATUS_ROW
};

static const struct status_text *status_info(enum ident_status st)
{
	if ((unsigned)st >= IDENT__COUNT)
		st = IDENT_TOO_LONG;
	return &status_texts[st];
}

const char *ident_status_zh(enum ident_status st) { return status_info(st)->zh; }
const char *ident_status_en(enum ident_status st) { return status_info(st)->en; }

const char *ident_status_code(enum ident_status st)
{
	/* The API speaks lower case; one entry per IDENT_STATUSES row, in order. */
	static const char *const codes[] = {
		"ok", "empty", "too_long", "id_length", "id_bad_char", "id_birth_date",
		"id_birth_future", "id_check_digit", "id_region", "id_excel_number",
		"phone_invalid", "mobile_invalid", "credit_length", "credit_bad_char",
		"credit_check", "plate_invalid", "name_length", "name_bad_char",
		"name_encoding", "date_invalid", "date_future", "gender_invalid",
	};
	_Static_assert(sizeof codes / sizeof codes[0] == IDENT__COUNT, "one API code per ident status");
	if ((unsigned)st >= IDENT__COUNT)
		return "invalid";
	return codes[st];
}

bool ident_status_is_warning(enum ident_status st)
{
	return st == IDENT_CREDIT_CHECK;
}

/* ---- UTF-8 scanning ---------------------------------------------------- */

/* Decodes one code point at s[*i]; returns -1 for an invalid or truncated
 * sequence (and advances by one byte so callers can continue). */
static int32_t utf8_next(const char *s, size_t n, size_t *i)
{
	const unsigned char *p = (const unsigned char *)s + *i;
	size_t left = n - *i;
	assert(*i < n);
	if (p[0] < 0x80) {
		*i += 1;
		return p[0];
	}
	int len;
	int32_t cp, min;
	if ((p[0] & 0xE0) == 0xC0) {
		len = 2, cp = p[0] & 0x1F, min = 0x80;
	} else if ((p[0] & 0xF0) == 0xE0) {
		len = 3, cp = p[0] & 0x0F, min = 0x800;
	} else if ((p[0] & 0xF8) == 0xF0) {
		len = 4, cp = p[0] & 0x07, min = 0x10000;
	} else {
		*i += 1;
		return -1;
	}
	if (left < (size_t)len) {
		*i += 1;
		return -1;
	}
	for (int k = 1; k < len; k++) {
		if ((p[k] & 0xC0) != 0x80) {
			*i += 1;
			return -1;
		}
		cp = (cp << 6) | (p[k] & 0x3F);
	}
	if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
		*i += 1;
		return -1;
	}
	*i += (size_t)len;
	return cp;
}

static size_t utf8_put(char *out, int32_t cp)
{
	if (cp < 0x80) {
		out[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		out[0] = (char)(0xC0 | (cp >> 6));
		out[1] = (char)(0x80 | (cp & 0x3F));
		return 2;
	}
	if (cp < 0x10000) {
		out[0] = (char)(0xE0 | (cp >> 12));
		out[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
		out[2] = (char)(0x80 | (cp & 0x3F));
		return 3;
	}
	out[0] = (char)(0xF0 | (cp >> 18));
	out[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
	out[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
	out[3] = (char)(0x80 | (cp & 0x3F));
	return 4;
}

static bool is_space_cp(int32_t cp)
{
	return cp == ' ' || cp == '\t' || cp == '\r' || cp == '\n' || cp == 0xA0 || cp == 0x3000 ||
	       cp == 0xFEFF;
}

/* Full-width ASCII forms (U+FF01..U+FF5E) and the ideographic space map to ASCII. */
static int32_t halfwidth(int32_t cp)
{
	if (cp >= 0xFF01 && cp <= 0xFF5E)
		return cp - 0xFF01 + 0x21;
	if (cp == 0x3000)
		return ' ';
	return cp;
}

/* Trims surrounding spaces: sets [*b, *e) to the inner byte range. */
static void trim_range(const char *s, size_t n, size_t *b, size_t *e)
{
	size_t i = 0, start = 0, end = 0;
	bool seen = false;
	while (i < n) {
		size_t at = i;
		int32_t cp = utf8_next(s, n, &i);
		if (is_space_cp(cp))
			continue;
		if (!seen)
			start = at;
		seen = true;
		end = i;
	}
	*b = seen ? start : 0;
	*e = seen ? end : 0;
}

/* Maps the input to printable ASCII (full-width forms folded); characters
 * with no ASCII form become '\x01'. Returns false if it does not fit. */
static bool fold_ascii(const char *s, size_t n, char *out, size_t size, size_t *len, bool *changed)
{
	size_t b, e, o = 0;
	assert(size > 0);
	trim_range(s, n, &b, &e);
	if (b != 0 || e != n)
		*changed = true;
	for (size_t i = b; i < e;) {
		int32_t cp = utf8_next(s, e, &i);
		int32_t h = halfwidth(cp);
		if (h != cp)
			*changed = true;
		if (o + 1 >= size)
			return false;
		out[o++] = (h >= 0x20 && h < 0x7F) ? (char)h : '\x01';
	}
	out[o] = '\0';
	*len = o;
	return true;
}

static bool is_digit(char c) { return c >= '0' && c <= '9'; }

static bool all_digits(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!is_digit(s[i]))
			return false;
	return n > 0;
}

/* 3.20923E+17, 3.2E17, 1e+17: what Excel shows (or a CSV holds) for a long number. */
static bool looks_scientific(const char *s, size_t n)
{
	size_t i = 0;
	if (i < n && (s[i] == '+' || s[i] == '-'))
		i++;
	size_t d0 = i;
	while (i < n && is_digit(s[i]))
		i++;
	if (i == d0)
		return false;
	if (i < n && s[i] == '.') {
		i++;
		while (i < n && is_digit(s[i]))
			i++;
	}
	if (i >= n || (s[i] != 'E' && s[i] != 'e'))
		return false;
	i++;
	if (i < n && (s[i] == '+' || s[i] == '-'))
		i++;
	size_t e0 = i;
	while (i < n && is_digit(s[i]))
		i++;
	return i == n && i > e0;
}

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
	while (*i < n && is_digit(s[*i]) && *i - b < max)
		(*i)++;
	if (*i == b || (*i < n && is_digit(s[*i])))
		return false;
	return wg_parse_u32(s + b, *i - b, out);
}

/* Folds a typed date to digits and one-letter separators: 年 → 'y',
 * 月 → 'm', 日/号 → 'd'; '-', '/', '.' stay. */
static bool date_fold(const char *s, size_t n, char *out, size_t size, size_t *len)
{
	size_t b, e, o = 0;
	trim_range(s, n, &b, &e);
	for (size_t i = b; i < e;) {
		int32_t h = halfwidth(utf8_next(s, e, &i));
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
	if (len == 8 && all_digits(a, 8)) {
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
	trim_range(s, n, &b, &e);
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
		if (!is_digit(d[i]))
			return '\0';
		sum += (d[i] - '0') * weights[i];
	}
	return map[sum % 11];
}

/* Normalises into out[] (at most 18 chars are kept; *len counts all). */
static enum ident_status id_normalise(const char *s, size_t n, char *out, size_t *len, bool *changed)
{
	char a[IDENT_MAX_INPUT + 1];
	size_t alen;
	if (!fold_ascii(s, n, a, sizeof a, &alen, changed))
		return IDENT_TOO_LONG;
	if (alen == 0)
		return IDENT_EMPTY;
	if (looks_scientific(a, alen))
		return IDENT_ID_EXCEL_NUMBER;
	for (size_t i = 0; i < alen; i++) {
		char c = a[i];
		if (c == 'x') {
			c = 'X';
			*changed = true;
		}
		if (!is_digit(c) && c != 'X')
			return IDENT_ID_BAD_CHAR;
		if (i < 18)
			out[i] = c;
	}
	*len = alen;
	return IDENT_OK;
}

static enum ident_status id_rules(const char *id, const struct ident_id_opts *o, struct ident_id *out)
{
	uint32_t y, m, d, region;
	for (int i = 0; i < 17; i++)
		if (!is_digit(id[i]))
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
	if (n != 11 || !all_digits(d, n) || d[0] != '1')
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
	trim_range(s, n, &b, &e);
	if (b != 0 || e != n)
		*changed = true;
	for (size_t i = b; i < e;) {
		int32_t cp = utf8_next(s, e, &i);
		int32_t h = halfwidth(cp);
		char c;
		if (is_dash(cp))
			c = '-';
		else if (cp == 0x8F6C) /* 转 */
			c = '-';
		else if (is_space_cp(h))
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
		if (is_digit(a[i]) || a[i] == '+') {
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
		if (is_digit(c)) {
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

/* ---- 统一社会信用代码 ------------------------------------------------------ */

enum ident_status ident_credit_check(const char *s, size_t n, struct ident_credit *out)
{
	static const char alphabet[] = "0123456789ABCDEFGHJKLMNPQRTUWXY";
	static const int weights[17] = { 1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28 };
	char a[IDENT_MAX_INPUT + 1];
	size_t len;
	int vals[18];
	assert(out);
	memset(out, 0, sizeof *out);
	if (n > IDENT_MAX_INPUT)
		return IDENT_TOO_LONG;
	if (!fold_ascii(s, n, a, sizeof a, &len, &out->changed))
		return IDENT_TOO_LONG;
	if (len == 0)
		return IDENT_EMPTY;
	for (size_t i = 0; i < len; i++) {
		if (a[i] >= 'a' && a[i] <= 'z') {
			a[i] = (char)(a[i] - 'a' + 'A');
			out->changed = true;
		}
		if (a[i] == '\0' || !strchr(alphabet, a[i]))
			return IDENT_CREDIT_BAD_CHAR;
		if (i < 18)
			vals[i] = (int)(strchr(alphabet, a[i]) - alphabet);
	}
	if (len != 18)
		return IDENT_CREDIT_LENGTH;
	memcpy(out->code, a, 18);
	out->code[18] = '\0';
	int sum = 0;
	for (int i = 0; i < 17; i++)
		sum += vals[i] * weights[i];
	int check = 31 - sum % 31;
	if (check == 31)
		check = 0;
	return check == vals[17] ? IDENT_OK : IDENT_CREDIT_CHECK;
}

/* ---- vehicle plates ---------------------------------------------------- */

static bool plate_province(int32_t cp)
{
	static const char provinces[] = "京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼";
	size_t i = 0, n = sizeof provinces - 1;
	while (i < n)
		if (utf8_next(provinces, n, &i) == cp)
			return true;
	return false;
}

static bool plate_char(char c)
{
	return is_digit(c) || (c >= 'A' && c <= 'Z' && c != 'I' && c != 'O');
}

static bool plate_tail_ok(const char *t, size_t n, bool *new_energy)
{
	for (size_t i = 0; i < n; i++)
		if (!plate_char(t[i]))
			return false;
	if (n == 5) {
		*new_energy = false;
		return true;
	}
	if (n == 6 && (t[0] == 'D' || t[0] == 'F' || t[5] == 'D' || t[5] == 'F')) {
		*new_energy = true;
		return true;
	}
	return false;
}

enum ident_status ident_plate_check(const char *s, size_t n, struct ident_plate *out)
{
	size_t b, e, i;
	char tail[16];
	size_t tl = 0;
	assert(out);
	memset(out, 0, sizeof *out);
	if (n > IDENT_MAX_INPUT)
		return IDENT_TOO_LONG;
	trim_range(s, n, &b, &e);
	if (b == e)
		return IDENT_EMPTY;
	out->changed = b != 0 || e != n;
	i = b;
	int32_t prov = utf8_next(s, e, &i);
	if (!plate_province(prov))
		return IDENT_PLATE_INVALID;
	size_t provlen = i - b;
	while (i < e) {
		int32_t cp = utf8_next(s, e, &i);
		int32_t h = halfwidth(cp);
		if (h != cp)
			out->changed = true;
		if (is_space_cp(h) || h == '-' || h == 0xB7 || h == 0x30FB || h == 0x2022 || h == '.') {
			out->changed = true;
			continue;
		}
		if (h >= 'a' && h <= 'z') {
			h -= 'a' - 'A';
			out->changed = true;
		}
		if (h < 0x20 || h >= 0x7F || tl + 1 >= sizeof tail)
			return IDENT_PLATE_INVALID;
		tail[tl++] = (char)h;
	}
	if (tl < 6 || tail[0] < 'A' || tail[0] > 'Z' || tail[0] == 'I' || tail[0] == 'O')
		return IDENT_PLATE_INVALID;
	if (!plate_tail_ok(tail + 1, tl - 1, &out->new_energy))
		return IDENT_PLATE_INVALID;
	memcpy(out->plate, s + b, provlen);
	memcpy(out->plate + provlen, tail, tl);
	out->plate[provlen + tl] = '\0';
	return IDENT_OK;
}

/* ---- names ------------------------------------------------------------- */

static bool is_middle_dot(int32_t cp)
{
	return cp == 0xB7 || cp == 0x30FB || cp == 0x2022 || cp == 0xFF65 || cp == 0x2027 || cp == 0x2219;
}

static bool name_char_ok(int32_t cp)
{
	if (cp < 0x20 || (cp >= 0x7F && cp <= 0x9F))
		return false; /* control characters */
	if (cp >= '0' && cp <= '9')
		return false;
	if (cp >= 0xFF10 && cp <= 0xFF19)
		return false; /* full-width digits */
	if (cp < 0x80)
		return (cp >= 'A' && cp <= 'Z') || (cp >= 'a' && cp <= 'z') || cp == ' ' || cp == '-' ||
		       cp == '\'' || cp == '.';
	if (cp >= 0x3000 && cp <= 0x303F)
		return false; /* CJK punctuation */
	if (cp >= 0xFF01 && cp <= 0xFF20)
		return false; /* full-width punctuation */
	if (cp >= 0x2000 && cp <= 0x206F)
		return false; /* general punctuation */
	return true;
}

enum ident_status ident_name_check(const char *s, size_t n, struct ident_name *out)
{
	size_t b, e, o = 0, chars = 0;
	assert(out);
	memset(out, 0, sizeof *out);
	if (n > IDENT_MAX_INPUT * 2)
		return IDENT_NAME_LENGTH;
	for (size_t i = 0; i < n;)
		if (utf8_next(s, n, &i) < 0)
			return IDENT_NAME_ENCODING;
	trim_range(s, n, &b, &e);
	if (b == e)
		return IDENT_EMPTY;
	out->changed = b != 0 || e != n;
	int32_t prev = 0;
	for (size_t i = b; i < e;) {
		int32_t cp = utf8_next(s, e, &i);
		if (is_middle_dot(cp)) {
			if (cp != 0xB7)
				out->changed = true;
			if (chars == 0 || i == e || is_middle_dot(prev))
				return IDENT_NAME_BAD_CHAR;
			cp = 0xB7;
		} else if (!name_char_ok(cp)) {
			return IDENT_NAME_BAD_CHAR;
		}
		if (++chars > IDENT_NAME_MAX_CHARS)
			return IDENT_NAME_LENGTH;
		o += utf8_put(out->name + o, cp);
		prev = cp;
	}
	out->name[o] = '\0';
	return IDENT_OK;
}

/* ---- masks ------------------------------------------------------------- */

struct out_str {
	char *p;
	size_t size, len;
};

static void out_add(struct out_str *o, const char *s, size_t n)
{
	if (o->size == 0)
		return;
	size_t room = o->size - 1 - o->len;
	if (n > room)
		n = room;
	memcpy(o->p + o->len, s, n);
	o->len += n;
	o->p[o->len] = '\0';
}

static void out_stars(struct out_str *o, size_t n)
{
	while (n--)
		out_add(o, "*", 1);
}

void ident_mask_id(const char *id, char *out, size_t size)
{
	struct out_str o = { out, size, 0 };
	size_t n = id ? strlen(id) : 0;
	if (size)
		out[0] = '\0';
	if (n >= 11) {
		out_add(&o, id, 6);
		out_stars(&o, n - 10);
		out_add(&o, id + n - 4, 4);
	} else {
		out_stars(&o, n);
	}
}

void ident_mask_phone(const char *phone, char *out, size_t size)
{
	struct out_str o = { out, size, 0 };
	size_t n = phone ? strlen(phone) : 0;
	if (size)
		out[0] = '\0';
	if (n == 11 && all_digits(phone, n)) {
		out_add(&o, phone, 3);
		out_stars(&o, 4);
		out_add(&o, phone + 7, 4);
		return;
	}
	if (n < 8) {
		out_stars(&o, n);
		return;
	}
	/* landline: keep the area code and the last 4 digits */
	const char *dash = memchr(phone, '-', n);
	size_t keep = dash ? (size_t)(dash - phone) + 1 : 0;
	if (keep + 4 > n)
		keep = 0;
	out_add(&o, phone, keep);
	for (size_t i = keep; i < n - 4; i++)
		out_add(&o, phone[i] == '-' ? "-" : "*", 1);
	out_add(&o, phone + n - 4, 4);
}

void ident_mask_name(const char *name, char *out, size_t size)
{
	struct out_str o = { out, size, 0 };
	size_t n = name ? strlen(name) : 0;
	size_t i = 0, chars = 0;
	if (size)
		out[0] = '\0';
	if (n == 0)
		return;
	(void)utf8_next(name, n, &i);
	size_t first = i;
	while (i < n) {
		(void)utf8_next(name, n, &i);
		chars++;
	}
	if (chars == 0) {
		out_add(&o, "*", 1);
		return;
	}
	out_add(&o, name, first);
	out_stars(&o, chars);
}
