/* The control module: control records, checks and alerts, release and
 * transfer, isolation sites, door sensors, mass NAT rounds, roll-ups, and
 * the versioned configuration (presets, team shapes) they follow. */
#include "control/control_int.h"
#include "core/app/events.h"
#include "core/lib/err.h"
#include "core/lib/opts.h"
#include "core/app/app.h"
#include "core/store/migrate.h"

#include <stdio.h>
#include <string.h>

extern const struct wg_migration wg_schema_control[];

#define W (ROUTE_WRITE | ROUTE_JSON)
#define P ctl_kind_preset
#define T ctl_kind_team_shape

static const struct wg_route control_routes[] = {
	{ "GET",   "/api/v1/control/settings",           ctl_settings_show,   &right_CONTROL_READ,     0, NULL },
	{ "PATCH", "/api/v1/control/settings",           ctl_settings_patch,  &right_CONTROL_CONFIG,   W, NULL },
	{ "GET",   "/api/v1/presets",                    ctl_config_list,     &right_CONTROL_READ,     ROUTE_SNAPSHOT, P },
	{ "POST",  "/api/v1/presets",                    ctl_config_create,   &right_CONTROL_CONFIG,   W, P },
	{ "GET",   "/api/v1/presets/{id}",               ctl_config_get,      &right_CONTROL_READ,     0, P },
	{ "PUT",   "/api/v1/presets/{id}",               ctl_config_put,      &right_CONTROL_CONFIG,   W, P },
	{ "GET",   "/api/v1/presets/{id}/versions",      ctl_config_versions, &right_CONTROL_READ,     ROUTE_SNAPSHOT, P },
	{ "GET",   "/api/v1/team-shapes",                ctl_config_list,     &right_CONTROL_READ,     ROUTE_SNAPSHOT, T },
	{ "POST",  "/api/v1/team-shapes",                ctl_config_create,   &right_CONTROL_CONFIG,   W, T },
	{ "GET",   "/api/v1/team-shapes/{id}",           ctl_config_get,      &right_CONTROL_READ,     0, T },
	{ "PUT",   "/api/v1/team-shapes/{id}",           ctl_config_put,      &right_CONTROL_CONFIG,   W, T },
	{ "GET",   "/api/v1/team-shapes/{id}/versions",  ctl_config_versions, &right_CONTROL_READ,     ROUTE_SNAPSHOT, T },
	{ "GET",   "/api/v1/controls/rollup",            ctl_rollup,          &right_CONTROL_READ,     ROUTE_SNAPSHOT, NULL },
	{ "GET",   "/api/v1/controls/rollup/export",     ctl_rollup_export,   &right_CONTROL_READ,     ROUTE_SNAPSHOT, NULL },
	{ "GET",   "/api/v1/controls/{id}/conditions",   ctl_conditions,      &right_CONTROL_READ,     ROUTE_SNAPSHOT, NULL },
	{ "GET",   "/api/v1/controls/{id}/history",      ctl_history_list,    &right_CONTROL_READ,     ROUTE_SNAPSHOT, NULL },
	{ "PUT",   "/api/v1/controls/{id}/team",         ctl_team_put,        &right_CONTROL_WRITE,    W, NULL },
	{ "POST",  "/api/v1/controls/{id}/release",      ctl_release,         &right_CONTROL_RELEASE,  W, NULL },
	{ "POST",  "/api/v1/controls/{id}/transfer",     ctl_transfer,        &right_CONTROL_WRITE,    W, NULL },
	{ "POST",  "/api/v1/controls/{id}/close",        ctl_close,           &right_CONTROL_WRITE,    W, NULL },
	{ "GET",   "/api/v1/controls/{id}/checks",       ctl_check_list,      &right_CONTROL_READ,     ROUTE_SNAPSHOT, NULL },
	{ "POST",  "/api/v1/controls/{id}/checks",       ctl_check_create,    &right_CONTROL_CHECK,    W, NULL },
	{ "GET",   "/api/v1/checks",                     ctl_checks_day,      &right_CONTROL_READ,     ROUTE_SNAPSHOT, NULL },
	{ "GET",   "/api/v1/checks/export",              ctl_checks_export,   &right_CONTROL_READ,     ROUTE_SNAPSHOT, NULL },
	{ "POST",  "/api/v1/checks/{id}/result",         ctl_check_result,    &right_CONTROL_CHECK,    W, NULL },
	{ "GET",   "/api/v1/alerts",                     ctl_alert_list,      &right_CONTROL_READ,     ROUTE_SNAPSHOT, NULL },
	{ "GET",   "/api/v1/alerts/export",              ctl_alert_export,    &right_CONTROL_READ,     ROUTE_SNAPSHOT, NULL },
	{ "GET",   "/api/v1/alerts/{id}",                ctl_alert_get,       &right_CONTROL_READ,     0, NULL },
	{ "POST",  "/api/v1/alerts/{id}/handle",         ctl_alert_handle,    &right_CONTROL_CHECK,    W, NULL },
	{ "POST",  "/api/v1/alerts/{id}/close",          ctl_alert_close,     &right_CONTROL_WRITE,    W, NULL },
	{ "GET",   "/api/v1/worklist",                   ctl_worklist,        &right_CONTROL_READ,     ROUTE_SNAPSHOT, NULL },
	{ "GET",   "/api/v1/sites/{id}/rooms",           ctl_site_rooms,      &right_SITE_READ,        ROUTE_SNAPSHOT, NULL },
	{ "PUT",   "/api/v1/sites/{id}/rooms",           ctl_site_rooms_put,  &right_SITE_WRITE,       W, NULL },
	{ "GET",   "/api/v1/sites/{id}/batches",         ctl_site_batches,    &right_SITE_READ,        ROUTE_SNAPSHOT, NULL },
	{ "POST",  "/api/v1/sites/{id}/batches",         ctl_site_batch_create, &right_SITE_WRITE,     W, NULL },
	{ "GET",   "/api/v1/sites/{id}/stays",           ctl_site_stays,      &right_SITE_READ,        ROUTE_SNAPSHOT, NULL },
	{ "POST",  "/api/v1/sites/{id}/stays",           ctl_site_intake,     &right_SITE_WRITE,       W, NULL },
	{ "POST",  "/api/v1/stays/{id}/discharge",       ctl_stay_discharge,  &right_SITE_WRITE,       W, NULL },
	{ "GET",   "/api/v1/sites/{id}/staff",           ctl_site_staff,      &right_SITE_READ,        ROUTE_SNAPSHOT, NULL },
	{ "POST",  "/api/v1/sites/{id}/staff",           ctl_site_staff_add,  &right_SITE_WRITE,       W, NULL },
	{ "GET",   "/api/v1/sites/{id}/occupancy",       ctl_site_occupancy,  &right_SITE_READ,        ROUTE_SNAPSHOT, NULL },
	{ "GET",   "/api/v1/nat-rounds/{id}/points",     ctl_round_points,    &right_NAT_READ,         0, NULL },
	{ "POST",  "/api/v1/nat-rounds/{id}/points",     ctl_round_point_add, &right_NAT_WRITE,        W, NULL },
	/* Not ROUTE_WRITE: the handler reads in no transaction, then its sample is
	 * committed with others in the writer's (sample_writer.c) before it answers. */
	{ "POST",  "/api/v1/nat-rounds/{id}/samples",    ctl_round_sample,    &right_NAT_SAMPLE,       ROUTE_JSON, NULL },
	{ "GET",   "/api/v1/nat-rounds/{id}/progress",   ctl_round_progress,  &right_NAT_READ,         ROUTE_SNAPSHOT, NULL },
	/* A list of people by name and address: who may read persons. */
	{ "GET",   "/api/v1/nat-rounds/{id}/unsampled",  ctl_round_unsampled, &right_PERSON_READ,      ROUTE_SNAPSHOT, NULL },
	{ "POST",  "/api/v1/nat-rounds/{id}/refresh",    ctl_round_refresh,   &right_NAT_WRITE,        ROUTE_WRITE, NULL },
	{ "GET",   "/api/v1/devices",                    ctl_device_list,     &right_CONTROL_READ,     ROUTE_SNAPSHOT, NULL },
	{ "POST",  "/api/v1/devices",                    ctl_device_create,   &right_DEVICE_WRITE,     W, NULL },
	{ "POST",  "/api/v1/devices/{id}/retire",        ctl_device_retire,   &right_DEVICE_WRITE,     W, NULL },
	{ "GET",   "/api/v1/devices/{id}/events",        ctl_device_events,   &right_CONTROL_READ,     ROUTE_SNAPSHOT, NULL },
	{ "GET",   "/api/v1/devices/consents",           ctl_consent_list,    &right_CONTROL_READ,     ROUTE_SNAPSHOT, NULL },
	{ "POST",  "/api/v1/devices/consents",           ctl_consent_create,  &right_DEVICE_WRITE,     W, NULL },
	{ "POST",  "/api/v1/devices/consents/{id}/withdraw", ctl_consent_withdraw, &right_DEVICE_WRITE, W, NULL },
	/* Signed by the device itself (HMAC), not by a signed-in user. */
	{ "POST",  "/api/v1/devices/events",             ctl_device_event,    NULL,                    ROUTE_PUBLIC | ROUTE_WRITE, NULL },
};

