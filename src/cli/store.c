/* wangge migrate, backup, audit verify: looking after the store. */
#include "cli/cli.h"
#include "core/audit/archive.h"
#include "core/audit/audit.h"
#include "core/lib/parse.h"
#include "core/lib/err.h"
#include "core/lib/crypt.h"
#include "core/lib/mem.h"
#include "core/lib/opts.h"
#include "core/platform.h"

#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

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

#define AUDIT_USAGE "wangge audit verify [--checkpoints FILE] [--data DIR]\n" \
		    "       wangge audit archive [--days N] [--data DIR]"

static int audit_verify_cmd(struct wg_app *app, const char *extra)
{
	struct audit_verify_result res;
	int rc = audit_verify(app, extra, &res);
	if (rc)
		return wg_error("cannot read the audit trail / 无法读取审计记录"), 1;
	if (res.first_bad_id) {
		printf("audit chain BROKEN / 审计链已被破坏: %s (%lld records checked)\n", res.reason, (long long)res.records);
		return 1;
	}
	printf("audit chain intact / 审计链完整: %lld records, %lld checkpoints, %lld archives\n", (long long)res.records,
	       (long long)res.checkpoints, (long long)res.archives);
	return 0;
}

int cmd_audit(int argc, char **argv)
{
	const char *data = DEFAULT_DATA, *extra = NULL, *days = NULL, *pos[1];
	int npos;
	const struct wg_opt opts[] = {
		{ "--data", "DIR", &data, NULL, "数据目录 / data directory (default ./data)" },
		{ "--checkpoints", "FILE", &extra, NULL, "另存的检查点(如导出的日志)一并比对 / also compare the checkpoint lines of FILE (e.g. the log)" },
		{ "--days", "N", &days, NULL, "归档早于 N 天的记录(默认取 audit_archive_days;0 = 已签名的全部) / archive records older than N days" },
		{ 0 },
	};
	int rc = opts_parse(argc, argv, opts, pos, 1, &npos, AUDIT_USAGE);
	if (rc)
		return rc == 1 ? 0 : 2;
	bool verify = npos == 1 && strcmp(pos[0], "verify") == 0, archive = npos == 1 && strcmp(pos[0], "archive") == 0;
	uint32_t ndays = 0;
	if ((!verify && !archive) || (days && (!archive || !wg_parse_u32(days, strlen(days), &ndays) || ndays > 36500))) {
		opts_usage(AUDIT_USAGE, opts, stderr);
		return 2;
	}
	struct wg_app *app;
	if (cli_open(data, &app))
		return 1;
	if (verify) {
		rc = audit_verify_cmd(app, extra);
	} else {
		int64_t moved = 0;
		int64_t keep = days ? (int64_t)ndays : app->config.audit_archive_days;
		/* --days 0: every record a checkpoint has signed, however new. */
		rc = audit_archive_run(app, keep ? time(NULL) - keep * 86400 : INT64_MAX, &moved);
		if (rc)
			wg_error("archiving failed (%s) / 归档失败", wg_err_code(rc));
		else
			printf("%lld audit records archived to %s/audit/archive / 已归档 %lld 条审计记录\n", (long long)moved, data,
			       (long long)moved);
		rc = rc ? 1 : 0;
	}
	cli_close(app);
	return rc;
}
