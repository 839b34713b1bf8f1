/* Spreadsheet readers and writers. Every file is generated here (CSV in
 * UTF-8, UTF-8 with BOM, GB18030 and UTF-16 through iconv; XLSX through
 * libxlsxwriter) in a private temporary directory. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "core/lib/buf.h"
#include "core/lib/err.h"
#include "core/lib/limits.h"
#include "core/lib/mem.h"
#include "core/sheet/sheet.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <iconv.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <xlsxwriter.h>

static char tmpdir[512];

/* ---- helpers ----------------------------------------------------------- */

static void path_of(const char *name, char *out, size_t size)
{
	snprintf(out, size, "%s/%s", tmpdir, name);
}

static void write_file(const char *name, const void *data, size_t len)
{
	char path[600];
	path_of(name, path, sizeof path);
	FILE *f = fopen(path, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(data, 1, len, f), len);
	assert_int_equal(fclose(f), 0);
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

static char *convert(const char *to, const char *utf8, size_t *outlen)
{
	iconv_t cd = iconv_open(to, "UTF-8");
	assert_true(cd != (iconv_t)-1);
	size_t inleft = strlen(utf8), cap = inleft * 4 + 16, outleft = cap;
	char *out = malloc(cap), *op = out, *ip = (char *)utf8;
	assert_non_null(out);
	assert_int_not_equal(iconv(cd, &ip, &inleft, &op, &outleft), (size_t)-1);
	iconv_close(cd);
	*outlen = cap - outleft;
	return out;
}

/* All rows of a reader as one text: "row|cell|cell#\n" (# = from_number). */
static char *drain(struct sheet_reader *r, int *rc_out)
{
	wg_buf b = WG_BUF_INIT(16u << 20);
	struct sheet_row row;
	int rc;
	while ((rc = sheet_next_row(r, &row)) == 0 && !row.end) {
		wg_buf_printf(&b, "%u", row.number);
		for (size_t i = 0; i < row.n; i++) {
			assert_int_equal(row.cells[i].col, i + 1);
			assert_int_equal(row.cells[i].row, row.number);
			assert_int_equal(strlen(row.cells[i].text), row.cells[i].len);
			wg_buf_printf(&b, "|%s%s", row.cells[i].text, row.cells[i].from_number ? "#" : "");
		}
		wg_buf_putc(&b, '\n');
	}
	assert_int_equal(b.err, 0);
	*rc_out = rc;
	char *s = wg_buf_detach(&b, NULL);
	assert_non_null(s);
	return s;
}

static char *read_all_memory(const void *data, size_t len, int *rc, struct sheet_error *err)
{
	struct sheet_reader *r = NULL;
	int orc = sheet_open_memory(data, len, &r, err);
	if (orc) {
		*rc = orc;
		assert_null(r);
		return NULL;
	}
	char *s = drain(r, rc);
	if (*rc && err)
		*err = *sheet_last_error(r);
	sheet_close(r);
	return s;
}

static char *read_all_file(const char *name, int *rc, struct sheet_error *err)
{
	char path[600];
	struct sheet_reader *r = NULL;
	path_of(name, path, sizeof path);
	int orc = sheet_open_file(path, &r, err);
	if (orc) {
		*rc = orc;
		return NULL;
	}
	char *s = drain(r, rc);
	if (*rc && err)
		*err = *sheet_last_error(r);
	sheet_close(r);
	return s;
}

/* The same file read with and without a read-ahead thread: the same rows,
 * the same end or error. After sheet_find_header(), as the importer reads. */
static void same_with_read_ahead(const char *name, const struct sheet_column_spec *specs, size_t nspecs)
{
	char path[600], *got[2];
	int rc[2];
	struct sheet_error err[2];
	path_of(name, path, sizeof path);
	for (int ahead = 0; ahead < 2; ahead++) {
		struct sheet_reader *r = NULL;
		struct sheet_header h;
		struct sheet_error e;
		assert_int_equal(sheet_open_file(path, &r, &e), 0);
		if (specs) {
			assert_int_equal(sheet_find_header(r, specs, nspecs, &h, &e), 0);
			sheet_header_release(&h);
		}
		if (ahead)
			sheet_read_ahead(r, NULL);
		got[ahead] = drain(r, &rc[ahead]);
		err[ahead] = *sheet_last_error(r);
		/* past the end, the answer does not change */
		struct sheet_row row;
		assert_int_equal(sheet_next_row(r, &row), rc[ahead]);
		sheet_close(r);
	}
	assert_string_equal(got[0], got[1]);
	assert_int_equal(rc[0], rc[1]);
	assert_int_equal(err[0].code, err[1].code);
	assert_int_equal(err[0].row, err[1].row);
	wg_free(got[0]);
	wg_free(got[1]);
}

/* ---- CSV ---------------------------------------------------------------- */

static const char roster_csv[] =
	"阜宁县沟墩镇人员摸排登记表,,,,,,\r\n"
	"序号,姓名,性别,身份证号,联系电话,现住址,备注\r\n"
	"1,闫敏,女,320923195505052000,15890673441,阜宁县沟墩镇墩北9组70号,\r\n"
	"2,\"董,萍国\",女,32092319670515222x,138-1234-5678,\"红旗11组\r\n95号\",\"说\"\"明\"\"\"\r\n"
	"3,阿卜杜热合曼·买买提,男,３２０９２３２００００１０９２６６X,0515-87212345,,\r\n"
	",,,,,,\r\n"
	"4,余刚英,女,,18119133967,林道21组53号,身份证丢失,待补\r\n";

static const char roster_rows[] =
	"1|阜宁县沟墩镇人员摸排登记表\n"
	"2|序号|姓名|性别|身份证号|联系电话|现住址|备注\n"
	"3|1|闫敏|女|320923195505052000|15890673441|阜宁县沟墩镇墩北9组70号\n"
	"4|2|董,萍国|女|32092319670515222x|138-1234-5678|红旗11组\r\n95号|说\"明\"\n"
	"5|3|阿卜杜热合曼·买买提|男|３２０９２３２００００１０９２６６X|0515-87212345\n"
	"7|4|余刚英|女||18119133967|林道21组53号|身份证丢失|待补\n";

static void test_csv_encodings_identical(void **state)
{
	(void)state;
	size_t gblen, u16len;
	char *gb = convert("GB18030", roster_csv, &gblen);
	char *u16 = convert("UTF-16LE", roster_csv, &u16len);
	char *bom = malloc(strlen(roster_csv) + 3);
	char *u16bom = malloc(u16len + 2);
	assert_non_null(bom);
	assert_non_null(u16bom);
	memcpy(bom, "\xEF\xBB\xBF", 3);
	memcpy(bom + 3, roster_csv, strlen(roster_csv));
	memcpy(u16bom, "\xFF\xFE", 2);
	memcpy(u16bom + 2, u16, u16len);
	write_file("utf8.csv", roster_csv, strlen(roster_csv));
	write_file("bom.csv", bom, strlen(roster_csv) + 3);
	write_file("gb.csv", gb, gblen);
	write_file("u16.csv", u16bom, u16len + 2);

	static const struct { const char *file, *enc; } files[] = {
		{ "utf8.csv", "UTF-8" }, { "bom.csv", "UTF-8 BOM" }, { "gb.csv", "GB18030" }, { "u16.csv", "UTF-16LE" },
	};
	for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
		char path[600];
		struct sheet_reader *r;
		struct sheet_error err;
		int rc;
		path_of(files[i].file, path, sizeof path);
		assert_int_equal(sheet_open_file(path, &r, &err), 0);
		assert_int_equal(sheet_reader_format(r), SHEET_FORMAT_CSV);
		assert_string_equal(sheet_reader_encoding(r), files[i].enc);
		char *rows = drain(r, &rc);
		assert_int_equal(rc, 0);
		assert_string_equal(rows, roster_rows);
		wg_free(rows);
		sheet_close(r);
	}
	/* the same through memory */
	int rc;
	char *rows = read_all_memory(gb, gblen, &rc, NULL);
	assert_int_equal(rc, 0);
	assert_string_equal(rows, roster_rows);
	wg_free(rows);
	free(gb);
	free(u16);
	free(bom);
	free(u16bom);
}

