/* The scan log (trace_store_log_append): answers identical whether a record
 * sits in the log or in a segment; many threads appending beside queries
 * and folds; a fold cut short at each step; a torn tail, a flipped bit, a
 * replayed batch; retention; two writers; and a child killed with SIGKILL
 * while it appends, after which every acknowledged scan is there exactly
 * once. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "core/lib/mem.h"
#include "trace/trace.h"
#include "trace/trace_int.h"

#define NOW (1700000000LL)
#define DAY 86400LL
#define T0  (NOW - 4 * DAY)

/* ---- helpers -------------------------------------------------------------- */

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

static char *tmp_dir(void)
{
	char *d = malloc(64);
	assert_non_null(d);
	snprintf(d, 64, "/tmp/wg_tlog_XXXXXX");
	assert_non_null(mkdtemp(d));
	return d;
}

static trace_store *open_with(const char *dir, uint32_t fold_records)
{
	trace_store *s = NULL;
	struct trace_params p;
	struct trace_diag d;
	memset(&d, 0, sizeof(d));
	trace_params_default(&p);
	p.max_dwell_min = 1440;
	if (fold_records)
		p.log_fold_records = fold_records;
	assert_int_equal(trace_store_open(dir, &p, &s, &d), TRACE_OK);
	return s;
}

static uint64_t rng_state = 0x853C49E6748FEA9Bull;
static uint32_t rnd(uint32_t n)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return (uint32_t)(rng_state % n);
}

static struct trace_rec rec(uint32_t person, uint32_t place, int64_t in, int64_t out)
{
	struct trace_rec r;
	assert_int_equal(trace_rec_make(person, place, in, out, NOW, 1440, &r), TRACE_OK);
	return r;
}

/* n records (repeats included on purpose), persons 1..np, places 1..nv. */
static struct trace_rec *gen(size_t n, uint32_t np, uint32_t nv, int maxdur)
{
	struct trace_rec *r = malloc(n * sizeof(*r));
	assert_non_null(r);
	for (size_t i = 0; i < n; i++) {
		int64_t in = T0 + (int64_t)rnd(3 * 1440) * 60;
		r[i] = rec(1 + rnd(np), 1 + rnd(nv), in, in + (int64_t)rnd((uint32_t)maxdur + 1) * 60);
	}
	return r;
}

static void seg_append(trace_store *s, enum trace_kind kind, const struct trace_rec *r, size_t n)
{
	struct trace_rec *copy = malloc((n ? n : 1) * sizeof(*r));
	struct trace_diag d;
	size_t added;
	assert_non_null(copy);
	memcpy(copy, r, n * sizeof(*r));
	memset(&d, 0, sizeof(d));
	assert_int_equal(trace_store_append(s, kind, copy, n, NOW, &added, &d), TRACE_OK);
	free(copy);
}

static size_t log_append(trace_store *s, enum trace_kind kind, const struct trace_rec *r, size_t n)
{
	struct trace_diag d;
	size_t added = 99, total = 0;
	memset(&d, 0, sizeof(d));
	for (size_t i = 0; i < n; i++) { /* one at a time, as live scans come */
		assert_int_equal(trace_store_log_append(s, kind, &r[i], 1, NOW, &added, &d), TRACE_OK);
		total += added;
	}
	return total;
}

static void same_result(const struct trace_result *a, const struct trace_result *b)
{
	assert_int_equal(a->n, b->n);
	if (a->n)
		assert_memory_equal(a->hits, b->hits, a->n * sizeof(*a->hits));
}

/* Every query gives the same answer on a and b. */
static void same_answers(trace_store *a, trace_store *b, uint32_t np, uint32_t nv)
{
	struct trace_rule rule;
	struct trace_case cases[12];
	struct trace_result x = { NULL, 0 }, y = { NULL, 0 };
	struct trace_pairs px, py;
	size_t seen = 0;

	trace_rule_default(&rule);
	rule.lookback_days = 3;
	assert_int_equal(trace_store_count(a, TRACE_SCAN), trace_store_count(b, TRACE_SCAN));
	assert_int_equal(trace_store_count(a, TRACE_CELL), trace_store_count(b, TRACE_CELL));
	for (uint32_t who = 1; who <= np; who += 7) {
		int ra = trace_close_contacts(a, who, NOW, &rule, &x), rb = trace_close_contacts(b, who, NOW, &rule, &y);
		assert_int_equal(ra, rb);
		same_result(&x, &y);
		seen += x.n;
		trace_result_free(&x);
		trace_result_free(&y);
		for (int mode = 0; mode < 2; mode++) {
			rule.mode = mode ? TRACE_WHOLE_WINDOW : TRACE_TIME_ORDERED;
			assert_int_equal(trace_secondary_contacts(a, who, NOW, &rule, &x),
					 trace_secondary_contacts(b, who, NOW, &rule, &y));
			same_result(&x, &y);
			trace_result_free(&x);
			trace_result_free(&y);
		}
		rule.mode = TRACE_TIME_ORDERED;
		assert_int_equal(trace_companions(a, who, NOW, &rule, &x), trace_companions(b, who, NOW, &rule, &y));
		same_result(&x, &y);
		trace_result_free(&x);
		trace_result_free(&y);
	}
	assert_true(seen > 0);
	for (int i = 0; i < 12; i++)
		cases[i] = (struct trace_case){ 1 + (uint32_t)i * 5, NOW - (int64_t)(i % 3) * DAY };
	assert_int_equal(trace_batch_close(a, cases, 12, &rule, &x, NULL), TRACE_OK);
	assert_int_equal(trace_batch_close(b, cases, 12, &rule, &y, NULL), TRACE_OK);
	same_result(&x, &y);
	trace_result_free(&x);
	trace_result_free(&y);
	assert_int_equal(trace_batch_pairs(a, cases, 12, &rule, &px, NULL), TRACE_OK);
	assert_int_equal(trace_batch_pairs(b, cases, 12, &rule, &py, NULL), TRACE_OK);
	assert_int_equal(px.n, py.n);
	if (px.n)
		assert_memory_equal(px.pairs, py.pairs, px.n * sizeof(*px.pairs));
	trace_pairs_free(&px);
	trace_pairs_free(&py);
	for (uint32_t v = 1; v <= nv; v++) {
		size_t ca, cb;
		assert_int_equal(trace_place_count(a, TRACE_SCAN, v, T0 + DAY, &ca), TRACE_OK);
		assert_int_equal(trace_place_count(b, TRACE_SCAN, v, T0 + DAY, &cb), TRACE_OK);
		assert_int_equal(ca, cb);
		assert_int_equal(trace_place_count(a, TRACE_CELL, v, 0, &ca), TRACE_OK);
		assert_int_equal(trace_place_count(b, TRACE_CELL, v, 0, &cb), TRACE_OK);
		assert_int_equal(ca, cb);
	}
}

