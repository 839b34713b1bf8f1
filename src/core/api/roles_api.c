/* Roles and rights (/api/v1/roles, /api/v1/rights), as 角色管理 in a back
 * office: every role with its rights; an administrator (SYSTEM) adds roles
 * made of rights they hold themselves, edits them, removes unused ones.
 * The admin role itself is not edited, nor a built-in role removed; the
 * separation of duties (rbac.h) holds for every role saved. */
#include "core/api/api.h"
#include "core/app/module.h"
#include "core/audit/audit.h"
#include "core/auth/auth.h"
#include "core/auth/roles.h"
#include "core/lib/err.h"
#include "core/lib/limits.h"

#include <stdio.h>
#include <string.h>

static json_t *rights_json(const struct wg_rights *set)
{
	json_t *a = json_array();
	for (int i = 0; a && i < rights_count(); i++)
		if (rights_has(set, right_at(i)))
			json_array_append_new(a, json_string(right_at(i)->name));
	return a;
}

static json_t *role_json(const struct wg_role *role)
{
	return json_pack("{s:I, s:s, s:s, s:s, s:i, s:b, s:I, s:o}", "id", (json_int_t)role->id, "name", role->name,
			 "zh", role->zh, "en", role->en, "rank", role->rank, "builtin", role->builtin,
			 "version", (json_int_t)role->version, "rights", rights_json(&role->rights));
}

/* GET /api/v1/roles: every role, highest rank first. */
static int roles_list(wg_req *r)
{
	const struct wg_role *roles[WG_MAX_ROLES];
	size_t n = rbac_roles(roles, WG_MAX_ROLES);
	json_t *items = json_array();
	for (size_t i = 0; items && i < n; i++)
		json_array_append_new(items, role_json(roles[i]));
	return items ? req_reply(r, 200, json_pack("{s:o, s:I}", "items", items, "total", (json_int_t)n))
		     : req_fail(r, WG_ERR_NOMEM, NULL, NULL, NULL);
}

/* GET /api/v1/rights: every right, in module order, with its labels. */
static int rights_list(wg_req *r)
{
	json_t *items = json_array();
	for (int i = 0; items && i < rights_count(); i++) {
		const struct wg_right *x = right_at(i);
		json_array_append_new(items, json_pack("{s:s, s:s, s:s, s:s, s:b, s:b}", "name", x->name, "zh", x->zh, "en", x->en,
						       "module", x->module ? x->module : "", "writes", (x->flags & RIGHT_WRITES) != 0,
						       "personal", (x->flags & RIGHT_PERSONAL) != 0));
	}
	return items ? req_reply(r, 200, json_pack("{s:o, s:I}", "items", items, "total", (json_int_t)rights_count()))
		     : req_fail(r, WG_ERR_NOMEM, NULL, NULL, NULL);
}

static bool role_name_ok(const char *s)
{
	size_t n = strlen(s);
	if (n < 2 || n > WG_MAX_ROLE_NAME || s[0] < 'a' || s[0] > 'z')
		return false;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '_'))
			return false;
	return true;
}

static int check_label(wg_req *r, const char *key, bool required)
{
	json_t *v = json_object_get(r->body, key);
	if (!v)
		return required ? req_failf(r, WG_ERR_REQUIRED, key, "缺少必填字段 %s", "required field %s is missing", key, key) : 0;
	size_t chars = 0;
	for (const char *c = json_string_value(v); c && *c; c++) {
		chars += ((unsigned char)*c & 0xC0) != 0x80;
		if ((unsigned char)*c < 0x20)
			chars = WG_MAX_ROLE_LABEL + 1;
	}
	if (!json_is_string(v) || chars < 1 || chars > WG_MAX_ROLE_LABEL)
		return req_failf(r, WG_ERR_VALIDATION, key, "%s 应为 1 到 %u 个字符的文本(不含控制字符)",
				 "%s must be a text of 1 to %u characters (no control characters)", key, WG_MAX_ROLE_LABEL,
				 key, WG_MAX_ROLE_LABEL);
	return 0;
}

