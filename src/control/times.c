/* Times as the control lists count them: Unix seconds, and local days
 * (days since 1970-01-01 in the server's zone, wangge.conf time_zone) for
 * "day N of the isolation" and the daily checks. Answered with the
 * platform's twins (core/lib/timefmt.h: "raised_at" beside
 * "raised_at_text"); typed as people type any time in wangge; a device's
 * signed event must name its offset. */
#include "control/control_int.h"
#include "core/lib/err.h"
#include "core/lib/json.h"
#include "core/lib/parse.h"
#include "core/lib/timefmt.h"

#include <stdio.h>
#include <string.h>


static int64_t floor_div(int64_t a, int64_t b)
{
	return a / b - ((a % b) != 0 && ((a < 0) != (b < 0)));
}

int64_t ctl_local_day(int64_t t) { return floor_div(t + wg_time_offset(t), 86400); }
int64_t ctl_day_start(int64_t day) { return day * 86400 - wg_time_offset(day * 86400); }

static void civil(int64_t days, int *y, int *m, int *d)
{
	int64_t z = days + 719468, era = (z >= 0 ? z : z - 146096) / 146097;
	int64_t doe = z - era * 146097, yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100), mp = (5 * doy + 2) / 153;
	*d = (int)(doy - (153 * mp + 2) / 5 + 1);
	*m = (int)(mp < 10 ? mp + 3 : mp - 9);
	*y = (int)(yoe + era * 400 + (*m <= 2));
}

void ctl_day_text(int64_t day, char out[WG_DATE_TEXT])
{
	int y, m, d;
	civil(day, &y, &m, &d);
	wg_format_date(out, y, m, d);
}

bool ctl_day_parse(const char *s, size_t n, int64_t *day)
{
	int y, m, d;
	if (!wg_parse_date(s, n, &y, &m, &d))
		return false;
	*day = wg_days_from_civil(y, m, d);
	return true;
}

int ctl_json_day(json_t *o, const char *key, int64_t day)
{
	char text[WG_DATE_TEXT];
	if (day < 0)
		return json_object_set_new(o, key, json_null()) ? WG_ERR_NOMEM : 0;
	ctl_day_text(day, text);
	return json_object_set_new(o, key, json_string(text)) ? WG_ERR_NOMEM : 0;
}

static bool digits(const char *s, size_t n, uint32_t *v)
{
	return wg_parse_u32(s, n, v);
}

/* "YYYY-MM-DDTHH:MM[:SS[.fff]](Z|±HH:MM|±HHMM)"; a space may stand for the T. */
bool ctl_time_parse(const char *s, size_t n, int64_t *t)
{
	int64_t whole;
	if (n > 0 && n <= 12 && wg_parse_i64(s, n, &whole)) {
		*t = whole;
		return whole >= 0;
	}
	uint32_t hh, mi, ss = 0, oh = 0, om = 0;
	int64_t day;
	if (n < 17 || !ctl_day_parse(s, 10, &day) || (s[10] != 'T' && s[10] != ' ') || s[13] != ':' ||
	    !digits(s + 11, 2, &hh) || !digits(s + 14, 2, &mi) || hh > 23 || mi > 59)
		return false;
	size_t i = 16;
	if (i < n && s[i] == ':') {
		if (i + 3 > n || !digits(s + i + 1, 2, &ss) || ss > 59)
			return false;
		i += 3;
		if (i < n && s[i] == '.') {
			size_t k = i + 1;
			while (k < n && s[k] >= '0' && s[k] <= '9' && k - i <= 9)
				k++;
			if (k == i + 1)
				return false;
			i = k;
		}
	}
	int sign = 0;
	if (i + 1 == n && s[i] == 'Z') {
		i++;
	} else if (i < n && (s[i] == '+' || s[i] == '-')) {
		sign = s[i] == '-' ? -1 : 1;
		if (i + 6 == n && s[i + 3] == ':' && digits(s + i + 1, 2, &oh) && digits(s + i + 4, 2, &om))
			i += 6;
		else if (i + 5 == n && digits(s + i + 1, 2, &oh) && digits(s + i + 3, 2, &om))
			i += 5;
		else
			return false;
		if (oh > 14 || om > 59)
			return false;
	} else {
		return false;  /* no offset: ambiguous */
	}
	if (i != n)
		return false;
	*t = day * 86400 + (int64_t)hh * 3600 + (int64_t)mi * 60 + ss - sign * ((int64_t)oh * 3600 + (int64_t)om * 60);
	return *t >= 0;
}

int ctl_body_time(wg_req *r, const char *field, int64_t def, int64_t *t)
{
	return req_body_time(r, field, def, 0, 4102444799, t);
}

int ctl_body_day(wg_req *r, const char *field, int64_t def, int64_t *day)
{
	json_t *v = json_object_get(r->body, field);
	if (!v || json_is_null(v)) {
		*day = def;
		return 0;
	}
	if (json_is_string(v) && ctl_day_parse(json_string_value(v), json_string_length(v), day))
		return 0;
	return req_failf(r, WG_ERR_VALIDATION, field, "%s 应为日期 YYYY-MM-DD", "%s must be a date YYYY-MM-DD", field, field);
}

int ctl_query_day(wg_req *r, const char *key, int64_t def, int64_t *day)
{
	const char *v = req_query(r, key);
	if (!v) {
		*day = def;
		return 0;
	}
	if (ctl_day_parse(v, strlen(v), day))
		return 0;
	return req_failf(r, WG_ERR_BAD_QUERY, key, "查询参数 %s 应为日期 YYYY-MM-DD", "query parameter %s must be a date YYYY-MM-DD",
			 key, key);
}

int ctl_body_text(wg_req *r, const char *field, size_t max, bool required, const char **out)
{
	json_t *v = json_object_get(r->body, field);
	*out = NULL;
	if (!v || json_is_null(v)) {
		if (required)
			return req_failf(r, WG_ERR_REQUIRED, field, "缺少必填字段 %s", "required field %s is missing", field, field);
		return 0;
	}
	const char *s = json_string_value(v);
	size_t chars = 0;
	for (const char *p = s; p && *p; p++) {
		chars += ((unsigned char)*p & 0xC0) != 0x80;
		if ((unsigned char)*p < 0x20 && *p != '\n' && *p != '\t')
			s = NULL;
	}
	if (!s || (chars == 0 && required) || chars > max)
		return req_failf(r, WG_ERR_VALIDATION, field, "%s 应为 1 到 %zu 个字符的文字(不含控制字符)",
				 "%s must be text of 1 to %zu characters without control characters", field, max, field, max);
	*out = chars ? s : NULL;
	return 0;
}
