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

/* Whether the sample may be stored; x->fail says why not (a database error is returned). */
static int check_job(wg_req *x, struct rounds *seen, struct ctl_sample_job *j)
{
	const struct round_seen *round;
	int rc = round_of(x, seen, j->round_id, &round);
	if (rc)
		return rc;
	/* Visible to a sampler whose scope holds the round or lies inside it. */
	if (!round->id || !(scope_contains(j->scope, round->path) || scope_contains(round->path, j->scope)))
		return req_failf(x, WG_ERR_NOT_FOUND, NULL, "全员核酸检测 %lld 不存在或不在您的管辖范围内",
				 "NAT round %lld does not exist or is outside your scope", (long long)j->round_id, (long long)j->round_id), 0;
	if (!round->open)
		return req_failf(x, WG_ERR_CONFLICT, NULL, "全员核酸检测“%s”已结束", "NAT round '%s' has ended", round->name, round->name), 0;
	int64_t day = ctl_local_day(j->at);
	if (day < round->from || day > round->to)
		return req_fail(x, WG_ERR_CONFLICT, "at", "采样时间不在本轮检测的日期内", "the sample's time lies outside the round's dates"), 0;
	if (j->point_id) {
		int64_t of = 0;
		wg_param p[] = { WG_PINT(j->point_id) };
		rc = store_int(x->db, "SELECT round_id FROM control_nat_points WHERE id = ?", p, 1, &of);
		if (rc && rc != WG_ERR_NOT_FOUND)
			return rc;
		if (of != j->round_id)
			return req_fail(x, WG_ERR_VALIDATION, "point_id", "采样点不属于本轮检测", "the point is not one of this round's"), 0;
	}
	wg_stmt *s;
	wg_param byid[] = { WG_PINT(j->code_person) }, bybidx[] = { WG_PTEXT(j->code_bidx) };
	rc = j->code_person ? store_query(x->db, "SELECT id, node_path, name FROM registry_people WHERE id = ?", byid, 1, &s)
			    : store_query(x->db, "SELECT id, node_path, name FROM registry_people WHERE id_number_bidx = ?", bybidx, 1, &s);
	if (rc)
		return rc;
	rc = stmt_next(s);
	if (rc == 1) {
		j->person_id = stmt_int(s, 0);
		wg_copy_text(j->path, sizeof j->path, stmt_text(s, 1));
		wg_copy_text(j->name, sizeof j->name, stmt_text(s, 2));
	}
	stmt_done(s);
	if (rc < 0)
		return -rc;
	if (rc == 0)
		return req_fail(x, WG_ERR_NOT_FOUND, "code", "没有与此码对应的登记人员", "no registry person has this code"), 0;
	if (!scope_contains(round->path, j->path))
		return req_failf(x, WG_ERR_VALIDATION, "code", "人员 %lld 不在本轮检测“%s”的范围内", "person %lld lives outside the subtree of round '%s'",
				 (long long)j->person_id, round->name, (long long)j->person_id, round->name), 0;
	int64_t ids[WG_MAX_GRID_DEPTH];
	j->root_depth = ctl_path_ids(round->path, ids, WG_MAX_GRID_DEPTH);
	wg_copy_text(j->round_path, sizeof j->round_path, round->path);
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

static int insert_one(wg_conn *c, struct ctl_sample_job *j)
{
	bool pg = conn_dialect(c) == WG_POSTGRES;
	wg_param p[] = { WG_PINT(j->round_id), WG_PINT(j->person_id), WG_PTEXT(j->path), j->point_id ? WG_PINT(j->point_id) : WG_PNULL,
			 j->tube[0] ? WG_PTEXT(j->tube) : WG_PNULL, WG_PTEXT(j->channel), WG_PINT(j->at), WG_PINT(j->user_id) };
	int rc = store_insert(c, pg
		? "INSERT INTO control_nat_samples (round_id, person_id, node_path, point_id, tube, channel, sampled_at, user_id)"
		  " VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (round_id, person_id) DO NOTHING"
		: "INSERT INTO control_nat_samples (round_id, person_id, node_path, point_id, tube, channel, sampled_at, user_id)"
		  " VALUES (?, ?, ?, ?, ?, ?, ?, ?)", p, 8, &j->id);
	j->duplicate = rc == WG_ERR_CONFLICT || (pg && rc == WG_ERR_NOT_FOUND);
	return j->duplicate ? read_back(c, j) : rc;
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

static int write_sums(wg_conn *c, const struct sums *sm)
{
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

/* Stores jobs in c's current transaction. */
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
		wg_req x = { .app = app, .db = c, .now = now };
		jobs[i]->rc = 0;
		if ((rc = check_job(&x, &seen, jobs[i])))
			break;
		if (x.fail.code) {  /* refused: this sample only */
			jobs[i]->fail = x.fail;
			jobs[i]->rc = x.fail.code;
			continue;
		}
		if ((rc = insert_one(c, jobs[i])) || jobs[i]->duplicate)
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
