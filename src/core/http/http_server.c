/* libmicrohttpd glue and the dispatcher that enforces every route's declaration. */
#include "core/http/http.h"
#include "core/app/app.h"
#include "core/audit/audit.h"
#include "core/auth/auth.h"
#include "core/lib/err.h"
#include "core/lib/json.h"
#include "core/lib/limits.h"
#include "core/lib/log.h"
#include "core/lib/mem.h"
#include "core/lib/parse.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <microhttpd.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

struct wg_http {
	struct MHD_Daemon *daemon;
	struct wg_app *app;
	char static_dir[1024];
	_Atomic int in_flight;
};

static uint64_t now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

/* ---- request helpers used by handlers ---- */

int req_fail(wg_req *r, int code, const char *field, const char *zh, const char *en)
{
	struct wg_fail *f = &r->fail;
	f->code = code;
	snprintf(f->field, sizeof f->field, "%s", field ? field : "");
	snprintf(f->zh, sizeof f->zh, "%s", zh ? zh : wg_err_zh(code));
	snprintf(f->en, sizeof f->en, "%s", en ? en : wg_err_en(code));
	return code;
}

/* Consumes from ap the arguments that fmt's conversions take. */
static void skip_format_args(const char *fmt, va_list *ap)
{
	for (const char *p = fmt; *p; p++) {
		if (*p != '%')
			continue;
		p++;
		if (*p == '%')
			continue;
		while (*p && strchr("-+ #0123456789.", *p))
			p++;
		int longs = 0;
		bool size = false;
		for (; *p == 'l' || *p == 'h' || *p == 'z' || *p == 'j' || *p == 't'; p++) {
			longs += *p == 'l' || *p == 'j';
			size |= *p == 'z' || *p == 't';
		}
		switch (*p) {
		case 's': case 'p': (void)va_arg(*ap, void *); break;
		case 'f': case 'g': case 'e': (void)va_arg(*ap, double); break;
		case 'd': case 'i': case 'u': case 'x': case 'X': case 'c':
			if (size) (void)va_arg(*ap, size_t);
			else if (longs >= 2) (void)va_arg(*ap, long long);
			else if (longs == 1) (void)va_arg(*ap, long);
			else (void)va_arg(*ap, int);
			break;
		default:
			return;
		}
		if (!*p)
			return;
	}
}

/* The Chinese format's arguments come first, then the English format's. */
int req_failf(wg_req *r, int code, const char *field, const char *zh_fmt, const char *en_fmt, ...)
{
	char zh[384], en[384];
	va_list ap, zh_ap;
	va_start(ap, en_fmt);
	va_copy(zh_ap, ap);
	vsnprintf(zh, sizeof zh, zh_fmt, zh_ap);
	va_end(zh_ap);
	skip_format_args(zh_fmt, &ap);
	vsnprintf(en, sizeof en, en_fmt, ap);
	va_end(ap);
	return req_fail(r, code, field, zh, en);
}

int req_reply(wg_req *r, int status, json_t *body)
{
	json_decref(r->out);
	r->status = status;
	r->out = body;
	return 0;
}

int req_reply_raw(wg_req *r, int status, const char *content_type, char *data, size_t len)
{
	wg_free(r->out_raw);
	r->status = status;
	r->out_raw = data;
	r->out_len = len;
	r->out_type = content_type;
	return 0;
}

void req_add_header(wg_req *r, const char *name, const char *value)
{
	if (r->nheaders < (int)(sizeof r->headers / sizeof r->headers[0]))
		r->headers[r->nheaders++] = (struct wg_header){ name, value };
}

const char *req_query(wg_req *r, const char *key)
{
	if (!r->mhd) {
		for (const char *const *kv = r->local_query; kv && kv[0]; kv += 2)
			if (strcmp(kv[0], key) == 0)
				return kv[1];
		return NULL;
	}
	return MHD_lookup_connection_value(r->mhd, MHD_GET_ARGUMENT_KIND, key);
}

const char *req_header(wg_req *r, const char *key)
{
	if (!r->mhd)
		return NULL;
	return MHD_lookup_connection_value(r->mhd, MHD_HEADER_KIND, key);
}

