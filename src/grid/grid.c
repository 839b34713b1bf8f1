/* What is special about the grid tree: nodes own their path, kinds nest in
 * order, administrative codes extend their parent's code, subtrees move
 * whole, and each node has its responsible people (leaders). */
#include "grid/grid.h"
#include "core/audit/audit.h"
#include "core/auth/auth.h"
#include "core/lib/err.h"
#include "core/lib/limits.h"
#include "core/lib/parse.h"
#include "core/resource/resource.h"
#include "core/auth/scope.h"
#include "core/sheet/sheet.h"
#include "grid/grid_int.h"

#include <stdio.h>
#include <string.h>

static const char *const kinds[] = {
	"province", "city", "county", "street", "town", "community", "village", "grid", "building", NULL
};

/* The duties the reports name for responsible people. */
static const char *const duties[] = {
	"一级网格长", "二级网格长", "网格员", "专职网格员", "兼职网格员", "楼栋长", "单元长",
	"党支部书记", "党小组长", "驻点领导", "驻点干部", "包联干部", "网格指导员", NULL
};

static const struct {
	const char *kind;
	int level;
	unsigned code_digits;   /* administrative code length; 0 = free text */
} kind_levels[] = {
	{ "province", 1, 2 }, { "city", 2, 4 }, { "county", 3, 6 }, { "street", 4, 9 }, { "town", 4, 9 },
	{ "community", 5, 12 }, { "village", 5, 12 }, { "grid", 6, 0 }, { "building", 7, 0 },
};

int grid_kind_level(const char *kind)
{
	for (size_t i = 0; i < sizeof kind_levels / sizeof kind_levels[0]; i++)
		if (strcmp(kind_levels[i].kind, kind) == 0)
			return kind_levels[i].level;
	return 0;
}

static unsigned kind_code_digits(const char *kind)
{
	for (size_t i = 0; i < sizeof kind_levels / sizeof kind_levels[0]; i++)
		if (strcmp(kind_levels[i].kind, kind) == 0)
			return kind_levels[i].code_digits;
	return 0;
}

static const char *const kind_labels[] = {
	"省", "市", "县", "街道", "镇", "社区", "村", "网格", "楼栋", NULL
};

static const struct wg_field grid_fields[] = {
	{ "parent_id", FT_REF,  FF_REQUIRED | FF_CREATE_ONLY | FF_FILTER | FF_IMPORT_OPTIONAL, 0, 0, NULL, "上级编号", NULL, NULL, NULL },
	{ "kind",      FT_ENUM, FF_REQUIRED | FF_CREATE_ONLY | FF_FILTER, 0, 0, kinds, "层级", kind_labels, NULL, NULL },
	{ "code",      FT_TEXT, FF_NULLABLE | FF_FILTER | FF_SEARCH, 1, 32, NULL, "编码", NULL, NULL, NULL },
	{ "name",      FT_TEXT, FF_REQUIRED | FF_SEARCH, 1, WG_MAX_NAME, NULL, "名称", NULL, NULL, NULL },
	{ "geometry",  FT_TEXT, FF_NULLABLE, 0, 200000, NULL, "边界", NULL, NULL, NULL },
	{ "path",      FT_TEXT, FF_READONLY, 0, 0, NULL, "路径", NULL, NULL, NULL },
};

static const char *const parent_code_names[] = { "上级编码", "上级代码", "parent_code", NULL };
static const struct sheet_column_spec grid_import_extra[] = {
	{ "parent_code", parent_code_names, false },
};

struct node_info {
	int64_t id, parent_id;
	char kind[16], code[40], path[WG_MAX_GRID_PATH];
};

