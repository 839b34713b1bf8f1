/* What handlers use to read a request and shape its answer. */
#include "core/http/http.h"
#include "core/lib/err.h"
#include "core/lib/log.h"
#include "core/lib/mem.h"
#include "core/lib/parse.h"
#include "core/lib/timefmt.h"

#include <microhttpd.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

int req_fail(wg_req *r, int code, const char *field, const char *zh, const char *en)
{
	struct wg_fail *f = &r->fail;
	f->code = code;
	snprintf(f->field, sizeof f->field, "%s", field ? field : "");
	snprintf(f->zh, sizeof f->zh, "%s", zh ? zh : wg_err_zh(code));
	snprintf(f->en, sizeof f->en, "%s", en ? en : wg_err_en(code));
	/* The answer says only "database error"; the operator's log says which. */
	if (code == WG_ERR_DB)
		log_warn("%s %s: database: %s", r->method ? r->method : "", r->url ? r->url : "",
			 r->db ? store_last_error(r->db) : "no connection");
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

struct keep_state { struct wg_kept_query *q; const char *skip; size_t used, n; bool full; };

static bool keep_text(struct keep_state *k, const char *s, const char **at)
{
	size_t len = strlen(s) + 1;
	if (k->used + len > sizeof k->q->text)
		return false;
	memcpy(k->q->text + k->used, s, len);
	*at = k->q->text + k->used;
	k->used += len;
	return true;
}

static enum MHD_Result keep_pair(void *cls, enum MHD_ValueKind kind, const char *key, const char *value)
{
	struct keep_state *k = cls;
	(void)kind;
	if (strcmp(key, k->skip) == 0)
		return MHD_YES;
	if (k->n + 2 >= sizeof k->q->kv / sizeof k->q->kv[0] || !keep_text(k, key, &k->q->kv[k->n]) ||
	    !keep_text(k, value ? value : "", &k->q->kv[k->n + 1])) {
		k->full = true;
		return MHD_NO;
	}
	k->n += 2;
	return MHD_YES;
}

int req_query_keep(wg_req *r, const char *skip, struct wg_kept_query *out)
{
	struct keep_state k = { out, skip, 0, 0, false };
	if (r->mhd) {
		MHD_get_connection_values(r->mhd, MHD_GET_ARGUMENT_KIND, keep_pair, &k);
	} else {
		for (const char *const *kv = r->local_query; kv && kv[0] && !k.full; kv += 2)
			keep_pair(&k, MHD_GET_ARGUMENT_KIND, kv[0], kv[1]);
	}
	out->kv[k.n] = NULL;
	if (k.full)
		return req_fail(r, WG_ERR_BAD_QUERY, NULL, "查询参数过多或过长", "too many or too long query parameters");
	return 0;
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

int req_query_time(wg_req *r, const char *key, int64_t def, int64_t *out)
{
	const char *v = req_query(r, key), *zh, *en;
	*out = def;
	if (v && !wg_time_parse(v, strlen(v), true, out, &zh, &en))
		return req_failf(r, WG_ERR_BAD_QUERY, key, "查询参数 %s:%s(可用 Unix 秒、ISO 8601 或本地时间,如 2026-12-06T08:00)",
				 "query parameter %s: %s (Unix seconds, ISO 8601 or local time such as 2026-12-06T08:00)",
				 key, zh, key, en);
	return 0;
}

int req_body_time(wg_req *r, const char *key, int64_t def, int64_t min, int64_t max, int64_t *out)
{
	json_t *v = json_object_get(r->body, key);
	const char *zh = NULL, *en = NULL;
	int64_t t = def;
	if (!v) {
		*out = def;
		return 0;
	}
	if (json_is_integer(v))
		t = json_integer_value(v);
	else if (!json_is_string(v) || !wg_time_parse(json_string_value(v), json_string_length(v), true, &t, &zh, &en))
		return req_failf(r, WG_ERR_VALIDATION, key, "%s:%s", "%s: %s", key, zh ? zh : "应为时间(2026-12-06T08:00:00+08:00 或 Unix 秒)",
				 key, en ? en : "must be a time (2026-12-06T08:00:00+08:00 or Unix seconds)");
	if (t < min || t > max) {
		char lo[WG_TIME_HUMAN], hi[WG_TIME_HUMAN];
		wg_time_human(min, lo);
		wg_time_human(max, hi);
		return req_failf(r, WG_ERR_VALIDATION, key, "%s 应在 %s 到 %s 之间(当地时间)", "%s must be from %s to %s (local time)",
				 key, lo, hi, key, lo, hi);
	}
	*out = t;
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

json_t *req_error_envelope(const struct wg_fail *f)
{
	json_t *err = json_pack("{s:s, s:s, s:s}", "code", wg_err_code(f->code),
				"message", f->zh, "message_en", f->en);
	if (err && f->field[0])
		json_object_set_new(err, "field", json_string(f->field));
	return json_pack("{s:o}", "error", err);
}

