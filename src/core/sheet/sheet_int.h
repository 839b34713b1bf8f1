/* Between the files of the spreadsheet reader only: the reader's state, the
 * row builder and the three formats' openers. */
#ifndef WG_SHEET_INT_H
#define WG_SHEET_INT_H

#include "core/sheet/sheet.h"

#include <assert.h>


#include <stdarg.h>

/* The row being built: cell texts live in one buffer. */
struct sheet_rowbuf {
	wg_buf text;
	struct sheet_cell *cells;
	size_t *offsets;
	size_t n, cap;
	uint32_t number;
};

struct sheet_ops {
	/* 0 with *got = true for a built row, *got = false at the end; or a wg_err. */
	int (*next)(struct sheet_reader *r, bool *got);
	void (*close)(struct sheet_reader *r);
};

/* What reads an XLSX file's worksheet and shared strings: the scanner of
 * sheet_xml.h, or expat (kept as the reference the scanner is tested
 * against, and for parts not in UTF-8). */
enum sheet_xlsx_xml { SHEET_XLSX_SCANNER, SHEET_XLSX_EXPAT };

struct sheet_reader {
	enum sheet_format format;
	enum sheet_xlsx_xml xlsx_xml;
	const struct sheet_ops *ops;
	void *impl;
	struct sheet_rowbuf row;          /* filled by the format */
	struct sheet_error err;
	const char *encoding;
	uint32_t rows_read;
	/* rows handed back by sheet_find_header() */
	struct sheet_saved_row *saved;
	size_t nsaved, saved_next;
	bool failed;
	struct sheet_ahead *ahead;        /* sheet_read_ahead(): owns r->row, err, failed, rows_read */
};

void sheet_rowbuf_init(struct sheet_rowbuf *b);
void sheet_rowbuf_release(struct sheet_rowbuf *b);
void sheet_rowbuf_clear(struct sheet_rowbuf *b, uint32_t number);
/* Adds a cell at 1-based column col (filling gaps); text may be NULL (empty). */
int sheet_rowbuf_add(struct sheet_reader *r, uint32_t col, const char *text, size_t len,
                     bool from_number, double number);
/* Records an error in r->err and returns rc. column 0 = none. */
int sheet_fail(struct sheet_reader *r, int rc, int code, uint32_t row, uint32_t column,
               const char *detail_zh, const char *detail_en);
void sheet_error_set(struct sheet_error *e, int code, uint32_t row, const char *column,
                     const char *detail_zh, const char *detail_en);

/* A number as XLSX stores it ("3.20923197701165e+17"), whatever the
 * process locale says the decimal point is. */
bool sheet_number_parse(const char *s, size_t n, double *out);
/* True when s[0..n) is well-formed UTF-8. */
bool sheet_utf8_valid(const char *s, size_t n);
/* Length of the valid UTF-8 prefix; *incomplete when it stops at a character
 * cut off by the end of the buffer (CSV reads in chunks). */
size_t sheet_utf8_valid_prefix(const unsigned char *p, size_t n, bool *incomplete);

/* sheet_open_memory() with the XML reader of an XLSX file chosen (tests). */
int sheet_open_memory_xml(const void *data, size_t len, enum sheet_xlsx_xml xml,
                          struct sheet_reader **reader, struct sheet_error *err);

int sheet_csv_open(struct sheet_reader *r, const char *path, const void *data, size_t len);
int sheet_xlsx_open(struct sheet_reader *r, const char *path, const void *data, size_t len);
int sheet_xls_open(struct sheet_reader *r, const char *path, const void *data, size_t len);

/* Rows the header search read, handed out again before fresh ones. */
struct sheet_saved_row {
	uint32_t number;
	size_t n;
	struct sheet_cell *cells;
	char *text;
};
/* Stops the reading thread of sheet_read_ahead; frees the saved rows (sheet_rows.c). */
void sheet_rows_stop(struct sheet_reader *r);
void sheet_rows_forget(struct sheet_reader *r);
/* The next row from the format itself (not a saved one), for the header search. */
int  sheet_rows_fresh(struct sheet_reader *r, struct sheet_row *row);
/* Digits (an X may end them) that Excel would mangle as a number: 12 or more, or a leading zero. */
bool sheet_digits_kept_as_text(const char *s, size_t n);
/* The built row as the caller sees it (sheet_cell.c). */
void sheet_rowbuf_finish(struct sheet_rowbuf *b, struct sheet_row *row);

#endif
