/* wangge migrate, backup, audit verify: looking after the store. */
#include "cli/cli.h"
#include "core/audit/audit.h"
#include "core/lib/err.h"
#include "core/lib/opts.h"
#include "core/platform.h"

#include <stdio.h>
#include <string.h>

#define DEFAULT_DATA "data"

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
	rc = platform_declare();
	if (!rc)
		rc = platform_migrate(app->store, &applied);
	if (!rc)
		printf("%d migration(s) applied / 已应用 %d 个迁移\n", applied, applied);
	app_close(app);
	platform_forget();
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
		cli_close(app);
		return wg_error("the store is PostgreSQL: back it up with pg_dump (see docs/operations.md)"
				" / PostgreSQL 请使用 pg_dump 备份"), 2;
	}
	rc = store_backup(app->store, to);
	cli_close(app);
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
	cli_close(app);
	if (rc)
		return wg_error("cannot read the audit trail / 无法读取审计记录"), 1;
	if (res.first_bad_id) {
		printf("audit chain BROKEN / 审计链已被破坏: %s (%lld records checked)\n", res.reason, (long long)res.records);
		return 1;
	}
	printf("audit chain intact / 审计链完整: %lld records\n", (long long)res.records);
	return 0;
}
