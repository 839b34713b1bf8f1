/* The contacts "apply" could not place, as a queue the command center
 * works: each resolved to a person, a community, handed over or closed.
 * A phone-only subject is matched to registry persons again at each apply,
 * since they may have been registered since. */
#include "tracing/tracing_int.h"
#include "core/audit/audit.h"
#include "core/auth/scope.h"
#include "core/lib/err.h"
#include "core/lib/limits.h"
#include "core/lib/ident.h"
#include "core/lib/json.h"
#include "core/resource/resource.h"

#include <stdio.h>
#include <string.h>


/* ---- apply ---- */

/* Each step takes the case id for each of its parameters; the statements
 * stay plain SQL that SQLite and PostgreSQL both run. */
#define KIND_ORDER(t) "CASE " t ".kind WHEN 'close' THEN 0 WHEN 'secondary' THEN 1 ELSE 2 END"

static const char *const prepare_steps[] = {
	/* Nobody placed yet: a new apply decides afresh. */
	"UPDATE case_contacts SET community_id = NULL, located_person_id = NULL WHERE case_id = ?",
	/* A subject is the one registry person who now has its phone, unless a
	 * resolution already said who or what it is. */
	"UPDATE case_contacts SET located_person_id = (SELECT MIN(p.id) FROM trace_subjects s, registry_people p"
	" WHERE s.id = case_contacts.person_id AND p.phone_bidx = s.phone_bidx HAVING COUNT(*) = 1)"
	" WHERE case_id = ? AND person_id >= 2147483648 AND NOT EXISTS (SELECT 1 FROM contact_locates l"
	" WHERE l.case_id = case_contacts.case_id AND l.trace_id = case_contacts.person_id AND l.status <> 'open')",
	/* A resolution to a person. */
	"UPDATE case_contacts SET located_person_id = (SELECT l.person_id FROM contact_locates l"
	" WHERE l.case_id = case_contacts.case_id AND l.trace_id = case_contacts.person_id AND l.status = 'person')"
	" WHERE case_id = ? AND EXISTS (SELECT 1 FROM contact_locates l"
	" WHERE l.case_id = case_contacts.case_id AND l.trace_id = case_contacts.person_id AND l.status = 'person')",
	/* Where the person lives now (a subject without a person: nowhere). */
	"UPDATE case_contacts SET node_path = COALESCE((SELECT p.node_path FROM registry_people p"
	" WHERE p.id = COALESCE(case_contacts.located_person_id, case_contacts.person_id)), '') WHERE case_id = ?",
	/* A resolution to a community or village node. */
	"UPDATE case_contacts SET node_path = (SELECT g.path FROM contact_locates l, grid_nodes g"
	" WHERE l.case_id = case_contacts.case_id AND l.trace_id = case_contacts.person_id AND l.status = 'community'"
	" AND g.id = l.node_id) WHERE case_id = ? AND EXISTS (SELECT 1 FROM contact_locates l, grid_nodes g"
	" WHERE l.case_id = case_contacts.case_id AND l.trace_id = case_contacts.person_id AND l.status = 'community'"
	" AND g.id = l.node_id)",
	/* One person, two engine ids (a phone subject matched to a person who
	 * is also a contact by id): the weaker row is marked, the stronger kept;
	 * close before secondary, companions apart, then the longer exposure. */
	"UPDATE case_contacts SET duplicate = 0 WHERE case_id = ? AND duplicate <> 0",
	"UPDATE case_contacts SET duplicate = 1 WHERE case_id = ?"
	" AND ((person_id >= 2147483648 AND located_person_id IS NOT NULL)"
	" OR person_id IN (SELECT m.located_person_id FROM case_contacts m WHERE m.case_id = ?"
	" AND m.kind IN ('close', 'secondary', 'companion') AND m.person_id >= 2147483648 AND m.located_person_id IS NOT NULL))"
	" AND EXISTS (SELECT 1 FROM case_contacts o WHERE o.case_id = case_contacts.case_id"
	" AND o.kind IN ('close', 'secondary', 'companion')"
	" AND (o.person_id = COALESCE(case_contacts.located_person_id, case_contacts.person_id)"
	" OR (o.person_id >= 2147483648 AND o.located_person_id = COALESCE(case_contacts.located_person_id, case_contacts.person_id)))"
	" AND NOT (o.kind = case_contacts.kind AND o.person_id = case_contacts.person_id)"
	" AND (o.kind = 'companion') = (case_contacts.kind = 'companion')"
	" AND (" KIND_ORDER("o") " < " KIND_ORDER("case_contacts")
	" OR (" KIND_ORDER("o") " = " KIND_ORDER("case_contacts") " AND (o.total_overlap_min > case_contacts.total_overlap_min"
	" OR (o.total_overlap_min = case_contacts.total_overlap_min AND o.person_id < case_contacts.person_id)))))",
};

