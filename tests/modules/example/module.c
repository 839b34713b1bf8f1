/* The example module: one resource, one route, one command, one demo
 * record, two rights and a migration; nothing of the platform edited. */
#include "example.h"
#include "core/app/module.h"
#include "core/lib/err.h"
#include "core/resource/resource.h"
#include "core/store/migrate.h"

#include <stdio.h>

extern const struct wg_migration wg_schema_example[];

static const struct wg_field example_fields[] = {
	{ "grid_id", FT_REF, FF_REQUIRED | FF_SCOPE | FF_FILTER, 0, 0, NULL, "所属网格", NULL, NULL, NULL },
	{ "name", FT_TEXT, FF_REQUIRED | FF_SEARCH, 1, 50, NULL, "名称", NULL, NULL, NULL },
};

static struct wg_resource example_resource = {
	.name = "examples", .table = "examples", .zh = "示例", .en = "example",
	.fields = example_fields, .nfields = WG_COUNT(example_fields),
	.path_column = "node_path", .read_right = &right_EXAMPLE_READ, .write_right = &right_EXAMPLE_WRITE,
};

/* GET /api/v1/examples/{id}/hello: a route of the module's own. */
static int example_hello(wg_req *r)
{
	json_t *item;
	char path[512];
	if (resource_load(r, &example_resource, r->id, &item, path, sizeof path))
		return r->fail.code;
	json_t *out = json_pack("{s:s, s:O}", "hello", "你好", "name", json_object_get(item, "name"));
	json_decref(item);
	return req_reply(r, 200, out);
}

static const struct wg_route example_routes[] = {
	{ "GET", "/api/v1/examples/{id}/hello", example_hello, &right_EXAMPLE_READ, 0, NULL },
};

/* wangge example: a command of the module's own. */
static int example_cmd(int argc, char **argv)
{
	(void)argv;
	printf("example module: %d argument(s) / 示例模块\n", argc - 1);
	return 0;
}

static const struct wg_command example_commands[] = {
	{ "example", example_cmd, "示例模块的命令 / the example module's command" },
};

static int example_declare(void)
{
	return resource_register(&example_resource);
}

static int example_demo(struct wg_demo *d)
{
	wg_stmt *s;
	wg_param p[] = { WG_PINT(d->scope[3]) };
	int rc = store_query(d->c, "SELECT path FROM grid_nodes WHERE id = ?", p, 1, &s);
	if (rc)
		return rc;
	rc = stmt_next(s);
	if (rc != 1) {
		stmt_done(s);
		return rc < 0 ? -rc : WG_ERR_NOT_FOUND;
	}
	char path[512];
	snprintf(path, sizeof path, "%s", stmt_text(s, 0));
	stmt_done(s);
	wg_param q[] = { WG_PINT(d->scope[3]), WG_PTEXT(path), WG_PTEXT("演示示例"), WG_PINT(d->now), WG_PINT(d->now) };
	return store_run(d->c, "INSERT INTO examples (grid_id, node_path, name, created_at, updated_at) VALUES (?, ?, ?, ?, ?)", q, 5);
}

const struct wg_module example_module = {
	.name = "example", .zh = "示例", .en = "example",
	.rights = example_rights,
	.routes = example_routes, .nroutes = WG_COUNT(example_routes),
	.commands = example_commands, .ncommands = WG_COUNT(example_commands),
	.migrations = wg_schema_example,
	.declare = example_declare,
	.demo = example_demo,
};
