/* Sign-in and sign-out (/api/v1/session) and who am I (/api/v1/me). */
#include "core/api/api.h"
#include "core/app/module.h"
#include "core/audit/audit.h"
#include "core/auth/auth.h"
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

static int fail_login(wg_req *r, const char *username, const char *reason)
{
	char user_subject[96], addr_subject[96];
	snprintf(user_subject, sizeof user_subject, "u:%s", username);
	snprintf(addr_subject, sizeof addr_subject, "a:%s", r->address);
	int rc = auth_record_failure(r->app, r->db, user_subject, r->app->config.login_fails_per_user, r->now);
	if (!rc)
		rc = auth_record_failure(r->app, r->db, addr_subject, r->app->config.login_fails_per_address, r->now);
	struct audit_event ev = { "login_failed", "session", reason, "", NULL, NULL };
	if (!rc)
		rc = audit_write(r->app, r->db, NULL, username, r->address, r->now, &ev);
	if (rc)
		return req_fail(r, rc, NULL, NULL, NULL);
	return req_fail(r, WG_ERR_BAD_CREDENTIALS, NULL, NULL, NULL);
}

static int session_create(wg_req *r)
{
	json_t *ju = json_object_get(r->body, "username"), *jp = json_object_get(r->body, "password");
	static const char *const allowed[] = { "username", "password", NULL };
	if (req_check_body(r, allowed))
		return r->fail.code;
	if (!json_is_string(ju) || json_string_length(ju) == 0)
		return req_fail(r, WG_ERR_REQUIRED, "username", "请填写用户名", "username is required");
	if (!json_is_string(jp) || json_string_length(jp) == 0)
		return req_fail(r, WG_ERR_REQUIRED, "password", "请填写密码", "password is required");
	const char *username = json_string_value(ju), *password = json_string_value(jp);
	if (strlen(username) > WG_MAX_USERNAME || strlen(password) > WG_MAX_PASSWORD)
		return fail_login(r, "", "too_long");

	char user_subject[96], addr_subject[96];
	bool user_locked, addr_locked;
	snprintf(user_subject, sizeof user_subject, "u:%s", username);
	snprintf(addr_subject, sizeof addr_subject, "a:%s", r->address);
	int rc = auth_lock_state(r->db, user_subject, r->now, &user_locked);
	if (!rc)
		rc = auth_lock_state(r->db, addr_subject, r->now, &addr_locked);
	if (rc)
		return req_fail(r, rc, NULL, NULL, NULL);
	if (user_locked || addr_locked) {
		struct audit_event ev = { "login_locked", "session", user_locked ? "user" : "address", "", NULL, NULL };
		audit_write(r->app, r->db, NULL, username, r->address, r->now, &ev);
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
		return fail_login(r, username, "unknown_user");
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
		return fail_login(r, username, "wrong_password");
	/* A disabled account answers exactly as a wrong password does: the
	 * answer must not tell whoever guesses that the password was right. */
	if (disabled || !who.role)
		return fail_login(r, username, "disabled");

	char token[64];
	wg_param clear[] = { WG_PTEXT(user_subject) };
	rc = store_run(r->db, "DELETE FROM login_failures WHERE subject = ?", clear, 1);
	if (!rc)
		rc = auth_session_create(r->db, who.id, r->address, r->now, token);
	struct audit_event ev = { "login", "session", "", who.scope_path, NULL, NULL };
	if (!rc)
		rc = audit_write(r->app, r->db, &who, NULL, r->address, r->now, &ev);
	if (rc)
		return req_fail(r, rc, NULL, NULL, NULL);
	char *cookie = arena_printf(&r->arena, "%s=%s; Path=/; HttpOnly; SameSite=Strict; Max-Age=%lld",
				    WG_SESSION_COOKIE, token, (long long)r->app->config.session_absolute_seconds);
	if (!cookie)
		return req_fail(r, WG_ERR_NOMEM, NULL, NULL, NULL);
	req_add_header(r, "Set-Cookie", cookie);
	return req_reply(r, 201, json_pack("{s:s, s:o, s:I}", "token", token, "user", user_json(&who, display),
					   "expires_in", (json_int_t)r->app->config.session_idle_seconds));
}

static int session_delete_handler(wg_req *r)
{
	wg_param p[] = { WG_PTEXT(r->user->token_hash) };
	int rc = store_run(r->db, "DELETE FROM sessions WHERE token_hash = ?", p, 1);
	if (!rc)
		rc = audit_req(r, "logout", "session", 0, r->user->scope_path, NULL);
	if (rc)
		return r->fail.code ? r->fail.code : req_fail(r, rc, NULL, NULL, NULL);
	auth_forget_sessions(r->app, r->user->id);
	req_add_header(r, "Set-Cookie", WG_SESSION_COOKIE "=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0");
	return req_reply(r, 204, NULL);
}

static int me(wg_req *r)
{
	wg_param p[] = { WG_PINT(r->user->id) };
	wg_stmt *s;
	int rc = store_query(r->db, "SELECT display_name FROM users WHERE id = ?", p, 1, &s);
	if (rc)
		return req_fail(r, rc, NULL, NULL, NULL);
	const char *display = stmt_next(s) == 1 ? stmt_text(s, 0) : "";
	json_t *u = user_json(r->user, display);
	stmt_done(s);
	json_t *rights = json_array();
	for (int i = 0; i < rights_count(); i++)
		if (rbac_allows(r->user->role, right_at(i)))
			json_array_append_new(rights, json_string(right_at(i)->name));
	json_object_set_new(u, "rights", rights);
	return req_reply(r, 200, u);
}

static const struct wg_route session_routes[] = {
	{ "POST",   "/api/v1/session", session_create,         NULL, ROUTE_PUBLIC | ROUTE_WRITE | ROUTE_JSON, NULL },
	{ "DELETE", "/api/v1/session", session_delete_handler, NULL, ROUTE_WRITE, NULL },
	{ "GET",    "/api/v1/me",      me,                     NULL, 0, NULL },
};

const struct wg_module session_api = {
	.name = "session", .zh = "登录与会话", .en = "sign-in and sessions",
	.routes = session_routes, .nroutes = WG_COUNT(session_routes),
};
