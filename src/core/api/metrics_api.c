/* What a load balancer and Prometheus scrape: GET /healthz (public), GET /metrics (SYSTEM or the metrics token). */
#include "core/api/api.h"
#include "core/app/app.h"
#include "core/app/metrics.h"
#include "core/app/module.h"
#include "core/lib/err.h"
#include "core/lib/limits.h"
#include "core/lib/mem.h"

static int healthz(wg_req *r)
{
	return req_reply(r, 200, json_pack("{s:s, s:s}", "status", "ok", "store",
					   store_dialect(r->app->store) == WG_POSTGRES ? "postgres" : "sqlite"));
}

static int metrics(wg_req *r)
{
	wg_buf out = WG_BUF_INIT(WG_MAX_RESPONSE);
	int rc = metrics_render(&out, r->app);
	if (rc) {
		wg_buf_release(&out);
		return req_fail(r, rc, NULL, NULL, NULL);
	}
	size_t len;
	char *text = wg_buf_detach(&out, &len);
	if (!text)
		return req_fail(r, WG_ERR_NOMEM, NULL, NULL, NULL);
	return req_reply_raw(r, 200, "text/plain; version=0.0.4; charset=utf-8", text, len);
}

static const struct wg_route ops_routes[] = {
	{ "GET", "/healthz", healthz, NULL, ROUTE_PUBLIC | ROUTE_NO_DB, NULL },
	/* Sign-in outcomes, refusals and import volume are not for everyone:
	 * a system administrator, or a scraper holding metrics_token. */
	{ "GET", "/metrics", metrics, &right_SYSTEM, ROUTE_NO_DB | ROUTE_SCRAPE, NULL },
};

const struct wg_module metrics_api = {
	.name = "metrics", .zh = "运行状态", .en = "health and metrics",
	.routes = ops_routes, .nroutes = WG_COUNT(ops_routes),
};
