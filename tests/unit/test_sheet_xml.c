/* The XLSX worksheet scanner (sheet_xml.c) against expat, the reference:
 * every sample workbook read both ways gives the same rows; workbooks
 * written here part by part exercise what SpreadsheetML writers emit
 * (prefixes, entities, CDATA, missing references, inline and rich
 * strings, chunk boundaries, UTF-16) with the rows spelled out; broken
 * worksheets are refused with the sheet and cell named. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "core/lib/buf.h"
#include "core/lib/err.h"
#include "core/lib/mem.h"
#include "core/sheet/sheet.h"
#include "core/sheet/sheet_int.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <xlsxwriter.h>
#include <zip.h>

static char tmpdir[512];

static void path_of(const char *name, char *out, size_t size)
{
	snprintf(out, size, "%s/%s", tmpdir, name);
}

static char *read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	assert_non_null(f);
	assert_int_equal(fseek(f, 0, SEEK_END), 0);
	long n = ftell(f);
	assert_true(n >= 0);
	rewind(f);
	char *p = malloc((size_t)n + 1);
	assert_non_null(p);
	assert_int_equal(fread(p, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	*len = (size_t)n;
	return p;
}

/* Every row as "row|cell|cell#\n" (# = from a number), then "ERR code zh | en"
 * if reading stopped on an error. */
static char *dump(const void *data, size_t len, enum sheet_xlsx_xml xml)
{
	wg_buf b = WG_BUF_INIT(64u << 20);
	struct sheet_reader *r = NULL;
	struct sheet_error err;
	struct sheet_row row;
	int rc = sheet_open_memory_xml(data, len, xml, &r, &err);
	if (rc == 0) {
		while ((rc = sheet_next_row(r, &row)) == 0 && !row.end) {
			wg_buf_printf(&b, "%u", row.number);
			for (size_t i = 0; i < row.n; i++) {
				assert_int_equal(strlen(row.cells[i].text), row.cells[i].len);
				wg_buf_printf(&b, "|%s%s", row.cells[i].text, row.cells[i].from_number ? "#" : "");
			}
			wg_buf_putc(&b, '\n');
		}
		if (rc)
			err = *sheet_last_error(r);
		sheet_close(r);
	}
	if (rc)
		wg_buf_printf(&b, "ERR %d %s | %s\n", err.code, err.message_zh, err.message_en);
	assert_int_equal(b.err, 0);
	char *s = wg_buf_detach(&b, NULL);
	assert_non_null(s);
	return s;
}

/* The rows the scanner gives, checked to be those expat gives. */
static char *both(const void *data, size_t len)
{
	char *scanned = dump(data, len, SHEET_XLSX_SCANNER);
	char *parsed = dump(data, len, SHEET_XLSX_EXPAT);
	assert_string_equal(scanned, parsed);
	wg_free(parsed);
	return scanned;
}

/* ---- workbooks written part by part ------------------------------------- */

static const char rels[] =
	"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
	"<Relationships xmlns=\"http://schemas.openxmlformats.org/package/2006/relationships\">"
	"<Relationship Id=\"rId1\" Type=\"http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument\" Target=\"xl/workbook.xml\"/>"
	"</Relationships>";
static const char workbook[] =
	"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
	"<workbook xmlns=\"http://schemas.openxmlformats.org/spreadsheetml/2006/main\" "
	"xmlns:r=\"http://schemas.openxmlformats.org/officeDocument/2006/relationships\">"
	"<sheets><sheet name=\"名单\" sheetId=\"1\" r:id=\"rId1\"/></sheets></workbook>";
static const char workbook_rels[] =
	"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
	"<Relationships xmlns=\"http://schemas.openxmlformats.org/package/2006/relationships\">"
	"<Relationship Id=\"rId1\" Type=\"http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet\" Target=\"worksheets/sheet1.xml\"/>"
	"<Relationship Id=\"rId2\" Type=\"http://schemas.openxmlformats.org/officeDocument/2006/relationships/sharedStrings\" Target=\"sharedStrings.xml\"/>"
	"</Relationships>";

static void add_part(zip_t *z, const char *name, const void *data, size_t len)
{
	zip_source_t *src = zip_source_buffer(z, data, len, 0);
	assert_non_null(src);
	assert_true(zip_file_add(z, name, src, ZIP_FL_ENC_UTF_8) >= 0);
}

