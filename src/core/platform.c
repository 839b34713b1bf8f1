#include "core/platform.h"
#include "core/api/api.h"
#include "core/app/events.h"
#include "core/app/params.h"
#include "core/audit/audit.h"
#include "core/auth/auth.h"
#include "core/auth/roles.h"
#include "core/http/http.h"
#include "core/lib/err.h"
#include "core/lib/limits.h"
#include "core/lib/timefmt.h"
#include "core/resource/resource.h"

#include <stdbool.h>
#include <string.h>
#include <time.h>

extern const struct wg_migration wg_schema_core[];


/* The platform's own rights and migrations, as a module of their own. */
static const struct wg_module core_module = {
	.name = "core", .zh = "平台", .en = "platform",
	.rights = core_rights,
	.migrations = wg_schema_core,
};

static const struct wg_module *const core_modules[] = {
	&core_module, &metrics_api, &session_api, &twofactor_api, &sessions_api, &accounts_api, &roles_api, &jobs_api, &audit_api,
	&stats_api, &settings_api, &dict_api,
};

static bool declared;

void platform_each_module(void (*fn)(const struct wg_module *m, void *ctx), void *ctx)
{
	for (size_t i = 0; i < WG_COUNT(core_modules); i++)
		fn(core_modules[i], ctx);
	for (size_t i = 0; wg_modules[i]; i++)
		fn(wg_modules[i], ctx);
}

struct declare_run {
	int rc;
};

static void declare_one(const struct wg_module *m, void *ctx)
{
	struct declare_run *d = ctx;
	if (d->rc)
		return;
	if (m->rights)
		d->rc = rights_register(m->rights, m->name);
	if (!d->rc && m->declare)
		d->rc = m->declare();
	if (!d->rc && m->nroutes)
		d->rc = router_add(m->routes, m->nroutes);
	if (!d->rc && m->nlisteners)
		d->rc = events_listen(m->listeners, m->nlisteners);
	if (!d->rc && m->ncounters)
		d->rc = counters_add(m->counters, m->ncounters);
	if (d->rc)
		wg_error("module %s cannot be declared / 模块声明失败", m->name);
}

int platform_declare(void)
{
	if (declared)
		return 0;
	struct declare_run d = { 0 };
	size_t n = 0;
	for (; wg_modules[n]; n++)
		;
	if (n + WG_COUNT(core_modules) > WG_MAX_MODULES)
		return wg_error("more than %u modules / 模块过多", WG_MAX_MODULES), WG_ERR_TOO_LARGE;
	router_reset();
	events_reset();
	platform_each_module(declare_one, &d);
	if (!d.rc)
		d.rc = migrate_check(platform_schema());
	if (d.rc) {
		platform_forget();
		return d.rc;
	}
	declared = true;
	return 0;
}

void platform_forget(void)
{
	router_reset();
	events_reset();
	counters_reset();
	resource_release_all();
	rights_reset();
	rbac_release();
	declared = false;
}

const struct wg_schema *platform_schema(void)
{
	static const struct wg_migration *lists[WG_MAX_MODULES];
	static struct wg_schema schema = { lists, 0 };
	size_t n = 0;
	for (size_t i = 0; i < WG_COUNT(core_modules) && n < WG_MAX_MODULES; i++)
		if (core_modules[i]->migrations)
			lists[n++] = core_modules[i]->migrations;
	for (size_t i = 0; wg_modules[i] && n < WG_MAX_MODULES; i++)
		if (wg_modules[i]->migrations)
			lists[n++] = wg_modules[i]->migrations;
	schema.n = n;
	return &schema;
}

int platform_migrate(wg_store *st, int *applied)
{
	return migrate_up(st, platform_schema(), applied);
}

int platform_open(const char *data_dir, struct wg_app **app)
{
	int rc = platform_declare();
	if (rc)
		return rc;
	rc = app_open(data_dir, app);
	if (rc)
		return rc;
	wg_conn *c;
	int pending = 0, latest = 0;
	store_acquire((*app)->store, &c);
	rc = migrate_pending(c, platform_schema(), &pending, &latest);
	if (rc || pending) {
		store_release((*app)->store, c);
		app_close(*app);
		*app = NULL;
		return wg_error("the database schema lacks %d migration(s) (up to %d): run `wangge migrate --data %s`"
				" / 数据库结构需要升级", pending, latest, data_dir);
	}
	/* What the 参数设置 page set wins over wangge.conf. */
	rc = params_load(*app, c, true);
	store_release((*app)->store, c);
	/* Before any thread: the zone is process-wide. */
	if (!rc && !wg_time_zone_set((*app)->config.time_zone)) {
		wg_error("unknown time zone %s (install tzdata?) / 未知时区", (*app)->config.time_zone);
		rc = WG_ERR_USAGE;
	}
	if (rc) {
		app_close(*app);
		*app = NULL;
		return rc;
	}
	rc = platform_ready(*app);
	if (rc) {
		platform_close(*app);
		*app = NULL;
	}
	return rc;
}

int platform_ready(struct wg_app *app)
{
	wg_conn *c;
	store_acquire(app->store, &c);
	int rc = roles_sync(c, time(NULL));
	if (!rc)
		rc = roles_load(c);
	store_release(app->store, c);
	if (!rc && !app->sessions)
		rc = session_cache_create(&app->sessions);
	return rc ? wg_error("cannot load roles / 无法读取角色") : 0;
}

void platform_close(struct wg_app *app)
{
	if (!app)
		return;
	audit_queue_stop(app);
	session_cache_destroy(app->sessions);
	app->sessions = NULL;
	app_close(app);
}

static size_t started;

int platform_start(struct wg_app *app)
{
	/* A server keeps what rarely changes in memory, true to the store's changes. */
	int rc = store_watch_changes(app->store);
	if (!rc)
		rc = audit_queue_start(app);
	for (started = 0; !rc && wg_modules[started]; started++) {
		const struct wg_module *m = wg_modules[started];
		if (m->start && (rc = m->start(app)) != 0) {
			wg_error("module %s did not start / 模块启动失败", m->name);
			break;
		}
	}
	if (rc)
		platform_stop(app);
	return rc;
}

void platform_stop(struct wg_app *app)
{
	while (started > 0) {
		const struct wg_module *m = wg_modules[--started];
		if (m->stop)
			m->stop(app);
	}
	audit_queue_stop(app);
}

const struct wg_command *platform_command(const char *name)
{
	for (size_t i = 0; wg_modules[i]; i++)
		for (size_t k = 0; k < wg_modules[i]->ncommands; k++)
			if (strcmp(wg_modules[i]->commands[k].name, name) == 0)
				return &wg_modules[i]->commands[k];
	return NULL;
}

int platform_demo(struct wg_demo *d)
{
	for (size_t i = 0; wg_modules[i]; i++) {
		const struct wg_module *m = wg_modules[i];
		int rc = m->demo ? m->demo(d) : 0;
		if (rc)
			return wg_error("demo of module %s failed / 模块 %s 的演示数据生成失败", m->name, m->name), rc;
	}
	return 0;
}
