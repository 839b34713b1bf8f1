/* The platform's own endpoints: sign-in, accounts, roles, audit, jobs and
 * health. Each file is a module of routes above the service it exposes;
 * the platform registers them before the domains' modules. */
#ifndef WG_API_H
#define WG_API_H

#include "core/app/module.h"
#include "core/http/http.h"

extern const struct wg_module session_api;
extern const struct wg_module sessions_api;
extern const struct wg_module twofactor_api;
extern const struct wg_module accounts_api;
extern const struct wg_module roles_api;
extern const struct wg_module audit_api;
extern const struct wg_module jobs_api;
extern const struct wg_module metrics_api;
extern const struct wg_module stats_api;
extern const struct wg_module settings_api;
extern const struct wg_module dict_api;

/* 0 when body[field] is the signed-in account's password; otherwise 422
 * naming field (missing or wrong) and nothing else is done. */
int api_confirm_password(wg_req *r, const char *field);

#endif
