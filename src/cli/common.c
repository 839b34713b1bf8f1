/* What the commands share: opening a data directory for requests, reading a password. */
#include "cli/cli.h"
#include "core/lib/err.h"
#include "core/platform.h"

#include <stdio.h>
#include <string.h>

int cli_read_secret(char *buf, size_t size)
{
	if (!fgets(buf, (int)size, stdin))
		return wg_error("no password on standard input / 标准输入中没有密码");
	size_t n = strlen(buf);
	while (n && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
		buf[--n] = '\0';
	return 0;
}

int cli_open(const char *data_dir, struct wg_app **app)
{
	return platform_open(data_dir, app);
}

void cli_close(struct wg_app *app)
{
	platform_close(app);
	platform_forget();
}
