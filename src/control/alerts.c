/* Alerts: a fever, a listed symptom, a positive result, a door opened
 * during home isolation. An alert is the team's at once and climbs the tree
 * while nobody handles it: one level per escalation interval (a setting),
 * from the record's grid to its community, street, county. Everyone whose
 * scope holds the record sees it (scope); ?mine=1 lists the open alerts
 * addressed to the caller: as a member of the record's team, or because the
 * alert has climbed to the caller's level. Handled or closed with a note. */
#include "control/control_int.h"
#include "core/lib/timefmt.h"
#include "core/audit/audit.h"
#include "core/auth/scope.h"
#include "core/lib/err.h"
#include "core/lib/parse.h"
#include "core/sheet/sheet.h"

#include <stdio.h>
#include <string.h>

static const char *const kinds[] = { "fever", "symptom", "positive", "door", NULL };
static const char *const kind_labels[] = { "发热", "症状", "核酸阳性", "居家隔离期间开门", NULL };
static const char *const alert_statuses[] = { "open", "handled", "closed", NULL };
static const char *const alert_status_labels[] = { "待处置", "已处置", "已关闭", NULL };

/* How deep the record's grid is: the deepest node of kind grid on its path. */
static int base_depth(wg_req *r, const char *path, int *depth)
{
	int64_t ids[WG_MAX_GRID_DEPTH];
	int n = ctl_path_ids(path, ids, WG_MAX_GRID_DEPTH);
	char sql[256];
	wg_param p[WG_MAX_GRID_DEPTH];
	size_t len = (size_t)snprintf(sql, sizeof sql, "SELECT id FROM grid_nodes WHERE kind = 'grid' AND id IN (0");
	for (int i = 0; i < n; i++) {
		len += (size_t)snprintf(sql + len, sizeof sql - len, ", ?");
		p[i] = WG_PINT(ids[i]);
	}
	snprintf(sql + len, sizeof sql - len, ")");
	*depth = n;
	wg_stmt *s;
	int rc = store_query(r->db, sql, p, (size_t)n, &s), best = -1;
	if (rc)
		return req_fail(r, rc, NULL, NULL, NULL);
	while ((rc = stmt_next(s)) == 1)
		for (int i = 0; i < n; i++)
			if (ids[i] == stmt_int(s, 0) && i > best)
				best = i;
	stmt_done(s);
	if (best >= 0)
		*depth = best + 1;
	return rc < 0 ? req_fail(r, -rc, NULL, NULL, NULL) : 0;
}

int ctl_alert_raise(wg_req *r, const struct ctl_record *rec, const char *kind, const char *detail, int64_t check_id,
		    int64_t event_id, int64_t at, struct ctl_counts *cnt, int64_t *alert_id)
{
	int depth;
	if (base_depth(r, rec->path, &depth))
		return r->fail.code;
	wg_param p[] = { WG_PINT(rec->id), WG_PINT(rec->chain_id), WG_PINT(rec->person_id), WG_PTEXT(rec->name), WG_PTEXT(rec->path),
			 WG_PINT(depth), WG_PTEXT(kind), WG_PTEXT(detail), check_id ? WG_PINT(check_id) : WG_PNULL,
			 event_id ? WG_PINT(event_id) : WG_PNULL, WG_PINT(at), WG_PINT(r->now), WG_PINT(r->now) };
	int rc = store_insert(r->db, "INSERT INTO control_alerts (control_id, chain_id, person_id, name, node_path, base_depth, kind,"
			      " detail, check_id, event_id, raised_at, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
			      p, 13, alert_id);
	if (rc)
		return req_fail(r, rc, NULL, NULL, NULL);
	int64_t day = ctl_local_day(at);
	ctl_count(cnt, rec->path, "alerts_raised", day, 1);
	ctl_count(cnt, rec->path, "alerts_open", day, 1);
	json_t *d = json_pack("{s:I, s:s, s:s}", "alert_id", (json_int_t)*alert_id, "kind", kind, "detail", detail);
	rc = ctl_history(r, rec, "alert", -1, -1, NULL, d);
	json_decref(d);
	return rc;
}

#define ALERT_COLUMNS \
	"id, control_id, chain_id, person_id, name, node_path, base_depth, kind, detail, check_id, event_id, raised_at, status," \
	" handled_by, handled_at, handle_note, closed_by, closed_at, close_note, version, created_at, updated_at"

struct alert_ctx { int64_t interval; };

