/* Stays at a site, tied to control records: intake puts an active record of
 * central isolation in a room (with its batch), discharge ends the stay and
 * may hand the record on to home isolation or monitoring (a transfer, so
 * the chain keeps its history). A stay also ends when its record is
 * released, closed or transferred away from the site. */
#include "control/control_int.h"
#include "core/audit/audit.h"
#include "core/auth/scope.h"
#include "core/lib/err.h"
#include "core/lib/parse.h"

#include <stdio.h>
#include <string.h>

#define STAY_COLUMNS \
	"y.id, y.site_id, y.room_id, y.batch_id, y.control_id, y.chain_id, y.person_id, y.name, y.intake_at, y.discharge_at," \
	" y.discharge_note, COALESCE(m.room_no, ''), COALESCE(b.batch_no, 0), y.node_path, y.version"
#define STAY_FROM \
	" FROM control_site_stays y LEFT JOIN control_site_rooms m ON m.id = y.room_id" \
	" LEFT JOIN control_site_batches b ON b.id = y.batch_id"

static json_t *stay_json(wg_req *r, wg_stmt *s, void *ctx)
{
	(void)ctx;
	json_t *o = json_pack("{s:I, s:I, s:o, s:o, s:o, s:o, s:I, s:I, s:I, s:o, s:o, s:I}", "id", (json_int_t)stmt_int(s, 0),
			      "site_id", (json_int_t)stmt_int(s, 1),
			      "room_id", stmt_is_null(s, 2) ? json_null() : json_integer(stmt_int(s, 2)),
			      "room_no", stmt_is_null(s, 2) ? json_null() : json_string(stmt_text(s, 11)),
			      "batch_id", stmt_is_null(s, 3) ? json_null() : json_integer(stmt_int(s, 3)),
			      "batch_no", stmt_is_null(s, 3) ? json_null() : json_integer(stmt_int(s, 12)),
			      "control_id", (json_int_t)stmt_int(s, 4), "chain_id", (json_int_t)stmt_int(s, 5),
			      "person_id", (json_int_t)stmt_int(s, 6), "name", ctl_name_json(r, stmt_text(s, 7)),
			      "discharge_note", stmt_is_null(s, 10) ? json_null() : json_string(stmt_text(s, 10)),
			      "version", (json_int_t)stmt_int(s, 14));
	if (!o || json_set_time_or_null(o, "intake_at", stmt_int(s, 8)) ||
	    json_set_time_or_null(o, "discharge_at", stmt_is_null(s, 9) ? -1 : stmt_int(s, 9))) {
		json_decref(o);
		return NULL;
	}
	return o;
}

static int stay_load(wg_req *r, int64_t id, json_t **out, char *path, size_t size)
{
	wg_stmt *s;
	wg_param p[] = { WG_PINT(id) };
	*out = NULL;
	int rc = store_query(r->db, "SELECT " STAY_COLUMNS STAY_FROM " WHERE y.id = ?", p, 1, &s);
	if (rc)
		return req_fail(r, rc, NULL, NULL, NULL);
	rc = stmt_next(s);
	bool visible = rc == 1 && scope_contains(r->user->scope_path, stmt_text(s, 13));
	if (visible) {
		*out = stay_json(r, s, NULL);
		wg_copy_text(path, size, stmt_text(s, 13));
	}
	stmt_done(s);
	if (rc < 0)
		return req_fail(r, -rc, NULL, NULL, NULL);
	if (!visible)
		return req_failf(r, WG_ERR_NOT_FOUND, NULL, "入住记录 %lld 不存在或不在您的管辖范围内",
				 "stay %lld does not exist or is outside your scope", (long long)id, (long long)id);
	return *out ? 0 : req_fail(r, WG_ERR_NOMEM, NULL, NULL, NULL);
}

static int count(wg_req *r, const char *sql, int64_t a, int64_t *n)
{
	wg_param p[] = { WG_PINT(a) };
	int rc = store_int(r->db, sql, p, 1, n);
	return rc ? req_fail(r, rc, NULL, NULL, NULL) : 0;
}

