/* 统一社会信用代码 (GB 32100-2015), vehicle plates and personal names. */
#include "core/lib/ident_int.h"
#include "core/lib/parse.h"

#include <assert.h>
#include <string.h>
#include <time.h>

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
	if (!ident_fold_ascii(s, n, a, sizeof a, &len, &out->changed))
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
		if (ident_utf8_next(provinces, n, &i) == cp)
			return true;
	return false;
}

static bool plate_char(char c)
{
	return ident_is_digit(c) || (c >= 'A' && c <= 'Z' && c != 'I' && c != 'O');
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
	ident_trim_range(s, n, &b, &e);
	if (b == e)
		return IDENT_EMPTY;
	out->changed = b != 0 || e != n;
	i = b;
	int32_t prov = ident_utf8_next(s, e, &i);
	if (!plate_province(prov))
		return IDENT_PLATE_INVALID;
	size_t provlen = i - b;
	while (i < e) {
		int32_t cp = ident_utf8_next(s, e, &i);
		int32_t h = ident_halfwidth(cp);
		if (h != cp)
			out->changed = true;
		if (ident_is_space_cp(h) || h == '-' || h == 0xB7 || h == 0x30FB || h == 0x2022 || h == '.') {
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
		if (ident_utf8_next(s, n, &i) < 0)
			return IDENT_NAME_ENCODING;
	ident_trim_range(s, n, &b, &e);
	if (b == e)
		return IDENT_EMPTY;
	out->changed = b != 0 || e != n;
	int32_t prev = 0;
	for (size_t i = b; i < e;) {
		int32_t cp = ident_utf8_next(s, e, &i);
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
		o += ident_utf8_put(out->name + o, cp);
		prev = cp;
	}
	out->name[o] = '\0';
	return IDENT_OK;
}
