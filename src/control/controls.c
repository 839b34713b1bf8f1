/* Control records as a declared resource (/api/v1/controls): the generic
 * layer lists, reads, creates, patches (notes only), imports and exports
 * them with scope, versions, audit and masking. What is special:
 *
 *   a record is opened for a registry person (registry_people) in scope,
 *   who may have one active record at a time (409 naming it);
 *   category, mode and dates come from the preset's active version unless
 *   given (a category the preset does not determine needs them given);
 *   the record keeps that version, gets its team from the preset's team
 *   shape, its counters and the first entry of its history;
 *   an import finds each row's person by ID number or phone;
 *   records are never deleted: they are closed, with a reason. */
#include "control/control_int.h"
#include "core/audit/audit.h"
#include "core/auth/scope.h"
#include "core/lib/crypt.h"
#include "core/lib/err.h"
#include "core/lib/ident.h"
#include "core/lib/parse.h"
#include "core/sheet/sheet.h"

#include <stdio.h>
#include <string.h>

static const struct wg_field control_fields[] = {
	{ "person_id", FT_REF, FF_REQUIRED | FF_CREATE_ONLY | FF_FILTER | FF_IMPORT_OPTIONAL, 0, 0, NULL, "人员编号", NULL, NULL, NULL },
	{ "name", FT_TEXT, FF_READONLY | FF_SEARCH, 0, 50, NULL, "姓名", NULL, NULL, NULL },
	{ "grid_id", FT_REF, FF_READONLY | FF_SCOPE | FF_FILTER, 0, 0, NULL, "所属网格", NULL, NULL, NULL },
	{ "category", FT_ENUM, FF_REQUIRED | FF_CREATE_ONLY | FF_FILTER | FF_IMPORT_OPTIONAL, 0, 0, ctl_categories, "管控类别",
	  ctl_category_labels, NULL, NULL },
	{ "mode", FT_ENUM, FF_CREATE_ONLY | FF_FILTER, 0, 0, ctl_modes, "管控方式", ctl_mode_labels, NULL, NULL },
	{ "status", FT_ENUM, FF_READONLY | FF_FILTER, 0, 0, ctl_statuses, "状态", ctl_status_labels, NULL, NULL },
	{ "preset", FT_TEXT, FF_CREATE_ONLY | FF_FILTER, 1, CTL_MAX_CODE, NULL, "防控方案", NULL, NULL, NULL },
	{ "preset_version", FT_INT, FF_READONLY, 0, 0, NULL, "方案版本", NULL, NULL, NULL },
	{ "preset_version_id", FT_INT, FF_READONLY, 0, 0, NULL, "方案版本编号", NULL, NULL, NULL },
	{ "start_date", FT_DATE, FF_CREATE_ONLY, 0, 0, NULL, "开始日期", NULL, NULL, NULL },
	{ "end_date", FT_DATE, FF_CREATE_ONLY, 0, 0, NULL, "预计解除日期", NULL, NULL, NULL },
	{ "active_from", FT_DATE, FF_READONLY, 0, 0, NULL, "本记录起始日期", NULL, NULL, NULL },
	{ "site_id", FT_REF, FF_CREATE_ONLY | FF_NULLABLE | FF_FILTER, 0, 0, NULL, "隔离点编号", NULL, NULL, NULL },
	{ "source", FT_TEXT, FF_CREATE_ONLY | FF_NULLABLE, 0, 200, NULL, "来源", NULL, NULL, NULL },
	{ "case_id", FT_REF, FF_READONLY | FF_FILTER, 0, 0, NULL, "病例编号", NULL, NULL, NULL },
	{ "team_shape", FT_TEXT, FF_READONLY, 0, 0, NULL, "包保模式", NULL, NULL, NULL },
	{ "notes", FT_TEXT, FF_NULLABLE, 0, 1000, NULL, "备注", NULL, NULL, NULL },
	{ "previous_id", FT_REF, FF_READONLY | FF_FILTER, 0, 0, NULL, "转自记录", NULL, NULL, NULL },
	{ "chain_id", FT_REF, FF_READONLY | FF_FILTER, 0, 0, NULL, "管控链编号", NULL, NULL, NULL },
	{ "ended_on", FT_DATE, FF_READONLY, 0, 0, NULL, "结束日期", NULL, NULL, NULL },
	{ "end_reason", FT_TEXT, FF_READONLY, 0, 0, NULL, "结束原因", NULL, NULL, NULL },
	{ "override", FT_BOOL, FF_READONLY, 0, 0, NULL, "特批解除", NULL, NULL, NULL },
};

