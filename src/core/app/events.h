/* Events between modules. A module announces what happened in a request
 * ("case_applied"); modules that come later in the module list listen, and
 * act in the same transaction: a listener's failure fails the request, so
 * the announcement and what it caused commit together or not at all.
 * A listener may add members to the announcer's answer, and names the
 * members of the announcer's request body it reads (the announcer accepts
 * those and refuses the rest, as bodies always do). This is how a later
 * module extends an earlier one without the earlier one knowing it. */
#ifndef WG_EVENTS_H
#define WG_EVENTS_H

#include "core/http/http.h"

#include <jansson.h>

struct wg_listener {
	const char *event;                 /* "case_applied" */
	/* payload: what the announcer says happened; answer: its reply so far */
	int (*handle)(wg_req *r, json_t *payload, json_t *answer);
	const char *const *options;        /* body members it reads, NULL-terminated; may be NULL */
};

int  events_listen(const struct wg_listener *listeners, size_t n);
void events_reset(void);
/* Calls every listener of event in order; returns r->fail.code of the first that fails. */
int  events_publish(wg_req *r, const char *event, json_t *payload, json_t *answer);
/* Checks r->body against own (the announcer's members) and the listeners' options: 422 unknown_field otherwise. */
int  events_check_body(wg_req *r, const char *event, const char *const *own);

#endif
