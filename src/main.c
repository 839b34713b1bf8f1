/* wangge: one program, one table of commands. */
#include "cli/cli.h"
#include "registry/registry.h"
#include "trace/trace.h"

#include <stdio.h>
#include <string.h>

struct command {
	const char *name;
	int (*run)(int argc, char **argv);
	const char *help;
};

static const struct command commands[] = {
	{ "init",    cmd_init,    "创建数据目录、密钥、数据库和 admin 账户 / create the data directory, keys, schema and admin" },
	{ "serve",   cmd_serve,   "启动 HTTP 服务(API 和网页) / serve the API and the web UI" },
	{ "migrate", cmd_migrate, "升级数据库结构 / apply pending schema migrations" },
	{ "user",    cmd_user,    "管理账户 / add, list, disable users, set passwords" },
	{ "import",  cmd_import,  "从 CSV/XLSX/XLS 导入网格、户、人员 / import grids, households or persons from a spreadsheet" },
	{ "keys",    cmd_keys,    "轮换个人信息加密密钥 / rotate the personal-data encryption key" },
	{ "demo",    cmd_demo,    "生成演示县(真实区划)和演示账户 / build a demo county and demo accounts" },
	{ "backup",  cmd_backup,  "在线备份 SQLite 数据库 / online backup of the SQLite store" },
	{ "audit",   cmd_audit,   "校验审计链 / verify the audit chain" },
	{ "trace",   trace_cmd,   "流调:密接、次密接、时空伴随 / contact tracing" },
	{ "routes",  cmd_routes,  "列出全部接口及所需权限 / list every API route and the right it needs" },
};

static void usage(FILE *to)
{
	fprintf(to, "usage: wangge COMMAND [options]   (wangge COMMAND --help)\n\ncommands:\n");
	for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
		fprintf(to, "  %-9s %s\n", commands[i].name, commands[i].help);
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "help") == 0) {
		usage(stdout);
		return 0;
	}
	for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
		if (strcmp(commands[i].name, argv[1]) == 0)
			return commands[i].run(argc - 1, argv + 1);
	fprintf(stderr, "wangge: 未知命令 / unknown command: %s\n", argv[1]);
	usage(stderr);
	return 2;
}
