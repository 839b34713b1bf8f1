/* Audit archive files: records older than audit_archive_days leave the live
 * table for compressed files in the data directory, audit/archive/:
 *
 *   NNNNNN-FIRST-LAST.tsv.gz   the records, one per line, tab-separated
 *                              (zcat reads them): id at user_id username
 *                              address action resource record_id node_path
 *                              change_hash prev_hash hash; \t \n \\ in text
 *                              written as \\t \\n \\\\
 *   NNNNNN-FIRST-LAST.sig      one line: WGARCH1 seq first last count
 *                              prev_hash last_hash content sig, where content
 *                              is the BLAKE2b-256 of the uncompressed lines
 *                              and sig the Ed25519 signature (keys/audit_sign.key)
 *                              of everything before it
 *
 * A file is written once (0400, renamed into place), listed in the table
 * audit_archives and announced by a chained record "archive"; only then are
 * its records deleted from the live table, in the same transaction. Only
 * records a signed checkpoint covers are archived. `wangge audit verify`
 * reads the archives in order and the live chain after them as one chain. */
#ifndef WG_AUDIT_ARCHIVE_H
#define WG_AUDIT_ARCHIVE_H

#include "core/audit/audit_int.h"

#include <stddef.h>
#include <stdint.h>

#define AUDIT_ARCHIVE_LINE 8192     /* longest line a reader takes (a record is far shorter) */

struct audit_archive_row {
	struct audit_row row;
	const char *hash;
};

/* A record as its line (with the newline); 0 when it does not fit. */
size_t audit_archive_format_line(const struct audit_archive_row *r, char *out, size_t size);
/* A line (without its newline) back into a record whose texts live in buf;
 * 0, or WG_ERR_VALIDATION naming nothing when the line is not one. */
int audit_archive_parse_line(const char *line, size_t n, struct audit_archive_row *r, char *buf, size_t size);

/* What an archive's signature line says. */
struct audit_archive_info {
	int64_t seq, first_id, last_id, count;
	char prev_hash[65], last_hash[65], content[65];
};

/* Archives the anchored records older than `before` (Unix seconds), up to
 * WG_AUDIT_ARCHIVE_MAX_RECORDS a file; *records how many moved. */
int audit_archive_run(struct wg_app *app, int64_t before, int64_t *records);

/* Reads the archive listed as info (from audit_archives): checks its
 * signature line against info and the signing key, then calls row() for
 * every record in order and checks the content hash at the end. why
 * receives what is wrong (zh / en). */
int audit_archive_read(const struct wg_app *app, const char *base, const struct audit_archive_info *info,
		       int (*row)(void *ctx, const struct audit_archive_row *r), void *ctx, char *why, size_t whyn);

#endif
