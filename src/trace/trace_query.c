/* Close contacts, companions and batches: range lookups on (place, t_in).
 *
 * Because no stored stay is longer than the table's maximum duration, every
 * stay that can meet [a1, b1] starts in [a1 + k - maxdur, b1 - k] where
 * k = min_overlap - buffer: one binary search and a short forward scan per
 * stay of the case. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/lib/mem.h"
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
	wg_free(m->keys);
	wg_free(m->idx);
	wg_free(m->vals);
	memset(m, 0, sizeof(*m));
}

void tq_map_clear(struct tq_map *m)
{
	for (size_t i = 0; i < m->n; i++)
		m->keys[m->vals[i].slot] = UINT32_MAX;
	m->n = 0;
}

static inline size_t slot_hash(uint32_t k, size_t mask)
{
	return (size_t)((uint64_t)k * 0x9E3779B97F4A7C15ull >> 32) & mask;
}

static int map_grow(struct tq_map *m)
{
	size_t cap = m->cap ? m->cap * 2 : 1024, bytes;
	uint32_t *k, *x;

	if (!wg_size_mul(cap, sizeof(uint32_t), &bytes))
		return TRACE_ERR_NOMEM;
	k = wg_malloc(bytes);
	x = wg_malloc(bytes);
	if (!k || !x) {
		wg_free(k);
		wg_free(x);
		return TRACE_ERR_NOMEM;
	}
	memset(k, 0xff, bytes);
	for (size_t i = 0; i < m->n; i++) {
		size_t j = slot_hash(m->vals[i].person, cap - 1);
		while (k[j] != UINT32_MAX)
			j = (j + 1) & (cap - 1);
		k[j] = m->vals[i].person;
		x[j] = (uint32_t)i;
		m->vals[i].slot = (uint32_t)j;
	}
	wg_free(m->keys);
	wg_free(m->idx);
	m->keys = k;
	m->idx = x;
	m->cap = cap;
	return TRACE_OK;
}

static int vals_grow(struct tq_map *m)
{
	size_t cap = m->capv ? m->capv * 2 : 512, bytes;
	struct tq_acc *v;

	if (!wg_size_mul(cap, sizeof(*v), &bytes) || !(v = wg_realloc(m->vals, bytes)))
		return TRACE_ERR_NOMEM;
	m->vals = v;
	m->capv = cap;
	return TRACE_OK;
}

/* Open addressing, linear probing, the key table at most half full. */
static struct tq_acc *map_get(struct tq_map *m, uint32_t person, bool *fresh)
{
	size_t j;
	struct tq_acc *a;

