/* Requests per client address per minute for the routes anyone may call
 * without an account (ROUTE_LIMITED): the venue door page. A fixed window
 * in a small table; an address whose slot another took starts afresh,
 * which only ever lets a request through, never refuses a stranger's. */
#include "core/http/http_int.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>

#define SLOTS 4096

struct slot {
	char address[48];
	int64_t minute;
	int64_t count;
};

static struct slot slots[SLOTS];
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

static uint32_t address_hash(const char *s)
{
	uint32_t h = 2166136261u;   /* FNV-1a */
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 16777619u;
	return h;
}

bool http_rate_allow(const char *address, int64_t now, int64_t per_minute)
{
	int64_t minute = now / 60;
	bool allowed;
	struct slot *s = &slots[address_hash(address) % SLOTS];
	pthread_mutex_lock(&lock);
	if (s->minute != minute || strcmp(s->address, address) != 0) {
		snprintf(s->address, sizeof s->address, "%s", address);
		s->minute = minute;
		s->count = 0;
	}
	allowed = s->count < per_minute;
	if (allowed)
		s->count++;
	pthread_mutex_unlock(&lock);
	return allowed;
}
