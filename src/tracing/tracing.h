/* Tracing: venues and their scan codes, scans and stays, cases traced by
 * the engine (src/trace/) and the contact lists handed to communities.
 * What other modules may use of it: its rights. */
#ifndef WG_TRACING_H
#define WG_TRACING_H

#include "core/auth/rbac.h"

#define RIGHT WG_RIGHT_EXTERN
#include "tracing/rights.def"
#undef RIGHT
extern struct wg_right *const tracing_rights[];

#endif
