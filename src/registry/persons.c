/* What is special about persons: identity numbers are checked (GB 11643)
 * and bring the gender and birth date with them, a person hangs on a
 * household's grid, an imported roster finds its grids by code and its
 * households by address. */
#include "registry/registry_int.h"
#include "core/audit/audit.h"
#include "core/auth/scope.h"
#include "core/lib/err.h"
#include "core/lib/ident.h"
#include "core/lib/limits.h"
#include "core/lib/crypt.h"
#include "core/lib/parse.h"
#include "core/sheet/sheet.h"
#include "grid/grid.h"

#include <stdio.h>
#include <string.h>

static const char *const genders[] = { "male", "female", NULL };
static const char *const gender_labels[] = { "男", "女", NULL };
static const char *const residences[] = { "resident", "migrant", "away", "returned", NULL };
static const char *const residence_labels[] = { "常住", "流动", "外出", "返乡", NULL };
static const char *const id_names[] = { "公民身份号码", "身份证号码", "身份证", "证件号码", "id_number", NULL };
static const char *const tag_names[] = { "重点人群", "人员类别", "标签", "tags", NULL };
static const char *const relation_names[] = { "与户主关系", "户主关系", "relation", NULL };

static const struct wg_field person_fields[] = {
	/* Required unless a household gives it (checked in person_check). */
	{ "grid_id", FT_REF, FF_SCOPE | FF_FILTER, 0, 0, NULL, "所属网格", NULL, NULL, NULL },
	{ "household_id", FT_REF, FF_NULLABLE | FF_FILTER, 0, 0, NULL, "所属户", NULL, NULL, NULL },
	{ "name", FT_TEXT, FF_REQUIRED | FF_SEARCH, 1, 50, NULL, "姓名", NULL, ident_canon_name, NULL },
	{ "id_number", FT_TEXT, FF_NULLABLE | FF_SECRET | FF_UNIQUE | FF_FILTER, 0, 64, NULL, "身份证号", NULL, ident_canon_id, ident_mask_id },
	{ "id_missing", FT_BOOL, FF_READONLY | FF_FILTER, 0, 0, NULL, "缺身份证号", NULL, NULL, NULL },
	{ "phone", FT_TEXT, FF_NULLABLE | FF_SECRET | FF_FILTER, 0, 40, NULL, "联系电话", NULL, ident_canon_phone, ident_mask_phone },
	{ "gender", FT_ENUM, FF_NULLABLE | FF_FILTER, 0, 0, genders, "性别", gender_labels, NULL, NULL },
	{ "birth_date", FT_DATE, FF_NULLABLE, 0, 0, NULL, "出生日期", NULL, ident_canon_date, NULL },
	{ "residence", FT_ENUM, FF_NULLABLE | FF_FILTER, 0, 0, residences, "居住状态", residence_labels, NULL, NULL },
	TEXT("workplace", FF_NULLABLE, 0, 100, "工作单位"),
	{ "tags", FT_TAGS, FF_FILTER | FF_EXTENSIBLE, 0, 0, person_tags, "重点人群", NULL, NULL, NULL },
	TEXT("note", FF_NULLABLE, 0, 500, "备注"),
};

/* What a valid ID number says, read off its canonical form (GB 11643:
 * the birth date at 7–14, the 17th digit odd for a man), as ident_id_check
 * would find it again. */
static void id_facts(const char *idn, struct ident_id *id)
{
	id->gender = (idn[16] - '0') % 2 ? IDENT_GENDER_MALE : IDENT_GENDER_FEMALE;
	id->birth_year = (idn[6] - '0') * 1000 + (idn[7] - '0') * 100 + (idn[8] - '0') * 10 + (idn[9] - '0');
	id->birth_month = (idn[10] - '0') * 10 + (idn[11] - '0');
	id->birth_day = (idn[12] - '0') * 10 + (idn[13] - '0');
}

/* Gender and birth date come with the ID number: derived when absent,
 * checked when given. An ID number the import's reading thread checked is
 * not checked again, only read. */
static int check_against_id(wg_req *r, json_t *body, json_t *value)
{
	const char *idn = json_string_value(value);
	struct ident_id id;
	struct ident_id_opts opts = { .today = -1 };
	if (idn && import_value_checked(r, &person_resource, "id_number", value))
		id_facts(idn, &id);
	else if (!idn || ident_id_check(idn, strlen(idn), &opts, &id) != IDENT_OK)
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
		json_object_set_new_nocheck(body, "gender", json_string(gender));
	if (!b || json_is_null(b))
		json_object_set_new_nocheck(body, "birth_date", json_string(birth));
	return 0;
}

