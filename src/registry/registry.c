/* What is special about households and persons: identity numbers are
 * checked (GB 11643) and bring the gender and birth date with them, a person
 * hangs on a household's grid, an imported roster finds its grids by code
 * and its households by address, and duplicates are merged, not kept. */
#include "registry/registry.h"
#include "core/lib/ident.h"
#include "grid/grid.h"
#include "cli/cli.h"
#include "core/app/app.h"
#include "core/audit/audit.h"
#include "core/lib/opts.h"
#include "core/lib/parse.h"
#include "core/lib/err.h"
#include "core/lib/limits.h"
#include "core/resource/resource.h"
#include "core/auth/scope.h"
#include "core/sheet/sheet.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

/* ---- canonical forms (the resource layer stores only these) ---- */

/* Province-level prefixes of GB/T 2260; a finer, dated table of county
 * codes would reject numbers issued under codes since retired. */
static bool region_known(uint32_t code6, void *ctx)
{
	static const unsigned provinces[] = { 11, 12, 13, 14, 15, 21, 22, 23, 31, 32, 33, 34, 35, 36, 37, 41, 42,
					       43, 44, 45, 46, 50, 51, 52, 53, 54, 61, 62, 63, 64, 65, 71, 81, 82 };
	(void)ctx;
	for (size_t i = 0; i < sizeof provinces / sizeof provinces[0]; i++)
		if (code6 / 10000 == provinces[i])
			return true;
	return false;
}

static int canon_id(const char *in, size_t n, char *out, size_t size, const char **zh, const char **en)
{
	struct ident_id id;
	struct ident_id_opts opts = { .today = ident_today(), .region_known = region_known };
	enum ident_status st = ident_id_check(in, n, &opts, &id);
	if (st != IDENT_OK) {
		*zh = ident_status_zh(st);
		*en = ident_status_en(st);
		return -1;
	}
	wg_copy_text(out, size, id.id);
	return 0;
}

static int canon_phone(const char *in, size_t n, char *out, size_t size, const char **zh, const char **en)
{
	struct ident_phone ph;
	enum ident_status st = ident_phone_check(in, n, &ph);
	if (st != IDENT_OK) {
		*zh = ident_status_zh(st);
		*en = ident_status_en(st);
		return -1;
	}
	wg_copy_text(out, size, ph.number);
	return 0;
}

static int canon_name(const char *in, size_t n, char *out, size_t size, const char **zh, const char **en)
{
	struct ident_name nm;
	enum ident_status st = ident_name_check(in, n, &nm);
	if (st != IDENT_OK) {
		*zh = ident_status_zh(st);
		*en = ident_status_en(st);
		return -1;
	}
	wg_copy_text(out, size, nm.name);
	return 0;
}

static int canon_date(const char *in, size_t n, char *out, size_t size, const char **zh, const char **en)
{
	int y, m, d;
	enum ident_status st = ident_date_parse(in, n, ident_today(), &y, &m, &d);
	if (st != IDENT_OK) {
		*zh = ident_status_zh(st);
		*en = ident_status_en(st);
		return -1;
	}
	if (size < WG_DATE_TEXT) {
		*zh = "日期过长";
		*en = "date too long";
		return -1;
	}
	wg_format_date(out, y, m, d);
	return 0;
}

/* ---- declarations ---- */

static const char *const genders[] = { "male", "female", NULL };
static const char *const gender_labels[] = { "男", "女", NULL };
static const char *const residences[] = { "resident", "migrant", "away", "returned", NULL };
static const char *const residence_labels[] = { "常住", "流动", "外出", "返乡", NULL };
/* The groups the work looks after (DOMAIN §2). */
static const char *const person_tags[] = {
	"兜底脱贫对象", "低保对象", "特困老人", "重病重残", "困境儿童", "防控一线医务人员家属", "独居老人",
	"孕产妇", "慢性病", "残疾人", "退役军人", "党员", NULL
};

