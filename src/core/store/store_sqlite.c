/* SQLite backend: WAL, foreign keys, busy timeout, cached prepared statements. */
#include "core/store/store_impl.h"
#include "core/lib/err.h"
#include "core/lib/limits.h"
#include "core/lib/mem.h"

#include <fcntl.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static int sqlite_fail(wg_conn *c, int src)
{
	sqlite3 *db = c->db;
	store_set_error(c, db ? sqlite3_errmsg(db) : sqlite3_errstr(src));
	int ext = db ? sqlite3_extended_errcode(db) : src;
	if (ext == SQLITE_CONSTRAINT_UNIQUE || ext == SQLITE_CONSTRAINT_PRIMARYKEY) {
		c->unique_violation = true;
		return WG_ERR_CONFLICT;
	}
	if ((ext & 0xff) == SQLITE_CONSTRAINT)
		return WG_ERR_CONFLICT;
	if ((ext & 0xff) == SQLITE_BUSY || (ext & 0xff) == SQLITE_LOCKED)
		return WG_ERR_BUSY;
	if ((ext & 0xff) == SQLITE_NOMEM)
		return WG_ERR_NOMEM;
	return WG_ERR_DB;
}

/* SQLite's memory statistics take one process-wide mutex on every
 * allocation, which request threads then queue on; nothing reads them. Must
 * be set before SQLite initialises (later calls are refused and harmless). */
static void sqlite_configure(void)
{
	sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
}

static pthread_once_t configure_once = PTHREAD_ONCE_INIT;

/* ---- read snapshots kept between requests ----
 *
 * Every SQLite read transaction takes and drops a shared lock on the WAL
 * index (two fcntl calls under a process-wide mutex) and revalidates the
 * page cache: for a one-statement read, a third of the store's cost.
 * Outside a caller's transaction a connection therefore keeps its read
 * transaction open from one read to the next, and ends it
 *   - before it writes, or before the caller begins a transaction;
 *   - as soon as the WAL-index header has changed: every commit, by any
 *     connection of any process, rewrites it (its layout is part of the
 *     documented WAL file format that processes of different SQLite
 *     versions share), so a read never misses a committed write;
 *   - when it is older than WG_READ_SNAPSHOT_MICROS, also while idle in the
 *     pool (store_sweep_snapshots), so that it never holds a checkpoint back.
 * Without a WAL index to watch (another journal mode), no snapshot is kept. */
#define WAL_INDEX_HEADER sizeof ((wg_conn *)0)->snapshot_hdr /* the first copy of the header: 48 bytes */