const char *req_cookie(wg_req *r, const char *key)
{
	if (!r->mhd)
		return NULL;
	return MHD_lookup_connection_value(r->mhd, MHD_COOKIE_KIND, key);
}

struct query_check { const char *const *allowed; const char *bad; };

static enum MHD_Result check_query_key(void *cls, enum MHD_ValueKind kind, const char *key, const char *value)
{
	struct query_check *qc = cls;
	(void)kind;
	(void)value;
	for (const char *const *a = qc->allowed; *a; a++)
		if (strcmp(*a, key) == 0)
			return MHD_YES;
	qc->bad = key;
	return MHD_NO;
}

int req_check_query(wg_req *r, const char *const *allowed)
{
	struct query_check qc = { allowed, NULL };
	if (r->mhd)
		MHD_get_connection_values(r->mhd, MHD_GET_ARGUMENT_KIND, check_query_key, &qc);
	if (qc.bad)
		return req_failf(r, WG_ERR_BAD_QUERY, qc.bad, "未知查询参数 %s", "unknown query parameter %s", qc.bad, qc.bad);
	return 0;
}

int req_check_body(wg_req *r, const char *const *allowed)
{
	const char *key;
	json_t *v;
	json_object_foreach(r->body, key, v) {
		const char *const *a = allowed;
		while (*a && strcmp(*a, key) != 0)
			a++;
		if (!*a)
			return req_failf(r, WG_ERR_UNKNOWN_FIELD, key, "未知字段 %s", "unknown field %s", key, key);
	}
	return 0;
}

int req_if_match(wg_req *r, int64_t current)
{
	const char *h = req_header(r, "If-Match");
	int64_t want;
	if (!h)
		return 0;
	size_t n = strlen(h);
	if (n >= 2 && h[0] == '"' && h[n - 1] == '"') {
		h++;
		n -= 2;
	}
	if (!wg_parse_i64(h, n, &want))
		return req_fail(r, WG_ERR_VALIDATION, "If-Match", "If-Match 应为记录的版本号(整数)",
				"If-Match must be the record's version (an integer)");
	if (want != current)
		return req_failf(r, WG_ERR_PRECONDITION, "version", "记录已被他人修改(当前版本 %lld),请刷新后重试",
				 "the record was changed by someone else (now version %lld); reload and retry",
				 (long long)current, (long long)current);
	return 0;
}

int req_query_int(wg_req *r, const char *key, int64_t min, int64_t max, int64_t def, int64_t *out)
{
	const char *v = req_query(r, key);
	int64_t x;
	if (!v) {
		*out = def;
		return 0;
	}
	if (!wg_parse_i64(v, strlen(v), &x) || x < min || x > max)
		return req_failf(r, WG_ERR_BAD_QUERY, key, "查询参数 %s 应为 %lld 到 %lld 之间的整数",
				 "query parameter %s must be an integer from %lld to %lld",
				 key, (long long)min, (long long)max, key, (long long)min, (long long)max);
	*out = x;
	return 0;
}

/* ---- responses ---- */

static void free_buffer(void *p) { wg_free(p); }

static struct MHD_Response *response_from(char *data, size_t len)
{
	struct MHD_Response *resp = MHD_create_response_from_buffer_with_free_callback(len, data, free_buffer);
	if (!resp)
		wg_free(data);
	return resp;
}

static json_t *error_envelope(const struct wg_fail *f)
{
	json_t *err = json_pack("{s:s, s:s, s:s}", "code", wg_err_code(f->code),
				"message", f->zh, "message_en", f->en);
	if (err && f->field[0])
		json_object_set_new(err, "field", json_string(f->field));
	return json_pack("{s:o}", "error", err);
}