#define TEXT(name, flags, lo, hi, zh) { name, FT_TEXT, flags, lo, hi, NULL, zh, NULL, NULL, NULL }

static const struct wg_field household_fields[] = {
	{ "grid_id", FT_REF, FF_REQUIRED | FF_SCOPE | FF_FILTER | FF_IMPORT_OPTIONAL, 0, 0, NULL, "所属网格", NULL, NULL, NULL },
	TEXT("address", FF_REQUIRED | FF_SEARCH, 1, 200, "住址"),
	{ "head_person_id", FT_REF, FF_NULLABLE, 0, 0, NULL, "户主", NULL, NULL, NULL },
	{ "phone", FT_TEXT, FF_NULLABLE | FF_SECRET | FF_FILTER, 0, 40, NULL, "联系电话", NULL, canon_phone, ident_mask_phone },
	{ "tags", FT_TAGS, FF_FILTER, 0, 0, person_tags, "标签", NULL, NULL, NULL },
	TEXT("note", FF_NULLABLE, 0, 500, "备注"),
};

static const struct wg_field person_fields[] = {
	/* Required unless a household gives it (checked in person_check). */
	{ "grid_id", FT_REF, FF_SCOPE | FF_FILTER, 0, 0, NULL, "所属网格", NULL, NULL, NULL },
	{ "household_id", FT_REF, FF_NULLABLE | FF_FILTER, 0, 0, NULL, "所属户", NULL, NULL, NULL },
	{ "name", FT_TEXT, FF_REQUIRED | FF_SEARCH, 1, 50, NULL, "姓名", NULL, canon_name, NULL },
	{ "id_number", FT_TEXT, FF_NULLABLE | FF_SECRET | FF_UNIQUE | FF_FILTER, 0, 64, NULL, "身份证号", NULL, canon_id, ident_mask_id },
	{ "id_missing", FT_BOOL, FF_READONLY | FF_FILTER, 0, 0, NULL, "缺身份证号", NULL, NULL, NULL },
	{ "phone", FT_TEXT, FF_NULLABLE | FF_SECRET | FF_FILTER, 0, 40, NULL, "联系电话", NULL, canon_phone, ident_mask_phone },
	{ "gender", FT_ENUM, FF_NULLABLE | FF_FILTER, 0, 0, genders, "性别", gender_labels, NULL, NULL },
	{ "birth_date", FT_DATE, FF_NULLABLE, 0, 0, NULL, "出生日期", NULL, canon_date, NULL },
	{ "residence", FT_ENUM, FF_NULLABLE | FF_FILTER, 0, 0, residences, "居住状态", residence_labels, NULL, NULL },
	TEXT("workplace", FF_NULLABLE, 0, 100, "工作单位"),
	{ "tags", FT_TAGS, FF_FILTER, 0, 0, person_tags, "重点人群", NULL, NULL, NULL },
	TEXT("note", FF_NULLABLE, 0, 500, "备注"),
};

/* ---- persons: derived fields and the household link ---- */

/* Import memos: a grid by its code, a household by grid and address, the
 * grid of a household the import found or made (so a family's rows ask the
 * database once). */
enum { MEMO_GRID_CODE = IMPORT_MEMO_DOMAIN_1, MEMO_HOUSEHOLD = IMPORT_MEMO_DOMAIN_2,
       MEMO_HOUSEHOLD_GRID = IMPORT_MEMO_DOMAIN_3 };

static void household_memo_key(int64_t household_id, char key[WG_I64_DIGITS + 1])
{
	key[wg_format_i64(key, household_id)] = '\0';
}

