/* The rules of a protocol preset version and the shape of a team, read
 * from their JSON (control_config_versions.rules) and checked member by
 * member, so an edit that would not work is refused naming the member:
 *
 *   preset: {"lookback_days": 2, "start_from": "exposure" | "opened",
 *            "team_shape": "five_one", "checks_per_day": 2, "fever_c": 37.3,
 *            "symptoms": [{"code": "dry_cough", "zh": "干咳"}, …],
 *            "categories": {"close": {"phases": [{"mode": "central", "days": 7,
 *                           "nat_days": [1, 2, 3, 5, 7]}, …],
 *                           "release_nat_days": [5, 7, 10]?, "note": "…"?}, …},
 *            "issued": "2022-06-28"?, "note": "…"?}
 *   team shape: {"members": [{"role": "grid_worker", "zh": "网格员",
 *                "from_duty": "网格员"?}, …]}
 *
 * A category a preset leaves out is not determined under it (二十条 has no
 * 次密接): a record of that category needs its mode and end date given. */
#include "control/control_int.h"
#include "core/lib/err.h"
#include "core/lib/parse.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static int refuse(struct ctl_why *why, const char *field, const char *zh, const char *en)
{
	snprintf(why->field, sizeof why->field, "%s", field);
	snprintf(why->zh, sizeof why->zh, "%s(%s)", zh, field);
	snprintf(why->en, sizeof why->en, "%s: %s", field, en);
	return WG_ERR_VALIDATION;
}

/* Members of o outside allowed: the first is refused. */
static int only(const json_t *o, const char *const *allowed, const char *at, struct ctl_why *why)
{
	const char *key;
	json_t *v;
	json_object_foreach((json_t *)o, key, v) {
		const char *const *a = allowed;
		while (*a && strcmp(*a, key) != 0)
			a++;
		if (!*a) {
			char field[128];
			snprintf(field, sizeof field, "%.80s%s%.40s", at, *at ? "." : "", key);
			return refuse(why, field, "未知成员", "unknown member");
		}
	}
	return 0;
}

static int int_member(const json_t *o, const char *key, const char *at, int min, int max, int def, int *out,
		      struct ctl_why *why)
{
	json_t *v = json_object_get(o, key);
	char field[128];
	snprintf(field, sizeof field, "%.80s%s%.40s", at, *at ? "." : "", key);
	if (!v) {
		if (def < min)
			return refuse(why, field, "缺少必填成员", "required member missing");
		*out = def;
		return 0;
	}
	if (!json_is_integer(v) || json_integer_value(v) < min || json_integer_value(v) > max) {
		char zh[96], en[96];
		snprintf(zh, sizeof zh, "应为 %d 到 %d 之间的整数", min, max);
		snprintf(en, sizeof en, "must be an integer from %d to %d", min, max);
		return refuse(why, field, zh, en);
	}
	*out = (int)json_integer_value(v);
	return 0;
}

static int text_member(const json_t *o, const char *key, const char *at, char *out, size_t size, bool required,
		       struct ctl_why *why)
{
	json_t *v = json_object_get(o, key);
	char field[128];
	snprintf(field, sizeof field, "%.80s%s%.40s", at, *at ? "." : "", key);
	if (!v && !required)
		return 0;
	if (!json_is_string(v) || json_string_length(v) == 0 || json_string_length(v) >= size)
		return refuse(why, field, "应为非空的短文字", "must be a short non-empty text");
	for (const char *p = json_string_value(v); *p; p++)
		if ((unsigned char)*p < 0x20)
			return refuse(why, field, "含有控制字符", "contains control characters");
	wg_copy_text(out, size, json_string_value(v));
	return 0;
}

/* Codes are what the API and the store use: lower-case letters, digits and _. */
static bool is_code(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '_'))
			return false;
	return true;
}

static int day_list(const json_t *a, const char *field, int min, int max, int *out, int cap, int *n,
		    struct ctl_why *why)
{
	size_t i;
	json_t *v;
	char zh[128], en[128];
	if (!json_is_array(a) || json_array_size(a) > (size_t)cap) {
		snprintf(zh, sizeof zh, "应为最多 %d 个天数的数组", cap);
		snprintf(en, sizeof en, "must be an array of at most %d day numbers", cap);
		return refuse(why, field, zh, en);
	}
	*n = 0;
	json_array_foreach(a, i, v) {
		int d = json_is_integer(v) ? (int)json_integer_value(v) : 0;
		if (!json_is_integer(v) || json_integer_value(v) < min || json_integer_value(v) > max ||
		    (*n > 0 && d <= out[*n - 1])) {
			snprintf(zh, sizeof zh, "应为 %d 到 %d 之间、由小到大不重复的天数", min, max);
			snprintf(en, sizeof en, "must be day numbers from %d to %d, ascending, each once", min, max);
			return refuse(why, field, zh, en);
		}
		out[(*n)++] = d;
	}
	return 0;
}

