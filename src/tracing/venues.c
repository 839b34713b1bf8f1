/* Venues on the grid, their scan codes and printable QR codes, and how
 * many scans each had. */
#include "tracing/tracing_int.h"
#include "core/audit/audit.h"
#include "core/auth/scope.h"
#include "core/lib/err.h"
#include "core/lib/limits.h"
#include "core/lib/qr.h"
#include "core/resource/resource.h"

#include <sodium.h>
#include <stdio.h>
#include <string.h>

/* ---- venues ---- */

static const char *const venue_kinds[] = {
	"market", "restaurant", "pharmacy", "school", "hospital", "transit", "office", "hotel", "entertainment",
	"religious", "checkpoint", "other", NULL
};

static const char *const venue_kind_labels[] = {
	"商超", "餐馆", "药店", "学校", "医院", "交通场站", "机关企业", "宾馆", "娱乐场所", "宗教场所", "卡口", "其他", NULL
};

static const struct wg_field venue_fields[] = {
	{ "grid_id", FT_REF, FF_REQUIRED | FF_SCOPE | FF_FILTER, 0, 0, NULL, "所属网格", NULL, NULL, NULL },
	{ "name", FT_TEXT, FF_REQUIRED | FF_SEARCH, 1, 100, NULL, "场所名称", NULL, NULL, NULL },
	{ "kind", FT_ENUM, FF_NULLABLE | FF_FILTER, 0, 0, venue_kinds, "场所类型", venue_kind_labels, NULL, NULL },
	{ "address", FT_TEXT, FF_NULLABLE, 0, 200, NULL, "地址", NULL, NULL, NULL },
	{ "code", FT_TEXT, FF_READONLY | FF_FILTER, 0, 0, NULL, "场所码", NULL, NULL, NULL },
};

/* A new venue gets an unguessable scan code. */
static int venue_check(wg_req *r, const struct wg_resource *res, int64_t id, json_t *body)
{
	static const char alphabet[] = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ";
	char code[13];
	(void)res;
	if (id)
		return 0;
	for (size_t i = 0; i + 1 < sizeof code; i++)
		code[i] = alphabet[randombytes_uniform(sizeof alphabet - 1)];
	code[sizeof code - 1] = '\0';
	return json_object_set_new(body, "code", json_string(code)) ? req_fail(r, WG_ERR_NOMEM, NULL, NULL, NULL) : 0;
}

struct wg_resource venue_resource = {
	.name = "venues", .table = "venues", .zh = "场所", .en = "venue",
	.fields = venue_fields, .nfields = sizeof venue_fields / sizeof venue_fields[0],
	.path_column = "node_path", .read_right = &right_GRID_READ, .write_right = &right_GRID_WRITE,
	.count_reads = true,   /* not personal data: reads counted per user and minute */
	.hooks = { .check = venue_check },
};

/* GET /api/v1/venues/{id}/qr.svg and qr.png: the venue's code to print and
 * put up at the door, as an SVG or a PNG of 8 pixels a module. */
static int venue_qr_reply(wg_req *r, bool png)
{
	json_t *v;
	char path[WG_MAX_GRID_PATH], text[64];
	if (resource_load(r, &venue_resource, r->id, &v, path, sizeof path))
		return r->fail.code;
	snprintf(text, sizeof text, QR_PREFIX "%s", json_string_value(json_object_get(v, "code")));
	json_decref(v);
	wg_buf out = WG_BUF_INIT(4u << 20);
	int rc = png ? qr_png(text, 8, &out) : qr_svg(text, &out);
	size_t len;
	char *data = rc ? NULL : wg_buf_detach(&out, &len);
	wg_buf_release(&out);
	if (!data)
		return req_fail(r, rc ? rc : WG_ERR_NOMEM, NULL, NULL, NULL);
	return req_reply_raw(r, 200, png ? "image/png" : "image/svg+xml", data, len);
}

int venue_qr(wg_req *r) { return venue_qr_reply(r, false); }
int venue_qr_png(wg_req *r) { return venue_qr_reply(r, true); }

/* GET /api/v1/venues/{id}/scans?days=N: how many scans the venue had in
 * the last N days (default 7, at most the retention). */
int venue_scan_count(wg_req *r)
{
	static const char *const allowed[] = { "days", NULL };
	json_t *v;
	char path[WG_MAX_GRID_PATH];
	int64_t days;
	size_t count = 0;
	if (req_check_query(r, allowed) || req_query_int(r, "days", 1, tracing_params()->retention_days, 7, &days) ||
	    resource_load(r, &venue_resource, r->id, &v, path, sizeof path))
		return r->fail.code;
	json_decref(v);
	trace_store *store = tracing_store_lock();
	int rc = store ? trace_place_count(store, TRACE_SCAN, (uint32_t)r->id, r->now - days * 86400, &count) : TRACE_ERR_IO;
	tracing_store_unlock();
	if (rc)
		return req_failf(r, WG_ERR_INTERNAL, NULL, "无法统计扫码:%s", "cannot count scans: %s", trace_err_zh(rc), trace_err_en(rc));
	return req_reply(r, 200, json_pack("{s:I, s:I, s:I}", "venue_id", (json_int_t)r->id, "days", (json_int_t)days,
					   "scans", (json_int_t)count));
}
