/* Fuzz target: the trace CSV loader (scans and cell dwell records) parses
 * arbitrary bytes from memory without crashing, and whatever it accepts is
 * a set of valid records. The one-pass load path (parse and sort the parts,
 * merge straight into the packed segment) must agree with the plain one
 * (parse, sort, de-duplicate, encode): the same error row, or the same
 * segment bytes. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/lib/mem.h"
#include "trace/trace.h"
#include "trace/trace_int.h"

#define FUZZ_NOW 1700000000LL

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The plain path's segment payload for recs (sorted and de-duplicated here). */
static void plain_segment(struct trace_rec *recs, size_t n, uint8_t **out, size_t *len, size_t *count)
{
	trace_recs_sort(recs, n);
	*count = trace_recs_unique(recs, n);
	if (trace_seg_encode(recs, *count, out, len) != TRACE_OK)
		abort();
}

static void compare_one_pass(const uint8_t *data, size_t size, enum trace_kind kind,
			     const struct trace_params *p, int plain_rc, const struct trace_diag *plain_diag,
			     struct trace_rec *recs, size_t n)
{
	struct trace_runs b;
	struct trace_packed pk;
	struct trace_diag d;
	uint8_t *want = NULL;
	size_t want_len = 0, want_count = 0;

	memset(&b, 0, sizeof(b));
	memset(&pk, 0, sizeof(pk));
	memset(&d, 0, sizeof(d));
	int rc = trace_csv_sorted((const char *)data, size, kind, p, FUZZ_NOW, &b, &d);
	if (rc != plain_rc || (rc && d.row != plain_diag->row))
		abort();
	if (rc)
		return;
	plain_segment(recs, n, &want, &want_len, &want_count);
	if (trace_seg_pack_runs(&b, NULL, 0, NULL, &pk) != TRACE_OK)
		abort();
	if (pk.count != want_count || pk.len != want_len || (want_len && memcmp(pk.buf, want, want_len) != 0))
		abort();
	wg_free(pk.buf);
	wg_free(want);
	trace_runs_free(&b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct trace_params p;
	struct trace_diag d;
	struct trace_rec *recs = NULL;
	size_t n = 0;
	enum trace_kind kind = size > 0 && (data[0] & 1) ? TRACE_CELL : TRACE_SCAN;

	memset(&d, 0, sizeof(d));
	trace_params_default(&p);
	int rc = trace_parse_csv((const char *)data, size, kind, &p, FUZZ_NOW, &recs, &n, &d);
	if (rc == TRACE_OK) {
		for (size_t i = 0; i < n; i++)
			if (recs[i].zero != 0 || (int64_t)recs[i].t_min + recs[i].dur > FUZZ_NOW / 60 + 1)
				abort();
	} else if (recs != NULL || d.code == TRACE_OK) {
		abort();
	}
	compare_one_pass(data, size, kind, &p, rc, &d, recs, n);
	wg_free(recs);
	return 0;
}
