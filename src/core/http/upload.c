/* Request bodies: their size limits, and uploads kept in a file. */
#include "core/http/http_int.h"
#include "core/app/app.h"
#include "core/lib/err.h"
#include "core/lib/limits.h"

#include "core/http/multipart.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sodium.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

size_t http_body_limit(const wg_req *r)
{
	if (r->route && (r->route->flags & ROUTE_UPLOAD) && r->user)
		return WG_MAX_UPLOAD;
	return r->user ? WG_MAX_BODY : WG_MAX_BODY_ANON;
}

/* Uploads (spreadsheets for import) go to a private file in the data
 * directory, not into memory: the import reads them as a stream, so memory
 * stays bounded whatever the size. */
void http_spool_open(wg_req *r)
{
	int n = snprintf(r->spool, sizeof r->spool, "%s/upload-XXXXXX", r->app->data_dir);
	if (n < 0 || (size_t)n >= sizeof r->spool || (r->spool_fd = mkstemp(r->spool)) < 0) {
		r->spool[0] = '\0';
		r->spool_fd = -1;
		req_fail(r, WG_ERR_IO, NULL, "无法保存上传的文件", "cannot store the upload");
		return;
	}
	r->upload_path = r->spool;
	/* Its digest is taken as it arrives (a retry's Idempotency-Key compares it). */
	r->spool_hash = arena_alloc(&r->arena, sizeof(crypto_generichash_state) + 63);
	if (r->spool_hash) {
		r->spool_hash = (void *)(((uintptr_t)r->spool_hash + 63) & ~(uintptr_t)63);
		crypto_generichash_init(r->spool_hash, NULL, 0, sizeof r->body_digest);
	}
}

/* The digest of the body as it came (before any unwrapping). */
static void digest_finish(wg_req *r)
{
	if (r->spool_hash && !r->too_large && !r->fail.code) {
		crypto_generichash_final(r->spool_hash, r->body_digest, sizeof r->body_digest);
		r->body_digest_ready = true;
	}
	r->spool_hash = NULL;
}

void http_spool_write(wg_req *r, const char *data, size_t n)
{
	if (r->spool_bytes + n > WG_MAX_UPLOAD) {
		r->too_large = true;
		return;
	}
	r->spool_bytes += n;
	if (r->spool_hash)
		crypto_generichash_update(r->spool_hash, (const unsigned char *)data, n);
	while (n > 0) {
		ssize_t w = write(r->spool_fd, data, n);
		if (w < 0) {
			req_fail(r, WG_ERR_IO, NULL, "无法保存上传的文件", "cannot store the upload");
			return;
		}
		data += w;
		n -= (size_t)w;
	}
}

int http_remove_stale_uploads(const char *data_dir)
{
	DIR *d = opendir(data_dir);
	struct dirent *e;
	char path[1024];
	int removed = 0;
	if (!d)
		return 0;
	while ((e = readdir(d)) != NULL) {
		if (strncmp(e->d_name, "upload-", 7) != 0)
			continue;
		int n = snprintf(path, sizeof path, "%s/%s", data_dir, e->d_name);
		if (n > 0 && (size_t)n < sizeof path && unlink(path) == 0)
			removed++;
	}
	closedir(d);
	return removed;
}

void req_spool_discard(wg_req *r)
{
	if (r->spool_fd >= 0)
		close(r->spool_fd);
	r->spool_fd = -1;
	if (r->spool[0])
		unlink(r->spool);
	r->spool[0] = '\0';
	r->upload_path = NULL;
}


/* Writes data[0, n) to a new upload file that takes the place of the old one. */
static int respool(wg_req *r, const char *data, size_t n)
{
	char old[sizeof r->spool];
	memcpy(old, r->spool, sizeof old);
	http_spool_open(r);
	if (r->spool_fd < 0)
		return r->fail.code;
	while (n > 0) {
		ssize_t w = write(r->spool_fd, data, n);
		if (w < 0)
			break;
		data += w;
		n -= (size_t)w;
	}
	int rc = n || close(r->spool_fd) != 0 ? WG_ERR_IO : 0;
	if (n)
		close(r->spool_fd);
	r->spool_fd = -1;
	unlink(old);
	return rc ? req_fail(r, rc, NULL, "无法保存上传的文件", "cannot store the upload") : 0;
}

void http_spool_finish(wg_req *r)
{
	char boundary[MULTIPART_BOUNDARY_MAX + 1];
	const char *why = NULL;
	size_t off, len;
	digest_finish(r);
	if (r->spool_fd >= 0) {
		close(r->spool_fd);  /* complete: the handler reads it by name */
		r->spool_fd = -1;
	}
	/* A browser's form and `curl -F` wrap the file in multipart/form-data: unwrap it. */
	if (!r->spool[0] || r->fail.code || !multipart_boundary(req_header(r, "Content-Type"), boundary))
		return;
	int fd = open(r->spool, O_RDONLY | O_CLOEXEC);
	struct stat sb;
	if (fd < 0 || fstat(fd, &sb) != 0) {
		if (fd >= 0)
			close(fd);
		req_fail(r, WG_ERR_IO, NULL, "无法读取上传的文件", "cannot read the upload");
		return;
	}
	size_t n = (size_t)sb.st_size;
	const char *data = n ? mmap(NULL, n, PROT_READ, MAP_PRIVATE, fd, 0) : NULL;
	close(fd);
	if (n && data == MAP_FAILED) {
		req_fail(r, WG_ERR_IO, NULL, "无法读取上传的文件", "cannot read the upload");
		return;
	}
	if (!n || !multipart_file(data, n, boundary, &off, &len, &why))
		req_failf(r, WG_ERR_VALIDATION, "file", "上传的表单格式无效,找不到文件", "the uploaded form is malformed: %s",
			  why ? why : "the body is empty");
	else
		respool(r, data + off, len);
	if (n)
		munmap((void *)data, n);
}
