/* Exports: CSV that Excel opens correctly (UTF-8 BOM, CRLF, RFC 4180
 * quoting, no formula injection) and XLSX through libxlsxwriter in
 * constant-memory mode with a bold header row. ID numbers and phones are
 * always written as strings: a number cell would lose digits past the 15th. */
#include "core/sheet/sheet_int.h"

#include "core/lib/err.h"
#include "core/lib/limits.h"
#include "core/lib/mem.h"

#include <assert.h>
#include <string.h>
#include <xlsxwriter.h>

#define CSV_OUT_LINE_MAX ((size_t)WG_MAX_CSV_LINE * 4)
#define XLSX_MAX_ROWS 1048576u

enum writer_kind { W_CSV, W_XLSX };

struct sheet_writer {
	enum writer_kind kind;
	size_t ncols;
	enum sheet_col_kind *kinds;
	bool header_done;
	/* CSV */
	sheet_write_fn fn;
	void *ctx;
	wg_buf line;
	/* XLSX */
	lxw_workbook *wb;
	lxw_worksheet *ws;
	lxw_format *bold, *text;
	uint32_t row;
};

/* ---- CSV --------------------------------------------------------------- */

static int buf_sink(void *ctx, const void *data, size_t len)
{
	return wg_buf_append(ctx, data, len);
}

int sheet_csv_writer_open(sheet_write_fn fn, void *ctx, struct sheet_writer **out)
{
	static const unsigned char bom[3] = { 0xEF, 0xBB, 0xBF };
	assert(fn && out);
	*out = NULL;
	struct sheet_writer *w = wg_calloc(1, sizeof *w);
	if (!w)
		return WG_ERR_NOMEM;
	w->kind = W_CSV;
	w->fn = fn;
	w->ctx = ctx;
	wg_buf_init(&w->line, CSV_OUT_LINE_MAX);
	int rc = fn(ctx, bom, sizeof bom);
	if (rc) {
		sheet_writer_abort(w);
		return rc;
	}
	*out = w;
	return 0;
}

int sheet_csv_writer_open_buf(wg_buf *out, struct sheet_writer **w)
{
	return sheet_csv_writer_open(buf_sink, out, w);
}

static bool csv_needs_quotes(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (s[i] == ',' || s[i] == '"' || s[i] == '\r' || s[i] == '\n')
			return true;
	return false;
}

/* Spreadsheets run a cell starting with one of these as a formula. */
static bool csv_formula_start(const char *s, size_t n)
{
	return n > 0 && strchr("=+-@\t\r", s[0]) != NULL;
}

static void csv_cell(wg_buf *b, const char *s, size_t n, bool text)
{
	bool quote = csv_needs_quotes(s, n);
	if (quote)
		wg_buf_putc(b, '"');
	if (csv_formula_start(s, n))
		wg_buf_putc(b, '\'');
	else if (text && sheet_digits_kept_as_text(s, n))
		wg_buf_putc(b, '\t');
	if (!quote) {
		wg_buf_append(b, s, n);
		return;
	}
	for (size_t i = 0; i < n; i++) {
		const char *q = memchr(s + i, '"', n - i);
		size_t run = q ? (size_t)(q - (s + i)) : n - i;
		wg_buf_append(b, s + i, run);
		i += run;
		if (q)
			wg_buf_append(b, "\"\"", 2);
	}
	wg_buf_putc(b, '"');
}

static int csv_row(struct sheet_writer *w, const char *const *cells, const size_t *lens, size_t n)
{
	wg_buf_reset(&w->line);
	for (size_t i = 0; i < n; i++) {
		const char *s = cells[i] ? cells[i] : "";
		size_t len = lens && cells[i] ? lens[i] : strlen(s);
		if (i)
			wg_buf_putc(&w->line, ',');
		csv_cell(&w->line, s, len, w->kinds && i < w->ncols && w->kinds[i] == SHEET_COL_TEXT);
	}
	wg_buf_append(&w->line, "\r\n", 2);
	if (w->line.err)
		return w->line.err;
	return w->fn(w->ctx, w->line.data, w->line.len);
}

/* ---- XLSX -------------------------------------------------------------- */

int sheet_xlsx_writer_open(const char *path, const char *sheet_name, const char *tmpdir,
                           struct sheet_writer **out)
{
	lxw_workbook_options opts = { .constant_memory = LXW_TRUE, .tmpdir = (char *)tmpdir };
	assert(path && out);
	*out = NULL;
	struct sheet_writer *w = wg_calloc(1, sizeof *w);
	if (!w)
		return WG_ERR_NOMEM;
	w->kind = W_XLSX;
	w->wb = workbook_new_opt(path, &opts);
	if (!w->wb)
		goto fail;
	w->ws = workbook_add_worksheet(w->wb, sheet_name && *sheet_name ? sheet_name : NULL);
	w->bold = workbook_add_format(w->wb);
	w->text = workbook_add_format(w->wb);
	if (!w->ws || !w->bold || !w->text)
		goto fail;
	format_set_bold(w->bold);
	format_set_num_format(w->bold, "@");
	format_set_num_format(w->text, "@");
	*out = w;
	return 0;
fail:
	sheet_writer_abort(w);
	return WG_ERR_IO;
}

