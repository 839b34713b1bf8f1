/* The grid tree: county → street/town → community/village → grid → building. */
#ifndef WG_GRID_H
#define WG_GRID_H

#include "core/http.h"
#include "core/store.h"

int grid_register(void);
/* Creates a node directly (init, demo, import); parent_id 0 makes a root. */
int grid_create_node(wg_conn *c, int64_t parent_id, const char *kind, const char *code, const char *name,
		     int64_t now, int64_t *id);
int grid_add_leader(wg_conn *c, int64_t node_id, int64_t user_id, const char *duty);
/* Level of a kind (province 1 … building 7), 0 when unknown. */
int grid_kind_level(const char *kind);

#endif
