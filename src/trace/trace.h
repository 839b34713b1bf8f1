/* The tracing engine: close contacts (密接), secondary contacts (次密接) and
 * spatiotemporal companions (时空伴随) computed from venue scans and cell
 * dwell records. No HTTP, no SQL: a library with its own store and CLI.
 *
 * Times in the API are Unix seconds (UTC). The store keeps minutes since the
 * Unix epoch (u32) and a duration in minutes (u16); t_in is rounded down and
 * t_out up, so a stay never shrinks. All rules work on those minutes.
 *
 * Rules (docs/trace.md has the full text):
 *   contact event   two stays at the same place with
 *                   min(out1,out2) - max(in1,in2) >= min_overlap - buffer
 *                   (with min_overlap 0: the stays overlap or miss each
 *                   other by at most `buffer` minutes, boundary included).
 *   close contact   a contact event with one of the case's stays that ends
 *                   at or after onset - lookback days.
 *   secondary       time-ordered (default): a contact event with a close
 *                   contact c such that min(out_c, out_s) + buffer >= e_c,
 *                   e_c = c's first exposure to the case (the later arrival
 *                   of the earliest event). Whole-window: any contact event
 *                   with a stay of c ending at or after the window start.
 *                   The case and close contacts are never secondary.
 *   companion       时空伴随 as published (Chengdu, 2021): same cell, overlap
 *                   > companion_overlap minutes (10), stays of the case
 *                   ending at or after the window start, AND the case or
 *                   the other person spent more than dwell_limit minutes
 *                   (30 h) in that cell in the dwell_days (14) before onset:
 *                   the cell is where one of them lives or works. The
 *                   opposite reading (such cells excluded) is an option,
 *                   TRACE_COMP_DWELL_EXCLUDES.
 */
#ifndef WG_TRACE_H
#define WG_TRACE_H

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>

/* Error kinds of the engine: X(name, zh-CN, English). Append only. */
#define TRACE_ERRORS(X) \
	X(OK,             "成功",                         "ok") \
	X(NOMEM,          "内存不足",                     "out of memory") \
	X(IO,             "读写文件失败",                 "file read or write failed") \
	X(CORRUPT,        "数据校验失败(文件损坏)",       "checksum mismatch (corrupted data)") \
	X(TRUNCATED,      "文件不完整(被截断)",           "file is truncated") \
	X(FORMAT,         "格式错误",                     "malformed input") \
	X(COLUMNS,        "列数错误",                     "wrong number of columns") \
	X(NUMBER,         "数值无效",                     "invalid number") \
	X(TIME_ORDER,     "离开时间早于进入时间",         "t_out is before t_in") \
	X(FUTURE,         "时间在未来",                   "time is in the future") \
	X(TOO_LONG,       "停留时间超过上限",             "stay is longer than the maximum") \
	X(TIME_RANGE,     "时间超出可表示范围",           "time out of range") \
	X(UNKNOWN_PERSON, "人员不存在",                   "unknown person") \
	X(USAGE,          "命令参数错误",                 "bad arguments") \
	X(TOO_LARGE,      "数据超过大小限制",             "input exceeds the size limit") \
	X(COORD,          "经纬度无效或超出范围",         "latitude/longitude invalid or out of range") \
	X(PARAM,          "参数无效",                     "invalid parameter") \
	X(SEQUENCE,       "日志记录顺序错误(重放或缺失)", "log records out of sequence (replayed or missing)") \
	X(BUSY,           "另一进程正在写入扫码日志",     "another process is writing the scan log")

enum trace_err {
#define TRACE_ERR_ENUM(name, zh, en) TRACE_ERR_##name,
	TRACE_ERRORS(TRACE_ERR_ENUM)
#undef TRACE_ERR_ENUM
	TRACE_ERR__COUNT
};
#define TRACE_OK TRACE_ERR_OK

const char *trace_err_zh(int err);
const char *trace_err_en(int err);

/* Where an input error was found: row (1-based CSV line) or byte offset. */
struct trace_diag {
	int      code;   /* enum trace_err */
	uint64_t row;    /* 0 when not a CSV row */
	uint64_t offset; /* byte offset in the input */
	char     what[64];
};

enum trace_kind {
	TRACE_SCAN = 0, /* venue scans: place = venue id */
	TRACE_CELL = 1  /* location dwell records: place = cell id */
};

