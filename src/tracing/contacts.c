/* The lists a case's tracing gives: a case's contacts with their evidence,
 * "apply" that hands each community the contacts who live there, and the
 * community's list (and its export) that it works from. */
#include "tracing/tracing_int.h"
#include "core/audit/audit.h"
#include "core/auth/scope.h"
#include "core/lib/err.h"
#include "core/lib/limits.h"
#include "core/app/events.h"
#include "core/lib/ident.h"
#include "core/lib/json.h"
#include "core/lib/timefmt.h"
#include "core/resource/resource.h"
#include "core/sheet/sheet.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

/* A contact as a community works it: the evidence, and who and where the
 * person is (name, phone, household address, the grid (a building's grid)
 * with its leaders and the building's), from
 * the registry's public view. RANK is the engine's rank in the case's own
 * list, and the place in the list shown in a community's (no gaps where
 * duplicates and contacts not placed are left out). */
#define CONTACT_SELECT(RANK, LEADERS) \
	"SELECT k.kind, " RANK ", k.person_id, k.via_person_id, k.place, k.src_in, k.src_out, k.hit_in, k.hit_out," \
	" k.overlap_min, k.total_overlap_min, k.node_path, COALESCE(p.name, ''), COALESCE(v.name, ''), k.community_id, k.case_id," \
	" COALESCE(k.located_person_id, p.id), COALESCE(s.phone_enc, p.phone_enc, ''), k.duplicate, COALESCE(p.address, '')," \
	" g.id, COALESCE(g.name, ''), COALESCE(g.code, ''), " LEADERS ", COALESCE(l.note, ''), COALESCE(cm.name, ''), k.pending" \
	" FROM case_contacts k LEFT JOIN registry_people p ON p.id = COALESCE(k.located_person_id, k.person_id)" \
	" LEFT JOIN trace_subjects s ON s.id = k.person_id" \
	" LEFT JOIN venues v ON v.id = k.place AND k.kind <> 'companion'" \
	" LEFT JOIN grid_nodes b ON b.id = p.grid_id" \
	" LEFT JOIN grid_nodes g ON g.id = CASE WHEN b.kind = 'building' THEN b.parent_id ELSE b.id END" \
	" LEFT JOIN grid_nodes cm ON cm.id = k.community_id" \
	" LEFT JOIN contact_locates l ON l.case_id = k.case_id AND l.trace_id = k.person_id"
#define LEADERS_SQLITE \
	"(SELECT json_group_array(json_object('name', name, 'duty', duty, 'phone', phone)) FROM (SELECT u.display_name AS name," \
	" gl.duty AS duty, u.phone AS phone FROM grid_leaders gl JOIN users u ON u.id = gl.user_id JOIN grid_nodes n ON n.id = gl.node_id" \
	" WHERE gl.node_id IN (g.id, b.id) ORDER BY length(n.path), gl.duty, gl.user_id))"
#define LEADERS_POSTGRES \
	"(SELECT COALESCE(json_agg(json_build_object('name', u.display_name, 'duty', gl.duty, 'phone', u.phone)" \
	" ORDER BY length(n.path), gl.duty, gl.user_id), '[]') FROM grid_leaders gl JOIN users u ON u.id = gl.user_id" \
	" JOIN grid_nodes n ON n.id = gl.node_id WHERE gl.node_id IN (g.id, b.id))"
#define CASE_RANK "k.rank"
#define LIST_RANK "ROW_NUMBER() OVER (PARTITION BY k.case_id, k.kind ORDER BY k.rank)"

/* The contacts handed to communities in the caller's scope (a case, a kind). */
#define HANDED_WHERE \
	" WHERE k.community_id IS NOT NULL AND k.duplicate = 0 AND k.pending = 0 AND k.node_path >= ? AND k.node_path < ?" \
	" AND (? = 0 OR k.case_id = ?) AND (? = '' OR k.kind = ?)"
#define HANDED_ORDER " ORDER BY k.case_id DESC, k.kind, k.rank"

