/* Segment files: DIR/scan-<seq>.seg and DIR/cell-<seq>.seg, each a binary
 * header and the records sorted by (place, t_in, person, dur), packed:
 *
 *   per place:  varint(place - previous place), varint(records)
 *   per record: varint(t_in - previous t_in in the place), varint(person),
 *               varint(dur)
 *
 * (LEB128 varints; about 5-6 bytes a scan instead of 16, so a load writes
 * and fsyncs a third of the bytes). A segment is written to a temporary name,
 * fsync'ed, renamed into place and the directory fsync'ed: it is visible
 * whole or not at all. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/lib/mem.h"
#include "trace/trace_int.h"

#define TMP_STALE_SECONDS 3600

/* ---- the packed payload --------------------------------------------------- */


#define VARINT_MAX 5u

/* Bytes the packed form of n records can take at most: a place group header
 * per record at worst. */
static bool pack_bound(size_t n, size_t *bound)
{
	return wg_size_mul(n, 5 * VARINT_MAX, bound) && wg_size_add(*bound, 2 * VARINT_MAX, bound);
}

/* One place group: its place (as the step from the previous one), its
 * record count, then the records. */
static uint8_t *put_group(uint8_t *p, uint32_t place_step, const struct trace_rec *r, size_t n)
{
	uint32_t t = 0;

	p = trace_put_varint(p, place_step);
	p = trace_put_varint(p, (uint32_t)n);
	for (size_t i = 0; i < n; i++) {
		p = trace_put_varint(p, r[i].t_min - t);
		p = trace_put_varint(p, r[i].person);
		p = trace_put_varint(p, r[i].dur);
		t = r[i].t_min;
	}
	return p;
}

/* Encodes sorted records; *out (wg_free) holds *len bytes. */
int trace_seg_encode(const struct trace_rec *r, size_t n, uint8_t **out, size_t *len)
{
	size_t bound, i = 0;
	uint32_t prev_place = 0;
	uint8_t *buf, *p;

	*out = NULL;
	*len = 0;
	if (!pack_bound(n, &bound) || !(buf = wg_malloc(bound)))
		return TRACE_ERR_NOMEM;
	p = buf;
	while (i < n) {
		size_t j = i;
		while (j < n && r[j].place == r[i].place)
			j++;
		p = put_group(p, r[i].place - prev_place, r + i, j - i);
		prev_place = r[i].place;
		i = j;
	}
	*out = buf;
	*len = (size_t)(p - buf);
	return TRACE_OK;
}

/* ---- packing two sorted runs at once -------------------------------------- */

/* The place group being packed: its records wait until their count is known. */
struct packer {
	struct trace_packed *out;
	uint8_t *p;
	uint32_t prev_place;
	struct trace_rec *grp;
	size_t ng, cap;
};

static void packer_flush(struct packer *k)
{
	if (k->ng == 0)
		return;
	k->p = put_group(k->p, k->grp[0].place - k->prev_place, k->grp, k->ng);
	k->prev_place = k->grp[0].place;
	k->ng = 0;
}

static int packer_add(struct packer *k, const struct trace_rec *r)
{
	struct trace_packed *o = k->out;

	if (k->ng && k->grp[0].place != r->place)
		packer_flush(k);
	if (k->ng == k->cap) {
		size_t cap = k->cap ? k->cap * 2 : 1024, bytes;
		struct trace_rec *g;
		if (!wg_size_mul(cap, sizeof(*g), &bytes) || !(g = wg_realloc(k->grp, bytes)))
			return TRACE_ERR_NOMEM;
		k->grp = g;
		k->cap = cap;
	}
	k->grp[k->ng++] = *r;
	if (r->t_min < o->min_t)
		o->min_t = r->t_min;
	if (r->t_min + r->dur > o->max_t)
		o->max_t = r->t_min + r->dur;
	o->count++;
	return TRACE_OK;
}

/* 1 when a stored segment holds r (records come in ascending order), 0 when
 * none does, -1 when a segment's payload is malformed. */
