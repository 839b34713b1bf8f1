/* Checking a value against its field's declaration (type, range, length,
 * accepted values, canonical form); an import's reading thread makes the
 * same checks ahead (resource_ahead.c). */
#include "core/resource/resource_int.h"
#include "core/lib/err.h"
#include "core/lib/limits.h"
#include "core/lib/mem.h"
#include "core/lib/parse.h"
#include "core/lib/timefmt.h"

#include <stddef.h>
#include <stdio.h>
#include <string.h>

static size_t utf8_chars(const char *s)
{
	size_t n = 0;
	for (; *s; s++)
		n += ((unsigned char)*s & 0xC0) != 0x80;
	return n;
}

const struct wg_field *resource_field(const struct wg_resource *res, const char *name)
{
	for (size_t i = 0; i < res->nfields; i++)
		if (res->fields[i].name[0] == name[0] && strcmp(res->fields[i].name, name) == 0)
			return &res->fields[i];
	return NULL;
}

static const char *type_zh(enum wg_field_type t)
{
	switch (t) {
	case FT_INT: case FT_REF: return "整数";
	case FT_TIME: return "时间(2026-12-06T08:00:00+08:00、2026-12-06 08:00 或 Unix 秒)";
	case FT_BOOL: return "布尔值";
	case FT_DATE: return "日期(YYYY-MM-DD)";
	case FT_TAGS: return "文本的数组";
	default: return "字符串";
	}
}

static const char *type_en(enum wg_field_type t)
{
	switch (t) {
	case FT_INT: case FT_REF: return "an integer";
	case FT_TIME: return "a time (2026-12-06T08:00:00+08:00, 2026-12-06 08:00 or Unix seconds)";
	case FT_BOOL: return "a boolean";
	case FT_DATE: return "a date (YYYY-MM-DD)";
	case FT_TAGS: return "an array of texts";
	default: return "a string";
	}
}

static int validate_tags(wg_req *r, const struct wg_resource *res, const struct wg_field *f, json_t *v);

static int canonicalise(wg_req *r, const struct wg_field *f, json_t *body, const char *key, const char *s);

