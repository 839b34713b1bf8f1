/* The audit trail as the auditor reads it: GET /api/v1/audit, newest first. */
#include "core/api/api.h"
#include "core/app/module.h"
#include "core/audit/audit.h"
#include "core/auth/scope.h"
#include "core/lib/err.h"
#include "core/lib/json.h"
#include "core/lib/limits.h"
#include "core/lib/timefmt.h"

#include <string.h>

static json_t *audit_item(wg_req *r, wg_stmt *s, void *ctx)
{
	(void)r;
	(void)ctx;
	json_t *o = json_pack("{s:I, s:I, s:I, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s}",
			      "id", (json_int_t)stmt_int(s, 0), "user_id", (json_int_t)stmt_int(s, 2),
			      "events", (json_int_t)stmt_int(s, 11),
			      "username", stmt_text(s, 3), "address", stmt_text(s, 4), "action", stmt_text(s, 5),
			      "resource", stmt_text(s, 6), "record_id", stmt_text(s, 7), "node_path", stmt_text(s, 8),
			      "hash", stmt_text(s, 9), "change_hash", stmt_text(s, 10));
	if (o && json_set_time(o, "at", stmt_int(s, 1))) {
		json_decref(o);
		return NULL;
	}
	return o;
}

/* ?name=TEXT: exact, at most a field's length; "" when absent. */
static int exact_query(wg_req *r, const char *key, size_t max, const char **out)
{
	*out = req_query(r, key);
	if (!*out)
		*out = "";
	if (strlen(*out) > max)
		return req_failf(r, WG_ERR_BAD_QUERY, key, "查询参数 %s 过长", "query parameter %s is too long", key, key);
	return 0;
}

/* ?from= / ?to=: a time as people type it (Unix seconds, ISO 8601, local). */
static int audit_list(wg_req *r)
{
	static const char *const allowed[] = { "limit", "cursor", "resource", "action", "user", "record", "from", "to", NULL };
	struct wg_pager pg = { 0 };
	const char *resource, *action, *user, *record;
	int64_t from, to;
	/* Who revealed whose ID number: ?action=reveal&resource=persons&record=42; a person's doings: ?user=. */
	if (req_check_query(r, allowed) || pager_start(r, &pg, 100, false) || exact_query(r, "resource", 32, &resource) ||
	    exact_query(r, "action", 32, &action) || exact_query(r, "user", WG_MAX_USERNAME, &user) ||
	    exact_query(r, "record", 64, &record) || req_query_time(r, "from", 0, &from) || req_query_time(r, "to", INT64_MAX, &to))
		goto out;
	char lo[WG_MAX_GRID_PATH + 2], hi[WG_MAX_GRID_PATH + 2];
	scope_range(r->user->scope_path, lo, hi, sizeof lo);
	/* Records with no node (failed sign-ins, system events) are visible to
	 * an auditor of the whole tree only: the scope path of a root is "/N/". */
	int depth = 0;
	for (const char *c = r->user->scope_path; *c; c++)
		depth += *c == '/';
#define AUDIT_FROM " FROM audit WHERE (? = '' OR resource = ?) AND (? = '' OR action = ?) AND (? = '' OR username = ?)" \
		   " AND (? = '' OR record_id = ?) AND at >= ? AND at <= ?" \
		   " AND ((node_path >= ? AND node_path < ?) OR (node_path = '' AND ? = 1))"
	wg_param p[] = { WG_PTEXT(resource), WG_PTEXT(resource), WG_PTEXT(action), WG_PTEXT(action), WG_PTEXT(user),
			 WG_PTEXT(user), WG_PTEXT(record), WG_PTEXT(record), WG_PINT(from), WG_PINT(to), WG_PTEXT(lo),
			 WG_PTEXT(hi), WG_PINT(depth == 2), WG_PINT(pg.cursor), WG_PINT(pg.cursor), WG_PINT(pg.limit + 1) };
	/* The trail is read by id only (no other index): the count stops at a cap. */
	if (!pager_rows(r, &pg,
			"SELECT id, at, COALESCE(user_id, 0), username, address, action, resource, record_id, node_path, hash,"
			" change_hash, events" AUDIT_FROM " AND (? = 0 OR id < ?) ORDER BY id DESC LIMIT ?", p, 16, 0, audit_item, NULL) &&
	    !pager_count(r, &pg, AUDIT_FROM, p, 13, WG_MAX_SEARCH_COUNT))
		return pager_reply(r, &pg);
#undef AUDIT_FROM
out:
	pager_release(&pg);
	return r->fail.code;
}

/* POST /api/v1/audit/verify: what `wangge audit verify` says, for the
 * auditor's page. Read-only (no transaction held while the chain is read);
 * the check itself is recorded. */
static int audit_verify_handler(wg_req *r)
{
	static const char *const allowed[] = { NULL };
	struct audit_verify_result res;
	if (req_check_body(r, allowed))
		return r->fail.code;
	int rc = audit_verify(r->app, NULL, &res);
	if (rc)
		return req_fail(r, rc, NULL, NULL, NULL);
	if (audit_read(r, "verify", "system", 0, r->user->scope_path))
		return r->fail.code;
	json_t *out = json_pack("{s:b, s:I, s:I, s:I, s:s}", "intact", res.first_bad_id == 0, "records", (json_int_t)res.records,
				"checkpoints", (json_int_t)res.checkpoints, "archives", (json_int_t)res.archives,
				"reason", res.first_bad_id ? res.reason : "");
	if (out && res.first_bad_id) {
		/* The chain's reasons read "English / 中文": each language on its own too. */
		const char *cut = strstr(res.reason, " / ");
		json_object_set_new(out, "first_bad_id", json_integer(res.first_bad_id));
		json_object_set_new(out, "reason_en", cut ? json_stringn(res.reason, (size_t)(cut - res.reason)) : json_string(res.reason));
		json_object_set_new(out, "reason_zh", json_string(cut ? cut + 3 : res.reason));
	}
	return out ? req_reply(r, 200, out) : req_fail(r, WG_ERR_NOMEM, NULL, NULL, NULL);
}

static const struct wg_route audit_routes[] = {
	{ "GET",  "/api/v1/audit",        audit_list,           &right_AUDIT_READ, 0, NULL },
	{ "POST", "/api/v1/audit/verify", audit_verify_handler, &right_AUDIT_READ, ROUTE_JSON, NULL },
};

const struct wg_module audit_api = {
	.name = "audit", .zh = "审计", .en = "audit",
	.routes = audit_routes, .nroutes = WG_COUNT(audit_routes),
};
