/* The dispatcher: what every route's declaration promises, enforced before
 * and around its handler (signed in, the right, the body, one transaction,
 * retries answered once). req_run is the one runner: the HTTP server, the
 * background jobs and the CLI all run a route through it. */
#include "core/http/http_int.h"
#include "core/app/app.h"
#include "core/auth/auth.h"
#include "core/lib/err.h"
#include "core/lib/limits.h"

#include <microhttpd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *bearer_token(wg_req *r)
{
	const char *a = req_header(r, MHD_HTTP_HEADER_AUTHORIZATION);
	if (a && strncmp(a, "Bearer ", 7) == 0)
		return a + 7;
	return req_cookie(r, WG_SESSION_COOKIE);
}

void http_authenticate(wg_req *r)
{
	const char *token = bearer_token(r);
	if (!token || !*token)
		return;
	if (auth_session_lookup(r->app, token, r->now, &r->principal) == 0)
		r->user = &r->principal;
}

/* 1 + the offset of the bracket that opens level max + 1, or 0 when the
 * text never nests deeper than max (brackets inside strings do not count).
 * No request body of ours nests more than a few levels: a deeper one is
 * refused before the parser spends its recursion on it. */
static size_t json_nesting_beyond(const char *text, size_t n, unsigned max)
{
	unsigned depth = 0;
	bool in_string = false, escaped = false;
	for (size_t i = 0; i < n; i++) {
		char c = text[i];
		if (in_string) {
			if (escaped)
				escaped = false;
			else if (c == '\\')
				escaped = true;
			else if (c == '"')
				in_string = false;
		} else if (c == '"') {
			in_string = true;
		} else if (c == '{' || c == '[') {
			if (++depth > max)
				return i + 1;
		} else if ((c == '}' || c == ']') && depth > 0) {
			depth--;
		}
	}
	return 0;
}
static int parse_json_body(wg_req *r)
{
	json_error_t e;
	if (r->raw.len == 0) {
		r->body = json_object();
		return r->body ? 0 : req_fail(r, WG_ERR_NOMEM, NULL, NULL, NULL);
	}
	const char *ctype = req_header(r, MHD_HTTP_HEADER_CONTENT_TYPE);
	if (ctype && strncmp(ctype, "application/json", 16) != 0)
		return req_failf(r, WG_ERR_MEDIA_TYPE, NULL, "请求体应为 application/json,收到 %s",
				 "the body must be application/json, got %s", ctype, ctype);
	size_t too_deep = json_nesting_beyond(r->raw.data, r->raw.len, WG_MAX_JSON_DEPTH);
	if (too_deep)
		return req_failf(r, WG_ERR_BAD_JSON, NULL, "JSON 嵌套超过 %u 层(第 %zu 字节)",
				 "JSON nested deeper than %u levels at byte %zu", WG_MAX_JSON_DEPTH, too_deep - 1,
				 WG_MAX_JSON_DEPTH, too_deep - 1);
	r->body = json_loadb(r->raw.data, r->raw.len, JSON_REJECT_DUPLICATES, &e);
	if (!r->body)
		return req_failf(r, WG_ERR_BAD_JSON, NULL, "JSON 格式错误(第 %d 字节):%s",
				 "malformed JSON at byte %d: %s", e.position, e.text, e.position, e.text);
	if (!json_is_object(r->body))
		return req_fail(r, WG_ERR_BAD_JSON, NULL, "请求体应为 JSON 对象", "the body must be a JSON object");
	return 0;
}

static int idempotency_replay(wg_req *r, const char *key, bool *replayed)
{
	wg_stmt *s;
	wg_param p[] = { WG_PINT(r->user->id), WG_PTEXT(key) };
	*replayed = false;
	int rc = store_query(r->db, "SELECT status, body, route FROM idempotency WHERE user_id = ? AND key = ?", p, 2, &s);
	if (rc)
		return req_fail(r, rc, NULL, NULL, NULL);
	rc = stmt_next(s);
	if (rc == 1) {
		if (strcmp(stmt_text(s, 2), r->url) != 0) {
			stmt_done(s);
			return req_fail(r, WG_ERR_CONFLICT, "Idempotency-Key", "该 Idempotency-Key 已用于另一个请求地址",
					"this Idempotency-Key was used for another request path");
		}
		json_t *body = json_loads(stmt_text(s, 1), 0, NULL);
		req_reply(r, (int)stmt_int(s, 0), body);
		*replayed = true;
	}
	stmt_done(s);
	return rc < 0 ? req_fail(r, -rc, NULL, NULL, NULL) : 0;
}