/* The person: in the registry and in scope. */
static int person_of(wg_req *r, int64_t person, int64_t *grid, char *path, size_t size, char *name, size_t nsize)
{
	wg_stmt *s;
	wg_param p[] = { WG_PINT(person) };
	int rc = store_query(r->db, "SELECT grid_id, node_path, name FROM registry_people WHERE id = ?", p, 1, &s);
	if (rc)
		return req_fail(r, rc, NULL, NULL, NULL);
	rc = stmt_next(s);
	bool visible = rc == 1 && scope_contains(r->user->scope_path, stmt_text(s, 1));
	if (visible) {
		*grid = stmt_int(s, 0);
		wg_copy_text(path, size, stmt_text(s, 1));
		wg_copy_text(name, nsize, stmt_text(s, 2));
	}
	stmt_done(s);
	if (rc < 0)
		return req_fail(r, -rc, NULL, NULL, NULL);
	if (!visible)
		return req_failf(r, WG_ERR_NOT_FOUND, "person_id", "人员 %lld 不存在或不在您的管辖范围内",
				 "person %lld does not exist or is outside your scope", (long long)person, (long long)person);
	return 0;
}

/* 409 naming the person's active record, if there is one. */
static int not_under_control(wg_req *r, int64_t person)
{
	wg_stmt *s;
	wg_param p[] = { WG_PINT(person) };
	int rc = store_query(r->db, "SELECT id, node_path FROM controls WHERE person_id = ? AND status = 'active'", p, 1, &s);
	if (rc)
		return req_fail(r, rc, NULL, NULL, NULL);
	rc = stmt_next(s);
	int64_t other = rc == 1 ? stmt_int(s, 0) : 0;
	bool visible = rc == 1 && scope_contains(r->user->scope_path, stmt_text(s, 1));
	stmt_done(s);
	if (rc < 0)
		return req_fail(r, -rc, NULL, NULL, NULL);
	if (!other)
		return 0;
	if (visible)
		return req_failf(r, WG_ERR_CONFLICT, "person_id", "人员 %lld 已在管控中(管控记录 %lld),不能重复管控",
				 "person %lld is already under control (control record %lld)", (long long)person,
				 (long long)other, (long long)person, (long long)other);
	return req_failf(r, WG_ERR_CONFLICT, "person_id", "人员 %lld 已在您管辖范围以外管控,请联系上级核实",
			 "person %lld is already under control outside your scope; ask the level above", (long long)person,
			 (long long)person);
}

static int site_ok(wg_req *r, int64_t site, int mode)
{
	wg_stmt *s;
	wg_param p[] = { WG_PINT(site) };
	int rc = store_query(r->db, "SELECT node_path, status FROM control_sites WHERE id = ?", p, 1, &s);
	if (rc)
		return req_fail(r, rc, NULL, NULL, NULL);
	rc = stmt_next(s);
	bool visible = rc == 1 && scope_contains(r->user->scope_path, stmt_text(s, 0));
	bool open = visible && strcmp(stmt_text(s, 1), "open") == 0;
	stmt_done(s);
	if (rc < 0)
		return req_fail(r, -rc, NULL, NULL, NULL);
	if (!visible)
		return req_failf(r, WG_ERR_NOT_FOUND, "site_id", "隔离点 %lld 不存在或不在您的管辖范围内",
				 "site %lld does not exist or is outside your scope", (long long)site, (long long)site);
	if (!open)
		return req_failf(r, WG_ERR_CONFLICT, "site_id", "隔离点 %lld 已关闭", "site %lld is closed", (long long)site,
				 (long long)site);
	if (mode != MODE_CENTRAL)
		return req_fail(r, WG_ERR_VALIDATION, "site_id", "只有集中隔离的记录可以指定隔离点",
				"only a record of central isolation (mode central) has a site");
	return 0;
}

