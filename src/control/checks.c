/* Daily checks of a controlled person: temperature (34–43 °C), symptoms
 * from the preset's list, a NAT sample and later its result. A fever (at or
 * above the preset's threshold), a listed symptom or a positive result
 * raises an alert in the same transaction. */
#include "control/control_int.h"
#include "core/lib/timefmt.h"
#include "core/audit/audit.h"
#include "core/auth/scope.h"
#include "core/lib/err.h"
#include "core/lib/parse.h"
#include "core/sheet/sheet.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

static const char *const results[] = { "pending", "negative", "positive", NULL };

#define CHECK_COLUMNS \
	"k.id, k.control_id, k.chain_id, k.person_id, k.day, k.day_no, k.at, k.temperature, k.fever, k.symptoms, k.nat," \
	" k.tube, k.nat_result, k.result_at, k.note, k.user_id, k.created_at, k.updated_at, k.version, c.name, k.node_path," \
	" c.preset_version_id"

static json_t *check_json(wg_req *r, wg_stmt *s, void *ctx)
{
	(void)ctx;
	char day[WG_DATE_TEXT];
	ctl_day_text(stmt_int(s, 4), day);
	json_t *o = json_pack("{s:I, s:I, s:I, s:I, s:s, s:I, s:o, s:b, s:o, s:b, s:o, s:o, s:o, s:o, s:I, s:o, s:s}",
		"id", (json_int_t)stmt_int(s, 0), "control_id", (json_int_t)stmt_int(s, 1), "chain_id", (json_int_t)stmt_int(s, 2),
		"person_id", (json_int_t)stmt_int(s, 3), "day", day, "day_no", (json_int_t)stmt_int(s, 5),
		"temperature", stmt_is_null(s, 7) ? json_null() : json_real((double)stmt_int(s, 7) / 10.0),
		"fever", stmt_int(s, 8) != 0, "symptoms", json_comma_list(stmt_text(s, 9)), "nat_sampled", stmt_int(s, 10) != 0,
		"tube", stmt_is_null(s, 11) ? json_null() : json_string(stmt_text(s, 11)),
		"nat_result", stmt_is_null(s, 12) ? json_null() : json_string(stmt_text(s, 12)),
		"note", stmt_is_null(s, 14) ? json_null() : json_string(stmt_text(s, 14)),
		"user_id", stmt_is_null(s, 15) ? json_null() : json_integer(stmt_int(s, 15)), "version", (json_int_t)stmt_int(s, 18),
		"name", ctl_name_json(r, stmt_text(s, 19)), "node_path", stmt_text(s, 20));
	if (!o || json_set_time_or_null(o, "at", stmt_int(s, 6)) || json_set_time_or_null(o, "result_at", stmt_is_null(s, 13) ? -1 : stmt_int(s, 13)) ||
	    json_set_time_or_null(o, "created_at", stmt_int(s, 16)) || json_set_time_or_null(o, "updated_at", stmt_int(s, 17))) {
		json_decref(o);
		return NULL;
	}
	return o;
}

static int check_load(wg_req *r, int64_t id, json_t **out)
{
	wg_stmt *s;
	wg_param p[] = { WG_PINT(id) };
	*out = NULL;
	int rc = store_query(r->db, "SELECT " CHECK_COLUMNS " FROM control_checks k JOIN controls c ON c.id = k.control_id"
			     " WHERE k.id = ?", p, 1, &s);
	if (rc)
		return req_fail(r, rc, NULL, NULL, NULL);
	rc = stmt_next(s);
	bool visible = rc == 1 && scope_contains(r->user->scope_path, stmt_text(s, 20));
	if (visible)
		*out = check_json(r, s, NULL);
	stmt_done(s);
	if (rc < 0)
		return req_fail(r, -rc, NULL, NULL, NULL);
	if (!visible)
		return req_failf(r, WG_ERR_NOT_FOUND, NULL, "健康监测记录 %lld 不存在或不在您的管辖范围内",
				 "check %lld does not exist or is outside your scope", (long long)id, (long long)id);
	return *out ? 0 : req_fail(r, WG_ERR_NOMEM, NULL, NULL, NULL);
}