/* The case's latest result: the trace not yet applied, if there is one. */
#define CASE_CONTACTS_WHERE " WHERE k.case_id = ? AND (? = '' OR k.kind = ?)" \
	" AND k.pending = (SELECT COALESCE(MAX(m.pending), 0) FROM case_contacts m WHERE m.case_id = k.case_id)"

static const char *const case_contacts_sql[2] = {
	CONTACT_SELECT(CASE_RANK, LEADERS_SQLITE) CASE_CONTACTS_WHERE " ORDER BY k.kind, k.rank LIMIT ? OFFSET ?",
	CONTACT_SELECT(CASE_RANK, LEADERS_POSTGRES) CASE_CONTACTS_WHERE " ORDER BY k.kind, k.rank LIMIT ? OFFSET ?",
};
static const char *const handed_sql[2] = {
	CONTACT_SELECT(LIST_RANK, LEADERS_SQLITE) HANDED_WHERE HANDED_ORDER " LIMIT ? OFFSET ?",
	CONTACT_SELECT(LIST_RANK, LEADERS_POSTGRES) HANDED_WHERE HANDED_ORDER " LIMIT ? OFFSET ?",
};
static const char *const export_sql[2] = {
	CONTACT_SELECT(LIST_RANK, LEADERS_SQLITE) HANDED_WHERE HANDED_ORDER,
	CONTACT_SELECT(LIST_RANK, LEADERS_POSTGRES) HANDED_WHERE HANDED_ORDER,
};

enum {
	C_KIND, C_RANK, C_TRACE_ID, C_VIA, C_PLACE, C_SRC_IN, C_SRC_OUT, C_HIT_IN, C_HIT_OUT, C_OVERLAP, C_TOTAL, C_PATH,
	C_NAME, C_VENUE, C_COMMUNITY, C_CASE, C_PERSON, C_PHONE, C_DUPLICATE, C_ADDRESS, C_GRID, C_GRID_NAME, C_GRID_CODE,
	C_LEADERS, C_NOTE, C_COMMUNITY_NAME, C_PENDING
};

/* ?reveal=1 needs the registry's reveal right, as for persons. */
static const struct wg_resource contacts_reveal = {
	.name = "contacts", .table = "case_contacts", .zh = "接触者", .en = "contact",
	.reveal_right = &right_PERSON_REVEAL,
};

static const char *sql_of(const wg_req *r, const char *const sql[2])
{
	return sql[conn_dialect(r->db) == WG_POSTGRES];
}

/* What a person is called in the lists: whole when revealed, else masked. */
static void shown_name(const wg_req *r, const char *name, char *out, size_t size)
{
	if (r->reveal)
		snprintf(out, size, "%s", name);
	else
		ident_mask_name(name, out, size);
}

static void shown_address(const wg_req *r, const char *address, char *out, size_t size)
{
	if (r->reveal)
		snprintf(out, size, "%s", address);
	else
		ident_mask_address(address, out, size);
}

static json_t *stay_json(int64_t in, int64_t out)
{
	json_t *o = json_object();
	if (o && (json_set_time(o, "in", in) || json_set_time(o, "out", out))) {
		json_decref(o);
		return NULL;
	}
	return o;
}

