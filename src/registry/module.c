/* The registry module: households and persons. */
#include "registry/registry_int.h"


extern const struct wg_migration wg_schema_registry[];

static const struct wg_route registry_routes[] = {
	{ "POST", "/api/v1/persons/{id}/merge", person_merge, &right_PERSON_WRITE, ROUTE_WRITE | ROUTE_JSON, NULL },
};

static const struct wg_counter registry_counters[] = {
	{ "households", "户数", "households", "households", "node_path", NULL, &right_PERSON_READ },
	{ "persons", "人数", "persons", "persons", "node_path", NULL, &right_PERSON_READ },
};

static int registry_declare(void)
{
	int rc = resource_register(&household_resource);
	return rc ? rc : resource_register(&person_resource);
}

const struct wg_module registry_module = {
	.name = "registry", .zh = "人口登记", .en = "registry",
	.rights = registry_rights,
	.routes = registry_routes, .nroutes = WG_COUNT(registry_routes),
	.migrations = wg_schema_registry,
	.declare = registry_declare,
	.demo = registry_demo,
	.counters = registry_counters, .ncounters = WG_COUNT(registry_counters),
};