static int node_info(wg_conn *c, int64_t id, struct node_info *n)
{
	wg_stmt *s;
	wg_param p[] = { WG_PINT(id) };
	int rc = store_query(c, "SELECT id, COALESCE(parent_id, 0), kind, COALESCE(code, ''), path FROM grid_nodes WHERE id = ?", p, 1, &s);
	if (rc)
		return rc;
	rc = stmt_next(s);
	if (rc == 1) {
		n->id = stmt_int(s, 0);
		n->parent_id = stmt_int(s, 1);
		snprintf(n->kind, sizeof n->kind, "%s", stmt_text(s, 2));
		snprintf(n->code, sizeof n->code, "%s", stmt_text(s, 3));
		snprintf(n->path, sizeof n->path, "%s", stmt_text(s, 4));
	}
	stmt_done(s);
	return rc == 1 ? 0 : rc == 0 ? WG_ERR_NOT_FOUND : -rc;
}

static bool all_digits(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (s[i] < '0' || s[i] > '9')
			return false;
	return true;
}

static int check_code_digits(wg_req *r, const char *kind, const char *code)
{
	unsigned digits = kind_code_digits(kind);
	size_t n = strlen(code);
	if (digits && (n != digits || !all_digits(code, n)))
		return req_failf(r, WG_ERR_VALIDATION, "code", "%s 的区划代码应为 %u 位数字", "the code of a %s must be %u digits",
				 kind, digits, kind, digits);
	return 0;
}

/* A new administrative code must not strand the codes below it, which begin with the old one. */
static int check_children_codes(wg_req *r, const struct node_info *self, const char *code)
{
	if (!self->code[0] || !kind_code_digits(self->kind) || strcmp(self->code, code) == 0)
		return 0;
	int64_t n = 0;
	wg_param p[] = { WG_PINT(self->id), WG_PTEXT(self->code), WG_PINT((int64_t)strlen(self->code)) };
	int rc = store_int(r->db, "SELECT COUNT(*) FROM grid_nodes WHERE parent_id = ? AND code IS NOT NULL"
			   " AND substr(code, 1, ?) = ?", (wg_param[]){ p[0], p[2], p[1] }, 3, &n);
	if (rc)
		return req_fail(r, rc, NULL, NULL, NULL);
	if (n > 0)
		return req_failf(r, WG_ERR_CONFLICT, "code", "有 %lld 个下级节点的代码以 %s 开头,请先修改下级节点的代码",
				 "%lld children have codes beginning with %s; change theirs first",
				 (long long)n, self->code, (long long)n, self->code);
	return 0;
}

/* A child's kind is below its parent's; an administrative code has the
 * digits its level needs and begins with the parent's code. */
static int check_placement(wg_req *r, const struct node_info *parent, const char *kind, const char *code)
{
	if (grid_kind_level(kind) <= grid_kind_level(parent->kind))
		return req_failf(r, WG_ERR_VALIDATION, "kind", "“%s”不能设在“%s”之下", "a %s cannot be placed under a %s",
				 kind, parent->kind, kind, parent->kind);
	unsigned digits = kind_code_digits(kind);
	if (!code || !digits)
		return 0;
	size_t n = strlen(code);
	if (n != digits || !all_digits(code, n))
		return req_failf(r, WG_ERR_VALIDATION, "code", "%s 的区划代码应为 %u 位数字", "the code of a %s must be %u digits",
				 kind, digits, kind, digits);
	size_t pn = strlen(parent->code);
	if (pn && kind_code_digits(parent->kind) && (pn > n || strncmp(code, parent->code, pn) != 0))
		return req_failf(r, WG_ERR_VALIDATION, "code", "区划代码 %s 应以上级代码 %s 开头",
				 "code %s must begin with the parent's code %s", code, parent->code, code, parent->code);
	return 0;
}

static int grid_scope_of_new(wg_req *r, const struct wg_resource *res, json_t *body, char *path, size_t size)
{
	(void)res;
	return resource_node_path(r, json_integer_value(json_object_get(body, "parent_id")), "parent_id", path, size);
}

