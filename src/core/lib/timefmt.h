/* Times as people read and type them. Every time is stored and computed as
 * Unix seconds; a person sees local time (the zone is a setting,
 * Asia/Shanghai by default) and may type ISO 8601, with an offset or
 * without one (then local), or a date alone where a day is meant.
 *
 * Answers carry each time twice: the seconds, and a twin in ISO 8601 local
 * time named by wg_time_twin (t_in → t_in_at, onset_at → onset_at_text). */
#ifndef WG_TIMEFMT_H
#define WG_TIMEFMT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define WG_TIME_ISO   26   /* "2026-12-06T08:00:00+08:00" and a NUL */
#define WG_TIME_HUMAN 17   /* "2026-12-06 08:00" and a NUL */
#define WG_TIME_TWIN  80   /* room for a twin's name */

/* Sets the zone people read times in (an IANA name such as Asia/Shanghai);
 * before any thread starts. Returns false when the zone is unknown (times
 * then stay in the previous zone). */
bool wg_time_zone_set(const char *name);
/* Whether wg_time_zone_set would take the zone (checks only; any thread). */
bool wg_time_zone_known(const char *name);
const char *wg_time_zone(void);
/* Seconds east of UTC at t in the zone. */
int32_t wg_time_offset(int64_t t);

/* "2026-12-06T08:00:00+08:00" */
void wg_time_iso(int64_t t, char out[WG_TIME_ISO]);
/* "2026-12-06 08:00" (what tables, exports and messages show) */
void wg_time_human(int64_t t, char out[WG_TIME_HUMAN]);
/* The twin's name of a time member: "at" → "at_text", "x_at" → "x_at_text", "t_in" → "t_in_at". */
void wg_time_twin(const char *name, char out[WG_TIME_TWIN]);

/* Reads a time: Unix seconds ("1795440163"), ISO 8601 with an offset
 * ("2026-12-06T08:00:00+08:00", "…Z", seconds and fractions optional), or
 * local time ("2026-12-06T08:00", "2026-12-06 08:00:00"); with date_ok a
 * date alone ("2026-12-06") is its local midnight. false with *why_zh,
 * *why_en when it is none of these or names no real moment ("2026-06-31"). */
bool wg_time_parse(const char *s, size_t n, bool date_ok, int64_t *out, const char **why_zh, const char **why_en);

#endif
