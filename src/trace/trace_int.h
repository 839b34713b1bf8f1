/* Internals of the tracing engine shared by its files; not a public API. */
#ifndef WG_TRACE_INT_H
#define WG_TRACE_INT_H

#include <pthread.h>

#include "trace/trace.h"

#if !defined(__BYTE_ORDER__) || __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "the trace segment format is written for little-endian hosts"
#endif

#define TRACE_MAGIC      "WGTRACE1"
#define TRACE_VERSION    1u
#define TRACE_FLAG_SORTED 1u
#define TRACE_FLAG_PACKED 2u  /* segment payload: varint groups (trace_seg.c) */
#define TRACE_FLAG_LOG    4u  /* a segment folded from the log: header bytes 52..56
			       * hold the log generation it holds (trace_log.c) */
#define TRACE_MAX_RECS   4000000000u  /* positions are u32 */
#define TRACE_MAX_CASES  1000000u

/* Resident index of one kind, struct-of-arrays sorted by (place, t_in,
 * person, dur): 10 bytes per record, plus 4 for the per-person positions. */
struct trace_table {
	uint32_t  n;
	uint32_t  nplace;
	uint32_t *place_id;   /* dense place index -> id, ascending */
	uint32_t *place_off;  /* nplace + 1 */
	uint32_t  npers;
	uint32_t *pers_id;    /* dense person index -> id, ascending */
	uint32_t *pers_off;   /* npers + 1 */
	uint32_t *r_person;   /* dense person index */
	uint32_t *r_tin;      /* minutes */
	uint16_t *r_dur;      /* minutes */
	uint32_t *p_pos;      /* positions grouped by person */
	uint32_t  max_dur;
	bool      pers_seq, place_seq; /* ids are id[0] + index: no lookup needed */
	bool      pos_all;    /* pers_off/p_pos cover every person, not a query's few */
	void     *map_base;   /* the index file when the arrays above point into it */
	size_t    map_len;
};

static inline uint32_t trace_table_person_id(const struct trace_table *t, uint32_t idx)
{
	return t->pers_seq ? t->pers_id[0] + idx : t->pers_id[idx];
}

static inline uint32_t trace_table_place_id(const struct trace_table *t, uint32_t idx)
{
	return t->place_seq ? t->place_id[0] + idx : t->place_id[idx];
}

struct trace_seek;

struct trace_seg {
	uint64_t seq;
	uint32_t kind;
	uint64_t count;
	uint32_t min_t, max_t; /* min t_in, max t_in + dur */
	uint64_t payload;      /* bytes after the header */
	uint64_t sum;          /* checksum of the payload */
	uint32_t flags;        /* TRACE_FLAG_* of the header */
	uint32_t log_gen;      /* with TRACE_FLAG_LOG: the log generation folded into it */
	struct trace_seek *seek; /* point lookups (trace_seek.c), built on first need; owned
				  * by the store's list, NULL in copies */
};

struct trace_log;

/* Locks, always taken in this order (trace.h states the contract):
 *   w_mu  writers of segments: bulk loads, folds, expiry, taking the log;
 *   q_mu  queries: the tables, built and used by one query at a time;
 *   mu    short sections: the segment list, the log in memory, counters.
 * The segment list changes only with w_mu and mu held, so either one is
 * enough to read it. A log append takes mu alone, and never holds it across
 * a write or an fsync (trace_log.c). */
struct trace_store {
	char  *dir;
	struct trace_params p;
	pthread_mutex_t w_mu, q_mu, mu;
	pthread_cond_t  fold_cv;  /* with mu: the folding thread's wake-up */
	pthread_cond_t  gather_cv; /* with mu: a record for a leader gathering its batch */
	pthread_cond_t  commit_cv; /* with mu: records for the committing thread */
	struct trace_seg *segs;
	size_t nseg, capseg;
	uint64_t next_seq;
	/* the tables (q_mu) */
	bool   built[2];
	bool   one_shot;      /* see trace_store_one_shot() */
	int    idx_state[2];  /* trace_store_index_state() */
	struct trace_table tab[2];
	uint64_t tab_ver[2];  /* rec_ver the table was built at */
	uint64_t tab_lsn[2];  /* log records below this lsn are in the table */
	/* mu */
	uint64_t rec_ver[2];  /* changes of the record set other than log appends */
	struct trace_log *log[2];
	bool   log_owner;     /* this store writes the log (holds DIR/log.lock) */
	int    lock_fd;
	bool   folder_running, folder_stop;
	pthread_t folder;
	/* The committing thread (trace_log.c), with the folder: it leads every
	 * commit, so an append may go its way and be told when it is durable. */
	bool   committer_running, committer_stop, committer_idle;
	pthread_t committer;
	/* The waking thread beside it: tells the appends that did not wait
	 * (their callbacks) that a commit made them durable, while the
	 * committer goes on to the next commit. Its own lock, wake_mu. */
	bool   waker_running, waker_stop;
	pthread_t waker;
	pthread_mutex_t wake_mu;
	pthread_cond_t wake_cv;
	struct waiter *to_wake;
};

