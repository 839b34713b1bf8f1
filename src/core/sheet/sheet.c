/* The format-independent half of the spreadsheet reader: format detection,
 * the row builder shared by the three formats, error messages, the Excel
 * "General" number format and header-row detection. */
#define SHEET_INTERNAL
#include "core/sheet/sheet.h"

#include "core/lib/err.h"
#include "core/lib/limits.h"
#include "core/lib/mem.h"

#include <assert.h>
#include <locale.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct sheet_saved_row {
	uint32_t number;
	size_t n;
	struct sheet_cell *cells;
	char *text;
};

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
static void rowbuf_finish(struct sheet_rowbuf *b, struct sheet_row *row)
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
                       struct sheet_reader **reader, struct sheet_error *err)
{
	struct sheet_reader *r = NULL;
	int rc = reader_new(&r, f, err);
	if (rc)
		return rc;
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
	return open_common(path, NULL, 0, sheet_detect(magic, got), reader, err);
}

int sheet_open_memory(const void *data, size_t len, struct sheet_reader **reader,
                      struct sheet_error *err)
{
	assert(reader && (data || len == 0));
	*reader = NULL;
	sheet_error_set(err, SHEET_OK, 0, NULL, NULL, NULL);
	if (!data)
		data = "";
	return open_common(NULL, data, len, sheet_detect(data, len), reader, err);
}

static void saved_release(struct sheet_reader *r)
{
	for (size_t i = 0; i < r->nsaved; i++) {
		wg_free(r->saved[i].cells);
		wg_free(r->saved[i].text);
	}
	wg_free(r->saved);
	r->saved = NULL;
	r->nsaved = r->saved_next = 0;
}

static void ahead_stop(struct sheet_reader *r);

void sheet_close(struct sheet_reader *r)
{
	if (!r)
		return;
	ahead_stop(r);
	if (r->ops && r->ops->close)
		r->ops->close(r);
	saved_release(r);
	sheet_rowbuf_release(&r->row);
	wg_free(r);
}

const struct sheet_error *sheet_last_error(const struct sheet_reader *r) { return &r->err; }
enum sheet_format sheet_reader_format(const struct sheet_reader *r) { return r->format; }
const char *sheet_reader_encoding(const struct sheet_reader *r) { return r->encoding; }

/* ---- reading rows ------------------------------------------------------ */

static void replay_row(struct sheet_reader *r, struct sheet_row *row)
{
	const struct sheet_saved_row *s = &r->saved[r->saved_next++];
	row->end = false;
	row->number = s->number;
	row->n = s->n;
	row->cells = s->cells;
}

/* The next row from the format itself, skipping blank rows. */
static int next_fresh(struct sheet_reader *r, struct sheet_row *row)
{
	for (;;) {
		bool got = false;
		sheet_rowbuf_clear(&r->row, 0);
		int rc = r->ops->next(r, &got);
		if (rc) {
			if (!r->failed)
				sheet_fail(r, rc, rc == WG_ERR_NOMEM ? SHEET_NOMEM : SHEET_FORMAT, 0, 0, NULL, NULL);
			return rc;
		}
		if (!got) {
			row->end = true;
			return 0;
		}
		rowbuf_finish(&r->row, row);
		if (row->n == 0)
			continue;
		if (++r->rows_read > WG_MAX_IMPORT_ROWS)
			return sheet_fail(r, WG_ERR_TOO_LARGE, SHEET_TOO_MANY_ROWS, row->number, 0,
			                  "(最多500万行)", " (at most 5,000,000)");
		return 0;
	}
}

static int failed_rc(const struct sheet_reader *r)
{
	switch (r->err.code) {
	case SHEET_NOMEM:
		return WG_ERR_NOMEM;
	case SHEET_IO:
		return WG_ERR_IO;
	case SHEET_TOO_LARGE: case SHEET_CELL_TOO_LONG: case SHEET_ROW_TOO_LONG:
	case SHEET_TOO_MANY_COLUMNS: case SHEET_TOO_MANY_ROWS:
		return WG_ERR_TOO_LARGE;
	default:
		return WG_ERR_VALIDATION;
	}
}

