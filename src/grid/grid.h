/* The grid tree: county → street/town → community/village → grid → building,
 * and the people responsible at each node. What other modules may use. */
#ifndef WG_GRID_H
#define WG_GRID_H

#include "core/auth/rbac.h"
#include "core/http/http.h"
#include "core/store/store.h"

#define RIGHT WG_RIGHT_EXTERN
#include "grid/rights.def"
#undef RIGHT
extern struct wg_right *const grid_rights[];

/* Creates a node directly (init, demo, import); parent_id 0 makes a root. */
int grid_create_node(wg_conn *c, int64_t parent_id, const char *kind, const char *code, const char *name,
		     int64_t now, int64_t *id);
/* Grid nodes in the caller's scope with this code: *found is 0, 1 or 2 (two or
 * more), *id the one found. Fails only when the store does. */
int grid_find_by_code(wg_req *r, const char *code, int64_t *id, int *found);
int grid_add_leader(wg_conn *c, int64_t node_id, int64_t user_id, const char *duty);
/* Imports name a record's grid by its code (网格编码): the column names
 * people use for it, the one node with that code in the caller's scope
 * (422 naming grid_code otherwise; remembered for the import), and the
 * import_row step that turns a row's grid_code into its grid_id. */
extern const char *const grid_code_names[];
int grid_by_code(wg_req *r, const char *code, int64_t *id);
/* PostgreSQL, an import's chunk: the codes looked up in one query, each
 * found once in the caller's scope remembered as grid_by_code() remembers
 * it (the others are left to it, row by row). Fails only when the store does. */
int grid_by_codes(wg_req *r, const char *const *codes, size_t n);
/* An import's row: its grid_code (if any) replaced by the grid_id it names;
 * *grid (unless NULL) the row's grid_id then, 0 if none. */
int grid_code_to_id(wg_req *r, json_t *row, int64_t *grid);
/* Level of a kind (province 1 … building 7), 0 when unknown. */
int grid_kind_level(const char *kind);

#endif
