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
#include "core/resource/resource.h"
#include "core/sheet/sheet.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#define CONTACT_COLUMNS \
	"k.kind, k.rank, k.person_id, k.via_person_id, k.place, k.src_in, k.src_out, k.hit_in, k.hit_out," \
	" k.overlap_min, k.total_overlap_min, k.node_path, COALESCE(p.name, ''), COALESCE(v.name, ''), k.community_id, k.case_id," \
	" COALESCE(k.located_person_id, p.id), COALESCE(s.phone_enc, ''), k.duplicate"

/* A contact's registry person is the one matched by phone or chosen when
 * resolving, else the engine's id itself. */
#define CONTACT_JOINS \
	" FROM case_contacts k LEFT JOIN registry_people p ON p.id = COALESCE(k.located_person_id, k.person_id)" \
	" LEFT JOIN trace_subjects s ON s.id = k.person_id" \
	" LEFT JOIN venues v ON v.id = k.place AND k.kind <> 'companion'"

/* The contacts handed to communities in the caller's scope (a case, a kind). */
#define HANDED_WHERE \
	" WHERE k.community_id IS NOT NULL AND k.duplicate = 0 AND k.node_path >= ? AND k.node_path < ?" \
	" AND (? = 0 OR k.case_id = ?) AND (? = '' OR k.kind = ?)"

static json_t *contact_json(wg_req *r, wg_stmt *s, void *ctx)
{
	(void)ctx;
	char masked[256];
	bool subject = stmt_int(s, 2) >= CASES_SUBJECT_FIRST_ID;
	ident_mask_name(stmt_text(s, 12), masked, sizeof masked);
	return json_pack(
		"{s:I, s:s, s:I, s:o, s:o, s:o, s:s, s:b, s:s, s:I, s:I, s:s, s:{s:I, s:I}, s:{s:I, s:I}, s:I, s:I, s:o, s:b}",
		"case_id", (json_int_t)stmt_int(s, 15), "kind", stmt_text(s, 0), "rank", (json_int_t)stmt_int(s, 1),
		"person_id", stmt_is_null(s, 16) ? json_null() : json_integer(stmt_int(s, 16)),
		"subject_id", subject ? json_integer(stmt_int(s, 2)) : json_null(), "phone", cases_phone_json(r, stmt_text(s, 17)),
		"name", masked, "located", stmt_len(s, 11) > 0,
		"node_path", stmt_text(s, 11), "via_person_id", (json_int_t)stmt_int(s, 3),
		"place", (json_int_t)stmt_int(s, 4), "venue", stmt_text(s, 13),
		"source_stay", "in", (json_int_t)stmt_int(s, 5), "out", (json_int_t)stmt_int(s, 6),
		"contact_stay", "in", (json_int_t)stmt_int(s, 7), "out", (json_int_t)stmt_int(s, 8),
		"overlap_min", (json_int_t)stmt_int(s, 9), "total_overlap_min", (json_int_t)stmt_int(s, 10),
		"community_id", stmt_is_null(s, 14) ? json_null() : json_integer(stmt_int(s, 14)),
		"duplicate", stmt_int(s, 18) != 0);
}

static int check_kind(wg_req *r, const char *kind)
{
	if (kind && strcmp(kind, "close") && strcmp(kind, "secondary") && strcmp(kind, "companion"))
		return req_fail(r, WG_ERR_BAD_QUERY, "kind", "kind 应为 close、secondary 或 companion",
				"kind must be close, secondary or companion");
	return 0;
}

/* GET /api/v1/cases/{id}/contacts?kind=close|secondary|companion&limit=&cursor= */
int case_contacts(wg_req *r)
{
	static const char *const allowed[] = { "kind", "limit", "cursor", NULL };
	json_t *c;
	char path[WG_MAX_GRID_PATH];
	struct wg_pager pg = { 0 };
	const char *kind = req_query(r, "kind");
	if (req_check_query(r, allowed) || check_kind(r, kind) || pager_start(r, &pg, 100, true) ||
	    resource_load(r, &case_resource, r->id, &c, path, sizeof path))
		goto out;
	json_decref(c);
#define CASE_CONTACTS_WHERE " WHERE k.case_id = ? AND (? = '' OR k.kind = ?)"
	wg_param p[] = { WG_PINT(r->id), WG_PTEXT(kind ? kind : ""), WG_PTEXT(kind ? kind : ""), WG_PINT(pg.limit + 1), WG_PINT(pg.cursor) };
	if (!pager_rows(r, &pg, "SELECT " CONTACT_COLUMNS CONTACT_JOINS CASE_CONTACTS_WHERE " ORDER BY k.kind, k.rank LIMIT ? OFFSET ?",
			p, 5, 0, contact_json, NULL) &&
	    !pager_count(r, &pg, "FROM case_contacts k" CASE_CONTACTS_WHERE, p, 3, 0) &&
	    !audit_read(r, "read", "case_contacts", r->id, path))
		return pager_reply(r, &pg);
#undef CASE_CONTACTS_WHERE
out:
	pager_release(&pg);
	return r->fail.code;
}

/* Beijing time, as the people who read these lists keep it. */
static void local_time(int64_t t, char out[24])
{
	time_t shifted = (time_t)(t + 8 * 3600);
	struct tm tm;
	gmtime_r(&shifted, &tm);
	strftime(out, 24, "%Y-%m-%d %H:%M", &tm);
}

struct contacts_query {
	const char *sql;
	wg_param *p;
	size_t n;
};

