/* Between the files of the registry module only. */
#ifndef WG_REGISTRY_INT_H
#define WG_REGISTRY_INT_H

#include "core/app/module.h"
#include "core/store/migrate.h"
#include "core/resource/resource.h"
#include "registry/registry.h"

#define TEXT(name, flags, lo, hi, zh) { name, FT_TEXT, flags, lo, hi, NULL, zh, NULL, NULL, NULL }

/* The groups the work looks after (DOMAIN §2), and the column names of rosters. */
extern const char *const person_tags[];
extern const char *const address_names[], *const phone_names[], *const ignored_names[];

extern struct wg_resource household_resource, person_resource;

/* The grid of a household the caller may see (404 naming household_id otherwise). */
int household_grid(wg_req *r, int64_t household_id, int64_t *grid_id);
/* The household at this address of the grid, made on first sight (a roster names households by address). */
int household_by_address(wg_req *r, int64_t grid, const char *address, int64_t *id);
/* Batching, the grid's households are read into the import memo at once (see households.c). */
int household_prefetch_grid(wg_req *r, int64_t grid);
/* PostgreSQL, an import's chunk: the households of these grids, in one query. */
int household_prefetch_grids(wg_req *r, const int64_t *grids, size_t n);
/* POST /api/v1/persons/{id}/merge */
int person_merge(wg_req *r);
/* wangge demo: a synthetic population of the demo county (demo.c). */
int registry_demo(struct wg_demo *d);

#endif
