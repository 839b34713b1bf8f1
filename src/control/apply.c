/* When a case is applied (tracing's "case_applied", in the apply's own
 * transaction) with {"open_controls": true}: a control record for every
 * contact of the case that is a registry person, category by the contact's
 * kind, mode and dates from the case's preset (its active version), starting
 * on the day of the last contact when the preset counts from exposure. The
 * apply's answer gets "controls": {"opened", "already", "skipped"}. */
#include "control/control_int.h"
#include "core/lib/err.h"
#include "core/lib/mem.h"

#include <stdio.h>
#include <string.h>

struct contact { int64_t person, hit_out; int category; };

static int category_of(const char *kind)
{
	if (strcmp(kind, "close") == 0)
		return CAT_CLOSE;
	if (strcmp(kind, "secondary") == 0)
		return CAT_SECONDARY;
	return CAT_SPATIOTEMPORAL;  /* companion */
}

static int contacts_of(wg_req *r, int64_t case_id, struct contact **out, size_t *n)
{
	wg_stmt *s;
	wg_param p[] = { WG_PINT(case_id) };
	size_t cap = 0;
	*out = NULL;
	*n = 0;
	int rc = store_query(r->db, "SELECT person_id, kind, hit_out FROM tracing_contacts WHERE case_id = ? AND person_id IS NOT NULL"
			     " ORDER BY CASE kind WHEN 'close' THEN 0 WHEN 'secondary' THEN 1 ELSE 2 END, rank", p, 1, &s);
	if (rc)
		return req_fail(r, rc, NULL, NULL, NULL);
	while ((rc = stmt_next(s)) == 1) {
		if (*n == cap) {
			cap = cap ? cap * 2 : 64;
			struct contact *grown = wg_realloc(*out, cap * sizeof **out);
			if (!grown) {
				rc = -WG_ERR_NOMEM;
				break;
			}
			*out = grown;
		}
		(*out)[*n].person = stmt_int(s, 0);
		(*out)[*n].category = category_of(stmt_text(s, 1));
		(*out)[(*n)++].hit_out = stmt_int(s, 2);
	}
	stmt_done(s);
	return rc < 0 ? req_fail(r, -rc, NULL, NULL, NULL) : 0;
}

/* Under control now, or once already for this case (applying a case again reopens nothing). */
static int under_control(wg_req *r, int64_t person, int64_t case_id, bool *yes)
{
	int64_t n = 0;
	wg_param p[] = { WG_PINT(person), WG_PINT(case_id) };
	int rc = store_int(r->db, "SELECT COUNT(*) FROM controls WHERE person_id = ? AND (status = 'active' OR case_id = ?)", p, 2, &n);
	*yes = n > 0;
	return rc ? req_fail(r, rc, NULL, NULL, NULL) : 0;
}

int ctl_on_case_applied(wg_req *r, json_t *payload, json_t *answer)
{
	json_t *open = json_object_get(json_object_get(payload, "options"), "open_controls");
	struct contact *list = NULL;
	size_t n = 0;
	int64_t version_id, case_id = json_integer_value(json_object_get(payload, "case_id"));
	int number;
	struct ctl_rules rules;
	struct ctl_settings st;
	json_int_t opened = 0, already = 0, not_in_preset = 0, outside = 0;
	if (!open)
		return 0;
	if (!json_is_boolean(open))
		return req_fail(r, WG_ERR_VALIDATION, "open_controls", "open_controls 应为 true 或 false", "open_controls must be true or false");
	if (json_is_false(open))
		return 0;
	const char *preset = json_string_value(json_object_get(payload, "preset"));
	if (!preset || ctl_settings_get(r, &st) || ctl_preset_active(r, preset, "preset", &version_id, &number) ||
	    ctl_preset_rules(r, version_id, &rules) || contacts_of(r, case_id, &list, &n))
		goto out;
	int64_t today = ctl_local_day(r->now);
	char source[64];
	snprintf(source, sizeof source, "病例 %lld 流调下发", (long long)case_id);
	for (size_t i = 0; i < n; i++) {
		const struct ctl_cat_rule *cr = &rules.cat[list[i].category];
		bool active;
		if (!cr->present) {
			not_in_preset++;  /* e.g. 次密接 under 二十条: no longer determined */
			continue;
		}
		if (under_control(r, list[i].person, case_id, &active))
			goto out;
		if (active) {
			already++;
			continue;
		}
		int64_t start = rules.from_exposure && list[i].hit_out > 0 ? ctl_local_day(list[i].hit_out) : today;
		if (start < today - CTL_MAX_PHASE_DAYS)
			start = today - CTL_MAX_PHASE_DAYS;
		if (start > today)
			start = today;
		char day[WG_DATE_TEXT];
		ctl_day_text(start, day);
		json_t *body = json_pack("{s:I, s:s, s:s, s:s, s:s}", "person_id", (json_int_t)list[i].person, "category",
					 ctl_categories[list[i].category], "preset", preset, "start_date", day, "source", source);
		int64_t id;
		int rc = body ? ctl_open_record(r, body, case_id, &id) : req_fail(r, WG_ERR_NOMEM, NULL, NULL, NULL);
		json_decref(body);
		if (rc == WG_ERR_NOT_FOUND && strcmp(r->fail.field, "person_id") == 0) {
			/* Outside the applier's scope: that community opens it. Nothing was written for it. */
			memset(&r->fail, 0, sizeof r->fail);
			outside++;
			continue;
		}
		if (rc)
			goto out;
		opened++;
	}
	if (json_object_set_new(answer, "controls", json_pack("{s:I, s:I, s:{s:I, s:I}, s:s, s:I}", "opened", opened,
							      "already", already, "skipped", "not_in_preset", not_in_preset,
							      "outside_scope", outside, "preset", preset,
							      "preset_version", (json_int_t)number)))
		req_fail(r, WG_ERR_NOMEM, NULL, NULL, NULL);
out:
	wg_free(list);
	return r->fail.code;
}
