/* The queue of audited reads and the counted ones, written in batches by
 * one thread; the keeper thread beside it signs checkpoints and archives.
 * The chain itself is chain.c. */
#include "core/audit/audit.h"
#include "core/audit/archive.h"
#include "core/audit/audit_int.h"
#include "core/lib/err.h"
#include "core/lib/log.h"
#include "core/lib/mem.h"
#include "core/lib/parse.h"
#include "core/lib/limits.h"
#include "core/auth/scope.h"

#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#define GENESIS_HASH AUDIT_GENESIS_HASH
/* Reads counted per user and minute wait here until their minute is over. */
#define AUDIT_MAX_COUNTERS 4096
/* Records gathering events (audit_event_gathered) found by their key until
 * the queue is written; a power of two. When it is full, an event gets a
 * record of its own. */
#define AUDIT_GATHER_SLOTS 4096
#define AUDIT_GATHER_PROBES 8

struct audit_item {
	int64_t at, user_id;
	char username[65];
	char address[64];
	char action[16];
	char resource[32];
	int64_t record;
	char node_path[512];
	char change_hash[65];   /* "" for reads */
	int64_t events;         /* how many events the record stands for */
	bool gathering;         /* digest still open (audit_event_gathered) */
	crypto_hash_sha256_state digest;
};

/* Reads of one resource by one user from one address in one minute. */
struct audit_counter {
	int64_t minute, user_id, count;
	char username[65];
	char address[64];
	char resource[32];
	char node_path[512];
};

struct audit_queue {
	pthread_mutex_t lock;
	pthread_cond_t wake;
	pthread_t thread;
	struct audit_item *items;
	size_t len, cap;
	struct audit_counter *counters;
	size_t ncounters;
	/* Index + 1 into items of a record gathering events, by its key; all
	 * zero whenever items is replaced. */
	uint32_t *gather;
	bool stop, running;
	struct wg_app *app;
	/* The keeper thread: checkpoints and archives, apart from the writer
	 * so that neither holds the other up. */
	pthread_t keeper;
	pthread_cond_t keeper_wake;
	bool keeper_stop, keeper_running;
	int64_t next_checkpoint, next_archive;
};

/* ---- queued reads ---- */

/* Queues one record for the flusher, which chains it within a few
 * milliseconds; without a running queue (the CLI) it is written now. */
/* Not serving (a command): the record is written now, in a transaction
 * of its own if need be. CH is the change's digest, "" for none. */
static int audit_now(wg_req *r, const char *action, const char *resource, int64_t record_id, const char *node_path,
		     const char *ch)
{
	char rid[24] = "";
	if (record_id)
		rid[wg_format_i64(rid, record_id)] = '\0';
	struct audit_event ev = { action, resource, rid, node_path, NULL, ch };
	bool own = !store_in_transaction(r->db);
	if (own && store_begin(r->db))
		return req_fail(r, WG_ERR_DB, NULL, NULL, NULL);
	int rc = audit_write(r->app, r->db, r->user, NULL, r->address, r->now, &ev);
	if (own)
		rc = rc ? (store_rollback(r->db), rc) : store_commit(r->db);
	return rc ? req_fail(r, rc, NULL, NULL, NULL) : 0;
}

/* A new record at the end of the queue for the request's user, or NULL
 * when the queue is full. Called with the lock held. */
static struct audit_item *queue_item(struct audit_queue *q, wg_req *r, const char *action, const char *resource,
				     int64_t record_id, const char *node_path)
{
	if (q->len == q->cap) {
		size_t cap = q->cap ? q->cap * 2 : 1024;
		struct audit_item *items = cap <= WG_AUDIT_QUEUE_MAX ? wg_realloc(q->items, cap * sizeof *items) : NULL;
		if (!items)
			return NULL;
		q->items = items;
		q->cap = cap;
	}
	struct audit_item *it = &q->items[q->len++];
	it->at = r->now;
	it->user_id = r->user ? r->user->id : 0;
	wg_copy_text(it->username, sizeof it->username, r->user ? r->user->username : "");
	wg_copy_text(it->address, sizeof it->address, r->address);
	wg_copy_text(it->action, sizeof it->action, action);
	wg_copy_text(it->resource, sizeof it->resource, resource);
	it->record = record_id;
	wg_copy_text(it->node_path, sizeof it->node_path, node_path ? node_path : "");
	it->change_hash[0] = '\0';
	it->events = 1;
	it->gathering = false;
	if (q->len >= 512)
		pthread_cond_signal(&q->wake);
	return it;
}

