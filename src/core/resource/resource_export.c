/* Export of every declared resource: CSV or XLSX, in the words people
 * read (labels, 是/否), masked unless revealed, and audited. */
#include "core/resource/resource_int.h"
#include "core/audit/audit.h"
#include "core/lib/err.h"
#include "core/lib/limits.h"
#include "core/lib/mem.h"
#include "core/lib/timefmt.h"
#include "core/sheet/sheet.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* ---- export ---- */

/* added: the labels of the values added on 字典管理, {field: {value: label}}. */
static const char *enum_label(const struct wg_field *f, const char *value, const json_t *added)
{
	for (size_t i = 0; f->labels && f->values[i]; i++)
		if (strcmp(f->values[i], value) == 0)
			return f->labels[i];
	const char *label = json_string_value(json_object_get(json_object_get(added, f->name), value));
	return label ? label : value;
}

static int read_file(const char *path, char **data, size_t *len)
{
	wg_buf b = WG_BUF_INIT(WG_MAX_RESPONSE);
	char chunk[65536];
	FILE *f = fopen(path, "rb");
	if (!f)
		return WG_ERR_IO;
	size_t n;
	while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
		if (wg_buf_append(&b, chunk, n))
			break;
	fclose(f);
	if (b.err) {
		int rc = b.err;
		wg_buf_release(&b);
		return rc;
	}
	*data = wg_buf_detach(&b, len);
	return *data ? 0 : WG_ERR_NOMEM;
}

/* One exported cell: what a person reads (labels, 是/否, tags joined by 、).
 * Texts made here go into scratch, which lives as long as the row. */
static const char *cell_text(const struct wg_field *f, json_t *v, char *scratch, size_t size, const json_t *added)
{
	if (!v || json_is_null(v))
		return NULL;
	if (f && f->type == FT_TIME && json_is_integer(v) && size >= WG_TIME_HUMAN) {
		wg_time_human(json_integer_value(v), scratch);
		return scratch;
	}
	if (json_is_integer(v)) {
		snprintf(scratch, size, "%lld", (long long)json_integer_value(v));
		return scratch;
	}
	if (json_is_boolean(v))
		return json_is_true(v) ? "是" : "否";
	if (json_is_array(v)) {
		size_t i, used = 0;
		json_t *e;
		scratch[0] = '\0';
		json_array_foreach(v, i, e) {
			int n = snprintf(scratch + used, size - used, "%s%s", i ? "、" : "", json_string_value(e));
			if (n < 0 || (size_t)n >= size - used)
				break;
			used += (size_t)n;
		}
		return scratch;
	}
	const char *text = json_string_value(v);
	return f && f->type == FT_ENUM ? enum_label(f, text, added) : text;
}

static int write_rows(wg_req *r, const struct wg_resource *res, struct resource_query *q, struct sheet_writer *w,
		      int64_t *count)
{
	wg_buf sql = WG_BUF_INIT(WG_MAX_SQL);
	wg_stmt *s;
	const char *cells[64];
	static _Thread_local char scratch[64][1100];
	/* The item's own columns (JSON members included, where resource_row_json
	 * looks for them), then the exported extras, which it never reads. */
	wg_buf_printf(&sql, "SELECT %s", resource_item_columns(res, r->db));
	for (size_t i = 0; i < res->nexport_columns; i++)
		wg_buf_printf(&sql, ", (%s)", conn_dialect(r->db) == WG_POSTGRES ? res->export_columns[i].postgres
										 : res->export_columns[i].sqlite);
	wg_buf_printf(&sql, " FROM %s WHERE %s ORDER BY %s, id", res->table, q->where.data, res->path_column);
	/* Read before the rows: the connection runs one statement at a time. */
	json_t *added = resource_dict_labels(r, res);
	int rc = sql.err ? sql.err : !added ? r->fail.code : store_query(r->db, sql.data, q->params, q->n, &s);
	wg_buf_release(&sql);
	if (rc) {
		json_decref(added);
		return rc;
	}
	while ((rc = stmt_next(s)) == 1) {
		json_t *item = resource_row_json(r, res, s);
		if (!item) {
			rc = -WG_ERR_NOMEM;
			break;
		}
		size_t n = 0;
		cells[n] = cell_text(NULL, json_object_get(item, "id"), scratch[n], sizeof scratch[n], NULL);
		n++;
		for (size_t i = 0; i < res->nfields && n < 63; i++) {
			const struct wg_field *f = &res->fields[i];
			if (strcmp(f->name, res->path_column) == 0)
				continue;
			cells[n] = cell_text(f, json_object_get(item, f->name), scratch[n], sizeof scratch[n], added);
			n++;
		}
		/* The columns a person reads beside the record (the grid's name …), after the stored ones. */
		int col = stmt_columns(s) - (int)res->nexport_columns;
		for (size_t i = 0; i < res->nexport_columns && n < 63; i++, col++)
			cells[n++] = stmt_is_null(s, col) ? NULL : stmt_text(s, col);
		cells[n++] = json_string_value(json_object_get(item, res->path_column));
		rc = sheet_writer_row(w, cells, NULL, n);
		json_decref(item);
		if (rc)
			break;
		(*count)++;
	}
	stmt_done(s);
	json_decref(added);
	return rc < 0 ? -rc : rc;
}

