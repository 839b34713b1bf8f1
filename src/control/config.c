/* Versioned configuration: protocol presets (/api/v1/presets) and team
 * shapes (/api/v1/team-shapes). Creating one makes version 1; a PUT adds
 * the next version and makes it the active one; versions are never changed
 * or removed, so a record opened under version 3 keeps reading version 3's
 * rules (controls.preset_version_id). Parsed rules are kept in memory by
 * version id for the same reason. */
#include "control/control_int.h"
#include "core/audit/audit.h"
#include "core/lib/err.h"
#include "core/lib/mem.h"
#include "core/lib/parse.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char ctl_kind_preset[] = "preset", ctl_kind_team_shape[] = "team_shape";

static pthread_mutex_t cache_lock = PTHREAD_MUTEX_INITIALIZER;
static struct { int64_t id; struct ctl_rules rules; } cache[CTL_CACHED_VERSIONS];
static size_t ncached, next_slot;

static bool cache_get(int64_t id, struct ctl_rules *out)
{
	bool found = false;
	pthread_mutex_lock(&cache_lock);
	for (size_t i = 0; i < ncached && !found; i++)
		if (cache[i].id == id) {
			*out = cache[i].rules;
			found = true;
		}
	pthread_mutex_unlock(&cache_lock);
	return found;
}

static void cache_put(int64_t id, const struct ctl_rules *rules)
{
	pthread_mutex_lock(&cache_lock);
	size_t slot = ncached < CTL_CACHED_VERSIONS ? ncached++ : next_slot++ % CTL_CACHED_VERSIONS;
	cache[slot].id = id;
	cache[slot].rules = *rules;
	pthread_mutex_unlock(&cache_lock);
}

static int version_rules(wg_req *r, int64_t version_id, json_t **rules)
{
	wg_stmt *s;
	wg_param p[] = { WG_PINT(version_id) };
	*rules = NULL;
	int rc = store_query(r->db, "SELECT rules FROM control_config_versions WHERE id = ?", p, 1, &s);
	if (rc)
		return req_fail(r, rc, NULL, NULL, NULL);
	rc = stmt_next(s);
	if (rc == 1)
		*rules = json_loadb(stmt_text(s, 0), stmt_len(s, 0), 0, NULL);
	stmt_done(s);
	if (rc < 0)
		return req_fail(r, -rc, NULL, NULL, NULL);
	return 0;
}

static int parse_and_keep(wg_req *r, int64_t version_id, json_t *j, struct ctl_rules *out)
{
	struct ctl_why why;
	if (!j)
		return req_failf(r, WG_ERR_INTERNAL, NULL, "防控方案版本 %lld 无法读取", "preset version %lld cannot be read",
				 (long long)version_id, (long long)version_id);
	int rc = ctl_rules_parse(j, out, &why);
	json_decref(j);
	if (rc)
		return req_failf(r, WG_ERR_INTERNAL, NULL, "防控方案版本 %lld 的规则无效:%s", "preset version %lld is invalid: %s",
				 (long long)version_id, why.zh, (long long)version_id, why.en);
	cache_put(version_id, out);
	return 0;
}

int ctl_preset_rules(wg_req *r, int64_t version_id, struct ctl_rules *out)
{
	json_t *j;
	if (cache_get(version_id, out))
		return 0;
	if (version_rules(r, version_id, &j))
		return r->fail.code;
	return parse_and_keep(r, version_id, j, out);
}

int ctl_preset_rules_text(wg_req *r, int64_t version_id, const char *text, size_t len, struct ctl_rules *out)
{
	if (cache_get(version_id, out))
		return 0;
	return parse_and_keep(r, version_id, json_loadb(text, len, 0, NULL), out);
}

static int active_version(wg_req *r, const char *kind, const char *code, int64_t *version_id, int *number, bool *found)
{
	wg_stmt *s;
	wg_param p[] = { WG_PTEXT(kind), WG_PTEXT(code) };
	int rc = store_query(r->db,
		"SELECT v.id, v.number FROM control_config c JOIN control_config_versions v ON v.config_id = c.id"
		" AND v.number = c.active_version WHERE c.kind = ? AND c.code = ?", p, 2, &s);
	if (rc)
		return req_fail(r, rc, NULL, NULL, NULL);
	rc = stmt_next(s);
	*found = rc == 1;
	if (rc == 1) {
		*version_id = stmt_int(s, 0);
		*number = (int)stmt_int(s, 1);
	}
	stmt_done(s);
	return rc < 0 ? req_fail(r, -rc, NULL, NULL, NULL) : 0;
}

