/* Venues, scans and cases: the tracing engine (src/trace/) put to work.
 * A venue on the grid has a scan code and a printable QR code; scans are
 * appended to the engine's own store; a case (index person, onset, protocol
 * preset) is traced in one call, its contacts kept with the evidence, and
 * "apply" hands each community the contacts who live there. */
#include "tracing/tracing.h"
#include "tracing/locate.h"
#include "core/app/app.h"
#include "core/audit/audit.h"
#include "core/lib/err.h"
#include "core/lib/limits.h"
#include "core/lib/log.h"
#include "core/lib/mem.h"
#include "core/resource/resource.h"
#include "core/auth/scope.h"
#include "core/sheet/sheet.h"
#include "core/lib/ident.h"
#include "trace/trace.h"

#include <pthread.h>
#include <qrencode.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <zlib.h>

#define DEFAULT_STAY_SECONDS (30 * 60)
#define CLOCK_SKEW_SECONDS   300
#define QR_PREFIX            "WG-VENUE:"
#define WG_MAX_TRACE_BATCH   2000

/* The engine has no locking of its own: one lock for the server's store. */
static pthread_mutex_t store_lock = PTHREAD_MUTEX_INITIALIZER;
static trace_store *store;
static struct trace_params store_params;

/* Location traces are sensitive data (PIPL Art. 28): what is older than
 * the retention is deleted at start and every hour after. */
#define EXPIRE_EVERY_SECONDS 3600
static pthread_t expirer;
static pthread_cond_t expirer_wake = PTHREAD_COND_INITIALIZER;
static bool expirer_running, expirer_stop;

