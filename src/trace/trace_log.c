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
 * one of them leads. While the store's committing thread runs (with the
 * folder, in a server) it leads every commit instead, and an append may go
 * its way at once and be told when its records are durable
 * (trace_store_log_append_async): a server thread need not wait. One fsync covers every record that arrived while the
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
#include <sched.h>
#include <semaphore.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <time.h>
#include <unistd.h>

#include "core/lib/mem.h"
#include "trace/trace_log.h"

#define TLOG_MAX_APPEND  65536u       /* records one call may append */
#define GATHER_MICROS    400u         /* longest a leader waits for its batch */
#define GATHER_SHARE     4u           /* ... until it has 3/4 of the last one */

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
			recs[i] = *tlog_rec(p->g, at + i);
		tlog_frame_header(L->cbuf, recs, (uint32_t)cnt, p->g->first_lsn + at);
		if (tlog_write(p->g, L->cbuf, need))
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
		tlog_gen_unref(parts[i].g);
}

static size_t pending(const struct trace_log *L)
{
	size_t n = 0;
	for (size_t i = 0; i < L->nopen; i++)
		n += L->open[i]->n - L->open[i]->sent;
	return n;
}

/* A new leader gathers its batch. When a commit ends, every thread it
 * acknowledged wakes and the first one back would lead the next commit
 * with its record alone, the others left for the one after: batches of
 * one and of many in turn. So a leader with fewer records than 3/4 of the
 * last batch waits (at most GATHER_MICROS) for the others to come back. */
static void gather(struct trace_store *s, struct trace_log *L)
{
	size_t want = L->last_batch - L->last_batch / GATHER_SHARE;
	struct timespec ts;

	if (want <= 1 || pending(L) >= want)
		return;
	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_nsec += (long)GATHER_MICROS * 1000;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	L->gathering = true;
	while (pending(L) < want && !L->broken)
		if (pthread_cond_timedwait(&s->gather_cv, &s->mu, &ts) == ETIMEDOUT)
			break;
	L->gathering = false;
}

/* An append waiting for its records to become durable. It sleeps on its
 * own semaphore, so a commit wakes exactly the appends it acknowledged
 * (which return without taking the lock again) and hands the lead to one
 * of those still waiting; the others sleep on. (A broadcast on a condition
 * variable woke every waiter to take the lock in turn: a convoy of context
 * switches that cost more than the fsync.) */
enum { WAIT_SLEEP, WAIT_DONE, WAIT_LEAD };

struct waiter {
	uint64_t target;
	int state;
	int rc;          /* with WAIT_DONE: durable, or the log's error */
	sem_t sem;
	/* An append that did not wait (trace_store_log_append_async): told
	 * by done(ctx, rc) instead; the waiter is the log's (wg_malloc). */
	void (*done)(void *ctx, int rc);
	void *ctx;
	struct waiter *next;
};

static void wake(struct waiter *w, int state, int rc)
{
	if (w->done) {
		w->done(w->ctx, rc);
		wg_free(w);
		return;
	}
	w->state = state;
	w->rc = rc;
	sem_post(&w->sem); /* after this w may be gone: its thread returns */
}

/* Tells the committing thread that there are records to commit. mu held. */
static void kick(struct trace_store *s)
{
	if (s->committer_running && s->committer_idle)
		pthread_cond_signal(&s->commit_cv);
}

/* The appends that did not wait go to the waking thread, when it runs:
 * telling a few dozen of them (each a suspended request to resume) took
 * the committing thread as long as an fsync, and the next commit waited
 * for it. Returns the waiters left for the caller to wake (those that
 * sleep on their semaphore: a post each). */
static struct waiter *hand_to_waker(struct trace_store *s, struct waiter *done)
{
	struct waiter *own = NULL, *theirs = NULL, *last = NULL;
	if (!s->waker_running)
		return done;
	for (struct waiter *w = done, *x; w; w = x) {
		x = w->next;
		if (w->done) {
			w->next = theirs;
			theirs = w;
			if (!last)
				last = w;
		} else {
			w->next = own;
			own = w;
		}
	}
	if (theirs) {
		pthread_mutex_lock(&s->wake_mu);
		last->next = s->to_wake;
		s->to_wake = theirs;
		pthread_cond_signal(&s->wake_cv);
		pthread_mutex_unlock(&s->wake_mu);
	}
	return own;
}

