/* The resources declared by the modules: their columns and statements
 * built once, their routes, and the columns of other tables that take part
 * in what is done for every resource (re-encryption, subtree moves). */
#include "core/resource/resource_int.h"
#include "core/lib/err.h"
#include "core/lib/limits.h"
#include "core/app/module.h"
#include "core/lib/mem.h"

#include <stdio.h>
#include <string.h>

struct resource_routes {
	char collection[64], item[80], import[80], export[80];
	struct wg_route routes[7];
};

static struct resource_routes registered[WG_MAX_RESOURCES];
static struct wg_resource *resources[WG_MAX_RESOURCES];
static size_t nregistered;

/* Columns of tables that are not resources yet take part in what the
 * generic layer does for every resource (re-encryption, subtree moves). */
struct extra_columns {
	struct { const char *table, *column; } at[WG_MAX_EXTRA_COLUMNS];
	size_t n;
};

static struct extra_columns extras[2];   /* by enum resource_extra */

static int extra_add(struct extra_columns *l, const char *table, const char *column)
{
	if (l->n == WG_COUNT(l->at))
		return WG_ERR_TOO_LARGE;
	l->at[l->n].table = table;
	l->at[l->n++].column = column;
	return 0;
}

size_t resource_count(void) { return nregistered; }
struct wg_resource *resource_at(size_t i) { return i < nregistered ? resources[i] : NULL; }
size_t resource_extra_count(enum resource_extra kind) { return extras[kind].n; }

void resource_extra_at(enum resource_extra kind, size_t i, const char **table, const char **column)
{
	*table = extras[kind].at[i].table;
	*column = extras[kind].at[i].column;
}

const struct wg_resource *resource_named(const char *name)
{
	for (size_t i = 0; i < nregistered; i++)
		if (strcmp(resources[i]->name, name) == 0)
			return resources[i];
	return NULL;
}

void resource_release_all(void)
{
	for (size_t i = 0; i < nregistered; i++) {
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
	extras[EXTRA_SECRET].n = 0;
	extras[EXTRA_PATH].n = 0;
}

int resource_add_secret_column(const char *table, const char *column)
{
	return extra_add(&extras[EXTRA_SECRET], table, column);
}

int resource_add_path_column(const char *table, const char *column)
{
	return extra_add(&extras[EXTRA_PATH], table, column);
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
	if (nregistered == WG_MAX_RESOURCES)
		return WG_ERR_TOO_LARGE;
	for (size_t i = 0; res->cache_reads && i < res->nfields; i++)
		if (res->fields[i].flags & FF_SECRET || res->hooks.decorate)
			return WG_ERR_INTERNAL;   /* an answer that depends on the reader cannot be kept */
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
		{ "GET",    rr->collection, resource_handle_list,   res->read_right,  ROUTE_SNAPSHOT, res },
		{ "POST",   rr->collection, resource_handle_create, res->write_right, ROUTE_WRITE | ROUTE_JSON, res },
		{ "GET",    rr->item,       resource_handle_get,    res->read_right,  0, res },
		{ "PATCH",  rr->item,       resource_handle_patch,  res->write_right, ROUTE_WRITE | ROUTE_JSON, res },
		{ "DELETE", rr->item,       resource_handle_delete, res->write_right, ROUTE_WRITE, res },
		{ "POST",   rr->import,     resource_handle_import, res->write_right, ROUTE_WRITE | ROUTE_UPLOAD, res },
		{ "GET",    rr->export,     resource_handle_export, res->read_right, ROUTE_SNAPSHOT, res },
	};
	_Static_assert(sizeof routes == sizeof rr->routes, "route slots");
	memcpy(rr->routes, routes, sizeof routes);
	return router_add(rr->routes, sizeof routes / sizeof routes[0]);
}
