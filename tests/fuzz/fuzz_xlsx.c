/* Feeds arbitrary bytes to the XLSX reader: the worksheet and shared
 * strings through the scanner of sheet_xml.c, and again through expat, the
 * reference. Whatever the bytes, neither crashes and every cell is one
 * NUL-free string; when expat reads the whole file, the scanner must read
 * it too, into the very same rows. (The scanner may refuse what expat also
 * refuses, or accept a little more, such as an unbound prefix.)
 * A ZIP file is read as it is; any other input is the worksheet XML of a
 * workbook made around it (and, after a line "#sst", its shared strings),
 * so mutations reach the XML instead of failing the ZIP's checksums. */
#include "core/sheet/sheet.h"
#include "core/sheet/sheet_int.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zip.h>

struct rows {
	char *text;
	size_t len, cap;
	int rc, code;
};

static void put(struct rows *o, const void *p, size_t n)
{
	if (o->len + n > o->cap) {
		size_t cap = (o->len + n) * 2 + 256;
		char *t = realloc(o->text, cap);
		if (!t)
			__builtin_trap();
		o->text = t;
		o->cap = cap;
	}
	memcpy(o->text + o->len, p, n);
	o->len += n;
}

/* Every row, cell by cell (number, column, text, whether from a number). */
static void read_rows(const uint8_t *data, size_t size, enum sheet_xlsx_xml xml, struct rows *o)
{
	struct sheet_reader *r;
	struct sheet_error err;
	struct sheet_row row;
	memset(o, 0, sizeof *o);
	o->rc = sheet_open_memory_xml(data, size, xml, &r, &err);
	if (o->rc) {
		o->code = err.code;
		if (!err.message_zh[0] || !err.message_en[0])
			__builtin_trap();
		return;
	}
	while ((o->rc = sheet_next_row(r, &row)) == 0 && !row.end) {
		put(o, &row.number, sizeof row.number);
		for (size_t i = 0; i < row.n; i++) {
			const struct sheet_cell *c = &row.cells[i];
			if (strlen(c->text) != c->len || !sheet_utf8_valid(c->text, c->len))
				__builtin_trap();  /* the import keeps cells as JSON strings without checking again */
			put(o, &c->col, sizeof c->col);
			put(o, c->text, c->len + 1);
			put(o, &c->from_number, sizeof c->from_number);
		}
	}
	o->code = sheet_last_error(r)->code;
	if (o->rc && !sheet_last_error(r)->message_zh[0])
		__builtin_trap();
	sheet_close(r);
}

static const char rels[] =
	"<Relationships xmlns=\"http://schemas.openxmlformats.org/package/2006/relationships\">"
	"<Relationship Id=\"rId1\" Type=\"http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument\" Target=\"xl/workbook.xml\"/>"
	"</Relationships>";
static const char workbook[] =
	"<workbook xmlns=\"http://schemas.openxmlformats.org/spreadsheetml/2006/main\" "
	"xmlns:r=\"http://schemas.openxmlformats.org/officeDocument/2006/relationships\">"
	"<sheets><sheet name=\"名单\" sheetId=\"1\" r:id=\"rId1\"/></sheets></workbook>";
static const char workbook_rels[] =
	"<Relationships xmlns=\"http://schemas.openxmlformats.org/package/2006/relationships\">"
	"<Relationship Id=\"rId1\" Type=\"http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet\" Target=\"worksheets/sheet1.xml\"/>"
	"<Relationship Id=\"rId2\" Type=\"http://schemas.openxmlformats.org/officeDocument/2006/relationships/sharedStrings\" Target=\"sharedStrings.xml\"/>"
	"</Relationships>";

static void add(zip_t *z, const char *name, const void *p, size_t n)
{
	zip_source_t *src = zip_source_buffer(z, p, n, 0);
	zip_int64_t i = src ? zip_file_add(z, name, src, 0) : -1;
	if (i < 0 || zip_set_file_compression(z, (zip_uint64_t)i, ZIP_CM_STORE, 0) != 0)
		__builtin_trap();
}

/* A workbook (stored, not deflated) around the worksheet and shared strings. */
static uint8_t *wrap(const uint8_t *data, size_t size, size_t *out_len)
{
	static const char mark[] = "\n#sst\n";
	const uint8_t *sst = memmem(data, size, mark, sizeof mark - 1);
	size_t sheet_len = sst ? (size_t)(sst - data) : size;
	zip_error_t ze;
	zip_error_init(&ze);
	zip_source_t *src = zip_source_buffer_create(NULL, 0, 0, &ze);
	zip_t *z = src ? zip_open_from_source(src, ZIP_TRUNCATE, &ze) : NULL;
	if (!z)
		__builtin_trap();
	zip_source_keep(src);
	add(z, "_rels/.rels", rels, sizeof rels - 1);
	add(z, "xl/workbook.xml", workbook, sizeof workbook - 1);
	add(z, "xl/_rels/workbook.xml.rels", workbook_rels, sizeof workbook_rels - 1);
	add(z, "xl/worksheets/sheet1.xml", data, sheet_len);
	if (sst)
		add(z, "xl/sharedStrings.xml", sst + sizeof mark - 1, size - sheet_len - (sizeof mark - 1));
	if (zip_close(z) != 0 || zip_source_open(src) != 0 || zip_source_seek(src, 0, SEEK_END) != 0)
		__builtin_trap();
	zip_int64_t len = zip_source_tell(src);
	uint8_t *out = len > 0 ? malloc((size_t)len) : NULL;
	if (!out || zip_source_seek(src, 0, SEEK_SET) != 0 || zip_source_read(src, out, (zip_uint64_t)len) != len)
		__builtin_trap();
	zip_source_close(src);
	zip_source_free(src);
	zip_error_fini(&ze);
	*out_len = (size_t)len;
	return out;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct rows scanned, parsed;
	uint8_t *made = NULL;
	if (sheet_detect(data, size) != SHEET_FORMAT_XLSX) {
		made = wrap(data, size, &size);
		data = made;
	}
	read_rows(data, size, SHEET_XLSX_SCANNER, &scanned);
	read_rows(data, size, SHEET_XLSX_EXPAT, &parsed);
	/* the scanner may stop at its own limits (nesting, attributes, a tag's length) */
	bool limited = scanned.rc != 0 && scanned.code == SHEET_TOO_LARGE;
	if (parsed.rc == 0 && !limited && (scanned.rc != 0 || scanned.len != parsed.len ||
	                       (parsed.len && memcmp(scanned.text, parsed.text, parsed.len) != 0)))
		__builtin_trap();
	free(scanned.text);
	free(parsed.text);
	free(made);
	return 0;
}
