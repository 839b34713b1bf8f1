/* What every format's reader shares: the row builder, error codes and
 * messages, the Excel "General" number format, dates, UTF-8 checks. */
#include "core/sheet/sheet_int.h"
#include "core/lib/err.h"
#include "core/lib/limits.h"
#include "core/lib/mem.h"

#include <locale.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- codes and messages ------------------------------------------------ */

static const char *const code_zh[] = {
#define SHEET_CODE_ZH(name, zh, en) zh,
	SHEET_CODES(SHEET_CODE_ZH)
#undef SHEET_CODE_ZH
};

static const char *const code_en[] = {
#define SHEET_CODE_EN(name, zh, en) en,
	SHEET_CODES(SHEET_CODE_EN)
#undef SHEET_CODE_EN
};

const char *sheet_code_zh(int code)
{
	return code >= 0 && code < SHEET__COUNT ? code_zh[code] : code_zh[SHEET_FORMAT];
}

const char *sheet_code_en(int code)
{
	return code >= 0 && code < SHEET__COUNT ? code_en[code] : code_en[SHEET_FORMAT];
}

/* Copies with truncation that never splits a UTF-8 sequence. */
static void copy_utf8(char *dst, size_t size, const char *src)
{
	size_t n = strlen(src);
	assert(size > 0);
	if (n >= size) {
		n = size - 1;
		while (n > 0 && ((unsigned char)src[n] & 0xC0) == 0x80)
			n--;
	}
	memcpy(dst, src, n);
	dst[n] = '\0';
}

void sheet_error_set(struct sheet_error *e, int code, uint32_t row, const char *column,
                     const char *detail_zh, const char *detail_en)
{
	char zh[512], en[512];
	char where_zh[96] = "", where_en[96] = "";
	const char *col = column ? column : "";
	if (!e)
		return;
	e->row = row;
	e->code = code;
	copy_utf8(e->column, sizeof e->column, col);
	if (row && *col) {
		snprintf(where_zh, sizeof where_zh, "第%u行%s列:", (unsigned)row, e->column);
		snprintf(where_en, sizeof where_en, "row %u, column %s: ", (unsigned)row, e->column);
	} else if (row) {
		snprintf(where_zh, sizeof where_zh, "第%u行:", (unsigned)row);
		snprintf(where_en, sizeof where_en, "row %u: ", (unsigned)row);
	} else if (*col) {
		snprintf(where_zh, sizeof where_zh, "%s列:", e->column);
		snprintf(where_en, sizeof where_en, "column %s: ", e->column);
	}
	snprintf(zh, sizeof zh, "%s%s%s", where_zh, sheet_code_zh(code), detail_zh ? detail_zh : "");
	snprintf(en, sizeof en, "%s%s%s", where_en, sheet_code_en(code), detail_en ? detail_en : "");
	copy_utf8(e->message_zh, sizeof e->message_zh, zh);
	copy_utf8(e->message_en, sizeof e->message_en, en);
}

int sheet_fail(struct sheet_reader *r, int rc, int code, uint32_t row, uint32_t column,
               const char *detail_zh, const char *detail_en)
{
	char col[8] = "";
	assert(r && rc != 0);
	if (column)
		sheet_column_name(column, col);
	sheet_error_set(&r->err, code, row, col, detail_zh, detail_en);
	r->failed = true;
	return rc;
}

void sheet_column_name(uint32_t col, char out[8])
{
	char tmp[8];
	size_t n = 0;
	while (col > 0 && n < 7) {
		col--;
		tmp[n++] = (char)('A' + col % 26);
		col /= 26;
	}
	for (size_t i = 0; i < n; i++)
		out[i] = tmp[n - 1 - i];
	out[n] = '\0';
}

/* ---- Excel "General" number format ------------------------------------- */

static void strip_fraction_zeros(char *s)
{
	char *dot = strchr(s, '.');
	if (!dot)
		return;
	char *end = s + strlen(s);
	while (end > dot + 1 && end[-1] == '0')
		*--end = '\0';
	if (end == dot + 1)
		*dot = '\0';
}

