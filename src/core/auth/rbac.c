#include "core/auth/rbac.h"

#include <string.h>

#define R(x) (1u << RIGHT_##x)

/* Least privilege: each role holds only what its work needs. The auditor reads
 * the audit trail and nothing it could change; the admin manages the system
 * and accounts but does not read the registry's personal data in full. */
static const struct wg_role roles[] = {
	{ "admin",        "系统管理员",   "administrator",          100,
	  R(GRID_READ) | R(GRID_WRITE) | R(USER_READ) | R(USER_WRITE) | R(AUDIT_READ) | R(SYSTEM) | R(PERSON_READ) },
	{ "command",      "指挥部",       "command center",          80,
	  R(GRID_READ) | R(GRID_WRITE) | R(USER_READ) | R(USER_WRITE) | R(PERSON_READ) | R(PERSON_WRITE) | R(PERSON_REVEAL) | R(TRACE_RUN) | R(SCAN_WRITE) },
	{ "community",    "社区工作人员", "community staff",         60,
	  R(GRID_READ) | R(GRID_WRITE) | R(USER_READ) | R(USER_WRITE) | R(PERSON_READ) | R(PERSON_WRITE) | R(PERSON_REVEAL) | R(SCAN_WRITE) },
	{ "party_admin",  "党组织管理员", "party organization admin", 40,
	  R(GRID_READ) | R(USER_READ) },
	{ "grid_worker",  "网格员",       "grid worker",              20,
	  R(GRID_READ) | R(PERSON_READ) | R(PERSON_WRITE) | R(SCAN_WRITE) },
	{ "checkpoint",   "卡口值守",     "checkpoint duty",          20,
	  R(GRID_READ) | R(SCAN_WRITE) },
	{ "commissioner", "驻企特派员",   "enterprise commissioner",  20,
	  R(GRID_READ) },
	{ "volunteer",    "志愿者",       "volunteer",                10,
	  R(GRID_READ) },
	{ "auditor",      "审计管理员",   "auditor",                  10,
	  R(AUDIT_READ) },
};

static const char *const right_names[] = {
#define WG_RIGHT_NAME(name, zh, en) #name,
	WG_RIGHTS(WG_RIGHT_NAME)
#undef WG_RIGHT_NAME
};

const struct wg_role *rbac_role(const char *name)
{
	for (size_t i = 0; i < sizeof roles / sizeof roles[0]; i++)
		if (strcmp(roles[i].name, name) == 0)
			return &roles[i];
	return NULL;
}

const struct wg_role *rbac_roles(int *count)
{
	*count = (int)(sizeof roles / sizeof roles[0]);
	return roles;
}

bool rbac_allows(const struct wg_role *role, int right)
{
	if (right == RIGHT_NONE)
		return true;
	if (!role || right < 0 || right >= RIGHT__COUNT)
		return false;
	return (role->rights >> right) & 1u;
}

const char *rbac_right_name(int right)
{
	if (right < 0 || right >= RIGHT__COUNT)
		return "none";
	return right_names[right];
}

bool rbac_may_manage(const struct wg_role *actor, const struct wg_role *target)
{
	if (!rbac_allows(actor, RIGHT_USER_WRITE))
		return false;
	if (strcmp(actor->name, "admin") == 0)
		return true;
	/* Those who are audited do not appoint their auditors. */
	if (strcmp(target->name, "auditor") == 0)
		return false;
	return target->rank < actor->rank;
}
