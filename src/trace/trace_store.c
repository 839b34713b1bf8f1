/* The store: open, append (validated, de-duplicated, durable), expire. */
#include <errno.h>
#include <string.h>
#include <sys/stat.h>

#include "core/lib/mem.h"
#include "trace/trace_int.h"

static int make_dir(const char *dir)
{
	if (mkdir(dir, 0700) == 0 || errno == EEXIST)
		return TRACE_OK;
	return TRACE_ERR_IO;
}

static bool params_ok(const struct trace_params *p)
{
	return p->retention_days >= 1 && p->retention_days <= 3650
		&& p->max_stay_min >= 1 && p->max_stay_min < UINT16_MAX
		&& p->max_dwell_min >= 1 && p->max_dwell_min < UINT16_MAX
		&& p->cell_size_m >= 200 && p->cell_size_m <= 100000;
}

int trace_store_open(const char *dir, const struct trace_params *p,
		     trace_store **out, struct trace_diag *diag)
{
	struct trace_store *s = NULL;
	int rc = TRACE_ERR_NOMEM;

	*out = NULL;
	if (p && !params_ok(p))
		return trace_diag_set(diag, TRACE_ERR_PARAM, 0, 0, "params");
	s = wg_calloc(1, sizeof(*s));
	if (!s)
		goto out;
	s->dir = wg_strdup(dir);
	if (!s->dir)
		goto out;
	if (p)
		s->p = *p;
	else
		trace_params_default(&s->p);
	s->next_seq = 1;
	s->idx_state[0] = s->idx_state[1] = TRACE_INDEX_UNTRIED;
	rc = make_dir(dir);
	if (rc) {
		trace_diag_set(diag, rc, 0, 0, dir);
		goto out;
	}
	rc = trace_seg_scan_dir(s, diag);
	if (rc)
		goto out;
	*out = s;
	s = NULL;
out:
	trace_store_close(s);
	return rc;
}

void trace_store_close(trace_store *s)
{
	if (!s)
		return;
	trace_table_free(&s->tab[0]);
	trace_table_free(&s->tab[1]);
	wg_free(s->segs);
	wg_free(s->dir);
	wg_free(s);
}

size_t trace_store_count(const trace_store *s, enum trace_kind kind)
{
	size_t n = 0;
	for (size_t i = 0; i < s->nseg; i++)
		if (s->segs[i].kind == (uint32_t)kind)
			n += (size_t)s->segs[i].count;
	return n;
}

static void invalidate(struct trace_store *s, enum trace_kind kind)
{
	trace_table_free(&s->tab[kind]);
	s->built[kind] = false;
}

/* Marks (by setting zero = 1) the records of recs[0..n) (sorted) that the
 * segment holds: one merge pass over the decoded segment. */
static int mark_dups(const struct trace_map *m, struct trace_rec *recs, size_t n)
{
	struct trace_dec d;
	struct trace_rec cur;
	size_t i = 0;
	int got = 0;

	trace_dec_init(&d, m);
	while (i < n && (got = trace_dec_next(&d, &cur)) > 0) {
		int c = 1;
		while (i < n && (c = trace_rec_cmp(&recs[i], &cur)) < 0)
			i++;
		if (i < n && c == 0)
			recs[i++].zero = 1;
	}
	return i < n && got < 0 ? TRACE_ERR_CORRUPT : TRACE_OK;
}

static int drop_existing(struct trace_store *s, enum trace_kind kind, struct trace_rec *recs,
			 size_t *n, struct trace_diag *diag)
{
	uint32_t min_t = UINT32_MAX, max_t = 0;
	size_t w = 0;

	for (size_t i = 0; i < *n; i++) {
		if (recs[i].t_min < min_t)
			min_t = recs[i].t_min;
		if (recs[i].t_min + recs[i].dur > max_t)
			max_t = recs[i].t_min + recs[i].dur;
	}
	bool marked = false;

	for (size_t g = 0; g < s->nseg; g++) {
		struct trace_map m;
		const struct trace_seg *seg = &s->segs[g];
		int rc;
		if (seg->kind != (uint32_t)kind || seg->count == 0 || seg->max_t < min_t || seg->min_t > max_t)
			continue;
		rc = trace_seg_map(s, seg, &m, diag);
		if (rc)
			return rc;
		rc = mark_dups(&m, recs, *n);
		marked = true;
		trace_seg_unmap(&m);
		if (rc)
			return trace_diag_set(diag, rc, 0, 0, "segment");
	}
	if (!marked)
		return TRACE_OK; /* nothing stored overlaps: the batch is untouched */
	for (size_t i = 0; i < *n; i++) {
		if (recs[i].zero != 0)
			continue;
		if (w != i)
			recs[w] = recs[i];
		w++;
	}
	*n = w;
	return TRACE_OK;
}

