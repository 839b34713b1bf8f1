#include "core/lib/err.h"

#include <stdarg.h>
#include <stdio.h>

struct err_info {
	const char *code;
	int status;
	const char *zh;
	const char *en;
};

static const struct err_info errors[] = {
#define WG_ERR_ROW(name, code, status, zh, en) { code, status, zh, en },
	WG_ERRORS(WG_ERR_ROW)
#undef WG_ERR_ROW
};

static const struct err_info *info(int err)
{
	if (err < 0 || err >= WG_ERR__COUNT)
		err = WG_ERR_INTERNAL;
	return &errors[err];
}

const char *wg_err_code(int err) { return info(err)->code; }
int wg_err_status(int err) { return info(err)->status; }
const char *wg_err_zh(int err) { return info(err)->zh; }
const char *wg_err_en(int err) { return info(err)->en; }

int wg_error(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fputs("wangge: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	return -1;
}
