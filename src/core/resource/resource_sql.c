/* A resource's SQL: the WHERE of a list (scope, filters, search), the
 * INSERT and UPDATE of a record (secrets sealed, tags joined), and the
 * unique checks that name the record a value already belongs to. */
#include "core/resource/resource_int.h"
#include "core/auth/scope.h"
#include "core/lib/err.h"
#include "core/lib/limits.h"
#include "core/lib/mem.h"
#include "core/lib/parse.h"

#include <microhttpd.h>
#include <stdio.h>
#include <string.h>

/* The column(s) and parameter(s) that store one field's value: a secret
 * becomes its ciphertext and blind index, tags their delimited text. */
struct bound { const char *column[2]; wg_param param[2]; int n; char enc[72], bidx[72]; };

/* "<name>_enc" and "<name>_bidx", the columns of a secret. */
static int secret_columns(wg_req *r, const struct wg_field *f, struct bound *b)
{
	size_t n = strlen(f->name);
	if (n + sizeof "_bidx" > sizeof b->enc)
		return req_fail(r, WG_ERR_INTERNAL, NULL, NULL, NULL);
	memcpy(b->enc, f->name, n);
	memcpy(b->enc + n, "_enc", sizeof "_enc");
	memcpy(b->bidx, f->name, n);
	memcpy(b->bidx + n, "_bidx", sizeof "_bidx");
	b->column[0] = b->enc;
	b->column[1] = b->bidx;
	b->n = 2;
	return 0;
}

/* Where f's value v is among the secrets the reading thread sealed, -1 if not there. */
static int sealed_ahead(const wg_req *r, const struct wg_field *f, const json_t *v)
{
	const struct wg_row_ahead *a = import_ahead(r);
	for (size_t i = 0; a && i < a->nsealed; i++)
		if (a->sealed[i].field == f && a->sealed[i].value == v)
			return (int)i;
	return -1;
}

static int bind_field(wg_req *r, const struct wg_field *f, json_t *v, struct bound *b)
{
	b->n = 1;
	b->column[0] = f->name;
	if (json_is_null(v)) {
		b->param[0] = WG_PNULL;
		b->param[1] = WG_PNULL;
		return f->flags & FF_SECRET ? secret_columns(r, f, b) : 0;
	}
	if (f->type == FT_INT || f->type == FT_REF || f->type == FT_TIME) {
		b->param[0] = WG_PINT(json_integer_value(v));
		return 0;
	}
	if (f->type == FT_BOOL) {
		b->param[0] = WG_PINT(json_is_true(v) ? 1 : 0);
		return 0;
	}
	if (f->type == FT_TAGS) {
		wg_buf t = WG_BUF_INIT(WG_MAX_TAGS * (WG_MAX_TAG_BYTES + 1) + 2);
		size_t i;
		json_t *e;
		wg_buf_putc(&t, ',');
		json_array_foreach(v, i, e) {
			wg_buf_append(&t, json_string_value(e), json_string_length(e));
			wg_buf_putc(&t, ',');
		}
		char *text = t.err ? NULL : arena_strndup(&r->arena, t.data, t.len);
		wg_buf_release(&t);
		if (!text)
			return req_fail(r, WG_ERR_NOMEM, NULL, NULL, NULL);
		b->param[0] = WG_PTEXT(strcmp(text, ",") == 0 ? "" : text);
		return 0;
	}
	const char *s = json_string_value(v);
	size_t n = json_string_length(v);
	if (!(f->flags & FF_SECRET)) {
		b->param[0] = WG_PTEXTN(s, n);
		return 0;
	}
	if (secret_columns(r, f, b))
		return r->fail.code;
	int sealed = sealed_ahead(r, f, v);
	if (sealed >= 0) {
		const struct wg_row_ahead *a = import_ahead(r);
		b->param[0] = WG_PTEXTN(a->sealed[sealed].enc, a->sealed[sealed].enc_len);
		b->param[1] = WG_PTEXTN(a->sealed[sealed].bidx, WG_BLIND_HEX - 1);
		return 0;
	}
	wg_buf enc = WG_BUF_INIT(2048);
	char bidx[WG_BLIND_HEX];
	int rc = crypt_encrypt(&r->app->keys, f->name, s, n, &enc);
	crypt_blind_index(&r->app->keys, f->name, s, n, bidx);
	char *ct = rc ? NULL : arena_strndup(&r->arena, enc.data, enc.len);
	char *bi = arena_strndup(&r->arena, bidx, strlen(bidx));
	wg_buf_release(&enc);
	if (!ct || !bi)
		return req_fail(r, rc ? rc : WG_ERR_NOMEM, NULL, NULL, NULL);
	b->param[0] = WG_PTEXT(ct);
	b->param[1] = WG_PTEXT(bi);
	return 0;
}

