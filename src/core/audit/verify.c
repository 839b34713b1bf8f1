/* wangge audit verify and POST /api/v1/audit/verify: the archives, the live
 * chain, its head and the signed checkpoints, checked as one.
 *
 * Order matters when the server is writing meanwhile: the checkpoints are
 * read first, then the database in one snapshot, so that every checkpoint
 * read names a record the snapshot must hold. */
#include "core/audit/audit.h"
#include "core/audit/archive.h"
#include "core/audit/audit_int.h"
#include "core/lib/err.h"
#include "core/lib/mem.h"
#include "core/lib/parse.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int audit_checkpoints_load(const struct wg_app *app, const char *extra, struct audit_checkpoint **out, size_t *count,
			   char *why, size_t whyn);

struct walk {
	struct wg_app *app;
	struct audit_verify_result *res;
	char prev[65];
	int64_t expect;
	const struct audit_checkpoint *cps;   /* by seq; last_id never decreases */
	size_t ncps, next_cp;
	int64_t max_recorded_cp;              /* highest seq the chain says was written */
};

static int broken(struct walk *w, int64_t id, const char *fmt_en_zh, int64_t a, int64_t b)
{
	w->res->first_bad_id = id ? id : 1;
	snprintf(w->res->reason, sizeof w->res->reason, fmt_en_zh, (long long)a, (long long)b);
	return WG_ERR_VALIDATION;
}

/* One record, in order: its place, its hash, the checkpoints that name it. */
static int check_row(struct walk *w, const struct audit_row *a, const char *stored_prev, const char *stored_hash)
{
	char hash[65];
	struct audit_row row = *a;
	w->res->records++;
	if (a->id != w->expect)
		return broken(w, w->expect, "record %lld is missing / 第 %lld 条记录缺失", w->expect, w->expect);
	row.prev_hash = w->prev;
	audit_row_hash(w->app->audit_key, &row, hash);
	if (strcmp(stored_prev, w->prev) != 0 || strcmp(stored_hash, hash) != 0)
		return broken(w, a->id, "record %lld was altered / 第 %lld 条记录被篡改", a->id, a->id);
	while (w->next_cp < w->ncps && w->cps[w->next_cp].last_id == a->id) {
		if (strcmp(w->cps[w->next_cp].last_hash, hash) != 0)
			return broken(w, a->id, "record %lld is not the one checkpoint %lld signed / 第 %lld 条记录与签名检查点不符",
				      a->id, w->cps[w->next_cp].seq);
		w->next_cp++;
	}
	if (w->next_cp < w->ncps && w->cps[w->next_cp].last_id < a->id)
		return broken(w, w->cps[w->next_cp].last_id, "checkpoint %lld names record %lld out of order / 检查点顺序错误",
			      w->cps[w->next_cp].seq, w->cps[w->next_cp].last_id);
	if (strcmp(a->action, "checkpoint") == 0 && strcmp(a->resource, "system") == 0) {
		int64_t seq;
		if (wg_parse_i64(a->record_id, strlen(a->record_id), &seq) && seq > w->max_recorded_cp)
			w->max_recorded_cp = seq;
	}
	memcpy(w->prev, hash, sizeof w->prev);
	w->expect++;
	return 0;
}

static int archive_row(void *ctx, const struct audit_archive_row *r)
{
	return check_row(ctx, &r->row, r->row.prev_hash, r->hash);
}

static int walk_archives(struct walk *w, wg_conn *c)
{
	wg_stmt *s;
	struct audit_archive_info *list = NULL;
	size_t n = 0, cap = 0;
	int rc = store_query(c, "SELECT seq, first_id, last_id, records, prev_hash, last_hash, content FROM audit_archives ORDER BY seq",
			     NULL, 0, &s);
	if (rc)
		return rc;
	while ((rc = stmt_next(s)) == 1) {
		if (n == cap) {
			size_t ncap = cap ? cap * 2 : 16;
			struct audit_archive_info *more = wg_realloc(list, ncap * sizeof *more);
			if (!more) {
				rc = -WG_ERR_NOMEM;
				break;
			}
			list = more;
			cap = ncap;
		}
		struct audit_archive_info *a = &list[n++];
		*a = (struct audit_archive_info){ .seq = stmt_int(s, 0), .first_id = stmt_int(s, 1), .last_id = stmt_int(s, 2),
						  .count = stmt_int(s, 3) };
		wg_copy_text(a->prev_hash, sizeof a->prev_hash, stmt_text(s, 4));
		wg_copy_text(a->last_hash, sizeof a->last_hash, stmt_text(s, 5));
		wg_copy_text(a->content, sizeof a->content, stmt_text(s, 6));
	}
	stmt_done(s);
	rc = rc < 0 ? -rc : 0;
	for (size_t i = 0; !rc && i < n; i++) {
		if (list[i].seq != (int64_t)i + 1 || list[i].first_id != w->expect) {
			rc = broken(w, w->expect, "archive %lld is missing or out of place (records from %lld) / 归档缺失或顺序错误",
				    (long long)i + 1, w->expect);
			break;
		}
		rc = audit_archive_read(w->app, w->app->data_dir, &list[i], archive_row, w, w->res->reason, sizeof w->res->reason);
		if (rc == WG_ERR_VALIDATION && !w->res->first_bad_id)
			w->res->first_bad_id = w->expect;
		w->res->archives++;
	}
	wg_free(list);
	return rc;
}