/* ---- reading ahead on a second thread ----
 *
 * The worker runs next_fresh() (the only code that touches r->row, r->err,
 * r->failed, r->rows_read and the format's state once it runs) and hands
 * each row over by swapping the reader's row buffer with a slot's, so no
 * text is copied. The caller holds one slot (its current row) until its next
 * call; the last slot (end or error) is never passed. */
#define AHEAD_SLOTS 32

struct ahead_slot {
	struct sheet_rowbuf buf;
	struct sheet_row row;
	int rc;
};

struct sheet_ahead {
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t changed;
	struct ahead_slot slot[AHEAD_SLOTS];
	struct sheet_prepare prep;
	size_t head, tail;   /* slots taken by the caller / filled by the worker */
	bool holding, stop, last_taken;
	/* Who sleeps on `changed`: a wake-up per row would cost more than the
	 * parsing it hides, so the worker is woken when half the slots are free
	 * and the caller only when it waits. */
	bool worker_waits;
	atomic_bool caller_waits;  /* also read without the lock, to leave a row unprepared */
};

static bool slot_is_last(const struct ahead_slot *s) { return s->rc != 0 || s->row.end; }

static void *ahead_run(void *arg)
{
	struct sheet_reader *r = arg;
	struct sheet_ahead *a = r->ahead;
	pthread_mutex_lock(&a->lock);
	for (;;) {
		/* one slot stays free for the row the caller holds */
		while (!a->stop && a->tail - a->head >= AHEAD_SLOTS - 1) {
			a->worker_waits = true;
			pthread_cond_wait(&a->changed, &a->lock);
			a->worker_waits = false;
		}
		if (a->stop)
			break;
		pthread_mutex_unlock(&a->lock);
		/* the caller has moved past what this slot held */
		struct ahead_slot *s = &a->slot[a->tail % AHEAD_SLOTS];
		if (s->row.prepared && a->prep.release)
			a->prep.release(s->row.prepared);
		s->row.prepared = NULL;
		struct sheet_row row;
		memset(&row, 0, sizeof row);
		int rc = next_fresh(r, &row);
		/* A caller waiting for rows means this thread is the slower one
		 * (a spreadsheet to unzip): the row goes over as it is, and the
		 * caller prepares it itself, so the two share the work. */
		if (rc == 0 && !row.end && a->prep.prepare && !atomic_load_explicit(&a->caller_waits, memory_order_relaxed))
			row.prepared = a->prep.prepare(a->prep.ctx, &row);
		/* The row's cells and texts live in r->row's memory, which moves to
		 * the slot as it is: the row stays valid there. */
		struct sheet_rowbuf swap = s->buf;
		s->buf = r->row;
		r->row = swap;
		s->rc = rc;
		s->row = row;
		pthread_mutex_lock(&a->lock);
		a->tail++;
		if (a->caller_waits)
			pthread_cond_broadcast(&a->changed);
		if (slot_is_last(s))
			break;
	}
	pthread_mutex_unlock(&a->lock);
	return NULL;
}

void sheet_read_ahead(struct sheet_reader *r, const struct sheet_prepare *prep)
{
	if (!r || r->ahead || r->failed)
		return;
	struct sheet_ahead *a = wg_calloc(1, sizeof *a);
	if (!a)
		return;
	for (size_t i = 0; i < AHEAD_SLOTS; i++)
		sheet_rowbuf_init(&a->slot[i].buf);
	if (prep)
		a->prep = *prep;
	pthread_mutex_init(&a->lock, NULL);
	pthread_cond_init(&a->changed, NULL);
	r->ahead = a;
	if (pthread_create(&a->thread, NULL, ahead_run, r) != 0) {
		r->ahead = NULL;
		pthread_mutex_destroy(&a->lock);
		pthread_cond_destroy(&a->changed);
		wg_free(a);
	}
}

