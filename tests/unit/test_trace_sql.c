/* The engine against the plain SQL self-join of docs/trace.md, run by SQLite
 * on generated data: the same persons for close contacts, both secondary
 * rules and a batch. Times in the tables are the engine's minutes. */
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

#define NOW 1700000000LL
#define T0  (NOW - 5 * 86400LL)

/* The reference queries (docs/trace.md), parameters :case :w :b. */
static const char *sql_close =
	"SELECT DISTINCT s.person FROM scans c JOIN scans s"
	"  ON s.venue = c.venue AND s.t_in <= c.t_out + :b AND c.t_in <= s.t_out + :b"
	" WHERE c.person = :case AND c.t_out >= :w AND s.person <> :case ORDER BY 1";

static const char *sql_second_window =
	"WITH close AS ("
	"  SELECT DISTINCT s.person FROM scans c JOIN scans s"
	"    ON s.venue = c.venue AND s.t_in <= c.t_out + :b AND c.t_in <= s.t_out + :b"
	"  WHERE c.person = :case AND c.t_out >= :w AND s.person <> :case)"
	" SELECT DISTINCT s.person FROM close k"
	"  JOIN scans c ON c.person = k.person AND c.t_out >= :w"
	"  JOIN scans s ON s.venue = c.venue AND s.t_in <= c.t_out + :b AND c.t_in <= s.t_out + :b"
	" WHERE s.person <> :case AND s.person NOT IN (SELECT person FROM close) ORDER BY 1";

static const char *sql_second_ordered =
	"WITH close AS ("
	"  SELECT s.person, MIN(MAX(c.t_in, s.t_in)) AS exposed FROM scans c JOIN scans s"
	"    ON s.venue = c.venue AND s.t_in <= c.t_out + :b AND c.t_in <= s.t_out + :b"
	"  WHERE c.person = :case AND c.t_out >= :w AND s.person <> :case GROUP BY s.person)"
	" SELECT DISTINCT s.person FROM close k"
	"  JOIN scans c ON c.person = k.person AND c.t_out + :b >= k.exposed"
	"  JOIN scans s ON s.venue = c.venue AND s.t_in <= c.t_out + :b AND c.t_in <= s.t_out + :b"
	"             AND s.t_out + :b >= k.exposed"
	" WHERE s.person <> :case AND s.person NOT IN (SELECT person FROM close) ORDER BY 1";

static const char *sql_batch =
	"SELECT DISTINCT k.person, s.person FROM cases k"
	"  JOIN scans c ON c.person = k.person AND c.t_out >= k.w"
	"  JOIN scans s ON s.venue = c.venue AND s.t_in <= c.t_out + :b AND c.t_in <= s.t_out + :b"
	" WHERE s.person <> k.person ORDER BY 1, 2";

static uint64_t rng = 0x2545F4914F6CDD1Dull;
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

/* Runs sql, returns up to cap rows of (col0, col1) sorted as the query sorts. */
static size_t run_sql(sqlite3 *db, const char *sql, int64_t who, int64_t w, int64_t b,
		      uint64_t *rows, size_t cap)
{
	sqlite3_stmt *st;
	size_t n = 0;
	int rc;
	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
	for (int i = 1; i <= sqlite3_bind_parameter_count(st); i++) {
		const char *name = sqlite3_bind_parameter_name(st, i);
		int64_t v = strcmp(name, ":case") == 0 ? who : strcmp(name, ":w") == 0 ? w : b;
		sqlite3_bind_int64(st, i, v);
	}
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		assert_true(n < cap);
		uint64_t v = (uint64_t)sqlite3_column_int64(st, 0);
		if (sqlite3_column_count(st) > 1)
			v = v << 32 | (uint64_t)sqlite3_column_int64(st, 1);
		rows[n++] = v;
	}
	assert_int_equal(rc, SQLITE_DONE);
	sqlite3_finalize(st);
	return n;
}

