/* Bounded parsers for numbers and dates: they read exactly n bytes, accept
 * nothing but the expected form, and never read past the end. */
#ifndef WG_PARSE_H
#define WG_PARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

bool wg_parse_u32(const char *s, size_t n, uint32_t *out);
bool wg_parse_u64(const char *s, size_t n, uint64_t *out);
bool wg_parse_i64(const char *s, size_t n, int64_t *out);
/* "YYYY-MM-DD", a real calendar date. */
bool wg_parse_date(const char *s, size_t n, int *year, int *month, int *day);
bool wg_is_leap_year(int year);
int  wg_days_in_month(int year, int month);
/* Days since 1970-01-01 for a proleptic Gregorian date. */
int64_t wg_days_from_civil(int year, int month, int day);

#endif