static size_t count_files(const char *dir, const char *suffix)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	size_t n = 0, ls = strlen(suffix);
	assert_non_null(d);
	while ((e = readdir(d)) != NULL) {
		size_t l = strlen(e->d_name);
		if (l >= ls && strcmp(e->d_name + l - ls, suffix) == 0)
			n++;
	}
	closedir(d);
	return n;
}

/* ---- the log and the segments give the same answers ----------------------- */

static void test_log_same_answers(void **st)
{
	const uint32_t np = 120, nv = 9;
	size_t n = 1600;
	struct trace_rec *r = gen(n, np, nv, 120), *c = gen(n / 2, np, nv, 600);
	char *da = tmp_dir(), *db = tmp_dir();
	trace_store *a = open_with(da, 0), *b = open_with(db, 0);
	size_t folded = 0;

	(void)st;
	/* a: everything in segments */
	seg_append(a, TRACE_SCAN, r, n);
	seg_append(a, TRACE_CELL, c, n / 2);
	/* b: a third in a segment, the rest through the log (repeats included) */
	seg_append(b, TRACE_SCAN, r, n / 3);
	seg_append(b, TRACE_CELL, c, n / 6);
	log_append(b, TRACE_SCAN, r, n);
	log_append(b, TRACE_CELL, c, n / 2);
	assert_int_equal(log_append(b, TRACE_SCAN, r, n / 2), 0); /* repeats */
	same_answers(a, b, np, nv);
	/* a query was answered: more records reach the next one by a merge */
	log_append(a, TRACE_SCAN, r + n / 2, 40); /* repeats of a's segment: nothing */
	same_answers(a, b, np, nv);
	/* folded: the same */
	assert_int_equal(trace_store_fold(b, true, &folded), TRACE_OK);
	assert_true(folded > 0);
	same_answers(a, b, np, nv);
	/* half folded, half in the log after the fold */
	trace_store_close(b);
	rm_tree(db);
	b = open_with(db, 0);
	log_append(b, TRACE_SCAN, r, n / 2);
	assert_int_equal(trace_store_fold(b, true, &folded), TRACE_OK);
	log_append(b, TRACE_SCAN, r + n / 2, n - n / 2);
	log_append(b, TRACE_CELL, c, n / 2);
	same_answers(a, b, np, nv);
	/* reopened: the log is read back */
	trace_store_close(b);
	b = open_with(db, 0);
	same_answers(a, b, np, nv);
	/* one-shot (the CLI's way: the index file of the segments, the log merged) */
	trace_store_close(b);
	b = open_with(db, 0);
	trace_store_one_shot(b);
	trace_store_one_shot(a);
	same_answers(a, b, np, nv);
	trace_store_close(b);
	b = open_with(db, 0);
	trace_store_one_shot(b);
	same_answers(a, b, np, nv); /* the index file saved by the last one, used */
	assert_int_equal(trace_store_index_state(b, TRACE_SCAN), TRACE_INDEX_USED);
	trace_store_close(a);
	trace_store_close(b);
	rm_tree(da);
	rm_tree(db);
	free(da);
	free(db);
	free(r);
	free(c);
}

/* ---- the merge of new records into a table ------------------------------------- */

