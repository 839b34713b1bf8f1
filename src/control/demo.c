/* The control module's share of `wangge demo`: an observation site with
 * rooms and its batches (Funing's 留察点: 6 batches, 19 people), a mass NAT
 * round over the demo community with a green-channel point, and, when the
 * registry has people in the demo county, control records of several
 * categories with their checks, a fever alert, an intake at the site and
 * samples in the round. The records are made as the command center would
 * make them over HTTP (the same handlers, in the demo's transaction), so the
 * counters, teams, history and audit are what the server would have. */
#include "control/control_int.h"
#include "core/lib/timefmt.h"
#include "core/auth/auth.h"
#include "core/lib/err.h"
#include "core/lib/parse.h"

#include <stdio.h>
#include <string.h>

struct demo {
	wg_req r;
	struct wg_principal who;
	int64_t site, room, batch, round, point;
};

/* Runs a handler of this module as the command center, with body as its request body. */
static int call(struct demo *x, int (*handler)(wg_req *), int64_t id, json_t *body, json_t **answer)
{
	wg_req *r = &x->r;
	memset(&r->fail, 0, sizeof r->fail);
	r->id = id;
	r->body = body;
	r->out = NULL;
	int rc = body ? handler(r) : WG_ERR_NOMEM;
	r->body = NULL;
	if (rc)
		wg_error("control demo: %s (%s) / %s", r->fail.en, r->fail.field, r->fail.zh);
	if (answer)
		*answer = r->out;
	else
		json_decref(r->out);
	r->out = NULL;
	json_decref(body);
	return rc;
}

static int create(struct demo *x, struct wg_resource *res, json_t *body, int64_t *id)
{
	char path[WG_MAX_GRID_PATH];
	wg_req *r = &x->r;
	int rc = !body ? WG_ERR_NOMEM
		: resource_validate(r, res, body, true) || (res->hooks.check && res->hooks.check(r, res, 0, body)) ||
		  resource_scope_of_new(r, res, body, path, sizeof path) || resource_insert(r, res, body, path, id) ||
		  (res->hooks.after_insert && res->hooks.after_insert(r, res, *id, body, path));
	if (rc)
		wg_error("control demo: %s %s (%s)", res->name, r->fail.en, r->fail.field);
	json_decref(body);
	return rc ? (r->fail.code ? r->fail.code : WG_ERR_NOMEM) : 0;
}

static int site(struct demo *x, const struct wg_demo *d)
{
	int rc = create(x, &ctl_site_resource, json_pack("{s:I, s:s, s:s, s:s, s:s}", "grid_id", (json_int_t)d->scope[1],
		"name", "临时医学留察点", "kind", "observation", "address", "镇卫生院东侧", "notes", "演示:6 批 19 人"), &x->site);
	json_t *rooms = json_array();
	for (int i = 1; !rc && rooms && i <= 12; i++) {
		char no[16];
		snprintf(no, sizeof no, "%d", 100 + i);
		json_array_append_new(rooms, json_pack("{s:s, s:i}", "room_no", no, "beds", 2));
	}
	if (!rc)
		rc = call(x, ctl_site_rooms_put, x->site, json_pack("{s:o}", "rooms", rooms), NULL);
	else
		json_decref(rooms);
	static const int expected[] = { 3, 4, 3, 2, 4, 3 };
	for (int b = 0; !rc && b < 6; b++) {
		json_t *out;
		rc = call(x, ctl_site_batch_create, x->site, json_pack("{s:I, s:s, s:i}", "arrived_at", (json_int_t)(d->now - (6 - b) * 86400),
			  "origin", "外地返乡人员", "expected", expected[b]), &out);
		if (!rc)
			x->batch = json_integer_value(json_object_get(out, "id"));
		json_decref(out);
	}
	char from[WG_DATE_TEXT], to[WG_DATE_TEXT];
	ctl_day_text(ctl_local_day(d->now) - 3, from);
	ctl_day_text(ctl_local_day(d->now) + 10, to);
	if (!rc)
		rc = call(x, ctl_site_staff_add, x->site, json_pack("{s:s, s:s, s:s, s:s}", "name", "临时党支部书记", "duty", "临时党支部书记",
			  "from", from, "to", to), NULL);
	if (!rc)
		rc = call(x, ctl_site_staff_add, x->site, json_pack("{s:s, s:s, s:s, s:s}", "name", "镇卫生院医生", "duty", "医护",
			  "from", from, "to", to), NULL);
	wg_param p[] = { WG_PINT(x->site) };
	return rc ? rc : store_int(x->r.db, "SELECT MIN(id) FROM control_site_rooms WHERE site_id = ?", p, 1, &x->room);
}