static int grid_check(wg_req *r, const struct wg_resource *res, int64_t id, json_t *body)
{
	struct node_info parent, self;
	(void)res;
	json_t *code = json_object_get(body, "code");
	const char *code_text = json_is_string(code) ? json_string_value(code) : NULL;
	if (id == 0) {
		int64_t pid = json_integer_value(json_object_get(body, "parent_id"));
		if (resource_node_path(r, pid, "parent_id", parent.path, sizeof parent.path))
			return r->fail.code;
		if (node_info(r->db, pid, &parent))
			return req_fail(r, WG_ERR_DB, NULL, NULL, NULL);
		return check_placement(r, &parent, json_string_value(json_object_get(body, "kind")), code_text);
	}
	if (!code_text)
		return 0;
	if (node_info(r->db, id, &self))
		return req_fail(r, WG_ERR_DB, NULL, NULL, NULL);
	if (self.parent_id) {
		if (node_info(r->db, self.parent_id, &parent))
			return req_fail(r, WG_ERR_DB, NULL, NULL, NULL);
		if (check_placement(r, &parent, self.kind, code_text))
			return r->fail.code;
	} else if (check_code_digits(r, self.kind, code_text)) {
		return r->fail.code;
	}
	return check_children_codes(r, &self, code_text);
}

static int set_own_path(wg_conn *c, int64_t id, const char *parent_path)
{
	char path[WG_MAX_GRID_PATH];
	int n = snprintf(path, sizeof path, "%s%lld/", parent_path, (long long)id);
	if (n < 0 || (size_t)n >= sizeof path)
		return WG_ERR_TOO_LARGE;
	wg_param p[] = { WG_PTEXT(path), WG_PINT(id) };
	return store_run(c, "UPDATE grid_nodes SET path = ? WHERE id = ?", p, 2);
}

static int grid_after_insert(wg_req *r, const struct wg_resource *res, int64_t id, json_t *body, const char *parent_path)
{
	(void)res;
	(void)body;
	int depth = 0;
	for (const char *p = parent_path; *p; p++)
		depth += *p == '/';
	if (depth > (int)WG_MAX_GRID_DEPTH)
		return req_failf(r, WG_ERR_VALIDATION, "parent_id", "网格层级不能超过 %u 级", "the tree may be at most %u levels deep",
				 WG_MAX_GRID_DEPTH, WG_MAX_GRID_DEPTH);
	int rc = set_own_path(r->db, id, parent_path);
	return rc ? req_fail(r, rc, NULL, NULL, NULL) : 0;
}

/* A node's responsible people come in the statement that reads the node:
 * one statement per read instead of two. */
static const struct wg_json_member grid_json_members[] = {
	{ "leaders",
	  "(SELECT json_group_array(json_object('user_id', user_id, 'duty', duty, 'name', leader_name))"
	  " FROM (SELECT l.user_id, l.duty, u.display_name AS leader_name FROM grid_leaders l"
	  " JOIN users u ON u.id = l.user_id WHERE l.node_id = grid_nodes.id ORDER BY l.duty, l.user_id))",
	  "(SELECT COALESCE(json_agg(json_build_object('user_id', l.user_id, 'duty', l.duty, 'name', u.display_name)"
	  " ORDER BY l.duty, l.user_id), '[]') FROM grid_leaders l"
	  " JOIN users u ON u.id = l.user_id WHERE l.node_id = grid_nodes.id)" },
	/* So a tree shows which places open before they are opened. */
	{ "child_count", "(SELECT COUNT(*) FROM grid_nodes c WHERE c.parent_id = grid_nodes.id)",
	  "(SELECT COUNT(*) FROM grid_nodes c WHERE c.parent_id = grid_nodes.id)" },
};

