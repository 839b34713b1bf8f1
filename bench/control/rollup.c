/* Roll-up benchmark: a county of 1 M persons, 50,000 control records, 30
 * days of checks and their alerts, generated straight into a wangge store
 * (SQLite or PostgreSQL, whatever DIR/wangge.conf names), the counters
 * counted again by the module's own code (ctl_recount), then the roll-up of
 * a county, a street, a community and a grid on two days: from the counters
 * (what GET /api/v1/controls/rollup does: the answer kept in memory while
 * the store has not changed, ctl_rollup_counters; and read from the store,
 * as the first reader after a commit does, ctl_rollup_counters_read) beside
 * the same numbers counted with GROUP BY over the tables (?source=tables),
 * medians of repeated runs in one process, and the three checked equal.
 *   rollup DIR generate     (after `wangge init` and `wangge demo`)
 *   rollup DIR time [RUNS]
 *   rollup DIR count ROUND NODE SECONDS   the not-yet-sampled count of a node,
 *                           read again and again (while a server takes samples) */
#include "control/control_int.h"
#include "core/app/app.h"
#include "core/lib/err.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static int run(wg_conn *c, const char *what, const char *sql)
{
	double t0 = now_ms();
	int rc = store_exec_script(c, sql);
	if (rc)
		return fprintf(stderr, "%s failed: %s\n", what, store_last_error(c)), rc;
	printf("  %-28s %8.1f s\n", what, (now_ms() - t0) / 1e3);
	fflush(stdout);
	return 0;
}