static int household_grid(wg_req *r, int64_t household_id, int64_t *grid_id)
{
	wg_stmt *s;
	char key[WG_I64_DIGITS + 1];
	household_memo_key(household_id, key);
	if (import_memo_get(r, MEMO_HOUSEHOLD_GRID, key, grid_id, NULL))
		return 0;
	wg_param p[] = { WG_PINT(household_id) };
	int rc = store_query(r->db, "SELECT grid_id, node_path FROM households WHERE id = ?", p, 1, &s);
	if (rc)
		return req_fail(r, rc, NULL, NULL, NULL);
	rc = stmt_next(s);
	bool ok = rc == 1 && scope_contains(r->user->scope_path, stmt_text(s, 1));
	if (ok)
		*grid_id = stmt_int(s, 0);
	stmt_done(s);
	if (!ok)
		return req_failf(r, WG_ERR_NOT_FOUND, "household_id", "户 %lld 不存在或不在您的管辖范围内",
				 "household %lld does not exist or is outside your scope", (long long)household_id, (long long)household_id);
	return 0;
}

/* Gender and birth date come with the ID number: derived when absent,
 * checked when given. */
static int check_against_id(wg_req *r, json_t *body)
{
	const char *idn = json_string_value(json_object_get(body, "id_number"));
	struct ident_id id;
	struct ident_id_opts opts = { .today = -1 };
	if (!idn || ident_id_check(idn, strlen(idn), &opts, &id) != IDENT_OK)
		return 0;
	const char *gender = id.gender == IDENT_GENDER_MALE ? "male" : "female";
	char birth[WG_DATE_TEXT];
	wg_format_date(birth, id.birth_year, id.birth_month, id.birth_day);
	json_t *g = json_object_get(body, "gender"), *b = json_object_get(body, "birth_date");
	if (json_is_string(g) && strcmp(json_string_value(g), gender) != 0)
		return req_failf(r, WG_ERR_VALIDATION, "gender", "性别(gender)与身份证号(id_number)不符:身份证号表明为%s",
				 "gender contradicts id_number, which says %s", id.gender == IDENT_GENDER_MALE ? "男" : "女", gender);
	if (json_is_string(b) && strcmp(json_string_value(b), birth) != 0)
		return req_failf(r, WG_ERR_VALIDATION, "birth_date", "出生日期(birth_date)与身份证号(id_number)不符:应为 %s",
				 "birth_date contradicts id_number, which says %s", birth, birth);
	if (!g || json_is_null(g))
		json_object_set_new(body, "gender", json_string(gender));
	if (!b || json_is_null(b))
		json_object_set_new(body, "birth_date", json_string(birth));
	return 0;
}

static int person_check(wg_req *r, const struct wg_resource *res, int64_t id, json_t *body)
{
	(void)res;
	json_t *h = json_object_get(body, "household_id");
	if (json_is_integer(h)) {
		int64_t grid = 0;
		json_t *g = json_object_get(body, "grid_id");
		if (household_grid(r, json_integer_value(h), &grid))
			return r->fail.code;
		if (json_is_integer(g) && json_integer_value(g) != grid)
			return req_fail(r, WG_ERR_VALIDATION, "grid_id", "所属网格与所属户的网格不一致",
					"grid_id differs from the household's grid");
		json_object_set_new(body, "grid_id", json_integer(grid));
	}
	if (id == 0 && !json_is_integer(json_object_get(body, "grid_id")))
		return req_fail(r, WG_ERR_REQUIRED, "grid_id", "缺少必填字段 grid_id(所属网格),或给出 household_id(所属户)",
				"grid_id is required, or a household_id to take it from");
	if (check_against_id(r, body))
		return r->fail.code;
	json_t *idn = json_object_get(body, "id_number");
	if (id == 0 || idn)
		json_object_set_new(body, "id_missing", json_boolean(!json_is_string(idn)));
	return 0;
}

/* ---- import: grids by code, households by address ---- */

static int grid_by_code(wg_req *r, const char *code, int64_t *id)
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

/* A roster names households by address: the first row of an address makes
 * the household (on the grid, within the caller's scope), the next rows of
 * the family join it. */
