/* An import's rows as the file gives them: which columns it reads (every
 * settable field by name or label, the resource's other import columns, an
 * export's 编号 and 路径), each cell as its field's value, the row's object,
 * and the share of a row the reading thread prepares ahead. */
#include "core/resource/resource_int.h"
#include "core/lib/err.h"
#include "core/lib/mem.h"
#include "core/lib/parse.h"
#include "core/lib/timefmt.h"
#include "core/sheet/sheet.h"

#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

static bool parse_bool(const char *s, bool *out)
{
	static const char *const yes[] = { "是", "true", "1", "yes", "y", NULL }, *const no[] = { "否", "false", "0", "no", "n", NULL };
	for (const char *const *y = yes; *y; y++)
		if (strcasecmp(s, *y) == 0)
			return *out = true, true;
	for (const char *const *n = no; *n; n++)
		if (strcasecmp(s, *n) == 0)
			return *out = false, true;
	return false;
}

/* The length of the separator at p, 0 if none: people separate words with
 * 、 , ， ; ； or spaces (the byte that starts one is checked first: a
 * long list's every byte is asked). */
static size_t tag_separator(const char *p, const char *end)
{
	static const char *const seps[] = { "、", "，", "；", ",", ";", " ", "\t", NULL };
	if (!*p || !strchr("\xe3\xef,; \t", *p))
		return 0;
	for (const char *const *s = seps; *s; s++) {
		size_t n = strlen(*s);
		if ((size_t)(end - p) >= n && memcmp(p, *s, n) == 0)
			return n;
	}
	return 0;
}

static json_t *cell_value(wg_req *r, const struct wg_field *f, const struct sheet_cell *c)
{
	int64_t x;
	bool b;
	if (f->type == FT_INT || f->type == FT_REF) {
		if (wg_parse_i64(c->text, c->len, &x))
			return json_integer(x);
		if (c->from_number && c->number == (double)(int64_t)c->number)
			return json_integer((int64_t)c->number);
		req_failf(r, WG_ERR_VALIDATION, f->name, "%s列应为整数,而不是“%s”", "column %s must be an integer, not '%s'",
			  f->zh, c->text, f->name, c->text);
		return NULL;
	}
	if (f->type == FT_BOOL) {
		if (parse_bool(c->text, &b))
			return json_boolean(b);
		req_failf(r, WG_ERR_VALIDATION, f->name, "%s列应为“是”或“否”", "column %s must be yes or no", f->zh, f->name);
		return NULL;
	}
	if ((f->type == FT_DATE || f->type == FT_TIME) && c->from_number) {
		/* Excel stores a date-time as days since 1899-12-30, local time, the time of day as the fraction. */
		double serial = c->number;
		int64_t days = (int64_t)serial - 25569;
		if (f->type == FT_TIME) {
			int64_t local = days * 86400 + (int64_t)((serial - (double)(int64_t)serial) * 86400.0 + 0.5);
			return json_integer(local - wg_time_offset(local - wg_time_offset(local)));
		}
		int y, m, d;
		char text[64];
		wg_civil_from_days(days, &y, &m, &d);
		snprintf(text, sizeof text, "%04d-%02d-%02d", y, m, d);
		return json_string(text);
	}
	if (f->type == FT_TAGS) {
		json_t *a = json_array();
		const char *p = c->text, *end = c->text + c->len;
		while (a && p < end) {
			size_t word = 0, sep = 0;
			while (p + word < end && !(sep = tag_separator(p + word, end)))
				word++;
			if (word)
				json_array_append_new(a, json_stringn_nocheck(p, word));  /* cut at whole characters */
			p += word + sep;
		}
		return a;
	}
	if (f->type == FT_ENUM && f->labels) {
		for (size_t i = 0; f->values[i]; i++)
			if (strcmp(f->labels[i], c->text) == 0)
				return json_string(f->values[i]);
	}
	return json_stringn_nocheck(c->text, c->len);  /* the sheet's cells are valid UTF-8 (sheet.h) */
}

/* An import column of the resource's with this key, NULL if none. */
static const struct sheet_column_spec *extra_named(const struct wg_resource *res, const char *key)
{
	for (size_t i = 0; i < res->nimport_extra; i++)
		if (strcmp(res->import_extra[i].key, key) == 0)
			return &res->import_extra[i];
	return NULL;
}

/* Column specs: every settable field (by name or zh label, and the other
 * names an import column of the same key accepts), then the other import
 * columns, then what an export of the resource adds (编号, 路径), which a
 * re-import uses to find the records it came from. */
int import_specs(const struct wg_resource *res, struct sheet_column_spec **specs, const char ***names, size_t *n)
{
	static const char *const id_names[] = { "编号", NULL }, *const path_names[] = { "路径", NULL };
	size_t k = 0, used = 0, room = 3 * (res->nfields + 1);
	for (size_t i = 0; i < res->nimport_extra; i++)
		for (const char *const *nm = res->import_extra[i].names; nm && *nm; nm++)
			room++;
	*specs = wg_calloc(res->nfields + res->nimport_extra + 3, sizeof **specs);
	*names = wg_calloc(room, sizeof **names);
	if (!*specs || !*names)
		return WG_ERR_NOMEM;
	for (size_t i = 0; i < res->nfields; i++) {
		const struct wg_field *f = &res->fields[i];
		if (f->flags & FF_READONLY)
			continue;
		const char **nm = &(*names)[used];
		nm[0] = f->zh;
		nm[1] = f->name;
		used += 2;
		const struct sheet_column_spec *x = extra_named(res, f->name);
		for (const char *const *e = x ? x->names : NULL; e && *e; e++)
			(*names)[used++] = *e;
		(*names)[used++] = NULL;
		/* A field another column can supply (parent_id from parent_code) is not required here. */
		(*specs)[k++] = (struct sheet_column_spec){ f->name, nm, (f->flags & FF_REQUIRED) && !(f->flags & FF_IMPORT_OPTIONAL) };
	}
	for (size_t i = 0; i < res->nimport_extra; i++) {
		const struct wg_field *f = resource_field(res, res->import_extra[i].key);
		if (!f || (f->flags & FF_READONLY))
			(*specs)[k++] = res->import_extra[i];
	}
	(*specs)[k++] = (struct sheet_column_spec){ "_id", id_names, false };
	(*specs)[k++] = (struct sheet_column_spec){ "_path", path_names, false };
	*n = k;
	return 0;
}

