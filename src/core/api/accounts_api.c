/* User accounts: /api/v1/users. A user manages only accounts of a lower
 * rank (the admin: any) whose scope node lies inside their own scope. */
#include "core/api/api.h"
#include "core/app/module.h"
#include "core/audit/audit.h"
#include "core/auth/auth.h"
#include "core/lib/err.h"
#include "core/lib/json.h"
#include "core/lib/limits.h"
#include "core/lib/parse.h"
#include "core/resource/resource.h"
#include "core/auth/scope.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#define USER_COLUMNS "u.id, u.version, u.created_at, u.updated_at, g.path, u.username, u.role, u.scope_node_id," \
		     " u.display_name, u.disabled, u.totp_enabled, g.name"

static json_t *user_row(wg_stmt *s)
{
	const struct wg_role *role = rbac_role(stmt_text(s, 6));
	json_t *u = json_pack("{s:I, s:I, s:s, s:s, s:s, s:s, s:I, s:s, s:s, s:b, s:b}",
			      "id", (json_int_t)stmt_int(s, 0), "version", (json_int_t)stmt_int(s, 1),
			      "scope_path", stmt_text(s, 4), "username", stmt_text(s, 5), "role", stmt_text(s, 6),
			      "role_zh", role ? role->zh : "", "scope_node_id", (json_int_t)stmt_int(s, 7),
			      "scope_name", stmt_text(s, 11), "display_name", stmt_text(s, 8), "disabled", stmt_int(s, 9) != 0,
			      "totp_enabled", stmt_int(s, 10) != 0);
	if (u && (json_set_time(u, "created_at", stmt_int(s, 2)) || json_set_time(u, "updated_at", stmt_int(s, 3)))) {
		json_decref(u);
		return NULL;
	}
	return u;
}

static int load_user(wg_req *r, int64_t id, json_t **out)
{
	wg_stmt *s;
	wg_param p[] = { WG_PINT(id) };
	int rc = store_query(r->db, "SELECT " USER_COLUMNS " FROM users u JOIN grid_nodes g ON g.id = u.scope_node_id WHERE u.id = ?", p, 1, &s);
	if (rc)
		return req_fail(r, rc, NULL, NULL, NULL);
	rc = stmt_next(s);
	if (rc == 1 && scope_contains(r->user->scope_path, stmt_text(s, 4))) {
		*out = user_row(s);
		stmt_done(s);
		return 0;
	}
	stmt_done(s);
	return req_failf(r, WG_ERR_NOT_FOUND, NULL, "账户 %lld 不存在或不在您的管辖范围内",
			 "user %lld does not exist or is outside your scope", (long long)id, (long long)id);
}

static json_t *user_item(wg_req *r, wg_stmt *s, void *ctx)
{
	(void)r;
	(void)ctx;
	return user_row(s);
}

static int users_list(wg_req *r)
{
	static const char *const allowed[] = { "limit", "cursor", "role", "q", "grid", NULL };
	char lo[WG_MAX_GRID_PATH + 2], hi[WG_MAX_GRID_PATH + 2], like[WG_MAX_USERNAME * 2 + 4];
	char path[WG_MAX_GRID_PATH];
	int64_t grid;
	struct wg_pager pg = { 0 };
	/* ?grid=NODE: the accounts scoped at that node or below it (a department's people). */
	if (pager_start(r, &pg, WG_DEFAULT_LIST_LIMIT, false) || req_check_query(r, allowed) ||
	    req_query_int(r, "grid", 0, INT64_MAX, 0, &grid) || (grid && resource_node_path(r, grid, "grid", path, sizeof path)))
		goto out;
	const char *role = req_query(r, "role"), *q = req_query(r, "q");
	if (role && !rbac_role(role)) {
		req_failf(r, WG_ERR_BAD_QUERY, "role", "未知角色 %s", "unknown role %s", role, role);
		goto out;
	}
	if (q && strlen(q) > WG_MAX_USERNAME) {
		req_fail(r, WG_ERR_BAD_QUERY, "q", "查询内容过长", "q is too long");
		goto out;
	}
	size_t o = 0;
	for (const char *c = q ? q : ""; *c; c++) {
		if (*c == '%' || *c == '_' || *c == '!')
			like[o++] = '!';
		like[o++] = *c;
	}
	like[o++] = '%';
	like[o] = '\0';
	scope_range(grid ? path : r->user->scope_path, lo, hi, sizeof lo);
#define USERS_FROM " FROM users u JOIN grid_nodes g ON g.id = u.scope_node_id" \
		   " WHERE g.path >= ? AND g.path < ? AND (? = '' OR u.role = ?)" \
		   " AND (u.username LIKE ? ESCAPE '!' OR u.display_name LIKE ? ESCAPE '!')"
	wg_param p[] = { WG_PTEXT(lo), WG_PTEXT(hi), WG_PTEXT(role ? role : ""), WG_PTEXT(role ? role : ""),
			 WG_PTEXT(like), WG_PTEXT(like), WG_PINT(pg.cursor), WG_PINT(pg.limit + 1) };
	if (!pager_rows(r, &pg, "SELECT " USER_COLUMNS USERS_FROM " AND u.id > ? ORDER BY u.id LIMIT ?", p, 8, 0, user_item, NULL) &&
	    !pager_count(r, &pg, USERS_FROM, p, 6, 0))
		return pager_reply(r, &pg);
#undef USERS_FROM
out:
	pager_release(&pg);
	return r->fail.code;
}

