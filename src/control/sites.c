/* Central isolation and medical observation sites (集中隔离点, 医学留察点)
 * as a declared resource (/api/v1/sites, with capacity and occupancy
 * computed in the same statement), and what hangs on a site: its rooms,
 * the batches arriving, the staff on duty, its occupancy by day. Stays
 * (intake, discharge) are in stays.c. */
#include "control/control_int.h"
#include "core/audit/audit.h"
#include "core/auth/scope.h"
#include "core/lib/err.h"
#include "core/lib/ident.h"
#include "core/lib/mem.h"
#include "core/lib/parse.h"

#include <stdio.h>
#include <string.h>

static const char *const site_kinds[] = { "central", "observation", NULL };
static const char *const site_kind_labels[] = { "集中隔离点", "医学留察点", NULL };
static const char *const site_statuses[] = { "open", "closed", NULL };
static const char *const site_status_labels[] = { "启用", "停用", NULL };

static const struct wg_field site_fields[] = {
	{ "grid_id", FT_REF, FF_REQUIRED | FF_SCOPE | FF_FILTER, 0, 0, NULL, "所属网格", NULL, NULL, NULL },
	{ "name", FT_TEXT, FF_REQUIRED | FF_SEARCH, 1, 100, NULL, "名称", NULL, NULL, NULL },
	{ "kind", FT_ENUM, FF_REQUIRED | FF_FILTER, 0, 0, site_kinds, "类型", site_kind_labels, NULL, NULL },
	{ "address", FT_TEXT, FF_NULLABLE, 0, 200, NULL, "地址", NULL, NULL, NULL },
	{ "phone", FT_TEXT, FF_NULLABLE, 0, 40, NULL, "联系电话", NULL, ident_canon_phone, NULL },
	{ "status", FT_ENUM, FF_FILTER, 0, 0, site_statuses, "状态", site_status_labels, NULL, NULL },
	{ "notes", FT_TEXT, FF_NULLABLE, 0, 1000, NULL, "备注", NULL, NULL, NULL },
};

static int site_decorate(wg_req *r, const struct wg_resource *res, json_t *item)
{
	(void)res;
	json_t *o = json_object_get(item, "occupancy");
	int64_t capacity = json_integer_value(json_object_get(o, "capacity")), occupied = json_integer_value(json_object_get(o, "occupied"));
	if (json_object_set_new(item, "capacity", json_integer(capacity)) || json_object_set_new(item, "occupied", json_integer(occupied)) ||
	    json_object_del(item, "occupancy") || json_set_time_or_null(item, "created_at", json_integer_value(json_object_get(item, "created_at"))) ||
	    json_set_time_or_null(item, "updated_at", json_integer_value(json_object_get(item, "updated_at"))) ||
	    json_object_set_new(item, "free", json_integer(capacity > occupied ? capacity - occupied : 0)))
		return req_fail(r, WG_ERR_NOMEM, NULL, NULL, NULL);
	return 0;
}

/* A site that has had people is history: it is closed (status), not deleted. */
static int site_before_delete(wg_req *r, const struct wg_resource *res, int64_t id, const char *path)
{
	(void)res;
	(void)path;
	int64_t stays = 0;
	wg_param p[] = { WG_PINT(id) };
	int rc = store_int(r->db, "SELECT COUNT(*) FROM control_site_stays WHERE site_id = ?", p, 1, &stays);
	if (rc)
		return req_fail(r, rc, NULL, NULL, NULL);
	if (stays)
		return req_failf(r, WG_ERR_CONFLICT, NULL, "隔离点 %lld 已有 %lld 条入住记录,不能删除;请改为停用(status: closed)",
				 "site %lld has %lld stays and cannot be deleted: close it (status: closed)", (long long)id, (long long)stays,
				 (long long)id, (long long)stays);
	static const char *const rows[] = { "DELETE FROM control_site_rooms WHERE site_id = ?", "DELETE FROM control_site_batches WHERE site_id = ?",
					    "DELETE FROM control_site_staff WHERE site_id = ?" };
	for (size_t i = 0; i < WG_COUNT(rows); i++)
		if ((rc = store_run(r->db, rows[i], p, 1)))
			return req_fail(r, rc, NULL, NULL, NULL);
	return 0;
}

