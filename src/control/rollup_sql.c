/* The same roll-up counted from the tables with GROUP BY over the node's
 * subtree: what the counters (counts.c) spare every read. Served with
 * ?source=tables, so tests check that both agree and the benchmark
 * (bench/control) times both in one run. The protocol's days (checks per
 * day, NAT days) come from each group's preset version. */
#include "control/control_int.h"
#include "core/auth/scope.h"
#include "core/lib/err.h"

#include <string.h>

struct range { char lo[WG_MAX_GRID_PATH + 2], hi[WG_MAX_GRID_PATH + 2]; char day[WG_DATE_TEXT]; int64_t d, t0, t1; };

static int fail(wg_req *r, int rc)
{
	return r->fail.code ? r->fail.code : req_fail(r, rc < 0 ? -rc : rc, NULL, NULL, NULL);
}

static int in_force(wg_req *r, const struct range *g, struct ctl_rollup *out)
{
	wg_stmt *s;
	wg_param p[] = { WG_PTEXT(g->lo), WG_PTEXT(g->hi), WG_PTEXT(g->day), WG_PTEXT(g->day) };
	int rc = store_query(r->db, "SELECT category, mode, COUNT(*) FROM controls WHERE node_path >= ? AND node_path < ?"
			     " AND active_from <= ? AND (ended_on IS NULL OR ended_on > ?) GROUP BY category, mode", p, 4, &s);
	if (rc)
		return fail(r, rc);
	while ((rc = stmt_next(s)) == 1) {
		int c = ctl_index_of(ctl_categories, stmt_text(s, 0)), m = ctl_index_of(ctl_modes, stmt_text(s, 1));
		int64_t n = stmt_int(s, 2);
		out->active += n;
		if (c >= 0)
			out->cat[c] += n;
		if (m >= 0)
			out->mode[m] += n;
	}
	stmt_done(s);
	return rc < 0 ? fail(r, rc) : 0;
}

static int statuses(wg_req *r, const struct range *g, struct ctl_rollup *out)
{
	wg_stmt *s;
	wg_param p[] = { WG_PTEXT(g->day), WG_PTEXT(g->lo), WG_PTEXT(g->hi), WG_PTEXT(g->day) };
	int rc = store_query(r->db, "SELECT status, COUNT(*), SUM(CASE WHEN ended_on = ? THEN 1 ELSE 0 END) FROM controls"
			     " WHERE node_path >= ? AND node_path < ? AND ended_on IS NOT NULL AND ended_on <= ? GROUP BY status",
			     p, 4, &s);
	if (rc)
		return fail(r, rc);
	while ((rc = stmt_next(s)) == 1) {
		int st = ctl_index_of(ctl_statuses, stmt_text(s, 0));
		int64_t *upto = st == ST_RELEASED ? &out->released : st == ST_TRANSFERRED ? &out->transferred
			      : st == ST_CLOSED ? &out->closed : NULL;
		int64_t *on = st == ST_RELEASED ? &out->day_released : st == ST_TRANSFERRED ? &out->day_transferred
			    : st == ST_CLOSED ? &out->day_closed : NULL;
		if (upto) {
			*upto = stmt_int(s, 1);
			*on = stmt_int(s, 2);
		}
	}
	stmt_done(s);
	if (rc < 0)
		return fail(r, rc);
	wg_param q[] = { WG_PINT(g->t0), WG_PTEXT(g->lo), WG_PTEXT(g->hi), WG_PINT(g->t1) };
	rc = store_query(r->db, "SELECT COUNT(*), SUM(CASE WHEN created_at >= ? THEN 1 ELSE 0 END) FROM controls"
			 " WHERE node_path >= ? AND node_path < ? AND previous_id IS NULL AND created_at < ?", q, 4, &s);
	if (rc)
		return fail(r, rc);
	if ((rc = stmt_next(s)) == 1) {
		out->opened = stmt_int(s, 0);
		out->day_opened = stmt_int(s, 1);
	}
	stmt_done(s);
	return rc < 0 ? fail(r, rc) : 0;
}

