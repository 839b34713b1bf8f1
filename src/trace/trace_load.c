/* Loaders of the two input formats, from memory. Every record is checked as
 * trace_rec_make does; the first bad row (CSV, 1-based line number) or record
 * (binary, byte offset) is named in the diagnosis and nothing is returned. */
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "core/lib/mem.h"
#include "core/lib/parse.h"
#include "trace/trace_int.h"

#define CSV_SPLIT_MIN (8u << 20) /* below this one thread parses the file */
#define CSV_MAX_COLS  8

/* Each part on its own cache lines: the two threads bump their counters
 * once a row, and sharing a line would make every row a cache miss. */
struct csv_part {
	_Alignas(64) const char *data; /* whole input */
	size_t start, end;    /* byte range, starting at a line start */
	enum trace_kind kind;
	const struct trace_params *p;
	int64_t now;
	struct trace_rec *out;
	size_t n;
	uint64_t lines;       /* lines consumed */
	struct trace_diag diag;
	uint32_t max_len;
	int rc;
	bool sort;            /* sort the part after parsing it (same thread) */
	struct trace_rec *tmp; /* its radix scratch */
	struct trace_rec *res; /* the sorted part: out or tmp */
};

static bool is_space(char c) { return c == ' ' || c == '\t'; }

static void trim(const char **s, size_t *n)
{
	while (*n && is_space(**s)) {
		(*s)++;
		(*n)--;
	}
	while (*n && is_space((*s)[*n - 1]))
		(*n)--;
}

/* A decimal degree: optional sign, digits, optional fraction (<= 12 digits). */
static bool parse_degree(const char *s, size_t n, double *out)
{
	bool neg = false;
	uint64_t ip = 0, fp = 0, scale = 1;
	size_t i = 0, dot;

	if (n && (s[0] == '-' || s[0] == '+')) {
		neg = s[0] == '-';
		i = 1;
	}
	for (dot = i; dot < n && s[dot] != '.'; dot++)
		;
	if (dot == i || dot - i > 3 || !wg_parse_u64(s + i, dot - i, &ip))
		return false;
	if (dot < n) {
		size_t fl = n - dot - 1;
		if (fl == 0 || fl > 12 || !wg_parse_u64(s + dot + 1, fl, &fp))
			return false;
		for (size_t k = 0; k < fl; k++)
			scale *= 10;
	}
	*out = ((double)ip + (double)fp / (double)scale) * (neg ? -1.0 : 1.0);
	return true;
}

static int row_error(struct csv_part *c, int code, uint64_t row, size_t off, const char *what)
{
	c->rc = code;
	trace_diag_set(&c->diag, code, row, off, what);
	return code;
}

static int parse_row(struct csv_part *c, const char *line, size_t len, uint64_t row, size_t off)
{
	const char *f[CSV_MAX_COLS];
	size_t fl[CSV_MAX_COLS], nf = 0, want = c->kind == TRACE_SCAN ? 4 : 5;
	const char *s = line, *end = line + len;
	uint32_t person, place;
	int64_t t_in, t_out;
	int rc;

	for (;;) {
		const char *comma = memchr(s, ',', (size_t)(end - s));
		const char *fe = comma ? comma : end;
		if (nf == CSV_MAX_COLS)
			return row_error(c, TRACE_ERR_COLUMNS, row, off, "too many columns");
		f[nf] = s;
		fl[nf] = (size_t)(fe - s);
		trim(&f[nf], &fl[nf]);
		nf++;
		if (!comma)
			break;
		s = comma + 1;
	}
	if (nf != want) {
		char what[64];
		snprintf(what, sizeof(what), "expected %zu columns, got %zu", want, nf);
		return row_error(c, TRACE_ERR_COLUMNS, row, off, what);
	}
	if (!wg_parse_u32(f[0], fl[0], &person))
		return row_error(c, TRACE_ERR_NUMBER, row, off, "person");
	if (c->kind == TRACE_SCAN) {
		if (!wg_parse_u32(f[1], fl[1], &place))
			return row_error(c, TRACE_ERR_NUMBER, row, off, "venue");
	} else {
		double lat, lng;
		if (!parse_degree(f[1], fl[1], &lat))
			return row_error(c, TRACE_ERR_NUMBER, row, off, "lat");
		if (!parse_degree(f[2], fl[2], &lng))
			return row_error(c, TRACE_ERR_NUMBER, row, off, "lng");
		rc = trace_cell_of(lat, lng, c->p->cell_size_m, &place);
		if (rc)
			return row_error(c, rc, row, off, "lat,lng");
	}
	if (!wg_parse_i64(f[want - 2], fl[want - 2], &t_in))
		return row_error(c, TRACE_ERR_NUMBER, row, off, "t_in");
	if (!wg_parse_i64(f[want - 1], fl[want - 1], &t_out))
		return row_error(c, TRACE_ERR_NUMBER, row, off, "t_out");
	rc = trace_rec_make(person, place, t_in, t_out, c->now, trace_max_len(c->p, c->kind),
			    &c->out[c->n]);
	if (rc)
		return row_error(c, rc, row, off, rc == TRACE_ERR_TOO_LONG ? "t_out - t_in" : "t_out");
	c->n++;
	return TRACE_OK;
}