struct wg_resource ctl_site_resource = {
	.name = "sites", .table = "control_sites", .zh = "隔离点", .en = "site",
	.fields = site_fields, .nfields = WG_COUNT(site_fields),
	.path_column = "node_path", .read_right = &right_SITE_READ, .write_right = &right_SITE_WRITE,
	.hooks = { .decorate = site_decorate, .before_delete = site_before_delete },
	/* Capacity and occupancy in the site's own statement (a JSON member is an object). */
	.json_members = (const struct wg_json_member[]){ {
		"occupancy",
		"json_object('capacity', (SELECT COALESCE(SUM(beds), 0) FROM control_site_rooms WHERE site_id = control_sites.id),"
		" 'occupied', (SELECT COUNT(*) FROM control_site_stays WHERE site_id = control_sites.id AND discharge_at IS NULL))",
		"json_build_object('capacity', (SELECT COALESCE(SUM(beds), 0) FROM control_site_rooms WHERE site_id = control_sites.id),"
		" 'occupied', (SELECT COUNT(*) FROM control_site_stays WHERE site_id = control_sites.id AND discharge_at IS NULL))::text",
	} },
	.njson_members = 1,
};

/* ---- rooms ---- */

static json_t *room_json(wg_req *r, wg_stmt *s, void *ctx)
{
	(void)r;
	(void)ctx;
	return json_pack("{s:I, s:s, s:I, s:I, s:o}", "id", (json_int_t)stmt_int(s, 0), "room_no", stmt_text(s, 1),
			 "beds", (json_int_t)stmt_int(s, 2), "occupied", (json_int_t)stmt_int(s, 3),
			 "note", stmt_is_null(s, 4) ? json_null() : json_string(stmt_text(s, 4)));
}

#define ROOM_SELECT \
	"SELECT m.id, m.room_no, m.beds, (SELECT COUNT(*) FROM control_site_stays y WHERE y.room_id = m.id AND y.discharge_at IS NULL)," \
	" m.note FROM control_site_rooms m"

/* One page of what belongs to the site r->id: rows_sql takes the site,
 * the cursor and the limit; count_sql the site. */
static int site_page(wg_req *r, unsigned limit, const char *rows_sql, const char *count_sql,
		     json_t *(*row)(wg_req *r, wg_stmt *s, void *ctx))
{
	struct wg_pager pg;
	if (pager_start(r, &pg, limit, false))
		return r->fail.code;
	wg_param p[] = { WG_PINT(r->id), WG_PINT(pg.cursor), WG_PINT(pg.limit + 1) };
	if (!pager_rows(r, &pg, rows_sql, p, 3, 0, row, NULL) && !pager_count(r, &pg, count_sql, p, 1, 0))
		return pager_reply(r, &pg);
	pager_release(&pg);
	return r->fail.code;
}

/* The site r->id, inside the caller's scope (404 otherwise). */
static int site_visible(wg_req *r)
{
	json_t *site;
	if (resource_load(r, &ctl_site_resource, r->id, &site, NULL, 0))
		return r->fail.code;
	json_decref(site);
	return 0;
}

#define ROOMS_PAGE ROOM_SELECT " WHERE m.site_id = ? AND m.id > ? ORDER BY m.id LIMIT ?"
#define ROOMS_COUNT "FROM control_site_rooms WHERE site_id = ?"

/* GET /api/v1/sites/{id}/rooms */
int ctl_site_rooms(wg_req *r)
{
	static const char *const allowed[] = { "limit", "cursor", NULL };
	if (req_check_query(r, allowed) || site_visible(r))
		return r->fail.code;
	return site_page(r, 500, ROOMS_PAGE, ROOMS_COUNT, room_json);
}