static int person_check(wg_req *r, const struct wg_resource *res, int64_t id, json_t *body)
{
	(void)res;
	/* Each member looked up once: an import checks a million rows. */
	json_t *h = json_object_get(body, "household_id"), *g = json_object_get(body, "grid_id");
	bool has_grid = json_is_integer(g);
	if (json_is_integer(h)) {
		int64_t grid = 0;
		if (household_grid(r, json_integer_value(h), &grid))
			return r->fail.code;
		if (has_grid && json_integer_value(g) != grid)
			return req_fail(r, WG_ERR_VALIDATION, "grid_id", "所属网格与所属户的网格不一致",
					"grid_id differs from the household's grid");
		if (!has_grid)
			json_object_set_new_nocheck(body, "grid_id", json_integer(grid));
		has_grid = true;
	}
	if (id == 0 && !has_grid)
		return req_fail(r, WG_ERR_REQUIRED, "grid_id", "缺少必填字段 grid_id(所属网格),或给出 household_id(所属户)",
				"grid_id is required, or a household_id to take it from");
	json_t *idn = json_object_get(body, "id_number");
	if (check_against_id(r, body, idn))
		return r->fail.code;
	if (id == 0 || idn)
		json_object_set_new_nocheck(body, "id_missing", json_boolean(!json_is_string(idn)));
	return 0;
}

static int person_import_row(wg_req *r, const struct wg_resource *res, json_t *row)
{
	(void)res;
	json_t *addr = import_column(r, row, "address");
	int64_t grid, household = 0;
	if (grid_code_to_id(r, row, &grid))
		return r->fail.code;
	if (json_is_string(addr) && grid && !json_object_get(row, "household_id")) {
		if (household_by_address(r, grid, json_string_value(addr), &household))
			return r->fail.code;
		json_object_set_new_nocheck(row, "household_id", json_integer(household));
	}
	if (addr)
		import_column_drop(r, row, "address");
	/* 与户主关系: the row that says 户主 (or 本人) heads its household. */
	json_t *given = import_column(r, row, "relation");
	const char *relation = json_string_value(given);
	if (relation && (strcmp(relation, "户主") == 0 || strcmp(relation, "本人") == 0))
		import_mark_row(r);
	if (given)  /* most rosters have no such column: no second look */
		import_column_drop(r, row, "relation");
	return 0;
}

/* The grids a chunk's rows name, their paths and their households, looked
 * up before the rows in a query each for all of them (PostgreSQL), so the
 * rows ask nothing of the database themselves. What is not found is left
 * to the row, which fails on its own, in its order. */
static void person_import_prefetch(wg_req *r, const struct wg_resource *res, json_t *const *rows, size_t n)
{
	const char *codes[WG_IMPORT_CHUNK_MAX_ROWS] = { NULL };
	int64_t grids[WG_IMPORT_CHUNK_MAX_ROWS], housed[WG_IMPORT_CHUNK_MAX_ROWS];
	size_t ncodes = 0, ngrids = 0, nhoused = 0;
	(void)res;
	for (size_t i = 0; i < n && i < WG_IMPORT_CHUNK_MAX_ROWS; i++) {
		const char *code = json_string_value(json_object_get(rows[i], "grid_code"));
		if (code && (!ncodes || strcmp(codes[ncodes - 1], code) != 0))  /* a roster goes grid by grid */
			codes[ncodes++] = code;
	}
	if (grid_by_codes(r, codes, ncodes))
		goto done;
	for (size_t i = 0; i < n && i < WG_IMPORT_CHUNK_MAX_ROWS; i++) {
		const char *code = json_string_value(json_object_get(rows[i], "grid_code"));
		int64_t grid;
		if (!code || grid_by_code(r, code, &grid)) {
			memset(&r->fail, 0, sizeof r->fail);
			continue;
		}
		if (!ngrids || grids[ngrids - 1] != grid)
			grids[ngrids++] = grid;
		if (json_is_string(json_object_get(rows[i], "address")) && (!nhoused || housed[nhoused - 1] != grid))
			housed[nhoused++] = grid;
	}
	if (!resource_node_paths(r, grids, ngrids))
		household_prefetch_grids(r, housed, nhoused);
done:
	memset(&r->fail, 0, sizeof r->fail);
}

static int person_after_insert(wg_req *r, const struct wg_resource *res, int64_t id, json_t *body, const char *path)
{
	(void)res;
	(void)path;
	json_t *household = import_row_is_marked(r) ? json_object_get(body, "household_id") : NULL;
	if (!json_is_integer(household))
		return 0;
	wg_param p[] = { WG_PINT(id), WG_PINT(r->now), WG_PINT(json_integer_value(household)) };
	/* In a batch it follows the rows, so it finds a household the batch makes. */
	int rc = import_run_after(r, "UPDATE households SET head_person_id = ?, updated_at = ?, version = version + 1 WHERE id = ?",
				  p, 3);
	return rc ? req_fail(r, rc, NULL, NULL, NULL) : 0;
}

