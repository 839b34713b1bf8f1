/* PostgreSQL backend (libpq): `?` placeholders rewritten to $n, statements
 * prepared once per connection, text-format parameters and results. */
#include "core/store/store_impl.h"
#include "core/lib/buf.h"
#include "core/lib/err.h"
#include "core/lib/limits.h"
#include "core/lib/mem.h"

#include <libpq-fe.h>
#include <stdio.h>
#include <string.h>

/* The most parameters one statement binds (a batch of audit rows: 32 × 12). */

int store_pg_fail(wg_conn *c, void *result)
{
	PGresult *res = result;
	const char *msg = res ? PQresultErrorMessage(res) : PQerrorMessage(c->db);
	store_set_error(c, msg && *msg ? msg : "postgresql error");
	const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
	int rc = WG_ERR_DB;
	if (state && strcmp(state, "23505") == 0) {
		c->unique_violation = true;
		rc = WG_ERR_CONFLICT;
	} else if (state && strncmp(state, "23", 2) == 0) {
		rc = WG_ERR_CONFLICT;
	} else if (state && (strcmp(state, "40001") == 0 || strcmp(state, "40P01") == 0)) {
		rc = WG_ERR_BUSY;
	}
	if (res)
		PQclear(res);
	return rc;
}

static int pg_connect(wg_store *st, wg_conn *c)
{
	PGconn *db = PQconnectdb(st->target);
	c->db = db;
	if (!db)
		return WG_ERR_NOMEM;
	if (PQstatus(db) != CONNECTION_OK) {
		store_set_error(c, PQerrorMessage(db));
		return WG_ERR_DB;
	}
	/* Listening, each connection hears its own transaction's changes with
	 * its COMMIT: a write is seen by the next read at once (store_changes). */
	PGresult *r = PQexec(db, "SET client_min_messages = warning; SET TIME ZONE 'UTC'; LISTEN " WG_CHANGES_CHANNEL);
	if (PQresultStatus(r) != PGRES_COMMAND_OK)
		return store_pg_fail(c, r);
	PQclear(r);
	return 0;
}

static void pg_disconnect(wg_conn *c)
{
	for (size_t i = 0; i < c->cache_len; i++)
		wg_free(c->cache[i].prepared);
	PQfinish(c->db);
	c->db = NULL;
}

/* Rewrites `?` to `$n` outside quoted strings and identifiers. */
static int pg_rewrite(const char *sql, wg_buf *out, int *nparams)
{
	char quote = 0;
	int n = 0;
	for (const char *p = sql; *p; p++) {
		if (quote) {
			if (*p == quote)
				quote = 0;
			wg_buf_putc(out, *p);
		} else if (*p == '\'' || *p == '"') {
			quote = *p;
			wg_buf_putc(out, *p);
		} else if (*p == '?') {
			wg_buf_printf(out, "$%d", ++n);
		} else {
			wg_buf_putc(out, *p);
		}
	}
	*nparams = n;
	return out->err;
}

static int pg_prepare(wg_conn *c, const char *sql, uint64_t h, struct stmt_cache_entry **out)
{
	wg_buf text = WG_BUF_INIT(WG_MAX_SQL);
	char *name = NULL;
	int nparams, rc = pg_rewrite(sql, &text, &nparams);
	if (rc)
		goto out;
	rc = WG_ERR_NOMEM;
	name = wg_malloc(16);
	if (!name)
		goto out;
	snprintf(name, 16, "s%u", c->next_name++);
	PGresult *r = PQprepare(c->db, name, text.data, nparams, NULL);
	if (PQresultStatus(r) != PGRES_COMMAND_OK) {
		rc = store_pg_fail(c, r);
		goto out;
	}
	PQclear(r);
	*out = store_cache_add(c, sql, h, name);
	if (!*out)
		goto out;
	name = NULL;
	rc = 0;
out:
	wg_free(name);
	wg_buf_release(&text);
	return rc;
}

/* Notifications arrive with any command's answer: count them. */
static void hear_changes(wg_conn *c) { store_pg_hear(c->store, c->db); }

