/* Errors, defaults, the packed record and its order, checksums, cells. */
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/lib/mem.h"
#include "trace/trace_int.h"

struct trace_err_text {
	const char *zh;
	const char *en;
};

static const struct trace_err_text err_text[] = {
#define TRACE_ERR_ROW(name, zh, en) { zh, en },
	TRACE_ERRORS(TRACE_ERR_ROW)
#undef TRACE_ERR_ROW
};

static const struct trace_err_text *err_info(int err)
{
	if (err < 0 || err >= TRACE_ERR__COUNT)
		err = TRACE_ERR_FORMAT;
	return &err_text[err];
}

const char *trace_err_zh(int err) { return err_info(err)->zh; }
const char *trace_err_en(int err) { return err_info(err)->en; }

int trace_diag_set(struct trace_diag *d, int code, uint64_t row, uint64_t offset, const char *what)
{
	if (d) {
		d->code = code;
		d->row = row;
		d->offset = offset;
		d->what[0] = '\0';
		if (what) {
			size_t n = strlen(what);
			if (n >= sizeof(d->what))
				n = sizeof(d->what) - 1;
			memcpy(d->what, what, n);
			d->what[n] = '\0';
		}
	}
	return code;
}

void trace_params_default(struct trace_params *p)
{
	p->retention_days = 28;
	p->max_stay_min = 120;
	p->max_dwell_min = 1440;
	p->cell_size_m = 800;
	p->log_fold_records = 1000000;
	p->log_fold_seconds = 3600;
}

static void (*warn_fn)(const char *msg);

void trace_set_warn(void (*fn)(const char *msg))
{
	warn_fn = fn;
}

void trace_warn(const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (warn_fn)
		warn_fn(msg);
	else
		fprintf(stderr, "wangge: %s\n", msg);
}

void trace_rule_default(struct trace_rule *r)
{
	memset(r, 0, sizeof(*r));
	r->buffer_min = 30;
	r->lookback_days = 14;
	r->max_stay_min = 0;
	r->min_overlap_min = 0;
	r->mode = TRACE_TIME_ORDERED;
	r->comp_overlap_min = 10;
	r->comp_dwell_limit_min = 30 * 60;
	r->comp_dwell_days = 14;
	r->threads = 0;
}

uint32_t trace_max_len(const struct trace_params *p, enum trace_kind kind)
{
	return kind == TRACE_SCAN ? p->max_stay_min : p->max_dwell_min;
}

void trace_result_free(struct trace_result *r)
{
	if (!r)
		return;
	wg_free(r->hits);
	r->hits = NULL;
	r->n = 0;
}

/* ---- packed records ---------------------------------------------------- */

int trace_check_rec(const struct trace_rec *r, int64_t now_min, uint32_t max_min)
{
	if (r->zero != 0)
		return TRACE_ERR_FORMAT;
	if (r->dur > max_min + 1u)
		return TRACE_ERR_TOO_LONG;
	if ((int64_t)r->t_min + r->dur > now_min + 1)
		return TRACE_ERR_FUTURE;
	return TRACE_OK;
}

int trace_rec_make(uint32_t person, uint32_t place, int64_t t_in, int64_t t_out,
		   int64_t now, uint32_t max_min, struct trace_rec *out)
{
	int64_t a, b;

	if (t_in < 0 || t_out < 0 || t_in > (int64_t)UINT32_MAX * 60 - 60 * 70000
	    || t_out > (int64_t)UINT32_MAX * 60 - 60 * 70000)
		return TRACE_ERR_TIME_RANGE;
	if (t_out < t_in)
		return TRACE_ERR_TIME_ORDER;
	if (t_out > now)
		return TRACE_ERR_FUTURE;
	if (t_out - t_in > (int64_t)max_min * 60)
		return TRACE_ERR_TOO_LONG;
	a = t_in / 60;
	b = (t_out + 59) / 60;
	if (b - a > UINT16_MAX)
		return TRACE_ERR_TOO_LONG;
	out->person = person;
	out->place = place;
	out->t_min = (uint32_t)a;
	out->dur = (uint16_t)(b - a);
	out->zero = 0;
	return TRACE_OK;
}

