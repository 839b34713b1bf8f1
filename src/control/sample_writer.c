/* Group commit for NAT samples. A mass round takes tens of thousands of
 * samples a minute at the door; a transaction each would write the same
 * few pages (the samples' index leaf, the per-node counts, the audit head)
 * once per sample, and every request's reads would meet a database changed
 * by another connection since its last look (SQLite then drops and remaps
 * its memory map of the file, a TLB shootdown on every core). So the
 * request only reads its body; a writer thread takes every sample queued
 * since its last commit and, on its one connection and in one transaction,
 * checks each (the round visible to the sampler and open on the day, the
 * point the round's, the person found and living in the round's subtree),
 * stores it (a person once per round; the counts of its node and the nodes
 * above it, summed per node for the batch), writes one audit record per
 * user, round and batch (the range of ids and a digest of exactly which
 * samples, as an import's file record does), commits, and only then lets
 * each request answer: an answered sample is committed, a refused one says
 * why. Outside the server (no thread) the same runs in the request's own
 * transaction. */
#include "control/control_int.h"
#include "core/app/app.h"
#include "core/audit/audit.h"
#include "core/auth/scope.h"
#include "core/lib/err.h"
#include "core/lib/mem.h"
#include "core/lib/parse.h"

#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#define BATCH_MAX 512

static struct {
	pthread_mutex_t lock;
	pthread_cond_t more, done;
	struct ctl_sample_job *head, *tail;
	bool running, stop;
	pthread_t thread;
	struct wg_app *app;
} w = { .lock = PTHREAD_MUTEX_INITIALIZER, .more = PTHREAD_COND_INITIALIZER, .done = PTHREAD_COND_INITIALIZER };

/* A batch's samples summed per (round, node): a small hash, as a batch
 * touches the same few streets and communities again and again. */
#define SUM_SLOTS 2048   /* a power of two, twice the entries: the whole stays on the heap (< 128 KiB, no mmap) */
#define SUM_MAX (SUM_SLOTS / 2)
struct node_sum { int64_t round, node, n; const char *path; size_t len; };
struct sums { struct node_sum e[SUM_MAX]; size_t n; int16_t slot[SUM_SLOTS]; };

/* The rounds a batch met, read once each. */
#define ROUNDS_CACHED 8
struct round_seen { int64_t id, from, to; bool open; char path[WG_MAX_GRID_PATH], name[CTL_MAX_NAME_BYTES]; };
struct rounds { struct round_seen r[ROUNDS_CACHED]; int n; };

static int round_of(wg_req *x, struct rounds *seen, int64_t id, const struct round_seen **out)
{
	for (int i = 0; i < seen->n; i++)
		if (seen->r[i].id == id)
			return *out = &seen->r[i], 0;
	struct round_seen *r = &seen->r[seen->n < ROUNDS_CACHED ? seen->n++ : ROUNDS_CACHED - 1];
	wg_stmt *s;
	wg_param p[] = { WG_PINT(id) };
	int rc = store_query(x->db, "SELECT node_path, status, date_from, date_to, name FROM control_nat_rounds WHERE id = ?", p, 1, &s);
	if (rc)
		return rc;
	rc = stmt_next(s);
	r->id = rc == 1 ? id : 0;
	if (rc == 1) {
		wg_copy_text(r->path, sizeof r->path, stmt_text(s, 0));
		r->open = strcmp(stmt_text(s, 1), "open") == 0;
		ctl_day_parse(stmt_text(s, 2), stmt_len(s, 2), &r->from);
		ctl_day_parse(stmt_text(s, 3), stmt_len(s, 3), &r->to);
		wg_copy_text(r->name, sizeof r->name, stmt_text(s, 4));
	}
	stmt_done(s);
	*out = r;
	return rc < 0 ? -rc : 0;
}

/* Whether the round lets the sample in (visible to the sampler, open, on
 * its dates); x->fail says why not (a database error is returned). */
