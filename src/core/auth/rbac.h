/* Roles and rights: which role may do what, declared in one table (rbac.c).
 * Where a user may do it is their scope node: see scope.h. */
#ifndef WG_RBAC_H
#define WG_RBAC_H

#include <stdbool.h>
#include <stdint.h>

/* X(name, zh-CN, English) — append only. */
#define WG_RIGHTS(X) \
	X(GRID_READ,    "查看网格",         "read the grid tree") \
	X(GRID_WRITE,   "维护网格",         "edit the grid tree") \
	X(USER_READ,    "查看账户",         "read user accounts") \
	X(USER_WRITE,   "管理账户",         "manage user accounts") \
	X(AUDIT_READ,   "查看审计记录",     "read the audit trail") \
	X(PERSON_READ,  "查看人员信息",     "read households and persons") \
	X(PERSON_WRITE, "登记人员信息",     "edit households and persons") \
	X(PERSON_REVEAL,"查看完整身份证号和电话", "reveal full ID numbers and phones") \
	X(TRACE_RUN,    "流调研判",         "run contact tracing") \
	X(SYSTEM,       "系统管理",         "system administration") \
	X(SCAN_WRITE,   "登记场所扫码",     "record venue scans")

enum wg_right {
	RIGHT_NONE = -1,
#define WG_RIGHT_ENUM(name, zh, en) RIGHT_##name,
	WG_RIGHTS(WG_RIGHT_ENUM)
#undef WG_RIGHT_ENUM
	RIGHT__COUNT
};

struct wg_role {
	const char *name;     /* "grid_worker" */
	const char *zh;       /* "网格员" */
	const char *en;
	int rank;             /* may create users only of a lower rank (admin creates any) */
	uint32_t rights;      /* bit per enum wg_right */
};

const struct wg_role *rbac_role(const char *name);
const struct wg_role *rbac_roles(int *count);
bool rbac_allows(const struct wg_role *role, int right);
const char *rbac_right_name(int right);
/* May a user of role `actor` create or edit a user of role `target`? */
bool rbac_may_manage(const struct wg_role *actor, const struct wg_role *target);

#endif
