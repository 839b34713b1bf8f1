/* 字典管理:
 *   GET    /api/v1/dictionaries               every value list the resources
 *                                             accept, declared and added (any
 *                                             signed-in account: pages pick from them)
 *   POST   /api/v1/dictionaries/entries       {resource, field, value, label?,
 *                                             label_en?, sort?}: a value added to a
 *                                             list declared extensible (SYSTEM)
 *   PATCH  /api/v1/dictionaries/entries/{id}  {label, label_en, sort, enabled,
 *                                             version}: the value itself never
 *                                             changes, records hold it
 *   DELETE /api/v1/dictionaries/entries/{id}  only while no record holds it
 *                                             (409 with the count: disable it instead)
 * Every change is audited (resource "dict_entries"). */
#include "core/api/api.h"
#include "core/audit/audit.h"
#include "core/auth/rbac.h"
#include "core/lib/err.h"
#include "core/lib/limits.h"
#include "core/resource/resource.h"

#include <stdio.h>
#include <string.h>

#define LABEL_BYTES 96        /* 32 Chinese characters */
#define SORT_MAX    9999

static int dictionaries(wg_req *r)
{
	json_t *items = resource_dictionaries(r);
	if (!items)
		return r->fail.code;
	return req_reply(r, 200, json_pack("{s:o, s:I}", "items", items, "total", (json_int_t)json_array_size(items)));
}

/* A short text a person typed: present, no commas or control characters,
 * no spaces around it. NULL after a 422 naming key. */
static const char *short_text(wg_req *r, const char *key, size_t max, bool required)
{
	json_t *v = json_object_get(r->body, key);
	if (!v || json_is_null(v)) {
		if (required)
			req_failf(r, WG_ERR_REQUIRED, key, "请填写 %s", "%s is required", key, key);
		return NULL;
	}
	const char *s = json_string_value(v);
	size_t n = s ? strlen(s) : 0;
	bool ok = s && n > 0 && n <= max && !strchr(s, ',') && s[0] != ' ' && s[n - 1] != ' ';
	for (size_t i = 0; ok && i < n; i++)
		ok = (unsigned char)s[i] >= 0x20;
	if (!ok)
		req_failf(r, WG_ERR_VALIDATION, key, "%s 应为不超过 %zu 字节、不含逗号和首尾空格的文字",
			  "%s must be a text of at most %zu bytes, without commas or spaces around it", key, max, key, max);
	return ok ? s : NULL;
}

static const struct wg_field *extensible_field(wg_req *r, const struct wg_resource **res)
{
	const char *rn = json_string_value(json_object_get(r->body, "resource"));
	const char *fn = json_string_value(json_object_get(r->body, "field"));
	if (!rn || !(*res = resource_named(rn)))
		return req_failf(r, WG_ERR_VALIDATION, "resource", "没有名为 %s 的资源", "there is no resource named %s",
				 rn ? rn : "", rn ? rn : ""), NULL;
	const struct wg_field *f = fn ? resource_field(*res, fn) : NULL;
	if (!f || !(f->flags & FF_EXTENSIBLE) || (f->type != FT_ENUM && f->type != FT_TAGS))
		return req_failf(r, WG_ERR_VALIDATION, "field", "%s 的字段 %s 不是可增加取值的字典",
				 "field %s of %s is not a value list that takes new values", rn, fn ? fn : "", fn ? fn : "", rn), NULL;
	return f;
}

/* 409 when text is already a value or label of the list (declared or added; not entry `self`). */
static int refuse_taken(wg_req *r, const struct wg_resource *res, const struct wg_field *f, const char *key,
			const char *text, int64_t self)
{
	for (size_t i = 0; f->values[i]; i++)
		if (strcmp(f->values[i], text) == 0 || (f->labels && strcmp(f->labels[i], text) == 0))
			return req_failf(r, WG_ERR_CONFLICT, key, "“%s”已是%s的内置取值", "'%s' is already a built-in value of %s",
					 text, f->zh, text, f->name);
	int64_t n = 0;
	wg_param p[] = { WG_PTEXT(res->name), WG_PTEXT(f->name), WG_PTEXT(text), WG_PTEXT(text), WG_PINT(self) };
	int rc = store_int(r->db, "SELECT COUNT(*) FROM dict_entries WHERE resource = ? AND field = ? AND (value = ? OR label = ?)"
				  " AND id <> ?", p, 5, &n);
	if (rc)
		return req_fail(r, rc, NULL, NULL, NULL);
	if (n)
		return req_failf(r, WG_ERR_CONFLICT, key, "“%s”已是%s的取值或名称", "'%s' is already a value or label of %s",
				 text, f->zh, text, f->name);
	return 0;
}

