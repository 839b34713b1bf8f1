/* The tracing engine against a plain brute-force reference, and its edges. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/lib/mem.h"
#include "trace/trace.h"
#include "trace/trace_int.h"
#include "trace/trace_query.h"
#include "trace/trace_cli.h"

#define NOW   1700000000LL           /* "now" of the tests */
#define DAY   86400LL
#define T0    (NOW - 4 * DAY)        /* start of generated data */

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
		struct stat st;
		if (stat(p, &st) == 0 && S_ISDIR(st.st_mode))
			rm_tree(p);
		else
			unlink(p);
	}
	closedir(d);
	rmdir(dir);
}

static char *tmp_dir(void)
{
	char *d = malloc(64);
	assert_non_null(d);
	snprintf(d, 64, "/tmp/wg_trace_XXXXXX");
	assert_non_null(mkdtemp(d));
	return d;
}

static trace_store *open_at(const char *dir)
{
	trace_store *s = NULL;
	struct trace_diag d;
	memset(&d, 0, sizeof(d));
	assert_int_equal(trace_store_open(dir, NULL, &s, &d), TRACE_OK);
	return s;
}

static struct trace_rec rec(uint32_t person, uint32_t place, int64_t in, int64_t out)
{
	struct trace_rec r;
	assert_int_equal(trace_rec_make(person, place, in, out, NOW, 1440, &r), TRACE_OK);
	return r;
}

static void append(trace_store *s, enum trace_kind kind, struct trace_rec *r, size_t n, size_t want_added)
{
	struct trace_diag d;
	size_t added = 0;
	struct trace_rec *copy = malloc((n ? n : 1) * sizeof(*r));
	assert_non_null(copy);
	memcpy(copy, r, n * sizeof(*r));
	memset(&d, 0, sizeof(d));
	assert_int_equal(trace_store_append(s, kind, copy, n, NOW, &added, &d), TRACE_OK);
	assert_int_equal(added, want_added);
	free(copy);
}

static uint64_t rng_state = 88172645463325252ull;
static uint32_t rnd(uint32_t n)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return (uint32_t)(rng_state % n);
}

static int rec_cmp(const void *a, const void *b)
{
	const struct trace_rec *x = a, *y = b;
	if (x->place != y->place) return x->place < y->place ? -1 : 1;
	if (x->t_min != y->t_min) return x->t_min < y->t_min ? -1 : 1;
	if (x->person != y->person) return x->person < y->person ? -1 : 1;
	return x->dur < y->dur ? -1 : x->dur > y->dur;
}

/* n unique records, sorted, persons 1..np, places 1..nv, over `days`. */
static struct trace_rec *gen(size_t *n, uint32_t np, uint32_t nv, int days, int maxdur)
{
	struct trace_rec *r = malloc(*n * sizeof(*r));
	size_t w = 0;
	assert_non_null(r);
	for (size_t i = 0; i < *n; i++) {
		int64_t in = T0 + (int64_t)rnd((uint32_t)days * 1440) * 60 + (rnd(4) == 0 ? rnd(60) : 0);
		int64_t out = in + (int64_t)rnd((uint32_t)maxdur + 1) * 60 - (rnd(4) == 0 ? rnd(60) : 0);
		if (out < in)
			out = in;
		r[i] = rec(1 + rnd(np), 1 + rnd(nv), in, out);
	}
	qsort(r, *n, sizeof(*r), rec_cmp);
	for (size_t i = 0; i < *n; i++)
		if (w == 0 || rec_cmp(&r[w - 1], &r[i]) != 0)
			r[w++] = r[i];
	*n = w;
	return r;
}

/* ---- the brute-force reference -------------------------------------------- */

struct ev {
	int64_t ov, meet, place, a1, b1, a2, b2;
};

struct ref_hit {
	uint32_t person, source;
	struct ev best;
	uint32_t events;
	uint64_t total;
	int64_t first_meet;
	int used;
};

static int better(const struct ev *e, const struct ev *f)
{
	if (e->ov != f->ov) return e->ov > f->ov;
	if (e->meet != f->meet) return e->meet < f->meet;
	if (e->place != f->place) return e->place < f->place;
	if (e->a1 != f->a1) return e->a1 < f->a1;
	if (e->b1 != f->b1) return e->b1 < f->b1;
	if (e->a2 != f->a2) return e->a2 < f->a2;
	return e->b2 < f->b2;
}

struct ref_rule {
	int64_t W, k, B, onset;
	int64_t dw_from, dw_to, dw_limit; /* companions; dw_limit < 0: off */
	int dw_require;                   /* the published rule; 0: long dwell excludes */
};

static int64_t ref_dwell(const struct trace_rec *r, size_t n, uint32_t p, uint32_t place,
			 const struct ref_rule *q)
{
	int64_t sum = 0;
	for (size_t i = 0; i < n; i++) {
		if (r[i].person != p || r[i].place != place)
			continue;
		int64_t a = r[i].t_min, b = a + r[i].dur;
		if (a < q->dw_from) a = q->dw_from;
		if (b > q->dw_to) b = q->dw_to;
		if (b > a) sum += b - a;
	}
	return sum;
}

/* Close contacts (or companions) of `who`: hits indexed by person id. */
static void ref_contacts(const struct trace_rec *r, size_t n, uint32_t who, const struct ref_rule *q,
			 struct ref_hit *hits, uint32_t np)
{
	memset(hits, 0, (np + 1) * sizeof(*hits));
	for (size_t i = 0; i < n; i++) {
		const struct trace_rec *x = &r[i];
		int64_t a1 = x->t_min, b1 = a1 + x->dur;
		int64_t case_dw = 0;
		if (x->person != who || b1 < q->W || (q->k > 0 && x->dur < q->k))
			continue;
		if (q->dw_limit >= 0)
			case_dw = ref_dwell(r, n, who, x->place, q);
		for (size_t j = 0; j < n; j++) {
			const struct trace_rec *y = &r[j];
			int64_t a2 = y->t_min, b2 = a2 + y->dur;
			if (y->place != x->place || y->person == who)
				continue;
			int64_t ov = (b1 < b2 ? b1 : b2) - (a1 > a2 ? a1 : a2);
			if (ov < q->k)
				continue;
			if (q->dw_limit >= 0) {
				int64_t other_dw = ref_dwell(r, n, y->person, x->place, q);
				int long_dw = case_dw > q->dw_limit || other_dw > q->dw_limit;
				if (q->dw_require ? !long_dw : long_dw)
					continue;
			}
			struct ev e = { ov > 0 ? ov : 0, a1 > a2 ? a1 : a2, x->place, a1, b1, a2, b2 };
			struct ref_hit *h = &hits[y->person];
			if (!h->used || better(&e, &h->best))
				h->best = e;
			if (!h->used || e.meet < h->first_meet)
				h->first_meet = e.meet;
			h->used = 1;
			h->person = y->person;
			h->source = who;
			h->events++;
			h->total += (uint64_t)e.ov;
		}
	}
}

static void ref_secondary(const struct trace_rec *r, size_t n, uint32_t who, const struct ref_rule *q,
			  int ordered, const struct ref_hit *close, struct ref_hit *out, uint32_t np)
{
	memset(out, 0, (np + 1) * sizeof(*out));
	/* r is sorted by (place, t_in, person, dur): the first qualifying stay wins */
	for (size_t j = 0; j < n; j++) {
		const struct trace_rec *y = &r[j];
		uint32_t s = y->person;
		int64_t a2 = y->t_min, b2 = a2 + y->dur;
		if (s == who || close[s].used || out[s].used || (q->k > 0 && y->dur < q->k))
			continue;
		int found = 0;
		int64_t bov = 0, ba = 0, bb = 0;
		uint32_t bc = 0;
		for (size_t i = 0; i < n; i++) {
			const struct trace_rec *x = &r[i];
			uint32_t c = x->person;
			int64_t a1 = x->t_min, b1 = a1 + x->dur;
			if (x->place != y->place || c == who || !close[c].used)
				continue;
			if (q->k > 0 && x->dur < q->k)
				continue;
			int64_t ov = (b1 < b2 ? b1 : b2) - (a1 > a2 ? a1 : a2);
			if (ov < q->k)
				continue;
			if (ordered ? (b1 < b2 ? b1 : b2) + q->B < close[c].first_meet : b1 < q->W)
				continue;
			if (ov < 0) ov = 0;
			if (!found || ov > bov || (ov == bov && (c < bc || (c == bc && (a1 < ba || (a1 == ba && b1 < bb)))))) {
				found = 1;
				bov = ov; bc = c; ba = a1; bb = b1;
			}
		}
		if (found) {
			out[s].used = 1;
			out[s].person = s;
			out[s].source = bc;
			out[s].best = (struct ev){ bov, 0, y->place, ba, bb, a2, b2 };
		}
	}
}

static void check_hits(const struct trace_result *res, const struct ref_hit *ref, uint32_t np, int counts)
{
	size_t want = 0;
	for (uint32_t p = 0; p <= np; p++)
		want += ref[p].used ? 1 : 0;
	assert_int_equal(res->n, want);
	for (size_t i = 0; i < res->n; i++) {
		const struct trace_hit *h = &res->hits[i];
		assert_true(h->person <= np);
		const struct ref_hit *x = &ref[h->person];
		assert_true(x->used);
		assert_int_equal(h->source, x->source);
		assert_int_equal(h->place, x->best.place);
		assert_int_equal(h->src_in, x->best.a1 * 60);
		assert_int_equal(h->src_out, x->best.b1 * 60);
		assert_int_equal(h->hit_in, x->best.a2 * 60);
		assert_int_equal(h->hit_out, x->best.b2 * 60);
		assert_int_equal(h->overlap_min, x->best.ov);
		if (counts) {
			assert_int_equal(h->events, x->events);
			assert_int_equal(h->total_overlap_min, x->total);
		}
		if (i > 0) { /* ranked */
			const struct trace_hit *g = &res->hits[i - 1];
			if (counts)
				assert_true(g->total_overlap_min > h->total_overlap_min
					    || (g->total_overlap_min == h->total_overlap_min
						&& (g->overlap_min > h->overlap_min
						    || (g->overlap_min == h->overlap_min && g->person < h->person))));
			else
				assert_true(g->overlap_min > h->overlap_min
					    || (g->overlap_min == h->overlap_min && g->person < h->person));
		}
	}
}

