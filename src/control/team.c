/* The responsibility team of a record (五包一, 三包一 …): one slot per member
 * of the preset's team shape. A member the shape says comes "from_duty" is
 * the leader with that duty on the record's grid or the nearest node above
 * it (grid_leaders); the others are assigned with PUT …/team. */
#include "control/control_int.h"
#include "core/audit/audit.h"
#include "core/lib/err.h"
#include "core/lib/ident.h"
#include "core/lib/parse.h"

#include <stdio.h>
#include <string.h>

struct leader { int64_t user_id; char name[CTL_MAX_NAME_BYTES], phone[48]; };

/* The leader with duty on the deepest node of path that has one. */
static int leader_for(wg_req *r, const char *duty, const int64_t *ids, int nids, struct leader *out, bool *found)
{
	char sql[512];
	wg_param p[1 + WG_MAX_GRID_DEPTH];
	size_t len = (size_t)snprintf(sql, sizeof sql, "SELECT l.node_id, u.id, u.display_name, u.phone FROM grid_leaders l"
				      " JOIN users u ON u.id = l.user_id WHERE l.duty = ? AND u.disabled = 0 AND l.node_id IN (0");
	p[0] = WG_PTEXT(duty);
	for (int i = 0; i < nids; i++) {
		len += (size_t)snprintf(sql + len, sizeof sql - len, ", ?");
		p[1 + i] = WG_PINT(ids[i]);
	}
	snprintf(sql + len, sizeof sql - len, ") ORDER BY u.id");
	wg_stmt *s;
	int rc = store_query(r->db, sql, p, 1 + (size_t)nids, &s), best = -1;
	if (rc)
		return req_fail(r, rc, NULL, NULL, NULL);
	while ((rc = stmt_next(s)) == 1) {
		int depth = -1;
		for (int i = 0; i < nids; i++)
			if (ids[i] == stmt_int(s, 0))
				depth = i;
		if (depth > best) {
			best = depth;
			out->user_id = stmt_int(s, 1);
			wg_copy_text(out->name, sizeof out->name, stmt_text(s, 2));
			wg_copy_text(out->phone, sizeof out->phone, stmt_text(s, 3));
		}
	}
	stmt_done(s);
	*found = best >= 0;
	return rc < 0 ? req_fail(r, -rc, NULL, NULL, NULL) : 0;
}

int ctl_team_fill(wg_req *r, int64_t control_id, const char *path, const char *shape_code)
{
	struct ctl_team_shape shape;
	int64_t ids[WG_MAX_GRID_DEPTH];
	int nids = ctl_path_ids(path, ids, WG_MAX_GRID_DEPTH);
	if (!shape_code || ctl_team_shape_active(r, shape_code, &shape))
		return r->fail.code;
	for (int i = 0; i < shape.n; i++) {
		struct leader l = { 0 };
		bool found = false;
		if (shape.m[i].from_duty[0] && leader_for(r, shape.m[i].from_duty, ids, nids, &l, &found))
			return r->fail.code;
		wg_param p[] = { WG_PINT(control_id), WG_PINT(i + 1), WG_PTEXT(shape.m[i].role), WG_PTEXT(shape.m[i].zh),
				 WG_PTEXT(found ? l.name : ""), WG_PTEXT(found ? l.phone : ""), found ? WG_PINT(l.user_id) : WG_PNULL };
		int rc = store_run(r->db, "INSERT INTO control_team (control_id, slot, role, role_zh, name, phone, user_id)"
				   " VALUES (?, ?, ?, ?, ?, ?, ?)", p, 7);
		if (rc)
			return req_fail(r, rc, NULL, NULL, NULL);
	}
	return 0;
}

int ctl_team_copy(wg_req *r, int64_t from_id, int64_t to_id)
{
	wg_param p[] = { WG_PINT(to_id), WG_PINT(from_id) };
	int rc = store_run(r->db, "INSERT INTO control_team (control_id, slot, role, role_zh, name, phone, user_id)"
			   " SELECT ?, slot, role, role_zh, name, phone, user_id FROM control_team WHERE control_id = ?", p, 2);
	return rc ? req_fail(r, rc, NULL, NULL, NULL) : 0;
}

static int team_json(wg_req *r, int64_t control_id, json_t **out)
{
	wg_stmt *s;
	wg_param p[] = { WG_PINT(control_id) };
	*out = json_array();
	int rc = store_query(r->db, "SELECT slot, role, role_zh, name, phone, user_id FROM control_team WHERE control_id = ?"
			     " ORDER BY slot", p, 1, &s);
	if (rc)
		return req_fail(r, rc, NULL, NULL, NULL);
	while ((rc = stmt_next(s)) == 1)
		json_array_append_new(*out, json_pack("{s:I, s:s, s:s, s:s, s:s, s:o}", "slot", (json_int_t)stmt_int(s, 0),
						      "role", stmt_text(s, 1), "zh", stmt_text(s, 2), "name", stmt_text(s, 3),
						      "phone", stmt_text(s, 4),
						      "user_id", stmt_is_null(s, 5) ? json_null() : json_integer(stmt_int(s, 5))));
	stmt_done(s);
	return rc < 0 ? req_fail(r, -rc, NULL, NULL, NULL) : 0;
}