static int idempotency_save(wg_req *r, const char *key)
{
	char *text = r->out ? json_dumps(r->out, JSON_COMPACT) : NULL;
	if (r->out && !text)
		return req_fail(r, WG_ERR_NOMEM, NULL, NULL, NULL);
	wg_param p[] = { WG_PINT(r->user->id), WG_PTEXT(key), WG_PTEXT(r->url),
			 WG_PINT(r->status ? r->status : 200), WG_PTEXT(text ? text : "null"), WG_PINT(r->now) };
	int rc = store_run(r->db, "INSERT INTO idempotency (user_id, key, route, status, body, created_at) VALUES (?, ?, ?, ?, ?, ?)", p, 6);
	free(text);
	return rc ? req_fail(r, rc, NULL, NULL, NULL) : 0;
}

static bool commit_on_failure(const wg_req *r)
{
	/* Sign-in failures are recorded (lockout, audit) although the request fails. */
	return r->fail.code == WG_ERR_BAD_CREDENTIALS || r->fail.code == WG_ERR_LOCKED;
}

static void run_write(wg_req *r)
{
	const char *key = req_header(r, "Idempotency-Key");
	bool replayed = false;
	if (key && (strlen(key) == 0 || strlen(key) > 128)) {
		req_fail(r, WG_ERR_VALIDATION, "Idempotency-Key", "Idempotency-Key 长度应为 1 到 128",
			 "Idempotency-Key must be 1 to 128 characters");
		return;
	}
	int rc = store_begin(r->db);
	if (rc) {
		req_fail(r, rc, NULL, NULL, NULL);
		return;
	}
	if (key && r->user && idempotency_replay(r, key, &replayed) == 0 && replayed) {
		store_rollback(r->db);
		return;
	}
	if (!r->fail.code)
		r->route->handler(r);
	if (!r->fail.code && !r->rollback && key && r->user && idempotency_save(r, key) == WG_ERR_CONFLICT) {
		/* The same retry ran at the same time and committed first: answer as it did. */
		store_rollback(r->db);
		memset(&r->fail, 0, sizeof r->fail);
		if (store_begin(r->db) == 0) {
			idempotency_replay(r, key, &replayed);
			store_rollback(r->db);
		}
		if (!replayed && !r->fail.code)
			req_fail(r, WG_ERR_CONFLICT, "Idempotency-Key", NULL, NULL);
		return;
	}
	if ((r->fail.code && !commit_on_failure(r)) || r->rollback) {
		store_rollback(r->db);
		return;
	}
	rc = store_commit(r->db);
	if (rc && !r->fail.code)
		req_fail(r, rc, NULL, NULL, NULL);
}

void req_run(wg_req *r)
{
	const struct wg_route *rt = r->route;
	if (!(rt->flags & ROUTE_PUBLIC) && !rbac_allows(r->user->role, rt->right)) {
		req_failf(r, WG_ERR_FORBIDDEN, NULL, "角色“%s”无权执行此操作(需要权限 %s)",
			  "role '%s' may not do this (needs right %s)", r->user->role->zh,
			  rbac_right_name(rt->right), r->user->role->name, rbac_right_name(rt->right));
		return;
	}
	if ((rt->flags & ROUTE_JSON) && !r->body && parse_json_body(r))
		return;
	bool own_connection = !r->db && !(rt->flags & ROUTE_NO_DB);
	if (own_connection)
		store_acquire(r->app->store, &r->db);
	if (rt->flags & ROUTE_WRITE) {
		run_write(r);
	} else if (r->db && (rt->flags & ROUTE_SNAPSHOT)) {
		int rc = store_begin_read(r->db);
		if (rc)
			req_fail(r, rc, NULL, NULL, NULL);
		else
			rt->handler(r);
		if (!rc)
			store_commit(r->db);
	} else {
		rt->handler(r);
	}
	if (own_connection) {
		store_release(r->app->store, r->db);
		r->db = NULL;
	}
}

void http_dispatch(wg_req *r)
{
	if (r->too_large) {
		req_fail(r, WG_ERR_TOO_LARGE, NULL, "请求体超过大小限制", "request body too large");
		return;
	}
	if (!(r->route->flags & ROUTE_PUBLIC) && !r->user) {
		req_fail(r, WG_ERR_UNAUTHORIZED, NULL, NULL, NULL);
		return;
	}
	if ((r->route->flags & ROUTE_LIMITED) &&
	    !http_rate_allow(r->address_text, r->now, r->app->config.public_requests_per_minute)) {
		req_add_header(r, "Retry-After", "60");
		req_fail(r, WG_ERR_RATE, NULL, NULL, NULL);
		return;
	}
	req_run(r);
}
