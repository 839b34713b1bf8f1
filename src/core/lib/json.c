#include "core/lib/json.h"
#include "core/lib/err.h"
#include "core/lib/parse.h"
#include "core/lib/timefmt.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Most strings need no escaping: one scan, one copy. */
static bool plain_text(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c < 0x20 || c == '"' || c == '\\')
			return false;
	}
	return true;
}

int json_emit_string(wg_buf *out, const char *s, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	size_t start = 0;
	if (plain_text(s, n) && wg_buf_reserve(out, n + 2) == 0) {
		char *d = out->data + out->len;
		d[0] = '"';
		memcpy(d + 1, s, n);
		d[n + 1] = '"';
		d[n + 2] = '\0';
		out->len += n + 2;
		return 0;
	}
	wg_buf_putc(out, '"');
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c >= 0x20 && c != '"' && c != '\\')
			continue;
		wg_buf_append(out, s + start, i - start);
		start = i + 1;
		switch (c) {
		case '"':  wg_buf_append(out, "\\\"", 2); break;
		case '\\': wg_buf_append(out, "\\\\", 2); break;
		case '\n': wg_buf_append(out, "\\n", 2); break;
		case '\r': wg_buf_append(out, "\\r", 2); break;
		case '\t': wg_buf_append(out, "\\t", 2); break;
		default: {
			char u[6] = { '\\', 'u', '0', '0', hex[c >> 4], hex[c & 15] };
			wg_buf_append(out, u, sizeof u);
		}
		}
	}
	wg_buf_append(out, s + start, n - start);
	return wg_buf_putc(out, '"');
}

int json_emit_integer(wg_buf *out, json_int_t x)
{
	char digits[WG_I64_DIGITS];
	return wg_buf_append(out, digits, wg_format_i64(digits, (int64_t)x));
}

int json_emit(wg_buf *out, const json_t *v)
{
	char num[40];
	int n;
	switch (json_typeof(v)) {
	case JSON_OBJECT: {
		const char *key;
		json_t *m;
		bool first = true;
		wg_buf_putc(out, '{');
		json_object_foreach((json_t *)v, key, m) {
			if (!first)
				wg_buf_putc(out, ',');
			first = false;
			json_emit_string(out, key, strlen(key));
			wg_buf_putc(out, ':');
			if (json_emit(out, m))
				return out->err ? out->err : WG_ERR_INTERNAL;
		}
		return wg_buf_putc(out, '}');
	}
	case JSON_ARRAY: {
		size_t i;
		json_t *m;
		wg_buf_putc(out, '[');
		json_array_foreach(v, i, m) {
			if (i)
				wg_buf_putc(out, ',');
			if (json_emit(out, m))
				return out->err ? out->err : WG_ERR_INTERNAL;
		}
		return wg_buf_putc(out, ']');
	}
	case JSON_STRING:
		return json_emit_string(out, json_string_value(v), json_string_length(v));
	case JSON_INTEGER:
		return json_emit_integer(out, json_integer_value(v));
	case JSON_REAL:
		/* The shortest of 15 or 17 digits that reads back as the same
		 * number: 2.513, not 2.5129999999999999. */
		n = snprintf(num, sizeof num, "%.15g", json_real_value(v));
		if (strtod(num, NULL) != json_real_value(v))
			n = snprintf(num, sizeof num, "%.17g", json_real_value(v));
		return wg_buf_append(out, num, (size_t)n);
	case JSON_TRUE:
		return wg_buf_append(out, "true", 4);
	case JSON_FALSE:
		return wg_buf_append(out, "false", 5);
	case JSON_NULL:
		return wg_buf_append(out, "null", 4);
	}
	return WG_ERR_INTERNAL;
}

json_t *json_comma_list(const char *text)
{
	json_t *a = json_array();
	const char *p = text;
	while (a && *p) {
		if (*p == ',') {
			p++;
			continue;
		}
		const char *e = strchr(p, ',');
		size_t n = e ? (size_t)(e - p) : strlen(p);
		json_array_append_new(a, json_stringn(p, n));
		p += n;
	}
	return a;
}

int json_set_time_or_null(json_t *o, const char *key, int64_t t)
{
	char twin[WG_TIME_TWIN];
	if (t >= 0)
		return json_set_time(o, key, t);
	wg_time_twin(key, twin);
	return json_object_set_new(o, key, json_null()) || json_object_set_new(o, twin, json_null()) ? WG_ERR_NOMEM : 0;
}

