/* The life of a control record, a declared state machine:
 *
 *   active ──release──▶ released     the days served and the preset's NATs
 *                                    negative, or an override with a reason
 *   active ──transfer─▶ transferred  a new active record continues the chain
 *                                    (home → central, another grid …)
 *   active ──close────▶ closed       entered in error, became a case, left
 *                                    for another county … (a reason)
 *
 * released, transferred and closed are final: every other transition is
 * refused, naming both states. History (control_events) and the audit trail
 * keep every step; the chain (chain_id) ties a person's records together. */
#include "control/control_int.h"
#include "core/audit/audit.h"
#include "core/auth/scope.h"
#include "core/lib/err.h"
#include "core/lib/parse.h"

#include <stdio.h>
#include <string.h>

static const struct transition {
	int from, to;
	const char *action;
	const struct wg_right *right;
} machine[] = {
	{ ST_ACTIVE, ST_RELEASED, "release", &right_CONTROL_RELEASE },
	{ ST_ACTIVE, ST_TRANSFERRED, "transfer", &right_CONTROL_WRITE },
	{ ST_ACTIVE, ST_CLOSED, "close", &right_CONTROL_WRITE },
};

static const char *action_of(int to)
{
	for (size_t i = 0; i < sizeof machine / sizeof machine[0]; i++)
		if (machine[i].to == to)
			return machine[i].action;
	return "update";
}

static int may_become(wg_req *r, const struct ctl_record *rec, int to)
{
	for (size_t i = 0; i < sizeof machine / sizeof machine[0]; i++)
		if (machine[i].from == rec->status && machine[i].to == to) {
			if (rbac_allows(r->user->role, machine[i].right))
				return 0;
			return req_failf(r, WG_ERR_FORBIDDEN, NULL, "角色“%s”无权执行此操作(需要权限 %s)",
					 "role '%s' may not do this (needs right %s)", r->user->role->zh,
					 rbac_right_name(machine[i].right), r->user->role->name, rbac_right_name(machine[i].right));
		}
	return req_failf(r, WG_ERR_CONFLICT, "status", "管控记录 %lld 状态为“%s”,不能变为“%s”",
			 "control record %lld is %s: it cannot become %s", (long long)rec->id, ctl_status_labels[rec->status],
			 ctl_status_labels[to], (long long)rec->id, ctl_statuses[rec->status], ctl_statuses[to]);
}

/* The day of a transition: given or today, not before the record came into force, not ahead. */
static int transition_day(wg_req *r, const struct ctl_record *rec, int64_t *day)
{
	int64_t today = ctl_local_day(r->now);
	if (ctl_body_day(r, "date", today, day))
		return r->fail.code;
	if (*day > today)
		return req_fail(r, WG_ERR_VALIDATION, "date", "日期不能晚于今天", "date cannot be later than today");
	if (*day < rec->active_from) {
		char from[WG_DATE_TEXT];
		ctl_day_text(rec->active_from, from);
		return req_failf(r, WG_ERR_VALIDATION, "date", "日期早于本记录的起始日期 %s", "date is before the record came into force (%s)",
				 from, from);
	}
	return 0;
}

static const char *result_of(const char *text)
{
	return strcmp(text, "negative") == 0 ? "negative" : strcmp(text, "positive") == 0 ? "positive" : "pending";
}

