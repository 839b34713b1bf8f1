/* jansson's small allocations kept per thread: an object's pairs, its
 * strings and their texts are a few dozen blocks of under 72 bytes, made
 * and freed by the thousand a second (an import makes a row's object over
 * and over, a request its body and answer). glibc keeps seven blocks of a
 * size per thread before it does more work per free; this keeps up to
 * JA_KEEP of each of four sizes, handed out again without asking malloc.
 * Every block is malloc's own, so either free may take it. */
#include "core/lib/json.h"

#include <jansson.h>
#include <malloc.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>

#define JA_CLASSES 4
#define JA_KEEP 128

/* The bytes a block of each size holds (what malloc rounds a request up to). */
static const size_t ja_size[JA_CLASSES] = { 24, 40, 56, 72 };

struct ja_cache {
	void *block[JA_CLASSES][JA_KEEP];
	unsigned n[JA_CLASSES];
	bool registered;
};

static _Thread_local struct ja_cache cache;
static pthread_key_t ja_key;

/* A thread that ends gives its blocks back. */
static void ja_flush(void *arg)
{
	struct ja_cache *c = arg;
	for (size_t k = 0; k < JA_CLASSES; k++)
		while (c->n[k])
			free(c->block[k][--c->n[k]]);
}

static void *ja_malloc(size_t n)
{
	size_t k = n <= ja_size[0] ? 0 : (n - 9) / 16;
	if (k < JA_CLASSES && cache.n[k])
		return cache.block[k][--cache.n[k]];
	return malloc(k < JA_CLASSES ? ja_size[k] : n);
}

static void ja_free(void *p)
{
	if (!p)
		return;
	size_t u = malloc_usable_size(p), k = JA_CLASSES;
	while (k > 0 && ja_size[k - 1] > u)
		k--;
	/* kept in the largest size it holds; a block held by none goes back */
	if (k == 0 || cache.n[k - 1] == JA_KEEP) {
		free(p);
		return;
	}
	if (!cache.registered) {
		cache.registered = true;
		pthread_setspecific(ja_key, &cache);
	}
	cache.block[k - 1][cache.n[k - 1]++] = p;
}

void json_alloc_install(void)
{
	if (pthread_key_create(&ja_key, ja_flush) == 0)
		json_set_alloc_funcs(ja_malloc, ja_free);
}
