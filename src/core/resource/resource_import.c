/* Import for every declared resource: spreadsheets in (CSV in UTF-8 or
 * GB18030, XLSX, XLS) with the same validation, scope and audit as the JSON
 * API. An import runs in the request's one transaction: all or nothing
 * unless ?partial=1, nothing at all with ?dry_run=1, and every bad row is
 * reported with its row and column. */
#include "core/resource/resource_int.h"
#include "core/app/jobs.h"
#include "core/audit/audit.h"
#include "core/auth/scope.h"
#include "core/lib/err.h"
#include "core/lib/limits.h"
#include "core/app/module.h"
#include "core/lib/log.h"
#include "core/lib/mem.h"
#include "core/lib/parse.h"
#include "core/lib/timefmt.h"
#include "core/sheet/sheet.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

struct import_state {
	json_t *errors;
	json_t *rows;            /* what became of each row, the first WG_MAX_IMPORT_REPORT */
	int64_t inserted, updated, unchanged;
	bool partial, dry_run;
	bool update;             /* ?update=1: a row that finds its record updates it */
	bool from_export;        /* the file is this resource's export (编号 and 路径): 编号 names the record */
	uint32_t row;            /* the file row being imported */
};

/* What became of a row: inserted, updated (with the changes), unchanged or refused. */
static void row_report(struct import_state *st, const char *status, int64_t id, json_t *changes)
{
	if (json_array_size(st->rows) < WG_MAX_IMPORT_REPORT)
		json_array_append_new(st->rows, json_pack("{s:i, s:s, s:o, s:o}", "row", (int)st->row, "status", status,
							  "id", id ? json_integer(id) : json_null(),
							  "changes", changes ? json_incref(changes) : json_null()));
}

/* Rows of a dry run or of a refused file report what they would have done,
 * but their new records were rolled back: they have no id to show. */
static void forget_new_ids(json_t *rows)
{
	size_t i;
	json_t *row;
	json_array_foreach(rows, i, row)
		if (strcmp(json_string_value(json_object_get(row, "status")), "inserted") == 0)
			json_object_set_new(row, "id", json_null());
}

static void add_error(struct import_state *st, uint32_t row, const char *field, const char *zh, const char *en)
{
	if (json_array_size(st->errors) >= WG_MAX_IMPORT_ERRORS)
		return;
	json_array_append_new(st->errors, json_pack("{s:i, s:s, s:s, s:s}", "row", (int)row, "field", field ? field : "",
						    "message", zh, "message_en", en));
}

/* Takes the request's recorded failure as an error of this row and clears it. */
static void row_failed(wg_req *r, struct import_state *st, uint32_t row)
{
	char zh[512], en[512];
	snprintf(zh, sizeof zh, "第%u行:%s", row, r->fail.zh);
	snprintf(en, sizeof en, "row %u: %s", row, r->fail.en);
	add_error(st, row, r->fail.field, zh, en);
	if (json_array_size(st->rows) < WG_MAX_IMPORT_REPORT)
		json_array_append_new(st->rows, json_pack("{s:i, s:s, s:n, s:{s:s, s:s, s:s}}", "row", (int)row, "status", "refused",
							  "id", "error", "field", r->fail.field, "message", zh, "message_en", en));
	memset(&r->fail, 0, sizeof r->fail);
}

static int existing_by_key(wg_req *r, const struct wg_resource *res, json_t *row, int64_t *id, int64_t *version,
			   char *path, size_t size)
{
	json_t *key = res->import_key ? json_object_get(row, res->import_key) : NULL;
	*id = 0;
	if (!json_is_string(key))
		return 0;
	char sql[512], lo[WG_MAX_GRID_PATH + 2], hi[WG_MAX_GRID_PATH + 2];
	snprintf(sql, sizeof sql, "SELECT id, version, %s FROM %s WHERE %s = ? AND %s >= ? AND %s < ?", res->path_column,
		 res->table, res->import_key, res->path_column, res->path_column);
	wg_stmt *s;
	scope_range(r->user->scope_path, lo, hi, sizeof lo);
	wg_param p[] = { WG_PTEXT(json_string_value(key)), WG_PTEXT(lo), WG_PTEXT(hi) };
	int rc = store_query(r->db, sql, p, 3, &s);
	if (rc)
		return req_fail(r, rc, NULL, NULL, NULL);
	int found = 0;
	while ((rc = stmt_next(s)) == 1) {
		*id = stmt_int(s, 0);
		*version = stmt_int(s, 1);
		wg_copy_text(path, size, stmt_text(s, 2));
		found++;
	}
	stmt_done(s);
	if (found > 1)
		return req_failf(r, WG_ERR_CONFLICT, res->import_key, "%s“%s”对应多条记录,无法确定更新哪一条",
				 "%s '%s' matches several records", res->import_key, json_string_value(key),
				 res->import_key, json_string_value(key));
	return rc < 0 ? req_fail(r, -rc, NULL, NULL, NULL) : 0;
}

