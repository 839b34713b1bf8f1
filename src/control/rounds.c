/* Mass NAT rounds (全员核酸) as a declared resource (/api/v1/nat-rounds): a
 * round covers the subtree of its node for some days. Opening it counts the
 * residents of every node of the subtree (registry_people) into
 * control_nat_nodes, where each sample adds itself to its node and the
 * nodes above it (samples.c), so "how many are not sampled yet" is one row
 * for any node. Sampling points with their time slots and green channel. */
#include "control/control_int.h"
#include "core/audit/audit.h"
#include "core/auth/scope.h"
#include "core/lib/err.h"
#include "core/lib/mem.h"
#include "core/lib/parse.h"

#include <stdio.h>
#include <string.h>

static const char *const round_statuses[] = { "open", "closed", NULL };
static const char *const round_status_labels[] = { "进行中", "已结束", NULL };

static const struct wg_field round_fields[] = {
	{ "grid_id", FT_REF, FF_REQUIRED | FF_CREATE_ONLY | FF_SCOPE | FF_FILTER, 0, 0, NULL, "检测范围(节点)", NULL, NULL, NULL },
	{ "name", FT_TEXT, FF_REQUIRED | FF_SEARCH, 1, 100, NULL, "名称", NULL, NULL, NULL },
	{ "date_from", FT_DATE, FF_REQUIRED | FF_CREATE_ONLY, 0, 0, NULL, "开始日期", NULL, NULL, NULL },
	{ "date_to", FT_DATE, FF_REQUIRED | FF_CREATE_ONLY, 0, 0, NULL, "结束日期", NULL, NULL, NULL },
	{ "status", FT_ENUM, FF_FILTER, 0, 0, round_statuses, "状态", round_status_labels, NULL, NULL },
	{ "notes", FT_TEXT, FF_NULLABLE, 0, 1000, NULL, "备注", NULL, NULL, NULL },
};

static int round_check(wg_req *r, const struct wg_resource *res, int64_t id, json_t *body)
{
	(void)res;
	int64_t from, to;
	if (id)
		return 0;
	const char *f = json_string_value(json_object_get(body, "date_from")), *t = json_string_value(json_object_get(body, "date_to"));
	if (!ctl_day_parse(f, strlen(f), &from) || !ctl_day_parse(t, strlen(t), &to))
		return req_fail(r, WG_ERR_VALIDATION, "date_to", "日期应为 YYYY-MM-DD", "dates must be YYYY-MM-DD");
	if (to < from)
		return req_fail(r, WG_ERR_VALIDATION, "date_to", "结束日期(date_to)早于开始日期(date_from)",
				"date_to is before date_from: dates out of order");
	if (to - from >= 14)
		return req_fail(r, WG_ERR_VALIDATION, "date_to", "一轮核酸检测最长 14 天", "a round lasts at most 14 days");
	return 0;
}

/* Residents per node of the subtree: each person counts for its own node
 * and every node above it up to the round's node. */
struct tally { int64_t node; int64_t n; char path[WG_MAX_GRID_PATH]; };

static struct tally *slot_of(struct tally *t, size_t cap, int64_t node)
{
	size_t i = (size_t)((uint64_t)node * 2654435761u) & (cap - 1);
	while (t[i].node && t[i].node != node)
		i = (i + 1) & (cap - 1);
	return &t[i];
}

