/* A table with a few records added (trace_table_merge): how the records of
 * the log reach a query without the table being built again from every
 * segment, and, in a long-running store, without every person's positions
 * being sorted again.
 *
 * One pass over the table: places that gain no record are copied as they
 * are, the others merged with the new records in (t_in, person, dur) order,
 * and a record the table holds already is left out. A person or a place new
 * to the table takes its place in the ascending ids, so the dense indexes of
 * the others above it move up; the copy renumbers the persons through a
 * table of the moves (only when there are new persons). */
#include <stdlib.h>
#include <string.h>

#include "core/lib/mem.h"
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

/* Where the new records went, for carrying the positions over: the k-th
 * went to out position at[k], before old record before[k] (both
 * ascending). */
struct inserted {
	uint32_t *at, *before;
	size_t n;
};

/* Merges old records [a, b) and recs [c, d) of one place into out at *o. */
static void merge_place(const struct trace_table *t, const uint32_t *moved, uint32_t a, uint32_t b,
			const struct trace_rec *recs, size_t c, size_t d, struct trace_table *out, uint32_t *o,
			struct inserted *ins)
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
			ins->at[ins->n] = *o;
			ins->before[ins->n++] = a;
			c++;
		}
		(*o)++;
	}
}

/* ---- positions carried over ----------------------------------------------- */

#define SHIFT_BLOCK_BITS 12u

/* Old record j moves up by the new records put before it: a table of the
 * count before each block of 4,096 old records, then the few of the block
 * itself (usually none). */
struct shifter {
	const struct inserted *ins;
	uint32_t *base;      /* per block: new records before its first old record */
};

static inline uint32_t shifted(const struct shifter *sh, uint32_t j)
{
	size_t k = sh->base[j >> SHIFT_BLOCK_BITS];
	while (k < sh->ins->n && sh->ins->before[k] <= j)
		k++;
	return j + (uint32_t)k;
}

struct newpos {
	uint32_t person; /* dense in out */
	uint32_t at;
};

static int newpos_cmp(const void *a, const void *b)
{
	const struct newpos *x = a, *y = b;
	if (x->person != y->person)
		return x->person < y->person ? -1 : 1;
	return x->at < y->at ? -1 : x->at > y->at;
}

/* out's per-person positions from t's: every person's old positions moved
 * up, merged with those of the new records (each list stays ascending). */
static int carry_positions(const struct trace_table *t, const uint32_t *moved, const struct inserted *ins,
			   struct trace_table *out)
{
	struct shifter sh = { ins, NULL };
	struct newpos *np = alloc_n(ins->n, sizeof(*np));
	size_t blocks = ((size_t)t->n >> SHIFT_BLOCK_BITS) + 1, k = 0, w = 0;
	uint32_t o = 0;
	int rc = TRACE_ERR_NOMEM;

	sh.base = alloc_n(blocks, sizeof(uint32_t));
	out->pers_off = alloc_n((size_t)out->npers + 1, sizeof(uint32_t));
	out->p_pos = alloc_n(out->n, sizeof(uint32_t));
	if (!np || !sh.base || !out->pers_off || !out->p_pos)
		goto out;
	for (size_t b = 0; b < blocks; b++) {
		while (k < ins->n && ins->before[k] < (uint32_t)(b << SHIFT_BLOCK_BITS))
			k++;
		sh.base[b] = (uint32_t)k;
	}
	for (size_t i = 0; i < ins->n; i++)
		np[i] = (struct newpos){ out->r_person[ins->at[i]], ins->at[i] };
	qsort(np, ins->n, sizeof(*np), newpos_cmp);
	k = 0;
	for (uint32_t p = 0; p < out->npers; p++) {
		out->pers_off[p] = (uint32_t)w;
		/* the old person now at p, if any */
		while (o < t->npers && (moved ? moved[o] : o) < p)
			o++;
		if (o < t->npers && (moved ? moved[o] : o) == p) {
			uint32_t i = t->pers_off[o], e = t->pers_off[o + 1];
			while (i < e || (k < ins->n && np[k].person == p)) {
				uint32_t old_at = i < e ? shifted(&sh, t->p_pos[i]) : UINT32_MAX;
				if (k < ins->n && np[k].person == p && np[k].at < old_at) {
					out->p_pos[w++] = np[k++].at;
				} else {
					out->p_pos[w++] = old_at;
					i++;
				}
			}
		} else {
			while (k < ins->n && np[k].person == p)
				out->p_pos[w++] = np[k++].at;
		}
	}
	out->pers_off[out->npers] = (uint32_t)w;
	out->pos_all = true;
	rc = w == out->n ? TRACE_OK : TRACE_ERR_CORRUPT;
out:
	wg_free(np);
	wg_free(sh.base);
	if (rc) {
		wg_free(out->pers_off);
		wg_free(out->p_pos);
		out->pers_off = out->p_pos = NULL;
		out->pos_all = false;
	}
	return rc;
}

int trace_table_merge(const struct trace_table *t, const struct trace_rec *recs, size_t n,
		      struct trace_table *out)
{
	uint32_t *moved = NULL, o = 0, pi = 0;
	size_t total, nplaces = 0, c = 0;
	struct inserted ins = { NULL, NULL, 0 };
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
	ins.at = alloc_n(n, sizeof(uint32_t));
	ins.before = alloc_n(n, sizeof(uint32_t));
	if (!out->place_id || !out->place_off || !out->r_person || !out->r_tin || !out->r_dur || !ins.at
	    || !ins.before)
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
			uint32_t at = pi < t->nplace ? t->place_off[pi] : t->n; /* before the next old place */
			merge_place(t, moved, at, at, recs, c, d, out, &o, &ins);
		} else if (d == c) {
			copy_old(t, moved, t->place_off[pi], t->place_off[pi + 1], out, o);
			o += t->place_off[pi + 1] - t->place_off[pi];
		} else {
			merge_place(t, moved, t->place_off[pi], t->place_off[pi + 1], recs, c, d, out, &o, &ins);
		}
		if (from_t)
			pi++;
		c = d;
	}
	out->place_off[out->nplace] = o;
	out->n = o;
	trace_table_flags(out);
	/* a long-running store's positions of every person: carried over (a
	 * pass over them) instead of built again (a scatter over them all) */
	if (t->pos_all && (rc = carry_positions(t, moved, &ins, out)) != TRACE_OK)
		goto fail;
	wg_free(moved);
	wg_free(ins.at);
	wg_free(ins.before);
	return TRACE_OK;
fail:
	wg_free(moved);
	wg_free(ins.at);
	wg_free(ins.before);
	trace_table_free(out);
	return rc;
}
