/* Scans at venues (场所码, "逢进必扫") and stays at locations, appended to the
 * engine's store, each audited without the phone number it may name. */
#include "tracing/tracing_int.h"
#include "core/audit/audit.h"
#include "core/auth/scope.h"
#include "core/lib/err.h"
#include "core/lib/limits.h"
#include "core/lib/json.h"
#include "core/lib/timefmt.h"
#include "core/resource/resource.h"

#include <stdio.h>
#include <string.h>

#define CLOCK_SKEW_SECONDS   300

/* ---- scans ---- */

int scans_venue_by_code(wg_req *r, const char *code, int64_t *id, char *path, size_t size)
{
	wg_stmt *s;
	code = venue_code_of(code);
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

/* The venue of a scan and, for a person_id scan, the person's node path,
 * read by one statement: a checkpoint records tens of thousands of scans
 * a second, and each statement costs as much as the check itself. Both are
 * kept in memory (scan_memo.c) while the store's stamp says no venue or
 * person's place has changed since, so a venue or a person changed a
 * moment ago is seen as it is now. */
static int scan_venue_and_person(wg_req *r, const char *code, struct cases_subject *subject, int64_t *id, char *path,
				 size_t size)
{
	wg_stmt *s;
	code = venue_code_of(code);
	uint64_t stamp = store_stamp(r->db);
	if (scan_memo_venue(stamp, code, id, path, size) &&
	    (!subject->person_id || scan_memo_person(stamp, subject->person_id, subject->path, sizeof subject->path))) {
		subject->path_read = subject->found = subject->person_id != 0;
		return 0;
	}
	if (!subject->person_id) {
		int rc = scans_venue_by_code(r, code, id, path, size);
		if (!rc)
			scan_memo_keep_venue(stamp, code, *id, path);
		return rc;
	}
	wg_param p[] = { WG_PINT(subject->person_id), WG_PTEXT(code) };
	int rc = store_query(r->db, "SELECT v.id, v.node_path, (SELECT node_path FROM registry_people WHERE id = ?)"
			     " FROM venues v WHERE v.code = ?", p, 2, &s);
	if (rc)
		return req_fail(r, rc, NULL, NULL, NULL);
	rc = stmt_next(s);
	if (rc == 1) {
		*id = stmt_int(s, 0);
		snprintf(path, size, "%s", stmt_text(s, 1));
		subject->path_read = true;
		subject->found = !stmt_is_null(s, 2);
		snprintf(subject->path, sizeof subject->path, "%s", subject->found ? stmt_text(s, 2) : "");
	}
	stmt_done(s);
	if (rc < 0)
		return req_fail(r, -rc, NULL, NULL, NULL);
	if (rc != 1)
		return req_failf(r, WG_ERR_VALIDATION, "venue_code", "场所码 %s 不存在", "unknown venue code %s", code, code);
	scan_memo_keep_venue(stamp, code, *id, path);
	if (subject->found)
		scan_memo_keep_person(stamp, subject->person_id, subject->path);
	return 0;
}

/* From the start of 2020, not later than now (a phone's clock may run a little ahead). */
static int time_field(wg_req *r, const char *key, int64_t def, int64_t *out)
{
	return req_body_time(r, key, def, 1577836800, r->now + CLOCK_SKEW_SECONDS, out);
}

/* A stay that ended before the retention period is refused at the door:
 * the hourly sweep would delete it, and until then it would be traced. */
static int within_retention(wg_req *r, int64_t t_out)
{
	uint32_t days = tracing_params()->retention_days;
	if (!days || t_out >= r->now - (int64_t)days * 86400)
		return 0;
	const char *key = json_object_get(r->body, "t_out") ? "t_out" : "t_in";
	return req_failf(r, WG_ERR_VALIDATION, key, "%s 早于行踪记录的保留期(%u 天),不能登记",
			 "%s lies before the retention period of location records (%u days)", key, days, key, days);
}

/* What an answer may name: the person id the caller gave (one she may
 * see), and no id at all for a phone: a visitor may come from anywhere,
 * and the number of a person registered elsewhere must answer exactly as a
 * number known nowhere. */
static void unnamed(const struct cases_subject *subject, uint32_t *trace_id, bool *is_subject)
{
	if (subject->phone[0]) {
		*trace_id = 0;
		*is_subject = false;
	}
}

static void put_id(wg_buf *b, const char *key, bool has, int64_t id);

/* The change an audit record of a stay is chained by (audit_event_text):
 * the subject's ids and the place, as JSON with its keys in order. It
 * names no phone. */
int scans_stay_change(wg_buf *b, uint32_t trace_id, bool is_subject, const char *place_key, int64_t place)
{
	bool place_first = strcmp(place_key, "person_id") < 0;
	wg_buf_puts(b, "{");
	if (place_first) {
		json_emit_string(b, place_key, strlen(place_key));
		wg_buf_puts(b, ":");
		json_emit_integer(b, place);
		wg_buf_puts(b, ",");
	}
	put_id(b, "\"person_id\":", !is_subject, trace_id);
	put_id(b, ",\"subject_id\":", is_subject, trace_id);
	if (!place_first) {
		wg_buf_puts(b, ",");
		json_emit_string(b, place_key, strlen(place_key));
		wg_buf_puts(b, ":");
		json_emit_integer(b, place);
	}
	wg_buf_puts(b, "}");
	return b->err ? WG_ERR_NOMEM : 0;
}

typedef int (*stay_audit_fn)(wg_req *r, const char *action, const char *resource, int64_t record_id,
			     const char *node_path, const char *change, size_t len);

/* Audits a scan or dwell without the phone number it may have named, by
 * AUDIT: a record of its own (audit_event_text), or gathered with the
 * venue's other scans (audit_event_gathered). */
static int audit_stay(wg_req *r, stay_audit_fn audit, const char *action, const char *resource, int64_t id,
		      const char *path, uint32_t trace_id, bool is_subject, const char *place_key, int64_t place)
{
	wg_buf change = WG_BUF_INIT(256);
	/* Room for any change at once (three ids and the keys): one allocation, not one per doubling. */
	int rc = wg_buf_reserve(&change, 128);
	rc = rc ? rc : scans_stay_change(&change, trace_id, is_subject, place_key, place);
	/* The stay itself is durable in the scan log before the answer; its
	 * audit record is chained by the audit queue, as reads are. A venue's
	 * scans by one user are gathered into one record until the queue is
	 * written: a chained record for each scan cost a checkpoint's server a
	 * fifth of its CPU (bench/RESULTS.md). */
	rc = rc ? req_fail(r, rc, NULL, NULL, NULL) : audit(r, action, resource, id, path, change.data, change.len);
	wg_buf_release(&change);
	return rc;
}

static void put_id(wg_buf *b, const char *key, bool has, int64_t id)
{
	wg_buf_puts(b, key);
	if (has)
		json_emit_integer(b, id);
	else
		wg_buf_puts(b, "null");
}

static void put_time(wg_buf *b, const char *key, const char *twin, int64_t t)
{
	char iso[WG_TIME_ISO];
	wg_time_iso(t, iso);
	wg_buf_puts(b, key);
	json_emit_integer(b, t);
	wg_buf_puts(b, twin);
	json_emit_string(b, iso, strlen(iso));
}

/* Answers a stored scan or dwell: the subject's ids, the place, the stay
 * (t_in, t_out and their twins). Written straight, not built as a JSON
 * tree first: it is the answer of every scan at a checkpoint. */
static int reply_stay(wg_req *r, uint32_t trace_id, bool is_subject, const char *place_key, int64_t place,
		      int64_t t_in, int64_t t_out, bool duplicate)
{
	wg_buf b = WG_BUF_INIT(1024);
	size_t len;
	wg_buf_reserve(&b, 320);  /* the whole answer at once (b.err says if not) */
	put_id(&b, "{\"person_id\":", !is_subject && trace_id, trace_id);
	put_id(&b, ",\"subject_id\":", is_subject && trace_id, trace_id);
	wg_buf_puts(&b, ",");
	json_emit_string(&b, place_key, strlen(place_key));
	wg_buf_puts(&b, ":");
	json_emit_integer(&b, place);
	wg_buf_puts(&b, duplicate ? ",\"duplicate\":true" : ",\"duplicate\":false");
	put_time(&b, ",\"t_in\":", ",\"t_in_at\":", t_in);
	put_time(&b, ",\"t_out\":", ",\"t_out_at\":", t_out);
	wg_buf_puts(&b, "}");
	char *data = b.err ? NULL : wg_buf_detach(&b, &len);
	if (!data) {
		wg_buf_release(&b);
		return req_fail(r, WG_ERR_NOMEM, NULL, NULL, NULL);
	}
	return req_reply_raw(r, 201, "application/json; charset=utf-8", data, len);
}

/* The engine's refusal of a stay: the store's own trouble (disk, memory,
 * a log that cannot keep up) is the server's, answered 5xx; anything else
 * is the record's, a 422 naming t_out. */
static int stay_failed(wg_req *r, int rc, uint32_t max_min, const char *zh_fmt, const char *en_fmt)
{
	int code = rc == TRACE_ERR_IO || rc == TRACE_ERR_NOMEM || rc == TRACE_ERR_BUSY ? WG_ERR_IO
		 : rc == TRACE_ERR_TOO_LARGE ? WG_ERR_BUSY : WG_ERR_VALIDATION;
	char zh[160], en[160];
	if (rc == TRACE_ERR_TOO_LONG) {
		snprintf(zh, sizeof zh, "%s(最长 %u 分钟)", trace_err_zh(rc), max_min);
		snprintf(en, sizeof en, "%s (at most %u minutes)", trace_err_en(rc), max_min);
	} else {
		snprintf(zh, sizeof zh, "%s", trace_err_zh(rc));
		snprintf(en, sizeof en, "%s", trace_err_en(rc));
	}
	return req_failf(r, code, code == WG_ERR_VALIDATION ? "t_out" : NULL, zh_fmt, en_fmt, zh, en);
}

/* Appends one stay at VENUE to the engine's store; *duplicate when the same
 * stay was there already. 422 naming t_out for a stay the engine refuses. */
int scans_append(wg_req *r, uint32_t trace_id, int64_t venue, int64_t t_in, int64_t t_out, bool *duplicate)
{
	struct trace_rec rec;
	struct trace_diag diag = { 0 };
	size_t added = 0;
	/* A default stay may run past now; the engine refuses future times. */
	int64_t now = t_out > r->now ? t_out : r->now;
	int rc = trace_rec_make(trace_id, (uint32_t)venue, t_in, t_out, now, tracing_params()->max_stay_min, &rec);
	/* The log answers once the scan is on disk (group commit with whoever
	 * else is scanning), so the 201 below promises a durable record. */
	if (!rc) {
		trace_store *store = tracing_store();
		rc = store ? trace_store_log_append(store, TRACE_SCAN, &rec, 1, now, &added, &diag) : TRACE_ERR_IO;
	}
	if (rc)
		return stay_failed(r, rc, tracing_params()->max_stay_min, "扫码记录无效:%s", "invalid scan: %s");
	*duplicate = added == 0;
	return 0;
}

int scans_audit(wg_req *r, int64_t venue, const char *path, uint32_t trace_id, bool is_subject)
{
	return audit_stay(r, audit_event_gathered, "scan", "venues", venue, path, trace_id, is_subject, "venue_id", venue);
}

/* A scan waiting for the log's group commit: what its answer needs. */
struct scan_wait {
	wg_req *r;
	uint32_t trace_id;
	bool is_subject, by_phone;
	int64_t venue, t_in, t_out;
	size_t added;
	char path[WG_MAX_GRID_PATH];
};

/* The answer of a scan once the log has it (rc a TRACE_ERR_*): audited,
 * 201 with the stay; or why it was refused. */
static int scan_answer(wg_req *r, int rc, void *ctx)
{
	struct scan_wait *w = ctx;
	if (rc)
		return stay_failed(r, rc, tracing_params()->max_stay_min, "扫码记录无效:%s", "invalid scan: %s");
	if (scans_audit(r, w->venue, w->path, w->trace_id, w->is_subject))
		return r->fail.code;
	uint32_t trace_id = w->trace_id;
	bool is_subject = w->is_subject;
	if (w->by_phone) {  /* as unnamed() says */
		trace_id = 0;
		is_subject = false;
	}
	return reply_stay(r, trace_id, is_subject, "venue_id", w->venue, w->t_in, w->t_out, w->added == 0);
}

/* Called by the log's committing thread: the scan is durable (or the log failed). */
static void scan_durable(void *ctx, int rc)
{
	struct scan_wait *w = ctx;
	req_unpark(w->r, rc);
}

/* Appends the scan to the log. In the server the request is parked until
 * the group commit that holds it is durable (its thread serves others
 * meanwhile); elsewhere it waits in place. Either way scan_answer answers. */
static int scan_store(wg_req *r, struct scan_wait *w)
{
	struct trace_rec rec;
	struct trace_diag diag = { 0 };
	bool pending = false;
	/* A default stay may run past now; the engine refuses future times. */
	int64_t now = w->t_out > r->now ? w->t_out : r->now;
	trace_store *store = tracing_store();
	int rc = trace_rec_make(w->trace_id, (uint32_t)w->venue, w->t_in, w->t_out, now, tracing_params()->max_stay_min, &rec);
	if (!rc && !store)
		rc = TRACE_ERR_IO;
	if (rc)
		return scan_answer(r, rc, w);
	bool parked = req_park(r, scan_answer, w);
	rc = parked ? trace_store_log_append_async(store, TRACE_SCAN, &rec, 1, now, &w->added, &diag, scan_durable, w, &pending)
		    : trace_store_log_append(store, TRACE_SCAN, &rec, 1, now, &w->added, &diag);
	if (pending)
		return 0;
	if (parked) {  /* answered already (a repeat, or no committing thread): at once */
		req_unpark(r, rc);
		return 0;
	}
	return scan_answer(r, rc, w);
}

/* POST /api/v1/scans {venue_code, person_id | phone, t_in?, t_out?} */
int scan_create(wg_req *r)
{
	static const char *const allowed[] = { "venue_code", "person_id", "phone", "t_in", "t_out", NULL };
	struct cases_subject subject;
	struct scan_wait *w = arena_alloc(&r->arena, sizeof *w);
	if (!w)
		return req_fail(r, WG_ERR_NOMEM, NULL, NULL, NULL);
	memset(w, 0, sizeof *w);
	w->r = r;
	if (req_check_body(r, allowed))
		return r->fail.code;
	json_t *code = json_object_get(r->body, "venue_code");
	if (!json_is_string(code) || json_string_length(code) == 0 || json_string_length(code) > 256)
		return req_fail(r, WG_ERR_REQUIRED, "venue_code", "请提供场所码", "venue_code is required");
	if (cases_subject_parse(r, &subject))
		return r->fail.code;
	if (scan_venue_and_person(r, json_string_value(code), &subject, &w->venue, w->path, sizeof w->path))
		return r->fail.code;
	/* Only at one's own venues; then anyone may be scanned there (visitors
	 * come from everywhere), which is why the person is checked only after. */
	if (!scope_contains(r->user->scope_path, w->path))
		return req_fail(r, WG_ERR_FORBIDDEN, "venue_code", "只能登记本人管辖范围内场所的扫码",
				"you may record scans only at venues inside your scope");
	if (time_field(r, "t_in", r->now, &w->t_in) || time_field(r, "t_out", w->t_in + TRACING_DEFAULT_STAY_SECONDS, &w->t_out) ||
	    within_retention(r, w->t_out) || cases_subject_resolve(r, &subject, &w->trace_id, &w->is_subject))
		return r->fail.code;
	w->by_phone = subject.phone[0] != '\0';
	return scan_store(r, w);
}

/* POST /api/v1/dwells {person_id | phone, lat, lng, t_in, t_out}: a stay at a
 * location (WGS-84), from a location feed, for spatiotemporal companions.
 * The point becomes its cell (800 m by default); the point itself is not kept. */
int dwell_create(wg_req *r)
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
	if (time_field(r, "t_in", r->now, &t_in) || time_field(r, "t_out", r->now, &t_out) || within_retention(r, t_out))
		return r->fail.code;
	if (trace_cell_of(json_number_value(lat), json_number_value(lng), tracing_params()->cell_size_m, &cell)) {
		/* Name the coordinate at fault: the latitude when it alone is off the map, else the longitude. */
		uint32_t probe;
		bool lat_ok = trace_cell_of(json_number_value(lat), 110.0, tracing_params()->cell_size_m, &probe) == 0;
		return req_fail(r, WG_ERR_VALIDATION, lat_ok ? "lng" : "lat",
				lat_ok ? "经度(lng)无效或不在服务范围内" : "纬度(lat)无效或不在服务范围内",
				lat_ok ? "longitude (lng) invalid or out of range" : "latitude (lat) invalid or out of range");
	}
	if (cases_subject_resolve(r, &subject, &trace_id, &is_subject))
		return r->fail.code;
	struct trace_rec rec;
	struct trace_diag diag = { 0 };
	size_t added = 0;
	int rc = trace_rec_make(trace_id, cell, t_in, t_out, r->now, tracing_params()->max_dwell_min, &rec);
	if (!rc) {
		trace_store *store = tracing_store();
		rc = store ? trace_store_log_append(store, TRACE_CELL, &rec, 1, r->now, &added, &diag) : TRACE_ERR_IO;
	}
	if (rc)
		return stay_failed(r, rc, tracing_params()->max_dwell_min, "位置记录无效:%s", "invalid location record: %s");
	if (audit_stay(r, audit_event_text, "dwell", is_subject ? "trace_subjects" : "persons", trace_id, "", trace_id, is_subject, "cell", cell))
		return r->fail.code;
	unnamed(&subject, &trace_id, &is_subject);
	return reply_stay(r, trace_id, is_subject, "cell", cell, t_in, t_out, added == 0);
}
