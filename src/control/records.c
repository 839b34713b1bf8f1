/* The words of control records and a record as the module's own code works
 * with it: loaded in scope, its history, its path's nodes. */
#include "control/control_int.h"
#include "core/auth/scope.h"
#include "core/lib/err.h"
#include "core/lib/ident.h"
#include "core/lib/parse.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *const ctl_categories[] = { "close", "secondary", "spatiotemporal", "high_risk_area", "overseas", "pushed",
				       "self_found", NULL };
const char *const ctl_category_labels[] = { "密接", "次密接", "时空伴随", "高风险区外溢", "入境", "指挥部推送", "自排", NULL };
const char *const ctl_modes[] = { "central", "home_isolation", "home_monitoring", NULL };
const char *const ctl_mode_labels[] = { "集中隔离", "居家隔离", "居家健康监测", NULL };
const char *const ctl_statuses[] = { "active", "released", "transferred", "closed", NULL };
const char *const ctl_status_labels[] = { "在管", "已解除", "已转出", "已关闭", NULL };

int ctl_index_of(const char *const *list, const char *s)
{
	for (int i = 0; s && list[i]; i++)
		if (strcmp(list[i], s) == 0)
			return i;
	return -1;
}

int ctl_path_ids(const char *path, int64_t *ids, int max)
{
	int n = 0;
	for (const char *c = path; *c && n < max;) {
		while (*c == '/')
			c++;
		if (!*c)
			break;
		int64_t id = 0;
		while (*c >= '0' && *c <= '9')
			id = id * 10 + (*c++ - '0');
		if (*c && *c != '/')
			break;
		ids[n++] = id;
	}
	return n;
}

json_t *ctl_name_json(wg_req *r, const char *name)
{
	char masked[CTL_MAX_NAME_BYTES];
	if (r->user && rbac_allows(r->user->role, &right_PERSON_READ))
		return json_string(name);
	ident_mask_name(name, masked, sizeof masked);
	return json_string(masked);
}

#define RECORD_COLUMNS \
	"id, chain_id, person_id, grid_id, version, preset_version_id, site_id, case_id, previous_id, node_path, name," \
	" preset, category, mode, status, start_date, end_date, active_from, ended_on"

static int64_t day_of(wg_stmt *s, int col)
{
	int64_t day = -1;
	if (!stmt_is_null(s, col))
		ctl_day_parse(stmt_text(s, col), stmt_len(s, col), &day);
	return day;
}

static int load(wg_req *r, int64_t id, const char *field, struct ctl_record *rec, bool scoped)
{
	wg_stmt *s;
	wg_param p[] = { WG_PINT(id) };
	int rc = store_query(r->db, "SELECT " RECORD_COLUMNS " FROM controls WHERE id = ?", p, 1, &s);
	if (rc)
		return req_fail(r, rc, NULL, NULL, NULL);
	rc = stmt_next(s);
	bool visible = rc == 1 && (!scoped || scope_contains(r->user->scope_path, stmt_text(s, 9)));
	if (visible) {
		memset(rec, 0, sizeof *rec);
		rec->id = stmt_int(s, 0);
		rec->chain_id = stmt_int(s, 1);
		rec->person_id = stmt_int(s, 2);
		rec->grid_id = stmt_int(s, 3);
		rec->version = stmt_int(s, 4);
		rec->preset_version_id = stmt_int(s, 5);
		rec->site_id = stmt_is_null(s, 6) ? 0 : stmt_int(s, 6);
		rec->case_id = stmt_is_null(s, 7) ? 0 : stmt_int(s, 7);
		rec->previous_id = stmt_is_null(s, 8) ? 0 : stmt_int(s, 8);
		wg_copy_text(rec->path, sizeof rec->path, stmt_text(s, 9));
		wg_copy_text(rec->name, sizeof rec->name, stmt_text(s, 10));
		wg_copy_text(rec->preset, sizeof rec->preset, stmt_text(s, 11));
		rec->category = ctl_index_of(ctl_categories, stmt_text(s, 12));
		rec->mode = ctl_index_of(ctl_modes, stmt_text(s, 13));
		rec->status = ctl_index_of(ctl_statuses, stmt_text(s, 14));
		rec->start_day = day_of(s, 15);
		rec->end_day = day_of(s, 16);
		rec->active_from = day_of(s, 17);
		rec->ended_day = day_of(s, 18);
	}
	stmt_done(s);
	if (rc < 0)
		return req_fail(r, -rc, NULL, NULL, NULL);
	if (!visible)
		return req_failf(r, WG_ERR_NOT_FOUND, field, "管控记录 %lld 不存在或不在您的管辖范围内",
				 "control record %lld does not exist or is outside your scope", (long long)id, (long long)id);
	if (rec->category < 0 || rec->mode < 0 || rec->status < 0 || rec->start_day < 0 || rec->active_from < 0)
		return req_failf(r, WG_ERR_INTERNAL, NULL, "管控记录 %lld 的内容无效", "control record %lld is damaged",
				 (long long)id, (long long)id);
	return 0;
}

int ctl_record_load(wg_req *r, int64_t id, const char *field, struct ctl_record *rec)
{
	return load(r, id, field, rec, true);
}

int ctl_record_load_any(wg_req *r, int64_t id, struct ctl_record *rec)
{
	return load(r, id, NULL, rec, false);
}

int ctl_history(wg_req *r, const struct ctl_record *rec, const char *action, int from, int to, const char *note,
		json_t *detail)
{
	char *text = detail ? json_dumps(detail, JSON_COMPACT) : NULL;
	wg_param p[] = {
		WG_PINT(rec->id), WG_PINT(rec->chain_id), WG_PINT(r->now), r->user ? WG_PINT(r->user->id) : WG_PNULL,
		WG_PTEXT(r->user ? r->user->username : "device"), WG_PTEXT(action),
		from >= 0 ? WG_PTEXT(ctl_statuses[from]) : WG_PNULL, to >= 0 ? WG_PTEXT(ctl_statuses[to]) : WG_PNULL,
		note ? WG_PTEXT(note) : WG_PNULL, text ? WG_PTEXT(text) : WG_PNULL,
	};
	int rc = detail && !text ? WG_ERR_NOMEM
		: store_run(r->db, "INSERT INTO control_events (control_id, chain_id, at, user_id, username, action, from_status,"
			    " to_status, note, detail) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", p, 10);
	free(text);
	return rc ? req_fail(r, rc, NULL, NULL, NULL) : 0;
}

/* Ends the chain's current stay at a site, if it has one. */
int ctl_stay_end(wg_req *r, const struct ctl_record *rec, int64_t at, const char *note)
{
	wg_param p[] = { WG_PINT(at), WG_PINT(ctl_local_day(at)), note ? WG_PTEXT(note) : WG_PNULL, WG_PINT(r->now),
			 WG_PINT(rec->chain_id) };
	int rc = store_run(r->db, "UPDATE control_site_stays SET discharge_at = ?, discharge_day = ?, discharge_note = ?, updated_at = ?,"
			   " version = version + 1 WHERE chain_id = ? AND discharge_at IS NULL", p, 5);
	return rc ? req_fail(r, rc, NULL, NULL, NULL) : 0;
}
