/* libmicrohttpd glue: connections, requests, answers. */
#include "core/http/http_int.h"
#include "core/app/app.h"
#include "core/app/metrics.h"
#include "core/lib/err.h"
#include "core/lib/json.h"
#include "core/lib/limits.h"
#include "core/lib/log.h"
#include "core/lib/mem.h"
#include "core/lib/parse.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <microhttpd.h>
#include <stdatomic.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#define WG_MAX_LISTEN 8   /* addresses one server listens on (--listen A,B,…) */

#define WG_MAX_THREADS 64 /* serve threads, wangge.conf allows 1 to 64 */

struct wg_http {
	struct MHD_Daemon *daemon[WG_MAX_LISTEN * WG_MAX_THREADS];
	size_t ndaemons;
	struct wg_app *app;
	char static_dir[1024];
	char *tls_cert, *tls_key;   /* PEM text, kept while the daemons run */
	_Atomic int in_flight;
};

static uint64_t now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static void free_buffer(void *p) { wg_free(p); }

static struct MHD_Response *response_from(char *data, size_t len)
{
	struct MHD_Response *resp = MHD_create_response_from_buffer_with_free_callback(len, data, free_buffer);
	if (!resp)
		wg_free(data);
	return resp;
}

static enum MHD_Result send_request(struct MHD_Connection *mhd, wg_req *r)
{
	struct MHD_Response *resp = NULL;
	const char *type = "application/json; charset=utf-8";
	if (r->fail.code) {
		json_decref(r->out);
		r->out = req_error_envelope(&r->fail);
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

static enum MHD_Result send_static(struct wg_http *h, struct MHD_Connection *mhd, wg_req *r)
{
	struct MHD_Response *resp = NULL;
	int rc = http_static_response(h->static_dir, r, &resp);
	if (rc) {
		req_fail(r, rc, NULL, NULL, NULL);
		return send_request(mhd, r);
	}
	r->status = 200;
	enum MHD_Result ok = MHD_queue_response(mhd, MHD_HTTP_OK, resp);
	MHD_destroy_response(resp);
	return ok;
}

/* What is known of a connection for all its requests: the peer's address,
 * formatted once rather than for every request on a kept-alive connection;
 * and the record of its last request, made as new for the next one (a
 * kept-alive connection asks one request after another: a checkpoint's
 * scanner thousands), so a request allocates no record, no first arena
 * chunk and no body buffer of its own. */
struct peer {
	char address[sizeof ((wg_req *)0)->address_text];
	wg_req *kept;
	/* The route its last API request matched: a scanner asks the same path
	 * again and again (the routes are fixed while the server runs). */
	int route_index;            /* -1: none kept */
	int64_t route_id;
	char route_method[8];
	char route_url[96];
};

/* What a kept record may hold on to between requests: its arena's one
 * chunk when the request used no more than that, and a body buffer this
 * small. A bigger request's memory goes back when it ends, as before. */
#define KEPT_ARENA 4096u
#define KEPT_BODY  4096u

static void peer_address(struct MHD_Connection *mhd, char *out, size_t size)
{
	const union MHD_ConnectionInfo *ci = MHD_get_connection_info(mhd, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	out[0] = '\0';
	if (!ci || !ci->client_addr)
		return;
	const struct sockaddr *sa = ci->client_addr;
	if (sa->sa_family == AF_INET) {
		inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr, out, (socklen_t)size);
	} else if (sa->sa_family == AF_INET6) {
		const struct in6_addr *a6 = &((const struct sockaddr_in6 *)sa)->sin6_addr;
		/* An IPv4 client of a dual-stack socket is ::ffff:a.b.c.d: written
		 * as IPv4, so lockout, audit and trusted_proxy see one address. */
		if (IN6_IS_ADDR_V4MAPPED(a6))
			inet_ntop(AF_INET, &a6->s6_addr[12], out, (socklen_t)size);
		else
			inet_ntop(AF_INET6, a6, out, (socklen_t)size);
	}
}

static void request_free(wg_req *r);

static void on_connection(void *cls, struct MHD_Connection *mhd, void **socket_context,
			  enum MHD_ConnectionNotificationCode toe)
{
	(void)cls;
	if (toe == MHD_CONNECTION_NOTIFY_STARTED) {
		struct peer *p = wg_malloc(sizeof *p);
		if (p) {  /* without it, requests format the address themselves */
			peer_address(mhd, p->address, sizeof p->address);
			p->kept = NULL;
			p->route_index = -1;
		}
		*socket_context = p;
	} else if (toe == MHD_CONNECTION_NOTIFY_CLOSED) {
		struct peer *p = *socket_context;
		if (p)
			request_free(p->kept);
		wg_free(p);
		*socket_context = NULL;
	}
}

static struct peer *peer_of(struct MHD_Connection *mhd)
{
	const union MHD_ConnectionInfo *ci = MHD_get_connection_info(mhd, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
	return ci ? ci->socket_context : NULL;
}

/* router_match, or the connection's last match when this is the same
 * method and path again. */
static int route_of(struct peer *p, const char *method, const char *url, int64_t *id, bool *method_mismatch)
{
	*method_mismatch = false;
	if (p && p->route_index >= 0 && strcmp(p->route_url, url) == 0 && strcmp(p->route_method, method) == 0) {
		*id = p->route_id;
		return p->route_index;
	}
	int i = router_match(method, url, id, method_mismatch);
	if (p && i >= 0 && strlen(url) < sizeof p->route_url && strlen(method) < sizeof p->route_method) {
		p->route_index = i;
		p->route_id = *id;
		wg_copy_text(p->route_url, sizeof p->route_url, url);
		wg_copy_text(p->route_method, sizeof p->route_method, method);
	}
	return i;
}

/* Called with the request line's URI, before any header: the request's
 * record starts here so the URI as sent can be measured (libmicrohttpd
 * hands the handler the decoded path alone, cut at any %00). */
static void *uri_seen(void *cls, const char *uri, struct MHD_Connection *mhd)
{
	(void)cls;
	struct peer *p = peer_of(mhd);
	wg_req *r = p ? p->kept : NULL;
	if (r) {
		p->kept = NULL;
	} else {
		r = wg_calloc(1, sizeof *r);
		if (!r)
			return NULL;
		r->spool_fd = -1;
		r->route_index = -1;
	}
	r->raw_url_len = strlen(uri);
	r->raw_url_nul = strstr(uri, "%00") != NULL;
	return r;
}

/* The first call of a request (its headers are known): the rest of its record. */
static wg_req *request_begin(struct wg_http *h, wg_req *r, struct MHD_Connection *mhd, const char *url, const char *method)
{
	if (!r) {  /* uri_seen could not allocate */
		r = wg_calloc(1, sizeof *r);
		if (!r)
			return NULL;
		r->spool_fd = -1;
		r->raw_url_len = strlen(url);
	}
	r->begun = true;
	r->app = h->app;
	r->mhd = mhd;
	r->url = url;
	r->method = method;
	r->now = time(NULL);
	r->started_us = now_us();
	if (!r->arena.max)  /* a new record; a kept one holds its chunk */
		arena_init(&r->arena, 1u << 20);
	const struct peer *peer = peer_of(mhd);
	if (peer)
		memcpy(r->address_text, peer->address, sizeof r->address_text);
	else
		peer_address(mhd, r->address_text, sizeof r->address_text);
	r->address = r->address_text;
	r->tls = h->tls_cert != NULL;
	/* Behind a reverse proxy every peer is the proxy: lockout and audit
	 * need the client, the cookie's Secure flag whether it came over TLS. */
	const char *proxy = h->app->config.trusted_proxy;
	if (proxy[0] && strcmp(proxy, r->address_text) == 0) {
		const char *real = MHD_lookup_connection_value(mhd, MHD_HEADER_KIND, "X-Real-IP");
		const char *proto = MHD_lookup_connection_value(mhd, MHD_HEADER_KIND, "X-Forwarded-Proto");
		unsigned char probe[sizeof(struct in6_addr)];
		if (real && (inet_pton(AF_INET, real, probe) == 1 || inet_pton(AF_INET6, real, probe) == 1))
			snprintf(r->address_text, sizeof r->address_text, "%s", real);
		if (proto && strcasecmp(proto, "https") == 0)
			r->tls = true;
	}
	return r;
}

/* Lets go of what the request holds but its record. */
static void request_clear(wg_req *r)
{
	req_spool_discard(r);
	json_decref(r->body);
	json_decref(r->out);
	wg_free(r->out_raw);
}

static void request_free(wg_req *r)
{
	if (!r)
		return;
	request_clear(r);
	wg_buf_release(&r->raw);
	arena_release(&r->arena);
	wg_free(r);
}

/* The connection's next request gets r as a new record would be (every
 * field zero but for its arena's chunk and its body buffer, both empty),
 * when the connection has none kept yet; otherwise r is freed. */
static void request_keep(struct peer *p, wg_req *r)
{
	if (!p || p->kept) {
		request_free(r);
		return;
	}
	request_clear(r);
	wg_arena arena = r->arena;
	wg_buf raw = r->raw;
	if (arena.total <= KEPT_ARENA)
		arena_clear(&arena);
	else
		arena_release(&arena);
	if (raw.cap > KEPT_BODY)
		wg_buf_release(&raw);
	wg_buf_reset(&raw);
	memset(r, 0, sizeof *r);
	r->arena = arena;
	r->raw = raw;
	r->spool_fd = -1;
	r->route_index = -1;
	p->kept = r;
}

/* The body's buffer empty, at most max bytes (a kept record's storage stays). */
static void body_limit(wg_req *r, size_t max)
{
	wg_buf_reset(&r->raw);
	r->raw.max = max;
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
	if (!r || !r->begun) {
		/* First call: only headers are known. Answer on a later call, so the
		 * connection stays keep-alive. */
		r = request_begin(h, r, mhd, url, method);
		if (!r)
			return MHD_NO;
		*con_cls = r;
		atomic_fetch_add(&h->in_flight, 1);
		body_limit(r, 0);
		/* The whole URL counts, query included. */
		if (r->raw_url_len > WG_MAX_URL || strlen(url) > WG_MAX_URL) {
			r->route_index = -1;
			req_failf(r, WG_ERR_TOO_LARGE, NULL, "请求地址(含查询参数)超过 %u 字节", "the URL (query included) is longer than %u bytes",
				  WG_MAX_URL, WG_MAX_URL);
			return MHD_YES;
		}
		if (r->raw_url_nul) {
			r->route_index = -1;
			req_fail(r, WG_ERR_BAD_REQUEST, NULL, "请求地址中不能含有 %00(空字符)", "the URL must not contain %00 (a NUL byte)");
			return MHD_YES;
		}
		if (is_api(url)) {
			bool method_mismatch;
			r->route_index = route_of(peer_of(mhd), method, url, &r->id, &method_mismatch);
			r->route = router_get(r->route_index);
			if (!r->route) {
				req_fail(r, method_mismatch ? WG_ERR_METHOD : WG_ERR_NO_ROUTE, NULL, NULL, NULL);
				return MHD_YES;
			}
			http_authenticate(r);
			/* Refused before the body is read: cross-site writes, wrong media types. */
			if (http_precheck(r))
				return MHD_YES;
		} else {
			r->route_index = -2;
		}
		body_limit(r, http_body_limit(r));
		if (r->route && (r->route->flags & ROUTE_UPLOAD) && r->user)
			http_spool_open(r);
		return MHD_YES;
	}
	if (*upload_size) {
		/* A request already refused reads its body into nothing. */
		if (r->fail.code)
			;
		else if (r->spool_fd >= 0 && !r->too_large)
			http_spool_write(r, upload, *upload_size);
		else if (r->spool_fd < 0 && !r->too_large && wg_buf_append(&r->raw, upload, *upload_size))
			r->too_large = true;
		*upload_size = 0;
		return MHD_YES;
	}
	if (r->park_finish && http_park_answered(r)) {  /* called again: resumed by req_unpark */
		http_park_finish(r);
		return send_request(mhd, r);
	}
	if (r->spool[0] || r->spool_fd >= 0)
		http_spool_finish(r);
	if (r->route_index == -2)
		return send_static(h, mhd, r);
	if (!r->fail.code)
		http_dispatch(r);
	if (r->park_finish) {  /* parked by its handler (req_park) */
		if (http_park_hold(r))
			return MHD_YES;  /* suspended: answered when resumed */
		http_park_finish(r);   /* the committer was quicker */
	}
	return send_request(mhd, r);
}

static void on_completed(void *cls, struct MHD_Connection *mhd, void **con_cls, enum MHD_RequestTerminationCode code)
{
	struct wg_http *h = cls;
	wg_req *r = *con_cls;
	(void)code;
	if (!r)
		return;
	if (!r->begun) {  /* ended before its headers were read (431, a closed connection) */
		request_keep(peer_of(mhd), r);
		*con_cls = NULL;
		return;
	}
	int status = r->status ? r->status : (r->fail.code ? wg_err_status(r->fail.code) : 200);
	uint64_t us = now_us() - r->started_us;
	if (r->route_index != -2)
		metrics_record(r->route_index, status, us);
	log_request(r->method, r->url, status, us);
	request_keep(peer_of(mhd), r);
	*con_cls = NULL;
	atomic_fetch_sub(&h->in_flight, 1);
}

/* One address of --listen: "HOST:PORT", "[IPv6]:PORT" or ":PORT" (every
 * IPv4 address). "[::]:PORT" listens on every IPv6 and IPv4 address. */
static int parse_listen(const char *listen, size_t n, struct sockaddr_storage *ss, socklen_t *len, bool *any6)
{
	char host[64];
	uint32_t port;
	const char *colon = NULL;
	for (size_t i = n; i > 0; i--)
		if (listen[i - 1] == ':') {
			colon = listen + i - 1;
			break;
		}
	if (!colon)
		return WG_ERR_USAGE;
	size_t hn = (size_t)(colon - listen);
	const char *hs = listen;
	bool bracketed = hn >= 2 && hs[0] == '[' && hs[hn - 1] == ']';
	if (bracketed) {
		hs++;
		hn -= 2;
	}
	if (hn >= sizeof host)
		return WG_ERR_USAGE;
	memcpy(host, hs, hn);
	host[hn] = '\0';
	size_t pn = n - (size_t)(colon + 1 - listen);
	if (!wg_parse_u32(colon + 1, pn, &port) || port == 0 || port > 65535)
		return WG_ERR_USAGE;
	memset(ss, 0, sizeof *ss);
	*any6 = false;
	if (bracketed) {
		struct sockaddr_in6 *sa6 = (struct sockaddr_in6 *)ss;
		sa6->sin6_family = AF_INET6;
		sa6->sin6_port = htons((uint16_t)port);
		if (inet_pton(AF_INET6, host, &sa6->sin6_addr) != 1)
			return WG_ERR_USAGE;
		*any6 = IN6_IS_ADDR_UNSPECIFIED(&sa6->sin6_addr);
		*len = sizeof *sa6;
		return 0;
	}
	struct sockaddr_in *sa = (struct sockaddr_in *)ss;
	sa->sin_family = AF_INET;
	sa->sin_port = htons((uint16_t)port);
	if (inet_pton(AF_INET, host[0] ? host : "0.0.0.0", &sa->sin_addr) != 1)
		return WG_ERR_USAGE;
	*len = sizeof *sa;
	return 0;
}

/* A PEM file's text, NUL-terminated (libmicrohttpd takes certificates as text). */
static char *read_pem(const char *path)
{
	FILE *f = fopen(path, "r");
	char *text = NULL;
	size_t len = 0, cap = 0;
	if (!f)
		return NULL;
	for (;;) {
		if (cap - len < 4096) {
			if (cap > WG_MAX_PEM)
				goto fail;
			char *bigger = wg_realloc(text, cap + 8192);
			if (!bigger)
				goto fail;
			text = bigger;
			cap += 8192;
		}
		size_t got = fread(text + len, 1, cap - len - 1, f);
		len += got;
		if (got == 0)
			break;
	}
	if (ferror(f))
		goto fail;
	fclose(f);
	text[len] = '\0';
	return text;
fail:
	fclose(f);
	if (text)
		sodium_memzero(text, cap);
	wg_free(text);
	return NULL;
}

static void http_free(struct wg_http *h)
{
	if (h->tls_key)
		sodium_memzero(h->tls_key, strlen(h->tls_key));
	wg_free(h->tls_key);
	wg_free(h->tls_cert);
	wg_free(h);
}

/* True when nothing else listens on the address: bound without
 * SO_REUSEPORT, which fails while any other socket listens there (another
 * server sharing the port with SO_REUSEPORT would otherwise share our
 * connections out with us, silently). */
static bool address_free(const struct sockaddr_storage *ss, bool any6)
{
	int one = 1, v6only = !any6;
	socklen_t len = ss->ss_family == AF_INET6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in);
	int fd = socket(ss->ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return false;
	bool ok = setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) == 0 &&
		  (ss->ss_family != AF_INET6 || setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &v6only, sizeof v6only) == 0) &&
		  bind(fd, (const struct sockaddr *)ss, len) == 0;
	close(fd);
	return ok;
}

/* One server thread: a daemon of its own polling its own socket. The
 * threads of an address each listen on it (SO_REUSEPORT), and the kernel
 * shares the connections out among them. (One daemon with a pool of
 * threads lets the first idle thread accept a burst of connections: with
 * parked answers its threads are seldom busy, and a few threads got every
 * connection while the others slept.) */
static struct MHD_Daemon *start_one(struct wg_http *h, const struct sockaddr_storage *ss, bool any6, bool shared)
{
	unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_TURBO | MHD_ALLOW_SUSPEND_RESUME;
	if (ss->ss_family == AF_INET6)
		flags |= any6 ? MHD_USE_DUAL_STACK : MHD_USE_IPv6;
	if (h->tls_cert)
		flags |= MHD_USE_TLS;
	struct MHD_OptionItem tls[] = {
		{ MHD_OPTION_HTTPS_MEM_CERT, 0, h->tls_cert },
		{ MHD_OPTION_HTTPS_MEM_KEY, 0, h->tls_key },
		{ MHD_OPTION_HTTPS_PRIORITIES, 0, (void *)"SECURE256:+SECURE128:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2" },
		{ MHD_OPTION_END, 0, NULL },
	};
	struct MHD_OptionItem none[] = { { MHD_OPTION_END, 0, NULL } };
	return MHD_start_daemon(flags, 0, NULL, NULL, on_request, h,
				MHD_OPTION_SOCK_ADDR, (const struct sockaddr *)ss,
				MHD_OPTION_LISTENING_ADDRESS_REUSE, (unsigned)shared,
				MHD_OPTION_CONNECTION_TIMEOUT, WG_CONNECTION_TIMEOUT_SECONDS,
				MHD_OPTION_URI_LOG_CALLBACK, uri_seen, h,
				MHD_OPTION_NOTIFY_COMPLETED, on_completed, h,
				MHD_OPTION_NOTIFY_CONNECTION, on_connection, h,
				MHD_OPTION_LISTEN_BACKLOG_SIZE, 1024u,
				MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)WG_CONNECTION_MEMORY,
				MHD_OPTION_ARRAY, h->tls_cert ? tls : none,
				MHD_OPTION_END);
}