static int grid_before_delete(wg_req *r, const struct wg_resource *res, int64_t id, const char *path)
{
	int64_t n = 0;
	wg_param p[] = { WG_PINT(id) };
	(void)res;
	(void)path;
	if (id == r->user->scope_node_id)
		return req_fail(r, WG_ERR_FORBIDDEN, NULL, "不能删除自己的管辖节点", "you cannot delete your own scope node");
	int rc = store_int(r->db, "SELECT COUNT(*) FROM grid_nodes WHERE parent_id = ?", p, 1, &n);
	if (!rc && n > 0)
		return req_failf(r, WG_ERR_CONFLICT, NULL, "该网格下还有 %lld 个下级节点,请先删除或移走",
				 "this node still has %lld children; delete or move them first", (long long)n, (long long)n);
	if (!rc)
		rc = store_int(r->db, "SELECT COUNT(*) FROM users WHERE scope_node_id = ?", p, 1, &n);
	if (!rc && n > 0)
		return req_failf(r, WG_ERR_CONFLICT, NULL, "有 %lld 个账户的管辖范围是该节点", "%lld accounts are scoped to this node",
				 (long long)n, (long long)n);
	return rc ? req_fail(r, rc, NULL, NULL, NULL) : 0;
}

/* Import: a row names its parent by 上级编码 (a code of a node already in
 * the tree or earlier in the file) or by 上级编号 (its id). */
/* The scope is checked here, not in SQL: given a path range beside the
 * code, PostgreSQL without fresh statistics (a tree just made) scanned the
 * whole range for every code an import named. A code names one node, or a few. */
int grid_find_by_code(wg_req *r, const char *code, int64_t *id, int *found)
{
	wg_param p[] = { WG_PTEXT(code) };
	wg_stmt *s;
	int rc = store_query(r->db, "SELECT id, path FROM grid_nodes WHERE code = ?", p, 1, &s);
	if (rc)
		return req_fail(r, rc, NULL, NULL, NULL);
	*found = 0;
	while (*found < 2 && (rc = stmt_next(s)) == 1) {
		if (!scope_contains(r->user->scope_path, stmt_text(s, 1)))
			continue;
		*id = stmt_int(s, 0);
		(*found)++;
	}
	stmt_done(s);
	return rc < 0 ? req_fail(r, -rc, NULL, NULL, NULL) : 0;
}

static int grid_import_row(wg_req *r, const struct wg_resource *res, json_t *row)
{
	json_t *code = json_object_get(row, "parent_code");
	int64_t id = 0;
	int found;
	(void)res;
	if (!code)
		return 0;
	if (json_object_get(row, "parent_id"))
		return req_fail(r, WG_ERR_VALIDATION, "parent_code", "上级编码和上级编号只能填一个",
				"give either the parent's code or its id, not both");
	if (grid_find_by_code(r, json_string_value(code), &id, &found))
		return r->fail.code;
	if (found != 1)
		return req_failf(r, WG_ERR_VALIDATION, "parent_code",
				 found ? "上级编码 %s 对应多个节点,请改用上级编号" : "上级编码 %s 不存在或不在您的管辖范围内",
				 found ? "parent code %s matches several nodes; use the parent's id" : "parent code %s does not exist or is outside your scope",
				 json_string_value(code), json_string_value(code));
	json_object_del(row, "parent_code");
	json_object_set_new(row, "parent_id", json_integer(id));
	return 0;
}

static struct wg_resource grid_resource = {
	.name = "grids", .table = "grid_nodes", .zh = "网格", .en = "grid node",
	.fields = grid_fields, .nfields = sizeof grid_fields / sizeof grid_fields[0],
	.path_column = "path", .read_right = &right_GRID_READ, .write_right = &right_GRID_WRITE,
	/* The tree is not personal data: reads are counted per user and minute
	 * (a node shows its leaders' names, which every account of the county sees). */
	.count_reads = true,
	/* Read all day, changed a few times: a node's answer is kept in memory
	 * (PostgreSQL: the triggers of migration 0016 cover grid_nodes,
	 * grid_leaders and the leaders' names in users). */
	.cache_reads = true,
	.hooks = {
		.scope_of_new = grid_scope_of_new,
		.after_insert = grid_after_insert,
		.check = grid_check,
		.before_delete = grid_before_delete,
		.import_row = grid_import_row,
	},
	.import_extra = grid_import_extra,
	.nimport_extra = sizeof grid_import_extra / sizeof grid_import_extra[0],
	.import_key = "code",
	.json_members = grid_json_members,
	.njson_members = sizeof grid_json_members / sizeof grid_json_members[0],
};