static int write_contacts(wg_req *r, struct sheet_writer *w, void *ctx)
{
	static const char *const header[] = { "病例编号", "类别", "排序", "人员编号", "姓名", "网格路径", "场所",
					      "病例进入", "病例离开", "接触者进入", "接触者离开", "重叠分钟", "经由人员编号" };
	static const char *const kinds[][2] = { { "close", "密接" }, { "secondary", "次密接" }, { "companion", "时空伴随" } };
	struct contacts_query *cq = ctx;
	wg_stmt *s;
	int rc = sheet_writer_header(w, header, NULL, sizeof header / sizeof header[0]);
	if (!rc)
		rc = store_query(r->db, cq->sql, cq->p, cq->n, &s);
	if (rc)
		return rc;
	while ((rc = stmt_next(s)) == 1) {
		char nums[5][24], times[4][24], masked[256];
		const char *kind = stmt_text(s, 0);
		for (size_t k = 0; k < 3; k++)
			if (strcmp(kinds[k][0], kind) == 0)
				kind = kinds[k][1];
		snprintf(nums[0], sizeof nums[0], "%lld", (long long)stmt_int(s, 15));
		snprintf(nums[1], sizeof nums[1], "%lld", (long long)stmt_int(s, 1));
		snprintf(nums[2], sizeof nums[2], "%lld", (long long)stmt_int(s, 16));
		if (stmt_is_null(s, 16))
			nums[2][0] = '\0';  /* known by phone only: no person number */
		snprintf(nums[3], sizeof nums[3], "%lld", (long long)stmt_int(s, 9));
		snprintf(nums[4], sizeof nums[4], "%lld", (long long)stmt_int(s, 3));
		for (int k = 0; k < 4; k++)
			local_time(stmt_int(s, 5 + k), times[k]);
		ident_mask_name(stmt_text(s, 12), masked, sizeof masked);
		const char *cells[] = { nums[0], kind, nums[1], nums[2], masked, stmt_text(s, 11), stmt_text(s, 13),
					times[0], times[1], times[2], times[3], nums[3], nums[4] };
		rc = sheet_writer_row(w, cells, NULL, sizeof cells / sizeof cells[0]);
		if (rc)
			break;
	}
	stmt_done(s);
	return rc < 0 ? -rc : rc;
}

/* GET /api/v1/contacts/export?case_id=&kind=&format=csv|xlsx: the same list as a sheet. */
int contacts_export(wg_req *r)
{
	static const char *const allowed[] = { "case_id", "kind", "format", NULL };
	char lo[WG_MAX_GRID_PATH + 2], hi[WG_MAX_GRID_PATH + 2];
	int64_t case_id;
	const char *kind = req_query(r, "kind");
	if (req_check_query(r, allowed) || check_kind(r, kind) || req_query_int(r, "case_id", 0, INT64_MAX, 0, &case_id))
		return r->fail.code;
	scope_range(r->user->scope_path, lo, hi, sizeof lo);
	wg_param p[] = { WG_PTEXT(lo), WG_PTEXT(hi), WG_PINT(case_id), WG_PINT(case_id), WG_PTEXT(kind ? kind : ""),
			 WG_PTEXT(kind ? kind : "") };
	struct contacts_query cq = { "SELECT " CONTACT_COLUMNS CONTACT_JOINS HANDED_WHERE " ORDER BY k.case_id DESC, k.kind, k.rank", p, 6 };
	if (resource_export_reply(r, "contacts", "流调名单", write_contacts, &cq))
		return r->fail.code;
	return audit_read(r, "export", "case_contacts", case_id, r->user->scope_path);
}

/* GET /api/v1/contacts?case_id=&kind=&limit=&cursor=: the contacts handed
 * to the caller's community (or anywhere in the caller's scope), the list a
 * community works from after "apply". */
int contacts_handed(wg_req *r)
{
	static const char *const allowed[] = { "case_id", "kind", "limit", "cursor", NULL };
	char lo[WG_MAX_GRID_PATH + 2], hi[WG_MAX_GRID_PATH + 2];
	int64_t case_id;
	struct wg_pager pg = { 0 };
	const char *kind = req_query(r, "kind");
	if (req_check_query(r, allowed) || check_kind(r, kind) || pager_start(r, &pg, 100, true) ||
	    req_query_int(r, "case_id", 0, INT64_MAX, 0, &case_id))
		goto out;
	scope_range(r->user->scope_path, lo, hi, sizeof lo);
	wg_param p[] = { WG_PTEXT(lo), WG_PTEXT(hi), WG_PINT(case_id), WG_PINT(case_id), WG_PTEXT(kind ? kind : ""),
			 WG_PTEXT(kind ? kind : ""), WG_PINT(pg.limit + 1), WG_PINT(pg.cursor) };
	if (!pager_rows(r, &pg, "SELECT " CONTACT_COLUMNS CONTACT_JOINS HANDED_WHERE " ORDER BY k.case_id DESC, k.kind, k.rank LIMIT ? OFFSET ?",
			p, 8, 0, contact_json, NULL) &&
	    !pager_count(r, &pg, "FROM case_contacts k" HANDED_WHERE, p, 6, 0) &&
	    !audit_read(r, "read", "case_contacts", case_id, r->user->scope_path))
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
	if (events_check_body(r, "case_applied", NULL) || resource_load(r, &case_resource, r->id, &c, path, sizeof path) ||
	    cases_locate_prepare(r, r->id))
		goto out;
	wg_param p[] = { WG_PINT(r->id) };
	int rc = store_run(r->db,
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
