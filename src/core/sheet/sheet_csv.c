/* CSV reader: RFC 4180 quoting, CRLF/LF/CR line ends, comma or tab
 * separated; UTF-8 (with or without BOM), UTF-16 with BOM or GB18030.
 *
 * Bytes are read in fixed chunks and decoded to UTF-8 (validated, or through
 * iconv); the record parser consumes the decoded bytes, so memory is bounded
 * by the chunk size plus one row whatever the file size. The encoding is
 * chosen on the first chunk; a later chunk that does not decode is an error
 * naming the row, never a silent guess. */
#include "core/sheet/sheet_int.h"

#include "core/lib/err.h"
#include "core/lib/limits.h"
#include "core/lib/mem.h"

#include <assert.h>
#include <errno.h>
#include <iconv.h>
#include <stdio.h>
#include <string.h>

#define CSV_CHUNK (64u * 1024)
#define CSV_CARRY 8u  /* an incomplete character kept for the next chunk */

enum csv_enc { ENC_UTF8, ENC_UTF8_BOM, ENC_GB18030, ENC_UTF16LE, ENC_UTF16BE };
enum csv_state { S_FIELD, S_UNQUOTED, S_QUOTED, S_QUOTE };

struct csv {
	FILE *f;
	const unsigned char *mem;
	size_t mem_len, mem_pos;

	unsigned char *raw;      /* raw bytes: carry + chunk */
	size_t raw_len;
	bool raw_eof;
	char *dec;               /* decoded UTF-8 */
	size_t dec_len, dec_pos, dec_cap;
	bool dec_bad;            /* the decoder stopped at an invalid sequence */
	bool dec_truncated;      /* input ended inside a character */
	enum csv_enc enc;
	iconv_t cd;

	char delim;
	enum csv_state state;
	bool skip_lf;
	bool in_record;
	uint32_t record;
	uint32_t col;
	wg_buf cell;
};

/* ---- raw input --------------------------------------------------------- */

static int raw_fill(struct csv *c, size_t keep)
{
	assert(keep <= CSV_CARRY);
	if (keep && c->raw_len > keep)
		memmove(c->raw, c->raw + c->raw_len - keep, keep);
	c->raw_len = keep;
	if (c->raw_eof)
		return 0;
	size_t got;
	if (c->f) {
		got = fread(c->raw + keep, 1, CSV_CHUNK, c->f);
		if (ferror(c->f))
			return WG_ERR_IO;
		if (got < CSV_CHUNK)
			c->raw_eof = true;
	} else {
		got = c->mem_len - c->mem_pos;
		if (got > CSV_CHUNK)
			got = CSV_CHUNK;
		memcpy(c->raw + keep, c->mem + c->mem_pos, got);
		c->mem_pos += got;
		if (c->mem_pos == c->mem_len)
			c->raw_eof = true;
	}
	c->raw_len += got;
	return 0;
}

static int dec_reserve(struct csv *c, size_t need)
{
	if (need <= c->dec_cap)
		return 0;
	char *d = wg_realloc(c->dec, need);
	if (!d)
		return WG_ERR_NOMEM;
	c->dec = d;
	c->dec_cap = need;
	return 0;
}

static int decode_utf8(struct csv *c)
{
	bool incomplete;
	size_t ok = sheet_utf8_valid_prefix(c->raw, c->raw_len, &incomplete);
	int rc = dec_reserve(c, ok + 1);
	if (rc)
		return rc;
	memcpy(c->dec, c->raw, ok);
	c->dec_len = ok;
	size_t rest = c->raw_len - ok;
	if (incomplete && !c->raw_eof && rest <= CSV_CARRY)
		return raw_fill(c, rest);
	if (incomplete)
		c->dec_truncated = true;
	else if (rest)
		c->dec_bad = true;
	c->raw_len = 0;
	return 0;
}

