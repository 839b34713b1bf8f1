/* Folding the scan log into segments (trace_store_fold and the store's
 * folding thread); trace_log.c has the design and the crash-safety
 * argument. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/lib/mem.h"
#include "trace/trace_log.h"

#define TLOG_KEEP_FOLDED (1u << 22)   /* folded records kept for table updates */
#define FOLDER_TICK_SECONDS 1

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
	uint32_t *slot;
	size_t n, m;
	int rc, fd;

	memset(&pk, 0, sizeof(pk));
	memset(&seg, 0, sizeof(seg));
	pthread_mutex_lock(&s->mu);
	n = g->n; /* no more appends: not the newest generation */
	rc = tlog_wait_durable(s, L, g->first_lsn + n); /* (lets go of the lock) */
	if (rc)
		return rc;
	if (n > 0) {
		size_t bytes;
		rc = TRACE_ERR_NOMEM;
		if (!wg_size_mul(n, sizeof(*recs), &bytes) || !(recs = wg_malloc(bytes)))
			goto out;
		for (size_t i = 0; i < n; i++)
			recs[i] = *tlog_rec(g, i);
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
	tlog_list_remove(L->open, &L->nopen, g);
	slot = g->slot; /* freed and closed after the swap, not under the lock */
	g->slot = NULL;
	fd = g->fd;
	g->fd = -1;
	if (n > 0 && tlog_list_push(&L->folded, &L->nfolded, &L->capfolded, g) == TRACE_OK) {
		L->folded_recs += n;
		while (L->folded_recs > TLOG_KEEP_FOLDED && L->nfolded > 0) {
			struct tlog_gen *old = L->folded[0];
			L->kept_lsn = old->first_lsn + old->n;
			L->folded_recs -= old->n;
			tlog_list_remove(L->folded, &L->nfolded, old);
			tlog_gen_unref(old);
		}
	} else {
		if (n > 0 && L->kept_lsn < g->first_lsn + n) /* not kept after all */
			L->kept_lsn = g->first_lsn + n;
		tlog_gen_unref(g);
	}
	L->folds++;
	pthread_mutex_unlock(&s->mu);
	wg_free(slot);
	if (fd >= 0)
		close(fd);
	if (folded)
		*folded += n;
	/* the segment holds the records (or there were none): the file goes */
	rc = tlog_unlink_gen(s, kind, gen);
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
	       || tlog_seconds() - live->first_at >= (double)s->p.log_fold_seconds;
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
		rc = tlog_start_gen(s, kind); /* the swap: appends go to the new generation */
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
		tlog_gen_unref(todo[i]);
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

void *tlog_folder_run(void *arg)
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
	tlog_committer_stop(s);
	if (!s->folder_running)
		return;
	pthread_mutex_lock(&s->mu);
	s->folder_stop = true;
	pthread_cond_broadcast(&s->fold_cv);
	pthread_mutex_unlock(&s->mu);
	pthread_join(s->folder, NULL);
	s->folder_running = false;
}

int trace_store_log_start(trace_store *s, bool folder, struct trace_diag *diag)
{
	int rc = tlog_take(s, diag);

	pthread_mutex_lock(&s->w_mu);
	if (!rc && folder && !s->folder_running) {
		s->folder_stop = false;
		if (pthread_create(&s->folder, NULL, tlog_folder_run, s) != 0)
			rc = trace_diag_set(diag, TRACE_ERR_NOMEM, 0, 0, "folding thread");
		else
			s->folder_running = true;
	}
	if (!rc && folder && (rc = tlog_committer_start(s)) != TRACE_OK)
		trace_diag_set(diag, rc, 0, 0, "committing thread");
	pthread_mutex_unlock(&s->w_mu);
	return rc;
}
