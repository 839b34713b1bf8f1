/* wangge user add|passwd|list|disable|enable */
#include "cli/cli.h"
#include "core/app/app.h"
#include "core/audit/audit.h"
#include "core/lib/limits.h"
#include "core/auth/auth.h"
#include "core/lib/err.h"
#include "core/lib/opts.h"
#include "core/lib/parse.h"
#include "core/auth/rbac.h"

#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#define USER_USAGE "wangge user add USERNAME --role ROLE --scope NODE_ID [--name NAME] [--password-stdin]\n" \
		   "       wangge user passwd USERNAME [--password-stdin]\n" \
		   "       wangge user list | disable USERNAME | enable USERNAME | totp-reset USERNAME  [--data DIR]"

static int audited(struct wg_app *app, wg_conn *c, const char *action, const char *username)
{
	struct audit_event ev = { action, "users", username, "", NULL, NULL };
	return audit_write(app, c, NULL, "cli", "", time(NULL), &ev);
}

static int ask_password(bool from_stdin, char *password, size_t size)
{
	if (!from_stdin) {
		fprintf(stderr, "password / 密码: ");
		fflush(stderr);
	}
	return cli_read_secret(password, size) ? 2 : 0;
}

static int user_list(struct wg_app *app, wg_conn *c)
{
	wg_stmt *s;
	(void)app;
	int rc = store_query(c, "SELECT u.id, u.username, u.role, u.scope_node_id, g.name, u.disabled FROM users u"
			     " JOIN grid_nodes g ON g.id = u.scope_node_id ORDER BY u.id", NULL, 0, &s);
	if (rc)
		return 1;
	printf("%-6s %-20s %-13s %-8s %s\n", "id", "username", "role", "scope", "");
	while (stmt_next(s) == 1)
		printf("%-6lld %-20s %-13s %-8lld %s%s\n", (long long)stmt_int(s, 0), stmt_text(s, 1), stmt_text(s, 2),
		       (long long)stmt_int(s, 3), stmt_text(s, 4), stmt_int(s, 5) ? " (disabled/已停用)" : "");
	stmt_done(s);
	return 0;
}

static int run_in_tx(struct wg_app *app, wg_conn *c, const char *sql, wg_param *p, size_t n,
		     const char *action, const char *username)
{
	wg_stmt *s;
	int rc = store_begin(c);
	if (!rc)
		rc = store_query(c, sql, p, n, &s);
	if (!rc) {
		int64_t changed = stmt_changes(s);
		stmt_done(s);
		if (changed == 0)
			rc = WG_ERR_NOT_FOUND;
	}
	if (!rc)
		rc = audited(app, c, action, username);
	if (rc) {
		store_rollback(c);
		if (rc == WG_ERR_NOT_FOUND)
			return wg_error("no user named '%s' / 没有该用户", username), 1;
		if (rc == WG_ERR_CONFLICT)
			return wg_error("user '%s' already exists / 用户已存在", username), 1;
		return wg_error("failed: %s", store_last_error(c)), 1;
	}
	return store_commit(c) ? 1 : 0;
}

