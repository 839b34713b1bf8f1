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

static bool parse_bool(const char *s, bool *out)
{
	static const char *const yes[] = { "是", "true", "1", "yes", "y", NULL }, *const no[] = { "否", "false", "0", "no", "n", NULL };
	for (const char *const *y = yes; *y; y++)
		if (strcasecmp(s, *y) == 0)
			return *out = true, true;
	for (const char *const *n = no; *n; n++)
		if (strcasecmp(s, *n) == 0)
			return *out = false, true;
	return false;
}

static json_t *cell_value(wg_req *r, const struct wg_field *f, const struct sheet_cell *c)
{
	int64_t x;
	bool b;
	if (f->type == FT_INT || f->type == FT_REF) {
		if (wg_parse_i64(c->text, c->len, &x))
			return json_integer(x);
		if (c->from_number && c->number == (double)(int64_t)c->number)
			return json_integer((int64_t)c->number);
		req_failf(r, WG_ERR_VALIDATION, f->name, "%s列应为整数,而不是“%s”", "column %s must be an integer, not '%s'",
			  f->zh, c->text, f->name, c->text);
		return NULL;
	}
	if (f->type == FT_BOOL) {
		if (parse_bool(c->text, &b))
			return json_boolean(b);
		req_failf(r, WG_ERR_VALIDATION, f->name, "%s列应为“是”或“否”", "column %s must be yes or no", f->zh, f->name);
		return NULL;
	}
	if ((f->type == FT_DATE || f->type == FT_TIME) && c->from_number) {
		/* Excel stores a date-time as days since 1899-12-30, local time, the time of day as the fraction. */
		double serial = c->number;
		int64_t days = (int64_t)serial - 25569;
		if (f->type == FT_TIME) {
			int64_t local = days * 86400 + (int64_t)((serial - (double)(int64_t)serial) * 86400.0 + 0.5);
			return json_integer(local - wg_time_offset(local - wg_time_offset(local)));
		}
		int y, m, d;
		char text[64];
		wg_civil_from_days(days, &y, &m, &d);
		snprintf(text, sizeof text, "%04d-%02d-%02d", y, m, d);
		return json_string(text);
	}
	if (f->type == FT_TAGS) {
		/* People separate words with 、 , ， ; ； or spaces. */
		json_t *a = json_array();
		const char *p = c->text, *end = c->text + c->len;
		while (a && p < end) {
			static const char *const seps[] = { "、", "，", "；", ",", ";", " ", "\t", NULL };
			size_t word = 0, sep = 0;
			while (p + word < end && !sep) {
				for (const char *const *s = seps; *s && !sep; s++)
					if (strncmp(p + word, *s, strlen(*s)) == 0)
						sep = strlen(*s);
				if (!sep)
					word++;
			}
			if (word)
				json_array_append_new(a, json_stringn(p, word));
			p += word + sep;
		}
		return a;
	}
	if (f->type == FT_ENUM && f->labels) {
		for (size_t i = 0; f->values[i]; i++)
			if (strcmp(f->labels[i], c->text) == 0)
				return json_string(f->values[i]);
	}
	return json_stringn(c->text, c->len);
}

/* Column specs: every settable field (by name or zh label), then the extras. */
/* An import column of the resource's with this key, NULL if none. */
static const struct sheet_column_spec *extra_named(const struct wg_resource *res, const char *key)
{
	for (size_t i = 0; i < res->nimport_extra; i++)
		if (strcmp(res->import_extra[i].key, key) == 0)
			return &res->import_extra[i];
	return NULL;
}

/* Column specs: every settable field (by name or zh label, and the other
 * names an import column of the same key accepts), then the other import
 * columns, then what an export of the resource adds (编号, 路径), which a
 * re-import uses to find the records it came from. */