static void same_table(const struct trace_table *a, const struct trace_table *b)
{
	assert_int_equal(a->n, b->n);
	assert_int_equal(a->nplace, b->nplace);
	assert_int_equal(a->npers, b->npers);
	assert_int_equal(a->max_dur, b->max_dur);
	for (uint32_t i = 0; i < a->nplace; i++)
		assert_int_equal(trace_table_place_id(a, i), trace_table_place_id(b, i));
	assert_memory_equal(a->place_off, b->place_off, ((size_t)a->nplace + 1) * sizeof(uint32_t));
	for (uint32_t i = 0; i < a->npers; i++)
		assert_int_equal(trace_table_person_id(a, i), trace_table_person_id(b, i));
	assert_memory_equal(a->r_person, b->r_person, a->n * sizeof(uint32_t));
	assert_memory_equal(a->r_tin, b->r_tin, a->n * sizeof(uint32_t));
	assert_memory_equal(a->r_dur, b->r_dur, a->n * sizeof(uint16_t));
	assert_true(a->pos_all && b->pos_all);
	assert_memory_equal(a->pers_off, b->pers_off, ((size_t)a->npers + 1) * sizeof(uint32_t));
	assert_memory_equal(a->p_pos, b->p_pos, a->n * sizeof(uint32_t));
}

static int rec_order_cmp(const void *a, const void *b)
{
	return trace_rec_cmp(a, b);
}

/* A table with records merged in (new persons below and above the others,
 * new places, repeats) is the table built from all of them, positions
 * included. */
static void test_table_merge(void **st)
{
	char *da = tmp_dir(), *db = tmp_dir();
	size_t n = 3000, m = 400;
	struct trace_rec *r = gen(n, 300, 40, 120), *more = gen(m, 600, 60, 120);
	trace_store *a = open_with(da, 0), *b = open_with(db, 0);
	struct trace_table merged;

	(void)st;
	for (size_t i = 0; i < m; i += 3)
		more[i].person += 5000;          /* persons after every other */
	more[1].person = 0;                      /* and before */
	more[2] = r[17];                         /* a repeat */
	seg_append(a, TRACE_SCAN, r, n);
	seg_append(b, TRACE_SCAN, r, n);
	seg_append(b, TRACE_SCAN, more, m);
	assert_int_equal(trace_store_build(a), TRACE_OK);
	assert_int_equal(trace_store_build(b), TRACE_OK);
	qsort(more, m, sizeof(*more), rec_order_cmp);
	m = trace_recs_unique(more, m);
	assert_int_equal(trace_table_merge(&a->tab[TRACE_SCAN], more, m, &merged), TRACE_OK);
	same_table(&merged, &b->tab[TRACE_SCAN]);
	trace_table_free(&merged);
	trace_store_close(a);
	trace_store_close(b);
	rm_tree(da);
	rm_tree(db);
	free(da);
	free(db);
	free(r);
	free(more);
}

/* ---- many threads -------------------------------------------------------------- */

struct appender {
	trace_store *s;
	const struct trace_rec *r;
	size_t from, to, added;
	int rc;
};

static void *append_run(void *arg)
{
	struct appender *a = arg;
	struct trace_diag d;
	for (size_t i = a->from; i < a->to && !a->rc; i++) {
		size_t added = 0;
		a->rc = trace_store_log_append(a->s, i % 5 == 0 ? TRACE_CELL : TRACE_SCAN, &a->r[i], 1, NOW, &added, &d);
		a->added += added;
	}
	return NULL;
}

/* Eight threads append (overlapping ranges: repeats race each other) while
 * the store's thread folds every 300 records and queries run. */
static void test_log_threads(void **st)
{
	const uint32_t np = 200, nv = 12;
	size_t n = 6000, total = 0;
	struct trace_rec *r = gen(n, np, nv, 120);
	char *da = tmp_dir(), *db = tmp_dir();
	trace_store *a = open_with(da, 0), *b = open_with(db, 300);
	struct appender ap[8];
	pthread_t th[8];
	struct trace_diag d;
	struct trace_rule rule;
	struct trace_log_stats ls;

	(void)st;
	memset(&d, 0, sizeof(d));
	assert_int_equal(trace_store_log_start(b, true, &d), TRACE_OK);
	for (int i = 0; i < 8; i++) {
		ap[i] = (struct appender){ b, r, (size_t)i * n / 10, (size_t)i * n / 10 + n / 4, 0, 0 };
		if (ap[i].to > n)
			ap[i].to = n;
		assert_int_equal(pthread_create(&th[i], NULL, append_run, &ap[i]), 0);
	}
	trace_rule_default(&rule);
	for (int q = 0; q < 20; q++) { /* queries beside the appends */
		struct trace_result res = { NULL, 0 };
		int rc = trace_close_contacts(b, 1 + rnd(np), NOW, &rule, &res);
		assert_true(rc == TRACE_OK || rc == TRACE_ERR_UNKNOWN_PERSON);
		trace_result_free(&res);
	}
	for (int i = 0; i < 8; i++) {
		assert_int_equal(pthread_join(th[i], NULL), 0);
		assert_int_equal(ap[i].rc, TRACE_OK);
		total += ap[i].added;
	}
	/* the reference: the same records, deduplicated, in segments */
	{
		struct trace_rec *scans = malloc(n * sizeof(*r)), *cells = malloc(n * sizeof(*r));
		size_t ns = 0, nc = 0;
		assert_non_null(scans);
		assert_non_null(cells);
		for (size_t i = 0; i < n; i++) {
			bool covered = false;
			for (int k = 0; k < 8 && !covered; k++)
				covered = i >= ap[k].from && i < ap[k].to;
			if (!covered)
				continue;
			if (i % 5 == 0)
				cells[nc++] = r[i];
			else
				scans[ns++] = r[i];
		}
		seg_append(a, TRACE_SCAN, scans, ns);
		seg_append(a, TRACE_CELL, cells, nc);
		free(scans);
		free(cells);
	}
	assert_int_equal(total, trace_store_count(a, TRACE_SCAN) + trace_store_count(a, TRACE_CELL));
	same_answers(a, b, np, nv);
	assert_int_equal(trace_store_log_stats(b, TRACE_SCAN, &ls), TRACE_OK);
	assert_true(ls.writer);
	assert_true(ls.folds > 0);
	assert_true(ls.commits > 0);
	assert_int_equal(ls.error, 0);
	trace_store_close(b);
	b = open_with(db, 0);
	same_answers(a, b, np, nv);
	trace_store_close(a);
	trace_store_close(b);
	rm_tree(da);
	rm_tree(db);
	free(da);
	free(db);
	free(r);
}