int cases_locate_prepare(wg_req *r, int64_t case_id)
{
	wg_param p[] = { WG_PINT(case_id), WG_PINT(case_id) };
	for (size_t i = 0; i < sizeof prepare_steps / sizeof prepare_steps[0]; i++) {
		size_t n = 0;
		for (const char *q = prepare_steps[i]; *q; q++)
			n += *q == '?';
		if (n > sizeof p / sizeof p[0])
			return req_fail(r, WG_ERR_INTERNAL, NULL, NULL, NULL);
		int rc = store_run(r->db, prepare_steps[i], p, n);
		if (rc)
			return req_fail(r, rc, NULL, NULL, NULL);
	}
	return 0;
}

int cases_locate_enqueue(wg_req *r, int64_t case_id)
{
	wg_param p[] = { WG_PINT(r->now), WG_PINT(r->now), WG_PINT(case_id) }, q[] = { WG_PINT(case_id) };
	int rc = store_run(r->db,
		"INSERT INTO contact_locates (case_id, trace_id, status, created_at, updated_at)"
		" SELECT DISTINCT case_id, person_id, 'open', CAST(? AS BIGINT), CAST(? AS BIGINT) FROM case_contacts WHERE case_id = ? AND community_id IS NULL"
		" ON CONFLICT (case_id, trace_id) DO NOTHING", p, 3);
	if (!rc)
		rc = store_run(r->db,
			"DELETE FROM contact_locates WHERE case_id = ? AND status = 'open' AND NOT EXISTS (SELECT 1 FROM case_contacts k"
			" WHERE k.case_id = contact_locates.case_id AND k.person_id = contact_locates.trace_id AND k.community_id IS NULL)",
			q, 1);
	return rc ? req_fail(r, rc, NULL, NULL, NULL) : 0;
}

/* ---- the queue ---- */

/* ?reveal=1 needs the registry's reveal right, as for persons. */
static const struct wg_resource locate_reveal = {
	.name = "contacts/unlocated", .table = "contact_locates", .zh = "待定位接触者", .en = "unlocated contact",
	.reveal_right = &right_PERSON_REVEAL,
};

#define LOCATE_COLUMNS \
	"l.id, l.case_id, l.trace_id, l.status, l.person_id, l.node_id, l.note, l.resolved_at, l.resolved_by," \
	" (SELECT MIN(k.kind) FROM case_contacts k WHERE k.case_id = l.case_id AND k.person_id = l.trace_id)," \
	" COALESCE(s.phone_enc, p.phone_enc, ''), COALESCE(p.name, ''), l.created_at, l.version, c.node_path"

#define LOCATE_JOINS \
	" FROM contact_locates l JOIN cases c ON c.id = l.case_id LEFT JOIN trace_subjects s ON s.id = l.trace_id" \
	" LEFT JOIN registry_people p ON p.id = l.trace_id"

static json_t *null_or_int(const wg_stmt *s, int col)
{
	return stmt_is_null(s, col) ? json_null() : json_integer(stmt_int(s, col));
}

static json_t *null_or_text(const wg_stmt *s, int col)
{
	return stmt_is_null(s, col) ? json_null() : json_string(stmt_text(s, col));
}

static json_t *locate_json(wg_req *r, wg_stmt *s, void *ctx)
{
	(void)ctx;
	char masked[256];
	int64_t trace_id = stmt_int(s, 2);
	bool subject = trace_id >= CASES_SUBJECT_FIRST_ID;
	ident_mask_name(stmt_text(s, 11), masked, sizeof masked);
	json_t *item = json_pack("{s:I, s:I, s:I, s:o, s:o, s:s, s:o, s:o, s:s, s:o, s:o, s:o, s:o, s:I}",
		"id", (json_int_t)stmt_int(s, 0), "case_id", (json_int_t)stmt_int(s, 1), "trace_id", (json_int_t)trace_id,
		"subject_id", subject ? json_integer(trace_id) : json_null(),
		"person_id", subject ? json_null() : json_integer(trace_id), "name", masked,
		"phone", cases_phone_json(r, stmt_text(s, 10)), "kind", null_or_text(s, 9),
		"status", stmt_text(s, 3), "resolved_person_id", null_or_int(s, 4), "node_id", null_or_int(s, 5),
		"note", null_or_text(s, 6), "resolved_by", null_or_int(s, 8), "version", (json_int_t)stmt_int(s, 13));
	if (item && (json_set_time(item, "created_at", stmt_int(s, 12)) ||
		     json_set_time_or_null(item, "resolved_at", stmt_is_null(s, 7) ? -1 : stmt_int(s, 7)))) {
		json_decref(item);
		return NULL;
	}
	return item;
}

