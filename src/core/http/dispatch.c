/* The dispatcher: what every route's declaration promises, enforced before
 * and around its handler (signed in, the right, the body, one transaction,
 * retries answered once). req_run is the one runner: the HTTP server, the
 * background jobs and the CLI all run a route through it. */
#include "core/http/http_int.h"
#include "core/app/app.h"
#include "core/auth/auth.h"
#include "core/http/headers.h"
#include "core/lib/err.h"
#include "core/lib/buf.h"
#include "core/lib/json.h"
#include "core/lib/limits.h"

#include <microhttpd.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void http_authenticate(wg_req *r)
{
	const char *token = http_bearer_token(req_header(r, MHD_HTTP_HEADER_AUTHORIZATION));
	bool cookie = false;
	if (!token) {
		token = req_cookie(r, WG_SESSION_COOKIE);
		cookie = token != NULL;
	}
	if (!token || !*token)
		return;
	/* A monitoring system's token, for the routes that take it. */
	const char *scrape = r->app->config.metrics_token;
	if (!cookie && r->route && (r->route->flags & ROUTE_SCRAPE) && scrape[0] && strlen(token) == strlen(scrape) &&
	    sodium_memcmp(token, scrape, strlen(scrape)) == 0) {
		r->scrape = true;
		return;
	}
	if (auth_session_lookup(r->app, token, r->now, &r->principal) == 0) {
		r->user = &r->principal;
		r->via_cookie = cookie;
	}
}

static bool is_safe_method(const char *m)
{
	return strcmp(m, "GET") == 0 || strcmp(m, "HEAD") == 0 || strcmp(m, "OPTIONS") == 0;
}

/* What a file upload may be labelled: the spreadsheet itself, or the form
 * upload `curl -F` and the pages' own FormData send (its file part is
 * unwrapped). A form on another site could send multipart/form-data too,
 * but the origin check above refuses it first, and without this site's
 * cookie it signs nobody in; text/plain and url-encoded bodies, which are
 * never a spreadsheet, stay refused. */
static const char *const upload_types[] = {
	"text/csv", "application/csv", "application/vnd.ms-excel",
	"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "application/octet-stream",
	"multipart/form-data", NULL,
};