int ctl_release_report(wg_req *r, const struct ctl_record *rec, const struct ctl_rules *rules, int64_t day,
		       json_t **report, bool *ready)
{
	const struct ctl_cat_rule *cr = &rules->cat[rec->category];
	/* The NAT results of the chain, by day: negative wins over pending, positive over all. */
	struct { int64_t day; const char *result; } seen[256];
	int nseen = 0;
	bool positive = false;
	wg_stmt *s;
	wg_param p[] = { WG_PINT(rec->chain_id) };
	int rc = store_query(r->db, "SELECT day, COALESCE(nat_result, 'pending') FROM control_checks WHERE chain_id = ? AND nat = 1"
			     " ORDER BY day, id", p, 1, &s);
	if (rc)
		return req_fail(r, rc, NULL, NULL, NULL);
	while ((rc = stmt_next(s)) == 1) {
		const char *res = result_of(stmt_text(s, 1));
		positive |= strcmp(res, "positive") == 0;
		if (nseen && seen[nseen - 1].day == stmt_int(s, 0)) {
			if (strcmp(res, "positive") == 0 || (strcmp(res, "negative") == 0 && strcmp(seen[nseen - 1].result, "pending") == 0))
				seen[nseen - 1].result = res;
		} else if (nseen < 256) {
			seen[nseen].day = stmt_int(s, 0);
			seen[nseen++].result = res;
		}
	}
	stmt_done(s);
	if (rc < 0)
		return req_fail(r, -rc, NULL, NULL, NULL);
	json_t *nat = json_array(), *missing = json_array();
	bool all = true;
	for (int i = 0; cr->present && i < cr->nrelease; i++) {
		int64_t d = rec->start_day + cr->release_nat[i] - 1;
		const char *res = "missing";
		for (int k = 0; k < nseen; k++)
			if (seen[k].day == d)
				res = seen[k].result;
		char text[WG_DATE_TEXT];
		ctl_day_text(d, text);
		json_array_append_new(nat, json_pack("{s:i, s:s, s:s}", "day_no", cr->release_nat[i], "date", text, "result", res));
		if (strcmp(res, "negative") != 0) {
			all = false;
			json_array_append_new(missing, json_integer(cr->release_nat[i]));
		}
	}
	char end[WG_DATE_TEXT], on[WG_DATE_TEXT];
	ctl_day_text(rec->end_day, end);
	ctl_day_text(day, on);
	*ready = day >= rec->end_day && all && !positive;
	*report = json_pack("{s:b, s:s, s:s, s:b, s:o, s:o, s:b}", "ready", *ready, "date", on, "end_date", end,
			    "days_served", day >= rec->end_day, "nat", nat, "nat_missing", missing, "positive", positive);
	return *report ? 0 : req_fail(r, WG_ERR_NOMEM, NULL, NULL, NULL);
}

static int record_json(wg_req *r, int64_t id, json_t **item)
{
	if (resource_load(r, &ctl_control_resource, id, item, NULL, 0))
		return r->fail.code;
	return ctl_control_resource.hooks.decorate(r, &ctl_control_resource, *item);
}

/* The record leaves the active state: stored, its stay ended, counted, told. */
static int leave(wg_req *r, const struct ctl_record *rec, const struct ctl_rules *rules, int to, int64_t day,
		 const char *reason, bool override, json_t *detail)
{
	char on[WG_DATE_TEXT];
	ctl_day_text(day, on);
	wg_param p[] = { WG_PTEXT(ctl_statuses[to]), WG_PTEXT(on), reason ? WG_PTEXT(reason) : WG_PNULL, WG_PINT(override),
			 WG_PINT(r->now), WG_PINT(rec->id), WG_PINT(rec->version) };
	wg_stmt *s;
	int rc = store_query(r->db, "UPDATE controls SET status = ?, ended_on = ?, end_reason = ?, override = ?, version = version + 1,"
			     " updated_at = ? WHERE id = ? AND version = ?", p, 7, &s);
	if (rc)
		return req_fail(r, rc, NULL, NULL, NULL);
	int64_t changed = stmt_changes(s);
	stmt_done(s);
	if (!changed)
		return req_fail(r, WG_ERR_PRECONDITION, "version", NULL, NULL);
	struct ctl_counts *c = ctl_counts_new();
	if (!c)
		return req_fail(r, WG_ERR_NOMEM, NULL, NULL, NULL);
	ctl_count_leave(c, rec, rules, to, day);
	rc = ctl_counts_flush(r, c);
	ctl_counts_free(c);
	if (rc || (to != ST_TRANSFERRED && ctl_stay_end(r, rec, r->now, reason)) ||
	    ctl_history(r, rec, action_of(to), rec->status, to, reason, detail))
		return r->fail.code;
	json_t *change = json_pack("{s:s, s:s, s:s?, s:b}", "status", ctl_statuses[to], "date", on, "reason", reason,
				   "override", override);
	rc = audit_req(r, action_of(to), "controls", rec->id, rec->path, change);
	json_decref(change);
	return rc ? r->fail.code : 0;
}

static int begin(wg_req *r, const char *const *allowed, struct ctl_record *rec, struct ctl_rules *rules, int to)
{
	if (req_check_body(r, allowed) || ctl_record_load(r, r->id, NULL, rec) || req_if_match(r, rec->version) ||
	    may_become(r, rec, to) || ctl_preset_rules(r, rec->preset_version_id, rules))
		return r->fail.code;
	struct ctl_settings st;
	return ctl_settings_get(r, &st);
}