static int decode_iconv(struct csv *c)
{
	size_t need = c->raw_len * 2 + 16;
	int rc = dec_reserve(c, need);
	if (rc)
		return rc;
	char *in = (char *)c->raw, *out = c->dec;
	size_t inleft = c->raw_len, outleft = c->dec_cap;
	size_t res = iconv(c->cd, &in, &inleft, &out, &outleft);
	c->dec_len = (size_t)(out - c->dec);
	if (res == (size_t)-1) {
		if (errno == EINVAL && !c->raw_eof && inleft <= CSV_CARRY) {
			c->raw_len = (size_t)(in - (char *)c->raw) + inleft;
			return raw_fill(c, inleft);
		}
		if (errno == EINVAL)
			c->dec_truncated = true;
		else if (errno == EILSEQ)
			c->dec_bad = true;
		else
			return WG_ERR_INTERNAL; /* E2BIG cannot happen with 2x room */
	}
	c->raw_len = 0;
	return 0;
}

/* Decodes what raw holds (reading a fresh chunk first when it is empty). */
static int decode_next(struct csv *c)
{
	int rc;
	c->dec_len = c->dec_pos = 0;
	if (c->raw_len == 0) {
		rc = raw_fill(c, 0);
		if (rc)
			return rc;
	}
	if (c->raw_len == 0)
		return 0;
	if (c->enc == ENC_UTF8 || c->enc == ENC_UTF8_BOM)
		return decode_utf8(c);
	return decode_iconv(c);
}

/* ---- encoding and separator detection ---------------------------------- */

static int detect_encoding(struct csv *c, struct sheet_reader *r)
{
	static const char *const names[] = { "UTF-8", "UTF-8 BOM", "GB18030", "UTF-16LE", "UTF-16BE" };
	size_t skip = 0;
	bool incomplete;
	const unsigned char *p = c->raw;
	if (c->raw_len >= 3 && p[0] == 0xEF && p[1] == 0xBB && p[2] == 0xBF)
		c->enc = ENC_UTF8_BOM, skip = 3;
	else if (c->raw_len >= 2 && p[0] == 0xFF && p[1] == 0xFE)
		c->enc = ENC_UTF16LE, skip = 2;
	else if (c->raw_len >= 2 && p[0] == 0xFE && p[1] == 0xFF)
		c->enc = ENC_UTF16BE, skip = 2;
	else if (sheet_utf8_valid_prefix(p, c->raw_len, &incomplete) == c->raw_len ||
	         (incomplete && !c->raw_eof))
		c->enc = ENC_UTF8;
	else
		c->enc = ENC_GB18030;
	if (skip) {
		memmove(c->raw, c->raw + skip, c->raw_len - skip);
		c->raw_len -= skip;
	}
	r->encoding = names[c->enc];
	if (c->enc == ENC_UTF8 || c->enc == ENC_UTF8_BOM)
		return 0;
	const char *from = c->enc == ENC_GB18030 ? "GB18030" : c->enc == ENC_UTF16LE ? "UTF-16LE" : "UTF-16BE";
	c->cd = iconv_open("UTF-8", from);
	if (c->cd == (iconv_t)-1)
		return sheet_fail(r, WG_ERR_INTERNAL, SHEET_ENCODING, 0, 0, "(系统不支持该编码)",
		                  " (encoding not supported by the system)");
	return 0;
}

/* Tab-separated when the first decoded chunk has more tabs than commas
 * outside quotes (Excel's "Unicode text" export). */
static char detect_delimiter(const char *s, size_t n)
{
	size_t commas = 0, tabs = 0;
	bool quoted = false;
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '"')
			quoted = !quoted;
		else if (!quoted && s[i] == ',')
			commas++;
		else if (!quoted && s[i] == '\t')
			tabs++;
	}
	return tabs > commas ? '\t' : ',';
}

/* ---- the record parser ------------------------------------------------- */

static uint32_t error_row(const struct csv *c)
{
	return c->in_record ? c->record : c->record + 1;
}

