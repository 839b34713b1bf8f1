/* 时空伴随 (spatiotemporal companions) as the rule is published (Chengdu,
 * November 2021): the same cell for more than 10 minutes, and the case or
 * the other person spent more than 30 hours in that cell in the 14 days
 * before onset. The engine against SQL that states the rule, run by SQLite
 * on generated dwell records, for the published rule and for the exclusion
 * option; then the boundaries (exactly 10 minutes, exactly 30 hours, on the
 * case's side and on the contact's side). Times in the tables are the
 * engine's minutes. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sqlite3.h>

#include "trace/trace.h"

#define NOW  1700000000LL
#define DAY  1440LL                     /* minutes */
#define ONSET_MIN (NOW / 60 - 60)       /* the onset of the cases, in minutes */
#define T0_MIN (ONSET_MIN - 17 * DAY)   /* generated data starts before the window */

/* Minutes each person spent in each cell in the dwell window [:from, :onset]
 * (stays clipped to it), then the pairs. :ov is the overlap that must be
 * exceeded, :limit the long dwell, :w the start of the case's window. */
#define SQL_DWELL \
	"WITH dw AS (SELECT person, cell," \
	"  SUM(MAX(0, MIN(t_out, :onset) - MAX(t_in, :from))) AS mins FROM dwells GROUP BY person, cell)" \
	" SELECT DISTINCT s.person FROM dwells c JOIN dwells s" \
	"  ON s.cell = c.cell AND MIN(c.t_out, s.t_out) - MAX(c.t_in, s.t_in) > :ov" \
	" LEFT JOIN dw dc ON dc.person = c.person AND dc.cell = c.cell" \
	" LEFT JOIN dw ds ON ds.person = s.person AND ds.cell = c.cell" \
	" WHERE c.person = :case AND c.t_out >= :w AND s.person <> :case"

/* the published rule: either one dwelt long there */
static const char *sql_published =
	SQL_DWELL " AND (COALESCE(dc.mins, 0) > :limit OR COALESCE(ds.mins, 0) > :limit) ORDER BY 1";

/* the option: a long dwell of either one leaves the cell out */
static const char *sql_excluding =
	SQL_DWELL " AND COALESCE(dc.mins, 0) <= :limit AND COALESCE(ds.mins, 0) <= :limit ORDER BY 1";

/* a person's minutes in a cell in the dwell window */
static const char *sql_minutes =
	"SELECT COALESCE(SUM(MAX(0, MIN(t_out, :onset) - MAX(t_in, :from))), 0) FROM dwells"
	" WHERE person = :case AND cell = :cell";

static uint64_t rng = 0x9E3779B97F4A7C15ull;
static uint32_t rnd(uint32_t n)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (uint32_t)(rng % n);
}

static void rm_tree(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char p[512];
	if (!d)
		return;
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		snprintf(p, sizeof(p), "%s/%s", dir, e->d_name);
		unlink(p);
	}
	closedir(d);
	rmdir(dir);
}

struct sql_args {
	int64_t who, cell, onset, from, w, ov, limit;
};

static size_t run_sql(sqlite3 *db, const char *sql, const struct sql_args *a, int64_t *rows, size_t cap)
{
	sqlite3_stmt *st;
	size_t n = 0;
	int rc;
	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
	for (int i = 1; i <= sqlite3_bind_parameter_count(st); i++) {
		const char *name = sqlite3_bind_parameter_name(st, i);
		int64_t v = strcmp(name, ":case") == 0 ? a->who : strcmp(name, ":cell") == 0 ? a->cell
			  : strcmp(name, ":onset") == 0 ? a->onset : strcmp(name, ":from") == 0 ? a->from
			  : strcmp(name, ":w") == 0 ? a->w : strcmp(name, ":ov") == 0 ? a->ov : a->limit;
		assert_true(strcmp(name, ":limit") != 0 || v == a->limit);
		sqlite3_bind_int64(st, i, v);
	}
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		assert_true(n < cap);
		rows[n++] = sqlite3_column_int64(st, 0);
	}
	assert_int_equal(rc, SQLITE_DONE);
	sqlite3_finalize(st);
	return n;
}