/* POST /api/v1/controls/{id}/release {date?, reason?, override?} */
int ctl_release(wg_req *r)
{
	static const char *const allowed[] = { "date", "reason", "override", NULL };
	struct ctl_record rec;
	struct ctl_rules rules;
	json_t *report = NULL, *item = NULL;
	const char *reason;
	int64_t day;
	bool ready;
	json_t *ov = json_object_get(r->body, "override");
	if (begin(r, allowed, &rec, &rules, ST_RELEASED) || transition_day(r, &rec, &day) ||
	    ctl_body_text(r, "reason", CTL_MAX_REASON, false, &reason))
		goto out;
	if (ov && !json_is_boolean(ov)) {
		req_fail(r, WG_ERR_VALIDATION, "override", "override 应为 true 或 false", "override must be true or false");
		goto out;
	}
	bool override = json_is_true(ov);
	if (ctl_release_report(r, &rec, &rules, day, &report, &ready))
		goto out;
	if (override && !rbac_allows(r->user->role, &right_CONTROL_OVERRIDE)) {
		req_failf(r, WG_ERR_FORBIDDEN, "override", "角色“%s”无权特批解除(需要权限 CONTROL_OVERRIDE)",
			  "role '%s' may not release by override (needs right CONTROL_OVERRIDE)", r->user->role->zh, r->user->role->name);
		goto out;
	}
	if (override && (!reason || strlen(reason) < 4)) {
		req_fail(r, WG_ERR_REQUIRED, "reason", "特批解除须写明原因(reason)", "a release by override needs a reason");
		goto out;
	}
	if (!ready && !override) {
		json_t *missing = json_object_get(report, "nat_missing");
		if (day < rec.end_day)
			req_failf(r, WG_ERR_CONFLICT, "end_date", "管控期限未满:预计解除日期为 %s", "the days are not served: the end date is %s",
				  json_string_value(json_object_get(report, "end_date")), json_string_value(json_object_get(report, "end_date")));
		else if (json_is_true(json_object_get(report, "positive")))
			req_fail(r, WG_ERR_CONFLICT, "nat", "核酸检测结果有阳性,不能解除;请转为病例处置(close)",
				 "a NAT result is positive: the record cannot be released (close it as a case)");
		else {
			char days[256] = "";
			size_t i, len = 0;
			json_t *d;
			json_array_foreach(missing, i, d)
				len += (size_t)snprintf(days + len, sizeof days - len, "%s%lld", i ? "," : "", (long long)json_integer_value(d));
			req_failf(r, WG_ERR_CONFLICT, "nat", "第 %s 天的核酸阴性结果未齐,不能解除", "negative NAT results are missing for day(s) %s",
				  days, days);
		}
		goto out;
	}
	if (leave(r, &rec, &rules, ST_RELEASED, day, reason, override && !ready, report) || record_json(r, rec.id, &item))
		goto out;
	json_object_set_new(item, "conditions", report);
	report = NULL;
	req_reply(r, 200, item);
	item = NULL;
out:
	json_decref(report);
	json_decref(item);
	return r->fail.code;
}

/* POST /api/v1/controls/{id}/close {reason, date?} */
int ctl_close(wg_req *r)
{
	static const char *const allowed[] = { "date", "reason", NULL };
	struct ctl_record rec;
	struct ctl_rules rules;
	json_t *item = NULL;
	const char *reason;
	int64_t day;
	if (begin(r, allowed, &rec, &rules, ST_CLOSED) || transition_day(r, &rec, &day) ||
	    ctl_body_text(r, "reason", CTL_MAX_REASON, true, &reason) ||
	    leave(r, &rec, &rules, ST_CLOSED, day, reason, false, NULL) || record_json(r, rec.id, &item))
		return r->fail.code;
	return req_reply(r, 200, item);
}