static int audit_queue(wg_req *r, const char *action, const char *resource, int64_t record_id, const char *node_path,
		       const char *ch)
{
	struct audit_queue *q = r->app->audit;
	if (!q || !q->running)
		return audit_now(r, action, resource, record_id, node_path, ch);
	pthread_mutex_lock(&q->lock);
	struct audit_item *it = queue_item(q, r, action, resource, record_id, node_path);
	if (it)
		wg_copy_text(it->change_hash, sizeof it->change_hash, ch);
	pthread_mutex_unlock(&q->lock);
	return it ? 0 : req_fail(r, WG_ERR_BUSY, NULL, NULL, NULL);
}

int audit_read(wg_req *r, const char *action, const char *resource, int64_t record_id, const char *node_path)
{
	return audit_queue(r, action, resource, record_id, node_path, "");
}

int audit_event(wg_req *r, const char *action, const char *resource, int64_t record_id, const char *node_path,
		json_t *change)
{
	char ch[65];
	int rc = audit_change_hash(change, ch);
	return rc ? req_fail(r, rc, NULL, NULL, NULL) : audit_queue(r, action, resource, record_id, node_path, ch);
}

int audit_event_text(wg_req *r, const char *action, const char *resource, int64_t record_id, const char *node_path,
		     const char *change, size_t len)
{
	char ch[65];
	audit_text_hash(change, len, ch);
	return audit_queue(r, action, resource, record_id, node_path, ch);
}

static uint32_t gather_hash(int64_t user_id, int64_t record, int64_t minute)
{
	uint64_t h = (uint64_t)user_id * 0x9E3779B97F4A7C15u ^ (uint64_t)record * 0xC2B2AE3D27D4EB4Fu ^ (uint64_t)minute;
	h ^= h >> 29;
	h *= 0xBF58476D1CE4E5B9u;
	return (uint32_t)(h >> 32);
}

static bool gathers(const struct audit_item *it, wg_req *r, const char *action, const char *resource, int64_t record_id,
		    const char *node_path)
{
	return it->gathering && it->record == record_id && it->user_id == (r->user ? r->user->id : 0) &&
	       it->at / 60 == r->now / 60 && strcmp(it->action, action) == 0 && strcmp(it->resource, resource) == 0 &&
	       strcmp(it->address, r->address) == 0 && strcmp(it->node_path, node_path) == 0;
}

/* The record gathering this event, found or started; NULL when the queue
 * is full. Called with the lock held. */
static struct audit_item *gathering_item(struct audit_queue *q, wg_req *r, const char *action, const char *resource,
					 int64_t record_id, const char *node_path)
{
	uint32_t h = gather_hash(r->user ? r->user->id : 0, record_id, r->now / 60), *free_slot = NULL;
	for (uint32_t k = 0; k < AUDIT_GATHER_PROBES; k++) {
		uint32_t *slot = &q->gather[(h + k) & (AUDIT_GATHER_SLOTS - 1)];
		if (!*slot) {
			free_slot = slot;
			break;
		}
		struct audit_item *it = &q->items[*slot - 1];
		if (gathers(it, r, action, resource, record_id, node_path)) {
			it->events++;
			crypto_hash_sha256_update(&it->digest, (const unsigned char *)"\n", 1);
			return it;
		}
	}
	struct audit_item *it = queue_item(q, r, action, resource, record_id, node_path);
	if (!it)
		return NULL;
	it->gathering = true;
	crypto_hash_sha256_init(&it->digest);
	if (free_slot)
		*free_slot = (uint32_t)q->len;
	return it;
}

int audit_event_gathered(wg_req *r, const char *action, const char *resource, int64_t record_id, const char *node_path,
			 const char *change, size_t len)
{
	struct audit_queue *q = r->app->audit;
	if (!q || !q->running)
		return audit_event_text(r, action, resource, record_id, node_path, change, len);
	node_path = node_path ? node_path : "";
	pthread_mutex_lock(&q->lock);
	struct audit_item *it = gathering_item(q, r, action, resource, record_id, node_path);
	if (it)
		crypto_hash_sha256_update(&it->digest, (const unsigned char *)change, len);
	pthread_mutex_unlock(&q->lock);
	return it ? 0 : req_fail(r, WG_ERR_BUSY, NULL, NULL, NULL);
}

