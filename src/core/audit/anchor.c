/* The end of the chain anchored outside the database.
 *
 * The head (audit_head) carries a MAC keyed like the records, so it cannot
 * be rewritten to a shorter chain without keys/audit.key. What a MAC cannot
 * show is a rollback: an older copy of the database, head and all. So the
 * server signs the head (Ed25519, keys/audit_sign.key) now and then
 * (audit_checkpoint_seconds, and at start and stop) into the append-only
 * file DATA/audit/checkpoints and into the log, one line each:
 *
 *   WGCP1 seq at last_id last_hash prev sig
 *
 * prev is the BLAKE2b-256 of the line before (zeros for the first), so the
 * lines form a chain of their own; each checkpoint is then recorded in the
 * audit chain too (action "checkpoint", record_id seq, change_hash the
 * line's hash). The verifier checks both ways: every checkpoint names a
 * record the chain holds with that hash (a chain cut short or rolled back
 * fails), and every checkpoint the chain records is in the file (a file cut
 * short fails). */
#include "core/audit/audit.h"
#include "core/audit/audit_int.h"
#include "core/lib/err.h"
#include "core/lib/log.h"
#include "core/lib/mem.h"
#include "core/lib/parse.h"

#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define ZERO_HASH AUDIT_GENESIS_HASH

static void line_hash(const char *text, size_t n, char out[65])
{
	unsigned char h[32];
	crypto_generichash(h, sizeof h, (const unsigned char *)text, n, NULL, 0);
	wg_hex(out, h, sizeof h);
}

size_t audit_checkpoint_format(const struct wg_app *app, const struct audit_checkpoint *cp, char line[AUDIT_CHECKPOINT_LINE])
{
	unsigned char sig[crypto_sign_BYTES];
	int n = snprintf(line, AUDIT_CHECKPOINT_LINE, "WGCP1 %lld %lld %lld %s %s", (long long)cp->seq, (long long)cp->at,
			 (long long)cp->last_id, cp->last_hash, cp->prev);
	if (n < 0 || (size_t)n + 2 + 2 * sizeof sig >= AUDIT_CHECKPOINT_LINE)
		return 0;
	crypto_sign_detached(sig, NULL, (const unsigned char *)line, (size_t)n, app->audit_sign_sk);
	line[n++] = ' ';
	wg_hex(line + n, sig, sizeof sig);
	return (size_t)n + 2 * sizeof sig;
}

static bool is_hex64(const char *s, size_t n)
{
	if (n != 64)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return true;
}

int audit_checkpoint_parse(const unsigned char pk[32], const char *line, size_t n, struct audit_checkpoint *cp)
{
	const char *start = NULL;
	for (size_t i = 0; i + 6 <= n && !start; i++)
		if (memcmp(line + i, "WGCP1 ", 6) == 0)
			start = line + i;
	if (!start)
		return 1;
	size_t len = n - (size_t)(start - line);
	while (len > 0 && (start[len - 1] == '\n' || start[len - 1] == '\r' || start[len - 1] == ' '))
		len--;
	/* WGCP1 seq at last_id last_hash prev sig: seven fields. */
	const char *f[7];
	size_t fl[7], k = 0, from = 0;
	for (size_t i = 0; i <= len; i++) {
		if (i < len && start[i] != ' ')
			continue;
		if (k == 7)
			return WG_ERR_VALIDATION;
		f[k] = start + from;
		fl[k++] = i - from;
		from = i + 1;
	}
	unsigned char sig[crypto_sign_BYTES];
	if (k != 7 || !wg_parse_i64(f[1], fl[1], &cp->seq) || !wg_parse_i64(f[2], fl[2], &cp->at) ||
	    !wg_parse_i64(f[3], fl[3], &cp->last_id) || cp->seq < 1 || cp->last_id < 0 || !is_hex64(f[4], fl[4]) ||
	    !is_hex64(f[5], fl[5]) || fl[6] != 2 * sizeof sig ||
	    sodium_hex2bin(sig, sizeof sig, f[6], fl[6], NULL, NULL, NULL) != 0)
		return WG_ERR_VALIDATION;
	size_t signed_len = (size_t)(f[6] - start) - 1;
	if (crypto_sign_verify_detached(sig, (const unsigned char *)start, signed_len, pk) != 0)
		return WG_ERR_VALIDATION;
	memcpy(cp->last_hash, f[4], 64);
	cp->last_hash[64] = '\0';
	memcpy(cp->prev, f[5], 64);
	cp->prev[64] = '\0';
	line_hash(start, len, cp->line_hash);
	return 0;
}

