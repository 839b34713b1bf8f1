/* Close contacts of many cases as distinct (case, contact) pairs, without
 * their evidence (trace_batch_pairs).
 *
 * A night's batch of a thousand cases, each looking back the whole window,
 * has millions of pairs; ranking each and carrying its strongest event in a
 * 64-byte row costs more than finding them. Here a case's contacts are
 * found by the same range lookups as trace_close_contacts and marked in a
 * bitmap of persons (one bit each, so a thread's marks stay in its cache),
 * and only the persons are kept: 4 bytes a pair while the threads work, 8
 * in the answer. Threads take cases one at a time from a shared counter and
 * append each case's contacts to their own list; the lists are gathered in
 * case order at the end, by both threads. The evidence and the ranking of a
 * case are computed when someone asks for that case's list
 * (trace_close_contacts with the case's onset: the same persons). */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "core/lib/mem.h"
#include "trace/trace_query.h"

/* ---- the cases of a batch ------------------------------------------------- */

static int case_cmp(const void *a, const void *b)
{
	const struct tq_case *x = a, *y = b;
	if (x->idx != y->idx)
		return x->idx < y->idx ? -1 : 1;
	return x->onset < y->onset ? -1 : x->onset > y->onset;
}

int tq_cases(const struct trace_table *t, const struct trace_case *cases, size_t n,
	     struct tq_case **out, size_t *nout, size_t *unknown)
{
	struct tq_case *c;
	size_t k = 0, w = 0, bytes;

	if (!wg_size_mul(n ? n : 1, sizeof(*c), &bytes) || !(c = wg_malloc(bytes)))
		return TRACE_ERR_NOMEM;
	for (size_t i = 0; i < n; i++) {
		uint32_t idx;
		if (!trace_table_person(t, cases[i].person, &idx)) {
			(*unknown)++;
			continue;
		}
		c[k++] = (struct tq_case){ idx, cases[i].onset };
	}
	qsort(c, k, sizeof(*c), case_cmp);
	for (size_t i = 0; i < k; i++) /* one case per person: the earliest onset */
		if (w == 0 || c[w - 1].idx != c[i].idx)
			c[w++] = c[i];
	*out = c;
	*nout = w;
	return TRACE_OK;
}

int tq_case_positions(trace_store *s, const struct tq_case *c, size_t nc)
{
	uint32_t *who;
	size_t bytes;
	int rc;

	if (s->tab[TRACE_SCAN].pos_all)
		return TRACE_OK;
	if (!wg_size_mul(nc ? nc : 1, sizeof(*who), &bytes) || !(who = wg_malloc(bytes)))
		return TRACE_ERR_NOMEM;
	for (size_t i = 0; i < nc; i++)
		who[i] = c[i].idx;
	rc = tq_positions(s, TRACE_SCAN, who, nc);
	wg_free(who);
	return rc;
}

/* ---- one case ------------------------------------------------------------- */

struct u32vec {
	uint32_t *v;
	size_t n, cap;
};

static int vec_reserve(struct u32vec *x, size_t more)
{
	size_t need, cap, bytes;
	uint32_t *v;

	if (!wg_size_add(x->n, more, &need))
		return TRACE_ERR_NOMEM;
	if (need <= x->cap)
		return TRACE_OK;
	cap = x->cap ? x->cap : 4096;
	while (cap < need)
		if (!wg_size_mul(cap, 2, &cap))
			return TRACE_ERR_NOMEM;
	if (!wg_size_mul(cap, sizeof(*v), &bytes) || !(v = wg_realloc(x->v, bytes)))
		return TRACE_ERR_NOMEM;
	x->v = v;
	x->cap = cap;
	return TRACE_OK;
}

/* Where a case's contacts are: in worker `thread`'s list from `at`. */
struct case_at {
	uint32_t thread;
	size_t at, n;
};

struct pairs_job {
	const struct trace_table *t;
	const struct trace_rule *r;
	const struct tq_case *cases;
	size_t ncases;
	struct case_at *where;
	pthread_mutex_t mu;
	size_t next;         /* next case to take, under mu */
	int rc;              /* first failure, under mu */
};

