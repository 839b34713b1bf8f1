/* wangge: one program, one table of commands: the platform's own, then
 * every module's (src/modules.c). */
#include "cli/cli.h"
#include "core/app/module.h"
#include "core/lib/json.h"
#include "core/platform.h"

#include <stdio.h>
#include <string.h>

static const struct wg_command commands[] = {
	{ "init",    cmd_init,    "创建数据目录、密钥、数据库和 admin 账户 / create the data directory, keys, schema and admin" },
	{ "serve",   cmd_serve,   "启动 HTTP 服务(API 和网页) / serve the API and the web UI" },
	{ "migrate", cmd_migrate, "升级数据库结构 / apply pending schema migrations" },
	{ "user",    cmd_user,    "管理账户 / add, list, disable users, set passwords" },
	{ "import",  cmd_import,  "从 CSV/XLSX/XLS 导入(网格、户、人员、场所……) / import grids, households, persons, … from a spreadsheet" },
	{ "keys",    cmd_keys,    "轮换个人信息加密密钥 / rotate the personal-data encryption key" },
	{ "demo",    cmd_demo,    "生成演示县(真实区划)、演示账户和各模块的演示数据 / build the demo county, accounts and data" },
	{ "backup",  cmd_backup,  "在线备份 SQLite 数据库 / online backup of the SQLite store" },
	{ "audit",   cmd_audit,   "校验审计链(含归档与检查点)、归档旧记录 / verify the audit trail (archives, checkpoints), archive old records" },
	{ "routes",  cmd_routes,  "列出全部接口及所需权限 / list every API route and the right it needs" },
};

static void print_command(FILE *to, const struct wg_command *c)
{
	fprintf(to, "  %-9s %s\n", c->name, c->help);
}

static void usage(FILE *to)
{
	fprintf(to, "usage: wangge COMMAND [options]   (wangge COMMAND --help)\n\ncommands:\n");
	for (size_t i = 0; i < WG_COUNT(commands); i++)
		print_command(to, &commands[i]);
	for (size_t i = 0; wg_modules[i]; i++)
		for (size_t k = 0; k < wg_modules[i]->ncommands; k++)
			print_command(to, &wg_modules[i]->commands[k]);
}

int main(int argc, char **argv)
{
#ifndef __SANITIZE_ADDRESS__  /* ASan watches each of jansson's blocks itself */
	json_alloc_install();
#endif
	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "help") == 0) {
		usage(stdout);
		return 0;
	}
	for (size_t i = 0; i < WG_COUNT(commands); i++)
		if (strcmp(commands[i].name, argv[1]) == 0)
			return commands[i].run(argc - 1, argv + 1);
	const struct wg_command *c = platform_command(argv[1]);
	if (c)
		return c->run(argc - 1, argv + 1);
	fprintf(stderr, "wangge: 未知命令 / unknown command: %s\n", argv[1]);
	usage(stderr);
	return 2;
}