/* Whether day is one of the chain's NAT days under its rules. */
static bool nat_due_on(const struct ctl_record *rec, const struct ctl_rules *rules, int64_t day)
{
	int days[CTL_MAX_CHAIN_NAT];
	const struct ctl_cat_rule *cr = &rules->cat[rec->category];
	int n = cr->present ? ctl_rule_nat_days(cr, days, CTL_MAX_CHAIN_NAT) : 0;
	for (int i = 0; i < n; i++)
		if (rec->start_day + days[i] - 1 == day)
			return true;
	return false;
}

struct check_in {
	int64_t at, day;
	int temperature;         /* tenths; -1 when not taken */
	char symptoms[CTL_MAX_SYMPTOMS * (CTL_MAX_CODE + 1) + 2];
	char symptoms_zh[CTL_MAX_SYMPTOMS * CTL_MAX_LABEL];
	bool nat;
	const char *tube, *result, *note;
};

static int read_check(wg_req *r, const struct ctl_record *rec, const struct ctl_rules *rules, struct check_in *in)
{
	static const char *const allowed[] = { "at", "temperature", "symptoms", "nat_sampled", "tube", "nat_result", "note", NULL };
	json_t *t = json_object_get(r->body, "temperature"), *sym = json_object_get(r->body, "symptoms");
	json_t *nat = json_object_get(r->body, "nat_sampled");
	memset(in, 0, sizeof *in);
	in->temperature = -1;
	if (req_check_body(r, allowed) || ctl_body_time(r, "at", r->now, &in->at) ||
	    ctl_body_text(r, "tube", 32, false, &in->tube) || ctl_body_text(r, "nat_result", 16, false, &in->result) ||
	    ctl_body_text(r, "note", CTL_MAX_REASON, false, &in->note))
		return r->fail.code;
	if (t && !json_is_null(t)) {
		double v = json_number_value(t);
		if (!json_is_number(t) || v < 34.0 || v > 43.0)
			return req_fail(r, WG_ERR_VALIDATION, "temperature", "体温(temperature)应在 34 到 43 ℃ 之间",
					"temperature must be from 34 to 43 °C");
		in->temperature = (int)lround(v * 10);
	}
	if (sym && !json_is_null(sym)) {
		size_t i, len = 0, zlen = 0;
		json_t *v;
		if (!json_is_array(sym) || json_array_size(sym) > CTL_MAX_SYMPTOMS)
			return req_fail(r, WG_ERR_VALIDATION, "symptoms", "症状(symptoms)应为数组", "symptoms must be an array");
		json_array_foreach(sym, i, v) {
			const struct ctl_symptom *known = json_is_string(v) ? ctl_rules_symptom(rules, json_string_value(v)) : NULL;
			if (!known) {
				char list[512] = "";
				size_t l = 0;
				for (int k = 0; k < rules->nsymptoms; k++)
					l += (size_t)snprintf(list + l, sizeof list - l, "%s%s(%s)", k ? "、" : "", rules->symptoms[k].zh,
							      rules->symptoms[k].code);
				return req_failf(r, WG_ERR_VALIDATION, "symptoms", "symptoms[%zu] 不是本方案列出的症状,可选:%s",
						 "symptoms[%zu] is not a symptom the preset lists (one of: %s)", i, list, i, list);
			}
			if (strstr(in->symptoms, known->code))
				continue;
			len += (size_t)snprintf(in->symptoms + len, sizeof in->symptoms - len, "%s%s,", len ? "" : ",", known->code);
			zlen += (size_t)snprintf(in->symptoms_zh + zlen, sizeof in->symptoms_zh - zlen, "%s%s", zlen ? "、" : "", known->zh);
		}
	}
	if (nat && !json_is_boolean(nat))
		return req_fail(r, WG_ERR_VALIDATION, "nat_sampled", "nat_sampled 应为 true 或 false", "nat_sampled must be true or false");
	in->nat = json_is_true(nat);
	if (in->result && ctl_index_of(results, in->result) < 0)
		return req_fail(r, WG_ERR_VALIDATION, "nat_result", "nat_result 应为 pending、negative 或 positive",
				"nat_result must be pending, negative or positive");
	if ((in->result || in->tube) && !in->nat)
		return req_fail(r, WG_ERR_VALIDATION, in->result ? "nat_result" : "tube", "只有采样(nat_sampled: true)才有管号和结果",
				"a tube and a result go with a sample (nat_sampled: true)");
	if (in->temperature < 0 && !sym && !in->nat)
		return req_fail(r, WG_ERR_REQUIRED, "temperature", "至少登记体温、症状或核酸采样之一",
				"record at least a temperature, the symptoms or a NAT sample");
	in->day = ctl_local_day(in->at);
	if (in->at > r->now + 300)
		return req_fail(r, WG_ERR_VALIDATION, "at", "时间不能晚于现在", "at cannot be in the future");
	if (in->day < rec->active_from) {
		char from[WG_DATE_TEXT];
		ctl_day_text(rec->active_from, from);
		return req_failf(r, WG_ERR_VALIDATION, "at", "时间早于本记录的起始日期 %s", "at is before the record came into force (%s)",
				 from, from);
	}
	return 0;
}

