/* SQLite's side of the tracing benchmark (the library, not the shell).
 *
 *   bench_sqlite PREFIX DBFILE TIMEOUT_S QUERYDIR
 *
 * Loads PREFIX.csv with prepared inserts in one transaction, builds the
 * indexes on (venue, t_in) and (person), then runs the SQL of QUERYDIR in
 * order: Q1, Q2 (whole window), Q3, Q3r. A query still running after TIMEOUT_S is
 * interrupted and reported as `timeout`. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sqlite3.h>

#include "core/lib/mem.h"
#include "core/lib/parse.h"
#include "trace/trace.h"
#include "trace/trace_cli.h"

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static double deadline;
static int on_progress(void *arg)
{
	(void)arg;
	return now_ms() > deadline;
}

static int exec(sqlite3 *db, const char *sql)
{
	char *err = NULL;
	if (sqlite3_exec(db, sql, NULL, NULL, &err) != SQLITE_OK) {
		fprintf(stderr, "sqlite: %s\n", err ? err : "?");
		sqlite3_free(err);
		return -1;
	}
	return 0;
}

static int load(sqlite3 *db, const char *csv_path)
{
	uint8_t *buf;
	size_t len, pos = 0;
	sqlite3_stmt *st;

	if (cli_read_file(csv_path, &buf, &len))
		return -1;
	if (exec(db, "PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF; PRAGMA cache_size=-4000000;"
		 "CREATE TABLE scans(person INTEGER, venue INTEGER, t_in INTEGER, t_out INTEGER);"
		 "BEGIN") || sqlite3_prepare_v2(db, "INSERT INTO scans VALUES(?,?,?,?)", -1, &st, NULL))
		return -1;
	while (pos < len) {
		const char *line = (const char *)buf + pos, *f = line;
		const char *nl = memchr(line, '\n', len - pos);
		size_t ll = nl ? (size_t)(nl - line) : len - pos;
		int64_t v[4];
		for (int i = 0; i < 4; i++) {
			const char *c = memchr(f, ',', ll - (size_t)(f - line));
			const char *e = c && i < 3 ? c : line + ll;
			if (!wg_parse_i64(f, (size_t)(e - f), &v[i]))
				return -1;
			sqlite3_bind_int64(st, i + 1, v[i]);
			f = e + 1;
		}
		if (sqlite3_step(st) != SQLITE_DONE)
			return -1;
		sqlite3_reset(st);
		pos += ll + 1;
	}
	sqlite3_finalize(st);
	wg_free(buf);
	return exec(db, "COMMIT");
}

static void run(sqlite3 *db, const char *name, const char *sql, double timeout_ms, int runs)
{
	double best[8];
	long long count = 0, sum = 0;
	int done = 0;
	for (int r = 0; r < runs; r++) {
		sqlite3_stmt *st;
		double t0 = now_ms();
		deadline = t0 + timeout_ms;
		if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) {
			fprintf(stderr, "%s: %s\n", name, sqlite3_errmsg(db));
			return;
		}
		int rc = sqlite3_step(st);
		if (rc == SQLITE_ROW) {
			count = sqlite3_column_int64(st, 0);
			sum = sqlite3_column_int64(st, 1);
		}
		sqlite3_finalize(st);
		if (rc == SQLITE_INTERRUPT || rc != SQLITE_ROW) {
			printf("RESULT %s timeout %.0f\n", name, timeout_ms);
			fflush(stdout);
			return;
		}
		best[done++] = now_ms() - t0;
		if (best[done - 1] > 20000)
			break; /* slow: one run is enough */
	}
	for (int i = 1; i < done; i++) /* median of the runs */
		for (int j = i; j > 0 && best[j - 1] > best[j]; j--) {
			double x = best[j];
			best[j] = best[j - 1];
			best[j - 1] = x;
		}
	printf("RESULT %s %.3f %lld %lld\n", name, done % 2 ? best[done / 2]
	       : (best[done / 2 - 1] + best[done / 2]) / 2, count, sum);
	fflush(stdout);
}

static char *read_text(const char *path)
{
	uint8_t *b;
	size_t n;
	char *s;
	if (cli_read_file(path, &b, &n))
		return NULL;
	s = wg_malloc(n + 1);
	if (s) {
		memcpy(s, b, n);
		s[n] = '\0';
	}
	wg_free(b);
	return s;
}

int main(int argc, char **argv)
{
	sqlite3 *db;
	char path[4096];
	uint32_t timeout_s;
	double t0;

	if (argc != 5 || !wg_parse_u32(argv[3], strlen(argv[3]), &timeout_s)) {
		fputs("usage: bench_sqlite PREFIX DBFILE TIMEOUT_S QUERYDIR\n", stderr);
		return 2;
	}
	remove(argv[2]);
	if (sqlite3_open(argv[2], &db) != SQLITE_OK)
		return 1;
	sqlite3_progress_handler(db, 100000, on_progress, NULL);
	snprintf(path, sizeof(path), "%s.csv", argv[1]);
	t0 = now_ms();
	deadline = 1e300;
	if (load(db, path))
		return 1;
	printf("RESULT load_csv %.1f\n", now_ms() - t0);
	t0 = now_ms();
	if (exec(db, "CREATE INDEX scans_venue ON scans(venue, t_in); CREATE INDEX scans_person ON scans(person);"
		 "CREATE TABLE cases(person INTEGER PRIMARY KEY, onset INTEGER);"
		 "CREATE TABLE cases_random(person INTEGER PRIMARY KEY, onset INTEGER); ANALYZE;"))
		return 1;
	printf("RESULT index %.1f\n", now_ms() - t0);
	fflush(stdout);
	for (int k = 0; k < 2; k++) {
		/* cases: the engine's reader, then inserts */
		struct trace_case *c;
		struct trace_diag d;
		size_t n;
		sqlite3_stmt *st;
		snprintf(path, sizeof(path), "%s.%s.csv", argv[1], k ? "cases_random" : "cases");
		if (cli_read_cases(path, &c, &n, &d) || exec(db, "BEGIN")
		    || sqlite3_prepare_v2(db, k ? "INSERT INTO cases_random VALUES(?,?)"
					  : "INSERT INTO cases VALUES(?,?)", -1, &st, NULL))
			return 1;
		for (size_t i = 0; i < n; i++) {
			sqlite3_bind_int64(st, 1, c[i].person);
			sqlite3_bind_int64(st, 2, c[i].onset);
			sqlite3_step(st);
			sqlite3_reset(st);
		}
		sqlite3_finalize(st);
		wg_free(c);
		if (exec(db, "COMMIT"))
			return 1;
	}
	{
		static const char *names[] = { "q1", "q2", "q3", "q3r" };
		for (int q = 0; q < 4; q++) {
			char *sql;
			snprintf(path, sizeof(path), "%s/%s.sql", argv[4], names[q]);
			sql = read_text(path);
			if (!sql)
				return 1;
			run(db, names[q], sql, timeout_s * 1e3, q == 0 ? 11 : 3);
			wg_free(sql);
		}
	}
	sqlite3_close(db);
	return 0;
}