static int check_round(wg_req *x, struct rounds *seen, struct ctl_sample_job *j, const struct round_seen **out)
{
	const struct round_seen *round;
	int rc = round_of(x, seen, j->round_id, &round);
	if (rc)
		return rc;
	*out = round;
	/* Visible to a sampler whose scope holds the round or lies inside it. */
	if (!round->id || !(scope_contains(j->scope, round->path) || scope_contains(round->path, j->scope)))
		return req_failf(x, WG_ERR_NOT_FOUND, NULL, "全员核酸检测 %lld 不存在或不在您的管辖范围内",
				 "NAT round %lld does not exist or is outside your scope", (long long)j->round_id, (long long)j->round_id), 0;
	if (!round->open)
		return req_failf(x, WG_ERR_CONFLICT, NULL, "全员核酸检测“%s”已结束", "NAT round '%s' has ended", round->name, round->name), 0;
	int64_t day = ctl_local_day(j->at);
	if (day < round->from || day > round->to)
		return req_fail(x, WG_ERR_CONFLICT, "at", "采样时间不在本轮检测的日期内", "the sample's time lies outside the round's dates"), 0;
	int64_t ids[WG_MAX_GRID_DEPTH];
	j->root_depth = ctl_path_ids(round->path, ids, WG_MAX_GRID_DEPTH);
	wg_copy_text(j->round_path, sizeof j->round_path, round->path);
	return 0;
}

/* What the point and the person found say of the sample (the round passed):
 * the point one of the round's (point_round: the round the point belongs
 * to, 0 when there is no such point), the person found (person_id > 0,
 * j->path where she lives) and living in the round's subtree. Both stores
 * answer through here, so a refusal reads the same on each. */
static void check_person(wg_req *x, const struct ctl_sample_job *j, const struct round_seen *round, int64_t point_round)
{
	if (j->point_id && point_round != j->round_id)
		req_fail(x, WG_ERR_VALIDATION, "point_id", "采样点不属于本轮检测", "the point is not one of this round's");
	else if (!j->person_id)
		req_fail(x, WG_ERR_NOT_FOUND, "code", "没有与此码对应的登记人员", "no registry person has this code");
	else if (!scope_contains(j->round_path, j->path))
		req_failf(x, WG_ERR_VALIDATION, "code", "人员 %lld 不在本轮检测“%s”的范围内", "person %lld lives outside the subtree of round '%s'",
			  (long long)j->person_id, round->name, (long long)j->person_id, round->name);
}

/* SQLite: the point and the person read one by one (a read costs no round trip). */
static int check_job(wg_req *x, struct ctl_sample_job *j, const struct round_seen *round)
{
	int64_t of = 0;
	int rc;
	if (j->point_id) {
		wg_param p[] = { WG_PINT(j->point_id) };
		rc = store_int(x->db, "SELECT round_id FROM control_nat_points WHERE id = ?", p, 1, &of);
		if (rc && rc != WG_ERR_NOT_FOUND)
			return rc;
	}
	wg_stmt *s;
	wg_param byid[] = { WG_PINT(j->code_person) }, bybidx[] = { WG_PTEXT(j->code_bidx) };
	rc = j->code_person ? store_query(x->db, "SELECT id, node_path, name FROM registry_people WHERE id = ?", byid, 1, &s)
			    : store_query(x->db, "SELECT id, node_path, name FROM registry_people WHERE id_number_bidx = ?", bybidx, 1, &s);
	if (rc)
		return rc;
	j->person_id = 0;
	rc = stmt_next(s);
	if (rc == 1) {
		j->person_id = stmt_int(s, 0);
		wg_copy_text(j->path, sizeof j->path, stmt_text(s, 1));
		wg_copy_text(j->name, sizeof j->name, stmt_text(s, 2));
	}
	stmt_done(s);
	if (rc < 0)
		return -rc;
	check_person(x, j, round, of);
	return 0;
}

