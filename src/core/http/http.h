/* The HTTP layer: one route table, one dispatcher.
 *
 * A route declares what the dispatcher enforces before its handler runs, so
 * no handler can forget it:
 *
 *   ROUTE_PUBLIC    no sign-in needed (otherwise 401 without a valid session)
 *   ROUTE_WRITE     the handler runs inside one transaction that commits only
 *                   when it succeeds; an Idempotency-Key header replays the
 *                   first answer instead of writing again
 *   ROUTE_JSON      the body must be a JSON object (400 with the byte offset
 *                   otherwise); an empty body is treated as {}
 *   ROUTE_UPLOAD    the body is a file upload of up to WG_MAX_UPLOAD bytes
 *   ROUTE_NO_DB     needs no database connection (health, metrics, static)
 *   ROUTE_SNAPSHOT  a read made of several queries that must agree (a page
 *                   and its total): run in one read-only transaction
 *   ROUTE_LIMITED   at most public_requests_per_minute from one client
 *                   address (429): what anyone may call without an account
 *   ROUTE_ENROLL    open to a session that must still set up two-factor
 *                   sign-in (its role needs a one-time code, it has none):
 *                   every other route answers it 403 totp_enrollment_required
 *   ROUTE_SCRAPE    also open, with no session, to a request bearing the
 *                   configured metrics_token (Authorization: Bearer …): for
 *                   a monitoring system scraping /metrics
 *
 * Every request of an unsafe method (not GET/HEAD/OPTIONS) must come from
 * the site itself when a browser sends it (Origin / Sec-Fetch-Site; 403
 * cross_site), and a write signed in by cookie must say where it comes
 * from. JSON bodies must be labelled application/json (415); uploads carry
 * a spreadsheet's type or are multipart/form-data, which a form may send
 * but only from this site (the origin check above) or with a bearer token
 * (curl -F): a form elsewhere cannot carry this site's cookie into one.
 *
 * `right` (a module's right, NULL for any signed-in user) is checked against
 * the caller's role (403). Scope, the *where*, is
 * checked by the generic resource layer against the record's node path.
 * Bodies are limited to WG_MAX_BODY_ANON before sign-in, WG_MAX_BODY after
 * (413), and WG_MAX_UPLOAD for uploads.
 */
#ifndef WG_HTTP_H
#define WG_HTTP_H

#include "core/auth/auth.h"
#include "core/auth/rbac.h"
#include "core/lib/arena.h"
#include "core/lib/buf.h"
#include "core/store/store.h"

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#define ROUTE_PUBLIC  (1u << 0)
#define ROUTE_WRITE   (1u << 1)
#define ROUTE_JSON    (1u << 2)
#define ROUTE_UPLOAD  (1u << 3)
#define ROUTE_NO_DB   (1u << 4)
#define ROUTE_SNAPSHOT (1u << 5)
#define ROUTE_LIMITED (1u << 6)
#define ROUTE_SCRAPE  (1u << 7)
#define ROUTE_ENROLL  (1u << 8)

struct wg_app;
struct wg_import;
typedef struct wg_req wg_req;
typedef int (*wg_handler)(wg_req *r);

struct wg_route {
	const char *method;
	const char *pattern;   /* "/api/v1/grids/{id}/children"; {id} matches a positive integer */
	wg_handler handler;
	const struct wg_right *right;  /* NULL: any signed-in user (or anyone if ROUTE_PUBLIC) */
	unsigned flags;
	const void *data;      /* e.g. the resource declaration a generic handler serves */
};

struct wg_fail {
	int code;              /* wg_err */
	char field[128];
	char zh[384];
	char en[384];
};

struct wg_header {
	const char *name, *value;
};