/* trace_util.c */
int  trace_diag_set(struct trace_diag *d, int code, uint64_t row, uint64_t offset, const char *what);
int  trace_rec_cmp(const struct trace_rec *a, const struct trace_rec *b);

/* trace_rec_cmp, inlined for the loops that run once per record. */
static inline int trace_rec_order(const struct trace_rec *a, const struct trace_rec *b)
{
	uint64_t ka = (uint64_t)a->place << 32 | a->t_min, kb = (uint64_t)b->place << 32 | b->t_min;
	uint64_t la = (uint64_t)a->person << 16 | a->dur, lb = (uint64_t)b->person << 16 | b->dur;

	if (ka != kb)
		return ka < kb ? -1 : 1;
	return (la > lb) - (la < lb);
}
void trace_recs_sort(struct trace_rec *r, size_t n);
struct trace_rec *trace_recs_sort_into(struct trace_rec *r, struct trace_rec *tmp, size_t n);
bool trace_recs_sorted(const struct trace_rec *r, size_t n);
size_t trace_recs_unique(struct trace_rec *r, size_t n);
int  trace_header_read(const uint8_t *hdr, size_t len, struct trace_seg *seg, uint64_t *sum,
		       uint32_t *flags, struct trace_diag *d);
int  trace_check_rec(const struct trace_rec *r, int64_t now_min, uint32_t max_min);
void trace_header_fill(uint8_t hdr[TRACE_BIN_HEADER], uint32_t kind, uint64_t count,
		       uint32_t min_t, uint32_t max_t, uint64_t sum, uint32_t flags, uint64_t payload,
		       uint32_t log_gen);
void trace_recs_span(const struct trace_rec *recs, size_t n, uint32_t *min_t, uint32_t *max_t);
uint32_t trace_max_len(const struct trace_params *p, enum trace_kind kind);

/* trace_load.c: a CSV batch parsed in two parts, on two threads when it is
 * large, each part sorted by the thread that parsed it. The runs r[0] and
 * r[1] point into buf or tmp[i]; they may hold duplicates. */
struct trace_runs {
	struct trace_rec *buf, *tmp[2];
	const struct trace_rec *r[2];
	size_t n[2];
};
int  trace_csv_sorted(const char *data, size_t len, enum trace_kind kind,
		      const struct trace_params *p, int64_t now, struct trace_runs *b,
		      struct trace_diag *diag);
void trace_runs_free(struct trace_runs *b);

/* LEB128 varints of a packed segment's payload (trace_seg.c writes them, the
 * segments' lookups read them too, trace_seek.c). */
static inline uint8_t *trace_put_varint(uint8_t *p, uint32_t v)
{
	while (v >= 0x80) {
		*p++ = (uint8_t)(v | 0x80);
		v >>= 7;
	}
	*p++ = (uint8_t)v;
	return p;
}

static inline bool trace_get_varint(const uint8_t **pp, const uint8_t *end, uint32_t *v)
{
	const uint8_t *p = *pp;
	uint32_t x = 0;
	for (int shift = 0; shift < 35; shift += 7) {
		if (p == end)
			return false;
		uint8_t b = *p++;
		if (shift == 28 && b > 0x0f)
			return false;
		x |= (uint32_t)(b & 0x7f) << shift;
		if (!(b & 0x80)) {
			*pp = p;
			*v = x;
			return true;
		}
	}
	return false;
}

/* trace_seg.c */
/* "scan" or "cell": the prefix of a kind's file names (trace_segmap.c). */
const char *trace_seg_kind(uint32_t kind);
int  trace_seg_path(const struct trace_store *s, const struct trace_seg *g, char *buf, size_t cap);
struct trace_map {
	void  *base;
	size_t len;
	const uint8_t *payload; /* packed records */
	size_t payload_len;
	size_t n;
};

/* Streaming decoder of a packed segment. */
struct trace_dec {
	const uint8_t *p, *end;
	size_t left;            /* records still to come */
	uint32_t group_left, place, t;
	bool started;
};
void trace_dec_init(struct trace_dec *d, const struct trace_map *m);
/* 1: *r is the next record; 0: the end; -1: the payload is malformed. */
int  trace_dec_next(struct trace_dec *d, struct trace_rec *r);
int  trace_seg_encode(const struct trace_rec *r, size_t n, uint8_t **out, size_t *len);

