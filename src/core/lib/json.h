/* Serialising jansson values, faster than json_dumps: one pass, no
 * intermediate allocations, straight into a bounded wg_buf. Output is compact
 * JSON with members in insertion order and UTF-8 kept as it is. */
#ifndef WG_JSON_H
#define WG_JSON_H

#include "core/lib/buf.h"

#include <jansson.h>

/* Keeps jansson's small blocks per thread for the next value
 * (json_alloc.c); called once, before any thread starts. */
void json_alloc_install(void);

int json_emit(wg_buf *out, const json_t *v);
/* The pieces, for writers that build an answer straight from a statement
 * row without a jansson tree (s need not be NUL-terminated). */
int json_emit_string(wg_buf *out, const char *s, size_t n);
int json_emit_integer(wg_buf *out, json_int_t x);
/* The items of a stored comma-separated list ("低保对象,独居老人"), empty
 * items skipped, as a JSON array of strings; NULL when out of memory. */
json_t *json_comma_list(const char *text);
/* Sets o[key] to the time t (Unix seconds) and its twin to the local ISO
 * 8601 text (core/lib/timefmt.h: t_in → t_in_at, at → at_text); 0 or WG_ERR_NOMEM. */
int json_set_time(json_t *o, const char *key, int64_t t);
/* The same, or both null when t < 0 (no such time yet: handled_at of an open alert). */
int json_set_time_or_null(json_t *o, const char *key, int64_t t);

/* A request body that is a flat object (members whose values are strings
 * of printable ASCII without escapes, integers of up to 18 digits, true,
 * false or null; no key repeated), read without jansson's parser: the
 * same object json_loadb would give, several times faster. NULL for
 * anything else (or out of memory): then jansson reads it and says what is
 * wrong with it. Most bodies are such objects, a scan's always. */
json_t *json_flat_load(const char *text, size_t len);

#endif
