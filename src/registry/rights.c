/* The registry module's rights (rights.def), defined once. */
#include "registry/registry.h"

#define RIGHT WG_RIGHT_DEFINE
#include "registry/rights.def"
#undef RIGHT

struct wg_right *const registry_rights[] = {
#define RIGHT WG_RIGHT_ENTRY
#include "registry/rights.def"
#undef RIGHT
	NULL,
};
