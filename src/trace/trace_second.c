/* Secondary contacts (次密接).
 *
 * Every stay of a close contact c that can pass the disease on becomes an
 * interval of the place's timeline: a stay s meets it when
 *   a_s <= hi = b_c - k   and   b_s >= lo = max(a_c + k, e_c - buffer)
 * (time-ordered; whole-window drops the e_c term). Intervals are sorted per
 * place and merged, and each place touched is swept once in t_in order, so
 * the work is one pass over the touched part of the store instead of a join.
 * A person is found at the first stay (place id, t_in, dur order) that meets
 * an interval; the evidence is the close-contact stay that overlaps that stay
 * most (ties: smaller person id, earlier stay). */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "core/lib/mem.h"
#include "trace/trace_query.h"

struct ival {
	uint32_t place;
	uint32_t cpos;     /* the close contact's stay */
	int64_t  lo, hi;
};

struct second {
	const struct tq *q;
	const struct trace_rule *r;
	uint64_t *excl;    /* case and close contacts */
	struct ival *iv;
	size_t niv, cap;
	struct trace_hit *hits;
	size_t nhits, caphits;
};

/* One thread's share of the sweep: a run of places, in order. */
struct sweeper {
	const struct second *x;
	size_t from, to;   /* intervals [from, to), whole places */
	uint64_t *found;
	struct ival *merged;
	struct trace_hit *hits;
	size_t nhits, caphits;
	int rc;
};

static inline bool bit_get(const uint64_t *b, uint32_t i) { return b[i >> 6] >> (i & 63) & 1; }
static inline void bit_set(uint64_t *b, uint32_t i) { b[i >> 6] |= (uint64_t)1 << (i & 63); }

static int push_ival(struct second *x, const struct ival *v)
{
	if (x->niv == x->cap) {
		size_t cap = x->cap ? x->cap * 2 : 4096, bytes;
		struct ival *n;
		if (!wg_size_mul(cap, sizeof(*n), &bytes) || !(n = wg_realloc(x->iv, bytes)))
			return TRACE_ERR_NOMEM;
		x->iv = n;
		x->cap = cap;
	}
	x->iv[x->niv++] = *v;
	return TRACE_OK;
}

static int push_hit(struct sweeper *x, const struct trace_hit *h)
{
	if (x->nhits == x->caphits) {
		size_t cap = x->caphits ? x->caphits * 2 : 4096, bytes;
		struct trace_hit *n;
		if (!wg_size_mul(cap, sizeof(*n), &bytes) || !(n = wg_realloc(x->hits, bytes)))
			return TRACE_ERR_NOMEM;
		x->hits = n;
		x->caphits = cap;
	}
	x->hits[x->nhits++] = *h;
	return TRACE_OK;
}

static int ival_cmp(const void *a, const void *b)
{
	const struct ival *x = a, *y = b;
	if (x->place != y->place)
		return x->place < y->place ? -1 : 1;
	if (x->lo != y->lo)
		return x->lo < y->lo ? -1 : 1;
	if (x->hi != y->hi)
		return x->hi < y->hi ? -1 : 1;
	return x->cpos < y->cpos ? -1 : x->cpos > y->cpos;
}

/* The intervals of one close contact's stays. */
static int contact_intervals(struct second *x, const struct tq_acc *c)
{
	const struct tq *q = x->q;
	const struct trace_table *t = q->t;
	bool ordered = x->r->mode == TRACE_TIME_ORDERED;

	for (uint32_t i = t->pers_off[c->person]; i < t->pers_off[c->person + 1]; i++) {
		uint32_t pos = t->p_pos[i];
		int64_t a = t->r_tin[pos], d = tq_dur(q, pos), b = a + d;
		struct ival v;
		if (q->k > 0 && d < q->k)
			continue;
		if (ordered ? b + q->B < c->first_meet : b < q->W)
			continue;
		v.place = trace_table_place_of(t, pos);
		v.cpos = pos;
		v.lo = a + q->k;
		if (ordered && c->first_meet - q->B > v.lo)
			v.lo = c->first_meet - q->B;
		v.hi = b - q->k;
		if (push_ival(x, &v))
			return TRACE_ERR_NOMEM;
	}
	return TRACE_OK;
}