static void test_csv_line_ends_and_quotes(void **state)
{
	(void)state;
	static const char *const inputs[] = {
		"a,b\r\nc,d\r\n", "a,b\nc,d\n", "a,b\rc,d\r", "a,b\nc,d", "\"a\",\"b\"\r\n\"c\",\"d\"",
	};
	for (size_t i = 0; i < sizeof inputs / sizeof inputs[0]; i++) {
		int rc;
		char *rows = read_all_memory(inputs[i], strlen(inputs[i]), &rc, NULL);
		assert_int_equal(rc, 0);
		assert_string_equal(rows, "1|a|b\n2|c|d\n");
		wg_free(rows);
	}
	int rc;
	const char odd[] = "x\"y,\"a\"b,\"\"\n  z\n";
	char *rows = read_all_memory(odd, strlen(odd), &rc, NULL);
	assert_int_equal(rc, 0);
	/* a stray quote is kept, text after a closing quote is kept, "" is empty */
	assert_string_equal(rows, "1|x\"y|ab\n2|  z\n");
	wg_free(rows);

	const char tabs[] = "姓名\t身份证号\n张三\t11010519491231002X\n";
	rows = read_all_memory(tabs, strlen(tabs), &rc, NULL);
	assert_int_equal(rc, 0);
	assert_string_equal(rows, "1|姓名|身份证号\n2|张三|11010519491231002X\n");
	wg_free(rows);

	rows = read_all_memory("", 0, &rc, NULL);
	assert_int_equal(rc, 0);
	assert_string_equal(rows, "");
	wg_free(rows);
}

