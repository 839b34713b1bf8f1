/* The county's settings for control work: its default preset, how fast an
 * unhandled alert climbs the tree, how far a device's clock may drift, and
 * its time zone. Stored as rows (control_settings), read at most once a
 * second per process. */
#include "control/control_int.h"
#include "core/audit/audit.h"
#include "core/lib/err.h"
#include "core/lib/parse.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct ctl_settings cached;
static uint64_t cached_at_us;   /* 0: not loaded */

static uint64_t now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static void defaults(struct ctl_settings *s)
{
	memset(s, 0, sizeof *s);
	snprintf(s->default_preset, sizeof s->default_preset, "v9");
	s->escalate_seconds = 1800;
	s->clock_skew_seconds = 300;
}

static void apply(struct ctl_settings *s, const char *key, const char *value)
{
	int64_t v;
	bool num = wg_parse_i64(value, strlen(value), &v);
	if (strcmp(key, "default_preset") == 0)
		wg_copy_text(s->default_preset, sizeof s->default_preset, value);
	else if (num && strcmp(key, "alert_escalate_seconds") == 0)
		s->escalate_seconds = v;
	else if (num && strcmp(key, "device_clock_skew_seconds") == 0)
		s->clock_skew_seconds = v;
}

int ctl_settings_load(wg_conn *c, struct ctl_settings *out)
{
	wg_stmt *s;
	struct ctl_settings fresh;
	defaults(&fresh);
	int rc = store_query(c, "SELECT key, value FROM control_settings", NULL, 0, &s);
	if (rc)
		return rc;
	while ((rc = stmt_next(s)) == 1)
		apply(&fresh, stmt_text(s, 0), stmt_text(s, 1));
	stmt_done(s);
	if (rc < 0)
		return -rc;
	pthread_mutex_lock(&lock);
	cached = fresh;
	cached_at_us = now_us();
	pthread_mutex_unlock(&lock);
	if (out)
		*out = fresh;
	return 0;
}

int ctl_settings_get(wg_req *r, struct ctl_settings *out)
{
	pthread_mutex_lock(&lock);
	bool fresh = cached_at_us && now_us() - cached_at_us < 1000000u;
	if (fresh)
		*out = cached;
	pthread_mutex_unlock(&lock);
	if (fresh)
		return 0;
	int rc = ctl_settings_load(r->db, out);
	return rc ? req_fail(r, rc, NULL, NULL, NULL) : 0;
}

static json_t *settings_json(const struct ctl_settings *s)
{
	return json_pack("{s:s, s:I, s:I}", "default_preset", s->default_preset,
			 "alert_escalate_seconds", (json_int_t)s->escalate_seconds,
			 "device_clock_skew_seconds", (json_int_t)s->clock_skew_seconds);
}

/* GET /api/v1/control/settings */
int ctl_settings_show(wg_req *r)
{
	struct ctl_settings s;
	if (ctl_settings_get(r, &s))
		return r->fail.code;
	return req_reply(r, 200, settings_json(&s));
}

static int set_row(wg_req *r, const char *key, const char *value)
{
	wg_param p[] = { WG_PTEXT(value), WG_PINT(r->now), WG_PINT(r->user->id), WG_PTEXT(key) };
	int rc = store_run(r->db, "UPDATE control_settings SET value = ?, updated_at = ?, updated_by = ? WHERE key = ?", p, 4);
	return rc ? req_fail(r, rc, NULL, NULL, NULL) : 0;
}

static int set_int(wg_req *r, const char *key, int64_t min, int64_t max)
{
	json_t *v = json_object_get(r->body, key);
	if (!v)
		return 0;
	if (!json_is_integer(v) || json_integer_value(v) < min || json_integer_value(v) > max)
		return req_failf(r, WG_ERR_VALIDATION, key, "%s 应为 %lld 到 %lld 之间的整数", "%s must be an integer from %lld to %lld",
				 key, (long long)min, (long long)max, key, (long long)min, (long long)max);
	char text[WG_I64_DIGITS + 1];
	text[wg_format_i64(text, json_integer_value(v))] = '\0';
	return set_row(r, key, text);
}

/* PATCH /api/v1/control/settings {default_preset?, alert_escalate_seconds?, device_clock_skew_seconds?}
 * (days and times follow the server's time_zone, wangge.conf) */
int ctl_settings_patch(wg_req *r)
{
	static const char *const allowed[] = { "default_preset", "alert_escalate_seconds", "device_clock_skew_seconds", NULL };
	const char *preset = NULL;
	int64_t version_id;
	int number;
	if (req_check_body(r, allowed) || ctl_body_text(r, "default_preset", CTL_MAX_CODE, false, &preset))
		return r->fail.code;
	if (preset && (ctl_preset_active(r, preset, "default_preset", &version_id, &number) ||
		       set_row(r, "default_preset", preset)))
		return r->fail.code;
	if (set_int(r, "alert_escalate_seconds", 1, CTL_MAX_ESCALATE_SECONDS) || set_int(r, "device_clock_skew_seconds", 10, 86400))
		return r->fail.code;
	struct ctl_settings s;
	int rc = ctl_settings_load(r->db, &s);
	if (rc)
		return req_fail(r, rc, NULL, NULL, NULL);
	if (audit_req(r, "update", "control_settings", 0, r->user->scope_path, r->body))
		return r->fail.code;
	return req_reply(r, 200, settings_json(&s));
}
