/* Spreadsheets as offices exchange them: read CSV, XLSX and XLS row by row,
 * find the header row, write CSV and XLSX exports.
 *
 * Reading. sheet_open_file()/sheet_open_memory() look at the bytes, not the
 * file name: a ZIP container is XLSX, an OLE2 compound file is XLS, anything
 * else is CSV (UTF-8 with or without BOM, UTF-16 with BOM, or GB18030,
 * detected from the first chunk; comma or tab separated). sheet_next_row()
 * hands out one row at a time:
 *
 *	struct sheet_reader *r;
 *	struct sheet_error err;
 *	struct sheet_row row;
 *	int rc = sheet_open_file(path, &r, &err);
 *	if (rc) ... err.message_zh ...
 *	while ((rc = sheet_next_row(r, &row)) == 0 && !row.end) {
 *		for (size_t i = 0; i < row.n; i++) use(row.cells[i].text);
 *	}
 *	if (rc) ... sheet_last_error(r)->message_zh ...
 *	sheet_close(r);
 *
 * Rows keep the row number of the source (1-based, as Excel shows it; for CSV
 * the record number). Rows whose cells are all empty are skipped, trailing
 * empty cells are dropped, and cells[i] is always column i + 1 (gaps in a
 * sparse XLSX row are filled with empty cells). A row and its texts stay
 * valid until the next sheet_next_row() or sheet_close().
 *
 * Memory stays bounded by the limits in limits.h whatever the file size: CSV
 * is decoded chunk by chunk, XLSX shared strings are kept as one table and
 * the worksheet XML is streamed (never a DOM), XLS is read by row through
 * libfreexl (which itself holds the cell table of the sheet).
 *
 * Functions return 0 or a wg_err code (WG_ERR_VALIDATION for content the
 * user must fix, WG_ERR_TOO_LARGE, WG_ERR_NOMEM, WG_ERR_IO); the sheet_error
 * says exactly what and where, in Chinese and English.
 */
#ifndef WG_SHEET_H
#define WG_SHEET_H

#include "core/lib/buf.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* X(name, zh-CN text, English text). The texts are the generic part; the
 * message of a sheet_error adds the row and column. Append only. */
#define SHEET_CODES(X) \
	X(OK,               "成功", "ok") \
	X(NOMEM,            "内存不足", "out of memory") \
	X(IO,               "无法读取文件", "cannot read the file") \
	X(FORMAT,           "文件已损坏或不是表格文件", "the file is damaged or not a spreadsheet") \
	X(TOO_LARGE,        "文件内容超过大小限制", "the file content exceeds the size limit") \
	X(CELL_TOO_LONG,    "单元格内容过长", "cell too long") \
	X(ROW_TOO_LONG,     "一行内容过长", "row too long") \
	X(TOO_MANY_COLUMNS, "列数过多", "too many columns") \
	X(TOO_MANY_ROWS,    "行数过多", "too many rows") \
	X(UNTERMINATED_QUOTE,"引号没有闭合(文件可能不完整)", "unterminated quote (the file may be truncated)") \
	X(NUL_BYTE,         "含有空字符(NUL),文件可能已损坏或是UTF-16编码", "contains a NUL byte (damaged file, or UTF-16 without BOM)") \
	X(ENCODING,         "编码无效(应为UTF-8或GB18030)", "invalid text encoding (expected UTF-8 or GB18030)") \
	X(NO_SHEET,         "工作簿中没有工作表", "the workbook has no worksheet") \
	X(ENCRYPTED,        "文件已加密,请去掉密码后再导入", "the file is password-protected; remove the password and import again") \
	X(HEADER_NOT_FOUND, "找不到表头行", "no header row found") \
	X(HEADER_MISSING,   "表头缺少必填列", "required column missing from the header") \
	X(HEADER_UNKNOWN,   "无法识别的表头,该列将被忽略", "unknown header; the column is ignored") \
	X(HEADER_DUPLICATE, "表头重复,只使用第一列", "duplicate header; only the first such column is used") \
	X(WRITE,            "写入失败", "write failed")

enum sheet_code {
#define SHEET_CODE_ENUM(name, zh, en) SHEET_##name,
	SHEET_CODES(SHEET_CODE_ENUM)
#undef SHEET_CODE_ENUM
	SHEET__COUNT
};

const char *sheet_code_zh(int code);
const char *sheet_code_en(int code);