/* An XLSX file of these worksheet and shared-strings parts (sst may be NULL). */
static char *make_xlsx(const void *sheet, size_t sheet_len, const char *sst, size_t *len)
{
	char path[600];
	int zerr = 0;
	path_of("made.xlsx", path, sizeof path);
	zip_t *z = zip_open(path, ZIP_CREATE | ZIP_TRUNCATE, &zerr);
	assert_non_null(z);
	add_part(z, "_rels/.rels", rels, strlen(rels));
	add_part(z, "xl/workbook.xml", workbook, strlen(workbook));
	add_part(z, "xl/_rels/workbook.xml.rels", workbook_rels, strlen(workbook_rels));
	add_part(z, "xl/worksheets/sheet1.xml", sheet, sheet_len);
	if (sst)
		add_part(z, "xl/sharedStrings.xml", sst, strlen(sst));
	assert_int_equal(zip_close(z), 0);
	char *data = read_file(path, len);
	unlink(path);
	return data;
}

static char *rows_of(const char *sheet, const char *sst)
{
	size_t len;
	char *data = make_xlsx(sheet, strlen(sheet), sst, &len);
	char *rows = both(data, len);
	free(data);
	return rows;
}

#define SHEET_HEAD "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\r\n"

/* What writers emit, and what the scanner must read as expat does. */
static void test_scanner_subset(void **state)
{
	(void)state;
	static const char sst[] =
		"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
		"<sst xmlns=\"http://schemas.openxmlformats.org/spreadsheetml/2006/main\" count=\"3\" uniqueCount=\"3\">"
		"<si><t>姓名</t></si>"
		"<si><r><rPr><b/></rPr><t>富</t></r><r><t xml:space=\"preserve\"> 文本</t></r>"
		"<rPh sb=\"0\" eb=\"1\"><t>ふりがな</t></rPh></si>"
		"<si><t>A&amp;B &#x4E2D;&#25991;</t></si></sst>";
	static const char sheet[] = SHEET_HEAD
		"<!-- written by hand -->\r\n"
		"<x:worksheet xmlns:x=\"http://schemas.openxmlformats.org/spreadsheetml/2006/main\">"
		"<x:dimension ref=\"A1:D9\"/><x:sheetData>\r\n"
		"<x:row r=\"1\"><x:c r=\"A1\" t=\"s\"><x:v>0</x:v></x:c><x:c r=\"B1\" t=\"s\"><x:v>1</x:v></x:c>"
		"<x:c r=\"C1\" t=\"s\"><x:v>2</x:v></x:c></x:row>\r\n"
		"<x:row r='2' spans='1:4'><x:c r = 'A2' t = 'inlineStr'><x:is><x:t>&lt;a&gt; &quot;q&quot; &apos;s&apos;</x:t></x:is></x:c>"
		"<x:c r=\"C2\"><x:v>3.20923197701165e+17</x:v></x:c><x:c r=\"D2\" s=\"1\"><x:v>45658</x:v></x:c></x:row>\r\n"
		"<row r=\"4\"><c t=\"inlineStr\"><is><t><![CDATA[<不转义> & 原样]]></t></is></c><c/><c t=\"b\"><v>1</v></c>"
		"<c t=\"b\"><v>0</v></c></row>\r\n"
		"<row><c r=\"B5\"><f>SUM(A1:A2)</f><v>42</v></c><c t=\"str\"><f>A1&amp;\"x\"</f><v>ax</v></c>"
		"<c t=\"e\"><v>#N/A</v></c></row>\r\n"
		"<row r=\"6\"><c r=\"A6\" t=\"inlineStr\"><is><t>一行\r\n两行&#13;</t></is></c><?pi inside?>"
		"<c r=\"B6\"><v>1<!-- split -->2</v></c><c r=\"C6\" t=\"inlineStr\"><is><r><t>甲</t></r><r><t>乙</t></r>"
		"<rPh><t>x</t></rPh></is></c><c r=\"D6\" t=\"inlineStr\" attr=\"a&gt;b\"><is><t/></is></c></row>\r\n"
		"<row r=\"7\"/><row r=\"8\"><c r=\"A8\"><v></v></c><c r=\"B8\" t=\"n\"><v>0.1</v></c></row>\r\n"
		"</x:sheetData><x:pageMargins/></x:worksheet>";
	char *rows = rows_of(sheet, sst);
	assert_string_equal(rows,
		"1|姓名|富 文本|A&B 中文\n"
		"2|<a> \"q\" 's'||3.20923E+17#|45658#\n"
		"4|<不转义> & 原样||TRUE|FALSE\n"
		"5||42#|ax|#N/A\n"
		"6|一行\n两行\r|12#|甲乙\n"
		"8||0.1#\n");
	wg_free(rows);
}