struct pairs_worker {
	struct pairs_job *job;
	uint32_t id;
	uint64_t *bits;      /* one bit a person: marked for the case at hand */
	struct u32vec found; /* the case at hand's contacts, in the order found */
	struct u32vec out;   /* every case's contacts, ascending per case */
	int rc;
};

static inline bool bit_test_set(uint64_t *b, uint32_t i)
{
	uint64_t m = (uint64_t)1 << (i & 63), w = b[i >> 6];
	b[i >> 6] = w | m;
	return (w & m) != 0;
}

/* Marks the contacts of case `who` (dense) and lists each once. The rule is
 * tq_collect's: stays of the case ending at or after the window start, and
 * min(b1, b2) - max(a1, a2) >= k for the other stay at the same place. */
static int mark_contacts(const struct tq *q, uint32_t who, uint64_t *bits, struct u32vec *found)
{
	const struct trace_table *t = q->t;

	for (uint32_t i = t->pers_off[who]; i < t->pers_off[who + 1]; i++) {
		uint32_t pos = t->p_pos[i];
		int64_t a1 = t->r_tin[pos], d1 = tq_dur(q, pos), b1 = a1 + d1;
		int64_t lo_t = a1 + q->k - q->maxd, hi_t = b1 - q->k;
		uint32_t v, j, end;

		if (b1 < q->W || (q->k > 0 && d1 < q->k))
			continue;
		v = trace_table_place_of(t, pos);
		end = t->place_off[v + 1];
		j = trace_table_lower(t, v, lo_t < 0 ? 0 : lo_t > UINT32_MAX ? UINT32_MAX : (uint32_t)lo_t);
		/* room for every record the scan can read: no check in the loop */
		if (vec_reserve(found, end - j))
			return TRACE_ERR_NOMEM;
		if (q->k <= 0) {
			/* a2 <= b1 - k holds in the loop; with k <= 0 the rest of the
			 * rule is b2 >= a1 + k */
			int64_t need = a1 + q->k;
			for (; j < end && t->r_tin[j] <= hi_t; j++) {
				uint32_t p = t->r_person[j];
				if ((int64_t)t->r_tin[j] + tq_dur(q, j) < need || bit_test_set(bits, p))
					continue;
				found->v[found->n++] = p;
			}
			continue;
		}
		for (; j < end && t->r_tin[j] <= hi_t; j++) {
			uint32_t p = t->r_person[j];
			int64_t a2 = t->r_tin[j], b2 = a2 + tq_dur(q, j);
			if ((b1 < b2 ? b1 : b2) - (a1 > a2 ? a1 : a2) < q->k || bit_test_set(bits, p))
				continue;
			found->v[found->n++] = p;
		}
	}
	return TRACE_OK;
}

static int u32_cmp(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	return x < y ? -1 : x > y;
}

/* Appends the marked persons to `out` in ascending order and clears the
 * marks: by reading the bitmap when many are marked, by sorting the list
 * when few are. */
static void take_marked(uint64_t *bits, size_t words, struct u32vec *found, struct u32vec *out)
{
	uint32_t *dst = out->v + out->n;

	if (found->n * 64 >= words) {
		for (size_t w = 0; w < words; w++) {
			uint64_t x = bits[w];
			if (!x)
				continue;
			bits[w] = 0;
			while (x) {
				*dst++ = (uint32_t)(w * 64 + (size_t)__builtin_ctzll(x));
				x &= x - 1;
			}
		}
	} else {
		qsort(found->v, found->n, sizeof(uint32_t), u32_cmp);
		for (size_t i = 0; i < found->n; i++) {
			bits[found->v[i] >> 6] = 0;
			*dst++ = found->v[i];
		}
	}
	out->n += found->n;
	found->n = 0;
}

