/* The control module's rights (rights.def), defined once. */
#include "control/control.h"

#define RIGHT WG_RIGHT_DEFINE
#include "control/rights.def"
#undef RIGHT

struct wg_right *const control_rights[] = {
#define RIGHT WG_RIGHT_ENTRY
#include "control/rights.def"
#undef RIGHT
	NULL,
};