int trace_rec_cmp(const struct trace_rec *a, const struct trace_rec *b)
{
	return trace_rec_order(a, b);
}

bool trace_recs_sorted(const struct trace_rec *r, size_t n)
{
	for (size_t i = 1; i < n; i++)
		if (trace_rec_cmp(&r[i - 1], &r[i]) > 0)
			return false;
	return true;
}

static inline uint64_t rec_key(const struct trace_rec *r)
{
	return (uint64_t)r->place << 32 | r->t_min;
}

static void sort_ties(struct trace_rec *r, size_t n)
{
	size_t i = 0;
	while (i < n) {
		size_t j = i + 1;
		uint64_t k = rec_key(&r[i]);
		while (j < n && rec_key(&r[j]) == k)
			j++;
		for (size_t x = i + 1; x < j; x++) {
			struct trace_rec v = r[x];
			size_t y = x;
			while (y > i && trace_rec_cmp(&r[y - 1], &v) > 0) {
				r[y] = r[y - 1];
				y--;
			}
			r[y] = v;
		}
		i = j;
	}
}

static int rec_qsort_cmp(const void *a, const void *b)
{
	return trace_rec_cmp(a, b);
}

/* In place, without scratch memory. */
static void plain_sort(struct trace_rec *r, size_t n)
{
	qsort(r, n, sizeof(*r), rec_qsort_cmp);
}

/* The sort key (place, t_min) squeezed into the bits the batch needs:
 * (place - min place) above (t_min - min t_min). */
struct sort_key {
	uint32_t min_place, min_t;
	unsigned tbits, bits;
};

static unsigned bits_for(uint64_t v)
{
	unsigned b = 0;
	while (b < 64 && (v >> b) != 0)
		b++;
	return b;
}

static inline uint64_t sort_key_of(const struct sort_key *k, const struct trace_rec *r)
{
	return (uint64_t)(r->place - k->min_place) << k->tbits | (uint64_t)(r->t_min - k->min_t);
}

#define RADIX_BITS 11u
#define RADIX_SIZE (1u << RADIX_BITS)

/* LSD radix sort of src[0..n) by the squeezed key, 11 bits a pass, using dst
 * as the other buffer. Returns the buffer that holds the result. */
static struct trace_rec *radix_range(const struct sort_key *k, struct trace_rec *src,
				     struct trace_rec *dst, size_t n)
{
	size_t *count = wg_malloc(RADIX_SIZE * sizeof(size_t));

	if (!count)
		return NULL;
	for (unsigned shift = 0; shift < k->bits; shift += RADIX_BITS) {
		size_t sum = 0;
		memset(count, 0, RADIX_SIZE * sizeof(size_t));
		for (size_t i = 0; i < n; i++)
			count[sort_key_of(k, &src[i]) >> shift & (RADIX_SIZE - 1)]++;
		for (size_t b = 0; b < RADIX_SIZE; b++) {
			size_t c = count[b];
			count[b] = sum;
			sum += c;
		}
		for (size_t i = 0; i < n; i++)
			dst[count[sort_key_of(k, &src[i]) >> shift & (RADIX_SIZE - 1)]++] = src[i];
		struct trace_rec *sw = src;
		src = dst;
		dst = sw;
	}
	wg_free(count);
	return src;
}

struct radix_job {
	const struct sort_key *k;
	struct trace_rec *r, *tmp, *out;
	size_t n;
};

static void *radix_job_run(void *arg)
{
	struct radix_job *j = arg;
	j->out = radix_range(j->k, j->r, j->tmp, j->n);
	return NULL;
}

#define SORT_PARALLEL_MIN (1u << 20)