/* The record the export's 编号 names, in the caller's scope (404 otherwise). */
static int existing_by_id(wg_req *r, const struct wg_resource *res, int64_t id, int64_t *version, char *path, size_t size)
{
	json_t *item;
	if (resource_load(r, res, id, &item, path, size)) {
		snprintf(r->fail.field, sizeof r->fail.field, "%s", "编号");
		return r->fail.code;
	}
	*version = json_integer_value(json_object_get(item, "version"));
	json_decref(item);
	return 0;
}

/* The value as a person may see it in a report of changes: masked when personal. */
static json_t *shown(const struct wg_field *f, json_t *v)
{
	char masked[256];
	if (!(f->flags & FF_SECRET) || !f->mask || !json_is_string(v))
		return json_incref(v ? v : json_null());
	f->mask(json_string_value(v), masked, sizeof masked);
	return json_string(masked);
}

/* Which of the row's fields differ from the record's: {field: {old, new}}
 * (masked), NULL when none does; *failed on a lack of memory. */
static json_t *changes_of(wg_req *r, const struct wg_resource *res, int64_t id, json_t *row, bool *failed)
{
	json_t *item, *changes = NULL;
	char path[WG_MAX_GRID_PATH];
	bool reveal = r->reveal;
	r->reveal = true;  /* compared whole; only masked values leave the server */
	int rc = resource_load(r, res, id, &item, path, sizeof path);
	r->reveal = reveal;
	*failed = rc != 0;
	if (rc)
		return NULL;
	const char *key;
	json_t *v;
	json_object_foreach(row, key, v) {
		const struct wg_field *f = resource_field(res, key);
		json_t *old = json_object_get(item, key);
		if (!f || (old && json_equal(old, v)) || (!old && json_is_null(v)))
			continue;
		if (!changes && !(changes = json_object()))
			break;
		json_object_set_new(changes, key, json_pack("{s:o, s:o}", "old", shown(f, old), "new", shown(f, v)));
	}
	json_decref(item);
	return changes;
}

/* The record a row is about, if any: the export's 编号, the resource's
 * import key, or its own rule (a person's ID number, or name, birth date
 * and address). *field names what matched. */
static int find_existing(wg_req *r, const struct wg_resource *res, json_t *row, struct import_state *st, int64_t *id,
			 int64_t *version, char *path, size_t size, const char **field)
{
	json_t *given = json_object_get(row, "_id");
	int64_t record = st->from_export && json_is_integer(given) ? json_integer_value(given) : 0;
	if (given)
		json_object_del(row, "_id");
	*id = 0;
	*field = "编号";
	if (record) {
		*id = record;
		return existing_by_id(r, res, record, version, path, size);
	}
	*field = res->import_key;
	if (res->import_key)
		return existing_by_key(r, res, row, id, version, path, size);
	if (!res->hooks.import_match || res->hooks.import_match(r, res, row, id, field))
		return r->fail.code;
	uint32_t earlier = *id ? import_row_of(r, *id) : 0;
	if (earlier) {
		const struct wg_field *f = resource_field(res, *field);
		return req_failf(r, WG_ERR_CONFLICT, *field, "%s(%s)与本文件第%u行重复:同一人登记了两次",
				 "%s repeats row %u of this file: the same person twice", f ? f->zh : *field, *field, earlier,
				 *field, earlier);
	}
	return *id ? existing_by_id(r, res, *id, version, path, size) : 0;
}