/* The sample already stored for this person and round, into the job. */
static int read_back(wg_conn *c, struct ctl_sample_job *j)
{
	wg_stmt *s;
	wg_param p[] = { WG_PINT(j->round_id), WG_PINT(j->person_id) };
	int rc = store_query(c, "SELECT id, point_id, COALESCE(tube, ''), channel, sampled_at FROM control_nat_samples"
			     " WHERE round_id = ? AND person_id = ?", p, 2, &s);
	if (rc)
		return rc;
	if ((rc = stmt_next(s)) == 1) {
		j->id = stmt_int(s, 0);
		j->point_id = stmt_is_null(s, 1) ? 0 : stmt_int(s, 1);
		wg_copy_text(j->tube, sizeof j->tube, stmt_text(s, 2));
		wg_copy_text(j->channel, sizeof j->channel, stmt_text(s, 3));
		j->at = stmt_int(s, 4);
	}
	stmt_done(s);
	return rc < 0 ? -rc : rc == 1 ? 0 : WG_ERR_INTERNAL;
}

/* SQLite: the unique key says a person was sampled already this round. */
static int insert_one(wg_conn *c, struct ctl_sample_job *j)
{
	wg_param p[] = { WG_PINT(j->round_id), WG_PINT(j->person_id), WG_PTEXT(j->path), j->point_id ? WG_PINT(j->point_id) : WG_PNULL,
			 j->tube[0] ? WG_PTEXT(j->tube) : WG_PNULL, WG_PTEXT(j->channel), WG_PINT(j->at), WG_PINT(j->user_id) };
	int rc = store_insert(c, "INSERT INTO control_nat_samples (round_id, person_id, node_path, point_id, tube, channel, sampled_at, user_id)"
			      " VALUES (?, ?, ?, ?, ?, ?, ?, ?)", p, 8, &j->id);
	j->duplicate = rc == WG_ERR_CONFLICT;
	return j->duplicate ? read_back(c, j) : rc;
}

/* SQLite: each sample the round let in, checked and stored in turn. */
static int store_each(struct wg_app *app, wg_conn *c, struct rounds *seen, struct ctl_sample_job **jobs, size_t n, int64_t now)
{
	int rc = 0;
	for (size_t i = 0; !rc && i < n; i++) {
		const struct round_seen *round;
		wg_req x = { .app = app, .db = c, .now = now };
		if (jobs[i]->rc || (rc = round_of(&x, seen, jobs[i]->round_id, &round)) || (rc = check_job(&x, jobs[i], round)))
			continue;
		if (x.fail.code) {  /* refused: this sample only */
			jobs[i]->fail = x.fail;
			jobs[i]->rc = x.fail.code;
			continue;
		}
		rc = insert_one(c, jobs[i]);
	}
	return rc;
}

/* PostgreSQL: a round trip per sample (the person, the point, the insert)
 * would bound the rate by the network, so the whole batch is one
 * statement: the samples' values as arrays, each sample's person and
 * point looked up, those that pass inserted (the first of a person's
 * samples in the batch), and per sample what was found and what became of
 * it. The answers are then given by the same check as on SQLite
 * (check_person); the statement's own filter is the same test, and a
 * sample it stored that the check refuses fails the batch. */
