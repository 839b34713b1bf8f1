/* The store: open, append (validated, de-duplicated, durable), expire, and
 * the tables the queries use, with the log's records taken in. */
#include <errno.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/lib/mem.h"
#include "trace/trace_log.h"

static int make_dir(const char *dir)
{
	if (mkdir(dir, 0700) == 0 || errno == EEXIST)
		return TRACE_OK;
	return TRACE_ERR_IO;
}

#define FOLD_RECORDS_MAX (1u << 29)  /* under a log generation's room */

static bool params_ok(const struct trace_params *p)
{
	return p->retention_days >= 1 && p->retention_days <= 3650
		&& p->max_stay_min >= 1 && p->max_stay_min < UINT16_MAX
		&& p->max_dwell_min >= 1 && p->max_dwell_min < UINT16_MAX
		&& p->cell_size_m >= 200 && p->cell_size_m <= 100000
		&& p->log_fold_records >= 1 && p->log_fold_records <= FOLD_RECORDS_MAX
		&& p->log_fold_seconds >= 1;
}

int trace_store_open(const char *dir, const struct trace_params *p,
		     trace_store **out, struct trace_diag *diag)
{
	struct trace_store *s = NULL;
	struct trace_params prm;
	int rc = TRACE_ERR_NOMEM;
	bool locks = false;

	*out = NULL;
	if (p) {
		prm = *p;
		if (prm.log_fold_records == 0 || prm.log_fold_seconds == 0) { /* callers from before the log */
			struct trace_params d;
			trace_params_default(&d);
			if (prm.log_fold_records == 0)
				prm.log_fold_records = d.log_fold_records;
			if (prm.log_fold_seconds == 0)
				prm.log_fold_seconds = d.log_fold_seconds;
		}
	} else {
		trace_params_default(&prm);
	}
	if (!params_ok(&prm))
		return trace_diag_set(diag, TRACE_ERR_PARAM, 0, 0, "params");
	s = wg_calloc(1, sizeof(*s));
	if (!s)
		goto out;
	s->lock_fd = -1;
	s->dir = wg_strdup(dir);
	if (!s->dir)
		goto out;
	s->p = prm;
	s->next_seq = 1;
	s->idx_state[0] = s->idx_state[1] = TRACE_INDEX_UNTRIED;
	if (pthread_mutex_init(&s->w_mu, NULL) || pthread_mutex_init(&s->q_mu, NULL)
	    || pthread_mutex_init(&s->mu, NULL) || pthread_cond_init(&s->fold_cv, NULL) || pthread_cond_init(&s->gather_cv, NULL)
	    || pthread_cond_init(&s->commit_cv, NULL))
		goto out; /* (never on Linux: these only fail for want of memory) */
	locks = true;
	rc = make_dir(dir);
	if (rc) {
		trace_diag_set(diag, rc, 0, 0, dir);
		goto out;
	}
	/* the log first, then the segments: a fold that finishes in between
	 * leaves its records in both (then the log's are dropped), never in
	 * neither */
	rc = trace_log_load(s, false, diag);
	if (!rc)
		rc = trace_seg_scan_dir(s, diag);
	if (!rc)
		rc = trace_log_drop_folded(s, false);
	if (rc)
		goto out;
	*out = s;
	s = NULL;
out:
	if (s && !locks) {
		wg_free(s->dir);
		wg_free(s);
		s = NULL;
	}
	trace_store_close(s);
	return rc;
}

void trace_store_close(trace_store *s)
{
	if (!s)
		return;
	trace_log_stop(s);
	trace_table_free(&s->tab[0]);
	trace_table_free(&s->tab[1]);
	trace_log_free(s);
	trace_segs_free(s);
	if (s->lock_fd >= 0)
		close(s->lock_fd); /* lets the next writer of the log in */
	pthread_cond_destroy(&s->commit_cv);
	pthread_cond_destroy(&s->gather_cv);
	pthread_cond_destroy(&s->fold_cv);
	pthread_mutex_destroy(&s->mu);
	pthread_mutex_destroy(&s->q_mu);
	pthread_mutex_destroy(&s->w_mu);
	wg_free(s->dir);
	wg_free(s);
}

