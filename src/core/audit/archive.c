/* Audit archive files (archive.h): written once, signed, read back in order. */
#include "core/audit/archive.h"
#include "core/lib/err.h"
#include "core/lib/limits.h"
#include "core/lib/log.h"
#include "core/lib/mem.h"
#include "core/lib/parse.h"

#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#define ARCHIVE_FIELDS 12

/* ---- one record, one line ---- */

/* Appends s escaped (\t \n \\ and \r as \\t \\n \\\\ \\r); false when out is full. */
static bool put_escaped(char *out, size_t size, size_t *o, const char *s)
{
	for (; *s; s++) {
		char esc = *s == '\t' ? 't' : *s == '\n' ? 'n' : *s == '\\' ? '\\' : *s == '\r' ? 'r' : 0;
		if (*o + 2 >= size)
			return false;
		if (esc) {
			out[(*o)++] = '\\';
			out[(*o)++] = esc;
		} else {
			out[(*o)++] = *s;
		}
	}
	return true;
}

static bool put_int(char *out, size_t size, size_t *o, int64_t v)
{
	if (*o + WG_I64_DIGITS + 1 >= size)
		return false;
	*o += wg_format_i64(out + *o, v);
	return true;
}

size_t audit_archive_format_line(const struct audit_archive_row *r, char *out, size_t size)
{
	const struct audit_row *a = &r->row;
	const char *text[] = { a->username, a->address, a->action, a->resource, a->record_id, a->node_path, a->change_hash,
			       a->prev_hash, r->hash };
	size_t o = 0;
	bool ok = put_int(out, size, &o, a->id) && (out[o++] = '\t') && put_int(out, size, &o, a->at) && (out[o++] = '\t') &&
		  put_int(out, size, &o, a->user_id);
	for (size_t i = 0; ok && i < sizeof text / sizeof text[0]; i++) {
		ok = o + 1 < size;
		if (ok) {
			out[o++] = '\t';
			ok = put_escaped(out, size, &o, text[i] ? text[i] : "");
		}
	}
	/* A record of several events ends with their count; one of a single
	 * event is the line it was before the count existed. */
	if (ok && a->events > 1)
		ok = o + 1 < size && (out[o++] = '\t') && put_int(out, size, &o, a->events);
	if (!ok || o + 2 > size)
		return 0;
	out[o++] = '\n';
	out[o] = '\0';
	return o;
}

int audit_archive_parse_line(const char *line, size_t n, struct audit_archive_row *r, char *buf, size_t size)
{
	const char *field[ARCHIVE_FIELDS + 1];
	size_t len[ARCHIVE_FIELDS + 1], k = 0, start = 0;
	for (size_t i = 0; i <= n; i++) {
		if (i < n && line[i] != '\t')
			continue;
		if (k == ARCHIVE_FIELDS + 1)
			return WG_ERR_VALIDATION;
		field[k] = line + start;
		len[k++] = i - start;
		start = i + 1;
	}
	int64_t events = 1;
	if (k == ARCHIVE_FIELDS + 1 && (!wg_parse_i64(field[ARCHIVE_FIELDS], len[ARCHIVE_FIELDS], &events) || events < 2))
		return WG_ERR_VALIDATION;  /* a count is written only above 1 */
	if (k < ARCHIVE_FIELDS)
		return WG_ERR_VALIDATION;
	int64_t num[3];
	for (int i = 0; i < 3; i++)
		if (!wg_parse_i64(field[i], len[i], &num[i]) || num[i] < 0)
			return WG_ERR_VALIDATION;
	const char *text[ARCHIVE_FIELDS - 3];
	size_t o = 0;
	for (size_t f = 3; f < ARCHIVE_FIELDS; f++) {
		text[f - 3] = buf + o;
		for (size_t i = 0; i < len[f]; i++) {
			char c = field[f][i];
			if (c == '\\') {
				if (++i == len[f])
					return WG_ERR_VALIDATION;
				char e = field[f][i];
				c = e == 't' ? '\t' : e == 'n' ? '\n' : e == 'r' ? '\r' : e == '\\' ? '\\' : 0;
				if (!c)
					return WG_ERR_VALIDATION;
			} else if (c == '\0' || c == '\n') {
				return WG_ERR_VALIDATION;
			}
			if (o + 1 >= size)
				return WG_ERR_VALIDATION;
			buf[o++] = c;
		}
		if (o + 1 > size)
			return WG_ERR_VALIDATION;
		buf[o++] = '\0';
	}
	*r = (struct audit_archive_row){
		.row = { .id = num[0], .at = num[1], .user_id = num[2], .events = events, .username = text[0], .address = text[1],
			 .action = text[2], .resource = text[3], .record_id = text[4], .node_path = text[5],
			 .change_hash = text[6], .prev_hash = text[7] },
		.hash = text[8],
	};
	return 0;
}

