/* The store on a real SQLite file: parameters, transactions, conflicts,
 * migrations, backup, and allocation failures along the way. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "core/lib/err.h"
#include "core/lib/mem.h"
#include "core/platform.h"
#include "core/store/migrate.h"
#include "core/store/store.h"

#include <fcntl.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

struct fixture {
	char dir[64];
	char path[128];
	wg_store *st;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof *f);
	snprintf(f->dir, sizeof f->dir, "/tmp/wg-store-XXXXXX");
	if (!f || !mkdtemp(f->dir))
		return -1;
	snprintf(f->path, sizeof f->path, "%s/t.db", f->dir);
	if (store_open(f->path, 2, &f->st))
		return -1;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	char cmd[160];
	store_close(f->st);
	snprintf(cmd, sizeof cmd, "rm -rf %s", f->dir);
	if (system(cmd) != 0)
		return -1;
	free(f);
	return 0;
}

/* Versions are numbered but need not be contiguous. */
static int sqlite_migrations(void)
{
	int n = 0;
	const struct wg_schema *schema = platform_schema();
	for (size_t i = 0; i < schema->n; i++)
		for (const struct wg_migration *m = schema->lists[i]; m->dialect; m++)
			n += strcmp(m->dialect, "sqlite") == 0;
	return n;
}

static void migrations_apply_once(void **state)
{
	struct fixture *f = *state;
	int applied;
	assert_int_equal(platform_migrate(f->st, &applied), 0);
	assert_int_equal(applied, sqlite_migrations());
	assert_int_equal(platform_migrate(f->st, &applied), 0);
	assert_int_equal(applied, 0);
}

/* A module added later brings its tables to a store made before it, even
 * when its migration's number is below the store's highest. */
static void a_later_module_migrates_an_old_store(void **state)
{
	struct fixture *f = *state;
	static const struct wg_migration old[] = {
		{ "sqlite", 20, "0020_old", "CREATE TABLE t_old (x INTEGER);" }, { 0, 0, 0, 0 } };
	static const struct wg_migration later[] = {
		{ "sqlite", 15, "0015_later", "CREATE TABLE t_later (y INTEGER);" }, { 0, 0, 0, 0 } };
	const struct wg_migration *first[] = { old }, *both[] = { old, later };
	struct wg_schema before = { first, 1 }, after = { both, 2 };
	int applied, pending, latest;
	wg_conn *c;
	assert_int_equal(migrate_up(f->st, &before, &applied), 0);
	assert_int_equal(applied, 1);
	store_acquire(f->st, &c);
	assert_int_equal(migrate_pending(c, &after, &pending, &latest), 0);
	assert_int_equal(pending, 1);
	assert_int_equal(latest, 20);
	store_release(f->st, c);
	assert_int_equal(migrate_up(f->st, &after, &applied), 0);
	assert_int_equal(applied, 1);
	store_acquire(f->st, &c);
	assert_int_equal(store_run(c, "INSERT INTO t_later (y) VALUES (1)", NULL, 0), 0);
	assert_int_equal(migrate_pending(c, &after, &pending, &latest), 0);
	assert_int_equal(pending, 0);
	store_release(f->st, c);
}