/* Ends the current cell; more = a separator follows. */
static int cell_done(struct csv *c, struct sheet_reader *r, bool more)
{
	const char *text = c->cell.data;
	size_t len = c->cell.len;
	/* The tab our export puts before a long number to keep Excel off it. */
	if (len > 1 && text[0] == '\t' && sheet_digits_kept_as_text(text + 1, len - 1)) {
		text++;
		len--;
	}
	int rc = sheet_rowbuf_add(r, c->col, text, len, false, 0);
	if (rc)
		return rc;
	wg_buf_reset(&c->cell);
	if (more && c->col >= WG_MAX_SHEET_COLUMNS)
		return sheet_fail(r, WG_ERR_TOO_LARGE, SHEET_TOO_MANY_COLUMNS, c->record, 0,
		                  "(最多1024列)", " (at most 1024)");
	c->col++;
	c->state = S_FIELD;
	return 0;
}

static int cell_append(struct csv *c, struct sheet_reader *r, const char *p, size_t n)
{
	if (wg_buf_append(&c->cell, p, n) == 0)
		return 0;
	if (c->cell.err == WG_ERR_NOMEM)
		return sheet_fail(r, WG_ERR_NOMEM, SHEET_NOMEM, c->record, 0, NULL, NULL);
	return sheet_fail(r, WG_ERR_TOO_LARGE, SHEET_CELL_TOO_LONG, c->record, c->col,
	                  "(超过65536字节)", " (over 65536 bytes)");
}

static int record_start(struct csv *c, struct sheet_reader *r)
{
	if (c->record == UINT32_MAX - 1)
		return sheet_fail(r, WG_ERR_TOO_LARGE, SHEET_TOO_MANY_ROWS, c->record, 0, NULL, NULL);
	c->in_record = true;
	c->record++;
	c->col = 1;
	c->state = S_FIELD;
	r->row.number = c->record;
	return 0;
}

/* Length of the run of ordinary bytes at s (no separator, quote, line end or NUL). */
static size_t plain_run(const char *s, size_t n, char delim, bool quoted)
{
	size_t i = 0;
	while (i < n) {
		char ch = s[i];
		if (ch == '"' || ch == '\0' || (!quoted && (ch == delim || ch == '\n' || ch == '\r')))
			break;
		i++;
	}
	return i;
}

/* Consumes decoded bytes; *done when a record ended. */
static int parse_bytes(struct csv *c, struct sheet_reader *r, bool *done)
{
	int rc;
	while (c->dec_pos < c->dec_len) {
		const char *s = c->dec + c->dec_pos;
		size_t left = c->dec_len - c->dec_pos;
		char ch = s[0];
		if (c->skip_lf) {
			c->skip_lf = false;
			if (ch == '\n') {
				c->dec_pos++;
				continue;
			}
		}
		if (!c->in_record && (rc = record_start(c, r)))
			return rc;
		if (ch == '\0')
			return sheet_fail(r, WG_ERR_VALIDATION, SHEET_NUL_BYTE, c->record, c->col, NULL, NULL);
		size_t run = (c->state == S_QUOTE) ? 0 : plain_run(s, left, c->delim, c->state == S_QUOTED);
		if (run) {
			rc = cell_append(c, r, s, run);
			if (rc)
				return rc;
			if (c->state == S_FIELD)
				c->state = S_UNQUOTED;
			c->dec_pos += run;
			continue;
		}
		c->dec_pos++;
		switch (c->state) {
		case S_FIELD:
		case S_UNQUOTED:
			if (ch == '"' && c->state == S_FIELD) {
				c->state = S_QUOTED;
			} else if (ch == '"') {
				rc = cell_append(c, r, "\"", 1); /* stray quote: keep it, as Excel does */
				if (rc)
					return rc;
			} else if (ch == c->delim) {
				if ((rc = cell_done(c, r, true)))
					return rc;
			} else { /* line end */
				goto end_record;
			}
			break;
		case S_QUOTED:
			/* only '"' stops a run inside quotes */
			c->state = S_QUOTE;
			break;
		case S_QUOTE:
			if (ch == '"') {
				if ((rc = cell_append(c, r, "\"", 1)))
					return rc;
				c->state = S_QUOTED;
			} else if (ch == c->delim) {
				if ((rc = cell_done(c, r, true)))
					return rc;
			} else if (ch == '\n' || ch == '\r') {
				goto end_record;
			} else {
				if ((rc = cell_append(c, r, &ch, 1)))
					return rc;
				c->state = S_UNQUOTED;
			}
			break;
		}
		continue;
end_record:
		c->skip_lf = ch == '\r';
		if ((rc = cell_done(c, r, false)))
			return rc;
		c->in_record = false;
		*done = true;
		return 0;
	}
	return 0;
}

