/* Roles in the store (roles, role_rights, rights_seen, roles_generation):
 * seeded, loaded into the table in force (rbac.h) and kept in step with
 * changes made by other processes. */
#include "core/auth/roles.h"
#include "core/lib/err.h"
#include "core/lib/mem.h"

#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

static _Atomic int64_t loaded_generation = -1;

/* Grants every registered right not seen before to the built-in roles its
 * declaration names, and records it as seen. */
static int grant_unseen(wg_conn *c, int64_t now)
{
	for (int i = 0; i < rights_count(); i++) {
		const struct wg_right *right = right_at(i);
		int64_t seen = 0;
		wg_param p[] = { WG_PTEXT(right->name) };
		int rc = store_int(c, "SELECT COUNT(*) FROM rights_seen WHERE name = ?", p, 1, &seen);
		if (rc)
			return rc;
		if (seen)
			continue;
		char granted[512];
		snprintf(granted, sizeof granted, "%s", right->granted);
		for (char *save = NULL, *role = strtok_r(granted, " ", &save); role; role = strtok_r(NULL, " ", &save)) {
			wg_param g[] = { WG_PTEXT(right->name), WG_PTEXT(role) };
			rc = store_run(c, "INSERT INTO role_rights (role_id, right_name) SELECT id, ? FROM roles"
				       " WHERE name = ? AND builtin = 1 ON CONFLICT DO NOTHING", g, 2);
			if (rc)
				return rc;
		}
		wg_param s[] = { WG_PTEXT(right->name), WG_PINT(now) };
		rc = store_run(c, "INSERT INTO rights_seen (name, seen_at) VALUES (?, ?) ON CONFLICT DO NOTHING", s, 2);
		if (rc)
			return rc;
	}
	return 0;
}

static int seed_builtin(wg_conn *c, int64_t now)
{
	size_t n;
	const struct wg_builtin_role *b = rbac_builtin_roles(&n);
	for (size_t i = 0; i < n; i++) {
		wg_param p[] = { WG_PTEXT(b[i].name), WG_PTEXT(b[i].zh), WG_PTEXT(b[i].en), WG_PINT(b[i].rank),
				 WG_PINT(now), WG_PINT(now) };
		int rc = store_run(c, "INSERT INTO roles (name, zh, en, rank, builtin, created_at, updated_at)"
				   " VALUES (?, ?, ?, ?, 1, ?, ?) ON CONFLICT (name) DO NOTHING", p, 6);
		if (rc)
			return rc;
	}
	return 0;
}

/* Whether something is new: a built-in role or a right the store lacks. */
static int sync_needed(wg_conn *c, bool *needed)
{
	int64_t roles = 0, seen = 0;
	size_t n;
	rbac_builtin_roles(&n);
	int rc = store_int(c, "SELECT COUNT(*) FROM roles WHERE builtin = 1", NULL, 0, &roles);
	if (!rc)
		rc = store_int(c, "SELECT COUNT(*) FROM rights_seen", NULL, 0, &seen);
	*needed = roles < (int64_t)n || seen < rights_count();
	return rc;
}

int roles_sync(wg_conn *c, int64_t now)
{
	bool needed;
	int rc = sync_needed(c, &needed);
	if (rc || !needed)
		return rc;
	rc = store_begin(c);
	if (rc)
		return rc;
	rc = seed_builtin(c, now);
	if (!rc)
		rc = grant_unseen(c, now);
	if (!rc)
		rc = roles_bump(c);
	if (rc) {
		store_rollback(c);
		return rc;
	}
	return store_commit(c);
}

int roles_bump(wg_conn *c)
{
	return store_run(c, "UPDATE roles_generation SET generation = generation + 1 WHERE id = 1", NULL, 0);
}

static struct wg_role *find(struct wg_role *roles, size_t n, int64_t id)
{
	for (size_t i = 0; i < n; i++)
		if (roles[i].id == id)
			return &roles[i];
	return NULL;
}

int roles_load(wg_conn *c)
{
	int64_t generation = 0;
	wg_stmt *s;
	struct wg_role *roles = wg_calloc(WG_MAX_ROLES, sizeof *roles);
	size_t n = 0;
	if (!roles)
		return WG_ERR_NOMEM;
	int rc = store_int(c, "SELECT generation FROM roles_generation WHERE id = 1", NULL, 0, &generation);
	if (!rc)
		rc = store_query(c, "SELECT id, name, zh, en, rank, builtin, version FROM roles ORDER BY id", NULL, 0, &s);
	if (rc)
		goto out;
	while ((rc = stmt_next(s)) == 1 && n < WG_MAX_ROLES) {
		struct wg_role *r = &roles[n++];
		r->id = stmt_int(s, 0);
		snprintf(r->name, sizeof r->name, "%s", stmt_text(s, 1));
		snprintf(r->zh, sizeof r->zh, "%s", stmt_text(s, 2));
		snprintf(r->en, sizeof r->en, "%s", stmt_text(s, 3));
		r->rank = (int)stmt_int(s, 4);
		r->builtin = stmt_int(s, 5) != 0;
		r->version = stmt_int(s, 6);
	}
	stmt_done(s);
	if (rc < 0) {
		rc = -rc;
		goto out;
	}
	rc = store_query(c, "SELECT role_id, right_name FROM role_rights", NULL, 0, &s);
	if (rc)
		goto out;
	while ((rc = stmt_next(s)) == 1) {
		struct wg_role *r = find(roles, n, stmt_int(s, 0));
		/* A right no module declares any more (a module removed) grants nothing. */
		if (r)
			rights_add(&r->rights, right_named(stmt_text(s, 1)));
	}
	stmt_done(s);
	rc = rc < 0 ? -rc : rbac_install(roles, n);
	if (!rc)
		atomic_store(&loaded_generation, generation);
out:
	wg_free(roles);
	return rc;
}

int roles_refresh(wg_conn *c)
{
	int64_t generation = 0;
	int rc = store_int(c, "SELECT generation FROM roles_generation WHERE id = 1", NULL, 0, &generation);
	if (rc || generation == atomic_load(&loaded_generation))
		return rc;
	return roles_load(c);
}