int cmd_user(int argc, char **argv)
{
	const char *data = "data", *role = NULL, *scope = NULL, *name = "", *pos[2];
	bool password_stdin = false;
	int npos;
	const struct wg_opt opts[] = {
		{ "--data", "DIR", &data, NULL, "数据目录 / data directory (default ./data)" },
		{ "--role", "ROLE", &role, NULL, "角色 / role: admin command community grid_worker checkpoint party_admin commissioner volunteer auditor" },
		{ "--scope", "NODE_ID", &scope, NULL, "管辖网格节点 / scope grid node id" },
		{ "--name", "NAME", &name, NULL, "显示名称 / display name" },
		{ "--password-stdin", NULL, NULL, &password_stdin, "从标准输入读取密码 / read the password from stdin" },
		{ 0 },
	};
	int rc = opts_parse(argc, argv, opts, pos, 2, &npos, USER_USAGE);
	if (rc)
		return rc == 1 ? 0 : 2;
	if (npos < 1) {
		opts_usage(USER_USAGE, opts, stderr);
		return 2;
	}
	const char *sub = pos[0], *username = npos > 1 ? pos[1] : NULL;
	bool needs_name = strcmp(sub, "list") != 0;
	if (needs_name && !username) {
		fprintf(stderr, "wangge: user %s needs a USERNAME / 请指定用户名\n", sub);
		return 2;
	}
	char password[WG_MAX_PASSWORD + 2], hash[128];
	uint32_t scope_id = 0;
	if (strcmp(sub, "add") == 0) {
		if (!role)
			return wg_error("--role must be one of the roles listed in --help / 请用 --role 指定有效角色"), 2;
		if (!scope || !wg_parse_u32(scope, strlen(scope), &scope_id) || scope_id == 0)
			return wg_error("--scope must be a grid node id / 请用 --scope 指定网格节点编号"), 2;
	} else if (strcmp(sub, "passwd") != 0 && strcmp(sub, "list") != 0 && strcmp(sub, "disable") != 0 &&
		   strcmp(sub, "enable") != 0 && strcmp(sub, "totp-reset") != 0) {
		fprintf(stderr, "wangge: unknown user command '%s' / 未知子命令\n", sub);
		opts_usage(USER_USAGE, opts, stderr);
		return 2;
	}
	if ((strcmp(sub, "add") == 0 || strcmp(sub, "passwd") == 0) && (rc = ask_password(password_stdin, password, sizeof password)))
		return rc;
	struct wg_app *app;
	if (cli_open(data, &app))
		return 1;
	char zh[WG_PASSWORD_WHY], en[WG_PASSWORD_WHY];
	if ((strcmp(sub, "add") == 0 || strcmp(sub, "passwd") == 0) &&
	    auth_password_problem(&app->config, password, username, zh, en)) {
		sodium_memzero(password, sizeof password);
		cli_close(app);
		return wg_error("%s / %s", en, zh), 2;
	}
	if (strcmp(sub, "add") == 0 && !rbac_role(role)) {
		cli_close(app);
		return wg_error("--role %s is not a role (wangge user --help lists them) / 没有该角色", role), 2;
	}
	wg_conn *c;
	store_acquire(app->store, &c);
	if (strcmp(sub, "list") == 0) {
		rc = user_list(app, c);
	} else if (strcmp(sub, "add") == 0) {
		int64_t id;
		rc = store_begin(c);
		if (!rc) rc = accounts_create_user(app, c, username, password, role, scope_id, name, &id);
		if (!rc) rc = audited(app, c, "create", username);
		if (rc) {
			store_rollback(c);
			wg_error(rc == WG_ERR_CONFLICT ? "user '%s' exists, or the scope node does not / 用户已存在或节点不存在"
						       : "cannot add user '%s' / 无法添加用户", username);
			rc = 1;
		} else {
			rc = store_commit(c) ? 1 : 0;
			if (!rc)
				printf("user %s added (id %lld)\n", username, (long long)id);
		}
	} else if (strcmp(sub, "passwd") == 0) {
		rc = auth_hash_password(&app->config, password, hash);
		wg_param p[] = { WG_PTEXT(hash), WG_PINT(time(NULL)), WG_PTEXT(username) };
		if (!rc)
			rc = run_in_tx(app, c, "UPDATE users SET password_hash = ?, updated_at = ?, version = version + 1 WHERE username = ?",
				       p, 3, "passwd", username);
		if (!rc) {
			wg_param d[] = { WG_PTEXT(username) };
			store_run(c, "DELETE FROM sessions WHERE user_id = (SELECT id FROM users WHERE username = ?)", d, 1);
		}
	} else if (strcmp(sub, "enable") == 0) {
		/* Also lifts the account's sign-in lockout: the checkpoint locked out
		 * at 3 a.m. calls the admin, who should not have to wait it out. */
		char subject[WG_MAX_USERNAME + 8];
		snprintf(subject, sizeof subject, "u:%s", username);
		wg_param p[] = { WG_PINT(time(NULL)), WG_PTEXT(username) };
		rc = run_in_tx(app, c, "UPDATE users SET disabled = 0, updated_at = ?, version = version + 1 WHERE username = ?",
			       p, 2, "enable", username);
		wg_param d[] = { WG_PTEXT(subject) };
		if (!rc && store_run(c, "DELETE FROM login_failures WHERE subject = ?", d, 1)) {
			wg_error("cannot clear the lockout of '%s' / 无法解除锁定", username);
			rc = 1;
		}
		if (!rc)
			printf("user %s enabled, sign-in lockout cleared / 已启用并解除锁定\n", username);
	} else if (strcmp(sub, "totp-reset") == 0) {
		/* A lost authenticator: two-factor sign-in off, the account's sessions ended. */
		wg_param p[] = { WG_PINT(time(NULL)), WG_PTEXT(username) };
		rc = run_in_tx(app, c, "UPDATE users SET totp_secret_enc = NULL, totp_enabled = 0, totp_last_step = 0, updated_at = ?,"
			       " version = version + 1 WHERE username = ?", p, 2, "totp_reset", username);
		wg_param d[] = { WG_PTEXT(username) };
		if (!rc && (store_run(c, "DELETE FROM totp_recovery WHERE user_id = (SELECT id FROM users WHERE username = ?)", d, 1) ||
			    store_run(c, "DELETE FROM sessions WHERE user_id = (SELECT id FROM users WHERE username = ?)", d, 1))) {
			wg_error("cannot clear the recovery codes or sessions of '%s' / 无法清除恢复码或会话", username);
			rc = 1;
		}
		if (!rc)
			printf("two-factor sign-in of %s reset: it sets up a new authenticator at its next sign-in"
			       " / 已重置双因素登录\n", username);
	} else {
		wg_param p[] = { WG_PINT(time(NULL)), WG_PTEXT(username) };
		rc = run_in_tx(app, c, "UPDATE users SET disabled = 1, updated_at = ?, version = version + 1 WHERE username = ?",
			       p, 2, "disable", username);
		if (!rc) {
			wg_param d[] = { WG_PTEXT(username) };
			store_run(c, "DELETE FROM sessions WHERE user_id = (SELECT id FROM users WHERE username = ?)", d, 1);
		}
	}
	sodium_memzero(password, sizeof password);
	store_release(app->store, c);
	cli_close(app);
	return rc;
}
