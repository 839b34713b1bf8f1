/* Scope: where a user may act. Every record carries the materialized path of
 * its grid node ("/1/7/42/"); a user's scope is the path of their scope node.
 * Inside the scope = the record's path starts with the scope path, which SQL
 * answers as the range [path, path with its last '/' replaced by '0') — an
 * index range scan on both SQLite and PostgreSQL ('0' follows '/'). */
#ifndef WG_SCOPE_H
#define WG_SCOPE_H

#include <stdbool.h>
#include <stddef.h>
#include <string.h>

static inline bool scope_contains(const char *scope_path, const char *path)
{
	size_t n = strlen(scope_path);
	return n > 0 && strncmp(scope_path, path, n) == 0;
}

/* lo = path, hi = the first string after every path below it. */
static inline void scope_range(const char *path, char *lo, char *hi, size_t size)
{
	size_t n = strlen(path);
	if (n + 1 > size)
		n = size - 1;
	memcpy(lo, path, n);
	lo[n] = '\0';
	memcpy(hi, path, n);
	hi[n] = '\0';
	if (n > 0 && hi[n - 1] == '/')
		hi[n - 1] = '0';
}

#endif
