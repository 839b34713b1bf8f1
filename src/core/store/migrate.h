/* Numbered schema migrations, embedded from schema/<dialect>/NNNN_name.sql. */
#ifndef WG_MIGRATE_H
#define WG_MIGRATE_H

#include "core/store/store.h"

struct wg_migration {
	const char *dialect;  /* "sqlite" or "postgres" */
	int version;
	const char *name;
	const char *sql;
};

extern const struct wg_migration wg_migrations[];

/* Applies every migration newer than the recorded version, each in its own
 * transaction. *applied receives how many ran. */
int migrate_up(wg_store *st, int *applied);
int migrate_current_version(wg_conn *c, int *version);
int migrate_latest_version(enum wg_dialect d);

#endif
