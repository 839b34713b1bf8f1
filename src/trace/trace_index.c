/* The resident index of one kind, built from the segments by a k-way merge:
 * records sorted by (place, t_in, person, dur) as a struct of arrays, places
 * and persons renumbered densely (ascending ids). Per-person positions are
 * a separate step: of every person for a long-running store, of just the
 * persons a query needs for a one-shot store (trace_table_positions). */
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "core/lib/mem.h"
#include "trace/trace_int.h"

void trace_table_free(struct trace_table *t)
{
	if (t->map_base) {
		munmap(t->map_base, t->map_len); /* the arrays of the index file */
	} else {
		wg_free(t->place_id);
		wg_free(t->place_off);
		wg_free(t->pers_id);
		wg_free(t->r_person);
		wg_free(t->r_tin);
		wg_free(t->r_dur);
	}
	wg_free(t->pers_off);
	wg_free(t->p_pos);
	memset(t, 0, sizeof(*t));
}

void trace_table_flags(struct trace_table *t)
{
	t->pers_seq = t->npers > 0 && t->pers_id[t->npers - 1] - t->pers_id[0] == t->npers - 1;
	t->place_seq = t->nplace > 0 && t->place_id[t->nplace - 1] - t->place_id[0] == t->nplace - 1;
}

static void *alloc_array(size_t count, size_t size)
{
	size_t bytes;
	if (!wg_size_mul(count ? count : 1, size, &bytes))
		return NULL;
	return wg_malloc(bytes);
}

/* ---- k-way merge of sorted segments --------------------------------------- */

struct cursor {
	struct trace_dec d;
	struct trace_rec cur;
};

static void heap_down(struct cursor *h, size_t n, size_t i)
{
	for (;;) {
		size_t l = 2 * i + 1, m = i;
		if (l < n && trace_rec_cmp(&h[l].cur, &h[m].cur) < 0)
			m = l;
		if (l + 1 < n && trace_rec_cmp(&h[l + 1].cur, &h[m].cur) < 0)
			m = l + 1;
		if (m == i)
			return;
		struct cursor t = h[i];
		h[i] = h[m];
		h[m] = t;
		i = m;
	}
}

struct builder {
	struct trace_table *t;
	size_t total;
	size_t cap_place;
	uint32_t max_person;
	struct trace_rec last;
	bool has_last;
};

static int emit(struct builder *b, const struct trace_rec *r)
{
	struct trace_table *t = b->t;
	uint32_t pos = t->n;

	if (b->has_last && trace_rec_cmp(&b->last, r) == 0)
		return TRACE_OK; /* the same record in two segments */
	if (b->has_last && trace_rec_cmp(&b->last, r) > 0)
		return TRACE_ERR_CORRUPT; /* a segment out of order */
	if (pos >= b->total)
		return TRACE_ERR_CORRUPT;
	b->last = *r;
	b->has_last = true;
	if (t->nplace == 0 || t->place_id[t->nplace - 1] != r->place) {
		if (t->nplace + 1 >= b->cap_place) {
			size_t cap = b->cap_place * 2;
			uint32_t *a = NULL, *o = NULL;
			size_t bytes;
			if (!wg_size_mul(cap, sizeof(uint32_t), &bytes))
				return TRACE_ERR_NOMEM;
			a = wg_realloc(t->place_id, bytes);
			if (!a)
				return TRACE_ERR_NOMEM;
			t->place_id = a;
			o = wg_realloc(t->place_off, bytes);
			if (!o)
				return TRACE_ERR_NOMEM;
			t->place_off = o;
			b->cap_place = cap;
		}
		t->place_id[t->nplace] = r->place;
		t->place_off[t->nplace] = pos;
		t->nplace++;
	}
	t->r_person[pos] = r->person;
	t->r_tin[pos] = r->t_min;
	t->r_dur[pos] = r->dur;
	if (r->dur > t->max_dur)
		t->max_dur = r->dur;
	if (r->person > b->max_person)
		b->max_person = r->person;
	t->n++;
	return TRACE_OK;
}

/* Advances a cursor: 1 with a record, 0 at the end, -1 corrupt. */
static int advance(struct cursor *c)
{
	return trace_dec_next(&c->d, &c->cur);
}

