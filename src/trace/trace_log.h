/* Internals of the scan log (trace_log.c, trace_logfile.c); not a public
 * API. docs/trace.md §3 describes the log, trace.h the calls and the
 * thread-safety contract. */
#ifndef WG_TRACE_LOG_H
#define WG_TRACE_LOG_H

#include "trace/trace_int.h"

#define TLOG_HEADER       64u
#define TLOG_FRAME_HEADER 32u
#define TLOG_MAX_FRAME    (1u << 20)   /* records in one frame */

/* ---- files (trace_logfile.c) ---------------------------------------------- */

/* What reading one log file found. */
struct tlog_file {
	struct trace_rec *recs;  /* n records in log order (wg_free) */
	size_t n;
	uint64_t first_lsn, end_lsn; /* of the records read (both 0 without frames) */
	bool has_frames;
	uint64_t valid_len;      /* bytes up to the end of the last good frame */
	uint64_t torn;           /* bytes after it: a torn tail, dropped */
};

int  tlog_path(const char *dir, uint32_t kind, uint64_t gen, char *buf, size_t cap);
bool tlog_parse_name(const char *name, uint32_t *kind, uint64_t *gen);
/* Reads and checks a whole log file. strict: the reader is the log's writer
 * (after a crash), for which a damaged last frame is an error; otherwise a
 * bad tail may be a frame still being written and is left out. */
int  tlog_read(const char *path, uint32_t kind, uint64_t gen, uint32_t max_len, bool strict,
	       struct tlog_file *out, struct trace_diag *d);
void tlog_file_free(struct tlog_file *f);
void tlog_frame_header(uint8_t hdr[TLOG_FRAME_HEADER], const struct trace_rec *recs, uint32_t count,
		       uint64_t lsn);
int  tlog_create(const char *dir, uint32_t kind, uint64_t gen, int *fd);
int  tlog_truncate(const char *path, uint64_t len);
int  tlog_list(const char *dir, uint32_t kind, uint64_t **gens, size_t *n);
int  tlog_fsync_dir(const char *dir);

/* ---- the log of a store (trace_log.c) ------------------------------------ */

/* Reads the log files of both kinds into the store (at open, before the
 * segments are listed: a fold that finishes in between leaves its records
 * in both, never in neither). */
int  trace_log_load(struct trace_store *s, bool owner, struct trace_diag *d);
/* After the segments are listed: generations a segment already holds
 * (folded before a crash removed the file) are dropped (and, by the
 * writer, deleted). */
int  trace_log_drop_folded(struct trace_store *s, bool owner);
void trace_log_free(struct trace_store *s);
/* Stops the folding thread, if any. */
void trace_log_stop(struct trace_store *s);

/* With s->mu held. */
size_t trace_log_count_locked(const struct trace_store *s, enum trace_kind kind);
bool   trace_log_has_locked(const struct trace_store *s, enum trace_kind kind, const struct trace_rec *r);
void   trace_log_span_locked(const struct trace_store *s, enum trace_kind kind, uint32_t *min_t, uint32_t *max_t);
uint64_t trace_log_visible_locked(const struct trace_store *s, enum trace_kind kind);

/* The log records a table must take in. */
struct trace_logsnap {
	struct tlog_gen **gens;   /* references held */
	size_t *from, *to;        /* record ranges, per generation */
	size_t ngens;
	uint64_t end_lsn;         /* every visible record below is in the snapshot or before it */
};
/* With s->mu held. full: every visible record of the unfolded generations
 * (for a table built from the segments listed at the same time); otherwise
 * the visible records with lsn >= from_lsn, folded or not. Returns 1 (and
 * holds nothing) when some of those are no longer kept in memory. */
int  trace_log_snap(struct trace_store *s, enum trace_kind kind, bool full, uint64_t from_lsn,
		    struct trace_logsnap *snap);
/* Without the lock: the snapshot's records, sorted and unique (wg_free). */
int  trace_logsnap_recs(const struct trace_logsnap *snap, struct trace_rec **recs, size_t *n);
/* Takes s->mu. */
void trace_logsnap_release(struct trace_store *s, struct trace_logsnap *snap);

/* Folds every unfolded generation of both kinds (w_mu held; for expiry). */
int  trace_log_fold_all(struct trace_store *s);

#endif