static struct ref_rule ref_rule_of(const struct trace_rule *r, int64_t onset, int comp)
{
	struct ref_rule q;
	q.onset = onset / 60;
	q.W = q.onset - (int64_t)r->lookback_days * 1440;
	q.B = comp ? 0 : r->buffer_min;
	q.k = comp ? (int64_t)r->comp_overlap_min + 1 : (int64_t)r->min_overlap_min - r->buffer_min;
	q.dw_from = q.onset - (int64_t)r->comp_dwell_days * 1440;
	q.dw_to = q.onset;
	q.dw_limit = comp ? (int64_t)r->comp_dwell_limit_min : -1;
	q.dw_require = r->comp_dwell_rule == TRACE_COMP_DWELL_REQUIRED;
	return q;
}

/* ---- generated data against the reference --------------------------------- */

static void compare_random(int buffer, int min_overlap, int lookback, int threads)
{
	const uint32_t np = 160, nv = 12;
	size_t n = 1400;
	struct trace_rec *r = gen(&n, np, nv, 3, 120);
	struct ref_hit *close = calloc(np + 1, sizeof(*close)), *sec = calloc(np + 1, sizeof(*sec));
	char *dir = tmp_dir();
	trace_store *s = open_at(dir);
	struct trace_rule rule;
	size_t seen_close = 0, seen_sec = 0;

	assert_non_null(close);
	assert_non_null(sec);
	append(s, TRACE_SCAN, r, n / 2, n / 2);
	append(s, TRACE_SCAN, r, n, n - n / 2); /* overlapping batch: only the new half is added */
	assert_int_equal(trace_store_count(s, TRACE_SCAN), n);
	trace_rule_default(&rule);
	rule.buffer_min = (uint32_t)buffer;
	rule.min_overlap_min = (uint32_t)min_overlap;
	rule.lookback_days = (uint32_t)lookback;
	rule.threads = threads;
	for (int iter = 0; iter < 6; iter++) {
		uint32_t who = 1 + rnd(np);
		int64_t onset = T0 + (int64_t)rnd(3 * 1440) * 60;
		struct ref_rule q = ref_rule_of(&rule, onset, 0);
		struct trace_result res = { NULL, 0 };
		int rc = trace_close_contacts(s, who, onset, &rule, &res);
		if (rc == TRACE_ERR_UNKNOWN_PERSON)
			continue;
		assert_int_equal(rc, TRACE_OK);
		ref_contacts(r, n, who, &q, close, np);
		check_hits(&res, close, np, 1);
		seen_close += res.n;
		trace_result_free(&res);
		for (int mode = 0; mode < 2; mode++) {
			rule.mode = mode ? TRACE_WHOLE_WINDOW : TRACE_TIME_ORDERED;
			assert_int_equal(trace_secondary_contacts(s, who, onset, &rule, &res), TRACE_OK);
			ref_secondary(r, n, who, &q, !mode, close, sec, np);
			check_hits(&res, sec, np, 0);
			seen_sec += res.n;
			trace_result_free(&res);
		}
		rule.mode = TRACE_TIME_ORDERED;
	}
	assert_true(seen_close > 10); /* the data must exercise the rules */
	assert_true(seen_sec > 10);
	trace_store_close(s);
	rm_tree(dir);
	free(dir);
	free(r);
	free(close);
	free(sec);
}

static void test_random_default(void **st) { (void)st; compare_random(30, 0, 14, 1); }
static void test_random_nobuffer(void **st) { (void)st; compare_random(0, 0, 1, 2); }
static void test_random_minoverlap(void **st) { (void)st; compare_random(10, 25, 2, 1); }
static void test_random_big_minoverlap(void **st) { (void)st; compare_random(5, 40, 14, 1); }

static int pair_cmp(const void *a, const void *b)
{
	const struct trace_pair *x = a, *y = b;
	if (x->source != y->source)
		return x->source < y->source ? -1 : 1;
	return x->person < y->person ? -1 : x->person > y->person;
}

/* trace_batch_pairs finds the persons of trace_batch_close's rows, case by
 * case (by case, then person), and each case's share is that case's close
 * contacts at its onset. */
static void same_pairs(trace_store *s, const struct trace_case *cases, size_t n,
		       const struct trace_rule *rule, const struct trace_result *rows)
{
	struct trace_pairs pr;
	struct trace_pair *want = calloc(rows->n + 1, sizeof(*want));
	size_t unknown = 0;

	assert_non_null(want);
	for (size_t i = 0; i < rows->n; i++)
		want[i] = (struct trace_pair){ rows->hits[i].source, rows->hits[i].person };
	qsort(want, rows->n, sizeof(*want), pair_cmp);
	assert_int_equal(trace_batch_pairs(s, cases, n, rule, &pr, &unknown), TRACE_OK);
	assert_int_equal(pr.n, rows->n);
	assert_memory_equal(pr.pairs, want, rows->n * sizeof(*want));
	assert_int_equal(pr.first[0], 0);
	assert_int_equal(pr.first[pr.ncases], pr.n);
	for (size_t c = 0; c < pr.ncases; c++) {
		struct trace_result one = { NULL, 0 };
		assert_true(c == 0 || pr.cases[c - 1].person < pr.cases[c].person);
		assert_int_equal(trace_close_contacts(s, pr.cases[c].person, pr.cases[c].onset, rule, &one),
				 TRACE_OK);
		assert_int_equal(one.n, pr.first[c + 1] - pr.first[c]);
		for (size_t k = pr.first[c]; k < pr.first[c + 1]; k++)
			assert_int_equal(pr.pairs[k].source, pr.cases[c].person);
		trace_result_free(&one);
	}
	trace_pairs_free(&pr);
	free(want);
}

static void test_random_batch(void **st)
{
	const uint32_t np = 120, nv = 10;
	size_t n = 1000, unknown = 0, k = 0;
	struct trace_rec *r = gen(&n, np, nv, 3, 120);
	struct ref_hit *close = calloc(np + 1, sizeof(*close));
	char *dir = tmp_dir();
	trace_store *s = open_at(dir);
	struct trace_rule rule;
	struct trace_case cases[6] = {
		{ 5, T0 + DAY }, { 3, T0 + 2 * DAY }, { 5, T0 + 2 * DAY }, { 9999, T0 }, { 7, NOW }, { 1, T0 },
	};
	uint32_t order[] = { 1, 3, 5, 7 };
	int64_t onset[] = { T0, T0 + 2 * DAY, T0 + DAY, NOW };
	struct trace_result res = { NULL, 0 };

	(void)st;
	assert_non_null(close);
	append(s, TRACE_SCAN, r, n, n);
	trace_rule_default(&rule);
	rule.lookback_days = 1;
	assert_int_equal(trace_batch_close(s, cases, 6, &rule, &res, &unknown), TRACE_OK);
	assert_int_equal(unknown, 1);
	same_pairs(s, cases, 6, &rule, &res);
	for (int c = 0; c < 4; c++) {
		struct ref_rule q = ref_rule_of(&rule, onset[c], 0);
		struct trace_result one = { NULL, 0 };
		ref_contacts(r, n, order[c], &q, close, np);
		assert_int_equal(trace_close_contacts(s, order[c], onset[c], &rule, &one), TRACE_OK);
		check_hits(&one, close, np, 1);
		assert_true(k + one.n <= res.n);
		assert_memory_equal(res.hits + k, one.hits, one.n * sizeof(*one.hits));
		k += one.n;
		trace_result_free(&one);
	}
	assert_int_equal(k, res.n);
	trace_result_free(&res);
	trace_store_close(s);
	rm_tree(dir);
	free(dir);
	free(r);
	free(close);
}

/* Many cases on more threads than cores: rows land in case order whichever
 * thread counts a case first. */
static void test_batch_many_cases(void **st)
{
	const uint32_t np = 150, nv = 8;
	size_t n = 3000, ncases = 0, unknown = 0, k = 0;
	struct trace_rec *r = gen(&n, np, nv, 3, 120);
	struct trace_case *cases = calloc(np, sizeof(*cases));
	char *dir = tmp_dir();
	trace_store *s = open_at(dir);
	struct trace_rule rule;
	struct trace_result res = { NULL, 0 };

	(void)st;
	assert_non_null(cases);
	append(s, TRACE_SCAN, r, n, n);
	trace_rule_default(&rule);
	rule.lookback_days = 2;
	rule.threads = 5;
	for (uint32_t p = np; p >= 1; p -= 2) /* out of order: the batch sorts them */
		cases[ncases++] = (struct trace_case){ p, T0 + (int64_t)(p % 3) * DAY };
	assert_int_equal(trace_batch_close(s, cases, ncases, &rule, &res, &unknown), TRACE_OK);
	same_pairs(s, cases, ncases, &rule, &res);
	for (uint32_t p = 2; p <= np; p += 2) {
		struct trace_result one = { NULL, 0 };
		int rc = trace_close_contacts(s, p, T0 + (int64_t)(p % 3) * DAY, &rule, &one);
		if (rc == TRACE_ERR_UNKNOWN_PERSON)
			continue;
		assert_int_equal(rc, TRACE_OK);
		assert_true(k + one.n <= res.n);
		if (one.n)
			assert_memory_equal(res.hits + k, one.hits, one.n * sizeof(*one.hits));
		k += one.n;
		trace_result_free(&one);
	}
	assert_int_equal(k, res.n);
	trace_result_free(&res);
	trace_store_close(s);
	rm_tree(dir);
	free(dir);
	free(r);
	free(cases);
}

