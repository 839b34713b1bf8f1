/* Suspended answers (http.h, req_park): a request parked by its handler
 * while a committer finishes its work, its connection suspended meanwhile
 * so that the server thread serves other connections.
 *
 * A parked request goes PARKED (the handler parked it) → SUSPENDED (the
 * server suspended its connection after the handler returned) → ANSWERED
 * (req_unpark), or straight from PARKED to ANSWERED when the committer is
 * quicker than the handler's return; then the server sends the answer at
 * once, without suspending. The steps are taken under a lock (one of a few,
 * by the request's address), so the committer resumes exactly the
 * connections that were suspended, once each. */
#include "core/http/http_int.h"
#include "core/lib/err.h"

#include <microhttpd.h>
#include <pthread.h>
#include <stdint.h>

enum { PARK_NONE, PARK_PARKED, PARK_SUSPENDED, PARK_ANSWERED };

#define PARK_LOCKS 64   /* a power of two */

static pthread_mutex_t park_locks[PARK_LOCKS] = {
#define L4 PTHREAD_MUTEX_INITIALIZER, PTHREAD_MUTEX_INITIALIZER, PTHREAD_MUTEX_INITIALIZER, PTHREAD_MUTEX_INITIALIZER
	L4, L4, L4, L4, L4, L4, L4, L4, L4, L4, L4, L4, L4, L4, L4, L4,
#undef L4
};

static pthread_mutex_t *park_lock(const wg_req *r)
{
	uintptr_t a = (uintptr_t)r;
	return &park_locks[((a >> 4) ^ (a >> 12)) & (PARK_LOCKS - 1)];
}

bool req_park(wg_req *r, int (*finish)(wg_req *r, int rc, void *ctx), void *ctx)
{
	if (!r->mhd || !r->route || (r->route->flags & (ROUTE_WRITE | ROUTE_SNAPSHOT)) || r->park != PARK_NONE)
		return false;
	r->park_finish = finish;
	r->park_ctx = ctx;
	r->park_rc = 0;
	r->park = PARK_PARKED;  /* no committer has r yet: no lock needed */
	return true;
}

void req_unpark(wg_req *r, int rc)
{
	pthread_mutex_t *m = park_lock(r);
	pthread_mutex_lock(m);
	struct MHD_Connection *resume = r->park == PARK_SUSPENDED ? r->mhd : NULL;
	r->park_rc = rc;
	r->park = PARK_ANSWERED;
	pthread_mutex_unlock(m);
	/* After the unlock r may be answered and freed by its server thread,
	 * unless it was suspended: then it lives until it is resumed. */
	if (resume)
		MHD_resume_connection(resume);
}

bool http_park_hold(wg_req *r)
{
	pthread_mutex_t *m = park_lock(r);
	bool held = false;
	pthread_mutex_lock(m);
	if (r->park == PARK_PARKED) {
		MHD_suspend_connection(r->mhd);
		r->park = PARK_SUSPENDED;
		held = true;
	}
	pthread_mutex_unlock(m);
	return held;
}

bool http_park_answered(wg_req *r)
{
	pthread_mutex_t *m = park_lock(r);
	pthread_mutex_lock(m);
	bool answered = r->park == PARK_ANSWERED;
	pthread_mutex_unlock(m);
	return answered;
}

void http_park_finish(wg_req *r)
{
	int (*finish)(wg_req *r, int rc, void *ctx) = r->park_finish;
	r->park = PARK_NONE;  /* the committer is done with r (the lock above ordered it) */
	r->park_finish = NULL;
	if (!r->fail.code && finish)
		finish(r, r->park_rc, r->park_ctx);
}