int json_set_time(json_t *o, const char *key, int64_t t)
{
	char twin[WG_TIME_TWIN], iso[WG_TIME_ISO];
	wg_time_twin(key, twin);
	wg_time_iso(t, iso);
	if (json_object_set_new(o, key, json_integer(t)) || json_object_set_new(o, twin, json_string(iso)))
		return WG_ERR_NOMEM;
	return 0;
}

/* ---- reading a flat object quickly ---- */

struct flat {
	const char *p, *end;
};

static void flat_ws(struct flat *f)
{
	while (f->p < f->end && (*f->p == ' ' || *f->p == '\t' || *f->p == '\n' || *f->p == '\r'))
		f->p++;
}

/* A string of printable ASCII without escapes, its quotes consumed; false
 * for anything else (escapes, control bytes, UTF-8), left to jansson. */
static bool flat_string(struct flat *f, const char **s, size_t *n)
{
	if (f->p >= f->end || *f->p != '"')
		return false;
	const char *start = ++f->p;
	while (f->p < f->end && *f->p != '"') {
		unsigned char c = (unsigned char)*f->p;
		if (c < 0x20 || c > 0x7e || c == '\\')
			return false;
		f->p++;
	}
	if (f->p >= f->end)
		return false;
	*s = start;
	*n = (size_t)(f->p - start);
	f->p++;
	return true;
}

static bool flat_delimited(const struct flat *f)
{
	return f->p >= f->end || *f->p == ',' || *f->p == '}' || *f->p == ' ' || *f->p == '\t' || *f->p == '\n' ||
	       *f->p == '\r';
}

static bool flat_word(struct flat *f, const char *w, size_t n)
{
	if ((size_t)(f->end - f->p) < n || memcmp(f->p, w, n) != 0)
		return false;
	f->p += n;
	return flat_delimited(f);
}

/* An integer of at most 18 digits (no overflow to think of), no leading
 * zero, not "-0"; a fraction or exponent is left to jansson. */
static bool flat_integer(struct flat *f, json_int_t *out)
{
	bool neg = f->p < f->end && *f->p == '-';
	const char *start = f->p += neg;
	int64_t v = 0;
	while (f->p < f->end && *f->p >= '0' && *f->p <= '9' && f->p - start < 18)
		v = v * 10 + (*f->p++ - '0');
	size_t digits = (size_t)(f->p - start);
	if (digits == 0 || (start[0] == '0' && (digits > 1 || neg)) || !flat_delimited(f))
		return false;
	*out = neg ? -v : v;
	return true;
}

static json_t *flat_value(struct flat *f)
{
	const char *s;
	size_t n;
	json_int_t i;
	if (f->p >= f->end)
		return NULL;
	switch (*f->p) {
	case '"':
		return flat_string(f, &s, &n) ? json_stringn_nocheck(s, n) : NULL;
	case 't':
		return flat_word(f, "true", 4) ? json_true() : NULL;
	case 'f':
		return flat_word(f, "false", 5) ? json_false() : NULL;
	case 'n':
		return flat_word(f, "null", 4) ? json_null() : NULL;
	default:
		return flat_integer(f, &i) ? json_integer(i) : NULL;
	}
}

static bool flat_member(struct flat *f, json_t *obj)
{
	char key[64];
	const char *k;
	size_t n;
	flat_ws(f);
	if (!flat_string(f, &k, &n) || n >= sizeof key)
		return false;
	memcpy(key, k, n);
	key[n] = '\0';
	flat_ws(f);
	if (f->p >= f->end || *f->p++ != ':')
		return false;
	flat_ws(f);
	json_t *v = flat_value(f);
	if (!v)
		return false;
	/* a repeated key is refused by jansson, with its message */
	if (json_object_get(obj, key) || json_object_set_new_nocheck(obj, key, v)) {
		json_decref(v);
		return false;
	}
	flat_ws(f);
	return true;
}

json_t *json_flat_load(const char *text, size_t len)
{
	struct flat f = { text, text + len };
	flat_ws(&f);
	if (f.p >= f.end || *f.p++ != '{')
		return NULL;
	json_t *obj = json_object();
	if (!obj)
		return NULL;
	flat_ws(&f);
	if (f.p < f.end && *f.p == '}') {
		f.p++;
	} else {
		for (;;) {
			if (!flat_member(&f, obj))
				goto other;
			if (f.p < f.end && *f.p == ',') {
				f.p++;
				continue;
			}
			if (f.p < f.end && *f.p == '}') {
				f.p++;
				break;
			}
			goto other;
		}
	}
	flat_ws(&f);
	if (f.p == f.end)
		return obj;
other:
	json_decref(obj);
	return NULL;
}
