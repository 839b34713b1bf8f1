#include "core/store/migrate.h"
#include "core/lib/err.h"

#include <string.h>
#include <time.h>

static const char *dialect_name(enum wg_dialect d)
{
	return d == WG_POSTGRES ? "postgres" : "sqlite";
}

int migrate_latest_version(enum wg_dialect d)
{
	int v = 0;
	for (const struct wg_migration *m = wg_migrations; m->dialect; m++)
		if (strcmp(m->dialect, dialect_name(d)) == 0 && m->version > v)
			v = m->version;
	return v;
}

int migrate_current_version(wg_conn *c, int *version)
{
	int64_t v = 0;
	int rc = store_int(c, "SELECT COALESCE(MAX(version), 0) FROM schema_version", NULL, 0, &v);
	if (rc)
		return rc;
	*version = (int)v;
	return 0;
}

static int ensure_version_table(wg_conn *c)
{
	return store_exec_script(c,
		"CREATE TABLE IF NOT EXISTS schema_version ("
		" version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)");
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

int migrate_up(wg_store *st, int *applied)
{
	wg_conn *c;
	int current, rc;
	*applied = 0;
	store_acquire(st, &c);
	rc = ensure_version_table(c);
	if (rc)
		goto out;
	rc = migrate_current_version(c, &current);
	if (rc)
		goto out;
	const char *want = dialect_name(store_dialect(st));
	for (const struct wg_migration *m = wg_migrations; m->dialect; m++) {
		if (strcmp(m->dialect, want) != 0 || m->version <= current)
			continue;
		rc = apply_one(c, m);
		if (rc)
			goto out;
		(*applied)++;
	}
out:
	store_release(st, c);
	return rc;
}
