/* The resident index kept on disk next to the segments (DIR/scan.idx,
 * DIR/cell.idx), so that a process that runs one query does not rebuild it.
 *
 * The file is derived data: the segments stay the truth. It records a
 * signature of the segments it was built from (sequence numbers, counts and
 * payload checksums); when the segments change (a load, an expiry) the
 * signature no longer matches and the file is rebuilt. Every section has a
 * checksum, checked before the file is used, and the header its own; a
 * damaged, truncated or stale file is never used, only rebuilt. It is
 * written to a temporary name and renamed into place without fsync: after a
 * crash it is whole, absent, or damaged in a way the checksums catch.
 *
 *   header 128 bytes: magic "WGTRIDX1", u32 version, u32 kind, u64 records,
 *   u32 places, u32 persons, u32 max duration, u32 zero, u64 signature,
 *   u64 payload length, 6 x u64 section checksums, zero padding, u64
 *   checksum of the first 120 bytes;
 *   then the sections, each starting at a multiple of 8 bytes: place ids,
 *   place offsets (places + 1), person ids, record persons (dense, u32),
 *   record t_in (u32), record durations (u16).
 * 10 bytes a record plus 8 a place and 4 a person. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/lib/mem.h"
#include "trace/trace_int.h"

#define IDX_MAGIC   "WGTRIDX1"
#define IDX_VERSION 1u
#define IDX_HEADER  128u
#define IDX_NSEC    6

struct idx_layout {
	uint64_t off[IDX_NSEC], len[IDX_NSEC];
	uint64_t payload;
};

static uint32_t rd32(const uint8_t *p) { uint32_t v; memcpy(&v, p, 4); return v; }
static uint64_t rd64(const uint8_t *p) { uint64_t v; memcpy(&v, p, 8); return v; }
static void wr32(uint8_t *p, uint32_t v) { memcpy(p, &v, 4); }
static void wr64(uint8_t *p, uint64_t v) { memcpy(p, &v, 8); }

int trace_idx_path(const struct trace_store *s, enum trace_kind kind, char *buf, size_t cap)
{
	int n = snprintf(buf, cap, "%s/%s.idx", s->dir, kind == TRACE_CELL ? "cell" : "scan");
	return n < 0 || (size_t)n >= cap ? TRACE_ERR_TOO_LARGE : TRACE_OK;
}

uint64_t trace_idx_signature(const struct trace_seg *segs, size_t nseg, enum trace_kind kind)
{
	uint64_t acc[6] = { IDX_VERSION, (uint64_t)kind, 0, 0, 0, 0 };
	uint64_t sig = trace_checksum(acc, sizeof(acc));

	for (size_t i = 0; i < nseg; i++) {
		const struct trace_seg *g = &segs[i];
		if (g->kind != (uint32_t)kind)
			continue;
		acc[0] = sig;
		acc[1] = g->seq;
		acc[2] = g->count;
		acc[3] = (uint64_t)g->min_t << 32 | g->max_t;
		acc[4] = g->payload;
		acc[5] = g->sum;
		sig = trace_checksum(acc, sizeof(acc));
	}
	return sig;
}

/* Section sizes for the counts; false when they do not fit in memory. */
static bool idx_layout(uint64_t n, uint32_t nplace, uint32_t npers, struct idx_layout *l)
{
	const uint64_t count[IDX_NSEC] = { nplace, (uint64_t)nplace + 1, npers, n, n, n };
	const uint64_t size[IDX_NSEC] = { 4, 4, 4, 4, 4, 2 };
	uint64_t at = 0;

	if (n > TRACE_MAX_RECS)
		return false;
	for (int i = 0; i < IDX_NSEC; i++) {
		l->off[i] = at;
		l->len[i] = count[i] * size[i];
		at += (l->len[i] + 7) & ~(uint64_t)7;
	}
	l->payload = at;
	return at <= SIZE_MAX - IDX_HEADER;
}

static const void *section_data(const struct trace_table *t, int i)
{
	switch (i) {
	case 0: return t->place_id;
	case 1: return t->place_off;
	case 2: return t->pers_id;
	case 3: return t->r_person;
	case 4: return t->r_tin;
	default: return t->r_dur;
	}
}

int trace_idx_save(const struct trace_store *s, const struct trace_seg *segs, size_t nseg,
		   enum trace_kind kind, const struct trace_table *t)
{
	static const uint8_t zeros[8];
	char path[4096], tmp[4200];
	uint8_t hdr[IDX_HEADER];
	struct idx_layout l;
	int fd = -1, rc, k;

