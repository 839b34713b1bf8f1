/* Close contacts, companions and batches: range lookups on (place, t_in).
 *
 * Because no stored stay is longer than the table's maximum duration, every
 * stay that can meet [a1, b1] starts in [a1 + k - maxdur, b1 - k] where
 * k = min_overlap - buffer: one binary search and a short forward scan per
 * stay of the case. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/mem.h"
#include "trace/trace_query.h"

int trace_threads(const struct trace_rule *r)
{
	long n = r && r->threads > 0 ? r->threads : sysconf(_SC_NPROCESSORS_ONLN);
	if (n < 1)
		n = 1;
	if (n > 64)
		n = 64;
	return (int)n;
}

/* ---- accumulation map: dense person -> events ----------------------------- */

void tq_map_free(struct tq_map *m)
{
	wg_free(m->slots);
	memset(m, 0, sizeof(*m));
}

void tq_map_clear(struct tq_map *m)
{
	if (m->slots && m->n)
		for (size_t i = 0; i < m->cap; i++)
			m->slots[i].person = UINT32_MAX;
	m->n = 0;
}

static inline size_t slot_hash(uint32_t k, size_t mask)
{
	return (size_t)(k * 0x9E3779B1u) & mask;
}

static int map_grow(struct tq_map *m)
{
	size_t cap = m->cap ? m->cap * 2 : 256, bytes;
	struct tq_acc *s;

	if (!wg_size_mul(cap, sizeof(*s), &bytes) || !(s = wg_malloc(bytes)))
		return TRACE_ERR_NOMEM;
	for (size_t i = 0; i < cap; i++)
		s[i].person = UINT32_MAX;
	for (size_t i = 0; i < m->cap; i++) {
		if (m->slots[i].person == UINT32_MAX)
			continue;
		size_t j = slot_hash(m->slots[i].person, cap - 1);
		while (s[j].person != UINT32_MAX)
			j = (j + 1) & (cap - 1);
		s[j] = m->slots[i];
	}
	wg_free(m->slots);
	m->slots = s;
	m->cap = cap;
	return TRACE_OK;
}

static struct tq_acc *map_get(struct tq_map *m, uint32_t person, bool *fresh)
{
	size_t j;

	if ((m->n + 1) * 4 > m->cap * 3 && map_grow(m))
		return NULL;
	j = slot_hash(person, m->cap - 1);
	while (m->slots[j].person != UINT32_MAX) {
		if (m->slots[j].person == person) {
			*fresh = false;
			return &m->slots[j];
		}
		j = (j + 1) & (m->cap - 1);
	}
	m->n++;
	*fresh = true;
	m->slots[j].person = person;
	return &m->slots[j];
}

/* ---- the rule on one table ------------------------------------------------ */

void tq_init(struct tq *q, const struct trace_table *t, const struct trace_rule *r,
	     int64_t onset, uint32_t buffer, uint32_t min_overlap)
{
	q->t = t;
	q->cut = r->max_stay_min && r->max_stay_min < t->max_dur ? r->max_stay_min : t->max_dur;
	q->maxd = q->cut;
	q->B = buffer;
	q->k = (int64_t)min_overlap - (int64_t)buffer;
	q->onset = onset / 60;
	q->W = q->onset - (int64_t)r->lookback_days * 1440;
}

/* True when event e beats f (strongest first, then a fixed order). */
bool tq_better(const struct tq_event *e, const struct tq_event *f)
{
	if (e->overlap != f->overlap)
		return e->overlap > f->overlap;
	if (e->meet != f->meet)
		return e->meet < f->meet;
	if (e->place != f->place)
		return e->place < f->place;
	if (e->src_a != f->src_a)
		return e->src_a < f->src_a;
	if (e->src_b != f->src_b)
		return e->src_b < f->src_b;
	if (e->hit_a != f->hit_a)
		return e->hit_a < f->hit_a;
	return e->hit_b < f->hit_b;
}

/* All contact events of person `who` (dense) with stays ending at or after
 * q->W; with `dwell`, cells where either side dwelt too long are skipped. */
