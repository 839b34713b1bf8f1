/* Where a record hangs: a grid node's path, checked against the caller's
 * scope (and on PostgreSQL share-locked with its ancestors in a write). */
#include "core/resource/resource_int.h"
#include "core/auth/scope.h"
#include "core/lib/err.h"
#include "core/lib/limits.h"
#include "core/lib/parse.h"

#include <stdio.h>
#include <string.h>

/* The import memo's slot for a node's path. */
static const char MEMO_NODE_PATH[] = "node_path";

/* The next node id in a path ("/1/23/456/"), and where to go on from;
 * NULL at its end. */
static const char *path_next_id(const char *c, int64_t *id)
{
	while (*c == '/')
		c++;
	if (!*c)
		return NULL;
	const char *digits = c;
	*id = 0;
	while (*c >= '0' && *c <= '9')
		*id = *id * 10 + (*c++ - '0');
	return c > digits ? c : NULL;  /* anything else ends it */
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
	int64_t id;
	for (const char *c = path; n < WG_MAX_GRID_DEPTH + 2 && (c = path_next_id(c, &id)); ) {
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
	if (import_in_progress(r))
		key[wg_format_i64(key, node_id)] = '\0';
	if (import_in_progress(r) && import_memo_get(r, MEMO_NODE_PATH, key, &unused, &known) && strlen(known) < size) {
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
	import_memo_set(r, MEMO_NODE_PATH, key, node_id, path);
	return 0;
}

/* Appends the ids of the path's nodes to the array literal. */
static void path_ids(wg_buf *a, const char *path)
{
	int64_t id;
	for (const char *c = path; (c = path_next_id(c, &id)); )
		store_array_int(a, id);
}

/* The nodes' paths: remembered (remember) or their nodes' ids appended to locks. */
static int paths_of(wg_req *r, const wg_buf *ids, bool remember, wg_buf *locks)
{
	wg_stmt *s;
	char key[WG_I64_DIGITS + 1];
	wg_param p[] = { WG_PTEXTN(ids->data, ids->len) };
	int rc = store_query(r->db, "SELECT id, path FROM grid_nodes WHERE id = ANY(?::bigint[])", p, 1, &s);
	if (rc)
		return rc;
	while ((rc = stmt_next(s)) == 1) {
		if (!remember) {
			path_ids(locks, stmt_text(s, 1));
			continue;
		}
		if (!scope_contains(r->user->scope_path, stmt_text(s, 1)) || stmt_len(s, 1) >= WG_MAX_GRID_PATH)
			continue;
		key[wg_format_i64(key, stmt_int(s, 0))] = '\0';
		import_memo_set(r, MEMO_NODE_PATH, key, stmt_int(s, 0), stmt_text(s, 1));
	}
	stmt_done(s);
	return rc < 0 ? -rc : 0;
}

int resource_node_paths(wg_req *r, const int64_t *ids, size_t n)
{
	wg_buf a = WG_BUF_INIT(WG_MAX_BATCH_BYTES), locks = WG_BUF_INIT(WG_MAX_BATCH_BYTES);
	char key[WG_I64_DIGITS + 1];
	const char *known;
	int64_t unused;
	size_t asked = 0;
	for (size_t i = 0; i < n; i++) {
		key[wg_format_i64(key, ids[i])] = '\0';
		if (!import_memo_get(r, MEMO_NODE_PATH, key, &unused, &known)) {
			store_array_int(&a, ids[i]);
			asked++;
		}
	}
	int rc = store_array_end(&a);
	if (!rc && asked && r->route && (r->route->flags & ROUTE_WRITE)) {
		/* as resource_node_path: the ancestors share-locked, then the paths as they are now */
		rc = paths_of(r, &a, false, &locks);
		if (!rc && !(rc = store_array_end(&locks))) {
			wg_param p[] = { WG_PTEXTN(locks.data, locks.len) };
			rc = store_run(r->db, "SELECT id FROM grid_nodes WHERE id = ANY(?::bigint[]) FOR SHARE", p, 1);
		}
	}
	if (!rc && asked)
		rc = paths_of(r, &a, true, NULL);
	wg_buf_release(&a);
	wg_buf_release(&locks);
	return rc ? req_fail(r, rc, NULL, NULL, NULL) : 0;
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