/* The failure for f's value, which record other (hanging at path) holds already. */
static int unique_taken(wg_req *r, const struct wg_resource *res, const struct wg_field *f, int64_t other, const char *path)
{
	uint32_t row = import_row_of(r, other);
	bool visible = scope_contains(r->user->scope_path, path);
	if (row)
		return req_failf(r, WG_ERR_CONFLICT, f->name, "%s(%s)与本文件第%u行重复:同一人登记了两次",
				 "%s repeats row %u of this file: the same person twice",
				 f->zh, f->name, row, f->name, row);
	if (visible && import_in_progress(r))
		return req_failf(r, WG_ERR_CONFLICT, f->name, "%s(%s)已登记在%s %lld 中,不能重复登记;如是更新名单,请用更新模式重新导入(update=1)",
				 "%s is already registered as %s %lld; to update a roster, import it again with update=1",
				 f->zh, f->name, res->zh, (long long)other, f->name, res->en, (long long)other);
	if (visible)
		return req_failf(r, WG_ERR_CONFLICT, f->name, "%s(%s)已登记在%s %lld 中,不能重复登记;如是同一人请合并",
				 "%s is already registered as %s %lld; merge if it is the same person",
				 f->zh, f->name, res->zh, (long long)other, f->name, res->en, (long long)other);
	return req_failf(r, WG_ERR_CONFLICT, f->name, "%s(%s)已在您管辖范围以外登记,请联系上级核实",
			 "%s is already registered outside your scope; ask the level above to check",
			 f->zh, f->name, f->name);
}

/* Fails when record other (not 0), holder of f's value, is another than self. */
static int unique_other(wg_req *r, const struct wg_resource *res, const struct wg_field *f, int64_t other, int64_t self)
{
	if (!other || other == self)
		return 0;
	char sql[256], path[WG_MAX_GRID_PATH] = "";
	snprintf(sql, sizeof sql, "SELECT %s FROM %s WHERE id = ?", res->path_column, res->table);
	wg_stmt *s;
	wg_param p[] = { WG_PINT(other) };
	int rc = store_query(r->db, sql, p, 1, &s);
	if (rc)
		return req_fail(r, rc, NULL, NULL, NULL);
	if ((rc = stmt_next(s)) == 1)
		wg_copy_text(path, sizeof path, stmt_text(s, 0));
	stmt_done(s);
	return rc < 0 ? req_fail(r, -rc, NULL, NULL, NULL) : unique_taken(r, res, f, other, path);
}

int resource_unique_first(wg_req *r, const struct wg_resource *res, json_t *row)
{
	const struct wg_field *f = import_unique_field(r, res);
	json_t *v = f ? json_object_get(row, f->name) : NULL;
	if (!json_is_string(v))
		return 0;
	/* resource_validate_given has checked the value and made it canonical */
	const char *stored = json_string_value(v);
	size_t len = json_string_length(v);
	char bidx[WG_BLIND_HEX];
	int sealed = sealed_ahead(r, f, v);
	if (sealed >= 0) {
		stored = import_ahead(r)->sealed[sealed].bidx;
		len = WG_BLIND_HEX - 1;
	} else if (f->flags & FF_SECRET) {
		crypt_blind_index(&r->app->keys, f->name, stored, len, bidx);
		stored = bidx;
		len = WG_BLIND_HEX - 1;
	}
	int64_t other = 0;
	int rc = import_unique_holder(r, stored, len, &other);
	return rc ? req_fail(r, rc, NULL, NULL, NULL) : unique_other(r, res, f, other, 0);
}