static int body_sort(wg_req *r, int64_t def, int64_t *out)
{
	json_t *v = json_object_get(r->body, "sort");
	*out = def;
	if (!v)
		return 0;
	if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > SORT_MAX)
		return req_failf(r, WG_ERR_VALIDATION, "sort", "sort 应为 0 到 %d 的整数", "sort must be an integer from 0 to %d",
				 SORT_MAX, SORT_MAX);
	*out = json_integer_value(v);
	return 0;
}

/* The entry as the API shows it, read back in this transaction. */
static int reply_entry(wg_req *r, int status, int64_t id)
{
	wg_param p[] = { WG_PINT(id) };
	wg_stmt *s;
	int rc = store_query(r->db, "SELECT id, resource, field, value, label, label_en, sort, enabled, version FROM dict_entries"
				    " WHERE id = ?", p, 1, &s);
	if (rc)
		return req_fail(r, rc, NULL, NULL, NULL);
	json_t *e = NULL;
	if ((rc = stmt_next(s)) == 1) {
		e = json_pack("{s:I, s:s, s:s, s:s, s:s, s:s?, s:I, s:b, s:I}", "id", (json_int_t)stmt_int(s, 0),
			      "resource", stmt_text(s, 1), "field", stmt_text(s, 2), "value", stmt_text(s, 3), "label",
			      stmt_text(s, 4), "label_en", stmt_is_null(s, 5) ? NULL : stmt_text(s, 5),
			      "sort", (json_int_t)stmt_int(s, 6), "enabled", stmt_int(s, 7) != 0, "version", (json_int_t)stmt_int(s, 8));
	}
	stmt_done(s);
	if (rc == 0)
		return req_fail(r, WG_ERR_NOT_FOUND, NULL, "字典取值不存在", "no such dictionary value");
	if (rc < 0 || !e)
		return req_fail(r, rc < 0 ? -rc : WG_ERR_NOMEM, NULL, NULL, NULL);
	return req_reply(r, status, e);
}

static int entry_create(wg_req *r)
{
	static const char *const allowed[] = { "resource", "field", "value", "label", "label_en", "sort", NULL };
	const struct wg_resource *res = NULL;
	const struct wg_field *f;
	if (req_check_body(r, allowed) || !(f = extensible_field(r, &res)))
		return r->fail.code;
	size_t max = f->type == FT_TAGS ? WG_MAX_TAG_BYTES : WG_DICT_VALUE_BYTES - 1;
	const char *value = short_text(r, "value", max, true);
	if (!value)
		return r->fail.code;
	const char *label = short_text(r, "label", LABEL_BYTES, false);
	if (!label && r->fail.code)
		return r->fail.code;
	const char *label_en = short_text(r, "label_en", LABEL_BYTES, false);
	if (f->type == FT_TAGS && label && strcmp(label, value) != 0)
		return req_fail(r, WG_ERR_VALIDATION, "label", "标签的名称就是它本身(记录中存的、页面上显示的都是这个词),不能另起名称",
				"a tag is its own name (records store and pages show the word itself): no separate label");
	int64_t sort, id;
	if ((!label_en && r->fail.code) || body_sort(r, 0, &sort) || refuse_taken(r, res, f, "value", value, 0) ||
	    (label && strcmp(label, value) != 0 && refuse_taken(r, res, f, "label", label, 0)))
		return r->fail.code;
	wg_param p[] = { WG_PTEXT(res->name), WG_PTEXT(f->name), WG_PTEXT(value), WG_PTEXT(label ? label : value),
			 label_en ? WG_PTEXT(label_en) : WG_PNULL, WG_PINT(sort), WG_PINT(r->now), WG_PINT(r->now) };
	int rc = store_insert(r->db, "INSERT INTO dict_entries (resource, field, value, label, label_en, sort, created_at,"
					" updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)", p, 8, &id);
	if (!rc)
		rc = audit_req(r, "create", "dict_entries", id, "", r->body);
	return rc ? req_fail(r, rc, NULL, NULL, NULL) : reply_entry(r, 201, id);
}

/* The entry's list and current state, for a change to it. */
struct entry {
	const struct wg_resource *res;
	const struct wg_field *f;
	char value[WG_DICT_VALUE_BYTES];
	int64_t version;
};

static int entry_load(wg_req *r, struct entry *e)
{
	wg_param p[] = { WG_PINT(r->id) };
	wg_stmt *s;
	int rc = store_query(r->db, "SELECT resource, field, value, version FROM dict_entries WHERE id = ?", p, 1, &s);
	if (rc)
		return req_fail(r, rc, NULL, NULL, NULL);
	if ((rc = stmt_next(s)) == 1) {
		e->res = resource_named(stmt_text(s, 0));
		e->f = e->res ? resource_field(e->res, stmt_text(s, 1)) : NULL;
		snprintf(e->value, sizeof e->value, "%s", stmt_text(s, 2));
		e->version = stmt_int(s, 3);
	}
	stmt_done(s);
	if (rc < 0)
		return req_fail(r, -rc, NULL, NULL, NULL);
	/* An entry of a list no module declares any more is left as it is. */
	if (rc == 0 || !e->f)
		return req_fail(r, WG_ERR_NOT_FOUND, NULL, "字典取值不存在", "no such dictionary value");
	return 0;
}

