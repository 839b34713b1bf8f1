/* GET /api/v1/stats/children?node=ID: each place directly under a node with
 * what the modules count in its subtree (their counters: households,
 * persons, cases, contacts handed over …), and the node's own totals. Only
 * counts leave here, so nothing is audited; a counter is left out for a
 * role without its right. */
#include "core/api/api.h"
#include "core/auth/scope.h"
#include "core/lib/buf.h"
#include "core/lib/err.h"
#include "core/lib/limits.h"
#include "core/resource/resource.h"

#include <stdio.h>
#include <string.h>

struct counted {
	const struct wg_counter *c[WG_MAX_COUNTERS];
	size_t n;
	const struct wg_role *role;
};

static void collect(struct counted *k)
{
	for (size_t i = 0; i < counters_count() && k->n < WG_MAX_COUNTERS; i++)
		if (rbac_allows(k->role, counter_at(i)->right))
			k->c[k->n++] = counter_at(i);
}

/* COUNT(*) of one counter in the subtree of PATH. */
static int count_under(wg_req *r, const struct wg_counter *c, const char *path, int64_t *n)
{
	char lo[WG_MAX_GRID_PATH], hi[WG_MAX_GRID_PATH];
	wg_buf sql = WG_BUF_INIT(1024);
	scope_range(path, lo, hi, sizeof lo);
	wg_buf_printf(&sql, "SELECT COUNT(*) FROM %s WHERE %s >= ? AND %s < ?%s%s", c->from, c->path_column, c->path_column,
		      c->where ? " AND " : "", c->where ? c->where : "");
	wg_param p[] = { WG_PTEXT(lo), WG_PTEXT(hi) };
	int rc = sql.err ? sql.err : store_int(r->db, sql.data, p, 2, n);
	wg_buf_release(&sql);
	return rc;
}

/* {id, name, kind, <counter>…} for one node. */
static json_t *node_figures(wg_req *r, const struct counted *k, int64_t id, const char *name, const char *kind,
			    const char *path, int *rc)
{
	json_t *o = json_pack("{s:I, s:s, s:s}", "id", (json_int_t)id, "name", name, "kind", kind);
	*rc = o ? 0 : WG_ERR_NOMEM;
	for (size_t i = 0; !*rc && i < k->n; i++) {
		int64_t n = 0;
		*rc = count_under(r, k->c[i], path, &n);
		if (!*rc && json_object_set_new(o, k->c[i]->name, json_integer(n)))
			*rc = WG_ERR_NOMEM;
	}
	if (*rc) {
		json_decref(o);
		return NULL;
	}
	return o;
}

static int children_figures(wg_req *r, const struct counted *k, int64_t node, json_t *items)
{
	wg_stmt *s;
	wg_param p[] = { WG_PINT(node) };
	int rc = store_query(r->db, "SELECT id, name, kind, path FROM grid_nodes WHERE parent_id = ? ORDER BY id", p, 1, &s);
	if (rc)
		return rc;
	/* The children first, then their counts: one statement open at a time. */
	json_t *rows = json_array();
	while (rows && (rc = stmt_next(s)) == 1)
		json_array_append_new(rows, json_pack("{s:I, s:s, s:s, s:s}", "id", (json_int_t)stmt_int(s, 0), "name",
						      stmt_text(s, 1), "kind", stmt_text(s, 2), "path", stmt_text(s, 3)));
	stmt_done(s);
	rc = !rows ? WG_ERR_NOMEM : rc < 0 ? -rc : 0;
	size_t i;
	json_t *row;
	json_array_foreach(rows, i, row) {
		if (rc)
			break;
		json_t *fig = node_figures(r, k, json_integer_value(json_object_get(row, "id")),
					   json_string_value(json_object_get(row, "name")),
					   json_string_value(json_object_get(row, "kind")),
					   json_string_value(json_object_get(row, "path")), &rc);
		if (fig && json_array_append_new(items, fig))
			rc = WG_ERR_NOMEM;
	}
	json_decref(rows);
	return rc;
}

static int stats_children(wg_req *r)
{
	int64_t node;
	char path[WG_MAX_GRID_PATH], name[256] = "", kind[32] = "";
	struct counted k = { .role = r->user->role };
	int rc;
	if (req_query_int(r, "node", 1, INT64_MAX, r->user->scope_node_id, &node) ||
	    resource_node_path(r, node, "node", path, sizeof path))
		return r->fail.code;
	wg_stmt *s;
	wg_param p[] = { WG_PINT(node) };
	if ((rc = store_query(r->db, "SELECT name, kind FROM grid_nodes WHERE id = ?", p, 1, &s)))
		return req_fail(r, rc, NULL, NULL, NULL);
	if (stmt_next(s) == 1) {
		snprintf(name, sizeof name, "%s", stmt_text(s, 0));
		snprintf(kind, sizeof kind, "%s", stmt_text(s, 1));
	}
	stmt_done(s);
	collect(&k);
	json_t *items = json_array(), *out = NULL;
	json_t *self = items ? node_figures(r, &k, node, name, kind, path, &rc) : NULL;
	if (!items)
		rc = WG_ERR_NOMEM;
	if (!rc)
		rc = children_figures(r, &k, node, items);
	if (!rc && (!(out = json_object()) || json_object_set(out, "node", self) || json_object_set(out, "items", items)))
		rc = WG_ERR_NOMEM;
	json_decref(self);
	json_decref(items);
	if (rc) {
		json_decref(out);
		return req_fail(r, rc, NULL, NULL, NULL);
	}
	return req_reply(r, 200, out);
}

static const struct wg_route stats_routes[] = {
	{ "GET", "/api/v1/stats/children", stats_children, NULL, ROUTE_SNAPSHOT, NULL },
};

const struct wg_module stats_api = {
	.name = "stats", .zh = "统计", .en = "statistics",
	.routes = stats_routes, .nroutes = WG_COUNT(stats_routes),
};
