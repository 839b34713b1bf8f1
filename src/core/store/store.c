#include "core/store/store_impl.h"
#include "core/lib/err.h"
#include "core/lib/log.h"
#include "core/lib/mem.h"

#include <string.h>
#include <time.h>

static uint64_t now_micros(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static bool is_postgres_url(const char *t)
{
	return strncmp(t, "postgres://", 11) == 0 || strncmp(t, "postgresql://", 13) == 0;
}

int store_open(const char *target, unsigned pool_size, wg_store **out)
{
	int rc = WG_ERR_NOMEM;
	wg_store *st = wg_calloc(1, sizeof *st);
	if (!st)
		return WG_ERR_NOMEM;
	st->dialect = is_postgres_url(target) ? WG_POSTGRES : WG_SQLITE;
	st->be = st->dialect == WG_POSTGRES ? &wg_postgres_backend : &wg_sqlite_backend;
	st->pool_size = pool_size ? pool_size : 1;
	pthread_mutex_init(&st->lock, NULL);
	pthread_cond_init(&st->available, NULL);
	st->target = wg_strdup(target);
	st->conns = wg_calloc(st->pool_size, sizeof *st->conns);
	if (!st->target || !st->conns)
		goto fail;
	for (unsigned i = 0; i < st->pool_size; i++) {
		wg_conn *c = &st->conns[i];
		c->store = st;
		rc = st->be->connect(st, c);
		if (rc)
			goto fail;
		c->next_free = st->free_list;
		st->free_list = c;
	}
	*out = st;
	return 0;
fail:
	store_close(st);
	return rc;
}

static void conn_free_cache(wg_conn *c)
{
	for (size_t i = 0; i < c->cache_len; i++)
		wg_free(c->cache[i].sql);
	wg_free(c->cache);
	c->cache = NULL;
	c->cache_len = c->cache_cap = 0;
}

void store_close(wg_store *st)
{
	if (!st)
		return;
	store_watch_stop(st);
	if (st->conns) {
		for (unsigned i = 0; i < st->pool_size; i++) {
			wg_conn *c = &st->conns[i];
			if (c->db)
				st->be->disconnect(c);
			conn_free_cache(c);
			store_copy_release(c);
		}
	}
	if (st->be && st->be->close_store)
		st->be->close_store(st);
	wg_free(st->conns);
	wg_free(st->target);
	pthread_mutex_destroy(&st->lock);
	pthread_cond_destroy(&st->available);
	wg_free(st);
}

enum wg_dialect store_dialect(const wg_store *st) { return st->dialect; }
enum wg_dialect conn_dialect(const wg_conn *c) { return c->store->dialect; }
uint64_t store_busy_micros(const wg_store *st) { return atomic_load(&st->busy_micros); }
uint64_t store_query_count(const wg_store *st) { return atomic_load(&st->queries); }

void store_time_whole(wg_conn *c, bool whole)
{
	if (!c || whole == c->timed_whole)
		return;
	if (whole)
		c->timed_since = now_micros();
	else
		atomic_fetch_add(&c->store->busy_micros, now_micros() - c->timed_since);
	c->timed_whole = whole;
}

int store_acquire(wg_store *st, wg_conn **out)
{
	pthread_mutex_lock(&st->lock);
	while (!st->free_list)
		pthread_cond_wait(&st->available, &st->lock);
	wg_conn *c = st->free_list;
	st->free_list = c->next_free;
	pthread_mutex_unlock(&st->lock);
	c->next_free = NULL;
	*out = c;
	return 0;
}

void store_release(wg_store *st, wg_conn *c)
{
	if (!c)
		return;
	stmt_done(&c->stmt);
	store_batch_discard(c);
	if (c->in_tx)
		store_rollback(c);
	store_time_whole(c, false);
	pthread_mutex_lock(&st->lock);
	c->next_free = st->free_list;
	st->free_list = c;
	pthread_cond_signal(&st->available);
	pthread_mutex_unlock(&st->lock);
}

static void end_snapshot(wg_conn *c)
{
	if (c->store->be->end_snapshot)
		c->store->be->end_snapshot(c, false);
}

void store_sweep_snapshots(wg_store *st)
{
	if (!st->be->end_snapshot)
		return;
	pthread_mutex_lock(&st->lock);
	for (wg_conn *c = st->free_list; c; c = c->next_free)
		st->be->end_snapshot(c, true);
	pthread_mutex_unlock(&st->lock);
}

int store_exec_script(wg_conn *c, const char *sql)
{
	stmt_done(&c->stmt);
	store_batch_settle(c);
	end_snapshot(c);
	return c->store->be->exec_script(c, sql);
}

/* in_tx is set before BEGIN runs: the backend then knows the statement
 * opens a transaction of the caller's, not a read it may keep. */
static int begin(wg_conn *c, const char *sql, bool writes)
{
	stmt_done(&c->stmt);
	end_snapshot(c);
	c->in_tx = true;
	c->tx_version_state = TX_VERSION_UNKNOWN;
	int rc = store_run(c, sql, NULL, 0);
	if (rc)
		c->in_tx = false;
	else if (!writes)
		c->tx_version_state = TX_VERSION_PENDING;  /* its first read begins the snapshot */
	return rc;
}

int store_begin(wg_conn *c)
{
	return begin(c, conn_dialect(c) == WG_SQLITE ? "BEGIN IMMEDIATE" : "BEGIN", true);
}

int store_begin_read(wg_conn *c)
{
	return begin(c, conn_dialect(c) == WG_SQLITE ? "BEGIN DEFERRED" : "BEGIN READ ONLY", false);
}

int store_commit(wg_conn *c)
{
	/* A batch still open is sent with the transaction, or fails it; so does one sent and not asked about. */
	int rc = c->batch ? store_batch_end(c, true) : 0;
	int sent = store_batch_wait(c);
	rc = rc ? rc : sent;
	if (rc) {
		store_rollback(c);
		return rc;
	}
	rc = store_run(c, "COMMIT", NULL, 0);
	c->in_tx = false;
	return rc;
}

int store_rollback(wg_conn *c)
{
	store_batch_discard(c);
	store_batch_wait(c);  /* read, so the connection is free; its outcome no longer matters */
	int rc = store_run(c, "ROLLBACK", NULL, 0);
	c->in_tx = false;
	return rc;
}

bool store_in_transaction(const wg_conn *c) { return c->in_tx; }

uint64_t store_read_version(wg_conn *c) { return c->store->be->read_version ? c->store->be->read_version(c) : 0; }

uint64_t store_stamp(wg_conn *c)
{
	if (c->store->dialect == WG_POSTGRES)
		return store_changes(c->store);
	uint64_t version = c->in_tx ? 0 : store_read_version(c);
	if (!version)
		return 0;
	if (version == c->stamp_version)
		return c->stamp;
	/* Read at or after VERSION: a change between the two is in n, and
	 * the next look, at a later version, reads n again. */
	int64_t n;
	if (store_int(c, "SELECT n FROM store_marks WHERE id = 1", NULL, 0, &n))
		return 0;
	c->stamp_version = version;
	c->stamp = (uint64_t)n + 1;
	return c->stamp;
}

int store_query(wg_conn *c, const char *sql, const wg_param *params, size_t n, wg_stmt **out)
{
	/* A connection runs one statement at a time: a query in the middle of
	 * another's rows ends that one, and its loop then reads garbage or
	 * stops early. Said loudly (the API tests fail on it), never silent. */
	if (c->stmt.active && c->stmt.reading)
		log_warn("store: a query cut another's rows short / 查询打断了另一条语句的结果: [%.120s] while reading [%.120s]",
			 sql, c->stmt.sql ? c->stmt.sql : "");
	stmt_done(&c->stmt);
	store_batch_settle(c);
	/* A read sees every write before it, and a batch that failed fails what follows. */
	int flushed = c->batch ? store_batch_flush(c) : 0;
	if (flushed)
		return flushed;
	c->unique_violation = false;
	c->last_error[0] = '\0';
	wg_stmt *s = &c->stmt;
	memset(s, 0, sizeof *s);
	s->conn = c;
	uint64_t t0 = c->timed_whole ? 0 : now_micros();
	int rc = c->store->be->query(c, sql, params, n, s);
	if (!c->timed_whole)
		atomic_fetch_add(&c->store->busy_micros, now_micros() - t0);
	atomic_fetch_add(&c->store->queries, 1);
	if (rc)
		return rc;
	s->active = true;
	s->sql = sql;
	if (out)
		*out = s;
	return 0;
}

int stmt_next(wg_stmt *s)
{
	if (!s->active)
		return 0;
	int rc = s->conn->store->be->next(s);
	s->reading = rc == 1;
	return rc;
}

void stmt_done(wg_stmt *s)
{
	if (s->active && s->conn)
		s->conn->store->be->done(s);
	s->active = false;
	s->reading = false;
}

int stmt_columns(const wg_stmt *s) { return s->conn->store->be->columns(s); }
bool stmt_is_null(const wg_stmt *s, int col) { return s->conn->store->be->is_null(s, col); }
const char *stmt_text(const wg_stmt *s, int col) { return s->conn->store->be->text(s, col); }
size_t stmt_len(const wg_stmt *s, int col) { return s->conn->store->be->len(s, col); }
const char *stmt_column_name(const wg_stmt *s, int col) { return s->conn->store->be->column_name(s, col); }
int64_t stmt_changes(const wg_stmt *s) { return s->changes; }

int64_t store_writes(wg_conn *c) { return c->store->be->writes ? c->store->be->writes(c) : -1; }

int64_t stmt_int(const wg_stmt *s, int col) { return s->conn->store->be->integer(s, col); }

int store_run(wg_conn *c, const char *sql, const wg_param *params, size_t n)
{
	wg_stmt *s;
	int rc = store_query(c, sql, params, n, &s);
	if (rc)
		return rc;
	while ((rc = stmt_next(s)) == 1)
		;
	stmt_done(s);
	return rc < 0 ? -rc : 0;
}

int store_int(wg_conn *c, const char *sql, const wg_param *params, size_t n, int64_t *out)
{
	wg_stmt *s;
	int rc = store_query(c, sql, params, n, &s);
	if (rc)
		return rc;
	rc = stmt_next(s);
	if (rc == 1) {
		*out = stmt_int(s, 0);
		rc = 0;
	} else {
		rc = rc == 0 ? WG_ERR_NOT_FOUND : -rc;
	}
	stmt_done(s);
	return rc;
}

int store_insert(wg_conn *c, const char *sql, const wg_param *params, size_t n, int64_t *id)
{
	if (c->store->be->last_insert_id) {
		int rc = store_run(c, sql, params, n);
		if (!rc)
			*id = c->store->be->last_insert_id(c);
		return rc;
	}
	static const char returning[] = " RETURNING id";
	size_t len = strlen(sql);
	char *with = wg_malloc(len + sizeof returning);
	if (!with)
		return WG_ERR_NOMEM;
	memcpy(with, sql, len);
	memcpy(with + len, returning, sizeof returning);
	int rc = store_int(c, with, params, n, id);
	wg_free(with);
	return rc;
}

bool store_last_was_unique_violation(const wg_conn *c) { return c->unique_violation; }
const char *store_last_error(const wg_conn *c) { return c->last_error; }

int store_backup(wg_store *st, const char *dest_path)
{
	if (!st->be->backup)
		return WG_ERR_USAGE;
	wg_conn *c;
	store_acquire(st, &c);
	int rc = st->be->backup(c, dest_path);
	store_release(st, c);
	return rc;
}