int ctl_round_count(wg_req *r, int64_t round_id, const char *root_path)
{
	char lo[WG_MAX_GRID_PATH + 2], hi[WG_MAX_GRID_PATH + 2];
	int64_t root_ids[WG_MAX_GRID_DEPTH];
	int root_depth = ctl_path_ids(root_path, root_ids, WG_MAX_GRID_DEPTH);
	size_t cap = 1 << 15, used = 0;
	struct tally *t = wg_calloc(cap, sizeof *t);
	if (!t)
		return req_fail(r, WG_ERR_NOMEM, NULL, NULL, NULL);
	scope_range(root_path, lo, hi, sizeof lo);
	wg_stmt *s;
	wg_param p[] = { WG_PTEXT(lo), WG_PTEXT(hi) };
	int rc = store_query(r->db, "SELECT node_path, COUNT(*) FROM registry_people WHERE node_path >= ? AND node_path < ?"
			     " GROUP BY node_path", p, 2, &s);
	if (rc) {
		wg_free(t);
		return req_fail(r, rc, NULL, NULL, NULL);
	}
	while ((rc = stmt_next(s)) == 1) {
		int64_t ids[WG_MAX_GRID_DEPTH];
		const char *path = stmt_text(s, 0);
		int n = ctl_path_ids(path, ids, WG_MAX_GRID_DEPTH);
		/* The prefix of path that names the node at depth d ends after its d-th '/'. */
		for (int d = root_depth; d <= n; d++) {
			struct tally *x = slot_of(t, cap, ids[d - 1]);
			if (!x->node) {
				if (++used > cap / 2) {
					rc = -WG_ERR_TOO_LARGE;
					break;
				}
				x->node = ids[d - 1];
				size_t len = 0;
				for (int slashes = 0; path[len] && slashes <= d; len++)
					slashes += path[len] == '/';
				wg_copy_text(x->path, len + 1 < sizeof x->path ? len + 1 : sizeof x->path, path);
			}
			x->n += stmt_int(s, 1);
		}
		if (rc < 0)
			break;
	}
	stmt_done(s);
	if (rc >= 0) {
		wg_param z[] = { WG_PINT(round_id) };
		rc = store_run(r->db, "UPDATE control_nat_nodes SET residents = 0 WHERE round_id = ?", z, 1);
	}
	/* The round's own node always has a row. */
	struct tally *root = slot_of(t, cap, root_ids[root_depth - 1]);
	if (rc >= 0 && !root->node) {
		root->node = root_ids[root_depth - 1];
		wg_copy_text(root->path, sizeof root->path, root_path);
	}
	for (size_t i = 0; rc >= 0 && i < cap; i++) {
		if (!t[i].node)
			continue;
		wg_param q[] = { WG_PINT(round_id), WG_PINT(t[i].node), WG_PTEXT(t[i].path), WG_PINT(t[i].n) };
		rc = store_run(r->db, "INSERT INTO control_nat_nodes (round_id, node_id, node_path, residents, sampled) VALUES (?, ?, ?, ?, 0)"
			       " ON CONFLICT (round_id, node_id) DO UPDATE SET residents = excluded.residents", q, 4);
	}
	wg_free(t);
	if (rc == -WG_ERR_TOO_LARGE)
		return req_fail(r, WG_ERR_TOO_LARGE, "grid_id", "检测范围内的节点过多", "too many nodes in the round's subtree");
	return rc ? req_fail(r, rc < 0 ? -rc : rc, NULL, NULL, NULL) : 0;
}

static int round_after_insert(wg_req *r, const struct wg_resource *res, int64_t id, json_t *body, const char *path)
{
	(void)res;
	(void)body;
	return ctl_round_count(r, id, path);
}

static int round_decorate(wg_req *r, const struct wg_resource *res, json_t *item)
{
	(void)res;
	json_t *o = json_object_get(item, "progress");
	int64_t residents = json_integer_value(json_object_get(o, "residents")), sampled = json_integer_value(json_object_get(o, "sampled"));
	if (json_object_set_new(item, "residents", json_integer(residents)) || json_object_set_new(item, "sampled", json_integer(sampled)) ||
	    json_object_del(item, "progress") || json_set_time_or_null(item, "created_at", json_integer_value(json_object_get(item, "created_at"))) ||
	    json_set_time_or_null(item, "updated_at", json_integer_value(json_object_get(item, "updated_at"))) ||
	    json_object_set_new(item, "not_sampled", json_integer(residents > sampled ? residents - sampled : 0)))
		return req_fail(r, WG_ERR_NOMEM, NULL, NULL, NULL);
	return 0;
}

/* A round that has samples is history: it is closed (status), not deleted. */
static int round_before_delete(wg_req *r, const struct wg_resource *res, int64_t id, const char *path)
{
	(void)res;
	(void)path;
	int64_t samples = 0;
	wg_param p[] = { WG_PINT(id) };
	int rc = store_int(r->db, "SELECT COUNT(*) FROM control_nat_samples WHERE round_id = ?", p, 1, &samples);
	if (rc)
		return req_fail(r, rc, NULL, NULL, NULL);
	if (samples)
		return req_failf(r, WG_ERR_CONFLICT, NULL, "全员核酸检测 %lld 已有 %lld 个样本,不能删除;请改为结束(status: closed)",
				 "NAT round %lld has %lld samples and cannot be deleted: close it (status: closed)", (long long)id,
				 (long long)samples, (long long)id, (long long)samples);
	static const char *const rows[] = {
		"DELETE FROM control_nat_slots WHERE point_id IN (SELECT id FROM control_nat_points WHERE round_id = ?)",
		"DELETE FROM control_nat_points WHERE round_id = ?", "DELETE FROM control_nat_nodes WHERE round_id = ?" };
	for (size_t i = 0; i < WG_COUNT(rows); i++)
		if ((rc = store_run(r->db, rows[i], p, 1)))
			return req_fail(r, rc, NULL, NULL, NULL);
	return 0;
}