static int u64_cmp(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

static void same_set(const struct trace_result *r, const uint64_t *rows, size_t n, int pairs)
{
	uint64_t *got = calloc(r->n + 1, sizeof(*got));
	assert_non_null(got);
	for (size_t i = 0; i < r->n; i++)
		got[i] = pairs ? (uint64_t)r->hits[i].source << 32 | r->hits[i].person : r->hits[i].person;
	qsort(got, r->n, sizeof(*got), u64_cmp);
	assert_int_equal(r->n, n);
	assert_memory_equal(got, rows, n * sizeof(*rows));
	free(got);
}

static void test_sql_self_join(void **state)
{
	const uint32_t np = 300, nv = 14, nrec = 3000;
	char dir[] = "/tmp/wg_trace_sql_XXXXXX";
	struct trace_rec *r = calloc(nrec, sizeof(*r));
	uint64_t *rows = calloc(np * np, sizeof(*rows));
	trace_store *s = NULL;
	struct trace_diag d;
	struct trace_rule rule;
	sqlite3 *db;
	sqlite3_stmt *ins;
	size_t added, seen = 0;

	(void)state;
	assert_non_null(r);
	assert_non_null(rows);
	assert_non_null(mkdtemp(dir));
	for (uint32_t i = 0; i < nrec; i++) {
		int64_t in = T0 + (int64_t)rnd(4 * 1440) * 60;
		assert_int_equal(trace_rec_make(1 + rnd(np), 1 + rnd(nv), in, in + (int64_t)rnd(121) * 60,
						NOW, 120, &r[i]), TRACE_OK);
	}
	assert_int_equal(sqlite3_open(":memory:", &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, "CREATE TABLE scans(person, venue, t_in, t_out);"
				      "CREATE TABLE cases(person, w);", NULL, NULL, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, "INSERT INTO scans VALUES(?,?,?,?)", -1, &ins, NULL), SQLITE_OK);
	for (uint32_t i = 0; i < nrec; i++) {
		sqlite3_bind_int64(ins, 1, r[i].person);
		sqlite3_bind_int64(ins, 2, r[i].place);
		sqlite3_bind_int64(ins, 3, r[i].t_min);
		sqlite3_bind_int64(ins, 4, (int64_t)r[i].t_min + r[i].dur);
		assert_int_equal(sqlite3_step(ins), SQLITE_DONE);
		sqlite3_reset(ins);
	}
	sqlite3_finalize(ins);
	memset(&d, 0, sizeof(d));
	assert_int_equal(trace_store_open(dir, NULL, &s, &d), TRACE_OK);
	assert_int_equal(trace_store_append(s, TRACE_SCAN, r, nrec, NOW, &added, &d), TRACE_OK);
	trace_rule_default(&rule);

	for (int iter = 0; iter < 8; iter++) {
		uint32_t who = 1 + rnd(np);
		int64_t onset = T0 + (int64_t)(1 + rnd(4)) * 86400;
		struct trace_result res = { NULL, 0 };
		size_t n;
		int rc;
		rule.buffer_min = iter % 2 ? 0 : 30;
		rule.lookback_days = 1 + (uint32_t)iter % 3;
		int64_t w = onset / 60 - (int64_t)rule.lookback_days * 1440;
		rc = trace_close_contacts(s, who, onset, &rule, &res);
		if (rc == TRACE_ERR_UNKNOWN_PERSON)
			continue;
		assert_int_equal(rc, TRACE_OK);
		n = run_sql(db, sql_close, who, w, rule.buffer_min, rows, np * np);
		same_set(&res, rows, n, 0);
		seen += n;
		trace_result_free(&res);
		rule.mode = TRACE_WHOLE_WINDOW;
		assert_int_equal(trace_secondary_contacts(s, who, onset, &rule, &res), TRACE_OK);
		n = run_sql(db, sql_second_window, who, w, rule.buffer_min, rows, np * np);
		same_set(&res, rows, n, 0);
		seen += n;
		trace_result_free(&res);
		rule.mode = TRACE_TIME_ORDERED;
		assert_int_equal(trace_secondary_contacts(s, who, onset, &rule, &res), TRACE_OK);
		n = run_sql(db, sql_second_ordered, who, w, rule.buffer_min, rows, np * np);
		same_set(&res, rows, n, 0);
		trace_result_free(&res);
	}
	assert_true(seen > 100);
	{
		struct trace_case cases[20];
		struct trace_result res = { NULL, 0 };
		size_t n;
		rule.buffer_min = 30;
		rule.lookback_days = 2;
		for (int i = 0; i < 20; i++) {
			char q[128];
			cases[i].person = 1 + (uint32_t)i * 7;
			cases[i].onset = NOW;
			snprintf(q, sizeof(q), "INSERT INTO cases VALUES(%u, %lld)", cases[i].person,
				 (long long)(NOW / 60 - 2 * 1440));
			assert_int_equal(sqlite3_exec(db, q, NULL, NULL, NULL), SQLITE_OK);
		}
		assert_int_equal(trace_batch_close(s, cases, 20, &rule, &res, NULL), TRACE_OK);
		n = run_sql(db, sql_batch, 0, 0, rule.buffer_min, rows, np * np);
		assert_true(n > 20);
		same_set(&res, rows, n, 1);
		trace_result_free(&res);
		/* the compact form: the same pairs, in the query's order (case, contact) */
		for (int threads = 1; threads <= 3; threads++) {
			struct trace_pairs pr;
			size_t unknown = 9;
			rule.threads = threads;
			assert_int_equal(trace_batch_pairs(s, cases, 20, &rule, &pr, &unknown), TRACE_OK);
			assert_int_equal(unknown, 0);
			assert_int_equal(pr.n, n);
			for (size_t i = 0; i < n; i++)
				assert_int_equal((uint64_t)pr.pairs[i].source << 32 | pr.pairs[i].person, rows[i]);
			trace_pairs_free(&pr);
		}
		rule.threads = 0;
	}
	sqlite3_close(db);
	trace_store_close(s);
	rm_tree(dir);
	free(r);
	free(rows);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sql_self_join),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