struct sheet_error {
	uint32_t row;             /* 1-based; 0 when not about a row */
	char column[64];          /* column letter ("D") or header text; "" if none */
	int code;                 /* enum sheet_code */
	char message_zh[256];     /* "第5行D列:单元格内容过长(超过65536字节)" */
	char message_en[256];     /* "row 5, column D: cell too long (over 65536 bytes)" */
};

enum sheet_format { SHEET_FORMAT_CSV = 1, SHEET_FORMAT_XLSX, SHEET_FORMAT_XLS };

struct sheet_cell {
	const char *text;         /* UTF-8, NUL-terminated */
	size_t len;
	bool from_number;         /* the source cell was numeric (XLSX t="n", XLS number/date) */
	double number;            /* the value when from_number (0 for XLS dates) */
	uint32_t row;             /* 1-based */
	uint32_t col;             /* 1-based */
};

struct sheet_row {
	bool end;                 /* no more rows; the other fields are empty */
	uint32_t number;          /* 1-based row number in the source */
	size_t n;
	const struct sheet_cell *cells;
	/* What the read-ahead's prepare made of this row (see below), NULL if
	 * it did not see the row. Valid as long as the row; the reader releases it. */
	void *prepared;
};

struct sheet_reader;

/* err may be NULL. On failure *reader is NULL. */
int sheet_open_file(const char *path, struct sheet_reader **reader, struct sheet_error *err);
/* The data must stay valid and unchanged until sheet_close(). */
int sheet_open_memory(const void *data, size_t len, struct sheet_reader **reader,
                      struct sheet_error *err);
int sheet_next_row(struct sheet_reader *r, struct sheet_row *row);
/* Work the reading thread does on each row it reads, beside the caller:
 * prepare(ctx, row) returns what the caller finds in row->prepared (NULL is
 * allowed). release frees it once the caller has moved past the row, on the
 * reading thread (so the caller spends no time on it), or at sheet_close(). */
struct sheet_prepare {
	void *(*prepare)(void *ctx, const struct sheet_row *row);
	void (*release)(void *prepared);
	void *ctx;
	/* How many rows the thread may read ahead (0: SHEET_AHEAD_ROWS); rows
	 * held ahead never pass WG_SHEET_AHEAD_BYTES of text whatever this says.
	 * A caller that stops now and then for longer (a chunk sent to the
	 * database) asks for more, so the reading goes on meanwhile. */
	size_t rows;
	/* Optional: called on the caller's thread, as a row is handed out,
	 * with what prepare made of the next row when that is read already:
	 * it fetches into the caller's cache what the caller will read of it
	 * (the other core wrote it), so the caller does not wait for it then. */
	void (*warm)(const void *prepared);
};
#define SHEET_AHEAD_ROWS 32
/* From now on a second thread reads and parses the rows ahead of the
 * caller (unzipping and XML parsing then run beside the caller's work), and
 * runs prep (NULL for none) on each. The rows, their order, errors and limits
 * are the same; a row stays valid until the next sheet_next_row() as before.
 * Falls back to reading in the caller's thread, without prep, when no thread
 * can be started; rows the header search had already read come without it too. */
void sheet_read_ahead(struct sheet_reader *r, const struct sheet_prepare *prep);
/* Reading ahead, the rows sheet_next_row() gives (and what prep made of
 * them) stay valid until sheet_release_rows() instead of only until the
 * next call, for a caller that gathers rows before it handles them; it may
 * keep at most half the rows it asked to read ahead. False (nothing is
 * kept) when not reading ahead: rows are then valid until the next call. */
bool sheet_keep_rows(struct sheet_reader *r, bool keep);
void sheet_release_rows(struct sheet_reader *r);
/* The error of the last failed call on r (code SHEET_OK when none). */
const struct sheet_error *sheet_last_error(const struct sheet_reader *r);
enum sheet_format sheet_reader_format(const struct sheet_reader *r);
/* For CSV: "UTF-8", "UTF-8 BOM", "UTF-16LE", "UTF-16BE" or "GB18030"; NULL otherwise. */
const char *sheet_reader_encoding(const struct sheet_reader *r);
void sheet_close(struct sheet_reader *r);

/* Detects the format from the first bytes. */
enum sheet_format sheet_detect(const void *data, size_t len);
/* Column letters of a 1-based column: 1 → "A", 27 → "AA". */
void sheet_column_name(uint32_t col, char out[8]);
/* What Excel's "General" format shows for a number in a default-width cell:
 * 1 → "1", 13357463704 → "13357463704", 320923197701165255 → "3.20923E+17". */