static json_t *contact_json(wg_req *r, wg_stmt *s, void *ctx)
{
	(void)ctx;
	char name[256], address[512];
	bool subject = stmt_int(s, C_TRACE_ID) >= CASES_SUBJECT_FIRST_ID;
	shown_name(r, stmt_text(s, C_NAME), name, sizeof name);
	shown_address(r, stmt_text(s, C_ADDRESS), address, sizeof address);
	json_t *leaders = json_loadb(stmt_text(s, C_LEADERS), stmt_len(s, C_LEADERS), 0, NULL);
	json_t *grid = stmt_is_null(s, C_GRID) ? json_null()
		: json_pack("{s:I, s:s, s:s}", "id", (json_int_t)stmt_int(s, C_GRID), "name", stmt_text(s, C_GRID_NAME),
			    "code", stmt_text(s, C_GRID_CODE));
	return json_pack(
		"{s:I, s:s, s:I, s:o, s:o, s:o, s:s, s:s, s:o, s:o, s:b, s:s, s:I, s:I, s:s, s:o, s:o, s:I, s:o, s:o, s:s, s:s, s:b, s:b}",
		"case_id", (json_int_t)stmt_int(s, C_CASE), "kind", stmt_text(s, C_KIND), "rank", (json_int_t)stmt_int(s, C_RANK),
		"person_id", stmt_is_null(s, C_PERSON) ? json_null() : json_integer(stmt_int(s, C_PERSON)),
		"subject_id", subject ? json_integer(stmt_int(s, C_TRACE_ID)) : json_null(),
		"phone", cases_phone_json(r, stmt_text(s, C_PHONE)), "name", name, "address", address,
		"grid", grid, "leaders", leaders ? leaders : json_array(),
		"located", stmt_len(s, C_PATH) > 0, "node_path", stmt_text(s, C_PATH),
		"via_person_id", (json_int_t)stmt_int(s, C_VIA), "place", (json_int_t)stmt_int(s, C_PLACE), "venue", stmt_text(s, C_VENUE),
		"source_stay", stay_json(stmt_int(s, C_SRC_IN), stmt_int(s, C_SRC_OUT)),
		"contact_stay", stay_json(stmt_int(s, C_HIT_IN), stmt_int(s, C_HIT_OUT)),
		"overlap_min", (json_int_t)stmt_int(s, C_OVERLAP),
		/* A secondary contact's encounters are not counted (found at the first). */
		"total_overlap_min", strcmp(stmt_text(s, C_KIND), "secondary") == 0 ? json_null() : json_integer(stmt_int(s, C_TOTAL)),
		"community_id", stmt_is_null(s, C_COMMUNITY) ? json_null() : json_integer(stmt_int(s, C_COMMUNITY)),
		"community", stmt_text(s, C_COMMUNITY_NAME), "note", stmt_text(s, C_NOTE),
		"duplicate", stmt_int(s, C_DUPLICATE) != 0, "applied", stmt_int(s, C_PENDING) == 0);
}

static int check_kind(wg_req *r, const char *kind)
{
	if (kind && strcmp(kind, "close") && strcmp(kind, "secondary") && strcmp(kind, "companion"))
		return req_fail(r, WG_ERR_BAD_QUERY, "kind", "kind 应为 close、secondary 或 companion",
				"kind must be close, secondary or companion");
	return 0;
}

/* GET /api/v1/cases/{id}/contacts?kind=close|secondary|companion&reveal=1&limit=&cursor= */
int case_contacts(wg_req *r)
{
	static const char *const allowed[] = { "kind", "reveal", "limit", "cursor", NULL };
	json_t *c;
	char path[WG_MAX_GRID_PATH];
	struct wg_pager pg = { 0 };
	const char *kind = req_query(r, "kind");
	if (req_check_query(r, allowed) || check_kind(r, kind) || resource_want_reveal(r, &contacts_reveal) ||
	    pager_start(r, &pg, 100, true) || resource_load(r, &case_resource, r->id, &c, path, sizeof path))
		goto out;
	json_decref(c);
	wg_param p[] = { WG_PINT(r->id), WG_PTEXT(kind ? kind : ""), WG_PTEXT(kind ? kind : ""), WG_PINT(pg.limit + 1), WG_PINT(pg.cursor) };
	if (!pager_rows(r, &pg, sql_of(r, case_contacts_sql), p, 5, 0, contact_json, NULL) &&
	    !pager_count(r, &pg, "FROM case_contacts k" CASE_CONTACTS_WHERE, p, 3, 0) &&
	    !audit_read(r, r->reveal ? "reveal" : "read", "case_contacts", r->id, path))
		return pager_reply(r, &pg);
out:
	pager_release(&pg);
	return r->fail.code;
}