static json_t *opt_int(wg_stmt *s, int col) { return stmt_is_null(s, col) ? json_null() : json_integer(stmt_int(s, col)); }
static json_t *opt_text(wg_stmt *s, int col) { return stmt_is_null(s, col) ? json_null() : json_string(stmt_text(s, col)); }

static json_t *alert_json(wg_req *r, wg_stmt *s, void *ctx)
{
	const struct alert_ctx *a = ctx;
	int kind = ctl_index_of(kinds, stmt_text(s, 7));
	int64_t raised = stmt_int(s, 11), known = stmt_int(s, 20), depth = stmt_int(s, 6);
	/* The level it climbed to, counted from when it was recorded (a check typed in
	 * late does not start high): while open, by now; once handled or closed, by then. */
	int64_t until = !stmt_is_null(s, 14) ? stmt_int(s, 14) : !stmt_is_null(s, 17) ? stmt_int(s, 17) : r->now;
	int64_t level = until > known ? (until - known) / a->interval : 0;
	if (level > depth - 1)
		level = depth - 1;
	if (level < 0)
		level = 0;
	int64_t ids[WG_MAX_GRID_DEPTH];
	int n = ctl_path_ids(stmt_text(s, 5), ids, WG_MAX_GRID_DEPTH);
	int64_t at = depth - 1 - level;
	json_t *o = json_pack("{s:I, s:I, s:I, s:I, s:o, s:s, s:s, s:s, s:s, s:o, s:o, s:s, s:s, s:I, s:o, s:o, s:o, s:o, s:o, s:I}",
		"id", (json_int_t)stmt_int(s, 0), "control_id", (json_int_t)stmt_int(s, 1), "chain_id", (json_int_t)stmt_int(s, 2),
		"person_id", (json_int_t)stmt_int(s, 3), "name", ctl_name_json(r, stmt_text(s, 4)), "node_path", stmt_text(s, 5),
		"kind", stmt_text(s, 7), "kind_zh", kind >= 0 ? kind_labels[kind] : stmt_text(s, 7), "detail", stmt_text(s, 8),
		"check_id", opt_int(s, 9), "event_id", opt_int(s, 10), "status", stmt_text(s, 12),
		"status_zh", alert_status_labels[ctl_index_of(alert_statuses, stmt_text(s, 12)) < 0 ? 0 : ctl_index_of(alert_statuses, stmt_text(s, 12))],
		"level", (json_int_t)level, "escalated_to", at >= 0 && at < n ? json_integer(ids[at]) : json_null(),
		"handled_by", opt_int(s, 13), "handle_note", opt_text(s, 15), "closed_by", opt_int(s, 16), "close_note", opt_text(s, 18),
		"version", (json_int_t)stmt_int(s, 19));
	if (!o || json_set_time_or_null(o, "raised_at", raised) || json_set_time_or_null(o, "handled_at", stmt_is_null(s, 14) ? -1 : stmt_int(s, 14)) ||
	    json_set_time_or_null(o, "closed_at", stmt_is_null(s, 17) ? -1 : stmt_int(s, 17)) ||
	    json_set_time_or_null(o, "created_at", stmt_int(s, 20)) || json_set_time_or_null(o, "updated_at", stmt_int(s, 21))) {
		json_decref(o);
		return NULL;
	}
	return o;
}

static int alert_load(wg_req *r, int64_t id, json_t **out, char *path, size_t size)
{
	struct ctl_settings st;
	wg_stmt *s;
	wg_param p[] = { WG_PINT(id) };
	*out = NULL;
	if (ctl_settings_get(r, &st))
		return r->fail.code;
	struct alert_ctx a = { st.escalate_seconds };
	int rc = store_query(r->db, "SELECT " ALERT_COLUMNS " FROM control_alerts WHERE id = ?", p, 1, &s);
	if (rc)
		return req_fail(r, rc, NULL, NULL, NULL);
	rc = stmt_next(s);
	bool visible = rc == 1 && scope_contains(r->user->scope_path, stmt_text(s, 5));
	if (visible) {
		*out = alert_json(r, s, &a);
		wg_copy_text(path, size, stmt_text(s, 5));
	}
	stmt_done(s);
	if (rc < 0)
		return req_fail(r, -rc, NULL, NULL, NULL);
	if (!visible)
		return req_failf(r, WG_ERR_NOT_FOUND, NULL, "预警 %lld 不存在或不在您的管辖范围内",
				 "alert %lld does not exist or is outside your scope", (long long)id, (long long)id);
	return *out ? 0 : req_fail(r, WG_ERR_NOMEM, NULL, NULL, NULL);
}