void sheet_format_general(double v, char out[32]);

/* An Excel serial date (what a date cell holds: 1 = 1900-01-01, with
 * Excel's phantom 1900-02-29 at 60) as a calendar date; false when v is not
 * a whole day within 1900-03-01..9999-12-31. The 1904 date system of old Mac
 * workbooks is not applied. */
bool sheet_excel_date(double v, int *year, int *month, int *day);

/* ---- header detection ---------------------------------------------- */

struct sheet_column_spec {
	const char *key;               /* canonical key, e.g. "id_number" */
	const char *const *names;      /* accepted headers, NULL-terminated (姓名, name …) */
	bool required;
};

#define SHEET_HEADER_SCAN_ROWS 20u

struct sheet_header {
	uint32_t row;                  /* 1-based row number of the header */
	size_t nspecs;
	int *column;                   /* per spec: 0-based index into row.cells, -1 if absent */
	size_t nnotes;
	struct sheet_error *notes;     /* unknown, duplicate and missing headers */
	size_t nmissing;               /* required columns absent (also in notes) */
};

/* Reads up to SHEET_HEADER_SCAN_ROWS rows and picks the first row matching
 * the most required columns (then the most columns); title rows above it
 * are skipped and the rows after it are returned again by sheet_next_row().
 * Fails with WG_ERR_VALIDATION (err: SHEET_HEADER_NOT_FOUND or
 * SHEET_HEADER_MISSING naming every missing column) when required columns
 * are absent; h is filled in either case and released by
 * sheet_header_release(). Call it once, before the first sheet_next_row()
 * (WG_ERR_INTERNAL otherwise). */
int sheet_find_header(struct sheet_reader *r, const struct sheet_column_spec *specs, size_t nspecs,
                      struct sheet_header *h, struct sheet_error *err);
void sheet_header_release(struct sheet_header *h);
/* Trim, full-width → half-width, ASCII lower case, drop '*', '_', '-',
 * spaces and parenthesised notes: "* 身份证号（必填）" → "身份证号". */
int sheet_header_normalise(const char *s, size_t n, wg_buf *out);
/* The cell of spec k in a data row, or NULL when the column is absent or the
 * row is shorter. */
const struct sheet_cell *sheet_row_cell(const struct sheet_row *row, const struct sheet_header *h,
                                        size_t k);

/* ---- writing ------------------------------------------------------- */

/* Writes len bytes; returns 0 or a wg_err code. */
typedef int (*sheet_write_fn)(void *ctx, const void *data, size_t len);

enum sheet_col_kind {
	SHEET_COL_TEXT = 0,   /* always a string (ID numbers, phones, codes) */
	SHEET_COL_NUMBER,     /* XLSX: written as a number when the text is one */
};

struct sheet_writer;

/* CSV for Excel: UTF-8 with BOM, CRLF, RFC 4180 quoting; a cell starting
 * with = + - @ (or a tab or CR) gets a leading apostrophe so no spreadsheet
 * runs it as a formula. In a text column, a long number (an ID number, a
 * grid code: 12 digits or more) or one with a leading zero gets a leading
 * tab, so that Excel keeps it as text instead of showing 3.20923E+17; the
 * CSV reader takes that tab off again. */
int sheet_csv_writer_open(sheet_write_fn fn, void *ctx, struct sheet_writer **w);
int sheet_csv_writer_open_buf(wg_buf *out, struct sheet_writer **w);
/* XLSX through libxlsxwriter in constant-memory mode. tmpdir may be NULL. */
int sheet_xlsx_writer_open(const char *path, const char *sheet_name, const char *tmpdir,
                           struct sheet_writer **w);
/* kinds may be NULL (all text). Call once, before any row. */
int sheet_writer_header(struct sheet_writer *w, const char *const *names, const enum sheet_col_kind *kinds,
                        size_t n);
/* lens may be NULL (NUL-terminated cells); a NULL cell is empty. */
int sheet_writer_row(struct sheet_writer *w, const char *const *cells, const size_t *lens, size_t n);
/* Finishes the file and frees w (also on failure). */
int sheet_writer_close(struct sheet_writer *w);
/* Frees w without finishing (after an error). */
void sheet_writer_abort(struct sheet_writer *w);

/* ---- for the format readers only (sheet_csv.c, sheet_xlsx.c, sheet_xls.c) ---- */

#endif
