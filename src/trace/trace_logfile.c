/* The files of the scan log: DIR/scan-<gen>.log and DIR/cell-<gen>.log.
 *
 *   header 64 bytes: magic "WGTRLOG1", u32 version = 1, u32 kind, u64 gen,
 *   zero padding, u64 checksum of the first 56 bytes;
 *   then frames, one per group commit:
 *     u32 magic "WGLF", u32 count, u64 lsn of the first record,
 *     u64 checksum of the records, u64 checksum of these first 24 bytes,
 *     count 16-byte records (struct trace_rec, little-endian).
 *
 * A file is created under a temporary name with its header, fsync'ed and
 * linked into place, so a log file always has a whole header. Frames are
 * appended and fdatasync'ed before their records are acknowledged. Record
 * numbers (lsn) run on without a gap through a file, so a frame written
 * twice (a replayed batch) or one missing is seen on reading.
 *
 * Reading checks every frame. A frame that fails its checks is
 *   - damage when a good frame follows it: a later commit only starts after
 *     this one's fsync, so this frame was acknowledged;
 *   - a torn tail when nothing good follows and it is the marks of a write
 *     the crash cut short: the file ends inside the frame, or a
 *     sector-aligned run of it reads as zeros (a block never written);
 *   - damage otherwise (a flipped bit in the last, acknowledged frame).
 * A torn tail was never acknowledged: it is dropped. Damage is an error
 * naming the file and the byte offset: nothing after it is used, and
 * nothing acknowledged is silently lost.
 *
 * The writer writes zeros ahead of its frames (TLOG_ROOM at a time) and
 * then writes each frame over them: an fdatasync that need not record a
 * new file size does not wait for the file system's journal, which under
 * load took ten times as long as the data itself. Zeros from a frame's
 * place to the end of the file are that room, the clean end of the log
 * (no frame is ever zeros). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/lib/mem.h"
#include "core/lib/parse.h"
#include "trace/trace_log.h"

#define TLOG_MAGIC       "WGTRLOG1"
#define TLOG_VERSION     1u
#define TLOG_FRAME_MAGIC 0x464C4757u /* "WGLF" */
#define TLOG_SECTOR      512u

static uint32_t rd32(const uint8_t *p) { uint32_t v; memcpy(&v, p, 4); return v; }
static uint64_t rd64(const uint8_t *p) { uint64_t v; memcpy(&v, p, 8); return v; }
static void wr32(uint8_t *p, uint32_t v) { memcpy(p, &v, 4); }
static void wr64(uint8_t *p, uint64_t v) { memcpy(p, &v, 8); }

static const char *kind_name(uint32_t kind)
{
	return kind == TRACE_CELL ? "cell" : "scan";
}

int tlog_path(const char *dir, uint32_t kind, uint64_t gen, char *buf, size_t cap)
{
	int n = snprintf(buf, cap, "%s/%s-%016llx.log", dir, kind_name(kind), (unsigned long long)gen);
	return n < 0 || (size_t)n >= cap ? TRACE_ERR_TOO_LARGE : TRACE_OK;
}

/* "scan-<16 hex>.log": kind and generation. */
bool tlog_parse_name(const char *name, uint32_t *kind, uint64_t *gen)
{
	uint64_t g = 0;

	if (strlen(name) != 25 || name[4] != '-' || memcmp(name + 21, ".log", 4) != 0)
		return false;
	if (memcmp(name, "scan", 4) == 0)
		*kind = TRACE_SCAN;
	else if (memcmp(name, "cell", 4) == 0)
		*kind = TRACE_CELL;
	else
		return false;
	for (int i = 5; i < 21; i++) {
		char c = name[i];
		int v = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
		if (v < 0)
			return false;
		g = g << 4 | (uint64_t)v;
	}
	*gen = g;
	return true;
}

void tlog_frame_header(uint8_t hdr[TLOG_FRAME_HEADER], const struct trace_rec *recs, uint32_t count,
		       uint64_t lsn)
{
	wr32(hdr, TLOG_FRAME_MAGIC);
	wr32(hdr + 4, count);
	wr64(hdr + 8, lsn);
	wr64(hdr + 16, trace_checksum(recs, (size_t)count * sizeof(*recs)));
	wr64(hdr + 24, trace_checksum(hdr, 24));
}

/* ---- reading -------------------------------------------------------------- */

enum frame_state { FRAME_OK, FRAME_CUT, FRAME_BAD };