static bool take_case(struct pairs_job *job, size_t *i)
{
	bool ok;
	pthread_mutex_lock(&job->mu);
	ok = !job->rc && job->next < job->ncases;
	if (ok)
		*i = job->next++;
	pthread_mutex_unlock(&job->mu);
	return ok;
}

static void *pairs_run(void *arg)
{
	struct pairs_worker *w = arg;
	struct pairs_job *job = w->job;
	size_t words = ((size_t)job->t->npers + 63) / 64, i;

	while (!w->rc && take_case(job, &i)) {
		const struct tq_case *c = &job->cases[i];
		struct tq q;
		tq_init(&q, job->t, job->r, c->onset, job->r->buffer_min, job->r->min_overlap_min);
		bit_test_set(w->bits, c->idx); /* never a contact of oneself */
		w->rc = mark_contacts(&q, c->idx, w->bits, &w->found);
		if (!w->rc)
			w->rc = vec_reserve(&w->out, w->found.n);
		w->bits[c->idx >> 6] &= ~((uint64_t)1 << (c->idx & 63));
		if (w->rc) {
			memset(w->bits, 0, words * sizeof(uint64_t));
			break;
		}
		job->where[i] = (struct case_at){ w->id, w->out.n, w->found.n };
		take_marked(w->bits, words, &w->found, &w->out);
	}
	if (w->rc) {
		pthread_mutex_lock(&job->mu);
		if (!job->rc)
			job->rc = w->rc;
		pthread_mutex_unlock(&job->mu);
	}
	return NULL;
}

/* ---- gathering ------------------------------------------------------------ */

struct gather {
	const struct pairs_job *job;
	const struct pairs_worker *w;
	struct trace_pairs *out;
	size_t from, to;     /* cases */
};

static void *gather_run(void *arg)
{
	struct gather *g = arg;
	const struct trace_table *t = g->job->t;

	for (size_t i = g->from; i < g->to; i++) {
		const struct case_at *a = &g->job->where[i];
		const uint32_t *src = g->w[a->thread].out.v + a->at;
		struct trace_pair *dst = g->out->pairs + g->out->first[i];
		uint32_t source = trace_table_person_id(t, g->job->cases[i].idx);
		for (size_t k = 0; k < a->n; k++) {
			dst[k].source = source;
			dst[k].person = trace_table_person_id(t, src[k]);
		}
	}
	return NULL;
}

/* Case offsets, the cases by id, and the pairs copied out by nt threads,
 * each a run of cases holding about as many pairs as the other's. */
static int gather_all(const struct pairs_job *job, const struct pairs_worker *w, int nt,
		      struct trace_pairs *out)
{
	const struct trace_table *t = job->t;
	struct gather g[2];
	pthread_t th;
	size_t total = 0, bytes, split = job->ncases;
	bool threaded = false;

	if (!wg_size_add(job->ncases, 1, &bytes) || !wg_size_mul(bytes, sizeof(size_t), &bytes)
	    || !(out->first = wg_malloc(bytes)))
		return TRACE_ERR_NOMEM;
	if (!wg_size_mul(job->ncases ? job->ncases : 1, sizeof(*out->cases), &bytes)
	    || !(out->cases = wg_malloc(bytes)))
		return TRACE_ERR_NOMEM;
	for (size_t i = 0; i < job->ncases; i++) {
		out->first[i] = total;
		total += job->where[i].n;
		out->cases[i].person = trace_table_person_id(t, job->cases[i].idx);
		out->cases[i].onset = job->cases[i].onset;
	}
	out->first[job->ncases] = total;
	out->ncases = job->ncases;
	if (!wg_size_mul(total ? total : 1, sizeof(*out->pairs), &bytes) || !(out->pairs = wg_malloc(bytes)))
		return TRACE_ERR_NOMEM;
	out->n = total;
	if (nt > 1)
		for (split = 0; split < job->ncases && out->first[split] < total / 2; split++)
			;
	g[0] = (struct gather){ job, w, out, 0, split };
	g[1] = (struct gather){ job, w, out, split, job->ncases };
	if (split < job->ncases)
		threaded = pthread_create(&th, NULL, gather_run, &g[1]) == 0;
	gather_run(&g[0]);
	if (threaded)
		pthread_join(th, NULL);
	else
		gather_run(&g[1]);
	return TRACE_OK;
}