/* Text, entities and line ends cut anywhere by the chunks the part is read in. */
static void test_scanner_chunk_boundaries(void **state)
{
	(void)state;
	wg_buf x = WG_BUF_INIT(64u << 20), want = WG_BUF_INIT(64u << 20);
	wg_buf_printf(&x, "%s<worksheet><sheetData>", SHEET_HEAD);
	for (unsigned i = 1; i <= 6000; i++) {
		wg_buf_printf(&x, "<row r=\"%u\"><c r=\"A%u\" t=\"inlineStr\"><is><t>第%u行 &amp;&#x4E2D;\r\n%.*s</t></is></c>"
		              "<c r=\"B%u\"><v>%u</v></c></row>\r\n", i, i, i, (int)(i % 13), "xxxxxxxxxxxxx", i, i);
		wg_buf_printf(&want, "%u|第%u行 &中\n%.*s|%u#\n", i, i, (int)(i % 13), "xxxxxxxxxxxxx", i);
	}
	/* one cell of 60,000 bytes, over a chunk's end */
	wg_buf_printf(&x, "<row r=\"6001\"><c r=\"A6001\" t=\"inlineStr\"><is><t>");
	wg_buf_printf(&want, "6001|");
	for (unsigned i = 0; i < 6000; i++) {
		wg_buf_append(&x, "ab&amp;cdefg", 12);
		wg_buf_append(&want, "ab&cdefg", 8);
	}
	wg_buf_printf(&x, "</t></is></c></row></sheetData></worksheet>");
	wg_buf_putc(&want, '\n');
	assert_int_equal(x.err, 0);
	size_t len;
	char *data = make_xlsx(x.data, x.len, NULL, &len);
	char *rows = both(data, len);
	assert_string_equal(rows, want.data);
	wg_free(rows);
	free(data);
	wg_buf_release(&x);
	wg_buf_release(&want);

	/* and 6,000 shared strings, the sheet pointing at them backwards */
	wg_buf sst = WG_BUF_INIT(64u << 20), sheet = WG_BUF_INIT(64u << 20), rows_want = WG_BUF_INIT(64u << 20);
	wg_buf_printf(&sst, "<sst xmlns=\"http://schemas.openxmlformats.org/spreadsheetml/2006/main\">");
	wg_buf_printf(&sheet, "%s<worksheet><sheetData>", SHEET_HEAD);
	for (unsigned i = 0; i < 6000; i++) {
		wg_buf_printf(&sst, "<si><r><t>串%u&lt;</t></r><r><rPr><b/></rPr><t xml:space=\"preserve\"> 第二段\r\n</t></r>"
		              "<rPh sb=\"0\" eb=\"1\"><t>ignored</t></rPh></si>", i);
		wg_buf_printf(&sheet, "<row r=\"%u\"><c r=\"A%u\" t=\"s\"><v>%u</v></c></row>", i + 1, i + 1, 5999 - i);
		wg_buf_printf(&rows_want, "%u|串%u< 第二段\n\n", i + 1, 5999 - i);
	}
	wg_buf_printf(&sst, "</sst>");
	wg_buf_printf(&sheet, "</sheetData></worksheet>");
	assert_int_equal(sst.err | sheet.err | rows_want.err, 0);
	data = make_xlsx(sheet.data, sheet.len, sst.data, &len);
	rows = both(data, len);
	assert_string_equal(rows, rows_want.data);
	wg_free(rows);
	free(data);
	wg_buf_release(&sst);
	wg_buf_release(&sheet);
	wg_buf_release(&rows_want);
}