static void test_random_companions(void **st)
{
	const uint32_t np = 80, nv = 6;
	size_t n = 900;
	struct trace_rec *r = gen(&n, np, nv, 3, 600);
	struct ref_hit *ref = calloc(np + 1, sizeof(*ref));
	char *dir = tmp_dir();
	trace_store *s = open_at(dir);
	struct trace_rule rule;

	(void)st;
	assert_non_null(ref);
	append(s, TRACE_CELL, r, n, n);
	trace_rule_default(&rule);
	rule.comp_dwell_limit_min = 900; /* 15 h, so some cells are long-dwell in 3 days */
	for (int iter = 0; iter < 16; iter++) {
		uint32_t who = 1 + rnd(np);
		rule.comp_dwell_rule = iter % 2 ? TRACE_COMP_DWELL_EXCLUDES : TRACE_COMP_DWELL_REQUIRED;
		int64_t onset = T0 + 3 * DAY;
		struct ref_rule q = ref_rule_of(&rule, onset, 1);
		struct trace_result res = { NULL, 0 };
		int rc = trace_companions(s, who, onset, &rule, &res);
		if (rc == TRACE_ERR_UNKNOWN_PERSON)
			continue;
		assert_int_equal(rc, TRACE_OK);
		ref_contacts(r, n, who, &q, ref, np);
		check_hits(&res, ref, np, 1);
		trace_result_free(&res);
	}
	trace_store_close(s);
	rm_tree(dir);
	free(dir);
	free(r);
	free(ref);
}

/* ---- edges ---------------------------------------------------------------- */

#define M(x) ((int64_t)(x) * 60)
#define BASE (T0 - T0 % DAY)        /* a midnight, UTC */

static trace_store *edge_store(char **dir)
{
	struct trace_rec r[] = {
		rec(1, 10, BASE + M(600), BASE + M(660)),   /* case 1 at venue 10, 10:00-11:00 */
		rec(2, 10, BASE + M(690), BASE + M(700)),   /* arrives exactly buffer after: contact */
		rec(3, 10, BASE + M(691), BASE + M(700)),   /* one minute later: not */
		rec(4, 10, BASE + M(540), BASE + M(570)),   /* left exactly buffer before: contact */
		rec(5, 10, BASE + M(530), BASE + M(569)),   /* one minute earlier: not */
		rec(6, 10, BASE + M(610), BASE + M(620)),   /* inside: 10 min */
		rec(6, 10, BASE + M(640), BASE + M(650)),   /* same person, same venue again: 10 min */
		rec(7, 11, BASE + M(600), BASE + M(660)),   /* other venue */
		rec(1, 12, BASE + M(1430), BASE + M(1460)), /* across midnight */
		rec(8, 12, BASE + M(1450), BASE + M(1500)), /* 10 min after midnight */
		rec(1, 13, BASE + M(1000), BASE + M(1000)), /* zero-length stay */
		rec(9, 13, BASE + M(1000), BASE + M(1000)), /* zero-length, same minute */
		rec(11, 14, BASE + M(100), BASE + M(110)),  /* 11 scans only long before */
	};
	trace_store *s;
	struct trace_rec cell = rec(12, 77, BASE + M(100), BASE + M(130));
	*dir = tmp_dir();
	s = open_at(*dir);
	append(s, TRACE_SCAN, r, sizeof(r) / sizeof(r[0]), sizeof(r) / sizeof(r[0]));
	append(s, TRACE_CELL, &cell, 1, 1);
	return s;
}

static const struct trace_hit *find(const struct trace_result *r, uint32_t person)
{
	for (size_t i = 0; i < r->n; i++)
		if (r->hits[i].person == person)
			return &r->hits[i];
	return NULL;
}

static void test_edges(void **st)
{
	char *dir;
	trace_store *s = edge_store(&dir);
	struct trace_rule rule;
	struct trace_result res = { NULL, 0 };
	const struct trace_hit *h;
	int64_t onset = BASE + DAY + M(600);

	(void)st;
	trace_rule_default(&rule);
	rule.lookback_days = 1;
	assert_int_equal(trace_close_contacts(s, 1, onset, &rule, &res), TRACE_OK);
	assert_non_null(h = find(&res, 2));
	assert_int_equal(h->overlap_min, 0);
	assert_null(find(&res, 3));
	assert_non_null(find(&res, 4));
	assert_null(find(&res, 5));
	assert_null(find(&res, 7));
	assert_non_null(h = find(&res, 6));
	assert_int_equal(h->events, 2);
	assert_int_equal(h->total_overlap_min, 20);
	assert_int_equal(res.hits[0].person, 6); /* ranked by exposure */
	assert_non_null(h = find(&res, 8));      /* across midnight */
	assert_int_equal(h->overlap_min, 10);
	assert_int_equal(h->place, 12);
	assert_non_null(h = find(&res, 9));      /* zero-length stays meet */
	assert_int_equal(h->overlap_min, 0);
	assert_int_equal(res.n, 5);
	trace_result_free(&res);

	/* buffer 0: zero-length stays in the same minute still meet */
	rule.buffer_min = 0;
	assert_int_equal(trace_close_contacts(s, 1, onset, &rule, &res), TRACE_OK);
	assert_non_null(find(&res, 9));
	assert_null(find(&res, 2));
	trace_result_free(&res);
	rule.buffer_min = 30;

	/* look-back boundary: window starts exactly when the 11:00 stay ends */
	rule.lookback_days = 1;
	onset = BASE + M(660) + DAY;
	assert_int_equal(trace_close_contacts(s, 1, onset, &rule, &res), TRACE_OK);
	assert_non_null(find(&res, 2));
	trace_result_free(&res);
	assert_int_equal(trace_close_contacts(s, 1, onset + 60, &rule, &res), TRACE_OK);
	assert_null(find(&res, 2));
	assert_non_null(find(&res, 8)); /* the midnight stay is still inside */
	trace_result_free(&res);

	/* a known person without scans in the window: empty; only cells: empty */
	assert_int_equal(trace_close_contacts(s, 11, BASE + 2 * DAY, &rule, &res), TRACE_OK);
	assert_int_equal(res.n, 0);
	assert_int_equal(trace_close_contacts(s, 12, BASE + DAY, &rule, &res), TRACE_OK);
	assert_int_equal(res.n, 0);
	assert_int_equal(trace_secondary_contacts(s, 11, BASE + 2 * DAY, &rule, &res), TRACE_OK);
	assert_int_equal(res.n, 0);
	/* unknown */
	assert_int_equal(trace_close_contacts(s, 424242, onset, &rule, &res), TRACE_ERR_UNKNOWN_PERSON);
	assert_int_equal(trace_secondary_contacts(s, 424242, onset, &rule, &res), TRACE_ERR_UNKNOWN_PERSON);
	assert_int_equal(trace_companions(s, 424242, onset, &rule, &res), TRACE_ERR_UNKNOWN_PERSON);
	trace_store_close(s);
	rm_tree(dir);
	free(dir);
}

static void test_secondary_order(void **st)
{
	/* c meets the case at 12:00; s met c at 09:00 (before) and t at 14:00 (after) */
	struct trace_rec r[] = {
		rec(1, 1, BASE + M(720), BASE + M(780)),
		rec(2, 1, BASE + M(730), BASE + M(790)),
		rec(2, 2, BASE + M(540), BASE + M(560)),
		rec(3, 2, BASE + M(545), BASE + M(600)),
		rec(2, 3, BASE + M(840), BASE + M(900)),
		rec(4, 3, BASE + M(850), BASE + M(860)),
	};
	char *dir = tmp_dir();
	trace_store *s = open_at(dir);
	struct trace_rule rule;
	struct trace_result res = { NULL, 0 };
	const struct trace_hit *h;

	(void)st;
	append(s, TRACE_SCAN, r, 6, 6);
	trace_rule_default(&rule);
	assert_int_equal(trace_secondary_contacts(s, 1, BASE + DAY, &rule, &res), TRACE_OK);
	assert_int_equal(res.n, 1);
	assert_non_null(h = find(&res, 4));
	assert_int_equal(h->source, 2);
	assert_int_equal(h->place, 3);
	assert_int_equal(h->overlap_min, 10);
	trace_result_free(&res);
	rule.mode = TRACE_WHOLE_WINDOW;
	assert_int_equal(trace_secondary_contacts(s, 1, BASE + DAY, &rule, &res), TRACE_OK);
	assert_int_equal(res.n, 2);
	assert_non_null(find(&res, 3));
	trace_result_free(&res);
	trace_store_close(s);
	rm_tree(dir);
	free(dir);
}

