/* XLSX reader: libzip for the container, expat for the XML.
 *
 * The first worksheet is found the way Excel finds it: _rels/.rels names the
 * workbook, the workbook lists its sheets in order, the workbook's .rels maps
 * the first sheet's r:id to its part. sharedStrings.xml is streamed into one
 * table; the worksheet XML is streamed and the parser is suspended at the end
 * of every <row>, so one row is in memory at a time. Every part is read
 * through a byte counter with a cap (limits.h) so a zip bomb stops early;
 * DOCTYPEs are refused outright (no entity expansion). */
#include "core/sheet/sheet_int.h"

#include "core/lib/err.h"
#include "core/lib/limits.h"
#include "core/lib/mem.h"
#include "core/lib/parse.h"

#include <assert.h>
#include <expat.h>
#include <stdio.h>
#include <string.h>
#include <zip.h>

#define XLSX_CHUNK (64 * 1024)
#define NS_SEP '|'

struct sst {
	wg_buf text;          /* strings, each NUL-terminated */
	uint32_t *off;
	size_t n, cap;
};

struct xlsx {
	zip_t *zip;
	struct sst sst;

	/* worksheet streaming */
	XML_Parser p;
	zip_file_t *zf;
	unsigned long long read_total;
	bool suspended, final_fed, done, stopped, row_ready, in_sheet_data, in_row;
	int rc;                    /* wg_err of a failure inside a handler */

	uint32_t row_number, last_col, col;
	char type[16];
	bool in_c, in_v, in_is, in_t;
	int rph_depth;
	wg_buf val;
};

/* ---- helpers ----------------------------------------------------------- */

static const char *local_name(const char *name)
{
	const char *sep = strrchr(name, NS_SEP);
	return sep ? sep + 1 : name;
}

/* The value of an attribute by local name; namespaced = must carry a namespace. */
static const char *attr(const char **atts, const char *name, bool namespaced)
{
	for (size_t i = 0; atts[i]; i += 2) {
		bool has_ns = strchr(atts[i], NS_SEP) != NULL;
		if (has_ns == namespaced && strcmp(local_name(atts[i]), name) == 0)
			return atts[i + 1];
	}
	return NULL;
}

static bool ends_with(const char *s, const char *tail)
{
	size_t n = strlen(s), t = strlen(tail);
	return n >= t && strcmp(s + n - t, tail) == 0;
}

/* Resolves a relationship target against the part that holds the .rels:
 * "/xl/worksheets/sheet1.xml" is absolute, "worksheets/sheet1.xml" is
 * relative to the source part's folder; "." and ".." are folded. */
static int resolve_target(const char *source_part, const char *target, wg_buf *out)
{
	char *segs[64];
	size_t nseg = 0;
	char tmp[1024];
	wg_buf_reset(out);
	if (target[0] == '/') {
		snprintf(tmp, sizeof tmp, "%s", target + 1);
	} else {
		const char *slash = strrchr(source_part, '/');
		int dir = slash ? (int)(slash - source_part) + 1 : 0;
		snprintf(tmp, sizeof tmp, "%.*s%s", dir, source_part, target);
	}
	for (char *s = tmp, *seg; (seg = s) != NULL;) {
		char *slash = strchr(s, '/');
		if (slash)
			*slash = '\0';
		s = slash ? slash + 1 : NULL;
		if (*seg == '\0' || strcmp(seg, ".") == 0)
			continue;
		if (strcmp(seg, "..") == 0) {
			if (nseg)
				nseg--;
			continue;
		}
		if (nseg == sizeof segs / sizeof segs[0])
			return WG_ERR_VALIDATION;
		segs[nseg++] = seg;
	}
	for (size_t i = 0; i < nseg; i++)
		wg_buf_printf(out, "%s%s", i ? "/" : "", segs[i]);
	if (!out->data)
		wg_buf_append(out, "", 0);
	return out->err;
}

static zip_int64_t locate(zip_t *z, const char *name)
{
	zip_int64_t i = zip_name_locate(z, name, 0);
	if (i < 0)
		i = zip_name_locate(z, name, ZIP_FL_NOCASE);
	return i;
}

