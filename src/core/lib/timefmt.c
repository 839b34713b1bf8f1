#include "core/lib/timefmt.h"
#include "core/lib/parse.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

static char zone[64] = "Asia/Shanghai";
/* The offset of the last day asked for: (day << 20) | (offset + 2^19); 0 = none. */
static _Atomic uint64_t day_offset;

/* The rule TZ is set to for a zone name, NULL when the zone is unknown.
 * Without the zone file (no tzdata), glibc would silently use UTC: China's
 * zone has had no daylight saving since 1991, so its POSIX rule stands in. */
static const char *zone_rule(const char *name)
{
	char path[160];
	struct stat sb;
	if (strstr(name, ".."))
		return NULL;
	snprintf(path, sizeof path, "/usr/share/zoneinfo/%s", name);
	if (stat(path, &sb) == 0 && S_ISREG(sb.st_mode))
		return name;
	return strcmp(name, "Asia/Shanghai") == 0 || strcmp(name, "PRC") == 0 ? "CST-8" : NULL;
}

bool wg_time_zone_known(const char *name)
{
	return zone_rule(name) != NULL;
}

bool wg_time_zone_set(const char *name)
{
	const char *rule = zone_rule(name);
	if (!rule)
		return false;
	if (setenv("TZ", rule, 1) != 0)
		return false;
	tzset();
	snprintf(zone, sizeof zone, "%s", name);
	atomic_store(&day_offset, 0);
	return true;
}

const char *wg_time_zone(void)
{
	return zone;
}

int32_t wg_time_offset(int64_t t)
{
	uint64_t day = (uint64_t)(t / 86400 + 1000000), cached = atomic_load(&day_offset);
	if (cached && cached >> 20 == day)
		return (int32_t)(cached & 0xFFFFF) - (1 << 19);
	time_t tt = (time_t)t;
	struct tm tm;
	int32_t off = localtime_r(&tt, &tm) ? (int32_t)tm.tm_gmtoff : 0;
	/* A zone changes its offset at most at a few moments a year; within the
	 * day of a change the first answer is kept, which only a time of that
	 * day near the change could tell. */
	atomic_store(&day_offset, day << 20 | (uint64_t)(off + (1 << 19)));
	return off;
}

static void civil(int64_t t, int *y, int *mo, int *d, int *h, int *mi, int *s)
{
	int64_t days = t / 86400, rem = t % 86400;
	if (rem < 0) {
		rem += 86400;
		days--;
	}
	wg_civil_from_days(days, y, mo, d);
	*h = (int)(rem / 3600);
	*mi = (int)(rem % 3600 / 60);
	*s = (int)(rem % 60);
}

static char *two_digits(char *p, int v)
{
	p[0] = (char)('0' + v / 10 % 10);
	p[1] = (char)('0' + v % 10);
	return p + 2;
}

/* Written digit by digit: every answer with a time carries its twin, and
 * a scan's answer two, so this runs tens of thousands of times a second. */
void wg_time_iso(int64_t t, char out[WG_TIME_ISO])
{
	int32_t off = wg_time_offset(t);
	int y, mo, d, h, mi, s;
	civil(t + off, &y, &mo, &d, &h, &mi, &s);
	int ao = off < 0 ? -off : off;
	y = (y % 10000 + 10000) % 10000;
	char *p = two_digits(out, y / 100);
	p = two_digits(p, y % 100);
	*p++ = '-';
	p = two_digits(p, mo);
	*p++ = '-';
	p = two_digits(p, d);
	*p++ = 'T';
	p = two_digits(p, h);
	*p++ = ':';
	p = two_digits(p, mi);
	*p++ = ':';
	p = two_digits(p, s);
	*p++ = off < 0 ? '-' : '+';
	p = two_digits(p, ao / 3600 % 100);
	*p++ = ':';
	p = two_digits(p, ao % 3600 / 60);
	*p = '\0';
}

void wg_time_human(int64_t t, char out[WG_TIME_HUMAN])
{
	int y, mo, d, h, mi, s;
	char buf[64];
	civil(t + wg_time_offset(t), &y, &mo, &d, &h, &mi, &s);
	snprintf(buf, sizeof buf, "%04d-%02d-%02d %02d:%02d", (y % 10000 + 10000) % 10000, mo % 100, d % 100, h % 100, mi % 100);
	memcpy(out, buf, WG_TIME_HUMAN - 1);
	out[WG_TIME_HUMAN - 1] = '\0';
}