/* PUT /api/v1/sites/{id}/rooms {"rooms": [{"room_no", "beds", "note"?}]}: adds rooms or changes their beds. */
int ctl_site_rooms_put(wg_req *r)
{
	static const char *const allowed[] = { "rooms", NULL };
	json_t *site, *rooms = json_object_get(r->body, "rooms"), *m;
	char path[WG_MAX_GRID_PATH];
	size_t i;
	if (req_check_body(r, allowed) || resource_load(r, &ctl_site_resource, r->id, &site, path, sizeof path))
		return r->fail.code;
	json_decref(site);
	if (!json_is_array(rooms) || json_array_size(rooms) == 0 || json_array_size(rooms) > CTL_MAX_BATCH_ITEMS)
		return req_fail(r, WG_ERR_VALIDATION, "rooms", "rooms 应为 1 到 500 个房间的数组", "rooms must be an array of 1 to 500 rooms");
	json_array_foreach(rooms, i, m) {
		char field[48];
		const char *no = json_string_value(json_object_get(m, "room_no"));
		json_t *beds = json_object_get(m, "beds"), *note = json_object_get(m, "note");
		snprintf(field, sizeof field, "rooms[%zu].room_no", i);
		if (!no || !*no || strlen(no) > 32)
			return req_failf(r, WG_ERR_VALIDATION, field, "%s 应为 1 到 32 个字符", "%s must be 1 to 32 characters", field, field);
		snprintf(field, sizeof field, "rooms[%zu].beds", i);
		if (!json_is_integer(beds) || json_integer_value(beds) < 1 || json_integer_value(beds) > 20)
			return req_failf(r, WG_ERR_VALIDATION, field, "%s 应为 1 到 20 的整数", "%s must be an integer from 1 to 20", field, field);
		if (json_object_size(m) > 2 + (note != NULL))
			return req_failf(r, WG_ERR_UNKNOWN_FIELD, field, "rooms[%zu] 只能有 room_no、beds、note",
					 "rooms[%zu] may hold room_no, beds and note only", i, i);
		int64_t occupied = 0;
		wg_param q[] = { WG_PINT(r->id), WG_PTEXT(no) };
		int rc = store_int(r->db, "SELECT COUNT(*) FROM control_site_stays y JOIN control_site_rooms m ON m.id = y.room_id"
				   " WHERE m.site_id = ? AND m.room_no = ? AND y.discharge_at IS NULL", q, 2, &occupied);
		if (rc)
			return req_fail(r, rc, NULL, NULL, NULL);
		if (occupied > json_integer_value(beds))
			return req_failf(r, WG_ERR_CONFLICT, field, "房间 %s 现住 %lld 人,床位不能少于此数",
					 "room %s holds %lld people now: beds cannot be fewer", no, (long long)occupied, no, (long long)occupied);
		wg_param p[] = { WG_PINT(r->id), WG_PTEXT(no), WG_PINT(json_integer_value(beds)),
				 json_is_string(note) ? WG_PTEXT(json_string_value(note)) : WG_PNULL, WG_PINT(r->now), WG_PINT(r->now) };
		rc = store_run(r->db, "INSERT INTO control_site_rooms (site_id, room_no, beds, note, created_at, updated_at)"
			       " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (site_id, room_no) DO UPDATE SET beds = excluded.beds,"
			       " note = excluded.note, updated_at = excluded.updated_at", p, 6);
		if (rc)
			return req_fail(r, rc, NULL, NULL, NULL);
	}
	if (audit_req(r, "update", "site_rooms", r->id, path, r->body))
		return r->fail.code;
	return site_page(r, 1000, ROOMS_PAGE, ROOMS_COUNT, room_json);   /* the rooms as they are now */
}

/* ---- batches ---- */

static json_t *batch_json(wg_req *r, wg_stmt *s, void *ctx)
{
	(void)r;
	(void)ctx;
	json_t *o = json_pack("{s:I, s:I, s:o, s:o, s:I, s:o}", "id", (json_int_t)stmt_int(s, 0), "batch_no", (json_int_t)stmt_int(s, 1),
			      "origin", stmt_is_null(s, 3) ? json_null() : json_string(stmt_text(s, 3)),
			      "expected", stmt_is_null(s, 4) ? json_null() : json_integer(stmt_int(s, 4)),
			      "arrived", (json_int_t)stmt_int(s, 6), "note", stmt_is_null(s, 5) ? json_null() : json_string(stmt_text(s, 5)));
	if (o && json_set_time_or_null(o, "arrived_at", stmt_int(s, 2))) {
		json_decref(o);
		return NULL;
	}
	return o;
}

