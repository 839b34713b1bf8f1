/* The words and the text handling every identity check shares: status
 * messages, UTF-8, full-width forms, spaces and digits. */
#include "core/lib/ident_int.h"
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
		"name_encoding", "date_invalid", "date_future", "gender_invalid", "date_no_such_day",
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
int32_t ident_utf8_next(const char *s, size_t n, size_t *i)
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

size_t ident_utf8_put(char *out, int32_t cp)
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

bool ident_is_space_cp(int32_t cp)
{
	return cp == ' ' || cp == '\t' || cp == '\r' || cp == '\n' || cp == 0xA0 || cp == 0x3000 ||
	       cp == 0xFEFF;
}

/* Full-width ASCII forms (U+FF01..U+FF5E) and the ideographic space map to ASCII. */
int32_t ident_halfwidth(int32_t cp)
{
	if (cp >= 0xFF01 && cp <= 0xFF5E)
		return cp - 0xFF01 + 0x21;
	if (cp == 0x3000)
		return ' ';
	return cp;
}

/* Trims surrounding spaces: sets [*b, *e) to the inner byte range. */
void ident_trim_range(const char *s, size_t n, size_t *b, size_t *e)
{
	size_t i = 0, start = 0, end = 0;
	bool seen = false;
	while (i < n) {
		size_t at = i;
		int32_t cp = ident_utf8_next(s, n, &i);
		if (ident_is_space_cp(cp))
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
bool ident_fold_ascii(const char *s, size_t n, char *out, size_t size, size_t *len, bool *changed)
{
	size_t b, e, o = 0;
	assert(size > 0);
	ident_trim_range(s, n, &b, &e);
	if (b != 0 || e != n)
		*changed = true;
	for (size_t i = b; i < e;) {
		int32_t cp = ident_utf8_next(s, e, &i);
		int32_t h = ident_halfwidth(cp);
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

bool ident_is_digit(char c) { return c >= '0' && c <= '9'; }

bool ident_all_digits(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!ident_is_digit(s[i]))
			return false;
	return n > 0;
}

/* 3.20923E+17, 3.2E17, 1e+17: what Excel shows (or a CSV holds) for a long number. */
bool ident_looks_scientific(const char *s, size_t n)
{
	size_t i = 0;
	if (i < n && (s[i] == '+' || s[i] == '-'))
		i++;
	size_t d0 = i;
	while (i < n && ident_is_digit(s[i]))
		i++;
	if (i == d0)
		return false;
	if (i < n && s[i] == '.') {
		i++;
		while (i < n && ident_is_digit(s[i]))
			i++;
	}
	if (i >= n || (s[i] != 'E' && s[i] != 'e'))
		return false;
	i++;
	if (i < n && (s[i] == '+' || s[i] == '-'))
		i++;
	size_t e0 = i;
	while (i < n && ident_is_digit(s[i]))
		i++;
	return i == n && i > e0;
}
