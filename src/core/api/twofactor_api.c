/* Two-factor sign-in, set up by each user for herself (等保 2.0 level 3):
 *   GET    /api/v1/me/totp            whether it is on, required, codes left
 *   POST   /api/v1/me/totp            {password}: a new secret for the app (not yet in force)
 *   POST   /api/v1/me/totp/confirm    {code}: in force; ten recovery codes, shown once
 *   POST   /api/v1/me/totp/recovery   {code}: ten new recovery codes, the old ones void
 *   DELETE /api/v1/me/totp            {password, code}: off (not for a role that must use it)
 *   DELETE /api/v1/users/{id}/totp    an authenticator lost: off for another account
 *                                     (USER_WRITE, as for changing that account)
 * A session whose role must use it and has none may reach the first three
 * (ROUTE_ENROLL), and nothing else until it is set up. */
#include "core/api/api.h"
#include "core/app/module.h"
#include "core/audit/audit.h"
#include "core/auth/auth.h"
#include "core/auth/scope.h"
#include "core/auth/totp.h"
#include "core/lib/err.h"
#include "core/lib/limits.h"
#include "core/resource/resource.h"

#include <sodium.h>
#include <stdio.h>
#include <string.h>

static int state_reply(wg_req *r, int status)
{
	struct totp_state st;
	int rc = totp_state_of(r->db, r->user->id, &st);
	if (rc)
		return req_fail(r, rc, NULL, NULL, NULL);
	return req_reply(r, status, json_pack("{s:b, s:b, s:b, s:I}", "enabled", st.enabled, "pending", st.pending,
					      "required", totp_required_for(&r->app->config, r->user->role),
					      "recovery_codes_left", (json_int_t)st.recovery_left));
}

static int totp_get(wg_req *r)
{
	return state_reply(r, 200);
}

/* POST /api/v1/me/totp {password} */
static int totp_post(wg_req *r)
{
	static const char *const allowed[] = { "password", NULL };
	struct totp_state st;
	char secret[TOTP_SECRET_TEXT];
	if (req_check_body(r, allowed) || api_confirm_password(r, "password"))
		return r->fail.code;
	int rc = totp_state_of(r->db, r->user->id, &st);
	if (rc)
		return req_fail(r, rc, NULL, NULL, NULL);
	if (st.enabled)
		return req_fail(r, WG_ERR_CONFLICT, NULL, "双因素登录已启用;要换身份验证器,请先停用或请管理员重置",
				"two-factor sign-in is on already; turn it off (or have it reset) to change the authenticator");
	if ((rc = totp_begin(r->app, r->db, r->user->id, secret)))
		return req_fail(r, rc, NULL, NULL, NULL);
	/* otpauth://totp/wangge:<user>?secret=…&issuer=wangge: what the app's camera reads from a QR code. */
	char *uri = arena_printf(&r->arena, "otpauth://totp/wangge:%s?secret=%s&issuer=wangge&algorithm=SHA1&digits=%d&period=%d",
				 r->user->username, secret, TOTP_DIGITS, TOTP_PERIOD);
	json_t *out = uri ? json_pack("{s:s, s:s, s:i, s:i, s:s}", "secret", secret, "uri", uri, "digits", TOTP_DIGITS,
				      "period", TOTP_PERIOD, "algorithm", "SHA1") : NULL;
	sodium_memzero(secret, sizeof secret);
	if (!out)
		return req_fail(r, WG_ERR_NOMEM, NULL, NULL, NULL);
	if (audit_req(r, "totp_begin", "users", r->user->id, r->user->scope_path, NULL)) {
		json_decref(out);
		return r->fail.code;
	}
	return req_reply(r, 201, out);
}

static json_t *codes_json(char codes[TOTP_RECOVERY_CODES][TOTP_RECOVERY_TEXT])
{
	json_t *a = json_array();
	for (int i = 0; a && i < TOTP_RECOVERY_CODES; i++)
		json_array_append_new(a, json_string(codes[i]));
	return a;
}