static void expect_csv_error(const void *data, size_t len, int want_rc, int want_code, uint32_t want_row,
                             const char *want_col, const char *zh_part)
{
	int rc;
	struct sheet_error err;
	memset(&err, 0, sizeof err);
	char *rows = read_all_memory(data, len, &rc, &err);
	wg_free(rows);
	assert_int_equal(rc, want_rc);
	if (err.code != want_code)
		fail_msg("code %d (%s), want %d", err.code, err.message_en, want_code);
	assert_int_equal(err.row, want_row);
	assert_string_equal(err.column, want_col);
	if (!strstr(err.message_zh, zh_part))
		fail_msg("zh message \"%s\" lacks \"%s\"", err.message_zh, zh_part);
	char rowtext[32];
	snprintf(rowtext, sizeof rowtext, "row %u", want_row);
	if (want_row && !strstr(err.message_en, rowtext))
		fail_msg("en message \"%s\" lacks \"%s\"", err.message_en, rowtext);
}

static void test_csv_errors(void **state)
{
	(void)state;
	/* truncated in the middle of a quoted cell */
	const char trunc[] = "姓名,住址\n张三,\"阜宁县\n沟墩镇";
	expect_csv_error(trunc, strlen(trunc), WG_ERR_VALIDATION, SHEET_UNTERMINATED_QUOTE, 2, "B",
	                 "第2行B列:引号没有闭合");

	/* NUL byte */
	const char nul[] = "a,b\nc,d\ne,f\0g\n";
	expect_csv_error(nul, sizeof nul - 1, WG_ERR_VALIDATION, SHEET_NUL_BYTE, 3, "B", "第3行B列");

	/* a cell over WG_MAX_CSV_CELL */
	size_t huge = WG_MAX_CSV_CELL + 10;
	char *big = malloc(huge + 16);
	assert_non_null(big);
	memcpy(big, "x\ny,", 4);
	memset(big + 4, 'a', huge);
	memcpy(big + 4 + huge, "\n", 1);
	expect_csv_error(big, huge + 5, WG_ERR_TOO_LARGE, SHEET_CELL_TOO_LONG, 2, "B", "单元格内容过长");
	free(big);

	/* GB18030 input that does not decode */
	const char badgb[] = "a,b\nc,\xff\xff\n";
	expect_csv_error(badgb, sizeof badgb - 1, WG_ERR_VALIDATION, SHEET_ENCODING, 2, "", "编码无效");
}

static void test_csv_encoding_changes_later(void **state)
{
	(void)state;
	/* 4000 ASCII rows (more than one chunk), then a GB18030 name */
	wg_buf b = WG_BUF_INIT(1u << 20);
	size_t gblen;
	char *gb = convert("GB18030", "张三", &gblen);
	for (int i = 1; i <= 4000; i++)
		wg_buf_printf(&b, "%d,abcdefghij,1234567890\r\n", i);
	wg_buf_append(&b, "4001,", 5);
	wg_buf_append(&b, gb, gblen);
	wg_buf_puts(&b, ",x\r\n");
	assert_int_equal(b.err, 0);
	expect_csv_error(b.data, b.len, WG_ERR_VALIDATION, SHEET_ENCODING, 4001, "", "第4001行");
	wg_buf_release(&b);
	free(gb);

	/* a multi-byte character cut off at the end of the file */
	const char cut[] = "a\n\x81";
	expect_csv_error(cut, sizeof cut - 1, WG_ERR_VALIDATION, SHEET_ENCODING, 2, "", "编码无效");
}

static void test_csv_large_constant_rows(void **state)
{
	(void)state;
	/* many rows across chunk boundaries, with multi-byte text split anywhere */
	wg_buf b = WG_BUF_INIT(8u << 20);
	for (int i = 1; i <= 20000; i++)
		wg_buf_printf(&b, "%d,张三丰,\"阜宁县,沟墩镇\"\n", i);
	assert_int_equal(b.err, 0);
	struct sheet_reader *r;
	struct sheet_row row;
	assert_int_equal(sheet_open_memory(b.data, b.len, &r, NULL), 0);
	uint32_t n = 0;
	while (sheet_next_row(r, &row) == 0 && !row.end) {
		n++;
		assert_int_equal(row.number, n);
		assert_int_equal(row.n, 3);
		assert_string_equal(row.cells[1].text, "张三丰");
		assert_string_equal(row.cells[2].text, "阜宁县,沟墩镇");
	}
	assert_int_equal(n, 20000);
	sheet_close(r);
	wg_buf_release(&b);
}

/* ---- XLSX --------------------------------------------------------------- */

