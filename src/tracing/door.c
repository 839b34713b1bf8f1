/* The venue door page's two calls, for residents without an account: what
 * venue a code names, and "I am here" with a mobile number (逢进必扫). Both
 * are rate-limited per client address (ROUTE_LIMITED); the scan is audited
 * like any other, without the number. */
#include "tracing/tracing_int.h"
#include "core/lib/err.h"
#include "core/lib/json.h"
#include "core/lib/limits.h"

#include <stdio.h>
#include <string.h>

struct door_venue {
	int64_t id;
	char path[WG_MAX_GRID_PATH];
	json_t *shown;         /* what the door page may show: {name, kind, grid_name} */
};

/* The venue a code names; 404 naming FIELD when none. */
static int door_find(wg_req *r, const char *field, const char *code, struct door_venue *v)
{
	wg_stmt *s;
	wg_param p[] = { WG_PTEXT(venue_code_of(code)) };
	int rc = store_query(r->db, "SELECT v.id, v.node_path, v.name, v.kind, g.name FROM venues v"
				    " JOIN grid_nodes g ON g.id = v.grid_id WHERE v.code = ?", p, 1, &s);
	if (rc)
		return req_fail(r, rc, NULL, NULL, NULL);
	rc = stmt_next(s);
	v->shown = NULL;
	if (rc == 1) {
		v->id = stmt_int(s, 0);
		snprintf(v->path, sizeof v->path, "%s", stmt_text(s, 1));
		v->shown = json_pack("{s:s, s:s?, s:s}", "name", stmt_text(s, 2), "kind", stmt_text(s, 3), "grid_name", stmt_text(s, 4));
	}
	stmt_done(s);
	if (rc < 0)
		return req_fail(r, -rc, NULL, NULL, NULL);
	if (rc == 0)
		return req_failf(r, WG_ERR_NOT_FOUND, field, "场所码 %s 不存在,请核对门口的二维码",
				 "no venue has the code %s; check the QR code at the door", code, code);
	return v->shown ? 0 : req_fail(r, WG_ERR_NOMEM, NULL, NULL, NULL);
}

static const char *door_code(wg_req *r, json_t *value)
{
	if (!json_is_string(value) || json_string_length(value) == 0) {
		req_fail(r, WG_ERR_REQUIRED, "venue_code", "请提供场所码", "venue_code is required");
		return NULL;
	}
	if (json_string_length(value) > 256) {
		req_fail(r, WG_ERR_VALIDATION, "venue_code", "场所码过长", "venue_code is too long");
		return NULL;
	}
	return json_string_value(value);
}

/* GET /api/v1/public/venue?code=CODE → {name, kind, grid_name} */
int door_venue(wg_req *r)
{
	struct door_venue v;
	const char *code = req_query(r, "code");
	if (!code || !*code)
		return req_fail(r, WG_ERR_BAD_QUERY, "code", "请提供场所码(code)", "the query needs code");
	if (strlen(code) > 256)
		return req_fail(r, WG_ERR_BAD_QUERY, "code", "场所码过长", "code is too long");
	if (door_find(r, "code", code, &v))
		return r->fail.code;
	return req_reply(r, 200, v.shown);
}

/* POST /api/v1/public/scans {venue_code, phone} → 201 {venue, t_in, t_in_at} */
int door_scan(wg_req *r)
{
	static const char *const allowed[] = { "venue_code", "phone", NULL };
	struct cases_subject subject;
	struct door_venue v;
	uint32_t trace_id;
	bool is_subject, duplicate;
	if (req_check_body(r, allowed))
		return r->fail.code;
	const char *code = door_code(r, json_object_get(r->body, "venue_code"));
	if (!code)
		return r->fail.code;
	if (!json_object_get(r->body, "phone"))
		return req_fail(r, WG_ERR_REQUIRED, "phone", "请填写手机号", "phone is required");
	if (cases_subject_parse(r, &subject) || door_find(r, "venue_code", code, &v))
		return r->fail.code;
	json_t *out = json_pack("{s:O}", "venue", json_object_get(v.shown, "name"));
	json_decref(v.shown);
	if (!out || json_set_time(out, "t_in", r->now)) {
		json_decref(out);
		return req_fail(r, WG_ERR_NOMEM, NULL, NULL, NULL);
	}
	if (cases_subject_resolve(r, &subject, &trace_id, &is_subject) ||
	    scans_append(r, trace_id, v.id, r->now, r->now + TRACING_DEFAULT_STAY_SECONDS, &duplicate) ||
	    scans_audit(r, v.id, v.path, trace_id, is_subject)) {
		json_decref(out);
		return r->fail.code;
	}
	return req_reply(r, 201, out);
}