static int walk_live(struct walk *w, wg_conn *c)
{
	wg_stmt *s;
	wg_param p[] = { WG_PINT(w->expect) };
	int rc = store_query(c, "SELECT id, at, COALESCE(user_id, 0), username, address, action, resource, record_id,"
			     " node_path, change_hash, prev_hash, hash, events FROM audit WHERE id >= ? ORDER BY id", p, 1, &s);
	if (rc)
		return rc;
	while ((rc = stmt_next(s)) == 1) {
		struct audit_row a = {
			.id = stmt_int(s, 0), .at = stmt_int(s, 1), .user_id = stmt_int(s, 2),
			.username = stmt_text(s, 3), .address = stmt_text(s, 4), .action = stmt_text(s, 5),
			.resource = stmt_text(s, 6), .record_id = stmt_text(s, 7), .node_path = stmt_text(s, 8),
			.change_hash = stmt_text(s, 9), .events = stmt_int(s, 12),
		};
		if ((rc = check_row(w, &a, stmt_text(s, 10), stmt_text(s, 11))) != 0)
			break;
	}
	stmt_done(s);
	return rc < 0 ? -rc : rc;
}

/* The head: where the chain ends, keyed; and no signed checkpoint beyond it. */
static int check_end(struct walk *w, wg_conn *c)
{
	struct audit_head h;
	char mac[65];
	int rc = audit_head_read(c, &h);
	if (rc)
		return rc;
	int64_t last = w->expect - 1;
	if (h.last_id != last || strcmp(h.last_hash, w->prev) != 0)
		return broken(w, w->expect, "records after %lld were deleted / 第 %lld 条之后的记录被删除", last, last);
	audit_head_mac(w->app->audit_key, h.last_id, h.last_hash, mac);
	if (h.mac[0] ? strcmp(h.mac, mac) != 0 : (w->ncps > 0 && last > 0))
		return broken(w, last, "the head of the chain (record %lld) was rewritten: its MAC does not match"
			      " / 审计链末端(第 %lld 条)被改写", last, last);
	if (w->next_cp < w->ncps) {
		const struct audit_checkpoint *cp = &w->cps[w->next_cp];
		w->res->first_bad_id = last + 1;
		snprintf(w->res->reason, sizeof w->res->reason,
			 "the chain ends at record %lld but checkpoint %lld signed record %lld: records were cut off or an older copy"
			 " restored / 审计链止于第 %lld 条,而检查点 %lld 已签署到第 %lld 条(记录被截断或数据库被回滚)",
			 (long long)last, (long long)cp->seq, (long long)cp->last_id, (long long)last, (long long)cp->seq,
			 (long long)cp->last_id);
		return WG_ERR_VALIDATION;
	}
	if (w->max_recorded_cp > (int64_t)w->ncps) {
		w->res->first_bad_id = last;
		snprintf(w->res->reason, sizeof w->res->reason,
			 "the chain records checkpoint %lld but audit/checkpoints holds %zu: the file was cut short or replaced"
			 " / 审计链记载了检查点 %lld,但检查点文件只有 %zu 个(文件被截断或替换)",
			 (long long)w->max_recorded_cp, w->ncps, (long long)w->max_recorded_cp, w->ncps);
		return WG_ERR_VALIDATION;
	}
	return 0;
}

static int by_last_id(const void *a, const void *b)
{
	const struct audit_checkpoint *x = a, *y = b;
	return x->last_id != y->last_id ? (x->last_id > y->last_id) - (x->last_id < y->last_id) : (x->seq > y->seq) - (x->seq < y->seq);
}

int audit_verify(struct wg_app *app, const char *extra_checkpoints, struct audit_verify_result *res)
{
	struct audit_checkpoint *cps = NULL;
	size_t ncps = 0;
	wg_conn *c;
	memset(res, 0, sizeof *res);
	int rc = audit_checkpoints_load(app, extra_checkpoints, &cps, &ncps, res->reason, sizeof res->reason);
	if (rc == WG_ERR_VALIDATION) {
		res->first_bad_id = 1;
		return 0;
	}
	if (rc)
		return rc;
	res->checkpoints = (int64_t)ncps;
	/* Checkpoints are written in order; a later one naming an earlier record would be forged order. */
	for (size_t i = 1; i < ncps; i++)
		if (cps[i].last_id < cps[i - 1].last_id) {
			res->first_bad_id = cps[i].last_id ? cps[i].last_id : 1;
			snprintf(res->reason, sizeof res->reason, "checkpoint %lld goes back before checkpoint %lld / 检查点倒退",
				 (long long)cps[i].seq, (long long)cps[i - 1].seq);
			wg_free(cps);
			return 0;
		}
	if (ncps)
		qsort(cps, ncps, sizeof *cps, by_last_id);
	struct walk w = { .app = app, .res = res, .prev = AUDIT_GENESIS_HASH, .expect = 1, .cps = cps, .ncps = ncps };
	store_acquire(app->store, &c);
	rc = store_begin_read(c);
	if (!rc)
		rc = walk_archives(&w, c);
	if (!rc)
		rc = walk_live(&w, c);
	if (!rc)
		rc = check_end(&w, c);
	if (store_in_transaction(c))
		store_commit(c);
	store_release(app->store, c);
	wg_free(cps);
	return rc == WG_ERR_VALIDATION ? 0 : rc;
}