/* SQL of one dialect: the parts that differ are the row generator and date arithmetic. */
static int generate(wg_conn *c, int64_t today)
{
	bool pg = conn_dialect(c) == WG_POSTGRES;
	char t[WG_DATE_TEXT], sql[8192];
	ctl_day_text(today, t);
	const char *series = pg ? "generate_series(0, 999999) AS s(i)"
				: "(WITH RECURSIVE g(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM g WHERE i < 999999) SELECT i FROM g) AS s";
	int rc = run(c, "grids", "CREATE TEMP TABLE bg AS SELECT id, path, ROW_NUMBER() OVER (ORDER BY id) - 1 AS rn FROM grid_nodes WHERE kind = 'grid';"
			 "CREATE TEMP TABLE bn AS SELECT COUNT(*) AS n FROM bg;");
	/* 1 M persons, grid after grid as a roster reads. */
	snprintf(sql, sizeof sql,
		 "INSERT INTO persons (grid_id, node_path, name, id_missing, gender, birth_date, tags, created_at, updated_at)"
		 " SELECT bg.id, bg.path, '居民', 1, CASE WHEN s.i %% 2 = 0 THEN 'male' ELSE 'female' END, '1980-01-01', '', 0, 0"
		 " FROM %s JOIN bg ON bg.rn = s.i %% (SELECT n FROM bn) ORDER BY bg.rn, s.i;", series);
	if (!rc)
		rc = run(c, "1,000,000 persons", sql);
	/* 50,000 records: every 20th person; categories, statuses and start days spread over 30 days. */
	const char *start = pg ? "(DATE '%s' - CAST(q.ago AS integer))::text" : "date('%s', (-q.ago) || ' days')";
	const char *end = pg ? "(DATE '%s' - CAST(q.ago AS integer) + CAST(q.dur AS integer) - 1)::text"
			     : "date('%s', (q.dur - 1 - q.ago) || ' days')";
	const char *ended = pg ? "(DATE '%s' - CAST(GREATEST(q.ago - 5, 0) AS integer))::text" : "date('%s', (-MAX(q.ago - 5, 0)) || ' days')";
	char s_start[160], s_end[160], s_ended[160];
	snprintf(s_start, sizeof s_start, start, t);
	snprintf(s_end, sizeof s_end, end, t);
	snprintf(s_ended, sizeof s_ended, ended, t);
	snprintf(sql, sizeof sql,
		 "INSERT INTO controls (person_id, name, grid_id, node_path, category, mode, status, preset, preset_version, preset_version_id,"
		 " start_date, end_date, active_from, ended_on, team_shape, version, created_at, updated_at)"
		 " SELECT q.id, q.name, q.grid_id, q.node_path, q.cat, q.mode, q.st, 'v9', 1,"
		 " (SELECT v.id FROM control_config f JOIN control_config_versions v ON v.config_id = f.id AND v.number = 1"
		 "  WHERE f.kind = 'preset' AND f.code = 'v9'), %s, %s, %s, CASE WHEN q.st = 'active' THEN NULL ELSE %s END,"
		 " 'five_one', 1, 0, 0 FROM (SELECT p.id, p.name, p.grid_id, p.node_path, p.id %% 30 AS ago,"
		 "  CASE (p.id / 20) %% 7 WHEN 0 THEN 'close' WHEN 1 THEN 'secondary' WHEN 2 THEN 'spatiotemporal' WHEN 3 THEN 'high_risk_area'"
		 "   WHEN 4 THEN 'overseas' WHEN 5 THEN 'pushed' ELSE 'self_found' END AS cat,"
		 "  CASE (p.id / 20) %% 7 WHEN 0 THEN 'central' WHEN 1 THEN 'home_isolation' WHEN 2 THEN 'home_monitoring' WHEN 3 THEN 'central'"
		 "   WHEN 4 THEN 'central' WHEN 5 THEN 'home_isolation' ELSE 'home_monitoring' END AS mode,"
		 "  CASE (p.id / 20) %% 7 WHEN 0 THEN 10 WHEN 2 THEN 3 WHEN 4 THEN 10 ELSE 7 END AS dur,"
		 "  CASE WHEN (p.id / 20) %% 20 < 14 THEN 'active' WHEN (p.id / 20) %% 20 < 18 THEN 'released'"
		 "   WHEN (p.id / 20) %% 20 = 18 THEN 'transferred' ELSE 'closed' END AS st"
		 "  FROM persons p WHERE p.id %% 20 = 1) q ORDER BY q.id;"
		 "UPDATE controls SET chain_id = id;",
		 s_start, s_end, s_start, s_ended);
	if (!rc)
		rc = run(c, "50,000 control records", sql);
	/* Two checks a day for every day a record was in force within the last 30; a sample on the NAT days. */
	const char *start_day = pg ? "(c.start_date::date - DATE '1970-01-01')" : "CAST(julianday(c.start_date) - 2440587.5 AS INTEGER)";
	const char *ended_day = pg ? "(c.ended_on::date - DATE '1970-01-01')" : "CAST(julianday(c.ended_on) - 2440587.5 AS INTEGER)";
	const char *days = pg ? "generate_series(0, 29) AS d(k)"
			      : "(WITH RECURSIVE g(k) AS (SELECT 0 UNION ALL SELECT k + 1 FROM g WHERE k < 29) SELECT k FROM g) AS d";
	long long base = (long long)ctl_day_start(0);
	snprintf(sql, sizeof sql,
		 "INSERT INTO control_checks (control_id, chain_id, person_id, node_path, day, day_no, at, temperature, fever, symptoms, nat,"
		 " nat_result, result_at, user_id, created_at, updated_at)"
		 " SELECT x.id, x.id, x.person_id, x.node_path, x.day, x.day - x.sd + 1, %lld + x.day * 86400 + 32400 + x.slot * 21600,"
		 "  CASE WHEN (x.id + x.day + x.slot) %% 101 = 0 THEN 381 ELSE 365 END, CASE WHEN (x.id + x.day + x.slot) %% 101 = 0 THEN 1 ELSE 0 END,"
		 "  '', CASE WHEN x.slot = 0 AND x.day - x.sd IN (0, 1, 2, 4, 6, 9) THEN 1 ELSE 0 END,"
		 "  CASE WHEN x.slot = 0 AND x.day - x.sd IN (0, 1, 2, 4, 6, 9) THEN 'negative' END,"
		 "  CASE WHEN x.slot = 0 AND x.day - x.sd IN (0, 1, 2, 4, 6, 9) THEN %lld + x.day * 86400 + 43200 END, 1, 0, 0"
		 " FROM (SELECT c.id, c.person_id, c.node_path, %s AS sd, %lld - d.k AS day, sl.slot FROM controls c CROSS JOIN %s"
		 "  CROSS JOIN (SELECT 0 AS slot UNION ALL SELECT 1) sl WHERE c.ended_on IS NULL OR %lld - d.k <= %s) x"
		 " WHERE x.day >= x.sd ORDER BY x.day, x.id, x.slot;",
		 base, base, start_day, (long long)today, days, (long long)today, ended_day);
	if (!rc)
		rc = run(c, "30 days of checks", sql);
	snprintf(sql, sizeof sql,
		 "INSERT INTO control_alerts (control_id, chain_id, person_id, name, node_path, base_depth, kind, detail, check_id, raised_at,"
		 " status, handled_by, handled_at, handle_note, closed_by, closed_at, close_note, created_at, updated_at)"
		 " SELECT k.control_id, k.chain_id, k.person_id, c.name, k.node_path, 4, 'fever', '体温 38.1℃', k.id, k.at,"
		 "  CASE WHEN k.day >= %lld - 1 THEN 'open' WHEN k.id %% 2 = 0 THEN 'handled' ELSE 'closed' END,"
		 "  CASE WHEN k.day < %lld - 1 AND k.id %% 2 = 0 THEN 1 END, CASE WHEN k.day < %lld - 1 AND k.id %% 2 = 0 THEN k.at + 3600 END,"
		 "  CASE WHEN k.day < %lld - 1 AND k.id %% 2 = 0 THEN '已复测' END,"
		 "  CASE WHEN k.day < %lld - 1 AND k.id %% 2 = 1 THEN 1 END, CASE WHEN k.day < %lld - 1 AND k.id %% 2 = 1 THEN k.at + 7200 END,"
		 "  CASE WHEN k.day < %lld - 1 AND k.id %% 2 = 1 THEN '复测正常' END, k.at, k.at"
		 " FROM control_checks k JOIN controls c ON c.id = k.control_id WHERE k.fever = 1 ORDER BY k.id;",
		 (long long)today, (long long)today, (long long)today, (long long)today, (long long)today, (long long)today, (long long)today);
	if (!rc)
		rc = run(c, "alerts of the fevers", sql);
	if (!rc)
		rc = run(c, "statistics", "ANALYZE persons; ANALYZE controls; ANALYZE control_checks; ANALYZE control_alerts;");
	return rc;
}

