/* 参数设置, for the administrator (SYSTEM):
 *   GET /api/v1/parameters  every parameter the page shows: the value the
 *                           server runs with, what wangge.conf says, what
 *                           the page set (kept in the store), whether a
 *                           change takes effect now or at the next start;
 *                           then each module's own settings (how long scans
 *                           are kept), which the program sets
 *   PUT /api/v1/parameters  {key, value, current_password}: sets one (value
 *                           null takes it back to wangge.conf); audited
 *                           with the old and new value
 * Secrets (the database URL, the metrics token) are never listed. */
#include "core/api/api.h"
#include "core/app/app.h"
#include "core/app/params.h"
#include "core/audit/audit.h"
#include "core/auth/rbac.h"
#include "core/lib/err.h"
#include "core/lib/json.h"

#include <stdio.h>
#include <string.h>

/* "30 分钟 / 30 min": a duration as a person reads it. */
static json_t *duration_text(int64_t seconds)
{
	static const struct { int64_t size; const char *zh, *en; } units[] = {
		{ 86400, "天", "d" }, { 3600, "小时", "h" }, { 60, "分钟", "min" }, { 1, "秒", "s" },
	};
	for (size_t i = 0; i < WG_COUNT(units); i++)
		if (seconds >= units[i].size && seconds % units[i].size == 0) {
			long long n = (long long)(seconds / units[i].size);
			char text[64];
			snprintf(text, sizeof text, "%lld %s / %lld %s", n, units[i].zh, n, units[i].en);
			return json_string(text);
		}
	return json_string("0");
}

static json_t *value_text(enum param_unit unit, const json_t *value)
{
	if (unit == PARAM_SECONDS)
		return duration_text(json_integer_value(value));
	if (unit == PARAM_DAYS)
		return duration_text(json_integer_value(value) * 86400);
	return json_null();
}

static enum param_unit unit_named(const char *name)
{
	for (int u = PARAM_UNIT_NONE; u <= PARAM_PER_MINUTE; u++)
		if (name && strcmp(params_unit_name((enum param_unit)u), name) == 0)
			return (enum param_unit)u;
	return PARAM_UNIT_NONE;
}

/* One parameter's answer; takes value (NULL: out of memory). */
static json_t *item_json(const char *key, const char *group, const char *zh, const char *en, enum param_unit unit,
			 json_t *value, const char *source)
{
	json_t *text = value ? value_text(unit, value) : NULL;
	if (!text) {
		json_decref(value);
		return NULL;
	}
	/* "o" takes both references, whether the packing succeeds or not. */
	return json_pack("{s:s, s:s, s:o, s:o, s:s, s:s, s:s, s:s}", "key", key, "group", group, "value", value,
			 "value_text", text, "unit", params_unit_name(unit), "zh", zh, "en", en, "source", source);
}

/* What the page set for a parameter, read before the answer is built. */
struct stored {
	json_t *value;              /* the stored text as the API shows it */
	int64_t updated_at;
	char updated_by[96];
};

static json_t *stored_value(const struct wg_param_spec *p, const char *text)
{
	if (p->text_size)
		return json_string(text);
	long long v = 0;
	return sscanf(text, "%lld", &v) == 1 ? json_integer(v) : json_string(text);
}

static int stored_read(wg_req *r, struct stored *out, size_t n)
{
	wg_stmt *s;
	int rc = store_query(r->db, "SELECT p.key, p.value, p.updated_at, COALESCE(u.username, '') FROM parameter_values p"
				    " LEFT JOIN users u ON u.id = p.updated_by", NULL, 0, &s);
	if (rc)
		return rc;
	while ((rc = stmt_next(s)) == 1) {
		const struct wg_param_spec *p = params_named(stmt_text(s, 0));
		size_t i = p ? (size_t)(p - params_at(0)) : n;
		if (i >= n || !p->editable)
			continue;
		out[i].value = stored_value(p, stmt_text(s, 1));
		out[i].updated_at = stmt_int(s, 2);
		snprintf(out[i].updated_by, sizeof out[i].updated_by, "%s", stmt_text(s, 3));
	}
	stmt_done(s);
	return rc < 0 ? -rc : 0;
}

