/* Live scans, one at a time from many threads, each waiting until its scan
 * is durable: the old path (trace_store_append, a segment file each) and
 * the scan log (trace_store_log_append, group commit), in one run.
 *
 *   bench_log WORKDIR THREADS OLD_N LOG_N [OLD_SECONDS] [BASE.bin]
 *
 * Each path gets a fresh store under WORKDIR (with BASE.bin loaded first
 * when given: the live scans then fall at the end of that data, so the
 * repeat checks look into its segment). THREADS threads append distinct
 * scans, one per call, until OLD_N (or OLD_SECONDS have passed) and LOG_N
 * scans are acknowledged; the log path runs with the store's own folding
 * thread. Prints `RESULT name value` lines: appends/s, latency p50, p99 and
 * p99.9 (ms), files in the store directory at the end, and for the log the
 * group commits, fsyncs and folds. */
#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/lib/mem.h"
#include "core/lib/parse.h"
#include "trace/trace.h"
#include "trace/trace_cli.h"

#define MAX_THREADS 1024

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static size_t files_in(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	size_t n = 0;
	if (!d)
		return 0;
	while ((e = readdir(d)) != NULL)
		if (e->d_name[0] != '.')
			n++;
	closedir(d);
	return n;
}

static void rm_tree(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char p[4400];
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

struct job {
	trace_store *s;
	bool use_log;
	int64_t now;
	uint32_t t, nthreads;
	size_t quota;          /* scans this thread appends */
	double deadline;       /* stop then (old path) */
	float *lat;            /* ms per call */
	size_t done;
	int rc;
};

/* Scan i of thread t: a distinct person and time, venues spread like a city's. */
static struct trace_rec scan_of(const struct job *j, size_t i)
{
	struct trace_rec r;
	uint64_t x = (uint64_t)j->t * 0x9E3779B97F4A7C15ull + i * 0xD1B54A32D192ED03ull;
	x ^= x >> 29;
	r.person = (uint32_t)(i * j->nthreads + j->t + 1);
	r.place = 1 + (uint32_t)(x % 50000u);
	r.dur = (uint16_t)(5 + (x >> 20) % 115u);
	r.t_min = (uint32_t)(j->now / 60) - 180 + (uint32_t)((x >> 40) % 60u);
	r.zero = 0;
	return r;
}

static void *run(void *arg)
{
	struct job *j = arg;
	struct trace_diag d;

	for (size_t i = 0; i < j->quota; i++) {
		struct trace_rec r = scan_of(j, i);
		size_t added = 0;
		double t0 = now_s();
		if (!j->use_log && t0 > j->deadline)
			break;
		j->rc = j->use_log ? trace_store_log_append(j->s, TRACE_SCAN, &r, 1, j->now, &added, &d)
				   : trace_store_append(j->s, TRACE_SCAN, &r, 1, j->now, &added, &d);
		if (j->rc || added != 1) {
			fprintf(stderr, "append: %s (%s)\n", trace_err_en(j->rc), d.what);
			j->rc = j->rc ? j->rc : 1;
			break;
		}
		j->lat[j->done++] = (float)((now_s() - t0) * 1e3);
	}
	return NULL;
}

static int float_cmp(const void *a, const void *b)
{
	float x = *(const float *)a, y = *(const float *)b;
	return x < y ? -1 : x > y;
}

static int dbl_cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

/* What a query costs while scans keep coming: the first one after the run
 * (the index built from the segments, the log's records merged in), then
 * five times 1,000 more scans appended and the same query again (only the
 * new scans merged into the index). Close contacts of the first scan's
 * person. */
static int query_after(trace_store *s, const struct job *j)
{
	struct trace_rule rule;
	struct trace_result res = { NULL, 0 };
	struct trace_rec *more = malloc(1000 * sizeof(*more));
	struct trace_diag d;
	struct job extra = *j;
	double t0, t[5];
	uint32_t who = scan_of(j, 0).person;

	if (!more)
		return 1;
	trace_rule_default(&rule);
	t0 = now_s();
	if (trace_close_contacts(s, who, j->now, &rule, &res))
		return 1;
	printf("RESULT log_first_query_ms %.1f %zu\n", (now_s() - t0) * 1e3, res.n);
	trace_result_free(&res);
	extra.t = j->nthreads + 7; /* persons no thread used */
	for (int round = 0; round < 5; round++) {
		size_t added;
		for (size_t i = 0; i < 1000; i++)
			more[i] = scan_of(&extra, (size_t)round * 1000 + i);
		if (trace_store_log_append(s, TRACE_SCAN, more, 1000, j->now, &added, &d))
			return 1;
		t0 = now_s();
		if (trace_close_contacts(s, who, j->now, &rule, &res))
			return 1;
		t[round] = (now_s() - t0) * 1e3;
		trace_result_free(&res);
	}
	qsort(t, 5, sizeof(double), dbl_cmp);
	printf("RESULT log_query_after_1000_ms %.1f\n", t[2]);
	free(more);
	return 0;
}

/* Loads BASE.bin (the benchmark's binary data) into s; *end = its last
 * minute, in Unix seconds. */
static int load_base(trace_store *s, const char *path, int64_t *end)
{
	struct trace_params p;
	struct trace_diag d;
	struct trace_rec *recs = NULL;
	enum trace_kind kind;
	uint8_t *map = NULL;
	size_t len, n = 0, added;
	uint32_t max_end = 0;
	int rc;

	trace_params_default(&p);
	rc = cli_map_file(path, &map, &len);
	if (!rc)
		rc = trace_check_bin(map, len, &kind, &p, (int64_t)time(NULL), &recs, &n, &d);
	if (!rc && !recs)
		rc = TRACE_ERR_FORMAT;
	for (size_t i = 0; !rc && i < n; i++)
		if (recs[i].t_min + recs[i].dur > max_end)
			max_end = recs[i].t_min + recs[i].dur;
	if (!rc)
		rc = trace_store_append(s, kind, recs, n, (int64_t)time(NULL), &added, &d);
	cli_unmap_file(map, len);
	*end = (int64_t)max_end * 60;
	return rc;
}

static int bench(const char *work, const char *name, bool use_log, uint32_t nthreads, size_t total,
		 double seconds, const char *base)
{
	char dir[4096];
	struct job *jobs = calloc(nthreads, sizeof(*jobs));
	pthread_t *th = calloc(nthreads, sizeof(*th));
	trace_store *s = NULL;
	struct trace_params p;
	struct trace_diag d;
	float *all;
	size_t n = 0;
	int64_t now = (int64_t)time(NULL);
	double t0, el;
	int rc = 0;

	if (!jobs || !th)
		return 1;
	snprintf(dir, sizeof(dir), "%s/%s", work, name);
	rm_tree(dir);
	trace_params_default(&p);
	memset(&d, 0, sizeof(d));
	if (trace_store_open(dir, &p, &s, &d))
		return 1;
	if (base) {
		double b0 = now_s();
		if (load_base(s, base, &now))
			return 1;
		now += 60;
		fprintf(stderr, "%s: base loaded in %.1f s\n", name, now_s() - b0);
	}
	if (use_log && trace_store_log_start(s, true, &d)) {
		fprintf(stderr, "log start: %s\n", trace_err_en(d.code));
		return 1;
	}
	for (uint32_t t = 0; t < nthreads; t++) {
		jobs[t] = (struct job){ s, use_log, now, t, nthreads, total / nthreads + (t < total % nthreads),
					now_s() + seconds, NULL, 0, 0 };
		jobs[t].lat = malloc((jobs[t].quota ? jobs[t].quota : 1) * sizeof(float));
		if (!jobs[t].lat)
			return 1;
	}
	t0 = now_s();
	for (uint32_t t = 0; t < nthreads; t++)
		if (pthread_create(&th[t], NULL, run, &jobs[t]))
			return 1;
	for (uint32_t t = 0; t < nthreads; t++)
		pthread_join(th[t], NULL);
	el = now_s() - t0;
	for (uint32_t t = 0; t < nthreads; t++) {
		n += jobs[t].done;
		if (jobs[t].rc)
			rc = 1;
	}
	all = malloc((n ? n : 1) * sizeof(float));
	if (!all)
		return 1;
	n = 0;
	for (uint32_t t = 0; t < nthreads; t++) {
		memcpy(all + n, jobs[t].lat, jobs[t].done * sizeof(float));
		n += jobs[t].done;
		free(jobs[t].lat);
	}
	qsort(all, n, sizeof(float), float_cmp);
	printf("RESULT %s_appends %zu\n", name, n);
	printf("RESULT %s_seconds %.2f\n", name, el);
	printf("RESULT %s_per_s %.0f\n", name, n / el);
	if (n) {
		printf("RESULT %s_p50_ms %.3f\n", name, all[n / 2]);
		printf("RESULT %s_p99_ms %.3f\n", name, all[n * 99 / 100]);
		printf("RESULT %s_p999_ms %.3f\n", name, all[n * 999 / 1000]);
		printf("RESULT %s_max_ms %.3f\n", name, all[n - 1]);
	}
	if (use_log) {
		struct trace_log_stats ls;
		trace_store_log_stats(s, TRACE_SCAN, &ls);
		printf("RESULT %s_commits %llu\n", name, (unsigned long long)ls.commits);
		printf("RESULT %s_per_commit %.1f\n", name, ls.commits ? (double)n / ls.commits : 0.0);
		printf("RESULT %s_folds %llu\n", name, (unsigned long long)ls.folds);
	}
	printf("RESULT %s_count %zu\n", name, trace_store_count(s, TRACE_SCAN));
	if (use_log && base && query_after(s, &jobs[0]))
		rc = 1;
	trace_store_close(s);
	printf("RESULT %s_files %zu\n", name, files_in(dir));
	fflush(stdout);
	rm_tree(dir);
	free(all);
	free(jobs);
	free(th);
	return rc;
}

static int arg_size(const char *s, size_t *v)
{
	uint64_t x;
	if (!wg_parse_u64(s, strlen(s), &x))
		return -1;
	*v = (size_t)x;
	return 0;
}

int main(int argc, char **argv)
{
	size_t nthreads, old_n, log_n, secs = 60;
	const char *base = NULL;

	if (argc < 5 || argc > 7 || arg_size(argv[2], &nthreads) || nthreads < 1 || nthreads > MAX_THREADS
	    || arg_size(argv[3], &old_n) || arg_size(argv[4], &log_n) || (argc > 5 && arg_size(argv[5], &secs))) {
		fputs("usage: bench_log WORKDIR THREADS OLD_N LOG_N [OLD_SECONDS] [BASE.bin]\n", stderr);
		return 2;
	}
	if (argc > 6)
		base = argv[6];
	mkdir(argv[1], 0700);
	if (old_n && bench(argv[1], "old", false, (uint32_t)nthreads, old_n, (double)secs, base))
		return 1;
	if (log_n && bench(argv[1], "log", true, (uint32_t)nthreads, log_n, 1e9, base))
		return 1;
	return 0;
}
