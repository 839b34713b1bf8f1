/* Batches on PostgreSQL (store.h): rows kept as COPY text per target,
 * statements kept with copies of their parameters, both sent at a flush
 * under one savepoint. A round trip per row becomes a few per flush: each
 * COPY is two (its start, its end), the kept statements one (libpq's
 * pipeline mode sends them all before reading any result). And array
 * literals, a batch's column bound as one parameter of one statement. */
#include "core/store/store_impl.h"
#include "core/lib/buf.h"
#include "core/lib/err.h"
#include "core/lib/limits.h"
#include "core/lib/mem.h"
#include "core/lib/parse.h"

#include <libpq-fe.h>
#include <string.h>

struct batch_target {
	unsigned stage;
	char *target;           /* "table (column, ...)" */
	wg_buf rows;            /* COPY text: one line per row */
	size_t mark;            /* rows.len at store_batch_mark() */
};

struct store_batch {
	struct batch_target target[WG_BATCH_TARGETS];
	size_t ntargets, mark_targets;
	/* Kept statements, one after another: the SQL with its NUL, a uint32
	 * count of parameters, each parameter as a type byte then an int64, or
	 * a uint32 length and the text with a NUL (libpq reads text to the NUL). */
	wg_buf stmts;
	size_t nstmts, mark_stmts, mark_nstmts;
	unsigned flushes, mark_flushes;
	bool savepoint;         /* sent: there is something to roll back to */
	int failed;             /* sticky: the first failure of a flush */
};

bool store_batch_supported(const wg_conn *c) { return c->store->dialect == WG_POSTGRES; }
bool store_batch_active(const wg_conn *c) { return c->batch != NULL; }

int store_batch_begin(wg_conn *c)
{
	if (!store_batch_supported(c) || c->batch || !c->in_tx)
		return WG_ERR_USAGE;
	c->batch = wg_calloc(1, sizeof *c->batch);
	if (!c->batch)
		return WG_ERR_NOMEM;
	wg_buf_init(&c->batch->stmts, WG_MAX_BATCH_BYTES);
	return 0;
}

static void batch_free(struct store_batch *b)
{
	for (size_t i = 0; i < b->ntargets; i++) {
		wg_free(b->target[i].target);
		wg_buf_release(&b->target[i].rows);
	}
	wg_buf_release(&b->stmts);
	wg_free(b);
}

void store_batch_discard(wg_conn *c)
{
	if (!c->batch)
		return;
	batch_free(c->batch);
	c->batch = NULL;
}

/* ---- keeping ---- */

static struct batch_target *target_of(struct store_batch *b, unsigned stage, const char *target)
{
	for (size_t i = 0; i < b->ntargets; i++)
		if (b->target[i].stage == stage && strcmp(b->target[i].target, target) == 0)
			return &b->target[i];
	if (b->ntargets == WG_BATCH_TARGETS || stage >= WG_BATCH_STAGES)
		return NULL;
	struct batch_target *t = &b->target[b->ntargets];
	t->stage = stage;
	if (!(t->target = wg_strdup(target)))
		return NULL;
	wg_buf_init(&t->rows, WG_MAX_BATCH_BYTES);
	b->ntargets++;
	return t;
}

/* Kept too much: send it now, so a batch's memory stays bounded. */
static bool batch_is_full(const struct store_batch *b)
{
	size_t bytes = b->stmts.len;
	for (size_t i = 0; i < b->ntargets; i++)
		bytes += b->target[i].rows.len;
	return bytes >= WG_BATCH_FLUSH_BYTES || b->nstmts >= WG_BATCH_STATEMENTS;
}

/* A table's columns and their defaults, for one COPY a table: read beside
 * the batch (the rows kept so far stay kept), once per connection. */
static int read_columns(wg_conn *c, const char *table, struct copy_layout *l)
{
	const char *name;
	store_batch_settle(c);
	int rc = store_pg_statement(c, "SELECT a.attname, pg_get_expr(d.adbin, d.adrelid) FROM pg_attribute a"
				    " LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum"
				    " WHERE a.attrelid = ?::regclass AND a.attnum > 0 AND NOT a.attisdropped"
				    " AND a.attgenerated = '' ORDER BY a.attnum", &name);
	if (rc)
		return rc;
	const char *values[] = { table };
	PGresult *r = PQexecPrepared(c->db, name, 1, values, NULL, NULL, 0);
	if (PQresultStatus(r) != PGRES_TUPLES_OK)
		return store_pg_fail(c, r);
	for (int i = 0; i < PQntuples(r) && !rc; i++)
		rc = store_copy_column(l, PQgetvalue(r, i, 0), PQgetvalue(r, i, 1), !PQgetisnull(r, i, 1));
	PQclear(r);
	return rc;
}

