/* init, serve, migrate, backup, user, audit: the commands around the server. */
#include "cli/cli.h"
#include "tracing/tracing.h"
#include "grid/grid.h"
#include "registry/registry.h"
#include "core/app/app.h"
#include "core/audit/audit.h"
#include "core/auth/auth.h"
#include "core/lib/err.h"
#include "core/http/http.h"
#include "core/app/jobs.h"
#include "core/lib/log.h"
#include "core/store/migrate.h"
#include "core/lib/opts.h"
#include "core/lib/parse.h"
#include "core/resource/resource.h"

#include <errno.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#define DEFAULT_DATA "data"

int cli_read_secret(char *buf, size_t size)
{
	if (!fgets(buf, (int)size, stdin))
		return wg_error("no password on standard input / 标准输入中没有密码");
	size_t n = strlen(buf);
	while (n && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
		buf[--n] = '\0';
	return 0;
}

static void random_password(char *out, size_t size)
{
	static const char alphabet[] = "abcdefghijkmnpqrstuvwxyzACDEFGHJKLMNPQRTUVWXY345679";
	for (size_t i = 0; i + 1 < size; i++)
		out[i] = alphabet[randombytes_uniform(sizeof alphabet - 1)];
	out[size - 1] = '\0';
}

int cli_register_routes(void)
{
	router_reset();
	int rc = metrics_register();
	if (!rc) rc = auth_register();
	if (!rc) rc = accounts_register();
	if (!rc) rc = jobs_register();
	if (!rc) rc = audit_register();
	if (!rc) rc = grid_register();
	if (!rc) rc = registry_register();
	if (!rc) rc = cases_register();
	return rc;
}

int cli_open(const char *data_dir, struct wg_app **app)
{
	int rc = app_open(data_dir, app);
	if (rc)
		return rc;
	wg_conn *c;
	int version = 0;
	store_acquire((*app)->store, &c);
	rc = migrate_current_version(c, &version);
	store_release((*app)->store, c);
	int latest = migrate_latest_version(store_dialect((*app)->store));
	if (rc || version < latest) {
		app_close(*app);
		*app = NULL;
		return wg_error("the database schema is at version %d, this program needs %d: run `wangge migrate --data %s`"
				" / 数据库结构需要升级", version, latest, data_dir);
	}
	return 0;
}

static int make_dir(const char *path)
{
	if (mkdir(path, 0700) != 0 && errno != EEXIST)
		return wg_error("cannot create %s: %s / 无法创建目录", path, strerror(errno));
	return 0;
}

int cmd_init(int argc, char **argv)
{
	const char *data = DEFAULT_DATA, *db = NULL, *root_name = "本级", *root_kind = "county", *root_code = NULL, *pos[1];
	bool password_stdin = false;
	int npos;
	const struct wg_opt opts[] = {
		{ "--data", "DIR", &data, NULL, "数据目录 / data directory (default ./data)" },
		{ "--db", "URL", &db, NULL, "postgres://… 使用 PostgreSQL / use PostgreSQL (default: SQLite in DIR)" },
		{ "--root-name", "NAME", &root_name, NULL, "根节点名称 / name of the root node" },
		{ "--root-kind", "KIND", &root_kind, NULL, "根节点层级 / kind of the root (county, city, province …)" },
		{ "--root-code", "CODE", &root_code, NULL, "根节点区划代码 / administrative code of the root" },
		{ "--password-stdin", NULL, NULL, &password_stdin, "从标准输入读取 admin 密码 / read the admin password from stdin" },
		{ 0 },
	};
	int rc = opts_parse(argc, argv, opts, pos, 0, &npos, "wangge init [--data DIR] [--db postgres://…]");
	if (rc)
		return rc == 1 ? 0 : 2;
	if (!grid_kind_level(root_kind))
		return wg_error("--root-kind: unknown kind '%s' / 未知层级", root_kind), 2;
	char path[1200], password[64];
	struct stat sb;
	snprintf(path, sizeof path, "%s/wangge.conf", data);
	if (stat(path, &sb) == 0)
		return wg_error("%s is already initialised / 数据目录已初始化", data), 1;
	if (make_dir(data))
		return 1;
	snprintf(path, sizeof path, "%s/keys", data);
	if (make_dir(path))
		return 1;
	static const struct { const char *name; size_t size; } keys[] = {
		{ "audit.key", 32 }, { "field.1.key", 32 }, { "blind.key", 32 }, { "pass_seed.key", 32 },
	};
	for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
		snprintf(path, sizeof path, "%s/keys/%s", data, keys[i].name);
		if (key_file_create(path, keys[i].size))
			return 1;
	}
	struct wg_config cfg;
	config_defaults(&cfg);
	snprintf(cfg.db, sizeof cfg.db, "%s", db ? db : "wangge.db");
	snprintf(path, sizeof path, "%s/wangge.conf", data);
	if (config_write(path, &cfg))
		return 1;
	struct wg_app *app;
	if (app_open(data, &app))
		return 1;
	int applied;
	rc = migrate_up(app->store, &applied);
	if (rc) {
		app_close(app);
		return wg_error("migration failed / 数据库迁移失败"), 1;
	}
	if (password_stdin) {
		if (cli_read_secret(password, sizeof password) || auth_check_password_rules(NULL, password)) {
			app_close(app);
			return wg_error("the admin password must be 10 to 256 characters / 密码长度应为 10 到 256"), 2;
		}
	} else {
		random_password(password, 17);
	}
	wg_conn *c;
	int64_t root, admin;
	store_acquire(app->store, &c);
	rc = store_begin(c);
	if (!rc) rc = grid_create_node(c, 0, root_kind, root_code, root_name, time(NULL), &root);
	if (!rc) rc = accounts_create_user(app, c, "admin", password, "admin", root, "系统管理员", &admin);
	struct audit_event ev = { "init", "system", "", "", NULL, NULL };
	if (!rc) rc = audit_write(app, c, NULL, "cli", "", time(NULL), &ev);
	rc = rc ? (store_rollback(c), rc) : store_commit(c);
	store_release(app->store, c);
	app_close(app);
	if (rc)
		return wg_error("cannot create the root node and admin / 无法创建根节点和管理员"), 1;
	printf("initialised %s (schema version %d, %s)\n", data, migrate_latest_version(db ? WG_POSTGRES : WG_SQLITE),
	       db ? "PostgreSQL" : "SQLite");
	if (!password_stdin)
		printf("admin password / 管理员初始密码 (shown once, 仅显示一次): %s\n", password);
	sodium_memzero(password, sizeof password);
	return 0;
}

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
	if (cli_open(data, &app))
		return 1;
	if (nthreads)
		app->config.threads = nthreads;
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
	rc = cli_register_routes();
	if (!rc)
		rc = cases_open_store(data);
	if (!rc)
		rc = audit_queue_start(app);
	struct wg_http_config hc = { listen, app->config.static_dir, app->config.threads };
	if (!rc)
		rc = http_start(app, &hc, &http);
	if (rc) {
		audit_queue_stop(app);
		cases_close_store();
		app_close(app);
		resource_release_all();
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
	cases_close_store();
	app_close(app);
	resource_release_all();
	log_info("stopped / 已停止");
	return 0;
}