/* ---- appends that do not wait ------------------------------------------------------ */

struct told {
	pthread_mutex_t mu;
	size_t calls, failed;
};

static void on_durable(void *ctx, int rc)
{
	struct told *t = ctx;
	pthread_mutex_lock(&t->mu);
	t->calls++;
	t->failed += rc != TRACE_OK;
	pthread_mutex_unlock(&t->mu);
}

/* With the committing thread, an append returns at once and is told once
 * its records are durable, exactly once each; a repeat of a record not yet
 * durable waits for it too; everything told durable is there after a
 * reopen. Without the thread the append waits in place and is never told. */
static void test_log_async(void **st)
{
	const size_t n = 3000;
	struct trace_rec *r = gen(n, 300, 9, 60);
	char *dir = tmp_dir();
	trace_store *s = open_with(dir, 0);
	struct told t = { PTHREAD_MUTEX_INITIALIZER, 0, 0 };
	struct trace_diag d;
	size_t pending = 0, fresh = 0, repeats = 0;

	(void)st;
	memset(&d, 0, sizeof(d));
	assert_int_equal(trace_store_log_start(s, true, &d), TRACE_OK);
	for (size_t i = 0; i < n; i++) {
		size_t added = 0;
		bool wait = false;
		/* every tenth record appended twice in a row: the second is a repeat */
		for (int k = 0; k < (i % 10 == 0 ? 2 : 1); k++) {
			assert_int_equal(trace_store_log_append_async(s, TRACE_SCAN, &r[i], 1, NOW, &added, &d, on_durable, &t, &wait),
					 TRACE_OK);
			pending += wait;
			if (k == 0)
				fresh += added;
			else
				repeats += added == 0;
		}
	}
	for (int spin = 0; spin < 1000; spin++) {
		pthread_mutex_lock(&t.mu);
		bool all = t.calls == pending;
		pthread_mutex_unlock(&t.mu);
		if (all)
			break;
		usleep(10000);
	}
	assert_true(pending > 0);
	assert_int_equal(t.calls, pending);
	assert_int_equal(t.failed, 0);
	assert_int_equal(repeats, (n + 9) / 10);
	assert_int_equal(trace_store_count(s, TRACE_SCAN), fresh);
	trace_store_close(s);
	assert_int_equal(t.calls, pending); /* told once, never again */

	/* reopened without the committing thread: the records are there; an append waits in place */
	s = open_with(dir, 0);
	assert_int_equal(trace_store_count(s, TRACE_SCAN), fresh);
	assert_int_equal(trace_store_log_start(s, false, &d), TRACE_OK);
	{
		struct trace_rec one = rec(7, 3, NOW - 3600, NOW - 3000);
		size_t added = 0;
		bool wait = true;
		assert_int_equal(trace_store_log_append_async(s, TRACE_SCAN, &one, 1, NOW, &added, &d, on_durable, &t, &wait),
				 TRACE_OK);
		assert_false(wait);
		assert_int_equal(t.calls, pending);
		assert_int_equal(trace_store_count(s, TRACE_SCAN), fresh + added);
	}
	trace_store_close(s);
	rm_tree(dir);
	free(dir);
	free(r);
}

/* ---- a fold cut short ------------------------------------------------------------ */

static void copy_file(const char *from, const char *to)
{
	char buf[65536];
	int in = open(from, O_RDONLY), out = open(to, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	ssize_t k;
	assert_true(in >= 0 && out >= 0);
	while ((k = read(in, buf, sizeof(buf))) > 0)
		assert_int_equal(write(out, buf, (size_t)k), k);
	close(in);
	close(out);
}

/* The name of the first file in dir ending in suffix. */
static void find_file(const char *dir, const char *prefix, const char *suffix, char *out, size_t cap)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	out[0] = '\0';
	assert_non_null(d);
	while ((e = readdir(d)) != NULL) {
		size_t l = strlen(e->d_name), ls = strlen(suffix);
		if (strncmp(e->d_name, prefix, strlen(prefix)) == 0 && l >= ls && strcmp(e->d_name + l - ls, suffix) == 0) {
			snprintf(out, cap, "%s/%s", dir, e->d_name);
			break;
		}
	}
	closedir(d);
	assert_true(out[0] != '\0');
}

/* A fold writes the segment, then deletes the log file. The states a crash
 * can leave: the file only (no segment yet: replayed), both (the segment
 * says it holds that generation: the file is dropped, then deleted), the
 * segment only (done). None loses or doubles a record. */
