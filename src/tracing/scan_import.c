/* POST /api/v1/scans/import: a day's file of scans or location records (the
 * health-code platform's export) sent over HTTP, as `wangge trace load`
 * reads it: CSV (person,venue,t_in,t_out or person,lat,lng,t_in,t_out) or
 * the engine's binary format. Every record is checked first (the engine's
 * rules, then: each venue exists and is inside the caller's scope, each
 * person is registered or a known phone subject); one bad record and
 * nothing is stored, the answer naming its row. Then the file is appended
 * as segments in one go (not through the live scan log), and audited as one
 * record carrying the file's digest. async=1 runs it as a job. */
#include "tracing/tracing_int.h"
#include "core/app/jobs.h"
#include "core/audit/audit.h"
#include "core/auth/scope.h"
#include "core/lib/err.h"
#include "core/lib/limits.h"
#include "core/lib/mem.h"

#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

struct upload_map {
	uint8_t *data;
	size_t len;
};

static int map_upload(wg_req *r, struct upload_map *m)
{
	struct stat sb;
	m->data = NULL;
	m->len = 0;
	int fd = r->upload_path ? open(r->upload_path, O_RDONLY | O_CLOEXEC) : -1;
	if (fd < 0 || fstat(fd, &sb) != 0) {
		if (fd >= 0)
			close(fd);
		return req_fail(r, WG_ERR_IO, NULL, "无法读取上传的文件", "cannot read the upload");
	}
	m->len = (size_t)sb.st_size;
	/* Private and writable: the engine may sort a binary batch in place. */
	m->data = m->len ? mmap(NULL, m->len, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0) : NULL;
	close(fd);
	if (m->len && m->data == MAP_FAILED) {
		m->data = NULL;
		return req_fail(r, WG_ERR_IO, NULL, "无法读取上传的文件", "cannot read the upload");
	}
	if (!m->len)
		return req_fail(r, WG_ERR_VALIDATION, "file", "上传的文件是空的", "the upload is empty");
	return 0;
}

/* CSV rows after a header line, if the file has one (its first field is not a number). */
static bool csv_has_header(const uint8_t *d, size_t n)
{
	size_t i = 0;
	if (n >= 3 && d[0] == 0xEF && d[1] == 0xBB && d[2] == 0xBF)
		i = 3;
	return i < n && !(d[i] >= '0' && d[i] <= '9');
}

/* Scans have four fields, location records five: the first data line says which. */
static enum trace_kind csv_kind(const uint8_t *d, size_t n)
{
	size_t i = 0, commas = 0;
	if (csv_has_header(d, n))
		while (i < n && d[i] != '\n')
			i++;
	if (i < n && d[i] == '\n')
		i++;
	for (; i < n && d[i] != '\n'; i++)
		commas += d[i] == ',';
	return commas >= 4 ? TRACE_CELL : TRACE_SCAN;
}

static int record_failed(wg_req *r, size_t index, bool header, const char *field, const char *zh, const char *en)
{
	unsigned long long row = (unsigned long long)index + 1 + (header ? 1 : 0);
	return req_failf(r, WG_ERR_VALIDATION, field, "第 %llu 行:%s,未导入任何记录", "row %llu: %s; nothing was imported",
			 row, zh, row, en);
}

/* The ids present in a table, as a bitmap from base up. */
static int id_bitmap(wg_req *r, const char *sql, int64_t base, uint64_t **bits, size_t *words)
{
	int64_t max = 0;
	char max_sql[160];
	snprintf(max_sql, sizeof max_sql, "SELECT COALESCE(MAX(id), 0) FROM (%s) x", sql);
	int rc = store_int(r->db, max_sql, NULL, 0, &max);
	*bits = NULL;
	*words = max > base ? (size_t)((max - base) / 64 + 1) : 0;
	if (rc || !*words)
		return rc;
	if (!(*bits = wg_calloc(*words, sizeof **bits)))
		return WG_ERR_NOMEM;
	wg_stmt *s;
	if ((rc = store_query(r->db, sql, NULL, 0, &s)))
		return rc;
	while ((rc = stmt_next(s)) == 1) {
		int64_t id = stmt_int(s, 0) - base;
		if (id >= 0 && (size_t)(id / 64) < *words)
			(*bits)[id / 64] |= UINT64_C(1) << (id % 64);
	}
	stmt_done(s);
	return rc < 0 ? -rc : 0;
}