/* A worksheet in UTF-16 is read by expat, as before. */
static void test_scanner_utf16_falls_back(void **state)
{
	(void)state;
	static const char sheet[] = "<?xml version=\"1.0\" encoding=\"UTF-16\"?><worksheet><sheetData>"
	                            "<row r=\"1\"><c t=\"inlineStr\"><is><t>utf-16</t></is></c><c><v>7</v></c></row>"
	                            "</sheetData></worksheet>";
	size_t n = strlen(sheet), len;
	char *u16 = malloc(2 * n + 2);
	assert_non_null(u16);
	u16[0] = (char)0xFF, u16[1] = (char)0xFE;
	for (size_t i = 0; i < n; i++)
		u16[2 + 2 * i] = sheet[i], u16[3 + 2 * i] = 0;
	char *data = make_xlsx(u16, 2 * n + 2, NULL, &len);
	char *rows = both(data, len);
	assert_string_equal(rows, "1|utf-16|7#\n");
	wg_free(rows);
	free(data);
	free(u16);
}

/* Broken worksheets: refused by both readers, and by the scanner with the
 * sheet, the row and (inside a cell) the cell named, in Chinese and English. */
static void test_scanner_malformed(void **state)
{
	(void)state;
	static const struct { const char *body, *where_zh, *where_en; } cases[] = {
		{ "<row r=\"2\"><c r=\"B2\" t=\"inlineStr\"><is><t>a&bogus;</t></is></c></row>", "第2行B列", "row 2, column B" },
		{ "<row r=\"2\"><c r=\"C2\"><v>1</c></row>", "第2行C列", "row 2, column C" },
		{ "<row r=\"3\"><c r=\"A3\" t=\"inlineStr\"><is><t>a\x01</t></is></c></row>", "第3行A列", "row 3, column A" },
		{ "<row r=\"2\"><c r=\"A2\" t=\"inlineStr\"><is><t>&#0;</t></is></c></row>", "第2行A列", "row 2, column A" },
		{ "<row r=\"2\"><c r=\"A2\" t=\"inlineStr\"><is><t>\xff\xfe</t></is></c></row>", "第2行A列", "row 2, column A" },
		{ "<row r=\"4\"><c r=\"A4\" t=\"inlineStr\"><is><t>x</t></is></c></row><row r=\"5\"><c r=\"A5\" x=y/></row>",
		  "第5行", "row 5" },   /* the cell's own tag is broken: its row is what is known */
		{ "<row r=\"2\"><c r=\"A2\"><v>1</v></c></row><row r=\"3\"><c r=\"A3\"", "第3行", "row 3" },
		{ "<row r=\"2\"></row><!DOCTYPE x>", "DOCTYPE", "DOCTYPE" },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		char sheet[512];
		size_t len;
		snprintf(sheet, sizeof sheet, "%s<worksheet><sheetData>%s</sheetData></worksheet>", SHEET_HEAD,
		         cases[i].body);
		char *data = make_xlsx(sheet, strlen(sheet), NULL, &len);
		char *scanned = dump(data, len, SHEET_XLSX_SCANNER), *parsed = dump(data, len, SHEET_XLSX_EXPAT);
		const char *err = strstr(scanned, "ERR ");
		assert_non_null(err);
		assert_non_null(strstr(parsed, "ERR "));
		assert_non_null(strstr(err, "名单"));
		assert_non_null(strstr(err, "sheet “名单”"));
		assert_non_null(strstr(err, cases[i].where_zh));
		assert_non_null(strstr(err, cases[i].where_en));
		wg_free(scanned);
		wg_free(parsed);
		free(data);
	}
}

/* Elements nested deeper than the scanner keeps track of (64): refused as
 * too large, naming the sheet and cell, where expat would read on. */
static void test_scanner_limits(void **state)
{
	(void)state;
	wg_buf x = WG_BUF_INIT(1u << 20);
	wg_buf_printf(&x, "%s<worksheet><sheetData><row r=\"2\"><c r=\"B2\" t=\"inlineStr\"><is>", SHEET_HEAD);
	for (int i = 0; i < 70; i++)
		wg_buf_printf(&x, "<r>");
	wg_buf_printf(&x, "x");
	for (int i = 0; i < 70; i++)
		wg_buf_printf(&x, "</r>");
	wg_buf_printf(&x, "</is></c></row></sheetData></worksheet>");
	size_t len;
	char *data = make_xlsx(x.data, x.len, NULL, &len);
	char *rows = dump(data, len, SHEET_XLSX_SCANNER);
	char want[64];
	snprintf(want, sizeof want, "ERR %d 第2行B列", SHEET_TOO_LARGE);
	assert_non_null(strstr(rows, want));
	assert_non_null(strstr(rows, "sheet “名单”: elements nested too deep"));
	wg_free(rows);
	free(data);
	wg_buf_release(&x);
}