/* GET /api/v1/alerts/{id} */
int ctl_alert_get(wg_req *r)
{
	json_t *o;
	char path[WG_MAX_GRID_PATH];
	if (alert_load(r, r->id, &o, path, sizeof path))
		return r->fail.code;
	if (audit_read(r, "read", "control_alerts", r->id, path)) {
		json_decref(o);
		return r->fail.code;
	}
	return req_reply(r, 200, o);
}

struct alert_query {
	wg_buf where;
	wg_param p[16];
	size_t n;
	char lo[WG_MAX_GRID_PATH + 2], hi[WG_MAX_GRID_PATH + 2];
	int64_t interval, depth;
};

static int depth_of(const char *path)
{
	int64_t ids[WG_MAX_GRID_DEPTH];
	return ctl_path_ids(path, ids, WG_MAX_GRID_DEPTH);
}

static int alert_query(wg_req *r, const char *const *allowed, struct alert_query *q)
{
	struct ctl_settings st;
	char path[WG_MAX_GRID_PATH];
	int64_t grid, mine, control;
	const char *status = req_query(r, "status"), *kind = req_query(r, "kind");
	if (req_check_query(r, allowed) || ctl_settings_get(r, &st) || req_query_int(r, "grid", 1, INT64_MAX, 0, &grid) ||
	    req_query_int(r, "mine", 0, 1, 0, &mine) || req_query_int(r, "control_id", 1, INT64_MAX, 0, &control))
		return r->fail.code;
	if (status && ctl_index_of(alert_statuses, status) < 0)
		return req_fail(r, WG_ERR_BAD_QUERY, "status", "status 应为 open、handled 或 closed", "status must be open, handled or closed");
	if (kind && ctl_index_of(kinds, kind) < 0)
		return req_fail(r, WG_ERR_BAD_QUERY, "kind", "kind 应为 fever、symptom、positive 或 door",
				"kind must be fever, symptom, positive or door");
	wg_copy_text(path, sizeof path, r->user->scope_path);
	if (grid && resource_node_path(r, grid, "grid", path, sizeof path))
		return r->fail.code;
	scope_range(path, q->lo, q->hi, sizeof q->lo);
	q->interval = st.escalate_seconds;
	q->depth = depth_of(r->user->scope_path);
	wg_buf_puts(&q->where, " WHERE node_path >= ? AND node_path < ?");
	q->p[q->n++] = WG_PTEXT(q->lo);
	q->p[q->n++] = WG_PTEXT(q->hi);
	if (status) {
		wg_buf_puts(&q->where, " AND status = ?");
		q->p[q->n++] = WG_PTEXT(status);
	}
	if (kind) {
		wg_buf_puts(&q->where, " AND kind = ?");
		q->p[q->n++] = WG_PTEXT(kind);
	}
	if (control) {
		wg_buf_puts(&q->where, " AND control_id = ?");
		q->p[q->n++] = WG_PINT(control);
	}
	if (mine) {
		/* Addressed to me: my team's, or climbed to my level (one level per interval from the grid). */
		wg_buf_puts(&q->where, " AND status = 'open' AND (control_id IN (SELECT control_id FROM control_team WHERE user_id = ?)"
			    " OR base_depth - ? <= (? - created_at) / ?)");
		q->p[q->n++] = WG_PINT(r->user->id);
		q->p[q->n++] = WG_PINT(q->depth);
		q->p[q->n++] = WG_PINT(r->now);
		q->p[q->n++] = WG_PINT(q->interval);
	}
	return q->where.err ? req_fail(r, q->where.err, NULL, NULL, NULL) : 0;
}

/* GET /api/v1/alerts?status=&kind=&mine=&grid=&control_id=&limit=&cursor= */
int ctl_alert_list(wg_req *r)
{
	static const char *const allowed[] = { "status", "kind", "mine", "grid", "control_id", "limit", "cursor", NULL };
	struct alert_query q = { .where = WG_BUF_INIT(1024) };
	struct wg_pager pg = { 0 };
	char sql[2048], from[1400];
	if (alert_query(r, allowed, &q) || pager_start(r, &pg, 50, false))
		goto out;
	snprintf(from, sizeof from, "FROM control_alerts%s", q.where.data);
	snprintf(sql, sizeof sql, "SELECT " ALERT_COLUMNS " %s AND id < ? ORDER BY id DESC LIMIT ?", from);
	size_t nwhere = q.n;
	q.p[q.n++] = WG_PINT(pg.cursor ? pg.cursor : INT64_MAX);
	q.p[q.n++] = WG_PINT(pg.limit + 1);
	struct alert_ctx a = { q.interval };
	if (!pager_rows(r, &pg, sql, q.p, q.n, 0, alert_json, &a) && !pager_count(r, &pg, from, q.p, nwhere, 0) &&
	    !audit_read(r, "read", "control_alerts", 0, r->user->scope_path))
		pager_reply(r, &pg);
out:
	pager_release(&pg);
	wg_buf_release(&q.where);
	return r->fail.code;
}