static size_t segs_count(const struct trace_store *s, enum trace_kind kind)
{
	size_t n = 0;
	for (size_t i = 0; i < s->nseg; i++)
		if (s->segs[i].kind == (uint32_t)kind)
			n += (size_t)s->segs[i].count;
	return n;
}

size_t trace_store_count(const trace_store *s, enum trace_kind kind)
{
	struct trace_store *w = (struct trace_store *)s; /* the lock, not the data, changes */
	size_t n;
	if ((unsigned)kind > TRACE_CELL)
		return 0;
	pthread_mutex_lock(&w->mu);
	n = segs_count(s, kind) + trace_log_count_locked(s, kind);
	pthread_mutex_unlock(&w->mu);
	return n;
}

/* A change of the record set other than a log append: the tables are built
 * again. */
static void records_changed(struct trace_store *s, enum trace_kind kind)
{
	pthread_mutex_lock(&s->mu);
	s->rec_ver[kind]++;
	pthread_mutex_unlock(&s->mu);
}

/* q_mu held. */
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

#define LOG_CHECK_RUN 4096u /* records checked against the log per hold of the lock */

/* Marks (zero = 1) the records of recs[0..n) that the log holds; only those
 * in the log's time span are looked up, a run at a time under the lock. */
static bool mark_logged(struct trace_store *s, enum trace_kind kind, struct trace_rec *recs, size_t n)
{
	uint32_t lo, hi;
	bool marked = false;

	pthread_mutex_lock(&s->mu);
	trace_log_span_locked(s, kind, &lo, &hi);
	pthread_mutex_unlock(&s->mu);
	if (lo > hi)
		return false;
	for (size_t i = 0; i < n;) {
		size_t end = n - i > LOG_CHECK_RUN ? i + LOG_CHECK_RUN : n;
		pthread_mutex_lock(&s->mu);
		for (; i < end; i++)
			if (recs[i].zero == 0 && recs[i].t_min >= lo && recs[i].t_min <= hi
			    && trace_log_has_locked(s, kind, &recs[i])) {
				recs[i].zero = 1;
				marked = true;
			}
		pthread_mutex_unlock(&s->mu);
	}
	return marked;
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
	marked |= mark_logged(s, kind, recs, *n);
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
	/* the log's appends look into it for repeats: its lookups are built
	 * here, not by the first append, under the lock */
	if (s->log_owner && trace_seek_open(s, &g, &g.seek, NULL))
		g.seek = NULL;
	pthread_mutex_lock(&s->mu);
	rc = trace_store_add_seg(s, &g);
	if (!rc)
		s->rec_ver[kind]++;
	pthread_mutex_unlock(&s->mu);
	if (rc) {
		char path[4096];
		if (!trace_seg_path(s, &g, path, sizeof(path)))
			unlink(path); /* not in the list: not on disk either */
		trace_seek_free(g.seek);
		return trace_diag_set(diag, rc, 0, 0, NULL);
	}
	if (added)
		*added = pk->count;
	return TRACE_OK;
}

static int append_locked(trace_store *s, enum trace_kind kind, struct trace_rec *recs,
			 size_t n, int64_t now, size_t *added, struct trace_diag *diag);

int trace_store_append(trace_store *s, enum trace_kind kind, struct trace_rec *recs,
		       size_t n, int64_t now, size_t *added, struct trace_diag *diag)
{
	int rc;
	pthread_mutex_lock(&s->w_mu);
	rc = append_locked(s, kind, recs, n, now, added, diag);
	pthread_mutex_unlock(&s->w_mu);
	return rc;
}

