/* Between the files of the XLSX reader only: reading a part of the ZIP
 * container (expat or the scanner, its bytes counted against a cap) and
 * finding the first worksheet (sheet_xlsx_parts.c). */
#ifndef WG_SHEET_XLSX_INT_H
#define WG_SHEET_XLSX_INT_H

#include "core/lib/buf.h"
#include "core/sheet/sheet_int.h"
#include "core/sheet/sheet_xml.h"

#include <expat.h>
#include <zip.h>

#define NS_SEP '|'   /* expat's namespace separator: "uri|local" */

/* A part read through the scanner: its bytes counted against a cap. */
struct part_read {
	zip_file_t *zf;
	unsigned long long total, limit;
	bool damaged, too_large;
};

struct part_ctx {
	XML_Parser p;
	struct sheet_xml *scan;    /* instead of p, for the shared strings */
	struct sheet_reader *r;
	bool refused;
	int rc;            /* set by a handler that failed (after sheet_fail) */
};

/* The local part of an element or attribute name ("uri|row" → "row"). */
const char *xlsx_local_name(const char *name);
/* The value of an attribute by local name; namespaced = must carry a namespace. */
const char *xlsx_attr(const char **atts, const char *name, bool namespaced);
/* A part's index by name (case-insensitively as a fallback), < 0 if none. */
zip_int64_t xlsx_locate(zip_t *z, const char *name);
/* sheet_xml_read_fn over a struct part_read. */
long xlsx_part_read(void *ctx, char *buf, size_t cap);
/* From a handler: records rc and stops the part's parser. */
void xlsx_part_abort(struct part_ctx *pc, int rc);
/* Streams one part through a namespace-aware expat parser. pc heads the
 * handlers' context. Returns 0, or fills the reader error. */
int xlsx_parse_part(struct sheet_reader *r, zip_t *zip, const char *name, unsigned long long limit,
                    XML_StartElementHandler start, XML_EndElementHandler end,
                    XML_CharacterDataHandler text, struct part_ctx *pc, bool required);
/* The same through the scanner (expat for a part not in UTF-8); a missing part is no error. */
int xlsx_scan_part(struct sheet_reader *r, zip_t *zip, const char *name, unsigned long long limit,
                   const struct sheet_xml_handlers *h, struct part_ctx *pc);
/* The reader error for a scan that did not end well, naming where (part, row, cell). */
int xlsx_scan_fail(struct sheet_reader *r, struct sheet_xml *scan, enum sheet_xml_status st,
                   const struct part_read *rd, const char *part, uint32_t row, uint32_t col);
/* The parts of the first worksheet and of the shared strings, and the sheet's name. */
int xlsx_find_parts(struct sheet_reader *r, zip_t *zip, wg_buf *sheet_part, wg_buf *sst_part,
                    char *sheet_name, size_t name_size);

#endif
