/* Rows as the caller gets them: first those the header search read, then
 * fresh ones from the format, read on a second thread when asked
 * (sheet_read_ahead: the next rows are read, decoded and prepared while
 * the caller stores the previous ones; rows change hands by swapping row
 * buffers, never by copying text). */
#include "core/sheet/sheet_int.h"
#include "core/lib/err.h"
#include "core/lib/limits.h"
#include "core/lib/mem.h"

#include <assert.h>
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>

void sheet_rows_forget(struct sheet_reader *r)
{
	for (size_t i = 0; i < r->nsaved; i++) {
		wg_free(r->saved[i].cells);
		wg_free(r->saved[i].text);
	}
	wg_free(r->saved);
	r->saved = NULL;
	r->nsaved = r->saved_next = 0;
}


/* ---- reading rows ------------------------------------------------------ */

static void replay_row(struct sheet_reader *r, struct sheet_row *row)
{
	const struct sheet_saved_row *s = &r->saved[r->saved_next++];
	row->end = false;
	row->number = s->number;
	row->n = s->n;
	row->cells = s->cells;
}

/* The next row from the format itself, skipping blank rows. */
int sheet_rows_fresh(struct sheet_reader *r, struct sheet_row *row)
{
	for (;;) {
		bool got = false;
		sheet_rowbuf_clear(&r->row, 0);
		int rc = r->ops->next(r, &got);
		if (rc) {
			if (!r->failed)
				sheet_fail(r, rc, rc == WG_ERR_NOMEM ? SHEET_NOMEM : SHEET_FORMAT, 0, 0, NULL, NULL);
			return rc;
		}
		if (!got) {
			row->end = true;
			return 0;
		}
		sheet_rowbuf_finish(&r->row, row);
		if (row->n == 0)
			continue;
		if (++r->rows_read > WG_MAX_IMPORT_ROWS)
			return sheet_fail(r, WG_ERR_TOO_LARGE, SHEET_TOO_MANY_ROWS, row->number, 0,
			                  "(最多500万行)", " (at most 5,000,000)");
		return 0;
	}
}

static int failed_rc(const struct sheet_reader *r)
{
	switch (r->err.code) {
	case SHEET_NOMEM:
		return WG_ERR_NOMEM;
	case SHEET_IO:
		return WG_ERR_IO;
	case SHEET_TOO_LARGE: case SHEET_CELL_TOO_LONG: case SHEET_ROW_TOO_LONG:
	case SHEET_TOO_MANY_COLUMNS: case SHEET_TOO_MANY_ROWS:
		return WG_ERR_TOO_LARGE;
	default:
		return WG_ERR_VALIDATION;
	}
}

/* ---- reading ahead on a second thread ----
 *
 * The worker runs next_fresh() (the only code that touches r->row, r->err,
 * r->failed, r->rows_read and the format's state once it runs) and hands
 * each row over by swapping the reader's row buffer with a slot's, so no
 * text is copied. The caller holds one slot (its current row) until its next
 * call; the last slot (end or error) is never passed. The worker stops when
 * the slots are full or the rows in them hold WG_SHEET_AHEAD_BYTES. */

struct ahead_slot {
	struct sheet_rowbuf buf;
	struct sheet_row row;
	int rc;
};

struct sheet_ahead {
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t changed;
	struct ahead_slot *slot;
	size_t nslots;
	struct sheet_prepare prep;
	/* Slots [head, given) are the caller's, [given, tail) wait for it. */
	size_t head, given, tail;
	size_t held;         /* bytes of row text in the slots from given to tail */
	bool keep;           /* sheet_keep_rows(): given rows stay until sheet_release_rows() */
	bool stop, last_given;
	/* Who sleeps on `changed`: a wake-up per row would cost more than the
	 * parsing it hides, so the worker is woken when half the slots are free
	 * and the caller only when it waits. */
	bool worker_waits;
	atomic_bool caller_waits;  /* also read without the lock, to leave a row unprepared */
};

