/* XLS (BIFF, Excel 97-2003 and what WPS/LibreOffice save as .xls) through
 * libfreexl: the first worksheet, read row by row. libfreexl reads from a
 * path only, so an upload in memory goes through a private temporary file
 * that is unlinked as soon as it is open. Text comes back as UTF-8; numbers
 * are shown as Excel's General format and flagged from_number. */
#include "core/sheet/sheet_int.h"

#include "core/lib/err.h"
#include "core/lib/limits.h"
#include "core/lib/mem.h"

#include <errno.h>
#include <freexl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct xls {
	const void *h;
	unsigned int rows;
	unsigned short cols;
	unsigned int next;
};

static int xls_text(struct sheet_reader *r, unsigned int row, unsigned short col, const char *text,
                    bool from_number)
{
	size_t len;
	if (!text)
		return 0;
	len = strlen(text);
	if (!sheet_utf8_valid(text, len))
		return sheet_fail(r, WG_ERR_VALIDATION, SHEET_ENCODING, row + 1, (uint32_t)col + 1, NULL, NULL);
	return sheet_rowbuf_add(r, (uint32_t)col + 1, text, len, from_number, 0);
}

static int xls_cell(struct sheet_reader *r, struct xls *x, unsigned int row, unsigned short col)
{
	FreeXL_CellValue v;
	char shown[32];
	if (freexl_get_cell_value(x->h, row, col, &v) != FREEXL_OK)
		return sheet_fail(r, WG_ERR_VALIDATION, SHEET_FORMAT, row + 1, (uint32_t)col + 1,
		                  "(无法读取单元格)", " (cannot read the cell)");
	switch (v.type) {
	case FREEXL_CELL_INT:
		snprintf(shown, sizeof shown, "%d", v.value.int_value);
		return sheet_rowbuf_add(r, (uint32_t)col + 1, shown, strlen(shown), true, v.value.int_value);
	case FREEXL_CELL_DOUBLE:
		sheet_format_general(v.value.double_value, shown);
		return sheet_rowbuf_add(r, (uint32_t)col + 1, shown, strlen(shown), true, v.value.double_value);
	case FREEXL_CELL_TEXT:
	case FREEXL_CELL_SST_TEXT:
		return xls_text(r, row, col, v.value.text_value, false);
	case FREEXL_CELL_DATE:
	case FREEXL_CELL_DATETIME:
	case FREEXL_CELL_TIME:
		/* a number in Excel; libfreexl gives it as text, keep the flag */
		return xls_text(r, row, col, v.value.text_value, true);
	default:
		return 0;
	}
}

static int xls_next(struct sheet_reader *r, bool *got)
{
	struct xls *x = r->impl;
	*got = false;
	if (x->next >= x->rows)
		return 0;
	unsigned int row = x->next++;
	sheet_rowbuf_clear(&r->row, row + 1);
	for (unsigned short c = 0; c < x->cols; c++) {
		int rc = xls_cell(r, x, row, c);
		if (rc)
			return rc;
	}
	*got = true;
	return 0;
}

static void xls_close(struct sheet_reader *r)
{
	struct xls *x = r->impl;
	if (!x)
		return;
	if (x->h)
		freexl_close(x->h);
	wg_free(x);
	r->impl = NULL;
}

static const struct sheet_ops xls_ops = { xls_next, xls_close };

/* Writes the upload to a private temporary file; *path must be freed. */
static int spill(const void *data, size_t len, char **path)
{
	const char *dir = getenv("TMPDIR");
	wg_buf b = WG_BUF_INIT(4096);
	int fd = -1, rc = WG_ERR_IO;
	if (!dir || !*dir)
		dir = "/tmp";
	if (wg_buf_printf(&b, "%s/wangge-xls-XXXXXX", dir)) {
		rc = b.err;
		goto out;
	}
	fd = mkstemp(b.data);
	if (fd < 0)
		goto out;
	for (size_t done = 0; done < len;) {
		ssize_t w = write(fd, (const char *)data + done, len - done);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			unlink(b.data);
			goto out;
		}
		done += (size_t)w;
	}
	*path = wg_buf_detach(&b, NULL);
	rc = *path ? 0 : WG_ERR_NOMEM;
out:
	if (fd >= 0)
		close(fd);
	wg_buf_release(&b);
	return rc;
}

static int open_handle(struct sheet_reader *r, struct xls *x, const char *path)
{
	int st = freexl_open(path, &x->h);
	if (st == FREEXL_FILE_NOT_FOUND)
		return sheet_fail(r, WG_ERR_IO, SHEET_IO, 0, 0, NULL, NULL);
	if (st == FREEXL_INSUFFICIENT_MEMORY)
		return sheet_fail(r, WG_ERR_NOMEM, SHEET_NOMEM, 0, 0, NULL, NULL);
	/* Some BIFF8 files libfreexl cannot follow open "successfully" with no handle. */
	if (st != FREEXL_OK || !x->h)
		return sheet_fail(r, WG_ERR_VALIDATION, SHEET_FORMAT, 0, 0, "(或是加密的Excel文件)",
		                  " (or an encrypted Excel file)");
	return 0;
}

static int select_first_sheet(struct sheet_reader *r, struct xls *x)
{
	unsigned int info = 0;
	if (freexl_get_info(x->h, FREEXL_BIFF_PASSWORD, &info) == FREEXL_OK && info == FREEXL_BIFF_OBFUSCATED)
		return sheet_fail(r, WG_ERR_VALIDATION, SHEET_ENCRYPTED, 0, 0, NULL, NULL);
	if (freexl_get_info(x->h, FREEXL_BIFF_SHEET_COUNT, &info) != FREEXL_OK || info == 0)
		return sheet_fail(r, WG_ERR_VALIDATION, SHEET_NO_SHEET, 0, 0, NULL, NULL);
	if (freexl_select_active_worksheet(x->h, 0) != FREEXL_OK ||
	    freexl_worksheet_dimensions(x->h, &x->rows, &x->cols) != FREEXL_OK)
		return sheet_fail(r, WG_ERR_VALIDATION, SHEET_FORMAT, 0, 0, NULL, NULL);
	if (x->rows > WG_MAX_IMPORT_ROWS)
		return sheet_fail(r, WG_ERR_TOO_LARGE, SHEET_TOO_MANY_ROWS, 0, 0, NULL, NULL);
	if (x->cols > WG_MAX_SHEET_COLUMNS)
		return sheet_fail(r, WG_ERR_TOO_LARGE, SHEET_TOO_MANY_COLUMNS, 0, 0, "(最多1024列)",
		                  " (at most 1024)");
	return 0;
}

int sheet_xls_open(struct sheet_reader *r, const char *path, const void *data, size_t len)
{
	char *tmp = NULL;
	int rc;
	struct xls *x = wg_calloc(1, sizeof *x);
	if (!x)
		return sheet_fail(r, WG_ERR_NOMEM, SHEET_NOMEM, 0, 0, NULL, NULL);
	r->impl = x;
	r->ops = &xls_ops;
	if (!path) {
		rc = spill(data, len, &tmp);
		if (rc) {
			rc = sheet_fail(r, rc, rc == WG_ERR_NOMEM ? SHEET_NOMEM : SHEET_IO, 0, 0,
			                "(无法写临时文件)", " (cannot write a temporary file)");
			goto out;
		}
		path = tmp;
	}
	rc = open_handle(r, x, path);
	if (tmp)
		unlink(tmp);
	if (rc)
		goto out;
	rc = select_first_sheet(r, x);
out:
	wg_free(tmp);
	return rc;
}
