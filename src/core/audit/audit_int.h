/* Between the files of the audit trail only: the chain (audit.c), its
 * anchor outside the database (anchor.c), the archive files (archive.c)
 * and the verifier (verify.c). */
#ifndef WG_AUDIT_INT_H
#define WG_AUDIT_INT_H

#include "core/app/app.h"
#include "core/store/store.h"

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#define AUDIT_GENESIS_HASH "0000000000000000000000000000000000000000000000000000000000000000"

/* One record of the chain as it is hashed. EVENTS is how many events of
 * one kind it stands for (several scans at one venue): 1, or more, never 0
 * (a row read from an older store says 1). */
struct audit_row {
	int64_t id, at, user_id, events;
	const char *username, *address, *action, *resource, *record_id, *node_path, *change_hash, *prev_hash;
};

/* Queued reads are written this many to a statement: one statement's fixed
 * cost (binding, stepping, resetting) shared by many rows. */
#define AUDIT_ROWS_PER_INSERT 32

/* Keyed BLAKE2b-256 over the previous hash and the record's fields, as hex. */
void audit_row_hash(const unsigned char key[32], const struct audit_row *a, char out[65]);
/* The head's own MAC: keyed like the records, over its id and hash. */
void audit_head_mac(const unsigned char key[32], int64_t last_id, const char *last_hash, char out[65]);

/* The head as stored (last_id 0 and the genesis hash for an empty trail). */
struct audit_head {
	int64_t last_id;
	char last_hash[65];
	char mac[65];
};
int audit_head_read(wg_conn *c, struct audit_head *h);

/* The chain's primitives (chain.c), in the caller's transaction: the head
 * read and locked, n rows (1 or AUDIT_ROWS_PER_INSERT) chained after prev
 * (which then holds the last hash), the head moved with its MAC. */
int audit_head_lock(wg_conn *c, int64_t *last_id, char last_hash[65]);
int audit_append_rows(wg_conn *c, const unsigned char key[32], struct audit_row *rows, size_t n, char prev[65]);
int audit_head_store(struct wg_app *app, wg_conn *c, int64_t last_id, const char *last_hash);

/* SHA-256 of the change's canonical JSON as hex ("" for none): what the
 * chain keeps of a change instead of the change itself. */
int audit_change_hash(json_t *change, char out[65]);

/* Appends one record in the caller's transaction (audit_write's core). */
int audit_append(struct wg_app *app, wg_conn *c, int64_t user_id, const char *username, const char *address,
		 int64_t now, const char *action, const char *resource, const char *record_id, const char *node_path,
		 const char *change_hash);

/* ---- the anchor (anchor.c) ---- */

/* A signed checkpoint: the head at a moment, one line of audit/checkpoints. */
struct audit_checkpoint {
	int64_t seq, at, last_id;
	char last_hash[65];
	char prev[65];            /* hash of the line before, zeros for the first */
	char line_hash[65];       /* of this line */
};
#define AUDIT_CHECKPOINT_LINE 512

/* Writes "WGCP1 seq at last_id last_hash prev" and its signature into line. */
size_t audit_checkpoint_format(const struct wg_app *app, const struct audit_checkpoint *cp, char line[AUDIT_CHECKPOINT_LINE]);
/* Reads a checkpoint out of a line (anywhere in it: a log line will do);
 * 0, or 1 when the line holds none, or WG_ERR_VALIDATION when its signature fails. */
int  audit_checkpoint_parse(const unsigned char pk[32], const char *line, size_t n, struct audit_checkpoint *cp);

#endif
