/* One row of an import (resource_import.c runs the import, and
 * resource_import_chunks.c its rows): what the row is about (an export's
 * 编号, the import key, the resource's own rule), its checks, hooks and
 * write, and what became of it, reported row by row. */
#include "core/resource/resource_int.h"
#include "core/audit/audit.h"
#include "core/auth/scope.h"
#include "core/lib/err.h"
#include "core/lib/limits.h"
#include "core/lib/parse.h"

#include <stdio.h>
#include <string.h>

/* What became of a row: inserted, updated (with the changes), unchanged or refused. */
static void row_report(struct import_state *st, const char *status, int64_t id, json_t *changes)
{
	if (json_array_size(st->rows) < WG_MAX_IMPORT_REPORT)
		json_array_append_new(st->rows, json_pack("{s:i, s:s, s:o, s:o}", "row", (int)st->row, "status", status,
							  "id", id ? json_integer(id) : json_null(),
							  "changes", changes ? json_incref(changes) : json_null()));
}

void import_add_error(struct import_state *st, uint32_t row, const char *field, const char *zh, const char *en)
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
	import_add_error(st, row, r->fail.field, zh, en);
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
	/* A row as its block made it, every given value checked ahead, has nothing for the first. */
	const struct wg_row_ahead *ahead = import_ahead(r);
	if ((!(ahead && ahead->given_checked) && resource_validate_given(r, res, row)) || resource_unique_first(r, res, row) ||
	    (res->hooks.import_row && res->hooks.import_row(r, res, row)) ||
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

/* Whether a row failed for what it says (the database answered as it should). */
static bool row_input_error(int code)
{
	return code == WG_ERR_VALIDATION || code == WG_ERR_UNKNOWN_FIELD || code == WG_ERR_REQUIRED || code == WG_ERR_NOT_FOUND ||
	       code == WG_ERR_FORBIDDEN || code == WG_ERR_CONFLICT || code == WG_ERR_PRECONDITION || code == WG_ERR_TOO_LARGE;
}

/* Imports a row (o; NULL when a cell could not be read, r->fail says why)
 * as every row is imported; true when it failed, its error recorded. */
bool import_row(wg_req *r, const struct wg_resource *res, struct import_state *st, json_t *o, uint32_t number,
		       const struct wg_row_ahead *ahead, bool *out_of_memory)
{
	struct wg_import *im = r->import;
	st->row = number;
	im->row_marked = false;
	im->stage = 0;
	import_unique_row_begins(im);
	int64_t extra_before = im->extra_created;  /* a failed row's households roll back with it */
	int64_t writes_before = store_writes(r->db);
	/* What a row allocates in the arena dies with the row: files are long. */
	wg_arena request_arena = r->arena;
	r->arena = im->row_arena;
	im->ahead = ahead;
	im->ahead_next = 0;
	bool failed = !o || import_one(r, res, o, st);
	im->ahead = NULL;
	arena_clear(&r->arena);
	im->row_arena = r->arena;
	r->arena = request_arena;
	*out_of_memory = r->fail.code == WG_ERR_NOMEM;
	/* Whether the row wrote anything (unknown: as if it did). */
	im->row_wrote = writes_before < 0 || store_writes(r->db) != writes_before;
	if (failed) {
		bool input = row_input_error(r->fail.code);
		row_failed(r, st, number);
		/* Undone writes (?partial=1) take what the memo learnt with them; a row
		 * refused for what it says otherwise leaves them, and the memo stays
		 * true: a file of repeated rows is not read again for each of them.
		 * Nor is a row refused before it wrote anything undone. */
		if ((st->partial && im->row_wrote) || !input)
			import_memo_forget(r);
		im->extra_created = extra_before;
	}
	return failed;
}

/* A row on its own; with ?partial=1 under a savepoint of its own, so a
 * failed row leaves nothing behind. 0, or the failure that ends the import. */
int import_row_alone(wg_req *r, const struct wg_resource *res, struct import_state *st, json_t *o,
			    uint32_t number, const struct wg_row_ahead *ahead)
{
	bool out_of_memory;
	if (st->partial && store_run(r->db, "SAVEPOINT import_row", NULL, 0))
		return req_fail(r, WG_ERR_DB, NULL, NULL, NULL);
	bool failed = import_row(r, res, st, o, number, ahead, &out_of_memory);
	/* A row refused before it wrote anything (a repeated ID number, a grid
	 * outside the caller's scope) has nothing to undo: a file of people
	 * already registered, imported again to add the new ones, is not a
	 * rollback per row. */
	bool undo = failed && r->import->row_wrote;
	if (st->partial && store_run(r->db, undo ? "ROLLBACK TO SAVEPOINT import_row" : "RELEASE SAVEPOINT import_row", NULL, 0))
		return req_fail(r, WG_ERR_DB, NULL, NULL, NULL);
	if (st->partial && undo)
		import_unique_row_undone(r->import);  /* its value went with it */
	return out_of_memory ? req_fail(r, WG_ERR_NOMEM, NULL, NULL, NULL) : 0;
}