static int count(wg_conn *c, const char *sql, int64_t *n)
{
	return store_int(c, sql, NULL, 0, n);
}

struct node { const char *level; int64_t id; char path[WG_MAX_GRID_PATH]; };

/* The nodes of one record's path: county, street, community, grid. */
static int pick_nodes(wg_conn *c, struct node *n)
{
	wg_stmt *s;
	int rc = store_query(c, "SELECT node_path FROM controls WHERE status = 'active' ORDER BY id LIMIT 1", NULL, 0, &s);
	if (rc)
		return rc;
	char path[WG_MAX_GRID_PATH] = "";
	if (stmt_next(s) == 1)
		snprintf(path, sizeof path, "%s", stmt_text(s, 0));
	stmt_done(s);
	int64_t ids[WG_MAX_GRID_DEPTH];
	int k = ctl_path_ids(path, ids, WG_MAX_GRID_DEPTH);
	static const char *const levels[] = { "county", "street", "community", "grid" };
	if (k < 4)
		return WG_ERR_NOT_FOUND;
	size_t len = 0;
	for (int i = 0; i < 4; i++) {
		int slashes = 0;
		len = 0;
		while (path[len] && slashes <= i + 1)
			slashes += path[len++] == '/';
		n[i].level = levels[i];
		n[i].id = ids[i];
		snprintf(n[i].path, sizeof n[i].path, "%.*s", (int)len, path);
	}
	return 0;
}

static double median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof *v, cmp_double);
	return v[n / 2];
}

static int timing(struct wg_app *app, wg_conn *c, int runs)
{
	struct node nodes[4];
	wg_req r = { .app = app, .db = c };
	int64_t persons, records, checks, alerts, counters;
	int rc = pick_nodes(c, nodes);
	if (!rc)
		rc = count(c, "SELECT COUNT(*) FROM persons", &persons);
	if (!rc)
		rc = count(c, "SELECT COUNT(*) FROM controls", &records);
	if (!rc)
		rc = count(c, "SELECT COUNT(*) FROM control_checks", &checks);
	if (!rc)
		rc = count(c, "SELECT COUNT(*) FROM control_alerts", &alerts);
	if (!rc)
		rc = count(c, "SELECT COUNT(*) FROM control_counts", &counters);
	if (rc)
		return fprintf(stderr, "cannot read the data: %s\n", store_last_error(c)), rc;
	printf("store: %s; %lld persons, %lld records, %lld checks, %lld alerts, %lld counter rows\n",
	       conn_dialect(c) == WG_POSTGRES ? "PostgreSQL" : "SQLite", (long long)persons, (long long)records, (long long)checks,
	       (long long)alerts, (long long)counters);
	printf("| node | day | counters kept, median (p90) | counters read, median (p90) | GROUP BY median (p90) | ratio kept | ratio read | equal |\n"
	       "|---|---|---|---|---|---|---|---|\n");
	int64_t today = ctl_local_day(time(NULL));
	int64_t days[] = { today, today - 10 };
	double *tc = calloc((size_t)runs, sizeof *tc), *tr = calloc((size_t)runs, sizeof *tr), *tt = calloc((size_t)runs, sizeof *tt);
	int truns = runs / 10 < 5 ? 5 : runs / 10;
	for (int i = 0; !rc && i < 4; i++) {
		for (int d = 0; !rc && d < 2; d++) {
			struct ctl_rollup a, b, e;
			/* warm all */
			rc = ctl_rollup_counters(c, nodes[i].id, days[d], &a) || ctl_rollup_counters_read(c, nodes[i].id, days[d], &e) ||
			     ctl_rollup_tables(&r, nodes[i].path, days[d], &b);
			for (int k = 0; !rc && k < runs; k++) {
				double t0 = now_ms();
				rc = ctl_rollup_counters(c, nodes[i].id, days[d], &a);
				tc[k] = now_ms() - t0;
			}
			for (int k = 0; !rc && k < runs; k++) {
				double t0 = now_ms();
				rc = ctl_rollup_counters_read(c, nodes[i].id, days[d], &e);
				tr[k] = now_ms() - t0;
			}
			for (int k = 0; !rc && k < truns; k++) {
				double t0 = now_ms();
				rc = ctl_rollup_tables(&r, nodes[i].path, days[d], &b);
				tt[k] = now_ms() - t0;
			}
			if (rc)
				break;
			bool equal = memcmp(&a, &b, sizeof a) == 0 && memcmp(&e, &b, sizeof e) == 0;
			double mc = median(tc, runs), pc = tc[runs * 9 / 10], mr = median(tr, runs), pr = tr[runs * 9 / 10];
			double mt = median(tt, truns), pt = tt[truns * 9 / 10];
			char day[WG_DATE_TEXT];
			ctl_day_text(days[d], day);
			printf("| %s %lld (%lld in force) | %s | %.4f ms (%.4f) | %.3f ms (%.3f) | %.2f ms (%.2f) | %.0f× | %.0f× | %s |\n",
			       nodes[i].level, (long long)nodes[i].id, (long long)a.active, day, mc, pc, mr, pr, mt, pt, mt / mc, mt / mr,
			       equal ? "yes" : "NO");
			fflush(stdout);
			if (!equal)
				rc = WG_ERR_INTERNAL;
		}
	}
	free(tc);
	free(tr);
	free(tt);
	if (rc)
		fprintf(stderr, "timing failed: %s %s\n", r.fail.en, store_last_error(c));
	return rc;
}