/* GET /api/v1/grids/{id}/children */
int grid_children(wg_req *r)
{
	json_t *self;
	char path[WG_MAX_GRID_PATH], sql[2048];
	if (resource_load(r, &grid_resource, r->id, &self, path, sizeof path))
		return r->fail.code;
	json_decref(self);
	int n = snprintf(sql, sizeof sql, "SELECT %s FROM grid_nodes WHERE parent_id = ? ORDER BY code, id",
			 resource_item_columns(&grid_resource, r->db));
	if (n < 0 || (size_t)n >= sizeof sql)
		return req_fail(r, WG_ERR_INTERNAL, NULL, NULL, NULL);
	wg_stmt *s;
	wg_param p[] = { WG_PINT(r->id) };
	int rc = store_query(r->db, sql, p, 1, &s);
	if (rc)
		return req_fail(r, rc, NULL, NULL, NULL);
	json_t *items = json_array();
	while ((rc = stmt_next(s)) == 1)
		json_array_append_new(items, resource_row_json(r, &grid_resource, s));
	stmt_done(s);
	if (rc < 0) {
		json_decref(items);
		return req_fail(r, -rc, NULL, NULL, NULL);
	}
	if (audit_count(r, "grids", (int64_t)json_array_size(items))) {
		json_decref(items);
		return r->fail.code;
	}
	return req_reply(r, 200, json_pack("{s:o, s:I, s:n}", "items", items, "total", (json_int_t)json_array_size(items), "next_cursor"));
}

/* POST /api/v1/grids/{id}/move {"parent_id": …}: the whole subtree, and every
 * record hanging on it, gets its new path in this one transaction. */
