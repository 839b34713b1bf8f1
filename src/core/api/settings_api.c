/* What the back office's 字典管理 and 参数设置 show:
 *   GET /api/v1/dictionaries  the value lists the resources accept, with
 *                             their labels (any signed-in account: the
 *                             pages need them to show and type values)
 *   GET /api/v1/parameters    the running server's parameters from
 *                             wangge.conf (SYSTEM): the time zone, sign-in
 *                             lockout, sessions, passwords, two factors,
 *                             audit retention. They are read at start;
 *                             the answer says so, and where to change them.
 *                             Then each module's own settings (how long
 *                             scans are kept), which the program sets.
 * Secrets (the database URL, the metrics token) are never listed. */
#include "core/api/api.h"
#include "core/app/app.h"
#include "core/auth/rbac.h"
#include "core/lib/err.h"
#include "core/resource/resource.h"

#include <stddef.h>
#include <stdio.h>
#include <string.h>

static int dictionaries(wg_req *r)
{
	json_t *items = resource_dictionaries();
	if (!items)
		return req_fail(r, WG_ERR_NOMEM, NULL, NULL, NULL);
	return req_reply(r, 200, json_pack("{s:o, s:I}", "items", items, "total", (json_int_t)json_array_size(items)));
}

enum unit { UNIT_NONE, UNIT_SECONDS, UNIT_DAYS, UNIT_COUNT, UNIT_PER_MINUTE };
static const char *const unit_names[] = { "", "seconds", "days", "count", "per_minute" };