static int import_one(wg_req *r, const struct wg_resource *res, json_t *row, struct import_state *st)
{
	int64_t id, version = 0;
	char path[WG_MAX_GRID_PATH];
	const char *field = NULL;
	if ((res->hooks.import_row && res->hooks.import_row(r, res, row)) ||
	    find_existing(r, res, row, st, &id, &version, path, sizeof path, &field))
		return r->fail.code;
	if (id && !res->import_key && !st->update)
		return req_failf(r, WG_ERR_CONFLICT, field, "已登记为%s %lld(%s相同);如是更新名单,请用更新模式重新导入(update=1)",
				 "already registered as %s %lld (same %s); to update a roster, import it again with update=1",
				 res->zh, (long long)id, field, res->en, (long long)id, field);
	if (id) {
		/* An update changes what may change; where a record hangs is not moved by an import. */
		for (size_t i = 0; i < res->nfields; i++)
			if (res->fields[i].flags & FF_CREATE_ONLY)
				json_object_del(row, res->fields[i].name);
		bool failed;
		if (resource_validate(r, res, row, false) || (res->hooks.check && res->hooks.check(r, res, id, row)))
			return r->fail.code;
		json_t *changes = changes_of(r, res, id, row, &failed);
		if (failed)
			return r->fail.code ? r->fail.code : req_fail(r, WG_ERR_NOMEM, NULL, NULL, NULL);
		if (!changes) {
			st->unchanged++;
			row_report(st, "unchanged", id, NULL);
			return 0;
		}
		/* Updated records are audited one by one as edits (the file's record
		 * names only what it created); a dry run keeps none of it. */
		if (resource_update(r, res, id, version, NULL, row) || audit_req(r, "update", res->name, id, path, row)) {
			json_decref(changes);
			return r->fail.code;
		}
		st->updated++;
		row_report(st, "updated", id, changes);
		json_decref(changes);
		return 0;
	}
	if (resource_validate(r, res, row, true) || (res->hooks.check && res->hooks.check(r, res, 0, row)) ||
	    resource_scope_of_new(r, res, row, path, sizeof path) || resource_insert(r, res, row, path, &id) ||
	    (res->hooks.after_insert && res->hooks.after_insert(r, res, id, row, path)))
		return r->fail.code;
	if (import_remember(r->import, id, st->row))
		return req_fail(r, WG_ERR_NOMEM, NULL, NULL, NULL);
	st->inserted++;
	row_report(st, "inserted", id, NULL);
	return 0;
}

/* The file as received: its (unkeyed) BLAKE2b-256 digest, so the
 * audit trail says exactly which file was imported: anyone holding the file
 * can check it against the record. */
static int file_digest(wg_req *r, char hex[65])
{
	unsigned char h[32];
	crypto_generichash_state st;
	crypto_generichash_init(&st, NULL, 0, sizeof h);
	if (r->upload_path) {
		unsigned char chunk[1 << 16];
		size_t n;
		FILE *f = fopen(r->upload_path, "rb");
		if (!f)
			return WG_ERR_IO;
		while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
			crypto_generichash_update(&st, chunk, n);
		int bad = ferror(f);
		fclose(f);
		if (bad)
			return WG_ERR_IO;
	} else {
		crypto_generichash_update(&st, (const unsigned char *)r->raw.data, r->raw.len);
	}
	crypto_generichash_final(&st, h, sizeof h);
	sodium_bin2hex(hex, 65, h, sizeof h);
	return 0;
}

/* One audit record for the whole file: who imported which file (its digest
 * is the record's change hash, so whoever holds the file can check it) and
 * the range of ids its new records got. The records are not audited one by
 * one: the file and the range say the same, and a million-row roster must
 * not cost a million chained records. */
static int audit_import(wg_req *r, const struct wg_resource *res)
{
	const struct wg_import *im = r->import;
	char digest[65], range[24] = "";
	int rc = file_digest(r, digest);
	if (rc)
		return req_fail(r, rc, NULL, NULL, NULL);
	if (im->n)  /* ids are remembered in ascending order */
		snprintf(range, sizeof range, "%lld-%lld", (long long)im->ids[0], (long long)im->ids[im->n - 1]);
	struct audit_event ev = { "import", res->name, range, r->user->scope_path, NULL, digest };
	rc = audit_write(r->app, r->db, r->user, NULL, r->address, r->now, &ev);
	return rc ? req_fail(r, rc, NULL, NULL, NULL) : 0;
}

/* Building an index once by sorting costs a fraction of a million random
 * B-tree inserts into it. Worth it when the file is big beside the table
 * (and not so big that the in-memory sort would outgrow the import's
 * memory bound); the unique indexes stay, so duplicates are still found row by row. Inside
 * the import's transaction: a rollback brings the indexes back as they were,
 * and other connections see the old indexes until the commit. */
#define WG_DEFER_INDEX_BYTES_PER_ROW 100

struct deferred_indexes {
	char *sql[16];
	size_t n;
};

static int64_t upload_bytes(const wg_req *r)
{
	if (!r->upload_path)
		return (int64_t)r->raw.len;
	struct stat st;
	return stat(r->upload_path, &st) == 0 ? (int64_t)st.st_size : -1;
}

