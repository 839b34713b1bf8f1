/* Cases and their tracing: a case (index person, onset, protocol preset)
 * is traced in one call with the rule of its preset, its contacts kept with
 * the evidence; a night's new cases traced in one batch. */
#include "tracing/tracing_int.h"
#include "core/audit/audit.h"
#include "core/auth/scope.h"
#include "core/lib/err.h"
#include "core/lib/limits.h"
#include "core/resource/resource.h"

#include <stdio.h>
#include <string.h>
#include <time.h>


/* ---- cases ---- */

static const char *const presets[] = { "v8", "v9", "twenty", NULL };

static const char *const preset_labels[] = { "第八版", "第九版", "二十条", NULL };

static const char *const statuses[] = { "open", "traced", "applied", NULL };

static const char *const status_labels[] = { "待流调", "已流调", "已下发", NULL };

static const struct wg_field case_fields[] = {
	{ "person_id", FT_REF, FF_REQUIRED | FF_CREATE_ONLY | FF_FILTER, 0, 0, NULL, "病例(人员编号)", NULL, NULL, NULL },
	{ "onset_at", FT_TIME, FF_REQUIRED, 1577836800, 4102444800, NULL, "发病或首次阳性时间", NULL, NULL, NULL },
	{ "preset", FT_ENUM, FF_REQUIRED | FF_FILTER, 0, 0, presets, "防控方案", preset_labels, NULL, NULL },
	{ "status", FT_ENUM, FF_READONLY | FF_FILTER, 0, 0, statuses, "状态", status_labels, NULL, NULL },
	{ "traced_at", FT_TIME, FF_READONLY, 0, 0, NULL, "流调时间", NULL, NULL, NULL },
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
	int rc = store_query(r->db, "SELECT grid_id, node_path FROM registry_people WHERE id = ?", p, 1, &s);
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

/* The case's person as lists of contacts show one: the name masked, so a
 * list of cases need not read each person (audited) to be read. */
#define CASE_PERSON_MASKED(STARS) \
	"(SELECT COALESCE((SELECT " STARS " FROM registry_people p WHERE p.id = cases.person_id), 'null'))"
static const struct wg_json_member case_json_members[] = {
	{ "person_name",
	  CASE_PERSON_MASKED("json_quote(CASE WHEN length(p.name) <= 1 THEN '*' ELSE substr(p.name, 1, 1) ||"
			     " substr('****************************************************************', 1, length(p.name) - 1) END)"),
	  CASE_PERSON_MASKED("to_json(CASE WHEN length(p.name) <= 1 THEN '*' ELSE substr(p.name, 1, 1) ||"
			     " repeat('*', length(p.name) - 1) END)::text") },
};

struct wg_resource case_resource = {
	.name = "cases", .table = "cases", .zh = "病例", .en = "case",
	.fields = case_fields, .nfields = sizeof case_fields / sizeof case_fields[0],
	.path_column = "node_path", .read_right = &right_TRACE_RUN, .write_right = &right_TRACE_RUN,
	.audit_reads = true, .hooks = { .check = case_check },
	.json_members = case_json_members, .njson_members = WG_COUNT(case_json_members),
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
			" hit_in, hit_out, overlap_min, total_overlap_min, node_path, pending)"
			" VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, COALESCE((SELECT node_path FROM registry_people WHERE id = ?), ''), 1)", p, 13);
		if (rc)
			return req_fail(r, rc, NULL, NULL, NULL);
	}
	int64_t n = 0;
	wg_param q[] = { WG_PINT(case_id), WG_PTEXT(kind) };
	int rc = store_int(r->db, "SELECT COUNT(*) FROM case_contacts WHERE case_id = ? AND kind = ? AND node_path <> '' AND pending = 1",
			   q, 2, &n);
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
	trace_store *store = tracing_store_lock();
	rc = !store ? TRACE_ERR_IO : trace_close_contacts(store, (uint32_t)person, onset, &rule, &close);
	if (!rc)
		rc = trace_secondary_contacts(store, (uint32_t)person, onset, &rule, &second);
	if (!rc)
		rc = trace_companions(store, (uint32_t)person, onset, &rule, &comp);
	tracing_store_unlock();
	uint64_t elapsed = micros() - t0;
	int64_t located = 0;
	if (rc == TRACE_ERR_UNKNOWN_PERSON)
		rc = 0;  /* no scans of the index person: nothing to find */
	if (rc) {
		req_failf(r, WG_ERR_INTERNAL, NULL, "流调失败:%s", "tracing failed: %s", trace_err_zh(rc), trace_err_en(rc));
		goto out;
	}
	/* The new result waits beside the lists handed out, which stay until it is applied. */
	wg_param p[] = { WG_PINT(case_id) };
	if ((rc = store_run(r->db, "DELETE FROM case_contacts WHERE case_id = ? AND pending = 1", p, 1))) {
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
int case_trace(wg_req *r)
{
	json_t *summary;
	if (trace_one(r, r->id, NULL, &summary))
		return r->fail.code;
	json_object_del(summary, "case_id");
	return req_reply(r, 200, summary);
}

/* POST /api/v1/cases/trace {"case_ids": [...], buffer_min?, lookback_days?}:
 * a night's new cases traced in one run; all or nothing. */
int cases_trace_batch(wg_req *r)
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
