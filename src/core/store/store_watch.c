/* The listener behind store_changes(): on PostgreSQL, a thread with a
 * connection of its own that LISTENs to the channel the schema's triggers
 * notify, so that what this process keeps in memory learns of what other
 * processes (a CLI import, a second server) changed. While it has no
 * connection, store_changes() answers 0 and nothing is served from memory;
 * once it listens again it counts a change, so that whatever was kept
 * before is read afresh. */
#include "core/store/store_impl.h"
#include "core/lib/err.h"
#include "core/lib/log.h"
#include "core/lib/mem.h"

#include <libpq-fe.h>
#include <poll.h>
#include <time.h>

#define WATCH_POLL_MS      200    /* how soon the thread sees it must stop */
#define WATCH_RETRY_MS     1000   /* between attempts to connect again */
#define WATCH_START_WAIT_MS 5000  /* store_watch_changes() waits this long for the first LISTEN */

struct store_watch {
	pthread_t thread;
	_Atomic bool stop;
};

void store_change_heard(wg_store *st) { atomic_fetch_add(&st->changes, 1); }

void store_pg_hear(wg_store *st, PGconn *db)
{
	bool heard = false;
	for (PGnotify *x; (x = PQnotifies(db)); PQfreemem(x))
		heard = true;
	if (heard)
		store_change_heard(st);
}

uint64_t store_changes(wg_store *st)
{
	return atomic_load(&st->watched) ? atomic_load(&st->changes) : 0;
}

static void sleep_ms(long ms)
{
	struct timespec t = { ms / 1000, (ms % 1000) * 1000000L };
	nanosleep(&t, NULL);
}

static PGconn *listen_connection(const char *target)
{
	PGconn *db = PQconnectdb(target);
	if (!db || PQstatus(db) != CONNECTION_OK) {
		PQfinish(db);
		return NULL;
	}
	PGresult *r = PQexec(db, "LISTEN " WG_CHANGES_CHANNEL);
	bool ok = PQresultStatus(r) == PGRES_COMMAND_OK;
	PQclear(r);
	if (!ok) {
		PQfinish(db);
		return NULL;
	}
	return db;
}

/* Hears notifications until the connection fails or the store closes. */
static void listen_on(wg_store *st, PGconn *db)
{
	struct pollfd p = { .fd = PQsocket(db), .events = POLLIN };
	while (!atomic_load(&st->watch->stop)) {
		int n = poll(&p, 1, WATCH_POLL_MS);
		if (n < 0 || (n > 0 && !PQconsumeInput(db)) || PQstatus(db) != CONNECTION_OK)
			return;
		store_pg_hear(st, db);
	}
}

static void *watch_main(void *arg)
{
	wg_store *st = arg;
	bool warned = false;
	while (!atomic_load(&st->watch->stop)) {
		PGconn *db = listen_connection(st->target);
		if (!db) {
			if (!warned)
				log_warn("cannot listen for changes; reading the tree from the database until it can / 无法监听数据变更,暂不使用内存缓存");
			warned = true;
			sleep_ms(WATCH_RETRY_MS);
			continue;
		}
		warned = false;
		/* Whatever changed while nobody listened is read afresh. */
		store_change_heard(st);
		atomic_store(&st->watched, true);
		listen_on(st, db);
		atomic_store(&st->watched, false);
		PQfinish(db);
	}
	return NULL;
}

int store_watch_changes(wg_store *st)
{
	if (st->dialect != WG_POSTGRES || st->watch)
		return 0;
	st->watch = wg_calloc(1, sizeof *st->watch);
	if (!st->watch)
		return WG_ERR_NOMEM;
	if (pthread_create(&st->watch->thread, NULL, watch_main, st) != 0) {
		wg_free(st->watch);
		st->watch = NULL;
		return WG_ERR_INTERNAL;
	}
	for (int waited = 0; !atomic_load(&st->watched) && waited < WATCH_START_WAIT_MS; waited += 10)
		sleep_ms(10);
	return 0;
}

void store_watch_stop(wg_store *st)
{
	if (!st->watch)
		return;
	atomic_store(&st->watch->stop, true);
	pthread_join(st->watch->thread, NULL);
	atomic_store(&st->watched, false);
	wg_free(st->watch);
	st->watch = NULL;
}