static enum MHD_Result send_request(struct MHD_Connection *mhd, wg_req *r)
{
	struct MHD_Response *resp = NULL;
	const char *type = "application/json; charset=utf-8";
	if (r->fail.code) {
		json_decref(r->out);
		r->out = error_envelope(&r->fail);
		r->status = wg_err_status(r->fail.code);
		wg_free(r->out_raw);
		r->out_raw = NULL;
	}
	if (r->out_raw) {
		resp = response_from(r->out_raw, r->out_len);
		r->out_raw = NULL;
		type = r->out_type;
	} else if (r->status == 204) {
		resp = MHD_create_response_from_buffer(0, "", MHD_RESPMEM_PERSISTENT);
	} else {
		wg_buf text = WG_BUF_INIT(WG_MAX_RESPONSE);
		if (!r->out || json_emit(&text, r->out) || text.err) {
			static const char oom[] = "{\"error\":{\"code\":\"out_of_memory\",\"message\":\"服务器内存不足\",\"message_en\":\"out of memory\"}}";
			wg_buf_release(&text);
			r->status = 503;
			resp = MHD_create_response_from_buffer(sizeof oom - 1, (void *)oom, MHD_RESPMEM_PERSISTENT);
		} else {
			size_t len;
			char *data = wg_buf_detach(&text, &len);
			resp = data ? response_from(data, len) : NULL;
		}
	}
	if (!resp)
		return MHD_NO;
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, type);
	MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
	MHD_add_response_header(resp, "Cache-Control", "no-store");
	for (int i = 0; i < r->nheaders; i++)
		MHD_add_response_header(resp, r->headers[i].name, r->headers[i].value);
	enum MHD_Result ok = MHD_queue_response(mhd, (unsigned)(r->status ? r->status : 200), resp);
	MHD_destroy_response(resp);
	return ok;
}

/* ---- static files ---- */

static const char *mime_type(const char *path)
{
	static const struct { const char *ext, *type; } types[] = {
		{ ".html", "text/html; charset=utf-8" }, { ".js", "text/javascript; charset=utf-8" },
		{ ".css", "text/css; charset=utf-8" }, { ".svg", "image/svg+xml" }, { ".png", "image/png" },
		{ ".json", "application/json" }, { ".ico", "image/x-icon" }, { ".woff2", "font/woff2" },
		{ ".txt", "text/plain; charset=utf-8" }, { ".webmanifest", "application/manifest+json" },
	};
	const char *dot = strrchr(path, '.');
	for (size_t i = 0; dot && i < sizeof types / sizeof types[0]; i++)
		if (strcmp(dot, types[i].ext) == 0)
			return types[i].type;
	return "application/octet-stream";
}

static bool static_path_ok(const char *url)
{
	if (url[0] != '/' || strstr(url, "..") || strstr(url, "//") || strchr(url, '\\'))
		return false;
	return strlen(url) < 512;
}

static enum MHD_Result serve_static(struct wg_http *h, struct MHD_Connection *mhd, wg_req *r)
{
	char path[1600];
	const char *url = r->url;
	struct stat sb;
	int fd = -1;
	if (strcmp(r->method, "GET") != 0 && strcmp(r->method, "HEAD") != 0) {
		req_fail(r, WG_ERR_METHOD, NULL, NULL, NULL);
		return send_request(mhd, r);
	}
	if (!static_path_ok(url)) {
		req_fail(r, WG_ERR_NO_ROUTE, NULL, NULL, NULL);
		return send_request(mhd, r);
	}
	snprintf(path, sizeof path, "%s%s", h->static_dir, strcmp(url, "/") == 0 ? "/index.html" : url);
	if (stat(path, &sb) != 0 || !S_ISREG(sb.st_mode)) {
		/* The UI routes on the client: unknown paths without an extension get the app. */
		const char *last = strrchr(url, '/');
		if (last && strchr(last, '.')) {
			req_fail(r, WG_ERR_NO_ROUTE, NULL, NULL, NULL);
			return send_request(mhd, r);
		}
		snprintf(path, sizeof path, "%s/index.html", h->static_dir);
		if (stat(path, &sb) != 0) {
			req_fail(r, WG_ERR_NO_ROUTE, NULL, NULL, NULL);
			return send_request(mhd, r);
		}
	}
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		req_fail(r, WG_ERR_NO_ROUTE, NULL, NULL, NULL);
		return send_request(mhd, r);
	}
	struct MHD_Response *resp = MHD_create_response_from_fd((uint64_t)sb.st_size, fd);
	if (!resp) {
		close(fd);
		return MHD_NO;
	}
	r->status = 200;
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, mime_type(path));
	MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
	enum MHD_Result ok = MHD_queue_response(mhd, MHD_HTTP_OK, resp);
	MHD_destroy_response(resp);
	return ok;
}