/* Merges the sorted runs a[0..na) and b[0..nb) into out (stable: a first). */
static void merge_runs(const struct sort_key *k, const struct trace_rec *a, size_t na,
		       const struct trace_rec *b, size_t nb, struct trace_rec *out)
{
	size_t i = 0, j = 0, o = 0;
	while (i < na && j < nb)
		out[o++] = sort_key_of(k, &b[j]) < sort_key_of(k, &a[i]) ? b[j++] : a[i++];
	while (i < na)
		out[o++] = a[i++];
	while (j < nb)
		out[o++] = b[j++];
}

/* The squeezed key of a batch: one pass for the ranges of place and t_min. */
static void sort_key_init(struct sort_key *k, const struct trace_rec *r, size_t n)
{
	uint32_t max_place = 0, max_t = 0;

	k->min_place = UINT32_MAX;
	k->min_t = UINT32_MAX;
	for (size_t i = 0; i < n; i++) {
		if (r[i].place < k->min_place)
			k->min_place = r[i].place;
		if (r[i].place > max_place)
			max_place = r[i].place;
		if (r[i].t_min < k->min_t)
			k->min_t = r[i].t_min;
		if (r[i].t_min > max_t)
			max_t = r[i].t_min;
	}
	k->tbits = bits_for(max_t - k->min_t);
	k->bits = k->tbits + bits_for(max_place - k->min_place);
}

/* Sorts by (place, t_in, person, dur): a radix sort on (place, t_in) -- two
 * halves on two threads, then merged, when the batch is large -- then the
 * short runs of equal keys by (person, dur). Falls back to an in-place
 * qsort when scratch memory cannot be had. */
void trace_recs_sort(struct trace_rec *r, size_t n)
{
	struct sort_key k;
	struct trace_rec *tmp = NULL, *res0, *res1;
	size_t bytes, h = n / 2;

	if (n < 2 || trace_recs_sorted(r, n))
		return;
	if (n < 64 || !wg_size_mul(n, sizeof(*r), &bytes) || !(tmp = wg_malloc(bytes)))
		goto slow;
	sort_key_init(&k, r, n);
	if (n < SORT_PARALLEL_MIN) {
		res0 = radix_range(&k, r, tmp, n);
		if (!res0)
			goto slow;
		if (res0 != r)
			memcpy(r, res0, bytes);
	} else {
		struct radix_job job = { &k, r, tmp, NULL, h };
		pthread_t th;
		bool threaded = pthread_create(&th, NULL, radix_job_run, &job) == 0;
		if (!threaded)
			radix_job_run(&job);
		res1 = radix_range(&k, r + h, tmp + h, n - h);
		if (threaded)
			pthread_join(th, NULL);
		res0 = job.out;
		if (!res0 || !res1)
			goto slow;
		/* both halves made the same number of passes: same buffer */
		if (res0 == r) {
			merge_runs(&k, r, h, r + h, n - h, tmp);
			memcpy(r, tmp, bytes);
		} else {
			merge_runs(&k, tmp, h, tmp + h, n - h, r);
		}
	}
	wg_free(tmp);
	sort_ties(r, n);
	return;
slow:
	wg_free(tmp);
	plain_sort(r, n);
}

/* One thread's sort for a caller that already runs one per core: tmp (n
 * records, may be NULL) is the radix scratch, and the result is left in
 * whichever of r and tmp the last pass wrote, so nothing is copied back. */
struct trace_rec *trace_recs_sort_into(struct trace_rec *r, struct trace_rec *tmp, size_t n)
{
	struct sort_key k;
	struct trace_rec *res = NULL;

	if (n < 2 || trace_recs_sorted(r, n))
		return r;
	if (tmp && n >= 64) {
		sort_key_init(&k, r, n);
		res = radix_range(&k, r, tmp, n);
	}
	if (!res) {
		plain_sort(r, n);
		return r;
	}
	sort_ties(res, n);
	return res;
}

