/* Local time as people read it: ISO 8601 with the offset of the configured
 * zone (wangge.conf `timezone`, Asia/Shanghai by default), and the times
 * people type: Unix seconds or ISO 8601 with an offset.
 *
 * Asia/Shanghai (and PRC, Asia/Chongqing, Asia/Harbin, Asia/Urumqi as
 * China keeps them) is UTC+8 all year since 1991 and needs no tz database;
 * "UTC" and fixed offsets ("+08:00") neither; any other name is looked up
 * in the system's tz database (Debian's tzdata). */
#ifndef WG_LOCALTIME_H
#define WG_LOCALTIME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* "2026-12-06T08:00:00+08:00" and a NUL. */
#define WG_LOCALTIME_TEXT 32

/* Sets the zone for the whole process (call before threads start); false
 * when the name is neither a fixed offset nor in the tz database. */
bool   wg_localtime_set(const char *zone);
/* t as local ISO 8601 with its offset; returns the length written. */
size_t wg_localtime_iso(int64_t t, char out[WG_LOCALTIME_TEXT]);
/* Reads exactly n bytes: Unix seconds, or "YYYY-MM-DDTHH:MM:SS" followed by
 * "Z" or "+HH:MM" / "-HH:MM" (a space may stand for the T). A bounded parser. */
bool   wg_parse_time(const char *s, size_t n, int64_t *out);

#endif