int resource_validate_value(wg_req *r, const struct wg_resource *res, const struct wg_field *f, json_t *body, const char *key,
			    json_t *v)
{
	const char *name = f->name;
	if (json_is_null(v)) {
		if (f->flags & FF_NULLABLE)
			return 0;
		return req_failf(r, WG_ERR_VALIDATION, name, "%s(%s)不能为空", "%s must not be null",
				 f->zh, name, name);
	}
	switch (f->type) {
	case FT_INT:
	case FT_REF: {
		if (!json_is_integer(v))
			break;
		json_int_t x = json_integer_value(v);
		int64_t lo = f->type == FT_REF ? 1 : f->min, hi = f->type == FT_REF ? INT64_MAX : f->max;
		if (x < lo || x > hi)
			return req_failf(r, WG_ERR_VALIDATION, name, "%s(%s)应在 %lld 到 %lld 之间",
					 "%s must be from %lld to %lld", f->zh, name, (long long)lo, (long long)hi,
					 name, (long long)lo, (long long)hi);
		return 0;
	}
	case FT_TIME: {
		int64_t t;
		const char *zh = NULL, *en = NULL;
		if (json_is_integer(v))
			t = json_integer_value(v);
		else if (!json_is_string(v))
			break;
		else if (!wg_time_parse(json_string_value(v), json_string_length(v), true, &t, &zh, &en))
			return req_failf(r, WG_ERR_VALIDATION, name, "%s(%s):%s", "%s: %s", f->zh, name, zh, name, en);
		if ((f->min && t < f->min) || (f->max && t > f->max)) {
			char lo[WG_TIME_HUMAN], hi[WG_TIME_HUMAN];
			wg_time_human(f->min, lo);
			wg_time_human(f->max, hi);
			return req_failf(r, WG_ERR_VALIDATION, name, "%s(%s)应在 %s 到 %s 之间", "%s must be from %s to %s",
					 f->zh, name, lo, hi, name, lo, hi);
		}
		/* The one stored form: seconds. */
		return json_is_integer(v) || !json_object_set_new(body, key, json_integer(t)) ? 0
			: req_fail(r, WG_ERR_NOMEM, NULL, NULL, NULL);
	}
	case FT_BOOL:
		if (json_is_boolean(v))
			return 0;
		break;
	case FT_TAGS:
		if (json_is_array(v))
			return validate_tags(r, res, f, v);
		break;
	case FT_TEXT:
	case FT_ENUM:
	case FT_DATE: {
		if (!json_is_string(v))
			break;
		const char *s = json_string_value(v);
		size_t chars = utf8_chars(s);
		if (f->type == FT_DATE) {
			int y, m, d;
			if (f->canon) {
				if (canonicalise(r, f, body, key, s))
					return r->fail.code;
				s = json_string_value(json_object_get(body, key));
			}
			if (!wg_parse_date(s, strlen(s), &y, &m, &d)) {
				uint32_t yy, mm, dd;
				/* A date the calendar does not have says so, not "format". */
				if (strlen(s) == 10 && s[4] == '-' && s[7] == '-' && wg_parse_u32(s, 4, &yy) && wg_parse_u32(s + 5, 2, &mm) &&
				    wg_parse_u32(s + 8, 2, &dd) && mm >= 1 && mm <= 12 && dd >= 1 && dd <= 31)
					return req_failf(r, WG_ERR_VALIDATION, name, "%s(%s):日期 %s 不存在(该月没有这一天)",
							 "%s: the date %s does not exist (the month has no such day)", f->zh, name, s, name, s);
				return req_failf(r, WG_ERR_VALIDATION, name, "%s(%s)不是有效日期:%s",
						 "%s is not a valid date (YYYY-MM-DD): %s", f->zh, name, s, name, s);
			}
			return 0;
		}
		if (f->type == FT_ENUM) {
			for (const char *const *e = f->values; *e; e++)
				if (strcmp(*e, s) == 0)
					return 0;
			/* The label people write ("男") is that value ("male"). */
			for (size_t k = 0; f->labels && f->values[k]; k++)
				if (strcmp(f->labels[k], s) == 0)
					return json_object_set_new(body, key, json_string(f->values[k])) ? req_fail(r, WG_ERR_NOMEM, NULL, NULL, NULL) : 0;
			/* A value the administrator added (字典管理), by its value or label. */
			char added[WG_DICT_VALUE_BYTES];
			int found = resource_dict_match(r, res, f, s, added, sizeof added);
			if (found < 0)
				return r->fail.code;
			if (found)
				return strcmp(added, s) == 0 || !json_object_set_new(body, key, json_string(added)) ? 0
					: req_fail(r, WG_ERR_NOMEM, NULL, NULL, NULL);
			wg_buf zh = WG_BUF_INIT(512), en = WG_BUF_INIT(512);
			for (size_t k = 0; f->values[k]; k++) {
				wg_buf_printf(&zh, "%s%s%s%s%s", k ? "、" : "", f->labels ? f->labels[k] : "",
					      f->labels ? "(" : "", f->values[k], f->labels ? ")" : "");
				wg_buf_printf(&en, "%s%s", k ? ", " : "", f->values[k]);
			}
			req_failf(r, WG_ERR_VALIDATION, name, "%s(%s)的取值“%s”无效,可选:%s",
				  "%s: '%s' is not an accepted value (one of: %s)", f->zh, name, s,
				  zh.data ? zh.data : "", name, s, en.data ? en.data : "");
			wg_buf_release(&zh);
			wg_buf_release(&en);
			return r->fail.code;
		}
		int64_t lo = f->min, hi = f->max ? f->max : WG_MAX_STRING_FIELD;
		if ((int64_t)chars < lo || (int64_t)chars > hi)
			return req_failf(r, WG_ERR_VALIDATION, name, "%s(%s)长度应为 %lld 到 %lld 个字符",
					 "%s must be %lld to %lld characters long", f->zh, name, (long long)lo, (long long)hi,
					 name, (long long)lo, (long long)hi);
		for (const unsigned char *p = (const unsigned char *)s; *p; p++)
			if (*p < 0x20 && *p != '\n' && *p != '\t')
				return req_failf(r, WG_ERR_VALIDATION, name, "%s(%s)含有控制字符",
						 "%s contains control characters", f->zh, name, name);
		return f->canon ? canonicalise(r, f, body, key, s) : 0;
	}
	}
	return req_failf(r, WG_ERR_VALIDATION, name, "%s(%s)应为%s", "%s must be %s",
			 f->zh, name, type_zh(f->type), name, type_en(f->type));
}

/* Whether v, as the value of f, passed resource_validate_value() on the
 * import's reading thread. The row's members are asked in their order,
 * mostly, so the search starts after the one found last. */
static bool checked_ahead(const wg_req *r, const struct wg_field *f, const json_t *v)
{
	const struct wg_row_ahead *a = import_ahead(r);
	size_t n = a ? a->nchecked : 0, i = a && r->import->ahead_next < n ? r->import->ahead_next : 0;
	for (size_t k = 0; k < n; k++, i = i + 1 == n ? 0 : i + 1)
		if (a->checked[i].field == f && a->checked[i].value == v) {
			r->import->ahead_next = i + 1;
			return true;
		}
	return false;
}