/* Drops adjacent duplicates; writes nothing before the first one. */
size_t trace_recs_unique(struct trace_rec *r, size_t n)
{
	size_t w = 0;
	for (size_t i = 0; i < n; i++) {
		if (w > 0 && trace_rec_cmp(&r[w - 1], &r[i]) == 0)
			continue;
		if (w != i)
			r[w] = r[i];
		w++;
	}
	return w;
}

/* ---- checksum: four 64-bit lanes, 32 bytes a step ----------------------- */

#define CK_P1 0x9E3779B185EBCA87ull
#define CK_P2 0xC2B2AE3D27D4EB4Full
#define CK_P3 0x165667B19E3779F9ull

static inline uint64_t rotl64(uint64_t x, int r) { return x << r | x >> (64 - r); }

static inline uint64_t ck_lane(uint64_t acc, uint64_t w)
{
	acc += w * CK_P2;
	acc = rotl64(acc, 31);
	return acc * CK_P1;
}

uint64_t trace_checksum(const void *data, size_t len)
{
	const uint8_t *p = data;
	uint64_t l0 = CK_P1 + CK_P2, l1 = CK_P2, l2 = 0, l3 = (uint64_t)0 - CK_P1;
	uint64_t h;
	size_t i = 0;

	for (; i + 32 <= len; i += 32) {
		uint64_t w[4];
		memcpy(w, p + i, 32);
		l0 = ck_lane(l0, w[0]);
		l1 = ck_lane(l1, w[1]);
		l2 = ck_lane(l2, w[2]);
		l3 = ck_lane(l3, w[3]);
	}
	h = rotl64(l0, 1) + rotl64(l1, 7) + rotl64(l2, 12) + rotl64(l3, 18) + (uint64_t)len;
	for (; i < len; i++)
		h = rotl64(h ^ (p[i] * CK_P3), 11) * CK_P1;
	h ^= h >> 33;
	h *= CK_P2;
	h ^= h >> 29;
	h *= CK_P3;
	h ^= h >> 32;
	return h;
}

/* ---- binary header ------------------------------------------------------ */

static void put32(uint8_t *p, uint32_t v) { memcpy(p, &v, 4); }
static void put64(uint8_t *p, uint64_t v) { memcpy(p, &v, 8); }
static uint32_t get32(const uint8_t *p) { uint32_t v; memcpy(&v, p, 4); return v; }
static uint64_t get64(const uint8_t *p) { uint64_t v; memcpy(&v, p, 8); return v; }

void trace_header_fill(uint8_t hdr[TRACE_BIN_HEADER], uint32_t kind, uint64_t count,
		       uint32_t min_t, uint32_t max_t, uint64_t sum, uint32_t flags, uint64_t payload,
		       uint32_t log_gen)
{
	memset(hdr, 0, TRACE_BIN_HEADER);
	memcpy(hdr, TRACE_MAGIC, 8);
	put32(hdr + 8, TRACE_VERSION);
	put32(hdr + 12, kind);
	put64(hdr + 16, count);
	put32(hdr + 24, min_t);
	put32(hdr + 28, max_t);
	put64(hdr + 32, sum);
	put32(hdr + 40, flags);
	put64(hdr + 44, payload);
	put32(hdr + 52, log_gen);
	put64(hdr + 56, trace_checksum(hdr, 56));
}

void trace_recs_span(const struct trace_rec *recs, size_t n, uint32_t *min_t, uint32_t *max_t)
{
	*min_t = n ? UINT32_MAX : 0;
	*max_t = 0;
	for (size_t i = 0; i < n; i++) {
		uint32_t end = recs[i].t_min + recs[i].dur;
		if (recs[i].t_min < *min_t)
			*min_t = recs[i].t_min;
		if (end > *max_t)
			*max_t = end;
	}
}

int trace_bin_header(uint8_t hdr[TRACE_BIN_HEADER], enum trace_kind kind,
		     const struct trace_rec *recs, size_t n, bool sorted)
{
	uint32_t min_t, max_t;

	trace_recs_span(recs, n, &min_t, &max_t);
	trace_header_fill(hdr, (uint32_t)kind, n, min_t, max_t, trace_checksum(recs, n * sizeof(*recs)),
			  sorted ? TRACE_FLAG_SORTED : 0, (uint64_t)n * sizeof(*recs), 0);
	return TRACE_OK;
}