/* ---- the signature line ---- */

static void archive_path(char *out, size_t size, const char *base, const struct audit_archive_info *a, const char *ext)
{
	snprintf(out, size, "%s/audit/archive/%06lld-%lld-%lld.%s", base, (long long)a->seq, (long long)a->first_id,
		 (long long)a->last_id, ext);
}

static size_t sig_text(const struct audit_archive_info *a, char *out, size_t size)
{
	int n = snprintf(out, size, "WGARCH1 %lld %lld %lld %lld %s %s %s", (long long)a->seq, (long long)a->first_id,
			 (long long)a->last_id, (long long)a->count, a->prev_hash, a->last_hash, a->content);
	return n > 0 && (size_t)n < size ? (size_t)n : 0;
}

/* Writes n bytes to path through a temporary file, fsync'd and renamed, read-only. */
static int write_whole(const char *path, const char *data, size_t n)
{
	char tmp[1300];
	snprintf(tmp, sizeof tmp, "%s.tmp", path);
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (fd < 0)
		return WG_ERR_IO;
	bool ok = true;
	for (size_t o = 0; ok && o < n;) {
		ssize_t w = write(fd, data + o, n - o);
		ok = w > 0;
		o += ok ? (size_t)w : 0;
	}
	ok = ok && fsync(fd) == 0 && fchmod(fd, 0400) == 0;
	ok = close(fd) == 0 && ok;
	if (!ok || rename(tmp, path) != 0) {
		unlink(tmp);
		return WG_ERR_IO;
	}
	return 0;
}

/* ---- writing ---- */

struct archive_out {
	gzFile gz;
	crypto_generichash_state content;
	struct audit_archive_info info;
	int64_t expect;
	char line[AUDIT_ARCHIVE_LINE];
};

static int write_rows(wg_conn *c, struct archive_out *o)
{
	wg_stmt *s;
	wg_param p[] = { WG_PINT(o->info.first_id), WG_PINT(o->info.last_id) };
	int rc = store_query(c, "SELECT id, at, COALESCE(user_id, 0), username, address, action, resource, record_id, node_path,"
			     " change_hash, prev_hash, hash, events FROM audit WHERE id >= ? AND id <= ? ORDER BY id", p, 2, &s);
	if (rc)
		return rc;
	while ((rc = stmt_next(s)) == 1) {
		struct audit_archive_row r = {
			.row = { .id = stmt_int(s, 0), .at = stmt_int(s, 1), .user_id = stmt_int(s, 2), .username = stmt_text(s, 3),
				 .address = stmt_text(s, 4), .action = stmt_text(s, 5), .resource = stmt_text(s, 6),
				 .record_id = stmt_text(s, 7), .node_path = stmt_text(s, 8), .change_hash = stmt_text(s, 9),
				 .prev_hash = stmt_text(s, 10), .events = stmt_int(s, 12) },
			.hash = stmt_text(s, 11),
		};
		/* Only an unbroken run is archived: a gap is for the verifier to name. */
		if (r.row.id != o->expect) {
			rc = -WG_ERR_INTERNAL;
			break;
		}
		if (o->info.count == 0)
			wg_copy_text(o->info.prev_hash, sizeof o->info.prev_hash, r.row.prev_hash);
		wg_copy_text(o->info.last_hash, sizeof o->info.last_hash, r.hash);
		size_t n = audit_archive_format_line(&r, o->line, sizeof o->line);
		if (!n || gzwrite(o->gz, o->line, (unsigned)n) != (int)n) {
			rc = -WG_ERR_IO;
			break;
		}
		crypto_generichash_update(&o->content, (const unsigned char *)o->line, n);
		o->info.count++;
		o->expect++;
	}
	stmt_done(s);
	if (rc < 0)
		return -rc;
	return o->expect == o->info.last_id + 1 ? 0 : WG_ERR_INTERNAL;
}