/* A packed record: 16 bytes on disk and in load batches. */
struct trace_rec {
	uint32_t person;
	uint32_t place;
	uint32_t t_min;  /* minutes since the Unix epoch */
	uint16_t dur;    /* minutes */
	uint16_t zero;   /* reserved, must be 0 */
};

/* Store parameters, fixed while a store is open. */
struct trace_params {
	uint32_t retention_days; /* default 28 */
	uint32_t max_stay_min;   /* longest venue stay accepted, default 120 */
	uint32_t max_dwell_min;  /* longest cell dwell record accepted, default 1440 */
	uint32_t cell_size_m;    /* default 800 */
	uint32_t log_fold_records; /* the log is folded into a segment at this many
				    * records of a kind, default 1,000,000 */
	uint32_t log_fold_seconds; /* ... or when its oldest record is this old, default 3600 */
};

enum trace_mode {
	TRACE_TIME_ORDERED = 0, /* secondary: met c after c's exposure (default) */
	TRACE_WHOLE_WINDOW = 1  /* secondary: contacts of contacts (SQL self-join) */
};

/* What a long dwell (more than comp_dwell_limit_min in the cell in the
 * comp_dwell_days before onset) does to a companion pair in that cell. */
enum trace_comp_dwell {
	TRACE_COMP_DWELL_REQUIRED = 0, /* the published rule (default): the case or the
					* other person must have dwelt that long there */
	TRACE_COMP_DWELL_EXCLUDES = 1  /* option, the former local practice: the cell is
					* left out when either one dwelt that long there */
};

/* Query rule. */
struct trace_rule {
	uint32_t buffer_min;        /* default 30 */
	uint32_t lookback_days;     /* default 14 */
	uint32_t max_stay_min;      /* 0 = the store's; longer stays are cut to it */
	uint32_t min_overlap_min;   /* default 0 */
	enum trace_mode mode;       /* secondary contacts */
	uint32_t comp_overlap_min;  /* companions: overlap must exceed, default 10 */
	uint32_t comp_dwell_limit_min; /* companions: long-dwell cell, default 1800 */
	uint32_t comp_dwell_days;   /* window of the dwell limit, default 14 */
	enum trace_comp_dwell comp_dwell_rule; /* default TRACE_COMP_DWELL_REQUIRED */
	int      threads;           /* 0 = all cores */
};

void trace_params_default(struct trace_params *p);
void trace_rule_default(struct trace_rule *r);

/* One result row: a person and the evidence for the strongest event. */
struct trace_hit {
	uint32_t person;     /* the contact */
	uint32_t source;     /* the case (close, companion, batch) or the close contact (secondary) */
	uint32_t place;      /* venue or cell id */
	uint32_t src_dwell_min;     /* companions: minutes the case spent in the cell in the
				     * comp_dwell_days before onset (0 for scans) */
	int64_t  src_in, src_out;   /* source's stay, Unix seconds */
	int64_t  hit_in, hit_out;   /* contact's stay */
	uint32_t overlap_min;       /* overlap of the two stays, 0 if they only met within the buffer */
	uint32_t events;            /* contact events found (close, companions) */
	uint64_t total_overlap_min; /* sum over events (close, companions) */
	uint32_t hit_dwell_min;     /* companions: the contact's minutes in the cell, as
				     * src_dwell_min (0 for scans) */
};

struct trace_result {
	struct trace_hit *hits;
	size_t n;
};
void trace_result_free(struct trace_result *r);

typedef struct trace_store trace_store;

/* Threads. A store may be used by many threads at once, with these rules:
 *  - trace_store_log_append may be called from any number of threads at
 *    once, and alongside everything else except open and close: appends
 *    share the store's short lock (never held across a write or an fsync)
 *    and wait for durability without holding it. Queries never block an
 *    append for longer than they take to copy a few pointers, folding for
 *    longer than a swap.
 *  - Queries (trace_close_contacts, trace_secondary_contacts,
 *    trace_companions, trace_batch_close, trace_batch_pairs,
 *    trace_place_count, trace_store_build) may be called from any thread;
 *    they run one at a time (the store's query lock), each seeing every
 *    record acknowledged before it began.
 *  - trace_store_append, trace_store_load_csv, trace_store_expire and
 *    trace_store_fold may be called from any thread; they run one at a time
 *    (the store's writer lock), beside appends and queries (expiry waits
 *    for the query running, and queries for it).
 *  - trace_store_open and trace_store_close must not run beside anything
 *    else on the same store; trace_store_one_shot right after the open.
 *  - trace_store_count, trace_store_log_stats: any time. The other getters
 *    (bytes_per_rec, max_dur, index_state) read what the last query left,
 *    when no query runs.
 * A server therefore needs no lock of its own around the store. */