static int household_by_address(wg_req *r, int64_t grid, const char *address, int64_t *id)
{
	char key[320], hkey[WG_I64_DIGITS + 1];
	int n = snprintf(key, sizeof key, "%lld|%s", (long long)grid, address);
	bool memo = n > 0 && (size_t)n < sizeof key;
	if (memo && import_memo_get(r, MEMO_HOUSEHOLD, key, id, NULL))
		return 0;
	wg_param p[] = { WG_PINT(grid), WG_PTEXT(address) };
	int rc = store_int(r->db, "SELECT id FROM households WHERE grid_id = ? AND address = ? ORDER BY id LIMIT 1", p, 2, id);
	if (rc == WG_ERR_NOT_FOUND) {
		char path[WG_MAX_GRID_PATH];
		if (resource_node_path(r, grid, "grid_code", path, sizeof path))
			return r->fail.code;
		wg_param q[] = { WG_PINT(grid), WG_PTEXT(path), WG_PTEXT(address), WG_PINT(r->now), WG_PINT(r->now) };
		rc = store_insert(r->db, "INSERT INTO households (grid_id, node_path, address, created_at, updated_at)"
					 " VALUES (?, ?, ?, ?, ?)", q, 5, id);
		if (!rc && r->import)
			import_count_extra(r, "households");
		else if (!rc)
			rc = audit_req(r, "create", "households", *id, path, NULL);
	}
	if (rc)
		return r->fail.code ? r->fail.code : req_fail(r, rc, NULL, NULL, NULL);
	if (memo)
		import_memo_set(r, MEMO_HOUSEHOLD, key, *id, NULL);
	household_memo_key(*id, hkey);
	import_memo_set(r, MEMO_HOUSEHOLD_GRID, hkey, grid, NULL);
	return 0;
}

static int person_import_row(wg_req *r, const struct wg_resource *res, json_t *row)
{
	(void)res;
	json_t *code = json_object_get(row, "grid_code"), *addr = json_object_get(row, "address");
	int64_t grid = 0, household = 0;
	if (json_is_string(code)) {
		if (grid_by_code(r, json_string_value(code), &grid))
			return r->fail.code;
		json_object_set_new(row, "grid_id", json_integer(grid));
	}
	json_object_del(row, "grid_code");
	grid = json_integer_value(json_object_get(row, "grid_id"));
	if (json_is_string(addr) && grid && !json_object_get(row, "household_id")) {
		if (household_by_address(r, grid, json_string_value(addr), &household))
			return r->fail.code;
		json_object_set_new(row, "household_id", json_integer(household));
	}
	json_object_del(row, "address");
	/* 与户主关系: the row that says 户主 (or 本人) heads its household. */
	const char *relation = json_string_value(json_object_get(row, "relation"));
	if (relation && (strcmp(relation, "户主") == 0 || strcmp(relation, "本人") == 0) && r->import)
		r->import->row_marked = true;
	json_object_del(row, "relation");
	return 0;
}

static int person_after_insert(wg_req *r, const struct wg_resource *res, int64_t id, json_t *body, const char *path)
{
	(void)res;
	(void)path;
	json_t *household = json_object_get(body, "household_id");
	if (!r->import || !r->import->row_marked || !json_is_integer(household))
		return 0;
	wg_param p[] = { WG_PINT(id), WG_PINT(r->now), WG_PINT(json_integer_value(household)) };
	int rc = store_run(r->db, "UPDATE households SET head_person_id = ?, updated_at = ?, version = version + 1 WHERE id = ?", p, 3);
	return rc ? req_fail(r, rc, NULL, NULL, NULL) : 0;
}

