/* The audit trail: append-only, hash-chained with a keyed hash.
 *
 * Writes are audited inside the write's own transaction (the record exists
 * exactly when the change does). Reads of personal data are queued and
 * written by a background thread in batches (at most WG_AUDIT_FLUSH_MS
 * later), so an audited read costs no database write of its own.
 * Each record's hash covers the previous record's hash and the record's
 * fields, keyed with DIR/keys/audit.key: editing, inserting or deleting a
 * record breaks the chain, and it cannot be recomputed without the key.
 * The head (audit_head) is keyed too, and signed checkpoints in the data
 * directory (anchor.c) show a chain cut short or an older copy restored.
 *
 * Reads of what is not personal data (the tree, venues) are counted per
 * user, resource and minute (action "reads", record_id the count) instead
 * of one record each; records older than audit_archive_days move to signed
 * archive files (archive.h).
 */
#ifndef WG_AUDIT_H
#define WG_AUDIT_H

#include "core/app/app.h"
#include "core/http/http.h"

#include <jansson.h>

#define WG_AUDIT_FLUSH_MS 20
#define WG_AUDIT_QUEUE_MAX 100000

struct audit_event {
	const char *action;     /* create, update, delete, read, reveal, login, login_failed, logout, move, import, export */
	const char *resource;   /* grids, users, session … */
	const char *record_id;
	const char *node_path;
	json_t *change;         /* hashed into change_hash (not stored), may be NULL */
	const char *change_hash;/* instead of hashing change: a digest made by the caller (an import's file), 64 hex */
};

/* In the caller's transaction. who may be NULL (system, or failed sign-in with username in ev). */
int audit_write(struct wg_app *app, wg_conn *c, const struct wg_principal *who, const char *username,
		const char *address, int64_t now, const struct audit_event *ev);
/* Convenience for handlers: audit as the request's user, in its transaction. */
int audit_req(wg_req *r, const char *action, const char *resource, int64_t record_id,
	      const char *node_path, json_t *change);
/* Queues an audited read (action "read", "reveal" or "export"); 503 busy when the queue is full. */
int audit_read(wg_req *r, const char *action, const char *resource, int64_t record_id, const char *node_path);
/* Queues the record of an event whose own record is durable elsewhere (a
 * scan, in the scan log): chained by the flusher within milliseconds, like
 * reads, so that thousands a second do not each take the chain's head in
 * their own transaction. The change is hashed now. */
int audit_event(wg_req *r, const char *action, const char *resource, int64_t record_id, const char *node_path,
		json_t *change);
/* The same with the change already written as its digest reads it: JSON,
 * compact, keys sorted (json_dumps with JSON_COMPACT | JSON_SORT_KEYS), so
 * that the busiest events (scans) need not build a tree and dump it. */
int audit_event_text(wg_req *r, const char *action, const char *resource, int64_t record_id, const char *node_path,
		     const char *change, size_t len);
/* One of many events of one kind (the scans at a venue), its change
 * written as audit_event_text's: gathered with the others the same user
 * records from the same address at the same record and node in the same
 * minute, until the queue is next written (20 ms), into one record whose
 * `events` is their number and whose change digest is SHA-256 of their
 * changes in order, each after the first preceded by a newline (one event:
 * exactly audit_event_text's record). Not serving: audit_event_text. */
int audit_event_gathered(wg_req *r, const char *action, const char *resource, int64_t record_id, const char *node_path,
			 const char *change, size_t len);
/* The digest a change is chained by: SHA-256 of its text, 64 hex. */
void audit_text_hash(const char *text, size_t len, char out[65]);
/* Counts n reads of a resource that is not personal data: one chained
 * record per user, address, resource and minute ("reads", record_id the
 * count, node_path the reader's scope), written when the minute is over. */
int audit_count(wg_req *r, const char *resource, int64_t n);

int  audit_queue_start(struct wg_app *app);
void audit_queue_stop(struct wg_app *app);  /* flushes what is queued */

struct audit_verify_result {
	int64_t records;        /* checked, archives included */
	int64_t checkpoints;    /* signed checkpoints read */
	int64_t archives;       /* archive files read */
	int64_t first_bad_id;   /* 0 when the trail is intact */
	char reason[512];
};
/* Checks the archives, the live chain, its head and the checkpoints (and
 * the checkpoint lines of extra_checkpoints, a copy kept elsewhere such as
 * the log, when not NULL). 0 with first_bad_id set when the trail is not
 * intact; a wg_err when it could not be read. */
int audit_verify(struct wg_app *app, const char *extra_checkpoints, struct audit_verify_result *res);

/* Signs the head into DATA/audit/checkpoints and the log, and records that
 * in the chain, unless nothing was written since the last checkpoint. */
int audit_checkpoint(struct wg_app *app, bool *written);

#endif
