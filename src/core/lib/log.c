#include "core/lib/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <time.h>

static bool access_on;

static void stamp(FILE *f, const char *level)
{
	char ts[32];
	time_t t = time(NULL);
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%SZ", &tm);
	fprintf(f, "%s %s ", ts, level);
}

static void vlog(const char *level, const char *fmt, va_list ap)
{
	flockfile(stderr);
	stamp(stderr, level);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	funlockfile(stderr);
}

void log_info(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vlog("info", fmt, ap);
	va_end(ap);
}

void log_warn(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vlog("warn", fmt, ap);
	va_end(ap);
}

void log_enable_access(bool on) { access_on = on; }

void log_request(const char *method, const char *url, int status, uint64_t micros)
{
	if (!access_on)
		return;
	flockfile(stderr);
	stamp(stderr, "http");
	fprintf(stderr, "%s %s %d %.3fms\n", method, url, status, (double)micros / 1000.0);
	funlockfile(stderr);
}