/* ---- whole small parts (rels, workbook) -------------------------------- */

struct part_ctx {
	XML_Parser p;
	struct sheet_reader *r;
	bool refused;
	int rc;            /* set by a handler that failed (after sheet_fail) */
};

static void part_abort(struct part_ctx *pc, int rc)
{
	pc->rc = rc;
	XML_StopParser(pc->p, XML_FALSE);
}

static void XMLCALL refuse_doctype(void *ud, const XML_Char *name, const XML_Char *sysid,
                                   const XML_Char *pubid, int has_internal)
{
	struct part_ctx *pc = ud;
	(void)name, (void)sysid, (void)pubid, (void)has_internal;
	pc->refused = true;
	XML_StopParser(pc->p, XML_FALSE);
}

/* Streams one part through a namespace-aware expat parser. ud must start
 * with a struct part_ctx. Returns 0, or fills the reader error. */
static int parse_part(struct sheet_reader *r, const char *name, unsigned long long limit,
                      XML_StartElementHandler start, XML_EndElementHandler end,
                      XML_CharacterDataHandler text, struct part_ctx *pc, bool required)
{
	struct xlsx *x = r->impl;
	zip_file_t *zf = NULL;
	unsigned long long total = 0;
	int rc = WG_ERR_VALIDATION;
	zip_int64_t idx = locate(x->zip, name);
	if (idx < 0) {
		if (!required)
			return 0;
		return sheet_fail(r, rc, SHEET_FORMAT, 0, 0, "(缺少工作簿部件)", " (a workbook part is missing)");
	}
	pc->r = r;
	pc->p = XML_ParserCreateNS(NULL, NS_SEP);
	if (!pc->p)
		return sheet_fail(r, WG_ERR_NOMEM, SHEET_NOMEM, 0, 0, NULL, NULL);
	XML_SetUserData(pc->p, pc);
	XML_SetElementHandler(pc->p, start, end);
	if (text)
		XML_SetCharacterDataHandler(pc->p, text);
	XML_SetStartDoctypeDeclHandler(pc->p, refuse_doctype);
	zf = zip_fopen_index(x->zip, (zip_uint64_t)idx, 0);
	if (!zf) {
		rc = sheet_fail(r, WG_ERR_VALIDATION, SHEET_FORMAT, 0, 0, "(无法解压)", " (cannot decompress)");
		goto out;
	}
	for (;;) {
		void *buf = XML_GetBuffer(pc->p, XLSX_CHUNK);
		if (!buf) {
			rc = sheet_fail(r, WG_ERR_NOMEM, SHEET_NOMEM, 0, 0, NULL, NULL);
			goto out;
		}
		zip_int64_t got = zip_fread(zf, buf, XLSX_CHUNK);
		if (got < 0) {
			rc = sheet_fail(r, WG_ERR_VALIDATION, SHEET_FORMAT, 0, 0, "(压缩数据损坏)",
			                " (compressed data damaged)");
			goto out;
		}
		total += (unsigned long long)got;
		if (total > limit) {
			rc = sheet_fail(r, WG_ERR_TOO_LARGE, SHEET_TOO_LARGE, 0, 0, NULL, NULL);
			goto out;
		}
		if (XML_ParseBuffer(pc->p, (int)got, got == 0) != XML_STATUS_OK) {
			if (pc->rc) {
				rc = pc->rc;
				goto out;
			}
			rc = sheet_fail(r, WG_ERR_VALIDATION, SHEET_FORMAT, 0, 0,
			                pc->refused ? "(不允许DOCTYPE)" : "(XML格式错误)",
			                pc->refused ? " (DOCTYPE not allowed)" : " (malformed XML)");
			goto out;
		}
		if (got == 0)
			break;
	}
	rc = 0;
out:
	if (zf)
		zip_fclose(zf);
	XML_ParserFree(pc->p);
	pc->p = NULL;
	return rc;
}

/* ---- relationships and the workbook ------------------------------------ */

