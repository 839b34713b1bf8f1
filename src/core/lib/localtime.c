#include "core/lib/localtime.h"
#include "core/lib/parse.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* Either a fixed offset from UTC, or the tz database through localtime_r. */
static bool fixed = true;
static int32_t fixed_offset = 8 * 3600;

static bool two_digits(const char *s, int *out)
{
	if (s[0] < '0' || s[0] > '9' || s[1] < '0' || s[1] > '9')
		return false;
	*out = (s[0] - '0') * 10 + (s[1] - '0');
	return true;
}

/* "+HH:MM" or "-HH:MM" (or "Z"), exactly n bytes; offsets up to 18 h. */
static bool parse_offset(const char *s, size_t n, int32_t *seconds)
{
	int h, m;
	if (n == 1 && s[0] == 'Z') {
		*seconds = 0;
		return true;
	}
	if (n != 6 || (s[0] != '+' && s[0] != '-') || s[3] != ':' || !two_digits(s + 1, &h) || !two_digits(s + 4, &m) ||
	    h > 18 || m > 59)
		return false;
	*seconds = (h * 3600 + m * 60) * (s[0] == '-' ? -1 : 1);
	return true;
}

bool wg_localtime_set(const char *zone)
{
	static const char *const china[] = { "Asia/Shanghai", "PRC", "Asia/Chongqing", "Asia/Chungking", "Asia/Harbin",
					     "Asia/Urumqi", "Asia/Beijing", NULL };
	int32_t off;
	for (const char *const *c = china; *c; c++)
		if (strcmp(zone, *c) == 0) {
			fixed = true;
			fixed_offset = 8 * 3600;
			return true;
		}
	if (strcmp(zone, "UTC") == 0 || parse_offset(zone, strlen(zone), &off)) {
		fixed = true;
		fixed_offset = strcmp(zone, "UTC") == 0 ? 0 : off;
		return true;
	}
	char path[512];
	int n = snprintf(path, sizeof path, "/usr/share/zoneinfo/%s", zone);
	if (n < 0 || (size_t)n >= sizeof path || strstr(zone, "..") || zone[0] == '/' || access(path, R_OK) != 0)
		return false;
	setenv("TZ", zone, 1);
	tzset();
	fixed = false;
	return true;
}

size_t wg_localtime_iso(int64_t t, char out[WG_LOCALTIME_TEXT])
{
	struct tm tm;
	long offset;
	if (fixed) {
		time_t shifted = (time_t)(t + fixed_offset);
		gmtime_r(&shifted, &tm);
		offset = fixed_offset;
	} else {
		time_t tt = (time_t)t;
		localtime_r(&tt, &tm);
		offset = tm.tm_gmtoff;
	}
	long a = offset < 0 ? -offset : offset;
	int n = snprintf(out, WG_LOCALTIME_TEXT, "%04d-%02d-%02dT%02d:%02d:%02d%c%02ld:%02ld", tm.tm_year + 1900,
			 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, offset < 0 ? '-' : '+', a / 3600,
			 a / 60 % 60);
	return n > 0 && n < WG_LOCALTIME_TEXT ? (size_t)n : 0;
}

bool wg_parse_time(const char *s, size_t n, int64_t *out)
{
	int year, month, day, hh, mm, ss;
	int32_t off;
	if (n > 0 && n <= 12 && s[0] >= '0' && s[0] <= '9') {
		uint64_t v;
		if (memchr(s, '-', n) == NULL && wg_parse_u64(s, n, &v) && v <= INT64_C(253402300799)) {
			*out = (int64_t)v;
			return true;
		}
	}
	/* YYYY-MM-DDTHH:MM:SS then the offset. */
	if (n < 20 || !wg_parse_date(s, 10, &year, &month, &day) || (s[10] != 'T' && s[10] != ' ') ||
	    !two_digits(s + 11, &hh) || s[13] != ':' || !two_digits(s + 14, &mm) || s[16] != ':' ||
	    !two_digits(s + 17, &ss) || hh > 23 || mm > 59 || ss > 60 || !parse_offset(s + 19, n - 19, &off))
		return false;
	*out = wg_days_from_civil(year, month, day) * 86400 + hh * 3600 + mm * 60 + ss - off;
	return true;
}