static const char pg_batch_sql[] =
	"WITH s AS (SELECT * FROM unnest(?::bigint[], ?::bigint[], ?::text[], ?::bigint[], ?::text[], ?::text[], ?::bigint[], ?::bigint[])"
	"   WITH ORDINALITY AS s(round_id, person, bidx, point_id, tube, channel, sampled_at, user_id, k)),"
	" p AS (SELECT s.*, COALESCE(a.id, b.id) AS person_id, COALESCE(a.node_path, b.node_path) AS node_path,"
	"   COALESCE(a.name, b.name) AS name, pt.round_id AS point_round, r.node_path AS round_path"
	"   FROM s JOIN control_nat_rounds r ON r.id = s.round_id"
	"   LEFT JOIN registry_people a ON s.person <> 0 AND a.id = s.person"
	"   LEFT JOIN registry_people b ON s.person = 0 AND b.id_number_bidx = s.bidx"
	"   LEFT JOIN control_nat_points pt ON pt.id = s.point_id),"
	" ok AS (SELECT DISTINCT ON (round_id, person_id) * FROM p"
	"   WHERE person_id IS NOT NULL AND (point_id IS NULL OR point_round = round_id) AND starts_with(node_path, round_path)"
	"   ORDER BY round_id, person_id, k),"
	" ins AS (INSERT INTO control_nat_samples (round_id, person_id, node_path, point_id, tube, channel, sampled_at, user_id)"
	"   SELECT round_id, person_id, node_path, point_id, tube, channel, sampled_at, user_id FROM ok ORDER BY k"
	"   ON CONFLICT (round_id, person_id) DO NOTHING RETURNING id, round_id, person_id)"
	" SELECT p.k, p.person_id, p.node_path, p.name, p.point_round, i.id"
	" FROM p LEFT JOIN ok ON ok.k = p.k"
	" LEFT JOIN ins i ON ok.k IS NOT NULL AND i.round_id = p.round_id AND i.person_id = p.person_id"
	" ORDER BY p.k";

#define PG_COLUMNS 8
#define PG_ARRAY_MAX (256u * 1024)   /* a column of BATCH_MAX samples: tubes of 32 characters, every one escaped */

/* The arrays of the samples the round let in; at[k] is the k-th one's job. */
static int pg_arrays(wg_buf col[PG_COLUMNS], struct ctl_sample_job **jobs, size_t n, size_t *at, size_t *m)
{
	*m = 0;
	for (size_t i = 0; i < n; i++) {
		const struct ctl_sample_job *j = jobs[i];
		if (j->rc)
			continue;
		at[(*m)++] = i;
		store_array_int(&col[0], j->round_id);
		store_array_int(&col[1], j->code_person);
		store_array_text(&col[2], j->code_bidx, strlen(j->code_bidx));
		if (j->point_id)
			store_array_int(&col[3], j->point_id);
		else
			store_array_null(&col[3]);
		if (j->tube[0])
			store_array_text(&col[4], j->tube, strlen(j->tube));
		else
			store_array_null(&col[4]);
		store_array_text(&col[5], j->channel, strlen(j->channel));
		store_array_int(&col[6], j->at);
		store_array_int(&col[7], j->user_id);
	}
	int rc = 0;
	for (int k = 0; k < PG_COLUMNS; k++)
		rc = rc ? rc : store_array_end(&col[k]);
	return rc;
}

/* What the statement found of a sample beside its job: the round of the point it named. */
struct pg_found { int64_t point_round; };

/* One row of the statement's answer, into its job and f. */
static void pg_row(wg_stmt *s, struct ctl_sample_job *j, struct pg_found *f)
{
	j->person_id = stmt_is_null(s, 1) ? 0 : stmt_int(s, 1);
	wg_copy_text(j->path, sizeof j->path, stmt_text(s, 2));
	wg_copy_text(j->name, sizeof j->name, stmt_text(s, 3));
	f->point_round = stmt_is_null(s, 4) ? 0 : stmt_int(s, 4);
	j->id = stmt_is_null(s, 5) ? 0 : stmt_int(s, 5);
}

static int pg_run(wg_conn *c, wg_buf col[PG_COLUMNS], struct ctl_sample_job **jobs, const size_t *at, size_t m, struct pg_found *found)
{
	wg_param p[PG_COLUMNS];
	for (int k = 0; k < PG_COLUMNS; k++)
		p[k] = WG_PTEXTN(col[k].data, col[k].len);
	wg_stmt *s;
	int rc = store_query(c, pg_batch_sql, p, PG_COLUMNS, &s);
	if (rc)
		return rc;
	size_t rows = 0;
	while ((rc = stmt_next(s)) == 1) {
		int64_t k = stmt_int(s, 0);
		if (k < 1 || (size_t)k > m) {
			rc = -WG_ERR_INTERNAL;
			break;
		}
		pg_row(s, jobs[at[k - 1]], &found[k - 1]);
		rows++;
	}
	stmt_done(s);
	return rc < 0 ? -rc : rows == m ? 0 : WG_ERR_INTERNAL;
}

