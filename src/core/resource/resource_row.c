/* A record as answers show it: secrets decrypted and masked unless
 * revealed, tags as arrays, JSON members; built as a jansson tree or
 * written straight to the answer's buffer (row_emit). */
#include "core/resource/resource_int.h"
#include "core/lib/err.h"
#include "core/lib/json.h"
#include "core/lib/timefmt.h"

#include <sodium.h>
#include <stdio.h>
#include <string.h>

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
const char *resource_read_action(const wg_req *r, const struct wg_resource *res)
{
	return r->reveal && has_secrets(res) ? "reveal" : "read";
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

const char *resource_item_columns(const struct wg_resource *res, const wg_conn *c)
{
	return res->item_columns[conn_dialect(c) == WG_POSTGRES];
}

/* The JSON members, computed by the statement from column col on. */
static int json_members(const struct wg_resource *res, wg_stmt *s, int col, json_t *o)
{
	for (size_t i = 0; i < res->njson_members; i++, col++) {
		json_t *v = json_loadb(stmt_text(s, col), stmt_len(s, col), JSON_DECODE_ANY, NULL);
		if (!v || json_object_set_new(o, res->json_members[i].name, v))
			return WG_ERR_NOMEM;
	}
	return 0;
}

static const char *twin_of(const char *name, char twin[WG_TIME_TWIN])
{
	wg_time_twin(name, twin);
	return twin;
}

/* A time member and its twin in local ISO 8601 (null and null without a time). */
static void time_json(json_t *o, const char *name, wg_stmt *s, int col)
{
	char twin[WG_TIME_TWIN], iso[WG_TIME_ISO];
	bool null = stmt_is_null(s, col);
	if (!null)
		wg_time_iso(stmt_int(s, col), iso);
	json_object_set_new(o, name, null ? json_null() : json_integer(stmt_int(s, col)));
	json_object_set_new(o, twin_of(name, twin), null ? json_null() : json_string(iso));
}

json_t *resource_row_json(wg_req *r, const struct wg_resource *res, wg_stmt *s)
{
	json_t *o = json_object();
	if (!o)
		return NULL;
	json_object_set_new(o, "id", json_integer(stmt_int(s, 0)));
	json_object_set_new(o, "version", json_integer(stmt_int(s, 1)));
	time_json(o, "created_at", s, 2);
	time_json(o, "updated_at", s, 3);
	json_object_set_new(o, res->path_column, json_string(stmt_text(s, 4)));
	int col = 5;
	for (size_t i = 0; i < res->nfields; i++) {
		const struct wg_field *f = &res->fields[i];
		if (strcmp(f->name, res->path_column) == 0)
			continue;
		json_t *v;
		if (f->type == FT_TIME) {
			time_json(o, f->name, s, col++);
			continue;
		}
		if (stmt_is_null(s, col))
			v = f->type == FT_TAGS ? json_array() : json_null();
		else if (f->type == FT_INT || f->type == FT_REF)
			v = json_integer(stmt_int(s, col));
		else if (f->type == FT_BOOL)
			v = json_boolean(stmt_int(s, col) != 0);
		else if (f->type == FT_TAGS)
			v = json_comma_list(stmt_text(s, col));
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

/* A time member and its twin, as time_json() makes them. */
static void emit_time(wg_buf *out, const char *name, wg_stmt *s, int col)
{
	char twin[WG_TIME_TWIN], iso[WG_TIME_ISO];
	bool null = stmt_is_null(s, col);
	emit_key(out, name, false);
	if (null)
		wg_buf_puts(out, "null");
	else
		json_emit_integer(out, stmt_int(s, col));
	emit_key(out, twin_of(name, twin), false);
	if (null) {
		wg_buf_puts(out, "null");
		return;
	}
	wg_time_iso(stmt_int(s, col), iso);
	json_emit_string(out, iso, strlen(iso));
}

/* The item at the statement's current row, written as resource_row_json()
 * and json_emit() would write it, without building the tree: a single read
 * is answered straight from the row. */
int resource_row_emit(wg_req *r, const struct wg_resource *res, wg_stmt *s, wg_buf *out)
{
	static const char *const head[] = { "id", "version" };
	wg_buf_putc(out, '{');
	for (int i = 0; i < 2; i++) {
		emit_key(out, head[i], i == 0);
		json_emit_integer(out, stmt_int(s, i));
	}
	emit_time(out, "created_at", s, 2);
	emit_time(out, "updated_at", s, 3);
	emit_key(out, res->path_column, false);
	json_emit_string(out, stmt_text(s, 4), stmt_len(s, 4));
	int col = 5;
	for (size_t i = 0; i < res->nfields; i++) {
		const struct wg_field *f = &res->fields[i];
		if (strcmp(f->name, res->path_column) == 0)
			continue;
		if (f->type == FT_TIME) {
			emit_time(out, f->name, s, col++);
			continue;
		}
		emit_key(out, f->name, false);
		if (stmt_is_null(s, col))
			wg_buf_puts(out, f->type == FT_TAGS ? "[]" : "null");
		else if (f->type == FT_INT || f->type == FT_REF)
			json_emit_integer(out, stmt_int(s, col));
		else if (f->type == FT_BOOL)
			wg_buf_puts(out, stmt_int(s, col) ? "true" : "false");
		else if (f->type == FT_TAGS)
			emit_built(out, json_comma_list(stmt_text(s, col)));
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
