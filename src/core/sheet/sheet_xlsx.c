/* XLSX reader: libzip for the container; expat for the small XML parts and
 * the scanner of sheet_xml.h for the big ones (expat for those too when
 * they are not UTF-8, or when a test asks for it: the same handlers serve
 * both, so both give the same rows).
 *
 * The first worksheet is found the way Excel finds it: _rels/.rels names the
 * workbook, the workbook lists its sheets in order, the workbook's .rels maps
 * the first sheet's r:id to its part. sharedStrings.xml is streamed into one
 * table; the worksheet XML is streamed and the parser is suspended at the end
 * of every <row>, so one row is in memory at a time. Every part is read
 * through a byte counter with a cap (limits.h) so a zip bomb stops early;
 * DOCTYPEs are refused outright (no entity expansion). */
#include "core/sheet/sheet_xlsx_int.h"

#include "core/lib/err.h"
#include "core/lib/limits.h"
#include "core/lib/mem.h"

#include <assert.h>
#include <expat.h>
#include <stdio.h>
#include <string.h>
#include <zip.h>

#define XLSX_CHUNK (64 * 1024)

struct sst {
	wg_buf text;          /* strings, each NUL-terminated */
	uint32_t *off;
	size_t n, cap;
};

/* What a cell's t attribute says, as far as reading it goes. */
enum cell_type {
	CELL_NUMBER,     /* none, or "n" */
	CELL_SHARED,     /* "s": an index into the shared strings */
	CELL_BOOL,       /* "b" */
	CELL_TEXT,       /* inlineStr, str (formula result), e (error such as #N/A), d (ISO date), others */
};

struct xlsx {
	zip_t *zip;
	struct sst sst;
	char sheet_name[128];      /* the first sheet's, for messages */

	/* worksheet streaming: one of the two */
	XML_Parser p;
	struct sheet_xml *scan;
	struct part_read rd;
	zip_file_t *zf;
	unsigned long long read_total;
	bool suspended, final_fed, done, stopped, row_ready, in_sheet_data, in_row;
	int rc;                    /* wg_err of a failure inside a handler */

	uint32_t row_number, last_col, col;
	enum cell_type type;
	bool in_c, in_v, in_is, in_t;
	int rph_depth;
	wg_buf val;
};

/* ---- shared strings ---------------------------------------------------- */

struct sst_ctx {
	struct part_ctx pc;
	struct sst *sst;
	bool in_si, in_t;
	int rph_depth;
	size_t start;       /* offset of the string being collected */
};

static void XMLCALL sst_start(void *ud, const XML_Char *name, const XML_Char **atts)
{
	struct sst_ctx *c = ud;
	const char *ln = c->pc.scan ? name : xlsx_local_name(name);   /* the scanner's names are local */
	(void)atts;
	if (strcmp(ln, "si") == 0) {
		c->in_si = true;
		c->rph_depth = 0;
		c->start = c->sst->text.len;
	} else if (c->in_si && strcmp(ln, "rPh") == 0) {
		c->rph_depth++;
	} else if (c->in_si && c->rph_depth == 0 && strcmp(ln, "t") == 0) {
		c->in_t = true;
	}
}

