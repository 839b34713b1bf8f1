/* Fuzz target: the body of POST /api/v1/devices/events, the one endpoint
 * anybody may call without signing in. Whatever the bytes: the parser
 * either gives an event whose every member is within its rules, or refuses
 * with a message in both languages; a body it accepts is accepted again
 * when written out anew; the signature check accepts the HMAC of the body
 * under the key and nothing else the input offers. */
#include "control/device_event.h"

#include <jansson.h>
#include <sodium.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bool token(const char *s, size_t max)
{
	size_t n = strlen(s);
	if (n == 0 || n > max)
		return false;
	for (; *s; s++)
		if (!strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._:-", *s))
			return false;
	return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static bool ready;
	static unsigned char key[CTL_DEVICE_KEY_BYTES];
	if (!ready) {
		if (sodium_init() < 0)
			abort();
		memset(key, 0x5a, sizeof key);
		ready = true;
	}
	const char *body = (const char *)data;
	struct ctl_device_event ev;
	struct ctl_event_error err;
	if (ctl_device_event_parse(body, size, &ev, &err) == 0) {
		static const char *const types[] = { "door_open", "door_close", "doorbell", "tamper", "heartbeat" };
		bool known = false;
		for (size_t i = 0; i < 5; i++)
			known |= strcmp(ev.type, types[i]) == 0;
		if (!token(ev.device, CTL_MAX_SERIAL) || !token(ev.event_id, CTL_MAX_EVENT_ID) || !known || ev.at <= 0)
			abort();
		/* Written out anew, the event reads the same. */
		json_t *o = json_pack("{s:s, s:s, s:s, s:I}", "device", ev.device, "event_id", ev.event_id, "type", ev.type,
				      "at", (json_int_t)ev.at);
		char *again = o ? json_dumps(o, JSON_COMPACT) : NULL;
		struct ctl_device_event ev2;
		if (!again || ctl_device_event_parse(again, strlen(again), &ev2, &err) != 0 || memcmp(&ev, &ev2, sizeof ev) != 0)
			abort();
		free(again);
		json_decref(o);
	} else if (!err.zh[0] || !err.en[0] || !memchr(err.field, '\0', sizeof err.field)) {
		abort();
	}
	/* The HMAC of the body is accepted; the input's own bytes as a header only if they are that HMAC. */
	unsigned char mac[crypto_auth_hmacsha256_BYTES];
	char header[7 + 2 * sizeof mac + 1] = "sha256=";
	crypto_auth_hmacsha256(mac, data, size, key);
	sodium_bin2hex(header + 7, sizeof header - 7, mac, sizeof mac);
	if (!ctl_device_signature_ok(key, body, size, header))
		abort();
	char *guess = malloc(size + 1);
	if (!guess)
		return 0;
	memcpy(guess, data, size);
	guess[size] = '\0';
	if (ctl_device_signature_ok(key, body, size, guess) && strcmp(guess, header) != 0)
		abort();
	free(guess);
	return 0;
}