int ctl_alerts_mine(wg_req *r, int limit, json_t **items, int64_t *total)
{
	struct ctl_settings st;
	char lo[WG_MAX_GRID_PATH + 2], hi[WG_MAX_GRID_PATH + 2], sql[2048];
	wg_stmt *s;
	*items = json_array();
	*total = 0;
	if (ctl_settings_get(r, &st))
		return r->fail.code;
	scope_range(r->user->scope_path, lo, hi, sizeof lo);
	struct alert_ctx a = { st.escalate_seconds };
	wg_param p[] = { WG_PTEXT(lo), WG_PTEXT(hi), WG_PINT(r->user->id), WG_PINT(depth_of(r->user->scope_path)), WG_PINT(r->now),
			 WG_PINT(st.escalate_seconds) };
	snprintf(sql, sizeof sql, "SELECT " ALERT_COLUMNS " FROM control_alerts WHERE node_path >= ? AND node_path < ? AND status = 'open'"
		 " AND (control_id IN (SELECT control_id FROM control_team WHERE user_id = ?) OR base_depth - ? <= (? - created_at) / ?)"
		 " ORDER BY id DESC");
	int rc = store_query(r->db, sql, p, 6, &s);
	if (rc)
		return req_fail(r, rc, NULL, NULL, NULL);
	while ((rc = stmt_next(s)) == 1) {
		if ((*total)++ >= limit)
			continue;
		json_t *o = alert_json(r, s, &a);
		if (!o || json_array_append_new(*items, o)) {
			rc = -WG_ERR_NOMEM;
			break;
		}
	}
	stmt_done(s);
	return rc < 0 ? req_fail(r, -rc, NULL, NULL, NULL) : 0;
}

/* An alert moves on: open → handled, or open | handled → closed, with a note. */
static int alert_move(wg_req *r, const char *to)
{
	static const char *const allowed[] = { "note", NULL };
	const char *note;
	json_t *a = NULL;
	char path[WG_MAX_GRID_PATH];
	struct ctl_record rec;
	struct ctl_counts *c = NULL;
	bool closing = strcmp(to, "closed") == 0;
	if (req_check_body(r, allowed) || ctl_body_text(r, "note", CTL_MAX_REASON, true, &note) ||
	    alert_load(r, r->id, &a, path, sizeof path) || req_if_match(r, json_integer_value(json_object_get(a, "version"))))
		goto out;
	const char *now = json_string_value(json_object_get(a, "status"));
	if (strcmp(now, "closed") == 0 || (!closing && strcmp(now, "open") != 0)) {
		req_failf(r, WG_ERR_CONFLICT, "status", "预警 %lld 的状态为“%s”", "alert %lld is already %s", (long long)r->id,
			  json_string_value(json_object_get(a, "status_zh")), (long long)r->id, now);
		goto out;
	}
	wg_param p[] = { WG_PTEXT(to), WG_PINT(r->user->id), WG_PINT(r->now), WG_PTEXT(note), WG_PINT(r->now), WG_PINT(r->id) };
	int rc = store_run(r->db, closing
		? "UPDATE control_alerts SET status = ?, closed_by = ?, closed_at = ?, close_note = ?, updated_at = ?, version = version + 1 WHERE id = ?"
		: "UPDATE control_alerts SET status = ?, handled_by = ?, handled_at = ?, handle_note = ?, updated_at = ?, version = version + 1 WHERE id = ?",
		p, 6);
	if (rc || !(c = ctl_counts_new())) {
		req_fail(r, rc ? rc : WG_ERR_NOMEM, NULL, NULL, NULL);
		goto out;
	}
	int64_t day = ctl_local_day(r->now);
	if (strcmp(now, "open") == 0)
		ctl_count(c, path, "alerts_open", day, -1);
	ctl_count(c, path, closing ? "alerts_closed" : "alerts_handled", day, 1);
	json_t *d = json_pack("{s:I, s:s}", "alert_id", (json_int_t)r->id, "note", note);
	if (!ctl_counts_flush(r, c) && !ctl_record_load_any(r, json_integer_value(json_object_get(a, "control_id")), &rec) &&
	    !ctl_history(r, &rec, closing ? "alert_closed" : "alert_handled", -1, -1, note, d) &&
	    !audit_req(r, closing ? "close" : "handle", "control_alerts", r->id, path, r->body)) {
		json_decref(a);
		if (!alert_load(r, r->id, &a, path, sizeof path)) {
			req_reply(r, 200, a);
			a = NULL;
		}
	}
	json_decref(d);
out:
	ctl_counts_free(c);
	json_decref(a);
	return r->fail.code;
}

