#include "core/http/headers.h"

#include <stddef.h>
#include <string.h>
#include <strings.h>

const char *http_bearer_token(const char *a)
{
	if (!a || strncasecmp(a, "Bearer", 6) != 0 || a[6] != ' ')
		return NULL;
	a += 6;
	while (*a == ' ')
		a++;
	return *a ? a : NULL;
}

bool http_media_type_is(const char *ct, const char *type)
{
	size_t n = strlen(type);
	if (!ct)
		return false;
	while (*ct == ' ' || *ct == '\t')
		ct++;
	if (strncasecmp(ct, type, n) != 0)
		return false;
	ct += n;
	while (*ct == ' ' || *ct == '\t')
		ct++;
	return *ct == '\0' || *ct == ';';
}

/* Whether the n bytes at s equal the NUL-terminated t, without case. */
static bool equal_nocase(const char *s, size_t n, const char *t)
{
	return strlen(t) == n && strncasecmp(s, t, n) == 0;
}

/* Whether the origin (n bytes) is one of the space-separated list. */
static bool listed(const char *origin, size_t n, const char *list)
{
	while (list && *list) {
		while (*list == ' ')
			list++;
		size_t k = strcspn(list, " ");
		if (k && k == n && strncasecmp(list, origin, n) == 0)
			return true;
		list += k;
	}
	return false;
}

enum http_site http_request_site(const char *fetch_site, const char *origin, const char *host, const char *allowed)
{
	if (fetch_site) {
		size_t n = strlen(fetch_site);
		return equal_nocase(fetch_site, n, "same-origin") || equal_nocase(fetch_site, n, "none")
			? HTTP_SITE_SAME : HTTP_SITE_CROSS;
	}
	if (!origin)
		return HTTP_SITE_UNKNOWN;
	size_t n = strlen(origin);
	while (n > 0 && origin[n - 1] == ' ')
		n--;
	if (listed(origin, n, allowed))
		return HTTP_SITE_SAME;
	/* scheme "://" host [":" port], nothing after it */
	const char *sep = strstr(origin, "://");
	if (!sep || (size_t)(sep - origin) >= n)
		return HTTP_SITE_CROSS;
	const char *authority = sep + 3;
	size_t an = n - (size_t)(authority - origin);
	if (an == 0 || memchr(authority, '/', an) || memchr(authority, '@', an) || !host)
		return HTTP_SITE_CROSS;
	return equal_nocase(authority, an, host) ? HTTP_SITE_SAME : HTTP_SITE_CROSS;
}
