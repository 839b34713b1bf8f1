/* wangge serve: the API and the web UI, with every module started beside them. */
#include "cli/cli.h"
#include "core/app/jobs.h"
#include "core/http/http.h"
#include "core/lib/err.h"
#include "core/lib/log.h"
#include "core/lib/opts.h"
#include "core/lib/parse.h"
#include "core/platform.h"

#include <signal.h>
#include <stdio.h>
#include <string.h>

#define DEFAULT_DATA "data"

int cmd_serve(int argc, char **argv)
{
	const char *data = DEFAULT_DATA, *listen = "127.0.0.1:8080", *threads = NULL, *pos[1];
	bool access_log = false;
	int npos;
	const struct wg_opt opts[] = {
		{ "--data", "DIR", &data, NULL, "数据目录 / data directory (default ./data)" },
		{ "--listen", "HOST:PORT", &listen, NULL, "监听地址 / address to listen on (default 127.0.0.1:8080)" },
		{ "--threads", "N", &threads, NULL, "工作线程数 / worker threads (default from wangge.conf)" },
		{ "--access-log", NULL, NULL, &access_log, "记录每个请求 / log every request to stderr" },
		{ 0 },
	};
	int rc = opts_parse(argc, argv, opts, pos, 0, &npos, "wangge serve [--data DIR] [--listen HOST:PORT]");
	if (rc)
		return rc == 1 ? 0 : 2;
	uint32_t nthreads = 0;
	if (threads && (!wg_parse_u32(threads, strlen(threads), &nthreads) || nthreads < 1 || nthreads > 64))
		return wg_error("--threads must be 1 to 64 / 线程数应为 1 到 64"), 2;
	struct wg_app *app;
	if (nthreads)
		app_set_threads(nthreads);
	if (cli_open(data, &app))
		return 1;
	log_enable_access(access_log);
	struct wg_http *http = NULL;
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	/* Before any thread starts: they inherit the mask, so only sigwait() below sees these. */
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);
	int stale = http_remove_stale_uploads(data);
	if (stale)
		log_info("removed %d upload file(s) left by a stopped server / 已删除上次残留的上传文件", stale);
	rc = platform_start(app);
	struct wg_http_config hc = { listen, app->config.static_dir, app->config.threads };
	if (!rc && (rc = http_start(app, &hc, &http)) != 0)
		platform_stop(app);
	if (rc) {
		cli_close(app);
		return 1;
	}
	printf("wangge serving on http://%s (data %s, %s)\n", listen, data,
	       store_dialect(app->store) == WG_POSTGRES ? "PostgreSQL" : "SQLite");
	fflush(stdout);
	int sig = 0;
	sigwait(&set, &sig);
	log_info("signal %d: finishing in-flight requests / 正在完成处理中的请求", sig);
	http_stop(http, 10);
	jobs_wait();
	platform_stop(app);
	cli_close(app);
	log_info("stopped / 已停止");
	return 0;
}
