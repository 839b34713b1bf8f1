/* The scan log: live scans appended without a segment file each.
 *
 * Each kind (scans, cells) has a log of generations, one file each
 * (trace_logfile.c): records are appended to the newest generation; older
 * ones wait to be folded into a segment. In memory a generation keeps its
 * records (in chunks that never move, so readers need no lock for the ones
 * published to them) and a hash set of them for finding repeats.
 *
 * Group commit. An append takes the store's short lock (mu), drops its
 * repeats (against the log and, by point lookups, the segments), adds the
 * rest to the newest generation and gives each a log sequence number (lsn).
 * It then waits until every record up to its last lsn is durable. If no
 * commit is running it becomes the leader: it takes every record not yet
 * written (of every thread), lets go of the lock, writes them as one frame
 * per file and fdatasyncs, then takes the lock again and publishes the new
 * durable lsn. Appends that came meanwhile wait for the next commit, which
 * one of them leads. One fsync covers every record that arrived while the
 * previous one ran; no lock is held across a write or an fsync; a record is
 * acknowledged only once durable, and visible to queries only then.
 *
 * Folding (trace_store_fold, or the store's folding thread). When the
 * newest generation is big or old enough, a new one takes the appends (a
 * swap under the lock); the old one, once all of it is durable, is sorted
 * and written as a segment whose header names the generation; then, in one
 * section under the lock, the segment joins the list and the generation
 * leaves the log; then its file is deleted. A crash before the segment is
 * in place leaves the file (replayed at the next open); after, the segment
 * (and the file, which the next open sees the segment holds, and deletes):
 * no record is lost or doubled at any point. Folded records stay in memory
 * a while (TLOG_KEEP_FOLDED) so that a table built before the fold takes
 * the new ones in without a rebuild.
 *
 * One process writes the log: the first that takes DIR/log.lock (flock)
 * when it appends or calls trace_store_log_start. Any other process reads
 * the log files as they are (a frame being written is left out). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <time.h>
#include <unistd.h>

#include "core/mem.h"
#include "trace/trace_log.h"

#define TLOG_CHUNK_BITS  16u
#define TLOG_CHUNK       (1u << TLOG_CHUNK_BITS)
#define TLOG_MAX_GEN     (1u << 30)   /* records in one generation */
#define TLOG_NCHUNK      (TLOG_MAX_GEN / TLOG_CHUNK)
#define TLOG_KEEP_FOLDED (1u << 22)   /* folded records kept for table updates */
#define TLOG_MAX_APPEND  65536u       /* records one call may append */
#define TLOG_MAX_PARTS   16           /* generations one commit writes to */
#define TLOG_SLOTS_MAX   (1u << 23)   /* hash slots made ready ahead of need */
#define FOLDER_TICK_SECONDS 1

struct tlog_gen {
	uint64_t gen;            /* the file's number */
	uint32_t kind;
	uint64_t first_lsn;      /* lsn of record 0 */
	struct trace_rec **chunk; /* TLOG_NCHUNK pointers, filled as needed, never moved */
	size_t n;                /* records (mu) */
	size_t sent;             /* records handed to a commit (mu) */
	uint32_t *slot;          /* hash set of the records: index + 1, 0 empty (mu) */
	size_t cap;              /* slots, a power of two */
	int fd;                  /* the writer's open file, else -1 */
	int refs;                /* the list it is on, snapshots, commits (mu) */
	double first_at;         /* monotonic seconds of its first record */
	uint32_t min_t, max_t;   /* span of its records */
};

struct trace_log {
	struct tlog_gen **open;  /* unfolded, oldest first; the writer appends to the last */
	size_t nopen, capopen;
	struct tlog_gen **folded; /* folded, kept for table updates, oldest first */
	size_t nfolded, capfolded, folded_recs;
	uint64_t kept_lsn;       /* records below were folded and dropped from memory */
	uint64_t next_lsn, durable_lsn;
	uint64_t next_gen;
	bool committing;         /* a leader is writing */
	int broken;              /* a write or fsync failed: no more appends */
	uint8_t *cbuf;           /* the leader's frame buffer */
	size_t ccap;
	uint64_t folds, commits, torn, fsyncs;
};