static int csv_next(struct sheet_reader *r, bool *got)
{
	struct csv *c = r->impl;
	int rc;
	*got = false;
	for (;;) {
		bool done = false;
		rc = parse_bytes(c, r, &done);
		if (rc)
			return rc;
		if (done) {
			*got = true;
			return 0;
		}
		if (c->dec_bad)
			return sheet_fail(r, WG_ERR_VALIDATION, SHEET_ENCODING, error_row(c), 0,
			                  c->enc == ENC_GB18030 ? "(按GB18030读取时遇到无效字节)"
			                                        : "(文件开头是UTF-8,此处出现了非UTF-8字节;请把整个文件另存为UTF-8)",
			                  c->enc == ENC_GB18030 ? " (bytes that are not GB18030)"
			                                        : " (the file starts as UTF-8 but has non-UTF-8 bytes here; save the whole file as UTF-8)");
		if (c->dec_truncated)
			return sheet_fail(r, WG_ERR_VALIDATION, SHEET_ENCODING, error_row(c), 0,
			                  "(文件末尾的字符不完整,文件可能不完整)",
			                  " (the last character is cut off; the file may be truncated)");
		if (c->raw_eof && c->raw_len == 0)
			break;
		rc = decode_next(c);
		if (rc)
			return sheet_fail(r, rc, rc == WG_ERR_IO ? SHEET_IO : SHEET_NOMEM, error_row(c), 0, NULL, NULL);
	}
	if (!c->in_record)
		return 0;
	if (c->state == S_QUOTED)
		return sheet_fail(r, WG_ERR_VALIDATION, SHEET_UNTERMINATED_QUOTE, c->record, c->col, NULL, NULL);
	rc = cell_done(c, r, false);
	if (rc)
		return rc;
	c->in_record = false;
	*got = true;
	return 0;
}

static void csv_close(struct sheet_reader *r)
{
	struct csv *c = r->impl;
	if (!c)
		return;
	if (c->f)
		fclose(c->f);
	if (c->cd != (iconv_t)-1)
		iconv_close(c->cd);
	wg_free(c->raw);
	wg_free(c->dec);
	wg_buf_release(&c->cell);
	wg_free(c);
	r->impl = NULL;
}

static const struct sheet_ops csv_ops = { csv_next, csv_close };

int sheet_csv_open(struct sheet_reader *r, const char *path, const void *data, size_t len)
{
	int rc;
	struct csv *c = wg_calloc(1, sizeof *c);
	if (!c)
		return sheet_fail(r, WG_ERR_NOMEM, SHEET_NOMEM, 0, 0, NULL, NULL);
	c->cd = (iconv_t)-1;
	wg_buf_init(&c->cell, WG_MAX_SHEET_CELL);
	r->impl = c;
	r->ops = &csv_ops;
	c->raw = wg_malloc(CSV_CHUNK + CSV_CARRY);
	if (!c->raw)
		return sheet_fail(r, WG_ERR_NOMEM, SHEET_NOMEM, 0, 0, NULL, NULL);
	if (path) {
		c->f = fopen(path, "rb");
		if (!c->f)
			return sheet_fail(r, WG_ERR_IO, SHEET_IO, 0, 0, NULL, NULL);
	} else {
		c->mem = data;
		c->mem_len = len;
	}
	rc = raw_fill(c, 0);
	if (rc)
		return sheet_fail(r, rc, SHEET_IO, 0, 0, NULL, NULL);
	rc = detect_encoding(c, r);
	if (rc)
		return rc;
	rc = decode_next(c);
	if (rc)
		return sheet_fail(r, rc, rc == WG_ERR_IO ? SHEET_IO : SHEET_NOMEM, 0, 0, NULL, NULL);
	c->delim = detect_delimiter(c->dec, c->dec_len);
	return 0;
}