/* Adds what the page needs to change a parameter: whether it may, when it
 * applies, the range, wangge.conf's value and the page's. */
static int add_setting(json_t *item, const struct wg_app *app, const struct wg_param_spec *p, const struct stored *st)
{
	json_t *running = json_object_get(item, "value");
	bool pending = st->value && !json_equal(st->value, running);
	int rc = json_object_set_new(item, "editable", json_boolean(p->editable)) ||
		 json_object_set_new(item, "applies", json_string(p->live ? "now" : "restart")) ||
		 json_object_set_new(item, "file_value", params_value_json(&app->file_config, p)) ||
		 json_object_set_new(item, "stored", st->value ? json_incref(st->value) : json_null()) ||
		 json_object_set_new(item, "pending", json_boolean(pending));
	if (!rc && params_running_from_page(p))
		rc = json_object_set_new(item, "source", json_string("page"));
	if (!rc && st->value) {
		rc = json_set_time(item, "updated_at", st->updated_at) ||
		     json_object_set_new(item, "updated_by", json_string(st->updated_by));
	}
	int64_t lo, hi;
	if (!rc && !p->text_size && p->editable && config_int_bounds(p->key, &lo, &hi))
		rc = json_object_set_new(item, "min", json_integer(lo)) || json_object_set_new(item, "max", json_integer(hi));
	return rc ? WG_ERR_NOMEM : 0;
}

static json_t *parameter_json(const struct wg_app *app, const struct wg_param_spec *p, const struct stored *st)
{
	json_t *item = item_json(p->key, p->group, p->zh, p->en, p->unit, params_value_json(&app->config, p), "wangge.conf");
	if (item && add_setting(item, app, p, st)) {
		json_decref(item);
		return NULL;
	}
	return item;
}

/* A module's own setting: what the program runs with, not a line of wangge.conf. */
static json_t *module_parameter_json(const struct wg_module *m, const struct wg_parameter *p)
{
	json_t *item = item_json(p->key, p->group, p->zh, p->en, unit_named(p->unit), json_integer(p->value()), m->name);
	if (item && (json_object_set_new(item, "editable", json_false()) || json_object_set_new(item, "applies", json_string("program")))) {
		json_decref(item);
		return NULL;
	}
	return item;
}

static int append(json_t *items, json_t *item)
{
	return !item || json_array_append_new(items, item) ? -1 : 0;
}

static void stored_free(struct stored *st, size_t n)
{
	for (size_t i = 0; i < n; i++)
		json_decref(st[i].value);
}

static int parameters_list(wg_req *r)
{
	struct stored st[32] = { { 0 } };
	size_t n = params_count();
	if (n > WG_COUNT(st))
		return req_fail(r, WG_ERR_INTERNAL, NULL, NULL, NULL);
	int rc = stored_read(r, st, n);
	json_t *items = rc ? NULL : json_array();
	rc = rc ? rc : items ? 0 : WG_ERR_NOMEM;
	for (size_t i = 0; !rc && i < n; i++)
		rc = append(items, parameter_json(r->app, params_at(i), &st[i])) ? WG_ERR_NOMEM : 0;
	for (size_t i = 0; !rc && wg_modules[i]; i++)
		for (size_t k = 0; !rc && k < wg_modules[i]->nparameters; k++)
			rc = append(items, module_parameter_json(wg_modules[i], &wg_modules[i]->parameters[k])) ? WG_ERR_NOMEM : 0;
	stored_free(st, n);
	if (rc) {
		json_decref(items);
		return req_fail(r, rc, NULL, NULL, NULL);
	}
	return req_reply(r, 200, json_pack("{s:o, s:I, s:s}", "items", items, "total", (json_int_t)json_array_size(items),
					   "note", "在此修改的参数优先于 wangge.conf;标为“重启后生效”的参数在服务重启后生效 / "
						   "a value set here wins over wangge.conf; those marked 'restart' take effect "
						   "when the server starts again"));
}