/* ---- sample workbooks ---------------------------------------------------- */

static void same_file(const char *path)
{
	size_t len;
	char *data = read_file(path, &len);
	char *rows = both(data, len);
	print_message("%s: %zu bytes of rows\n", path, strlen(rows));
	assert_null(strstr(rows, "ERR "));
	assert_true(strlen(rows) > 2);
	wg_free(rows);
	free(data);
}

static void same_folder(const char *dir)
{
	DIR *d = opendir(dir);
	if (!d)
		return;   /* ../shared is not in a user's clone */
	for (struct dirent *e; (e = readdir(d)) != NULL;) {
		size_t n = strlen(e->d_name);
		char path[1024];
		if (n < 5 || strcmp(e->d_name + n - 5, ".xlsx") != 0)
			continue;
		snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
		same_file(path);
	}
	closedir(d);
}

/* A workbook as libxlsxwriter writes it, with or without shared strings. */
static void make_xlsxwriter(const char *path, bool constant_memory)
{
	lxw_workbook_options o = { .constant_memory = constant_memory, .tmpdir = tmpdir };
	lxw_workbook *wb = workbook_new_opt(path, &o);
	assert_non_null(wb);
	lxw_worksheet *ws = workbook_add_worksheet(wb, "名单");
	lxw_format *date = workbook_add_format(wb);
	format_set_num_format(date, "yyyy-mm-dd");
	worksheet_write_string(ws, 0, 0, "姓名 <&> \"引号\"", NULL);
	worksheet_write_number(ws, 0, 1, 1.5, NULL);
	worksheet_write_boolean(ws, 0, 2, 0, NULL);
	worksheet_write_formula_num(ws, 0, 3, "=B1*2", NULL, 3);
	lxw_datetime dt = { 2026, 12, 6, 0, 0, 0 };
	worksheet_write_datetime(ws, 1, 0, &dt, date);
	worksheet_write_string(ws, 1, 2, "line1\nline2", NULL);
	worksheet_write_string(ws, 3, 5, "稀疏", NULL);
	assert_int_equal(workbook_close(wb), LXW_NO_ERROR);
}

static void test_scanner_matches_expat_on_samples(void **state)
{
	(void)state;
	char path[600];
	struct sheet_writer *w;
	for (int cm = 0; cm < 2; cm++) {
		path_of(cm ? "inline.xlsx" : "shared.xlsx", path, sizeof path);
		make_xlsxwriter(path, cm);
		same_file(path);
		unlink(path);
	}
	path_of("export.xlsx", path, sizeof path);
	const char *hdr[] = { "姓名", "人数" };
	const enum sheet_col_kind kinds[] = { SHEET_COL_TEXT, SHEET_COL_NUMBER };
	const char *row[] = { "张三 & <李四>", "3" };
	assert_int_equal(sheet_xlsx_writer_open(path, "人员", tmpdir, &w), 0);
	assert_int_equal(sheet_writer_header(w, hdr, kinds, 2), 0);
	assert_int_equal(sheet_writer_row(w, row, NULL, 2), 0);
	assert_int_equal(sheet_writer_close(w), 0);
	same_file(path);
	unlink(path);
	same_folder("tests/fuzz/seeds/fuzz_xlsx");
	same_folder("../shared/samples");
}

static int setup(void **state)
{
	(void)state;
	const char *base = getenv("TMPDIR");
	snprintf(tmpdir, sizeof tmpdir, "%s/wangge-test-sheet-xml-XXXXXX", base && *base ? base : "/tmp");
	return mkdtemp(tmpdir) ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	return rmdir(tmpdir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_scanner_subset),
		cmocka_unit_test(test_scanner_chunk_boundaries),
		cmocka_unit_test(test_scanner_utf16_falls_back),
		cmocka_unit_test(test_scanner_malformed),
		cmocka_unit_test(test_scanner_limits),
		cmocka_unit_test(test_scanner_matches_expat_on_samples),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