/* Closes the digests of records that were gathering: from now on they are
 * written as they are (also when a failed write puts them back). */
static void close_gathered(struct audit_item *items, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (!items[i].gathering)
			continue;
		unsigned char h[crypto_hash_sha256_BYTES];
		crypto_hash_sha256_final(&items[i].digest, h);
		wg_hex(items[i].change_hash, h, sizeof h);
		items[i].gathering = false;
	}
}

int audit_count(wg_req *r, const char *resource, int64_t n)
{
	struct audit_queue *q = r->app->audit;
	int rc = 0;
	if (n <= 0)
		return 0;
	if (!q || !q->running) { /* not serving: one record now */
		char count[24];
		snprintf(count, sizeof count, "%lld", (long long)n);
		bool own = !store_in_transaction(r->db);
		if (own && store_begin(r->db))
			return req_fail(r, WG_ERR_DB, NULL, NULL, NULL);
		rc = audit_append(r->app, r->db, r->user ? r->user->id : 0, r->user ? r->user->username : "", r->address, r->now,
				  "reads", resource, count, r->user ? r->user->scope_path : "", "");
		if (own)
			rc = rc ? (store_rollback(r->db), rc) : store_commit(r->db);
		return rc ? req_fail(r, rc, NULL, NULL, NULL) : 0;
	}
	int64_t minute = r->now / 60, uid = r->user ? r->user->id : 0;
	pthread_mutex_lock(&q->lock);
	struct audit_counter *c = NULL;
	for (size_t i = q->ncounters; i > 0 && !c; i--) {
		struct audit_counter *x = &q->counters[i - 1];
		if (x->minute == minute && x->user_id == uid && strcmp(x->resource, resource) == 0 &&
		    strcmp(x->address, r->address) == 0)
			c = x;
	}
	if (!c) {
		if (q->ncounters == AUDIT_MAX_COUNTERS) {
			rc = WG_ERR_BUSY;
			goto out;
		}
		c = &q->counters[q->ncounters++];
		*c = (struct audit_counter){ .minute = minute, .user_id = uid };
		wg_copy_text(c->username, sizeof c->username, r->user ? r->user->username : "");
		wg_copy_text(c->address, sizeof c->address, r->address);
		wg_copy_text(c->resource, sizeof c->resource, resource);
		wg_copy_text(c->node_path, sizeof c->node_path, r->user ? r->user->scope_path : "");
	}
	c->count += n;
out:
	pthread_mutex_unlock(&q->lock);
	return rc ? req_fail(r, rc, NULL, NULL, NULL) : 0;
}

/* Fills rows from queued items; rid holds their record ids as text. */
static void rows_of_items(const struct audit_item *items, size_t n, int64_t first_id, struct audit_row *rows,
			  char (*rid)[24])
{
	for (size_t i = 0; i < n; i++) {
		rid[i][wg_format_i64(rid[i], items[i].record)] = '\0';
		rows[i] = (struct audit_row){
			.id = first_id + (int64_t)i, .at = items[i].at, .user_id = items[i].user_id, .events = items[i].events,
			.username = items[i].username, .address = items[i].address, .action = items[i].action,
			.resource = items[i].resource, .record_id = rid[i],
			.node_path = items[i].node_path, .change_hash = items[i].change_hash,
		};
	}
}

static int flush_batch(struct wg_app *app, struct audit_item *items, size_t n)
{
	wg_conn *c;
	char prev[65], rid[AUDIT_ROWS_PER_INSERT][24];
	struct audit_row rows[AUDIT_ROWS_PER_INSERT];
	int64_t last_id;
	store_acquire(app->store, &c);
	int rc = store_begin(c);
	if (rc)
		goto out;
	rc = audit_head_lock(c, &last_id, prev);
	for (size_t i = 0; !rc && i < n; ) {
		size_t chunk = n - i >= AUDIT_ROWS_PER_INSERT ? AUDIT_ROWS_PER_INSERT : 1;
		rows_of_items(items + i, chunk, last_id + 1, rows, rid);
		rc = audit_append_rows(c, app->audit_key, rows, chunk, prev);
		if (!rc) {
			last_id += (int64_t)chunk;
			i += chunk;
		}
	}
	if (!rc)
		rc = audit_head_store(app, c, last_id, prev);
	if (!rc)
		rc = store_commit(c);
	else
		store_rollback(c);
out:
	store_release(app->store, c);
	return rc;
}