int grid_move(wg_req *r)
{
	json_t *self, *jp = json_object_get(r->body, "parent_id");
	char path[WG_MAX_GRID_PATH], parent_path[WG_MAX_GRID_PATH], new_path[WG_MAX_GRID_PATH];
	struct node_info node, parent;
	static const char *const allowed[] = { "parent_id", NULL };
	if (req_check_body(r, allowed))
		return r->fail.code;
	if (!jp)
		return req_fail(r, WG_ERR_REQUIRED, "parent_id", "缺少必填字段 parent_id(新的上级网格)", "parent_id is required");
	if (!json_is_integer(jp) || json_integer_value(jp) < 1)
		return req_fail(r, WG_ERR_VALIDATION, "parent_id", "parent_id 应为正整数", "parent_id must be a positive integer");
	/* Take the node's row lock before reading any path: a concurrent move or
	 * create then waits for this one and sees its result. */
	wg_param lock[] = { WG_PINT(r->id) };
	int rc = store_run(r->db, "UPDATE grid_nodes SET version = version WHERE id = ?", lock, 1);
	if (rc)
		return req_fail(r, rc, NULL, NULL, NULL);
	if (resource_load(r, &grid_resource, r->id, &self, path, sizeof path))
		return r->fail.code;
	int64_t version = json_integer_value(json_object_get(self, "version"));
	json_decref(self);
	if (req_if_match(r, version))
		return r->fail.code;
	int64_t pid = json_integer_value(jp);
	if (resource_node_path(r, pid, "parent_id", parent_path, sizeof parent_path))
		return r->fail.code;
	if (r->id == r->user->scope_node_id)
		return req_fail(r, WG_ERR_FORBIDDEN, NULL, "不能移动自己的管辖节点", "you cannot move your own scope node");
	if (scope_contains(path, parent_path))
		return req_fail(r, WG_ERR_VALIDATION, "parent_id", "不能移到自己或自己的下级之下", "a node cannot move below itself");
	if (node_info(r->db, r->id, &node) || node_info(r->db, pid, &parent))
		return req_fail(r, WG_ERR_DB, NULL, NULL, NULL);
	if (check_placement(r, &parent, node.kind, node.code[0] ? node.code : NULL))
		return r->fail.code;
	int n = snprintf(new_path, sizeof new_path, "%s%lld/", parent_path, (long long)r->id);
	if (n < 0 || (size_t)n >= sizeof new_path)
		return req_fail(r, WG_ERR_TOO_LARGE, "parent_id", "网格层级过深", "the tree would be too deep");
	wg_param p[] = { WG_PINT(pid), WG_PINT(r->now), WG_PINT(r->id) };
	rc = store_run(r->db, "UPDATE grid_nodes SET parent_id = ?, updated_at = ?, version = version + 1 WHERE id = ?", p, 3);
	if (!rc)
		rc = resource_rewrite_paths(r->db, path, new_path);
	if (rc)
		return req_fail(r, rc, NULL, NULL, NULL);
	json_t *change = json_pack("{s:s, s:s}", "from", path, "to", new_path);
	rc = audit_req(r, "move", "grids", r->id, new_path, change);
	json_decref(change);
	if (rc)
		return rc;
	/* Scope paths of signed-in users below the node have changed. */
	auth_forget_sessions(r->app, 0);
	if (resource_load(r, &grid_resource, r->id, &self, path, sizeof path))
		return r->fail.code;
	return req_reply(r, 200, self);
}

static bool duty_known(const char *d)
{
	for (const char *const *k = duties; *k; k++)
		if (strcmp(*k, d) == 0)
			return true;
	return false;
}

/* 1 when the user exists and is scoped inside the caller's scope, 0 when not, -1 on failure. */
static int leader_visible(wg_req *r, int64_t user_id)
{
	wg_stmt *s;
	wg_param p[] = { WG_PINT(user_id) };
	int rc = store_query(r->db, "SELECT g.path FROM users u JOIN grid_nodes g ON g.id = u.scope_node_id WHERE u.id = ?", p, 1, &s);
	if (rc)
		return req_fail(r, rc, NULL, NULL, NULL), -1;
	rc = stmt_next(s);
	int visible = rc == 1 && scope_contains(r->user->scope_path, stmt_text(s, 0));
	stmt_done(s);
	return rc < 0 ? (req_fail(r, -rc, NULL, NULL, NULL), -1) : visible;
}

