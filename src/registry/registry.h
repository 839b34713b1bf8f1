/* The registry (摸排): households and persons on the grid. What other
 * modules may use of it:
 *
 *   its rights (PERSON_READ, PERSON_WRITE, PERSON_REVEAL), so that lists of
 *   people elsewhere ask for the same rights;
 *
 *   the view registry_people, its public shape for set-based SQL (a
 *   domain never reads the registry's tables): one row per person,
 *     id, grid_id, node_path, household_id, name, gender, birth_date,
 *     phone_enc, phone_bidx (the person's phone: encrypted as column
 *     "phone", blind-indexed as column "phone"; crypt.h),
 *     address (the household's, '' without one),
 *     id_number_bidx (the ID number's blind index, keyed as column
 *     "id_number"; migration 0020).
 *   The columns stay as they are named here whatever becomes of the tables. */
#ifndef WG_REGISTRY_H
#define WG_REGISTRY_H

#include "core/auth/rbac.h"

#define RIGHT WG_RIGHT_EXTERN
#include "registry/rights.def"
#undef RIGHT
extern struct wg_right *const registry_rights[];

#endif
