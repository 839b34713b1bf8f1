#include "core/lib/parse.h"

#include <string.h>

bool wg_parse_u64(const char *s, size_t n, uint64_t *out)
{
	uint64_t v = 0;
	if (!s || n == 0 || n > 20)
		return false;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		if (__builtin_mul_overflow(v, 10, &v) || __builtin_add_overflow(v, (uint64_t)(s[i] - '0'), &v))
			return false;
	}
	*out = v;
	return true;
}

bool wg_parse_u32(const char *s, size_t n, uint32_t *out)
{
	uint64_t v;
	if (!wg_parse_u64(s, n, &v) || v > UINT32_MAX)
		return false;
	*out = (uint32_t)v;
	return true;
}

bool wg_parse_i64(const char *s, size_t n, int64_t *out)
{
	bool neg = n > 0 && s[0] == '-';
	uint64_t v;
	if (!wg_parse_u64(s + neg, n - neg, &v))
		return false;
	if (neg) {
		if (v > (uint64_t)INT64_MAX + 1)
			return false;
		*out = v == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)v;
	} else {
		if (v > (uint64_t)INT64_MAX)
			return false;
		*out = (int64_t)v;
	}
	return true;
}

bool wg_is_leap_year(int y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

int wg_days_in_month(int y, int m)
{
	static const int days[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	if (m < 1 || m > 12)
		return 0;
	return m == 2 && wg_is_leap_year(y) ? 29 : days[m - 1];
}

bool wg_parse_date(const char *s, size_t n, int *year, int *month, int *day)
{
	uint32_t y, m, d;
	if (n != 10 || s[4] != '-' || s[7] != '-')
		return false;
	if (!wg_parse_u32(s, 4, &y) || !wg_parse_u32(s + 5, 2, &m) || !wg_parse_u32(s + 8, 2, &d))
		return false;
	if (y < 1800 || m < 1 || m > 12 || d < 1 || (int)d > wg_days_in_month((int)y, (int)m))
		return false;
	*year = (int)y;
	*month = (int)m;
	*day = (int)d;
	return true;
}

int64_t wg_days_from_civil(int y, int m, int d)
{
	/* Howard Hinnant's days_from_civil algorithm. */
	y -= m <= 2;
	const int64_t era = (y >= 0 ? y : y - 399) / 400;
	const int64_t yoe = y - era * 400;
	const int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	const int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

size_t wg_format_i64(char *out, int64_t x)
{
	char digits[24];
	size_t i = sizeof digits, n;
	unsigned long long u = x < 0 ? 0ull - (unsigned long long)x : (unsigned long long)x;
	do {
		digits[--i] = (char)('0' + u % 10);
		u /= 10;
	} while (u);
	if (x < 0)
		digits[--i] = '-';
	n = sizeof digits - i;
	memcpy(out, digits + i, n);
	return n;
}

static void put_digits(char *out, int v, int width)
{
	for (int i = width - 1; i >= 0; i--) {
		out[i] = (char)('0' + v % 10);
		v /= 10;
	}
}

void wg_format_date(char out[WG_DATE_TEXT], int year, int month, int day)
{
	put_digits(out, year, 4);
	out[4] = '-';
	put_digits(out + 5, month, 2);
	out[7] = '-';
	put_digits(out + 8, day, 2);
	out[10] = '\0';
}

size_t wg_copy_text(char *dst, size_t size, const char *src)
{
	size_t n = strnlen(src, size - 1);
	memcpy(dst, src, n);
	dst[n] = '\0';
	return n;
}

void wg_civil_from_days(int64_t days, int *year, int *month, int *day)
{
	/* The inverse of wg_days_from_civil (the same era arithmetic). */
	int64_t z = days + 719468, era = (z >= 0 ? z : z - 146096) / 146097;
	int64_t doe = z - era * 146097, yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100), mp = (5 * doy + 2) / 153;
	*day = (int)(doy - (153 * mp + 2) / 5 + 1);
	*month = (int)(mp < 10 ? mp + 3 : mp - 9);
	*year = (int)(yoe + era * 400 + (*month <= 2));
}
