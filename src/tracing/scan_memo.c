/* What a scan reads before it is stored, kept in memory: the venue a code
 * names and a person's place. A checkpoint records scans by the tens of
 * thousands a second, and reading both through the store cost as much as
 * everything else a scan does; between two changes to venues or persons'
 * places (store_stamp: their triggers mark the store) the answer is the
 * same. Each entry carries the stamp taken before it was read and is used
 * only while the stamp is still that one, so a venue moved or a person
 * removed a moment ago is read afresh. What is not found is not kept: a
 * new venue or person marks nothing. */
#include "tracing/tracing_int.h"
#include "core/lib/mem.h"

#include <pthread.h>
#include <string.h>

#define VENUE_SLOTS   1024u          /* powers of two */
#define PERSON_SLOTS  (1u << 18)
#define LOCKS         64u

struct venue_slot {
	uint64_t stamp;                  /* 0 = empty */
	int64_t id;
	char code[48];
	char path[64];
};

struct person_slot {
	uint64_t stamp;
	uint32_t id;
	char path[52];
};

static struct venue_slot venues[VENUE_SLOTS];
/* Allocated at the first scan (16 MB of address space, touched as filled):
 * a server that records no scans does not carry it. */
static struct person_slot *persons;
static pthread_mutex_t locks[LOCKS];
static pthread_once_t once = PTHREAD_ONCE_INIT;
static bool ready;

static void memo_init(void)
{
	for (size_t i = 0; i < LOCKS; i++)
		if (pthread_mutex_init(&locks[i], NULL))
			return;
	persons = wg_calloc(PERSON_SLOTS, sizeof *persons);
	ready = true;
}

/* False when the memo could not be set up: every scan then reads the store. */
static bool memo_ready(void)
{
	pthread_once(&once, memo_init);
	return ready;
}

static uint32_t code_hash(const char *s)
{
	uint32_t h = 2166136261u;
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 16777619u;
	return h;
}

static pthread_mutex_t *lock_of(uint32_t slot)
{
	return &locks[slot % LOCKS];
}

bool scan_memo_venue(uint64_t stamp, const char *code, int64_t *id, char *path, size_t size)
{
	if (!stamp || !memo_ready())
		return false;
	uint32_t i = code_hash(code) & (VENUE_SLOTS - 1);
	struct venue_slot *v = &venues[i];
	bool hit = false;
	pthread_mutex_lock(lock_of(i));
	if (v->stamp == stamp && strcmp(v->code, code) == 0 && strlen(v->path) < size) {
		*id = v->id;
		memcpy(path, v->path, strlen(v->path) + 1);
		hit = true;
	}
	pthread_mutex_unlock(lock_of(i));
	return hit;
}

void scan_memo_keep_venue(uint64_t stamp, const char *code, int64_t id, const char *path)
{
	size_t code_len = strlen(code), path_len = strlen(path);
	if (!stamp || code_len >= sizeof venues[0].code || path_len >= sizeof venues[0].path || !memo_ready())
		return;
	uint32_t i = code_hash(code) & (VENUE_SLOTS - 1);
	struct venue_slot *v = &venues[i];
	pthread_mutex_lock(lock_of(i));
	v->stamp = stamp;
	v->id = id;
	memcpy(v->code, code, code_len + 1);
	memcpy(v->path, path, path_len + 1);
	pthread_mutex_unlock(lock_of(i));
}

bool scan_memo_person(uint64_t stamp, int64_t id, char *path, size_t size)
{
	if (!stamp || id <= 0 || id > UINT32_MAX || !memo_ready())
		return false;
	uint32_t i = (uint32_t)id & (PERSON_SLOTS - 1);
	struct person_slot *p = &persons[i];
	bool hit = false;
	pthread_mutex_lock(lock_of(i));
	if (p->stamp == stamp && p->id == (uint32_t)id && strlen(p->path) < size) {
		memcpy(path, p->path, strlen(p->path) + 1);
		hit = true;
	}
	pthread_mutex_unlock(lock_of(i));
	return hit;
}

void scan_memo_keep_person(uint64_t stamp, int64_t id, const char *path)
{
	size_t len = strlen(path);
	if (!stamp || id <= 0 || id > UINT32_MAX || len >= sizeof persons[0].path || !memo_ready())
		return;
	uint32_t i = (uint32_t)id & (PERSON_SLOTS - 1);
	struct person_slot *p = &persons[i];
	pthread_mutex_lock(lock_of(i));
	p->stamp = stamp;
	p->id = (uint32_t)id;
	memcpy(p->path, path, len + 1);
	pthread_mutex_unlock(lock_of(i));
}