int http_precheck(wg_req *r)
{
	/* CSRF: a write from a browser must come from our own pages. A bearer
	 * token is never sent by a browser on its own, a cookie is: a write
	 * signed in by cookie must show where it comes from. */
	if (!is_safe_method(r->method)) {
		enum http_site site = http_request_site(req_header(r, "Sec-Fetch-Site"), req_header(r, "Origin"),
							req_header(r, MHD_HTTP_HEADER_HOST), r->app->config.origins);
		if (site == HTTP_SITE_CROSS || (site == HTTP_SITE_UNKNOWN && r->via_cookie))
			return req_fail(r, WG_ERR_CROSS_SITE, "Origin",
					site == HTTP_SITE_CROSS ? "拒绝来自其他网站的修改请求(Origin / Sec-Fetch-Site 不是本站)"
								: "用 Cookie 登录的修改请求须带 Origin 或 Sec-Fetch-Site 请求头",
					site == HTTP_SITE_CROSS ? "a write from another site is refused (Origin / Sec-Fetch-Site is not this site)"
								: "a write signed in by cookie must carry an Origin or Sec-Fetch-Site header");
	}
	if (r->route && (r->route->flags & ROUTE_UPLOAD)) {
		const char *ct = req_header(r, MHD_HTTP_HEADER_CONTENT_TYPE);
		for (const char *const *t = upload_types; *t; t++)
			if (http_media_type_is(ct, *t))
				return 0;
		return req_failf(r, WG_ERR_MEDIA_TYPE, "Content-Type",
				 "导入请上传文件本身(Content-Type 为 text/csv、application/vnd.openxmlformats-officedocument."
				 "spreadsheetml.sheet(XLSX)、application/vnd.ms-excel(XLS)或 application/octet-stream),"
				 "或用表单上传(curl -F file=@文件),收到 %s",
				 "upload the file itself (Content-Type text/csv, application/vnd.openxmlformats-officedocument."
				 "spreadsheetml.sheet (XLSX), application/vnd.ms-excel (XLS) or application/octet-stream), "
				 "or as a form upload (curl -F file=@FILE); got %s",
				 ct ? ct : "(无)", ct ? ct : "(none)");
	}
	return 0;
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
	/* A body without a Content-Type, or of a type a plain form can send, is
	 * refused: JSON is what no form can post across sites. (The CLI and
	 * the jobs hand over bodies of their own making, with no headers.) */
	const char *ctype = req_header(r, MHD_HTTP_HEADER_CONTENT_TYPE);
	if (r->mhd && !http_media_type_is(ctype, "application/json"))
		return req_failf(r, WG_ERR_MEDIA_TYPE, "Content-Type", "请求体应为 application/json,收到 %s",
				 "the body must be application/json, got %s", ctype ? ctype : "(无 Content-Type)",
				 ctype ? ctype : "(no Content-Type)");
	if ((r->body = json_flat_load(r->raw.data, r->raw.len)))
		return 0;
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

static enum MHD_Result fingerprint_arg(void *cls, enum MHD_ValueKind kind, const char *key, const char *value)
{
	crypto_generichash_state *st = cls;
	(void)kind;
	crypto_generichash_update(st, (const unsigned char *)key, strlen(key) + 1);
	crypto_generichash_update(st, (const unsigned char *)(value ? value : ""), value ? strlen(value) + 1 : 1);
	return MHD_YES;
}

/* What a retry must repeat exactly for its first answer to stand for it:
 * the method, the path, the query and the body (an upload by the digest
 * taken while it was spooled). BLAKE2b-256 as hex. */
static void request_fingerprint(wg_req *r, char out[65])
{
	crypto_generichash_state st;
	unsigned char h[32];
	crypto_generichash_init(&st, NULL, 0, sizeof h);
	crypto_generichash_update(&st, (const unsigned char *)r->method, strlen(r->method) + 1);
	crypto_generichash_update(&st, (const unsigned char *)r->url, strlen(r->url) + 1);
	if (r->mhd)
		MHD_get_connection_values(r->mhd, MHD_GET_ARGUMENT_KIND, fingerprint_arg, &st);
	crypto_generichash_update(&st, (const unsigned char *)"\n", 1);
	if (r->body_digest_ready)
		crypto_generichash_update(&st, r->body_digest, sizeof r->body_digest);
	else if (r->raw.len)
		crypto_generichash_update(&st, (const unsigned char *)r->raw.data, r->raw.len);
	crypto_generichash_final(&st, h, sizeof h);
	wg_hex(out, h, sizeof h);
}

/* The first answer to this key, when there is one for the same request;
 * 422 when the key was used for a different request (another path, query
 * or body: draft-ietf-httpapi-idempotency-key-header). */
static int idempotency_replay(wg_req *r, const char *key, const char *fingerprint, bool *replayed)
{
	wg_stmt *s;
	wg_param p[] = { WG_PINT(r->user->id), WG_PTEXT(key) };
	*replayed = false;
	int rc = store_query(r->db, "SELECT status, body, route, fingerprint FROM idempotency WHERE user_id = ? AND key = ?", p, 2, &s);
	if (rc)
		return req_fail(r, rc, NULL, NULL, NULL);
	rc = stmt_next(s);
	if (rc == 1) {
		/* Keys stored before fingerprints were kept match by path. */
		const char *stored = stmt_text(s, 3);
		if (stored[0] ? strcmp(stored, fingerprint) != 0 : strcmp(stmt_text(s, 2), r->url) != 0) {
			stmt_done(s);
			return req_fail(r, WG_ERR_IDEMPOTENCY_REUSED, "Idempotency-Key",
					"该 Idempotency-Key 已用于另一个请求(地址、查询参数或请求体不同);每个新请求请用新的键",
					"this Idempotency-Key was used for a different request (path, query or body); use a new key for each request");
		}
		json_t *body = json_loads(stmt_text(s, 1), 0, NULL);
		req_reply(r, (int)stmt_int(s, 0), body);
		*replayed = true;
	}
	stmt_done(s);
	return rc < 0 ? req_fail(r, -rc, NULL, NULL, NULL) : 0;
}

static int idempotency_save(wg_req *r, const char *key, const char *fingerprint)
{
	char *text = r->out ? json_dumps(r->out, JSON_COMPACT) : NULL;
	if (r->out && !text)
		return req_fail(r, WG_ERR_NOMEM, NULL, NULL, NULL);
	wg_param p[] = { WG_PINT(r->user->id), WG_PTEXT(key), WG_PTEXT(r->url),
			 WG_PINT(r->status ? r->status : 200), WG_PTEXT(text ? text : "null"), WG_PINT(r->now),
			 WG_PTEXT(fingerprint) };
	int rc = store_run(r->db, "INSERT INTO idempotency (user_id, key, route, status, body, created_at, fingerprint)"
			   " VALUES (?, ?, ?, ?, ?, ?, ?)", p, 7);
	free(text);
	return rc ? req_fail(r, rc, NULL, NULL, NULL) : 0;
}

static bool commit_on_failure(const wg_req *r)
{
	/* Sign-in failures are recorded (lockout, audit) although the request fails. */
	return r->fail.code == WG_ERR_BAD_CREDENTIALS || r->fail.code == WG_ERR_LOCKED || r->keep_on_failure;
}

static void run_write(wg_req *r)
{
	const char *key = req_header(r, "Idempotency-Key");
	bool replayed = false;
	char fingerprint[65] = "";
	if (r->fail.code)
		return;
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
	if (key && r->user)
		request_fingerprint(r, fingerprint);
	if (key && r->user && idempotency_replay(r, key, fingerprint, &replayed) == 0 && replayed) {
		store_rollback(r->db);
		return;
	}
	if (!r->fail.code)
		r->route->handler(r);
	if (!r->fail.code && !r->rollback && key && r->user && idempotency_save(r, key, fingerprint) == WG_ERR_CONFLICT) {
		/* The same retry ran at the same time and committed first: answer as it did. */
		store_rollback(r->db);
		memset(&r->fail, 0, sizeof r->fail);
		if (store_begin(r->db) == 0) {
			idempotency_replay(r, key, fingerprint, &replayed);
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
	if (!(rt->flags & ROUTE_PUBLIC) && !r->scrape && !rbac_allows(r->user->role, rt->right)) {
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
	if (!(r->route->flags & ROUTE_PUBLIC) && !r->user && !r->scrape) {
		req_fail(r, WG_ERR_UNAUTHORIZED, NULL, NULL, NULL);
		return;
	}
	if (r->user && r->user->must_enroll && !(r->route->flags & (ROUTE_ENROLL | ROUTE_PUBLIC))) {
		req_fail(r, WG_ERR_TOTP_ENROLL, NULL, "您的角色须使用双因素登录:请先在“我的账户”绑定身份验证器(POST /api/v1/me/totp)",
			 "your role signs in with two factors: set up an authenticator first (POST /api/v1/me/totp)");
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