static void test_log_fold_crash_states(void **st)
{
	const uint32_t np = 80, nv = 6;
	size_t n = 700;
	struct trace_rec *r = gen(n, np, nv, 120);
	char *da = tmp_dir(), *db = tmp_dir(), logf[512], saved[600], segf[512];
	trace_store *a = open_with(da, 0), *b = open_with(db, 0);
	struct trace_log_stats ls;

	(void)st;
	seg_append(a, TRACE_SCAN, r, n);
	log_append(b, TRACE_SCAN, r, n);
	trace_store_close(b);
	find_file(db, "scan-", ".log", logf, sizeof(logf));
	snprintf(saved, sizeof(saved), "%s/saved", da);
	copy_file(logf, saved);
	b = open_with(db, 0);
	assert_int_equal(trace_store_fold(b, true, NULL), TRACE_OK); /* (not the writer: nothing) */
	assert_int_equal(trace_store_count(b, TRACE_SCAN), trace_store_count(a, TRACE_SCAN));
	assert_int_equal(trace_store_log_start(b, false, NULL), TRACE_OK);
	assert_int_equal(trace_store_fold(b, true, NULL), TRACE_OK);
	trace_store_close(b);
	/* both: the log file back beside the segment that holds it */
	copy_file(saved, logf);
	b = open_with(db, 0);
	assert_int_equal(trace_store_count(b, TRACE_SCAN), trace_store_count(a, TRACE_SCAN));
	same_answers(a, b, np, nv);
	assert_int_equal(trace_store_log_start(b, false, NULL), TRACE_OK);
	assert_int_equal(access(logf, F_OK), -1); /* the writer deleted it */
	same_answers(a, b, np, nv);
	trace_store_close(b);
	/* the file only: the segment of the fold never made it */
	find_file(db, "scan-", ".seg", segf, sizeof(segf));
	assert_int_equal(unlink(segf), 0);
	copy_file(saved, logf);
	b = open_with(db, 0);
	same_answers(a, b, np, nv);
	assert_int_equal(trace_store_log_start(b, false, NULL), TRACE_OK);
	assert_int_equal(trace_store_log_stats(b, TRACE_SCAN, &ls), TRACE_OK);
	assert_int_equal(ls.files, 2); /* the old generation, waiting for its fold, and a new one
					* (empty ones were deleted when the writer took the log) */
	assert_int_equal(ls.records, n == 0 ? 0 : trace_store_count(a, TRACE_SCAN));
	assert_int_equal(trace_store_fold(b, false, NULL), TRACE_OK); /* an old generation is always due */
	assert_int_equal(trace_store_log_stats(b, TRACE_SCAN, &ls), TRACE_OK);
	assert_int_equal(ls.files, 1);
	assert_int_equal(ls.records, 0);
	assert_int_equal(count_files(db, ".log"), 2); /* the new generations of scans and cells */
	same_answers(a, b, np, nv);
	trace_store_close(a);
	trace_store_close(b);
	rm_tree(da);
	rm_tree(db);
	free(da);
	free(db);
	free(r);
}

/* ---- bad input ------------------------------------------------------------------- */

static char warned[512];
static void on_warn(const char *msg)
{
	snprintf(warned, sizeof(warned), "%s", msg);
}

static int open_diag(const char *dir, trace_store **s, struct trace_diag *d)
{
	memset(d, 0, sizeof(*d));
	*s = NULL;
	return trace_store_open(dir, NULL, s, d);
}

static off_t file_size(const char *path)
{
	struct stat sb;
	assert_int_equal(stat(path, &sb), 0);
	return sb.st_size;
}

static void poke(const char *path, off_t off, uint8_t x)
{
	int fd = open(path, O_RDWR);
	uint8_t b;
	assert_true(fd >= 0);
	assert_int_equal(pread(fd, &b, 1, off), 1);
	b ^= x;
	assert_int_equal(pwrite(fd, &b, 1, off), 1);
	close(fd);
}

/* The store as the test made it: the one log file, nothing else. */
static void reset(const char *dir, const char *logf, const char *saved)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char p[600];
	assert_non_null(d);
	while ((e = readdir(d)) != NULL) {
		size_t l = strlen(e->d_name);
		if (l > 4 && (strcmp(e->d_name + l - 4, ".log") == 0 || strcmp(e->d_name + l - 4, ".seg") == 0)) {
			snprintf(p, sizeof(p), "%s/%s", dir, e->d_name);
			unlink(p);
		}
	}
	closedir(d);
	copy_file(saved, logf);
}

/* Frames of 1 record: 32 + 16 = 48 bytes each, after the 64-byte header. */
#define FRAME1 48