/* A household's head is one of its members, someone the caller can see. */
static int household_check(wg_req *r, const struct wg_resource *res, int64_t id, json_t *body)
{
	(void)res;
	json_t *head = json_object_get(body, "head_person_id");
	if (!json_is_integer(head))
		return 0;
	if (id == 0)
		return req_fail(r, WG_ERR_VALIDATION, "head_person_id",
				"新建的户还没有成员:请先建户、把户主登记为该户成员,再设置户主(head_person_id)",
				"a new household has no members yet: create it, register the head as its member, then set head_person_id");
	wg_stmt *s;
	wg_param p[] = { WG_PINT(json_integer_value(head)) };
	int rc = store_query(r->db, "SELECT household_id, node_path FROM persons WHERE id = ?", p, 1, &s);
	if (rc)
		return req_fail(r, rc, NULL, NULL, NULL);
	rc = stmt_next(s);
	bool visible = rc == 1 && scope_contains(r->user->scope_path, stmt_text(s, 1));
	bool member = visible && !stmt_is_null(s, 0) && stmt_int(s, 0) == id;
	stmt_done(s);
	if (rc < 0)
		return req_fail(r, -rc, NULL, NULL, NULL);
	if (!visible)
		return req_failf(r, WG_ERR_NOT_FOUND, "head_person_id", "人员 %lld 不存在或不在您的管辖范围内",
				 "person %lld does not exist or is outside your scope", (long long)json_integer_value(head),
				 (long long)json_integer_value(head));
	if (!member)
		return req_failf(r, WG_ERR_VALIDATION, "head_person_id", "人员 %lld 不是该户成员,不能做户主",
				 "person %lld is not a member of this household and cannot head it",
				 (long long)json_integer_value(head), (long long)json_integer_value(head));
	return 0;
}

static int household_import_row(wg_req *r, const struct wg_resource *res, json_t *row)
{
	(void)res;
	json_t *code = json_object_get(row, "grid_code");
	int64_t grid = 0;
	if (json_is_string(code)) {
		if (grid_by_code(r, json_string_value(code), &grid))
			return r->fail.code;
		json_object_set_new(row, "grid_id", json_integer(grid));
	}
	json_object_del(row, "grid_code");
	return 0;
}

static const char *const grid_code_names[] = { "网格编码", "网格代码", "所属网格编码", "grid_code", NULL };
static const char *const address_names[] = { "现住址", "住址", "地址", "家庭住址", "居住地址", "address", NULL };
static const char *const id_names[] = { "公民身份号码", "身份证号码", "身份证", "证件号码", "id_number", NULL };
static const char *const phone_names[] = { "手机号", "手机号码", "联系方式", "电话", "phone", NULL };
static const char *const tag_names[] = { "重点人群", "人员类别", "标签", "tags", NULL };
static const char *const ignored_names[] = { "序号", "编号", "no", NULL };
static const char *const relation_names[] = { "与户主关系", "户主关系", "relation", NULL };

static const struct sheet_column_spec person_import_extra[] = {
	{ "grid_code", grid_code_names, false },
	{ "address", address_names, false },
	{ "id_number", id_names, false },
	{ "phone", phone_names, false },
	{ "tags", tag_names, false },
	{ "relation", relation_names, false },
	{ "_row", ignored_names, false },
};

static const struct sheet_column_spec household_import_extra[] = {
	{ "grid_code", grid_code_names, false },
	{ "address", address_names, false },
	{ "phone", phone_names, false },
	{ "_row", ignored_names, false },
};

static struct wg_resource household_resource = {
	.name = "households", .table = "households", .zh = "户", .en = "household",
	.fields = household_fields, .nfields = sizeof household_fields / sizeof household_fields[0],
	.path_column = "node_path", .read_right = RIGHT_PERSON_READ, .write_right = RIGHT_PERSON_WRITE,
	.reveal_right = RIGHT_PERSON_REVEAL, .audit_reads = true,
	.hooks = { .import_row = household_import_row, .check = household_check },
	.import_extra = household_import_extra,
	.nimport_extra = sizeof household_import_extra / sizeof household_import_extra[0],
};

/* A deleted person heads no household any more. */
static int person_before_delete(wg_req *r, const struct wg_resource *res, int64_t id, const char *path)
{
	(void)res;
	(void)path;
	wg_param p[] = { WG_PINT(id) };
	int rc = store_run(r->db, "UPDATE households SET head_person_id = NULL WHERE head_person_id = ?", p, 1);
	return rc ? req_fail(r, rc, NULL, NULL, NULL) : 0;
}