static int defer_indexes(wg_req *r, const struct wg_resource *res, struct deferred_indexes *d)
{
	int64_t bytes = upload_bytes(r), rows = 0;
	if (!res->import_defer_indexes || conn_dialect(r->db) != WG_SQLITE || bytes < r->app->config.import_sort_index_bytes ||
	    bytes > WG_MAX_SORT_INDEX_BYTES)
		return 0;
	char sql[160];
	snprintf(sql, sizeof sql, "SELECT COUNT(*) FROM %s", res->table);
	int rc = store_int(r->db, sql, NULL, 0, &rows);
	if (rc || rows > bytes / WG_DEFER_INDEX_BYTES_PER_ROW)
		return rc;
	wg_stmt *s;
	wg_param p[] = { WG_PTEXT(res->table) };
	rc = store_query(r->db, "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = ? AND sql IS NOT NULL"
			 " AND sql NOT LIKE 'CREATE UNIQUE%' ORDER BY name", p, 1, &s);
	if (rc)
		return rc;
	char names[16][128];
	while ((rc = stmt_next(s)) == 1 && d->n < 16) {
		if (stmt_len(s, 0) >= sizeof names[0] || !(d->sql[d->n] = wg_strdup(stmt_text(s, 1)))) {
			rc = -WG_ERR_NOMEM;
			break;
		}
		snprintf(names[d->n], sizeof names[0], "%s", stmt_text(s, 0));
		d->n++;
	}
	stmt_done(s);
	if (rc < 0)
		return -rc;
	if (d->n)
		log_info("import into %s: %zu indexes dropped, rebuilt by sorting at the end / 导入期间重建索引", res->table, d->n);
	for (size_t i = 0; i < d->n && !rc; i++) {
		/* The name comes from sqlite_master (our own schema), quoted all the same. */
		snprintf(sql, sizeof sql, "DROP INDEX \"%s\"", names[i]);
		rc = store_run(r->db, sql, NULL, 0);
	}
	return rc;
}

static int rebuild_indexes(wg_req *r, struct deferred_indexes *d)
{
	int rc = 0;
	for (size_t i = 0; i < d->n && !rc; i++)
		rc = store_exec_script(r->db, d->sql[i]);
	return rc;
}

static void deferred_release(struct deferred_indexes *d)
{
	for (size_t i = 0; i < d->n; i++)
		wg_free(d->sql[i]);
	d->n = 0;
}

static void refresh_statistics(wg_req *r, const struct wg_resource *res)
{
	char sql[128];
	snprintf(sql, sizeof sql, "ANALYZE %s", res->table);  /* the same words in SQLite and PostgreSQL */
	store_run(r->db, sql, NULL, 0);  /* statistics only help; a failure changes nothing */
}

/* ---- rows: one by one, or in chunks ---- */

/* Whether a row failed for what it says (the database answered as it should). */
static bool row_input_error(int code)
{
	return code == WG_ERR_VALIDATION || code == WG_ERR_UNKNOWN_FIELD || code == WG_ERR_REQUIRED || code == WG_ERR_NOT_FOUND ||
	       code == WG_ERR_FORBIDDEN || code == WG_ERR_CONFLICT || code == WG_ERR_PRECONDITION || code == WG_ERR_TOO_LARGE;
}

/* Imports a row (o; NULL when a cell could not be read, r->fail says why)
 * as every row is imported; true when it failed, its error recorded. */
static bool import_row(wg_req *r, const struct wg_resource *res, struct import_state *st, json_t *o, uint32_t number,
		       const struct wg_row_ahead *ahead, bool *out_of_memory)
{
	struct wg_import *im = r->import;
	st->row = number;
	im->row_marked = false;
	im->stage = 0;
	int64_t extra_before = im->extra_created;  /* a failed row's households roll back with it */
	/* What a row allocates in the arena dies with the row: files are long. */
	wg_arena request_arena = r->arena;
	r->arena = im->row_arena;
	im->ahead = ahead;
	bool failed = !o || import_one(r, res, o, st);
	im->ahead = NULL;
	arena_clear(&r->arena);
	im->row_arena = r->arena;
	r->arena = request_arena;
	*out_of_memory = r->fail.code == WG_ERR_NOMEM;
	if (failed) {
		bool input = row_input_error(r->fail.code);
		row_failed(r, st, number);
		/* Undone writes (?partial=1) take what the memo learnt with them; a row
		 * refused for what it says otherwise leaves them, and the memo stays
		 * true: a file of repeated rows is not read again for each of them. */
		if (st->partial || !input)
			import_memo_forget(r);
		im->extra_created = extra_before;
	}
	return failed;
}