int tq_collect(const struct tq *q, uint32_t who, struct tq_map *m, const struct tq_dwell *dwell)
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
		if (dwell && tq_dwell_of(q, dwell, who, v) > dwell->limit)
			continue;
		end = t->place_off[v + 1];
		j = trace_table_lower(t, v, lo_t < 0 ? 0 : lo_t > UINT32_MAX ? UINT32_MAX : (uint32_t)lo_t);
		for (; j < end && t->r_tin[j] <= hi_t; j++) {
			uint32_t p = t->r_person[j];
			int64_t a2, b2, ov;
			struct tq_event e;
			struct tq_acc *acc;
			bool fresh;

			if (p == who)
				continue;
			a2 = t->r_tin[j];
			b2 = a2 + tq_dur(q, j);
			ov = (b1 < b2 ? b1 : b2) - (a1 > a2 ? a1 : a2);
			if (ov < q->k)
				continue;
			if (dwell && tq_dwell_of(q, dwell, p, v) > dwell->limit)
				continue;
			e = (struct tq_event){ v, pos, j, ov > 0 ? ov : 0, a1 > a2 ? a1 : a2, a1, b1, a2, b2 };
			acc = map_get(m, p, &fresh);
			if (!acc)
				return TRACE_ERR_NOMEM;
			if (fresh) {
				acc->events = 0;
				acc->total = 0;
				acc->first_meet = e.meet;
				acc->best = e;
			}
			acc->events++;
			acc->total += (uint64_t)e.overlap;
			if (e.meet < acc->first_meet)
				acc->first_meet = e.meet;
			if (!fresh && tq_better(&e, &acc->best))
				acc->best = e;
		}
	}
	return TRACE_OK;
}

/* Minutes person p (dense) spent in cell v inside the dwell window. */
int64_t tq_dwell_of(const struct tq *q, const struct tq_dwell *dw, uint32_t p, uint32_t v)
{
	const struct trace_table *t = q->t;
	int64_t sum = 0;

	for (uint32_t i = t->pers_off[p]; i < t->pers_off[p + 1]; i++) {
		uint32_t pos = t->p_pos[i];
		int64_t a, b;
		if (pos < t->place_off[v] || pos >= t->place_off[v + 1])
			continue;
		a = t->r_tin[pos];
		b = a + tq_dur(q, pos);
		if (a < dw->from)
			a = dw->from;
		if (b > dw->to)
			b = dw->to;
		if (b > a)
			sum += b - a;
	}
	return sum;
}

/* ---- results -------------------------------------------------------------- */

void tq_fill_hit(const struct tq *q, struct trace_hit *h, uint32_t person, uint32_t source,
		 const struct tq_event *e)
{
	const struct trace_table *t = q->t;
	h->person = t->pers_id[person];
	h->source = t->pers_id[source];
	h->place = t->place_id[e->place];
	h->src_in = e->src_a * 60;
	h->src_out = e->src_b * 60;
	h->hit_in = e->hit_a * 60;
	h->hit_out = e->hit_b * 60;
	h->overlap_min = (uint32_t)e->overlap;
	h->events = 1;
	h->total_overlap_min = (uint64_t)e->overlap;
}

static int hit_rank_cmp(const void *a, const void *b)
{
	const struct trace_hit *x = a, *y = b;
	if (x->total_overlap_min != y->total_overlap_min)
		return x->total_overlap_min > y->total_overlap_min ? -1 : 1;
	if (x->overlap_min != y->overlap_min)
		return x->overlap_min > y->overlap_min ? -1 : 1;
	if (x->source != y->source)
		return x->source < y->source ? -1 : 1;
	return x->person < y->person ? -1 : x->person > y->person;
}

void tq_rank(struct trace_hit *h, size_t n)
{
	qsort(h, n, sizeof(*h), hit_rank_cmp);
}

/* Turns the map into ranked hits appended to *out (allocated to fit). */
int tq_map_hits(const struct tq *q, const struct tq_map *m, uint32_t source,
		struct trace_hit **out, size_t *n)
{
	struct trace_hit *h;
	size_t bytes, k = 0;