struct rels_ctx {
	struct part_ctx pc;
	const char *want_id;        /* Id to look up, or NULL */
	const char *want_type;      /* Type suffix to look up, or NULL */
	char target_by_id[512];
	char target_by_type[512];
};

static void XMLCALL rels_start(void *ud, const XML_Char *name, const XML_Char **atts)
{
	struct rels_ctx *c = ud;
	if (strcmp(local_name(name), "Relationship") != 0)
		return;
	const char *id = attr(atts, "Id", false), *type = attr(atts, "Type", false);
	const char *target = attr(atts, "Target", false);
	const char *mode = attr(atts, "TargetMode", false);
	if (!target || (mode && strcmp(mode, "External") == 0))
		return;
	if (c->want_id && id && !c->target_by_id[0] && strcmp(id, c->want_id) == 0)
		snprintf(c->target_by_id, sizeof c->target_by_id, "%s", target);
	if (c->want_type && type && !c->target_by_type[0] && ends_with(type, c->want_type))
		snprintf(c->target_by_type, sizeof c->target_by_type, "%s", target);
}

static void XMLCALL ignore_end(void *ud, const XML_Char *name)
{
	(void)ud, (void)name;
}

struct workbook_ctx {
	struct part_ctx pc;
	char first_sheet_rid[256];
	bool seen;
};

static void XMLCALL workbook_start(void *ud, const XML_Char *name, const XML_Char **atts)
{
	struct workbook_ctx *c = ud;
	if (c->seen || strcmp(local_name(name), "sheet") != 0)
		return;
	const char *rid = attr(atts, "id", true);
	if (!rid)
		return;
	snprintf(c->first_sheet_rid, sizeof c->first_sheet_rid, "%s", rid);
	c->seen = true;
}

/* The .rels part that belongs to a part: xl/workbook.xml → xl/_rels/workbook.xml.rels */
static void rels_of(const char *part, char *out, size_t size)
{
	const char *slash = strrchr(part, '/');
	int dir = slash ? (int)(slash - part) + 1 : 0;
	snprintf(out, size, "%.*s_rels/%s.rels", dir, part, part + dir);
}

/* Finds the parts of the first worksheet and of the shared strings. */
static int find_parts(struct sheet_reader *r, wg_buf *sheet_part, wg_buf *sst_part)
{
	struct rels_ctx root = { .want_type = "/officeDocument" };
	struct workbook_ctx wb = { 0 };
	struct rels_ctx wbr = { 0 };
	wg_buf workbook = WG_BUF_INIT(1024);
	char rels[1200];
	int rc = parse_part(r, "_rels/.rels", WG_MAX_XLSX_PART, rels_start, ignore_end, NULL, &root.pc, false);
	if (rc)
		goto out;
	rc = resolve_target("", root.target_by_type[0] ? root.target_by_type : "xl/workbook.xml", &workbook);
	if (rc)
		goto nomem;
	rc = parse_part(r, workbook.data, WG_MAX_XLSX_PART, workbook_start, ignore_end, NULL, &wb.pc, true);
	if (rc)
		goto out;
	if (!wb.seen) {
		rc = sheet_fail(r, WG_ERR_VALIDATION, SHEET_NO_SHEET, 0, 0, NULL, NULL);
		goto out;
	}
	wbr.want_id = wb.first_sheet_rid;
	wbr.want_type = "/sharedStrings";
	rels_of(workbook.data, rels, sizeof rels);
	rc = parse_part(r, rels, WG_MAX_XLSX_PART, rels_start, ignore_end, NULL, &wbr.pc, true);
	if (rc)
		goto out;
	if (!wbr.target_by_id[0]) {
		rc = sheet_fail(r, WG_ERR_VALIDATION, SHEET_NO_SHEET, 0, 0, "(找不到第一个工作表)",
		                " (the first worksheet cannot be found)");
		goto out;
	}
	if (resolve_target(workbook.data, wbr.target_by_id, sheet_part))
		goto nomem;
	if (wbr.target_by_type[0] && resolve_target(workbook.data, wbr.target_by_type, sst_part))
		goto nomem;
	rc = 0;
	goto out;
nomem:
	rc = sheet_fail(r, WG_ERR_VALIDATION, SHEET_FORMAT, 0, 0, "(部件路径无效)", " (invalid part path)");
out:
	wg_buf_release(&workbook);
	return rc;
}

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
	const char *ln = local_name(name);
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
	const char *ln = local_name(name);
	if (strcmp(ln, "t") == 0) {
		c->in_t = false;
	} else if (strcmp(ln, "rPh") == 0 && c->rph_depth > 0) {
		c->rph_depth--;
	} else if (strcmp(ln, "si") == 0 && c->in_si) {
		c->in_si = false;
		if (t->n == WG_MAX_SHARED_STRINGS) {
			part_abort(&c->pc, sheet_fail(c->pc.r, WG_ERR_TOO_LARGE, SHEET_TOO_LARGE, 0, 0,
			                              "(共享字符串过多)", " (too many shared strings)"));
			return;
		}
		if (t->n == t->cap) {
			size_t cap = t->cap ? t->cap * 2 : 1024;
			uint32_t *o = wg_realloc(t->off, cap * sizeof *o);
			if (!o) {
				part_abort(&c->pc, sheet_fail(c->pc.r, WG_ERR_NOMEM, SHEET_NOMEM, 0, 0, NULL, NULL));
				return;
			}
			t->off = o;
			t->cap = cap;
		}
		t->off[t->n++] = (uint32_t)c->start;
		if (wg_buf_putc(&t->text, '\0'))
			part_abort(&c->pc, sheet_fail(c->pc.r, t->text.err, t->text.err == WG_ERR_NOMEM ? SHEET_NOMEM : SHEET_TOO_LARGE,
			                              0, 0, NULL, NULL));
	}
}