static void test_companion_long_dwell(void **st)
{
	/* cell 5: home of person 1 (40 h in 14 days); cell 6: a market nobody lingers in */
	struct trace_rec r[] = {
		rec(1, 5, BASE - 5 * DAY, BASE - 5 * DAY + M(1200)),
		rec(1, 5, BASE - 3 * DAY, BASE - 3 * DAY + M(1200)),
		rec(1, 5, BASE + M(600), BASE + M(700)),
		rec(2, 5, BASE + M(600), BASE + M(700)),
		rec(1, 6, BASE + M(800), BASE + M(830)),
		rec(3, 6, BASE + M(815), BASE + M(840)),  /* 15 min */
		rec(4, 6, BASE + M(820), BASE + M(830)),  /* 10 min */
		rec(5, 6, BASE + M(819), BASE + M(830)),  /* 11 min */
	};
	char *dir = tmp_dir();
	trace_store *s = open_at(dir);
	struct trace_rule rule;
	struct trace_result res = { NULL, 0 };

	(void)st;
	append(s, TRACE_CELL, r, 8, 8);
	trace_rule_default(&rule);
	/* the published rule: the pair counts in the case's home, not in the market */
	assert_int_equal(trace_companions(s, 1, BASE + DAY, &rule, &res), TRACE_OK);
	assert_int_equal(res.n, 1);
	assert_int_equal(res.hits[0].person, 2);
	assert_int_equal(res.hits[0].place, 5);
	assert_int_equal(res.hits[0].overlap_min, 100);
	assert_int_equal(res.hits[0].src_dwell_min, 2500);
	assert_int_equal(res.hits[0].hit_dwell_min, 100);
	trace_result_free(&res);
	/* the exclusion option: the home is left out, the market counts (> 10 min) */
	rule.comp_dwell_rule = TRACE_COMP_DWELL_EXCLUDES;
	assert_int_equal(trace_companions(s, 1, BASE + DAY, &rule, &res), TRACE_OK);
	assert_int_equal(res.n, 2);
	assert_int_equal(res.hits[0].person, 3);
	assert_int_equal(res.hits[0].overlap_min, 15);
	assert_int_equal(res.hits[0].src_dwell_min, 30);
	assert_int_equal(res.hits[0].hit_dwell_min, 25);
	assert_int_equal(res.hits[1].person, 5);
	trace_result_free(&res);
	rule.comp_dwell_limit_min = 60000;
	assert_int_equal(trace_companions(s, 1, BASE + DAY, &rule, &res), TRACE_OK);
	assert_non_null(find(&res, 2));
	trace_result_free(&res);
	trace_store_close(s);
	rm_tree(dir);
	free(dir);
}

static void test_cells(void **st)
{
	uint32_t a, b, c;
	(void)st;
	assert_int_equal(trace_cell_of(32.06, 118.79, 800, &a), TRACE_OK);
	assert_int_equal(trace_cell_of(32.0601, 118.7901, 800, &b), TRACE_OK);
	assert_int_equal(a, b);
	assert_int_equal(trace_cell_of(32.07, 118.79, 800, &c), TRACE_OK); /* ~1.1 km north */
	assert_int_not_equal(a, c);
	assert_int_equal(trace_cell_of(32.06, 118.80, 800, &c), TRACE_OK); /* ~940 m east */
	assert_int_not_equal(a, c);
	assert_int_equal(trace_cell_of(-1.0, 118.0, 800, &c), TRACE_ERR_COORD);
	assert_int_equal(trace_cell_of(32.0, 200.0, 800, &c), TRACE_ERR_COORD);
	assert_int_equal(trace_cell_of(32.0, 118.0, 10, &c), TRACE_ERR_PARAM);
}

/* ---- persistence, corruption, retention ----------------------------------- */

static void test_persistence_and_idempotence(void **st)
{
	size_t n = 600;
	struct trace_rec *r = gen(&n, 50, 5, 3, 120);
	char *dir = tmp_dir();
	trace_store *s = open_at(dir);
	struct trace_rule rule;
	struct trace_result a = { NULL, 0 }, b = { NULL, 0 };

	(void)st;
	append(s, TRACE_SCAN, r, n, n);
	append(s, TRACE_SCAN, r, n, 0);
	trace_rule_default(&rule);
	assert_int_equal(trace_close_contacts(s, r[0].person, NOW, &rule, &a), TRACE_OK);
	trace_store_close(s);
	s = open_at(dir);
	assert_int_equal(trace_store_count(s, TRACE_SCAN), n);
	assert_int_equal(trace_close_contacts(s, r[0].person, NOW, &rule, &b), TRACE_OK);
	assert_int_equal(a.n, b.n);
	assert_memory_equal(a.hits, b.hits, a.n * sizeof(*a.hits));
	assert_true(trace_store_bytes_per_rec(s, TRACE_SCAN) <= 16.5);
	trace_result_free(&a);
	trace_result_free(&b);
	trace_store_close(s);
	rm_tree(dir);
	free(dir);
	free(r);
}

/* Two loaders on one store at once: neither overwrites the other's segment. */
static void test_two_writers(void **st)
{
	size_t n = 400;
	struct trace_rec *r = gen(&n, 60, 5, 3, 120);
	char *dir = tmp_dir();
	trace_store *a = open_at(dir), *b = open_at(dir);
	(void)st;
	append(a, TRACE_SCAN, r, n / 2, n / 2);
	append(b, TRACE_SCAN, r + n / 2, n - n / 2, n - n / 2);
	trace_store_close(a);
	trace_store_close(b);
	a = open_at(dir);
	assert_int_equal(trace_store_count(a, TRACE_SCAN), n);
	assert_int_equal(trace_store_build(a), TRACE_OK);
	trace_store_close(a);
	rm_tree(dir);
	free(dir);
	free(r);
}

static char *first_segment(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char *p = NULL;
	assert_non_null(d);
	while ((e = readdir(d)) != NULL)
		if (strncmp(e->d_name, "scan-", 5) == 0) {
			p = malloc(512);
			snprintf(p, 512, "%s/%s", dir, e->d_name);
			break;
		}
	closedir(d);
	assert_non_null(p);
	return p;
}

static void test_corruption(void **st)
{
	size_t n = 100;
	struct trace_rec *r = gen(&n, 20, 3, 1, 60);
	char *dir = tmp_dir(), *seg;
	trace_store *s = open_at(dir);
	struct trace_rule rule;
	struct trace_result res = { NULL, 0 };
	struct trace_diag d;
	struct stat sb;
	int fd;
	uint8_t byte;

	(void)st;
	append(s, TRACE_SCAN, r, n, n);
	trace_store_close(s);
	seg = first_segment(dir);
	fd = open(seg, O_RDWR);
	assert_true(fd >= 0);
	assert_int_equal(pread(fd, &byte, 1, 64 + 16 * 7 + 2), 1);
	byte ^= 0x40;
	assert_int_equal(pwrite(fd, &byte, 1, 64 + 16 * 7 + 2), 1);
	close(fd);
	s = open_at(dir);
	trace_rule_default(&rule);
	assert_int_equal(trace_close_contacts(s, r[0].person, NOW, &rule, &res), TRACE_ERR_CORRUPT);
	trace_store_close(s);
	/* truncated: the open itself refuses */
	assert_int_equal(stat(seg, &sb), 0);
	assert_int_equal(truncate(seg, sb.st_size - 5), 0);
	memset(&d, 0, sizeof(d));
	s = NULL;
	assert_int_equal(trace_store_open(dir, NULL, &s, &d), TRACE_ERR_TRUNCATED);
	assert_null(s);
	assert_non_null(strstr(d.what, "scan-"));
	/* corrupted header */
	fd = open(seg, O_RDWR);
	assert_int_equal(pwrite(fd, "X", 1, 20), 1);
	close(fd);
	assert_int_equal(trace_store_open(dir, NULL, &s, &d), TRACE_ERR_CORRUPT);
	free(seg);
	rm_tree(dir);
	free(dir);
	free(r);
}

static void test_retention(void **st)
{
	struct trace_rec old1 = rec(1, 1, NOW - 40 * DAY, NOW - 40 * DAY + 600);
	struct trace_rec old2 = rec(2, 1, NOW - 30 * DAY, NOW - 30 * DAY + 600);
	struct trace_rec fresh = rec(3, 1, NOW - 2 * DAY, NOW - 2 * DAY + 600);
	struct trace_rec edge = rec(4, 1, NOW - 28 * DAY - 300, NOW - 28 * DAY); /* ends on the cut */
	struct trace_rec batch1[] = { old1 };
	struct trace_rec batch2[] = { old2, fresh, edge };
	char *dir = tmp_dir();
	trace_store *s = open_at(dir);
	struct trace_rule rule;
	struct trace_result res = { NULL, 0 };
	size_t removed = 0;

	(void)st;
	append(s, TRACE_SCAN, batch1, 1, 1);
	append(s, TRACE_SCAN, batch2, 3, 3);
	assert_int_equal(trace_store_expire(s, NOW, &removed), TRACE_OK);
	assert_int_equal(removed, 2);
	assert_int_equal(trace_store_count(s, TRACE_SCAN), 2);
	trace_store_close(s);
	s = open_at(dir);
	assert_int_equal(trace_store_count(s, TRACE_SCAN), 2);
	trace_rule_default(&rule);
	assert_int_equal(trace_close_contacts(s, 1, NOW, &rule, &res), TRACE_ERR_UNKNOWN_PERSON);
	assert_int_equal(trace_close_contacts(s, 3, NOW, &rule, &res), TRACE_OK);
	assert_int_equal(trace_store_expire(s, NOW, &removed), TRACE_OK);
	assert_int_equal(removed, 0);
	assert_int_equal(trace_store_expire(s, NOW + 60 * DAY, &removed), TRACE_OK);
	assert_int_equal(removed, 2);
	trace_store_close(s);
	rm_tree(dir);
	free(dir);
}

