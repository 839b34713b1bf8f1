/* wangge init: the data directory, its keys, the schema, the root node and the admin account. */
#include "cli/cli.h"
#include "core/audit/audit.h"
#include "core/auth/auth.h"
#include "core/lib/err.h"
#include "core/lib/opts.h"
#include "core/platform.h"
#include "grid/grid.h"

#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#define DEFAULT_DATA "data"

static void random_password(char *out, size_t size)
{
	static const char alphabet[] = "abcdefghijkmnpqrstuvwxyzACDEFGHJKLMNPQRTUVWXY345679";
	for (size_t i = 0; i + 1 < size; i++)
		out[i] = alphabet[randombytes_uniform(sizeof alphabet - 1)];
	out[size - 1] = '\0';
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
		{ "audit.key", 32 }, { "audit_sign.key", 32 }, { "field.1.key", 32 }, { "blind.key", 32 }, { "pass_seed.key", 32 },
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
	rc = platform_declare();
	if (!rc)
		rc = platform_migrate(app->store, &applied);
	if (!rc)
		rc = platform_ready(app);
	if (rc) {
		platform_close(app);
		return wg_error("migration failed / 数据库迁移失败"), 1;
	}
	if (password_stdin) {
		char zh[WG_PASSWORD_WHY], en[WG_PASSWORD_WHY];
		if (cli_read_secret(password, sizeof password)) {
			platform_close(app);
			return 2;
		}
		if (auth_password_problem(&app->config, password, "admin", zh, en)) {
			platform_close(app);
			return wg_error("%s / %s", en, zh), 2;
		}
	} else {
		char zh[WG_PASSWORD_WHY], en[WG_PASSWORD_WHY];
		do
			random_password(password, 17);
		while (auth_password_problem(&app->config, password, "admin", zh, en));
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
	platform_close(app);
	platform_forget();
	if (rc)
		return wg_error("cannot create the root node and admin / 无法创建根节点和管理员"), 1;
	printf("initialised %s (%d migrations, %s)\n", data, applied, db ? "PostgreSQL" : "SQLite");
	if (!password_stdin)
		printf("admin password / 管理员初始密码 (shown once, 仅显示一次): %s\n", password);
	sodium_memzero(password, sizeof password);
	return 0;
}
