/* The signed-in account's own password, asked again before what a stolen
 * session must not do alone: a new password, two-factor sign-in changes.
 * Wrong answers count toward the account's sign-in lock, as at sign-in:
 * a session is not a way to guess the password at leisure. */
#include "core/api/api.h"
#include "core/auth/auth.h"
#include "core/lib/err.h"

#include <stdio.h>

int api_confirm_password(wg_req *r, const char *field)
{
	json_t *jp = json_object_get(r->body, field);
	char hash[128] = "", subject[96];
	bool locked;
	if (!json_is_string(jp) || json_string_length(jp) == 0)
		return req_fail(r, WG_ERR_REQUIRED, field, "请再输入一次您的密码", "enter your password again");
	snprintf(subject, sizeof subject, "u:%s", r->user->username);
	int rc = auth_lock_state(r->db, subject, r->now, &locked);
	if (rc)
		return req_fail(r, rc, NULL, NULL, NULL);
	if (locked)
		return req_failf(r, WG_ERR_LOCKED, field, "密码输错次数过多,请 %lld 分钟后再试", "too many wrong passwords; try again in %lld minutes",
				 (long long)(r->app->config.login_lock_seconds / 60), (long long)(r->app->config.login_lock_seconds / 60));
	wg_param p[] = { WG_PINT(r->user->id) };
	wg_stmt *s;
	rc = store_query(r->db, "SELECT password_hash FROM users WHERE id = ?", p, 1, &s);
	if (rc)
		return req_fail(r, rc, NULL, NULL, NULL);
	if (stmt_next(s) == 1)
		snprintf(hash, sizeof hash, "%s", stmt_text(s, 0));
	stmt_done(s);
	if (hash[0] && auth_verify_password(hash, json_string_value(jp)))
		return 0;
	rc = auth_record_failure(r->app, r->db, subject, r->app->config.login_fails_per_user, r->now);
	if (rc)
		return req_fail(r, rc, NULL, NULL, NULL);
	r->keep_on_failure = true;   /* the count stands; nothing else was written yet */
	return req_fail(r, WG_ERR_VALIDATION, field, "密码不正确", "wrong password");
}