int store_pg_statement(wg_conn *c, const char *sql, const char **name)
{
	struct stmt_cache_entry *e = store_cache_find_origin(c, sql);
	if (!e) {
		uint64_t h = store_hash_sql(sql);
		e = store_cache_find(c, sql, h);
		if (!e) {
			int rc = pg_prepare(c, sql, h, &e);
			if (rc)
				return rc;
		}
	}
	*name = e->prepared;
	return 0;
}

static int pg_query(wg_conn *c, const char *sql, const wg_param *p, size_t n, wg_stmt *s)
{
	char ints[WG_MAX_SQL_PARAMS][24];
	const char *values[WG_MAX_SQL_PARAMS];
	int lengths[WG_MAX_SQL_PARAMS];
	if (n > WG_MAX_SQL_PARAMS)
		return WG_ERR_INTERNAL;
	const char *name;
	int rc = store_pg_statement(c, sql, &name);
	if (rc)
		return rc;
	for (size_t i = 0; i < n; i++) {
		switch (p[i].type) {
		case WG_P_NULL:
			values[i] = NULL;
			lengths[i] = 0;
			break;
		case WG_P_INT:
			lengths[i] = snprintf(ints[i], sizeof ints[i], "%lld", (long long)p[i].i);
			values[i] = ints[i];
			break;
		default:
			values[i] = p[i].s;
			lengths[i] = (int)p[i].n;
			break;
		}
	}
	/* Text parameters need not be NUL-terminated, but libpq reads text-format
	 * values up to the NUL: hand it terminated copies. */
	char *copies[WG_MAX_SQL_PARAMS] = { 0 };
	for (size_t i = 0; i < n; i++) {
		if (p[i].type == WG_P_TEXT) {
			copies[i] = wg_strndup(p[i].s, p[i].n);
			if (!copies[i]) {
				rc = WG_ERR_NOMEM;
				goto out;
			}
			values[i] = copies[i];
		}
	}
	PGresult *r = PQexecPrepared(c->db, name, (int)n, values, lengths, NULL, 0);
	hear_changes(c);
	ExecStatusType st = PQresultStatus(r);
	if (st != PGRES_TUPLES_OK && st != PGRES_COMMAND_OK) {
		rc = store_pg_fail(c, r);
		goto out;
	}
	s->handle = r;
	s->row = -1;
	const char *tuples = PQcmdTuples(r);
	s->changes = 0;
	for (; *tuples >= '0' && *tuples <= '9'; tuples++)
		s->changes = s->changes * 10 + (*tuples - '0');
out:
	for (size_t i = 0; i < n; i++)
		wg_free(copies[i]);
	return rc;
}

static int pg_next(wg_stmt *s)
{
	if (s->row + 1 >= PQntuples(s->handle))
		return 0;
	s->row++;
	return 1;
}

static void pg_done(wg_stmt *s)
{
	PQclear(s->handle);
	s->handle = NULL;
}

static int pg_exec_script(wg_conn *c, const char *sql)
{
	PGresult *r = PQexec(c->db, sql);
	hear_changes(c);
	ExecStatusType st = PQresultStatus(r);
	if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK)
		return store_pg_fail(c, r);
	PQclear(r);
	return 0;
}

static bool pg_is_null(const wg_stmt *s, int col) { return PQgetisnull(s->handle, s->row, col); }
static const char *pg_text(const wg_stmt *s, int col) { return PQgetvalue(s->handle, s->row, col); }
static int64_t pg_integer(const wg_stmt *s, int col) { return store_parse_int(pg_text(s, col)); }
static size_t pg_len(const wg_stmt *s, int col) { return (size_t)PQgetlength(s->handle, s->row, col); }
static int pg_columns(const wg_stmt *s) { return PQnfields(s->handle); }
static const char *pg_column_name(const wg_stmt *s, int col) { return PQfname(s->handle, col); }
static int64_t pg_changes(const wg_stmt *s) { return s->changes; }

const struct wg_backend wg_postgres_backend = {
	.connect = pg_connect,
	.disconnect = pg_disconnect,
	.query = pg_query,
	.next = pg_next,
	.done = pg_done,
	.exec_script = pg_exec_script,
	.is_null = pg_is_null,
	.text = pg_text,
	.integer = pg_integer,
	.len = pg_len,
	.columns = pg_columns,
	.column_name = pg_column_name,
	.changes = pg_changes,
	.backup = NULL,
};