#define INT_PARAM(key, group, zh, en, unit) \
	{ #key, group, zh, en, unit, offsetof(struct wg_config, key), 0 }
#define TEXT_PARAM(key, group, zh, en) \
	{ #key, group, zh, en, UNIT_NONE, offsetof(struct wg_config, key), sizeof ((struct wg_config *)0)->key }

static const struct parameter {
	const char *key, *group, *zh, *en;
	enum unit unit;
	size_t offset, text_size;   /* text_size 0: an int64_t */
} parameters[] = {
	TEXT_PARAM(time_zone, "time", "时区:页面、导出和消息中的时间按此显示", "time zone of every page, export and message"),
	INT_PARAM(login_fails_per_user, "sign_in", "同一账户连续登录失败达到此次数即锁定", "failed sign-ins that lock an account", UNIT_COUNT),
	INT_PARAM(login_fails_per_address, "sign_in", "同一地址登录失败达到此次数即拒绝", "failed sign-ins that lock an address", UNIT_COUNT),
	INT_PARAM(login_window_seconds, "sign_in", "统计登录失败的时间窗口", "window in which failures count", UNIT_SECONDS),
	INT_PARAM(login_lock_seconds, "sign_in", "锁定时长", "how long a lock lasts", UNIT_SECONDS),
	INT_PARAM(password_classes, "sign_in", "新密码至少包含的字符类别数(大写、小写、数字、符号)",
		  "character classes a new password needs (of upper, lower, digits, symbols)", UNIT_COUNT),
	INT_PARAM(totp_required, "sign_in", "下列角色登录须输入动态验证码(1 是,0 否)", "the roles below sign in with a one-time code (1 yes, 0 no)",
		  UNIT_NONE),
	TEXT_PARAM(totp_roles, "sign_in", "须双因素登录的角色", "roles that need two factors"),
	INT_PARAM(session_idle_seconds, "sessions", "会话空闲超时", "a session ends after this long idle", UNIT_SECONDS),
	INT_PARAM(session_absolute_seconds, "sessions", "会话最长有效期", "a session ends after this long in any case", UNIT_SECONDS),
	INT_PARAM(audit_checkpoint_seconds, "audit", "审计链签名检查点的间隔", "how often the audit chain's head is signed", UNIT_SECONDS),
	INT_PARAM(audit_archive_days, "audit", "审计记录在线保留天数,之后归档(0 为不归档)",
		  "days audit records stay online before they are archived (0: never)", UNIT_DAYS),
	TEXT_PARAM(public_url, "public", "居民扫码打开的网址(场所码指向此地址)", "the address residents open (venue QR codes lead there)"),
	INT_PARAM(public_requests_per_minute, "public", "免登录接口每个地址每分钟的请求上限", "requests a minute from one address to the routes without an account",
		  UNIT_PER_MINUTE),
	INT_PARAM(threads, "server", "处理请求的线程数", "threads serving requests", UNIT_COUNT),
};

static json_t *value_json(const struct wg_config *cfg, const struct parameter *p)
{
	const char *at = (const char *)cfg + p->offset;
	if (p->text_size)
		return json_string(at);
	if (p->offset == offsetof(struct wg_config, threads))
		return json_integer(cfg->threads);
	return json_integer(*(const int64_t *)(const void *)at);
}

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

static json_t *value_text(enum unit unit, const json_t *value)
{
	if (unit == UNIT_SECONDS)
		return duration_text(json_integer_value(value));
	if (unit == UNIT_DAYS)
		return duration_text(json_integer_value(value) * 86400);
	return json_null();
}

/* One parameter's answer; takes value (NULL: out of memory). */
static json_t *item_json(const char *key, const char *group, const char *zh, const char *en, enum unit unit,
			 json_t *value, const char *source)
{
	json_t *text = value ? value_text(unit, value) : NULL;
	if (!text) {
		json_decref(value);
		return NULL;
	}
	/* "o" takes both references, whether the packing succeeds or not. */
	return json_pack("{s:s, s:s, s:o, s:o, s:s, s:s, s:s, s:s}", "key", key, "group", group, "value", value,
			 "value_text", text, "unit", unit_names[unit], "zh", zh, "en", en, "source", source);
}

static json_t *parameter_json(const struct wg_config *cfg, const struct parameter *p)
{
	return item_json(p->key, p->group, p->zh, p->en, p->unit, value_json(cfg, p), "wangge.conf");
}

static enum unit unit_named(const char *name)
{
	for (size_t i = 0; i < WG_COUNT(unit_names); i++)
		if (name && strcmp(unit_names[i], name) == 0)
			return (enum unit)i;
	return UNIT_NONE;
}

/* A module's own setting: what the program runs with, not a line of wangge.conf. */
static json_t *module_parameter_json(const struct wg_module *m, const struct wg_parameter *p)
{
	return item_json(p->key, p->group, p->zh, p->en, unit_named(p->unit), json_integer(p->value()), m->name);
}

static int append(json_t *items, json_t *item)
{
	return !item || json_array_append_new(items, item) ? -1 : 0;
}

static int parameters_list(wg_req *r)
{
	json_t *items = json_array();
	int rc = items ? 0 : -1;
	for (size_t i = 0; !rc && i < WG_COUNT(parameters); i++)
		rc = append(items, parameter_json(&r->app->config, &parameters[i]));
	for (size_t i = 0; !rc && wg_modules[i]; i++)
		for (size_t k = 0; !rc && k < wg_modules[i]->nparameters; k++)
			rc = append(items, module_parameter_json(wg_modules[i], &wg_modules[i]->parameters[k]));
	if (rc) {
		json_decref(items);
		return req_fail(r, WG_ERR_NOMEM, NULL, NULL, NULL);
	}
	return req_reply(r, 200, json_pack("{s:o, s:I, s:s, s:s}", "items", items, "total", (json_int_t)json_array_size(items),
					   "source", "wangge.conf", "note",
					   "修改数据目录中的 wangge.conf 后重启服务生效 / edit wangge.conf in the data directory and restart the server"));
}

static const struct wg_route settings_routes[] = {
	{ "GET", "/api/v1/dictionaries", dictionaries,    NULL,          ROUTE_NO_DB, NULL },
	{ "GET", "/api/v1/parameters",   parameters_list, &right_SYSTEM, ROUTE_NO_DB, NULL },
};

const struct wg_module settings_api = {
	.name = "settings", .zh = "字典与参数", .en = "dictionaries and parameters",
	.routes = settings_routes, .nroutes = WG_COUNT(settings_routes),
};