static int merge(struct builder *b, struct trace_map *maps, size_t k)
{
	struct cursor *h = alloc_array(k, sizeof(*h));
	size_t n = 0;
	int rc = TRACE_OK, got;

	if (!h)
		return TRACE_ERR_NOMEM;
	for (size_t i = 0; i < k; i++) {
		trace_dec_init(&h[n].d, &maps[i]);
		got = advance(&h[n]);
		if (got < 0) {
			rc = TRACE_ERR_CORRUPT;
			goto out;
		}
		if (got > 0)
			n++;
	}
	for (size_t i = n; i-- > 0;)
		heap_down(h, n, i);
	while (n > 0 && !rc) {
		rc = emit(b, &h[0].cur);
		if (rc)
			break;
		got = advance(&h[0]);
		if (got < 0) {
			rc = TRACE_ERR_CORRUPT;
			break;
		}
		if (got == 0)
			h[0] = h[--n];
		if (n > 1)
			heap_down(h, n, 0);
	}
out:
	wg_free(h);
	return rc;
}

/* ---- persons: raw id -> dense index ------------------------------------- */

struct idmap {
	uint32_t *keys; /* UINT32_MAX = empty; the id UINT32_MAX lives in `has_max` */
	uint32_t *vals;
	size_t    cap, n;
	bool      has_max;
	uint32_t  max_val;
};

static inline size_t id_hash(uint32_t k, size_t mask)
{
	return (size_t)((k * 0x9E3779B1u) ^ (k >> 15)) & mask;
}

static int idmap_grow(struct idmap *m)
{
	size_t cap = m->cap ? m->cap * 2 : 1024;
	uint32_t *k = alloc_array(cap, sizeof(uint32_t));
	uint32_t *v = alloc_array(cap, sizeof(uint32_t));
	if (!k || !v) {
		wg_free(k);
		wg_free(v);
		return TRACE_ERR_NOMEM;
	}
	memset(k, 0xff, cap * sizeof(uint32_t));
	for (size_t i = 0; i < m->cap; i++) {
		if (m->keys[i] == UINT32_MAX)
			continue;
		size_t j = id_hash(m->keys[i], cap - 1);
		while (k[j] != UINT32_MAX)
			j = (j + 1) & (cap - 1);
		k[j] = m->keys[i];
		v[j] = m->vals[i];
	}
	wg_free(m->keys);
	wg_free(m->vals);
	m->keys = k;
	m->vals = v;
	m->cap = cap;
	return TRACE_OK;
}

static uint32_t *idmap_slot(struct idmap *m, uint32_t key, bool insert)
{
	if (key == UINT32_MAX) {
		if (insert)
			m->has_max = true;
		return m->has_max ? &m->max_val : NULL;
	}
	if (insert && (m->n + 1) * 2 > m->cap && idmap_grow(m))
		return NULL;
	if (m->cap == 0)
		return NULL;
	size_t j = id_hash(key, m->cap - 1);
	while (m->keys[j] != UINT32_MAX) {
		if (m->keys[j] == key)
			return &m->vals[j];
		j = (j + 1) & (m->cap - 1);
	}
	if (!insert)
		return NULL;
	m->keys[j] = key;
	m->n++;
	return &m->vals[j];
}

static int u32_cmp(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	return x < y ? -1 : x > y;
}

/* Dense ids through a direct table when the ids are small. */
static int persons_direct(struct trace_table *t, uint32_t max_person)
{
	uint32_t *map = alloc_array((size_t)max_person + 1, sizeof(uint32_t));
	uint32_t np = 0;

	if (!map)
		return TRACE_ERR_NOMEM;
	memset(map, 0, ((size_t)max_person + 1) * sizeof(uint32_t));
	for (uint32_t i = 0; i < t->n; i++)
		map[t->r_person[i]] = 1;
	for (size_t id = 0; id <= max_person; id++)
		if (map[id])
			np++;
	t->pers_id = alloc_array(np, sizeof(uint32_t));
	if (!t->pers_id) {
		wg_free(map);
		return TRACE_ERR_NOMEM;
	}
	np = 0;
	for (size_t id = 0; id <= max_person; id++) {
		if (map[id]) {
			t->pers_id[np] = (uint32_t)id;
			map[id] = np++;
		}
	}
	t->npers = np;
	for (uint32_t i = 0; i < t->n; i++)
		t->r_person[i] = map[t->r_person[i]];
	wg_free(map);
	return TRACE_OK;
}