/* POST /api/v1/controls/{id}/checks {at?, temperature?, symptoms?, nat_sampled?, tube?, nat_result?, note?} */
int ctl_check_create(wg_req *r)
{
	struct ctl_record rec;
	struct ctl_rules rules;
	struct check_in in;
	struct ctl_counts *c = NULL;
	json_t *out = NULL, *alerts = NULL;
	int64_t id, seen = 0, sampled = 0;
	struct ctl_settings st;
	if (ctl_settings_get(r, &st) || ctl_record_load(r, r->id, NULL, &rec) || ctl_preset_rules(r, rec.preset_version_id, &rules) ||
	    read_check(r, &rec, &rules, &in))
		return r->fail.code;
	if (rec.status != ST_ACTIVE)
		return req_failf(r, WG_ERR_CONFLICT, "status", "管控记录 %lld 的状态为“%s”,不再登记健康监测",
				 "control record %lld is %s: no more checks are recorded", (long long)rec.id,
				 ctl_status_labels[rec.status], (long long)rec.id, ctl_statuses[rec.status]);
	wg_param q[] = { WG_PINT(rec.chain_id), WG_PINT(in.day) };
	int rc = store_int(r->db, "SELECT COUNT(*) FROM control_checks WHERE chain_id = ? AND day = ?", q, 2, &seen);
	if (!rc)
		rc = store_int(r->db, "SELECT COUNT(*) FROM control_checks WHERE chain_id = ? AND day = ? AND nat = 1", q, 2, &sampled);
	if (rc)
		return req_fail(r, rc, NULL, NULL, NULL);
	bool fever = in.temperature >= rules.fever_tenths;
	wg_param p[] = {
		WG_PINT(rec.id), WG_PINT(rec.chain_id), WG_PINT(rec.person_id), WG_PTEXT(rec.path), WG_PINT(in.day),
		WG_PINT(ctl_day_no(&rec, in.day)), WG_PINT(in.at), in.temperature >= 0 ? WG_PINT(in.temperature) : WG_PNULL,
		WG_PINT(fever), WG_PTEXT(in.symptoms), WG_PINT(in.nat), in.tube ? WG_PTEXT(in.tube) : WG_PNULL,
		in.result ? WG_PTEXT(in.result) : (in.nat ? WG_PTEXT("pending") : WG_PNULL),
		in.result && strcmp(in.result, "pending") != 0 ? WG_PINT(r->now) : WG_PNULL, in.note ? WG_PTEXT(in.note) : WG_PNULL,
		WG_PINT(r->user->id), WG_PINT(r->now), WG_PINT(r->now),
	};
	rc = store_insert(r->db, "INSERT INTO control_checks (control_id, chain_id, person_id, node_path, day, day_no, at, temperature,"
			  " fever, symptoms, nat, tube, nat_result, result_at, note, user_id, created_at, updated_at)"
			  " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", p, 18, &id);
	if (rc)
		return req_fail(r, rc, NULL, NULL, NULL);
	if (!(c = ctl_counts_new()) || !(alerts = json_array())) {
		req_fail(r, WG_ERR_NOMEM, NULL, NULL, NULL);
		goto out;
	}
	ctl_count(c, rec.path, "checks", in.day, 1);
	if (seen < rules.checks_per_day)
		ctl_count(c, rec.path, "checks_done", in.day, 1);
	if (fever)
		ctl_count(c, rec.path, "fever", in.day, 1);
	if (in.symptoms[0])
		ctl_count(c, rec.path, "symptom", in.day, 1);
	if (in.nat) {
		ctl_count(c, rec.path, "nat_samples", in.day, 1);
		if (sampled == 0 && nat_due_on(&rec, &rules, in.day))
			ctl_count(c, rec.path, "nat_done", in.day, 1);
	}
	bool positive = in.result && strcmp(in.result, "positive") == 0;
	if (positive)
		ctl_count(c, rec.path, "nat_positive", ctl_local_day(r->now), 1);
	char detail[sizeof in.symptoms_zh + 64];
	int64_t alert;
	if (fever) {
		snprintf(detail, sizeof detail, "体温 %.1f℃ / temperature %.1f °C", in.temperature / 10.0, in.temperature / 10.0);
		if (ctl_alert_raise(r, &rec, "fever", detail, id, 0, in.at, c, &alert))
			goto out;
		json_array_append_new(alerts, json_integer(alert));
	}
	if (in.symptoms[0]) {
		snprintf(detail, sizeof detail, "症状:%s", in.symptoms_zh);
		if (ctl_alert_raise(r, &rec, "symptom", detail, id, 0, in.at, c, &alert))
			goto out;
		json_array_append_new(alerts, json_integer(alert));
	}
	if (positive) {
		snprintf(detail, sizeof detail, "核酸阳性%s%s / NAT positive", in.tube ? ",管号 " : "", in.tube ? in.tube : "");
		if (ctl_alert_raise(r, &rec, "positive", detail, id, 0, r->now, c, &alert))
			goto out;
		json_array_append_new(alerts, json_integer(alert));
	}
	if (ctl_counts_flush(r, c) || audit_req(r, "create", "control_checks", id, rec.path, r->body) || check_load(r, id, &out))
		goto out;
	json_object_set_new(out, "alerts", alerts);
	alerts = NULL;
	req_reply(r, 201, out);
	out = NULL;
out:
	ctl_counts_free(c);
	json_decref(out);
	json_decref(alerts);
	return r->fail.code;
}

