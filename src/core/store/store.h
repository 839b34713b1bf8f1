/* The store: one interface, two backends (SQLite embedded, PostgreSQL).
 *
 * SQL is written once, portable, with `?` placeholders; the PostgreSQL
 * backend rewrites them to $1..$n. Statements are prepared once per
 * connection and cached by their text, so callers just pass the SQL.
 * Every value goes through parameters: no SQL is ever built from input.
 *
 * Connections come from a small pool; a request holds one connection for its
 * whole life and runs its writes in one transaction (store_begin/commit).
 */
#ifndef WG_STORE_H
#define WG_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "core/lib/buf.h"

typedef struct wg_store wg_store;
typedef struct wg_conn wg_conn;
typedef struct wg_stmt wg_stmt;

enum wg_dialect { WG_SQLITE, WG_POSTGRES };

enum wg_param_type { WG_P_NULL, WG_P_INT, WG_P_TEXT };

typedef struct wg_param {
	enum wg_param_type type;
	int64_t i;
	const char *s;  /* text (UTF-8, need not be NUL-terminated) */
	size_t n;       /* length of s */
} wg_param;

#define WG_PNULL        ((wg_param){ .type = WG_P_NULL })
#define WG_PINT(v)      ((wg_param){ .type = WG_P_INT, .i = (int64_t)(v) })
#define WG_PTEXT(str)   ((wg_param){ .type = WG_P_TEXT, .s = (str), .n = strlen(str) })
#define WG_PTEXTN(p, l) ((wg_param){ .type = WG_P_TEXT, .s = (p), .n = (l) })

/* target: a PostgreSQL URL ("postgres://..." or "postgresql://...") or a SQLite file path. */
int  store_open(const char *target, unsigned pool_size, wg_store **out);
void store_close(wg_store *st);
enum wg_dialect store_dialect(const wg_store *st);
/* Cumulative time spent inside the database, for /metrics. */
uint64_t store_busy_micros(const wg_store *st);
/* From now (whole) until called again (!whole), c's time in the database
 * counts as one stretch, not query by query: for a run of many short
 * statements (an import), whose own clock readings would cost more. */
void store_time_whole(wg_conn *c, bool whole);
uint64_t store_query_count(const wg_store *st);

int  store_acquire(wg_store *st, wg_conn **out);
void store_release(wg_store *st, wg_conn *c);
/* Ends the out-of-date read snapshots of idle connections (SQLite keeps
 * one per connection between reads); call it now and then while serving. */
void store_sweep_snapshots(wg_store *st);

/* Changes to what the server keeps in memory (the grid tree, its leaders,
 * the accounts' names). On PostgreSQL the schema's triggers NOTIFY
 * wangge_changes: a connection of this process reads the notification with
 * its own COMMIT (a write is seen by the next read at once), and a thread
 * listening on a connection of its own hears those of other processes.
 * store_watch_changes starts that thread (a server, not a CLI command) and
 * waits until it listens; on SQLite it does nothing.
 * store_changes is a number that grows with every change heard, or 0 when
 * nobody is listening (SQLite, or the listener lost its connection and has
 * not listened again): nothing may then be served from memory. */
int  store_watch_changes(wg_store *st);
uint64_t store_changes(wg_store *st);
enum wg_dialect conn_dialect(const wg_conn *c);

/* What the connection's next read sees, as a number that changes with every
 * commit to the store by any connection of any process, or 0 when the store
 * cannot tell: something computed from the store may be kept in memory
 * tagged with it and served again while it is the same. SQLite: read off
 * the WAL index's header, which every commit rewrites (the same signal as
 * the kept read snapshots); in a transaction, the version of its snapshot
 * once its first read has begun it, and 0 once it has written (its own
 * changes are not committed yet). PostgreSQL: always 0 (use store_changes
 * for the tables that notify). */
uint64_t store_read_version(wg_conn *c);

/* A number that changes whenever something a server keeps in memory for
 * its busiest paths changes (a venue's code or place, a person's place:
 * the tables whose triggers mark the store), in any process; 0 when the
 * store cannot tell (nothing may be kept then). A thing read from the
 * store after the stamp was taken may be kept tagged with it and served
 * while the stamp is the same. SQLite: the store_marks row the triggers
 * raise, read again only when the store has seen a commit since the last
 * look (store_read_version), so it costs nothing between commits; never in
 * a transaction or a loop over another statement's rows (it may query).
 * PostgreSQL: store_changes (the triggers notify). */
uint64_t store_stamp(wg_conn *c);

/* Runs a script of several statements without parameters (migrations). */
int store_exec_script(wg_conn *c, const char *sql);

int store_begin(wg_conn *c);     /* SQLite: BEGIN IMMEDIATE; PostgreSQL: BEGIN */
/* A read-only transaction: one consistent snapshot for a whole read request. */
int store_begin_read(wg_conn *c);
int store_commit(wg_conn *c);
int store_rollback(wg_conn *c);
bool store_in_transaction(const wg_conn *c);

/* Runs a statement; rows are then read with stmt_next(). The statement
 * belongs to the connection and stays valid until the next store_query()
 * on the same connection or stmt_done(). A loop over rows must not query
 * on the same connection before its last row: the store logs it ("a query
 * cut another's rows short"), and the API tests fail on that line. */