static int users_get(wg_req *r)
{
	json_t *u;
	if (load_user(r, r->id, &u))
		return r->fail.code;
	return req_reply(r, 200, u);
}

static int check_text(wg_req *r, json_t *body, const char *key, size_t min, size_t max, const char **out)
{
	json_t *v = json_object_get(body, key);
	*out = NULL;
	if (!v)
		return 0;
	if (!json_is_string(v) || json_string_length(v) < min || json_string_length(v) > max)
		return req_failf(r, WG_ERR_VALIDATION, key, "%s 应为长度 %zu 到 %zu 的字符串",
				 "%s must be a string of %zu to %zu bytes", key, min, max, key, min, max);
	*out = json_string_value(v);
	return 0;
}

static bool username_ok(const char *u)
{
	for (; *u; u++)
		if (!((*u >= 'a' && *u <= 'z') || (*u >= '0' && *u <= '9') || *u == '_' || *u == '.' || *u == '-'))
			return false;
	return true;
}

/* The fields both create and update accept, checked against the actor's rights. */
static bool has_control_chars(const char *s)
{
	for (const unsigned char *p = (const unsigned char *)s; *p; p++)
		if (*p < 0x20 || *p == 0x7f)
			return true;
	return false;
}

/* account is the user name of the account changed (NULL on create: the body's). */
static int check_user_body(wg_req *r, json_t *body, const char *account, const struct wg_role **role,
			   int64_t *scope_node, char *scope_path)
{
	bool create = account == NULL;
	static const char *const allowed[] = { "username", "password", "role", "scope_node_id", "display_name", "disabled",
						"current_password", NULL };
	const char *key, *text;
	json_t *v;
	json_object_foreach(body, key, v) {
		bool ok = false;
		for (const char *const *a = allowed; *a; a++)
			ok |= strcmp(*a, key) == 0;
		if (create && strcmp(key, "current_password") == 0)
			ok = false;   /* only one's own password change asks for it */
		if (!ok || (!create && strcmp(key, "username") == 0))
			return req_failf(r, ok ? WG_ERR_VALIDATION : WG_ERR_UNKNOWN_FIELD, key,
					 ok ? "字段 %s 创建后不能修改" : "未知字段 %s",
					 ok ? "field %s cannot be changed" : "unknown field %s", key, key);
	}
	if (create) {
		static const char *const required[] = { "username", "password", "role", "scope_node_id", NULL };
		for (const char *const *q = required; *q; q++)
			if (!json_object_get(body, *q))
				return req_failf(r, WG_ERR_REQUIRED, *q, "缺少必填字段 %s", "required field %s is missing", *q, *q);
	}
	if (check_text(r, body, "username", 2, WG_MAX_USERNAME, &text))
		return r->fail.code;
	if (text && !username_ok(text))
		return req_fail(r, WG_ERR_VALIDATION, "username", "用户名只能包含小写字母、数字和 _ . -",
				"username may contain only lower-case letters, digits and _ . -");
	const char *username = create ? text : account;
	if (check_text(r, body, "password", 1, WG_MAX_PASSWORD, &text))
		return r->fail.code;
	char zh[WG_PASSWORD_WHY], en[WG_PASSWORD_WHY];
	if (text && auth_password_problem(&r->app->config, text, username, zh, en))
		return req_fail(r, WG_ERR_VALIDATION, "password", zh, en);
	if (check_text(r, body, "display_name", 0, WG_MAX_NAME, &text))
		return r->fail.code;
	if (text && has_control_chars(text))
		return req_fail(r, WG_ERR_VALIDATION, "display_name", "显示名称(display_name)不能含有控制字符(换行、制表符等)",
				"display_name must not contain control characters (line breaks, tabs …)");
	if (check_text(r, body, "role", 1, WG_MAX_ROLE_NAME, &text))
		return r->fail.code;
	if (text) {
		*role = rbac_role(text);
		if (!*role)
			return req_failf(r, WG_ERR_VALIDATION, "role", "未知角色 %s", "unknown role %s", text, text);
		if (rbac_reads_audit(*role))
			return req_failf(r, WG_ERR_FORBIDDEN, "role", "角色“%s”可查看审计记录:这类账户只能在服务器上用 wangge user 管理(职责分离)",
					 "the role %s reads the audit trail: such accounts are managed on the server with `wangge user`"
					 " (separation of duties)", (*role)->zh, (*role)->name);
		if (!rbac_may_manage(r->user->role, *role))
			return req_failf(r, WG_ERR_FORBIDDEN, "role", "您不能授予角色“%s”", "you may not grant the role %s",
					 (*role)->zh, (*role)->name);
	}
	v = json_object_get(body, "disabled");
	if (v && !json_is_boolean(v))
		return req_fail(r, WG_ERR_VALIDATION, "disabled", "disabled 应为布尔值", "disabled must be a boolean");
	v = json_object_get(body, "scope_node_id");
	if (v) {
		if (!json_is_integer(v) || json_integer_value(v) < 1)
			return req_fail(r, WG_ERR_VALIDATION, "scope_node_id", "scope_node_id 应为正整数", "scope_node_id must be a positive integer");
		*scope_node = json_integer_value(v);
		if (resource_node_path(r, *scope_node, "scope_node_id", scope_path, WG_MAX_GRID_PATH))
			return r->fail.code;
	}
	return 0;
}

