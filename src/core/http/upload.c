/* Request bodies: their size limits, and uploads kept in a file. */
#include "core/http/http_int.h"
#include "core/app/app.h"
#include "core/lib/err.h"
#include "core/lib/limits.h"

#include <dirent.h>
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

void http_spool_finish(wg_req *r)
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