/* Removes the archived records up to last from the table, a few thousand a
 * transaction. A run stopped half way is finished by the next one. */
#define ARCHIVE_DELETE_CHUNK 10000
static int delete_archived(wg_conn *c, int64_t last)
{
	int64_t first = 0;
	wg_param l[] = { WG_PINT(last) };
	int rc = store_int(c, "SELECT COALESCE(MIN(id), 0) FROM audit WHERE id <= ?", l, 1, &first);
	while (!rc && first && first <= last) {
		int64_t end = last - first >= ARCHIVE_DELETE_CHUNK ? first + ARCHIVE_DELETE_CHUNK - 1 : last;
		wg_param d[] = { WG_PINT(first), WG_PINT(end) };
		rc = store_begin(c);
		if (!rc)
			rc = store_run(c, "DELETE FROM audit WHERE id >= ? AND id <= ?", d, 2);
		rc = rc ? (store_rollback(c), rc) : store_commit(c);
		first = end + 1;
	}
	return rc;
}

/* Writes one archive of the records first..last and moves them out of the table. */
static int archive_one(struct wg_app *app, wg_conn *c, int64_t seq, int64_t first, int64_t last)
{
	struct archive_out *o = wg_calloc(1, sizeof *o);
	char gz_path[1200], sig_path[1200], tmp[1300], sig[AUDIT_CHECKPOINT_LINE];
	unsigned char h[32], signature[crypto_sign_BYTES];
	int rc = WG_ERR_NOMEM, fd = -1;
	if (!o)
		return rc;
	o->info = (struct audit_archive_info){ .seq = seq, .first_id = first, .last_id = last };
	o->expect = first;
	archive_path(gz_path, sizeof gz_path, app->data_dir, &o->info, "tsv.gz");
	archive_path(sig_path, sizeof sig_path, app->data_dir, &o->info, "sig");
	snprintf(tmp, sizeof tmp, "%s.tmp", gz_path);
	crypto_generichash_init(&o->content, NULL, 0, sizeof h);
	rc = WG_ERR_IO;
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	int gzfd = fd >= 0 ? dup(fd) : -1;
	o->gz = gzfd >= 0 ? gzdopen(gzfd, "wb6") : NULL;
	if (!o->gz) {
		if (gzfd >= 0)
			close(gzfd);
		goto out;
	}
	rc = write_rows(c, o);
	if (gzclose(o->gz) != Z_OK && !rc)
		rc = WG_ERR_IO;
	o->gz = NULL;
	if (!rc && (fsync(fd) != 0 || fchmod(fd, 0400) != 0))
		rc = WG_ERR_IO;
	if (rc)
		goto out;
	crypto_generichash_final(&o->content, h, sizeof h);
	wg_hex(o->info.content, h, sizeof h);
	size_t n = sig_text(&o->info, sig, sizeof sig - 2 * crypto_sign_BYTES - 3);
	crypto_sign_detached(signature, NULL, (const unsigned char *)sig, n, app->audit_sign_sk);
	sig[n++] = ' ';
	wg_hex(sig + n, signature, sizeof signature);
	n += 2 * sizeof signature;
	sig[n++] = '\n';
	if (rename(tmp, gz_path) != 0 || (rc = write_whole(sig_path, sig, n)) != 0) {
		rc = WG_ERR_IO;
		goto out;
	}
	/* Listed and announced in the chain in one transaction: from then on the
	 * file is the record, and the rows are removed behind it in short
	 * transactions (audit writes go on meanwhile). */
	rc = store_begin(c);
	if (rc)
		goto out;
	char range[48], name[96];
	snprintf(range, sizeof range, "%lld-%lld", (long long)first, (long long)last);
	snprintf(name, sizeof name, "%06lld-%lld-%lld", (long long)seq, (long long)first, (long long)last);
	wg_param p[] = { WG_PINT(seq), WG_PINT(first), WG_PINT(last), WG_PINT(o->info.count), WG_PTEXT(o->info.prev_hash),
			 WG_PTEXT(o->info.last_hash), WG_PTEXT(o->info.content), WG_PTEXT(name), WG_PINT(time(NULL)) };
	rc = store_run(c, "INSERT INTO audit_archives (seq, first_id, last_id, records, prev_hash, last_hash, content, name,"
		       " created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", p, 9);
	if (!rc)
		rc = audit_append(app, c, 0, "system", "", time(NULL), "archive", "system", range, "", o->info.content);
	rc = rc ? (store_rollback(c), rc) : store_commit(c);
	if (!rc) {
		seq = 0;   /* listed: the files stay whatever follows */
		log_info("audit records %s archived to audit/archive/%s.tsv.gz / 审计记录已归档", range, name);
		rc = delete_archived(c, last);
	}
out:
	if (o->gz)
		gzclose(o->gz);
	if (fd >= 0)
		close(fd);
	if (rc) {
		unlink(tmp);
		/* Not listed: a file left by a failure is no archive; the next run writes it again. */
		if (seq > 0) {
			unlink(gz_path);
			unlink(sig_path);
		}
	}
	wg_free(o);
	return rc;
}

