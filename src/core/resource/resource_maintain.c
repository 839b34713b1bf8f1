/* What is done to every resource at once: re-encryption with a new key
 * and the path rewrite of a subtree move. */
#include "core/resource/resource_int.h"
#include "core/auth/scope.h"
#include "core/lib/err.h"
#include "core/lib/limits.h"
#include "core/lib/mem.h"

#include <sodium.h>
#include <stdio.h>
#include <string.h>

struct reencrypt_row {
	int64_t id;
	char *text;
};

/* Re-encrypts one secret column with the current key, a batch at a time. */
static int reencrypt_column(wg_conn *c, const struct wg_keys *k, const char *table, const char *column,
			    int64_t *count)
{
	char select[512], update[512];
	struct reencrypt_row rows[500];
	int64_t after = 0;
	int rc = 0;
	snprintf(select, sizeof select, "SELECT id, %s_enc FROM %s WHERE id > ? AND %s_enc IS NOT NULL ORDER BY id LIMIT 500",
		 column, table, column);
	snprintf(update, sizeof update, "UPDATE %s SET %s_enc = ? WHERE id = ?", table, column);
	for (;;) {
		wg_stmt *s;
		size_t n = 0;
		wg_param p[] = { WG_PINT(after) };
		rc = store_query(c, select, p, 1, &s);
		while (!rc && n < 500 && (rc = stmt_next(s)) == 1) {
			rows[n].id = stmt_int(s, 0);
			rows[n].text = wg_strdup(stmt_text(s, 1));
			if (!rows[n++].text)
				rc = -WG_ERR_NOMEM;
			else
				rc = 0;
		}
		stmt_done(s);
		rc = rc < 0 ? -rc : rc;
		wg_buf plain = WG_BUF_INIT(1024), enc = WG_BUF_INIT(2048);
		for (size_t i = 0; !rc && i < n; i++) {
			rc = crypt_decrypt(k, column, rows[i].text, strlen(rows[i].text), &plain);
			if (!rc)
				rc = crypt_encrypt(k, column, plain.data ? plain.data : "", plain.len, &enc);
			wg_param u[] = { WG_PTEXT(enc.data ? enc.data : ""), WG_PINT(rows[i].id) };
			if (!rc)
				rc = store_run(c, update, u, 2);
			if (!rc)
				(*count)++;
		}
		if (plain.data)
			sodium_memzero(plain.data, plain.len);
		wg_buf_release(&plain);
		wg_buf_release(&enc);
		for (size_t i = 0; i < n; i++)
			wg_free(rows[i].text);
		if (rc || n < 500)
			return rc;
		after = rows[n - 1].id;
	}
}

int resource_reencrypt_all(wg_conn *c, const struct wg_keys *k, int64_t *count)
{
	int rc = 0;
	*count = 0;
	for (size_t i = 0; !rc && i < resource_count(); i++) {
		const struct wg_resource *res = resource_at(i);
		for (size_t j = 0; !rc && j < res->nfields; j++)
			if (res->fields[j].flags & FF_SECRET)
				rc = reencrypt_column(c, k, res->table, res->fields[j].name, count);
	}
	for (size_t i = 0; !rc && i < resource_extra_count(EXTRA_SECRET); i++) {
		const char *table, *column;
		resource_extra_at(EXTRA_SECRET, i, &table, &column);
		rc = reencrypt_column(c, k, table, column, count);
	}
	return rc;
}

static int rewrite_column(wg_conn *c, const char *table, const char *column, const char *old_path,
			  const char *new_path)
{
	char lo[WG_MAX_GRID_PATH + 2], hi[WG_MAX_GRID_PATH + 2], sql[512];
	scope_range(old_path, lo, hi, sizeof lo);
	snprintf(sql, sizeof sql, "UPDATE %s SET %s = CAST(? AS TEXT) || substr(%s, ?) WHERE %s >= ? AND %s < ?",
		 table, column, column, column, column);
	wg_param p[] = { WG_PTEXT(new_path), WG_PINT((int64_t)strlen(old_path) + 1), WG_PTEXT(lo), WG_PTEXT(hi) };
	return store_run(c, sql, p, 4);
}

int resource_rewrite_paths(wg_conn *c, const char *old_path, const char *new_path)
{
	int rc = 0;
	for (size_t i = 0; !rc && i < resource_count(); i++)
		rc = rewrite_column(c, resource_at(i)->table, resource_at(i)->path_column, old_path, new_path);
	for (size_t i = 0; !rc && i < resource_extra_count(EXTRA_PATH); i++) {
		const char *table, *column;
		resource_extra_at(EXTRA_PATH, i, &table, &column);
		rc = rewrite_column(c, table, column, old_path, new_path);
	}
	return rc;
}