static void checkpoints_path(const struct wg_app *app, char *out, size_t size)
{
	snprintf(out, size, "%s/audit/checkpoints", app->data_dir);
}

/* The last line of the open file fd (up to AUDIT_CHECKPOINT_LINE); "" when empty. */
static int last_line(int fd, char line[AUDIT_CHECKPOINT_LINE])
{
	struct stat sb;
	line[0] = '\0';
	if (fstat(fd, &sb) != 0)
		return WG_ERR_IO;
	off_t from = sb.st_size > AUDIT_CHECKPOINT_LINE - 1 ? sb.st_size - (AUDIT_CHECKPOINT_LINE - 1) : 0;
	ssize_t got = pread(fd, line, (size_t)(sb.st_size - from), from);
	if (got < 0)
		return WG_ERR_IO;
	line[got] = '\0';
	while (got > 0 && line[got - 1] == '\n')
		line[--got] = '\0';
	char *nl = strrchr(line, '\n');
	if (nl)
		memmove(line, nl + 1, strlen(nl + 1) + 1);
	return 0;
}

int audit_anchored_id(struct wg_app *app, int64_t *last_id)
{
	char path[1200], line[AUDIT_CHECKPOINT_LINE];
	struct audit_checkpoint cp;
	*last_id = 0;
	checkpoints_path(app, path, sizeof path);
	int fd = open(path, O_RDONLY);
	if (fd < 0)
		return errno == ENOENT ? 0 : WG_ERR_IO;
	int rc = last_line(fd, line);
	close(fd);
	if (!rc && line[0] && audit_checkpoint_parse(app->audit_sign_pk, line, strlen(line), &cp) == 0)
		*last_id = cp.last_id;
	return rc;
}

int audit_checkpoint(struct wg_app *app, bool *written)
{
	char path[1200], dir[1200], line[AUDIT_CHECKPOINT_LINE], last[AUDIT_CHECKPOINT_LINE];
	struct audit_checkpoint prev = { 0 }, cp = { 0 };
	struct audit_head head;
	wg_conn *c;
	int rc, fd;
	*written = false;
	snprintf(dir, sizeof dir, "%s/audit", app->data_dir);
	if (mkdir(dir, 0700) != 0 && errno != EEXIST)
		return WG_ERR_IO;
	checkpoints_path(app, path, sizeof path);
	fd = open(path, O_RDWR | O_APPEND | O_CREAT, 0600);
	if (fd < 0)
		return WG_ERR_IO;
	/* One writer at a time, whatever the process. */
	if (flock(fd, LOCK_EX) != 0) {
		close(fd);
		return WG_ERR_IO;
	}
	store_acquire(app->store, &c);
	rc = last_line(fd, last);
	if (!rc && last[0] && audit_checkpoint_parse(app->audit_sign_pk, last, strlen(last), &prev) != 0) {
		log_warn("audit/checkpoints: its last line is not a valid checkpoint; not writing after it"
			 " / 检查点文件的最后一行无效");
		rc = WG_ERR_VALIDATION;
	}
	if (!rc)
		rc = audit_head_read(c, &head);
	if (rc || head.last_id == 0)
		goto out;
	/* Nothing new since the last one (its own record aside): no line. */
	if (prev.seq && head.last_id <= prev.last_id + 1) {
		bool only_its_own = head.last_id == prev.last_id;
		if (!only_its_own) {
			wg_stmt *s;
			wg_param p[] = { WG_PINT(head.last_id) };
			if ((rc = store_query(c, "SELECT action, record_id FROM audit WHERE id = ?", p, 1, &s)) != 0)
				goto out;
			if (stmt_next(s) == 1) {
				char seq[24];
				snprintf(seq, sizeof seq, "%lld", (long long)prev.seq);
				only_its_own = strcmp(stmt_text(s, 0), "checkpoint") == 0 && strcmp(stmt_text(s, 1), seq) == 0;
			}
			stmt_done(s);
		}
		if (only_its_own)
			goto out;
	}
	cp.seq = prev.seq + 1;
	cp.at = time(NULL);
	cp.last_id = head.last_id;
	wg_copy_text(cp.last_hash, sizeof cp.last_hash, head.last_hash);
	wg_copy_text(cp.prev, sizeof cp.prev, prev.seq ? prev.line_hash : ZERO_HASH);
	size_t n = audit_checkpoint_format(app, &cp, line);
	if (!n) {
		rc = WG_ERR_INTERNAL;
		goto out;
	}
	line_hash(line, n, cp.line_hash);
	line[n] = '\n';
	if (write(fd, line, n + 1) != (ssize_t)(n + 1) || fdatasync(fd) != 0) {
		rc = WG_ERR_IO;
		goto out;
	}
	line[n] = '\0';
	/* The log is the copy an operator ships elsewhere (journald, syslog). */
	log_info("audit checkpoint / 审计检查点: %s", line);
	*written = true;
	char seq[24];
	snprintf(seq, sizeof seq, "%lld", (long long)cp.seq);
	rc = store_begin(c);
	if (!rc)
		rc = audit_append(app, c, 0, "system", "", cp.at, "checkpoint", "system", seq, "", cp.line_hash);
	if (!rc)
		rc = store_commit(c);
	else
		store_rollback(c);
out:
	store_release(app->store, c);
	flock(fd, LOCK_UN);
	close(fd);
	return rc;
}

