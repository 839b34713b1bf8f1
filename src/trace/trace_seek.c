/* Point lookups in a segment: is this record stored? (trace_seek_has)
 *
 * A live scan is checked for being a repeat against every segment whose
 * time span holds it, and decoding a segment of millions of packed records
 * for each scan would cost milliseconds. So a segment that must answer
 * such questions is mapped once (its checksum checked once) and gets a
 * small directory built by one decoding pass: its places, and in each
 * place a checkpoint every SEEK_STEP records (the record's t_in, its byte
 * offset, the records left in the place from it). A lookup is a binary
 * search of the places, one of the place's checkpoints, and at most a
 * step's worth of records decoded: about 0.5 bytes a record of memory. */
#include <string.h>

#include "core/lib/mem.h"
#include "trace/trace_int.h"

#define SEEK_STEP 32u

struct seek_ck {
	uint32_t t;       /* t_in of the record at off */
	uint32_t left;    /* records of the place from this one on */
	uint64_t off;     /* payload offset of the record's first varint */
};

struct trace_seek {
	struct trace_map m;
	uint32_t nplace;
	uint32_t *place;      /* place ids, ascending */
	uint32_t *first;      /* nplace + 1: the place's checkpoints are ck[first[i] .. first[i + 1]) */
	struct seek_ck *ck;
	size_t nck, capck;
	size_t capplace;
};


void trace_seek_free(struct trace_seek *k)
{
	if (!k)
		return;
	trace_seg_unmap(&k->m);
	wg_free(k->place);
	wg_free(k->first);
	wg_free(k->ck);
	wg_free(k);
}

static int grow(void **p, size_t *cap, size_t need, size_t size)
{
	size_t c = *cap ? *cap : 256, bytes;
	void *x;
	if (need <= *cap)
		return TRACE_OK;
	while (c < need)
		if (!wg_size_mul(c, 2, &c))
			return TRACE_ERR_NOMEM;
	if (!wg_size_mul(c, size, &bytes) || !(x = wg_realloc(*p, bytes)))
		return TRACE_ERR_NOMEM;
	*p = x;
	*cap = c;
	return TRACE_OK;
}

/* One pass over the payload: places and checkpoints. */
static int seek_build(struct trace_seek *k)
{
	const uint8_t *base = k->m.payload, *p = base, *end = base + k->m.payload_len;
	uint32_t place = 0;
	size_t left = k->m.n;

	while (left > 0) {
		uint32_t dp, count, t = 0;
		if (!trace_get_varint(&p, end, &dp) || !trace_get_varint(&p, end, &count) || count == 0 || count > left
		    || (k->nplace > 0 && dp == 0) || (uint64_t)place + dp > UINT32_MAX)
			return TRACE_ERR_CORRUPT;
		place += dp;
		if ((size_t)k->nplace + 2 > k->capplace) {
			size_t cap = k->capplace, capf = k->capplace;
			if (grow((void **)&k->place, &cap, (size_t)k->nplace + 2, sizeof(uint32_t))
			    || grow((void **)&k->first, &capf, (size_t)k->nplace + 2, sizeof(uint32_t)))
				return TRACE_ERR_NOMEM;
			k->capplace = cap < capf ? cap : capf;
		}
		k->place[k->nplace] = place;
		k->first[k->nplace] = (uint32_t)k->nck;
		k->nplace++;
		for (uint32_t i = 0; i < count; i++) {
			uint32_t dt, person, dur;
			size_t off = (size_t)(p - base);
			if (!trace_get_varint(&p, end, &dt) || !trace_get_varint(&p, end, &person) || !trace_get_varint(&p, end, &dur)
			    || dur > UINT16_MAX || (uint64_t)t + dt > UINT32_MAX)
				return TRACE_ERR_CORRUPT;
			t += dt;
			if (i % SEEK_STEP == 0) {
				if (grow((void **)&k->ck, &k->capck, k->nck + 1, sizeof(*k->ck)))
					return TRACE_ERR_NOMEM;
				k->ck[k->nck++] = (struct seek_ck){ t, count - i, off };
			}
		}
		left -= count;
	}
	if (p != end)
		return TRACE_ERR_CORRUPT;
	if (k->nck > UINT32_MAX)
		return TRACE_ERR_TOO_LARGE;
	if (!k->first && !(k->first = wg_malloc(sizeof(uint32_t))))
		return TRACE_ERR_NOMEM;
	k->first[k->nplace] = (uint32_t)k->nck;
	return TRACE_OK;
}

int trace_seek_open(const struct trace_store *s, const struct trace_seg *g, struct trace_seek **out,
		    struct trace_diag *d)
{
	struct trace_seek *k = wg_calloc(1, sizeof(*k));
	int rc;

	*out = NULL;
	if (!k)
		return trace_diag_set(d, TRACE_ERR_NOMEM, 0, 0, NULL);
	rc = trace_seg_map(s, g, &k->m, d);
	if (!rc) {
		rc = seek_build(k);
		if (rc)
			trace_diag_set(d, rc, 0, 0, "segment");
	}
	if (rc) {
		trace_seek_free(k);
		return rc;
	}
	*out = k;
	return TRACE_OK;
}

/* 1 when the segment holds r, 0 when not, -1 when its payload is malformed
 * (not possible once the directory was built, but checked). */
int trace_seek_has(const struct trace_seek *k, const struct trace_rec *r)
{
	const uint8_t *base = k->m.payload, *end = base + k->m.payload_len, *p;
	uint32_t lo = 0, hi = k->nplace, c0, c1, t, left;

	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;
		if (k->place[mid] < r->place)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == k->nplace || k->place[lo] != r->place)
		return 0;
	c0 = k->first[lo];
	c1 = k->first[lo + 1];
	lo = c0;
	hi = c1;
	while (hi - lo > 1) { /* the last checkpoint before t_in (or the place's first) */
		uint32_t mid = lo + (hi - lo) / 2;
		if (k->ck[mid].t < r->t_min)
			lo = mid;
		else
			hi = mid;
	}
	p = base + k->ck[lo].off;
	t = k->ck[lo].t;
	left = k->ck[lo].left;
	for (bool first = true; left > 0; left--, first = false) {
		uint32_t dt, person, dur;
		if (!trace_get_varint(&p, end, &dt) || !trace_get_varint(&p, end, &person) || !trace_get_varint(&p, end, &dur))
			return -1;
		if (!first)
			t += dt;
		if (t > r->t_min)
			return 0;
		if (t == r->t_min && person == r->person && dur == r->dur)
			return 1;
	}
	return 0;
}

size_t trace_seek_bytes(const struct trace_seek *k)
{
	return k ? k->nck * sizeof(*k->ck) + (size_t)k->nplace * 8 : 0;
}