static int set_day(json_t *body, const char *key, int64_t day)
{
	char text[WG_DATE_TEXT];
	ctl_day_text(day, text);
	return json_object_set_new(body, key, json_string(text));
}

static int day_member(json_t *body, const char *key, int64_t *day)
{
	const char *s = json_string_value(json_object_get(body, key));
	return s && ctl_day_parse(s, strlen(s), day) ? 1 : 0;
}

/* Everything a new record derives: its person's grid and name, its preset
 * version, mode and dates, its team shape. */
static int control_check(wg_req *r, const struct wg_resource *res, int64_t id, json_t *body)
{
	(void)res;
	if (id)
		return 0;
	struct ctl_settings st;
	struct ctl_rules rules;
	char path[WG_MAX_GRID_PATH], name[CTL_MAX_NAME_BYTES];
	int64_t person = json_integer_value(json_object_get(body, "person_id")), grid = 0, version_id = 0, today, start, end;
	int number;
	if (ctl_settings_get(r, &st) || person_of(r, person, &grid, path, sizeof path, name, sizeof name) ||
	    not_under_control(r, person))
		return r->fail.code;
	const char *preset = json_string_value(json_object_get(body, "preset"));
	if (!preset)
		preset = st.default_preset;
	if (ctl_preset_active(r, preset, "preset", &version_id, &number) || ctl_preset_rules(r, version_id, &rules))
		return r->fail.code;
	int category = ctl_index_of(ctl_categories, json_string_value(json_object_get(body, "category")));
	const struct ctl_cat_rule *cr = &rules.cat[category];
	today = ctl_local_day(r->now);
	if (!day_member(body, "start_date", &start))
		start = today;
	if (start > today + 7 || start < today - CTL_MAX_PHASE_DAYS)
		return req_failf(r, WG_ERR_VALIDATION, "start_date", "开始日期应在 %d 天前到 7 天后之间",
				 "start_date must lie from %d days ago to 7 days ahead", CTL_MAX_PHASE_DAYS, CTL_MAX_PHASE_DAYS);
	bool given_end = day_member(body, "end_date", &end), given_mode = json_is_string(json_object_get(body, "mode"));
	if (!cr->present && (!given_end || !given_mode))
		return req_failf(r, WG_ERR_REQUIRED, given_mode ? "end_date" : "mode",
				 "防控方案“%s”未规定“%s”的管控方式和期限,请给出 mode 和 end_date",
				 "preset '%s' does not determine category %s: give mode and end_date", preset,
				 ctl_category_labels[category], preset, ctl_categories[category]);
	if (!given_end)
		end = start + ctl_rule_total_days(cr) - 1;
	if (end < start)
		return req_fail(r, WG_ERR_VALIDATION, "end_date", "预计解除日期(end_date)早于开始日期(start_date)",
				"end_date is before start_date: dates out of order");
	if (end - start + 1 > CTL_MAX_PHASES * CTL_MAX_PHASE_DAYS)
		return req_fail(r, WG_ERR_VALIDATION, "end_date", "管控期限过长", "the control period is too long");
	int mode = given_mode ? ctl_index_of(ctl_modes, json_string_value(json_object_get(body, "mode")))
			      : ctl_rule_mode_on(cr, (int)(today - start + 1));
	json_t *site = json_object_get(body, "site_id");
	if (json_is_integer(site) && site_ok(r, json_integer_value(site), mode))
		return r->fail.code;
	if (json_object_set_new(body, "grid_id", json_integer(grid)) || json_object_set_new(body, "name", json_string(name)) ||
	    json_object_set_new(body, "status", json_string("active")) || json_object_set_new(body, "preset", json_string(preset)) ||
	    json_object_set_new(body, "preset_version", json_integer(number)) ||
	    json_object_set_new(body, "preset_version_id", json_integer(version_id)) || set_day(body, "start_date", start) ||
	    set_day(body, "end_date", end) || set_day(body, "active_from", start) ||
	    json_object_set_new(body, "mode", json_string(ctl_modes[mode])) ||
	    json_object_set_new(body, "team_shape", json_string(rules.team_shape)))
		return req_fail(r, WG_ERR_NOMEM, NULL, NULL, NULL);
	return 0;
}