static void ahead_stop(struct sheet_reader *r)
{
	struct sheet_ahead *a = r->ahead;
	if (!a)
		return;
	pthread_mutex_lock(&a->lock);
	a->stop = true;
	pthread_cond_broadcast(&a->changed);
	pthread_mutex_unlock(&a->lock);
	pthread_join(a->thread, NULL);
	for (size_t i = 0; i < AHEAD_SLOTS; i++) {
		if (a->slot[i].row.prepared && a->prep.release)
			a->prep.release(a->slot[i].row.prepared);
		sheet_rowbuf_release(&a->slot[i].buf);
	}
	pthread_mutex_destroy(&a->lock);
	pthread_cond_destroy(&a->changed);
	wg_free(a);
	r->ahead = NULL;
}

static int ahead_next(struct sheet_ahead *a, struct sheet_row *row)
{
	pthread_mutex_lock(&a->lock);
	if (a->holding && !a->last_taken) {
		a->head++;
		a->holding = false;
		if (a->worker_waits && a->tail - a->head <= AHEAD_SLOTS / 2)
			pthread_cond_broadcast(&a->changed);
	}
	while (a->head == a->tail) {
		a->caller_waits = true;
		pthread_cond_wait(&a->changed, &a->lock);
		a->caller_waits = false;
	}
	const struct ahead_slot *s = &a->slot[a->head % AHEAD_SLOTS];
	a->holding = true;
	a->last_taken = slot_is_last(s);
	pthread_mutex_unlock(&a->lock);
	*row = s->row;
	return s->rc;
}

int sheet_next_row(struct sheet_reader *r, struct sheet_row *row)
{
	assert(r && row);
	memset(row, 0, sizeof *row);
	/* (once reading ahead, the worker owns r->failed: its errors come in order through the slots) */
	if (!r->ahead && r->failed)
		return failed_rc(r);
	if (r->saved_next < r->nsaved) {
		replay_row(r, row);
		return 0;
	}
	if (r->nsaved)
		saved_release(r);
	return r->ahead ? ahead_next(r->ahead, row) : next_fresh(r, row);
}

/* ---- header detection -------------------------------------------------- */

static int32_t utf8_decode(const char *s, size_t n, size_t *i)
{
	const unsigned char *p = (const unsigned char *)s + *i;
	size_t left = n - *i;
	int len;
	int32_t cp;
	if (p[0] < 0x80) {
		*i += 1;
		return p[0];
	}
	if ((p[0] & 0xE0) == 0xC0)
		len = 2, cp = p[0] & 0x1F;
	else if ((p[0] & 0xF0) == 0xE0)
		len = 3, cp = p[0] & 0x0F;
	else if ((p[0] & 0xF8) == 0xF0)
		len = 4, cp = p[0] & 0x07;
	else
		len = 0, cp = 0;
	if (len == 0 || left < (size_t)len) {
		*i += 1;
		return 0xFFFD;
	}
	for (int k = 1; k < len; k++) {
		if ((p[k] & 0xC0) != 0x80) {
			*i += 1;
			return 0xFFFD;
		}
		cp = (cp << 6) | (p[k] & 0x3F);
	}
	*i += (size_t)len;
	return cp;
}