/* Moves the counters of minutes that are over (all of them when stopping)
 * into the queue as records. Called with the lock held. */
static void counters_to_items(struct audit_queue *q, int64_t now, bool all)
{
	size_t kept = 0;
	for (size_t i = 0; i < q->ncounters; i++) {
		struct audit_counter *c = &q->counters[i];
		if (!all && c->minute >= now / 60) {
			q->counters[kept++] = *c;
			continue;
		}
		if (q->len == q->cap) {
			size_t cap = q->cap ? q->cap * 2 : 1024;
			struct audit_item *items = wg_realloc(q->items, cap * sizeof *items);
			if (!items) {   /* kept for the next round */
				q->counters[kept++] = *c;
				continue;
			}
			q->items = items;
			q->cap = cap;
		}
		struct audit_item *it = &q->items[q->len++];
		it->at = c->minute * 60;
		it->user_id = c->user_id;
		wg_copy_text(it->username, sizeof it->username, c->username);
		wg_copy_text(it->address, sizeof it->address, c->address);
		wg_copy_text(it->action, sizeof it->action, "reads");
		wg_copy_text(it->resource, sizeof it->resource, c->resource);
		it->record = c->count;
		wg_copy_text(it->node_path, sizeof it->node_path, c->node_path);
		it->change_hash[0] = '\0';
		it->events = 1;
		it->gathering = false;
	}
	q->ncounters = kept;
}

/* What the keeper thread does: the checkpoint now and then, the archive
 * once an hour. Not under the lock. */
static void maintenance(struct audit_queue *q, int64_t now, bool force_checkpoint)
{
	struct wg_app *app = q->app;
	if (force_checkpoint || now >= q->next_checkpoint) {
		bool written;
		int rc = audit_checkpoint(app, &written);
		if (rc)
			log_warn("audit checkpoint failed (%s) / 审计检查点写入失败", wg_err_code(rc));
		q->next_checkpoint = now + app->config.audit_checkpoint_seconds;
	}
	if (app->config.audit_archive_days > 0 && now >= q->next_archive) {
		int64_t moved = 0;
		int rc = audit_archive_run(app, now - app->config.audit_archive_days * 86400, &moved);
		if (rc)
			log_warn("audit archive failed (%s) / 审计归档失败", wg_err_code(rc));
		q->next_archive = now + 3600;
	}
}

static void *flusher(void *arg)
{
	struct audit_queue *q = arg;
	struct audit_item *batch = NULL;
	size_t batch_cap = 0;
	pthread_mutex_lock(&q->lock);
	for (;;) {
		int64_t now = time(NULL);
		counters_to_items(q, now, q->stop);
		if (q->len == 0 && q->stop)
			break;
		if (q->len == 0 || (!q->stop && q->len < 512)) {
			struct timespec ts;
			clock_gettime(CLOCK_REALTIME, &ts);
			ts.tv_nsec += WG_AUDIT_FLUSH_MS * 1000000L;
			if (ts.tv_nsec >= 1000000000L) {
				ts.tv_sec++;
				ts.tv_nsec -= 1000000000L;
			}
			pthread_cond_timedwait(&q->wake, &q->lock, &ts);
			if (q->len == 0) {
				pthread_mutex_unlock(&q->lock);
				store_sweep_snapshots(q->app->store);
				pthread_mutex_lock(&q->lock);
				continue;
			}
		}
		/* Swap the queue out so requests can keep queueing while we write. */
		struct audit_item *items = q->items;
		size_t n = q->len;
		q->items = batch;
		q->cap = batch_cap;
		q->len = 0;
		memset(q->gather, 0, AUDIT_GATHER_SLOTS * sizeof *q->gather);
		pthread_mutex_unlock(&q->lock);
		close_gathered(items, n);
		int rc = flush_batch(q->app, items, n);
		store_sweep_snapshots(q->app->store);
		if (rc)
			fprintf(stderr, "wangge: audit flush failed (%s); %zu records kept for retry\n", wg_err_code(rc), n);
		pthread_mutex_lock(&q->lock);
		batch = items;
		batch_cap = n > 0 ? n : 0;
		if (rc) {
			/* Put them back in front: nothing audited may be dropped. */
			size_t total = q->len + n;
			struct audit_item *merged = wg_malloc(total * sizeof *merged);
			if (merged) {
				memcpy(merged, items, n * sizeof *merged);
				memcpy(merged + n, q->items, q->len * sizeof *merged);
				wg_free(q->items);
				q->items = merged;
				q->len = q->cap = total;
				/* Gathering goes on in new records (the indexes have moved). */
				close_gathered(merged + n, total - n);
				memset(q->gather, 0, AUDIT_GATHER_SLOTS * sizeof *q->gather);
			}
			pthread_mutex_unlock(&q->lock);
			struct timespec pause = { 0, 100 * 1000000L };
			nanosleep(&pause, NULL);
			pthread_mutex_lock(&q->lock);
		}
	}
	pthread_mutex_unlock(&q->lock);
	wg_free(batch);
	return NULL;
}