static int parse_phase(const json_t *p, const char *at, struct ctl_phase *out, struct ctl_why *why)
{
	static const char *const keys[] = { "mode", "days", "nat_days", NULL };
	char field[128], mode[CTL_MAX_CODE + 1] = "";
	if (!json_is_object(p))
		return refuse(why, at, "应为对象", "must be an object");
	int rc = only(p, keys, at, why);
	if (!rc)
		rc = text_member(p, "mode", at, mode, sizeof mode, true, why);
	if (!rc && (out->mode = ctl_index_of(ctl_modes, mode)) < 0) {
		snprintf(field, sizeof field, "%.80s.mode", at);
		return refuse(why, field, "应为 central、home_isolation 或 home_monitoring",
			      "must be central, home_isolation or home_monitoring");
	}
	if (!rc)
		rc = int_member(p, "days", at, 1, CTL_MAX_PHASE_DAYS, 0, &out->days, why);
	out->nnat = 0;
	snprintf(field, sizeof field, "%.80s.nat_days", at);
	json_t *nat = json_object_get(p, "nat_days");
	if (!rc && nat)
		rc = day_list(nat, field, 1, out->days, out->nat, CTL_MAX_NAT_DAYS, &out->nnat, why);
	return rc;
}

static int parse_category(const json_t *c, const char *at, struct ctl_cat_rule *out, struct ctl_why *why)
{
	static const char *const keys[] = { "phases", "release_nat_days", "note", NULL };
	char field[128];
	if (!json_is_object(c))
		return refuse(why, at, "应为对象", "must be an object");
	int rc = only(c, keys, at, why);
	json_t *phases = json_object_get(c, "phases"), *p;
	size_t i;
	snprintf(field, sizeof field, "%.80s.phases", at);
	if (!rc && (!json_is_array(phases) || json_array_size(phases) == 0 || json_array_size(phases) > CTL_MAX_PHASES))
		return refuse(why, field, "应为 1 到 4 个阶段的数组", "must be an array of 1 to 4 phases");
	out->nphases = 0;
	json_array_foreach(phases, i, p) {
		snprintf(field, sizeof field, "%.80s.phases[%zu]", at, i);
		if (!rc)
			rc = parse_phase(p, field, &out->phase[out->nphases++], why);
	}
	if (rc)
		return rc;
	json_t *note = json_object_get(c, "note");
	if (note && !json_is_string(note)) {
		snprintf(field, sizeof field, "%.80s.note", at);
		return refuse(why, field, "应为文字", "must be text");
	}
	out->present = true;
	json_t *rel = json_object_get(c, "release_nat_days");
	snprintf(field, sizeof field, "%.80s.release_nat_days", at);
	if (rel)
		return day_list(rel, field, 1, ctl_rule_total_days(out), out->release_nat, CTL_MAX_CHAIN_NAT, &out->nrelease, why);
	/* By default every NAT day of the protocol must have been negative. */
	out->nrelease = ctl_rule_nat_days(out, out->release_nat, CTL_MAX_CHAIN_NAT);
	return 0;
}

int ctl_rules_parse(const json_t *j, struct ctl_rules *out, struct ctl_why *why)
{
	static const char *const keys[] = { "issued", "note", "lookback_days", "start_from", "team_shape", "checks_per_day",
					    "fever_c", "symptoms", "categories", NULL };
	char start[16] = "exposure", field[128];
	memset(out, 0, sizeof *out);
	if (!json_is_object(j))
		return refuse(why, "rules", "应为对象", "must be an object");
	int rc = only(j, keys, "rules", why);
	if (!rc)
		rc = int_member(j, "lookback_days", "rules", 1, 28, 2, &out->lookback_days, why);
	if (!rc)
		rc = text_member(j, "start_from", "rules", start, sizeof start, false, why);
	if (!rc && strcmp(start, "exposure") != 0 && strcmp(start, "opened") != 0)
		return refuse(why, "rules.start_from", "应为 exposure(自末次暴露)或 opened(自开始管控)",
			      "must be exposure (from the last contact) or opened (from the day the record is opened)");
	out->from_exposure = strcmp(start, "exposure") == 0;
	if (!rc)
		rc = text_member(j, "team_shape", "rules", out->team_shape, sizeof out->team_shape, true, why);
	if (!rc && !is_code(out->team_shape))
		return refuse(why, "rules.team_shape", "应为包保模板的代码", "must be a team shape's code");
	if (!rc)
		rc = int_member(j, "checks_per_day", "rules", 1, 6, 2, &out->checks_per_day, why);
	json_t *fever = json_object_get(j, "fever_c");
	out->fever_tenths = 373;
	if (!rc && fever) {
		double f = json_number_value(fever);
		if (!json_is_number(fever) || f < 37.0 || f > 39.0)
			return refuse(why, "rules.fever_c", "应为 37.0 到 39.0 之间的体温", "must be a temperature from 37.0 to 39.0");
		out->fever_tenths = (int)lround(f * 10);
	}
	json_t *sym = json_object_get(j, "symptoms"), *s;
	size_t i;
	if (!rc && (!json_is_array(sym) || json_array_size(sym) > CTL_MAX_SYMPTOMS))
		return refuse(why, "rules.symptoms", "应为最多 24 个症状的数组", "must be an array of at most 24 symptoms");
	json_array_foreach(sym, i, s) {
		static const char *const skeys[] = { "code", "zh", NULL };
		struct ctl_symptom *x = &out->symptoms[out->nsymptoms++];
		snprintf(field, sizeof field, "rules.symptoms[%zu]", i);
		if (!rc && !json_is_object(s))
			rc = refuse(why, field, "应为 {code, zh}", "must be {code, zh}");
		if (!rc)
			rc = only(s, skeys, field, why);
		if (!rc)
			rc = text_member(s, "code", field, x->code, sizeof x->code, true, why);
		if (!rc)
			rc = text_member(s, "zh", field, x->zh, sizeof x->zh, true, why);
		if (!rc && !is_code(x->code))
			rc = refuse(why, field, "code 只能含小写字母、数字和下划线", "code may hold lower-case letters, digits and _ only");
	}
	json_t *cats = json_object_get(j, "categories"), *c;
	const char *key;
	if (!rc && !json_is_object(cats))
		return refuse(why, "rules.categories", "应为按管控类别的对象", "must be an object by category");
	json_object_foreach(cats, key, c) {
		int k = ctl_index_of(ctl_categories, key);
		snprintf(field, sizeof field, "rules.categories.%s", key);
		if (!rc && k < 0)
			rc = refuse(why, field, "不是管控类别", "is not a category");
		if (!rc)
			rc = parse_category(c, field, &out->cat[k], why);
	}
	return rc;
}