static int nat_round(struct demo *x, const struct wg_demo *d)
{
	char today[WG_DATE_TEXT], tomorrow[WG_DATE_TEXT], slot_from[WG_TIME_ISO], slot_to[WG_TIME_ISO];
	int64_t day = ctl_local_day(d->now);
	ctl_day_text(day, today);
	ctl_day_text(day + 1, tomorrow);
	wg_time_iso(ctl_day_start(day) + 7 * 3600, slot_from);
	wg_time_iso(ctl_day_start(day) + 19 * 3600, slot_to);
	int rc = create(x, &ctl_round_resource, json_pack("{s:I, s:s, s:s, s:s}", "grid_id", (json_int_t)d->scope[2], "name",
		"第一轮全员核酸检测", "date_from", today, "date_to", tomorrow), &x->round);
	json_t *out = NULL;
	if (!rc)
		rc = call(x, ctl_round_point_add, x->round, json_pack("{s:s, s:s, s:b, s:[{s:s, s:s, s:[I]}]}", "name", "社区广场采样点",
			  "address", "社区服务中心门前", "green_channel", 1, "slots", "from", slot_from, "to", slot_to,
			  "grid_ids", (json_int_t)d->scope[3]), &out);
	if (!rc)
		x->point = json_integer_value(json_object_get(out, "id"));
	json_decref(out);
	return rc;
}

struct person { int64_t id; char name[CTL_MAX_NAME_BYTES]; };

static int people(struct demo *x, const struct wg_demo *d, struct person *list, int max, int *n)
{
	char path[WG_MAX_GRID_PATH], lo[WG_MAX_GRID_PATH + 2], hi[WG_MAX_GRID_PATH + 2];
	wg_stmt *s;
	wg_param q[] = { WG_PINT(d->scope[3]) };
	*n = 0;
	int rc = store_query(x->r.db, "SELECT path FROM grid_nodes WHERE id = ?", q, 1, &s);
	if (rc)
		return rc;
	rc = stmt_next(s);
	if (rc == 1)
		wg_copy_text(path, sizeof path, stmt_text(s, 0));
	stmt_done(s);
	if (rc != 1)
		return rc < 0 ? -rc : WG_ERR_NOT_FOUND;
	size_t len = strlen(path);
	memcpy(lo, path, len + 1);
	memcpy(hi, path, len + 1);
	hi[len - 1] = '0';
	wg_param p[] = { WG_PTEXT(lo), WG_PTEXT(hi), WG_PINT(max) };
	if ((rc = store_query(x->r.db, "SELECT id, name FROM registry_people WHERE node_path >= ? AND node_path < ? ORDER BY id LIMIT ?",
			      p, 3, &s)))
		return rc;
	while ((rc = stmt_next(s)) == 1) {
		list[*n].id = stmt_int(s, 0);
		wg_copy_text(list[*n].name, sizeof list[*n].name, stmt_text(s, 1));
		(*n)++;
	}
	stmt_done(s);
	return rc < 0 ? -rc : 0;
}

