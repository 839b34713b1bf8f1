/* The generic handlers of every declared resource: list, get, create,
 * patch, delete, with scope, versions, audit and masking. */
#include "core/resource/resource_int.h"
#include "core/audit/audit.h"
#include "core/auth/scope.h"
#include "core/lib/err.h"
#include "core/lib/limits.h"
#include "core/lib/mem.h"
#include "core/lib/parse.h"

#include <stdio.h>
#include <string.h>

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

/* Audited once the statement is done (an unqueued audit uses the connection). */
static int audit_item_read(wg_req *r, const struct wg_resource *res, const char *path)
{
	if ((res->audit_reads && audit_read(r, resource_read_action(r, res), res->name, r->id, path)) ||
	    (res->count_reads && audit_count(r, res->name, 1)))
		return r->fail.code;
	return 0;
}

/* The item's answer from memory (cache_reads): 1 served, 0 not kept. */
static int get_kept(wg_req *r, const struct wg_resource *res, uint64_t changes)
{
	char path[WG_MAX_GRID_PATH], *data;
	size_t len;
	int found = resource_cache_get(res, r->id, changes, path, sizeof path, &data, &len);
	if (found <= 0)
		return found < 0 ? (req_fail(r, WG_ERR_NOMEM, NULL, NULL, NULL), 1) : 0;
	if (!scope_contains(r->user->scope_path, path)) {
		wg_free(data);
		not_found(r, res, r->id);
		return 1;
	}
	if (audit_item_read(r, res, path))
		wg_free(data);
	else
		req_reply_raw(r, 200, "application/json; charset=utf-8", data, len);
	return 1;
}

/* GET of one item with no decorate hook: one statement, no jansson tree. */
static int get_direct(wg_req *r, const struct wg_resource *res)
{
	wg_stmt *s;
	wg_buf out = WG_BUF_INIT(WG_MAX_RESPONSE);
	char path[WG_MAX_GRID_PATH];
	wg_param p[] = { WG_PINT(r->id) };
	/* Taken before the read: a change heard meanwhile makes what is kept stale. */
	uint64_t changes = res->cache_reads ? store_changes(r->app->store) : 0;
	if (changes && get_kept(r, res, changes))
		return r->fail.code;
	int rc = store_query(r->db, res->select_by_id[conn_dialect(r->db) == WG_POSTGRES], p, 1, &s);
	if (rc)
		return req_fail(r, rc, NULL, NULL, NULL);
	rc = stmt_next(s);
	bool visible = rc == 1 && scope_contains(r->user->scope_path, stmt_text(s, 4));
	if (rc == 1 && (visible || changes)) {
		wg_copy_text(path, sizeof path, stmt_text(s, 4));
		rc = resource_row_emit(r, res, s, &out) ? -out.err : 1;
	}
	stmt_done(s);
	if (rc < 0 || !visible) {
		if (rc == 1 && changes)
			resource_cache_put(res, r->id, changes, path, out.data, out.len);
		wg_buf_release(&out);
		return rc < 0 ? req_fail(r, -rc, NULL, NULL, NULL) : not_found(r, res, r->id);
	}
	if (changes)
		resource_cache_put(res, r->id, changes, path, out.data, out.len);
	if (audit_item_read(r, res, path)) {
		wg_buf_release(&out);
		return r->fail.code;
	}
	size_t len;
	char *data = wg_buf_detach(&out, &len);
	if (!data)
		return req_fail(r, WG_ERR_NOMEM, NULL, NULL, NULL);
	return req_reply_raw(r, 200, "application/json; charset=utf-8", data, len);
}

int resource_handle_get(wg_req *r)
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
	if ((res->audit_reads && audit_read(r, resource_read_action(r, res), res->name, r->id, path)) ||
	    (res->count_reads && audit_count(r, res->name, 1)) || decorate(r, res, item)) {
		json_decref(item);
		return r->fail.code;
	}
	return req_reply(r, 200, item);
}

static json_t *list_item(wg_req *r, wg_stmt *s, void *ctx)
{
	return resource_row_json(r, ctx, s);
}

int resource_handle_list(wg_req *r)
{
	const struct wg_resource *res = route_resource(r);
	struct resource_query q = { .where = WG_BUF_INIT(WG_MAX_SQL) };
	wg_buf sql = WG_BUF_INIT(WG_MAX_SQL), from = WG_BUF_INIT(WG_MAX_SQL);
	struct wg_pager pg = { 0 };
	/* A name search lists in name order, straight off the name index, and
	 * pages by position; everything else lists in id order from a cursor. */
	const char *text = req_query(r, "q");
	const struct wg_field *order = NULL;
	for (size_t i = 0; text && *text && !order && i < res->nfields; i++)
		if (res->fields[i].flags & FF_SEARCH)
			order = &res->fields[i];
	if (resource_want_reveal(r, res) || pager_start(r, &pg, WG_DEFAULT_LIST_LIMIT, order != NULL) ||
	    resource_build_where(r, res, &q))
		goto out;
	size_t nwhere = q.n;
	wg_buf_printf(&from, "FROM %s WHERE %s", res->table, q.where.data);
	if (order) {
		q.params[q.n++] = WG_PINT(pg.limit + 1);
		q.params[q.n++] = WG_PINT(pg.cursor);
		/* (field, path, id) is the order of a search index such as persons(name, node_path):
		 * the first page then comes straight off the index, whatever the matches. */
		wg_buf_printf(&sql, "SELECT %s %s ORDER BY %s, %s, id LIMIT ? OFFSET ?",
			      resource_item_columns(res, r->db), from.data, order->name, res->path_column);
	} else {
		q.params[q.n++] = WG_PINT(pg.cursor);
		q.params[q.n++] = WG_PINT(pg.limit + 1);
		wg_buf_printf(&sql, "SELECT %s %s AND id > ? ORDER BY id LIMIT ?", resource_item_columns(res, r->db), from.data);
	}
	if (sql.err || from.err) {
		req_fail(r, WG_ERR_NOMEM, NULL, NULL, NULL);
		goto out;
	}
	/* A text search counts at most WG_MAX_SEARCH_COUNT matches: one typed
	 * character matches tens of thousands of names. */
	if (pager_count(r, &pg, from.data, q.params, nwhere, text && *text ? WG_MAX_SEARCH_COUNT : 0) ||
	    pager_rows(r, &pg, sql.data, q.params, q.n, 0, list_item, (void *)res))
		goto out;
	for (size_t i = 0; i < json_array_size(pg.items); i++) {
		json_t *item = json_array_get(pg.items, i);
		if (decorate(r, res, item) || (res->audit_reads &&
		    audit_read(r, resource_read_action(r, res), res->name, json_integer_value(json_object_get(item, "id")),
			       json_string_value(json_object_get(item, res->path_column)))))
			goto out;
	}
	if (res->count_reads && audit_count(r, res->name, (int64_t)json_array_size(pg.items)))
		goto out;
	pager_reply(r, &pg);
out:
	pager_release(&pg);
	wg_buf_release(&sql);
	wg_buf_release(&from);
	wg_buf_release(&q.where);
	return r->fail.code;
}

int resource_handle_create(wg_req *r)
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

int resource_handle_patch(wg_req *r)
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

int resource_handle_delete(wg_req *r)
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