	if ((m->n + 1) * 2 > m->cap && map_grow(m))
		return NULL;
	if (m->n == m->capv && vals_grow(m))
		return NULL;
	j = slot_hash(person, m->cap - 1);
	while (m->keys[j] != UINT32_MAX) {
		if (m->keys[j] == person) {
			*fresh = false;
			return &m->vals[m->idx[j]];
		}
		j = (j + 1) & (m->cap - 1);
	}
	m->keys[j] = person;
	m->idx[j] = (uint32_t)m->n;
	a = &m->vals[m->n++];
	a->person = person;
	a->slot = (uint32_t)j;
	*fresh = true;
	return a;
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

/* Whether a companion event in a cell counts, given the minutes the case
 * and the other person spent there in the dwell window. */
static inline bool dwell_counts(const struct tq_dwell *dw, int64_t case_min, int64_t other_min)
{
	bool long_dwell = case_min > dw->limit || other_min > dw->limit;
	return dw->require ? long_dwell : !long_dwell;
}

/* All contact events of person `who` (dense) with stays ending at or after
 * q->W; with `dwell`, the companion rule's long-dwell condition on the cell
 * is applied to each pair. */
int tq_collect(const struct tq *q, uint32_t who, struct tq_map *m, const struct tq_dwell *dwell)
{
	const struct trace_table *t = q->t;

	for (uint32_t i = t->pers_off[who]; i < t->pers_off[who + 1]; i++) {
		uint32_t pos = t->p_pos[i];
		int64_t a1 = t->r_tin[pos], d1 = tq_dur(q, pos), b1 = a1 + d1;
		int64_t lo_t = a1 + q->k - q->maxd, hi_t = b1 - q->k, case_dwell = 0;
		uint32_t v, j, end;

		if (b1 < q->W || (q->k > 0 && d1 < q->k))
			continue;
		v = trace_table_place_of(t, pos);
		if (dwell) {
			case_dwell = tq_dwell_of(q, dwell, who, v);
			/* excluded for every pair, whoever the other one is */
			if (!dwell->require && case_dwell > dwell->limit)
				continue;
		}
		end = t->place_off[v + 1];
		j = trace_table_lower(t, v, lo_t < 0 ? 0 : lo_t > UINT32_MAX ? UINT32_MAX : (uint32_t)lo_t);
		for (; j < end && t->r_tin[j] <= hi_t; j++) {
			uint32_t p = t->r_person[j];
			int64_t a2, b2, ov;
			uint32_t ovc, meet;
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
			if (dwell && !(dwell->require && case_dwell > dwell->limit)
			    && !dwell_counts(dwell, case_dwell, tq_dwell_of(q, dwell, p, v)))
				continue;
			ovc = ov > 0 ? (uint32_t)ov : 0;
			meet = (uint32_t)(a1 > a2 ? a1 : a2);
			acc = map_get(m, p, &fresh);
			if (!acc)
				return TRACE_ERR_NOMEM;
			if (fresh) {
				acc->events = 1;
				acc->total = ovc;
				acc->first_meet = meet;
				acc->best = (struct tq_event){ v, ovc, meet, (uint32_t)a1, (uint32_t)b1,
							       (uint32_t)a2, (uint32_t)b2 };
				continue;
			}
			acc->events++;
			acc->total += ovc;
			if (meet < acc->first_meet)
				acc->first_meet = meet;
			if (ovc < acc->best.overlap)
				continue;
			e = (struct tq_event){ v, ovc, meet, (uint32_t)a1, (uint32_t)b1, (uint32_t)a2, (uint32_t)b2 };
			if (tq_better(&e, &acc->best))
				acc->best = e;
		}
	}
	return TRACE_OK;
}

/* An upper bound of the persons tq_collect can find for `who`: the records
 * its range lookups will read (found by the same binary searches). */
uint64_t tq_bound(const struct tq *q, uint32_t who)
{
	const struct trace_table *t = q->t;
	uint64_t sum = 0;

	for (uint32_t i = t->pers_off[who]; i < t->pers_off[who + 1]; i++) {
		uint32_t pos = t->p_pos[i];
		int64_t a1 = t->r_tin[pos], d1 = tq_dur(q, pos), b1 = a1 + d1;
		int64_t lo_t = a1 + q->k - q->maxd, hi_t = b1 - q->k + 1;
		uint32_t v, from, to;

		if (b1 < q->W || (q->k > 0 && d1 < q->k))
			continue;
		v = trace_table_place_of(t, pos);
		from = trace_table_lower(t, v, lo_t < 0 ? 0 : lo_t > UINT32_MAX ? UINT32_MAX : (uint32_t)lo_t);
		to = trace_table_lower(t, v, hi_t < 0 ? 0 : hi_t > UINT32_MAX ? UINT32_MAX : (uint32_t)hi_t);
		if (hi_t > UINT32_MAX)
			to = t->place_off[v + 1];
		sum += to > from ? to - from : 0;
	}
	return sum < t->npers ? sum : t->npers;
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
	memset(h, 0, sizeof(*h)); /* no stray bytes in the padding */
	h->person = trace_table_person_id(t, person);
	h->source = trace_table_person_id(t, source);
	h->place = trace_table_place_id(t, e->place);
	h->src_in = (int64_t)e->src_a * 60;
	h->src_out = (int64_t)e->src_b * 60;
	h->hit_in = (int64_t)e->hit_a * 60;
	h->hit_out = (int64_t)e->hit_b * 60;
	h->overlap_min = e->overlap;
	h->events = 1;
	h->total_overlap_min = e->overlap;
}

static inline bool key_less(const struct tq_key *a, const struct tq_key *b)
{
	return a->hi < b->hi || (a->hi == b->hi && a->lo < b->lo);
}

static void key_swap(struct tq_key *a, struct tq_key *b)
{
	struct tq_key t = *a;
	*a = *b;
	*b = t;
}

/* Quicksort (median of three, smaller side first) with insertion sort for
 * short runs: keys are 16 bytes and compared inline. */
static void quick_keys(struct tq_key *k, size_t n)
{
	while (n > 24) {
		size_t mid = n / 2, i = 0, j = n - 1;
		if (key_less(&k[mid], &k[0]))
			key_swap(&k[mid], &k[0]);
		if (key_less(&k[n - 1], &k[0]))
			key_swap(&k[n - 1], &k[0]);
		if (key_less(&k[n - 1], &k[mid]))
			key_swap(&k[n - 1], &k[mid]);
		struct tq_key pivot = k[mid];
		for (;;) {
			while (key_less(&k[i], &pivot))
				i++;
			while (key_less(&pivot, &k[j]))
				j--;
			if (i >= j)
				break;
			key_swap(&k[i], &k[j]);
			i++;
			j--;
		}
		/* [0, j] <= pivot <= [j + 1, n) */
		if (j + 1 < n - j - 1) {
			quick_keys(k, j + 1);
			k += j + 1;
			n -= j + 1;
		} else {
			quick_keys(k + j + 1, n - j - 1);
			n = j + 1;
		}
	}
	for (size_t x = 1; x < n; x++) {
		struct tq_key v = k[x];
		size_t y = x;
		while (y > 0 && key_less(&v, &k[y - 1])) {
			k[y] = k[y - 1];
			y--;
		}
		k[y] = v;
	}
}

static unsigned bits_for(uint64_t v)
{
	unsigned b = 0;
	while (b < 64 && (v >> b) != 0)
		b++;
	return b;
}

#define KEY_RADIX_BITS 11u
#define KEY_RADIX_SIZE (1u << KEY_RADIX_BITS)

/* Keys are (UINT32_MAX - total) << 32 | (UINT32_MAX - best), then lo. The
 * three parts are squeezed into one 64-bit number of just the bits this set
 * needs (total and best reversed, so ascending is the rank order) and sorted
 * by an 11-bit LSD radix sort; quicksort when they do not fit or there is no
 * scratch memory. */
void tq_sort_keys(struct tq_key *k, size_t n)
{
	struct tq_key *tmp, *src, *dst;
	uint32_t max_total = 0, max_best = 0, min_lo = UINT32_MAX, max_lo = 0;
	unsigned tb, bb, lb;
	size_t bytes, *count;

	if (n < 64 || !wg_size_mul(n, sizeof(*k), &bytes)) {
		quick_keys(k, n);
		return;
	}
	for (size_t i = 0; i < n; i++) {
		uint32_t total = UINT32_MAX - (uint32_t)(k[i].hi >> 32);
		uint32_t best = UINT32_MAX - (uint32_t)k[i].hi;
		if (total > max_total)
			max_total = total;
		if (best > max_best)
			max_best = best;
		if (k[i].lo < min_lo)
			min_lo = k[i].lo;
		if (k[i].lo > max_lo)
			max_lo = k[i].lo;
	}
	tb = bits_for(max_total);
	bb = bits_for(max_best);
	lb = bits_for(max_lo - min_lo);
	if (tb + bb + lb > 63) {
		quick_keys(k, n);
		return;
	}
	tmp = wg_malloc(bytes);
	count = wg_malloc(KEY_RADIX_SIZE * sizeof(*count));
	if (!tmp || !count) {
		wg_free(tmp);
		wg_free(count);
		quick_keys(k, n);
		return;
	}
	for (size_t i = 0; i < n; i++) {
		uint64_t total = UINT32_MAX - (uint32_t)(k[i].hi >> 32);
		uint64_t best = UINT32_MAX - (uint32_t)k[i].hi;
		k[i].hi = (max_total - total) << (bb + lb) | (max_best - best) << lb
			  | (uint64_t)(k[i].lo - min_lo); /* restored below */
	}
	src = k;
	dst = tmp;
	for (unsigned shift = 0; shift < tb + bb + lb; shift += KEY_RADIX_BITS) {
		size_t sum = 0;
		memset(count, 0, KEY_RADIX_SIZE * sizeof(*count));
		for (size_t i = 0; i < n; i++)
			count[src[i].hi >> shift & (KEY_RADIX_SIZE - 1)]++;
		for (size_t b = 0; b < KEY_RADIX_SIZE; b++) {
			size_t c = count[b];
			count[b] = sum;
			sum += c;
		}
		for (size_t i = 0; i < n; i++)
			dst[count[src[i].hi >> shift & (KEY_RADIX_SIZE - 1)]++] = src[i];
		struct tq_key *sw = src;
		src = dst;
		dst = sw;
	}
	if (src != k)
		memcpy(k, src, bytes);
	wg_free(tmp);
	wg_free(count);
	for (size_t i = 0; i < n; i++) {
		uint64_t total = max_total - (k[i].hi >> (bb + lb));
		uint64_t best = max_best - (bb ? (k[i].hi >> lb & (((uint64_t)1 << bb) - 1)) : 0);
		k[i].hi = (UINT32_MAX - total) << 32 | (UINT32_MAX - best);
	}
}

void tq_scratch_free(struct tq_scratch *s)
{
	wg_free(s->keys);
	s->keys = NULL;
	s->cap = 0;
}

static int scratch_reserve(struct tq_scratch *s, size_t n)
{
	size_t bytes;
	uint64_t *k;

	if (n <= s->cap)
		return TRACE_OK;
	if (!wg_size_mul(n, 2 * sizeof(*k), &bytes) || !(k = wg_malloc(bytes)))
		return TRACE_ERR_NOMEM;
	wg_free(s->keys);
	s->keys = k;
	s->cap = n;
	return TRACE_OK;
}

/* LSD radix sort of keys on bits [lo, lo + bits) in passes of at most
 * KEY_RADIX_BITS; returns the array that holds the result. */
static uint64_t *radix_u64(uint64_t *src, uint64_t *dst, size_t n, unsigned lo, unsigned bits)
{
	uint32_t count[KEY_RADIX_SIZE];
	unsigned passes = (bits + KEY_RADIX_BITS - 1) / KEY_RADIX_BITS;
	unsigned digit = passes ? (bits + passes - 1) / passes : 0;
	size_t buckets = (size_t)1 << digit;
	uint64_t mask = buckets - 1;

	for (unsigned p = 0; p < passes; p++) {
		unsigned shift = lo + p * digit;
		uint32_t sum = 0;
		memset(count, 0, buckets * sizeof(count[0]));
		for (size_t i = 0; i < n; i++)
			count[src[i] >> shift & mask]++;
		for (size_t b = 0; b < buckets; b++) {
			uint32_t c = count[b];
			count[b] = sum;
			sum += c;
		}
		for (size_t i = 0; i < n; i++)
			dst[count[src[i] >> shift & mask]++] = src[i];
		uint64_t *sw = src;
		src = dst;
		dst = sw;
	}
	return src;
}

/* Rank order of the map's accumulators: (summed overlap desc, strongest
 * overlap desc, person asc) squeezed into the bits this set needs, with
 * the accumulator's index in the low bits, in one 64-bit word each. Sets
 * *order to n words whose low 32 bits are the indexes in rank order; false
 * when the key does not fit in 64 bits (the caller sorts another way). */
static bool rank_packed(const struct tq_map *m, struct tq_scratch *s, const uint64_t **order)
{
	uint32_t max_total = 0, max_best = 0, min_p = UINT32_MAX, max_p = 0;
	unsigned tb, bb, pb, ib;
	size_t n = m->n;
	uint64_t *k = s->keys;

	for (size_t i = 0; i < n; i++) {
		const struct tq_acc *a = &m->vals[i];
		uint32_t total = a->total > UINT32_MAX ? UINT32_MAX : (uint32_t)a->total;
		if (total > max_total)
			max_total = total;
		if (a->best.overlap > max_best)
			max_best = a->best.overlap;
		if (a->person < min_p)
			min_p = a->person;
		if (a->person > max_p)
			max_p = a->person;
	}
	tb = bits_for(max_total);
	bb = bits_for(max_best);
	pb = bits_for(max_p - min_p);
	ib = bits_for(n - 1);
	if (tb + bb + pb + ib > 64)
		return false;
	for (size_t i = 0; i < n; i++) {
		const struct tq_acc *a = &m->vals[i];
		uint64_t total = a->total > UINT32_MAX ? UINT32_MAX : a->total;
		uint64_t key = (max_total - total) << (bb + pb) | (uint64_t)(max_best - a->best.overlap) << pb
			       | (uint64_t)(a->person - min_p);
		k[i] = (ib ? key << ib : 0) | i;
	}
	k = radix_u64(k, k + n, n, ib, tb + bb + pb);
	if (ib < 64)
		for (size_t i = 0; i < n; i++)
			k[i] &= ((uint64_t)1 << ib) - 1;
	*order = k;
	return true;
}

/* The general case: 16-byte keys. */
static int rank_wide(const struct tq_map *m, struct tq_scratch *s, const uint64_t **order)
{
	struct tq_key *k;
	uint64_t *o = s->keys;
	size_t bytes;

	if (!wg_size_mul(m->n, sizeof(*k), &bytes) || !(k = wg_malloc(bytes)))
		return TRACE_ERR_NOMEM;
	for (size_t i = 0; i < m->n; i++) {
		const struct tq_acc *a = &m->vals[i];
		uint64_t total = a->total > UINT32_MAX ? UINT32_MAX : a->total;
		uint64_t best = a->best.overlap;
		k[i].hi = (uint64_t)(UINT32_MAX - total) << 32 | (UINT32_MAX - best);
		k[i].lo = a->person; /* dense indexes keep the order of the ids */
		k[i].idx = (uint32_t)i;
	}
	tq_sort_keys(k, m->n);
	for (size_t i = 0; i < m->n; i++)
		o[i] = k[i].idx;
	wg_free(k);
	*order = o;
	return TRACE_OK;
}

int tq_map_rank(const struct tq_map *m, struct tq_scratch *s, const uint64_t **order)
{
	int rc = scratch_reserve(s, m->n ? m->n : 1);
	if (rc)
		return rc;
	if (rank_packed(m, s, order))
		return TRACE_OK;
	return rank_wide(m, s, order);
}

/* Writes the map's persons as hits into dst in the order tq_map_rank gave. */
void tq_map_fill(const struct tq *q, const struct tq_map *m, uint32_t source,
		 const uint64_t *order, struct trace_hit *dst)
{
	for (size_t i = 0; i < m->n; i++) {
		const struct tq_acc *a = &m->vals[(uint32_t)order[i]];
		tq_fill_hit(q, &dst[i], a->person, source, &a->best);
		dst[i].events = a->events;
		dst[i].total_overlap_min = a->total;
	}
}

/* Writes the map's persons as ranked hits into dst (room for m->n). */
int tq_map_hits_into(const struct tq *q, const struct tq_map *m, uint32_t source,
		     struct trace_hit *dst)
{
	struct tq_scratch s = { NULL, 0 };
	const uint64_t *order;
	int rc;

