#include "core/auth/rbac.h"
#include "core/lib/err.h"
#include "core/lib/mem.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define RIGHT WG_RIGHT_DEFINE
#include "core/auth/rights.def"
#undef RIGHT

struct wg_right *const core_rights[] = {
#define RIGHT WG_RIGHT_ENTRY
#include "core/auth/rights.def"
#undef RIGHT
	NULL,
};

static const struct wg_builtin_role builtin_roles[] = {
#define ROLE(name, zh, en, rank) { #name, zh, en, rank },
#include "core/auth/roles.def"
#undef ROLE
};

const struct wg_builtin_role *rbac_builtin_roles(size_t *n)
{
	*n = sizeof builtin_roles / sizeof builtin_roles[0];
	return builtin_roles;
}

/* ---- rights ---- */

static struct wg_right *registered[WG_MAX_RIGHTS];
static int nregistered;

int rights_register(struct wg_right *const *rights, const char *module)
{
	for (size_t i = 0; rights[i]; i++) {
		if (right_named(rights[i]->name))
			return wg_error("right %s is declared twice / 权限重复声明", rights[i]->name), WG_ERR_INTERNAL;
		if (nregistered == (int)WG_MAX_RIGHTS)
			return wg_error("more than %u rights / 权限过多", WG_MAX_RIGHTS), WG_ERR_TOO_LARGE;
		rights[i]->bit = nregistered;
		rights[i]->module = module;
		registered[nregistered++] = rights[i];
	}
	return 0;
}

void rights_reset(void)
{
	for (int i = 0; i < nregistered; i++)
		registered[i]->bit = -1;
	nregistered = 0;
}

int rights_count(void) { return nregistered; }

const struct wg_right *right_at(int i)
{
	return i >= 0 && i < nregistered ? registered[i] : NULL;
}

const struct wg_right *right_named(const char *name)
{
	for (int i = 0; i < nregistered; i++)
		if (strcmp(registered[i]->name, name) == 0)
			return registered[i];
	return NULL;
}

bool rights_has(const struct wg_rights *set, const struct wg_right *right)
{
	if (!right || right->bit < 0)
		return false;
	return (set->w[right->bit / 64] >> (right->bit % 64)) & 1u;
}

void rights_add(struct wg_rights *set, const struct wg_right *right)
{
	if (right && right->bit >= 0)
		set->w[right->bit / 64] |= (uint64_t)1 << (right->bit % 64);
}

const struct wg_right *rights_beyond(const struct wg_rights *set, const struct wg_rights *b)
{
	for (int i = 0; i < nregistered; i++)
		if (rights_has(set, registered[i]) && !rights_has(b, registered[i]))
			return registered[i];
	return NULL;
}

const char *rights_conflict(const struct wg_rights *set, const char **en)
{
	bool writes = false, personal = false;
	for (int i = 0; i < nregistered; i++) {
		if (!rights_has(set, registered[i]))
			continue;
		writes |= (registered[i]->flags & RIGHT_WRITES) != 0;
		personal |= (registered[i]->flags & RIGHT_PERSONAL) != 0;
	}
	if (writes && rights_has(set, &right_AUDIT_READ)) {
		*en = "a role that reads the audit trail may not change records (separation of duties)";
		return "查看审计记录的角色不能有修改数据的权限(职责分离)";
	}
	if (personal && rights_has(set, &right_SYSTEM)) {
		*en = "a role that administers the system may not see personal data whole (separation of duties)";
		return "系统管理角色不能查看完整的个人信息(职责分离)";
	}
	return NULL;
}

bool rbac_allows(const struct wg_role *role, const struct wg_right *right)
{
	if (!right)
		return true;
	return role && rights_has(&role->rights, right);
}

const char *rbac_right_name(const struct wg_right *right)
{
	return right ? right->name : "none";
}

bool rbac_may_manage(const struct wg_role *actor, const struct wg_role *target)
{
	if (!rbac_allows(actor, &right_USER_WRITE))
		return false;
	/* Those who are audited do not appoint, reset or disable their
	 * auditors, the administrator included (separation of duties): an
	 * auditor's account is managed on the server (`wangge user`), audited. */
	if (rbac_reads_audit(target))
		return false;
	if (strcmp(actor->name, "admin") == 0)
		return true;
	return target->rank < actor->rank;
}

