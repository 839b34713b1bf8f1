/* The grid module's rights (rights.def), defined once. */
#include "grid/grid.h"

#define RIGHT WG_RIGHT_DEFINE
#include "grid/rights.def"
#undef RIGHT

struct wg_right *const grid_rights[] = {
#define RIGHT WG_RIGHT_ENTRY
#include "grid/rights.def"
#undef RIGHT
	NULL,
};