static void test_packed_segments(void **st)
{
	size_t n = 5000, len;
	struct trace_rec *r = gen(&n, 3000, 40, 3, 120), got;
	struct trace_map m;
	struct trace_dec d;
	uint8_t *buf;
	(void)st;
	r[n - 1].person = UINT32_MAX; /* the largest values round-trip too */
	r[n - 1].dur = UINT16_MAX;
	assert_int_equal(trace_seg_encode(r, n, &buf, &len), TRACE_OK);
	assert_true(len < n * 8); /* well under the 16 bytes of a record */
	memset(&m, 0, sizeof(m));
	m.payload = buf;
	m.payload_len = len;
	m.n = n;
	trace_dec_init(&d, &m);
	for (size_t i = 0; i < n; i++) {
		assert_int_equal(trace_dec_next(&d, &got), 1);
		assert_memory_equal(&got, &r[i], sizeof(got));
	}
	assert_int_equal(trace_dec_next(&d, &got), 0);
	/* cut short, or one record too many claimed: malformed, never a crash */
	m.payload_len = len - 1;
	trace_dec_init(&d, &m);
	while (trace_dec_next(&d, &got) > 0)
		;
	assert_int_equal(trace_dec_next(&d, &got), -1);
	m.payload_len = len;
	m.n = n + 1;
	trace_dec_init(&d, &m);
	while (trace_dec_next(&d, &got) > 0)
		;
	assert_int_equal(trace_dec_next(&d, &got), -1);
	memset(buf, 0xff, len); /* varints that never end */
	m.n = n;
	trace_dec_init(&d, &m);
	assert_int_equal(trace_dec_next(&d, &got), -1);
	wg_free(buf);
	free(r);
}

static void test_big_sort(void **st)
{
	size_t n = (1u << 20) + 12345;
	struct trace_rec *r = malloc(n * sizeof(*r));
	uint64_t before = 0, after = 0;
	(void)st;
	assert_non_null(r);
	for (size_t i = 0; i < n; i++) {
		r[i] = (struct trace_rec){ rnd(50), rnd(300), 27000000 + rnd(20000), (uint16_t)rnd(3), 0 };
		before += r[i].person * 31u + r[i].place * 7u + r[i].t_min + r[i].dur;
	}
	trace_recs_sort(r, n);
	assert_true(trace_recs_sorted(r, n));
	for (size_t i = 0; i < n; i++)
		after += r[i].person * 31u + r[i].place * 7u + r[i].t_min + r[i].dur;
	assert_int_equal(before, after);
	free(r);
}

static void test_rank_sort(void **st)
{
	size_t sizes[] = { 10, 70, 5000 };
	(void)st;
	for (int z = 0; z < 3; z++) {
		size_t n = sizes[z];
		struct tq_key *k = malloc(n * sizeof(*k));
		uint64_t sum = 0, sum2 = 0;
		assert_non_null(k);
		for (size_t i = 0; i < n; i++) {
			uint64_t total = z == 2 && i == 7 ? 3000000000u : rnd(500);
			k[i].hi = (UINT32_MAX - total) << 32 | (UINT32_MAX - rnd(100));
			k[i].lo = rnd(1000000);
			k[i].idx = (uint32_t)i;
			sum += k[i].hi ^ k[i].lo;
		}
		tq_sort_keys(k, n);
		for (size_t i = 0; i < n; i++) {
			sum2 += k[i].hi ^ k[i].lo;
			if (i)
				assert_true(k[i - 1].hi < k[i].hi || (k[i - 1].hi == k[i].hi && k[i - 1].lo <= k[i].lo));
		}
		assert_int_equal(sum, sum2);
		/* without a huge total: the radix path */
		for (size_t i = 0; i < n; i++)
			k[i].hi = (UINT32_MAX - (uint64_t)rnd(700)) << 32 | (UINT32_MAX - rnd(50));
		tq_sort_keys(k, n);
		for (size_t i = 1; i < n; i++)
			assert_true(k[i - 1].hi < k[i].hi || (k[i - 1].hi == k[i].hi && k[i - 1].lo <= k[i].lo));
		free(k);
	}
}

/* ---- loaders -------------------------------------------------------------- */

static int parse_csv(const char *text, struct trace_diag *d, size_t *n)
{
	struct trace_params p;
	struct trace_rec *r = NULL;
	int rc;
	trace_params_default(&p);
	memset(d, 0, sizeof(*d));
	rc = trace_parse_csv(text, strlen(text), TRACE_SCAN, &p, NOW, &r, n, d);
	wg_free(r);
	return rc;
}

static void test_csv_errors(void **st)
{
	struct trace_diag d;
	size_t n;
	char buf[256];
	(void)st;
	snprintf(buf, sizeof(buf), "person,venue,t_in,t_out\n1,2,%lld,%lld\r\n\n3,4,%lld,%lld",
		 NOW - 600, NOW - 60, NOW - 600, NOW - 60);
	assert_int_equal(parse_csv(buf, &d, &n), TRACE_OK);
	assert_int_equal(n, 2);
	snprintf(buf, sizeof(buf), "1,2,%lld,%lld\n1,2,%lld,%lld\n", NOW - 600, NOW - 60, NOW - 60, NOW - 600);
	assert_int_equal(parse_csv(buf, &d, &n), TRACE_ERR_TIME_ORDER);
	assert_int_equal(d.row, 2);
	snprintf(buf, sizeof(buf), "1,2,%lld,%lld\n", NOW - 600, NOW + 600);
	assert_int_equal(parse_csv(buf, &d, &n), TRACE_ERR_FUTURE);
	assert_int_equal(d.row, 1);
	snprintf(buf, sizeof(buf), "1,2,%lld,%lld\n", NOW - 3 * 3600, NOW - 60);
	assert_int_equal(parse_csv(buf, &d, &n), TRACE_ERR_TOO_LONG);
	snprintf(buf, sizeof(buf), "1,2,%lld,%lld\n1,2,%lld\n", NOW - 600, NOW - 60, NOW - 600);
	assert_int_equal(parse_csv(buf, &d, &n), TRACE_ERR_COLUMNS);
	assert_int_equal(d.row, 2);
	assert_int_equal(parse_csv("1,2,3,4,5\n", &d, &n), TRACE_ERR_COLUMNS);
	assert_int_equal(parse_csv("1,x,3,4\n", &d, &n), TRACE_ERR_NUMBER);
	assert_string_equal(d.what, "venue");
	assert_int_equal(parse_csv("1,2,-5,4\n", &d, &n), TRACE_ERR_TIME_RANGE);
	assert_int_equal(parse_csv("\"1\",2,3,4\n", &d, &n), TRACE_ERR_NUMBER);
}

static void test_csv_big_split(void **st)
{
	/* large enough for the two-thread split; an error in the second half
	 * still names the right row */
	size_t rows = 400000, cap = rows * 40, len = 0, n = 0;
	char *text = malloc(cap);
	struct trace_params p;
	struct trace_rec *r = NULL;
	struct trace_diag d;
	(void)st;
	assert_non_null(text);
	for (size_t i = 0; i < rows; i++)
		len += (size_t)snprintf(text + len, cap - len, "%zu,%zu,%lld,%lld\n", i % 1000, i % 77,
					NOW - 7200 + (long long)(i % 60) * 60, NOW - 3600);
	trace_params_default(&p);
	assert_int_equal(trace_parse_csv(text, len, TRACE_SCAN, &p, NOW, &r, &n, &d), TRACE_OK);
	assert_int_equal(n, rows);
	assert_int_equal(r[rows - 1].person, (rows - 1) % 1000);
	wg_free(r);
	/* break row 300001 */
	{
		size_t line = 0, pos = 0;
		while (line < 300000) {
			if (text[pos++] == '\n')
				line++;
		}
		text[pos] = 'z';
	}
	assert_int_equal(trace_parse_csv(text, len, TRACE_SCAN, &p, NOW, &r, &n, &d), TRACE_ERR_NUMBER);
	assert_int_equal(d.row, 300001);
	assert_null(r);
	free(text);
}

/* CSV rows in random order, with repeats: persons 1..np, venues 1..nv. */
static char *random_csv(size_t rows, uint32_t np, uint32_t nv, size_t *len)
{
	size_t cap = rows * 48 + 64;
	char *text = malloc(cap);
	assert_non_null(text);
	*len = (size_t)snprintf(text, cap, "person,venue,t_in,t_out\n");
	for (size_t i = 0; i < rows; i++) {
		long long in = T0 + (long long)rnd(3 * 1440) * 60 + (rnd(4) == 0 ? rnd(60) : 0);
		long long out = in + (long long)rnd(121) * 60;
		*len += (size_t)snprintf(text + *len, cap - *len, "%u,%u,%lld,%lld\n", 1 + rnd(np),
					 1 + rnd(nv), in, out);
	}
	return text;
}

/* The bytes of the one segment of a kind in dir (malloc), or NULL. */
static uint8_t *read_seg(const char *dir, uint64_t seq, size_t *len)
{
	char path[4096];
	struct stat stt;
	uint8_t *buf;
	FILE *f;
	snprintf(path, sizeof(path), "%s/scan-%016llx.seg", dir, (unsigned long long)seq);
	if (stat(path, &stt) != 0 || !(f = fopen(path, "rb")))
		return NULL;
	buf = malloc((size_t)stt.st_size + 1);
	assert_non_null(buf);
	*len = fread(buf, 1, (size_t)stt.st_size, f);
	fclose(f);
	return buf;
}

/* Loads text both ways -- trace_parse_csv + trace_store_append into a, and
 * trace_store_load_csv into b -- and checks they store the same bytes. */
