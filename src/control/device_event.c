/* The device event body: parsed strictly, nothing but the four members,
 * bounded at every step, and its signature checked in constant time. */
#include "control/device_event.h"
#include "control/control_int.h"

#include <jansson.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>

static const char *const types[] = { "door_open", "door_close", "doorbell", "tamper", "heartbeat", NULL };

static int refuse(struct ctl_event_error *e, const char *field, const char *zh, const char *en)
{
	snprintf(e->field, sizeof e->field, "%s", field);
	snprintf(e->zh, sizeof e->zh, "%s", zh);
	snprintf(e->en, sizeof e->en, "%s", en);
	return -1;
}

static bool token_ok(const char *s, size_t n, size_t max)
{
	if (n == 0 || n > max)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
		      c == ':' || c == '-'))
			return false;
	}
	return true;
}

int ctl_device_event_parse(const char *body, size_t n, struct ctl_device_event *ev, struct ctl_event_error *err)
{
	memset(ev, 0, sizeof *ev);
	memset(err, 0, sizeof *err);
	if (n == 0)
		return err->not_json = true, refuse(err, "", "请求体为空", "the body is empty");
	if (n > CTL_MAX_EVENT_BODY)
		return refuse(err, "", "事件内容过长", "the event is too long");
	/* An event is one flat object: refuse any nesting before the parser sees it. */
	bool in_string = false, escaped = false;
	int depth = 0;
	for (size_t i = 0; i < n; i++) {
		char c = body[i];
		if (in_string) {
			if (escaped)
				escaped = false;
			else if (c == '\\')
				escaped = true;
			else if (c == '"')
				in_string = false;
		} else if (c == '"')
			in_string = true;
		else if ((c == '{' || c == '[') && ++depth > 1)
			return refuse(err, "", "事件应为不嵌套的 JSON 对象", "an event is a flat JSON object");
		else if (c == '}' || c == ']')
			depth--;
	}
	json_error_t je;
	json_t *o = json_loadb(body, n, JSON_REJECT_DUPLICATES, &je);
	if (!o || !json_is_object(o)) {
		json_decref(o);
		err->not_json = true;
		return refuse(err, "", "请求体不是 JSON 对象", "the body is not a JSON object");
	}
	int rc = 0;
	const char *key;
	json_t *v;
	json_object_foreach(o, key, v) {
		if (strcmp(key, "device") && strcmp(key, "event_id") && strcmp(key, "type") && strcmp(key, "at")) {
			rc = refuse(err, "body", "事件含有未知成员", "the event has an unknown member");
			snprintf(err->field, sizeof err->field, "%.31s", key);
			break;
		}
	}
	json_t *dev = json_object_get(o, "device"), *id = json_object_get(o, "event_id"), *type = json_object_get(o, "type"),
	       *at = json_object_get(o, "at");
	if (!rc && (!json_is_string(dev) || !token_ok(json_string_value(dev), json_string_length(dev), CTL_MAX_SERIAL)))
		rc = refuse(err, "device", "device 应为设备序列号(1–64 个字母、数字或 ._:-)",
			    "device must be the device's serial (1–64 letters, digits or ._:-)");
	if (!rc && (!json_is_string(id) || !token_ok(json_string_value(id), json_string_length(id), CTL_MAX_EVENT_ID)))
		rc = refuse(err, "event_id", "event_id 应为 1–64 个字母、数字或 ._:-", "event_id must be 1–64 letters, digits or ._:-");
	if (!rc) {
		int k = json_is_string(type) ? ctl_index_of(types, json_string_value(type)) : -1;
		if (k < 0)
			rc = refuse(err, "type", "type 应为 door_open、door_close、doorbell、tamper 或 heartbeat",
				    "type must be door_open, door_close, doorbell, tamper or heartbeat");
		else
			snprintf(ev->type, sizeof ev->type, "%s", types[k]);
	}
	if (!rc) {
		bool ok = false;
		if (json_is_integer(at) && json_integer_value(at) > 0 && json_integer_value(at) < 4102444800) {
			ev->at = json_integer_value(at);
			ok = true;
		} else if (json_is_string(at)) {
			ok = ctl_time_parse(json_string_value(at), json_string_length(at), &ev->at) && ev->at > 0 && ev->at < 4102444800;
		}
		if (!ok)
			rc = refuse(err, "at", "at 应为 Unix 秒数或带时区的 ISO 8601 时间", "at must be Unix seconds or an ISO 8601 time with an offset");
	}
	if (!rc) {
		snprintf(ev->device, sizeof ev->device, "%s", json_string_value(dev));
		snprintf(ev->event_id, sizeof ev->event_id, "%s", json_string_value(id));
	}
	json_decref(o);
	return rc;
}

bool ctl_device_signature_ok(const unsigned char key[CTL_DEVICE_KEY_BYTES], const char *body, size_t n, const char *header)
{
	unsigned char mac[crypto_auth_hmacsha256_BYTES];
	size_t len;
	if (!header || strncmp(header, "sha256=", 7) != 0 || strlen(header + 7) != 2 * sizeof mac)
		return false;
	if (sodium_hex2bin(mac, sizeof mac, header + 7, 2 * sizeof mac, NULL, &len, NULL) != 0 || len != sizeof mac)
		return false;
	return crypto_auth_hmacsha256_verify(mac, (const unsigned char *)body, n, key) == 0;
}
