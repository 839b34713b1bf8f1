/* The web UI's files, from the static directory. */
#include "core/http/http_int.h"
#include "core/lib/err.h"

#include <fcntl.h>
#include <microhttpd.h>
#include <stdio.h>
#include <string.h>
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

int http_static_response(const char *static_dir, const wg_req *r, struct MHD_Response **out)
{
	char path[1600];
	const char *url = r->url;
	struct stat sb;
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
	}
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return WG_ERR_NO_ROUTE;
	struct MHD_Response *resp = MHD_create_response_from_fd((uint64_t)sb.st_size, fd);
	if (!resp) {
		close(fd);
		return WG_ERR_NOMEM;
	}
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, mime_type(path));
	MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
	*out = resp;
	return 0;
}