/* The new record: its chain, team, counters and history. */
static int control_after_insert(wg_req *r, const struct wg_resource *res, int64_t id, json_t *body, const char *path)
{
	(void)res;
	(void)path;
	struct ctl_record rec;
	struct ctl_rules rules;
	struct ctl_counts *c = NULL;
	wg_param p[] = { WG_PINT(id), WG_PINT(id) };
	int rc = store_run(r->db, "UPDATE controls SET chain_id = ? WHERE id = ?", p, 2);
	if (rc)
		return req_fail(r, rc, NULL, NULL, NULL);
	if (ctl_record_load_any(r, id, &rec) || ctl_preset_rules(r, rec.preset_version_id, &rules) ||
	    ctl_team_fill(r, id, rec.path, json_string_value(json_object_get(body, "team_shape"))))
		return r->fail.code;
	if (!(c = ctl_counts_new()))
		return req_fail(r, WG_ERR_NOMEM, NULL, NULL, NULL);
	ctl_count_open(c, &rec, &rules, true, ctl_local_day(r->now));
	json_t *detail = json_pack("{s:s, s:s, s:I, s:s, s:s}", "category", ctl_categories[rec.category], "mode",
				   ctl_modes[rec.mode], "preset_version", (json_int_t)json_integer_value(json_object_get(body, "preset_version")),
				   "start_date", json_string_value(json_object_get(body, "start_date")),
				   "end_date", json_string_value(json_object_get(body, "end_date")));
	const char *source = json_string_value(json_object_get(body, "source"));
	if (!ctl_counts_flush(r, c))
		ctl_history(r, &rec, "open", -1, ST_ACTIVE, source, detail);
	json_decref(detail);
	ctl_counts_free(c);
	return r->fail.code;
}

static int control_before_delete(wg_req *r, const struct wg_resource *res, int64_t id, const char *path)
{
	(void)res;
	(void)path;
	return req_failf(r, WG_ERR_CONFLICT, NULL, "管控记录 %lld 不能删除:请关闭(close)并写明原因,历史保留",
			 "control record %lld cannot be deleted: close it with a reason; its history stays",
			 (long long)id, (long long)id);
}

/* Times twinned with their local text, the day of control, the protocol's NAT days. */
static int control_decorate(wg_req *r, const struct wg_resource *res, json_t *item)
{
	(void)res;
	struct ctl_rules rules;
	int64_t start, created = json_integer_value(json_object_get(item, "created_at"));
	int64_t updated = json_integer_value(json_object_get(item, "updated_at"));
	const char *name = json_string_value(json_object_get(item, "name"));
	if (json_set_time_or_null(item, "created_at", created) || json_set_time_or_null(item, "updated_at", updated) ||
	    json_object_set_new(item, "name", ctl_name_json(r, name ? name : "")))
		return req_fail(r, WG_ERR_NOMEM, NULL, NULL, NULL);
	int category = ctl_index_of(ctl_categories, json_string_value(json_object_get(item, "category")));
	if (!day_member(item, "start_date", &start) || category < 0 ||
	    ctl_preset_rules(r, json_integer_value(json_object_get(item, "preset_version_id")), &rules))
		return r->fail.code;
	json_t *nat = json_array();
	int days[CTL_MAX_CHAIN_NAT];
	int n = rules.cat[category].present ? ctl_rule_nat_days(&rules.cat[category], days, CTL_MAX_CHAIN_NAT) : 0;
	for (int i = 0; nat && i < n; i++) {
		char text[WG_DATE_TEXT];
		ctl_day_text(start + days[i] - 1, text);
		json_array_append_new(nat, json_pack("{s:i, s:s}", "day_no", days[i], "date", text));
	}
	if (!nat || json_object_set_new(item, "day_no", json_integer(ctl_local_day(r->now) - start + 1)) ||
	    json_object_set_new(item, "nat_days", nat) ||
	    json_object_set_new(item, "checks_per_day", json_integer(rules.checks_per_day)))
		return req_fail(r, WG_ERR_NOMEM, NULL, NULL, NULL);
	return 0;
}

