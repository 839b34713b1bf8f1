/* Who is signed in: passwords, sessions and their cache, sign-in lockout. */
#ifndef WG_AUTH_H
#define WG_AUTH_H

#include "core/app/app.h"
#include "core/auth/rbac.h"

#include <stdbool.h>
#include <stdint.h>

#define WG_SESSION_COOKIE "wg_session"

/* The signed-in user as a request sees them: role (what) and scope (where). */
struct wg_principal {
	int64_t id;
	char username[65];
	const struct wg_role *role;
	int64_t scope_node_id;
	char scope_path[512];
	char token_hash[65];
	int64_t session_id;         /* sessions.id of the session in use */
	bool must_enroll;           /* the role must sign in with a one-time code and has none set up yet */
};

int  auth_hash_password(const struct wg_config *cfg, const char *password, char out[128]);
bool auth_verify_password(const char *hash, const char *password);
/* Why a new password is not acceptable, or false when it is (GB/T 22239:
 * length and complexity): 10 to 256 characters, characters of at least
 * cfg->password_classes of the classes lower case, upper case, digits and
 * others, at least WG_PASSWORD_DISTINCT different characters, not the user
 * name with fewer than 5 characters added. zh and en receive the reason (WG_PASSWORD_WHY bytes each). */
#define WG_PASSWORD_WHY 256
bool auth_password_problem(const struct wg_config *cfg, const char *password, const char *username,
			   char zh[WG_PASSWORD_WHY], char en[WG_PASSWORD_WHY]);

/* Resolves a bearer token to the signed-in user; WG_ERR_UNAUTHORIZED when
 * unknown, expired (idle or absolute) or the account is disabled. */
int  auth_session_lookup(struct wg_app *app, const char *token, int64_t now, struct wg_principal *out);
/* Starts a session: a new random token (43 characters) of which only the hash is stored. */
int  auth_session_create(wg_conn *c, int64_t user_id, const char *address, int64_t now, char token[64]);
/* Forgets cached sessions: of one user (user_id > 0) or all (0). */
void auth_forget_sessions(struct wg_app *app, int64_t user_id);
/* Ends sessions in the caller's transaction: one (session_id > 0) or all of
 * a user's; forget them with auth_forget_sessions once committed. */
int  auth_sessions_end(wg_conn *c, int64_t user_id, int64_t session_id);

/* The login log (等保 登录日志): one row per sign-in attempt and its outcome,
 * "ok", "wrong_password", "unknown_user", "locked", "disabled",
 * "totp_required", "wrong_totp", "too_long". node_path is the account's
 * scope ("" for an unknown name). */
int  auth_login_record(wg_conn *c, int64_t now, int64_t user_id, const char *username, const char *address,
		       const char *outcome, const char *node_path);
/* Whether outcome is one of the above. */
bool auth_login_outcome_known(const char *outcome);

int  session_cache_create(struct session_cache **out);
void session_cache_destroy(struct session_cache *c);

/* Sign-in lockout, per subject ("u:<name>", "a:<address>"). */
int  auth_lock_state(wg_conn *c, const char *subject, int64_t now, bool *locked);
int  auth_record_failure(struct wg_app *app, wg_conn *c, const char *subject, int64_t limit, int64_t now);

/* The principal of an active account by its name, for work done in-process
 * as that user (the CLI's import, the demo): WG_ERR_NOT_FOUND, or
 * WG_ERR_DISABLED for a disabled account or one whose role is gone. */
int  auth_principal_load(wg_conn *c, const char *username, struct wg_principal *p);

/* Creates a user directly (CLI and demo). */
int  accounts_create_user(struct wg_app *app, wg_conn *c, const char *username, const char *password,
			  const char *role, int64_t scope_node_id, const char *display_name, int64_t *id);

#endif
