/* Fuzz target: the trace binary loader rejects truncated, corrupted or
 * malformed input with an error and accepts only valid records. The first
 * input byte, when set, asks for a valid checksum so the fuzzer also reaches
 * the record checks behind it. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/lib/mem.h"
#include "trace/trace.h"

#define FUZZ_NOW 1700000000LL

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct trace_params p;
	struct trace_diag d;
	struct trace_rec *recs = NULL;
	enum trace_kind kind;
	uint8_t *copy;
	size_t n = 0;

	if (size == 0)
		return 0;
	copy = malloc(size);
	if (!copy)
		return 0;
	memcpy(copy, data, size);
	if (data[0] == 1 && size > 1) {
		/* reseal: a header for the records that follow the first byte */
		size_t body = size - 1 - (size - 1) % 16;
		uint8_t *buf = malloc(TRACE_BIN_HEADER + body + 1);
		struct trace_rec *r = malloc(body ? body : 1);
		if (buf && r) {
			memcpy(r, data + 1, body);
			trace_bin_header(buf, (data[1] & 1) ? TRACE_CELL : TRACE_SCAN, r, body / 16, false);
			memcpy(buf + TRACE_BIN_HEADER, r, body);
			free(copy);
			copy = buf;
			buf = NULL;
			size = TRACE_BIN_HEADER + body;
		}
		free(buf);
		free(r);
	}
	trace_params_default(&p);
	if (trace_parse_bin(copy, size, &kind, &p, FUZZ_NOW, &recs, &n, &d) == TRACE_OK) {
		for (size_t i = 0; i < n; i++)
			if (recs[i].zero != 0 || (int64_t)recs[i].t_min + recs[i].dur > FUZZ_NOW / 60 + 1)
				abort();
		wg_free(recs);
	} else if (recs != NULL) {
		abort();
	}
	free(copy);
	return 0;
}