static int append_locked(trace_store *s, enum trace_kind kind, struct trace_rec *recs,
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
struct log_skip {
	struct trace_store *s;
	enum trace_kind kind;
	uint32_t lo, hi;
};

/* A record the log holds (looked up only inside the log's time span). */
static bool in_log(void *ctx, const struct trace_rec *r)
{
	struct log_skip *k = ctx;
	bool held;
	if (r->t_min < k->lo || r->t_min > k->hi)
		return false;
	pthread_mutex_lock(&k->s->mu);
	held = trace_log_has_locked(k->s, k->kind, r);
	pthread_mutex_unlock(&k->s->mu);
	return held;
}

static int load_csv_locked(trace_store *s, enum trace_kind kind, const char *data, size_t len,
			   int64_t now, size_t *read, size_t *added, struct trace_diag *diag);

int trace_store_load_csv(trace_store *s, enum trace_kind kind, const char *data, size_t len,
			 int64_t now, size_t *read, size_t *added, struct trace_diag *diag)
{
	int rc;
	pthread_mutex_lock(&s->w_mu);
	rc = load_csv_locked(s, kind, data, len, now, read, added, diag);
	pthread_mutex_unlock(&s->w_mu);
	return rc;
}

static int load_csv_locked(trace_store *s, enum trace_kind kind, const char *data, size_t len,
			   int64_t now, size_t *read, size_t *added, struct trace_diag *diag)
{
	struct log_skip lk;
	struct trace_skip skip = { in_log, &lk };
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
	lk.s = s;
	lk.kind = kind;
	pthread_mutex_lock(&s->mu);
	trace_log_span_locked(s, kind, &lk.lo, &lk.hi);
	pthread_mutex_unlock(&s->mu);
	rc = trace_seg_pack_runs(&b, old, nold, lk.lo <= lk.hi ? &skip : NULL, &pk);
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
	rc = trace_seg_rewrite(s, i, keep, k);
out:
	trace_seg_unmap(&m);
	wg_free(keep);
	return rc;
}

/* w_mu and q_mu held. */
static int expire_segments(trace_store *s, uint32_t cutoff, size_t *removed)
{
	int rc = TRACE_OK;

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
		records_changed(s, (enum trace_kind)kind);
		if (!gone)
			i++;
	}
	return rc;
}

int trace_store_expire(trace_store *s, int64_t now, size_t *removed)
{
	int64_t cut = (now - (int64_t)s->p.retention_days * 86400) / 60;
	uint32_t cutoff = cut < 0 ? 0 : cut > UINT32_MAX ? UINT32_MAX : (uint32_t)cut;
	size_t dummy = 0;
	int rc;

	if (!removed)
		removed = &dummy;
	*removed = 0;
	pthread_mutex_lock(&s->w_mu);
	/* the log's records into segments first, where expiry reaches them */
	rc = trace_log_fold_all(s);
	if (!rc) {
		pthread_mutex_lock(&s->q_mu);
		rc = expire_segments(s, cutoff, removed);
		pthread_mutex_unlock(&s->q_mu);
	}
	pthread_mutex_unlock(&s->w_mu);
	return rc;
}

/* The table of the segments of a snapshot: loaded from the index file when
 * that is current and whole, else built (and saved, for a one-shot store). */
static int table_of_segments(struct trace_store *s, enum trace_kind kind, const struct trace_seg *segs,
			     size_t nseg, struct trace_table *t)
{
	bool have = false;
	int st = TRACE_INDEX_UNTRIED, rc;

	for (size_t i = 0; i < nseg && !have; i++)
		have = segs[i].kind == (uint32_t)kind && segs[i].count > 0;
	if (have)
		st = trace_idx_load(s, segs, nseg, kind, t, NULL);
	if (st != TRACE_INDEX_USED) {
		rc = trace_table_build(s, segs, nseg, kind, t, NULL);
		if (rc)
			return rc;
		/* a file that cannot be written only costs the next process a build */
		if (have && s->one_shot)
			(void)trace_idx_save(s, segs, nseg, kind, t);
	}
	s->idx_state[kind] = st;
	return TRACE_OK;
}

/* A copy of the segment list (without the point lookups). mu held. */
static int segs_snapshot(const struct trace_store *s, struct trace_seg **out, size_t *n)
{
	size_t bytes;
	*out = NULL;
	*n = s->nseg;
	if (!wg_size_mul(s->nseg ? s->nseg : 1, sizeof(**out), &bytes) || !(*out = wg_malloc(bytes)))
		return TRACE_ERR_NOMEM;
	for (size_t i = 0; i < s->nseg; i++) {
		(*out)[i] = s->segs[i];
		(*out)[i].seek = NULL;
	}
	return TRACE_OK;
}