struct contacts_query {
	const char *sql;
	wg_param *p;
	size_t n;
};

static const char *kind_label(const char *kind)
{
	static const char *const kinds[][2] = { { "close", "密接" }, { "secondary", "次密接" }, { "companion", "时空伴随" } };
	for (size_t k = 0; k < 3; k++)
		if (strcmp(kinds[k][0], kind) == 0)
			return kinds[k][1];
	return kind;
}

/* "王伟(网格员)13800001111、…": whom to call about a contact. */
static void leaders_text(const char *json, size_t n, char *out, size_t size)
{
	json_t *a = json_loadb(json, n, 0, NULL), *e;
	size_t i, used = 0;
	out[0] = '\0';
	json_array_foreach(a, i, e) {
		const char *phone = json_string_value(json_object_get(e, "phone"));
		int w = snprintf(out + used, size - used, "%s%s(%s)%s", i ? "、" : "", json_string_value(json_object_get(e, "name")),
				 json_string_value(json_object_get(e, "duty")), phone ? phone : "");
		if (w < 0 || (size_t)w >= size - used)
			break;
		used += (size_t)w;
	}
	json_decref(a);
}

static int write_contacts(wg_req *r, struct sheet_writer *w, void *ctx)
{
	static const char *const header[] = { "病例编号", "类别", "排序", "人员编号", "姓名", "联系电话", "住址", "社区",
					      "网格", "网格编码", "网格责任人", "场所", "病例进入", "病例离开", "接触者进入",
					      "接触者离开", "重叠分钟", "经由人员编号", "备注" };
	struct contacts_query *cq = ctx;
	wg_stmt *s;
	int rc = sheet_writer_header(w, header, NULL, sizeof header / sizeof header[0]);
	if (!rc)
		rc = store_query(r->db, cq->sql, cq->p, cq->n, &s);
	if (rc)
		return rc;
	while ((rc = stmt_next(s)) == 1) {
		char nums[5][24], times[4][WG_TIME_HUMAN], name[256], address[512], leaders[1024];
		snprintf(nums[0], sizeof nums[0], "%lld", (long long)stmt_int(s, C_CASE));
		snprintf(nums[1], sizeof nums[1], "%lld", (long long)stmt_int(s, C_RANK));
		snprintf(nums[2], sizeof nums[2], "%lld", (long long)stmt_int(s, C_PERSON));
		if (stmt_is_null(s, C_PERSON))
			nums[2][0] = '\0';  /* known by phone only: no person number */
		snprintf(nums[3], sizeof nums[3], "%lld", (long long)stmt_int(s, C_OVERLAP));
		snprintf(nums[4], sizeof nums[4], "%lld", (long long)stmt_int(s, C_VIA));
		for (int k = 0; k < 4; k++)
			wg_time_human(stmt_int(s, C_SRC_IN + k), times[k]);
		shown_name(r, stmt_text(s, C_NAME), name, sizeof name);
		shown_address(r, stmt_text(s, C_ADDRESS), address, sizeof address);
		leaders_text(stmt_text(s, C_LEADERS), stmt_len(s, C_LEADERS), leaders, sizeof leaders);
		json_t *phone = cases_phone_json(r, stmt_text(s, C_PHONE));
		const char *cells[] = { nums[0], kind_label(stmt_text(s, C_KIND)), nums[1], nums[2], name,
					json_string_value(phone), address, stmt_text(s, C_COMMUNITY_NAME), stmt_text(s, C_GRID_NAME),
					stmt_text(s, C_GRID_CODE), leaders, stmt_text(s, C_VENUE), times[0], times[1], times[2],
					times[3], nums[3], nums[4], stmt_text(s, C_NOTE) };
		rc = sheet_writer_row(w, cells, NULL, sizeof cells / sizeof cells[0]);
		json_decref(phone);
		if (rc)
			break;
	}
	stmt_done(s);
	return rc < 0 ? -rc : rc;
}