bool import_value_checked(const wg_req *r, const struct wg_resource *res, const char *field, const json_t *v)
{
	const struct wg_field *f = import_ahead(r) ? resource_field(res, field) : NULL;
	return f && checked_ahead(r, f, v);
}

int resource_validate_given(wg_req *r, const struct wg_resource *res, json_t *body)
{
	const char *key;
	json_t *v;
	json_object_foreach(body, key, v) {
		const struct wg_field *f = resource_field(res, key);
		if (!f || (f->flags & (FF_READONLY | FF_CREATE_ONLY)))
			continue;  /* whether it may be set at all is resource_validate's to say */
		if (!checked_ahead(r, f, v) && resource_validate_value(r, res, f, body, key, v))
			return r->fail.code;
	}
	return 0;
}

int resource_validate(wg_req *r, const struct wg_resource *res, json_t *body, bool create)
{
	const char *key;
	json_t *v;
	json_object_foreach(body, key, v) {
		const struct wg_field *f = resource_field(res, key);
		if (!f)
			return req_failf(r, WG_ERR_UNKNOWN_FIELD, key, "未知字段 %s", "unknown field %s", key, key);
		if (f->flags & FF_READONLY)
			return req_failf(r, WG_ERR_VALIDATION, key, "字段 %s 由系统维护,不能修改",
					 "field %s is maintained by the system and cannot be set", key, key);
		if (!create && (f->flags & FF_CREATE_ONLY))
			return req_failf(r, WG_ERR_VALIDATION, key, "字段 %s 创建后不能修改", "field %s cannot be changed after creation",
					 key, key);
		if (!checked_ahead(r, f, v) && resource_validate_value(r, res, f, body, key, v))
			return r->fail.code;
	}
	if (create) {
		for (size_t i = 0; i < res->nfields; i++) {
			const struct wg_field *f = &res->fields[i];
			if ((f->flags & FF_REQUIRED) && !json_object_get(body, f->name))
				return req_failf(r, WG_ERR_REQUIRED, f->name, "缺少必填字段 %s(%s)", "required field %s is missing",
						 f->name, f->zh, f->name);
		}
	}
	return 0;
}

static int validate_tags(wg_req *r, const struct wg_resource *res, const struct wg_field *f, json_t *v)
{
	size_t i, j;
	json_t *t, *u;
	if (json_array_size(v) > WG_MAX_TAGS)
		return req_failf(r, WG_ERR_VALIDATION, f->name, "%s(%s)最多 %d 项", "%s may hold at most %d entries",
				 f->zh, f->name, WG_MAX_TAGS, f->name, WG_MAX_TAGS);
	json_array_foreach(v, i, t) {
		const char *s = json_string_value(t);
		if (!s || !*s || json_string_length(t) > WG_MAX_TAG_BYTES || strchr(s, ','))
			return req_failf(r, WG_ERR_VALIDATION, f->name, "%s(%s)的每一项应为不含逗号的短文本",
					 "each entry of %s must be a short text without commas", f->zh, f->name, f->name);
		bool known = !f->values;
		for (const char *const *e = f->values; e && *e; e++)
			known |= strcmp(*e, s) == 0;
		char added[WG_DICT_VALUE_BYTES];
		int found = known ? 0 : resource_dict_match(r, res, f, s, added, sizeof added);
		if (found < 0)
			return r->fail.code;
		if (found && strcmp(added, s) != 0 && json_array_set_new(v, i, json_string(added)))
			return req_fail(r, WG_ERR_NOMEM, NULL, NULL, NULL);
		t = json_array_get(v, i);   /* the canonical entry, when it was replaced */
		s = json_string_value(t);
		if (!known && !found)
			return req_failf(r, WG_ERR_VALIDATION, f->name, "%s(%s)中的“%s”不是可选项",
					 "%s: '%s' is not an accepted value", f->zh, f->name, s, f->name, s);
		json_array_foreach(v, j, u)
			if (j < i && json_equal(t, u))
				return req_failf(r, WG_ERR_VALIDATION, f->name, "%s(%s)中的“%s”重复", "%s: '%s' is listed twice",
						 f->zh, f->name, s, f->name, s);
	}
	return 0;
}

static int canonicalise(wg_req *r, const struct wg_field *f, json_t *body, const char *key, const char *s)
{
	char out[512];
	const char *zh = NULL, *en = NULL;
	if (f->canon(s, strlen(s), out, sizeof out, &zh, &en) != 0)
		return req_failf(r, WG_ERR_VALIDATION, f->name, "%s(%s):%s", "%s: %s", f->zh, f->name,
				 zh ? zh : "格式无效", f->name, en ? en : "invalid");
	if (strcmp(out, s) != 0 && json_object_set_new(body, key, json_string(out)))
		return req_fail(r, WG_ERR_NOMEM, NULL, NULL, NULL);
	return 0;
}
