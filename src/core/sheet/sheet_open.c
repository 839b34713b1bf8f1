/* Opening a spreadsheet: the format told by its first bytes, the reader of
 * that format, and closing it again. */
#include "core/sheet/sheet_int.h"
#include "core/lib/err.h"
#include "core/lib/limits.h"
#include "core/lib/mem.h"

#include <stdio.h>
#include <string.h>

/* ---- opening ----------------------------------------------------------- */

enum sheet_format sheet_detect(const void *data, size_t len)
{
	static const unsigned char zip[4] = { 'P', 'K', 3, 4 };
	static const unsigned char zip_empty[4] = { 'P', 'K', 5, 6 };
	static const unsigned char ole2[8] = { 0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1 };
	if (len >= 4 && (memcmp(data, zip, 4) == 0 || memcmp(data, zip_empty, 4) == 0))
		return SHEET_FORMAT_XLSX;
	if (len >= 8 && memcmp(data, ole2, 8) == 0)
		return SHEET_FORMAT_XLS;
	return SHEET_FORMAT_CSV;
}

static int reader_new(struct sheet_reader **out, enum sheet_format f, struct sheet_error *err)
{
	struct sheet_reader *r = wg_calloc(1, sizeof *r);
	if (!r) {
		sheet_error_set(err, SHEET_NOMEM, 0, NULL, NULL, NULL);
		return WG_ERR_NOMEM;
	}
	r->format = f;
	sheet_rowbuf_init(&r->row);
	sheet_error_set(&r->err, SHEET_OK, 0, NULL, NULL, NULL);
	*out = r;
	return 0;
}

static int open_common(const char *path, const void *data, size_t len, enum sheet_format f,
                       enum sheet_xlsx_xml xml, struct sheet_reader **reader, struct sheet_error *err)
{
	struct sheet_reader *r = NULL;
	int rc = reader_new(&r, f, err);
	if (rc)
		return rc;
	r->xlsx_xml = xml;
	switch (f) {
	case SHEET_FORMAT_XLSX:
		rc = sheet_xlsx_open(r, path, data, len);
		break;
	case SHEET_FORMAT_XLS:
		rc = sheet_xls_open(r, path, data, len);
		break;
	default:
		rc = sheet_csv_open(r, path, data, len);
		break;
	}
	if (rc) {
		if (err)
			*err = r->err;
		sheet_close(r);
		return rc;
	}
	*reader = r;
	if (err)
		*err = r->err;
	return 0;
}

int sheet_open_file(const char *path, struct sheet_reader **reader, struct sheet_error *err)
{
	unsigned char magic[8];
	size_t got;
	assert(path && reader);
	*reader = NULL;
	sheet_error_set(err, SHEET_OK, 0, NULL, NULL, NULL);
	FILE *f = fopen(path, "rb");
	if (!f) {
		sheet_error_set(err, SHEET_IO, 0, NULL, NULL, NULL);
		return WG_ERR_IO;
	}
	got = fread(magic, 1, sizeof magic, f);
	bool bad = ferror(f);
	fclose(f);
	if (bad) {
		sheet_error_set(err, SHEET_IO, 0, NULL, NULL, NULL);
		return WG_ERR_IO;
	}
	return open_common(path, NULL, 0, sheet_detect(magic, got), SHEET_XLSX_SCANNER, reader, err);
}

int sheet_open_memory_xml(const void *data, size_t len, enum sheet_xlsx_xml xml,
                          struct sheet_reader **reader, struct sheet_error *err)
{
	assert(reader && (data || len == 0));
	*reader = NULL;
	sheet_error_set(err, SHEET_OK, 0, NULL, NULL, NULL);
	if (!data)
		data = "";
	return open_common(NULL, data, len, sheet_detect(data, len), xml, reader, err);
}

int sheet_open_memory(const void *data, size_t len, struct sheet_reader **reader,
                      struct sheet_error *err)
{
	return sheet_open_memory_xml(data, len, SHEET_XLSX_SCANNER, reader, err);
}

void sheet_close(struct sheet_reader *r)
{
	if (!r)
		return;
	sheet_rows_stop(r);
	if (r->ops && r->ops->close)
		r->ops->close(r);
	sheet_rows_forget(r);
	sheet_rowbuf_release(&r->row);
	wg_free(r);
}

const struct sheet_error *sheet_last_error(const struct sheet_reader *r) { return &r->err; }

enum sheet_format sheet_reader_format(const struct sheet_reader *r) { return r->format; }

const char *sheet_reader_encoding(const struct sheet_reader *r) { return r->encoding; }
