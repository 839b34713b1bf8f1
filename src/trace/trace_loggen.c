/* The scan log in memory: its generations (records in chunks that never
 * move, a hash set of them for finding repeats), read from the log files
 * at open, and what the rest of the store asks of them: counts, repeats,
 * the records a table must take in (snapshots), statistics. trace_log.c
 * has the design. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/lib/mem.h"
#include "trace/trace_log.h"

#define TLOG_SLOTS_MAX   (1u << 23)   /* hash slots made ready ahead of need */

double tlog_seconds(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* ---- generations ---------------------------------------------------------- */


static inline uint32_t rec_hash(const struct trace_rec *r)
{
	uint64_t a = (uint64_t)r->person << 32 | r->place, b = (uint64_t)r->t_min << 16 | r->dur;
	uint64_t h = a * 0x9E3779B97F4A7C15ull ^ (b + 0x632BE59BD9B4E019ull) * 0xC2B2AE3D27D4EB4Full;
	return (uint32_t)(h >> 29) ^ (uint32_t)h;
}

static inline bool rec_eq(const struct trace_rec *a, const struct trace_rec *b)
{
	return a->person == b->person && a->place == b->place && a->t_min == b->t_min && a->dur == b->dur;
}

static void gen_free(struct tlog_gen *g)
{
	if (!g)
		return;
	if (g->fd >= 0) {
		/* the room written ahead goes with a clean close (a crash leaves
		 * it, and the reader takes it for what it is) */
		if (g->room_end > g->data_end && ftruncate(g->fd, (off_t)g->data_end) != 0)
			trace_warn("扫码日志:关闭时未能截去预先写下的空间 / scan log: the room written ahead could not be cut at close");
		close(g->fd);
	}
	if (g->chunk)
		for (size_t c = 0; c < TLOG_NCHUNK && g->chunk[c]; c++)
			wg_free(g->chunk[c]);
	wg_free(g->chunk);
	wg_free(g->slot);
	wg_free(g);
}

void tlog_gen_unref(struct tlog_gen *g)
{
	if (g && --g->refs == 0)
		gen_free(g);
}

static int slots_make(struct tlog_gen *g, size_t cap)
{
	uint32_t *slot = wg_calloc(cap, sizeof(uint32_t));
	if (!slot)
		return TRACE_ERR_NOMEM;
	for (size_t i = 0; i < g->n; i++) {
		size_t j = rec_hash(tlog_rec(g, i)) & (cap - 1);
		while (slot[j])
			j = (j + 1) & (cap - 1);
		slot[j] = (uint32_t)(i + 1);
	}
	wg_free(g->slot);
	g->slot = slot;
	g->cap = cap;
	return TRACE_OK;
}

struct tlog_gen *tlog_gen_new(uint32_t kind, uint64_t gen, uint64_t first_lsn, size_t slots)
{
	struct tlog_gen *g = wg_calloc(1, sizeof(*g));
	size_t cap = 1024;

	if (!g)
		return NULL;
	g->gen = gen;
	g->kind = kind;
	g->first_lsn = first_lsn;
	g->fd = -1;
	g->refs = 1;
	g->min_t = UINT32_MAX;
	g->chunk = wg_calloc(TLOG_NCHUNK, sizeof(*g->chunk));
	while (cap < slots && cap < TLOG_SLOTS_MAX)
		cap *= 2;
	if (!g->chunk || slots_make(g, cap)) {
		gen_free(g);
		return NULL;
	}
	return g;
}

/* The index of r in g, or SIZE_MAX. */
size_t tlog_gen_find(const struct tlog_gen *g, const struct trace_rec *r)
{
	size_t j;

	if (!g->slot || g->n == 0 || r->t_min < g->min_t || r->t_min > g->max_t)
		return SIZE_MAX;
	j = rec_hash(r) & (g->cap - 1);
	while (g->slot[j]) {
		size_t i = g->slot[j] - 1;
		if (rec_eq(tlog_rec(g, i), r))
			return i;
		j = (j + 1) & (g->cap - 1);
	}
	return SIZE_MAX;
}

/* Appends r: its chunk made when needed, the hash set grown at half full. */
int tlog_gen_push(struct tlog_gen *g, const struct trace_rec *r)
{
	size_t i = g->n, c = i >> TLOG_CHUNK_BITS, j;

	if (i >= TLOG_MAX_GEN)
		return TRACE_ERR_TOO_LARGE;
	if (!g->chunk[c] && !(g->chunk[c] = wg_malloc(TLOG_CHUNK * sizeof(struct trace_rec))))
		return TRACE_ERR_NOMEM;
	if ((i + 1) * 2 > g->cap && slots_make(g, g->cap * 2))
		return TRACE_ERR_NOMEM;
	*tlog_rec(g, i) = *r;
	j = rec_hash(r) & (g->cap - 1);
	while (g->slot[j])
		j = (j + 1) & (g->cap - 1);
	g->slot[j] = (uint32_t)(i + 1);
	if (r->t_min < g->min_t)
		g->min_t = r->t_min;
	if (r->t_min > g->max_t)
		g->max_t = r->t_min;
	if (i == 0)
		g->first_at = tlog_seconds();
	g->n = i + 1;
	return TRACE_OK;
}

int tlog_list_push(struct tlog_gen ***list, size_t *n, size_t *cap, struct tlog_gen *g)
{
	if (*n == *cap) {
		size_t c = *cap ? *cap * 2 : 8;
		struct tlog_gen **x = wg_realloc(*list, c * sizeof(*x));
		if (!x)
			return TRACE_ERR_NOMEM;
		*list = x;
		*cap = c;
	}
	(*list)[(*n)++] = g;
	return TRACE_OK;
}

void tlog_list_remove(struct tlog_gen **list, size_t *n, const struct tlog_gen *g)
{
	for (size_t i = 0; i < *n; i++)
		if (list[i] == g) {
			memmove(&list[i], &list[i + 1], (*n - i - 1) * sizeof(*list));
			(*n)--;
			return;
		}
}

static void log_clear(struct trace_log *L)
{
	for (size_t i = 0; i < L->nopen; i++)
		tlog_gen_unref(L->open[i]);
	for (size_t i = 0; i < L->nfolded; i++)
		tlog_gen_unref(L->folded[i]);
	wg_free(L->open);
	wg_free(L->folded);
	wg_free(L->cbuf);
	memset(L, 0, sizeof(*L));
}

void trace_log_free(struct trace_store *s)
{
	for (int k = 0; k < 2; k++) {
		if (!s->log[k])
			continue;
		log_clear(s->log[k]);
		wg_free(s->log[k]);
		s->log[k] = NULL;
	}
}

/* Hash slots made ready for a new generation: room for half as many again
 * as a fold takes, so that the set is not grown (all of it rehashed under
 * the lock) while the fold catches up. Pages of calloc'ed memory cost
 * nothing until touched. */
size_t tlog_slots_for(const struct trace_store *s)
{
	return (size_t)s->p.log_fold_records * 3;
}

/* ---- loading -------------------------------------------------------------- */

static int load_gen(struct trace_store *s, struct trace_log *L, uint32_t kind, uint64_t gen, bool owner,
		    uint64_t *prev_end, struct trace_diag *d)
{
	char path[4096];
	struct tlog_file f;
	struct tlog_gen *g = NULL;
	int rc;

	rc = tlog_path(s->dir, kind, gen, path, sizeof(path));
	if (rc)
		return trace_diag_set(d, rc, 0, 0, "path");
	rc = tlog_read(path, kind, gen, UINT16_MAX, owner, &f, d);
	if (rc)
		return rc;
	if (f.has_frames && f.first_lsn < *prev_end) {
		/* overlaps the generation before it: a replayed batch */
		rc = trace_diag_set(d, TRACE_ERR_SEQUENCE, 0, TLOG_HEADER, strrchr(path, '/') + 1);
		goto out;
	}
	if (f.room && owner && (rc = tlog_truncate(path, f.valid_len))) {
		/* the room written ahead goes quietly: appends go to a fresh generation */
		trace_diag_set(d, rc, 0, f.valid_len, strrchr(path, '/') + 1);
		goto out;
	}
	if (f.torn && owner) {
		/* never acknowledged: cut, so that appends go after the last good frame */
		trace_warn("%s: 文件尾部 %llu 字节不完整(崩溃时未写完,从未确认),已丢弃 / torn tail of %llu bytes "
			   "at offset %llu dropped (cut short by a crash, never acknowledged)", strrchr(path, '/') + 1,
			   (unsigned long long)f.torn, (unsigned long long)f.torn, (unsigned long long)f.valid_len);
		rc = tlog_truncate(path, f.valid_len);
		if (rc) {
			trace_diag_set(d, rc, 0, f.valid_len, strrchr(path, '/') + 1);
			goto out;
		}
		L->torn += f.torn;
	}
	rc = TRACE_ERR_NOMEM;
	g = tlog_gen_new(kind, gen, f.has_frames ? f.first_lsn : *prev_end, f.n * 2);
	if (!g)
		goto nomem;
	for (size_t i = 0; i < f.n; i++)
		if ((rc = tlog_gen_push(g, &f.recs[i])) != TRACE_OK)
			goto nomem;
	g->sent = g->n;
	*prev_end = g->first_lsn + g->n;
	rc = tlog_list_push(&L->open, &L->nopen, &L->capopen, g);
	if (rc)
		goto nomem;
	g = NULL;
	goto out;
nomem:
	trace_diag_set(d, rc, 0, 0, strrchr(path, '/') + 1);
out:
	gen_free(g);
	tlog_file_free(&f);
	return rc;
}

int trace_log_load(struct trace_store *s, bool owner, struct trace_diag *d)
{
	for (uint32_t kind = 0; kind < 2; kind++) {
		struct trace_log *L = s->log[kind];
		uint64_t *gens = NULL, prev_end = 0;
		size_t n = 0;
		int rc;

		if (!L && !(L = s->log[kind] = wg_calloc(1, sizeof(*L))))
			return trace_diag_set(d, TRACE_ERR_NOMEM, 0, 0, NULL);
		log_clear(L);
		rc = tlog_list(s->dir, kind, &gens, &n);
		if (rc)
			return trace_diag_set(d, rc, 0, 0, "log files");
		for (size_t i = 0; i < n && !rc; i++)
			rc = load_gen(s, L, kind, gens[i], owner, &prev_end, d);
		if (n)
			L->next_gen = gens[n - 1] + 1;
		wg_free(gens);
		if (rc)
			return rc;
		L->next_lsn = L->durable_lsn = prev_end;
	}
	return TRACE_OK;
}

int tlog_unlink_gen(const struct trace_store *s, uint32_t kind, uint64_t gen)
{
	char path[4096];
	int rc = tlog_path(s->dir, kind, gen, path, sizeof(path));
	if (rc)
		return rc;
	if (unlink(path) != 0 && errno != ENOENT)
		return TRACE_ERR_IO;
	return tlog_fsync_dir(s->dir);
}

int trace_log_drop_folded(struct trace_store *s, bool owner)
{
	int rc = TRACE_OK;

	for (uint32_t kind = 0; kind < 2; kind++) {
		struct trace_log *L = s->log[kind];
		for (size_t i = 0; i < s->nseg; i++) {
			const struct trace_seg *g = &s->segs[i];
			if (g->kind != kind || !(g->flags & TRACE_FLAG_LOG))
				continue;
			if ((uint64_t)g->log_gen + 1 > L->next_gen) /* never reuse a folded number */
				L->next_gen = (uint64_t)g->log_gen + 1;
			for (size_t j = 0; j < L->nopen; j++) {
				struct tlog_gen *x = L->open[j];
				if (x->gen != g->log_gen)
					continue;
				/* the fold finished but for deleting the file */
				tlog_list_remove(L->open, &L->nopen, x);
				if (owner && !rc)
					rc = tlog_unlink_gen(s, kind, x->gen);
				tlog_gen_unref(x);
				break;
			}
		}
	}
	return rc;
}

/* The writer deletes generations with no record (a fresh one every start,
 * one whose only frame was a torn tail): nothing to fold. */
int tlog_drop_empty(struct trace_store *s)
{
	int rc = TRACE_OK;

	for (uint32_t kind = 0; kind < 2; kind++) {
		struct trace_log *L = s->log[kind];
		for (size_t j = 0; j < L->nopen;) {
			struct tlog_gen *x = L->open[j];
			if (x->n > 0) {
				j++;
				continue;
			}
			tlog_list_remove(L->open, &L->nopen, x);
			if (!rc)
				rc = tlog_unlink_gen(s, kind, x->gen);
			tlog_gen_unref(x);
		}
	}
	return rc;
}

/* ---- with the lock held --------------------------------------------------- */


size_t trace_log_count_locked(const struct trace_store *s, enum trace_kind kind)
{
	const struct trace_log *L = s->log[kind];
	size_t n = 0;
	if (!L)
		return 0;
	for (size_t i = 0; i < L->nopen; i++)
		n += (size_t)tlog_visible_in(L, L->open[i]);
	return n;
}

bool trace_log_has_locked(const struct trace_store *s, enum trace_kind kind, const struct trace_rec *r)
{
	const struct trace_log *L = s->log[kind];
	for (size_t i = 0; L && i < L->nopen; i++)
		if (tlog_gen_find(L->open[i], r) != SIZE_MAX)
			return true;
	return false;
}

void trace_log_span_locked(const struct trace_store *s, enum trace_kind kind, uint32_t *min_t, uint32_t *max_t)
{
	const struct trace_log *L = s->log[kind];
	*min_t = UINT32_MAX;
	*max_t = 0;
	for (size_t i = 0; L && i < L->nopen; i++) {
		const struct tlog_gen *g = L->open[i];
		if (g->n && g->min_t < *min_t)
			*min_t = g->min_t;
		if (g->n && g->max_t > *max_t)
			*max_t = g->max_t;
	}
}

uint64_t trace_log_visible_locked(const struct trace_store *s, enum trace_kind kind)
{
	return s->log[kind] ? s->log[kind]->durable_lsn : 0;
}

/* ---- snapshots for the tables ----------------------------------------------- */

static int snap_add(struct trace_logsnap *snap, struct tlog_gen *g, size_t from, size_t to)
{
	size_t c = snap->ngens + 1;
	struct tlog_gen **gx = wg_realloc(snap->gens, c * sizeof(*gx));
	size_t *fx, *tx;
	if (!gx)
		return TRACE_ERR_NOMEM;
	snap->gens = gx;
	fx = wg_realloc(snap->from, c * sizeof(*fx));
	if (!fx)
		return TRACE_ERR_NOMEM;
	snap->from = fx;
	tx = wg_realloc(snap->to, c * sizeof(*tx));
	if (!tx)
		return TRACE_ERR_NOMEM;
	snap->to = tx;
	snap->gens[snap->ngens] = g;
	snap->from[snap->ngens] = from;
	snap->to[snap->ngens] = to;
	snap->ngens = c;
	g->refs++;
	return TRACE_OK;
}

static void snap_drop(struct trace_logsnap *snap)
{
	for (size_t i = 0; i < snap->ngens; i++)
		tlog_gen_unref(snap->gens[i]);
	wg_free(snap->gens);
	wg_free(snap->from);
	wg_free(snap->to);
	memset(snap, 0, sizeof(*snap));
}

int trace_log_snap(struct trace_store *s, enum trace_kind kind, bool full, uint64_t from_lsn,
		   struct trace_logsnap *snap)
{
	struct trace_log *L = s->log[kind];
	int rc = TRACE_OK;

	memset(snap, 0, sizeof(*snap));
	if (!L)
		return TRACE_OK;
	snap->end_lsn = L->durable_lsn;
	if (!full && from_lsn < L->kept_lsn)
		return 1;
	for (int pass = full ? 1 : 0; pass < 2 && !rc; pass++) {
		struct tlog_gen **list = pass ? L->open : L->folded;
		size_t nl = pass ? L->nopen : L->nfolded;
		for (size_t i = 0; i < nl && !rc; i++) {
			struct tlog_gen *g = list[i];
			uint64_t vis = tlog_visible_in(L, g), from = 0;
			if (!full && from_lsn > g->first_lsn)
				from = from_lsn - g->first_lsn;
			if (from < vis)
				rc = snap_add(snap, g, (size_t)from, (size_t)vis);
		}
	}
	if (rc)
		snap_drop(snap);
	return rc;
}

int trace_logsnap_recs(const struct trace_logsnap *snap, struct trace_rec **recs, size_t *n)
{
	size_t total = 0, k = 0, bytes;
	struct trace_rec *r;

	*recs = NULL;
	*n = 0;
	for (size_t i = 0; i < snap->ngens; i++)
		total += snap->to[i] - snap->from[i];
	if (total == 0)
		return TRACE_OK;
	if (!wg_size_mul(total, sizeof(*r), &bytes) || !(r = wg_malloc(bytes)))
		return TRACE_ERR_NOMEM;
	for (size_t i = 0; i < snap->ngens; i++)
		for (size_t j = snap->from[i]; j < snap->to[i]; j++)
			r[k++] = *tlog_rec(snap->gens[i], j);
	trace_recs_sort(r, k);
	*n = trace_recs_unique(r, k);
	*recs = r;
	return TRACE_OK;
}

void trace_logsnap_release(struct trace_store *s, struct trace_logsnap *snap)
{
	if (!snap->ngens)
		return;
	pthread_mutex_lock(&s->mu);
	snap_drop(snap);
	pthread_mutex_unlock(&s->mu);
}

/* ---- stats -------------------------------------------------------------------- */

int trace_store_log_stats(trace_store *s, enum trace_kind kind, struct trace_log_stats *st)
{
	const struct trace_log *L;

	memset(st, 0, sizeof(*st));
	if ((unsigned)kind > TRACE_CELL)
		return TRACE_ERR_PARAM;
	pthread_mutex_lock(&s->mu);
	L = s->log[kind];
	st->writer = s->log_owner;
	for (size_t i = 0; i < s->nseg; i++)
		if (s->segs[i].kind == (uint32_t)kind) {
			st->segments++;
			st->seek_bytes += trace_seek_bytes(s->segs[i].seek);
		}
	if (L) {
		st->records = trace_log_count_locked(s, kind);
		st->files = L->nopen;
		st->folds = L->folds;
		st->commits = L->commits;
		st->fsyncs = L->fsyncs;
		st->torn_bytes = L->torn;
		st->error = L->broken;
	}
	pthread_mutex_unlock(&s->mu);
	return TRACE_OK;
}

/* A fresh generation for appends, its file created. w_mu held. */
int tlog_start_gen(struct trace_store *s, uint32_t kind)
{
	struct trace_log *L = s->log[kind];
	struct tlog_gen *g;
	uint64_t gen;
	int fd, rc;

	pthread_mutex_lock(&s->mu);
	gen = L->next_gen++;
	pthread_mutex_unlock(&s->mu);
	rc = tlog_create(s->dir, kind, gen, &fd);
	if (rc)
		return rc;
	pthread_mutex_lock(&s->mu);
	g = tlog_gen_new(kind, gen, L->next_lsn, tlog_slots_for(s));
	if (g) {
		g->fd = fd;
		g->data_end = g->room_end = TLOG_HEADER;
		fd = -1;
		rc = tlog_list_push(&L->open, &L->nopen, &L->capopen, g);
		if (rc)
			tlog_gen_unref(g);
	} else {
		rc = TRACE_ERR_NOMEM;
	}
	pthread_mutex_unlock(&s->mu);
	if (fd >= 0) { /* not taken in: the empty file goes */
		char path[4096];
		close(fd);
		if (!tlog_path(s->dir, kind, gen, path, sizeof(path)))
			unlink(path);
	}
	return rc;
}
