/* Households: on a grid at an address, found by address when a roster
 * names them, headed by one of their members. */
#include "registry/registry_int.h"
#include "core/audit/audit.h"
#include "core/auth/scope.h"
#include "core/lib/err.h"
#include "core/lib/ident.h"
#include "core/lib/limits.h"
#include "core/lib/mem.h"
#include "core/lib/parse.h"
#include "core/sheet/sheet.h"
#include "grid/grid.h"

#include <stdio.h>
#include <string.h>

/* The groups the work looks after (DOMAIN §2). */
const char *const person_tags[] = {
	"兜底脱贫对象", "低保对象", "特困老人", "重病重残", "困境儿童", "防控一线医务人员家属", "独居老人",
	"孕产妇", "慢性病", "残疾人", "退役军人", "党员", NULL
};
const char *const address_names[] = { "现住址", "住址", "地址", "家庭住址", "居住地址", "address", NULL };
const char *const phone_names[] = { "手机号", "手机号码", "联系方式", "电话", "phone", NULL };
const char *const ignored_names[] = { "序号", "no", NULL };

static const struct wg_field household_fields[] = {
	{ "grid_id", FT_REF, FF_REQUIRED | FF_SCOPE | FF_FILTER | FF_IMPORT_OPTIONAL, 0, 0, NULL, "所属网格", NULL, NULL, NULL },
	TEXT("address", FF_REQUIRED | FF_SEARCH, 1, 200, "住址"),
	{ "head_person_id", FT_REF, FF_NULLABLE, 0, 0, NULL, "户主", NULL, NULL, NULL },
	{ "phone", FT_TEXT, FF_NULLABLE | FF_SECRET | FF_FILTER, 0, 40, NULL, "联系电话", NULL, ident_canon_phone, ident_mask_phone },
	{ "tags", FT_TAGS, FF_FILTER | FF_EXTENSIBLE, 0, 0, person_tags, "标签", NULL, NULL, NULL },
	TEXT("note", FF_NULLABLE, 0, 500, "备注"),
};

/* ---- persons: derived fields and the household link ---- */

/* Import memos: a grid by its code, a household by grid and address, the
 * grid of a household the import found or made (so a family's rows ask the
 * database once). */
static const char MEMO_HOUSEHOLD[] = "household",
		  MEMO_HOUSEHOLD_GRID[] = "household grid";

static void household_memo_key(int64_t household_id, char key[WG_I64_DIGITS + 1])
{
	key[wg_format_i64(key, household_id)] = '\0';
}

int household_grid(wg_req *r, int64_t household_id, int64_t *grid_id)
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

/* ---- import: grids by code, households by address ---- */

/* In an import the households of a grid are read at once, the first time
 * a row names the grid: a query per grid instead of one per address, and
 * an address the grid lacks is known new without asking again (a new
 * grid's households, a query that finds none). A grid with more households
 * than the memo should hold is asked address by address. */
static const char MEMO_GRID_READ[] = "grid households read", MEMO_GRID_PARTLY[] = "grid households too many";
#define HOUSEHOLD_KEY 320

/* "grid|address", the memo's key of a household; false when too long to remember. */
static bool household_key(int64_t grid, const char *address, char key[HOUSEHOLD_KEY])
{
	size_t n = wg_format_i64(key, grid), len = strlen(address);
	if (n + 1 + len >= HOUSEHOLD_KEY)
		return false;
	key[n] = '|';
	memcpy(key + n + 1, address, len + 1);
	return true;
}


/* The marks go first: whatever the memo forgets when it fills up, it forgets
 * with them, so "read" still means every household of the grid is there. */