/* A head who moves to another household (or out of any) heads the old one no more. */
static int person_after_update(wg_req *r, const struct wg_resource *res, int64_t id, json_t *body)
{
	(void)res;
	if (!json_object_get(body, "household_id"))
		return 0;
	wg_param p[] = { WG_PINT(r->now), WG_PINT(id), WG_PINT(id) };
	int rc = store_run(r->db, "UPDATE households SET head_person_id = NULL, updated_at = ?, version = version + 1"
			   " WHERE head_person_id = ? AND id <> COALESCE((SELECT household_id FROM persons WHERE id = ?), 0)",
			   p, 3);
	return rc ? req_fail(r, rc, NULL, NULL, NULL) : 0;
}

static struct wg_resource person_resource = {
	.name = "persons", .table = "persons", .zh = "人员", .en = "person",
	.fields = person_fields, .nfields = sizeof person_fields / sizeof person_fields[0],
	.path_column = "node_path", .read_right = RIGHT_PERSON_READ, .write_right = RIGHT_PERSON_WRITE,
	.reveal_right = RIGHT_PERSON_REVEAL, .audit_reads = true,
	.hooks = { .check = person_check, .import_row = person_import_row, .after_insert = person_after_insert,
		   .after_update = person_after_update, .before_delete = person_before_delete },
	.import_extra = person_import_extra,
	.nimport_extra = sizeof person_import_extra / sizeof person_import_extra[0],
	.import_key = NULL,
	.import_defer_indexes = true,
};

/* ---- merge: POST /api/v1/persons/{id}/merge {"from": id} ---- */

static int person_merge(wg_req *r)
{
	json_t *into, *from, *jf = json_object_get(r->body, "from");
	char into_path[WG_MAX_GRID_PATH], from_path[WG_MAX_GRID_PATH];
	if (json_object_size(r->body) != 1 || !json_is_integer(jf) || json_integer_value(jf) < 1)
		return req_fail(r, WG_ERR_VALIDATION, "from", "请求体应为 {\"from\": 被合并人员的编号}",
				"the body must be {\"from\": id of the duplicate}");
	int64_t from_id = json_integer_value(jf);
	if (from_id == r->id)
		return req_fail(r, WG_ERR_VALIDATION, "from", "不能与自己合并", "a person cannot be merged into itself");
	r->reveal = true; /* the merge works on whole values; nothing whole leaves the server */
	if (resource_load(r, &person_resource, r->id, &into, into_path, sizeof into_path))
		return r->fail.code;
	if (resource_load(r, &person_resource, from_id, &from, from_path, sizeof from_path)) {
		json_decref(into);
		return r->fail.code;
	}
	/* Fill the kept record's gaps from the duplicate; tags are united. */
	json_t *change = json_object();
	for (size_t i = 0; i < person_resource.nfields; i++) {
		const struct wg_field *f = &person_resource.fields[i];
		json_t *a = json_object_get(into, f->name), *b = json_object_get(from, f->name);
		if (f->flags & FF_READONLY || !b || json_is_null(b))
			continue;
		if (f->type == FT_TAGS) {
			json_t *u = json_copy(a);
			size_t k;
			json_t *t;
			json_array_foreach(b, k, t) {
				bool seen = false;
				size_t j;
				json_t *x;
				json_array_foreach(u, j, x)
					seen |= json_equal(x, t);
				if (!seen)
					json_array_append(u, t);
			}
			if (json_array_size(u) != json_array_size(a))
				json_object_set_new(change, f->name, u);
			else
				json_decref(u);
		} else if (!a || json_is_null(a)) {
			json_object_set(change, f->name, b);
		}
	}
	int64_t version = json_integer_value(json_object_get(into, "version"));
	json_decref(into);
	json_decref(from);
	wg_param p[] = { WG_PINT(r->id), WG_PINT(from_id) };
	/* The duplicate's ID number moves over: free it first (it is unique). */
	int rc = store_run(r->db, "UPDATE persons SET id_number_enc = NULL, id_number_bidx = NULL WHERE id = ?", p + 1, 1);
	if (!rc)
		rc = store_run(r->db, "UPDATE households SET head_person_id = ? WHERE head_person_id = ?", p, 2);
	if (rc) {
		json_decref(change);
		return req_fail(r, rc, NULL, NULL, NULL);
	}
	if ((json_object_size(change) && resource_update(r, &person_resource, r->id, version, NULL, change)) ||
	    store_run(r->db, "DELETE FROM persons WHERE id = ?", p + 1, 1)) {
		json_decref(change);
		return r->fail.code ? r->fail.code : req_fail(r, WG_ERR_DB, NULL, NULL, NULL);
	}
	json_t *detail = json_pack("{s:I, s:I}", "into", (json_int_t)r->id, "from", (json_int_t)from_id);
	rc = audit_req(r, "merge", "persons", r->id, into_path, detail) ||
	     audit_req(r, "delete", "persons", from_id, from_path, detail);
	json_decref(detail);
	json_decref(change);
	if (rc)
		return r->fail.code;
	r->reveal = false;
	json_t *out;
	if (resource_load(r, &person_resource, r->id, &out, into_path, sizeof into_path))
		return r->fail.code;
	return req_reply(r, 200, out);
}