static int stored_has(struct trace_stored *old, size_t nold, const struct trace_rec *r)
{
	for (size_t g = 0; g < nold; g++) {
		struct trace_stored *o = &old[g];
		int c = 1;
		while (o->got > 0 && (c = trace_rec_order(&o->cur, r)) < 0)
			o->got = trace_dec_next(&o->d, &o->cur);
		if (o->got < 0)
			return -1;
		if (o->got > 0 && c == 0)
			return 1;
	}
	return 0;
}

int trace_seg_pack_runs(const struct trace_runs *b, struct trace_stored *old, size_t nold,
			const struct trace_skip *skip, struct trace_packed *out)
{
	const struct trace_rec *a = b->r[0], *c = b->r[1], *last = NULL;
	size_t na = b->n[0], nc = b->n[1], i = 0, j = 0, bound;
	struct packer k = { out, NULL, 0, NULL, 0, 0 };
	int rc = TRACE_ERR_NOMEM;

	memset(out, 0, sizeof(*out));
	out->min_t = UINT32_MAX;
	if (!pack_bound(na + nc, &bound) || !(out->buf = wg_malloc(bound)))
		goto fail;
	k.p = out->buf;
	for (size_t g = 0; g < nold; g++)
		old[g].got = trace_dec_next(&old[g].d, &old[g].cur);
	while (i < na || j < nc) {
		const struct trace_rec *r = j == nc || (i < na && trace_rec_order(&a[i], &c[j]) <= 0)
					    ? &a[i++] : &c[j++];
		int held;
		if (last && trace_rec_order(last, r) == 0)
			continue; /* a duplicate in the batch */
		last = r;
		held = nold ? stored_has(old, nold, r) : 0;
		if (!held && skip && skip->fn(skip->ctx, r))
			held = 1;
		if (held < 0) {
			rc = TRACE_ERR_CORRUPT;
			goto fail;
		}
		if (!held && (rc = packer_add(&k, r)) != TRACE_OK)
			goto fail;
	}
	packer_flush(&k);
	out->len = (size_t)(k.p - out->buf);
	if (out->count == 0)
		out->min_t = 0;
	wg_free(k.grp);
	return TRACE_OK;
fail:
	wg_free(k.grp);
	wg_free(out->buf);
	memset(out, 0, sizeof(*out));
	return rc;
}

void trace_dec_init(struct trace_dec *d, const struct trace_map *m)
{
	memset(d, 0, sizeof(*d));
	d->p = m->payload;
	d->end = m->payload + m->payload_len;
	d->left = m->n;
}

int trace_dec_next(struct trace_dec *d, struct trace_rec *r)
{
	uint32_t dt, person, dur;

	if (d->left == 0)
		return d->p == d->end && d->group_left == 0 ? 0 : -1;
	if (d->group_left == 0) {
		uint32_t dp, count;
		if (!trace_get_varint(&d->p, d->end, &dp) || !trace_get_varint(&d->p, d->end, &count) || count == 0)
			return -1;
		if ((d->started && dp == 0) || (uint64_t)d->place + dp > UINT32_MAX)
			return -1;
		d->place += dp;
		d->group_left = count;
		d->t = 0;
		d->started = true;
	}
	if (!trace_get_varint(&d->p, d->end, &dt) || !trace_get_varint(&d->p, d->end, &person)
	    || !trace_get_varint(&d->p, d->end, &dur) || dur > UINT16_MAX || (uint64_t)d->t + dt > UINT32_MAX)
		return -1;
	d->t += dt;
	r->person = person;
	r->place = d->place;
	r->t_min = d->t;
	r->dur = (uint16_t)dur;
	r->zero = 0;
	d->group_left--;
	d->left--;
	return 1;
}

int trace_write_all(int fd, const void *p, size_t n)
{
	const uint8_t *b = p;
	while (n > 0) {
		size_t chunk = n > (1u << 30) ? (1u << 30) : n;
		ssize_t w = write(fd, b, chunk);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return TRACE_ERR_IO;
		}
		b += w;
		n -= (size_t)w;
	}
	return TRACE_OK;
}

static int fsync_dir(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int rc = TRACE_OK;
	if (fd < 0)
		return TRACE_ERR_IO;
	if (fsync(fd) != 0)
		rc = TRACE_ERR_IO;
	close(fd);
	return rc;
}