/* PUT /api/v1/grids/{id}/leaders [{"user_id", "duty"}…]: replaces the list. */
int grid_set_leaders(wg_req *r)
{
	json_t *self, *list = json_object_get(r->body, "leaders");
	char path[WG_MAX_GRID_PATH], field[64];
	if (json_object_size(r->body) != 1 || !json_is_array(list))
		return req_fail(r, WG_ERR_VALIDATION, "leaders", "请求体应为 {\"leaders\": [{\"user_id\", \"duty\"}…]}",
				"the body must be {\"leaders\": [{\"user_id\", \"duty\"}…]}");
	if (json_array_size(list) > WG_MAX_LEADERS)
		return req_failf(r, WG_ERR_VALIDATION, "leaders", "负责人不能超过 %u 个", "at most %u leaders", WG_MAX_LEADERS, WG_MAX_LEADERS);
	if (resource_load(r, &grid_resource, r->id, &self, path, sizeof path))
		return r->fail.code;
	int64_t version = json_integer_value(json_object_get(self, "version"));
	json_decref(self);
	if (req_if_match(r, version))
		return r->fail.code;
	wg_param del[] = { WG_PINT(r->id) };
	wg_param bump[] = { WG_PINT(r->now), WG_PINT(r->id) };
	int rc = store_run(r->db, "UPDATE grid_nodes SET version = version + 1, updated_at = ? WHERE id = ?", bump, 2);
	if (!rc)
		rc = store_run(r->db, "DELETE FROM grid_leaders WHERE node_id = ?", del, 1);
	if (rc)
		return req_fail(r, rc, NULL, NULL, NULL);
	size_t i;
	json_t *l;
	json_array_foreach(list, i, l) {
		json_t *u = json_object_get(l, "user_id"), *d = json_object_get(l, "duty");
		snprintf(field, sizeof field, "leaders[%zu]", i);
		if (!json_is_object(l) || json_object_size(l) != 2 || !json_is_integer(u) || !json_is_string(d))
			return req_failf(r, WG_ERR_VALIDATION, field, "%s 应为 {\"user_id\": 整数, \"duty\": 职责}",
					 "%s must be {\"user_id\": integer, \"duty\": text}", field, field);
		if (!duty_known(json_string_value(d)))
			return req_failf(r, WG_ERR_VALIDATION, field, "%s 的职责“%s”无效", "%s: unknown duty '%s'",
					 field, json_string_value(d), field, json_string_value(d));
		if (leader_visible(r, json_integer_value(u)) != 1)
			return r->fail.code ? r->fail.code
					    : req_failf(r, WG_ERR_VALIDATION, field, "%s:用户 %lld 不存在或不在您的管辖范围内",
							"%s: user %lld does not exist or is outside your scope", field,
							(long long)json_integer_value(u), field, (long long)json_integer_value(u));
		rc = grid_add_leader(r->db, r->id, json_integer_value(u), json_string_value(d));
		if (rc == WG_ERR_CONFLICT)
			return req_failf(r, WG_ERR_VALIDATION, field, "%s:用户不存在或重复", "%s: no such user, or listed twice", field, field);
		if (rc)
			return req_fail(r, rc, NULL, NULL, NULL);
	}
	if (audit_req(r, "update", "grids", r->id, path, r->body) ||
	    resource_load(r, &grid_resource, r->id, &self, path, sizeof path))
		return r->fail.code;
	return req_reply(r, 200, self);
}

int grid_declare(void)
{
	return resource_register(&grid_resource);
}

int grid_create_node(wg_conn *c, int64_t parent_id, const char *kind, const char *code, const char *name,
		     int64_t now, int64_t *id)
{
	char parent_path[WG_MAX_GRID_PATH] = "/";
	if (parent_id) {
		wg_stmt *s;
		wg_param p[] = { WG_PINT(parent_id) };
		int rc = store_query(c, "SELECT path FROM grid_nodes WHERE id = ?", p, 1, &s);
		if (rc)
			return rc;
		rc = stmt_next(s);
		if (rc == 1)
			snprintf(parent_path, sizeof parent_path, "%s", stmt_text(s, 0));
		stmt_done(s);
		if (rc != 1)
			return rc == 0 ? WG_ERR_NOT_FOUND : -rc;
	}
	wg_param p[] = { parent_id ? WG_PINT(parent_id) : WG_PNULL, WG_PTEXT(kind), code ? WG_PTEXT(code) : WG_PNULL,
			 WG_PTEXT(name), WG_PINT(now), WG_PINT(now) };
	int rc = store_int(c, "INSERT INTO grid_nodes (parent_id, kind, code, name, path, created_at, updated_at)"
			      " VALUES (?, ?, ?, ?, '', ?, ?) RETURNING id", p, 6, id);
	return rc ? rc : set_own_path(c, *id, parent_path);
}

int grid_add_leader(wg_conn *c, int64_t node_id, int64_t user_id, const char *duty)
{
	wg_param p[] = { WG_PINT(node_id), WG_PINT(user_id), WG_PTEXT(duty) };
	return store_run(c, "INSERT INTO grid_leaders (node_id, user_id, duty) VALUES (?, ?, ?)", p, 3);
}