	if (!idx_layout(t->n, t->nplace, t->npers, &l))
		return TRACE_ERR_TOO_LARGE;
	rc = trace_idx_path(s, kind, path, sizeof(path));
	if (rc)
		return rc;
	k = snprintf(tmp, sizeof(tmp), "%s/tmp-%s-idx-%ld", s->dir, kind == TRACE_CELL ? "cell" : "scan",
		     (long)getpid());
	if (k < 0 || (size_t)k >= sizeof(tmp))
		return TRACE_ERR_TOO_LARGE;
	memset(hdr, 0, sizeof(hdr));
	memcpy(hdr, IDX_MAGIC, 8);
	wr32(hdr + 8, IDX_VERSION);
	wr32(hdr + 12, (uint32_t)kind);
	wr64(hdr + 16, t->n);
	wr32(hdr + 24, t->nplace);
	wr32(hdr + 28, t->npers);
	wr32(hdr + 32, t->max_dur);
	wr64(hdr + 40, trace_idx_signature(segs, nseg, kind));
	wr64(hdr + 48, l.payload);
	for (int i = 0; i < IDX_NSEC; i++)
		wr64(hdr + 56 + 8 * i, trace_checksum(section_data(t, i), (size_t)l.len[i]));
	wr64(hdr + 120, trace_checksum(hdr, 120));
	rc = TRACE_ERR_IO;
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return TRACE_ERR_IO;
	if (trace_write_all(fd, hdr, sizeof(hdr)))
		goto out;
	for (int i = 0; i < IDX_NSEC; i++) {
		size_t pad = (size_t)(((l.len[i] + 7) & ~(uint64_t)7) - l.len[i]);
		if (trace_write_all(fd, section_data(t, i), (size_t)l.len[i]) || trace_write_all(fd, zeros, pad))
			goto out;
	}
	if (close(fd) != 0) {
		fd = -1;
		goto out;
	}
	fd = -1;
	if (rename(tmp, path) != 0)
		goto out;
	return TRACE_OK;
out:
	if (fd >= 0)
		close(fd);
	unlink(tmp);
	return rc;
}

static int idx_fail(struct trace_diag *d, int code, uint64_t offset, const char *path)
{
	const char *name = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
	return trace_diag_set(d, code, 0, offset, name);
}

/* The header: magic, version, kind, counts, signature, sizes. */
static int idx_header(const uint8_t *h, uint64_t file_len, enum trace_kind kind, uint64_t sig,
		      struct idx_layout *l, const char *path, struct trace_diag *d)
{
	if (file_len < IDX_HEADER)
		return idx_fail(d, TRACE_ERR_TRUNCATED, file_len, path);
	if (memcmp(h, IDX_MAGIC, 8) != 0 || rd32(h + 8) != IDX_VERSION || rd32(h + 12) != (uint32_t)kind)
		return idx_fail(d, TRACE_ERR_FORMAT, 0, path);
	if (trace_checksum(h, 120) != rd64(h + 120))
		return idx_fail(d, TRACE_ERR_CORRUPT, 120, path);
	if (!idx_layout(rd64(h + 16), rd32(h + 24), rd32(h + 28), l) || rd64(h + 48) != l->payload)
		return idx_fail(d, TRACE_ERR_FORMAT, 48, path);
	if (file_len != IDX_HEADER + l->payload)
		return idx_fail(d, file_len < IDX_HEADER + l->payload ? TRACE_ERR_TRUNCATED : TRACE_ERR_FORMAT,
				file_len, path);
	if (rd64(h + 40) != sig)
		return TRACE_INDEX_REBUILT;
	return TRACE_OK;
}

/* What the checksums cannot promise: offsets that stay inside the records
 * and ids in ascending order (queries index arrays with them). Record
 * persons are checked where positions are built. */
static bool idx_consistent(const struct trace_table *t)
{
	if (t->place_off[0] != 0 || t->place_off[t->nplace] != t->n)
		return false;
	for (uint32_t i = 0; i < t->nplace; i++)
		if (t->place_off[i] >= t->place_off[i + 1] || (i && t->place_id[i - 1] >= t->place_id[i]))
			return false;
	for (uint32_t i = 1; i < t->npers; i++)
		if (t->pers_id[i - 1] >= t->pers_id[i])
			return false;
	return true;
}

/* Maps the file once its header says it is current and of the right size
 * (a stale file is not read further). */