/* The subtree a list covers: ?grid=ID (a place inside the caller's scope,
 * 404 naming grid otherwise) or the caller's whole scope. */
static int handed_range(wg_req *r, char *lo, char *hi, size_t size, char *path, size_t path_size)
{
	int64_t grid;
	if (req_query_int(r, "grid", 0, INT64_MAX, 0, &grid))
		return r->fail.code;
	if (grid && resource_node_path(r, grid, "grid", path, path_size))
		return r->fail.code;
	if (!grid)
		snprintf(path, path_size, "%s", r->user->scope_path);
	scope_range(path, lo, hi, size);
	return 0;
}

/* GET /api/v1/contacts/export?case_id=&kind=&grid=&reveal=1&format=csv|xlsx: the same list as a sheet. */
int contacts_export(wg_req *r)
{
	static const char *const allowed[] = { "case_id", "kind", "grid", "reveal", "format", NULL };
	char lo[WG_MAX_GRID_PATH + 2], hi[WG_MAX_GRID_PATH + 2], path[WG_MAX_GRID_PATH];
	int64_t case_id;
	const char *kind = req_query(r, "kind");
	if (req_check_query(r, allowed) || check_kind(r, kind) || resource_want_reveal(r, &contacts_reveal) ||
	    req_query_int(r, "case_id", 0, INT64_MAX, 0, &case_id) || handed_range(r, lo, hi, sizeof lo, path, sizeof path))
		return r->fail.code;
	wg_param p[] = { WG_PTEXT(lo), WG_PTEXT(hi), WG_PINT(case_id), WG_PINT(case_id), WG_PTEXT(kind ? kind : ""),
			 WG_PTEXT(kind ? kind : "") };
	struct contacts_query cq = { sql_of(r, export_sql), p, 6 };
	if (resource_export_reply(r, "contacts", "流调名单", write_contacts, &cq))
		return r->fail.code;
	return audit_read(r, r->reveal ? "export_reveal" : "export", "case_contacts", case_id, path);
}

/* GET /api/v1/contacts?case_id=&kind=&grid=&reveal=1&limit=&cursor=: the contacts
 * handed to the caller's community (or anywhere in the caller's scope), the
 * list a community works from after "apply": whom to call and visit. */
int contacts_handed(wg_req *r)
{
	static const char *const allowed[] = { "case_id", "kind", "grid", "reveal", "limit", "cursor", NULL };
	char lo[WG_MAX_GRID_PATH + 2], hi[WG_MAX_GRID_PATH + 2], path[WG_MAX_GRID_PATH];
	int64_t case_id;
	struct wg_pager pg = { 0 };
	const char *kind = req_query(r, "kind");
	if (req_check_query(r, allowed) || check_kind(r, kind) || resource_want_reveal(r, &contacts_reveal) ||
	    pager_start(r, &pg, 100, true) || req_query_int(r, "case_id", 0, INT64_MAX, 0, &case_id) ||
	    handed_range(r, lo, hi, sizeof lo, path, sizeof path))
		goto out;
	wg_param p[] = { WG_PTEXT(lo), WG_PTEXT(hi), WG_PINT(case_id), WG_PINT(case_id), WG_PTEXT(kind ? kind : ""),
			 WG_PTEXT(kind ? kind : ""), WG_PINT(pg.limit + 1), WG_PINT(pg.cursor) };
	if (!pager_rows(r, &pg, sql_of(r, handed_sql), p, 8, 0, contact_json, NULL) &&
	    !pager_count(r, &pg, "FROM case_contacts k" HANDED_WHERE, p, 6, 0) &&
	    !audit_read(r, r->reveal ? "reveal" : "read", "case_contacts", case_id, path))
		return pager_reply(r, &pg);
out:
	pager_release(&pg);
	return r->fail.code;
}

/* POST /api/v1/cases/{id}/apply: each located contact goes to the community
 * (or village) its household hangs under; the rest stay "not located". */
