/* The login log and the online sessions (等保 2.0: 登录日志, 在线会话与强制下线):
 *   GET    /api/v1/logins          sign-ins and their outcomes (SYSTEM), newest first
 *   GET    /api/v1/sessions        sessions alive now: every one in scope for
 *                                  SYSTEM, one's own for everyone else
 *   DELETE /api/v1/sessions/{id}   forced sign-out: one's own, or (SYSTEM) an
 *                                  account's in scope whose role one may manage
 * Times come as Unix seconds and as local ISO 8601 (…_text). */
#include "core/api/api.h"
#include "core/app/module.h"
#include "core/audit/audit.h"
#include "core/auth/auth.h"
#include "core/auth/scope.h"
#include "core/lib/err.h"
#include "core/lib/limits.h"
#include "core/lib/timefmt.h"

#include <stdio.h>
#include <string.h>

static json_t *time_text(int64_t t)
{
	char text[WG_TIME_ISO];
	wg_time_iso(t, text);
	return json_string(text);
}

/* The caller's subtree as a path range, and whether records with no node
 * (unknown names) are hers to see: only at the root of the tree. */
static bool scope_of_caller(wg_req *r, char *lo, char *hi, size_t size)
{
	int depth = 0;
	scope_range(r->user->scope_path, lo, hi, size);
	for (const char *c = r->user->scope_path; *c; c++)
		depth += *c == '/';
	return depth == 2;
}

/* ---- GET /api/v1/logins ---- */

static json_t *login_item(wg_req *r, wg_stmt *s, void *ctx)
{
	(void)r;
	(void)ctx;
	return json_pack("{s:I, s:I, s:o, s:s, s:s, s:s}", "id", (json_int_t)stmt_int(s, 0), "at", (json_int_t)stmt_int(s, 1),
			 "at_text", time_text(stmt_int(s, 1)), "username", stmt_text(s, 2), "address", stmt_text(s, 3),
			 "outcome", stmt_text(s, 4));
}

static int logins_list(wg_req *r)
{
	/* from/to as on the audit trail; since/until as before. */
	static const char *const allowed[] = { "user", "outcome", "from", "to", "since", "until", "limit", "cursor", NULL };
	char lo[WG_MAX_GRID_PATH + 2], hi[WG_MAX_GRID_PATH + 2];
	struct wg_pager pg = { 0 };
	int64_t since, until;
	if (req_check_query(r, allowed) || pager_start(r, &pg, WG_DEFAULT_LIST_LIMIT, false) ||
	    req_query_time(r, req_query(r, "from") ? "from" : "since", 0, &since) ||
	    req_query_time(r, req_query(r, "to") ? "to" : "until", INT64_MAX, &until))
		goto out;
	const char *user = req_query(r, "user"), *outcome = req_query(r, "outcome");
	if (user && strlen(user) > WG_MAX_USERNAME) {
		req_fail(r, WG_ERR_BAD_QUERY, "user", "user 过长", "user is too long");
		goto out;
	}
	if (outcome && !auth_login_outcome_known(outcome)) {
		req_failf(r, WG_ERR_BAD_QUERY, "outcome", "未知的登录结果 %s(可选 ok、wrong_password、unknown_user、locked、disabled、"
			  "totp_required、wrong_totp、too_long)", "unknown outcome %s (one of ok, wrong_password, unknown_user, locked, "
			  "disabled, totp_required, wrong_totp, too_long)", outcome, outcome);
		goto out;
	}
	bool root = scope_of_caller(r, lo, hi, sizeof lo);
#define LOGINS_FROM " FROM logins WHERE ((node_path >= ? AND node_path < ?) OR (node_path = '' AND ? = 1))" \
		    " AND (? = '' OR username = ?) AND (? = '' OR outcome = ?) AND at >= ? AND at <= ?"
	wg_param p[] = { WG_PTEXT(lo), WG_PTEXT(hi), WG_PINT(root), WG_PTEXT(user ? user : ""), WG_PTEXT(user ? user : ""),
			 WG_PTEXT(outcome ? outcome : ""), WG_PTEXT(outcome ? outcome : ""), WG_PINT(since), WG_PINT(until),
			 WG_PINT(pg.cursor), WG_PINT(pg.cursor), WG_PINT(pg.limit + 1) };
	if (!pager_rows(r, &pg, "SELECT id, at, username, address, outcome" LOGINS_FROM " AND (? = 0 OR id < ?)"
			" ORDER BY id DESC LIMIT ?", p, 12, 0, login_item, NULL) &&
	    !pager_count(r, &pg, LOGINS_FROM, p, 9, WG_MAX_SEARCH_COUNT))
		return pager_reply(r, &pg);
#undef LOGINS_FROM
out:
	pager_release(&pg);
	return r->fail.code;
}

/* ---- GET /api/v1/sessions ---- */

static json_t *session_item(wg_req *r, wg_stmt *s, void *ctx)
{
	(void)ctx;
	int64_t id = stmt_int(s, 0), created = stmt_int(s, 7), seen = stmt_int(s, 8);
	return json_pack("{s:I, s:I, s:s, s:s, s:s, s:s, s:I, s:o, s:I, s:o, s:b}", "id", (json_int_t)id,
			 "user_id", (json_int_t)stmt_int(s, 1), "username", stmt_text(s, 2), "display_name", stmt_text(s, 3),
			 "role", stmt_text(s, 4), "address", stmt_text(s, 5), "created_at", (json_int_t)created,
			 "created_at_text", time_text(created), "last_seen", (json_int_t)seen, "last_seen_text", time_text(seen),
			 "current", id == r->user->session_id);
}