static int persons_hashed(struct trace_table *t)
{
	struct idmap m;
	int rc = TRACE_ERR_NOMEM;
	size_t np = 0;

	memset(&m, 0, sizeof(m));
	for (uint32_t i = 0; i < t->n; i++)
		if (!idmap_slot(&m, t->r_person[i], true))
			goto out;
	np = m.n + (m.has_max ? 1 : 0);
	t->pers_id = alloc_array(np, sizeof(uint32_t));
	if (!t->pers_id)
		goto out;
	np = 0;
	for (size_t i = 0; i < m.cap; i++)
		if (m.keys[i] != UINT32_MAX)
			t->pers_id[np++] = m.keys[i];
	if (m.has_max)
		t->pers_id[np++] = UINT32_MAX;
	qsort(t->pers_id, np, sizeof(uint32_t), u32_cmp);
	for (size_t i = 0; i < np; i++)
		*idmap_slot(&m, t->pers_id[i], false) = (uint32_t)i;
	t->npers = (uint32_t)np;
	for (uint32_t i = 0; i < t->n; i++)
		t->r_person[i] = *idmap_slot(&m, t->r_person[i], false);
	rc = TRACE_OK;
out:
	wg_free(m.keys);
	wg_free(m.vals);
	return rc;
}

/* Positions of every person. Record persons are checked here: an index
 * file's are only as good as its checksums. */
static int person_positions(struct trace_table *t)
{
	uint32_t *fill;

	t->pers_off = alloc_array((size_t)t->npers + 1, sizeof(uint32_t));
	t->p_pos = alloc_array(t->n, sizeof(uint32_t));
	if (!t->pers_off || !t->p_pos)
		return TRACE_ERR_NOMEM;
	memset(t->pers_off, 0, ((size_t)t->npers + 1) * sizeof(uint32_t));
	for (uint32_t i = 0; i < t->n; i++) {
		if (t->r_person[i] >= t->npers)
			return TRACE_ERR_CORRUPT;
		t->pers_off[t->r_person[i] + 1]++;
	}
	for (uint32_t p = 0; p < t->npers; p++)
		t->pers_off[p + 1] += t->pers_off[p];
	fill = alloc_array((size_t)t->npers + 1, sizeof(uint32_t));
	if (!fill)
		return TRACE_ERR_NOMEM;
	memcpy(fill, t->pers_off, ((size_t)t->npers + 1) * sizeof(uint32_t));
	for (uint32_t i = 0; i < t->n; i++)
		t->p_pos[fill[t->r_person[i]]++] = i;
	wg_free(fill);
	t->pos_all = true;
	return TRACE_OK;
}

/* Positions of the persons in `want` (dense) only, in one pass over the
 * records: what a query needs when the index was loaded for it alone. */
static int some_positions(struct trace_table *t, const uint32_t *want, size_t nwant)
{
	size_t words = ((size_t)t->npers + 64) / 64, found = 0, cap = 1024;
	uint64_t *bits = alloc_array(words, sizeof(uint64_t));
	uint32_t *pos = alloc_array(cap, sizeof(uint32_t)), *fill = NULL;
	int rc = TRACE_ERR_NOMEM;

	t->pers_off = alloc_array((size_t)t->npers + 1, sizeof(uint32_t));
	if (!bits || !pos || !t->pers_off)
		goto out;
	memset(bits, 0, words * sizeof(uint64_t));
	memset(t->pers_off, 0, ((size_t)t->npers + 1) * sizeof(uint32_t));
	for (size_t i = 0; i < nwant; i++)
		if (want[i] < t->npers)
			bits[want[i] >> 6] |= (uint64_t)1 << (want[i] & 63);
	for (uint32_t i = 0; i < t->n; i++) {
		uint32_t p = t->r_person[i];
		if (p >= t->npers) {
			rc = TRACE_ERR_CORRUPT;
			goto out;
		}
		if (!(bits[p >> 6] >> (p & 63) & 1))
			continue;
		if (found == cap) {
			uint32_t *x = wg_realloc(pos, cap * 2 * sizeof(uint32_t));
			if (!x)
				goto out;
			pos = x;
			cap *= 2;
		}
		pos[found++] = i;
		t->pers_off[p + 1]++;
	}
	for (uint32_t p = 0; p < t->npers; p++)
		t->pers_off[p + 1] += t->pers_off[p];
	fill = alloc_array((size_t)t->npers + 1, sizeof(uint32_t));
	t->p_pos = alloc_array(found, sizeof(uint32_t));
	if (!fill || !t->p_pos)
		goto out;
	memcpy(fill, t->pers_off, ((size_t)t->npers + 1) * sizeof(uint32_t));
	for (size_t i = 0; i < found; i++)
		t->p_pos[fill[t->r_person[pos[i]]]++] = pos[i];
	rc = TRACE_OK;
out:
	wg_free(bits);
	wg_free(pos);
	wg_free(fill);
	return rc;
}

