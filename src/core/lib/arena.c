#include "core/lib/arena.h"
#include "core/lib/mem.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define ARENA_CHUNK 4096u

struct wg_arena_chunk {
	wg_arena_chunk *next;
	size_t used, cap;
	_Alignas(16) unsigned char data[];
};

void arena_init(wg_arena *a, size_t max)
{
	a->head = NULL;
	a->total = 0;
	a->max = max;
}

void *arena_alloc(wg_arena *a, size_t n)
{
	size_t rounded;
	if (!wg_size_add(n, 15, &rounded))
		return NULL;
	rounded &= ~(size_t)15;
	if (rounded > a->max || a->total > a->max - rounded)
		return NULL;
	wg_arena_chunk *c = a->head;
	if (!c || c->cap - c->used < rounded) {
		size_t cap = rounded > ARENA_CHUNK ? rounded : ARENA_CHUNK;
		c = wg_malloc(sizeof *c + cap);
		if (!c)
			return NULL;
		c->used = 0;
		c->cap = cap;
		c->next = a->head;
		a->head = c;
	}
	void *p = c->data + c->used;
	c->used += rounded;
	a->total += rounded;
	return p;
}

char *arena_strndup(wg_arena *a, const char *s, size_t n)
{
	char *d = arena_alloc(a, n + 1);
	if (!d)
		return NULL;
	memcpy(d, s, n);
	d[n] = '\0';
	return d;
}

char *arena_printf(wg_arena *a, const char *fmt, ...)
{
	va_list ap, ap2;
	va_start(ap, fmt);
	va_copy(ap2, ap);
	int n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	char *d = n < 0 ? NULL : arena_alloc(a, (size_t)n + 1);
	if (d)
		vsnprintf(d, (size_t)n + 1, fmt, ap2);
	va_end(ap2);
	return d;
}

static void free_chunks(wg_arena_chunk *c)
{
	while (c) {
		wg_arena_chunk *next = c->next;
		wg_free(c);
		c = next;
	}
}

void arena_release(wg_arena *a)
{
	free_chunks(a->head);
	a->head = NULL;
	a->total = 0;
}

void arena_clear(wg_arena *a)
{
	wg_arena_chunk *keep = a->head;
	if (!keep)
		return;
	/* The newest chunk stays (a big one only when a round needed that much). */
	free_chunks(keep->next);
	keep->next = NULL;
	keep->used = 0;
	a->total = 0;
}
