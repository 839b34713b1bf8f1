/* The figures the modules count under a place (module.h), gathered when the
 * modules are declared, for the statistics endpoint. */
#include "core/app/module.h"
#include "core/lib/err.h"
#include "core/lib/limits.h"

static const struct wg_counter *counters[WG_MAX_COUNTERS];
static size_t ncounters;

int counters_add(const struct wg_counter *c, size_t n)
{
	if (ncounters + n > WG_MAX_COUNTERS) {
		wg_error("more than %d counters / 统计项过多", WG_MAX_COUNTERS);
		return WG_ERR_TOO_LARGE;
	}
	for (size_t i = 0; i < n; i++)
		counters[ncounters++] = &c[i];
	return 0;
}

size_t counters_count(void) { return ncounters; }

const struct wg_counter *counter_at(size_t i) { return i < ncounters ? counters[i] : NULL; }

void counters_reset(void) { ncounters = 0; }