/* Per-person positions: of every person (want == NULL) or of the dense
 * persons in want[0..nwant). Replaces what was there. */
int trace_table_positions(struct trace_table *t, const uint32_t *want, size_t nwant)
{
	int rc;

	wg_free(t->pers_off);
	wg_free(t->p_pos);
	t->pers_off = NULL;
	t->p_pos = NULL;
	t->pos_all = false;
	rc = want ? some_positions(t, want, nwant) : person_positions(t);
	if (rc) {
		wg_free(t->pers_off);
		wg_free(t->p_pos);
		t->pers_off = NULL;
		t->p_pos = NULL;
		t->pos_all = false;
	}
	return rc;
}

int trace_table_build(const struct trace_store *s, const struct trace_seg *segs, size_t nseg,
		      enum trace_kind kind, struct trace_table *t, struct trace_diag *d)
{
	struct trace_map *maps = NULL;
	struct builder b;
	size_t k = 0, total = 0;
	int rc = TRACE_ERR_NOMEM;

	trace_table_free(t);
	memset(&b, 0, sizeof(b));
	b.t = t;
	b.cap_place = 1024;
	maps = alloc_array(nseg, sizeof(*maps));
	if (!maps)
		goto out;
	for (size_t i = 0; i < nseg; i++) {
		if (segs[i].kind != (uint32_t)kind)
			continue;
		rc = trace_seg_map(s, &segs[i], &maps[k], d);
		if (rc)
			goto out;
		total += maps[k++].n;
		if (total > TRACE_MAX_RECS) {
			rc = TRACE_ERR_TOO_LARGE;
			goto out;
		}
	}
	rc = TRACE_ERR_NOMEM;
	t->place_id = alloc_array(b.cap_place, sizeof(uint32_t));
	t->place_off = alloc_array(b.cap_place, sizeof(uint32_t));
	t->r_person = alloc_array(total, sizeof(uint32_t));
	t->r_tin = alloc_array(total, sizeof(uint32_t));
	t->r_dur = alloc_array(total, sizeof(uint16_t));
	if (!t->place_id || !t->place_off || !t->r_person || !t->r_tin || !t->r_dur)
		goto out;
	b.total = total;
	rc = merge(&b, maps, k);
	if (rc) {
		trace_diag_set(d, rc, 0, 0, "segment");
		goto out;
	}
	t->place_off[t->nplace] = t->n;
	for (size_t i = 0; i < k; i++)
		trace_seg_unmap(&maps[i]);
	k = 0;
	if ((size_t)b.max_person + 1 <= (t->n > (1u << 20) ? t->n : (1u << 20)))
		rc = persons_direct(t, b.max_person);
	else
		rc = persons_hashed(t);
	if (rc)
		goto out;
	trace_table_flags(t);
out:
	if (maps)
		for (size_t i = 0; i < k; i++)
			trace_seg_unmap(&maps[i]);
	wg_free(maps);
	if (rc)
		trace_table_free(t);
	return rc;
}

bool trace_table_person(const struct trace_table *t, uint32_t id, uint32_t *idx)
{
	uint32_t lo = 0, hi = t->npers;
	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;
		if (t->pers_id[mid] < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo < t->npers && t->pers_id[lo] == id) {
		*idx = lo;
		return true;
	}
	return false;
}

uint32_t trace_table_place_of(const struct trace_table *t, uint32_t pos)
{
	uint32_t lo = 0, hi = t->nplace; /* last place with place_off <= pos */
	while (hi - lo > 1) {
		uint32_t mid = lo + (hi - lo) / 2;
		if (t->place_off[mid] <= pos)
			lo = mid;
		else
			hi = mid;
	}
	return lo;
}

/* First position in place with r_tin >= t_min. */
uint32_t trace_table_lower(const struct trace_table *t, uint32_t place, uint32_t t_min)
{
	uint32_t lo = t->place_off[place], hi = t->place_off[place + 1];
	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;
		if (t->r_tin[mid] < t_min)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}
