/* GET /api/v1/controls/rollup and its export: for a node and a day, the
 * records in force by category and mode, the statuses, the checks and NAT
 * samples owed and done, the alerts, and the mass NAT rounds covering the
 * node. From the counters (counts.c) unless ?source=tables. */
#include "control/control_int.h"
#include "core/audit/audit.h"
#include "core/auth/scope.h"
#include "core/lib/err.h"
#include "core/lib/parse.h"
#include "core/sheet/sheet.h"

#include <stdio.h>
#include <string.h>

static json_t *counts_json(const struct ctl_rollup *x)
{
	json_t *cat = json_object(), *mode = json_object();
	for (int i = 0; i < CTL_NCATEGORIES; i++)
		json_object_set_new(cat, ctl_categories[i], json_integer(x->cat[i]));
	for (int i = 0; i < CTL_NMODES; i++)
		json_object_set_new(mode, ctl_modes[i], json_integer(x->mode[i]));
	return json_pack(
		"{s:{s:I, s:o, s:o, s:{s:I, s:I, s:I, s:I, s:I}, s:{s:I, s:I, s:I, s:I}},"
		" s:{s:I, s:I, s:I, s:I, s:I, s:I}, s:{s:I, s:I, s:I, s:I, s:I}, s:{s:I, s:I, s:I, s:I}}",
		"controls", "active", (json_int_t)x->active, "by_category", cat, "by_mode", mode,
		"by_status", "active", (json_int_t)x->active, "released", (json_int_t)x->released,
		"transferred", (json_int_t)x->transferred, "closed", (json_int_t)x->closed, "opened", (json_int_t)x->opened,
		"on_day", "opened", (json_int_t)x->day_opened, "released", (json_int_t)x->day_released,
		"transferred", (json_int_t)x->day_transferred, "closed", (json_int_t)x->day_closed,
		"checks", "due", (json_int_t)x->checks_due, "done", (json_int_t)x->checks_done,
		"missing", (json_int_t)(x->checks_due > x->checks_done ? x->checks_due - x->checks_done : 0),
		"recorded", (json_int_t)x->checks, "fever", (json_int_t)x->fever, "symptom", (json_int_t)x->symptom,
		"nat", "due", (json_int_t)x->nat_due, "sampled", (json_int_t)x->nat_done,
		"not_sampled", (json_int_t)(x->nat_due > x->nat_done ? x->nat_due - x->nat_done : 0),
		"samples", (json_int_t)x->nat_samples, "positive", (json_int_t)x->nat_positive,
		"alerts", "open", (json_int_t)x->alerts_open, "raised", (json_int_t)x->alerts_raised,
		"handled", (json_int_t)x->alerts_handled, "closed", (json_int_t)x->alerts_closed);
}

struct node { int64_t id; char path[WG_MAX_GRID_PATH]; char name[CTL_MAX_NAME_BYTES]; char kind[16]; };

static int node_load(wg_req *r, int64_t id, struct node *n)
{
	wg_stmt *s;
	wg_param p[] = { WG_PINT(id) };
	int rc = store_query(r->db, "SELECT path, name, kind FROM grid_nodes WHERE id = ?", p, 1, &s);
	if (rc)
		return req_fail(r, rc, NULL, NULL, NULL);
	rc = stmt_next(s);
	if (rc == 1) {
		n->id = id;
		wg_copy_text(n->path, sizeof n->path, stmt_text(s, 0));
		wg_copy_text(n->name, sizeof n->name, stmt_text(s, 1));
		wg_copy_text(n->kind, sizeof n->kind, stmt_text(s, 2));
	}
	stmt_done(s);
	if (rc < 0)
		return req_fail(r, -rc, NULL, NULL, NULL);
	if (rc == 0 || !scope_contains(r->user->scope_path, n->path))
		return req_failf(r, WG_ERR_NOT_FOUND, "node", "网格节点 %lld 不存在或不在您的管辖范围内",
				 "grid node %lld does not exist or is outside your scope", (long long)id, (long long)id);
	return 0;
}

static int rounds_json(wg_req *r, const struct node *n, int64_t day, json_t **out);

