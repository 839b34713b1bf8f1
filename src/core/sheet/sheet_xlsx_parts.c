/* The parts of an XLSX file: reading one (expat, or the scanner with its
 * bytes counted against a cap), and finding the first worksheet and the
 * shared strings through the relationships, as Excel does. */
#include "core/sheet/sheet_xlsx_int.h"

#include "core/lib/err.h"
#include "core/lib/limits.h"
#include "core/lib/mem.h"
#include "core/lib/parse.h"

#include <stdio.h>
#include <string.h>

#define XLSX_CHUNK (64 * 1024)

const char *xlsx_local_name(const char *name)
{
	const char *sep = strrchr(name, NS_SEP);
	return sep ? sep + 1 : name;
}

/* The value of an attribute by local name; namespaced = must carry a namespace. */
const char *xlsx_attr(const char **atts, const char *name, bool namespaced)
{
	if (!namespaced) {   /* a name without a namespace is the whole name */
		for (size_t i = 0; atts[i]; i += 2) {
			const char *a = atts[i], *b = name;
			while (*a && *a == *b)   /* names of a letter or two: no call */
				a++, b++;
			if (*a == *b)
				return atts[i + 1];
		}
		return NULL;
	}
	for (size_t i = 0; atts[i]; i += 2) {
		bool has_ns = strchr(atts[i], NS_SEP) != NULL;
		if (has_ns == namespaced && strcmp(xlsx_local_name(atts[i]), name) == 0)
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

zip_int64_t xlsx_locate(zip_t *z, const char *name)
{
	zip_int64_t i = zip_name_locate(z, name, 0);
	if (i < 0)
		i = zip_name_locate(z, name, ZIP_FL_NOCASE);
	return i;
}

long xlsx_part_read(void *ctx, char *buf, size_t cap)
{
	struct part_read *rd = ctx;
	zip_int64_t got = zip_fread(rd->zf, buf, cap);
	if (got < 0) {
		rd->damaged = true;
		return -1;
	}
	rd->total += (unsigned long long)got;
	if (rd->total > rd->limit) {
		rd->too_large = true;
		return -1;
	}
	return (long)got;
}

/* ---- whole small parts (rels, workbook) -------------------------------- */

void xlsx_part_abort(struct part_ctx *pc, int rc)
{
	pc->rc = rc;
	if (pc->scan)
		sheet_xml_stop(pc->scan, false);
	else
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
int xlsx_parse_part(struct sheet_reader *r, zip_t *zip, const char *name, unsigned long long limit,
                    XML_StartElementHandler start, XML_EndElementHandler end,
                    XML_CharacterDataHandler text, struct part_ctx *pc, bool required)
{
	zip_file_t *zf = NULL;
	unsigned long long total = 0;
	int rc = WG_ERR_VALIDATION;
	zip_int64_t idx = xlsx_locate(zip, name);
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
	zf = zip_fopen_index(zip, (zip_uint64_t)idx, 0);
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
	if (strcmp(xlsx_local_name(name), "Relationship") != 0)
		return;
	const char *id = xlsx_attr(atts, "Id", false), *type = xlsx_attr(atts, "Type", false);
	const char *target = xlsx_attr(atts, "Target", false);
	const char *mode = xlsx_attr(atts, "TargetMode", false);
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
	char first_sheet_name[128];
	bool seen;
};

static void XMLCALL workbook_start(void *ud, const XML_Char *name, const XML_Char **atts)
{
	struct workbook_ctx *c = ud;
	if (c->seen || strcmp(xlsx_local_name(name), "sheet") != 0)
		return;
	const char *rid = xlsx_attr(atts, "id", true);
	if (!rid)
		return;
	const char *sheet_name = xlsx_attr(atts, "name", false);
	snprintf(c->first_sheet_rid, sizeof c->first_sheet_rid, "%s", rid);
	wg_copy_text(c->first_sheet_name, sizeof c->first_sheet_name, sheet_name ? sheet_name : "");
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
int xlsx_find_parts(struct sheet_reader *r, zip_t *zip, wg_buf *sheet_part, wg_buf *sst_part,
                    char *sheet_name, size_t name_size)
{
	struct rels_ctx root = { .want_type = "/officeDocument" };
	struct workbook_ctx wb = { 0 };
	struct rels_ctx wbr = { 0 };
	wg_buf workbook = WG_BUF_INIT(1024);
	char rels[1200];
	int rc = xlsx_parse_part(r, zip, "_rels/.rels", WG_MAX_XLSX_PART, rels_start, ignore_end, NULL, &root.pc, false);
	if (rc)
		goto out;
	rc = resolve_target("", root.target_by_type[0] ? root.target_by_type : "xl/workbook.xml", &workbook);
	if (rc)
		goto nomem;
	rc = xlsx_parse_part(r, zip, workbook.data, WG_MAX_XLSX_PART, workbook_start, ignore_end, NULL, &wb.pc, true);
	if (rc)
		goto out;
	if (!wb.seen) {
		rc = sheet_fail(r, WG_ERR_VALIDATION, SHEET_NO_SHEET, 0, 0, NULL, NULL);
		goto out;
	}
	wg_copy_text(sheet_name, name_size, wb.first_sheet_name);
	wbr.want_id = wb.first_sheet_rid;
	wbr.want_type = "/sharedStrings";
	rels_of(workbook.data, rels, sizeof rels);
	rc = xlsx_parse_part(r, zip, rels, WG_MAX_XLSX_PART, rels_start, ignore_end, NULL, &wbr.pc, true);
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

/* The message for a scan that did not end well: what was malformed and
 * where (the part, and the row and cell when in the worksheet). */
int xlsx_scan_fail(struct sheet_reader *r, struct sheet_xml *scan, enum sheet_xml_status st,
                   const struct part_read *rd, const char *part, uint32_t row, uint32_t col)
{
	const char *zh, *en;
	unsigned long long at;
	char dzh[320], den[320];
	if (st == SHEET_XML_NOMEM)
		return sheet_fail(r, WG_ERR_NOMEM, SHEET_NOMEM, row, 0, NULL, NULL);
	if (st == SHEET_XML_READ_FAILED && rd->too_large)
		return sheet_fail(r, WG_ERR_TOO_LARGE, SHEET_TOO_LARGE, row, 0, "(解压后过大)",
		                  " (too large uncompressed)");
	if (st == SHEET_XML_READ_FAILED)
		return sheet_fail(r, WG_ERR_VALIDATION, SHEET_FORMAT, row, 0, "(压缩数据损坏或文件不完整)",
		                  " (compressed data damaged or file truncated)");
	sheet_xml_error(scan, &zh, &en, &at);
	snprintf(dzh, sizeof dzh, "(%s:%s,解压后第%llu字节)", part, zh, at + 1);
	snprintf(den, sizeof den, " (%s: %s, at byte %llu uncompressed)", part, en, at + 1);
	if (st == SHEET_XML_TOO_LARGE)
		return sheet_fail(r, WG_ERR_TOO_LARGE, SHEET_TOO_LARGE, row, col, dzh, den);
	return sheet_fail(r, WG_ERR_VALIDATION, SHEET_FORMAT, row, col, dzh, den);
}

/* xlsx_parse_part() through the scanner, for the shared strings; expat reads a
 * part that is not UTF-8. */
int xlsx_scan_part(struct sheet_reader *r, zip_t *zip, const char *name, unsigned long long limit,
                   const struct sheet_xml_handlers *h, struct part_ctx *pc)
{
	struct part_read rd = { .limit = limit };
	char where[160];
	int rc = 0;
	zip_int64_t idx = xlsx_locate(zip, name);
	if (idx < 0)
		return 0;
	pc->r = r;
	rd.zf = zip_fopen_index(zip, (zip_uint64_t)idx, 0);
	if (!rd.zf)
		return sheet_fail(r, WG_ERR_VALIDATION, SHEET_FORMAT, 0, 0, "(无法解压)", " (cannot decompress)");
	pc->scan = sheet_xml_new(xlsx_part_read, &rd, h, pc);
	if (!pc->scan) {
		rc = sheet_fail(r, WG_ERR_NOMEM, SHEET_NOMEM, 0, 0, NULL, NULL);
		goto out;
	}
	enum sheet_xml_status st = sheet_xml_begin(pc->scan);
	if (st == SHEET_XML_DONE)
		st = sheet_xml_run(pc->scan);
	if (st == SHEET_XML_FOREIGN) {
		sheet_xml_free(pc->scan);
		pc->scan = NULL;
		zip_fclose(rd.zf);
		rd.zf = NULL;
		return xlsx_parse_part(r, zip, name, limit, h->start, h->end, h->text, pc, false);
	}
	if (st == SHEET_XML_STOPPED && pc->rc)
		rc = pc->rc;
	else if (st != SHEET_XML_DONE) {
		snprintf(where, sizeof where, "%s", name);
		rc = xlsx_scan_fail(r, pc->scan, st, &rd, where, 0, 0);
	}
out:
	sheet_xml_free(pc->scan);
	pc->scan = NULL;
	if (rd.zf)
		zip_fclose(rd.zf);
	return rc;
}