/* The body's rank and rights, checked against the actor: a rank below
 * their own, rights they hold, no conflict of duties. kept: the role's
 * rights before a change (NULL for a new role); those may stay even when
 * the actor does not hold them, since keeping grants nothing new (the
 * administrator takes a right off the command center's role without
 * holding the rest of its rights herself). */
static int check_grants(wg_req *r, int *rank, struct wg_rights *set, bool required, const struct wg_rights *kept)
{
	const struct wg_role *actor = r->user->role;
	json_t *v = json_object_get(r->body, "rank");
	int top = actor->rank - 1;
	if (v && (!json_is_integer(v) || json_integer_value(v) < 1 || json_integer_value(v) > top))
		return req_failf(r, WG_ERR_VALIDATION, "rank", "rank 应为 1 到 %d 的整数(低于您自己的角色)",
				 "rank must be an integer from 1 to %d (below your own role's)", top, top);
	if (!v && required)
		return req_fail(r, WG_ERR_REQUIRED, "rank", "缺少必填字段 rank", "required field rank is missing");
	if (v)
		*rank = (int)json_integer_value(v);
	json_t *list = json_object_get(r->body, "rights"), *e;
	size_t i;
	if (!list)
		return required ? req_fail(r, WG_ERR_REQUIRED, "rights", "缺少必填字段 rights", "required field rights is missing") : 0;
	if (!json_is_array(list) || json_array_size(list) > WG_MAX_RIGHTS)
		return req_fail(r, WG_ERR_VALIDATION, "rights", "rights 应为权限名称的数组", "rights must be an array of right names");
	memset(set, 0, sizeof *set);
	json_array_foreach(list, i, e) {
		const struct wg_right *right = json_is_string(e) ? right_named(json_string_value(e)) : NULL;
		if (!right)
			return req_failf(r, WG_ERR_VALIDATION, "rights", "rights[%zu] 不是已知的权限", "rights[%zu] is not a known right", i, i);
		if (rights_has(set, right))
			return req_failf(r, WG_ERR_VALIDATION, "rights", "权限 %s 重复", "right %s is listed twice", right->name, right->name);
		if (!rbac_allows(actor, right) && !(kept && rights_has(kept, right)))
			return req_failf(r, WG_ERR_FORBIDDEN, "rights", "您没有权限 %s(%s),不能授予", "you do not hold %s (%s) and may not grant it",
					 right->name, right->zh, right->name, right->en);
		rights_add(set, right);
	}
	const char *en, *zh = rights_conflict(set, &en);
	return zh ? req_fail(r, WG_ERR_VALIDATION, "rights", zh, en) : 0;
}

static int store_rights(wg_req *r, int64_t id, const struct wg_rights *set)
{
	wg_param p[] = { WG_PINT(id) };
	int rc = store_run(r->db, "DELETE FROM role_rights WHERE role_id = ?", p, 1);
	for (int i = 0; !rc && i < rights_count(); i++) {
		if (!rights_has(set, right_at(i)))
			continue;
		wg_param q[] = { WG_PINT(id), WG_PTEXT(right_at(i)->name) };
		rc = store_run(r->db, "INSERT INTO role_rights (role_id, right_name) VALUES (?, ?)", q, 2);
	}
	return rc;
}

/* After a change in this transaction: every process reloads; this one now. */
static int reload(wg_req *r, int64_t id, int status)
{
	int rc = roles_bump(r->db);
	if (!rc)
		rc = roles_load(r->db);
	if (rc)
		return req_fail(r, rc, NULL, NULL, NULL);
	auth_forget_sessions(r->app, 0);
	if (status == 204)
		return req_reply(r, 204, NULL);
	const struct wg_role *role = rbac_role_by_id(id);
	return role ? req_reply(r, status, role_json(role)) : req_fail(r, WG_ERR_INTERNAL, NULL, NULL, NULL);
}

