/* The dictionaries (字典) a back office shows: every value list the declared
 * resources accept, with the Chinese label a person reads and types. The
 * declared values come from the declarations themselves, so the page, the
 * validation and the import read one list and cannot disagree; a field
 * declared FF_EXTENSIBLE also takes the values an administrator added
 * (dict_entries), which the validation finds here by value or label. */
#include "core/resource/resource_int.h"
#include "core/lib/err.h"

#include <stdio.h>
#include <string.h>

static json_t *declared_values(const struct wg_field *f)
{
	json_t *values = json_array();
	for (size_t i = 0; values && f->values[i]; i++) {
		const char *label = f->labels ? f->labels[i] : f->values[i];
		if (json_array_append_new(values, json_pack("{s:s, s:s, s:b, s:b}", "value", f->values[i], "label", label,
							    "builtin", 1, "enabled", 1))) {
			json_decref(values);
			return NULL;
		}
	}
	return values;
}

static json_t *entry_json(const struct wg_resource *res, const struct wg_field *f)
{
	json_t *values = declared_values(f);
	if (!values)
		return NULL;
	return json_pack("{s:s, s:s, s:s, s:s, s:s, s:b, s:o}", "resource", res->name, "resource_zh", res->zh,
			 "field", f->name, "field_zh", f->zh ? f->zh : f->name,
			 "kind", f->type == FT_TAGS ? "tags" : "enum", "extensible", (f->flags & FF_EXTENSIBLE) != 0,
			 "values", values);
}

/* The dictionary of resource/field in items, NULL if none. */
static json_t *entry_of(json_t *items, const char *resource, const char *field)
{
	size_t i;
	json_t *e;
	json_array_foreach(items, i, e)
		if (strcmp(json_string_value(json_object_get(e, "resource")), resource) == 0 &&
		    strcmp(json_string_value(json_object_get(e, "field")), field) == 0)
			return e;
	return NULL;
}

static json_t *added_json(wg_stmt *s)
{
	json_t *v = json_pack("{s:I, s:s, s:s, s:b, s:b, s:I, s:I}", "id", (json_int_t)stmt_int(s, 0), "value", stmt_text(s, 3),
			      "label", stmt_text(s, 4), "builtin", 0, "enabled", stmt_int(s, 7) != 0,
			      "sort", (json_int_t)stmt_int(s, 6), "version", (json_int_t)stmt_int(s, 8));
	if (v && json_object_set_new(v, "label_en", stmt_is_null(s, 5) ? json_null() : json_string(stmt_text(s, 5)))) {
		json_decref(v);
		return NULL;
	}
	return v;
}

/* Appends the values added on 字典管理 to their dictionaries. */
static int add_entries(wg_req *r, json_t *items)
{
	wg_stmt *s;
	int rc = store_query(r->db, "SELECT id, resource, field, value, label, label_en, sort, enabled, version FROM dict_entries"
				    " ORDER BY resource, field, sort, id", NULL, 0, &s);
	if (rc)
		return rc;
	while ((rc = stmt_next(s)) == 1) {
		json_t *e = entry_of(items, stmt_text(s, 1), stmt_text(s, 2));
		json_t *v = e ? added_json(s) : NULL;
		if (e && (!v || json_array_append_new(json_object_get(e, "values"), v))) {
			rc = -WG_ERR_NOMEM;
			break;
		}
	}
	stmt_done(s);
	return rc < 0 ? -rc : 0;
}

json_t *resource_dictionaries(wg_req *r)
{
	json_t *items = json_array();
	for (size_t i = 0; items && i < resource_count(); i++) {
		const struct wg_resource *res = resource_at(i);
		for (size_t k = 0; k < res->nfields; k++) {
			const struct wg_field *f = &res->fields[k];
			if ((f->type != FT_ENUM && f->type != FT_TAGS) || !f->values)
				continue;
			json_t *entry = entry_json(res, f);
			if (!entry || json_array_append_new(items, entry)) {
				json_decref(items);
				items = NULL;
				break;
			}
		}
	}
	int rc = items ? (r->db ? add_entries(r, items) : 0) : WG_ERR_NOMEM;
	if (rc) {
		json_decref(items);
		req_fail(r, rc, NULL, NULL, NULL);
		return NULL;
	}
	return items;
}