static int code_of_body(wg_req *r, const char **code)
{
	json_t *jc = json_object_get(r->body, "code");
	if (!jc)
		return req_fail(r, WG_ERR_REQUIRED, "code", "请输入身份验证器上的 6 位动态验证码", "enter the 6-digit code of your authenticator");
	if (!json_is_string(jc) || json_string_length(jc) > TOTP_MAX_INPUT)
		return req_fail(r, WG_ERR_VALIDATION, "code", "code 应为 6 位动态验证码(文本)", "code must be the 6-digit code (text)");
	*code = json_string_value(jc);
	return 0;
}

/* POST /api/v1/me/totp/confirm {code} */
static int totp_confirm_handler(wg_req *r)
{
	static const char *const allowed[] = { "code", NULL };
	char codes[TOTP_RECOVERY_CODES][TOTP_RECOVERY_TEXT];
	const char *code;
	bool ok = false;
	if (req_check_body(r, allowed) || code_of_body(r, &code))
		return r->fail.code;
	struct totp_state st;
	int rc = totp_state_of(r->db, r->user->id, &st);
	if (!rc && !st.pending)
		return req_fail(r, WG_ERR_CONFLICT, NULL, "没有待确认的身份验证器:请先 POST /api/v1/me/totp",
				"no authenticator is being set up: POST /api/v1/me/totp first");
	if (!rc)
		rc = totp_confirm(r->app, r->db, r->user->id, code, r->now, &ok, codes);
	if (rc)
		return req_fail(r, rc, NULL, NULL, NULL);
	if (!ok)
		return req_fail(r, WG_ERR_VALIDATION, "code", "动态验证码不正确(请核对手机时间)", "wrong code (check the phone's clock)");
	json_t *out = json_pack("{s:b, s:o}", "enabled", 1, "recovery_codes", codes_json(codes));
	sodium_memzero(codes, sizeof codes);
	if (!out || audit_req(r, "totp_enable", "users", r->user->id, r->user->scope_path, NULL)) {
		json_decref(out);
		return r->fail.code ? r->fail.code : req_fail(r, WG_ERR_NOMEM, NULL, NULL, NULL);
	}
	/* The session may do everything now: its cached state is dropped. */
	auth_forget_sessions(r->app, r->user->id);
	return req_reply(r, 200, out);
}

/* POST /api/v1/me/totp/recovery {code} */
static int totp_recovery_handler(wg_req *r)
{
	static const char *const allowed[] = { "code", NULL };
	char codes[TOTP_RECOVERY_CODES][TOTP_RECOVERY_TEXT];
	const char *code;
	bool ok = false, recovery = false;
	if (req_check_body(r, allowed) || code_of_body(r, &code))
		return r->fail.code;
	int rc = totp_check(r->app, r->db, r->user->id, code, r->now, &ok, &recovery);
	if (!rc && ok)
		rc = totp_new_recovery(r->app, r->db, r->user->id, codes);
	if (rc)
		return req_fail(r, rc, NULL, NULL, NULL);
	if (!ok)
		return req_fail(r, WG_ERR_VALIDATION, "code", "动态验证码不正确或已用过", "wrong or already used code");
	json_t *out = json_pack("{s:o}", "recovery_codes", codes_json(codes));
	sodium_memzero(codes, sizeof codes);
	if (!out || audit_req(r, "totp_recovery_new", "users", r->user->id, r->user->scope_path, NULL)) {
		json_decref(out);
		return r->fail.code ? r->fail.code : req_fail(r, WG_ERR_NOMEM, NULL, NULL, NULL);
	}
	return req_reply(r, 200, out);
}

/* DELETE /api/v1/me/totp {password, code} */
static int totp_delete(wg_req *r)
{
	static const char *const allowed[] = { "password", "code", NULL };
	const char *code;
	bool ok = false, recovery = false;
	if (req_check_body(r, allowed) || api_confirm_password(r, "password") || code_of_body(r, &code))
		return r->fail.code;
	if (totp_required_for(&r->app->config, r->user->role))
		return req_failf(r, WG_ERR_FORBIDDEN, NULL, "角色“%s”必须使用双因素登录,不能停用(换身份验证器请管理员重置)",
				 "the role %s must sign in with two factors; it cannot be turned off (have it reset to change the authenticator)",
				 r->user->role->zh, r->user->role->name);
	int rc = totp_check(r->app, r->db, r->user->id, code, r->now, &ok, &recovery);
	if (!rc && ok)
		rc = totp_reset(r->db, r->user->id);
	if (rc)
		return req_fail(r, rc, NULL, NULL, NULL);
	if (!ok)
		return req_fail(r, WG_ERR_VALIDATION, "code", "动态验证码不正确或已用过", "wrong or already used code");
	if (audit_req(r, "totp_disable", "users", r->user->id, r->user->scope_path, NULL))
		return r->fail.code;
	return req_reply(r, 204, NULL);
}