static int records(struct demo *x, const struct wg_demo *d, const struct person *list, int n)
{
	static const struct { const char *category, *mode; int days_ago; } plan[] = {
		{ "close", NULL, 2 }, { "close", NULL, 1 }, { "secondary", NULL, 3 }, { "secondary", NULL, 0 },
		{ "spatiotemporal", NULL, 1 }, { "pushed", "home_isolation", 2 }, { "self_found", "home_monitoring", 0 },
	};
	int64_t today = ctl_local_day(d->now);
	int rc = 0;
	for (int i = 0; !rc && i < n && i < (int)WG_COUNT(plan); i++) {
		char start[WG_DATE_TEXT], end[WG_DATE_TEXT];
		ctl_day_text(today - plan[i].days_ago, start);
		ctl_day_text(today - plan[i].days_ago + 6, end);
		json_t *body = json_pack("{s:I, s:s, s:s, s:s}", "person_id", (json_int_t)list[i].id, "category", plan[i].category,
					 "start_date", start, "source", "演示数据 / demo");
		if (body && plan[i].mode) {
			json_object_set_new(body, "mode", json_string(plan[i].mode));
			json_object_set_new(body, "end_date", json_string(end));
		}
		int64_t id;
		memset(&x->r.fail, 0, sizeof x->r.fail);
		rc = body ? ctl_open_record(&x->r, body, 0, &id) : WG_ERR_NOMEM;
		json_decref(body);
		if (rc) {
			wg_error("control demo: %s (%s)", x->r.fail.en, x->r.fail.field);
			break;
		}
		/* Today's morning round: one person has a fever (an alert), the central ones also give a sample. */
		bool central = i < 2;
		json_t *check = json_pack("{s:I, s:f}", "at", (json_int_t)(ctl_day_start(today) + 8 * 3600), "temperature", i == 2 ? 38.1 : 36.5);
		if (check && central)
			json_object_set_new(check, "nat_sampled", json_true());
		if (ctl_day_start(today) + 8 * 3600 > d->now)
			json_object_set_new(check, "at", json_integer(d->now));
		rc = call(x, ctl_check_create, id, check, NULL);
		if (!rc && central)
			rc = call(x, ctl_site_intake, x->site, json_pack("{s:I, s:I, s:I}", "control_id", (json_int_t)id, "room_id",
				  (json_int_t)(x->room + i), "batch_id", (json_int_t)x->batch), NULL);
	}
	/* Half of the grid has been sampled in the round so far. */
	for (int i = 0; !rc && i < n; i += 2) {
		char code[48];
		snprintf(code, sizeof code, "WG-PERSON:%lld", (long long)list[i].id);
		rc = call(x, ctl_round_sample, x->round, json_pack("{s:s, s:I, s:s}", "code", code, "point_id", (json_int_t)x->point,
			  "channel", i % 4 ? "normal" : "green"), NULL);
	}
	return rc;
}

int ctl_demo(struct wg_demo *d)
{
	struct demo x = { .r = { .app = d->app, .db = d->c, .now = d->now, .address = "" } };
	struct person list[12];
	int n = 0;
	wg_stmt *s;
	wg_param p[] = { WG_PINT(d->root) };
	int rc = ctl_settings_load(d->c, NULL);
	if (!rc)
		rc = store_query(d->c, "SELECT path FROM grid_nodes WHERE id = ?", p, 1, &s);
	if (rc)
		return rc;
	if ((rc = stmt_next(s)) == 1)
		wg_copy_text(x.who.scope_path, sizeof x.who.scope_path, stmt_text(s, 0));
	stmt_done(s);
	if (rc != 1)
		return rc < 0 ? -rc : WG_ERR_NOT_FOUND;
	x.who.scope_node_id = d->root;
	x.who.role = rbac_role("command");
	wg_copy_text(x.who.username, sizeof x.who.username, "command");
	if ((rc = store_int(d->c, "SELECT id FROM users WHERE username = 'command'", NULL, 0, &x.who.id)))
		return rc;
	if (!x.who.role)
		return wg_error("control demo: the role command is not loaded / 未载入角色 command"), WG_ERR_INTERNAL;
	x.r.user = &x.who;
	arena_init(&x.r.arena, 1u << 20);
	rc = site(&x, d);
	if (!rc)
		rc = nat_round(&x, d);
	if (!rc)
		rc = people(&x, d, list, (int)WG_COUNT(list), &n);
	if (!rc && n == 0)
		printf("control demo: a site with 12 rooms and 6 batches, a NAT round over the demo community; the registry has nobody "
		       "in the demo grid yet, so no control records, checks, alerts or samples / 演示登记人员尚未导入,未生成管控记录\n");
	else if (!rc && !(rc = records(&x, d, list, n)))
		printf("control demo: a site, a NAT round, %d control records with checks, an alert and samples / 管控演示数据已生成\n",
		       n < 7 ? n : 7);
	arena_release(&x.r.arena);
	return rc;
}