static void test_log_bad_input(void **st)
{
	struct trace_rec r[6];
	char *dir = tmp_dir(), logf[512], saved[600];
	trace_store *s;
	struct trace_diag d;
	off_t size;

	(void)st;
	for (int i = 0; i < 6; i++)
		r[i] = rec(1 + (uint32_t)i, 3, NOW - 3600 + i * 60, NOW - 3000);
	s = open_with(dir, 0);
	assert_int_equal(log_append(s, TRACE_SCAN, r, 6), 6);
	trace_store_close(s);
	find_file(dir, "scan-", ".log", logf, sizeof(logf));
	snprintf(saved, sizeof(saved), "%s/../saved-%d", dir, (int)getpid());
	copy_file(logf, saved);
	size = file_size(logf);
	assert_int_equal(size, 64 + 6 * FRAME1);
	trace_set_warn(on_warn);

	/* a torn tail: the last frame cut short. A reader leaves it out; the
	 * writer cuts it off, with a message naming the file */
	assert_int_equal(truncate(logf, size - 20), 0);
	assert_int_equal(open_diag(dir, &s, &d), TRACE_OK);
	assert_int_equal(trace_store_count(s, TRACE_SCAN), 5);
	warned[0] = '\0';
	assert_int_equal(trace_store_log_start(s, false, &d), TRACE_OK);
	assert_non_null(strstr(warned, "torn tail"));
	assert_non_null(strstr(warned, "scan-"));
	assert_int_equal(file_size(logf), size - FRAME1);
	assert_int_equal(trace_store_count(s, TRACE_SCAN), 5);
	assert_int_equal(log_append(s, TRACE_SCAN, &r[5], 1), 1); /* appended anew, after the cut */
	trace_store_close(s);

	/* zeros after the last frame: the room a writer makes ahead of its
	 * frames, left by a crash (or a block never written): the clean end
	 * of the log, cut by the next writer without a word */
	reset(dir, logf, saved);
	{
		int fd = open(logf, O_WRONLY | O_APPEND);
		uint8_t zeros[100];
		memset(zeros, 0, sizeof(zeros));
		assert_int_equal(write(fd, zeros, sizeof(zeros)), (ssize_t)sizeof(zeros));
		close(fd);
	}
	assert_int_equal(open_diag(dir, &s, &d), TRACE_OK);
	warned[0] = '\0';
	assert_int_equal(trace_store_log_start(s, false, &d), TRACE_OK);
	assert_string_equal(warned, "");
	assert_int_equal(file_size(logf), size);
	assert_int_equal(trace_store_count(s, TRACE_SCAN), 6);
	trace_store_close(s);

	/* a flipped bit in a frame with good frames after it: damage before
	 * acknowledged records, an error naming the file and the offset */
	reset(dir, logf, saved);
	poke(logf, 64 + FRAME1 + 32 + 5, 0x10);
	assert_int_equal(open_diag(dir, &s, &d), TRACE_ERR_CORRUPT);
	assert_null(s);
	assert_int_equal(d.offset, 64 + FRAME1);
	assert_non_null(strstr(d.what, "scan-"));
	assert_non_null(strstr(d.what, ".log"));

	/* a flipped bit in the last frame: the reader cannot tell it from a frame
	 * being written and leaves it out; the writer, after a crash, knows it
	 * was acknowledged (no zeros, not cut short) and refuses */
	reset(dir, logf, saved);
	poke(logf, size - 3, 0x01);
	assert_int_equal(open_diag(dir, &s, &d), TRACE_OK);
	assert_int_equal(trace_store_count(s, TRACE_SCAN), 5);
	assert_int_equal(trace_store_log_start(s, false, &d), TRACE_ERR_CORRUPT);
	assert_int_equal(d.offset, 64 + 5 * FRAME1);
	trace_store_close(s);

	/* a replayed batch: the second frame written again at the end */
	reset(dir, logf, saved);
	{
		int in = open(saved, O_RDONLY), out = open(logf, O_WRONLY | O_APPEND);
		uint8_t frame[FRAME1];
		assert_int_equal(pread(in, frame, FRAME1, 64 + FRAME1), FRAME1);
		assert_int_equal(write(out, frame, FRAME1), FRAME1);
		close(in);
		close(out);
	}
	assert_int_equal(open_diag(dir, &s, &d), TRACE_ERR_SEQUENCE);
	assert_int_equal(d.offset, 64 + 6 * FRAME1);
	assert_non_null(strstr(d.what, ".log"));

	/* a damaged header */
	reset(dir, logf, saved);
	poke(logf, 20, 0x80);
	assert_int_equal(open_diag(dir, &s, &d), TRACE_ERR_CORRUPT);
	assert_int_equal(d.offset, 56);

	/* whole again */
	reset(dir, logf, saved);
	assert_int_equal(open_diag(dir, &s, &d), TRACE_OK);
	assert_int_equal(trace_store_count(s, TRACE_SCAN), 6);
	trace_store_close(s);
	trace_set_warn(NULL);
	unlink(saved);
	rm_tree(dir);
	free(dir);
}

/* ---- retention, two writers, errors ------------------------------------------------ */

