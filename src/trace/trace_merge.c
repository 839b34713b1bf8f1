/* A table with a few records added (trace_table_merge): how the records of
 * the log reach a query without the table being built again from every
 * segment.
 *
 * One pass over the table: places that gain no record are copied as they
 * are, the others merged with the new records in (t_in, person, dur) order,
 * and a record the table holds already is left out. A person or a place new
 * to the table takes its place in the ascending ids, so the dense indexes of
 * the others above it move up; the copy renumbers the persons through a
 * table of the moves (only when there are new persons). */
#include <stdlib.h>
#include <string.h>

#include "core/mem.h"
#include "trace/trace_int.h"

static void *alloc_n(size_t count, size_t size)
{
	size_t bytes;
	if (!wg_size_mul(count ? count : 1, size, &bytes))
		return NULL;
	return wg_malloc(bytes);
}

static int u32_cmp(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	return x < y ? -1 : x > y;
}

/* The new table's persons: the old ones and those of recs, ascending, and
 * where each old dense index went (*moved NULL when none moved). */
static int merge_persons(const struct trace_table *t, const struct trace_rec *recs, size_t n,
			 struct trace_table *out, uint32_t **moved)
{
	uint32_t *add = alloc_n(n, sizeof(uint32_t)), *ids = NULL, *mv = NULL;
	size_t k = 0, w = 0, i = 0, j = 0, o = 0;
	int rc = TRACE_ERR_NOMEM;

	*moved = NULL;
	if (!add)
		return rc;
	for (size_t x = 0; x < n; x++)
		add[k++] = recs[x].person;
	qsort(add, k, sizeof(uint32_t), u32_cmp);
	for (size_t x = 0; x < k; x++) { /* unique, and not in the table already */
		uint32_t idx;
		if ((w > 0 && add[w - 1] == add[x]) || trace_table_person(t, add[x], &idx))
			continue;
		add[w++] = add[x];
	}
	if ((uint64_t)t->npers + w >= UINT32_MAX) {
		rc = TRACE_ERR_TOO_LARGE;
		goto out;
	}
	ids = alloc_n((size_t)t->npers + w, sizeof(uint32_t));
	if (!ids || (w && !(mv = alloc_n(t->npers, sizeof(uint32_t)))))
		goto out;
	while (i < t->npers || j < w) {
		if (j == w || (i < t->npers && t->pers_id[i] < add[j])) {
			if (mv)
				mv[i] = (uint32_t)o;
			ids[o++] = t->pers_id[i++];
		} else {
			ids[o++] = add[j++];
		}
	}
	out->pers_id = ids;
	out->npers = (uint32_t)o;
	*moved = mv;
	ids = mv = NULL;
	rc = TRACE_OK;
out:
	wg_free(add);
	wg_free(ids);
	wg_free(mv);
	return rc;
}

/* Copies old records [a, b) to position o of out, persons renumbered. */
static void copy_old(const struct trace_table *t, const uint32_t *moved, uint32_t a, uint32_t b,
		     struct trace_table *out, uint32_t o)
{
	size_t len = (size_t)(b - a);
	memcpy(out->r_tin + o, t->r_tin + a, len * sizeof(uint32_t));
	memcpy(out->r_dur + o, t->r_dur + a, len * sizeof(uint16_t));
	if (!moved) {
		memcpy(out->r_person + o, t->r_person + a, len * sizeof(uint32_t));
		return;
	}
	for (size_t x = 0; x < len; x++)
		out->r_person[o + x] = moved[t->r_person[a + x]];
}

