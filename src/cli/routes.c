/* wangge routes: every route of every module and the right it needs. */
#include "cli/cli.h"
#include "core/http/http.h"
#include "core/lib/opts.h"
#include "core/platform.h"

#include <stdio.h>

int cmd_routes(int argc, char **argv)
{
	const char *pos[1];
	int npos;
	const struct wg_opt opts[] = { { 0 } };
	int rc = opts_parse(argc, argv, opts, pos, 0, &npos, "wangge routes");
	if (rc)
		return rc == 1 ? 0 : 2;
	if (platform_declare())
		return 1;
	for (int i = 0; i < router_count(); i++) {
		const struct wg_route *r = router_get(i);
		printf("%-7s %-36s %-14s %s%s%s%s\n", r->method, r->pattern,
		       r->flags & ROUTE_PUBLIC ? "public" : rbac_right_name(r->right),
		       r->flags & ROUTE_WRITE ? "write " : "", r->flags & ROUTE_JSON ? "json " : "",
		       r->flags & ROUTE_UPLOAD ? "upload" : "", r->flags & ROUTE_SCRAPE ? "token" : "");
	}
	platform_forget();
	return 0;
}
