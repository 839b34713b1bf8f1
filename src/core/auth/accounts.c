/* Accounts made directly, outside a request (init, demo, the CLI). */
#include "core/auth/auth.h"
#include "core/lib/err.h"

#include <time.h>

int accounts_create_user(struct wg_app *app, wg_conn *c, const char *username, const char *password,
			 const char *role, int64_t scope_node_id, const char *display_name, int64_t *id)
{
	char hash[128];
	if (!rbac_role(role))
		return WG_ERR_VALIDATION;
	int rc = auth_hash_password(&app->config, password, hash);
	if (rc)
		return rc;
	int64_t now = time(NULL);
	wg_param p[] = { WG_PTEXT(username), WG_PTEXT(hash), WG_PTEXT(role), WG_PINT(scope_node_id),
			 WG_PTEXT(display_name ? display_name : ""), WG_PINT(now), WG_PINT(now) };
	return store_int(c, "INSERT INTO users (username, password_hash, role, scope_node_id, display_name, created_at, updated_at)"
			    " VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id", p, 7, id);
}