void sheet_format_general(double v, char out[32])
{
	const int width = 11; /* characters Excel shows in a default-width General cell */
	if (!isfinite(v)) {
		snprintf(out, 32, "#NUM!");
		return;
	}
	if (v == 0) {
		snprintf(out, 32, "0");
		return;
	}
	double a = fabs(v);
	int sign = v < 0;
	if (a < 1e11 && a >= 1e-5) {
		int intdigits = 1;
		for (double t = 10; t <= a && intdigits < 12; t *= 10)
			intdigits++;
		int dec = width - sign - intdigits - 1;
		if (dec < 0)
			dec = 0;
		snprintf(out, 32, "%.*f", dec, v);
		strip_fraction_zeros(out);
		if ((int)strlen(out) <= width && strcmp(out, "0") != 0 && strcmp(out, "-0") != 0)
			return;
	}
	int exp10 = (int)floor(log10(a));
	int expdigits = (exp10 >= 100 || exp10 <= -100) ? 3 : 2;
	int mant = width - sign - 4 - expdigits; /* "d." + "E+" */
	char tmp[40];
	snprintf(tmp, sizeof tmp, "%.*E", mant > 0 ? mant : 0, v);
	char *e = strchr(tmp, 'E');
	if (!e) {
		snprintf(out, 32, "%.30s", tmp);
		return;
	}
	char exponent[16];
	snprintf(exponent, sizeof exponent, "%s", e);
	*e = '\0';
	strip_fraction_zeros(tmp);
	snprintf(out, 32, "%.20s%.8s", tmp, exponent);
}

static locale_t c_locale;

static pthread_once_t c_locale_once = PTHREAD_ONCE_INIT;

static void c_locale_init(void)
{
	c_locale = newlocale(LC_NUMERIC_MASK, "C", (locale_t)0);
}

bool sheet_number_parse(const char *s, size_t n, double *out)
{
	char tmp[72];
	if (n == 0 || n >= sizeof tmp)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!strchr("0123456789+-.eE", s[i]) || s[i] == '\0')
			return false;
	memcpy(tmp, s, n);
	tmp[n] = '\0';
	pthread_once(&c_locale_once, c_locale_init);
	char *end = NULL;
	double v = c_locale ? strtod_l(tmp, &end, c_locale) : strtod(tmp, &end);
	if (end != tmp + n || !isfinite(v))
		return false;
	*out = v;
	return true;
}

bool sheet_excel_date(double v, int *year, int *month, int *day)
{
	/* serial 61 is 1900-03-01; 2958465 is 9999-12-31 */
	if (!(v >= 61 && v <= 2958465) || v != floor(v))
		return false;
	/* days since 1970-01-01, then Howard Hinnant's civil_from_days */
	int64_t z = (int64_t)v - 25569 + 719468;
	int64_t era = (z >= 0 ? z : z - 146096) / 146097;
	int64_t doe = z - era * 146097;
	int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	int64_t mp = (5 * doy + 2) / 153;
	int64_t d = doy - (153 * mp + 2) / 5 + 1;
	int64_t m = mp < 10 ? mp + 3 : mp - 9;
	*year = (int)(yoe + era * 400 + (m <= 2));
	*month = (int)m;
	*day = (int)d;
	return true;
}

/* Length of the valid UTF-8 prefix; *incomplete when it stops at a
 * character cut off by the end of the buffer. */
size_t sheet_utf8_valid_prefix(const unsigned char *p, size_t n, bool *incomplete)
{
	size_t i = 0;
	*incomplete = false;
	while (i < n) {
		unsigned char b = p[i];
		size_t len;
		uint32_t cp, min;
		if (b < 0x80) {
			i++;
			for (uint64_t w; i + 8 <= n; i += 8) {   /* ASCII runs (digits) a word at a time */
				memcpy(&w, p + i, 8);
				if (w & 0x8080808080808080ull)
					break;
			}
			continue;
		}
		if ((b & 0xE0) == 0xC0)
			len = 2, cp = b & 0x1F, min = 0x80;
		else if ((b & 0xF0) == 0xE0)
			len = 3, cp = b & 0x0F, min = 0x800;
		else if ((b & 0xF8) == 0xF0)
			len = 4, cp = b & 0x07, min = 0x10000;
		else
			return i;
		size_t k = 1;
		for (; k < len && i + k < n; k++) {
			if ((p[i + k] & 0xC0) != 0x80)
				return i;
			cp = (cp << 6) | (p[i + k] & 0x3F);
		}
		if (k < len) {
			*incomplete = true;
			return i;
		}
		if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
			return i;
		i += len;
	}
	return i;
}

bool sheet_utf8_valid(const char *s, size_t n)
{
	bool incomplete;
	return sheet_utf8_valid_prefix((const unsigned char *)s, n, &incomplete) == n;
}

/* ---- the row builder --------------------------------------------------- */