static int lxw_rc(lxw_error e)
{
	switch (e) {
	case LXW_NO_ERROR:
		return 0;
	case LXW_ERROR_MEMORY_MALLOC_FAILED:
		return WG_ERR_NOMEM;
	case LXW_ERROR_MAX_STRING_LENGTH_EXCEEDED:
	case LXW_ERROR_WORKSHEET_INDEX_OUT_OF_RANGE:
		return WG_ERR_TOO_LARGE;
	default:
		return WG_ERR_IO;
	}
}

/* Display width of a header in character cells (CJK counts double). */
static double header_width(const char *s)
{
	double w = 0;
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (*p < 0x80)
			w += 1;
		else if ((*p & 0xC0) != 0x80)
			w += 2;
	}
	return w;
}

static int xlsx_header(struct sheet_writer *w, const char *const *names, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		const char *name = names[i] ? names[i] : "";
		double width = header_width(name) + 4;
		bool text = w->kinds[i] == SHEET_COL_TEXT;
		if (width < 12)
			width = 12;
		if (text && width < 20)
			width = 20; /* room for an 18-character ID number */
		lxw_error e = worksheet_set_column(w->ws, (lxw_col_t)i, (lxw_col_t)i, width, text ? w->text : NULL);
		if (e == LXW_NO_ERROR && *name)
			e = worksheet_write_string(w->ws, 0, (lxw_col_t)i, name, w->bold);
		if (e != LXW_NO_ERROR)
			return lxw_rc(e);
	}
	worksheet_freeze_panes(w->ws, 1, 0);
	w->row = 1;
	return 0;
}

static int xlsx_row(struct sheet_writer *w, const char *const *cells, const size_t *lens, size_t n)
{
	wg_buf tmp = WG_BUF_INIT(WG_MAX_SHEET_CELL * 4);
	int rc = 0;
	if (w->row >= XLSX_MAX_ROWS)
		return WG_ERR_TOO_LARGE;
	for (size_t i = 0; i < n && !rc; i++) {
		if (!cells[i])
			continue;
		size_t len = lens ? lens[i] : strlen(cells[i]);
		double v;
		lxw_error e;
		if (len == 0)
			continue;
		bool number = i < w->ncols && w->kinds[i] == SHEET_COL_NUMBER;
		if (number && sheet_number_parse(cells[i], len, &v)) {
			e = worksheet_write_number(w->ws, w->row, (lxw_col_t)i, v, NULL);
		} else {
			wg_buf_reset(&tmp);
			if (wg_buf_append(&tmp, cells[i], len)) {
				rc = tmp.err;
				break;
			}
			e = worksheet_write_string(w->ws, w->row, (lxw_col_t)i, tmp.data,
			                           i < w->ncols && !number ? w->text : NULL);
		}
		rc = lxw_rc(e);
	}
	wg_buf_release(&tmp);
	if (!rc)
		w->row++;
	return rc;
}

/* ---- common ------------------------------------------------------------ */

int sheet_writer_header(struct sheet_writer *w, const char *const *names, const enum sheet_col_kind *kinds,
                        size_t n)
{
	assert(w && names);
	if (w->header_done)
		return WG_ERR_INTERNAL;
	w->kinds = wg_calloc(n ? n : 1, sizeof *w->kinds);
	if (!w->kinds)
		return WG_ERR_NOMEM;
	for (size_t i = 0; i < n; i++)
		w->kinds[i] = kinds ? kinds[i] : SHEET_COL_TEXT;
	w->ncols = n;
	w->header_done = true;
	if (w->kind == W_CSV)
		return csv_row(w, names, NULL, n);
	return xlsx_header(w, names, n);
}

int sheet_writer_row(struct sheet_writer *w, const char *const *cells, const size_t *lens, size_t n)
{
	assert(w && (cells || n == 0));
	if (w->kind == W_CSV)
		return csv_row(w, cells, lens, n);
	return xlsx_row(w, cells, lens, n);
}

int sheet_writer_close(struct sheet_writer *w)
{
	int rc = 0;
	if (!w)
		return 0;
	if (w->kind == W_XLSX && w->wb) {
		rc = lxw_rc(workbook_close(w->wb));
		w->wb = NULL;
	}
	sheet_writer_abort(w);
	return rc;
}

void sheet_writer_abort(struct sheet_writer *w)
{
	if (!w)
		return;
	if (w->wb)
		lxw_workbook_free(w->wb);
	wg_buf_release(&w->line);
	wg_free(w->kinds);
	wg_free(w);
}
