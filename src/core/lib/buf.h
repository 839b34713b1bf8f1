/* Growable byte buffer with a hard maximum per use.
 *
 * Every buffer is created with the largest size it may ever reach (a request
 * body, a CSV cell, an SQL statement); growing past it fails with
 * WG_ERR_TOO_LARGE instead of eating memory. Growth uses checked arithmetic.
 * The content is always NUL-terminated so it can be used as a C string.
 * Once an append has failed the buffer remembers it (sticky error), so a
 * sequence of appends can be checked once at the end.
 */
#ifndef WG_BUF_H
#define WG_BUF_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

typedef struct wg_buf {
	char  *data;
	size_t len;
	size_t cap;
	size_t max;
	int    err; /* first failure (a wg_err code), 0 while fine */
} wg_buf;

#define WG_BUF_INIT(maxsize) { NULL, 0, 0, (maxsize), 0 }

void   wg_buf_init(wg_buf *b, size_t max);
int    wg_buf_reserve(wg_buf *b, size_t extra);
int    wg_buf_append(wg_buf *b, const void *p, size_t n);
int    wg_buf_puts(wg_buf *b, const char *s);
int    wg_buf_putc(wg_buf *b, char c);
int    wg_buf_printf(wg_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int    wg_buf_vprintf(wg_buf *b, const char *fmt, va_list ap);
void   wg_buf_reset(wg_buf *b);
/* Hands the storage to the caller (who frees it with wg_free); the buffer is empty after. */
char  *wg_buf_detach(wg_buf *b, size_t *len);
void   wg_buf_release(wg_buf *b);
/* Appends bytes as hexadecimal. */
int    wg_buf_hex(wg_buf *b, const uint8_t *p, size_t n);
/* Writes n bytes as 2n lower-case hex digits and a NUL into out. */
void   wg_hex(char *out, const uint8_t *p, size_t n);

#endif