static void make_roster_xlsx(const char *name, bool constant_memory)
{
	char path[600];
	path_of(name, path, sizeof path);
	lxw_workbook_options o = { .constant_memory = constant_memory, .tmpdir = tmpdir };
	lxw_workbook *wb = workbook_new_opt(path, &o);
	assert_non_null(wb);
	lxw_worksheet *ws = workbook_add_worksheet(wb, "摸排登记");
	lxw_format *title = workbook_add_format(wb);
	format_set_bold(title);
	worksheet_merge_range(ws, 0, 0, 0, 6, "某某社区人员摸排登记表", title);
	worksheet_write_string(ws, 1, 0, "填报单位:某某社区", NULL);
	const char *hdr[] = { "序号", "姓名", "* 身份证号（必填）", "联系电话", "住址", "民族", "备注" };
	for (int c = 0; c < 7; c++)
		worksheet_write_string(ws, 2, (lxw_col_t)c, hdr[c], NULL);
	worksheet_write_number(ws, 3, 0, 1, NULL);
	worksheet_write_string(ws, 3, 1, "闫敏", NULL);
	worksheet_write_string(ws, 3, 2, "320923195505052000", NULL);
	worksheet_write_string(ws, 3, 3, "15890673441", NULL);
	worksheet_write_string(ws, 3, 4, "墩北9组70号", NULL);
	worksheet_write_number(ws, 4, 0, 2, NULL);
	worksheet_write_string(ws, 4, 1, "袁玉冬", NULL);
	worksheet_write_number(ws, 4, 2, 320923197701165255.0, NULL); /* an ID stored as a number */
	worksheet_write_number(ws, 4, 3, 13357463704.0, NULL);
	worksheet_write_boolean(ws, 4, 5, 1, NULL);
	worksheet_write_number(ws, 4, 6, 0.5, NULL);
	worksheet_write_number(ws, 6, 0, 4, NULL);      /* row 6 (1-based) left out entirely */
	worksheet_write_string(ws, 6, 4, "稀疏行", NULL);  /* gaps in the row */
	assert_int_equal(workbook_close(wb), LXW_NO_ERROR);
}

static const char xlsx_rows[] =
	"1|某某社区人员摸排登记表\n"
	"2|填报单位:某某社区\n"
	"3|序号|姓名|* 身份证号（必填）|联系电话|住址|民族|备注\n"
	"4|1#|闫敏|320923195505052000|15890673441|墩北9组70号\n"
	"5|2#|袁玉冬|3.20923E+17#|13357463704#||TRUE|0.5#\n"
	"7|4#||||稀疏行\n";

static void test_xlsx_read(void **state)
{
	(void)state;
	static const char *const files[] = { "shared.xlsx", "inline.xlsx" };
	make_roster_xlsx(files[0], false); /* shared strings */
	make_roster_xlsx(files[1], true);  /* inline strings */
	for (size_t i = 0; i < 2; i++) {
		int rc;
		struct sheet_error err;
		char *rows = read_all_file(files[i], &rc, &err);
		assert_int_equal(rc, 0);
		assert_string_equal(rows, xlsx_rows);
		wg_free(rows);

		char path[600];
		size_t len;
		path_of(files[i], path, sizeof path);
		char *data = read_file(path, &len);
		rows = read_all_memory(data, len, &rc, &err);
		assert_int_equal(rc, 0);
		assert_string_equal(rows, xlsx_rows);
		wg_free(rows);

		/* the number keeps its value */
		struct sheet_reader *r;
		struct sheet_row row;
		assert_int_equal(sheet_open_memory(data, len, &r, NULL), 0);
		assert_int_equal(sheet_reader_format(r), SHEET_FORMAT_XLSX);
		do
			assert_int_equal(sheet_next_row(r, &row), 0);
		while (!row.end && row.number != 5);
		assert_true(row.cells[2].from_number);
		assert_true(row.cells[2].number > 3.209231977e17 && row.cells[2].number < 3.209231978e17);
		sheet_close(r);

		/* a truncated file is refused at open with a clear message */
		struct sheet_error terr;
		rows = read_all_memory(data, len / 2, &rc, &terr);
		assert_null(rows);
		assert_int_equal(rc, WG_ERR_VALIDATION);
		assert_int_equal(terr.code, SHEET_FORMAT);
		assert_non_null(strstr(terr.message_zh, "文件"));
		free(data);
	}
}

static void test_xlsx_hostile(void **state)
{
	(void)state;
	int rc;
	struct sheet_error err;
	/* ZIP magic, then garbage */
	const char junk[] = "PK\x03\x04garbage that is not a zip at all";
	char *rows = read_all_memory(junk, sizeof junk - 1, &rc, &err);
	assert_null(rows);
	assert_int_equal(rc, WG_ERR_VALIDATION);
	assert_int_equal(err.code, SHEET_FORMAT);
	/* OLE2 magic, then garbage */
	const char ole[] = "\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1 not really an xls file";
	rows = read_all_memory(ole, sizeof ole - 1, &rc, &err);
	assert_null(rows);
	assert_int_not_equal(rc, 0);
	assert_int_equal(err.code, SHEET_FORMAT);
	assert_int_equal(sheet_detect(ole, sizeof ole - 1), SHEET_FORMAT_XLS);
	assert_int_equal(sheet_detect("a,b", 3), SHEET_FORMAT_CSV);
}

/* ---- general number format --------------------------------------------- */