static const struct sheet_column_spec person_import_extra[] = {
	{ "grid_code", grid_code_names, false },
	{ "address", address_names, false },
	{ "id_number", id_names, false },
	{ "phone", phone_names, false },
	{ "tags", tag_names, false },
	{ "relation", relation_names, false },
	{ "_row", ignored_names, false },
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

/* The canonical form of a row's text field, "" when absent or not valid
 * (validation says why later); as it is when the reading thread made it so. */
static void canonical(wg_req *r, json_t *row, const char *key, char *out, size_t size)
{
	const struct wg_field *f = resource_field(&person_resource, key);
	json_t *v = json_object_get(row, key);
	const char *zh, *en;
	out[0] = '\0';
	if (json_is_string(v) && json_string_length(v) < size && import_value_checked(r, &person_resource, key, v))
		memcpy(out, json_string_value(v), json_string_length(v) + 1);
	else if (f && f->canon && json_is_string(v) && f->canon(json_string_value(v), json_string_length(v), out, size, &zh, &en) != 0)
		out[0] = '\0';
}

/* A roster's row is the person with its ID number; without one, the one
 * person of the same name, birth date and household (an ambiguous match is
 * refused, never guessed). */
static int person_import_match(wg_req *r, const struct wg_resource *res, json_t *row, int64_t *id, const char **field)
{
	char idn[64], name[128], birth[WG_DATE_TEXT + 8], bidx[WG_BLIND_HEX];
	wg_stmt *s;
	(void)res;
	*id = 0;
	canonical(r, row, "id_number", idn, sizeof idn);
	/* Adding, the unique index on the ID number speaks when the row is stored
	 * (a query less per row); updating, the record must be found first. */
	if (idn[0] && !import_updating(r))
		return 0;
	if (idn[0]) {
		*field = "id_number";
		crypt_blind_index(&r->app->keys, "id_number", idn, strlen(idn), bidx);
		wg_param p[] = { WG_PTEXT(bidx) };
		int rc = store_query(r->db, "SELECT id, node_path FROM persons WHERE id_number_bidx = ?", p, 1, &s);
		if (rc)
			return req_fail(r, rc, NULL, NULL, NULL);
		bool outside = false;
		if ((rc = stmt_next(s)) == 1) {
			*id = stmt_int(s, 0);
			outside = !scope_contains(r->user->scope_path, stmt_text(s, 1));
		}
		stmt_done(s);
		if (rc < 0)
			return req_fail(r, -rc, NULL, NULL, NULL);
		if (outside)
			return req_fail(r, WG_ERR_CONFLICT, "id_number", "身份证号(id_number)已在您管辖范围以外登记,请联系上级核实",
					"id_number is already registered outside your scope; ask the level above to check");
		return 0;
	}
	json_t *household = json_object_get(row, "household_id");
	canonical(r, row, "name", name, sizeof name);
	canonical(r, row, "birth_date", birth, sizeof birth);
	if (!name[0] || !birth[0] || !json_is_integer(household))
		return 0;
	*field = "name";
	wg_param p[] = { WG_PTEXT(name), WG_PTEXT(birth), WG_PINT(json_integer_value(household)) };
	int rc = store_query(r->db, "SELECT id FROM persons WHERE name = ? AND birth_date = ? AND household_id = ? ORDER BY id LIMIT 2",
			     p, 3, &s);
	if (rc)
		return req_fail(r, rc, NULL, NULL, NULL);
	int64_t found[2] = { 0, 0 };
	int n = 0;
	while (n < 2 && (rc = stmt_next(s)) == 1)
		found[n++] = stmt_int(s, 0);
	stmt_done(s);
	if (rc < 0)
		return req_fail(r, -rc, NULL, NULL, NULL);
	if (n == 2)
		return req_failf(r, WG_ERR_CONFLICT, "name", "同一户中姓名和出生日期相同的人员不止一个(人员 %lld、%lld),无法确定是哪一个;请补上身份证号",
				 "more than one person of this household has this name and birth date (%lld, %lld); add the ID number",
				 (long long)found[0], (long long)found[1], (long long)found[0], (long long)found[1]);
	*id = found[0];
	return 0;
}

/* What an office reads beside a person: where they live. */
static const struct wg_export_column person_export[] = {
	{ "住址", "(SELECT address FROM households WHERE id = persons.household_id)",
	  "(SELECT address FROM households WHERE id = persons.household_id)" },
	{ "网格", "(SELECT name FROM grid_nodes WHERE id = persons.grid_id)", "(SELECT name FROM grid_nodes WHERE id = persons.grid_id)" },
	{ "网格编码", "(SELECT code FROM grid_nodes WHERE id = persons.grid_id)", "(SELECT code FROM grid_nodes WHERE id = persons.grid_id)" },
};

struct wg_resource person_resource = {
	.name = "persons", .table = "persons", .zh = "人员", .en = "person",
	.fields = person_fields, .nfields = sizeof person_fields / sizeof person_fields[0],
	.path_column = "node_path", .read_right = &right_PERSON_READ, .write_right = &right_PERSON_WRITE,
	.reveal_right = &right_PERSON_REVEAL, .audit_reads = true,
	.hooks = { .check = person_check, .import_row = person_import_row, .after_insert = person_after_insert,
		   .after_update = person_after_update, .before_delete = person_before_delete,
		   .import_match = person_import_match, .import_prefetch = person_import_prefetch },
	.import_extra = person_import_extra,
	.nimport_extra = sizeof person_import_extra / sizeof person_import_extra[0],
	.import_key = NULL,
	.import_defer_indexes = true,
	.import_aside = true,  /* person_import_row drops grid_code, address and relation */
	.export_columns = person_export, .nexport_columns = WG_COUNT(person_export),
};