/* Up to maxd decimal digits; NULL when there are none or too many. */
static inline const char *fast_digits(const char *p, const char *end, int maxd, uint64_t *v)
{
	uint64_t x = 0;
	int n = 0;
	while (p < end && (unsigned)(*p - '0') < 10u) {
		if (n == maxd)
			return NULL;
		x = x * 10 + (uint64_t)(*p - '0');
		p++;
		n++;
	}
	if (n == 0)
		return NULL;
	*v = x;
	return p;
}

/* Eight bytes at a time (SWAR): a row's numbers take one or two loads
 * instead of a branch per digit. A byte is a digit when, less '0', it is
 * below 10; a non-digit byte can disturb only the bytes after it. */
#define SWAR_ZEROS 0x3030303030303030ull
#define SWAR_HIGH  0x8080808080808080ull
#define SWAR_ROW_MARGIN 80 /* bytes left in the part for the unchecked loads */

static inline uint64_t load8(const char *p)
{
	uint64_t w;
	memcpy(&w, p, 8);
	return w - SWAR_ZEROS;
}

/* Leading digits of a word from load8 (0..8). */
static inline unsigned digit_run(uint64_t v)
{
	uint64_t bad = ((v + 0x7676767676767676ull) | v) & SWAR_HIGH;
	return bad ? (unsigned)__builtin_ctzll(bad) / 8 : 8;
}

/* The value of the first n (1..8) digits of a word from load8. */
static inline uint64_t digits_value(uint64_t v, unsigned n)
{
	v <<= (8 - n) * 8; /* drop what follows; leading bytes become zeros */
	v = (v * 10 + (v >> 8)) & 0x00FF00FF00FF00FFull;
	v = (v * 100 + (v >> 16)) & 0x0000FFFF0000FFFFull;
	return (v * 10000 + (v >> 32)) & 0xFFFFFFFFull;
}

static const uint64_t pow10_8[9] = { 1, 10, 100, 1000, 10000, 100000, 1000000, 10000000, 100000000 };

/* fast_digits for a number with at least 16 readable bytes after it. */
static inline const char *swar_digits(const char *p, unsigned maxd, uint64_t *out)
{
	uint64_t v = load8(p), w;
	unsigned n = digit_run(v), m;

	if (n == 0)
		return NULL;
	if (n < 8) {
		*out = digits_value(v, n);
		return p + n;
	}
	w = load8(p + 8);
	m = digit_run(w);
	if (8 + m > maxd)
		return NULL;
	*out = digits_value(v, 8) * pow10_8[m] + (m ? digits_value(w, m) : 0);
	return p + 8 + m;
}

/* The common case of a scan row, "person,venue,t_in,t_out\n", in one pass.
 * Anything else (spaces, signs, errors) goes to parse_row, which names the
 * problem. On success *next is the start of the next line. */
static bool fast_scan_row(struct csv_part *c, size_t pos, size_t *next)
{
	const char *p = c->data + pos, *end = c->data + c->end;
	uint64_t v[4];
	int maxd[4] = { 10, 10, 12, 12 };
	bool room = end - p >= SWAR_ROW_MARGIN;

	for (int i = 0; i < 4; i++) {
		p = room ? swar_digits(p, (unsigned)maxd[i], &v[i]) : fast_digits(p, end, maxd[i], &v[i]);
		if (!p)
			return false;
		if (i < 3) {
			if (p == end || *p != ',')
				return false;
			p++;
		}
	}
	if (p < end && *p == '\r')
		p++;
	if (p < end) {
		if (*p != '\n')
			return false;
		p++;
	}
	if (v[0] > UINT32_MAX || v[1] > UINT32_MAX)
		return false;
	if (trace_rec_make((uint32_t)v[0], (uint32_t)v[1], (int64_t)v[2], (int64_t)v[3], c->now,
			   c->max_len, &c->out[c->n]) != TRACE_OK)
		return false;
	c->n++;
	*next = (size_t)(p - c->data);
	return true;
}