bool sheet_digits_kept_as_text(const char *s, size_t n)
{
	if (n < 2)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (i == n - 1 && (s[i] == 'X' || s[i] == 'x'))))
			return false;
	/* Excel keeps 15 significant digits and drops leading zeros. */
	return n >= 12 || s[0] == '0';
}

void sheet_rowbuf_init(struct sheet_rowbuf *b)
{
	memset(b, 0, sizeof *b);
	wg_buf_init(&b->text, (size_t)WG_MAX_SHEET_ROW + WG_MAX_SHEET_COLUMNS);
}

void sheet_rowbuf_release(struct sheet_rowbuf *b)
{
	wg_buf_release(&b->text);
	wg_free(b->cells);
	wg_free(b->offsets);
	memset(b, 0, sizeof *b);
}

void sheet_rowbuf_clear(struct sheet_rowbuf *b, uint32_t number)
{
	wg_buf_reset(&b->text);
	b->n = 0;
	b->number = number;
}

static int rowbuf_grow(struct sheet_rowbuf *b, size_t need)
{
	if (need <= b->cap)
		return 0;
	size_t cap = b->cap ? b->cap * 2 : 16;
	while (cap < need)
		cap *= 2;
	if (cap > WG_MAX_SHEET_COLUMNS)
		cap = WG_MAX_SHEET_COLUMNS;
	struct sheet_cell *c = wg_realloc(b->cells, cap * sizeof *c);
	if (!c)
		return WG_ERR_NOMEM;
	b->cells = c;
	size_t *o = wg_realloc(b->offsets, cap * sizeof *o);
	if (!o)
		return WG_ERR_NOMEM;
	b->offsets = o;
	b->cap = cap;
	return 0;
}

static int rowbuf_push(struct sheet_rowbuf *b, uint32_t col, const char *text, size_t len,
                       bool from_number, double number)
{
	int rc = rowbuf_grow(b, b->n + 1);
	if (rc)
		return rc;
	struct sheet_cell *c = &b->cells[b->n];
	b->offsets[b->n] = b->text.len;
	if (len)
		wg_buf_append(&b->text, text, len);
	wg_buf_putc(&b->text, '\0');
	if (b->text.err)
		return b->text.err;
	c->text = NULL;
	c->len = len;
	c->from_number = from_number;
	c->number = from_number ? number : 0;
	c->row = b->number;
	c->col = col;
	b->n++;
	return 0;
}

int sheet_rowbuf_add(struct sheet_reader *r, uint32_t col, const char *text, size_t len,
                     bool from_number, double number)
{
	struct sheet_rowbuf *b = &r->row;
	int rc;
	assert(col >= 1);
	if (len == 0 && !from_number)
		return 0; /* gaps and trailing blanks are filled or dropped anyway */
	if (col <= b->n)
		return sheet_fail(r, WG_ERR_VALIDATION, SHEET_FORMAT, b->number, col,
		                  "(同一单元格出现两次或顺序错误)", " (cell repeated or out of order)");
	if (col > WG_MAX_SHEET_COLUMNS)
		return sheet_fail(r, WG_ERR_TOO_LARGE, SHEET_TOO_MANY_COLUMNS, b->number, 0,
		                  "(最多1024列)", " (at most 1024)");
	if (len > WG_MAX_SHEET_CELL)
		return sheet_fail(r, WG_ERR_TOO_LARGE, SHEET_CELL_TOO_LONG, b->number, col,
		                  "(超过65536字节)", " (over 65536 bytes)");
	while (b->n + 1 < col) {
		rc = rowbuf_push(b, (uint32_t)b->n + 1, NULL, 0, false, 0);
		if (rc)
			goto fail;
	}
	rc = rowbuf_push(b, col, text, len, from_number, number);
	if (rc)
		goto fail;
	return 0;
fail:
	if (rc == WG_ERR_TOO_LARGE)
		return sheet_fail(r, rc, SHEET_ROW_TOO_LONG, b->number, 0, "(超过1MB)", " (over 1 MB)");
	return sheet_fail(r, rc, SHEET_NOMEM, b->number, 0, NULL, NULL);
}

/* Points the cells at their texts (the buffer may have moved while growing). */
void sheet_rowbuf_finish(struct sheet_rowbuf *b, struct sheet_row *row)
{
	while (b->n > 0 && b->cells[b->n - 1].len == 0 && !b->cells[b->n - 1].from_number)
		b->n--;
	for (size_t i = 0; i < b->n; i++)
		b->cells[i].text = b->text.data + b->offsets[i];
	row->end = false;
	row->number = b->number;
	row->n = b->n;
	row->cells = b->n ? b->cells : NULL;
}