/* A stored segment read alongside a merge, to leave out what it holds. */
struct trace_stored {
	struct trace_map m;
	struct trace_dec d;
	struct trace_rec cur;
	int got;                /* as trace_dec_next: 1 when cur is valid */
};

/* A packed payload (buf: wg_free) of count records spanning min_t..max_t. */
struct trace_packed {
	uint8_t *buf;
	size_t len, count;
	uint32_t min_t, max_t;
};

/* Merges the runs of b into one packed payload in a single pass, leaving out
 * duplicates and whatever the stored segments old[0..nold) hold (their
 * decoders set up by the caller, read here). */
/* Records a load must leave out besides the stored ones (the log's). */
struct trace_skip {
	bool (*fn)(void *ctx, const struct trace_rec *r);
	void *ctx;
};
int  trace_seg_pack_runs(const struct trace_runs *b, struct trace_stored *old, size_t nold,
			 const struct trace_skip *skip, struct trace_packed *out);
int  trace_seg_write_packed(struct trace_store *s, struct trace_seg *g,
			    const struct trace_packed *pk, bool replace);
int  trace_seg_map(const struct trace_store *s, const struct trace_seg *g,
		   struct trace_map *m, struct trace_diag *d);
void trace_seg_unmap(struct trace_map *m);
int  trace_seg_remove(struct trace_store *s, size_t i);
int  trace_seg_rewrite(struct trace_store *s, size_t i, const struct trace_rec *recs, size_t n);
/* Writes all n bytes (retrying after signals); TRACE_ERR_IO otherwise. */
int  trace_write_all(int fd, const void *p, size_t n);
int  trace_seg_write(struct trace_store *s, struct trace_seg *g, const struct trace_rec *recs,
		     size_t n, bool replace);
int  trace_seg_scan_dir(struct trace_store *s, struct trace_diag *d);
int  trace_store_add_seg(struct trace_store *s, const struct trace_seg *g);
/* Frees the segment list and the point lookups of its segments. */
void trace_segs_free(struct trace_store *s);

/* trace_seek.c: is a record stored in a segment? */
int  trace_seek_open(const struct trace_store *s, const struct trace_seg *g, struct trace_seek **out,
		     struct trace_diag *d);
void trace_seek_free(struct trace_seek *k);
int  trace_seek_has(const struct trace_seek *k, const struct trace_rec *r);
size_t trace_seek_bytes(const struct trace_seek *k);

/* trace_merge.c: a table with sorted, unique records added (those it
 * holds already are left out); positions are not built. */
int  trace_table_merge(const struct trace_table *t, const struct trace_rec *recs, size_t n,
		       struct trace_table *out);

/* trace_util.c: a message for the operator (trace_set_warn) */
void trace_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* trace_index.c */
void trace_table_free(struct trace_table *t);
/* The table of a kind from the segments segs[0..nseg) (a snapshot). */
int  trace_table_build(const struct trace_store *s, const struct trace_seg *segs, size_t nseg,
		       enum trace_kind kind, struct trace_table *t, struct trace_diag *d);
int  trace_table_positions(struct trace_table *t, const uint32_t *want, size_t nwant);
void trace_table_flags(struct trace_table *t);

/* trace_idxfile.c: the index of the segments segs[0..nseg) kept on disk */
uint64_t trace_idx_signature(const struct trace_seg *segs, size_t nseg, enum trace_kind kind);
int  trace_idx_path(const struct trace_store *s, enum trace_kind kind, char *buf, size_t cap);
int  trace_idx_load(const struct trace_store *s, const struct trace_seg *segs, size_t nseg,
		    enum trace_kind kind, struct trace_table *t, struct trace_diag *d);
int  trace_idx_save(const struct trace_store *s, const struct trace_seg *segs, size_t nseg,
		    enum trace_kind kind, const struct trace_table *t);
bool trace_table_person(const struct trace_table *t, uint32_t id, uint32_t *idx);
uint32_t trace_table_place_of(const struct trace_table *t, uint32_t pos);
uint32_t trace_table_lower(const struct trace_table *t, uint32_t place, uint32_t t_min);

/* trace_store.c: the tables current (q_mu held) */
int  trace_store_build_locked(struct trace_store *s);

/* trace_query.c helpers used by the CLI and tests */
int  trace_threads(const struct trace_rule *r);

#endif
