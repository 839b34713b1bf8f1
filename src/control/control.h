/* Control lists (管控名单): what a community does with the names tracing
 * hands it. Control records (category, mode, dates from a versioned
 * protocol preset, a responsibility team), daily checks and alerts,
 * release and transfer, isolation sites, door sensors, mass NAT rounds and
 * the roll-ups of all of it. What other modules may use of it:
 *
 *   its rights (CONTROL_READ …), so that pages elsewhere ask for the same.
 *
 * It listens to tracing's "case_applied" (tracing/tracing.h): with
 * {"open_controls": true} in the apply request's body it opens a record for
 * every contact of the case that is a registry person. */
#ifndef WG_CONTROL_H
#define WG_CONTROL_H

#include "core/auth/rbac.h"

#define RIGHT WG_RIGHT_EXTERN
#include "control/rights.def"
#undef RIGHT
extern struct wg_right *const control_rights[];

#endif
