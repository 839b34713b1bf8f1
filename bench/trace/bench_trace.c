/* The engine's side of the tracing benchmark.
 *
 *   bench_trace PREFIX WORKDIR
 *
 * Loads PREFIX.csv and PREFIX.bin into fresh stores under WORKDIR (timing
 * read + parse + validate + sort + de-duplicate + write + fsync), builds the
 * index, then times Q1 (close contacts of the case in PREFIX.meta), Q2
 * (secondary contacts, whole window = the SQL self-join, and time-ordered),
 * Q3 (close contacts of the 1,000 cases of PREFIX.cases.csv, every onset at
 * the end of the data: distinct pairs, and ranked rows with evidence; also
 * CPU time, all threads) and Q3r (the same for PREFIX.cases_random.csv,
 * onsets spread over the days). Then what a one-shot CLI query pays: a one-shot store
 * that builds and saves the index file, then fresh one-shot stores that
 * load it and answer Q1. Prints `RESULT name median_ms count checksum`
 * lines; checksum = sum of case * 1000003 + contact over the distinct
 * pairs. BENCH_Q3_RUNS=N repeats Q3 N times (default 5), BENCH_VERBOSE=1
 * prints every Q3 run, BENCH_THREADS=N sets the queries' threads (default:
 * all cores), BENCH_LOAD_ONLY=1 stops after the two loads. */
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

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

/* CPU time of the process (all threads, user + system): steadier than the
 * wall clock on a shared machine. */
