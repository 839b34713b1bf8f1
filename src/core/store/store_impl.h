/* Internal to the store: what the two backends share. */
#ifndef WG_STORE_IMPL_H
#define WG_STORE_IMPL_H

#include "core/store/store.h"

#include <pthread.h>
#include <stdatomic.h>

struct wg_backend {
	int  (*connect)(wg_store *st, wg_conn *c);
	void (*disconnect)(wg_conn *c);
	int  (*query)(wg_conn *c, const char *sql, const wg_param *p, size_t n, wg_stmt *s);
	int  (*next)(wg_stmt *s);
	void (*done)(wg_stmt *s);
	int  (*exec_script)(wg_conn *c, const char *sql);
	bool (*is_null)(const wg_stmt *s, int col);
	const char *(*text)(const wg_stmt *s, int col);
	int64_t (*integer)(const wg_stmt *s, int col);
	size_t (*len)(const wg_stmt *s, int col);
	int  (*columns)(const wg_stmt *s);
	const char *(*column_name)(const wg_stmt *s, int col);
	int64_t (*changes)(const wg_stmt *s);
	int  (*backup)(wg_conn *c, const char *dest);
	/* Rows the connection's statements have written since it opened; NULL where not known. */
	int64_t (*writes)(wg_conn *c);
	/* The id of the row the connection last inserted; NULL where RETURNING is the way. */
	int64_t (*last_insert_id)(wg_conn *c);
	/* Ends a read snapshot the connection kept between requests (with
	 * only_stale, only one that is out of date); NULL where none is kept. */
	void (*end_snapshot)(wg_conn *c, bool only_stale);
	/* store_read_version(); NULL where there is none (0). */
	uint64_t (*read_version)(wg_conn *c);
	/* Releases what the backend holds for the whole store; may be NULL. */
	void (*close_store)(wg_store *st);
};

struct wg_stmt {
	wg_conn *conn;
	void *handle;      /* sqlite3_stmt* or PGresult* */
	int   row;         /* PostgreSQL: current row; SQLite: first-step state */
	int   pending;     /* SQLite: result of the step done in query, not yet returned */
	int64_t changes;
	bool  active;
	bool  reading;     /* a row was handed out and the end not yet reached */
	const char *sql;   /* the caller's text, to name it when it is cut short */
};

struct stmt_cache_entry {
	uint64_t hash;
	char *sql;
	/* Where the caller's text was when it was cached: almost every statement
	 * is a literal, found again by its address (the text is still compared)
	 * without hashing it. */
	const char *origin;
	void *prepared;    /* sqlite3_stmt* or a name ("s12") for PostgreSQL */
};

struct store_batch;

struct wg_conn {
	wg_store *store;
	void *db;          /* sqlite3* or PGconn* */
	struct stmt_cache_entry *cache;
	size_t cache_len, cache_cap;
	unsigned next_name;
	bool in_tx;
	bool unique_violation;
	/* SQLite: a read transaction kept open between requests (see
	 * store_sqlite.c), the WAL-index header and the time it began with. */
	bool snapshot;
	/* SQLite, in the caller's transaction: the version of its snapshot
	 * (store_read_version), known once the first read has begun it. */
	enum { TX_VERSION_UNKNOWN, TX_VERSION_PENDING, TX_VERSION_KNOWN } tx_version_state;
	uint64_t tx_version;
	unsigned char snapshot_hdr[48];
	uint64_t snapshot_at;
	/* store_stamp(): the read version it was last read at, and the stamp. */
	uint64_t stamp_version, stamp;
	void *begin_ps, *commit_ps;
	char last_error[256];
	wg_stmt stmt;      /* one active statement per connection */
	struct store_batch *batch;  /* PostgreSQL: writes kept for the next flush (store_pg_batch.c) */
	/* PostgreSQL: a batch sent by store_batch_send() whose last COPY or
	 * statements the server may still be at (their results unread), and what that batch
	 * came to once read, until store_batch_wait() hands it over. */
	bool batch_unread;
	size_t batch_unread_results;  /* the kept statements' results unread (pipeline mode), 0: a COPY's */
	int batch_outcome;
	/* store_time_whole(): its queries are timed as one stretch from then
	 * (an import's million rows, two clock readings each, cost more than
	 * the metric tells). */
	bool timed_whole;
	uint64_t timed_since;
	struct copy_cache *copies;  /* PostgreSQL: tables' columns for one COPY a table (store_pg_copy.c) */
	struct wg_conn *next_free;
};