static void XMLCALL sst_end(void *ud, const XML_Char *name)
{
	struct sst_ctx *c = ud;
	struct sst *t = c->sst;
	const char *ln = c->pc.scan ? name : xlsx_local_name(name);   /* the scanner's names are local */
	if (strcmp(ln, "t") == 0) {
		c->in_t = false;
	} else if (strcmp(ln, "rPh") == 0 && c->rph_depth > 0) {
		c->rph_depth--;
	} else if (strcmp(ln, "si") == 0 && c->in_si) {
		c->in_si = false;
		size_t len = t->text.len - c->start;
		if (c->pc.scan && len && !sheet_utf8_valid(t->text.data + c->start, len)) {
			xlsx_part_abort(&c->pc, sheet_fail(c->pc.r, WG_ERR_VALIDATION, SHEET_FORMAT, 0, 0,
			                                   "(共享字符串不是有效的UTF-8)", " (a shared string not valid UTF-8)"));
			return;
		}
		if (t->n == WG_MAX_SHARED_STRINGS) {
			xlsx_part_abort(&c->pc, sheet_fail(c->pc.r, WG_ERR_TOO_LARGE, SHEET_TOO_LARGE, 0, 0,
			                                   "(共享字符串过多)", " (too many shared strings)"));
			return;
		}
		if (t->n == t->cap) {
			size_t cap = t->cap ? t->cap * 2 : 1024;
			uint32_t *o = wg_realloc(t->off, cap * sizeof *o);
			if (!o) {
				xlsx_part_abort(&c->pc, sheet_fail(c->pc.r, WG_ERR_NOMEM, SHEET_NOMEM, 0, 0, NULL, NULL));
				return;
			}
			t->off = o;
			t->cap = cap;
		}
		t->off[t->n++] = (uint32_t)c->start;
		if (wg_buf_putc(&t->text, '\0'))
			xlsx_part_abort(&c->pc, sheet_fail(c->pc.r, t->text.err, t->text.err == WG_ERR_NOMEM ? SHEET_NOMEM : SHEET_TOO_LARGE,
			                                   0, 0, NULL, NULL));
	}
}

static void XMLCALL sst_text(void *ud, const XML_Char *s, int len)
{
	struct sst_ctx *c = ud;
	if (!c->in_t || c->rph_depth > 0 || len <= 0)
		return;
	if (wg_buf_append(&c->sst->text, s, (size_t)len))
		xlsx_part_abort(&c->pc, sheet_fail(c->pc.r, c->sst->text.err,
		                                   c->sst->text.err == WG_ERR_NOMEM ? SHEET_NOMEM : SHEET_TOO_LARGE,
		                                   0, 0, NULL, NULL));
}

/* ---- the worksheet ----------------------------------------------------- */

/* Stops the worksheet's parser: for good, or until the next row is asked for. */
static void ws_stop(struct xlsx *x, bool resumable)
{
	if (x->scan)
		sheet_xml_stop(x->scan, resumable);
	else
		XML_StopParser(x->p, resumable ? XML_TRUE : XML_FALSE);
}

static void sheet_abort(struct xlsx *x, int rc)
{
	x->rc = rc;
	x->stopped = true;
	ws_stop(x, false);
}

/* "D166" → column 4 (row part ignored: the <row r> decides). 0 if malformed. */
static uint32_t ref_column(const char *ref)
{
	uint32_t col = 0;
	size_t i = 0;
	for (; ref[i] >= 'A' && ref[i] <= 'Z'; i++) {
		if (i == 3)
			return 0;
		col = col * 26 + (uint32_t)(ref[i] - 'A' + 1);
	}
	return col;
}

static bool parse_u32_text(const char *s, uint32_t *out)
{
	uint64_t v = 0;
	size_t i = 0;
	while (s[i] == ' ')
		i++;
	size_t b = i;
	for (; s[i] >= '0' && s[i] <= '9'; i++) {
		v = v * 10 + (uint64_t)(s[i] - '0');
		if (v > UINT32_MAX)
			return false;
	}
	while (s[i] == ' ')
		i++;
	if (i == b || s[i] != '\0')
		return false;
	*out = (uint32_t)v;
	return true;
}

/* The worksheet's elements that matter, told apart without a string compare each. */
enum ws_tag { WS_OTHER, WS_SHEET_DATA, WS_ROW, WS_C, WS_V, WS_IS, WS_T, WS_RPH };

static enum ws_tag ws_tag_of(const struct xlsx *x, const char *name)
{
	const char *ln = x->scan ? name : xlsx_local_name(name);   /* the scanner's names are local */
	switch (ln[0]) {
	case 'c':
		return ln[1] == '\0' ? WS_C : WS_OTHER;
	case 'v':
		return ln[1] == '\0' ? WS_V : WS_OTHER;
	case 't':
		return ln[1] == '\0' ? WS_T : WS_OTHER;
	case 'i':
		return ln[1] == 's' && ln[2] == '\0' ? WS_IS : WS_OTHER;
	case 'r':
		if (ln[1] == 'o' && ln[2] == 'w' && ln[3] == '\0')
			return WS_ROW;
		return ln[1] == 'P' && ln[2] == 'h' && ln[3] == '\0' ? WS_RPH : WS_OTHER;
	case 's':
		return strcmp(ln, "sheetData") == 0 ? WS_SHEET_DATA : WS_OTHER;
	default:
		return WS_OTHER;
	}
}

