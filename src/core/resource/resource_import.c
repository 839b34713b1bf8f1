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

#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

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

/* The file as received: its (unkeyed) BLAKE2b-256 digest, so the
 * audit trail says exactly which file was imported: anyone holding the file
 * can check it against the record. A big file's is worked out on a thread
 * of its own while the rows are imported (a million rows' file takes the
 * import's thread a tenth of a second). */
#define WG_DIGEST_ASIDE_BYTES (256 << 10)

struct file_digest {
	const char *path;          /* NULL: data and len */
	const unsigned char *data;
	size_t len;
	int rc;
	char hex[65];
	pthread_t thread;
	bool running;
};

static int digest_compute(struct file_digest *d)
{
	unsigned char h[32];
	crypto_generichash_state st;
	crypto_generichash_init(&st, NULL, 0, sizeof h);
	if (d->path) {
		unsigned char chunk[1 << 16];
		size_t n;
		FILE *f = fopen(d->path, "rb");
		if (!f)
			return WG_ERR_IO;
		while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
			crypto_generichash_update(&st, chunk, n);
		int bad = ferror(f);
		fclose(f);
		if (bad)
			return WG_ERR_IO;
	} else {
		crypto_generichash_update(&st, d->data, d->len);
	}
	crypto_generichash_final(&st, h, sizeof h);
	sodium_bin2hex(d->hex, sizeof d->hex, h, sizeof h);
	return 0;
}

static void *digest_run(void *arg)
{
	struct file_digest *d = arg;
	d->rc = digest_compute(d);
	return NULL;
}

/* Begins the request's file's digest, on a thread of its own when the file is big. */
static void digest_begin(const wg_req *r, int64_t bytes, struct file_digest *d)
{
	*d = (struct file_digest){ .path = r->upload_path, .data = (const unsigned char *)r->raw.data, .len = r->raw.len };
	d->running = bytes >= WG_DIGEST_ASIDE_BYTES && pthread_create(&d->thread, NULL, digest_run, d) == 0;
}

/* The digest begun (worked out here if it was not begun aside): 0 or the failure. */
static int digest_end(struct file_digest *d)
{
	if (!d->running)
		return digest_compute(d);
	pthread_join(d->thread, NULL);
	d->running = false;
	return d->rc;
}

/* One audit record for the whole file: who imported which file (its digest
 * is the record's change hash, so whoever holds the file can check it) and
 * the range of ids its new records got. The records are not audited one by
 * one: the file and the range say the same, and a million-row roster must
 * not cost a million chained records. */