/* Brings the table of a kind up to date with every acknowledged record:
 * built from the segments when the record set changed otherwise than by
 * the log (or the records it needs were dropped from memory), then the
 * log's records not in it yet merged in. q_mu held. */
static int table_update(struct trace_store *s, enum trace_kind kind)
{
	struct trace_table *t = &s->tab[kind], fresh, merged;
	struct trace_logsnap snap;
	struct trace_seg *segs = NULL;
	struct trace_rec *recs = NULL;
	size_t nseg = 0, n = 0;
	uint64_t ver;
	bool full;
	int rc = TRACE_OK;

	memset(&fresh, 0, sizeof(fresh));
	memset(&snap, 0, sizeof(snap));
	pthread_mutex_lock(&s->mu);
	ver = s->rec_ver[kind];
	full = !s->built[kind] || s->tab_ver[kind] != ver;
	if (!full && s->tab_lsn[kind] == trace_log_visible_locked(s, kind)) {
		pthread_mutex_unlock(&s->mu);
		return TRACE_OK;
	}
	if (!full) {
		rc = trace_log_snap(s, kind, false, s->tab_lsn[kind], &snap);
		if (rc == 1) { /* records it needs were dropped from memory */
			full = true;
			rc = TRACE_OK;
		}
	}
	if (full && !rc) {
		rc = segs_snapshot(s, &segs, &nseg);
		if (!rc)
			rc = trace_log_snap(s, kind, true, 0, &snap);
	}
	pthread_mutex_unlock(&s->mu);
	if (!rc)
		rc = trace_logsnap_recs(&snap, &recs, &n);
	if (rc)
		goto out;
	if (full) {
		invalidate(s, kind);
		rc = table_of_segments(s, kind, segs, nseg, &fresh);
		if (rc)
			goto out;
		*t = fresh;
		memset(&fresh, 0, sizeof(fresh));
	}
	if (n > 0) {
		rc = trace_table_merge(t, recs, n, &merged);
		if (rc) {
			invalidate(s, kind);
			goto out;
		}
		trace_table_free(t);
		*t = merged;
	}
	s->built[kind] = true;
	s->tab_ver[kind] = ver;
	s->tab_lsn[kind] = snap.end_lsn;
out:
	trace_logsnap_release(s, &snap);
	wg_free(recs);
	wg_free(segs);
	return rc;
}

/* The table of a kind, current, with every person's positions in a
 * long-running store. q_mu held. */
static int table_ready(struct trace_store *s, enum trace_kind kind)
{
	struct trace_table *t = &s->tab[kind];
	int rc = table_update(s, kind);

	if (rc)
		return rc;
	if (!s->one_shot && !t->pos_all) {
		rc = trace_table_positions(t, NULL, 0);
		if (rc)
			invalidate(s, kind);
		return rc;
	}
	return TRACE_OK;
}

int trace_store_build_locked(trace_store *s)
{
	for (int k = 0; k < 2; k++) {
		int rc = table_ready(s, (enum trace_kind)k);
		if (rc)
			return rc;
	}
	return TRACE_OK;
}

int trace_store_build(trace_store *s)
{
	int rc;
	pthread_mutex_lock(&s->q_mu);
	rc = trace_store_build_locked(s);
	pthread_mutex_unlock(&s->q_mu);
	return rc;
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

static int place_count_locked(trace_store *s, enum trace_kind kind, uint32_t place, int64_t since,
			      size_t *count);

int trace_place_count(trace_store *s, enum trace_kind kind, uint32_t place, int64_t since, size_t *count)
{
	int rc;
	*count = 0;
	if (kind != TRACE_SCAN && kind != TRACE_CELL)
		return TRACE_ERR_PARAM;
	pthread_mutex_lock(&s->q_mu);
	rc = place_count_locked(s, kind, place, since, count);
	pthread_mutex_unlock(&s->q_mu);
	return rc;
}

static int place_count_locked(trace_store *s, enum trace_kind kind, uint32_t place, int64_t since,
			      size_t *count)
{
	int rc = trace_store_build_locked(s);
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