/* FF_UNIQUE: the value may not belong to another record (409, naming it when visible). */
static int check_unique(wg_req *r, const struct wg_resource *res, json_t *body, int64_t self)
{
	const char *key;
	json_t *v;
	json_object_foreach(body, key, v) {
		const struct wg_field *f = resource_field(res, key);
		if (!f || !(f->flags & FF_UNIQUE) || !json_is_string(v))
			continue;
		char sql[512], bidx[WG_BLIND_HEX];
		const char *value = json_string_value(v);
		if (f->flags & FF_SECRET) {
			crypt_blind_index(&r->app->keys, f->name, value, strlen(value), bidx);
			value = bidx;
			snprintf(sql, sizeof sql, "SELECT id, %s FROM %s WHERE %s_bidx = ? AND id <> ?", res->path_column, res->table, f->name);
		} else {
			snprintf(sql, sizeof sql, "SELECT id, %s FROM %s WHERE %s = ? AND id <> ?", res->path_column, res->table, f->name);
		}
		wg_stmt *s;
		wg_param p[] = { WG_PTEXT(value), WG_PINT(self) };
		int rc = store_query(r->db, sql, p, 2, &s);
		if (rc)
			return req_fail(r, rc, NULL, NULL, NULL);
		rc = stmt_next(s);
		int64_t other = rc == 1 ? stmt_int(s, 0) : 0;
		char path[WG_MAX_GRID_PATH] = "";
		if (other)
			wg_copy_text(path, sizeof path, stmt_text(s, 1));
		stmt_done(s);
		if (rc < 0)
			return req_fail(r, -rc, NULL, NULL, NULL);
		if (other)
			return unique_taken(r, res, f, other, path);
	}
	return 0;
}

static bool query_key_known(const struct wg_resource *res, const char *key)
{
	static const char *const common[] = { "limit", "cursor", "grid", "q", "format", "dry_run", "partial", "async", "reveal", NULL };
	for (const char *const *k = common; *k; k++)
		if (strcmp(*k, key) == 0)
			return true;
	const struct wg_field *f = resource_field(res, key);
	return f && (f->flags & FF_FILTER);
}

struct key_check { const struct wg_resource *res; const char *bad; };

static enum MHD_Result check_key(void *cls, enum MHD_ValueKind kind, const char *key, const char *value)
{
	struct key_check *kc = cls;
	(void)kind;
	(void)value;
	if (!query_key_known(kc->res, key)) {
		kc->bad = key;
		return MHD_NO;
	}
	return MHD_YES;
}

