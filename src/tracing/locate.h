/* Who a traced contact is, when a scan knew only a phone number, and the
 * queue of contacts "apply" could not place (cases_locate.c). Used by the
 * scan, dwell and apply handlers of cases.c. */
#ifndef WG_CASES_LOCATE_H
#define WG_CASES_LOCATE_H

#include "core/http/http.h"

#include <jansson.h>

#include <stdbool.h>
#include <stdint.h>

/* Engine ids from here up are phone-only subjects (trace_subjects), below
 * it registry persons (persons.id). */
#define CASES_SUBJECT_FIRST_ID 2147483648LL

/* The subject a scan or dwell names: a registry person or a mobile number. */
struct cases_subject {
	int64_t person_id;     /* 0 when a phone was given */
	char phone[32];        /* canonical mobile number, "" when a person was given */
};

/* Checks the body's person_id | phone (exactly one, a valid mobile); 422 naming the field. */
int cases_subject_parse(wg_req *r, struct cases_subject *in);
/* The engine id of the subject: the person (checked to exist), the one
 * registry person with that phone, or the phone's own subject, created on
 * first sight. *is_subject says which kind of id it is. */
int cases_subject_resolve(wg_req *r, const struct cases_subject *in, uint32_t *trace_id, bool *is_subject);

/* "apply", before the community assignment: each contact's registry person
 * (phone match, resolution) and node path are brought up to date. */
int cases_locate_prepare(wg_req *r, int64_t case_id);
/* "apply", after it: the contacts still without a community join the queue;
 * open entries whose contact is placed now leave it. */
int cases_locate_enqueue(wg_req *r, int64_t case_id);

/* A stored phone (phone_enc) as answers show it: masked unless r->reveal; null when "". */
json_t *cases_phone_json(wg_req *r, const char *enc);

/* From cases.c: runs a list query whose last two parameters are limit + 1
 * and cursor, and answers {"items": [row()…], "next_cursor"}. */
int cases_page(wg_req *r, const char *sql, const wg_param *p, size_t n, int64_t limit, int64_t cursor,
	       json_t *(*row)(wg_req *r, const wg_stmt *s));

/* The queue's routes and the subjects' secret column (key rotation). */
int cases_locate_register(void);

#endif