struct wg_resource ctl_round_resource = {
	.name = "nat-rounds", .table = "control_nat_rounds", .zh = "全员核酸检测", .en = "mass NAT round",
	.fields = round_fields, .nfields = WG_COUNT(round_fields),
	.path_column = "node_path", .read_right = &right_NAT_READ, .write_right = &right_NAT_WRITE,
	.hooks = { .check = round_check, .after_insert = round_after_insert, .decorate = round_decorate,
		   .before_delete = round_before_delete },
	/* The round node's counts in the round's own statement (a JSON member is an object). */
	.json_members = (const struct wg_json_member[]){ {
		"progress",
		"(SELECT json_object('residents', COALESCE(MAX(residents), 0), 'sampled', COALESCE(MAX(sampled), 0))"
		" FROM control_nat_nodes n WHERE n.round_id = control_nat_rounds.id AND n.node_id = control_nat_rounds.grid_id)",
		"(SELECT json_build_object('residents', COALESCE(MAX(residents), 0), 'sampled', COALESCE(MAX(sampled), 0))::text"
		" FROM control_nat_nodes n WHERE n.round_id = control_nat_rounds.id AND n.node_id = control_nat_rounds.grid_id)",
	} },
	.njson_members = 1,
};

int ctl_round_load(wg_req *r, int64_t id, struct ctl_round *out)
{
	wg_stmt *s;
	wg_param p[] = { WG_PINT(id) };
	int rc = store_query(r->db, "SELECT grid_id, node_path, status, date_from, date_to, name FROM control_nat_rounds WHERE id = ?",
			     p, 1, &s);
	if (rc)
		return req_fail(r, rc, NULL, NULL, NULL);
	rc = stmt_next(s);
	/* Visible when the caller's scope holds the round or lies inside it (a sampler of one grid at a community's round). */
	bool visible = rc == 1 && (scope_contains(r->user->scope_path, stmt_text(s, 1)) || scope_contains(stmt_text(s, 1), r->user->scope_path));
	if (visible) {
		out->id = id;
		out->node_id = stmt_int(s, 0);
		wg_copy_text(out->path, sizeof out->path, stmt_text(s, 1));
		out->open = strcmp(stmt_text(s, 2), "open") == 0;
		ctl_day_parse(stmt_text(s, 3), stmt_len(s, 3), &out->from);
		ctl_day_parse(stmt_text(s, 4), stmt_len(s, 4), &out->to);
		wg_copy_text(out->name, sizeof out->name, stmt_text(s, 5));
	}
	stmt_done(s);
	if (rc < 0)
		return req_fail(r, -rc, NULL, NULL, NULL);
	if (!visible)
		return req_failf(r, WG_ERR_NOT_FOUND, NULL, "全员核酸检测 %lld 不存在或不在您的管辖范围内",
				 "NAT round %lld does not exist or is outside your scope", (long long)id, (long long)id);
	return 0;
}

/* POST /api/v1/nat-rounds/{id}/refresh: residents counted again (people registered or moved since). */
int ctl_round_refresh(wg_req *r)
{
	json_t *round;
	char path[WG_MAX_GRID_PATH];
	if (resource_load(r, &ctl_round_resource, r->id, &round, path, sizeof path))
		return r->fail.code;
	json_decref(round);
	if (ctl_round_count(r, r->id, path) || audit_req(r, "refresh", "nat-rounds", r->id, path, NULL) ||
	    resource_load(r, &ctl_round_resource, r->id, &round, path, sizeof path))
		return r->fail.code;
	if (round_decorate(r, &ctl_round_resource, round)) {
		json_decref(round);
		return r->fail.code;
	}
	return req_reply(r, 200, round);
}

