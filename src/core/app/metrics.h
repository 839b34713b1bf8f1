/* Prometheus metrics: requests by route and status, a latency histogram, DB time. */
#ifndef WG_METRICS_H
#define WG_METRICS_H

#include "core/lib/buf.h"

#include <stdint.h>

struct wg_app;

void metrics_record(int route_index, int status, uint64_t micros);
int  metrics_render(wg_buf *out, struct wg_app *app);

#endif
