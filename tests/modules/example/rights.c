/* The example module's rights (rights.def), defined once. */
#include "example.h"

#define RIGHT WG_RIGHT_DEFINE
#include "rights.def"
#undef RIGHT

struct wg_right *const example_rights[] = {
#define RIGHT WG_RIGHT_ENTRY
#include "rights.def"
#undef RIGHT
	NULL,
};