/* POST /api/v1/roles {name, zh, en, rank, rights} */
static int roles_create(wg_req *r)
{
	static const char *const allowed[] = { "name", "zh", "en", "rank", "rights", NULL };
	struct wg_rights set;
	int rank = 0;
	int64_t id;
	if (req_check_body(r, allowed))
		return r->fail.code;
	json_t *name = json_object_get(r->body, "name");
	if (!name)
		return req_fail(r, WG_ERR_REQUIRED, "name", "缺少必填字段 name", "required field name is missing");
	if (!json_is_string(name) || !role_name_ok(json_string_value(name)))
		return req_failf(r, WG_ERR_VALIDATION, "name", "角色名称应为 2 到 %u 个小写字母、数字或 _,以字母开头",
				 "name must be 2 to %u lower-case letters, digits or _, starting with a letter",
				 WG_MAX_ROLE_NAME, WG_MAX_ROLE_NAME);
	if (check_label(r, "zh", true) || check_label(r, "en", true) || check_grants(r, &rank, &set, true, NULL))
		return r->fail.code;
	wg_param p[] = { WG_PTEXT(json_string_value(name)), WG_PTEXT(json_string_value(json_object_get(r->body, "zh"))),
			 WG_PTEXT(json_string_value(json_object_get(r->body, "en"))), WG_PINT(rank), WG_PINT(r->now), WG_PINT(r->now) };
	int rc = store_insert(r->db, "INSERT INTO roles (name, zh, en, rank, builtin, created_at, updated_at)"
			      " VALUES (?, ?, ?, ?, 0, ?, ?)", p, 6, &id);
	if (rc == WG_ERR_CONFLICT || rc == WG_ERR_NOT_FOUND)
		return req_failf(r, WG_ERR_CONFLICT, "name", "角色名称 %s 已被使用", "the role name %s is taken",
				 json_string_value(name), json_string_value(name));
	if (rc || (rc = store_rights(r, id, &set)))
		return req_fail(r, rc, NULL, NULL, NULL);
	if (audit_req(r, "create", "roles", id, "", r->body))
		return r->fail.code;
	return reload(r, id, 201);
}

/* The role of the path, which the caller may change (not admin; 404 unknown). */
static int editable(wg_req *r, const struct wg_role **role)
{
	*role = rbac_role_by_id(r->id);
	if (!*role)
		return req_failf(r, WG_ERR_NOT_FOUND, NULL, "角色 %lld 不存在", "no role %lld", (long long)r->id, (long long)r->id);
	if (strcmp((*role)->name, "admin") == 0 || strcmp((*role)->name, r->user->role->name) == 0)
		return req_fail(r, WG_ERR_FORBIDDEN, NULL, "不能修改系统管理员角色或您自己的角色",
				"the admin role and your own role cannot be changed");
	/* Separation of duties: the administrator neither reshapes nor removes
	 * the role that audits her (rbac_may_manage says the same of accounts). */
	if (rbac_reads_audit(*role) && !rbac_reads_audit(r->user->role))
		return req_failf(r, WG_ERR_FORBIDDEN, NULL, "角色“%s”可查看审计记录,不能由被审计的管理员修改或删除(职责分离)",
				 "the role %s reads the audit trail: those it audits may not change or delete it (separation of duties)",
				 (*role)->zh, (*role)->name);
	return req_if_match(r, (*role)->version);
}