static double mono_seconds(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* ---- generations ---------------------------------------------------------- */

static inline struct trace_rec *gen_rec(const struct tlog_gen *g, size_t i)
{
	return &g->chunk[i >> TLOG_CHUNK_BITS][i & (TLOG_CHUNK - 1)];
}

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
	if (g->fd >= 0)
		close(g->fd);
	if (g->chunk)
		for (size_t c = 0; c < TLOG_NCHUNK && g->chunk[c]; c++)
			wg_free(g->chunk[c]);
	wg_free(g->chunk);
	wg_free(g->slot);
	wg_free(g);
}

static void gen_unref(struct tlog_gen *g)
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
		size_t j = rec_hash(gen_rec(g, i)) & (cap - 1);
		while (slot[j])
			j = (j + 1) & (cap - 1);
		slot[j] = (uint32_t)(i + 1);
	}
	wg_free(g->slot);
	g->slot = slot;
	g->cap = cap;
	return TRACE_OK;
}

static struct tlog_gen *gen_new(uint32_t kind, uint64_t gen, uint64_t first_lsn, size_t slots)
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
static size_t gen_find(const struct tlog_gen *g, const struct trace_rec *r)
{
	size_t j;

	if (!g->slot || g->n == 0 || r->t_min < g->min_t || r->t_min > g->max_t)
		return SIZE_MAX;
	j = rec_hash(r) & (g->cap - 1);
	while (g->slot[j]) {
		size_t i = g->slot[j] - 1;
		if (rec_eq(gen_rec(g, i), r))
			return i;
		j = (j + 1) & (g->cap - 1);
	}
	return SIZE_MAX;
}

/* Appends r: its chunk made when needed, the hash set grown at half full. */
static int gen_push(struct tlog_gen *g, const struct trace_rec *r)
{
	size_t i = g->n, c = i >> TLOG_CHUNK_BITS, j;

	if (i >= TLOG_MAX_GEN)
		return TRACE_ERR_TOO_LARGE;
	if (!g->chunk[c] && !(g->chunk[c] = wg_malloc(TLOG_CHUNK * sizeof(struct trace_rec))))
		return TRACE_ERR_NOMEM;
	if ((i + 1) * 2 > g->cap && slots_make(g, g->cap * 2))
		return TRACE_ERR_NOMEM;
	*gen_rec(g, i) = *r;
	j = rec_hash(r) & (g->cap - 1);
	while (g->slot[j])
		j = (j + 1) & (g->cap - 1);
	g->slot[j] = (uint32_t)(i + 1);
	if (r->t_min < g->min_t)
		g->min_t = r->t_min;
	if (r->t_min > g->max_t)
		g->max_t = r->t_min;
	if (i == 0)
		g->first_at = mono_seconds();
	g->n = i + 1;
	return TRACE_OK;
}

static int list_push(struct tlog_gen ***list, size_t *n, size_t *cap, struct tlog_gen *g)
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

static void list_remove(struct tlog_gen **list, size_t *n, const struct tlog_gen *g)
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
		gen_unref(L->open[i]);
	for (size_t i = 0; i < L->nfolded; i++)
		gen_unref(L->folded[i]);
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

static size_t slots_for(const struct trace_store *s)
{
	return (size_t)s->p.log_fold_records * 2;
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
	g = gen_new(kind, gen, f.has_frames ? f.first_lsn : *prev_end, f.n * 2);
	if (!g)
		goto nomem;
	for (size_t i = 0; i < f.n; i++)
		if ((rc = gen_push(g, &f.recs[i])) != TRACE_OK)
			goto nomem;
	g->sent = g->n;
	*prev_end = g->first_lsn + g->n;
	rc = list_push(&L->open, &L->nopen, &L->capopen, g);
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

static int unlink_gen(const struct trace_store *s, uint32_t kind, uint64_t gen)
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
				list_remove(L->open, &L->nopen, x);
				if (owner && !rc)
					rc = unlink_gen(s, kind, x->gen);
				gen_unref(x);
				break;
			}
		}
	}
	return rc;
}

