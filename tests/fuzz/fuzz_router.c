/* Fuzz target: request routing. Any method and path must either match a
 * route with a positive id or not match, never crash or read out of bounds. */
#include "core/http/http.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static int noop(wg_req *r) { (void)r; return 0; }

static const struct wg_route routes[] = {
	{ "GET",  "/api/v1/grids",               noop, NULL, 0, NULL },
	{ "GET",  "/api/v1/grids/{id}",          noop, NULL, 0, NULL },
	{ "POST", "/api/v1/grids/{id}/move",     noop, NULL, 0, NULL },
	{ "GET",  "/api/v1/grids/{id}/children", noop, NULL, 0, NULL },
	{ "GET",  "/healthz",                    noop, NULL, 0, NULL },
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int ready;
	if (!ready) {
		router_add(routes, sizeof routes / sizeof routes[0]);
		ready = 1;
	}
	/* First byte picks the method, the rest is the path (NUL-terminated copy). */
	static const char *const methods[] = { "GET", "POST", "PATCH", "DELETE", "PUT" };
	if (size == 0)
		return 0;
	char *path = malloc(size);
	if (!path)
		return 0;
	memcpy(path, data + 1, size - 1);
	path[size - 1] = '\0';
	int64_t id = -1;
	bool mismatch;
	int r = router_match(methods[data[0] % 5], path, &id, &mismatch);
	if (r >= 0) {
		const struct wg_route *rt = router_get(r);
		if (!rt || id < 0 || (strstr(rt->pattern, "{id}") && id <= 0))
			abort();
	}
	free(path);
	return 0;
}
