/* Finding the header row of a sheet as offices make them (titles above it,
 * merged cells, notes, columns in any order, names in Chinese or English),
 * and the cell of a column in a row. */
#include "core/sheet/sheet_int.h"
#include "core/lib/err.h"
#include "core/lib/limits.h"
#include "core/lib/mem.h"

#include <stdio.h>
#include <string.h>

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
		rc = sheet_rows_fresh(r, &row);
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
		sheet_rows_forget(r);
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