#define BATCH_SELECT \
	"SELECT b.id, b.batch_no, b.arrived_at, b.origin, b.expected, b.note," \
	" (SELECT COUNT(*) FROM control_site_stays y WHERE y.batch_id = b.id) FROM control_site_batches b"

/* GET /api/v1/sites/{id}/batches */
int ctl_site_batches(wg_req *r)
{
	static const char *const allowed[] = { "limit", "cursor", NULL };
	if (req_check_query(r, allowed) || site_visible(r))
		return r->fail.code;
	return site_page(r, 100, BATCH_SELECT " WHERE b.site_id = ? AND b.id > ? ORDER BY b.id LIMIT ?",
			 "FROM control_site_batches WHERE site_id = ?", batch_json);
}

/* POST /api/v1/sites/{id}/batches {arrived_at?, origin?, expected?, note?}: numbered 1, 2, … per site. */
int ctl_site_batch_create(wg_req *r)
{
	static const char *const allowed[] = { "arrived_at", "origin", "expected", "note", NULL };
	json_t *site, *expected = json_object_get(r->body, "expected");
	char path[WG_MAX_GRID_PATH];
	const char *origin, *note;
	int64_t at, number = 0, id;
	if (req_check_body(r, allowed) || resource_load(r, &ctl_site_resource, r->id, &site, path, sizeof path))
		return r->fail.code;
	json_decref(site);
	if (ctl_body_time(r, "arrived_at", r->now, &at) || ctl_body_text(r, "origin", 200, false, &origin) ||
	    ctl_body_text(r, "note", CTL_MAX_REASON, false, &note))
		return r->fail.code;
	if (expected && (!json_is_integer(expected) || json_integer_value(expected) < 1 || json_integer_value(expected) > 10000))
		return req_fail(r, WG_ERR_VALIDATION, "expected", "expected 应为 1 到 10000 的整数", "expected must be an integer from 1 to 10000");
	if (at > r->now + 86400)
		return req_fail(r, WG_ERR_VALIDATION, "arrived_at", "到达时间不能晚于明天", "arrived_at cannot be later than tomorrow");
	wg_param q[] = { WG_PINT(r->id) };
	int rc = store_int(r->db, "SELECT COALESCE(MAX(batch_no), 0) FROM control_site_batches WHERE site_id = ?", q, 1, &number);
	wg_param p[] = { WG_PINT(r->id), WG_PINT(number + 1), WG_PINT(at), origin ? WG_PTEXT(origin) : WG_PNULL,
			 expected ? WG_PINT(json_integer_value(expected)) : WG_PNULL, note ? WG_PTEXT(note) : WG_PNULL,
			 WG_PINT(r->user->id), WG_PINT(r->now) };
	if (!rc)
		rc = store_insert(r->db, "INSERT INTO control_site_batches (site_id, batch_no, arrived_at, origin, expected, note, user_id,"
				  " created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)", p, 8, &id);
	if (rc)
		return req_fail(r, rc, NULL, NULL, NULL);
	if (audit_req(r, "create", "site_batches", id, path, r->body))
		return r->fail.code;
	wg_stmt *s;
	wg_param b[] = { WG_PINT(id) };
	if ((rc = store_query(r->db, BATCH_SELECT " WHERE b.id = ?", b, 1, &s)))
		return req_fail(r, rc, NULL, NULL, NULL);
	json_t *out = stmt_next(s) == 1 ? batch_json(r, s, NULL) : NULL;
	stmt_done(s);
	return out ? req_reply(r, 201, out) : req_fail(r, WG_ERR_NOMEM, NULL, NULL, NULL);
}

/* ---- staff on duty ---- */

static json_t *staff_json(wg_req *r, wg_stmt *s, void *ctx)
{
	(void)r;
	(void)ctx;
	return json_pack("{s:I, s:s, s:s, s:o, s:o, s:s, s:s}", "id", (json_int_t)stmt_int(s, 0), "name", stmt_text(s, 1),
			 "duty", stmt_text(s, 2), "phone", stmt_is_null(s, 3) ? json_null() : json_string(stmt_text(s, 3)),
			 "user_id", stmt_is_null(s, 4) ? json_null() : json_integer(stmt_int(s, 4)), "from", stmt_text(s, 5),
			 "to", stmt_text(s, 6));
}