struct wg_req {
	struct wg_app *app;
	const struct wg_route *route;
	int route_index;
	const char *method;
	const char *url;
	const char *address;
	char address_text[48];
	struct MHD_Connection *mhd;
	int64_t id;                 /* the {id} of the path, 0 if none */
	const struct wg_principal *user;  /* NULL when not signed in */
	struct wg_principal principal;
	wg_conn *db;
	json_t *body;               /* the parsed JSON body (ROUTE_JSON) */
	wg_buf raw;                 /* the raw body as received */
	bool too_large;
	wg_arena arena;
	int64_t now;                /* request time, Unix seconds */
	/* response */
	int status;
	json_t *out;
	char *out_raw; size_t out_len; const char *out_type; /* non-JSON body (exports, metrics) */
	struct wg_header headers[4]; int nheaders;
	struct wg_fail fail;
	/* A request made in-process (CLI import): query values as key, value, …, NULL,
	 * and a progress report every so many rows. */
	const char *const *local_query;
	void (*progress)(wg_req *r, uint64_t rows);
	void *progress_ctx;
	struct wg_import *import;   /* an import in progress: opaque, the resource layer's own (resource_import.c) */
	const char *upload_path;    /* an upload kept in a file rather than in raw */
	char spool[96];             /* the temporary file an upload is written to, "" if none */
	int spool_fd;
	uint64_t spool_bytes;
	bool reveal;                /* this request may see personal data whole (asked and allowed) */
	bool rollback;              /* a write that answers normally but must change nothing (dry runs, rejected imports) */
	bool keep_on_failure;       /* a write that fails but whose writes stand (a wrong password counted toward the lock) */
	uint64_t started_us;
	/* how it arrived */
	bool begun;                 /* the first call with the headers has been handled */
	bool scrape;                /* a ROUTE_SCRAPE route asked with the metrics token */
	bool via_cookie;            /* signed in by the session cookie (not a bearer token): CSRF rules apply */
	bool tls;                   /* came over TLS: built in, or from the trusted proxy saying X-Forwarded-Proto: https */
	bool raw_url_nul;           /* the URL as sent held %00 (the path libmicrohttpd hands over is cut there) */
	size_t raw_url_len;         /* the URL as sent, query included */
	void *spool_hash;           /* BLAKE2b state of an upload as it is spooled (Idempotency-Key) */
	unsigned char body_digest[32];  /* of the upload, once complete */
	bool body_digest_ready;
	/* parked (req_park): what answers it once what it waits for is done */
	int park;                   /* enum in server.c, under the park lock */
	int park_rc;
	int (*park_finish)(wg_req *r, int rc, void *ctx);
	void *park_ctx;
};

/* Records the failure (code, field, zh-CN and English texts) and returns code,
 * so handlers write `return req_fail(r, WG_ERR_VALIDATION, "name", "…", "…");`.
 * With zh/en NULL, the error table's texts are used. */
int req_fail(wg_req *r, int code, const char *field, const char *zh, const char *en);
int req_failf(wg_req *r, int code, const char *field, const char *zh_fmt, const char *en_fmt, ...);
/* {"error": {code, message, message_en, field}} for a failure. */
json_t *req_error_envelope(const struct wg_fail *f);

/* Runs r->route as its declaration says: the right (403), the JSON body,
 * a connection, and for ROUTE_WRITE one transaction that commits only on
 * success, with Idempotency-Key replay. The one runner of the HTTP server,
 * background jobs and the CLI. r->user must be set unless ROUTE_PUBLIC. */
void req_run(wg_req *r);

/* Sets a JSON response (steals the reference). Returns 0. */
int req_reply(wg_req *r, int status, json_t *body);
/* Sets a raw response; takes ownership of data (wg_malloc'd). */
int req_reply_raw(wg_req *r, int status, const char *content_type, char *data, size_t len);
void req_add_header(wg_req *r, const char *name, const char *value);  /* value must outlive the request (arena) */

/* Suspended answers. A handler whose answer waits for work another thread
 * finishes in batches (a group commit: the scan log, the NAT sample writer)
 * parks its request instead of holding a server thread while it waits:
 *
 *   if (req_park(r, finish, ctx)) { hand r to the committer; return 0; }
 *   ... else wait in place, as outside the server ...
 *
 * and the committer, once the request's work is durable (or failed), calls
 * req_unpark(r, rc), from any thread, exactly once. The server thread is
 * free meanwhile: the connection is suspended (libmicrohttpd) and resumed
 * by req_unpark; then, on a server thread, finish(r, rc, ctx) sets the
 * answer as a handler would (req_reply, req_fail, audit_event) and it is
 * sent. finish runs without a database connection (the handler's was given
 * back when it returned) and its rc is the committer's. The committer may
 * unpark before the handler has returned: the answer is then sent at once.
 * ctx must live as long as the request (r->arena). req_park is false, and
 * nothing is parked, outside the server (the CLI, jobs: r->mhd is NULL) and
 * for a route whose answer the dispatcher itself commits (ROUTE_WRITE,
 * ROUTE_SNAPSHOT): the caller then waits in place. */
