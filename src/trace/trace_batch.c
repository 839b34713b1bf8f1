/* Close contacts of many cases (a batch): one row per distinct (case,
 * contact) pair, cases in person order.
 *
 * The rows of a batch are hundreds of megabytes, and on a virtual machine
 * the page faults of writing fresh memory cost as much as computing the
 * rows. So the rows are written once, into their final place, and no page
 * is touched twice: the array is allocated at an upper bound of the answer
 * (address space only; pages are touched as rows are written), threads take
 * cases in order, and a case gets its offset as soon as its contacts are
 * counted and every earlier case has its offset. A thread whose case must
 * wait for an earlier one writes its rows to a small staging buffer it
 * reuses and goes on with the next case, so no thread idles; the staged
 * rows are copied out when their turn comes. At the end the array shrinks
 * to the answer (which keeps it where it is). */
#include <pthread.h>
#include <sys/mman.h>
#include <stdlib.h>
#include <string.h>

#include "core/lib/mem.h"
#include "trace/trace_query.h"

/* Shared by the threads of one batch; the fields from `mu` on are guarded
 * by it. */
struct batch {
	const struct trace_table *t;
	const struct trace_rule *r;
	const struct tq_case *cases;
	size_t ncases;
	int nthreads;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct trace_hit *rows;
	size_t cap;         /* rows allocated: the upper bound */
	int bounding;       /* threads still adding their share of the bound */
	size_t next;        /* next case to take */
	size_t turn;        /* next case to get its offset */
	size_t used;        /* rows given out */
	int rc;             /* first failure */
};

/* One thread; staged cases wait in `fifo`, their rows in `stage`. */
#define BATCH_AHEAD 64

struct staged {
	size_t i, at, n;
};

struct batch_thread {
	struct batch *b;
	int id;
	struct tq_map m;
	struct tq_scratch scratch;
	struct trace_hit *stage;
	size_t stage_used, stage_cap;
	struct staged fifo[BATCH_AHEAD];
	size_t head, count;
};

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif

/* Faults in the whole pages of [p, p + len) with one call instead of a trap
 * per page; harmless where unsupported. */
static void prefault(void *p, size_t len)
{
	uintptr_t a = ((uintptr_t)p + 4095) & ~(uintptr_t)4095;
	uintptr_t e = ((uintptr_t)p + len) & ~(uintptr_t)4095;
	if (e > a)
		madvise((void *)a, e - a, MADV_POPULATE_WRITE);
}

static void batch_fail(struct batch *b, int rc)
{
	pthread_mutex_lock(&b->mu);
	if (!b->rc)
		b->rc = rc;
	pthread_cond_broadcast(&b->cv);
	pthread_mutex_unlock(&b->mu);
}

/* Each thread bounds every nthreads-th case; the last one to finish
 * allocates the rows (address space: untouched pages cost nothing). */
static int batch_bound(struct batch_thread *w)
{
	struct batch *b = w->b;
	size_t sum = 0, bytes;
	int rc = TRACE_OK;

	for (size_t i = (size_t)w->id; i < b->ncases; i += (size_t)b->nthreads) {
		struct tq q;
		tq_init(&q, b->t, b->r, b->cases[i].onset, b->r->buffer_min, b->r->min_overlap_min);
		sum += (size_t)tq_bound(&q, b->cases[i].idx);
	}
	pthread_mutex_lock(&b->mu);
	b->cap += sum;
	if (--b->bounding == 0 && !b->rc && b->cap > 0) {
		if (!wg_size_mul(b->cap, sizeof(*b->rows), &bytes) || !(b->rows = wg_malloc(bytes)))
			rc = b->rc = TRACE_ERR_NOMEM;
	}
	pthread_cond_broadcast(&b->cv);
	pthread_mutex_unlock(&b->mu);
	return rc;
}