static void ws_row_start(struct sheet_reader *r, struct xlsx *x, const char **atts)
{
	const char *rn = xlsx_attr(atts, "r", false);
	uint32_t num;
	if (!rn || !parse_u32_text(rn, &num) || num == 0)
		num = x->row_number + 1;
	x->row_number = num;
	x->last_col = 0;
	x->in_row = true;
	sheet_rowbuf_clear(&r->row, num);
}

static void ws_cell_start(struct xlsx *x, const char **atts)
{
	const char *ref = xlsx_attr(atts, "r", false), *t = xlsx_attr(atts, "t", false);
	uint32_t col = ref ? ref_column(ref) : 0;
	x->col = col ? col : x->last_col + 1;
	x->last_col = x->col;
	x->type = !t || strcmp(t, "n") == 0 ? CELL_NUMBER
	        : strcmp(t, "s") == 0      ? CELL_SHARED
	        : strcmp(t, "b") == 0      ? CELL_BOOL
	                                   : CELL_TEXT;
	x->in_c = true;
	x->in_is = x->in_v = x->in_t = false;
	x->rph_depth = 0;
	wg_buf_reset(&x->val);
}

static void XMLCALL ws_start(void *ud, const XML_Char *name, const XML_Char **atts)
{
	struct sheet_reader *r = ud;
	struct xlsx *x = r->impl;
	if (x->stopped)
		return;
	enum ws_tag tag = ws_tag_of(x, name);
	if (!x->in_sheet_data) {
		if (tag == WS_SHEET_DATA)
			x->in_sheet_data = true;
		return;
	}
	if (tag == WS_ROW)
		ws_row_start(r, x, atts);
	else if (tag == WS_C && x->in_row)
		ws_cell_start(x, atts);
	else if (tag == WS_V && x->in_c)
		x->in_v = true;
	else if (tag == WS_IS && x->in_c)
		x->in_is = true;
	else if (tag == WS_RPH && x->in_is)
		x->rph_depth++;
	else if (tag == WS_T && x->in_is && x->rph_depth == 0)
		x->in_t = true;
}

static void XMLCALL ws_text(void *ud, const XML_Char *s, int len)
{
	struct sheet_reader *r = ud;
	struct xlsx *x = r->impl;
	if (x->stopped || len <= 0 || !(x->in_v || x->in_t))
		return;
	if (wg_buf_append(&x->val, s, (size_t)len) == 0)
		return;
	if (x->val.err == WG_ERR_NOMEM)
		sheet_abort(x, sheet_fail(r, WG_ERR_NOMEM, SHEET_NOMEM, x->row_number, 0, NULL, NULL));
	else
		sheet_abort(x, sheet_fail(r, WG_ERR_TOO_LARGE, SHEET_CELL_TOO_LONG, x->row_number, x->col,
		                          "(超过65536字节)", " (over 65536 bytes)"));
}

static int cell_end(struct sheet_reader *r, struct xlsx *x)
{
	const char *v = x->val.data ? x->val.data : "";
	size_t len = x->val.len;
	if (x->type == CELL_SHARED) {
		uint32_t idx;
		if (len == 0)
			return 0;
		if (!parse_u32_text(v, &idx) || idx >= x->sst.n)
			return sheet_fail(r, WG_ERR_VALIDATION, SHEET_FORMAT, x->row_number, x->col,
			                  "(共享字符串编号无效)", " (invalid shared string index)");
		const char *s = x->sst.text.data + x->sst.off[idx];
		return sheet_rowbuf_add(r, x->col, s, strlen(s), false, 0);
	}
	if (x->type == CELL_BOOL) {
		if (len == 0)
			return 0;
		const char *b = strcmp(v, "0") == 0 ? "FALSE" : "TRUE";
		return sheet_rowbuf_add(r, x->col, b, strlen(b), false, 0);
	}
	if (x->type == CELL_NUMBER) {
		double d;
		char shown[32];
		if (len == 0)
			return 0;
		if (sheet_number_parse(v, len, &d)) {
			sheet_format_general(d, shown);
			return sheet_rowbuf_add(r, x->col, shown, strlen(shown), true, d);
		}
	}
	/* CELL_TEXT, or a number that is not one */
	if (x->scan && !sheet_utf8_valid(v, len)) {
		char dzh[200], den[200];
		snprintf(dzh, sizeof dzh, "(工作表“%s”:文字不是有效的UTF-8)", x->sheet_name);
		snprintf(den, sizeof den, " (sheet “%s”: text not valid UTF-8)", x->sheet_name);
		return sheet_fail(r, WG_ERR_VALIDATION, SHEET_FORMAT, x->row_number, x->col, dzh, den);
	}
	return sheet_rowbuf_add(r, x->col, v, len, false, 0);
}