static bool slot_is_last(const struct ahead_slot *s) { return s->rc != 0 || s->row.end; }

/* One slot stays free; what waits for the caller stays within a memory
 * bound whatever the rows' width (one row always fits, however wide). */
static bool ahead_full(const struct sheet_ahead *a)
{
	return a->tail - a->head >= a->nslots - 1 || (a->held >= WG_SHEET_AHEAD_BYTES && a->tail > a->given);
}

/* Whether the rows waiting for the caller are enough to prepare the next:
 * fewer, and the caller is about to wait (a spreadsheet to unzip makes this
 * thread the slower one): the row goes over as it is and the caller
 * prepares it itself, so the two share the work and neither sleeps. Read
 * under the lock, used after it. */
static bool ahead_deep(const struct sheet_ahead *a)
{
	return a->tail - a->given >= a->nslots / 4 || a->held >= WG_SHEET_AHEAD_BYTES / 4;
}

static void *ahead_run(void *arg)
{
	struct sheet_reader *r = arg;
	struct sheet_ahead *a = r->ahead;
	bool deep = false;
	pthread_mutex_lock(&a->lock);
	for (;;) {
		while (!a->stop && ahead_full(a)) {
			a->worker_waits = true;
			pthread_cond_wait(&a->changed, &a->lock);
			a->worker_waits = false;
		}
		if (a->stop)
			break;
		pthread_mutex_unlock(&a->lock);
		/* the caller has moved past what this slot held */
		struct ahead_slot *s = &a->slot[a->tail % a->nslots];
		if (s->row.prepared && a->prep.release)
			a->prep.release(s->row.prepared);
		s->row.prepared = NULL;
		if (r->row.text.cap > WG_SHEET_KEEP_BYTES) {  /* a very wide row's buffer is not kept for the next */
			sheet_rowbuf_release(&r->row);
			sheet_rowbuf_init(&r->row);
		}
		struct sheet_row row;
		memset(&row, 0, sizeof row);
		int rc = sheet_rows_fresh(r, &row);
		if (rc == 0 && !row.end && a->prep.prepare && deep && !atomic_load_explicit(&a->caller_waits, memory_order_relaxed))
			row.prepared = a->prep.prepare(a->prep.ctx, &row);
		/* The row's cells and texts live in r->row's memory, which moves to
		 * the slot as it is: the row stays valid there. */
		struct sheet_rowbuf swap = s->buf;
		s->buf = r->row;
		r->row = swap;
		s->rc = rc;
		s->row = row;
		pthread_mutex_lock(&a->lock);
		a->tail++;
		a->held += s->buf.text.len;
		deep = ahead_deep(a);
		if (a->caller_waits)
			pthread_cond_broadcast(&a->changed);
		if (slot_is_last(s))
			break;
	}
	pthread_mutex_unlock(&a->lock);
	return NULL;
}

void sheet_read_ahead(struct sheet_reader *r, const struct sheet_prepare *prep)
{
	if (!r || r->ahead || r->failed)
		return;
	struct sheet_ahead *a = wg_calloc(1, sizeof *a);
	if (!a)
		return;
	if (prep)
		a->prep = *prep;
	a->nslots = a->prep.rows ? a->prep.rows + 1 : SHEET_AHEAD_ROWS;
	if (a->nslots < SHEET_AHEAD_ROWS)
		a->nslots = SHEET_AHEAD_ROWS;
	if (a->nslots > WG_SHEET_AHEAD_MAX_ROWS)
		a->nslots = WG_SHEET_AHEAD_MAX_ROWS;
	if (!(a->slot = wg_calloc(a->nslots, sizeof *a->slot))) {
		wg_free(a);
		return;
	}
	for (size_t i = 0; i < a->nslots; i++)
		sheet_rowbuf_init(&a->slot[i].buf);
	pthread_mutex_init(&a->lock, NULL);
	pthread_cond_init(&a->changed, NULL);
	r->ahead = a;
	if (pthread_create(&a->thread, NULL, ahead_run, r) != 0) {
		r->ahead = NULL;
		pthread_mutex_destroy(&a->lock);
		pthread_cond_destroy(&a->changed);
		wg_free(a->slot);
		wg_free(a);
	}
}

