/* POST /api/v1/persons/{id}/merge {"from": id}: one person registered twice becomes one record. */
#include "registry/registry_int.h"
#include "core/audit/audit.h"
#include "core/auth/scope.h"
#include "core/lib/err.h"
#include "core/lib/ident.h"
#include "core/lib/limits.h"
#include "core/lib/parse.h"
#include "core/sheet/sheet.h"
#include "grid/grid.h"

#include <stdio.h>
#include <string.h>

/* ---- merge: POST /api/v1/persons/{id}/merge {"from": id, "phone"?: "into"|"from"} ---- */

/* Two different phones: one must be chosen, never dropped unseen. */
static int choose_phone(wg_req *r, json_t *into, json_t *from, json_t *change)
{
	json_t *a = json_object_get(into, "phone"), *b = json_object_get(from, "phone"), *pick = json_object_get(r->body, "phone");
	if (pick && (!json_is_string(pick) || (strcmp(json_string_value(pick), "into") && strcmp(json_string_value(pick), "from"))))
		return req_fail(r, WG_ERR_VALIDATION, "phone", "phone 应为 into(保留本记录的电话)或 from(改用被合并记录的电话)",
				"phone must be into (keep this record's) or from (take the duplicate's)");
	if (!json_is_string(a) || !json_is_string(b) || json_equal(a, b))
		return 0;
	if (!pick) {
		char ma[64], mb[64];
		ident_mask_phone(json_string_value(a), ma, sizeof ma);
		ident_mask_phone(json_string_value(b), mb, sizeof mb);
		return req_failf(r, WG_ERR_CONFLICT, "phone", "两条记录的电话不同(%s、%s):请用 phone 选择保留哪一个(into 或 from)",
				 "the records have different phones (%s, %s): choose which to keep with phone (into or from)",
				 ma, mb, ma, mb);
	}
	if (strcmp(json_string_value(pick), "from") == 0)
		return json_object_set(change, "phone", b) ? req_fail(r, WG_ERR_NOMEM, NULL, NULL, NULL) : 0;
	return 0;
}

int person_merge(wg_req *r)
{
	static const char *const allowed[] = { "from", "phone", NULL };
	json_t *into, *from, *jf = json_object_get(r->body, "from");
	char into_path[WG_MAX_GRID_PATH], from_path[WG_MAX_GRID_PATH];
	if (req_check_body(r, allowed))
		return r->fail.code;
	if (!json_is_integer(jf) || json_integer_value(jf) < 1)
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
	if (choose_phone(r, into, from, change)) {
		json_decref(into);
		json_decref(from);
		json_decref(change);
		return r->fail.code;
	}
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