/* GET /api/v1/sites/{id}/staff?date=: who is on duty that day (today by default). */
int ctl_site_staff(wg_req *r)
{
	static const char *const allowed[] = { "date", "limit", "cursor", NULL };
	struct wg_pager pg;
	int64_t day;
	char date[WG_DATE_TEXT];
	if (req_check_query(r, allowed) || ctl_query_day(r, "date", ctl_local_day(r->now), &day) || site_visible(r))
		return r->fail.code;
	ctl_day_text(day, date);
	if (pager_start(r, &pg, 100, false))
		return r->fail.code;
	wg_param p[] = { WG_PINT(r->id), WG_PTEXT(date), WG_PTEXT(date), WG_PINT(pg.cursor), WG_PINT(pg.limit + 1) };
	if (!pager_rows(r, &pg, "SELECT id, name, duty, phone, user_id, on_from, on_to FROM control_site_staff"
			" WHERE site_id = ? AND on_from <= ? AND on_to >= ? AND id > ? ORDER BY id LIMIT ?", p, 5, 0, staff_json, NULL) &&
	    !pager_count(r, &pg, "FROM control_site_staff WHERE site_id = ? AND on_from <= ? AND on_to >= ?", p, 3, 0))
		return pager_reply(r, &pg);
	pager_release(&pg);
	return r->fail.code;
}

/* POST /api/v1/sites/{id}/staff {name, duty, phone?, user_id?, from, to} */
int ctl_site_staff_add(wg_req *r)
{
	static const char *const allowed[] = { "name", "duty", "phone", "user_id", "from", "to", NULL };
	json_t *site, *user = json_object_get(r->body, "user_id");
	char path[WG_MAX_GRID_PATH], phone[48] = "", from_text[WG_DATE_TEXT], to_text[WG_DATE_TEXT];
	const char *name, *duty, *ph, *zh = NULL, *en = NULL;
	int64_t from, to, id, user_id = 0;
	if (req_check_body(r, allowed) || resource_load(r, &ctl_site_resource, r->id, &site, path, sizeof path))
		return r->fail.code;
	json_decref(site);
	if (ctl_body_text(r, "name", 50, true, &name) || ctl_body_text(r, "duty", 50, true, &duty) ||
	    ctl_body_text(r, "phone", 40, false, &ph) || ctl_body_day(r, "from", -1, &from) || ctl_body_day(r, "to", -1, &to))
		return r->fail.code;
	if (from < 0 || to < 0)
		return req_fail(r, WG_ERR_REQUIRED, from < 0 ? "from" : "to", "缺少值班起止日期", "the duty's from and to dates are required");
	if (to < from)
		return req_fail(r, WG_ERR_VALIDATION, "to", "值班结束日期(to)早于开始日期(from)", "to is before from: dates out of order");
	if (to - from >= 366)
		return req_fail(r, WG_ERR_VALIDATION, "to", "一次登记的值班不超过一年", "a duty spans at most a year");
	if (ph && ident_canon_phone(ph, strlen(ph), phone, sizeof phone, &zh, &en))
		return req_failf(r, WG_ERR_VALIDATION, "phone", "联系电话:%s", "phone: %s", zh ? zh : "格式无效", en ? en : "invalid");
	if (user) {
		wg_param q[] = { WG_PINT(json_integer_value(user)) };
		int rc = json_is_integer(user) ? store_int(r->db, "SELECT id FROM users WHERE id = ?", q, 1, &user_id) : WG_ERR_NOT_FOUND;
		if (rc && rc != WG_ERR_NOT_FOUND)
			return req_fail(r, rc, NULL, NULL, NULL);
		if (rc)
			return req_fail(r, WG_ERR_VALIDATION, "user_id", "user_id 应为账户编号", "user_id must be an account's id");
	}
	ctl_day_text(from, from_text);
	ctl_day_text(to, to_text);
	wg_param p[] = { WG_PINT(r->id), WG_PTEXT(name), WG_PTEXT(duty), ph ? WG_PTEXT(phone) : WG_PNULL,
			 user_id ? WG_PINT(user_id) : WG_PNULL, WG_PTEXT(from_text), WG_PTEXT(to_text), WG_PINT(r->now) };
	int rc = store_insert(r->db, "INSERT INTO control_site_staff (site_id, name, duty, phone, user_id, on_from, on_to, created_at)"
			      " VALUES (?, ?, ?, ?, ?, ?, ?, ?)", p, 8, &id);
	if (rc)
		return req_fail(r, rc, NULL, NULL, NULL);
	if (audit_req(r, "create", "site_staff", id, path, r->body))
		return r->fail.code;
	return req_reply(r, 201, json_pack("{s:I, s:s, s:s, s:o, s:o, s:s, s:s}", "id", (json_int_t)id, "name", name, "duty", duty,
					   "phone", ph ? json_string(phone) : json_null(),
					   "user_id", user_id ? json_integer(user_id) : json_null(), "from", from_text, "to", to_text));
}