bool rbac_reads_audit(const struct wg_role *role)
{
	return role && rights_has(&role->rights, &right_AUDIT_READ);
}

/* ---- the roles in force ---- */

/* Tables replaced are kept, not freed: a session may still hold one of
 * their roles. Roles change by hand, a handful of times in a store's life. */
struct role_table {
	struct role_table *older;
	size_t n;
	struct wg_role roles[];
};

static pthread_mutex_t table_lock = PTHREAD_MUTEX_INITIALIZER;
static struct role_table *current;
static const struct wg_role *by_rank[WG_MAX_ROLES];

static int compare_rank(const void *a, const void *b)
{
	const struct wg_role *x = *(const struct wg_role *const *)a, *y = *(const struct wg_role *const *)b;
	if (x->rank != y->rank)
		return x->rank > y->rank ? -1 : 1;
	return x->id < y->id ? -1 : x->id > y->id;
}

int rbac_install(const struct wg_role *roles, size_t n)
{
	if (n > WG_MAX_ROLES)
		return WG_ERR_TOO_LARGE;
	struct role_table *t = wg_malloc(sizeof *t + n * sizeof t->roles[0]);
	if (!t)
		return WG_ERR_NOMEM;
	t->n = n;
	memcpy(t->roles, roles, n * sizeof roles[0]);
	pthread_mutex_lock(&table_lock);
	t->older = current;
	current = t;
	for (size_t i = 0; i < n; i++)
		by_rank[i] = &t->roles[i];
	qsort(by_rank, n, sizeof by_rank[0], compare_rank);
	pthread_mutex_unlock(&table_lock);
	return 0;
}

int rbac_install_defaults(void)
{
	struct wg_role roles[sizeof builtin_roles / sizeof builtin_roles[0]];
	memset(roles, 0, sizeof roles);
	for (size_t i = 0; i < sizeof builtin_roles / sizeof builtin_roles[0]; i++) {
		struct wg_role *r = &roles[i];
		snprintf(r->name, sizeof r->name, "%s", builtin_roles[i].name);
		snprintf(r->zh, sizeof r->zh, "%s", builtin_roles[i].zh);
		snprintf(r->en, sizeof r->en, "%s", builtin_roles[i].en);
		r->rank = builtin_roles[i].rank;
		r->builtin = true;
		r->version = 1;
		for (int k = 0; k < nregistered; k++) {
			/* "admin command …": the name as a whole word of the list */
			const char *g = registered[k]->granted;
			size_t len = strlen(r->name);
			for (const char *p = strstr(g, r->name); p; p = strstr(p + 1, r->name))
				if ((p == g || p[-1] == ' ') && (p[len] == ' ' || p[len] == '\0')) {
					rights_add(&r->rights, registered[k]);
					break;
				}
		}
	}
	return rbac_install(roles, sizeof roles / sizeof roles[0]);
}

const struct wg_role *rbac_role(const char *name)
{
	const struct wg_role *found = NULL;
	pthread_mutex_lock(&table_lock);
	for (size_t i = 0; current && i < current->n && !found; i++)
		if (strcmp(current->roles[i].name, name) == 0)
			found = &current->roles[i];
	pthread_mutex_unlock(&table_lock);
	return found;
}

const struct wg_role *rbac_role_by_id(int64_t id)
{
	const struct wg_role *found = NULL;
	pthread_mutex_lock(&table_lock);
	for (size_t i = 0; current && i < current->n && !found; i++)
		if (current->roles[i].id == id)
			found = &current->roles[i];
	pthread_mutex_unlock(&table_lock);
	return found;
}

size_t rbac_roles(const struct wg_role **out, size_t max)
{
	pthread_mutex_lock(&table_lock);
	size_t n = current ? current->n : 0;
	if (n > max)
		n = max;
	memcpy(out, by_rank, n * sizeof out[0]);
	pthread_mutex_unlock(&table_lock);
	return n;
}

void rbac_release(void)
{
	pthread_mutex_lock(&table_lock);
	while (current) {
		struct role_table *older = current->older;
		wg_free(current);
		current = older;
	}
	pthread_mutex_unlock(&table_lock);
}