void wg_time_twin(const char *name, char out[WG_TIME_TWIN])
{
	size_t n = strlen(name);
	bool ends_at = strcmp(name, "at") == 0 || (n > 3 && strcmp(name + n - 3, "_at") == 0);
	snprintf(out, WG_TIME_TWIN, "%s%s", name, ends_at ? "_text" : "_at");
}

static bool digits(const char *s, size_t n, int *out)
{
	int v = 0;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		v = v * 10 + (s[i] - '0');
	}
	*out = v;
	return n > 0;
}

static bool fail(const char **zh, const char **en, const char *z, const char *e)
{
	*zh = z;
	*en = e;
	return false;
}

bool wg_time_parse(const char *s, size_t n, bool date_ok, int64_t *out, const char **zh, const char **en)
{
	int64_t secs;
	if (n > 0 && n <= 12 && wg_parse_i64(s, n, &secs)) {
		*out = secs;
		return true;
	}
	int y, mo, d, h = 0, mi = 0, sec = 0;
	if (n < 10 || s[4] != '-' || s[7] != '-' || !digits(s, 4, &y) || !digits(s + 5, 2, &mo) || !digits(s + 8, 2, &d))
		return fail(zh, en, "时间格式应为 2026-12-06T08:00:00+08:00、2026-12-06 08:00 或 Unix 秒",
			    "a time is 2026-12-06T08:00:00+08:00, 2026-12-06 08:00 or Unix seconds");
	if (mo < 1 || mo > 12 || d < 1 || d > wg_days_in_month(y, mo))
		return fail(zh, en, "日期不存在(该月没有这一天)", "the date does not exist (the month has no such day)");
	size_t i = 10;
	if (i == n) {
		if (!date_ok)
			return fail(zh, en, "这里需要日期和时间,不只是日期", "a date and a time are needed here, not a date alone");
	} else {
		if ((s[i] != 'T' && s[i] != ' ') || n < i + 6 || !digits(s + i + 1, 2, &h) || s[i + 3] != ':' ||
		    !digits(s + i + 4, 2, &mi))
			return fail(zh, en, "时间格式应为 2026-12-06T08:00:00+08:00、2026-12-06 08:00 或 Unix 秒",
				    "a time is 2026-12-06T08:00:00+08:00, 2026-12-06 08:00 or Unix seconds");
		i += 6;
		if (i < n && s[i] == ':') {
			if (n < i + 3 || !digits(s + i + 1, 2, &sec))
				return fail(zh, en, "秒应为两位数字", "seconds are two digits");
			i += 3;
			if (i < n && (s[i] == '.' || s[i] == ',')) {   /* fractions of a second: dropped */
				size_t j = i + 1;
				while (j < n && s[j] >= '0' && s[j] <= '9')
					j++;
				if (j == i + 1)
					return fail(zh, en, "小数秒格式无效", "malformed fraction of a second");
				i = j;
			}
		}
		if (h > 23 || mi > 59 || sec > 59)
			return fail(zh, en, "时刻不存在(时 0–23,分、秒 0–59)", "no such time of day (hours 0–23, minutes and seconds 0–59)");
	}
	int64_t local = wg_days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec;
	if (i == n) {
		/* Local time: the offset of that moment (known only approximately
		 * before it is known; a second look settles it). */
		int32_t off = wg_time_offset(local);
		off = wg_time_offset(local - off);
		*out = local - off;
		return true;
	}
	int oh, om, sign = 1;
	if (s[i] == 'Z' && i + 1 == n) {
		*out = local;
		return true;
	}
	if ((s[i] != '+' && s[i] != '-') || !(n == i + 6 || n == i + 5) || !digits(s + i + 1, 2, &oh))
		return fail(zh, en, "时区应为 Z、+08:00 或 +0800", "the offset is Z, +08:00 or +0800");
	sign = s[i] == '-' ? -1 : 1;
	if (!(n == i + 6 ? s[i + 3] == ':' && digits(s + i + 4, 2, &om) : digits(s + i + 3, 2, &om)) || oh > 14 || om > 59)
		return fail(zh, en, "时区应为 Z、+08:00 或 +0800", "the offset is Z, +08:00 or +0800");
	*out = local - sign * (oh * 3600 + om * 60);
	return true;
}
