/* The tracing module's rights (rights.def), defined once. */
#include "tracing/tracing.h"

#define RIGHT WG_RIGHT_DEFINE
#include "tracing/rights.def"
#undef RIGHT

struct wg_right *const tracing_rights[] = {
#define RIGHT WG_RIGHT_ENTRY
#include "tracing/rights.def"
#undef RIGHT
	NULL,
};