static bool is_nat_day(const struct ctl_rules *rules, int category, int64_t start, int64_t day)
{
	int days[CTL_MAX_CHAIN_NAT];
	if (category < 0 || !rules->cat[category].present)
		return false;
	int n = ctl_rule_nat_days(&rules->cat[category], days, CTL_MAX_CHAIN_NAT);
	for (int i = 0; i < n; i++)
		if (start + days[i] - 1 == day)
			return true;
	return false;
}

/* Checks and NAT samples owed on the day: grouped by what decides them. */
static int dues(wg_req *r, const struct range *g, struct ctl_rollup *out)
{
	wg_stmt *s;
	wg_param p[] = { WG_PTEXT(g->lo), WG_PTEXT(g->hi), WG_PTEXT(g->day), WG_PTEXT(g->day) };
	int rc = store_query(r->db, "SELECT preset_version_id, category, start_date, status, ended_on, active_from, COUNT(*)"
			     " FROM controls WHERE node_path >= ? AND node_path < ? AND active_from <= ?"
			     " AND (ended_on IS NULL OR ended_on >= ?)"
			     " GROUP BY preset_version_id, category, start_date, status, ended_on, active_from", p, 4, &s);
	if (rc)
		return fail(r, rc);
	struct { int64_t version, start, n; int category; bool owns; } rows[256];
	int n = 0;
	while ((rc = stmt_next(s)) == 1) {
		int st = ctl_index_of(ctl_statuses, stmt_text(s, 3));
		int64_t start = -1, ended = -1;
		ctl_day_parse(stmt_text(s, 2), stmt_len(s, 2), &start);
		if (!stmt_is_null(s, 4))
			ctl_day_parse(stmt_text(s, 4), stmt_len(s, 4), &ended);
		/* The day a record leaves is its own unless a transfer hands it on. */
		bool owns = ended < 0 || (st == ST_TRANSFERRED ? g->d < ended : g->d <= ended);
		if (n == 256) {
			rc = -WG_ERR_TOO_LARGE;
			break;
		}
		rows[n].version = stmt_int(s, 0);
		rows[n].category = ctl_index_of(ctl_categories, stmt_text(s, 1));
		rows[n].start = start;
		rows[n].n = stmt_int(s, 6);
		rows[n++].owns = owns;
	}
	stmt_done(s);
	if (rc < 0)
		return fail(r, rc);
	for (int i = 0; i < n; i++) {
		struct ctl_rules rules;
		if (!rows[i].owns)
			continue;
		if (ctl_preset_rules(r, rows[i].version, &rules))
			return r->fail.code;
		out->checks_due += rows[i].n * rules.checks_per_day;
		if (is_nat_day(&rules, rows[i].category, rows[i].start, g->d))
			out->nat_due += rows[i].n;
	}
	return 0;
}