static void XMLCALL ws_end(void *ud, const XML_Char *name)
{
	struct sheet_reader *r = ud;
	struct xlsx *x = r->impl;
	if (x->stopped || !x->in_sheet_data)
		return;
	enum ws_tag tag = ws_tag_of(x, name);
	if (tag == WS_V) {
		x->in_v = false;
	} else if (tag == WS_T) {
		x->in_t = false;
	} else if (tag == WS_RPH && x->rph_depth > 0) {
		x->rph_depth--;
	} else if (tag == WS_IS) {
		x->in_is = false;
	} else if (tag == WS_C && x->in_c) {
		x->in_c = false;
		int rc = cell_end(r, x);
		if (rc)
			sheet_abort(x, rc);
	} else if (tag == WS_ROW && x->in_row) {
		x->in_row = false;
		x->row_ready = true;
		ws_stop(x, true);
	} else if (tag == WS_SHEET_DATA) {
		x->in_sheet_data = false;
		x->done = true;
		x->stopped = true;
		ws_stop(x, false); /* nothing after the data matters */
	}
}

static void XMLCALL ws_doctype(void *ud, const XML_Char *name, const XML_Char *sysid,
                               const XML_Char *pubid, int has_internal)
{
	struct sheet_reader *r = ud;
	struct xlsx *x = r->impl;
	(void)name, (void)sysid, (void)pubid, (void)has_internal;
	sheet_abort(x, sheet_fail(r, WG_ERR_VALIDATION, SHEET_FORMAT, 0, 0, "(不允许DOCTYPE)",
	                          " (DOCTYPE not allowed)"));
}

/* Handles the status of a parse or resume call. */
static int ws_status(struct sheet_reader *r, struct xlsx *x, enum XML_Status st)
{
	if (st == XML_STATUS_SUSPENDED) {
		x->suspended = true;
		return 0;
	}
	x->suspended = false;
	if (st == XML_STATUS_OK)
		return 0;
	if (x->rc)
		return x->rc;
	if (x->done)
		return 0;
	char dzh[96], den[96];
	snprintf(dzh, sizeof dzh, "(工作表XML第%lu行格式错误)", (unsigned long)XML_GetCurrentLineNumber(x->p));
	snprintf(den, sizeof den, " (malformed worksheet XML at line %lu)",
	         (unsigned long)XML_GetCurrentLineNumber(x->p));
	return sheet_fail(r, WG_ERR_VALIDATION, SHEET_FORMAT, x->row_number, 0, dzh, den);
}

/* The worksheet named in messages: "工作表“名单”" / "sheet “名单”". */
static void ws_where(const struct xlsx *x, char *zh, char *en, size_t size)
{
	snprintf(zh, size, "工作表“%s”", x->sheet_name);
	snprintf(en, size, "sheet “%s”", x->sheet_name);
}

