/* GET /api/v1/worklist?date=: what the signed-in user must do that day in
 * scope. For every record in force: the checks still owed (the preset's
 * checks per day), the NAT sample when the day is one of the preset's NAT
 * days, the release when its end date has come; the open alerts addressed
 * to the user; the mass NAT rounds of the day with who is still not
 * sampled. Lists stop at CTL_MAX_WORKLIST items; totals count them all. */
#include "control/control_int.h"
#include "core/audit/audit.h"
#include "core/auth/scope.h"
#include "core/lib/err.h"
#include "core/lib/parse.h"

#include <stdio.h>
#include <string.h>

/* Records of a very large scope are read up to this many (a county's
 * command center reads the roll-up, not the worklist). */
#define WORKLIST_SCAN 20000

struct list { json_t *items; int64_t total; };

static int push(struct list *l, json_t *item)
{
	if (!item)
		return WG_ERR_NOMEM;
	if (l->total++ >= CTL_MAX_WORKLIST) {
		json_decref(item);
		return 0;
	}
	return json_array_append_new(l->items, item) ? WG_ERR_NOMEM : 0;
}

static json_t *list_json(struct list *l)
{
	json_t *o = json_pack("{s:I, s:o}", "total", (json_int_t)l->total, "items", l->items);
	l->items = NULL;
	return o;
}

int ctl_worklist(wg_req *r)
{
	static const char *const allowed[] = { "date", NULL };
	struct list checks = { json_array(), 0 }, nat = { json_array(), 0 }, releases = { json_array(), 0 };
	json_t *alerts = NULL, *rounds = NULL, *out = NULL;
	int64_t day, nalerts = 0, scanned = 0;
	char lo[WG_MAX_GRID_PATH + 2], hi[WG_MAX_GRID_PATH + 2], date[WG_DATE_TEXT];
	struct ctl_settings st;
	wg_stmt *s;
	if (req_check_query(r, allowed) || ctl_settings_get(r, &st) || ctl_query_day(r, "date", ctl_local_day(r->now), &day))
		goto out;
	ctl_day_text(day, date);
	scope_range(r->user->scope_path, lo, hi, sizeof lo);
	wg_param p[] = { WG_PINT(day), WG_PINT(day), WG_PTEXT(lo), WG_PTEXT(hi), WG_PTEXT(date), WG_PINT(WORKLIST_SCAN + 1) };
	int rc = store_query(r->db,
		"SELECT c.id, c.person_id, c.name, c.mode, c.category, c.start_date, c.end_date, c.grid_id, c.node_path,"
		" c.preset_version_id, c.chain_id,"
		" (SELECT COUNT(*) FROM control_checks k WHERE k.chain_id = c.chain_id AND k.day = ?),"
		" (SELECT COUNT(*) FROM control_checks k WHERE k.chain_id = c.chain_id AND k.day = ? AND k.nat = 1),"
		" COALESCE((SELECT p.address FROM registry_people p WHERE p.id = c.person_id), ''), v.rules"
		" FROM controls c JOIN control_config_versions v ON v.id = c.preset_version_id WHERE c.status = 'active' AND c.node_path >= ? AND c.node_path < ? AND c.active_from <= ?"
		" ORDER BY c.node_path, c.id LIMIT ?", p, 6, &s);
	if (rc) {
		req_fail(r, rc, NULL, NULL, NULL);
		goto out;
	}
	while ((rc = stmt_next(s)) == 1) {
		struct ctl_rules rules;
		int64_t start = -1, end = -1;
		if (++scanned > WORKLIST_SCAN)
			break;
		if (ctl_preset_rules_text(r, stmt_int(s, 9), stmt_text(s, 14), stmt_len(s, 14), &rules)) {
			rc = -r->fail.code;
			break;
		}
		ctl_day_parse(stmt_text(s, 5), stmt_len(s, 5), &start);
		ctl_day_parse(stmt_text(s, 6), stmt_len(s, 6), &end);
		int category = ctl_index_of(ctl_categories, stmt_text(s, 4));
		int64_t done = stmt_int(s, 11), sampled = stmt_int(s, 12), day_no = day - start + 1;
		json_t *who = json_pack("{s:I, s:I, s:o, s:s, s:s, s:I, s:I, s:s, s:s}", "control_id", (json_int_t)stmt_int(s, 0),
					"person_id", (json_int_t)stmt_int(s, 1), "name", ctl_name_json(r, stmt_text(s, 2)),
					"mode", stmt_text(s, 3), "category", stmt_text(s, 4), "day_no", (json_int_t)day_no,
					"grid_id", (json_int_t)stmt_int(s, 7), "node_path", stmt_text(s, 8), "address", stmt_text(s, 13));
		if (!who) {
			rc = -WG_ERR_NOMEM;
			break;
		}
		int err = 0;
		if (done < rules.checks_per_day) {
			json_t *item = json_deep_copy(who);
			if (item) {
				json_object_set_new(item, "checks_done", json_integer(done));
				json_object_set_new(item, "checks_due", json_integer(rules.checks_per_day));
			}
			err = push(&checks, item);
		}
		int days[CTL_MAX_CHAIN_NAT], n = category >= 0 && rules.cat[category].present
			? ctl_rule_nat_days(&rules.cat[category], days, CTL_MAX_CHAIN_NAT) : 0;
		bool nat_day = false;
		for (int i = 0; i < n; i++)
			nat_day |= start + days[i] - 1 == day;
		if (!err && nat_day) {
			json_t *item = json_deep_copy(who);
			if (item)
				json_object_set_new(item, "sampled", json_boolean(sampled > 0));
			err = push(&nat, item);
		}
		if (!err && end >= 0 && end <= day) {
			json_t *item = json_deep_copy(who);
			if (item)
				json_object_set_new(item, "end_date", json_string(stmt_text(s, 6)));
			err = push(&releases, item);
		}
		json_decref(who);
		if (err) {
			rc = -err;
			break;
		}
	}
	stmt_done(s);
	if (rc < 0) {
		if (!r->fail.code)
			req_fail(r, -rc, NULL, NULL, NULL);
		goto out;
	}
	if (ctl_alerts_mine(r, CTL_MAX_WORKLIST, &alerts, &nalerts) ||
	    ctl_rounds_for_node(r, r->user->scope_node_id, r->user->scope_path, day, &rounds))
		goto out;
	out = json_pack("{s:s, s:I, s:o, s:o, s:o, s:{s:I, s:O}, s:O, s:b}", "date", date, "scope_node_id",
			(json_int_t)r->user->scope_node_id, "checks", list_json(&checks), "nat", list_json(&nat),
			"releases", list_json(&releases), "alerts", "total", (json_int_t)nalerts, "items", alerts, "rounds", rounds,
			"truncated", scanned > WORKLIST_SCAN);
	if (!out) {
		req_fail(r, WG_ERR_NOMEM, NULL, NULL, NULL);
		goto out;
	}
	if (!audit_read(r, "read", "worklist", 0, r->user->scope_path)) {
		req_reply(r, 200, out);
		out = NULL;
	}
out:
	json_decref(checks.items);
	json_decref(nat.items);
	json_decref(releases.items);
	json_decref(alerts);
	json_decref(rounds);
	json_decref(out);
	return r->fail.code;
}
