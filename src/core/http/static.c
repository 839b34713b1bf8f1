/* The web UI's files, from the static directory. */
#include "core/http/http_int.h"
#include "core/lib/err.h"

#include <fcntl.h>
#include <microhttpd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *mime_type(const char *path)
{
	static const struct { const char *ext, *type; } types[] = {
		{ ".html", "text/html; charset=utf-8" }, { ".js", "text/javascript; charset=utf-8" },
		{ ".css", "text/css; charset=utf-8" }, { ".svg", "image/svg+xml" }, { ".png", "image/png" },
		{ ".json", "application/json" }, { ".ico", "image/x-icon" }, { ".woff2", "font/woff2" },
		{ ".txt", "text/plain; charset=utf-8" }, { ".webmanifest", "application/manifest+json" },
	};
	const char *dot = strrchr(path, '.');
	for (size_t i = 0; dot && i < sizeof types / sizeof types[0]; i++)
		if (strcmp(dot, types[i].ext) == 0)
			return types[i].type;
	return "application/octet-stream";
}

static bool static_path_ok(const char *url)
{
	if (url[0] != '/' || strstr(url, "..") || strstr(url, "//") || strchr(url, '\\'))
		return false;
	return strlen(url) < 512;
}

/* Does the client take gzip? Each entry of Accept-Encoding is "coding[;q=w]";
 * "gzip;q=0" refuses it. */
static bool accepts_gzip(const wg_req *r)
{
	const char *p = r->mhd ? MHD_lookup_connection_value(r->mhd, MHD_HEADER_KIND, "Accept-Encoding") : NULL;
	while (p && *p) {
		p += strspn(p, " \t,");
		size_t name = strcspn(p, " \t;,");
		bool gzip = name == 4 && strncasecmp(p, "gzip", 4) == 0;
		const char *end = p + strcspn(p, ",");
		const char *q = strstr(p, "q=");
		bool zero = q && q < end && strtod(q + 2, NULL) <= 0.0;
		if (gzip)
			return !zero;
		p = end;
	}
	return false;
}

/* Hashed asset names never change content: a year, immutable. The page itself
 * (and the client-route fallback) is asked for again so a new build is seen,
 * and so is the service worker, whose file names each build's offline cache. */
static const char *cache_control(const char *url, bool app_page)
{
	if (app_page || strcmp(url, "/") == 0 || strcmp(url, "/index.html") == 0 || strcmp(url, "/sw.js") == 0)
		return "no-cache";
	if (strncmp(url, "/assets/", 8) == 0)
		return "public, max-age=31536000, immutable";
	return "public, max-age=3600";
}

int http_static_response(const char *static_dir, const wg_req *r, struct MHD_Response **out)
{
	char path[1600], gz[1604];
	const char *url = r->url;
	struct stat sb, gzsb;
	bool app_page = false;
	if (strcmp(r->method, "GET") != 0 && strcmp(r->method, "HEAD") != 0)
		return WG_ERR_METHOD;
	if (!static_path_ok(url))
		return WG_ERR_NO_ROUTE;
	snprintf(path, sizeof path, "%s%s", static_dir, strcmp(url, "/") == 0 ? "/index.html" : url);
	if (stat(path, &sb) != 0 || !S_ISREG(sb.st_mode)) {
		/* The UI routes on the client: unknown paths without an extension get the app. */
		const char *last = strrchr(url, '/');
		if (last && strchr(last, '.'))
			return WG_ERR_NO_ROUTE;
		snprintf(path, sizeof path, "%s/index.html", static_dir);
		if (stat(path, &sb) != 0)
			return WG_ERR_NO_ROUTE;
		app_page = true;
	}
	/* The build writes a .gz beside each text file; send it to those who take it. */
	snprintf(gz, sizeof gz, "%s.gz", path);
	bool gzipped = accepts_gzip(r) && stat(gz, &gzsb) == 0 && S_ISREG(gzsb.st_mode);
	int fd = open(gzipped ? gz : path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return WG_ERR_NO_ROUTE;
	struct MHD_Response *resp = MHD_create_response_from_fd((uint64_t)(gzipped ? gzsb.st_size : sb.st_size), fd);
	if (!resp) {
		close(fd);
		return WG_ERR_NOMEM;
	}
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, mime_type(path));
	MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, cache_control(url, app_page));
	if (access(gz, R_OK) == 0)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_VARY, "Accept-Encoding");
	if (gzipped)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_ENCODING, "gzip");
	*out = resp;
	return 0;
}