int ctl_rounds_for_node(wg_req *r, int64_t node_id, const char *path, int64_t day, json_t **out)
{
	struct node n = { .id = node_id };
	wg_copy_text(n.path, sizeof n.path, path);
	return rounds_json(r, &n, day, out);
}

/* The mass NAT rounds on the day that cover the node or lie inside it. */
static int rounds_json(wg_req *r, const struct node *n, int64_t day, json_t **out)
{
	char lo[WG_MAX_GRID_PATH + 2], hi[WG_MAX_GRID_PATH + 2], text[WG_DATE_TEXT];
	wg_stmt *s;
	int64_t ids[WG_MAX_GRID_DEPTH];
	int nids = ctl_path_ids(n->path, ids, WG_MAX_GRID_DEPTH);
	char sql[1024];
	size_t len = (size_t)snprintf(sql, sizeof sql, "SELECT id, name, grid_id, node_path FROM control_nat_rounds"
				      " WHERE date_from <= ? AND date_to >= ? AND ((node_path >= ? AND node_path < ?) OR grid_id IN (0");
	wg_param p[4 + WG_MAX_GRID_DEPTH];
	scope_range(n->path, lo, hi, sizeof lo);
	ctl_day_text(day, text);
	p[0] = WG_PTEXT(text);
	p[1] = WG_PTEXT(text);
	p[2] = WG_PTEXT(lo);
	p[3] = WG_PTEXT(hi);
	for (int i = 0; i < nids; i++) {
		len += (size_t)snprintf(sql + len, sizeof sql - len, ", ?");
		p[4 + i] = WG_PINT(ids[i]);
	}
	snprintf(sql + len, sizeof sql - len, ")) ORDER BY id");
	*out = json_array();
	int rc = store_query(r->db, sql, p, 4 + (size_t)nids, &s);
	if (rc)
		return req_fail(r, rc, NULL, NULL, NULL);
	struct { int64_t id, root; bool inside; char name[CTL_MAX_NAME_BYTES]; } found[32];
	int nf = 0;
	while ((rc = stmt_next(s)) == 1 && nf < 32) {
		found[nf].id = stmt_int(s, 0);
		wg_copy_text(found[nf].name, sizeof found[nf].name, stmt_text(s, 1));
		found[nf].root = stmt_int(s, 2);
		found[nf++].inside = strcmp(stmt_text(s, 3), n->path) != 0 && scope_contains(n->path, stmt_text(s, 3));
	}
	stmt_done(s);
	if (rc < 0)
		return req_fail(r, -rc, NULL, NULL, NULL);
	for (int i = 0; i < nf; i++) {
		wg_param q[] = { WG_PINT(found[i].id), WG_PINT(found[i].inside ? found[i].root : n->id) };
		int64_t residents = 0, sampled = 0;
		if ((rc = store_query(r->db, "SELECT residents, sampled FROM control_nat_nodes WHERE round_id = ? AND node_id = ?",
				      q, 2, &s)))
			return req_fail(r, rc, NULL, NULL, NULL);
		if ((rc = stmt_next(s)) == 1) {
			residents = stmt_int(s, 0);
			sampled = stmt_int(s, 1);
		}
		stmt_done(s);
		if (rc < 0)
			return req_fail(r, -rc, NULL, NULL, NULL);
		json_array_append_new(*out, json_pack("{s:I, s:s, s:I, s:I, s:I}", "round_id", (json_int_t)found[i].id,
						      "name", found[i].name, "residents", (json_int_t)residents,
						      "sampled", (json_int_t)sampled,
						      "not_sampled", (json_int_t)(residents > sampled ? residents - sampled : 0)));
	}
	return 0;
}

