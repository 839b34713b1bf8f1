/* The route registry: tables added by each domain at start-up, matched in order. */
#include "core/http/http.h"
#include "core/lib/err.h"
#include "core/lib/limits.h"
#include "core/lib/mem.h"

#include <string.h>

#define ROUTER_MAX WG_MAX_ROUTES

static const struct wg_route *routes[ROUTER_MAX];
/* The first byte where patterns begin to differ ("/api/v1/x…" at 8), and
 * each pattern's byte there: most routes are passed over on one compare. */
#define ROUTER_KEY_AT 8
static char route_key[ROUTER_MAX];
static int nroutes;

int router_add(const struct wg_route *table, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (nroutes == ROUTER_MAX)
			return WG_ERR_TOO_LARGE;
		/* Only a literal prefix fixes where the key byte falls in a path. */
		const char *p = table[i].pattern;
		bool literal = strnlen(p, ROUTER_KEY_AT + 1) > ROUTER_KEY_AT && !memchr(p, '{', ROUTER_KEY_AT);
		route_key[nroutes] = literal ? p[ROUTER_KEY_AT] : '\0';
		routes[nroutes++] = &table[i];
	}
	return 0;
}

void router_reset(void) { nroutes = 0; }
int router_count(void) { return nroutes; }
const struct wg_route *router_get(int i) { return i >= 0 && i < nroutes ? routes[i] : NULL; }

/* Matches one pattern segment by segment; "{id}" takes a positive integer. */
static bool pattern_matches(const char *pat, const char *path, int64_t *id)
{
	int64_t found = 0;
	while (*pat && *path) {
		if (*pat == '{' && strncmp(pat, "{id}", 4) == 0) {
			int64_t v = 0;
			const char *start = path;
			while (*path >= '0' && *path <= '9') {
				if (__builtin_mul_overflow(v, 10, &v) || __builtin_add_overflow(v, *path - '0', &v))
					return false;
				path++;
			}
			if (path == start || v <= 0 || (*start == '0'))
				return false;
			found = v;
			pat += 4;
			continue;
		}
		if (*pat != *path)
			return false;
		pat++;
		path++;
	}
	if (*pat || *path)
		return false;
	*id = found;
	return true;
}

int router_match(const char *method, const char *path, int64_t *id, bool *method_mismatch)
{
	char key = strnlen(path, ROUTER_KEY_AT + 1) > ROUTER_KEY_AT ? path[ROUTER_KEY_AT] : '\0';
	*method_mismatch = false;
	for (int i = 0; i < nroutes; i++) {
		int64_t v = 0;
		/* A key of '{' or '\0' proves nothing: the whole pattern decides. */
		if (route_key[i] != key && route_key[i] != '{' && route_key[i] != '\0')
			continue;
		if (!pattern_matches(routes[i]->pattern, path, &v))
			continue;
		if (strcmp(routes[i]->method, method) != 0) {
			*method_mismatch = true;
			continue;
		}
		*id = v;
		return i;
	}
	return -1;
}