/* POST /api/v1/checks/{id}/result {result, at?}: a sample's result arrives. */
int ctl_check_result(wg_req *r)
{
	static const char *const allowed[] = { "result", "at", NULL };
	json_t *check = NULL;
	const char *result;
	int64_t at;
	struct ctl_record rec;
	struct ctl_counts *c = NULL;
	if (req_check_body(r, allowed) || ctl_body_text(r, "result", 16, true, &result) || ctl_body_time(r, "at", r->now, &at) ||
	    check_load(r, r->id, &check))
		goto out;
	if (ctl_index_of(results, result) < 1) {
		req_fail(r, WG_ERR_VALIDATION, "result", "result 应为 negative 或 positive", "result must be negative or positive");
		goto out;
	}
	if (!json_is_true(json_object_get(check, "nat_sampled"))) {
		req_failf(r, WG_ERR_CONFLICT, "result", "健康监测记录 %lld 没有核酸采样", "check %lld has no NAT sample",
			  (long long)r->id, (long long)r->id);
		goto out;
	}
	const char *now = json_string_value(json_object_get(check, "nat_result"));
	if (now && strcmp(now, "pending") != 0) {
		if (strcmp(now, result) == 0) {
			req_reply(r, 200, check);  /* the same result again: nothing changes */
			check = NULL;
		} else {
			req_failf(r, WG_ERR_CONFLICT, "result", "该样本已有结果“%s”,不能改为“%s”", "the sample already has result %s, not %s",
				  now, result, now, result);
		}
		goto out;
	}
	if (ctl_record_load_any(r, json_integer_value(json_object_get(check, "control_id")), &rec) || !(c = ctl_counts_new())) {
		if (!r->fail.code)
			req_fail(r, WG_ERR_NOMEM, NULL, NULL, NULL);
		goto out;
	}
	wg_param p[] = { WG_PTEXT(result), WG_PINT(at), WG_PINT(r->now), WG_PINT(r->id) };
	int rc = store_run(r->db, "UPDATE control_checks SET nat_result = ?, result_at = ?, updated_at = ?, version = version + 1"
			   " WHERE id = ?", p, 4);
	if (rc) {
		req_fail(r, rc, NULL, NULL, NULL);
		goto out;
	}
	int64_t alert = 0;
	if (strcmp(result, "positive") == 0) {
		ctl_count(c, rec.path, "nat_positive", ctl_local_day(at), 1);
		const char *tube = json_string_value(json_object_get(check, "tube"));
		char detail[256];
		snprintf(detail, sizeof detail, "核酸阳性%s%s / NAT positive", tube ? ",管号 " : "", tube ? tube : "");
		if (rec.status == ST_ACTIVE && ctl_alert_raise(r, &rec, "positive", detail, r->id, 0, at, c, &alert))
			goto out;
	}
	json_decref(check);
	check = NULL;
	if (ctl_counts_flush(r, c) || audit_req(r, "update", "control_checks", r->id, rec.path, r->body) ||
	    check_load(r, r->id, &check))
		goto out;
	json_object_set_new(check, "alerts", alert ? json_pack("[I]", (json_int_t)alert) : json_array());
	req_reply(r, 200, check);
	check = NULL;
out:
	ctl_counts_free(c);
	json_decref(check);
	return r->fail.code;
}