/* Writes a packed payload as the store's next segment and takes it in. */
static int add_packed(struct trace_store *s, enum trace_kind kind, const struct trace_packed *pk, size_t *added,
		      struct trace_diag *diag)
{
	struct trace_seg g;
	int rc;

	memset(&g, 0, sizeof(g));
	g.seq = s->next_seq;
	g.kind = (uint32_t)kind;
	rc = trace_seg_write_packed(s, &g, pk, false);
	if (rc)
		return trace_diag_set(diag, rc, 0, 0, "segment");
	s->next_seq = g.seq + 1; /* past any number another loader took meanwhile */
	rc = trace_store_add_seg(s, &g);
	if (rc)
		return rc;
	invalidate(s, kind);
	if (added)
		*added = pk->count;
	return TRACE_OK;
}

int trace_store_append(trace_store *s, enum trace_kind kind, struct trace_rec *recs,
		       size_t n, int64_t now, size_t *added, struct trace_diag *diag)
{
	uint32_t max_len = trace_max_len(&s->p, kind);
	int64_t now_min = now / 60;
	struct trace_packed pk;
	int rc;

	if (added)
		*added = 0;
	if ((unsigned)kind > TRACE_CELL)
		return trace_diag_set(diag, TRACE_ERR_PARAM, 0, 0, "kind");
	for (size_t i = 0; i < n; i++) {
		rc = trace_check_rec(&recs[i], now_min, max_len);
		if (rc)
			return trace_diag_set(diag, rc, i + 1, TRACE_BIN_HEADER + i * sizeof(*recs), "record");
	}
	if (n > TRACE_MAX_RECS || trace_store_count(s, kind) + n > TRACE_MAX_RECS)
		return trace_diag_set(diag, TRACE_ERR_TOO_LARGE, 0, 0, "records");
	trace_recs_sort(recs, n);
	n = trace_recs_unique(recs, n);
	rc = drop_existing(s, kind, recs, &n, diag);
	if (rc)
		return rc;
	if (n == 0)
		return TRACE_OK;
	memset(&pk, 0, sizeof(pk));
	rc = trace_seg_encode(recs, n, &pk.buf, &pk.len);
	if (rc)
		return trace_diag_set(diag, rc, 0, 0, NULL);
	pk.count = n;
	trace_recs_span(recs, n, &pk.min_t, &pk.max_t);
	rc = add_packed(s, kind, &pk, added, diag);
	wg_free(pk.buf);
	return rc;
}

/* Maps the stored segments of a kind whose time span meets the runs' and
 * starts a decoder on each: the merge leaves out what they hold. */
static int open_stored(struct trace_store *s, enum trace_kind kind, const struct trace_runs *b,
		       struct trace_stored **old, size_t *nold, struct trace_diag *diag)
{
	uint32_t min_t = UINT32_MAX, max_t = 0;
	size_t bytes;

	*old = NULL;
	*nold = 0;
	if (trace_store_count(s, kind) == 0)
		return TRACE_OK;
	for (int i = 0; i < 2; i++) {
		uint32_t lo, hi;
		trace_recs_span(b->r[i], b->n[i], &lo, &hi);
		if (b->n[i] && lo < min_t)
			min_t = lo;
		if (hi > max_t)
			max_t = hi;
	}
	if (!wg_size_mul(s->nseg, sizeof(**old), &bytes) || !(*old = wg_calloc(1, bytes)))
		return trace_diag_set(diag, TRACE_ERR_NOMEM, 0, 0, NULL);
	for (size_t g = 0; g < s->nseg; g++) {
		const struct trace_seg *seg = &s->segs[g];
		struct trace_stored *o = &(*old)[*nold];
		int rc;
		if (seg->kind != (uint32_t)kind || seg->count == 0 || seg->max_t < min_t || seg->min_t > max_t)
			continue;
		rc = trace_seg_map(s, seg, &o->m, diag);
		if (rc)
			return rc;
		trace_dec_init(&o->d, &o->m);
		(*nold)++;
	}
	return TRACE_OK;
}