static void *waker_run(void *arg)
{
	struct trace_store *s = arg;
	pthread_mutex_lock(&s->wake_mu);
	for (;;) {
		struct waiter *list = s->to_wake;
		s->to_wake = NULL;
		if (list) {
			pthread_mutex_unlock(&s->wake_mu);
			for (struct waiter *w = list, *x; w; w = x) {
				x = w->next;
				wake(w, WAIT_DONE, w->rc);
			}
			pthread_mutex_lock(&s->wake_mu);
			continue;
		}
		if (s->waker_stop)
			break;
		pthread_cond_wait(&s->wake_cv, &s->wake_mu);
	}
	pthread_mutex_unlock(&s->wake_mu);
	return NULL;
}

/* One commit, led by this thread (L->committing set), then the waiters it
 * acknowledged woken and the lead handed on. mu held on entry and return. */
static void lead(struct trace_store *s, struct trace_log *L)
{
	struct waiter *done = NULL, *keep = NULL, *next = NULL;
	size_t n;

	gather(s, L);
	n = pending(L);
	commit(s, L);
	if (n)
		L->last_batch = n;
	for (struct waiter *w = L->waiters, *x; w; w = x) {
		x = w->next;
		if (L->broken || w->target <= L->durable_lsn) {
			w->rc = w->target <= L->durable_lsn ? TRACE_OK : L->broken;
			w->next = done;
			done = w;
		} else if (!next && !w->done && !s->committer_running) {
			next = w;  /* a waiting thread: it leads the next commit */
		} else {
			w->next = keep;
			keep = w;
		}
	}
	L->waiters = keep;
	L->committing = next != NULL; /* handed on, or free for the next append */
	pthread_mutex_unlock(&s->mu);
	done = hand_to_waker(s, done);
	for (struct waiter *w = done, *x; w; w = x) {
		x = w->next;
		wake(w, WAIT_DONE, w->rc);
	}
	if (next)
		wake(next, WAIT_LEAD, TRACE_OK);
	pthread_mutex_lock(&s->mu);
}

/* Waits until every record below `target` is durable, leading commits when
 * none runs. Called with mu held; returns without it (an append a commit
 * acknowledged goes its way without taking the lock again). */
int tlog_wait_durable(struct trace_store *s, struct trace_log *L, uint64_t target)
{
	int rc;

	while (L->durable_lsn < target && !L->broken) {
		struct waiter w = { 0 };
		if (!L->committing && !s->committer_running) {
			L->committing = true;
			lead(s, L);
			continue;
		}
		w.target = target;
		w.state = WAIT_SLEEP;
		if (sem_init(&w.sem, 0, 0) != 0) { /* cannot fail for a private semaphore */
			pthread_mutex_unlock(&s->mu);
			sched_yield();
			pthread_mutex_lock(&s->mu);
			continue;
		}
		w.next = L->waiters;
		L->waiters = &w;
		kick(s);
		pthread_mutex_unlock(&s->mu);
		while (sem_wait(&w.sem) != 0 && errno == EINTR)
			;
		sem_destroy(&w.sem);
		if (w.state == WAIT_DONE)
			return w.rc;
		pthread_mutex_lock(&s->mu);
		lead(s, L); /* WAIT_LEAD: L->committing stays set, ours now */
	}
	rc = L->durable_lsn >= target ? TRACE_OK : L->broken;
	pthread_mutex_unlock(&s->mu);
	return rc;
}

static bool commit_due(const struct trace_log *L)
{
	return L && !L->committing && !L->broken && pending(L) > 0;
}

/* The committing thread: leads a commit whenever a kind has records not
 * yet written, and sleeps otherwise. Stopping, it commits what is left. */
static void *committer_run(void *arg)
{
	struct trace_store *s = arg;

	pthread_mutex_lock(&s->mu);
	for (;;) {
		bool led = false;
		for (int k = 0; k < 2; k++) {
			struct trace_log *L = s->log[k];
			if (commit_due(L)) {
				L->committing = true;
				lead(s, L);
				led = true;
			}
		}
		if (led)
			continue;
		if (s->committer_stop)
			break;
		s->committer_idle = true;
		pthread_cond_wait(&s->commit_cv, &s->mu);
		s->committer_idle = false;
	}
	s->committer_running = false; /* appends lead their own commits again */
	pthread_mutex_unlock(&s->mu);
	return NULL;
}

/* The waking thread, before the committer that hands it work; without it
 * the committer wakes every append itself. */
static void waker_start(struct trace_store *s)
{
	if (s->waker_running || pthread_mutex_init(&s->wake_mu, NULL))
		return;
	if (pthread_cond_init(&s->wake_cv, NULL)) {
		pthread_mutex_destroy(&s->wake_mu);
		return;
	}
	s->to_wake = NULL;
	s->waker_stop = false;
	if (pthread_create(&s->waker, NULL, waker_run, s) != 0) {
		pthread_cond_destroy(&s->wake_cv);
		pthread_mutex_destroy(&s->wake_mu);
		return;
	}
	s->waker_running = true;
}