/* ---- the dispatcher ---- */

static const char *bearer_token(wg_req *r)
{
	const char *a = req_header(r, MHD_HTTP_HEADER_AUTHORIZATION);
	if (a && strncmp(a, "Bearer ", 7) == 0)
		return a + 7;
	return req_cookie(r, WG_SESSION_COOKIE);
}

static void authenticate(wg_req *r)
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

static void dispatch(wg_req *r)
{
	const struct wg_route *rt = r->route;
	if (r->too_large) {
		req_fail(r, WG_ERR_TOO_LARGE, NULL, "请求体超过大小限制", "request body too large");
		return;
	}
	if (!(rt->flags & ROUTE_PUBLIC) && !r->user) {
		req_fail(r, WG_ERR_UNAUTHORIZED, NULL, NULL, NULL);
		return;
	}
	if (!(rt->flags & ROUTE_PUBLIC) && !rbac_allows(r->user->role, rt->right)) {
		req_failf(r, WG_ERR_FORBIDDEN, NULL, "角色“%s”无权执行此操作(需要权限 %s)",
			  "role '%s' may not do this (needs right %s)", r->user->role->zh,
			  rbac_right_name(rt->right), r->user->role->name, rbac_right_name(rt->right));
		return;
	}
	if ((rt->flags & ROUTE_JSON) && parse_json_body(r))
		return;
	if (!(rt->flags & ROUTE_NO_DB))
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
	if (r->db) {
		store_release(r->app->store, r->db);
		r->db = NULL;
	}
}

static size_t body_limit(const wg_req *r)
{
	if (r->route && (r->route->flags & ROUTE_UPLOAD) && r->user)
		return WG_MAX_UPLOAD;
	return r->user ? WG_MAX_BODY : WG_MAX_BODY_ANON;
}

/* Uploads (spreadsheets for import) go to a private file in the data
 * directory, not into memory: the import reads them as a stream, so memory
 * stays bounded whatever the size. */
static void spool_open(wg_req *r)
{
	int n = snprintf(r->spool, sizeof r->spool, "%s/upload-XXXXXX", r->app->data_dir);
	if (n < 0 || (size_t)n >= sizeof r->spool || (r->spool_fd = mkstemp(r->spool)) < 0) {
		r->spool[0] = '\0';
		r->spool_fd = -1;
		req_fail(r, WG_ERR_IO, NULL, "无法保存上传的文件", "cannot store the upload");
		return;
	}
	r->upload_path = r->spool;
}

static void spool_write(wg_req *r, const char *data, size_t n)
{
	if (r->spool_bytes + n > WG_MAX_UPLOAD) {
		r->too_large = true;
		return;
	}
	r->spool_bytes += n;
	while (n > 0) {
		ssize_t w = write(r->spool_fd, data, n);
		if (w < 0) {
			req_fail(r, WG_ERR_IO, NULL, "无法保存上传的文件", "cannot store the upload");
			return;
		}
		data += w;
		n -= (size_t)w;
	}
}

int http_remove_stale_uploads(const char *data_dir)
{
	DIR *d = opendir(data_dir);
	struct dirent *e;
	char path[1024];
	int removed = 0;
	if (!d)
		return 0;
	while ((e = readdir(d)) != NULL) {
		if (strncmp(e->d_name, "upload-", 7) != 0)
			continue;
		int n = snprintf(path, sizeof path, "%s/%s", data_dir, e->d_name);
		if (n > 0 && (size_t)n < sizeof path && unlink(path) == 0)
			removed++;
	}
	closedir(d);
	return removed;
}

void req_spool_discard(wg_req *r)
{
	if (r->spool_fd >= 0)
		close(r->spool_fd);
	r->spool_fd = -1;
	if (r->spool[0])
		unlink(r->spool);
	r->spool[0] = '\0';
	r->upload_path = NULL;
}

/* What is known of a connection for all its requests: the peer's address,
 * formatted once rather than for every request on a kept-alive connection. */
struct peer {
	char address[sizeof ((wg_req *)0)->address_text];
};