/* totp_roles names roles that exist. */
static int check_roles(wg_req *r, const char *text)
{
	char copy[WG_PARAM_TEXT];
	snprintf(copy, sizeof copy, "%s", text);
	for (char *save = NULL, *w = strtok_r(copy, " ", &save); w; w = strtok_r(NULL, " ", &save))
		if (!rbac_role(w))
			return req_failf(r, WG_ERR_VALIDATION, "value", "没有名为 %s 的角色", "there is no role named %s", w, w);
	return 0;
}

static int write_stored(wg_req *r, const struct wg_param_spec *p, const char *text)
{
	if (!text) {
		wg_param k[] = { WG_PTEXT(p->key) };
		return store_run(r->db, "DELETE FROM parameter_values WHERE key = ?", k, 1);
	}
	wg_param q[] = { WG_PTEXT(p->key), WG_PTEXT(text), WG_PINT(r->now), WG_PINT(r->user->id) };
	return store_run(r->db, "INSERT INTO parameter_values (key, value, updated_at, updated_by) VALUES (?, ?, ?, ?)"
				" ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at,"
				" updated_by = excluded.updated_by", q, 4);
}

static int parameter_set(wg_req *r)
{
	static const char *const allowed[] = { "key", "value", "current_password", NULL };
	if (req_check_body(r, allowed))
		return r->fail.code;
	const char *key = json_string_value(json_object_get(r->body, "key"));
	const struct wg_param_spec *p = params_named(key);
	json_t *v = json_object_get(r->body, "value");
	if (!key)
		return req_fail(r, WG_ERR_REQUIRED, "key", "请指明要修改的参数(key)", "key names the parameter to set");
	if (!p)
		return req_failf(r, WG_ERR_VALIDATION, "key", "没有名为 %s 的参数", "there is no parameter named %s", key, key);
	if (!p->editable)
		return req_failf(r, WG_ERR_VALIDATION, "key", "参数 %s 只能在 wangge.conf 中修改", "%s is set in wangge.conf only", key, key);
	if (!v)
		return req_fail(r, WG_ERR_REQUIRED, "value", "请填写参数值(null 表示恢复为 wangge.conf 的值)",
				"value is required (null takes the parameter back to wangge.conf)");
	char text[WG_PARAM_TEXT], zh[160], en[160];
	if (!json_is_null(v) && !params_check(p, v, text, zh, en, sizeof zh))
		return req_failf(r, WG_ERR_VALIDATION, "value", "%s(%s)%s", "%s %s", p->zh, key, zh, key, en);
	if (!json_is_null(v) && strcmp(key, "totp_roles") == 0 && check_roles(r, text))
		return r->fail.code;
	int rc = api_confirm_password(r, "current_password");
	if (rc)
		return rc;
	json_t *change = json_pack("{s:s, s:o, s:O}", "key", key, "from", params_value_json(&r->app->config, p), "to", v);
	rc = change ? write_stored(r, p, json_is_null(v) ? NULL : text) : WG_ERR_NOMEM;
	if (!rc)
		rc = audit_req(r, "update", "parameters", 0, "", change);
	json_decref(change);
	if (rc)
		return req_fail(r, rc, NULL, NULL, NULL);
	/* Live at once. Should the commit still fail, the next sign-in's
	 * params_load puts back what the store holds. */
	params_apply_live(r->app, p, json_is_null(v) ? NULL : text);
	struct stored st = { .value = json_is_null(v) ? NULL : stored_value(p, text), .updated_at = r->now };
	snprintf(st.updated_by, sizeof st.updated_by, "%s", r->user->username);
	json_t *item = parameter_json(r->app, p, &st);
	json_decref(st.value);
	return item ? req_reply(r, 200, item) : req_fail(r, WG_ERR_NOMEM, NULL, NULL, NULL);
}

static const struct wg_route settings_routes[] = {
	{ "GET", "/api/v1/parameters", parameters_list, &right_SYSTEM, 0, NULL },
	{ "PUT", "/api/v1/parameters", parameter_set,   &right_SYSTEM, ROUTE_WRITE | ROUTE_JSON, NULL },
};

const struct wg_module settings_api = {
	.name = "settings", .zh = "参数设置", .en = "parameters",
	.routes = settings_routes, .nroutes = WG_COUNT(settings_routes),
};
