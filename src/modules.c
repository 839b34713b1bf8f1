/* The domain modules, the one list that names them. A new domain is a
 * folder under src/ and one line here (docs/architecture.md, "Adding a
 * domain"). Order matters where a module uses another's public header or
 * demo data: the grid first, then what hangs on it. */
#include "core/app/module.h"

#include <stddef.h>

extern const struct wg_module grid_module, registry_module, tracing_module, control_module;
#ifdef WG_EXAMPLE_MODULE
extern const struct wg_module example_module;
#endif

const struct wg_module *const wg_modules[] = {
	&grid_module,
	&registry_module,
	&tracing_module,
	&control_module,
#ifdef WG_EXAMPLE_MODULE
	&example_module,  /* tests/modules/example: compiled into the test build only */
#endif
	NULL,
};
