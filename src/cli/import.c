/* wangge import KIND FILE: the API's import of any resource, run in-process
 * as a named user through the same runner as HTTP (rights, scope, one
 * transaction, audit), with progress on standard error. */
#include "cli/cli.h"
#include "core/app/app.h"
#include "core/auth/auth.h"
#include "core/http/http.h"
#include "core/lib/err.h"
#include "core/lib/limits.h"
#include "core/lib/mem.h"
#include "core/lib/opts.h"

#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define IMPORT_USAGE "wangge import KIND FILE --as USERNAME [--dry-run] [--partial] [--update] [--data DIR]"

static void show_progress(wg_req *r, uint64_t rows)
{
	(void)r;
	if (isatty(2))
		fprintf(stderr, "\r已处理 / processed %llu 行 rows", (unsigned long long)rows);
}

/* "grids, households, persons …": every kind with an import route. */
static void importable_kinds(char *out, size_t size)
{
	size_t used = 0;
	out[0] = '\0';
	for (int i = 0; i < router_count(); i++) {
		const struct wg_route *rt = router_get(i);
		size_t n = strlen(rt->pattern);
		if (strcmp(rt->method, "POST") != 0 || n < 16 || strcmp(rt->pattern + n - 7, "/import") != 0 ||
		    strncmp(rt->pattern, "/api/v1/", 8) != 0 || memchr(rt->pattern + 8, '/', n - 15))
			continue;
		int w = snprintf(out + used, size - used, "%s%.*s", used ? ", " : "", (int)(n - 15), rt->pattern + 8);
		if (w < 0 || (size_t)w >= size - used)
			break;
		used += (size_t)w;
	}
}

static void print_report(json_t *out, const char *kind)
{
	json_t *errors = json_object_get(out, "errors");
	size_t i;
	json_t *e;
	json_array_foreach(errors, i, e)
		fprintf(stderr, "%s / %s\n", json_string_value(json_object_get(e, "message")),
			json_string_value(json_object_get(e, "message_en")));
	printf("%s: %lld inserted 新增, %lld updated 更新, %lld unchanged 未变, %zu errors 错误%s\n", kind,
	       (long long)json_integer_value(json_object_get(out, "inserted")),
	       (long long)json_integer_value(json_object_get(out, "updated")),
	       (long long)json_integer_value(json_object_get(out, "unchanged")), json_array_size(errors),
	       json_is_true(json_object_get(out, "dry_run")) ? " (dry run 试导入, nothing written 未写入)" : "");
}

int cmd_import(int argc, char **argv)
{
	const char *data = "data", *as = NULL, *pos[2];
	bool dry = false, partial = false, update = false;
	int npos;
	const struct wg_opt opts[] = {
		{ "--data", "DIR", &data, NULL, "数据目录 / data directory (default ./data)" },
		{ "--as", "USERNAME", &as, NULL, "以该账户的权限和管辖范围导入 / import with this account's rights and scope" },
		{ "--dry-run", NULL, NULL, &dry, "只检查不写入 / check only, write nothing" },
		{ "--partial", NULL, NULL, &partial, "写入正确的行,报告错误的行 / keep the good rows, report the bad" },
		{ "--update", NULL, NULL, &update, "更新已登记的记录(按身份证号等找到) / update the records the rows find (by ID number …)" },
		{ 0 },
	};
	int rc = opts_parse(argc, argv, opts, pos, 2, &npos, IMPORT_USAGE);
	if (rc)
		return rc == 1 ? 0 : 2;
	if (npos != 2 || !as) {
		wg_error("%s / %s", npos != 2 ? "KIND and FILE are both needed" : "--as USERNAME is needed: whose rights and scope the import uses",
			 npos != 2 ? "需要导入类型和文件" : "需要 --as 账户名:以该账户的权限和管辖范围导入");
		opts_usage(IMPORT_USAGE, opts, stderr);
		return 2;
	}
	struct wg_app *app;
	if (cli_open(data, &app))
		return 1;
	char pattern[96], kinds[512];
	snprintf(pattern, sizeof pattern, "/api/v1/%s/import", pos[0]);
	int64_t unused_id;
	bool mismatch;
	int route = router_match("POST", pattern, &unused_id, &mismatch);
	wg_req *r = route < 0 ? NULL : wg_calloc(1, sizeof *r);
	if (!r) {
		importable_kinds(kinds, sizeof kinds);
		cli_close(app);
		return wg_error("cannot import '%s': the kinds are %s / 不支持的导入类型", pos[0], kinds), 2;
	}
	const char *query[] = { "dry_run", dry ? "1" : "0", "partial", partial ? "1" : "0", "update", update ? "1" : "0", NULL };
	r->app = app;
	r->route = router_get(route);
	r->route_index = route;
	r->method = "POST";
	r->url = pattern;
	r->address = "cli";
	r->now = time(NULL);
	r->local_query = query;
	r->progress = show_progress;
	r->spool_fd = -1;
	arena_init(&r->arena, 1u << 20);
	wg_buf_init(&r->raw, WG_MAX_UPLOAD);
	store_acquire(app->store, &r->db);
	rc = auth_principal_load(r->db, as, &r->principal);
	if (rc) {
		wg_error("--as %s: no such active account / 没有该账户或已停用", as);
		rc = 2;
		goto out;
	}
	r->user = &r->principal;
	FILE *probe = fopen(pos[1], "rb");
	if (!probe) {
		wg_error("cannot open %s / 无法打开文件", pos[1]);
		rc = 1;
		goto out;
	}
	fclose(probe);
	r->upload_path = pos[1];  /* read as a stream, never whole */
	req_run(r);
	if (isatty(2))
		fputc('\n', stderr);
	if (r->fail.code) {
		fprintf(stderr, "wangge: %s / %s%s%s\n", r->fail.zh, r->fail.en, r->fail.field[0] ? " — " : "", r->fail.field);
		rc = r->fail.code == WG_ERR_FORBIDDEN ? 2 : 1;
	} else {
		if (r->out)
			print_report(r->out, pos[0]);
		rc = json_array_size(json_object_get(r->out, "errors")) ? 1 : 0;
	}
out:
	store_release(app->store, r->db);
	json_decref(r->out);
	wg_buf_release(&r->raw);
	arena_release(&r->arena);
	wg_free(r);
	cli_close(app);
	return rc;
}
