/* Sign-in and sign-out (/api/v1/session) and who am I (/api/v1/me). */
#include "core/api/api.h"
#include "core/app/app.h"
#include "core/app/module.h"
#include "core/app/params.h"
#include "core/audit/audit.h"
#include "core/auth/auth.h"
#include "core/auth/totp.h"
#include "core/lib/err.h"
#include "core/lib/limits.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>

static char dummy[128];
static const struct wg_config *dummy_cfg;
static pthread_once_t dummy_once = PTHREAD_ONCE_INIT;

static void make_dummy(void)
{
	if (auth_hash_password(dummy_cfg, "not a password of anyone", dummy))
		dummy[0] = '\0';
}

/* A real hash of the configured cost, for unknown user names. */
static const char *dummy_hash(const struct wg_config *cfg)
{
	dummy_cfg = cfg;
	pthread_once(&dummy_once, make_dummy);
	return dummy;
}

static json_t *user_json(const struct wg_principal *p, const char *display_name)
{
	return json_pack("{s:I, s:s, s:s, s:s, s:s, s:I, s:s}",
			 "id", (json_int_t)p->id, "username", p->username, "display_name", display_name,
			 "role", p->role->name, "role_zh", p->role->zh,
			 "scope_node_id", (json_int_t)p->scope_node_id, "scope_path", p->scope_path);
}

/* A failed sign-in: counted towards lockout, in the login log and the
 * audit trail (committed although the request fails), and answered alike
 * whatever failed, so the answer tells nothing of the account. */
static int fail_login(wg_req *r, const char *username, const char *reason, int64_t user_id, const char *node_path,
		      const char *field)
{
	char user_subject[96], addr_subject[96];
	snprintf(user_subject, sizeof user_subject, "u:%s", username);
	snprintf(addr_subject, sizeof addr_subject, "a:%s", r->address);
	int rc = auth_record_failure(r->app, r->db, user_subject, r->app->config.login_fails_per_user, r->now);
	if (!rc)
		rc = auth_record_failure(r->app, r->db, addr_subject, r->app->config.login_fails_per_address, r->now);
	if (!rc)
		rc = auth_login_record(r->db, r->now, user_id, username, r->address, reason, node_path);
	struct audit_event ev = { "login_failed", "session", reason, "", NULL, NULL };
	if (!rc)
		rc = audit_write(r->app, r->db, NULL, username, r->address, r->now, &ev);
	if (rc)
		return req_fail(r, rc, NULL, NULL, NULL);
	if (field)
		return req_fail(r, WG_ERR_BAD_CREDENTIALS, field, "动态验证码错误或已用过", "wrong or already used one-time code");
	return req_fail(r, WG_ERR_BAD_CREDENTIALS, NULL, NULL, NULL);
}

/* The session cookie: Secure whenever the request came over TLS (built in,
 * or the trusted proxy says X-Forwarded-Proto: https). */
static const char *session_cookie(wg_req *r, const char *token, int64_t max_age)
{
	return arena_printf(&r->arena, "%s=%s; Path=/; HttpOnly; SameSite=Strict; Max-Age=%lld%s", WG_SESSION_COOKIE, token,
			    (long long)max_age, r->tls ? "; Secure" : "");
}

/* The one-time code of a sign-in, when the account has two-factor sign-in:
 * 0 to go on, else the failure answered. */
static int second_factor(wg_req *r, const struct wg_principal *who, bool *enrolled)
{
	struct totp_state st;
	json_t *jt = json_object_get(r->body, "totp");
	int rc = totp_state_of(r->db, who->id, &st);
	if (rc)
		return req_fail(r, rc, NULL, NULL, NULL);
	*enrolled = st.enabled;
	if (!st.enabled)
		return 0;
	if (!jt) {
		/* The password was right; a code is still needed. Logged, not counted as a failure. */
		if ((rc = auth_login_record(r->db, r->now, who->id, who->username, r->address, "totp_required", who->scope_path)))
			return req_fail(r, rc, NULL, NULL, NULL);
		return req_fail(r, WG_ERR_TOTP_REQUIRED, "totp", "请输入身份验证器上的 6 位动态验证码(或一个恢复码)",
				"enter the 6-digit code of your authenticator app (or a recovery code)");
	}
	bool ok = false, recovery = false;
	if (json_is_string(jt) && (rc = totp_check(r->app, r->db, who->id, json_string_value(jt), r->now, &ok, &recovery)))
		return req_fail(r, rc, NULL, NULL, NULL);
	if (!ok)
		return fail_login(r, who->username, "wrong_totp", who->id, who->scope_path, "totp");
	if (recovery) {
		struct audit_event ev = { "totp_recovery_used", "session", "", who->scope_path, NULL, NULL };
		if ((rc = audit_write(r->app, r->db, who, NULL, r->address, r->now, &ev)))
			return req_fail(r, rc, NULL, NULL, NULL);
	}
	return 0;
}