static const struct wg_route registry_routes[] = {
	{ "POST", "/api/v1/persons/{id}/merge", person_merge, RIGHT_PERSON_WRITE, ROUTE_WRITE | ROUTE_JSON, NULL },
};

int registry_register(void)
{
	int rc = resource_register(&household_resource);
	if (!rc)
		rc = resource_register(&person_resource);
	return rc ? rc : router_add(registry_routes, sizeof registry_routes / sizeof registry_routes[0]);
}

/* ---- wangge keys rotate ---- */

int cmd_keys(int argc, char **argv)
{
	const char *data = "data", *pos[1];
	int npos, version;
	const struct wg_opt opts[] = {
		{ "--data", "DIR", &data, NULL, "数据目录 / data directory (default ./data)" },
		{ 0 },
	};
	int rc = opts_parse(argc, argv, opts, pos, 1, &npos, "wangge keys rotate [--data DIR]");
	if (rc)
		return rc == 1 ? 0 : 2;
	if (npos != 1 || strcmp(pos[0], "rotate") != 0) {
		opts_usage("wangge keys rotate [--data DIR]", opts, stderr);
		return 2;
	}
	struct wg_app *app;
	if (cli_open(data, &app))
		return 1;
	int64_t count = 0;
	wg_conn *c = NULL;
	rc = cli_register_routes();
	if (!rc)
		rc = crypt_key_add(data, &app->keys, &version);
	if (!rc)
		rc = crypt_keys_load(data, &app->keys);
	if (!rc) {
		store_acquire(app->store, &c);
		rc = store_begin(c);
		if (!rc)
			rc = resource_reencrypt_all(c, &app->keys, &count);
		struct audit_event ev = { "keys_rotate", "system", "", "", NULL, NULL };
		if (!rc)
			rc = audit_write(app, c, NULL, "cli", "", time(NULL), &ev);
		rc = rc ? (store_rollback(c), rc) : store_commit(c);
		store_release(app->store, c);
	}
	app_close(app);
	resource_release_all();
	if (rc)
		return wg_error("key rotation failed; nothing was re-encrypted (the new key file may be deleted)"
				" / 密钥轮换失败,数据未改动"), 1;
	printf("field key %d is now current; %lld values re-encrypted. Older keys/field.*.key may be deleted"
	       " once backups made with them have expired. / 新密钥已启用\n", version, (long long)count);
	return 0;
}
