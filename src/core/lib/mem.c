#include "core/lib/mem.h"

#include <stdatomic.h>
#include <sys/mman.h>
#include <stdlib.h>
#include <string.h>

static _Atomic uint64_t fail_nth;
static _Atomic uint64_t attempts;
static _Atomic bool fired;
static atomic_flag env_read = ATOMIC_FLAG_INIT;
static _Atomic bool env_done;

/* Every allocation passes here: after the first, a plain load, not a
 * read-modify-write that every thread's allocations would contend for. */
static void read_env_once(void)
{
	if (atomic_load_explicit(&env_done, memory_order_acquire))
		return;
	if (atomic_flag_test_and_set(&env_read))
		return;
	const char *s = getenv("WG_FAIL_ALLOC");
	if (s) {
		uint64_t v = 0;
		for (; *s >= '0' && *s <= '9'; s++)
			v = v * 10 + (uint64_t)(*s - '0');
		atomic_store(&fail_nth, v);
	}
	atomic_store_explicit(&env_done, true, memory_order_release);
}

/* Allocations are counted only while a failure is armed (a test, or
 * WG_FAIL_ALLOC): counting them all made every allocation of every thread
 * write the same shared word. */
static bool should_fail(void)
{
	read_env_once();
	uint64_t f = atomic_load_explicit(&fail_nth, memory_order_relaxed);
	if (!f)
		return false;
	uint64_t n = atomic_fetch_add(&attempts, 1) + 1;
	if (n == f) {
		atomic_store(&fired, true);
		return true;
	}
	return false;
}

void wg_mem_fail_at(uint64_t nth)
{
	read_env_once();
	atomic_store(&attempts, 0);
	atomic_store(&fired, false);
	atomic_store(&fail_nth, nth);
}

uint64_t wg_mem_attempts(void) { return atomic_load(&attempts); }
bool wg_mem_failure_fired(void) { return atomic_load(&fired); }

void *wg_malloc(size_t n)
{
	if (should_fail())
		return NULL;
	return malloc(n ? n : 1);
}

void *wg_calloc(size_t count, size_t size)
{
	if (should_fail())
		return NULL;
	return calloc(count ? count : 1, size ? size : 1);
}

void *wg_realloc(void *p, size_t n)
{
	if (should_fail())
		return NULL;
	return realloc(p, n ? n : 1);
}

void wg_free(void *p) { free(p); }

#define WG_HUGE_PAGE ((size_t)2 << 20)

void *wg_calloc_table(size_t count, size_t size)
{
	size_t n;
	if (!wg_size_mul(count, size, &n) || n < 2 * WG_HUGE_PAGE)
		return wg_calloc(count, size);
	if (should_fail())
		return NULL;
	size_t rounded = (n + WG_HUGE_PAGE - 1) & ~(WG_HUGE_PAGE - 1);
	void *p = aligned_alloc(WG_HUGE_PAGE, rounded);
	if (!p)
		return NULL;
	(void)madvise(p, rounded, MADV_HUGEPAGE);  /* only faster: refused, the table is in small pages */
	return memset(p, 0, rounded);
}

char *wg_strndup(const char *s, size_t n)
{
	size_t len = strnlen(s, n);
	char *d = wg_malloc(len + 1);
	if (!d)
		return NULL;
	memcpy(d, s, len);
	d[len] = '\0';
	return d;
}

char *wg_strdup(const char *s) { return wg_strndup(s, strlen(s)); }