static json_t *without_password(json_t *body)
{
	json_t *c = json_copy(body);
	if (c && json_object_get(c, "password"))
		json_object_set_new(c, "password", json_string("(changed)"));
	return c;
}

static int users_create(wg_req *r)
{
	const struct wg_role *role = NULL;
	int64_t scope_node = 0, id;
	char scope_path[WG_MAX_GRID_PATH], hash[128];
	json_t *u = NULL;
	if (check_user_body(r, r->body, NULL, &role, &scope_node, scope_path))
		return r->fail.code;
	const char *display = json_string_value(json_object_get(r->body, "display_name"));
	if (auth_hash_password(&r->app->config, json_string_value(json_object_get(r->body, "password")), hash))
		return req_fail(r, WG_ERR_NOMEM, NULL, NULL, NULL);
	wg_param p[] = { WG_PTEXT(json_string_value(json_object_get(r->body, "username"))), WG_PTEXT(hash),
			 WG_PTEXT(role->name), WG_PINT(scope_node), WG_PTEXT(display ? display : ""),
			 WG_PINT(json_is_true(json_object_get(r->body, "disabled"))), WG_PINT(r->now), WG_PINT(r->now) };
	int rc = store_int(r->db, "INSERT INTO users (username, password_hash, role, scope_node_id, display_name, disabled,"
			   " created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING id", p, 8, &id);
	if (rc == WG_ERR_CONFLICT)
		return req_fail(r, WG_ERR_CONFLICT, "username", "用户名已被使用", "username is already taken");
	if (rc)
		return req_fail(r, rc, NULL, NULL, NULL);
	json_t *change = without_password(r->body);
	rc = audit_req(r, "create", "users", id, scope_path, change);
	json_decref(change);
	if (rc || load_user(r, id, &u))
		return r->fail.code;
	return req_reply(r, 201, u);
}