int ctl_preset_active(wg_req *r, const char *code, const char *field, int64_t *version_id, int *number)
{
	bool found;
	if (active_version(r, ctl_kind_preset, code, version_id, number, &found))
		return r->fail.code;
	if (!found)
		return req_failf(r, WG_ERR_VALIDATION, field, "没有代码为“%s”的防控方案", "there is no preset with code '%s'", code, code);
	return 0;
}

int ctl_team_shape_active(wg_req *r, const char *code, struct ctl_team_shape *out)
{
	bool found;
	int64_t id;
	int number;
	json_t *j;
	struct ctl_why why;
	out->n = 0;
	if (active_version(r, ctl_kind_team_shape, code, &id, &number, &found))
		return r->fail.code;
	if (!found)
		return 0;  /* a preset naming a shape removed since: no team slots */
	if (version_rules(r, id, &j))
		return r->fail.code;
	int rc = ctl_team_shape_parse(j, out, &why);
	json_decref(j);
	return rc ? req_failf(r, WG_ERR_INTERNAL, NULL, "包保模板无效:%s", "team shape invalid: %s", why.zh, why.en) : 0;
}

/* ---- the routes ---- */

static const char *route_kind(const wg_req *r) { return r->route->data; }
static bool is_preset(const wg_req *r) { return route_kind(r) == ctl_kind_preset; }

static const char *kind_zh(const wg_req *r) { return is_preset(r) ? "防控方案" : "包保模板"; }
static const char *kind_en(const wg_req *r) { return is_preset(r) ? "preset" : "team shape"; }

#define CONFIG_COLUMNS "c.id, c.code, c.name, c.active_version, c.version, c.created_at, c.updated_at, v.rules, v.note, v.created_at, v.id"

static json_t *config_json(wg_req *r, wg_stmt *s, void *ctx)
{
	(void)r;
	(void)ctx;
	json_t *o = json_pack("{s:I, s:s, s:s, s:I, s:I, s:I}", "id", (json_int_t)stmt_int(s, 0), "code", stmt_text(s, 1),
			      "name", stmt_text(s, 2), "active_version", (json_int_t)stmt_int(s, 3),
			      "active_version_id", (json_int_t)stmt_int(s, 10), "version", (json_int_t)stmt_int(s, 4));
	json_t *rules = json_loadb(stmt_text(s, 7), stmt_len(s, 7), 0, NULL);
	if (!o || !rules || json_object_set_new(o, "rules", rules) ||
	    json_object_set_new(o, "note", stmt_is_null(s, 8) ? json_null() : json_string(stmt_text(s, 8))) ||
	    json_set_time_or_null(o, "created_at", stmt_int(s, 5)) || json_set_time_or_null(o, "updated_at", stmt_int(s, 6))) {
		json_decref(o);
		return NULL;
	}
	return o;
}

#define CONFIG_FROM " FROM control_config c JOIN control_config_versions v ON v.config_id = c.id AND v.number = c.active_version"

/* GET /api/v1/presets, /api/v1/team-shapes */
int ctl_config_list(wg_req *r)
{
	static const char *const allowed[] = { "limit", "cursor", NULL };
	struct wg_pager pg;
	if (req_check_query(r, allowed) || pager_start(r, &pg, 100, false))
		return r->fail.code;
	wg_param p[] = { WG_PTEXT(route_kind(r)), WG_PINT(pg.cursor), WG_PINT(pg.limit + 1) };
	if (!pager_rows(r, &pg, "SELECT " CONFIG_COLUMNS CONFIG_FROM " WHERE c.kind = ? AND c.id > ? ORDER BY c.id LIMIT ?",
			p, 3, 0, config_json, NULL) &&
	    !pager_count(r, &pg, "FROM control_config c WHERE c.kind = ?", p, 1, 0))
		return pager_reply(r, &pg);
	pager_release(&pg);
	return r->fail.code;
}

static int load_config(wg_req *r, int64_t id, json_t **out)
{
	wg_stmt *s;
	wg_param p[] = { WG_PTEXT(route_kind(r)), WG_PINT(id) };
	*out = NULL;
	int rc = store_query(r->db, "SELECT " CONFIG_COLUMNS CONFIG_FROM " WHERE c.kind = ? AND c.id = ?", p, 2, &s);
	if (rc)
		return req_fail(r, rc, NULL, NULL, NULL);
	rc = stmt_next(s);
	if (rc == 1)
		*out = config_json(r, s, NULL);
	stmt_done(s);
	if (rc < 0)
		return req_fail(r, -rc, NULL, NULL, NULL);
	if (rc == 0)
		return req_failf(r, WG_ERR_NOT_FOUND, NULL, "%s %lld 不存在", "%s %lld does not exist", kind_zh(r), (long long)id,
				 kind_en(r), (long long)id);
	return *out ? 0 : req_fail(r, WG_ERR_NOMEM, NULL, NULL, NULL);
}