	*out = NULL;
	*n = 0;
	if (m->n == 0)
		return TRACE_OK;
	if (!wg_size_mul(m->n, sizeof(*h), &bytes) || !(h = wg_malloc(bytes)))
		return TRACE_ERR_NOMEM;
	for (size_t i = 0; i < m->cap; i++) {
		const struct tq_acc *a = &m->slots[i];
		if (a->person == UINT32_MAX)
			continue;
		tq_fill_hit(q, &h[k], a->person, source, &a->best);
		h[k].events = a->events;
		h[k].total_overlap_min = a->total;
		k++;
	}
	tq_rank(h, k);
	*out = h;
	*n = k;
	return TRACE_OK;
}

int tq_prepare(trace_store *s, enum trace_kind kind, uint32_t person, struct trace_result *out)
{
	out->hits = NULL;
	out->n = 0;
	(void)kind;
	(void)person;
	return trace_store_build(s);
}

static int query_one(trace_store *s, enum trace_kind kind, uint32_t person, int64_t onset,
		     const struct trace_rule *r, struct trace_result *out)
{
	const struct trace_table *t;
	struct tq_map m;
	struct tq q;
	struct tq_dwell dw;
	uint32_t idx;
	int rc;

	rc = tq_prepare(s, kind, person, out);
	if (rc)
		return rc;
	t = &s->tab[kind];
	if (!trace_table_person(t, person, &idx)) {
		/* known through the other kind of record: no stays, empty answer */
		const struct trace_table *o = &s->tab[kind == TRACE_SCAN ? TRACE_CELL : TRACE_SCAN];
		uint32_t dummy;
		if (trace_table_person(o, person, &dummy))
			return TRACE_OK;
		return TRACE_ERR_UNKNOWN_PERSON;
	}
	memset(&m, 0, sizeof(m));
	if (kind == TRACE_SCAN) {
		tq_init(&q, t, r, onset, r->buffer_min, r->min_overlap_min);
		rc = tq_collect(&q, idx, &m, NULL);
	} else {
		tq_init(&q, t, r, onset, 0, r->comp_overlap_min + 1);
		dw.from = q.onset - (int64_t)r->comp_dwell_days * 1440;
		dw.to = q.onset;
		dw.limit = r->comp_dwell_limit_min;
		rc = tq_collect(&q, idx, &m, &dw);
	}
	if (!rc)
		rc = tq_map_hits(&q, &m, idx, &out->hits, &out->n);
	tq_map_free(&m);
	return rc;
}

int trace_close_contacts(trace_store *s, uint32_t person, int64_t onset,
			 const struct trace_rule *r, struct trace_result *out)
{
	return query_one(s, TRACE_SCAN, person, onset, r, out);
}

int trace_companions(trace_store *s, uint32_t person, int64_t onset,
		     const struct trace_rule *r, struct trace_result *out)
{
	return query_one(s, TRACE_CELL, person, onset, r, out);
}

/* ---- batch ---------------------------------------------------------------- */

struct batch_case {
	uint32_t idx;     /* dense person */
	int64_t  onset;
	size_t   off, n;  /* its hits in the worker's array */
	int      worker;
};

struct batch_worker {
	const struct trace_table *t;
	const struct trace_rule *r;
	struct batch_case *cases;
	size_t ncases, first, step;
	struct trace_hit *hits;
	size_t n, cap;
	int rc;
};

static int worker_push(struct batch_worker *w, const struct trace_hit *h, size_t n)
{
	if (n == 0)
		return TRACE_OK;
	if (w->n + n > w->cap) {
		size_t cap = w->cap ? w->cap : 1024, bytes;
		struct trace_hit *x;
		while (cap < w->n + n)
			cap *= 2;
		if (!wg_size_mul(cap, sizeof(*x), &bytes) || !(x = wg_realloc(w->hits, bytes)))
			return TRACE_ERR_NOMEM;
		w->hits = x;
		w->cap = cap;
	}
	memcpy(w->hits + w->n, h, n * sizeof(*h));
	w->n += n;
	return TRACE_OK;
}

