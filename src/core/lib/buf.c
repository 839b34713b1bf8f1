#include "core/lib/buf.h"
#include "core/lib/err.h"
#include "core/lib/mem.h"

#include <assert.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

void wg_buf_init(wg_buf *b, size_t max)
{
	*b = (wg_buf)WG_BUF_INIT(max);
}

int wg_buf_reserve(wg_buf *b, size_t extra)
{
	size_t need;
	if (b->err)
		return b->err;
	if (!wg_size_add(b->len, extra, &need) || !wg_size_add(need, 1, &need) || need - 1 > b->max)
		return b->err = WG_ERR_TOO_LARGE;
	if (need <= b->cap)
		return 0;
	size_t cap = b->cap ? b->cap : 64;
	while (cap < need) {
		if (!wg_size_mul(cap, 2, &cap)) {
			cap = need;
			break;
		}
	}
	if (b->max < SIZE_MAX && cap > b->max + 1)
		cap = b->max + 1;
	char *p = wg_realloc(b->data, cap);
	if (!p)
		return b->err = WG_ERR_NOMEM;
	b->data = p;
	b->cap = cap;
	return 0;
}

int wg_buf_append(wg_buf *b, const void *p, size_t n)
{
	int rc = wg_buf_reserve(b, n);
	if (rc)
		return rc;
	if (n)
		memcpy(b->data + b->len, p, n);
	b->len += n;
	b->data[b->len] = '\0';
	return 0;
}

int wg_buf_puts(wg_buf *b, const char *s) { return wg_buf_append(b, s, strlen(s)); }
int wg_buf_putc(wg_buf *b, char c)
{
	if (!b->err && b->len + 2 <= b->cap) {  /* room for c and the terminator */
		b->data[b->len++] = c;
		b->data[b->len] = '\0';
		return 0;
	}
	return wg_buf_append(b, &c, 1);
}

int wg_buf_vprintf(wg_buf *b, const char *fmt, va_list ap)
{
	va_list ap2;
	va_copy(ap2, ap);
	int n = vsnprintf(NULL, 0, fmt, ap2);
	va_end(ap2);
	if (n < 0)
		return b->err = WG_ERR_INTERNAL;
	int rc = wg_buf_reserve(b, (size_t)n);
	if (rc)
		return rc;
	vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
	b->len += (size_t)n;
	return 0;
}

int wg_buf_printf(wg_buf *b, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int rc = wg_buf_vprintf(b, fmt, ap);
	va_end(ap);
	return rc;
}

void wg_hex(char *out, const uint8_t *p, size_t n)
{
	static const char digits[] = "0123456789abcdef";
	for (size_t i = 0; i < n; i++) {
		out[2 * i] = digits[p[i] >> 4];
		out[2 * i + 1] = digits[p[i] & 15];
	}
	out[2 * n] = '\0';
}

int wg_buf_hex(wg_buf *b, const uint8_t *p, size_t n)
{
	size_t twice;
	if (!wg_size_mul(n, 2, &twice))
		return b->err = WG_ERR_TOO_LARGE;
	int rc = wg_buf_reserve(b, twice);
	if (rc)
		return rc;
	wg_hex(b->data + b->len, p, n);
	b->len += twice;
	return 0;
}

void wg_buf_reset(wg_buf *b)
{
	b->len = 0;
	b->err = 0;
	if (b->data)
		b->data[0] = '\0';
}

char *wg_buf_detach(wg_buf *b, size_t *len)
{
	char *p = b->data;
	if (!p)
		p = wg_strdup("");
	if (len)
		*len = p ? b->len : 0;
	b->data = NULL;
	b->len = b->cap = 0;
	b->err = 0;
	return p;
}

void wg_buf_release(wg_buf *b)
{
	wg_free(b->data);
	b->data = NULL;
	b->len = b->cap = 0;
	b->err = 0;
}
