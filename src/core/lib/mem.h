/* One allocation policy for the whole program.
 *
 * Allocation failure is an ordinary error: wg_malloc() and friends return NULL
 * and the caller turns that into WG_ERR_NOMEM and unwinds through its cleanup
 * label. Nothing aborts on a failed allocation, so a server under memory
 * pressure fails one request, not the process.
 *
 * Fault injection: when the environment variable WG_FAIL_ALLOC=N is set (or
 * wg_mem_fail_at(N) is called), the Nth allocation from then on fails. Tests
 * walk N upwards to prove every allocation path unwinds cleanly under ASan.
 */
#ifndef WG_MEM_H
#define WG_MEM_H

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>

void *wg_malloc(size_t n);
void *wg_calloc(size_t count, size_t size);
void *wg_realloc(void *p, size_t n);
void  wg_free(void *p);
/* As wg_calloc, for a big table read at random (a hash table of a million
 * entries): in pages of 2 MB where the system allows it, so that a lookup
 * costs one cache miss and not a page-table walk besides. Freed with wg_free. */
void *wg_calloc_table(size_t count, size_t size);
char *wg_strdup(const char *s);
char *wg_strndup(const char *s, size_t n);

/* Fail the nth allocation counted from now (1 = the next one); 0 disables. */
void     wg_mem_fail_at(uint64_t nth);
/* Number of allocations attempted since the last wg_mem_fail_at(), counted
 * only while a failure is armed (nth > 0). */
uint64_t wg_mem_attempts(void);
/* True once an injected failure has fired since the last wg_mem_fail_at(). */
bool     wg_mem_failure_fired(void);

/* Checked size arithmetic: false on overflow, *out untouched then. */
static inline bool wg_size_add(size_t a, size_t b, size_t *out)
{
	return !__builtin_add_overflow(a, b, out);
}
static inline bool wg_size_mul(size_t a, size_t b, size_t *out)
{
	return !__builtin_mul_overflow(a, b, out);
}

#endif