static void test_format_general(void **state)
{
	(void)state;
	static const struct { double v; const char *want; } cases[] = {
		{ 1, "1" }, { 0, "0" }, { -1.5, "-1.5" }, { 0.5, "0.5" }, { 163, "163" },
		{ 13357463704.0, "13357463704" }, { 320923197701165255.0, "3.20923E+17" },
		{ 123456789012.0, "1.23457E+11" }, { 1e15, "1E+15" }, { 0.1 + 0.2, "0.3" },
		{ 1e-7, "1E-07" }, { 3.14159265358979, "3.141592654" }, { -320923197701165255.0, "-3.2092E+17" },
		{ 44197, "44197" },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		char out[32];
		sheet_format_general(cases[i].v, out);
		if (strcmp(out, cases[i].want) != 0)
			fail_msg("%.17g: got %s, want %s", cases[i].v, out, cases[i].want);
	}
	int y, m, d;
	assert_true(sheet_excel_date(44197, &y, &m, &d));
	assert_true(y == 2021 && m == 1 && d == 1);
	assert_true(sheet_excel_date(61, &y, &m, &d));
	assert_true(y == 1900 && m == 3 && d == 1);
	assert_true(sheet_excel_date(28491, &y, &m, &d));
	assert_true(y == 1978 && m == 1 && d == 1);
	assert_false(sheet_excel_date(60, &y, &m, &d));
	assert_false(sheet_excel_date(44197.5, &y, &m, &d));
	char col[8];
	sheet_column_name(1, col);
	assert_string_equal(col, "A");
	sheet_column_name(27, col);
	assert_string_equal(col, "AA");
	sheet_column_name(16384, col);
	assert_string_equal(col, "XFD");
}

/* ---- header detection -------------------------------------------------- */

static const char *const n_no[] = { "序号", "no", NULL };
static const char *const n_name[] = { "姓名", "name", NULL };
static const char *const n_id[] = { "身份证号", "公民身份号码", "身份证号码", "id_number", NULL };
static const char *const n_phone[] = { "手机号", "手机号码", "联系电话", "phone", NULL };
static const char *const n_addr[] = { "住址", "地址", "现住址", "address", NULL };
static const char *const n_grid[] = { "网格编码", "grid_code", NULL };
static const char *const n_note[] = { "备注", "note", NULL };

static const struct sheet_column_spec person_cols[] = {
	{ "no", n_no, false },
	{ "name", n_name, true },
	{ "id_number", n_id, true },
	{ "phone", n_phone, false },
	{ "address", n_addr, false },
	{ "grid_code", n_grid, true },
	{ "note", n_note, false },
};
#define NCOLS (sizeof person_cols / sizeof person_cols[0])

static void test_header_normalise(void **state)
{
	(void)state;
	wg_buf b = WG_BUF_INIT(1024);
	static const struct { const char *in, *want; } cases[] = {
		{ " * 身份证号（必填）", "身份证号" }, { "ID Number", "idnumber" }, { "id_number", "idnumber" },
		{ "ＩＤ＿ＮＵＭＢＥＲ", "idnumber" }, { "姓　名", "姓名" }, { "身份证\n号码", "身份证号码" },
		{ "联系电话:", "联系电话" }, { "【必填】姓名", "姓名" }, { "", "" },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		assert_int_equal(sheet_header_normalise(cases[i].in, strlen(cases[i].in), &b), 0);
		assert_string_equal(b.data, cases[i].want);
	}
	wg_buf_release(&b);
}

static void test_header_found_below_titles(void **state)
{
	(void)state;
	const char csv[] =
		"XX社区人员摸排登记表\n"
		"填报单位:XX社区,,,,填报日期:2022年2月8日\n"
		"序号,姓名,性别,* 身份证号（必填）,手机号码,民族,网格编码,NOTE\n"
		"1,张三,男,11010519491231002X,13812345678,汉,320923100002000000001,\n"
		"2,李四,女,,,,320923100002000000001,外出\n";
	struct sheet_reader *r;
	struct sheet_header h;
	struct sheet_error err;
	struct sheet_row row;
	assert_int_equal(sheet_open_memory(csv, strlen(csv), &r, NULL), 0);
	assert_int_equal(sheet_find_header(r, person_cols, NCOLS, &h, &err), 0);
	assert_int_equal(err.code, SHEET_OK);
	assert_int_equal(h.row, 3);
	assert_int_equal(h.column[0], 0);
	assert_int_equal(h.column[1], 1);
	assert_int_equal(h.column[2], 3);
	assert_int_equal(h.column[3], 4);
	assert_int_equal(h.column[4], -1);
	assert_int_equal(h.column[5], 6);
	assert_int_equal(h.column[6], 7);
	assert_int_equal(h.nmissing, 0);
	/* 性别 and 民族 are not in the table */
	assert_int_equal(h.nnotes, 2);
	assert_int_equal(h.notes[0].code, SHEET_HEADER_UNKNOWN);
	assert_string_equal(h.notes[0].column, "C");
	assert_non_null(strstr(h.notes[0].message_zh, "第3行C列"));
	assert_non_null(strstr(h.notes[0].message_zh, "性别"));
	assert_non_null(strstr(h.notes[0].message_en, "unknown header"));
	assert_string_equal(h.notes[1].column, "F");

	assert_int_equal(sheet_next_row(r, &row), 0);
	assert_false(row.end);
	assert_int_equal(row.number, 4);
	assert_string_equal(sheet_row_cell(&row, &h, 2)->text, "11010519491231002X");
	assert_null(sheet_row_cell(&row, &h, 4));
	assert_int_equal(sheet_next_row(r, &row), 0);
	assert_int_equal(row.number, 5);
	assert_string_equal(sheet_row_cell(&row, &h, 6)->text, "外出");
	assert_string_equal(sheet_row_cell(&row, &h, 2)->text, "");
	assert_int_equal(sheet_next_row(r, &row), 0);
	assert_true(row.end);
	sheet_header_release(&h);
	sheet_close(r);
}

