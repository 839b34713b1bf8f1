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
#include <stdio.h>
#include <string.h>
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
			http_authenticate(r);
		} else {
			r->route_index = -2;
		}
		wg_buf_init(&r->raw, http_body_limit(r));
		if (r->route && (r->route->flags & ROUTE_UPLOAD) && r->user)
			http_spool_open(r);
		return MHD_YES;
	}
	if (*upload_size) {
		if (r->spool_fd >= 0 && !r->too_large && !r->fail.code)
			http_spool_write(r, upload, *upload_size);
		else if (r->spool_fd < 0 && !r->too_large && wg_buf_append(&r->raw, upload, *upload_size))
			r->too_large = true;
		*upload_size = 0;
		return MHD_YES;
	}
	if (r->spool[0])
		http_spool_finish(r);
	if (r->route_index == -2)
		return send_static(h, mhd, r);
	if (!r->fail.code)
		http_dispatch(r);
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