/* The frame at pos: FRAME_OK with its count and lsn, FRAME_CUT when the file
 * ends inside it, FRAME_BAD when a checksum or a field fails; *end is where
 * the frame ends (as its header says, or the header's end when that fails). */
static enum frame_state frame_at(const uint8_t *buf, size_t size, size_t pos, uint32_t *count,
				 uint64_t *lsn, size_t *end)
{
	const uint8_t *h = buf + pos;
	size_t len;

	*end = pos + TLOG_FRAME_HEADER;
	if (size - pos < TLOG_FRAME_HEADER)
		return FRAME_CUT;
	if (rd32(h) != TLOG_FRAME_MAGIC || rd64(h + 24) != trace_checksum(h, 24))
		return FRAME_BAD;
	*count = rd32(h + 4);
	*lsn = rd64(h + 8);
	if (*count == 0 || *count > TLOG_MAX_FRAME)
		return FRAME_BAD;
	len = TLOG_FRAME_HEADER + (size_t)*count * sizeof(struct trace_rec);
	*end = pos + len;
	if (size - pos < len)
		return FRAME_CUT;
	if (rd64(h + 16) != trace_checksum(h + TLOG_FRAME_HEADER, len - TLOG_FRAME_HEADER))
		return FRAME_BAD;
	return FRAME_OK;
}

/* True when a frame with good checksums starts anywhere after pos (frames
 * start on 16-byte steps from the header). */
static bool good_frame_after(const uint8_t *buf, size_t size, size_t pos)
{
	for (size_t p = pos + 16; p + TLOG_FRAME_HEADER <= size; p += 16) {
		uint32_t count;
		uint64_t lsn;
		size_t end;
		if (rd32(buf + p) == TLOG_FRAME_MAGIC && frame_at(buf, size, p, &count, &lsn, &end) == FRAME_OK)
			return true;
	}
	return false;
}

/* True when a sector-aligned run of [from, to) -- the part of one sector in
 * that range, 16 bytes at least -- is all zeros: a block the write never
 * reached. */
static bool zero_sector(const uint8_t *buf, size_t from, size_t to)
{
	for (size_t s = from - from % TLOG_SECTOR; s < to; s += TLOG_SECTOR) {
		size_t a = s > from ? s : from, b = s + TLOG_SECTOR < to ? s + TLOG_SECTOR : to;
		bool zero = b - a >= 16;
		for (size_t i = a; zero && i < b; i++)
			zero = buf[i] == 0;
		if (zero)
			return true;
	}
	return false;
}

static bool all_zero(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i])
			return false;
	return true;
}

static int read_whole(const char *path, uint8_t **buf, size_t *size)
{
	struct stat st;
	size_t got = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC), rc = TRACE_ERR_IO;

	*buf = NULL;
	*size = 0;
	if (fd < 0)
		return TRACE_ERR_IO;
	if (fstat(fd, &st) != 0 || st.st_size < 0)
		goto out;
	rc = TRACE_ERR_NOMEM;
	if (!(*buf = wg_malloc((size_t)st.st_size + 1)))
		goto out;
	rc = TRACE_ERR_IO;
	while (got < (size_t)st.st_size) {
		ssize_t r = read(fd, *buf + got, (size_t)st.st_size - got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break; /* shorter than it was a moment ago: read what is there */
		got += (size_t)r;
	}
	*size = got;
	rc = TRACE_OK;
out:
	close(fd);
	if (rc) {
		wg_free(*buf);
		*buf = NULL;
	}
	return rc;
}

static void name_diag(struct trace_diag *d, const char *path)
{
	const char *name = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
	if (d)
		wg_copy_text(d->what, sizeof(d->what), name);
}

static int fail(struct trace_diag *d, int code, uint64_t offset, const char *path)
{
	trace_diag_set(d, code, 0, offset, NULL);
	name_diag(d, path);
	return code;
}

int tlog_read(const char *path, uint32_t kind, uint64_t gen, uint32_t max_len, bool strict,
	      struct tlog_file *out, struct trace_diag *d)
{
	uint8_t *buf = NULL;
	size_t size;
	int rc;

	memset(out, 0, sizeof(*out));
	rc = read_whole(path, &buf, &size);
	if (rc)
		return fail(d, rc, 0, path);
	rc = tlog_parse(buf, size, kind, gen, max_len, strict, out, d);
	if (rc)
		name_diag(d, path);
	wg_free(buf);
	return rc;
}

