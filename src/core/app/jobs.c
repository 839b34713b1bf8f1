#include "core/app/jobs.h"
#include "core/app/app.h"
#include "core/lib/err.h"
#include "core/lib/json.h"
#include "core/lib/limits.h"
#include "core/lib/log.h"
#include "core/lib/mem.h"

#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <time.h>


struct job {
	int64_t id;
	int64_t user_id;
	char kind[32];
	const char *status;        /* "running", "done", "failed" */
	_Atomic uint64_t rows;
	int64_t started_at, finished_at;
	int http_status;
	char *result;              /* the import's answer, JSON text */
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t idle = PTHREAD_COND_INITIALIZER;
static struct job jobs[WG_MAX_JOBS_KEPT];
static int64_t next_id = 1;
static int running;

struct job_run {
	struct job *job;
	wg_req *r;
	struct wg_kept_query query;
};

static void job_progress(wg_req *r, uint64_t rows)
{
	struct job *j = r->progress_ctx;
	atomic_store(&j->rows, rows);
}

static char *answer_text(wg_req *r)
{
	wg_buf b = WG_BUF_INIT(WG_MAX_RESPONSE);
	json_t *out = r->fail.code ? req_error_envelope(&r->fail) : json_incref(r->out);
	if (!out || json_emit(&b, out)) {
		json_decref(out);
		wg_buf_release(&b);
		return NULL;
	}
	json_decref(out);
	return wg_buf_detach(&b, NULL);
}

static void *run(void *arg)
{
	struct job_run *jr = arg;
	wg_req *r = jr->r;
	req_run(r);
	char *text = answer_text(r);
	pthread_mutex_lock(&lock);
	struct job *j = jr->job;
	j->result = text;
	j->http_status = r->fail.code ? wg_err_status(r->fail.code) : r->status;
	/* "failed" is a server error (5xx); an import refused for what the file
	 * holds (422, all or nothing) is done, its answer saying why. */
	j->status = j->http_status >= 500 ? "failed" : "done";
	j->finished_at = time(NULL);
	running--;
	pthread_cond_broadcast(&idle);
	pthread_mutex_unlock(&lock);
	log_info("import job %lld %s: %s", (long long)j->id, j->kind, j->status);
	json_decref(r->out);
	req_spool_discard(r);
	wg_buf_release(&r->raw);
	arena_release(&r->arena);
	wg_free(r);
	wg_free(jr);
	return NULL;
}

static json_t *job_json(const struct job *j)
{
	json_t *o = json_pack("{s:I, s:s, s:s, s:I}", "id", (json_int_t)j->id, "kind", j->kind, "status", j->status,
			      "rows", (json_int_t)atomic_load(&j->rows));
	if (o && json_set_time(o, "started_at", j->started_at)) {
		json_decref(o);
		return NULL;
	}
	if (o && j->finished_at) {
		json_set_time(o, "finished_at", j->finished_at);
		json_object_set_new(o, "http_status", json_integer(j->http_status));
		json_object_set_new(o, "result", j->result ? json_loads(j->result, 0, NULL) : json_null());
	}
	return o;
}

int jobs_start_import(wg_req *r)
{
	struct job_run *jr = wg_calloc(1, sizeof *jr);
	wg_req *copy = wg_calloc(1, sizeof *copy);
	if (!jr || !copy) {
		wg_free(jr);
		wg_free(copy);
		return req_fail(r, WG_ERR_NOMEM, NULL, NULL, NULL);
	}
	/* The import's options and the resource's own (?category=) go with it. */
	if (req_query_keep(r, "async", &jr->query)) {
		wg_free(copy);
		wg_free(jr);
		return r->fail.code;
	}
	/* The job gets its own request: the principal, the route, the file. */
	copy->app = r->app;
	copy->route = r->route;
	copy->route_index = r->route_index;
	copy->method = "POST";
	copy->url = r->route->pattern;
	snprintf(copy->address_text, sizeof copy->address_text, "%s", r->address);
	copy->address = copy->address_text;
	copy->principal = *r->user;
	copy->user = &copy->principal;
	copy->now = r->now;
	arena_init(&copy->arena, 1u << 20);
	copy->raw = r->raw;
	wg_buf_init(&r->raw, 0);
	/* The upload file goes with the job, which removes it when done. */
	copy->spool_fd = -1;
	memcpy(copy->spool, r->spool, sizeof copy->spool);
	copy->upload_path = r->upload_path ? copy->spool : NULL;
	r->spool[0] = '\0';
	r->upload_path = NULL;
	copy->local_query = jr->query.kv;
	copy->progress = job_progress;
	jr->r = copy;

	pthread_mutex_lock(&lock);
	struct job *j = &jobs[next_id % WG_MAX_JOBS_KEPT];
	if (j->status && strcmp(j->status, "running") == 0) {
		pthread_mutex_unlock(&lock);
		r->raw = copy->raw;
		req_spool_discard(copy);
		wg_free(copy);
		wg_free(jr);
		return req_fail(r, WG_ERR_BUSY, NULL, "后台导入任务过多,请稍后再试", "too many background imports; try again later");
	}
	wg_free(j->result);
	*j = (struct job){ .id = next_id++, .user_id = r->user->id, .status = "running", .started_at = r->now };
	snprintf(j->kind, sizeof j->kind, "%.*s", (int)(strlen(r->route->pattern) - strlen("/api/v1//import")),
		 r->route->pattern + strlen("/api/v1/"));
	copy->progress_ctx = j;
	jr->job = j;
	pthread_t t;
	bool started = pthread_create(&t, NULL, run, jr) == 0;
	if (started) {
		pthread_detach(t);
		running++;
	} else {
		j->status = "failed";
	}
	json_t *out = started ? job_json(j) : NULL;
	int64_t id = j->id;
	pthread_mutex_unlock(&lock);
	if (!started) {
		r->raw = copy->raw;
		req_spool_discard(copy);
		wg_free(copy);
		wg_free(jr);
		return req_fail(r, WG_ERR_BUSY, NULL, NULL, NULL);
	}
	char *loc = arena_printf(&r->arena, "/api/v1/jobs/%lld", (long long)id);
	if (loc)
		req_add_header(r, "Location", loc);
	return req_reply(r, 202, out);
}

void jobs_wait(void)
{
	pthread_mutex_lock(&lock);
	if (running)
		log_info("waiting for %d import job(s) to finish / 等待后台导入完成", running);
	while (running)
		pthread_cond_wait(&idle, &lock);
	pthread_mutex_unlock(&lock);
}

json_t *jobs_find(int64_t id, int64_t user_id)
{
	json_t *out = NULL;
	pthread_mutex_lock(&lock);
	const struct job *j = &jobs[id % WG_MAX_JOBS_KEPT];
	if (j->id == id && j->user_id == user_id)
		out = job_json(j);
	pthread_mutex_unlock(&lock);
	return out;
}