/* The row's object; with reuse (the last row's, nothing else holding it)
 * made over from that one, most of whose members it has again. */
static json_t *row_object(wg_req *r, const struct wg_resource *res, const struct sheet_row *row,
			  const struct sheet_header *h, const struct sheet_column_spec *specs, size_t nspecs, json_t *reuse)
{
	json_t *o = reuse ? reuse : json_object();
	void *it = reuse ? json_object_iter(o) : NULL;
	for (size_t k = 0; o && k < nspecs; k++) {
		const struct sheet_cell *c = sheet_row_cell(row, h, k);
		int64_t id;
		json_t *v;
		if (c && strcmp(specs[k].key, "_id") == 0 && wg_parse_i64(c->text, c->len, &id) && id > 0) {
			v = json_integer(id);  /* an export's 编号: used when the file is one */
		} else if (specs[k].key[0] == '_' || !c || c->len == 0) {
			continue;  /* recognised, deliberately unused (序号), or empty */
		} else {
			const struct wg_field *f = resource_field(res, specs[k].key);
			v = f ? cell_value(r, f, c) : json_stringn_nocheck(c->text, c->len);
		}
		if (!v && !r->fail.code)
			req_fail(r, WG_ERR_NOMEM, NULL, NULL, NULL);
		if (!v || resource_object_put(o, &it, specs[k].key, strlen(specs[k].key), v)) {
			json_decref(o);
			return NULL;
		}
	}
	if (o)
		resource_object_drop_from(o, it);
	return o;
}

void *import_prepare_row(void *ctx, const struct sheet_row *row)
{
	struct import_ahead_ctx *c = ctx;
	if (c->scratch.fail.code)
		memset(&c->scratch.fail, 0, sizeof c->scratch.fail);
	json_t *o = row_object(&c->scratch, c->res, row, c->h, c->specs, c->nspecs, c->spare);
	c->spare = NULL;
	if (o) {
		struct wg_row_flat *flat = resource_prepare_row(&c->scratch, c->res, o);
		/* kept here, where it was made, for the next row: freed by the
		 * other thread, each piece would cross over */
		if (o->refcount == 1)
			c->spare = o;
		else
			json_decref(o);
		return flat;  /* NULL: the import prepares the row itself */
	}
	if (c->scratch.fail.code == WG_ERR_NOMEM)
		return NULL;
	struct wg_row_flat *flat = wg_malloc(sizeof *flat);
	if (flat) {
		memset(flat, 0, offsetof(struct wg_row_flat, member));
		flat->fail = c->scratch.fail;
	}
	return flat;
}

void import_release_row(void *prepared) { wg_free(prepared); }

void import_warm_row(const void *prepared) { resource_row_warm(prepared); }

json_t *import_take_row(wg_req *r, const struct wg_resource *res, const struct sheet_row *row,
			const struct sheet_header *h, const struct sheet_column_spec *specs, size_t nspecs,
			struct wg_row_ahead *ahead, bool alone)
{
	const struct wg_row_flat *flat = row->prepared;
	struct wg_import *im = r->import;
	ahead->nchecked = ahead->nsealed = 0;
	ahead->given_checked = false;
	ahead->aside = NULL;
	if (!flat)
		return row_object(r, res, row, h, specs, nspecs, NULL);
	if (flat->fail.code) {
		r->fail = flat->fail;
		return NULL;
	}
	json_t *spare = im->spare_row;
	im->spare_row = NULL;
	if (alone && res->import_aside && !im->aside)
		im->aside = json_object();  /* NULL: the columns stay in the row */
	const struct wg_field *unique = import_unique_field(r, res);
	for (size_t i = 0; unique && i < flat->n; i++)
		if (flat->member[i].field == unique && flat->member[i].sealed >= 0)
			import_unique_prefetch(im, flat->sealed[flat->member[i].sealed].bidx, WG_BLIND_HEX - 1);
	json_t *o = resource_row_from_flat(flat, ahead, spare, alone && res->import_aside ? im->aside : NULL);
	if (!o)
		req_fail(r, WG_ERR_NOMEM, NULL, NULL, NULL);
	return o;
}

json_t *import_column(const wg_req *r, json_t *row, const char *key)
{
	const struct wg_row_ahead *a = import_ahead(r);
	return a && a->aside ? json_object_get(a->aside, key) : json_object_get(row, key);
}

void import_column_drop(const wg_req *r, json_t *row, const char *key)
{
	const struct wg_row_ahead *a = import_ahead(r);
	if (!a || !a->aside)
		json_object_del(row, key);
}

void import_drop_row(wg_req *r, json_t *o)
{
	if (o && o->refcount == 1 && !r->import->spare_row)
		r->import->spare_row = o;
	else
		json_decref(o);
}