bool req_park(wg_req *r, int (*finish)(wg_req *r, int rc, void *ctx), void *ctx);
void req_unpark(wg_req *r, int rc);

/* Removes upload files a stopped server left in the data directory (they
 * hold personal data); returns how many. Call before serving. */
int http_remove_stale_uploads(const char *data_dir);
/* Removes the request's upload file, if it still has one. */
void req_spool_discard(wg_req *r);

const char *req_query(wg_req *r, const char *key);
/* The request's query parameters but skip, copied for a request that
 * outlives this one (a background job): point its local_query at kv. */
struct wg_kept_query {
	char text[1024];
	const char *kv[2 * 16 + 1];
};
int req_query_keep(wg_req *r, const char *skip, struct wg_kept_query *out);
const char *req_header(wg_req *r, const char *key);
const char *req_cookie(wg_req *r, const char *key);
/* 422 unknown_field naming the first body member not in allowed (NULL-terminated). */
int req_check_body(wg_req *r, const char *const *allowed);
/* 400 bad_query naming the first query parameter not in allowed (NULL-terminated). */
int req_check_query(wg_req *r, const char *const *allowed);
/* If-Match (a version, optionally quoted): 422 when malformed, 412 when not current. */
int req_if_match(wg_req *r, int64_t current);
/* A time member of the body (Unix seconds or ISO 8601, core/lib/timefmt.h) in
 * [min, max]; def when absent; 422 naming the key, with the limits in local time. */
int req_body_time(wg_req *r, const char *key, int64_t def, int64_t min, int64_t max, int64_t *out);
/* ?key=… as a time (Unix seconds, ISO 8601, local time or a date: its local
 * midnight); def when absent; 400 naming the key otherwise. */
int req_query_time(wg_req *r, const char *key, int64_t def, int64_t *out);
/* Parses ?key=… as an integer in [min, max]; def when absent; 400 naming the key otherwise. */
int req_query_int(wg_req *r, const char *key, int64_t min, int64_t max, int64_t def, int64_t *out);

/* The one pager of every list: ?limit=&cursor= in, {"items", "next_cursor",
 * "total"} out. A list pages either by id (the cursor is the last id
 * listed; the statement takes the rows after it) or by position (the
 * cursor counts the rows already listed). The handler binds pg->cursor and
 * pg->limit + 1 where its statement wants them, hands the statement's rows
 * to pager_rows, counts with pager_count, and answers with pager_reply. */
struct wg_pager {
	int64_t limit, cursor;
	bool by_position;
	json_t *items;
	json_t *next_cursor;
	int64_t total;
	bool total_capped;          /* the count stopped at its cap: there are more */
};
/* Reads ?limit= (1..WG_MAX_LIST_LIMIT, default def) and ?cursor=; 400 naming the parameter. */
int  pager_start(wg_req *r, struct wg_pager *pg, int64_t def, bool by_position);
/* Runs sql and turns each row into an item with row(), up to limit rows; id_col
 * is the column of each row's id (when paging by id). */
int  pager_rows(wg_req *r, struct wg_pager *pg, const char *sql, const wg_param *p, size_t n, int id_col,
		json_t *(*row)(wg_req *r, wg_stmt *s, void *ctx), void *ctx);
/* Counts the rows of from ("FROM … WHERE …", the list's own clause), at most cap (0: no cap). */
int  pager_count(wg_req *r, struct wg_pager *pg, const char *from, const wg_param *p, size_t n, int64_t cap);
/* Answers 200 with the page (takes the items); releases the pager. */
int  pager_reply(wg_req *r, struct wg_pager *pg);
void pager_release(struct wg_pager *pg);

/* Route registry: modules add their tables at start-up, before http_start. */
int router_add(const struct wg_route *routes, size_t n);
void router_reset(void);
/* Matches method+path; returns the route index or -1 (*method_mismatch when the path exists). */
int router_match(const char *method, const char *path, int64_t *id, bool *method_mismatch);
const struct wg_route *router_get(int index);
int router_count(void);

struct wg_http;
struct wg_http_config {
	const char *listen;      /* "127.0.0.1:8080" */
	const char *static_dir;  /* web/dist */
	unsigned threads;
};
int  http_start(struct wg_app *app, const struct wg_http_config *cfg, struct wg_http **out);
/* Stops accepting, lets in-flight requests finish (up to grace_seconds), stops. */
void http_stop(struct wg_http *h, unsigned grace_seconds);

#endif