int store_query(wg_conn *c, const char *sql, const wg_param *params, size_t n, wg_stmt **out);
/* 1 = a row is ready, 0 = no more rows, otherwise a wg_err code (negated). */
int  stmt_next(wg_stmt *s);
void stmt_done(wg_stmt *s);
int  stmt_columns(const wg_stmt *s);
bool stmt_is_null(const wg_stmt *s, int col);
int64_t stmt_int(const wg_stmt *s, int col);
const char *stmt_text(const wg_stmt *s, int col);   /* "" for NULL */
size_t stmt_len(const wg_stmt *s, int col);
const char *stmt_column_name(const wg_stmt *s, int col);
/* Rows changed by the last INSERT/UPDATE/DELETE. */
int64_t stmt_changes(const wg_stmt *s);
/* Rows the connection's statements have written since it opened (by
 * INSERT, UPDATE, DELETE; a failed statement's count nothing), -1 where the
 * store does not say (PostgreSQL): a savepoint nothing was written under
 * needs no rollback, which in a big SQLite transaction costs in proportion
 * to the whole transaction. */
int64_t store_writes(wg_conn *c);

/* Convenience: run a statement, discard rows. */
int store_run(wg_conn *c, const char *sql, const wg_param *params, size_t n);
/* Convenience: the first column of the first row as an integer; WG_ERR_NOT_FOUND if no row. */
int store_int(wg_conn *c, const char *sql, const wg_param *params, size_t n, int64_t *out);

/* Runs an INSERT (written without RETURNING) and gives the new row's id.
 * SQLite reads it from the connection: RETURNING would cost it a temporary
 * table per row. */
int store_insert(wg_conn *c, const char *sql, const wg_param *params, size_t n, int64_t *id);

/* True when the last failure was a unique-constraint violation. */
bool store_last_was_unique_violation(const wg_conn *c);
const char *store_last_error(const wg_conn *c);

/* ---- Batches (PostgreSQL): many writes, few round trips ----
 *
 * A big import would otherwise wait for the server once per row. Inside a
 * batch, store_batch_insert() keeps a row for a COPY into target ("table
 * (column, ...)", the same text for the same columns) and store_batch_run()
 * keeps a statement whose rows nobody reads; nothing is sent yet. A flush
 * sends them: each target's rows by one COPY, targets in the order they
 * first came, then the kept statements in their order, so a kept statement
 * may act on rows of the batch (the head of a household the batch made).
 * Every store_query() flushes first (and so store_run(), store_int() and
 * store_insert()): a read sees every write before it.
 *
 * A batch runs under a savepoint. A failure (a duplicate key, say) is found
 * at the flush that sent it and sticks: every later flush and query in the
 * batch fails alike, and store_batch_end() rolls the whole batch back. The
 * caller then does the batch's work again row by row, which names the row.
 * store_batch_undo() drops what was kept since store_batch_mark(), provided
 * nothing was flushed in between: a row that failed its checks leaves
 * nothing behind, as a savepoint of its own would. SQLite has no batches
 * (WG_ERR_USAGE): its statements cost no round trip. */
bool store_batch_supported(const wg_conn *c);
bool store_batch_active(const wg_conn *c);
int  store_batch_begin(wg_conn *c);
int  store_batch_insert(wg_conn *c, unsigned stage, const char *target, const wg_param *params, size_t n);
int  store_batch_run(wg_conn *c, const char *sql, const wg_param *params, size_t n);
int  store_batch_flush(wg_conn *c);
/* Flushes (with keep) and ends the batch: 0 when all of it is kept, else the
 * failure, and nothing of the batch is (rolled back to its savepoint). */
int  store_batch_end(wg_conn *c, bool keep);
/* Ends the batch as store_batch_end(c, true) does, but without waiting for
 * the server to store its last COPY (or to run the kept statements, which
 * go last): the caller prepares what comes next
 * meanwhile. 0 when it is sent (a failure of its earlier parts, found at
 * once, is returned and nothing of the batch is kept). Whatever the
 * connection does next first reads the answer; store_batch_wait() returns
 * it: 0 when the batch is kept, else its failure, and then nothing of it is
 * (rolled back to its savepoint, the transaction usable). A commit with a
 * failed batch unasked fails and rolls back. */
int  store_batch_send(wg_conn *c);
int  store_batch_wait(wg_conn *c);
/* The open batch set aside (NULL when none), and taken up again: queries
 * in between neither send it nor see its writes (lookups that need none
 * of them, made before it is sent). Taking it up while another batch was
 * begun is WG_ERR_USAGE, and it is lost. */
struct store_batch;
struct store_batch *store_batch_set_aside(wg_conn *c);
int  store_batch_take_up(wg_conn *c, struct store_batch *b);
void store_batch_mark(wg_conn *c);
bool store_batch_undo(wg_conn *c);

/* ---- Arrays (PostgreSQL): a column of many rows as one parameter ----
 *
 * A statement over a whole batch binds each column as one array literal
 * and unnests them (`SELECT ... FROM unnest(?::bigint[], ?::text[]) WITH
 * ORDINALITY AS u(a, b, k)`): one round trip for the batch, its rows still
 * told apart by k. Append the values in order, then close the literal and
 * bind it as text (WG_PTEXTN(a.data, a.len)); an append that overflows the
 * buffer's maximum sticks in a->err. */
void store_array_int(wg_buf *a, int64_t v);
void store_array_text(wg_buf *a, const char *s, size_t n);
void store_array_null(wg_buf *a);
/* Closes the literal ("{}" when nothing was appended); returns a->err. */
int  store_array_end(wg_buf *a);

/* SQLite online backup to a file; WG_ERR_USAGE on PostgreSQL (use pg_dump). */
int store_backup(wg_store *st, const char *dest_path);

#endif