static void peer_address(struct MHD_Connection *mhd, char *out, size_t size)
{
	const union MHD_ConnectionInfo *ci = MHD_get_connection_info(mhd, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	out[0] = '\0';
	if (!ci || !ci->client_addr)
		return;
	const struct sockaddr *sa = ci->client_addr;
	if (sa->sa_family == AF_INET)
		inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr, out, (socklen_t)size);
	else if (sa->sa_family == AF_INET6)
		inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)sa)->sin6_addr, out, (socklen_t)size);
}

static void on_connection(void *cls, struct MHD_Connection *mhd, void **socket_context,
			  enum MHD_ConnectionNotificationCode toe)
{
	(void)cls;
	if (toe == MHD_CONNECTION_NOTIFY_STARTED) {
		struct peer *p = wg_malloc(sizeof *p);
		if (p)  /* without it, requests format the address themselves */
			peer_address(mhd, p->address, sizeof p->address);
		*socket_context = p;
	} else if (toe == MHD_CONNECTION_NOTIFY_CLOSED) {
		wg_free(*socket_context);
		*socket_context = NULL;
	}
}

static wg_req *request_new(struct wg_http *h, struct MHD_Connection *mhd, const char *url, const char *method)
{
	wg_req *r = wg_calloc(1, sizeof *r);
	if (!r)
		return NULL;
	r->spool_fd = -1;
	r->app = h->app;
	r->mhd = mhd;
	r->url = url;
	r->method = method;
	r->now = time(NULL);
	r->started_us = now_us();
	arena_init(&r->arena, 1u << 20);
	const union MHD_ConnectionInfo *ci = MHD_get_connection_info(mhd, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
	const struct peer *peer = ci ? ci->socket_context : NULL;
	if (peer)
		memcpy(r->address_text, peer->address, sizeof r->address_text);
	else
		peer_address(mhd, r->address_text, sizeof r->address_text);
	r->address = r->address_text;
	/* Behind a reverse proxy every peer is the proxy: lockout and audit need the client. */
	const char *proxy = h->app->config.trusted_proxy;
	if (proxy[0] && strcmp(proxy, r->address_text) == 0) {
		const char *real = MHD_lookup_connection_value(mhd, MHD_HEADER_KIND, "X-Real-IP");
		unsigned char probe[sizeof(struct in6_addr)];
		if (real && (inet_pton(AF_INET, real, probe) == 1 || inet_pton(AF_INET6, real, probe) == 1))
			snprintf(r->address_text, sizeof r->address_text, "%s", real);
	}
	return r;
}

static void request_free(wg_req *r)
{
	if (!r)
		return;
	req_spool_discard(r);
	json_decref(r->body);
	json_decref(r->out);
	wg_free(r->out_raw);
	wg_buf_release(&r->raw);
	arena_release(&r->arena);
	wg_free(r);
}

static bool is_api(const char *url)
{
	return strncmp(url, "/api/", 5) == 0 || strcmp(url, "/healthz") == 0 || strcmp(url, "/metrics") == 0;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *mhd, const char *url, const char *method,
				  const char *version, const char *upload, size_t *upload_size, void **con_cls)
{
	struct wg_http *h = cls;
	wg_req *r = *con_cls;
	(void)version;
	if (!r) {
		/* First call: only headers are known. Answer on a later call, so the
		 * connection stays keep-alive. */
		r = request_new(h, mhd, url, method);
		if (!r)
			return MHD_NO;
		*con_cls = r;
		atomic_fetch_add(&h->in_flight, 1);
		if (strlen(url) > WG_MAX_URL) {
			r->route_index = -1;
			req_fail(r, WG_ERR_TOO_LARGE, NULL, "请求地址过长", "URL too long");
			return MHD_YES;
		}
		if (is_api(url)) {
			bool method_mismatch;
			r->route_index = router_match(method, url, &r->id, &method_mismatch);
			r->route = router_get(r->route_index);
			if (!r->route) {
				req_fail(r, method_mismatch ? WG_ERR_METHOD : WG_ERR_NO_ROUTE, NULL, NULL, NULL);
				return MHD_YES;
			}
			authenticate(r);
		} else {
			r->route_index = -2;
		}
		wg_buf_init(&r->raw, body_limit(r));
		if (r->route && (r->route->flags & ROUTE_UPLOAD) && r->user)
			spool_open(r);
		return MHD_YES;
	}
	if (*upload_size) {
		if (r->spool_fd >= 0 && !r->too_large && !r->fail.code)
			spool_write(r, upload, *upload_size);
		else if (r->spool_fd < 0 && !r->too_large && wg_buf_append(&r->raw, upload, *upload_size))
			r->too_large = true;
		*upload_size = 0;
		return MHD_YES;
	}
	if (r->spool_fd >= 0) {
		close(r->spool_fd);  /* complete: the handler reads it by name */
		r->spool_fd = -1;
	}
	if (r->route_index == -2)
		return serve_static(h, mhd, r);
	if (!r->fail.code)
		dispatch(r);
	return send_request(mhd, r);
}

static void on_completed(void *cls, struct MHD_Connection *mhd, void **con_cls, enum MHD_RequestTerminationCode code)
{
	struct wg_http *h = cls;
	wg_req *r = *con_cls;
	(void)mhd;
	(void)code;
	if (!r)
		return;
	int status = r->status ? r->status : (r->fail.code ? wg_err_status(r->fail.code) : 200);
	uint64_t us = now_us() - r->started_us;
	if (r->route_index != -2)
		metrics_record(r->route_index, status, us);
	log_request(r->method, r->url, status, us);
	request_free(r);
	*con_cls = NULL;
	atomic_fetch_sub(&h->in_flight, 1);
}

static int parse_listen(const char *listen, struct sockaddr_in *sa)
{
	const char *colon = strrchr(listen, ':');
	uint32_t port;
	char host[64];
	if (!colon || (size_t)(colon - listen) >= sizeof host)
		return WG_ERR_USAGE;
	memcpy(host, listen, (size_t)(colon - listen));
	host[colon - listen] = '\0';
	if (!wg_parse_u32(colon + 1, strlen(colon + 1), &port) || port == 0 || port > 65535)
		return WG_ERR_USAGE;
	memset(sa, 0, sizeof *sa);
	sa->sin_family = AF_INET;
	sa->sin_port = htons((uint16_t)port);
	if (inet_pton(AF_INET, host[0] ? host : "0.0.0.0", &sa->sin_addr) != 1)
		return WG_ERR_USAGE;
	return 0;
}

int http_start(struct wg_app *app, const struct wg_http_config *cfg, struct wg_http **out)
{
	struct sockaddr_in sa;
	if (parse_listen(cfg->listen, &sa))
		return wg_error("--listen: 地址格式应为 HOST:PORT / address must be HOST:PORT (got '%s')", cfg->listen);
	struct wg_http *h = wg_calloc(1, sizeof *h);
	if (!h)
		return WG_ERR_NOMEM;
	h->app = app;
	snprintf(h->static_dir, sizeof h->static_dir, "%s", cfg->static_dir);
	unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_TURBO;
	h->daemon = MHD_start_daemon(flags, 0, NULL, NULL, on_request, h,
				     MHD_OPTION_SOCK_ADDR, (const struct sockaddr *)&sa,
				     MHD_OPTION_THREAD_POOL_SIZE, cfg->threads ? cfg->threads : 2u,
				     MHD_OPTION_CONNECTION_TIMEOUT, WG_CONNECTION_TIMEOUT_SECONDS,
				     MHD_OPTION_NOTIFY_COMPLETED, on_completed, h,
				     MHD_OPTION_NOTIFY_CONNECTION, on_connection, h,
				     MHD_OPTION_LISTEN_BACKLOG_SIZE, 1024u,
				     MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)WG_CONNECTION_MEMORY,
				     MHD_OPTION_END);
	if (!h->daemon) {
		wg_free(h);
		return wg_error("cannot listen on %s / 无法监听 %s", cfg->listen, cfg->listen);
	}
	*out = h;
	return 0;
}

void http_stop(struct wg_http *h, unsigned grace_seconds)
{
	if (!h)
		return;
	MHD_quiesce_daemon(h->daemon);
	for (unsigned waited = 0; atomic_load(&h->in_flight) > 0 && waited < grace_seconds * 100; waited++)
		usleep(10000);
	MHD_stop_daemon(h->daemon);
	wg_free(h);
}