static int member_user(wg_req *r, json_t *v, const char *field, int64_t *user_id)
{
	*user_id = 0;
	if (!v || json_is_null(v))
		return 0;
	int64_t found = 0;
	if (json_is_integer(v) && json_integer_value(v) > 0) {
		wg_param p[] = { WG_PINT(json_integer_value(v)) };
		int rc = store_int(r->db, "SELECT id FROM users WHERE id = ? AND disabled = 0", p, 1, &found);
		if (rc && rc != WG_ERR_NOT_FOUND)
			return req_fail(r, rc, NULL, NULL, NULL);
	}
	if (!found)
		return req_failf(r, WG_ERR_VALIDATION, field, "%s 应为在用账户的编号", "%s must be the id of an account in use",
				 field, field);
	*user_id = found;
	return 0;
}

/* PUT /api/v1/controls/{id}/team {"members": [{"role", "name"?, "phone"?, "user_id"?}]}:
 * fills the named slots; a slot not named keeps its member. */
int ctl_team_put(wg_req *r)
{
	static const char *const allowed[] = { "members", NULL }, *const mkeys[] = { "role", "name", "phone", "user_id", NULL };
	struct ctl_record rec;
	json_t *members = json_object_get(r->body, "members"), *m, *team = NULL;
	size_t i;
	if (req_check_body(r, allowed) || ctl_record_load(r, r->id, NULL, &rec) || req_if_match(r, rec.version))
		return r->fail.code;
	if (rec.status != ST_ACTIVE)
		return req_failf(r, WG_ERR_CONFLICT, "status", "管控记录 %lld 的状态为“%s”,不能再调整包保人员",
				 "control record %lld is %s: its team can no longer change", (long long)rec.id,
				 ctl_status_labels[rec.status], (long long)rec.id, ctl_statuses[rec.status]);
	if (!json_is_array(members) || json_array_size(members) == 0 || json_array_size(members) > CTL_MAX_TEAM)
		return req_fail(r, WG_ERR_VALIDATION, "members", "members 应为 1 到 8 个成员的数组",
				"members must be an array of 1 to 8 members");
	json_array_foreach(members, i, m) {
		char field[64], phone[48] = "";
		const char *zh = NULL, *en = NULL;
		int64_t user_id;
		snprintf(field, sizeof field, "members[%zu]", i);
		if (!json_is_object(m))
			return req_failf(r, WG_ERR_VALIDATION, field, "%s 应为对象", "%s must be an object", field, field);
		const char *key;
		json_t *v;
		json_object_foreach(m, key, v) {
			const char *const *a = mkeys;
			while (*a && strcmp(*a, key) != 0)
				a++;
			if (!*a)
				return req_failf(r, WG_ERR_UNKNOWN_FIELD, field, "%s 中有未知字段 %s", "%s has an unknown field %s",
						 field, key, field, key);
		}
		const char *role = json_string_value(json_object_get(m, "role"));
		const char *name = json_string_value(json_object_get(m, "name"));
		const char *ph = json_string_value(json_object_get(m, "phone"));
		snprintf(field, sizeof field, "members[%zu].phone", i);
		if (ph && *ph && ident_canon_phone(ph, strlen(ph), phone, sizeof phone, &zh, &en))
			return req_failf(r, WG_ERR_VALIDATION, field, "%s:%s", "%s: %s", field, zh ? zh : "格式无效", field,
					 en ? en : "invalid");
		snprintf(field, sizeof field, "members[%zu].name", i);
		if (name && strlen(name) > 150)
			return req_failf(r, WG_ERR_VALIDATION, field, "%s 过长", "%s is too long", field, field);
		snprintf(field, sizeof field, "members[%zu].user_id", i);
		if (member_user(r, json_object_get(m, "user_id"), field, &user_id))
			return r->fail.code;
		snprintf(field, sizeof field, "members[%zu].role", i);
		wg_param p[] = { WG_PTEXT(name ? name : ""), WG_PTEXT(phone), user_id ? WG_PINT(user_id) : WG_PNULL,
				 WG_PINT(rec.id), WG_PTEXT(role ? role : "") };
		wg_stmt *s;
		int rc = store_query(r->db, "UPDATE control_team SET name = ?, phone = ?, user_id = ? WHERE control_id = ? AND role = ?",
				     p, 5, &s);
		if (rc)
			return req_fail(r, rc, NULL, NULL, NULL);
		int64_t changed = stmt_changes(s);
		stmt_done(s);
		if (!changed)
			return req_failf(r, WG_ERR_VALIDATION, field, "该记录的包保团队中没有岗位“%s”",
					 "the record's team has no role '%s'", role ? role : "", role ? role : "");
	}
	wg_param u[] = { WG_PINT(r->now), WG_PINT(rec.id) };
	int rc = store_run(r->db, "UPDATE controls SET version = version + 1, updated_at = ? WHERE id = ?", u, 2);
	if (rc)
		return req_fail(r, rc, NULL, NULL, NULL);
	if (ctl_history(r, &rec, "team", -1, -1, NULL, members) ||
	    audit_req(r, "update", "controls", rec.id, rec.path, r->body) || team_json(r, rec.id, &team)) {
		json_decref(team);
		return r->fail.code;
	}
	return req_reply(r, 200, json_pack("{s:I, s:I, s:o}", "control_id", (json_int_t)rec.id, "version",
					   (json_int_t)rec.version + 1, "team", team));
}