static void test_header_missing_required(void **state)
{
	(void)state;
	const char csv[] = "标题\nname,phone,address\n张三,13812345678,北京\n";
	struct sheet_reader *r;
	struct sheet_header h;
	struct sheet_error err;
	assert_int_equal(sheet_open_memory(csv, strlen(csv), &r, NULL), 0);
	assert_int_equal(sheet_find_header(r, person_cols, NCOLS, &h, &err), WG_ERR_VALIDATION);
	assert_int_equal(err.code, SHEET_HEADER_MISSING);
	assert_int_equal(err.row, 2);
	assert_non_null(strstr(err.message_zh, "第2行"));
	assert_non_null(strstr(err.message_zh, "身份证号"));
	assert_non_null(strstr(err.message_zh, "网格编码"));
	assert_non_null(strstr(err.message_en, "id_number"));
	assert_int_equal(h.nmissing, 2);
	sheet_header_release(&h);
	sheet_close(r);

	const char none[] = "a,b\n1,2\n";
	assert_int_equal(sheet_open_memory(none, strlen(none), &r, NULL), 0);
	assert_int_equal(sheet_find_header(r, person_cols, NCOLS, &h, &err), WG_ERR_VALIDATION);
	assert_int_equal(err.code, SHEET_HEADER_NOT_FOUND);
	assert_non_null(strstr(err.message_zh, "找不到表头行"));
	sheet_header_release(&h);
	sheet_close(r);
}

static void test_header_xlsx(void **state)
{
	(void)state;
	char path[600];
	struct sheet_reader *r;
	struct sheet_header h;
	struct sheet_error err;
	struct sheet_row row;
	make_roster_xlsx("hdr.xlsx", false);
	path_of("hdr.xlsx", path, sizeof path);
	assert_int_equal(sheet_open_file(path, &r, &err), 0);
	/* grid_code is not in this sheet: make it optional here */
	struct sheet_column_spec cols[NCOLS];
	memcpy(cols, person_cols, sizeof cols);
	cols[5].required = false;
	assert_int_equal(sheet_find_header(r, cols, NCOLS, &h, &err), 0);
	assert_int_equal(h.row, 3);
	assert_int_equal(h.column[2], 2);
	assert_int_equal(sheet_next_row(r, &row), 0);
	assert_int_equal(row.number, 4);
	assert_int_equal(sheet_next_row(r, &row), 0);
	assert_int_equal(row.number, 5);
	const struct sheet_cell *id = sheet_row_cell(&row, &h, 2);
	assert_true(id->from_number);
	assert_string_equal(id->text, "3.20923E+17");
	sheet_header_release(&h);
	sheet_close(r);
}

/* ---- writers ----------------------------------------------------------- */

static void test_read_ahead_same_rows(void **state)
{
	(void)state;
	/* titles, a header, then many more rows than the read-ahead holds, then a
	 * cell too long: the rows in order, then the same error at the same row */
	wg_buf b = WG_BUF_INIT(16u << 20);
	wg_buf_puts(&b, "XX社区人员摸排登记表\n序号,姓名,* 身份证号,手机号码,网格编码\n");
	for (int i = 1; i <= 5000; i++)
		wg_buf_printf(&b, "%d,张三%d,11010519491231002X,13812345678,\"阜宁县,%d\"\n", i, i, i);
	wg_buf_puts(&b, "5001,");
	for (int i = 0; i < 70000; i++)
		wg_buf_putc(&b, 'x');
	wg_buf_puts(&b, "\n5002,李四\n");
	assert_int_equal(b.err, 0);
	write_file("ahead.csv", b.data, b.len);
	same_with_read_ahead("ahead.csv", person_cols, NCOLS);
	/* and a file that simply ends */
	write_file("ahead_end.csv", b.data, strstr(b.data, "5001,") - b.data);
	same_with_read_ahead("ahead_end.csv", person_cols, NCOLS);
	wg_buf_release(&b);
	make_roster_xlsx("ahead.xlsx", true);
	same_with_read_ahead("ahead.xlsx", NULL, 0);

	/* closed with rows still waiting: the thread stops, nothing leaks */
	char path[600];
	struct sheet_reader *r;
	struct sheet_row row;
	path_of("ahead_end.csv", path, sizeof path);
	assert_int_equal(sheet_open_file(path, &r, NULL), 0);
	sheet_read_ahead(r, NULL);
	for (int i = 0; i < 3; i++)
		assert_int_equal(sheet_next_row(r, &row), 0);
	assert_int_equal(row.number, 3);
	sheet_close(r);
}

