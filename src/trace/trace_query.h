/* Internals of the queries (trace_query.c, trace_second.c). */
#ifndef WG_TRACE_QUERY_H
#define WG_TRACE_QUERY_H

#include "trace/trace_int.h"

/* The rule applied to one table, in minutes. A contact event between stays
 * [a1,b1] and [a2,b2] at one place: min(b1,b2) - max(a1,a2) >= k. */
struct tq {
	const struct trace_table *t;
	int64_t  onset, W, B, k;
	uint32_t cut, maxd;
};

struct tq_event {         /* minutes and dense indexes fit 32 bits */
	uint32_t place;
	uint32_t overlap, meet;
	uint32_t src_a, src_b, hit_a, hit_b;
};

struct tq_acc {
	uint32_t person;         /* dense */
	uint32_t slot;           /* its slot in the key table */
	uint32_t events;
	uint32_t first_meet;     /* exposure time */
	uint64_t total;
	struct tq_event best;
};

/* Person -> accumulator. The probed table holds only keys and value
 * indexes (8 bytes a slot, so it stays in cache); the accumulators are a
 * dense array in insertion order, which is also what clearing and listing
 * walk. */
struct tq_map {
	uint32_t *keys;          /* dense person per slot, UINT32_MAX = empty */
	uint32_t *idx;           /* the slot's accumulator in vals */
	struct tq_acc *vals;
	size_t cap, n, capv;
};

/* A rank key: sorted ascending by (hi, lo); idx points back to the row. */
struct tq_key {
	uint64_t hi;
	uint32_t lo;
	uint32_t idx;
};

/* Reusable scratch of the ranking: 2 words per accumulator. */
struct tq_scratch {
	uint64_t *keys;
	size_t cap;
};

/* Companions: the dwell window [from, to] (minutes), the long-dwell limit,
 * and whether a long dwell is required (the published rule) or excludes. */
struct tq_dwell {
	int64_t from, to, limit;
	bool require;
};

static inline int64_t tq_dur(const struct tq *q, uint32_t pos)
{
	uint32_t d = q->t->r_dur[pos];
	return d > q->cut ? q->cut : d;
}

void tq_init(struct tq *q, const struct trace_table *t, const struct trace_rule *r,
	     int64_t onset, uint32_t buffer, uint32_t min_overlap);
bool tq_better(const struct tq_event *e, const struct tq_event *f);
int  tq_collect(const struct tq *q, uint32_t who, struct tq_map *m, const struct tq_dwell *dwell);
int64_t tq_dwell_of(const struct tq *q, const struct tq_dwell *dw, uint32_t p, uint32_t v);
void tq_fill_hit(const struct tq *q, struct trace_hit *h, uint32_t person, uint32_t source,
		 const struct tq_event *e);
void tq_sort_keys(struct tq_key *k, size_t n);
int  tq_map_hits(const struct tq *q, const struct tq_map *m, uint32_t source,
		 struct trace_hit **out, size_t *n);
int  tq_map_hits_into(const struct tq *q, const struct tq_map *m, uint32_t source,
		      struct trace_hit *dst);
int  tq_map_rank(const struct tq_map *m, struct tq_scratch *s, const uint64_t **order);
void tq_map_fill(const struct tq *q, const struct tq_map *m, uint32_t source,
		 const uint64_t *order, struct trace_hit *dst);
void tq_scratch_free(struct tq_scratch *s);
uint64_t tq_bound(const struct tq *q, uint32_t who);
int  tq_prepare(trace_store *s, enum trace_kind kind, uint32_t person, struct trace_result *out);
int  tq_positions(trace_store *s, enum trace_kind kind, const uint32_t *dense, size_t n);
void tq_map_free(struct tq_map *m);

/* The cases of a batch: known persons only (the others counted in
 * *unknown), one per person (the earliest onset), in person order. */
struct tq_case {
	uint32_t idx;     /* dense person */
	int64_t  onset;
};
int  tq_cases(const struct trace_table *t, const struct trace_case *cases, size_t n,
	      struct tq_case **out, size_t *nout, size_t *unknown);
/* The stays of every case (a no-op where all positions are indexed). */
int  tq_case_positions(trace_store *s, const struct tq_case *c, size_t nc);
void tq_map_clear(struct tq_map *m);

#endif