/* A row on its own; with ?partial=1 under a savepoint of its own, so a
 * failed row leaves nothing behind. 0, or the failure that ends the import. */
static int import_row_alone(wg_req *r, const struct wg_resource *res, struct import_state *st, json_t *o,
			    uint32_t number, const struct wg_row_ahead *ahead)
{
	bool out_of_memory;
	if (st->partial && store_run(r->db, "SAVEPOINT import_row", NULL, 0))
		return req_fail(r, WG_ERR_DB, NULL, NULL, NULL);
	bool failed = import_row(r, res, st, o, number, ahead, &out_of_memory);
	if (st->partial && store_run(r->db, failed ? "ROLLBACK TO SAVEPOINT import_row" : "RELEASE SAVEPOINT import_row", NULL, 0))
		return req_fail(r, WG_ERR_DB, NULL, NULL, NULL);
	return out_of_memory ? req_fail(r, WG_ERR_NOMEM, NULL, NULL, NULL) : 0;
}

/* On PostgreSQL rows go in chunks, each a batch (store.h): what would be
 * a round trip or more per row is a few per chunk. A chunk's rows are read
 * first; the resource's import_prefetch hook looks up what they will ask
 * for; then each row is imported as above, its writes kept for the batch,
 * and the batch is sent. A failed row's writes are dropped while still
 * kept (with ?partial=1; without, a failed row leaves them, as one by one).
 * A chunk the database refuses (a duplicate ID number, in the file or in
 * the store), or whose failed row's writes were already sent, is rolled
 * back and done again one row at a time from a copy of each row's object
 * as read: its rows' reports, errors and messages are then exactly those
 * of one by one. */
struct chunk_row {
	json_t *o;                    /* the row's object (NULL: fail says why) */
	const struct wg_row_ahead *ahead;  /* the reading thread's work on it (kept: sheet_keep_rows) */
	size_t member, nmembers;      /* its members as read, in chunk.member */
	uint32_t number;
	struct wg_fail fail;
};

/* A member of a row's object as read: importing changes a row's members,
 * never their values, so these make the row again. Keys are the column
 * specs' own (the object's die with their members). */
struct chunk_member {
	const char *key;
	json_t *value;
};

struct chunk {
	struct chunk_row *row;        /* max */
	struct chunk_member *member;  /* max × the specs */
	const struct sheet_column_spec *specs;
	size_t nspecs;
	size_t n, size, max, members, bytes;  /* rows and members in the chunk, rows it takes (at most max), their text */
	uint32_t alone;               /* rows to import one by one before batching again */
	bool again;
	/* the import before the chunk, to start the chunk over from */
	size_t errors, reports, remembered;
	int64_t inserted, updated, unchanged, extra;
};

static bool chunk_init(struct chunk *ch, size_t max, const struct sheet_column_spec *specs, size_t nspecs)
{
	*ch = (struct chunk){ .specs = specs, .nspecs = nspecs, .size = max, .max = max };
	if (max == 0)
		return false;
	ch->row = wg_calloc(max, sizeof *ch->row);
	ch->member = wg_calloc(max * nspecs, sizeof *ch->member);
	if (ch->row && ch->member)
		return true;
	wg_free(ch->row);
	wg_free(ch->member);
	ch->row = NULL;
	ch->member = NULL;
	return false;  /* only slower: rows go one by one */
}

static const char *spec_key(const struct chunk *ch, const char *key)
{
	for (size_t i = 0; i < ch->nspecs; i++)
		if (strcmp(ch->specs[i].key, key) == 0)
			return ch->specs[i].key;
	return NULL;
}

/* Keeps a row for the chunk (o: from import_take_row, r->fail when NULL). */
static void chunk_keep(wg_req *r, struct chunk *ch, json_t *o, const struct sheet_row *row)
{
	struct chunk_row *k = &ch->row[ch->n++];
	const char *key;
	json_t *v;
	*k = (struct chunk_row){ .o = json_incref(o), .ahead = row->prepared, .member = ch->members, .number = row->number };
	json_object_foreach(o, key, v) {
		const char *stable = spec_key(ch, key);
		if (stable && k->nmembers < ch->nspecs)
			ch->member[ch->members + k->nmembers++] = (struct chunk_member){ stable, json_incref(v) };
	}
	ch->members += k->nmembers;
	if (!o) {
		k->fail = r->fail;
		memset(&r->fail, 0, sizeof r->fail);
	}
	for (size_t i = 0; i < row->n; i++)
		ch->bytes += row->cells[i].len;
}