/* Takes the next case; false when none is left or the batch failed. */
static bool batch_take(struct batch *b, size_t *i)
{
	bool ok;
	pthread_mutex_lock(&b->mu);
	ok = !b->rc && b->next < b->ncases;
	if (ok)
		*i = b->next++;
	pthread_mutex_unlock(&b->mu);
	return ok;
}

/* Gives case i its n rows when it is next in line; with `wait`, waits for
 * that, otherwise *placed says whether it was. */
static int batch_place(struct batch *b, size_t i, size_t n, bool wait, bool *placed, size_t *off)
{
	int rc;

	*placed = false;
	pthread_mutex_lock(&b->mu);
	while (wait && (b->turn != i || b->bounding) && !b->rc)
		pthread_cond_wait(&b->cv, &b->mu);
	rc = b->rc;
	if (!rc && b->turn == i && !b->bounding) {
		if (n > b->cap || b->used > b->cap - n) {
			rc = b->rc = TRACE_ERR_CORRUPT; /* the bound was wrong: never expected */
		} else {
			*off = b->used;
			b->used += n;
			b->turn++;
			*placed = true;
		}
		pthread_cond_broadcast(&b->cv);
	}
	pthread_mutex_unlock(&b->mu);
	return rc;
}

static int stage_reserve(struct batch_thread *w, size_t n)
{
	size_t cap = w->stage_cap ? w->stage_cap : 4096, bytes;
	struct trace_hit *x;

	if (w->stage_used + n <= w->stage_cap)
		return TRACE_OK;
	while (cap < w->stage_used + n)
		cap *= 2;
	if (!wg_size_mul(cap, sizeof(*x), &bytes) || !(x = wg_realloc(w->stage, bytes)))
		return TRACE_ERR_NOMEM;
	w->stage = x;
	w->stage_cap = cap;
	return TRACE_OK;
}

/* Copies out the staged cases whose turn came, oldest first; with `wait`
 * waits for the oldest one's turn. */
static int batch_flush(struct batch_thread *w, bool wait)
{
	struct batch *b = w->b;

	while (w->count) {
		struct staged *s = &w->fifo[w->head];
		size_t off = 0;
		bool placed;
		int rc = batch_place(b, s->i, s->n, wait, &placed, &off);
		if (rc)
			return rc;
		if (!placed)
			return TRACE_OK;
		wait = false;
		if (s->n) {
			prefault(b->rows + off, s->n * sizeof(*b->rows));
			memcpy(b->rows + off, w->stage + s->at, s->n * sizeof(*b->rows));
		}
		w->head = (w->head + 1) % BATCH_AHEAD;
		if (--w->count == 0)
			w->stage_used = 0;
	}
	return TRACE_OK;
}

/* Counts, ranks and writes one case: into its place if its turn came and
 * nothing of this thread is staged before it, else into the staging. */
static int batch_case_run(struct batch_thread *w, size_t i)
{
	struct batch *b = w->b;
	const struct tq_case *c = &b->cases[i];
	const uint64_t *order = NULL;
	struct tq q;
	size_t off = 0;
	bool placed = false;
	int rc;

	tq_init(&q, b->t, b->r, c->onset, b->r->buffer_min, b->r->min_overlap_min);
	tq_map_clear(&w->m);
	rc = tq_collect(&q, c->idx, &w->m, NULL);
	if (!rc && w->m.n)
		rc = tq_map_rank(&w->m, &w->scratch, &order);
	if (!rc && w->count == 0)
		rc = batch_place(b, i, w->m.n, false, &placed, &off);
	if (rc)
		return rc;
	if (placed) {
		if (w->m.n) {
			prefault(b->rows + off, w->m.n * sizeof(*b->rows));
			tq_map_fill(&q, &w->m, c->idx, order, b->rows + off);
		}
		return TRACE_OK;
	}
	rc = stage_reserve(w, w->m.n);
	if (rc)
		return rc;
	if (w->m.n)
		tq_map_fill(&q, &w->m, c->idx, order, w->stage + w->stage_used);
	w->fifo[(w->head + w->count) % BATCH_AHEAD] = (struct staged){ i, w->stage_used, w->m.n };
	w->count++;
	w->stage_used += w->m.n;
	return TRACE_OK;
}