int store_batch_insert(wg_conn *c, unsigned stage, const char *target, const wg_param *p, size_t n)
{
	struct store_batch *b = c->batch;
	if (!b)
		return WG_ERR_USAGE;
	if (b->failed)
		return b->failed;
	/* Rows of one table giving different columns go into one COPY (store_pg_copy.c). */
	int rc = 0;
	const struct copy_shape *sh = store_copy_shape(c, target, read_columns, &rc);
	if (rc)
		return b->failed = rc;
	struct batch_target *t = target_of(b, stage, sh ? store_copy_target(sh) : target);
	if (!t)
		return b->failed = WG_ERR_NOMEM;
	store_copy_line(sh, p, n, &t->rows);
	wg_buf_putc(&t->rows, '\n');
	if (t->rows.err)
		return b->failed = t->rows.err;
	return batch_is_full(b) ? store_batch_flush(c) : 0;
}

static void put_u32(wg_buf *b, uint32_t v) { wg_buf_append(b, &v, sizeof v); }

int store_batch_run(wg_conn *c, const char *sql, const wg_param *p, size_t n)
{
	struct store_batch *b = c->batch;
	if (!b)
		return WG_ERR_USAGE;
	if (b->failed)
		return b->failed;
	if (n > WG_MAX_SQL_PARAMS)
		return WG_ERR_INTERNAL;
	wg_buf_append(&b->stmts, sql, strlen(sql) + 1);
	put_u32(&b->stmts, (uint32_t)n);
	for (size_t i = 0; i < n; i++) {
		unsigned char type = (unsigned char)p[i].type;
		wg_buf_append(&b->stmts, &type, 1);
		if (p[i].type == WG_P_INT) {
			wg_buf_append(&b->stmts, &p[i].i, sizeof p[i].i);
		} else if (p[i].type == WG_P_TEXT) {
			put_u32(&b->stmts, (uint32_t)p[i].n);
			wg_buf_append(&b->stmts, p[i].s, p[i].n);
			wg_buf_putc(&b->stmts, '\0');
		}
	}
	if (b->stmts.err)
		return b->failed = b->stmts.err;
	b->nstmts++;
	return batch_is_full(b) ? store_batch_flush(c) : 0;
}

void store_batch_mark(wg_conn *c)
{
	struct store_batch *b = c->batch;
	if (!b)
		return;
	for (size_t i = 0; i < b->ntargets; i++)
		b->target[i].mark = b->target[i].rows.len;
	b->mark_targets = b->ntargets;
	b->mark_stmts = b->stmts.len;
	b->mark_nstmts = b->nstmts;
	b->mark_flushes = b->flushes;
}

bool store_batch_undo(wg_conn *c)
{
	struct store_batch *b = c->batch;
	if (!b || b->failed || b->flushes != b->mark_flushes)
		return false;
	for (size_t i = 0; i < b->ntargets; i++) {
		size_t len = i < b->mark_targets ? b->target[i].mark : 0;
		b->target[i].rows.len = len;
		if (b->target[i].rows.data)
			b->target[i].rows.data[len] = '\0';
	}
	b->stmts.len = b->mark_stmts;
	b->nstmts = b->mark_nstmts;
	return true;
}

/* ---- sending ---- */

/* Reads what is left of the current command's results; the first failure wins. */
static int finish(wg_conn *c, int rc)
{
	PGresult *r;
	while ((r = PQgetResult(c->db))) {
		ExecStatusType st = PQresultStatus(r);
		if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK && !rc)
			rc = store_pg_fail(c, r);
		else
			PQclear(r);
	}
	return rc;
}

static int exec_command(wg_conn *c, const char *sql)
{
	if (!PQsendQuery(c->db, sql))
		return store_pg_fail(c, NULL);
	return finish(c, 0);
}

/* A COPY of the target's rows; with unread, the server's answer is left to
 * store_batch_settle() (the caller goes on while the server stores them). */
static int send_copy(wg_conn *c, struct batch_target *t, bool unread)
{
	wg_buf sql = WG_BUF_INIT(WG_MAX_SQL);
	wg_buf_printf(&sql, "COPY %s FROM STDIN", t->target);
	if (sql.err)
		return sql.err;
	int rc = 0;
	PGresult *r = PQexec(c->db, sql.data);
	wg_buf_release(&sql);
	if (PQresultStatus(r) != PGRES_COPY_IN)
		return finish(c, store_pg_fail(c, r));
	PQclear(r);
	/* In pieces: libpq takes at most INT_MAX bytes a call, and smaller sends flow better. */
	for (size_t off = 0; off < t->rows.len && !rc; off += WG_BATCH_COPY_PIECE) {
		size_t n = t->rows.len - off < WG_BATCH_COPY_PIECE ? t->rows.len - off : WG_BATCH_COPY_PIECE;
		if (PQputCopyData(c->db, t->rows.data + off, (int)n) != 1)
			rc = store_pg_fail(c, NULL);
	}
	if (PQputCopyEnd(c->db, rc ? "batch failed" : NULL) != 1 && !rc)
		rc = store_pg_fail(c, NULL);
	if (!rc && unread) {
		c->batch_unread = true;
		return 0;
	}
	return finish(c, rc);
}

