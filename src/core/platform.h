/* The platform: core's own modules and the domains' (src/modules.c),
 * declared, opened, started, stopped and migrated in one place. Everything
 * that loops over the modules is here; nothing here names one. */
#ifndef WG_PLATFORM_H
#define WG_PLATFORM_H

#include "core/app/app.h"
#include "core/app/module.h"
#include "core/store/migrate.h"

/* Registers the rights, resources and routes of every module (once per
 * process; again after platform_forget). */
int  platform_declare(void);
void platform_forget(void);
/* Every module's migrations. */
const struct wg_schema *platform_schema(void);
int  platform_migrate(wg_store *st, int *applied);
/* Opens DIR for requests: declared modules, a current schema (else an error
 * naming `wangge migrate`), the roles in force, the session cache. */
int  platform_open(const char *data_dir, struct wg_app **app);
void platform_close(struct wg_app *app);
/* For an app opened with app_open on a current schema (init): the roles in
 * force and the session cache, as platform_open makes them. */
int  platform_ready(struct wg_app *app);
/* What the server runs beside requests: the audit queue, each module's start (in order). */
int  platform_start(struct wg_app *app);
void platform_stop(struct wg_app *app);   /* in reverse order; flushes the audit queue */
/* The CLI command of some module with this name, NULL if none. */
const struct wg_command *platform_command(const char *name);
/* Calls fn for every module (core's first), in order. */
void platform_each_module(void (*fn)(const struct wg_module *m, void *ctx), void *ctx);
/* Runs every module's demo, in order. */
int  platform_demo(struct wg_demo *d);

#endif