static int check_status(wg_req *r, const char *status)
{
	if (status && strcmp(status, "open") && strcmp(status, "resolved") && strcmp(status, "all"))
		return req_fail(r, WG_ERR_BAD_QUERY, "status", "status 应为 open、resolved 或 all",
				"status must be open, resolved or all");
	return 0;
}

/* GET /api/v1/contacts/unlocated?case_id=&status=open|resolved|all&reveal=1&limit=&cursor=:
 * the contacts of the caller's cases that "apply" could not place. */
int locate_list(wg_req *r)
{
	static const char *const allowed[] = { "case_id", "status", "reveal", "limit", "cursor", NULL };
	char lo[WG_MAX_GRID_PATH + 2], hi[WG_MAX_GRID_PATH + 2];
	int64_t case_id;
	struct wg_pager pg = { 0 };
	const char *status = req_query(r, "status");
	if (req_check_query(r, allowed) || check_status(r, status) || resource_want_reveal(r, &locate_reveal) ||
	    pager_start(r, &pg, 100, true) || req_query_int(r, "case_id", 0, INT64_MAX, 0, &case_id))
		goto out;
	status = status ? status : "open";
	scope_range(r->user->scope_path, lo, hi, sizeof lo);
#define LOCATE_WHERE " WHERE c.node_path >= ? AND c.node_path < ? AND (? = 0 OR l.case_id = ?)" \
		     " AND (? = 'all' OR (? = 'open') = (l.status = 'open'))"
	wg_param p[] = { WG_PTEXT(lo), WG_PTEXT(hi), WG_PINT(case_id), WG_PINT(case_id), WG_PTEXT(status), WG_PTEXT(status),
			 WG_PINT(pg.limit + 1), WG_PINT(pg.cursor) };
	if (!pager_rows(r, &pg, "SELECT " LOCATE_COLUMNS LOCATE_JOINS LOCATE_WHERE " ORDER BY l.id LIMIT ? OFFSET ?",
			p, 8, 0, locate_json, NULL) &&
	    !pager_count(r, &pg, "FROM contact_locates l JOIN cases c ON c.id = l.case_id" LOCATE_WHERE, p, 6, 0) &&
	    !audit_read(r, r->reveal ? "reveal" : "read", "contact_locates", case_id, r->user->scope_path))
		return pager_reply(r, &pg);
#undef LOCATE_WHERE
out:
	pager_release(&pg);
	return r->fail.code;
}

/* One queue entry of a case in the caller's scope; 404 otherwise. */
static int locate_load(wg_req *r, int64_t id, json_t **item, char *case_path, size_t size)
{
	wg_stmt *s;
	wg_param p[] = { WG_PINT(id) };
	int rc = store_query(r->db, "SELECT " LOCATE_COLUMNS LOCATE_JOINS " WHERE l.id = ?", p, 1, &s);
	if (rc)
		return req_fail(r, rc, NULL, NULL, NULL);
	*item = NULL;
	rc = stmt_next(s);
	bool visible = rc == 1 && scope_contains(r->user->scope_path, stmt_text(s, 14));
	if (visible) {
		snprintf(case_path, size, "%s", stmt_text(s, 14));
		*item = locate_json(r, s, NULL);
	}
	stmt_done(s);
	if (rc < 0)
		return req_fail(r, -rc, NULL, NULL, NULL);
	if (visible && !*item)
		return req_fail(r, WG_ERR_NOMEM, NULL, NULL, NULL);
	if (!visible)
		return req_failf(r, WG_ERR_NOT_FOUND, NULL, "待定位接触者 %lld 不存在或不在您的管辖范围内",
				 "unlocated contact %lld does not exist or is outside your scope", (long long)id, (long long)id);
	return 0;
}

/* The community or village at or above path; 0 when there is none. */
static int community_of(wg_req *r, const char *path, int64_t *community)
{
	wg_stmt *s;
	wg_param p[] = { WG_PTEXT(path), WG_PTEXT(path) };
	int rc = store_query(r->db, "SELECT g.id FROM grid_nodes g WHERE g.kind IN ('community', 'village')"
			     " AND ? >= g.path AND substr(?, 1, length(g.path)) = g.path ORDER BY length(g.path) DESC LIMIT 1", p, 2, &s);
	if (rc)
		return req_fail(r, rc, NULL, NULL, NULL);
	rc = stmt_next(s);
	*community = rc == 1 ? stmt_int(s, 0) : 0;
	stmt_done(s);
	return rc < 0 ? req_fail(r, -rc, NULL, NULL, NULL) : 0;
}