static void close_stored(struct trace_stored *old, size_t nold)
{
	for (size_t g = 0; g < nold; g++)
		trace_seg_unmap(&old[g].m);
	wg_free(old);
}

/* Parsing, sorting, de-duplicating and packing without a pass of its own
 * each: the two halves of the file are parsed and sorted on two threads,
 * then merged straight into the packed payload. */
int trace_store_load_csv(trace_store *s, enum trace_kind kind, const char *data, size_t len,
			 int64_t now, size_t *read, size_t *added, struct trace_diag *diag)
{
	struct trace_runs b;
	struct trace_packed pk;
	struct trace_stored *old = NULL;
	size_t n, nold = 0;
	int rc;

	memset(&b, 0, sizeof(b));
	memset(&pk, 0, sizeof(pk));
	if (read)
		*read = 0;
	if (added)
		*added = 0;
	if ((unsigned)kind > TRACE_CELL)
		return trace_diag_set(diag, TRACE_ERR_PARAM, 0, 0, "kind");
	rc = trace_csv_sorted(data, len, kind, &s->p, now, &b, diag);
	if (rc)
		return rc;
	n = b.n[0] + b.n[1];
	if (read)
		*read = n;
	if (n > TRACE_MAX_RECS || trace_store_count(s, kind) + n > TRACE_MAX_RECS) {
		rc = trace_diag_set(diag, TRACE_ERR_TOO_LARGE, 0, 0, "records");
		goto out;
	}
	rc = open_stored(s, kind, &b, &old, &nold, diag);
	if (rc)
		goto out;
	rc = trace_seg_pack_runs(&b, old, nold, &pk);
	if (rc) {
		trace_diag_set(diag, rc, 0, 0, rc == TRACE_ERR_NOMEM ? NULL : "segment");
		goto out;
	}
	trace_runs_free(&b); /* the records are packed: their memory is not needed for the write */
	if (pk.count)
		rc = add_packed(s, kind, &pk, added, diag);
out:
	close_stored(old, nold);
	trace_runs_free(&b);
	wg_free(pk.buf);
	return rc;
}

static int expire_seg(struct trace_store *s, size_t i, uint32_t cutoff, size_t *removed, bool *gone)
{
	struct trace_map m;
	struct trace_dec dec;
	struct trace_rec *keep = NULL, r;
	size_t k = 0, bytes;
	int rc, got;

	*gone = false;
	rc = trace_seg_map(s, &s->segs[i], &m, NULL);
	if (rc)
		return rc;
	rc = TRACE_ERR_NOMEM;
	if (!wg_size_mul(m.n ? m.n : 1, sizeof(*keep), &bytes) || !(keep = wg_malloc(bytes)))
		goto out;
	trace_dec_init(&dec, &m);
	while ((got = trace_dec_next(&dec, &r)) > 0)
		if ((uint64_t)r.t_min + r.dur >= cutoff)
			keep[k++] = r;
	rc = got < 0 ? TRACE_ERR_CORRUPT : TRACE_OK;
	if (rc)
		goto out;
	if (k == m.n)
		goto out;
	*removed += m.n - k;
	if (k == 0) {
		rc = trace_seg_remove(s, i);
		*gone = rc == TRACE_OK;
		goto out;
	}
	rc = trace_seg_write(s, &s->segs[i], keep, k, true);
out:
	trace_seg_unmap(&m);
	wg_free(keep);
	return rc;
}