/* The row's object as read, made again; NULL when out of memory. */
static json_t *chunk_row_again(const struct chunk *ch, const struct chunk_row *k)
{
	json_t *o = json_object();
	for (size_t i = 0; o && i < k->nmembers; i++)
		if (json_object_set(o, ch->member[k->member + i].key, ch->member[k->member + i].value)) {
			json_decref(o);
			o = NULL;
		}
	return o;
}

static void chunk_release(struct chunk *ch)
{
	for (size_t i = 0; i < ch->n; i++)
		json_decref(ch->row[i].o);
	for (size_t i = 0; i < ch->members; i++)
		json_decref(ch->member[i].value);
	ch->n = ch->members = ch->bytes = 0;
}

static int chunk_start(wg_req *r, const struct wg_resource *res, const struct import_state *st, struct chunk *ch)
{
	json_t *rows[WG_IMPORT_CHUNK_MAX_ROWS];
	size_t n = 0;
	int rc = store_batch_begin(r->db);
	if (rc)
		return req_fail(r, rc, NULL, NULL, NULL);
	r->import->batching = true;
	ch->again = false;
	ch->errors = json_array_size(st->errors);
	ch->reports = json_array_size(st->rows);
	ch->remembered = r->import->n;
	ch->inserted = st->inserted;
	ch->updated = st->updated;
	ch->unchanged = st->unchanged;
	ch->extra = r->import->extra_created;
	for (size_t i = 0; i < ch->n; i++)
		if (ch->row[i].o)
			rows[n++] = ch->row[i].o;
	if (res->hooks.import_prefetch && n)
		res->hooks.import_prefetch(r, res, rows, n);
	memset(&r->fail, 0, sizeof r->fail);
	return 0;
}

/* The import as it was before the chunk: its rows are done again. */
static void chunk_take_back(wg_req *r, struct import_state *st, const struct chunk *ch)
{
	while (json_array_size(st->errors) > ch->errors)
		json_array_remove(st->errors, json_array_size(st->errors) - 1);
	while (json_array_size(st->rows) > ch->reports)
		json_array_remove(st->rows, json_array_size(st->rows) - 1);
	st->inserted = ch->inserted;
	st->updated = ch->updated;
	st->unchanged = ch->unchanged;
	r->import->n = ch->remembered;
	r->import->extra_created = ch->extra;
	import_memo_forget(r);
	import_ids_forget(r->import);
}

/* The chunk's rows one by one, as every row on SQLite. */
static int chunk_again(wg_req *r, const struct wg_resource *res, struct import_state *st, struct chunk *ch)
{
	int rc = 0;
	/* A file of duplicates would fail chunk after chunk: smaller ones, then a pause. */
	size_t least = ch->max < WG_IMPORT_CHUNK_MIN ? ch->max : WG_IMPORT_CHUNK_MIN;
	if (ch->size <= least)
		ch->alone = WG_IMPORT_CHUNK_PAUSE;
	ch->size = ch->size / 4 > least ? ch->size / 4 : least;
	chunk_take_back(r, st, ch);
	for (size_t i = 0; i < ch->n && !rc; i++) {
		struct chunk_row *k = &ch->row[i];
		json_t *o = k->o ? chunk_row_again(ch, k) : NULL;
		if (k->o && !o)
			return req_fail(r, WG_ERR_NOMEM, NULL, NULL, NULL);
		if (!o)
			r->fail = k->fail;
		rc = import_row_alone(r, res, st, o, k->number, NULL);
		json_decref(o);
	}
	return rc;
}

/* Imports the chunk's rows: in a batch, or again one by one. 0, or the
 * failure that ends the import. */
static int chunk_run(wg_req *r, const struct wg_resource *res, struct import_state *st, struct chunk *ch)
{
	bool out_of_memory = false;
	int rc = chunk_start(r, res, st, ch);
	for (size_t i = 0; i < ch->n && !rc && !out_of_memory; i++) {
		struct chunk_row *k = &ch->row[i];
		store_batch_mark(r->db);
		if (!k->o)
			r->fail = k->fail;
		if (import_row(r, res, st, k->o, k->number, k->ahead, &out_of_memory) && st->partial && !store_batch_undo(r->db))
			ch->again = true;
	}
	r->import->batching = false;
	if (rc || out_of_memory) {
		store_batch_end(r->db, false);  /* the import fails: its transaction rolls back */
		return rc ? rc : req_fail(r, WG_ERR_NOMEM, NULL, NULL, NULL);
	}
	if (store_batch_end(r->db, !ch->again))
		ch->again = true;
	if (ch->again)
		return chunk_again(r, res, st, ch);
	ch->size = ch->size * 2 < ch->max ? ch->size * 2 : ch->max;
	return 0;
}