static int put_utf8(wg_buf *b, int32_t cp)
{
	char o[4];
	size_t n;
	if (cp < 0x80) {
		o[0] = (char)cp, n = 1;
	} else if (cp < 0x800) {
		o[0] = (char)(0xC0 | (cp >> 6)), o[1] = (char)(0x80 | (cp & 0x3F)), n = 2;
	} else if (cp < 0x10000) {
		o[0] = (char)(0xE0 | (cp >> 12)), o[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
		o[2] = (char)(0x80 | (cp & 0x3F)), n = 3;
	} else {
		o[0] = (char)(0xF0 | (cp >> 18)), o[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
		o[2] = (char)(0x80 | ((cp >> 6) & 0x3F)), o[3] = (char)(0x80 | (cp & 0x3F)), n = 4;
	}
	return wg_buf_append(b, o, n);
}

int sheet_header_normalise(const char *s, size_t n, wg_buf *out)
{
	int depth = 0;
	wg_buf_reset(out);
	for (size_t i = 0; i < n;) {
		int32_t cp = utf8_decode(s, n, &i);
		if (cp >= 0xFF01 && cp <= 0xFF5E)
			cp = cp - 0xFF01 + 0x21;
		if (cp == 0x3010)
			cp = '[';
		if (cp == 0x3011)
			cp = ']';
		if (cp == '(' || cp == '[') {
			depth++;
			continue;
		}
		if ((cp == ')' || cp == ']') && depth > 0) {
			depth--;
			continue;
		}
		if (depth > 0)
			continue;
		if (cp == ' ' || cp == '\t' || cp == '\r' || cp == '\n' || cp == 0x3000 || cp == 0xA0 ||
		    cp == 0xFEFF || cp == '*' || cp == '_' || cp == '-' || cp == ':')
			continue;
		if (cp >= 'A' && cp <= 'Z')
			cp += 'a' - 'A';
		int rc = put_utf8(out, cp);
		if (rc)
			return rc;
	}
	if (out->err)
		return out->err;
	return out->data ? 0 : wg_buf_append(out, "", 0);
}

struct spec_names {
	size_t count;      /* total names over all specs */
	size_t *spec_of;   /* name index → spec index */
	char **norm;       /* normalised names */
};

static void spec_names_release(struct spec_names *sn)
{
	for (size_t i = 0; i < sn->count; i++)
		wg_free(sn->norm[i]);
	wg_free(sn->norm);
	wg_free(sn->spec_of);
	memset(sn, 0, sizeof *sn);
}

static int spec_names_build(const struct sheet_column_spec *specs, size_t nspecs, struct spec_names *sn)
{
	wg_buf b = WG_BUF_INIT(WG_MAX_STRING_FIELD);
	size_t total = 0;
	int rc = WG_ERR_NOMEM;
	memset(sn, 0, sizeof *sn);
	for (size_t k = 0; k < nspecs; k++)
		for (size_t j = 0; specs[k].names && specs[k].names[j]; j++)
			total++;
	sn->norm = wg_calloc(total ? total : 1, sizeof *sn->norm);
	sn->spec_of = wg_calloc(total ? total : 1, sizeof *sn->spec_of);
	if (!sn->norm || !sn->spec_of)
		goto out;
	for (size_t k = 0; k < nspecs; k++) {
		for (size_t j = 0; specs[k].names && specs[k].names[j]; j++) {
			const char *name = specs[k].names[j];
			rc = sheet_header_normalise(name, strlen(name), &b);
			if (rc)
				goto out;
			sn->norm[sn->count] = wg_strdup(b.data ? b.data : "");
			if (!sn->norm[sn->count]) {
				rc = WG_ERR_NOMEM;
				goto out;
			}
			sn->spec_of[sn->count++] = k;
		}
	}
	rc = 0;
out:
	wg_buf_release(&b);
	if (rc)
		spec_names_release(sn);
	return rc;
}

/* Spec index matching a header cell, or -1. */
static int match_header(const struct spec_names *sn, const struct sheet_cell *c, wg_buf *tmp, int *rc)
{
	*rc = sheet_header_normalise(c->text, c->len, tmp);
	if (*rc || tmp->len == 0)
		return -1;
	for (size_t i = 0; i < sn->count; i++)
		if (strcmp(sn->norm[i], tmp->data) == 0)
			return (int)sn->spec_of[i];
	return -1;
}

static int save_row(struct sheet_reader *r, const struct sheet_row *row, size_t cap)
{
	size_t total = 0;
	struct sheet_saved_row *s;
	if (!r->saved) {
		r->saved = wg_calloc(cap, sizeof *r->saved);
		if (!r->saved)
			return WG_ERR_NOMEM;
	}
	assert(r->nsaved < cap);
	s = &r->saved[r->nsaved];
	for (size_t i = 0; i < row->n; i++)
		total += row->cells[i].len + 1;
	s->text = wg_malloc(total ? total : 1);
	s->cells = wg_calloc(row->n ? row->n : 1, sizeof *s->cells);
	if (!s->text || !s->cells) {
		wg_free(s->text);
		wg_free(s->cells);
		s->text = NULL;
		s->cells = NULL;
		return WG_ERR_NOMEM;
	}
	size_t off = 0;
	for (size_t i = 0; i < row->n; i++) {
		s->cells[i] = row->cells[i];
		memcpy(s->text + off, row->cells[i].text, row->cells[i].len + 1);
		s->cells[i].text = s->text + off;
		off += row->cells[i].len + 1;
	}
	s->number = row->number;
	s->n = row->n;
	r->nsaved++;
	return 0;
}

static void header_score(const struct spec_names *sn, const struct sheet_column_spec *specs,
                         size_t nspecs, const struct sheet_row *row, bool *seen, wg_buf *tmp,
                         size_t *req, size_t *all, int *rc)
{
	*req = *all = 0;
	memset(seen, 0, nspecs * sizeof *seen);
	for (size_t i = 0; i < row->n && !*rc; i++) {
		int k = match_header(sn, &row->cells[i], tmp, rc);
		if (k < 0 || seen[k])
			continue;
		seen[k] = true;
		(*all)++;
		if (specs[k].required)
			(*req)++;
	}
}

static int add_note(struct sheet_header *h, int code, uint32_t row, const char *column,
                    const char *dzh, const char *den)
{
	struct sheet_error *n = wg_realloc(h->notes, (h->nnotes + 1) * sizeof *n);
	if (!n)
		return WG_ERR_NOMEM;
	h->notes = n;
	sheet_error_set(&n[h->nnotes++], code, row, column, dzh, den);
	return 0;
}

/* Fills h->column from the chosen header row and notes what is odd about it. */
static int header_map(const struct spec_names *sn, const struct sheet_column_spec *specs, size_t nspecs,
                      const struct sheet_row *row, struct sheet_header *h, wg_buf *tmp)
{
	char col[8], dzh[160], den[160];
	int rc = 0;
	for (size_t k = 0; k < nspecs; k++)
		h->column[k] = -1;
	for (size_t i = 0; i < row->n; i++) {
		int k = match_header(sn, &row->cells[i], tmp, &rc);
		if (rc)
			return rc;
		sheet_column_name((uint32_t)i + 1, col);
		if (k < 0) {
			if (tmp->len == 0)
				continue;
			snprintf(dzh, sizeof dzh, ":“%.120s”", row->cells[i].text);
			snprintf(den, sizeof den, ": \"%.120s\"", row->cells[i].text);
			rc = add_note(h, SHEET_HEADER_UNKNOWN, row->number, col, dzh, den);
		} else if (h->column[k] >= 0) {
			snprintf(dzh, sizeof dzh, ":“%.120s”", row->cells[i].text);
			snprintf(den, sizeof den, ": \"%.120s\" (%s)", row->cells[i].text, specs[k].key);
			rc = add_note(h, SHEET_HEADER_DUPLICATE, row->number, col, dzh, den);
		} else {
			h->column[k] = (int)i;
		}
		if (rc)
			return rc;
	}
	return 0;
}

static int header_missing(const struct sheet_column_spec *specs, size_t nspecs, struct sheet_header *h,
                          struct sheet_error *err)
{
	wg_buf zh = WG_BUF_INIT(200), en = WG_BUF_INIT(200);
	int rc = 0;
	for (size_t k = 0; k < nspecs && !rc; k++) {
		if (!specs[k].required || h->column[k] >= 0)
			continue;
		const char *shown = specs[k].names && specs[k].names[0] ? specs[k].names[0] : specs[k].key;
		char dzh[160], den[160];
		snprintf(dzh, sizeof dzh, ":%s", shown);
		snprintf(den, sizeof den, ": %s (%s)", shown, specs[k].key);
		rc = add_note(h, SHEET_HEADER_MISSING, h->row, NULL, dzh, den);
		h->nmissing++;
		wg_buf_printf(&zh, "%s%s", h->nmissing > 1 ? "、" : ":", shown);
		wg_buf_printf(&en, "%s%s (%s)", h->nmissing > 1 ? ", " : ": ", shown, specs[k].key);
	}
	if (!rc && h->nmissing) {
		sheet_error_set(err, SHEET_HEADER_MISSING, h->row, NULL, zh.data ? zh.data : "",
		                en.data ? en.data : "");
		rc = WG_ERR_VALIDATION;
	}
	wg_buf_release(&zh);
	wg_buf_release(&en);
	return rc;
}

int sheet_find_header(struct sheet_reader *r, const struct sheet_column_spec *specs, size_t nspecs,
                      struct sheet_header *h, struct sheet_error *err)
{
	struct spec_names sn;
	wg_buf tmp = WG_BUF_INIT(WG_MAX_SHEET_CELL * 4);
	bool *seen = NULL;
	struct sheet_row row;
	size_t best_req = 0, best_all = 0, best = SIZE_MAX, scanned = 0;
	int rc;
	assert(r && specs && h);
	memset(h, 0, sizeof *h);
	sheet_error_set(err, SHEET_OK, 0, NULL, NULL, NULL);
	rc = spec_names_build(specs, nspecs, &sn);
	if (rc)
		return rc;
	rc = WG_ERR_NOMEM;
	seen = wg_calloc(nspecs ? nspecs : 1, sizeof *seen);
	h->column = wg_calloc(nspecs ? nspecs : 1, sizeof *h->column);
	if (!seen || !h->column)
		goto out;
	h->nspecs = nspecs;
	if (r->failed || r->nsaved || r->rows_read) {
		rc = WG_ERR_INTERNAL; /* only right after opening */
		goto out;
	}
	while (scanned < SHEET_HEADER_SCAN_ROWS) {
		rc = next_fresh(r, &row);
		if (rc) {
			if (err)
				*err = r->err;
			goto out;
		}
		if (row.end)
			break;
		size_t req, all;
		header_score(&sn, specs, nspecs, &row, seen, &tmp, &req, &all, &rc);
		if (rc)
			goto out;
		if (req > best_req || (req == best_req && all > best_all)) {
			best_req = req, best_all = all, best = scanned;
		}
		rc = save_row(r, &row, SHEET_HEADER_SCAN_ROWS);
		if (rc)
			goto out;
		scanned++;
	}
	if (best == SIZE_MAX) {
		char dzh[200], den[200];
		const char *first = nspecs && specs[0].names && specs[0].names[0] ? specs[0].names[0] : "";
		snprintf(dzh, sizeof dzh, "(前%u行中没有一行包含“%s”等列名)", SHEET_HEADER_SCAN_ROWS, first);
		snprintf(den, sizeof den, " (none of the first %u rows has column names such as \"%s\")",
		         SHEET_HEADER_SCAN_ROWS, first);
		sheet_error_set(err, SHEET_HEADER_NOT_FOUND, 0, NULL, dzh, den);
		saved_release(r);
		rc = WG_ERR_VALIDATION;
		goto out;
	}
	/* The header row itself: map it, then replay only the rows after it. */
	struct sheet_row hdr = { false, r->saved[best].number, r->saved[best].n, r->saved[best].cells, NULL };
	h->row = hdr.number;
	rc = header_map(&sn, specs, nspecs, &hdr, h, &tmp);
	if (rc)
		goto out;
	r->saved_next = best + 1;
	rc = header_missing(specs, nspecs, h, err);
out:
	spec_names_release(&sn);
	wg_buf_release(&tmp);
	wg_free(seen);
	return rc;
}

void sheet_header_release(struct sheet_header *h)
{
	if (!h)
		return;
	wg_free(h->column);
	wg_free(h->notes);
	memset(h, 0, sizeof *h);
}

const struct sheet_cell *sheet_row_cell(const struct sheet_row *row, const struct sheet_header *h,
                                        size_t k)
{
	static const struct sheet_cell empty = { "", 0, false, 0, 0, 0 };
	if (k >= h->nspecs || h->column[k] < 0)
		return NULL;
	if ((size_t)h->column[k] >= row->n)
		return &empty;
	return &row->cells[h->column[k]];
}