static bool is_header(const char *line, size_t len)
{
	return len > 0 && ((line[0] >= 'a' && line[0] <= 'z') || (line[0] >= 'A' && line[0] <= 'Z'));
}

static void *csv_run(void *arg)
{
	struct csv_part *c = arg;
	size_t pos = c->start;

	c->max_len = trace_max_len(c->p, c->kind);
	while (pos < c->end) {
		const char *line = c->data + pos;
		size_t fast_next;
		if (c->kind == TRACE_SCAN && fast_scan_row(c, pos, &fast_next)) {
			c->lines++;
			pos = fast_next;
			continue;
		}
		const char *nl = memchr(line, '\n', c->end - pos);
		size_t len = nl ? (size_t)(nl - line) : c->end - pos;
		size_t next = pos + len + (nl ? 1 : 0);
		uint64_t row = ++c->lines;

		if (pos == 0 && len >= 3 && memcmp(line, "\xEF\xBB\xBF", 3) == 0) {
			line += 3; /* UTF-8 byte order mark */
			len -= 3;
		}
		if (len && line[len - 1] == '\r')
			len--;
		if (!(len == 0 || (pos == 0 && is_header(line, len)))
		    && parse_row(c, line, len, row, pos))
			return NULL;
		pos = next;
	}
	return NULL;
}

/* Sorts a parsed part on the thread that parsed it, while its records are
 * the most recently written memory of that core. */
static void sort_part(struct csv_part *c)
{
	size_t bytes;

	/* a short part, or no scratch: trace_recs_sort_into sorts in place */
	if (c->n >= 64 && wg_size_mul(c->n, sizeof(*c->tmp), &bytes))
		c->tmp = wg_malloc(bytes);
	c->res = trace_recs_sort_into(c->out, c->tmp, c->n);
}

static void *csv_job(void *arg)
{
	struct csv_part *c = arg;
	csv_run(c);
	if (!c->rc && c->sort)
		sort_part(c);
	return NULL;
}

/* Parses data in two parts (two threads when it is large) into one new
 * array *out: part i's records start at part[i].out. The first bad row of
 * the file is put in diag and nothing is returned. */
static int parse_parts(const char *data, size_t len, enum trace_kind kind,
		       const struct trace_params *p, int64_t now, bool sort,
		       struct csv_part part[2], struct trace_rec **out, struct trace_diag *diag)
{
	size_t split = len, cap1, cap, bytes;
	pthread_t th;
	bool threaded = false;

	*out = NULL;
	if (len >= CSV_SPLIT_MIN) {
		const char *nl = memchr(data + len / 2, '\n', len - len / 2);
		split = nl ? (size_t)(nl - data) + 1 : len;
	}
	/* a row has at least 8 bytes; pages past the rows are never touched */
	cap1 = split / 8 + 1;
	cap = cap1 + (len - split) / 8 + 1;
	if (!wg_size_mul(cap, sizeof(**out), &bytes) || !(*out = wg_malloc(bytes)))
		return trace_diag_set(diag, TRACE_ERR_NOMEM, 0, 0, NULL);
	for (int i = 0; i < 2; i++) {
		memset(&part[i], 0, sizeof(part[i]));
		part[i].data = data;
		part[i].kind = kind;
		part[i].p = p;
		part[i].now = now;
		part[i].sort = sort;
	}
	part[0].start = 0;
	part[0].end = split;
	part[0].out = *out;
	part[1].start = split;
	part[1].end = len;
	part[1].out = *out + cap1;
	if (split < len)
		threaded = pthread_create(&th, NULL, csv_job, &part[1]) == 0;
	csv_job(&part[0]);
	if (threaded)
		pthread_join(th, NULL);
	else if (split < len)
		csv_job(&part[1]);
	if (part[0].rc || part[1].rc) {
		struct csv_part *bad = part[0].rc ? &part[0] : &part[1];
		if (bad == &part[1])
			bad->diag.row += part[0].lines;
		if (diag)
			*diag = bad->diag;
		for (int i = 0; i < 2; i++)
			wg_free(part[i].tmp);
		wg_free(*out);
		*out = NULL;
		return bad->rc;
	}
	return TRACE_OK;
}