/* The answers, by the same check as SQLite's. A sample that passed but was
 * not stored is a person's second (stored before, or earlier in the batch):
 * the first is read back by its key, one statement each, as the samples
 * table is looked up nowhere in the batch's statement: a join there is
 * planned once per connection, and planned while the round's first samples
 * make the table look small it would scan the whole table in every batch
 * of the round. A scanned-twice person is rare. */
static int pg_answer(struct wg_app *app, wg_conn *c, struct rounds *seen, struct ctl_sample_job **jobs, const size_t *at, size_t m,
		     const struct pg_found *found, int64_t now)
{
	int rc = 0;
	for (size_t k = 0; !rc && k < m; k++) {
		struct ctl_sample_job *j = jobs[at[k]];
		const struct round_seen *round;
		wg_req x = { .app = app, .db = c, .now = now };
		if ((rc = round_of(&x, seen, j->round_id, &round)))
			break;
		check_person(&x, j, round, found[k].point_round);
		if (x.fail.code && j->id)
			rc = WG_ERR_INTERNAL;  /* stored yet refused: the statement and the check disagree */
		else if (x.fail.code)
			j->fail = x.fail, j->rc = x.fail.code;
		else if (!j->id)
			rc = (j->duplicate = true, read_back(c, j));
	}
	return rc;
}

static int store_pg(struct wg_app *app, wg_conn *c, struct rounds *seen, struct ctl_sample_job **jobs, size_t n, int64_t now)
{
	wg_buf col[PG_COLUMNS];
	for (int k = 0; k < PG_COLUMNS; k++)
		wg_buf_init(&col[k], PG_ARRAY_MAX);
	size_t *at = wg_malloc((n ? n : 1) * sizeof *at), m = 0;
	struct pg_found *found = wg_calloc(n ? n : 1, sizeof *found);
	int rc = at && found ? pg_arrays(col, jobs, n, at, &m) : WG_ERR_NOMEM;
	if (!rc && m)
		rc = pg_run(c, col, jobs, at, m, found);
	if (!rc && m)
		rc = pg_answer(app, c, seen, jobs, at, m, found, now);
	for (int k = 0; k < PG_COLUMNS; k++)
		wg_buf_release(&col[k]);
	wg_free(at);
	wg_free(found);
	return rc;
}

/* The sample's node and every node above it up to the round's, added to the sums. */
static int add_sums(struct sums *sm, const struct ctl_sample_job *j)
{
	int64_t ids[WG_MAX_GRID_DEPTH];
	int k = ctl_path_ids(j->path, ids, WG_MAX_GRID_DEPTH);
	size_t end = 0;
	for (int d = 1; d <= k; d++) {
		int slashes = 0;
		while (j->path[end] && slashes <= d)
			slashes += j->path[end++] == '/';
		if (d < j->root_depth)
			continue;
		size_t i = (size_t)(((uint64_t)ids[d - 1] * 0x9E3779B97F4A7C15u ^ (uint64_t)j->round_id) >> 40) & (SUM_SLOTS - 1);
		for (; sm->slot[i] >= 0; i = (i + 1) & (SUM_SLOTS - 1))
			if (sm->e[sm->slot[i]].node == ids[d - 1] && sm->e[sm->slot[i]].round == j->round_id)
				break;
		if (sm->slot[i] < 0) {
			if (sm->n == SUM_MAX)
				return WG_ERR_TOO_LARGE;
			sm->slot[i] = (int16_t)sm->n;
			sm->e[sm->n++] = (struct node_sum){ .round = j->round_id, .node = ids[d - 1], .path = j->path, .len = end };
		}
		sm->e[sm->slot[i]].n++;
	}
	return 0;
}

