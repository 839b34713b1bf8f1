/* The server's scan store: the tracing engine's store under data/trace,
 * its log taking live scans (group commit, folded into segments by the
 * engine's own thread), and the retention sweep that deletes what is older
 * than the retention (PIPL Art. 28). The engine serialises its queries,
 * appends and maintenance itself; the lock here keeps one case's three
 * queries (close, secondary, companions) one snapshot, and never holds up
 * an append. */
#include "tracing/tracing_int.h"
#include "core/app/app.h"
#include "core/lib/err.h"
#include "core/lib/log.h"

#include <pthread.h>
#include <stdio.h>
#include <time.h>

static pthread_mutex_t store_lock = PTHREAD_MUTEX_INITIALIZER;
static trace_store *store;
static struct trace_params store_params;

/* Location traces are sensitive data: what is older than the retention is
 * deleted at start and every hour after. */
#define EXPIRE_EVERY_SECONDS 3600
static pthread_t expirer;
static pthread_cond_t expirer_wake = PTHREAD_COND_INITIALIZER;
static bool expirer_running, expirer_stop;

trace_store *tracing_store(void)
{
	return store;
}

trace_store *tracing_store_lock(void)
{
	pthread_mutex_lock(&store_lock);
	return store;
}

void tracing_store_unlock(void)
{
	pthread_mutex_unlock(&store_lock);
}

const struct trace_params *tracing_params(void)
{
	return &store_params;
}

static void expire_now(void)
{
	size_t removed = 0;
	trace_store *s = tracing_store();
	int rc = s ? trace_store_expire(s, time(NULL), &removed) : 0;
	if (rc)
		log_warn("scan retention: %s / 过期扫码记录删除失败", trace_err_en(rc));
	else if (removed)
		log_info("scan retention: %zu records older than %u days deleted / 已删除过期扫码记录", removed,
			 store_params.retention_days);
}

static void *expire_loop(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&store_lock);
	while (!expirer_stop) {
		pthread_mutex_unlock(&store_lock);
		expire_now();
		pthread_mutex_lock(&store_lock);
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_sec += EXPIRE_EVERY_SECONDS;
		while (!expirer_stop && pthread_cond_timedwait(&expirer_wake, &store_lock, &ts) == 0)
			;
	}
	pthread_mutex_unlock(&store_lock);
	return NULL;
}

static void engine_warning(const char *msg)
{
	log_warn("scan store: %s", msg);
}

int tracing_start(struct wg_app *app)
{
	char dir[1200];
	struct trace_diag diag = { 0 };
	trace_params_default(&store_params);
	snprintf(dir, sizeof dir, "%s/trace", app->data_dir);
	trace_set_warn(engine_warning);
	int rc = trace_store_open(dir, &store_params, &store, &diag);
	if (rc)
		return wg_error("cannot open the scan store %s: %s / %s %s", dir, trace_err_en(rc), trace_err_zh(rc), diag.what);
	/* One process writes the log: a second server on the same data is refused here. */
	rc = trace_store_log_start(store, true, &diag);
	if (rc) {
		trace_store_close(store);
		store = NULL;
		return wg_error("cannot take the scan log in %s: %s %s / %s", dir, trace_err_en(rc), diag.what,
				rc == TRACE_ERR_BUSY ? "另一个进程正在使用该数据目录的扫码日志" : trace_err_zh(rc));
	}
	expirer_stop = false;
	expirer_running = pthread_create(&expirer, NULL, expire_loop, NULL) == 0;
	return expirer_running ? 0 : wg_error("cannot start the retention thread / 无法启动过期清理线程");
}

void tracing_stop(struct wg_app *app)
{
	(void)app;
	if (expirer_running) {
		pthread_mutex_lock(&store_lock);
		expirer_stop = true;
		pthread_cond_signal(&expirer_wake);
		pthread_mutex_unlock(&store_lock);
		pthread_join(expirer, NULL);
		expirer_running = false;
	}
	pthread_mutex_lock(&store_lock);
	trace_store_close(store);
	store = NULL;
	pthread_mutex_unlock(&store_lock);
}