static int add_filter(wg_req *r, struct resource_query *q, const struct wg_field *f, const char *value)
{
	int64_t x;
	if (f->type == FT_TAGS) {
		char *like = arena_printf(&r->arena, "%%,%s,%%", value);
		if (!like || strchr(value, ','))
			return req_failf(r, WG_ERR_BAD_QUERY, f->name, "查询参数 %s 无效", "query parameter %s is invalid", f->name, f->name);
		wg_buf_printf(&q->where, " AND %s LIKE ?", f->name);
		q->params[q->n++] = WG_PTEXT(like);
		return 0;
	}
	if (f->flags & FF_SECRET) {
		/* Exact lookup through the blind index, on the canonical form. */
		char canon[512], bidx[WG_BLIND_HEX];
		const char *zh = NULL, *en = NULL;
		if (f->canon && f->canon(value, strlen(value), canon, sizeof canon, &zh, &en) != 0)
			return req_failf(r, WG_ERR_BAD_QUERY, f->name, "查询参数 %s:%s", "query parameter %s: %s",
					 f->name, zh ? zh : "格式无效", f->name, en ? en : "invalid");
		const char *plain = f->canon ? canon : value;
		crypt_blind_index(&r->app->keys, f->name, plain, strlen(plain), bidx);
		char *kept = arena_strndup(&r->arena, bidx, strlen(bidx));
		if (!kept)
			return req_fail(r, WG_ERR_NOMEM, NULL, NULL, NULL);
		wg_buf_printf(&q->where, " AND %s_bidx = ?", f->name);
		q->params[q->n++] = WG_PTEXT(kept);
		return 0;
	}
	wg_buf_printf(&q->where, " AND %s = ?", f->name);
	if (f->type == FT_INT || f->type == FT_REF || f->type == FT_BOOL || f->type == FT_TIME) {
		if (f->type == FT_BOOL && (strcmp(value, "true") == 0 || strcmp(value, "false") == 0))
			x = value[0] == 't';
		else if (!wg_parse_i64(value, strlen(value), &x))
			return req_failf(r, WG_ERR_BAD_QUERY, f->name, "查询参数 %s 应为整数", "query parameter %s must be an integer",
					 f->name, f->name);
		q->params[q->n++] = WG_PINT(x);
	} else {
		q->params[q->n++] = WG_PTEXT(value);
	}
	return 0;
}

static void escape_like(const char *in, char *out, size_t size)
{
	size_t o = 0;
	for (; *in && o + 3 < size; in++) {
		if (*in == '%' || *in == '_' || *in == '!')
			out[o++] = '!';
		out[o++] = *in;
	}
	out[o++] = '%';
	out[o] = '\0';
}

int resource_build_where(wg_req *r, const struct wg_resource *res, struct resource_query *q)
{
	struct key_check kc = { res, NULL };
	if (r->mhd)
		MHD_get_connection_values(r->mhd, MHD_GET_ARGUMENT_KIND, check_key, &kc);
	if (kc.bad)
		return req_failf(r, WG_ERR_BAD_QUERY, kc.bad, "未知查询参数 %s", "unknown query parameter %s", kc.bad, kc.bad);
	char path[WG_MAX_GRID_PATH];
	snprintf(path, sizeof path, "%s", r->user->scope_path);
	int64_t grid;
	if (req_query_int(r, "grid", 1, INT64_MAX, 0, &grid))
		return r->fail.code;
	if (grid && resource_node_path(r, grid, "grid", path, sizeof path))
		return r->fail.code;
	scope_range(path, q->lo, q->hi, sizeof q->lo);
	wg_buf_printf(&q->where, "%s >= ? AND %s < ?", res->path_column, res->path_column);
	q->params[q->n++] = WG_PTEXT(q->lo);
	q->params[q->n++] = WG_PTEXT(q->hi);
	for (size_t i = 0; i < res->nfields && q->n < WG_RESOURCE_MAX_FILTERS; i++) {
		const struct wg_field *f = &res->fields[i];
		const char *v = (f->flags & FF_FILTER) ? req_query(r, f->name) : NULL;
		if (v && add_filter(r, q, f, v))
			return r->fail.code;
	}
	const char *text = req_query(r, "q");
	if (text && *text) {
		if (strlen(text) > WG_MAX_STRING_FIELD)
			return req_fail(r, WG_ERR_BAD_QUERY, "q", "查询内容过长", "q is too long");
		escape_like(text, q->like, sizeof q->like);
		const char *sep = " AND (";
		for (size_t i = 0; i < res->nfields; i++) {
			if (!(res->fields[i].flags & FF_SEARCH))
				continue;
			wg_buf_printf(&q->where, "%s%s LIKE ? ESCAPE '!'", sep, res->fields[i].name);
			q->params[q->n++] = WG_PTEXT(q->like);
			sep = " OR ";
		}
		if (strcmp(sep, " OR ") == 0)
			wg_buf_putc(&q->where, ')');
	}
	return q->where.err ? req_fail(r, q->where.err, NULL, NULL, NULL) : 0;
}