/* POST /api/v1/sites/{id}/stays {control_id, room_id?, batch_id?, at?}: intake. */
int ctl_site_intake(wg_req *r)
{
	static const char *const allowed[] = { "control_id", "room_id", "batch_id", "at", NULL };
	json_t *site = NULL, *out = NULL;
	json_t *cid = json_object_get(r->body, "control_id"), *room = json_object_get(r->body, "room_id"),
	       *batch = json_object_get(r->body, "batch_id");
	char site_path[WG_MAX_GRID_PATH];
	struct ctl_record rec;
	int64_t at, id, capacity, occupied, current = 0;
	if (req_check_body(r, allowed) || resource_load(r, &ctl_site_resource, r->id, &site, site_path, sizeof site_path) ||
	    ctl_body_time(r, "at", r->now, &at))
		goto out;
	if (!json_is_integer(cid))
		json_is_null(cid) || !cid ? req_fail(r, WG_ERR_REQUIRED, "control_id", "缺少必填字段 control_id", "required field control_id is missing")
			: req_fail(r, WG_ERR_VALIDATION, "control_id", "control_id 应为管控记录编号", "control_id must be a control record's id");
	if (r->fail.code || ctl_record_load(r, json_integer_value(cid), "control_id", &rec))
		goto out;
	capacity = json_integer_value(json_object_get(json_object_get(site, "occupancy"), "capacity"));
	occupied = json_integer_value(json_object_get(json_object_get(site, "occupancy"), "occupied"));
	if (strcmp(json_string_value(json_object_get(site, "status")), "open") != 0) {
		req_failf(r, WG_ERR_CONFLICT, NULL, "隔离点 %lld 已停用", "site %lld is closed", (long long)r->id, (long long)r->id);
		goto out;
	}
	if (rec.status != ST_ACTIVE || rec.mode != MODE_CENTRAL) {
		req_failf(r, WG_ERR_CONFLICT, "control_id", "管控记录 %lld 不是在管的集中隔离记录(状态:%s,方式:%s)",
			  "control record %lld is not an active record of central isolation (status %s, mode %s)", (long long)rec.id,
			  ctl_status_labels[rec.status], ctl_mode_labels[rec.mode], (long long)rec.id, ctl_statuses[rec.status],
			  ctl_modes[rec.mode]);
		goto out;
	}
	if (rec.site_id && rec.site_id != r->id) {
		req_failf(r, WG_ERR_CONFLICT, "control_id", "管控记录 %lld 指定的隔离点是 %lld", "control record %lld is assigned to site %lld",
			  (long long)rec.id, (long long)rec.site_id, (long long)rec.id, (long long)rec.site_id);
		goto out;
	}
	wg_param c[] = { WG_PINT(rec.chain_id) };
	int rc = store_int(r->db, "SELECT id FROM control_site_stays WHERE chain_id = ? AND discharge_at IS NULL", c, 1, &current);
	if (rc && rc != WG_ERR_NOT_FOUND) {
		req_fail(r, rc, NULL, NULL, NULL);
		goto out;
	}
	if (current) {
		req_failf(r, WG_ERR_CONFLICT, "control_id", "该人员已入住(入住记录 %lld),请先办理离开", "already staying (stay %lld): discharge first",
			  (long long)current, (long long)current);
		goto out;
	}
	if (occupied >= capacity) {
		req_failf(r, WG_ERR_CONFLICT, NULL, "隔离点已满:床位 %lld,已住 %lld", "the site is full: %lld beds, %lld occupied",
			  (long long)capacity, (long long)occupied, (long long)capacity, (long long)occupied);
		goto out;
	}
	if (room) {
		int64_t beds = 0, in_room = 0, room_site = 0;
		if (!json_is_integer(room) || count(r, "SELECT site_id FROM control_site_rooms WHERE id = ?", json_integer_value(room), &room_site)) {
			memset(&r->fail, 0, sizeof r->fail);
			room_site = 0;
		}
		if (room_site != r->id) {
			req_failf(r, WG_ERR_VALIDATION, "room_id", "房间不属于隔离点 %lld", "the room is not one of site %lld", (long long)r->id,
				  (long long)r->id);
			goto out;
		}
		if (count(r, "SELECT beds FROM control_site_rooms WHERE id = ?", json_integer_value(room), &beds) ||
		    count(r, "SELECT COUNT(*) FROM control_site_stays WHERE room_id = ? AND discharge_at IS NULL", json_integer_value(room), &in_room))
			goto out;
		if (in_room >= beds) {
			req_failf(r, WG_ERR_CONFLICT, "room_id", "房间已满:%lld 张床位已住满", "the room is full: all %lld beds are taken",
				  (long long)beds, (long long)beds);
			goto out;
		}
	}
	if (batch) {
		int64_t batch_site = 0;
		if (!json_is_integer(batch) || count(r, "SELECT site_id FROM control_site_batches WHERE id = ?", json_integer_value(batch), &batch_site)) {
			memset(&r->fail, 0, sizeof r->fail);
			batch_site = 0;
		}
		if (batch_site != r->id) {
			req_failf(r, WG_ERR_VALIDATION, "batch_id", "批次不属于隔离点 %lld", "the batch is not one of site %lld", (long long)r->id,
				  (long long)r->id);
			goto out;
		}
	}
	wg_param p[] = { WG_PINT(r->id), room ? WG_PINT(json_integer_value(room)) : WG_PNULL, batch ? WG_PINT(json_integer_value(batch)) : WG_PNULL,
			 WG_PINT(rec.id), WG_PINT(rec.chain_id), WG_PINT(rec.person_id), WG_PTEXT(rec.name), WG_PTEXT(rec.path),
			 WG_PINT(at), WG_PINT(ctl_local_day(at)), WG_PINT(r->user->id), WG_PINT(r->now), WG_PINT(r->now) };
	rc = store_insert(r->db, "INSERT INTO control_site_stays (site_id, room_id, batch_id, control_id, chain_id, person_id, name, node_path,"
			  " intake_at, intake_day, user_id, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", p, 13, &id);
	if (rc) {
		req_fail(r, rc, NULL, NULL, NULL);
		goto out;
	}
	if (!rec.site_id) {
		wg_param u[] = { WG_PINT(r->id), WG_PINT(r->now), WG_PINT(rec.id) };
		if ((rc = store_run(r->db, "UPDATE controls SET site_id = ?, updated_at = ?, version = version + 1 WHERE id = ?", u, 3))) {
			req_fail(r, rc, NULL, NULL, NULL);
			goto out;
		}
	}
	json_t *d = json_pack("{s:I, s:I}", "site_id", (json_int_t)r->id, "stay_id", (json_int_t)id);
	rc = ctl_history(r, &rec, "intake", -1, -1, NULL, d);
	json_decref(d);
	if (rc || audit_req(r, "create", "site_stays", id, rec.path, r->body) || stay_load(r, id, &out, site_path, sizeof site_path))
		goto out;
	req_reply(r, 201, out);
	out = NULL;
out:
	json_decref(site);
	json_decref(out);
	return r->fail.code;
}