	if (m->n == 0)
		return TRACE_OK;
	rc = tq_map_rank(m, &s, &order);
	if (!rc)
		tq_map_fill(q, m, source, order, dst);
	tq_scratch_free(&s);
	return rc;
}

int tq_map_hits(const struct tq *q, const struct tq_map *m, uint32_t source,
		struct trace_hit **out, size_t *n)
{
	struct trace_hit *h;
	size_t bytes;
	int rc;

	*out = NULL;
	*n = 0;
	if (m->n == 0)
		return TRACE_OK;
	if (!wg_size_mul(m->n, sizeof(*h), &bytes) || !(h = wg_malloc(bytes)))
		return TRACE_ERR_NOMEM;
	rc = tq_map_hits_into(q, m, source, h);
	if (rc) {
		wg_free(h);
		return rc;
	}
	*out = h;
	*n = m->n;
	return TRACE_OK;
}

int tq_prepare(trace_store *s, enum trace_kind kind, uint32_t person, struct trace_result *out)
{
	out->hits = NULL;
	out->n = 0;
	(void)kind;
	(void)person;
	return trace_store_build_locked(s);
}

/* Makes the positions of the dense persons in `dense` (every person when
 * NULL) available; a no-op where every person's are indexed already. */
int tq_positions(trace_store *s, enum trace_kind kind, const uint32_t *dense, size_t n)
{
	struct trace_table *t = &s->tab[kind];
	return t->pos_all ? TRACE_OK : trace_table_positions(t, dense, n);
}

/* The evidence of a companion: both persons' minutes in the evidence cell
 * within the dwell window. */
static void companion_dwells(const struct tq *q, const struct tq_dwell *dw, uint32_t who,
			     struct trace_result *out)
{
	const struct trace_table *t = q->t;