/* Every row of the file: 0 when all were read (each row's own failure is
 * in st), else the reader's failure; r->fail when the import must end. */
static int import_rows(wg_req *r, const struct wg_resource *res, struct import_state *st, struct sheet_reader *reader,
		       const struct sheet_header *h, const struct sheet_column_spec *specs, size_t nspecs, uint32_t *rows)
{
	struct sheet_row row;
	struct chunk ch = { 0 };
	int rc, fatal = 0;
	/* The chunk's rows and what the reading thread made of them stay with it. */
	bool chunks = store_batch_supported(r->db) && chunk_init(&ch, (size_t)r->app->config.import_chunk_rows, specs, nspecs) &&
		      sheet_keep_rows(reader, true);
	while (!fatal && (rc = sheet_next_row(reader, &row)) == 0 && !row.end) {
		if (++*rows > WG_MAX_IMPORT_ROWS) {
			add_error(st, row.number, "", "行数超过上限", "too many rows");
			break;
		}
		json_t *o = import_take_row(r, res, &row, h, specs, nspecs);
		if (chunks && ch.alone == 0) {
			chunk_keep(r, &ch, o, &row);
			if (ch.n == ch.size || ch.bytes >= WG_IMPORT_CHUNK_BYTES) {
				fatal = chunk_run(r, res, st, &ch);
				chunk_release(&ch);
				sheet_release_rows(reader);
			}
		} else {
			ch.alone -= ch.alone > 0;
			fatal = import_row_alone(r, res, st, o, row.number, row.prepared);
			if (chunks)  /* kept for a chunk; otherwise the next row releases it, a lock less per row */
				sheet_release_rows(reader);
		}
		json_decref(o);
		if (r->progress && *rows % 1000 == 0)
			r->progress(r, *rows);
	}
	if (!fatal && ch.n)
		fatal = chunk_run(r, res, st, &ch);
	chunk_release(&ch);
	sheet_keep_rows(reader, false);
	wg_free(ch.row);
	wg_free(ch.member);
	return fatal ? 0 : rc;
}