static int i64_cmp(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	return x < y ? -1 : x > y;
}

/* The engine's companions are SQL's persons, and every hit's evidence
 * carries both persons' minutes in its cell as SQL adds them up. */
static void same_companions(sqlite3 *db, const struct trace_result *res, const struct sql_args *a,
			    const int64_t *rows, size_t n)
{
	int64_t *got = calloc(res->n + 1, sizeof(*got));
	assert_non_null(got);
	for (size_t i = 0; i < res->n; i++)
		got[i] = res->hits[i].person;
	qsort(got, res->n, sizeof(*got), i64_cmp);
	assert_int_equal(res->n, n);
	assert_memory_equal(got, rows, n * sizeof(*rows));
	free(got);
	for (size_t i = 0; i < res->n; i++) {
		const struct trace_hit *h = &res->hits[i];
		struct sql_args b = *a;
		int64_t mins;
		b.cell = h->place;
		assert_int_equal(run_sql(db, sql_minutes, &b, &mins, 1), 1);
		assert_int_equal(h->src_dwell_min, mins);
		b.who = h->person;
		assert_int_equal(run_sql(db, sql_minutes, &b, &mins, 1), 1);
		assert_int_equal(h->hit_dwell_min, mins);
		assert_true(h->overlap_min > a->ov);
	}
}

static trace_store *open_store(char *dir)
{
	trace_store *s = NULL;
	struct trace_diag d;
	memset(&d, 0, sizeof(d));
	assert_non_null(mkdtemp(dir));
	assert_int_equal(trace_store_open(dir, NULL, &s, &d), TRACE_OK);
	return s;
}

static void load_sql(sqlite3 *db, const struct trace_rec *r, size_t n)
{
	sqlite3_stmt *ins;
	assert_int_equal(sqlite3_exec(db, "CREATE TABLE dwells(person, cell, t_in, t_out)", NULL, NULL, NULL),
			 SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, "INSERT INTO dwells VALUES(?,?,?,?)", -1, &ins, NULL), SQLITE_OK);
	for (size_t i = 0; i < n; i++) {
		sqlite3_bind_int64(ins, 1, r[i].person);
		sqlite3_bind_int64(ins, 2, r[i].place);
		sqlite3_bind_int64(ins, 3, r[i].t_min);
		sqlite3_bind_int64(ins, 4, (int64_t)r[i].t_min + r[i].dur);
		assert_int_equal(sqlite3_step(ins), SQLITE_DONE);
		sqlite3_reset(ins);
	}
	sqlite3_finalize(ins);
}

static struct trace_rec dwell(uint32_t person, uint32_t cell, int64_t in_min, int64_t out_min)
{
	struct trace_rec r;
	assert_int_equal(trace_rec_make(person, cell, in_min * 60, out_min * 60, NOW, 1440, &r), TRACE_OK);
	return r;
}

/* Generated: a few cells, people who live or work in one of them (several
 * long stays there, so that some pass 30 hours in 14 days and some stop
 * short of it) and visits of every length. */