static int one(wg_req *r, const struct node *n, int64_t day, bool tables, json_t **out)
{
	struct ctl_rollup x;
	json_t *rounds = NULL;
	*out = NULL;
	int rc = tables ? ctl_rollup_tables(r, n->path, day, &x) : ctl_rollup_counters(r->db, n->id, day, &x);
	if (rc)
		return r->fail.code ? r->fail.code : req_fail(r, rc, NULL, NULL, NULL);
	if (rounds_json(r, n, day, &rounds)) {
		json_decref(rounds);
		return r->fail.code;
	}
	*out = counts_json(&x);
	if (!*out || json_object_set_new(*out, "node", json_pack("{s:I, s:s, s:s, s:s}", "id", (json_int_t)n->id, "name", n->name,
								 "kind", n->kind, "path", n->path)) ||
	    json_object_set_new(*out, "rounds", rounds)) {
		json_decref(*out);
		*out = NULL;
		return req_fail(r, WG_ERR_NOMEM, NULL, NULL, NULL);
	}
	return 0;
}

/* The node's children from kids[first] on (kids has room for first + 501). */
static int children_of(wg_req *r, int64_t id, size_t first, struct node **kids, size_t *n)
{
	wg_stmt *s;
	wg_param p[] = { WG_PINT(id) };
	*kids = NULL;
	*n = first;
	int rc = store_query(r->db, "SELECT id, path, name, kind FROM grid_nodes WHERE parent_id = ? ORDER BY id LIMIT 501", p, 1, &s);
	if (rc)
		return req_fail(r, rc, NULL, NULL, NULL);
	*kids = arena_alloc(&r->arena, (first + 501) * sizeof **kids);
	while (*kids && (rc = stmt_next(s)) == 1 && *n < first + 501) {
		struct node *k = &(*kids)[(*n)++];
		k->id = stmt_int(s, 0);
		wg_copy_text(k->path, sizeof k->path, stmt_text(s, 1));
		wg_copy_text(k->name, sizeof k->name, stmt_text(s, 2));
		wg_copy_text(k->kind, sizeof k->kind, stmt_text(s, 3));
	}
	stmt_done(s);
	if (!*kids)
		return req_fail(r, WG_ERR_NOMEM, NULL, NULL, NULL);
	if (*n > first + 500)
		return req_fail(r, WG_ERR_TOO_LARGE, "node", "下级节点超过 500 个,请选择更下一级的节点",
				"more than 500 child nodes; pick a node further down");
	return rc < 0 ? req_fail(r, -rc, NULL, NULL, NULL) : 0;
}

struct params { struct node node; int64_t day; bool tables, children; };

static int read_params(wg_req *r, const char *const *allowed, struct params *pr)
{
	int64_t node, children;
	const char *source = req_query(r, "source");
	if (req_check_query(r, allowed) || req_query_int(r, "node", 1, INT64_MAX, r->user->scope_node_id, &node) ||
	    req_query_int(r, "children", 0, 1, 0, &children) || ctl_query_day(r, "date", ctl_local_day(r->now), &pr->day))
		return r->fail.code;
	if (source && strcmp(source, "counters") != 0 && strcmp(source, "tables") != 0)
		return req_fail(r, WG_ERR_BAD_QUERY, "source", "source 应为 counters 或 tables", "source must be counters or tables");
	struct ctl_settings st;
	if (ctl_settings_get(r, &st))
		return r->fail.code;
	pr->tables = source && strcmp(source, "tables") == 0;
	pr->children = children != 0;
	return node_load(r, node, &pr->node);
}

/* GET /api/v1/controls/rollup?node=&date=&children=0|1&source=counters|tables */
int ctl_rollup(wg_req *r)
{
	static const char *const allowed[] = { "node", "date", "children", "source", NULL };
	struct params pr;
	json_t *out = NULL, *list = NULL;
	struct node *kids;
	size_t nkids;
	char day[WG_DATE_TEXT];
	if (read_params(r, allowed, &pr) || one(r, &pr.node, pr.day, pr.tables, &out))
		goto out;
	ctl_day_text(pr.day, day);
	json_object_set_new(out, "date", json_string(day));
	json_object_set_new(out, "source", json_string(pr.tables ? "tables" : "counters"));
	if (pr.children) {
		if (children_of(r, pr.node.id, 0, &kids, &nkids) || !(list = json_array()))
			goto out;
		for (size_t i = 0; i < nkids; i++) {
			json_t *c;
			if (one(r, &kids[i], pr.day, pr.tables, &c))
				goto out;
			json_array_append_new(list, c);
		}
		json_object_set_new(out, "children", list);
		list = NULL;
	}
	req_reply(r, 200, out);
	out = NULL;
out:
	json_decref(out);
	json_decref(list);
	return r->fail.code;
}