int trace_parse_csv(const char *data, size_t len, enum trace_kind kind,
		    const struct trace_params *p, int64_t now,
		    struct trace_rec **recs, size_t *n, struct trace_diag *diag)
{
	struct csv_part part[2];
	struct trace_rec *out;
	int rc;

	*recs = NULL;
	*n = 0;
	rc = parse_parts(data, len, kind, p, now, false, part, &out, diag);
	if (rc)
		return rc;
	memmove(out + part[0].n, part[1].out, part[1].n * sizeof(*out));
	*recs = out;
	*n = part[0].n + part[1].n;
	return TRACE_OK;
}

int trace_csv_sorted(const char *data, size_t len, enum trace_kind kind,
		     const struct trace_params *p, int64_t now, struct trace_runs *b,
		     struct trace_diag *diag)
{
	struct csv_part part[2];
	int rc;

	memset(b, 0, sizeof(*b));
	rc = parse_parts(data, len, kind, p, now, true, part, &b->buf, diag);
	if (rc)
		return rc;
	for (int i = 0; i < 2; i++) {
		b->tmp[i] = part[i].tmp;
		b->r[i] = part[i].res;
		b->n[i] = part[i].n;
	}
	return TRACE_OK;
}

void trace_runs_free(struct trace_runs *b)
{
	wg_free(b->buf);
	wg_free(b->tmp[0]);
	wg_free(b->tmp[1]);
	memset(b, 0, sizeof(*b));
}

int trace_check_bin(uint8_t *data, size_t len, enum trace_kind *kind,
		    const struct trace_params *p, int64_t now,
		    struct trace_rec **recs, size_t *n, struct trace_diag *diag)
{
	struct trace_seg h;
	uint64_t sum, want;
	uint32_t flags, max_len;
	int rc;

	*recs = NULL;
	*n = 0;
	rc = trace_header_read(data, len, &h, &sum, &flags, diag);
	if (rc)
		return rc;
	want = h.count * sizeof(struct trace_rec) + TRACE_BIN_HEADER;
	if (len < want)
		return trace_diag_set(diag, TRACE_ERR_TRUNCATED, 0, len, "records");
	if (len > want)
		return trace_diag_set(diag, TRACE_ERR_FORMAT, 0, want, "trailing bytes");
	if (trace_checksum(data + TRACE_BIN_HEADER, len - TRACE_BIN_HEADER) != sum)
		return trace_diag_set(diag, TRACE_ERR_CORRUPT, 0, TRACE_BIN_HEADER, "records");
	max_len = trace_max_len(p, (enum trace_kind)h.kind);
	for (size_t i = 0; i < h.count; i++) {
		struct trace_rec r;
		memcpy(&r, data + TRACE_BIN_HEADER + i * sizeof(r), sizeof(r));
		rc = trace_check_rec(&r, now / 60, max_len);
		if (rc)
			return trace_diag_set(diag, rc, 0, TRACE_BIN_HEADER + i * sizeof(r), "record");
	}
	*kind = (enum trace_kind)h.kind;
	*recs = ((uintptr_t)data & 3) == 0 ? (struct trace_rec *)(void *)(data + TRACE_BIN_HEADER) : NULL;
	*n = (size_t)h.count;
	return TRACE_OK;
}

int trace_parse_bin(const uint8_t *data, size_t len, enum trace_kind *kind,
		    const struct trace_params *p, int64_t now,
		    struct trace_rec **recs, size_t *n, struct trace_diag *diag)
{
	struct trace_rec *view, *out;
	size_t count, bytes;
	int rc;

	*recs = NULL;
	*n = 0;
	/* checked in place (read only: trace_check_bin writes nothing) */
	rc = trace_check_bin((uint8_t *)(uintptr_t)data, len, kind, p, now, &view, &count, diag);
	if (rc)
		return rc;
	if (!wg_size_mul(count ? count : 1, sizeof(*out), &bytes) || !(out = wg_malloc(bytes)))
		return trace_diag_set(diag, TRACE_ERR_NOMEM, 0, 0, NULL);
	memcpy(out, data + TRACE_BIN_HEADER, count * sizeof(*out));
	*recs = out;
	*n = count;
	return TRACE_OK;
}