int trace_store_expire(trace_store *s, int64_t now, size_t *removed)
{
	int64_t cut = (now - (int64_t)s->p.retention_days * 86400) / 60;
	uint32_t cutoff = cut < 0 ? 0 : cut > UINT32_MAX ? UINT32_MAX : (uint32_t)cut;
	size_t dummy = 0;
	int rc = TRACE_OK;

	if (!removed)
		removed = &dummy;
	*removed = 0;
	for (size_t i = 0; i < s->nseg;) {
		struct trace_seg *g = &s->segs[i];
		uint32_t kind = g->kind;
		bool gone = false;
		if (g->min_t >= cutoff) {
			i++;
			continue;
		}
		if (g->max_t < cutoff) {
			*removed += (size_t)g->count;
			rc = trace_seg_remove(s, i);
			gone = rc == TRACE_OK;
		} else {
			rc = expire_seg(s, i, cutoff, removed, &gone);
		}
		if (rc)
			return rc;
		invalidate(s, (enum trace_kind)kind);
		if (!gone)
			i++;
	}
	return rc;
}

/* The table of a kind: loaded from the index file when that is current
 * and whole, else built from the segments (and saved, for a one-shot
 * store). A long-running store also indexes every person's positions. */
static int table_ready(struct trace_store *s, enum trace_kind kind)
{
	struct trace_table *t = &s->tab[kind];
	bool have = trace_store_count(s, kind) > 0;
	int st = TRACE_INDEX_UNTRIED, rc;

	if (!s->built[kind]) {
		trace_table_free(t);
		if (have) {
			st = trace_idx_load(s, kind, t, NULL);
		}
		if (st != TRACE_INDEX_USED) {
			rc = trace_table_build(s, kind, NULL);
			if (rc)
				return rc;
			/* a file that cannot be written only costs the next process a build */
			if (have && s->one_shot)
				(void)trace_idx_save(s, kind, t);
		}
		s->idx_state[kind] = st;
		s->built[kind] = true;
	}
	if (!s->one_shot && !t->pos_all) {
		rc = trace_table_positions(t, NULL, 0);
		if (rc)
			invalidate(s, kind);
		return rc;
	}
	return TRACE_OK;
}

int trace_store_build(trace_store *s)
{
	for (int k = 0; k < 2; k++) {
		int rc = table_ready(s, (enum trace_kind)k);
		if (rc)
			return rc;
	}
	return TRACE_OK;
}

void trace_store_one_shot(trace_store *s)
{
	s->one_shot = true;
}

int trace_store_index_state(const trace_store *s, enum trace_kind kind)
{
	return (unsigned)kind > TRACE_CELL ? TRACE_ERR_PARAM : s->idx_state[kind];
}

double trace_store_bytes_per_rec(const trace_store *s, enum trace_kind kind)
{
	const struct trace_table *t = &s->tab[kind];
	double bytes;
	if (!s->built[kind] || t->n == 0)
		return 0.0;
	bytes = (double)t->n * (4 + 4 + 2 + 4) + (double)(t->nplace + 1) * 8
		+ (double)(t->npers + 1) * 8;
	return bytes / t->n;
}

uint32_t trace_store_max_dur(const trace_store *s, enum trace_kind kind)
{
	return s->built[kind] ? s->tab[kind].max_dur : 0;
}

int trace_place_count(trace_store *s, enum trace_kind kind, uint32_t place, int64_t since, size_t *count)
{
	*count = 0;
	if (kind != TRACE_SCAN && kind != TRACE_CELL)
		return TRACE_ERR_PARAM;
	int rc = trace_store_build(s);
	if (rc)
		return rc;
	const struct trace_table *t = &s->tab[kind];
	if (t->n == 0 || t->nplace == 0)
		return TRACE_OK;
	/* The dense index of the place: places are sorted by id. */
	uint32_t lo = 0, hi = t->nplace;
	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;
		if (trace_table_place_id(t, mid) < place)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == t->nplace || trace_table_place_id(t, lo) != place)
		return TRACE_OK;
	int64_t since_min = since <= 0 ? 0 : since / 60;
	uint32_t from = trace_table_lower(t, lo, since_min > UINT32_MAX ? UINT32_MAX : (uint32_t)since_min);
	*count = t->place_off[lo + 1] - from;
	return TRACE_OK;
}