/* ---- the export: the node and each child as a row, in the office's words ---- */

static const char *kind_label(const char *kind)
{
	static const char *const kinds[][2] = { { "province", "省" }, { "city", "市" }, { "county", "县" }, { "street", "街道" },
						{ "town", "镇" }, { "community", "社区" }, { "village", "村" }, { "grid", "网格" },
						{ "building", "楼栋" } };
	for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++)
		if (strcmp(kinds[i][0], kind) == 0)
			return kinds[i][1];
	return kind;
}

struct export_ctx { struct params *pr; struct node *rows; size_t n; };

static int write_rollup(wg_req *r, struct sheet_writer *w, void *ctx)
{
	static const char *const header[] = {
		"节点编号", "节点", "层级", "日期", "在管人数", "密接", "次密接", "时空伴随", "高风险区外溢", "入境", "指挥部推送", "自排",
		"集中隔离", "居家隔离", "居家健康监测", "当日新增", "当日解除", "当日转出", "当日关闭", "累计解除",
		"应测次数", "已测次数", "未测次数", "发热", "有症状", "应采核酸", "已采核酸", "未采核酸", "阳性",
		"未处置预警", "当日预警", "当日处置" };
	struct export_ctx *e = ctx;
	char date[WG_DATE_TEXT];
	ctl_day_text(e->pr->day, date);
	int rc = sheet_writer_header(w, header, NULL, sizeof header / sizeof header[0]);
	for (size_t i = 0; !rc && i < e->n; i++) {
		struct ctl_rollup x;
		const struct node *n = &e->rows[i];
		rc = e->pr->tables ? ctl_rollup_tables(r, n->path, e->pr->day, &x) : ctl_rollup_counters(r->db, n->id, e->pr->day, &x);
		if (rc)
			break;
		int64_t v[] = { n->id, x.active, x.cat[0], x.cat[1], x.cat[2], x.cat[3], x.cat[4], x.cat[5], x.cat[6],
				x.mode[0], x.mode[1], x.mode[2], x.day_opened, x.day_released, x.day_transferred, x.day_closed,
				x.released, x.checks_due, x.checks_done, x.checks_due > x.checks_done ? x.checks_due - x.checks_done : 0,
				x.fever, x.symptom, x.nat_due, x.nat_done, x.nat_due > x.nat_done ? x.nat_due - x.nat_done : 0,
				x.nat_positive, x.alerts_open, x.alerts_raised, x.alerts_handled };
		char nums[sizeof v / sizeof v[0]][WG_I64_DIGITS + 1];
		for (size_t k = 0; k < sizeof v / sizeof v[0]; k++)
			nums[k][wg_format_i64(nums[k], v[k])] = '\0';
		const char *cells[] = { nums[0], n->name, kind_label(n->kind), date, nums[1], nums[2], nums[3], nums[4], nums[5],
					nums[6], nums[7], nums[8], nums[9], nums[10], nums[11], nums[12], nums[13], nums[14],
					nums[15], nums[16], nums[17], nums[18], nums[19], nums[20], nums[21], nums[22], nums[23],
					nums[24], nums[25], nums[26], nums[27], nums[28] };
		rc = sheet_writer_row(w, cells, NULL, sizeof cells / sizeof cells[0]);
	}
	return rc;
}

/* GET /api/v1/controls/rollup/export?node=&date=&source=&format=csv|xlsx */
int ctl_rollup_export(wg_req *r)
{
	static const char *const allowed[] = { "node", "date", "source", "format", NULL };
	struct params pr;
	struct node *rows;
	size_t n;
	if (read_params(r, allowed, &pr) || children_of(r, pr.node.id, 1, &rows, &n))
		return r->fail.code;
	rows[0] = pr.node;  /* the node itself first, its children below */
	struct export_ctx e = { &pr, rows, n };
	if (resource_export_reply(r, "rollup", "管控统计", write_rollup, &e))
		return r->fail.code;
	return 0;
}