struct wg_store {
	enum wg_dialect dialect;
	const struct wg_backend *be;
	char *target;
	wg_conn *conns;
	unsigned pool_size;
	wg_conn *free_list;
	pthread_mutex_t lock;
	pthread_cond_t  available;
	_Atomic uint64_t busy_micros;
	_Atomic uint64_t queries;
	/* store_changes(): grows with every notification heard; trusted only
	 * while the listener (store_watch.c) listens. */
	_Atomic uint64_t changes;
	_Atomic bool watched;
	struct store_watch *watch;
	/* SQLite: the header at the start of the WAL index (the -shm file), mapped read-only. */
	const volatile unsigned char *wal_index;
	bool wal_index_tried;
	int wal_index_fd;  /* -1 when the -shm file could not be opened */
};

extern const struct wg_backend wg_sqlite_backend;
extern const struct wg_backend wg_postgres_backend;

uint64_t store_hash_sql(const char *sql);
/* Finds the cached prepared statement for sql, or NULL. */
struct stmt_cache_entry *store_cache_find(wg_conn *c, const char *sql, uint64_t h);
/* The entry cached from this very address, or NULL. */
struct stmt_cache_entry *store_cache_find_origin(wg_conn *c, const char *sql);
/* The integer at the start of a decimal text (PostgreSQL's text results). */
int64_t store_parse_int(const char *t);
/* Adds one; takes a copy of sql. Returns NULL when out of memory. */
struct stmt_cache_entry *store_cache_add(wg_conn *c, const char *sql, uint64_t h, void *prepared);
void store_set_error(wg_conn *c, const char *msg);
/* Reads the result of a batch store_batch_send() left with the server (and
 * releases or rolls back its savepoint), keeping the outcome for
 * store_batch_wait(): anything else the connection does comes after it. */
void store_batch_settle(wg_conn *c);
/* PostgreSQL: the channel the schema's triggers notify, and a change heard. */
#define WG_CHANGES_CHANNEL "wangge_changes"
void store_change_heard(wg_store *st);
/* Reads what notifications db has received and counts a change if any (libpq's PGconn). */
struct pg_conn;
void store_pg_hear(wg_store *st, struct pg_conn *db);
/* Stops the listener (store_watch.c) before the store closes. */
void store_watch_stop(wg_store *st);

/* PostgreSQL (store_pg.c) for its batches (store_pg_batch.c): the name of
 * sql's prepared statement, preparing it on first use; a failed result as
 * a wg_err code (recorded as the connection's last error; res is cleared). */
int  store_pg_statement(wg_conn *c, const char *sql, const char **name);
int  store_pg_fail(wg_conn *c, void *res);
/* Forgets a batch without sending it (the transaction is ending anyway). */
void store_batch_discard(wg_conn *c);

/* One COPY a table (store_pg_copy.c). A target ("table (columns)") as a
 * batch's rows give it, placed among its table's columns: read by READ on
 * first sight (*rc its failure), kept with the connection. NULL when it
 * cannot be placed (out of room). */
struct copy_shape;
struct copy_layout;
/* Reads the table's columns from the catalog, store_copy_column() for each. */
typedef int (*copy_columns_fn)(wg_conn *c, const char *table, struct copy_layout *l);
const struct copy_shape *store_copy_shape(wg_conn *c, const char *target, copy_columns_fn read, int *rc);
/* One column of the table, in order: its default's text (pg_get_expr), if it has one. */
int store_copy_column(struct copy_layout *l, const char *name, const char *def, bool has_default);
/* What the shape's rows are COPYed into: every column of the table, or the target itself. */
const char *store_copy_target(const struct copy_shape *sh);
/* A row of N values as a line of its COPY in COPY's text format (without
 * the newline): placed in its table's columns when SH was, else as given
 * (SH may be NULL). */
void store_copy_line(const struct copy_shape *sh, const wg_param *p, size_t n, wg_buf *line);
void store_copy_release(wg_conn *c);

#endif
