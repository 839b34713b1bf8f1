/* Roles in the store: seeded, loaded into the table in force (rbac.h),
 * reloaded when another process changed them. */
#ifndef WG_ROLES_H
#define WG_ROLES_H

#include "core/auth/rbac.h"
#include "core/store/store.h"

/* Seeds the built-in roles and gives the default grants of every right
 * seen for the first time; its own transaction, and a no-op (two counts)
 * when nothing is new. */
int roles_sync(wg_conn *c, int64_t now);
/* Loads every role and its rights as the table in force. */
int roles_load(wg_conn *c);
/* Loads them again when roles changed since (another process, or roles_bump). */
int roles_refresh(wg_conn *c);
/* In the transaction that changes roles: tells every process to reload. */
int roles_bump(wg_conn *c);

#endif