/* What the reading thread made of a row: the row's number and its first
 * cell as it saw them, and whether it ran on a thread other than the caller's. */
struct prepared { uint32_t number; char first[32]; bool other_thread; };
struct prepare_log { pthread_t caller; atomic_int made, released; };

static void *prepare_one(void *ctx, const struct sheet_row *row)
{
	struct prepare_log *log = ctx;
	struct prepared *p = wg_calloc(1, sizeof *p);
	if (!p)
		return NULL;
	p->number = row->number;
	snprintf(p->first, sizeof p->first, "%.*s", row->n ? (int)row->cells[0].len : 0, row->n ? row->cells[0].text : "");
	p->other_thread = !pthread_equal(pthread_self(), log->caller);
	atomic_fetch_add(&log->made, 1);
	return p;
}

static struct prepare_log *release_log;

static void release_one(void *prepared)
{
	atomic_fetch_add(&release_log->released, 1);
	wg_free(prepared);
}

static void test_read_ahead_prepares_rows(void **state)
{
	(void)state;
	char path[600];
	struct prepare_log log = { .caller = pthread_self() };
	struct sheet_reader *r;
	struct sheet_header h;
	struct sheet_row row;
	release_log = &log;
	/* ahead_end.csv (written above): titles, a header, rows numbered 1..5000 */
	path_of("ahead_end.csv", path, sizeof path);
	assert_int_equal(sheet_open_file(path, &r, NULL), 0);
	assert_int_equal(sheet_find_header(r, person_cols, NCOLS, &h, NULL), 0);
	sheet_read_ahead(r, &(struct sheet_prepare){ .prepare = prepare_one, .release = release_one, .ctx = &log });
	/* A caller that waits gets rows unprepared (it is the faster one and
	 * prepares them itself); one that is busy for a while gets them ready. */
	usleep(200 * 1000);
	int seen = 0, unprepared = 0;
	while (sheet_next_row(r, &row) == 0 && !row.end) {
		const struct prepared *p = row.prepared;
		seen++;
		if (!p) {  /* read by the header search, or handed to a waiting caller */
			unprepared++;
			continue;
		}
		char first[32];
		snprintf(first, sizeof first, "%.*s", (int)row.cells[0].len, row.cells[0].text);
		assert_int_equal(p->number, row.number);
		assert_string_equal(p->first, first);
		assert_true(p->other_thread);
	}
	assert_int_equal(seen, 5000);
	assert_true(unprepared < 5000);
	assert_int_equal(atomic_load(&log.made), 5000 - unprepared);
	sheet_close(r);
	sheet_header_release(&h);
	/* each released once, by the reader */
	assert_int_equal(atomic_load(&log.released), atomic_load(&log.made));

	/* closed early, with rows prepared and not yet taken */
	struct prepare_log early = { .caller = pthread_self() };
	release_log = &early;
	assert_int_equal(sheet_open_file(path, &r, NULL), 0);
	sheet_read_ahead(r, &(struct sheet_prepare){ .prepare = prepare_one, .release = release_one, .ctx = &early });
	usleep(200 * 1000);
	for (int i = 0; i < 3; i++)
		assert_int_equal(sheet_next_row(r, &row), 0);
	sheet_close(r);
	assert_true(atomic_load(&early.made) >= 1);
	assert_int_equal(atomic_load(&early.released), atomic_load(&early.made));
}

static void test_csv_writer(void **state)
{
	(void)state;
	wg_buf out = WG_BUF_INIT(1u << 20);
	struct sheet_writer *w;
	const char *hdr[] = { "姓名", "身份证号", "备注" };
	const char *r1[] = { "张三", "11010519491231002X", "=1+2" };
	const char *r2[] = { "李\"四\"", "a,b", "line1\nline2" };
	const char *r3[] = { "@SUM(A1)", "-5", NULL };
	assert_int_equal(sheet_csv_writer_open_buf(&out, &w), 0);
	assert_int_equal(sheet_writer_header(w, hdr, NULL, 3), 0);
	assert_int_equal(sheet_writer_row(w, r1, NULL, 3), 0);
	assert_int_equal(sheet_writer_row(w, r2, NULL, 3), 0);
	assert_int_equal(sheet_writer_row(w, r3, NULL, 3), 0);
	assert_int_equal(sheet_writer_close(w), 0);
	assert_string_equal(out.data,
		"\xEF\xBB\xBF姓名,身份证号,备注\r\n"
		"张三,\t11010519491231002X,'=1+2\r\n"   /* a tab keeps Excel from showing 1.10105E+17 */
		"\"李\"\"四\"\"\",\"a,b\",\"line1\nline2\"\r\n"
		"'@SUM(A1),'-5,\r\n");
	/* and it reads back */
	int rc;
	char *rows = read_all_memory(out.data, out.len, &rc, NULL);
	assert_int_equal(rc, 0);
	assert_string_equal(rows, "1|姓名|身份证号|备注\n2|张三|11010519491231002X|'=1+2\n"
	                          "3|李\"四\"|a,b|line1\nline2\n4|'@SUM(A1)|'-5\n");
	wg_free(rows);
	wg_buf_release(&out);
}

