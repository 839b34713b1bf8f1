/* The dictionaries (字典) a back office shows: every value list the declared
 * resources accept, with the Chinese label a person reads and types. They
 * come from the declarations themselves, so the page, the validation and the
 * import read one list and cannot disagree. */
#include "core/resource/resource_int.h"

static json_t *values_json(const struct wg_field *f)
{
	json_t *values = json_array();
	for (size_t i = 0; values && f->values[i]; i++) {
		const char *label = f->labels ? f->labels[i] : f->values[i];
		if (json_array_append_new(values, json_pack("{s:s, s:s}", "value", f->values[i], "label", label))) {
			json_decref(values);
			return NULL;
		}
	}
	return values;
}

static json_t *entry_json(const struct wg_resource *res, const struct wg_field *f)
{
	json_t *values = values_json(f);
	if (!values)
		return NULL;
	return json_pack("{s:s, s:s, s:s, s:s, s:s, s:o}", "resource", res->name, "resource_zh", res->zh,
			 "field", f->name, "field_zh", f->zh ? f->zh : f->name,
			 "kind", f->type == FT_TAGS ? "tags" : "enum", "values", values);
}

json_t *resource_dictionaries(void)
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
				return NULL;
			}
		}
	}
	return items;
}