/* ---- occupancy ---- */

/* GET /api/v1/sites/{id}/occupancy?from=&to=: per day, who was there that night, who came and who left. */
int ctl_site_occupancy(wg_req *r)
{
	static const char *const allowed[] = { "from", "to", NULL };
	json_t *site;
	int64_t today = ctl_local_day(r->now), from, to;
	if (req_check_query(r, allowed) || ctl_query_day(r, "to", today, &to) || ctl_query_day(r, "from", to - 13, &from) ||
	    resource_load(r, &ctl_site_resource, r->id, &site, NULL, 0))
		return r->fail.code;
	int64_t capacity = json_integer_value(json_object_get(json_object_get(site, "occupancy"), "capacity"));
	json_decref(site);
	if (to < from)
		return req_fail(r, WG_ERR_BAD_QUERY, "to", "to 早于 from", "to is before from");
	if (to - from + 1 > CTL_MAX_RANGE_DAYS)
		return req_failf(r, WG_ERR_BAD_QUERY, "from", "最多查询 %d 天", "at most %d days at once", CTL_MAX_RANGE_DAYS, CTL_MAX_RANGE_DAYS);
	int64_t occupied[CTL_MAX_RANGE_DAYS] = { 0 }, intakes[CTL_MAX_RANGE_DAYS] = { 0 }, discharges[CTL_MAX_RANGE_DAYS] = { 0 };
	wg_stmt *s;
	wg_param p[] = { WG_PINT(r->id), WG_PINT(to), WG_PINT(from) };
	int rc = store_query(r->db, "SELECT intake_day, discharge_day FROM control_site_stays WHERE site_id = ? AND intake_day <= ?"
			     " AND (discharge_day IS NULL OR discharge_day >= ?)", p, 3, &s);
	if (rc)
		return req_fail(r, rc, NULL, NULL, NULL);
	while ((rc = stmt_next(s)) == 1) {
		int64_t in = stmt_int(s, 0), out = stmt_is_null(s, 1) ? INT64_MAX : stmt_int(s, 1);
		for (int64_t d = from; d <= to; d++) {
			/* There for the night of d: arrived on or before d, not gone by d's end. */
			if (in <= d && out > d)
				occupied[d - from]++;
			if (in == d)
				intakes[d - from]++;
			if (out == d)
				discharges[d - from]++;
		}
	}
	stmt_done(s);
	if (rc < 0)
		return req_fail(r, -rc, NULL, NULL, NULL);
	json_t *days = json_array();
	for (int64_t d = from; days && d <= to; d++) {
		char date[WG_DATE_TEXT];
		ctl_day_text(d, date);
		json_array_append_new(days, json_pack("{s:s, s:I, s:I, s:I, s:I}", "date", date, "occupied", (json_int_t)occupied[d - from],
						      "intakes", (json_int_t)intakes[d - from], "discharges", (json_int_t)discharges[d - from],
						      "free", (json_int_t)(capacity > occupied[d - from] ? capacity - occupied[d - from] : 0)));
	}
	return req_reply(r, 200, json_pack("{s:I, s:I, s:o}", "site_id", (json_int_t)r->id, "capacity", (json_int_t)capacity, "days", days));
}