int case_apply(wg_req *r)
{
	json_t *c = NULL, *communities = NULL, *out = NULL, *event = NULL;
	char path[WG_MAX_GRID_PATH];
	wg_stmt *s;
	/* The body is for the modules that listen to the application (control: open_controls …). */
	if (events_check_body(r, "case_applied", NULL) || resource_load(r, &case_resource, r->id, &c, path, sizeof path))
		goto out;
	wg_param p[] = { WG_PINT(r->id) };
	/* A new trace's result replaces the lists handed out; without one, they are applied again. */
	int64_t pending = 0;
	int rc = store_int(r->db, "SELECT COUNT(*) FROM case_contacts WHERE case_id = ? AND pending = 1", p, 1, &pending);
	if (!rc && pending)
		rc = store_run(r->db, "DELETE FROM case_contacts WHERE case_id = ? AND pending = 0", p, 1);
	if (!rc && pending)
		rc = store_run(r->db, "UPDATE case_contacts SET pending = 0 WHERE case_id = ?", p, 1);
	if (rc)
		goto failed;
	if (cases_locate_prepare(r, r->id))
		goto out;
	rc = store_run(r->db,
		"UPDATE case_contacts SET community_id = (SELECT g.id FROM grid_nodes g WHERE g.kind IN ('community', 'village')"
		" AND case_contacts.node_path >= g.path AND substr(case_contacts.node_path, 1, length(g.path)) = g.path"
		" ORDER BY length(g.path) DESC LIMIT 1) WHERE case_id = ? AND node_path <> ''", p, 1);
	if (rc || cases_locate_enqueue(r, r->id))
		goto failed;
	rc = store_query(r->db,
		"SELECT k.community_id, COALESCE(g.name, ''), COUNT(*), k.duplicate FROM case_contacts k"
		" LEFT JOIN grid_nodes g ON g.id = k.community_id"
		" WHERE k.case_id = ? GROUP BY k.duplicate, k.community_id, g.name ORDER BY COUNT(*) DESC, k.community_id", p, 1, &s);
	if (rc)
		goto failed;
	communities = json_array();
	json_int_t not_located = 0, merged = 0;
	while ((rc = stmt_next(s)) == 1) {
		if (stmt_int(s, 3) != 0)
			merged += stmt_int(s, 2);
		else if (stmt_is_null(s, 0))
			not_located += stmt_int(s, 2);
		else
			json_array_append_new(communities, json_pack("{s:I, s:s, s:I}", "community_id", (json_int_t)stmt_int(s, 0),
								     "name", stmt_text(s, 1), "contacts", (json_int_t)stmt_int(s, 2)));
	}
	stmt_done(s);
	rc = rc < 0 ? -rc : 0;
	wg_param u[] = { WG_PINT(r->now), WG_PINT(r->id) };
	if (rc || (rc = store_run(r->db, "UPDATE cases SET status = 'applied', updated_at = ?, version = version + 1 WHERE id = ?", u, 2)))
		goto failed;
	out = json_pack("{s:O, s:I, s:I}", "communities", communities, "not_located", not_located, "merged", merged);
	/* What the case and the request say, for the modules that act on the lists (tracing.h). */
	event = json_pack("{s:I, s:O, s:O, s:O, s:s, s:O}", "case_id", (json_int_t)r->id, "person_id",
			  json_object_get(c, "person_id"), "onset_at", json_object_get(c, "onset_at"), "preset",
			  json_object_get(c, "preset"), "node_path", path, "options", r->body);
	if (!out || !event) {
		rc = WG_ERR_NOMEM;
		goto failed;
	}
	if (events_publish(r, "case_applied", event, out) || audit_req(r, "apply", "cases", r->id, path, out))
		goto out;
	req_reply(r, 200, out);
	out = NULL;
	goto out;
failed:
	if (!r->fail.code)
		req_fail(r, rc ? rc : WG_ERR_DB, NULL, NULL, NULL);
out:
	json_decref(c);
	json_decref(communities);
	json_decref(out);
	json_decref(event);
	return r->fail.code;
}