static uint64_t mono_micros(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

/* The descriptor stays open until every connection is closed: closing any
 * descriptor of a file drops all of this process's POSIX locks on it,
 * SQLite's own included. (Dropping them let another process take the -shm
 * file for unused, and re-initialise it under our connections.) */
static void map_wal_index(wg_store *st, sqlite3 *db)
{
	if (st->wal_index_fd < 0) {
		const char *name = sqlite3_db_filename(db, "main");
		char path[4096];
		if (!name || !*name || snprintf(path, sizeof path, "%s-shm", name) >= (int)sizeof path)
			return;
		st->wal_index_fd = open(path, O_RDONLY | O_CLOEXEC);  /* kept, mapped or not: see above */
		if (st->wal_index_fd < 0)
			return;
	}
	/* A new database's index is written by its first reads: the next connection tries again. */
	struct stat sb;
	if (fstat(st->wal_index_fd, &sb) == 0 && (size_t)sb.st_size >= WAL_INDEX_HEADER) {
		void *m = mmap(NULL, WAL_INDEX_HEADER, PROT_READ, MAP_SHARED, st->wal_index_fd, 0);
		if (m != MAP_FAILED)
			st->wal_index = m;
	}
}

/* After every connection is closed (see map_wal_index). */
static void sqlite_close_store(wg_store *st)
{
	if (st->wal_index)
		munmap((void *)st->wal_index, WAL_INDEX_HEADER);
	if (st->wal_index_tried && st->wal_index_fd >= 0)
		close(st->wal_index_fd);
	st->wal_index = NULL;
	st->wal_index_tried = false;
	st->wal_index_fd = -1;
}

static void wal_header(const wg_store *st, unsigned char out[WAL_INDEX_HEADER])
{
	atomic_thread_fence(memory_order_acquire);
	for (size_t i = 0; i < WAL_INDEX_HEADER; i++)
		out[i] = st->wal_index[i];
}

static bool snapshot_current(const wg_conn *c)
{
	unsigned char now[WAL_INDEX_HEADER];
	if (mono_micros() - c->snapshot_at >= WG_READ_SNAPSHOT_MICROS)
		return false;
	wal_header(c->store, now);
	return memcmp(now, c->snapshot_hdr, WAL_INDEX_HEADER) == 0;
}

static int step_alone(void *ps)
{
	int rc = sqlite3_step(ps);
	sqlite3_reset(ps);
	return rc == SQLITE_DONE ? SQLITE_OK : rc;
}

static void sqlite_end_snapshot(wg_conn *c, bool only_stale)
{
	if (!c->snapshot || (only_stale && snapshot_current(c)))
		return;
	c->snapshot = false;
	if (step_alone(c->commit_ps) != SQLITE_OK)
		sqlite3_exec(c->db, "ROLLBACK", NULL, NULL, NULL);
}

/* Before a statement outside the caller's transaction. */
static void keep_snapshot(wg_conn *c, bool reading)
{
	if (c->snapshot) {
		if (reading && snapshot_current(c))
			return;
		sqlite_end_snapshot(c, false);
	}
	if (!reading || !c->store->wal_index)
		return;
	/* The header is read before the transaction begins: a commit after this
	 * point changes it, and the next read starts afresh. */
	wal_header(c->store, c->snapshot_hdr);
	c->snapshot_at = mono_micros();
	c->snapshot = step_alone(c->begin_ps) == SQLITE_OK;
}

/* The header as a number; never 0. */
static uint64_t header_version(const wg_store *st)
{
	unsigned char h[WAL_INDEX_HEADER];
	wal_header(st, h);
	uint64_t v = 0xcbf29ce484222325u;
	for (size_t i = 0; i < WAL_INDEX_HEADER; i++)
		v = (v ^ h[i]) * 0x100000001b3u;
	return v | 1;
}

/* Outside a transaction the next read sees the last commit: a kept
 * snapshot is ended as soon as the header changes (keep_snapshot). */
static uint64_t sqlite_read_version(wg_conn *c)
{
	if (!c->store->wal_index)
		return 0;
	if (c->in_tx)
		return c->tx_version_state == TX_VERSION_KNOWN ? c->tx_version : 0;
	return header_version(c->store);
}

/* In the caller's transaction: a write makes its version unknown; the
 * first read that begins its snapshot gives it, provided no commit came
 * between the header read before and after it. */
static uint64_t tx_version_before(wg_conn *c, bool readonly)
{
	if (!readonly)
		c->tx_version_state = TX_VERSION_UNKNOWN;
	return c->tx_version_state == TX_VERSION_PENDING && c->store->wal_index ? header_version(c->store) : 0;
}

static void tx_version_after(wg_conn *c, uint64_t before)
{
	if (!before || sqlite3_txn_state(c->db, "main") == SQLITE_TXN_NONE)
		return;  /* no snapshot yet: the next read begins it */
	c->tx_version = before;
	c->tx_version_state = header_version(c->store) == before ? TX_VERSION_KNOWN : TX_VERSION_UNKNOWN;
}

static int sqlite_connect(wg_store *st, wg_conn *c)
{
	sqlite3 *db = NULL;
	pthread_once(&configure_once, sqlite_configure);
	int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX;
	int rc = sqlite3_open_v2(st->target, &db, flags, NULL);
	c->db = db;
	if (rc != SQLITE_OK)
		return sqlite_fail(c, rc);
	sqlite3_extended_result_codes(db, 1);
	sqlite3_busy_timeout(db, 10000);
	rc = sqlite3_exec(db,
		"PRAGMA journal_mode=WAL;"
		"PRAGMA synchronous=NORMAL;"
		"PRAGMA foreign_keys=ON;"
		"PRAGMA temp_store=MEMORY;"
		"PRAGMA mmap_size=268435456;"
		"PRAGMA cache_size=-32768;"
		/* CREATE INDEX and big sorts may use a second core. */
		"PRAGMA threads=2;"
		/* ANALYZE after a big import samples each index (0.45 s → 7 ms at a
		 * million persons); the planner needs the shape, not exact counts. */
		"PRAGMA analysis_limit=1000;"
		/* Name-prefix searches (LIKE 'x%') then use the plain index. */
		"PRAGMA case_sensitive_like=ON;", NULL, NULL, NULL);
	if (rc != SQLITE_OK)
		return sqlite_fail(c, rc);
	if (!st->wal_index_tried) {  /* connections are made one after another by store_open */
		st->wal_index_tried = true;
		st->wal_index_fd = -1;
	}
	if (!st->wal_index)
		map_wal_index(st, db);
	rc = sqlite3_prepare_v3(db, "BEGIN DEFERRED", -1, SQLITE_PREPARE_PERSISTENT, (sqlite3_stmt **)&c->begin_ps, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_prepare_v3(db, "COMMIT", -1, SQLITE_PREPARE_PERSISTENT, (sqlite3_stmt **)&c->commit_ps, NULL);
	if (rc != SQLITE_OK)
		return sqlite_fail(c, rc);
	return 0;
}

static void sqlite_disconnect(wg_conn *c)
{
	sqlite_end_snapshot(c, false);
	sqlite3_finalize(c->begin_ps);
	sqlite3_finalize(c->commit_ps);
	c->begin_ps = c->commit_ps = NULL;
	for (size_t i = 0; i < c->cache_len; i++)
		sqlite3_finalize(c->cache[i].prepared);
	sqlite3_close_v2(c->db);
	c->db = NULL;
}

static int bind_params(sqlite3_stmt *ps, const wg_param *p, size_t n)
{
	if ((int)n != sqlite3_bind_parameter_count(ps))
		return SQLITE_RANGE;
	for (size_t i = 0; i < n; i++) {
		int idx = (int)i + 1, rc;
		switch (p[i].type) {
		case WG_P_NULL: rc = sqlite3_bind_null(ps, idx); break;
		case WG_P_INT:  rc = sqlite3_bind_int64(ps, idx, p[i].i); break;
		default:        rc = sqlite3_bind_text(ps, idx, p[i].s, (int)p[i].n, SQLITE_STATIC); break;
		}
		if (rc != SQLITE_OK)
			return rc;
	}
	return SQLITE_OK;
}

static int sqlite_query(wg_conn *c, const char *sql, const wg_param *p, size_t n, wg_stmt *s)
{
	struct stmt_cache_entry *e = store_cache_find_origin(c, sql);
	sqlite3_stmt *ps;
	int rc;
	uint64_t h = 0;
	if (!e) {
		h = store_hash_sql(sql);
		e = store_cache_find(c, sql, h);
	}
	if (e) {
		ps = e->prepared;
	} else {
		rc = sqlite3_prepare_v3(c->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &ps, NULL);
		if (rc != SQLITE_OK)
			return sqlite_fail(c, rc);
		if (!store_cache_add(c, sql, h, ps)) {
			sqlite3_finalize(ps);
			return WG_ERR_NOMEM;
		}
	}
	uint64_t version = 0;
	if (!c->in_tx)
		keep_snapshot(c, sqlite3_stmt_readonly(ps));
	else if (c->tx_version_state != TX_VERSION_UNKNOWN)
		version = tx_version_before(c, sqlite3_stmt_readonly(ps));
	rc = bind_params(ps, p, n);
	if (rc != SQLITE_OK) {
		sqlite3_reset(ps);
		return sqlite_fail(c, rc);
	}
	s->handle = ps;
	rc = sqlite3_step(ps);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
		int err = sqlite_fail(c, rc);
		sqlite3_reset(ps);
		sqlite3_clear_bindings(ps);
		return err;
	}
	if (version)
		tx_version_after(c, version);
	s->pending = rc == SQLITE_ROW ? 1 : 0;
	s->row = 0;
	s->changes = sqlite3_changes64(c->db);
	return 0;
}

static int sqlite_next(wg_stmt *s)
{
	if (s->row == 0) {
		s->row = 1;
		return s->pending;
	}
	if (s->pending == 0)
		return 0;
	int rc = sqlite3_step(s->handle);
	if (rc == SQLITE_ROW)
		return 1;
	s->pending = 0;
	if (rc == SQLITE_DONE)
		return 0;
	return -sqlite_fail(s->conn, rc);
}

static void sqlite_done(wg_stmt *s)
{
	sqlite3_reset(s->handle);
	sqlite3_clear_bindings(s->handle);
}

static int sqlite_exec_script(wg_conn *c, const char *sql)
{
	char *msg = NULL;
	int rc = sqlite3_exec(c->db, sql, NULL, NULL, &msg);
	if (rc != SQLITE_OK) {
		store_set_error(c, msg ? msg : sqlite3_errstr(rc));
		sqlite3_free(msg);
		return WG_ERR_DB;
	}
	return 0;
}

static bool sqlite_is_null(const wg_stmt *s, int col)
{
	return sqlite3_column_type(s->handle, col) == SQLITE_NULL;
}

static const char *sqlite_text(const wg_stmt *s, int col)
{
	const unsigned char *t = sqlite3_column_text(s->handle, col);
	return t ? (const char *)t : "";
}

static int64_t sqlite_integer(const wg_stmt *s, int col)
{
	return sqlite3_column_int64(s->handle, col);
}

static size_t sqlite_len(const wg_stmt *s, int col)
{
	return (size_t)sqlite3_column_bytes(s->handle, col);
}

static int sqlite_columns(const wg_stmt *s) { return sqlite3_column_count(s->handle); }
static const char *sqlite_column_name(const wg_stmt *s, int col) { return sqlite3_column_name(s->handle, col); }
static int64_t sqlite_changes(const wg_stmt *s) { return s->changes; }

static int sqlite_backup(wg_conn *c, const char *dest)
{
	sqlite3 *out = NULL;
	int rc = WG_ERR_IO;
	sqlite_end_snapshot(c, false);
	if (sqlite3_open(dest, &out) != SQLITE_OK)
		goto out;
	sqlite3_backup *b = sqlite3_backup_init(out, "main", c->db, "main");
	if (!b)
		goto out;
	int step;
	while ((step = sqlite3_backup_step(b, 256)) == SQLITE_OK || step == SQLITE_BUSY || step == SQLITE_LOCKED)
		sqlite3_sleep(5);
	sqlite3_backup_finish(b);
	if (step == SQLITE_DONE)
		rc = 0;
out:
	if (rc)
		store_set_error(c, out ? sqlite3_errmsg(out) : "cannot open destination");
	sqlite3_close(out);
	return rc;
}

static int64_t sqlite_writes(wg_conn *c)
{
	return sqlite3_total_changes64(c->db);
}

static int64_t sqlite_last_insert_id(wg_conn *c)
{
	return sqlite3_last_insert_rowid(c->db);
}

const struct wg_backend wg_sqlite_backend = {
	.connect = sqlite_connect,
	.disconnect = sqlite_disconnect,
	.query = sqlite_query,
	.next = sqlite_next,
	.done = sqlite_done,
	.exec_script = sqlite_exec_script,
	.is_null = sqlite_is_null,
	.text = sqlite_text,
	.integer = sqlite_integer,
	.len = sqlite_len,
	.columns = sqlite_columns,
	.column_name = sqlite_column_name,
	.changes = sqlite_changes,
	.backup = sqlite_backup,
	.writes = sqlite_writes,
	.last_insert_id = sqlite_last_insert_id,
	.end_snapshot = sqlite_end_snapshot,
	.read_version = sqlite_read_version,
	.close_store = sqlite_close_store,
};
