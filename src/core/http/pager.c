/* The one pager of every list (http.h). */
#include "core/http/http.h"
#include "core/lib/err.h"
#include "core/lib/limits.h"

#include <stdio.h>

int pager_start(wg_req *r, struct wg_pager *pg, int64_t def, bool by_position)
{
	*pg = (struct wg_pager){ .by_position = by_position };
	if (req_query_int(r, "limit", 1, WG_MAX_LIST_LIMIT, def, &pg->limit) ||
	    req_query_int(r, "cursor", 0, INT64_MAX, 0, &pg->cursor))
		return r->fail.code;
	pg->items = json_array();
	return pg->items ? 0 : req_fail(r, WG_ERR_NOMEM, NULL, NULL, NULL);
}

int pager_rows(wg_req *r, struct wg_pager *pg, const char *sql, const wg_param *p, size_t n, int id_col,
	       json_t *(*row)(wg_req *r, wg_stmt *s, void *ctx), void *ctx)
{
	wg_stmt *s;
	int rc = store_query(r->db, sql, p, n, &s);
	if (rc)
		return req_fail(r, rc, NULL, NULL, NULL);
	int64_t count = 0, last = 0;
	bool more = false;
	while ((rc = stmt_next(s)) == 1) {
		if (count == pg->limit) {
			more = true;
			break;
		}
		json_t *item = row(r, s, ctx);
		if (!item || json_array_append_new(pg->items, item)) {
			rc = -WG_ERR_NOMEM;
			break;
		}
		last = pg->by_position ? pg->cursor + count + 1 : stmt_int(s, id_col);
		count++;
	}
	stmt_done(s);
	if (rc < 0)
		return r->fail.code ? r->fail.code : req_fail(r, -rc, NULL, NULL, NULL);
	pg->next_cursor = more ? json_integer(last) : json_null();
	return 0;
}

int pager_count(wg_req *r, struct wg_pager *pg, const char *from, const wg_param *p, size_t n, int64_t cap)
{
	char sql[WG_MAX_SQL];
	/* A capped count stops at the cap: one typed character matches tens of
	 * thousands of names, and counting them all costs more than the page. */
	int len = cap > 0 ? snprintf(sql, sizeof sql, "SELECT COUNT(*) FROM (SELECT 1 %s LIMIT %lld) AS m", from, (long long)cap + 1)
			  : snprintf(sql, sizeof sql, "SELECT COUNT(*) %s", from);
	if (len < 0 || (size_t)len >= sizeof sql)
		return req_fail(r, WG_ERR_INTERNAL, NULL, NULL, NULL);
	int rc = store_int(r->db, sql, p, n, &pg->total);
	if (rc)
		return req_fail(r, rc, NULL, NULL, NULL);
	if (cap > 0 && pg->total > cap) {
		pg->total = cap;
		pg->total_capped = true;
	}
	return 0;
}

int pager_reply(wg_req *r, struct wg_pager *pg)
{
	json_t *out = json_pack("{s:o, s:I, s:o}", "items", pg->items, "total", (json_int_t)pg->total,
				"next_cursor", pg->next_cursor ? pg->next_cursor : json_null());
	pg->items = pg->next_cursor = NULL;
	if (out && pg->total_capped)
		json_object_set_new(out, "total_capped", json_true());
	return out ? req_reply(r, 200, out) : req_fail(r, WG_ERR_NOMEM, NULL, NULL, NULL);
}

void pager_release(struct wg_pager *pg)
{
	json_decref(pg->items);
	json_decref(pg->next_cursor);
	pg->items = pg->next_cursor = NULL;
}