/* GET /api/v1/presets/{id} */
int ctl_config_get(wg_req *r)
{
	json_t *o;
	if (load_config(r, r->id, &o))
		return r->fail.code;
	return req_reply(r, 200, o);
}

/* The body's rules, checked as the kind's; a preset's team shape must exist. */
static int check_rules(wg_req *r, json_t **text_out)
{
	json_t *rules = json_object_get(r->body, "rules");
	struct ctl_why why;
	struct ctl_rules parsed;
	struct ctl_team_shape shape;
	if (!rules)
		return req_fail(r, WG_ERR_REQUIRED, "rules", "缺少必填字段 rules", "required field rules is missing");
	int rc = is_preset(r) ? ctl_rules_parse(rules, &parsed, &why) : ctl_team_shape_parse(rules, &shape, &why);
	if (rc)
		return req_fail(r, WG_ERR_VALIDATION, why.field, why.zh, why.en);
	if (is_preset(r)) {
		bool found;
		int64_t id;
		int number;
		if (active_version(r, ctl_kind_team_shape, parsed.team_shape, &id, &number, &found))
			return r->fail.code;
		if (!found)
			return req_failf(r, WG_ERR_VALIDATION, "rules.team_shape", "没有代码为“%s”的包保模板",
					 "there is no team shape with code '%s'", parsed.team_shape, parsed.team_shape);
	}
	char *text = json_dumps(rules, JSON_COMPACT | JSON_SORT_KEYS);
	if (!text)
		return req_fail(r, WG_ERR_NOMEM, NULL, NULL, NULL);
	if (strlen(text) > CTL_MAX_RULES_BYTES) {
		free(text);
		return req_fail(r, WG_ERR_TOO_LARGE, "rules", "规则过长", "rules too long");
	}
	*text_out = json_string(text);
	free(text);
	return *text_out ? 0 : req_fail(r, WG_ERR_NOMEM, NULL, NULL, NULL);
}

static int add_version(wg_req *r, int64_t config_id, int64_t number, const char *rules, const char *note)
{
	wg_param p[] = { WG_PINT(config_id), WG_PINT(number), WG_PTEXT(rules), note ? WG_PTEXT(note) : WG_PNULL,
			 WG_PINT(r->now), WG_PINT(r->user->id) };
	int rc = store_run(r->db, "INSERT INTO control_config_versions (config_id, number, rules, note, created_at, created_by)"
			   " VALUES (?, ?, ?, ?, ?, ?)", p, 6);
	return rc ? req_fail(r, rc, NULL, NULL, NULL) : 0;
}