static void expire_now(void)
{
	size_t removed = 0;
	pthread_mutex_lock(&store_lock);
	int rc = store ? trace_store_expire(store, time(NULL), &removed) : 0;
	pthread_mutex_unlock(&store_lock);
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

int cases_open_store(const char *data_dir)
{
	char dir[1200];
	struct trace_diag diag = { 0 };
	trace_params_default(&store_params);
	snprintf(dir, sizeof dir, "%s/trace", data_dir);
	int rc = trace_store_open(dir, &store_params, &store, &diag);
	if (rc)
		return wg_error("cannot open the scan store %s: %s / %s %s", dir, trace_err_en(rc), trace_err_zh(rc), diag.what);
	expirer_stop = false;
	expirer_running = pthread_create(&expirer, NULL, expire_loop, NULL) == 0;
	return expirer_running ? 0 : wg_error("cannot start the retention thread / 无法启动过期清理线程");
}

void cases_close_store(void)
{
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

static struct wg_resource venue_resource = {
	.name = "venues", .table = "venues", .zh = "场所", .en = "venue",
	.fields = venue_fields, .nfields = sizeof venue_fields / sizeof venue_fields[0],
	.path_column = "node_path", .read_right = RIGHT_GRID_READ, .write_right = RIGHT_GRID_WRITE,
	.hooks = { .check = venue_check },
};

/* The QR code of the request's venue (in scope), or NULL with r->fail set. */
static QRcode *venue_qr_code(wg_req *r)
{
	json_t *v;
	char path[WG_MAX_GRID_PATH], text[64];
	if (resource_load(r, &venue_resource, r->id, &v, path, sizeof path))
		return NULL;
	snprintf(text, sizeof text, QR_PREFIX "%s", json_string_value(json_object_get(v, "code")));
	json_decref(v);
	QRcode *qr = QRcode_encodeString(text, 0, QR_ECLEVEL_M, QR_MODE_8, 1);
	if (!qr)
		req_fail(r, WG_ERR_NOMEM, NULL, NULL, NULL);
	return qr;
}

/* GET /api/v1/venues/{id}/qr.svg: the code to print and put up at the door. */
static int venue_qr(wg_req *r)
{
	QRcode *qr = venue_qr_code(r);
	if (!qr)
		return r->fail.code;
	const int quiet = 4, size = qr->width + 2 * quiet;
	wg_buf svg = WG_BUF_INIT(1u << 20);
	wg_buf_printf(&svg, "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 %d %d\" shape-rendering=\"crispEdges\">"
		      "<rect width=\"%d\" height=\"%d\" fill=\"#fff\"/><path fill=\"#000\" d=\"", size, size, size, size);
	for (int y = 0; y < qr->width; y++)
		for (int x = 0; x < qr->width; x++)
			if (qr->data[y * qr->width + x] & 1)
				wg_buf_printf(&svg, "M%d %dh1v1h-1z", x + quiet, y + quiet);
	wg_buf_puts(&svg, "\"/></svg>\n");
	QRcode_free(qr);
	if (svg.err) {
		int rc = svg.err;
		wg_buf_release(&svg);
		return req_fail(r, rc, NULL, NULL, NULL);
	}
	size_t len;
	char *data = wg_buf_detach(&svg, &len);
	return data ? req_reply_raw(r, 200, "image/svg+xml", data, len) : req_fail(r, WG_ERR_NOMEM, NULL, NULL, NULL);
}

/* PNG chunk: length, type, data, CRC over type and data. */
static void png_chunk(wg_buf *out, const char type[4], const unsigned char *data, uint32_t n)
{
	unsigned char be[4] = { (unsigned char)(n >> 24), (unsigned char)(n >> 16), (unsigned char)(n >> 8), (unsigned char)n };
	wg_buf_append(out, be, 4);
	wg_buf_append(out, type, 4);
	wg_buf_append(out, data, n);
	uLong crc = crc32(0L, (const Bytef *)type, 4);
	crc = crc32(crc, data, n);
	unsigned char c[4] = { (unsigned char)(crc >> 24), (unsigned char)(crc >> 16), (unsigned char)(crc >> 8), (unsigned char)crc };
	wg_buf_append(out, c, 4);
}

/* GET /api/v1/venues/{id}/qr.png: the same code as a 1-bit PNG, 8 pixels a module. */
static int venue_qr_png(wg_req *r)
{
	QRcode *qr = venue_qr_code(r);
	if (!qr)
		return r->fail.code;
	const uint32_t scale = 8, quiet = 4, side = ((uint32_t)qr->width + 2 * quiet) * scale, row_bytes = (side + 7) / 8;
	size_t raw_len = (size_t)(row_bytes + 1) * side;
	unsigned char *raw = wg_calloc(raw_len, 1);
	uLongf packed_len = compressBound((uLong)raw_len);
	unsigned char *packed = wg_malloc(packed_len);
	wg_buf png = WG_BUF_INIT(4u << 20);
	int rc = WG_ERR_NOMEM;
	if (!raw || !packed)
		goto out;
	for (uint32_t y = 0; y < side; y++) {
		unsigned char *line = raw + (size_t)y * (row_bytes + 1) + 1;  /* byte 0: filter "none" */
		for (uint32_t x = 0; x < side; x++) {
			int mx = (int)(x / scale) - (int)quiet, my = (int)(y / scale) - (int)quiet;
			bool dark = mx >= 0 && my >= 0 && mx < qr->width && my < qr->width && (qr->data[my * qr->width + mx] & 1);
			if (!dark)  /* grayscale 1 bit: 1 is white */
				line[x / 8] |= (unsigned char)(0x80 >> (x % 8));
		}
	}
	if (compress2(packed, &packed_len, raw, (uLong)raw_len, 9) != Z_OK)
		goto out;
	unsigned char ihdr[13] = { (unsigned char)(side >> 24), (unsigned char)(side >> 16), (unsigned char)(side >> 8), (unsigned char)side,
				   (unsigned char)(side >> 24), (unsigned char)(side >> 16), (unsigned char)(side >> 8), (unsigned char)side,
				   1, 0, 0, 0, 0 };
	wg_buf_append(&png, "\x89PNG\r\n\x1a\n", 8);
	png_chunk(&png, "IHDR", ihdr, sizeof ihdr);
	png_chunk(&png, "IDAT", packed, (uint32_t)packed_len);
	png_chunk(&png, "IEND", NULL, 0);
	rc = png.err;
out:
	QRcode_free(qr);
	wg_free(raw);
	wg_free(packed);
	if (rc) {
		wg_buf_release(&png);
		return req_fail(r, rc, NULL, NULL, NULL);
	}
	size_t len;
	char *data = wg_buf_detach(&png, &len);
	return data ? req_reply_raw(r, 200, "image/png", data, len) : req_fail(r, WG_ERR_NOMEM, NULL, NULL, NULL);
}

/* GET /api/v1/venues/{id}/scans?days=N: how many scans the venue had in
 * the last N days (default 7, at most the retention). */
static int venue_scan_count(wg_req *r)
{
	static const char *const allowed[] = { "days", NULL };
	json_t *v;
	char path[WG_MAX_GRID_PATH];
	int64_t days;
	size_t count = 0;
	if (req_check_query(r, allowed) || req_query_int(r, "days", 1, store_params.retention_days, 7, &days) ||
	    resource_load(r, &venue_resource, r->id, &v, path, sizeof path))
		return r->fail.code;
	json_decref(v);
	pthread_mutex_lock(&store_lock);
	int rc = store ? trace_place_count(store, TRACE_SCAN, (uint32_t)r->id, r->now - days * 86400, &count) : TRACE_ERR_IO;
	pthread_mutex_unlock(&store_lock);
	if (rc)
		return req_failf(r, WG_ERR_INTERNAL, NULL, "无法统计扫码:%s", "cannot count scans: %s", trace_err_zh(rc), trace_err_en(rc));
	return req_reply(r, 200, json_pack("{s:I, s:I, s:I}", "venue_id", (json_int_t)r->id, "days", (json_int_t)days,
					   "scans", (json_int_t)count));
}

/* ---- scans ---- */

static int venue_by_code(wg_req *r, const char *code, int64_t *id, char *path, size_t size)
{
	wg_stmt *s;
	if (strncmp(code, QR_PREFIX, strlen(QR_PREFIX)) == 0)
		code += strlen(QR_PREFIX);
	wg_param p[] = { WG_PTEXT(code) };
	int rc = store_query(r->db, "SELECT id, node_path FROM venues WHERE code = ?", p, 1, &s);
	if (rc)
		return req_fail(r, rc, NULL, NULL, NULL);
	rc = stmt_next(s);
	if (rc == 1) {
		*id = stmt_int(s, 0);
		snprintf(path, size, "%s", stmt_text(s, 1));
	}
	stmt_done(s);
	if (rc != 1)
		return req_failf(r, WG_ERR_VALIDATION, "venue_code", "场所码 %s 不存在", "unknown venue code %s", code, code);
	return 0;
}

static int time_field(wg_req *r, const char *key, int64_t def, int64_t *out)
{
	json_t *v = json_object_get(r->body, key);
	if (!v) {
		*out = def;
		return 0;
	}
	if (!json_is_integer(v) || json_integer_value(v) < 1577836800 || json_integer_value(v) > r->now + CLOCK_SKEW_SECONDS)
		return req_failf(r, WG_ERR_VALIDATION, key, "%s 应为 2020 年以后、不晚于现在的时间(Unix 秒)",
				 "%s must be Unix seconds after 2020 and not in the future", key, key);
	*out = json_integer_value(v);
	return 0;
}

/* The subject's ids as answers name them: a registry person, or a
 * phone-only subject. */
static json_t *subject_ids(uint32_t trace_id, bool is_subject)
{
	return json_pack("{s:o, s:o}", "person_id", is_subject ? json_null() : json_integer(trace_id),
			 "subject_id", is_subject ? json_integer(trace_id) : json_null());
}

/* Audits a scan or dwell without the phone number it may have named. */
static int audit_stay(wg_req *r, const char *action, const char *resource, int64_t id, const char *path,
		      uint32_t trace_id, bool is_subject, const char *place_key, int64_t place)
{
	json_t *change = subject_ids(trace_id, is_subject);
	if (!change || json_object_set_new(change, place_key, json_integer(place))) {
		json_decref(change);
		return req_fail(r, WG_ERR_NOMEM, NULL, NULL, NULL);
	}
	int rc = audit_req(r, action, resource, id, path, change);
	json_decref(change);
	return rc;
}

/* Answers a stored scan or dwell: the subject's ids, the place, the stay. */
static int reply_stay(wg_req *r, uint32_t trace_id, bool is_subject, const char *place_key, int64_t place,
		      int64_t t_in, int64_t t_out, bool duplicate)
{
	return req_reply(r, 201, json_pack("{s:o, s:o, s:I, s:I, s:I, s:b}",
					   "person_id", is_subject ? json_null() : json_integer(trace_id),
					   "subject_id", is_subject ? json_integer(trace_id) : json_null(),
					   place_key, (json_int_t)place, "t_in", (json_int_t)t_in, "t_out", (json_int_t)t_out,
					   "duplicate", duplicate));
}

/* POST /api/v1/scans {venue_code, person_id | phone, t_in?, t_out?} */
static int scan_create(wg_req *r)
{
	static const char *const allowed[] = { "venue_code", "person_id", "phone", "t_in", "t_out", NULL };
	struct cases_subject subject;
	uint32_t trace_id;
	bool is_subject;
	if (req_check_body(r, allowed))
		return r->fail.code;
	json_t *code = json_object_get(r->body, "venue_code");
	if (!json_is_string(code) || json_string_length(code) == 0 || json_string_length(code) > 64)
		return req_fail(r, WG_ERR_REQUIRED, "venue_code", "请提供场所码", "venue_code is required");
	if (cases_subject_parse(r, &subject))
		return r->fail.code;
	int64_t venue = 0, t_in, t_out;
	char path[WG_MAX_GRID_PATH];
	if (venue_by_code(r, json_string_value(code), &venue, path, sizeof path))
		return r->fail.code;
	/* Only at one's own venues; then anyone may be scanned there (visitors
	 * come from everywhere), which is why the person is checked only after. */
	if (!scope_contains(r->user->scope_path, path))
		return req_fail(r, WG_ERR_FORBIDDEN, "venue_code", "只能登记本人管辖范围内场所的扫码",
				"you may record scans only at venues inside your scope");
	if (time_field(r, "t_in", r->now, &t_in) || time_field(r, "t_out", t_in + DEFAULT_STAY_SECONDS, &t_out) ||
	    cases_subject_resolve(r, &subject, &trace_id, &is_subject))
		return r->fail.code;
	struct trace_rec rec;
	struct trace_diag diag = { 0 };
	size_t added = 0;
	/* A default stay may run past now; the engine refuses future times. */
	int64_t now = t_out > r->now ? t_out : r->now;
	int rc = trace_rec_make(trace_id, (uint32_t)venue, t_in, t_out, now, store_params.max_stay_min, &rec);
	if (!rc) {
		pthread_mutex_lock(&store_lock);
		rc = store ? trace_store_append(store, TRACE_SCAN, &rec, 1, now, &added, &diag) : TRACE_ERR_IO;
		pthread_mutex_unlock(&store_lock);
	}
	if (rc)
		return req_failf(r, rc == TRACE_ERR_IO || rc == TRACE_ERR_NOMEM ? WG_ERR_IO : WG_ERR_VALIDATION, "t_out",
				 "扫码记录无效:%s", "invalid scan: %s", trace_err_zh(rc), trace_err_en(rc));
	if (audit_stay(r, "scan", "venues", venue, path, trace_id, is_subject, "venue_id", venue))
		return r->fail.code;
	return reply_stay(r, trace_id, is_subject, "venue_id", venue, t_in, t_out, added == 0);
}

/* POST /api/v1/dwells {person_id | phone, lat, lng, t_in, t_out}: a stay at a
 * location (WGS-84), from a location feed, for spatiotemporal companions.
 * The point becomes its cell (800 m by default); the point itself is not kept. */
static int dwell_create(wg_req *r)
{
	static const char *const allowed[] = { "person_id", "phone", "lat", "lng", "t_in", "t_out", NULL };
	struct cases_subject subject;
	uint32_t trace_id;
	bool is_subject;
	if (req_check_body(r, allowed) || cases_subject_parse(r, &subject))
		return r->fail.code;
	json_t *lat = json_object_get(r->body, "lat"), *lng = json_object_get(r->body, "lng");
	if (!json_is_number(lat) || !json_is_number(lng))
		return req_fail(r, WG_ERR_REQUIRED, json_is_number(lat) ? "lng" : "lat", "请提供经纬度(WGS-84)",
				"lat and lng (WGS-84) are required");
	int64_t t_in, t_out;
	uint32_t cell;
	if (time_field(r, "t_in", r->now, &t_in) || time_field(r, "t_out", r->now, &t_out))
		return r->fail.code;
	if (trace_cell_of(json_number_value(lat), json_number_value(lng), store_params.cell_size_m, &cell))
		return req_fail(r, WG_ERR_VALIDATION, "lat", "经纬度无效或不在服务范围内", "latitude/longitude invalid or out of range");
	if (cases_subject_resolve(r, &subject, &trace_id, &is_subject))
		return r->fail.code;
	struct trace_rec rec;
	struct trace_diag diag = { 0 };
	size_t added = 0;
	int rc = trace_rec_make(trace_id, cell, t_in, t_out, r->now, store_params.max_dwell_min, &rec);
	if (!rc) {
		pthread_mutex_lock(&store_lock);
		rc = store ? trace_store_append(store, TRACE_CELL, &rec, 1, r->now, &added, &diag) : TRACE_ERR_IO;
		pthread_mutex_unlock(&store_lock);
	}
	if (rc)
		return req_failf(r, rc == TRACE_ERR_IO || rc == TRACE_ERR_NOMEM ? WG_ERR_IO : WG_ERR_VALIDATION, "t_out",
				 "位置记录无效:%s", "invalid location record: %s", trace_err_zh(rc), trace_err_en(rc));
	if (audit_stay(r, "dwell", is_subject ? "trace_subjects" : "persons", trace_id, "", trace_id, is_subject, "cell", cell))
		return r->fail.code;
	return reply_stay(r, trace_id, is_subject, "cell", cell, t_in, t_out, added == 0);
}

/* ---- cases ---- */

static const char *const presets[] = { "v8", "v9", "twenty", NULL };
static const char *const preset_labels[] = { "第八版", "第九版", "二十条", NULL };
static const char *const statuses[] = { "open", "traced", "applied", NULL };
static const char *const status_labels[] = { "待流调", "已流调", "已下发", NULL };

static const struct wg_field case_fields[] = {
	{ "person_id", FT_REF, FF_REQUIRED | FF_CREATE_ONLY | FF_FILTER, 0, 0, NULL, "病例(人员编号)", NULL, NULL, NULL },
	{ "onset_at", FT_INT, FF_REQUIRED, 1577836800, 4102444800, NULL, "发病或首次阳性时间", NULL, NULL, NULL },
	{ "preset", FT_ENUM, FF_REQUIRED | FF_FILTER, 0, 0, presets, "防控方案", preset_labels, NULL, NULL },
	{ "status", FT_ENUM, FF_READONLY | FF_FILTER, 0, 0, statuses, "状态", status_labels, NULL, NULL },
	{ "traced_at", FT_INT, FF_READONLY, 0, 0, NULL, "流调时间", NULL, NULL, NULL },
	{ "note", FT_TEXT, FF_NULLABLE, 0, 1000, NULL, "备注", NULL, NULL, NULL },
	{ "grid_id", FT_REF, FF_READONLY | FF_SCOPE | FF_FILTER, 0, 0, NULL, "所属网格", NULL, NULL, NULL },
};

/* A case hangs on the grid of its index person, who must be in scope. */
static int case_check(wg_req *r, const struct wg_resource *res, int64_t id, json_t *body)
{
	(void)res;
	if (id)
		return 0;
	wg_stmt *s;
	wg_param p[] = { WG_PINT(json_integer_value(json_object_get(body, "person_id"))) };
	int rc = store_query(r->db, "SELECT grid_id, node_path FROM persons WHERE id = ?", p, 1, &s);
	if (rc)
		return req_fail(r, rc, NULL, NULL, NULL);
	rc = stmt_next(s);
	bool visible = rc == 1 && scope_contains(r->user->scope_path, stmt_text(s, 1));
	int64_t grid = visible ? stmt_int(s, 0) : 0;
	stmt_done(s);
	if (!visible)
		return req_fail(r, WG_ERR_NOT_FOUND, "person_id", "病例人员不存在或不在您的管辖范围内",
				"the index person does not exist or is outside your scope");
	json_object_set_new(body, "grid_id", json_integer(grid));
	return 0;
}

static struct wg_resource case_resource = {
	.name = "cases", .table = "cases", .zh = "病例", .en = "case",
	.fields = case_fields, .nfields = sizeof case_fields / sizeof case_fields[0],
	.path_column = "node_path", .read_right = RIGHT_TRACE_RUN, .write_right = RIGHT_TRACE_RUN,
	.audit_reads = true, .hooks = { .check = case_check },
};

/* The preset's rule; the body may narrow the buffer and look-back. */
static void preset_rule(const char *preset, struct trace_rule *rule)
{
	trace_rule_default(rule);
	rule->lookback_days = strcmp(preset, "v8") == 0 ? 4 : 2;
}

static int case_rule(wg_req *r, const char *preset, struct trace_rule *rule)
{
	preset_rule(preset, rule);
	json_t *b = json_object_get(r->body, "buffer_min"), *l = json_object_get(r->body, "lookback_days");
	if (b && (!json_is_integer(b) || json_integer_value(b) < 0 || json_integer_value(b) > 240))
		return req_fail(r, WG_ERR_VALIDATION, "buffer_min", "buffer_min 应为 0 到 240 分钟", "buffer_min must be 0 to 240 minutes");
	if (l && (!json_is_integer(l) || json_integer_value(l) < 1 || json_integer_value(l) > 28))
		return req_fail(r, WG_ERR_VALIDATION, "lookback_days", "lookback_days 应为 1 到 28 天", "lookback_days must be 1 to 28 days");
	static const char *const allowed[] = { "buffer_min", "lookback_days", NULL };
	if (req_check_body(r, allowed))
		return r->fail.code;
	if (b)
		rule->buffer_min = (uint32_t)json_integer_value(b);
	if (l)
		rule->lookback_days = (uint32_t)json_integer_value(l);
	return 0;
}

static int store_hits(wg_req *r, int64_t case_id, const char *kind, const struct trace_result *res, int64_t *located)
{
	for (size_t i = 0; i < res->n; i++) {
		const struct trace_hit *h = &res->hits[i];
		wg_param p[] = {
			WG_PINT(case_id), WG_PTEXT(kind), WG_PINT((int64_t)i + 1), WG_PINT(h->person), WG_PINT(h->source),
			WG_PINT(h->place), WG_PINT(h->src_in), WG_PINT(h->src_out), WG_PINT(h->hit_in), WG_PINT(h->hit_out),
			WG_PINT(h->overlap_min), WG_PINT((int64_t)h->total_overlap_min), WG_PINT(h->person),
		};
		int rc = store_run(r->db,
			"INSERT INTO case_contacts (case_id, kind, rank, person_id, via_person_id, place, src_in, src_out,"
			" hit_in, hit_out, overlap_min, total_overlap_min, node_path)"
			" VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, COALESCE((SELECT node_path FROM persons WHERE id = ?), ''))", p, 13);
		if (rc)
			return req_fail(r, rc, NULL, NULL, NULL);
	}
	int64_t n = 0;
	wg_param q[] = { WG_PINT(case_id), WG_PTEXT(kind) };
	int rc = store_int(r->db, "SELECT COUNT(*) FROM case_contacts WHERE case_id = ? AND kind = ? AND node_path <> ''", q, 2, &n);
	*located += n;
	return rc ? req_fail(r, rc, NULL, NULL, NULL) : 0;
}

static uint64_t micros(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

/* POST /api/v1/cases/{id}/trace {buffer_min?, lookback_days?} */
/* Traces one case with the rule of its preset (and the body's overrides),
 * keeps its contacts and returns the summary. */
static int trace_one(wg_req *r, int64_t case_id, const struct trace_rule *override, json_t **summary)
{
	json_t *c;
	char path[WG_MAX_GRID_PATH];
	struct trace_rule rule;
	struct trace_result close = { 0 }, second = { 0 }, comp = { 0 };
	*summary = NULL;
	if (resource_load(r, &case_resource, case_id, &c, path, sizeof path))
		return r->fail.code;
	int64_t person = json_integer_value(json_object_get(c, "person_id"));
	int64_t onset = json_integer_value(json_object_get(c, "onset_at"));
	const char *preset = json_string_value(json_object_get(c, "preset"));
	int rc = 0;
	if (override)
		preset_rule(preset, &rule);
	else
		rc = case_rule(r, preset, &rule);
	json_decref(c);
	if (rc)
		return rc;
	if (override) {
		rule.buffer_min = override->buffer_min ? override->buffer_min : rule.buffer_min;
		rule.lookback_days = override->lookback_days ? override->lookback_days : rule.lookback_days;
	}
	uint64_t t0 = micros();
	pthread_mutex_lock(&store_lock);
	rc = !store ? TRACE_ERR_IO : trace_close_contacts(store, (uint32_t)person, onset, &rule, &close);
	if (!rc)
		rc = trace_secondary_contacts(store, (uint32_t)person, onset, &rule, &second);
	if (!rc)
		rc = trace_companions(store, (uint32_t)person, onset, &rule, &comp);
	pthread_mutex_unlock(&store_lock);
	uint64_t elapsed = micros() - t0;
	int64_t located = 0;
	if (rc == TRACE_ERR_UNKNOWN_PERSON)
		rc = 0;  /* no scans of the index person: nothing to find */
	if (rc) {
		req_failf(r, WG_ERR_INTERNAL, NULL, "流调失败:%s", "tracing failed: %s", trace_err_zh(rc), trace_err_en(rc));
		goto out;
	}
	wg_param p[] = { WG_PINT(case_id) };
	if ((rc = store_run(r->db, "DELETE FROM case_contacts WHERE case_id = ?", p, 1))) {
		req_fail(r, rc, NULL, NULL, NULL);
		goto out;
	}
	if (store_hits(r, case_id, "close", &close, &located) || store_hits(r, case_id, "secondary", &second, &located) ||
	    store_hits(r, case_id, "companion", &comp, &located))
		goto out;
	wg_param u[] = { WG_PINT(r->now), WG_PINT(r->now), WG_PINT(case_id) };
	if ((rc = store_run(r->db, "UPDATE cases SET status = 'traced', traced_at = ?, updated_at = ?, version = version + 1 WHERE id = ?", u, 3))) {
		req_fail(r, rc, NULL, NULL, NULL);
		goto out;
	}
	*summary = json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:f}", "case_id", (json_int_t)case_id,
			     "close", (json_int_t)close.n, "secondary", (json_int_t)second.n, "companions", (json_int_t)comp.n,
			     "located", (json_int_t)located, "not_located", (json_int_t)(close.n + second.n + comp.n) - located,
			     "engine_ms", (double)elapsed / 1000.0);
	if (!*summary || audit_req(r, "trace", "cases", case_id, path, *summary)) {
		json_decref(*summary);
		*summary = NULL;
		if (!r->fail.code)
			req_fail(r, WG_ERR_NOMEM, NULL, NULL, NULL);
	}
out:
	trace_result_free(&close);
	trace_result_free(&second);
	trace_result_free(&comp);
	return r->fail.code;
}

/* POST /api/v1/cases/{id}/trace {buffer_min?, lookback_days?} */
static int case_trace(wg_req *r)
{
	json_t *summary;
	if (trace_one(r, r->id, NULL, &summary))
		return r->fail.code;
	json_object_del(summary, "case_id");
	return req_reply(r, 200, summary);
}

/* POST /api/v1/cases/trace {"case_ids": [...], buffer_min?, lookback_days?}:
 * a night's new cases traced in one run; all or nothing. */
static int cases_trace_batch(wg_req *r)
{
	json_t *ids = json_object_get(r->body, "case_ids"), *id;
	size_t i;
	if (!json_is_array(ids) || json_array_size(ids) == 0 || json_array_size(ids) > WG_MAX_TRACE_BATCH)
		return req_failf(r, WG_ERR_VALIDATION, "case_ids", "case_ids 应为 1 到 %d 个病例编号的数组",
				 "case_ids must be an array of 1 to %d case ids", WG_MAX_TRACE_BATCH, WG_MAX_TRACE_BATCH);
	json_array_foreach(ids, i, id)
		if (!json_is_integer(id) || json_integer_value(id) < 1)
			return req_failf(r, WG_ERR_VALIDATION, "case_ids", "case_ids[%zu] 应为正整数", "case_ids[%zu] must be a positive integer", i, i);
	/* The rule overrides are checked once, then apply to every case. */
	json_t *rest = json_copy(r->body);
	json_object_del(rest, "case_ids");
	json_t *saved = r->body;
	r->body = rest;
	struct trace_rule check;
	int rc = case_rule(r, "v9", &check);
	r->body = saved;
	json_decref(rest);
	if (rc)
		return rc;
	struct trace_rule override = { 0 };
	json_t *b = json_object_get(r->body, "buffer_min"), *l = json_object_get(r->body, "lookback_days");
	override.buffer_min = b ? (uint32_t)json_integer_value(b) : 0;
	override.lookback_days = l ? (uint32_t)json_integer_value(l) : 0;
	json_t *results = json_array();
	json_int_t totals[3] = { 0 };
	json_array_foreach(ids, i, id) {
		json_t *summary;
		if (trace_one(r, json_integer_value(id), &override, &summary)) {
			json_decref(results);
			char field[32];
			snprintf(field, sizeof field, "case_ids[%zu]", i);
			snprintf(r->fail.field, sizeof r->fail.field, "%s", field);
			return r->fail.code;
		}
		totals[0] += json_integer_value(json_object_get(summary, "close"));
		totals[1] += json_integer_value(json_object_get(summary, "secondary"));
		totals[2] += json_integer_value(json_object_get(summary, "companions"));
		json_array_append_new(results, summary);
	}
	return req_reply(r, 200, json_pack("{s:o, s:I, s:I, s:I}", "cases", results, "close", totals[0],
					   "secondary", totals[1], "companions", totals[2]));
}

#define CONTACT_COLUMNS \
	"k.kind, k.rank, k.person_id, k.via_person_id, k.place, k.src_in, k.src_out, k.hit_in, k.hit_out," \
	" k.overlap_min, k.total_overlap_min, k.node_path, COALESCE(p.name, ''), COALESCE(v.name, ''), k.community_id, k.case_id," \
	" COALESCE(k.located_person_id, p.id), COALESCE(s.phone_enc, ''), k.duplicate"
/* A contact's registry person is the one matched by phone or chosen when
 * resolving, else the engine's id itself. */
#define CONTACT_JOINS \
	" FROM case_contacts k LEFT JOIN persons p ON p.id = COALESCE(k.located_person_id, k.person_id)" \
	" LEFT JOIN trace_subjects s ON s.id = k.person_id" \
	" LEFT JOIN venues v ON v.id = k.place AND k.kind <> 'companion'"

static json_t *contact_json(wg_req *r, const wg_stmt *s)
{
	char masked[256];
	bool subject = stmt_int(s, 2) >= CASES_SUBJECT_FIRST_ID;
	ident_mask_name(stmt_text(s, 12), masked, sizeof masked);
	return json_pack(
		"{s:I, s:s, s:I, s:o, s:o, s:o, s:s, s:b, s:s, s:I, s:I, s:s, s:{s:I, s:I}, s:{s:I, s:I}, s:I, s:I, s:o, s:b}",
		"case_id", (json_int_t)stmt_int(s, 15), "kind", stmt_text(s, 0), "rank", (json_int_t)stmt_int(s, 1),
		"person_id", stmt_is_null(s, 16) ? json_null() : json_integer(stmt_int(s, 16)),
		"subject_id", subject ? json_integer(stmt_int(s, 2)) : json_null(), "phone", cases_phone_json(r, stmt_text(s, 17)),
		"name", masked, "located", stmt_len(s, 11) > 0,
		"node_path", stmt_text(s, 11), "via_person_id", (json_int_t)stmt_int(s, 3),
		"place", (json_int_t)stmt_int(s, 4), "venue", stmt_text(s, 13),
		"source_stay", "in", (json_int_t)stmt_int(s, 5), "out", (json_int_t)stmt_int(s, 6),
		"contact_stay", "in", (json_int_t)stmt_int(s, 7), "out", (json_int_t)stmt_int(s, 8),
		"overlap_min", (json_int_t)stmt_int(s, 9), "total_overlap_min", (json_int_t)stmt_int(s, 10),
		"community_id", stmt_is_null(s, 14) ? json_null() : json_integer(stmt_int(s, 14)),
		"duplicate", stmt_int(s, 18) != 0);
}

static int check_kind(wg_req *r, const char *kind)
{
	if (kind && strcmp(kind, "close") && strcmp(kind, "secondary") && strcmp(kind, "companion"))
		return req_fail(r, WG_ERR_BAD_QUERY, "kind", "kind 应为 close、secondary 或 companion",
				"kind must be close, secondary or companion");
	return 0;
}

int cases_page(wg_req *r, const char *sql, const wg_param *p, size_t n, int64_t limit, int64_t cursor,
	       json_t *(*row)(wg_req *r, const wg_stmt *s))
{
	wg_stmt *s;
	int rc = store_query(r->db, sql, p, n, &s);
	if (rc)
		return req_fail(r, rc, NULL, NULL, NULL);
	json_t *items = json_array();
	int64_t count = 0;
	bool more = false;
	while ((rc = stmt_next(s)) == 1) {
		if (count == limit) {
			more = true;
			break;
		}
		json_array_append_new(items, row(r, s));
		count++;
	}
	stmt_done(s);
	if (rc < 0) {
		json_decref(items);
		return req_fail(r, -rc, NULL, NULL, NULL);
	}
	/* The cursor counts the rows already listed. */
	return req_reply(r, 200, json_pack("{s:o, s:o}", "items", items, "next_cursor", more ? json_integer(cursor + count) : json_null()));
}

/* GET /api/v1/cases/{id}/contacts?kind=close|secondary|companion&limit=&cursor= */
static int case_contacts(wg_req *r)
{
	static const char *const allowed[] = { "kind", "limit", "cursor", NULL };
	json_t *c;
	char path[WG_MAX_GRID_PATH];
	int64_t limit, cursor;
	const char *kind = req_query(r, "kind");
	if (req_check_query(r, allowed) || check_kind(r, kind) ||
	    req_query_int(r, "limit", 1, WG_MAX_LIST_LIMIT, 100, &limit) || req_query_int(r, "cursor", 0, INT64_MAX, 0, &cursor) ||
	    resource_load(r, &case_resource, r->id, &c, path, sizeof path))
		return r->fail.code;
	json_decref(c);
	wg_param p[] = { WG_PINT(r->id), WG_PTEXT(kind ? kind : ""), WG_PTEXT(kind ? kind : ""), WG_PINT(limit + 1), WG_PINT(cursor) };
	if (cases_page(r, "SELECT " CONTACT_COLUMNS CONTACT_JOINS
		       " WHERE k.case_id = ? AND (? = '' OR k.kind = ?) ORDER BY k.kind, k.rank LIMIT ? OFFSET ?",
		       p, 5, limit, cursor, contact_json))
		return r->fail.code;
	return audit_read(r, "read", "case_contacts", r->id, path);
}

/* Beijing time, as the people who read these lists keep it. */
static void local_time(int64_t t, char out[24])
{
	time_t shifted = (time_t)(t + 8 * 3600);
	struct tm tm;
	gmtime_r(&shifted, &tm);
	strftime(out, 24, "%Y-%m-%d %H:%M", &tm);
}

struct contacts_query {
	const char *sql;
	wg_param *p;
	size_t n;
};

static int write_contacts(wg_req *r, struct sheet_writer *w, void *ctx)
{
	static const char *const header[] = { "病例编号", "类别", "排序", "人员编号", "姓名", "网格路径", "场所",
					      "病例进入", "病例离开", "接触者进入", "接触者离开", "重叠分钟", "经由人员编号" };
	static const char *const kinds[][2] = { { "close", "密接" }, { "secondary", "次密接" }, { "companion", "时空伴随" } };
	struct contacts_query *cq = ctx;
	wg_stmt *s;
	int rc = sheet_writer_header(w, header, NULL, sizeof header / sizeof header[0]);
	if (!rc)
		rc = store_query(r->db, cq->sql, cq->p, cq->n, &s);
	if (rc)
		return rc;
	while ((rc = stmt_next(s)) == 1) {
		char nums[5][24], times[4][24], masked[256];
		const char *kind = stmt_text(s, 0);
		for (size_t k = 0; k < 3; k++)
			if (strcmp(kinds[k][0], kind) == 0)
				kind = kinds[k][1];
		snprintf(nums[0], sizeof nums[0], "%lld", (long long)stmt_int(s, 15));
		snprintf(nums[1], sizeof nums[1], "%lld", (long long)stmt_int(s, 1));
		snprintf(nums[2], sizeof nums[2], "%lld", (long long)stmt_int(s, 16));
		if (stmt_is_null(s, 16))
			nums[2][0] = '\0';  /* known by phone only: no person number */
		snprintf(nums[3], sizeof nums[3], "%lld", (long long)stmt_int(s, 9));
		snprintf(nums[4], sizeof nums[4], "%lld", (long long)stmt_int(s, 3));
		for (int k = 0; k < 4; k++)
			local_time(stmt_int(s, 5 + k), times[k]);
		ident_mask_name(stmt_text(s, 12), masked, sizeof masked);
		const char *cells[] = { nums[0], kind, nums[1], nums[2], masked, stmt_text(s, 11), stmt_text(s, 13),
					times[0], times[1], times[2], times[3], nums[3], nums[4] };
		rc = sheet_writer_row(w, cells, NULL, sizeof cells / sizeof cells[0]);
		if (rc)
			break;
	}
	stmt_done(s);
	return rc < 0 ? -rc : rc;
}

/* GET /api/v1/contacts/export?case_id=&kind=&format=csv|xlsx: the same list as a sheet. */
static int contacts_export(wg_req *r)
{
	static const char *const allowed[] = { "case_id", "kind", "format", NULL };
	char lo[WG_MAX_GRID_PATH + 2], hi[WG_MAX_GRID_PATH + 2];
	int64_t case_id;
	const char *kind = req_query(r, "kind");
	if (req_check_query(r, allowed) || check_kind(r, kind) || req_query_int(r, "case_id", 0, INT64_MAX, 0, &case_id))
		return r->fail.code;
	scope_range(r->user->scope_path, lo, hi, sizeof lo);
	wg_param p[] = { WG_PTEXT(lo), WG_PTEXT(hi), WG_PINT(case_id), WG_PINT(case_id), WG_PTEXT(kind ? kind : ""),
			 WG_PTEXT(kind ? kind : "") };
	struct contacts_query cq = { "SELECT " CONTACT_COLUMNS CONTACT_JOINS
		" WHERE k.community_id IS NOT NULL AND k.duplicate = 0 AND k.node_path >= ? AND k.node_path < ?"
		" AND (? = 0 OR k.case_id = ?) AND (? = '' OR k.kind = ?) ORDER BY k.case_id DESC, k.kind, k.rank", p, 6 };
	if (resource_export_reply(r, "contacts", "流调名单", write_contacts, &cq))
		return r->fail.code;
	return audit_read(r, "export", "case_contacts", case_id, r->user->scope_path);
}

/* GET /api/v1/contacts?case_id=&kind=&limit=&cursor=: the contacts handed
 * to the caller's community (or anywhere in the caller's scope), the list a
 * community works from after "apply". */
static int contacts_handed(wg_req *r)
{
	static const char *const allowed[] = { "case_id", "kind", "limit", "cursor", NULL };
	char lo[WG_MAX_GRID_PATH + 2], hi[WG_MAX_GRID_PATH + 2];
	int64_t limit, cursor, case_id;
	const char *kind = req_query(r, "kind");
	if (req_check_query(r, allowed) || check_kind(r, kind) ||
	    req_query_int(r, "limit", 1, WG_MAX_LIST_LIMIT, 100, &limit) || req_query_int(r, "cursor", 0, INT64_MAX, 0, &cursor) ||
	    req_query_int(r, "case_id", 0, INT64_MAX, 0, &case_id))
		return r->fail.code;
	scope_range(r->user->scope_path, lo, hi, sizeof lo);
	wg_param p[] = { WG_PTEXT(lo), WG_PTEXT(hi), WG_PINT(case_id), WG_PINT(case_id), WG_PTEXT(kind ? kind : ""),
			 WG_PTEXT(kind ? kind : ""), WG_PINT(limit + 1), WG_PINT(cursor) };
	if (cases_page(r, "SELECT " CONTACT_COLUMNS CONTACT_JOINS
			 " WHERE k.community_id IS NOT NULL AND k.duplicate = 0 AND k.node_path >= ? AND k.node_path < ?"
			 " AND (? = 0 OR k.case_id = ?) AND (? = '' OR k.kind = ?)"
			 " ORDER BY k.case_id DESC, k.kind, k.rank LIMIT ? OFFSET ?", p, 8, limit, cursor, contact_json))
		return r->fail.code;
	return audit_read(r, "read", "case_contacts", case_id, r->user->scope_path);
}

/* POST /api/v1/cases/{id}/apply: each located contact goes to the community
 * (or village) its household hangs under; the rest stay "not located". */
static int case_apply(wg_req *r)
{
	json_t *c;
	char path[WG_MAX_GRID_PATH];
	if (resource_load(r, &case_resource, r->id, &c, path, sizeof path))
		return r->fail.code;
	json_decref(c);
	if (cases_locate_prepare(r, r->id))
		return r->fail.code;
	wg_param p[] = { WG_PINT(r->id) };
	int rc = store_run(r->db,
		"UPDATE case_contacts SET community_id = (SELECT g.id FROM grid_nodes g WHERE g.kind IN ('community', 'village')"
		" AND case_contacts.node_path >= g.path AND substr(case_contacts.node_path, 1, length(g.path)) = g.path"
		" ORDER BY length(g.path) DESC LIMIT 1) WHERE case_id = ? AND node_path <> ''", p, 1);
	if (rc)
		return req_fail(r, rc, NULL, NULL, NULL);
	if (cases_locate_enqueue(r, r->id))
		return r->fail.code;
	wg_stmt *s;
	rc = store_query(r->db,
		"SELECT k.community_id, COALESCE(g.name, ''), COUNT(*), k.duplicate FROM case_contacts k"
		" LEFT JOIN grid_nodes g ON g.id = k.community_id"
		" WHERE k.case_id = ? GROUP BY k.duplicate, k.community_id, g.name ORDER BY COUNT(*) DESC, k.community_id", p, 1, &s);
	if (rc)
		return req_fail(r, rc, NULL, NULL, NULL);
	json_t *communities = json_array();
	json_int_t not_located = 0, merged = 0;
	while ((rc = stmt_next(s)) == 1) {
		if (stmt_int(s, 3) != 0)
			merged += stmt_int(s, 2);
		else if (stmt_is_null(s, 0))
			not_located += stmt_int(s, 2);
		else
			json_array_append_new(communities, json_pack("{s:I, s:s, s:I}", "community_id", (json_int_t)stmt_int(s, 0),
								     "name", stmt_text(s, 1), "contacts", (json_int_t)stmt_int(s, 2)));
	}
	stmt_done(s);
	wg_param u[] = { WG_PINT(r->now), WG_PINT(r->id) };
	if (rc < 0 || store_run(r->db, "UPDATE cases SET status = 'applied', updated_at = ?, version = version + 1 WHERE id = ?", u, 2)) {
		json_decref(communities);
		return req_fail(r, WG_ERR_DB, NULL, NULL, NULL);
	}
	json_t *out = json_pack("{s:o, s:I, s:I}", "communities", communities, "not_located", not_located, "merged", merged);
	if (audit_req(r, "apply", "cases", r->id, path, out)) {
		json_decref(out);
		return r->fail.code;
	}
	return req_reply(r, 200, out);
}

static const struct wg_route case_routes[] = {
	{ "GET",  "/api/v1/venues/{id}/qr.svg",   venue_qr,      RIGHT_GRID_READ,  0, NULL },
	{ "GET",  "/api/v1/venues/{id}/qr.png",   venue_qr_png,  RIGHT_GRID_READ,  0, NULL },
	{ "GET",  "/api/v1/venues/{id}/scans",    venue_scan_count, RIGHT_GRID_READ, 0, NULL },
	{ "POST", "/api/v1/scans",                scan_create,   RIGHT_SCAN_WRITE, ROUTE_WRITE | ROUTE_JSON, NULL },
	{ "POST", "/api/v1/dwells",               dwell_create,  RIGHT_TRACE_RUN,  ROUTE_WRITE | ROUTE_JSON, NULL },
	{ "POST", "/api/v1/cases/{id}/trace",     case_trace,    RIGHT_TRACE_RUN,  ROUTE_WRITE | ROUTE_JSON, NULL },
	{ "POST", "/api/v1/cases/trace",          cases_trace_batch, RIGHT_TRACE_RUN, ROUTE_WRITE | ROUTE_JSON, NULL },
	{ "GET",  "/api/v1/cases/{id}/contacts",  case_contacts, RIGHT_TRACE_RUN,  0, NULL },
	{ "POST", "/api/v1/cases/{id}/apply",     case_apply,    RIGHT_TRACE_RUN,  ROUTE_WRITE, NULL },
	{ "GET",  "/api/v1/contacts",             contacts_handed, RIGHT_PERSON_READ, 0, NULL },
	{ "GET",  "/api/v1/contacts/export",      contacts_export, RIGHT_PERSON_READ, 0, NULL },
};

int cases_register(void)
{
	int rc = resource_register(&venue_resource);
	if (!rc)
		rc = resource_register(&case_resource);
	if (!rc)
		rc = resource_add_path_column("case_contacts", "node_path");
	if (!rc)
		rc = cases_locate_register();
	return rc ? rc : router_add(case_routes, sizeof case_routes / sizeof case_routes[0]);
}
