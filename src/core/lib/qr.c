#include "core/lib/qr.h"
#include "core/lib/err.h"
#include "core/lib/mem.h"

#include <qrencode.h>
#include <stdbool.h>
#include <zlib.h>

#define QR_QUIET 4

static QRcode *encode(const char *text)
{
	return QRcode_encodeString(text, 0, QR_ECLEVEL_M, QR_MODE_8, 1);
}

int qr_svg(const char *text, wg_buf *out)
{
	QRcode *qr = encode(text);
	if (!qr)
		return WG_ERR_NOMEM;
	const int size = qr->width + 2 * QR_QUIET;
	wg_buf_printf(out, "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 %d %d\" shape-rendering=\"crispEdges\">"
		      "<rect width=\"%d\" height=\"%d\" fill=\"#fff\"/><path fill=\"#000\" d=\"", size, size, size, size);
	for (int y = 0; y < qr->width; y++)
		for (int x = 0; x < qr->width; x++)
			if (qr->data[y * qr->width + x] & 1)
				wg_buf_printf(out, "M%d %dh1v1h-1z", x + QR_QUIET, y + QR_QUIET);
	wg_buf_puts(out, "\"/></svg>\n");
	QRcode_free(qr);
	return out->err;
}

/* PNG chunk: length, type, data, CRC over type and data. */
static void png_chunk(wg_buf *out, const char type[4], const unsigned char *data, uint32_t n)
{
	unsigned char be[4] = { (unsigned char)(n >> 24), (unsigned char)(n >> 16), (unsigned char)(n >> 8), (unsigned char)n };
	wg_buf_append(out, be, 4);
	wg_buf_append(out, type, 4);
	wg_buf_append(out, data, n);
	uLong crc = crc32(0L, (const Bytef *)type, 4);
	if (n)   /* zlib's crc32 with a NULL buffer answers its initial value, not the sum */
		crc = crc32(crc, data, n);
	unsigned char c[4] = { (unsigned char)(crc >> 24), (unsigned char)(crc >> 16), (unsigned char)(crc >> 8), (unsigned char)crc };
	wg_buf_append(out, c, 4);
}

int qr_png(const char *text, unsigned scale, wg_buf *out)
{
	QRcode *qr = encode(text);
	if (!qr)
		return WG_ERR_NOMEM;
	const uint32_t side = ((uint32_t)qr->width + 2 * QR_QUIET) * scale, row_bytes = (side + 7) / 8;
	size_t raw_len = (size_t)(row_bytes + 1) * side;
	unsigned char *raw = wg_calloc(raw_len, 1);
	uLongf packed_len = compressBound((uLong)raw_len);
	unsigned char *packed = wg_malloc(packed_len);
	int rc = WG_ERR_NOMEM;
	if (!raw || !packed)
		goto out;
	for (uint32_t y = 0; y < side; y++) {
		unsigned char *line = raw + (size_t)y * (row_bytes + 1) + 1;  /* byte 0: filter "none" */
		for (uint32_t x = 0; x < side; x++) {
			int mx = (int)(x / scale) - QR_QUIET, my = (int)(y / scale) - QR_QUIET;
			bool dark = mx >= 0 && my >= 0 && mx < qr->width && my < qr->width && (qr->data[my * qr->width + mx] & 1);
			if (!dark)  /* grayscale 1 bit: 1 is white */
				line[x / 8] |= (unsigned char)(0x80 >> (x % 8));
		}
	}
	if (compress2(packed, &packed_len, raw, (uLong)raw_len, 9) != Z_OK)
		goto out;
	unsigned char ihdr[13] = { (unsigned char)(side >> 24), (unsigned char)(side >> 16), (unsigned char)(side >> 8), (unsigned char)side,
				   (unsigned char)(side >> 24), (unsigned char)(side >> 16), (unsigned char)(side >> 8), (unsigned char)side,
				   1, 0, 0, 0, 0 };
	wg_buf_append(out, "\x89PNG\r\n\x1a\n", 8);
	png_chunk(out, "IHDR", ihdr, sizeof ihdr);
	png_chunk(out, "IDAT", packed, (uint32_t)packed_len);
	png_chunk(out, "IEND", NULL, 0);
	rc = out->err;
out:
	QRcode_free(qr);
	wg_free(raw);
	wg_free(packed);
	return rc;
}