static void load_both(trace_store *a, trace_store *b, const char *da, const char *db,
		      const char *text, size_t len, uint64_t seq)
{
	struct trace_params p;
	struct trace_rec *r = NULL;
	struct trace_diag d;
	size_t n = 0, read = 0, added_a = 0, added_b = 0, la = 0, lb = 0;
	uint8_t *sa, *sb;

	trace_params_default(&p);
	assert_int_equal(trace_parse_csv(text, len, TRACE_SCAN, &p, NOW, &r, &n, &d), TRACE_OK);
	assert_int_equal(trace_store_append(a, TRACE_SCAN, r, n, NOW, &added_a, &d), TRACE_OK);
	wg_free(r);
	assert_int_equal(trace_store_load_csv(b, TRACE_SCAN, text, len, NOW, &read, &added_b, &d), TRACE_OK);
	assert_int_equal(read, n);
	assert_int_equal(added_b, added_a);
	sa = read_seg(da, seq, &la);
	sb = read_seg(db, seq, &lb);
	assert_true((sa == NULL) == (sb == NULL));
	if (sa) {
		assert_int_equal(la, lb);
		assert_memory_equal(sa, sb, la);
	}
	free(sa);
	free(sb);
}

static void test_load_csv(void **st)
{
	char *da = tmp_dir(), *db = tmp_dir(), *big, *small, *tiny, bad[128];
	trace_store *a = open_at(da), *b = open_at(db);
	size_t lbig, lsmall, ltiny, read = 9, added = 9, before;
	struct trace_diag d;
	(void)st;
	big = random_csv(400000, 3000, 50, &lbig);   /* two threads, radix sorts */
	small = random_csv(3000, 300, 20, &lsmall);
	tiny = random_csv(40, 10, 3, &ltiny);       /* sorted in place, no scratch */
	load_both(a, b, da, db, tiny, ltiny, 1);
	load_both(a, b, da, db, big, lbig, 2);
	load_both(a, b, da, db, big, lbig, 3);       /* all stored already: no segment */
	load_both(a, b, da, db, small, lsmall, 3);   /* some new, some stored */
	load_both(a, b, da, db, "", 0, 4);
	/* a bad row: precise error, nothing stored */
	before = trace_store_count(b, TRACE_SCAN);
	snprintf(bad, sizeof(bad), "1,2,%lld,%lld\n1,2,%lld,%lld\n", NOW - 600, NOW - 60, NOW - 60,
		 NOW + 600);
	assert_int_equal(trace_store_load_csv(b, TRACE_SCAN, bad, strlen(bad), NOW, &read, &added, &d),
			 TRACE_ERR_FUTURE);
	assert_int_equal(d.row, 2);
	assert_int_equal(added, 0);
	assert_int_equal(trace_store_count(b, TRACE_SCAN), before);
	big[lbig / 2 + 40] = 'x';
	assert_int_equal(trace_store_load_csv(b, TRACE_SCAN, big, lbig, NOW, &read, &added, &d),
			 TRACE_ERR_NUMBER);
	assert_int_equal(trace_store_count(b, TRACE_SCAN), before);
	assert_int_equal(trace_store_load_csv(b, (enum trace_kind)7, small, lsmall, NOW, &read, &added, &d),
			 TRACE_ERR_PARAM);
	trace_store_close(a);
	trace_store_close(b);
	/* every allocation failure unwinds, and leaves the store whole */
	for (uint64_t nth = 1; nth < 5000; nth++) {
		wg_mem_fail_at(nth);
		b = NULL;
		if (trace_store_open(db, NULL, &b, &d) == TRACE_OK) {
			(void)trace_store_load_csv(b, TRACE_SCAN, small, lsmall, NOW, &read, &added, &d);
			trace_store_close(b);
		}
		bool fired = wg_mem_failure_fired();
		wg_mem_fail_at(0);
		if (!fired)
			break;
	}
	b = open_at(db);
	assert_int_equal(trace_store_count(b, TRACE_SCAN), before);
	trace_store_close(b);
	rm_tree(da);
	rm_tree(db);
	free(da);
	free(db);
	free(big);
	free(small);
	free(tiny);
}

/* Numbers of every length (1 to 10 digits, leading zeros) parse to the
 * values trace_rec_make is given, whichever way the row is read. */
static void test_csv_numbers(void **st)
{
	size_t rows = 5000, cap = rows * 64, len = 0, n = 0;
	char *text = malloc(cap);
	struct trace_rec *want = malloc(rows * sizeof(*want)), *r = NULL;
	struct trace_params p;
	struct trace_diag d;
	(void)st;
	assert_non_null(text);
	assert_non_null(want);
	trace_params_default(&p);
	for (size_t i = 0; i < rows; i++) {
		uint32_t person = (uint32_t)(((uint64_t)rnd(1u << 31) << 1 | (i & 1)) >> rnd(32));
		uint32_t venue = i == 0 ? UINT32_MAX : rnd(1u << 30) >> rnd(31);
		long long in = NOW - 7200 + rnd(3600), out = in + rnd(3600);
		len += (size_t)snprintf(text + len, cap - len, i % 7 ? "%u,%u,%lld,%lld\n"
					: "%u,00%u,%lld,%lld\r\n", person, venue, in, out);
		want[i] = rec(person, venue, in, out);
	}
	assert_int_equal(trace_parse_csv(text, len, TRACE_SCAN, &p, NOW, &r, &n, &d), TRACE_OK);
	assert_int_equal(n, rows);
	assert_memory_equal(r, want, rows * sizeof(*r));
	wg_free(r);
	free(text);
	free(want);
}

static void test_cells_csv(void **st)
{
	struct trace_params p;
	struct trace_rec *r = NULL;
	struct trace_diag d;
	size_t n;
	char buf[256];
	(void)st;
	trace_params_default(&p);
	snprintf(buf, sizeof(buf), "1,32.0601,118.79,%lld,%lld\n2,32.06,118.7901,%lld,%lld\n",
		 NOW - 600, NOW - 60, NOW - 600, NOW - 60);
	assert_int_equal(trace_parse_csv(buf, strlen(buf), TRACE_CELL, &p, NOW, &r, &n, &d), TRACE_OK);
	assert_int_equal(n, 2);
	assert_int_equal(r[0].place, r[1].place);
	wg_free(r);
	snprintf(buf, sizeof(buf), "1,95.5,118.79,%lld,%lld\n", NOW - 600, NOW - 60);
	assert_int_equal(trace_parse_csv(buf, strlen(buf), TRACE_CELL, &p, NOW, &r, &n, &d), TRACE_ERR_COORD);
	snprintf(buf, sizeof(buf), "1,3x.5,118.79,%lld,%lld\n", NOW - 600, NOW - 60);
	assert_int_equal(trace_parse_csv(buf, strlen(buf), TRACE_CELL, &p, NOW, &r, &n, &d), TRACE_ERR_NUMBER);
	assert_string_equal(d.what, "lat");
	snprintf(buf, sizeof(buf), "1,5.5,10.79,%lld,%lld\n", NOW - 600, NOW - 60);
	assert_int_equal(trace_parse_csv(buf, strlen(buf), TRACE_CELL, &p, NOW, &r, &n, &d), TRACE_ERR_COORD);
}

static void test_binary(void **st)
{
	struct trace_rec r[3] = {
		rec(1, 2, NOW - 600, NOW - 60), rec(2, 2, NOW - 700, NOW - 100), rec(3, 4, NOW - 900, NOW - 800),
	};
	uint8_t file[64 + sizeof(r)];
	struct trace_params p;
	struct trace_rec *out = NULL;
	struct trace_diag d;
	enum trace_kind kind;
	size_t n;
	(void)st;
	trace_params_default(&p);
	trace_bin_header(file, TRACE_SCAN, r, 3, false);
	memcpy(file + 64, r, sizeof(r));
	assert_int_equal(trace_parse_bin(file, sizeof(file), &kind, &p, NOW, &out, &n, &d), TRACE_OK);
	assert_int_equal(n, 3);
	assert_int_equal(kind, TRACE_SCAN);
	assert_memory_equal(out, r, sizeof(r));
	wg_free(out);
	assert_int_equal(trace_parse_bin(file, sizeof(file) - 1, &kind, &p, NOW, &out, &n, &d), TRACE_ERR_TRUNCATED);
	assert_int_equal(trace_parse_bin(file, 30, &kind, &p, NOW, &out, &n, &d), TRACE_ERR_TRUNCATED);
	file[64 + 20] ^= 1;
	assert_int_equal(trace_parse_bin(file, sizeof(file), &kind, &p, NOW, &out, &n, &d), TRACE_ERR_CORRUPT);
	file[64 + 20] ^= 1;
	file[3] = 'x';
	assert_int_equal(trace_parse_bin(file, sizeof(file), &kind, &p, NOW, &out, &n, &d), TRACE_ERR_FORMAT);
	file[3] = 'R';
	/* a valid checksum over an invalid record: named by offset */
	r[1].dur = 5000;
	trace_bin_header(file, TRACE_SCAN, r, 3, false);
	memcpy(file + 64, r, sizeof(r));
	assert_int_equal(trace_parse_bin(file, sizeof(file), &kind, &p, NOW, &out, &n, &d), TRACE_ERR_TOO_LONG);
	assert_int_equal(d.offset, 64 + 16);
}

/* ---- the index file of one-shot stores ----------------------------------- */

static void same_result(const struct trace_result *a, const struct trace_result *b)
{
	assert_int_equal(a->n, b->n);
	if (a->n)
		assert_memory_equal(a->hits, b->hits, a->n * sizeof(*a->hits));
}

/* Close, secondary (both rules) and batch answers of a one-shot store equal
 * those of a long-running one; returns the one-shot store's index state. */