static double cpu_ms(void)
{
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	return (ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1e3
	       + (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e3;
}

static int dbl_cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof(double), dbl_cmp);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static void sum_pairs(const struct trace_result *r, size_t *count, uint64_t *sum)
{
	*count = r->n;
	*sum = 0;
	for (size_t i = 0; i < r->n; i++)
		*sum += (uint64_t)r->hits[i].source * 1000003u + r->hits[i].person;
}

/* Q2 pairs are (case, contact): the source is the close contact there. */
static void sum_secondary(const struct trace_result *r, uint32_t who, size_t *count, uint64_t *sum)
{
	*count = r->n;
	*sum = 0;
	for (size_t i = 0; i < r->n; i++)
		*sum += (uint64_t)who * 1000003u + r->hits[i].person;
}

/* A CSV file goes through trace_store_load_csv (as `wangge trace load`
 * does), a binary one through trace_check_bin + trace_store_append. */
static int load(const char *file, const char *dir, int64_t now, double *ms, size_t *n_out)
{
	struct trace_params p;
	struct trace_diag d;
	struct trace_rec *recs = NULL;
	trace_store *s = NULL;
	enum trace_kind kind = TRACE_SCAN;
	uint8_t *map = NULL;
	size_t len, n = 0, added;
	double t0 = now_ms(), t1 = t0;
	int rc;

	memset(&d, 0, sizeof(d));
	trace_params_default(&p);
	rc = cli_map_file(file, &map, &len);
	if (rc)
		return rc;
	rc = trace_store_open(dir, &p, &s, &d);
	if (!rc && len >= 8 && memcmp(map, "WGTRACE1", 8) == 0) {
		rc = trace_check_bin(map, len, &kind, &p, now, &recs, &n, &d);
		if (!rc && !recs)
			rc = 1;
		t1 = now_ms();
		if (!rc)
			rc = trace_store_append(s, kind, recs, n, now, &added, &d);
	} else if (!rc) {
		rc = trace_store_load_csv(s, kind, (const char *)map, len, now, &n, &added, &d);
	}
	trace_store_close(s);
	cli_unmap_file(map, len);
	*ms = now_ms() - t0;
	*n_out = n;
	if (rc) {
		fprintf(stderr, "load %s: %s row %llu off %llu %s\n", file, trace_err_en(rc),
			(unsigned long long)d.row, (unsigned long long)d.offset, d.what);
		return rc;
	}
	if (t1 > t0)
		fprintf(stderr, "load %s: %zu records, check %.0f ms, append %.0f ms\n", file, n,
			t1 - t0, *ms - (t1 - t0));
	else
		fprintf(stderr, "load %s: %zu records, %.0f ms\n", file, n, *ms);
	return rc;
}

/* Bytes of the segment files in a store directory. */
static unsigned long long dir_bytes(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	unsigned long long sum = 0;
	char p[8192];
	struct stat st;
	if (!d)
		return 0;
	while ((e = readdir(d)) != NULL) {
		snprintf(p, sizeof(p), "%s/%s", dir, e->d_name);
		if (e->d_name[0] != '.' && stat(p, &st) == 0)
			sum += (unsigned long long)st.st_size;
	}
	closedir(d);
	return sum;
}

static int read_meta(const char *prefix, uint32_t *who, int64_t *onset)
{
	char path[4096], line[256];
	FILE *f;
	snprintf(path, sizeof(path), "%s.meta", prefix);
	f = fopen(path, "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		size_t n = strcspn(line, "\n");
		if (strncmp(line, "CASE=", 5) == 0)
			wg_parse_u32(line + 5, n - 5, who);
		else if (strncmp(line, "ONSET=", 6) == 0)
			wg_parse_i64(line + 6, n - 6, onset);
	}
	fclose(f);
	return 0;
}

/* A one-shot store: open, (load or build) the index, Q1, close. */
static int one_shot_q1(const char *dir, uint32_t who, int64_t onset, const struct trace_rule *rule,
		       double *ms, struct trace_result *res, int *state)
{
	struct trace_diag d;
	trace_store *s = NULL;
	double t0 = now_ms();
	int rc;

	memset(&d, 0, sizeof(d));
	rc = trace_store_open(dir, NULL, &s, &d);
	if (rc)
		return rc;
	trace_store_one_shot(s);
	rc = trace_close_contacts(s, who, onset, rule, res);
	*state = trace_store_index_state(s, TRACE_SCAN);
	trace_store_close(s);
	*ms = now_ms() - t0;
	return rc;
}

static int one_shot(const char *dir, uint32_t who, int64_t onset, const struct trace_rule *rule)
{
	struct trace_result res = { NULL, 0 };
	double ms, t[16];
	size_t count;
	uint64_t sum;
	int state, runs = 5;

	if (one_shot_q1(dir, who, onset, rule, &ms, &res, &state))
		return 1;
	printf("RESULT oneshot_build %.1f %d\n", ms, state);
	for (int i = 0; i < runs; i++) {
		trace_result_free(&res);
		if (one_shot_q1(dir, who, onset, rule, &t[i], &res, &state) || state != TRACE_INDEX_USED)
			return 1;
	}
	sum_secondary(&res, who, &count, &sum);
	printf("RESULT oneshot_q1 %.1f %zu %llu\n", median(t, runs), count, (unsigned long long)sum);
	printf("RESULT disk_with_index %llu\n", dir_bytes(dir));
	trace_result_free(&res);
	return 0;
}

/* A batch (Q3: the cases of `path`) both ways, `runs` times each: ranked
 * rows with evidence (trace_batch_close) and distinct pairs
 * (trace_batch_pairs); wall and CPU time (all threads), and the pairs'
 * count and checksum, which must agree. */
static int batch(trace_store *s, const char *path, const char *name, const struct trace_rule *rule, int runs)
{
	struct trace_case *cases = NULL;
	struct trace_result res = { NULL, 0 };
	struct trace_diag d;
	double t[64], c[64], ms, cpu;
	size_t ncases = 0, count = 0, unknown;
	uint64_t sum = 0;

	memset(&d, 0, sizeof(d));
	if (cli_read_cases(path, &cases, &ncases, &d)) {
		fprintf(stderr, "%s: cannot read %s\n", name, path);
		return 1;
	}
	for (int i = 0; i < runs; i++) {
		trace_result_free(&res);
		ms = now_ms();
		cpu = cpu_ms();
		if (trace_batch_close(s, cases, ncases, rule, &res, &unknown))
			return 1;
		t[i] = now_ms() - ms;
		c[i] = cpu_ms() - cpu;
		if (getenv("BENCH_VERBOSE"))
			fprintf(stderr, "%s evidence run %d: %.1f ms wall %.1f ms cpu\n", name, i, t[i], c[i]);
	}
	sum_pairs(&res, &count, &sum);
	trace_result_free(&res);
	printf("RESULT %s_evidence %.1f %zu %llu\n", name, median(t, runs), count, (unsigned long long)sum);
	printf("RESULT %s_evidence_cpu %.1f %zu\n", name, median(c, runs), count);
	fflush(stdout);
	for (int i = 0; i < runs; i++) {
		struct trace_pairs pr;
		ms = now_ms();
		cpu = cpu_ms();
		if (trace_batch_pairs(s, cases, ncases, rule, &pr, &unknown))
			return 1;
		t[i] = now_ms() - ms;
		c[i] = cpu_ms() - cpu;
		if (getenv("BENCH_VERBOSE"))
			fprintf(stderr, "%s pairs run %d: %.1f ms wall %.1f ms cpu\n", name, i, t[i], c[i]);
		count = pr.n;
		sum = 0;
		for (size_t k = 0; k < pr.n; k++)
			sum += (uint64_t)pr.pairs[k].source * 1000003u + pr.pairs[k].person;
		trace_pairs_free(&pr);
	}
	printf("RESULT %s %.1f %zu %llu\n", name, median(t, runs), count, (unsigned long long)sum);
	printf("RESULT %s_cpu %.1f %zu\n", name, median(c, runs), count);
	fflush(stdout);
	wg_free(cases);
	return 0;
}

int main(int argc, char **argv)
{
	char csv[4096], bin[4096], cases_path[4096], d1[4096], d2[4096];
	struct trace_rule rule;
	struct trace_result res = { NULL, 0 };
	struct trace_diag d;
	trace_store *s = NULL;
	uint32_t who = 0;
	int64_t onset = 0, now = (int64_t)time(NULL);
	double ms, t[64];
	size_t n, count;
	uint64_t sum;
	int runs;

	if (argc != 3) {
		fputs("usage: bench_trace PREFIX WORKDIR\n", stderr);
		return 2;
	}
	snprintf(csv, sizeof(csv), "%s.csv", argv[1]);
	snprintf(bin, sizeof(bin), "%s.bin", argv[1]);
	snprintf(cases_path, sizeof(cases_path), "%s.cases.csv", argv[1]);
	snprintf(d1, sizeof(d1), "%s/store_csv", argv[2]);
	snprintf(d2, sizeof(d2), "%s/store_bin", argv[2]);
	if (read_meta(argv[1], &who, &onset))
		return 1;
	if (!getenv("BENCH_QUERIES_ONLY")) {
		if (load(csv, d1, now, &ms, &n))
			return 1;
		printf("RESULT load_csv %.1f %zu %.0f\n", ms, n, n / (ms / 1e3));
		if (load(bin, d2, now, &ms, &n))
			return 1;
		printf("RESULT load_bin %.1f %zu %.0f\n", ms, n, n / (ms / 1e3));
		fflush(stdout);
	}
	if (getenv("BENCH_LOAD_ONLY"))
		return 0;

	memset(&d, 0, sizeof(d));
	if (trace_store_open(d2, NULL, &s, &d))
		return 1;
	ms = now_ms();
	if (trace_store_build(s))
		return 1;
	printf("RESULT open_build %.1f %zu %.2f\n", now_ms() - ms, trace_store_count(s, TRACE_SCAN),
	       trace_store_bytes_per_rec(s, TRACE_SCAN));
	printf("RESULT disk %llu %zu %.2f\n", dir_bytes(d2), trace_store_count(s, TRACE_SCAN),
	       (double)dir_bytes(d2) / (double)trace_store_count(s, TRACE_SCAN));
	trace_rule_default(&rule);
	rule.buffer_min = 30;
	rule.lookback_days = 14;
	rule.max_stay_min = 120;
	if (getenv("BENCH_THREADS")) {
		uint32_t v;
		const char *e = getenv("BENCH_THREADS");
		if (wg_parse_u32(e, strlen(e), &v) && v <= 64)
			rule.threads = (int)v;
	}

	runs = getenv("BENCH_Q3_ONLY") ? 0 : 31;
	for (int i = 0; i < runs; i++) {
		trace_result_free(&res);
		ms = now_ms();
		if (trace_close_contacts(s, who, onset, &rule, &res))
			return 1;
		t[i] = now_ms() - ms;
	}
	sum_secondary(&res, who, &count, &sum);
	if (runs)
		printf("RESULT q1 %.3f %zu %llu\n", median(t, runs), count, (unsigned long long)sum);
	fflush(stdout);

	runs = getenv("BENCH_Q3_ONLY") ? 0 : 5;
	rule.mode = TRACE_WHOLE_WINDOW;
	for (int i = 0; i < runs; i++) {
		trace_result_free(&res);
		ms = now_ms();
		if (trace_secondary_contacts(s, who, onset, &rule, &res))
			return 1;
		t[i] = now_ms() - ms;
	}
	sum_secondary(&res, who, &count, &sum);
	if (runs)
		printf("RESULT q2 %.1f %zu %llu\n", median(t, runs), count, (unsigned long long)sum);
	fflush(stdout);
	rule.mode = TRACE_TIME_ORDERED;
	for (int i = 0; i < runs; i++) {
		trace_result_free(&res);
		ms = now_ms();
		if (trace_secondary_contacts(s, who, onset, &rule, &res))
			return 1;
		t[i] = now_ms() - ms;
	}
	sum_secondary(&res, who, &count, &sum);
	if (runs)
		printf("RESULT q2_ordered %.1f %zu %llu\n", median(t, runs), count, (unsigned long long)sum);
	fflush(stdout);

	runs = 5;
	if (getenv("BENCH_Q3_RUNS")) {
		uint32_t v;
		const char *e = getenv("BENCH_Q3_RUNS");
		if (wg_parse_u32(e, strlen(e), &v) && v >= 1 && v <= 64)
			runs = (int)v;
	}
	if (batch(s, cases_path, "q3", &rule, runs))
		return 1;
	snprintf(cases_path, sizeof(cases_path), "%s.cases_random.csv", argv[1]);
	if (batch(s, cases_path, "q3r", &rule, runs))
		return 1;
	trace_store_close(s);
	return one_shot(d2, who, onset, &rule);
}
