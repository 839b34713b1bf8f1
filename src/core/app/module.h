/* A module: one domain (grid, registry, tracing, …) as the platform sees it.
 *
 * A domain is a folder under src/ and one line in src/modules.c. Its folder
 * holds module.c, which fills in a struct wg_module:
 *
 *   rights      its rights, declared in rights.def (core/auth/rbac.h) and
 *               defined in rights.c
 *   routes      its route table (core/http/http.h); resources add theirs
 *               when declared
 *   commands    CLI subcommands it adds to `wangge`
 *   migrations  its schema/<dialect>/NNNN_name.sql files, embedded at build
 *               time as wg_schema_<module>; numbers are global across
 *               modules, and each is applied once (schema_version)
 *   declare     registers its resources and the columns it adds to what the
 *               generic layer maintains (resource.h); runs in every process
 *               that serves or answers requests, before routes are matched
 *   start/stop  what the server runs beside requests (stores, threads)
 *   demo        what `wangge demo` adds to the demo county, in module order
 *   listeners   what it does when an earlier module announces an event
 *               (core/app/events.h: "case_applied" …), in that request's
 *               transaction
 *   counters    what the dashboard counts under each place (households,
 *               persons, cases …): rows of one of its tables or views
 *               whose node path lies in the place's subtree
 *   parameters  the settings it runs with, for the administrator's
 *               参数设置 page (read-only)
 *
 * The platform loops over the list; nothing in core names a module. */
#ifndef WG_MODULE_H
#define WG_MODULE_H

#include "core/store/store.h"

#include <stddef.h>
#include <stdint.h>

struct wg_app;
struct wg_right;
struct wg_route;
struct wg_migration;
struct wg_listener;

struct wg_command {
	const char *name;
	int (*run)(int argc, char **argv);   /* argv[0] is the command's name; 0 ok, 1 failure, 2 usage */
	const char *help;                    /* "中文 / English" */
};

/* What `wangge demo` hands from module to module: one transaction for the
 * whole demo, the options, and what earlier modules made for later ones. */
struct wg_demo {
	struct wg_app *app;
	wg_conn *c;
	int64_t now;
	uint64_t seed;
	const char *county;        /* 6-digit county code */
	uint64_t persons;          /* size of the synthetic population (0: places and accounts only) */
	int64_t root;              /* the county's node */
	int64_t scope[5];          /* demo scopes: county, street, community, grid, building */
};

/* One figure of GET /api/v1/stats/children: COUNT(*) FROM `from` WHERE its
 * path column is in the subtree [AND where]. Shown to roles with `right`. */
struct wg_counter {
	const char *name;          /* the answer's key: "persons" */
	const char *zh, *en;
	const char *from;          /* a table or view of the module */
	const char *path_column;   /* "node_path"; indexed */
	const char *where;         /* an extra condition without parameters, or NULL */
	const struct wg_right *right;
};

/* A setting a module runs with, shown (read-only) by GET /api/v1/parameters
 * beside wangge.conf's, e.g. how long scans are kept. */
struct wg_parameter {
	const char *key, *group;   /* group: where the page lists it ("tracing") */
	const char *zh, *en;
	const char *unit;          /* "days", "seconds", "count" or "" */
	int64_t (*value)(void);
};

struct wg_module {
	const char *name;          /* "grid": also its folder and its schema's array name */
	const char *zh, *en;
	struct wg_right *const *rights;          /* NULL-terminated (rights.c) */
	const struct wg_route *routes;
	size_t nroutes;
	const struct wg_command *commands;
	size_t ncommands;
	const struct wg_migration *migrations;   /* ends with a zeroed entry; may be NULL */
	int  (*declare)(void);
	int  (*start)(struct wg_app *app);
	void (*stop)(struct wg_app *app);
	int  (*demo)(struct wg_demo *d);
	const struct wg_listener *listeners;
	size_t nlisteners;
	const struct wg_counter *counters;
	size_t ncounters;
	const struct wg_parameter *parameters;
	size_t nparameters;
};

#define WG_COUNT(a) (sizeof (a) / sizeof (a)[0])

/* Every module's counters, in module order (counters.c; the platform adds
 * them when it declares the modules). */
int    counters_add(const struct wg_counter *c, size_t n);
size_t counters_count(void);
const struct wg_counter *counter_at(size_t i);
void   counters_reset(void);

/* The domain modules, in dependency order, NULL-terminated (src/modules.c). */
extern const struct wg_module *const wg_modules[];

#endif