#undef W
#undef P
#undef T

/* wangge control recount [--data DIR]: the counters of every node counted again from the records. */
static int control_cmd(int argc, char **argv)
{
	const char *data = "data", *pos[1];
	int npos;
	const struct wg_opt opts[] = {
		{ "--data", "DIR", &data, NULL, "数据目录 / data directory (default ./data)" },
		{ 0 },
	};
	static const char usage[] = "wangge control recount [--data DIR]";
	int rc = opts_parse(argc, argv, opts, pos, 1, &npos, usage);
	if (rc)
		return rc == 1 ? 0 : 2;
	if (npos != 1 || strcmp(pos[0], "recount") != 0) {
		opts_usage(usage, opts, stderr);
		return 2;
	}
	struct wg_app *app;
	if (app_open(data, &app))
		return 1;
	wg_conn *c;
	int64_t records = 0;
	store_acquire(app->store, &c);
	rc = ctl_settings_load(c, NULL);
	if (!rc)
		rc = store_begin(c);
	if (!rc) {
		rc = ctl_recount(c, &records);
		rc = rc ? (store_rollback(c), rc) : store_commit(c);
	}
	store_release(app->store, c);
	app_close(app);
	if (rc)
		return wg_error("recount failed: %s / 重新统计失败", wg_err_en(rc)), 1;
	printf("control: %lld records counted again / 已重新统计 %lld 条管控记录\n", (long long)records, (long long)records);
	return 0;
}