/* Opens (creating if needed) the store in dir (the directory itself, e.g.
 * DATA/trace). Every segment's header, header checksum and size are checked
 * here (a truncated or damaged one fails the open, named in diag->what);
 * the payload checksum is checked each time a segment is read, and a
 * mismatch fails that query or load with TRACE_ERR_CORRUPT. The resident
 * index is built by the first query (or trace_store_build). */
int  trace_store_open(const char *dir, const struct trace_params *p,
		      trace_store **out, struct trace_diag *diag);
void trace_store_close(trace_store *s);

/* Validates, de-duplicates (against the batch and the store) and appends a
 * batch as one new segment; returns only after it is on disk (fsync of the
 * segment and the directory). Nothing is written if any record is bad.
 * The batch is sorted in place (left untouched when it is already sorted,
 * unique and new). *added = records that were new. `now` is Unix seconds. */
int  trace_store_append(trace_store *s, enum trace_kind kind, struct trace_rec *recs,
			size_t n, int64_t now, size_t *added, struct trace_diag *diag);

/* The scan log: live scans without a segment file each.
 *
 * Appends recs[0..n) (at most 65,536) to the kind's log and returns only
 * when they are durable: many threads may call it at once, and one fsync
 * covers every record that arrived while the previous one ran (group
 * commit). Records are checked as by trace_store_append (nothing is
 * appended if one is bad: diag->row names it); a record the store holds
 * already, in the log or a segment, is a repeat (*added counts the new
 * ones). Queries see the log's records as if they were in a segment. The
 * first append makes this store the log's writer (trace_store_log_start);
 * TRACE_ERR_BUSY when another process is. After a write or fsync error the
 * log refuses appends (TRACE_ERR_IO) until the store is reopened; the
 * records acknowledged before stay. `now` is Unix seconds. */
int  trace_store_log_append(trace_store *s, enum trace_kind kind, const struct trace_rec *recs,
			    size_t n, int64_t now, size_t *added, struct trace_diag *diag);
/* trace_store_log_append without waiting, for a caller that has better to
 * do with its thread (a server answering other connections): when the new
 * records are not durable yet and the store's committing thread runs (it
 * starts with the folder, trace_store_log_start), returns TRACE_OK with
 * *pending set and *added counted; done(ctx, rc) is then called once, from
 * the committing thread, when they are durable (rc TRACE_OK) or the log
 * failed (rc TRACE_ERR_IO: nothing of them may be acknowledged). done must
 * be quick and must not call into the store. Otherwise (*pending false)
 * it returned as trace_store_log_append does, done never called. */
int  trace_store_log_append_async(trace_store *s, enum trace_kind kind, const struct trace_rec *recs,
				  size_t n, int64_t now, size_t *added, struct trace_diag *diag,
				  void (*done)(void *ctx, int rc), void *ctx, bool *pending);

/* Makes this store the writer of its log (DIR/log.lock; TRACE_ERR_BUSY when
 * another process holds it). The log files are read again as their writer
 * reads them after a crash: a torn tail (a frame a crash cut short, never
 * acknowledged) is cut off with a message (trace_set_warn); a damaged frame
 * before the last good one, a frame out of sequence (a replayed batch) or a
 * damaged last frame fail with the file and byte offset in diag, and
 * nothing of that file is used. With `folder`, a thread of the store's own
 * folds the log when due (see trace_store_fold) until the store is closed,
 * and another leads every commit (trace_store_log_append_async);
 * without, the caller calls trace_store_fold now and then (say every
 * second). */
int  trace_store_log_start(trace_store *s, bool folder, struct trace_diag *diag);