static int idx_map(const char *path, enum trace_kind kind, uint64_t sig, struct idx_layout *l,
		   void **base, size_t *len, struct trace_diag *d)
{
	uint8_t hdr[IDX_HEADER];
	struct stat st;
	ssize_t got;
	int fd = open(path, O_RDONLY | O_CLOEXEC), rc;

	*base = NULL;
	*len = 0;
	if (fd < 0)
		return errno == ENOENT ? TRACE_INDEX_REBUILT : idx_fail(d, TRACE_ERR_IO, 0, path);
	if (fstat(fd, &st) != 0) {
		close(fd);
		return idx_fail(d, TRACE_ERR_IO, 0, path);
	}
	got = (uint64_t)st.st_size < IDX_HEADER ? 0 : pread(fd, hdr, sizeof(hdr), 0);
	if (got < 0) {
		close(fd);
		return idx_fail(d, TRACE_ERR_IO, 0, path);
	}
	if ((uint64_t)st.st_size >= IDX_HEADER && got != (ssize_t)IDX_HEADER) {
		close(fd); /* shrank since fstat */
		return idx_fail(d, TRACE_ERR_TRUNCATED, (uint64_t)got, path);
	}
	rc = idx_header(hdr, (uint64_t)st.st_size, kind, sig, l, path, d);
	if (rc) {
		close(fd);
		return rc;
	}
	*len = (size_t)st.st_size;
	*base = mmap(NULL, *len, PROT_READ, MAP_PRIVATE | MAP_POPULATE, fd, 0);
	close(fd);
	if (*base == MAP_FAILED) {
		*base = NULL;
		*len = 0;
		return idx_fail(d, TRACE_ERR_IO, 0, path);
	}
	return TRACE_OK;
}

/* The checksums of a run of sections (and their zero padding), on a
 * thread of its own when there is one: the index file is read by every
 * one-shot query, and its two big sections take a core each. */
struct sec_check {
	const uint8_t *p;
	const struct idx_layout *l;
	int from, to;
	int bad;      /* the first section that fails, or -1 */
};

static void *check_sections(void *arg)
{
	struct sec_check *c = arg;
	c->bad = -1;
	for (int i = c->from; i < c->to && c->bad < 0; i++) {
		const uint8_t *sec = c->p + IDX_HEADER + c->l->off[i];
		bool pad_zero = true;
		for (uint64_t b = c->l->len[i]; b < ((c->l->len[i] + 7) & ~(uint64_t)7); b++)
			pad_zero = pad_zero && sec[b] == 0;
		if (!pad_zero || trace_checksum(sec, (size_t)c->l->len[i]) != rd64(c->p + 56 + 8 * i))
			c->bad = i;
	}
	return NULL;
}

/* The sections as two runs of about equal size (r_person, sections 0-3,
 * and r_tin with r_dur, 4-5, at 4 + 4 + 2 bytes a record), checked at once. */
static int check_all(const uint8_t *p, const struct idx_layout *l)
{
	struct sec_check c[2] = { { p, l, 0, 4, -1 }, { p, l, 4, IDX_NSEC, -1 } };
	pthread_t th;
	bool threaded = pthread_create(&th, NULL, check_sections, &c[1]) == 0;

	check_sections(&c[0]);
	if (threaded)
		pthread_join(th, NULL);
	else
		check_sections(&c[1]);
	return c[0].bad >= 0 ? c[0].bad : c[1].bad;
}

/* Loads the index file into t (arrays pointing into the mapping, no
 * per-person positions yet). TRACE_OK, TRACE_INDEX_REBUILT when there is no
 * file or it is stale, or the error that makes the file unusable (named in d). */
int trace_idx_load(const struct trace_store *s, const struct trace_seg *segs, size_t nseg,
		   enum trace_kind kind, struct trace_table *t, struct trace_diag *d)
{
	char path[4096];
	struct idx_layout l;
	const uint8_t *p;
	void *base;
	size_t len;
	int rc;

	rc = trace_idx_path(s, kind, path, sizeof(path));
	if (rc)
		return rc;
	rc = idx_map(path, kind, trace_idx_signature(segs, nseg, kind), &l, &base, &len, d);
	if (rc)
		return rc;
	p = base;
	{
		int bad = check_all(p, &l);
		if (bad >= 0) {
			rc = idx_fail(d, TRACE_ERR_CORRUPT, IDX_HEADER + l.off[bad], path);
			goto bad;
		}
	}
	memset(t, 0, sizeof(*t));
	t->n = (uint32_t)rd64(p + 16);
	t->nplace = rd32(p + 24);
	t->npers = rd32(p + 28);
	t->max_dur = rd32(p + 32);
	t->place_id = (uint32_t *)(p + IDX_HEADER + l.off[0]);
	t->place_off = (uint32_t *)(p + IDX_HEADER + l.off[1]);
	t->pers_id = (uint32_t *)(p + IDX_HEADER + l.off[2]);
	t->r_person = (uint32_t *)(p + IDX_HEADER + l.off[3]);
	t->r_tin = (uint32_t *)(p + IDX_HEADER + l.off[4]);
	t->r_dur = (uint16_t *)(p + IDX_HEADER + l.off[5]);
	t->map_base = base;
	t->map_len = len;
	if (t->max_dur > UINT16_MAX || !idx_consistent(t)) {
		memset(t, 0, sizeof(*t));
		rc = idx_fail(d, TRACE_ERR_FORMAT, IDX_HEADER, path);
		goto bad;
	}
	trace_table_flags(t);
	return TRACE_OK;
bad:
	munmap(base, len);
	return rc;
}