/* POST /api/v1/presets {code, name, rules, note?} */
int ctl_config_create(wg_req *r)
{
	static const char *const allowed[] = { "code", "name", "rules", "note", NULL };
	const char *code, *name, *note;
	json_t *rules = NULL, *out = NULL;
	int64_t id;
	if (req_check_body(r, allowed) || ctl_body_text(r, "code", CTL_MAX_CODE, true, &code) ||
	    ctl_body_text(r, "name", 50, true, &name) || ctl_body_text(r, "note", CTL_MAX_REASON, false, &note))
		return r->fail.code;
	for (const char *c = code; *c; c++)
		if (!((*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') || *c == '_'))
			return req_fail(r, WG_ERR_VALIDATION, "code", "code 只能含小写字母、数字和下划线",
					"code may hold lower-case letters, digits and _ only");
	if (check_rules(r, &rules))
		return r->fail.code;
	wg_param p[] = { WG_PTEXT(route_kind(r)), WG_PTEXT(code), WG_PTEXT(name), WG_PINT(r->now), WG_PINT(r->now) };
	int rc = store_insert(r->db, "INSERT INTO control_config (kind, code, name, active_version, created_at, updated_at)"
			      " VALUES (?, ?, ?, 1, ?, ?)", p, 5, &id);
	if (rc == WG_ERR_CONFLICT || (rc == WG_ERR_NOT_FOUND && conn_dialect(r->db) == WG_POSTGRES))
		req_failf(r, WG_ERR_CONFLICT, "code", "代码“%s”已被另一个%s使用", "code '%s' is taken by another %s", code,
			  kind_zh(r), code, kind_en(r));
	else if (rc)
		req_fail(r, rc, NULL, NULL, NULL);
	if (!r->fail.code && !add_version(r, id, 1, json_string_value(rules), note) && !load_config(r, id, &out) &&
	    !audit_req(r, "create", is_preset(r) ? "presets" : "team_shapes", id, r->user->scope_path, r->body))
		req_reply(r, 201, json_incref(out));
	json_decref(out);
	json_decref(rules);
	return r->fail.code;
}

/* PUT /api/v1/presets/{id} {rules, name?, note?}: the next version, now active. */
int ctl_config_put(wg_req *r)
{
	static const char *const allowed[] = { "name", "rules", "note", NULL };
	const char *name, *note;
	json_t *cur = NULL, *rules = NULL, *out = NULL;
	if (req_check_body(r, allowed) || ctl_body_text(r, "name", 50, false, &name) ||
	    ctl_body_text(r, "note", CTL_MAX_REASON, false, &note) || load_config(r, r->id, &cur) ||
	    req_if_match(r, json_integer_value(json_object_get(cur, "version"))) || check_rules(r, &rules))
		goto out;
	int64_t number = json_integer_value(json_object_get(cur, "active_version")) + 1;
	wg_param p[] = { WG_PINT(number), WG_PTEXT(name ? name : json_string_value(json_object_get(cur, "name"))),
			 WG_PINT(r->now), WG_PINT(r->id), WG_PINT(json_integer_value(json_object_get(cur, "version"))) };
	wg_stmt *s;
	int rc = store_query(r->db, "UPDATE control_config SET active_version = ?, name = ?, updated_at = ?, version = version + 1"
			     " WHERE id = ? AND version = ?", p, 5, &s);
	if (rc) {
		req_fail(r, rc, NULL, NULL, NULL);
		goto out;
	}
	int64_t changed = stmt_changes(s);
	stmt_done(s);
	if (!changed) {
		req_fail(r, WG_ERR_PRECONDITION, "version", NULL, NULL);
		goto out;
	}
	if (!add_version(r, r->id, number, json_string_value(rules), note) && !load_config(r, r->id, &out) &&
	    !audit_req(r, "update", is_preset(r) ? "presets" : "team_shapes", r->id, r->user->scope_path, r->body))
		req_reply(r, 200, json_incref(out));
out:
	json_decref(cur);
	json_decref(rules);
	json_decref(out);
	return r->fail.code;
}

static json_t *version_json(wg_req *r, wg_stmt *s, void *ctx)
{
	(void)r;
	(void)ctx;
	json_t *o = json_pack("{s:I, s:I, s:o, s:o, s:o}", "id", (json_int_t)stmt_int(s, 0), "number", (json_int_t)stmt_int(s, 1),
			      "rules", json_loadb(stmt_text(s, 2), stmt_len(s, 2), 0, NULL),
			      "note", stmt_is_null(s, 3) ? json_null() : json_string(stmt_text(s, 3)),
			      "created_by", stmt_is_null(s, 5) ? json_null() : json_integer(stmt_int(s, 5)));
	if (o && json_set_time_or_null(o, "created_at", stmt_int(s, 4))) {
		json_decref(o);
		return NULL;
	}
	return o;
}

/* GET /api/v1/presets/{id}/versions: every version, newest first. */
int ctl_config_versions(wg_req *r)
{
	static const char *const allowed[] = { "limit", "cursor", NULL };
	struct wg_pager pg;
	json_t *cur;
	if (req_check_query(r, allowed) || load_config(r, r->id, &cur))
		return r->fail.code;
	json_decref(cur);
	if (pager_start(r, &pg, 100, true))
		return r->fail.code;
	wg_param p[] = { WG_PINT(r->id), WG_PINT(pg.limit + 1), WG_PINT(pg.cursor) };
	if (!pager_rows(r, &pg, "SELECT id, number, rules, note, created_at, created_by FROM control_config_versions"
			" WHERE config_id = ? ORDER BY number DESC LIMIT ? OFFSET ?", p, 3, 0, version_json, NULL) &&
	    !pager_count(r, &pg, "FROM control_config_versions WHERE config_id = ?", p, 1, 0))
		return pager_reply(r, &pg);
	pager_release(&pg);
	return r->fail.code;
}