/* PostgreSQL: every node's sum in one statement, as arrays. */
static int write_sums_pg(wg_conn *c, const struct sums *sm)
{
	wg_buf col[4];
	for (int k = 0; k < 4; k++)
		wg_buf_init(&col[k], PG_ARRAY_MAX);
	for (size_t i = 0; i < sm->n; i++) {
		store_array_int(&col[0], sm->e[i].round);
		store_array_int(&col[1], sm->e[i].node);
		store_array_text(&col[2], sm->e[i].path, sm->e[i].len);
		store_array_int(&col[3], sm->e[i].n);
	}
	int rc = 0;
	for (int k = 0; k < 4; k++)
		rc = rc ? rc : store_array_end(&col[k]);
	wg_param p[] = { WG_PTEXTN(col[0].data, col[0].len), WG_PTEXTN(col[1].data, col[1].len), WG_PTEXTN(col[2].data, col[2].len),
			 WG_PTEXTN(col[3].data, col[3].len) };
	if (!rc)
		rc = store_run(c, "INSERT INTO control_nat_nodes (round_id, node_id, node_path, residents, sampled)"
			       " SELECT round_id, node_id, node_path, 0, sampled FROM unnest(?::bigint[], ?::bigint[], ?::text[], ?::bigint[])"
			       " AS u(round_id, node_id, node_path, sampled)"
			       " ON CONFLICT (round_id, node_id) DO UPDATE SET sampled = control_nat_nodes.sampled + excluded.sampled", p, 4);
	for (int k = 0; k < 4; k++)
		wg_buf_release(&col[k]);
	return rc;
}

static int write_sums(wg_conn *c, const struct sums *sm)
{
	if (!sm->n)
		return 0;
	if (conn_dialect(c) == WG_POSTGRES)
		return write_sums_pg(c, sm);
	int rc = 0;
	for (size_t i = 0; !rc && i < sm->n; i++) {
		const struct node_sum *e = &sm->e[i];
		wg_param p[] = { WG_PINT(e->round), WG_PINT(e->node), WG_PTEXTN(e->path, e->len), WG_PINT(e->n) };
		rc = store_run(c, "INSERT INTO control_nat_nodes (round_id, node_id, node_path, residents, sampled) VALUES (?, ?, ?, 0, ?)"
			       " ON CONFLICT (round_id, node_id) DO UPDATE SET sampled = control_nat_nodes.sampled + excluded.sampled", p, 4);
	}
	return rc;
}

/* One audit record per user and round of the batch: the range of new ids and a digest of (id, person) of each. */
static int audit_batch(struct wg_app *app, wg_conn *c, struct ctl_sample_job **jobs, size_t n, int64_t now)
{
	bool *done = wg_calloc(n ? n : 1, sizeof *done);
	int rc = done ? 0 : WG_ERR_NOMEM;
	for (size_t i = 0; !rc && i < n; i++) {
		if (done[i] || jobs[i]->duplicate || jobs[i]->rc)
			continue;
		crypto_generichash_state h;
		unsigned char digest[32];
		char hex[65], range[48];
		int64_t lo = jobs[i]->id, hi = jobs[i]->id;
		crypto_generichash_init(&h, NULL, 0, sizeof digest);
		for (size_t k = i; k < n; k++) {
			if (done[k] || jobs[k]->duplicate || jobs[k]->rc || jobs[k]->user_id != jobs[i]->user_id ||
			    jobs[k]->round_id != jobs[i]->round_id)
				continue;
			char line[64];
			int len = snprintf(line, sizeof line, "%lld:%lld\n", (long long)jobs[k]->id, (long long)jobs[k]->person_id);
			crypto_generichash_update(&h, (const unsigned char *)line, (size_t)len);
			lo = jobs[k]->id < lo ? jobs[k]->id : lo;
			hi = jobs[k]->id > hi ? jobs[k]->id : hi;
			done[k] = true;
		}
		crypto_generichash_final(&h, digest, sizeof digest);
		sodium_bin2hex(hex, sizeof hex, digest, sizeof digest);
		snprintf(range, sizeof range, "%lld-%lld", (long long)lo, (long long)hi);
		struct wg_principal who = { .id = jobs[i]->user_id };
		wg_copy_text(who.username, sizeof who.username, jobs[i]->username);
		struct audit_event ev = { "sample", "nat_samples", range, jobs[i]->round_path, NULL, hex };
		rc = audit_write(app, c, &who, NULL, jobs[i]->address, now, &ev);
	}
	wg_free(done);
	return rc;
}