static void test_xlsx_writer_roundtrip(void **state)
{
	(void)state;
	char path[600];
	struct sheet_writer *w;
	path_of("export.xlsx", path, sizeof path);
	const char *hdr[] = { "姓名", "身份证号", "人数" };
	const enum sheet_col_kind kinds[] = { SHEET_COL_TEXT, SHEET_COL_TEXT, SHEET_COL_NUMBER };
	assert_int_equal(sheet_xlsx_writer_open(path, "人员", tmpdir, &w), 0);
	assert_int_equal(sheet_writer_header(w, hdr, kinds, 3), 0);
	for (int i = 0; i < 100; i++) {
		const char *row[] = { "张三", "320923197701165255", "3" };
		assert_int_equal(sheet_writer_row(w, row, NULL, 3), 0);
	}
	const char *last[] = { "=cmd", "00123", "not a number" };
	assert_int_equal(sheet_writer_row(w, last, NULL, 3), 0);
	assert_int_equal(sheet_writer_close(w), 0);

	int rc;
	char *rows = read_all_file("export.xlsx", &rc, NULL);
	assert_int_equal(rc, 0);
	assert_non_null(strstr(rows, "1|姓名|身份证号|人数\n2|张三|320923197701165255|3#\n"));
	assert_non_null(strstr(rows, "\n102|=cmd|00123|not a number\n"));
	wg_free(rows);
}

/* ---- allocation failures ------------------------------------------------ */

static void test_alloc_failures(void **state)
{
	(void)state;
	char path[600];
	size_t len;
	struct sheet_column_spec cols[NCOLS];
	memcpy(cols, person_cols, sizeof cols);
	cols[5].required = false; /* no 网格编码 column in these files */
	path_of("shared.xlsx", path, sizeof path);
	make_roster_xlsx("shared.xlsx", false);
	char *xlsx = read_file(path, &len);
	for (int kind = 0; kind < 2; kind++) {
		const void *data = kind ? (const void *)xlsx : (const void *)roster_csv;
		size_t n = kind ? len : strlen(roster_csv);
		uint64_t nth = 1;
		for (; nth < 2000; nth++) {
			struct sheet_reader *r = NULL;
			struct sheet_header h;
			struct sheet_row row;
			wg_mem_fail_at(nth);
			int rc = sheet_open_memory(data, n, &r, NULL);
			if (rc == 0) {
				rc = sheet_find_header(r, cols, NCOLS, &h, NULL);
				sheet_header_release(&h);
				while (rc == 0 && (rc = sheet_next_row(r, &row)) == 0 && !row.end)
					;
				sheet_close(r);
			}
			bool fired = wg_mem_failure_fired();
			wg_mem_fail_at(0);
			if (!fired) {
				assert_int_equal(rc, 0);
				break;
			}
			assert_int_not_equal(rc, 0);
		}
		/* every allocation of a whole read was made to fail once */
		assert_true(nth > 5 && nth < 2000);
	}
	free(xlsx);
}

static int setup(void **state)
{
	(void)state;
	const char *base = getenv("TMPDIR");
	snprintf(tmpdir, sizeof tmpdir, "%s/wangge-test-sheet-XXXXXX", base && *base ? base : "/tmp");
	return mkdtemp(tmpdir) ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	static const char *const files[] = { "utf8.csv", "bom.csv", "gb.csv", "u16.csv", "shared.xlsx",
	                                     "inline.xlsx", "hdr.xlsx", "export.xlsx", "ahead.csv", "ahead_end.csv",
	                                     "ahead.xlsx" };
	char path[600];
	for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
		path_of(files[i], path, sizeof path);
		unlink(path);
	}
	return rmdir(tmpdir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_csv_encodings_identical),
		cmocka_unit_test(test_csv_line_ends_and_quotes),
		cmocka_unit_test(test_csv_errors),
		cmocka_unit_test(test_csv_encoding_changes_later),
		cmocka_unit_test(test_csv_large_constant_rows),
		cmocka_unit_test(test_xlsx_read),
		cmocka_unit_test(test_xlsx_hostile),
		cmocka_unit_test(test_format_general),
		cmocka_unit_test(test_header_normalise),
		cmocka_unit_test(test_header_found_below_titles),
		cmocka_unit_test(test_header_missing_required),
		cmocka_unit_test(test_header_xlsx),
		cmocka_unit_test(test_read_ahead_same_rows),
		cmocka_unit_test(test_read_ahead_prepares_rows),
		cmocka_unit_test(test_csv_writer),
		cmocka_unit_test(test_xlsx_writer_roundtrip),
		cmocka_unit_test(test_alloc_failures),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