static void test_companions_sql(void **state)
{
	const uint32_t np = 90, ncell = 6;
	char dir[] = "/tmp/wg_trace_comp_XXXXXX";
	size_t cap = 6000, n = 0, added, seen[2] = { 0, 0 };
	struct trace_rec *r = calloc(cap, sizeof(*r));
	int64_t *rows = calloc(np + 1, sizeof(*rows));
	trace_store *s;
	struct trace_diag d;
	struct trace_rule rule;
	sqlite3 *db;

	(void)state;
	assert_non_null(r);
	assert_non_null(rows);
	s = open_store(dir);
	for (uint32_t p = 1; p <= np; p++) {
		uint32_t home = 1 + rnd(ncell);
		uint32_t stays = rnd(5); /* 0..4 long stays at home: 0 to 60+ hours */
		for (uint32_t k = 0; k < stays; k++) {
			int64_t in = T0_MIN + (int64_t)rnd(17 * 1440 - 1100);
			r[n++] = dwell(p, home, in, in + 300 + rnd(700));
		}
		for (uint32_t k = 0; k < 30; k++) {
			int64_t in = T0_MIN + (int64_t)rnd(17 * 1440 - 1100);
			r[n++] = dwell(p, 1 + rnd(ncell), in, in + rnd(180));
		}
	}
	assert_true(n <= cap);
	memset(&d, 0, sizeof(d));
	assert_int_equal(sqlite3_open(":memory:", &db), SQLITE_OK);
	load_sql(db, r, n);
	assert_int_equal(trace_store_append(s, TRACE_CELL, r, n, NOW, &added, &d), TRACE_OK);
	trace_rule_default(&rule);
	for (int iter = 0; iter < 24; iter++) {
		struct trace_result res = { NULL, 0 };
		struct sql_args a;
		int excl = iter % 2;
		size_t k;
		rule.comp_dwell_rule = excl ? TRACE_COMP_DWELL_EXCLUDES : TRACE_COMP_DWELL_REQUIRED;
		rule.lookback_days = iter % 3 ? 14 : 3;
		a.who = 1 + rnd(np);
		a.cell = 0;
		a.onset = ONSET_MIN;
		a.from = ONSET_MIN - (int64_t)rule.comp_dwell_days * DAY;
		a.w = ONSET_MIN - (int64_t)rule.lookback_days * DAY;
		a.ov = rule.comp_overlap_min;
		a.limit = rule.comp_dwell_limit_min;
		assert_int_equal(trace_companions(s, (uint32_t)a.who, ONSET_MIN * 60, &rule, &res), TRACE_OK);
		k = run_sql(db, excl ? sql_excluding : sql_published, &a, rows, np + 1);
		same_companions(db, &res, &a, rows, k);
		seen[excl] += k;
		trace_result_free(&res);
	}
	/* the data exercises both readings */
	assert_true(seen[0] > 20);
	assert_true(seen[1] > 20);
	sqlite3_close(db);
	trace_store_close(s);
	rm_tree(dir);
	free(r);
	free(rows);
}

static const struct trace_hit *find(const struct trace_result *r, uint32_t person)
{
	for (size_t i = 0; i < r->n; i++)
		if (r->hits[i].person == person)
			return &r->hits[i];
	return NULL;
}

/* The boundaries, each on both sides: 10 minutes together is not enough,
 * 11 is; 30 hours (1,800 minutes) in the cell is not a long dwell, 1,801
 * is; whether the long dwell is the contact's or the case's; and only the
 * part of a stay inside the 14 days before onset counts. */