/* What GET /api/v1/nat-rounds/{id}/progress reads for a node, timed from another process meanwhile. */
static int count_loop(wg_conn *c, int64_t round, int64_t node, double seconds)
{
	double *t = calloc(1000000, sizeof *t), end = now_ms() + seconds * 1e3;
	int n = 0, rc = 0;
	int64_t first = -1, last = -1;
	while (!rc && n < 1000000 && now_ms() < end) {
		wg_stmt *s;
		wg_param p[] = { WG_PINT(round), WG_PINT(node) };
		double t0 = now_ms();
		rc = store_query(c, "SELECT residents - sampled FROM control_nat_nodes WHERE round_id = ? AND node_id = ?", p, 2, &s);
		if (!rc && stmt_next(s) == 1)
			last = stmt_int(s, 0);
		if (!rc)
			stmt_done(s);
		t[n++] = now_ms() - t0;
		if (first < 0)
			first = last;
		nanosleep(&(struct timespec){ 0, 2000000 }, NULL);  /* a reader, not a load: every 2 ms */
	}
	if (n > 0) {
		qsort(t, (size_t)n, sizeof *t, cmp_double);
		printf("  the count read in another process while samples arrive: median %.3f ms, p99 %.3f ms, %d reads;"
		       " not sampled %lld → %lld\n", t[n / 2], t[n * 99 / 100], n, (long long)first, (long long)last);
	}
	free(t);
	return rc;
}

int main(int argc, char **argv)
{
	if (argc < 3)
		return fprintf(stderr, "usage: rollup DIR generate|time [RUNS]\n"), 2;
	struct wg_app *app;
	if (app_open(argv[1], &app))
		return 1;
	wg_conn *c;
	store_acquire(app->store, &c);
	int rc = ctl_settings_load(c, NULL);
	if (!rc && strcmp(argv[2], "generate") == 0) {
		double t0 = now_ms();
		int64_t records = 0;
		rc = store_begin(c) || generate(c, ctl_local_day(time(NULL))) || store_commit(c);
		double t1 = now_ms();
		if (!rc)
			rc = store_begin(c) || ctl_recount(c, &records) || store_commit(c);
		if (!rc)
			printf("  %-28s %8.1f s  (data %.1f s; %lld records)\n", "counters (wangge recount)", (now_ms() - t1) / 1e3,
			       (t1 - t0) / 1e3, (long long)records);
		/* As the planner would know them after a day of use (autovacuum, ANALYZE). */
		if (!rc)
			rc = run(c, "statistics of the counters", "ANALYZE control_counts;");
	} else if (!rc && strcmp(argv[2], "count") == 0 && argc == 6) {
		rc = count_loop(c, strtoll(argv[3], NULL, 10), strtoll(argv[4], NULL, 10), strtod(argv[5], NULL));
	} else if (!rc && strcmp(argv[2], "time") == 0) {
		rc = timing(app, c, argc > 3 ? (int)strtol(argv[3], NULL, 10) : 300);
	}
	store_release(app->store, c);
	app_close(app);
	return rc ? 1 : 0;
}