/* ---- sampling points and their slots ---- */

static int points_json(wg_req *r, int64_t round_id, int64_t only, json_t **out)
{
	wg_stmt *s;
	wg_param p[] = { WG_PINT(round_id), WG_PINT(only), WG_PINT(only) };
	*out = json_array();
	int rc = store_query(r->db, "SELECT id, name, address, green_channel, note FROM control_nat_points WHERE round_id = ?"
			     " AND (? = 0 OR id = ?) ORDER BY id", p, 3, &s);
	if (rc)
		return req_fail(r, rc, NULL, NULL, NULL);
	while ((rc = stmt_next(s)) == 1)
		json_array_append_new(*out, json_pack("{s:I, s:s, s:o, s:b, s:o, s:[]}", "id", (json_int_t)stmt_int(s, 0), "name",
						      stmt_text(s, 1), "address", stmt_is_null(s, 2) ? json_null() : json_string(stmt_text(s, 2)),
						      "green_channel", stmt_int(s, 3) != 0,
						      "note", stmt_is_null(s, 4) ? json_null() : json_string(stmt_text(s, 4)), "slots"));
	stmt_done(s);
	if (rc < 0)
		return req_fail(r, -rc, NULL, NULL, NULL);
	size_t i;
	json_t *pt;
	json_array_foreach(*out, i, pt) {
		wg_param q[] = { WG_PINT(json_integer_value(json_object_get(pt, "id"))) };
		if ((rc = store_query(r->db, "SELECT id, starts_at, ends_at, grids FROM control_nat_slots WHERE point_id = ? ORDER BY starts_at, id",
				      q, 1, &s)))
			return req_fail(r, rc, NULL, NULL, NULL);
		while ((rc = stmt_next(s)) == 1) {
			json_t *grids = json_array();
			for (const char *g = stmt_text(s, 3); *g;) {
				int64_t v = 0;
				while (*g == ',')
					g++;
				if (!*g)
					break;
				while (*g >= '0' && *g <= '9')
					v = v * 10 + (*g++ - '0');
				json_array_append_new(grids, json_integer(v));
			}
			json_t *slot = json_pack("{s:I, s:o}", "id", (json_int_t)stmt_int(s, 0), "grid_ids", grids);
			if (slot && !json_set_time_or_null(slot, "from", stmt_int(s, 1)) && !json_set_time_or_null(slot, "to", stmt_int(s, 2)))
				json_array_append_new(json_object_get(pt, "slots"), slot);
			else
				json_decref(slot);
		}
		stmt_done(s);
		if (rc < 0)
			return req_fail(r, -rc, NULL, NULL, NULL);
	}
	return 0;
}

/* GET /api/v1/nat-rounds/{id}/points */
int ctl_round_points(wg_req *r)
{
	static const char *const allowed[] = { NULL };
	struct ctl_round round;
	json_t *points = NULL;
	if (req_check_query(r, allowed) || ctl_round_load(r, r->id, &round) || points_json(r, r->id, 0, &points)) {
		json_decref(points);
		return r->fail.code;
	}
	return req_reply(r, 200, json_pack("{s:I, s:o}", "round_id", (json_int_t)r->id, "items", points));
}