static int audit_import(wg_req *r, const struct wg_resource *res, struct file_digest *d)
{
	const struct wg_import *im = r->import;
	char range[24] = "";
	int rc = digest_end(d);
	if (rc)
		return req_fail(r, rc, NULL, NULL, NULL);
	if (im->n)  /* ids are remembered in ascending order */
		snprintf(range, sizeof range, "%lld-%lld", (long long)im->ids[0], (long long)im->ids[im->n - 1]);
	struct audit_event ev = { "import", res->name, range, r->user->scope_path, NULL, d->hex };
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

/* The unique index of one of res's FF_UNIQUE fields (one column, made by
 * CREATE UNIQUE INDEX, no WHERE): its name, and the field; false if none. */
static int unique_index(wg_req *r, const struct wg_resource *res, char name[128], const struct wg_field **field)
{
	*field = NULL;
	for (size_t i = 0; i < res->nfields && !*field; i++) {
		const struct wg_field *f = &res->fields[i];
		if (!(f->flags & FF_UNIQUE))
			continue;
		char column[72];
		snprintf(column, sizeof column, "%s%s", f->name, f->flags & FF_SECRET ? "_bidx" : "");
		wg_stmt *s;
		wg_param p[] = { WG_PTEXT(res->table), WG_PTEXT(column) };
		int rc = store_query(r->db, "SELECT il.name FROM pragma_index_list(?1) il WHERE il.\"unique\" AND il.origin = 'c'"
				     " AND NOT il.partial AND (SELECT COUNT(*) FROM pragma_index_info(il.name)) = 1"
				     " AND (SELECT name FROM pragma_index_info(il.name)) = ?2", p, 2, &s);
		if (rc)
			return rc;
		if ((rc = stmt_next(s)) == 1 && stmt_len(s, 0) < 128) {
			snprintf(name, 128, "%s", stmt_text(s, 0));
			*field = f;
		}
		stmt_done(s);
		if (rc < 0)
			return -rc;
	}
	return 0;
}

/* The indexes to drop: the table's non-unique ones, and (an import that
 * only adds records) the unique index of an FF_UNIQUE field, whose values
 * the import then keeps in memory. */
static int defer_indexes(wg_req *r, const struct wg_resource *res, bool adds_only, struct deferred_indexes *d)
{
	int64_t bytes = upload_bytes(r), rows = 0;
	if (!res->import_defer_indexes || conn_dialect(r->db) != WG_SQLITE || bytes < r->app->config.import_sort_index_bytes ||
	    bytes > WG_MAX_SORT_INDEX_BYTES)
		return 0;
	char sql[160], unique[128] = "";
	snprintf(sql, sizeof sql, "SELECT COUNT(*) FROM %s", res->table);
	int rc = store_int(r->db, sql, NULL, 0, &rows);
	if (rc || rows > bytes / WG_DEFER_INDEX_BYTES_PER_ROW)
		return rc;
	const struct wg_field *unique_field = NULL;
	if (adds_only && (rc = unique_index(r, res, unique, &unique_field)))
		return rc;
	wg_stmt *s;
	wg_param p[] = { WG_PTEXT(res->table), WG_PTEXT(unique) };
	rc = store_query(r->db, "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = ? AND sql IS NOT NULL"
			 " AND (sql NOT LIKE 'CREATE UNIQUE%' OR name = ?) ORDER BY name", p, 2, &s);
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
	if (unique_field && (rc = import_unique_begin(r, res, unique_field, rows + bytes / WG_DEFER_INDEX_BYTES_PER_ROW)))
		return rc;
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
	struct file_digest digest = { 0 };
	struct import_ahead_ctx ahead = { 0 };
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
	if ((rc = defer_indexes(r, res, !st.update, &deferred))) {
		req_fail(r, rc, NULL, NULL, NULL);
		goto done;
	}
	/* Rows are read, checked and encrypted on the second core while the
	 * previous ones are stored. */
	ahead = (struct import_ahead_ctx){ .scratch.app = r->app, .res = res, .h = &h, .specs = specs, .nspecs = nspecs };
	/* Batching, the reading goes on while a chunk is with the database. */
	sheet_read_ahead(reader, &(struct sheet_prepare){ import_prepare_row, import_release_row, &ahead,
		store_batch_supported(r->db) ? 2 * (size_t)r->app->config.import_chunk_rows : 1024, import_warm_row });
	uint32_t rows = 0;
	if (!st.dry_run)
		digest_begin(r, upload_bytes(r), &digest);
	store_time_whole(r->db, true);
	rc = import_rows(r, res, &st, reader, &h, specs, nspecs, &rows);
	if (r->progress)
		r->progress(r, rows);
	if (rc) {
		const struct sheet_error *se = sheet_last_error(reader);
		import_add_error(&st, se->row, se->column, se->message_zh, se->message_en);
	}
	/* Dry runs and rejected files roll back, which brings the indexes back by itself. */
	bool kept = !st.dry_run && (st.partial || json_array_size(st.errors) == 0);
	import_unique_end(&im);  /* its memory, before the sorts take theirs */
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
		if (!st.dry_run && audit_import(r, res, &digest)) {
			json_decref(out);
		} else {
			req_reply(r, 200, out);
			/* A big import changes the table's shape: refresh the planner's statistics. */
			if (!st.dry_run && st.inserted + st.updated >= 10000)
				refresh_statistics(r, res);
		}
	}
done:
	if (digest.running)  /* the import ended before its record */
		digest_end(&digest);
	store_time_whole(r->db, false);
	import_unique_end(&im);
	import_release(r, &im);
	r->import = NULL;
	deferred_release(&deferred);
	json_decref(st.errors);
	json_decref(st.rows);
	sheet_close(reader);  /* stops the reading thread, which uses h and ahead */
	json_decref(ahead.spare);
	sheet_header_release(&h);
	wg_free(specs);
	wg_free(names);
	return r->fail.code;
}