static int checks(wg_req *r, const struct range *g, struct ctl_rollup *out)
{
	wg_stmt *s;
	wg_param p[] = { WG_PINT(g->d), WG_PTEXT(g->lo), WG_PTEXT(g->hi) };
	int rc = store_query(r->db, "SELECT COUNT(*), SUM(fever), SUM(CASE WHEN symptoms <> '' THEN 1 ELSE 0 END), SUM(nat)"
			     " FROM control_checks WHERE day = ? AND node_path >= ? AND node_path < ?", p, 3, &s);
	if (rc)
		return fail(r, rc);
	if ((rc = stmt_next(s)) == 1) {
		out->checks = stmt_int(s, 0);
		out->fever = stmt_int(s, 1);
		out->symptom = stmt_int(s, 2);
		out->nat_samples = stmt_int(s, 3);
	}
	stmt_done(s);
	if (rc < 0)
		return fail(r, rc);
	/* Done: at most checks_per_day of a chain's day; a chain's sample on one of its NAT days. */
	rc = store_query(r->db, "SELECT c.preset_version_id, c.category, c.start_date, COUNT(*), SUM(k.nat)"
			 " FROM control_checks k JOIN controls c ON c.id = k.control_id"
			 " WHERE k.day = ? AND k.node_path >= ? AND k.node_path < ?"
			 " GROUP BY k.chain_id, c.preset_version_id, c.category, c.start_date", p, 3, &s);
	if (rc)
		return fail(r, rc);
	struct { int64_t version, start, n, nat; int category; } rows[512];
	int n = 0;
	while ((rc = stmt_next(s)) == 1) {
		if (n == 512) {
			/* Summed as they come: the rules are cached after the first look-up. */
			for (int i = 0; i < n; i++) {
				struct ctl_rules rules;
				if (ctl_preset_rules(r, rows[i].version, &rules))
					break;
				out->checks_done += rows[i].n < rules.checks_per_day ? rows[i].n : rules.checks_per_day;
				out->nat_done += rows[i].nat > 0 && is_nat_day(&rules, rows[i].category, rows[i].start, g->d);
			}
			n = 0;
			if (r->fail.code)
				break;
		}
		rows[n].version = stmt_int(s, 0);
		rows[n].category = ctl_index_of(ctl_categories, stmt_text(s, 1));
		rows[n].start = -1;
		ctl_day_parse(stmt_text(s, 2), stmt_len(s, 2), &rows[n].start);
		rows[n].n = stmt_int(s, 3);
		rows[n++].nat = stmt_int(s, 4);
	}
	stmt_done(s);
	if (rc < 0 || r->fail.code)
		return fail(r, rc);
	for (int i = 0; i < n; i++) {
		struct ctl_rules rules;
		if (ctl_preset_rules(r, rows[i].version, &rules))
			return r->fail.code;
		out->checks_done += rows[i].n < rules.checks_per_day ? rows[i].n : rules.checks_per_day;
		out->nat_done += rows[i].nat > 0 && is_nat_day(&rules, rows[i].category, rows[i].start, g->d);
	}
	wg_param q[] = { WG_PTEXT(g->lo), WG_PTEXT(g->hi), WG_PINT(g->t0), WG_PINT(g->t1) };
	rc = store_int(r->db, "SELECT COUNT(*) FROM control_checks WHERE node_path >= ? AND node_path < ?"
		       " AND nat_result = 'positive' AND result_at >= ? AND result_at < ?", q, 4, &out->nat_positive);
	return rc ? fail(r, rc) : 0;
}

static int alerts(wg_req *r, const struct range *g, struct ctl_rollup *out)
{
	wg_stmt *s;
	wg_param p[] = { WG_PINT(g->t1), WG_PINT(g->t1), WG_PINT(g->t0), WG_PINT(g->t1), WG_PINT(g->t0), WG_PINT(g->t1),
			 WG_PINT(g->t0), WG_PINT(g->t1), WG_PTEXT(g->lo), WG_PTEXT(g->hi) };
	int rc = store_query(r->db,
		"SELECT SUM(CASE WHEN raised_at < ? AND (COALESCE(handled_at, closed_at) IS NULL OR COALESCE(handled_at, closed_at) >= ?)"
		" THEN 1 ELSE 0 END), SUM(CASE WHEN raised_at >= ? AND raised_at < ? THEN 1 ELSE 0 END),"
		" SUM(CASE WHEN handled_at >= ? AND handled_at < ? THEN 1 ELSE 0 END),"
		" SUM(CASE WHEN closed_at >= ? AND closed_at < ? THEN 1 ELSE 0 END)"
		" FROM control_alerts WHERE status IN ('open', 'handled', 'closed') AND node_path >= ? AND node_path < ?", p, 10, &s);
	if (rc)
		return fail(r, rc);
	if ((rc = stmt_next(s)) == 1) {
		out->alerts_open = stmt_int(s, 0);
		out->alerts_raised = stmt_int(s, 1);
		out->alerts_handled = stmt_int(s, 2);
		out->alerts_closed = stmt_int(s, 3);
	}
	stmt_done(s);
	return rc < 0 ? fail(r, rc) : 0;
}

int ctl_rollup_tables(wg_req *r, const char *path, int64_t day, struct ctl_rollup *out)
{
	struct range g;
	memset(out, 0, sizeof *out);
	scope_range(path, g.lo, g.hi, sizeof g.lo);
	ctl_day_text(day, g.day);
	g.d = day;
	g.t0 = ctl_day_start(day);
	g.t1 = ctl_day_start(day + 1);
	if (in_force(r, &g, out) || statuses(r, &g, out) || dues(r, &g, out) || checks(r, &g, out) || alerts(r, &g, out))
		return r->fail.code;
	return 0;
}