/* Makes the written temporary file the segment. A new segment never
 * replaces another: link() fails if the name is taken (another process
 * loading into the same store at the same time), and the next sequence
 * number is tried. A rewrite (expiry) replaces its own segment atomically. */
static int publish(const struct trace_store *s, struct trace_seg *g, const char *tmp,
		   char *path, size_t cap, bool replace)
{
	if (replace)
		return rename(tmp, path) == 0 ? TRACE_OK : TRACE_ERR_IO;
	for (int tries = 0; tries < 1000; tries++) {
		if (link(tmp, path) == 0) {
			unlink(tmp);
			return TRACE_OK;
		}
		if (errno != EEXIST)
			return TRACE_ERR_IO;
		g->seq++;
		if (trace_seg_path(s, g, path, cap))
			return TRACE_ERR_TOO_LARGE;
	}
	return TRACE_ERR_IO;
}

/* Writes a packed payload as segment g (seq and kind set by the caller);
 * with replace, an existing segment of that name is atomically replaced. */
int trace_seg_write_packed(struct trace_store *s, struct trace_seg *g, const struct trace_packed *pk,
			   bool replace)
{
	char path[4096], tmp[4200];
	uint8_t hdr[TRACE_BIN_HEADER];
	uint64_t sum;
	int fd = -1, rc = TRACE_ERR_IO, k;

	if (trace_seg_path(s, g, path, sizeof(path)))
		return TRACE_ERR_TOO_LARGE;
	k = snprintf(tmp, sizeof(tmp), "%s/tmp-%s-%016llx-%ld", s->dir, trace_seg_kind(g->kind),
		     (unsigned long long)g->seq, (long)getpid());
	if (k < 0 || (size_t)k >= sizeof(tmp))
		return TRACE_ERR_TOO_LARGE;
	sum = trace_checksum(pk->buf, pk->len);
	trace_header_fill(hdr, g->kind, pk->count, pk->min_t, pk->max_t, sum,
			  TRACE_FLAG_SORTED | TRACE_FLAG_PACKED | (g->flags & TRACE_FLAG_LOG), pk->len,
			  g->flags & TRACE_FLAG_LOG ? g->log_gen : 0);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		goto out;
	if (trace_write_all(fd, hdr, sizeof(hdr)) || trace_write_all(fd, pk->buf, pk->len))
		goto out;
	if (fsync(fd) != 0)
		goto out;
	if (close(fd) != 0) {
		fd = -1;
		goto out;
	}
	fd = -1;
	rc = publish(s, g, tmp, path, sizeof(path), replace);
	if (rc)
		goto out;
	rc = fsync_dir(s->dir);
	if (rc)
		goto out;
	g->flags = TRACE_FLAG_SORTED | TRACE_FLAG_PACKED | (g->flags & TRACE_FLAG_LOG);
	g->count = pk->count;
	g->min_t = pk->min_t;
	g->max_t = pk->max_t;
	g->payload = pk->len;
	g->sum = sum;
	return TRACE_OK;
out:
	if (fd >= 0)
		close(fd);
	unlink(tmp);
	return rc;
}

/* Writes recs (sorted) as segment g; see trace_seg_write_packed. */
int trace_seg_write(struct trace_store *s, struct trace_seg *g, const struct trace_rec *recs,
		    size_t n, bool replace)
{
	struct trace_packed pk;
	int rc;

	memset(&pk, 0, sizeof(pk));
	rc = trace_seg_encode(recs, n, &pk.buf, &pk.len);
	if (rc)
		return rc;
	pk.count = n;
	trace_recs_span(recs, n, &pk.min_t, &pk.max_t);
	rc = trace_seg_write_packed(s, g, &pk, replace);
	wg_free(pk.buf);
	return rc;
}

/* Takes segment i out of the list (under mu: appends stop looking into it)
 * and deletes its file. w_mu held. */