int ctl_transfer_record(wg_req *r, const struct ctl_record *rec, int mode, int64_t grid_id, int64_t site_id,
			int64_t day, const char *reason, int64_t *new_id)
{
	struct ctl_rules rules;
	char path[WG_MAX_GRID_PATH], on[WG_DATE_TEXT];
	if (ctl_preset_rules(r, rec->preset_version_id, &rules))
		return r->fail.code;
	if (grid_id == rec->grid_id)
		wg_copy_text(path, sizeof path, rec->path);
	else if (resource_node_path(r, grid_id, "grid_id", path, sizeof path))
		return r->fail.code;
	json_t *detail = json_pack("{s:s, s:I, s:o}", "mode", ctl_modes[mode], "grid_id", (json_int_t)grid_id,
				   "site_id", site_id ? json_integer(site_id) : json_null());
	int rc = leave(r, rec, &rules, ST_TRANSFERRED, day, reason, false, detail);
	json_decref(detail);
	if (rc)
		return rc;
	/* Leaving central isolation, or another site: the stay ends. */
	if ((mode != MODE_CENTRAL || site_id != rec->site_id) && ctl_stay_end(r, rec, r->now, reason))
		return r->fail.code;
	ctl_day_text(day, on);
	wg_param p[] = { WG_PINT(grid_id), WG_PTEXT(path), WG_PTEXT(ctl_modes[mode]), WG_PTEXT(on),
			 site_id ? WG_PINT(site_id) : WG_PNULL, WG_PINT(rec->id), WG_PINT(r->now), WG_PINT(r->now), WG_PINT(rec->id) };
	rc = store_insert(r->db,
		"INSERT INTO controls (person_id, name, grid_id, node_path, category, mode, status, preset, preset_version,"
		" preset_version_id, start_date, end_date, active_from, site_id, source, case_id, team_shape, notes, previous_id,"
		" chain_id, version, created_at, updated_at)"
		" SELECT person_id, name, ?, ?, category, ?, 'active', preset, preset_version, preset_version_id, start_date, end_date,"
		" ?, ?, source, case_id, team_shape, notes, ?, chain_id, 1, ?, ? FROM controls WHERE id = ?", p, 9, new_id);
	if (rc == WG_ERR_CONFLICT)
		return req_failf(r, WG_ERR_CONFLICT, "person_id", "人员 %lld 已有另一条在管记录", "person %lld already has another active record",
				 (long long)rec->person_id, (long long)rec->person_id);
	if (rc)
		return req_fail(r, rc, NULL, NULL, NULL);
	struct ctl_record next;
	struct ctl_counts *c = ctl_counts_new();
	if (!c)
		return req_fail(r, WG_ERR_NOMEM, NULL, NULL, NULL);
	if (!ctl_record_load_any(r, *new_id, &next)) {
		ctl_count_open(c, &next, &rules, false, ctl_local_day(r->now));
		if (!ctl_counts_flush(r, c) &&
		    !(grid_id == rec->grid_id ? ctl_team_copy(r, rec->id, *new_id) : ctl_team_fill(r, *new_id, path, rules.team_shape))) {
			json_t *d = json_pack("{s:I}", "from", (json_int_t)rec->id);
			if (!ctl_history(r, &next, "transfer_in", ST_TRANSFERRED, ST_ACTIVE, reason, d)) {
				json_t *change = json_pack("{s:I, s:s, s:I}", "previous_id", (json_int_t)rec->id, "mode", ctl_modes[mode],
							   "grid_id", (json_int_t)grid_id);
				audit_req(r, "create", "controls", *new_id, path, change);
				json_decref(change);
			}
			json_decref(d);
		}
	}
	ctl_counts_free(c);
	return r->fail.code;
}

/* POST /api/v1/controls/{id}/transfer {mode?, grid_id?, site_id?, date?, reason} */
int ctl_transfer(wg_req *r)
{
	static const char *const allowed[] = { "mode", "grid_id", "site_id", "date", "reason", NULL };
	struct ctl_record rec;
	struct ctl_rules rules;
	json_t *from = NULL, *to = NULL;
	const char *reason, *mode_text;
	int64_t day, new_id;
	if (begin(r, allowed, &rec, &rules, ST_TRANSFERRED) || transition_day(r, &rec, &day) ||
	    ctl_body_text(r, "reason", CTL_MAX_REASON, true, &reason) || ctl_body_text(r, "mode", CTL_MAX_CODE, false, &mode_text))
		goto out;
	int mode = mode_text ? ctl_index_of(ctl_modes, mode_text) : rec.mode;
	if (mode < 0) {
		req_failf(r, WG_ERR_VALIDATION, "mode", "管控方式“%s”无效,可选:central、home_isolation、home_monitoring",
			  "mode '%s' is not one of central, home_isolation, home_monitoring", mode_text, mode_text);
		goto out;
	}
	json_t *g = json_object_get(r->body, "grid_id"), *st = json_object_get(r->body, "site_id");
	if ((g && (!json_is_integer(g) || json_integer_value(g) < 1)) || (st && !json_is_null(st) && (!json_is_integer(st) || json_integer_value(st) < 1))) {
		req_fail(r, WG_ERR_VALIDATION, g && !json_is_integer(g) ? "grid_id" : "site_id", "应为正整数编号", "must be a positive id");
		goto out;
	}
	int64_t grid = g ? json_integer_value(g) : rec.grid_id;
	int64_t site = st ? (json_is_null(st) ? 0 : json_integer_value(st)) : (mode == MODE_CENTRAL ? rec.site_id : 0);
	if (mode == rec.mode && grid == rec.grid_id && site == rec.site_id) {
		req_fail(r, WG_ERR_VALIDATION, "mode", "转出须改变管控方式、网格或隔离点之一",
			 "a transfer must change the mode, the grid or the site");
		goto out;
	}
	if (site && mode != MODE_CENTRAL) {
		req_fail(r, WG_ERR_VALIDATION, "site_id", "只有集中隔离的记录可以指定隔离点",
			 "only a record of central isolation (mode central) has a site");
		goto out;
	}
	if (site) {
		wg_stmt *s;
		wg_param p[] = { WG_PINT(site) };
		int rc = store_query(r->db, "SELECT node_path, status FROM control_sites WHERE id = ?", p, 1, &s);
		if (rc) {
			req_fail(r, rc, NULL, NULL, NULL);
			goto out;
		}
		rc = stmt_next(s);
		bool ok = rc == 1 && scope_contains(r->user->scope_path, stmt_text(s, 0)) && strcmp(stmt_text(s, 1), "open") == 0;
		stmt_done(s);
		if (!ok) {
			req_failf(r, WG_ERR_NOT_FOUND, "site_id", "隔离点 %lld 不存在、已关闭或不在您的管辖范围内",
				  "site %lld does not exist, is closed or is outside your scope", (long long)site, (long long)site);
			goto out;
		}
	}
	if (ctl_transfer_record(r, &rec, mode, grid, site, day, reason, &new_id) || record_json(r, rec.id, &from) ||
	    record_json(r, new_id, &to))
		goto out;
	req_reply(r, 200, json_pack("{s:O, s:O}", "from", from, "to", to));
out:
	json_decref(from);
	json_decref(to);
	return r->fail.code;
}