/* Stores jobs in c's current transaction: the rounds checked here, the
 * points and persons by the store's way (store_each, store_pg), then the
 * counts of the nodes of what was stored, and the audit. */
static int write_batch(struct wg_app *app, wg_conn *c, struct ctl_sample_job **jobs, size_t n, int64_t now)
{
	struct sums *sm = wg_malloc(sizeof *sm);
	int rc = sm ? 0 : WG_ERR_NOMEM;
	if (sm) {
		sm->n = 0;
		memset(sm->slot, 0xff, sizeof sm->slot);
	}
	struct rounds seen = { .n = 0 };
	for (size_t i = 0; !rc && i < n; i++) {
		const struct round_seen *round;
		wg_req x = { .app = app, .db = c, .now = now };
		jobs[i]->rc = 0;
		jobs[i]->id = 0;
		jobs[i]->duplicate = false;
		if ((rc = check_round(&x, &seen, jobs[i], &round)))
			break;
		if (x.fail.code) {  /* refused: this sample only */
			jobs[i]->fail = x.fail;
			jobs[i]->rc = x.fail.code;
		}
	}
	if (!rc)
		rc = conn_dialect(c) == WG_POSTGRES ? store_pg(app, c, &seen, jobs, n, now) : store_each(app, c, &seen, jobs, n, now);
	for (size_t i = 0; !rc && i < n; i++) {
		if (jobs[i]->rc || jobs[i]->duplicate)
			continue;
		/* Full (a batch over very many grids): what is summed so far is written first. */
		if (sm->n + WG_MAX_GRID_DEPTH > SUM_MAX) {
			rc = write_sums(c, sm);
			sm->n = 0;
			memset(sm->slot, 0xff, sizeof sm->slot);
		}
		if (!rc)
			rc = add_sums(sm, jobs[i]);
	}
	if (!rc)
		rc = write_sums(c, sm);
	if (!rc)
		rc = audit_batch(app, c, jobs, n, now);
	wg_free(sm);
	return rc;
}

/* The batch is committed (or refused, each job's rc says): each sample's
 * request is answered, a parked one resumed (its job may be gone after),
 * one waiting in place woken. */
static void answer(struct ctl_sample_job **batch, size_t n)
{
	wg_req *parked[BATCH_MAX];
	int rcs[BATCH_MAX];
	size_t np = 0;
	pthread_mutex_lock(&w.lock);
	for (size_t i = 0; i < n; i++) {
		if (batch[i]->parked) {
			parked[np] = batch[i]->parked;
			rcs[np++] = batch[i]->rc;
		} else {
			batch[i]->done = true;  /* after this the job may be gone: its thread returns */
		}
	}
	if (np < n)
		pthread_cond_broadcast(&w.done);
	pthread_mutex_unlock(&w.lock);
	for (size_t i = 0; i < np; i++)
		req_unpark(parked[i], rcs[i]);
}