void trace_pairs_free(struct trace_pairs *p)
{
	if (!p)
		return;
	wg_free(p->pairs);
	wg_free(p->cases);
	wg_free(p->first);
	memset(p, 0, sizeof(*p));
}

#define PAIRS_MAX_THREADS 64

static int pairs_threads(struct pairs_job *job, int nt, struct trace_pairs *out)
{
	struct pairs_worker w[PAIRS_MAX_THREADS];
	pthread_t th[PAIRS_MAX_THREADS];
	bool started[PAIRS_MAX_THREADS];
	size_t words = ((size_t)job->t->npers + 63) / 64;
	int rc = TRACE_OK;

	memset(w, 0, sizeof(w));
	memset(started, 0, sizeof(started));
	for (int i = 0; i < nt; i++) {
		w[i].job = job;
		w[i].id = (uint32_t)i;
		w[i].bits = wg_calloc(words ? words : 1, sizeof(uint64_t));
		if (!w[i].bits)
			rc = TRACE_ERR_NOMEM;
	}
	if (rc)
		goto out;
	for (int i = 1; i < nt; i++)
		started[i] = pthread_create(&th[i], NULL, pairs_run, &w[i]) == 0;
	pairs_run(&w[0]); /* a thread that could not be started leaves its cases to this one */
	for (int i = 1; i < nt; i++)
		if (started[i])
			pthread_join(th[i], NULL);
	rc = job->rc;
	if (!rc)
		rc = gather_all(job, w, nt, out);
out:
	for (int i = 0; i < nt; i++) {
		wg_free(w[i].bits);
		wg_free(w[i].found.v);
		wg_free(w[i].out.v);
	}
	return rc;
}

static int pairs_locked(trace_store *s, const struct trace_case *cases, size_t n,
			const struct trace_rule *r, struct trace_pairs *out, size_t *unknown);

int trace_batch_pairs(trace_store *s, const struct trace_case *cases, size_t n,
		      const struct trace_rule *r, struct trace_pairs *out, size_t *unknown)
{
	int rc;
	pthread_mutex_lock(&s->q_mu);
	rc = pairs_locked(s, cases, n, r, out, unknown);
	pthread_mutex_unlock(&s->q_mu);
	return rc;
}

static int pairs_locked(trace_store *s, const struct trace_case *cases, size_t n,
			const struct trace_rule *r, struct trace_pairs *out, size_t *unknown)
{
	struct trace_result none;
	struct pairs_job job;
	struct tq_case *c = NULL;
	size_t nc = 0, dummy = 0, bytes;
	int rc, nt;

	memset(out, 0, sizeof(*out));
	memset(&job, 0, sizeof(job));
	if (!unknown)
		unknown = &dummy;
	*unknown = 0;
	rc = tq_prepare(s, TRACE_SCAN, 0, &none);
	if (rc)
		return rc;
	rc = tq_cases(&s->tab[TRACE_SCAN], cases, n, &c, &nc, unknown);
	if (!rc)
		rc = tq_case_positions(s, c, nc);
	if (rc)
		goto out;
	job.t = &s->tab[TRACE_SCAN];
	job.r = r;
	job.cases = c;
	job.ncases = nc;
	rc = TRACE_ERR_NOMEM;
	if (!wg_size_mul(nc ? nc : 1, sizeof(*job.where), &bytes) || !(job.where = wg_calloc(1, bytes)))
		goto out;
	if (pthread_mutex_init(&job.mu, NULL) != 0)
		goto out;
	nt = trace_threads(r);
	if ((size_t)nt > nc)
		nt = nc ? (int)nc : 1;
	rc = pairs_threads(&job, nt, out);
	pthread_mutex_destroy(&job.mu);
out:
	if (rc)
		trace_pairs_free(out);
	wg_free(job.where);
	wg_free(c);
	return rc;
}