static void XMLCALL sst_text(void *ud, const XML_Char *s, int len)
{
	struct sst_ctx *c = ud;
	if (!c->in_t || c->rph_depth > 0 || len <= 0)
		return;
	if (wg_buf_append(&c->sst->text, s, (size_t)len))
		part_abort(&c->pc, sheet_fail(c->pc.r, c->sst->text.err,
		                              c->sst->text.err == WG_ERR_NOMEM ? SHEET_NOMEM : SHEET_TOO_LARGE,
		                              0, 0, NULL, NULL));
}

/* ---- the worksheet ----------------------------------------------------- */

static void sheet_abort(struct xlsx *x, int rc)
{
	x->rc = rc;
	x->stopped = true;
	XML_StopParser(x->p, XML_FALSE);
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

static void XMLCALL ws_start(void *ud, const XML_Char *name, const XML_Char **atts)
{
	struct sheet_reader *r = ud;
	struct xlsx *x = r->impl;
	if (x->stopped)
		return;
	const char *ln = local_name(name);
	if (!x->in_sheet_data) {
		if (strcmp(ln, "sheetData") == 0)
			x->in_sheet_data = true;
		return;
	}
	if (strcmp(ln, "row") == 0) {
		const char *rn = attr(atts, "r", false);
		uint32_t num;
		if (!rn || !parse_u32_text(rn, &num) || num == 0)
			num = x->row_number + 1;
		x->row_number = num;
		x->last_col = 0;
		x->in_row = true;
		sheet_rowbuf_clear(&r->row, num);
	} else if (strcmp(ln, "c") == 0 && x->in_row) {
		const char *ref = attr(atts, "r", false), *t = attr(atts, "t", false);
		uint32_t col = ref ? ref_column(ref) : 0;
		x->col = col ? col : x->last_col + 1;
		x->last_col = x->col;
		wg_copy_text(x->type, sizeof x->type, t ? t : "n");  /* a cell at a time: no printf */
		x->in_c = true;
		x->in_is = x->in_v = x->in_t = false;
		x->rph_depth = 0;
		wg_buf_reset(&x->val);
	} else if (x->in_c && strcmp(ln, "v") == 0) {
		x->in_v = true;
	} else if (x->in_c && strcmp(ln, "is") == 0) {
		x->in_is = true;
	} else if (x->in_is && strcmp(ln, "rPh") == 0) {
		x->rph_depth++;
	} else if (x->in_is && x->rph_depth == 0 && strcmp(ln, "t") == 0) {
		x->in_t = true;
	}
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
	const char *type = x->type;
	if (strcmp(type, "s") == 0) {
		uint32_t idx;
		if (len == 0)
			return 0;
		if (!parse_u32_text(v, &idx) || idx >= x->sst.n)
			return sheet_fail(r, WG_ERR_VALIDATION, SHEET_FORMAT, x->row_number, x->col,
			                  "(共享字符串编号无效)", " (invalid shared string index)");
		const char *s = x->sst.text.data + x->sst.off[idx];
		return sheet_rowbuf_add(r, x->col, s, strlen(s), false, 0);
	}
	if (strcmp(type, "b") == 0) {
		if (len == 0)
			return 0;
		const char *b = strcmp(v, "0") == 0 ? "FALSE" : "TRUE";
		return sheet_rowbuf_add(r, x->col, b, strlen(b), false, 0);
	}
	if (strcmp(type, "n") == 0) {
		double d;
		char shown[32];
		if (len == 0)
			return 0;
		if (sheet_number_parse(v, len, &d)) {
			sheet_format_general(d, shown);
			return sheet_rowbuf_add(r, x->col, shown, strlen(shown), true, d);
		}
	}
	/* inlineStr, str (formula result), e (error such as #N/A), d (ISO date) */
	return sheet_rowbuf_add(r, x->col, v, len, false, 0);
}

static void XMLCALL ws_end(void *ud, const XML_Char *name)
{
	struct sheet_reader *r = ud;
	struct xlsx *x = r->impl;
	if (x->stopped || !x->in_sheet_data)
		return;
	const char *ln = local_name(name);
	if (strcmp(ln, "v") == 0) {
		x->in_v = false;
	} else if (strcmp(ln, "t") == 0) {
		x->in_t = false;
	} else if (strcmp(ln, "rPh") == 0 && x->rph_depth > 0) {
		x->rph_depth--;
	} else if (strcmp(ln, "is") == 0) {
		x->in_is = false;
	} else if (strcmp(ln, "c") == 0 && x->in_c) {
		x->in_c = false;
		int rc = cell_end(r, x);
		if (rc)
			sheet_abort(x, rc);
	} else if (strcmp(ln, "row") == 0 && x->in_row) {
		x->in_row = false;
		x->row_ready = true;
		XML_StopParser(x->p, XML_TRUE);
	} else if (strcmp(ln, "sheetData") == 0) {
		x->in_sheet_data = false;
		x->done = true;
		x->stopped = true;
		XML_StopParser(x->p, XML_FALSE); /* nothing after the data matters */
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

static int xlsx_next(struct sheet_reader *r, bool *got)
{
	struct xlsx *x = r->impl;
	int rc;
	*got = false;
	x->row_ready = false;
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

static int open_sheet_stream(struct sheet_reader *r, struct xlsx *x, const char *part)
{
	zip_int64_t idx = locate(x->zip, part);
	if (idx < 0)
		return sheet_fail(r, WG_ERR_VALIDATION, SHEET_NO_SHEET, 0, 0, "(工作表部件缺失)",
		                  " (worksheet part missing)");
	x->zf = zip_fopen_index(x->zip, (zip_uint64_t)idx, 0);
	if (!x->zf)
		return sheet_fail(r, WG_ERR_VALIDATION, SHEET_FORMAT, 0, 0, "(无法解压工作表)",
		                  " (cannot decompress the worksheet)");
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
	rc = find_parts(r, &sheet_part, &sst_part);
	if (rc)
		goto out;
	if (sst_part.len) {
		struct sst_ctx sc = { .sst = &x->sst };
		rc = parse_part(r, sst_part.data, WG_MAX_SHARED_STRINGS_XML, sst_start, sst_end, sst_text, &sc.pc,
		                false);
		if (rc)
			goto out;
	}
	rc = open_sheet_stream(r, x, sheet_part.data);
out:
	wg_buf_release(&sheet_part);
	wg_buf_release(&sst_part);
	return rc;
}
