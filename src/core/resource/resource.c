#include "core/resource/resource.h"
#include "core/audit/audit.h"
#include "core/lib/buf.h"
#include "core/lib/crypt.h"
#include "core/lib/json.h"
#include "core/app/app.h"
#include "core/lib/err.h"
#include "core/lib/limits.h"
#include "core/lib/mem.h"
#include "core/lib/parse.h"
#include "core/auth/scope.h"

#include <microhttpd.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>

#define MAX_RESOURCES 32

static size_t utf8_chars(const char *s)
{
	size_t n = 0;
	for (; *s; s++)
		n += ((unsigned char)*s & 0xC0) != 0x80;
	return n;
}

const struct wg_field *resource_field(const struct wg_resource *res, const char *name)
{
	for (size_t i = 0; i < res->nfields; i++)
		if (strcmp(res->fields[i].name, name) == 0)
			return &res->fields[i];
	return NULL;
}

static const char *type_zh(enum wg_field_type t)
{
	switch (t) {
	case FT_INT: case FT_REF: return "整数";
	case FT_BOOL: return "布尔值";
	case FT_DATE: return "日期(YYYY-MM-DD)";
	default: return "字符串";
	}
}

static const char *type_en(enum wg_field_type t)
{
	switch (t) {
	case FT_INT: case FT_REF: return "an integer";
	case FT_BOOL: return "a boolean";
	case FT_DATE: return "a date (YYYY-MM-DD)";
	default: return "a string";
	}
}

static int validate_tags(wg_req *r, const struct wg_field *f, json_t *v);
static int canonicalise(wg_req *r, const struct wg_field *f, json_t *body, const char *key, const char *s);

static int validate_value(wg_req *r, const struct wg_field *f, json_t *body, const char *key, json_t *v)
{
	const char *name = f->name;
	if (json_is_null(v)) {
		if (f->flags & FF_NULLABLE)
			return 0;
		return req_failf(r, WG_ERR_VALIDATION, name, "%s(%s)不能为空", "%s must not be null",
				 f->zh, name, name);
	}
	switch (f->type) {
	case FT_INT:
	case FT_REF: {
		if (!json_is_integer(v))
			break;
		json_int_t x = json_integer_value(v);
		int64_t lo = f->type == FT_REF ? 1 : f->min, hi = f->type == FT_REF ? INT64_MAX : f->max;
		if (x < lo || x > hi)
			return req_failf(r, WG_ERR_VALIDATION, name, "%s(%s)应在 %lld 到 %lld 之间",
					 "%s must be from %lld to %lld", f->zh, name, (long long)lo, (long long)hi,
					 name, (long long)lo, (long long)hi);
		return 0;
	}
	case FT_BOOL:
		if (json_is_boolean(v))
			return 0;
		break;
	case FT_TAGS:
		if (json_is_array(v))
			return validate_tags(r, f, v);
		break;
	case FT_TEXT:
	case FT_ENUM:
	case FT_DATE: {
		if (!json_is_string(v))
			break;
		const char *s = json_string_value(v);
		size_t chars = utf8_chars(s);
		if (f->type == FT_DATE) {
			int y, m, d;
			if (f->canon) {
				if (canonicalise(r, f, body, key, s))
					return r->fail.code;
				s = json_string_value(json_object_get(body, key));
			}
			if (!wg_parse_date(s, strlen(s), &y, &m, &d))
				return req_failf(r, WG_ERR_VALIDATION, name, "%s(%s)不是有效日期:%s",
						 "%s is not a valid date (YYYY-MM-DD): %s", f->zh, name, s, name, s);
			return 0;
		}
		if (f->type == FT_ENUM) {
			for (const char *const *e = f->values; *e; e++)
				if (strcmp(*e, s) == 0)
					return 0;
			wg_buf zh = WG_BUF_INIT(512), en = WG_BUF_INIT(512);
			for (size_t k = 0; f->values[k]; k++) {
				wg_buf_printf(&zh, "%s%s%s%s%s", k ? "、" : "", f->labels ? f->labels[k] : "",
					      f->labels ? "(" : "", f->values[k], f->labels ? ")" : "");
				wg_buf_printf(&en, "%s%s", k ? ", " : "", f->values[k]);
			}
			req_failf(r, WG_ERR_VALIDATION, name, "%s(%s)的取值“%s”无效,可选:%s",
				  "%s: '%s' is not an accepted value (one of: %s)", f->zh, name, s,
				  zh.data ? zh.data : "", name, s, en.data ? en.data : "");
			wg_buf_release(&zh);
			wg_buf_release(&en);
			return r->fail.code;
		}
		int64_t lo = f->min, hi = f->max ? f->max : WG_MAX_STRING_FIELD;
		if ((int64_t)chars < lo || (int64_t)chars > hi)
			return req_failf(r, WG_ERR_VALIDATION, name, "%s(%s)长度应为 %lld 到 %lld 个字符",
					 "%s must be %lld to %lld characters long", f->zh, name, (long long)lo, (long long)hi,
					 name, (long long)lo, (long long)hi);
		for (const unsigned char *p = (const unsigned char *)s; *p; p++)
			if (*p < 0x20 && *p != '\n' && *p != '\t')
				return req_failf(r, WG_ERR_VALIDATION, name, "%s(%s)含有控制字符",
						 "%s contains control characters", f->zh, name, name);
		return f->canon ? canonicalise(r, f, body, key, s) : 0;
	}
	}
	return req_failf(r, WG_ERR_VALIDATION, name, "%s(%s)应为%s", "%s must be %s",
			 f->zh, name, type_zh(f->type), name, type_en(f->type));
}

/* Whether v, as the value of f, passed validate_value() on the import's reading thread. */
static bool checked_ahead(const wg_req *r, const struct wg_field *f, const json_t *v)
{
	const struct wg_row_ahead *a = r->import ? r->import->ahead : NULL;
	for (size_t i = 0; a && i < a->nchecked; i++)
		if (a->checked[i].field == f && a->checked[i].value == v)
			return true;
	return false;
}