int tlog_parse(const uint8_t *buf, size_t size, uint32_t kind, uint64_t gen, uint32_t max_len, bool strict,
	       struct tlog_file *out, struct trace_diag *d)
{
	const char *path = "log";
	size_t pos = TLOG_HEADER, nrec = 0, cap = 0;
	bool have = false;
	uint64_t expect = 0;
	int rc;

	memset(out, 0, sizeof(*out));
	if (size < TLOG_HEADER) {
		rc = fail(d, TRACE_ERR_TRUNCATED, size, path);
		goto out;
	}
	if (memcmp(buf, TLOG_MAGIC, 8) != 0) {
		rc = fail(d, TRACE_ERR_FORMAT, 0, path);
		goto out;
	}
	if (rd64(buf + 56) != trace_checksum(buf, 56)) {
		rc = fail(d, TRACE_ERR_CORRUPT, 56, path);
		goto out;
	}
	if (rd32(buf + 8) != TLOG_VERSION || rd32(buf + 12) != kind || rd64(buf + 16) != gen) {
		rc = fail(d, TRACE_ERR_FORMAT, 8, path);
		goto out;
	}
	while (pos < size) {
		uint32_t count = 0;
		uint64_t lsn = 0;
		size_t end;
		enum frame_state st = frame_at(buf, size, pos, &count, &lsn, &end);
		if (st != FRAME_OK) {
			if (all_zero(buf + pos, size - pos)) {
				out->room = size - pos;
				break;
			}
			if (good_frame_after(buf, size, pos)) {
				rc = fail(d, TRACE_ERR_CORRUPT, pos, path);
				goto out;
			}
			if (strict && st == FRAME_BAD && !zero_sector(buf, pos, end < size ? end : size)) {
				rc = fail(d, TRACE_ERR_CORRUPT, pos, path);
				goto out;
			}
			out->torn = size - pos; /* never acknowledged (or, not strict, still being written) */
			break;
		}
		if (have && lsn != expect) {
			rc = fail(d, TRACE_ERR_SEQUENCE, pos, path);
			goto out;
		}
		if (!have)
			out->first_lsn = lsn;
		have = true;
		if (nrec + count > cap) {
			size_t c = cap ? cap : 1024, bytes;
			struct trace_rec *x;
			while (c < nrec + count)
				c *= 2;
			rc = TRACE_ERR_NOMEM;
			if (!wg_size_mul(c, sizeof(*x), &bytes) || !(x = wg_realloc(out->recs, bytes))) {
				fail(d, rc, pos, path);
				goto out;
			}
			out->recs = x;
			cap = c;
		}
		memcpy(out->recs + nrec, buf + pos + TLOG_FRAME_HEADER, (size_t)count * sizeof(struct trace_rec));
		for (uint32_t i = 0; i < count; i++) {
			const struct trace_rec *r = &out->recs[nrec + i];
			if (r->zero != 0 || r->dur > max_len + 1u) {
				rc = fail(d, TRACE_ERR_FORMAT, pos + TLOG_FRAME_HEADER + (size_t)i * sizeof(*r), path);
				goto out;
			}
		}
		nrec += count;
		expect = lsn + count;
		pos = end;
	}
	out->n = nrec;
	out->end_lsn = have ? expect : 0;
	out->has_frames = have;
	out->valid_len = pos;
	rc = TRACE_OK;
out:
	if (rc)
		tlog_file_free(out);
	return rc;
}

void tlog_file_free(struct tlog_file *f)
{
	wg_free(f->recs);
	memset(f, 0, sizeof(*f));
}

/* ---- writing -------------------------------------------------------------- */

void tlog_file_header(uint8_t hdr[TLOG_HEADER], uint32_t kind, uint64_t gen)
{
	memset(hdr, 0, TLOG_HEADER);
	memcpy(hdr, TLOG_MAGIC, 8);
	wr32(hdr + 8, TLOG_VERSION);
	wr32(hdr + 12, kind);
	wr64(hdr + 16, gen);
	wr64(hdr + 56, trace_checksum(hdr, 56));
}

int tlog_fsync_dir(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC), rc = TRACE_OK;
	if (fd < 0)
		return TRACE_ERR_IO;
	if (fsync(fd) != 0)
		rc = TRACE_ERR_IO;
	close(fd);
	return rc;
}