int ctl_team_shape_parse(const json_t *j, struct ctl_team_shape *out, struct ctl_why *why)
{
	static const char *const keys[] = { "members", "note", NULL }, *const mkeys[] = { "role", "zh", "from_duty", NULL };
	char field[128];
	memset(out, 0, sizeof *out);
	if (!json_is_object(j))
		return refuse(why, "rules", "应为对象", "must be an object");
	int rc = only(j, keys, "rules", why);
	json_t *m = json_object_get(j, "members"), *x;
	size_t i;
	if (!rc && (!json_is_array(m) || json_array_size(m) == 0 || json_array_size(m) > CTL_MAX_TEAM))
		return refuse(why, "rules.members", "应为 1 到 8 个成员的数组", "must be an array of 1 to 8 members");
	json_array_foreach(m, i, x) {
		struct ctl_team_member *t = &out->m[out->n++];
		snprintf(field, sizeof field, "rules.members[%zu]", i);
		if (!rc && !json_is_object(x))
			rc = refuse(why, field, "应为 {role, zh, from_duty?}", "must be {role, zh, from_duty?}");
		if (!rc)
			rc = only(x, mkeys, field, why);
		if (!rc)
			rc = text_member(x, "role", field, t->role, sizeof t->role, true, why);
		if (!rc)
			rc = text_member(x, "zh", field, t->zh, sizeof t->zh, true, why);
		if (!rc)
			rc = text_member(x, "from_duty", field, t->from_duty, sizeof t->from_duty, false, why);
		if (!rc && !is_code(t->role))
			rc = refuse(why, field, "role 只能含小写字母、数字和下划线", "role may hold lower-case letters, digits and _ only");
		for (int k = 0; !rc && k < out->n - 1; k++)
			if (strcmp(out->m[k].role, t->role) == 0)
				rc = refuse(why, field, "role 重复", "role listed twice");
	}
	return rc;
}

int ctl_rule_total_days(const struct ctl_cat_rule *c)
{
	int total = 0;
	for (int i = 0; i < c->nphases; i++)
		total += c->phase[i].days;
	return total;
}

int ctl_rule_nat_days(const struct ctl_cat_rule *c, int *out, int max)
{
	int n = 0, base = 0;
	for (int i = 0; i < c->nphases; i++) {
		for (int k = 0; k < c->phase[i].nnat && n < max; k++)
			out[n++] = base + c->phase[i].nat[k];
		base += c->phase[i].days;
	}
	return n;
}

int ctl_rule_mode_on(const struct ctl_cat_rule *c, int day_no)
{
	int base = 0;
	for (int i = 0; i < c->nphases; i++) {
		base += c->phase[i].days;
		if (day_no <= base)
			return c->phase[i].mode;
	}
	return c->nphases ? c->phase[c->nphases - 1].mode : MODE_HOME_MONITORING;
}

const struct ctl_symptom *ctl_rules_symptom(const struct ctl_rules *rules, const char *s)
{
	for (int i = 0; i < rules->nsymptoms; i++)
		if (strcmp(rules->symptoms[i].code, s) == 0 || strcmp(rules->symptoms[i].zh, s) == 0)
			return &rules->symptoms[i];
	return NULL;
}
