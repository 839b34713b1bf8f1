/* Numbered schema migrations. Each module embeds its own
 * (<module>/schema/<dialect>/NNNN_name.sql → wg_schema_<module>); numbers
 * are global across modules. A store records every migration it applied
 * (schema_version) and gets each one missing, in number order, each in its
 * own transaction: a module added later brings its tables to an old store. */
#ifndef WG_MIGRATE_H
#define WG_MIGRATE_H

#include "core/store/store.h"

#include <stddef.h>

struct wg_migration {
	const char *dialect;  /* "sqlite" or "postgres" */
	int version;
	const char *name;
	const char *sql;
};

/* A set of migration arrays (each ending with a zeroed entry). */
struct wg_schema {
	const struct wg_migration *const *lists;
	size_t n;
};

/* Two migrations of one dialect with the same number: an error naming both. */
int migrate_check(const struct wg_schema *schema);
/* Applies every migration of the store's dialect it has not applied yet;
 * *applied receives how many ran. */
int migrate_up(wg_store *st, const struct wg_schema *schema, int *applied);
/* How many migrations of the store's dialect the store lacks (0: current),
 * and the highest number there is. */
int migrate_pending(wg_conn *c, const struct wg_schema *schema, int *pending, int *latest);

#endif
