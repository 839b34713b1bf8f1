/* wangge demo: every module adds its share of the demo county (the grid
 * module the tree and the accounts, the others their records), in one
 * transaction, deterministic for a given seed. */
#include "cli/cli.h"
#include "core/audit/audit.h"
#include "core/lib/err.h"
#include "core/lib/limits.h"
#include "core/lib/opts.h"
#include "core/lib/parse.h"
#include "core/platform.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#define DEMO_USAGE "wangge demo [--data DIR] [--county CODE] [--seed N] [--persons N]"

int cmd_demo(int argc, char **argv)
{
	const char *data = "data", *county = "320923", *seed_text = "2020", *persons_text = "20000", *pos[1];
	int npos;
	const struct wg_opt opts[] = {
		{ "--data", "DIR", &data, NULL, "数据目录 / data directory (default ./data)" },
		{ "--county", "CODE", &county, NULL, "县级区划代码 / 6-digit county code (default 320923 阜宁县)" },
		{ "--seed", "N", &seed_text, NULL, "随机种子 / seed for the generated grids (default 2020)" },
		{ "--persons", "N", &persons_text, NULL, "演示人口数 / size of the synthetic population (default 20000; 0: places and accounts only)" },
		{ 0 },
	};
	int rc = opts_parse(argc, argv, opts, pos, 0, &npos, DEMO_USAGE);
	if (rc)
		return rc == 1 ? 0 : 2;
	uint64_t seed;
	uint32_t code;
	if (strlen(county) != 6 || !wg_parse_u32(county, 6, &code))
		return wg_error("--county must be a 6-digit county code / 县级代码应为 6 位数字"), 2;
	if (!wg_parse_u64(seed_text, strlen(seed_text), &seed) || seed == 0)
		return wg_error("--seed must be a positive integer / 种子应为正整数"), 2;
	uint64_t persons;
	if (!wg_parse_u64(persons_text, strlen(persons_text), &persons) || persons > WG_MAX_DEMO_PERSONS)
		return wg_error("--persons must be 0 to %u / 演示人口数应为 0 到 %u", WG_MAX_DEMO_PERSONS, WG_MAX_DEMO_PERSONS), 2;
	struct wg_app *app;
	if (cli_open(data, &app))
		return 1;
	struct wg_demo d = { .app = app, .now = time(NULL), .seed = seed, .county = county, .persons = persons };
	store_acquire(app->store, &d.c);
	rc = store_begin(d.c);
	if (!rc)
		rc = platform_demo(&d);
	struct audit_event ev = { "demo", "system", county, "", NULL, NULL };
	if (!rc)
		rc = audit_write(app, d.c, NULL, "cli", "", d.now, &ev);
	rc = rc ? (store_rollback(d.c), rc) : store_commit(d.c);
	store_release(app->store, d.c);
	cli_close(app);
	if (rc)
		return wg_error("demo failed (is the data directory fresh?) / 演示数据生成失败"), rc == WG_ERR_USAGE ? 2 : 1;
	return 0;
}
