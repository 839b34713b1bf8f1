/* Fuzz target: reading a scan log file (tlog_parse, what trace_store_open
 * and trace_store_log_start do with each log file). Whatever the bytes,
 * the reader returns an error or records that were framed with good
 * checksums, in sequence, each with a zero reserved field; what it keeps
 * plus what it calls a torn tail or the writer's room (zeros to the end)
 * is the whole file; and the writer's
 * strict reading never accepts what the lenient one refuses.
 *
 * The first input byte chooses the form: 0 the bytes as they are; 1 a
 * valid header and the rest framed with good checksums (frames of
 * data-chosen sizes and sequence numbers), then cut or flipped where the
 * input says, so the fuzzer reaches the checks behind the checksums. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/lib/mem.h"
#include "trace/trace_log.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Frames the input: per frame one byte of count (1..8) and one of lsn
 * step (0: in sequence), then count 16-byte records. */
static uint8_t *framed(const uint8_t *data, size_t size, size_t *len)
{
	size_t cap = TLOG_HEADER + size * 3 + 64, at = TLOG_HEADER, i = 0;
	uint8_t *buf = malloc(cap);
	uint64_t lsn = data[0];

	if (!buf)
		return NULL;
	tlog_file_header(buf, TRACE_SCAN, 0);
	while (i + 2 <= size) {
		uint32_t count = 1u + data[i] % 8u;
		uint8_t step = data[i + 1];
		size_t body = (size_t)count * sizeof(struct trace_rec);
		i += 2;
		if (i + body > size || at + TLOG_FRAME_HEADER + body > cap)
			break;
		if (step < 200)
			step = 0;
		lsn += step - (step ? 200u : 0u);
		memcpy(buf + at + TLOG_FRAME_HEADER, data + i, body);
		tlog_frame_header(buf + at, (const struct trace_rec *)(const void *)(buf + at + TLOG_FRAME_HEADER),
				  count, lsn);
		at += TLOG_FRAME_HEADER + body;
		lsn += count;
		i += body;
	}
	if (i < size && at > TLOG_HEADER) { /* the rest says where to cut or flip */
		size_t where = TLOG_HEADER + data[i] * 7u % (at - TLOG_HEADER);
		if (data[i] & 1)
			at = where;
		else
			buf[where] ^= (uint8_t)(1u << (data[i] % 8));
	}
	*len = at;
	return buf;
}

static void check(const uint8_t *buf, size_t len)
{
	struct tlog_file strict, lenient;
	struct trace_diag d;
	int rs = tlog_parse(buf, len, TRACE_SCAN, 0, UINT16_MAX, true, &strict, &d);
	int rl = tlog_parse(buf, len, TRACE_SCAN, 0, UINT16_MAX, false, &lenient, &d);

	if (rs == TRACE_OK && rl != TRACE_OK)
		abort(); /* the writer accepted what a reader refuses */
	if (rl == TRACE_OK) {
		if (lenient.valid_len + lenient.torn + lenient.room != len || lenient.valid_len > len
		    || (lenient.torn && lenient.room))
			abort();
		if (lenient.has_frames && lenient.end_lsn - lenient.first_lsn != lenient.n)
			abort();
		for (size_t i = 0; i < lenient.n; i++)
			if (lenient.recs[i].zero != 0)
				abort();
	}
	if (rs == TRACE_OK && (strict.n != lenient.n || strict.valid_len != lenient.valid_len
			       || (strict.n && memcmp(strict.recs, lenient.recs, strict.n * sizeof(*strict.recs)))))
		abort();
	tlog_file_free(&strict);
	tlog_file_free(&lenient);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size == 0)
		return 0;
	if (data[0] & 1) {
		size_t len = 0;
		if (size < 2)
			return 0;
		uint8_t *buf = framed(data + 1, size - 1, &len);
		if (buf)
			check(buf, len);
		free(buf);
	} else {
		check(data + 1, size - 1);
	}
	return 0;
}