static void *writer_main(void *arg)
{
	(void)arg;
	struct ctl_sample_job *batch[BATCH_MAX];
	pthread_mutex_lock(&w.lock);
	for (;;) {
		while (!w.head && !w.stop)
			pthread_cond_wait(&w.more, &w.lock);
		if (!w.head && w.stop)
			break;
		size_t n = 0;
		while (w.head && n < BATCH_MAX) {
			batch[n++] = w.head;
			w.head = w.head->next;
		}
		if (!w.head)
			w.tail = NULL;
		pthread_mutex_unlock(&w.lock);
		wg_conn *c;
		store_acquire(w.app->store, &c);
		int64_t now = time(NULL);
		int rc = store_begin(c);
		if (!rc) {
			rc = write_batch(w.app, c, batch, n, now);
			rc = rc ? (store_rollback(c), rc) : store_commit(c);
		}
		store_release(w.app->store, c);
		if (rc)  /* the batch failed as a whole: nothing of it is stored */
			for (size_t i = 0; i < n; i++)
				batch[i]->rc = rc;
		answer(batch, n);
		pthread_mutex_lock(&w.lock);
	}
	/* Stopping: whatever is left is refused, not lost silently. */
	for (struct ctl_sample_job *j = w.head; j; j = j->next)
		j->rc = WG_ERR_BUSY;
	while (w.head) {
		size_t n = 0;
		for (; w.head && n < BATCH_MAX; w.head = w.head->next)
			batch[n++] = w.head;
		pthread_mutex_unlock(&w.lock);
		answer(batch, n);
		pthread_mutex_lock(&w.lock);
	}
	w.tail = NULL;
	pthread_mutex_unlock(&w.lock);
	return NULL;
}

int ctl_sample_writer_start(struct wg_app *app)
{
	pthread_mutex_lock(&w.lock);
	w.app = app;
	w.stop = false;
	int rc = pthread_create(&w.thread, NULL, writer_main, NULL) ? WG_ERR_INTERNAL : 0;
	w.running = rc == 0;
	pthread_mutex_unlock(&w.lock);
	return rc;
}

void ctl_sample_writer_stop(void)
{
	pthread_mutex_lock(&w.lock);
	bool running = w.running;
	w.stop = true;
	pthread_cond_signal(&w.more);
	pthread_mutex_unlock(&w.lock);
	if (running)
		pthread_join(w.thread, NULL);
	pthread_mutex_lock(&w.lock);
	w.running = false;
	pthread_mutex_unlock(&w.lock);
}

int ctl_sample_store(wg_req *r, struct ctl_sample_job *job, int (*answer_fn)(wg_req *r, int rc, void *job))
{
	job->next = NULL;
	job->done = false;
	job->parked = NULL;
	pthread_mutex_lock(&w.lock);
	bool queued = w.running && !w.stop;
	if (queued) {
		/* In the server: parked, answered when the writer has committed. */
		bool parked = req_park(r, answer_fn, job);
		job->parked = parked ? r : NULL;
		if (w.tail)
			w.tail->next = job;
		else
			w.head = job;
		w.tail = job;
		pthread_cond_signal(&w.more);
		if (parked) {  /* from here the job is the writer's until it unparks r */
			pthread_mutex_unlock(&w.lock);
			return 0;
		}
		while (!job->done)
			pthread_cond_wait(&w.done, &w.lock);
	}
	pthread_mutex_unlock(&w.lock);
	int rc = queued ? job->rc : 0;
	if (!queued) {
		/* Not serving (a job, the CLI): the request's own transaction. */
		bool own = !store_in_transaction(r->db);
		rc = own ? store_begin(r->db) : 0;
		if (!rc) {
			struct ctl_sample_job *one[1] = { job };
			rc = write_batch(r->app, r->db, one, 1, r->now);
			if (own)
				rc = rc || job->rc ? (store_rollback(r->db), rc) : store_commit(r->db);
			if (!rc)
				rc = job->rc;
		}
	}
	return answer_fn(r, rc, job);
}

int ctl_sample_outcome(wg_req *r, const struct ctl_sample_job *job, int rc)
{
	if (rc && job->fail.code) {
		r->fail = job->fail;
		return r->fail.code;
	}
	return rc ? req_fail(r, rc, NULL, NULL, NULL) : 0;
}