/* The writer deletes generations with no record (a fresh one every start,
 * one whose only frame was a torn tail): nothing to fold. */
static int drop_empty(struct trace_store *s)
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
			list_remove(L->open, &L->nopen, x);
			if (!rc)
				rc = unlink_gen(s, kind, x->gen);
			gen_unref(x);
		}
	}
	return rc;
}

/* ---- with the lock held --------------------------------------------------- */

static inline uint64_t visible_in(const struct trace_log *L, const struct tlog_gen *g)
{
	uint64_t end = g->first_lsn + g->n;
	if (L->durable_lsn <= g->first_lsn)
		return 0;
	return (end < L->durable_lsn ? end : L->durable_lsn) - g->first_lsn;
}

size_t trace_log_count_locked(const struct trace_store *s, enum trace_kind kind)
{
	const struct trace_log *L = s->log[kind];
	size_t n = 0;
	if (!L)
		return 0;
	for (size_t i = 0; i < L->nopen; i++)
		n += (size_t)visible_in(L, L->open[i]);
	return n;
}

bool trace_log_has_locked(const struct trace_store *s, enum trace_kind kind, const struct trace_rec *r)
{
	const struct trace_log *L = s->log[kind];
	for (size_t i = 0; L && i < L->nopen; i++)
		if (gen_find(L->open[i], r) != SIZE_MAX)
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

/* *found: a segment holds r. An error when a segment it must look into is
 * damaged (or its lookups cannot be built). */
static int segs_have(struct trace_store *s, enum trace_kind kind, const struct trace_rec *r, bool *found,
		     struct trace_diag *d)
{
	*found = false;
	for (size_t i = s->nseg; i-- > 0;) { /* newest first: live scans are found there */
		struct trace_seg *g = &s->segs[i];
		int rc;
		if (g->kind != (uint32_t)kind || g->count == 0 || r->t_min < g->min_t
		    || (uint64_t)r->t_min + r->dur > g->max_t)
			continue;
		if (!g->seek && (rc = trace_seek_open(s, g, &g->seek, d)) != TRACE_OK)
			return rc;
		rc = trace_seek_has(g->seek, r);
		if (rc < 0)
			return trace_diag_set(d, TRACE_ERR_CORRUPT, 0, 0, "segment");
		if (rc > 0) {
			*found = true;
			return TRACE_OK;
		}
	}
	return TRACE_OK;
}

/* ---- group commit ----------------------------------------------------------- */

struct part {
	struct tlog_gen *g;
	size_t from, to;
};

static int write_part(struct trace_log *L, const struct part *p)
{
	for (size_t at = p->from; at < p->to;) {
		size_t cnt = p->to - at < TLOG_MAX_FRAME ? p->to - at : TLOG_MAX_FRAME;
		size_t need = TLOG_FRAME_HEADER + cnt * sizeof(struct trace_rec);
		struct trace_rec *recs;
		if (need > L->ccap) {
			uint8_t *x = wg_realloc(L->cbuf, need);
			if (!x)
				return TRACE_ERR_NOMEM;
			L->cbuf = x;
			L->ccap = need;
		}
		recs = (struct trace_rec *)(void *)(L->cbuf + TLOG_FRAME_HEADER);
		for (size_t i = 0; i < cnt; i++)
			recs[i] = *gen_rec(p->g, at + i);
		tlog_frame_header(L->cbuf, recs, (uint32_t)cnt, p->g->first_lsn + at);
		if (trace_write_all(p->g->fd, L->cbuf, need))
			return TRACE_ERR_IO;
		at += cnt;
	}
	return TRACE_OK;
}

/* The leader's commit: mu held on entry and on return, not in between. */
static void commit(struct trace_store *s, struct trace_log *L)
{
	struct part parts[TLOG_MAX_PARTS];
	size_t np = 0;
	uint64_t end = L->durable_lsn;
	int rc = TRACE_OK;

	for (size_t i = 0; i < L->nopen && np < TLOG_MAX_PARTS; i++) {
		struct tlog_gen *g = L->open[i];
		if (g->sent == g->n)
			continue;
		parts[np++] = (struct part){ g, g->sent, g->n };
		g->refs++;
		g->sent = g->n;
		end = g->first_lsn + g->n;
	}
	if (np == 0)
		return;
	pthread_mutex_unlock(&s->mu);
	for (size_t i = 0; i < np && !rc; i++)
		rc = write_part(L, &parts[i]);
	for (size_t i = 0; i < np && !rc; i++)
		if (fdatasync(parts[i].g->fd) != 0)
			rc = TRACE_ERR_IO;
	pthread_mutex_lock(&s->mu);
	if (rc) {
		/* what was written may or may not be on disk: no more appends (the
		 * records acknowledged before stay durable) */
		L->broken = rc;
		trace_warn("%s log: %s; appends refused until the store is reopened / 扫码日志写入失败,"
			   "重新打开前不再接受追加", parts[0].g->kind == TRACE_CELL ? "cell" : "scan",
			   trace_err_en(rc));
	} else {
		L->durable_lsn = end;
		L->commits++;
		L->fsyncs += np;
	}
	for (size_t i = 0; i < np; i++)
		gen_unref(parts[i].g);
}

/* Waits until every record below `target` is durable, leading commits when
 * none runs. mu held. */
static int wait_durable(struct trace_store *s, struct trace_log *L, uint64_t target)
{
	while (L->durable_lsn < target && !L->broken) {
		if (!L->committing) {
			L->committing = true;
			commit(s, L);
			L->committing = false;
			pthread_cond_broadcast(&s->log_cv);
		} else {
			pthread_cond_wait(&s->log_cv, &s->mu);
		}
	}
	return L->durable_lsn >= target ? TRACE_OK : L->broken;
}

/* ---- becoming the writer ---------------------------------------------------- */

static int take_lock_file(struct trace_store *s, struct trace_diag *d)
{
	char path[4096];
	int n = snprintf(path, sizeof(path), "%s/log.lock", s->dir), fd;

	if (n < 0 || (size_t)n >= sizeof(path))
		return trace_diag_set(d, TRACE_ERR_TOO_LARGE, 0, 0, "path");
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0)
		return trace_diag_set(d, TRACE_ERR_IO, 0, 0, "log.lock");
	if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
		int busy = errno == EWOULDBLOCK;
		close(fd);
		return trace_diag_set(d, busy ? TRACE_ERR_BUSY : TRACE_ERR_IO, 0, 0, "log.lock");
	}
	s->lock_fd = fd;
	return TRACE_OK;
}