static int add_slot(wg_req *r, const struct ctl_round *round, int64_t point, json_t *slot, size_t i)
{
	static const char *const keys[] = { "from", "to", "grid_ids", NULL };
	char field[64], grids[1024] = ",";
	json_t *saved = r->body, *ids = json_object_get(slot, "grid_ids"), *g;
	int64_t from, to;
	size_t k, len = 1;
	snprintf(field, sizeof field, "slots[%zu]", i);
	if (!json_is_object(slot))
		return req_failf(r, WG_ERR_VALIDATION, field, "%s 应为 {from, to, grid_ids}", "%s must be {from, to, grid_ids}", field, field);
	r->body = slot;  /* the slot's members are read as a body of their own */
	int rc = req_check_body(r, keys) || ctl_body_time(r, "from", -1, &from) || ctl_body_time(r, "to", -1, &to);
	r->body = saved;
	if (rc) {
		char inner[48];
		wg_copy_text(inner, sizeof inner, r->fail.field);
		snprintf(r->fail.field, sizeof r->fail.field, "%.60s.%s", field, inner);
		return r->fail.code;
	}
	if (from < 0 || to <= from)
		return req_failf(r, WG_ERR_VALIDATION, field, "%s 需要 from 和晚于它的 to", "%s needs from and a later to", field, field);
	if (ctl_local_day(from) < round->from || ctl_local_day(to - 1) > round->to)
		return req_failf(r, WG_ERR_VALIDATION, field, "%s 不在本轮检测的日期内", "%s lies outside the round's dates", field, field);
	if (ids && (!json_is_array(ids) || json_array_size(ids) > 64))
		return req_failf(r, WG_ERR_VALIDATION, field, "%s.grid_ids 应为最多 64 个节点编号", "%s.grid_ids must be at most 64 node ids",
				 field, field);
	json_array_foreach(ids, k, g) {
		char path[WG_MAX_GRID_PATH], gf[96];
		snprintf(gf, sizeof gf, "%s.grid_ids[%zu]", field, k);
		if (!json_is_integer(g) || resource_node_path(r, json_integer_value(g), gf, path, sizeof path))
			return r->fail.code ? r->fail.code : req_failf(r, WG_ERR_VALIDATION, gf, "%s 应为节点编号", "%s must be a node id", gf, gf);
		if (!scope_contains(round->path, path))
			return req_failf(r, WG_ERR_VALIDATION, gf, "%s 不在本轮检测范围内", "%s lies outside the round's subtree", gf, gf);
		len += (size_t)snprintf(grids + len, sizeof grids - len, "%lld,", (long long)json_integer_value(g));
	}
	wg_param p[] = { WG_PINT(point), WG_PINT(from), WG_PINT(to), WG_PTEXT(len > 1 ? grids : "") };
	rc = store_run(r->db, "INSERT INTO control_nat_slots (point_id, starts_at, ends_at, grids) VALUES (?, ?, ?, ?)", p, 4);
	return rc ? req_fail(r, rc, NULL, NULL, NULL) : 0;
}

/* POST /api/v1/nat-rounds/{id}/points {name, address?, green_channel?, note?, slots?: [{from, to, grid_ids?}]} */
int ctl_round_point_add(wg_req *r)
{
	static const char *const allowed[] = { "name", "address", "green_channel", "note", "slots", NULL };
	struct ctl_round round;
	const char *name, *address, *note;
	json_t *green = json_object_get(r->body, "green_channel"), *slots = json_object_get(r->body, "slots"), *slot, *out = NULL;
	int64_t id;
	size_t i;
	if (req_check_body(r, allowed) || ctl_round_load(r, r->id, &round) || ctl_body_text(r, "name", 100, true, &name) ||
	    ctl_body_text(r, "address", 200, false, &address) || ctl_body_text(r, "note", CTL_MAX_REASON, false, &note))
		return r->fail.code;
	if (!scope_contains(r->user->scope_path, round.path))
		return req_fail(r, WG_ERR_FORBIDDEN, NULL, "只有本轮检测范围的上级可以设置采样点", "only those whose scope holds the round set its points");
	if (green && !json_is_boolean(green))
		return req_fail(r, WG_ERR_VALIDATION, "green_channel", "green_channel 应为 true 或 false", "green_channel must be true or false");
	if (slots && (!json_is_array(slots) || json_array_size(slots) > 48))
		return req_fail(r, WG_ERR_VALIDATION, "slots", "slots 应为最多 48 个时段的数组", "slots must be an array of at most 48 slots");
	wg_param p[] = { WG_PINT(r->id), WG_PTEXT(name), address ? WG_PTEXT(address) : WG_PNULL, WG_PINT(json_is_true(green)),
			 note ? WG_PTEXT(note) : WG_PNULL, WG_PINT(r->now) };
	int rc = store_insert(r->db, "INSERT INTO control_nat_points (round_id, name, address, green_channel, note, created_at)"
			      " VALUES (?, ?, ?, ?, ?, ?)", p, 6, &id);
	if (rc)
		return req_fail(r, rc, NULL, NULL, NULL);
	json_array_foreach(slots, i, slot)
		if (add_slot(r, &round, id, slot, i))
			return r->fail.code;
	if (audit_req(r, "create", "nat_points", id, round.path, r->body) || points_json(r, r->id, id, &out)) {
		json_decref(out);
		return r->fail.code;
	}
	json_t *point = json_incref(json_array_get(out, 0));
	json_decref(out);
	return req_reply(r, 201, point);
}