/* GET /api/v1/controls/{id}/conditions?date=: may it be released, and if not, why. */
int ctl_conditions(wg_req *r)
{
	static const char *const allowed[] = { "date", NULL };
	struct ctl_record rec;
	struct ctl_rules rules;
	json_t *report;
	int64_t day;
	bool ready;
	if (req_check_query(r, allowed) || ctl_record_load(r, r->id, NULL, &rec) ||
	    ctl_query_day(r, "date", ctl_local_day(r->now), &day) || ctl_preset_rules(r, rec.preset_version_id, &rules) ||
	    ctl_release_report(r, &rec, &rules, day, &report, &ready))
		return r->fail.code;
	json_object_set_new(report, "status", json_string(ctl_statuses[rec.status]));
	return req_reply(r, 200, report);
}

static json_t *event_json(wg_req *r, wg_stmt *s, void *ctx)
{
	(void)r;
	(void)ctx;
	json_t *o = json_pack("{s:I, s:I, s:o, s:s, s:s, s:o, s:o, s:o, s:o}", "id", (json_int_t)stmt_int(s, 0),
			      "control_id", (json_int_t)stmt_int(s, 1),
			      "user_id", stmt_is_null(s, 3) ? json_null() : json_integer(stmt_int(s, 3)), "username", stmt_text(s, 4),
			      "action", stmt_text(s, 5), "from_status", stmt_is_null(s, 6) ? json_null() : json_string(stmt_text(s, 6)),
			      "to_status", stmt_is_null(s, 7) ? json_null() : json_string(stmt_text(s, 7)),
			      "note", stmt_is_null(s, 8) ? json_null() : json_string(stmt_text(s, 8)),
			      "detail", stmt_is_null(s, 9) ? json_null() : json_loadb(stmt_text(s, 9), stmt_len(s, 9), 0, NULL));
	if (o && json_set_time_or_null(o, "at", stmt_int(s, 2))) {
		json_decref(o);
		return NULL;
	}
	return o;
}

/* GET /api/v1/controls/{id}/history: the chain's events, oldest first. */
int ctl_history_list(wg_req *r)
{
	static const char *const allowed[] = { "limit", "cursor", NULL };
	struct ctl_record rec;
	struct wg_pager pg;
	if (req_check_query(r, allowed) || ctl_record_load(r, r->id, NULL, &rec) || pager_start(r, &pg, 100, false))
		return r->fail.code;
	wg_param p[] = { WG_PINT(rec.chain_id), WG_PINT(pg.cursor), WG_PINT(pg.limit + 1) };
	if (!pager_rows(r, &pg, "SELECT id, control_id, at, user_id, username, action, from_status, to_status, note, detail"
			" FROM control_events WHERE chain_id = ? AND id > ? ORDER BY id LIMIT ?", p, 3, 0, event_json, NULL) &&
	    !pager_count(r, &pg, "FROM control_events WHERE chain_id = ?", p, 1, 0) &&
	    !audit_read(r, "read", "control_events", rec.id, rec.path))
		return pager_reply(r, &pg);
	pager_release(&pg);
	return r->fail.code;
}