/* A new log file with its header, durable before it is used; opened for
 * appending. Fails (TRACE_ERR_IO) if the name is taken. */
int tlog_create(const char *dir, uint32_t kind, uint64_t gen, int *fd_out)
{
	char path[4096], tmp[4200];
	uint8_t hdr[TLOG_HEADER];
	int fd = -1, rc = TRACE_ERR_IO, k;

	*fd_out = -1;
	if (tlog_path(dir, kind, gen, path, sizeof(path)))
		return TRACE_ERR_TOO_LARGE;
	k = snprintf(tmp, sizeof(tmp), "%s/tmp-%s-%016llx-%ld.log", dir, kind_name(kind),
		     (unsigned long long)gen, (long)getpid());
	if (k < 0 || (size_t)k >= sizeof(tmp))
		return TRACE_ERR_TOO_LARGE;
	tlog_file_header(hdr, kind, gen);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		goto out;
	if (trace_write_all(fd, hdr, sizeof(hdr)) || fsync(fd) != 0)
		goto out;
	if (close(fd) != 0) {
		fd = -1;
		goto out;
	}
	fd = -1;
	if (link(tmp, path) != 0) /* never over another file */
		goto out;
	unlink(tmp);
	if (tlog_fsync_dir(dir))
		goto out;
	fd = open(path, O_WRONLY | O_CLOEXEC);  /* frames go at the writer's data_end (tlog_write) */
	if (fd < 0)
		goto out;
	*fd_out = fd;
	return TRACE_OK;
out:
	if (fd >= 0)
		close(fd);
	unlink(tmp);
	return rc;
}

/* Writes n bytes at the generation's data end, making room ahead first
 * (zeros, TLOG_ROOM at a time, or what the frame needs): the caller's
 * fdatasync then finds the size already recorded. */
int tlog_write(struct tlog_gen *g, const void *p, size_t n)
{
	static const uint8_t zeros[64 * 1024];
	if (g->data_end + n > g->room_end) {
		uint64_t want = g->room_end + (n > TLOG_ROOM ? n : TLOG_ROOM);
		while (g->room_end < want) {
			size_t k = want - g->room_end < sizeof(zeros) ? (size_t)(want - g->room_end) : sizeof(zeros);
			ssize_t w = pwrite(g->fd, zeros, k, (off_t)g->room_end);
			if (w < 0 && errno == EINTR)
				continue;
			if (w <= 0)
				return TRACE_ERR_IO;
			g->room_end += (uint64_t)w;
		}
	}
	for (size_t done = 0; done < n;) {
		ssize_t w = pwrite(g->fd, (const uint8_t *)p + done, n - done, (off_t)(g->data_end + done));
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return TRACE_ERR_IO;
		done += (size_t)w;
	}
	g->data_end += n;
	return TRACE_OK;
}

/* Drops a torn tail: the file is cut where its last good frame ends. */
int tlog_truncate(const char *path, uint64_t len)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC), rc = TRACE_OK;
	if (fd < 0)
		return TRACE_ERR_IO;
	if (ftruncate(fd, (off_t)len) != 0 || fdatasync(fd) != 0)
		rc = TRACE_ERR_IO;
	close(fd);
	return rc;
}

static int gen_cmp(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

/* The generations of a kind's log files in dir, ascending (wg_free). */
int tlog_list(const char *dir, uint32_t kind, uint64_t **gens, size_t *n)
{
	DIR *dh = opendir(dir);
	struct dirent *e;
	size_t cap = 0;
	int rc = TRACE_OK;

	*gens = NULL;
	*n = 0;
	if (!dh)
		return TRACE_ERR_IO;
	while ((e = readdir(dh)) != NULL) {
		uint32_t k;
		uint64_t g;
		if (!tlog_parse_name(e->d_name, &k, &g) || k != kind)
			continue;
		if (*n == cap) {
			size_t c = cap ? cap * 2 : 8;
			uint64_t *x = wg_realloc(*gens, c * sizeof(*x));
			if (!x) {
				rc = TRACE_ERR_NOMEM;
				break;
			}
			*gens = x;
			cap = c;
		}
		(*gens)[(*n)++] = g;
	}
	closedir(dh);
	if (rc) {
		wg_free(*gens);
		*gens = NULL;
		*n = 0;
		return rc;
	}
	if (*n > 1)
		qsort(*gens, *n, sizeof(**gens), gen_cmp);
	return TRACE_OK;
}
