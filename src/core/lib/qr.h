/* QR codes as images: SVG to print at any size, PNG for phones and
 * documents. Venue codes today, passes and notices next. */
#ifndef WG_QR_H
#define WG_QR_H

#include "core/lib/buf.h"

/* The QR code of text (error correction M, 4 modules of quiet zone), appended to out. */
int qr_svg(const char *text, wg_buf *out);
/* The same as a 1-bit grayscale PNG, scale pixels a module. */
int qr_png(const char *text, unsigned scale, wg_buf *out);

#endif
