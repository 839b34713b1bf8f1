/* Tracing: venues and their scan codes, scans and stays, cases traced by
 * the engine (src/trace/) and the contact lists handed to communities.
 * What other modules may use of it:
 *
 *   its rights (TRACE_RUN, SCAN_WRITE);
 *
 *   the event "case_applied" (core/app/events.h), announced when a case's
 *   contacts are handed to their communities (POST /api/v1/cases/{id}/apply),
 *   with the payload {case_id, person_id (the index person), onset_at,
 *   preset ("v8", "v9", "twenty"), node_path (the case's), options (the
 *   request body: members the listeners name)}; listeners may add members
 *   to the answer;
 *
 *   the view tracing_contacts, one row per contact handed out (duplicates
 *   left out): case_id, kind ('close', 'secondary', 'companion'), rank,
 *   person_id (the registry person, NULL for a phone nobody has yet),
 *   subject_id (the phone-only subject, else NULL), community_id (NULL until
 *   placed), node_path, hit_in, hit_out (the contact's stay at the strongest
 *   event, Unix seconds), overlap_min, total_overlap_min. */
#ifndef WG_TRACING_H
#define WG_TRACING_H

#include "core/auth/rbac.h"

#define RIGHT WG_RIGHT_EXTERN
#include "tracing/rights.def"
#undef RIGHT
extern struct wg_right *const tracing_rights[];

#endif