/* Evidence: among the group's intervals that stay s meets, the best one. */
static void witness(const struct second *x, const struct ival *g, size_t ng, int64_t span,
		    int64_t a_s, int64_t b_s, const struct ival **best, int64_t *best_ov)
{
	const struct tq *q = x->q;
	const struct trace_table *t = q->t;
	size_t lo = 0, hi = ng;

	while (lo < hi) { /* first interval with lo > b_s */
		size_t mid = lo + (hi - lo) / 2;
		if (g[mid].lo <= b_s)
			lo = mid + 1;
		else
			hi = mid;
	}
	*best = NULL;
	for (size_t i = lo; i-- > 0;) {
		const struct ival *v = &g[i];
		int64_t a_c, b_c, ov;
		if (v->lo <= v->hi && v->lo < a_s - span)
			break;
		if (v->hi < a_s)
			continue;
		a_c = t->r_tin[v->cpos];
		b_c = a_c + tq_dur(q, v->cpos);
		ov = (b_c < b_s ? b_c : b_s) - (a_c > a_s ? a_c : a_s);
		if (ov < 0)
			ov = 0;
		if (*best) {
			const struct ival *w = *best;
			uint32_t pv = t->r_person[v->cpos], pw = t->r_person[w->cpos]; /* dense: same order */
			if (ov < *best_ov)
				continue;
			if (ov == *best_ov) {
				int64_t aw = t->r_tin[w->cpos], bw = aw + tq_dur(q, w->cpos);
				if (pv > pw || (pv == pw && (a_c > aw || (a_c == aw && b_c >= bw))))
					continue;
			}
		}
		*best = v;
		*best_ov = ov;
	}
}

/* Sweeps one place: the intervals g[0..ng) sorted by lo. Intervals with
 * lo > hi (possible with a minimum overlap) cannot be merged; they are kept
 * in the list and checked one by one. */
static int sweep_place(struct sweeper *w, const struct ival *g, size_t ng)
{
	const struct second *x = w->x;
	const struct tq *q = x->q;
	const struct trace_table *t = q->t;
	uint32_t v = g[0].place, end = t->place_off[v + 1], j;
	int64_t min_lo = INT64_MAX, max_hi = INT64_MIN, span = 0;
	size_t nm = 0, cur = 0, nodd = 0;

	for (size_t i = 0; i < ng; i++) {
		const struct ival *e = &g[i];
		if (e->lo < min_lo)
			min_lo = e->lo;
		if (e->hi > max_hi)
			max_hi = e->hi;
		if (e->lo > e->hi) {
			nodd++;
			continue;
		}
		if (e->hi - e->lo > span)
			span = e->hi - e->lo;
		if (nm > 0 && e->lo <= w->merged[nm - 1].hi) {
			if (e->hi > w->merged[nm - 1].hi)
				w->merged[nm - 1].hi = e->hi;
		} else {
			w->merged[nm++] = *e;
		}
	}
	min_lo -= q->maxd;
	j = trace_table_lower(t, v, min_lo < 0 ? 0 : min_lo > UINT32_MAX ? UINT32_MAX : (uint32_t)min_lo);
	for (; j < end && t->r_tin[j] <= max_hi; j++) {
		uint32_t p = t->r_person[j];
		int64_t a_s, b_s, d_s;
		bool hit = false;
		if (bit_get(x->excl, p) || bit_get(w->found, p))
			continue;
		d_s = tq_dur(q, j);
		if (q->k > 0 && d_s < q->k)
			continue;
		a_s = t->r_tin[j];
		b_s = a_s + d_s;
		while (cur < nm && w->merged[cur].hi < a_s)
			cur++;
		hit = cur < nm && w->merged[cur].lo <= b_s;
		for (size_t i = 0; !hit && nodd && i < ng; i++)
			hit = g[i].lo > g[i].hi && a_s <= g[i].hi && b_s >= g[i].lo;
		if (!hit)
			continue;
		{
			const struct ival *best = NULL;
			int64_t best_ov = 0;
			struct tq_event e;
			struct trace_hit h;
			witness(x, g, ng, span, a_s, b_s, &best, &best_ov);
			if (!best)
				return TRACE_ERR_FORMAT; /* cannot happen: the sweep found one */
			e.place = v;
			e.overlap = (uint32_t)best_ov;
			e.src_a = t->r_tin[best->cpos];
			e.src_b = (uint32_t)(e.src_a + tq_dur(q, best->cpos));
			e.hit_a = (uint32_t)a_s;
			e.hit_b = (uint32_t)b_s;
			tq_fill_hit(q, &h, p, t->r_person[best->cpos], &e);
			h.events = p; /* the dense person until the sweepers are merged */
			h.total_overlap_min = 0;
			bit_set(w->found, p);
			if (push_hit(w, &h))
				return TRACE_ERR_NOMEM;
		}
	}
	return TRACE_OK;
}