int audit_checkpoints_load(const struct wg_app *app, const char *extra, struct audit_checkpoint **out, size_t *count,
			   char *why, size_t whyn)
{
	char path[1200], line[AUDIT_CHECKPOINT_LINE];
	struct audit_checkpoint *cps = NULL, cp;
	size_t n = 0, cap = 0;
	int rc = 0;
	*out = NULL;
	*count = 0;
	checkpoints_path(app, path, sizeof path);
	FILE *f = fopen(path, "r");
	if (!f && errno != ENOENT)
		return WG_ERR_IO;
	while (f && !rc && fgets(line, sizeof line, f)) {
		if (line[0] == '\n' || line[0] == '\0')
			continue;
		int p = audit_checkpoint_parse(app->audit_sign_pk, line, strlen(line), &cp);
		const char *prev = n ? cps[n - 1].line_hash : ZERO_HASH;
		if (p || cp.seq != (int64_t)n + 1 || strcmp(cp.prev, prev) != 0) {
			snprintf(why, whyn, "audit/checkpoints line %zu is not the signed checkpoint %zu that follows the one before"
				 " (altered, inserted or removed) / 检查点文件第 %zu 行无效(被改动、插入或删除)", n + 1, n + 1, n + 1);
			rc = WG_ERR_VALIDATION;
			break;
		}
		if (n == cap) {
			size_t ncap = cap ? cap * 2 : 256;
			struct audit_checkpoint *more = wg_realloc(cps, ncap * sizeof *more);
			if (!more) {
				rc = WG_ERR_NOMEM;
				break;
			}
			cps = more;
			cap = ncap;
		}
		cps[n++] = cp;
	}
	if (f)
		fclose(f);
	/* Lines kept elsewhere (the log): each must be the file's own line, or
	 * show the file was cut short. */
	FILE *x = !rc && extra ? fopen(extra, "r") : NULL;
	if (!rc && extra && !x) {
		snprintf(why, whyn, "cannot read %s / 无法读取 %s", extra, extra);
		rc = WG_ERR_IO;
	}
	while (x && !rc && fgets(line, sizeof line, x)) {
		int p = audit_checkpoint_parse(app->audit_sign_pk, line, strlen(line), &cp);
		if (p == 1)
			continue;
		if (p) {
			snprintf(why, whyn, "a checkpoint in %s has no valid signature / %s 中的检查点签名无效", extra, extra);
			rc = WG_ERR_VALIDATION;
		} else if (cp.seq > (int64_t)n) {
			snprintf(why, whyn, "checkpoint %lld (record %lld) is in %s but not in audit/checkpoints: the file was cut short"
				 " / 检查点 %lld 不在检查点文件中(文件被截断)", (long long)cp.seq, (long long)cp.last_id, extra,
				 (long long)cp.seq);
			rc = WG_ERR_VALIDATION;
		} else if (strcmp(cps[cp.seq - 1].line_hash, cp.line_hash) != 0) {
			snprintf(why, whyn, "checkpoint %lld differs from the copy in %s / 检查点 %lld 与副本不符", (long long)cp.seq,
				 extra, (long long)cp.seq);
			rc = WG_ERR_VALIDATION;
		}
	}
	if (x)
		fclose(x);
	if (rc) {
		wg_free(cps);
		return rc;
	}
	*out = cps;
	*count = n;
	return 0;
}
