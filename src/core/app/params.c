/* 参数设置: which of wangge.conf's keys the page shows and sets, and how a
 * value kept in the store reaches the running configuration. */
#include "core/app/params.h"
#include "core/lib/err.h"
#include "core/lib/log.h"
#include "core/lib/timefmt.h"

#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#define INT_PARAM(key, group, zh, en, unit, live) \
	{ #key, group, zh, en, unit, offsetof(struct wg_config, key), 0, true, live }
#define TEXT_PARAM(key, group, zh, en, editable) \
	{ #key, group, zh, en, PARAM_UNIT_NONE, offsetof(struct wg_config, key), \
	  sizeof ((struct wg_config *)0)->key, editable, false }

static const struct wg_param_spec specs[] = {
	TEXT_PARAM(time_zone, "time", "时区:页面、导出和消息中的时间按此显示", "time zone of every page, export and message", true),
	INT_PARAM(login_fails_per_user, "sign_in", "同一账户连续登录失败达到此次数即锁定", "failed sign-ins that lock an account",
		  PARAM_COUNT, true),
	INT_PARAM(login_fails_per_address, "sign_in", "同一地址登录失败达到此次数即拒绝", "failed sign-ins that lock an address",
		  PARAM_COUNT, true),
	INT_PARAM(login_window_seconds, "sign_in", "统计登录失败的时间窗口", "window in which failures count", PARAM_SECONDS, true),
	INT_PARAM(login_lock_seconds, "sign_in", "锁定时长", "how long a lock lasts", PARAM_SECONDS, true),
	INT_PARAM(password_classes, "sign_in", "新密码至少包含的字符类别数(大写、小写、数字、符号)",
		  "character classes a new password needs (of upper, lower, digits, symbols)", PARAM_COUNT, true),
	INT_PARAM(totp_required, "sign_in", "下列角色登录须输入动态验证码(1 是,0 否)",
		  "the roles below sign in with a one-time code (1 yes, 0 no)", PARAM_UNIT_NONE, true),
	TEXT_PARAM(totp_roles, "sign_in", "须双因素登录的角色(角色名,空格分隔)", "roles that need two factors (role names, space separated)",
		   true),
	INT_PARAM(session_idle_seconds, "sessions", "会话空闲超时", "a session ends after this long idle", PARAM_SECONDS, true),
	INT_PARAM(session_absolute_seconds, "sessions", "会话最长有效期", "a session ends after this long in any case", PARAM_SECONDS,
		  true),
	INT_PARAM(audit_checkpoint_seconds, "audit", "审计链签名检查点的间隔", "how often the audit chain's head is signed",
		  PARAM_SECONDS, true),
	INT_PARAM(audit_archive_days, "audit", "审计记录在线保留天数,之后归档(0 为不归档)",
		  "days audit records stay online before they are archived (0: never)", PARAM_DAYS, true),
	TEXT_PARAM(public_url, "public", "居民扫码打开的网址(场所码指向此地址)", "the address residents open (venue QR codes lead there)",
		   true),
	INT_PARAM(public_requests_per_minute, "public", "免登录接口每个地址每分钟的请求上限",
		  "requests a minute from one address to the routes without an account", PARAM_PER_MINUTE, true),
	/* The pool is sized at start (serve --threads may override it): shown, set in wangge.conf only. */
	{ "threads", "server", "处理请求的线程数(在 wangge.conf 中设置)", "threads serving requests (set in wangge.conf)", PARAM_COUNT,
	  offsetof(struct wg_config, threads), 0, false, false },
};

_Static_assert(sizeof specs / sizeof specs[0] <= 64, "one bit per parameter in from_page");

static const char *const unit_names[] = { "", "seconds", "days", "count", "per_minute" };

/* Which parameters run with a value from the store (bit per spec): the page
 * says where the running value came from, whatever waits for a restart. */
static _Atomic uint64_t from_page;

static void mark(const struct wg_param_spec *p, bool stored)
{
	uint64_t bit = UINT64_C(1) << (p - specs);
	if (stored)
		atomic_fetch_or(&from_page, bit);
	else
		atomic_fetch_and(&from_page, ~bit);
}

bool params_running_from_page(const struct wg_param_spec *p)
{
	return (atomic_load(&from_page) >> (p - specs)) & 1u;
}

size_t params_count(void) { return sizeof specs / sizeof specs[0]; }
const struct wg_param_spec *params_at(size_t i) { return i < params_count() ? &specs[i] : NULL; }
const char *params_unit_name(enum param_unit unit) { return unit_names[unit]; }

const struct wg_param_spec *params_named(const char *key)
{
	for (size_t i = 0; key && i < params_count(); i++)
		if (strcmp(specs[i].key, key) == 0)
			return &specs[i];
	return NULL;
}

static bool is_threads(const struct wg_param_spec *p) { return p->offset == offsetof(struct wg_config, threads); }

json_t *params_value_json(const struct wg_config *cfg, const struct wg_param_spec *p)
{
	const char *at = (const char *)cfg + p->offset;
	if (p->text_size)
		return json_string(at);
	if (is_threads(p))
		return json_integer(cfg->threads);
	return json_integer(__atomic_load_n((const int64_t *)(const void *)at, __ATOMIC_RELAXED));
}

static bool refuse(char *why_zh, char *why_en, size_t size, const char *zh, const char *en)
{
	snprintf(why_zh, size, "%s", zh);
	snprintf(why_en, size, "%s", en);
	return false;
}

static bool check_int(const struct wg_param_spec *p, const json_t *v, char out[WG_PARAM_TEXT], char *why_zh,
		      char *why_en, size_t size)
{
	int64_t lo, hi;
	if (!config_int_bounds(p->key, &lo, &hi) || !json_is_integer(v) || json_integer_value(v) < lo ||
	    json_integer_value(v) > hi) {
		snprintf(why_zh, size, "应为 %lld 到 %lld 的整数", (long long)lo, (long long)hi);
		snprintf(why_en, size, "must be an integer from %lld to %lld", (long long)lo, (long long)hi);
		return false;
	}
	snprintf(out, WG_PARAM_TEXT, "%lld", (long long)json_integer_value(v));
	return true;
}

bool params_check(const struct wg_param_spec *p, const json_t *v, char out[WG_PARAM_TEXT], char *why_zh,
		  char *why_en, size_t size)
{
	if (!p->text_size)
		return check_int(p, v, out, why_zh, why_en, size);
	const char *s = json_string_value(v);
	if (!s || json_string_length(v) >= p->text_size || json_string_length(v) >= WG_PARAM_TEXT)
		return refuse(why_zh, why_en, size, "应为一段文字(不能过长)", "must be a text (not too long)");
	for (const unsigned char *c = (const unsigned char *)s; *c; c++)
		if (*c < 0x20)
			return refuse(why_zh, why_en, size, "含有控制字符", "contains control characters");
	/* The same rules as a line of wangge.conf, on a copy. */
	struct wg_config scratch;
	config_defaults(&scratch);
	if (config_set(&scratch, p->key, s, "参数设置 / parameter") != 0) {
		if (strcmp(p->key, "public_url") == 0)
			return refuse(why_zh, why_en, size, "应为居民打开的网址,例如 https://wg.example.gov.cn",
				      "must be the address residents open, e.g. https://wg.example.gov.cn");
		return refuse(why_zh, why_en, size, "格式无效", "is not valid");
	}
	if (strcmp(p->key, "time_zone") == 0 && !wg_time_zone_known(s))
		return refuse(why_zh, why_en, size, "不是本机已知的时区名称(例如 Asia/Shanghai)",
			      "is not a time zone this machine knows (e.g. Asia/Shanghai)");
	snprintf(out, WG_PARAM_TEXT, "%s", (const char *)&scratch + p->offset);
	return true;
}

/* One checked text into cfg: ints by an atomic store (requests read them
 * meanwhile), texts only before any thread runs (at start). */
static void put(struct wg_config *cfg, const struct wg_param_spec *p, const char *text, bool at_start)
{
	struct wg_config scratch;
	config_defaults(&scratch);
	if (config_set(&scratch, p->key, text, "parameter_values") != 0)
		return;  /* said in the log; the running value stays */
	char *at = (char *)cfg + p->offset;
	if (p->text_size) {
		if (at_start) {
			memcpy(at, (const char *)&scratch + p->offset, p->text_size);
			mark(p, true);
		}
		return;
	}
	mark(p, true);
	__atomic_store_n((int64_t *)(void *)at, *(const int64_t *)(const void *)((const char *)&scratch + p->offset),
			 __ATOMIC_RELAXED);
}

void params_apply_live(struct wg_app *app, const struct wg_param_spec *p, const char *text)
{
	if (!p->live || p->text_size)
		return;
	if (text) {
		put(&app->config, p, text, false);
		return;
	}
	mark(p, false);
	const int64_t *from = (const int64_t *)(const void *)((const char *)&app->file_config + p->offset);
	__atomic_store_n((int64_t *)(void *)((char *)&app->config + p->offset), *from, __ATOMIC_RELAXED);
}

int params_load(struct wg_app *app, wg_conn *c, bool at_start)
{
	bool seen[sizeof specs / sizeof specs[0]] = { false };
	wg_stmt *s;
	int rc = store_query(c, "SELECT key, value FROM parameter_values", NULL, 0, &s);
	if (rc)
		return rc;
	while ((rc = stmt_next(s)) == 1) {
		const struct wg_param_spec *p = params_named(stmt_text(s, 0));
		if (!p || !p->editable) {
			log_warn("a stored parameter %s is not one the page sets: left alone / 未知的已存参数", stmt_text(s, 0));
			continue;
		}
		seen[p - specs] = true;
		if (at_start || p->live)
			put(&app->config, p, stmt_text(s, 1), at_start);
	}
	stmt_done(s);
	if (rc < 0)
		return -rc;
	for (size_t i = 0; !at_start && i < params_count(); i++)
		if (!seen[i])
			params_apply_live(app, &specs[i], NULL);
	return 0;
}
