/* An import's writes in batches (PostgreSQL): ids taken from the tables'
 * sequences ahead of the rows that need them, new records kept for the
 * chunk's COPY, writes that may follow the chunk's rows. The chunks
 * themselves are run by resource_import.c. */
#include "core/resource/resource_int.h"
#include "core/lib/buf.h"
#include "core/lib/err.h"
#include "core/lib/mem.h"

#include <stdlib.h>
#include <string.h>

bool import_batching(const wg_req *r)
{
	return r->import && r->import->batching;
}

void import_ids_forget(struct wg_import *im)
{
	for (size_t i = 0; i < WG_IMPORT_ID_TABLES; i++)
		im->idpool[i].n = im->idpool[i].next = 0;
}

void import_batch_release(struct wg_import *im)
{
	for (size_t i = 0; i < WG_IMPORT_ID_TABLES; i++)
		wg_free(im->idpool[i].ids);
	for (size_t i = 0; i < WG_BATCH_TARGETS; i++) {
		wg_free(im->target[i].table);
		wg_free(im->target[i].columns);
		wg_free(im->target[i].target);
	}
}

static int ascending(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	return (x > y) - (x < y);
}

/* A pool holds the ids left over and a batch more: a chunk's rows never wait for a refill. */
#define WG_IMPORT_ID_POOL (WG_IMPORT_ID_BATCH + WG_IMPORT_CHUNK_MAX_ROWS)

/* The ids left, then as many more of table's sequence as the pool holds,
 * in one round trip (the sequence is looked up once, not for every id). */
static int refill(wg_req *r, struct import_ids *pool)
{
	wg_stmt *s;
	size_t left = pool->n - pool->next;
	memmove(pool->ids, pool->ids + pool->next, left * sizeof *pool->ids);
	pool->n = left;
	pool->next = 0;
	wg_param p[] = { WG_PTEXT(pool->table), WG_PINT((int64_t)(WG_IMPORT_ID_POOL - left)) };
	int rc = store_query(r->db, "WITH s AS MATERIALIZED (SELECT pg_get_serial_sequence(?, 'id')::regclass AS seq)"
			     " SELECT nextval(s.seq) FROM s, generate_series(1, ?)", p, 2, &s);
	if (rc)
		return rc;
	while ((rc = stmt_next(s)) == 1 && pool->n < WG_IMPORT_ID_POOL)
		pool->ids[pool->n++] = stmt_int(s, 0);
	stmt_done(s);
	if (rc < 0)
		return -rc;
	if (pool->n == 0)
		return WG_ERR_DB;
	/* Sessions share a sequence, so the ids need not be consecutive; in order they must be
	 * (the ones left were taken before, so they stay first). */
	qsort(pool->ids + left, pool->n - left, sizeof *pool->ids, ascending);
	return 0;
}

static int next_id(wg_req *r, const char *table, int64_t *id)
{
	struct wg_import *im = r->import;
	struct import_ids *pool = NULL;
	for (size_t i = 0; i < WG_IMPORT_ID_TABLES && !pool; i++)
		if (im->idpool[i].table == table || !im->idpool[i].table || strcmp(im->idpool[i].table, table) == 0)
			pool = &im->idpool[i];
	if (!pool)
		return WG_ERR_INTERNAL;
	if (!pool->ids && !(pool->ids = wg_malloc(WG_IMPORT_ID_POOL * sizeof *pool->ids)))
		return WG_ERR_NOMEM;
	pool->table = table;
	if (pool->next == pool->n) {
		int rc = refill(r, pool);
		if (rc)
			return rc;
	}
	*id = pool->ids[pool->next++];
	return 0;
}

int import_ids_reserve(wg_req *r, size_t n)
{
	struct wg_import *im = r->import;
	for (size_t i = 0; i < WG_IMPORT_ID_TABLES; i++) {
		struct import_ids *pool = &im->idpool[i];
		int rc = pool->ids && pool->table && pool->n - pool->next < n ? refill(r, pool) : 0;
		if (rc)
			return rc;
	}
	return 0;
}

/* "table (id, columns)", built once per table and columns. */
static const char *target_of(wg_req *r, const char *table, const char *columns)
{
	struct wg_import *im = r->import;
	for (size_t i = 0; i < WG_BATCH_TARGETS; i++)
		if (im->target[i].target && strcmp(im->target[i].table, table) == 0 && strcmp(im->target[i].columns, columns) == 0)
			return im->target[i].target;
	wg_buf b = WG_BUF_INIT(WG_MAX_SQL);
	wg_buf_printf(&b, "%s (id, %s)", table, columns);
	char *t = wg_strdup(table), *c = wg_strdup(columns), *target = b.err ? NULL : wg_buf_detach(&b, NULL);
	wg_buf_release(&b);
	if (!t || !c || !target) {
		wg_free(t);
		wg_free(c);
		wg_free(target);
		return NULL;
	}
	size_t slot = im->target_next++ % WG_BATCH_TARGETS;
	wg_free(im->target[slot].table);
	wg_free(im->target[slot].columns);
	wg_free(im->target[slot].target);
	im->target[slot].table = t;
	im->target[slot].columns = c;
	im->target[slot].target = target;
	return target;
}

int import_batch_insert(wg_req *r, const char *table, const char *columns, const wg_param *p, size_t n, int64_t *id)
{
	wg_param row[WG_MAX_SQL_PARAMS];
	if (!import_batching(r))
		return WG_ERR_USAGE;
	if (n + 1 > WG_MAX_SQL_PARAMS)
		return WG_ERR_INTERNAL;
	const char *target = target_of(r, table, columns);
	if (!target)
		return WG_ERR_NOMEM;
	int rc = next_id(r, table, id);
	if (rc)
		return rc;
	row[0] = WG_PINT(*id);
	memcpy(row + 1, p, n * sizeof *p);
	return store_batch_insert(r->db, r->import->stage, target, row, n + 1);
}

int import_run_after(wg_req *r, const char *sql, const wg_param *p, size_t n)
{
	return import_batching(r) ? store_batch_run(r->db, sql, p, n) : store_run(r->db, sql, p, n);
}