static int import_specs(const struct wg_resource *res, struct sheet_column_spec **specs, const char ***names, size_t *n)
{
	static const char *const id_names[] = { "编号", NULL }, *const path_names[] = { "路径", NULL };
	size_t k = 0, used = 0, room = 3 * (res->nfields + 1);
	for (size_t i = 0; i < res->nimport_extra; i++)
		for (const char *const *nm = res->import_extra[i].names; nm && *nm; nm++)
			room++;
	*specs = wg_calloc(res->nfields + res->nimport_extra + 3, sizeof **specs);
	*names = wg_calloc(room, sizeof **names);
	if (!*specs || !*names)
		return WG_ERR_NOMEM;
	for (size_t i = 0; i < res->nfields; i++) {
		const struct wg_field *f = &res->fields[i];
		if (f->flags & FF_READONLY)
			continue;
		const char **nm = &(*names)[used];
		nm[0] = f->zh;
		nm[1] = f->name;
		used += 2;
		const struct sheet_column_spec *x = extra_named(res, f->name);
		for (const char *const *e = x ? x->names : NULL; e && *e; e++)
			(*names)[used++] = *e;
		(*names)[used++] = NULL;
		/* A field another column can supply (parent_id from parent_code) is not required here. */
		(*specs)[k++] = (struct sheet_column_spec){ f->name, nm, (f->flags & FF_REQUIRED) && !(f->flags & FF_IMPORT_OPTIONAL) };
	}
	for (size_t i = 0; i < res->nimport_extra; i++) {
		const struct wg_field *f = resource_field(res, res->import_extra[i].key);
		if (!f || (f->flags & FF_READONLY))
			(*specs)[k++] = res->import_extra[i];
	}
	(*specs)[k++] = (struct sheet_column_spec){ "_id", id_names, false };
	(*specs)[k++] = (struct sheet_column_spec){ "_path", path_names, false };
	*n = k;
	return 0;
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

static json_t *row_object(wg_req *r, const struct wg_resource *res, const struct sheet_row *row,
			  const struct sheet_header *h, const struct sheet_column_spec *specs, size_t nspecs)
{
	json_t *o = json_object();
	for (size_t k = 0; o && k < nspecs; k++) {
		const struct sheet_cell *c = sheet_row_cell(row, h, k);
		int64_t id;
		if (c && strcmp(specs[k].key, "_id") == 0 && wg_parse_i64(c->text, c->len, &id) && id > 0) {
			json_object_set_new(o, "_id", json_integer(id));  /* an export's 编号: used when the file is one */
			continue;
		}
		if (specs[k].key[0] == '_')  /* recognised, deliberately unused (序号) */
			continue;
		if (!c || c->len == 0)
			continue;
		const struct wg_field *f = resource_field(res, specs[k].key);
		json_t *v = f ? cell_value(r, f, c) : json_stringn(c->text, c->len);
		if (!v) {
			json_decref(o);
			return NULL;
		}
		json_object_set_new(o, specs[k].key, v);
	}
	return o;
}

/* The reading thread's share of a row (sheet_read_ahead): its object, the
 * checks that need no database, the secrets' encryption. What needs the
 * database, and the order in which a row's errors are found, stay with the
 * import. */
struct ahead_ctx {
	wg_req scratch;           /* takes the reading thread's failures */
	const struct wg_resource *res;
	const struct sheet_header *h;
	const struct sheet_column_spec *specs;
	size_t nspecs;
};

static void *prepare_row(void *ctx, const struct sheet_row *row)
{
	struct ahead_ctx *c = ctx;
	struct wg_row_ahead *a = wg_calloc(1, sizeof *a);
	if (!a)
		return NULL;  /* the import prepares the row itself */
	memset(&c->scratch.fail, 0, sizeof c->scratch.fail);
	a->row = row_object(&c->scratch, c->res, row, c->h, c->specs, c->nspecs);
	if (!a->row && c->scratch.fail.code == WG_ERR_NOMEM) {
		wg_free(a);
		return NULL;
	}
	if (a->row)
		resource_prepare_row(&c->scratch, c->res, a);
	else
		a->fail = c->scratch.fail;
	return a;
}

static void release_row(void *prepared) { resource_row_ahead_free(prepared); }

/* The row's object: as prepared ahead, or made here. */
static json_t *take_row(wg_req *r, const struct wg_resource *res, const struct sheet_row *row,
			const struct sheet_header *h, const struct sheet_column_spec *specs, size_t nspecs)
{
	const struct wg_row_ahead *a = row->prepared;
	if (!a)
		return row_object(r, res, row, h, specs, nspecs);
	if (!a->row)
		r->fail = a->fail;
	return json_incref(a->row);
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

int resource_handle_import(wg_req *r)
{
	const struct wg_resource *res = r->route->data;
	struct sheet_reader *reader = NULL;
	struct sheet_column_spec *specs = NULL;
	const char **names = NULL;
	struct sheet_header h = { 0 };
	struct sheet_error e = { 0 };
	struct sheet_row row;
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
	struct ahead_ctx ahead;
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
	ahead = (struct ahead_ctx){ .scratch.app = r->app, .res = res, .h = &h, .specs = specs, .nspecs = nspecs };
	sheet_read_ahead(reader, &(struct sheet_prepare){ prepare_row, release_row, &ahead });
	uint32_t rows = 0;
	while ((rc = sheet_next_row(reader, &row)) == 0 && !row.end) {
		if (++rows > WG_MAX_IMPORT_ROWS) {
			add_error(&st, row.number, "", "行数超过上限", "too many rows");
			break;
		}
		/* With ?partial=1 a failed row must leave nothing behind: a savepoint each. */
		if (st.partial && store_run(r->db, "SAVEPOINT import_row", NULL, 0)) {
			req_fail(r, WG_ERR_DB, NULL, NULL, NULL);
			break;
		}
		st.row = row.number;
		im.row_marked = false;
		int64_t extra_before = im.extra_created;  /* a failed row's households roll back with it */
		/* What a row allocates in the arena dies with the row: files are long. */
		wg_arena request_arena = r->arena;
		arena_init(&r->arena, 1u << 20);
		json_t *o = take_row(r, res, &row, &h, specs, nspecs);
		im.ahead = row.prepared;
		bool failed = !o || import_one(r, res, o, &st);
		im.ahead = NULL;
		arena_release(&r->arena);
		r->arena = request_arena;
		bool out_of_memory = r->fail.code == WG_ERR_NOMEM;
		if (failed) {
			row_failed(r, &st, row.number);
			import_memo_forget(r);
			im.extra_created = extra_before;
		}
		json_decref(o);
		if (r->progress && rows % 1000 == 0)
			r->progress(r, rows);
		if (st.partial && store_run(r->db, failed ? "ROLLBACK TO SAVEPOINT import_row" : "RELEASE SAVEPOINT import_row", NULL, 0)) {
			req_fail(r, WG_ERR_DB, NULL, NULL, NULL);
			break;
		}
		if (out_of_memory) {
			req_fail(r, WG_ERR_NOMEM, NULL, NULL, NULL);
			break;
		}
	}
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
