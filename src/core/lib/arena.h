/* Per-request arena: many small allocations, freed together when the request ends. */
#ifndef WG_ARENA_H
#define WG_ARENA_H

#include <stddef.h>

typedef struct wg_arena_chunk wg_arena_chunk;
typedef struct wg_arena {
	wg_arena_chunk *head;
	size_t total;
	size_t max;     /* total bytes this arena may hand out */
} wg_arena;

void  arena_init(wg_arena *a, size_t max);
void *arena_alloc(wg_arena *a, size_t n);          /* 16-byte aligned; NULL when out of memory or over max */
char *arena_strndup(wg_arena *a, const char *s, size_t n);
char *arena_printf(wg_arena *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void  arena_release(wg_arena *a);
/* Frees what was handed out but keeps one chunk for what comes next: a
 * loop that uses the arena per round (an import's rows) allocates nothing
 * in the rounds that fit in it. */
void  arena_clear(wg_arena *a);

#endif
