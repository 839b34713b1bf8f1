/* Fuzz target: JSON body → declared-resource validation, the path every
 * create and update takes. Whatever the bytes, the result is either
 * accepted or a failure naming its code, with zh-CN and English texts; and
 * an import's row checked ahead on its reading thread and flattened
 * (resource_prepare_row), then made again on the import's thread
 * (resource_row_from_flat), ends exactly as the same row checked on the
 * import's thread alone; made over from the last row's object, with its
 * import columns kept beside it (import_aside), it is the same as made
 * anew. */
#include "core/lib/err.h"
#include "core/http/http.h"
#include "core/lib/mem.h"
#include "core/resource/resource_int.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static const char *const kinds[] = { "grid", "building", NULL };

/* Upper-case, spaces dropped; '!' is refused. */
static int canon_code(const char *in, size_t n, char *out, size_t size, const char **zh, const char **en)
{
	size_t k = 0;
	for (size_t i = 0; i < n; i++) {
		if (in[i] == '!') {
			*zh = "含有感叹号";
			*en = "contains '!'";
			return -1;
		}
		if (in[i] != ' ' && k + 1 < size)
			out[k++] = in[i] >= 'a' && in[i] <= 'z' ? (char)(in[i] - 32) : in[i];
	}
	out[k] = '\0';
	return 0;
}

static const struct wg_field fields[] = {
	{ "parent_id", FT_REF,  FF_REQUIRED | FF_CREATE_ONLY, 0, 0, NULL, "上级", NULL, NULL, NULL },
	{ "kind",      FT_ENUM, FF_REQUIRED, 0, 0, kinds, "层级", NULL, NULL, NULL },
	{ "name",      FT_TEXT, FF_REQUIRED, 1, 20, NULL, "名称", NULL, NULL, NULL },
	{ "count",     FT_INT,  FF_NULLABLE, -5, 5, NULL, "数量", NULL, NULL, NULL },
	{ "open",      FT_BOOL, 0, 0, 0, NULL, "开放", NULL, NULL, NULL },
	{ "day",       FT_DATE, 0, 0, 0, NULL, "日期", NULL, NULL, NULL },
	{ "path",      FT_TEXT, FF_READONLY, 0, 0, NULL, "路径", NULL, NULL, NULL },
	{ "code",      FT_TEXT, FF_NULLABLE, 0, 8, NULL, "编码", NULL, canon_code, NULL },
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

static const struct wg_resource res_aside = {
	.name = "things", .table = "things", .zh = "事物", .en = "thing",
	.fields = fields, .nfields = sizeof fields / sizeof fields[0], .path_column = "path",
	.import_aside = true,
};

/* Whether key is kept beside a row of res_aside: no field, not an export's column. */
static bool kept_aside(const char *key)
{
	return !resource_field(&res_aside, key) && key[0] != '_';
}

/* The members of part are those of whole that are kept aside (or not, as
 * aside says), in the same order, with the same values. */
static bool same_part(json_t *whole, json_t *part, bool aside)
{
	void *i = json_object_iter(whole), *k = json_object_iter(part);
	for (; i; i = json_object_iter_next(whole, i)) {
		if (kept_aside(json_object_iter_key(i)) != aside)
			continue;
		if (!k || strcmp(json_object_iter_key(i), json_object_iter_key(k)) != 0 ||
		    !json_equal(json_object_iter_value(i), json_object_iter_value(k)))
			return false;
		k = json_object_iter_next(part, k);
	}
	return !k;
}

/* The last input's row as hooks leave one (checked, a member gone, one
 * added), and the columns kept beside it: the next row is made over from
 * them and must come out as made anew, its columns beside it. */
static json_t *spare, *beside;

static void made_over(const json_t *body, json_t *fresh)
{
	wg_req *scratch = calloc(1, sizeof *scratch), *r = calloc(1, sizeof *r);
	json_t *read = json_deep_copy(body);
	struct wg_row_flat *flat = scratch && r && read ? resource_prepare_row(scratch, &res_aside, read) : NULL;
	struct wg_row_ahead again = { 0 };
	if (!beside)
		beside = json_object();
	json_t *o = flat && beside ? resource_row_from_flat(flat, &again, spare, beside) : NULL;
	if (flat && beside)
		spare = NULL;  /* made over, or let go */
	if (o && (!same_part(fresh, o, false) || !same_part(fresh, beside, true)))
		abort();
	resource_row_ahead_release(&again);
	if (o) {
		resource_validate(r, &res, o, true);
		void *first = json_object_iter(o);
		if (first)
			json_object_del(o, json_object_iter_key(first));
		json_object_set_new(o, "grid_id", json_integer(7));
		spare = o;
	}
	wg_free(flat);
	json_decref(read);
	free(scratch);
	free(r);
}

static void same_ahead(const json_t *body)
{
	json_t *alone = json_deep_copy(body), *read = json_deep_copy(body), *row = NULL;
	wg_req *a = calloc(1, sizeof *a), *b = calloc(1, sizeof *b), *scratch = calloc(1, sizeof *scratch);
	struct wg_row_flat *flat = NULL;
	struct wg_row_ahead ahead = { 0 };
	struct wg_import im = { 0 };
	if (!alone || !read || !a || !b || !scratch)
		goto done;
	int rc_alone = resource_validate(a, &res, alone, true);
	/* no flat form (a real number, an object in the row): the import makes the row itself */
	if (!(flat = resource_prepare_row(scratch, &res, read)) || !(row = resource_row_from_flat(flat, &ahead, NULL, NULL)))
		goto done;
	made_over(body, row);
	im.ahead = &ahead;
	b->import = &im;
	/* every given value checked ahead: the import skips the pass, which would do nothing */
	if (ahead.given_checked) {
		json_t *copy = json_copy(row);
		if (!copy || resource_validate_given(b, &res, row) || !json_equal(copy, row))
			abort();
		json_decref(copy);
	}
	int rc_ahead = resource_validate(b, &res, row, true);
	if (rc_alone != rc_ahead || strcmp(a->fail.field, b->fail.field) != 0 || strcmp(a->fail.zh, b->fail.zh) != 0 ||
	    strcmp(a->fail.en, b->fail.en) != 0)
		abort();
	/* a failed row is dropped whole; an accepted one must be the same record */
	if (rc_alone == 0 && !json_equal(alone, row))
		abort();
done:
	resource_row_ahead_release(&ahead);
	wg_free(flat);
	json_decref(row);
	json_decref(read);
	json_decref(alone);
	free(a);
	free(b);
	free(scratch);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	json_error_t e;
	json_t *body = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, &e);
	if (!body || !json_is_object(body)) {
		json_decref(body);
		return 0;
	}
	same_ahead(body);  /* before the checks below make body canonical */
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