static void parameters_round_trip(void **state)
{
	struct fixture *f = *state;
	wg_conn *c;
	wg_stmt *s;
	int applied;
	assert_int_equal(platform_migrate(f->st, &applied), 0);
	store_acquire(f->st, &c);
	const char *name = "阜宁县 'quoted' ?";
	wg_param p[] = { WG_PTEXT("county"), WG_PTEXT(name), WG_PINT(1700000000) };
	assert_int_equal(store_run(c, "INSERT INTO grid_nodes (kind, name, path, created_at, updated_at) VALUES (?, ?, '/1/', ?, 0)", p, 3), 0);
	wg_param q[] = { WG_PTEXTN("county-and-more", 6) };
	assert_int_equal(store_query(c, "SELECT name, created_at, code FROM grid_nodes WHERE kind = ?", q, 1, &s), 0);
	assert_int_equal(stmt_next(s), 1);
	assert_string_equal(stmt_text(s, 0), name);
	assert_int_equal(stmt_int(s, 1), 1700000000);
	assert_true(stmt_is_null(s, 2));
	assert_string_equal(stmt_text(s, 2), "");
	assert_int_equal(stmt_next(s), 0);
	stmt_done(s);
	int64_t n;
	assert_int_equal(store_int(c, "SELECT COUNT(*) FROM grid_nodes WHERE name = '?'", NULL, 0, &n), 0);
	assert_int_equal(n, 0);
	assert_int_equal(store_int(c, "SELECT id FROM grid_nodes WHERE id = ?", (wg_param[]){ WG_PINT(999) }, 1, &n), WG_ERR_NOT_FOUND);
	store_release(f->st, c);
}

static void rollback_changes_nothing(void **state)
{
	struct fixture *f = *state;
	wg_conn *c;
	int applied;
	int64_t n;
	assert_int_equal(platform_migrate(f->st, &applied), 0);
	store_acquire(f->st, &c);
	assert_int_equal(store_begin(c), 0);
	assert_int_equal(store_run(c, "INSERT INTO grid_nodes (kind, name, path, created_at, updated_at) VALUES ('county', 'x', '/1/', 0, 0)", NULL, 0), 0);
	assert_int_equal(store_rollback(c), 0);
	assert_int_equal(store_int(c, "SELECT COUNT(*) FROM grid_nodes", NULL, 0, &n), 0);
	assert_int_equal(n, 0);
	store_release(f->st, c);
}

static void unique_violation_is_a_conflict(void **state)
{
	struct fixture *f = *state;
	wg_conn *c;
	int applied;
	assert_int_equal(platform_migrate(f->st, &applied), 0);
	store_acquire(f->st, &c);
	const char *sql = "INSERT INTO login_failures (subject, failures, first_at) VALUES (?, 1, 0)";
	wg_param p[] = { WG_PTEXT("u:x") };
	assert_int_equal(store_run(c, sql, p, 1), 0);
	assert_int_equal(store_run(c, sql, p, 1), WG_ERR_CONFLICT);
	assert_true(store_last_was_unique_violation(c));
	assert_true(strlen(store_last_error(c)) > 0);
	assert_int_equal(store_run(c, "SELECT nonsense FROM nowhere", NULL, 0), WG_ERR_DB);
	/* A wrong parameter count is refused before anything runs. */
	assert_int_equal(store_run(c, sql, NULL, 0), WG_ERR_DB);
	store_release(f->st, c);
}

static void release_rolls_back_an_open_transaction(void **state)
{
	struct fixture *f = *state;
	wg_conn *c;
	int applied;
	int64_t n;
	assert_int_equal(platform_migrate(f->st, &applied), 0);
	store_acquire(f->st, &c);
	assert_int_equal(store_begin(c), 0);
	assert_int_equal(store_run(c, "INSERT INTO login_failures (subject, failures, first_at) VALUES ('a', 1, 0)", NULL, 0), 0);
	store_release(f->st, c);
	store_acquire(f->st, &c);
	assert_false(store_in_transaction(c));
	assert_int_equal(store_int(c, "SELECT COUNT(*) FROM login_failures", NULL, 0, &n), 0);
	assert_int_equal(n, 0);
	store_release(f->st, c);
}