static int check_one_shot(const char *dir, uint32_t who)
{
	trace_store *full = open_at(dir), *one = open_at(dir);
	struct trace_case cases[3] = { { who, T0 + 2 * DAY }, { who + 1, T0 + 3 * DAY }, { 2, T0 + DAY } };
	struct trace_rule rule;
	int state;

	trace_store_one_shot(one);
	trace_rule_default(&rule);
	rule.lookback_days = 2;
	for (int q = 0; q < 4; q++) {
		struct trace_result a = { NULL, 0 }, b = { NULL, 0 };
		rule.mode = q == 2 ? TRACE_WHOLE_WINDOW : TRACE_TIME_ORDERED;
		if (q == 0) {
			assert_int_equal(trace_close_contacts(one, who, T0 + 2 * DAY, &rule, &a), TRACE_OK);
			assert_int_equal(trace_close_contacts(full, who, T0 + 2 * DAY, &rule, &b), TRACE_OK);
		} else if (q < 3) {
			assert_int_equal(trace_secondary_contacts(one, who, T0 + 2 * DAY, &rule, &a), TRACE_OK);
			assert_int_equal(trace_secondary_contacts(full, who, T0 + 2 * DAY, &rule, &b), TRACE_OK);
		} else {
			assert_int_equal(trace_batch_close(one, cases, 3, &rule, &a, NULL), TRACE_OK);
			assert_int_equal(trace_batch_close(full, cases, 3, &rule, &b, NULL), TRACE_OK);
		}
		assert_true(b.n > 0);
		same_result(&a, &b);
		trace_result_free(&a);
		trace_result_free(&b);
	}
	assert_int_equal(trace_close_contacts(one, 999999, T0, &rule, &(struct trace_result){ NULL, 0 }),
			 TRACE_ERR_UNKNOWN_PERSON);
	state = trace_store_index_state(one, TRACE_SCAN);
	assert_int_equal(trace_store_index_state(one, TRACE_CELL), TRACE_INDEX_UNTRIED);
	trace_store_close(one);
	trace_store_close(full);
	return state;
}

/* Overwrites `len` bytes at `off` of the scan index file (off < 0: from the
 * end), or truncates it to `off` bytes when len == 0. */
static void damage_index(const char *dir, long off, size_t len)
{
	char path[512];
	struct stat st;
	int fd;

	snprintf(path, sizeof(path), "%s/scan.idx", dir);
	fd = open(path, O_RDWR);
	assert_true(fd >= 0);
	assert_int_equal(fstat(fd, &st), 0);
	if (len == 0) {
		assert_int_equal(ftruncate(fd, off), 0);
	} else {
		uint8_t junk[16];
		memset(junk, 0x5a, sizeof(junk));
		assert_true(len <= sizeof(junk));
		assert_int_equal(pwrite(fd, junk, len, off < 0 ? st.st_size + off : off), (ssize_t)len);
	}
	close(fd);
}

static void test_index_file(void **st)
{
	const uint32_t np = 60, nv = 5;
	size_t n = 1500, n2 = 300;
	struct trace_rec *r = gen(&n, np, nv, 3, 120), *more = gen(&n2, np + 20, nv + 2, 3, 120);
	char *dir = tmp_dir(), path[512];
	trace_store *s = open_at(dir);
	struct stat sb;

	(void)st;
	append(s, TRACE_SCAN, r, n, n);
	trace_store_close(s);
	snprintf(path, sizeof(path), "%s/scan.idx", dir);
	assert_int_not_equal(stat(path, &sb), 0);              /* written by one-shot stores only */
	assert_int_equal(check_one_shot(dir, 7), TRACE_INDEX_REBUILT); /* none yet: built, saved */
	assert_int_equal(stat(path, &sb), 0);
	assert_true((size_t)sb.st_size < 128 + n * 10 + (np + 1) * 4 + (nv + 1) * 8 + 64);
	assert_int_equal(check_one_shot(dir, 7), TRACE_INDEX_USED);

	/* new segments make it stale */
	s = open_at(dir);
	for (size_t i = 0; i < n2; i++)
		more[i].person += 10;
	append(s, TRACE_SCAN, more, n2, n2);
	trace_store_close(s);
	assert_int_equal(check_one_shot(dir, 7), TRACE_INDEX_REBUILT);
	assert_int_equal(check_one_shot(dir, 7), TRACE_INDEX_USED);

	/* a damaged payload, header, or a truncated file: never used, rebuilt */
	damage_index(dir, -6, 4);
	assert_int_equal(check_one_shot(dir, 7), TRACE_ERR_CORRUPT);
	assert_int_equal(check_one_shot(dir, 7), TRACE_INDEX_USED);
	damage_index(dir, 20, 2);
	assert_int_equal(check_one_shot(dir, 7), TRACE_ERR_CORRUPT);
	damage_index(dir, 0, 3);
	assert_int_equal(check_one_shot(dir, 7), TRACE_ERR_FORMAT);
	damage_index(dir, 500, 0);
	assert_int_equal(check_one_shot(dir, 7), TRACE_ERR_TRUNCATED);
	damage_index(dir, 60, 0);
	assert_int_equal(check_one_shot(dir, 7), TRACE_ERR_TRUNCATED);
	assert_int_equal(check_one_shot(dir, 7), TRACE_INDEX_USED);

	/* expiry rewrites segments: stale again */
	s = open_at(dir);
	size_t removed = 0;
	assert_int_equal(trace_store_expire(s, T0 + 28 * DAY + DAY, &removed), TRACE_OK);
	assert_true(removed > 0);
	trace_store_close(s);
	{
		trace_store *one = open_at(dir);
		struct trace_rule rule;
		struct trace_result res = { NULL, 0 };
		trace_store_one_shot(one);
		trace_rule_default(&rule);
		(void)trace_close_contacts(one, 7, NOW, &rule, &res);
		assert_int_equal(trace_store_index_state(one, TRACE_SCAN), TRACE_INDEX_REBUILT);
		trace_result_free(&res);
		trace_store_close(one);
	}
	rm_tree(dir);
	free(dir);
	free(r);
	free(more);
}

static void test_append_rejects_whole_batch(void **st)
{
	struct trace_rec r[2] = { rec(1, 2, NOW - 600, NOW - 60), rec(2, 2, NOW - 700, NOW - 100) };
	char *dir = tmp_dir();
	trace_store *s = open_at(dir);
	struct trace_diag d;
	size_t added = 9;
	(void)st;
	r[1].t_min = (uint32_t)(NOW / 60 + 100); /* in the future */
	assert_int_equal(trace_store_append(s, TRACE_SCAN, r, 2, NOW, &added, &d), TRACE_ERR_FUTURE);
	assert_int_equal(d.row, 2);
	assert_int_equal(added, 0);
	assert_int_equal(trace_store_count(s, TRACE_SCAN), 0);
	trace_store_close(s);
	rm_tree(dir);
	free(dir);
}

/* Every allocation failure unwinds cleanly (ASan checks for leaks and bad
 * frees): the Nth allocation fails, for N = 1, 2, ... until none is left. */
static void test_alloc_failures(void **st)
{
	size_t n = 300, added;
	struct trace_rec *r = gen(&n, 40, 4, 3, 120);
	char *dir = tmp_dir();
	trace_store *s = open_at(dir);
	struct trace_rule rule;
	struct trace_case cases[2] = { { r[0].person, NOW }, { r[1].person, NOW } };
	(void)st;
	append(s, TRACE_SCAN, r, n / 2, n / 2);
	append(s, TRACE_CELL, r, n / 3, n / 3);
	trace_store_close(s);
	trace_rule_default(&rule);
	for (uint64_t nth = 1; nth < 5000; nth++) {
		struct trace_result res = { NULL, 0 };
		struct trace_diag d;
		struct trace_rec *copy = malloc(n * sizeof(*r));
		assert_non_null(copy);
		memcpy(copy, r, n * sizeof(*r));
		s = NULL;
		wg_mem_fail_at(nth);
		if (trace_store_open(dir, NULL, &s, &d) == TRACE_OK) {
			if (trace_store_append(s, TRACE_SCAN, copy, n, NOW, &added, &d) == TRACE_OK
			    && trace_close_contacts(s, r[0].person, NOW, &rule, &res) == TRACE_OK) {
				trace_result_free(&res);
				if (trace_secondary_contacts(s, r[0].person, NOW, &rule, &res) == TRACE_OK) {
					trace_result_free(&res);
					if (trace_companions(s, r[0].person, NOW, &rule, &res) == TRACE_OK) {
						trace_result_free(&res);
						struct trace_pairs pr;
						if (trace_batch_close(s, cases, 2, &rule, &res, NULL) == TRACE_OK)
							trace_result_free(&res);
						if (trace_batch_pairs(s, cases, 2, &rule, &pr, NULL) == TRACE_OK)
							trace_pairs_free(&pr);
					}
				}
			}
			trace_store_close(s);
		}
		free(copy);
		bool fired = wg_mem_failure_fired();
		wg_mem_fail_at(0);
		if (!fired)
			break;
	}
	/* the store is still whole */
	s = open_at(dir);
	assert_int_equal(trace_store_count(s, TRACE_CELL), n / 3);
	assert_true(trace_store_count(s, TRACE_SCAN) >= n / 2);
	trace_store_close(s);
	rm_tree(dir);
	free(dir);
	free(r);
}

/* ---- CLI ------------------------------------------------------------------ */

static int run(int argc, const char **argv)
{
	return trace_cmd(argc, (char **)argv);
}

