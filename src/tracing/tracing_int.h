/* Between the files of the tracing module only. */
#ifndef WG_TRACING_INT_H
#define WG_TRACING_INT_H

#include "core/app/module.h"
#include "core/http/http.h"
#include "core/resource/resource.h"
#include "grid/grid.h"
#include "registry/registry.h"
#include "trace/trace.h"
#include "tracing/tracing.h"

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#define QR_PREFIX "WG-VENUE:"
/* A scan without a time of leaving is a stay of half an hour. */
#define TRACING_DEFAULT_STAY_SECONDS (30 * 60)

/* The code in what a scanner read: "WG-VENUE:<code>", "<public_url>/v/<code>" or the code itself. */
const char *venue_code_of(const char *scanned);

/* scans.c, for the door page too: the venue a code names (422 naming
 * venue_code when none), one stay appended to the engine's store, and its
 * audit record, which names no phone. */
int scans_venue_by_code(wg_req *r, const char *code, int64_t *id, char *path, size_t size);
int scans_append(wg_req *r, uint32_t trace_id, int64_t venue, int64_t t_in, int64_t t_out, bool *duplicate);
int scans_audit(wg_req *r, int64_t venue, const char *path, uint32_t trace_id, bool is_subject);
/* The change a stay's audit record is chained by, written as the digest
 * reads it (keys in order): {"person_id","subject_id"} and the place. */
int scans_stay_change(wg_buf *b, uint32_t trace_id, bool is_subject, const char *place_key, int64_t place);

/* scan_memo.c: the venue of a code and a person's place as read from the
 * store under STAMP (store_stamp), kept and given back while the stamp is
 * the same; false when not kept (or STAMP is 0). */
bool scan_memo_venue(uint64_t stamp, const char *code, int64_t *id, char *path, size_t size);
void scan_memo_keep_venue(uint64_t stamp, const char *code, int64_t id, const char *path);
bool scan_memo_person(uint64_t stamp, int64_t id, char *path, size_t size);
void scan_memo_keep_person(uint64_t stamp, int64_t id, const char *path);

/* The server's scan store (store.c), NULL when not open. Appends and
 * single queries use it as it is; the lock keeps several queries one
 * snapshot (a case's trace) without holding up appends. */
trace_store *tracing_store(void);
trace_store *tracing_store_lock(void);
void tracing_store_unlock(void);
const struct trace_params *tracing_params(void);
int  tracing_start(struct wg_app *app);
void tracing_stop(struct wg_app *app);

extern struct wg_resource venue_resource, case_resource;

/* Engine ids from here up are phone-only subjects (trace_subjects), below
 * it registry persons (persons.id). */
#define CASES_SUBJECT_FIRST_ID 2147483648LL

/* The subject a scan or dwell names: a registry person or a mobile number. */
struct cases_subject {
	int64_t person_id;     /* 0 when a phone was given */
	char phone[32];        /* canonical mobile number, "" when a person was given */
	/* The person's node path, when the caller read it already in the same
	 * statement as something else (a scan reads it with its venue): then
	 * cases_subject_resolve does not read it again. */
	bool path_read;        /* path is what the registry holds now */
	bool found;            /* ... and the person exists */
	char path[WG_MAX_GRID_PATH];
};

/* Checks the body's person_id | phone (exactly one, a valid mobile); 422 naming the field. */
int cases_subject_parse(wg_req *r, struct cases_subject *in);
/* The engine id of the subject: the person (404 unless it exists inside the
 * caller's scope), the one registry person with that phone wherever it
 * lives, or the phone's own subject, created on first sight. *is_subject
 * says which kind of id it is. */
int cases_subject_resolve(wg_req *r, const struct cases_subject *in, uint32_t *trace_id, bool *is_subject);
/* A stored phone (phone_enc) as answers show it: masked unless r->reveal; null when "". */
json_t *cases_phone_json(wg_req *r, const char *enc);

/* "apply", before the community assignment: each contact's registry person
 * (phone match, resolution) and node path are brought up to date. */
int cases_locate_prepare(wg_req *r, int64_t case_id);
/* "apply", after it: the contacts still without a community join the queue;
 * open entries whose contact is placed now leave it. */
int cases_locate_enqueue(wg_req *r, int64_t case_id);

/* wangge demo: venues, two weeks of scans, a case traced and applied (demo.c). */
int tracing_demo(struct wg_demo *d);

/* Handlers (module.c routes them). */
int venue_qr(wg_req *r);
int venue_qr_png(wg_req *r);
int venue_scan_count(wg_req *r);
int scan_create(wg_req *r);
int scans_import(wg_req *r);
int door_venue(wg_req *r);
int door_scan(wg_req *r);
int dwell_create(wg_req *r);
int case_trace(wg_req *r);
int cases_trace_batch(wg_req *r);
int case_contacts(wg_req *r);
int case_apply(wg_req *r);
int contacts_handed(wg_req *r);
int contacts_export(wg_req *r);
int locate_list(wg_req *r);
int locate_resolve(wg_req *r);

#endif