/* GET /api/v1/controls/{id}/checks: the chain's checks, oldest first. */
int ctl_check_list(wg_req *r)
{
	static const char *const allowed[] = { "limit", "cursor", NULL };
	struct ctl_record rec;
	struct wg_pager pg;
	if (req_check_query(r, allowed) || ctl_record_load(r, r->id, NULL, &rec) || pager_start(r, &pg, 100, false))
		return r->fail.code;
	wg_param p[] = { WG_PINT(rec.chain_id), WG_PINT(pg.cursor), WG_PINT(pg.limit + 1) };
	if (!pager_rows(r, &pg, "SELECT " CHECK_COLUMNS " FROM control_checks k JOIN controls c ON c.id = k.control_id"
			" WHERE k.chain_id = ? AND k.id > ? ORDER BY k.id LIMIT ?", p, 3, 0, check_json, NULL) &&
	    !pager_count(r, &pg, "FROM control_checks k WHERE k.chain_id = ?", p, 1, 0) &&
	    !audit_read(r, "read", "control_checks", rec.id, rec.path))
		return pager_reply(r, &pg);
	pager_release(&pg);
	return r->fail.code;
}

#define DAY_WHERE " WHERE k.day = ? AND k.node_path >= ? AND k.node_path < ?"

struct day_query { int64_t day; char lo[WG_MAX_GRID_PATH + 2], hi[WG_MAX_GRID_PATH + 2]; };

static int day_query(wg_req *r, const char *const *allowed, struct day_query *q)
{
	int64_t grid;
	char path[WG_MAX_GRID_PATH];
	if (req_check_query(r, allowed) || ctl_query_day(r, "date", ctl_local_day(r->now), &q->day) ||
	    req_query_int(r, "grid", 1, INT64_MAX, 0, &grid))
		return r->fail.code;
	wg_copy_text(path, sizeof path, r->user->scope_path);
	if (grid && resource_node_path(r, grid, "grid", path, sizeof path))
		return r->fail.code;
	scope_range(path, q->lo, q->hi, sizeof q->lo);
	return 0;
}

/* GET /api/v1/checks?date=&grid=: the checks recorded on a day in scope. */
int ctl_checks_day(wg_req *r)
{
	static const char *const allowed[] = { "date", "grid", "limit", "cursor", NULL };
	struct day_query q;
	struct wg_pager pg;
	if (day_query(r, allowed, &q) || pager_start(r, &pg, 100, false))
		return r->fail.code;
	wg_param p[] = { WG_PINT(q.day), WG_PTEXT(q.lo), WG_PTEXT(q.hi), WG_PINT(pg.cursor), WG_PINT(pg.limit + 1) };
	if (!pager_rows(r, &pg, "SELECT " CHECK_COLUMNS " FROM control_checks k JOIN controls c ON c.id = k.control_id" DAY_WHERE
			" AND k.id > ? ORDER BY k.id LIMIT ?", p, 5, 0, check_json, NULL) &&
	    !pager_count(r, &pg, "FROM control_checks k" DAY_WHERE, p, 3, 0) &&
	    !audit_read(r, "read", "control_checks", 0, r->user->scope_path))
		return pager_reply(r, &pg);
	pager_release(&pg);
	return r->fail.code;
}

