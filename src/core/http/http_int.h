/* Between the files of the HTTP layer only (server, dispatch, uploads, static files). */
#ifndef WG_HTTP_INT_H
#define WG_HTTP_INT_H

#include "core/http/http.h"

struct MHD_Response;

/* Signs the request in from its bearer token or session cookie, if any. */
void   http_authenticate(wg_req *r);
/* 413 for a body over its limit, 401 when not signed in, then req_run. */
void   http_dispatch(wg_req *r);
size_t http_body_limit(const wg_req *r);
void   http_spool_open(wg_req *r);
void   http_spool_write(wg_req *r, const char *data, size_t n);
/* The upload is complete: closes its file, keeps its digest (r->body_digest)
 * and unwraps the file part of a multipart/form-data body (422 naming
 * "file" when it is malformed). */
void   http_spool_finish(wg_req *r);
/* Before the body is read: refuses cross-site writes (403 cross_site) and
 * uploads of a type neither a spreadsheet nor a form upload (415); returns
 * the failure or 0. */
int    http_precheck(wg_req *r);
/* The file a GET of a non-API path names (or the app's index.html); a wg_err when none. */
int    http_static_response(const char *static_dir, const wg_req *r, struct MHD_Response **out);

/* Counts a request from ADDRESS in this minute; false once it made PER_MINUTE (ratelimit.c). */
bool   http_rate_allow(const char *address, int64_t now, int64_t per_minute);

/* Parked requests (park.c). After the handler returned: true when r is
 * parked and its connection now suspended (answer nothing yet). */
bool   http_park_hold(wg_req *r);
/* True when r was parked and req_unpark has answered it. */
bool   http_park_answered(wg_req *r);
/* Runs the parked request's finish, which sets its answer. */
void   http_park_finish(wg_req *r);

#endif
