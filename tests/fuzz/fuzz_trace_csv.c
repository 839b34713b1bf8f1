/* Fuzz target: the trace CSV loader (scans and cell dwell records) parses
 * arbitrary bytes from memory without crashing, and whatever it accepts is
 * a set of valid records. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/mem.h"
#include "trace/trace.h"

#define FUZZ_NOW 1700000000LL

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct trace_params p;
	struct trace_diag d;
	struct trace_rec *recs = NULL;
	size_t n = 0;
	enum trace_kind kind = size > 0 && (data[0] & 1) ? TRACE_CELL : TRACE_SCAN;

	trace_params_default(&p);
	if (trace_parse_csv((const char *)data, size, kind, &p, FUZZ_NOW, &recs, &n, &d) == TRACE_OK) {
		for (size_t i = 0; i < n; i++)
			if (recs[i].zero != 0 || (int64_t)recs[i].t_min + recs[i].dur > FUZZ_NOW / 60 + 1)
				abort();
		wg_free(recs);
	} else if (recs != NULL || d.code == TRACE_OK) {
		abort();
	}
	return 0;
}
