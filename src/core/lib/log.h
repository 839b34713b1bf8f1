/* Diagnostics to stderr, one line each, with a UTC timestamp. */
#ifndef WG_LOG_H
#define WG_LOG_H

#include <stdbool.h>
#include <stdint.h>

void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* The access log is off unless enabled (it costs a write per request). */
void log_enable_access(bool on);
void log_request(const char *method, const char *url, int status, uint64_t micros);

#endif