/* The kept statements' parameters, read back; text points into the buffer. */
struct kept {
	const char *sql;
	int n;
	const char *values[WG_MAX_SQL_PARAMS];
	char ints[WG_MAX_SQL_PARAMS][WG_I64_DIGITS + 1];
};

static const char *read_kept(const char *p, struct kept *k)
{
	uint32_t n;
	k->sql = p;
	p += strlen(p) + 1;
	memcpy(&n, p, sizeof n);
	p += sizeof n;
	k->n = (int)n;
	for (uint32_t i = 0; i < n; i++) {
		unsigned char type = (unsigned char)*p++;
		if (type == WG_P_INT) {
			int64_t v;
			memcpy(&v, p, sizeof v);
			p += sizeof v;
			k->ints[i][wg_format_i64(k->ints[i], v)] = '\0';
			k->values[i] = k->ints[i];
		} else if (type == WG_P_TEXT) {
			uint32_t len;
			memcpy(&len, p, sizeof len);
			p += sizeof len;
			k->values[i] = p;
			p += len + 1;
		} else {
			k->values[i] = NULL;
		}
	}
	return p;
}

/* The results of sent statements, each followed by a NULL, then the sync's. */
static int read_results(wg_conn *c, size_t sent, bool synced, int rc)
{
	for (size_t i = 0; i < sent; i++) {
		PGresult *r = PQgetResult(c->db);
		if (!r)
			return rc ? rc : store_pg_fail(c, NULL);  /* the connection broke */
		ExecStatusType st = PQresultStatus(r);
		if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK && !rc)
			rc = store_pg_fail(c, r);
		else
			PQclear(r);
		if ((r = PQgetResult(c->db)))
			PQclear(r);
	}
	PGresult *r = synced ? PQgetResult(c->db) : NULL;
	if (synced && PQresultStatus(r) != PGRES_PIPELINE_SYNC && !rc)
		return store_pg_fail(c, r);
	PQclear(r);
	return rc;
}

/* Every kept statement prepared first (PQprepare waits for its answer,
 * which pipeline mode does not allow), then all sent, then all read; with
 * unread, the reading is left to store_batch_settle(), the connection still
 * in pipeline mode. */
static int send_statements(wg_conn *c, struct store_batch *b, bool unread)
{
	const char *end = b->stmts.data + b->stmts.len, *name;
	struct kept *k = wg_malloc(sizeof *k);
	int rc = k ? 0 : WG_ERR_NOMEM;
	for (const char *p = b->stmts.data; p < end && !rc; p = read_kept(p, k))
		rc = store_pg_statement(c, p, &name);
	if (!rc && !PQenterPipelineMode(c->db))
		rc = store_pg_fail(c, NULL);
	if (rc) {
		wg_free(k);
		return rc;
	}
	size_t sent = 0;
	for (const char *p = b->stmts.data; p < end && !rc; sent++) {
		p = read_kept(p, k);
		if (store_pg_statement(c, k->sql, &name) || !PQsendQueryPrepared(c->db, name, k->n, k->values, NULL, NULL, 0))
			rc = store_pg_fail(c, NULL);
	}
	wg_free(k);
	if (rc)
		sent--;  /* the last one did not go */
	bool synced = PQpipelineSync(c->db) == 1;
	if (!synced && !rc)
		rc = store_pg_fail(c, NULL);
	if (!rc && unread) {
		c->batch_unread = true;
		c->batch_unread_results = sent;
		return 0;
	}
	rc = read_results(c, sent, synced, rc);
	if (!PQexitPipelineMode(c->db) && !rc)
		rc = store_pg_fail(c, NULL);
	return rc;
}

static bool batch_is_empty(const struct store_batch *b)
{
	for (size_t i = 0; i < b->ntargets; i++)
		if (b->target[i].rows.len)
			return false;
	return b->nstmts == 0;
}

/* The target sent last: the one whose answer a send need not wait for. */
static const struct batch_target *last_target(const struct store_batch *b)
{
	const struct batch_target *last = NULL;
	for (unsigned stage = 0; stage < WG_BATCH_STAGES; stage++)
		for (size_t i = 0; i < b->ntargets; i++)
			if (b->target[i].stage == stage && b->target[i].rows.len)
				last = &b->target[i];
	return last;
}

/* Sends what is kept; with unread, the answer to what goes last (the kept
 * statements, or else the last COPY) is left unread (store_batch_send). */
