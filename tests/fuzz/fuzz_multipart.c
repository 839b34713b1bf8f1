/* multipart/form-data bodies as anyone may send them: the file part found,
 * within the body, or a clear refusal; never a read past the end. */
#include "core/http/multipart.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* The first line is the Content-Type, the rest the body. */
	const uint8_t *nl = memchr(data, '\n', size);
	size_t tn = nl ? (size_t)(nl - data) : size;
	char type[256], boundary[MULTIPART_BOUNDARY_MAX + 1];
	if (tn >= sizeof type)
		return 0;
	memcpy(type, data, tn);
	type[tn] = '\0';
	if (!multipart_boundary(type, boundary))
		return 0;
	size_t bn = size - tn - (nl ? 1 : 0);
	char *body = malloc(bn ? bn : 1);   /* exactly the body: a read past it is caught */
	if (!body)
		return 0;
	memcpy(body, nl ? (const char *)nl + 1 : "", bn);
	size_t off = 0, len = 0;
	const char *why = NULL;
	if (multipart_file(body, bn, boundary, &off, &len, &why)) {
		if (off > bn || len > bn - off)
			abort();
	} else if (!why) {
		abort();
	}
	free(body);
	return 0;
}
