/* Values an administrator added to an FF_EXTENSIBLE field (dict_entries):
 * found for the validation by value or label, their labels for an export,
 * and how many records hold one before it is deleted. Only the store is
 * asked here, so the validation and the export reach down to this file and
 * nothing above them. */
#include "core/resource/resource_int.h"
#include "core/lib/err.h"

#include <stdio.h>
#include <string.h>

int resource_dict_match(wg_req *r, const struct wg_resource *res, const struct wg_field *f, const char *s, char *out,
			size_t size)
{
	if (!(f->flags & FF_EXTENSIBLE) || !r->db || strlen(s) >= WG_DICT_VALUE_BYTES)
		return 0;
	wg_param p[] = { WG_PTEXT(res->name), WG_PTEXT(f->name), WG_PTEXT(s), WG_PTEXT(s) };
	wg_stmt *st;
	int rc = store_query(r->db, "SELECT value FROM dict_entries WHERE resource = ? AND field = ? AND (value = ? OR label = ?)"
				    " ORDER BY value = label DESC LIMIT 1", p, 4, &st);
	if (rc) {
		req_fail(r, rc, NULL, NULL, NULL);
		return -1;
	}
	rc = stmt_next(st);
	if (rc == 1)
		snprintf(out, size, "%s", stmt_text(st, 0));
	stmt_done(st);
	if (rc < 0) {
		req_fail(r, -rc, NULL, NULL, NULL);
		return -1;
	}
	return rc;
}

json_t *resource_dict_labels(wg_req *r, const struct wg_resource *res)
{
	json_t *labels = json_object();
	wg_param p[] = { WG_PTEXT(res->name) };
	wg_stmt *s;
	int rc = labels ? store_query(r->db, "SELECT field, value, label FROM dict_entries WHERE resource = ?", p, 1, &s)
		: WG_ERR_NOMEM;
	if (rc)
		goto fail;
	while ((rc = stmt_next(s)) == 1) {
		json_t *field = json_object_get(labels, stmt_text(s, 0));
		if (!field && json_object_set_new(labels, stmt_text(s, 0), field = json_object()))
			field = NULL;
		if (!field || json_object_set_new(field, stmt_text(s, 1), json_string(stmt_text(s, 2)))) {
			rc = -WG_ERR_NOMEM;
			break;
		}
	}
	stmt_done(s);
	if (rc == 0)
		return labels;
	rc = -rc;
fail:
	json_decref(labels);
	req_fail(r, rc, NULL, NULL, NULL);
	return NULL;
}

int resource_dict_uses(wg_req *r, const struct wg_resource *res, const struct wg_field *f, const char *value,
		       int64_t *n)
{
	char sql[256], pattern[WG_DICT_VALUE_BYTES + 8];
	/* Identifiers from the declaration, the value bound; tags are stored ",a,b,". */
	snprintf(sql, sizeof sql, "SELECT COUNT(*) FROM %s WHERE %s %s ?", res->table, f->name, f->type == FT_TAGS ? "LIKE" : "=");
	snprintf(pattern, sizeof pattern, "%%,%s,%%", value);
	wg_param p[] = { WG_PTEXT(f->type == FT_TAGS ? pattern : value) };
	return store_int(r->db, sql, p, 1, n);
}
