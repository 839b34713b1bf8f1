#include "core/http/multipart.h"

#include <string.h>
#include <strings.h>

bool multipart_boundary(const char *type, char out[MULTIPART_BOUNDARY_MAX + 1])
{
	static const char prefix[] = "multipart/form-data";
	if (!type || strncasecmp(type, prefix, sizeof prefix - 1) != 0)
		return false;
	const char *p = type + sizeof prefix - 1;
	while ((p = strchr(p, ';')) != NULL) {
		p++;
		while (*p == ' ' || *p == '\t')
			p++;
		if (strncasecmp(p, "boundary=", 9) != 0)
			continue;
		p += 9;
		bool quoted = *p == '"';
		p += quoted;
		size_t n = 0;
		while (p[n] && (quoted ? p[n] != '"' : (p[n] != ';' && p[n] != ' ' && p[n] != '\t')))
			n++;
		if (n == 0 || n > MULTIPART_BOUNDARY_MAX || (quoted && p[n] != '"'))
			return false;
		memcpy(out, p, n);
		out[n] = '\0';
		return true;
	}
	return false;
}

/* The first "\r\n--boundary" at or after data + from (the opening one may
 * stand at the very start, without the CRLF). */
static const char *delimiter(const char *data, size_t n, size_t from, const char *b, size_t bn)
{
	for (size_t i = from; i + bn + 2 <= n; i++) {
		const char *d = memchr(data + i, '-', n - i);
		if (!d)
			return NULL;
		i = (size_t)(d - data);
		if (i + bn + 2 > n)
			return NULL;
		if (d[1] == '-' && memcmp(d + 2, b, bn) == 0 && (i == 0 || (i >= 2 && d[-2] == '\r' && d[-1] == '\n')))
			return d;
	}
	return NULL;
}

/* Whether the part's headers [h, e) carry a filename. */
static bool names_a_file(const char *h, const char *e)
{
	static const char key[] = "filename=";
	for (const char *p = h; p + sizeof key - 1 <= e; p++)
		if (strncasecmp(p, key, sizeof key - 1) == 0)
			return true;
	return false;
}

bool multipart_file(const char *data, size_t n, const char *boundary, size_t *off, size_t *len, const char **why)
{
	size_t bn = strlen(boundary);
	const char *d = delimiter(data, n, 0, boundary, bn);
	size_t first_off = 0, first_len = 0;
	bool have_first = false;
	if (!d) {
		*why = "the body holds no part with the boundary its Content-Type names";
		return false;
	}
	for (;;) {
		const char *p = d + 2 + bn;
		size_t left = n - (size_t)(p - data);
		if (left >= 2 && p[0] == '-' && p[1] == '-')
			break;  /* the closing delimiter */
		/* Transport padding, then the line break that ends the delimiter line. */
		while (left && (*p == ' ' || *p == '\t')) {
			p++;
			left--;
		}
		if (left < 2 || p[0] != '\r' || p[1] != '\n') {
			*why = "a delimiter line is not followed by a line break";
			return false;
		}
		const char *headers = p + 2;
		size_t hleft = n - (size_t)(headers - data);
		const char *end = NULL;
		/* A part may have no headers at all: the empty line comes at once. */
		if (hleft >= 2 && headers[0] == '\r' && headers[1] == '\n')
			end = headers;
		for (size_t i = 0; !end && i + 4 <= hleft; i++)
			if (memcmp(headers + i, "\r\n\r\n", 4) == 0)
				end = headers + i + 2;
		if (!end) {
			*why = "a part's headers do not end with an empty line";
			return false;
		}
		size_t body = (size_t)(end - data) + 2;
		const char *next = delimiter(data, n, body, boundary, bn);
		if (!next) {
			*why = "the body ends inside a part (no closing boundary)";
			return false;
		}
		/* The CRLF before the delimiter belongs to it. */
		size_t at = (size_t)(next - data), blen = at >= body + 2 ? at - body - 2 : 0;
		if (names_a_file(headers, end)) {
			*off = body;
			*len = blen;
			return true;
		}
		if (!have_first) {
			first_off = body;
			first_len = blen;
			have_first = true;
		}
		d = next;
	}
	if (!have_first) {
		*why = "the body has no part";
		return false;
	}
	*off = first_off;
	*len = first_len;
	return true;
}
