/* Fuzz target: JSON body → declared-resource validation, the path every
 * create and update takes. Whatever the bytes, the result is either
 * accepted or a failure naming its code, with zh-CN and English texts. */
#include "core/err.h"
#include "core/http.h"
#include "core/resource.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static const char *const kinds[] = { "grid", "building", NULL };

static const struct wg_field fields[] = {
	{ "parent_id", FT_REF,  FF_REQUIRED | FF_CREATE_ONLY, 0, 0, NULL, "上级", NULL, NULL, NULL },
	{ "kind",      FT_ENUM, FF_REQUIRED, 0, 0, kinds, "层级", NULL, NULL, NULL },
	{ "name",      FT_TEXT, FF_REQUIRED, 1, 20, NULL, "名称", NULL, NULL, NULL },
	{ "count",     FT_INT,  FF_NULLABLE, -5, 5, NULL, "数量", NULL, NULL, NULL },
	{ "open",      FT_BOOL, 0, 0, 0, NULL, "开放", NULL, NULL, NULL },
	{ "day",       FT_DATE, 0, 0, 0, NULL, "日期", NULL, NULL, NULL },
	{ "path",      FT_TEXT, FF_READONLY, 0, 0, NULL, "路径", NULL, NULL, NULL },
};

static const struct wg_resource res = {
	.name = "things", .table = "things", .zh = "事物", .en = "thing",
	.fields = fields, .nfields = sizeof fields / sizeof fields[0], .path_column = "path",
};

static void check(wg_req *r, int rc)
{
	if (rc == 0 && r->fail.code == 0)
		return;
	if (rc != r->fail.code || r->fail.code <= 0 || r->fail.code >= WG_ERR__COUNT ||
	    !r->fail.zh[0] || !r->fail.en[0])
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	json_error_t e;
	json_t *body = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, &e);
	if (!body || !json_is_object(body)) {
		json_decref(body);
		return 0;
	}
	wg_req *r = calloc(1, sizeof *r);
	if (!r) {
		json_decref(body);
		return 0;
	}
	check(r, resource_validate(r, &res, body, true));
	memset(&r->fail, 0, sizeof r->fail);
	check(r, resource_validate(r, &res, body, false));
	free(r);
	json_decref(body);
	return 0;
}