/* Ranks the hits by overlap, then person id. */
static int rank_hits(struct second *x)
{
	struct tq_key *k = NULL;
	struct trace_hit *h = NULL;
	size_t bytes;
	int rc = TRACE_ERR_NOMEM;

	if (x->nhits < 2)
		return TRACE_OK;
	if (!wg_size_mul(x->nhits, sizeof(*k), &bytes) || !(k = wg_malloc(bytes)))
		goto out;
	if (!wg_size_mul(x->nhits, sizeof(*h), &bytes) || !(h = wg_malloc(bytes)))
		goto out;
	for (size_t i = 0; i < x->nhits; i++) {
		k[i].hi = (uint64_t)UINT32_MAX << 32 | (UINT32_MAX - x->hits[i].overlap_min);
		k[i].lo = x->hits[i].person;
		k[i].idx = (uint32_t)i;
	}
	tq_sort_keys(k, x->nhits);
	for (size_t i = 0; i < x->nhits; i++)
		h[i] = x->hits[k[i].idx];
	wg_free(x->hits);
	x->hits = h;
	x->caphits = x->nhits;
	h = NULL;
	rc = TRACE_OK;
out:
	wg_free(k);
	wg_free(h);
	return rc;
}

static void *sweep_run(void *arg)
{
	struct sweeper *w = arg;
	const struct second *x = w->x;

	for (size_t i = w->from; i < w->to && !w->rc;) {
		size_t e = i + 1;
		while (e < w->to && x->iv[e].place == x->iv[i].place)
			e++;
		w->rc = sweep_place(w, x->iv + i, e - i);
		i = e;
	}
	return NULL;
}

static void sweeper_free(struct sweeper *w)
{
	wg_free(w->found);
	wg_free(w->merged);
	wg_free(w->hits);
}

/* Two sweepers take the lower and the upper places. A person found by both
 * keeps the lower one's hit: the first in place order, as one sweep would. */
static int sweep_all(struct second *x, const struct tq_map *close)
{
	struct sweeper w[2];
	size_t words = ((size_t)x->q->t->npers + 63) / 64, split, bytes;
	int nt = trace_threads(x->r) > 1 ? 2 : 1, rc;
	pthread_t th;
	bool threaded = false;

	memset(w, 0, sizeof(w));
	for (size_t i = 0; i < close->n; i++) {
		rc = contact_intervals(x, &close->vals[i]);
		if (rc)
			return rc;
	}
	if (x->niv == 0)
		return TRACE_OK;
	qsort(x->iv, x->niv, sizeof(*x->iv), ival_cmp);
	split = nt == 2 ? x->niv / 2 : x->niv;
	while (split < x->niv && split > 0 && x->iv[split].place == x->iv[split - 1].place)
		split++;
	rc = TRACE_ERR_NOMEM;
	for (int i = 0; i < 2; i++) {
		w[i].x = x;
		w[i].from = i ? split : 0;
		w[i].to = i ? x->niv : split;
		w[i].found = wg_calloc(words ? words : 1, sizeof(uint64_t));
		if (!w[i].found || !wg_size_mul(x->niv, sizeof(*w[i].merged), &bytes)
		    || !(w[i].merged = wg_malloc(bytes)))
			goto out;
	}
	if (w[1].from < w[1].to)
		threaded = pthread_create(&th, NULL, sweep_run, &w[1]) == 0;
	sweep_run(&w[0]);
	if (threaded)
		pthread_join(th, NULL);
	else
		sweep_run(&w[1]);
	rc = w[0].rc ? w[0].rc : w[1].rc;
	if (rc)
		goto out;
	x->hits = w[0].hits;
	x->nhits = w[0].nhits;
	x->caphits = w[0].caphits;
	w[0].hits = NULL;
	if (w[1].nhits) {
		size_t need = x->nhits + w[1].nhits;
		struct trace_hit *h;
		rc = TRACE_ERR_NOMEM;
		if (!wg_size_mul(need, sizeof(*h), &bytes) || !(h = wg_realloc(x->hits, bytes)))
			goto out;
		x->hits = h;
		x->caphits = need;
		for (size_t i = 0; i < w[1].nhits; i++)
			if (!bit_get(w[0].found, w[1].hits[i].events))
				x->hits[x->nhits++] = w[1].hits[i];
	}
	for (size_t i = 0; i < x->nhits; i++)
		x->hits[i].events = 0;
	rc = TRACE_OK;
out:
	sweeper_free(&w[0]);
	sweeper_free(&w[1]);
	return rc;
}

