/* Accounts: password hashing, sessions, sign-in lockout. */
#ifndef WG_AUTH_H
#define WG_AUTH_H

#include "core/app/app.h"
#include "core/http/http.h"

#define WG_SESSION_COOKIE "wg_session"

int  auth_hash_password(const struct wg_config *cfg, const char *password, char out[128]);
bool auth_verify_password(const char *hash, const char *password);
/* Checks a new password's length; fills r->fail (field "password") when r is given. */
int  auth_check_password_rules(wg_req *r, const char *password);

/* Resolves a bearer token to the signed-in user; WG_ERR_UNAUTHORIZED when
 * unknown, expired (idle or absolute) or the account is disabled. */
int  auth_session_lookup(struct wg_app *app, const char *token, int64_t now, struct wg_principal *out);
/* Forgets cached sessions: of one user (user_id > 0) or all (0). */
void auth_forget_sessions(struct wg_app *app, int64_t user_id);

int  session_cache_create(struct session_cache **out);
void session_cache_destroy(struct session_cache *c);

/* Route tables: /api/v1/session and /api/v1/me (auth.c); /api/v1/users (accounts.c). */
int auth_register(void);
int accounts_register(void);

/* Creates a user directly (CLI and demo). */
int accounts_create_user(struct wg_app *app, wg_conn *c, const char *username, const char *password,
			 const char *role, int64_t scope_node_id, const char *display_name, int64_t *id);

#endif