/* POST /api/v1/alerts/{id}/handle {note} */
int ctl_alert_handle(wg_req *r) { return alert_move(r, "handled"); }
/* POST /api/v1/alerts/{id}/close {note} */
int ctl_alert_close(wg_req *r) { return alert_move(r, "closed"); }

struct export_ctx { struct alert_query *q; };

/* A time of the item as a sheet shows it ("2026-12-06 08:00"), "" when none. */
static void sheet_time(json_t *o, const char *key, char out[WG_TIME_HUMAN])
{
	json_t *v = json_object_get(o, key);
	out[0] = '\0';
	if (json_is_integer(v))
		wg_time_human(json_integer_value(v), out);
}

static int write_alerts(wg_req *r, struct sheet_writer *w, void *ctx)
{
	static const char *const header[] = { "预警编号", "管控记录", "人员编号", "姓名", "类型", "内容", "发生时间", "状态",
					      "当前层级", "处置时间", "处置说明", "关闭时间", "关闭说明" };
	struct alert_query *q = ((struct export_ctx *)ctx)->q;
	struct alert_ctx a = { q->interval };
	char sql[2048];
	wg_stmt *s;
	snprintf(sql, sizeof sql, "SELECT " ALERT_COLUMNS " FROM control_alerts%s ORDER BY id DESC", q->where.data);
	int rc = sheet_writer_header(w, header, NULL, sizeof header / sizeof header[0]);
	if (!rc)
		rc = store_query(r->db, sql, q->p, q->n, &s);
	if (rc)
		return rc;
	while ((rc = stmt_next(s)) == 1) {
		json_t *o = alert_json(r, s, &a);
		if (!o) {
			rc = -WG_ERR_NOMEM;
			break;
		}
		char n[4][WG_I64_DIGITS + 1];
		n[0][wg_format_i64(n[0], stmt_int(s, 0))] = '\0';
		n[1][wg_format_i64(n[1], stmt_int(s, 1))] = '\0';
		n[2][wg_format_i64(n[2], stmt_int(s, 3))] = '\0';
		n[3][wg_format_i64(n[3], json_integer_value(json_object_get(o, "level")))] = '\0';
		char when[3][WG_TIME_HUMAN];
		sheet_time(o, "raised_at", when[0]);
		sheet_time(o, "handled_at", when[1]);
		sheet_time(o, "closed_at", when[2]);
		const char *cells[] = { n[0], n[1], n[2], json_string_value(json_object_get(o, "name")),
					json_string_value(json_object_get(o, "kind_zh")), json_string_value(json_object_get(o, "detail")),
					when[0], json_string_value(json_object_get(o, "status_zh")), n[3], when[1],
					json_string_value(json_object_get(o, "handle_note")), when[2],
					json_string_value(json_object_get(o, "close_note")) };
		rc = sheet_writer_row(w, cells, NULL, sizeof cells / sizeof cells[0]);
		json_decref(o);
		if (rc)
			break;
	}
	stmt_done(s);
	return rc < 0 ? -rc : rc;
}

/* GET /api/v1/alerts/export?status=&kind=&mine=&grid=&format=csv|xlsx */
int ctl_alert_export(wg_req *r)
{
	static const char *const allowed[] = { "status", "kind", "mine", "grid", "control_id", "format", NULL };
	struct alert_query q = { .where = WG_BUF_INIT(1024) };
	struct export_ctx e = { &q };
	if (!alert_query(r, allowed, &q) && !resource_export_reply(r, "alerts", "预警", write_alerts, &e))
		audit_read(r, "export", "control_alerts", 0, r->user->scope_path);
	wg_buf_release(&q.where);
	return r->fail.code;
}