static int read_grid_households(wg_req *r, int64_t grid)
{
	char key[HOUSEHOLD_KEY], hkey[WG_I64_DIGITS + 1], gkey[WG_I64_DIGITS + 1];
	wg_stmt *s;
	wg_param p[] = { WG_PINT(grid), WG_PINT(WG_IMPORT_GRID_HOUSEHOLDS + 1) };
	size_t rows = 0;
	household_memo_key(grid, gkey);
	import_memo_set(r, MEMO_GRID_READ, gkey, 1, NULL);
	/* An address's household is its first: the lowest id, as one by one. */
	int rc = store_query(r->db, "SELECT id, address FROM households WHERE grid_id = ? ORDER BY id LIMIT ?", p, 2, &s);
	if (rc)
		return req_fail(r, rc, NULL, NULL, NULL);
	while ((rc = stmt_next(s)) == 1 && rows++ < WG_IMPORT_GRID_HOUSEHOLDS) {
		int64_t id = stmt_int(s, 0);
		if (household_key(grid, stmt_text(s, 1), key))  /* a long address is asked for on its own */
			import_memo_set(r, MEMO_HOUSEHOLD, key, id, NULL);
		household_memo_key(id, hkey);
		import_memo_set(r, MEMO_HOUSEHOLD_GRID, hkey, grid, NULL);
	}
	stmt_done(s);
	if (rc < 0)
		return req_fail(r, -rc, NULL, NULL, NULL);
	if (rows > WG_IMPORT_GRID_HOUSEHOLDS)
		import_memo_set(r, MEMO_GRID_PARTLY, gkey, 1, NULL);
	return 0;
}

/* Whether every household of the grid is in the memo (read_grid_households). */
static bool grid_households_known(wg_req *r, int64_t grid)
{
	char gkey[WG_I64_DIGITS + 1];
	int64_t unused;
	household_memo_key(grid, gkey);
	return import_memo_get(r, MEMO_GRID_READ, gkey, &unused, NULL) && !import_memo_get(r, MEMO_GRID_PARTLY, gkey, &unused, NULL);
}

/* The households of these grids (a chunk's new ones) into the memo as
 * read_grid_households() puts them, in one query; the marks first. */
int household_prefetch_grids(wg_req *r, const int64_t *grids, size_t n)
{
	char key[HOUSEHOLD_KEY], hkey[WG_I64_DIGITS + 1], gkey[WG_I64_DIGITS + 1];
	wg_buf a = WG_BUF_INIT(WG_MAX_BATCH_BYTES);
	int64_t unused, counted = 0;
	size_t asked = 0, rows = 0;
	for (size_t i = 0; i < n && import_in_progress(r); i++) {
		household_memo_key(grids[i], gkey);
		if (import_memo_get(r, MEMO_GRID_READ, gkey, &unused, NULL))
			continue;
		import_memo_set(r, MEMO_GRID_READ, gkey, 1, NULL);
		store_array_int(&a, grids[i]);
		asked++;
	}
	int rc = store_array_end(&a);
	if (rc || !asked) {
		wg_buf_release(&a);
		return rc ? req_fail(r, rc, NULL, NULL, NULL) : 0;
	}
	wg_stmt *s;
	/* An address's household is its first: the lowest id, as one by one; one too many says "partly". */
	wg_param p[] = { WG_PTEXTN(a.data, a.len), WG_PINT(WG_IMPORT_GRID_HOUSEHOLDS + 1) };
	/* grid by grid, as read_grid_households asks (an index scan each, whatever the table's statistics say) */
	rc = store_query(r->db, "SELECT g.grid_id, h.id, h.address FROM unnest(?::bigint[]) AS g(grid_id) CROSS JOIN LATERAL"
			 " (SELECT id, address FROM households WHERE grid_id = g.grid_id ORDER BY id LIMIT ?) h"
			 " ORDER BY g.grid_id, h.id", p, 2, &s);
	wg_buf_release(&a);
	if (rc)
		return req_fail(r, rc, NULL, NULL, NULL);
	while ((rc = stmt_next(s)) == 1) {
		int64_t grid = stmt_int(s, 0), id = stmt_int(s, 1);
		rows = grid == counted ? rows + 1 : 1;
		counted = grid;
		if (rows > WG_IMPORT_GRID_HOUSEHOLDS) {
			household_memo_key(grid, gkey);
			import_memo_set(r, MEMO_GRID_PARTLY, gkey, 1, NULL);
			continue;
		}
		if (household_key(grid, stmt_text(s, 2), key))  /* a long address is asked for on its own */
			import_memo_set(r, MEMO_HOUSEHOLD, key, id, NULL);
		household_memo_key(id, hkey);
		import_memo_set(r, MEMO_HOUSEHOLD_GRID, hkey, grid, NULL);
	}
	stmt_done(s);
	return rc < 0 ? req_fail(r, -rc, NULL, NULL, NULL) : 0;
}