/* Folds the log into segments where due: a kind's log with
 * log_fold_records records, or whose oldest record is log_fold_seconds old
 * (with force: any record). Appends go on meanwhile; the swap that starts
 * a new log file is the only moment they wait for. Crash-safe at every
 * step: a record is in the log, in the new segment, or (for a moment
 * after a crash) in both, and then the log file is recognised as folded
 * and deleted at the next start. *folded (may be NULL) = records folded.
 * A no-op in a store that is not the log's writer. */
int  trace_store_fold(trace_store *s, bool force, size_t *folded);

struct trace_log_stats {
	bool     writer;       /* this store writes the log */
	size_t   records;      /* durable records in the log, not yet folded */
	size_t   files;        /* log files of the kind */
	size_t   segments;     /* segment files of the kind */
	uint64_t folds, commits, fsyncs;
	uint64_t torn_bytes;   /* torn tail cut off when this store took the log */
	size_t   seek_bytes;   /* memory of the segments' point lookups */
	int      error;        /* the log's sticky write error, 0 when none */
};
int  trace_store_log_stats(trace_store *s, enum trace_kind kind, struct trace_log_stats *st);

/* Where the engine's messages to the operator go (a torn log tail cut off,
 * a fold that failed): fn(message), or stderr when fn is NULL. Set once,
 * before stores are opened. */
void trace_set_warn(void (*fn)(const char *msg));

/* A CSV file (as trace_parse_csv reads it) checked and appended as by
 * trace_store_append, without the whole batch in one array: *read is the
 * number of rows, *added the number stored. Bad input stores nothing. */
int  trace_store_load_csv(trace_store *s, enum trace_kind kind, const char *data, size_t len,
			  int64_t now, size_t *read, size_t *added, struct trace_diag *diag);

/* Deletes every record that ended before now - retention: whole segments are
 * unlinked, partly old ones rewritten without the old records. The log's
 * writer first folds its whole log, so retention applies to the log's
 * records as to the segments' (a store that does not write the log leaves
 * the log to its writer). */
int  trace_store_expire(trace_store *s, int64_t now, size_t *removed);

/* Number of records of a kind, and bytes of the resident index per record
 * (after the index was built by a query or trace_store_build). */
size_t trace_store_count(const trace_store *s, enum trace_kind kind);
int    trace_store_build(trace_store *s);
double trace_store_bytes_per_rec(const trace_store *s, enum trace_kind kind);
uint32_t trace_store_max_dur(const trace_store *s, enum trace_kind kind);

/* Converts one stay (Unix seconds) into a packed record, with the checks of
 * a load: order, future, maximum length, range. */
int trace_rec_make(uint32_t person, uint32_t place, int64_t t_in, int64_t t_out,
		   int64_t now, uint32_t max_min, struct trace_rec *out);

/* Cell of a WGS-84 point (China and neighbours: lat 0..60, lng 70..140). */
int trace_cell_of(double lat, double lng, uint32_t cell_size_m, uint32_t *cell);

/* Parsers of the load formats, from memory. Each returns a new array in *recs
 * (freed by the caller with wg_free) and its length in *n and on error fills diag.
 * CSV scans: person,venue,t_in,t_out (Unix seconds), optional header line.
 * CSV cells: person,lat,lng,t_in,t_out.
 * Binary: see trace_bin_*; records must be valid as in trace_rec_make. */
int trace_parse_csv(const char *data, size_t len, enum trace_kind kind,
		    const struct trace_params *p, int64_t now,
		    struct trace_rec **recs, size_t *n, struct trace_diag *diag);
int trace_parse_bin(const uint8_t *data, size_t len, enum trace_kind *kind,
		    const struct trace_params *p, int64_t now,
		    struct trace_rec **recs, size_t *n, struct trace_diag *diag);

/* trace_parse_bin without the copy: *recs points into data (NULL when data
 * is not 4-byte aligned). Nothing is written to data here; trace_store_append
 * writes into a batch only when it must sort it or drop duplicates, so a
 * private writable mapping of the file is enough. */
int trace_check_bin(uint8_t *data, size_t len, enum trace_kind *kind,
		    const struct trace_params *p, int64_t now,
		    struct trace_rec **recs, size_t *n, struct trace_diag *diag);

