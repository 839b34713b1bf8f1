/* Prometheus metrics: requests by route and status, a latency histogram, DB time. */
#include "core/app/metrics.h"
#include "core/app/app.h"
#include "core/http/http.h"
#include "core/lib/err.h"
#include "core/lib/limits.h"
#include "core/lib/mem.h"

#include <stdatomic.h>
#include <time.h>

#define METRIC_ROUTES ((int)WG_MAX_ROUTES + 1)   /* last slot: requests that matched no route */
static const int status_codes[] = { 200, 201, 202, 204, 304, 400, 401, 403, 404, 405, 409, 412, 413, 415, 422, 429, 431,
				    500, 503 };
#define NSTATUS (int)(sizeof status_codes / sizeof status_codes[0])
static const double buckets_ms[] = { 0.25, 0.5, 1, 2.5, 5, 10, 25, 50, 100, 250, 1000 };
#define NBUCKETS (int)(sizeof buckets_ms / sizeof buckets_ms[0])

static _Atomic uint64_t count[METRIC_ROUTES][NSTATUS + 1];
static _Atomic uint64_t hist[NBUCKETS + 1];
static _Atomic uint64_t hist_sum_us;
static _Atomic uint64_t hist_count;

static int status_slot(int status)
{
	for (int i = 0; i < NSTATUS; i++)
		if (status_codes[i] == status)
			return i;
	return NSTATUS;
}

void metrics_record(int route_index, int status, uint64_t micros)
{
	int r = route_index >= 0 && route_index < METRIC_ROUTES - 1 ? route_index : METRIC_ROUTES - 1;
	atomic_fetch_add_explicit(&count[r][status_slot(status)], 1, memory_order_relaxed);
	int b = 0;
	while (b < NBUCKETS && (double)micros / 1000.0 > buckets_ms[b])
		b++;
	atomic_fetch_add_explicit(&hist[b], 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&hist_sum_us, micros, memory_order_relaxed);
	atomic_fetch_add_explicit(&hist_count, 1, memory_order_relaxed);
}

static void render_route(wg_buf *out, int r, const char *method, const char *pattern)
{
	for (int s = 0; s <= NSTATUS; s++) {
		uint64_t v = atomic_load_explicit(&count[r][s], memory_order_relaxed);
		if (!v)
			continue;
		wg_buf_printf(out, "wangge_http_requests_total{method=\"%s\",route=\"%s\",status=\"%d\"} %llu\n",
			      method, pattern, s < NSTATUS ? status_codes[s] : 0, (unsigned long long)v);
	}
}

int metrics_render(wg_buf *out, struct wg_app *app)
{
	wg_buf_puts(out, "# HELP wangge_http_requests_total HTTP requests by route and status.\n"
			 "# TYPE wangge_http_requests_total counter\n");
	int n = router_count();
	for (int r = 0; r < n && r < METRIC_ROUTES - 1; r++) {
		const struct wg_route *rt = router_get(r);
		render_route(out, r, rt->method, rt->pattern);
	}
	render_route(out, METRIC_ROUTES - 1, "", "unmatched");
	wg_buf_puts(out, "# HELP wangge_http_request_duration_seconds Time from request to response.\n"
			 "# TYPE wangge_http_request_duration_seconds histogram\n");
	uint64_t cumulative = 0;
	for (int b = 0; b <= NBUCKETS; b++) {
		cumulative += atomic_load_explicit(&hist[b], memory_order_relaxed);
		if (b < NBUCKETS)
			wg_buf_printf(out, "wangge_http_request_duration_seconds_bucket{le=\"%g\"} %llu\n",
				      buckets_ms[b] / 1000.0, (unsigned long long)cumulative);
		else
			wg_buf_printf(out, "wangge_http_request_duration_seconds_bucket{le=\"+Inf\"} %llu\n",
				      (unsigned long long)cumulative);
	}
	wg_buf_printf(out, "wangge_http_request_duration_seconds_sum %.6f\n",
		      (double)atomic_load(&hist_sum_us) / 1e6);
	wg_buf_printf(out, "wangge_http_request_duration_seconds_count %llu\n",
		      (unsigned long long)atomic_load(&hist_count));
	wg_buf_printf(out, "# HELP wangge_db_seconds_total Time spent in the database.\n"
			   "# TYPE wangge_db_seconds_total counter\nwangge_db_seconds_total %.6f\n",
		      (double)store_busy_micros(app->store) / 1e6);
	wg_buf_printf(out, "# HELP wangge_db_queries_total Statements run.\n"
			   "# TYPE wangge_db_queries_total counter\nwangge_db_queries_total %llu\n",
		      (unsigned long long)store_query_count(app->store));
	wg_buf_printf(out, "# HELP wangge_uptime_seconds Seconds since start.\n"
			   "# TYPE wangge_uptime_seconds gauge\nwangge_uptime_seconds %lld\n",
		      (long long)(time(NULL) - app->started_at));
	return out->err;
}