static int sessions_list(wg_req *r)
{
	static const char *const allowed[] = { "user", "limit", "cursor", NULL };
	char lo[WG_MAX_GRID_PATH + 2], hi[WG_MAX_GRID_PATH + 2];
	struct wg_pager pg = { 0 };
	if (req_check_query(r, allowed) || pager_start(r, &pg, WG_DEFAULT_LIST_LIMIT, false))
		goto out;
	scope_of_caller(r, lo, hi, sizeof lo);
	/* A system administrator sees every account's in her scope, everyone else their own. */
	bool all = rbac_allows(r->user->role, &right_SYSTEM);
	const struct wg_config *cfg = &r->app->config;
#define SESSIONS_FROM " FROM sessions s JOIN users u ON u.id = s.user_id JOIN grid_nodes g ON g.id = u.scope_node_id" \
		      " WHERE s.last_seen >= ? AND s.created_at >= ?" \
		      " AND ((? = 1 AND g.path >= ? AND g.path < ?) OR s.user_id = ?) AND (? = '' OR u.username = ?)"
	/* ?user=<username>: one account's sessions (the admin about to sign it out everywhere). */
	const char *user = req_query(r, "user");
	user = user ? user : "";
	wg_param p[] = { WG_PINT(r->now - cfg->session_idle_seconds), WG_PINT(r->now - cfg->session_absolute_seconds),
			 WG_PINT(all), WG_PTEXT(lo), WG_PTEXT(hi), WG_PINT(r->user->id), WG_PTEXT(user), WG_PTEXT(user),
			 WG_PINT(pg.cursor), WG_PINT(pg.cursor), WG_PINT(pg.limit + 1) };
	if (!pager_rows(r, &pg, "SELECT s.id, s.user_id, u.username, u.display_name, u.role, s.address, 0, s.created_at,"
			" s.last_seen" SESSIONS_FROM " AND (? = 0 OR s.id < ?) ORDER BY s.id DESC LIMIT ?", p, 11, 0, session_item, NULL) &&
	    !pager_count(r, &pg, SESSIONS_FROM, p, 8, 0))
		return pager_reply(r, &pg);
#undef SESSIONS_FROM
out:
	pager_release(&pg);
	return r->fail.code;
}

/* ---- DELETE /api/v1/sessions/{id} ---- */

static int session_end(wg_req *r)
{
	wg_stmt *s;
	wg_param p[] = { WG_PINT(r->id) };
	int rc = store_query(r->db, "SELECT s.user_id, u.role, g.path FROM sessions s JOIN users u ON u.id = s.user_id"
			     " JOIN grid_nodes g ON g.id = u.scope_node_id WHERE s.id = ?", p, 1, &s);
	if (rc)
		return req_fail(r, rc, NULL, NULL, NULL);
	rc = stmt_next(s);
	int64_t owner = rc == 1 ? stmt_int(s, 0) : 0;
	const struct wg_role *role = rc == 1 ? rbac_role(stmt_text(s, 1)) : NULL;
	char path[WG_MAX_GRID_PATH] = "";
	if (rc == 1)
		snprintf(path, sizeof path, "%s", stmt_text(s, 2));
	stmt_done(s);
	if (rc < 0)
		return req_fail(r, -rc, NULL, NULL, NULL);
	bool own = owner == r->user->id;
	bool admin = rbac_allows(r->user->role, &right_SYSTEM);
	/* Another's session is not there for whoever may not see it. */
	if (!owner || (!own && (!admin || !scope_contains(r->user->scope_path, path))))
		return req_failf(r, WG_ERR_NOT_FOUND, NULL, "会话 %lld 不存在或不在您的管辖范围内",
				 "session %lld does not exist or is outside your scope", (long long)r->id, (long long)r->id);
	/* Separation of duties: the administrator does not sign the auditor out. */
	if (!own && (!role || rbac_reads_audit(role) || !rbac_may_manage(r->user->role, role)))
		return req_fail(r, WG_ERR_FORBIDDEN, NULL, "您不能让该账户下线(审计管理员或级别不低于您的账户)",
				"you may not sign this account out (an auditor, or an account not below yours)");
	rc = auth_sessions_end(r->db, owner, r->id);
	if (!rc)
		rc = audit_req(r, own ? "logout" : "logout_forced", "session", r->id, path, NULL);
	if (rc)
		return r->fail.code ? r->fail.code : req_fail(r, rc, NULL, NULL, NULL);
	auth_forget_sessions(r->app, owner);
	return req_reply(r, 204, NULL);
}

static const struct wg_route sessions_routes[] = {
	{ "GET",    "/api/v1/logins",        logins_list,   &right_SYSTEM, ROUTE_SNAPSHOT, NULL },
	{ "GET",    "/api/v1/sessions",      sessions_list, NULL,          ROUTE_SNAPSHOT, NULL },
	{ "DELETE", "/api/v1/sessions/{id}", session_end,   NULL,          ROUTE_WRITE, NULL },
};

const struct wg_module sessions_api = {
	.name = "sessions", .zh = "登录日志与在线会话", .en = "login log and sessions",
	.routes = sessions_routes, .nroutes = WG_COUNT(sessions_routes),
};