static int session_create(wg_req *r)
{
	json_t *ju = json_object_get(r->body, "username"), *jp = json_object_get(r->body, "password");
	static const char *const allowed[] = { "username", "password", "totp", NULL };
	if (req_check_body(r, allowed))
		return r->fail.code;
	if (!json_is_string(ju) || json_string_length(ju) == 0)
		return req_fail(r, WG_ERR_REQUIRED, "username", "请填写用户名", "username is required");
	if (!json_is_string(jp) || json_string_length(jp) == 0)
		return req_fail(r, WG_ERR_REQUIRED, "password", "请填写密码", "password is required");
	json_t *jt = json_object_get(r->body, "totp");
	if (jt && (!json_is_string(jt) || json_string_length(jt) > TOTP_MAX_INPUT))
		return req_fail(r, WG_ERR_VALIDATION, "totp", "totp 应为 6 位动态验证码或恢复码(文本)",
				"totp must be the 6-digit code or a recovery code (text)");
	const char *username = json_string_value(ju), *password = json_string_value(jp);
	if (strlen(username) > WG_MAX_USERNAME || strlen(password) > WG_MAX_PASSWORD)
		return fail_login(r, "", "too_long", 0, "", NULL);

	char user_subject[96], addr_subject[96];
	bool user_locked, addr_locked;
	snprintf(user_subject, sizeof user_subject, "u:%s", username);
	snprintf(addr_subject, sizeof addr_subject, "a:%s", r->address);
	/* Lockout parameters another process set on 参数设置 are taken in here. */
	int rc = params_load(r->app, r->db, false);
	if (!rc)
		rc = auth_lock_state(r->db, user_subject, r->now, &user_locked);
	if (!rc)
		rc = auth_lock_state(r->db, addr_subject, r->now, &addr_locked);
	if (rc)
		return req_fail(r, rc, NULL, NULL, NULL);
	if (user_locked || addr_locked) {
		struct audit_event ev = { "login_locked", "session", user_locked ? "user" : "address", "", NULL, NULL };
		audit_write(r->app, r->db, NULL, username, r->address, r->now, &ev);
		auth_login_record(r->db, r->now, 0, username, r->address, "locked", "");
		return req_failf(r, WG_ERR_LOCKED, NULL, "登录失败次数过多,请 %lld 分钟后再试",
				 "too many failed sign-ins; try again in %lld minutes",
				 (long long)(r->app->config.login_lock_seconds / 60), (long long)(r->app->config.login_lock_seconds / 60));
	}

	wg_stmt *s;
	wg_param p[] = { WG_PTEXT(username) };
	rc = store_query(r->db, "SELECT u.id, u.password_hash, u.disabled, u.role, u.scope_node_id, g.path, u.display_name"
			 " FROM users u JOIN grid_nodes g ON g.id = u.scope_node_id WHERE u.username = ?", p, 1, &s);
	if (rc)
		return req_fail(r, rc, NULL, NULL, NULL);
	rc = stmt_next(s);
	if (rc != 1) {
		stmt_done(s);
		/* Spend the same time as a real check, so timing does not tell which names exist. */
		auth_verify_password(dummy_hash(&r->app->config), password);
		return fail_login(r, username, "unknown_user", 0, "", NULL);
	}
	struct wg_principal who = { 0 };
	char hash[128], display[WG_MAX_NAME + 1];
	who.id = stmt_int(s, 0);
	snprintf(hash, sizeof hash, "%s", stmt_text(s, 1));
	bool disabled = stmt_int(s, 2) != 0;
	who.role = rbac_role(stmt_text(s, 3));
	who.scope_node_id = stmt_int(s, 4);
	snprintf(who.scope_path, sizeof who.scope_path, "%s", stmt_text(s, 5));
	snprintf(display, sizeof display, "%s", stmt_text(s, 6));
	snprintf(who.username, sizeof who.username, "%s", username);
	stmt_done(s);
	if (!auth_verify_password(hash, password))
		return fail_login(r, username, "wrong_password", who.id, who.scope_path, NULL);
	/* A disabled account answers exactly as a wrong password does: the
	 * answer must not tell whoever guesses that the password was right. */
	if (disabled || !who.role)
		return fail_login(r, username, "disabled", who.id, who.scope_path, NULL);
	bool enrolled = false;
	if (second_factor(r, &who, &enrolled))
		return r->fail.code;
	who.must_enroll = !enrolled && totp_required_for(&r->app->config, who.role);

	char token[64];
	wg_param clear[] = { WG_PTEXT(user_subject) };
	rc = store_run(r->db, "DELETE FROM login_failures WHERE subject = ?", clear, 1);
	if (!rc)
		rc = auth_session_create(r->db, who.id, r->address, r->now, token);
	if (!rc)
		rc = auth_login_record(r->db, r->now, who.id, username, r->address, "ok", who.scope_path);
	struct audit_event ev = { "login", "session", "", who.scope_path, NULL, NULL };
	if (!rc)
		rc = audit_write(r->app, r->db, &who, NULL, r->address, r->now, &ev);
	if (rc)
		return req_fail(r, rc, NULL, NULL, NULL);
	const char *cookie = session_cookie(r, token, r->app->config.session_absolute_seconds);
	if (!cookie)
		return req_fail(r, WG_ERR_NOMEM, NULL, NULL, NULL);
	req_add_header(r, "Set-Cookie", cookie);
	json_t *out = json_pack("{s:s, s:o, s:I}", "token", token, "user", user_json(&who, display),
				"expires_in", (json_int_t)r->app->config.session_idle_seconds);
	/* A role that must use a one-time code and has none: this session may
	 * only set one up (GET /api/v1/me, /api/v1/me/totp, sign out). */
	if (out && who.must_enroll)
		json_object_set_new(out, "totp_enrollment_required", json_true());
	return req_reply(r, 201, out);
}

