#include "core/app/events.h"
#include "core/lib/err.h"
#include "core/lib/limits.h"

#include <string.h>

static struct wg_listener listeners[WG_MAX_LISTENERS];
static size_t nlisteners;

int events_listen(const struct wg_listener *l, size_t n)
{
	if (nlisteners + n > WG_MAX_LISTENERS)
		return WG_ERR_TOO_LARGE;
	memcpy(&listeners[nlisteners], l, n * sizeof *l);
	nlisteners += n;
	return 0;
}

void events_reset(void)
{
	nlisteners = 0;
}

int events_publish(wg_req *r, const char *event, json_t *payload, json_t *answer)
{
	for (size_t i = 0; i < nlisteners; i++)
		if (strcmp(listeners[i].event, event) == 0 && listeners[i].handle(r, payload, answer))
			return r->fail.code ? r->fail.code : req_fail(r, WG_ERR_INTERNAL, NULL, NULL, NULL);
	return 0;
}

static bool listed(const char *const *names, const char *key)
{
	for (; names && *names; names++)
		if (strcmp(*names, key) == 0)
			return true;
	return false;
}

int events_check_body(wg_req *r, const char *event, const char *const *own)
{
	const char *key;
	json_t *v;
	json_object_foreach(r->body, key, v) {
		bool known = listed(own, key);
		for (size_t i = 0; !known && i < nlisteners; i++)
			known = strcmp(listeners[i].event, event) == 0 && listed(listeners[i].options, key);
		if (!known)
			return req_failf(r, WG_ERR_UNKNOWN_FIELD, key, "未知字段 %s", "unknown field %s", key, key);
	}
	return 0;
}