int trace_header_read(const uint8_t *hdr, size_t len, struct trace_seg *seg, uint64_t *sum,
		      uint32_t *flags, struct trace_diag *d)
{
	if (len < TRACE_BIN_HEADER)
		return trace_diag_set(d, TRACE_ERR_TRUNCATED, 0, len, "header");
	if (memcmp(hdr, TRACE_MAGIC, 8) != 0)
		return trace_diag_set(d, TRACE_ERR_FORMAT, 0, 0, "magic");
	if (get64(hdr + 56) != trace_checksum(hdr, 56))
		return trace_diag_set(d, TRACE_ERR_CORRUPT, 0, 56, "header");
	if (get32(hdr + 8) != TRACE_VERSION)
		return trace_diag_set(d, TRACE_ERR_FORMAT, 0, 8, "version");
	seg->kind = get32(hdr + 12);
	if (seg->kind > TRACE_CELL)
		return trace_diag_set(d, TRACE_ERR_FORMAT, 0, 12, "kind");
	seg->count = get64(hdr + 16);
	if (seg->count > TRACE_MAX_RECS)
		return trace_diag_set(d, TRACE_ERR_TOO_LARGE, 0, 16, "count");
	seg->min_t = get32(hdr + 24);
	seg->max_t = get32(hdr + 28);
	*sum = get64(hdr + 32);
	*flags = get32(hdr + 40);
	seg->flags = *flags;
	seg->payload = get64(hdr + 44);
	seg->log_gen = *flags & TRACE_FLAG_LOG ? get32(hdr + 52) : 0;
	if (!(*flags & TRACE_FLAG_PACKED)) {
		/* raw records: the length may be left 0 by a writer */
		if (seg->payload == 0)
			seg->payload = seg->count * sizeof(struct trace_rec);
		if (seg->payload != seg->count * sizeof(struct trace_rec))
			return trace_diag_set(d, TRACE_ERR_FORMAT, 0, 44, "payload length");
	}
	if (seg->payload > (uint64_t)1 << 46)
		return trace_diag_set(d, TRACE_ERR_TOO_LARGE, 0, 44, "payload length");
	return TRACE_OK;
}

/* ---- cells -------------------------------------------------------------- */

#define CELL_LAT_MIN   0.0
#define CELL_LAT_MAX   60.0
#define CELL_LNG_MIN   70.0
#define CELL_LNG_MAX   140.0
#define METRES_PER_DEG 111320.0

/* Rows are bands of cell_size metres of latitude; in each band the columns are
 * cell_size metres of longitude measured at the band's centre, so a cell is
 * close to cell_size x cell_size everywhere. id = row * 2^16 + column. */
int trace_cell_of(double lat, double lng, uint32_t cell_size_m, uint32_t *cell)
{
	double size = cell_size_m, row, centre, col;

	if (cell_size_m < 200 || cell_size_m > 100000)
		return TRACE_ERR_PARAM;
	if (!(lat >= CELL_LAT_MIN && lat < CELL_LAT_MAX && lng >= CELL_LNG_MIN && lng < CELL_LNG_MAX))
		return TRACE_ERR_COORD;
	row = floor((lat - CELL_LAT_MIN) * METRES_PER_DEG / size);
	centre = CELL_LAT_MIN + (row + 0.5) * size / METRES_PER_DEG;
	col = floor((lng - CELL_LNG_MIN) * METRES_PER_DEG * cos(centre * M_PI / 180.0) / size);
	if (row < 0 || row >= 65536 || col < 0 || col >= 65536)
		return TRACE_ERR_COORD;
	*cell = (uint32_t)row << 16 | (uint32_t)col;
	return TRACE_OK;
}