static void test_log_retention(void **st)
{
	struct trace_rec old1 = rec(1, 1, NOW - 40 * DAY, NOW - 40 * DAY + 600);
	struct trace_rec old2 = rec(2, 1, NOW - 30 * DAY, NOW - 30 * DAY + 600);
	struct trace_rec fresh = rec(3, 1, NOW - 2 * DAY, NOW - 2 * DAY + 600);
	struct trace_rec batch[] = { old1, old2, fresh };
	char *dir = tmp_dir();
	trace_store *s = open_with(dir, 0);
	struct trace_rule rule;
	struct trace_result res = { NULL, 0 };
	size_t removed = 0;

	(void)st;
	assert_int_equal(log_append(s, TRACE_SCAN, batch, 3), 3);
	trace_rule_default(&rule);
	assert_int_equal(trace_close_contacts(s, 1, NOW, &rule, &res), TRACE_OK);
	assert_int_equal(trace_store_expire(s, NOW, &removed), TRACE_OK);
	assert_int_equal(removed, 2);
	assert_int_equal(trace_store_count(s, TRACE_SCAN), 1);
	assert_int_equal(trace_close_contacts(s, 1, NOW, &rule, &res), TRACE_ERR_UNKNOWN_PERSON);
	assert_int_equal(trace_close_contacts(s, 3, NOW, &rule, &res), TRACE_OK);
	trace_store_close(s);
	s = open_with(dir, 0);
	assert_int_equal(trace_store_count(s, TRACE_SCAN), 1);
	trace_store_close(s);
	rm_tree(dir);
	free(dir);
}

static void test_log_two_writers(void **st)
{
	struct trace_rec r = rec(5, 5, NOW - 600, NOW - 60);
	char *dir = tmp_dir();
	trace_store *a = open_with(dir, 0), *b = open_with(dir, 0);
	struct trace_diag d;
	size_t added;

	(void)st;
	memset(&d, 0, sizeof(d));
	assert_int_equal(trace_store_log_append(a, TRACE_SCAN, &r, 1, NOW, &added, &d), TRACE_OK);
	assert_int_equal(trace_store_log_start(b, false, &d), TRACE_ERR_BUSY);
	assert_int_equal(trace_store_log_append(b, TRACE_SCAN, &r, 1, NOW, &added, &d), TRACE_ERR_BUSY);
	trace_store_close(a);
	assert_int_equal(trace_store_log_append(b, TRACE_SCAN, &r, 1, NOW, &added, &d), TRACE_OK);
	assert_int_equal(added, 0); /* the writer read the log again when it took it */
	/* a bad record: nothing appended, the row named */
	{
		struct trace_rec bad[2] = { rec(6, 5, NOW - 600, NOW - 60), rec(7, 5, NOW - 600, NOW - 60) };
		bad[1].zero = 3;
		assert_int_equal(trace_store_log_append(b, TRACE_SCAN, bad, 2, NOW, &added, &d), TRACE_ERR_FORMAT);
		assert_int_equal(d.row, 2);
		assert_int_equal(trace_store_count(b, TRACE_SCAN), 1);
		bad[1] = rec(7, 5, NOW - 600, NOW - 60);
		bad[1].t_min = (uint32_t)(NOW / 60) + 10; /* after now */
		assert_int_equal(trace_store_log_append(b, TRACE_SCAN, bad, 2, NOW, &added, &d), TRACE_ERR_FUTURE);
	}
	trace_store_close(b);
	rm_tree(dir);
	free(dir);
}

/* Every allocation failure on the log's paths unwinds cleanly, and the
 * store is whole after. */
static void test_log_alloc_failures(void **st)
{
	size_t n = 60;
	struct trace_rec *r = gen(n, 20, 3, 120);
	char *dir = tmp_dir();
	trace_store *s;
	struct trace_rule rule;

	(void)st;
	trace_rule_default(&rule);
	for (uint64_t nth = 1; nth < 3000; nth++) {
		struct trace_diag d;
		struct trace_result res = { NULL, 0 };
		size_t added;
		s = NULL;
		wg_mem_fail_at(nth);
		if (trace_store_open(dir, NULL, &s, &d) == TRACE_OK) {
			for (size_t i = 0; i < n; i += 7)
				if (trace_store_log_append(s, TRACE_SCAN, &r[i], 7 < n - i ? 7 : n - i, NOW, &added, &d))
					break;
			if (trace_close_contacts(s, r[0].person, NOW, &rule, &res) == TRACE_OK)
				trace_result_free(&res);
			(void)trace_store_fold(s, true, NULL);
			if (trace_close_contacts(s, r[1].person, NOW, &rule, &res) == TRACE_OK)
				trace_result_free(&res);
			trace_store_close(s);
		}
		bool fired = wg_mem_failure_fired();
		wg_mem_fail_at(0);
		if (!fired)
			break;
	}
	s = open_with(dir, 0);
	assert_true(trace_store_count(s, TRACE_SCAN) <= n);
	assert_int_equal(trace_store_log_start(s, false, NULL), TRACE_OK);
	trace_store_close(s);
	rm_tree(dir);
	free(dir);
	free(r);
}

/* ---- killed while appending ----------------------------------------------------- */

#define CRASH_THREADS 6
#define CRASH_PER_THREAD 40000u

/* The record thread t appends i-th: a function of (t, i), so that anything
 * found in the store can be checked to be one that was appended whole. */
static struct trace_rec crash_rec(uint32_t t, uint32_t i)
{
	struct trace_rec r;
	r.person = t * 1000000u + i + 1;
	r.place = 1 + i % 97;
	r.t_min = (uint32_t)(NOW / 60) - 3000 + i % 2000;
	r.dur = (uint16_t)(i % 120);
	r.zero = 0;
	return r;
}

struct crash_thread {
	trace_store *s;
	uint32_t t;
	int fd;
};

