#include "core/store/migrate.h"
#include "core/lib/err.h"
#include "core/lib/mem.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char *dialect_name(enum wg_dialect d)
{
	return d == WG_POSTGRES ? "postgres" : "sqlite";
}

static int by_version(const void *a, const void *b)
{
	const struct wg_migration *x = *(const struct wg_migration *const *)a, *y = *(const struct wg_migration *const *)b;
	return (x->version > y->version) - (x->version < y->version);
}

/* The migrations of one dialect, in number order (wg_free the array). */
static int collect(const struct wg_schema *schema, const char *dialect, const struct wg_migration ***out, size_t *n)
{
	size_t count = 0;
	for (size_t i = 0; i < schema->n; i++)
		for (const struct wg_migration *m = schema->lists[i]; m && m->dialect; m++)
			count += strcmp(m->dialect, dialect) == 0;
	const struct wg_migration **all = wg_calloc(count ? count : 1, sizeof *all);
	if (!all)
		return WG_ERR_NOMEM;
	*n = 0;
	for (size_t i = 0; i < schema->n; i++)
		for (const struct wg_migration *m = schema->lists[i]; m && m->dialect; m++)
			if (strcmp(m->dialect, dialect) == 0)
				all[(*n)++] = m;
	qsort(all, *n, sizeof *all, by_version);
	*out = all;
	return 0;
}

int migrate_check(const struct wg_schema *schema)
{
	static const char *const dialects[] = { "sqlite", "postgres" };
	for (size_t d = 0; d < 2; d++) {
		const struct wg_migration **all;
		size_t n;
		int rc = collect(schema, dialects[d], &all, &n);
		if (rc)
			return rc;
		for (size_t i = 1; i < n && !rc; i++)
			if (all[i]->version == all[i - 1]->version)
				rc = wg_error("migrations %s and %s share the number %d / 迁移编号重复", all[i - 1]->name,
					      all[i]->name, all[i]->version);
		wg_free(all);
		if (rc)
			return WG_ERR_INTERNAL;
	}
	return 0;
}

static int ensure_version_table(wg_conn *c)
{
	return store_exec_script(c,
		"CREATE TABLE IF NOT EXISTS schema_version ("
		" version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)");
}

static int is_applied(wg_conn *c, int version, bool *applied)
{
	int64_t n = 0;
	wg_param p[] = { WG_PINT(version) };
	int rc = store_int(c, "SELECT COUNT(*) FROM schema_version WHERE version = ?", p, 1, &n);
	*applied = n > 0;
	return rc;
}

static int apply_one(wg_conn *c, const struct wg_migration *m)
{
	int rc = store_begin(c);
	if (rc)
		return rc;
	rc = store_exec_script(c, m->sql);
	if (rc) {
		wg_error("migration %s failed: %s", m->name, store_last_error(c));
		goto fail;
	}
	wg_param p[] = { WG_PINT(m->version), WG_PTEXT(m->name), WG_PINT(time(NULL)) };
	rc = store_run(c, "INSERT INTO schema_version (version, name, applied_at) VALUES (?, ?, ?)", p, 3);
	if (rc)
		goto fail;
	return store_commit(c);
fail:
	store_rollback(c);
	return rc;
}

int migrate_up(wg_store *st, const struct wg_schema *schema, int *applied)
{
	wg_conn *c;
	const struct wg_migration **all = NULL;
	size_t n = 0;
	*applied = 0;
	int rc = collect(schema, dialect_name(store_dialect(st)), &all, &n);
	if (rc)
		return rc;
	store_acquire(st, &c);
	rc = ensure_version_table(c);
	for (size_t i = 0; !rc && i < n; i++) {
		bool done;
		rc = is_applied(c, all[i]->version, &done);
		if (!rc && !done) {
			rc = apply_one(c, all[i]);
			*applied += !rc;
		}
	}
	store_release(st, c);
	wg_free(all);
	return rc;
}

int migrate_pending(wg_conn *c, const struct wg_schema *schema, int *pending, int *latest)
{
	const struct wg_migration **all = NULL;
	size_t n = 0;
	*pending = 0;
	*latest = 0;
	int rc = collect(schema, dialect_name(conn_dialect(c)), &all, &n);
	for (size_t i = 0; !rc && i < n; i++) {
		bool done;
		rc = is_applied(c, all[i]->version, &done);
		*pending += !rc && !done;
		*latest = all[i]->version;
	}
	wg_free(all);
	return rc;
}
