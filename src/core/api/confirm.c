/* The signed-in account's own password, asked again before what a stolen
 * session must not do alone: a new password, two-factor sign-in changes. */
#include "core/api/api.h"
#include "core/auth/auth.h"
#include "core/lib/err.h"

#include <stdio.h>

int api_confirm_password(wg_req *r, const char *field)
{
	json_t *jp = json_object_get(r->body, field);
	char hash[128] = "";
	if (!json_is_string(jp) || json_string_length(jp) == 0)
		return req_fail(r, WG_ERR_REQUIRED, field, "请再输入一次您的密码", "enter your password again");
	wg_param p[] = { WG_PINT(r->user->id) };
	wg_stmt *s;
	int rc = store_query(r->db, "SELECT password_hash FROM users WHERE id = ?", p, 1, &s);
	if (rc)
		return req_fail(r, rc, NULL, NULL, NULL);
	if (stmt_next(s) == 1)
		snprintf(hash, sizeof hash, "%s", stmt_text(s, 0));
	stmt_done(s);
	if (!hash[0] || !auth_verify_password(hash, json_string_value(jp)))
		return req_fail(r, WG_ERR_VALIDATION, field, "密码不正确", "wrong password");
	return 0;
}
