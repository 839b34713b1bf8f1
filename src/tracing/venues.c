/* Venues on the grid, their scan codes and printable QR codes, and how
 * many scans each had. */
#include "tracing/tracing_int.h"
#include "core/app/app.h"
#include "core/audit/audit.h"
#include "core/auth/scope.h"
#include "core/lib/err.h"
#include "core/lib/limits.h"
#include "core/lib/qr.h"
#include "core/resource/resource.h"
#include "core/sheet/sheet.h"

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
	{ "grid_id", FT_REF, FF_REQUIRED | FF_SCOPE | FF_FILTER | FF_IMPORT_OPTIONAL, 0, 0, NULL, "所属网格", NULL, NULL, NULL },
	{ "name", FT_TEXT, FF_REQUIRED | FF_SEARCH, 1, 100, NULL, "场所名称", NULL, NULL, NULL },
	{ "kind", FT_ENUM, FF_NULLABLE | FF_FILTER | FF_EXTENSIBLE, 0, 0, venue_kinds, "场所类型", venue_kind_labels, NULL, NULL },
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

/* An office's list of venues names each one's grid by its code, as rosters do. */
static const struct sheet_column_spec venue_import_extra[] = {
	{ "grid_code", grid_code_names, false },
};

static int venue_import_row(wg_req *r, const struct wg_resource *res, json_t *row)
{
	(void)res;
	return grid_code_to_id(r, row, NULL);
}

static const struct wg_export_column venue_export[] = {
	{ "网格", "(SELECT name FROM grid_nodes WHERE id = venues.grid_id)", "(SELECT name FROM grid_nodes WHERE id = venues.grid_id)" },
	{ "网格编码", "(SELECT code FROM grid_nodes WHERE id = venues.grid_id)", "(SELECT code FROM grid_nodes WHERE id = venues.grid_id)" },
};

struct wg_resource venue_resource = {
	.name = "venues", .table = "venues", .zh = "场所", .en = "venue",
	.fields = venue_fields, .nfields = sizeof venue_fields / sizeof venue_fields[0],
	.path_column = "node_path", .read_right = &right_GRID_READ, .write_right = &right_GRID_WRITE,
	.count_reads = true,   /* not personal data: reads counted per user and minute */
	.hooks = { .check = venue_check, .import_row = venue_import_row },
	.import_extra = venue_import_extra, .nimport_extra = WG_COUNT(venue_import_extra),
	.export_columns = venue_export, .nexport_columns = WG_COUNT(venue_export),
};

const char *venue_code_of(const char *scanned)
{
	const char *v;
	if (strncmp(scanned, QR_PREFIX, strlen(QR_PREFIX)) == 0)
		return scanned + strlen(QR_PREFIX);
	if ((strncmp(scanned, "https://", 8) == 0 || strncmp(scanned, "http://", 7) == 0) && (v = strstr(scanned, "/v/")))
		return v + 3;
	return scanned;
}

/* What the QR code holds: ?content=url a link a phone camera opens
 * (<public_url>/v/<code>, the door page), ?content=code the code for the
 * staff app's scanner. By default the link when public_url is set. */
static int venue_qr_text(wg_req *r, const char *code, char *out, size_t size)
{
	const char *content = req_query(r, "content");
	const char *base = r->app->config.public_url;
	bool url = content ? strcmp(content, "url") == 0 : base[0] != '\0';
	if (content && !url && strcmp(content, "code") != 0)
		return req_fail(r, WG_ERR_BAD_QUERY, "content", "content 应为 url 或 code", "content must be url or code");
	if (url && !base[0])
		return req_fail(r, WG_ERR_VALIDATION, "content",
				"尚未设置居民打开的网址(wangge.conf 的 public_url),二维码无法指向扫码页",
				"public_url is not set in wangge.conf, so the code cannot lead to the door page");
	if (url)
		snprintf(out, size, "%s/v/%s", base, code);
	else
		snprintf(out, size, QR_PREFIX "%s", code);
	return 0;
}

/* GET /api/v1/venues/{id}/qr.svg and qr.png: the venue's code to print and
 * put up at the door, as an SVG or a PNG of 8 pixels a module. */
static int venue_qr_reply(wg_req *r, bool png)
{
	json_t *v;
	char path[WG_MAX_GRID_PATH], text[400];
	if (resource_load(r, &venue_resource, r->id, &v, path, sizeof path))
		return r->fail.code;
	int rc = venue_qr_text(r, json_string_value(json_object_get(v, "code")), text, sizeof text);
	json_decref(v);
	if (rc)
		return r->fail.code;
	wg_buf out = WG_BUF_INIT(4u << 20);
	rc = png ? qr_png(text, 8, &out) : qr_svg(text, &out);
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
	trace_store *store = tracing_store();
	int rc = store ? trace_place_count(store, TRACE_SCAN, (uint32_t)r->id, r->now - days * 86400, &count) : TRACE_ERR_IO;
	if (rc)
		return req_failf(r, WG_ERR_INTERNAL, NULL, "无法统计扫码:%s", "cannot count scans: %s", trace_err_zh(rc), trace_err_en(rc));
	return req_reply(r, 200, json_pack("{s:I, s:I, s:I}", "venue_id", (json_int_t)r->id, "days", (json_int_t)days,
					   "scans", (json_int_t)count));
}