static void test_cli(void **st)
{
	char *dir = tmp_dir(), csv[256], cases[256], data[256], now[32], onset[32], line[128];
	FILE *f;
	(void)st;
	snprintf(csv, sizeof(csv), "%s/scans.csv", dir);
	snprintf(cases, sizeof(cases), "%s/cases.csv", dir);
	snprintf(data, sizeof(data), "%s/data", dir);
	snprintf(now, sizeof(now), "%lld", NOW);
	snprintf(onset, sizeof(onset), "%lld", NOW - 3600);
	f = fopen(csv, "w");
	assert_non_null(f);
	fprintf(f, "person,venue,t_in,t_out\n1,7,%lld,%lld\n2,7,%lld,%lld\n3,7,%lld,%lld\n",
		NOW - 7200, NOW - 3600, NOW - 5000, NOW - 4000, NOW - 6000, NOW - 100);
	fclose(f);
	f = fopen(cases, "w");
	fprintf(f, "person,onset\n1,%lld\n2,%lld\n", NOW - 3600, NOW - 3600);
	fclose(f);
	{
		const char *a[] = { "trace", "--help" };
		assert_int_equal(run(2, a), 0);
	}
	{
		const char *a[] = { "trace", "close", "--help" };
		assert_int_equal(run(3, a), 0);
	}
	{
		const char *a[] = { "trace" };
		assert_int_equal(run(1, a), 2);
	}
	{
		const char *a[] = { "trace", "nonsense" };
		assert_int_equal(run(2, a), 2);
	}
	{
		const char *a[] = { "trace", "close", "--person", "x1", "--onset", "5", "--data", data };
		assert_int_equal(run(8, a), 2);
	}
	{
		const char *a[] = { "trace", "close", "--bogus" };
		assert_int_equal(run(3, a), 2);
	}
	{
		const char *a[] = { "trace", "load", csv, "--data", data, "--now", now };
		assert_int_equal(run(7, a), 0);
		assert_int_equal(run(7, a), 0); /* idempotent */
	}
	{
		const char *a[] = { "trace", "close", "--person", "1", "--onset", onset, "--data", data,
				    "--format", "json" };
		assert_int_equal(run(10, a), 0);
		a[9] = "csv";
		assert_int_equal(run(10, a), 0);
		a[9] = "table";
		assert_int_equal(run(10, a), 0);
		a[0] = "trace";
		a[1] = "secondary";
		assert_int_equal(run(10, a), 0);
		a[1] = "companions";
		assert_int_equal(run(10, a), 0);
		{
			const char *b[] = { "trace", "companions", "--person", "1", "--onset", onset, "--data", data,
					    "--comp-dwell", "exclude" };
			assert_int_equal(run(10, b), 0);
			b[9] = "require";
			assert_int_equal(run(10, b), 0);
			b[9] = "sometimes";
			assert_int_equal(run(10, b), 2);
		}
		a[1] = "close";
		a[3] = "99";
		assert_int_equal(run(10, a), 1); /* unknown person */
		a[9] = "xml";
		assert_int_equal(run(10, a), 2);
	}
	{
		const char *a[] = { "trace", "batch", "--cases", cases, "--data", data, "--format", "csv",
				    "--evidence" };
		assert_int_equal(run(8, a), 0);
		a[7] = "json";
		assert_int_equal(run(8, a), 0);
		a[7] = "table";
		assert_int_equal(run(8, a), 0);
		assert_int_equal(run(9, a), 0);
	}
	{
		/* the pairs as CSV, from a child whose output is a file */
		char out[300], buf[256];
		snprintf(out, sizeof(out), "%s/pairs.csv", dir);
		fflush(stdout);
		pid_t pid = fork();
		assert_true(pid >= 0);
		if (pid == 0) {
			const char *a[] = { "trace", "batch", "--cases", cases, "--data", data, "--format", "csv",
					    "--threads", "2" };
			int fd = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0600);
			if (fd < 0 || dup2(fd, STDOUT_FILENO) < 0)
				_exit(99);
			_exit(run(10, a));
		}
		int status = 0;
		assert_int_equal(waitpid(pid, &status, 0), pid);
		assert_true(WIFEXITED(status));
		assert_int_equal(WEXITSTATUS(status), 0);
		f = fopen(out, "r");
		assert_non_null(f);
		size_t got = fread(buf, 1, sizeof(buf) - 1, f);
		fclose(f);
		buf[got] = '\0';
		/* 1 met 2 and 3; 2 met 1 and 3 (10:20-10:46 and 10:20-11:58 UTC) */
		assert_string_equal(buf, "case,person\n1,2\n1,3\n2,1\n2,3\n");
	}
	{
		const char *a[] = { "trace", "stats", "--data", data };
		assert_int_equal(run(4, a), 0);
		const char *b[] = { "trace", "expire", "--data", data, "--now", now };
		assert_int_equal(run(6, b), 0);
	}
	/* a bad row: error, nothing stored */
	f = fopen(csv, "w");
	fprintf(f, "9,7,%lld,%lld\n9,7,%lld\n", NOW - 7200, NOW - 3600, NOW - 7200);
	fclose(f);
	{
		const char *a[] = { "trace", "load", csv, "--data", data, "--now", now };
		assert_int_equal(run(7, a), 1);
		const char *b[] = { "trace", "close", "--person", "9", "--onset", onset, "--data", data };
		assert_int_equal(run(8, b), 1);
	}
	/* refused into a data directory without a store: no store is left behind */
	{
		char fresh[300], store[320];
		struct stat sb;
		snprintf(fresh, sizeof(fresh), "%s/fresh", dir);
		snprintf(store, sizeof(store), "%s/trace", fresh);
		assert_int_equal(mkdir(fresh, 0700), 0);
		const char *a[] = { "trace", "load", csv, "--data", fresh, "--now", now };
		assert_int_equal(run(7, a), 1);
		assert_int_not_equal(stat(store, &sb), 0);
	}
	(void)line;
	rm_tree(dir);
	free(dir);
}

/* The pairs' writer: every width of number, each format, more pieces than
 * one (the formatters' order kept). */
static void test_pairs_output(void **st)
{
	static const uint32_t ids[] = { 0, 9, 10, 99, 100, 999, 1000, 65535, 1000000, 4294967295u };
	size_t n = 300000, bytes;
	struct trace_pair *pr = malloc(n * sizeof(*pr));
	struct trace_pairs p;
	char path[] = "/tmp/wg_pairs_XXXXXX";
	char *want = malloc(n * 24 + 64), *got = malloc(n * 24 + 64);
	size_t w = 0, k;
	int fd;

	(void)st;
	assert_non_null(pr);
	assert_non_null(want);
	assert_non_null(got);
	memset(&p, 0, sizeof(p));
	w += (size_t)snprintf(want + w, 16, "case,person\n");
	for (size_t i = 0; i < n; i++) {
		pr[i].source = ids[(i / 1000) % 10];
		pr[i].person = ids[i % 10] - (uint32_t)(i % 3 && ids[i % 10] ? 1 : 0);
		w += (size_t)snprintf(want + w, 32, "%u,%u\n", pr[i].source, pr[i].person);
	}
	p.pairs = pr;
	p.n = n;
	p.ncases = 10;
	for (int threads = 1; threads <= 3; threads += 2) {
		fd = mkstemp(path);
		assert_true(fd >= 0);
		assert_int_equal(cli_write_pairs(fd, CLI_CSV, &p, threads), TRACE_OK);
		assert_int_equal(lseek(fd, 0, SEEK_SET), 0);
		k = 0;
		while ((bytes = (size_t)read(fd, got + k, n * 24 + 64 - k)) > 0 && bytes != (size_t)-1)
			k += bytes;
		close(fd);
		unlink(path);
		memcpy(path + strlen(path) - 6, "XXXXXX", 6);
		assert_int_equal(k, w);
		assert_memory_equal(got, want, w);
	}
	for (enum cli_format f = CLI_TABLE; f <= CLI_JSON; f++) {
		fd = mkstemp(path);
		assert_true(fd >= 0);
		assert_int_equal(cli_write_pairs(fd, f, &p, 2), TRACE_OK);
		close(fd);
		unlink(path);
		memcpy(path + strlen(path) - 6, "XXXXXX", 6);
	}
	free(pr);
	free(want);
	free(got);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_random_default),
		cmocka_unit_test(test_random_nobuffer),
		cmocka_unit_test(test_random_minoverlap),
		cmocka_unit_test(test_random_big_minoverlap),
		cmocka_unit_test(test_random_batch),
		cmocka_unit_test(test_batch_many_cases),
		cmocka_unit_test(test_index_file),
		cmocka_unit_test(test_random_companions),
		cmocka_unit_test(test_edges),
		cmocka_unit_test(test_secondary_order),
		cmocka_unit_test(test_companion_long_dwell),
		cmocka_unit_test(test_cells),
		cmocka_unit_test(test_persistence_and_idempotence),
		cmocka_unit_test(test_two_writers),
		cmocka_unit_test(test_corruption),
		cmocka_unit_test(test_retention),
		cmocka_unit_test(test_packed_segments),
		cmocka_unit_test(test_big_sort),
		cmocka_unit_test(test_rank_sort),
		cmocka_unit_test(test_csv_errors),
		cmocka_unit_test(test_csv_big_split),
		cmocka_unit_test(test_load_csv),
		cmocka_unit_test(test_csv_numbers),
		cmocka_unit_test(test_cells_csv),
		cmocka_unit_test(test_binary),
		cmocka_unit_test(test_append_rejects_whole_batch),
		cmocka_unit_test(test_alloc_failures),
		cmocka_unit_test(test_cli),
		cmocka_unit_test(test_pairs_output),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