int resource_validate(wg_req *r, const struct wg_resource *res, json_t *body, bool create)
{
	const char *key;
	json_t *v;
	json_object_foreach(body, key, v) {
		const struct wg_field *f = resource_field(res, key);
		if (!f)
			return req_failf(r, WG_ERR_UNKNOWN_FIELD, key, "未知字段 %s", "unknown field %s", key, key);
		if (f->flags & FF_READONLY)
			return req_failf(r, WG_ERR_VALIDATION, key, "字段 %s 由系统维护,不能修改",
					 "field %s is maintained by the system and cannot be set", key, key);
		if (!create && (f->flags & FF_CREATE_ONLY))
			return req_failf(r, WG_ERR_VALIDATION, key, "字段 %s 创建后不能修改", "field %s cannot be changed after creation",
					 key, key);
		if (!checked_ahead(r, f, v) && validate_value(r, f, body, key, v))
			return r->fail.code;
	}
	if (create) {
		for (size_t i = 0; i < res->nfields; i++) {
			const struct wg_field *f = &res->fields[i];
			if ((f->flags & FF_REQUIRED) && !json_object_get(body, f->name))
				return req_failf(r, WG_ERR_REQUIRED, f->name, "缺少必填字段 %s(%s)", "required field %s is missing",
						 f->name, f->zh, f->name);
		}
	}
	return 0;
}


#define WG_MAX_TAGS 16
#define WG_MAX_TAG_BYTES 64

static int validate_tags(wg_req *r, const struct wg_field *f, json_t *v)
{
	size_t i, j;
	json_t *t, *u;
	if (json_array_size(v) > WG_MAX_TAGS)
		return req_failf(r, WG_ERR_VALIDATION, f->name, "%s(%s)最多 %d 项", "%s may hold at most %d entries",
				 f->zh, f->name, WG_MAX_TAGS, f->name, WG_MAX_TAGS);
	json_array_foreach(v, i, t) {
		const char *s = json_string_value(t);
		if (!s || !*s || json_string_length(t) > WG_MAX_TAG_BYTES || strchr(s, ','))
			return req_failf(r, WG_ERR_VALIDATION, f->name, "%s(%s)的每一项应为不含逗号的短文本",
					 "each entry of %s must be a short text without commas", f->zh, f->name, f->name);
		bool known = !f->values;
		for (const char *const *e = f->values; e && *e; e++)
			known |= strcmp(*e, s) == 0;
		if (!known)
			return req_failf(r, WG_ERR_VALIDATION, f->name, "%s(%s)中的“%s”不是可选项",
					 "%s: '%s' is not an accepted value", f->zh, f->name, s, f->name, s);
		json_array_foreach(v, j, u)
			if (j < i && json_equal(t, u))
				return req_failf(r, WG_ERR_VALIDATION, f->name, "%s(%s)中的“%s”重复", "%s: '%s' is listed twice",
						 f->zh, f->name, s, f->name, s);
	}
	return 0;
}

static int canonicalise(wg_req *r, const struct wg_field *f, json_t *body, const char *key, const char *s)
{
	char out[512];
	const char *zh = NULL, *en = NULL;
	if (f->canon(s, strlen(s), out, sizeof out, &zh, &en) != 0)
		return req_failf(r, WG_ERR_VALIDATION, f->name, "%s(%s):%s", "%s: %s", f->zh, f->name,
				 zh ? zh : "格式无效", f->name, en ? en : "invalid");
	if (strcmp(out, s) != 0 && json_object_set_new(body, key, json_string(out)))
		return req_fail(r, WG_ERR_NOMEM, NULL, NULL, NULL);
	return 0;
}

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

