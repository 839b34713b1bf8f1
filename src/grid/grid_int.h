/* Between the files of the grid module only. */
#ifndef WG_GRID_INT_H
#define WG_GRID_INT_H

#include "core/app/module.h"
#include "grid/grid.h"

int grid_declare(void);
/* GET /api/v1/grids/{id}/children, POST …/move, PUT …/leaders */
int grid_children(wg_req *r);
int grid_move(wg_req *r);
int grid_set_leaders(wg_req *r);
/* wangge demo: the county's real towns and villages, grids and buildings, the demo accounts. */
int grid_demo(struct wg_demo *d);

/* The division tree embedded in the program (divisions.c). */
struct division {
	char code[16];
	char name[128];
};
/* The divisions directly under parent (a province, city, county or town code). */
int divisions_under(const char *parent, struct division **out, size_t *n);
/* The name of a division; WG_ERR_NOT_FOUND when there is none. */
int division_name(const char *code, char *name, size_t size);

#endif
