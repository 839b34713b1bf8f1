/* The tracing module: venues, scans, cases, contact lists and the queue
 * of contacts not yet located; the engine's CLI (`wangge trace`). */
#include "tracing/tracing_int.h"
#include "core/store/migrate.h"


extern const struct wg_migration wg_schema_tracing[];

static const struct wg_route tracing_routes[] = {
	{ "GET",  "/api/v1/contacts/unlocated",              locate_list,    &right_PERSON_READ,  0, NULL },
	{ "POST", "/api/v1/contacts/unlocated/{id}/resolve", locate_resolve, &right_PERSON_WRITE, ROUTE_WRITE | ROUTE_JSON, NULL },
	{ "GET",  "/api/v1/venues/{id}/qr.svg",   venue_qr,          &right_GRID_READ,   0, NULL },
	{ "GET",  "/api/v1/venues/{id}/qr.png",   venue_qr_png,      &right_GRID_READ,   0, NULL },
	{ "GET",  "/api/v1/venues/{id}/scans",    venue_scan_count,  &right_GRID_READ,   0, NULL },
	/* Stays go to the scan log, durable before the answer, not to the
	 * database: no transaction (one would hold SQLite's write lock across
	 * the log's fsync and queue every checkpoint behind one disk flush). */
	{ "POST", "/api/v1/scans",                scan_create,       &right_SCAN_WRITE,  ROUTE_JSON, NULL },
	{ "POST", "/api/v1/scans/import",         scans_import,      &right_TRACE_RUN,   ROUTE_UPLOAD, NULL },
	{ "GET",  "/api/v1/public/venue",         door_venue,        NULL, ROUTE_PUBLIC | ROUTE_LIMITED, NULL },
	{ "POST", "/api/v1/public/scans",         door_scan,         NULL, ROUTE_PUBLIC | ROUTE_LIMITED | ROUTE_JSON, NULL },
	{ "POST", "/api/v1/dwells",               dwell_create,      &right_TRACE_RUN,   ROUTE_JSON, NULL },
	{ "POST", "/api/v1/cases/{id}/trace",     case_trace,        &right_TRACE_RUN,   ROUTE_WRITE | ROUTE_JSON, NULL },
	{ "POST", "/api/v1/cases/trace",          cases_trace_batch, &right_TRACE_RUN,   ROUTE_WRITE | ROUTE_JSON, NULL },
	{ "GET",  "/api/v1/cases/{id}/contacts",  case_contacts,     &right_TRACE_RUN,   0, NULL },
	{ "POST", "/api/v1/cases/{id}/apply",     case_apply,        &right_TRACE_RUN,   ROUTE_WRITE | ROUTE_JSON, NULL },
	{ "GET",  "/api/v1/contacts",             contacts_handed,   &right_PERSON_READ, 0, NULL },
	{ "GET",  "/api/v1/contacts/export",      contacts_export,   &right_PERSON_READ, 0, NULL },
};

/* Cases where the case lives; contacts on the lists handed to the places
 * where they live (not those of a trace still waiting to be applied). */
static const struct wg_counter tracing_counters[] = {
	{ "cases", "病例", "cases", "cases", "node_path", NULL, &right_PERSON_READ },
	{ "contacts", "下发密接", "contacts handed over", "case_contacts", "node_path",
	  "community_id IS NOT NULL AND duplicate = 0 AND pending = 0", &right_PERSON_READ },
};

static const struct wg_command tracing_commands[] = {
	{ "trace", trace_cmd, "流调:密接、次密接、时空伴随 / contact tracing" },
};

static int tracing_declare(void)
{
	int rc = resource_register(&venue_resource);
	if (!rc)
		rc = resource_register(&case_resource);
	/* Tables outside the resource layer that it still looks after: the
	 * handed-over contacts move with their subtree; the subjects' phones
	 * are re-encrypted with a new key. */
	if (!rc)
		rc = resource_add_path_column("case_contacts", "node_path");
	if (!rc)
		rc = resource_add_secret_column("trace_subjects", "phone");
	return rc;
}

static int64_t retention_days(void) { return tracing_params()->retention_days; }

static const struct wg_parameter tracing_parameters[] = {
	{ "scan_retention_days", "tracing", "扫码与停留记录保留天数,到期自动删除(程序设定)",
	  "days scans and stays are kept before they are deleted (set by the program)", "days", retention_days },
};

const struct wg_module tracing_module = {
	.name = "tracing", .zh = "流调", .en = "contact tracing",
	.rights = tracing_rights,
	.routes = tracing_routes, .nroutes = WG_COUNT(tracing_routes),
	.commands = tracing_commands, .ncommands = WG_COUNT(tracing_commands),
	.migrations = wg_schema_tracing,
	.declare = tracing_declare,
	.start = tracing_start,
	.stop = tracing_stop,
	.demo = tracing_demo,
	.counters = tracing_counters, .ncounters = WG_COUNT(tracing_counters),
	.parameters = tracing_parameters, .nparameters = WG_COUNT(tracing_parameters),
};