static int bind_field(wg_req *r, const struct wg_field *f, json_t *v, struct bound *b)
{
	b->n = 1;
	b->column[0] = f->name;
	if (json_is_null(v)) {
		b->param[0] = WG_PNULL;
		b->param[1] = WG_PNULL;
		return f->flags & FF_SECRET ? secret_columns(r, f, b) : 0;
	}
	if (f->type == FT_INT || f->type == FT_REF) {
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
		json_array_foreach(v, i, e)
			wg_buf_printf(&t, "%s,", json_string_value(e));
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
	const struct wg_row_ahead *a = r->import ? r->import->ahead : NULL;
	for (size_t i = 0; a && i < a->nsealed; i++)
		if (a->sealed[i].field == f && a->sealed[i].value == v) {
			b->param[0] = WG_PTEXT(a->sealed[i].enc);
			b->param[1] = WG_PTEXT(a->sealed[i].bidx);
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

/* A secret's ciphertext and blind index, made ahead; false leaves it to the insert. */
static bool seal_ahead(const struct wg_keys *k, const struct wg_field *f, json_t *v, struct wg_row_ahead *a)
{
	if (a->nsealed == WG_AHEAD_SECRETS)
		return false;
	const char *s = json_string_value(v);
	size_t n = json_string_length(v);
	wg_buf enc = WG_BUF_INIT(WG_AHEAD_SEALED);
	bool sealed = crypt_encrypt(k, f->name, s, n, &enc) == 0 && enc.len < WG_AHEAD_SEALED;
	if (sealed) {
		memcpy(a->sealed[a->nsealed].enc, enc.data, enc.len);
		a->sealed[a->nsealed].enc[enc.len] = '\0';
		crypt_blind_index(k, f->name, s, n, a->sealed[a->nsealed].bidx);
		a->sealed[a->nsealed].field = f;
		a->sealed[a->nsealed++].value = json_incref(v);
	}
	wg_buf_release(&enc);
	return sealed;
}

void resource_prepare_row(wg_req *scratch, const struct wg_resource *res, struct wg_row_ahead *a)
{
	const char *key;
	json_t *v;
	json_object_foreach(a->row, key, v) {
		const struct wg_field *f = resource_field(res, key);
		if (!f || (f->flags & FF_READONLY) || a->nchecked == WG_AHEAD_VALUES)
			continue;
		/* A failure is left for the import to find again, in its own order. */
		if (validate_value(scratch, f, a->row, key, v)) {
			memset(&scratch->fail, 0, sizeof scratch->fail);
			continue;
		}
		v = json_object_get(a->row, key);  /* canonical now */
		a->checked[a->nchecked].field = f;
		a->checked[a->nchecked++].value = json_incref(v);
		if ((f->flags & FF_SECRET) && json_is_string(v))
			seal_ahead(&scratch->app->keys, f, v, a);
	}
}

void resource_row_ahead_free(struct wg_row_ahead *a)
{
	if (!a)
		return;
	for (size_t i = 0; i < a->nchecked; i++)
		json_decref(a->checked[i].value);
	for (size_t i = 0; i < a->nsealed; i++)
		json_decref(a->sealed[i].value);
	json_decref(a->row);
	wg_free(a);
}

int resource_want_reveal(wg_req *r, const struct wg_resource *res)
{
	const char *v = req_query(r, "reveal");
	r->reveal = false;
	if (!v || strcmp(v, "0") == 0)
		return 0;
	if (strcmp(v, "1") != 0)
		return req_fail(r, WG_ERR_BAD_QUERY, "reveal", "reveal 应为 0 或 1", "reveal must be 0 or 1");
	if (!res->reveal_right || !rbac_allows(r->user->role, res->reveal_right))
		return req_fail(r, WG_ERR_FORBIDDEN, "reveal", "您的角色无权查看完整的身份证号和电话",
				"your role may not see full ID numbers and phone numbers");
	r->reveal = true;
	return 0;
}

static bool has_secrets(const struct wg_resource *res)
{
	for (size_t i = 0; i < res->nfields; i++)
		if (res->fields[i].flags & FF_SECRET)
			return true;
	return false;
}

/* What reading a record is called in the audit trail. */
static const char *read_action(const wg_req *r, const struct wg_resource *res)
{
	return r->reveal && has_secrets(res) ? "reveal" : "read";
}

static json_t *tags_json(const char *text)
{
	json_t *a = json_array();
	const char *p = text;
	while (a && *p) {
		if (*p == ',') {
			p++;
			continue;
		}
		const char *e = strchr(p, ',');
		size_t n = e ? (size_t)(e - p) : strlen(p);
		json_array_append_new(a, json_stringn(p, n));
		p += n;
	}
	return a;
}

json_t *resource_secret_json(wg_req *r, const struct wg_field *f, const char *text, size_t n)
{
	wg_buf plain = WG_BUF_INIT(1024);
	json_t *v;
	if (crypt_decrypt(&r->app->keys, f->name, text, n, &plain) != 0) {
		v = json_string("(无法解密 / cannot decrypt)");
	} else if (r->reveal || !f->mask) {
		v = json_stringn(plain.data ? plain.data : "", plain.len);
	} else {
		char masked[256];
		f->mask(plain.data ? plain.data : "", masked, sizeof masked);
		v = json_string(masked);
	}
	if (plain.data)
		sodium_memzero(plain.data, plain.len);
	wg_buf_release(&plain);
	return v;
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
		bool visible = rc == 1 && scope_contains(r->user->scope_path, stmt_text(s, 1));
		stmt_done(s);
		if (rc < 0)
			return req_fail(r, -rc, NULL, NULL, NULL);
		if (!other)
			continue;
		uint32_t row = r->import ? import_row_of(r->import, other) : 0;
		if (row)
			return req_failf(r, WG_ERR_CONFLICT, f->name, "%s(%s)与本文件第%u行重复:同一人登记了两次",
					 "%s repeats row %u of this file: the same person twice",
					 f->zh, f->name, row, f->name, row);
		if (visible)
			return req_failf(r, WG_ERR_CONFLICT, f->name, "%s(%s)已登记在%s %lld 中,不能重复登记;如是同一人请合并",
					 "%s is already registered as %s %lld; merge if it is the same person",
					 f->zh, f->name, res->zh, (long long)other, f->name, res->en, (long long)other);
		return req_failf(r, WG_ERR_CONFLICT, f->name, "%s(%s)已在您管辖范围以外登记,请联系上级核实",
				 "%s is already registered outside your scope; ask the level above to check",
				 f->zh, f->name, f->name);
	}
	return 0;
}

const char *resource_item_columns(const struct wg_resource *res, const wg_conn *c)
{
	return res->item_columns[conn_dialect(c) == WG_POSTGRES];
}

/* The JSON members, computed by the statement from column col on. */
static int json_members(const struct wg_resource *res, wg_stmt *s, int col, json_t *o)
{
	for (size_t i = 0; i < res->njson_members; i++, col++) {
		json_t *v = json_loadb(stmt_text(s, col), stmt_len(s, col), 0, NULL);
		if (!v || json_object_set_new(o, res->json_members[i].name, v))
			return WG_ERR_NOMEM;
	}
	return 0;
}

json_t *resource_row_json(wg_req *r, const struct wg_resource *res, wg_stmt *s)
{
	json_t *o = json_object();
	if (!o)
		return NULL;
	json_object_set_new(o, "id", json_integer(stmt_int(s, 0)));
	json_object_set_new(o, "version", json_integer(stmt_int(s, 1)));
	json_object_set_new(o, "created_at", json_integer(stmt_int(s, 2)));
	json_object_set_new(o, "updated_at", json_integer(stmt_int(s, 3)));
	json_object_set_new(o, res->path_column, json_string(stmt_text(s, 4)));
	int col = 5;
	for (size_t i = 0; i < res->nfields; i++) {
		const struct wg_field *f = &res->fields[i];
		if (strcmp(f->name, res->path_column) == 0)
			continue;
		json_t *v;
		if (stmt_is_null(s, col))
			v = f->type == FT_TAGS ? json_array() : json_null();
		else if (f->type == FT_INT || f->type == FT_REF)
			v = json_integer(stmt_int(s, col));
		else if (f->type == FT_BOOL)
			v = json_boolean(stmt_int(s, col) != 0);
		else if (f->type == FT_TAGS)
			v = tags_json(stmt_text(s, col));
		else if (f->flags & FF_SECRET)
			v = resource_secret_json(r, f, stmt_text(s, col), stmt_len(s, col));
		else
			v = json_stringn(stmt_text(s, col), stmt_len(s, col));
		json_object_set_new(o, f->name, v);
		col++;
	}
	if (res->njson_members && stmt_columns(s) >= col + (int)res->njson_members && json_members(res, s, col, o)) {
		json_decref(o);
		return NULL;
	}
	return o;
}

/* PostgreSQL, in a write: share-lock the node and every ancestor, so a
 * concurrent subtree move (which locks the moved node first) either waits
 * for this write or has finished before it and its new paths are seen. */
static int lock_ancestors(wg_req *r, const char *path)
{
	wg_buf sql = WG_BUF_INIT(1024);
	wg_param p[WG_MAX_GRID_DEPTH + 2];
	size_t n = 0;
	wg_buf_puts(&sql, "SELECT id FROM grid_nodes WHERE id IN (");
	for (const char *c = path; *c && n < WG_MAX_GRID_DEPTH + 2; ) {
		int64_t id = 0;
		while (*c == '/')
			c++;
		if (!*c)
			break;
		while (*c >= '0' && *c <= '9')
			id = id * 10 + (*c++ - '0');
		wg_buf_puts(&sql, n ? ", ?" : "?");
		p[n++] = WG_PINT(id);
	}
	wg_buf_puts(&sql, ") FOR SHARE");
	int rc = sql.err ? sql.err : (n ? store_run(r->db, sql.data, p, n) : 0);
	wg_buf_release(&sql);
	return rc;
}

static int node_path_of(wg_req *r, int64_t node_id, char *path, size_t size, bool *found)
{
	wg_stmt *s;
	wg_param p[] = { WG_PINT(node_id) };
	int rc = store_query(r->db, "SELECT path FROM grid_nodes WHERE id = ?", p, 1, &s);
	if (rc)
		return rc;
	rc = stmt_next(s);
	*found = rc == 1;
	if (rc == 1)
		snprintf(path, size, "%s", stmt_text(s, 0));
	stmt_done(s);
	return rc < 0 ? -rc : 0;
}

int resource_node_path(wg_req *r, int64_t node_id, const char *field, char *path, size_t size)
{
	bool found;
	char key[WG_I64_DIGITS + 1] = "";
	const char *known;
	int64_t unused;
	/* An import asks for the same few grids row after row; the answer (and,
	 * on PostgreSQL, the ancestors' locks) holds for the whole transaction. */
	if (r->import)
		key[wg_format_i64(key, node_id)] = '\0';
	if (r->import && import_memo_get(r, IMPORT_MEMO_NODE_PATH, key, &unused, &known) && strlen(known) < size) {
		memcpy(path, known, strlen(known) + 1);
		return 0;
	}
	int rc = node_path_of(r, node_id, path, size, &found);
	if (!rc && found && conn_dialect(r->db) == WG_POSTGRES && r->route && (r->route->flags & ROUTE_WRITE)) {
		rc = lock_ancestors(r, path);
		if (!rc)
			rc = node_path_of(r, node_id, path, size, &found);  /* as it is now that nothing can move it */
	}
	if (rc)
		return req_fail(r, rc, NULL, NULL, NULL);
	if (!found || !scope_contains(r->user->scope_path, path))
		return req_failf(r, WG_ERR_NOT_FOUND, field, "网格节点 %lld 不存在或不在您的管辖范围内",
				 "grid node %lld does not exist or is outside your scope",
				 (long long)node_id, (long long)node_id);
	import_memo_set(r, IMPORT_MEMO_NODE_PATH, key, node_id, path);
	return 0;
}

static int not_found(wg_req *r, const struct wg_resource *res, int64_t id)
{
	return req_failf(r, WG_ERR_NOT_FOUND, NULL, "%s %lld 不存在或不在您的管辖范围内",
			 "%s %lld does not exist or is outside your scope", res->zh, (long long)id, res->en, (long long)id);
}

int resource_load(wg_req *r, const struct wg_resource *res, int64_t id, json_t **item, char *path, size_t size)
{
	wg_stmt *s;
	wg_param p[] = { WG_PINT(id) };
	int rc = store_query(r->db, res->select_by_id[conn_dialect(r->db) == WG_POSTGRES], p, 1, &s);
	if (rc)
		return req_fail(r, rc, NULL, NULL, NULL);
	rc = stmt_next(s);
	if (rc == 1 && scope_contains(r->user->scope_path, stmt_text(s, 4))) {
		if (path)
			snprintf(path, size, "%s", stmt_text(s, 4));
		*item = resource_row_json(r, res, s);
		stmt_done(s);
		return *item ? 0 : req_fail(r, WG_ERR_NOMEM, NULL, NULL, NULL);
	}
	stmt_done(s);
	if (rc < 0)
		return req_fail(r, -rc, NULL, NULL, NULL);
	return not_found(r, res, id);
}

static int decorate(wg_req *r, const struct wg_resource *res, json_t *item)
{
	return res->hooks.decorate ? res->hooks.decorate(r, res, item) : 0;
}

/* ---- handlers ---- */

static const struct wg_resource *route_resource(wg_req *r) { return r->route->data; }

/* A value that needs a jansson value of its own (tags, secrets), written out. */
static int emit_built(wg_buf *out, json_t *v)
{
	if (!v)
		return out->err = WG_ERR_NOMEM;
	int rc = json_emit(out, v);
	json_decref(v);
	return rc;
}

static void emit_key(wg_buf *out, const char *key, bool first)
{
	if (!first)
		wg_buf_putc(out, ',');
	json_emit_string(out, key, strlen(key));
	wg_buf_putc(out, ':');
}

/* The item at the statement's current row, written as resource_row_json()
 * and json_emit() would write it, without building the tree: a single read
 * is answered straight from the row. */
static int row_emit(wg_req *r, const struct wg_resource *res, wg_stmt *s, wg_buf *out)
{
	static const char *const head[] = { "id", "version", "created_at", "updated_at" };
	wg_buf_putc(out, '{');
	for (int i = 0; i < 4; i++) {
		emit_key(out, head[i], i == 0);
		json_emit_integer(out, stmt_int(s, i));
	}
	emit_key(out, res->path_column, false);
	json_emit_string(out, stmt_text(s, 4), stmt_len(s, 4));
	int col = 5;
	for (size_t i = 0; i < res->nfields; i++) {
		const struct wg_field *f = &res->fields[i];
		if (strcmp(f->name, res->path_column) == 0)
			continue;
		emit_key(out, f->name, false);
		if (stmt_is_null(s, col))
			wg_buf_puts(out, f->type == FT_TAGS ? "[]" : "null");
		else if (f->type == FT_INT || f->type == FT_REF)
			json_emit_integer(out, stmt_int(s, col));
		else if (f->type == FT_BOOL)
			wg_buf_puts(out, stmt_int(s, col) ? "true" : "false");
		else if (f->type == FT_TAGS)
			emit_built(out, tags_json(stmt_text(s, col)));
		else if (f->flags & FF_SECRET)
			emit_built(out, resource_secret_json(r, f, stmt_text(s, col), stmt_len(s, col)));
		else
			json_emit_string(out, stmt_text(s, col), stmt_len(s, col));
		col++;
	}
	/* JSON members are JSON text made by the database: copied as they are. */
	for (size_t i = 0; i < res->njson_members && stmt_columns(s) > col; i++, col++) {
		emit_key(out, res->json_members[i].name, false);
		wg_buf_append(out, stmt_text(s, col), stmt_len(s, col));
	}
	wg_buf_putc(out, '}');
	return out->err;
}

/* GET of one item with no decorate hook: one statement, no jansson tree. */
static int get_direct(wg_req *r, const struct wg_resource *res)
{
	wg_stmt *s;
	wg_buf out = WG_BUF_INIT(WG_MAX_RESPONSE);
	char path[WG_MAX_GRID_PATH];
	wg_param p[] = { WG_PINT(r->id) };
	int rc = store_query(r->db, res->select_by_id[conn_dialect(r->db) == WG_POSTGRES], p, 1, &s);
	if (rc)
		return req_fail(r, rc, NULL, NULL, NULL);
	rc = stmt_next(s);
	bool visible = rc == 1 && scope_contains(r->user->scope_path, stmt_text(s, 4));
	if (visible) {
		wg_copy_text(path, sizeof path, stmt_text(s, 4));
		rc = row_emit(r, res, s, &out) ? -out.err : 1;
	}
	stmt_done(s);
	if (rc < 0 || !visible) {
		wg_buf_release(&out);
		return rc < 0 ? req_fail(r, -rc, NULL, NULL, NULL) : not_found(r, res, r->id);
	}
	/* Audited once the statement is done: an unqueued audit uses this connection. */
	if (res->audit_reads && audit_read(r, read_action(r, res), res->name, r->id, path)) {
		wg_buf_release(&out);
		return r->fail.code;
	}
	size_t len;
	char *data = wg_buf_detach(&out, &len);
	if (!data)
		return req_fail(r, WG_ERR_NOMEM, NULL, NULL, NULL);
	return req_reply_raw(r, 200, "application/json; charset=utf-8", data, len);
}

static int handle_get(wg_req *r)
{
	const struct wg_resource *res = route_resource(r);
	json_t *item;
	char path[WG_MAX_GRID_PATH];
	if (resource_want_reveal(r, res))
		return r->fail.code;
	if (!res->hooks.decorate)
		return get_direct(r, res);
	if (resource_load(r, res, r->id, &item, path, sizeof path))
		return r->fail.code;
	if ((res->audit_reads && audit_read(r, read_action(r, res), res->name, r->id, path)) || decorate(r, res, item)) {
		json_decref(item);
		return r->fail.code;
	}
	return req_reply(r, 200, item);
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
	if (f->type == FT_INT || f->type == FT_REF || f->type == FT_BOOL) {
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

/* A text search counts at most WG_MAX_SEARCH_COUNT matches: one typed
 * character matches tens of thousands of names, and counting them all
 * would cost more than the page itself. *capped says the true total is larger. */
static int count_rows(wg_req *r, const struct wg_resource *res, struct resource_query *q, int64_t *total, bool *capped)
{
	wg_buf sql = WG_BUF_INIT(WG_MAX_SQL);
	const char *text = req_query(r, "q");
	*capped = false;
	if (text && *text)
		wg_buf_printf(&sql, "SELECT COUNT(*) FROM (SELECT 1 FROM %s WHERE %s LIMIT %u) AS m", res->table, q->where.data,
			      WG_MAX_SEARCH_COUNT + 1);
	else
		wg_buf_printf(&sql, "SELECT COUNT(*) FROM %s WHERE %s", res->table, q->where.data);
	int rc = sql.err ? sql.err : store_int(r->db, sql.data, q->params, q->n, total);
	wg_buf_release(&sql);
	if (!rc && text && *text && *total > WG_MAX_SEARCH_COUNT) {
		*total = WG_MAX_SEARCH_COUNT;
		*capped = true;
	}
	return rc ? req_fail(r, rc, NULL, NULL, NULL) : 0;
}

static int handle_list(wg_req *r)
{
	const struct wg_resource *res = route_resource(r);
	struct resource_query q = { .where = WG_BUF_INIT(WG_MAX_SQL) };
	wg_buf sql = WG_BUF_INIT(WG_MAX_SQL);
	json_t *items = NULL;
	int64_t limit, cursor, total = 0;
	bool capped;
	int rc = WG_ERR_INTERNAL;
	if (resource_want_reveal(r, res) ||
	    req_query_int(r, "limit", 1, WG_MAX_LIST_LIMIT, WG_DEFAULT_LIST_LIMIT, &limit) ||
	    req_query_int(r, "cursor", 0, INT64_MAX, 0, &cursor) || resource_build_where(r, res, &q) ||
	    count_rows(r, res, &q, &total, &capped))
		goto out;
	/* A name search lists in name order, straight off the name index, and
	 * pages by position; everything else lists in id order from a cursor. */
	const char *text = req_query(r, "q");
	const struct wg_field *order = NULL;
	for (size_t i = 0; text && *text && !order && i < res->nfields; i++)
		if (res->fields[i].flags & FF_SEARCH)
			order = &res->fields[i];
	if (order) {
		q.params[q.n++] = WG_PINT(limit + 1);
		q.params[q.n++] = WG_PINT(cursor);
		/* (field, path, id) is the order of a search index such as persons(name, node_path):
		 * the first page then comes straight off the index, whatever the matches. */
		wg_buf_printf(&sql, "SELECT %s FROM %s WHERE %s ORDER BY %s, %s, id LIMIT ? OFFSET ?",
			      resource_item_columns(res, r->db), res->table, q.where.data, order->name, res->path_column);
	} else {
		q.params[q.n++] = WG_PINT(cursor);
		q.params[q.n++] = WG_PINT(limit + 1);
		wg_buf_printf(&sql, "SELECT %s FROM %s WHERE %s AND id > ? ORDER BY id LIMIT ?",
			      resource_item_columns(res, r->db), res->table, q.where.data);
	}
	if (sql.err) {
		req_fail(r, sql.err, NULL, NULL, NULL);
		goto out;
	}
	wg_stmt *s;
	rc = store_query(r->db, sql.data, q.params, q.n, &s);
	if (rc) {
		req_fail(r, rc, NULL, NULL, NULL);
		goto out;
	}
	items = json_array();
	int64_t n = 0, last = 0;
	bool more = false;
	while ((rc = stmt_next(s)) == 1) {
		if (n == limit) {
			more = true;
			break;
		}
		json_t *item = resource_row_json(r, res, s);
		if (!item || json_array_append_new(items, item)) {
			rc = -WG_ERR_NOMEM;
			break;
		}
		last = order ? cursor + n + 1 : stmt_int(s, 0);
		n++;
	}
	stmt_done(s);
	if (rc < 0) {
		req_fail(r, -rc, NULL, NULL, NULL);
		goto out;
	}
	for (size_t i = 0; i < json_array_size(items); i++) {
		json_t *item = json_array_get(items, i);
		if (decorate(r, res, item) || (res->audit_reads &&
		    audit_read(r, read_action(r, res), res->name, json_integer_value(json_object_get(item, "id")),
			       json_string_value(json_object_get(item, res->path_column)))))
			goto out;
	}
	json_t *out = json_pack("{s:O, s:I}", "items", items, "total", (json_int_t)total);
	json_object_set_new(out, "next_cursor", more ? json_integer(last) : json_null());
	if (capped)
		json_object_set_new(out, "total_capped", json_true());
	req_reply(r, 200, out);
	rc = 0;
out:
	json_decref(items);
	wg_buf_release(&sql);
	wg_buf_release(&q.where);
	return r->fail.code ? r->fail.code : rc;
}

int resource_scope_of_new(wg_req *r, const struct wg_resource *res, json_t *body, char *path, size_t size)
{
	if (res->hooks.scope_of_new)
		return res->hooks.scope_of_new(r, res, body, path, size);
	for (size_t i = 0; i < res->nfields; i++) {
		const struct wg_field *f = &res->fields[i];
		if (f->flags & FF_SCOPE)
			return resource_node_path(r, json_integer_value(json_object_get(body, f->name)), f->name, path, size);
	}
	return req_fail(r, WG_ERR_INTERNAL, NULL, NULL, NULL);
}

/* The INSERT for these fields in this order (a secret takes two columns).
 * On PostgreSQL a unique violation would abort the whole transaction, so
 * the INSERT does nothing instead and the missing id says it. */
static int build_insert(const wg_conn *c, const struct wg_resource *res, const struct wg_field *const *fields, size_t n,
			wg_buf *sql)
{
	wg_buf vals = WG_BUF_INIT(WG_MAX_SQL);
	wg_buf_printf(sql, "INSERT INTO %s (version, created_at, updated_at, %s", res->table, res->path_column);
	wg_buf_puts(&vals, "1, ?, ?, ?");
	for (size_t i = 0; i < n; i++) {
		bool secret = fields[i]->flags & FF_SECRET;
		wg_buf_printf(sql, secret ? ", %s_enc, %s_bidx" : ", %s", fields[i]->name, fields[i]->name);
		wg_buf_puts(&vals, secret ? ", ?, ?" : ", ?");
	}
	wg_buf_puts(sql, ") VALUES (");
	wg_buf_puts(sql, vals.data ? vals.data : "");
	wg_buf_puts(sql, conn_dialect(c) == WG_SQLITE ? ")" : ") ON CONFLICT DO NOTHING");
	int rc = sql->err ? sql->err : vals.err;
	wg_buf_release(&vals);
	return rc;
}

/* An import keeps the INSERTs it built: a row with the same fields in
 * the same order as an earlier one takes its text as it is. */
static const char *insert_sql(wg_req *r, const struct wg_resource *res, const struct wg_field *const *fields, size_t n,
			      wg_buf *sql)
{
	struct wg_import *im = r->import;
	for (size_t i = 0; im && i < WG_INSERT_SHAPES; i++)
		if (im->insert[i].sql && im->insert[i].res == res && im->insert[i].n == n &&
		    memcmp(im->insert[i].field, fields, n * sizeof *fields) == 0)
			return im->insert[i].sql;
	if (build_insert(r->db, res, fields, n, sql))
		return NULL;
	char *copy = im ? wg_strdup(sql->data) : NULL;
	if (copy) {
		size_t slot = im->insert_next++ % WG_INSERT_SHAPES;
		wg_free(im->insert[slot].sql);
		im->insert[slot].sql = copy;
		im->insert[slot].res = res;
		im->insert[slot].n = n;
		memcpy(im->insert[slot].field, fields, n * sizeof *fields);
	}
	return sql->data;
}

int resource_insert(wg_req *r, const struct wg_resource *res, json_t *body, const char *path, int64_t *id)
{
	wg_buf built = WG_BUF_INIT(WG_MAX_SQL);
	const struct wg_field *fields[WG_INSERT_FIELDS];
	wg_param p[3 + 2 * WG_INSERT_FIELDS];
	size_t n = 0, nfields = 0;
	const char *key;
	json_t *v;
	/* The unique indexes speak first; the query that names the other
	 * record runs only on a conflict (a round trip less per row). */
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
		fields[nfields++] = f;
		for (int k = 0; k < b.n; k++)
			p[n++] = b.param[k];
	}
	const char *sql = insert_sql(r, res, fields, nfields, &built);
	int rc = sql ? store_insert(r->db, sql, p, n, id) : WG_ERR_NOMEM;
	wg_buf_release(&built);
	if (rc == WG_ERR_NOT_FOUND && conn_dialect(r->db) != WG_SQLITE)
		rc = WG_ERR_CONFLICT;  /* ON CONFLICT DO NOTHING returned no id */
	if (rc == WG_ERR_CONFLICT && check_unique(r, res, body, 0))
		return r->fail.code;
	if (rc == WG_ERR_CONFLICT)
		return req_failf(r, WG_ERR_CONFLICT, NULL, "%s 与已有记录冲突", "%s conflicts with an existing record", res->zh, res->en);
	return rc ? req_fail(r, rc, NULL, NULL, NULL) : 0;
}

static int handle_create(wg_req *r)
{
	const struct wg_resource *res = route_resource(r);
	char path[WG_MAX_GRID_PATH];
	int64_t id;
	json_t *item = NULL;
	if (resource_validate(r, res, r->body, true) ||
	    (res->hooks.check && res->hooks.check(r, res, 0, r->body)) ||
	    resource_scope_of_new(r, res, r->body, path, sizeof path) ||
	    resource_insert(r, res, r->body, path, &id) ||
	    (res->hooks.after_insert && res->hooks.after_insert(r, res, id, r->body, path)) ||
	    resource_load(r, res, id, &item, path, sizeof path) ||
	    audit_req(r, "create", res->name, id, path, r->body) ||
	    decorate(r, res, item)) {
		json_decref(item);
		return r->fail.code;
	}
	char *loc = arena_printf(&r->arena, "/api/v1/%s/%lld", res->name, (long long)id);
	if (loc)
		req_add_header(r, "Location", loc);
	return req_reply(r, 201, item);
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

static int handle_patch(wg_req *r)
{
	const struct wg_resource *res = route_resource(r);
	char path[WG_MAX_GRID_PATH], new_path[WG_MAX_GRID_PATH];
	json_t *item = NULL;
	const char *moved = NULL;
	if (resource_load(r, res, r->id, &item, path, sizeof path))
		return r->fail.code;
	int64_t version = json_integer_value(json_object_get(item, "version"));
	json_decref(item);
	item = NULL;
	if (req_if_match(r, version) || resource_validate(r, res, r->body, false) ||
	    (res->hooks.check && res->hooks.check(r, res, r->id, r->body)))
		return r->fail.code;
	for (size_t i = 0; i < res->nfields; i++) {
		const struct wg_field *f = &res->fields[i];
		json_t *v = (f->flags & FF_SCOPE) ? json_object_get(r->body, f->name) : NULL;
		if (v) {
			if (resource_node_path(r, json_integer_value(v), f->name, new_path, sizeof new_path))
				return r->fail.code;
			moved = new_path;
		}
	}
	if (resource_update(r, res, r->id, version, moved, r->body) ||
	    (res->hooks.after_update && res->hooks.after_update(r, res, r->id, r->body)) ||
	    resource_load(r, res, r->id, &item, path, sizeof path) ||
	    audit_req(r, "update", res->name, r->id, path, r->body) ||
	    decorate(r, res, item)) {
		json_decref(item);
		return r->fail.code;
	}
	return req_reply(r, 200, item);
}

static int handle_delete(wg_req *r)
{
	const struct wg_resource *res = route_resource(r);
	char path[WG_MAX_GRID_PATH], sql[256];
	json_t *item = NULL;
	if (resource_load(r, res, r->id, &item, path, sizeof path))
		return r->fail.code;
	int64_t version = json_integer_value(json_object_get(item, "version"));
	json_decref(item);
	if (req_if_match(r, version) || (res->hooks.before_delete && res->hooks.before_delete(r, res, r->id, path)))
		return r->fail.code;
	snprintf(sql, sizeof sql, "DELETE FROM %s WHERE id = ?", res->table);
	wg_param p[] = { WG_PINT(r->id) };
	int rc = store_run(r->db, sql, p, 1);
	if (rc == WG_ERR_CONFLICT)
		return req_failf(r, WG_ERR_CONFLICT, NULL, "%s %lld 仍被其他记录引用,不能删除",
				 "%s %lld is still referenced by other records and cannot be deleted",
				 res->zh, (long long)r->id, res->en, (long long)r->id);
	if (rc)
		return req_fail(r, rc, NULL, NULL, NULL);
	if (audit_req(r, "delete", res->name, r->id, path, NULL))
		return r->fail.code;
	return req_reply(r, 204, NULL);
}

/* ---- registration ---- */

struct resource_routes {
	char collection[64], item[80], import[80], export[80];
	struct wg_route routes[7];
};

static struct resource_routes registered[MAX_RESOURCES];
static struct wg_resource *resources[MAX_RESOURCES];

/* Columns of tables that are not resources yet take part in what the
 * generic layer does for every resource (re-encryption, subtree moves). */
struct extra_columns {
	struct { const char *table, *column; } at[8];
	int n;
};
static struct extra_columns extra_secrets, extra_paths;

static int extra_add(struct extra_columns *l, const char *table, const char *column)
{
	if (l->n == (int)(sizeof l->at / sizeof l->at[0]))
		return WG_ERR_TOO_LARGE;
	l->at[l->n].table = table;
	l->at[l->n++].column = column;
	return 0;
}
static int nregistered;

void resource_release_all(void)
{
	for (int i = 0; i < nregistered; i++) {
		struct wg_resource *res = resources[i];
		wg_free(res->select_columns);
		res->select_columns = NULL;
		for (int d = 0; d < 2; d++) {
			wg_free(res->item_columns[d]);
			wg_free(res->select_by_id[d]);
			res->item_columns[d] = res->select_by_id[d] = NULL;
		}
	}
	nregistered = 0;
	extra_secrets.n = 0;
	extra_paths.n = 0;
}

struct reencrypt_row {
	int64_t id;
	char *text;
};

/* Re-encrypts one secret column with the current key, a batch at a time. */
static int reencrypt_column(wg_conn *c, const struct wg_keys *k, const char *table, const char *column,
			    int64_t *count)
{
	char select[512], update[512];
	struct reencrypt_row rows[500];
	int64_t after = 0;
	int rc = 0;
	snprintf(select, sizeof select, "SELECT id, %s_enc FROM %s WHERE id > ? AND %s_enc IS NOT NULL ORDER BY id LIMIT 500",
		 column, table, column);
	snprintf(update, sizeof update, "UPDATE %s SET %s_enc = ? WHERE id = ?", table, column);
	for (;;) {
		wg_stmt *s;
		size_t n = 0;
		wg_param p[] = { WG_PINT(after) };
		rc = store_query(c, select, p, 1, &s);
		while (!rc && n < 500 && (rc = stmt_next(s)) == 1) {
			rows[n].id = stmt_int(s, 0);
			rows[n].text = wg_strdup(stmt_text(s, 1));
			if (!rows[n++].text)
				rc = -WG_ERR_NOMEM;
			else
				rc = 0;
		}
		stmt_done(s);
		rc = rc < 0 ? -rc : rc;
		wg_buf plain = WG_BUF_INIT(1024), enc = WG_BUF_INIT(2048);
		for (size_t i = 0; !rc && i < n; i++) {
			rc = crypt_decrypt(k, column, rows[i].text, strlen(rows[i].text), &plain);
			if (!rc)
				rc = crypt_encrypt(k, column, plain.data ? plain.data : "", plain.len, &enc);
			wg_param u[] = { WG_PTEXT(enc.data ? enc.data : ""), WG_PINT(rows[i].id) };
			if (!rc)
				rc = store_run(c, update, u, 2);
			if (!rc)
				(*count)++;
		}
		if (plain.data)
			sodium_memzero(plain.data, plain.len);
		wg_buf_release(&plain);
		wg_buf_release(&enc);
		for (size_t i = 0; i < n; i++)
			wg_free(rows[i].text);
		if (rc || n < 500)
			return rc;
		after = rows[n - 1].id;
	}
}

int resource_add_secret_column(const char *table, const char *column)
{
	return extra_add(&extra_secrets, table, column);
}

int resource_reencrypt_all(wg_conn *c, const struct wg_keys *k, int64_t *count)
{
	int rc = 0;
	*count = 0;
	for (int i = 0; !rc && i < nregistered; i++)
		for (size_t j = 0; !rc && j < resources[i]->nfields; j++)
			if (resources[i]->fields[j].flags & FF_SECRET)
				rc = reencrypt_column(c, k, resources[i]->table, resources[i]->fields[j].name, count);
	for (int i = 0; !rc && i < extra_secrets.n; i++)
		rc = reencrypt_column(c, k, extra_secrets.at[i].table, extra_secrets.at[i].column, count);
	return rc;
}

int resource_add_path_column(const char *table, const char *column)
{
	return extra_add(&extra_paths, table, column);
}

static int rewrite_column(wg_conn *c, const char *table, const char *column, const char *old_path,
			  const char *new_path)
{
	char lo[WG_MAX_GRID_PATH + 2], hi[WG_MAX_GRID_PATH + 2], sql[512];
	scope_range(old_path, lo, hi, sizeof lo);
	snprintf(sql, sizeof sql, "UPDATE %s SET %s = CAST(? AS TEXT) || substr(%s, ?) WHERE %s >= ? AND %s < ?",
		 table, column, column, column, column);
	wg_param p[] = { WG_PTEXT(new_path), WG_PINT((int64_t)strlen(old_path) + 1), WG_PTEXT(lo), WG_PTEXT(hi) };
	return store_run(c, sql, p, 4);
}

int resource_rewrite_paths(wg_conn *c, const char *old_path, const char *new_path)
{
	int rc = 0;
	for (int i = 0; !rc && i < nregistered; i++)
		rc = rewrite_column(c, resources[i]->table, resources[i]->path_column, old_path, new_path);
	for (int i = 0; !rc && i < extra_paths.n; i++)
		rc = rewrite_column(c, extra_paths.at[i].table, extra_paths.at[i].column, old_path, new_path);
	return rc;
}

/* The item columns and the by-id statement of one dialect. */
static int build_item_select(struct wg_resource *res, int postgres)
{
	wg_buf cols = WG_BUF_INIT(8192), by_id = WG_BUF_INIT(8192 + 128);
	wg_buf_puts(&cols, res->select_columns);
	for (size_t i = 0; i < res->njson_members; i++)
		wg_buf_printf(&cols, ", %s", postgres ? res->json_members[i].postgres : res->json_members[i].sqlite);
	wg_buf_printf(&by_id, "SELECT %s FROM %s WHERE id = ?", cols.data ? cols.data : "", res->table);
	if (cols.err || by_id.err) {
		wg_buf_release(&cols);
		wg_buf_release(&by_id);
		return WG_ERR_NOMEM;
	}
	res->item_columns[postgres] = wg_buf_detach(&cols, NULL);
	res->select_by_id[postgres] = wg_buf_detach(&by_id, NULL);
	return res->item_columns[postgres] && res->select_by_id[postgres] ? 0 : WG_ERR_NOMEM;
}

static int build_selects(struct wg_resource *res)
{
	wg_buf cols = WG_BUF_INIT(4096);
	wg_buf_printf(&cols, "id, version, created_at, updated_at, %s", res->path_column);
	for (size_t i = 0; i < res->nfields; i++)
		if (strcmp(res->fields[i].name, res->path_column) != 0)
			wg_buf_printf(&cols, (res->fields[i].flags & FF_SECRET) ? ", %s_enc" : ", %s", res->fields[i].name);
	if (cols.err) {
		wg_buf_release(&cols);
		return WG_ERR_NOMEM;
	}
	res->select_columns = wg_buf_detach(&cols, NULL);
	if (!res->select_columns)
		return WG_ERR_NOMEM;
	int rc = build_item_select(res, 0);
	return rc ? rc : build_item_select(res, 1);
}

int resource_register(struct wg_resource *res)
{
	if (nregistered == MAX_RESOURCES)
		return WG_ERR_TOO_LARGE;
	if (!res->select_columns) {
		int rc = build_selects(res);
		if (rc)
			return rc;
	}
	resources[nregistered] = res;
	struct resource_routes *rr = &registered[nregistered++];
	snprintf(rr->collection, sizeof rr->collection, "/api/v1/%s", res->name);
	snprintf(rr->item, sizeof rr->item, "/api/v1/%s/{id}", res->name);
	snprintf(rr->import, sizeof rr->import, "/api/v1/%s/import", res->name);
	snprintf(rr->export, sizeof rr->export, "/api/v1/%s/export", res->name);
	struct wg_route routes[] = {
		{ "GET",    rr->collection, handle_list,   res->read_right,  ROUTE_SNAPSHOT, res },
		{ "POST",   rr->collection, handle_create, res->write_right, ROUTE_WRITE | ROUTE_JSON, res },
		{ "GET",    rr->item,       handle_get,    res->read_right,  0, res },
		{ "PATCH",  rr->item,       handle_patch,  res->write_right, ROUTE_WRITE | ROUTE_JSON, res },
		{ "DELETE", rr->item,       handle_delete, res->write_right, ROUTE_WRITE, res },
		{ "POST",   rr->import,     resource_handle_import, res->write_right, ROUTE_WRITE | ROUTE_UPLOAD, res },
		{ "GET",    rr->export,     resource_handle_export, res->read_right, ROUTE_SNAPSHOT, res },
	};
	_Static_assert(sizeof routes == sizeof rr->routes, "route slots");
	memcpy(rr->routes, routes, sizeof routes);
	return router_add(rr->routes, sizeof routes / sizeof routes[0]);
}
