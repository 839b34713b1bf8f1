/* SQLite backend: WAL, foreign keys, busy timeout, cached prepared statements. */
#include "store_impl.h"
#include "err.h"
#include "mem.h"

#include <pthread.h>
#include <sqlite3.h>
#include <string.h>

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
		/* Name-prefix searches (LIKE 'x%') then use the plain index. */
		"PRAGMA case_sensitive_like=ON;", NULL, NULL, NULL);
	if (rc != SQLITE_OK)
		return sqlite_fail(c, rc);
	return 0;
}

static void sqlite_disconnect(wg_conn *c)
{
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

static int sqlite_backup(wg_store *st, const char *dest)
{
	sqlite3 *out = NULL;
	wg_conn *c;
	int rc = WG_ERR_IO;
	store_acquire(st, &c);
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
	store_release(st, c);
	return rc;
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
	.last_insert_id = sqlite_last_insert_id,
};
