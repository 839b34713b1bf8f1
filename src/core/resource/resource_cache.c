/* Single items kept in memory (resources with cache_reads): the answer's
 * bytes and the item's path, tagged with store_changes() as it was before
 * the item was read. An entry serves while the store's number is still
 * that one; any change heard makes every entry stale at once, so a write
 * is never followed by an older answer. Writes to the cached tables are
 * rare beside reads (a tree changes a few times a day, is read all day).
 * The table is open addressing, cleared when three quarters full. */
#include "core/resource/resource_int.h"
#include "core/lib/mem.h"

#include <pthread.h>
#include <string.h>

#define CACHE_SLOTS (1u << 16)

struct cached_item {
	const struct wg_resource *res;
	int64_t id;
	uint64_t changes;
	char *blob;            /* the path, a NUL, then the answer */
	size_t path_len, len;
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct cached_item *slots;
static size_t used;

static size_t slot_of(const struct wg_resource *res, int64_t id)
{
	uint64_t h = (uint64_t)id * 0x9E3779B97F4A7C15ull ^ (uint64_t)(uintptr_t)res;
	return (size_t)(h >> 48) & (CACHE_SLOTS - 1);
}

static struct cached_item *find_locked(const struct wg_resource *res, int64_t id)
{
	for (size_t i = slot_of(res, id);; i = (i + 1) & (CACHE_SLOTS - 1)) {
		struct cached_item *e = &slots[i];
		if (!e->res || (e->res == res && e->id == id))
			return e;
	}
}

static void clear_locked(void)
{
	for (size_t i = 0; i < CACHE_SLOTS; i++)
		wg_free(slots[i].blob);
	memset(slots, 0, CACHE_SLOTS * sizeof *slots);
	used = 0;
}

int resource_cache_get(const struct wg_resource *res, int64_t id, uint64_t changes, char *path, size_t path_size,
		       char **json, size_t *len)
{
	int found = 0;
	*json = NULL;
	pthread_mutex_lock(&lock);
	struct cached_item *e = slots ? find_locked(res, id) : NULL;
	if (e && e->res && e->changes == changes && e->path_len < path_size) {
		found = 1;
		*json = wg_malloc(e->len ? e->len : 1);
		if (*json) {
			memcpy(path, e->blob, e->path_len + 1);
			memcpy(*json, e->blob + e->path_len + 1, e->len);
			*len = e->len;
		}
	}
	pthread_mutex_unlock(&lock);
	return found && !*json ? -1 : found;
}

void resource_cache_put(const struct wg_resource *res, int64_t id, uint64_t changes, const char *path,
			const char *json, size_t len)
{
	size_t path_len = strlen(path);
	char *blob = wg_malloc(path_len + 1 + len);
	if (!blob)
		return;   /* not kept: the next read asks the store */
	memcpy(blob, path, path_len + 1);
	memcpy(blob + path_len + 1, json, len);
	pthread_mutex_lock(&lock);
	if (!slots)
		slots = wg_calloc(CACHE_SLOTS, sizeof *slots);
	if (!slots) {
		pthread_mutex_unlock(&lock);
		wg_free(blob);
		return;
	}
	if (used >= CACHE_SLOTS / 4 * 3)
		clear_locked();
	struct cached_item *e = find_locked(res, id);
	if (!e->res)
		used++;
	wg_free(e->blob);
	*e = (struct cached_item){ res, id, changes, blob, path_len, len };
	pthread_mutex_unlock(&lock);
}

void resource_cache_release(void)
{
	pthread_mutex_lock(&lock);
	if (slots)
		clear_locked();
	wg_free(slots);
	slots = NULL;
	pthread_mutex_unlock(&lock);
}
