/* A tiny domain, compiled into the test build only: what adding a module
 * takes (docs/architecture.md, "Adding a domain"). Its public header. */
#ifndef WG_EXAMPLE_H
#define WG_EXAMPLE_H

#include "core/auth/rbac.h"

#define RIGHT WG_RIGHT_EXTERN
#include "rights.def"
#undef RIGHT
extern struct wg_right *const example_rights[];

#endif