static void test_companion_boundaries(void **state)
{
	const int64_t O = ONSET_MIN, D = O - 14 * DAY;
	struct trace_rec r[] = {
		/* cell 10: contact 2 dwelt exactly 1,800 minutes; the case 20 minutes */
		dwell(2, 10, O - 2000, O - 1000), dwell(2, 10, O - 900, O - 100),
		dwell(1, 10, O - 300, O - 280),
		/* cell 11: contact 3 dwelt 1,801 minutes */
		dwell(3, 11, O - 2001, O - 1000), dwell(3, 11, O - 900, O - 100),
		dwell(1, 11, O - 300, O - 280),
		/* cell 12: the case dwelt 1,801 minutes (one stay straddles the window
		 * start: only its 481 minutes after D count) */
		dwell(1, 12, D - 500, D + 481), dwell(1, 12, O - 1400, O - 80),
		dwell(4, 12, O - 400, O - 390),   /* together exactly 10 minutes */
		dwell(5, 12, O - 400, O - 389),   /* 11 minutes */
		dwell(6, 12, O - 700, O - 600),   /* 100 minutes */
		/* cell 13: the case dwelt exactly 1,800 minutes (a stay past onset
		 * counts up to onset) */
		dwell(1, 13, D + 10, D + 10 + 1320), dwell(1, 13, O - 480, O + 60),
		dwell(7, 13, O - 300, O - 200),   /* 100 minutes together: not a companion */
		/* cell 14: nobody lingers; 100 minutes together */
		dwell(1, 14, O - 3000, O - 2900), dwell(8, 14, O - 3000, O - 2900),
	};
	size_t n = sizeof(r) / sizeof(r[0]), added;
	char dir[] = "/tmp/wg_trace_compb_XXXXXX";
	trace_store *s = open_store(dir);
	struct trace_rule rule;
	struct trace_result res = { NULL, 0 };
	struct trace_diag d;
	const struct trace_hit *h;

	(void)state;
	memset(&d, 0, sizeof(d));
	/* NOW is an hour after onset: the stay past onset is in the past */
	assert_int_equal(trace_store_append(s, TRACE_CELL, r, n, NOW, &added, &d), TRACE_OK);
	assert_int_equal(added, n);
	trace_rule_default(&rule);
	assert_int_equal(trace_companions(s, 1, O * 60, &rule, &res), TRACE_OK);
	assert_null(find(&res, 2));               /* 1,800 minutes: not long */
	assert_non_null(h = find(&res, 3));       /* 1,801: the contact lives there */
	assert_int_equal(h->place, 11);
	assert_int_equal(h->hit_dwell_min, 1801);
	assert_int_equal(h->src_dwell_min, 20);
	assert_int_equal(h->overlap_min, 20);
	assert_null(find(&res, 4));               /* 10 minutes together: not enough */
	assert_non_null(h = find(&res, 5));       /* 11 minutes, in the case's cell */
	assert_int_equal(h->overlap_min, 11);
	assert_int_equal(h->src_dwell_min, 1801);
	assert_int_equal(h->hit_dwell_min, 11);
	assert_non_null(h = find(&res, 6));
	assert_int_equal(h->src_dwell_min, 1801);
	assert_null(find(&res, 7));               /* the case's 1,800 minutes: not long */
	assert_null(find(&res, 8));               /* a place nobody lingers in */
	assert_int_equal(res.n, 3);
	trace_result_free(&res);

	/* the exclusion option: the long-dwell cells are left out, the others count */
	rule.comp_dwell_rule = TRACE_COMP_DWELL_EXCLUDES;
	assert_int_equal(trace_companions(s, 1, O * 60, &rule, &res), TRACE_OK);
	assert_non_null(h = find(&res, 2));
	assert_int_equal(h->hit_dwell_min, 1800);
	assert_null(find(&res, 3));
	assert_null(find(&res, 5));
	assert_null(find(&res, 6));
	assert_non_null(h = find(&res, 7));
	assert_int_equal(h->src_dwell_min, 1800);
	assert_non_null(find(&res, 8));
	assert_int_equal(res.n, 3);
	trace_result_free(&res);

	/* the contact's side of the case's cell: person 6 as the case */
	rule.comp_dwell_rule = TRACE_COMP_DWELL_REQUIRED;
	assert_int_equal(trace_companions(s, 6, O * 60, &rule, &res), TRACE_OK);
	assert_int_equal(res.n, 1);
	assert_int_equal(res.hits[0].person, 1);
	assert_int_equal(res.hits[0].src_dwell_min, 100);
	assert_int_equal(res.hits[0].hit_dwell_min, 1801);
	trace_result_free(&res);
	trace_store_close(s);
	rm_tree(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_companions_sql),
		cmocka_unit_test(test_companion_boundaries),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