/* A fresh generation for appends, its file created. w_mu held. */
static int start_gen(struct trace_store *s, uint32_t kind)
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
	g = gen_new(kind, gen, L->next_lsn, slots_for(s));
	if (g) {
		g->fd = fd;
		fd = -1;
		rc = list_push(&L->open, &L->nopen, &L->capopen, g);
		if (rc)
			gen_unref(g);
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

static void *folder_run(void *arg);

/* Becomes the log's writer: w_mu held. The log files and the segments are
 * read again (another writer may have changed them since the open), with a
 * torn tail cut and generations already folded deleted, and each kind gets
 * a fresh generation for its appends. */
static int own_log(struct trace_store *s, struct trace_diag *d)
{
	int rc = take_lock_file(s, d);
	if (rc)
		return rc;
	pthread_mutex_lock(&s->q_mu);
	pthread_mutex_lock(&s->mu);
	trace_segs_free(s);
	rc = trace_log_load(s, true, d);
	if (!rc)
		rc = trace_seg_scan_dir(s, d);
	if (!rc)
		rc = trace_log_drop_folded(s, true);
	if (!rc)
		rc = drop_empty(s);
	s->rec_ver[0]++;
	s->rec_ver[1]++;
	pthread_mutex_unlock(&s->mu);
	pthread_mutex_unlock(&s->q_mu);
	for (uint32_t kind = 0; kind < 2 && !rc; kind++) {
		rc = start_gen(s, kind);
		if (rc)
			trace_diag_set(d, rc, 0, 0, "new log file");
	}
	if (rc) {
		close(s->lock_fd);
		s->lock_fd = -1;
		return rc;
	}
	pthread_mutex_lock(&s->mu);
	s->log_owner = true;
	pthread_mutex_unlock(&s->mu);
	return TRACE_OK;
}

int trace_store_log_start(trace_store *s, bool folder, struct trace_diag *diag)
{
	int rc = TRACE_OK;

	pthread_mutex_lock(&s->w_mu);
	if (!s->log_owner)
		rc = own_log(s, diag);
	if (!rc && folder && !s->folder_running) {
		s->folder_stop = false;
		if (pthread_create(&s->folder, NULL, folder_run, s) != 0)
			rc = trace_diag_set(diag, TRACE_ERR_NOMEM, 0, 0, "folding thread");
		else
			s->folder_running = true;
	}
	pthread_mutex_unlock(&s->w_mu);
	return rc;
}

/* ---- appending -------------------------------------------------------------- */

int trace_store_log_append(trace_store *s, enum trace_kind kind, const struct trace_rec *recs, size_t n,
			   int64_t now, size_t *added, struct trace_diag *diag)
{
	uint32_t max_len = trace_max_len(&s->p, kind);
	struct trace_log *L;
	struct tlog_gen *live;
	uint64_t target = 0;
	size_t fresh = 0;
	int rc = TRACE_OK;

	if (added)
		*added = 0;
	if ((unsigned)kind > TRACE_CELL)
		return trace_diag_set(diag, TRACE_ERR_PARAM, 0, 0, "kind");
	if (n > TLOG_MAX_APPEND)
		return trace_diag_set(diag, TRACE_ERR_TOO_LARGE, 0, 0, "records");
	for (size_t i = 0; i < n; i++) {
		rc = trace_check_rec(&recs[i], now / 60, max_len);
		if (rc)
			return trace_diag_set(diag, rc, i + 1, 0, "record");
	}
	pthread_mutex_lock(&s->mu);
	if (!s->log_owner) {
		pthread_mutex_unlock(&s->mu);
		rc = trace_store_log_start(s, false, diag);
		if (rc)
			return rc;
		pthread_mutex_lock(&s->mu);
	}
	L = s->log[kind];
	live = L->open[L->nopen - 1];
	if (L->broken) {
		rc = trace_diag_set(diag, L->broken, 0, 0, "log");
		goto out;
	}
	if (live->n + n > TLOG_MAX_GEN) { /* folding cannot keep up */
		rc = trace_diag_set(diag, TRACE_ERR_TOO_LARGE, 0, 0, "log");
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		const struct trace_rec *r = &recs[i];
		bool seen = false;
		for (size_t k = 0; k < L->nopen && !seen; k++) {
			size_t at = gen_find(L->open[k], r);
			if (at != SIZE_MAX) {
				uint64_t lsn = L->open[k]->first_lsn + at + 1;
				if (lsn > target) /* a repeat of one not yet durable: wait for it too */
					target = lsn;
				seen = true;
			}
		}
		if (seen)
			continue;
		rc = segs_have(s, kind, r, &seen, diag);
		if (rc)
			goto out;
		if (seen)
			continue;
		rc = gen_push(live, r);
		if (rc) {
			trace_diag_set(diag, rc, i + 1, 0, "log");
			goto out;
		}
		L->next_lsn = live->first_lsn + live->n;
		target = L->next_lsn;
		fresh++;
	}
	if (live->n >= s->p.log_fold_records && s->folder_running)
		pthread_cond_signal(&s->fold_cv); /* wakes the folder */
	rc = wait_durable(s, L, target);
	if (rc)
		trace_diag_set(diag, rc, 0, 0, "log");
	else if (added)
		*added = fresh;
out:
	pthread_mutex_unlock(&s->mu);
	return rc;
}

/* ---- folding ------------------------------------------------------------------ */

/* Writes generation g (durable, no longer taking appends) as a segment and
 * takes it out of the log. w_mu held. */
static int fold_gen(struct trace_store *s, uint32_t kind, struct tlog_gen *g, size_t *folded)
{
	struct trace_log *L = s->log[kind];
	struct trace_rec *recs = NULL;
	struct trace_packed pk;
	struct trace_seg seg;
	uint64_t gen = g->gen;
	size_t n, m;
	int rc;

	memset(&pk, 0, sizeof(pk));
	memset(&seg, 0, sizeof(seg));
	pthread_mutex_lock(&s->mu);
	rc = wait_durable(s, L, g->first_lsn + g->n);
	n = g->n;
	pthread_mutex_unlock(&s->mu);
	if (rc)
		return rc;
	if (n > 0) {
		size_t bytes;
		rc = TRACE_ERR_NOMEM;
		if (!wg_size_mul(n, sizeof(*recs), &bytes) || !(recs = wg_malloc(bytes)))
			goto out;
		for (size_t i = 0; i < n; i++)
			recs[i] = *gen_rec(g, i);
		trace_recs_sort(recs, n);
		m = trace_recs_unique(recs, n);
		rc = trace_seg_encode(recs, m, &pk.buf, &pk.len);
		if (rc)
			goto out;
		pk.count = m;
		trace_recs_span(recs, m, &pk.min_t, &pk.max_t);
		seg.seq = s->next_seq;
		seg.kind = kind;
		seg.flags = TRACE_FLAG_LOG;
		seg.log_gen = (uint32_t)g->gen;
		rc = trace_seg_write_packed(s, &seg, &pk, false);
		if (rc)
			goto out;
		if (trace_seek_open(s, &seg, &seg.seek, NULL))
			seg.seek = NULL; /* built when first needed */
	}
	pthread_mutex_lock(&s->mu);
	if (n > 0) {
		rc = trace_store_add_seg(s, &seg);
		if (rc) {
			char path[4096];
			pthread_mutex_unlock(&s->mu);
			/* not in the list: the file must not stay either, or the next
			 * fold of g would store its records twice */
			if (!trace_seg_path(s, &seg, path, sizeof(path)))
				unlink(path);
			trace_seek_free(seg.seek);
			goto out;
		}
		s->next_seq = seg.seq + 1;
	}
	list_remove(L->open, &L->nopen, g);
	wg_free(g->slot);
	g->slot = NULL;
	if (g->fd >= 0) {
		close(g->fd);
		g->fd = -1;
	}
	if (n > 0 && list_push(&L->folded, &L->nfolded, &L->capfolded, g) == TRACE_OK) {
		L->folded_recs += n;
		while (L->folded_recs > TLOG_KEEP_FOLDED && L->nfolded > 0) {
			struct tlog_gen *old = L->folded[0];
			L->kept_lsn = old->first_lsn + old->n;
			L->folded_recs -= old->n;
			list_remove(L->folded, &L->nfolded, old);
			gen_unref(old);
		}
	} else {
		if (n > 0 && L->kept_lsn < g->first_lsn + n) /* not kept after all */
			L->kept_lsn = g->first_lsn + n;
		gen_unref(g);
	}
	L->folds++;
	pthread_mutex_unlock(&s->mu);
	if (folded)
		*folded += n;
	/* the segment holds the records (or there were none): the file goes */
	rc = unlink_gen(s, kind, gen);
out:
	wg_free(recs);
	wg_free(pk.buf);
	return rc;
}

static bool live_due(const struct trace_store *s, const struct trace_log *L, bool force)
{
	const struct tlog_gen *live = L->nopen ? L->open[L->nopen - 1] : NULL;
	if (!live || live->n == 0)
		return false;
	return force || live->n >= s->p.log_fold_records
	       || mono_seconds() - live->first_at >= (double)s->p.log_fold_seconds;
}

/* w_mu held. */
static int fold_kind(struct trace_store *s, uint32_t kind, bool force, size_t *folded)
{
	struct trace_log *L = s->log[kind];
	struct tlog_gen *todo[TLOG_MAX_PARTS];
	size_t nt = 0;
	int rc = TRACE_OK;

	pthread_mutex_lock(&s->mu);
	if (!s->log_owner) {
		pthread_mutex_unlock(&s->mu);
		return TRACE_OK;
	}
	if (live_due(s, L, force)) {
		pthread_mutex_unlock(&s->mu);
		rc = start_gen(s, kind); /* the swap: appends go to the new generation */
		if (rc)
			return rc;
		pthread_mutex_lock(&s->mu);
	}
	for (size_t i = 0; i + 1 < L->nopen && nt < TLOG_MAX_PARTS; i++) {
		todo[nt] = L->open[i];
		todo[nt++]->refs++;
	}
	pthread_mutex_unlock(&s->mu);
	for (size_t i = 0; i < nt && !rc; i++)
		rc = fold_gen(s, kind, todo[i], folded);
	pthread_mutex_lock(&s->mu);
	for (size_t i = 0; i < nt; i++)
		gen_unref(todo[i]);
	pthread_mutex_unlock(&s->mu);
	return rc;
}

int trace_log_fold_all(struct trace_store *s)
{
	int rc = TRACE_OK;
	for (uint32_t kind = 0; kind < 2 && !rc; kind++)
		rc = fold_kind(s, kind, true, NULL);
	return rc;
}

int trace_store_fold(trace_store *s, bool force, size_t *folded)
{
	int rc = TRACE_OK;

	if (folded)
		*folded = 0;
	pthread_mutex_lock(&s->w_mu);
	for (uint32_t kind = 0; kind < 2 && !rc; kind++)
		rc = fold_kind(s, kind, force, folded);
	pthread_mutex_unlock(&s->w_mu);
	return rc;
}

static bool fold_due(const struct trace_store *s)
{
	for (int k = 0; k < 2; k++) {
		const struct trace_log *L = s->log[k];
		if (L && !L->broken && (L->nopen > 1 || live_due(s, L, false)))
			return true;
	}
	return false;
}

static void *folder_run(void *arg)
{
	struct trace_store *s = arg;
	unsigned failures = 0;

	pthread_mutex_lock(&s->mu);
	while (!s->folder_stop) {
		struct timespec ts;
		int rc;
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_sec += FOLDER_TICK_SECONDS;
		pthread_cond_timedwait(&s->fold_cv, &s->mu, &ts);
		if (s->folder_stop || !fold_due(s))
			continue;
		pthread_mutex_unlock(&s->mu);
		rc = trace_store_fold(s, false, NULL);
		if (rc && failures++ % 60 == 0)
			trace_warn("log fold: %s (retried every second) / 扫码日志归并失败:%s", trace_err_en(rc),
				   trace_err_zh(rc));
		if (!rc)
			failures = 0;
		pthread_mutex_lock(&s->mu);
	}
	pthread_mutex_unlock(&s->mu);
	return NULL;
}

void trace_log_stop(struct trace_store *s)
{
	if (!s->folder_running)
		return;
	pthread_mutex_lock(&s->mu);
	s->folder_stop = true;
	pthread_cond_broadcast(&s->fold_cv);
	pthread_mutex_unlock(&s->mu);
	pthread_join(s->folder, NULL);
	s->folder_running = false;
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
		gen_unref(snap->gens[i]);
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
			uint64_t vis = visible_in(L, g), from = 0;
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
			r[k++] = *gen_rec(snap->gens[i], j);
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