/* The stays of every close contact (a no-op where all positions are
 * indexed). */
static int close_positions(trace_store *s, const struct tq_map *close)
{
	uint32_t *who;
	size_t bytes;
	int rc;

	if (s->tab[TRACE_SCAN].pos_all || close->n == 0)
		return TRACE_OK;
	if (!wg_size_mul(close->n, sizeof(*who), &bytes) || !(who = wg_malloc(bytes)))
		return TRACE_ERR_NOMEM;
	for (size_t i = 0; i < close->n; i++)
		who[i] = close->vals[i].person;
	rc = tq_positions(s, TRACE_SCAN, who, close->n);
	wg_free(who);
	return rc;
}

static int secondary_locked(trace_store *s, uint32_t person, int64_t onset,
			    const struct trace_rule *r, struct trace_result *out);

int trace_secondary_contacts(trace_store *s, uint32_t person, int64_t onset,
			     const struct trace_rule *r, struct trace_result *out)
{
	int rc;
	pthread_mutex_lock(&s->q_mu);
	rc = secondary_locked(s, person, onset, r, out);
	pthread_mutex_unlock(&s->q_mu);
	return rc;
}

static int secondary_locked(trace_store *s, uint32_t person, int64_t onset,
			    const struct trace_rule *r, struct trace_result *out)
{
	const struct trace_table *t;
	struct second x;
	struct tq_map close;
	struct tq q;
	uint32_t idx, dummy;
	size_t words;
	int rc;

	rc = tq_prepare(s, TRACE_SCAN, person, out);
	if (rc)
		return rc;
	t = &s->tab[TRACE_SCAN];
	if (!trace_table_person(t, person, &idx))
		return trace_table_person(&s->tab[TRACE_CELL], person, &dummy)
			? TRACE_OK : TRACE_ERR_UNKNOWN_PERSON;
	memset(&x, 0, sizeof(x));
	memset(&close, 0, sizeof(close));
	rc = tq_positions(s, TRACE_SCAN, &idx, 1);
	if (rc)
		return rc;
	tq_init(&q, t, r, onset, r->buffer_min, r->min_overlap_min);
	x.q = &q;
	x.r = r;
	rc = tq_collect(&q, idx, &close, NULL);
	if (!rc)
		rc = close_positions(s, &close);
	if (rc)
		goto out;
	rc = TRACE_ERR_NOMEM;
	words = ((size_t)t->npers + 63) / 64;
	x.excl = wg_calloc(words ? words : 1, sizeof(uint64_t));
	if (!x.excl)
		goto out;
	bit_set(x.excl, idx);
	for (size_t i = 0; i < close.n; i++)
		bit_set(x.excl, close.vals[i].person);
	rc = sweep_all(&x, &close);
	if (rc)
		goto out;
	rc = rank_hits(&x);
	if (rc)
		goto out;
	out->hits = x.hits;
	out->n = x.nhits;
	x.hits = NULL;
out:
	tq_map_free(&close);
	wg_free(x.excl);
	wg_free(x.iv);
	wg_free(x.hits);
	return rc;
}