/* The columns for these fields in this order (a secret takes two), and the
 * INSERT of them. On PostgreSQL a unique violation would abort the whole
 * transaction, so the INSERT does nothing instead and the missing id says it. */
static int build_insert(const wg_conn *c, const struct wg_resource *res, const struct wg_field *const *fields, size_t n,
			wg_buf *columns, wg_buf *sql)
{
	wg_buf vals = WG_BUF_INIT(WG_MAX_SQL);
	wg_buf_printf(columns, "version, created_at, updated_at, %s", res->path_column);
	wg_buf_puts(&vals, "1, ?, ?, ?");
	for (size_t i = 0; i < n; i++) {
		bool secret = fields[i]->flags & FF_SECRET;
		wg_buf_printf(columns, secret ? ", %s_enc, %s_bidx" : ", %s", fields[i]->name, fields[i]->name);
		wg_buf_puts(&vals, secret ? ", ?, ?" : ", ?");
	}
	wg_buf_printf(sql, "INSERT INTO %s (%s) VALUES (%s)%s", res->table, columns->data ? columns->data : "",
		      vals.data ? vals.data : "", conn_dialect(c) == WG_SQLITE ? "" : " ON CONFLICT DO NOTHING");
	int rc = sql->err ? sql->err : columns->err ? columns->err : vals.err;
	wg_buf_release(&vals);
	return rc;
}

/* An import keeps the INSERTs it built: a row with the same fields in
 * the same order as an earlier one takes its text as it is. */
static int insert_sql(wg_req *r, const struct wg_resource *res, const struct wg_field *const *fields, size_t n,
		      wg_buf *columns, wg_buf *sql, const char **columns_text, const char **sql_text)
{
	struct wg_import *im = r->import;
	for (size_t i = 0; im && i < WG_INSERT_SHAPES; i++)
		if (im->insert[i].sql && im->insert[i].res == res && im->insert[i].n == n &&
		    memcmp(im->insert[i].field, fields, n * sizeof *fields) == 0) {
			*columns_text = im->insert[i].columns;
			*sql_text = im->insert[i].sql;
			return 0;
		}
	int rc = build_insert(r->db, res, fields, n, columns, sql);
	if (rc)
		return rc;
	*columns_text = columns->data;
	*sql_text = sql->data;
	char *copy = im ? wg_strdup(sql->data) : NULL, *cols = copy ? wg_strdup(columns->data) : NULL;
	if (cols) {
		size_t slot = im->insert_next++ % WG_INSERT_SHAPES;
		wg_free(im->insert[slot].sql);
		wg_free(im->insert[slot].columns);
		im->insert[slot].sql = copy;
		im->insert[slot].columns = cols;
		im->insert[slot].res = res;
		im->insert[slot].n = n;
		memcpy(im->insert[slot].field, fields, n * sizeof *fields);
	} else {
		wg_free(copy);  /* only slower: built again next time */
	}
	return 0;
}