static bool bit_has(const uint64_t *bits, size_t words, int64_t id)
{
	return id >= 0 && (size_t)(id / 64) < words && (bits[id / 64] >> (id % 64) & 1);
}

/* Every person registered (or a phone subject the server made). */
static int check_persons(wg_req *r, const struct trace_rec *recs, size_t n, bool header)
{
	uint64_t *people = NULL, *subjects = NULL;
	size_t np = 0, ns = 0;
	int rc = id_bitmap(r, "SELECT id FROM registry_people", 0, &people, &np);
	if (!rc)
		rc = id_bitmap(r, "SELECT id FROM trace_subjects", CASES_SUBJECT_FIRST_ID, &subjects, &ns);
	if (rc) {
		req_fail(r, rc, NULL, NULL, NULL);
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		int64_t p = recs[i].person;
		bool known = p >= CASES_SUBJECT_FIRST_ID ? bit_has(subjects, ns, p - CASES_SUBJECT_FIRST_ID) : bit_has(people, np, p);
		if (!known) {
			char zh[96], en[96];
			snprintf(zh, sizeof zh, "人员 %lld 未登记", (long long)p);
			snprintf(en, sizeof en, "person %lld is not registered", (long long)p);
			record_failed(r, i, header, "person", zh, en);
			break;
		}
	}
out:
	wg_free(people);
	wg_free(subjects);
	return r->fail.code;
}

/* Every venue exists and is the caller's (a scope's scans are its own). */
static int check_venues(wg_req *r, const struct trace_rec *recs, size_t n, bool header)
{
	uint64_t *ours = NULL;
	size_t words = 0;
	char lo[WG_MAX_GRID_PATH + 2], hi[WG_MAX_GRID_PATH + 2];
	scope_range(r->user->scope_path, lo, hi, sizeof lo);
	int64_t max = 0;
	int rc = store_int(r->db, "SELECT COALESCE(MAX(id), 0) FROM venues", NULL, 0, &max);
	words = max > 0 ? (size_t)(max / 64 + 1) : 0;
	if (!rc && words && !(ours = wg_calloc(words, sizeof *ours)))
		rc = WG_ERR_NOMEM;
	wg_stmt *s;
	wg_param p[] = { WG_PTEXT(lo), WG_PTEXT(hi) };
	if (!rc && words && !(rc = store_query(r->db, "SELECT id FROM venues WHERE node_path >= ? AND node_path < ?", p, 2, &s))) {
		while ((rc = stmt_next(s)) == 1) {
			int64_t id = stmt_int(s, 0);
			if (id > 0 && (size_t)(id / 64) < words)
				ours[id / 64] |= UINT64_C(1) << (id % 64);
		}
		stmt_done(s);
		rc = rc < 0 ? -rc : 0;
	}
	if (rc) {
		req_fail(r, rc, NULL, NULL, NULL);
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		if (!bit_has(ours, words, recs[i].place)) {
			char zh[128], en[128];
			snprintf(zh, sizeof zh, "场所 %u 不存在或不在您的管辖范围内", recs[i].place);
			snprintf(en, sizeof en, "venue %u does not exist or is outside your scope", recs[i].place);
			record_failed(r, i, header, "venue", zh, en);
			break;
		}
	}
out:
	wg_free(ours);
	return r->fail.code;
}