static const struct wg_command control_commands[] = {
	{ "control", control_cmd, "管控名单:重新统计(recount) / control lists: count the roll-ups again" },
};

static int control_declare(void)
{
	int rc = resource_register(&ctl_control_resource);
	if (!rc)
		rc = resource_register(&ctl_site_resource);
	if (!rc)
		rc = resource_register(&ctl_round_resource);
	/* Tables beside the resources whose rows move with their subtree. */
	static const char *const pathed[] = { "control_checks", "control_alerts", "control_site_stays", "control_nat_samples",
					      "control_nat_nodes", "control_consents", "control_devices" };
	for (size_t i = 0; !rc && i < WG_COUNT(pathed); i++)
		rc = resource_add_path_column(pathed[i], "node_path");
	/* The devices' HMAC keys are secrets: re-encrypted when the keys rotate. */
	if (!rc)
		rc = resource_add_secret_column("control_devices", "device_key");
	return rc;
}

static int control_start(struct wg_app *app)
{
	/* The county's time zone before the first request: every answer twins its times. */
	wg_conn *c;
	store_acquire(app->store, &c);
	int rc = ctl_settings_load(c, NULL);
	store_release(app->store, c);
	return rc ? rc : ctl_sample_writer_start(app);
}

static void control_stop(struct wg_app *app)
{
	(void)app;
	ctl_sample_writer_stop();
}

static const char *const apply_options[] = { "open_controls", NULL };

static const struct wg_listener control_listeners[] = {
	{ "case_applied", ctl_on_case_applied, apply_options },
};

const struct wg_module control_module = {
	.name = "control", .zh = "管控名单", .en = "control lists",
	.rights = control_rights,
	.routes = control_routes, .nroutes = WG_COUNT(control_routes),
	.commands = control_commands, .ncommands = WG_COUNT(control_commands),
	.migrations = wg_schema_control,
	.declare = control_declare,
	.start = control_start,
	.stop = control_stop,
	.demo = ctl_demo,
	.listeners = control_listeners, .nlisteners = WG_COUNT(control_listeners),
};