/* POST /api/v1/stays/{id}/discharge {at?, note?, transfer_mode?} */
int ctl_stay_discharge(wg_req *r)
{
	static const char *const allowed[] = { "at", "note", "transfer_mode", NULL };
	json_t *stay = NULL, *out = NULL;
	char path[WG_MAX_GRID_PATH];
	const char *note, *mode_text;
	int64_t at;
	struct ctl_record rec;
	if (req_check_body(r, allowed) || ctl_body_time(r, "at", r->now, &at) || ctl_body_text(r, "note", CTL_MAX_REASON, false, &note) ||
	    ctl_body_text(r, "transfer_mode", CTL_MAX_CODE, false, &mode_text) || stay_load(r, r->id, &stay, path, sizeof path) ||
	    req_if_match(r, json_integer_value(json_object_get(stay, "version"))))
		goto out;
	int mode = mode_text ? ctl_index_of(ctl_modes, mode_text) : -1;
	if (mode_text && (mode < 0 || mode == MODE_CENTRAL)) {
		req_fail(r, WG_ERR_VALIDATION, "transfer_mode", "transfer_mode 应为 home_isolation 或 home_monitoring",
			 "transfer_mode must be home_isolation or home_monitoring");
		goto out;
	}
	if (!json_is_null(json_object_get(stay, "discharge_at"))) {
		req_failf(r, WG_ERR_CONFLICT, NULL, "入住记录 %lld 已办理离开", "stay %lld has already ended", (long long)r->id, (long long)r->id);
		goto out;
	}
	if (at < json_integer_value(json_object_get(stay, "intake_at")) || at > r->now + 300) {
		req_fail(r, WG_ERR_VALIDATION, "at", "离开时间应在入住之后、不晚于现在", "at must be after the intake and not in the future");
		goto out;
	}
	if (ctl_record_load_any(r, json_integer_value(json_object_get(stay, "control_id")), &rec) || ctl_stay_end(r, &rec, at, note))
		goto out;
	json_t *d = json_pack("{s:I, s:I}", "site_id", (json_int_t)json_integer_value(json_object_get(stay, "site_id")), "stay_id", (json_int_t)r->id);
	int rc = ctl_history(r, &rec, "discharge", -1, -1, note, d);
	json_decref(d);
	if (rc || audit_req(r, "discharge", "site_stays", r->id, path, r->body))
		goto out;
	if (mode >= 0) {
		int64_t new_id;
		int64_t day = ctl_local_day(at);
		if (rec.status != ST_ACTIVE) {
			req_failf(r, WG_ERR_CONFLICT, "transfer_mode", "管控记录 %lld 的状态为“%s”,不能转为居家", "control record %lld is %s: it cannot go home",
				  (long long)rec.id, ctl_status_labels[rec.status], (long long)rec.id, ctl_statuses[rec.status]);
			goto out;
		}
		if (ctl_transfer_record(r, &rec, mode, rec.grid_id, 0, day < rec.active_from ? rec.active_from : day,
					note ? note : "出隔离点转居家 / discharged home", &new_id))
			goto out;
	}
	json_decref(stay);
	stay = NULL;
	if (stay_load(r, r->id, &stay, path, sizeof path))
		goto out;
	req_reply(r, 200, stay);
	stay = NULL;
out:
	json_decref(stay);
	json_decref(out);
	return r->fail.code;
}

