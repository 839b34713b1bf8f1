/* Between the files of the identity checks only: the text helpers they share. */
#ifndef WG_IDENT_INT_H
#define WG_IDENT_INT_H

#include "core/lib/ident.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

int32_t ident_utf8_next(const char *s, size_t n, size_t *i);
size_t ident_utf8_put(char *out, int32_t cp);
bool ident_is_space_cp(int32_t cp);
int32_t ident_halfwidth(int32_t cp);
void ident_trim_range(const char *s, size_t n, size_t *b, size_t *e);
bool ident_fold_ascii(const char *s, size_t n, char *out, size_t size, size_t *len, bool *changed);
bool ident_is_digit(char c);
bool ident_all_digits(const char *s, size_t n);
bool ident_looks_scientific(const char *s, size_t n);

#endif
