/* Request headers read with care: the bearer token of an Authorization
 * header, a Content-Type's media type, and whether a write comes from the
 * site itself (Origin, Sec-Fetch-Site). Pure functions on NUL-terminated
 * text: no request, no allocation (fuzzed: tests/fuzz/fuzz_headers.c). */
#ifndef WG_HTTP_HEADERS_H
#define WG_HTTP_HEADERS_H

#include <stdbool.h>

/* The token of "Bearer <token>" (the scheme in any case, RFC 9110 §11.1,
 * then one or more spaces); NULL for any other scheme or no token. */
const char *http_bearer_token(const char *authorization);

/* Whether a Content-Type header names the media type `type` (lower case),
 * in any case, alone or followed by parameters ("application/json;
 * charset=utf-8"). NULL header: false. */
bool http_media_type_is(const char *content_type, const char *type);

enum http_site {
	HTTP_SITE_UNKNOWN,   /* neither Sec-Fetch-Site nor Origin: not a browser, or a very old one */
	HTTP_SITE_SAME,      /* the page that sent it is ours */
	HTTP_SITE_CROSS,     /* another site's page (or an opaque "null" origin) */
};

/* Where a request comes from, as a browser tells it: Sec-Fetch-Site when
 * present ("same-origin" and "none", a typed address or bookmark, are
 * ours; "same-site" and "cross-site" are not); else Origin, ours when its
 * host[:port] is the Host header's or the whole origin is one of
 * `allowed` (space-separated origins, e.g. "https://wangge.example.gov.cn").
 * Any argument may be NULL. */
enum http_site http_request_site(const char *sec_fetch_site, const char *origin, const char *host, const char *allowed);

#endif