struct resolution {
	const char *status;
	int64_t person_id, node_id, community_id;
	char path[WG_MAX_GRID_PATH];
	const char *note;
};

/* person_id: a registry person in the caller's scope who lives under a community or village. */
static int target_person(wg_req *r, json_t *v, struct resolution *res)
{
	wg_stmt *s;
	if (!json_is_integer(v) || json_integer_value(v) < 1)
		return req_fail(r, WG_ERR_REQUIRED, "person_id", "请提供人员编号(person_id)", "person_id is required");
	res->person_id = json_integer_value(v);
	wg_param p[] = { WG_PINT(res->person_id) };
	int rc = store_query(r->db, "SELECT node_path FROM registry_people WHERE id = ?", p, 1, &s);
	if (rc)
		return req_fail(r, rc, NULL, NULL, NULL);
	rc = stmt_next(s);
	bool visible = rc == 1 && scope_contains(r->user->scope_path, stmt_text(s, 0));
	if (visible)
		snprintf(res->path, sizeof res->path, "%s", stmt_text(s, 0));
	stmt_done(s);
	if (rc < 0)
		return req_fail(r, -rc, NULL, NULL, NULL);
	if (!visible)
		return req_failf(r, WG_ERR_NOT_FOUND, "person_id", "人员 %lld 不存在或不在您的管辖范围内",
				 "person %lld does not exist or is outside your scope", (long long)res->person_id, (long long)res->person_id);
	if (community_of(r, res->path, &res->community_id))
		return r->fail.code;
	if (!res->community_id)
		return req_fail(r, WG_ERR_VALIDATION, "person_id", "该人员不在任何社区或村之下,请先把人员登记到社区(村)的网格",
				"the person does not live under a community or village; register them in a grid first");
	return 0;
}

/* node_id: a community or village node in the caller's scope. */
static int target_node(wg_req *r, json_t *v, struct resolution *res)
{
	char kind[32] = "";
	wg_stmt *s;
	if (!json_is_integer(v) || json_integer_value(v) < 1)
		return req_fail(r, WG_ERR_REQUIRED, "node_id", "请提供社区或村的网格节点编号(node_id)", "node_id is required");
	res->node_id = res->community_id = json_integer_value(v);
	if (resource_node_path(r, res->node_id, "node_id", res->path, sizeof res->path))
		return r->fail.code;
	wg_param p[] = { WG_PINT(res->node_id) };
	int rc = store_query(r->db, "SELECT kind FROM grid_nodes WHERE id = ?", p, 1, &s);
	if (rc)
		return req_fail(r, rc, NULL, NULL, NULL);
	if ((rc = stmt_next(s)) == 1)
		snprintf(kind, sizeof kind, "%s", stmt_text(s, 0));
	stmt_done(s);
	if (rc < 0)
		return req_fail(r, -rc, NULL, NULL, NULL);
	if (strcmp(kind, "community") && strcmp(kind, "village"))
		return req_failf(r, WG_ERR_VALIDATION, "node_id", "网格节点 %lld 不是社区或村", "grid node %lld is not a community or village",
				 (long long)res->node_id, (long long)res->node_id);
	return 0;
}