int resource_handle_import(wg_req *r)
{
	const struct wg_resource *res = r->route->data;
	struct sheet_reader *reader = NULL;
	struct sheet_column_spec *specs = NULL;
	const char **names = NULL;
	struct sheet_header h = { 0 };
	struct sheet_error e = { 0 };
	static const char *const options[] = { "dry_run", "partial", "async", "update" };
	/* The import's options and the resource's own (a default for every row, e.g. ?category=). */
	const char *allowed[WG_COUNT(options) + WG_MAX_IMPORT_QUERY + 1];
	size_t nallowed = 0;
	for (size_t i = 0; i < WG_COUNT(options); i++)
		allowed[nallowed++] = options[i];
	for (const char *const *q = res->import_query; q && *q && nallowed < WG_COUNT(allowed) - 1; q++)
		allowed[nallowed++] = *q;
	allowed[nallowed] = NULL;
	struct import_state st = { .errors = json_array(), .rows = json_array() };
	struct wg_import im = { 0 };
	struct deferred_indexes deferred = { 0 };
	struct import_ahead_ctx ahead;
	size_t nspecs = 0;
	int64_t flag;
	int rc;
	/* A typo (dryrun=1) must not import for real. */
	if (req_check_query(r, allowed) || req_query_int(r, "async", 0, 1, 0, &flag))
		goto done;
	if (flag && r->mhd) {
		/* A big file: answer at once with a job, import in the background. */
		r->rollback = true;
		jobs_start_import(r);
		goto done;
	}
	if (req_query_int(r, "dry_run", 0, 1, 0, &flag))
		goto done;
	st.dry_run = flag;
	if (req_query_int(r, "partial", 0, 1, 0, &flag))
		goto done;
	st.partial = flag;
	if (req_query_int(r, "update", 0, 1, 0, &flag))
		goto done;
	st.update = flag;
	im.updating = st.update;
	arena_init(&im.row_arena, 1u << 20);
	r->import = &im;
	if (!st.errors || !st.rows) {
		req_fail(r, WG_ERR_NOMEM, NULL, NULL, NULL);
		goto done;
	}
	if (upload_bytes(r) <= 0) {
		req_fail(r, WG_ERR_REQUIRED, "file", "请上传 CSV 或 XLSX 文件", "upload a CSV or XLSX file as the request body");
		goto done;
	}
	if ((rc = import_specs(res, &specs, &names, &nspecs))) {
		req_fail(r, rc, NULL, NULL, NULL);
		goto done;
	}
	/* A file is read as a stream: memory stays bounded whatever its size. */
	rc = r->upload_path ? sheet_open_file(r->upload_path, &reader, &e) : sheet_open_memory(r->raw.data, r->raw.len, &reader, &e);
	if (!rc)
		rc = sheet_find_header(reader, specs, nspecs, &h, &e);
	if (rc) {
		req_fail(r, rc == WG_ERR_NOMEM ? rc : WG_ERR_VALIDATION, e.column[0] ? e.column : "file", e.message_zh, e.message_en);
		goto done;
	}
	/* An export of this resource brought back: its 编号 and 路径 columns are there. */
	st.from_export = nspecs >= 2 && h.column[nspecs - 2] >= 0 && h.column[nspecs - 1] >= 0;
	if ((rc = defer_indexes(r, res, &deferred))) {
		req_fail(r, rc, NULL, NULL, NULL);
		goto done;
	}
	/* Rows are read, checked and encrypted on the second core while the
	 * previous ones are stored. */
	ahead = (struct import_ahead_ctx){ .scratch.app = r->app, .res = res, .h = &h, .specs = specs, .nspecs = nspecs };
	/* Batching, the reading goes on while a chunk is with the database. */
	sheet_read_ahead(reader, &(struct sheet_prepare){ import_prepare_row, import_release_row, &ahead,
							 store_batch_supported(r->db) ? 2 * (size_t)r->app->config.import_chunk_rows : 1024 });
	uint32_t rows = 0;
	rc = import_rows(r, res, &st, reader, &h, specs, nspecs, &rows);
	if (r->progress)
		r->progress(r, rows);
	if (rc) {
		const struct sheet_error *se = sheet_last_error(reader);
		add_error(&st, se->row, se->column, se->message_zh, se->message_en);
	}
	/* Dry runs and rejected files roll back, which brings the indexes back by itself. */
	bool kept = !st.dry_run && (st.partial || json_array_size(st.errors) == 0);
	if (!r->fail.code && kept && (rc = rebuild_indexes(r, &deferred)))
		req_fail(r, rc, NULL, NULL, NULL);
	if (r->fail.code)
		goto done;
	if (!kept)
		forget_new_ids(st.rows);
	json_t *out = json_pack("{s:I, s:I, s:I, s:I, s:O, s:O, s:b, s:b}", "inserted", (json_int_t)st.inserted,
				"updated", (json_int_t)st.updated, "unchanged", (json_int_t)st.unchanged,
				"good", (json_int_t)(st.inserted + st.updated + st.unchanged), "errors", st.errors, "rows", st.rows,
				"dry_run", st.dry_run, "rows_truncated", rows > WG_MAX_IMPORT_REPORT);
	if (out && im.extra_name)  /* what the rows brought with them, e.g. {"households": 385000} */
		json_object_set_new(out, "also_created", json_pack("{s:I}", im.extra_name, (json_int_t)im.extra_created));
	size_t nerr = json_array_size(st.errors);
	if (nerr && !st.partial) {
		/* All or nothing: nothing of this file is kept. */
		json_object_set_new(out, "inserted", json_integer(0));
		json_object_del(out, "also_created");
		json_object_set_new(out, "updated", json_integer(0));
		json_object_set_new(out, "error", json_pack("{s:s, s:s, s:s}", "code", "validation_failed",
			"message", "文件中有错误,未导入任何数据;请改正后重新导入", "message_en",
			"the file has errors and nothing was imported; fix them and import again"));
		r->rollback = true;
		req_reply(r, 422, out);
	} else {
		r->rollback = st.dry_run;
		if (!st.dry_run && audit_import(r, res)) {
			json_decref(out);
		} else {
			req_reply(r, 200, out);
			/* A big import changes the table's shape: refresh the planner's statistics. */
			if (!st.dry_run && st.inserted + st.updated >= 10000)
				refresh_statistics(r, res);
		}
	}
done:
	import_release(r, &im);
	r->import = NULL;
	deferred_release(&deferred);
	json_decref(st.errors);
	json_decref(st.rows);
	sheet_close(reader);  /* stops the reading thread, which uses h and ahead */
	sheet_header_release(&h);
	wg_free(specs);
	wg_free(names);
	return r->fail.code;
}
