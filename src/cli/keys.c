/* wangge keys rotate: a new field key, every secret of every module re-encrypted with it. */
#include "cli/cli.h"
#include "core/audit/audit.h"
#include "core/lib/err.h"
#include "core/lib/opts.h"
#include "core/resource/resource.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

int cmd_keys(int argc, char **argv)
{
	const char *data = "data", *pos[1];
	int npos, version;
	const struct wg_opt opts[] = {
		{ "--data", "DIR", &data, NULL, "数据目录 / data directory (default ./data)" },
		{ 0 },
	};
	int rc = opts_parse(argc, argv, opts, pos, 1, &npos, "wangge keys rotate [--data DIR]");
	if (rc)
		return rc == 1 ? 0 : 2;
	if (npos != 1 || strcmp(pos[0], "rotate") != 0) {
		opts_usage("wangge keys rotate [--data DIR]", opts, stderr);
		return 2;
	}
	struct wg_app *app;
	if (cli_open(data, &app))
		return 1;
	int64_t count = 0;
	wg_conn *c = NULL;
	rc = crypt_key_add(data, &app->keys, &version);
	if (!rc)
		rc = crypt_keys_load(data, &app->keys);
	if (!rc) {
		store_acquire(app->store, &c);
		rc = store_begin(c);
		if (!rc)
			rc = resource_reencrypt_all(c, &app->keys, &count);
		struct audit_event ev = { "keys_rotate", "system", "", "", NULL, NULL };
		if (!rc)
			rc = audit_write(app, c, NULL, "cli", "", time(NULL), &ev);
		rc = rc ? (store_rollback(c), rc) : store_commit(c);
		store_release(app->store, c);
	}
	cli_close(app);
	if (rc)
		return wg_error("key rotation failed; nothing was re-encrypted (the new key file may be deleted)"
				" / 密钥轮换失败,数据未改动"), 1;
	printf("field key %d is now current; %lld values re-encrypted. Older keys/field.*.key may be deleted"
	       " once backups made with them have expired. / 新密钥已启用\n", version, (long long)count);
	return 0;
}
