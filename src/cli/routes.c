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
		char flags[64];
		snprintf(flags, sizeof flags, "%s%s%s%s%s", r->flags & ROUTE_WRITE ? " write" : "", r->flags & ROUTE_JSON ? " json" : "",
			 r->flags & ROUTE_UPLOAD ? " upload" : "", r->flags & ROUTE_LIMITED ? " limited" : "",
			 r->flags & ROUTE_SCRAPE ? " token" : "");
		const char *right = r->flags & ROUTE_PUBLIC ? "public" : rbac_right_name(r->right);
		if (flags[0])
			printf("%-7s %-36s %-14s%s\n", r->method, r->pattern, right, flags);
		else
			printf("%-7s %-36s %s\n", r->method, r->pattern, right);
	}
	platform_forget();
	return 0;
}
