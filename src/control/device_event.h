/* A door sensor's event as it arrives, read by a parser that needs nothing
 * else (the fuzz target tests/fuzz/fuzz_device_event.c calls it alone):
 *
 *   POST /api/v1/devices/events
 *   X-WG-Signature: sha256=<HMAC-SHA256 of the body with the device's key, 64 hex>
 *   {"device": "<serial>", "event_id": "<1–64 of A–Z a–z 0–9 . _ : ->",
 *    "type": "door_open" | "door_close" | "doorbell" | "tamper" | "heartbeat",
 *    "at": <Unix seconds> | "<ISO 8601 with an offset>"}
 */
#ifndef WG_CONTROL_DEVICE_EVENT_H
#define WG_CONTROL_DEVICE_EVENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CTL_DEVICE_KEY_BYTES 32
#define CTL_MAX_EVENT_BODY   4096u    /* an event is a few dozen bytes */
#define CTL_MAX_SERIAL       64u
#define CTL_MAX_EVENT_ID     64u

struct ctl_device_event {
	char device[CTL_MAX_SERIAL + 1];
	char event_id[CTL_MAX_EVENT_ID + 1];
	char type[16];
	int64_t at;
};

/* Why a body was refused: the member at fault (or "" for the body as a
 * whole), whether it was not JSON at all, and what is wrong, in Chinese and English. */
struct ctl_event_error {
	bool not_json;
	char field[32];
	char zh[160], en[160];
};

/* 0 when the body is a well-formed event; otherwise -1 and err says why. */
int ctl_device_event_parse(const char *body, size_t n, struct ctl_device_event *ev, struct ctl_event_error *err);
/* Whether header is "sha256=<hex>" and the HMAC of the body under key. */
bool ctl_device_signature_ok(const unsigned char key[CTL_DEVICE_KEY_BYTES], const char *body, size_t n, const char *header);

#endif