/* ---- import: a row names its person by number, ID number or phone ---- */

static const char *const id_names[] = { "身份证号", "公民身份号码", "身份证号码", "证件号码", "id_number", NULL };
static const char *const phone_names[] = { "联系电话", "手机号", "手机号码", "电话", "phone", NULL };
static const char *const name_names[] = { "姓名", "name", NULL };

static const struct sheet_column_spec control_import_extra[] = {
	{ "id_number", id_names, false },
	{ "phone", phone_names, false },
	{ "person_name", name_names, false },
};

/* The one registry person in scope whose secret column has this blind index. */
static int person_by_secret(wg_req *r, const char *column, const char *value, int64_t *person, char *name, size_t size)
{
	char canon[128], bidx[WG_BLIND_HEX], lo[WG_MAX_GRID_PATH + 2], hi[WG_MAX_GRID_PATH + 2];
	const char *zh = NULL, *en = NULL;
	bool id_number = strcmp(column, "id_number") == 0;
	int rc = id_number ? ident_canon_id(value, strlen(value), canon, sizeof canon, &zh, &en)
			   : ident_canon_phone(value, strlen(value), canon, sizeof canon, &zh, &en);
	if (rc)
		return req_failf(r, WG_ERR_VALIDATION, column, "%s:%s", "%s: %s", id_number ? "身份证号" : "联系电话",
				 zh ? zh : "格式无效", column, en ? en : "invalid");
	crypt_blind_index(&r->app->keys, column, canon, strlen(canon), bidx);
	scope_range(r->user->scope_path, lo, hi, sizeof lo);
	wg_stmt *s;
	wg_param p[] = { WG_PTEXT(bidx), WG_PTEXT(lo), WG_PTEXT(hi) };
	rc = store_query(r->db, id_number
		? "SELECT id, name FROM registry_people WHERE id_number_bidx = ? AND node_path >= ? AND node_path < ? LIMIT 2"
		: "SELECT id, name FROM registry_people WHERE phone_bidx = ? AND node_path >= ? AND node_path < ? LIMIT 2", p, 3, &s);
	if (rc)
		return req_fail(r, rc, NULL, NULL, NULL);
	int found = 0;
	while ((rc = stmt_next(s)) == 1) {
		if (!found++) {
			*person = stmt_int(s, 0);
			wg_copy_text(name, size, stmt_text(s, 1));
		}
	}
	stmt_done(s);
	if (rc < 0)
		return req_fail(r, -rc, NULL, NULL, NULL);
	if (found == 0)
		return req_failf(r, WG_ERR_NOT_FOUND, column, "您的管辖范围内没有%s为该号码的登记人员(未找到此人,请核实或先登记)",
				 "no registry person in your scope has this %s (not located: check it or register the person first)",
				 id_number ? "身份证号" : "联系电话", id_number ? "ID number" : "phone number");
	if (found > 1)
		return req_failf(r, WG_ERR_CONFLICT, column, "有多名登记人员使用该联系电话,请改用身份证号或人员编号",
				 "several registry persons share this phone number: use the ID number or the person id");
	return 0;
}