/* The binary file format (segments use the same header):
 *   header 64 bytes: magic "WGTRACE1", u32 version = 1, u32 kind,
 *   u64 count, u32 min_t, u32 max_t (minutes), u64 payload checksum,
 *   u32 flags (bit 0: records sorted; bit 1: packed, segments only),
 *   u64 payload length (0 allowed for raw records), zero padding,
 *   u64 header checksum (of the first 56 bytes); then the payload: count
 *   16-byte little-endian records (packed segments: see trace_seg.c). */
#define TRACE_BIN_HEADER 64u
int  trace_bin_header(uint8_t hdr[TRACE_BIN_HEADER], enum trace_kind kind,
		      const struct trace_rec *recs, size_t n, bool sorted);
uint64_t trace_checksum(const void *data, size_t len);

/* Queries. `person` is the case; onset Unix seconds. An unknown person gives
 * TRACE_ERR_UNKNOWN_PERSON; a known person without stays in the window an
 * empty result. Results are ranked by exposure (total overlap, then the
 * strongest event's overlap), then person id. */
int trace_close_contacts(trace_store *s, uint32_t person, int64_t onset,
			 const struct trace_rule *r, struct trace_result *out);
int trace_secondary_contacts(trace_store *s, uint32_t person, int64_t onset,
			     const struct trace_rule *r, struct trace_result *out);
int trace_companions(trace_store *s, uint32_t person, int64_t onset,
		     const struct trace_rule *r, struct trace_result *out);

struct trace_case {
	uint32_t person;
	int64_t  onset;
};
/* Close contacts of many cases: one row per distinct (case, contact) pair,
 * ordered by case then rank. Cases unknown to the store are skipped and
 * counted in *unknown (may be NULL). */
int trace_batch_close(trace_store *s, const struct trace_case *cases, size_t n,
		      const struct trace_rule *r, struct trace_result *out, size_t *unknown);

/* A batch's answer without evidence: its distinct (case, contact) pairs. */
struct trace_pair {
	uint32_t source; /* the case */
	uint32_t person; /* the contact */
};
struct trace_pairs {
	struct trace_pair *pairs;  /* n pairs, by case, then contact person id */
	size_t n;
	struct trace_case *cases;  /* the known cases, by person id, each once with
				    * its earliest onset */
	size_t *first;             /* cases[i]'s pairs: pairs[first[i] .. first[i + 1]) */
	size_t ncases;
};
/* Close contacts of many cases as distinct pairs: the persons of
 * trace_batch_close, found on every core and kept as 8 bytes a pair, with
 * no evidence and no ranking. The evidence and ranking of one case's list,
 * when someone opens or exports it, are trace_close_contacts(s,
 * cases[i].person, cases[i].onset, r, ...): the same persons. Unknown
 * cases are skipped and counted in *unknown (may be NULL). */
int  trace_batch_pairs(trace_store *s, const struct trace_case *cases, size_t n,
		       const struct trace_rule *r, struct trace_pairs *out, size_t *unknown);
void trace_pairs_free(struct trace_pairs *p);

/* For a process that runs a query or two and exits (the CLI): the index is
 * kept on disk next to the segments (DIR/scan.idx, DIR/cell.idx), built and
 * saved when missing, stale or damaged, and loaded without the per-person
 * positions, which each query finds for just the persons it needs in one
 * pass. A long-running process leaves this off: it builds (or loads) the
 * index once, with every person's positions, and never writes the file. */
void trace_store_one_shot(trace_store *s);

/* What the last index build of a kind made of the index file:
 * TRACE_INDEX_USED, TRACE_INDEX_REBUILT (there was none, or the segments
 * changed since), TRACE_INDEX_UNTRIED (no records, or not built yet), or the
 * TRACE_ERR_* that made the file unusable (damaged, truncated), after which
 * the index was rebuilt from the segments. */
#define TRACE_INDEX_USED      0
#define TRACE_INDEX_REBUILT (-1)
#define TRACE_INDEX_UNTRIED (-2)
int trace_store_index_state(const trace_store *s, enum trace_kind kind);

/* Records of one place (venue or cell) that began at or after `since`
 * (Unix seconds; 0 = all kept). Builds the resident index if needed. */
int trace_place_count(trace_store *s, enum trace_kind kind, uint32_t place, int64_t since, size_t *count);

/* The CLI: argv[0] is "trace". Returns 0, 1 on failure, 2 on bad usage. */
int trace_cmd(int argc, char **argv);

#endif