static void *batch_run(void *arg)
{
	struct batch_worker *w = arg;
	struct tq_map m;

	memset(&m, 0, sizeof(m));
	for (size_t i = w->first; i < w->ncases && !w->rc; i += w->step) {
		struct batch_case *c = &w->cases[i];
		struct trace_hit *h = NULL;
		struct tq q;
		size_t n = 0;

		tq_init(&q, w->t, w->r, c->onset, w->r->buffer_min, w->r->min_overlap_min);
		tq_map_clear(&m);
		w->rc = tq_collect(&q, c->idx, &m, NULL);
		if (!w->rc)
			w->rc = tq_map_hits(&q, &m, c->idx, &h, &n);
		if (!w->rc) {
			c->off = w->n;
			c->n = n;
			w->rc = worker_push(w, h, n);
		}
		wg_free(h);
	}
	tq_map_free(&m);
	return NULL;
}

static int case_cmp(const void *a, const void *b)
{
	const struct batch_case *x = a, *y = b;
	if (x->idx != y->idx)
		return x->idx < y->idx ? -1 : 1;
	return x->onset < y->onset ? -1 : x->onset > y->onset;
}

static int batch_cases(const struct trace_table *t, const struct trace_case *cases, size_t n,
		       struct batch_case **out, size_t *nout, size_t *unknown)
{
	struct batch_case *c;
	size_t k = 0, w = 0, bytes;

	if (!wg_size_mul(n ? n : 1, sizeof(*c), &bytes) || !(c = wg_malloc(bytes)))
		return TRACE_ERR_NOMEM;
	for (size_t i = 0; i < n; i++) {
		uint32_t idx;
		if (!trace_table_person(t, cases[i].person, &idx)) {
			(*unknown)++;
			continue;
		}
		c[k++] = (struct batch_case){ idx, cases[i].onset, 0, 0, 0 };
	}
	qsort(c, k, sizeof(*c), case_cmp);
	for (size_t i = 0; i < k; i++) /* one case per person: the earliest onset */
		if (w == 0 || c[w - 1].idx != c[i].idx)
			c[w++] = c[i];
	*out = c;
	*nout = w;
	return TRACE_OK;
}

int trace_batch_close(trace_store *s, const struct trace_case *cases, size_t n,
		      const struct trace_rule *r, struct trace_result *out, size_t *unknown)
{
	struct batch_worker wk[64];
	pthread_t th[64];
	struct batch_case *c = NULL;
	size_t nc = 0, total = 0, dummy = 0, bytes;
	int nt, started = 0, rc;

	if (!unknown)
		unknown = &dummy;
	*unknown = 0;
	rc = tq_prepare(s, TRACE_SCAN, 0, out);
	if (rc)
		return rc;
	rc = batch_cases(&s->tab[TRACE_SCAN], cases, n, &c, &nc, unknown);
	if (rc)
		return rc;
	nt = trace_threads(r);
	if ((size_t)nt > nc)
		nt = nc ? (int)nc : 1;
	memset(wk, 0, sizeof(wk));
	for (int i = 0; i < nt; i++) {
		wk[i] = (struct batch_worker){ &s->tab[TRACE_SCAN], r, c, nc, (size_t)i, (size_t)nt,
					       NULL, 0, 0, 0 };
		for (size_t j = (size_t)i; j < nc; j += (size_t)nt)
			c[j].worker = i;
	}
	for (int i = 1; i < nt; i++) {
		if (pthread_create(&th[i], NULL, batch_run, &wk[i]) != 0)
			break;
		started = i;
	}
	for (int i = started + 1; i < nt; i++) /* threads that did not start: run here */
		batch_run(&wk[i]);
	batch_run(&wk[0]);
	for (int i = 1; i <= started; i++)
		pthread_join(th[i], NULL);
	rc = TRACE_OK;
	for (int i = 0; i < nt; i++) {
		if (wk[i].rc && !rc)
			rc = wk[i].rc;
		total += wk[i].n;
	}
	if (rc)
		goto out;
	rc = TRACE_ERR_NOMEM;
	if (total && (!wg_size_mul(total, sizeof(struct trace_hit), &bytes)
		      || !(out->hits = wg_malloc(bytes))))
		goto out;
	for (size_t i = 0; i < nc; i++) {
		if (c[i].n == 0)
			continue;
		memcpy(out->hits + out->n, wk[c[i].worker].hits + c[i].off, c[i].n * sizeof(struct trace_hit));
		out->n += c[i].n;
	}
	rc = TRACE_OK;
out:
	for (int i = 0; i < nt; i++)
		wg_free(wk[i].hits);
	wg_free(c);
	return rc;
}