const char *const grid_code_names[] = { "网格编码", "网格代码", "所属网格编码", "grid_code", NULL };

/* The import memo's slot for a grid by its code. */
static const char MEMO_GRID_CODE[] = "grid code";

int grid_by_code(wg_req *r, const char *code, int64_t *id)
{
	int found;
	if (import_memo_get(r, MEMO_GRID_CODE, code, id, NULL))
		return 0;
	if (grid_find_by_code(r, code, id, &found))
		return r->fail.code;
	if (found != 1)
		return req_failf(r, WG_ERR_VALIDATION, "grid_code",
				 found ? "网格编码 %s 对应多个网格" : "网格编码 %s 不存在或不在您的管辖范围内",
				 found ? "grid code %s matches several grids" : "grid code %s does not exist or is outside your scope",
				 code, code);
	import_memo_set(r, MEMO_GRID_CODE, code, *id, NULL);
	return 0;
}

/* The code of the rows before, remembered once it is known to be the only one. */
#define GRID_CODE_BYTES 128   /* 32 characters (grid_fields), in UTF-8 */
struct code_run {
	char code[GRID_CODE_BYTES + 1];
	int64_t id;
	int found;
};

static void code_run_end(wg_req *r, const struct code_run *run)
{
	if (run->found == 1)
		import_memo_set(r, MEMO_GRID_CODE, run->code, run->id, NULL);
}

int grid_by_codes(wg_req *r, const char *const *codes, size_t n)
{
	wg_buf a = WG_BUF_INIT(WG_MAX_BATCH_BYTES);
	struct code_run run = { .found = 0 };
	int64_t unused;
	size_t asked = 0;
	for (size_t i = 0; i < n; i++)
		if (strlen(codes[i]) <= GRID_CODE_BYTES && !import_memo_get(r, MEMO_GRID_CODE, codes[i], &unused, NULL)) {
			store_array_text(&a, codes[i], strlen(codes[i]));
			asked++;
		}
	int rc = store_array_end(&a);
	if (rc || !asked) {
		wg_buf_release(&a);
		return rc ? req_fail(r, rc, NULL, NULL, NULL) : 0;
	}
	wg_stmt *s;
	wg_param p[] = { WG_PTEXTN(a.data, a.len) };
	rc = store_query(r->db, "SELECT code, id, path FROM grid_nodes WHERE code = ANY(?::text[]) ORDER BY code", p, 1, &s);
	wg_buf_release(&a);
	if (rc)
		return req_fail(r, rc, NULL, NULL, NULL);
	while ((rc = stmt_next(s)) == 1) {
		if (!scope_contains(r->user->scope_path, stmt_text(s, 2)))
			continue;
		if (strcmp(stmt_text(s, 0), run.code) != 0) {
			code_run_end(r, &run);
			run = (struct code_run){ .found = 0 };
			wg_copy_text(run.code, sizeof run.code, stmt_text(s, 0));
		}
		run.id = stmt_int(s, 1);
		run.found++;
	}
	stmt_done(s);
	code_run_end(r, &run);
	return rc < 0 ? req_fail(r, -rc, NULL, NULL, NULL) : 0;
}

int grid_code_to_id(wg_req *r, json_t *row, int64_t *grid)
{
	json_t *code = import_column(r, row, "grid_code");
	int64_t found = 0;
	if (json_is_string(code)) {
		if (grid_by_code(r, json_string_value(code), &found))
			return r->fail.code;
		json_object_set_new_nocheck(row, "grid_id", json_integer(found));
	}
	if (code)  /* most files have it, the rest need not look twice */
		import_column_drop(r, row, "grid_code");
	if (grid)
		*grid = code && found ? found : json_integer_value(json_object_get(row, "grid_id"));
	return 0;
}