static int write_checks(wg_req *r, struct sheet_writer *w, void *ctx)
{
	static const char *const header[] = { "记录编号", "管控记录", "人员编号", "姓名", "日期", "管控第几天", "时间", "体温(℃)",
					      "发热", "症状", "核酸采样", "管号", "核酸结果", "备注" };
	static const char *const result_zh[][2] = { { "pending", "待出结果" }, { "negative", "阴性" }, { "positive", "阳性" } };
	struct day_query *q = ctx;
	wg_stmt *s;
	wg_param p[] = { WG_PINT(q->day), WG_PTEXT(q->lo), WG_PTEXT(q->hi) };
	int rc = sheet_writer_header(w, header, NULL, sizeof header / sizeof header[0]);
	if (!rc)
		rc = store_query(r->db, "SELECT " CHECK_COLUMNS ", v.rules FROM control_checks k JOIN controls c ON c.id = k.control_id"
				 " JOIN control_config_versions v ON v.id = c.preset_version_id" DAY_WHERE " ORDER BY k.id", p, 3, &s);
	if (rc)
		return rc;
	while ((rc = stmt_next(s)) == 1) {
		char n[4][WG_I64_DIGITS + 1], day[WG_DATE_TEXT], at[WG_TIME_HUMAN], temp[16] = "", sym[512] = "";
		n[0][wg_format_i64(n[0], stmt_int(s, 0))] = '\0';
		n[1][wg_format_i64(n[1], stmt_int(s, 1))] = '\0';
		n[2][wg_format_i64(n[2], stmt_int(s, 3))] = '\0';
		n[3][wg_format_i64(n[3], stmt_int(s, 5))] = '\0';
		ctl_day_text(stmt_int(s, 4), day);
		wg_time_human(stmt_int(s, 6), at);   /* a sheet shows the time as a person reads it */
		if (!stmt_is_null(s, 7))
			snprintf(temp, sizeof temp, "%.1f", (double)stmt_int(s, 7) / 10.0);
		/* Symptoms in the words of the record's preset. */
		struct ctl_rules rules;
		if (ctl_preset_rules_text(r, stmt_int(s, 21), stmt_text(s, 22), stmt_len(s, 22), &rules)) {
			rc = -r->fail.code;
			break;
		}
		size_t len = 0;
		for (const char *x = stmt_text(s, 9); *x;) {
			char code[CTL_MAX_CODE + 1];
			const char *e = strchr(x + 1, ',');
			size_t k = e ? (size_t)(e - x - 1) : 0;
			if (*x != ',' || !e || k == 0 || k > CTL_MAX_CODE)
				break;
			memcpy(code, x + 1, k);
			code[k] = '\0';
			const struct ctl_symptom *known = ctl_rules_symptom(&rules, code);
			len += (size_t)snprintf(sym + len, sizeof sym - len, "%s%s", len ? "、" : "", known ? known->zh : code);
			x = e;
			if (!e[1])
				break;
		}
		const char *result = stmt_text(s, 12);
		for (size_t i = 0; i < 3; i++)
			if (strcmp(result_zh[i][0], result) == 0)
				result = result_zh[i][1];
		json_t *name = ctl_name_json(r, stmt_text(s, 19));
		const char *cells[] = { n[0], n[1], n[2], json_string_value(name), day, n[3], at, temp, stmt_int(s, 8) ? "是" : "否",
					sym, stmt_int(s, 10) ? "是" : "否", stmt_text(s, 11), result, stmt_text(s, 14) };
		rc = sheet_writer_row(w, cells, NULL, sizeof cells / sizeof cells[0]);
		json_decref(name);
		if (rc)
			break;
	}
	stmt_done(s);
	return rc < 0 ? -rc : rc;
}

/* GET /api/v1/checks/export?date=&grid=&format=csv|xlsx */
int ctl_checks_export(wg_req *r)
{
	static const char *const allowed[] = { "date", "grid", "format", NULL };
	struct day_query q;
	if (day_query(r, allowed, &q) || resource_export_reply(r, "checks", "健康监测", write_checks, &q))
		return r->fail.code;
	return audit_read(r, "export", "control_checks", 0, r->user->scope_path);
}