/* GET /api/v1/sites/{id}/stays?current=0|1 */
int ctl_site_stays(wg_req *r)
{
	static const char *const allowed[] = { "current", "limit", "cursor", NULL };
	json_t *site;
	struct wg_pager pg;
	int64_t current;
	if (req_check_query(r, allowed) || req_query_int(r, "current", 0, 1, 0, &current) ||
	    resource_load(r, &ctl_site_resource, r->id, &site, NULL, 0))
		return r->fail.code;
	json_decref(site);
	if (pager_start(r, &pg, 100, false))
		return r->fail.code;
	wg_param p[] = { WG_PINT(r->id), WG_PINT(current), WG_PINT(pg.cursor), WG_PINT(pg.limit + 1) };
	if (!pager_rows(r, &pg, "SELECT " STAY_COLUMNS STAY_FROM " WHERE y.site_id = ? AND (? = 0 OR y.discharge_at IS NULL)"
			" AND y.id > ? ORDER BY y.id LIMIT ?", p, 4, 0, stay_json, NULL) &&
	    !pager_count(r, &pg, "FROM control_site_stays y WHERE y.site_id = ? AND (? = 0 OR y.discharge_at IS NULL)", p, 2, 0) &&
	    !audit_read(r, "read", "site_stays", r->id, r->user->scope_path))
		return pager_reply(r, &pg);
	pager_release(&pg);
	return r->fail.code;
}