static void statements_survive_allocation_failures(void **state)
{
	struct fixture *f = *state;
	int applied;
	assert_int_equal(platform_migrate(f->st, &applied), 0);
	for (uint64_t nth = 1; nth < 12; nth++) {
		wg_conn *c;
		int64_t v = 0;
		char sql[96];
		/* A statement text not seen before, so the cache must allocate. */
		snprintf(sql, sizeof sql, "SELECT %llu + ?", (unsigned long long)nth);
		store_acquire(f->st, &c);
		wg_mem_fail_at(nth);
		int rc = store_int(c, sql, (wg_param[]){ WG_PINT(1) }, 1, &v);
		bool fired = wg_mem_failure_fired();
		wg_mem_fail_at(0);
		if (fired)
			assert_int_equal(rc, WG_ERR_NOMEM);
		else
			assert_int_equal(v, (int64_t)nth + 1);
		store_release(f->st, c);
	}
}

static void backup_copies_the_database(void **state)
{
	struct fixture *f = *state;
	int applied;
	char dest[160];
	assert_int_equal(platform_migrate(f->st, &applied), 0);
	snprintf(dest, sizeof dest, "%s/backup.db", f->dir);
	assert_int_equal(store_backup(f->st, dest), 0);
	wg_store *copy;
	assert_int_equal(store_open(dest, 1, &copy), 0);
	wg_conn *c;
	int pending, latest;
	store_acquire(copy, &c);
	assert_int_equal(migrate_pending(c, platform_schema(), &pending, &latest), 0);
	assert_int_equal(pending, 0);
	assert_true(latest >= 9);
	store_release(copy, c);
	store_close(copy);
}

static int64_t count_failures(wg_conn *c)
{
	int64_t n = -1;
	assert_int_equal(store_int(c, "SELECT COUNT(*) FROM login_failures", NULL, 0, &n), 0);
	return n;
}

static void insert_failure(wg_conn *c, const char *subject)
{
	wg_param p[] = { WG_PTEXT(subject) };
	assert_int_equal(store_run(c, "INSERT INTO login_failures (subject, failures, first_at) VALUES (?, 1, 0)", p, 1), 0);
}

/* A connection keeps its read snapshot from one read to the next; still,
 * every read sees every write committed before it, by another connection
 * of this store or by another store on the same file (another process). */
static void kept_reads_see_every_commit(void **state)
{
	struct fixture *f = *state;
	wg_conn *a, *b, *other_conn;
	wg_store *other;
	int applied;
	assert_int_equal(platform_migrate(f->st, &applied), 0);
	assert_int_equal(store_open(f->path, 1, &other), 0);
	store_acquire(f->st, &a);
	store_acquire(f->st, &b);
	assert_int_equal(count_failures(a), 0);
	insert_failure(b, "same-store");
	assert_int_equal(count_failures(a), 1);
	store_acquire(other, &other_conn);
	insert_failure(other_conn, "other-store");
	assert_int_equal(count_failures(a), 2);
	/* Seen by b only after its own snapshot renews, which it must. */
	assert_int_equal(count_failures(b), 2);
	store_release(other, other_conn);
	/* A write and a transaction right after a kept read. */
	insert_failure(a, "own");
	assert_int_equal(store_begin(a), 0);
	insert_failure(a, "in-transaction");
	assert_int_equal(store_commit(a), 0);
	assert_int_equal(count_failures(b), 4);
	store_release(f->st, b);
	store_release(f->st, a);
	store_close(other);
}

/* An idle connection's out-of-date snapshot would keep the WAL from being
 * checkpointed and reset; the sweep ends it. */