static int entry_update(wg_req *r)
{
	static const char *const allowed[] = { "label", "label_en", "sort", "enabled", "version", NULL };
	struct entry e;
	if (req_check_body(r, allowed) || entry_load(r, &e))
		return r->fail.code;
	json_t *jv = json_object_get(r->body, "version"), *jen = json_object_get(r->body, "enabled");
	if (jv && (!json_is_integer(jv) || json_integer_value(jv) != e.version))
		return req_fail(r, WG_ERR_PRECONDITION, "version", NULL, NULL);
	if (jen && !json_is_boolean(jen))
		return req_fail(r, WG_ERR_VALIDATION, "enabled", "enabled 应为 true 或 false", "enabled must be true or false");
	const char *label = short_text(r, "label", LABEL_BYTES, false);
	if (!label && r->fail.code)
		return r->fail.code;
	const char *label_en = short_text(r, "label_en", LABEL_BYTES, false);
	if (!label_en && r->fail.code)
		return r->fail.code;
	if (e.f->type == FT_TAGS && label && strcmp(label, e.value) != 0)
		return req_fail(r, WG_ERR_VALIDATION, "label", "标签的名称就是它本身,不能改名;可停用后另加一个",
				"a tag is its own name and cannot be renamed; disable it and add another");
	int64_t sort;
	if (body_sort(r, -1, &sort) || (label && strcmp(label, e.value) != 0 && refuse_taken(r, e.res, e.f, "label", label, r->id)))
		return r->fail.code;
	bool clear_en = json_is_null(json_object_get(r->body, "label_en"));
	wg_param p[] = { label ? WG_PTEXT(label) : WG_PNULL, WG_PINT(label_en || clear_en), label_en ? WG_PTEXT(label_en) : WG_PNULL,
			 WG_PINT(sort), WG_PINT(sort), WG_PINT(jen ? 1 : 0), WG_PINT(json_is_true(jen)), WG_PINT(r->now), WG_PINT(r->id) };
	int rc = store_run(r->db, "UPDATE dict_entries SET label = COALESCE(?, label),"
				  " label_en = CASE WHEN ? = 1 THEN ? ELSE label_en END,"
				  " sort = CASE WHEN ? >= 0 THEN ? ELSE sort END,"
				  " enabled = CASE WHEN ? = 1 THEN ? ELSE enabled END,"
				  " version = version + 1, updated_at = ? WHERE id = ?", p, 9);
	if (!rc)
		rc = audit_req(r, "update", "dict_entries", r->id, "", r->body);
	return rc ? req_fail(r, rc, NULL, NULL, NULL) : reply_entry(r, 200, r->id);
}

static int entry_delete(wg_req *r)
{
	struct entry e;
	int64_t uses = 0;
	if (entry_load(r, &e))
		return r->fail.code;
	int rc = resource_dict_uses(r, e.res, e.f, e.value, &uses);
	if (rc)
		return req_fail(r, rc, NULL, NULL, NULL);
	if (uses)
		return req_failf(r, WG_ERR_CONFLICT, "value", "有 %lld 条记录使用“%s”,不能删除;可改为停用",
				 "%lld records hold '%s': it cannot be deleted; disable it instead", (long long)uses, e.value,
				 (long long)uses, e.value);
	json_t *change = json_pack("{s:s, s:s, s:s}", "resource", e.res->name, "field", e.f->name, "value", e.value);
	wg_param p[] = { WG_PINT(r->id) };
	rc = change ? store_run(r->db, "DELETE FROM dict_entries WHERE id = ?", p, 1) : WG_ERR_NOMEM;
	if (!rc)
		rc = audit_req(r, "delete", "dict_entries", r->id, "", change);
	json_decref(change);
	return rc ? req_fail(r, rc, NULL, NULL, NULL) : req_reply(r, 204, NULL);
}

static const struct wg_route dict_routes[] = {
	{ "GET",    "/api/v1/dictionaries",              dictionaries, NULL,          0, NULL },
	{ "POST",   "/api/v1/dictionaries/entries",      entry_create, &right_SYSTEM, ROUTE_WRITE | ROUTE_JSON, NULL },
	{ "PATCH",  "/api/v1/dictionaries/entries/{id}", entry_update, &right_SYSTEM, ROUTE_WRITE | ROUTE_JSON, NULL },
	{ "DELETE", "/api/v1/dictionaries/entries/{id}", entry_delete, &right_SYSTEM, ROUTE_WRITE, NULL },
};

const struct wg_module dict_api = {
	.name = "dictionaries", .zh = "字典管理", .en = "dictionaries",
	.routes = dict_routes, .nroutes = WG_COUNT(dict_routes),
};