static void *keeper(void *arg)
{
	struct audit_queue *q = arg;
	pthread_mutex_lock(&q->lock);
	while (!q->keeper_stop) {
		int64_t now = time(NULL);
		if (now >= q->next_checkpoint || now >= q->next_archive) {
			pthread_mutex_unlock(&q->lock);
			maintenance(q, now, false);
			pthread_mutex_lock(&q->lock);
			continue;
		}
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_sec += 1;
		pthread_cond_timedwait(&q->keeper_wake, &q->lock, &ts);
	}
	pthread_mutex_unlock(&q->lock);
	return NULL;
}

int audit_queue_start(struct wg_app *app)
{
	struct audit_queue *q = wg_calloc(1, sizeof *q);
	if (!q)
		return WG_ERR_NOMEM;
	pthread_mutex_init(&q->lock, NULL);
	pthread_cond_init(&q->wake, NULL);
	pthread_cond_init(&q->keeper_wake, NULL);
	q->app = app;
	q->counters = wg_calloc(AUDIT_MAX_COUNTERS, sizeof *q->counters);
	q->gather = wg_calloc(AUDIT_GATHER_SLOTS, sizeof *q->gather);
	if (!q->counters || !q->gather) {
		wg_free(q->counters);
		wg_free(q->gather);
		wg_free(q);
		return WG_ERR_NOMEM;
	}
	/* At start: what was written while stopped (the CLI) is signed at once;
	 * the archive runs a minute later, out of the way of the start. */
	q->next_checkpoint = 0;
	q->next_archive = time(NULL) + 60;
	if (pthread_create(&q->thread, NULL, flusher, q) != 0) {
		wg_free(q->gather);
		wg_free(q->counters);
		wg_free(q);
		return WG_ERR_INTERNAL;
	}
	q->running = true;
	q->keeper_running = pthread_create(&q->keeper, NULL, keeper, q) == 0;
	if (!q->keeper_running)
		log_warn("no audit checkpoint thread: checkpoints only at stop / 无法启动审计检查点线程");
	app->audit = q;
	return 0;
}

void audit_queue_stop(struct wg_app *app)
{
	struct audit_queue *q = app->audit;
	if (!q)
		return;
	pthread_mutex_lock(&q->lock);
	q->keeper_stop = true;
	pthread_cond_signal(&q->keeper_wake);
	pthread_mutex_unlock(&q->lock);
	if (q->keeper_running)
		pthread_join(q->keeper, NULL);
	pthread_mutex_lock(&q->lock);
	q->stop = true;
	pthread_cond_signal(&q->wake);
	pthread_mutex_unlock(&q->lock);
	pthread_join(q->thread, NULL);
	/* Everything queued is written: the head as it is left is signed (no archive now). */
	q->next_archive = INT64_MAX;
	maintenance(q, time(NULL), true);
	pthread_mutex_destroy(&q->lock);
	pthread_cond_destroy(&q->wake);
	pthread_cond_destroy(&q->keeper_wake);
	wg_free(q->items);
	wg_free(q->counters);
	wg_free(q->gather);
	wg_free(q);
	app->audit = NULL;
}