int trace_seg_remove(struct trace_store *s, size_t i)
{
	char path[4096];
	struct trace_seek *seek;
	int rc = trace_seg_path(s, &s->segs[i], path, sizeof(path));
	if (rc)
		return rc;
	pthread_mutex_lock(&s->mu);
	seek = s->segs[i].seek;
	memmove(&s->segs[i], &s->segs[i + 1], (s->nseg - i - 1) * sizeof(s->segs[0]));
	s->nseg--;
	pthread_mutex_unlock(&s->mu);
	trace_seek_free(seek);
	if (unlink(path) != 0 && errno != ENOENT)
		return TRACE_ERR_IO;
	return fsync_dir(s->dir);
}

/* Replaces segment i by recs[0..n) (sorted): written and fsync'ed under a
 * temporary name, then renamed over it and the list entry updated in one
 * section under mu, so that an append looking into it sees the old file or
 * the new one with the entry that describes it. w_mu held. */
int trace_seg_rewrite(struct trace_store *s, size_t i, const struct trace_rec *recs, size_t n)
{
	char path[4096], tmp[4200];
	uint8_t hdr[TRACE_BIN_HEADER];
	struct trace_packed pk;
	struct trace_seg g = s->segs[i];
	struct trace_seek *seek = NULL;
	int fd = -1, rc, k;

	memset(&pk, 0, sizeof(pk));
	if (trace_seg_path(s, &g, path, sizeof(path)))
		return TRACE_ERR_TOO_LARGE;
	k = snprintf(tmp, sizeof(tmp), "%s/tmp-%s-%016llx-%ld", s->dir, trace_seg_kind(g.kind),
		     (unsigned long long)g.seq, (long)getpid());
	if (k < 0 || (size_t)k >= sizeof(tmp))
		return TRACE_ERR_TOO_LARGE;
	rc = trace_seg_encode(recs, n, &pk.buf, &pk.len);
	if (rc)
		return rc;
	pk.count = n;
	trace_recs_span(recs, n, &pk.min_t, &pk.max_t);
	g.sum = trace_checksum(pk.buf, pk.len);
	g.flags = TRACE_FLAG_SORTED | TRACE_FLAG_PACKED | (g.flags & TRACE_FLAG_LOG);
	trace_header_fill(hdr, g.kind, pk.count, pk.min_t, pk.max_t, g.sum, g.flags, pk.len,
			  g.flags & TRACE_FLAG_LOG ? g.log_gen : 0);
	rc = TRACE_ERR_IO;
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		goto out;
	if (trace_write_all(fd, hdr, sizeof(hdr)) || trace_write_all(fd, pk.buf, pk.len) || fsync(fd) != 0)
		goto out;
	if (close(fd) != 0) {
		fd = -1;
		goto out;
	}
	fd = -1;
	g.count = pk.count;
	g.min_t = pk.min_t;
	g.max_t = pk.max_t;
	g.payload = pk.len;
	g.seek = NULL;
	pthread_mutex_lock(&s->mu);
	if (rename(tmp, path) == 0) {
		seek = s->segs[i].seek;
		s->segs[i] = g;
		rc = TRACE_OK;
	}
	pthread_mutex_unlock(&s->mu);
	trace_seek_free(seek);
	if (!rc)
		rc = fsync_dir(s->dir);
out:
	if (fd >= 0)
		close(fd);
	if (rc)
		unlink(tmp);
	wg_free(pk.buf);
	return rc;
}

void trace_segs_free(struct trace_store *s)
{
	for (size_t i = 0; i < s->nseg; i++)
		trace_seek_free(s->segs[i].seek);
	wg_free(s->segs);
	s->segs = NULL;
	s->nseg = s->capseg = 0;
}

static int add_seg(struct trace_store *s, const struct trace_seg *g)
{
	if (s->nseg == s->capseg) {
		size_t cap = s->capseg ? s->capseg * 2 : 16, bytes;
		struct trace_seg *n;
		if (!wg_size_mul(cap, sizeof(*n), &bytes) || !(n = wg_realloc(s->segs, bytes)))
			return TRACE_ERR_NOMEM;
		s->segs = n;
		s->capseg = cap;
	}
	s->segs[s->nseg++] = *g;
	return TRACE_OK;
}