static int flush(wg_conn *c, bool unread)
{
	struct store_batch *b = c->batch;
	if (!b)
		return 0;
	store_batch_settle(c);
	if (b->failed || batch_is_empty(b))
		return b->failed;
	int rc = 0;
	if (!b->savepoint) {
		rc = exec_command(c, "SAVEPOINT wg_batch");
		b->savepoint = rc == 0;
	}
	const struct batch_target *last = unread && !b->nstmts ? last_target(b) : NULL;
	for (unsigned stage = 0; stage < WG_BATCH_STAGES; stage++)
		for (size_t i = 0; i < b->ntargets && !rc; i++)
			if (b->target[i].stage == stage && b->target[i].rows.len)
				rc = send_copy(c, &b->target[i], &b->target[i] == last);
	if (!rc && b->nstmts)
		rc = send_statements(c, b, unread);
	for (size_t i = 0; i < b->ntargets; i++)
		wg_buf_reset(&b->target[i].rows);
	wg_buf_reset(&b->stmts);
	b->nstmts = 0;
	b->flushes++;
	return b->failed = rc;
}

int store_batch_flush(wg_conn *c) { return flush(c, false); }

int store_batch_end(wg_conn *c, bool keep)
{
	struct store_batch *b = c->batch;
	if (!b)
		return WG_ERR_USAGE;
	int rc = keep ? flush(c, false) : 0;
	bool savepoint = b->savepoint;
	store_batch_discard(c);
	if (!savepoint)
		return rc;
	int undo = rc || !keep ? exec_command(c, "ROLLBACK TO SAVEPOINT wg_batch") : 0;
	int release = exec_command(c, "RELEASE SAVEPOINT wg_batch");
	return rc ? rc : undo ? undo : release;
}

int store_batch_send(wg_conn *c)
{
	struct store_batch *b = c->batch;
	if (!b)
		return WG_ERR_USAGE;
	int rc = flush(c, true);
	if (rc || !c->batch_unread)
		return store_batch_end(c, true);  /* found at once, or nothing left with the server: as usual */
	store_batch_discard(c);  /* its savepoint is released or rolled back when the answer is read */
	return 0;
}

void store_batch_settle(wg_conn *c)
{
	if (!c->batch_unread)
		return;
	c->batch_unread = false;
	int rc = 0;
	if (c->batch_unread_results) {  /* kept statements, in pipeline mode */
		rc = read_results(c, c->batch_unread_results, true, 0);
		if (!PQexitPipelineMode(c->db) && !rc)
			rc = store_pg_fail(c, NULL);
		c->batch_unread_results = 0;
	} else {
		rc = finish(c, 0);
	}
	int undo = rc ? exec_command(c, "ROLLBACK TO SAVEPOINT wg_batch") : 0;
	int release = exec_command(c, "RELEASE SAVEPOINT wg_batch");
	c->batch_outcome = rc ? rc : undo ? undo : release;
}

struct store_batch *store_batch_set_aside(wg_conn *c)
{
	struct store_batch *b = c->batch;
	c->batch = NULL;
	return b;
}

int store_batch_take_up(wg_conn *c, struct store_batch *b)
{
	if (!b)
		return 0;
	if (!c->batch) {
		c->batch = b;
		return 0;
	}
	batch_free(b);  /* one batch at a time: the one begun meanwhile stays, this one is lost */
	return WG_ERR_USAGE;
}

int store_batch_wait(wg_conn *c)
{
	store_batch_settle(c);
	int rc = c->batch_outcome;
	c->batch_outcome = 0;
	return rc;
}

/* ---- arrays ---- */

static void array_next(wg_buf *a) { wg_buf_putc(a, a->len ? ',' : '{'); }

void store_array_int(wg_buf *a, int64_t v)
{
	char digits[WG_I64_DIGITS];
	array_next(a);
	wg_buf_append(a, digits, wg_format_i64(digits, v));
}

/* Quoted, with backslash before a quote or a backslash: any text, even "NULL" or "{,}". */
void store_array_text(wg_buf *a, const char *s, size_t n)
{
	size_t run = 0;
	array_next(a);
	wg_buf_putc(a, '"');
	for (size_t i = 0; i < n; i++) {
		if (s[i] != '"' && s[i] != '\\')
			continue;
		wg_buf_append(a, s + run, i - run);
		wg_buf_putc(a, '\\');
		run = i;
	}
	wg_buf_append(a, s + run, n - run);
	wg_buf_putc(a, '"');
}

void store_array_null(wg_buf *a)
{
	array_next(a);
	wg_buf_puts(a, "NULL");
}

int store_array_end(wg_buf *a)
{
	if (!a->len)
		wg_buf_putc(a, '{');
	wg_buf_putc(a, '}');
	return a->err;
}
