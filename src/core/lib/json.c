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