/* After the committer has stopped: what it handed over is told first. */
static void waker_stop(struct trace_store *s)
{
	if (!s->waker_running)
		return;
	pthread_mutex_lock(&s->wake_mu);
	s->waker_stop = true;
	pthread_cond_signal(&s->wake_cv);
	pthread_mutex_unlock(&s->wake_mu);
	pthread_join(s->waker, NULL);
	s->waker_running = false;
	pthread_cond_destroy(&s->wake_cv);
	pthread_mutex_destroy(&s->wake_mu);
}

int tlog_committer_start(struct trace_store *s)
{
	int rc = TRACE_OK;

	pthread_mutex_lock(&s->mu);
	if (!s->committer_running) {
		waker_start(s);
		s->committer_stop = false;
		s->committer_idle = false;
		if (pthread_create(&s->committer, NULL, committer_run, s) != 0)
			rc = TRACE_ERR_NOMEM;
		else
			s->committer_running = true;
	}
	pthread_mutex_unlock(&s->mu);
	return rc;
}

void tlog_committer_stop(struct trace_store *s)
{
	pthread_mutex_lock(&s->mu);
	bool running = s->committer_running;
	s->committer_stop = true;
	pthread_cond_signal(&s->commit_cv);
	pthread_mutex_unlock(&s->mu);
	if (running)
		pthread_join(s->committer, NULL);
	waker_stop(s);
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



/* Appends look for repeats in the segments: their lookups are built now,
 * before the first append, not by it under the lock (a second or so for
 * tens of millions of records). A segment whose lookups cannot be built
 * gets them, or fails, when an append needs it. w_mu held: the list does
 * not change. */
static void seeks_ready(struct trace_store *s)
{
	for (size_t i = 0; i < s->nseg; i++) {
		struct trace_seek *k = NULL;
		if (s->segs[i].seek || s->segs[i].count == 0 || trace_seek_open(s, &s->segs[i], &k, NULL))
			continue;
		pthread_mutex_lock(&s->mu);
		if (!s->segs[i].seek) {
			s->segs[i].seek = k;
			k = NULL;
		}
		pthread_mutex_unlock(&s->mu);
		trace_seek_free(k);
	}
}

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
		rc = tlog_drop_empty(s);
	s->rec_ver[0]++;
	s->rec_ver[1]++;
	pthread_mutex_unlock(&s->mu);
	pthread_mutex_unlock(&s->q_mu);
	for (uint32_t kind = 0; kind < 2 && !rc; kind++) {
		rc = tlog_start_gen(s, kind);
		if (rc)
			trace_diag_set(d, rc, 0, 0, "new log file");
	}
	if (rc) {
		close(s->lock_fd);
		s->lock_fd = -1;
		return rc;
	}
	seeks_ready(s);
	pthread_mutex_lock(&s->mu);
	s->log_owner = true;
	pthread_mutex_unlock(&s->mu);
	return TRACE_OK;
}

int tlog_take(trace_store *s, struct trace_diag *diag)
{
	int rc = TRACE_OK;

	pthread_mutex_lock(&s->w_mu);
	if (!s->log_owner)
		rc = own_log(s, diag);
	pthread_mutex_unlock(&s->w_mu);
	return rc;
}

/* ---- appending -------------------------------------------------------------- */

/* Adds the records that are new to the kind's log: *target is the lsn up
 * to which they (and the repeats of records not yet durable) must be
 * durable, *fresh how many were new. Returns with mu held, even on error. */
static int log_add(trace_store *s, enum trace_kind kind, const struct trace_rec *recs, size_t n, int64_t now,
		   struct trace_diag *diag, struct trace_log **out, uint64_t *target, size_t *fresh)
{
	uint32_t max_len = trace_max_len(&s->p, kind);
	struct trace_log *L;
	struct tlog_gen *live;
	int rc = TRACE_OK;

