/* Internals of the scan log (trace_log.c, trace_logfile.c); not a public
 * API. docs/trace.md §3 describes the log, trace.h the calls and the
 * thread-safety contract. */
#ifndef WG_TRACE_LOG_H
#define WG_TRACE_LOG_H

#include "trace/trace_int.h"

#define TLOG_HEADER       64u
#define TLOG_ROOM         (4u << 20)  /* zeros the writer writes ahead of its frames */
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
	uint64_t room;           /* or zeros to the end: room the writer made ahead */
};

int  tlog_path(const char *dir, uint32_t kind, uint64_t gen, char *buf, size_t cap);
bool tlog_parse_name(const char *name, uint32_t *kind, uint64_t *gen);
/* Reads and checks a whole log file. strict: the reader is the log's writer
 * (after a crash), for which a damaged last frame is an error; otherwise a
 * bad tail may be a frame still being written and is left out. */
int  tlog_read(const char *path, uint32_t kind, uint64_t gen, uint32_t max_len, bool strict,
	       struct tlog_file *out, struct trace_diag *d);
void tlog_file_free(struct tlog_file *f);
/* tlog_read of a file already in memory (d->what left to the caller). */
int  tlog_parse(const uint8_t *buf, size_t size, uint32_t kind, uint64_t gen, uint32_t max_len, bool strict,
		struct tlog_file *out, struct trace_diag *d);
/* The 64-byte header of a log file. */
void tlog_file_header(uint8_t hdr[TLOG_HEADER], uint32_t kind, uint64_t gen);
void tlog_frame_header(uint8_t hdr[TLOG_FRAME_HEADER], const struct trace_rec *recs, uint32_t count,
		       uint64_t lsn);
int  tlog_create(const char *dir, uint32_t kind, uint64_t gen, int *fd);
struct tlog_gen;
/* The writer's: n bytes at g->data_end, room made ahead (trace_logfile.c). */
int  tlog_write(struct tlog_gen *g, const void *p, size_t n);
int  tlog_truncate(const char *path, uint64_t len);
int  tlog_list(const char *dir, uint32_t kind, uint64_t **gens, size_t *n);
int  tlog_fsync_dir(const char *dir);

/* ---- the log in memory (trace_loggen.c, trace_log.c, trace_logfold.c) ---- */

#define TLOG_CHUNK_BITS  16u
#define TLOG_CHUNK       (1u << TLOG_CHUNK_BITS)
#define TLOG_MAX_GEN     (1u << 30)   /* records in one generation */
#define TLOG_NCHUNK      (TLOG_MAX_GEN / TLOG_CHUNK)
#define TLOG_MAX_PARTS   16           /* generations one commit writes to, or one fold takes */

struct tlog_gen {
	uint64_t gen;            /* the file's number */
	uint32_t kind;
	uint64_t first_lsn;      /* lsn of record 0 */
	struct trace_rec **chunk; /* TLOG_NCHUNK pointers, filled as needed, never moved */
	size_t n;                /* records (mu) */
	size_t sent;             /* records handed to a commit (mu) */
	uint32_t *slot;          /* hash set of the records: index + 1, 0 empty (mu) */
	size_t cap;              /* slots, a power of two */
	int fd;                  /* the writer's open file, else -1 */
	uint64_t data_end;       /* the writer's: where the next frame goes */
	uint64_t room_end;       /* ... and the end of the zeros written ahead of it */
	int refs;                /* the list it is on, snapshots, commits (mu) */
	double first_at;         /* monotonic seconds of its first record */
	uint32_t min_t, max_t;   /* span of its records */
};

struct waiter;

struct trace_log {
	struct tlog_gen **open;  /* unfolded, oldest first; the writer appends to the last */
	size_t nopen, capopen;
	struct tlog_gen **folded; /* folded, kept for table updates, oldest first */
	size_t nfolded, capfolded, folded_recs;
	uint64_t kept_lsn;       /* records below were folded and dropped from memory */
	uint64_t next_lsn, durable_lsn;
	uint64_t next_gen;
	bool committing;         /* a leader is writing (or gathering) */
	bool gathering;          /* the leader waits for the appends of its batch */
	size_t last_batch;       /* records in the last commit */
	struct waiter *waiters;  /* appends waiting for a commit (each on its own stack) */
	int broken;              /* a write or fsync failed: no more appends */
	uint8_t *cbuf;           /* the leader's frame buffer */
	size_t ccap;
	uint64_t folds, commits, torn, fsyncs;
};

/* Record i of a generation: chunks never move, so a reader that learned n
 * under the lock reads records below n without it. */
static inline struct trace_rec *tlog_rec(const struct tlog_gen *g, size_t i)
{
	return &g->chunk[i >> TLOG_CHUNK_BITS][i & (TLOG_CHUNK - 1)];
}

/* Records of g that are durable (visible to queries). mu held. */
static inline uint64_t tlog_visible_in(const struct trace_log *L, const struct tlog_gen *g)
{
	uint64_t end = g->first_lsn + g->n;
	if (L->durable_lsn <= g->first_lsn)
		return 0;
	return (end < L->durable_lsn ? end : L->durable_lsn) - g->first_lsn;
}

double tlog_seconds(void);
struct tlog_gen *tlog_gen_new(uint32_t kind, uint64_t gen, uint64_t first_lsn, size_t slots);
void   tlog_gen_unref(struct tlog_gen *g);
size_t tlog_gen_find(const struct tlog_gen *g, const struct trace_rec *r);
int    tlog_gen_push(struct tlog_gen *g, const struct trace_rec *r);
int    tlog_list_push(struct tlog_gen ***list, size_t *n, size_t *cap, struct tlog_gen *g);
void   tlog_list_remove(struct tlog_gen **list, size_t *n, const struct tlog_gen *g);
size_t tlog_slots_for(const struct trace_store *s);
int    tlog_unlink_gen(const struct trace_store *s, uint32_t kind, uint64_t gen);
int    tlog_drop_empty(struct trace_store *s);
/* trace_log.c */
int    tlog_start_gen(struct trace_store *s, uint32_t kind);
int    tlog_wait_durable(struct trace_store *s, struct trace_log *L, uint64_t target);
/* The committing thread: started with the folder, stopped before it. */
int    tlog_committer_start(struct trace_store *s);
void   tlog_committer_stop(struct trace_store *s);
/* Makes the store the log's one writer (the lock file, the log read again,
 * fresh generations), once; trace_store_log_start adds the folding thread. */
int    tlog_take(struct trace_store *s, struct trace_diag *diag);
/* trace_logfold.c */
void  *tlog_folder_run(void *arg);

/* ---- the log of a store ---------------------------------------------------- */

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