static void *crash_run(void *arg)
{
	struct crash_thread *c = arg;
	for (uint32_t i = 0; i < CRASH_PER_THREAD; i++) {
		struct trace_rec r = crash_rec(c->t, i);
		struct trace_diag d;
		size_t added;
		uint32_t id = r.person;
		if (trace_store_log_append(c->s, TRACE_SCAN, &r, 1, NOW, &added, &d) != TRACE_OK || added != 1)
			_exit(3);
		if (write(c->fd, &id, sizeof(id)) != (ssize_t)sizeof(id)) /* acknowledged: tell the parent */
			_exit(4);
	}
	return NULL;
}

/* The child: appends from several threads, folding every 3,000 records, and
 * reports every acknowledged record on the pipe, until it is killed. */
static void crash_child(const char *dir, int fd)
{
	struct crash_thread c[CRASH_THREADS];
	pthread_t th[CRASH_THREADS];
	trace_store *s = NULL;
	struct trace_params p;
	struct trace_diag d;

	trace_params_default(&p);
	p.log_fold_records = 3000;
	if (trace_store_open(dir, &p, &s, &d) || trace_store_log_start(s, true, &d))
		_exit(2);
	for (uint32_t t = 0; t < CRASH_THREADS; t++) {
		c[t] = (struct crash_thread){ s, t, fd };
		if (pthread_create(&th[t], NULL, crash_run, &c[t]))
			_exit(2);
	}
	for (int t = 0; t < CRASH_THREADS; t++)
		pthread_join(th[t], NULL);
	_exit(0);
}

static void crash_once(uint32_t kill_after)
{
	char *dir = tmp_dir();
	int pipefd[2];
	uint32_t *acked = malloc(CRASH_THREADS * CRASH_PER_THREAD * sizeof(uint32_t));
	size_t nacked = 0;
	pid_t pid;
	int status;
	trace_store *s;
	struct trace_diag d;

	assert_non_null(acked);
	assert_int_equal(pipe(pipefd), 0);
	fflush(NULL);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		close(pipefd[0]);
		crash_child(dir, pipefd[1]);
	}
	close(pipefd[1]);
	for (;;) {
		uint32_t id;
		ssize_t k = read(pipefd[0], &id, sizeof(id));
		if (k != (ssize_t)sizeof(id))
			break;
		acked[nacked++] = id;
		if (nacked == kill_after)
			kill(pid, SIGKILL); /* mid-stream: more acknowledgements may be in the pipe */
	}
	close(pipefd[0]);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);

	/* reopened as the writer: the log read back after a crash */
	memset(&d, 0, sizeof(d));
	s = open_with(dir, 0);
	assert_int_equal(trace_store_log_start(s, false, &d), TRACE_OK);
	assert_int_equal(trace_store_build(s), TRACE_OK);
	{
		const struct trace_table *t = &s->tab[TRACE_SCAN];
		size_t count = trace_store_count(s, TRACE_SCAN);
		/* exactly once: the records counted in segments and log are the
		 * distinct ones the table holds */
		assert_int_equal(count, t->n);
		assert_true(count >= nacked);
		if (getenv("TEST_VERBOSE")) {
			struct trace_log_stats ls;
			trace_store_log_stats(s, TRACE_SCAN, &ls);
			print_message("killed after %zu acknowledged: %zu stored, %zu segments, %zu in the log, "
				      "torn tail %llu bytes\n", nacked, count, ls.segments, ls.records,
				      (unsigned long long)ls.torn_bytes);
		}
		/* nothing half-written: every record is one a thread appended */
		for (uint32_t v = 0; v < t->nplace; v++)
			for (uint32_t j = t->place_off[v]; j < t->place_off[v + 1]; j++) {
				uint32_t id = trace_table_person_id(t, t->r_person[j]);
				struct trace_rec want = crash_rec((id - 1) / 1000000u, (id - 1) % 1000000u);
				assert_int_equal(trace_table_place_id(t, v), want.place);
				assert_int_equal(t->r_tin[j], want.t_min);
				assert_int_equal(t->r_dur[j], want.dur);
			}
	}
	/* every acknowledged record is there: appending it again is a repeat */
	for (size_t i = 0; i < nacked; i++) {
		uint32_t id = acked[i];
		struct trace_rec r = crash_rec((id - 1) / 1000000u, (id - 1) % 1000000u);
		size_t added = 9;
		assert_int_equal(trace_store_log_append(s, TRACE_SCAN, &r, 1, NOW, &added, &d), TRACE_OK);
		assert_int_equal(added, 0);
	}
	trace_store_close(s);
	rm_tree(dir);
	free(dir);
	free(acked);
}

static void test_log_kill9(void **st)
{
	static const uint32_t points[] = { 50, 1700, 4400, 9100, 15000 };
	(void)st;
	for (size_t i = 0; i < sizeof(points) / sizeof(points[0]); i++)
		crash_once(points[i] + rnd(500));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_log_same_answers),
		cmocka_unit_test(test_table_merge),
		cmocka_unit_test(test_log_threads),
		cmocka_unit_test(test_log_async),
		cmocka_unit_test(test_log_fold_crash_states),
		cmocka_unit_test(test_log_bad_input),
		cmocka_unit_test(test_log_retention),
		cmocka_unit_test(test_log_two_writers),
		cmocka_unit_test(test_log_alloc_failures),
		cmocka_unit_test(test_log_kill9),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