int resource_insert(wg_req *r, const struct wg_resource *res, json_t *body, const char *path, int64_t *id)
{
	wg_buf built = WG_BUF_INIT(WG_MAX_SQL), columns = WG_BUF_INIT(WG_MAX_SQL);
	const struct wg_field *fields[WG_INSERT_FIELDS];
	/* p[0] is the version, which the INSERT writes as a literal and a COPY as a value. */
	wg_param p[4 + 2 * WG_INSERT_FIELDS];
	size_t n = 0, nfields = 0;
	const char *key, *sql, *cols;
	json_t *v;
	/* The unique indexes speak first; the query that names the other
	 * record runs only on a conflict (a round trip less per row). */
	/* A unique index the import dropped: its values are in memory. */
	const struct wg_field *unique = import_unique_field(r, res);
	const wg_param *stored = NULL;
	p[n++] = WG_PINT(1);
	p[n++] = WG_PINT(r->now);
	p[n++] = WG_PINT(r->now);
	p[n++] = WG_PTEXT(path);
	json_object_foreach(body, key, v) {
		struct bound b;
		const struct wg_field *f = resource_field(res, key);
		if (nfields == WG_INSERT_FIELDS)
			return req_fail(r, WG_ERR_INTERNAL, NULL, NULL, NULL);
		if (bind_field(r, f, v, &b))
			return r->fail.code;
		if (f == unique && b.param[b.n - 1].type == WG_P_TEXT)
			stored = &p[n + b.n - 1];  /* the value, or a secret's blind index */
		fields[nfields++] = f;
		for (int k = 0; k < b.n; k++)
			p[n++] = b.param[k];
	}
	int64_t other = 0;
	int rc = stored ? import_unique_holder(r, stored->s, stored->n, &other) : 0;
	if (rc)
		return req_fail(r, rc, NULL, NULL, NULL);
	if (unique_other(r, res, unique, other, 0))
		return r->fail.code;
	rc = insert_sql(r, res, fields, nfields, &columns, &built, &cols, &sql);
	if (!rc && import_batching(r)) {
		r->import->stage = 1;
		rc = import_batch_insert(r, res->table, cols, p, n, id);  /* a duplicate fails the chunk's COPY */
		r->import->stage = 2;
	}
	else if (!rc)
		rc = store_insert(r->db, sql, p + 1, n - 1, id);
	if (!rc && stored)
		rc = import_unique_stored(r, stored->s, stored->n, *id);
	wg_buf_release(&built);
	wg_buf_release(&columns);
	if (rc == WG_ERR_NOT_FOUND && conn_dialect(r->db) != WG_SQLITE)
		rc = WG_ERR_CONFLICT;  /* ON CONFLICT DO NOTHING returned no id */
	if (rc == WG_ERR_CONFLICT && check_unique(r, res, body, 0))
		return r->fail.code;
	if (rc == WG_ERR_CONFLICT)
		return req_failf(r, WG_ERR_CONFLICT, NULL, "%s 与已有记录冲突", "%s conflicts with an existing record", res->zh, res->en);
	return rc ? req_fail(r, rc, NULL, NULL, NULL) : 0;
}

int resource_update(wg_req *r, const struct wg_resource *res, int64_t id, int64_t version, const char *new_path,
		    json_t *body)
{
	wg_buf sql = WG_BUF_INIT(WG_MAX_SQL);
	wg_param p[64];
	size_t n = 0;
	const char *key;
	json_t *v;
	if (check_unique(r, res, body, id))
		return r->fail.code;
	wg_buf_printf(&sql, "UPDATE %s SET version = version + 1, updated_at = ?", res->table);
	p[n++] = WG_PINT(r->now);
	if (new_path) {
		wg_buf_printf(&sql, ", %s = ?", res->path_column);
		p[n++] = WG_PTEXT(new_path);
	}
	json_object_foreach(body, key, v) {
		struct bound b;
		if (n + 4 >= sizeof p / sizeof p[0])
			break;
		if (bind_field(r, resource_field(res, key), v, &b)) {
			wg_buf_release(&sql);
			return r->fail.code;
		}
		for (int k = 0; k < b.n; k++) {
			wg_buf_printf(&sql, ", %s = ?", b.column[k]);
			p[n++] = b.param[k];
		}
	}
	wg_buf_puts(&sql, " WHERE id = ? AND version = ?");
	p[n++] = WG_PINT(id);
	p[n++] = WG_PINT(version);
	wg_stmt *s;
	int rc = sql.err ? sql.err : store_query(r->db, sql.data, p, n, &s);
	wg_buf_release(&sql);
	if (rc == WG_ERR_CONFLICT)
		return req_failf(r, WG_ERR_CONFLICT, NULL, "%s 与已有记录冲突", "%s conflicts with an existing record", res->zh, res->en);
	if (rc)
		return req_fail(r, rc, NULL, NULL, NULL);
	int64_t changed = stmt_changes(s);
	stmt_done(s);
	if (changed == 0)
		return req_fail(r, WG_ERR_PRECONDITION, "version", NULL, NULL);
	return 0;
}
