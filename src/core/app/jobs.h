/* Background jobs: a large import answers 202 at once and runs on its own
 * thread and connection, in one transaction; GET /api/v1/jobs/{id} shows its
 * progress and, when done, the import's answer. Jobs live in memory: a
 * restart forgets them (the import itself either committed or not). */
#ifndef WG_JOBS_H
#define WG_JOBS_H

#include "core/http/http.h"

#include <jansson.h>
#include <stdint.h>

/* Starts the import the request carries as a job; replies 202 with the job. */
int  jobs_start_import(wg_req *r);
/* Waits for running jobs to finish (server shutdown). */
void jobs_wait(void);
/* The job as GET /api/v1/jobs/{id} shows it, when it is user_id's; else NULL. */
json_t *jobs_find(int64_t id, int64_t user_id);

#endif