static void *batch_run(void *arg)
{
	struct batch_thread *w = arg;
	size_t i;
	int rc = batch_bound(w);

	while (!rc) {
		bool took = w->count < BATCH_AHEAD && batch_take(w->b, &i);
		if (took)
			rc = batch_case_run(w, i);
		else if (w->count == 0)
			break;
		if (!rc)
			rc = batch_flush(w, !took);
	}
	if (rc)
		batch_fail(w->b, rc);
	return NULL;
}

/* Runs the threads; one that cannot be started is run here afterwards, so
 * every share of the bound is added. */
static int batch_threads(struct batch *b)
{
	struct batch_thread w[64];
	pthread_t th[64];
	bool started[64];

	memset(w, 0, sizeof(w));
	for (int i = 0; i < b->nthreads; i++) {
		w[i].b = b;
		w[i].id = i;
		started[i] = i > 0 && pthread_create(&th[i], NULL, batch_run, &w[i]) == 0;
	}
	batch_run(&w[0]);
	for (int i = 1; i < b->nthreads; i++)
		if (!started[i])
			batch_run(&w[i]);
	for (int i = 1; i < b->nthreads; i++)
		if (started[i])
			pthread_join(th[i], NULL);
	for (int i = 0; i < b->nthreads; i++) {
		tq_map_free(&w[i].m);
		tq_scratch_free(&w[i].scratch);
		wg_free(w[i].stage);
	}
	return b->rc;
}

static int batch_locked(trace_store *s, const struct trace_case *cases, size_t n,
			const struct trace_rule *r, struct trace_result *out, size_t *unknown);

int trace_batch_close(trace_store *s, const struct trace_case *cases, size_t n,
		      const struct trace_rule *r, struct trace_result *out, size_t *unknown)
{
	int rc;
	pthread_mutex_lock(&s->q_mu);
	rc = batch_locked(s, cases, n, r, out, unknown);
	pthread_mutex_unlock(&s->q_mu);
	return rc;
}

static int batch_locked(trace_store *s, const struct trace_case *cases, size_t n,
			const struct trace_rule *r, struct trace_result *out, size_t *unknown)
{
	struct batch b;
	struct tq_case *c = NULL;
	size_t nc = 0, dummy = 0;
	int rc;

	if (!unknown)
		unknown = &dummy;
	*unknown = 0;
	rc = tq_prepare(s, TRACE_SCAN, 0, out);
	if (rc)
		return rc;
	rc = tq_cases(&s->tab[TRACE_SCAN], cases, n, &c, &nc, unknown);
	if (rc || nc == 0)
		goto out;
	rc = tq_case_positions(s, c, nc);
	if (rc)
		goto out;
	memset(&b, 0, sizeof(b));
	b.t = &s->tab[TRACE_SCAN];
	b.r = r;
	b.cases = c;
	b.ncases = nc;
	b.nthreads = trace_threads(r);
	if ((size_t)b.nthreads > nc)
		b.nthreads = (int)nc;
	b.bounding = b.nthreads;
	rc = TRACE_ERR_NOMEM;
	if (pthread_mutex_init(&b.mu, NULL) != 0)
		goto out;
	if (pthread_cond_init(&b.cv, NULL) != 0) {
		pthread_mutex_destroy(&b.mu);
		goto out;
	}
	rc = batch_threads(&b);
	pthread_cond_destroy(&b.cv);
	pthread_mutex_destroy(&b.mu);
	if (!rc && b.used > 0) {
		if (b.used < b.cap) { /* shrinking keeps the rows where they are */
			struct trace_hit *x = wg_realloc(b.rows, b.used * sizeof(*b.rows));
			if (x)
				b.rows = x;
		}
		out->hits = b.rows;
		out->n = b.used;
		b.rows = NULL;
	}
	wg_free(b.rows);
out:
	wg_free(c);
	return rc;
}