int household_prefetch_grid(wg_req *r, int64_t grid)
{
	char gkey[WG_I64_DIGITS + 1];
	int64_t unused;
	household_memo_key(grid, gkey);
	if (!import_in_progress(r) || import_memo_get(r, MEMO_GRID_READ, gkey, &unused, NULL))
		return 0;
	return read_grid_households(r, grid);
}

/* The first household at the address of the grid, 0 if none (*id). */
static int household_at(wg_req *r, int64_t grid, const char *address, const char *key, int64_t *id)
{
	*id = 0;
	if (import_in_progress(r) && household_prefetch_grid(r, grid))
		return r->fail.code;
	if (key && import_memo_get(r, MEMO_HOUSEHOLD, key, id, NULL))
		return 0;
	if (key && grid_households_known(r, grid))
		return 0;  /* read, and the address was not among them */
	wg_param p[] = { WG_PINT(grid), WG_PTEXT(address) };
	int rc = store_int(r->db, "SELECT id FROM households WHERE grid_id = ? AND address = ? ORDER BY id LIMIT 1", p, 2, id);
	if (rc && rc != WG_ERR_NOT_FOUND)
		return req_fail(r, rc, NULL, NULL, NULL);
	return 0;
}

static int household_create(wg_req *r, int64_t grid, const char *address, int64_t *id)
{
	char path[WG_MAX_GRID_PATH];
	if (resource_node_path(r, grid, "grid_code", path, sizeof path))
		return r->fail.code;
	wg_param q[] = { WG_PINT(grid), WG_PTEXT(path), WG_PTEXT(address), WG_PINT(r->now), WG_PINT(r->now) };
	int rc = import_batching(r)
		? import_batch_insert(r, "households", "grid_id, node_path, address, created_at, updated_at", q, 5, id)
		: store_insert(r->db, "INSERT INTO households (grid_id, node_path, address, created_at, updated_at)"
				      " VALUES (?, ?, ?, ?, ?)", q, 5, id);
	if (!rc && import_in_progress(r))
		import_count_extra(r, "households");
	else if (!rc)
		rc = audit_req(r, "create", "households", *id, path, NULL);
	if (rc)
		return r->fail.code ? r->fail.code : req_fail(r, rc, NULL, NULL, NULL);
	return 0;
}

/* A roster names households by address: the first row of an address makes
 * the household (on the grid, within the caller's scope), the next rows of
 * the family join it. */
int household_by_address(wg_req *r, int64_t grid, const char *address, int64_t *id)
{
	char key[HOUSEHOLD_KEY], hkey[WG_I64_DIGITS + 1];
	bool memo = household_key(grid, address, key);
	if (memo && import_memo_get(r, MEMO_HOUSEHOLD, key, id, NULL))
		return 0;
	if (household_at(r, grid, address, memo ? key : NULL, id) || (!*id && household_create(r, grid, address, id)))
		return r->fail.code;
	if (memo)
		import_memo_set(r, MEMO_HOUSEHOLD, key, *id, NULL);
	household_memo_key(*id, hkey);
	import_memo_set(r, MEMO_HOUSEHOLD_GRID, hkey, grid, NULL);
	return 0;
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
	return grid_code_to_id(r, row, NULL);
}

static const struct sheet_column_spec household_import_extra[] = {
	{ "grid_code", grid_code_names, false },
	{ "address", address_names, false },
	{ "phone", phone_names, false },
	{ "_row", ignored_names, false },
};

static const struct wg_export_column household_export[] = {
	{ "网格", "(SELECT name FROM grid_nodes WHERE id = households.grid_id)", "(SELECT name FROM grid_nodes WHERE id = households.grid_id)" },
	{ "网格编码", "(SELECT code FROM grid_nodes WHERE id = households.grid_id)", "(SELECT code FROM grid_nodes WHERE id = households.grid_id)" },
};

struct wg_resource household_resource = {
	.name = "households", .table = "households", .zh = "户", .en = "household",
	.fields = household_fields, .nfields = sizeof household_fields / sizeof household_fields[0],
	.path_column = "node_path", .read_right = &right_PERSON_READ, .write_right = &right_PERSON_WRITE,
	.reveal_right = &right_PERSON_REVEAL, .audit_reads = true,
	.hooks = { .import_row = household_import_row, .check = household_check },
	.import_extra = household_import_extra,
	.nimport_extra = sizeof household_import_extra / sizeof household_import_extra[0],
	.export_columns = household_export, .nexport_columns = WG_COUNT(household_export),
};
