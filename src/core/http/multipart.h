/* multipart/form-data (RFC 7578), as browsers and `curl -F` send a file:
 * the part that carries the file, found in memory without copying. */
#ifndef WG_MULTIPART_H
#define WG_MULTIPART_H

#include <stdbool.h>
#include <stddef.h>

/* The boundary of a Content-Type "multipart/form-data; boundary=…"
 * (quoted or not, at most 70 characters, RFC 2046) into out; false when
 * the type is not multipart/form-data or names no valid boundary. */
#define MULTIPART_BOUNDARY_MAX 70
bool multipart_boundary(const char *content_type, char out[MULTIPART_BOUNDARY_MAX + 1]);

/* The first part that carries a file (a filename in its
 * Content-Disposition), or else the first part: its content at
 * data[*off, *off + *len). false when data is not a well-formed body with
 * that boundary (*why says what is wrong, in English; the caller words it). */
bool multipart_file(const char *data, size_t n, const char *boundary, size_t *off, size_t *len, const char **why);

#endif