static bool parse_name(const char *name, struct trace_seg *g)
{
	size_t len = strlen(name);
	uint64_t seq = 0;

	if (len != 4 + 1 + 16 + 4 || name[4] != '-' || memcmp(name + 21, ".seg", 4) != 0)
		return false;
	if (memcmp(name, "scan", 4) == 0)
		g->kind = TRACE_SCAN;
	else if (memcmp(name, "cell", 4) == 0)
		g->kind = TRACE_CELL;
	else
		return false;
	for (int i = 5; i < 21; i++) {
		char c = name[i];
		int v = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
		if (v < 0)
			return false;
		seq = seq << 4 | (uint64_t)v;
	}
	g->seq = seq;
	return true;
}

static int read_header(const struct trace_store *s, struct trace_seg *g, struct trace_diag *d)
{
	char path[4096];
	uint8_t hdr[TRACE_BIN_HEADER];
	struct trace_seg h;
	struct stat st;
	uint64_t sum;
	uint32_t flags;
	ssize_t r;
	int fd, rc;

	rc = trace_seg_path(s, g, path, sizeof(path));
	if (rc)
		return rc;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return trace_diag_set(d, TRACE_ERR_IO, 0, 0, strrchr(path, '/') + 1);
	r = read(fd, hdr, sizeof(hdr));
	rc = fstat(fd, &st);
	close(fd);
	if (rc != 0 || r < 0)
		return trace_diag_set(d, TRACE_ERR_IO, 0, 0, strrchr(path, '/') + 1);
	rc = trace_header_read(hdr, (size_t)r, &h, &sum, &flags, d);
	if (!rc && (h.kind != g->kind || !(flags & TRACE_FLAG_PACKED)))
		rc = trace_diag_set(d, TRACE_ERR_FORMAT, 0, 12, NULL);
	if (!rc && (uint64_t)st.st_size != h.payload + TRACE_BIN_HEADER)
		rc = trace_diag_set(d, (uint64_t)st.st_size < h.payload + TRACE_BIN_HEADER
				    ? TRACE_ERR_TRUNCATED : TRACE_ERR_FORMAT, 0, (uint64_t)st.st_size, NULL);
	if (rc) {
		const char *name = strrchr(path, '/') + 1;
		if (d) {
			size_t n = strlen(name);
			if (n >= sizeof(d->what))
				n = sizeof(d->what) - 1;
			memcpy(d->what, name, n);
			d->what[n] = '\0';
		}
		return rc;
	}
	g->count = h.count;
	g->min_t = h.min_t;
	g->max_t = h.max_t;
	g->payload = h.payload;
	g->sum = sum;
	g->flags = h.flags;
	g->log_gen = h.log_gen;
	return TRACE_OK;
}

static int seg_cmp(const void *a, const void *b)
{
	const struct trace_seg *x = a, *y = b;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* Lists the segments (headers checked), removes leftover temporary files of
 * a write that never committed. */
int trace_seg_scan_dir(struct trace_store *s, struct trace_diag *d)
{
	DIR *dir = opendir(s->dir);
	struct dirent *e;
	int rc = TRACE_OK;

	if (!dir)
		return trace_diag_set(d, TRACE_ERR_IO, 0, 0, "open directory");
	while ((e = readdir(dir)) != NULL) {
		struct trace_seg g;
		memset(&g, 0, sizeof(g));
		if (strncmp(e->d_name, "tmp-", 4) == 0) {
			/* a write that never committed; a fresh one may be another
			 * loader's work in progress and is left alone */
			char path[4096];
			struct stat st;
			int k = snprintf(path, sizeof(path), "%s/%s", s->dir, e->d_name);
			if (k > 0 && (size_t)k < sizeof(path) && stat(path, &st) == 0
			    && st.st_mtime + TMP_STALE_SECONDS < time(NULL))
				unlink(path);
			continue;
		}
		if (!parse_name(e->d_name, &g))
			continue;
		rc = read_header(s, &g, d);
		if (rc)
			break;
		rc = add_seg(s, &g);
		if (rc)
			break;
		if (g.seq >= s->next_seq)
			s->next_seq = g.seq + 1;
	}
	closedir(dir);
	if (!rc && s->nseg > 1)
		qsort(s->segs, s->nseg, sizeof(s->segs[0]), seg_cmp);
	return rc;
}

int trace_store_add_seg(struct trace_store *s, const struct trace_seg *g)
{
	return add_seg(s, g);
}
