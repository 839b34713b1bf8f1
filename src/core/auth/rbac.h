/* Rights and roles: what a user may do. Where is their scope node (scope.h).
 *
 * A right is declared by the module that needs it, in its rights.def, one
 * line each, append only:
 *
 *   RIGHT(NAME, flags, "中文名称", "English label", "roles that hold it by default")
 *
 * The including file picks what a line becomes by defining RIGHT first:
 * WG_RIGHT_EXTERN in the module's public header (other modules may name
 * its rights), WG_RIGHT_DEFINE and WG_RIGHT_ENTRY in its rights.c, which
 * defines them and the NULL-terminated list the module declares. Routes
 * and resources point at the right itself (&right_GRID_READ); its place in a
 * role's bit set is given when the platform registers the modules, and
 * what is stored (role_rights) is the name, so the order never matters.
 *
 * Flags (separation of duties, checked whenever a role is made or edited):
 *   RIGHT_WRITES    changes records: a role that reads the audit trail
 *                   holds none (the auditor writes nothing)
 *   RIGHT_PERSONAL  sees personal data whole: a role that administers the
 *                   system (SYSTEM) holds none
 *
 * Roles are data (table roles, role_rights): the built-in ones (roles.def)
 * are seeded with the default grants of every right the first time the
 * right is seen; an administrator may add roles made of rights they hold. */
#ifndef WG_RBAC_H
#define WG_RBAC_H

#include "core/lib/limits.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define RIGHT_WRITES   (1u << 0)
#define RIGHT_PERSONAL (1u << 1)

struct wg_right {
	const char *name, *zh, *en;
	unsigned flags;
	const char *granted;   /* built-in roles holding it by default, separated by spaces */
	int bit;               /* place in a role's set; -1 until registered */
	const char *module;    /* the module that declared it (set at registration) */
};

#define WG_RIGHT_EXTERN(NAME, flags, zh, en, roles) extern struct wg_right right_##NAME;
#define WG_RIGHT_DEFINE(NAME, flags, zh, en, roles) struct wg_right right_##NAME = { #NAME, zh, en, flags, roles, -1, NULL };
#define WG_RIGHT_ENTRY(NAME, flags, zh, en, roles) &right_##NAME,

/* The platform's own rights (core/auth/rights.def). */
#define RIGHT WG_RIGHT_EXTERN
#include "core/auth/rights.def"
#undef RIGHT
extern struct wg_right *const core_rights[];

struct wg_rights {
	uint64_t w[WG_MAX_RIGHTS / 64];
};

struct wg_role {
	int64_t id;                          /* 0 for a role not stored (tests) */
	char name[WG_MAX_ROLE_NAME + 1];     /* "grid_worker" */
	char zh[WG_MAX_ROLE_LABEL + 1];      /* "网格员" */
	char en[WG_MAX_ROLE_LABEL + 1];
	int rank;                            /* may manage users of a lower rank (admin: any) */
	bool builtin;
	int64_t version;
	struct wg_rights rights;
};

/* A built-in role (roles.def): seeded into every store. */
struct wg_builtin_role {
	const char *name, *zh, *en;
	int rank;
};
const struct wg_builtin_role *rbac_builtin_roles(size_t *n);

/* Registers a NULL-terminated list of rights (module order); a name declared twice is an error. */
int  rights_register(struct wg_right *const *rights, const char *module);
void rights_reset(void);
int  rights_count(void);
const struct wg_right *right_at(int i);
const struct wg_right *right_named(const char *name);

bool rights_has(const struct wg_rights *set, const struct wg_right *right);
void rights_add(struct wg_rights *set, const struct wg_right *right);
/* The first right of set that b lacks, NULL when set is within b. */
const struct wg_right *rights_beyond(const struct wg_rights *set, const struct wg_rights *b);
/* Separation of duties: NULL, or why set cannot be one role's (zh, en). */
const char *rights_conflict(const struct wg_rights *set, const char **en);

/* NULL right: any signed-in user. */
bool rbac_allows(const struct wg_role *role, const struct wg_right *right);
const char *rbac_right_name(const struct wg_right *right);
/* Whether actor may create, change, disable or sign out accounts of role
 * target: never one that reads the audit trail (that is done on the
 * server, `wangge user`); the admin any other; others lower ranks only. */
bool rbac_may_manage(const struct wg_role *actor, const struct wg_role *target);
/* The role reads the audit trail (AUDIT_READ). */
bool rbac_reads_audit(const struct wg_role *role);

/* The roles in force: a table replaced as a whole when roles change. A
 * role handed out stays valid until the process ends (sessions keep it). */
const struct wg_role *rbac_role(const char *name);
const struct wg_role *rbac_role_by_id(int64_t id);
/* The roles in force, highest rank first: up to max into out; returns how many. */
size_t rbac_roles(const struct wg_role **out, size_t max);
/* Takes n roles (copied) as the table in force. */
int  rbac_install(const struct wg_role *roles, size_t n);
/* The built-in roles with the default grants of the registered rights (no store needed). */
int  rbac_install_defaults(void);
void rbac_release(void);

#endif