	for (size_t i = 0; i < out->n; i++) {
		struct trace_hit *h = &out->hits[i];
		uint32_t p, lo = 0, hi = t->nplace;
		if (!trace_table_person(t, h->person, &p))
			continue; /* cannot happen: the hit came from this table */
		while (lo < hi) { /* the dense index of the cell: ids are ascending */
			uint32_t mid = lo + (hi - lo) / 2;
			if (trace_table_place_id(t, mid) < h->place)
				lo = mid + 1;
			else
				hi = mid;
		}
		h->src_dwell_min = (uint32_t)tq_dwell_of(q, dw, who, lo);
		h->hit_dwell_min = (uint32_t)tq_dwell_of(q, dw, p, lo);
	}
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
	/* companions weigh every contact's dwell: those need all positions */
	rc = kind == TRACE_SCAN ? tq_positions(s, kind, &idx, 1) : tq_positions(s, kind, NULL, 0);
	if (rc)
		return rc;
	memset(&m, 0, sizeof(m));
	if (kind == TRACE_SCAN) {
		tq_init(&q, t, r, onset, r->buffer_min, r->min_overlap_min);
		rc = tq_collect(&q, idx, &m, NULL);
	} else {
		tq_init(&q, t, r, onset, 0, r->comp_overlap_min + 1);
		dw.from = q.onset - (int64_t)r->comp_dwell_days * 1440;
		dw.to = q.onset;
		dw.limit = r->comp_dwell_limit_min;
		dw.require = r->comp_dwell_rule != TRACE_COMP_DWELL_EXCLUDES;
		rc = tq_collect(&q, idx, &m, &dw);
	}
	if (!rc)
		rc = tq_map_hits(&q, &m, idx, &out->hits, &out->n);
	if (!rc && kind == TRACE_CELL)
		companion_dwells(&q, &dw, idx, out);
	tq_map_free(&m);
	return rc;
}

/* Queries run one at a time (trace.h): the store's query lock. */
static int query_locked(trace_store *s, enum trace_kind kind, uint32_t person, int64_t onset,
			const struct trace_rule *r, struct trace_result *out)
{
	int rc;
	pthread_mutex_lock(&s->q_mu);
	rc = query_one(s, kind, person, onset, r, out);
	pthread_mutex_unlock(&s->q_mu);
	return rc;
}

int trace_close_contacts(trace_store *s, uint32_t person, int64_t onset,
			 const struct trace_rule *r, struct trace_result *out)
{
	return query_locked(s, TRACE_SCAN, person, onset, r, out);
}

int trace_companions(trace_store *s, uint32_t person, int64_t onset,
		     const struct trace_rule *r, struct trace_result *out)
{
	return query_locked(s, TRACE_CELL, person, onset, r, out);
}