static int users_patch(wg_req *r)
{
	json_t *u;
	const struct wg_role *role = NULL;
	int64_t scope_node = 0;
	char scope_path[WG_MAX_GRID_PATH] = "", hash[128] = "";
	if (load_user(r, r->id, &u))
		return r->fail.code;
	const struct wg_role *current = rbac_role(json_string_value(json_object_get(u, "role")));
	int64_t version = json_integer_value(json_object_get(u, "version"));
	const char *path = json_string_value(json_object_get(u, "scope_path"));
	char account[WG_MAX_USERNAME + 1];
	snprintf(scope_path, sizeof scope_path, "%s", path ? path : "");
	wg_copy_text(account, sizeof account, json_string_value(json_object_get(u, "username")));
	json_decref(u);
	bool self = r->id == r->user->id;
	if (!self && rbac_reads_audit(current))
		return req_fail(r, WG_ERR_FORBIDDEN, NULL, "审计管理员的账户只能在服务器上用 wangge user 管理(职责分离)",
				"an auditor's account is managed on the server with `wangge user` (separation of duties)");
	if (!self && (!current || !rbac_may_manage(r->user->role, current)))
		return req_fail(r, WG_ERR_FORBIDDEN, NULL, "您不能修改该账户", "you may not change this account");
	if (req_if_match(r, version))
		return r->fail.code;
	if (check_user_body(r, r->body, account, &role, &scope_node, scope_path))
		return r->fail.code;
	if (self && (role || scope_node || json_object_get(r->body, "disabled")))
		return req_fail(r, WG_ERR_FORBIDDEN, NULL, "不能修改自己的角色、管辖范围或停用自己",
				"you cannot change your own role or scope, or disable yourself");
	const char *password = json_string_value(json_object_get(r->body, "password"));
	/* One's own new password needs the current one: a session left open
	 * on a shared computer must not be enough to take the account. */
	if (self && password && api_confirm_password(r, "current_password"))
		return r->fail.code;
	json_object_del(r->body, "current_password");
	if (password && auth_hash_password(&r->app->config, password, hash))
		return req_fail(r, WG_ERR_NOMEM, NULL, NULL, NULL);
	json_t *jd = json_object_get(r->body, "display_name"), *jdis = json_object_get(r->body, "disabled");
	wg_param p[] = {
		WG_PINT(r->now), role ? WG_PTEXT(role->name) : WG_PNULL, WG_PINT(scope_node),
		jd ? WG_PTEXT(json_string_value(jd)) : WG_PNULL, WG_PINT(jdis ? json_is_true(jdis) : -1),
		WG_PTEXT(hash), WG_PINT(r->id), WG_PINT(version),
	};
	wg_stmt *s;
	int rc = store_query(r->db,
		"UPDATE users SET version = version + 1, updated_at = ?, role = COALESCE(?, role),"
		" scope_node_id = CASE WHEN ? = 0 THEN scope_node_id ELSE ? END,"
		" display_name = COALESCE(?, display_name), disabled = CASE WHEN ? < 0 THEN disabled ELSE ? END,"
		" password_hash = CASE WHEN ? = '' THEN password_hash ELSE ? END WHERE id = ? AND version = ?",
		(wg_param[]){ p[0], p[1], p[2], p[2], p[3], p[4], p[4], p[5], p[5], p[6], p[7] }, 11, &s);
	if (rc)
		return req_fail(r, rc, NULL, NULL, NULL);
	int64_t changed = stmt_changes(s);
	stmt_done(s);
	if (!changed)
		return req_fail(r, WG_ERR_PRECONDITION, "version", NULL, NULL);
	if (password || json_is_true(jdis)) {
		wg_param d[] = { WG_PINT(r->id) };
		if ((rc = store_run(r->db, "DELETE FROM sessions WHERE user_id = ?", d, 1)))
			return req_fail(r, rc, NULL, NULL, NULL);
	}
	json_t *change = without_password(r->body);
	rc = audit_req(r, "update", "users", r->id, scope_path, change);
	json_decref(change);
	if (rc)
		return rc;
	auth_forget_sessions(r->app, r->id);
	if (load_user(r, r->id, &u))
		return r->fail.code;
	return req_reply(r, 200, u);
}

static const struct wg_route account_routes[] = {
	{ "GET",   "/api/v1/users",      users_list,   &right_USER_READ,  ROUTE_SNAPSHOT, NULL },
	{ "POST",  "/api/v1/users",      users_create, &right_USER_WRITE, ROUTE_WRITE | ROUTE_JSON, NULL },
	{ "GET",   "/api/v1/users/{id}", users_get,    &right_USER_READ,  0, NULL },
	{ "PATCH", "/api/v1/users/{id}", users_patch,  NULL,              ROUTE_WRITE | ROUTE_JSON, NULL },
};

const struct wg_module accounts_api = {
	.name = "accounts", .zh = "账户", .en = "accounts",
	.routes = account_routes, .nroutes = WG_COUNT(account_routes),
};
