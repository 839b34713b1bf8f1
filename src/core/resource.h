/* The generic resource layer: a resource is declared once (its fields, their
 * types and rules, which field hangs it on the grid) and this layer serves
 * list / get / create / update / delete / export for it, with validation,
 * scope checks, optimistic versions and audit. A domain file declares the
 * resource and adds hooks only for what is special about it.
 *
 * Every table served here has the columns id, version, created_at,
 * updated_at, the declared fields, and the path column named by
 * `path_column` (the materialized grid path used for scope).
 */
#ifndef WG_RESOURCE_H
#define WG_RESOURCE_H

#include "http.h"

#include <jansson.h>

enum wg_field_type { FT_TEXT, FT_INT, FT_ENUM, FT_REF, FT_BOOL, FT_DATE };

/* Field flags:
 *   FF_REQUIRED     must be given on create
 *   FF_READONLY     set by the server only; a client sending it gets 422
 *   FF_CREATE_ONLY  may be given on create, never changed by PATCH
 *   FF_FILTER       ?<name>=<value> filters lists by equality
 *   FF_SEARCH       ?q=<prefix> matches the start of this field
 *   FF_NULLABLE     null is an accepted value
 *   FF_SCOPE        a grid node id: the record hangs on that node (scope)
 */
#define FF_REQUIRED    (1u << 0)
#define FF_READONLY    (1u << 1)
#define FF_CREATE_ONLY (1u << 2)
#define FF_FILTER      (1u << 3)
#define FF_SEARCH      (1u << 4)
#define FF_NULLABLE    (1u << 5)
#define FF_SCOPE       (1u << 6)

struct wg_field {
	const char *name;              /* JSON key and column name */
	enum wg_field_type type;
	unsigned flags;
	int64_t min, max;              /* FT_INT: value range; FT_TEXT: length in characters */
	const char *const *values;     /* FT_ENUM: NULL-terminated list */
	const char *zh;                /* label for messages and export headers */
};

struct wg_resource;

struct wg_resource_hooks {
	/* Path under which a new record will hang; default: the FF_SCOPE field's node path. */
	int (*scope_of_new)(wg_req *r, const struct wg_resource *res, json_t *body, char *path, size_t size);
	/* After the INSERT, in the same transaction: set the record's own path etc. */
	int (*after_insert)(wg_req *r, const struct wg_resource *res, int64_t id, json_t *body, const char *parent_path);
	/* Extra checks on a validated body before create (id 0) or update. */
	int (*check)(wg_req *r, const struct wg_resource *res, int64_t id, json_t *body);
	/* Adds derived members to an item about to be returned. */
	int (*decorate)(wg_req *r, const struct wg_resource *res, json_t *item);
	/* Refuses or prepares a delete. */
	int (*before_delete)(wg_req *r, const struct wg_resource *res, int64_t id, const char *path);
};

struct wg_resource {
	const char *name;              /* URL segment: "grids" */
	const char *table;
	const char *zh, *en;
	const struct wg_field *fields;
	size_t nfields;
	const char *path_column;       /* "path" or "node_path" */
	int read_right, write_right;
	bool audit_reads;              /* every read is audited (personal data) */
	struct wg_resource_hooks hooks;
	/* Filled by resource_register(): the column list every SELECT uses. */
	char *select_columns;
};

/* Adds list, get, create, patch, delete and export routes for res. */
int resource_register(struct wg_resource *res);

/* Building blocks for domain handlers. */
int  resource_validate(wg_req *r, const struct wg_resource *res, json_t *body, bool create);
/* Loads one record in the caller's scope; 404 when absent or out of scope. path receives its path. */
int  resource_load(wg_req *r, const struct wg_resource *res, int64_t id, json_t **item, char *path, size_t size);
json_t *resource_row_json(const struct wg_resource *res, wg_stmt *s);
/* The path of a grid node inside the caller's scope (404 otherwise). */
int  resource_node_path(wg_req *r, int64_t node_id, const char *field, char *path, size_t size);
const struct wg_field *resource_field(const struct wg_resource *res, const char *name);
/* Moves every record of every registered resource from below old_path to below new_path. */
int  resource_rewrite_paths(wg_conn *c, const char *old_path, const char *new_path);
void resource_release_all(void);

#endif
