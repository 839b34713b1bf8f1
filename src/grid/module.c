/* The grid module: the tree of places and its responsible people. */
#include "grid/grid_int.h"


static const struct wg_route grid_routes[] = {
	{ "GET",  "/api/v1/grids/{id}/children", grid_children,    &right_GRID_READ,  0, NULL },
	{ "POST", "/api/v1/grids/{id}/move",     grid_move,        &right_GRID_WRITE, ROUTE_WRITE | ROUTE_JSON, NULL },
	{ "PUT",  "/api/v1/grids/{id}/leaders",  grid_set_leaders, &right_GRID_WRITE, ROUTE_WRITE | ROUTE_JSON, NULL },
};

const struct wg_module grid_module = {
	.name = "grid", .zh = "网格", .en = "grid tree",
	.rights = grid_rights,
	.routes = grid_routes, .nroutes = WG_COUNT(grid_routes),
	.declare = grid_declare,
	.demo = grid_demo,
};