int http_start(struct wg_app *app, const struct wg_http_config *cfg, struct wg_http **out)
{
	struct sockaddr_storage ss[WG_MAX_LISTEN];
	bool any6[WG_MAX_LISTEN];
	size_t n = 0;
	for (const char *p = cfg->listen; *p; ) {
		size_t len = strcspn(p, ",");
		socklen_t sl;
		if (n == WG_MAX_LISTEN || parse_listen(p, len, &ss[n], &sl, &any6[n]))
			return wg_error("--listen: 地址格式应为 HOST:PORT 或 [IPv6]:PORT,多个用逗号分隔(最多 %d 个)"
					" / addresses must be HOST:PORT or [IPv6]:PORT, comma separated, at most %d (got '%s')",
					WG_MAX_LISTEN, WG_MAX_LISTEN, cfg->listen);
		n++;
		p += len;
		if (*p == ',')
			p++;
	}
	if (n == 0)
		return wg_error("--listen: no address / 没有监听地址");
	struct wg_http *h = wg_calloc(1, sizeof *h);
	if (!h)
		return WG_ERR_NOMEM;
	h->app = app;
	snprintf(h->static_dir, sizeof h->static_dir, "%s", cfg->static_dir);
	const struct wg_config *c = &app->config;
	if (c->tls_cert[0] || c->tls_key[0]) {
		if (!c->tls_cert[0] || !c->tls_key[0]) {
			http_free(h);
			return wg_error("wangge.conf: tls_cert and tls_key go together / tls_cert 与 tls_key 须同时设置");
		}
		h->tls_cert = read_pem(c->tls_cert);
		h->tls_key = read_pem(c->tls_key);
		if (!h->tls_cert || !h->tls_key) {
			http_free(h);
			return wg_error("cannot read %s or %s / 无法读取证书或私钥", c->tls_cert, c->tls_key);
		}
	}
	unsigned threads = cfg->threads ? cfg->threads : 2u;
	threads = threads > WG_MAX_THREADS ? WG_MAX_THREADS : threads;
	for (size_t i = 0; i < n; i++) {
		/* The threads are shared out over the addresses, at least one each. */
		unsigned t = threads / (unsigned)n + (i < threads % (unsigned)n);
		for (unsigned k = 0; k < (t ? t : 1u); k++) {
			struct MHD_Daemon *d = k == 0 && t > 1 && !address_free(&ss[i], any6[i]) ? NULL
					       : start_one(h, &ss[i], any6[i], t > 1);
			if (!d) {
				for (size_t j = 0; j < h->ndaemons; j++)
					MHD_stop_daemon(h->daemon[j]);
				http_free(h);
				return wg_error("cannot listen on %s / 无法监听 %s", cfg->listen, cfg->listen);
			}
			h->daemon[h->ndaemons++] = d;
		}
	}
	*out = h;
	return 0;
}

void http_stop(struct wg_http *h, unsigned grace_seconds)
{
	if (!h)
		return;
	for (size_t i = 0; i < h->ndaemons; i++)
		MHD_quiesce_daemon(h->daemon[i]);
	for (unsigned waited = 0; atomic_load(&h->in_flight) > 0 && waited < grace_seconds * 100; waited++)
		usleep(10000);
	for (size_t i = 0; i < h->ndaemons; i++)
		MHD_stop_daemon(h->daemon[i]);
	http_free(h);
}