static int ws_scan_status(struct sheet_reader *r, struct xlsx *x, enum sheet_xml_status st)
{
	char zh[200], en[200];
	switch (st) {
	case SHEET_XML_SUSPENDED:
		return 0;
	case SHEET_XML_DONE:
		x->final_fed = true;     /* a well-formed worksheet without sheetData */
		return 0;
	case SHEET_XML_STOPPED:
		return x->rc;            /* a handler's failure, or 0 after </sheetData> */
	default:
		ws_where(x, zh, en, sizeof zh);
		if (st == SHEET_XML_MALFORMED || st == SHEET_XML_TOO_LARGE) {
			/* sheet_fail writes the row and cell; both texts name the sheet */
			const char *rz, *re;
			unsigned long long at;
			char dzh[400], den[400];
			bool large = st == SHEET_XML_TOO_LARGE;
			sheet_xml_error(x->scan, &rz, &re, &at);
			snprintf(dzh, sizeof dzh, "(%s%s:%s,解压后第%llu字节)", zh, large ? "" : "XML格式错误", rz, at + 1);
			snprintf(den, sizeof den, " (%s: %s%s, at byte %llu uncompressed)", en, large ? "" : "malformed XML: ",
			         re, at + 1);
			return sheet_fail(r, large ? WG_ERR_TOO_LARGE : WG_ERR_VALIDATION, large ? SHEET_TOO_LARGE : SHEET_FORMAT,
			                  x->row_number, x->in_c ? x->col : 0, dzh, den);
		}
		return xlsx_scan_fail(r, x->scan, st, &x->rd, zh, x->row_number, 0);
	}
}

static int xlsx_next(struct sheet_reader *r, bool *got)
{
	struct xlsx *x = r->impl;
	int rc;
	*got = false;
	x->row_ready = false;
	if (x->scan) {
		if (x->done || x->final_fed)
			return 0;
		rc = ws_scan_status(r, x, sheet_xml_run(x->scan));
		*got = rc == 0 && x->row_ready;
		return rc;
	}
	if (x->suspended) {
		rc = ws_status(r, x, XML_ResumeParser(x->p));
		if (rc)
			return rc;
	}
	while (!x->row_ready && !x->done && !x->final_fed) {
		void *buf = XML_GetBuffer(x->p, XLSX_CHUNK);
		if (!buf)
			return sheet_fail(r, WG_ERR_NOMEM, SHEET_NOMEM, x->row_number, 0, NULL, NULL);
		zip_int64_t n = zip_fread(x->zf, buf, XLSX_CHUNK);
		if (n < 0)
			return sheet_fail(r, WG_ERR_VALIDATION, SHEET_FORMAT, x->row_number, 0,
			                  "(压缩数据损坏或文件不完整)", " (compressed data damaged or file truncated)");
		x->read_total += (unsigned long long)n;
		if (x->read_total > WG_MAX_SHEET_XML)
			return sheet_fail(r, WG_ERR_TOO_LARGE, SHEET_TOO_LARGE, x->row_number, 0,
			                  "(工作表解压后超过1GB)", " (worksheet over 1 GB uncompressed)");
		x->final_fed = n == 0;
		rc = ws_status(r, x, XML_ParseBuffer(x->p, (int)n, n == 0));
		if (rc)
			return rc;
	}
	*got = x->row_ready;
	return 0;
}

static void xlsx_close(struct sheet_reader *r)
{
	struct xlsx *x = r->impl;
	if (!x)
		return;
	if (x->zf)
		zip_fclose(x->zf);
	if (x->p)
		XML_ParserFree(x->p);
	sheet_xml_free(x->scan);
	if (x->zip)
		zip_discard(x->zip);
	wg_buf_release(&x->sst.text);
	wg_free(x->sst.off);
	wg_buf_release(&x->val);
	wg_free(x);
	r->impl = NULL;
}

static const struct sheet_ops xlsx_ops = { xlsx_next, xlsx_close };

static int open_zip(struct sheet_reader *r, struct xlsx *x, const char *path, const void *data, size_t len)
{
	zip_error_t ze;
	int zerr = 0;
	zip_error_init(&ze);
	if (path) {
		x->zip = zip_open(path, ZIP_RDONLY, &zerr);
	} else {
		zip_source_t *src = zip_source_buffer_create(data, len, 0, &ze);
		if (src) {
			x->zip = zip_open_from_source(src, ZIP_RDONLY, &ze);
			if (!x->zip)
				zip_source_free(src);
		}
	}
	zip_error_fini(&ze);
	if (!x->zip)
		return sheet_fail(r, WG_ERR_VALIDATION, SHEET_FORMAT, 0, 0, "(ZIP结构损坏,文件可能不完整)",
		                  " (broken ZIP structure; the file may be truncated)");
	return 0;
}

static const struct sheet_xml_handlers ws_handlers = { ws_start, ws_end, ws_text };
static const struct sheet_xml_handlers sst_handlers = { sst_start, sst_end, sst_text };