/* The id of the last record a signed checkpoint covers (anchor.c). */
int audit_anchored_id(struct wg_app *app, int64_t *last_id);

/* The id of the last record whose time is before `before`, among first..last:
 * a binary search by id (times grow with ids, near enough for a cut in
 * days; the table has no index on time and is never scanned). 0 if none. */
static int last_before(wg_conn *c, int64_t first, int64_t last, int64_t before, int64_t *out)
{
	int64_t lo = first, hi = last, found = 0;
	*out = 0;
	while (lo <= hi) {
		int64_t mid = lo + (hi - lo) / 2, at = 0;
		wg_param p[] = { WG_PINT(mid) };
		int rc = store_int(c, "SELECT at FROM audit WHERE id = ?", p, 1, &at);
		if (rc && rc != WG_ERR_NOT_FOUND)
			return rc;
		if (!rc && at < before) {
			found = mid;
			lo = mid + 1;
		} else {
			hi = mid - 1;
		}
	}
	*out = found;
	return 0;
}

int audit_archive_run(struct wg_app *app, int64_t before, int64_t *records)
{
	wg_conn *c;
	int64_t anchored = 0, first = 0, archived = 0, seq = 0, last = 0;
	char dir[1200];
	*records = 0;
	int rc = audit_anchored_id(app, &anchored);
	if (rc || anchored == 0)
		return rc;
	snprintf(dir, sizeof dir, "%s/audit/archive", app->data_dir);
	if (mkdir(dir, 0700) != 0 && errno != EEXIST)
		return WG_ERR_IO;
	store_acquire(app->store, &c);
	rc = store_int(c, "SELECT COALESCE(MAX(last_id), 0) FROM audit_archives", NULL, 0, &archived);
	if (!rc)
		rc = store_int(c, "SELECT COALESCE(MAX(seq), 0) FROM audit_archives", NULL, 0, &seq);
	/* What an earlier run archived but had not yet removed goes first. */
	if (!rc && archived)
		rc = delete_archived(c, archived);
	first = archived + 1;
	/* A prefix of the chain: anchored, and older than the cut throughout. */
	if (!rc && first <= anchored)
		rc = last_before(c, first, anchored, before, &last);
	while (!rc && last && first <= last) {
		int64_t end = last - first + 1 > (int64_t)WG_AUDIT_ARCHIVE_MAX_RECORDS ? first + WG_AUDIT_ARCHIVE_MAX_RECORDS - 1 : last;
		rc = archive_one(app, c, ++seq, first, end);
		if (!rc) {
			*records += end - first + 1;
			first = end + 1;
		}
	}
	store_release(app->store, c);
	return rc;
}

