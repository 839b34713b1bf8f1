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
/* The decimal digits of x, written to out (room for WG_I64_DIGITS bytes,
 * not NUL-terminated); returns their count. Printf costs ten times this, and
 * integers are most of what a JSON record or an audit record holds. */
#define WG_I64_DIGITS 20
size_t wg_format_i64(char *out, int64_t x);
/* "YYYY-MM-DD" and a NUL into out (year 0–9999). */
#define WG_DATE_TEXT 11
void wg_format_date(char out[WG_DATE_TEXT], int year, int month, int day);
/* Copies the NUL-terminated src into dst (size > 0), cut to fit; returns the
 * length copied. */
size_t wg_copy_text(char *dst, size_t size, const char *src);
/* Days since 1970-01-01 for a proleptic Gregorian date, and back. */
int64_t wg_days_from_civil(int year, int month, int day);
void    wg_civil_from_days(int64_t days, int *year, int *month, int *day);

#endif