/* PATCH /api/v1/roles/{id} {zh?, en?, rank?, rights?} */
static int roles_patch(wg_req *r)
{
	static const char *const allowed[] = { "zh", "en", "rank", "rights", NULL };
	const struct wg_role *role;
	if (req_check_body(r, allowed) || editable(r, &role))
		return r->fail.code;
	struct wg_rights set = role->rights;
	int rank = role->rank;
	int64_t version = role->version;
	if (check_label(r, "zh", false) || check_label(r, "en", false) || check_grants(r, &rank, &set, false, &role->rights))
		return r->fail.code;
	json_t *zh = json_object_get(r->body, "zh"), *en = json_object_get(r->body, "en");
	wg_param p[] = { WG_PINT(r->now), zh ? WG_PTEXT(json_string_value(zh)) : WG_PNULL,
			 en ? WG_PTEXT(json_string_value(en)) : WG_PNULL, WG_PINT(rank), WG_PINT(r->id), WG_PINT(version) };
	wg_stmt *s;
	int rc = store_query(r->db, "UPDATE roles SET version = version + 1, updated_at = ?, zh = COALESCE(?, zh),"
			     " en = COALESCE(?, en), rank = ? WHERE id = ? AND version = ?", p, 6, &s);
	if (rc)
		return req_fail(r, rc, NULL, NULL, NULL);
	int64_t changed = stmt_changes(s);
	stmt_done(s);
	if (!changed)
		return req_fail(r, WG_ERR_PRECONDITION, "version", NULL, NULL);
	if (json_object_get(r->body, "rights") && (rc = store_rights(r, r->id, &set)))
		return req_fail(r, rc, NULL, NULL, NULL);
	if (audit_req(r, "update", "roles", r->id, "", r->body))
		return r->fail.code;
	return reload(r, r->id, 200);
}

/* DELETE /api/v1/roles/{id}: a role of one's own making that no account holds. */
static int roles_delete(wg_req *r)
{
	const struct wg_role *role;
	int64_t users = 0;
	if (editable(r, &role))
		return r->fail.code;
	if (role->builtin)
		return req_failf(r, WG_ERR_CONFLICT, NULL, "内置角色“%s”不能删除", "the built-in role %s cannot be deleted",
				 role->zh, role->name);
	wg_param p[] = { WG_PTEXT(role->name) };
	int rc = store_int(r->db, "SELECT COUNT(*) FROM users WHERE role = ?", p, 1, &users);
	if (rc)
		return req_fail(r, rc, NULL, NULL, NULL);
	if (users)
		return req_failf(r, WG_ERR_CONFLICT, NULL, "仍有 %lld 个账户使用角色“%s”,不能删除",
				 "%lld account(s) still hold the role %s", (long long)users, role->zh, (long long)users, role->name);
	wg_param q[] = { WG_PINT(r->id) };
	if ((rc = store_run(r->db, "DELETE FROM role_rights WHERE role_id = ?", q, 1)) ||
	    (rc = store_run(r->db, "DELETE FROM roles WHERE id = ?", q, 1)))
		return req_fail(r, rc, NULL, NULL, NULL);
	if (audit_req(r, "delete", "roles", r->id, "", NULL))
		return r->fail.code;
	return reload(r, 0, 204);
}

static const struct wg_route role_routes[] = {
	{ "GET",    "/api/v1/roles",      roles_list,   NULL,           ROUTE_NO_DB, NULL },
	{ "POST",   "/api/v1/roles",      roles_create, &right_SYSTEM,  ROUTE_WRITE | ROUTE_JSON, NULL },
	{ "PATCH",  "/api/v1/roles/{id}", roles_patch,  &right_SYSTEM,  ROUTE_WRITE | ROUTE_JSON, NULL },
	{ "DELETE", "/api/v1/roles/{id}", roles_delete, &right_SYSTEM,  ROUTE_WRITE, NULL },
	{ "GET",    "/api/v1/rights",     rights_list,  NULL,           ROUTE_NO_DB, NULL },
};

const struct wg_module roles_api = {
	.name = "roles", .zh = "角色与权限", .en = "roles and rights",
	.routes = role_routes, .nroutes = WG_COUNT(role_routes),
};