static int control_import_row(wg_req *r, const struct wg_resource *res, json_t *row)
{
	(void)res;
	const char *idn = json_string_value(json_object_get(row, "id_number"));
	const char *phone = json_string_value(json_object_get(row, "phone"));
	const char *given = json_string_value(json_object_get(row, "person_name"));
	char name[CTL_MAX_NAME_BYTES] = "";
	int64_t person = 0;
	if (!json_object_get(row, "person_id")) {
		if (!idn && !phone)
			return req_fail(r, WG_ERR_REQUIRED, "person_id", "每行需要人员编号、身份证号或联系电话之一",
					"each row needs a person id, an ID number or a phone number");
		if (person_by_secret(r, idn ? "id_number" : "phone", idn ? idn : phone, &person, name, sizeof name))
			return r->fail.code;
		if (given && strcmp(given, name) != 0)
			return req_failf(r, WG_ERR_VALIDATION, "person_name", "姓名“%s”与登记信息不符(人员 %lld)",
					 "name '%s' differs from the registry's (person %lld)", given, (long long)person, given,
					 (long long)person);
		json_object_set_new(row, "person_id", json_integer(person));
	}
	json_object_del(row, "id_number");
	json_object_del(row, "phone");
	json_object_del(row, "person_name");
	/* A city's list is often all of one category: ?category= gives it to every row. */
	const char *category = req_query(r, "category");
	if (!json_object_get(row, "category") && category)
		json_object_set_new(row, "category", json_string(category));
	return 0;
}

struct wg_resource ctl_control_resource = {
	.name = "controls", .table = "controls", .zh = "管控记录", .en = "control record",
	.fields = control_fields, .nfields = WG_COUNT(control_fields),
	.path_column = "node_path", .read_right = &right_CONTROL_READ, .write_right = &right_CONTROL_WRITE,
	.reveal_right = &right_PERSON_REVEAL, .audit_reads = true,
	.hooks = { .check = control_check, .after_insert = control_after_insert, .before_delete = control_before_delete,
		   .decorate = control_decorate, .import_row = control_import_row },
	.import_extra = control_import_extra, .nimport_extra = WG_COUNT(control_import_extra),
	/* ?category=secondary: the category of every row of a city's list */
	.import_query = (const char *const[]){ "category", NULL },
	.json_members = (const struct wg_json_member[]){ {
		"team",
		"(SELECT COALESCE(json_group_array(json_object('slot', slot, 'role', role, 'zh', role_zh, 'name', name,"
		" 'phone', phone, 'user_id', user_id)), '[]') FROM (SELECT * FROM control_team t WHERE t.control_id = controls.id"
		" ORDER BY slot))",
		"(SELECT COALESCE(json_agg(json_build_object('slot', slot, 'role', role, 'zh', role_zh, 'name', name,"
		" 'phone', phone, 'user_id', user_id) ORDER BY slot), '[]'::json)::text FROM control_team t"
		" WHERE t.control_id = controls.id)",
	} },
	.njson_members = 1,
};

/* POST /api/v1/controls as a listener opens it: validated, derived, in scope, audited. */
int ctl_open_record(wg_req *r, json_t *body, int64_t case_id, int64_t *id)
{
	char path[WG_MAX_GRID_PATH];
	const struct wg_resource *res = &ctl_control_resource;
	if (resource_validate(r, res, body, true) || control_check(r, res, 0, body))
		return r->fail.code;
	if (case_id && json_object_set_new(body, "case_id", json_integer(case_id)))
		return req_fail(r, WG_ERR_NOMEM, NULL, NULL, NULL);
	if (resource_scope_of_new(r, res, body, path, sizeof path) || resource_insert(r, res, body, path, id) ||
	    control_after_insert(r, res, *id, body, path) || audit_req(r, "create", res->name, *id, path, body))
		return r->fail.code;
	return 0;
}