static int export_header(const struct wg_resource *res, struct sheet_writer *w)
{
	const char *names[64];
	size_t n = 0;
	names[n++] = "编号";
	for (size_t i = 0; i < res->nfields && n < 63; i++)
		if (strcmp(res->fields[i].name, res->path_column) != 0)
			names[n++] = res->fields[i].zh;
	for (size_t i = 0; i < res->nexport_columns && n < 63; i++)
		names[n++] = res->export_columns[i].zh;
	names[n++] = "路径";
	return sheet_writer_header(w, names, NULL, n);
}

int resource_export_reply(wg_req *r, const char *name, const char *sheet_name,
			  int (*write)(wg_req *r, struct sheet_writer *w, void *ctx), void *ctx)
{
	struct sheet_writer *w = NULL;
	wg_buf csv = WG_BUF_INIT(WG_MAX_RESPONSE);
	char tmp[] = "/tmp/wangge-export-XXXXXX";
	int fd = -1, rc;
	const char *format = req_query(r, "format");
	if (!format)
		format = "csv";
	if (strcmp(format, "csv") != 0 && strcmp(format, "xlsx") != 0)
		return req_fail(r, WG_ERR_BAD_QUERY, "format", "format 应为 csv 或 xlsx", "format must be csv or xlsx");
	bool xlsx = strcmp(format, "xlsx") == 0;
	if (xlsx) {
		/* libxlsxwriter writes files: a private temporary one, read back and removed. */
		fd = mkstemp(tmp);
		rc = fd < 0 ? WG_ERR_IO : sheet_xlsx_writer_open(tmp, sheet_name, NULL, &w);
	} else {
		rc = sheet_csv_writer_open_buf(&csv, &w);
	}
	if (!rc)
		rc = write(r, w, ctx);
	if (rc) {
		if (w)
			sheet_writer_abort(w);
		if (!r->fail.code)
			req_fail(r, rc, NULL, NULL, NULL);
		goto out;
	}
	rc = sheet_writer_close(w);
	char *data = NULL;
	size_t len = 0;
	if (!rc && xlsx)
		rc = read_file(tmp, &data, &len);
	else if (!rc)
		data = wg_buf_detach(&csv, &len), rc = data ? 0 : WG_ERR_NOMEM;
	if (rc) {
		req_fail(r, rc, NULL, NULL, NULL);
		goto out;
	}
	char *disposition = arena_printf(&r->arena, "attachment; filename=\"%s.%s\"", name, format);
	if (disposition)
		req_add_header(r, "Content-Disposition", disposition);
	req_reply_raw(r, 200, xlsx ? "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
				   : "text/csv; charset=utf-8", data, len);
out:
	if (fd >= 0) {
		close(fd);
		unlink(tmp);
	}
	wg_buf_release(&csv);
	return r->fail.code;
}

struct export_ctx {
	const struct wg_resource *res;
	struct resource_query *q;
};

static int write_export(wg_req *r, struct sheet_writer *w, void *ctx)
{
	struct export_ctx *e = ctx;
	int64_t count = 0;
	int rc = export_header(e->res, w);
	return rc ? rc : write_rows(r, e->res, e->q, w, &count);
}

int resource_handle_export(wg_req *r)
{
	const struct wg_resource *res = r->route->data;
	struct resource_query q = { .where = WG_BUF_INIT(WG_MAX_SQL) };
	struct export_ctx ctx = { res, &q };
	if (!resource_want_reveal(r, res) && !resource_build_where(r, res, &q) &&
	    !resource_export_reply(r, res->name, res->zh, write_export, &ctx))
		audit_read(r, r->reveal ? "export_reveal" : "export", res->name, 0, r->user->scope_path);
	wg_buf_release(&q.where);
	return r->fail.code;
}