	*target = 0;
	*fresh = 0;
	for (size_t i = 0; i < n; i++) {
		rc = trace_check_rec(&recs[i], now / 60, max_len);
		if (rc) {
			pthread_mutex_lock(&s->mu);
			return trace_diag_set(diag, rc, i + 1, 0, "record");
		}
	}
	pthread_mutex_lock(&s->mu);
	if (!s->log_owner) {
		pthread_mutex_unlock(&s->mu);
		rc = tlog_take(s, diag);
		pthread_mutex_lock(&s->mu);
		if (rc)
			return rc;
	}
	L = *out = s->log[kind];
	live = L->open[L->nopen - 1];
	if (L->broken)
		return trace_diag_set(diag, L->broken, 0, 0, "log");
	if (live->n + n > TLOG_MAX_GEN) /* folding cannot keep up */
		return trace_diag_set(diag, TRACE_ERR_TOO_LARGE, 0, 0, "log");
	for (size_t i = 0; i < n; i++) {
		const struct trace_rec *r = &recs[i];
		bool seen = false;
		for (size_t k = 0; k < L->nopen && !seen; k++) {
			size_t at = tlog_gen_find(L->open[k], r);
			if (at != SIZE_MAX) {
				uint64_t lsn = L->open[k]->first_lsn + at + 1;
				if (lsn > *target) /* a repeat of one not yet durable: wait for it too */
					*target = lsn;
				seen = true;
			}
		}
		if (seen)
			continue;
		rc = segs_have(s, kind, r, &seen, diag);
		if (rc)
			return rc;
		if (seen)
			continue;
		rc = tlog_gen_push(live, r);
		if (rc)
			return trace_diag_set(diag, rc, i + 1, 0, "log");
		L->next_lsn = live->first_lsn + live->n;
		*target = L->next_lsn;
		(*fresh)++;
	}
	if (live->n >= s->p.log_fold_records && s->folder_running)
		pthread_cond_signal(&s->fold_cv); /* wakes the folder */
	if (L->gathering)
		pthread_cond_signal(&s->gather_cv);
	return TRACE_OK;
}

static int check_call(enum trace_kind kind, size_t n, size_t *added, struct trace_diag *diag)
{
	if (added)
		*added = 0;
	if ((unsigned)kind > TRACE_CELL)
		return trace_diag_set(diag, TRACE_ERR_PARAM, 0, 0, "kind");
	if (n > TLOG_MAX_APPEND)
		return trace_diag_set(diag, TRACE_ERR_TOO_LARGE, 0, 0, "records");
	return TRACE_OK;
}

/* The first half of every append: the call checked and the new records
 * added. Returns with mu held on success, without it on error. */
static int begin_append(trace_store *s, enum trace_kind kind, const struct trace_rec *recs, size_t n, int64_t now,
			size_t *added, struct trace_diag *diag, struct trace_log **L, uint64_t *target, size_t *fresh)
{
	int rc = check_call(kind, n, added, diag);
	if (rc)
		return rc;
	rc = log_add(s, kind, recs, n, now, diag, L, target, fresh);
	if (rc)
		pthread_mutex_unlock(&s->mu);
	return rc;
}

/* Waits for the records log_add added (mu held; returns without it). */
static int wait_added(trace_store *s, struct trace_log *L, uint64_t target, size_t fresh, size_t *added,
		      struct trace_diag *diag)
{
	int rc = tlog_wait_durable(s, L, target); /* (lets go of the lock) */
	if (rc)
		trace_diag_set(diag, rc, 0, 0, "log");
	else if (added)
		*added = fresh;
	return rc;
}

int trace_store_log_append(trace_store *s, enum trace_kind kind, const struct trace_rec *recs, size_t n,
			   int64_t now, size_t *added, struct trace_diag *diag)
{
	struct trace_log *L = NULL;
	uint64_t target;
	size_t fresh;
	int rc = begin_append(s, kind, recs, n, now, added, diag, &L, &target, &fresh);

	return rc ? rc : wait_added(s, L, target, fresh, added, diag);
}

int trace_store_log_append_async(trace_store *s, enum trace_kind kind, const struct trace_rec *recs, size_t n,
				 int64_t now, size_t *added, struct trace_diag *diag,
				 void (*done)(void *ctx, int rc), void *ctx, bool *pending)
{
	struct trace_log *L = NULL;
	uint64_t target;
	size_t fresh;

	*pending = false;
	int rc = begin_append(s, kind, recs, n, now, added, diag, &L, &target, &fresh);
	if (rc)
		return rc;
	if (L->durable_lsn < target && s->committer_running) {
		struct waiter *w = wg_malloc(sizeof *w);
		if (w) { /* without memory: waits in place */
			*w = (struct waiter){ .target = target, .done = done, .ctx = ctx, .next = L->waiters };
			L->waiters = w;
			kick(s);
			if (added)
				*added = fresh;
			*pending = true;
			pthread_mutex_unlock(&s->mu);
			return TRACE_OK;
		}
	}
	return wait_added(s, L, target, fresh, added, diag);
}