/* Reads and checks the body: which resolution, its target and note. */
static int resolution_parse(wg_req *r, struct resolution *res)
{
	static const char *const allowed[] = { "resolution", "person_id", "node_id", "note", NULL };
	static const char *const kinds[] = { "person", "community", "handed_over", "unreachable" };
	json_t *kind = json_object_get(r->body, "resolution"), *person = json_object_get(r->body, "person_id"),
	       *node = json_object_get(r->body, "node_id"), *note = json_object_get(r->body, "note");
	memset(res, 0, sizeof *res);
	if (req_check_body(r, allowed))
		return r->fail.code;
	for (size_t i = 0; json_is_string(kind) && i < sizeof kinds / sizeof kinds[0]; i++)
		if (strcmp(json_string_value(kind), kinds[i]) == 0)
			res->status = kinds[i];
	if (!kind)
		return req_fail(r, WG_ERR_REQUIRED, "resolution", "请提供处理方式(resolution)", "resolution is required");
	if (!res->status)
		return req_fail(r, WG_ERR_VALIDATION, "resolution", "处理方式(resolution)应为 person、community、handed_over 或 unreachable",
				"resolution must be person, community, handed_over or unreachable");
	if (note && !json_is_null(note) && (!json_is_string(note) || json_string_length(note) > WG_MAX_NOTE * 4))
		return req_failf(r, WG_ERR_VALIDATION, "note", "备注(note)应为不超过 %d 字的文本", "note must be text of at most %d characters",
				 WG_MAX_NOTE, WG_MAX_NOTE);
	res->note = json_is_string(note) && json_string_length(note) ? json_string_value(note) : NULL;
	bool to_person = strcmp(res->status, "person") == 0, to_node = strcmp(res->status, "community") == 0;
	if (person && !to_person)
		return req_fail(r, WG_ERR_VALIDATION, "person_id", "只有 resolution 为 person 时才能提供 person_id",
				"person_id goes only with resolution person");
	if (node && !to_node)
		return req_fail(r, WG_ERR_VALIDATION, "node_id", "只有 resolution 为 community 时才能提供 node_id",
				"node_id goes only with resolution community");
	if (to_person)
		return target_person(r, person, res);
	if (to_node)
		return target_node(r, node, res);
	if (!res->note)
		return req_fail(r, WG_ERR_REQUIRED, "note", "外地协查或查无此人须写明情况(note)",
				"a note is required when handing over or closing as unreachable");
	return 0;
}

/* Records the resolution and places the contact's rows at once, so the
 * community sees them in GET /api/v1/contacts without a new apply. */
static int resolution_store(wg_req *r, int64_t id, int64_t case_id, int64_t trace_id, const struct resolution *res)
{
	wg_param p[] = { WG_PTEXT(res->status), res->person_id ? WG_PINT(res->person_id) : WG_PNULL,
			 res->node_id ? WG_PINT(res->node_id) : WG_PNULL, res->note ? WG_PTEXT(res->note) : WG_PNULL,
			 WG_PINT(r->user->id), WG_PINT(r->now), WG_PINT(r->now), WG_PINT(id) };
	int rc = store_run(r->db, "UPDATE contact_locates SET status = ?, person_id = ?, node_id = ?, note = ?, resolved_by = ?,"
			   " resolved_at = ?, updated_at = ?, version = version + 1 WHERE id = ?", p, 8);
	if (!rc && res->community_id) {
		wg_param u[] = { res->person_id ? WG_PINT(res->person_id) : WG_PNULL, WG_PTEXT(res->path), WG_PINT(res->community_id),
				 WG_PINT(case_id), WG_PINT(trace_id) };
		rc = store_run(r->db, "UPDATE case_contacts SET located_person_id = ?, node_path = ?, community_id = ?"
			       " WHERE case_id = ? AND person_id = ?", u, 5);
	}
	return rc ? req_fail(r, rc, NULL, NULL, NULL) : 0;
}

/* POST /api/v1/contacts/unlocated/{id}/resolve {resolution, person_id?, node_id?, note?} */
int locate_resolve(wg_req *r)
{
	json_t *item = NULL, *change = NULL;
	char case_path[WG_MAX_GRID_PATH];
	struct resolution res;
	if (locate_load(r, r->id, &item, case_path, sizeof case_path))
		return r->fail.code;
	int64_t case_id = json_integer_value(json_object_get(item, "case_id"));
	int64_t trace_id = json_integer_value(json_object_get(item, "trace_id"));
	if (req_if_match(r, json_integer_value(json_object_get(item, "version"))))
		goto out;
	if (strcmp(json_string_value(json_object_get(item, "status")), "open") != 0) {
		req_failf(r, WG_ERR_CONFLICT, "resolution", "该接触者已处理(%s),不能重复处理", "this contact was already resolved (%s)",
			  json_string_value(json_object_get(item, "status")), json_string_value(json_object_get(item, "status")));
		goto out;
	}
	if (resolution_parse(r, &res) || resolution_store(r, r->id, case_id, trace_id, &res))
		goto out;
	change = json_pack("{s:s, s:o, s:o, s:s?}", "resolution", res.status,
			   "person_id", res.person_id ? json_integer(res.person_id) : json_null(),
			   "node_id", res.node_id ? json_integer(res.node_id) : json_null(), "note", res.note);
	if (!change) {
		req_fail(r, WG_ERR_NOMEM, NULL, NULL, NULL);
		goto out;
	}
	if (audit_req(r, "resolve", "contact_locates", r->id, case_path, change))
		goto out;
	json_decref(item);
	item = NULL;
	if (!locate_load(r, r->id, &item, case_path, sizeof case_path)) {
		req_reply(r, 200, item);
		item = NULL;
	}
out:
	json_decref(item);
	json_decref(change);
	return r->fail.code;
}
