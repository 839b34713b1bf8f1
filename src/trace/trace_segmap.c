/* A segment file by name and as mapped memory: its path, and the mapping
 * with its header, size and checksum verified. Used by the segments
 * (trace_seg.c) and by the lookups for repeats (trace_seek.c). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "trace/trace_int.h"

const char *trace_seg_kind(uint32_t kind)
{
	return kind == TRACE_CELL ? "cell" : "scan";
}

int trace_seg_path(const struct trace_store *s, const struct trace_seg *g, char *buf, size_t cap)
{
	int n = snprintf(buf, cap, "%s/%s-%016llx.seg", s->dir, trace_seg_kind(g->kind),
			 (unsigned long long)g->seq);
	return n < 0 || (size_t)n >= cap ? TRACE_ERR_TOO_LARGE : TRACE_OK;
}

void trace_seg_unmap(struct trace_map *m)
{
	if (m->base && m->len)
		munmap(m->base, m->len);
	memset(m, 0, sizeof(*m));
}

static void name_in_diag(struct trace_diag *d, const char *path)
{
	const char *name = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
	size_t n = strlen(name);
	if (!d)
		return;
	if (n >= sizeof(d->what))
		n = sizeof(d->what) - 1;
	memcpy(d->what, name, n);
	d->what[n] = '\0';
}

/* Maps a segment and verifies its header, size and checksum. */
int trace_seg_map(const struct trace_store *s, const struct trace_seg *g,
		  struct trace_map *m, struct trace_diag *d)
{
	char path[4096];
	struct trace_seg h;
	struct stat st;
	uint64_t sum;
	uint32_t flags;
	int fd = -1, rc;

	memset(m, 0, sizeof(*m));
	rc = trace_seg_path(s, g, path, sizeof(path));
	if (rc)
		return trace_diag_set(d, rc, 0, 0, "path");
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) != 0) {
		rc = trace_diag_set(d, TRACE_ERR_IO, 0, 0, NULL);
		goto bad;
	}
	if ((uint64_t)st.st_size < TRACE_BIN_HEADER) {
		rc = trace_diag_set(d, TRACE_ERR_TRUNCATED, 0, (uint64_t)st.st_size, NULL);
		goto bad;
	}
	m->len = (size_t)st.st_size;
	m->base = mmap(NULL, m->len, PROT_READ, MAP_PRIVATE, fd, 0);
	if (m->base == MAP_FAILED) {
		m->base = NULL;
		m->len = 0;
		rc = trace_diag_set(d, TRACE_ERR_IO, 0, 0, NULL);
		goto bad;
	}
	rc = trace_header_read(m->base, m->len, &h, &sum, &flags, d);
	if (rc)
		goto bad;
	if (!(flags & TRACE_FLAG_PACKED) || h.kind != g->kind) {
		rc = trace_diag_set(d, TRACE_ERR_FORMAT, 0, 40, NULL);
		goto bad;
	}
	if (h.payload + TRACE_BIN_HEADER != m->len) {
		rc = trace_diag_set(d, m->len < h.payload + TRACE_BIN_HEADER ? TRACE_ERR_TRUNCATED
				    : TRACE_ERR_FORMAT, 0, m->len, NULL);
		goto bad;
	}
	madvise(m->base, m->len, MADV_SEQUENTIAL);
	m->payload = (const uint8_t *)m->base + TRACE_BIN_HEADER;
	m->payload_len = (size_t)h.payload;
	m->n = (size_t)h.count;
	if (trace_checksum(m->payload, m->payload_len) != sum) {
		rc = trace_diag_set(d, TRACE_ERR_CORRUPT, 0, TRACE_BIN_HEADER, NULL);
		goto bad;
	}
	rc = TRACE_OK;
	goto out;
bad:
	name_in_diag(d, path);
	trace_seg_unmap(m);
out:
	if (fd >= 0)
		close(fd);
	return rc;
}