void sheet_rows_stop(struct sheet_reader *r)
{
	struct sheet_ahead *a = r->ahead;
	if (!a)
		return;
	pthread_mutex_lock(&a->lock);
	a->stop = true;
	pthread_cond_broadcast(&a->changed);
	pthread_mutex_unlock(&a->lock);
	pthread_join(a->thread, NULL);
	for (size_t i = 0; i < a->nslots; i++) {
		if (a->slot[i].row.prepared && a->prep.release)
			a->prep.release(a->slot[i].row.prepared);
		sheet_rowbuf_release(&a->slot[i].buf);
	}
	pthread_mutex_destroy(&a->lock);
	pthread_cond_destroy(&a->changed);
	wg_free(a->slot);
	wg_free(a);
	r->ahead = NULL;
}

/* Under the lock: the rows given to the caller are released to the worker. */
static void release_given(struct sheet_ahead *a)
{
	if (a->last_given && a->given > a->head)
		a->given--;  /* the last slot (end or error) is never passed: it answers every later call */
	a->head = a->given;
	if (a->last_given)
		a->given++;
	if (a->worker_waits && a->tail - a->head <= a->nslots / 2 && a->held <= WG_SHEET_AHEAD_BYTES / 2)
		pthread_cond_broadcast(&a->changed);
}

static int ahead_next(struct sheet_ahead *a, struct sheet_row *row)
{
	pthread_mutex_lock(&a->lock);
	if (!a->keep)
		release_given(a);
	const struct ahead_slot *s;
	if (a->last_given) {
		s = &a->slot[(a->given - 1) % a->nslots];
	} else {
		while (a->given == a->tail) {
			if (a->worker_waits)  /* rows kept may have held it back: what it waits for is gone */
				pthread_cond_broadcast(&a->changed);
			a->caller_waits = true;
			pthread_cond_wait(&a->changed, &a->lock);
			a->caller_waits = false;
		}
		s = &a->slot[a->given % a->nslots];
		a->given++;
		a->held -= s->buf.text.len;
		a->last_given = slot_is_last(s);
		const void *next = a->given < a->tail ? a->slot[a->given % a->nslots].row.prepared : NULL;
		if (next && a->prep.warm)
			a->prep.warm(next);
	}
	pthread_mutex_unlock(&a->lock);
	*row = s->row;
	return s->rc;
}

bool sheet_keep_rows(struct sheet_reader *r, bool keep)
{
	struct sheet_ahead *a = r->ahead;
	if (!a)
		return false;
	pthread_mutex_lock(&a->lock);
	a->keep = keep;
	pthread_mutex_unlock(&a->lock);
	return true;
}

void sheet_release_rows(struct sheet_reader *r)
{
	struct sheet_ahead *a = r->ahead;
	if (!a)
		return;
	pthread_mutex_lock(&a->lock);
	release_given(a);
	pthread_mutex_unlock(&a->lock);
}

int sheet_next_row(struct sheet_reader *r, struct sheet_row *row)
{
	assert(r && row);
	memset(row, 0, sizeof *row);
	/* (once reading ahead, the worker owns r->failed: its errors come in order through the slots) */
	if (!r->ahead && r->failed)
		return failed_rc(r);
	if (r->saved_next < r->nsaved) {
		replay_row(r, row);
		return 0;
	}
	if (r->nsaved)
		sheet_rows_forget(r);
	return r->ahead ? ahead_next(r->ahead, row) : sheet_rows_fresh(r, row);
}