int cmd_migrate(int argc, char **argv)
{
	const char *data = DEFAULT_DATA, *pos[1];
	int npos, applied;
	const struct wg_opt opts[] = {
		{ "--data", "DIR", &data, NULL, "数据目录 / data directory (default ./data)" },
		{ 0 },
	};
	int rc = opts_parse(argc, argv, opts, pos, 0, &npos, "wangge migrate [--data DIR]");
	if (rc)
		return rc == 1 ? 0 : 2;
	struct wg_app *app;
	if (app_open(data, &app))
		return 1;
	rc = migrate_up(app->store, &applied);
	printf("%d migration(s) applied; schema version %d\n", applied, migrate_latest_version(store_dialect(app->store)));
	app_close(app);
	return rc ? 1 : 0;
}

int cmd_backup(int argc, char **argv)
{
	const char *data = DEFAULT_DATA, *to = NULL, *pos[1];
	int npos;
	const struct wg_opt opts[] = {
		{ "--data", "DIR", &data, NULL, "数据目录 / data directory (default ./data)" },
		{ "--to", "FILE", &to, NULL, "备份文件 / the backup file to write" },
		{ 0 },
	};
	int rc = opts_parse(argc, argv, opts, pos, 0, &npos, "wangge backup --to FILE [--data DIR]");
	if (rc)
		return rc == 1 ? 0 : 2;
	if (!to)
		return wg_error("--to FILE is required / 请用 --to 指定备份文件"), 2;
	struct wg_app *app;
	if (cli_open(data, &app))
		return 1;
	if (store_dialect(app->store) == WG_POSTGRES) {
		app_close(app);
		return wg_error("the store is PostgreSQL: back it up with pg_dump (see docs/operations.md)"
				" / PostgreSQL 请使用 pg_dump 备份"), 2;
	}
	rc = store_backup(app->store, to);
	app_close(app);
	if (rc)
		return wg_error("backup to %s failed / 备份失败", to), 1;
	printf("backup written to %s (keys are not in it: copy %s/keys separately)\n", to, data);
	return 0;
}

int cmd_audit(int argc, char **argv)
{
	const char *data = DEFAULT_DATA, *pos[1];
	int npos;
	const struct wg_opt opts[] = {
		{ "--data", "DIR", &data, NULL, "数据目录 / data directory (default ./data)" },
		{ 0 },
	};
	int rc = opts_parse(argc, argv, opts, pos, 1, &npos, "wangge audit verify [--data DIR]");
	if (rc)
		return rc == 1 ? 0 : 2;
	if (npos != 1 || strcmp(pos[0], "verify") != 0) {
		opts_usage("wangge audit verify [--data DIR]", opts, stderr);
		return 2;
	}
	struct wg_app *app;
	struct audit_verify_result res;
	if (cli_open(data, &app))
		return 1;
	rc = audit_verify(app, &res);
	app_close(app);
	if (rc)
		return wg_error("cannot read the audit trail / 无法读取审计记录"), 1;
	if (res.first_bad_id) {
		printf("audit chain BROKEN / 审计链已被破坏: %s (%lld records checked)\n", res.reason, (long long)res.records);
		return 1;
	}
	printf("audit chain intact / 审计链完整: %lld records\n", (long long)res.records);
	return 0;
}

int cmd_routes(int argc, char **argv)
{
	const char *pos[1];
	int npos;
	const struct wg_opt opts[] = { { 0 } };
	int rc = opts_parse(argc, argv, opts, pos, 0, &npos, "wangge routes");
	if (rc)
		return rc == 1 ? 0 : 2;
	if (cli_register_routes())
		return 1;
	for (int i = 0; i < router_count(); i++) {
		const struct wg_route *r = router_get(i);
		printf("%-7s %-36s %-14s %s%s%s\n", r->method, r->pattern,
		       r->flags & ROUTE_PUBLIC ? "public" : rbac_right_name(r->right),
		       r->flags & ROUTE_WRITE ? "write " : "", r->flags & ROUTE_JSON ? "json " : "",
		       r->flags & ROUTE_UPLOAD ? "upload" : "");
	}
	resource_release_all();
	return 0;
}