/* DELETE /api/v1/users/{id}/totp: another account's authenticator is lost. */
static int user_totp_reset(wg_req *r)
{
	wg_stmt *s;
	wg_param p[] = { WG_PINT(r->id) };
	int rc = store_query(r->db, "SELECT u.role, g.path FROM users u JOIN grid_nodes g ON g.id = u.scope_node_id WHERE u.id = ?", p, 1, &s);
	if (rc)
		return req_fail(r, rc, NULL, NULL, NULL);
	rc = stmt_next(s);
	const struct wg_role *role = rc == 1 ? rbac_role(stmt_text(s, 0)) : NULL;
	char path[WG_MAX_GRID_PATH] = "";
	bool visible = rc == 1 && scope_contains(r->user->scope_path, stmt_text(s, 1));
	if (visible)
		snprintf(path, sizeof path, "%s", stmt_text(s, 1));
	stmt_done(s);
	if (rc < 0)
		return req_fail(r, -rc, NULL, NULL, NULL);
	if (!visible)
		return req_failf(r, WG_ERR_NOT_FOUND, NULL, "账户 %lld 不存在或不在您的管辖范围内",
				 "user %lld does not exist or is outside your scope", (long long)r->id, (long long)r->id);
	if (r->id == r->user->id || !role || !rbac_may_manage(r->user->role, role))
		return req_fail(r, WG_ERR_FORBIDDEN, NULL, "您不能重置该账户的双因素登录(自己的请用 DELETE /api/v1/me/totp;审计管理员的用 wangge user totp-reset)",
				"you may not reset this account's two-factor sign-in (your own: DELETE /api/v1/me/totp; an auditor's: wangge user totp-reset)");
	if ((rc = totp_reset(r->db, r->id)) || (rc = auth_sessions_end(r->db, r->id, 0)))
		return req_fail(r, rc, NULL, NULL, NULL);
	if (audit_req(r, "totp_reset", "users", r->id, path, NULL))
		return r->fail.code;
	auth_forget_sessions(r->app, r->id);
	return req_reply(r, 204, NULL);
}

static const struct wg_route twofactor_routes[] = {
	{ "GET",    "/api/v1/me/totp",           totp_get,              NULL, ROUTE_ENROLL, NULL },
	{ "POST",   "/api/v1/me/totp",           totp_post,             NULL, ROUTE_WRITE | ROUTE_JSON | ROUTE_ENROLL, NULL },
	{ "POST",   "/api/v1/me/totp/confirm",   totp_confirm_handler,  NULL, ROUTE_WRITE | ROUTE_JSON | ROUTE_ENROLL, NULL },
	{ "POST",   "/api/v1/me/totp/recovery",  totp_recovery_handler, NULL, ROUTE_WRITE | ROUTE_JSON, NULL },
	{ "DELETE", "/api/v1/me/totp",           totp_delete,           NULL, ROUTE_WRITE | ROUTE_JSON, NULL },
	{ "DELETE", "/api/v1/users/{id}/totp",   user_totp_reset,       &right_USER_WRITE, ROUTE_WRITE, NULL },
};

static int twofactor_declare(void)
{
	/* The secret is re-encrypted with every new field key (wangge keys rotate). */
	return resource_add_secret_column("users", "totp_secret");
}

const struct wg_module twofactor_api = {
	.name = "twofactor", .zh = "双因素登录", .en = "two-factor sign-in",
	.routes = twofactor_routes, .nroutes = WG_COUNT(twofactor_routes),
	.declare = twofactor_declare,
};