/* ---- reading ---- */

int audit_archive_read(const struct wg_app *app, const char *base, const struct audit_archive_info *info,
		       int (*row)(void *ctx, const struct audit_archive_row *r), void *ctx, char *why, size_t whyn)
{
	char gz_path[1200], sig_path[1200], line[AUDIT_CHECKPOINT_LINE], want[AUDIT_CHECKPOINT_LINE];
	char *text = NULL, *buf = NULL;
	unsigned char h[32], sig[crypto_sign_BYTES];
	char content[65];
	gzFile gz = NULL;
	int rc = WG_ERR_VALIDATION;
	int64_t expect = info->first_id, count = 0;
	crypto_generichash_state st;
	archive_path(gz_path, sizeof gz_path, base, info, "tsv.gz");
	archive_path(sig_path, sizeof sig_path, base, info, "sig");
	FILE *f = fopen(sig_path, "r");
	size_t n = sig_text(info, want, sizeof want);
	if (!f || !fgets(line, sizeof line, f) || strncmp(line, want, n) != 0 || line[n] != ' ' ||
	    sodium_hex2bin(sig, sizeof sig, line + n + 1, 2 * sizeof sig, NULL, NULL, NULL) != 0 ||
	    crypto_sign_verify_detached(sig, (const unsigned char *)want, n, app->audit_sign_pk) != 0) {
		snprintf(why, whyn, "archive %06lld: its signature line is missing, altered or not signed by keys/audit_sign.key"
			 " / 第 %lld 个归档的签名缺失、被改动或签名无效", (long long)info->seq, (long long)info->seq);
		goto out;
	}
	text = wg_malloc(AUDIT_ARCHIVE_LINE + 2);
	buf = wg_malloc(AUDIT_ARCHIVE_LINE);
	gz = text && buf ? gzopen(gz_path, "rb") : NULL;
	if (!gz) {
		rc = text && buf ? WG_ERR_VALIDATION : WG_ERR_NOMEM;
		snprintf(why, whyn, "archive %06lld: file missing / 第 %lld 个归档文件缺失", (long long)info->seq, (long long)info->seq);
		goto out;
	}
	crypto_generichash_init(&st, NULL, 0, sizeof h);
	while (gzgets(gz, text, AUDIT_ARCHIVE_LINE + 2)) {
		size_t len = strlen(text);
		struct audit_archive_row r;
		if (len == 0 || text[len - 1] != '\n' || audit_archive_parse_line(text, len - 1, &r, buf, AUDIT_ARCHIVE_LINE) ||
		    r.row.id != expect) {
			snprintf(why, whyn, "archive %06lld: record %lld is missing or unreadable / 第 %lld 个归档中第 %lld 条记录缺失或无法读取",
				 (long long)info->seq, (long long)expect, (long long)info->seq, (long long)expect);
			goto out;
		}
		crypto_generichash_update(&st, (const unsigned char *)text, len);
		if ((rc = row(ctx, &r)) != 0)
			goto out;
		rc = WG_ERR_VALIDATION;
		expect++;
		count++;
	}
	int err;
	gzerror(gz, &err);
	crypto_generichash_final(&st, h, sizeof h);
	wg_hex(content, h, sizeof h);
	if (err != Z_OK || count != info->count || expect != info->last_id + 1 || strcmp(content, info->content) != 0) {
		snprintf(why, whyn, "archive %06lld: cut short or altered (%lld of %lld records) / 第 %lld 个归档被截断或改动",
			 (long long)info->seq, (long long)count, (long long)info->count, (long long)info->seq);
		goto out;
	}
	rc = 0;
out:
	if (f)
		fclose(f);
	if (gz)
		gzclose(gz);
	wg_free(text);
	wg_free(buf);
	return rc;
}