static void sweep_frees_the_wal(void **state)
{
	struct fixture *f = *state;
	wg_conn *a, *b;
	int applied;
	sqlite3 *db;
	assert_int_equal(platform_migrate(f->st, &applied), 0);
	store_acquire(f->st, &a);
	store_acquire(f->st, &b);
	assert_int_equal(count_failures(a), 0);
	insert_failure(b, "x");
	store_release(f->st, b);
	store_release(f->st, a);
	assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, "SELECT COUNT(*) FROM sqlite_master", NULL, NULL, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_wal_checkpoint_v2(db, NULL, SQLITE_CHECKPOINT_TRUNCATE, NULL, NULL), SQLITE_BUSY);
	store_sweep_snapshots(f->st);
	assert_int_equal(sqlite3_wal_checkpoint_v2(db, NULL, SQLITE_CHECKPOINT_TRUNCATE, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
}

/* SQLite marks the WAL index in use with a shared lock on its byte 128 (the
 * "dead man switch" of the WAL file format); a process that finds it free
 * takes the file for unused and re-initialises it. The store keeps its own
 * descriptor of that file: it must never drop SQLite's locks, which closing
 * any descriptor of the file would do. Another process checks. */
static void wal_index_stays_locked(void **state)
{
	struct fixture *f = *state;
	wg_conn *c;
	int applied;
	char shm[160];
	assert_int_equal(platform_migrate(f->st, &applied), 0);
	store_acquire(f->st, &c);
	assert_int_equal(count_failures(c), 0);
	store_release(f->st, c);
	snprintf(shm, sizeof shm, "%s-shm", f->path);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		int fd = open(shm, O_RDWR);
		struct flock l = { .l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 128, .l_len = 1 };
		_exit(fd >= 0 && fcntl(fd, F_GETLK, &l) == 0 && l.l_type != F_UNLCK ? 0 : 1);
	}
	int status = 0;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

/* A batch's column as one PostgreSQL array literal: every text quoted and
 * escaped, so a tube named "NULL" or holding quotes, braces, commas and
 * backslashes reads back as itself, and a missing value is NULL. */
static void array_literals_quote_every_text(void **state)
{
	(void)state;
	wg_buf a = WG_BUF_INIT(1024), t = WG_BUF_INIT(1024), e = WG_BUF_INIT(16), small = WG_BUF_INIT(8);
	store_array_int(&a, 1);
	store_array_int(&a, -9223372036854775807LL - 1);
	store_array_null(&a);
	assert_int_equal(store_array_end(&a), 0);
	assert_string_equal(a.data, "{1,-9223372036854775808,NULL}");
	const char *odd = "a\"b\\c{,}";
	store_array_text(&t, "NULL", 4);
	store_array_text(&t, odd, strlen(odd));
	store_array_text(&t, "", 0);
	assert_int_equal(store_array_end(&t), 0);
	assert_string_equal(t.data, "{\"NULL\",\"a\\\"b\\\\c{,}\",\"\"}");
	assert_int_equal(store_array_end(&e), 0);
	assert_string_equal(e.data, "{}");
	store_array_text(&small, "too long for eight bytes", 24);
	assert_int_equal(store_array_end(&small), WG_ERR_TOO_LARGE);
	wg_buf_release(&a);
	wg_buf_release(&t);
	wg_buf_release(&e);
	wg_buf_release(&small);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(migrations_apply_once, setup, teardown),
		cmocka_unit_test_setup_teardown(a_later_module_migrates_an_old_store, setup, teardown),
		cmocka_unit_test_setup_teardown(parameters_round_trip, setup, teardown),
		cmocka_unit_test_setup_teardown(rollback_changes_nothing, setup, teardown),
		cmocka_unit_test_setup_teardown(unique_violation_is_a_conflict, setup, teardown),
		cmocka_unit_test_setup_teardown(release_rolls_back_an_open_transaction, setup, teardown),
		cmocka_unit_test_setup_teardown(statements_survive_allocation_failures, setup, teardown),
		cmocka_unit_test_setup_teardown(backup_copies_the_database, setup, teardown),
		cmocka_unit_test_setup_teardown(kept_reads_see_every_commit, setup, teardown),
		cmocka_unit_test_setup_teardown(sweep_frees_the_wal, setup, teardown),
		cmocka_unit_test_setup_teardown(wal_index_stays_locked, setup, teardown),
		cmocka_unit_test(array_literals_quote_every_text),
	};
	return cmocka_run_group_tests_name("store", tests, NULL, NULL);
}