/* Merges old records [a, b) and recs [c, d) of one place into out at *o. */
static void merge_place(const struct trace_table *t, const uint32_t *moved, uint32_t a, uint32_t b,
			const struct trace_rec *recs, size_t c, size_t d, struct trace_table *out, uint32_t *o)
{
	uint32_t rp = 0;
	size_t rp_of = d; /* the record whose dense person rp is */

	while (a < b || c < d) {
		int cmp;
		if (c < d && rp_of != c) {
			trace_table_person(out, recs[c].person, &rp); /* present: merge_persons put it there */
			rp_of = c;
		}
		if (a == b) {
			cmp = 1;
		} else if (c == d) {
			cmp = -1;
		} else {
			uint32_t op = moved ? moved[t->r_person[a]] : t->r_person[a];
			uint64_t ka = (uint64_t)t->r_tin[a] << 32 | op, kc = (uint64_t)recs[c].t_min << 32 | rp;
			cmp = ka < kc ? -1 : ka > kc ? 1 : (t->r_dur[a] > recs[c].dur) - (t->r_dur[a] < recs[c].dur);
		}
		if (cmp <= 0) {
			out->r_tin[*o] = t->r_tin[a];
			out->r_dur[*o] = t->r_dur[a];
			out->r_person[*o] = moved ? moved[t->r_person[a]] : t->r_person[a];
			a++;
			if (cmp == 0)
				c++; /* stored already */
		} else {
			out->r_tin[*o] = recs[c].t_min;
			out->r_dur[*o] = recs[c].dur;
			out->r_person[*o] = rp;
			c++;
		}
		(*o)++;
	}
}

int trace_table_merge(const struct trace_table *t, const struct trace_rec *recs, size_t n,
		      struct trace_table *out)
{
	uint32_t *moved = NULL, o = 0, pi = 0;
	size_t total, nplaces = 0, c = 0;
	int rc;

	memset(out, 0, sizeof(*out));
	if ((uint64_t)t->n + n > TRACE_MAX_RECS)
		return TRACE_ERR_TOO_LARGE;
	total = (size_t)t->n + n;
	for (size_t x = 0; x < n; x++) /* places of recs not in the table: an upper bound will do */
		if (x == 0 || recs[x].place != recs[x - 1].place)
			nplaces++;
	if ((uint64_t)t->nplace + nplaces >= UINT32_MAX)
		return TRACE_ERR_TOO_LARGE;
	rc = merge_persons(t, recs, n, out, &moved);
	if (rc)
		goto fail;
	rc = TRACE_ERR_NOMEM;
	out->place_id = alloc_n((size_t)t->nplace + nplaces, sizeof(uint32_t));
	out->place_off = alloc_n((size_t)t->nplace + nplaces + 1, sizeof(uint32_t));
	out->r_person = alloc_n(total, sizeof(uint32_t));
	out->r_tin = alloc_n(total, sizeof(uint32_t));
	out->r_dur = alloc_n(total, sizeof(uint16_t));
	if (!out->place_id || !out->place_off || !out->r_person || !out->r_tin || !out->r_dur)
		goto fail;
	out->max_dur = t->max_dur;
	for (size_t x = 0; x < n; x++)
		if (recs[x].dur > out->max_dur)
			out->max_dur = recs[x].dur;
	/* places in id order: the table's (pi) and the records' (c) */
	while (pi < t->nplace || c < n) {
		uint32_t place_t = pi < t->nplace ? trace_table_place_id(t, pi) : UINT32_MAX;
		size_t d = c;
		bool from_t = pi < t->nplace && (c == n || place_t <= recs[c].place);
		uint32_t place = from_t ? place_t : recs[c].place;
		while (d < n && recs[d].place == place)
			d++;
		out->place_id[out->nplace] = place;
		out->place_off[out->nplace] = o;
		out->nplace++;
		if (!from_t) {
			merge_place(t, moved, 0, 0, recs, c, d, out, &o);
		} else if (d == c) {
			copy_old(t, moved, t->place_off[pi], t->place_off[pi + 1], out, o);
			o += t->place_off[pi + 1] - t->place_off[pi];
		} else {
			merge_place(t, moved, t->place_off[pi], t->place_off[pi + 1], recs, c, d, out, &o);
		}
		if (from_t)
			pi++;
		c = d;
	}
	out->place_off[out->nplace] = o;
	out->n = o;
	trace_table_flags(out);
	wg_free(moved);
	return TRACE_OK;
fail:
	wg_free(moved);
	trace_table_free(out);
	return rc;
}