/* DELETE /api/v1/session: signs this session out; ?all=1 every session of the account. */
static int session_delete_handler(wg_req *r)
{
	static const char *const allowed[] = { "all", NULL };
	int64_t all = 0;
	if (req_check_query(r, allowed) || req_query_int(r, "all", 0, 1, 0, &all))
		return r->fail.code;
	int rc = auth_sessions_end(r->db, r->user->id, all ? 0 : r->user->session_id);
	if (!rc)
		rc = audit_req(r, all ? "logout_all" : "logout", "session", all ? 0 : r->user->session_id, r->user->scope_path, NULL);
	if (rc)
		return r->fail.code ? r->fail.code : req_fail(r, rc, NULL, NULL, NULL);
	auth_forget_sessions(r->app, r->user->id);
	req_add_header(r, "Set-Cookie", session_cookie(r, "", 0));
	return req_reply(r, 204, NULL);
}

static int me(wg_req *r)
{
	wg_param p[] = { WG_PINT(r->user->id) };
	wg_stmt *s;
	/* The scope's name, so that a page can say "阜宁县" rather than "/1/". */
	int rc = store_query(r->db, "SELECT u.display_name, COALESCE(g.name, '') FROM users u"
			     " LEFT JOIN grid_nodes g ON g.id = u.scope_node_id WHERE u.id = ?", p, 1, &s);
	if (rc)
		return req_fail(r, rc, NULL, NULL, NULL);
	bool found = stmt_next(s) == 1;
	json_t *u = user_json(r->user, found ? stmt_text(s, 0) : "");
	if (u && json_object_set_new(u, "scope_name", json_string(found ? stmt_text(s, 1) : ""))) {
		json_decref(u);
		u = NULL;
	}
	stmt_done(s);
	json_t *rights = u ? json_array() : NULL;
	for (int i = 0; rights && i < rights_count(); i++)
		if (rbac_allows(r->user->role, right_at(i)))
			json_array_append_new(rights, json_string(right_at(i)->name));
	/* The zone people read times in (wangge.conf time_zone), for the pages. */
	if (!u || json_object_set_new(u, "rights", rights) ||
	    json_object_set_new(u, "time_zone", json_string(r->app->config.time_zone)) ||
	    json_object_set_new(u, "totp_enrollment_required", json_boolean(r->user->must_enroll))) {
		json_decref(u);
		return req_fail(r, WG_ERR_NOMEM, NULL, NULL, NULL);
	}
	return req_reply(r, 200, u);
}

static const struct wg_route session_routes[] = {
	{ "POST",   "/api/v1/session", session_create,         NULL, ROUTE_PUBLIC | ROUTE_WRITE | ROUTE_JSON, NULL },
	{ "DELETE", "/api/v1/session", session_delete_handler, NULL, ROUTE_WRITE | ROUTE_ENROLL, NULL },
	{ "GET",    "/api/v1/me",      me,                     NULL, ROUTE_ENROLL, NULL },
};

const struct wg_module session_api = {
	.name = "session", .zh = "登录与会话", .en = "sign-in and sessions",
	.routes = session_routes, .nroutes = WG_COUNT(session_routes),
};