static int parse_upload(wg_req *r, struct upload_map *m, enum trace_kind *kind, bool *header, struct trace_rec **recs,
			size_t *n)
{
	struct trace_diag diag = { 0 };
	bool binary = m->len >= 8 && memcmp(m->data, "WGTRACE1", 8) == 0;
	*header = !binary && csv_has_header(m->data, m->len);
	*kind = binary ? TRACE_SCAN : csv_kind(m->data, m->len);
	int rc = binary ? trace_parse_bin(m->data, m->len, kind, tracing_params(), r->now, recs, n, &diag)
			: trace_parse_csv((const char *)m->data, m->len, *kind, tracing_params(), r->now, recs, n, &diag);
	if (!rc)
		return 0;
	if (rc == TRACE_ERR_NOMEM)
		return req_fail(r, WG_ERR_NOMEM, NULL, NULL, NULL);
	if (diag.row)
		return req_failf(r, WG_ERR_VALIDATION, "file", "第 %llu 行(%s):%s,未导入任何记录",
				 "row %llu (%s): %s; nothing was imported", (unsigned long long)diag.row, diag.what,
				 trace_err_zh(rc), (unsigned long long)diag.row, diag.what, trace_err_en(rc));
	return req_failf(r, WG_ERR_VALIDATION, "file", "文件第 %llu 字节(%s):%s,未导入任何记录",
			 "byte %llu (%s): %s; nothing was imported", (unsigned long long)diag.offset, diag.what,
			 trace_err_zh(rc), (unsigned long long)diag.offset, diag.what, trace_err_en(rc));
}

/* One audit record for the file: its digest, how many it held. */
static int audit_file(wg_req *r, enum trace_kind kind, size_t added)
{
	json_t *change = json_pack("{s:s, s:I}", "kind", kind == TRACE_CELL ? "cell" : "scan", "added", (json_int_t)added);
	if (!change)
		return req_fail(r, WG_ERR_NOMEM, NULL, NULL, NULL);
	if (r->body_digest_ready) {
		char hex[65];
		static const char digits[] = "0123456789abcdef";
		for (size_t i = 0; i < sizeof r->body_digest; i++) {
			hex[2 * i] = digits[r->body_digest[i] >> 4];
			hex[2 * i + 1] = digits[r->body_digest[i] & 15];
		}
		hex[64] = '\0';
		json_object_set_new(change, "file_blake2b", json_string(hex));
	}
	int rc = audit_event(r, "import", "scans", (int64_t)added, r->user->scope_path, change);
	json_decref(change);
	return rc;
}

int scans_import(wg_req *r)
{
	/* A job runs the route again with the import options every job carries. */
	static const char *const allowed[] = { "dry_run", "async", NULL };
	static const char *const in_job[] = { "dry_run", "partial", "update", NULL };
	struct upload_map m = { 0 };
	struct trace_rec *recs = NULL;
	enum trace_kind kind;
	bool header;
	size_t n = 0, added = 0;
	int64_t async, dry;
	if (req_check_query(r, r->mhd ? allowed : in_job) || req_query_int(r, "async", 0, 1, 0, &async) ||
	    req_query_int(r, "dry_run", 0, 1, 0, &dry))
		return r->fail.code;
	if (async && r->mhd)
		return jobs_start_import(r);
	if (map_upload(r, &m) || parse_upload(r, &m, &kind, &header, &recs, &n) ||
	    check_persons(r, recs, n, header) || (kind == TRACE_SCAN && check_venues(r, recs, n, header)))
		goto out;
	if (!dry) {
		struct trace_diag diag = { 0 };
		trace_store *store = tracing_store();
		int rc = store ? trace_store_append(store, kind, recs, n, r->now, &added, &diag) : TRACE_ERR_IO;
		if (rc) {
			req_failf(r, rc == TRACE_ERR_IO || rc == TRACE_ERR_NOMEM ? WG_ERR_IO : WG_ERR_VALIDATION, "file",
				  "无法保存:%s", "cannot store: %s", trace_err_zh(rc), trace_err_en(rc));
			goto out;
		}
		if (audit_file(r, kind, added))
			goto out;
	}
	req_reply(r, dry ? 200 : 201, json_pack("{s:s, s:I, s:I, s:I, s:b}", "kind", kind == TRACE_CELL ? "cell" : "scan",
						 "rows", (json_int_t)n, "added", (json_int_t)added,
						 "duplicates", (json_int_t)(dry ? 0 : n - added), "dry_run", dry != 0));
out:
	wg_free(recs);
	if (m.data)
		munmap(m.data, m.len);
	return r->fail.code;
}