/* The scanner on the worksheet; *foreign when expat must read it instead. */
static int open_sheet_scan(struct sheet_reader *r, struct xlsx *x, bool *foreign)
{
	*foreign = false;
	x->rd = (struct part_read){ .zf = x->zf, .limit = WG_MAX_SHEET_XML };
	x->scan = sheet_xml_new(xlsx_part_read, &x->rd, &ws_handlers, r);
	if (!x->scan)
		return sheet_fail(r, WG_ERR_NOMEM, SHEET_NOMEM, 0, 0, NULL, NULL);
	enum sheet_xml_status st = sheet_xml_begin(x->scan);
	if (st == SHEET_XML_DONE)
		return 0;
	if (st != SHEET_XML_FOREIGN)
		return ws_scan_status(r, x, st);
	*foreign = true;
	sheet_xml_free(x->scan);
	x->scan = NULL;
	return 0;
}

static int open_sheet_stream(struct sheet_reader *r, struct xlsx *x, const char *part)
{
	zip_int64_t idx = xlsx_locate(x->zip, part);
	if (idx < 0)
		return sheet_fail(r, WG_ERR_VALIDATION, SHEET_NO_SHEET, 0, 0, "(工作表部件缺失)",
		                  " (worksheet part missing)");
	for (int pass = 0; pass < 2; pass++) {
		bool foreign = false;
		x->zf = zip_fopen_index(x->zip, (zip_uint64_t)idx, 0);
		if (!x->zf)
			return sheet_fail(r, WG_ERR_VALIDATION, SHEET_FORMAT, 0, 0, "(无法解压工作表)",
			                  " (cannot decompress the worksheet)");
		if (pass > 0 || r->xlsx_xml != SHEET_XLSX_SCANNER)
			break;
		int rc = open_sheet_scan(r, x, &foreign);
		if (rc || !foreign)
			return rc;
		zip_fclose(x->zf);   /* from the start again, for expat */
		x->zf = NULL;
	}
	x->p = XML_ParserCreateNS(NULL, NS_SEP);
	if (!x->p)
		return sheet_fail(r, WG_ERR_NOMEM, SHEET_NOMEM, 0, 0, NULL, NULL);
	XML_SetUserData(x->p, r);
	XML_SetElementHandler(x->p, ws_start, ws_end);
	XML_SetCharacterDataHandler(x->p, ws_text);
	XML_SetStartDoctypeDeclHandler(x->p, ws_doctype);
	return 0;
}

int sheet_xlsx_open(struct sheet_reader *r, const char *path, const void *data, size_t len)
{
	wg_buf sheet_part = WG_BUF_INIT(1024), sst_part = WG_BUF_INIT(1024);
	int rc;
	struct xlsx *x = wg_calloc(1, sizeof *x);
	if (!x)
		return sheet_fail(r, WG_ERR_NOMEM, SHEET_NOMEM, 0, 0, NULL, NULL);
	wg_buf_init(&x->sst.text, WG_MAX_SHARED_STRINGS_XML);
	wg_buf_init(&x->val, WG_MAX_SHEET_CELL);
	r->impl = x;
	r->ops = &xlsx_ops;
	rc = open_zip(r, x, path, data, len);
	if (rc)
		goto out;
	rc = xlsx_find_parts(r, x->zip, &sheet_part, &sst_part, x->sheet_name, sizeof x->sheet_name);
	if (rc)
		goto out;
	if (sst_part.len) {
		struct sst_ctx sc = { .sst = &x->sst };
		if (r->xlsx_xml == SHEET_XLSX_SCANNER)
			rc = xlsx_scan_part(r, x->zip, sst_part.data, WG_MAX_SHARED_STRINGS_XML, &sst_handlers, &sc.pc);
		else
			rc = xlsx_parse_part(r, x->zip, sst_part.data, WG_MAX_SHARED_STRINGS_XML, sst_start, sst_end, sst_text,
			                &sc.pc, false);
		if (rc)
			goto out;
	}
	rc = open_sheet_stream(r, x, sheet_part.data);
out:
	wg_buf_release(&sheet_part);
	wg_buf_release(&sst_part);
	return rc;
}
