/* GET /api/v1/jobs/{id}: a background import's progress and answer, one's own jobs only. */
#include "core/api/api.h"
#include "core/app/jobs.h"
#include "core/app/module.h"
#include "core/lib/err.h"

static int job_get(wg_req *r)
{
	json_t *out = jobs_find(r->id, r->user->id);
	if (!out)
		return req_failf(r, WG_ERR_NOT_FOUND, NULL, "任务 %lld 不存在", "no job %lld", (long long)r->id, (long long)r->id);
	return req_reply(r, 200, out);
}

static const struct wg_route job_routes[] = {
	{ "GET", "/api/v1/jobs/{id}", job_get, NULL, ROUTE_NO_DB, NULL },
};

const struct wg_module jobs_api = {
	.name = "jobs", .zh = "后台任务", .en = "background jobs",
	.routes = job_routes, .nroutes = WG_COUNT(job_routes),
};
